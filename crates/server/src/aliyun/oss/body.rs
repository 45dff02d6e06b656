//! Request bodies of the oss face: the size limits, and object metadata from OSS headers. The
//! streaming, Content-MD5 and length checks every face shares live in `common/objects.rs`.

use super::Call;
use crate::aliyun::error::OssError;
use crate::common::objects::standard_meta;
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
    Ok(ObjectMeta {
        acl,
        storage_class: h("x-oss-storage-class"),
        ..standard_meta(&call.headers, "x-oss-meta-")?
    })
}
