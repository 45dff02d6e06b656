//! `stsgate cors get|set|delete` on a Tencent provider's COS bucket, signed with the CAM user's
//! SecretId/SecretKey. The rule and the lines are `common::cors_admin`'s (defaults as for
//! Alibaba, but exposing `ETag` and `x-cos-request-id`); the fixes name the CAM action each
//! call needs (`cos:PutBucketCORS`, …).

use crate::common::cors_admin::{self, CorsAction, CorsOp, CorsTarget};
use crate::common::scope::tencent_bucket;
use crate::tencent::check::{app_id, cos_client, fix_for, site, FixContext};
use crate::tencent::client::{Cos, CosError, Credentials};
use crate::tencent::policy::bucket_resource;
use crate::tencent::provider::TencentProvider;
use anyhow::bail;
use std::path::Path;

/// `ETag` for multipart uploads, `x-cos-request-id` for error reports.
pub const DEFAULT_EXPOSE_HEADERS: [&str; 2] = ["ETag", "x-cos-request-id"];

/// The CAM action each call needs.
fn action(op: CorsOp) -> &'static str {
    match op {
        CorsOp::Get => "cos:GetBucketCORS",
        CorsOp::Put => "cos:PutBucketCORS",
        CorsOp::Delete => "cos:DeleteBucketCORS",
    }
}

/// A provider's COS buckets, signed with the CAM user's key.
fn cors_target(provider: &TencentProvider) -> anyhow::Result<CorsTarget<'_, Cos>> {
    let key = Credentials {
        secret_id: provider.key.id.clone(),
        secret_key: provider.key.secret.clone(),
        token: None,
    };
    let fix = move |e: &CosError, bucket: &str, op: CorsOp| {
        let cx = FixContext {
            provider,
            bucket,
            action: action(op),
            resource: format!(
                "{}*",
                bucket_resource(&provider.region, app_id(bucket), bucket)
            ),
            scoped: false,
        };
        fix_for(e, &cx)
    };
    Ok(CorsTarget {
        client: cos_client(provider)?.signed(key),
        site: site(provider),
        via: format!("provider {}, {}", provider.name, provider.cos_endpoint),
        default_expose_headers: &DEFAULT_EXPOSE_HEADERS,
        fix: Box::new(fix),
    })
}

/// `stsgate cors get|set|delete` on `bucket` (`<name>-<appid>`) of the provider: the lines to
/// print.
pub async fn cors(
    provider: &TencentProvider,
    config_path: &Path,
    bucket: &str,
    action: CorsAction,
) -> anyhow::Result<Vec<String>> {
    if !stsgate_store::valid_bucket_name(bucket) || !tencent_bucket(bucket) {
        bail!("--bucket {bucket:?} is not a COS bucket name: <name>-<appid>, e.g. app-1250000000 (3-63 of [a-z0-9-] in all)");
    }
    cors_admin::run(&cors_target(provider)?, config_path, bucket, action).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::cors_admin::{build_rule, config_lines, RuleArgs};
    use crate::tencent::check::tests::provider;
    use stsgate_store::CorsConfig;

    #[test]
    fn set_rules_expose_the_cos_request_id_and_buckets_carry_an_app_id() {
        let p = provider(None);
        let rule = build_rule(RuleArgs::default(), &site(&p), &DEFAULT_EXPOSE_HEADERS).unwrap();
        assert_eq!(
            config_lines(&CorsConfig {
                rules: vec![rule],
                response_vary: false
            }),
            ["rule 1: origins https://app.example.com; methods PUT,POST,GET,HEAD; headers *; expose ETag,x-cos-request-id; max-age 600"]
        );
        let target = cors_target(&p).unwrap();
        assert_eq!(target.via, "provider tc, http://127.0.0.1:1");
        let denied = CosError::transport("AccessDenied", String::new());
        let cx = |op| (target.fix)(&denied, "app-1250000000", op);
        assert!(cx(CorsOp::Put).starts_with("the CAM user of [provider.tc] needs cos:PutBucketCORS on qcs::cos:ap-guangzhou:uid/1250000000:app-1250000000/*"));
        for bad in ["app", "app-x", "App-1250000000"] {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            let err = runtime
                .block_on(cors(&p, Path::new("y.toml"), bad, CorsAction::Get))
                .unwrap_err();
            assert!(
                err.to_string().contains("is not a COS bucket name"),
                "{bad}: {err}"
            );
        }
    }
}
