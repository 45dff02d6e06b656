//! COS errors: each semantic failure of the cos face maps to one (HTTP status, Code, Message,
//! extra elements) and is rendered as COS's `<Error>` XML: `Code`, `Message`, `Resource`,
//! `RequestId`, `TraceId`, all non-empty (cos-python-sdk-v5 reports `Unknown` unless the first
//! four are). HEAD answers have no body; they carry the code in `x-cos-error-code`, which the
//! Python SDK reads for every bodiless error but a 404 (it names that one itself).
//!
//! Never a 5xx for a client's mistake: both SDKs retry 5xx (Python for 6 s). Even features
//! stsgate does not implement answer 400 `NotImplemented`.

use crate::common::objects::ObjectError;
use crate::tencent::xml;
use axum::body::Body;
use axum::response::Response;
use http::StatusCode;
use stsgate_store::StoreError;

/// One COS error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Extra child elements of `<Error>` after `TraceId`, in order (e.g. `StringToSign`).
    pub extra: Vec<(&'static str, String)>,
}

impl CosError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> CosError {
        CosError {
            status,
            code,
            message: message.into(),
            extra: Vec::new(),
        }
    }

    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> CosError {
        self.extra.push((name, value.into()));
        self
    }

    pub fn access_denied(message: impl Into<String>) -> CosError {
        CosError::new(StatusCode::FORBIDDEN, "AccessDenied", message)
    }
    pub fn invalid_argument(message: impl Into<String>) -> CosError {
        CosError::new(StatusCode::BAD_REQUEST, "InvalidArgument", message)
    }
    pub fn invalid_request(message: impl Into<String>) -> CosError {
        CosError::new(StatusCode::BAD_REQUEST, "InvalidRequest", message)
    }
    pub fn malformed_xml(detail: &str) -> CosError {
        CosError::new(
            StatusCode::BAD_REQUEST,
            "MalformedXML",
            format!("The XML you provided was not well-formed or did not validate against our published schema: {detail}"),
        )
    }
    pub fn no_such_bucket(bucket: &str) -> CosError {
        CosError::new(
            StatusCode::NOT_FOUND,
            "NoSuchBucket",
            format!("The specified bucket does not exist: {bucket}."),
        )
    }
    pub fn no_such_key() -> CosError {
        CosError::new(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        )
    }
    pub fn no_such_upload() -> CosError {
        CosError::new(
            StatusCode::NOT_FOUND,
            "NoSuchUpload",
            "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
        )
    }
    pub fn invalid_bucket_name(bucket: &str, app_id: &str) -> CosError {
        CosError::new(
            StatusCode::BAD_REQUEST,
            "InvalidBucketName",
            format!("The specified bucket {bucket:?} is not valid: a COS bucket is <name>-<APPID>, the name 1-50 of [a-z0-9-] not starting or ending with '-', and this server's APPID is {app_id}."),
        )
    }
    pub fn invalid_object_name() -> CosError {
        CosError::new(
            StatusCode::BAD_REQUEST,
            "InvalidObjectName",
            "The specified object key is not valid: a key is 1-1023 bytes of UTF-8 and must not start with '/' or '\\'.",
        )
    }
    pub fn method_not_allowed(method: &str, resource_type: &str) -> CosError {
        CosError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            format!("The specified method {method} is not allowed against this {resource_type}."),
        )
    }
    pub fn not_implemented(what: &str) -> CosError {
        CosError::new(
            StatusCode::BAD_REQUEST,
            "NotImplemented",
            format!("stsgate does not implement {what} yet."),
        )
    }
    /// A tag set the request carries is malformed or breaks a limit.
    pub fn from_tags(e: crate::common::tagging::TagError) -> CosError {
        match e {
            crate::common::tagging::TagError::Malformed(x) => CosError::malformed_xml(&x.0),
            crate::common::tagging::TagError::Invalid(m) => {
                CosError::new(StatusCode::BAD_REQUEST, "InvalidTag", m)
            }
        }
    }
    /// A request header or form field the cos face does not act on.
    pub fn header_not_implemented(name: &str) -> CosError {
        CosError::new(
            StatusCode::BAD_REQUEST,
            "NotImplemented",
            format!("A header you provided implies functionality that is not implemented: stsgate's embedded store does not act on {name}, so it refuses the request rather than ignore it."),
        )
    }
    pub fn internal(detail: &str) -> CosError {
        tracing::error!(%detail, "internal error");
        CosError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "We encountered an internal error. Please try again.",
        )
    }

    /// 503 for a store that cannot take the request now (a full disk, a locked database): the
    /// request changed nothing and a retry later succeeds (SDKs retry 5xx).
    pub fn unavailable(why: stsgate_store::Unavailable, detail: &str) -> CosError {
        tracing::error!(%detail, "store unavailable");
        let message = match why {
            stsgate_store::Unavailable::StorageFull => "The server's storage is full, so nothing was stored. Please try again after space is freed on the stsgate data directory's disk.",
            stsgate_store::Unavailable::Locked => "The server's metadata database is locked by another process. Please try again.",
        };
        CosError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            message,
        )
    }

    /// Maps a store failure on `bucket` to its COS error.
    pub fn from_store(e: StoreError, bucket: &str) -> CosError {
        if let Some(why) = e.unavailable() {
            return CosError::unavailable(why, &e.to_string());
        }
        match e {
            StoreError::NoSuchBucket => CosError::no_such_bucket(bucket),
            StoreError::BucketAlreadyExists => CosError::new(
                StatusCode::CONFLICT,
                "BucketAlreadyExists",
                "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.",
            ),
            StoreError::BucketNotEmpty => CosError::new(
                StatusCode::CONFLICT,
                "BucketNotEmpty",
                "The bucket you tried to delete is not empty: delete its objects and abort its multipart uploads first.",
            ),
            StoreError::NoSuchKey => CosError::no_such_key(),
            StoreError::ObjectAlreadyExists => CosError::new(
                StatusCode::CONFLICT,
                "FileAlreadyExists",
                "The object already exists and x-cos-forbid-overwrite is true.",
            ),
            StoreError::NoSuchUpload => CosError::no_such_upload(),
            StoreError::InvalidPart(n) => CosError::new(
                StatusCode::BAD_REQUEST,
                "InvalidPart",
                format!("One or more of the specified parts could not be found or the specified entity tag might not have matched the part's entity tag: part {n}."),
            ),
            StoreError::InvalidPartOrder => CosError::new(
                StatusCode::BAD_REQUEST,
                "InvalidPartOrder",
                "The list of parts was not in ascending order. Parts list must be specified in order by part number.",
            ),
            StoreError::EntityTooSmall(n, size) => CosError::new(
                StatusCode::BAD_REQUEST,
                "EntityTooSmall",
                format!("Your proposed upload is smaller than the minimum allowed object size: part {n} is {size} bytes; every part but the last must be at least 1 MB."),
            ),
            StoreError::ObjectNotAppendable => CosError::new(
                StatusCode::CONFLICT,
                "ObjectNotAppendable",
                "This object can not be appended.",
            ),
            StoreError::PositionNotEqualToLength(length) => CosError::new(
                StatusCode::CONFLICT,
                "PositionNotEqualToLength",
                format!("The position is not equal to the object's length ({length})."),
            ),
            StoreError::AppendTooLarge(max) => CosError::new(
                StatusCode::BAD_REQUEST,
                "InvalidArgument",
                format!("An appendable object holds at most {max} bytes."),
            ),
            StoreError::Io(e) => CosError::internal(&format!("storage: {e}")),
            StoreError::Db(e) => CosError::internal(&format!("metadata: {e}")),
        }
    }

    /// Maps a body or read failure of the shared object helpers.
    pub fn from_object(e: ObjectError) -> CosError {
        match e {
            ObjectError::TooLarge { max } => CosError::new(
                StatusCode::BAD_REQUEST,
                "EntityTooLarge",
                format!("Your proposed upload exceeds the maximum allowed size of {max} bytes."),
            ),
            ObjectError::IncompleteBody(detail)
                if detail.contains(crate::common::http::BODY_IDLE) =>
            {
                CosError::new(
                    StatusCode::BAD_REQUEST,
                    "RequestTimeout",
                    "Your socket connection to the server was not read from or written to within the timeout period.",
                )
            }
            ObjectError::IncompleteBody(detail) => CosError::new(
                StatusCode::BAD_REQUEST,
                "IncompleteBody",
                format!("The request body ended early: {detail}"),
            ),
            ObjectError::SmallBodyUnreadable { max } => CosError::malformed_xml(&format!(
                "the request body is larger than {max} bytes or ended early"
            )),
            ObjectError::BadDigest {
                calculated,
                provided,
            } => CosError::new(
                StatusCode::BAD_REQUEST,
                "BadDigest",
                format!("The Content-MD5 you specified ({provided}) does not match the MD5 of the bytes received ({calculated})."),
            ),
            ObjectError::MetadataTooLarge => CosError::new(
                StatusCode::BAD_REQUEST,
                "MetadataTooLarge",
                "User metadata (x-cos-meta-*) may total at most 8 KB.",
            ),
            ObjectError::PreconditionFailed(condition) => CosError::new(
                StatusCode::PRECONDITION_FAILED,
                "PreconditionFailed",
                format!("The precondition {condition} you specified did not hold."),
            ),
            // `get_object` answers a bare 304 itself; elsewhere it cannot occur.
            ObjectError::NotModified => CosError::new(
                StatusCode::NOT_MODIFIED,
                "NotModified",
                "The object was not modified.",
            ),
            ObjectError::Store(e) => CosError::from_store(e, ""),
            ObjectError::Internal(detail) => CosError::internal(&detail),
        }
    }

    /// Renders the error for `resource` (the host and path asked for). `head`: no body, the
    /// code in `x-cos-error-code`.
    pub fn into_response(
        self,
        resource: &str,
        request_id: &str,
        trace_id: &str,
        head: bool,
    ) -> Response {
        let builder = Response::builder()
            .status(self.status)
            .header(http::header::CONTENT_TYPE, "application/xml")
            .header("x-cos-trace-id", trace_id);
        if head {
            return builder
                .header("x-cos-error-code", self.code)
                .header(http::header::CONTENT_LENGTH, 0)
                .body(Body::empty())
                .unwrap_or_default();
        }
        let body = xml::error(
            self.code,
            &self.message,
            resource,
            request_id,
            trace_id,
            &self.extra,
        );
        builder
            .header(http::header::CONTENT_LENGTH, body.len())
            .body(Body::from(body))
            .unwrap_or_default()
    }
}

impl From<ObjectError> for CosError {
    fn from(e: ObjectError) -> CosError {
        CosError::from_object(e)
    }
}
