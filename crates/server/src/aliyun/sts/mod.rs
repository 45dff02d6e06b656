//! The sts face: Alibaba STS (`2015-04-01`) `AssumeRole` and `GetCallerIdentity` at `/`.
//!
//! A request reads top to bottom in [`dispatch`]:
//!
//! ```text
//! decode (request::Incoming: query ∪ form body)
//!   → signature fields (auth::parse: RPC V1 params or ACS3 headers)
//!   → timestamp window, key (root or STS token), signature (auth::verify)
//!   → nonce not used within the window (iam::Iam::use_nonce, durable)
//!   → Version, Action → handlers::{assume_role, get_caller_identity}
//!   → render (JSON, or XML with Format=XML; errors as POP error bodies)
//! ```
//!
//! - [`request`] — decoding; [`auth`] — signatures; [`params`] — AssumeRole's parameter rules;
//!   [`handlers`] — the two actions; [`error`] — `StsError` → POP error; [`render`] — JSON/XML.

pub mod auth;
pub mod error;
pub mod handlers;
pub mod params;
pub mod render;
pub mod request;

use crate::aliyun::auth::Keyring;
use crate::iam::Iam;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::Router;
use error::StsError;
use http::StatusCode;
use render::Format;
use request::Incoming;
use std::sync::Arc;
use time::OffsetDateTime;

/// What the sts face needs: the keys (root, token AEAD) and the roles/nonces database.
#[derive(Debug)]
pub struct StsState {
    pub keys: Keyring,
    pub iam: Iam,
    /// Extra long-term access keys (`stsgate key create`); `None`: only the root key.
    pub access_keys: Option<crate::keys::AccessKeys>,
}

/// The sts face's router: every path and method reaches [`handle`].
pub fn router(state: Arc<StsState>) -> Router {
    Router::new().fallback(handle).with_state(state)
}

/// A POP request id: an uppercase UUID.
pub fn request_id() -> String {
    uuid::Uuid::new_v4().to_string().to_ascii_uppercase()
}

/// The entry point of every sts-face request.
pub async fn handle(State(state): State<Arc<StsState>>, req: Request) -> Response {
    let request_id = request_id();
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, request::MAX_BODY).await {
        Ok(body) => body,
        Err(_) => {
            let err = StsError::invalid("ContentLength", "The request body is too large.");
            return err.into_response(Format::Json, &request_id, "sts.aliyuncs.com");
        }
    };
    let now = OffsetDateTime::now_utc();
    let id = request_id.clone();
    let answer = tokio::task::spawn_blocking(move || match Incoming::new(&parts, body) {
        Ok(req) => dispatch(&state, &req, now, &id),
        Err(err) => err.into_response(Format::Json, &id, "sts.aliyuncs.com"),
    })
    .await;
    answer.unwrap_or_else(|e| {
        tracing::error!(request_id, "sts handler failed: {e}");
        StsError::Internal.into_response(Format::Json, &request_id, "sts.aliyuncs.com")
    })
}

/// Handles one decoded request; `now` is the server's clock.
pub fn dispatch(
    state: &StsState,
    req: &Incoming,
    now: OffsetDateTime,
    request_id: &str,
) -> Response {
    let default = match auth::is_acs3(req) {
        true => Format::Json,
        false => Format::Xml,
    };
    let format = Format::from_param(req.param("Format"), default);
    match answer(state, req, now, request_id) {
        Ok((root, body)) => render::respond(StatusCode::OK, format, root, &body, request_id),
        Err(err) => err.into_response(format, request_id, &req.host_id()),
    }
}

fn answer(
    state: &StsState,
    req: &Incoming,
    now: OffsetDateTime,
    request_id: &str,
) -> Result<(&'static str, serde_json::Value), StsError> {
    if req.path != "/" || !matches!(req.method.as_str(), "GET" | "POST") {
        return Err(StsError::InvalidAction(format!(
            "{} {}",
            req.method, req.path
        )));
    }
    let fields = auth::parse(req)?;
    let caller = auth::verify(&state.keys, state.access_keys.as_ref(), req, &fields, now)?;
    let expires = fields.timestamp.unix_timestamp() + auth::WINDOW_SECS + 1;
    let fresh = state
        .iam
        .use_nonce(
            &fields.access_key_id,
            &fields.nonce,
            expires,
            now.unix_timestamp(),
        )
        .map_err(|e| internal(request_id, e))?;
    if !fresh {
        return Err(StsError::NonceUsed);
    }
    if fields.version != auth::VERSION {
        return Err(StsError::InvalidVersion);
    }
    match fields.action.as_str() {
        "AssumeRole" => handlers::assume_role(state, &caller, &fields, req, now, request_id)
            .map(|body| ("AssumeRoleResponse", body)),
        "GetCallerIdentity" => Ok((
            "GetCallerIdentityResponse",
            handlers::get_caller_identity(state, &caller, request_id),
        )),
        other => Err(StsError::InvalidAction(other.to_string())),
    }
}

/// Logs an internal failure (never sent to the client) and gives `InternalError`.
pub fn internal(request_id: &str, e: impl std::fmt::Display) -> StsError {
    tracing::error!(request_id, "sts internal error: {e}");
    StsError::Internal
}
