//! The api face's `POST /v1/sign` and `/auth/custom`: an OSS V1 string-to-sign from the caller
//! is parsed (`stsgate::api::sign::parse`), rendered back, and checked against a fixed grant
//! (`check`) — what decides whether stsgate signs it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stsgate::api::grants::Bundle;
use stsgate::api::sign::{self, Allowed};
use stsgate_fuzz::NOW;

const BUCKET: &str = "app";
const PREFIX: &str = "users/alice/";
const TOKEN: &str = "CAIStok";
const ALL: &[Bundle] = &[
    Bundle::Read,
    Bundle::Write,
    Bundle::List,
    Bundle::Delete,
    Bundle::Acl,
];
const READ: &[Bundle] = &[Bundle::Read, Bundle::List];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(parsed) = sign::parse(text) else {
        return;
    };
    // Kept verbatim: `parse(s)?.render() == s`, and so `parse(render(p)) == p`.
    let rendered = parsed.render();
    assert_eq!(rendered, text);
    assert_eq!(sign::parse(&rendered).as_ref(), Ok(&parsed));

    for bundles in [ALL, READ] {
        for long_term in [false, true] {
            let allowed = Allowed {
                bucket: BUCKET,
                prefix: PREFIX,
                bundles,
                token: TOKEN,
                max_expires: 3600,
                long_term,
            };
            if sign::check(&parsed, &allowed, NOW).is_ok() {
                inside_grant(&parsed, long_term);
            }
        }
    }

    // What /v1/sign signs: the token added where the oss face looks for it, still parseable.
    let mut with_token = parsed.clone();
    with_token.add_token(TOKEN);
    let signed = with_token.render();
    assert_eq!(sign::parse(&signed).as_ref(), Ok(&with_token), "{signed:?}");
    let _ = parsed.expires();
});

/// Whatever `check` lets through stays inside the grant: the grant's bucket, and a key under the
/// prefix (or, with temporary credentials only, a listing of the bucket).
fn inside_grant(p: &sign::Parsed, long_term: bool) {
    assert!(p.bucket.as_deref().is_none_or(|b| b == BUCKET), "{p:?}");
    match &p.key {
        Some(key) => {
            assert!(key.starts_with(PREFIX), "{p:?}");
            assert!(!key.split('/').any(|s| s == ".." || s == "."), "{p:?}");
        }
        None => {
            assert!(!long_term, "{p:?}");
            assert_eq!(p.bucket.as_deref(), Some(BUCKET), "{p:?}");
            assert_eq!(p.verb, "GET", "{p:?}");
        }
    }
    for (name, value) in &p.headers {
        if name == "x-oss-security-token" {
            assert_eq!(value, TOKEN);
        }
    }
}
