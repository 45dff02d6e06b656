//! Tencent Cloud API legacy signature v1 (`HmacSHA1`, `HmacSHA256`): the one every
//! qcloud-cos-sts SDK uses for STS `GetFederationToken`, sent as a form POST or a GET query.
//!
//! The source string is `METHOD + host + "/?" + join("&", sorted(k=v))` over the form-decoded
//! parameters with raw (not re-encoded) values; the signature is its base64 HMAC under the
//! SecretKey.

use percent_encoding::percent_decode_str;

use crate::mac::{base64, hmac_sha1, hmac_sha256};

/// The HMAC a v1 signature uses, named by the optional `SignatureMethod` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureMethod {
    /// `HmacSHA1`, the default when `SignatureMethod` is absent.
    HmacSha1,
    /// `HmacSHA256`
    HmacSha256,
}

impl SignatureMethod {
    /// The method a `SignatureMethod` value names: absent or empty → `HmacSHA1`; `HmacSHA1` and
    /// `HmacSHA256` (ASCII case-insensitive) as named; anything else → `None` (unsupported).
    pub fn from_param(value: Option<&str>) -> Option<SignatureMethod> {
        match value {
            None | Some("") => Some(SignatureMethod::HmacSha1),
            Some(v) if v.eq_ignore_ascii_case("HmacSHA1") => Some(SignatureMethod::HmacSha1),
            Some(v) if v.eq_ignore_ascii_case("HmacSHA256") => Some(SignatureMethod::HmacSha256),
            Some(_) => None,
        }
    }

    /// The method named by the first `SignatureMethod` among `params` (see [`Self::from_param`]).
    pub fn of(params: &[(String, String)]) -> Option<SignatureMethod> {
        let value = params
            .iter()
            .find(|(name, _)| name == "SignatureMethod")
            .map(|(_, value)| value.as_str());
        SignatureMethod::from_param(value)
    }
}

/// The v1 source string: `METHOD + host + "/?" + join("&", k=v)` over every parameter except
/// `Signature`.
///
/// `params` are the form-decoded parameters as received (the Policy value of Python, Node and Go
/// stays once percent-encoded here: that is what they signed). Values are used raw; `_` in a key
/// becomes `.`; pairs are sorted bytewise by that key, then by value. `host` is the host the
/// client signed, which need not be the Host header (the Python SDK signs its `domain` setting).
pub fn string_to_sign(method: &str, host: &str, params: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, &str)> = params
        .iter()
        .filter(|(name, _)| name != "Signature")
        .map(|(name, value)| (name.replace('_', "."), value.as_str()))
        .collect();
    pairs.sort();
    let joined: Vec<String> = pairs
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    format!("{method}{host}/?{}", joined.join("&"))
}

/// `base64(HMAC(secret, string_to_sign))` with the given method's hash.
pub fn sign(secret: &str, method: SignatureMethod, string_to_sign: &str) -> String {
    let (key, message) = (secret.as_bytes(), string_to_sign.as_bytes());
    match method {
        SignatureMethod::HmacSha1 => base64(&hmac_sha1(key, message)),
        SignatureMethod::HmacSha256 => base64(&hmac_sha256(key, message)),
    }
}

/// Whether `signature` (the form-decoded `Signature` parameter) signs `string_to_sign`,
/// compared in constant time.
pub fn verify(
    secret: &str,
    method: SignatureMethod,
    string_to_sign: &str,
    signature: &str,
) -> bool {
    let expected = sign(secret, method, string_to_sign);
    crate::ct_eq(expected.as_bytes(), signature.as_bytes())
}

/// The policy JSON text from the form-decoded `Policy` parameter. Java sends raw JSON, so a value
/// that starts with `{` (after leading whitespace) is the text itself; Python, Node and Go send it
/// percent-encoded once more, so any other value is percent-decoded once (`+` stays `+`; invalid
/// UTF-8 is replaced). Only the policy evaluation uses this: the signature covers the value as
/// received.
pub fn policy_text(raw: &str) -> String {
    if raw.trim_start().starts_with('{') {
        return raw.to_string();
    }
    percent_decode_str(raw).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::decode_query;
    use proptest::prelude::*;

    fn check(params: &[(&str, &str)], expected: &str) {
        let params: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(string_to_sign("POST", "h", &params), expected);
    }

    #[test]
    fn string_to_sign_cases() {
        check(&[], "POSTh/?");
        check(&[("B", "2"), ("A", "1")], "POSTh/?A=1&B=2");
        check(
            &[("A", "a b&c=%7B"), ("Signature", "x")],
            "POSTh/?A=a b&c=%7B",
        );
        check(&[("Ids_0", "x"), ("Ids.1", "y")], "POSTh/?Ids.0=x&Ids.1=y");
        check(&[("a", "1"), ("B", "2"), ("_", "3")], "POSTh/?.=3&B=2&a=1");
        check(
            &[("Limit", "1"), ("Limit.x", "2")],
            "POSTh/?Limit=1&Limit.x=2",
        );
        check(&[("k", "2"), ("k", "1")], "POSTh/?k=1&k=2");
    }

    #[test]
    fn signature_method_cases() {
        let method = |v: Option<&str>| SignatureMethod::from_param(v);
        assert_eq!(method(None), Some(SignatureMethod::HmacSha1));
        assert_eq!(method(Some("")), Some(SignatureMethod::HmacSha1));
        assert_eq!(method(Some("HmacSHA1")), Some(SignatureMethod::HmacSha1));
        assert_eq!(
            method(Some("hmacsha256")),
            Some(SignatureMethod::HmacSha256)
        );
        assert_eq!(method(Some("HmacMD5")), None);
        let params = vec![("SignatureMethod".to_string(), "HmacSHA256".to_string())];
        assert_eq!(
            SignatureMethod::of(&params),
            Some(SignatureMethod::HmacSha256)
        );
        assert_eq!(SignatureMethod::of(&[]), Some(SignatureMethod::HmacSha1));
    }

    #[test]
    fn policy_text_cases() {
        assert_eq!(policy_text(r#"{"a": "%41"}"#), r#"{"a": "%41"}"#);
        assert_eq!(policy_text(" \n{}"), " \n{}");
        assert_eq!(
            policy_text("%7B%22a%22%3A%20%22b%2Bc%22%7D"),
            r#"{"a": "b+c"}"#
        );
        assert_eq!(policy_text("%7Ba+b%7D"), "{a+b}");
        assert_eq!(policy_text("%zz"), "%zz");
        assert_eq!(policy_text("%FF"), "\u{FFFD}");
        assert_eq!(policy_text(""), "");
    }

    #[test]
    fn sign_then_verify() {
        for method in [SignatureMethod::HmacSha1, SignatureMethod::HmacSha256] {
            let signature = sign("SK", method, "GETh/?A=1");
            assert!(verify("SK", method, "GETh/?A=1", &signature));
            assert!(!verify("SK", method, "GETh/?A=2", &signature));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn form_handling_never_panics(raw in any::<String>()) {
            let params = decode_query(&raw);
            let _ = SignatureMethod::of(&params);
            let _ = string_to_sign("POST", "sts.tencentcloudapi.com", &params);
            for (_, value) in &params {
                let _ = policy_text(value);
            }
        }

        #[test]
        fn policy_text_never_panics(raw in any::<String>()) {
            let _ = policy_text(&raw);
        }

        #[test]
        fn policy_text_undoes_one_encoding(json in "\\{[ -~]{0,40}") {
            let encoded = crate::encode::pe(&json);
            prop_assert_eq!(policy_text(&encoded), json.clone());
            prop_assert_eq!(policy_text(&json), json);
        }

        #[test]
        fn signature_is_excluded_and_order_does_not_matter(
            pairs in proptest::collection::vec(("[A-Za-z_.]{1,6}", "[ -~]{0,6}"), 0..6),
            signature in "[ -~]{0,10}",
        ) {
            let params: Vec<(String, String)> = pairs.clone();
            let mut reversed: Vec<(String, String)> = pairs.into_iter().rev().collect();
            reversed.push(("Signature".to_string(), signature));
            prop_assert_eq!(string_to_sign("GET", "h", &params), string_to_sign("GET", "h", &reversed));
        }
    }
}
