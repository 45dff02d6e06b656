//! XML request bodies and the XML of upstream answers: `<CORSConfiguration>` (PutBucketCors, and
//! leniently GetBucketCors answers), `<CompleteMultipartUpload>`, `<Delete>`, COS's
//! `<AccessControlPolicy>`, `<Error>` documents, and the reader below them all
//! (`stsgate::common::xml::parse_document`). Every parser gets every input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stsgate::common::{rest_xml, xml};

fuzz_target!(|data: &[u8]| {
    if let Ok(config) = xml::parse_cors(data) {
        assert!((1..=xml::MAX_CORS_RULES).contains(&config.rules.len()));
        // What GetBucketCors answers reads back, strictly and leniently, as what was stored.
        let rendered = xml::cors(&config);
        assert_eq!(
            xml::parse_cors(rendered.as_bytes()).as_ref(),
            Ok(&config),
            "{rendered}"
        );
        assert_eq!(
            rest_xml::parse_cors(rendered.as_bytes()).as_ref(),
            Ok(&config),
            "{rendered}"
        );
        // What PutBucketCors sends to COS (no ResponseVary there) reads back to the same rules.
        let sent = stsgate::tencent::client::render_cors(&config);
        let read = rest_xml::parse_cors(sent.as_bytes()).map(|c| c.rules);
        assert_eq!(read.as_ref(), Ok(&config.rules), "{sent}");
    }

    if let Ok(parts) = xml::parse_complete_multipart(data) {
        assert!(!parts.is_empty() && parts.len() <= xml::MAX_PART_NUMBER as usize);
        assert!(parts
            .iter()
            .all(|(n, _)| (1..=xml::MAX_PART_NUMBER).contains(n)));
    }

    if let Ok((_quiet, keys)) = xml::parse_delete(data) {
        assert!(!keys.is_empty() && keys.len() <= xml::MAX_DELETE_KEYS);
        assert!(keys.iter().all(|k| !k.is_empty()));
    }

    for root in ["CORSConfiguration", "Delete", "Tagging"] {
        if let Ok(element) = xml::parse_document(data, root) {
            assert_eq!(element.name, root);
        }
    }

    let _ = stsgate::tencent::xml::parse_acl(data);

    let fields = rest_xml::parse_error_xml(data);
    let _ = rest_xml::field(fields.as_deref(), "Code");
    let _ = rest_xml::parse_cors(data);
    let _ = stsgate::aliyun::client::parse_error(403, &[], data);
    let _ = stsgate::tencent::client::parse_error(403, &[], data);
});
