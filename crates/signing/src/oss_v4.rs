//! OSS signature V4 (`OSS4-HMAC-SHA256`), header form and presigned-URL form.

use crate::encode::v4enc;
use crate::header::{auth_pairs, grouped, pair};
use crate::mac::{hmac_sha256, sha256_hex};

/// The scope of a V4 signature: `YYYYMMDD/region/product/aliyun_v4_request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub access_key_id: String,
    /// `YYYYMMDD`
    pub date: String,
    pub region: String,
    /// `oss` (or `oss-cloudbox`)
    pub product: String,
}

impl Credential {
    /// Parses `AK/YYYYMMDD/region/product/aliyun_v4_request`. The access key id may not contain `/`.
    /// Every part must be non-empty and the date must be eight ASCII digits.
    pub fn parse(s: &str) -> Option<Credential> {
        let mut parts = s.split('/');
        let access_key_id = parts.next()?;
        let date = parts.next()?;
        let region = parts.next()?;
        let product = parts.next()?;
        let terminator = parts.next()?;
        let well_formed = parts.next().is_none()
            && terminator == "aliyun_v4_request"
            && !access_key_id.is_empty()
            && date.len() == 8
            && date.bytes().all(|b| b.is_ascii_digit())
            && !region.is_empty()
            && !product.is_empty();
        well_formed.then(|| Credential {
            access_key_id: access_key_id.to_string(),
            date: date.to_string(),
            region: region.to_string(),
            product: product.to_string(),
        })
    }

    /// `YYYYMMDD/region/product/aliyun_v4_request`
    pub fn scope(&self) -> String {
        format!(
            "{}/{}/{}/aliyun_v4_request",
            self.date, self.region, self.product
        )
    }
}

/// A parsed `Authorization: OSS4-HMAC-SHA256 Credential=…,AdditionalHeaders=…,Signature=…` header.
/// Pairs are separated by `,` with optional spaces, in any order; AdditionalHeaders is optional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub credential: Credential,
    /// Lowercased names, as listed (`;`-separated in the header).
    pub additional_headers: Vec<String>,
    pub signature: String,
}

impl Authorization {
    /// `None` if the header does not start with `OSS4-HMAC-SHA256 ` or lacks Credential/Signature.
    /// Also `None` when a pair has no `=`, a pair name repeats, or the credential is malformed;
    /// unknown pair names are ignored.
    pub fn parse(header: &str) -> Option<Authorization> {
        let pairs = auth_pairs(header, "OSS4-HMAC-SHA256")?;
        let credential = Credential::parse(pair(&pairs, "Credential")?)?;
        let signature = pair(&pairs, "Signature")?;
        if signature.is_empty() {
            return None;
        }
        let additional_headers = pair(&pairs, "AdditionalHeaders")
            .map(split_header_names)
            .unwrap_or_default();
        Some(Authorization {
            credential,
            additional_headers,
            signature: signature.to_string(),
        })
    }
}

/// Splits a `;`-separated header-name list, trimming and lowercasing, dropping empty names.
pub fn split_header_names(list: &str) -> Vec<String> {
    list.split(';')
        .map(|name| name.trim().to_ascii_lowercase())
        .filter(|name| !name.is_empty())
        .collect()
}

/// True for headers that are always canonicalized, whether listed in AdditionalHeaders or not.
fn is_default_signed(lowercase_name: &str) -> bool {
    lowercase_name.starts_with("x-oss-")
        || lowercase_name == "content-type"
        || lowercase_name == "content-md5"
}

/// The canonical request and the effective AdditionalHeaders list.
///
/// - CanonicalURI: `v4enc("/" + bucket + "/" + key, keep_slash)`, `/bucket/` with no key, `/` with no bucket.
/// - CanonicalQuery: every (decoded) query pair, `v4enc(name)`/`v4enc(value)` (slash encoded),
///   sorted by encoded name then value, `k=v` or `k` when the value is empty, joined by `&`.
///   The caller removes `x-oss-signature` for the URL form.
/// - CanonicalHeaders: headers whose lowercase name starts with `x-oss-`, plus `content-type` and
///   `content-md5` when present, plus the effective additional headers; `name:trim(value)\n`, sorted.
/// - Effective AdditionalHeaders: the lowercased, sorted, deduplicated requested names, dropping
///   names that are `x-oss-*`, `content-type`, `content-md5` or absent from `headers`.
/// - HashedPayload: `hashed_payload` (callers pass `x-oss-content-sha256` or `UNSIGNED-PAYLOAD`).
///
/// Returns (canonical request, effective additional headers).
pub fn canonical_request(
    method: &str,
    bucket: Option<&str>,
    key: Option<&str>,
    query: &[(String, String)],
    headers: &[(String, String)],
    additional_headers: &[String],
    hashed_payload: &str,
) -> (String, Vec<String>) {
    let additional = effective_additional_headers(headers, additional_headers);
    let canonical_headers: String = grouped(headers, |name| {
        is_default_signed(name) || additional.iter().any(|a| a == name)
    })
    .iter()
    .map(|(name, value)| format!("{name}:{value}\n"))
    .collect();
    let request = format!(
        "{method}\n{uri}\n{query}\n{canonical_headers}\n{additional}\n{hashed_payload}",
        uri = canonical_uri(bucket, key),
        query = canonical_query(query),
        additional = additional.join(";"),
    );
    (request, additional)
}

fn effective_additional_headers(headers: &[(String, String)], requested: &[String]) -> Vec<String> {
    let present = grouped(headers, |_| true);
    let mut names: Vec<String> = requested
        .iter()
        .map(|name| name.trim().to_ascii_lowercase())
        .filter(|name| !is_default_signed(name) && present.contains_key(name))
        .collect();
    names.sort();
    names.dedup();
    names
}

fn canonical_uri(bucket: Option<&str>, key: Option<&str>) -> String {
    match (bucket, key) {
        (None, _) => "/".to_string(),
        (Some(bucket), None) => v4enc(&format!("/{bucket}/"), true),
        (Some(bucket), Some(key)) => v4enc(&format!("/{bucket}/{key}"), true),
    }
}

fn canonical_query(query: &[(String, String)]) -> String {
    let mut encoded: Vec<(String, String)> = query
        .iter()
        .map(|(name, value)| (v4enc(name, false), v4enc(value, false)))
        .collect();
    encoded.sort();
    let parts: Vec<String> = encoded
        .into_iter()
        .map(|(name, value)| match value.is_empty() {
            true => name,
            false => format!("{name}={value}"),
        })
        .collect();
    parts.join("&")
}

/// `"OSS4-HMAC-SHA256\n" + x_oss_date + "\n" + scope + "\n" + hex(SHA256(canonical_request))`.
pub fn string_to_sign(x_oss_date: &str, scope: &str, canonical_request: &str) -> String {
    format!(
        "OSS4-HMAC-SHA256\n{x_oss_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// `HMAC(HMAC(HMAC(HMAC("aliyun_v4" + secret, date), region), product), "aliyun_v4_request")`.
pub fn signing_key(secret: &str, date: &str, region: &str, product: &str) -> [u8; 32] {
    let key = format!("aliyun_v4{secret}");
    let k_date = hmac_sha256(key.as_bytes(), date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_product = hmac_sha256(&k_region, product.as_bytes());
    hmac_sha256(&k_product, b"aliyun_v4_request")
}

/// Lowercase hex `HMAC-SHA256(signing_key, string_to_sign)`.
pub fn signature(signing_key: &[u8; 32], string_to_sign: &str) -> String {
    hex::encode(hmac_sha256(signing_key, string_to_sign.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(header: &str, expected: Option<(&str, &[&str], &str)>) {
        let got = Authorization::parse(header).map(|a| {
            (
                a.credential.access_key_id,
                a.additional_headers,
                a.signature,
            )
        });
        let expected = expected.map(|(ak, extra, sig)| {
            (
                ak.to_string(),
                extra.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                sig.to_string(),
            )
        });
        assert_eq!(got, expected, "{header:?}");
    }

    const CRED: &str = "AK/20231216/cn-hangzhou/oss/aliyun_v4_request";

    #[test]
    fn authorization_syntaxes() {
        check(
            &format!("OSS4-HMAC-SHA256 Credential={CRED},AdditionalHeaders=abc;ZAbc,Signature=ff"),
            Some(("AK", &["abc", "zabc"], "ff")),
        );
        check(
            &format!("OSS4-HMAC-SHA256 Credential={CRED}, Signature=ff, AdditionalHeaders=a;b"),
            Some(("AK", &["a", "b"], "ff")),
        );
        check(
            &format!("OSS4-HMAC-SHA256 Signature=ff,Credential={CRED}"),
            Some(("AK", &[], "ff")),
        );
        check(&format!("OSS4-HMAC-SHA256 Credential={CRED}"), None);
        check("OSS4-HMAC-SHA256 Signature=ff", None);
        check(
            &format!("OSS4-HMAC-SHA256Credential={CRED},Signature=ff"),
            None,
        );
        check(&format!("OSS ak:sig Credential={CRED},Signature=ff"), None);
        check(
            &format!("OSS4-HMAC-SHA256 Credential={CRED},Signature=ff,Signature=ee"),
            None,
        );
        check(
            &format!("OSS4-HMAC-SHA256 Credential={CRED},Signature="),
            None,
        );
    }

    #[test]
    fn credential_parse_cases() {
        let cred = Credential::parse(CRED).expect("valid credential");
        assert_eq!(cred.scope(), "20231216/cn-hangzhou/oss/aliyun_v4_request");
        assert_eq!(cred.product, "oss");
        for bad in [
            "",
            "AK/20231216/cn-hangzhou/oss",
            "AK/20231216/cn-hangzhou/oss/aliyun_v4_request/x",
            "A/K/20231216/cn-hangzhou/oss/aliyun_v4_request",
            "/20231216/cn-hangzhou/oss/aliyun_v4_request",
            "AK/2023121/cn-hangzhou/oss/aliyun_v4_request",
            "AK/2023121x/cn-hangzhou/oss/aliyun_v4_request",
            "AK/20231216//oss/aliyun_v4_request",
            "AK/20231216/cn-hangzhou/oss/aws4_request",
        ] {
            assert_eq!(Credential::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn additional_headers_are_filtered() {
        let headers: Vec<(String, String)> = [("Host", "h"), ("x-oss-date", "d"), ("ABC", " v ")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let requested: Vec<String> = [
            "x-oss-date",
            "Host",
            "missing",
            "abc",
            "host",
            "content-type",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (request, effective) = canonical_request(
            "GET",
            None,
            None,
            &[],
            &headers,
            &requested,
            "UNSIGNED-PAYLOAD",
        );
        assert_eq!(effective, ["abc", "host"]);
        assert_eq!(
            request,
            "GET\n/\n\nabc:v\nhost:h\nx-oss-date:d\n\nabc;host\nUNSIGNED-PAYLOAD"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn authorization_parse_never_panics(s in any::<String>()) {
            let _ = Authorization::parse(&s);
        }

        #[test]
        fn authorization_parse_never_panics_near_valid(s in "OSS4-HMAC-SHA256 [A-Za-z=,;/ 0-9_-]{0,80}") {
            let _ = Authorization::parse(&s);
        }

        #[test]
        fn credential_parse_never_panics(s in any::<String>()) {
            let _ = Credential::parse(&s);
        }

        #[test]
        fn credential_round_trips(ak in "[A-Za-z0-9.]{1,20}", date in "[0-9]{8}", region in "[a-z0-9-]{1,20}") {
            let cred = Credential { access_key_id: ak, date, region, product: "oss".to_string() };
            let text = format!("{}/{}", cred.access_key_id, cred.scope());
            prop_assert_eq!(Credential::parse(&text), Some(cred));
        }

        #[test]
        fn canonical_request_never_panics(key in any::<String>(), name in any::<String>(), value in any::<String>()) {
            let headers = vec![(name.clone(), value.clone())];
            let _ = canonical_request("PUT", Some("b"), Some(&key), &[(name.clone(), value)], &headers, &[name], "UNSIGNED-PAYLOAD");
        }
    }
}
