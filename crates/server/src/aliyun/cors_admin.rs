//! `stsgate cors get|set|delete` on an Alibaba provider's OSS bucket, signed V1 or V4 with the
//! RAM user's key. The rule and the lines are `common::cors_admin`'s; the fixes name the RAM
//! action each call needs (`oss:PutBucketCors`, …).

use crate::aliyun::check::{fix_for, FixContext, OssTarget};
use crate::aliyun::client::{Credentials, OssClient, OssError, SignatureVersion};
use crate::aliyun::provider::AliyunProvider;
use crate::common::cors_admin::{self, CorsAction, CorsOp, CorsStore};
use anyhow::bail;
use std::path::Path;
use stsgate_store::CorsConfig;

/// `ETag` for multipart uploads, `x-oss-request-id` for error reports.
pub const DEFAULT_EXPOSE_HEADERS: [&str; 2] = ["ETag", "x-oss-request-id"];

/// A provider's OSS buckets, signed with the RAM user's key.
struct OssCors<'a> {
    target: &'a OssTarget,
    client: OssClient,
    version: SignatureVersion,
}

impl<'a> OssCors<'a> {
    fn new(target: &'a OssTarget, version: SignatureVersion) -> anyhow::Result<OssCors<'a>> {
        let key = Credentials {
            access_key_id: target.key.id.clone(),
            secret: target.key.secret.clone(),
            security_token: None,
        };
        Ok(OssCors {
            target,
            client: target.client()?.signed(key, version),
            version,
        })
    }
}

impl CorsStore for OssCors<'_> {
    type Error = OssError;

    fn provider(&self) -> &str {
        &self.target.provider
    }
    fn browser_origins(&self) -> &[String] {
        &self.target.browser_origins
    }
    fn via(&self) -> String {
        let t = self.target;
        format!(
            "provider {}, {}, signature {}",
            t.provider,
            t.oss_endpoint,
            self.version.as_str()
        )
    }
    fn store_name(&self) -> &'static str {
        "OSS"
    }
    fn default_expose_headers(&self) -> &'static [&'static str] {
        &DEFAULT_EXPOSE_HEADERS
    }
    async fn get(&self, bucket: &str) -> Result<Option<CorsConfig>, OssError> {
        self.client.get_bucket_cors(bucket).await
    }
    async fn put(&self, bucket: &str, config: &CorsConfig) -> Result<Option<String>, OssError> {
        self.client.put_bucket_cors(bucket, config).await
    }
    async fn delete(&self, bucket: &str) -> Result<(), OssError> {
        self.client.delete_bucket_cors(bucket).await
    }
    fn fix(&self, e: &OssError, bucket: &str, op: CorsOp) -> String {
        let action = match op {
            CorsOp::Get => "oss:GetBucketCors",
            CorsOp::Put => "oss:PutBucketCors",
            CorsOp::Delete => "oss:DeleteBucketCors",
        };
        let cx = FixContext {
            target: self.target,
            bucket,
            action,
            resource: format!("acs:oss:*:*:{bucket}"),
            role_arn: None,
            version: self.version,
        };
        fix_for(e, &cx)
    }
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
    let store = OssCors::new(&target, version)?;
    cors_admin::run(&store, config_path, bucket, action).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aliyun::check::tests::target;
    use crate::common::cors_admin::{build_rule, config_lines, RuleArgs};

    #[test]
    fn set_rules_take_the_defaults_and_are_validated() {
        let t = target(&["https://app.example.com"]);
        let store = OssCors::new(&t, SignatureVersion::V1).unwrap();
        let rule = build_rule(RuleArgs::default(), &store).unwrap();
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
            &store,
        )
        .unwrap();
        assert_eq!(rule.allowed_methods, ["GET"]);
        assert_eq!(rule.max_age_seconds, Some(5));
        let err = |args: RuleArgs, t: &OssTarget| {
            let store = OssCors::new(t, SignatureVersion::V1).unwrap();
            format!("{:#}", build_rule(args, &store).unwrap_err())
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
        assert_eq!(store.via(), "provider x, http://127.0.0.1:1, signature v1");
    }
}
