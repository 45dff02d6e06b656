//! OSS bucket policies: RAM statements with a `Principal`, kept on the bucket. Each statement
//! is validated by the RAM parser (its `Principal` set aside), so the same engine evaluates
//! them; a request is judged only by the statements whose principals name the caller (`*`
//! names everyone, anonymous callers included).

use crate::{Decision, Policy, PolicyError, Request};
use serde_json::Value;

/// The largest bucket policy OSS accepts, in bytes.
pub const MAX_BUCKET_POLICY: usize = 16 * 1024;

/// A parsed bucket policy: each statement with the principals it applies to.
#[derive(Debug, Clone)]
pub struct BucketPolicy {
    statements: Vec<(Vec<String>, Policy)>,
}

fn err(message: String) -> PolicyError {
    PolicyError(message)
}

/// The principals of `Principal`: `"*"`, `["id", …]`, or `{"RAM": …}` (OSS's console form).
fn principals(i: usize, value: &Value) -> Result<Vec<String>, PolicyError> {
    let list = match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                err(format!(
                    "Statement[{i}].Principal: a list of strings is expected"
                ))
            })?,
        Value::Object(map) if map.len() == 1 && map.contains_key("RAM") => {
            return principals(i, &map["RAM"]);
        }
        _ => {
            return Err(err(format!(
                "Statement[{i}].Principal: \"*\" or a list of account or user ids is expected"
            )))
        }
    };
    if list.is_empty() || list.iter().any(|p| p.is_empty()) {
        return Err(err(format!("Statement[{i}].Principal: empty")));
    }
    Ok(list)
}

/// Parses and validates a bucket policy (`Version` "1", statements with `Principal`, and
/// everything a RAM policy may hold).
pub fn parse_bucket_policy(json: &str) -> Result<BucketPolicy, PolicyError> {
    if json.len() > MAX_BUCKET_POLICY {
        return Err(err(format!(
            "the policy is {} bytes; a bucket policy is at most {MAX_BUCKET_POLICY}",
            json.len()
        )));
    }
    let doc: Value = serde_json::from_str(json).map_err(|e| err(format!("not JSON: {e}")))?;
    let obj = doc
        .as_object()
        .ok_or_else(|| err("the policy must be a JSON object".into()))?;
    match obj.get("Version") {
        Some(Value::String(v)) if v == "1" => {}
        _ => return Err(err("Version must be \"1\"".into())),
    }
    let statements = match obj.get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        Some(single @ Value::Object(_)) => vec![single.clone()],
        _ => return Err(err("Statement: a list of statements is expected".into())),
    };
    if statements.is_empty() {
        return Err(err("Statement: at least one statement is expected".into()));
    }
    let mut out = Vec::new();
    for (i, statement) in statements.into_iter().enumerate() {
        let mut statement = match statement {
            Value::Object(map) => map,
            _ => return Err(err(format!("Statement[{i}]: an object is expected"))),
        };
        let who = statement.remove("Principal").ok_or_else(|| {
            err(format!(
                "Statement[{i}].Principal: a bucket policy statement names its principals"
            ))
        })?;
        let who = principals(i, &who)?;
        let single = serde_json::json!({"Version": "1", "Statement": [Value::Object(statement)]})
            .to_string();
        let policy = crate::parse(&single)
            .map_err(|e| err(e.0.replacen("Statement[0]", &format!("Statement[{i}]"), 1)))?;
        out.push((who, policy));
    }
    Ok(BucketPolicy { statements: out })
}

impl BucketPolicy {
    /// The decision of the statements naming the caller: `ids` are the caller's identities
    /// (account id, access key id; empty for anonymous callers, whom only `*` names).
    pub fn evaluate(&self, ids: &[&str], request: &Request) -> Decision {
        let mut decision = Decision::ImplicitDeny;
        for (who, policy) in &self.statements {
            if !who.iter().any(|p| p == "*" || ids.contains(&p.as_str())) {
                continue;
            }
            match policy.evaluate(request) {
                Decision::ExplicitDeny => return Decision::ExplicitDeny,
                Decision::Allow => decision = Decision::Allow,
                Decision::ImplicitDeny => {}
            }
        }
        decision
    }
}

/// `*` (any run) and `?` (one character) matching, linear time (referer lists use it).
pub fn wildcard_matches(pattern: &str, text: &str) -> bool {
    crate::glob::matches(pattern, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Context;
    use proptest::prelude::*;

    fn request<'a>(action: &'a str, resource: &'a str, context: &'a Context) -> Request<'a> {
        Request {
            action,
            resource,
            context,
        }
    }

    #[test]
    fn principals_pick_the_statements() {
        let p = parse_bucket_policy(r#"{"Version":"1","Statement":[
            {"Effect":"Allow","Principal":["*"],"Action":["oss:GetObject"],"Resource":["acs:oss:*:*:b/public/*"]},
            {"Effect":"Allow","Principal":["123"],"Action":["oss:PutObject"],"Resource":["acs:oss:*:*:b/*"]},
            {"Effect":"Deny","Principal":"*","Action":["oss:GetObject"],"Resource":["acs:oss:*:*:b/public/secret"]}]}"#).unwrap();
        let c = Context {
            source_ip: None,
            current_time: time::OffsetDateTime::UNIX_EPOCH,
            secure_transport: false,
            user_agent: None,
            access_key_id: None,
            prefix: None,
            delimiter: None,
            existing_object_tags: None,
            request_object_tags: None,
        };
        let r = |a, res| request(a, res, &c);
        assert_eq!(
            p.evaluate(
                &[],
                &r("oss:GetObject", "acs:oss:cn-hangzhou:123:b/public/x")
            ),
            Decision::Allow
        );
        assert_eq!(
            p.evaluate(
                &[],
                &r("oss:GetObject", "acs:oss:cn-hangzhou:123:b/public/secret")
            ),
            Decision::ExplicitDeny
        );
        assert_eq!(
            p.evaluate(&[], &r("oss:PutObject", "acs:oss:cn-hangzhou:123:b/x")),
            Decision::ImplicitDeny
        );
        assert_eq!(
            p.evaluate(&["123"], &r("oss:PutObject", "acs:oss:cn-hangzhou:123:b/x")),
            Decision::Allow
        );
    }

    #[test]
    fn grammar_errors_name_the_statement() {
        for (doc, want) in [
            (r#"{"Version":1,"Statement":[]}"#, "Version"),
            (
                r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":["oss:GetObject"],"Resource":["*"]}]}"#,
                "Statement[0].Principal",
            ),
            (
                r#"{"Version":"1","Statement":[{"Effect":"Allow","Principal":["*"],"Action":["oss:GetObject"],"Resource":["*"]},{"Effect":"Maybe","Principal":["*"],"Action":["oss:GetObject"],"Resource":["*"]}]}"#,
                "Statement[1]",
            ),
            ("not json", "not JSON"),
        ] {
            let e = parse_bucket_policy(doc).unwrap_err();
            assert!(e.0.contains(want), "{doc}: {}", e.0);
        }
        assert!(parse_bucket_policy(&"x".repeat(MAX_BUCKET_POLICY + 1)).is_err());
    }

    #[test]
    fn tag_conditions_read_the_named_tag() {
        let policy = crate::parse(
            r#"{"Version":"1","Statement":[
            {"Effect":"Allow","Action":["oss:GetObject"],"Resource":["*"],
             "Condition":{"StringEquals":{"oss:ExistingObjectTag/status":"ok"}}},
            {"Effect":"Allow","Action":["oss:PutObjectTagging"],"Resource":["*"],
             "Condition":{"StringEquals":{"oss:RequestObjectTag/allow":["yes"]}}}]}"#,
        )
        .unwrap();
        let mut c = crate::test_support::context();
        let get = |c: &Context| policy.evaluate(&request("oss:GetObject", "acs:oss:*:1:b/k", c));
        assert_eq!(get(&c), Decision::ImplicitDeny);
        c.existing_object_tags = Some(vec![("status".into(), "ok".into())]);
        assert_eq!(get(&c), Decision::Allow);
        c.existing_object_tags = Some(vec![
            ("status".into(), "no".into()),
            ("x".into(), "ok".into()),
        ]);
        assert_eq!(get(&c), Decision::ImplicitDeny);
        let put =
            |c: &Context| policy.evaluate(&request("oss:PutObjectTagging", "acs:oss:*:1:b/k", c));
        c.request_object_tags = Some(vec![("allow".into(), "yes".into())]);
        assert_eq!(put(&c), Decision::Allow);
        c.request_object_tags = Some(vec![]);
        assert_eq!(put(&c), Decision::ImplicitDeny);
        // A tag key without its tag, or an empty one, is refused at parse time.
        for bad in [
            "oss:ExistingObjectTag",
            "oss:RequestObjectTag/",
            "acs:SourceIp/x",
        ] {
            let doc = format!(
                r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":["oss:GetObject"],"Resource":["*"],"Condition":{{"StringEquals":{{"{bad}":"v"}}}}}}]}}"#
            );
            assert!(crate::parse(&doc).is_err(), "{bad}");
        }
        // The key survives a round trip through JSON.
        let json = policy.to_json().to_string();
        assert!(json.contains("oss:ExistingObjectTag/status"), "{json}");
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,300}") {
            let _ = parse_bucket_policy(&s);
        }
    }
}
