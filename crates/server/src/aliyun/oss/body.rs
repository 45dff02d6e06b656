//! Request bodies of the oss face: the size limits, object metadata from OSS headers, the
//! headers the face acts on, and the copy source. The
//! streaming, Content-MD5 and length checks every face shares live in `common/objects.rs`.

use super::Call;
use crate::aliyun::error::OssError;
use crate::common::objects::standard_meta;
use http::StatusCode;
use stsgate_store::{Acl, ObjectMeta};

/// The largest object a single PUT may carry (OSS: 5 GiB).
pub const MAX_OBJECT_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// The largest XML request body accepted (CORS, CompleteMultipartUpload, Delete).
pub const MAX_XML_BODY: usize = 2 * 1024 * 1024;

/// Object metadata from request headers (`Content-Type`, `Cache-Control`, …, `x-oss-meta-*`,
/// `x-oss-object-acl`, `x-oss-storage-class`).
pub fn meta_from_headers(call: &Call) -> Result<ObjectMeta, OssError> {
    let h = |name: &str| call.header(name).filter(|v| !v.is_empty());
    let acl = match h("x-oss-object-acl") {
        None => None,
        Some(v) => Some(Acl::parse(&v).ok_or_else(|| {
            OssError::invalid_argument(
                "x-oss-object-acl must be default, private, public-read or public-read-write.",
                "x-oss-object-acl",
                &v,
            )
        })?),
    };
    let tags = match call.header("x-oss-tagging") {
        None => Vec::new(),
        Some(v) => crate::common::tagging::parse_header(&v).map_err(OssError::from_tags)?,
    };
    let sse = requested_sse(call)?;
    Ok(ObjectMeta {
        acl,
        storage_class: storage_class(call)?,
        tags,
        sse,
        ..standard_meta(&call.headers, "x-oss-meta-")?
    })
}

/// `x-oss-server-side-encryption`: `AES256` is what the store does (sealed at rest with a key
/// derived from the data directory's master key); `KMS` and `SM4` need a key service it does
/// not have (refused, saying so); anything else is OSS's InvalidEncryptionAlgorithmError.
pub fn sse_algorithm(value: &str) -> Result<String, OssError> {
    match value {
        stsgate_store::AES256 => Ok(value.to_string()),
        "KMS" | "SM4" => Err(kms_refused("x-oss-server-side-encryption")),
        _ => Err(OssError::new(
            http::StatusCode::BAD_REQUEST,
            "InvalidEncryptionAlgorithmError",
            "The Encryption request you specified is not valid. Supported value: AES256/KMS/SM4",
            "0005-00000002",
        )
        .with("ArgumentName", "x-oss-server-side-encryption")
        .with("ArgumentValue", value)),
    }
}

/// The encryption a write asks for (`x-oss-server-side-encryption`, checked); the KMS-only
/// headers are refused.
pub fn requested_sse(call: &Call) -> Result<Option<String>, OssError> {
    for kms_only in [
        "x-oss-server-side-encryption-key-id",
        "x-oss-server-side-data-encryption",
    ] {
        if call.header(kms_only).is_some() {
            return Err(kms_refused(kms_only));
        }
    }
    call.header("x-oss-server-side-encryption")
        .map(|v| sse_algorithm(&v))
        .transpose()
}

/// `x-oss-forbid-overwrite: true`.
pub fn forbid_overwrite(call: &Call) -> bool {
    call.header("x-oss-forbid-overwrite")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// What a KMS or SM4 request hears: the embedded store has no key service.
pub fn kms_refused(header: &str) -> OssError {
    OssError::new(
        http::StatusCode::BAD_REQUEST,
        "NotImplemented",
        format!("{header}: stsgate's embedded store encrypts with AES256 only (keys derived from its master key); KMS and SM4 need Alibaba Cloud KMS, which it does not have. Use x-oss-server-side-encryption: AES256."),
        "0016-00000102",
    )
    .with("Header", header)
}

/// The storage classes an object may be written with.
pub const STORAGE_CLASSES: [&str; 5] = [
    "Standard",
    "IA",
    "Archive",
    "ColdArchive",
    "DeepColdArchive",
];

/// `x-oss-storage-class`, checked (`None` when absent: the bucket's class applies).
fn storage_class(call: &Call) -> Result<Option<String>, OssError> {
    match call.header("x-oss-storage-class").filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => match STORAGE_CLASSES.iter().find(|c| c.eq_ignore_ascii_case(&v)) {
            Some(c) => Ok(Some(c.to_string())),
            None => Err(OssError::invalid_argument(
                "x-oss-storage-class must be Standard, IA, Archive, ColdArchive or DeepColdArchive.",
                "x-oss-storage-class",
                &v,
            )),
        },
    }
}

/// The `x-oss-*` request headers the oss face acts on (or that only carry the signature);
/// any other is refused as not implemented rather than ignored.
const IMPLEMENTED_HEADERS: &[&str] = &[
    "x-oss-date",
    "x-oss-security-token",
    "x-oss-content-sha256",
    "x-oss-user-agent",
    "x-oss-acl",
    "x-oss-object-acl",
    "x-oss-storage-class",
    "x-oss-forbid-overwrite",
    "x-oss-copy-source",
    "x-oss-copy-source-range",
    "x-oss-copy-source-if-match",
    "x-oss-copy-source-if-none-match",
    "x-oss-copy-source-if-modified-since",
    "x-oss-copy-source-if-unmodified-since",
    "x-oss-metadata-directive",
    "x-oss-tagging",
    "x-oss-tagging-directive",
    "x-oss-range-behavior",
    "x-oss-symlink-target",
    "x-oss-server-side-encryption",
    "x-oss-server-side-encryption-key-id",
    "x-oss-server-side-data-encryption",
    "x-oss-complete-all",
    "x-oss-allow-same-action-overlap",
];

/// The first `x-oss-*` header (or form field) the oss face does not act on, if any.
pub fn unimplemented_header<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    names.into_iter().find(|name| {
        let lower = name.to_ascii_lowercase();
        lower.starts_with("x-oss-")
            && !lower.starts_with("x-oss-meta-")
            && !IMPLEMENTED_HEADERS.contains(&lower.as_str())
    })
}

/// The `(bucket, key)` of an `x-oss-copy-source` (`/bucket/percent-encoded key`, an optional
/// `?versionId=` cut off before decoding).
pub fn copy_source(call: &Call) -> Result<(String, String), OssError> {
    let source = call.header("x-oss-copy-source").unwrap_or_default();
    let path = source.split_once('?').map_or(source.as_str(), |(p, _)| p);
    let decoded = stsgate_signing::encode::decode_path(path).unwrap_or_default();
    decoded
        .strip_prefix('/')
        .unwrap_or(&decoded)
        .split_once('/')
        .filter(|(b, k)| !b.is_empty() && !k.is_empty())
        .map(|(b, k)| (b.to_string(), k.to_string()))
        .ok_or_else(|| {
            OssError::new(
                StatusCode::BAD_REQUEST,
                "InvalidArgument",
                "x-oss-copy-source must be /<bucket>/<url-encoded key>.",
                if source.is_empty() {
                    "0042-00000302"
                } else {
                    "0042-00000301"
                },
            )
            .with("ArgumentName", "x-oss-copy-source")
            .with("ArgumentValue", &source)
        })
}
