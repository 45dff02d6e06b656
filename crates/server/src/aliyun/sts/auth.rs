//! Who is calling: POP RPC V1 (HMAC-SHA1 over every parameter) or ACS3-HMAC-SHA256 (headers),
//! the ±15 min timestamp window, and the caller's key (root or temporary) → [`Caller`].
//!
//! The nonce is checked by the handler after this succeeds, so that only correctly signed
//! requests can use up a nonce.

use super::error::StsError;
use super::request::Incoming;
use crate::common::provider::Vendor;
use crate::common::resolve::{AuthError, Keyring, Principal};
use crate::token::Claims;
use sha2::{Digest, Sha256};
use stsgate_signing::{ct_eq, pop};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// How far `Timestamp` / `x-acs-date` may be from the server's clock, in seconds.
pub const WINDOW_SECS: i64 = 15 * 60;

/// The API version the sts face speaks.
pub const VERSION: &str = "2015-04-01";

/// The signature scheme of a request and its scheme-specific fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    /// POP RPC V1: `Signature` is a parameter.
    Rpc { signature: String },
    /// ACS3-HMAC-SHA256 from the `Authorization` header.
    Acs3 {
        signed_headers: Vec<String>,
        signature: String,
    },
}

/// The signature fields common to both schemes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedFields {
    pub access_key_id: String,
    pub nonce: String,
    pub timestamp: OffsetDateTime,
    pub security_token: Option<String>,
    pub action: String,
    pub version: String,
    pub scheme: Scheme,
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub enum Caller {
    /// The account's root access key.
    Root,
    /// An extra long-term access key (`stsgate key create`), by name.
    Key(String),
    /// Temporary credentials issued by this server.
    Temporary(Box<Claims>),
}

/// True when the request carries an ACS3 `Authorization` header (it then answers JSON by
/// default; RPC answers XML unless `Format` says otherwise).
pub fn is_acs3(req: &Incoming) -> bool {
    req.header("authorization")
        .is_some_and(|v| v.trim_start().starts_with("ACS3-"))
}

/// Reads the signature fields without checking anything cryptographic.
pub fn parse(req: &Incoming) -> Result<SignedFields, StsError> {
    if is_acs3(req) {
        parse_acs3(req)
    } else {
        parse_rpc(req)
    }
}

fn required<'a>(value: Option<&'a str>, name: &'static str) -> Result<&'a str, StsError> {
    match value {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(StsError::MissingParameter(name)),
    }
}

fn parse_rpc(req: &Incoming) -> Result<SignedFields, StsError> {
    let action = required(req.param("Action"), "Action")?;
    let version = required(req.param("Version"), "Version")?;
    let access_key_id = required(req.param("AccessKeyId"), "AccessKeyId")?;
    let signature = required(req.param("Signature"), "Signature")?;
    let nonce = required(req.param("SignatureNonce"), "SignatureNonce")?;
    let timestamp = required(req.param("Timestamp"), "Timestamp")?;
    if let Some(method) = req.param("SignatureMethod") {
        if method != "HMAC-SHA1" {
            return Err(StsError::IncompleteSignature(format!(
                "SignatureMethod must be HMAC-SHA1, got {method:?}."
            )));
        }
    }
    if let Some(version) = req.param("SignatureVersion") {
        if version != "1.0" {
            return Err(StsError::IncompleteSignature(format!(
                "SignatureVersion must be 1.0, got {version:?}."
            )));
        }
    }
    Ok(SignedFields {
        access_key_id: access_key_id.to_string(),
        nonce: nonce.to_string(),
        timestamp: parse_timestamp(timestamp)?,
        security_token: req
            .param("SecurityToken")
            .filter(|t| !t.is_empty())
            .map(str::to_string),
        action: action.to_string(),
        version: version.to_string(),
        scheme: Scheme::Rpc {
            signature: signature.to_string(),
        },
    })
}

/// Headers an ACS3 signature must cover, so that none of them can be altered or replayed.
const ACS3_MUST_SIGN: [&str; 5] = [
    "host",
    "x-acs-action",
    "x-acs-version",
    "x-acs-date",
    "x-acs-signature-nonce",
];

fn parse_acs3(req: &Incoming) -> Result<SignedFields, StsError> {
    let header = req.header("authorization").unwrap_or("");
    let (access_key_id, signed_headers, signature) = pop::acs3_parse_authorization(header)
        .ok_or_else(|| {
            StsError::IncompleteSignature(
                "Authorization must be ACS3-HMAC-SHA256 Credential=<AccessKeyId>,SignedHeaders=<h1;h2>,Signature=<hex>.".into(),
            )
        })?;
    let action = required(req.header("x-acs-action"), "x-acs-action")?;
    let version = required(req.header("x-acs-version"), "x-acs-version")?;
    let timestamp = required(req.header("x-acs-date"), "x-acs-date")?;
    let nonce = required(req.header("x-acs-signature-nonce"), "x-acs-signature-nonce")?;
    let token = req.header("x-acs-security-token").filter(|t| !t.is_empty());
    let must_sign = ACS3_MUST_SIGN
        .iter()
        .copied()
        .chain(token.map(|_| "x-acs-security-token"));
    for name in must_sign {
        if !signed_headers.iter().any(|h| h == name) {
            return Err(StsError::IncompleteSignature(format!(
                "SignedHeaders must include {name}."
            )));
        }
    }
    Ok(SignedFields {
        access_key_id,
        nonce: nonce.to_string(),
        timestamp: parse_timestamp(timestamp)?,
        security_token: token.map(str::to_string),
        action: action.to_string(),
        version: version.to_string(),
        scheme: Scheme::Acs3 {
            signed_headers,
            signature,
        },
    })
}

/// `YYYY-MM-DDThh:mm:ssZ` (RFC 3339; fractions and offsets are tolerated).
pub fn parse_timestamp(value: &str) -> Result<OffsetDateTime, StsError> {
    OffsetDateTime::parse(value, &Rfc3339).map_err(|_| StsError::TimestampFormat)
}

/// Refuses a timestamp more than [`WINDOW_SECS`] from `now`.
pub fn check_window(timestamp: OffsetDateTime, now: OffsetDateTime) -> Result<(), StsError> {
    match (timestamp - now).whole_seconds().abs() <= WINDOW_SECS {
        true => Ok(()),
        false => Err(StsError::TimestampExpired),
    }
}

/// Checks the window, resolves the key and verifies the signature.
pub fn verify(
    keys: &Keyring,
    req: &Incoming,
    fields: &SignedFields,
    now: OffsetDateTime,
) -> Result<Caller, StsError> {
    check_window(fields.timestamp, now)?;
    let (caller, secret) = resolve(keys, fields, now)?;
    let secret = secret.expose();
    let string_to_sign = match &fields.scheme {
        Scheme::Rpc { .. } => pop::rpc_string_to_sign(&req.method, &req.params()),
        Scheme::Acs3 { signed_headers, .. } => {
            let canonical = pop::acs3_canonical_request(
                &req.method,
                &req.path,
                &req.query,
                &req.headers,
                signed_headers,
                &hashed_payload(req)?,
            );
            pop::acs3_string_to_sign(&canonical)
        }
    };
    let (expected, given) = match &fields.scheme {
        Scheme::Rpc { signature } => (pop::rpc_sign(secret, &string_to_sign), signature),
        Scheme::Acs3 { signature, .. } => (pop::acs3_sign(secret, &string_to_sign), signature),
    };
    match ct_eq(expected.as_bytes(), given.as_bytes()) {
        true => Ok(caller),
        false => Err(StsError::SignatureMismatch { string_to_sign }),
    }
}

/// The payload hash ACS3 signs: `x-acs-content-sha256`, which must be the body's SHA-256.
fn hashed_payload(req: &Incoming) -> Result<String, StsError> {
    let actual = hex::encode(Sha256::digest(&req.body));
    match req.header("x-acs-content-sha256") {
        None => Ok(actual),
        Some(given) if given.eq_ignore_ascii_case(&actual) => Ok(given.to_string()),
        Some(_) => Err(StsError::IncompleteSignature(
            "x-acs-content-sha256 is not the SHA-256 of the request body.".into(),
        )),
    }
}

/// The caller and the secret its signature must use (the shared resolver, in STS's codes).
fn resolve(
    keys: &Keyring,
    fields: &SignedFields,
    now: OffsetDateTime,
) -> Result<(Caller, crate::secret::Secret), StsError> {
    let (principal, secret) = keys
        .resolve(
            Vendor::Aliyun,
            &fields.access_key_id,
            fields.security_token.as_deref(),
            now,
        )
        .map_err(|e| match e {
            AuthError::UnknownAccessKey => StsError::AccessKeyNotFound,
            AuthError::MissingToken => StsError::MissingSecurityToken,
            AuthError::TokenExpired => StsError::SecurityTokenExpired,
            AuthError::TokenInvalid => StsError::SecurityTokenMalformed,
            AuthError::Revoked => StsError::SecurityTokenRevoked,
            AuthError::TokenMismatch => StsError::SecurityTokenMismatch,
            AuthError::Unavailable => StsError::Internal,
        })?;
    let caller = match principal {
        Principal::Root => Caller::Root,
        Principal::Key(name) => Caller::Key(name),
        Principal::Temporary(claims) => Caller::Temporary(claims),
        // Grant signing keys are for the object faces (the sts face's keyring has none).
        Principal::Anonymous | Principal::Grant(_) => return Err(StsError::AccessKeyNotFound),
    };
    Ok((caller, secret))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use proptest::prelude::*;

    fn incoming(uri: &str, headers: &[(&str, &str)]) -> Incoming {
        let mut builder = http::Request::builder().method("POST").uri(uri);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let (parts, ()) = builder.body(()).unwrap().into_parts();
        Incoming::new(&parts, Bytes::new()).unwrap()
    }

    fn check(uri: &str, headers: &[(&str, &str)], expected: Result<(), &str>) {
        let got = parse(&incoming(uri, headers))
            .map(|_| ())
            .map_err(|e| e.code());
        assert_eq!(got, expected.map_err(str::to_string), "{uri} {headers:?}");
    }

    const RPC: &str = "/?Action=AssumeRole&Version=2015-04-01&AccessKeyId=k&Signature=s&SignatureNonce=n&Timestamp=2024-01-01T00%3A00%3A00Z";

    #[test]
    fn rpc_fields() {
        check(RPC, &[], Ok(()));
        check("/?Version=2015-04-01", &[], Err("MissingParameter"));
        check(
            &RPC.replace("&Signature=s", ""),
            &[],
            Err("MissingParameter"),
        );
        check(
            &RPC.replace("2024-01-01T", "2024%2F01%2F01%20"),
            &[],
            Err("InvalidTimeStamp.Format"),
        );
        check(
            &format!("{RPC}&SignatureMethod=HMAC-SHA256"),
            &[],
            Err("IncompleteSignature"),
        );
    }

    #[test]
    fn acs3_fields() {
        let signed = "host;x-acs-action;x-acs-date;x-acs-signature-nonce;x-acs-version";
        let auth = format!("ACS3-HMAC-SHA256 Credential=k,SignedHeaders={signed},Signature=ab");
        let headers = [
            ("host", "127.0.0.1"),
            ("authorization", auth.as_str()),
            ("x-acs-action", "GetCallerIdentity"),
            ("x-acs-version", "2015-04-01"),
            ("x-acs-date", "2024-01-01T00:00:00Z"),
            ("x-acs-signature-nonce", "n"),
        ];
        check("/", &headers, Ok(()));
        check("/", &headers[..5], Err("MissingParameter"));
        let mut with_token = headers.to_vec();
        with_token.push(("x-acs-security-token", "CAIS"));
        check("/", &with_token, Err("IncompleteSignature"));
        let unsigned_nonce = auth.replace(";x-acs-signature-nonce", "");
        let mut bad = headers.to_vec();
        bad[1] = ("authorization", unsigned_nonce.as_str());
        check("/", &bad, Err("IncompleteSignature"));
        bad[1] = ("authorization", "ACS3-HMAC-SHA256 garbage");
        check("/", &bad, Err("IncompleteSignature"));
    }

    #[test]
    fn window() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let at = |d: i64| now + time::Duration::seconds(d);
        assert!(check_window(at(900), now).is_ok());
        assert!(check_window(at(-900), now).is_ok());
        assert_eq!(check_window(at(901), now), Err(StsError::TimestampExpired));
        assert_eq!(check_window(at(-901), now), Err(StsError::TimestampExpired));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn parsing_never_panics(query in "[A-Za-z0-9%+=&._~-]{0,120}", auth in any::<String>(), date in any::<String>()) {
            let mut builder = http::Request::builder().uri(format!("/?{query}"));
            if let Ok(v) = http::HeaderValue::from_str(&auth) {
                builder = builder.header("authorization", v);
            }
            if let Ok(v) = http::HeaderValue::from_str(&date) {
                builder = builder.header("x-acs-date", v);
            }
            let (parts, ()) = builder.body(()).unwrap().into_parts();
            let req = Incoming::new(&parts, Bytes::new()).unwrap();
            let _ = parse(&req);
        }

        #[test]
        fn acs3_near_valid_never_panics(auth in "ACS3-HMAC-SHA256 [A-Za-z=,; 0-9-]{0,80}") {
            let req = incoming("/", &[("authorization", auth.as_str()), ("x-acs-action", "A"), ("x-acs-version", "V"), ("x-acs-date", "2024-01-01T00:00:00Z"), ("x-acs-signature-nonce", "n")]);
            let _ = parse(&req);
        }

        #[test]
        fn timestamps_never_panic(s in any::<String>()) {
            let _ = parse_timestamp(&s);
        }
    }
}
