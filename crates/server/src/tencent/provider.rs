//! `type = "tencent"`: Tencent Cloud STS `GetFederationToken` (no `role_arn`) or `AssumeRole`
//! (with one), and `GetCallerIdentity` for `stsgate check`, signed TC3-HMAC-SHA256 with a JSON
//! body (as `tencentcloud-sdk-python` sends them), with timeouts, jittered retries on throttling
//! and internal errors only, strict parsing of answers, and errors that say what to change.
//!
//! A call reads top to bottom in [`TencentProvider::call`]: sign a fresh request
//! ([`signed_request`], pure; byte for byte the SDK's, checked against the spec's vector) → send
//! one attempt and classify it (`common::upstream`: Tencent answers HTTP 200 with
//! `Response.Error` for refusals, see [`WIRE`]) → back off and retry, or turn the failure into an
//! [`UpstreamError`].
//!
//! What reaches the app's end users is bounded: the hint names the provider and what an
//! operator must change, never a key id, an account or app id, a file path or the string to
//! sign (those go to the log, [`TencentProvider::operator_detail`]); the cloud's own message is
//! passed on with ids redacted ([`redact`]).

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
use std::sync::Arc;
use stsgate_signing::encode::pe;
use stsgate_signing::tc3;
use time::OffsetDateTime;

/// An `[provider.NAME]` of type `tencent`, ready to call.
#[derive(Debug)]
pub struct TencentProvider {
    /// The config table's name (`[provider.NAME]`).
    pub name: String,
    /// `qcs::cam::uin/<uin>:roleName/<name>` for AssumeRole; `None`: GetFederationToken.
    pub role_arn: Option<String>,
    /// e.g. `ap-guangzhou`.
    pub region: String,
    /// e.g. `https://sts.tencentcloudapi.com` (no trailing `/`).
    pub sts_endpoint: String,
    /// e.g. `https://cos.ap-guangzhou.myqcloud.com` or `http://127.0.0.1:8703`.
    pub cos_endpoint: String,
    /// The CAM user's SecretId/SecretKey: signs STS calls (and `stsgate cors`), nothing else.
    pub key: KeyPair,
    /// Browser origins `stsgate check` tests the buckets' CORS against.
    pub browser_origins: Vec<String>,
    /// The client, its limits and the attempt counts.
    pub transport: Transport,
    /// The client of `cos_endpoint` (`stsgate check`, `stsgate cors`): the transport's, or one
    /// built alike (same CA roots) when only one of the endpoints is on loopback.
    pub cos_client: reqwest::Client,
    /// Where `key` came from.
    key_source: KeySource,
    /// The server's upstream counters.
    metrics: Arc<UpstreamMetrics>,
}

/// Tencent's public STS endpoint (the default `sts_endpoint`).
pub const DEFAULT_STS_ENDPOINT: &str = "https://sts.tencentcloudapi.com";
/// The region when neither `[provider.NAME] region` nor a default is set.
pub const DEFAULT_REGION: &str = "ap-guangzhou";
/// STS API version.
const STS_VERSION: &str = "2018-08-13";

/// The STS actions stsgate calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    GetFederationToken,
    AssumeRole,
    GetCallerIdentity,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::GetFederationToken => "GetFederationToken",
            Action::AssumeRole => "AssumeRole",
            Action::GetCallerIdentity => "GetCallerIdentity",
        }
    }

    fn index(self) -> usize {
        match self {
            Action::GetFederationToken => 0,
            Action::AssumeRole => 1,
            Action::GetCallerIdentity => 2,
        }
    }
}

/// GetCallerIdentity's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub arn: String,
    pub account_id: String,
    pub user_id: String,
    /// `CAMUser`, `RootAccount`, … as Tencent says.
    pub kind: String,
}

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

impl TencentProvider {
    /// Validates `cfg` and reads the key from env/file (errors name the provider and key).
    pub fn from_config(
        name: &str,
        cfg: &ProviderConfig,
        metrics: Arc<UpstreamMetrics>,
    ) -> anyhow::Result<TencentProvider> {
        let at = format!("[provider.{name}]");
        if cfg.kind.as_deref() != Some("tencent") {
            bail!("{at}: this provider is built for type \"tencent\"");
        }
        if cfg.oss_endpoint.is_some() {
            bail!("{at} oss_endpoint is an Alibaba setting: use cos_endpoint");
        }
        if cfg.custom_signing_key_id_env.is_some() || cfg.custom_signing_credentials_file.is_some()
        {
            bail!("{at} custom_signing_* is for Alibaba's /auth/custom; a Tencent provider takes none");
        }
        let role_arn = match cfg.role_arn.as_deref() {
            None => None,
            Some(arn) if valid_role_arn(arn) => Some(arn.to_string()),
            Some(arn) => bail!("{at} role_arn = {arn:?} is not of the form qcs::cam::uin/<uin>:roleName/<name> (CAM console → Roles → the role → RoleArn); leave it out to use GetFederationToken"),
        };
        let region = cfg.region.as_deref().unwrap_or(DEFAULT_REGION);
        if !upstream::valid_region(region) {
            bail!("{at} region = {region:?} is not a region id such as \"ap-guangzhou\"");
        }
        let example = "e.g. \"https://sts.tencentcloudapi.com\" or \"http://127.0.0.1:8704\"";
        let sts_endpoint =
            upstream::endpoint(&at, "sts_endpoint", cfg.sts_endpoint.as_deref(), example)?
                .unwrap_or_else(|| DEFAULT_STS_ENDPOINT.to_string());
        let cos_endpoint =
            upstream::endpoint(&at, "cos_endpoint", cfg.cos_endpoint.as_deref(), example)?
                .unwrap_or_else(|| format!("https://cos.{region}.myqcloud.com"));
        let settings = KeySettings {
            id_env_key: "access_key_id_env",
            id_env: cfg.access_key_id_env.as_deref(),
            secret_env_key: "access_key_secret_env",
            secret_env: cfg.access_key_secret_env.as_deref(),
            file_key: "credentials_file",
            file: cfg.credentials_file.as_deref(),
            id_field: "SecretId",
            secret_field: "SecretKey",
        };
        let (key, key_source) = upstream::read_key(&at, &settings)?.ok_or_else(|| {
            anyhow!("{at} has no key: set access_key_id_env and access_key_secret_env (environment variables holding a CAM user's SecretId and SecretKey), or credentials_file (a 0600 JSON file with SecretId and SecretKey)")
        })?;
        let browser_origins = cfg.browser_origins.clone().unwrap_or_default();
        for origin in &browser_origins {
            if !upstream::valid_origin(origin) {
                bail!("{at} browser_origins: {origin:?} is not an origin such as \"https://app.example.com\"");
            }
        }
        let roots = upstream::extra_roots(&at, cfg.ca_file.as_deref())?;
        let transport = Transport::new(&at, cfg.timeout, cfg.retries, &sts_endpoint, &roots)?;
        let cos_client = match upstream::is_loopback(&cos_endpoint)
            == upstream::is_loopback(&sts_endpoint)
        {
            true => transport.client.clone(),
            false => upstream::build_client(&cos_endpoint, transport.timeout, &roots)
                .map_err(|e| anyhow!("{at}: building the HTTP client of cos_endpoint: {e:#}"))?,
        };
        Ok(TencentProvider {
            name: name.to_string(),
            role_arn,
            region: region.to_string(),
            sts_endpoint,
            cos_endpoint,
            key,
            browser_origins,
            transport,
            cos_client,
            key_source,
            metrics,
        })
    }

    /// Where the key was read from.
    pub fn key_source(&self) -> &KeySource {
        &self.key_source
    }

    /// The action issuance calls: AssumeRole with a role, else GetFederationToken.
    pub fn issue_action(&self) -> Action {
        match self.role_arn {
            Some(_) => Action::AssumeRole,
            None => Action::GetFederationToken,
        }
    }
}

/// `qcs::cam::uin/<digits>:roleName/<name>` or `qcs::cam::uin/<digits>:role/<digits>`.
pub fn valid_role_arn(value: &str) -> bool {
    let Some((uin, role)) = value
        .strip_prefix("qcs::cam::uin/")
        .and_then(|rest| rest.split_once(':'))
    else {
        return false;
    };
    let uin_ok = !uin.is_empty() && uin.len() <= 20 && uin.bytes().all(|b| b.is_ascii_digit());
    let role_ok = match (role.strip_prefix("roleName/"), role.strip_prefix("role/")) {
        (Some(name), _) => crate::iam::valid_role_name(name),
        (_, Some(id)) => !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()),
        _ => false,
    };
    uin_ok && role_ok
}

impl Upstream for TencentProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn vendor(&self) -> Vendor {
        Vendor::Tencent
    }

    fn region(&self) -> &str {
        &self.region
    }

    fn storage_endpoint(&self) -> &str {
        &self.cos_endpoint
    }

    fn role_arn(&self) -> &str {
        self.role_arn.as_deref().unwrap_or("")
    }

    fn max_policy_bytes(&self) -> usize {
        super::policy::MAX_POLICY_BYTES
    }

    fn session_name(&self, caller_id: &str, subject: &str) -> String {
        // GetFederationToken's Name is at most 32 characters; RoleSessionName takes 128.
        let max = match self.issue_action() {
            Action::AssumeRole => 64,
            _ => 32,
        };
        upstream::session_name(caller_id, subject, "+=,.@_-", max)
    }

    fn issue<'a>(
        &'a self,
        input: IssueInput<'a>,
    ) -> BoxFuture<'a, Result<UpstreamIssued, UpstreamError>> {
        Box::pin(self.credentials(input))
    }

    fn issue_attempts(&self) -> u64 {
        self.transport.sent(self.issue_action().index())
    }
}

// ---------------------------------------------------------------------------------------------
// Signing (pure)
// ---------------------------------------------------------------------------------------------

/// A signed TC3 request: its headers (in sending order, `Authorization` last), the JSON body,
/// and the string-to-sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub string_to_sign: String,
}

/// A JSON body as `tencentcloud-sdk-python` writes it (`json.dumps`: `", "` and `": "`
/// separators), so the payload hash matches the SDK's byte for byte.
pub fn json_body(params: &[(&str, serde_json::Value)]) -> String {
    let fields: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}: {}", serde_json::Value::from(*k), v))
        .collect();
    format!("{{{}}}", fields.join(", "))
}

/// Signs `action` with `body` for `host` (the endpoint's authority, port included) at `now`.
pub fn signed_request(
    key: &KeyPair,
    action: &str,
    region: &str,
    host: &str,
    body: String,
    now: i64,
) -> Signed {
    let timestamp = now.to_string();
    let headers = vec![
        ("Content-Type".to_string(), "application/json".to_string()),
        ("Host".to_string(), host.to_string()),
        ("X-TC-Action".to_string(), action.to_string()),
        ("X-TC-Version".to_string(), STS_VERSION.to_string()),
        ("X-TC-Timestamp".to_string(), timestamp.clone()),
        ("X-TC-Region".to_string(), region.to_string()),
    ];
    let signed = ["content-type".to_string(), "host".to_string()];
    let canonical = tc3::canonical_request(
        "POST",
        "",
        &headers,
        &signed,
        &tc3::hashed_payload(body.as_bytes(), false),
    );
    let credential = tc3::Credential {
        secret_id: key.id.clone(),
        date: tc3::date_of(now).unwrap_or_default(),
        service: "sts".into(),
    };
    let string_to_sign = tc3::string_to_sign(&timestamp, &credential.scope(), &canonical);
    let auth = tc3::sign(
        key.secret.expose(),
        credential,
        &signed,
        &timestamp,
        &canonical,
    );
    let mut headers = headers;
    headers.push(("Authorization".to_string(), auth.to_string()));
    Signed {
        headers,
        body,
        string_to_sign,
    }
}

// ---------------------------------------------------------------------------------------------
// Calls
// ---------------------------------------------------------------------------------------------

/// How Tencent STS answers: HTTP 200 for refusals too, with `Response.Error{Code,Message}`;
/// `RequestLimitExceeded*` is retried, and so is `InternalError*` (the cloud's own failure).
pub const WIRE: Wire = Wire {
    error: response_error,
    request_id: |body| response_text(body, &["Response", "RequestId"]),
    throttled: |code| code.starts_with("RequestLimitExceeded"),
    internal: |code| code.starts_with("InternalError"),
};

fn response_text(body: &[u8], path: &[&str]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    text(&v, path).map(str::to_string)
}

fn response_error(status: u16, body: &[u8]) -> Option<ErrorFields> {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let get = |path: &[&str]| text(&v, path).map(str::to_string);
    let code = get(&["Response", "Error", "Code"]);
    (code.is_some() || status != 200).then(|| ErrorFields {
        code,
        message: get(&["Response", "Error", "Message"]),
        request_id: get(&["Response", "RequestId"]),
    })
}

/// A credentials answer (GetFederationToken and AssumeRole share it): the three fields
/// non-empty, `ExpiredTime` an integer after `now`.
fn parse_credentials(body: &[u8], now: OffsetDateTime) -> Result<UpstreamIssued, String> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| "the answer is not JSON".to_string())?;
    let need = |path: &[&str]| {
        text(&v, path).ok_or_else(|| format!("{} is missing or empty", path.join(".")))
    };
    let id = need(&["Response", "Credentials", "TmpSecretId"])?;
    let secret = need(&["Response", "Credentials", "TmpSecretKey"])?;
    let token = need(&["Response", "Credentials", "Token"])?;
    let expired = v
        .pointer("/Response/ExpiredTime")
        .and_then(serde_json::Value::as_i64)
        .ok_or("Response.ExpiredTime is missing or not an integer")?;
    let expiration = OffsetDateTime::from_unix_timestamp(expired)
        .map_err(|_| format!("Response.ExpiredTime {expired} is not a time"))?;
    if expiration <= now {
        return Err(format!(
            "Response.ExpiredTime {expired} is not in the future (local time {})",
            now.unix_timestamp()
        ));
    }
    Ok(UpstreamIssued {
        minted: Minted {
            access_key_id: id.to_string(),
            access_key_secret: Secret::new(secret),
            security_token: token.to_string(),
            expiration,
        },
        request_id: text(&v, &["Response", "RequestId"])
            .unwrap_or_default()
            .to_string(),
        arn: String::new(),
        assumed_role_id: String::new(),
    })
}

/// A GetCallerIdentity answer: Arn and AccountId non-empty.
fn parse_identity(body: &[u8], _now: OffsetDateTime) -> Result<Identity, String> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| "the answer is not JSON".to_string())?;
    let need = |name: &str| {
        text(&v, &["Response", name])
            .map(str::to_string)
            .ok_or_else(|| format!("Response.{name} is missing or empty"))
    };
    Ok(Identity {
        arn: need("Arn")?,
        account_id: need("AccountId")?,
        user_id: text(&v, &["Response", "UserId"])
            .unwrap_or_default()
            .to_string(),
        kind: text(&v, &["Response", "Type"])
            .unwrap_or_default()
            .to_string(),
    })
}

/// The authority (`host[:port]`) of an endpoint URL, as the Host header carries it.
fn authority(endpoint: &str) -> String {
    let rest = endpoint.split_once("://").map_or(endpoint, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest).to_string()
}

impl TencentProvider {
    /// Issues credentials: GetFederationToken (`Name`, `Policy`, `DurationSeconds`) or AssumeRole
    /// (`RoleArn`, `RoleSessionName`, `DurationSeconds`, `Policy`), the policy URL-encoded as
    /// Tencent asks.
    async fn credentials(&self, input: IssueInput<'_>) -> Result<UpstreamIssued, UpstreamError> {
        if let Some(refused) = self.check_input(&input) {
            return Err(refused);
        }
        let action = self.issue_action();
        let policy = serde_json::Value::from(pe(input.policy));
        let duration = serde_json::Value::from(input.duration_seconds);
        let name = serde_json::Value::from(input.session_name);
        let body = match &self.role_arn {
            Some(arn) => json_body(&[
                ("RoleArn", arn.as_str().into()),
                ("RoleSessionName", name),
                ("DurationSeconds", duration),
                ("Policy", policy),
            ]),
            None => json_body(&[
                ("Name", name),
                ("Policy", policy),
                ("DurationSeconds", duration),
            ]),
        };
        self.call(action, body, parse_credentials)
            .await
            .map_err(|failed| self.upstream_error(action, &failed, OffsetDateTime::now_utc()))
    }

    /// `GetCallerIdentity` with the CAM user's key (`stsgate check`).
    pub async fn caller_identity(&self) -> Result<Identity, UpstreamError> {
        let action = Action::GetCallerIdentity;
        self.call(action, "{}".into(), parse_identity)
            .await
            .map_err(|failed| self.upstream_error(action, &failed, OffsetDateTime::now_utc()))
    }

    /// Refuses, without a call, what STS would refuse anyway (attempts = 0).
    fn check_input(&self, input: &IssueInput<'_>) -> Option<UpstreamError> {
        let max_duration = match self.issue_action() {
            Action::AssumeRole => 43_200,
            _ => 7_200,
        };
        let (code, hint) = if input.policy.is_empty()
            || input.policy.len() > super::policy::MAX_POLICY_BYTES
        {
            (
                "InvalidParameter.PolicyTooLong",
                format!(
                    "not sent: the session policy rendered from the grant must be 1-{} bytes; narrow the grant",
                    super::policy::MAX_POLICY_BYTES
                ),
            )
        } else if !(1..=max_duration).contains(&input.duration_seconds) {
            (
                "InvalidParameter.OverTimeError",
                format!(
                    "not sent: DurationSeconds {} is outside 1-{max_duration} for {}; lower the grant's duration",
                    input.duration_seconds,
                    self.issue_action().as_str()
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
    async fn call<T>(&self, action: Action, body: String, parse: Parse<T>) -> Result<T, Failed> {
        let who = Who {
            provider: &self.name,
            action: action.as_str(),
            action_index: action.index(),
            metrics: &self.metrics,
        };
        let url = format!("{}/", self.sts_endpoint);
        let host = authority(&self.sts_endpoint);
        let attempt = || {
            let now = OffsetDateTime::now_utc().unix_timestamp();
            let signed = signed_request(
                &self.key,
                action.as_str(),
                &self.region,
                &host,
                body.clone(),
                now,
            );
            let mut request = self.transport.client.post(&url);
            for (name, value) in &signed.headers {
                // reqwest writes Host from the URL (the same authority).
                if name != "Host" {
                    request = request.header(name.as_str(), value.as_str());
                }
            }
            (request.body(signed.body), signed.string_to_sign)
        };
        self.transport.call(who, &WIRE, attempt, parse).await
    }

    /// The error a failed call answers with (end-user safe), after logging the operator's detail.
    fn upstream_error(
        &self,
        action: Action,
        failed: &Failed,
        now: OffsetDateTime,
    ) -> UpstreamError {
        let f = &failed.failure;
        tracing::warn!(
            provider = self.name,
            action = action.as_str(),
            code = f.code,
            detail = self.operator_detail(failed),
            "tencent upstream call failed"
        );
        UpstreamError {
            provider: self.name.clone(),
            status: f.kind.status(),
            code: f.code.clone(),
            message: redact(&f.message),
            request_id: f.request_id.clone(),
            hint: self.hint(action, failed, now),
            string_to_sign: f
                .code
                .starts_with("AuthFailure.Signature")
                .then(|| failed.string_to_sign.clone()),
            attempts: failed.attempts,
            operator_detail: self.operator_detail(failed),
        }
    }

    /// What only the operator's log sees: where the key came from, its id, the endpoint's
    /// message verbatim.
    pub fn operator_detail(&self, failed: &Failed) -> String {
        format!(
            "key {} (from {}), role {}, upstream message {:?}, detail {:?}",
            self.key.id,
            self.key_source,
            self.role_arn.as_deref().unwrap_or("-"),
            failed.failure.message,
            failed.failure.detail
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Hints (pure)
// ---------------------------------------------------------------------------------------------

impl TencentProvider {
    /// What to change, for an operator, without ids, accounts or paths (pure: `now` is a
    /// parameter).
    fn hint(&self, action: Action, failed: &Failed, now: OffsetDateTime) -> String {
        let f = &failed.failure;
        let attempts = attempts_text(failed.attempts);
        let at = format!("[provider.{}]", self.name);
        match f.kind {
            Kind::Timeout => format!(
                "no answer from Tencent STS within {} s ({attempts}): check sts_endpoint in {at} and the network, or raise timeout",
                self.transport.timeout.as_secs_f64()
            ),
            Kind::Unreachable => format!(
                "cannot reach Tencent STS ({attempts}): check sts_endpoint in {at}, DNS and the network"
            ),
            Kind::Malformed => format!(
                "Tencent STS answered {} with something that is not a valid answer ({}); is sts_endpoint in {at} a Tencent Cloud STS endpoint?",
                action.as_str(),
                f.detail
            ),
            Kind::Throttled => format!(
                "Tencent STS throttled the requests {} time(s) ({attempts}, retried with backoff); try again later",
                failed.throttled
            ),
            Kind::ServerError => format!(
                "Tencent STS failed on its side ({}) on the last of {attempts} (retried with backoff); try again later",
                f.code
            ),
            Kind::Refused => match f.code.as_str() {
                "AuthFailure.SecretIdNotFound" | "AuthFailure.InvalidSecretId" => format!(
                    "Tencent does not know the provider's SecretId: put an existing CAM user's key in {at}"
                ),
                "AuthFailure.SignatureFailure" => format!(
                    "the SecretKey does not belong to the SecretId configured in {at}"
                ),
                "AuthFailure.SignatureExpire" => format!(
                    "this machine's clock is off by more than 5 minutes (local time {}): sync it (NTP)",
                    crate::common::dates::iso8601(now)
                ),
                "AuthFailure.UnauthorizedOperation" | "UnauthorizedOperation" => format!(
                    "the CAM user of {at} may not call {}: grant it sts:{} (policy QcloudSTSFullAccess or a custom one){}",
                    action.as_str(),
                    action.as_str(),
                    match action {
                        Action::AssumeRole => ", and let the role's trust policy name it",
                        _ => "",
                    }
                ),
                "ResourceNotFound.RoleNotFound" | "InternalError.GetRoleError" => format!(
                    "the role in {at} role_arn does not exist: copy its RoleArn from CAM console → Roles"
                ),
                "FailedOperation.TempKeyNotAllowed" | "InvalidParameter.AccessKeyNotSupport" => format!(
                    "{at} holds a temporary key; {} needs a CAM user's permanent SecretId/SecretKey",
                    action.as_str()
                ),
                "InvalidParameter.PolicyTooLong" => "the session policy rendered from the grant is longer than Tencent STS accepts: narrow the grant (fewer actions or source_ips)".to_string(),
                "InvalidParameter.OverTimeError" => format!(
                    "Tencent STS refused the grant's duration for {}: lower the grant's duration (GetFederationToken with a root key: at most 7200 s)",
                    action.as_str()
                ),
                code if code.starts_with("InvalidParameter.Strategy") || code == "InvalidParameter.GrantOtherResource" => {
                    "Tencent STS refused the session policy rendered from the grant (resource or action not allowed): check the grant's bucket and actions".to_string()
                }
                code => format!(
                    "Tencent STS refused {} with {code}; see the stsgate log for details",
                    action.as_str()
                ),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn key(id: &str, secret: &str) -> KeyPair {
        KeyPair {
            id: id.into(),
            secret: Secret::new(secret),
        }
    }

    #[test]
    fn the_spec_vector_is_reproduced_byte_for_byte() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../signing/testdata/tencent/tc3/1-3-sdk-post"
        );
        let input: Value =
            serde_json::from_str(&std::fs::read_to_string(format!("{dir}/input.json")).unwrap())
                .unwrap();
        let golden = |step: &str| std::fs::read_to_string(format!("{dir}/{step}.txt")).unwrap();
        let body = json_body(&[
            ("Name", "alice".into()),
            ("Policy", pe("{\"version\":\"2.0\"}").into()),
            ("DurationSeconds", 1800.into()),
        ]);
        assert_eq!(body, input["body"].as_str().unwrap());
        let signed = signed_request(
            &key("AKIDEXAMPLE", input["secret"].as_str().unwrap()),
            "GetFederationToken",
            "ap-guangzhou",
            "127.0.0.1:8900",
            body,
            1_700_000_000,
        );
        assert_eq!(signed.string_to_sign, golden("string_to_sign"));
        let auth = &signed.headers.last().unwrap().1;
        assert_eq!(auth, input["authorization"].as_str().unwrap());
        assert_eq!(
            signed.headers[2],
            ("X-TC-Action".into(), "GetFederationToken".into())
        );
    }

    #[test]
    fn errors_are_read_from_200_answers() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let kind = |status: u16, body: Value| {
            let sent = upstream::Sent::Answer {
                status,
                body: body.to_string().into_bytes(),
                date: None,
            };
            match upstream::classify(sent, &WIRE, parse_credentials, now) {
                Ok(_) => None,
                Err(f) => Some((f.kind, f.code)),
            }
        };
        let error = |code: &str| json!({"Response": {"Error": {"Code": code, "Message": "m"}, "RequestId": "r"}});
        use serde_json::json;
        assert_eq!(
            kind(200, error("AuthFailure.SignatureFailure")),
            Some((Kind::Refused, "AuthFailure.SignatureFailure".into()))
        );
        assert_eq!(
            kind(200, error("RequestLimitExceeded")),
            Some((Kind::Throttled, "RequestLimitExceeded".into()))
        );
        assert_eq!(
            kind(200, error("InternalError.DbError")),
            Some((Kind::ServerError, "InternalError.DbError".into()))
        );
        assert_eq!(
            kind(502, json!("x")),
            Some((Kind::ServerError, "HttpStatus502".into()))
        );
        let ok = json!({"Response": {"Credentials": {"Token": "t", "TmpSecretId": "AKIDx", "TmpSecretKey": "k"},
            "ExpiredTime": 1_700_001_800, "Expiration": "x", "RequestId": "r"}});
        assert_eq!(kind(200, ok.clone()), None);
        let mut past = ok.clone();
        past["Response"]["ExpiredTime"] = 1_699_999_999.into();
        assert_eq!(
            kind(200, past),
            Some((Kind::Malformed, "MalformedResponse".into()))
        );
        let mut half = ok;
        half["Response"]["Credentials"]["Token"] = "".into();
        assert_eq!(
            kind(200, half),
            Some((Kind::Malformed, "MalformedResponse".into()))
        );
    }

    #[test]
    fn messages_lose_ids_and_role_arns_are_checked() {
        let m = "[request id:abc]you are not authorized to perform operation (sts:GetFederationToken) resource (qcs::sts:ap-guangzhou:uin/100000000001:federated-user/x) has no permission, SecretId AKIDabc";
        let r = redact(m);
        assert!(!r.contains("100000000001") && !r.contains("AKIDabc"), "{r}");
        assert!(r.contains("not authorized"), "{r}");
        assert!(valid_role_arn("qcs::cam::uin/100000000001:roleName/app"));
        assert!(valid_role_arn("qcs::cam::uin/1:role/4611686018427397919"));
        for bad in [
            "acs:ram::1:role/app",
            "qcs::cam::uin/x:roleName/app",
            "qcs::cam::uin/1:user/a",
        ] {
            assert!(!valid_role_arn(bad), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn parsers_and_redaction_never_panic(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300), s in "\\PC{0,60}") {
            let now = OffsetDateTime::from_unix_timestamp(0).unwrap();
            let _ = parse_credentials(&body, now);
            let _ = parse_identity(&body, now);
            let _ = response_error(200, &body);
            let r = redact(&s);
            proptest::prop_assert!(!r.contains("AKID"));
        }
    }
}
