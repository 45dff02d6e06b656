//! PostObject policy documents (browser form uploads): the base64 `policy` field OSS forms carry
//! (`stsgate_signing::post::PostPolicy::parse_base64`), the decoded JSON text COS signs
//! (`parse_text`, `cos_post::parse_policy`), and the checks of a fixed form against what parsed.
#![no_main]

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use stsgate_fuzz::now;
use stsgate_signing::cos_post;
use stsgate_signing::post::PostPolicy;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let fields: Vec<(String, String)> = [
        ("bucket", "app"),
        ("key", "users/alice/photo.png"),
        ("Content-Type", "image/png"),
        ("success_action_status", "201"),
        ("x-oss-meta-owner", "alice"),
        ("q-sign-algorithm", "sha1"),
        ("q-ak", "AKIDEXAMPLE"),
        ("q-key-time", "1700000000;1700003600"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();

    // The input as the base64 field itself.
    if let Ok(policy) = PostPolicy::parse_base64(text) {
        check(&policy, &fields);
    }
    if let Ok((decoded, policy)) = cos_post::parse_policy(text) {
        assert_eq!(PostPolicy::parse_text(&decoded).as_ref(), Ok(&policy));
    }

    // The input as the JSON text: the same answer whether sent as text or as base64.
    let parsed = PostPolicy::parse_text(text);
    let encoded = STANDARD.encode(text);
    assert_eq!(PostPolicy::parse_base64(&encoded), parsed);
    match cos_post::parse_policy(&encoded) {
        Ok((decoded, policy)) => {
            assert_eq!(decoded, text);
            assert_eq!(Ok(policy), parsed);
        }
        Err(e) => assert_eq!(Err(e), parsed),
    }
    if let Ok(policy) = &parsed {
        check(policy, &fields);
    }
});

fn check(policy: &PostPolicy, fields: &[(String, String)]) {
    let _ = policy.check_fields(fields, now());
    let _ = policy.check_fields(&[], now());
    let _ = cos_post::check(policy, fields, now());
    if let Some((min, max)) = policy.content_length_range() {
        let _ = min <= max;
    }
    for condition in &policy.conditions {
        assert!(!condition.render().is_empty());
        let _ = condition.field();
    }
}
