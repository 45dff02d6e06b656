//! The lines of `stsgate check`'s provider probes, whatever the cloud: one [`Check`] per probe
//! (`ok …`, `warn … — fix: …`, `skip …`, `FAIL … — fix: …`), and the checks that need no
//! network: each grant's inline policy rendered for the check subject and sized against the
//! cloud's limit, and the narrowest grant (the one the dry issuance uses). The probes
//! themselves are driven by [`super::probe`]; each vendor folder's `check.rs` supplies them.

use crate::common::provider::UpstreamError;
use crate::common::scope::{Grant, TemplateError};
use serde_json::{Map, Value};
use std::time::Duration;

/// The subject, session name and object name stem of `stsgate check`'s probes.
pub const CHECK_SUBJECT: &str = "stsgate-check";
/// The object HEADed under the grant's prefix (it need not exist: 404 NoSuchKey is a pass).
pub const PROBE_KEY: &str = "stsgate-check-probe";
/// Duration of the dry issuance.
pub const CHECK_DURATION: i64 = 900;
/// The methods whose preflights `stsgate check` sends per browser origin.
pub const PREFLIGHT_METHODS: [&str; 2] = ["PUT", "POST"];

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
    pub fn ok(text: impl Into<String>) -> Check {
        Check {
            status: Status::Ok,
            text: text.into(),
            fix: None,
        }
    }
    pub fn warn(text: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            status: Status::Warn,
            text: text.into(),
            fix: Some(fix.into()),
        }
    }
    pub fn skip(text: impl Into<String>) -> Check {
        Check {
            status: Status::Skip,
            text: text.into(),
            fix: None,
        }
    }
    pub fn fail(text: impl Into<String>, fix: impl Into<String>) -> Check {
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

/// A provider's object store, as lines and fixes name it.
#[derive(Debug, Clone, Copy)]
pub struct Site<'a> {
    /// The `[provider.NAME]`.
    pub provider: &'a str,
    pub region: &'a str,
    pub endpoint: &'a str,
    /// The config key of the endpoint (`oss_endpoint`, `cos_endpoint`).
    pub endpoint_key: &'static str,
    /// `OSS`, `COS`.
    pub store: &'static str,
    /// One request's limit.
    pub timeout: Duration,
    /// The origins browsers upload from (`browser_origins`).
    pub browser_origins: &'a [String],
}

/// The fix of a failure that reads alike for every store (no usable answer, a clock off by
/// more than the 15 minutes both allow); `None` for the others.
pub fn shared_fix(code: &str, at: &Site) -> Option<String> {
    let Site {
        provider: p,
        endpoint,
        endpoint_key: key,
        store: name,
        ..
    } = at;
    Some(match code {
        "RequestTimeTooSkewed" => format!(
            "this machine's clock is off by more than 15 minutes (local time {}): sync it (NTP)",
            crate::common::dates::rfc1123(time::OffsetDateTime::now_utc())
        ),
        "Timeout" => format!(
            "no answer from {endpoint} within {} s: check {key} in [provider.{p}] and the network",
            at.timeout.as_secs_f64()
        ),
        "Unreachable" => {
            format!("cannot reach {endpoint}: check {key} in [provider.{p}], proxies and firewalls")
        }
        "MalformedResponse" => {
            let a = match name.starts_with(['A', 'E', 'I', 'O', 'U']) {
                true => "an",
                false => "a",
            };
            format!("{endpoint} did not answer as {name} does: is {key} in [provider.{p}] {a} {name} endpoint?")
        }
        _ => return None,
    })
}

/// `Code: Message (RequestId …)` of a failed STS call.
pub fn upstream_summary(e: &UpstreamError) -> String {
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

/// A grant of a provider, rendered for the check subject.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub grant: Grant,
    pub prefix: String,
    /// The inline policy in the provider's grammar.
    pub policy: String,
}

/// Renders `grant`'s prefix with every claim it needs set to `value` (`sub` first).
pub fn render_prefix(grant: &Grant, value: &str) -> Result<String, String> {
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

/// Renders a grant's inline policy at a prefix.
pub type RenderPolicy<'a> = Box<dyn Fn(&Grant, &str) -> String + 'a>;

/// How a provider writes a grant's inline policy, and the most bytes its STS takes.
pub struct PolicyRules<'a> {
    pub render: RenderPolicy<'a>,
    pub max_bytes: usize,
}

/// The policy-size checks of a provider's grants (no network): one line each, and the grants
/// whose policy fits for the check subject.
pub fn policy_checks(
    provider: &str,
    grants: &[Grant],
    rules: &PolicyRules,
) -> (Vec<Check>, Vec<Rendered>) {
    let max = rules.max_bytes;
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
        let policy = (rules.render)(grant, &prefix);
        let longest = render_prefix(grant, &"x".repeat(128))
            .map(|p| (rules.render)(grant, &p).len())
            .unwrap_or(policy.len());
        if policy.len() > max {
            lines.push(Check::fail(
                format!(
                    "grant {name} (provider {provider}): its policy is {} bytes for subject {CHECK_SUBJECT}, over STS's limit of {max} bytes",
                    policy.len()
                ),
                format!("narrow grant {name}: fewer actions or source_ips, a shorter bucket name or prefix"),
            ));
            continue;
        }
        if longest > max {
            // `serve` refuses to start with such a grant (api::upstream::check_providers).
            lines.push(Check::fail(
                format!(
                    "grant {name} (provider {provider}): policy {} bytes for subject {CHECK_SUBJECT}, but {longest} bytes (over STS's {max}) for 128-character claim values, so `stsgate serve` refuses this grant",
                    policy.len()
                ),
                format!("shorten grant {name}'s prefix or source_ips"),
            ));
        } else {
            lines.push(Check::ok(format!(
                "grant {name} (provider {provider}): policy {} bytes for subject {CHECK_SUBJECT} (at most {longest}; limit {max})",
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
pub fn narrowest<'r>(grants: impl IntoIterator<Item = &'r Rendered>) -> Option<&'r Rendered> {
    grants.into_iter().min_by(|a, b| {
        (a.grant.bundles.len(), a.policy.len(), &a.grant.name).cmp(&(
            b.grant.bundles.len(),
            b.policy.len(),
            &b.grant.name,
        ))
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::GrantConfig;

    /// A grant of provider `x` on bucket `app` (others: struct update on [`grant_config`]).
    pub(crate) fn grant_config(name: &str, prefix: &str, actions: &[&str]) -> GrantConfig {
        GrantConfig {
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
        }
    }

    pub(crate) fn grant(name: &str, prefix: &str, actions: &[&str]) -> Grant {
        Grant::from_config(&grant_config(name, prefix, actions)).unwrap()
    }

    /// A policy that names the prefix once per bundle, in `base + bundles × prefix` bytes.
    fn render(grant: &Grant, prefix: &str) -> String {
        format!("{}{}", "b".repeat(100), prefix.repeat(grant.bundles.len()))
    }

    fn check(grants: &[Grant], max_bytes: usize) -> (Vec<String>, Vec<String>) {
        let rules = PolicyRules {
            render: Box::new(render),
            max_bytes,
        };
        let (lines, rendered) = policy_checks("x", grants, &rules);
        (
            lines.iter().map(|l| l.to_string()).collect(),
            rendered.iter().map(|r| r.grant.name.clone()).collect(),
        )
    }

    #[test]
    fn lines_read_as_documented() {
        assert_eq!(Check::ok("a").to_string(), "ok a");
        assert_eq!(Check::fail("a", "b").to_string(), "FAIL a — fix: b");
        assert_eq!(Check::warn("a", "b").to_string(), "warn a — fix: b");
        assert_eq!(Check::skip("a").to_string(), "skip a");
        assert!(Check::fail("a", "b").failed() && !Check::warn("a", "b").failed());
    }

    #[test]
    fn policies_are_sized_for_the_check_subject_and_the_longest_claims() {
        let small = grant("small", "u/${sub}/", &["read"]);
        // 100 + "u/stsgate-check/" (16 bytes); 128-character claims: 100 + 131.
        let (lines, fitting) = check(std::slice::from_ref(&small), 1000);
        assert_eq!(
            lines,
            ["ok grant small (provider x): policy 116 bytes for subject stsgate-check (at most 231; limit 1000)"]
        );
        assert_eq!(fitting, ["small"]);
        let (lines, fitting) = check(std::slice::from_ref(&small), 200);
        assert!(lines[0].starts_with("FAIL grant small (provider x): policy 116 bytes for subject stsgate-check, but 231 bytes (over STS's 200)"), "{lines:?}");
        assert_eq!(fitting, ["small"]);
        let (lines, fitting) = check(std::slice::from_ref(&small), 110);
        assert_eq!(
            lines,
            ["FAIL grant small (provider x): its policy is 116 bytes for subject stsgate-check, over STS's limit of 110 bytes — fix: narrow grant small: fewer actions or source_ips, a shorter bucket name or prefix"]
        );
        assert!(fitting.is_empty());
    }

    #[test]
    fn the_narrowest_grant_has_the_fewest_bundles() {
        let wide = grant("wide", "a/", &["read", "write"]);
        let long = grant("long", "a-much-longer-prefix/", &["read"]);
        let short = grant("short", "a/", &["read"]);
        let rules = PolicyRules {
            render: Box::new(render),
            max_bytes: 1000,
        };
        let (_, rendered) = policy_checks("x", &[wide, long, short], &rules);
        assert_eq!(narrowest(&rendered).unwrap().grant.name, "short");
        assert_eq!(
            narrowest(rendered.iter().filter(|r| r.grant.name != "short"))
                .unwrap()
                .grant
                .name,
            "long"
        );
        assert!(narrowest(&[]).is_none());
        assert_eq!(
            render_prefix(&grant("t", "${sub}/${tenant}/", &["read"]), "v").as_deref(),
            Ok("v/v/")
        );
    }

    #[test]
    fn upstream_failures_are_summed_up_in_one_phrase() {
        let e = UpstreamError {
            provider: "x".into(),
            status: 502,
            code: "NoPermission".into(),
            message: "You are not authorized".into(),
            request_id: Some("R1".into()),
            hint: "h".into(),
            string_to_sign: None,
            attempts: 1,
            operator_detail: String::new(),
        };
        assert_eq!(
            upstream_summary(&e),
            "NoPermission: You are not authorized (RequestId R1)"
        );
        let bare = UpstreamError {
            message: String::new(),
            request_id: None,
            ..e
        };
        assert_eq!(upstream_summary(&bare), "NoPermission");
    }
}
