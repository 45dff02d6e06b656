//! `stsgate check`'s probes of an Alibaba provider: GetCallerIdentity, a dry AssumeRole with
//! the narrowest grant's RAM policy, a V4-signed HEAD per grant bucket with those credentials,
//! and CORS preflights as ali-oss sends them from a browser. The order and the lines are
//! `common::probe`'s; what is Alibaba's here is the calls and the fixes (RAM actions, OSS error
//! codes), which `stsgate cors` ([`super::cors_admin`]) shares.

use crate::aliyun::client::{Credentials, Oss, OssClient, OssError, SignatureVersion};
use crate::aliyun::provider::{AliyunProvider, AssumeRoleInput, MAX_POLICY_BYTES};
use crate::common::check::{shared_fix, Check, PolicyRules, Rendered, Site};
use crate::common::check::{CHECK_DURATION, CHECK_SUBJECT};
use crate::common::probe::{self, Probes};
use crate::common::provider::{KeyPair, UpstreamError};
use crate::common::scope::Grant;
use crate::secret::Secret;
use anyhow::anyhow;
use std::path::Path;
use std::time::Duration;

/// The request headers `stsgate check`'s preflights announce (what ali-oss sends from a
/// browser).
pub const PREFLIGHT_HEADERS: [&str; 6] = [
    "authorization",
    "content-type",
    "x-oss-content-sha256",
    "x-oss-date",
    "x-oss-security-token",
    "x-oss-user-agent",
];

/// A provider's OSS side: enough to sign bucket requests and name things in messages.
#[derive(Debug, Clone)]
pub struct OssTarget {
    pub provider: String,
    pub region: String,
    pub oss_endpoint: String,
    pub timeout: Duration,
    pub key: KeyPair,
    pub browser_origins: Vec<String>,
}

impl OssTarget {
    pub fn of(p: &AliyunProvider) -> OssTarget {
        OssTarget {
            provider: p.name.clone(),
            region: p.region.clone(),
            oss_endpoint: p.oss_endpoint.clone(),
            timeout: p.transport.timeout,
            key: p.key.clone(),
            browser_origins: p.browser_origins.clone(),
        }
    }

    pub(super) fn client(&self) -> anyhow::Result<OssClient> {
        OssClient::new(&self.oss_endpoint, &self.region, self.timeout)
            .map_err(|e| anyhow!("[provider.{}]: {e}", self.provider))
    }

    /// The provider and its OSS, as lines name them.
    pub fn site(&self) -> Site<'_> {
        Site {
            provider: &self.provider,
            region: &self.region,
            endpoint: &self.oss_endpoint,
            endpoint_key: "oss_endpoint",
            store: "OSS",
            timeout: self.timeout,
            browser_origins: &self.browser_origins,
        }
    }
}

/// What a failed OSS call was, for its fix.
pub(super) struct FixContext<'a> {
    pub target: &'a OssTarget,
    pub bucket: &'a str,
    /// The RAM action the call needs, e.g. `oss:PutBucketCors`.
    pub action: &'a str,
    /// The RAM resource, e.g. `acs:oss:*:*:app`.
    pub resource: String,
    /// Signed with temporary credentials of `role_arn` (else the RAM user's key).
    pub role_arn: Option<&'a str>,
    pub version: SignatureVersion,
}

/// What to change after an OSS error.
pub(super) fn fix_for(e: &OssError, cx: &FixContext) -> String {
    let t = cx.target;
    let (p, bucket, endpoint) = (&t.provider, cx.bucket, &t.oss_endpoint);
    if let Some(fix) = shared_fix(&e.code, &t.site()) {
        return fix;
    }
    match e.code.as_str() {
        "AccessDenied" => match cx.role_arn {
            Some(role) => format!(
                "the role {role}'s own policy must allow {} on {} (STS credentials get only what both the role's policy and the grant's session policy allow; stsgate's session policy already does)",
                cx.action, cx.resource
            ),
            None => format!(
                "the RAM user of [provider.{p}] (AccessKeyId {}) needs {} on {} (attach AliyunOSSFullAccess or a custom policy with that action), and no bucket policy may deny it",
                t.key.id, cx.action, cx.resource
            ),
        },
        "NoSuchBucket" => format!(
            "bucket {bucket} does not exist in region {} ({endpoint}): create it there, or correct the bucket name, or region / oss_endpoint in [provider.{p}]",
            t.region
        ),
        "InvalidAccessKeyId" => match cx.role_arn {
            Some(_) => format!(
                "OSS at {endpoint} does not accept the temporary credentials: sts_endpoint and oss_endpoint of [provider.{p}] must belong to the same cloud account"
            ),
            None => format!(
                "OSS at {endpoint} does not know AccessKeyId {}: check the key of [provider.{p}] (or that it is not disabled)",
                t.key.id
            ),
        },
        "SignatureDoesNotMatch" => {
            let mut fix = format!(
                "the AccessKeySecret does not belong to AccessKeyId {} (check the key of [provider.{p}]), or a proxy changed the request",
                t.key.id
            );
            if cx.version == SignatureVersion::V4 {
                fix.push_str(&format!(
                    ", or region {} is not the bucket's region (V4 signs it; set region in [provider.{p}])",
                    t.region
                ));
            }
            if let Some(sts) = &e.string_to_sign {
                fix.push_str(&format!("; string-to-sign sent: {sts:?}"));
            }
            fix
        }
        "SecurityTokenExpired" | "InvalidSecurityToken" => format!(
            "OSS at {endpoint} does not accept the security token from sts_endpoint of [provider.{p}]: both endpoints must belong to the same cloud"
        ),
        "MalformedXML" | "InvalidArgument" | "InvalidDigest" => "OSS refused the rule: give origins with at most one '*', methods among GET PUT DELETE POST HEAD, expose headers without '*'".to_string(),
        code => match &e.ec {
            Some(ec) => format!("see https://api.aliyun.com/troubleshoot?q={ec}"),
            None => format!("see OSS's error code reference for {code}"),
        },
    }
}

/// The probes of one Alibaba provider.
struct AliyunProbes<'a> {
    provider: &'a AliyunProvider,
    target: OssTarget,
    client: anyhow::Result<OssClient>,
}

impl Probes for AliyunProbes<'_> {
    type Dialect = Oss;
    type Creds = Credentials;

    fn site(&self) -> Site<'_> {
        self.target.site()
    }
    fn policy_rules(&self) -> PolicyRules<'_> {
        PolicyRules {
            render: Box::new(crate::aliyun::policy::render),
            max_bytes: MAX_POLICY_BYTES,
        }
    }
    fn issue_action(&self) -> &'static str {
        "AssumeRole"
    }
    fn issue_call(&self) -> String {
        format!("AssumeRole {}", self.provider.role_arn)
    }
    async fn identity(&self) -> Check {
        identity_check(self.provider).await
    }
    async fn custom_signing_identity(&self) -> Option<Check> {
        let p = self.provider;
        let name = &p.name;
        let key = p.custom_signing_key.as_ref()?;
        let what = format!("provider {name}: /auth/custom signing key {}", key.id);
        let scope = "a RAM user of its own with only oss:GetObject/oss:PutObject (and the grants' other object actions) on the grants' buckets";
        Some(match p.custom_signing_identity().await? {
            Ok(id) if id.identity_type == "Account" => Check::fail(
                format!("{what}: GetCallerIdentity: Account {} (main account key)", id.arn),
                format!("a main account key signs anything in the account: give custom_signing_* {scope}"),
            ),
            Ok(_) if key.id == p.key.id => Check::warn(
                format!("{what}: the same key as the provider's (it can AssumeRole too)"),
                format!("give custom_signing_* {scope}, not the key that calls STS"),
            ),
            Ok(id) => Check::ok(format!(
                "{what}: GetCallerIdentity: {} {} (account {}); its own RAM policy must limit it to the grants' buckets",
                id.identity_type, id.arn, id.account_id
            )),
            Err(e) => identity_failed(&what, p, &e),
        })
    }
    async fn issue(&self, policy: &str) -> Result<(Credentials, String), UpstreamError> {
        let input = AssumeRoleInput {
            session_name: CHECK_SUBJECT,
            policy: Some(policy),
            duration_seconds: CHECK_DURATION,
        };
        let a = self.provider.assume_role(&input).await?;
        let expires = a
            .minted
            .expiration
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let shown = format!("AccessKeyId {}, expires {expires}", a.minted.access_key_id);
        let creds = Credentials {
            access_key_id: a.minted.access_key_id,
            secret: a.minted.access_key_secret,
            security_token: Some(Secret::new(a.minted.security_token)),
        };
        Ok((creds, shown))
    }
    fn client(&self) -> Result<&OssClient, String> {
        self.client.as_ref().map_err(|e| format!("{e:#}"))
    }
    async fn head(
        &self,
        client: &OssClient,
        bucket: &str,
        key: &str,
        creds: Credentials,
    ) -> Result<u16, OssError> {
        let signed = client.signed(creds, SignatureVersion::V4);
        signed.head_object(bucket, key).await.map(|h| h.status)
    }
    fn head_fix(&self, e: &OssError, r: &Rendered) -> String {
        let cx = FixContext {
            target: &self.target,
            bucket: &r.grant.bucket,
            action: "oss:GetObject",
            resource: format!("acs:oss:*:*:{}/{}*", r.grant.bucket, r.prefix),
            role_arn: Some(&self.provider.role_arn),
            version: SignatureVersion::V4,
        };
        fix_for(e, &cx)
    }
    fn preflight_headers(&self) -> &'static [&'static str] {
        &PREFLIGHT_HEADERS
    }
    fn preflight_fix(&self, e: &OssError, bucket: &str) -> String {
        let cx = FixContext {
            target: &self.target,
            bucket,
            action: "",
            resource: String::new(),
            role_arn: None,
            version: SignatureVersion::V1,
        };
        fix_for(e, &cx)
    }
}

/// The checks of one Alibaba provider, in order: policies, identity, dry AssumeRole, HEAD and
/// CORS per bucket.
pub async fn probe(
    provider: &AliyunProvider,
    grants: &[Grant],
    config_path: &Path,
    emit: &mut dyn FnMut(Check),
) {
    let target = OssTarget::of(provider);
    let probes = AliyunProbes {
        provider,
        client: target.client(),
        target,
    };
    probe::run(&probes, grants, config_path, emit).await;
}

/// GetCallerIdentity with the RAM user's key.
async fn identity_check(provider: &AliyunProvider) -> Check {
    let name = &provider.name;
    match provider.caller_identity().await {
        Ok(id) if id.identity_type == "Account" => Check::warn(
            format!(
                "provider {name}: GetCallerIdentity: Account {} (main account key)",
                id.arn
            ),
            format!(
                "STS refuses AssumeRole for the main account's (root) key: create a RAM user, grant it AliyunSTSAssumeRoleAccess (sts:AssumeRole on {}) and put its key in [provider.{name}]",
                provider.role_arn
            ),
        ),
        Ok(id) => Check::ok(format!(
            "provider {name}: GetCallerIdentity: {} {} (account {})",
            id.identity_type, id.arn, id.account_id
        )),
        Err(e) => identity_failed(&format!("provider {name}"), provider, &e),
    }
}

/// The line of a GetCallerIdentity that failed (for the provider's key or its signing key).
fn identity_failed(what: &str, provider: &AliyunProvider, e: &UpstreamError) -> Check {
    Check::fail(
        format!(
            "{what}: GetCallerIdentity at {}: {}",
            provider.sts_endpoint,
            crate::common::check::upstream_summary(e)
        ),
        e.hint.clone(),
    )
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::common::check::tests::grant;
    use crate::common::check::{narrowest, policy_checks, Status};

    pub(crate) fn target(origins: &[&str]) -> OssTarget {
        OssTarget {
            provider: "x".into(),
            region: "cn-hangzhou".into(),
            oss_endpoint: "http://127.0.0.1:1".into(),
            timeout: Duration::from_secs(1),
            key: KeyPair {
                id: "LTAIkey".into(),
                secret: Secret::new("s"),
            },
            browser_origins: origins.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn check(grants: &[Grant]) -> (Vec<Check>, Vec<Rendered>) {
        let rules = PolicyRules {
            render: Box::new(crate::aliyun::policy::render),
            max_bytes: MAX_POLICY_BYTES,
        };
        policy_checks("x", grants, &rules)
    }

    #[test]
    fn policies_are_rendered_for_the_check_subject_and_sized() {
        let small = grant("small", "users/${sub}/", &["read"]);
        let wide = grant(
            "wide",
            "users/${sub}/${tenant}/",
            &["read", "write", "list", "delete"],
        );
        let (lines, rendered) = check(&[wide.clone(), small.clone()]);
        assert_eq!(rendered.len(), 2);
        assert_eq!(rendered[0].prefix, "users/stsgate-check/stsgate-check/");
        assert!(lines.iter().all(|l| l.status == Status::Ok), "{lines:?}");
        assert!(
            lines[1]
                .to_string()
                .starts_with("ok grant small (provider x): policy "),
            "{}",
            lines[1]
        );
        assert_eq!(narrowest(&rendered).unwrap().grant.name, "small");
        // The policy of all four bundles names the prefix twice: size = base + 2 × prefix.
        let all = ["read", "write", "list", "delete"];
        let base =
            crate::aliyun::policy::render(&grant("b", "${sub}/", &all), "stsgate-check/").len();
        let room = (MAX_POLICY_BYTES - base) / 2;
        let long = grant(
            "long",
            &format!("{}/${{sub}}/", "p".repeat(room + 10)),
            &all,
        );
        let (lines, rendered) = check(&[long]);
        assert!(rendered.is_empty());
        assert_eq!(lines[0].status, Status::Fail);
        assert!(
            lines[0]
                .to_string()
                .starts_with("FAIL grant long (provider x): its policy is "),
            "{}",
            lines[0]
        );
        assert!(lines[0]
            .to_string()
            .contains("over STS's limit of 2048 bytes"));
        // Fits for the check subject, not for 128-character subjects (2 × 115 bytes more).
        let edge = grant(
            "edge",
            &format!("{}/${{sub}}/", "p".repeat(room - 60)),
            &all,
        );
        let (lines, rendered) = check(&[edge]);
        assert_eq!(lines[0].status, Status::Fail, "{lines:?}");
        assert_eq!(rendered.len(), 1);
    }

    #[test]
    fn fixes_say_what_to_change() {
        let t = target(&[]);
        let e = |code: &str| OssError {
            status: 403,
            code: code.into(),
            message: String::new(),
            request_id: None,
            ec: Some("0003-00000001".into()),
            server_string_to_sign: None,
            string_to_sign: Some("PUT\n\n\nd\n/app/?cors".into()),
        };
        let cx = FixContext {
            target: &t,
            bucket: "app",
            action: "oss:PutBucketCors",
            resource: "acs:oss:*:*:app".into(),
            role_arn: None,
            version: SignatureVersion::V4,
        };
        assert!(
            fix_for(&e("AccessDenied"), &cx).contains("needs oss:PutBucketCors on acs:oss:*:*:app")
        );
        let sig = fix_for(&e("SignatureDoesNotMatch"), &cx);
        assert!(
            sig.contains("region cn-hangzhou") && sig.contains("string-to-sign sent: \"PUT\\n"),
            "{sig}"
        );
        assert!(fix_for(&e("NoSuchBucket"), &cx).contains("does not exist in region cn-hangzhou"));
        assert!(fix_for(&e("Whatever"), &cx).contains("troubleshoot?q=0003-00000001"));
        let role = FixContext {
            role_arn: Some("acs:ram::1:role/app"),
            ..cx
        };
        assert!(fix_for(&e("AccessDenied"), &role)
            .starts_with("the role acs:ram::1:role/app's own policy must allow oss:PutBucketCors"));
        assert!(fix_for(&e("InvalidAccessKeyId"), &role)
            .contains("must belong to the same cloud account"));
    }
}
