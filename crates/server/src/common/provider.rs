//! Providers: who issues a grant's credentials, behind one seam.
//!
//! - `local` (always there, the default of every grant): the embedded faces; credentials are
//!   minted in-process (`api/credentials.rs::issue`).
//! - `[provider.NAME]`: a real cloud account (or anything speaking its wire, such as a second
//!   stsgate), one implementation of [`Upstream`] per vendor (`aliyun/provider.rs`,
//!   `tencent/provider.rs`). Credentials come from the cloud's STS with the grant's narrowest
//!   policy inline.
//!
//! This module knows no vendor: the registry is filled by the layer that does (`api::upstream`),
//! and a failed upstream call is an [`UpstreamError`] every face renders in its own shape.

use crate::secret::Secret;
use crate::token::Minted;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// The name of the embedded provider.
pub const LOCAL: &str = "local";

/// The clouds stsgate speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Vendor {
    /// Alibaba Cloud: RAM policies, OSS, STS `2015-04-01`.
    Aliyun,
    /// Tencent Cloud: CAM policies, COS, STS `2018-08-13`.
    Tencent,
}

impl Vendor {
    /// The name used in config (`vendor = "tencent"`, `type = "tencent"`).
    pub fn name(self) -> &'static str {
        match self {
            Vendor::Aliyun => "aliyun",
            Vendor::Tencent => "tencent",
        }
    }

    pub fn parse(s: &str) -> Option<Vendor> {
        match s {
            "aliyun" => Some(Vendor::Aliyun),
            "tencent" => Some(Vendor::Tencent),
            _ => None,
        }
    }
}

/// A long-term key pair (a RAM user's AccessKey, a CAM user's SecretId/SecretKey).
#[derive(Debug, Clone)]
pub struct KeyPair {
    pub id: String,
    pub secret: Secret,
}

/// A boxed future (the seam is object safe).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a provider is asked for.
#[derive(Debug, Clone)]
pub struct IssueInput<'a> {
    /// RoleSessionName / federation `Name` (see [`Upstream::session_name`]).
    pub session_name: &'a str,
    /// The inline session policy in the vendor's grammar.
    pub policy: &'a str,
    pub duration_seconds: i64,
}

/// Credentials a provider issued, fully parsed.
#[derive(Debug, Clone)]
pub struct UpstreamIssued {
    pub minted: Minted,
    /// The cloud's RequestId.
    pub request_id: String,
    /// Who the credentials act as (`AssumedRoleUser.Arn`, or the federated user), if told.
    pub arn: String,
    /// `AssumedRoleUser.AssumedRoleId`, if told.
    pub assumed_role_id: String,
}

/// Why an upstream call failed, with what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{provider}: {code}: {hint}")]
pub struct UpstreamError {
    /// The `[provider.NAME]`.
    pub provider: String,
    /// 502 (the cloud refused or answered nonsense) or 503 (throttled, 5xx, timeout,
    /// unreachable: try again later).
    pub status: u16,
    /// The upstream `Code` (`NoPermission`, `Throttling.User`, `AuthFailure.SecretIdNotFound`,
    /// …) or one of ours for transport failures: `Timeout`, `Unreachable`,
    /// `MalformedResponse`, `HttpStatus<N>`.
    pub code: String,
    /// The upstream `Message`, verbatim (may be empty).
    pub message: String,
    /// The upstream `RequestId`, when the answer had one.
    pub request_id: Option<String>,
    /// What to change, for a human (never empty).
    pub hint: String,
    /// For a signature mismatch: the string-to-sign stsgate sent (logged, never answered).
    pub string_to_sign: Option<String>,
    /// Attempts made (1 + retries).
    pub attempts: u32,
    /// What only operators see (the audit row and the log, never a caller): the key's id and
    /// where it came from, the role, the endpoint, the cloud's message verbatim.
    pub operator_detail: String,
}

/// A cloud's message with what could identify an account, a key, a role or a request signature
/// cut out, for callers: Tencent's `uin/…`, `uid/…`, `AKID…`, `qcs:…`; Alibaba's `LTAI…`, `STS.…`,
/// `acs:…` and everything after "string to sign is:"; runs of 6+ digits; paths.
pub fn redact(message: &str) -> String {
    let message = match message.find("string to sign is") {
        Some(at) => &message[..at],
        None => message,
    };
    message
        .split_inclusive(|c: char| c.is_whitespace() || "(),;[]\"'".contains(c))
        .map(|word| {
            let core =
                word.trim_end_matches(|c: char| c.is_whitespace() || "(),;[]\"'".contains(c));
            let tail = &word[core.len()..];
            let digits = core.chars().filter(char::is_ascii_digit).count();
            let secret_like = ["AKID", "uin/", "uid/", "LTAI", "STS.", "role/", "/"]
                .iter()
                .any(|p| core.contains(p))
                || core.starts_with("qcs:")
                || core.starts_with("acs:")
                || digits >= 6;
            match secret_like {
                true => format!("…{tail}"),
                false => word.to_string(),
            }
        })
        .collect()
}

/// One remote provider: a cloud's STS behind the api face.
pub trait Upstream: Send + Sync + std::fmt::Debug {
    /// The config table's name (`[provider.NAME]`).
    fn name(&self) -> &str;
    fn vendor(&self) -> Vendor;
    /// The region of the buckets (answers and V4 scopes).
    fn region(&self) -> &str;
    /// `scheme://host[:port]` of the object store that answers and URLs name.
    fn storage_endpoint(&self) -> &str;
    /// What credentials are issued through (a role ARN; for federation tokens the account).
    fn role_arn(&self) -> &str;
    /// The largest inline policy the cloud's STS takes, in bytes.
    fn max_policy_bytes(&self) -> usize;
    /// The key `/auth/custom` signs with for this provider's grants (`None`: scoped credentials).
    fn custom_signing_key(&self) -> Option<&KeyPair> {
        None
    }
    /// A session name the cloud accepts for `caller_id` (whose subject is `subject`); two
    /// callers never share one.
    fn session_name(&self, caller_id: &str, subject: &str) -> String;
    /// Asks the cloud's STS for credentials (retries and hints are the provider's).
    fn issue<'a>(
        &'a self,
        input: IssueInput<'a>,
    ) -> BoxFuture<'a, Result<UpstreamIssued, UpstreamError>>;
    /// Issue attempts sent so far (retries included), for tests and the benchmark.
    fn issue_attempts(&self) -> u64;
}

/// One configured provider.
#[derive(Debug, Clone)]
pub enum Provider {
    /// The embedded faces.
    Local,
    /// A cloud's STS.
    Remote(Arc<dyn Upstream>),
}

/// Every provider by name; `local` is always present. Their upstream counters share one
/// recorder, rendered once by `GET /metrics`.
#[derive(Debug, Clone)]
pub struct Providers {
    by_name: BTreeMap<String, Provider>,
    pub metrics: Arc<crate::common::upstream::UpstreamMetrics>,
}

impl Default for Providers {
    fn default() -> Self {
        let mut by_name = BTreeMap::new();
        by_name.insert(LOCAL.to_string(), Provider::Local);
        Providers {
            by_name,
            metrics: Default::default(),
        }
    }
}

impl Providers {
    /// The provider called `name` (`None`: `local`).
    pub fn get(&self, name: Option<&str>) -> Option<&Provider> {
        self.by_name.get(name.unwrap_or(LOCAL))
    }

    /// Every provider, `local` included, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Provider)> {
        self.by_name.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Adds a provider (`[provider.NAME]`, tests).
    pub fn insert(&mut self, name: &str, provider: Provider) {
        self.by_name.insert(name.to_string(), provider);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_cuts_ids_arns_paths_and_strings_to_sign() {
        let m = "You are not authorized to do this action. RAM user acs:ram::1234567890123456:user/yuser (LTAIabcdef) on acs:ram::1234567890123456:role/app; read /etc/stsgate/key.json. server string to sign is:POST&%2F&AccessKeyId%3DLTAIabcdef";
        let r = redact(m);
        for gone in [
            "1234567890123456",
            "LTAIabcdef",
            "role/app",
            "/etc/stsgate",
            "POST&",
            "AccessKeyId",
        ] {
            assert!(!r.contains(gone), "{gone} in {r}");
        }
        assert!(
            r.starts_with("You are not authorized to do this action."),
            "{r}"
        );
    }

    proptest::proptest! {
        #[test]
        fn redaction_never_panics_and_never_keeps_a_key_id(s in "\\PC{0,80}") {
            let r = redact(&s);
            proptest::prop_assert!(!r.contains("AKID") && !r.contains("LTAI"));
        }
    }
}
