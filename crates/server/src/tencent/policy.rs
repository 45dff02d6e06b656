//! A grant's scope as a CAM policy: the narrowest session policy Tencent STS and the cos face
//! understand for one caller's prefix.
//!
//! Object actions on `qcs::cos:<region>:uid/<appid>:<bucket>/<prefix>*`; listing (`GetBucket`)
//! and the multipart-upload listing the SDKs resume with (`ListMultipartUploads`) on the bucket
//! (`…:<bucket>/`, as the cos face asks) only with a `cos:prefix` condition under the prefix;
//! the grant's `source_ips` as an `ip_equal qcs:ip` condition on every statement. The prefix
//! always ends with `/` (see `common::scope`), so `users/alice/` never reaches `users/alicex/`
//! (the `startsWith` mistake of Tencent's own sample servers). Statements never carry a
//! `principal` (STS refuses one in a session policy).

use crate::common::scope::{Bundle, Grant};
use serde_json::json;

/// Tencent STS's limit on an inline `Policy`, in bytes of the decoded JSON (Tencent documents
/// none; 2048 is Alibaba's and what the SDK samples stay under).
pub const MAX_POLICY_BYTES: usize = 2048;

/// The CAM actions of a bundle on objects under the prefix.
fn object_actions(bundle: Bundle) -> &'static [&'static str] {
    match bundle {
        Bundle::Read => &[
            "name/cos:GetObject",
            "name/cos:HeadObject",
            "name/cos:GetObjectTagging",
        ],
        Bundle::Write => &[
            "name/cos:PutObject",
            "name/cos:PostObject",
            "name/cos:InitiateMultipartUpload",
            "name/cos:UploadPart",
            "name/cos:CompleteMultipartUpload",
            "name/cos:AbortMultipartUpload",
            "name/cos:ListParts",
            "name/cos:UploadPartCopy",
            "name/cos:AppendObject",
            "name/cos:PutObjectTagging",
            "name/cos:DeleteObjectTagging",
        ],
        Bundle::List | Bundle::Settings => &[],
        Bundle::Delete => &["name/cos:DeleteObject"],
        Bundle::Acl => &["name/cos:PutObjectACL", "name/cos:GetObjectACL"],
    }
}

/// The CAM actions of the `settings` bundle, on the bucket itself.
const SETTINGS: &[&str] = &[
    "name/cos:PutBucketLifecycle",
    "name/cos:GetBucketLifecycle",
    "name/cos:DeleteBucketLifecycle",
    "name/cos:PutBucketEncryption",
    "name/cos:GetBucketEncryption",
    "name/cos:DeleteBucketEncryption",
    "name/cos:PutBucketPolicy",
    "name/cos:GetBucketPolicy",
    "name/cos:DeleteBucketPolicy",
    "name/cos:PutBucketReferer",
    "name/cos:GetBucketReferer",
    "name/cos:PutBucketCORS",
    "name/cos:GetBucketCORS",
    "name/cos:DeleteBucketCORS",
];

/// What a grant's credentials may never do, said explicitly (so a broader role policy cannot
/// lend it): without the `settings` action change the bucket's settings; with it still never its
/// ACL nor delete it; without the `acl` action set an object's ACL (`PutObjectACL`, which the
/// cos face also requires of `x-cos-acl` on a write).
fn denied(grant: &Grant, bucket: &str) -> serde_json::Value {
    let mut actions = if grant.bundles.contains(&Bundle::Settings) {
        vec!["name/cos:PutBucketACL", "name/cos:DeleteBucket"]
    } else {
        vec!["name/cos:PutBucket*", "name/cos:DeleteBucket*"]
    };
    if !grant.bundles.contains(&Bundle::Acl) {
        actions.insert(0, "name/cos:PutObjectACL");
    }
    json!({"effect": "deny", "action": actions, "resource": [bucket, format!("{bucket}*")]})
}

/// The CAM actions of a bundle on the bucket itself, limited by `cos:prefix`.
fn bucket_actions(bundle: Bundle) -> &'static [&'static str] {
    match bundle {
        Bundle::List => &["name/cos:GetBucket"],
        Bundle::Write => &["name/cos:ListMultipartUploads"],
        Bundle::Read | Bundle::Delete | Bundle::Acl | Bundle::Settings => &[],
    }
}

/// `qcs::cos:<region>:uid/<appid>:<bucket>/` — the bucket resource prefix.
pub fn bucket_resource(region: &str, app_id: &str, bucket: &str) -> String {
    format!("qcs::cos:{region}:uid/{app_id}:{bucket}/")
}

/// The narrowest CAM policy for `grant` at `prefix` (already rendered for the caller), for the
/// bucket's `region` and the account's `app_id`.
pub fn render(grant: &Grant, prefix: &str, region: &str, app_id: &str) -> String {
    let bucket = bucket_resource(region, app_id, &grant.bucket);
    let mut statements = Vec::new();
    let objects: Vec<&str> = grant
        .bundles
        .iter()
        .flat_map(|b| object_actions(*b).iter().copied())
        .collect();
    if !objects.is_empty() {
        statements.push(json!({
            "effect": "allow",
            "action": objects,
            "resource": [format!("{bucket}{prefix}*")],
        }));
    }
    let listing: Vec<&str> = grant
        .bundles
        .iter()
        .flat_map(|b| bucket_actions(*b).iter().copied())
        .collect();
    if !listing.is_empty() {
        statements.push(json!({
            "effect": "allow",
            "action": listing,
            "resource": [bucket],
            "condition": {"string_like": {"cos:prefix": [format!("{prefix}*")]}},
        }));
    }
    if grant.bundles.contains(&Bundle::Settings) {
        statements.push(json!({"effect": "allow", "action": SETTINGS, "resource": [bucket]}));
    }
    if !grant.source_ips.is_empty() {
        let ips: Vec<String> = grant.source_ips.iter().map(|c| c.to_string()).collect();
        for st in &mut statements {
            st.as_object_mut()
                .expect("a statement is an object")
                .entry("condition")
                .or_insert_with(|| json!({}))["ip_equal"] = json!({"qcs:ip": ips});
        }
    }
    // After the source-IP conditions: the deny holds from every address.
    statements.push(denied(grant, &bucket));
    json!({"version": "2.0", "statement": statements}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::scope::default_grants;
    use proptest::prelude::*;
    use serde_json::{Map, Value};
    use stsgate_policy::{Context, Decision, Request};

    const REGION: &str = "ap-guangzhou";
    const APPID: &str = "1250000000";

    fn grant(actions: &[&str], ips: &[&str]) -> Grant {
        let mut c = default_grants()[0].clone();
        c.bucket = "app-1250000000".into();
        c.vendor = Some("tencent".into());
        c.actions = actions.iter().map(|s| s.to_string()).collect();
        if !ips.is_empty() {
            c.source_ips = Some(ips.iter().map(|s| s.to_string()).collect());
        }
        Grant::from_config(&c).unwrap()
    }

    fn claims(sub: &str) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("sub".into(), Value::String(sub.into()));
        m
    }

    fn context(ip: Option<&str>, prefix: Option<&str>) -> Context {
        Context {
            source_ip: ip.map(|i| i.parse().unwrap()),
            current_time: time::OffsetDateTime::now_utc(),
            secure_transport: false,
            user_agent: None,
            access_key_id: None,
            prefix: prefix.map(str::to_string),
            delimiter: None,
            existing_object_tags: None,
            request_object_tags: None,
        }
    }

    /// The decision for `action` on `key` (`None`: the bucket) with a list `prefix`.
    fn decide(policy: &str, action: &str, key: Option<&str>, prefix: Option<&str>) -> Decision {
        let parsed = stsgate_policy::parse_cam(policy).unwrap();
        let bucket = bucket_resource(REGION, APPID, "app-1250000000");
        let resource = format!("{bucket}{}", key.unwrap_or(""));
        parsed.evaluate(&Request {
            action,
            resource: &resource,
            context: &context(Some("127.0.0.1"), prefix),
        })
    }

    #[test]
    fn object_acls_and_bucket_settings_are_denied_unless_the_grant_names_acl() {
        let g = grant(&["read", "write", "list", "delete"], &["10.0.0.0/8"]);
        let policy = render(&g, "users/a/", REGION, APPID);
        let key = Some("users/a/x");
        assert_eq!(
            decide(&policy, "cos:PutObjectACL", key, None),
            Decision::ExplicitDeny
        );
        for action in [
            "cos:PutBucketACL",
            "cos:PutBucketCORS",
            "cos:PutBucketLifecycle",
            "cos:DeleteBucketCORS",
        ] {
            assert_eq!(
                decide(&policy, action, None, None),
                Decision::ExplicitDeny,
                "{action}"
            );
        }
        let with_acl = grant(&["read", "write", "acl"], &[]);
        let policy = render(&with_acl, "users/a/", REGION, APPID);
        assert_eq!(
            decide(&policy, "cos:PutObjectACL", key, None),
            Decision::Allow
        );
        assert_eq!(
            decide(&policy, "cos:PutBucketACL", None, None),
            Decision::ExplicitDeny
        );
        assert!(
            render(&with_acl, &with_acl.worst_case_prefix(), REGION, APPID).len()
                <= MAX_POLICY_BYTES
        );
    }

    #[test]
    fn bucket_settings_need_the_settings_action_and_never_reach_acl_or_delete() {
        let all = ["read", "write", "list", "delete", "acl", "settings"];
        let g = grant(&all, &["127.0.0.0/8", "10.0.0.0/8"]);
        let policy = render(&g, "users/a/", REGION, APPID);
        for action in SETTINGS {
            let action = action.strip_prefix("name/").unwrap();
            assert_eq!(
                decide(&policy, action, None, None),
                Decision::Allow,
                "{action}"
            );
        }
        for action in ["cos:PutBucketACL", "cos:DeleteBucket"] {
            assert_eq!(
                decide(&policy, action, None, None),
                Decision::ExplicitDeny,
                "{action}"
            );
        }
        // Not a setting: bounded by the allow statements.
        assert_eq!(
            decide(&policy, "cos:PutBucketVersioning", None, None),
            Decision::ImplicitDeny
        );
        // The settings are the grant's bucket's only.
        let parsed = stsgate_policy::parse_cam(&policy).unwrap();
        let other = bucket_resource(REGION, APPID, "other-1250000000");
        let at_other = parsed.evaluate(&Request {
            action: "cos:PutBucketLifecycle",
            resource: &other,
            context: &context(Some("127.0.0.1"), None),
        });
        assert_ne!(at_other, Decision::Allow);
        let worst = render(&g, &g.worst_case_prefix(), REGION, APPID);
        assert!(worst.len() <= MAX_POLICY_BYTES, "{}", worst.len());
    }

    #[test]
    fn renders_the_narrowest_policy() {
        let g = grant(&["read", "write", "list", "delete"], &[]);
        let prefix = g.prefix(&claims("alice")).unwrap();
        let policy: Value = serde_json::from_str(&render(&g, &prefix, REGION, APPID)).unwrap();
        assert_eq!(policy["version"], "2.0");
        assert_eq!(
            policy["statement"][0]["resource"],
            serde_json::json!([
                "qcs::cos:ap-guangzhou:uid/1250000000:app-1250000000/users/alice/*"
            ])
        );
        assert_eq!(
            policy["statement"][1]["condition"],
            serde_json::json!({"string_like": {"cos:prefix": ["users/alice/*"]}})
        );
        assert!(policy.get("principal").is_none());
    }

    #[test]
    fn the_prefix_boundary_is_exact() {
        let g = grant(&["read", "write", "list", "delete"], &[]);
        let p = render(&g, "users/alice/", REGION, APPID);
        let allow = Decision::Allow;
        assert_eq!(
            decide(&p, "cos:GetObject", Some("users/alice/a.txt"), None),
            allow
        );
        assert_eq!(
            decide(&p, "cos:PutObject", Some("users/alice/d/e"), None),
            allow
        );
        for outside in [
            "users/alicex/a.txt",
            "users/alice",
            "users/bob/a",
            "Users/alice/a",
        ] {
            assert_ne!(
                decide(&p, "cos:GetObject", Some(outside), None),
                allow,
                "{outside}"
            );
        }
        assert_eq!(
            decide(&p, "cos:GetBucket", None, Some("users/alice/")),
            allow
        );
        assert_eq!(
            decide(&p, "cos:GetBucket", None, Some("users/alice/x")),
            allow
        );
        for outside in [Some("users/alicex/"), Some("users/"), Some(""), None] {
            assert_ne!(
                decide(&p, "cos:GetBucket", None, outside),
                allow,
                "{outside:?}"
            );
        }
        assert_eq!(
            decide(&p, "cos:ListMultipartUploads", None, Some("users/alice/k")),
            allow
        );
        assert_ne!(decide(&p, "cos:DeleteBucket", None, None), allow);
    }

    #[test]
    fn bundles_and_source_ips() {
        let read = render(&grant(&["read"], &[]), "users/a/", REGION, APPID);
        assert_eq!(
            decide(&read, "cos:HeadObject", Some("users/a/x"), None),
            Decision::Allow
        );
        assert_ne!(
            decide(&read, "cos:PutObject", Some("users/a/x"), None),
            Decision::Allow
        );
        assert!(!read.contains("GetBucket"));
        let fenced = render(
            &grant(&["read"], &["10.0.0.0/8"]),
            "users/a/",
            REGION,
            APPID,
        );
        let parsed = stsgate_policy::parse_cam(&fenced).unwrap();
        let resource = format!(
            "{}users/a/x",
            bucket_resource(REGION, APPID, "app-1250000000")
        );
        let at = |ip| {
            parsed.evaluate(&Request {
                action: "cos:GetObject",
                resource: &resource,
                context: &context(Some(ip), None),
            })
        };
        assert_eq!(at("10.1.2.3"), Decision::Allow);
        assert_ne!(at("127.0.0.1"), Decision::Allow);
    }

    #[test]
    fn the_worst_case_fits_the_limit() {
        let g = grant(
            &["read", "write", "list", "delete"],
            &["10.0.0.0/8", "192.168.0.0/16"],
        );
        let worst = render(&g, &g.worst_case_prefix(), REGION, APPID);
        assert!(worst.len() <= MAX_POLICY_BYTES, "{}", worst.len());
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
        /// Whatever the claim, the policy parses and reaches only the caller's own folder.
        #[test]
        fn arbitrary_claims_stay_inside(sub in "[a-z0-9._@-]{1,20}", other in "[a-z0-9._@-]{1,20}") {
            let g = grant(&["read", "list"], &[]);
            if let Ok(prefix) = g.prefix(&claims(&sub)) {
                let p = render(&g, &prefix, REGION, APPID);
                let mine = format!("{prefix}f");
                prop_assert_eq!(decide(&p, "cos:GetObject", Some(&mine), None), Decision::Allow);
                if other != sub {
                    let theirs = format!("users/{other}/f");
                    prop_assert_ne!(decide(&p, "cos:GetObject", Some(&theirs), None), Decision::Allow);
                }
            }
        }
    }
}
