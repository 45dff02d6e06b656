//! `stsgate cors get|set|delete`, whatever the cloud: the one rule `set` writes (defaults for
//! browser uploads, validated as OSS and COS validate it, so the error is ours and clear), the
//! lines each command prints, and the `stsgate cors set …` command `check` suggests as a fix
//! (shell-quoted). A vendor folder's `cors_admin.rs` makes the [`CorsTarget`]: its signed
//! client, how lines name it, its defaults and its fixes.

use crate::common::check::Site;
use crate::common::rest::CloudError;
use crate::common::store_client::{Dialect, StoreClient};
use anyhow::{anyhow, bail};
use std::path::Path;
use stsgate_store::{CorsConfig, CorsRule};

/// `stsgate cors set` defaults: what browser uploads (PUT, multipart, POST forms) and
/// downloads need.
pub const DEFAULT_METHODS: [&str; 4] = ["PUT", "POST", "GET", "HEAD"];
pub const DEFAULT_HEADERS: [&str; 1] = ["*"];
pub const DEFAULT_MAX_AGE: u64 = 600;

/// The methods an `AllowedMethod` may name.
const CORS_METHODS: [&str; 5] = ["GET", "PUT", "DELETE", "POST", "HEAD"];

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

/// One bucket CORS call, for messages and fixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorsOp {
    Get,
    Put,
    Delete,
}

impl CorsOp {
    /// The API's name: `GetBucketCors`, `PutBucketCors`, `DeleteBucketCors`.
    pub fn name(self) -> &'static str {
        match self {
            CorsOp::Get => "GetBucketCors",
            CorsOp::Put => "PutBucketCors",
            CorsOp::Delete => "DeleteBucketCors",
        }
    }
}

/// What to change after an operation on a bucket failed.
pub type CorsFix<'a, E> = Box<dyn Fn(&E, &str, CorsOp) -> String + 'a>;

/// A provider's bucket CORS, signed with its long-term key.
pub struct CorsTarget<'a, D: Dialect> {
    pub client: StoreClient<D>,
    pub site: Site<'a>,
    /// How the lines name where they went: `provider x, https://…[, signature v1]`.
    pub via: String,
    /// `--expose-header`'s default.
    pub default_expose_headers: &'static [&'static str],
    pub fix: CorsFix<'a, D::Error>,
}

/// Runs `action` on `bucket` (already validated by the vendor): the lines to print.
pub async fn run<D: Dialect>(
    target: &CorsTarget<'_, D>,
    config_path: &Path,
    bucket: &str,
    action: CorsAction,
) -> anyhow::Result<Vec<String>> {
    let (client, site, via) = (&target.client, &target.site, &target.via);
    let failed = |op: CorsOp, e: D::Error| {
        anyhow!(
            "{} on bucket {bucket} ({via}) failed: {} — fix: {}",
            op.name(),
            e.describe(),
            (target.fix)(&e, bucket, op)
        )
    };
    match action {
        CorsAction::Get => match client.get_bucket_cors(bucket).await {
            Ok(Some(config)) => Ok(config_lines(&config)),
            Ok(None) => Ok(vec![format!(
                "bucket {bucket} has no CORS rules (NoSuchCORSConfiguration): browsers cannot use it directly; add a rule: {}",
                cors_set_command(config_path, site.provider, bucket, site.browser_origins)
            )]),
            Err(e) => Err(failed(CorsOp::Get, e)),
        },
        CorsAction::Set(args) => {
            let rule = build_rule(args, site, target.default_expose_headers)?;
            let config = CorsConfig {
                rules: vec![rule],
                response_vary: false,
            };
            let request_id = client
                .put_bucket_cors(bucket, &config)
                .await
                .map_err(|e| failed(CorsOp::Put, e))?;
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
                .map_err(|e| failed(CorsOp::Delete, e))?;
            Ok(vec![format!(
                "deleted the CORS rules of bucket {bucket} ({via})"
            )])
        }
    }
}

/// The one rule of `cors set`, validated as the store would (so the error is ours, and clear).
pub fn build_rule(
    args: RuleArgs,
    site: &Site,
    default_expose_headers: &[&str],
) -> anyhow::Result<CorsRule> {
    let or_default = |given: Vec<String>, default: &[&str]| match given.is_empty() {
        true => default.iter().map(|s| s.to_string()).collect(),
        false => given,
    };
    let origins = match args.origins.is_empty() {
        true => site.browser_origins.to_vec(),
        false => args.origins,
    };
    if origins.is_empty() {
        bail!(
            "give at least one --origin (e.g. --origin https://app.example.com), or set browser_origins in [provider.{}]",
            site.provider
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
        expose_headers: or_default(args.expose_headers, default_expose_headers),
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
        bail!("--expose-header {h:?}: {} allows no '*' there", site.store);
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn shell_words_survive_quotes() {
        let check = |word: &str, quoted: &str| assert_eq!(shell_word(word), quoted, "{word}");
        check("https://a.example:8443", "https://a.example:8443");
        check("", "''");
        check("it's", r"'it'\''s'");
        check("$(rm -rf /)", "'$(rm -rf /)'");
    }

    #[test]
    fn config_lines_show_empty_lists_and_vary() {
        let config = CorsConfig {
            rules: vec![CorsRule {
                allowed_origins: vec!["*".into()],
                allowed_methods: vec!["GET".into()],
                ..CorsRule::default()
            }],
            response_vary: true,
        };
        assert_eq!(
            config_lines(&config),
            [
                "rule 1: origins *; methods GET; headers -; expose -; max-age -",
                "response-vary: true"
            ]
        );
        assert_eq!(config_lines(&CorsConfig::default()), ["no CORS rules"]);
        assert_eq!(CorsOp::Put.name(), "PutBucketCors");
    }
}
