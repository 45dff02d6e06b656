//! `type = "aliyun"`: Alibaba Cloud STS `AssumeRole` / `GetCallerIdentity` over RPC signature V1
//! (HMAC-SHA1, POST, parameters in a form body), with timeouts, jittered retries on throttling and
//! 5xx only, strict parsing of answers and errors that say what to change.
//!
//! A call reads top to bottom in [`AliyunProvider::call`]: sign a fresh body
//! ([`signed_rpc_body`], pure) → send one attempt and classify it (`common::upstream`: bounded
//! time, at most 64 KiB read, done / retry / fail by [`WIRE`]) → back off with full jitter and
//! retry, or turn the failure into an [`UpstreamError`] whose hint ([`AliyunProvider::hint`],
//! pure) says what to change.
//!
//! Metrics: every attempt counts in `stsgate_upstream_requests_total{provider,action,outcome}` and
//! `stsgate_upstream_seconds{provider,action}` (the server's shared `UpstreamMetrics`).

use crate::common::provider::{
    redact, BoxFuture, IssueInput, KeyPair, Upstream, UpstreamError, UpstreamIssued, Vendor,
};
use crate::common::upstream::{
    self, attempts_text, text, ErrorFields, Failed, KeySettings, KeySource, Kind, Parse, Transport,
    UpstreamMetrics, Who, Wire,
};
use crate::config::ProviderConfig;
use crate::secret::Secret;
use crate::token::Minted;
use anyhow::{anyhow, bail};
use std::fmt::Write as _;
use std::sync::Arc;
use stsgate_signing::encode::pe;
use stsgate_signing::pop::{rpc_sign, rpc_string_to_sign};
use time::OffsetDateTime;

/// An `[provider.NAME]` of type `aliyun`, ready to call.
#[derive(Debug)]
pub struct AliyunProvider {
    /// The config table's name (`[provider.NAME]`).
    pub name: String,
    /// `acs:ram::<account>:role/<name>`.
    pub role_arn: String,
    pub region: String,
    /// e.g. `https://sts.aliyuncs.com` (no trailing `/`).
    pub sts_endpoint: String,
    /// e.g. `https://oss-cn-hangzhou.aliyuncs.com` or `http://127.0.0.1:8702` (no trailing `/`).
    pub oss_endpoint: String,
    /// The RAM user's key: signs AssumeRole/GetCallerIdentity (and `stsgate cors`), nothing else.
    pub key: KeyPair,
    /// What `/auth/custom` signs with for this provider's grants (`None`: scoped credentials).
    pub custom_signing_key: Option<KeyPair>,
    /// Browser origins `stsgate check` tests the buckets' CORS against.
    pub browser_origins: Vec<String>,
    /// The client, its limits and the attempt counts.
    pub transport: Transport,
    /// Where `key` came from.
    key_source: KeySource,
    /// Where `custom_signing_key` came from.
    custom_signing_key_source: Option<KeySource>,
    /// GetCallerIdentity's first successful answer (for NoPermission diagnoses).
    identity: tokio::sync::OnceCell<Identity>,
    /// The server's upstream counters.
    metrics: Arc<UpstreamMetrics>,
}

/// What `assume_role` is asked for.
#[derive(Debug, Clone)]
pub struct AssumeRoleInput<'a> {
    pub session_name: &'a str,
    /// The inline session policy (JSON), at most [`MAX_POLICY_BYTES`].
    pub policy: Option<&'a str>,
    pub duration_seconds: i64,
}

/// STS's limit on an inline `Policy` (bytes).
pub const MAX_POLICY_BYTES: usize = 2048;

/// Alibaba's public STS endpoint (the default `sts_endpoint`).
pub const DEFAULT_STS_ENDPOINT: &str = "https://sts.aliyuncs.com";

/// The region when neither `[provider.NAME] region` nor the top-level `region` is set.
pub const DEFAULT_REGION: &str = "cn-hangzhou";

/// STS API version.
const STS_VERSION: &str = "2015-04-01";

/// A successful AssumeRole, fully parsed (never half-filled).
#[derive(Debug, Clone)]
pub struct Assumed {
    pub minted: Minted,
    pub request_id: String,
    /// `AssumedRoleUser.AssumedRoleId` (`<roleId>:<session>`).
    pub assumed_role_id: String,
    /// `AssumedRoleUser.Arn`.
    pub arn: String,
}

/// GetCallerIdentity's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `Account`, `RAMUser` or `AssumedRoleUser`.
    pub identity_type: String,
    pub account_id: String,
    pub arn: String,
    pub request_id: String,
}

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

impl AliyunProvider {
    /// Validates `cfg` and reads the key(s) from env/files (errors name the provider and key).
    pub fn from_config(
        name: &str,
        cfg: &ProviderConfig,
        default_region: Option<&str>,
        metrics: Arc<UpstreamMetrics>,
    ) -> anyhow::Result<AliyunProvider> {
        let at = format!("[provider.{name}]");
        match cfg.kind.as_deref() {
            None | Some("aliyun") => {}
            Some(other) => {
                bail!("{at} type = {other:?}: this provider is built for type \"aliyun\"")
            }
        }
        let role_arn = cfg.role_arn.as_deref().ok_or_else(|| {
            anyhow!("{at} role_arn is missing: the RAM role credentials are issued through, e.g. \"acs:ram::1234567890123456:role/app\"")
        })?;
        if !valid_role_arn(role_arn) {
            bail!("{at} role_arn = {role_arn:?} is not of the form acs:ram::<account>:role/<name> (RAM console → Roles → the role → ARN)");
        }
        let region = cfg
            .region
            .as_deref()
            .or(default_region)
            .unwrap_or(DEFAULT_REGION);
        if !upstream::valid_region(region) {
            bail!("{at} region = {region:?} is not a region id such as \"cn-hangzhou\"");
        }
        let example = "e.g. \"https://sts.aliyuncs.com\" or \"http://127.0.0.1:8701\"";
        let sts_endpoint =
            upstream::endpoint(&at, "sts_endpoint", cfg.sts_endpoint.as_deref(), example)?
                .unwrap_or_else(|| DEFAULT_STS_ENDPOINT.to_string());
        let oss_endpoint =
            upstream::endpoint(&at, "oss_endpoint", cfg.oss_endpoint.as_deref(), example)?
                .unwrap_or_else(|| format!("https://oss-{region}.aliyuncs.com"));
        let main = KeySettings {
            id_env_key: "access_key_id_env",
            id_env: cfg.access_key_id_env.as_deref(),
            secret_env_key: "access_key_secret_env",
            secret_env: cfg.access_key_secret_env.as_deref(),
            file_key: "credentials_file",
            file: cfg.credentials_file.as_deref(),
            id_field: "AccessKeyId",
            secret_field: "AccessKeySecret",
        };
        let (key, key_source) = upstream::read_key(&at, &main)?.ok_or_else(|| {
            anyhow!("{at} has no key: set access_key_id_env and access_key_secret_env (environment variables holding a RAM user's AccessKey), or credentials_file (a 0600 JSON file with AccessKeyId and AccessKeySecret)")
        })?;
        let custom = KeySettings {
            id_env_key: "custom_signing_key_id_env",
            id_env: cfg.custom_signing_key_id_env.as_deref(),
            secret_env_key: "custom_signing_key_secret_env",
            secret_env: cfg.custom_signing_key_secret_env.as_deref(),
            file_key: "custom_signing_credentials_file",
            file: cfg.custom_signing_credentials_file.as_deref(),
            id_field: "AccessKeyId",
            secret_field: "AccessKeySecret",
        };
        let (custom_signing_key, custom_signing_key_source) =
            match upstream::read_key(&at, &custom)? {
                Some((k, s)) => (Some(k), Some(s)),
                None => (None, None),
            };
        let browser_origins = cfg.browser_origins.clone().unwrap_or_default();
        for origin in &browser_origins {
            if !upstream::valid_origin(origin) {
                bail!("{at} browser_origins: {origin:?} is not an origin such as \"https://app.example.com\" (scheme://host[:port], no path or trailing /)");
            }
        }
        if cfg.cos_endpoint.is_some() {
            bail!("{at} cos_endpoint is a Tencent setting: use oss_endpoint");
        }
        let roots = upstream::extra_roots(&at, cfg.ca_file.as_deref())?;
        let transport = Transport::new(&at, cfg.timeout, cfg.retries, &sts_endpoint, &roots)?;
        Ok(AliyunProvider {
            name: name.to_string(),
            role_arn: role_arn.to_string(),
            region: region.to_string(),
            sts_endpoint,
            oss_endpoint,
            key,
            custom_signing_key,
            browser_origins,
            transport,
            key_source,
            custom_signing_key_source,
            identity: tokio::sync::OnceCell::new(),
            metrics,
        })
    }

    /// Where the main key was read from.
    pub fn key_source(&self) -> &KeySource {
        &self.key_source
    }

    /// Where the `/auth/custom` key was read from, when there is one.
    pub fn custom_signing_key_source(&self) -> Option<&KeySource> {
        self.custom_signing_key_source.as_ref()
    }

    /// The provider's HTTP client (rustls, no redirects), for other clients of the same cloud.
    pub fn http_client(&self) -> &reqwest::Client {
        &self.transport.client
    }

    /// The account id in `role_arn`.
    pub fn role_account(&self) -> &str {
        self.role_arn
            .strip_prefix("acs:ram::")
            .and_then(|rest| rest.split_once(":role/"))
            .map_or("", |(account, _)| account)
    }

    /// AssumeRole attempts sent so far (retries included).
    pub fn upstream_assume_role_calls(&self) -> u64 {
        self.transport.sent(Action::AssumeRole.index())
    }

    /// Every attempt sent so far (both actions).
    pub fn upstream_calls(&self) -> u64 {
        self.transport.sent_total()
    }
}

/// `acs:ram::<account>:role/<name>`: the account digits (or an alias: letters, digits, `.`, `_`,
/// `-`), the role name 1-64 of letters, digits, `.`, `-`.
pub fn valid_role_arn(value: &str) -> bool {
    let Some((account, name)) = value
        .strip_prefix("acs:ram::")
        .and_then(|rest| rest.split_once(":role/"))
    else {
        return false;
    };
    let account_ok = !account.is_empty()
        && account.len() <= 64
        && account
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    account_ok && crate::iam::valid_role_name(name)
}

impl Upstream for AliyunProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn vendor(&self) -> Vendor {
        Vendor::Aliyun
    }

    fn region(&self) -> &str {
        &self.region
    }

    fn storage_endpoint(&self) -> &str {
        &self.oss_endpoint
    }

    fn role_arn(&self) -> &str {
        &self.role_arn
    }

    fn max_policy_bytes(&self) -> usize {
        MAX_POLICY_BYTES
    }

    fn custom_signing_key(&self) -> Option<&KeyPair> {
        self.custom_signing_key.as_ref()
    }

    fn session_name(&self, caller_id: &str, subject: &str) -> String {
        session_name_for(caller_id, subject)
    }

    fn issue<'a>(
        &'a self,
        input: IssueInput<'a>,
    ) -> BoxFuture<'a, Result<UpstreamIssued, UpstreamError>> {
        Box::pin(async move {
            let assumed = self
                .assume_role(&AssumeRoleInput {
                    session_name: input.session_name,
                    policy: Some(input.policy),
                    duration_seconds: input.duration_seconds,
                })
                .await?;
            Ok(UpstreamIssued {
                minted: assumed.minted,
                request_id: assumed.request_id,
                arn: assumed.arn,
                assumed_role_id: assumed.assumed_role_id,
            })
        })
    }

    fn issue_attempts(&self) -> u64 {
        self.upstream_assume_role_calls()
    }
}

// ---------------------------------------------------------------------------------------------
// Signing (pure)
// ---------------------------------------------------------------------------------------------

/// The two STS actions stsgate calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    AssumeRole,
    GetCallerIdentity,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::AssumeRole => "AssumeRole",
            Action::GetCallerIdentity => "GetCallerIdentity",
        }
    }

    fn index(self) -> usize {
        match self {
            Action::AssumeRole => 0,
            Action::GetCallerIdentity => 1,
        }
    }
}

/// The form body of a signed RPC V1 `POST /` to STS, and the string-to-sign it was signed over.
///
/// Parameters: `AccessKeyId`, `Action`, `Format=JSON`, `SignatureMethod=HMAC-SHA1`,
/// `SignatureNonce`, `SignatureVersion=1.0`, `Timestamp` (`now`, `YYYY-MM-DDThh:mm:ssZ`),
/// `Version=2015-04-01`, then `extra`. The body lists them as `pe(k)=pe(v)` in canonical
/// (sorted) order, `Signature` last.
pub fn signed_rpc_body(
    key: &KeyPair,
    action: &str,
    extra: &[(&str, &str)],
    now: OffsetDateTime,
    nonce: &str,
) -> (String, String) {
    let timestamp = crate::common::dates::iso8601(now);
    let common = [
        ("AccessKeyId", key.id.as_str()),
        ("Action", action),
        ("Format", "JSON"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureNonce", nonce),
        ("SignatureVersion", "1.0"),
        ("Timestamp", timestamp.as_str()),
        ("Version", STS_VERSION),
    ];
    let params: Vec<(String, String)> = common
        .iter()
        .chain(extra)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let string_to_sign = rpc_string_to_sign("POST", &params);
    let signature = rpc_sign(key.secret.expose(), &string_to_sign);
    let mut encoded: Vec<(String, String)> = params.iter().map(|(k, v)| (pe(k), pe(v))).collect();
    encoded.sort();
    let mut body = String::new();
    for (k, v) in &encoded {
        let _ = write!(body, "{k}={v}&");
    }
    let _ = write!(body, "Signature={}", pe(&signature));
    (body, string_to_sign)
}

// ---------------------------------------------------------------------------------------------
// Calls
// ---------------------------------------------------------------------------------------------

/// How Alibaba STS answers: a non-200 status is an error whose JSON has `Code`, `Message` and
/// `RequestId`; `Throttling*` codes are retried.
pub const WIRE: Wire = Wire {
    error: pop_error,
    request_id: pop_request_id,
    throttled: |code| code.starts_with("Throttling"),
    internal: |_| false,
};

fn pop_fields(body: &[u8]) -> ErrorFields {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return ErrorFields::default();
    };
    let get = |name: &str| text(&v, &[name]).map(str::to_string);
    ErrorFields {
        code: get("Code"),
        message: get("Message"),
        request_id: get("RequestId"),
    }
}

fn pop_error(status: u16, body: &[u8]) -> Option<ErrorFields> {
    (status != 200).then(|| pop_fields(body))
}

fn pop_request_id(body: &[u8]) -> Option<String> {
    pop_fields(body).request_id
}

/// `YYYY-MM-DDThh:mm:ssZ` exactly (no fraction, no offset), UTC.
pub fn parse_sts_time(value: &str) -> Option<OffsetDateTime> {
    let b = value.as_bytes();
    let shape = b.len() == 20
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b'T',
            13 | 16 => c == b':',
            19 => c == b'Z',
            _ => c.is_ascii_digit(),
        });
    if !shape {
        return None;
    }
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    time::PrimitiveDateTime::parse(value, &format)
        .ok()
        .map(|t| t.assume_utc())
}

/// An AssumeRole answer: all four credential fields non-empty, Expiration well-formed and after
/// `now`; else what is wrong.
fn parse_assumed(body: &[u8], now: OffsetDateTime) -> Result<Assumed, String> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| "the answer is not JSON".to_string())?;
    let need = |path: &[&str]| {
        text(&v, path).ok_or_else(|| format!("{} is missing or empty", path.join(".")))
    };
    let access_key_id = need(&["Credentials", "AccessKeyId"])?;
    let access_key_secret = need(&["Credentials", "AccessKeySecret"])?;
    let security_token = need(&["Credentials", "SecurityToken"])?;
    let expiration = need(&["Credentials", "Expiration"])?;
    let expires = parse_sts_time(expiration).ok_or_else(|| {
        format!("Credentials.Expiration {expiration:?} is not of the form YYYY-MM-DDThh:mm:ssZ")
    })?;
    if expires <= now {
        return Err(format!(
            "Credentials.Expiration {expiration} is not in the future (local time {})",
            crate::common::dates::iso8601(now)
        ));
    }
    let optional = |path: &[&str]| text(&v, path).unwrap_or_default().to_string();
    Ok(Assumed {
        minted: Minted {
            access_key_id: access_key_id.to_string(),
            access_key_secret: Secret::new(access_key_secret),
            security_token: security_token.to_string(),
            expiration: expires,
        },
        request_id: optional(&["RequestId"]),
        assumed_role_id: optional(&["AssumedRoleUser", "AssumedRoleId"]),
        arn: optional(&["AssumedRoleUser", "Arn"]),
    })
}

/// A GetCallerIdentity answer: IdentityType, AccountId and Arn non-empty.
fn parse_identity(body: &[u8], _now: OffsetDateTime) -> Result<Identity, String> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| "the answer is not JSON".to_string())?;
    let need = |name: &str| {
        text(&v, &[name])
            .map(str::to_string)
            .ok_or_else(|| format!("{name} is missing or empty"))
    };
    Ok(Identity {
        identity_type: need("IdentityType")?,
        account_id: need("AccountId")?,
        arn: need("Arn")?,
        request_id: text(&v, &["RequestId"]).unwrap_or_default().to_string(),
    })
}

impl AliyunProvider {
    /// `AssumeRole(role_arn, session, policy, duration)`, retried on throttling/5xx only.
    pub async fn assume_role(&self, input: &AssumeRoleInput<'_>) -> Result<Assumed, UpstreamError> {
        if let Some(refused) = self.check_input(input) {
            return Err(refused);
        }
        let duration = input.duration_seconds.to_string();
        let mut extra = vec![
            ("DurationSeconds", duration.as_str()),
            ("RoleArn", self.role_arn.as_str()),
            ("RoleSessionName", input.session_name),
        ];
        if let Some(policy) = input.policy {
            extra.push(("Policy", policy));
        }
        let failed = match self
            .call(&self.key, Action::AssumeRole, &extra, parse_assumed)
            .await
        {
            Ok(assumed) => return Ok(assumed),
            Err(failed) => failed,
        };
        let identity = match failed.failure.code == "NoPermission" {
            true => self.known_identity().await,
            false => None,
        };
        let now = OffsetDateTime::now_utc();
        Err(self.upstream_error(Action::AssumeRole, &failed, identity.as_ref(), now))
    }

    /// `GetCallerIdentity` with the RAM user's key (always asked; a success is kept for
    /// NoPermission diagnoses).
    pub async fn caller_identity(&self) -> Result<Identity, UpstreamError> {
        let identity = self.fetch_identity().await?;
        let _ = self.identity.set(identity.clone());
        Ok(identity)
    }

    async fn fetch_identity(&self) -> Result<Identity, UpstreamError> {
        self.identity_of(&self.key).await
    }

    /// Whose the `/auth/custom` signing key is (GetCallerIdentity signed with it), if one is
    /// configured: `stsgate check` refuses a main-account key there.
    pub async fn custom_signing_identity(&self) -> Option<Result<Identity, UpstreamError>> {
        let key = self.custom_signing_key.as_ref()?;
        Some(self.identity_of(key).await)
    }

    async fn identity_of(&self, key: &KeyPair) -> Result<Identity, UpstreamError> {
        self.call(key, Action::GetCallerIdentity, &[], parse_identity)
            .await
            .map_err(|failed| {
                let now = OffsetDateTime::now_utc();
                self.upstream_error(Action::GetCallerIdentity, &failed, None, now)
            })
    }

    /// The cached identity, else one GetCallerIdentity shared by concurrent askers (`None` if
    /// that fails too; a later NoPermission asks again).
    async fn known_identity(&self) -> Option<Identity> {
        self.identity
            .get_or_try_init(|| self.fetch_identity())
            .await
            .ok()
            .cloned()
    }

    /// Refuses, without a call, what STS would refuse anyway (attempts = 0).
    fn check_input(&self, input: &AssumeRoleInput<'_>) -> Option<UpstreamError> {
        let (code, hint) = if !crate::aliyun::sts::params::valid_session_name(input.session_name) {
            (
                "InvalidParameter.RoleSessionName",
                format!("not sent: RoleSessionName {:?} must be 2-64 of letters, digits, '.', '@', '_', '-'", input.session_name),
            )
        } else if input
            .policy
            .is_some_and(|p| p.len() > MAX_POLICY_BYTES || p.is_empty())
        {
            (
                "InvalidParameter.PolicySize",
                format!("not sent: the session policy rendered from the grant must be 1-{MAX_POLICY_BYTES} bytes; narrow the grant"),
            )
        } else if !(900..=43200).contains(&input.duration_seconds) {
            (
                "InvalidParameter.DurationSeconds",
                format!(
                    "not sent: DurationSeconds {} is outside 900-43200",
                    input.duration_seconds
                ),
            )
        } else {
            return None;
        };
        Some(UpstreamError {
            provider: self.name.clone(),
            status: 502,
            code: code.to_string(),
            message: String::new(),
            request_id: None,
            hint,
            string_to_sign: None,
            attempts: 0,
            operator_detail: String::new(),
        })
    }

    /// Sends `action` until it succeeds, fails for good, or the retries run out.
    async fn call<T>(
        &self,
        key: &KeyPair,
        action: Action,
        extra: &[(&str, &str)],
        parse: Parse<T>,
    ) -> Result<T, Failed> {
        use reqwest::header::{ACCEPT, CONTENT_TYPE};
        let who = Who {
            provider: &self.name,
            action: action.as_str(),
            action_index: action.index(),
            metrics: &self.metrics,
        };
        let url = format!("{}/", self.sts_endpoint);
        let attempt = || {
            let nonce = uuid::Uuid::new_v4().to_string();
            let (body, string_to_sign) = signed_rpc_body(
                key,
                action.as_str(),
                extra,
                OffsetDateTime::now_utc(),
                &nonce,
            );
            let request = self
                .transport
                .client
                .post(&url)
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(ACCEPT, "application/json")
                .body(body);
            (request, string_to_sign)
        };
        self.transport.call(who, &WIRE, attempt, parse).await
    }

    /// The error a failed call answers with (end-user safe), after logging the operator's detail.
    fn upstream_error(
        &self,
        action: Action,
        failed: &Failed,
        identity: Option<&Identity>,
        now: OffsetDateTime,
    ) -> UpstreamError {
        let f = &failed.failure;
        let operator_detail = self.operator_detail(failed, identity);
        tracing::warn!(
            provider = self.name,
            action = action.as_str(),
            code = f.code,
            detail = operator_detail,
            "aliyun upstream call failed"
        );
        UpstreamError {
            provider: self.name.clone(),
            status: f.kind.status(),
            code: f.code.clone(),
            message: redact(&f.message),
            request_id: f.request_id.clone(),
            hint: self.hint(action, failed, identity, now),
            string_to_sign: (f.code == "SignatureDoesNotMatch")
                .then(|| failed.string_to_sign.clone()),
            attempts: failed.attempts,
            operator_detail,
        }
    }

    /// What only the operator sees (log and audit row): the key's id and where it came from,
    /// the role, the endpoint, who GetCallerIdentity said the key is, the endpoint's message
    /// verbatim, the transport's detail and, for a signature mismatch, the string-to-sign sent.
    pub fn operator_detail(&self, failed: &Failed, identity: Option<&Identity>) -> String {
        let f = &failed.failure;
        format!(
            "key {} (id from {}, secret from {}), role {}, sts_endpoint {}, caller {}, upstream message {:?}, detail {:?}{}",
            self.key.id,
            self.key_source.id_origin(),
            self.key_source.secret_origin(),
            self.role_arn,
            self.sts_endpoint,
            identity.map_or("-".to_string(), |id| format!("{} ({}, account {})", id.arn, id.identity_type, id.account_id)),
            f.message,
            f.detail,
            match f.code == "SignatureDoesNotMatch" {
                true => format!(", string to sign sent {:?}", failed.string_to_sign),
                false => String::new(),
            }
        )
    }
}

/// The `RoleSessionName` for a caller: its `subject` if that is already 2-64 of
/// `[A-Za-z0-9.@_-]`; else the subject with every other character as `-`, cut to 55 characters,
/// plus `-` and 8 hex digits of SHA-256(`caller_id`), so two callers never share a changed name.
/// Alibaba's ActionTrail shows it.
pub fn session_name_for(caller_id: &str, subject: &str) -> String {
    upstream::session_name(caller_id, subject, ".@_-", 64)
}

// ---------------------------------------------------------------------------------------------
// Hints (pure)
// ---------------------------------------------------------------------------------------------

impl AliyunProvider {
    /// What to change, for a failed call (pure: `now` is a parameter, `identity` is what
    /// GetCallerIdentity said, if known).
    fn hint(
        &self,
        action: Action,
        failed: &Failed,
        identity: Option<&Identity>,
        now: OffsetDateTime,
    ) -> String {
        let f = &failed.failure;
        let n = failed.attempts;
        let attempts = attempts_text(n);
        match f.kind {
            Kind::Timeout => format!(
                "no answer from Alibaba Cloud STS within {} s ({attempts}): check sts_endpoint in [provider.{}] and the network, or raise timeout",
                self.transport.timeout.as_secs_f64(),
                self.name
            ),
            Kind::Unreachable => format!(
                "cannot reach Alibaba Cloud STS ({attempts}): check sts_endpoint in [provider.{}], DNS and the network",
                self.name
            ),
            Kind::Malformed => format!(
                "Alibaba Cloud STS answered {} with something that is not a valid STS answer: {}; is sts_endpoint in [provider.{}] an Alibaba Cloud STS endpoint?",
                action.as_str(),
                f.detail,
                self.name
            ),
            Kind::Throttled => format!(
                "STS throttled the requests {} time{} ({attempts}, retried with backoff); try again later or lower the rate",
                failed.throttled,
                if failed.throttled == 1 { "" } else { "s" }
            ),
            Kind::ServerError => format!(
                "STS answered HTTP {} ({}) on the last of {attempts} (retried with backoff); try again later{}",
                f.http_status.unwrap_or(0),
                f.code,
                f.request_id
                    .as_deref()
                    .map(|id| format!(", quoting RequestId {id} to Alibaba Cloud support if it lasts"))
                    .unwrap_or_default()
            ),
            Kind::Refused => self.refusal_hint(action, failed, identity, now),
        }
    }

    /// The hint for a refusal, by upstream code.
    fn refusal_hint(
        &self,
        action: Action,
        failed: &Failed,
        identity: Option<&Identity>,
        now: OffsetDateTime,
    ) -> String {
        let f = &failed.failure;
        let at = format!("[provider.{}]", self.name);
        match f.code.as_str() {
            "NoPermission" if action == Action::AssumeRole => self.no_permission_hint(identity),
            "EntityNotExist.Role" => format!(
                "the role in role_arn of {at} does not exist in the account: check role_arn (RAM console → Roles → the role → ARN)"
            ),
            "InvalidAccessKeyId.NotFound" => format!(
                "the AccessKeyId of {at} is unknown to STS: put an existing RAM user's AccessKey in {at}"
            ),
            "InvalidAccessKeyId.Inactive" => format!(
                "the AccessKeyId of {at} is disabled: enable it (RAM console → Users → the user → AccessKey) or put an active key in {at}"
            ),
            "SignatureDoesNotMatch" => {
                let mut hint = format!(
                    "the AccessKeySecret of {at} does not belong to its AccessKeyId: check where {at} reads the secret from"
                );
                let theirs = f
                    .message
                    .split_once("string to sign is:")
                    .map(|(_, s)| s.trim());
                if theirs.is_some_and(|s| !s.is_empty() && s != failed.string_to_sign) {
                    hint.push_str("; the endpoint also signed a different string than stsgate sent, so something on the way (a proxy?) changed the request");
                }
                hint
            }
            "InvalidTimeStamp.Expired" => format!(
                "this machine's clock is off by more than 15 minutes (local time {}{}): sync it (NTP)",
                crate::common::dates::iso8601(now),
                f.server_date
                    .as_deref()
                    .map(|d| format!(", STS's Date: {d}"))
                    .unwrap_or_default()
            ),
            "InvalidParameter.PolicySize" => format!(
                "the session policy rendered from the grant is larger than STS accepts ({MAX_POLICY_BYTES} bytes): narrow the grant (fewer actions, buckets or conditions)"
            ),
            "InvalidParameter.PolicyGrammar" => "STS refused the session policy rendered from the grant as invalid: check the grant's actions, resources and conditions".to_string(),
            "InvalidParameter.DurationSeconds" => format!(
                "STS refused the grant's duration: it must be 900 s up to the role's maximum session duration (RAM console → Roles → the role of {at} → Maximum session duration); lower the grant's duration or raise the role's maximum"
            ),
            "InvalidParameter.RoleArn" => format!("STS refused role_arn in {at} as malformed: copy the ARN from RAM console → Roles → the role"),
            "SignatureNonceUsed" => "STS saw this request's SignatureNonce before: something between stsgate and STS replays requests".to_string(),
            _ => format!(
                "STS refused {} with HTTP {} {}{}",
                action.as_str(),
                f.http_status.unwrap_or(0),
                f.code,
                match f.message.is_empty() {
                    true => String::new(),
                    false => format!(": {}", redact(&f.message)),
                }
            ),
        }
    }

    /// NoPermission: which of root key / missing sts:AssumeRole / untrusting role applies, as
    /// far as GetCallerIdentity tells.
    fn no_permission_hint(&self, identity: Option<&Identity>) -> String {
        let name = &self.name;
        let root = format!(
            "the key of [provider.{name}] is the main account's (root) key: STS refuses AssumeRole for it; create a RAM user, grant it AliyunSTSAssumeRoleAccess (sts:AssumeRole on the role) and put its key in [provider.{name}]"
        );
        match identity {
            Some(id) if id.identity_type == "Account" => root,
            Some(id) if id.identity_type == "RAMUser" => format!(
                "the RAM user of [provider.{name}] needs sts:AssumeRole on the role of role_arn (policy AliyunSTSAssumeRoleAccess), and the role's trust policy must trust the RAM user's account (choose a role for a trusted Alibaba Cloud account — a *user* role — not a service role)"
            ),
            _ => format!(
                "one of these applies (GetCallerIdentity did not tell which): (1) {root}; (2) the RAM user needs sts:AssumeRole on the role (policy AliyunSTSAssumeRoleAccess); (3) the role's trust policy must trust the RAM user's account (choose a role for a trusted Alibaba Cloud account — a *user* role — not a service role)"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::upstream::{
        classify, Failure, Sent, BACKOFF_BASE, BACKOFF_CAP, MAX_ANSWER_BYTES,
    };
    use axum::body::Body;
    use axum::extract::State;
    use axum::response::{IntoResponse, Response};
    use proptest::prelude::*;
    use serde_json::{json, Value};
    use sha2::{Digest, Sha256};
    use std::collections::VecDeque;
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;
    use std::time::Instant;
    use stsgate_signing::encode::decode_query;

    const KEY_ID: &str = "LTAI5tTestAccessKeyId";
    const SECRET: &str = "TestSecretKey123";
    const FUTURE: &str = "2099-01-01T00:00:00Z";

    // -- golden: the spec's V-RPC-3 AssumeRole POST vector ------------------------------------

    /// The vector's inputs, read from its `input.json`.
    fn v_rpc_3() -> (KeyPair, Vec<(String, String)>, OffsetDateTime, String) {
        let input: Value = serde_json::from_str(include_str!(
            "../../../signing/testdata/aliyun/pop_rpc/v-rpc-3-assume-role-post/input.json"
        ))
        .unwrap();
        assert_eq!(input["method"], "POST");
        let params: Vec<(String, String)> = input["params"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_str().unwrap().into(), p[1].as_str().unwrap().into()))
            .collect();
        let get = |name: &str| params.iter().find(|(k, _)| k == name).unwrap().1.clone();
        let key = KeyPair {
            id: get("AccessKeyId"),
            secret: Secret::new(input["secret"].as_str().unwrap()),
        };
        let now = parse_sts_time(&get("Timestamp")).unwrap();
        let nonce = get("SignatureNonce");
        // What stsgate adds itself must be exactly the vector's common parameters.
        let ours = [
            "AccessKeyId",
            "Action",
            "Format",
            "SignatureMethod",
            "SignatureNonce",
            "SignatureVersion",
            "Timestamp",
            "Version",
        ];
        let extra = params
            .into_iter()
            .filter(|(k, _)| !ours.contains(&k.as_str()))
            .collect();
        (key, extra, now, nonce)
    }

    #[test]
    fn v_rpc_3_golden_string_to_sign_signature_and_body() {
        let (key, extra, now, nonce) = v_rpc_3();
        let extra: Vec<(&str, &str)> = extra
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let names: Vec<&str> = extra.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            names,
            ["DurationSeconds", "Policy", "RoleArn", "RoleSessionName"]
        );
        let (body, string_to_sign) = signed_rpc_body(&key, "AssumeRole", &extra, now, &nonce);
        let golden_sts = include_str!(
            "../../../signing/testdata/aliyun/pop_rpc/v-rpc-3-assume-role-post/string_to_sign.txt"
        );
        let golden_sig = include_str!(
            "../../../signing/testdata/aliyun/pop_rpc/v-rpc-3-assume-role-post/signature.txt"
        );
        assert_eq!(string_to_sign.as_bytes(), golden_sts.as_bytes());
        assert_eq!(golden_sig, "DLrRhrGtkG9MH5ht9DiNjOGLeFw=");
        let decoded = decode_query(&body);
        let (last_name, signature) = decoded.last().unwrap();
        assert_eq!(last_name, "Signature");
        assert_eq!(signature.as_bytes(), golden_sig.as_bytes());
        let golden_body = include_str!("../../testdata/provider/aliyun-assume-role-v-rpc-3.form");
        assert_eq!(body.as_bytes(), golden_body.as_bytes());
        // What an STS server decodes from the body signs to the same string.
        assert_eq!(rpc_string_to_sign("POST", &decoded), string_to_sign);
    }

    #[test]
    fn body_encodes_every_value_strictly() {
        let key = KeyPair {
            id: "k".into(),
            secret: Secret::new("s"),
        };
        let now = parse_sts_time("2024-01-01T00:00:00Z").unwrap();
        let (body, sts) = signed_rpc_body(&key, "AssumeRole", &[("Policy", "a b+c=d&e")], now, "n");
        assert!(body.contains("Policy=a%20b%2Bc%3Dd%26e&"), "{body}");
        assert!(!body.contains('+'), "{body}");
        let decoded = decode_query(&body);
        assert!(decoded.contains(&("Policy".into(), "a b+c=d&e".into())));
        assert_eq!(rpc_string_to_sign("POST", &decoded), sts);
    }

    // -- configuration --------------------------------------------------------------------

    fn creds_file(dir: &Path, mode: u32, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("creds-{mode:o}-{n}.json"));
        std::fs::write(&path, body).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    fn good_file(dir: &Path) -> PathBuf {
        creds_file(
            dir,
            0o600,
            &json!({"AccessKeyId": KEY_ID, "AccessKeySecret": SECRET, "AccountId": "1", "OperatorKey": "x"}).to_string(),
        )
    }

    fn config(file: PathBuf) -> ProviderConfig {
        ProviderConfig {
            role_arn: Some("acs:ram::1234567890123456:role/oss-writer".into()),
            credentials_file: Some(file),
            ..ProviderConfig::default()
        }
    }

    fn refused(cfg: &ProviderConfig) -> String {
        format!(
            "{:#}",
            AliyunProvider::from_config("x", cfg, None, Default::default()).unwrap_err()
        )
    }

    #[test]
    fn from_config_defaults() {
        let tmp = tempfile::tempdir().unwrap();
        let file = good_file(tmp.path());
        let p = AliyunProvider::from_config("x", &config(file.clone()), None, Default::default())
            .unwrap();
        assert_eq!(p.name, "x");
        assert_eq!(p.region, "cn-hangzhou");
        assert_eq!(p.sts_endpoint, "https://sts.aliyuncs.com");
        assert_eq!(p.oss_endpoint, "https://oss-cn-hangzhou.aliyuncs.com");
        assert_eq!(p.transport.timeout, Duration::from_secs(5));
        assert_eq!(p.transport.retries, 3);
        assert_eq!(p.key.id, KEY_ID);
        assert_eq!(p.key.secret.expose(), SECRET);
        assert_eq!(
            p.key_source(),
            &KeySource::File {
                path: file,
                id_field: "AccessKeyId",
                secret_field: "AccessKeySecret"
            }
        );
        assert!(p.custom_signing_key.is_none());
        assert_eq!(p.role_account(), "1234567890123456");
        assert!(!format!("{p:?}").contains(SECRET));
        let p = AliyunProvider::from_config(
            "x",
            &config(good_file(tmp.path())),
            Some("cn-beijing"),
            Default::default(),
        )
        .unwrap();
        assert_eq!(p.region, "cn-beijing");
        assert_eq!(p.oss_endpoint, "https://oss-cn-beijing.aliyuncs.com");
    }

    #[test]
    fn from_config_endpoints_timeout_retries_and_env_keys() {
        let cfg = ProviderConfig {
            kind: Some("aliyun".into()),
            role_arn: Some("acs:ram::1:role/app".into()),
            region: Some("cn-shanghai".into()),
            // Variables cargo sets for every test process.
            access_key_id_env: Some("CARGO_PKG_NAME".into()),
            access_key_secret_env: Some("CARGO_MANIFEST_DIR".into()),
            sts_endpoint: Some("http://127.0.0.1:8701/".into()),
            oss_endpoint: Some("http://localhost:8702//".into()),
            timeout: Some(0.5),
            retries: Some(0),
            browser_origins: Some(vec![
                "https://app.example.com".into(),
                "http://localhost:3000".into(),
            ]),
            custom_signing_key_id_env: Some("CARGO_PKG_NAME".into()),
            custom_signing_key_secret_env: Some("CARGO_PKG_NAME".into()),
            ..ProviderConfig::default()
        };
        let p =
            AliyunProvider::from_config("x", &cfg, Some("cn-beijing"), Default::default()).unwrap();
        assert_eq!(p.region, "cn-shanghai");
        assert_eq!(p.sts_endpoint, "http://127.0.0.1:8701");
        assert_eq!(p.oss_endpoint, "http://localhost:8702");
        assert_eq!(p.transport.timeout, Duration::from_millis(500));
        assert_eq!(p.transport.retries, 0);
        assert_eq!(p.key.id, "stsgate");
        assert_eq!(p.custom_signing_key.as_ref().unwrap().id, "stsgate");
        assert_eq!(
            p.key_source().to_string(),
            "environment variables CARGO_PKG_NAME and CARGO_MANIFEST_DIR"
        );
        assert!(p.custom_signing_key_source().is_some());
    }

    #[test]
    fn from_config_errors_name_the_provider_and_the_key() {
        let tmp = tempfile::tempdir().unwrap();
        let file = good_file(tmp.path());
        let base = config(file.clone());
        let unset = "STSGATE_TEST_SURELY_UNSET_9F3A";
        let cases: Vec<(ProviderConfig, &[&str])> = vec![
            (
                ProviderConfig {
                    kind: Some("aws".into()),
                    ..base.clone()
                },
                &["type", "aliyun"],
            ),
            (
                ProviderConfig {
                    role_arn: None,
                    ..base.clone()
                },
                &["role_arn is missing"],
            ),
            (
                ProviderConfig {
                    role_arn: Some("acs:ram::1:user/app".into()),
                    ..base.clone()
                },
                &["role_arn", "acs:ram::<account>:role/<name>"],
            ),
            (
                ProviderConfig {
                    role_arn: Some("acs:ram:::role/app".into()),
                    ..base.clone()
                },
                &["role_arn"],
            ),
            (
                ProviderConfig {
                    region: Some("CN hangzhou".into()),
                    ..base.clone()
                },
                &["region"],
            ),
            (
                ProviderConfig {
                    credentials_file: None,
                    ..base.clone()
                },
                &["has no key", "credentials_file"],
            ),
            (
                ProviderConfig {
                    access_key_id_env: Some("A".into()),
                    access_key_secret_env: Some("B".into()),
                    ..base.clone()
                },
                &["both", "credentials_file"],
            ),
            (
                ProviderConfig {
                    credentials_file: None,
                    access_key_id_env: Some("CARGO_PKG_NAME".into()),
                    ..base.clone()
                },
                &["access_key_id_env and access_key_secret_env go together"],
            ),
            (
                ProviderConfig {
                    credentials_file: None,
                    access_key_id_env: Some(unset.into()),
                    access_key_secret_env: Some("CARGO_PKG_NAME".into()),
                    ..base.clone()
                },
                &[
                    "access_key_id_env",
                    "STSGATE_TEST_SURELY_UNSET_9F3A",
                    "not set",
                ],
            ),
            (
                ProviderConfig {
                    credentials_file: Some(tmp.path().join("absent.json")),
                    ..base.clone()
                },
                &["credentials_file", "absent.json"],
            ),
            (
                ProviderConfig {
                    credentials_file: Some(creds_file(tmp.path(), 0o644, "{}")),
                    ..base.clone()
                },
                &["credentials_file", "chmod 600"],
            ),
            (
                ProviderConfig {
                    credentials_file: Some(creds_file(tmp.path(), 0o600, "[1, \"x\"]")),
                    ..base.clone()
                },
                &["credentials_file", "not a JSON object"],
            ),
            (
                ProviderConfig {
                    credentials_file: Some(creds_file(
                        tmp.path(),
                        0o400,
                        "{\"AccessKeyId\": \"a\", \"AccessKeySecret\": \"\"}",
                    )),
                    ..base.clone()
                },
                &["credentials_file", "non-empty"],
            ),
            (
                ProviderConfig {
                    sts_endpoint: Some("ftp://sts".into()),
                    ..base.clone()
                },
                &["sts_endpoint", "http://"],
            ),
            (
                ProviderConfig {
                    sts_endpoint: Some("sts.aliyuncs.com".into()),
                    ..base.clone()
                },
                &["sts_endpoint", "not a URL"],
            ),
            (
                ProviderConfig {
                    oss_endpoint: Some("https://u:p@oss".into()),
                    ..base.clone()
                },
                &["oss_endpoint", "password"],
            ),
            (
                ProviderConfig {
                    oss_endpoint: Some("https://oss/?a=b".into()),
                    ..base.clone()
                },
                &["oss_endpoint", "query"],
            ),
            (
                ProviderConfig {
                    timeout: Some(0.0),
                    ..base.clone()
                },
                &["timeout"],
            ),
            (
                ProviderConfig {
                    timeout: Some(121.0),
                    ..base.clone()
                },
                &["timeout"],
            ),
            (
                ProviderConfig {
                    timeout: Some(f64::NAN),
                    ..base.clone()
                },
                &["timeout"],
            ),
            (
                ProviderConfig {
                    retries: Some(11),
                    ..base.clone()
                },
                &["retries"],
            ),
            (
                ProviderConfig {
                    browser_origins: Some(vec!["https://app.example.com/".into()]),
                    ..base.clone()
                },
                &["browser_origins"],
            ),
            (
                ProviderConfig {
                    custom_signing_key_secret_env: Some("CARGO_PKG_NAME".into()),
                    ..base.clone()
                },
                &["custom_signing_key_id_env and custom_signing_key_secret_env"],
            ),
            (
                ProviderConfig {
                    custom_signing_credentials_file: Some(creds_file(tmp.path(), 0o640, "{}")),
                    ..base.clone()
                },
                &["custom_signing_credentials_file", "chmod 600"],
            ),
        ];
        for (cfg, needles) in cases {
            let err = refused(&cfg);
            assert!(err.starts_with("[provider.x]"), "{err}");
            for needle in needles {
                assert!(err.contains(needle), "{needle:?} not in {err}");
            }
            assert!(!err.contains(SECRET), "{err}");
        }
        // A key file whose secret is not a string does not echo it.
        let leaky = creds_file(
            tmp.path(),
            0o600,
            "{\"AccessKeyId\": \"a\", \"AccessKeySecret\": 987654321}",
        );
        let err = refused(&ProviderConfig {
            credentials_file: Some(leaky),
            ..base.clone()
        });
        assert!(!err.contains("987654321"), "{err}");
    }

    #[test]
    fn role_arns() {
        for good in [
            "acs:ram::1234567890123456:role/oss-writer",
            "acs:ram::1:role/a.b-c",
            "acs:ram::my-alias:role/x",
        ] {
            assert!(valid_role_arn(good), "{good}");
        }
        for bad in [
            "",
            "acs:ram::1:role/",
            "acs:ram::1:user/x",
            "acs:ram::1:role/a/b",
            "acs:ram:::role/x",
            "acs:ram::1 2:role/x",
            "arn:aws:iam::1:role/x",
        ] {
            assert!(!valid_role_arn(bad), "{bad}");
        }
    }

    #[test]
    fn sts_times_are_strict() {
        let t = parse_sts_time("2024-01-01T00:00:00Z").unwrap();
        assert_eq!(t.unix_timestamp(), 1_704_067_200);
        for bad in [
            "2024-01-01T00:00:00.5Z",
            "2024-01-01T00:00:00+00:00",
            "2024-01-01 00:00:00Z",
            "2024-13-01T00:00:00Z",
            "+024-01-01T00:00:00Z",
            "",
            "2024-01-01T00:00:00z",
        ] {
            assert!(parse_sts_time(bad).is_none(), "{bad}");
        }
    }

    // -- a tiny STS on loopback -----------------------------------------------------------

    #[derive(Debug, Clone)]
    enum Reply {
        Json(u16, Value),
        Raw(u16, Vec<u8>),
        /// 200 with a chunked body of this many bytes (no Content-Length).
        Streamed(usize),
        Stall,
    }

    #[derive(Debug)]
    struct Fake {
        script: Mutex<VecDeque<Reply>>,
        fallback: Reply,
        identity: Reply,
        /// Every correctly signed request's decoded parameters.
        seen: Mutex<Vec<Vec<(String, String)>>>,
    }

    impl Fake {
        fn seen(&self, action: &str) -> Vec<Vec<(String, String)>> {
            let seen = self.seen.lock().unwrap();
            seen.iter()
                .filter(|p| param(p, "Action") == action)
                .cloned()
                .collect()
        }
    }

    fn param(params: &[(String, String)], name: &str) -> String {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    async fn handle(
        State(fake): State<Arc<Fake>>,
        headers: http::HeaderMap,
        body: String,
    ) -> Response {
        let content_type = headers.get("content-type").and_then(|v| v.to_str().ok());
        assert_eq!(content_type, Some("application/x-www-form-urlencoded"));
        let params = decode_query(&body);
        let sts = rpc_string_to_sign("POST", &params);
        if rpc_sign(SECRET, &sts) != param(&params, "Signature") {
            return render(Reply::Json(400, json!({"Code": "SignatureDoesNotMatch", "Message": format!("server string to sign is:{sts}")}))).await;
        }
        let reply = match param(&params, "Action").as_str() {
            "GetCallerIdentity" => fake.identity.clone(),
            _ => {
                let next = fake.script.lock().unwrap().pop_front();
                next.unwrap_or_else(|| fake.fallback.clone())
            }
        };
        fake.seen.lock().unwrap().push(params);
        render(reply).await
    }

    async fn render(reply: Reply) -> Response {
        let status = |s: u16| http::StatusCode::from_u16(s).unwrap();
        match reply {
            Reply::Json(s, v) => (
                status(s),
                [("content-type", "application/json")],
                v.to_string(),
            )
                .into_response(),
            Reply::Raw(s, bytes) => (status(s), bytes).into_response(),
            Reply::Streamed(n) => {
                let chunks = (0..n.div_ceil(4096))
                    .map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b' '; 4096])));
                Body::from_stream(futures::stream::iter(chunks)).into_response()
            }
            Reply::Stall => {
                tokio::time::sleep(Duration::from_secs(30)).await;
                http::StatusCode::OK.into_response()
            }
        }
    }

    /// A fake STS answering AssumeRole from `script`, then `fallback`; GetCallerIdentity with
    /// `identity`. Returns its endpoint.
    async fn spawn(script: Vec<Reply>, fallback: Reply, identity: Reply) -> (String, Arc<Fake>) {
        let fake = Arc::new(Fake {
            script: Mutex::new(script.into()),
            fallback,
            identity,
            seen: Mutex::new(Vec::new()),
        });
        let app = axum::Router::new()
            .route("/", axum::routing::post(handle))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (endpoint, fake)
    }

    fn provider_at(endpoint: &str, timeout: f64, retries: u32) -> AliyunProvider {
        provider_with(endpoint, timeout, retries, Default::default())
    }

    fn provider_with(
        endpoint: &str,
        timeout: f64,
        retries: u32,
        metrics: Arc<UpstreamMetrics>,
    ) -> AliyunProvider {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = ProviderConfig {
            sts_endpoint: Some(endpoint.to_string()),
            timeout: Some(timeout),
            retries: Some(retries),
            ..config(good_file(tmp.path()))
        };
        let mut p = AliyunProvider::from_config("x", &cfg, None, metrics).unwrap();
        p.transport.backoff_base = Duration::from_millis(5);
        p
    }

    fn assumed_json(expiration: &str) -> Value {
        json!({
            "RequestId": "req-ok",
            "AssumedRoleUser": {"AssumedRoleId": "300:alice", "Arn": "acs:ram::1234567890123456:role/oss-writer/alice"},
            "Credentials": {"AccessKeyId": "STS.abc", "AccessKeySecret": "tmp-secret", "SecurityToken": "CAIS+/=", "Expiration": expiration},
        })
    }

    fn pop_error_json(code: &str) -> Value {
        json!({"RequestId": "req-err", "HostId": "sts.aliyuncs.com", "Code": code, "Message": format!("message of {code}")})
    }

    fn identity_json(kind: &str) -> Value {
        let arn = match kind {
            "Account" => "acs:ram::1234567890123456:root".to_string(),
            _ => "acs:ram::1234567890123456:user/deployer".to_string(),
        };
        json!({"RequestId": "req-id", "IdentityType": kind, "AccountId": "1234567890123456", "Arn": arn, "UserId": "u"})
    }

    const INPUT: AssumeRoleInput<'static> = AssumeRoleInput {
        session_name: "alice@example.com",
        policy: Some("{\"Version\":\"1\",\"Statement\":[]}"),
        duration_seconds: 3600,
    };

    #[tokio::test]
    async fn assume_role_success_is_fully_parsed() {
        let (endpoint, fake) = spawn(
            vec![],
            Reply::Json(200, assumed_json(FUTURE)),
            Reply::Json(200, identity_json("RAMUser")),
        )
        .await;
        let p = provider_at(&endpoint, 2.0, 3);
        let a = p.assume_role(&INPUT).await.unwrap();
        assert_eq!(a.minted.access_key_id, "STS.abc");
        assert_eq!(a.minted.access_key_secret.expose(), "tmp-secret");
        assert_eq!(a.minted.security_token, "CAIS+/=");
        assert_eq!(a.minted.expiration, parse_sts_time(FUTURE).unwrap());
        assert_eq!(a.request_id, "req-ok");
        assert_eq!(a.assumed_role_id, "300:alice");
        assert_eq!(a.arn, "acs:ram::1234567890123456:role/oss-writer/alice");
        assert_eq!(p.upstream_assume_role_calls(), 1);
        assert_eq!(p.upstream_calls(), 1);
        let sent = fake.seen("AssumeRole");
        assert_eq!(sent.len(), 1);
        let sent = &sent[0];
        for (name, value) in [
            ("RoleArn", "acs:ram::1234567890123456:role/oss-writer"),
            ("RoleSessionName", "alice@example.com"),
            ("Policy", "{\"Version\":\"1\",\"Statement\":[]}"),
            ("DurationSeconds", "3600"),
            ("Format", "JSON"),
            ("Version", "2015-04-01"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureVersion", "1.0"),
            ("AccessKeyId", KEY_ID),
        ] {
            assert_eq!(param(sent, name), value, "{name}");
        }
        assert!(parse_sts_time(&param(sent, "Timestamp")).is_some());
        assert!(uuid::Uuid::parse_str(&param(sent, "SignatureNonce")).is_ok());
        assert!(param(sent, "RegionId").is_empty() && param(sent, "SignatureType").is_empty());

        let id = p.caller_identity().await.unwrap();
        assert_eq!(
            id,
            Identity {
                identity_type: "RAMUser".into(),
                account_id: "1234567890123456".into(),
                arn: "acs:ram::1234567890123456:user/deployer".into(),
                request_id: "req-id".into(),
            }
        );
        let metrics = p.metrics.render();
        assert!(metrics.contains("stsgate_upstream_requests_total{provider=\"x\",action=\"AssumeRole\",outcome=\"ok\"} 1"), "{metrics}");
        assert!(
            metrics.contains(
                "stsgate_upstream_seconds_count{provider=\"x\",action=\"GetCallerIdentity\"} 1"
            ),
            "{metrics}"
        );
        assert!(
            metrics.contains("# TYPE stsgate_upstream_seconds histogram"),
            "{metrics}"
        );
    }

    /// One AssumeRole against a fake that always answers `reply` (identity: `identity`).
    async fn fails_with(reply: Reply, identity: Reply, retries: u32) -> (UpstreamError, Arc<Fake>) {
        let (endpoint, fake) = spawn(vec![], reply, identity).await;
        let p = provider_at(&endpoint, 2.0, retries);
        let err = p.assume_role(&INPUT).await.unwrap_err();
        assert_eq!(p.upstream_assume_role_calls(), u64::from(err.attempts));
        assert_eq!(fake.seen("AssumeRole").len(), err.attempts as usize);
        (err, fake)
    }

    #[tokio::test]
    async fn each_error_code_gives_its_status_and_hint() {
        let ram_user = Reply::Json(200, identity_json("RAMUser"));
        /// (AssumeRole answer, GetCallerIdentity answer, status, code, attempts, hint parts)
        type Case = (
            Reply,
            Reply,
            u16,
            &'static str,
            u32,
            &'static [&'static str],
        );
        let cases: Vec<Case> = vec![
            (
                Reply::Json(403, pop_error_json("NoPermission")),
                Reply::Json(200, identity_json("Account")),
                502,
                "NoPermission",
                1,
                &[
                    "main account's (root) key",
                    "AliyunSTSAssumeRoleAccess",
                    "[provider.x]",
                ],
            ),
            (
                Reply::Json(403, pop_error_json("NoPermission")),
                ram_user.clone(),
                502,
                "NoPermission",
                1,
                &[
                    "RAM user of [provider.x] needs sts:AssumeRole on the role",
                    "trust the RAM user's account",
                    "not a service role",
                ],
            ),
            (
                Reply::Json(403, pop_error_json("NoPermission")),
                Reply::Json(403, pop_error_json("NoPermission")),
                502,
                "NoPermission",
                1,
                &["(1)", "(2)", "(3)", "root", "user* role"],
            ),
            (
                Reply::Json(404, pop_error_json("EntityNotExist.Role")),
                ram_user.clone(),
                502,
                "EntityNotExist.Role",
                1,
                &[
                    "the role in role_arn of [provider.x] does not exist",
                    "role_arn",
                ],
            ),
            (
                Reply::Json(404, pop_error_json("InvalidAccessKeyId.NotFound")),
                ram_user.clone(),
                502,
                "InvalidAccessKeyId.NotFound",
                1,
                &["AccessKeyId of [provider.x]", "unknown"],
            ),
            (
                Reply::Json(400, pop_error_json("InvalidAccessKeyId.Inactive")),
                ram_user.clone(),
                502,
                "InvalidAccessKeyId.Inactive",
                1,
                &["AccessKeyId of [provider.x]", "disabled"],
            ),
            (
                Reply::Json(400, pop_error_json("SignatureDoesNotMatch")),
                ram_user.clone(),
                502,
                "SignatureDoesNotMatch",
                1,
                &[
                    "AccessKeySecret of [provider.x] does not belong to its AccessKeyId",
                    "reads the secret from",
                ],
            ),
            (
                Reply::Json(400, pop_error_json("InvalidTimeStamp.Expired")),
                ram_user.clone(),
                502,
                "InvalidTimeStamp.Expired",
                1,
                &[
                    "clock is off by more than 15 minutes",
                    "local time",
                    "NTP",
                    "Date:",
                ],
            ),
            (
                Reply::Json(400, pop_error_json("InvalidParameter.PolicySize")),
                ram_user.clone(),
                502,
                "InvalidParameter.PolicySize",
                1,
                &["policy rendered from the grant", "2048"],
            ),
            (
                Reply::Json(400, pop_error_json("InvalidParameter.PolicyGrammar")),
                ram_user.clone(),
                502,
                "InvalidParameter.PolicyGrammar",
                1,
                &["policy rendered from the grant", "invalid"],
            ),
            (
                Reply::Json(400, pop_error_json("Throttling.User")),
                ram_user.clone(),
                503,
                "Throttling.User",
                3,
                &[
                    "throttled the requests 3 times",
                    "3 attempts",
                    "try again later",
                ],
            ),
            (
                Reply::Json(429, pop_error_json("Throttling.Api")),
                ram_user.clone(),
                503,
                "Throttling.Api",
                3,
                &["throttled"],
            ),
            (
                Reply::Json(500, pop_error_json("InternalError")),
                ram_user.clone(),
                503,
                "InternalError",
                3,
                &["HTTP 500", "InternalError", "req-err"],
            ),
            (
                Reply::Raw(502, b"<html>bad gateway</html>".to_vec()),
                ram_user.clone(),
                503,
                "HttpStatus502",
                3,
                &["HTTP 502"],
            ),
            (
                Reply::Raw(418, b"teapot".to_vec()),
                ram_user.clone(),
                502,
                "HttpStatus418",
                1,
                &["HTTP 418"],
            ),
            (
                Reply::Json(400, pop_error_json("InvalidVersion")),
                ram_user,
                502,
                "InvalidVersion",
                1,
                &["HTTP 400 InvalidVersion", "message of InvalidVersion"],
            ),
        ];
        for (reply, identity, status, code, attempts, needles) in cases {
            let (err, _) = fails_with(reply, identity, 2).await;
            assert_eq!(
                (err.status, err.code.as_str(), err.attempts),
                (status, code, attempts),
                "{err:?}"
            );
            assert_eq!(err.provider, "x");
            for needle in needles {
                assert!(
                    err.hint.contains(needle),
                    "{code}: {needle:?} not in {}",
                    err.hint
                );
            }
            assert_eq!(
                err.string_to_sign.is_some(),
                code == "SignatureDoesNotMatch",
                "{code}"
            );
            // The hint reaches callers: no key id, account, role ARN, endpoint or path in it;
            // the operator's detail has them.
            for secret in [
                KEY_ID,
                "1234567890123456",
                "acs:ram",
                "creds-600-",
                "127.0.0.1",
            ] {
                assert!(
                    !err.hint.contains(secret),
                    "{code}: {secret} in {}",
                    err.hint
                );
            }
            assert!(
                err.operator_detail.contains(KEY_ID),
                "{}",
                err.operator_detail
            );
            assert!(
                err.operator_detail.contains("creds-600-"),
                "{}",
                err.operator_detail
            );
            if status == 502 && code.contains('.') || code == "NoPermission" {
                assert_eq!(err.request_id.as_deref(), Some("req-err"));
                assert!(err.operator_detail.contains(&format!("message of {code}")));
            }
        }
    }

    #[tokio::test]
    async fn signature_mismatch_keeps_our_string_to_sign() {
        let (endpoint, fake) = spawn(
            vec![],
            Reply::Json(200, assumed_json(FUTURE)),
            Reply::Json(200, identity_json("RAMUser")),
        )
        .await;
        let mut p = provider_at(&endpoint, 2.0, 3);
        p.key.secret = Secret::new("wrong-secret");
        let err = p.assume_role(&INPUT).await.unwrap_err();
        assert_eq!(
            (err.status, err.code.as_str(), err.attempts),
            (502, "SignatureDoesNotMatch", 1)
        );
        let ours = err.string_to_sign.unwrap();
        assert!(
            ours.starts_with("POST&%2F&AccessKeyId%3DLTAI5tTestAccessKeyId%26Action%3DAssumeRole"),
            "{ours}"
        );
        // The fake computed the same string: no "changed on the way" note. Both strings are
        // the operator's; callers see the message without them.
        assert!(
            err.operator_detail.contains(&ours),
            "{}",
            err.operator_detail
        );
        assert!(!err.message.contains("POST&"), "{}", err.message);
        assert!(!err.hint.contains("proxy"), "{}", err.hint);
        assert!(fake.seen("AssumeRole").is_empty());
    }

    #[tokio::test]
    async fn no_permission_asks_caller_identity_once() {
        let (endpoint, fake) = spawn(
            vec![],
            Reply::Json(403, pop_error_json("NoPermission")),
            Reply::Json(200, identity_json("Account")),
        )
        .await;
        let p = provider_at(&endpoint, 2.0, 3);
        for _ in 0..3 {
            let err = p.assume_role(&INPUT).await.unwrap_err();
            assert!(err.hint.contains("root"), "{}", err.hint);
        }
        assert_eq!(fake.seen("GetCallerIdentity").len(), 1);
        assert_eq!(p.upstream_assume_role_calls(), 3);
        assert_eq!(p.upstream_calls(), 4);
    }

    #[tokio::test]
    async fn throttled_twice_then_answered() {
        let script = vec![
            Reply::Json(400, pop_error_json("Throttling.User")),
            Reply::Json(503, pop_error_json("ServiceUnavailable")),
            Reply::Json(429, pop_error_json("Throttling.Api")),
        ];
        let (endpoint, fake) = spawn(
            script,
            Reply::Json(200, assumed_json(FUTURE)),
            Reply::Json(200, identity_json("RAMUser")),
        )
        .await;
        let p = provider_at(&endpoint, 2.0, 3);
        let a = p.assume_role(&INPUT).await.unwrap();
        assert_eq!(a.minted.access_key_id, "STS.abc");
        assert_eq!(p.upstream_assume_role_calls(), 4);
        let sent = fake.seen("AssumeRole");
        let mut nonces: Vec<String> = sent.iter().map(|p| param(p, "SignatureNonce")).collect();
        nonces.sort();
        nonces.dedup();
        assert_eq!(nonces.len(), 4, "a fresh nonce per attempt");
        let metrics = p.metrics.render();
        assert!(metrics.contains("outcome=\"throttled\"} 2"), "{metrics}");
        assert!(metrics.contains("outcome=\"server_error\"} 1"), "{metrics}");
    }

    #[tokio::test]
    async fn refusals_are_sent_once() {
        let (err, fake) = fails_with(
            Reply::Json(403, pop_error_json("NoPermission")),
            Reply::Json(200, identity_json("RAMUser")),
            5,
        )
        .await;
        assert_eq!(err.attempts, 1);
        assert_eq!(fake.seen("AssumeRole").len(), 1);
    }

    #[tokio::test]
    async fn a_stalled_endpoint_times_out_with_503() {
        let (endpoint, _fake) = spawn(vec![], Reply::Stall, Reply::Stall).await;
        let p = provider_at(&endpoint, 0.3, 1);
        let started = Instant::now();
        let err = p.assume_role(&INPUT).await.unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(
            (err.status, err.code.as_str(), err.attempts),
            (503, "Timeout", 2)
        );
        assert!(
            err.hint
                .contains("no answer from Alibaba Cloud STS within 0.3 s (2 attempts)"),
            "{}",
            err.hint
        );
        assert!(
            err.operator_detail.contains(&endpoint),
            "{}",
            err.operator_detail
        );
    }

    #[tokio::test]
    async fn an_unreachable_endpoint_is_a_503() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let endpoint = format!("http://127.0.0.1:{port}");
        let p = provider_at(&endpoint, 1.0, 2);
        let err = p.caller_identity().await.unwrap_err();
        assert_eq!(
            (err.status, err.code.as_str(), err.attempts),
            (503, "Unreachable", 3)
        );
        assert!(
            err.hint.contains("cannot reach Alibaba Cloud STS"),
            "{}",
            err.hint
        );
        assert!(
            err.operator_detail.contains(&endpoint),
            "{}",
            err.operator_detail
        );
        assert_eq!(p.upstream_calls(), 3);
        assert_eq!(p.upstream_assume_role_calls(), 0);
    }

    #[tokio::test]
    async fn malformed_answers_never_give_credentials() {
        let mut missing_token = assumed_json(FUTURE);
        missing_token["Credentials"]
            .as_object_mut()
            .unwrap()
            .remove("SecurityToken");
        let mut empty_secret = assumed_json(FUTURE);
        empty_secret["Credentials"]["AccessKeySecret"] = json!("");
        let mut numeric_id = assumed_json(FUTURE);
        numeric_id["Credentials"]["AccessKeyId"] = json!(12345);
        let cases: Vec<(Reply, &str)> = vec![
            (Reply::Raw(200, b"{not json".to_vec()), "not JSON"),
            (
                Reply::Raw(200, b"<AssumeRoleResponse/>".to_vec()),
                "not JSON",
            ),
            (
                Reply::Json(200, json!({"RequestId": "r"})),
                "Credentials.AccessKeyId is missing",
            ),
            (
                Reply::Json(200, missing_token),
                "Credentials.SecurityToken is missing",
            ),
            (
                Reply::Json(200, empty_secret),
                "Credentials.AccessKeySecret is missing or empty",
            ),
            (Reply::Json(200, numeric_id), "Credentials.AccessKeyId"),
            (
                Reply::Json(200, assumed_json("2099-01-01T00:00:00.123Z")),
                "not of the form YYYY-MM-DDThh:mm:ssZ",
            ),
            (
                Reply::Json(200, assumed_json("2099-01-01 00:00:00")),
                "not of the form",
            ),
            (
                Reply::Json(200, assumed_json("2020-01-01T00:00:00Z")),
                "not in the future",
            ),
            (
                Reply::Raw(200, vec![b' '; MAX_ANSWER_BYTES + 1]),
                "longer than 64 KiB",
            ),
            (
                Reply::Streamed(MAX_ANSWER_BYTES + 4096),
                "longer than 64 KiB",
            ),
        ];
        for (reply, needle) in cases {
            let (err, _) = fails_with(reply, Reply::Json(200, identity_json("RAMUser")), 3).await;
            assert_eq!(
                (err.status, err.code.as_str(), err.attempts),
                (502, "MalformedResponse", 1),
                "{needle}"
            );
            assert!(err.hint.contains(needle), "{needle:?} not in {}", err.hint);
            assert!(!err.hint.contains("tmp-secret"), "{}", err.hint);
        }
        // A full 64 KiB answer is still read (and then judged on its content).
        let mut padded = assumed_json(FUTURE);
        let room = MAX_ANSWER_BYTES - padded.to_string().len() - "\"Pad\":\"\",".len();
        padded["Pad"] = json!(" ".repeat(room));
        assert_eq!(padded.to_string().len(), MAX_ANSWER_BYTES);
        let (endpoint, _fake) = spawn(vec![], Reply::Json(200, padded), Reply::Stall).await;
        assert!(provider_at(&endpoint, 2.0, 0)
            .assume_role(&INPUT)
            .await
            .is_ok());
    }

    #[tokio::test]
    async fn caller_identity_is_parsed_strictly() {
        let (endpoint, _fake) = spawn(
            vec![],
            Reply::Stall,
            Reply::Json(200, json!({"IdentityType": "RAMUser", "Arn": "a"})),
        )
        .await;
        let err = provider_at(&endpoint, 2.0, 3)
            .caller_identity()
            .await
            .unwrap_err();
        assert_eq!((err.status, err.code.as_str()), (502, "MalformedResponse"));
        assert!(err.hint.contains("AccountId is missing"), "{}", err.hint);
    }

    #[tokio::test]
    async fn bad_input_is_refused_without_a_call() {
        let (endpoint, fake) =
            spawn(vec![], Reply::Json(200, assumed_json(FUTURE)), Reply::Stall).await;
        let p = provider_at(&endpoint, 2.0, 3);
        let big = "x".repeat(MAX_POLICY_BYTES + 1);
        let cases = [
            (
                AssumeRoleInput {
                    session_name: "a b",
                    ..INPUT
                },
                "InvalidParameter.RoleSessionName",
            ),
            (
                AssumeRoleInput {
                    policy: Some(&big),
                    ..INPUT
                },
                "InvalidParameter.PolicySize",
            ),
            (
                AssumeRoleInput {
                    duration_seconds: 899,
                    ..INPUT
                },
                "InvalidParameter.DurationSeconds",
            ),
        ];
        for (input, code) in cases {
            let err = p.assume_role(&input).await.unwrap_err();
            assert_eq!((err.code.as_str(), err.attempts), (code, 0));
            assert!(err.hint.starts_with("not sent"), "{}", err.hint);
        }
        assert!(fake.seen("AssumeRole").is_empty());
        assert_eq!(p.upstream_calls(), 0);
    }

    #[test]
    fn hints_take_time_as_a_parameter() {
        let tmp = tempfile::tempdir().unwrap();
        let p = AliyunProvider::from_config(
            "x",
            &config(good_file(tmp.path())),
            None,
            Default::default(),
        )
        .unwrap();
        let failed = Failed {
            failure: Failure {
                kind: Kind::Refused,
                http_status: Some(400),
                code: "InvalidTimeStamp.Expired".into(),
                message: String::new(),
                request_id: None,
                server_date: Some("Mon, 01 Jan 2024 00:20:00 GMT".into()),
                detail: String::new(),
            },
            attempts: 1,
            throttled: 0,
            string_to_sign: String::new(),
        };
        let now = parse_sts_time("2024-01-01T00:00:00Z").unwrap();
        let err = p.upstream_error(Action::AssumeRole, &failed, None, now);
        assert_eq!(
            err.hint,
            "this machine's clock is off by more than 15 minutes (local time 2024-01-01T00:00:00Z, STS's Date: Mon, 01 Jan 2024 00:20:00 GMT): sync it (NTP)"
        );
        assert_eq!(err.status, 502);
    }

    #[test]
    fn classify_retries_only_what_is_retryable() {
        let now = parse_sts_time("2024-01-01T00:00:00Z").unwrap();
        let kind = |sent: Sent| match classify(sent, &WIRE, parse_identity, now) {
            Ok(_) => None,
            Err(f) => Some((f.kind.retryable(), f.kind.status(), f.code)),
        };
        let answer = |status: u16, v: Value| Sent::Answer {
            status,
            body: v.to_string().into_bytes(),
            date: None,
        };
        assert_eq!(
            kind(answer(400, pop_error_json("Throttling"))),
            Some((true, 503, "Throttling".into()))
        );
        assert_eq!(
            kind(answer(403, pop_error_json("Throttling.User"))),
            Some((true, 503, "Throttling.User".into()))
        );
        assert_eq!(
            kind(answer(503, json!({}))),
            Some((true, 503, "HttpStatus503".into()))
        );
        assert_eq!(
            kind(answer(400, pop_error_json("Throttled"))),
            Some((false, 502, "Throttled".into()))
        );
        assert_eq!(
            kind(answer(404, pop_error_json("EntityNotExist.Role"))),
            Some((false, 502, "EntityNotExist.Role".into()))
        );
        assert_eq!(
            kind(answer(301, json!({}))),
            Some((false, 502, "HttpStatus301".into()))
        );
        assert_eq!(
            kind(Sent::TooLarge { status: 500 }),
            Some((true, 503, "HttpStatus500".into()))
        );
        assert_eq!(
            kind(Sent::TooLarge { status: 200 }),
            Some((false, 502, "MalformedResponse".into()))
        );
        assert_eq!(kind(Sent::Timeout), Some((true, 503, "Timeout".into())));
        assert_eq!(
            kind(Sent::Unreachable("refused".into())),
            Some((true, 503, "Unreachable".into()))
        );
        assert_eq!(kind(answer(200, identity_json("Account"))), None);
    }

    #[test]
    fn backoff_is_full_jitter_capped() {
        let tmp = tempfile::tempdir().unwrap();
        let p = AliyunProvider::from_config(
            "x",
            &config(good_file(tmp.path())),
            None,
            Default::default(),
        )
        .unwrap();
        for retry in 0..12 {
            let ceiling = (BACKOFF_BASE * (1 << retry.min(16))).min(BACKOFF_CAP);
            for _ in 0..50 {
                assert!(p.transport.backoff(retry) <= ceiling, "{retry}");
            }
        }
        assert_eq!(p.metrics.render(), "");
    }

    // -- session names ------------------------------------------------------------------

    fn check_session(caller: &str, subject: &str, expected: &str) {
        assert_eq!(session_name_for(caller, subject), expected, "{subject:?}");
    }

    #[test]
    fn session_names() {
        let h = |caller: &str| hex::encode(&Sha256::digest(caller.as_bytes())[..4]);
        check_session("jwt:alice", "alice@example.com", "alice@example.com");
        check_session("jwt:a", "a_b-c.d", "a_b-c.d");
        check_session(
            "jwt:bob",
            "bob smith",
            &format!("bob-smith-{}", h("jwt:bob")),
        );
        check_session("jwt:zoë", "zoë", &format!("zo--{}", h("jwt:zoë")));
        check_session("jwt:x", "x", &format!("x-{}", h("jwt:x")));
        check_session("jwt:", "", &format!("-{}", h("jwt:")));
        let long = "a".repeat(65);
        check_session("k", &long, &format!("{}-{}", "a".repeat(55), h("k")));
        check_session("k", &"a".repeat(64), &"a".repeat(64));
        assert_eq!(session_name_for("k", &"é".repeat(100)).len(), 64);
    }

    fn valid_name(name: &str) -> bool {
        (2..=64).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '@' | '_' | '-'))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]
        #[test]
        fn session_names_are_valid_and_changed_ones_never_shared(
            caller_a in ".{0,40}",
            caller_b in ".{0,40}",
            subject in "\\PC{0,100}",
            bad in "[ /:+é\u{1F600}]",
            at in 0usize..100,
        ) {
            let name = session_name_for(&caller_a, &subject);
            prop_assert!(valid_name(&name), "{name:?}");
            prop_assert!(crate::aliyun::sts::params::valid_session_name(&name));
            // Two subjects that sanitize alike, at least one of which had to change.
            let chars: Vec<char> = subject.chars().collect();
            let at = at.min(chars.len());
            let changed: String = chars[..at].iter().chain([bad.chars().next().unwrap()].iter()).chain(chars[at..].iter()).collect();
            let mut other = changed.clone();
            other = other.replace(|c: char| !(c.is_ascii_alphanumeric() || ".@_-".contains(c)), "-");
            prop_assume!(caller_a != caller_b);
            let a = session_name_for(&caller_a, &changed);
            let b = session_name_for(&caller_b, &changed);
            let c = session_name_for(&caller_b, &other);
            prop_assert!(valid_name(&a) && valid_name(&b) && valid_name(&c));
            prop_assert_ne!(&a, &b);
            prop_assert_ne!(&a, &c);
        }

        #[test]
        fn parsers_never_panic(body in proptest::collection::vec(any::<u8>(), 0..300), s in "\\PC{0,40}") {
            let now = OffsetDateTime::UNIX_EPOCH;
            let _ = parse_assumed(&body, now);
            let _ = parse_identity(&body, now);
            let _ = pop_error(400, &body);
            let _ = parse_sts_time(&s);
            let _ = valid_role_arn(&s);
        }
    }
}
