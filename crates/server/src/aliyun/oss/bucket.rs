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

/// PutBucket. As on OSS, creating a bucket this account already owns answers 200 (apps call
/// `create_bucket()` at every start), applying an `x-oss-acl` if one is given; asking for
/// another storage class than the bucket has is 409 BucketAlreadyExists.
pub async fn put_bucket(call: &Call, body: Body) -> Result<Response, OssError> {
    let acl = bucket_acl(call)?;
    // `x-oss-server-side-encryption` on PutBucket sets the bucket's default.
    let default_sse = super::body::requested_sse(call)?;
    let bytes = read_small(body, MAX_XML_BODY).await?;
    let asked_class = storage_class_from(&bytes);
    let storage_class = asked_class
        .clone()
        .unwrap_or_else(|| "Standard".to_string());
    let created = call
        .state
        .store
        .create_bucket(&call.bucket, acl, &storage_class, call.now);
    match created {
        Err(stsgate_store::StoreError::BucketAlreadyExists) => {
            let existing = call
                .state
                .store
                .get_bucket(&call.bucket)
                .map_err(store_err(call))?;
            if asked_class.is_some_and(|c| c != existing.storage_class) {
                return Err(OssError::new(
                    StatusCode::CONFLICT,
                    "BucketAlreadyExists",
                    "Cannot modify existing bucket's storage class.",
                    "0015-00000104",
                )
                .with("BucketName", &call.bucket));
            }
            if call.header("x-oss-acl").is_some_and(|v| !v.is_empty()) && acl != existing.acl {
                call.authorize(
                    crate::aliyun::endpoint::Op::PutBucketAcl,
                    "oss:PutBucketAcl",
                    &call.bucket,
                    None,
                )?;
                call.state
                    .store
                    .set_bucket_acl(&call.bucket, acl)
                    .map_err(store_err(call))?;
            }
        }
        other => {
            other.map_err(store_err(call))?;
        }
    }
    if let Some(algorithm) = default_sse {
        call.state
            .store
            .set_bucket_setting(&call.bucket, stsgate_store::SSE_SETTING, Some(&algorithm))
            .map_err(store_err(call))?;
    }
    let mut r = empty(StatusCode::OK);
    set(&mut r, http::header::LOCATION, &format!("/{}", call.bucket));
    Ok(r)
}

/// A negative `MaxAgeSeconds` in a well-formed `<CORSConfiguration>`, if any.
fn negative_max_age(body: &[u8]) -> Option<String> {
    let root = crate::common::xml::parse_document(body, "CORSConfiguration").ok()?;
    let found = root
        .all("CORSRule")
        .flat_map(|rule| rule.all("MaxAgeSeconds"))
        .map(|e| e.text.trim().to_string())
        .find(|v| v.parse::<i64>().is_ok_and(|n| n < 0));
    found
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

pub async fn put_bucket_lifecycle(call: &Call, body: Body) -> Result<Response, OssError> {
    let bytes = read_small(body, MAX_XML_BODY).await?;
    let allow_overlap = call
        .header("x-oss-allow-same-action-overlap")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let rules = xml::parse_lifecycle(&bytes, allow_overlap).map_err(|e| match e {
        xml::LifecycleError::Malformed(m) => OssError::malformed_xml(&m),
        xml::LifecycleError::Invalid(m) => OssError::new(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            m,
            "0014-00000001",
        ),
        xml::LifecycleError::Overlap(action) => OssError::new(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            format!("Overlap for same action type {action}."),
            "0014-00000084",
        ),
        xml::LifecycleError::NotImplemented(what) => OssError::not_implemented(&what),
    })?;
    call.state
        .store
        .set_lifecycle(&call.bucket, Some(&rules))
        .map_err(store_err(call))?;
    Ok(empty(StatusCode::OK))
}

pub fn get_bucket_lifecycle(call: &Call) -> Result<Response, OssError> {
    let rules = call
        .state
        .store
        .lifecycle(&call.bucket)
        .map_err(store_err(call))?
        .ok_or_else(|| {
            OssError::new(
                StatusCode::NOT_FOUND,
                "NoSuchLifecycle",
                "No Row found in Lifecycle Table.",
                "0014-00000002",
            )
            .with("BucketName", &call.bucket)
        })?;
    Ok(xml_response(xml::lifecycle(&rules)))
}

pub fn delete_bucket_lifecycle(call: &Call) -> Result<Response, OssError> {
    call.state
        .store
        .set_lifecycle(&call.bucket, None)
        .map_err(store_err(call))?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub async fn put_bucket_encryption(call: &Call, body: Body) -> Result<Response, OssError> {
    let bytes = read_small(body, MAX_XML_BODY).await?;
    let (algorithm, kms) =
        xml::parse_encryption_rule(&bytes).map_err(|e| OssError::malformed_xml(&e.0))?;
    let algorithm =
        match algorithm.as_str() {
            stsgate_store::AES256 if !kms => algorithm,
            stsgate_store::AES256 | "KMS" | "SM4" => {
                return Err(super::body::kms_refused("SSEAlgorithm"))
            }
            other => return Err(OssError::new(
                StatusCode::BAD_REQUEST,
                "InvalidEncryptionAlgorithmError",
                "The server-side encryption type is not supported. Supported value: AES256/KMS/SM4",
                "0005-00000003",
            )
            .with("ArgumentName", "SSEAlgorithm")
            .with("ArgumentValue", other)),
        };
    call.state
        .store
        .set_bucket_setting(&call.bucket, stsgate_store::SSE_SETTING, Some(&algorithm))
        .map_err(store_err(call))?;
    Ok(empty(StatusCode::OK))
}

pub fn get_bucket_encryption(call: &Call) -> Result<Response, OssError> {
    let algorithm = call
        .state
        .store
        .bucket_setting(&call.bucket, stsgate_store::SSE_SETTING)
        .map_err(store_err(call))?
        .ok_or_else(|| {
            OssError::new(
                StatusCode::NOT_FOUND,
                "NoSuchServerSideEncryptionRule",
                "The server side encryption configuration was not found",
                "0005-00000001",
            )
            .with("BucketName", &call.bucket)
        })?;
    Ok(xml_response(xml::encryption_rule(&algorithm)))
}

pub fn delete_bucket_encryption(call: &Call) -> Result<Response, OssError> {
    call.state
        .store
        .set_bucket_setting(&call.bucket, stsgate_store::SSE_SETTING, None)
        .map_err(store_err(call))?;
    Ok(empty(StatusCode::NO_CONTENT))
}

use stsgate_store::{POLICY_SETTING, REFERER_SETTING};

pub async fn put_bucket_policy(call: &Call, body: Body) -> Result<Response, OssError> {
    let bytes = read_small(body, stsgate_policy::MAX_BUCKET_POLICY + 1).await?;
    let invalid = |message: String, ec: &'static str| {
        OssError::new(
            StatusCode::BAD_REQUEST,
            "InvalidPolicyDocument",
            message,
            ec,
        )
    };
    crate::common::objects::check_content_md5(
        &call.headers,
        &crate::common::objects::md5_of(&bytes),
    )?;
    if bytes.len() > stsgate_policy::MAX_BUCKET_POLICY {
        return Err(invalid(
            format!(
                "The policy is larger than {} bytes.",
                stsgate_policy::MAX_BUCKET_POLICY
            ),
            "0030-00000001",
        ));
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| invalid("The policy is not UTF-8.".into(), "0030-00000004"))?;
    stsgate_policy::parse_bucket_policy(text).map_err(|e| {
        let ec = if e.0.contains("Version") {
            "0030-00000002"
        } else {
            "0030-00000005"
        };
        invalid(format!("The bucket policy is invalid: {}", e.0), ec)
    })?;
    call.state
        .store
        .set_bucket_setting(&call.bucket, POLICY_SETTING, Some(text))
        .map_err(store_err(call))?;
    Ok(empty(StatusCode::OK))
}

pub fn get_bucket_policy(call: &Call) -> Result<Response, OssError> {
    let text = call
        .state
        .store
        .bucket_setting(&call.bucket, POLICY_SETTING)
        .map_err(store_err(call))?
        .ok_or_else(|| {
            OssError::new(
                StatusCode::NOT_FOUND,
                "NoSuchBucketPolicy",
                "The bucket policy does not exist",
                "0030-00000006",
            )
            .with("BucketName", &call.bucket)
        })?;
    let mut r = Response::new(Body::from(text));
    set(&mut r, http::header::CONTENT_TYPE, "application/json");
    Ok(r)
}

pub fn delete_bucket_policy(call: &Call) -> Result<Response, OssError> {
    call.state
        .store
        .set_bucket_setting(&call.bucket, POLICY_SETTING, None)
        .map_err(store_err(call))?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub async fn put_bucket_referer(call: &Call, body: Body) -> Result<Response, OssError> {
    let bytes = read_small(body, MAX_XML_BODY).await?;
    let config = xml::parse_referer(&bytes).map_err(|e| OssError::malformed_xml(&e.0))?;
    let text = serde_json::to_string(&config).map_err(|e| OssError::internal(&e.to_string()))?;
    call.state
        .store
        .set_bucket_setting(&call.bucket, REFERER_SETTING, Some(&text))
        .map_err(store_err(call))?;
    Ok(empty(StatusCode::OK))
}

pub fn get_bucket_referer(call: &Call) -> Result<Response, OssError> {
    let config = referer_config(call, &call.bucket)?.unwrap_or_else(xml::RefererConfig::open);
    Ok(xml_response(xml::referer(&config)))
}

/// The bucket's referer list, if one is set.
pub fn referer_config(call: &Call, bucket: &str) -> Result<Option<xml::RefererConfig>, OssError> {
    let Some(text) = call
        .state
        .store
        .bucket_setting(bucket, REFERER_SETTING)
        .map_err(|e| OssError::from_store(e, bucket, ""))?
    else {
        return Ok(None);
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| OssError::internal(&format!("stored referer list: {e}")))
}

pub fn get_bucket_stat(call: &Call) -> Result<Response, OssError> {
    let stat = call
        .state
        .store
        .bucket_stat(&call.bucket)
        .map_err(store_err(call))?;
    Ok(xml_response(xml::bucket_stat(&stat)))
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
    let sse = call
        .state
        .store
        .bucket_setting(&call.bucket, stsgate_store::SSE_SETTING)
        .map_err(store_err(call))?;
    Ok(xml_response(xml::bucket_info(
        &info,
        &call.state.keys.account_id,
        &call.state.region(),
        sse.as_deref(),
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
    let config = xml::parse_cors(&bytes).map_err(|e| match negative_max_age(&bytes) {
        // Well-formed, but a value OSS refuses: InvalidArgument, not MalformedXML.
        Some(value) => OssError::invalid_argument(
            "MaxAgeSeconds must be a non-negative integer.",
            "MaxAgeSeconds",
            &value,
        ),
        None => OssError::malformed_xml(&e.0),
    })?;
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
    fn negative_max_age_is_found() {
        let rule = |age: &str| {
            format!("<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>{age}</MaxAgeSeconds></CORSRule></CORSConfiguration>")
        };
        assert_eq!(
            negative_max_age(rule("-1").as_bytes()).as_deref(),
            Some("-1")
        );
        assert_eq!(negative_max_age(rule("10").as_bytes()), None);
        assert_eq!(negative_max_age(rule("x").as_bytes()), None);
        assert_eq!(negative_max_age(b"<CORSConfiguration>"), None);
    }

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
