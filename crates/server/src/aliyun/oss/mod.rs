//! The oss face: Alibaba OSS REST over the local store.
//!
//! Every request goes through [`handle`], which reads top to bottom: addressing → operation →
//! signature → policy/ACL → store → render. Operation handlers live in the sibling modules and
//! all take a [`Call`].

mod body;
mod bucket;
mod list;
mod multipart;
mod object;
mod post;

use crate::aliyun::auth::{self, Keyring, Principal, Signed};
use crate::aliyun::cors;
use crate::aliyun::endpoint::{self, Op, OpError, Target};
use crate::aliyun::error::OssError;
use crate::aliyun::xml::{self, Region};
pub use crate::common::http::{empty, xml_response};
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::Response;
use axum::Router;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use rand::Rng;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use stsgate_policy::{Context, Decision};
use stsgate_store::{Acl, Store};
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

/// One authenticated, parsed request on its way to an operation handler.
pub struct Call {
    pub state: Arc<OssState>,
    pub principal: Principal,
    pub op: Op,
    pub bucket: String,
    pub key: String,
    pub headers: HeaderMap,
    /// All headers as (name, value) strings, for signatures.
    pub header_list: Vec<(String, String)>,
    pub query: Vec<(String, String)>,
    pub now: OffsetDateTime,
    pub source_ip: Option<IpAddr>,
    pub request_id: String,
}

impl Call {
    /// A header value as text (lossy for non-UTF-8 bytes).
    pub fn header(&self, name: &str) -> Option<String> {
        crate::common::objects::header_text(&self.headers, name)
    }

    /// A query parameter, decoded; `None` when absent.
    pub fn param(&self, name: &str) -> Option<&str> {
        crate::common::http::param(&self.query, name)
    }

    /// A query parameter that is present and non-empty (`marker=` means "unset", as in oss2).
    pub fn nonempty_param(&self, name: &str) -> Option<&str> {
        self.param(name).filter(|v| !v.is_empty())
    }

    /// Checks that the caller may do `action` on `bucket`/`key` (`key: None` = bucket level).
    pub fn authorize(
        &self,
        op: Op,
        action: &str,
        bucket: &str,
        key: Option<&str>,
    ) -> Result<(), OssError> {
        let resource = match (bucket, key) {
            ("", _) => format!(
                "acs:oss:{}:{}:*",
                self.state.region, self.state.keys.account_id
            ),
            (b, None) => format!(
                "acs:oss:{}:{}:{b}",
                self.state.region, self.state.keys.account_id
            ),
            (b, Some(k)) => format!(
                "acs:oss:{}:{}:{b}/{k}",
                self.state.region, self.state.keys.account_id
            ),
        };
        let decision = match &self.principal {
            Principal::Root => return Ok(()),
            Principal::Temporary(claims) => {
                let mut policies = Vec::new();
                for text in [&claims.role_policy, &claims.session_policy]
                    .into_iter()
                    .flatten()
                {
                    match stsgate_policy::parse(text) {
                        Ok(p) => policies.push(p),
                        Err(e) => {
                            return Err(OssError::access_denied(format!(
                                "The credential's policy is invalid: {e}"
                            )))
                        }
                    }
                }
                let context = Context {
                    source_ip: self.source_ip,
                    current_time: self.now,
                    secure_transport: false,
                    user_agent: self.header("user-agent"),
                    access_key_id: Some(claims.ak.clone()),
                    prefix: list_param(op, self, "prefix"),
                    delimiter: list_param(op, self, "delimiter"),
                };
                let refs: Vec<&stsgate_policy::Policy> = policies.iter().collect();
                if refs.is_empty() {
                    Decision::Allow
                } else {
                    stsgate_policy::evaluate_all(
                        &refs,
                        &stsgate_policy::Request {
                            action,
                            resource: &resource,
                            context: &context,
                        },
                    )
                }
            }
            // Extra keys are refused before this (the oss face's keyring has none).
            Principal::Anonymous | Principal::Key(_) => Decision::ImplicitDeny,
        };
        match decision {
            Decision::Allow => Ok(()),
            Decision::ExplicitDeny => Err(denied(
                action,
                &resource,
                "an explicit Deny in the credential's policy",
            )),
            Decision::ImplicitDeny => {
                if !bucket.is_empty() && self.acl_allows(op, bucket, key)? {
                    return Ok(());
                }
                Err(match self.principal {
                    Principal::Anonymous => OssError::access_denied(format!(
                        "You have no right to access this {}: anonymous access needs a public ACL. Sign the request with an AccessKey or temporary credentials.",
                        if key.is_some() { "object" } else { "bucket" }
                    )),
                    _ => denied(action, &resource, "no statement of the credential's policy allows it"),
                })
            }
        }
    }

    /// Whether the bucket's (or object's) canned ACL grants `op` to anyone.
    fn acl_allows(&self, op: Op, bucket: &str, key: Option<&str>) -> Result<bool, OssError> {
        if !op.is_public_read() && !op.is_public_write() {
            return Ok(false);
        }
        let bucket_acl = self
            .state
            .store
            .get_bucket(bucket)
            .map_err(|e| OssError::from_store(e, bucket, ""))?
            .acl;
        let mut acl = bucket_acl;
        // An object's own ACL (when not `default`) wins over the bucket's, for reads and writes.
        if let Some(k) = key {
            if let Ok(info) = self.state.store.head_object(bucket, k) {
                if let Some(a) = info.meta.acl.filter(|a| *a != Acl::Default) {
                    acl = a;
                }
            }
        }
        Ok(match acl {
            Acl::PublicReadWrite => op.is_public_read() || op.is_public_write(),
            Acl::PublicRead => op.is_public_read(),
            Acl::Private | Acl::Default => false,
        })
    }

    /// `Location` style URL of an object, as OSS reports it.
    pub fn object_url(&self, key: &str) -> String {
        format!(
            "http://{}.{}/{}",
            self.bucket,
            self.state.region().extranet,
            stsgate_signing::encode::v4enc(key, true)
        )
    }
}

fn list_param(op: Op, call: &Call, name: &str) -> Option<String> {
    matches!(op, Op::ListObjects | Op::ListObjectsV2)
        .then(|| call.param(name).map(str::to_string))
        .flatten()
}

fn denied(action: &str, resource: &str, why: &str) -> OssError {
    OssError::access_denied(format!(
        "You have no right to access this resource: {action} on {resource} is denied by {why}. Ask your credential server for credentials whose policy covers it."
    ))
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
    let (principal, chosen) = auth::authenticate(&state.keys, &signed, &targets, now)?;
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
    if !matches!(op, Op::PostObject | Op::DeleteMultipleObjects) {
        let key = op.is_object_level().then_some(call.key.as_str());
        call.authorize(op, op.action(), &call.bucket, key)?;
    }
    let response = match op {
        Op::ListBuckets => list::list_buckets(&call),
        Op::PutBucket => bucket::put_bucket(&call, body).await,
        Op::DeleteBucket => bucket::delete_bucket(&call),
        Op::HeadBucket => bucket::head_bucket(&call),
        Op::GetBucketInfo => bucket::get_bucket_info(&call),
        Op::GetBucketLocation => bucket::get_bucket_location(&call),
        Op::GetBucketAcl => bucket::get_bucket_acl(&call),
        Op::PutBucketAcl => bucket::put_bucket_acl(&call),
        Op::PutBucketCors => bucket::put_bucket_cors(&call, body).await,
        Op::GetBucketCors => bucket::get_bucket_cors(&call),
        Op::DeleteBucketCors => bucket::delete_bucket_cors(&call),
        Op::ListObjects => list::list_objects_v1(&call),
        Op::ListObjectsV2 => list::list_objects_v2(&call),
        Op::ListMultipartUploads => multipart::list_uploads(&call),
        Op::DeleteMultipleObjects => object::delete_multiple(&call, body).await,
        Op::PostObject => post::post_object(&call, body).await,
        Op::PutObject => object::put_object(&call, body).await,
        Op::CopyObject => object::copy_object(&call).await,
        Op::GetObject => object::get_object(&call, false).await,
        Op::HeadObject => object::get_object(&call, true).await,
        Op::GetObjectMeta => object::get_object_meta(&call),
        Op::DeleteObject => object::delete_object(&call),
        Op::GetObjectAcl => object::get_object_acl(&call),
        Op::PutObjectAcl => object::put_object_acl(&call),
        Op::InitiateMultipartUpload => multipart::initiate(&call),
        Op::UploadPart => multipart::upload_part(&call, body).await,
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
