//! Who is calling: TC3-HMAC-SHA256 (the `Authorization` header; POST JSON or GET query) or the
//! legacy v1 signature (`Signature` parameter, HmacSHA1 or HmacSHA256; POST form or GET
//! query), the ±300 s timestamp window, and the caller's key (root, extra, temporary) →
//! [`Caller`].
//!
//! A legacy v1 `Nonce` is checked by the dispatcher after this succeeds, so that only correctly
//! signed requests can use one up. TC3 has no nonce: an identical TC3 request inside the
//! window is accepted again, as Tencent does.

use super::error::{TcStsError, TokenProblem};
use super::request::{BodyKind, Incoming};
use crate::common::provider::Vendor;
use crate::common::resolve::{AuthError, Keyring, Principal};
use crate::secret::Secret;
use crate::token::Claims;
use stsgate_signing::tc3;
use stsgate_signing::tc_v1::{self, SignatureMethod};

/// How far the timestamp may be from the server's clock, in seconds.
pub const WINDOW_SECS: i64 = 300;
/// The API version the face speaks.
pub const VERSION: &str = "2018-08-13";
/// The TC3 credential scope's service.
pub const SERVICE: &str = "sts";
/// The hosts a v1 signature may name besides the Host header as sent (and
/// `sts.<Region>.tencentcloudapi.com`).
pub const V1_HOSTS: [&str; 3] = [
    "sts.tencentcloudapi.com",
    "sts.internal.tencentcloudapi.com",
    "sts.intl.tencentcloudapi.com",
];

/// The signature scheme of a request and its scheme-specific fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    /// TC3-HMAC-SHA256 from the `Authorization` header; `timestamp` is `X-TC-Timestamp` as sent.
    Tc3 {
        authorization: tc3::Authorization,
        timestamp: String,
    },
    /// The legacy v1 signature: `Signature` and `Nonce` are parameters.
    V1 {
        method: SignatureMethod,
        signature: String,
        nonce: String,
    },
}

/// The signature fields common to both schemes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedFields {
    pub secret_id: String,
    /// Unix seconds.
    pub timestamp: i64,
    pub token: Option<String>,
    pub action: String,
    pub version: String,
    pub region: Option<String>,
    pub scheme: Scheme,
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub enum Caller {
    /// The account's Tencent root key.
    Root,
    /// An extra long-term key (`stsgate key create`), by name: a sub-account.
    Key(String),
    /// Temporary credentials issued by this server.
    Temporary(Box<Claims>),
}

/// Reads the signature fields without checking anything cryptographic.
pub fn parse(req: &Incoming) -> Result<SignedFields, TcStsError> {
    match req.header("authorization").filter(|a| !a.trim().is_empty()) {
        Some(header) if header.trim_start().starts_with(tc3::ALGORITHM) => parse_tc3(req, header),
        Some(_) => Err(TcStsError::InvalidAuthorization(TC3_SHAPE.into())),
        None if req.param("Signature").is_some() => parse_v1(req),
        None if req.body_kind == BodyKind::Json || req.header("x-tc-action").is_some() => {
            Err(TcStsError::InvalidAuthorization(format!(
                "The request has no Authorization header. {TC3_SHAPE}"
            )))
        }
        None => Err(TcStsError::MissingParameter("Signature")),
    }
}

const TC3_SHAPE: &str = "The Authorization header must be `TC3-HMAC-SHA256 Credential=<SecretId>/<YYYY-MM-DD>/sts/tc3_request, SignedHeaders=content-type;host, Signature=<hex>`.";

fn required<'a>(value: Option<&'a str>, name: &'static str) -> Result<&'a str, TcStsError> {
    value
        .filter(|v| !v.is_empty())
        .ok_or(TcStsError::MissingParameter(name))
}

fn unix_seconds(text: &str, name: &str) -> Result<i64, TcStsError> {
    text.trim().parse().map_err(|_| {
        TcStsError::InvalidParameterValue(format!(
            "{name} must be the current time in unix seconds, got {text:?}."
        ))
    })
}

fn parse_tc3(req: &Incoming, header: &str) -> Result<SignedFields, TcStsError> {
    if req.method == "POST" && req.body_kind == BodyKind::Form {
        return Err(TcStsError::UnsupportedProtocol(
            "A TC3-HMAC-SHA256 request is a POST with a JSON body or a GET with a query string; form bodies belong to the legacy signature (Signature, Nonce, SecretId parameters).".into(),
        ));
    }
    let authorization = tc3::Authorization::parse(header)
        .ok_or_else(|| TcStsError::InvalidAuthorization(TC3_SHAPE.into()))?;
    for name in ["content-type", "host"] {
        if !authorization.signed_headers.iter().any(|h| h == name) {
            return Err(TcStsError::InvalidAuthorization(format!(
                "SignedHeaders must include content-type and host; {name} is missing."
            )));
        }
    }
    let timestamp = required(req.header("x-tc-timestamp"), "X-TC-Timestamp")?;
    Ok(SignedFields {
        secret_id: authorization.credential.secret_id.clone(),
        timestamp: unix_seconds(timestamp, "X-TC-Timestamp")?,
        token: req
            .header("x-tc-token")
            .filter(|t| !t.is_empty())
            .map(str::to_string),
        action: required(req.header("x-tc-action"), "X-TC-Action")?.to_string(),
        version: required(req.header("x-tc-version"), "X-TC-Version")?.to_string(),
        region: req.header("x-tc-region").map(str::to_string),
        scheme: Scheme::Tc3 {
            authorization,
            timestamp: timestamp.to_string(),
        },
    })
}

fn parse_v1(req: &Incoming) -> Result<SignedFields, TcStsError> {
    if req.body_kind == BodyKind::Json {
        return Err(TcStsError::UnsupportedProtocol(
            "The legacy signature (a Signature parameter) is sent in a form body or a query string; a JSON body needs TC3-HMAC-SHA256.".into(),
        ));
    }
    let method = SignatureMethod::of(&req.params).ok_or_else(|| {
        TcStsError::InvalidAuthorization(format!(
            "SignatureMethod must be HmacSHA1 or HmacSHA256, got {:?}.",
            req.param("SignatureMethod").unwrap_or("")
        ))
    })?;
    let timestamp = required(req.param("Timestamp"), "Timestamp")?;
    Ok(SignedFields {
        secret_id: required(req.param("SecretId"), "SecretId")?.to_string(),
        timestamp: unix_seconds(timestamp, "Timestamp")?,
        token: req.non_empty("Token").map(str::to_string),
        action: required(req.param("Action"), "Action")?.to_string(),
        version: required(req.param("Version"), "Version")?.to_string(),
        region: req.param("Region").map(str::to_string),
        scheme: Scheme::V1 {
            method,
            signature: required(req.param("Signature"), "Signature")?.to_string(),
            nonce: required(req.param("Nonce"), "Nonce")?.to_string(),
        },
    })
}

/// Refuses a timestamp more than [`WINDOW_SECS`] from `now` (unix seconds).
pub fn check_window(timestamp: i64, now: i64) -> Result<(), TcStsError> {
    match timestamp.abs_diff(now) <= WINDOW_SECS as u64 {
        true => Ok(()),
        false => Err(TcStsError::SignatureExpire { timestamp, now }),
    }
}

/// TC3's credential scope must name service `sts` and the UTC date of `X-TC-Timestamp`.
pub fn check_scope(credential: &tc3::Credential, timestamp: i64) -> Result<(), TcStsError> {
    if credential.service != SERVICE {
        return Err(TcStsError::SignatureFailure(format!(
            "The Credential names service {:?}; sign STS requests for service \"sts\".",
            credential.service
        )));
    }
    let date = tc3::date_of(timestamp).unwrap_or_default();
    match credential.date == date {
        true => Ok(()),
        false => Err(TcStsError::SignatureFailure(format!(
            "The Credential's date {} is not {date}, the UTC date of X-TC-Timestamp {timestamp}.",
            credential.date
        ))),
    }
}

/// Checks the window (and TC3 scope), resolves the key and verifies the signature.
pub fn verify(
    keys: &Keyring,
    req: &Incoming,
    fields: &SignedFields,
    now: i64,
) -> Result<Caller, TcStsError> {
    check_window(fields.timestamp, now)?;
    if let Scheme::Tc3 { authorization, .. } = &fields.scheme {
        check_scope(&authorization.credential, fields.timestamp)?;
    }
    let (caller, secret) = resolve(keys, fields, now)?;
    let secret = secret.expose();
    let ok = match &fields.scheme {
        Scheme::Tc3 {
            authorization,
            timestamp,
        } => tc3::verify(
            secret,
            authorization,
            timestamp,
            &tc3_canonical_request(req, &authorization.signed_headers),
        ),
        Scheme::V1 {
            method, signature, ..
        } => v1_hosts(req, fields.region.as_deref()).iter().any(|host| {
            let string_to_sign = tc_v1::string_to_sign(&req.method, host, &req.params);
            tc_v1::verify(secret, *method, &string_to_sign, signature)
        }),
    };
    match ok {
        true => Ok(caller),
        false => Err(TcStsError::SignatureFailure(mismatch_hint(req, fields))),
    }
}

/// The canonical request of a TC3 request: the raw query, the signed headers, the body's
/// SHA-256 (or `UNSIGNED-PAYLOAD` when `X-TC-Content-SHA256` says so).
pub fn tc3_canonical_request(req: &Incoming, signed_headers: &[String]) -> String {
    let unsigned = req
        .header("x-tc-content-sha256")
        .is_some_and(|v| v.trim() == tc3::UNSIGNED_PAYLOAD);
    tc3::canonical_request(
        &req.method,
        &req.raw_query,
        &req.headers,
        signed_headers,
        &tc3::hashed_payload(&req.body, unsigned),
    )
}

/// The hosts a v1 signature is checked against: the Host header as sent (with its port), the
/// public, internal and international STS hosts, and `sts.<Region>.tencentcloudapi.com`.
pub fn v1_hosts(req: &Incoming, region: Option<&str>) -> Vec<String> {
    let mut hosts: Vec<String> = req.header("host").map(str::to_string).into_iter().collect();
    hosts.extend(V1_HOSTS.iter().map(|h| h.to_string()));
    let region_ok = |r: &&str| {
        (1..=40).contains(&r.len())
            && r.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if let Some(region) = region.filter(region_ok) {
        hosts.push(format!("sts.{region}.tencentcloudapi.com"));
    }
    hosts
}

fn mismatch_hint(req: &Incoming, fields: &SignedFields) -> String {
    match &fields.scheme {
        Scheme::Tc3 { authorization, .. } => format!(
            "stsgate signed the canonical request with SignedHeaders {}, the query exactly as sent and the body's SHA-256, for {}.",
            authorization.signed_headers.join(";"),
            authorization.credential.scope()
        ),
        Scheme::V1 { method, .. } => format!(
            "stsgate computed {method:?} over {} + host + \"/?\" + the sorted parameters, for the hosts {} (qcloud-python-sts signs its `domain` setting; pass `region` too).",
            req.method,
            v1_hosts(req, fields.region.as_deref()).join(", ")
        ),
    }
}

/// The caller and the secret its signature must use (the shared resolver, in Tencent's codes).
fn resolve(
    keys: &Keyring,
    fields: &SignedFields,
    now: i64,
) -> Result<(Caller, Secret), TcStsError> {
    let now = time::OffsetDateTime::from_unix_timestamp(now).map_err(|_| TcStsError::Internal)?;
    let token = fields.token.as_deref();
    let (principal, secret) = keys
        .resolve(Vendor::Tencent, &fields.secret_id, token, now)
        .map_err(|e| match e {
            AuthError::UnknownAccessKey | AuthError::MissingToken => TcStsError::SecretIdNotFound,
            AuthError::TokenExpired => TcStsError::TokenFailure(TokenProblem::Expired),
            AuthError::TokenInvalid if token.is_some_and(|t| t.starts_with("CAIS")) => {
                TcStsError::TokenFailure(TokenProblem::OtherVendor)
            }
            AuthError::TokenInvalid => TcStsError::TokenFailure(TokenProblem::Invalid),
            AuthError::TokenMismatch => TcStsError::TokenFailure(TokenProblem::Mismatch),
            AuthError::Revoked => TcStsError::TokenFailure(TokenProblem::Revoked),
            AuthError::Unavailable => TcStsError::Internal,
        })?;
    let caller = match principal {
        Principal::Root => Caller::Root,
        Principal::Key(name) => Caller::Key(name),
        Principal::Temporary(claims) => Caller::Temporary(claims),
        Principal::Anonymous | Principal::Grant(_) => return Err(TcStsError::SecretIdNotFound),
    };
    Ok((caller, secret))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use proptest::prelude::*;

    fn incoming(method: &str, uri: &str, headers: &[(&str, &str)], body: &str) -> Incoming {
        let mut builder = http::Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let (parts, ()) = builder.body(()).unwrap().into_parts();
        Incoming::new(&parts, Bytes::from(body.to_string())).unwrap()
    }

    fn check(req: Incoming, expected: Result<&str, &str>) {
        let got = parse(&req)
            .map(|f| match f.scheme {
                Scheme::Tc3 { .. } => format!("tc3 {} {}", f.secret_id, f.action),
                Scheme::V1 { method, .. } => format!("v1 {method:?} {} {}", f.secret_id, f.action),
            })
            .map_err(|e| e.code().to_string());
        assert_eq!(got, expected.map(str::to_string).map_err(str::to_string));
    }

    const AUTH: &str = "TC3-HMAC-SHA256 Credential=AKIDx/2023-11-14/sts/tc3_request, SignedHeaders=content-type;host, Signature=ab";
    const V1: &str = "/?Action=GetCallerIdentity&Version=2018-08-13&SecretId=AKIDx&Timestamp=1700000000&Nonce=7&Signature=s";

    fn tc3_headers(auth: &str) -> Vec<(&str, &str)> {
        vec![
            ("authorization", auth),
            ("content-type", "application/json"),
            ("x-tc-action", "GetCallerIdentity"),
            ("x-tc-version", "2018-08-13"),
            ("x-tc-timestamp", "1700000000"),
        ]
    }

    #[test]
    fn tc3_fields() {
        check(
            incoming("POST", "/", &tc3_headers(AUTH), "{}"),
            Ok("tc3 AKIDx GetCallerIdentity"),
        );
        check(
            incoming("POST", "/", &tc3_headers(AUTH)[..4], "{}"),
            Err("MissingParameter"),
        );
        let host_only = "TC3-HMAC-SHA256 Credential=AKIDx/2023-11-14/sts/tc3_request, SignedHeaders=host, Signature=ab";
        check(
            incoming("POST", "/", &tc3_headers(host_only), "{}"),
            Err("AuthFailure.InvalidAuthorization"),
        );
        check(
            incoming("POST", "/", &tc3_headers("SKIP"), "{}"),
            Err("AuthFailure.InvalidAuthorization"),
        );
        check(
            incoming("POST", "/", &[("content-type", "application/json")], "{}"),
            Err("AuthFailure.InvalidAuthorization"),
        );
        let mut form = tc3_headers(AUTH);
        form[1] = ("content-type", "application/x-www-form-urlencoded");
        check(
            incoming("POST", "/", &form, "A=1"),
            Err("UnsupportedProtocol"),
        );
        let mut bad_time = tc3_headers(AUTH);
        bad_time[4] = ("x-tc-timestamp", "2023-11-14");
        check(
            incoming("GET", "/", &bad_time, ""),
            Err("InvalidParameterValue"),
        );
    }

    #[test]
    fn v1_fields() {
        check(
            incoming("GET", V1, &[], ""),
            Ok("v1 HmacSha1 AKIDx GetCallerIdentity"),
        );
        check(
            incoming("GET", &format!("{V1}&SignatureMethod=HmacSHA256"), &[], ""),
            Ok("v1 HmacSha256 AKIDx GetCallerIdentity"),
        );
        check(
            incoming("GET", &format!("{V1}&SignatureMethod=HmacMD5"), &[], ""),
            Err("AuthFailure.InvalidAuthorization"),
        );
        check(
            incoming("GET", &V1.replace("&Nonce=7", ""), &[], ""),
            Err("MissingParameter"),
        );
        check(
            incoming("GET", "/?Action=GetCallerIdentity", &[], ""),
            Err("MissingParameter"),
        );
        check(
            incoming(
                "POST",
                V1,
                &[("content-type", "application/json")],
                r#"{"A":1}"#,
            ),
            Err("UnsupportedProtocol"),
        );
    }

    #[test]
    fn window_and_scope() {
        assert!(check_window(1000, 1300).is_ok());
        assert!(check_window(1300, 1000).is_ok());
        assert_eq!(
            check_window(1000, 1301).unwrap_err().code(),
            "AuthFailure.SignatureExpire"
        );
        assert!(check_window(i64::MIN, i64::MAX).is_err());
        let credential = |s: &str| tc3::Credential::parse(s).unwrap();
        assert!(check_scope(&credential("a/2023-11-14/sts/tc3_request"), 1_700_000_000).is_ok());
        for bad in [
            "a/2023-11-15/sts/tc3_request",
            "a/2023-11-14/cvm/tc3_request",
        ] {
            let err = check_scope(&credential(bad), 1_700_000_000).unwrap_err();
            assert_eq!(err.code(), "AuthFailure.SignatureFailure", "{bad}");
        }
    }

    #[test]
    fn v1_hosts_include_the_host_header_and_the_region() {
        let req = incoming("POST", "/", &[("host", "127.0.0.1:8704")], "");
        assert_eq!(
            v1_hosts(&req, Some("ap-guangzhou")),
            vec![
                "127.0.0.1:8704",
                "sts.tencentcloudapi.com",
                "sts.internal.tencentcloudapi.com",
                "sts.intl.tencentcloudapi.com",
                "sts.ap-guangzhou.tencentcloudapi.com",
            ]
        );
        assert_eq!(v1_hosts(&req, Some("x/../y")).len(), 4);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn parsing_never_panics(query in "[A-Za-z0-9%+=&._~-]{0,120}", auth in any::<String>(), ts in any::<String>()) {
            let mut builder = http::Request::builder().uri(format!("/?{query}"));
            for (name, value) in [("authorization", &auth), ("x-tc-timestamp", &ts)] {
                if let Ok(v) = http::HeaderValue::from_str(value) {
                    builder = builder.header(name, v);
                }
            }
            let (parts, ()) = builder.body(()).unwrap().into_parts();
            let req = Incoming::new(&parts, Bytes::new()).unwrap();
            if let Ok(fields) = parse(&req) {
                let _ = check_window(fields.timestamp, 1_700_000_000);
            }
        }

        #[test]
        fn v1_near_valid_never_panics(
            values in proptest::collection::vec("[ -~]{0,12}", 7),
            method in "(GET|POST)",
        ) {
            let names = ["Action", "Version", "SecretId", "Timestamp", "Nonce", "Signature", "SignatureMethod"];
            let query: Vec<String> = names
                .iter()
                .zip(&values)
                .map(|(k, v)| format!("{k}={}", stsgate_signing::encode::pe(v)))
                .collect();
            let req = incoming(&method, &format!("/?{}", query.join("&")), &[("host", "h")], "");
            if let Ok(fields) = parse(&req) {
                let _ = check_window(fields.timestamp, 1_700_000_000);
                let _ = v1_hosts(&req, fields.region.as_deref());
            }
        }

        #[test]
        fn tc3_near_valid_never_panics(auth in "TC3-HMAC-SHA256 [A-Za-z=,;/ 0-9-]{0,80}", ts in "-?[0-9]{0,20}") {
            let mut headers = tc3_headers(AUTH);
            headers[0] = ("authorization", auth.as_str());
            headers[4] = ("x-tc-timestamp", ts.as_str());
            if let Ok(fields) = parse(&incoming("POST", "/", &headers, "{}")) {
                if let Scheme::Tc3 { authorization, .. } = &fields.scheme {
                    let _ = check_scope(&authorization.credential, fields.timestamp);
                }
            }
        }
    }
}
