//! Seed-compatible routes (seed 000's Flask server and seed 004's Tencent one), behind the same
//! bearer authentication as `/v1/credentials`, for the caller's default grant of the route's
//! cloud (`user-folder` / `cos-folder`, or the only grant of that cloud):
//!
//! - `GET /sign[?grant=NAME]` (seed 004) → `{code:0, message:"", codeDesc:"Success",
//!   data:{credentials:{sessionToken,tmpSecretId,tmpSecretKey}, expiredTime, startTime}}`, the
//!   caller's scoped Tencent credentials (`format=tencent-legacy`); errors carry a non-zero
//!   `code` and `codeDesc`.
//!
//! - `GET /auth/sts?roleName=X` → the Alibaba STS AssumeRole JSON of the caller's scoped
//!   credentials. `roleName` is recorded in the audit log only: the session name always
//!   identifies the authenticated caller.
//! - `POST /auth/custom` (form field `content`: an OSS V1 string-to-sign) → plain text
//!   `OSS <AccessKeyId>:<signature>`, signed with a long-term key (the grant's signing key, or
//!   its provider's `custom_signing_*` key; see `upstream::custom_signing_key`) for content the
//!   string-to-sign pins to the caller's prefix (`sign::check` with `long_term`): the OSS
//!   mobile SDKs' custom signer sends the request with that `Authorization` and no token.

use super::credentials::{self, Format};
use super::error::ApiError;
use super::sign;
use super::signer::{self, Ctx};
use super::ApiState;
use crate::common::provider::Vendor;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use stsgate_signing::encode::decode_query;

async fn sts(
    state: &Arc<ApiState>,
    ctx: &Ctx,
    query: Option<&str>,
    record: &mut crate::common::audit::Record,
) -> Result<serde_json::Value, ApiError> {
    let caller = signer::authenticate(state, ctx, record).await?;
    let role_name = decode_query(query.unwrap_or(""))
        .into_iter()
        .find(|(k, _)| k == "roleName")
        .map(|(_, v)| v.chars().take(128).collect::<String>());
    let grant = signer::default_grant(state, Vendor::Aliyun, None)?;
    record.grant = grant.clone();
    let scoped = signer::scoped(state, ctx, caller, Some(grant), 0, record).await?;
    signer::audit_ok(
        state,
        record,
        &scoped.issued,
        "issued",
        format!("/auth/sts roleName={:?}", role_name.unwrap_or_default()),
    )
    .await?;
    state.metrics.issuance(&scoped.grant.name, "aliyun-sts");
    Ok(credentials::render(
        state,
        &scoped.issued,
        Format::AliyunSts,
        &ctx.request_id,
    ))
}

async fn tencent_sign(
    state: &Arc<ApiState>,
    ctx: &Ctx,
    query: Option<&str>,
    record: &mut crate::common::audit::Record,
) -> Result<Vec<u8>, ApiError> {
    let caller = signer::authenticate(state, ctx, record).await?;
    let asked = decode_query(query.unwrap_or(""))
        .into_iter()
        .find(|(k, _)| k == "grant")
        .map(|(_, v)| v);
    let grant = signer::default_grant(state, Vendor::Tencent, asked.as_deref())?;
    record.grant = grant.clone();
    let found = credentials::find_grant(&state.grants, Some(&grant))?;
    Format::TencentLegacy.check_grant(found)?;
    let scoped = signer::scoped(state, ctx, caller, Some(grant), 0, record).await?;
    signer::audit_ok(state, record, &scoped.issued, "issued", "/sign".into()).await?;
    state.metrics.issuance(&scoped.grant.name, "tencent-legacy");
    Ok(credentials::render_bytes(
        state,
        &scoped.issued,
        Format::TencentLegacy,
        &ctx.request_id,
    ))
}

/// `GET /sign[?grant=NAME]` (seed 004).
pub async fn tencent_sign_handler(State(state): State<Arc<ApiState>>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    let ctx = Ctx::new(&parts);
    let mut record = ctx.record();
    match tencent_sign(&state, &ctx, parts.uri.query(), &mut record).await {
        Ok(body) => {
            let mut resp = signer::no_store(body.into_response());
            resp.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
            resp
        }
        Err(e) => signer::refused_as(&state, record, e, Format::TencentLegacy).await,
    }
}

/// `GET /auth/sts?roleName=X`.
pub async fn sts_handler(State(state): State<Arc<ApiState>>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    let ctx = Ctx::new(&parts);
    let mut record = ctx.record();
    match sts(&state, &ctx, parts.uri.query(), &mut record).await {
        Ok(v) => signer::no_store(axum::Json(v).into_response()),
        Err(e) => signer::refused(&state, record, e).await,
    }
}

async fn custom(
    state: &Arc<ApiState>,
    ctx: &Ctx,
    body: axum::body::Body,
    record: &mut crate::common::audit::Record,
) -> Result<sign::Signed, ApiError> {
    let caller = signer::authenticate(state, ctx, record).await?;
    let bytes = signer::read_body(body).await?;
    let form = String::from_utf8_lossy(&bytes);
    let content = decode_query(&form)
        .into_iter()
        .find(|(k, _)| k == "content")
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            ApiError::BadRequest(
                "send the string-to-sign in the form field `content` (application/x-www-form-urlencoded)".into(),
            )
        })?;
    let grant = signer::default_grant(state, Vendor::Aliyun, None)?;
    record.grant = grant.clone();
    sign::sign_for(
        state,
        ctx,
        caller,
        Some(grant),
        &content,
        record,
        sign::SignWith::CustomKey,
    )
    .await
}

/// `POST /auth/custom` with the form field `content`.
pub async fn custom_handler(State(state): State<Arc<ApiState>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let ctx = Ctx::new(&parts);
    let mut record = ctx.record();
    // Boxed: the handler's future stays small, so the layers around it move a pointer, not
    // the whole state machine (memmove was ~4% of a request).
    match Box::pin(custom(&state, &ctx, body, &mut record)).await {
        Ok(s) => signer::no_store(s.authorization.into_response()),
        Err(e) => signer::refused(&state, record, e).await,
    }
}
