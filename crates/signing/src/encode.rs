//! Percent-encodings shared by the Alibaba schemes, and lenient decoding of what clients send.

use percent_encoding::{percent_decode, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but the RFC 3986 unreserved characters `A-Z a-z 0-9 - _ . ~`.
const STRICT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// [`STRICT`] keeping `/`.
const STRICT_KEEP_SLASH: &AsciiSet = &STRICT.remove(b'/');

/// POP percent-encoding (RFC 3986 strict): keep `A-Z a-z 0-9 - _ . ~`, every other UTF-8 byte
/// becomes `%XX` with uppercase hex. Space → `%20`, `*` → `%2A`, `/` → `%2F`.
pub fn pe(s: &str) -> String {
    encode(s, false)
}

/// OSS V4 encoding: identical to [`pe`] except that `/` is kept when `keep_slash` is true.
pub fn v4enc(s: &str, keep_slash: bool) -> String {
    encode(s, keep_slash)
}

fn encode(s: &str, keep_slash: bool) -> String {
    let set = match keep_slash {
        true => STRICT_KEEP_SLASH,
        false => STRICT,
    };
    utf8_percent_encode(s, set).to_string()
}

/// Decodes a raw query string the way OSS and POP servers do: split on `&`, split each item on
/// the first `=`, percent-decode name and value treating `+` as space. `k` and `k=` both give
/// `("k", "")`. Empty items (from `&&`) are skipped. Invalid `%` escapes are kept literally;
/// invalid UTF-8 after decoding is replaced lossily. Order is preserved.
pub fn decode_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|item| !item.is_empty())
        .map(|item| {
            let (name, value) = item.split_once('=').unwrap_or((item, ""));
            (decode_query_component(name), decode_query_component(value))
        })
        .collect()
}

/// `+` becomes a space first (a literal plus arrives as `%2B`), then `%XX` escapes are decoded.
fn decode_query_component(s: &str) -> String {
    if !s.contains('+') {
        // The common case, without the copy that replacing would make.
        return percent_decode(s.as_bytes())
            .decode_utf8_lossy()
            .into_owned();
    }
    let plus_as_space = s.replace('+', " ");
    percent_decode(plus_as_space.as_bytes())
        .decode_utf8_lossy()
        .into_owned()
}

/// Percent-decodes a URI path (no `+` → space). Returns `None` if the result is not UTF-8.
pub fn decode_path(raw: &str) -> Option<String> {
    percent_decode(raw.as_bytes())
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(input: &str, expected_pe: &str) {
        assert_eq!(pe(input), expected_pe, "pe({input:?})");
        assert_eq!(
            v4enc(input, false),
            expected_pe,
            "v4enc({input:?}, false) must equal pe"
        );
    }

    fn check_query(raw: &str, expected: &[(&str, &str)]) {
        let got = decode_query(raw);
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(got, expected, "decode_query({raw:?})");
    }

    #[test]
    fn pe_keeps_only_unreserved() {
        check("", "");
        check("AZaz09-_.~", "AZaz09-_.~");
        check("a b", "a%20b");
        check("a+b", "a%2Bb");
        check("*", "%2A");
        check("~", "~");
        check("/", "%2F");
        check("=&", "%3D%26");
        check("%", "%25");
        check("é", "%C3%A9");
        check("阿里", "%E9%98%BF%E9%87%8C");
        check("\u{0}\u{7f}", "%00%7F");
    }

    #[test]
    fn v4enc_keeps_slash_only_when_asked() {
        assert_eq!(
            v4enc("/bucket/1234+-/123/1.txt", true),
            "/bucket/1234%2B-/123/1.txt"
        );
        assert_eq!(v4enc("a/b c", true), "a/b%20c");
        assert_eq!(v4enc("a/b", false), "a%2Fb");
    }

    #[test]
    fn decode_query_cases() {
        check_query("", &[]);
        check_query("a=1&b=2", &[("a", "1"), ("b", "2")]);
        check_query("a+b=c+d", &[("a b", "c d")]);
        check_query("a=%2B", &[("a", "+")]);
        check_query("k&k2=", &[("k", ""), ("k2", "")]);
        check_query("a=1&&b=2&", &[("a", "1"), ("b", "2")]);
        check_query("a=b=c", &[("a", "b=c")]);
        check_query("a=%zz%4&b=%", &[("a", "%zz%4"), ("b", "%")]);
        check_query("a=%E9%98%BF", &[("a", "阿")]);
        check_query("a=%FF", &[("a", "\u{FFFD}")]);
        check_query("=v", &[("", "v")]);
        check_query("prefix=a+b%2Bc%2F", &[("prefix", "a b+c/")]);
    }

    #[test]
    fn decode_path_cases() {
        assert_eq!(decode_path("/a%20b+c").as_deref(), Some("/a b+c"));
        assert_eq!(decode_path("/dir%2Fa.txt").as_deref(), Some("/dir/a.txt"));
        assert_eq!(decode_path("/bad%zz").as_deref(), Some("/bad%zz"));
        assert_eq!(decode_path("/%E9%98%BF").as_deref(), Some("/阿"));
        assert_eq!(decode_path("/%FF"), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn decode_query_never_panics(raw in any::<String>()) {
            let _ = decode_query(&raw);
        }

        #[test]
        fn decode_query_never_panics_on_escapes(raw in "[%a-fA-F0-9=&+]{0,40}") {
            let _ = decode_query(&raw);
        }

        #[test]
        fn decode_path_never_panics(raw in any::<String>()) {
            let _ = decode_path(&raw);
        }

        #[test]
        fn pe_then_decode_query_round_trips(pairs in proptest::collection::vec((".+", ".*"), 0..5)) {
            let raw: Vec<String> = pairs.iter().map(|(k, v)| format!("{}={}", pe(k), pe(v))).collect();
            let expected: Vec<(String, String)> = pairs.clone();
            prop_assert_eq!(decode_query(&raw.join("&")), expected);
        }

        #[test]
        fn pe_then_decode_path_round_trips(s in any::<String>()) {
            prop_assert_eq!(decode_path(&v4enc(&s, true)), Some(s));
        }

        #[test]
        fn v4enc_emits_only_unreserved_and_uppercase_escapes(s in any::<String>(), keep_slash in any::<bool>()) {
            let encoded = v4enc(&s, keep_slash);
            let bytes = encoded.as_bytes();
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'%' {
                    let escape = &bytes[i + 1..i + 3];
                    prop_assert!(escape.iter().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(b)), "{}", encoded);
                    i += 3;
                } else {
                    let b = bytes[i];
                    prop_assert!(b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || (keep_slash && b == b'/'), "{}", encoded);
                    i += 1;
                }
            }
        }
    }
}
