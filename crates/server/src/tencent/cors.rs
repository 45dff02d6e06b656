//! The cos face's CORS answers in COS's shapes: the unauthenticated `OPTIONS` preflight (the
//! SDKs' browser builds send one before every signed request) and the `Access-Control-*`
//! headers of ordinary answers. The rule matching is `common/cors.rs`.

use crate::common::cors::{self, PreflightRefusal};
use crate::tencent::cos::{empty, CosState};
use crate::tencent::endpoint::Target;
use crate::tencent::error::CosError;
use axum::response::Response;
use http::{HeaderMap, Method, StatusCode};

/// `OPTIONS` preflight: unauthenticated, answered from the bucket's CORS rules (403
/// `AccessForbidden` when none matches, as COS answers).
pub fn preflight(
    state: &CosState,
    target: &Target,
    headers: &HeaderMap,
) -> Result<Response, CosError> {
    let bucket = target.bucket.as_deref();
    if let Some(b) = bucket {
        state.check_bucket(b)?;
    }
    let answer = cors::preflight(&state.store, bucket, headers).map_err(|e| match e {
        PreflightRefusal::MissingOrigin => CosError::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Insufficient information: a preflight needs an Origin header.",
        ),
        PreflightRefusal::MissingMethod => CosError::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Insufficient information: a preflight needs an Access-Control-Request-Method header.",
        ),
        PreflightRefusal::NotAllowed => CosError::new(
            StatusCode::FORBIDDEN,
            "AccessForbidden",
            "CORSResponse: this CORS request is not allowed: no CORS rule of the bucket matches its Origin, Access-Control-Request-Method and Access-Control-Request-Headers.",
        ),
        PreflightRefusal::Store(e) => CosError::from_store(e, bucket.unwrap_or("")),
    })?;
    let mut r = empty(StatusCode::OK);
    answer.apply(&mut r);
    Ok(r)
}

/// CORS headers on an ordinary answer of `bucket`, when one of its rules matches.
pub fn add_actual(
    state: &CosState,
    bucket: &str,
    origin: &str,
    method: &Method,
    response: &mut Response,
) {
    if state.check_bucket(bucket).is_ok() {
        cors::add_actual(&state.store, bucket, origin, method, response);
    }
}
