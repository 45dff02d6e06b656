//! AssumeRole's parameter rules (spec §2.1), each a pure function of untrusted input.

use super::error::StsError;

/// Largest session `Policy`, in bytes.
pub const MAX_POLICY_BYTES: usize = 2048;
/// Shortest `DurationSeconds`.
pub const MIN_DURATION: i64 = 900;
/// `DurationSeconds` when absent.
pub const DEFAULT_DURATION: i64 = 3600;

/// `acs:ram::<account digits>:role/<name>` → (account, name).
pub fn role_arn(value: &str) -> Result<(String, String), StsError> {
    let bad = || {
        StsError::invalid(
            "RoleArn",
            format!(
                "The parameter RoleArn is invalid: {value:?} is not of the form acs:ram::<AccountId>:role/<RoleName>."
            ),
        )
    };
    let rest = value.strip_prefix("acs:ram::").ok_or_else(bad)?;
    let (account, name) = rest.split_once(":role/").ok_or_else(bad)?;
    let account_ok = !account.is_empty() && account.bytes().all(|b| b.is_ascii_digit());
    if !account_ok || !crate::iam::valid_role_name(name) {
        return Err(bad());
    }
    Ok((account.to_string(), name.to_string()))
}

/// `^[\w.@-]{2,64}$` (ASCII word characters).
pub fn session_name(value: &str) -> Result<(), StsError> {
    match valid_session_name(value) {
        true => Ok(()),
        false => Err(StsError::invalid(
            "RoleSessionName",
            "The parameter RoleSessionName is invalid: it must be 2-64 characters of letters, digits, '.', '@', '_' or '-'.",
        )),
    }
}

/// `DurationSeconds` (absent → 3600, capped by the role's maximum) within 900..=`max`.
pub fn duration(value: Option<&str>, max: i64) -> Result<i64, StsError> {
    let out_of_range = || {
        StsError::invalid(
            "DurationSeconds",
            format!(
                "The Min/Max value of DurationSeconds is 15min/{}. Ask for 900 to {max} seconds, or raise the role's maximum session duration.",
                human(max)
            ),
        )
    };
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Ok(DEFAULT_DURATION.min(max));
    };
    let secs: i64 = value.trim().parse().map_err(|_| out_of_range())?;
    match (MIN_DURATION..=max).contains(&secs) {
        true => Ok(secs),
        false => Err(out_of_range()),
    }
}

fn human(secs: i64) -> String {
    match secs % 3600 {
        0 => format!("{}hr", secs / 3600),
        _ => format!("{secs}s"),
    }
}

/// A session `Policy`: at most 2048 bytes of valid RAM policy. Returns it re-serialized.
pub fn policy(value: &str) -> Result<String, StsError> {
    if value.len() > MAX_POLICY_BYTES {
        return Err(StsError::invalid(
            "PolicySize",
            format!(
                "The size of Policy must be smaller than 2048 bytes; this one has {}.",
                value.len()
            ),
        ));
    }
    stsgate_policy::parse(value)
        .map(|p| p.to_json())
        .map_err(|e| {
            StsError::invalid(
                "PolicyGrammar",
                format!("The policy has a syntax error: {e}"),
            )
        })
}

/// `ExternalId`: 2-1224 characters of `[\w+=,.@:/-]`.
pub fn external_id(value: &str) -> Result<(), StsError> {
    let ok = (2..=1224).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c));
    match ok {
        true => Ok(()),
        false => Err(StsError::invalid(
            "ExternalId",
            "The parameter ExternalId is invalid: 2-1224 characters of letters, digits and _+=,.@:/-.",
        )),
    }
}

/// `SourceIdentity`: 2-64 characters of `[\w+=,.@-]`, not starting with `acs:`, `aliyun:` or
/// `alibabacloud:`.
pub fn source_identity(value: &str) -> Result<(), StsError> {
    let reserved = ["acs:", "aliyun:", "alibabacloud:"]
        .iter()
        .any(|p| value.to_ascii_lowercase().starts_with(p));
    let ok = (2..=64).contains(&value.len())
        && !reserved
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    match ok {
        true => Ok(()),
        false => Err(StsError::invalid(
            "SourceIdentity",
            "The parameter SourceIdentity is invalid: 2-64 characters of letters, digits and _+=,.@-, not starting with acs:, aliyun: or alibabacloud:.",
        )),
    }
}

/// Checks a RoleSessionName: 2–64 characters of `[A-Za-z0-9.@_-]`.
pub fn valid_session_name(name: &str) -> bool {
    (2..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".@_-".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn code<T>(r: Result<T, StsError>) -> String {
        r.err().map(|e| e.code()).unwrap_or_else(|| "ok".into())
    }

    #[test]
    fn role_arns() {
        assert_eq!(
            role_arn("acs:ram::1234567890123456:role/oss-writer").unwrap(),
            ("1234567890123456".into(), "oss-writer".into())
        );
        for bad in [
            "",
            "oss-writer",
            "acs:ram::12ab:role/x",
            "acs:ram:::role/x",
            "acs:ram::1:role/",
            "acs:ram::1:role/a b",
            "acs:ram::1:user/x",
            "acs:ram::1:role/a/b",
        ] {
            assert_eq!(code(role_arn(bad)), "InvalidParameter.RoleArn", "{bad}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(duration(None, 3600).unwrap(), 3600);
        assert_eq!(duration(Some(""), 7200).unwrap(), 3600);
        assert_eq!(duration(Some("900"), 3600).unwrap(), 900);
        assert_eq!(duration(Some("43200"), 43200).unwrap(), 43200);
        for bad in ["899", "3601", "-1", "1e3", "abc", "99999999999999999999"] {
            assert_eq!(
                code(duration(Some(bad), 3600)),
                "InvalidParameter.DurationSeconds",
                "{bad}"
            );
        }
        let message = duration(Some("5000"), 3600).unwrap_err().message();
        assert!(message.contains("15min/1hr"), "{message}");
    }

    #[test]
    fn policies() {
        let ok = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:GetObject","Resource":"*"}]}"#;
        assert!(policy(ok).is_ok());
        assert_eq!(code(policy("{")), "InvalidParameter.PolicyGrammar");
        assert_eq!(
            code(policy(&format!("{}{}", ok, " ".repeat(2048)))),
            "InvalidParameter.PolicySize"
        );
    }

    #[test]
    fn names_and_ids() {
        assert_eq!(code(session_name("alice@example.com")), "ok");
        assert_eq!(code(session_name("a")), "InvalidParameter.RoleSessionName");
        assert_eq!(code(external_id("abc:/=")), "ok");
        assert_eq!(code(external_id("a")), "InvalidParameter.ExternalId");
        assert_eq!(code(source_identity("Alice")), "ok");
        assert_eq!(
            code(source_identity("acs:alice")),
            "InvalidParameter.SourceIdentity"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn validators_never_panic(s in any::<String>(), max in 3600i64..=43200) {
            let _ = role_arn(&s);
            let _ = session_name(&s);
            let _ = duration(Some(&s), max);
            let _ = policy(&s);
            let _ = external_id(&s);
            let _ = source_identity(&s);
        }

        #[test]
        fn arns_of_valid_names_parse(account in "[0-9]{1,20}", name in "[A-Za-z0-9.-]{1,64}") {
            let arn = format!("acs:ram::{account}:role/{name}");
            prop_assert_eq!(role_arn(&arn).unwrap(), (account, name));
        }

        #[test]
        fn durations_in_range_are_accepted(secs in 900i64..=43200) {
            prop_assert_eq!(duration(Some(&secs.to_string()), 43200).unwrap(), secs);
        }
    }

    #[test]
    fn session_names() {
        assert!(valid_session_name("alice@example.com"));
        assert!(!valid_session_name("a"));
        assert!(!valid_session_name("a b"));
        assert!(!valid_session_name(&"a".repeat(65)));
    }
}
