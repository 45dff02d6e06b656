//! OSS request authentication, the parsing half: the V1 header `OSS ak:sig`, the V4 header
//! `OSS4-HMAC-SHA256 Credential=…,AdditionalHeaders=…,Signature=…`, the V4 credential scope and
//! `x-oss-date`, and the fields a V4 presigned URL carries in its query (what
//! `stsgate::aliyun::auth` reads before any signature is computed).
#![no_main]

use libfuzzer_sys::fuzz_target;
use stsgate::aliyun::auth::parse_v4_date;
use stsgate_signing::encode::decode_query;
use stsgate_signing::{oss_v1, oss_v4};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };

    if let Some((ak, signature)) = oss_v1::parse_authorization(text) {
        assert!(!ak.is_empty() && !signature.is_empty());
        assert_eq!(ak.trim(), ak);
        assert_eq!(signature.trim(), signature);
        // What was read is what a client writing those two values would send.
        let again = oss_v1::parse_authorization(&format!("OSS {ak}:{signature}"));
        assert_eq!(again, Some((ak, signature)));
    }

    if let Some(credential) = oss_v4::Credential::parse(text) {
        check_credential(&credential);
    }

    if let Some(auth) = oss_v4::Authorization::parse(text) {
        check_credential(&auth.credential);
        assert!(!auth.signature.is_empty());
        for name in &auth.additional_headers {
            assert!(!name.is_empty() && !name.contains(';'));
            assert_eq!(name.to_ascii_lowercase(), *name);
        }
    }

    if let Ok(when) = parse_v4_date(text) {
        let _ = when.unix_timestamp();
    }

    // The V4 presigned-URL form: the same fields as query parameters.
    let query = decode_query(text);
    for (name, value) in &query {
        match name.as_str() {
            "x-oss-credential" => {
                if let Some(credential) = oss_v4::Credential::parse(value) {
                    check_credential(&credential);
                }
            }
            "x-oss-date" => {
                let _ = parse_v4_date(value);
            }
            "x-oss-additional-headers" => {
                let _ = oss_v4::split_header_names(value);
            }
            _ => {}
        }
    }
});

/// A parsed scope is well formed and prints back to what parses to it.
fn check_credential(credential: &oss_v4::Credential) {
    assert_eq!(credential.date.len(), 8);
    assert!(credential.date.bytes().all(|b| b.is_ascii_digit()));
    let text = format!("{}/{}", credential.access_key_id, credential.scope());
    assert_eq!(oss_v4::Credential::parse(&text).as_ref(), Some(credential));
}
