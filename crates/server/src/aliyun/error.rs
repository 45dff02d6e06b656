//! OSS errors: each semantic failure of the oss face maps to one (HTTP status, Code, Message,
//! extra elements, EC) and is rendered as OSS's `<Error>` XML (or, for HEAD, as an empty body with
//! the XML base64-encoded in `x-oss-err`).

use crate::aliyun::xml;
use crate::common::objects::ObjectError;
use axum::body::Body;
use axum::response::Response;
use base64::Engine as _;
use http::{HeaderValue, StatusCode};
use stsgate_store::StoreError;

/// One OSS error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OssError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Extra child elements of `<Error>`, in order (e.g. `BucketName`, `StringToSign`).
    pub extra: Vec<(&'static str, String)>,
    pub ec: &'static str,
    /// Response headers the error carries (e.g. `x-oss-next-append-position`).
    pub headers: Vec<(&'static str, String)>,
}

impl OssError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
        ec: &'static str,
    ) -> OssError {
        OssError {
            status,
            code,
            message: message.into(),
            extra: Vec::new(),
            ec,
            headers: Vec::new(),
        }
    }

    /// Adds a response header to the error answer.
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> OssError {
        self.headers.push((name, value.into()));
        self
    }

    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> OssError {
        self.extra.push((name, value.into()));
        self
    }

    pub fn access_denied(message: impl Into<String>) -> OssError {
        OssError::new(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            message,
            "0003-00000001",
        )
    }
    pub fn invalid_argument(message: impl Into<String>, name: &str, value: &str) -> OssError {
        OssError::new(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            message,
            "0017-00000001",
        )
        .with("ArgumentName", name)
        .with("ArgumentValue", value)
    }
    pub fn invalid_access_key_id(ak: &str) -> OssError {
        OssError::new(
            StatusCode::FORBIDDEN,
            "InvalidAccessKeyId",
            "The OSS Access Key Id you provided does not exist in our records.",
            "0002-00000902",
        )
        .with("OSSAccessKeyId", ak)
    }
    pub fn no_such_bucket(bucket: &str) -> OssError {
        OssError::new(
            StatusCode::NOT_FOUND,
            "NoSuchBucket",
            "The specified bucket does not exist.",
            "0015-00000101",
        )
        .with("BucketName", bucket)
    }
    pub fn no_such_key(key: &str) -> OssError {
        OssError::new(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
            "0026-00000001",
        )
        .with("Key", key)
    }
    pub fn no_such_upload(upload_id: &str) -> OssError {
        OssError::new(
            StatusCode::NOT_FOUND,
            "NoSuchUpload",
            "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
            "0042-00000002",
        )
        .with("UploadId", upload_id)
    }
    pub fn malformed_xml(detail: &str) -> OssError {
        OssError::new(
            StatusCode::BAD_REQUEST,
            "MalformedXML",
            format!("The XML you provided was not well-formed or did not validate against our published schema: {detail}"),
            "0016-00000702",
        )
    }
    /// A tag set that breaks OSS's limits (count, lengths, characters, duplicates): OSS
    /// answers these `InvalidArgument` (EC 0010-00000217; S3's `InvalidTag` is not an OSS code).
    pub fn invalid_tag(detail: &str) -> OssError {
        OssError::new(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            detail,
            "0010-00000217",
        )
    }
    /// A tagging header or `<Tagging>` body refused, as OSS codes it.
    pub fn from_tags(e: crate::common::tagging::TagError) -> OssError {
        match e {
            crate::common::tagging::TagError::Malformed(x) => OssError::malformed_xml(&x.0),
            crate::common::tagging::TagError::Invalid(m) => OssError::invalid_tag(&m),
        }
    }
    /// A request header that asks for something the store does not do (never accepted and
    /// dropped).
    pub fn header_not_implemented(name: &str) -> OssError {
        OssError::new(
            StatusCode::BAD_REQUEST,
            "NotImplemented",
            format!("A header you provided implies functionality that is not implemented: stsgate's embedded store does not act on {name}, so it refuses the request rather than ignore it."),
            "0016-00000102",
        )
        .with("Header", name)
    }
    pub fn invalid_bucket_name(bucket: &str) -> OssError {
        OssError::new(
            StatusCode::BAD_REQUEST,
            "InvalidBucketName",
            "The specified bucket is not valid: use 3-63 characters of lowercase letters, digits and '-', starting and ending with a letter or digit.",
            "0015-00000001",
        )
        .with("BucketName", bucket)
    }
    pub fn invalid_object_name(key: &str) -> OssError {
        OssError::new(
            StatusCode::BAD_REQUEST,
            "InvalidObjectName",
            "The specified object is not valid: a key is 1-1023 bytes of UTF-8 and must not start with '/' or '\\'.",
            "0016-00000005",
        )
        .with("Key", key)
    }
    pub fn method_not_allowed(method: &str, resource_type: &str) -> OssError {
        OssError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
            "0016-00000101",
        )
        .with("Method", method)
        .with("ResourceType", resource_type)
    }
    /// OSS answers `NotImplemented` with 400 (oss2's typed `NotImplemented` exception is
    /// keyed on 400; a 501 would surface as a generic `ServerError`).
    pub fn not_implemented(what: &str) -> OssError {
        OssError::new(
            StatusCode::BAD_REQUEST,
            "NotImplemented",
            format!("stsgate does not implement {what} yet."),
            "0016-00000102",
        )
    }
    pub fn entity_too_large(max: u64) -> OssError {
        OssError::new(
            StatusCode::BAD_REQUEST,
            "EntityTooLarge",
            format!("Your proposed upload exceeds the maximum allowed size of {max} bytes."),
            "0016-00000202",
        )
        .with("MaxSizeAllowed", max.to_string())
    }
    pub fn precondition_failed(condition: &str) -> OssError {
        OssError::new(
            StatusCode::PRECONDITION_FAILED,
            "PreconditionFailed",
            "At least one of the pre-conditions you specified did not hold.",
            "0026-00000104",
        )
        .with("Condition", condition)
    }
    pub fn internal(detail: &str) -> OssError {
        tracing::error!(%detail, "internal error");
        OssError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "We encountered an internal error. Please try again.",
            "0000-00000001",
        )
    }

    /// 503 for a store that cannot take the request now (a full disk, a locked database): the
    /// request changed nothing and a retry later succeeds (SDKs retry 5xx).
    pub fn unavailable(why: stsgate_store::Unavailable, detail: &str) -> OssError {
        tracing::error!(%detail, "store unavailable");
        let message = match why {
            stsgate_store::Unavailable::StorageFull => "The server's storage is full, so nothing was stored. Please try again after space is freed on the stsgate data directory's disk.",
            stsgate_store::Unavailable::Locked => "The server's metadata database is locked by another process. Please try again.",
        };
        OssError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            message,
            "0000-00000002",
        )
    }

    /// Maps a store failure on `bucket`/`key` to its OSS error.
    pub fn from_store(e: StoreError, bucket: &str, key: &str) -> OssError {
        if let Some(why) = e.unavailable() {
            return OssError::unavailable(why, &e.to_string());
        }
        match e {
            StoreError::NoSuchBucket => OssError::no_such_bucket(bucket),
            StoreError::BucketAlreadyExists => OssError::new(
                StatusCode::CONFLICT,
                "BucketAlreadyExists",
                "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.",
                "0015-00000104",
            )
            .with("BucketName", bucket),
            StoreError::BucketNotEmpty => OssError::new(
                StatusCode::CONFLICT,
                "BucketNotEmpty",
                "The bucket has objects. Please delete them first.",
                "0015-00000301",
            )
            .with("BucketName", bucket),
            StoreError::NoSuchKey => OssError::no_such_key(key),
            StoreError::ObjectAlreadyExists => OssError::new(
                StatusCode::CONFLICT,
                "FileAlreadyExists",
                "The object you specified already exists and can not be overwritten.",
                "0016-00000218",
            )
            .with("Key", key),
            StoreError::NoSuchUpload => OssError::new(
                StatusCode::NOT_FOUND,
                "NoSuchUpload",
                "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
                "0042-00000002",
            ),
            StoreError::InvalidPart(n) => OssError::new(
                StatusCode::BAD_REQUEST,
                "InvalidPart",
                format!("One or more of the specified parts could not be found or the specified entity tag might not have matched the part's entity tag: part {n}."),
                "0042-00000003",
            )
            .with("PartNumber", n.to_string()),
            StoreError::InvalidPartOrder => OssError::new(
                StatusCode::BAD_REQUEST,
                "InvalidPartOrder",
                "The list of parts was not in ascending order. Parts list must be specified in order by part number.",
                "0042-00000004",
            ),
            StoreError::EntityTooSmall(n, size) => OssError::new(
                StatusCode::BAD_REQUEST,
                "EntityTooSmall",
                format!("Your proposed upload is smaller than the minimum allowed size: part {n} is {size} bytes; every part but the last must be at least 100 KB."),
                "0042-00000005",
            )
            .with("PartNumber", n.to_string()),
            StoreError::ObjectNotAppendable => OssError::new(
                StatusCode::CONFLICT,
                "ObjectNotAppendable",
                "The object is not appendable",
                "0026-00000017",
            ),
            // oss2 reads the length from the header to build its exception.
            StoreError::PositionNotEqualToLength(length) => OssError::new(
                StatusCode::CONFLICT,
                "PositionNotEqualToLength",
                "Position is not equal to file length",
                "0026-00000016",
            )
            .with_header("x-oss-next-append-position", length.to_string()),
            StoreError::AppendTooLarge(max) => OssError::new(
                StatusCode::BAD_REQUEST,
                "InvalidArgument",
                format!("Appended file exceeds the max size: an appendable object holds at most {max} bytes."),
                "0026-00000018",
            ),
            StoreError::Io(e) => OssError::internal(&format!("storage: {e}")),
            StoreError::Db(e) => OssError::internal(&format!("metadata: {e}")),
        }
    }

    /// Maps a body or read failure of the shared object helpers (for the store: with no
    /// bucket or key to name).
    pub fn from_object(e: ObjectError) -> OssError {
        match e {
            ObjectError::TooLarge { max } => OssError::entity_too_large(max),
            ObjectError::IncompleteBody(detail)
                if detail.contains(crate::common::http::BODY_IDLE) =>
            {
                OssError::new(
                    StatusCode::BAD_REQUEST,
                    "RequestTimeout",
                    "Your socket connection to the server was not read from or written to within the timeout period.",
                    "0002-00000007",
                )
            }
            ObjectError::IncompleteBody(detail) => OssError::new(
                StatusCode::BAD_REQUEST,
                "IncompleteBody",
                format!("The request body ended early: {detail}"),
                "0016-00000301",
            ),
            ObjectError::SmallBodyUnreadable { max } => OssError::malformed_xml(&format!(
                "the request body is larger than {max} bytes or ended early"
            )),
            ObjectError::BadDigest {
                calculated,
                provided,
            } => OssError::new(
                StatusCode::BAD_REQUEST,
                "InvalidDigest",
                "The Content-MD5 you specified was invalid: it does not match the MD5 of the bytes received.",
                "0016-00000403",
            )
            .with("CalculatedDigest", calculated)
            .with("ProvidedDigest", provided),
            ObjectError::MetadataTooLarge => OssError::invalid_argument(
                "User metadata (x-oss-meta-*) may total at most 8 KB.",
                "x-oss-meta-*",
                "",
            ),
            ObjectError::PreconditionFailed(condition) => {
                OssError::precondition_failed(&condition)
            }
            // `get_object` answers a bare 304 itself; elsewhere it cannot occur.
            ObjectError::NotModified => OssError::new(
                StatusCode::NOT_MODIFIED,
                "NotModified",
                "The object was not modified.",
                "0026-00000105",
            ),
            ObjectError::Store(e) => OssError::from_store(e, "", ""),
            ObjectError::Internal(detail) => OssError::internal(&detail),
        }
    }

    /// Renders the error. `head`: no body, XML in `x-oss-err` (base64), as OSS does for HEAD.
    pub fn into_response(self, request_id: &str, host_id: &str, head: bool) -> Response {
        let body = xml::error(
            self.code,
            &self.message,
            request_id,
            host_id,
            &self.extra,
            self.ec,
        );
        let mut builder = Response::builder()
            .status(self.status)
            .header("x-oss-ec", self.ec)
            .header(http::header::CONTENT_TYPE, "application/xml");
        for (name, value) in &self.headers {
            if let Ok(v) = HeaderValue::from_str(value) {
                builder = builder.header(*name, v);
            }
        }
        if head {
            let b64 = base64::engine::general_purpose::STANDARD.encode(body.as_bytes());
            if let Ok(v) = HeaderValue::from_str(&b64) {
                builder = builder.header("x-oss-err", v);
            }
            builder.body(Body::empty()).unwrap_or_default()
        } else {
            builder
                .header(http::header::CONTENT_LENGTH, body.len())
                .body(Body::from(body))
                .unwrap_or_default()
        }
    }
}

impl From<ObjectError> for OssError {
    fn from(e: ObjectError) -> OssError {
        OssError::from_object(e)
    }
}
