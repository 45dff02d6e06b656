//! Bucket operations: PUT/HEAD/DELETE Bucket, GET Bucket location, Get/PutBucketACL,
//! Put/Get/DeleteBucketCORS (the preflight is `tencent/cors.rs`).

use super::body::{acl_from_headers, acl_from_request, MAX_XML_BODY};
use super::{empty, set, store_err, xml_response, Call};
use crate::common::objects::read_small;
use crate::tencent::error::CosError;
use crate::tencent::xml;
use axum::body::Body;
use axum::response::Response;
use http::{HeaderName, StatusCode};
use stsgate_store::Acl;

pub async fn put_bucket(call: &Call, body: Body) -> Result<Response, CosError> {
    let acl = acl_from_headers(call, false)?.unwrap_or(Acl::Private);
    // The optional <CreateBucketConfiguration> (multi-AZ, tags) changes nothing here.
    read_small(body, MAX_XML_BODY).await?;
    call.state
        .store
        .create_bucket(&call.bucket, acl, "Standard", call.now)
        .map_err(store_err(call))?;
    Ok(empty(StatusCode::OK))
}

pub fn head_bucket(call: &Call) -> Result<Response, CosError> {
    call.state
        .store
        .get_bucket(&call.bucket)
        .map_err(store_err(call))?;
    let mut r = empty(StatusCode::OK);
    let region = HeaderName::from_static("x-cos-bucket-region");
    set(&mut r, region, &call.state.region);
    Ok(r)
}

pub fn delete_bucket(call: &Call) -> Result<Response, CosError> {
    call.state
        .store
        .delete_bucket(&call.bucket)
        .map_err(store_err(call))?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub fn get_bucket_location(call: &Call) -> Result<Response, CosError> {
    call.state
        .store
        .get_bucket(&call.bucket)
        .map_err(store_err(call))?;
    Ok(xml_response(xml::location(&call.state.region)))
}

pub fn get_bucket_acl(call: &Call) -> Result<Response, CosError> {
    let acl = call
        .state
        .store
        .get_bucket(&call.bucket)
        .map_err(store_err(call))?
        .acl;
    let (read, write) = match acl {
        Acl::PublicReadWrite => (true, true),
        Acl::PublicRead => (true, false),
        Acl::Private | Acl::Default => (false, false),
    };
    let mut r = xml_response(xml::access_control_policy(&call.state.uin, read, write));
    set(&mut r, HeaderName::from_static("x-cos-acl"), acl.as_str());
    Ok(r)
}

pub async fn put_bucket_acl(call: &Call, body: Body) -> Result<Response, CosError> {
    let acl = acl_from_request(call, body, false).await?;
    call.state
        .store
        .set_bucket_acl(&call.bucket, acl)
        .map_err(store_err(call))?;
    Ok(empty(StatusCode::OK))
}

pub async fn put_bucket_cors(call: &Call, body: Body) -> Result<Response, CosError> {
    let bytes = read_small(body, MAX_XML_BODY).await?;
    let config = xml::parse_cors(&bytes).map_err(|e| CosError::malformed_xml(&e.0))?;
    call.state
        .store
        .set_bucket_cors(&call.bucket, Some(&config))
        .map_err(store_err(call))?;
    Ok(empty(StatusCode::OK))
}

pub fn get_bucket_cors(call: &Call) -> Result<Response, CosError> {
    let config = call
        .state
        .store
        .get_bucket_cors(&call.bucket)
        .map_err(store_err(call))?;
    match config {
        Some(config) => Ok(xml_response(xml::cors(&config))),
        None => Err(CosError::new(
            StatusCode::NOT_FOUND,
            "NoSuchCORSConfiguration",
            "The CORS configuration does not exist.",
        )),
    }
}

pub fn delete_bucket_cors(call: &Call) -> Result<Response, CosError> {
    call.state
        .store
        .set_bucket_cors(&call.bucket, None)
        .map_err(store_err(call))?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub async fn put_bucket_lifecycle(call: &Call, body: Body) -> Result<Response, CosError> {
    let bytes = read_small(body, MAX_XML_BODY).await?;
    let rules = xml::parse_lifecycle(&bytes).map_err(|e| match e {
        xml::LifecycleError::Malformed(m) => CosError::malformed_xml(&m),
        xml::LifecycleError::Invalid(m) => CosError::invalid_argument(m),
        xml::LifecycleError::NotImplemented(what) => CosError::not_implemented(&what),
    })?;
    call.state
        .store
        .set_lifecycle(&call.bucket, Some(&rules))
        .map_err(store_err(call))?;
    Ok(empty(StatusCode::OK))
}

pub fn get_bucket_lifecycle(call: &Call) -> Result<Response, CosError> {
    let rules = call
        .state
        .store
        .lifecycle(&call.bucket)
        .map_err(store_err(call))?
        .ok_or_else(|| {
            CosError::new(
                StatusCode::NOT_FOUND,
                "NoSuchLifecycleConfiguration",
                "The lifecycle configuration does not exist.",
            )
        })?;
    Ok(xml_response(xml::lifecycle(&rules)))
}

pub fn delete_bucket_lifecycle(call: &Call) -> Result<Response, CosError> {
    call.state
        .store
        .set_lifecycle(&call.bucket, None)
        .map_err(store_err(call))?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// PUT Bucket encryption: `AES256` (SSE-COS) becomes the bucket's default, sealing every object
/// written after it; `KMS` needs Tencent's KMS, which the embedded store does not have.
pub async fn put_bucket_encryption(call: &Call, body: Body) -> Result<Response, CosError> {
    let bytes = read_small(body, MAX_XML_BODY).await?;
    let (algorithm, kms) =
        xml::parse_encryption_configuration(&bytes).map_err(|e| CosError::malformed_xml(&e.0))?;
    match algorithm.as_str() {
        stsgate_store::AES256 if !kms => {}
        stsgate_store::AES256 | "KMS" | "SM4" => {
            return Err(CosError::not_implemented(
                "KMS and SM4 bucket encryption (the embedded store encrypts with AES256 only, keys derived from its master key; use AES256)",
            ))
        }
        other => {
            return Err(CosError::invalid_argument(format!(
                "SSEAlgorithm {other:?} is not valid: use AES256 (or KMS on Tencent Cloud)."
            )))
        }
    }
    call.state
        .store
        .set_bucket_setting(&call.bucket, stsgate_store::SSE_SETTING, Some(&algorithm))
        .map_err(store_err(call))?;
    Ok(empty(StatusCode::OK))
}

pub fn get_bucket_encryption(call: &Call) -> Result<Response, CosError> {
    let algorithm = call
        .state
        .store
        .bucket_setting(&call.bucket, stsgate_store::SSE_SETTING)
        .map_err(store_err(call))?
        .ok_or_else(|| {
            CosError::new(
                StatusCode::NOT_FOUND,
                "NoSuchEncryptionConfiguration",
                "The bucket has no encryption configuration.",
            )
        })?;
    Ok(xml_response(xml::encryption_configuration(&algorithm)))
}

pub fn delete_bucket_encryption(call: &Call) -> Result<Response, CosError> {
    call.state
        .store
        .set_bucket_setting(&call.bucket, stsgate_store::SSE_SETTING, None)
        .map_err(store_err(call))?;
    Ok(empty(StatusCode::NO_CONTENT))
}
