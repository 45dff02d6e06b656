//! `stsgate check`'s probes of a Tencent provider: GetCallerIdentity, a dry issuance
//! (GetFederationToken, or AssumeRole with a `role_arn`) with the narrowest grant's CAM policy
//! for the check subject, a signed HEAD per grant bucket with those credentials, and CORS
//! preflights as cos-js-sdk-v5 sends them from a browser. The order and the lines are
//! `common::probe`'s; what is Tencent's here is the calls and the fixes (CAM actions, COS error
//! codes), which `stsgate cors` ([`super::cors_admin`]) shares. No line names the CAM user's
//! SecretId, a temporary key, a secret or a token.

use crate::common::check::{shared_fix, upstream_summary, Check, PolicyRules, Rendered, Site};
use crate::common::check::{CHECK_DURATION, CHECK_SUBJECT};
use crate::common::probe::{self, Probes};
use crate::common::provider::{IssueInput, Upstream, UpstreamError};
use crate::common::scope::Grant;
use crate::secret::Secret;
use crate::tencent::client::{Cos, CosClient, CosError, Credentials};
use crate::tencent::policy::{bucket_resource, MAX_POLICY_BYTES};
use crate::tencent::provider::TencentProvider;
use std::path::Path;

/// The request headers `stsgate check`'s preflights announce (what cos-js-sdk-v5 sends from
/// a browser with temporary credentials).
pub const PREFLIGHT_HEADERS: [&str; 3] = ["authorization", "content-type", "x-cos-security-token"];

/// The AppId of a bucket spelt `<name>-<appid>` (CAM names it in resources).
pub fn app_id(bucket: &str) -> &str {
    bucket.rsplit_once('-').map_or("", |(_, id)| id)
}

/// The provider and its COS, as lines name them.
pub(super) fn site(provider: &TencentProvider) -> Site<'_> {
    Site {
        provider: &provider.name,
        region: &provider.region,
        endpoint: &provider.cos_endpoint,
        endpoint_key: "cos_endpoint",
        store: "COS",
        timeout: provider.transport.timeout,
        browser_origins: &provider.browser_origins,
    }
}

/// The client of the provider's COS, over its HTTP client.
pub(super) fn cos_client(provider: &TencentProvider) -> anyhow::Result<CosClient> {
    CosClient::new(
        provider.cos_client.clone(),
        &provider.cos_endpoint,
        provider.transport.timeout,
    )
    .map_err(|e| anyhow::anyhow!("[provider.{}]: {e}", provider.name))
}

/// What a failed COS call was, for its fix.
pub(super) struct FixContext<'a> {
    pub provider: &'a TencentProvider,
    pub bucket: &'a str,
    /// The CAM action the call needs, e.g. `cos:PutBucketCORS`.
    pub action: &'a str,
    /// The CAM resource, e.g. `qcs::cos:ap-guangzhou:uid/1250000000:app-1250000000/*`.
    pub resource: String,
    /// Signed with the dry issuance's temporary credentials (else the CAM user's key).
    pub scoped: bool,
}

/// What to change after a COS error.
pub(super) fn fix_for(e: &CosError, cx: &FixContext) -> String {
    let t = cx.provider;
    let (p, bucket, endpoint) = (&t.name, cx.bucket, &t.cos_endpoint);
    if let Some(fix) = shared_fix(&e.code, &site(t)) {
        return fix;
    }
    let (action, resource) = (cx.action, &cx.resource);
    match e.code.as_str() {
        "AccessDenied" | "HttpStatus403" => match (cx.scoped, &t.role_arn) {
            (true, Some(role)) => format!(
                "the role {role}'s own policies must allow {action} on {resource} (STS credentials get only what both the role's policies and the grant's session policy allow; stsgate's session policy already does), and no bucket policy may deny it"
            ),
            (true, None) => format!(
                "the CAM user of [provider.{p}] must itself be allowed {action} on {resource}: federation tokens get only what both the CAM user's policies and the grant's session policy allow (stsgate's session policy already does), and no bucket policy may deny it"
            ),
            (false, _) => format!(
                "the CAM user of [provider.{p}] needs {action} on {resource} (attach QcloudCOSFullAccess or a custom policy with that action), and no bucket policy may deny it"
            ),
        },
        "NoSuchBucket" => format!(
            "bucket {bucket} does not exist in region {} ({endpoint}): create it there, or correct the bucket name (<name>-<appid>), or region / cos_endpoint in [provider.{p}]",
            t.region
        ),
        "InvalidAccessKeyId" if cx.scoped => format!(
            "COS at {endpoint} does not accept the temporary credentials: sts_endpoint and cos_endpoint of [provider.{p}] must belong to the same cloud account"
        ),
        "InvalidAccessKeyId" => format!(
            "COS at {endpoint} does not know the SecretId of [provider.{p}]: check its key (or that it is not disabled)"
        ),
        "SignatureDoesNotMatch" => {
            let mut fix = format!(
                "the SecretKey does not belong to the SecretId of [provider.{p}], or a proxy changed the request"
            );
            if let Some(http) = &e.http_string {
                fix.push_str(&format!("; HttpString signed: {http:?}"));
            }
            fix
        }
        "ExpiredToken" | "InvalidToken" | "InvalidSecurityToken" => format!(
            "COS at {endpoint} does not accept the security token from sts_endpoint of [provider.{p}]: both endpoints must belong to the same cloud"
        ),
        "MalformedXML" | "InvalidArgument" | "InvalidDigest" | "BadDigest" => "COS refused the rule: give origins with at most one '*', methods among GET PUT DELETE POST HEAD, expose headers without '*'".to_string(),
        code => format!("see COS's error codes (https://cloud.tencent.com/document/product/436/7730) for {code}"),
    }
}

/// The probes of one Tencent provider.
struct TencentProbes<'a> {
    provider: &'a TencentProvider,
    client: anyhow::Result<CosClient>,
}

impl Probes for TencentProbes<'_> {
    type Dialect = Cos;
    type Creds = Credentials;

    fn site(&self) -> Site<'_> {
        site(self.provider)
    }
    fn policy_rules(&self) -> PolicyRules<'_> {
        let region = &self.provider.region;
        PolicyRules {
            render: Box::new(move |grant: &Grant, prefix: &str| {
                crate::tencent::policy::render(grant, prefix, region, app_id(&grant.bucket))
            }),
            max_bytes: MAX_POLICY_BYTES,
        }
    }
    fn issue_action(&self) -> &'static str {
        self.provider.issue_action().as_str()
    }
    fn issue_call(&self) -> String {
        match &self.provider.role_arn {
            Some(role) => format!("AssumeRole {role}"),
            None => "GetFederationToken".to_string(),
        }
    }
    async fn identity(&self) -> Check {
        identity_check(self.provider).await
    }
    async fn issue(&self, policy: &str) -> Result<(Credentials, String), UpstreamError> {
        let input = IssueInput {
            session_name: CHECK_SUBJECT,
            policy,
            duration_seconds: CHECK_DURATION,
        };
        let issued = self.provider.issue(input).await?;
        let expires = issued
            .minted
            .expiration
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let mut shown = format!("credentials issued, expires {expires}");
        if !issued.request_id.is_empty() {
            shown.push_str(&format!(" (RequestId {})", issued.request_id));
        }
        let creds = Credentials {
            secret_id: issued.minted.access_key_id,
            secret_key: issued.minted.access_key_secret,
            token: Some(Secret::new(issued.minted.security_token)),
        };
        Ok((creds, shown))
    }
    fn client(&self) -> Result<&CosClient, String> {
        self.client.as_ref().map_err(|e| format!("{e:#}"))
    }
    async fn head(
        &self,
        client: &CosClient,
        bucket: &str,
        key: &str,
        creds: Credentials,
    ) -> Result<u16, CosError> {
        let signed = client.signed(creds);
        match signed.head_object(bucket, key).await.map(|h| h.status) {
            // COS answers HEAD without a body: a bare 404 is the key or the bucket; HEAD of the
            // bucket tells them apart (a missing bucket is 404 whoever asks).
            Err(e) if e.code == "NoSuchResource" => {
                let code = match signed.head_bucket(bucket).await {
                    Err(b) if b.status == 404 => "NoSuchBucket",
                    _ => "NoSuchKey",
                };
                Err(CosError {
                    code: code.to_string(),
                    ..e
                })
            }
            answer => answer,
        }
    }
    fn head_fix(&self, e: &CosError, r: &Rendered) -> String {
        let bucket = &r.grant.bucket;
        let region = &self.provider.region;
        let cx = FixContext {
            provider: self.provider,
            bucket,
            action: "cos:HeadObject",
            resource: format!(
                "{}{}*",
                bucket_resource(region, app_id(bucket), bucket),
                r.prefix
            ),
            scoped: true,
        };
        fix_for(e, &cx)
    }
    fn preflight_headers(&self) -> &'static [&'static str] {
        &PREFLIGHT_HEADERS
    }
    fn preflight_fix(&self, e: &CosError, bucket: &str) -> String {
        let cx = FixContext {
            provider: self.provider,
            bucket,
            action: "",
            resource: String::new(),
            scoped: false,
        };
        fix_for(e, &cx)
    }
}

/// The checks of one Tencent provider, in order: policies, identity, dry issuance, HEAD and
/// CORS per bucket.
pub async fn probe(
    provider: &TencentProvider,
    grants: &[Grant],
    config_path: &Path,
    emit: &mut dyn FnMut(Check),
) {
    let probes = TencentProbes {
        provider,
        client: cos_client(provider),
    };
    probe::run(&probes, grants, config_path, emit).await;
}

/// GetCallerIdentity with the CAM user's key; a root key is a warning.
async fn identity_check(provider: &TencentProvider) -> Check {
    let name = &provider.name;
    match provider.caller_identity().await {
        Ok(id) if id.kind == "RootAccount" || id.user_id == id.account_id => Check::warn(
            format!(
                "provider {name}: GetCallerIdentity: {} (main account key)",
                id.arn
            ),
            match &provider.role_arn {
                Some(role) => format!(
                    "a main account key may do anything in the account: create a CAM user, allow it only sts:AssumeRole on {role} (whose trust policy names it), and put its SecretId/SecretKey in [provider.{name}]"
                ),
                None => format!(
                    "a main account key may do anything in the account: create a CAM user, allow it sts:GetFederationToken and the grants' COS actions on their buckets (federation tokens get only what both its policies and the session policy allow), and put its SecretId/SecretKey in [provider.{name}]"
                ),
            },
        ),
        Ok(id) => Check::ok(format!(
            "provider {name}: GetCallerIdentity: {} {} (account {})",
            if id.kind.is_empty() { "CAMUser" } else { &id.kind },
            id.arn,
            id.account_id
        )),
        Err(e) => Check::fail(
            format!(
                "provider {name}: GetCallerIdentity at {}: {}",
                provider.sts_endpoint,
                upstream_summary(&e)
            ),
            e.hint.clone(),
        ),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::config::ProviderConfig;

    /// A provider whose key was read from a 0600 file (gone once read).
    pub(crate) fn provider(role_arn: Option<&str>) -> TencentProvider {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("tc.json");
        std::fs::write(
            &file,
            r#"{"SecretId": "AKIDunit", "SecretKey": "unitsecret"}"#,
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let cfg = ProviderConfig {
            kind: Some("tencent".into()),
            role_arn: role_arn.map(str::to_string),
            credentials_file: Some(file),
            cos_endpoint: Some("http://127.0.0.1:1".into()),
            browser_origins: Some(vec!["https://app.example.com".into()]),
            ..ProviderConfig::default()
        };
        TencentProvider::from_config("tc", &cfg, Default::default()).unwrap()
    }

    fn error(code: &str) -> CosError {
        CosError {
            status: 403,
            http_string: Some("get\n/\ncors=\nhost=h\n".into()),
            ..CosError::transport(code, String::new())
        }
    }

    #[test]
    fn fixes_say_what_to_change_without_keys() {
        let (federated, role) = (
            provider(None),
            provider(Some("qcs::cam::uin/1:roleName/app")),
        );
        let fix = |p: &TencentProvider, code: &str, scoped: bool| {
            let cx = FixContext {
                provider: p,
                bucket: "app-1250000000",
                action: "cos:HeadObject",
                resource: "qcs::cos:ap-guangzhou:uid/1250000000:app-1250000000/public/*".into(),
                scoped,
            };
            let fix = fix_for(&error(code), &cx);
            assert!(
                !fix.contains("AKIDunit") && !fix.contains("unitsecret"),
                "{fix}"
            );
            fix
        };
        let check = |fix: String, expected: &str| assert!(fix.starts_with(expected), "{fix}");
        check(fix(&federated, "AccessDenied", true), "the CAM user of [provider.tc] must itself be allowed cos:HeadObject on qcs::cos:ap-guangzhou:uid/1250000000:app-1250000000/public/*: federation tokens");
        check(
            fix(&role, "HttpStatus403", true),
            "the role qcs::cam::uin/1:roleName/app's own policies must allow cos:HeadObject",
        );
        check(
            fix(&role, "AccessDenied", false),
            "the CAM user of [provider.tc] needs cos:HeadObject on",
        );
        check(
            fix(&federated, "NoSuchBucket", false),
            "bucket app-1250000000 does not exist in region ap-guangzhou (http://127.0.0.1:1)",
        );
        check(
            fix(&federated, "InvalidAccessKeyId", true),
            "COS at http://127.0.0.1:1 does not accept the temporary credentials",
        );
        check(
            fix(&federated, "InvalidAccessKeyId", false),
            "COS at http://127.0.0.1:1 does not know the SecretId of [provider.tc]",
        );
        let sig = fix(&federated, "SignatureDoesNotMatch", false);
        assert!(
            sig.ends_with("; HttpString signed: \"get\\n/\\ncors=\\nhost=h\\n\""),
            "{sig}"
        );
        check(
            fix(&federated, "ExpiredToken", true),
            "COS at http://127.0.0.1:1 does not accept the security token",
        );
        check(
            fix(&federated, "Timeout", true),
            "no answer from http://127.0.0.1:1 within 5 s: check cos_endpoint in [provider.tc]",
        );
        check(fix(&federated, "MalformedResponse", true), "http://127.0.0.1:1 did not answer as COS does: is cos_endpoint in [provider.tc] a COS endpoint?");
        check(fix(&federated, "SlowDown", true), "see COS's error codes");
    }

    #[test]
    fn policies_are_cam_for_the_buckets_app_id() {
        let p = provider(None);
        let probes = TencentProbes {
            provider: &p,
            client: cos_client(&p),
        };
        assert!(probes.client().is_ok());
        assert_eq!(probes.issue_call(), "GetFederationToken");
        let rules = probes.policy_rules();
        assert_eq!(rules.max_bytes, 2048);
        let grant = Grant::from_config(&crate::config::GrantConfig {
            bucket: "media-1250000009".into(),
            provider: Some("tc".into()),
            vendor: Some("tencent".into()),
            ..crate::common::check::tests::grant_config("g", "u/${sub}/", &["read"])
        })
        .unwrap();
        let policy = (rules.render)(&grant, "u/x/");
        assert_eq!(
            policy,
            crate::tencent::policy::render(&grant, "u/x/", "ap-guangzhou", "1250000009")
        );
        assert!(
            policy.contains("uid/1250000009:media-1250000009/u/x/*"),
            "{policy}"
        );
        assert_eq!(
            (app_id("media-1250000009"), app_id("media")),
            ("1250000009", "")
        );
    }
}
