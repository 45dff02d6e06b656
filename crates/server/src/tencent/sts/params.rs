//! The actions' parameter rules (spec §2), each a pure function of untrusted input.
//!
//! Shape errors are `InvalidParameter.ParamError` naming the field; durations out of range are
//! `InvalidParameter.OverTimeError`; policies are `InvalidParameter.PolicyTooLong` or
//! `InvalidParameter.StrategyFormatError` (the STS SDK's `errorcodes.py`).

use super::error::TcStsError;
use stsgate_signing::tc_v1;

/// Largest `Policy` once URL-decoded, in bytes. Tencent publishes no number for
/// `PolicyTooLong`; 2048 is AWS's and Alibaba's session-policy limit.
pub const MAX_POLICY_BYTES: usize = 2048;
/// Shortest `DurationSeconds`. Tencent documents no minimum; 1 s lets tests watch expiry.
pub const MIN_DURATION: i64 = 1;
/// GetFederationToken: the default, the root key's maximum, a sub-account's maximum.
pub const FEDERATION_DEFAULT: i64 = 1800;
pub const FEDERATION_MAX_ROOT: i64 = 7200;
pub const FEDERATION_MAX_SUB: i64 = 129_600;
/// AssumeRole: the default and the maximum (then capped by the role's maximum session).
pub const ASSUME_DEFAULT: i64 = 7200;
pub const ASSUME_MAX: i64 = 43_200;

const PARAM_ERROR: &str = "InvalidParameter.ParamError";

/// How `RoleArn` names the role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleRef {
    /// `…:roleName/<name>`
    Name(String),
    /// `…:role/<numeric id>`
    Id(String),
}

fn chars_ok(value: &str, len: std::ops::RangeInclusive<usize>, extra: &str) -> bool {
    len.contains(&value.chars().count())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || extra.contains(c))
}

/// GetFederationToken's `Name`: 2-32 of `[\w+=,.@-]`. The docs say "letters", but every
/// qcloud-cos-sts SDK sends `cos-sts-<lang>`, which Tencent accepts.
pub fn name(value: &str) -> Result<(), TcStsError> {
    match chars_ok(value, 2..=32, "+=,.@-") {
        true => Ok(()),
        false => Err(TcStsError::invalid(
            PARAM_ERROR,
            format!("Name {value:?} is invalid: use 2-32 letters, digits or _+=,.@-."),
        )),
    }
}

/// AssumeRole's `RoleSessionName`: 2-128 of `[\w+=,.@_-]`.
pub fn session_name(value: &str) -> Result<(), TcStsError> {
    match chars_ok(value, 2..=128, "+=,.@-") {
        true => Ok(()),
        false => Err(TcStsError::invalid(
            PARAM_ERROR,
            format!("RoleSessionName {value:?} is invalid: use 2-128 letters, digits or _+=,.@-."),
        )),
    }
}

/// AssumeRole's `ExternalId`: 2-128 of `[\w+=,.@:/-]`.
pub fn external_id(value: &str) -> Result<(), TcStsError> {
    match chars_ok(value, 2..=128, "+=,.@:/-") {
        true => Ok(()),
        false => Err(TcStsError::invalid(
            PARAM_ERROR,
            "ExternalId is invalid: use 2-128 letters, digits or _+=,.@:/-.",
        )),
    }
}

/// `qcs::cam::uin/<uin>:roleName/<name>` or `qcs::cam::uin/<uin>:role/<id>` → (uin, role).
pub fn role_arn(value: &str) -> Result<(String, RoleRef), TcStsError> {
    let bad = || {
        TcStsError::invalid(
            PARAM_ERROR,
            format!("RoleArn {value:?} is invalid: use qcs::cam::uin/<Uin>:roleName/<RoleName> or qcs::cam::uin/<Uin>:role/<RoleId>."),
        )
    };
    let rest = value.strip_prefix("qcs::cam::uin/").ok_or_else(bad)?;
    let (uin, role) = rest.split_once(':').ok_or_else(bad)?;
    let digits =
        |s: &str, max: usize| (1..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(uin, 20) {
        return Err(bad());
    }
    let role = match (role.strip_prefix("roleName/"), role.strip_prefix("role/")) {
        (Some(name), _) if chars_ok(name, 1..=128, "+=,.@-") => RoleRef::Name(name.to_string()),
        (_, Some(id)) if digits(id, 30) => RoleRef::Id(id.to_string()),
        _ => return Err(bad()),
    };
    Ok((uin.to_string(), role))
}

/// `DurationSeconds` (absent or empty → `default`) within [`MIN_DURATION`]..=`max`; `limit`
/// says in words where `max` comes from.
pub fn duration(
    value: Option<&str>,
    default: i64,
    max: i64,
    limit: &str,
) -> Result<i64, TcStsError> {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Ok(default.min(max));
    };
    let secs: i64 = value.trim().parse().map_err(|_| {
        TcStsError::invalid(
            PARAM_ERROR,
            format!("DurationSeconds must be an integer number of seconds, got {value:?}."),
        )
    })?;
    match (MIN_DURATION..=max).contains(&secs) {
        true => Ok(secs),
        false => Err(TcStsError::OverTime(format!(
            "DurationSeconds {secs} is out of range: ask for {MIN_DURATION} to {max} seconds ({limit})."
        ))),
    }
}

/// A `Policy` parameter as received (URL-encoded once more by every SDK but Java's, spec §1.5):
/// decoded, at most [`MAX_POLICY_BYTES`], a valid CAM policy. Returns it re-serialized.
pub fn policy(raw: &str) -> Result<String, TcStsError> {
    let text = tc_v1::policy_text(raw);
    if text.len() > MAX_POLICY_BYTES {
        return Err(TcStsError::PolicyTooLong(text.len()));
    }
    stsgate_policy::parse_cam(&text)
        .map(|p| p.to_json())
        .map_err(|e| TcStsError::StrategyFormat(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use stsgate_signing::encode::pe;

    fn check<T: std::fmt::Debug>(got: Result<T, TcStsError>, expected: &str) {
        let got = match got {
            Ok(v) => format!("{v:?}"),
            Err(e) => e.code().to_string(),
        };
        assert_eq!(got, expected);
    }

    const POLICY: &str = r#"{"version":"2.0","statement":[{"effect":"allow","action":["name/cos:PutObject"],"resource":["qcs::cos:ap-guangzhou:uid/1250000000:b-1250000000/dir/*"]}]}"#;

    #[test]
    fn names() {
        check(name("cos-sts-python"), "()");
        check(name("a"), PARAM_ERROR);
        check(name(&"a".repeat(33)), PARAM_ERROR);
        check(name("a b"), PARAM_ERROR);
        check(session_name("alice@example.com_1"), "()");
        check(session_name(&"a".repeat(129)), PARAM_ERROR);
        check(external_id("abc:/="), "()");
        check(external_id("a"), PARAM_ERROR);
    }

    #[test]
    fn role_arns() {
        check(
            role_arn("qcs::cam::uin/100000000001:roleName/app"),
            r#"("100000000001", Name("app"))"#,
        );
        check(
            role_arn("qcs::cam::uin/12345678:role/4611686018427397919"),
            r#"("12345678", Id("4611686018427397919"))"#,
        );
        for bad in [
            "",
            "app",
            "acs:ram::1:role/app",
            "qcs::cam::uin/:roleName/app",
            "qcs::cam::uin/1a:roleName/app",
            "qcs::cam::uin/1:roleName/",
            "qcs::cam::uin/1:roleName/a/b",
            "qcs::cam::uin/1:role/abc",
            "qcs::cam::uin/1:role/tencentcloudServiceRole/4611686018427397920",
            "qcs::cam::uin/1:uin/2",
        ] {
            check(role_arn(bad), PARAM_ERROR);
        }
    }

    #[test]
    fn durations() {
        check(duration(None, 1800, 7200, "root"), "1800");
        check(duration(Some(""), 7200, 3600, "role"), "3600");
        check(duration(Some("1"), 1800, 7200, "root"), "1");
        check(duration(Some("7200"), 1800, 7200, "root"), "7200");
        for over in ["0", "-5", "7201", "99999999999"] {
            check(
                duration(Some(over), 1800, 7200, "root"),
                "InvalidParameter.OverTimeError",
            );
        }
        for bad in ["1e3", "abc", "1.5", "99999999999999999999"] {
            check(duration(Some(bad), 1800, 7200, "root"), PARAM_ERROR);
        }
        let message = duration(Some("8000"), 1800, 7200, "the root key's maximum")
            .unwrap_err()
            .message();
        assert!(
            message.contains("1 to 7200 seconds (the root key's maximum)"),
            "{message}"
        );
    }

    #[test]
    fn policies_decode_once_and_are_checked() {
        let once = pe(POLICY);
        let normalized = policy(&once).unwrap();
        assert_eq!(policy(POLICY).unwrap(), normalized, "raw JSON (Java) too");
        assert!(normalized.contains("cos:PutObject"), "{normalized}");
        assert!(stsgate_policy::parse_cam(&normalized).is_ok());
        check(policy(&pe("{")), "InvalidParameter.StrategyFormatError");
        check(
            policy(
                r#"{"version":"2.0","statement":[{"effect":"maybe","action":"*","resource":"*"}]}"#,
            ),
            "InvalidParameter.StrategyFormatError",
        );
        let big = POLICY.replace("dir/*", &format!("{}/*", "d".repeat(2048)));
        check(policy(&pe(&big)), "InvalidParameter.PolicyTooLong");
        let message = policy(&pe("{}")).unwrap_err().message();
        assert!(
            message.starts_with("The Policy is not a valid CAM policy: "),
            "{message}"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn validators_never_panic(s in any::<String>(), max in 1i64..=129_600) {
            let _ = name(&s);
            let _ = session_name(&s);
            let _ = external_id(&s);
            let _ = role_arn(&s);
            let _ = duration(Some(&s), 1800, max, "max");
            let _ = policy(&s);
            let _ = policy(&pe(&s));
        }

        #[test]
        fn arns_of_valid_names_parse(uin in "[0-9]{1,20}", role in "[A-Za-z0-9_+=,.@-]{1,128}") {
            let arn = format!("qcs::cam::uin/{uin}:roleName/{role}");
            prop_assert_eq!(role_arn(&arn).unwrap(), (uin, RoleRef::Name(role)));
        }

        #[test]
        fn durations_in_range_are_accepted(secs in 1i64..=43_200) {
            prop_assert_eq!(duration(Some(&secs.to_string()), 7200, 43_200, "max").unwrap(), secs);
        }
    }
}
