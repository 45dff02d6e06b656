//! Multipart uploads: initiate, upload part, complete, abort, list parts, list uploads.

use super::body::{meta_from_headers, MAX_XML_BODY};
use super::list::number;
use super::object::set;
use super::{blocking, empty, store_err, xml_response, Call};
use crate::aliyun::endpoint::Op;
use crate::aliyun::error::OssError;
use crate::aliyun::xml;
use crate::common::objects::{check_content_md5, check_declared_length, read_small, stage};
use axum::body::Body;
use axum::response::Response;
use http::header::{self, HeaderName};
use http::StatusCode;

/// OSS: every part but the last must be at least 100 KB.
pub const MIN_PART_SIZE: u64 = 100 * 1024;
/// OSS: a part is at most 5 GiB.
const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;

fn upload_id(call: &Call) -> Result<String, OssError> {
    call.nonempty_param("uploadId")
        .map(str::to_string)
        .ok_or_else(|| OssError::invalid_argument("uploadId must not be empty.", "uploadId", ""))
}

fn encoding_url(call: &Call) -> bool {
    call.param("encoding-type") == Some("url")
}

pub fn initiate(call: &Call) -> Result<Response, OssError> {
    let meta = meta_from_headers(call)?;
    let id = call
        .state
        .store
        .initiate_multipart(&call.bucket, &call.key, meta, call.now)
        .map_err(store_err(call))?;
    let mut r = xml_response(xml::initiate_multipart(
        &call.bucket,
        &call.key,
        &id,
        encoding_url(call),
    ));
    if let Ok(meta) = call.state.store.upload_meta(&call.bucket, &call.key, &id) {
        upload_sse_header(&mut r, &meta);
    }
    Ok(r)
}

/// The upload's `x-oss-server-side-encryption` (asked at initiation or the bucket default).
fn upload_sse_header(r: &mut Response, meta: &stsgate_store::ObjectMeta) {
    if let Some(algorithm) = &meta.sse {
        set(
            r,
            HeaderName::from_static("x-oss-server-side-encryption"),
            algorithm,
        );
    }
}

/// UploadPart and CompleteMultipartUpload take no encryption headers (the upload's are set at
/// initiation): OSS answers InvalidArgument.
fn refuse_sse_headers(call: &Call) -> Result<(), OssError> {
    for name in [
        "x-oss-server-side-encryption",
        "x-oss-server-side-encryption-key-id",
        "x-oss-server-side-data-encryption",
    ] {
        if let Some(v) = call.header(name) {
            return Err(OssError::invalid_argument(
                "Server-side encryption is set when the multipart upload is initiated, not on its parts or completion.",
                name,
                &v,
            ));
        }
    }
    Ok(())
}

pub async fn upload_part(call: &Call, body: Body) -> Result<Response, OssError> {
    let id = upload_id(call)?;
    let number = part_number(call)?;
    refuse_sse_headers(call)?;
    // Refuse unknown uploads before accepting bytes.
    let upload = call
        .state
        .store
        .upload_meta(&call.bucket, &call.key, &id)
        .map_err(|e| no_such_upload(call, e, &id))?;
    check_declared_length(&call.headers, MAX_PART_SIZE)?;
    let blob = stage(&call.state.store, body, MAX_PART_SIZE).await?;
    check_content_md5(&call.headers, &blob.md5())?;
    let (store, bucket, key, now, id2) = (
        call.state.store.clone(),
        call.bucket.clone(),
        call.key.clone(),
        call.now,
        id.clone(),
    );
    let part = blocking(move || store.upload_part(&bucket, &key, &id2, number, blob, now))
        .await?
        .map_err(|e| no_such_upload(call, e, &id))?;
    let mut r = empty(StatusCode::OK);
    upload_sse_header(&mut r, &upload);
    set(&mut r, header::ETAG, &part.etag);
    set(
        &mut r,
        HeaderName::from_static("x-oss-hash-crc64ecma"),
        &part.crc64.to_string(),
    );
    Ok(r)
}

/// `partNumber`, 1 to 10000.
fn part_number(call: &Call) -> Result<u32, OssError> {
    let text = call.param("partNumber").unwrap_or("");
    crate::common::http::part_number(text).ok_or_else(|| {
        OssError::invalid_argument(
            "partNumber must be an integer from 1 to 10000.",
            "partNumber",
            text,
        )
    })
}

/// UploadPartCopy: `PUT /key?partNumber=N&uploadId=ID` with `x-oss-copy-source` and an optional
/// `x-oss-copy-source-range: bytes=first-last` (inclusive; `first-` and `-n` too): the part is
/// that range of the source object (GetObject on it is checked too). Answers
/// `<CopyPartResult>` and the part's ETag in a header as well (both SDKs read the header).
pub async fn upload_part_copy(call: &Call) -> Result<Response, OssError> {
    let id = upload_id(call)?;
    let number = part_number(call)?;
    let (src_bucket, src_key) = super::body::copy_source(call)?;
    call.authorize(Op::GetObject, "oss:GetObject", &src_bucket, Some(&src_key))?;
    call.state
        .store
        .upload_meta(&call.bucket, &call.key, &id)
        .map_err(|e| no_such_upload(call, e, &id))?;
    let src = call
        .state
        .store
        .head_object(&src_bucket, &src_key)
        .map_err(|e| OssError::from_store(e, &src_bucket, &src_key))?;
    crate::common::objects::check_copy_conditions(&call.headers, "x-oss-copy-source-", &src)?;
    let (start, len) = crate::common::objects::copy_range(
        call.header("x-oss-copy-source-range").as_deref(),
        src.size,
    )
    .map_err(|v| {
        OssError::new(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            format!(
                "The copy range must lie within the source object of {} bytes: bytes=first-last.",
                src.size
            ),
            "0042-00000306",
        )
        .with("ArgumentName", "x-oss-copy-source-range")
        .with("ArgumentValue", &v)
    })?;
    if len > MAX_PART_SIZE {
        return Err(OssError::entity_too_large(MAX_PART_SIZE));
    }
    let (store, bucket, key, now, id2) = (
        call.state.store.clone(),
        call.bucket.clone(),
        call.key.clone(),
        call.now,
        id.clone(),
    );
    let part = blocking(move || {
        store.upload_part_copy(
            (&src_bucket, &src_key),
            &src.etag,
            start,
            len,
            (&bucket, &key, &id2),
            number,
            now,
        )
    })
    .await?
    .map_err(|e| no_such_upload(call, e, &id))?;
    let mut r = xml_response(xml::copy_part_result(&part.etag, part.last_modified));
    set(&mut r, header::ETAG, &part.etag);
    Ok(r)
}

fn no_such_upload(call: &Call, e: stsgate_store::StoreError, id: &str) -> OssError {
    match e {
        stsgate_store::StoreError::NoSuchUpload => OssError::no_such_upload(id),
        other => OssError::from_store(other, &call.bucket, &call.key),
    }
}

pub async fn complete(call: &Call, body: Body) -> Result<Response, OssError> {
    let id = upload_id(call)?;
    refuse_sse_headers(call)?;
    let complete_all = call
        .header("x-oss-complete-all")
        .is_some_and(|v| v.eq_ignore_ascii_case("yes"));
    let parts: Vec<(u32, String)> = if complete_all {
        let (parts, _) = call
            .state
            .store
            .list_parts(&call.bucket, &call.key, &id, 0, 10_000)
            .map_err(|e| no_such_upload(call, e, &id))?;
        parts.into_iter().map(|p| (p.part_number, p.etag)).collect()
    } else {
        let bytes = read_small(body, MAX_XML_BODY).await?;
        xml::parse_complete_multipart(&bytes).map_err(|e| OssError::malformed_xml(&e.0))?
    };
    let (store, bucket, key, now, id2) = (
        call.state.store.clone(),
        call.bucket.clone(),
        call.key.clone(),
        call.now,
        id.clone(),
    );
    let info =
        blocking(move || store.complete_multipart(&bucket, &key, &id2, &parts, MIN_PART_SIZE, now))
            .await?
            .map_err(|e| no_such_upload(call, e, &id))?;
    let mut r = xml_response(xml::complete_multipart(
        &call.object_url(&call.key),
        &call.bucket,
        &call.key,
        &info.etag,
        encoding_url(call),
    ));
    super::object::sse_header(&mut r, &info);
    set(&mut r, header::ETAG, &info.etag);
    set(
        &mut r,
        HeaderName::from_static("x-oss-hash-crc64ecma"),
        &info.crc64.to_string(),
    );
    Ok(r)
}

pub fn abort(call: &Call) -> Result<Response, OssError> {
    let id = upload_id(call)?;
    call.state
        .store
        .abort_multipart(&call.bucket, &call.key, &id)
        .map_err(|e| no_such_upload(call, e, &id))?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub fn list_parts(call: &Call) -> Result<Response, OssError> {
    let id = upload_id(call)?;
    let max = number(call, "max-parts", 1000, 1000)?;
    let marker = number(call, "part-number-marker", 0, 10_000)? as u32;
    let (parts, truncated) = call
        .state
        .store
        .list_parts(&call.bucket, &call.key, &id, marker, max)
        .map_err(|e| no_such_upload(call, e, &id))?;
    Ok(xml_response(xml::list_parts(
        &call.bucket,
        &call.key,
        &id,
        marker,
        max,
        truncated,
        &parts,
        encoding_url(call),
    )))
}

pub fn list_uploads(call: &Call) -> Result<Response, OssError> {
    let page = xml::UploadsPage {
        bucket: &call.bucket,
        prefix: call.nonempty_param("prefix").unwrap_or(""),
        delimiter: call.nonempty_param("delimiter").unwrap_or(""),
        key_marker: call.nonempty_param("key-marker").unwrap_or(""),
        upload_id_marker: call.nonempty_param("upload-id-marker").unwrap_or(""),
        max: number(call, "max-uploads", 1000, 1000)?,
        encoding_url: encoding_url(call),
    };
    let listing = call
        .state
        .store
        .list_multipart_uploads(
            &call.bucket,
            (page.prefix, page.delimiter),
            (page.key_marker, page.upload_id_marker),
            page.max,
        )
        .map_err(store_err(call))?;
    Ok(xml_response(xml::list_multipart_uploads(&page, &listing)))
}
