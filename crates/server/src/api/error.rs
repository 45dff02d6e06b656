//! `ApiError`: every failure of the api face, mapped in one place to (status, code, message).
//!
//! The default body is `{"error":{"code":"…","message":"…"}}`. Formats that clients parse
//! themselves get their own fields too: `oss-app-server` adds `StatusCode`, `ErrorCode`,
//! `ErrorMessage` (spec §9.a), `alibaba-credentials-uri` adds `Code` and `Message` (§9.b).

use super::credentials::Format;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::json;

/// What went wrong, as the caller should hear it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// Occurs when the bearer credential is missing, malformed, expired or not ours (401).
    #[error("{0}")]
    Unauthenticated(String),
    /// Occurs when a request parameter is unusable (400).
    #[error("{0}")]
    BadRequest(String),
    /// Occurs when the caller's claims cannot be used in the grant's prefix (400).
    #[error("{0}")]
    InvalidClaim(String),
    /// Occurs when a request to sign or presign names something outside the caller's grant (403).
    #[error("{0}")]
    OutsideGrant(String),
    /// Occurs when the caller or the request's source IP does not meet the grant's conditions
    /// (`required_claims`, `source_ips`) (403).
    #[error("{0}")]
    ConditionNotMet(String),
    /// Occurs when a caller (not the operator key) asks for an operator-only route (403).
    #[error("{0}")]
    OperatorOnly(String),
    /// Occurs when the named grant does not exist (404).
    #[error("{0}")]
    NoSuchGrant(String),
    /// Occurs when the path names no route (404).
    #[error("{0}")]
    NotFound(String),
    /// Occurs when a ticket's caller was revoked after the ticket was minted (403).
    #[error("{0}")]
    Revoked(String),
    /// Occurs when the audit record cannot be written: nothing is issued (503).
    #[error("the audit log cannot be written, so no credentials are issued; try again later")]
    AuditUnavailable,
    /// Occurs when a client IP or an authenticated caller is over its rate limit (429, with
    /// `Retry-After`). `audit`: this refusal is the sampled one written to the audit log.
    #[error("too many requests (the per-{scope} rate limit); retry after {retry_after} s")]
    RateLimited {
        scope: &'static str,
        retry_after: u64,
        audit: bool,
    },
    /// Occurs when the server's own setup is broken, e.g. role `app` was deleted (500).
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::BadRequest(_) | ApiError::InvalidClaim(_) => StatusCode::BAD_REQUEST,
            ApiError::OutsideGrant(_) => StatusCode::FORBIDDEN,
            ApiError::ConditionNotMet(_) => StatusCode::FORBIDDEN,
            ApiError::OperatorOnly(_) => StatusCode::FORBIDDEN,
            ApiError::Revoked(_) => StatusCode::FORBIDDEN,
            ApiError::NoSuchGrant(_) | ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::AuditUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated(_) => "Unauthenticated",
            ApiError::BadRequest(_) => "InvalidParameter",
            ApiError::InvalidClaim(_) => "InvalidClaim",
            ApiError::OutsideGrant(_) => "OutsideGrant",
            ApiError::ConditionNotMet(_) => "ConditionNotMet",
            ApiError::OperatorOnly(_) => "OperatorOnly",
            ApiError::Revoked(_) => "Revoked",
            ApiError::NoSuchGrant(_) => "NoSuchGrant",
            ApiError::NotFound(_) => "NotFound",
            ApiError::AuditUnavailable => "AuditUnavailable",
            ApiError::Internal(_) => "InternalError",
            ApiError::RateLimited { .. } => "RateLimited",
        }
    }

    /// The response in the shape `format` clients read.
    pub fn render(&self, format: Format) -> Response {
        let status = self.status();
        let message = self.to_string();
        let mut body = json!({"error": {"code": self.code(), "message": message}});
        match format {
            Format::OssAppServer => {
                body["StatusCode"] = status.as_u16().into();
                body["ErrorCode"] = self.code().into();
                body["ErrorMessage"] = message.into();
            }
            Format::CredentialsUri => {
                body["Code"] = self.code().into();
                body["Message"] = message.into();
            }
            Format::Stsgate | Format::AliyunSts => {}
        }
        let mut resp = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                http::header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static("Bearer"),
            );
        }
        if let ApiError::RateLimited { retry_after, .. } = self {
            resp.headers_mut()
                .insert(http::header::RETRY_AFTER, (*retry_after).into());
        }
        resp.extensions_mut().insert(super::metrics::Refused {
            code: self.code(),
            rate_limit_scope: match self {
                ApiError::RateLimited { scope, .. } => Some(*scope),
                _ => None,
            },
        });
        resp
    }

    /// Whether a refusal gets an audit row: all do, except rate-limit refusals outside the sample
    /// (a flood must not fill the disk; `stsgate_api_rate_limited_total` counts every one).
    pub fn audited(&self) -> bool {
        !matches!(self, ApiError::RateLimited { audit: false, .. })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.render(Format::Stsgate)
    }
}
