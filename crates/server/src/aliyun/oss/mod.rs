//! The oss face: Alibaba OSS REST over the local store.
//!
//! Every request goes through [`handle`], which reads top to bottom: addressing → operation →
//! signature → policy/ACL → store → render. Operation handlers live in the sibling modules and
//! all take a [`Call`].

mod access;
mod body;
mod bucket;
mod list;
mod multipart;
mod object;
mod post;

use crate::aliyun::auth::{self, Keyring, Signed};
use crate::aliyun::cors;
use crate::aliyun::endpoint::{self, Op, OpError, Target};
use crate::aliyun::error::OssError;
use crate::aliyun::xml::{self, Region};
pub use crate::common::http::{empty, xml_response};
pub use access::Call;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::Response;
use axum::Router;
use http::{HeaderValue, Method, StatusCode};
use rand::Rng;
use std::net::SocketAddr;
use std::sync::Arc;
use stsgate_store::Store;
use time::OffsetDateTime;

/// Everything the oss face needs.
pub struct OssState {
    pub store: Store,
    pub keys: Keyring,
    /// e.g. `cn-hangzhou`
    pub region: String,
}

impl OssState {
    pub fn region(&self) -> Region<'_> {
        Region {
            id: &self.region,
            extranet: "oss-cn-hangzhou.aliyuncs.com",
            intranet: "oss-cn-hangzhou-internal.aliyuncs.com",
        }
    }
}

/// The oss face as a router (tests drive it with `oneshot`; `serve` gives it a listener).
pub fn router(state: Arc<OssState>) -> Router {
    Router::new().fallback(handle).with_state(state)
}

/// A fresh OSS-style request id: 24 uppercase hex digits.
pub fn request_id() -> String {
    let mut rng = rand::thread_rng();
    (0..24)
        .map(|_| char::from(b"0123456789ABCDEF"[rng.gen_range(0..16)]))
        .collect()
}

/// The entry point of every oss-face request.
pub async fn handle(State(state): State<Arc<OssState>>, req: Request) -> Response {
    let request_id = request_id();
    let now = OffsetDateTime::now_utc();
    let method = req.method().clone();
    let head = method == Method::HEAD;
    let host_id = req
        .headers()
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost")
        .to_string();
    let origin = req
        .headers()
        .get(http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let is_options = req.method() == Method::OPTIONS;
    let has_body = crate::common::objects::request_has_body(req.headers());
    let mut cors_bucket = None;
    let result = if req.uri().path() == "/-/healthz" {
        Ok(Response::new(Body::from("ok\n")))
    } else {
        dispatch(state.clone(), req, now, &request_id, &mut cors_bucket).await
    };
    let mut response = result.unwrap_or_else(|e| e.into_response(&request_id, &host_id, head));
    crate::common::http::close_after_unread_body(has_body, &mut response);
    let h = response.headers_mut();
    h.insert(
        "x-oss-request-id",
        HeaderValue::from_str(&request_id).unwrap_or(HeaderValue::from_static("0")),
    );
    h.insert(http::header::SERVER, HeaderValue::from_static("AliyunOSS"));
    if let Ok(v) = HeaderValue::from_str(&xml::rfc1123(now)) {
        h.insert(http::header::DATE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&(now.unix_timestamp_nanos() / 1_000_000).to_string()) {
        h.insert("x-oss-server-time", v);
    }
    if let (Some(origin), Some(bucket), false) = (origin, cors_bucket, is_options) {
        crate::common::cors::add_actual(&state.store, &bucket, &origin, &method, &mut response);
    }
    response
}

async fn dispatch(
    state: Arc<OssState>,
    req: Request,
    now: OffsetDateTime,
    request_id: &str,
    cors_bucket: &mut Option<String>,
) -> Result<Response, OssError> {
    let (parts, body) = req.into_parts();
    let body = crate::common::http::idle_limited(body, &parts.headers);
    let method = parts.method.as_str().to_string();
    let header_list = crate::common::http::header_pairs(&parts.headers);
    let query = stsgate_signing::encode::decode_query(parts.uri.query().unwrap_or(""));
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .or(parts.uri.host());
    let targets = endpoint::targets(host, parts.uri.path()).map_err(|_| {
        OssError::new(
            StatusCode::BAD_REQUEST,
            "InvalidURI",
            "The request path is not valid percent-encoded UTF-8.",
            "0016-00000001",
        )
    })?;
    if let Some(b) = &targets[0].bucket {
        *cors_bucket = Some(b.clone());
    }
    if parts.method == Method::OPTIONS {
        return cors::preflight(&state, &targets[0], &parts.headers);
    }
    let signed = Signed {
        method: &method,
        headers: &header_list,
        query: &query,
        authority: None,
    };
    let (principal, chosen) =
        auth::authenticate(&state.keys, &signed, &targets, now, &state.region)?;
    let Target { bucket, key } = targets[chosen].clone();
    *cors_bucket = bucket.clone();
    if let Some(b) = &bucket {
        if !stsgate_store::valid_bucket_name(b) {
            return Err(OssError::invalid_bucket_name(b));
        }
    }
    if let Some(k) = &key {
        if !stsgate_store::valid_object_key(k) {
            return Err(OssError::invalid_object_name(k));
        }
    }
    let has_copy_source = parts.headers.contains_key("x-oss-copy-source");
    let op = Op::parse(
        &method,
        &Target {
            bucket: bucket.clone(),
            key: key.clone(),
        },
        &query,
        has_copy_source,
    )
    .map_err(|e| match e {
        OpError::MethodNotAllowed(kind) => OssError::method_not_allowed(&method, kind),
        OpError::NotImplemented(what) => OssError::not_implemented(&what),
    })?;
    if let Some(name) = body::unimplemented_header(parts.headers.keys().map(|k| k.as_str())) {
        return Err(OssError::header_not_implemented(name));
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
        header_list,
        query,
        now,
        source_ip,
        request_id: request_id.to_string(),
    };
    // Operations whose resources come from the body or a header authorize inside their handler.
    // (PutObjectTagging: once its body's tags are known, for `oss:RequestObjectTag`.)
    if !matches!(
        op,
        Op::PostObject | Op::DeleteMultipleObjects | Op::PutObjectTagging
    ) {
        let key = op.is_object_level().then_some(call.key.as_str());
        call.authorize(op, op.action(), &call.bucket, key)?;
    }
    // Hotlink protection: anonymous and presigned-URL requests carry an allowed Referer.
    let presigned = call.param("Signature").is_some() || call.param("x-oss-signature").is_some();
    if (presigned || matches!(call.principal, auth::Principal::Anonymous))
        && !call.bucket.is_empty()
    {
        if let Some(config) = bucket::referer_config(&call, &call.bucket)? {
            if let Some(ec) = config.refuses(call.header("referer").as_deref()) {
                return Err(OssError::new(
                    StatusCode::FORBIDDEN,
                    "AccessDenied",
                    "You are denied by bucket referer policy.",
                    ec,
                ));
            }
        }
    }
    // An object ACL set on the way in (`x-oss-object-acl`) is PutObjectAcl too: credentials whose
    // policy does not allow oss:PutObjectAcl cannot make what they write public.
    // The writes that take an object's metadata headers.
    let writes_meta = matches!(
        op,
        Op::PutObject
            | Op::AppendObject
            | Op::PutSymlink
            | Op::CopyObject
            | Op::InitiateMultipartUpload
    );
    let sets_acl = writes_meta
        && call
            .header("x-oss-object-acl")
            .is_some_and(|v| !v.is_empty());
    if sets_acl {
        call.authorize(
            Op::PutObjectAcl,
            "oss:PutObjectAcl",
            &call.bucket,
            Some(&call.key),
        )?;
    }
    // Tags set on the way in (`x-oss-tagging`) are PutObjectTagging too.
    let sets_tags = writes_meta && call.header("x-oss-tagging").is_some();
    if sets_tags {
        call.authorize(
            Op::PutObjectTagging,
            "oss:PutObjectTagging",
            &call.bucket,
            Some(&call.key),
        )?;
    }
    let response = match op {
        Op::ListBuckets => list::list_buckets(&call),
        Op::PutBucket => bucket::put_bucket(&call, body).await,
        Op::DeleteBucket => bucket::delete_bucket(&call),
        Op::HeadBucket => bucket::head_bucket(&call),
        Op::GetBucketInfo => bucket::get_bucket_info(&call),
        Op::GetBucketStat => bucket::get_bucket_stat(&call),
        Op::GetBucketLocation => bucket::get_bucket_location(&call),
        Op::GetBucketAcl => bucket::get_bucket_acl(&call),
        Op::PutBucketAcl => bucket::put_bucket_acl(&call),
        Op::PutBucketCors => bucket::put_bucket_cors(&call, body).await,
        Op::GetBucketCors => bucket::get_bucket_cors(&call),
        Op::DeleteBucketCors => bucket::delete_bucket_cors(&call),
        Op::PutBucketLifecycle => bucket::put_bucket_lifecycle(&call, body).await,
        Op::GetBucketLifecycle => bucket::get_bucket_lifecycle(&call),
        Op::DeleteBucketLifecycle => bucket::delete_bucket_lifecycle(&call),
        Op::PutBucketEncryption => bucket::put_bucket_encryption(&call, body).await,
        Op::GetBucketEncryption => bucket::get_bucket_encryption(&call),
        Op::DeleteBucketEncryption => bucket::delete_bucket_encryption(&call),
        Op::PutBucketPolicy => bucket::put_bucket_policy(&call, body).await,
        Op::GetBucketPolicy => bucket::get_bucket_policy(&call),
        Op::DeleteBucketPolicy => bucket::delete_bucket_policy(&call),
        Op::PutBucketReferer => bucket::put_bucket_referer(&call, body).await,
        Op::GetBucketReferer => bucket::get_bucket_referer(&call),
        Op::ListObjects => list::list_objects_v1(&call),
        Op::ListObjectsV2 => list::list_objects_v2(&call),
        Op::ListMultipartUploads => multipart::list_uploads(&call),
        Op::DeleteMultipleObjects => object::delete_multiple(&call, body).await,
        Op::PostObject => post::post_object(&call, body).await,
        Op::PutObject => object::put_object(&call, body).await,
        Op::AppendObject => object::append_object(&call, body).await,
        Op::PutSymlink => object::put_symlink(&call),
        Op::GetSymlink => object::get_symlink(&call),
        Op::CopyObject => object::copy_object(&call).await,
        Op::GetObject => object::get_object(&call, false).await,
        Op::HeadObject => object::get_object(&call, true).await,
        Op::GetObjectMeta => object::get_object_meta(&call),
        Op::DeleteObject => object::delete_object(&call),
        Op::GetObjectAcl => object::get_object_acl(&call),
        Op::PutObjectAcl => object::put_object_acl(&call),
        Op::GetObjectTagging => object::get_object_tagging(&call),
        Op::PutObjectTagging => object::put_object_tagging(&call, body).await,
        Op::DeleteObjectTagging => object::delete_object_tagging(&call),
        Op::InitiateMultipartUpload => multipart::initiate(&call),
        Op::UploadPart => multipart::upload_part(&call, body).await,
        Op::UploadPartCopy => multipart::upload_part_copy(&call).await,
        Op::CompleteMultipartUpload => multipart::complete(&call, body).await,
        Op::AbortMultipartUpload => multipart::abort(&call),
        Op::ListParts => multipart::list_parts(&call),
    }?;
    Ok(response)
}

/// Maps a store error for the call's bucket and key.
pub fn store_err(call: &Call) -> impl Fn(stsgate_store::StoreError) -> OssError + '_ {
    move |e| OssError::from_store(e, &call.bucket, &call.key)
}

/// Runs blocking store work off the async threads.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, OssError> {
    Ok(crate::common::objects::blocking(f).await?)
}
