//! The oss face's CORS answers in OSS's shapes: the unauthenticated `OPTIONS` preflight. The
//! rule matching and the `Access-Control-*` headers of ordinary answers are `common/cors.rs`.

use crate::aliyun::endpoint::Target;
use crate::aliyun::error::OssError;
use crate::aliyun::oss::{empty, OssState};
use crate::common::cors::{self, PreflightRefusal};
use axum::response::Response;
use http::{HeaderMap, StatusCode};

fn bad_request(message: &str) -> OssError {
    OssError::new(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        message,
        "0003-00000001",
    )
}

/// `OPTIONS` preflight: unauthenticated, answered from the bucket's CORS rules.
pub fn preflight(
    state: &OssState,
    target: &Target,
    headers: &HeaderMap,
) -> Result<Response, OssError> {
    let bucket = target.bucket.as_deref();
    let answer = cors::preflight(&state.store, bucket, headers).map_err(|e| match e {
        PreflightRefusal::MissingOrigin => {
            bad_request("Insufficient information. Origin request header needed.")
        }
        PreflightRefusal::MissingMethod => bad_request(
            "Insufficient information. Request Access-Control-Request-Method header needed.",
        ),
        PreflightRefusal::NotAllowed => OssError::new(
            StatusCode::FORBIDDEN,
            "AccessForbidden",
            "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Requet-Headers are not whitelisted by the resource's CORS spec.",
            "0003-00000001",
        ),
        PreflightRefusal::Store(e) => OssError::from_store(e, bucket.unwrap_or(""), ""),
    })?;
    let mut r = empty(StatusCode::OK);
    answer.apply(&mut r);
    Ok(r)
}
