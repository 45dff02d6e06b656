//! The commands that talk to a configured cloud (`[provider.NAME]`): `stsgate cors get|set|delete`
//! (bucket CORS on the provider's OSS, signed with its RAM user's key) and the provider probes of
//! `stsgate check` (GetCallerIdentity, a dry AssumeRole, a signed HEAD per bucket, CORS
//! preflights per browser origin), each printed as one [`Check`] line with a fix when it fails.

use crate::aliyun::client::{Credentials, OssClient, OssError, SignatureVersion};
use crate::aliyun::provider::{AliyunProvider, AssumeRoleInput, MAX_POLICY_BYTES};
use crate::api::grants::{Grant, TemplateError};
use crate::common::provider::KeyPair;
use crate::config::Config;
use crate::secret::Secret;
use anyhow::{anyhow, bail};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use stsgate_store::{CorsConfig, CorsRule};

/// `stsgate cors set` defaults: what browser uploads (ali-oss PUT, multipart, PostObject) and
/// downloads need.
pub const DEFAULT_METHODS: [&str; 4] = ["PUT", "POST", "GET", "HEAD"];
pub const DEFAULT_HEADERS: [&str; 1] = ["*"];
/// `ETag` for multipart uploads, `x-oss-request-id` for error reports.
pub const DEFAULT_EXPOSE_HEADERS: [&str; 2] = ["ETag", "x-oss-request-id"];
pub const DEFAULT_MAX_AGE: u64 = 600;

/// The subject, session name and object name stem of `stsgate check`'s probes.
pub const CHECK_SUBJECT: &str = "stsgate-check";
/// The object HEADed under the grant's prefix (it need not exist: 404 NoSuchKey is a pass).
pub const PROBE_KEY: &str = "stsgate-check-probe";
/// Duration of the dry AssumeRole.
pub const CHECK_DURATION: i64 = 900;
/// The methods whose preflights `stsgate check` sends per browser origin.
pub const PREFLIGHT_METHODS: [&str; 2] = ["PUT", "POST"];
/// The request headers those preflights announce (what ali-oss sends from a browser).
pub const PREFLIGHT_HEADERS: [&str; 6] = [
    "authorization",
    "content-type",
    "x-oss-content-sha256",
    "x-oss-date",
    "x-oss-security-token",
    "x-oss-user-agent",
];

/// The methods an `AllowedMethod` may name.
const CORS_METHODS: [&str; 5] = ["GET", "PUT", "DELETE", "POST", "HEAD"];

// ---------------------------------------------------------------------------------------------
// Check lines

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    /// Works, but something will bite later (a main-account key, no ETag exposed, …).
    Warn,
    /// Not run (what it needs is missing); says why.
    Skip,
    Fail,
}

/// One line of `stsgate check`: `ok …`, `warn … — fix: …`, `skip …` or `FAIL … — fix: …`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub status: Status,
    pub text: String,
    pub fix: Option<String>,
}

impl Check {
    fn ok(text: impl Into<String>) -> Check {
        Check {
            status: Status::Ok,
            text: text.into(),
            fix: None,
        }
    }
    fn warn(text: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            status: Status::Warn,
            text: text.into(),
            fix: Some(fix.into()),
        }
    }
    fn skip(text: impl Into<String>) -> Check {
        Check {
            status: Status::Skip,
            text: text.into(),
            fix: None,
        }
    }
    fn fail(text: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            status: Status::Fail,
            text: text.into(),
            fix: Some(fix.into()),
        }
    }
    pub fn failed(&self) -> bool {
        self.status == Status::Fail
    }
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let word = match self.status {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Skip => "skip",
            Status::Fail => "FAIL",
        };
        write!(f, "{word} {}", self.text)?;
        if let Some(fix) = &self.fix {
            write!(f, " — fix: {fix}")?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// What both commands talk to

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

    fn client(&self) -> anyhow::Result<OssClient> {
        OssClient::new(&self.oss_endpoint, &self.region, self.timeout)
            .map_err(|e| anyhow!("[provider.{}]: {e}", self.provider))
    }

    /// The client signing with the RAM user's long-term key.
    fn key_client(&self, version: SignatureVersion) -> anyhow::Result<OssClient> {
        Ok(self.client()?.signed(
            Credentials {
                access_key_id: self.key.id.clone(),
                secret: self.key.secret.clone(),
                security_token: None,
            },
            version,
        ))
    }
}

/// What a failed OSS call was, for its fix.
struct FixContext<'a> {
    target: &'a OssTarget,
    bucket: &'a str,
    /// The RAM action the call needs, e.g. `oss:PutBucketCors`.
    action: &'a str,
    /// The RAM resource, e.g. `acs:oss:*:*:app`.
    resource: String,
    /// Signed with temporary credentials of `role_arn` (else the RAM user's key).
    role_arn: Option<&'a str>,
    version: SignatureVersion,
}

/// What to change after an OSS error.
fn fix_for(e: &OssError, cx: &FixContext) -> String {
    let t = cx.target;
    let (p, bucket, endpoint) = (&t.provider, cx.bucket, &t.oss_endpoint);
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
        "RequestTimeTooSkewed" => format!(
            "this machine's clock is off by more than 15 minutes (local time {}): sync it (NTP)",
            crate::common::dates::rfc1123(time::OffsetDateTime::now_utc())
        ),
        "SecurityTokenExpired" | "InvalidSecurityToken" => format!(
            "OSS at {endpoint} does not accept the security token from sts_endpoint of [provider.{p}]: both endpoints must belong to the same cloud"
        ),
        "MalformedXML" | "InvalidArgument" | "InvalidDigest" => "OSS refused the rule: give origins with at most one '*', methods among GET PUT DELETE POST HEAD, expose headers without '*'".to_string(),
        "Timeout" => format!(
            "no answer from {endpoint} within {} s: check oss_endpoint in [provider.{p}] and the network",
            t.timeout.as_secs_f64()
        ),
        "Unreachable" => format!(
            "cannot reach {endpoint}: check oss_endpoint in [provider.{p}], proxies and firewalls"
        ),
        "MalformedResponse" => format!(
            "{endpoint} did not answer as OSS does: is oss_endpoint in [provider.{p}] an OSS endpoint?"
        ),
        code => match &e.ec {
            Some(ec) => format!("see https://api.aliyun.com/troubleshoot?q={ec}"),
            None => format!("see OSS's error code reference for {code}"),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// stsgate cors

/// The rule `stsgate cors set` writes; empty lists take the defaults.
#[derive(Debug, Clone, Default)]
pub struct RuleArgs {
    pub origins: Vec<String>,
    pub methods: Vec<String>,
    pub headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age: Option<u64>,
}

/// What `stsgate cors` does.
#[derive(Debug, Clone)]
pub enum CorsAction {
    Get,
    Set(RuleArgs),
    Delete,
}

/// Loads `[provider.NAME]` of the config at `path` (errors name the provider).
pub fn load_provider(path: &Path, name: &str) -> anyhow::Result<AliyunProvider> {
    let config = Config::load(path)?;
    let Some(cfg) = config.provider.get(name) else {
        let known: Vec<&str> = config.provider.keys().map(String::as_str).collect();
        bail!(
            "{} has no [provider.{name}] (configured: {})",
            path.display(),
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        );
    };
    AliyunProvider::from_config(name, cfg, config.region.as_deref(), Default::default())
}

/// `stsgate cors get|set|delete --config FILE --provider NAME --bucket B`: the lines to print.
pub async fn cors(
    config_path: &Path,
    provider: &str,
    bucket: &str,
    action: CorsAction,
    version: SignatureVersion,
) -> anyhow::Result<Vec<String>> {
    let provider = load_provider(config_path, provider)?;
    cors_on(
        &OssTarget::of(&provider),
        config_path,
        bucket,
        action,
        version,
    )
    .await
}

/// [`cors`] against an already loaded target.
pub async fn cors_on(
    target: &OssTarget,
    config_path: &Path,
    bucket: &str,
    action: CorsAction,
    version: SignatureVersion,
) -> anyhow::Result<Vec<String>> {
    if !stsgate_store::valid_bucket_name(bucket) {
        bail!("--bucket {bucket:?} is not a valid bucket name (3-63 of [a-z0-9-], starting and ending with a letter or digit)");
    }
    let client = target.key_client(version)?;
    let via = format!(
        "provider {}, {}, signature {}",
        target.provider,
        target.oss_endpoint,
        version.as_str()
    );
    let cx = |action: &'static str| FixContext {
        target,
        bucket,
        action,
        resource: format!("acs:oss:*:*:{bucket}"),
        role_arn: None,
        version,
    };
    let failed = |op: &str, e: OssError, action: &'static str| {
        anyhow!(
            "{op} on bucket {bucket} ({via}) failed: {} — fix: {}",
            e.describe(),
            fix_for(&e, &cx(action))
        )
    };
    match action {
        CorsAction::Get => match client.get_bucket_cors(bucket).await {
            Ok(Some(config)) => Ok(config_lines(&config)),
            Ok(None) => Ok(vec![format!(
                "bucket {bucket} has no CORS rules (NoSuchCORSConfiguration): browsers cannot use it directly; add a rule: {}",
                cors_set_command(config_path, &target.provider, bucket, &target.browser_origins)
            )]),
            Err(e) => Err(failed("GetBucketCors", e, "oss:GetBucketCors")),
        },
        CorsAction::Set(args) => {
            let rule = build_rule(args, target)?;
            let config = CorsConfig {
                rules: vec![rule],
                response_vary: false,
            };
            let request_id = client
                .put_bucket_cors(bucket, &config)
                .await
                .map_err(|e| failed("PutBucketCors", e, "oss:PutBucketCors"))?;
            let mut lines = vec![format!(
                "set the CORS rules of bucket {bucket} ({via}{})",
                request_id.map_or(String::new(), |id| format!(", RequestId {id}"))
            )];
            lines.extend(config_lines(&config));
            Ok(lines)
        }
        CorsAction::Delete => {
            client
                .delete_bucket_cors(bucket)
                .await
                .map_err(|e| failed("DeleteBucketCors", e, "oss:DeleteBucketCors"))?;
            Ok(vec![format!(
                "deleted the CORS rules of bucket {bucket} ({via})"
            )])
        }
    }
}

/// The one rule of `cors set`, validated as OSS would (so the error is ours, and clear).
pub fn build_rule(args: RuleArgs, target: &OssTarget) -> anyhow::Result<CorsRule> {
    let or_default = |given: Vec<String>, default: &[&str]| match given.is_empty() {
        true => default.iter().map(|s| s.to_string()).collect(),
        false => given,
    };
    let origins = match args.origins.is_empty() {
        true => target.browser_origins.clone(),
        false => args.origins,
    };
    if origins.is_empty() {
        bail!(
            "give at least one --origin (e.g. --origin https://app.example.com), or set browser_origins in [provider.{}]",
            target.provider
        );
    }
    let methods: Vec<String> = or_default(args.methods, &DEFAULT_METHODS)
        .into_iter()
        .map(|m| m.trim().to_ascii_uppercase())
        .collect();
    let rule = CorsRule {
        allowed_origins: origins.into_iter().map(|o| o.trim().to_string()).collect(),
        allowed_methods: methods,
        allowed_headers: or_default(args.headers, &DEFAULT_HEADERS),
        expose_headers: or_default(args.expose_headers, &DEFAULT_EXPOSE_HEADERS),
        max_age_seconds: Some(args.max_age.unwrap_or(DEFAULT_MAX_AGE)),
    };
    let values = rule
        .allowed_origins
        .iter()
        .chain(&rule.allowed_headers)
        .chain(&rule.expose_headers);
    for v in values {
        if v.is_empty() || v.chars().any(char::is_control) {
            bail!("{v:?}: CORS values must be non-empty, without control characters");
        }
    }
    if let Some(o) = rule
        .allowed_origins
        .iter()
        .find(|o| o.matches('*').count() > 1)
    {
        bail!("--origin {o:?}: an origin may hold at most one '*'");
    }
    if let Some(m) = rule
        .allowed_methods
        .iter()
        .find(|m| !CORS_METHODS.contains(&m.as_str()))
    {
        bail!("--method {m:?}: use GET, PUT, DELETE, POST or HEAD");
    }
    if let Some(h) = rule.expose_headers.iter().find(|h| h.contains('*')) {
        bail!("--expose-header {h:?}: OSS allows no '*' there");
    }
    Ok(rule)
}

/// One line per rule: `rule 1: origins …; methods …; headers …; expose …; max-age …`.
pub fn config_lines(config: &CorsConfig) -> Vec<String> {
    let list = |v: &[String]| match v.is_empty() {
        true => "-".to_string(),
        false => v.join(","),
    };
    let mut lines: Vec<String> = config
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            format!(
                "rule {}: origins {}; methods {}; headers {}; expose {}; max-age {}",
                i + 1,
                list(&r.allowed_origins),
                list(&r.allowed_methods),
                list(&r.allowed_headers),
                list(&r.expose_headers),
                r.max_age_seconds.map_or("-".to_string(), |s| s.to_string())
            )
        })
        .collect();
    if config.rules.is_empty() {
        lines.push("no CORS rules".to_string());
    }
    if config.response_vary {
        lines.push("response-vary: true".to_string());
    }
    lines
}

/// A shell word: as is when safe, else single-quoted.
fn shell_word(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@%+=,".contains(c));
    match safe {
        true => s.to_string(),
        false => format!("'{}'", s.replace('\'', r"'\''")),
    }
}

/// `stsgate cors set --config F --provider P --bucket B --origin O…` (every origin: set replaces).
pub fn cors_set_command(config: &Path, provider: &str, bucket: &str, origins: &[String]) -> String {
    let mut cmd = format!(
        "stsgate cors set --config {} --provider {} --bucket {}",
        shell_word(&config.display().to_string()),
        shell_word(provider),
        shell_word(bucket)
    );
    match origins.is_empty() {
        true => cmd.push_str(" --origin https://YOUR-APP-ORIGIN"),
        false => {
            for o in origins {
                cmd.push_str(&format!(" --origin {}", shell_word(o)));
            }
        }
    }
    cmd
}

// ---------------------------------------------------------------------------------------------
// stsgate check: the providers

/// A grant of a provider, rendered for the check subject.
#[derive(Debug, Clone)]
struct Rendered {
    grant: Grant,
    prefix: String,
    policy: String,
}

/// Renders `grant`'s prefix with every claim it needs set to `value` (`sub` first).
fn render_prefix(grant: &Grant, value: &str) -> Result<String, String> {
    let mut claims = Map::new();
    claims.insert("sub".into(), Value::String(value.into()));
    for _ in 0..64 {
        match grant.prefix(&claims) {
            Ok(prefix) => return Ok(prefix),
            Err(TemplateError::Missing(claim)) if !claims.contains_key(&claim) => {
                claims.insert(claim, Value::String(value.into()));
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    Err("the prefix template needs too many claims".into())
}

/// The policy-size checks of a provider's grants (no network): one line each.
fn policy_checks(provider: &str, grants: &[Grant]) -> (Vec<Check>, Vec<Rendered>) {
    let mut lines = Vec::new();
    let mut fitting = Vec::new();
    for grant in grants {
        let name = &grant.name;
        let prefix = match render_prefix(grant, CHECK_SUBJECT) {
            Ok(p) => p,
            Err(e) => {
                lines.push(Check::fail(
                    format!(
                        "grant {name} (provider {provider}): prefix {:?}: {e}",
                        grant.template
                    ),
                    "use claims of 1-128 of [A-Za-z0-9._@-] in the prefix template",
                ));
                continue;
            }
        };
        let policy = crate::aliyun::policy::render(grant, &prefix);
        let longest = render_prefix(grant, &"x".repeat(128))
            .map(|p| crate::aliyun::policy::render(grant, &p).len())
            .unwrap_or(policy.len());
        if policy.len() > MAX_POLICY_BYTES {
            lines.push(Check::fail(
                format!(
                    "grant {name} (provider {provider}): its policy is {} bytes for subject {CHECK_SUBJECT}, over STS's limit of {MAX_POLICY_BYTES} bytes",
                    policy.len()
                ),
                format!("narrow grant {name}: fewer actions or source_ips, a shorter bucket name or prefix"),
            ));
            continue;
        }
        if longest > MAX_POLICY_BYTES {
            // `serve` refuses to start with such a grant (api::grants::check_providers).
            lines.push(Check::fail(
                format!(
                    "grant {name} (provider {provider}): policy {} bytes for subject {CHECK_SUBJECT}, but {longest} bytes (over STS's {MAX_POLICY_BYTES}) for 128-character claim values, so `stsgate serve` refuses this grant",
                    policy.len()
                ),
                format!("shorten grant {name}'s prefix or source_ips"),
            ));
        } else {
            lines.push(Check::ok(format!(
                "grant {name} (provider {provider}): policy {} bytes for subject {CHECK_SUBJECT} (at most {longest}; limit {MAX_POLICY_BYTES})",
                policy.len()
            )));
        }
        fitting.push(Rendered {
            grant: grant.clone(),
            prefix,
            policy,
        });
    }
    (lines, fitting)
}

/// The narrowest of `grants`: fewest action bundles, then shortest policy, then name.
fn narrowest<'r>(grants: impl IntoIterator<Item = &'r Rendered>) -> Option<&'r Rendered> {
    grants.into_iter().min_by(|a, b| {
        (a.grant.bundles.len(), a.policy.len(), &a.grant.name).cmp(&(
            b.grant.bundles.len(),
            b.policy.len(),
            &b.grant.name,
        ))
    })
}

/// Probes every `[provider.NAME]` of `config`, reporting each line as it is known; returns the
/// number of failed checks. `config_path` goes into the fix commands. Nothing is printed for a
/// config without providers.
pub async fn probe(config: &Config, config_path: &Path, report: &mut dyn FnMut(&Check)) -> usize {
    let mut failures = 0;
    let mut emit = |c: Check| {
        if c.failed() {
            failures += 1;
        }
        report(&c);
    };
    for (name, cfg) in &config.provider {
        // The config is validated as it loads: its grants are.
        let grants: Vec<Grant> = config
            .grants
            .iter()
            .filter(|g| g.provider == *name)
            .cloned()
            .collect();
        let provider = match AliyunProvider::from_config(
            name,
            cfg,
            config.region.as_deref(),
            Default::default(),
        ) {
            Ok(p) => p,
            Err(e) => {
                emit(Check::fail(
                    format!("provider {name}: {e:#}"),
                    format!("correct [provider.{name}] as the message says"),
                ));
                continue;
            }
        };
        probe_provider(&provider, &grants, config_path, &mut emit).await;
    }
    failures
}

/// The checks of one provider, in order: policies, identity, dry AssumeRole, HEAD and CORS per
/// bucket.
pub async fn probe_provider(
    provider: &AliyunProvider,
    grants: &[Grant],
    config_path: &Path,
    emit: &mut dyn FnMut(Check),
) {
    let name = &provider.name;
    let (lines, rendered) = policy_checks(name, grants);
    lines.into_iter().for_each(&mut *emit);
    emit(identity_check(provider).await);

    // Dry AssumeRole with the narrowest grant; more only when a bucket's read grant differs.
    let mut assumed: BTreeMap<String, Option<Credentials>> = BTreeMap::new();
    match narrowest(&rendered) {
        Some(r) => {
            let (check, creds) = assume_check(provider, r).await;
            emit(check);
            assumed.insert(r.grant.name.clone(), creds);
        }
        None if grants.is_empty() => emit(Check::skip(format!(
            "provider {name}: AssumeRole not tried: no [[grant]] has provider = {name:?}"
        ))),
        None => emit(Check::skip(format!(
            "provider {name}: AssumeRole not tried: no grant of provider {name} has a usable policy (see above)"
        ))),
    }

    let target = OssTarget::of(provider);
    let client = match target.client() {
        Ok(c) => c,
        Err(e) => {
            emit(Check::fail(
                format!("provider {name}: {e:#}"),
                format!("set oss_endpoint in [provider.{name}] to scheme://host[:port]"),
            ));
            return;
        }
    };
    let mut buckets: Vec<&str> = Vec::new();
    for g in grants {
        if !buckets.contains(&g.bucket.as_str()) {
            buckets.push(&g.bucket);
        }
    }
    for bucket in buckets {
        let mut bucket_missing = false;
        let on_bucket: Vec<&Rendered> = rendered
            .iter()
            .filter(|r| r.grant.bucket == bucket)
            .collect();
        let reader = narrowest(
            on_bucket
                .iter()
                .copied()
                .filter(|r| r.grant.bundles.contains(&crate::api::grants::Bundle::Read)),
        );
        match reader {
            None => {
                let names: Vec<&str> = grants
                    .iter()
                    .filter(|g| g.bucket == bucket)
                    .map(|g| g.name.as_str())
                    .collect();
                emit(Check::skip(format!(
                    "provider {name}: bucket {bucket}: HEAD not tried: the check needs a grant with the read action on {bucket}, and {} {} none",
                    names.join(", "),
                    if names.len() == 1 { "has" } else { "have" }
                )));
            }
            Some(r) => {
                // One refused AssumeRole is enough: the others would be refused alike.
                let refused = assumed.values().any(Option::is_none);
                if !assumed.contains_key(&r.grant.name) && !refused {
                    let (check, creds) = assume_check(provider, r).await;
                    emit(check);
                    assumed.insert(r.grant.name.clone(), creds);
                }
                match assumed.get(&r.grant.name).cloned().flatten() {
                    Some(creds) => {
                        let check = head_check(provider, &client, r, creds).await;
                        bucket_missing = check.failed() && check.text.contains(" NoSuchBucket");
                        emit(check);
                    }
                    None => emit(Check::skip(format!(
                        "provider {name}: bucket {bucket}: HEAD not tried: it needs dry-run credentials of grant {} (AssumeRole failed above)",
                        r.grant.name
                    ))),
                }
            }
        }
        let key = match narrowest(on_bucket.iter().copied()) {
            Some(r) => format!("{}{PROBE_KEY}", r.prefix),
            None => PROBE_KEY.to_string(),
        };
        for check in cors_checks(&target, &client, config_path, bucket, &key, bucket_missing).await
        {
            emit(check);
        }
    }
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

/// `Code: Message (RequestId …)`.
fn upstream_summary(e: &crate::common::provider::UpstreamError) -> String {
    let mut out = e.code.clone();
    if !e.message.is_empty() {
        out.push_str(": ");
        out.push_str(&e.message);
    }
    if let Some(id) = &e.request_id {
        out.push_str(&format!(" (RequestId {id})"));
    }
    out
}

/// A dry AssumeRole with `r`'s policy, as `stsgate-check`.
async fn assume_check(provider: &AliyunProvider, r: &Rendered) -> (Check, Option<Credentials>) {
    let name = &provider.name;
    let input = AssumeRoleInput {
        session_name: CHECK_SUBJECT,
        policy: Some(&r.policy),
        duration_seconds: CHECK_DURATION,
    };
    let what = format!(
        "provider {name}: AssumeRole {} as {CHECK_SUBJECT} with grant {} (policy {} bytes, {CHECK_DURATION} s)",
        provider.role_arn,
        r.grant.name,
        r.policy.len()
    );
    match provider.assume_role(&input).await {
        Ok(a) => {
            let expires = a
                .minted
                .expiration
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            let check = Check::ok(format!(
                "{what}: AccessKeyId {}, expires {expires}",
                a.minted.access_key_id
            ));
            let creds = Credentials {
                access_key_id: a.minted.access_key_id,
                secret: a.minted.access_key_secret,
                security_token: Some(Secret::new(a.minted.security_token)),
            };
            (check, Some(creds))
        }
        Err(e) => (
            Check::fail(format!("{what}: {}", upstream_summary(&e)), e.hint.clone()),
            None,
        ),
    }
}

/// A V4-signed HEAD of `<prefix>stsgate-check-probe` with the dry-run credentials.
async fn head_check(
    provider: &AliyunProvider,
    client: &OssClient,
    r: &Rendered,
    creds: Credentials,
) -> Check {
    let name = &provider.name;
    let bucket = &r.grant.bucket;
    let key = format!("{}{PROBE_KEY}", r.prefix);
    let what = format!(
        "provider {name}: bucket {bucket}: HEAD {key} with grant {}'s credentials",
        r.grant.name
    );
    let signed = client.signed(creds, SignatureVersion::V4);
    match signed.head_object(bucket, &key).await {
        Ok(head) => Check::ok(format!(
            "{what}: {} (bucket reachable, credentials accepted)",
            head.status
        )),
        Err(e) if e.code == "NoSuchKey" => Check::ok(format!(
            "{what}: 404 NoSuchKey (bucket reachable, credentials accepted)"
        )),
        Err(e) => {
            let target = OssTarget::of(provider);
            let cx = FixContext {
                target: &target,
                bucket,
                action: "oss:GetObject",
                resource: format!("acs:oss:*:*:{bucket}/{}*", r.prefix),
                role_arn: Some(&provider.role_arn),
                version: SignatureVersion::V4,
            };
            if e.code == "NoSuchBucket" {
                return Check::fail(
                    format!(
                        "{what}: 404 NoSuchBucket: bucket does not exist in region {} ({}){}",
                        provider.region,
                        provider.oss_endpoint,
                        e.request_id
                            .as_ref()
                            .map_or(String::new(), |id| format!(" (RequestId {id})"))
                    ),
                    format!(
                        "create bucket {bucket} in region {}, or correct bucket in [[grant]] {}, or region / oss_endpoint in [provider.{name}]",
                        provider.region, r.grant.name
                    ),
                );
            }
            Check::fail(format!("{what}: {}", e.describe()), fix_for(&e, &cx))
        }
    }
}

/// Preflights (PUT, POST) from every browser origin: one line per origin.
async fn cors_checks(
    target: &OssTarget,
    client: &OssClient,
    config_path: &Path,
    bucket: &str,
    key: &str,
    bucket_missing: bool,
) -> Vec<Check> {
    let name = &target.provider;
    if target.browser_origins.is_empty() {
        return vec![Check::skip(format!(
            "provider {name}: bucket {bucket}: CORS not checked: browser_origins is empty in [provider.{name}]"
        ))];
    }
    let fix = cors_set_command(config_path, name, bucket, &target.browser_origins);
    let mut out = Vec::new();
    for origin in &target.browser_origins {
        let mut refused = Vec::new();
        let mut why = Vec::new();
        let mut unexposed = false;
        let mut broken = None;
        for method in PREFLIGHT_METHODS {
            match client
                .preflight(bucket, key, origin, method, &PREFLIGHT_HEADERS)
                .await
            {
                Ok(p) if p.allowed => {
                    let exposes = p.expose_headers.as_deref().unwrap_or("");
                    if !exposes
                        .split(',')
                        .any(|h| h.trim().eq_ignore_ascii_case("etag"))
                    {
                        unexposed = true;
                    }
                }
                Ok(p) if p.error.as_ref().is_some_and(|e| e.code == "NoSuchBucket") => {
                    let Some(e) = p.error else { continue };
                    if bucket_missing {
                        return vec![Check::skip(format!(
                            "provider {name}: bucket {bucket}: CORS not checked: the bucket does not exist (see above)"
                        ))];
                    }
                    let cx = FixContext {
                        target,
                        bucket,
                        action: "",
                        resource: String::new(),
                        role_arn: None,
                        version: SignatureVersion::V1,
                    };
                    return vec![Check::fail(
                        format!(
                            "provider {name}: bucket {bucket}: CORS preflight from origin {origin}: {}",
                            e.describe()
                        ),
                        fix_for(&e, &cx),
                    )];
                }
                Ok(p) => {
                    refused.push(method);
                    let reason = match &p.error {
                        Some(e) => format!("{} {}", e.status, e.code),
                        None => {
                            format!("{} without Access-Control-Allow-Origin: {origin}", p.status)
                        }
                    };
                    if !why.contains(&reason) {
                        why.push(reason);
                    }
                }
                Err(e) => {
                    broken = Some(e);
                    break;
                }
            }
        }
        let what = format!("provider {name}: bucket {bucket}: CORS");
        if let Some(e) = broken {
            let cx = FixContext {
                target,
                bucket,
                action: "",
                resource: String::new(),
                role_arn: None,
                version: SignatureVersion::V1,
            };
            out.push(Check::fail(
                format!("{what} preflight from origin {origin}: {}", e.describe()),
                fix_for(&e, &cx),
            ));
        } else if !refused.is_empty() {
            out.push(Check::fail(
                format!(
                    "{what} refuses origin {origin} for {} (preflight: {})",
                    refused.join(", "),
                    why.join("; ")
                ),
                fix.clone(),
            ));
        } else if unexposed {
            out.push(Check::warn(
                format!(
                    "{what} allows origin {origin} for {} but does not expose ETag (browser multipart uploads read it)",
                    PREFLIGHT_METHODS.join(", ")
                ),
                fix.clone(),
            ));
        } else {
            out.push(Check::ok(format!(
                "{what} allows origin {origin} for {}",
                PREFLIGHT_METHODS.join(", ")
            )));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::GrantConfig;

    fn target(origins: &[&str]) -> OssTarget {
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

    fn grant(name: &str, prefix: &str, actions: &[&str]) -> Grant {
        Grant::from_config(&GrantConfig {
            name: name.into(),
            bucket: "app".into(),
            prefix: prefix.into(),
            actions: actions.iter().map(|s| s.to_string()).collect(),
            default_duration: None,
            max_duration: None,
            required_claims: None,
            source_ips: None,
            provider: Some("x".into()),
            vendor: None,
        })
        .unwrap()
    }

    #[test]
    fn lines_read_as_documented() {
        assert_eq!(Check::ok("a").to_string(), "ok a");
        assert_eq!(Check::fail("a", "b").to_string(), "FAIL a — fix: b");
        assert_eq!(Check::warn("a", "b").to_string(), "warn a — fix: b");
        assert_eq!(Check::skip("a").to_string(), "skip a");
    }

    #[test]
    fn set_rules_take_the_defaults_and_are_validated() {
        let t = target(&["https://app.example.com"]);
        let rule = build_rule(RuleArgs::default(), &t).unwrap();
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
            &t,
        )
        .unwrap();
        assert_eq!(rule.allowed_methods, ["GET"]);
        assert_eq!(rule.max_age_seconds, Some(5));
        let err = |args: RuleArgs, t: &OssTarget| format!("{:#}", build_rule(args, t).unwrap_err());
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
        assert!(err(star_expose, &t).contains("--expose-header"));
    }

    #[test]
    fn fix_commands_name_every_origin_and_quote() {
        assert_eq!(
            cors_set_command(
                Path::new("/etc/y.toml"),
                "x",
                "app",
                &["https://a.example".into(), "https://b.example:8443".into()]
            ),
            "stsgate cors set --config /etc/y.toml --provider x --bucket app --origin https://a.example --origin https://b.example:8443"
        );
        assert_eq!(
            cors_set_command(Path::new("my conf.toml"), "x", "app", &[]),
            "stsgate cors set --config 'my conf.toml' --provider x --bucket app --origin https://YOUR-APP-ORIGIN"
        );
    }

    #[test]
    fn policies_are_rendered_for_the_check_subject_and_sized() {
        let small = grant("small", "users/${sub}/", &["read"]);
        let wide = grant(
            "wide",
            "users/${sub}/${tenant}/",
            &["read", "write", "list", "delete"],
        );
        let (lines, rendered) = policy_checks("x", &[wide.clone(), small.clone()]);
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
        let (lines, rendered) = policy_checks("x", &[long]);
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
        let (lines, rendered) = policy_checks("x", &[edge]);
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
    }
}
