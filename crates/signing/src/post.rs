//! PostObject (browser form upload): the policy document grammar and its V1/V4 signatures.

use serde_json::Value;
use time::format_description::well_known::{Iso8601, Rfc3339};
use time::OffsetDateTime;

use crate::mac::{base64, hmac_sha1};
use crate::oss_v4;

/// `base64(HMAC-SHA1(secret, policy_base64))`.
pub fn v1_signature(secret: &str, policy_base64: &str) -> String {
    base64(&hmac_sha1(secret.as_bytes(), policy_base64.as_bytes()))
}

/// `hex(HMAC-SHA256(signing_key(secret, date, region, product), policy_base64))`.
pub fn v4_signature(
    secret: &str,
    date: &str,
    region: &str,
    product: &str,
    policy_base64: &str,
) -> String {
    let key = oss_v4::signing_key(secret, date, region, product);
    oss_v4::signature(&key, policy_base64)
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

impl Condition {
    /// The condition in OSS's error-message shape, e.g. `["starts-with", "$key", "user/"]`.
    /// Object-form equalities render as `["eq", "$field", "value"]`; field names are lowercase.
    pub fn render(&self) -> String {
        let quote = |s: &str| Value::String(s.to_string()).to_string();
        let list = |items: &[String]| {
            let quoted: Vec<String> = items.iter().map(|s| quote(s)).collect();
            format!("[{}]", quoted.join(", "))
        };
        let field = |name: &str| quote(&format!("${name}"));
        match self {
            Condition::Eq(name, value) => format!("[\"eq\", {}, {}]", field(name), quote(value)),
            Condition::StartsWith(name, prefix) => {
                format!("[\"starts-with\", {}, {}]", field(name), quote(prefix))
            }
            Condition::ContentLengthRange(min, max) => {
                format!("[\"content-length-range\", {min}, {max}]")
            }
            Condition::In(name, values) => format!("[\"in\", {}, {}]", field(name), list(values)),
            Condition::NotIn(name, values) => {
                format!("[\"not-in\", {}, {}]", field(name), list(values))
            }
        }
    }

    /// The form field the condition constrains (lowercase, without `$`); `None` for
    /// `content-length-range`, which constrains the file size.
    pub fn field(&self) -> Option<&str> {
        match self {
            Condition::Eq(name, _)
            | Condition::StartsWith(name, _)
            | Condition::In(name, _)
            | Condition::NotIn(name, _) => Some(name),
            Condition::ContentLengthRange(..) => None,
        }
    }

    /// Whether the condition holds for `fields`; `content-length-range` always holds here.
    fn holds(&self, fields: &[(String, String)]) -> bool {
        match self {
            Condition::Eq(name, expected) => field_value(fields, name) == expected,
            Condition::StartsWith(name, prefix) => field_value(fields, name).starts_with(prefix),
            Condition::In(name, values) => values.iter().any(|v| v == field_value(fields, name)),
            Condition::NotIn(name, values) => values.iter().all(|v| v != field_value(fields, name)),
            Condition::ContentLengthRange(..) => true,
        }
    }
}

/// The form value of `name` (case-insensitive), or `""` when the form lacks it.
fn field_value<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(field, _)| field.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
        .unwrap_or("")
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

fn fail(message: impl Into<String>) -> PolicyParseError {
    PolicyParseError(message.into())
}

impl PostPolicy {
    /// Parses the base64 policy field: base64 → UTF-8 JSON → expiration (ISO 8601, with or
    /// without fractional seconds) and conditions. Any malformed part → error naming it.
    /// Base64 padding is optional; surrounding whitespace is ignored.
    pub fn parse_base64(policy_base64: &str) -> Result<PostPolicy, PolicyParseError> {
        PostPolicy::parse_text(&decode_policy_base64(policy_base64)?)
    }

    /// Parses the policy JSON text (already decoded from base64), as [`PostPolicy::parse_base64`]
    /// does after decoding. COS signs this text itself, so its verifier decodes first.
    pub fn parse_text(text: &str) -> Result<PostPolicy, PolicyParseError> {
        let document: Value =
            serde_json::from_str(text).map_err(|e| fail(format!("policy is not JSON: {e}")))?;
        PostPolicy::from_json(&document)
    }

    fn from_json(document: &Value) -> Result<PostPolicy, PolicyParseError> {
        let object = document
            .as_object()
            .ok_or_else(|| fail("policy is not a JSON object"))?;
        let expiration = object
            .get("expiration")
            .ok_or_else(|| fail("policy has no expiration"))?
            .as_str()
            .ok_or_else(|| fail("expiration is not a string"))?;
        let expiration = parse_expiration(expiration)?;
        let conditions = object
            .get("conditions")
            .ok_or_else(|| fail("policy has no conditions"))?
            .as_array()
            .ok_or_else(|| fail("conditions is not an array"))?;
        let mut parsed = Vec::with_capacity(conditions.len());
        for condition in conditions {
            parse_condition(condition, &mut parsed)?;
        }
        Ok(PostPolicy {
            expiration,
            conditions: parsed,
        })
    }

    /// Checks expiration and every condition except `content-length-range` against the form
    /// fields (names lowercase; `bucket` included by the caller). A field named in an `eq` or
    /// `starts-with` condition but missing from the form counts as the empty string.
    /// The policy is expired when `now` is strictly after the expiration.
    pub fn check_fields(
        &self,
        fields: &[(String, String)],
        now: OffsetDateTime,
    ) -> Result<(), PolicyViolation> {
        if now > self.expiration {
            return Err(PolicyViolation::Expired);
        }
        match self.conditions.iter().find(|c| !c.holds(fields)) {
            Some(failed) => Err(PolicyViolation::ConditionFailed(failed.render())),
            None => Ok(()),
        }
    }

    /// The `content-length-range` bounds, if the policy has one (the tightest if several).
    pub fn content_length_range(&self) -> Option<(u64, u64)> {
        self.conditions
            .iter()
            .filter_map(|c| match c {
                Condition::ContentLengthRange(min, max) => Some((*min, *max)),
                _ => None,
            })
            .reduce(|(min_a, max_a), (min_b, max_b)| (min_a.max(min_b), max_a.min(max_b)))
    }
}

/// Decodes the base64 policy field into its UTF-8 JSON text. Padding is optional and
/// surrounding whitespace is ignored; invalid base64 or UTF-8 is an error naming the problem.
pub fn decode_policy_base64(policy_base64: &str) -> Result<String, PolicyParseError> {
    use base64::engine::{general_purpose, DecodePaddingMode, GeneralPurpose};
    use base64::Engine;
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        general_purpose::PAD.with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let bytes = LENIENT
        .decode(policy_base64.trim())
        .map_err(|e| fail(format!("policy is not valid base64: {e}")))?;
    String::from_utf8(bytes).map_err(|_| fail("policy is not UTF-8"))
}

fn parse_expiration(text: &str) -> Result<OffsetDateTime, PolicyParseError> {
    OffsetDateTime::parse(text, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(text, &Iso8601::DEFAULT))
        .map_err(|_| fail(format!("expiration is not an ISO 8601 time: {text:?}")))
}

/// Parses one entry of `conditions`; an object may hold several equalities.
fn parse_condition(value: &Value, out: &mut Vec<Condition>) -> Result<(), PolicyParseError> {
    match value {
        Value::Object(map) => {
            if map.is_empty() {
                return Err(fail("empty condition object"));
            }
            for (name, expected) in map {
                out.push(Condition::Eq(field_name(name), scalar(expected, name)?));
            }
            Ok(())
        }
        Value::Array(items) => {
            out.push(parse_array_condition(items)?);
            Ok(())
        }
        other => Err(fail(format!(
            "condition is neither an object nor an array: {other}"
        ))),
    }
}

fn parse_array_condition(items: &[Value]) -> Result<Condition, PolicyParseError> {
    let [op, first, second] = items else {
        return Err(fail(format!(
            "condition must have 3 elements: {}",
            Value::from(items)
        )));
    };
    let op = op
        .as_str()
        .ok_or_else(|| fail("condition operator is not a string"))?
        .to_ascii_lowercase();
    if op == "content-length-range" {
        return Ok(Condition::ContentLengthRange(
            length(first)?,
            length(second)?,
        ));
    }
    let name = first
        .as_str()
        .map(field_name)
        .ok_or_else(|| fail(format!("{op} condition field is not a string")))?;
    match op.as_str() {
        "eq" => Ok(Condition::Eq(name, scalar(second, &op)?)),
        "starts-with" => Ok(Condition::StartsWith(name, scalar(second, &op)?)),
        "in" => Ok(Condition::In(name, string_list(second, &op)?)),
        "not-in" => Ok(Condition::NotIn(name, string_list(second, &op)?)),
        _ => Err(fail(format!("unknown condition operator {op:?}"))),
    }
}

/// `$Key` → `key`.
fn field_name(raw: &str) -> String {
    raw.strip_prefix('$').unwrap_or(raw).to_ascii_lowercase()
}

/// A string value (numbers are accepted and written in decimal).
fn scalar(value: &Value, context: &str) -> Result<String, PolicyParseError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(fail(format!("{context} condition value is not a string"))),
    }
}

fn string_list(value: &Value, context: &str) -> Result<Vec<String>, PolicyParseError> {
    value
        .as_array()
        .ok_or_else(|| fail(format!("{context} condition value is not an array")))?
        .iter()
        .map(|item| scalar(item, context))
        .collect()
}

/// A content-length bound: a non-negative integer, or a string holding one.
fn length(value: &Value) -> Result<u64, PolicyParseError> {
    let parsed = match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| {
        fail(format!(
            "content-length-range bound is not a non-negative integer: {value}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2025-01-01 00:00:00 UTC);

    fn encode(json: &str) -> String {
        base64(json.as_bytes())
    }

    fn policy(conditions: &str) -> PostPolicy {
        let json =
            format!(r#"{{"expiration":"2030-01-01T00:00:00.000Z","conditions":[{conditions}]}}"#);
        PostPolicy::parse_base64(&encode(&json)).expect("valid policy")
    }

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Checks `conditions` against `fields`; `expected_failure` is the rendered failed condition.
    fn check(conditions: &str, fields: &[(&str, &str)], expected_failure: Option<&str>) {
        let got = policy(conditions).check_fields(&form(fields), NOW);
        let expected = match expected_failure {
            Some(rendered) => Err(PolicyViolation::ConditionFailed(rendered.to_string())),
            None => Ok(()),
        };
        assert_eq!(got, expected, "conditions {conditions}");
    }

    #[test]
    fn eq_conditions() {
        check(r#"{"bucket":"x"}"#, &[("bucket", "x")], None);
        check(
            r#"{"bucket":"x"}"#,
            &[("bucket", "y")],
            Some(r#"["eq", "$bucket", "x"]"#),
        );
        check(r#"{"Bucket":"x"}"#, &[("bucket", "x")], None);
        check(r#"["eq","$Key","a"]"#, &[("key", "a")], None);
        check(
            r#"["EQ","$key","a"]"#,
            &[("key", "b")],
            Some(r#"["eq", "$key", "a"]"#),
        );
        check(r#"["eq","$key",""]"#, &[], None);
        check(r#"["eq","$key","a"]"#, &[], Some(r#"["eq", "$key", "a"]"#));
        check(
            r#"{"success_action_status":201}"#,
            &[("success_action_status", "201")],
            None,
        );
    }

    #[test]
    fn starts_with_conditions() {
        check(
            r#"["starts-with","$key","user/"]"#,
            &[("key", "user/a")],
            None,
        );
        check(
            r#"["starts-with","$key","user/"]"#,
            &[("key", "other/a")],
            Some(r#"["starts-with", "$key", "user/"]"#),
        );
        check(r#"["starts-with","$key",""]"#, &[], None);
        check(
            r#"["starts-with","$x-oss-meta-a","p"]"#,
            &[],
            Some(r#"["starts-with", "$x-oss-meta-a", "p"]"#),
        );
    }

    #[test]
    fn in_and_not_in_conditions() {
        let cond = r#"["in","$content-type",["image/png","image/jpeg"]]"#;
        check(cond, &[("content-type", "image/png")], None);
        check(
            cond,
            &[("content-type", "text/html")],
            Some(r#"["in", "$content-type", ["image/png", "image/jpeg"]]"#),
        );
        let cond = r#"["not-in","$cache-control",["no-cache"]]"#;
        check(cond, &[("cache-control", "max-age=1")], None);
        check(
            cond,
            &[("cache-control", "no-cache")],
            Some(r#"["not-in", "$cache-control", ["no-cache"]]"#),
        );
    }

    #[test]
    fn expiration() {
        let p = policy("");
        assert_eq!(
            p.check_fields(&[], datetime!(2030-01-01 00:00:00 UTC)),
            Ok(())
        );
        assert_eq!(
            p.check_fields(&[], datetime!(2030-01-01 00:00:01 UTC)),
            Err(PolicyViolation::Expired)
        );
        let no_fraction = r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[]}"#;
        let parsed = PostPolicy::parse_base64(&encode(no_fraction)).expect("valid");
        assert_eq!(parsed.expiration, datetime!(2030-01-01 00:00:00 UTC));
        assert_eq!(
            PolicyViolation::Expired.to_string(),
            "Invalid according to Policy: Policy expired."
        );
    }

    #[test]
    fn content_length_range() {
        assert_eq!(
            policy(r#"["content-length-range",1,100]"#).content_length_range(),
            Some((1, 100))
        );
        assert_eq!(
            policy(r#"["content-length-range",1,100],["content-length-range","5",50]"#)
                .content_length_range(),
            Some((5, 50))
        );
        assert_eq!(policy(r#"{"bucket":"x"}"#).content_length_range(), None);
        check(r#"["content-length-range",1,2]"#, &[], None);
    }

    #[test]
    fn parse_errors() {
        let bad_json = [
            "not base64!",
            &base64(&[0xff, 0xfe]),
            &encode("{"),
            &encode("[]"),
            &encode(r#"{"conditions":[]}"#),
            &encode(r#"{"expiration":"2030-01-01T00:00:00.000Z"}"#),
            &encode(r#"{"expiration":"tomorrow","conditions":[]}"#),
            &encode(r#"{"expiration":5,"conditions":[]}"#),
            &encode(r#"{"expiration":"2030-01-01T00:00:00Z","conditions":{}}"#),
            &encode(r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[["eq","$key"]]}"#),
            &encode(r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[["like","$key","a"]]}"#),
            &encode(
                r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[["content-length-range",-1,5]]}"#,
            ),
            &encode(r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[["in","$key","a"]]}"#),
            &encode(r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[{}]}"#),
            &encode(r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[{"key":null}]}"#),
            &encode(r#"{"expiration":"2030-01-01T00:00:00Z","conditions":["key"]}"#),
        ];
        for policy_base64 in bad_json {
            assert!(
                PostPolicy::parse_base64(policy_base64).is_err(),
                "{policy_base64}"
            );
        }
        let unpadded = encode(r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[]}"#);
        assert!(PostPolicy::parse_base64(unpadded.trim_end_matches('=')).is_ok());
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn parse_base64_never_panics(s in any::<String>()) {
            let _ = PostPolicy::parse_base64(&s);
        }

        #[test]
        fn parse_base64_of_arbitrary_text_never_panics(s in any::<String>()) {
            let _ = PostPolicy::parse_base64(&encode(&s));
        }

        #[test]
        fn parse_base64_of_json_like_text_never_panics(s in r#"\{"expiration":"2030-01-01T00:00:00Z","conditions":\[[\[\]{}",$a-z0-9:-]{0,60}\]\}"#) {
            if let Ok(p) = PostPolicy::parse_base64(&encode(&s)) {
                let _ = p.check_fields(&[], NOW);
                let _ = p.content_length_range();
            }
        }

        #[test]
        fn starts_with_round_trips(prefix in "[a-z/]{0,10}", rest in "[a-z/]{0,10}") {
            let p = policy(&format!(r#"["starts-with","$key","{prefix}"]"#));
            let key = format!("{prefix}{rest}");
            prop_assert_eq!(p.check_fields(&form(&[("key", &key)]), NOW), Ok(()));
        }
    }
}
