//! The oss face's CORS answers: the unauthenticated `OPTIONS` preflight and the
//! `Access-Control-*` headers of ordinary answers. The rule matching is `common/cors.rs`.

use crate::aliyun::endpoint::Target;
use crate::aliyun::error::OssError;
use crate::aliyun::oss::{empty, OssState};
use crate::common::cors::{self, CorsHeaders, Preflight, PreflightError};
use axum::response::Response;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};

fn bad_request(message: &str) -> OssError {
    OssError::new(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        message,
        "0003-00000001",
    )
}

fn forbidden() -> OssError {
    OssError::new(
        StatusCode::FORBIDDEN,
        "AccessForbidden",
        "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Requet-Headers are not whitelisted by the resource's CORS spec.",
        "0003-00000001",
    )
}

/// `OPTIONS` preflight: unauthenticated, answered from the bucket's CORS rules.
pub fn preflight(
    state: &OssState,
    target: &Target,
    headers: &HeaderMap,
) -> Result<Response, OssError> {
    let asked = Preflight::from_headers(headers).map_err(|e| match e {
        PreflightError::MissingOrigin => {
            bad_request("Insufficient information. Origin request header needed.")
        }
        PreflightError::MissingMethod => bad_request(
            "Insufficient information. Request Access-Control-Request-Method header needed.",
        ),
    })?;
    let Some(bucket) = &target.bucket else {
        return Err(forbidden());
    };
    let config = match state.store.get_bucket_cors(bucket) {
        Ok(Some(c)) => c,
        Ok(None) => return Err(forbidden()),
        Err(e) => return Err(OssError::from_store(e, bucket, "")),
    };
    let answer = asked.answer(&config).ok_or_else(forbidden)?;
    let mut r = empty(StatusCode::OK);
    insert(&mut r, answer);
    Ok(r)
}

/// CORS headers on an ordinary answer (also on errors, so a browser can read them).
pub fn add_actual(
    state: &OssState,
    bucket: &str,
    origin: &str,
    method: &Method,
    response: &mut Response,
) {
    let Ok(Some(config)) = state.store.get_bucket_cors(bucket) else {
        return;
    };
    if let Some(answer) = cors::actual(&config, origin, method.as_str()) {
        insert(response, answer);
    }
}

fn insert(response: &mut Response, answer: CorsHeaders) {
    for (name, value) in answer.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            response.headers_mut().insert(n, v);
        }
    }
}
