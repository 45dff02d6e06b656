//! The documents of issue 15's bucket and object settings: `<LifecycleConfiguration>`,
//! `<RefererConfiguration>` (and matching a referer against it), `<ServerSideEncryptionRule>`,
//! `<Tagging>` bodies and `x-oss-tagging` headers, and OSS bucket policies (JSON with
//! principals); COS's `<LifecycleConfiguration>` and `<ServerSideEncryptionConfiguration>`. What parses renders and parses back to the same thing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stsgate::aliyun::xml;
use stsgate::common::tagging;

fuzz_target!(|data: &[u8]| {
    for allow_overlap in [false, true] {
        if let Ok(rules) = xml::parse_lifecycle(data, allow_overlap) {
            assert!(!rules.is_empty() && rules.len() <= stsgate_store::MAX_RULES);
            let rendered = xml::lifecycle(&rules);
            assert_eq!(xml::parse_lifecycle(rendered.as_bytes(), true).as_ref(), Ok(&rules), "{rendered}");
        }
    }
    if let Ok(config) = xml::parse_referer(data) {
        let rendered = xml::referer(&config);
        assert_eq!(xml::parse_referer(rendered.as_bytes()).as_ref(), Ok(&config), "{rendered}");
        let text = String::from_utf8_lossy(data);
        let _ = config.refuses(Some(&text));
    }
    let _ = xml::parse_encryption_rule(data);
    // The cos face's words for the same settings.
    if let Ok(rules) = stsgate::tencent::xml::parse_lifecycle(data) {
        let rendered = stsgate::tencent::xml::lifecycle(&rules);
        assert_eq!(stsgate::tencent::xml::parse_lifecycle(rendered.as_bytes()).as_ref(), Ok(&rules), "{rendered}");
    }
    let _ = stsgate::tencent::xml::parse_encryption_configuration(data);
    if let Ok(tags) = tagging::parse_xml(data) {
        assert!(tags.len() <= tagging::MAX_TAGS);
        assert_eq!(tagging::parse_xml(tagging::render(&tags).as_bytes()), Ok(tags));
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(tags) = tagging::parse_header(text) {
            assert!(tagging::validate(&tags).is_ok());
        }
        let _ = stsgate_policy::parse_bucket_policy(text);
    }
});
