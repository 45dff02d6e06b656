//! `stsgate cors get|set|delete` on a Tencent provider's COS bucket, signed with the CAM user's
//! SecretId/SecretKey. The rule and the lines are `common::cors_admin`'s (defaults as for
//! Alibaba, but exposing `ETag` and `x-cos-request-id`); the fixes name the CAM action each
//! call needs (`cos:PutBucketCORS`, …).

use crate::common::cors_admin::{self, CorsAction, CorsOp, CorsStore};
use crate::common::scope::tencent_bucket;
use crate::tencent::check::{app_id, cos_client, fix_for, FixContext};
use crate::tencent::client::{CosClient, CosError, Credentials};
use crate::tencent::policy::bucket_resource;
use crate::tencent::provider::TencentProvider;
use anyhow::bail;
use std::path::Path;
use stsgate_store::CorsConfig;

/// `ETag` for multipart uploads, `x-cos-request-id` for error reports.
pub const DEFAULT_EXPOSE_HEADERS: [&str; 2] = ["ETag", "x-cos-request-id"];

/// A provider's COS buckets, signed with the CAM user's key.
struct CosCors<'a> {
    provider: &'a TencentProvider,
    client: CosClient,
}

impl<'a> CosCors<'a> {
    fn new(provider: &'a TencentProvider) -> anyhow::Result<CosCors<'a>> {
        let key = Credentials {
            secret_id: provider.key.id.clone(),
            secret_key: provider.key.secret.clone(),
            token: None,
        };
        Ok(CosCors {
            provider,
            client: cos_client(provider)?.signed(key),
        })
    }
}

impl CorsStore for CosCors<'_> {
    type Error = CosError;

    fn provider(&self) -> &str {
        &self.provider.name
    }
    fn browser_origins(&self) -> &[String] {
        &self.provider.browser_origins
    }
    fn via(&self) -> String {
        format!(
            "provider {}, {}",
            self.provider.name, self.provider.cos_endpoint
        )
    }
    fn store_name(&self) -> &'static str {
        "COS"
    }
    fn default_expose_headers(&self) -> &'static [&'static str] {
        &DEFAULT_EXPOSE_HEADERS
    }
    async fn get(&self, bucket: &str) -> Result<Option<CorsConfig>, CosError> {
        self.client.get_bucket_cors(bucket).await
    }
    async fn put(&self, bucket: &str, config: &CorsConfig) -> Result<Option<String>, CosError> {
        self.client.put_bucket_cors(bucket, config).await
    }
    async fn delete(&self, bucket: &str) -> Result<(), CosError> {
        self.client.delete_bucket_cors(bucket).await
    }
    fn fix(&self, e: &CosError, bucket: &str, op: CorsOp) -> String {
        let action = match op {
            CorsOp::Get => "cos:GetBucketCORS",
            CorsOp::Put => "cos:PutBucketCORS",
            CorsOp::Delete => "cos:DeleteBucketCORS",
        };
        let region = &self.provider.region;
        let cx = FixContext {
            provider: self.provider,
            bucket,
            action,
            resource: format!("{}*", bucket_resource(region, app_id(bucket), bucket)),
            scoped: false,
        };
        fix_for(e, &cx)
    }
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
    let store = CosCors::new(provider)?;
    cors_admin::run(&store, config_path, bucket, action).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::cors_admin::{build_rule, config_lines, RuleArgs};
    use crate::tencent::check::tests::provider;

    #[test]
    fn set_rules_expose_the_cos_request_id_and_buckets_carry_an_app_id() {
        let p = provider(None);
        let store = CosCors::new(&p).unwrap();
        let rule = build_rule(RuleArgs::default(), &store).unwrap();
        assert_eq!(
            config_lines(&CorsConfig {
                rules: vec![rule],
                response_vary: false
            }),
            ["rule 1: origins https://app.example.com; methods PUT,POST,GET,HEAD; headers *; expose ETag,x-cos-request-id; max-age 600"]
        );
        assert_eq!(store.via(), "provider tc, http://127.0.0.1:1");
        let cx = |op| {
            store.fix(
                &CosError::transport("AccessDenied", String::new()),
                "app-1250000000",
                op,
            )
        };
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
