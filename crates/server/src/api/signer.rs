//! What the routes that sign on a caller's behalf share (`/v1/presign`, `/v1/post-policy`,
//! `/v1/sign`, `/auth/sts`, `/auth/custom`): the request context, authentication, the caller's
//! grant-scoped credentials from the `/v1/credentials` cache, and audit rows (issuance fails
//! closed; refusals best effort).

use super::credentials::{self, Ask, Issued};
use super::error::ApiError;
use super::grants::Grant;
use super::{callers, ApiState};
use crate::common::audit::Record;
use crate::common::provider::Vendor;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::Response;
use std::net::SocketAddr;
use std::sync::Arc;
use time::OffsetDateTime;

/// The largest JSON or form body read.
pub const MAX_BODY: usize = 64 * 1024;

/// What a handler knows about the request before reading its body.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub request_id: String,
    pub client_ip: String,
    /// The `Authorization` header (shared bytes, not copied; marked sensitive, so `Debug`
    /// never prints the bearer token).
    pub authorization: Option<http::HeaderValue>,
}

/// A request id unique in this process and, with overwhelming probability, across processes: a
/// random per-process half and a counter, shaped as a UUID v4 (no random draw per request).
pub fn request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static PREFIX: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = *PREFIX.get_or_init(|| uuid::Uuid::new_v4().as_u64_pair().0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&prefix.to_be_bytes());
    bytes[8..].copy_from_slice(&n.to_be_bytes());
    // The variant bits overwrite the counter's top two bits (unreachable: 2^62 requests).
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .encode_lower(&mut text)
        .to_string()
}

impl Ctx {
    pub fn new(parts: &http::request::Parts) -> Ctx {
        Ctx {
            request_id: request_id(),
            client_ip: parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string())
                .unwrap_or_default(),
            authorization: parts.headers.get(http::header::AUTHORIZATION).map(|v| {
                let mut v = v.clone();
                v.set_sensitive(true);
                v
            }),
        }
    }

    /// A fresh audit record for this request.
    pub fn record(&self) -> Record {
        Record {
            request_id: self.request_id.clone(),
            client_ip: self.client_ip.clone(),
            ..Record::default()
        }
    }
}

/// Checks the bearer credential (so that a stranger hears 401 before anything about the body).
pub async fn authenticate(
    state: &ApiState,
    ctx: &Ctx,
    record: &mut Record,
) -> Result<callers::Caller, ApiError> {
    let token = callers::bearer(ctx.authorization.as_ref().map(http::HeaderValue::as_bytes))?;
    // Waits (briefly) for a JWKS refetch when the token names a key not seen yet.
    let caller = state
        .verifier
        .verify_async(token, OffsetDateTime::now_utc().unix_timestamp())
        .await?;
    record.caller = caller.id.clone();
    Ok(caller)
}

/// The caller's credentials for `grant` and the grant itself.
#[derive(Debug, Clone)]
pub struct Scoped<'s> {
    pub issued: Arc<Issued>,
    pub grant: &'s Grant,
}

/// The caller's grant-scoped temporary credentials (the `/v1/credentials` cache: reused, or
/// minted and audited), living at least `min_life` more seconds when the grant allows.
pub async fn scoped<'s>(
    state: &'s Arc<ApiState>,
    ctx: &Ctx,
    caller: callers::Caller,
    grant: Option<String>,
    min_life: i64,
    record: &mut Record,
) -> Result<Scoped<'s>, ApiError> {
    let ask = Ask {
        authorization: None,
        grant,
        request_id: ctx.request_id.clone(),
        client_ip: ctx.client_ip.clone(),
    };
    // New credentials live half as long again as the URL or form must, within the grant's
    // maximum, so that the next ones reuse them instead of minting (and auditing, and on a
    // cloud calling STS) a credential each: a 900 s URL from 900 s credentials would not.
    let mint_life = min_life.saturating_mul(3) / 2;
    let issued = credentials::scoped_for(state, caller, &ask, record, min_life, mint_life).await?;
    let grant = credentials::find_grant(&state.grants, ask.grant.as_deref())?;
    Ok(Scoped { issued, grant })
}

/// The grant of a seed-compatible route that names none, among `vendor`'s grants:
/// `user-folder` (Alibaba: `/auth/*`) or `cos-folder` (Tencent: `/sign`), else the only one.
/// `asked` (a `?grant=`) wins when given.
pub fn default_grant(
    state: &ApiState,
    vendor: Vendor,
    asked: Option<&str>,
) -> Result<String, ApiError> {
    if let Some(name) = asked.filter(|n| !n.is_empty()) {
        return Ok(name.to_string());
    }
    let (named, routes) = match vendor {
        Vendor::Aliyun => ("user-folder", "/auth/* routes"),
        Vendor::Tencent => ("cos-folder", "/sign route"),
    };
    let mine: Vec<&Grant> = state.grants.iter().filter(|g| g.vendor == vendor).collect();
    if mine.iter().any(|g| g.name == named) {
        return Ok(named.into());
    }
    match mine.as_slice() {
        [only] => Ok(only.name.clone()),
        [] => Err(ApiError::NoSuchGrant(format!(
            "the {routes} need a {} grant, and this server has none",
            vendor.name()
        ))),
        _ => Err(ApiError::BadRequest(format!(
            "the {routes} use the {} grant named {named}, or the only one; this server has several: name one with ?grant=",
            vendor.name()
        ))),
    }
}

/// Writes the row of a signature or URL made for the caller; nothing is answered without it.
pub async fn audit_ok(
    state: &ApiState,
    record: &mut Record,
    issued: &Issued,
    outcome: &str,
    detail: String,
) -> Result<(), ApiError> {
    record.time = OffsetDateTime::now_utc().unix_timestamp();
    record.access_key_id = issued.minted.access_key_id.clone();
    record.expiration = Some(issued.minted.expiration.unix_timestamp());
    record.outcome = outcome.into();
    record.detail = detail;
    // The row is handed over, not copied; should it fail, the refusal row that follows keeps
    // the request's identity (the rest is lost with the failed write).
    let row = std::mem::take(record);
    record.request_id = row.request_id.clone();
    record.client_ip = row.client_ip.clone();
    record.caller = row.caller.clone();
    record.grant = row.grant.clone();
    match crate::common::audit::write(&state.audit, row).await {
        Ok(()) => Ok(()),
        Err(_) => {
            tracing::error!(request_id = record.request_id, "audit log write failed");
            Err(ApiError::AuditUnavailable)
        }
    }
}

/// Audits a refusal (best effort) and renders it.
pub async fn refused(state: &ApiState, record: Record, err: ApiError) -> Response {
    refused_as(state, record, err, credentials::Format::Stsgate).await
}

/// [`refused`], the error in the shape `format`'s clients read.
pub async fn refused_as(
    state: &ApiState,
    mut record: Record,
    err: ApiError,
    format: credentials::Format,
) -> Response {
    let request_id = record.request_id.clone();
    if !err.audited() {
        return err.render_for(format, &request_id);
    }
    record.time = OffsetDateTime::now_utc().unix_timestamp();
    record.outcome = format!("refused:{}", err.code());
    record.detail = err.to_string();
    if crate::common::audit::write(&state.audit, record)
        .await
        .is_err()
    {
        tracing::error!(request_id, "audit log write of a refusal failed");
    }
    err.render_for(format, &request_id)
}

/// Reads a body of at most [`MAX_BODY`] bytes.
pub async fn read_body(body: Body) -> Result<bytes::Bytes, ApiError> {
    axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
        ApiError::BadRequest(format!(
            "the body could not be read or is larger than {MAX_BODY} bytes"
        ))
    })
}

/// Reads and parses a JSON body (400 naming the problem).
pub async fn json_body<T: serde::de::DeserializeOwned>(body: Body) -> Result<T, ApiError> {
    let bytes = read_body(body).await?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::BadRequest(format!("the body is not the expected JSON: {e}")))
}

/// Marks an answer holding credentials or signatures as not cacheable.
pub fn no_store(mut resp: Response) -> Response {
    resp.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    resp
}

/// The embedded face that serves `vendor`'s grants: its endpoint (500 when it is off).
pub fn local_endpoint(state: &ApiState, vendor: Vendor) -> Result<&str, ApiError> {
    let (endpoint, face) = match vendor {
        Vendor::Aliyun => (&state.oss_endpoint, "oss"),
        Vendor::Tencent => (&state.cos_endpoint, "cos"),
    };
    endpoint.as_deref().ok_or_else(|| {
        ApiError::Internal(format!(
            "the {face} face is off, so there is nothing to sign for"
        ))
    })
}
