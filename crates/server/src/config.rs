//! `stsgate.toml`: read → parse (unknown keys refused by name) → validate.

use crate::common::provider::{Vendor, LOCAL};
use crate::common::scope::{default_grants, Grant};
use anyhow::{bail, Context as _};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The whole configuration file. Every key is optional; command-line flags win over it.
/// [`Config::parse`] validates it and fills [`Config::grants`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Data directory (default `./stsgate-data`).
    pub data: Option<PathBuf>,
    /// The region the faces report, e.g. `cn-hangzhou` (the default).
    pub region: Option<String>,
    /// `[timeouts]`: how long a slow client may hold a connection.
    #[serde(default)]
    pub timeouts: TimeoutsConfig,
    /// The oss face.
    #[serde(default)]
    pub oss: OssConfig,
    /// The cos face.
    #[serde(default)]
    pub cos: CosConfig,
    /// The sts face.
    #[serde(default)]
    pub sts: StsConfig,
    /// The tc-sts face (Tencent STS).
    #[serde(default)]
    pub tc_sts: TcStsConfig,
    /// The api face (the authorization server for app users).
    #[serde(default)]
    pub api: ApiConfig,
    /// `[tls]`: https on every face.
    #[serde(default)]
    pub tls: TlsConfig,
    /// `[[grant]]`: what a caller may ask credentials for. None given = the default grant
    /// `user-folder` (see [`crate::api::grants::default_grants`]).
    #[serde(default)]
    pub grant: Vec<GrantConfig>,
    /// `[[api_key]]`: static API keys that are callers of the api face (`Bearer sk_…`).
    #[serde(default)]
    pub api_key: Vec<ApiKeyConfig>,
    /// `[provider.NAME]`: clouds that issue credentials instead of the embedded store
    /// (`local`, always there, is the default of every grant).
    #[serde(default)]
    pub provider: std::collections::BTreeMap<String, ProviderConfig>,
    /// The validated grants: `[[grant]]`, or the default `user-folder` when none is given.
    #[serde(skip)]
    pub grants: Vec<Grant>,
}

impl Default for Config {
    /// No config file: the embedded faces with the default grant.
    fn default() -> Config {
        Config::parse("").expect("the empty config is valid")
    }
}

/// `[provider.NAME]`: a real cloud account behind stsgate (`type = "aliyun"` or `"tencent"`).
/// The long-term key never sits inline: it comes from environment variables or a 0600 file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// `aliyun` (the default) or `tencent`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The role every credential is issued through: `acs:ram::<account>:role/<name>` (Alibaba,
    /// required), `qcs::cam::uin/<uin>:roleName/<name>` (Tencent, optional: without it,
    /// GetFederationToken).
    pub role_arn: Option<String>,
    /// Region of the bucket(s), e.g. `cn-hangzhou` (default: the top-level `region`).
    pub region: Option<String>,
    /// Environment variable holding the RAM user's AccessKeyId.
    pub access_key_id_env: Option<String>,
    /// Environment variable holding the RAM user's AccessKeySecret.
    pub access_key_secret_env: Option<String>,
    /// JSON file (0600) with `AccessKeyId` and `AccessKeySecret` (other fields ignored).
    pub credentials_file: Option<PathBuf>,
    /// STS endpoint (default `https://sts.aliyuncs.com`).
    pub sts_endpoint: Option<String>,
    /// OSS endpoint used in answers and presigned URLs (default `https://oss-<region>.aliyuncs.com`;
    /// `aliyun` only).
    pub oss_endpoint: Option<String>,
    /// COS endpoint used in answers and presigned URLs (default
    /// `https://cos.<region>.myqcloud.com`; `tencent` only).
    pub cos_endpoint: Option<String>,
    /// PEM file of a CA to trust besides the system's for the STS endpoint, and for a Tencent
    /// provider's COS endpoint in `stsgate check`/`cors` (a self-signed stsgate playing the
    /// cloud, a TLS-intercepting proxy).
    pub ca_file: Option<PathBuf>,
    /// Seconds one upstream attempt may take (default 5).
    pub timeout: Option<f64>,
    /// Retries after a throttled or 5xx attempt (default 3; other failures are not retried).
    pub retries: Option<u32>,
    /// Browser origins that upload straight to the bucket (checked by `stsgate check` against
    /// the bucket's CORS rules).
    pub browser_origins: Option<Vec<String>>,
    /// The key `/auth/custom` signs with for this provider's grants: env vars or a file as for
    /// the main key. Absent: the caller's grant-scoped temporary credentials (as for `local`).
    pub custom_signing_key_id_env: Option<String>,
    pub custom_signing_key_secret_env: Option<String>,
    pub custom_signing_credentials_file: Option<PathBuf>,
}

/// `[[api_key]]`: a static API key caller. Only the key's SHA-256 is kept; make one with
/// `stsgate apikey new --name NAME`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyConfig {
    /// The caller's name: its subject (`${sub}` in grant prefixes) and audit id `key:NAME`;
    /// 1-64 of `[A-Za-z0-9._@-]`.
    pub name: String,
    /// SHA-256 of the key, 64 hex digits.
    pub sha256: String,
}

/// `[timeouts]` (seconds, every face): a client that does not finish its request head in
/// `header_read` seconds (default 30) is disconnected; a request body that sends nothing for
/// `body_idle` seconds (default 60) is answered `RequestTimeout` and nothing is stored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeoutsConfig {
    pub header_read: Option<u64>,
    pub body_idle: Option<u64>,
}

impl TimeoutsConfig {
    /// The validated timeouts (1 to 3600 s each).
    pub fn resolve(&self) -> anyhow::Result<crate::common::http::Timeouts> {
        let pick =
            |v: Option<u64>, default: u64, key: &str| -> anyhow::Result<std::time::Duration> {
                let secs = v.unwrap_or(default);
                if !(1..=3600).contains(&secs) {
                    bail!("timeouts.{key} = {secs}: give 1 to 3600 seconds");
                }
                Ok(std::time::Duration::from_secs(secs))
            };
        Ok(crate::common::http::Timeouts {
            header_read: pick(self.header_read, 30, "header_read")?,
            body_idle: pick(self.body_idle, 60, "body_idle")?,
        })
    }
}

/// `[api]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// Listen address (default `127.0.0.1:8700`; port 0 picks a free port).
    pub addr: Option<SocketAddr>,
    /// `false` turns the api face off.
    pub enabled: Option<bool>,
    /// `[api.jwt]`: how bearer JWTs are checked.
    #[serde(default)]
    pub jwt: JwtConfig,
    /// `GET /metrics` (Prometheus text) on the api listener (default `true`; it shows counts and
    /// latencies, never a credential, caller or key).
    pub metrics: Option<bool>,
    /// `[api.rate_limit]`: per client IP and per caller.
    #[serde(default)]
    pub rate_limit: RateLimitConfig,
    /// The origin browsers load the console from (`https://stsgate.example.com`), when it is not
    /// the listen address (behind a proxy, `0.0.0.0`). The embedded grant buckets get a CORS
    /// rule for it at start, and it counts as a `browser_origins` entry of every provider (so
    /// `stsgate check` and `stsgate cors set` cover it).
    pub console_origin: Option<String>,
}

/// `[api.rate_limit]`: requests over a limit get 429 with `Retry-After`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// `false` turns both limits off (default `true`).
    pub enabled: Option<bool>,
    /// Every api request from one client IP (an IPv6 client by its /64), before authentication
    /// (default 100/s, burst 200).
    pub per_ip: Option<RateConfig>,
    /// Every credentials, presign and sign request of one authenticated caller (default 20/s,
    /// burst 40).
    pub per_caller: Option<RateConfig>,
}

/// Default per client IP: 100 requests per second, burst 200.
pub const DEFAULT_PER_IP: RateConfig = RateConfig {
    per_second: 100,
    burst: Some(200),
};
/// Default per caller: 20 requests per second, burst 40.
pub const DEFAULT_PER_CALLER: RateConfig = RateConfig {
    per_second: 20,
    burst: Some(40),
};

/// `{ per_second = N, burst = M }`: a bucket of `burst` requests refilled at `per_second`.
/// `per_second = 0` turns this limit off; `burst` defaults to twice `per_second`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateConfig {
    pub per_second: u32,
    pub burst: Option<u32>,
}

/// `[api.jwt]`: how bearer JWTs are checked. HS256 tokens are signed with `DIR/jwt-hs256.key`
/// (see `stsgate token`) unless `hs256_secret_env`/`hs256_secret_file` name another secret;
/// RS256/ES256 tokens are checked with the public keys of `[[api.jwt.key]]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtConfig {
    /// Required `iss` claim, if set.
    pub issuer: Option<String>,
    /// Required `aud` claim (one of the token's audiences), if set.
    pub audience: Option<String>,
    /// The claim that names the caller (default `sub`).
    pub subject_claim: Option<String>,
    /// Accepted `alg` values among `HS256`, `RS256`, `ES256` (default: HS256 plus the algorithm
    /// of every `[[api.jwt.key]]`). `none` is never accepted.
    pub algorithms: Option<Vec<String>>,
    /// Environment variable holding the HS256 secret (at least 32 bytes).
    pub hs256_secret_env: Option<String>,
    /// File holding the HS256 secret (at least 32 bytes; refused if others can read it).
    pub hs256_secret_file: Option<PathBuf>,
    /// `[[api.jwt.key]]`: public keys for RS256/ES256 tokens.
    #[serde(default)]
    pub key: Vec<JwtKeyConfig>,
}

impl JwtConfig {
    /// The HS256 secret the config names (env or a 0600 file, at least 32 bytes), if any.
    pub fn hs256_secret(&self) -> anyhow::Result<Option<zeroize::Zeroizing<Vec<u8>>>> {
        let bytes = if let Some(var) = &self.hs256_secret_env {
            let v = std::env::var(var)
                .with_context(|| format!("api.jwt.hs256_secret_env: {var} is not set"))?;
            zeroize::Zeroizing::new(v.into_bytes())
        } else if let Some(path) = &self.hs256_secret_file {
            crate::datadir::check_private(path)?;
            let v = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let mut v = zeroize::Zeroizing::new(v);
            while v.last().is_some_and(|b| b.is_ascii_whitespace()) {
                v.pop();
            }
            v
        } else {
            return Ok(None);
        };
        if bytes.len() < 32 {
            bail!("the HS256 secret must be at least 32 bytes");
        }
        Ok(Some(bytes))
    }
}

/// `[[api.jwt.key]]`: one public key (`pem` or `pem_file`) or a set of them (`jwks_file`,
/// `jwks_url`).
///
/// A JWKS (file or URL) may hold only RS256 RSA keys and ES256 P-256 keys (`use: "enc"` keys are
/// skipped); a secret `oct` key, or any other kind, refuses the whole set. A token's `kid` picks
/// the key.
///
/// `jwks_url` is fetched when the server starts (start fails, naming the URL, if that fetch
/// fails: a server that could not check any token would only answer 401), then again every
/// `jwks_refresh` seconds, and at most once per 30 s when a token names a `kid` the set lacks
/// (key rotation without a restart). A failed or refused refresh keeps the last good key set
/// (logged with the URL, never a key) and is retried after a minute. Only `https://` URLs, or
/// `http://` to a loopback host (`127.0.0.0/8`, `[::1]`, `localhost`); no user or password in
/// the URL; redirects only to such URLs; the answer must be 2xx, at most 1 MiB, within 5 s.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtKeyConfig {
    /// `RS256` or `ES256`; required with `pem`/`pem_file`. With `jwks_file`/`jwks_url` it is
    /// optional and keeps only the set's keys of that algorithm (each key's own `alg`/`kty`
    /// decide).
    pub alg: Option<String>,
    /// Key id of a `pem`/`pem_file` key: when a token's header has a `kid`, only keys with that
    /// id (or none) are tried. A JWKS key's id is its own `kid`.
    pub kid: Option<String>,
    /// Inline PEM public key (`-----BEGIN PUBLIC KEY-----…`).
    pub pem: Option<String>,
    /// File holding a PEM public key.
    pub pem_file: Option<PathBuf>,
    /// File holding a JWKS (`{"keys":[…]}`), read at start; each key's `kid` selects it.
    pub jwks_file: Option<PathBuf>,
    /// URL of the identity provider's JWKS, e.g.
    /// `https://auth.example.com/.well-known/jwks.json` (see above for fetching and refreshes).
    pub jwks_url: Option<String>,
    /// Seconds between refreshes of `jwks_url` (default 600; 30 to 604800).
    pub jwks_refresh: Option<u64>,
}

/// Fewest seconds between refreshes of a `jwks_url` (`jwks_refresh`).
pub const JWKS_REFRESH_MIN_SECS: u64 = 30;
/// Most seconds between refreshes of a `jwks_url` (`jwks_refresh`).
pub const JWKS_REFRESH_MAX_SECS: u64 = 7 * 86_400;

/// Checks a `jwks_url`: `https://`, or `http://` to a loopback host (`127.0.0.0/8`, `[::1]`,
/// `localhost`), with no user or password in it.
pub fn check_jwks_url(url: &str) -> anyhow::Result<reqwest::Url> {
    let parsed = reqwest::Url::parse(url).with_context(|| format!("{url:?} is not a URL"))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        bail!("the JWKS URL must not carry a user or password");
    }
    match parsed.scheme() {
        "https" if parsed.host_str().is_some_and(|h| !h.is_empty()) => Ok(parsed),
        "http" if jwks_loopback(&parsed) => Ok(parsed),
        "http" => bail!(
            "{url}: use https (plain http only to a loopback host: 127.0.0.0/8, [::1], localhost)"
        ),
        other => bail!("{url}: the scheme must be https, not {other:?}"),
    }
}

fn jwks_loopback(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl JwtKeyConfig {
    fn check(&self) -> anyhow::Result<()> {
        let given = [
            self.pem.is_some(),
            self.pem_file.is_some(),
            self.jwks_file.is_some(),
            self.jwks_url.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            bail!("give exactly one of pem, pem_file, jwks_file, jwks_url");
        }
        if let Some(url) = &self.jwks_url {
            check_jwks_url(url).context("jwks_url")?;
        }
        match (self.jwks_refresh, self.jwks_url.is_some()) {
            (None, _) => {}
            (Some(_), false) => bail!("jwks_refresh goes with jwks_url only"),
            (Some(secs), true) => {
                let range = JWKS_REFRESH_MIN_SECS..=JWKS_REFRESH_MAX_SECS;
                if !range.contains(&secs) {
                    bail!(
                        "jwks_refresh: {secs} s is outside {} to {} seconds",
                        range.start(),
                        range.end()
                    );
                }
            }
        }
        let jwks = self.jwks_file.is_some() || self.jwks_url.is_some();
        match (self.alg.as_deref(), jwks) {
            (Some("RS256" | "ES256"), _) | (None, true) => Ok(()),
            (None, false) => bail!("alg is required with pem/pem_file: \"RS256\" or \"ES256\""),
            (Some(other), _) => bail!("alg {other:?}: use \"RS256\" or \"ES256\""),
        }
    }
}

/// `[[grant]]`: one kind of credentials callers may ask for.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantConfig {
    /// Name used in `/v1/credentials?grant=NAME`: 1-64 of `[A-Za-z0-9._-]`.
    pub name: String,
    /// The bucket the credentials reach.
    pub bucket: String,
    /// Key prefix template ending in `/`, e.g. `users/${sub}/`; `${CLAIM}` is the caller's claim.
    pub prefix: String,
    /// Bundles: `read`, `write`, `list`, `delete`.
    pub actions: Vec<String>,
    /// Lifetime of issued credentials in seconds (900 to `max_duration`; default 900).
    pub default_duration: Option<i64>,
    /// Longest lifetime in seconds (up to 43200; default 3600).
    pub max_duration: Option<i64>,
    /// Conditions on the caller's claims: `{ role = "editor", plan = ["pro", "team"] }`. A caller
    /// whose claim is absent or holds none of the listed values is refused (403).
    pub required_claims: Option<std::collections::BTreeMap<String, ClaimValues>>,
    /// Client IP ranges (CIDRs or single addresses) allowed to ask for and use the credentials:
    /// requests from elsewhere are refused (403), and issued credentials carry an
    /// `IpAddress acs:SourceIp` condition, so the oss face refuses their use from elsewhere too.
    pub source_ips: Option<Vec<String>>,
    /// The `[provider.NAME]` that issues this grant's credentials (default `local`: the
    /// embedded faces).
    pub provider: Option<String>,
    /// `aliyun` (the default) or `tencent`: the cloud whose credentials, policy grammar and
    /// formats the grant uses. A grant of a `[provider.NAME]` takes the provider's `type`.
    /// Tencent buckets are spelt `<name>-<appid>`.
    pub vendor: Option<String>,
}

/// One required claim value or a list of accepted ones.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ClaimValues {
    One(String),
    Any(Vec<String>),
}

impl ClaimValues {
    pub fn values(&self) -> Vec<String> {
        match self {
            ClaimValues::One(v) => vec![v.clone()],
            ClaimValues::Any(v) => v.clone(),
        }
    }
}

/// `[tls]`: every face serves https (rustls) when `enabled`. Without `cert_file`/`key_file`, a
/// self-signed CA and certificate are made at the first TLS start in `DIR/tls/` (`serve` prints
/// the CA file for clients to trust).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// `true` turns https on for every face (default `false`; `serve --tls` also does).
    pub enabled: Option<bool>,
    /// PEM certificate chain (leaf first).
    pub cert_file: Option<PathBuf>,
    /// PEM private key (refused if others can read it).
    pub key_file: Option<PathBuf>,
    /// Extra names (DNS names or IP addresses) of the self-signed certificate, besides
    /// `localhost`, `127.0.0.1` and `::1`, e.g. `["sts.tencentcloudapi.com"]` for clients that
    /// reach stsgate through a CONNECT proxy under the cloud's host name.
    pub names: Option<Vec<String>>,
}

/// `[sts]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StsConfig {
    /// Listen address (default `127.0.0.1:8701`; port 0 picks a free port).
    pub addr: Option<SocketAddr>,
    /// `false` turns the sts face off.
    pub enabled: Option<bool>,
}

/// `[tc_sts]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcStsConfig {
    /// Listen address (default `127.0.0.1:8704`; port 0 picks a free port).
    pub addr: Option<SocketAddr>,
    /// `false` turns the tc-sts face off.
    pub enabled: Option<bool>,
}

/// `[oss]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OssConfig {
    /// Listen address (default `127.0.0.1:8702`; port 0 picks a free port).
    pub addr: Option<SocketAddr>,
    /// `false` turns the oss face off.
    pub enabled: Option<bool>,
}

/// `[cos]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CosConfig {
    /// Listen address (default `127.0.0.1:8703`; port 0 picks a free port).
    pub addr: Option<SocketAddr>,
    /// `false` turns the cos face off.
    pub enabled: Option<bool>,
    /// The COS region the face reports and CAM resources name, e.g. `ap-guangzhou` (the
    /// default). Requests to any region's host are served.
    pub region: Option<String>,
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config {}", path.display()))?;
        Config::parse(&text).with_context(|| format!("in config {}", path.display()))
    }

    pub fn parse(text: &str) -> anyhow::Result<Config> {
        let mut config: Config = toml::from_str(text)?;
        let regions = [
            ("region", &config.region, "cn-hangzhou"),
            ("cos.region", &config.cos.region, "ap-guangzhou"),
        ];
        for (key, region, example) in regions {
            if let Some(region) = region {
                if region.is_empty()
                    || !region
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                {
                    bail!("{key}: \"{region}\" is not a region id such as \"{example}\"");
                }
            }
        }
        config.timeouts.resolve()?;
        if let Some(origin) = &config.api.console_origin {
            if !crate::common::upstream::valid_origin(origin) {
                bail!("api.console_origin: {origin:?} is not an origin such as \"https://stsgate.example.com\" (scheme://host[:port], no path or trailing /)");
            }
            for p in config.provider.values_mut() {
                let origins = p.browser_origins.get_or_insert_with(Vec::new);
                if !origins.contains(origin) {
                    origins.push(origin.clone());
                }
            }
        }
        for (name, p) in &config.provider {
            if let Some(kind) = p.kind.as_deref() {
                if Vendor::parse(kind).is_none() {
                    bail!("[provider.{name}] type = {kind:?}: use \"aliyun\" or \"tencent\"");
                }
            }
        }
        let grants = match config.grant.is_empty() {
            true => default_grants(),
            false => config.grant.clone(),
        };
        for (i, g) in grants.iter().enumerate() {
            let grant = config
                .grant_of(g)
                .with_context(|| format!("grant[{i}] ({:?})", g.name))?;
            config.grants.push(grant);
        }
        let jwt = &config.api.jwt;
        for (i, key) in jwt.key.iter().enumerate() {
            key.check().with_context(|| format!("api.jwt.key[{i}]"))?;
        }
        for alg in jwt.algorithms.iter().flatten() {
            if !["HS256", "RS256", "ES256"].contains(&alg.as_str()) {
                bail!("api.jwt.algorithms: {alg:?} is not one of \"HS256\", \"RS256\", \"ES256\"");
            }
        }
        if jwt.hs256_secret_env.is_some() && jwt.hs256_secret_file.is_some() {
            bail!("api.jwt: give hs256_secret_env or hs256_secret_file, not both");
        }
        if matches!(&jwt.subject_claim, Some(c) if c.is_empty()) {
            bail!("api.jwt.subject_claim: must not be empty");
        }
        for (i, k) in config.api_key.iter().enumerate() {
            let name_ok = (1..=64).contains(&k.name.len())
                && k.name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._@-".contains(c));
            if !name_ok {
                bail!(
                    "api_key[{i}].name: {:?} must be 1-64 of [A-Za-z0-9._@-]",
                    k.name
                );
            }
            if k.sha256.len() != 64 || !k.sha256.chars().all(|c| c.is_ascii_hexdigit()) {
                bail!(
                    "api_key[{i}] ({:?}).sha256: must be 64 hex digits (stsgate apikey new prints it)",
                    k.name
                );
            }
        }
        let rl = &config.api.rate_limit;
        for (name, rate) in [("per_ip", rl.per_ip), ("per_caller", rl.per_caller)] {
            if let Some(RateConfig {
                per_second,
                burst: Some(burst),
            }) = rate
            {
                if per_second > 0 && burst == 0 {
                    bail!("api.rate_limit.{name}.burst: must be at least 1 (or set per_second = 0 to turn the limit off)");
                }
            }
        }
        let mut keys: Vec<&str> = config.api_key.iter().map(|k| k.name.as_str()).collect();
        keys.sort_unstable();
        if let Some(w) = keys.windows(2).find(|w| w[0] == w[1]) {
            bail!("api_key: the name {:?} is used twice", w[0]);
        }
        let mut names: Vec<&str> = config.grant.iter().map(|g| g.name.as_str()).collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            bail!("grant: the name {:?} is used twice", w[0]);
        }
        Ok(config)
    }
}

impl Config {
    /// Validates one `[[grant]]`: its own keys, then its provider (configured, and of the
    /// grant's vendor; the grant takes the provider's vendor when it names none).
    fn grant_of(&self, g: &GrantConfig) -> anyhow::Result<Grant> {
        let provider = g.provider.as_deref().unwrap_or(LOCAL);
        let mut g = g.clone();
        if provider != LOCAL {
            let Some(p) = self.provider.get(provider) else {
                let mut known = vec![LOCAL];
                known.extend(self.provider.keys().map(String::as_str));
                bail!(
                    "provider {provider:?} is not configured: add a [provider.{provider}] table or use one of: {}",
                    known.join(", ")
                );
            };
            let kind = p.kind.as_deref().unwrap_or("aliyun");
            match g.vendor.as_deref() {
                None => g.vendor = Some(kind.to_string()),
                Some(v) if v == kind => {}
                Some(v) => bail!(
                    "vendor {v:?} does not match provider {provider:?} (type {kind:?}); leave vendor out or make them agree"
                ),
            }
        }
        Grant::from_config(&g)
    }

    /// The vendor of `[provider.NAME]` (its `type`).
    pub fn provider_vendor(&self, name: &str) -> Option<Vendor> {
        let p = self.provider.get(name)?;
        Vendor::parse(p.kind.as_deref().unwrap_or("aliyun"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_provider_block_parses_when_uncommented() {
        let text = include_str!("../../../config.example.toml");
        let start = text
            .find("# [provider.prod]")
            .expect("the example documents a provider");
        let block: String = text[start..]
            .lines()
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| {
                l.starts_with("[provider.")
                    || l.split_once(" = ")
                        .is_some_and(|(k, _)| k.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            })
            .map(|l| format!("{l}\n"))
            .collect();
        let c = Config::parse(&block).unwrap();
        let p = &c.provider["prod"];
        assert_eq!(p.kind.as_deref(), Some("aliyun"));
        assert!(p.role_arn.as_deref().unwrap().starts_with("acs:ram::"));
        assert!(p.access_key_id_env.is_some() && p.credentials_file.is_some());
        assert!(p.custom_signing_key_id_env.is_some() && p.browser_origins.is_some());
        assert_eq!((p.timeout, p.retries), (Some(5.0), Some(3)));
    }

    #[test]
    fn the_console_origin_is_every_providers_browser_origin() {
        let text = r#"
[api]
console_origin = "https://stsgate.example.com"
[provider.a]
type = "aliyun"
browser_origins = ["https://app.example.com"]
[provider.b]
type = "tencent"
[provider.c]
type = "aliyun"
browser_origins = ["https://stsgate.example.com"]
"#;
        let c = Config::parse(text).unwrap();
        let origins = |name: &str| c.provider[name].browser_origins.clone().unwrap();
        assert_eq!(
            origins("a"),
            ["https://app.example.com", "https://stsgate.example.com"]
        );
        assert_eq!(origins("b"), ["https://stsgate.example.com"]);
        assert_eq!(origins("c"), ["https://stsgate.example.com"]);
        for bad in [
            "https://stsgate.example.com/",
            "stsgate.example.com",
            "ftp://x",
        ] {
            let text = format!("[api]\nconsole_origin = {bad:?}\n");
            let e = format!("{:#}", Config::parse(&text).unwrap_err());
            assert!(e.contains("api.console_origin"), "{bad}: {e}");
        }
    }

    #[test]
    fn example_config_parses() {
        let text = include_str!("../../../config.example.toml");
        let c = Config::parse(text).unwrap();
        assert_eq!(c.region.as_deref(), Some("cn-hangzhou"));
        assert_eq!(c.oss.addr, Some("127.0.0.1:8702".parse().unwrap()));
        assert_eq!(c.sts.addr, Some("127.0.0.1:8701".parse().unwrap()));
        assert_eq!(c.sts.enabled, Some(true));
        assert_eq!(c.tc_sts.addr, Some("127.0.0.1:8704".parse().unwrap()));
        assert_eq!(c.tc_sts.enabled, Some(true));
        assert_eq!(c.cos.addr, Some("127.0.0.1:8703".parse().unwrap()));
        assert_eq!(c.cos.enabled, Some(true));
        assert_eq!(c.cos.region.as_deref(), Some("ap-guangzhou"));
        assert_eq!(c.api.addr, Some("127.0.0.1:8700".parse().unwrap()));
        assert_eq!(c.grant.len(), 3);
        assert_eq!(c.grant[0].name, "user-folder");
        assert_eq!(c.grants[2].vendor, Vendor::Tencent);
        assert_eq!(c.grants[2].bucket, "app-${appid}");
        assert_eq!(c.tls.enabled, Some(false));
        assert_eq!(c.api.jwt.subject_claim.as_deref(), Some("sub"));
        assert_eq!(c.api_key.len(), 1);
        assert!(c.api.jwt.key.is_empty());
        assert_eq!(c.api.metrics, Some(true));
        assert_eq!(c.api.rate_limit.enabled, Some(true));
        assert_eq!(c.api.rate_limit.per_caller, Some(DEFAULT_PER_CALLER));
        assert_eq!(c.api.rate_limit.per_ip, Some(DEFAULT_PER_IP));
    }

    #[test]
    fn tc_sts_table() {
        let c = Config::parse("[tc_sts]\naddr = \"127.0.0.1:0\"\nenabled = false\n").unwrap();
        assert_eq!(c.tc_sts.addr, Some("127.0.0.1:0".parse().unwrap()));
        assert_eq!(c.tc_sts.enabled, Some(false));
        let err = format!("{:#}", Config::parse("[tc_sts]\nport = 1\n").unwrap_err());
        assert!(err.contains("unknown field `port`"), "{err}");
        assert_eq!(Config::default().tc_sts.addr, None);
    }

    #[test]
    fn jwt_keys_and_api_keys_are_checked() {
        let bad = |text: &str, want: &str| {
            let err = format!("{:#}", Config::parse(text).unwrap_err());
            assert!(err.contains(want), "{err} lacks {want}");
        };
        bad("[api.jwt]\nsecret = \"x\"\n", "unknown field `secret`");
        bad(
            "[[api.jwt.key]]\nalg = \"RS256\"\npem_path = \"k\"\n",
            "unknown field `pem_path`",
        );
        bad("[[api.jwt.key]]\nalg = \"RS256\"\n", "exactly one of");
        bad("[[api.jwt.key]]\npem = \"x\"\n", "alg is required");
        bad("[[api.jwt.key]]\nalg = \"none\"\npem = \"x\"\n", "\"none\"");
        bad(
            "[[api.jwt.key]]\njwks_url = \"http://idp.example.com/jwks\"\n",
            "https",
        );
        bad(
            "[[api.jwt.key]]\njwks_url = \"https://x/\"\njwks_file = \"f\"\n",
            "exactly one of",
        );
        bad(
            "[[api.jwt.key]]\njwks_url = \"https://x/\"\njwks_refresh = 5\n",
            "jwks_refresh",
        );
        bad(
            "[[api.jwt.key]]\njwks_file = \"f\"\njwks_refresh = 60\n",
            "jwks_url only",
        );
        bad("[api.jwt]\nalgorithms = [\"none\"]\n", "api.jwt.algorithms");
        bad(
            "[api.jwt]\nhs256_secret_env = \"A\"\nhs256_secret_file = \"f\"\n",
            "not both",
        );
        bad(
            "[[api_key]]\nname = \"a/b\"\nsha256 = \"00\"\n",
            "api_key[0].name",
        );
        bad(
            "[[api_key]]\nname = \"ci\"\nsha256 = \"00\"\n",
            "64 hex digits",
        );
        bad(
            "[[api_key]]\nname = \"ci\"\nkey = \"sk_x\"\n",
            "unknown field `key`",
        );
        let h = "a".repeat(64);
        bad(
            &format!("[[api_key]]\nname = \"ci\"\nsha256 = \"{h}\"\n[[api_key]]\nname = \"ci\"\nsha256 = \"{h}\"\n"),
            "used twice",
        );
        Config::parse("[[api.jwt.key]]\nalg = \"ES256\"\nkid = \"k1\"\npem_file = \"/etc/k.pem\"\n[[api.jwt.key]]\njwks_file = \"/etc/jwks.json\"\n").unwrap();
        Config::parse("[[api.jwt.key]]\njwks_url = \"https://auth.example.com/.well-known/jwks.json\"\njwks_refresh = 300\nalg = \"RS256\"\n[[api.jwt.key]]\njwks_url = \"http://127.0.0.1:9/jwks\"\n").unwrap();
    }

    #[test]
    fn bad_grants_are_named() {
        let err = format!(
            "{:#}",
            Config::parse("[[grant]]\nname = \"g\"\nbucket = \"app\"\nprefix = \"users/${sub}\"\nactions = [\"read\"]\n")
                .unwrap_err()
        );
        assert!(
            err.contains("grant[0]") && err.contains("must end with '/'"),
            "{err}"
        );
        let err = format!(
            "{:#}",
            Config::parse(
                "[[grant]]\nname = \"g\"\nbucket = \"app\"\nprefix = \"u/\"\nactions = [\"fly\"]\n"
            )
            .unwrap_err()
        );
        assert!(err.contains("fly"), "{err}");
    }

    #[test]
    fn grant_conditions_parse() {
        let c = Config::parse(
            "[[grant]]\nname = \"g\"\nbucket = \"app\"\nprefix = \"u/${sub}/\"\nactions = [\"read\"]\n\
             required_claims = { role = \"editor\", plan = [\"pro\", \"team\"] }\n\
             source_ips = [\"10.0.0.0/8\", \"127.0.0.1/32\"]\n",
        )
        .unwrap();
        let rc = c.grant[0].required_claims.as_ref().unwrap();
        assert_eq!(rc["role"], ClaimValues::One("editor".into()));
        assert_eq!(rc["plan"].values(), ["pro", "team"]);
        assert_eq!(c.grant[0].source_ips.as_ref().unwrap().len(), 2);
        let err = format!(
            "{:#}",
            Config::parse("[[grant]]\nname = \"g\"\nbucket = \"app\"\nprefix = \"u/\"\nactions = [\"read\"]\nsource_ips = [\"10.0.0.0/40\"]\n")
                .unwrap_err()
        );
        assert!(
            err.contains("grant[0]") && err.contains("source_ips"),
            "{err}"
        );
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = format!(
            "{:#}",
            Config::parse("[oss]\naddress = \"x\"\n").unwrap_err()
        );
        assert!(err.contains("unknown field `address`"), "{err}");
        let err = format!("{:#}", Config::parse("region = \"CN HZ\"\n").unwrap_err());
        assert!(err.contains("region"), "{err}");
    }
}
