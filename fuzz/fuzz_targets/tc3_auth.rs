//! Tencent Cloud API 3.0 (`TC3-HMAC-SHA256`) authorization, the parsing half the tc-sts face runs
//! before any signature: the `Authorization` header, its credential scope, and the scope's check
//! against `X-TC-Timestamp`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stsgate::tencent::sts::auth::{check_scope, check_window};
use stsgate_signing::tc3;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };

    if let Some(credential) = tc3::Credential::parse(text) {
        check_credential(&credential);
    }

    if let Some(auth) = tc3::Authorization::parse(text) {
        check_credential(&auth.credential);
        assert!(!auth.signed_headers.is_empty() && !auth.signature.is_empty());
        // `Display` writes the header in the SDKs' shape; it reads back the same.
        let written = auth.to_string();
        assert_eq!(tc3::Authorization::parse(&written).as_ref(), Some(&auth));
        // The scope check against each line of the input that reads as an X-TC-Timestamp.
        for line in text.lines() {
            if let Ok(timestamp) = line.trim().parse::<i64>() {
                let _ = check_scope(&auth.credential, timestamp);
                let _ = check_window(timestamp, stsgate_fuzz::NOW);
            }
        }
    }

    // The date of a timestamp, for any i64 (what the scope is compared with).
    if data.len() >= 8 {
        let timestamp = i64::from_le_bytes(data[..8].try_into().expect("8 bytes"));
        if let Some(date) = tc3::date_of(timestamp) {
            assert_eq!(date.len(), 10);
        }
        let _ = check_window(timestamp, stsgate_fuzz::NOW);
    }
});

fn check_credential(credential: &tc3::Credential) {
    assert_eq!(credential.date.len(), 10);
    let text = format!("{}/{}", credential.secret_id, credential.scope());
    assert_eq!(tc3::Credential::parse(&text).as_ref(), Some(credential));
}
