//! `ApiError`: every failure of the api face, mapped in one place to (status, code, message).
//!
//! The default body is `{"error":{"code":"…","message":"…"}}`. Formats that clients parse
//! themselves get their own fields too: `oss-app-server` adds `StatusCode`, `ErrorCode`,
//! `ErrorMessage` (spec §9.a), `alibaba-credentials-uri` adds `Code` and `Message` (§9.b).
//!
//! Every error body carries `request_id`: ours, the one the audit row and the log lines of the
//! request have, so an operator finds them from what a caller reports.
//!
//! An upstream provider's failure ([`ApiError::Upstream`]) is 502 `UpstreamRefused` or 503
//! `UpstreamUnavailable` (+ `Retry-After: 1`); its message is the hint for the operator (what to
//! change, written without key ids, account ids, role ARNs, endpoints or paths), and the body
//! adds `provider`, `upstream_code` and `upstream_request_id` and nothing else from upstream:
//! the cloud's message, the string-to-sign and where the key came from are the operator's
//! (`UpstreamError::operator_detail`, in the audit row and the log).

use super::credentials::Format;
use crate::common::provider::UpstreamError;
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
    /// Occurs when a route needs something the operator has not configured for the grant, e.g.
    /// `/auth/custom` for a provider grant without a `custom_signing_*` key (501).
    #[error("{0}")]
    NotConfigured(String),
    /// Occurs when a grant's provider (`[provider.NAME]`) refused or failed the upstream call
    /// (502 refused or malformed; 503 throttled, 5xx, timeout, unreachable). Displayed as the
    /// audit detail: provider, upstream code and RequestId, the hint, then what only operators
    /// see (key, role, endpoint, the cloud's message).
    #[error(
        "provider={} upstream_code={} upstream_request_id={} attempts={}: {} [operator: {}]",
        .0.provider,
        .0.code,
        .0.request_id.as_deref().unwrap_or("-"),
        .0.attempts,
        .0.hint,
        .0.operator_detail
    )]
    Upstream(Box<UpstreamError>),
}

impl From<UpstreamError> for ApiError {
    fn from(e: UpstreamError) -> ApiError {
        ApiError::Upstream(Box::new(e))
    }
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
            ApiError::NotConfigured(_) => StatusCode::NOT_IMPLEMENTED,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Upstream(e) if e.status == 503 => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Upstream(_) => StatusCode::BAD_GATEWAY,
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
            ApiError::NotConfigured(_) => "NotConfigured",
            ApiError::RateLimited { .. } => "RateLimited",
            ApiError::Upstream(e) if e.status == 503 => "UpstreamUnavailable",
            ApiError::Upstream(_) => "UpstreamRefused",
        }
    }

    /// The message of the answer body (for an upstream failure: the hint alone; the upstream
    /// fields have their own keys).
    fn message(&self) -> String {
        match self {
            ApiError::Upstream(e) => e.hint.clone(),
            other => other.to_string(),
        }
    }

    /// The response in the shape `format` clients read, with a new request id (for errors no
    /// audit row or log line refers to).
    pub fn render(&self, format: Format) -> Response {
        self.render_for(format, &super::signer::request_id())
    }

    /// The response in the shape `format` clients read, for request `request_id`.
    pub fn render_for(&self, format: Format, request_id: &str) -> Response {
        let status = self.status();
        let message = self.message();
        let mut body =
            json!({"error": {"code": self.code(), "message": message, "request_id": request_id}});
        if let ApiError::Upstream(e) = self {
            let error = &mut body["error"];
            error["provider"] = e.provider.clone().into();
            error["upstream_code"] = plain_token(&e.code).into();
            error["upstream_request_id"] = e.request_id.as_deref().map(plain_token).into();
        }
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
            Format::Tencent | Format::TencentLegacy | Format::TencentV3 => {
                use crate::tencent::formats::{error_fields, Shape};
                let shape = match format {
                    Format::Tencent => Shape::Tencent,
                    Format::TencentLegacy => Shape::Legacy,
                    _ => Shape::V3,
                };
                let fields =
                    error_fields(shape, status.as_u16(), self.code(), &message, request_id);
                if let (Some(body), serde_json::Value::Object(extra)) =
                    (body.as_object_mut(), fields)
                {
                    body.extend(extra);
                }
            }
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
        if status == StatusCode::SERVICE_UNAVAILABLE && matches!(self, ApiError::Upstream(_)) {
            resp.headers_mut().insert(
                http::header::RETRY_AFTER,
                http::HeaderValue::from_static("1"),
            );
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

/// An upstream code or request id as a caller may see it: letters, digits, `.`, `-`, `_`, at most
/// 64 of them (anything else from a broken or hostile endpoint becomes `-`).
fn plain_token(s: &str) -> String {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c));
    match ok {
        true => s.to_string(),
        false => "-".to_string(),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.render(Format::Stsgate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn upstream(status: u16, code: &str) -> ApiError {
        ApiError::from(UpstreamError {
            provider: "x".into(),
            status,
            code: code.into(),
            message: "You are not authorized to do this action.".into(),
            request_id: Some("req-1".into()),
            hint: "the RAM user needs sts:AssumeRole".into(),
            string_to_sign: None,
            attempts: 1,
            operator_detail:
                "key LTAIxyz (id from /etc/stsgate/key.json), role acs:ram::123456789:role/app"
                    .into(),
        })
    }

    async fn body(resp: Response) -> serde_json::Value {
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn upstream_refusals_are_502_with_the_upstream_fields() {
        let e = upstream(502, "NoPermission");
        assert_eq!(e.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(e.code(), "UpstreamRefused");
        assert!(e.audited());
        let detail = e.to_string();
        assert!(detail.contains("provider=x"), "{detail}");
        assert!(detail.contains("upstream_code=NoPermission"), "{detail}");
        assert!(detail.contains("upstream_request_id=req-1"), "{detail}");
        // The audit row keeps what only operators may see.
        assert!(detail.contains("/etc/stsgate/key.json"), "{detail}");
        let resp = e.render_for(Format::Stsgate, "our-id");
        assert!(resp.headers().get(http::header::RETRY_AFTER).is_none());
        // The caller hears the hint, our request id and the upstream's, nothing else of it.
        assert_eq!(
            body(resp).await,
            json!({"error": {
                "code": "UpstreamRefused",
                "message": "the RAM user needs sts:AssumeRole",
                "request_id": "our-id",
                "provider": "x",
                "upstream_code": "NoPermission",
                "upstream_request_id": "req-1",
            }})
        );
        let mut hostile = upstream(502, "<script>");
        if let ApiError::Upstream(u) = &mut hostile {
            u.request_id = Some("a b".into());
        }
        let b = body(hostile.render(Format::Stsgate)).await;
        assert_eq!(
            (
                b["error"]["upstream_code"].as_str(),
                b["error"]["upstream_request_id"].as_str()
            ),
            (Some("-"), Some("-"))
        );
        let app = body(e.render(Format::OssAppServer)).await;
        assert_eq!(app["StatusCode"], 502);
        assert_eq!(app["ErrorCode"], "UpstreamRefused");
        assert_eq!(app["ErrorMessage"], "the RAM user needs sts:AssumeRole");
        let uri = body(e.render(Format::CredentialsUri)).await;
        assert_eq!(uri["Code"], "UpstreamRefused");
        assert_eq!(uri["Message"], "the RAM user needs sts:AssumeRole");
    }

    #[tokio::test]
    async fn upstream_unavailability_is_503_with_retry_after() {
        let mut e = upstream(503, "Throttling.User");
        if let ApiError::Upstream(u) = &mut e {
            u.request_id = None;
        }
        assert_eq!(e.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(e.code(), "UpstreamUnavailable");
        assert!(e.to_string().contains("upstream_request_id=-"));
        let resp = e.render(Format::Stsgate);
        assert_eq!(resp.headers()[http::header::RETRY_AFTER], "1");
        let b = body(resp).await;
        assert_eq!(b["error"]["upstream_request_id"], serde_json::Value::Null);
        assert_eq!(b["error"]["upstream_code"], "Throttling.User");
    }
}
