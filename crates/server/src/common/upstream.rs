//! What every remote provider shares, whatever its cloud: reading its long-term key from
//! environment variables or a 0600 file, one HTTP client per provider, attempts bounded in time
//! and size, classification of an attempt (done, retry, fail) given the vendor's error shape,
//! full-jitter retries on throttling/5xx/timeouts only, and the upstream counters.
//!
//! A vendor's provider (`aliyun/provider.rs`, `tencent/provider.rs`) supplies the signed request
//! of each attempt, its [`Wire`] (how an error answer looks) and its answer parser, and turns a
//! [`Failed`] call into an `UpstreamError` with its own hints.

use crate::common::provider::KeyPair;
use crate::secret::Secret;
use anyhow::{anyhow, bail, Context};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// The most of an upstream answer that is read; a longer one is refused as malformed.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// Default seconds per attempt, and the largest allowed.
pub const DEFAULT_TIMEOUT_SECS: f64 = 5.0;
pub const MAX_TIMEOUT_SECS: f64 = 120.0;
/// Default retries, and the most allowed.
pub const DEFAULT_RETRIES: u32 = 3;
pub const MAX_RETRIES: u32 = 10;
/// Backoff before retry `n` (0-based) is uniform in `[0, min(CAP, BASE × 2^n)]`.
pub const BACKOFF_BASE: Duration = Duration::from_millis(200);
pub const BACKOFF_CAP: Duration = Duration::from_secs(2);

// ---------------------------------------------------------------------------------------------
// Keys and settings
// ---------------------------------------------------------------------------------------------

/// Where a [`KeyPair`] was read from (named in errors and hints; never the value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// Two environment variables: the key id's and the secret's.
    Env { id_var: String, secret_var: String },
    /// A 0600 JSON file with the key id and the secret.
    File {
        path: PathBuf,
        id_field: &'static str,
        secret_field: &'static str,
    },
}

impl KeySource {
    /// Where the key id came from, e.g. `environment variable ALIBABA_CLOUD_ACCESS_KEY_ID`.
    pub fn id_origin(&self) -> String {
        match self {
            KeySource::Env { id_var, .. } => format!("environment variable {id_var}"),
            KeySource::File { path, id_field, .. } => format!("{id_field} in {}", path.display()),
        }
    }

    /// Where the secret came from.
    pub fn secret_origin(&self) -> String {
        match self {
            KeySource::Env { secret_var, .. } => format!("environment variable {secret_var}"),
            KeySource::File {
                path, secret_field, ..
            } => format!("{secret_field} in {}", path.display()),
        }
    }
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Env { id_var, secret_var } => {
                write!(f, "environment variables {id_var} and {secret_var}")
            }
            KeySource::File { path, .. } => write!(f, "file {}", path.display()),
        }
    }
}

/// The config keys of one key pair (the main key or the `/auth/custom` one), and the JSON field
/// names of its file (`AccessKeyId`/`AccessKeySecret` for Alibaba, `SecretId`/`SecretKey` for
/// Tencent).
pub struct KeySettings<'a> {
    pub id_env_key: &'static str,
    pub id_env: Option<&'a str>,
    pub secret_env_key: &'static str,
    pub secret_env: Option<&'a str>,
    pub file_key: &'static str,
    pub file: Option<&'a Path>,
    pub id_field: &'static str,
    pub secret_field: &'static str,
}

/// Reads one key pair: both env vars, or the file, or neither (`None`).
pub fn read_key(at: &str, s: &KeySettings<'_>) -> anyhow::Result<Option<(KeyPair, KeySource)>> {
    match (s.id_env, s.secret_env, s.file) {
        (None, None, None) => Ok(None),
        (Some(id_var), Some(secret_var), None) => {
            let id = env_value(at, s.id_env_key, id_var)?;
            let secret = env_value(at, s.secret_env_key, secret_var)?;
            let source = KeySource::Env {
                id_var: id_var.to_string(),
                secret_var: secret_var.to_string(),
            };
            Ok(Some((
                KeyPair {
                    id,
                    secret: Secret::new(secret),
                },
                source,
            )))
        }
        (None, None, Some(path)) => {
            let key = key_file(at, s, path)?;
            let source = KeySource::File {
                path: path.to_path_buf(),
                id_field: s.id_field,
                secret_field: s.secret_field,
            };
            Ok(Some((key, source)))
        }
        (_, _, Some(_)) => bail!(
            "{at} sets both {} / {} and {}: use the environment variables or the file, not both",
            s.id_env_key,
            s.secret_env_key,
            s.file_key
        ),
        _ => bail!(
            "{at} {} and {} go together: set both (or {} alone)",
            s.id_env_key,
            s.secret_env_key,
            s.file_key
        ),
    }
}

/// The trimmed, non-empty value of environment variable `var` (named by config key `key`).
fn env_value(at: &str, key: &str, var: &str) -> anyhow::Result<String> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
        Ok(_) => bail!("{at} {key}: environment variable {var} is empty"),
        Err(std::env::VarError::NotPresent) => {
            bail!("{at} {key}: environment variable {var} is not set")
        }
        Err(std::env::VarError::NotUnicode(_)) => {
            bail!("{at} {key}: environment variable {var} is not valid UTF-8")
        }
    }
}

/// `{"<id_field>": "...", "<secret_field>": "..."}` (other fields ignored) from a 0600 file.
fn key_file(at: &str, s: &KeySettings<'_>, path: &Path) -> anyhow::Result<KeyPair> {
    let (key, id_field, secret_field) = (s.file_key, s.id_field, s.secret_field);
    let shown = path.display();
    crate::datadir::check_private(path).with_context(|| format!("{at} {key}"))?;
    let raw = zeroize::Zeroizing::new(
        std::fs::read(path).with_context(|| format!("{at} {key}: reading {shown}"))?,
    );
    // serde's messages can quote values: say where, never what.
    let parsed: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&raw)
        .map_err(|e| {
            anyhow!("{at} {key}: {shown} is not a JSON object with string fields {id_field} and {secret_field} (line {}, column {})", e.line(), e.column())
        })?;
    let field = |name: &str| {
        parsed
            .get(name)
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    match (field(id_field), field(secret_field)) {
        (Some(id), Some(secret)) => Ok(KeyPair {
            id: id.to_string(),
            secret: Secret::new(secret),
        }),
        _ => {
            bail!("{at} {key}: {shown} needs non-empty string fields {id_field} and {secret_field}")
        }
    }
}

/// A region id: 1-64 of lowercase letters, digits and `-`.
pub fn valid_region(region: &str) -> bool {
    (1..=64).contains(&region.len())
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// `scheme://host[:port]` with scheme http(s), nothing after.
pub fn valid_origin(origin: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(origin) else {
        return false;
    };
    matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some()
        && !origin.ends_with('/')
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none()
}

/// An `http(s)://` URL without credentials, query or fragment; trailing `/` stripped.
/// `example` shows a good value in the error.
pub fn endpoint(
    at: &str,
    key: &str,
    value: Option<&str>,
    example: &str,
) -> anyhow::Result<Option<String>> {
    let Some(raw) = value else {
        return Ok(None);
    };
    let url = reqwest::Url::parse(raw)
        .map_err(|e| anyhow!("{at} {key} = {raw:?} is not a URL ({e}); {example}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        bail!("{at} {key} = {raw:?} must be an http:// or https:// URL with a host; {example}");
    }
    if !url.username().is_empty() || url.password().is_some() {
        bail!("{at} {key} must not carry a user name or password");
    }
    if url.query().is_some() || url.fragment().is_some() {
        bail!("{at} {key} = {raw:?} must not have a query or fragment; {example}");
    }
    Ok(Some(raw.trim_end_matches('/').to_string()))
}

/// The CA certificates of `ca_file` (config key `ca_file`), to trust besides the system's.
pub fn extra_roots(at: &str, ca_file: Option<&Path>) -> anyhow::Result<Vec<reqwest::Certificate>> {
    let Some(path) = ca_file else {
        return Ok(Vec::new());
    };
    let pem =
        std::fs::read(path).with_context(|| format!("{at} ca_file: reading {}", path.display()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
        anyhow!(
            "{at} ca_file: {} is not PEM certificates: {e}",
            path.display()
        )
    })?;
    if certs.is_empty() {
        bail!("{at} ca_file: {} holds no certificate", path.display());
    }
    Ok(certs)
}

// ---------------------------------------------------------------------------------------------
// Transport: one client, bounded attempts, retries
// ---------------------------------------------------------------------------------------------

/// A provider's HTTP side: its client and its limits.
#[derive(Debug)]
pub struct Transport {
    /// One attempt's limit.
    pub timeout: Duration,
    /// Retries after throttling / 5xx / timeouts.
    pub retries: u32,
    /// Full-jitter backoff: `base × 2^retry`, capped at [`BACKOFF_CAP`].
    pub backoff_base: Duration,
    /// The one HTTP client (rustls, connect timeout = `timeout`, no redirects).
    pub client: reqwest::Client,
    /// Attempts sent, by action index (`Wire::actions` order).
    sent: [AtomicU64; 4],
}

impl Transport {
    /// Validates `timeout`/`retries` (errors name `at`) and builds the client for `endpoint`.
    pub fn new(
        at: &str,
        timeout: Option<f64>,
        retries: Option<u32>,
        endpoint: &str,
        extra_roots: &[reqwest::Certificate],
    ) -> anyhow::Result<Transport> {
        let timeout = match timeout {
            None => DEFAULT_TIMEOUT_SECS,
            Some(t) if t.is_finite() && t > 0.0 && t <= MAX_TIMEOUT_SECS => t,
            Some(t) => bail!("{at} timeout = {t}: seconds per attempt, more than 0 and at most {MAX_TIMEOUT_SECS}"),
        };
        let timeout = Duration::from_secs_f64(timeout);
        let retries = retries.unwrap_or(DEFAULT_RETRIES);
        if retries > MAX_RETRIES {
            bail!("{at} retries = {retries}: at most {MAX_RETRIES}");
        }
        let client = build_client(endpoint, timeout, extra_roots)
            .with_context(|| format!("{at}: building the HTTP client"))?;
        Ok(Transport {
            timeout,
            retries,
            backoff_base: BACKOFF_BASE,
            client,
            sent: Default::default(),
        })
    }

    /// Attempts sent so far for the action of index `action`.
    pub fn sent(&self, action: usize) -> u64 {
        self.sent[action.min(3)].load(Ordering::Relaxed)
    }

    /// Attempts sent so far, every action.
    pub fn sent_total(&self) -> u64 {
        self.sent.iter().map(|a| a.load(Ordering::Relaxed)).sum()
    }

    /// Full jitter: uniform in `[0, min(cap, base × 2^retry)]`.
    pub fn backoff(&self, retry: u32) -> Duration {
        use rand::Rng;
        let ceiling = self
            .backoff_base
            .saturating_mul(1u32 << retry.min(16))
            .min(BACKOFF_CAP);
        let micros = u64::try_from(ceiling.as_micros()).unwrap_or(u64::MAX);
        Duration::from_micros(rand::thread_rng().gen_range(0..=micros))
    }

    /// Sends `action` until it succeeds, fails for good, or the retries run out. `attempt`
    /// builds each attempt afresh (a new nonce and timestamp): the request and the
    /// string-to-sign it was signed over.
    pub async fn call<T>(
        &self,
        who: Who<'_>,
        wire: &Wire,
        mut attempt: impl FnMut() -> (reqwest::RequestBuilder, String),
        parse: Parse<T>,
    ) -> Result<T, Failed> {
        let total = 1 + self.retries;
        let mut throttled = 0;
        let mut n = 0;
        loop {
            n += 1;
            let (request, string_to_sign) = attempt();
            self.sent[who.action_index.min(3)].fetch_add(1, Ordering::Relaxed);
            let started = Instant::now();
            let sent = self.send_once(request).await;
            let verdict = classify(sent, wire, parse, OffsetDateTime::now_utc());
            let failure = match verdict {
                Ok(value) => {
                    who.metrics
                        .record(who.provider, who.action, "ok", started.elapsed());
                    return Ok(value);
                }
                Err(failure) => failure,
            };
            who.metrics.record(
                who.provider,
                who.action,
                failure.kind.outcome(),
                started.elapsed(),
            );
            if failure.kind == Kind::Throttled {
                throttled += 1;
            }
            if !failure.kind.retryable() || n >= total {
                return Err(Failed {
                    failure,
                    attempts: n,
                    throttled,
                    string_to_sign,
                });
            }
            tokio::time::sleep(self.backoff(n - 1)).await;
        }
    }

    /// One request within `timeout`, reading at most [`MAX_ANSWER_BYTES`].
    async fn send_once(&self, request: reqwest::RequestBuilder) -> Sent {
        let transport = |e: reqwest::Error| match e.is_timeout() {
            true => Sent::Timeout,
            false => Sent::Unreachable(error_chain(&e)),
        };
        let attempt = async {
            let mut answer = request.send().await.map_err(transport)?;
            let status = answer.status().as_u16();
            let date = answer
                .headers()
                .get(reqwest::header::DATE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            if answer
                .content_length()
                .is_some_and(|n| n > MAX_ANSWER_BYTES as u64)
            {
                return Ok(Sent::TooLarge { status });
            }
            let mut body = Vec::new();
            while let Some(chunk) = answer.chunk().await.map_err(transport)? {
                if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                    return Ok(Sent::TooLarge { status });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Sent::Answer { status, body, date })
        };
        match tokio::time::timeout(self.timeout, attempt).await {
            Err(_) => Sent::Timeout,
            Ok(Ok(sent) | Err(sent)) => sent,
        }
    }
}

/// Who is calling what, for the counters.
#[derive(Debug, Clone, Copy)]
pub struct Who<'a> {
    pub provider: &'a str,
    pub action: &'static str,
    /// The action's index among the provider's actions (0..4).
    pub action_index: usize,
    pub metrics: &'a UpstreamMetrics,
}

/// One client: rustls, connect timeout = the attempt timeout, no redirects (a signed body is
/// never replayed elsewhere); no proxy for a loopback endpoint; `extra_roots` trusted besides
/// the system's (a self-signed stsgate in tests).
pub fn build_client(
    endpoint: &str,
    timeout: Duration,
    extra_roots: &[reqwest::Certificate],
) -> anyhow::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("stsgate/", env!("CARGO_PKG_VERSION")));
    if is_loopback(endpoint) {
        builder = builder.no_proxy();
    }
    for cert in extra_roots {
        builder = builder.add_root_certificate(cert.clone());
    }
    Ok(builder.build()?)
}

/// Whether `endpoint`'s host is `localhost` or a loopback address.
pub fn is_loopback(endpoint: &str) -> bool {
    let Some(host) = reqwest::Url::parse(endpoint)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
    else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `reqwest`'s error and its sources, joined with `: ` (no secrets: the URL has no query).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Classification (pure)
// ---------------------------------------------------------------------------------------------

/// What one attempt brought back.
#[derive(Debug)]
pub enum Sent {
    Answer {
        status: u16,
        body: Vec<u8>,
        /// The answer's `Date` header (for clock-skew hints).
        date: Option<String>,
    },
    /// The answer was longer than [`MAX_ANSWER_BYTES`].
    TooLarge {
        status: u16,
    },
    Timeout,
    Unreachable(String),
}

/// How an attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A refusal with its code.
    Refused,
    /// A success answer that does not parse, or an answer over the size limit.
    Malformed,
    /// A throttling code (any HTTP status).
    Throttled,
    /// HTTP 5xx, or the vendor's internal-error code.
    ServerError,
    Timeout,
    Unreachable,
}

impl Kind {
    pub fn retryable(self) -> bool {
        matches!(
            self,
            Kind::Throttled | Kind::ServerError | Kind::Timeout | Kind::Unreachable
        )
    }

    /// 503 for what may pass, 502 for the rest.
    pub fn status(self) -> u16 {
        match self.retryable() {
            true => 503,
            false => 502,
        }
    }

    /// The `outcome` metric label.
    pub fn outcome(self) -> &'static str {
        match self {
            Kind::Refused => "refused",
            Kind::Malformed => "malformed",
            Kind::Throttled => "throttled",
            Kind::ServerError => "server_error",
            Kind::Timeout => "timeout",
            Kind::Unreachable => "unreachable",
        }
    }
}

/// One failed attempt, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: Kind,
    pub http_status: Option<u16>,
    /// Upstream `Code`, or ours (`Timeout`, `Unreachable`, `MalformedResponse`, `HttpStatus<N>`).
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
    /// The answer's `Date` header.
    pub server_date: Option<String>,
    /// What was wrong with a malformed answer, or the transport error text.
    pub detail: String,
}

impl Failure {
    pub fn transport(kind: Kind, code: &str, detail: String) -> Failure {
        Failure {
            kind,
            http_status: None,
            code: code.to_string(),
            message: String::new(),
            request_id: None,
            server_date: None,
            detail,
        }
    }
}

/// A call that failed for good: the last attempt's failure and what came before.
#[derive(Debug, Clone)]
pub struct Failed {
    pub failure: Failure,
    pub attempts: u32,
    /// How many attempts were throttled.
    pub throttled: u32,
    /// The last attempt's string-to-sign.
    pub string_to_sign: String,
}

/// An answer parser: body and `now` → the value, or what is wrong (never a secret).
pub type Parse<T> = fn(&[u8], OffsetDateTime) -> Result<T, String>;

/// The fields of a vendor's error answer (each `None` when absent, empty or not a string).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ErrorFields {
    pub code: Option<String>,
    pub message: Option<String>,
    pub request_id: Option<String>,
}

/// How a vendor's STS answers: which answers are errors, which codes mean "slow down" or
/// "our fault".
#[derive(Debug)]
pub struct Wire {
    /// The error in an answer (`status`, body), or `None` when it is a success to parse.
    pub error: fn(u16, &[u8]) -> Option<ErrorFields>,
    /// The RequestId of any answer (for malformed successes).
    pub request_id: fn(&[u8]) -> Option<String>,
    /// Whether an error code is throttling (retried).
    pub throttled: fn(&str) -> bool,
    /// Whether an error code is the cloud's own failure (retried like a 5xx).
    pub internal: fn(&str) -> bool,
}

/// Turns one attempt into its value or a classified failure (pure).
#[allow(clippy::result_large_err)] // `?`-style early returns read best
pub fn classify<T>(
    sent: Sent,
    wire: &Wire,
    parse: Parse<T>,
    now: OffsetDateTime,
) -> Result<T, Failure> {
    let (status, body, date) = match sent {
        Sent::Timeout => return Err(Failure::transport(Kind::Timeout, "Timeout", String::new())),
        Sent::Unreachable(why) => {
            return Err(Failure::transport(Kind::Unreachable, "Unreachable", why))
        }
        Sent::TooLarge { status } if status >= 500 => {
            let mut f = Failure::transport(
                Kind::ServerError,
                &format!("HttpStatus{status}"),
                String::new(),
            );
            f.http_status = Some(status);
            return Err(f);
        }
        Sent::TooLarge { status } => {
            let mut f = Failure::transport(
                Kind::Malformed,
                "MalformedResponse",
                format!("the answer is longer than {} KiB", MAX_ANSWER_BYTES / 1024),
            );
            f.http_status = Some(status);
            return Err(f);
        }
        Sent::Answer { status, body, date } => (status, body, date),
    };
    let Some(error) = (wire.error)(status, &body) else {
        return parse(&body, now).map_err(|detail| Failure {
            kind: Kind::Malformed,
            http_status: Some(status),
            code: "MalformedResponse".into(),
            message: String::new(),
            request_id: (wire.request_id)(&body),
            server_date: date,
            detail,
        });
    };
    let code = error.code.unwrap_or_else(|| format!("HttpStatus{status}"));
    let kind = if (wire.throttled)(&code) {
        Kind::Throttled
    } else if status >= 500 || (wire.internal)(&code) {
        Kind::ServerError
    } else {
        Kind::Refused
    };
    Err(Failure {
        kind,
        http_status: Some(status),
        code,
        message: error.message.unwrap_or_default(),
        request_id: error.request_id,
        server_date: date,
        detail: String::new(),
    })
}

/// The non-empty string at `path` in `v`.
pub fn text<'a>(v: &'a serde_json::Value, path: &[&str]) -> Option<&'a str> {
    let mut at = v;
    for name in path {
        at = at.get(name)?;
    }
    at.as_str().filter(|s| !s.is_empty())
}

/// "1 attempt", "3 attempts".
pub fn attempts_text(n: u32) -> String {
    match n {
        1 => "1 attempt".to_string(),
        n => format!("{n} attempts"),
    }
}

// ---------------------------------------------------------------------------------------------
// Session names (pure)
// ---------------------------------------------------------------------------------------------

/// A session name for a caller: its `subject` if that is already `min..=max` characters of
/// `[A-Za-z0-9]` and `extra`; else the subject with every other character as `-`, cut so that
/// `-` and 8 hex digits of SHA-256(`caller_id`) fit in `max`, plus that suffix, so two callers
/// never share a changed name.
pub fn session_name(caller_id: &str, subject: &str, extra: &str, max: usize) -> String {
    use sha2::{Digest, Sha256};
    let sanitized: String = subject
        .chars()
        .map(|c| match c.is_ascii_alphanumeric() || extra.contains(c) {
            true => c,
            false => '-',
        })
        .collect();
    if sanitized == subject && (2..=max).contains(&sanitized.len()) {
        return sanitized;
    }
    let digest = Sha256::digest(caller_id.as_bytes());
    let kept: String = sanitized.chars().take(max - 9).collect();
    format!("{kept}-{}", hex::encode(&digest[..4]))
}

// ---------------------------------------------------------------------------------------------
// Metrics
// ---------------------------------------------------------------------------------------------

/// Counter of upstream attempts `{provider, action, outcome}`.
pub const UPSTREAM_REQUESTS: &str = "stsgate_upstream_requests_total";
/// Histogram of one attempt's seconds `{provider, action}`.
pub const UPSTREAM_SECONDS: &str = "stsgate_upstream_seconds";

/// Histogram bucket bounds (seconds), as the api face's request histogram.
const SECONDS_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The upstream counters of one server's providers: a Prometheus recorder of their own (the
/// api face's is reached with `with_local_recorder`, which an `async` call cannot hold), shared
/// by every provider of the server and rendered once by `GET /metrics`.
pub struct UpstreamMetrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    /// Whether anything was recorded (an idle server renders nothing).
    used: AtomicU64,
}

impl std::fmt::Debug for UpstreamMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UpstreamMetrics")
    }
}

impl Default for UpstreamMetrics {
    fn default() -> UpstreamMetrics {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(UPSTREAM_SECONDS.into()), &SECONDS_BUCKETS)
            .expect("non-empty buckets")
            .build_recorder();
        let handle = recorder.handle();
        UpstreamMetrics {
            recorder,
            handle,
            used: AtomicU64::new(0),
        }
    }
}

impl UpstreamMetrics {
    /// Counts one attempt.
    pub fn record(
        &self,
        provider: &str,
        action: &'static str,
        outcome: &'static str,
        elapsed: Duration,
    ) {
        self.used.fetch_add(1, Ordering::Relaxed);
        let provider = provider.to_string();
        metrics::with_local_recorder(&self.recorder, || {
            metrics::describe_counter!(
                UPSTREAM_REQUESTS,
                "Upstream STS attempts by provider, action and outcome."
            );
            metrics::describe_histogram!(
                UPSTREAM_SECONDS,
                "Seconds one upstream STS attempt took."
            );
            metrics::counter!(UPSTREAM_REQUESTS, "provider" => provider.clone(), "action" => action, "outcome" => outcome)
                .increment(1);
            metrics::histogram!(UPSTREAM_SECONDS, "provider" => provider, "action" => action)
                .record(elapsed.as_secs_f64());
        });
    }

    /// The Prometheus text of everything recorded (empty when nothing was).
    pub fn render(&self) -> String {
        match self.used.load(Ordering::Relaxed) {
            0 => String::new(),
            _ => self.handle.render(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn pop_like(status: u16, body: &[u8]) -> Option<ErrorFields> {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let get = |name: &str| text(&v, &[name]).map(str::to_string);
        (status != 200).then(|| ErrorFields {
            code: get("Code"),
            message: get("Message"),
            request_id: get("RequestId"),
        })
    }

    const WIRE: Wire = Wire {
        error: pop_like,
        request_id: |_| None,
        throttled: |code| code.starts_with("Throttling"),
        internal: |_| false,
    };

    fn parse_ok(body: &[u8], _now: OffsetDateTime) -> Result<(), String> {
        let v: Value = serde_json::from_slice(body).map_err(|_| "not JSON".to_string())?;
        text(&v, &["Ok"])
            .map(|_| ())
            .ok_or_else(|| "Ok is missing".into())
    }

    #[test]
    fn classify_retries_only_what_is_retryable() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let kind = |sent: Sent| match classify(sent, &WIRE, parse_ok, now) {
            Ok(()) => None,
            Err(f) => Some((f.kind.retryable(), f.kind.status(), f.code)),
        };
        let answer = |status: u16, v: Value| Sent::Answer {
            status,
            body: v.to_string().into_bytes(),
            date: None,
        };
        assert_eq!(kind(answer(200, json!({"Ok": "y"}))), None);
        assert_eq!(
            kind(answer(200, json!({}))),
            Some((false, 502, "MalformedResponse".into()))
        );
        assert_eq!(
            kind(answer(400, json!({"Code": "Throttling.User"}))),
            Some((true, 503, "Throttling.User".into()))
        );
        assert_eq!(
            kind(answer(403, json!({"Code": "NoPermission"}))),
            Some((false, 502, "NoPermission".into()))
        );
        assert_eq!(
            kind(answer(500, json!({"Code": "InternalError"}))),
            Some((true, 503, "InternalError".into()))
        );
        assert_eq!(
            kind(answer(502, json!("x"))),
            Some((true, 503, "HttpStatus502".into()))
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
    }

    #[test]
    fn backoff_is_full_jitter_capped() {
        let t = Transport::new("[provider.x]", None, None, "http://127.0.0.1:1", &[]).unwrap();
        for retry in 0..20 {
            let d = t.backoff(retry);
            assert!(d <= BACKOFF_CAP, "{d:?}");
            assert!(d <= BACKOFF_BASE.saturating_mul(1 << retry.min(16)));
        }
    }

    #[test]
    fn metrics_render_only_once_used_and_escape_labels() {
        let m = UpstreamMetrics::default();
        assert_eq!(m.render(), "");
        m.record("a\"b", "AssumeRole", "ok", Duration::from_millis(3));
        let text = m.render();
        assert!(
            text.contains(r#"stsgate_upstream_requests_total{provider="a\"b",action="AssumeRole",outcome="ok"} 1"#),
            "{text}"
        );
        assert!(
            text.contains("# TYPE stsgate_upstream_seconds histogram"),
            "{text}"
        );
        assert!(
            text.contains(
                r#"stsgate_upstream_seconds_count{provider="a\"b",action="AssumeRole"} 1"#
            ),
            "{text}"
        );
    }

    #[test]
    fn session_names_keep_good_subjects_and_tag_changed_ones() {
        assert_eq!(session_name("jwt:alice", "alice", ".@_-", 64), "alice");
        let changed = session_name("jwt:a b", "a b", ".@_-", 64);
        assert!(
            changed.starts_with("a-b-") && changed.len() == 12,
            "{changed}"
        );
        assert_ne!(changed, session_name("jwt:a/b", "a/b", ".@_-", 64));
        assert_eq!(session_name("k", &"é".repeat(100), ".@_-", 64).len(), 64);
        assert_eq!(session_name("k", &"x".repeat(100), ".@_-", 32).len(), 32);
        assert_eq!(session_name("k", "a", ".@_-", 64).len(), 10);
    }
}
