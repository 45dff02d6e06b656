//! `stsgate cors get|set|delete` on an Alibaba provider's OSS bucket, signed V1 or V4 with the
//! RAM user's key. The rule and the lines are `common::cors_admin`'s; the fixes name the RAM
//! action each call needs (`oss:PutBucketCors`, …).

use crate::aliyun::check::{fix_for, FixContext, OssTarget};
use crate::aliyun::client::{Credentials, Oss, OssError, SignatureVersion};
use crate::aliyun::provider::AliyunProvider;
use crate::common::cors_admin::{self, CorsAction, CorsOp, CorsTarget};
use anyhow::bail;
use std::path::Path;

/// `ETag` for multipart uploads, `x-oss-request-id` for error reports.
pub const DEFAULT_EXPOSE_HEADERS: [&str; 2] = ["ETag", "x-oss-request-id"];

/// The RAM action each call needs.
fn action(op: CorsOp) -> &'static str {
    match op {
        CorsOp::Get => "oss:GetBucketCors",
        CorsOp::Put => "oss:PutBucketCors",
        CorsOp::Delete => "oss:DeleteBucketCors",
    }
}

/// A provider's OSS buckets, signed with the RAM user's key in `version`.
fn cors_target(
    target: &OssTarget,
    version: SignatureVersion,
) -> anyhow::Result<CorsTarget<'_, Oss>> {
    let key = Credentials {
        access_key_id: target.key.id.clone(),
        secret: target.key.secret.clone(),
        security_token: None,
    };
    let fix = move |e: &OssError, bucket: &str, op: CorsOp| {
        let cx = FixContext {
            target,
            bucket,
            action: action(op),
            resource: format!("acs:oss:*:*:{bucket}"),
            role_arn: None,
            version,
        };
        fix_for(e, &cx)
    };
    Ok(CorsTarget {
        client: target.client()?.signed(key, version),
        site: target.site(),
        via: format!(
            "provider {}, {}, signature {}",
            target.provider,
            target.oss_endpoint,
            version.as_str()
        ),
        default_expose_headers: &DEFAULT_EXPOSE_HEADERS,
        fix: Box::new(fix),
    })
}

/// `stsgate cors get|set|delete` on `bucket` of the provider: the lines to print.
pub async fn cors(
    provider: &AliyunProvider,
    config_path: &Path,
    bucket: &str,
    action: CorsAction,
    version: SignatureVersion,
) -> anyhow::Result<Vec<String>> {
    if !stsgate_store::valid_bucket_name(bucket) {
        bail!("--bucket {bucket:?} is not a valid bucket name (3-63 of [a-z0-9-], starting and ending with a letter or digit)");
    }
    let target = OssTarget::of(provider);
    let cors = cors_target(&target, version)?;
    cors_admin::run(&cors, config_path, bucket, action).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aliyun::check::tests::target;
    use crate::common::cors_admin::{build_rule, config_lines, RuleArgs};
    use stsgate_store::CorsConfig;

    #[test]
    fn set_rules_take_the_defaults_and_are_validated() {
        let t = target(&["https://app.example.com"]);
        let rule = build_rule(RuleArgs::default(), &t.site(), &DEFAULT_EXPOSE_HEADERS).unwrap();
        assert_eq!(
            config_lines(&CorsConfig {
                rules: vec![rule],
                response_vary: false
            }),
            ["rule 1: origins https://app.example.com; methods PUT,POST,GET,HEAD; headers *; expose ETag,x-oss-request-id; max-age 600"]
        );
        let rule = build_rule(
            RuleArgs {
                origins: vec!["https://a".into()],
                methods: vec!["get".into()],
                headers: vec!["content-type".into()],
                expose_headers: vec!["ETag".into()],
                max_age: Some(5),
            },
            &t.site(),
            &DEFAULT_EXPOSE_HEADERS,
        )
        .unwrap();
        assert_eq!(rule.allowed_methods, ["GET"]);
        assert_eq!(rule.max_age_seconds, Some(5));
        let err = |args: RuleArgs, t: &OssTarget| {
            let rule = build_rule(args, &t.site(), &DEFAULT_EXPOSE_HEADERS);
            format!("{:#}", rule.unwrap_err())
        };
        assert!(err(RuleArgs::default(), &target(&[])).contains("--origin"));
        let bad_method = RuleArgs {
            methods: vec!["PATCH".into()],
            ..RuleArgs::default()
        };
        assert!(err(bad_method, &t).contains("--method \"PATCH\""));
        let two_stars = RuleArgs {
            origins: vec!["https://*.*.com".into()],
            ..RuleArgs::default()
        };
        assert!(err(two_stars, &t).contains("at most one '*'"));
        let star_expose = RuleArgs {
            expose_headers: vec!["*".into()],
            ..RuleArgs::default()
        };
        assert!(err(star_expose, &t).contains("--expose-header \"*\": OSS allows no '*' there"));
        let cors = cors_target(&t, SignatureVersion::V4).unwrap();
        assert_eq!(cors.via, "provider x, http://127.0.0.1:1, signature v4");
        let denied = OssError::transport("AccessDenied", String::new());
        let fix = (cors.fix)(&denied, "app", CorsOp::Delete);
        assert!(
            fix.contains("needs oss:DeleteBucketCors on acs:oss:*:*:app"),
            "{fix}"
        );
    }
}
