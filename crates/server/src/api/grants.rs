//! Grants: what a caller may ask credentials for, and the narrowest RAM policy that allows it.
//!
//! A grant names a bucket, a key-prefix template such as `users/${sub}/` and action bundles.
//! Rendering a template takes each `${CLAIM}` from the caller's claims; a value that is empty,
//! holds `..`, or holds anything outside `[A-Za-z0-9._@-]` is refused before any policy is built,
//! so a rendered prefix never contains `/` (other than the template's own), `*` or `?`, and
//! always ends with `/`: `users/al/` never matches `users/alice/…`.

use crate::config::GrantConfig;
use anyhow::bail;
use serde_json::{json, Map, Value};

/// Bounds of a grant's durations, in seconds (as STS AssumeRole).
pub const DURATION_RANGE: std::ops::RangeInclusive<i64> = 900..=43_200;

/// An action bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Bundle {
    /// GetObject, HeadObject (both `oss:GetObject`).
    Read,
    /// PutObject and multipart (initiate, upload part, complete: `oss:PutObject`),
    /// `oss:AbortMultipartUpload`, `oss:ListParts`.
    Write,
    /// ListObjects limited to the prefix (`oss:Prefix` condition).
    List,
    /// DeleteObject.
    Delete,
}

impl Bundle {
    pub fn parse(s: &str) -> Option<Bundle> {
        Some(match s {
            "read" => Bundle::Read,
            "write" => Bundle::Write,
            "list" => Bundle::List,
            "delete" => Bundle::Delete,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Bundle::Read => "read",
            Bundle::Write => "write",
            Bundle::List => "list",
            Bundle::Delete => "delete",
        }
    }

    /// The RAM actions on objects under the prefix (`List` has none: it is a bucket action).
    fn object_actions(self) -> &'static [&'static str] {
        match self {
            Bundle::Read => &["oss:GetObject"],
            Bundle::Write => &["oss:PutObject", "oss:AbortMultipartUpload", "oss:ListParts"],
            Bundle::List => &[],
            Bundle::Delete => &["oss:DeleteObject"],
        }
    }
}

/// One piece of a prefix template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Claim(String),
}

/// A validated grant.
#[derive(Debug, Clone)]
pub struct Grant {
    pub name: String,
    pub bucket: String,
    /// The template as written (for messages).
    pub template: String,
    pieces: Vec<Piece>,
    pub bundles: Vec<Bundle>,
    pub default_duration: i64,
    pub max_duration: i64,
}

/// Why a template could not be rendered for a caller (a 400: the caller's claims are unusable).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// Occurs when the claim is absent, empty, or not a string or integer.
    #[error("the token has no usable claim {0:?} (needed by the grant's prefix)")]
    Missing(String),
    /// Occurs when the claim value holds a character or sequence a key prefix may not.
    #[error("the token's claim {claim:?} cannot be used in a key prefix: {why}")]
    Unsafe { claim: String, why: &'static str },
}

/// Checks one claim value for use in a prefix: 1-128 of `[A-Za-z0-9._@-]`, not containing `..`.
pub fn check_value(value: &str) -> Result<(), &'static str> {
    if value.is_empty() {
        return Err("it is empty");
    }
    if value.len() > 128 {
        return Err("it is longer than 128 characters");
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "._@-".contains(*c)))
    {
        return Err(match c {
            '/' => "it contains '/'",
            '*' | '?' => "it contains a wildcard ('*' or '?')",
            c if c.is_control() => "it contains a control character",
            _ => "it contains a character outside [A-Za-z0-9._@-]",
        });
    }
    if value.contains("..") {
        return Err("it contains \"..\"");
    }
    Ok(())
}

fn valid_literal_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._@-/!=+,:".contains(c)
}

fn parse_template(template: &str) -> anyhow::Result<Vec<Piece>> {
    if !template.ends_with('/') {
        bail!("prefix {template:?} must end with '/' (a prefix always ends at a folder boundary)");
    }
    if template.starts_with('/') || template.contains("//") {
        bail!("prefix {template:?} must not start with '/' or contain \"//\"");
    }
    let mut pieces = Vec::new();
    let mut rest = template;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("${") {
            let Some(end) = after.find('}') else {
                bail!("prefix {template:?}: \"${{\" without a closing '}}'");
            };
            let claim = &after[..end];
            if claim.is_empty()
                || !claim
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.:".contains(c))
            {
                bail!("prefix {template:?}: ${{{claim}}} is not a claim name");
            }
            pieces.push(Piece::Claim(claim.to_string()));
            rest = &after[end + 1..];
        } else {
            let end = rest.find("${").unwrap_or(rest.len());
            let literal = &rest[..end];
            if let Some(c) = literal.chars().find(|c| !valid_literal_char(*c)) {
                bail!("prefix {template:?}: the character {c:?} is not allowed in a prefix");
            }
            if literal.split('/').any(|seg| seg == "..") {
                bail!("prefix {template:?} must not contain \"..\" segments");
            }
            pieces.push(Piece::Literal(literal.to_string()));
            rest = &rest[end..];
        }
    }
    Ok(pieces)
}

impl Grant {
    /// Validates a `[[grant]]` table; errors name the key.
    pub fn from_config(c: &GrantConfig) -> anyhow::Result<Grant> {
        if !(1..=64).contains(&c.name.len())
            || !c
                .name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "._-".contains(ch))
        {
            bail!("name: {:?} must be 1-64 of [A-Za-z0-9._-]", c.name);
        }
        if !stsgate_store::valid_bucket_name(&c.bucket) {
            bail!("bucket: {:?} is not a valid bucket name", c.bucket);
        }
        let pieces = parse_template(&c.prefix).map_err(|e| anyhow::anyhow!("prefix: {e}"))?;
        if c.actions.is_empty() {
            bail!("actions: give at least one of read, write, list, delete");
        }
        let mut bundles = Vec::new();
        for a in &c.actions {
            let Some(b) = Bundle::parse(a) else {
                bail!("actions: {a:?} is not a bundle (read, write, list, delete)");
            };
            bundles.push(b);
        }
        bundles.sort_unstable();
        bundles.dedup();
        let max_duration = c.max_duration.unwrap_or(3600);
        let default_duration = c.default_duration.unwrap_or(900);
        if !DURATION_RANGE.contains(&max_duration) {
            bail!("max_duration: {max_duration} is outside 900..=43200 seconds");
        }
        if !(900..=max_duration).contains(&default_duration) {
            bail!("default_duration: {default_duration} must be from 900 to max_duration ({max_duration}) seconds");
        }
        Ok(Grant {
            name: c.name.clone(),
            bucket: c.bucket.clone(),
            template: c.prefix.clone(),
            pieces,
            bundles,
            default_duration,
            max_duration,
        })
    }

    /// Renders the prefix for a caller's claims.
    pub fn prefix(&self, claims: &Map<String, Value>) -> Result<String, TemplateError> {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Literal(s) => out.push_str(s),
                Piece::Claim(name) => {
                    let value = match claims.get(name) {
                        Some(Value::String(s)) => s.clone(),
                        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
                        _ => return Err(TemplateError::Missing(name.clone())),
                    };
                    check_value(&value).map_err(|why| TemplateError::Unsafe {
                        claim: name.clone(),
                        why,
                    })?;
                    out.push_str(&value);
                }
            }
        }
        Ok(out)
    }

    /// The RAM actions the grant allows, for display.
    pub fn action_names(&self) -> Vec<&'static str> {
        self.bundles.iter().map(|b| b.name()).collect()
    }

    /// The narrowest RAM policy for `prefix` (already rendered): object actions on
    /// `acs:oss:*:*:<bucket>/<prefix>*`, ListObjects on the bucket only with `oss:Prefix` under it.
    pub fn policy(&self, prefix: &str) -> String {
        let mut statements = Vec::new();
        let object_actions: Vec<&str> = self
            .bundles
            .iter()
            .flat_map(|b| b.object_actions().iter().copied())
            .collect();
        if !object_actions.is_empty() {
            statements.push(json!({
                "Effect": "Allow",
                "Action": object_actions,
                "Resource": [format!("acs:oss:*:*:{}/{prefix}*", self.bucket)],
            }));
        }
        if self.bundles.contains(&Bundle::List) {
            statements.push(json!({
                "Effect": "Allow",
                "Action": ["oss:ListObjects"],
                "Resource": [format!("acs:oss:*:*:{}", self.bucket)],
                "Condition": {"StringLike": {"oss:Prefix": [format!("{prefix}*")]}},
            }));
        }
        json!({"Version": "1", "Statement": statements}).to_string()
    }
}

/// The grants used when the config defines none: `user-folder` (bucket `app`, `users/${sub}/`,
/// read, write, list, delete, 900 s).
pub fn default_grants() -> Vec<GrantConfig> {
    vec![GrantConfig {
        name: "user-folder".into(),
        bucket: "app".into(),
        prefix: "users/${sub}/".into(),
        actions: ["read", "write", "list", "delete"]
            .map(String::from)
            .to_vec(),
        default_duration: Some(900),
        max_duration: Some(3600),
    }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn user_folder() -> Grant {
        Grant::from_config(&default_grants()[0]).unwrap()
    }

    fn claims(sub: &str) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("sub".into(), Value::String(sub.into()));
        m
    }

    #[test]
    fn renders_the_narrowest_policy() {
        let g = user_folder();
        let prefix = g.prefix(&claims("alice")).unwrap();
        assert_eq!(prefix, "users/alice/");
        let policy: Value = serde_json::from_str(&g.policy(&prefix)).unwrap();
        assert_eq!(
            policy,
            json!({"Version":"1","Statement":[
                {"Effect":"Allow","Action":["oss:GetObject","oss:PutObject","oss:AbortMultipartUpload","oss:ListParts","oss:DeleteObject"],
                 "Resource":["acs:oss:*:*:app/users/alice/*"]},
                {"Effect":"Allow","Action":["oss:ListObjects"],"Resource":["acs:oss:*:*:app"],
                 "Condition":{"StringLike":{"oss:Prefix":["users/alice/*"]}}}]})
        );
        stsgate_policy::parse(&g.policy(&prefix)).unwrap();
    }

    #[test]
    fn write_only_grant_has_no_list_statement() {
        let mut c = default_grants()[0].clone();
        c.actions = vec!["write".into()];
        let g = Grant::from_config(&c).unwrap();
        let policy = g.policy("users/bob/");
        assert!(!policy.contains("ListObjects") && !policy.contains("GetObject"));
    }

    #[test]
    fn hostile_values_are_refused() {
        let g = user_folder();
        for bad in [
            "", "../bob", "a/b", "*", "a?", "..", "a..b", "a b", "a\u{0}", "é", "a\nb",
        ] {
            assert!(g.prefix(&claims(bad)).is_err(), "{bad:?} accepted");
        }
        assert!(g.prefix(&claims(&"a".repeat(10_000))).is_err());
        assert_eq!(
            g.prefix(&Map::new()),
            Err(TemplateError::Missing("sub".into()))
        );
        for good in ["alice", "alice@example.com", "u-1.2_3"] {
            assert!(g.prefix(&claims(good)).is_ok(), "{good:?} refused");
        }
    }

    #[test]
    fn bad_templates_are_refused() {
        for (template, why) in [
            ("users/${sub}", "must end with '/'"),
            ("/users/${sub}/", "must not start"),
            ("users/${sub/", "closing"),
            ("users/${}/", "not a claim name"),
            ("users/*/", "not allowed"),
            ("users/../", "\"..\""),
        ] {
            let mut c = default_grants()[0].clone();
            c.prefix = template.into();
            let err = format!("{:#}", Grant::from_config(&c).unwrap_err());
            assert!(err.contains(why), "{template}: {err}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]
        /// Whatever the claim, a rendered policy's resources stay under `app/users/<one segment>/`.
        #[test]
        fn arbitrary_claims_never_escape_the_prefix(sub in ".{0,40}|[a-z./*?@-]{0,12}") {
            let g = user_folder();
            if let Ok(prefix) = g.prefix(&claims(&sub)) {
                prop_assert_eq!(&prefix, &format!("users/{sub}/"));
                let inner = &prefix["users/".len()..prefix.len() - 1];
                prop_assert!(!inner.is_empty() && !inner.contains('/'));
                prop_assert!(!inner.contains('*') && !inner.contains('?') && !inner.contains(".."));
                let policy: Value = serde_json::from_str(&g.policy(&prefix)).unwrap();
                for st in policy["Statement"].as_array().unwrap() {
                    for r in st["Resource"].as_array().unwrap() {
                        let r = r.as_str().unwrap();
                        let object = format!("acs:oss:*:*:app/{}*", prefix);
                        prop_assert!(r == "acs:oss:*:*:app" || r == object, "{}", r);
                    }
                }
            }
        }

        #[test]
        fn arbitrary_templates_never_panic(t in ".{0,40}") {
            let mut c = default_grants()[0].clone();
            c.prefix = t;
            if let Ok(g) = Grant::from_config(&c) {
                let _ = g.prefix(&claims("alice"));
            }
        }
    }
}
