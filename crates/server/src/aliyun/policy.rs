//! A grant's scope as a RAM policy: the narrowest session policy Alibaba STS and the oss face
//! understand for one caller's prefix.
//!
//! Object actions on `acs:oss:*:*:<bucket>/<prefix>*`; `oss:ListObjects` on the bucket only with
//! an `oss:Prefix` condition under the prefix; the grant's `source_ips` as an `IpAddress
//! acs:SourceIp` condition on every statement. The prefix always ends with `/` (see
//! `common::scope`), so `users/al/` never reaches `users/alice/…`.

use crate::common::scope::{Bundle, Grant};
use serde_json::json;

/// The RAM actions of a bundle on objects under the prefix (`List` has none: it is a bucket
/// action).
fn object_actions(bundle: Bundle) -> &'static [&'static str] {
    match bundle {
        Bundle::Read => &["oss:GetObject", "oss:GetObjectTagging"],
        // Tagging is a write: tags set with the object (`x-oss-tagging`) or after it.
        Bundle::Write => &[
            "oss:PutObject",
            "oss:PutObjectTagging",
            "oss:DeleteObjectTagging",
            "oss:AbortMultipartUpload",
            "oss:ListParts",
        ],
        Bundle::List | Bundle::Settings => &[],
        Bundle::Delete => &["oss:DeleteObject"],
        Bundle::Acl => &["oss:PutObjectAcl", "oss:GetObjectAcl"],
    }
}

/// The RAM actions of the `settings` bundle, on the bucket itself.
const SETTINGS: &[&str] = &[
    "oss:PutBucketLifecycle",
    "oss:GetBucketLifecycle",
    "oss:DeleteBucketLifecycle",
    "oss:PutBucketEncryption",
    "oss:GetBucketEncryption",
    "oss:DeleteBucketEncryption",
    "oss:PutBucketPolicy",
    "oss:GetBucketPolicy",
    "oss:DeleteBucketPolicy",
    "oss:PutBucketReferer",
    "oss:GetBucketReferer",
    "oss:PutBucketCors",
    "oss:GetBucketCors",
    "oss:DeleteBucketCors",
];

/// What a grant's credentials may never do, said explicitly (so a broader role policy on the
/// cloud cannot lend it): without the `settings` action change any of the bucket's settings
/// (`PutBucket*`, `DeleteBucket*`); with it still never its ACL nor delete it (the other bucket
/// writes are then bounded by the Allow statements alone); without the `acl` action set an
/// object's ACL (`PutObjectAcl`, which OSS also requires of an `x-oss-object-acl` header on a
/// write).
fn denied(grant: &Grant) -> serde_json::Value {
    let mut actions = if grant.bundles.contains(&Bundle::Settings) {
        vec!["oss:PutBucketAcl", "oss:DeleteBucket"]
    } else {
        vec!["oss:PutBucket*", "oss:DeleteBucket*"]
    };
    if !grant.bundles.contains(&Bundle::Acl) {
        actions.insert(0, "oss:PutObjectAcl");
    }
    json!({
        "Effect": "Deny",
        "Action": actions,
        "Resource": [format!("acs:oss:*:*:{}", grant.bucket), format!("acs:oss:*:*:{}/*", grant.bucket)],
    })
}

/// The narrowest RAM policy for `grant` at `prefix` (already rendered for the caller).
pub fn render(grant: &Grant, prefix: &str) -> String {
    let mut statements = Vec::new();
    let actions: Vec<&str> = grant
        .bundles
        .iter()
        .flat_map(|b| object_actions(*b).iter().copied())
        .collect();
    if !actions.is_empty() {
        statements.push(json!({
            "Effect": "Allow",
            "Action": actions,
            "Resource": [format!("acs:oss:*:*:{}/{prefix}*", grant.bucket)],
        }));
    }
    if grant.bundles.contains(&Bundle::List) {
        statements.push(json!({
            "Effect": "Allow",
            "Action": ["oss:ListObjects"],
            "Resource": [format!("acs:oss:*:*:{}", grant.bucket)],
            "Condition": {"StringLike": {"oss:Prefix": [format!("{prefix}*")]}},
        }));
    }
    if grant.bundles.contains(&Bundle::Settings) {
        statements.push(json!({
            "Effect": "Allow",
            "Action": SETTINGS,
            "Resource": [format!("acs:oss:*:*:{}", grant.bucket)],
        }));
    }
    if !grant.source_ips.is_empty() {
        let ips: Vec<String> = grant.source_ips.iter().map(|c| c.to_string()).collect();
        for st in &mut statements {
            st.as_object_mut()
                .expect("a statement is an object")
                .entry("Condition")
                .or_insert_with(|| json!({}))["IpAddress"] = json!({"acs:SourceIp": ips});
        }
    }
    // After the source-IP conditions: the Deny holds from every address.
    statements.push(denied(grant));
    json!({"Version": "1", "Statement": statements}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::scope::default_grants;
    use proptest::prelude::*;
    use serde_json::{Map, Value};

    /// The request context of a policy decision: only the source address varies here.
    fn context(source_ip: Option<std::net::IpAddr>) -> stsgate_policy::Context {
        stsgate_policy::Context {
            source_ip,
            current_time: time::OffsetDateTime::now_utc(),
            secure_transport: false,
            user_agent: None,
            access_key_id: None,
            prefix: None,
            delimiter: None,
            existing_object_tags: None,
            request_object_tags: None,
        }
    }

    fn user_folder() -> Grant {
        Grant::from_config(&default_grants()[0]).unwrap()
    }

    fn claims(sub: &str) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("sub".into(), Value::String(sub.into()));
        m
    }

    #[test]
    fn the_worst_case_prefix_gives_the_largest_policy() {
        let g = user_folder();
        let worst = render(&g, &g.worst_case_prefix());
        assert_eq!(worst, render(&g, &format!("users/{}/", "x".repeat(128))));
        let longest = claims(&"a".repeat(128));
        assert_eq!(render(&g, &g.prefix(&longest).unwrap()).len(), worst.len());
        assert!(worst.len() <= crate::aliyun::provider::MAX_POLICY_BYTES);
    }

    #[test]
    fn renders_the_narrowest_policy() {
        let g = user_folder();
        let prefix = g.prefix(&claims("alice")).unwrap();
        assert_eq!(prefix, "users/alice/");
        let policy: Value = serde_json::from_str(&render(&g, &prefix)).unwrap();
        assert_eq!(
            policy,
            json!({"Version":"1","Statement":[
                {"Effect":"Allow","Action":["oss:GetObject","oss:GetObjectTagging","oss:PutObject","oss:PutObjectTagging",
                    "oss:DeleteObjectTagging","oss:AbortMultipartUpload","oss:ListParts","oss:DeleteObject"],
                 "Resource":["acs:oss:*:*:app/users/alice/*"]},
                {"Effect":"Allow","Action":["oss:ListObjects"],"Resource":["acs:oss:*:*:app"],
                 "Condition":{"StringLike":{"oss:Prefix":["users/alice/*"]}}},
                {"Effect":"Deny","Action":["oss:PutObjectAcl","oss:PutBucket*","oss:DeleteBucket*"],
                 "Resource":["acs:oss:*:*:app","acs:oss:*:*:app/*"]}]})
        );
        stsgate_policy::parse(&render(&g, &prefix)).unwrap();
    }

    #[test]
    fn write_only_grant_has_no_list_statement() {
        let mut c = default_grants()[0].clone();
        c.actions = vec!["write".into()];
        let g = Grant::from_config(&c).unwrap();
        let policy = render(&g, "users/bob/");
        assert!(!policy.contains("ListObjects") && !policy.contains("GetObject"));
    }

    #[test]
    fn source_ips_are_rendered_and_enforced() {
        let mut c = default_grants()[0].clone();
        c.source_ips = Some(vec!["10.0.0.0/8".into(), "127.0.0.1/32".into()]);
        let g = Grant::from_config(&c).unwrap();
        let text = render(&g, "users/a/");
        let policy: Value = serde_json::from_str(&text).unwrap();
        for st in policy["Statement"].as_array().unwrap() {
            let allow = st["Effect"] == "Allow";
            assert_eq!(
                st["Condition"]["IpAddress"]["acs:SourceIp"],
                if allow {
                    json!(["10.0.0.0/8", "127.0.0.1/32"])
                } else {
                    Value::Null
                },
                "the Deny holds from every address"
            );
        }
        assert!(policy["Statement"][1]["Condition"]["StringLike"].is_object());
        let parsed = stsgate_policy::parse(&text).unwrap();
        let decide = |ip: Option<&str>| {
            let context = context(ip.map(|i| i.parse().unwrap()));
            parsed.evaluate(&stsgate_policy::Request {
                action: "oss:GetObject",
                resource: "acs:oss:cn-hangzhou:1:app/users/a/x",
                context: &context,
            })
        };
        assert_eq!(decide(Some("127.0.0.1")), stsgate_policy::Decision::Allow);
        assert_eq!(
            decide(Some("192.0.2.1")),
            stsgate_policy::Decision::ImplicitDeny
        );
        assert_eq!(decide(None), stsgate_policy::Decision::ImplicitDeny);
        // No conditions: nothing added.
        assert!(!render(&user_folder(), "users/a/").contains("IpAddress"));
    }

    #[test]
    fn object_acls_and_bucket_settings_are_denied_unless_the_grant_names_acl() {
        let decide = |g: &Grant, action: &str, resource: &str| {
            let parsed = stsgate_policy::parse(&render(g, "users/a/")).unwrap();
            let context = context(None);
            parsed.evaluate(&stsgate_policy::Request {
                action,
                resource,
                context: &context,
            })
        };
        use stsgate_policy::Decision::{Allow, ExplicitDeny};
        let object = "acs:oss:cn-hangzhou:1:app/users/a/x";
        let g = user_folder();
        assert_eq!(decide(&g, "oss:PutObject", object), Allow);
        for (action, resource) in [
            ("oss:PutObjectAcl", object),
            ("oss:PutBucketAcl", "acs:oss:cn-hangzhou:1:app"),
            ("oss:PutBucketCors", "acs:oss:cn-hangzhou:1:app"),
            ("oss:PutBucketLifecycle", "acs:oss:cn-hangzhou:1:app"),
            ("oss:DeleteBucketCors", "acs:oss:cn-hangzhou:1:app"),
        ] {
            assert_eq!(decide(&g, action, resource), ExplicitDeny, "{action}");
        }
        let mut c = default_grants()[0].clone();
        c.actions.push("acl".into());
        let with_acl = Grant::from_config(&c).unwrap();
        assert_eq!(decide(&with_acl, "oss:PutObjectAcl", object), Allow);
        assert_eq!(
            decide(&with_acl, "oss:PutBucketAcl", "acs:oss:cn-hangzhou:1:app"),
            ExplicitDeny
        );
        assert!(
            render(&with_acl, &with_acl.worst_case_prefix()).len()
                <= crate::aliyun::provider::MAX_POLICY_BYTES
        );
    }

    #[test]
    fn bucket_settings_need_the_settings_action_and_never_reach_acl_or_delete() {
        let mut c = default_grants()[0].clone();
        c.actions = ["read", "write", "list", "delete", "acl", "settings"]
            .map(String::from)
            .to_vec();
        c.source_ips = Some(vec!["10.0.0.0/8".into(), "192.168.0.0/16".into()]);
        let g = Grant::from_config(&c).unwrap();
        let parsed = stsgate_policy::parse(&render(&g, "users/a/")).unwrap();
        let decide = |action: &str, resource: &str| {
            let context = context(Some("10.0.0.1".parse().unwrap()));
            parsed.evaluate(&stsgate_policy::Request {
                action,
                resource,
                context: &context,
            })
        };
        use stsgate_policy::Decision::{Allow, ExplicitDeny, ImplicitDeny};
        let bucket = "acs:oss:cn-hangzhou:1:app";
        for action in SETTINGS {
            assert_eq!(decide(action, bucket), Allow, "{action}");
            assert_eq!(decide(action, "acs:oss:cn-hangzhou:1:other"), ImplicitDeny);
        }
        assert_eq!(decide("oss:PutBucketAcl", bucket), ExplicitDeny);
        assert_eq!(decide("oss:DeleteBucket", bucket), ExplicitDeny);
        // Not a setting: bounded by the Allow statements.
        assert_eq!(decide("oss:PutBucketVersioning", bucket), ImplicitDeny);
        let worst = render(&g, &g.worst_case_prefix());
        assert!(
            worst.len() <= crate::aliyun::provider::MAX_POLICY_BYTES,
            "{}",
            worst.len()
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]
        /// Whatever the claim, a rendered policy's resources stay under `app/users/<one segment>/`.
        #[test]
        fn arbitrary_claims_never_escape_the_prefix(sub in ".{0,40}|[a-z./*?@-]{0,12}") {
            let g = user_folder();
            if let Ok(prefix) = g.prefix(&claims(&sub)) {
                prop_assert_eq!(&prefix, &format!("users/{sub}/"));
                let inner = &prefix["users/".len()..prefix.len() - 1];
                prop_assert!(!inner.is_empty() && !inner.contains('/'));
                prop_assert!(!inner.contains('*') && !inner.contains('?') && !inner.contains(".."));
                let policy: Value = serde_json::from_str(&render(&g, &prefix)).unwrap();
                for st in policy["Statement"].as_array().unwrap() {
                    if st["Effect"] == "Deny" {
                        continue;
                    }
                    for r in st["Resource"].as_array().unwrap() {
                        let r = r.as_str().unwrap();
                        let object = format!("acs:oss:*:*:app/{}*", prefix);
                        prop_assert!(r == "acs:oss:*:*:app" || r == object, "{}", r);
                    }
                }
            }
        }
    }
}
