//! Bucket operations: PutBucket, DeleteBucket, HeadBucket, GetBucketInfo, GetBucketLocation,
//! Get/PutBucketAcl, Put/Get/DeleteBucketCors (the preflight is `aliyun/cors.rs`).

use super::body::MAX_XML_BODY;
use super::object::set;
use super::{empty, store_err, xml_response, Call};
use crate::aliyun::error::OssError;
use crate::aliyun::xml;
use crate::common::objects::read_small;
use axum::body::Body;
use axum::response::Response;
use http::StatusCode;
use stsgate_store::Acl;

fn bucket_acl(call: &Call) -> Result<Acl, OssError> {
    match call.header("x-oss-acl").filter(|v| !v.is_empty()) {
        None => Ok(Acl::Private),
        Some(v) => match Acl::parse(&v) {
            Some(Acl::Default) | None => Err(OssError::invalid_argument(
                "x-oss-acl must be private, public-read or public-read-write.",
                "x-oss-acl",
                &v,
            )),
            Some(acl) => Ok(acl),
        },
    }
}

pub async fn put_bucket(call: &Call, body: Body) -> Result<Response, OssError> {
    let acl = bucket_acl(call)?;
    let bytes = read_small(body, MAX_XML_BODY).await?;
    let storage_class = storage_class_from(&bytes).unwrap_or_else(|| "Standard".to_string());
    call.state
        .store
        .create_bucket(&call.bucket, acl, &storage_class, call.now)
        .map_err(store_err(call))?;
    let mut r = empty(StatusCode::OK);
    set(&mut r, http::header::LOCATION, &format!("/{}", call.bucket));
    Ok(r)
}

/// The `<StorageClass>` of an optional `<CreateBucketConfiguration>` body.
fn storage_class_from(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find("<StorageClass>")? + "<StorageClass>".len();
    let end = start + text[start..].find("</StorageClass>")?;
    let class = text[start..end].trim();
    [
        "Standard",
        "IA",
        "Archive",
        "ColdArchive",
        "DeepColdArchive",
    ]
    .contains(&class)
    .then(|| class.to_string())
}

pub fn delete_bucket(call: &Call) -> Result<Response, OssError> {
    call.state
        .store
        .delete_bucket(&call.bucket)
        .map_err(store_err(call))?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub fn head_bucket(call: &Call) -> Result<Response, OssError> {
    call.state
        .store
        .get_bucket(&call.bucket)
        .map_err(store_err(call))?;
    Ok(empty(StatusCode::OK))
}

pub fn get_bucket_info(call: &Call) -> Result<Response, OssError> {
    let info = call
        .state
        .store
        .get_bucket(&call.bucket)
        .map_err(store_err(call))?;
    Ok(xml_response(xml::bucket_info(
        &info,
        &call.state.keys.account_id,
        &call.state.region(),
    )))
}

pub fn get_bucket_location(call: &Call) -> Result<Response, OssError> {
    call.state
        .store
        .get_bucket(&call.bucket)
        .map_err(store_err(call))?;
    Ok(xml_response(xml::location(&call.state.region())))
}

pub fn get_bucket_acl(call: &Call) -> Result<Response, OssError> {
    let info = call
        .state
        .store
        .get_bucket(&call.bucket)
        .map_err(store_err(call))?;
    Ok(xml_response(xml::access_control_policy(
        &call.state.keys.account_id,
        info.acl.as_str(),
    )))
}

pub fn put_bucket_acl(call: &Call) -> Result<Response, OssError> {
    let acl = bucket_acl(call)?;
    call.state
        .store
        .set_bucket_acl(&call.bucket, acl)
        .map_err(store_err(call))?;
    Ok(empty(StatusCode::OK))
}

pub async fn put_bucket_cors(call: &Call, body: Body) -> Result<Response, OssError> {
    let bytes = read_small(body, MAX_XML_BODY).await?;
    let config = xml::parse_cors(&bytes).map_err(|e| OssError::malformed_xml(&e.0))?;
    call.state
        .store
        .set_bucket_cors(&call.bucket, Some(&config))
        .map_err(store_err(call))?;
    Ok(empty(StatusCode::OK))
}

pub fn get_bucket_cors(call: &Call) -> Result<Response, OssError> {
    match call
        .state
        .store
        .get_bucket_cors(&call.bucket)
        .map_err(store_err(call))?
    {
        Some(config) => Ok(xml_response(xml::cors(&config))),
        None => Err(OssError::new(
            StatusCode::NOT_FOUND,
            "NoSuchCORSConfiguration",
            "The CORS Configuration does not exist.",
            "0010-00000002",
        )
        .with("BucketName", &call.bucket)),
    }
}

pub fn delete_bucket_cors(call: &Call) -> Result<Response, OssError> {
    call.state
        .store
        .set_bucket_cors(&call.bucket, None)
        .map_err(store_err(call))?;
    Ok(empty(StatusCode::NO_CONTENT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_class_is_read_from_the_optional_body() {
        let body = b"<CreateBucketConfiguration><StorageClass>IA</StorageClass></CreateBucketConfiguration>";
        assert_eq!(storage_class_from(body).as_deref(), Some("IA"));
        assert_eq!(storage_class_from(b""), None);
        assert_eq!(
            storage_class_from(b"<StorageClass>Bogus</StorageClass>"),
            None
        );
        assert_eq!(storage_class_from(b"</StorageClass><StorageClass>"), None);
    }
}
