//! Tencent COS request signature ("q-sign"), in the `Authorization` header or as presigned-URL
//! query parameters, for verifying requests and for signing them (presigned URLs, and
//! server-computed signatures handed to cos-js-sdk-v5's `getAuthorization`).
//!
//! ```text
//! SignKey      = hex(HMAC-SHA1(SecretKey, q-key-time))
//! HttpString   = lower(method) \n decoded path \n params \n headers \n
//! StringToSign = "sha1\n" q-sign-time "\n" hex(SHA1(HttpString)) "\n"
//! Signature    = hex(HMAC-SHA1(SignKey as ASCII hex, StringToSign))
//! ```
//! Params and headers are `lower(UrlEncode(key))=UrlEncode(value)` joined by `&`, where UrlEncode
//! keeps only `A-Z a-z 0-9 - _ . ~` ([`crate::encode::pe`]). A verifier takes them in the order
//! of the client's `q-url-param-list` / `q-header-list`; a signer sorts them by encoded key.

mod authorization;

pub use authorization::{Authorization, AuthorizationError, KeyTime};

use crate::encode::pe;
use crate::mac::{hmac_sha1, sha1_hex};

/// The one `q-sign-algorithm` COS defines.
pub const ALGORITHM: &str = "sha1";

/// The host a client may have signed instead of the Host header: Python's SDK signs the URL's
/// hostname, without the port (and, for an IPv6 literal, without the brackets). `None` when
/// `host` has neither, so there is no other candidate to try.
pub fn host_without_port(host: &str) -> Option<&str> {
    if let Some(bracketed) = host.strip_prefix('[') {
        let (address, rest) = bracketed.split_once(']')?;
        let port_ok = rest.is_empty() || is_port(rest.strip_prefix(':')?);
        return port_ok.then_some(address);
    }
    let (name, port) = host.rsplit_once(':')?;
    (is_port(port) && !name.contains(':')).then_some(name)
}

fn is_port(text: &str) -> bool {
    !text.is_empty() && text.len() <= 5 && text.bytes().all(|b| b.is_ascii_digit())
}

/// `lower(UrlEncode(name))`: how a header or param name appears in the lists and HttpString.
pub fn encode_key(name: &str) -> String {
    pe(name).to_ascii_lowercase()
}

/// Encodes `(name, value)` pairs for signing, `(encode_key(name), UrlEncode(value))`, sorted by
/// encoded name then value (the SDKs' order).
pub fn sorted_pairs(pairs: &[(String, String)]) -> Vec<(String, String)> {
    let mut encoded: Vec<(String, String)> = pairs
        .iter()
        .map(|(name, value)| (encode_key(name), pe(value)))
        .collect();
    encoded.sort();
    encoded
}

/// The encoded pairs for a list of encoded names, in the listed order: `lookup(name)` gives the
/// raw value, which is UrlEncoded. `None` as soon as a lookup finds nothing.
pub fn listed_pairs(
    names: &[String],
    mut lookup: impl FnMut(&str) -> Option<String>,
) -> Option<Vec<(String, String)>> {
    names
        .iter()
        .map(|name| lookup(name).map(|value| (name.clone(), pe(&value))))
        .collect()
}

/// `lower(method) \n path \n params \n headers \n` from already encoded pairs (`k=v` joined by
/// `&`, in the given order). `path` is the decoded path, e.g. `/exampleobject(腾讯云)`.
pub fn http_string(
    method: &str,
    path: &str,
    params: &[(String, String)],
    headers: &[(String, String)],
) -> String {
    let join = |pairs: &[(String, String)]| {
        let items: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        items.join("&")
    };
    format!(
        "{}\n{path}\n{}\n{}\n",
        method.to_ascii_lowercase(),
        join(params),
        join(headers)
    )
}

/// `"sha1\n" + sign_time + "\n" + hex(SHA1(http_string)) + "\n"`.
pub fn string_to_sign(sign_time: &str, http_string: &str) -> String {
    format!(
        "{ALGORITHM}\n{sign_time}\n{}\n",
        sha1_hex(http_string.as_bytes())
    )
}

/// `hex(HMAC-SHA1(secret, key_time))`.
pub fn sign_key(secret: &str, key_time: &str) -> String {
    hex::encode(hmac_sha1(secret.as_bytes(), key_time.as_bytes()))
}

/// `hex(HMAC-SHA1(sign_key, string_to_sign))`, the key being the hex text of [`sign_key`].
pub fn signature(sign_key: &str, string_to_sign: &str) -> String {
    hex::encode(hmac_sha1(sign_key.as_bytes(), string_to_sign.as_bytes()))
}

/// Signs a request as the SDKs do: every given param and header (raw names and values; the
/// caller picks which), sorted by encoded name, with `key_time` as both q-sign-time and
/// q-key-time.
pub fn sign(
    secret: &str,
    access_key_id: &str,
    key_time: &str,
    method: &str,
    path: &str,
    params: &[(String, String)],
    headers: &[(String, String)],
) -> Authorization {
    let params = sorted_pairs(params);
    let headers = sorted_pairs(headers);
    let string_to_sign = string_to_sign(key_time, &http_string(method, path, &params, &headers));
    let names = |pairs: Vec<(String, String)>| pairs.into_iter().map(|(name, _)| name).collect();
    Authorization {
        access_key_id: access_key_id.to_string(),
        sign_time: key_time.to_string(),
        key_time: key_time.to_string(),
        header_list: names(headers),
        url_param_list: names(params),
        signature: signature(&sign_key(secret, key_time), &string_to_sign),
    }
}

/// Whether the authorization's signature signs `http_string` under `secret`, compared in constant
/// time. The caller checks the time window and the access key separately.
pub fn verify(secret: &str, authorization: &Authorization, http_string: &str) -> bool {
    let key = sign_key(secret, &authorization.key_time);
    let expected = signature(&key, &string_to_sign(&authorization.sign_time, http_string));
    crate::ct_eq(expected.as_bytes(), authorization.signature.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sign_sorts_by_encoded_key_and_verify_accepts_it() {
        let pairs = |items: &[(&str, &str)]| -> Vec<(String, String)> {
            items
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let params = pairs(&[("versionId", "v 1"), ("acl", "")]);
        let headers = pairs(&[("Range", "bytes=0-3"), ("Host", "h")]);
        let auth = sign("SK", "AK", "1;2", "GET", "/a b", &params, &headers);
        assert_eq!(auth.url_param_list, ["acl", "versionid"]);
        assert_eq!(auth.header_list, ["host", "range"]);
        let expected_http = "get\n/a b\nacl=&versionid=v%201\nhost=h&range=bytes%3D0-3\n";
        let lookup = |all: &Vec<(String, String)>, name: &str| {
            all.iter()
                .find(|(k, _)| encode_key(k) == name)
                .map(|(_, v)| v.clone())
        };
        let http = auth
            .http_string(
                "GET",
                "/a b",
                |n| lookup(&params, n),
                |n| lookup(&headers, n),
            )
            .expect("every listed name is present");
        assert_eq!(http, expected_http);
        assert!(verify("SK", &auth, &http));
        assert!(!verify("SK2", &auth, &http));
        assert_eq!(
            auth.http_string("GET", "/", |_| None, |_| Some(String::new())),
            None
        );
    }

    #[test]
    fn host_without_port_cases() {
        assert_eq!(host_without_port("127.0.0.1:8901"), Some("127.0.0.1"));
        assert_eq!(
            host_without_port("b.cos.ap-guangzhou.myqcloud.com:80"),
            Some("b.cos.ap-guangzhou.myqcloud.com")
        );
        assert_eq!(host_without_port("[::1]:8901"), Some("::1"));
        assert_eq!(host_without_port("[::1]"), Some("::1"));
        for none in [
            "127.0.0.1",
            "h:",
            "h:port",
            "h:123456",
            "::1",
            "[::1",
            "[::1]x",
            "[::1]:",
        ] {
            assert_eq!(host_without_port(none), None, "{none:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn host_without_port_never_panics(s in any::<String>()) {
            let _ = host_without_port(&s);
        }
    }
}
