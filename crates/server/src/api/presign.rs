//! `POST /v1/presign` (a presigned URL for one key) and `POST /v1/post-policy` (a browser form
//! upload limited to the caller's prefix), signed with the caller's grant-scoped temporary
//! credentials, so the URL or form is worthless outside the grant.
//!
//! Keys are **absolute** object keys (`users/alice/a.txt`, as in OSS), and must lie under the
//! caller's rendered prefix.
//!
//! The host is the grant's provider's object-store endpoint (the embedded face's of the grant's
//! vendor for `local`); the URL and form shapes are the vendor's (`aliyun/presign.rs`: OSS V1/V4
//! URLs and PostObject forms; `tencent/presign.rs`: COS q-sign URLs and POST Object forms).

use super::error::ApiError;
use super::grants::Bundle;
use super::sign::check_key;
use super::signer::{self, Ctx};
use super::ApiState;
use crate::aliyun::presign::{self as oss, UrlParts};
use crate::common::provider::Vendor;
use crate::tencent::presign::{self as cos, Creds};
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use time::OffsetDateTime;

/// Default lifetime of a URL or form, in seconds.
pub const DEFAULT_EXPIRES: i64 = 900;

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PresignBody {
    grant: Option<String>,
    method: String,
    key: String,
    expires: Option<i64>,
    version: Option<String>,
    content_type: Option<String>,
}

/// The bundle a presigned method needs.
fn method_bundle(method: &str) -> Result<Bundle, ApiError> {
    Ok(match method {
        "GET" | "HEAD" => Bundle::Read,
        "PUT" => Bundle::Write,
        "DELETE" => Bundle::Delete,
        other => {
            return Err(ApiError::BadRequest(format!(
                "method {:?} cannot be presigned: use GET, PUT, HEAD or DELETE",
                other.chars().take(16).collect::<String>()
            )))
        }
    })
}

fn check_expires(expires: Option<i64>, max: i64) -> Result<i64, ApiError> {
    let expires = expires.unwrap_or(DEFAULT_EXPIRES);
    if expires < 1 {
        return Err(ApiError::BadRequest(
            "expires must be at least 1 second".into(),
        ));
    }
    if expires > max {
        return Err(ApiError::OutsideGrant(format!(
            "expires {expires} s is beyond the grant's maximum of {max} s"
        )));
    }
    Ok(expires)
}

fn needs(bundles: &[Bundle], bundle: Bundle, what: &str) -> Result<(), ApiError> {
    if bundles.contains(&bundle) {
        return Ok(());
    }
    let have: Vec<&str> = bundles.iter().map(|b| b.name()).collect();
    Err(ApiError::OutsideGrant(format!(
        "{what} needs the {} action, and the grant allows only [{}]",
        bundle.name(),
        have.join(", ")
    )))
}

fn grant_of<'s>(
    state: &'s ApiState,
    name: Option<&str>,
) -> Result<&'s super::grants::Grant, ApiError> {
    super::credentials::find_grant(&state.grants, name)
}

/// The caller's rendered prefix (400 if the claims cannot be used).
fn caller_prefix(
    grant: &super::grants::Grant,
    caller: &super::callers::Caller,
) -> Result<String, ApiError> {
    grant
        .prefix(&caller.claims)
        .map_err(|e| ApiError::InvalidClaim(e.to_string()))
}

async fn presign(
    state: &Arc<ApiState>,
    ctx: &Ctx,
    body: axum::body::Body,
    record: &mut crate::common::audit::Record,
) -> Result<Value, ApiError> {
    let caller = signer::authenticate(state, ctx, record).await?;
    let b: PresignBody = signer::json_body(body).await?;
    record.grant = b.grant.clone().unwrap_or_default();
    let grant = grant_of(state, b.grant.as_deref())?;
    let bundle = method_bundle(&b.method)?;
    needs(&grant.bundles, bundle, &b.method)?;
    let expires = check_expires(b.expires, grant.max_duration)?;
    let v4 = match (grant.vendor, b.version.as_deref()) {
        (Vendor::Aliyun, None | Some("v1")) | (Vendor::Tencent, None) => false,
        (Vendor::Aliyun, Some("v4")) => true,
        (_, Some(other)) => {
            return Err(ApiError::BadRequest(format!(
                "version {:?} is unknown for a {} grant: {}",
                other.chars().take(16).collect::<String>(),
                grant.vendor.name(),
                match grant.vendor {
                    Vendor::Aliyun => "use v1 or v4",
                    Vendor::Tencent => "leave it out (COS has one signature)",
                }
            )))
        }
    };
    if let Some(ct) = &b.content_type {
        if ct.len() > 256 || ct.chars().any(char::is_control) {
            return Err(ApiError::BadRequest(
                "content_type must be at most 256 characters without control characters".into(),
            ));
        }
    }
    // Refused before any credentials are minted.
    check_key(&b.key, &caller_prefix(grant, &caller)?).map_err(ApiError::OutsideGrant)?;
    let (endpoint, region) = super::upstream::storage_target(state, grant)?;
    let scoped = signer::scoped(state, ctx, caller, b.grant.clone(), expires, record).await?;
    let issued = &scoped.issued;
    check_key(&b.key, &issued.prefix).map_err(ApiError::OutsideGrant)?;
    let now = OffsetDateTime::now_utc();
    // The URL cannot outlive the credentials it is signed with.
    let left = (issued.minted.expiration - now).whole_seconds();
    let expires = expires.min(left).max(1);
    let url = match grant.vendor {
        Vendor::Aliyun => {
            let parts = UrlParts {
                endpoint,
                method: &b.method,
                bucket: &issued.bucket,
                key: &b.key,
                content_type: b.content_type.as_deref(),
                access_key_id: &issued.minted.access_key_id,
                secret: issued.minted.access_key_secret.expose(),
                token: &issued.minted.security_token,
                region,
                now,
                expires,
            };
            match v4 {
                true => oss::v4_url(&parts),
                false => oss::v1_url(&parts),
            }
        }
        Vendor::Tencent => cos::url(
            endpoint,
            &issued.bucket,
            &b.key,
            &b.method.to_ascii_lowercase(),
            b.content_type.as_deref(),
            creds(issued),
            now.unix_timestamp(),
            expires,
        ),
    };
    let mut headers = Map::new();
    if let Some(ct) = &b.content_type {
        headers.insert("Content-Type".into(), ct.clone().into());
    }
    let expires_at = now + time::Duration::seconds(expires);
    signer::audit_ok(
        state,
        record,
        issued,
        "presigned",
        format!(
            "/v1/presign {} {} /{}/{} until {}",
            match (grant.vendor, v4) {
                (Vendor::Tencent, _) => "cos",
                (_, true) => "v4",
                (_, false) => "v1",
            },
            b.method,
            issued.bucket,
            b.key,
            expires_at.unix_timestamp()
        ),
    )
    .await?;
    Ok(json!({
        "url": url,
        "method": b.method,
        "expires_at": crate::common::dates::iso8601(expires_at),
        "headers": headers,
    }))
}

/// The scoped credentials as COS signs with them.
fn creds(issued: &super::credentials::Issued) -> Creds<'_> {
    Creds {
        access_key_id: &issued.minted.access_key_id,
        secret: issued.minted.access_key_secret.expose(),
        token: &issued.minted.security_token,
    }
}

/// `POST /v1/presign`.
pub async fn presign_handler(State(state): State<Arc<ApiState>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let ctx = Ctx::new(&parts);
    let mut record = ctx.record();
    match presign(&state, &ctx, body, &mut record).await {
        Ok(v) => signer::no_store(axum::Json(v).into_response()),
        Err(e) => signer::refused(&state, record, e).await,
    }
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PostPolicyBody {
    grant: Option<String>,
    key_prefix: Option<String>,
    max_size: u64,
    #[serde(default)]
    min_size: u64,
    content_types: Option<Vec<String>>,
    expires: Option<i64>,
}

/// The largest `max_size` (5 GiB, the single-upload limit of OSS and COS).
pub const MAX_POST_SIZE: u64 = 5 * 1024 * 1024 * 1024;

async fn post_policy(
    state: &Arc<ApiState>,
    ctx: &Ctx,
    body: axum::body::Body,
    record: &mut crate::common::audit::Record,
) -> Result<Value, ApiError> {
    let caller = signer::authenticate(state, ctx, record).await?;
    let b: PostPolicyBody = signer::json_body(body).await?;
    record.grant = b.grant.clone().unwrap_or_default();
    let grant = grant_of(state, b.grant.as_deref())?;
    needs(&grant.bundles, Bundle::Write, "a form upload")?;
    let expires = check_expires(b.expires, grant.max_duration)?;
    if b.max_size == 0 || b.max_size > MAX_POST_SIZE || b.min_size > b.max_size {
        return Err(ApiError::BadRequest(format!(
            "max_size must be 1..={MAX_POST_SIZE} bytes and min_size at most max_size"
        )));
    }
    if let (Vendor::Tencent, Some(types)) = (grant.vendor, &b.content_types) {
        if types.len() > 1 {
            return Err(ApiError::BadRequest(
                "a COS form policy pins at most one content type; give one in content_types".into(),
            ));
        }
    }
    if let Some(types) = &b.content_types {
        if types.is_empty()
            || types.len() > 64
            || types
                .iter()
                .any(|t| t.is_empty() || t.len() > 256 || t.chars().any(char::is_control))
        {
            return Err(ApiError::BadRequest(
                "content_types must hold 1-64 non-empty types without control characters".into(),
            ));
        }
    }
    if let Some(kp) = &b.key_prefix {
        check_key(kp, &caller_prefix(grant, &caller)?).map_err(ApiError::OutsideGrant)?;
    }
    let (endpoint, _) = super::upstream::storage_target(state, grant)?;
    let scoped = signer::scoped(state, ctx, caller, b.grant.clone(), expires, record).await?;
    let issued = &scoped.issued;
    let key_prefix = b
        .key_prefix
        .clone()
        .unwrap_or_else(|| issued.prefix.clone());
    check_key(&key_prefix, &issued.prefix).map_err(ApiError::OutsideGrant)?;
    let now = OffsetDateTime::now_utc();
    let left = (issued.minted.expiration - now).whole_seconds();
    let expiration = now + time::Duration::seconds(expires.min(left).max(1));
    let fields = match grant.vendor {
        Vendor::Aliyun => {
            let document = oss::policy_document(
                expiration,
                &issued.bucket,
                &key_prefix,
                b.min_size,
                b.max_size,
                b.content_types.as_deref(),
            );
            let m = &issued.minted;
            let secret = m.access_key_secret.expose();
            oss::post_fields(
                &document,
                &key_prefix,
                &m.access_key_id,
                secret,
                &m.security_token,
            )
        }
        Vendor::Tencent => {
            let key_time = format!("{};{}", now.unix_timestamp(), expiration.unix_timestamp());
            let document = cos::policy_document(
                &crate::common::dates::iso8601_ms(expiration),
                &issued.bucket,
                &key_prefix,
                (b.min_size, b.max_size),
                b.content_types
                    .as_deref()
                    .and_then(|t| t.first())
                    .map(String::as_str),
                &issued.minted.access_key_id,
                &key_time,
            );
            cos::post_fields(&document, &key_prefix, creds(issued), &key_time)
        }
    };
    let url = match grant.vendor {
        Vendor::Aliyun => oss::bucket_url(endpoint, &issued.bucket),
        Vendor::Tencent => cos::bucket_base(endpoint, &issued.bucket).0,
    };
    signer::audit_ok(
        state,
        record,
        issued,
        "post-policy",
        format!(
            "/v1/post-policy /{}/{key_prefix}* ≤{} bytes until {}",
            issued.bucket,
            b.max_size,
            expiration.unix_timestamp()
        ),
    )
    .await?;
    Ok(json!({
        "url": format!("{url}/"),
        "key_prefix": key_prefix,
        "expires_at": crate::common::dates::iso8601(expiration),
        "fields": fields,
    }))
}

/// `POST /v1/post-policy`.
pub async fn post_policy_handler(State(state): State<Arc<ApiState>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let ctx = Ctx::new(&parts);
    let mut record = ctx.record();
    match post_policy(&state, &ctx, body, &mut record).await {
        Ok(v) => signer::no_store(axum::Json(v).into_response()),
        Err(e) => signer::refused(&state, record, e).await,
    }
}
