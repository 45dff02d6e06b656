//! Grants: what a caller may ask credentials for, as a vendor-neutral scope (bucket, key prefix,
//! action bundles, conditions). Each vendor folder renders a scope into its own policy grammar
//! (`aliyun/policy.rs`: RAM; `tencent/policy.rs`: CAM).
//!
//! A grant names a bucket, a key-prefix template such as `users/${sub}/` and action bundles.
//! Rendering a template takes each `${CLAIM}` from the caller's claims; a value that is empty,
//! holds `..`, or holds anything outside `[A-Za-z0-9._@-]` is refused before any policy is built,
//! so a rendered prefix never contains `/` (other than the template's own), `*` or `?`, and
//! always ends with `/`: `users/al/` never matches `users/alice/…`.

use crate::common::provider::{Vendor, LOCAL};
use crate::config::GrantConfig;
use anyhow::bail;
use serde_json::{Map, Value};
use std::net::IpAddr;

/// Bounds of a grant's durations, in seconds (as STS AssumeRole).
pub const DURATION_RANGE: std::ops::RangeInclusive<i64> = 900..=43_200;

/// An action bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Bundle {
    /// Get and head objects.
    Read,
    /// Put objects, multipart uploads (initiate, upload part, complete, abort, list parts).
    Write,
    /// List the bucket, limited to the prefix.
    List,
    /// Delete objects.
    Delete,
    /// Set and read the ACL of objects under the prefix (PutObjectAcl, GetObjectAcl, and an ACL
    /// header on writes). Without it the rendered policy denies object ACLs explicitly, so grant
    /// credentials cannot make an object public.
    Acl,
    /// Read and change the grant's bucket's settings: lifecycle rules, default encryption, bucket
    /// policy, referer list and CORS rules. Without it the rendered policy denies every
    /// `PutBucket*`/`DeleteBucket*` explicitly. No bundle lets a grant change the bucket's ACL or
    /// delete the bucket. A bucket policy can open the bucket to anyone: give `settings` only to
    /// callers you would trust with the bucket.
    Settings,
}

impl Bundle {
    pub fn parse(s: &str) -> Option<Bundle> {
        Some(match s {
            "read" => Bundle::Read,
            "write" => Bundle::Write,
            "list" => Bundle::List,
            "delete" => Bundle::Delete,
            "acl" => Bundle::Acl,
            "settings" => Bundle::Settings,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Bundle::Read => "read",
            Bundle::Write => "write",
            Bundle::List => "list",
            Bundle::Delete => "delete",
            Bundle::Acl => "acl",
            Bundle::Settings => "settings",
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
    /// The cloud whose credentials, policy grammar and wire shapes the grant uses.
    pub vendor: Vendor,
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
        let pieces = parse_template(&c.prefix).map_err(|e| anyhow::anyhow!("prefix: {e}"))?;
        if c.actions.is_empty() {
            bail!("actions: give at least one of read, write, list, delete, acl, settings");
        }
        let mut bundles = Vec::new();
        for a in &c.actions {
            let Some(b) = Bundle::parse(a) else {
                bail!("actions: {a:?} is not a bundle (read, write, list, delete, acl, settings)");
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
        let vendor = match c.vendor.as_deref() {
            None => Vendor::Aliyun,
            Some(v) => Vendor::parse(v)
                .ok_or_else(|| anyhow::anyhow!("vendor: {v:?} is not \"aliyun\" or \"tencent\""))?,
        };
        // `${appid}` (Tencent grants only) is the data directory's AppId, filled in at start.
        let concrete = match (vendor, c.bucket.strip_suffix(APPID_SUFFIX)) {
            (Vendor::Tencent, Some(name)) => format!("{name}-1250000000"),
            _ => c.bucket.clone(),
        };
        if !stsgate_store::valid_bucket_name(&concrete) {
            bail!("bucket: {:?} is not a valid bucket name", c.bucket);
        }
        if vendor == Vendor::Tencent && !tencent_bucket(&concrete) {
            bail!(
                "bucket: {:?}: a Tencent bucket is spelt <name>-<appid>, e.g. \"app-1250000000\" (or \"app-${{appid}}\" for this data directory's AppId)",
                c.bucket
            );
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
            provider: c.provider.clone().unwrap_or_else(|| LOCAL.to_string()),
            vendor,
        })
    }

    /// The template's text before its first `${claim}` (the whole prefix when it has none): what
    /// every caller's prefix starts with.
    pub fn fixed_prefix(&self) -> String {
        self.pieces
            .iter()
            .map_while(|p| match p {
                Piece::Literal(s) => Some(s.as_str()),
                Piece::Claim(_) => None,
            })
            .collect()
    }

    /// The longest prefix the template can render: every `${claim}` a 128-character value (the
    /// most [`check_value`] lets through). A policy rendered for it is the largest any caller
    /// gets.
    pub fn worst_case_prefix(&self) -> String {
        self.pieces
            .iter()
            .map(|p| match p {
                Piece::Literal(s) => s.clone(),
                Piece::Claim(_) => "x".repeat(128),
            })
            .collect()
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

    /// The bundles the grant allows, for display.
    pub fn action_names(&self) -> Vec<&'static str> {
        self.bundles.iter().map(|b| b.name()).collect()
    }
}

/// Checks a key against the caller's prefix (every route that signs for a caller).
pub fn check_key(key: &str, prefix: &str) -> Result<(), String> {
    if !key.starts_with(prefix) {
        return Err(format!(
            "the key {} is outside your prefix {prefix:?}",
            show_key(key)
        ));
    }
    if key.len() > 1023 {
        return Err("the key is longer than 1023 bytes".into());
    }
    if key.chars().any(char::is_control) {
        return Err(format!(
            "the key {} holds a control character",
            show_key(key)
        ));
    }
    if key.split('/').any(|seg| seg == "." || seg == "..") {
        return Err(format!(
            "the key {} holds a \".\" or \"..\" segment",
            show_key(key)
        ));
    }
    Ok(())
}

/// Shortens an untrusted key for messages.
fn show_key(s: &str) -> String {
    let short: String = s.chars().take(80).collect();
    match short.len() < s.len() {
        true => format!("{short:?}…"),
        false => format!("{short:?}"),
    }
}

/// The suffix of a Tencent grant's bucket that stands for the data directory's AppId.
pub const APPID_SUFFIX: &str = "-${appid}";

impl Grant {
    /// Fills `${appid}` in the bucket name (Tencent grants) with `app_id`.
    pub fn with_app_id(mut self, app_id: &str) -> Grant {
        if let Some(name) = self.bucket.strip_suffix(APPID_SUFFIX) {
            self.bucket = format!("{name}-{app_id}");
        }
        self
    }
}

/// Whether `bucket` is spelt `<name>-<appid>` (COS: the name, `-`, the numeric AppId).
pub fn tencent_bucket(bucket: &str) -> bool {
    bucket.rsplit_once('-').is_some_and(|(name, appid)| {
        !name.is_empty() && !appid.is_empty() && appid.bytes().all(|b| b.is_ascii_digit())
    })
}

/// The grants used when the config defines none: `user-folder` (Alibaba: bucket `app`) and
/// `cos-folder` (Tencent: bucket `app-${appid}`), each `users/${sub}/`, read, write, list,
/// delete, 900 s.
pub fn default_grants() -> Vec<GrantConfig> {
    let folder = |name: &str, bucket: &str, vendor: Option<&str>| GrantConfig {
        name: name.into(),
        bucket: bucket.into(),
        prefix: "users/${sub}/".into(),
        actions: ["read", "write", "list", "delete"]
            .map(String::from)
            .to_vec(),
        default_duration: Some(900),
        max_duration: Some(3600),
        required_claims: None,
        source_ips: None,
        provider: None,
        vendor: vendor.map(str::to_string),
    };
    vec![
        folder("user-folder", "app", None),
        folder("cos-folder", "app-${appid}", Some("tencent")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn user_folder() -> Grant {
        Grant::from_config(&default_grants()[0]).unwrap()
    }

    fn claims(sub: &str) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("sub".into(), Value::String(sub.into()));
        m
    }

    #[test]
    fn source_ips_are_checked() {
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
    }

    #[test]
    fn vendors_and_tencent_buckets() {
        assert_eq!(user_folder().vendor, Vendor::Aliyun);
        let mut c = default_grants()[0].clone();
        c.vendor = Some("tencent".into());
        let err = format!("{:#}", Grant::from_config(&c).unwrap_err());
        assert!(err.contains("<name>-<appid>"), "{err}");
        c.bucket = "app-1250000000".into();
        assert_eq!(Grant::from_config(&c).unwrap().vendor, Vendor::Tencent);
        c.vendor = Some("aws".into());
        assert!(format!("{:#}", Grant::from_config(&c).unwrap_err()).contains("vendor"));
        assert!(tencent_bucket("a-1") && !tencent_bucket("a-") && !tencent_bucket("-1"));
        c.bucket = "app-${appid}".into();
        c.vendor = Some("tencent".into());
        let g = Grant::from_config(&c).unwrap().with_app_id("1250000001");
        assert_eq!(g.bucket, "app-1250000001");
        c.vendor = None;
        assert!(
            Grant::from_config(&c).is_err(),
            "${{appid}} is for Tencent grants only"
        );
        c.vendor = Some("tencent".into());
        c.bucket = "-${appid}".into();
        assert!(Grant::from_config(&c).is_err());
        assert!(!tencent_bucket("app") && !tencent_bucket("app-12x"));
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
