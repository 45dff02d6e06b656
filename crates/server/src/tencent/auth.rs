//! Who sent a COS request: the q-sign `Authorization` header, the same fields in a presigned
//! URL's query, or nobody (anonymous). Pure: the current time is a parameter.
//!
//! The recipe covers every SDK (spec §4.1, `/tmp/tcsdk/NOTES.md` §7): the header and param
//! lists are taken in the client's order; a listed header the request lacks counts as empty;
//! params present but not listed are legal (Python's `list_buckets` sends unsigned `marker`);
//! the signed host is the Host header as sent or without its port (Python signs the URL's
//! hostname); `x-cos-security-token` may be signed (Python) or not (Node); the window
//! `q-sign-time` (and the key's `q-key-time`) must contain the current time.

pub use crate::common::http::Signed;
use crate::common::provider::Vendor;
use crate::common::resolve::AuthError;
pub use crate::common::resolve::{Keyring, Principal};
use crate::tencent::endpoint::Target;
use crate::tencent::error::CosError;
use http::StatusCode;
use stsgate_signing::cos::{self, encode_key, Authorization, KeyTime};
use time::OffsetDateTime;

/// The hosts the client may have signed: as sent, then without the port.
fn host_candidates(req: &Signed) -> Vec<String> {
    let sent = req.header("host").or(req.authority).unwrap_or("");
    let mut hosts = vec![sent.to_string()];
    if let Some(bare) = cos::host_without_port(sent) {
        hosts.push(bare.to_string());
    }
    hosts
}

/// The q-sign fields a presigned URL carries.
const QUERY_FIELDS: [&str; 3] = ["q-sign-algorithm", "q-ak", "q-signature"];

/// Authenticates the request. Returns the caller and the index (in `targets`) of the reading
/// whose signed path verified (0 for anonymous requests).
pub fn authenticate(
    keys: &Keyring,
    req: &Signed,
    targets: &[Target],
    now: OffsetDateTime,
) -> Result<(Principal, usize), CosError> {
    let header = req.header("authorization").map(str::trim);
    let authorization = match header.filter(|h| !h.is_empty()) {
        Some(h) => Authorization::parse(h),
        None if QUERY_FIELDS.iter().any(|f| req.param(f).is_some()) => {
            Authorization::from_query(req.query)
        }
        None => return Ok((Principal::Anonymous, 0)),
    }
    .map_err(|e| {
        CosError::access_denied(format!(
            "The request signature is not a valid COS q-sign authorization ({e}): expected q-sign-algorithm=sha1&q-ak=…&q-sign-time=…&q-key-time=…&q-header-list=…&q-url-param-list=…&q-signature=…"
        ))
    })?;
    check_window(&authorization, now)?;
    let token = req
        .header("x-cos-security-token")
        .or_else(|| req.param("x-cos-security-token"));
    let (principal, secret) = keys
        .resolve(Vendor::Tencent, &authorization.access_key_id, token, now)
        .map_err(auth_error)?;
    verify(req, targets, &authorization, secret.expose()).map(|i| (principal, i))
}

/// `now` must lie in both `q-sign-time` and `q-key-time`.
fn check_window(authorization: &Authorization, now: OffsetDateTime) -> Result<(), CosError> {
    let now = now.unix_timestamp();
    for window in [&authorization.sign_time, &authorization.key_time] {
        let inside = KeyTime::parse(window).is_some_and(|w| w.contains(now));
        if !inside {
            return Err(expired(window, now));
        }
    }
    Ok(())
}

/// COS's own words for a signature used outside its window ("Request has expired"), whether
/// the window has passed or not yet begun.
pub fn expired(window: &str, now: i64) -> CosError {
    CosError::access_denied(format!(
        "Request has expired: the signature is valid for {window} (unix seconds) and the server time is {now}. Sign again, and check the client's clock."
    ))
}

/// Checks the signature against each reading's signed path and each candidate host; returns
/// the reading that verified.
fn verify(
    req: &Signed,
    targets: &[Target],
    authorization: &Authorization,
    secret: &str,
) -> Result<usize, CosError> {
    let hosts = host_candidates(req);
    let mut first = None;
    for (i, target) in targets.iter().enumerate() {
        for host in &hosts {
            let http = authorization.http_string(
                req.method,
                &target.signed_path,
                |name| Some(param_value(req, name)),
                |name| Some(header_value(req, name, host)),
            );
            let Some(http) = http else { continue };
            if cos::verify(secret, authorization, &http) {
                return Ok(i);
            }
            first.get_or_insert(http);
        }
    }
    let http = first.unwrap_or_default();
    Err(signature_mismatch(authorization, &http))
}

/// A listed param's value, found by `lower(UrlEncode(name))`; absent counts as empty.
fn param_value(req: &Signed, listed: &str) -> String {
    req.query
        .iter()
        .find(|(k, _)| encode_key(k) == listed)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// A listed header's value (`host`: the candidate being tried); absent counts as empty.
fn header_value(req: &Signed, listed: &str, host: &str) -> String {
    if listed == "host" {
        return host.to_string();
    }
    req.headers
        .iter()
        .find(|(k, _)| encode_key(k) == listed)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// 403 `SignatureDoesNotMatch`, with what the server signed (as real COS answers) so a client
/// author can compare: `FormatString` (the HttpString) and `StringToSign`.
fn signature_mismatch(authorization: &Authorization, http: &str) -> CosError {
    CosError::new(
        StatusCode::FORBIDDEN,
        "SignatureDoesNotMatch",
        "The Signature you specified is invalid: check the SecretKey and how the request was signed.",
    )
    .with("FormatString", http)
    .with(
        "StringToSign",
        cos::string_to_sign(&authorization.sign_time, http),
    )
}

/// A resolver refusal as the cos face says it. COS documents no code for a bad temporary
/// credential, so the closest documented ones: a token that is not ours, was altered, or
/// belongs to another SecretId means the SecretId cannot be resolved (`InvalidAccessKeyId`);
/// an expired or revoked one is refused (`AccessDenied`, as COS denies requests "carrying an
/// expired temporary key"). The messages say which.
pub fn auth_error(e: AuthError) -> CosError {
    let invalid_key =
        |message: &str| CosError::new(StatusCode::FORBIDDEN, "InvalidAccessKeyId", message);
    match e {
        AuthError::UnknownAccessKey | AuthError::MissingToken => invalid_key(
            "The Access Key Id you provided does not exist in our records (a temporary SecretId needs its x-cos-security-token).",
        ),
        AuthError::TokenInvalid => invalid_key(
            "The security token you provided is invalid: send the sessionToken exactly as the credential server returned it.",
        ),
        AuthError::TokenMismatch => invalid_key(
            "The Access Key Id does not match the security token: use the tmpSecretId issued together with this sessionToken.",
        ),
        AuthError::TokenExpired => CosError::access_denied(
            "The security token you provided has expired. Ask your credential server for new temporary credentials.",
        ),
        AuthError::Revoked => CosError::access_denied(
            "The security token you provided has been revoked by the operator. Ask your credential server for new temporary credentials.",
        ),
        AuthError::Unavailable => CosError::internal("the access keys cannot be read"),
    }
}

#[cfg(test)]
mod tests;
