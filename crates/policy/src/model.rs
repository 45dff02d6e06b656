//! The policy model and its parser.
//!
//! Parsing goes JSON text → `serde_json::Value` → [`Policy`], checking each field by hand so
//! that every error names its place (`Statement[1].Action[0]: …`). This file holds the RAM
//! grammar; `cam.rs` parses Tencent CAM into the same types.

use serde_json::{Map, Value};

use crate::{cam, condition, glob, ConditionBlock, Decision, PolicyError, Request};

/// The grammar a policy was written in. Evaluation is the same for both except that RAM
/// compares action names case-insensitively and CAM case-sensitively; [`Policy::to_json`]
/// renders in the policy's own grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Alibaba RAM: `{"Version":"1","Statement":[…]}`, actions `oss:GetObject`, resources
    /// `acs:oss:<region>:<account>:<bucket>/<key>`.
    Ram,
    /// Tencent CAM: `{"version":"2.0","statement":[…]}`, actions `name/cos:GetObject` (kept as
    /// `cos:GetObject`), resources `qcs::cos:<region>:uid/<appid>:<bucket-appid>/<key>`.
    Cam,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub effect: Effect,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    pub condition: Option<ConditionBlock>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub dialect: Dialect,
    pub version: String,
    pub statements: Vec<Statement>,
}

impl Policy {
    /// Decision for one request under this policy alone.
    pub fn evaluate(&self, request: &Request) -> Decision {
        let mut allowed = false;
        let applies = |statement: &&Statement| statement.matches(request, self.dialect);
        for statement in self.statements.iter().filter(applies) {
            match statement.effect {
                Effect::Deny => return Decision::ExplicitDeny,
                Effect::Allow => allowed = true,
            }
        }
        if allowed {
            Decision::Allow
        } else {
            Decision::ImplicitDeny
        }
    }

    /// Compact JSON of the policy in its own grammar: it round-trips through [`crate::parse`]
    /// (RAM) or [`crate::parse_cam`] (CAM). A CAM policy comes back normalised (legacy
    /// resources rewritten, `name/` actions, any wildcard `principal` dropped), so keep the
    /// original text where the exact text matters.
    pub fn to_json(&self) -> String {
        if self.dialect == Dialect::Cam {
            return cam::to_json(self);
        }
        let statements = self.statements.iter().map(Statement::to_json).collect();
        let mut policy = Map::new();
        policy.insert("Version".to_owned(), Value::from(self.version.as_str()));
        policy.insert("Statement".to_owned(), Value::Array(statements));
        Value::Object(policy).to_string()
    }
}

impl Statement {
    /// Whether the statement applies to the request: some action pattern matches, some resource
    /// pattern matches, and the condition (if any) holds. The effect is not considered.
    /// `dialect` is the policy's: it decides whether action names compare case-sensitively.
    pub fn matches(&self, request: &Request, dialect: Dialect) -> bool {
        let action_matches = match dialect {
            Dialect::Ram => glob::action_matches,
            Dialect::Cam => glob::matches,
        };
        self.actions
            .iter()
            .any(|pattern| action_matches(pattern, request.action))
            && self
                .resources
                .iter()
                .any(|pattern| glob::resource_matches(pattern, request.resource))
            && self
                .condition
                .iter()
                .all(|condition| condition.matches(request.context))
    }

    fn to_json(&self) -> Value {
        let effect = match self.effect {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        };
        let mut statement = Map::new();
        statement.insert("Effect".to_owned(), Value::from(effect));
        statement.insert("Action".to_owned(), Value::from(self.actions.clone()));
        statement.insert("Resource".to_owned(), Value::from(self.resources.clone()));
        if let Some(condition) = &self.condition {
            statement.insert("Condition".to_owned(), condition.to_json(&condition::Ram));
        }
        Value::Object(statement)
    }
}

pub(crate) fn error(message: String) -> PolicyError {
    PolicyError(message)
}

/// A JSON value as a message shows it: scalars verbatim (`"allow2"`, `5`), containers by kind.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(_) | Value::Number(_) | Value::String(_) => value.to_string(),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

pub(crate) fn parse(json: &str) -> Result<Policy, PolicyError> {
    let value: Value =
        serde_json::from_str(json).map_err(|e| error(format!("policy is not valid JSON: {e}")))?;
    let Value::Object(top) = value else {
        return Err(error(format!(
            "policy: expected a JSON object with \"Version\" and \"Statement\", got {}",
            describe(&value)
        )));
    };
    if let Some(key) = top
        .keys()
        .find(|key| !matches!(key.as_str(), "Version" | "Statement"))
    {
        return Err(error(format!(
            "policy: unknown key \"{key}\"; a policy has only \"Version\" and \"Statement\""
        )));
    }
    let version = parse_version(top.get("Version"))?;
    let statements = match top.get("Statement") {
        None => {
            return Err(error(
                "Statement: missing; a policy needs a list of statements".to_owned(),
            ))
        }
        Some(Value::Array(list)) if list.is_empty() => {
            return Err(error(
                "Statement: empty list; a policy needs at least one statement".to_owned(),
            ));
        }
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(i, statement)| parse_statement(statement, &format!("Statement[{i}]")))
            .collect::<Result<_, _>>()?,
        Some(single @ Value::Object(_)) => vec![parse_statement(single, "Statement[0]")?],
        Some(other) => {
            return Err(error(format!(
                "Statement: expected a list of statement objects, got {}",
                describe(other)
            )));
        }
    };
    Ok(Policy {
        dialect: Dialect::Ram,
        version,
        statements,
    })
}

fn parse_version(version: Option<&Value>) -> Result<String, PolicyError> {
    match version {
        Some(Value::String(version)) if version == "1" => Ok(version.clone()),
        None => Err(error("Version: missing; add \"Version\": \"1\"".to_owned())),
        Some(other) => Err(error(format!(
            "Version: must be the string \"1\", got {}",
            describe(other)
        ))),
    }
}

const STATEMENT_KEYS: [&str; 5] = ["Effect", "Action", "Resource", "Condition", "Sid"];

fn parse_statement(value: &Value, at: &str) -> Result<Statement, PolicyError> {
    let Value::Object(fields) = value else {
        return Err(error(format!(
            "{at}: expected a statement object, got {}",
            describe(value)
        )));
    };
    for key in fields.keys() {
        check_statement_key(key, at)?;
    }
    if let Some(sid) = fields.get("Sid").filter(|sid| !sid.is_string()) {
        return Err(error(format!(
            "{at}.Sid: expected a string, got {}",
            describe(sid)
        )));
    }
    let effect = parse_effect(fields.get("Effect"), &format!("{at}.Effect"))?;
    let actions = parse_patterns(fields.get("Action"), &format!("{at}.Action"), |action| {
        check_action(action).map(|()| action.to_owned())
    })?;
    let resources = parse_patterns(
        fields.get("Resource"),
        &format!("{at}.Resource"),
        |resource| check_resource(resource).map(|()| resource.to_owned()),
    )?;
    let condition = match fields.get("Condition") {
        Some(condition) => Some(condition::parse(condition, &format!("{at}.Condition"))?),
        None => None,
    };
    Ok(Statement {
        effect,
        actions,
        resources,
        condition,
    })
}

fn check_statement_key(key: &str, at: &str) -> Result<(), PolicyError> {
    let message = match key {
        _ if STATEMENT_KEYS.contains(&key) => return Ok(()),
        "Principal" | "NotPrincipal" => format!(
            "{at}.{key}: not supported in identity or session policies; {key} belongs in resource \
             policies such as bucket policies"
        ),
        "NotAction" | "NotResource" => format!(
            "{at}.{key}: not supported in identity or session policies; list what is allowed \
             under \"{}\" instead",
            &key[3..]
        ),
        _ => match STATEMENT_KEYS
            .iter()
            .find(|known| known.eq_ignore_ascii_case(key))
        {
            Some(known) => format!(
                "{at}: unknown key \"{key}\"; keys are case-sensitive: did you mean \"{known}\"?"
            ),
            None => format!(
                "{at}: unknown key \"{key}\"; a statement has Effect, Action, Resource and \
                 optionally Condition"
            ),
        },
    };
    Err(error(message))
}

fn parse_effect(value: Option<&Value>, at: &str) -> Result<Effect, PolicyError> {
    match value {
        Some(Value::String(effect)) if effect == "Allow" => Ok(Effect::Allow),
        Some(Value::String(effect)) if effect == "Deny" => Ok(Effect::Deny),
        None => Err(error(format!(
            "{at}: missing; expected \"Allow\" or \"Deny\""
        ))),
        Some(other) => Err(error(format!(
            "{at}: must be \"Allow\" or \"Deny\", got {}",
            describe(other)
        ))),
    }
}

/// Parses `Action` or `Resource`: a string or a non-empty list of strings, each turned by
/// `normalise` into the pattern to keep, or into the complaint (without the place) for a bad one.
pub(crate) fn parse_patterns(
    value: Option<&Value>,
    at: &str,
    normalise: impl Fn(&str) -> Result<String, String>,
) -> Result<Vec<String>, PolicyError> {
    let items: Vec<(String, &Value)> = match value {
        None => {
            return Err(error(format!(
                "{at}: missing; expected a string or a list of strings"
            )))
        }
        Some(Value::Array(items)) if items.is_empty() => {
            return Err(error(format!("{at}: empty list; give at least one")));
        }
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| (format!("{at}[{i}]"), item))
            .collect(),
        Some(single) => vec![(at.to_owned(), single)],
    };
    items
        .into_iter()
        .map(|(at, item)| {
            let Value::String(pattern) = item else {
                return Err(error(format!(
                    "{at}: expected a string, got {}",
                    describe(item)
                )));
            };
            normalise(pattern).map_err(|complaint| error(format!("{at}: {complaint}")))
        })
        .collect()
}

/// An action is `*` or `service:Name`, each side made of letters, digits, `-`, `_`, `.` and the
/// wildcards `*` and `?`.
fn check_action(action: &str) -> Result<(), String> {
    let is_part = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '*' | '?'))
    };
    let well_formed = action == "*"
        || action
            .split_once(':')
            .is_some_and(|(service, name)| is_part(service) && is_part(name));
    if well_formed {
        Ok(())
    } else {
        Err(format!(
            "{} is not an action; expected \"service:Name\" such as \"oss:GetObject\"",
            Value::from(action)
        ))
    }
}

/// A resource is `*` or `acs:<service>:<region>:<account>:<resource>` (five fields, the last
/// non-empty).
fn check_resource(resource: &str) -> Result<(), String> {
    let well_formed = resource == "*"
        || glob::split_resource(resource)
            .is_some_and(|fields| fields[0].eq_ignore_ascii_case("acs") && !fields[4].is_empty());
    if well_formed {
        Ok(())
    } else {
        Err(format!(
            "{} is not a resource; expected \"acs:<service>:<region>:<account>:<resource>\" such \
             as \"acs:oss:*:*:my-bucket/*\", or \"*\"",
            Value::from(resource)
        ))
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{apply_tweaks, context};
    use crate::{parse, Request};

    /// Runs a table of requests against `policy`. Each line is
    /// `action resource [tweak…] Decision`, where `resource` gets
    /// `acs:oss:cn-hangzhou:1234567890:` prepended unless it starts with `acs:`, and the tweaks
    /// change the test context (see [`apply_tweaks`]).
    fn check(policy: &str, table: &str) {
        let parsed = parse(policy).unwrap_or_else(|e| panic!("{e}\n{policy}"));
        for line in table.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let words: Vec<&str> = line.split_whitespace().collect();
            let [action, resource, tweaks @ .., expected] = words.as_slice() else {
                panic!("bad table line {line:?}");
            };
            let resource = match resource.starts_with("acs:") {
                true => resource.to_string(),
                false => format!("acs:oss:cn-hangzhou:1234567890:{resource}"),
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

    #[test]
    fn per_user_folder() {
        let alice_folder = r#"{"Version":"1","Statement":[
            {"Effect":"Allow","Action":["oss:GetObject","oss:PutObject"],"Resource":["acs:oss:*:*:app/users/alice/*"]},
            {"Effect":"Allow","Action":"oss:ListObjects","Resource":"acs:oss:*:*:app",
             "Condition":{"StringLike":{"oss:Prefix":"users/alice/*"}}}]}"#;
        check(
            alice_folder,
            "
            oss:GetObject     app/users/alice/a.txt                                   Allow
            oss:PutObject     app/users/alice/deep/b.bin                              Allow
            oss:GetObject     app/users/alice/                                        Allow
            OSS:getobject     app/users/alice/a.txt                                   Allow
            oss:GetObject     app/users/bob/x                                         ImplicitDeny
            oss:GetObject     app/users/alice                                         ImplicitDeny
            oss:GetObject     app/users/alicex/a                                      ImplicitDeny
            oss:GetObject     app/Users/alice/a                                       ImplicitDeny
            oss:GetObject     app                                                     ImplicitDeny
            oss:GetObject     other/users/alice/a.txt                                 ImplicitDeny
            oss:DeleteObject  app/users/alice/a.txt                                   ImplicitDeny
            oss:ListObjects   app                prefix=users/alice/                  Allow
            oss:ListObjects   app                prefix=users/alice/2024/             Allow
            oss:ListObjects   app                prefix=users/bob/                    ImplicitDeny
            oss:ListObjects   app                prefix=users/alice                   ImplicitDeny
            oss:ListObjects   app                prefix=                              ImplicitDeny
            oss:ListObjects   app                                                     ImplicitDeny
            oss:ListObjects   app/users/alice/   prefix=users/alice/                  ImplicitDeny
            oss:ListBuckets   acs:oss:cn-hangzhou:1234567890:*                        ImplicitDeny
            ",
        );
    }

    #[test]
    fn deny_wins() {
        let protected = r#"{"Version":"1","Statement":[
            {"Effect":"Allow","Action":"oss:*","Resource":["acs:oss:*:*:app","acs:oss:*:*:app/*"]},
            {"Effect":"Deny","Action":["oss:Delete*","oss:Put*"],"Resource":"acs:oss:*:*:app/protected/*"}]}"#;
        check(
            protected,
            "
            oss:DeleteObject  app/protected/x  ExplicitDeny
            oss:PutObject     app/protected/x  ExplicitDeny
            oss:GetObject     app/protected/x  Allow
            oss:DeleteObject  app/tmp/x        Allow
            oss:DeleteBucket  app              Allow
            sts:AssumeRole    app              ImplicitDeny
            ",
        );
        // Statement order does not matter.
        let deny_first = r#"{"Version":"1","Statement":[
            {"Effect":"Deny","Action":"oss:*","Resource":"*"},
            {"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
        check(
            deny_first,
            "
            oss:GetObject   app/x                       ExplicitDeny
            sts:AssumeRole  acs:ram::1234567890:role/r  Allow
            ",
        );
    }

    #[test]
    fn patterns() {
        let policy = r#"{"Version":"1","Statement":{"Effect":"Allow","Action":"oss:?etObject",
            "Resource":["acs:oss:*:*:logs/log-????.txt","acs:oss:cn-hangzhou:1234567890:pinned/*",
                        "acs:oss:*:42:other-account/*"]}}"#;
        check(
            policy,
            "
            oss:GetObject   logs/log-2024.txt                         Allow
            oss:SetObject   logs/log-2024.txt                         Allow
            oss:GetObject   logs/log-24.txt                           ImplicitDeny
            oss:GetObject   logs/log-20245.txt                        ImplicitDeny
            oss:GeetObject  logs/log-2024.txt                         ImplicitDeny
            oss:GetObject   pinned/a                                  Allow
            oss:GetObject   acs:oss:cn-beijing:1234567890:pinned/a    ImplicitDeny
            oss:GetObject   acs:oss:cn-hangzhou:999:pinned/a          ImplicitDeny
            oss:GetObject   other-account/a                           ImplicitDeny
            oss:GetObject   acs:oss:cn-hangzhou:42:other-account/a    Allow
            oss:GetObject   acs:ecs:cn-hangzhou:1234567890:pinned/a   ImplicitDeny
            ",
        );
        let everything =
            r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
        check(
            everything,
            "
            sts:AssumeRole   acs:ram::1234567890:role/uploader  Allow
            oss:ListBuckets  acs:oss:*:1234567890:*             Allow
            ",
        );
    }

    #[test]
    fn conditions_in_statements() {
        let https_from_office = r#"{"Version":"1","Statement":[
            {"Effect":"Allow","Action":"oss:*","Resource":"*","Condition":{"Bool":{"acs:SecureTransport":"true"}}},
            {"Effect":"Deny","Action":"oss:*","Resource":"*",
             "Condition":{"NotIpAddress":{"acs:SourceIp":["192.0.2.0/24","2001:db8::/32"]}}}]}"#;
        // Without a source address NotIpAddress holds, so the Deny applies.
        check(
            https_from_office,
            "
            oss:GetObject  app/a                        Allow
            oss:GetObject  app/a  secure=false          ImplicitDeny
            oss:GetObject  app/a  ip=2001:db8::7        Allow
            oss:GetObject  app/a  ip=198.51.100.1       ExplicitDeny
            oss:GetObject  app/a  ip=-                  ExplicitDeny
            oss:GetObject  app/a  ip=-  secure=false    ExplicitDeny
            ",
        );
    }

    /// `json` must be refused with exactly `expected`.
    fn check_error(json: &str, expected: &str) {
        match parse(json) {
            Ok(policy) => panic!("accepted {json}\nas {policy:?}"),
            Err(error) => assert_eq!(error.to_string(), expected, "for {json}"),
        }
    }

    /// A policy whose second statement (index 1) is `statement`.
    fn second(statement: &str) -> String {
        format!(
            r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"oss:GetObject","Resource":"*"}},{statement}]}}"#
        )
    }

    #[test]
    fn document_errors() {
        check_error(
            "",
            "policy is not valid JSON: EOF while parsing a value at line 1 column 0",
        );
        check_error(
            "{\"Version\":\"1\",\n \"Statement\": [}",
            "policy is not valid JSON: expected value at line 2 column 16",
        );
        check_error(
            "[]",
            r#"policy: expected a JSON object with "Version" and "Statement", got a list"#,
        );
        check_error(
            r#""x""#,
            r#"policy: expected a JSON object with "Version" and "Statement", got "x""#,
        );
        check_error(
            r#"{"Version":"1","Statement":[],"Id":"x"}"#,
            r#"policy: unknown key "Id"; a policy has only "Version" and "Statement""#,
        );
        check_error(
            r#"{"Statement":[]}"#,
            r#"Version: missing; add "Version": "1""#,
        );
        check_error(
            r#"{"Version":1,"Statement":[]}"#,
            r#"Version: must be the string "1", got 1"#,
        );
        check_error(
            r#"{"Version":"2012-10-17","Statement":[]}"#,
            r#"Version: must be the string "1", got "2012-10-17""#,
        );
        check_error(
            r#"{"Version":"1"}"#,
            "Statement: missing; a policy needs a list of statements",
        );
        check_error(
            r#"{"Version":"1","Statement":[]}"#,
            "Statement: empty list; a policy needs at least one statement",
        );
        check_error(
            r#"{"Version":"1","Statement":"Allow"}"#,
            r#"Statement: expected a list of statement objects, got "Allow""#,
        );
    }

    #[test]
    fn statement_errors() {
        let cases: &[(&str, &str)] = &[
            (r#""x""#, r#"Statement[1]: expected a statement object, got "x""#),
            (
                r#"{"Effect":"allow2","Action":"oss:GetObject","Resource":"*"}"#,
                r#"Statement[1].Effect: must be "Allow" or "Deny", got "allow2""#,
            ),
            (
                r#"{"Effect":"allow","Action":"oss:GetObject","Resource":"*"}"#,
                r#"Statement[1].Effect: must be "Allow" or "Deny", got "allow""#,
            ),
            (
                r#"{"Action":"oss:GetObject","Resource":"*"}"#,
                r#"Statement[1].Effect: missing; expected "Allow" or "Deny""#,
            ),
            (
                r#"{"Effect":"Allow","Action":["oss GetObject"],"Resource":"*"}"#,
                r#"Statement[1].Action[0]: "oss GetObject" is not an action; expected "service:Name" such as "oss:GetObject""#,
            ),
            (
                r#"{"Effect":"Allow","Action":["oss:GetObject","GetObject"],"Resource":"*"}"#,
                r#"Statement[1].Action[1]: "GetObject" is not an action; expected "service:Name" such as "oss:GetObject""#,
            ),
            (
                r#"{"Effect":"Allow","Action":"oss:","Resource":"*"}"#,
                r#"Statement[1].Action: "oss:" is not an action; expected "service:Name" such as "oss:GetObject""#,
            ),
            (
                r#"{"Effect":"Allow","Action":"oss:Get:Object","Resource":"*"}"#,
                r#"Statement[1].Action: "oss:Get:Object" is not an action; expected "service:Name" such as "oss:GetObject""#,
            ),
            (
                r#"{"Effect":"Allow","Action":[],"Resource":"*"}"#,
                "Statement[1].Action: empty list; give at least one",
            ),
            (
                r#"{"Effect":"Allow","Action":[5],"Resource":"*"}"#,
                "Statement[1].Action[0]: expected a string, got 5",
            ),
            (
                r#"{"Effect":"Allow","Resource":"*"}"#,
                "Statement[1].Action: missing; expected a string or a list of strings",
            ),
            (
                r#"{"Effect":"Allow","Action":"oss:GetObject"}"#,
                "Statement[1].Resource: missing; expected a string or a list of strings",
            ),
            (
                r#"{"Effect":"Allow","Action":"oss:GetObject","Resource":["*","bucket/*"]}"#,
                r#"Statement[1].Resource[1]: "bucket/*" is not a resource; expected "acs:<service>:<region>:<account>:<resource>" such as "acs:oss:*:*:my-bucket/*", or "*""#,
            ),
            (
                r#"{"Effect":"Allow","Action":"oss:GetObject","Resource":"acs:oss:*:*:"}"#,
                r#"Statement[1].Resource: "acs:oss:*:*:" is not a resource; expected "acs:<service>:<region>:<account>:<resource>" such as "acs:oss:*:*:my-bucket/*", or "*""#,
            ),
            (
                r#"{"Effect":"Allow","Action":"oss:GetObject","Resource":"*","Principal":{"RAM":"*"}}"#,
                "Statement[1].Principal: not supported in identity or session policies; Principal belongs in resource policies such as bucket policies",
            ),
            (
                r#"{"Effect":"Allow","NotAction":"oss:GetObject","Resource":"*"}"#,
                r#"Statement[1].NotAction: not supported in identity or session policies; list what is allowed under "Action" instead"#,
            ),
            (
                r#"{"Effect":"Allow","Action":"oss:GetObject","NotResource":"*"}"#,
                r#"Statement[1].NotResource: not supported in identity or session policies; list what is allowed under "Resource" instead"#,
            ),
            (
                r#"{"Effect":"Allow","action":"oss:GetObject","Resource":"*"}"#,
                r#"Statement[1]: unknown key "action"; keys are case-sensitive: did you mean "Action"?"#,
            ),
            (
                r#"{"Effect":"Allow","Action":"oss:GetObject","Resource":"*","Comment":"x"}"#,
                r#"Statement[1]: unknown key "Comment"; a statement has Effect, Action, Resource and optionally Condition"#,
            ),
            (
                r#"{"Sid":1,"Effect":"Allow","Action":"oss:GetObject","Resource":"*"}"#,
                "Statement[1].Sid: expected a string, got 1",
            ),
        ];
        for (statement, expected) in cases {
            check_error(&second(statement), expected);
        }
    }

    #[test]
    fn condition_errors() {
        let cases: &[(&str, &str)] = &[
            (r#""x""#, r#"Statement[1].Condition: expected an object such as {"StringLike": {"oss:Prefix": "users/alice/*"}}, got "x""#),
            (
                r#"{"StringEqual":{"acs:UserAgent":"x"}}"#,
                r#"Statement[1].Condition.StringEqual: unknown condition operator "StringEqual"; expected a String*, Numeric*, Date*, Bool, IpAddress or NotIpAddress operator such as "StringEquals""#,
            ),
            (
                r#"{"stringlike":{"acs:UserAgent":"x"}}"#,
                r#"Statement[1].Condition.stringlike: unknown condition operator "stringlike"; operators are case-sensitive: did you mean "StringLike"?"#,
            ),
            (
                r#"{"StringLike":["oss:Prefix"]}"#,
                "Statement[1].Condition.StringLike: expected an object of condition keys to values, got a list",
            ),
            (
                r#"{"StringLike":{"oss:Prefx":"a/*"}}"#,
                r#"Statement[1].Condition.StringLike.oss:Prefx: unknown condition key "oss:Prefx"; supported keys are acs:SourceIp, acs:CurrentTime, acs:SecureTransport, acs:UserAgent, acs:AccessId, oss:Prefix, oss:Delimiter, oss:ExistingObjectTag/<tag>, oss:RequestObjectTag/<tag>"#,
            ),
            (
                r#"{"StringLike":{"oss:Prefix":"a/*","OSS:prefix":"b/*"}}"#,
                "Statement[1].Condition.StringLike.oss:Prefix: key oss:Prefix appears more than once under StringLike",
            ),
            (
                r#"{"StringLike":{"oss:Prefix":[]}}"#,
                "Statement[1].Condition.StringLike.oss:Prefix: empty list; give at least one value",
            ),
            (
                r#"{"StringLike":{"oss:Prefix":["a",null]}}"#,
                "Statement[1].Condition.StringLike.oss:Prefix[1]: expected a string, number or boolean, got null",
            ),
            (
                r#"{"NumericLessThan":{"oss:Prefix":"ten"}}"#,
                r#"Statement[1].Condition.NumericLessThan.oss:Prefix: "ten" is not a number"#,
            ),
            (
                r#"{"NumericLessThan":{"oss:Prefix":["1","NaN"]}}"#,
                r#"Statement[1].Condition.NumericLessThan.oss:Prefix[1]: "NaN" is not a number"#,
            ),
            (
                r#"{"DateLessThan":{"acs:CurrentTime":"31/01/2025"}}"#,
                r#"Statement[1].Condition.DateLessThan.acs:CurrentTime: "31/01/2025" is not an ISO 8601 date-time; expected e.g. "2025-01-31T12:00:00Z""#,
            ),
            (
                r#"{"DateLessThan":{"acs:CurrentTime":1700000000}}"#,
                r#"Statement[1].Condition.DateLessThan.acs:CurrentTime: 1700000000 is not an ISO 8601 date-time; expected e.g. "2025-01-31T12:00:00Z""#,
            ),
            (
                r#"{"Bool":{"acs:SecureTransport":"yes"}}"#,
                r#"Statement[1].Condition.Bool.acs:SecureTransport: "yes" is not a boolean; expected true, false, "true" or "false""#,
            ),
            (
                r#"{"IpAddress":{"acs:SourceIp":["10.0.0.0/8","10.0.0.0/33"]}}"#,
                r#"Statement[1].Condition.IpAddress.acs:SourceIp[1]: "10.0.0.0/33" is not an IP address or CIDR block such as "192.168.0.0/16" or "2001:db8::/32""#,
            ),
            (
                r#"{"NotIpAddress":{"acs:SourceIp":"2001:db8::/129"}}"#,
                r#"Statement[1].Condition.NotIpAddress.acs:SourceIp: "2001:db8::/129" is not an IP address or CIDR block such as "192.168.0.0/16" or "2001:db8::/32""#,
            ),
        ];
        for (condition, expected) in cases {
            let statement = format!(
                r#"{{"Effect":"Allow","Action":"oss:GetObject","Resource":"*","Condition":{condition}}}"#
            );
            check_error(&second(&statement), expected);
        }
    }

    #[test]
    fn accepted_shapes() {
        let policy = parse(
            r#"{"Statement":{"Sid":"one","Effect":"Deny","Action":"oss:*","Resource":"*","Condition":{}},"Version":"1"}"#,
        )
        .unwrap();
        assert_eq!(policy.statements.len(), 1);
        assert_eq!(policy.statements[0].actions, ["oss:*"]);
        // Compared as values: key order depends on serde_json's `preserve_order` feature.
        let json: serde_json::Value = serde_json::from_str(&policy.to_json()).unwrap();
        let expected = r#"{"Version":"1","Statement":[{"Effect":"Deny","Action":["oss:*"],"Resource":["*"],"Condition":{}}]}"#;
        assert_eq!(
            json,
            serde_json::from_str::<serde_json::Value>(expected).unwrap()
        );
        assert!(
            !policy.to_json().contains(char::is_whitespace),
            "not compact: {}",
            policy.to_json()
        );
    }
}
