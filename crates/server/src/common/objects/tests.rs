//! Ranges, request-body announcements and standard metadata, through `check()` helpers.

use super::*;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]
    /// Any Range header on any size either is refused or names bytes inside the object.
    #[test]
    fn ranges_stay_inside_the_object(value in "(bytes=)?[0-9 ,-]{0,12}|.{0,20}", size in 0u64..1000, standard: bool) {
        if let Ok(r) = parse_range(&value, size, standard) {
            prop_assert!(r.start <= r.end && r.end < size, "{value} on {size}: {r:?}");
        }
    }
}

fn check(value: &str, size: u64, standard: bool, expected: Result<(u64, u64), RangeError>) {
    let got = parse_range(value, size, standard).map(|r| (r.start, r.end));
    assert_eq!(
        got, expected,
        "{value} on {size} bytes (standard={standard})"
    );
}

#[test]
fn ranges() {
    check("bytes=0-9", 100, false, Ok((0, 9)));
    check("bytes=90-", 100, false, Ok((90, 99)));
    check("bytes=-10", 100, false, Ok((90, 99)));
    check("bytes=-1000", 100, false, Ok((0, 99)));
    check("bytes=5-5,10-20", 100, false, Ok((5, 5)));
    check("bytes=50-200", 100, false, Err(RangeError::Invalid));
    check("bytes=50-200", 100, true, Ok((50, 99)));
    check("bytes=100-", 100, false, Err(RangeError::Unsatisfiable));
    check("bytes=9-0", 100, false, Err(RangeError::Invalid));
    check("bytes=a-b", 100, false, Err(RangeError::Invalid));
    check("items=0-1", 100, false, Err(RangeError::Invalid));
    check("bytes=-", 100, false, Err(RangeError::Invalid));
    check("bytes=-0", 100, false, Err(RangeError::Unsatisfiable));
    check("bytes=0-", 0, false, Err(RangeError::Unsatisfiable));
}

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, v.parse().unwrap());
    }
    h
}

#[test]
fn bodies_are_announced_by_length_or_transfer_encoding() {
    assert!(request_has_body(&headers(&[("content-length", "4")])));
    assert!(request_has_body(&headers(&[(
        "transfer-encoding",
        "chunked"
    )])));
    assert!(!request_has_body(&headers(&[("content-length", "0")])));
    assert!(!request_has_body(&headers(&[])));
}

#[test]
fn standard_meta_drops_empty_values_and_sorts_user_meta() {
    let h = headers(&[
        ("content-type", "text/plain"),
        ("cache-control", ""),
        ("x-cos-meta-b", " 2 "),
        ("x-cos-meta-a", "1"),
        ("x-oss-meta-c", "3"),
    ]);
    let meta = standard_meta(&h, "x-cos-meta-").unwrap();
    assert_eq!(meta.content_type.as_deref(), Some("text/plain"));
    assert_eq!(meta.cache_control, None);
    assert_eq!(
        meta.user_meta,
        vec![("a".into(), "1".into()), ("b".into(), "2".into())]
    );
}
