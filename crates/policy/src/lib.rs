//! Policy languages: parse and validate vendor policy JSON into one model, then evaluate
//! requests against it.
//!
//! Pure: no I/O, no clock (the request context carries the current time).
//!
//! - [`parse`] turns Alibaba RAM policy JSON into a [`Policy`]; errors name the statement and
//!   field (`Statement[1].Action[0]: …`).
//! - [`parse_cam`] does the same for Tencent CAM (STS session policies, COS), normalising
//!   actions (`name/cos:GetObject` → `cos:GetObject`) and resources (legacy Node
//!   `prefix//<appid>/<bucket>/…`, empty region) into the forms requests are asked in; errors
//!   name the field in CAM's spelling (`statement[1].action[0]: …`).
//! - [`Policy::evaluate`] gives a [`Decision`] for one [`Request`]: explicit Deny wins over Allow,
//!   no matching statement is an implicit deny. Both grammars share it; [`Dialect`] only
//!   decides whether action names compare case-insensitively (RAM) or exactly (CAM).
//! - [`evaluate_all`] intersects several policies (role policy ∩ session policy).
//!
//! Inside: `model` (the types, the RAM parser, `to_json`), `cam` (the CAM parser and
//! normalisation, its condition spelling, its `to_json`), `condition` (operators, keys, typed
//! values, one `Grammar` per spelling), `glob` (`*`/`?` matching and the action/resource
//! matchers, `acs:` five-field and `qcs:` six-field resources).
//!
//! Architecture Invariant: everything that can be wrong with a policy is found by [`parse`] or
//! [`parse_cam`] (a condition the engine cannot evaluate is refused there, never ignored);
//! evaluation cannot fail and never panics, whatever the request.

mod bucket;
mod cam;
mod condition;
mod glob;
mod model;

pub use bucket::{parse_bucket_policy, wildcard_matches, BucketPolicy, MAX_BUCKET_POLICY};
pub use condition::ConditionBlock;
pub use model::{Dialect, Effect, Policy, Statement};

use std::net::IpAddr;
use time::OffsetDateTime;

/// Why a policy document was refused. `Display` is a sentence a human can act on, naming the
/// statement (0-based index) and the field, e.g. `Statement[1].Effect: must be "Allow" or "Deny", got "allow2"`
/// (RAM) or `statement[1].action[0]: "permid/280655" is a permission id, …` (CAM).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PolicyError(pub String);

/// The request being authorized.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// e.g. `oss:GetObject`, or `cos:GetObject` for COS (CAM's `name/cos:GetObject`).
    pub action: &'a str,
    /// e.g. `acs:oss:cn-hangzhou:1234567890:my-bucket/users/alice/a.txt`, or
    /// `acs:oss:cn-hangzhou:1234567890:my-bucket` for bucket-level actions, or
    /// `acs:oss:cn-hangzhou:1234567890:*` for ListBuckets.
    ///
    /// For COS: `qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/users/alice/a.txt`,
    /// `qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/` (empty key) for
    /// bucket-level actions, `*` for GetService.
    pub resource: &'a str,
    pub context: &'a Context,
}

/// Values that conditions can refer to.
#[derive(Debug, Clone)]
pub struct Context {
    /// `acs:SourceIp` (CAM `qcs:ip`)
    pub source_ip: Option<IpAddr>,
    /// `acs:CurrentTime` (CAM `qcs:current_time`)
    pub current_time: OffsetDateTime,
    /// `acs:SecureTransport` (CAM `cos:secure-transport`, `qcs:secure_transport`)
    pub secure_transport: bool,
    /// `acs:UserAgent`
    pub user_agent: Option<String>,
    /// `acs:AccessId`
    pub access_key_id: Option<String>,
    /// `oss:Prefix` (ListObjects `prefix`; `Some("")` when sent empty, `None` when absent);
    /// CAM `cos:prefix` (GetBucket `prefix`)
    pub prefix: Option<String>,
    /// `oss:Delimiter`
    pub delimiter: Option<String>,
    /// `oss:ExistingObjectTag/<tag>`: the tags of the object acted on, when the face read them
    /// (`None`: no object, or a request that does not touch one).
    pub existing_object_tags: Option<Vec<(String, String)>>,
    /// `oss:RequestObjectTag/<tag>`: the tags the request sets (`x-oss-tagging`, a `<Tagging>`
    /// body).
    pub request_object_tags: Option<Vec<(String, String)>>,
}

/// The outcome of evaluating a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// A matching Deny statement.
    ExplicitDeny,
    /// No matching Allow statement.
    ImplicitDeny,
}

/// Parses and validates a RAM policy document.
///
/// Accepts `Version` "1"; `Statement` a list (or a single object); each statement has `Effect`
/// (`Allow`/`Deny`), `Action` and `Resource` (string or list of strings), optional `Condition`
/// (`{Operator: {Key: value | [values]}}`; values may be strings, numbers or booleans).
/// `Principal`, `NotAction`, `NotResource` are refused with a message saying they are not
/// supported in identity/session policies. Unknown operators, malformed CIDRs, dates and numbers
/// are refused at parse time. Actions must look like `service:Name` (wildcards allowed) or `*`.
pub fn parse(json: &str) -> Result<Policy, PolicyError> {
    model::parse(json)
}

/// Parses and validates a Tencent CAM policy document (STS session policies, COS) into the
/// same model, with [`Dialect::Cam`].
///
/// Accepts `version` "2.0"; `statement` a list (or a single object); each statement has
/// `effect` (`allow`/`deny`), `action` and `resource` (string or list of strings), optional
/// `condition` (`{operator: {key: value | [values]}}`) and an optional wildcard `principal`
/// (`{"qcs":"*"}`, as the Node SDK's `getPolicy` writes it), which is ignored. Element names
/// match case-insensitively; unknown ones are refused by name. Actions are normalised from
/// `name/cos:GetObject` to `cos:GetObject`; COS resources keep the canonical
/// `qcs::cos:<region>:uid/<appid>:<bucket>-<appid>/<key>` form, with an empty region read as
/// `*` and the legacy `…:prefix//<appid>/<bucket>/<key>` rewritten to it. Conditions the
/// engine cannot evaluate (keys such as `cos:content-type`) are refused, never ignored. See the
/// `cam` module for the full tables.
pub fn parse_cam(json: &str) -> Result<Policy, PolicyError> {
    cam::parse(json)
}

/// Evaluates the request against every policy in `policies`: any explicit Deny → `ExplicitDeny`;
/// otherwise `Allow` only if **each** policy allows; otherwise `ImplicitDeny`.
/// An empty slice is `ImplicitDeny`.
pub fn evaluate_all(policies: &[&Policy], request: &Request) -> Decision {
    if policies.is_empty() {
        return Decision::ImplicitDeny;
    }
    let decisions: Vec<Decision> = policies
        .iter()
        .map(|policy| policy.evaluate(request))
        .collect();
    if decisions.contains(&Decision::ExplicitDeny) {
        Decision::ExplicitDeny
    } else if decisions
        .iter()
        .all(|decision| *decision == Decision::Allow)
    {
        Decision::Allow
    } else {
        Decision::ImplicitDeny
    }
}

/// Helpers shared by the unit tests of every module.
#[cfg(test)]
pub(crate) mod test_support {
    use super::Context;
    use time::macros::datetime;

    /// A typical request context: HTTPS from 192.0.2.10 at 2025-06-01T12:00:00Z, with a user
    /// agent and access key id, and no ListObjects parameters.
    pub(crate) fn context() -> Context {
        Context {
            source_ip: Some("192.0.2.10".parse().unwrap()),
            current_time: datetime!(2025-06-01 12:00:00 UTC),
            secure_transport: true,
            user_agent: Some("aliyun-sdk-go/1.0".to_owned()),
            access_key_id: Some("STS.NUgYrLnoC37mZZCNnAbez2".to_owned()),
            prefix: None,
            delimiter: None,
            existing_object_tags: None,
            request_object_tags: None,
        }
    }

    /// Applies tweaks such as `prefix=users/alice/`, `ip=2001:db8::1`, `secure=false` or
    /// `time=2025-01-01T00:00:00Z` to `context`. Keys: `prefix`, `delimiter`, `ua`, `ak`, `ip`,
    /// `secure`, `time`; the value `-` removes an optional value, an empty value is `Some("")`.
    pub(crate) fn apply_tweaks(context: &mut Context, tweaks: &[&str]) {
        for tweak in tweaks {
            let (key, value) = tweak
                .split_once('=')
                .unwrap_or_else(|| panic!("bad tweak {tweak:?}"));
            let text = (value != "-").then(|| value.to_owned());
            match key {
                "prefix" => context.prefix = text,
                "delimiter" => context.delimiter = text,
                "ua" => context.user_agent = text,
                "ak" => context.access_key_id = text,
                "ip" => context.source_ip = text.map(|ip| ip.parse().unwrap()),
                "secure" => context.secure_transport = value.parse().unwrap(),
                "time" => {
                    let format = time::format_description::well_known::Rfc3339;
                    context.current_time = time::OffsetDateTime::parse(value, &format).unwrap();
                }
                _ => panic!("unknown tweak key {key:?}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::context;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    const ALLOW_APP: &str = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:*","Resource":"acs:oss:*:*:app/*"}]}"#;
    const ALLOW_ALICE: &str = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:GetObject","Resource":"acs:oss:*:*:app/users/alice/*"}]}"#;
    const DENY_SECRET: &str = r#"{"Version":"1","Statement":[{"Effect":"Deny","Action":"*","Resource":"acs:oss:*:*:app/users/alice/secret/*"}]}"#;

    /// `policies` are policy JSON documents, all evaluated together for a GetObject on `key` in
    /// bucket `app`.
    fn check(policies: &[&str], key: &str, expected: Decision) {
        let parsed: Vec<Policy> = policies.iter().map(|json| parse(json).unwrap()).collect();
        let refs: Vec<&Policy> = parsed.iter().collect();
        let context = context();
        let resource = format!("acs:oss:cn-hangzhou:1234567890:app/{key}");
        let request = Request {
            action: "oss:GetObject",
            resource: &resource,
            context: &context,
        };
        assert_eq!(
            evaluate_all(&refs, &request),
            expected,
            "{policies:?} on {key:?}"
        );
    }

    #[test]
    fn evaluate_all_intersects() {
        check(&[], "users/alice/a", Decision::ImplicitDeny);
        check(&[ALLOW_APP], "users/alice/a", Decision::Allow);
        check(&[ALLOW_APP, ALLOW_ALICE], "users/alice/a", Decision::Allow);
        check(
            &[ALLOW_APP, ALLOW_ALICE],
            "users/bob/a",
            Decision::ImplicitDeny,
        );
        check(
            &[ALLOW_ALICE, ALLOW_APP],
            "users/bob/a",
            Decision::ImplicitDeny,
        );
        check(
            &[ALLOW_APP, DENY_SECRET],
            "users/alice/secret/a",
            Decision::ExplicitDeny,
        );
        check(
            &[ALLOW_ALICE, DENY_SECRET],
            "users/bob/a",
            Decision::ImplicitDeny,
        );
        check(
            &[DENY_SECRET, ALLOW_ALICE],
            "users/alice/secret/a",
            Decision::ExplicitDeny,
        );
        check(&[DENY_SECRET], "users/alice/a", Decision::ImplicitDeny);
    }

    #[test]
    fn unusual_values_round_trip() {
        let policy = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:GetObject","Resource":"*",
            "Condition":{"DateLessThan":{"acs:CurrentTime":["2025-W01-1T00:00Z","2025-152T12:00:00.5+05:30","2025-06-01","2025-06-01T12:00:00,25Z"]},
                         "NumericLessThan":{"oss:Prefix":[1e300,"-0.000001",9007199254740993,"+7"]},
                         "StringEquals":{"oss:Delimiter":[1.0,true,"\u00e9\"\\"]},
                         "NotIpAddress":{"acs:SourceIp":["10.1.2.3/8","::ffff:10.0.0.1","fe80::1%eth0"]}}}]}"#;
        let parsed = parse(policy);
        // A zone index is not part of an address a policy can name.
        let error = parsed.unwrap_err().to_string();
        assert!(
            error.contains(r#""fe80::1%eth0" is not an IP address"#),
            "{error}"
        );
        let policy = policy.replace(r#","fe80::1%eth0""#, "");
        let parsed = parse(&policy).unwrap();
        let json = parsed.to_json();
        assert_eq!(parse(&json).unwrap(), parsed, "{json}");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let error = parse(&deep).unwrap_err().to_string();
        assert!(
            error.starts_with("policy is not valid JSON: recursion limit exceeded"),
            "{error}"
        );
    }

    /// JSON-ish values biased towards the names a policy uses, so the parser gets past its
    /// first checks often enough to be exercised deeply.
    fn json_value() -> impl Strategy<Value = Value> {
        let names = prop::sample::select(vec![
            "Version",
            "Statement",
            "Effect",
            "Action",
            "Resource",
            "Condition",
            "Sid",
            "Principal",
            "NotAction",
            "StringLike",
            "IpAddress",
            "DateLessThan",
            "NumericEquals",
            "Bool",
            "acs:SourceIp",
            "oss:Prefix",
            "acs:CurrentTime",
            "1",
            "Allow",
            "Deny",
            "oss:GetObject",
            "acs:oss:*:*:b/*",
            "*",
            "10.0.0.0/8",
            "2025-01-01T00:00:00Z",
            "",
        ]);
        let key = prop_oneof![names.clone().prop_map(str::to_owned), "\\PC{0,8}"];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            names.prop_map(Value::from),
            "\\PC{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(5, 64, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((key.clone(), inner), 0..6)
                    .prop_map(|fields| Value::Object(fields.into_iter().collect())),
            ]
        })
    }

    fn condition() -> impl Strategy<Value = Value> {
        let clause = prop_oneof![
            prop::collection::vec("[a-z/*?]{0,6}", 1..3)
                .prop_map(|v| json!({"StringLike": {"oss:Prefix": v}})),
            "\\PC{0,10}".prop_map(|v| json!({"StringNotEqualsIgnoreCase": {"acs:UserAgent": v}})),
            (0u8..=255, 0u8..=32).prop_map(|(a, bits)| json!({"IpAddress": {"acs:SourceIp": format!("{a}.0.0.0/{bits}")}})),
            any::<u16>().prop_map(|n| json!({"NotIpAddress": {"acs:SourceIp": ["::1", format!("2001:db8::{n:x}/64")]}})),
            (-1e12f64..1e12).prop_map(|n| json!({"NumericLessThan": {"oss:Prefix": n}})),
            any::<i32>().prop_map(|n| json!({"NumericEquals": {"oss:Delimiter": n.to_string()}})),
            (0i64..4_000_000_000).prop_map(|secs| {
                let date = time::OffsetDateTime::from_unix_timestamp(secs).unwrap();
                json!({"DateGreaterThan": {"acs:CurrentTime": date.format(&time::format_description::well_known::Rfc3339).unwrap()}})
            }),
            any::<bool>().prop_map(|b| json!({"Bool": {"acs:SecureTransport": b}})),
            Just(json!({"Bool": {"acs:SecureTransport": "false"}})),
        ];
        prop::collection::vec(clause, 0..4).prop_map(|clauses| {
            let mut merged = serde_json::Map::new();
            for clause in clauses.into_iter().filter_map(|c| c.as_object().cloned()) {
                merged.extend(clause);
            }
            Value::Object(merged)
        })
    }

    fn policy_json() -> impl Strategy<Value = Value> {
        let action = prop_oneof![Just("*".to_owned()), "[a-z*?]{1,4}:[A-Za-z*?]{1,10}"];
        let resource = prop_oneof![
            Just("*".to_owned()),
            "acs:(oss|ram):[a-z*-]{0,6}:[0-9*]{0,4}:[a-z0-9/*?:. -]{1,16}"
        ];
        let statement = (
            any::<bool>(),
            prop::collection::vec(action, 1..4),
            prop::collection::vec(resource, 1..4),
            prop::option::of(condition()),
        )
            .prop_map(|(allow, actions, resources, condition)| {
                let mut s = json!({"Effect": if allow { "Allow" } else { "Deny" }, "Action": actions, "Resource": resources});
                if let Some(condition) = condition {
                    s["Condition"] = condition;
                }
                s
            });
        prop::collection::vec(statement, 1..4).prop_map(|s| json!({"Version": "1", "Statement": s}))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn parse_never_panics_on_text(text in "\\PC{0,200}") {
            let _ = parse(&text);
        }

        #[test]
        fn parse_never_panics_on_json(value in json_value()) {
            let _ = parse(&value.to_string());
        }

        #[test]
        fn parse_never_panics_near_valid(policy in policy_json(), cut in 0usize..400) {
            let text = policy.to_string();
            let cut = (0..=cut.min(text.len())).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
            let _ = parse(&text[..cut]);
        }

        #[test]
        fn to_json_round_trips(policy in policy_json()) {
            let parsed = parse(&policy.to_string()).map_err(|e| TestCaseError::fail(format!("{e} in {policy}")))?;
            let json = parsed.to_json();
            let reparsed = parse(&json).map_err(|e| TestCaseError::fail(format!("{e} in {json}")))?;
            prop_assert_eq!(&reparsed, &parsed);
            prop_assert_eq!(reparsed.to_json(), json);
        }

        #[test]
        fn evaluation_never_panics(policy in policy_json(), action in "\\PC{0,20}", resource in "\\PC{0,40}", prefix in prop::option::of("\\PC{0,10}")) {
            let policy = parse(&policy.to_string()).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let mut context = context();
            context.prefix = prefix;
            let request = Request { action: &action, resource: &resource, context: &context };
            let alone = policy.evaluate(&request);
            prop_assert_eq!(evaluate_all(&[&policy], &request), alone);
        }
    }
}
