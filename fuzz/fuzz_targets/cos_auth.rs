//! COS q-sign authorization: the `Authorization` header, the same fields in a presigned URL's
//! query, and the `q-sign-time`/`q-key-time` windows (what `stsgate::tencent::auth` reads before
//! any signature is computed).
#![no_main]

use libfuzzer_sys::fuzz_target;
use stsgate::tencent::endpoint::virtual_host_bucket;
use stsgate_signing::cos::{self, Authorization, KeyTime};
use stsgate_signing::encode::decode_query;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };

    if let Ok(auth) = Authorization::parse(text) {
        check(&auth);
        // The header form's values are trimmed, so it also reads back from its header text.
        let header = auth.to_string();
        assert_eq!(
            Authorization::parse(&header).as_ref(),
            Ok(&auth),
            "{header:?}"
        );
    }
    let query = decode_query(text);
    if let Ok(auth) = Authorization::from_query(&query) {
        check(&auth);
    }

    if let Some(window) = KeyTime::parse(text) {
        assert_eq!(KeyTime::parse(&window.to_string()), Some(window));
        let _ = window.contains(stsgate_fuzz::NOW);
    }

    let _ = cos::host_without_port(text);
    let _ = virtual_host_bucket(text);
});

/// A parsed authorization has its required fields and valid windows, and reads back the same
/// from its presigned-query form.
fn check(auth: &Authorization) {
    assert!(!auth.access_key_id.is_empty() && !auth.signature.is_empty());
    assert!(KeyTime::parse(&auth.sign_time).is_some());
    assert!(KeyTime::parse(&auth.key_time).is_some());
    let query = auth.to_query();
    let decoded = decode_query(&query);
    assert_eq!(
        Authorization::from_query(&decoded).as_ref(),
        Ok(auth),
        "{query:?}"
    );
    // Rebuilding the HttpString never fails when every lookup answers.
    let http_string = auth.http_string(
        "get",
        "/k",
        |name| Some(name.to_string()),
        |name| Some(name.to_string()),
    );
    assert!(http_string.is_some());
}
