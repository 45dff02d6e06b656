//! PostObject (browser form upload): the policy document grammar and its V1/V4 signatures.

use time::OffsetDateTime;

/// `base64(HMAC-SHA1(secret, policy_base64))`.
pub fn v1_signature(secret: &str, policy_base64: &str) -> String {
    todo!()
}

/// `hex(HMAC-SHA256(signing_key(secret, date, region, product), policy_base64))`.
pub fn v4_signature(secret: &str, date: &str, region: &str, product: &str, policy_base64: &str) -> String {
    todo!()
}

/// One condition of a POST policy. Field names are stored lowercase without the `$`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// `{"field":"value"}` or `["eq","$field","value"]`
    Eq(String, String),
    /// `["starts-with","$field","prefix"]`
    StartsWith(String, String),
    /// `["content-length-range",min,max]`
    ContentLengthRange(u64, u64),
    /// `["in","$field",[...]]`
    In(String, Vec<String>),
    /// `["not-in","$field",[...]]`
    NotIn(String, Vec<String>),
}

/// A parsed POST policy: `{"expiration":"…","conditions":[…]}` (both keys required).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostPolicy {
    pub expiration: OffsetDateTime,
    pub conditions: Vec<Condition>,
}

/// Why a policy document could not be parsed. The message names the offending part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PolicyParseError(pub String);

/// Why a form does not satisfy its policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyViolation {
    /// Occurs when `now` is past the policy's expiration.
    #[error("Invalid according to Policy: Policy expired.")]
    Expired,
    /// Occurs when a condition does not hold; carries the condition as the client wrote it, e.g. `["starts-with", "$key", "user/"]`.
    #[error("Invalid according to Policy: Policy Condition failed: {0}")]
    ConditionFailed(String),
}

impl PostPolicy {
    /// Parses the base64 policy field: base64 → UTF-8 JSON → expiration (ISO 8601, with or
    /// without fractional seconds) and conditions. Any malformed part → error naming it.
    pub fn parse_base64(policy_base64: &str) -> Result<PostPolicy, PolicyParseError> {
        todo!()
    }

    /// Checks expiration and every condition except `content-length-range` against the form
    /// fields (names lowercase; `bucket` included by the caller). A field named in an `eq` or
    /// `starts-with` condition but missing from the form counts as the empty string.
    pub fn check_fields(&self, fields: &[(String, String)], now: OffsetDateTime) -> Result<(), PolicyViolation> {
        todo!()
    }

    /// The `content-length-range` bounds, if the policy has one (the tightest if several).
    pub fn content_length_range(&self) -> Option<(u64, u64)> {
        todo!()
    }
}
