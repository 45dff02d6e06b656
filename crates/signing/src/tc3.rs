//! Tencent Cloud API 3.0 signature `TC3-HMAC-SHA256` (STS and every other `*.tencentcloudapi.com`
//! product), header form.
//!
//! The steps mirror the vendor's description: canonical request → string-to-sign (with the
//! credential scope `YYYY-MM-DD/service/tc3_request`) → derived signing key → lowercase hex
//! signature. Time enters only as the `X-TC-Timestamp` text and its UTC date; nothing here reads
//! the clock.

use std::fmt;

use time::OffsetDateTime;

use crate::header::{auth_pairs, grouped, pair};
use crate::mac::{hmac_sha256, sha256_hex};

/// The algorithm name that starts the `Authorization` header and the string-to-sign.
pub const ALGORITHM: &str = "TC3-HMAC-SHA256";

/// The `X-TC-Content-SHA256` value that asks for the body to stay out of the signature.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// The credential of a TC3 signature: `SecretId/YYYY-MM-DD/service/tc3_request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub secret_id: String,
    /// `YYYY-MM-DD`, the UTC date of `X-TC-Timestamp`.
    pub date: String,
    /// The product, e.g. `sts` or `cvm`.
    pub service: String,
}

impl Credential {
    /// Parses `SecretId/YYYY-MM-DD/service/tc3_request`. The secret id may not contain `/`, every
    /// part must be non-empty, and the date must have the shape `DDDD-DD-DD` (ASCII digits).
    pub fn parse(text: &str) -> Option<Credential> {
        let mut parts = text.split('/');
        let secret_id = parts.next()?;
        let date = parts.next()?;
        let service = parts.next()?;
        let terminator = parts.next()?;
        let well_formed = parts.next().is_none()
            && terminator == "tc3_request"
            && !secret_id.is_empty()
            && is_date_shaped(date)
            && !service.is_empty();
        well_formed.then(|| Credential {
            secret_id: secret_id.to_string(),
            date: date.to_string(),
            service: service.to_string(),
        })
    }

    /// `YYYY-MM-DD/service/tc3_request`
    pub fn scope(&self) -> String {
        format!("{}/{}/tc3_request", self.date, self.service)
    }
}

fn is_date_shaped(date: &str) -> bool {
    let bytes = date.as_bytes();
    bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        })
}

/// A parsed `Authorization: TC3-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` header.
/// Its `Display` writes the header back in the SDKs' shape (`, ` between pairs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub credential: Credential,
    /// Lowercase names, as listed (`;`-separated in the header).
    pub signed_headers: Vec<String>,
    /// Lowercase hex, as sent.
    pub signature: String,
}

impl Authorization {
    /// `None` unless the header starts with `TC3-HMAC-SHA256 ` and carries a well-formed
    /// Credential, a non-empty SignedHeaders list and a non-empty Signature. Pairs are separated
    /// by `,` with optional spaces, in any order; a repeated pair name or a pair without `=` is
    /// malformed; unknown pair names are ignored.
    pub fn parse(header: &str) -> Option<Authorization> {
        let pairs = auth_pairs(header, ALGORITHM)?;
        let credential = Credential::parse(pair(&pairs, "Credential")?)?;
        let signed_headers = crate::oss_v4::split_header_names(pair(&pairs, "SignedHeaders")?);
        let signature = pair(&pairs, "Signature")?;
        if signed_headers.is_empty() || signature.is_empty() {
            return None;
        }
        Some(Authorization {
            credential,
            signed_headers,
            signature: signature.to_string(),
        })
    }
}

impl fmt::Display for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{ALGORITHM} Credential={}/{}, SignedHeaders={}, Signature={}",
            self.credential.secret_id,
            self.credential.scope(),
            self.signed_headers.join(";"),
            self.signature
        )
    }
}

/// The UTC date of a unix timestamp as `YYYY-MM-DD`; `None` outside the years 0 to 9999.
pub fn date_of(timestamp: i64) -> Option<String> {
    let date = OffsetDateTime::from_unix_timestamp(timestamp).ok()?.date();
    (0..=9999).contains(&date.year()).then(|| {
        format!(
            "{:04}-{:02}-{:02}",
            date.year(),
            u8::from(date.month()),
            date.day()
        )
    })
}

/// Lowercase hex SHA-256 of the body, or of the literal `UNSIGNED-PAYLOAD` when the request
/// carries `X-TC-Content-SHA256: UNSIGNED-PAYLOAD` (`unsigned`).
pub fn hashed_payload(body: &[u8], unsigned: bool) -> String {
    match unsigned {
        true => sha256_hex(UNSIGNED_PAYLOAD.as_bytes()),
        false => sha256_hex(body),
    }
}

/// The canonical request:
/// `METHOD\n/\n<canonical_query>\n<canonical headers>\n<signed headers>\n<hashed payload>`.
///
/// - The URI is always `/`.
/// - `canonical_query` is used verbatim: empty for POST, the raw query exactly as sent for GET
///   (the SDKs do not sort it).
/// - The signed header names are trimmed, lowercased, sorted and deduplicated; each gives the line
///   `name:lower(trim(value))\n`. Repeated headers are joined with `,`; a signed header absent from
///   `headers` gives `name:`.
pub fn canonical_request(
    method: &str,
    canonical_query: &str,
    headers: &[(String, String)],
    signed_headers: &[String],
    hashed_payload: &str,
) -> String {
    let names = normalized_names(signed_headers);
    let values = grouped(headers, |name| names.iter().any(|n| n == name));
    let canonical_headers: String = names
        .iter()
        .map(|name| {
            let value = values.get(name).map(String::as_str).unwrap_or("");
            format!("{name}:{}\n", value.to_lowercase())
        })
        .collect();
    format!(
        "{method}\n/\n{canonical_query}\n{canonical_headers}\n{}\n{hashed_payload}",
        names.join(";")
    )
}

fn normalized_names(signed_headers: &[String]) -> Vec<String> {
    let mut names: Vec<String> = signed_headers
        .iter()
        .map(|name| name.trim().to_ascii_lowercase())
        .filter(|name| !name.is_empty())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// `"TC3-HMAC-SHA256\n" + timestamp + "\n" + scope + "\n" + hex(SHA256(canonical_request))`,
/// where `timestamp` is the `X-TC-Timestamp` text as sent.
pub fn string_to_sign(timestamp: &str, scope: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{timestamp}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// `HMAC(HMAC(HMAC("TC3" + secret, date), service), "tc3_request")`.
pub fn signing_key(secret: &str, date: &str, service: &str) -> [u8; 32] {
    let key = format!("TC3{secret}");
    let secret_date = hmac_sha256(key.as_bytes(), date.as_bytes());
    let secret_service = hmac_sha256(&secret_date, service.as_bytes());
    hmac_sha256(&secret_service, b"tc3_request")
}

/// Lowercase hex `HMAC-SHA256(signing_key, string_to_sign)`.
pub fn signature(signing_key: &[u8; 32], string_to_sign: &str) -> String {
    hex::encode(hmac_sha256(signing_key, string_to_sign.as_bytes()))
}

/// Signs a canonical request (built with the same `signed_headers`) as the SDKs do, giving the
/// `Authorization` to send. The signed header names are normalized as in [`canonical_request`].
pub fn sign(
    secret: &str,
    credential: Credential,
    signed_headers: &[String],
    timestamp: &str,
    canonical_request: &str,
) -> Authorization {
    let string_to_sign = string_to_sign(timestamp, &credential.scope(), canonical_request);
    let key = signing_key(secret, &credential.date, &credential.service);
    Authorization {
        signature: signature(&key, &string_to_sign),
        credential,
        signed_headers: normalized_names(signed_headers),
    }
}

/// Whether `authorization.signature` signs `canonical_request` under `secret` with the
/// authorization's own scope, compared in constant time. The caller checks separately that the
/// scope's date is the UTC date of `timestamp` and that its service is the expected product.
pub fn verify(
    secret: &str,
    authorization: &Authorization,
    timestamp: &str,
    canonical_request: &str,
) -> bool {
    let credential = &authorization.credential;
    let string_to_sign = string_to_sign(timestamp, &credential.scope(), canonical_request);
    let key = signing_key(secret, &credential.date, &credential.service);
    let expected = signature(&key, &string_to_sign);
    crate::ct_eq(expected.as_bytes(), authorization.signature.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CRED: &str = "AKIDEXAMPLE/2023-11-14/sts/tc3_request";

    fn check(header: &str, expected: Option<(&str, &[&str], &str)>) {
        let got = Authorization::parse(header)
            .map(|a| (a.credential.secret_id, a.signed_headers, a.signature));
        let expected = expected.map(|(id, names, sig)| {
            (
                id.to_string(),
                names.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                sig.to_string(),
            )
        });
        assert_eq!(got, expected, "{header:?}");
    }

    #[test]
    fn authorization_syntaxes() {
        check(
            &format!(
                "TC3-HMAC-SHA256 Credential={CRED}, SignedHeaders=content-type;host, Signature=ab"
            ),
            Some(("AKIDEXAMPLE", &["content-type", "host"], "ab")),
        );
        check(
            &format!("TC3-HMAC-SHA256 Signature=ab,SignedHeaders=Host,Credential={CRED}"),
            Some(("AKIDEXAMPLE", &["host"], "ab")),
        );
        check(
            &format!(
                "  TC3-HMAC-SHA256   Credential={CRED} ,  SignedHeaders=host ;x ,Signature=ab  "
            ),
            Some(("AKIDEXAMPLE", &["host", "x"], "ab")),
        );
        check(
            &format!("TC3-HMAC-SHA256 Credential={CRED}, Signature=ab"),
            None,
        );
        check(
            &format!("TC3-HMAC-SHA256 Credential={CRED}, SignedHeaders=host"),
            None,
        );
        check(
            &format!("TC3-HMAC-SHA256 Credential={CRED}, SignedHeaders=, Signature=ab"),
            None,
        );
        check(
            &format!("TC3-HMAC-SHA256 Credential={CRED}, SignedHeaders=host, Signature="),
            None,
        );
        check(
            &format!("TC3-HMAC-SHA256Credential={CRED}, SignedHeaders=host, Signature=ab"),
            None,
        );
        check(
            &format!("ACS3-HMAC-SHA256 Credential={CRED}, SignedHeaders=host, Signature=ab"),
            None,
        );
        check(
            &format!(
                "TC3-HMAC-SHA256 Credential={CRED}, SignedHeaders=host, Signature=ab, Signature=cd"
            ),
            None,
        );
        check("TC3-HMAC-SHA256 Credential=AK/20231114/sts/tc3_request, SignedHeaders=host, Signature=ab", None);
    }

    #[test]
    fn credential_parse_cases() {
        let cred = Credential::parse(CRED).expect("valid credential");
        assert_eq!(cred.scope(), "2023-11-14/sts/tc3_request");
        for bad in [
            "",
            "AK/2023-11-14/sts",
            "AK/2023-11-14/sts/tc3_request/x",
            "A/K/2023-11-14/sts/tc3_request",
            "/2023-11-14/sts/tc3_request",
            "AK/2023-11-1/sts/tc3_request",
            "AK/2023/11/14/sts/tc3_request",
            "AK/2023-11-14//tc3_request",
            "AK/2023-11-14/sts/aws4_request",
            "AK/2023x11-14/sts/tc3_request",
        ] {
            assert_eq!(Credential::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn date_of_is_the_utc_date() {
        assert_eq!(date_of(1_700_000_000).as_deref(), Some("2023-11-14"));
        assert_eq!(date_of(1_551_113_065).as_deref(), Some("2019-02-25"));
        assert_eq!(date_of(0).as_deref(), Some("1970-01-01"));
        assert_eq!(date_of(86_399).as_deref(), Some("1970-01-01"));
        assert_eq!(date_of(86_400).as_deref(), Some("1970-01-02"));
        assert_eq!(date_of(i64::MAX), None);
        assert_eq!(date_of(i64::MIN), None);
    }

    #[test]
    fn canonical_headers_are_sorted_lowercased_and_trimmed() {
        let headers: Vec<(String, String)> = [
            ("Host", " H.example "),
            ("X-TC-Action", "DescribeInstances"),
            ("Content-Type", "application/json"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let signed: Vec<String> = ["X-TC-Action", "host", "content-type", "host", "missing"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            canonical_request("GET", "b=2&a=1", &headers, &signed, "e3"),
            "GET\n/\nb=2&a=1\ncontent-type:application/json\nhost:h.example\nmissing:\n\
             x-tc-action:describeinstances\n\ncontent-type;host;missing;x-tc-action\ne3"
        );
    }

    #[test]
    fn hashed_payload_of_unsigned_is_the_hash_of_the_literal() {
        assert_eq!(
            hashed_payload(b"", false),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hashed_payload(b"ignored", true),
            sha256_hex(b"UNSIGNED-PAYLOAD")
        );
    }

    #[test]
    fn sign_then_verify() {
        let credential = Credential::parse(CRED).expect("valid credential");
        let signed = vec!["host".to_string()];
        let request = canonical_request("POST", "", &[], &signed, &hashed_payload(b"", false));
        let auth = sign("SK", credential, &signed, "1700000000", &request);
        assert!(verify("SK", &auth, "1700000000", &request));
        assert!(!verify("SK2", &auth, "1700000000", &request));
        assert!(!verify("SK", &auth, "1700000001", &request));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn authorization_parse_never_panics(s in any::<String>()) {
            let _ = Authorization::parse(&s);
        }

        #[test]
        fn authorization_parse_never_panics_near_valid(s in "TC3-HMAC-SHA256 [A-Za-z=,;/ 0-9_-]{0,80}") {
            let _ = Authorization::parse(&s);
        }

        #[test]
        fn credential_parse_never_panics(s in any::<String>()) {
            let _ = Credential::parse(&s);
        }

        #[test]
        fn authorization_round_trips(
            secret_id in "[A-Za-z0-9.]{1,20}",
            date in "[0-9]{4}-[0-9]{2}-[0-9]{2}",
            service in "[a-z0-9-]{1,10}",
            names in proptest::collection::vec("[a-z0-9-]{1,12}", 1..4),
            signature in "[0-9a-f]{64}",
        ) {
            let auth = Authorization {
                credential: Credential { secret_id, date, service },
                signed_headers: names,
                signature,
            };
            prop_assert_eq!(Authorization::parse(&auth.to_string()), Some(auth));
        }

        #[test]
        fn canonical_request_never_panics(name in any::<String>(), value in any::<String>(), query in any::<String>()) {
            let headers = vec![(name.clone(), value)];
            let _ = canonical_request("GET", &query, &headers, &[name], UNSIGNED_PAYLOAD);
        }

        #[test]
        fn date_of_never_panics(timestamp in any::<i64>()) {
            let _ = date_of(timestamp);
        }
    }
}
