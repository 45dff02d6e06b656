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
use std::net::IpAddr;

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
    /// `required_claims`: (claim, accepted values), sorted by claim.
    pub required_claims: Vec<(String, Vec<String>)>,
    /// `source_ips`: the allowed networks; empty = any address.
    pub source_ips: Vec<Cidr>,
    /// The `[provider.NAME]` issuing this grant's credentials (`local`: the embedded faces).
    pub provider: String,
}

/// An IP network (`10.0.0.0/8`, `2001:db8::/32`; a bare address is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub bits: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let (ip, bits) = match s.split_once('/') {
            Some((ip, bits)) => (ip, Some(bits)),
            None => (s, None),
        };
        let addr: IpAddr = ip
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or CIDR such as \"10.0.0.0/8\""))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let bits = match bits {
            None => max,
            Some(b) => match b.parse::<u8>() {
                Ok(b) if b <= max => b,
                _ => return Err(format!("{s:?}: the prefix length must be 0-{max}")),
            },
        };
        let cidr = Cidr { addr, bits };
        if cidr.network() != addr {
            return Err(format!(
                "{s:?} has host bits set (did you mean \"{}/{bits}\"?)",
                cidr.network()
            ));
        }
        Ok(cidr)
    }

    fn mask(&self) -> u128 {
        let max = if self.addr.is_ipv4() { 32 } else { 128 };
        if self.bits == 0 {
            0
        } else {
            (!0u128 << (max - u32::from(self.bits))) & (!0u128 >> (128 - max))
        }
    }

    fn bits_of(ip: IpAddr) -> u128 {
        match ip {
            IpAddr::V4(v) => u128::from(u32::from(v)),
            IpAddr::V6(v) => u128::from(v),
        }
    }

    fn network(&self) -> IpAddr {
        let n = Cidr::bits_of(self.addr) & self.mask();
        match self.addr {
            IpAddr::V4(_) => IpAddr::V4((n as u32).into()),
            IpAddr::V6(_) => IpAddr::V6(n.into()),
        }
    }

    /// Whether `ip` is inside (an IPv4-mapped IPv6 address counts as its IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v) => v.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        ip.is_ipv4() == self.addr.is_ipv4()
            && Cidr::bits_of(ip) & self.mask() == Cidr::bits_of(self.addr)
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.bits)
    }
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
        let mut required_claims = Vec::new();
        for (claim, values) in c.required_claims.iter().flatten() {
            if claim.is_empty() {
                bail!("required_claims: a claim name must not be empty");
            }
            let values = values.values();
            if values.is_empty() {
                bail!("required_claims.{claim}: give at least one accepted value");
            }
            required_claims.push((claim.clone(), values));
        }
        let mut source_ips = Vec::new();
        if let Some(ips) = &c.source_ips {
            if ips.is_empty() {
                bail!("source_ips: give at least one range (or leave the key out to allow any address)");
            }
            for ip in ips {
                source_ips.push(Cidr::parse(ip).map_err(|e| anyhow::anyhow!("source_ips: {e}"))?);
            }
        }
        Ok(Grant {
            name: c.name.clone(),
            bucket: c.bucket.clone(),
            template: c.prefix.clone(),
            pieces,
            bundles,
            default_duration,
            max_duration,
            required_claims,
            source_ips,
            provider: c
                .provider
                .clone()
                .unwrap_or_else(|| crate::provider::LOCAL.to_string()),
        })
    }

    /// The policy for the longest prefix the template can render: every `${claim}` a
    /// 128-character value (the most [`check_value`] lets through).
    pub fn worst_case_policy(&self) -> String {
        let prefix: String = self
            .pieces
            .iter()
            .map(|p| match p {
                Piece::Literal(s) => s.clone(),
                Piece::Claim(_) => "x".repeat(128),
            })
            .collect();
        self.policy(&prefix)
    }

    /// Checks the grant's conditions for a caller's claims and the request's peer IP (`""` if
    /// unknown, which no `source_ips` range admits). `Err` says which condition failed (a 403).
    pub fn admit(&self, claims: &Map<String, Value>, client_ip: &str) -> Result<(), String> {
        for (claim, accepted) in &self.required_claims {
            let scalar = |v: &Value| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            };
            let held: Vec<String> = match claims.get(claim) {
                Some(Value::Array(items)) => items.iter().filter_map(scalar).collect(),
                Some(v) => scalar(v).into_iter().collect(),
                None => Vec::new(),
            };
            if !held.iter().any(|h| accepted.contains(h)) {
                return Err(format!(
                    "grant {:?} requires the claim {claim:?} to be {}; the caller's token {}",
                    self.name,
                    if accepted.len() == 1 {
                        format!("{:?}", accepted[0])
                    } else {
                        format!("one of {accepted:?}")
                    },
                    if claims.contains_key(claim) {
                        "holds another value"
                    } else {
                        "lacks it"
                    }
                ));
            }
        }
        if !self.source_ips.is_empty() {
            let inside = client_ip
                .parse::<IpAddr>()
                .is_ok_and(|ip| self.source_ips.iter().any(|c| c.contains(ip)));
            if !inside {
                return Err(format!(
                    "grant {:?} is limited to the source IP ranges {}; this request comes from {}",
                    self.name,
                    self.source_ips
                        .iter()
                        .map(|c| c.to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                    if client_ip.is_empty() {
                        "an unknown address"
                    } else {
                        client_ip
                    }
                ));
            }
        }
        Ok(())
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
        if !self.source_ips.is_empty() {
            let ips: Vec<String> = self.source_ips.iter().map(|c| c.to_string()).collect();
            for st in &mut statements {
                st.as_object_mut()
                    .expect("a statement is an object")
                    .entry("Condition")
                    .or_insert_with(|| json!({}))["IpAddress"] = json!({"acs:SourceIp": ips});
            }
        }
        json!({"Version": "1", "Statement": statements}).to_string()
    }
}

/// Checks each grant's `provider` against the configured providers (an unknown name fails,
/// naming the grant and the provider) and, for a remote provider, that the inline policy STS
/// is sent fits its limit for any caller ([`Grant::worst_case_policy`] at most
/// [`MAX_POLICY_BYTES`](crate::provider::aliyun::MAX_POLICY_BYTES)). Run at start (`serve`).
pub fn check_providers(
    grants: &[Grant],
    providers: &crate::provider::Providers,
) -> anyhow::Result<()> {
    use crate::provider::{aliyun::MAX_POLICY_BYTES, Provider};
    for g in grants {
        match providers.get(Some(&g.provider)) {
            None => {
                let known: Vec<&str> = providers.iter().map(|(name, _)| name).collect();
                bail!(
                    "grant {:?}: provider {:?} is not configured (configured: {}); add a [provider.{}] table or fix the grant's provider",
                    g.name,
                    g.provider,
                    known.join(", "),
                    g.provider
                );
            }
            Some(Provider::Local) => {}
            Some(Provider::Aliyun(_)) => {
                let size = g.worst_case_policy().len();
                if size > MAX_POLICY_BYTES {
                    bail!(
                        "grant {:?}: its inline policy for provider {:?} is {size} bytes when each claim of the prefix {:?} is 128 characters long, over STS's limit of {MAX_POLICY_BYTES} bytes; use fewer claims in the prefix, a shorter prefix or fewer source_ips",
                        g.name,
                        g.provider,
                        g.template
                    );
                }
            }
        }
    }
    Ok(())
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
        required_claims: None,
        source_ips: None,
        provider: None,
    }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn user_folder() -> Grant {
        Grant::from_config(&default_grants()[0]).unwrap()
    }

    #[test]
    fn provider_defaults_to_local_and_unknown_ones_fail_the_check() {
        let g = user_folder();
        assert_eq!(g.provider, "local");
        let providers = crate::provider::Providers::default();
        assert!(check_providers(std::slice::from_ref(&g), &providers).is_ok());
        let mut c = default_grants().remove(0);
        c.provider = Some("cloud".into());
        let g = Grant::from_config(&c).unwrap();
        assert_eq!(g.provider, "cloud");
        let err = check_providers(&[g], &providers).unwrap_err().to_string();
        assert!(err.contains("\"user-folder\""), "{err}");
        assert!(err.contains("\"cloud\""), "{err}");
        assert!(err.contains("[provider.cloud]"), "{err}");
    }

    #[test]
    fn worst_case_policy_uses_128_character_claims() {
        let g = user_folder();
        let worst = g.worst_case_policy();
        assert_eq!(worst, g.policy(&format!("users/{}/", "x".repeat(128))));
        let longest = claims(&"a".repeat(128));
        assert_eq!(g.policy(&g.prefix(&longest).unwrap()).len(), worst.len());
        assert!(worst.len() <= crate::provider::aliyun::MAX_POLICY_BYTES);
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

    fn conditioned(required: &[(&str, &[&str])], ips: &[&str]) -> Grant {
        let mut c = default_grants()[0].clone();
        c.required_claims = Some(
            required
                .iter()
                .map(|(k, v)| {
                    let v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
                    (k.to_string(), crate::config::ClaimValues::Any(v))
                })
                .collect(),
        );
        if !ips.is_empty() {
            c.source_ips = Some(ips.iter().map(|s| s.to_string()).collect());
        }
        Grant::from_config(&c).unwrap()
    }

    #[test]
    fn cidrs_parse_and_match() {
        let c = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(c.contains("10.1.2.3".parse().unwrap()));
        assert!(!c.contains("11.0.0.1".parse().unwrap()));
        assert!(c.contains("::ffff:10.0.0.1".parse().unwrap()));
        assert!(!c.contains("::1".parse().unwrap()));
        let one = Cidr::parse("127.0.0.1").unwrap();
        assert_eq!(one.to_string(), "127.0.0.1/32");
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:1::1".parse().unwrap()));
        assert!(!v6.contains("2001:db9::1".parse().unwrap()));
        for bad in ["10.0.0.1/8", "10.0.0.0/33", "x", "10.0.0.0/", "::/129", ""] {
            assert!(Cidr::parse(bad).is_err(), "{bad} accepted");
        }
        assert!(Cidr::parse("10.0.0.1/8")
            .unwrap_err()
            .contains("10.0.0.0/8"));
    }

    #[test]
    fn required_claims_are_checked() {
        let g = conditioned(&[("role", &["editor"]), ("plan", &["pro", "team"])], &[]);
        let mut c = claims("alice");
        let err = g.admit(&c, "").unwrap_err();
        assert!(
            err.contains("\"plan\"") && err.contains("lacks it"),
            "{err}"
        );
        c.insert("plan".into(), json!("free"));
        c.insert("role".into(), json!("editor"));
        let err = g.admit(&c, "").unwrap_err();
        assert!(
            err.contains("\"plan\"") && err.contains("another value"),
            "{err}"
        );
        c.insert("plan".into(), json!("team"));
        g.admit(&c, "").unwrap();
        c.insert("role".into(), json!(["viewer", "editor"]));
        g.admit(&c, "").unwrap();
        c.insert("role".into(), json!(["viewer"]));
        assert!(g.admit(&c, "").unwrap_err().contains("\"role\""));
        let n = conditioned(&[("level", &["3"])], &[]);
        let mut c = claims("alice");
        c.insert("level".into(), json!(3));
        n.admit(&c, "").unwrap();
    }

    #[test]
    fn source_ips_are_checked_and_rendered() {
        let g = conditioned(&[], &["10.0.0.0/8", "127.0.0.1/32"]);
        g.admit(&claims("a"), "127.0.0.1").unwrap();
        g.admit(&claims("a"), "10.9.9.9").unwrap();
        let err = g.admit(&claims("a"), "192.0.2.1").unwrap_err();
        assert!(
            err.contains("192.0.2.1") && err.contains("10.0.0.0/8"),
            "{err}"
        );
        assert!(g
            .admit(&claims("a"), "")
            .unwrap_err()
            .contains("unknown address"));
        let text = g.policy("users/a/");
        let policy: Value = serde_json::from_str(&text).unwrap();
        for st in policy["Statement"].as_array().unwrap() {
            assert_eq!(
                st["Condition"]["IpAddress"]["acs:SourceIp"],
                json!(["10.0.0.0/8", "127.0.0.1/32"])
            );
        }
        assert!(policy["Statement"][1]["Condition"]["StringLike"].is_object());
        let parsed = stsgate_policy::parse(&text).unwrap();
        let decide = |ip: Option<&str>| {
            let context = stsgate_policy::Context {
                source_ip: ip.map(|i| i.parse().unwrap()),
                current_time: time::OffsetDateTime::now_utc(),
                secure_transport: false,
                user_agent: None,
                access_key_id: None,
                prefix: None,
                delimiter: None,
            };
            parsed.evaluate(&stsgate_policy::Request {
                action: "oss:GetObject",
                resource: "acs:oss:cn-hangzhou:1:app/users/a/x",
                context: &context,
            })
        };
        assert_eq!(decide(Some("127.0.0.1")), stsgate_policy::Decision::Allow);
        assert_eq!(
            decide(Some("192.0.2.1")),
            stsgate_policy::Decision::ImplicitDeny
        );
        assert_eq!(decide(None), stsgate_policy::Decision::ImplicitDeny);
        // No conditions: nothing added.
        assert!(!user_folder().policy("users/a/").contains("IpAddress"));
    }

    #[test]
    fn bad_conditions_are_named() {
        let mut c = default_grants()[0].clone();
        c.source_ips = Some(vec!["10.0.0.0/33".into()]);
        let err = format!("{:#}", Grant::from_config(&c).unwrap_err());
        assert!(err.contains("source_ips") && err.contains("0-32"), "{err}");
        c.source_ips = Some(vec![]);
        assert!(format!("{:#}", Grant::from_config(&c).unwrap_err()).contains("source_ips"));
        let mut c = default_grants()[0].clone();
        c.required_claims =
            Some([("role".to_string(), crate::config::ClaimValues::Any(vec![]))].into());
        let err = format!("{:#}", Grant::from_config(&c).unwrap_err());
        assert!(err.contains("required_claims.role"), "{err}");
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
