//! COS POST Object (browser form upload): the form signature and the COS rules on top of the
//! shared policy grammar of [`crate::post`].
//!
//! ```text
//! SignKey      = hex(HMAC-SHA1(SecretKey, q-key-time))
//! StringToSign = hex(SHA1(policy JSON text))        (the decoded text, not the base64 field)
//! Signature    = hex(HMAC-SHA1(SignKey as ASCII hex, StringToSign))
//! ```

use time::OffsetDateTime;

use crate::cos;
use crate::mac::sha1_hex;
use crate::post::{decode_policy_base64, PolicyParseError, PolicyViolation, PostPolicy};

/// The form fields every COS policy must constrain.
pub const REQUIRED_CONDITIONS: [&str; 3] = ["q-sign-algorithm", "q-ak", "q-sign-time"];

/// Decodes the form's `policy` field and parses it. Returns the JSON text too, because the
/// signature covers exactly those bytes.
pub fn parse_policy(policy_base64: &str) -> Result<(String, PostPolicy), PolicyParseError> {
    let text = decode_policy_base64(policy_base64)?;
    let policy = PostPolicy::parse_text(&text)?;
    Ok((text, policy))
}

/// `hex(SHA1(policy_text))`.
pub fn string_to_sign(policy_text: &str) -> String {
    sha1_hex(policy_text.as_bytes())
}

/// The form's `q-signature`: `hex(HMAC-SHA1(SignKey(secret, key_time), hex(SHA1(policy_text))))`.
pub fn signature(secret: &str, key_time: &str, policy_text: &str) -> String {
    cos::signature(
        &cos::sign_key(secret, key_time),
        &string_to_sign(policy_text),
    )
}

/// Whether `signature` (the form's `q-signature`, hex in either case) signs `policy_text` under
/// `secret` and `key_time` (the form's `q-key-time`), compared in constant time.
pub fn verify(secret: &str, key_time: &str, policy_text: &str, signature_hex: &str) -> bool {
    let expected = signature(secret, key_time, policy_text);
    crate::ct_eq(
        expected.as_bytes(),
        signature_hex.to_ascii_lowercase().as_bytes(),
    )
}

/// Why a form does not satisfy its COS policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CosPolicyViolation {
    /// Occurs when the policy has no condition on one of [`REQUIRED_CONDITIONS`].
    #[error("the policy has no condition on {0}")]
    MissingCondition(&'static str),
    /// Occurs when the policy has expired or one of its conditions fails.
    #[error(transparent)]
    Policy(#[from] PolicyViolation),
}

/// Checks a COS policy against the form: it must constrain `q-sign-algorithm`, `q-ak` and
/// `q-sign-time`, must not have expired (`now` strictly after the expiration), and every
/// condition except `content-length-range` must hold (see [`PostPolicy::check_fields`]).
///
/// Field names compare case-insensitively (`$Content-Type` matches a `content-type` field); the
/// caller includes `bucket`. The form carries the key time as `q-key-time` while the policy
/// names it `q-sign-time`, so a form without a `q-sign-time` field is checked with its
/// `q-key-time` in that role.
pub fn check(
    policy: &PostPolicy,
    fields: &[(String, String)],
    now: OffsetDateTime,
) -> Result<(), CosPolicyViolation> {
    let constrained = |name: &str| policy.conditions.iter().any(|c| c.field() == Some(name));
    if let Some(missing) = REQUIRED_CONDITIONS.iter().find(|name| !constrained(name)) {
        return Err(CosPolicyViolation::MissingCondition(missing));
    }
    let has = |name: &str| fields.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    let key_time = fields
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("q-key-time"))
        .map(|(_, value)| value.clone());
    match key_time {
        Some(key_time) if !has("q-sign-time") => {
            let mut with_sign_time = fields.to_vec();
            with_sign_time.push(("q-sign-time".to_string(), key_time));
            Ok(policy.check_fields(&with_sign_time, now)?)
        }
        _ => Ok(policy.check_fields(fields, now)?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mac::base64;
    use proptest::prelude::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2019-08-30 09:00:00 UTC);
    const REQUIRED: &str = r#"{"q-sign-algorithm":"sha1"},{"q-ak":"AK"},{"q-sign-time":"1;2"}"#;

    fn policy(conditions: &str) -> PostPolicy {
        let text =
            format!(r#"{{"expiration":"2019-08-30T09:38:12.414Z","conditions":[{conditions}]}}"#);
        let (parsed_text, policy) = parse_policy(&base64(text.as_bytes())).expect("valid policy");
        assert_eq!(parsed_text, text);
        policy
    }

    fn form(extra: &[(&str, &str)]) -> Vec<(String, String)> {
        [
            ("q-sign-algorithm", "sha1"),
            ("q-ak", "AK"),
            ("q-key-time", "1;2"),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn check_form(conditions: &str, fields: &[(&str, &str)]) -> Result<(), CosPolicyViolation> {
        check(&policy(conditions), &form(fields), NOW)
    }

    #[test]
    fn required_conditions() {
        assert_eq!(check_form(REQUIRED, &[]), Ok(()));
        assert_eq!(
            check_form(r#"{"q-ak":"AK"},{"q-sign-time":"1;2"}"#, &[]),
            Err(CosPolicyViolation::MissingCondition("q-sign-algorithm"))
        );
        assert_eq!(
            check_form(
                r#"["eq","$Q-Sign-Algorithm","sha1"],["starts-with","$q-ak",""]"#,
                &[]
            ),
            Err(CosPolicyViolation::MissingCondition("q-sign-time"))
        );
        let wrong_time = r#"{"q-sign-algorithm":"sha1"},{"q-ak":"AK"},{"q-sign-time":"1;3"}"#;
        assert!(matches!(
            check_form(wrong_time, &[]),
            Err(CosPolicyViolation::Policy(
                PolicyViolation::ConditionFailed(_)
            ))
        ));
    }

    #[test]
    fn conditions_compare_names_case_insensitively() {
        let conditions =
            format!(r#"{REQUIRED},["starts-with","$Content-Type","image/"],{{"key":"a"}}"#);
        assert_eq!(
            check_form(&conditions, &[("Content-Type", "image/png"), ("Key", "a")]),
            Ok(())
        );
        assert_eq!(
            check_form(&conditions, &[("content-type", "text/plain"), ("key", "a")]),
            Err(CosPolicyViolation::Policy(
                PolicyViolation::ConditionFailed(
                    r#"["starts-with", "$content-type", "image/"]"#.to_string()
                )
            ))
        );
    }

    #[test]
    fn expiration() {
        let p = policy(REQUIRED);
        assert_eq!(
            check(&p, &form(&[]), datetime!(2019-08-30 09:38:12.414 UTC)),
            Ok(())
        );
        assert_eq!(
            check(&p, &form(&[]), datetime!(2019-08-30 09:38:13 UTC)),
            Err(CosPolicyViolation::Policy(PolicyViolation::Expired))
        );
    }

    #[test]
    fn sign_then_verify() {
        let sig = signature("SK", "1;2", "{}");
        assert!(verify("SK", "1;2", "{}", &sig));
        assert!(verify("SK", "1;2", "{}", &sig.to_ascii_uppercase()));
        assert!(!verify("SK", "1;3", "{}", &sig));
        assert!(!verify("SK", "1;2", "{} ", &sig));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn parse_policy_never_panics(s in any::<String>()) {
            let _ = parse_policy(&s);
        }

        #[test]
        fn parse_and_check_never_panic(s in r#"\{"expiration":"2030-01-01T00:00:00Z","conditions":\[[\[\]{}",$a-z0-9:;-]{0,60}\]\}"#, value in any::<String>()) {
            if let Ok((_, p)) = parse_policy(&base64(s.as_bytes())) {
                let fields = vec![("q-key-time".to_string(), value.clone()), ("key".to_string(), value)];
                let _ = check(&p, &fields, NOW);
            }
        }
    }
}
