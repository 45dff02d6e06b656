//! `POST /v1/presign` (a presigned URL for one key) and `POST /v1/post-policy` (a browser form
//! upload limited to the caller's prefix), signed with the caller's grant-scoped temporary
//! credentials, so the URL or form is worthless outside the grant.
//!
//! Keys are **absolute** object keys (`users/alice/a.txt`, as in OSS), and must lie under the
//! caller's rendered prefix.
//!
//! The host is the grant's provider's OSS endpoint (the oss face's for `local`): path style
//! (`{endpoint}/{bucket}/{key}`) when its host is an IP address or `localhost`, else
//! virtual-hosted (`{scheme}://{bucket}.{host}/{key}`); see [`bucket_url`]. V4 signatures use the
//! provider's region. Either way the canonical resource is `/{bucket}/{key}`.

use super::error::ApiError;
use super::grants::Bundle;
use super::sign::check_key;
use super::signer::{self, Ctx};
use super::ApiState;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use stsgate_signing::encode::{pe, v4enc};
use stsgate_signing::{oss_v1, oss_v4, post};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

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

/// `YYYYMMDDTHHMMSSZ`
fn v4_date(t: OffsetDateTime) -> String {
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Builds the query string from (name, value) pairs, values percent-encoded.
fn query(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", pe(k), pe(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The URL of `bucket` at `endpoint` (`scheme://host[:port]`): path style `{endpoint}/{bucket}`
/// when the host is an IP address or `localhost` (no per-bucket DNS name there), else
/// virtual-hosted `{scheme}://{bucket}.{host[:port]}` (as Alibaba OSS endpoints are used).
pub fn bucket_url(endpoint: &str, bucket: &str) -> String {
    let endpoint = endpoint.trim_end_matches('/');
    let Some((scheme, rest)) = endpoint.split_once("://") else {
        return format!("{endpoint}/{bucket}");
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    };
    let path_style = host.is_empty()
        || host.starts_with('[')
        || host.parse::<std::net::IpAddr>().is_ok()
        || host.eq_ignore_ascii_case("localhost");
    match path_style {
        true => format!("{endpoint}/{bucket}"),
        false => format!("{scheme}://{bucket}.{authority}{path}"),
    }
}

/// The inputs of a presigned URL.
#[derive(Debug, Clone)]
pub struct UrlParts<'a> {
    pub endpoint: &'a str,
    pub method: &'a str,
    pub bucket: &'a str,
    pub key: &'a str,
    pub content_type: Option<&'a str>,
    pub access_key_id: &'a str,
    pub secret: &'a str,
    pub token: &'a str,
    pub region: &'a str,
    pub now: OffsetDateTime,
    /// Seconds from `now`.
    pub expires: i64,
}

/// A V1 presigned URL (`OSSAccessKeyId`, `Expires`, `Signature`, `security-token`).
pub fn v1_url(p: &UrlParts) -> String {
    let expires = (p.now.unix_timestamp() + p.expires).to_string();
    let resource = oss_v1::canonical_resource(
        Some(p.bucket),
        Some(p.key),
        &[("security-token".to_string(), p.token.to_string())],
    );
    let sts = oss_v1::string_to_sign(
        p.method,
        "",
        p.content_type.unwrap_or(""),
        &expires,
        "",
        &resource,
    );
    let signature = oss_v1::sign(p.secret, &sts);
    format!(
        "{}/{}?{}",
        bucket_url(p.endpoint, p.bucket),
        v4enc(p.key, true),
        query(&[
            ("OSSAccessKeyId", p.access_key_id.to_string()),
            ("Expires", expires),
            ("Signature", signature),
            ("security-token", p.token.to_string()),
        ])
    )
}

/// A V4 presigned URL (`x-oss-signature-version`, `x-oss-credential`, `x-oss-date`,
/// `x-oss-expires`, `x-oss-security-token`, `x-oss-signature`); unsigned payload.
pub fn v4_url(p: &UrlParts) -> String {
    let date = v4_date(p.now);
    let credential = oss_v4::Credential {
        access_key_id: p.access_key_id.to_string(),
        date: date[..8].to_string(),
        region: p.region.to_string(),
        product: "oss".into(),
    };
    let mut pairs: Vec<(&str, String)> = vec![
        ("x-oss-signature-version", "OSS4-HMAC-SHA256".into()),
        (
            "x-oss-credential",
            format!("{}/{}", p.access_key_id, credential.scope()),
        ),
        ("x-oss-date", date.clone()),
        ("x-oss-expires", p.expires.to_string()),
        ("x-oss-security-token", p.token.to_string()),
    ];
    let decoded: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let headers: Vec<(String, String)> = p
        .content_type
        .map(|ct| vec![("content-type".to_string(), ct.to_string())])
        .unwrap_or_default();
    let (canonical, _) = oss_v4::canonical_request(
        p.method,
        Some(p.bucket),
        Some(p.key),
        &decoded,
        &headers,
        &[],
        "UNSIGNED-PAYLOAD",
    );
    let sts = oss_v4::string_to_sign(&date, &credential.scope(), &canonical);
    let key = oss_v4::signing_key(p.secret, &credential.date, p.region, "oss");
    pairs.push(("x-oss-signature", oss_v4::signature(&key, &sts)));
    format!(
        "{}/{}?{}",
        bucket_url(p.endpoint, p.bucket),
        v4enc(p.key, true),
        query(&pairs)
    )
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
    let v4 = match b.version.as_deref() {
        None | Some("v1") => false,
        Some("v4") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "version {:?} is unknown: use v1 or v4",
                other.chars().take(16).collect::<String>()
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
    let (endpoint, region) = super::upstream::oss_target(state, grant)?;
    let scoped = signer::scoped(state, ctx, caller, b.grant.clone(), expires, record).await?;
    let issued = &scoped.issued;
    check_key(&b.key, &issued.prefix).map_err(ApiError::OutsideGrant)?;
    let now = OffsetDateTime::now_utc();
    // The URL cannot outlive the credentials it is signed with.
    let left = (issued.minted.expiration - now).whole_seconds();
    let expires = expires.min(left).max(1);
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
    let url = if v4 { v4_url(&parts) } else { v1_url(&parts) };
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
            if v4 { "v4" } else { "v1" },
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

/// The largest `max_size` (5 GiB, OSS's single-upload limit).
pub const MAX_POST_SIZE: u64 = 5 * 1024 * 1024 * 1024;

/// The policy document (JSON text) pinning bucket, key prefix, size and content types.
pub fn policy_document(
    expiration: OffsetDateTime,
    bucket: &str,
    key_prefix: &str,
    min_size: u64,
    max_size: u64,
    content_types: Option<&[String]>,
) -> String {
    let expiration = expiration
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default();
    let mut conditions = vec![
        json!({ "bucket": bucket }),
        json!(["starts-with", "$key", key_prefix]),
        json!(["content-length-range", min_size, max_size]),
    ];
    if let Some(types) = content_types {
        conditions.push(json!(["in", "$content-type", types]));
    }
    json!({ "expiration": expiration, "conditions": conditions }).to_string()
}

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
    let (endpoint, _) = super::upstream::oss_target(state, grant)?;
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
    let document = policy_document(
        expiration,
        &issued.bucket,
        &key_prefix,
        b.min_size,
        b.max_size,
        b.content_types.as_deref(),
    );
    let policy = b64(document.as_bytes());
    let signature = post::v1_signature(issued.minted.access_key_secret.expose(), &policy);
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
        "url": format!("{}/", bucket_url(endpoint, &issued.bucket)),
        "key_prefix": key_prefix,
        "expires_at": crate::common::dates::iso8601(expiration),
        "fields": {
            "key": format!("{key_prefix}${{filename}}"),
            "policy": policy,
            "OSSAccessKeyId": issued.minted.access_key_id,
            "Signature": signature,
            "x-oss-security-token": issued.minted.security_token,
            "success_action_status": "201",
        },
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_dates() {
        let t = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        assert_eq!(v4_date(t), "20231114T221320Z");
    }

    #[test]
    fn urls_encode_keys_and_carry_the_token() {
        let p = UrlParts {
            endpoint: "http://127.0.0.1:1",
            method: "PUT",
            bucket: "app",
            key: "users/alice/a b+c.txt",
            content_type: Some("text/plain"),
            access_key_id: "STS.x",
            secret: "s",
            token: "CAIS+/=",
            region: "cn-hangzhou",
            now: OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(),
            expires: 60,
        };
        let v1 = v1_url(&p);
        assert!(v1.starts_with("http://127.0.0.1:1/app/users/alice/a%20b%2Bc.txt?OSSAccessKeyId=STS.x&Expires=1700000060&Signature="), "{v1}");
        assert!(v1.ends_with("&security-token=CAIS%2B%2F%3D"), "{v1}");
        let v4 = v4_url(&p);
        assert!(
            v4.contains(
                "x-oss-credential=STS.x%2F20231114%2Fcn-hangzhou%2Foss%2Faliyun_v4_request"
            ),
            "{v4}"
        );
        assert!(v4.contains("&x-oss-expires=60&"), "{v4}");
    }

    #[test]
    fn bucket_urls_are_path_style_for_ips_and_localhost_else_virtual_hosted() {
        for (endpoint, url) in [
            ("http://127.0.0.1:8702", "http://127.0.0.1:8702/app"),
            ("http://127.0.0.1:8702/", "http://127.0.0.1:8702/app"),
            ("http://[::1]:8702", "http://[::1]:8702/app"),
            ("http://localhost:8702", "http://localhost:8702/app"),
            ("https://10.0.0.1", "https://10.0.0.1/app"),
            (
                "https://oss-cn-hangzhou.aliyuncs.com",
                "https://app.oss-cn-hangzhou.aliyuncs.com",
            ),
            (
                "http://oss.example.com:8080",
                "http://app.oss.example.com:8080",
            ),
        ] {
            assert_eq!(bucket_url(endpoint, "app"), url, "{endpoint}");
        }
        let p = UrlParts {
            endpoint: "https://oss-cn-beijing.aliyuncs.com",
            method: "GET",
            bucket: "app",
            key: "users/alice/a b.txt",
            content_type: None,
            access_key_id: "STS.x",
            secret: "s",
            token: "CAIS",
            region: "cn-beijing",
            now: OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(),
            expires: 60,
        };
        let v1 = v1_url(&p);
        assert!(
            v1.starts_with("https://app.oss-cn-beijing.aliyuncs.com/users/alice/a%20b.txt?"),
            "{v1}"
        );
        // The canonical resource is /bucket/key whatever the host.
        let sts = oss_v1::string_to_sign(
            "GET",
            "",
            "",
            "1700000060",
            "",
            "/app/users/alice/a b.txt?security-token=CAIS",
        );
        assert!(
            v1.contains(&format!("Signature={}", pe(&oss_v1::sign("s", &sts)))),
            "{v1}"
        );
        assert!(v4_url(&p).starts_with("https://app.oss-cn-beijing.aliyuncs.com/users/alice/"));
    }

    #[test]
    fn policy_pins_bucket_prefix_size_and_types() {
        let t = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let doc = policy_document(t, "app", "users/alice/", 0, 10, Some(&["image/png".into()]));
        let b64 = b64(doc.as_bytes());
        let parsed = post::PostPolicy::parse_base64(&b64).unwrap();
        assert_eq!(parsed.content_length_range(), Some((0, 10)));
        let fields = |key: &str, ct: &str| {
            vec![
                ("bucket".to_string(), "app".to_string()),
                ("key".to_string(), key.to_string()),
                ("content-type".to_string(), ct.to_string()),
            ]
        };
        assert!(parsed
            .check_fields(&fields("users/alice/a", "image/png"), t)
            .is_ok());
        assert!(parsed
            .check_fields(&fields("users/bob/a", "image/png"), t)
            .is_err());
        assert!(parsed
            .check_fields(&fields("users/alice/a", "text/html"), t)
            .is_err());
        assert!(parsed
            .check_fields(
                &fields("users/alice/a", "image/png"),
                t + time::Duration::seconds(1)
            )
            .is_err());
    }
}
