//! Alibaba POP/OpenAPI signatures used by STS: RPC V1 (HMAC-SHA1) and ACS3-HMAC-SHA256.

use crate::encode::{pe, v4enc};
use crate::header::{auth_pairs, grouped, pair};
use crate::mac::{base64, hmac_sha1, hmac_sha256, sha256_hex};

/// `join("&", sorted(pe(k)=pe(v)))`, sorted by encoded name then value; empty values give `k=`.
fn canonical_query(params: &[(String, String)]) -> String {
    let mut encoded: Vec<(String, String)> = params
        .iter()
        .map(|(name, value)| (pe(name), pe(value)))
        .collect();
    encoded.sort();
    let parts: Vec<String> = encoded
        .into_iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    parts.join("&")
}

/// RPC V1 string-to-sign: `METHOD&%2F&pe(join("&", sorted(pe(k)=pe(v))))` over every
/// parameter except `Signature` (empty values kept as `k=`).
pub fn rpc_string_to_sign(method: &str, params: &[(String, String)]) -> String {
    let signed: Vec<(String, String)> = params
        .iter()
        .filter(|(name, _)| name != "Signature")
        .cloned()
        .collect();
    format!("{method}&%2F&{}", pe(&canonical_query(&signed)))
}

/// `base64(HMAC-SHA1(secret + "&", string_to_sign))`.
pub fn rpc_sign(secret: &str, string_to_sign: &str) -> String {
    let key = format!("{secret}&");
    base64(&hmac_sha1(key.as_bytes(), string_to_sign.as_bytes()))
}

/// ACS3 canonical request (see module docs of the spec §1.2). `headers` are all request
/// headers; only `signed_headers` (lowercase) are canonicalized, in sorted order.
///
/// `path` is the decoded URI path (`/` when empty); it is encoded per segment with `/` kept.
/// A signed header absent from `headers` canonicalizes as `name:`; repeated headers are joined
/// with `,`.
pub fn acs3_canonical_request(
    method: &str,
    path: &str,
    query: &[(String, String)],
    headers: &[(String, String)],
    signed_headers: &[String],
    hashed_payload: &str,
) -> String {
    let mut names: Vec<String> = signed_headers
        .iter()
        .map(|name| name.trim().to_ascii_lowercase())
        .filter(|name| !name.is_empty())
        .collect();
    names.sort();
    names.dedup();
    let values = grouped(headers, |name| names.iter().any(|n| n == name));
    let canonical_headers: String = names
        .iter()
        .map(|name| {
            let value = values.get(name).map(String::as_str).unwrap_or("");
            format!("{name}:{value}\n")
        })
        .collect();
    let uri = match path.is_empty() {
        true => "/".to_string(),
        false => v4enc(path, true),
    };
    format!(
        "{method}\n{uri}\n{query}\n{canonical_headers}\n{signed}\n{hashed_payload}",
        query = canonical_query(query),
        signed = names.join(";"),
    )
}

/// `"ACS3-HMAC-SHA256\n" + hex(SHA256(canonical_request))`.
pub fn acs3_string_to_sign(canonical_request: &str) -> String {
    format!(
        "ACS3-HMAC-SHA256\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// Lowercase hex `HMAC-SHA256(secret, string_to_sign)`.
pub fn acs3_sign(secret: &str, string_to_sign: &str) -> String {
    hex::encode(hmac_sha256(secret.as_bytes(), string_to_sign.as_bytes()))
}

/// Parses `ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=a;b,Signature=hex`.
/// Returns (access key id, signed header names lowercase, signature).
/// Pairs may come in any order with optional spaces; all three are required and non-empty.
pub fn acs3_parse_authorization(header: &str) -> Option<(String, Vec<String>, String)> {
    let pairs = auth_pairs(header, "ACS3-HMAC-SHA256")?;
    let access_key_id = pair(&pairs, "Credential")?;
    let signature = pair(&pairs, "Signature")?;
    let signed_headers = crate::oss_v4::split_header_names(pair(&pairs, "SignedHeaders")?);
    if access_key_id.is_empty() || signature.is_empty() || signed_headers.is_empty() {
        return None;
    }
    Some((
        access_key_id.to_string(),
        signed_headers,
        signature.to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::decode_query;
    use proptest::prelude::*;

    fn check(params: &[(&str, &str)], expected_string_to_sign: &str) {
        let params: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(rpc_string_to_sign("GET", &params), expected_string_to_sign);
    }

    #[test]
    fn rpc_string_to_sign_cases() {
        check(&[("B", "2"), ("A", "1")], "GET&%2F&A%3D1%26B%3D2");
        check(&[("A", ""), ("Signature", "zz")], "GET&%2F&A%3D");
        check(&[("A", "a b")], "GET&%2F&A%3Da%2520b");
    }

    #[test]
    fn acs3_parse_authorization_cases() {
        let got = acs3_parse_authorization(
            "ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=host;X-Acs-Date,Signature=ab",
        );
        assert_eq!(
            got,
            Some((
                "AK".to_string(),
                vec!["host".to_string(), "x-acs-date".to_string()],
                "ab".to_string()
            ))
        );
        assert!(acs3_parse_authorization("ACS3-HMAC-SHA256 Credential=AK,Signature=ab").is_none());
        assert!(
            acs3_parse_authorization("ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=h").is_none()
        );
        assert!(acs3_parse_authorization(
            "OSS4-HMAC-SHA256 Credential=AK,SignedHeaders=h,Signature=a"
        )
        .is_none());
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn acs3_parse_authorization_never_panics(s in any::<String>()) {
            let _ = acs3_parse_authorization(&s);
        }

        #[test]
        fn acs3_parse_authorization_never_panics_near_valid(s in "ACS3-HMAC-SHA256 [A-Za-z=,; 0-9]{0,60}") {
            let _ = acs3_parse_authorization(&s);
        }

        #[test]
        fn rpc_never_panics(raw in any::<String>(), path in any::<String>()) {
            let params = decode_query(&raw);
            let _ = rpc_string_to_sign("POST", &params);
            let _ = acs3_canonical_request("POST", &path, &params, &params, &["host".to_string()], "");
        }
    }
}
