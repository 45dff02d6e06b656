//! Who sent an OSS request: V1 header (`OSS ak:sig`), V1 presigned query (`OSSAccessKeyId`,
//! `Expires`, `Signature`), V4 header (`OSS4-HMAC-SHA256`), V4 presigned query
//! (`x-oss-signature`), or nobody (anonymous). Pure: the current time is a parameter.

use crate::aliyun::endpoint::Target;
use crate::aliyun::error::OssError;
use crate::aliyun::xml::iso8601_ms;
pub use crate::common::http::Signed;
use crate::common::provider::Vendor;
use crate::common::resolve::AuthError;
pub use crate::common::resolve::{Keyring, Principal};
use http::StatusCode;
use stsgate_signing::{ct_eq, oss_v1, oss_v4};
use time::macros::format_description;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

/// The largest clock difference OSS accepts.
pub const MAX_SKEW: Duration = Duration::minutes(15);
/// The longest validity of a V4 presigned URL (7 days).
pub const MAX_V4_EXPIRES: i64 = 604_800;

/// Authenticates the request. Returns the caller and the index (in `targets`) of the addressing
/// reading whose signature verified (0 for anonymous requests).
pub fn authenticate(
    keys: &Keyring,
    req: &Signed,
    targets: &[Target],
    now: OffsetDateTime,
    region: &str,
) -> Result<(Principal, usize), OssError> {
    if let Some(header) = req.header("authorization") {
        let header = header.trim();
        if header.starts_with("OSS4-HMAC-SHA256") {
            return v4_header(keys, req, targets, header, now, region);
        }
        if header.starts_with("OSS ") {
            return v1_header(keys, req, targets, header, now);
        }
        return Err(OssError::invalid_argument(
            "Authorization header is invalid: expected \"OSS <AccessKeyId>:<Signature>\" or \"OSS4-HMAC-SHA256 Credential=…\".",
            "Authorization",
            header,
        ));
    }
    if req.param("x-oss-signature").is_some() || req.param("x-oss-signature-version").is_some() {
        return v4_query(keys, req, targets, now, region);
    }
    if req.param("Signature").is_some() || req.param("OSSAccessKeyId").is_some() {
        return v1_query(keys, req, targets, now);
    }
    Ok((Principal::Anonymous, 0))
}

fn v1_header(
    keys: &Keyring,
    req: &Signed,
    targets: &[Target],
    header: &str,
    now: OffsetDateTime,
) -> Result<(Principal, usize), OssError> {
    let (ak, provided) = oss_v1::parse_authorization(header).ok_or_else(|| {
        OssError::invalid_argument(
            "Authorization header is invalid: expected \"OSS <AccessKeyId>:<Signature>\".",
            "Authorization",
            header,
        )
    })?;
    let date = req
        .header("x-oss-date")
        .or_else(|| req.header("date"))
        .ok_or_else(|| OssError::access_denied("The request must carry a Date or x-oss-date header (RFC 1123, e.g. \"Wed, 28 Dec 2022 10:27:41 GMT\")."))?;
    let when = httpdate::parse_http_date(date)
        .map(OffsetDateTime::from)
        .map_err(|_| OssError::access_denied(format!("Invalid date \"{date}\": use RFC 1123 GMT, e.g. \"Wed, 28 Dec 2022 10:27:41 GMT\".")))?;
    check_skew(when, now)?;
    let token = req
        .header("x-oss-security-token")
        .or_else(|| req.header("security-token"));
    let (principal, secret) = resolve(keys, &ak, token, now)?;
    verify_v1(req, targets, date, &ak, &secret, &provided).map(|i| (principal, i))
}

/// Checks a V1 signature against each addressing reading; `date` is the `Date`/`x-oss-date`
/// header (header form) or the `Expires` value (URL form). Returns the reading that verified.
fn verify_v1(
    req: &Signed,
    targets: &[Target],
    date: &str,
    ak: &str,
    secret: &str,
    provided: &str,
) -> Result<usize, OssError> {
    let canonical_headers = oss_v1::canonical_oss_headers(req.headers);
    let md5 = req.header("content-md5").unwrap_or("");
    let content_type = req.header("content-type").unwrap_or("");
    let mut first = None;
    for (i, t) in targets.iter().enumerate() {
        let resource = oss_v1::canonical_resource(t.bucket.as_deref(), t.key.as_deref(), req.query);
        let sts = oss_v1::string_to_sign(
            req.method,
            md5,
            content_type,
            date,
            &canonical_headers,
            &resource,
        );
        if ct_eq(oss_v1::sign(secret, &sts).as_bytes(), provided.as_bytes()) {
            return Ok(i);
        }
        first.get_or_insert(sts);
    }
    Err(signature_mismatch(
        ak,
        provided,
        &first.unwrap_or_default(),
        None,
    ))
}

fn v1_query(
    keys: &Keyring,
    req: &Signed,
    targets: &[Target],
    now: OffsetDateTime,
) -> Result<(Principal, usize), OssError> {
    let missing = |name: &str| {
        OssError::access_denied(format!("The presigned URL lacks the {name} parameter; it needs OSSAccessKeyId, Expires and Signature."))
    };
    let ak = req
        .param("OSSAccessKeyId")
        .ok_or_else(|| missing("OSSAccessKeyId"))?;
    let expires = req.param("Expires").ok_or_else(|| missing("Expires"))?;
    let provided = req.param("Signature").ok_or_else(|| missing("Signature"))?;
    let expires_at = expires
        .parse::<i64>()
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .ok_or_else(|| {
            OssError::invalid_argument(
                "Expires must be a Unix time in seconds.",
                "Expires",
                expires,
            )
        })?;
    if now > expires_at {
        return Err(expired(expires_at, now));
    }
    let (principal, secret) = resolve(keys, ak, req.param("security-token"), now)?;
    verify_v1(req, targets, expires, ak, &secret, provided).map(|i| (principal, i))
}

fn v4_header(
    keys: &Keyring,
    req: &Signed,
    targets: &[Target],
    header: &str,
    now: OffsetDateTime,
    region: &str,
) -> Result<(Principal, usize), OssError> {
    let auth = oss_v4::Authorization::parse(header).ok_or_else(|| {
        OssError::invalid_argument(
            "Authorization header is invalid: expected \"OSS4-HMAC-SHA256 Credential=<ak>/<date>/<region>/oss/aliyun_v4_request,Signature=<hex>\".",
            "Authorization",
            header,
        )
    })?;
    let x_oss_date = req.header("x-oss-date").ok_or_else(|| {
        OssError::access_denied("V4 requests must carry an x-oss-date header (YYYYMMDDTHHMMSSZ).")
    })?;
    check_scope_place(&auth.credential, region)?;
    let when = parse_v4_date(x_oss_date)?;
    check_skew(when, now)?;
    check_scope_date(&auth.credential, x_oss_date)?;
    let token = req
        .header("x-oss-security-token")
        .or_else(|| req.header("security-token"));
    let (principal, secret) = resolve(keys, &auth.credential.access_key_id, token, now)?;
    // OSS signs no payload hash but UNSIGNED-PAYLOAD: accepting any other value would let a
    // client believe its body is covered by the signature when nothing checks it.
    let hashed = req
        .header("x-oss-content-sha256")
        .unwrap_or("UNSIGNED-PAYLOAD");
    if hashed != "UNSIGNED-PAYLOAD" {
        return Err(OssError::new(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "x-oss-content-sha256 must be UNSIGNED-PAYLOAD for OSS4-HMAC-SHA256 requests.",
            "0002-00000214",
        )
        .with("ArgumentName", "x-oss-content-sha256")
        .with("ArgumentValue", hashed));
    }
    verify_v4(
        req,
        targets,
        &auth.credential,
        &auth.additional_headers,
        req.query,
        hashed,
        x_oss_date,
        &secret,
        &auth.signature,
    )
    .map(|i| (principal, i))
}

/// The V4 scope must name this store's region and the `oss` product, as OSS requires.
pub fn check_scope_place(credential: &oss_v4::Credential, region: &str) -> Result<(), OssError> {
    if credential.region != region {
        return Err(OssError::new(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "Invalid signing region in Authorization header.",
            "0002-00000226",
        )
        .with("ArgumentName", "region")
        .with("ArgumentValue", &credential.region)
        .with("ExpectedRegion", region));
    }
    if credential.product != "oss" {
        return Err(OssError::new(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "Invalid signing product in Authorization header.",
            "0002-00000227",
        )
        .with("ArgumentName", "product")
        .with("ArgumentValue", &credential.product));
    }
    Ok(())
}

fn v4_query(
    keys: &Keyring,
    req: &Signed,
    targets: &[Target],
    now: OffsetDateTime,
    region: &str,
) -> Result<(Principal, usize), OssError> {
    let missing = |name: &str| {
        OssError::access_denied(format!("The V4 presigned URL lacks the {name} parameter."))
    };
    let version = req
        .param("x-oss-signature-version")
        .ok_or_else(|| missing("x-oss-signature-version"))?;
    if version != "OSS4-HMAC-SHA256" {
        return Err(OssError::invalid_argument(
            "x-oss-signature-version must be OSS4-HMAC-SHA256.",
            "x-oss-signature-version",
            version,
        ));
    }
    let credential_text = req
        .param("x-oss-credential")
        .ok_or_else(|| missing("x-oss-credential"))?;
    let credential = oss_v4::Credential::parse(credential_text).ok_or_else(|| {
        OssError::invalid_argument(
            "x-oss-credential must be <AccessKeyId>/<YYYYMMDD>/<region>/oss/aliyun_v4_request.",
            "x-oss-credential",
            credential_text,
        )
    })?;
    check_scope_place(&credential, region)?;
    let x_oss_date = req
        .param("x-oss-date")
        .ok_or_else(|| missing("x-oss-date"))?;
    let expires = req
        .param("x-oss-expires")
        .ok_or_else(|| missing("x-oss-expires"))?;
    let provided = req
        .param("x-oss-signature")
        .ok_or_else(|| missing("x-oss-signature"))?;
    let when = parse_v4_date(x_oss_date)?;
    check_scope_date(&credential, x_oss_date)?;
    let seconds = expires
        .parse::<i64>()
        .ok()
        .filter(|s| (1..=MAX_V4_EXPIRES).contains(s))
        .ok_or_else(|| {
            OssError::invalid_argument(
                "x-oss-expires must be whole seconds between 1 and 604800.",
                "x-oss-expires",
                expires,
            )
        })?;
    if when - now > MAX_SKEW {
        return Err(skewed(when, now));
    }
    if now > when + Duration::seconds(seconds) {
        return Err(expired(when + Duration::seconds(seconds), now));
    }
    let (principal, secret) = resolve(
        keys,
        &credential.access_key_id,
        req.param("x-oss-security-token"),
        now,
    )?;
    let additional: Vec<String> = req
        .param("x-oss-additional-headers")
        .map(|s| {
            s.split(';')
                .filter(|h| !h.is_empty())
                .map(|h| h.to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default();
    let query: Vec<(String, String)> = req
        .query
        .iter()
        .filter(|(k, _)| k != "x-oss-signature")
        .cloned()
        .collect();
    verify_v4(
        req,
        targets,
        &credential,
        &additional,
        &query,
        "UNSIGNED-PAYLOAD",
        x_oss_date,
        &secret,
        provided,
    )
    .map(|i| (principal, i))
}

#[allow(clippy::too_many_arguments)]
fn verify_v4(
    req: &Signed,
    targets: &[Target],
    credential: &oss_v4::Credential,
    additional: &[String],
    query: &[(String, String)],
    hashed: &str,
    x_oss_date: &str,
    secret: &str,
    provided: &str,
) -> Result<usize, OssError> {
    let key = oss_v4::signing_key(
        secret,
        &credential.date,
        &credential.region,
        &credential.product,
    );
    let scope = credential.scope();
    let mut first = None;
    for (i, t) in targets.iter().enumerate() {
        let (canonical, _) = oss_v4::canonical_request(
            req.method,
            t.bucket.as_deref(),
            t.key.as_deref(),
            query,
            req.headers,
            additional,
            hashed,
        );
        let sts = oss_v4::string_to_sign(x_oss_date, &scope, &canonical);
        if ct_eq(
            oss_v4::signature(&key, &sts).as_bytes(),
            provided.as_bytes(),
        ) {
            return Ok(i);
        }
        first.get_or_insert((sts, canonical));
    }
    let (sts, canonical) = first.unwrap_or_default();
    Err(signature_mismatch(
        &credential.access_key_id,
        provided,
        &sts,
        Some(&canonical),
    ))
}

/// Finds the secret for an access key id (the shared resolver), in OSS's error shapes.
pub fn resolve(
    keys: &Keyring,
    ak: &str,
    token: Option<&str>,
    now: OffsetDateTime,
) -> Result<(Principal, String), OssError> {
    match keys.resolve(Vendor::Aliyun, ak, token, now) {
        Ok((principal, secret)) => Ok((principal, secret.expose().to_string())),
        Err(e) => Err(auth_error(e, ak)),
    }
}

/// A resolver refusal as OSS says it.
pub fn auth_error(e: AuthError, ak: &str) -> OssError {
    match e {
        AuthError::UnknownAccessKey | AuthError::MissingToken => OssError::invalid_access_key_id(ak),
        AuthError::TokenExpired => OssError::new(
            StatusCode::FORBIDDEN,
            "SecurityTokenExpired",
            "The security token you provided has expired. Ask your credential server for new temporary credentials.",
            "0002-00000007",
        ),
        AuthError::TokenInvalid => OssError::new(
            StatusCode::FORBIDDEN,
            "InvalidSecurityToken",
            "The security token you provided is invalid. Send the SecurityToken exactly as the credential server returned it.",
            "0002-00000008",
        ),
        AuthError::TokenMismatch => OssError::new(
            StatusCode::FORBIDDEN,
            "AccessKeyIdAndSecurityTokenNotMatch",
            "The OSS access key id and security token you provided does not match: use the AccessKeyId issued together with this SecurityToken.",
            "0002-00000009",
        )
        .with("OSSAccessKeyId", ak),
        AuthError::Revoked => revoked_token(),
        AuthError::Unavailable => OssError::internal("the access keys cannot be read"),
    }
}

/// A revoked credential: OSS has no code for it, so the closest, `InvalidSecurityToken` (403),
/// with a message that says what happened.
pub fn revoked_token() -> OssError {
    OssError::new(
        StatusCode::FORBIDDEN,
        "InvalidSecurityToken",
        "The security token you provided has been revoked by the operator. Ask your credential server for new temporary credentials.",
        "0002-00000008",
    )
}

fn check_skew(when: OffsetDateTime, now: OffsetDateTime) -> Result<(), OssError> {
    if (when - now).abs() > MAX_SKEW {
        return Err(skewed(when, now));
    }
    Ok(())
}

fn skewed(when: OffsetDateTime, now: OffsetDateTime) -> OssError {
    OssError::new(
        StatusCode::FORBIDDEN,
        "RequestTimeTooSkewed",
        "The difference between the request time and the current time is too large. Check the client's clock (it must be within 15 minutes of the server's).",
        "0002-00000504",
    )
    .with("RequestTime", iso8601_ms(when))
    .with("ServerTime", iso8601_ms(now))
    .with("MaxAllowedSkewMilliseconds", "900000")
}

fn expired(expires: OffsetDateTime, now: OffsetDateTime) -> OssError {
    OssError::access_denied("Request has expired.")
        .with("Expires", iso8601_ms(expires))
        .with("ServerTime", iso8601_ms(now))
}

fn check_scope_date(credential: &oss_v4::Credential, x_oss_date: &str) -> Result<(), OssError> {
    if x_oss_date.get(..8) != Some(credential.date.as_str()) {
        return Err(OssError::invalid_argument(
            "The date in the credential scope must be the date of x-oss-date.",
            "x-oss-credential",
            &credential.date,
        ));
    }
    Ok(())
}

pub fn parse_v4_date(s: &str) -> Result<OffsetDateTime, OssError> {
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    PrimitiveDateTime::parse(s, format)
        .map(PrimitiveDateTime::assume_utc)
        .map_err(|_| {
            OssError::invalid_argument(
                "x-oss-date must be YYYYMMDDTHHMMSSZ (UTC).",
                "x-oss-date",
                s,
            )
        })
}

pub fn signature_mismatch(
    ak: &str,
    provided: &str,
    string_to_sign: &str,
    canonical_request: Option<&str>,
) -> OssError {
    let bytes: Vec<String> = string_to_sign.bytes().map(|b| format!("{b:02x}")).collect();
    let mut e = OssError::new(
        StatusCode::FORBIDDEN,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        "0002-00000040",
    )
    .with("OSSAccessKeyId", ak)
    .with("SignatureProvided", provided)
    .with("StringToSign", string_to_sign)
    .with("StringToSignBytes", bytes.join(" "));
    if let Some(c) = canonical_request {
        e = e.with("CanonicalRequest", c);
    }
    e
}
