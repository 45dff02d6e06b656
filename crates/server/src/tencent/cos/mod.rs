//! The cos face: Tencent COS's XML API over the same local store as the oss face (a COS bucket
//! `app-1250000000` is the store bucket of that name).
//!
//! Every request goes through [`handle`], which reads top to bottom: addressing → signature →
//! bucket name → operation → CAM policy / ACL → store → render. Operation handlers live in the
//! sibling modules and all take a [`Call`].

mod access;
mod body;
mod bucket;
mod list;
mod multipart;
mod object;
mod post;

pub use crate::common::http::{empty, set, xml_response};
pub use access::Call;

use crate::common::header_case::HeaderCase;
use crate::common::objects::request_has_body;
use crate::common::resolve::Keyring;
use crate::datadir::TencentAccount;
use crate::tencent::auth::{self, Signed};
use crate::tencent::cors;
use crate::tencent::endpoint::{self, Op, OpError, Target};
use crate::tencent::error::CosError;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::Response;
use axum::Router;
use base64::Engine as _;
use http::{HeaderValue, Method, StatusCode};
use rand::RngCore;
use std::net::SocketAddr;
use std::sync::Arc;
use stsgate_store::Store;
use time::OffsetDateTime;

/// The default COS region the face reports (`[cos] region` overrides it).
pub const DEFAULT_REGION: &str = "ap-guangzhou";

/// Response header names the SDKs read case-sensitively (cos-python-sdk-v5's plain `dict`),
/// written exactly so.
pub const EXACT_CASE: &[&str] = &[
    "ETag",
    "Content-Length",
    "Content-Type",
    "Last-Modified",
    "Content-Range",
    "Accept-Ranges",
    "Cache-Control",
    "Content-Disposition",
    "Content-Encoding",
    "Content-Language",
    "Content-MD5",
    "Expires",
    "Location",
    "Date",
    "Server",
    "Connection",
    "x-cos-request-id",
    "x-cos-trace-id",
    "x-cos-hash-crc64ecma",
    "x-cos-acl",
    "x-cos-error-code",
    "x-cos-object-type",
    "x-cos-storage-class",
    "x-cos-bucket-region",
];

/// Everything the cos face needs.
pub struct CosState {
    /// The store, shared with the oss face.
    pub store: Store,
    pub keys: Keyring,
    /// e.g. `ap-guangzhou`
    pub region: String,
    /// The account's AppId: every bucket of this face is `<name>-<app_id>`.
    pub app_id: String,
    /// The root account's uin (`qcs::cam::uin/<uin>:uin/<uin>` in ACLs and listings).
    pub uin: String,
    /// Exact-case names for [`EXACT_CASE`].
    pub header_case: HeaderCase,
}

impl CosState {
    pub fn new(store: Store, keys: Keyring, region: &str, account: &TencentAccount) -> CosState {
        CosState {
            store,
            keys,
            region: region.to_string(),
            app_id: account.app_id.clone(),
            uin: account.uin.clone(),
            header_case: HeaderCase::new(EXACT_CASE),
        }
    }

    /// `<bucket>.cos.<region>.myqcloud.com`, the host COS names a bucket by.
    pub fn bucket_host(&self, bucket: &str) -> String {
        format!("{bucket}.cos.{}.myqcloud.com", self.region)
    }

    /// A bucket name of this account: `<name>-<app_id>`, the name 1-50 of `[a-z0-9-]` not
    /// starting or ending with `-`. Another AppId's bucket does not exist here.
    pub fn check_bucket(&self, bucket: &str) -> Result<(), CosError> {
        let invalid = || CosError::invalid_bucket_name(bucket, &self.app_id);
        let (name, app_id) = bucket.rsplit_once('-').ok_or_else(invalid)?;
        if app_id.is_empty() || !app_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        let name_ok = (1..=50).contains(&name.len())
            && !name.starts_with('-')
            && !name.ends_with('-')
            && stsgate_store::valid_bucket_name(bucket);
        if !name_ok {
            return Err(invalid());
        }
        if app_id != self.app_id {
            return Err(CosError::no_such_bucket(bucket));
        }
        Ok(())
    }
}

/// The cos face as a router (tests drive it with `oneshot`; `serve` gives it a listener).
pub fn router(state: Arc<CosState>) -> Router {
    Router::new().fallback(handle).with_state(state)
}

/// A fresh id: URL-safe base64 of `n` random bytes (COS ids are opaque base64 strings).
fn random_id(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The entry point of every cos-face request.
pub async fn handle(State(state): State<Arc<CosState>>, req: Request) -> Response {
    let request_id = random_id(24);
    let now = OffsetDateTime::now_utc();
    let method = req.method().clone();
    let head = method == Method::HEAD;
    let host = req
        .headers()
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .or(req.uri().authority().map(|a| a.as_str()))
        .unwrap_or("localhost")
        .to_string();
    let resource = format!("{host}{}", req.uri().path());
    let origin = req
        .headers()
        .get(http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let has_body = request_has_body(req.headers());
    let mut cors_bucket = None;
    let result = if req.uri().path() == "/-/healthz" {
        Ok(Response::new(Body::from("ok\n")))
    } else {
        dispatch(state.clone(), req, now, &request_id, &mut cors_bucket).await
    };
    let mut response =
        result.unwrap_or_else(|e| e.into_response(&resource, &request_id, &random_id(18), head));
    crate::common::http::close_after_unread_body(has_body, &mut response);
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert("x-cos-request-id", v);
    }
    h.insert(
        http::header::SERVER,
        HeaderValue::from_static("tencent-cos"),
    );
    if let Ok(v) = HeaderValue::from_str(&crate::common::dates::rfc1123(now)) {
        h.insert(http::header::DATE, v);
    }
    if let (Some(origin), Some(bucket), false) = (origin, cors_bucket, method == Method::OPTIONS) {
        cors::add_actual(&state, &bucket, &origin, &method, &mut response);
    }
    state.header_case.apply(&mut response);
    response
}

async fn dispatch(
    state: Arc<CosState>,
    req: Request,
    now: OffsetDateTime,
    request_id: &str,
    cors_bucket: &mut Option<String>,
) -> Result<Response, CosError> {
    let (parts, body) = req.into_parts();
    let body = crate::common::http::idle_limited(body, &parts.headers);
    let method = parts.method.as_str().to_string();
    let header_list = crate::common::http::header_pairs(&parts.headers);
    let query = stsgate_signing::encode::decode_query(parts.uri.query().unwrap_or(""));
    let authority = parts.uri.authority().map(|a| a.as_str().to_string());
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .or(authority.as_deref());
    let targets = endpoint::targets(host, parts.uri.path()).map_err(|_| {
        CosError::new(
            StatusCode::BAD_REQUEST,
            "InvalidURI",
            "The request path is not valid percent-encoded UTF-8.",
        )
    })?;
    cors_bucket.clone_from(&targets[0].bucket);
    if parts.method == Method::OPTIONS {
        return cors::preflight(&state, &targets[0], &parts.headers);
    }
    let signed = Signed {
        method: &method,
        headers: &header_list,
        query: &query,
        authority: authority.as_deref(),
    };
    let (principal, chosen) = auth::authenticate(&state.keys, &signed, &targets, now)?;
    let Target { bucket, key, .. } = targets[chosen].clone();
    cors_bucket.clone_from(&bucket);
    if let Some(b) = &bucket {
        state.check_bucket(b)?;
    }
    if let Some(k) = &key {
        if !stsgate_store::valid_object_key(k) {
            return Err(CosError::invalid_object_name());
        }
    }
    let target = Target {
        bucket: bucket.clone(),
        key: key.clone(),
        signed_path: String::new(),
    };
    let has_copy_source = parts.headers.contains_key("x-cos-copy-source");
    let op = Op::parse(&method, &target, &query, has_copy_source).map_err(|e| match e {
        OpError::MethodNotAllowed(kind) => CosError::method_not_allowed(&method, kind),
        OpError::NotImplemented(what) => CosError::not_implemented(&what),
        OpError::NoBucket => CosError::invalid_request(
            "The request names no bucket: send it to <bucket>-<appid>.cos.<region>.myqcloud.com (Host header or proxy), or to /<bucket>-<appid>/<key>. A presigned URL made with an IP endpoint loses the bucket; make it with the bucket's host.",
        ),
    })?;
    if let Some(name) = body::unimplemented_header(parts.headers.keys().map(|k| k.as_str())) {
        return Err(CosError::header_not_implemented(name));
    }
    let source_ip = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let call = Call {
        state,
        principal,
        op,
        bucket: bucket.unwrap_or_default(),
        key: key.unwrap_or_default(),
        headers: parts.headers,
        query,
        now,
        source_ip,
        request_id: request_id.to_string(),
    };
    // Operations whose resources come from the body authorize inside their handler.
    if !matches!(op, Op::PostObject | Op::DeleteMultipleObjects) {
        let key = op.is_object_level().then_some(call.key.as_str());
        call.authorize(op, &[op.action()], &call.bucket, key)?;
    }
    // An object ACL set on the way in (`x-cos-acl`, `x-cos-grant-*`) is PutObjectACL too:
    // credentials whose policy does not allow cos:PutObjectACL cannot make what they write public.
    let sets_acl = matches!(
        op,
        Op::PutObject | Op::CopyObject | Op::InitiateMultipartUpload | Op::AppendObject
    ) && call.headers.iter().any(|(name, value)| {
        (name.as_str() == "x-cos-acl" || name.as_str().starts_with("x-cos-grant-"))
            && !value.is_empty()
    });
    if sets_acl {
        call.authorize(
            Op::PutObjectAcl,
            &["cos:PutObjectACL"],
            &call.bucket,
            Some(&call.key),
        )?;
    }
    // Tags set on the way in (`x-cos-tagging`) are PutObjectTagging too.
    let sets_tags = matches!(
        op,
        Op::PutObject | Op::CopyObject | Op::InitiateMultipartUpload | Op::AppendObject
    ) && call.headers.contains_key("x-cos-tagging");
    if sets_tags {
        call.authorize(
            Op::PutObjectTagging,
            &["cos:PutObjectTagging"],
            &call.bucket,
            Some(&call.key),
        )?;
    }
    match op {
        Op::GetService => list::list_buckets(&call),
        Op::PutBucket => bucket::put_bucket(&call, body).await,
        Op::HeadBucket => bucket::head_bucket(&call),
        Op::DeleteBucket => bucket::delete_bucket(&call),
        Op::GetBucket => list::list_objects(&call),
        Op::GetBucketAcl => bucket::get_bucket_acl(&call),
        Op::PutBucketAcl => bucket::put_bucket_acl(&call, body).await,
        Op::PutBucketCors => bucket::put_bucket_cors(&call, body).await,
        Op::GetBucketCors => bucket::get_bucket_cors(&call),
        Op::DeleteBucketCors => bucket::delete_bucket_cors(&call),
        Op::GetBucketLocation => bucket::get_bucket_location(&call),
        Op::ListMultipartUploads => multipart::list_uploads(&call),
        Op::DeleteMultipleObjects => object::delete_multiple(&call, body).await,
        Op::PostObject => post::post_object(&call, body).await,
        Op::PutObject => object::put_object(&call, body).await,
        Op::CopyObject => object::copy_object(&call).await,
        Op::GetObject => object::get_object(&call, false).await,
        Op::HeadObject => object::get_object(&call, true).await,
        Op::DeleteObject => object::delete_object(&call),
        Op::GetObjectAcl => object::get_object_acl(&call),
        Op::PutObjectAcl => object::put_object_acl(&call, body).await,
        Op::InitiateMultipartUpload => multipart::initiate(&call),
        Op::UploadPart => multipart::upload_part(&call, body).await,
        Op::CompleteMultipartUpload => multipart::complete(&call, body).await,
        Op::AbortMultipartUpload => multipart::abort(&call),
        Op::ListParts => multipart::list_parts(&call),
        Op::UploadPartCopy => multipart::upload_part_copy(&call).await,
        Op::AppendObject => object::append_object(&call, body).await,
        Op::PutObjectTagging => object::put_object_tagging(&call, body).await,
        Op::GetObjectTagging => object::get_object_tagging(&call),
        Op::DeleteObjectTagging => object::delete_object_tagging(&call),
        Op::PutBucketLifecycle => bucket::put_bucket_lifecycle(&call, body).await,
        Op::GetBucketLifecycle => bucket::get_bucket_lifecycle(&call),
        Op::DeleteBucketLifecycle => bucket::delete_bucket_lifecycle(&call),
        Op::PutBucketEncryption => bucket::put_bucket_encryption(&call, body).await,
        Op::GetBucketEncryption => bucket::get_bucket_encryption(&call),
        Op::DeleteBucketEncryption => bucket::delete_bucket_encryption(&call),
    }
}

/// Maps a store error for the call's bucket.
pub fn store_err(call: &Call) -> impl Fn(stsgate_store::StoreError) -> CosError + '_ {
    move |e| CosError::from_store(e, &call.bucket)
}

/// Runs blocking store work off the async threads.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, CosError> {
    Ok(crate::common::objects::blocking(f).await?)
}
