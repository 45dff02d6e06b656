//! Tencent CAM policies (STS session policies, COS): parsed into the same [`Policy`] as RAM
//! and evaluated by the same engine.
//!
//! # Grammar
//!
//! `{"version": "2.0", "statement": [ … ] | { … }, "principal": …}`; each statement has
//! `effect` (`allow` | `deny`, any case), `action` and `resource` (a string or a non-empty list),
//! and optionally `condition` and `principal`. Element names are matched case-insensitively
//! (Tencent's own examples write both `statement` and `Statement`); the same element twice in
//! two spellings is refused, and so is any other key, by name.
//!
//! `principal` is tolerated because the Node SDK's `getPolicy` puts `"principal":{"qcs":"*"}`
//! in every statement of a session policy. Only the wildcard is accepted — `"*"`,
//! `{"qcs":"*"}`, `{"qcs":["*"]}`, or `qcs::cam::anyone:anyone` in place of `*` — and it is
//! then ignored: a session policy only ever applies to its own session, which the wildcard
//! includes. A named principal (`qcs::cam::uin/…`) belongs in bucket policies; ignoring it
//! would widen an allow to everyone, so it is refused.
//!
//! # Normalisation
//!
//! Actions: `name/cos:GetObject` → `cos:GetObject` (the server asks with `cos:GetObject`),
//! `name/cos:*` → `cos:*`, `*` stays `*`; a bare `cos:GetObject` (as some Tencent docs write
//! it) is kept as is. Action names compare **case-sensitively** ([`Dialect::Cam`]).
//!
//! Resources, `qcs:<project>:<service>:<region>:<account>:<resource>`:
//!
//! | written | kept as |
//! |---|---|
//! | `*` | `*` |
//! | `qcs::cos:<region>:uid/<appid>:<bucket>-<appid>/<key-or-pattern>` | unchanged |
//! | `qcs::cos:<region>:uid/<appid>:*` (all buckets of the account) | unchanged |
//! | `qcs::cos::uid/<appid>:…` (empty region: any region) | `qcs::cos:*:uid/<appid>:…` |
//! | `qcs::cos:<region>:uid/<appid>:prefix//<appid>/<bucket>/<key>` (Node `getPolicy`) | `qcs::cos:<region>:uid/<appid>:<bucket>-<appid>/<key>` |
//! | another service, e.g. `qcs::ci:<region>:uid/<appid>:bucket/<bucket>-<appid>/…` | unchanged (COS requests never match it) |
//!
//! Matching splits both sides into the six fields, so a `*` never spans two of them; the
//! first five compare case-insensitively, the resource part exactly, where `*` matches any run
//! including `/` and the empty run, and `?` one character.
//!
//! What the server asks with (the emulator's mapping, spec §6, not verified against Tencent):
//! objects `qcs::cos:<region>:uid/<appid>:<bucket>-<appid>/<key>`; bucket operations
//! (GetBucket, HeadBucket, PutBucket, …) the same with an empty key,
//! `qcs::cos:<region>:uid/<appid>:<bucket>-<appid>/` — so `<bucket>-<appid>/*` grants the
//! bucket and its objects, `<bucket>-<appid>/dir/*` only objects; GetService (list buckets)
//! `*`, which only the resource `*` matches, as Tencent requires.
//!
//! # Conditions
//!
//! | CAM | model |
//! |---|---|
//! | `string_equal`, `string_not_equal`, `string_like`, `string_not_like` | `StringEquals`, `StringNotEquals`, `StringLike`, `StringNotLike` |
//! | `numeric_equal`, `_not_equal`, `_less_than`, `_less_than_equal`, `_greater_than`, `_greater_than_equal` | `NumericEquals` … `NumericGreaterThanEquals` |
//! | `date_equal` … `date_greater_than_equal` (the same six) | `DateEquals` … `DateGreaterThanEquals` |
//! | `ip_equal`, `ip_not_equal` | `IpAddress`, `NotIpAddress` |
//! | `bool_equal` | `Bool` |
//! | `…_if_exist` | the same, holding when the key is absent |
//! | `for_any_value:…` / `for_all_value:…` | the same; an absent key gives false / true |
//! | key `qcs:ip` | `acs:SourceIp` ([`Context::source_ip`](crate::Context::source_ip)) |
//! | key `qcs:current_time` | `acs:CurrentTime` |
//! | keys `cos:secure-transport`, `qcs:secure_transport` | `acs:SecureTransport` |
//! | key `cos:prefix` | `oss:Prefix` (the list prefix) |
//!
//! Any other key (`qcs:vpc`, `cos:content-type`, `cos:content-length`, `cos:x-cos-acl`, …) is
//! refused at parse time: stsgate cannot evaluate it, and ignoring a condition would change
//! what the policy allows.
//!
//! # Refused at parse time
//!
//! Invalid JSON; a version other than `"2.0"`; unknown element names; a named principal;
//! `permid/…` actions and anything not `name/<service>:<Action>`, `<service>:<Action>` or
//! `*`; resources not in the `qcs:` six-field form; COS resources with an empty account, a
//! bucket without a `/` (neither object nor bucket), a bucket without its `-<appid>` suffix,
//! the v4-era `prefix/<bucket>/…` form, or a legacy `prefix//<appid>/…` whose appid differs
//! from the account's or is not a number; unknown operators and keys; malformed values (as in RAM).

use serde_json::{Map, Value};

use crate::condition::{self, Grammar, Key, Operator, Quantifier, Test};
use crate::model::{describe, error, parse_patterns, Dialect, Effect, Policy, Statement};
use crate::{glob, PolicyError};

/// Parses and validates a CAM policy document (see the module docs).
pub(crate) fn parse(json: &str) -> Result<Policy, PolicyError> {
    let value: Value =
        serde_json::from_str(json).map_err(|e| error(format!("policy is not valid JSON: {e}")))?;
    let Value::Object(top) = value else {
        return Err(error(format!(
            "policy: expected a JSON object with \"version\" and \"statement\", got {}",
            describe(&value)
        )));
    };
    let [version, statement, principal] = elements(
        &top,
        "policy",
        ["version", "statement", "principal"],
        "a CAM policy has \"version\", \"statement\" and optionally \"principal\"",
    )?;
    parse_version(version)?;
    if let Some(principal) = principal {
        check_principal(principal, "principal")?;
    }
    let statements = match statement {
        None => {
            return Err(error(
                "statement: missing; a policy needs a list of statements".to_owned(),
            ))
        }
        Some(Value::Array(list)) if list.is_empty() => {
            return Err(error(
                "statement: empty list; a policy needs at least one statement".to_owned(),
            ))
        }
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(i, statement)| parse_statement(statement, &format!("statement[{i}]")))
            .collect::<Result<_, _>>()?,
        Some(single @ Value::Object(_)) => vec![parse_statement(single, "statement[0]")?],
        Some(other) => {
            return Err(error(format!(
                "statement: expected a list of statement objects, got {}",
                describe(other)
            )))
        }
    };
    Ok(Policy {
        dialect: Dialect::Cam,
        version: "2.0".to_owned(),
        statements,
    })
}

/// Compact CAM JSON of a CAM policy, in normalised form (parses back to an equal policy).
pub(crate) fn to_json(policy: &Policy) -> String {
    let statements = policy.statements.iter().map(statement_to_json).collect();
    let mut top = Map::new();
    top.insert("version".to_owned(), Value::from(policy.version.as_str()));
    top.insert("statement".to_owned(), Value::Array(statements));
    Value::Object(top).to_string()
}

fn statement_to_json(statement: &Statement) -> Value {
    let effect = match statement.effect {
        Effect::Allow => "allow",
        Effect::Deny => "deny",
    };
    let actions: Vec<String> = statement
        .actions
        .iter()
        .map(|action| match action.as_str() {
            "*" => action.clone(),
            _ => format!("name/{action}"),
        })
        .collect();
    let mut fields = Map::new();
    fields.insert("effect".to_owned(), Value::from(effect));
    fields.insert("action".to_owned(), Value::from(actions));
    fields.insert(
        "resource".to_owned(),
        Value::from(statement.resources.clone()),
    );
    if let Some(condition) = &statement.condition {
        fields.insert("condition".to_owned(), condition.to_json(&Cam));
    }
    Value::Object(fields)
}

/// Picks the `known` elements (lowercase names) out of `object`, matching names
/// case-insensitively. Any other key, or one element given in two spellings, is an error.
fn elements<'a, const N: usize>(
    object: &'a Map<String, Value>,
    at: &str,
    known: [&str; N],
    hint: &str,
) -> Result<[Option<&'a Value>; N], PolicyError> {
    let mut found: [Option<(&str, &Value)>; N] = [None; N];
    for (key, value) in object {
        let Some(slot) = known.iter().position(|k| k.eq_ignore_ascii_case(key)) else {
            return Err(error(format!("{at}: unknown key \"{key}\"; {hint}")));
        };
        if let Some((earlier, _)) = found[slot] {
            // Sorted, so that the message does not depend on the map's key order.
            let (first, second) = (earlier.min(key.as_str()), earlier.max(key.as_str()));
            return Err(error(format!(
                "{at}: \"{first}\" and \"{second}\" are the same element (names are \
                 case-insensitive); give it once"
            )));
        }
        found[slot] = Some((key, value));
    }
    Ok(found.map(|slot| slot.map(|(_, value)| value)))
}

fn parse_version(version: Option<&Value>) -> Result<(), PolicyError> {
    match version {
        Some(Value::String(version)) if version == "2.0" => Ok(()),
        None => Err(error(
            "version: missing; add \"version\": \"2.0\"".to_owned(),
        )),
        Some(other) => Err(error(format!(
            "version: must be the string \"2.0\", got {}",
            describe(other)
        ))),
    }
}

fn parse_statement(value: &Value, at: &str) -> Result<Statement, PolicyError> {
    let Value::Object(fields) = value else {
        return Err(error(format!(
            "{at}: expected a statement object, got {}",
            describe(value)
        )));
    };
    let [effect, action, resource, condition, principal] = elements(
        fields,
        at,
        ["effect", "action", "resource", "condition", "principal"],
        "a statement has effect, action, resource and optionally condition and principal",
    )?;
    if let Some(principal) = principal {
        check_principal(principal, &format!("{at}.principal"))?;
    }
    let effect = parse_effect(effect, &format!("{at}.effect"))?;
    let actions = parse_patterns(action, &format!("{at}.action"), normalise_action)?;
    let resources = parse_patterns(resource, &format!("{at}.resource"), normalise_resource)?;
    let condition = match condition {
        Some(condition) => Some(condition::parse_with(
            condition,
            &format!("{at}.condition"),
            &Cam,
        )?),
        None => None,
    };
    Ok(Statement {
        effect,
        actions,
        resources,
        condition,
    })
}

fn parse_effect(value: Option<&Value>, at: &str) -> Result<Effect, PolicyError> {
    match value {
        Some(Value::String(effect)) if effect.eq_ignore_ascii_case("allow") => Ok(Effect::Allow),
        Some(Value::String(effect)) if effect.eq_ignore_ascii_case("deny") => Ok(Effect::Deny),
        None => Err(error(format!(
            "{at}: missing; expected \"allow\" or \"deny\""
        ))),
        Some(other) => Err(error(format!(
            "{at}: must be \"allow\" or \"deny\", got {}",
            describe(other)
        ))),
    }
}

/// Accepts only the wildcard principal (see the module docs).
fn check_principal(value: &Value, at: &str) -> Result<(), PolicyError> {
    let refuse = |at: &str| {
        error(format!(
            "{at}: only the wildcard principal {{\"qcs\":\"*\"}} is accepted (and ignored) in a \
             session policy; a named principal belongs in a bucket policy"
        ))
    };
    let is_wildcard =
        |value: &Value| matches!(value.as_str(), Some("*" | "qcs::cam::anyone:anyone"));
    let qcs = match value {
        Value::Object(fields) if fields.len() == 1 => match fields.iter().next() {
            Some((key, qcs)) if key.eq_ignore_ascii_case("qcs") => qcs,
            _ => return Err(refuse(at)),
        },
        _ if is_wildcard(value) => return Ok(()),
        _ => return Err(refuse(at)),
    };
    match qcs {
        Value::Array(list) if list.is_empty() => Err(refuse(&format!("{at}.qcs"))),
        Value::Array(list) => match list.iter().position(|item| !is_wildcard(item)) {
            Some(i) => Err(refuse(&format!("{at}.qcs[{i}]"))),
            None => Ok(()),
        },
        single if is_wildcard(single) => Ok(()),
        _ => Err(refuse(&format!("{at}.qcs"))),
    }
}

/// `name/cos:GetObject` → `cos:GetObject`; `*` and bare `cos:GetObject` stay.
fn normalise_action(action: &str) -> Result<String, String> {
    if action == "*" {
        return Ok(action.to_owned());
    }
    let quoted = Value::from(action);
    if action.starts_with("permid/") {
        return Err(format!(
            "{quoted} is a permission id, which stsgate cannot map to actions; name the action, \
             e.g. \"name/cos:GetObject\""
        ));
    }
    let name = action.strip_prefix("name/").unwrap_or(action);
    let is_part = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '*' | '?'))
    };
    match name.split_once(':') {
        Some((service, verb)) if is_part(service) && is_part(verb) => Ok(name.to_owned()),
        _ => Err(format!(
            "{quoted} is not an action; expected \"name/<service>:<Action>\" such as \
             \"name/cos:GetObject\" or \"name/cos:*\", or \"*\""
        )),
    }
}

/// Checks a resource and rewrites the COS shorthand forms (see the module docs' table).
fn normalise_resource(resource: &str) -> Result<String, String> {
    if resource == "*" {
        return Ok(resource.to_owned());
    }
    let quoted = Value::from(resource);
    let Some([scheme, project, service, region, account, path]) = glob::split_fields::<6>(resource)
        .filter(|[scheme, _, _, _, _, path]| {
            scheme.eq_ignore_ascii_case("qcs") && !path.is_empty()
        })
    else {
        return Err(format!(
            "{quoted} is not a resource; expected \"qcs::cos:<region>:uid/<appid>:<bucket>-<appid>/<key>\" \
             such as \"qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/dir/*\", or \"*\""
        ));
    };
    if !service.eq_ignore_ascii_case("cos") {
        return Ok(resource.to_owned());
    }
    if account.is_empty() {
        return Err(format!(
            "{quoted}: the account is empty; COS resources name it as \"uid/<appid>\""
        ));
    }
    let region = if region.is_empty() { "*" } else { region };
    let path = cos_path(account, path).map_err(|complaint| format!("{quoted}: {complaint}"))?;
    Ok(format!(
        "{scheme}:{project}:{service}:{region}:{account}:{path}"
    ))
}

/// The resource part of a COS resource: `*`, `<bucket>-<appid>/<key>`, or a pattern with a
/// wildcard in the bucket; the legacy `prefix//<appid>/<bucket>/<key>` is rewritten.
fn cos_path(account: &str, path: &str) -> Result<String, String> {
    let has_wildcard = |text: &str| text.contains(['*', '?']);
    if let Some(legacy) = path.strip_prefix("prefix//") {
        return legacy_path(account, legacy);
    }
    if path.starts_with("prefix/") {
        return Err(
            "the old \"prefix/<bucket>/…\" form is not supported; write \"<bucket>-<appid>/…\""
                .to_owned(),
        );
    }
    match path.split_once('/') {
        None if has_wildcard(path) => Ok(path.to_owned()),
        None => Err(format!(
            "names bucket \"{path}\" without an object part; write \"{path}/*\" for the bucket \
             and its objects, or \"{path}/\" for bucket operations only"
        )),
        Some((bucket, _)) if has_wildcard(bucket) || has_appid_suffix(bucket) => {
            Ok(path.to_owned())
        }
        Some((bucket, _)) => Err(format!(
            "bucket \"{bucket}\" lacks its \"-<appid>\" suffix; COS buckets are named like \
             \"examplebucket-1250000000\""
        )),
    }
}

/// `<appid>/<bucket>/<key>` (after `prefix//`) → `<bucket>-<appid>/<key>`.
fn legacy_path(account: &str, legacy: &str) -> Result<String, String> {
    let malformed = || {
        "a legacy resource is \"prefix//<appid>/<bucket>/<key>\", as the Node SDK's getPolicy \
         writes it"
            .to_owned()
    };
    let (appid, rest) = legacy.split_once('/').ok_or_else(malformed)?;
    let (bucket, key) = rest.split_once('/').ok_or_else(malformed)?;
    if appid.is_empty() || bucket.is_empty() {
        return Err(malformed());
    }
    let account_appid = account
        .get(..4)
        .filter(|uid| uid.eq_ignore_ascii_case("uid/"))
        .map(|_| &account[4..]);
    if account_appid != Some(appid) {
        return Err(format!(
            "the legacy part names appid \"{appid}\" but the account is \"{account}\"; they must \
             be the same"
        ));
    }
    // The rewrite must be a bucket the canonical form accepts, or the policy would not parse
    // back from its `to_json`.
    let bucket = format!("{bucket}-{appid}");
    if !(bucket.contains(['*', '?']) || has_appid_suffix(&bucket)) {
        return Err(format!(
            "the legacy part names appid \"{appid}\", which is not a number; an AppId is digits, \
             such as 1250000000"
        ));
    }
    Ok(format!("{bucket}/{key}"))
}

fn has_appid_suffix(bucket: &str) -> bool {
    bucket.rsplit_once('-').is_some_and(|(name, appid)| {
        !name.is_empty() && !appid.is_empty() && appid.bytes().all(|b| b.is_ascii_digit())
    })
}

/// CAM's spelling of condition operators and keys.
struct Cam;

const OPERATORS: [(Operator, &str); 19] = {
    use Operator::*;
    [
        (StringEquals, "string_equal"),
        (StringNotEquals, "string_not_equal"),
        (StringLike, "string_like"),
        (StringNotLike, "string_not_like"),
        (NumericEquals, "numeric_equal"),
        (NumericNotEquals, "numeric_not_equal"),
        (NumericLessThan, "numeric_less_than"),
        (NumericLessThanEquals, "numeric_less_than_equal"),
        (NumericGreaterThan, "numeric_greater_than"),
        (NumericGreaterThanEquals, "numeric_greater_than_equal"),
        (DateEquals, "date_equal"),
        (DateNotEquals, "date_not_equal"),
        (DateLessThan, "date_less_than"),
        (DateLessThanEquals, "date_less_than_equal"),
        (DateGreaterThan, "date_greater_than"),
        (DateGreaterThanEquals, "date_greater_than_equal"),
        (IpAddress, "ip_equal"),
        (NotIpAddress, "ip_not_equal"),
        (Bool, "bool_equal"),
    ]
};

/// The first name of a key is the one [`Grammar::key_name`] gives.
const KEYS: [(Key, &str); 5] = [
    (Key::SourceIp, "qcs:ip"),
    (Key::CurrentTime, "qcs:current_time"),
    (Key::SecureTransport, "cos:secure-transport"),
    (Key::SecureTransport, "qcs:secure_transport"),
    (Key::Prefix, "cos:prefix"),
];

const ANY_VALUE: &str = "for_any_value:";
const ALL_VALUES: &str = "for_all_value:";
const IF_EXIST: &str = "_if_exist";

impl Cam {
    fn read_operator(name: &str) -> Option<Test> {
        let (quantifier, rest) = if let Some(rest) = name.strip_prefix(ANY_VALUE) {
            (Quantifier::ForAnyValue, rest)
        } else if let Some(rest) = name.strip_prefix(ALL_VALUES) {
            (Quantifier::ForAllValues, rest)
        } else {
            (Quantifier::Single, name)
        };
        let (if_exists, base) = match rest.strip_suffix(IF_EXIST) {
            Some(base) => (true, base),
            None => (false, rest),
        };
        let (operator, _) = OPERATORS.iter().find(|(_, known)| *known == base)?;
        Some(Test {
            operator: *operator,
            quantifier,
            if_exists,
        })
    }
}

impl Grammar for Cam {
    fn example(&self) -> &'static str {
        r#"{"string_like": {"cos:prefix": "users/alice/*"}}"#
    }

    fn operator(&self, name: &str, at: &str) -> Result<Test, PolicyError> {
        if let Some(test) = Cam::read_operator(name) {
            return Ok(test);
        }
        let lower = name.to_ascii_lowercase();
        let hint = match Cam::read_operator(&lower) {
            Some(_) => format!("operators are case-sensitive: did you mean \"{lower}\"?"),
            None => "expected string_equal, string_not_equal, string_like, string_not_like, \
                     numeric_*, date_*, ip_equal, ip_not_equal or bool_equal, optionally with \
                     the suffix _if_exist or a for_any_value: / for_all_value: prefix"
                .to_owned(),
        };
        Err(error(format!(
            "{at}: unknown condition operator \"{name}\"; {hint}"
        )))
    }

    fn operator_name(&self, test: Test) -> String {
        let quantifier = match test.quantifier {
            Quantifier::Single => "",
            Quantifier::ForAnyValue => ANY_VALUE,
            Quantifier::ForAllValues => ALL_VALUES,
        };
        let base = OPERATORS
            .iter()
            .find(|(operator, _)| *operator == test.operator)
            .map_or_else(|| test.operator.name(), |(_, name)| name);
        let suffix = if test.if_exists { IF_EXIST } else { "" };
        format!("{quantifier}{base}{suffix}")
    }

    fn key(&self, name: &str, at: &str) -> Result<Key, PolicyError> {
        if let Some((key, _)) = KEYS
            .iter()
            .find(|(_, known)| known.eq_ignore_ascii_case(name))
        {
            return Ok(*key);
        }
        let known: Vec<&str> = KEYS.iter().map(|(_, name)| *name).collect();
        Err(error(format!(
            "{at}: condition key \"{name}\" is not supported (stsgate cannot evaluate it and \
             does not ignore a condition); supported keys are {}",
            known.join(", ")
        )))
    }

    fn key_name(&self, key: Key) -> &'static str {
        KEYS.iter()
            .find(|(known, _)| *known == key)
            .map_or_else(|| key.name(), |(_, name)| name)
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{apply_tweaks, context};
    use crate::{evaluate_all, parse_cam, Decision, Dialect, Policy, Request};
    use proptest::prelude::*;
    use serde_json::{json, Value};

    const ACCOUNT: &str = "qcs::cos:ap-guangzhou:uid/1250000000:";

    /// Runs a table of requests against the CAM `policy`. Each line is
    /// `action resource [tweak…] Decision`, where `resource` gets
    /// `qcs::cos:ap-guangzhou:uid/1250000000:` prepended unless it is `*` or starts with `qcs:`
    /// or `acs:`, and the tweaks change the test context (see [`apply_tweaks`]).
    fn check(policy: &str, table: &str) {
        let parsed = parse_cam(policy).unwrap_or_else(|e| panic!("{e}\n{policy}"));
        for line in table.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let words: Vec<&str> = line.split_whitespace().collect();
            let [action, resource, tweaks @ .., expected] = words.as_slice() else {
                panic!("bad table line {line:?}");
            };
            let qualified = ["qcs:", "acs:"].iter().any(|s| resource.starts_with(s));
            let resource = match *resource == "*" || qualified {
                true => resource.to_string(),
                false => format!("{ACCOUNT}{resource}"),
            };
            let mut context = context();
            apply_tweaks(&mut context, tweaks);
            let request = Request {
                action,
                resource: &resource,
                context: &context,
            };
            let actual = format!("{:?}", parsed.evaluate(&request));
            assert_eq!(actual, *expected, "line {line:?}");
        }
    }

    /// The decoded policy of spec §1.5 (qcloud-python-sts GetFederationToken).
    #[test]
    fn python_sdk_policy() {
        let policy = r#"{"version": "2.0", "statement": [{"action": ["name/cos:PutObject", "name/cos:GetObject"], "effect": "allow",
            "resource": ["qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/exampleobject",
                         "qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/dir/*"]}]}"#;
        let parsed = parse_cam(policy).unwrap();
        assert_eq!(parsed.dialect, Dialect::Cam);
        assert_eq!(
            parsed.statements[0].actions,
            ["cos:PutObject", "cos:GetObject"]
        );
        check(
            policy,
            "
            cos:PutObject     examplebucket-1250000000/exampleobject                   Allow
            cos:GetObject     examplebucket-1250000000/dir/a/b.txt                     Allow
            cos:GetObject     examplebucket-1250000000/dir/                            Allow
            cos:GetObject     examplebucket-1250000000/exampleobject2                  ImplicitDeny
            cos:GetObject     examplebucket-1250000000/exampleobjec                    ImplicitDeny
            cos:GetObject     examplebucket-1250000000/dir                             ImplicitDeny
            cos:GetObject     examplebucket-1250000000/dirx/a                          ImplicitDeny
            cos:GetObject     examplebucket-1250000000/Dir/a                           ImplicitDeny
            cos:GetObject     examplebucket-1250000000/                                ImplicitDeny
            cos:GetBucket     examplebucket-1250000000/                                ImplicitDeny
            cos:DeleteObject  examplebucket-1250000000/dir/a                           ImplicitDeny
            cos:getobject     examplebucket-1250000000/dir/a                           ImplicitDeny
            COS:GetObject     examplebucket-1250000000/dir/a                           ImplicitDeny
            oss:GetObject     examplebucket-1250000000/dir/a                           ImplicitDeny
            cos:GetObject     otherbucket-1250000000/dir/a                             ImplicitDeny
            cos:GetObject     qcs::cos:ap-beijing:uid/1250000000:examplebucket-1250000000/dir/a  ImplicitDeny
            cos:GetObject     qcs::cos:ap-guangzhou:uid/1250000001:examplebucket-1250000000/dir/a  ImplicitDeny
            cos:GetObject     acs:oss:ap-guangzhou:1250000000:examplebucket-1250000000/dir/a     ImplicitDeny
            cos:GetService    *                                                        ImplicitDeny
            ",
        );
    }

    /// What qcloud-python-sts builds from `bucket`, `region`, `allow_prefix`, `allow_actions`
    /// and `condition` (spec §3.2: prefixes get a leading `/`), as `json.dumps` writes it.
    #[test]
    fn python_sdk_generated_policy_with_condition() {
        let policy = r#"{"version": "2.0", "statement": [{"action": ["name/cos:PutObject", "name/cos:PostObject",
            "name/cos:InitiateMultipartUpload", "name/cos:ListMultipartUploads", "name/cos:ListParts",
            "name/cos:UploadPart", "name/cos:CompleteMultipartUpload"], "effect": "allow",
            "resource": ["qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/exampleobject",
                         "qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/uploads/*"],
            "condition": {"ip_equal": {"qcs:ip": ["10.0.0.0/8", "192.0.2.0/24"]}}}]}"#;
        check(
            policy,
            "
            cos:PutObject                examplebucket-1250000000/uploads/a.png                    Allow
            cos:UploadPart               examplebucket-1250000000/uploads/big.bin                  Allow
            cos:CompleteMultipartUpload  examplebucket-1250000000/exampleobject                    Allow
            cos:PutObject                examplebucket-1250000000/uploads/a.png  ip=10.1.2.3       Allow
            cos:PutObject                examplebucket-1250000000/uploads/a.png  ip=198.51.100.7   ImplicitDeny
            cos:PutObject                examplebucket-1250000000/uploads/a.png  ip=-              ImplicitDeny
            cos:GetObject                examplebucket-1250000000/uploads/a.png                    ImplicitDeny
            cos:PutObject                examplebucket-1250000000/other/a.png                      ImplicitDeny
            ",
        );
    }

    /// Node `getPolicy(scope)` (spec §3.2): the legacy resource form, a wildcard principal in
    /// every statement, and `*` for GetService.
    #[test]
    fn node_sdk_legacy_policy() {
        let policy = r#"{"version":"2.0","statement":[
            {"action":"name/cos:PutObject","effect":"allow","principal":{"qcs":"*"},
             "resource":"qcs::cos:ap-guangzhou:uid/1250000000:prefix//1250000000/examplebucket/dir/*"},
            {"action":"name/cos:GetObject","effect":"allow","principal":{"qcs":"*"},
             "resource":"qcs::cos::uid/1250000000:prefix//1250000000/examplebucket/shared.txt"},
            {"action":"name/cos:GetService","effect":"allow","principal":{"qcs":"*"},"resource":"*"}]}"#;
        let parsed = parse_cam(policy).unwrap();
        let resources: Vec<&str> = parsed
            .statements
            .iter()
            .flat_map(|s| s.resources.iter().map(String::as_str))
            .collect();
        assert_eq!(
            resources,
            [
                "qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/dir/*",
                "qcs::cos:*:uid/1250000000:examplebucket-1250000000/shared.txt",
                "*"
            ]
        );
        check(
            policy,
            "
            cos:PutObject   examplebucket-1250000000/dir/a.txt                          Allow
            cos:PutObject   examplebucket-1250000000/dirx/a.txt                         ImplicitDeny
            cos:PutObject   examplebucket/dir/a.txt                                     ImplicitDeny
            cos:PutObject   prefix//1250000000/examplebucket/dir/a.txt                  ImplicitDeny
            cos:PutObject   qcs::cos:ap-beijing:uid/1250000000:examplebucket-1250000000/dir/a.txt   ImplicitDeny
            cos:GetObject   examplebucket-1250000000/shared.txt                         Allow
            cos:GetObject   qcs::cos:ap-beijing:uid/1250000000:examplebucket-1250000000/shared.txt  Allow
            cos:GetObject   examplebucket-1250000000/dir/a.txt                          ImplicitDeny
            cos:GetService  *                                                           Allow
            cos:GetService  qcs::cos:ap-guangzhou:uid/1250000000:*                      Allow
            cos:DeleteObject  examplebucket-1250000000/dir/a.txt                        ImplicitDeny
            ",
        );
    }

    /// Spec §6's example. As written it carries a named principal (it is a bucket policy),
    /// which a session policy refuses; without it, it parses and its `ip_equal` applies.
    #[test]
    fn spec_section_6_example() {
        let bucket_policy = r#"{"version":"2.0",
            "principal":{"qcs":["qcs::cam::uin/100000000001:uin/100000000002"]},
            "statement":[{"effect":"allow","action":["name/cos:PutObject"],
              "resource":["qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/dir/*"],
              "condition":{"ip_equal":{"qcs:ip":["10.0.0.0/8"]}}}]}"#;
        check_error(
            bucket_policy,
            r#"principal.qcs[0]: only the wildcard principal {"qcs":"*"} is accepted (and ignored) in a session policy; a named principal belongs in a bucket policy"#,
        );
        let session_policy = bucket_policy.replace(
            r#""principal":{"qcs":["qcs::cam::uin/100000000001:uin/100000000002"]},"#,
            "",
        );
        check(
            &session_policy,
            "
            cos:PutObject  examplebucket-1250000000/dir/a                 ImplicitDeny
            cos:PutObject  examplebucket-1250000000/dir/a  ip=10.9.8.7    Allow
            cos:PutObject  examplebucket-1250000000/a      ip=10.9.8.7    ImplicitDeny
            ",
        );
        // Tencent's docs also write element names capitalised, and a wildcard principal.
        let capitalised = r#"{"Version":"2.0","Statement":[{"Effect":"Allow","Action":["name/cos:*"],
            "Principal":{"qcs":["qcs::cam::anyone:anyone"]},
            "Resource":["qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/*"],
            "Condition":{"ip_equal":{"qcs:ip":["192.0.2.0/24"]}}}]}"#;
        check(
            capitalised,
            "
            cos:GetObject  examplebucket-1250000000/a                     Allow
            cos:GetBucket  examplebucket-1250000000/                      Allow
            cos:GetObject  examplebucket-1250000000/a   ip=10.9.8.7       ImplicitDeny
            ",
        );
    }

    /// The prefix boundary is exact, in resources and in `cos:prefix`. The naive check
    /// `key.starts_with("users/alice")` would let `users/alicex/…` through; a glob on
    /// `users/alice/*` does not.
    #[test]
    fn prefix_boundary_is_exact() {
        let alice = r#"{"version":"2.0","statement":[
            {"effect":"allow","action":["name/cos:GetObject","name/cos:PutObject"],
             "resource":"qcs::cos:ap-guangzhou:uid/1250000000:bucket-1250000000/users/alice/*"},
            {"effect":"allow","action":"name/cos:GetBucket",
             "resource":"qcs::cos:ap-guangzhou:uid/1250000000:bucket-1250000000/",
             "condition":{"string_like":{"cos:prefix":"users/alice/*"}}}]}"#;
        check(
            alice,
            "
            cos:GetObject  bucket-1250000000/users/alice/a.txt                        Allow
            cos:PutObject  bucket-1250000000/users/alice/deep/b.bin                   Allow
            cos:GetObject  bucket-1250000000/users/alice/                             Allow
            cos:GetObject  bucket-1250000000/users/alice                              ImplicitDeny
            cos:GetObject  bucket-1250000000/users/alicex/a.txt                       ImplicitDeny
            cos:GetObject  bucket-1250000000/users/alice-backup/a.txt                 ImplicitDeny
            cos:GetObject  bucket-1250000000/users/alicex                             ImplicitDeny
            cos:GetObject  bucket-1250000000/users/Alice/a.txt                        ImplicitDeny
            cos:GetObject  bucket-1250000000/users/bob/a.txt                          ImplicitDeny
            cos:GetObject  bucket-1250000000/                                         ImplicitDeny
            cos:GetBucket  bucket-1250000000/              prefix=users/alice/        Allow
            cos:GetBucket  bucket-1250000000/              prefix=users/alice/2024/   Allow
            cos:GetBucket  bucket-1250000000/              prefix=users/alicex/       ImplicitDeny
            cos:GetBucket  bucket-1250000000/              prefix=users/alicex        ImplicitDeny
            cos:GetBucket  bucket-1250000000/              prefix=users/alice         ImplicitDeny
            cos:GetBucket  bucket-1250000000/              prefix=users/              ImplicitDeny
            cos:GetBucket  bucket-1250000000/              prefix=                    ImplicitDeny
            cos:GetBucket  bucket-1250000000/                                         ImplicitDeny
            cos:GetBucket  bucket-1250000000/users/alice/  prefix=users/alice/        ImplicitDeny
            cos:GetBucket  otherbucket-1250000000/         prefix=users/alice/        ImplicitDeny
            ",
        );
        // Keys are literal strings, never paths: `..` is just two dots inside alice's folder.
        check(
            alice,
            "cos:GetObject  bucket-1250000000/users/alice/../bob/a.txt  Allow",
        );
        // The startsWith bug shape, written into a policy: a prefix without its trailing `/`
        // (`bucket + "/" + prefix + "*"` with prefix `users/alice`) does cover alicex. The
        // engine matches what the policy says; the slash has to be in the policy.
        let no_slash = r#"{"version":"2.0","statement":[
            {"effect":"allow","action":"name/cos:GetObject",
             "resource":"qcs::cos:ap-guangzhou:uid/1250000000:bucket-1250000000/users/alice*"},
            {"effect":"allow","action":"name/cos:GetBucket",
             "resource":"qcs::cos:ap-guangzhou:uid/1250000000:bucket-1250000000/",
             "condition":{"string_like":{"cos:prefix":"users/alice*"}}}]}"#;
        check(
            no_slash,
            "
            cos:GetObject  bucket-1250000000/users/alice/a.txt                   Allow
            cos:GetObject  bucket-1250000000/users/alicex/a.txt                  Allow
            cos:GetBucket  bucket-1250000000/         prefix=users/alicex/       Allow
            ",
        );
    }

    #[test]
    fn explicit_deny_wins() {
        let protected = r#"{"version":"2.0","statement":[
            {"effect":"allow","action":"name/cos:*","resource":"qcs::cos:ap-guangzhou:uid/1250000000:bucket-1250000000/*"},
            {"effect":"deny","action":["name/cos:DeleteObject","name/cos:Put*"],
             "resource":"qcs::cos:ap-guangzhou:uid/1250000000:bucket-1250000000/protected/*"},
            {"effect":"Deny","action":"*","resource":"*","condition":{"bool_equal":{"cos:secure-transport":false}}}]}"#;
        check(
            protected,
            "
            cos:DeleteObject  bucket-1250000000/protected/x                 ExplicitDeny
            cos:PutObject     bucket-1250000000/protected/x                 ExplicitDeny
            cos:PutObjectACL  bucket-1250000000/protected/x                 ExplicitDeny
            cos:GetObject     bucket-1250000000/protected/x                 Allow
            cos:DeleteObject  bucket-1250000000/tmp/x                       Allow
            cos:DeleteBucket  bucket-1250000000/                            Allow
            cos:GetObject     bucket-1250000000/tmp/x       secure=false    ExplicitDeny
            cos:GetObject     other-1250000000/tmp/x                        ImplicitDeny
            sts:AssumeRole    bucket-1250000000/x                           ImplicitDeny
            ",
        );
        // Statement order does not matter; a deny in one policy beats an allow in another.
        let deny_first = r#"{"version":"2.0","statement":[
            {"effect":"deny","action":"name/cos:*","resource":"*"},
            {"effect":"allow","action":"*","resource":"*"}]}"#;
        check(
            deny_first,
            "cos:GetObject  bucket-1250000000/x  ExplicitDeny",
        );
        let allow_all = parse_cam(
            r#"{"version":"2.0","statement":{"effect":"allow","action":"*","resource":"*"}}"#,
        )
        .unwrap();
        let deny_delete = parse_cam(r#"{"version":"2.0","statement":{"effect":"deny","action":"name/cos:DeleteObject","resource":"*"}}"#).unwrap();
        let context = context();
        let request = |action| Request {
            action,
            resource: "qcs::cos:ap-guangzhou:uid/1250000000:bucket-1250000000/x",
            context: &context,
        };
        let policies = [&allow_all, &deny_delete];
        assert_eq!(
            evaluate_all(&policies, &request("cos:DeleteObject")),
            Decision::ExplicitDeny
        );
        assert_eq!(
            evaluate_all(&policies, &request("cos:GetObject")),
            Decision::ImplicitDeny
        );
        assert_eq!(
            evaluate_all(&policies[..1], &request("cos:GetObject")),
            Decision::Allow
        );
    }

    #[test]
    fn actions_and_resources() {
        let policy = r#"{"version":"2.0","statement":[
            {"effect":"allow","action":["name/cos:Get*","cos:HeadObject","name/cos:?utObject"],
             "resource":["qcs::cos:ap-guangzhou:uid/1250000000:logs-1250000000/log-????.txt",
                         "qcs::cos:ap-*:uid/1250000000:pinned-1250000000/*",
                         "qcs::cos:ap-guangzhou:uid/1250000000:*",
                         "qcs::ci:ap-guangzhou:uid/1250000000:bucket/media-1250000000/*"]}]}"#;
        check(
            policy,
            "
            cos:GetObject   logs-1250000000/log-2024.txt                                   Allow
            cos:GetObject   logs-1250000000/log-24.txt                                     Allow
            cos:GetBucket   logs-1250000000/                                               Allow
            cos:HeadObject  media-1250000000/a                                             Allow
            cos:PutObject   media-1250000000/a                                             Allow
            cos:getObject   media-1250000000/a                                             ImplicitDeny
            cos:DeleteObject  media-1250000000/a                                           ImplicitDeny
            cos:GetObject   qcs::cos:ap-beijing:uid/1250000000:pinned-1250000000/a         Allow
            cos:GetObject   qcs::cos:eu-frankfurt:uid/1250000000:pinned-1250000000/a       ImplicitDeny
            cos:GetObject   qcs::cos:ap-beijing:uid/1250000000:logs-1250000000/log-2024.txt  ImplicitDeny
            cos:GetObject   qcs::ci:ap-guangzhou:uid/1250000000:bucket/media-1250000000/a  Allow
            cos:GetService  *                                                              ImplicitDeny
            ",
        );
    }

    /// Runs a table of conditions. Each line is `{condition JSON without spaces} [tweak…] =>
    /// true|false`: whether an allow-everything statement with that condition allows a
    /// request in the test context changed by the tweaks. The test context has source
    /// 192.0.2.10, HTTPS, time 2025-06-01T12:00:00Z and no `cos:prefix`.
    fn check_conditions(table: &str) {
        for line in table.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let words: Vec<&str> = line.split_whitespace().collect();
            let [condition, tweaks @ .., "=>", expected] = words.as_slice() else {
                panic!("bad table line {line:?}");
            };
            let policy = format!(
                r#"{{"version":"2.0","statement":[{{"effect":"allow","action":"*","resource":"*","condition":{condition}}}]}}"#
            );
            let parsed = parse_cam(&policy).unwrap_or_else(|e| panic!("{e}\n{policy}"));
            let mut context = context();
            apply_tweaks(&mut context, tweaks);
            let request = Request {
                action: "cos:GetBucket",
                resource: "qcs::cos:ap-guangzhou:uid/1250000000:b-1250000000/",
                context: &context,
            };
            let allowed = parsed.evaluate(&request) == Decision::Allow;
            assert_eq!(allowed.to_string(), *expected, "line {line:?}");
        }
    }

    #[test]
    fn condition_operators_and_keys() {
        check_conditions(
            r#"
            {"ip_equal":{"qcs:ip":"192.0.2.0/24"}}                                  => true
            {"ip_equal":{"qcs:ip":["10.0.0.0/8","192.0.2.10"]}}                     => true
            {"ip_equal":{"qcs:ip":["10.0.0.0/8"]}}                                  => false
            {"ip_equal":{"QCS:IP":"192.0.2.10"}}                                    => true
            {"ip_equal":{"qcs:ip":"192.0.2.0/24"}}  ip=-                            => false
            {"ip_equal":{"qcs:ip":"2001:db8::/32"}}  ip=2001:db8::1                 => true
            {"ip_not_equal":{"qcs:ip":"10.0.0.0/8"}}                                => true
            {"ip_not_equal":{"qcs:ip":"192.0.2.10"}}                                => false
            {"ip_not_equal":{"qcs:ip":"10.0.0.0/8"}}  ip=-                          => true
            {"string_equal":{"cos:prefix":"users/alice/"}}  prefix=users/alice/     => true
            {"string_equal":{"cos:prefix":"users/alice/"}}  prefix=users/Alice/     => false
            {"string_equal":{"cos:prefix":"users/alice/"}}                          => false
            {"string_equal":{"qcs:ip":"192.0.2.10"}}                                => true
            {"string_not_equal":{"cos:prefix":["a/","b/"]}}  prefix=c/              => true
            {"string_not_equal":{"cos:prefix":["a/","b/"]}}  prefix=a/              => false
            {"string_not_equal":{"cos:prefix":"a/"}}                                => true
            {"string_like":{"cos:prefix":"users/alice/*"}}  prefix=users/alice/x    => true
            {"string_like":{"cos:prefix":"users/alice/*"}}  prefix=users/alicex/    => false
            {"string_like":{"cos:prefix":"users/?/*"}}  prefix=users/a/x            => true
            {"string_not_like":{"cos:prefix":"tmp/*"}}  prefix=users/               => true
            {"string_not_like":{"cos:prefix":"tmp/*"}}  prefix=tmp/x                => false
            {"numeric_equal":{"cos:prefix":42}}  prefix=42                          => true
            {"numeric_not_equal":{"cos:prefix":42}}  prefix=42                      => false
            {"numeric_less_than":{"cos:prefix":"42"}}  prefix=41                    => true
            {"numeric_less_than_equal":{"cos:prefix":42}}  prefix=43                => false
            {"numeric_greater_than":{"cos:prefix":42}}  prefix=43                   => true
            {"numeric_greater_than_equal":{"cos:prefix":42}}  prefix=42             => true
            {"date_equal":{"qcs:current_time":"2025-06-01T20:00:00+08:00"}}         => true
            {"date_not_equal":{"qcs:current_time":"2025-06-01T12:00:00Z"}}          => false
            {"date_less_than":{"qcs:current_time":"2026-01-01T00:00:00Z"}}          => true
            {"date_less_than":{"qcs:current_time":"2026-01-01T00:00:00Z"}}  time=2027-01-01T00:00:00Z => false
            {"date_less_than_equal":{"qcs:current_time":"2025-06-01T11:59:59Z"}}    => false
            {"date_greater_than":{"qcs:current_time":"2025-01-01T00:00:00Z"}}       => true
            {"date_greater_than_equal":{"qcs:current_time":"2025-06-01T12:00:01Z"}} => false
            {"bool_equal":{"cos:secure-transport":"true"}}                          => true
            {"bool_equal":{"cos:secure-transport":true}}  secure=false              => false
            {"bool_equal":{"qcs:secure_transport":false}}  secure=false             => true
            {"ip_equal":{"qcs:ip":"192.0.2.0/24"},"bool_equal":{"cos:secure-transport":true}}  secure=false => false
            {"ip_equal":{"qcs:ip":"192.0.2.0/24"},"string_like":{"cos:prefix":"a/*"}}  prefix=a/b => true
            "#,
        );
    }

    /// `_if_exist` holds when the key is absent; the set prefixes, over these single-valued
    /// keys, differ from the plain operator only when the key is absent: `for_any_value:`
    /// gives false, `for_all_value:` true (vacuously, as in IAM — so `for_all_value:` in an
    /// allow does not require the key; use the plain operator for that).
    #[test]
    fn condition_modifiers() {
        check_conditions(
            r#"
            {"ip_equal_if_exist":{"qcs:ip":"10.0.0.0/8"}}  ip=-                               => true
            {"ip_equal_if_exist":{"qcs:ip":"10.0.0.0/8"}}                                     => false
            {"ip_equal_if_exist":{"qcs:ip":"192.0.2.0/24"}}                                   => true
            {"string_equal_if_exist":{"cos:prefix":"a/"}}                                     => true
            {"string_equal_if_exist":{"cos:prefix":"a/"}}  prefix=b/                          => false
            {"string_not_equal_if_exist":{"cos:prefix":"a/"}}  prefix=a/                      => false
            {"for_any_value:string_equal":{"cos:prefix":["a/","b/"]}}  prefix=b/              => true
            {"for_any_value:string_equal":{"cos:prefix":"a/"}}                                => false
            {"for_any_value:string_not_equal":{"cos:prefix":"a/"}}                            => false
            {"for_any_value:string_not_equal":{"cos:prefix":"a/"}}  prefix=b/                 => true
            {"for_all_value:string_like":{"cos:prefix":"users/alice/*"}}  prefix=users/alice/x => true
            {"for_all_value:string_like":{"cos:prefix":"users/alice/*"}}  prefix=users/bob/   => false
            {"for_all_value:string_like":{"cos:prefix":"users/alice/*"}}                      => true
            {"for_any_value:string_equal_if_exist":{"cos:prefix":"a/"}}                       => true
            {"for_all_value:ip_equal":{"qcs:ip":"10.0.0.0/8"}}                                => false
            "#,
        );
    }

    /// `json` must be refused with exactly `expected`.
    fn check_error(json: &str, expected: &str) {
        match parse_cam(json) {
            Ok(policy) => panic!("accepted {json}\nas {policy:?}"),
            Err(error) => assert_eq!(error.to_string(), expected, "for {json}"),
        }
    }

    /// A policy whose second statement (index 1) is `statement`.
    fn second(statement: &str) -> String {
        format!(
            r#"{{"version":"2.0","statement":[{{"effect":"allow","action":"name/cos:GetObject","resource":"*"}},{statement}]}}"#
        )
    }

    #[test]
    fn document_errors() {
        check_error(
            "",
            "policy is not valid JSON: EOF while parsing a value at line 1 column 0",
        );
        check_error(
            "[]",
            r#"policy: expected a JSON object with "version" and "statement", got a list"#,
        );
        check_error(
            r#"{"version":"2.0","statement":[],"id":"x"}"#,
            r#"policy: unknown key "id"; a CAM policy has "version", "statement" and optionally "principal""#,
        );
        check_error(
            r#"{"Version":"2.0","version":"2.0","statement":[]}"#,
            r#"policy: "Version" and "version" are the same element (names are case-insensitive); give it once"#,
        );
        check_error(
            r#"{"statement":[]}"#,
            r#"version: missing; add "version": "2.0""#,
        );
        check_error(
            r#"{"version":2.0,"statement":[]}"#,
            r#"version: must be the string "2.0", got 2.0"#,
        );
        // A RAM policy is not a CAM policy.
        check_error(
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:GetObject","Resource":"*"}]}"#,
            r#"version: must be the string "2.0", got "1""#,
        );
        check_error(
            r#"{"version":"2.0"}"#,
            "statement: missing; a policy needs a list of statements",
        );
        check_error(
            r#"{"version":"2.0","statement":[]}"#,
            "statement: empty list; a policy needs at least one statement",
        );
        check_error(
            r#"{"version":"2.0","statement":"allow"}"#,
            r#"statement: expected a list of statement objects, got "allow""#,
        );
        check_error(
            r#"{"version":"2.0","principal":"qcs::cam::uin/1:uin/2","statement":[]}"#,
            r#"principal: only the wildcard principal {"qcs":"*"} is accepted (and ignored) in a session policy; a named principal belongs in a bucket policy"#,
        );
    }

    #[test]
    fn statement_errors() {
        let resource_error = |resource: &str, complaint: &str| {
            (
                format!(
                    r#"{{"effect":"allow","action":"name/cos:GetObject","resource":["*","{resource}"]}}"#
                ),
                format!(r#"statement[1].resource[1]: "{resource}"{complaint}"#),
            )
        };
        let not_a_resource = r#" is not a resource; expected "qcs::cos:<region>:uid/<appid>:<bucket>-<appid>/<key>" such as "qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/dir/*", or "*""#;
        let named_principal = r#": only the wildcard principal {"qcs":"*"} is accepted (and ignored) in a session policy; a named principal belongs in a bucket policy"#;
        let mut cases: Vec<(String, String)> = [
            (r#""x""#, r#"statement[1]: expected a statement object, got "x""#.to_owned()),
            (
                r#"{"effect":"permit","action":"name/cos:GetObject","resource":"*"}"#,
                r#"statement[1].effect: must be "allow" or "deny", got "permit""#.to_owned(),
            ),
            (
                r#"{"action":"name/cos:GetObject","resource":"*"}"#,
                r#"statement[1].effect: missing; expected "allow" or "deny""#.to_owned(),
            ),
            (
                r#"{"effect":"allow","action":["name/cos:PutObject","permid/280655"],"resource":"*"}"#,
                r#"statement[1].action[1]: "permid/280655" is a permission id, which stsgate cannot map to actions; name the action, e.g. "name/cos:GetObject""#.to_owned(),
            ),
            (
                r#"{"effect":"allow","action":"name/GetObject","resource":"*"}"#,
                r#"statement[1].action: "name/GetObject" is not an action; expected "name/<service>:<Action>" such as "name/cos:GetObject" or "name/cos:*", or "*""#.to_owned(),
            ),
            (
                r#"{"effect":"allow","action":["Name/cos:GetObject"],"resource":"*"}"#,
                r#"statement[1].action[0]: "Name/cos:GetObject" is not an action; expected "name/<service>:<Action>" such as "name/cos:GetObject" or "name/cos:*", or "*""#.to_owned(),
            ),
            (
                r#"{"effect":"allow","action":"name/*","resource":"*"}"#,
                r#"statement[1].action: "name/*" is not an action; expected "name/<service>:<Action>" such as "name/cos:GetObject" or "name/cos:*", or "*""#.to_owned(),
            ),
            (
                r#"{"effect":"allow","action":[],"resource":"*"}"#,
                "statement[1].action: empty list; give at least one".to_owned(),
            ),
            (
                r#"{"effect":"allow","action":[true],"resource":"*"}"#,
                "statement[1].action[0]: expected a string, got true".to_owned(),
            ),
            (
                r#"{"effect":"allow","resource":"*"}"#,
                "statement[1].action: missing; expected a string or a list of strings".to_owned(),
            ),
            (
                r#"{"effect":"allow","action":"name/cos:GetObject"}"#,
                "statement[1].resource: missing; expected a string or a list of strings".to_owned(),
            ),
            (
                r#"{"effect":"allow","action":"*","resource":"*","principal":{"qcs":["*","qcs::cam::uin/100000000001:uin/100000000002"]}}"#,
                format!("statement[1].principal.qcs[1]{named_principal}"),
            ),
            (
                r#"{"effect":"allow","action":"*","resource":"*","principal":{"qcs":[]}}"#,
                format!("statement[1].principal.qcs{named_principal}"),
            ),
            (
                r#"{"effect":"allow","action":"*","resource":"*","principal":{"cam":"*"}}"#,
                format!("statement[1].principal{named_principal}"),
            ),
            (
                r#"{"sid":"one","effect":"allow","action":"*","resource":"*"}"#,
                r#"statement[1]: unknown key "sid"; a statement has effect, action, resource and optionally condition and principal"#.to_owned(),
            ),
            (
                r#"{"effect":"allow","notaction":"name/cos:GetObject","resource":"*"}"#,
                r#"statement[1]: unknown key "notaction"; a statement has effect, action, resource and optionally condition and principal"#.to_owned(),
            ),
            (
                r#"{"effect":"allow","Action":"*","action":"name/cos:GetObject","resource":"*"}"#,
                r#"statement[1]: "Action" and "action" are the same element (names are case-insensitive); give it once"#.to_owned(),
            ),
        ]
        .into_iter()
        .map(|(statement, expected)| (statement.to_owned(), expected))
        .collect();
        cases.extend([
            resource_error("acs:oss:*:*:b/*", not_a_resource),
            resource_error("qcs::cos:ap-guangzhou:uid/1250000000:", not_a_resource),
            resource_error("qcs::cos:ap-guangzhou:examplebucket-1250000000/*", not_a_resource),
            resource_error(
                "qcs::cos:ap-guangzhou::examplebucket-1250000000/*",
                r#": the account is empty; COS resources name it as "uid/<appid>""#,
            ),
            resource_error(
                "qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000",
                r#": names bucket "examplebucket-1250000000" without an object part; write "examplebucket-1250000000/*" for the bucket and its objects, or "examplebucket-1250000000/" for bucket operations only"#,
            ),
            resource_error(
                "qcs::cos:ap-guangzhou:uid/1250000000:examplebucket/dir/*",
                r#": bucket "examplebucket" lacks its "-<appid>" suffix; COS buckets are named like "examplebucket-1250000000""#,
            ),
            resource_error(
                "qcs::cos:bj:uid/1238423:prefix/bucketA/*",
                r#": the old "prefix/<bucket>/…" form is not supported; write "<bucket>-<appid>/…""#,
            ),
            resource_error(
                "qcs::cos:ap-guangzhou:uid/1250000000:prefix//1250000001/examplebucket/dir/*",
                r#": the legacy part names appid "1250000001" but the account is "uid/1250000000"; they must be the same"#,
            ),
            resource_error(
                "qcs::cos:ap-guangzhou:uid/1250000000:prefix//1250000000/examplebucket",
                r#": a legacy resource is "prefix//<appid>/<bucket>/<key>", as the Node SDK's getPolicy writes it"#,
            ),
            resource_error(
                "qcs::cos:ap-guangzhou:uid/1250000000:prefix//1250000000//dir/*",
                r#": a legacy resource is "prefix//<appid>/<bucket>/<key>", as the Node SDK's getPolicy writes it"#,
            ),
        ]);
        for (statement, expected) in &cases {
            check_error(&second(statement), expected);
        }
    }

    #[test]
    fn condition_errors() {
        let supported = "supported keys are qcs:ip, qcs:current_time, cos:secure-transport, qcs:secure_transport, cos:prefix";
        let operators = "expected string_equal, string_not_equal, string_like, string_not_like, numeric_*, date_*, ip_equal, ip_not_equal or bool_equal, optionally with the suffix _if_exist or a for_any_value: / for_all_value: prefix";
        let cases: &[(&str, String)] = &[
            (
                r#""x""#,
                r#"statement[1].condition: expected an object such as {"string_like": {"cos:prefix": "users/alice/*"}}, got "x""#.to_owned(),
            ),
            (
                r#"{"StringLike":{"cos:prefix":"a/*"}}"#,
                format!(r#"statement[1].condition.StringLike: unknown condition operator "StringLike"; {operators}"#),
            ),
            (
                r#"{"String_Like":{"cos:prefix":"a/*"}}"#,
                r#"statement[1].condition.String_Like: unknown condition operator "String_Like"; operators are case-sensitive: did you mean "string_like"?"#.to_owned(),
            ),
            (
                r#"{"string_like_if_exists":{"cos:prefix":"a/*"}}"#,
                format!(r#"statement[1].condition.string_like_if_exists: unknown condition operator "string_like_if_exists"; {operators}"#),
            ),
            (
                r#"{"for_some_value:string_like":{"cos:prefix":"a/*"}}"#,
                format!(r#"statement[1].condition.for_some_value:string_like: unknown condition operator "for_some_value:string_like"; {operators}"#),
            ),
            (
                r#"{"string_equal":{"cos:content-type":"image/png"}}"#,
                format!(r#"statement[1].condition.string_equal.cos:content-type: condition key "cos:content-type" is not supported (stsgate cannot evaluate it and does not ignore a condition); {supported}"#),
            ),
            (
                r#"{"numeric_less_than_equal":{"cos:content-length":1048576}}"#,
                format!(r#"statement[1].condition.numeric_less_than_equal.cos:content-length: condition key "cos:content-length" is not supported (stsgate cannot evaluate it and does not ignore a condition); {supported}"#),
            ),
            (
                r#"{"string_equal":{"vpc:requester_vpc":"vpc-aqp5jrc1"}}"#,
                format!(r#"statement[1].condition.string_equal.vpc:requester_vpc: condition key "vpc:requester_vpc" is not supported (stsgate cannot evaluate it and does not ignore a condition); {supported}"#),
            ),
            (
                r#"{"bool_equal":{"cos:secure-transport":true,"qcs:secure_transport":true}}"#,
                "statement[1].condition.bool_equal.qcs:secure_transport: key cos:secure-transport appears more than once under bool_equal".to_owned(),
            ),
            (
                r#"{"string_like":{"cos:prefix":[]}}"#,
                "statement[1].condition.string_like.cos:prefix: empty list; give at least one value".to_owned(),
            ),
            (
                r#"{"ip_equal":{"qcs:ip":["10.0.0.0/8","10.0.0.0/33"]}}"#,
                r#"statement[1].condition.ip_equal.qcs:ip[1]: "10.0.0.0/33" is not an IP address or CIDR block such as "192.168.0.0/16" or "2001:db8::/32""#.to_owned(),
            ),
            (
                r#"{"date_less_than":{"qcs:current_time":"tomorrow"}}"#,
                r#"statement[1].condition.date_less_than.qcs:current_time: "tomorrow" is not an ISO 8601 date-time; expected e.g. "2025-01-31T12:00:00Z""#.to_owned(),
            ),
            (
                r#"{"numeric_equal":{"cos:prefix":"ten"}}"#,
                r#"statement[1].condition.numeric_equal.cos:prefix: "ten" is not a number"#.to_owned(),
            ),
            (
                r#"{"bool_equal":{"cos:secure-transport":"yes"}}"#,
                r#"statement[1].condition.bool_equal.cos:secure-transport: "yes" is not a boolean; expected true, false, "true" or "false""#.to_owned(),
            ),
        ];
        for (condition, expected) in cases {
            let statement = format!(
                r#"{{"effect":"allow","action":"name/cos:GetObject","resource":"*","condition":{condition}}}"#
            );
            check_error(&second(&statement), expected);
        }
    }

    /// Found by fuzz/fuzz_targets/policy_cam.rs: a legacy resource whose appid is not a number
    /// was accepted and rewritten to a bucket without its `-<appid>` suffix, which `parse_cam`
    /// refuses, so the policy's `to_json` did not parse back.
    #[test]
    fn legacy_resource_with_a_non_numeric_appid_is_refused() {
        let crash = r#"{"version":"2.0","statement":[{"action":"name/cos:PutObject","effect":"allow","principal":{"qcs":"*"},"resource":"qcs::cos:ap-guangzhou:uid/q2500 0000:prefix//q2500 0000/app/users/alice/*"},{"action":"name/cos:GetSe-vice","effect":"allow","principal":{"qcs":"*"},"resource":"*"}]}"#;
        assert_eq!(
            parse_cam(crash).unwrap_err().0,
            r#"statement[0].resource: "qcs::cos:ap-guangzhou:uid/q2500 0000:prefix//q2500 0000/app/users/alice/*": the legacy part names appid "q2500 0000", which is not a number; an AppId is digits, such as 1250000000"#
        );
        let numeric = crash.replace("q2500 0000", "1250000000");
        let policy = parse_cam(&numeric).unwrap();
        assert_eq!(parse_cam(&policy.to_json()).unwrap(), policy);
    }

    #[test]
    fn to_json_is_normalised_cam() {
        let policy = parse_cam(
            r#"{"Version":"2.0","Statement":{"Effect":"Deny","Action":["name/cos:Get*","cos:HeadObject","*"],
                "Principal":{"qcs":"*"},
                "Resource":"qcs::cos::uid/1250000000:prefix//1250000000/b/k",
                "Condition":{"for_all_value:string_like_if_exist":{"COS:PREFIX":"a/*"},"ip_equal":{"qcs:ip":"10.0.0.0/8"}}}}"#,
        )
        .unwrap();
        let json: Value = serde_json::from_str(&policy.to_json()).unwrap();
        let expected = json!({"version":"2.0","statement":[{"effect":"deny",
            "action":["name/cos:Get*","name/cos:HeadObject","*"],
            "resource":["qcs::cos:*:uid/1250000000:b-1250000000/k"],
            "condition":{"for_all_value:string_like_if_exist":{"cos:prefix":"a/*"},"ip_equal":{"qcs:ip":"10.0.0.0/8"}}}]});
        assert_eq!(json, expected);
        assert_eq!(parse_cam(&policy.to_json()).unwrap(), policy);
    }

    /// JSON-ish values biased towards the names a CAM policy uses.
    fn json_value() -> impl Strategy<Value = Value> {
        let names = prop::sample::select(vec![
            "version",
            "statement",
            "effect",
            "action",
            "resource",
            "condition",
            "principal",
            "Statement",
            "qcs",
            "2.0",
            "allow",
            "deny",
            "name/cos:GetObject",
            "permid/1",
            "*",
            "qcs::cos:ap-guangzhou:uid/1250000000:b-1250000000/*",
            "qcs::cos::uid/1:prefix//1/b/k",
            "qcs::cos:r:uid/1:prefix//",
            "string_like",
            "for_all_value:ip_equal_if_exist",
            "date_less_than",
            "cos:prefix",
            "qcs:ip",
            "qcs:current_time",
            "10.0.0.0/8",
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
        let operator = (
            prop::sample::select(vec!["", "for_any_value:", "for_all_value:"]),
            prop::sample::select(vec!["string_like", "string_not_equal", "numeric_less_than"]),
            prop::sample::select(vec!["", "_if_exist"]),
        )
            .prop_map(|(prefix, base, suffix)| format!("{prefix}{base}{suffix}"));
        let clause = prop_oneof![
            (operator, prop::collection::vec("[0-9a-z/*?]{0,6}", 1..3)).prop_map(|(op, v)| {
                let v: Vec<String> = v.into_iter().map(|s| if op.contains("numeric") { s.len().to_string() } else { s }).collect();
                json!({op: {"cos:prefix": v}})
            }),
            (0u8..=255, 0u8..=32).prop_map(|(a, bits)| json!({"ip_equal": {"qcs:ip": format!("{a}.0.0.0/{bits}")}})),
            any::<u16>().prop_map(|n| json!({"ip_not_equal": {"qcs:ip": ["::1", format!("2001:db8::{n:x}/64")]}})),
            (0i64..4_000_000_000).prop_map(|secs| {
                let date = time::OffsetDateTime::from_unix_timestamp(secs).unwrap();
                json!({"date_greater_than": {"qcs:current_time": date.format(&time::format_description::well_known::Rfc3339).unwrap()}})
            }),
            any::<bool>().prop_map(|b| json!({"bool_equal": {"cos:secure-transport": b}})),
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
        let action = prop_oneof![
            Just("*".to_owned()),
            "name/cos:[A-Za-z*?]{1,10}",
            "cos:[A-Za-z*?]{1,10}"
        ];
        let resource = prop_oneof![
            Just("*".to_owned()),
            "qcs::cos:[a-z*-]{0,6}:uid/[0-9]{1,4}:[a-z]{1,4}-[0-9]{1,4}/[a-z0-9/*?:. -]{0,12}",
            "qcs::cos:[a-z-]{0,6}:uid/[0-9]{1,4}:\\*",
            "qcs::cos:[a-z-]{0,6}:uid/1250:prefix//1250/[a-z]{1,4}/[a-z0-9/*?]{0,8}",
            "qcs::ci:[a-z-]{0,6}:uid/[0-9]{1,4}:bucket/[a-z0-9/*-]{1,12}",
        ];
        let statement = (
            any::<bool>(),
            prop::collection::vec(action, 1..4),
            prop::collection::vec(resource, 1..4),
            prop::option::of(condition()),
            any::<bool>(),
        )
            .prop_map(|(allow, actions, resources, condition, principal)| {
                let mut s = json!({"effect": if allow { "allow" } else { "deny" }, "action": actions, "resource": resources});
                if let Some(condition) = condition {
                    s["condition"] = condition;
                }
                if principal {
                    s["principal"] = json!({"qcs": "*"});
                }
                s
            });
        prop::collection::vec(statement, 1..4)
            .prop_map(|s| json!({"version": "2.0", "statement": s}))
    }

    /// One statement allowing `actions` on the bucket `<short>-<appid>` and key pattern
    /// `pattern`, written in the canonical and in the legacy Node resource form.
    fn canonical_and_legacy(
        short: &str,
        appid: &str,
        region: &str,
        pattern: &str,
    ) -> (Policy, Policy) {
        let policy = |resource: String| {
            let json = json!({"version": "2.0", "statement": [{"effect": "allow",
                "action": ["name/cos:GetObject", "name/cos:PutObject"], "resource": resource}]});
            parse_cam(&json.to_string()).unwrap_or_else(|e| panic!("{e} in {json}"))
        };
        (
            policy(format!(
                "qcs::cos:{region}:uid/{appid}:{short}-{appid}/{pattern}"
            )),
            policy(format!(
                "qcs::cos:{region}:uid/{appid}:prefix//{appid}/{short}/{pattern}"
            )),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn parse_cam_never_panics_on_text(text in "\\PC{0,200}") {
            let _ = parse_cam(&text);
        }

        #[test]
        fn parse_cam_never_panics_on_json(value in json_value()) {
            let _ = parse_cam(&value.to_string());
        }

        #[test]
        fn parse_cam_never_panics_near_valid(policy in policy_json(), cut in 0usize..400) {
            let text = policy.to_string();
            let cut = (0..=cut.min(text.len())).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
            let _ = parse_cam(&text[..cut]);
        }

        #[test]
        fn to_json_round_trips(policy in policy_json()) {
            let parsed = parse_cam(&policy.to_string()).map_err(|e| TestCaseError::fail(format!("{e} in {policy}")))?;
            let json = parsed.to_json();
            let reparsed = parse_cam(&json).map_err(|e| TestCaseError::fail(format!("{e} in {json}")))?;
            prop_assert_eq!(&reparsed, &parsed);
            prop_assert_eq!(reparsed.to_json(), json);
        }

        #[test]
        fn evaluation_never_panics(policy in policy_json(), action in "\\PC{0,20}", resource in "\\PC{0,40}", prefix in prop::option::of("\\PC{0,10}")) {
            let policy = parse_cam(&policy.to_string()).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let mut context = context();
            context.prefix = prefix;
            let request = Request { action: &action, resource: &resource, context: &context };
            let alone = policy.evaluate(&request);
            prop_assert_eq!(evaluate_all(&[&policy], &request), alone);
        }

        #[test]
        fn legacy_and_canonical_forms_decide_the_same(
            short in "[a-z0-9][a-z0-9-]{0,6}",
            appid in "[1-9][0-9]{0,9}",
            region in prop::sample::select(vec!["", "ap-guangzhou", "ap-*"]),
            pattern in "[a-z/*?.]{0,8}",
            asked_region in prop::sample::select(vec!["ap-guangzhou", "ap-beijing", "eu-frankfurt"]),
            asked_bucket in prop::option::of("[a-z0-9-]{1,8}"),
            random_key in "[a-z/.]{0,12}",
            filler in prop::option::of("[a-z/.]{0,6}"),
            action in prop::sample::select(vec!["cos:GetObject", "cos:PutObject", "cos:DeleteObject", "cos:getobject"]),
        ) {
            let (canonical, legacy) = canonical_and_legacy(&short, &appid, region, &pattern);
            prop_assert_eq!(&canonical.statements, &legacy.statements);
            let bucket = asked_bucket.unwrap_or_else(|| format!("{short}-{appid}"));
            // Half the keys are made from the pattern, so that many requests match.
            let key = match filler {
                Some(filler) => pattern.replace('*', &filler).replace('?', "x"),
                None => random_key,
            };
            let resource = format!("qcs::cos:{asked_region}:uid/{appid}:{bucket}/{key}");
            let context = context();
            let request = Request { action, resource: &resource, context: &context };
            prop_assert_eq!(canonical.evaluate(&request), legacy.evaluate(&request), "{}", resource);
        }
    }
}
