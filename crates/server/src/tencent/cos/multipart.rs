//! Multipart uploads: initiate, upload part, complete, abort, list parts, list uploads. Part
//! ETags are quoted lowercase MD5 hex, the same in ListParts (both SDKs resume by comparing
//! them with their own MD5s); a completed object's ETag is `"<md5 of the part MD5s>-<n>"`.

use super::body::{meta_from_headers, MAX_XML_BODY};
use super::list::{encoding_url, number};
use super::{blocking, empty, set, store_err, xml_response, Call};
use crate::common::objects::{check_content_md5, check_declared_length, read_small, stage};
use crate::tencent::endpoint::Op;
use crate::tencent::error::CosError;
use crate::tencent::xml::{self, PartsPage, UploadsPage};
use axum::body::Body;
use axum::response::Response;
use http::header::{self, HeaderName};
use http::StatusCode;

/// COS: every part but the last must be at least 1 MB.
pub const MIN_PART_SIZE: u64 = 1024 * 1024;
/// COS: a part is at most 5 GB.
const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;
const CRC64: HeaderName = HeaderName::from_static("x-cos-hash-crc64ecma");

fn upload_id(call: &Call) -> Result<String, CosError> {
    call.nonempty_param("uploadId")
        .map(str::to_string)
        .ok_or_else(|| CosError::invalid_argument("uploadId must not be empty."))
}

pub fn initiate(call: &Call) -> Result<Response, CosError> {
    let meta = meta_from_headers(call)?;
    let sse = meta.sse.clone();
    let id = call
        .state
        .store
        .initiate_multipart(&call.bucket, &call.key, meta, call.now)
        .map_err(store_err(call))?;
    let mut r = xml_response(xml::initiate_multipart(&call.bucket, &call.key, &id));
    if let Some(algorithm) = sse {
        set(&mut r, SSE, &algorithm);
    }
    Ok(r)
}

const SSE: HeaderName = HeaderName::from_static("x-cos-server-side-encryption");

fn part_number(call: &Call) -> Result<u32, CosError> {
    let text = call.param("partNumber").unwrap_or("");
    crate::common::http::part_number(text).ok_or_else(|| {
        CosError::invalid_argument(format!(
            "partNumber must be a whole number from 1 to 10000, got {text:?}."
        ))
    })
}

/// Upload Part - Copy: a range of an existing object (`x-cos-copy-source`,
/// `x-cos-copy-source-range`, never clipped) becomes a part; `cos:GetObject` on the source.
pub async fn upload_part_copy(call: &Call) -> Result<Response, CosError> {
    let id = upload_id(call)?;
    let number = part_number(call)?;
    let value = call.header("x-cos-copy-source").unwrap_or_default();
    let source = super::object::parse_copy_source(&value).map_err(|why| {
        CosError::invalid_argument(format!(
            "x-cos-copy-source {value:?} is not valid: {why}. Use <bucket>-<appid>.cos.<region>.myqcloud.com/<url-encoded key>."
        ))
    })?;
    call.state.check_bucket(&source.bucket)?;
    call.authorize(
        Op::GetObject,
        &["cos:GetObject"],
        &source.bucket,
        Some(&source.key),
    )?;
    call.state
        .store
        .upload_meta(&call.bucket, &call.key, &id)
        .map_err(store_err(call))?;
    let src = call
        .state
        .store
        .head_object(&source.bucket, &source.key)
        .map_err(|e| CosError::from_store(e, &source.bucket))?;
    crate::common::objects::check_copy_conditions(&call.headers, "x-cos-copy-source-", &src)?;
    let range = call.header("x-cos-copy-source-range");
    let (start, len) =
        crate::common::objects::copy_range(range.as_deref(), src.size).map_err(|v| {
            CosError::invalid_argument(format!(
                "x-cos-copy-source-range {v:?} must lie within the source object of {} bytes: bytes=first-last.",
                src.size
            ))
        })?;
    if len > MAX_PART_SIZE {
        return Err(CosError::new(
            StatusCode::BAD_REQUEST,
            "EntityTooLarge",
            format!("A part holds at most {MAX_PART_SIZE} bytes."),
        ));
    }
    let (store, bucket, key, now) = call.owned();
    let part = blocking(move || {
        store.upload_part_copy(
            (&source.bucket, &source.key),
            &src.etag,
            start,
            len,
            (&bucket, &key, &id),
            number,
            now,
        )
    })
    .await?
    .map_err(store_err(call))?;
    let mut r = xml_response(xml::copy_part_result(&part));
    set(&mut r, CRC64, &part.crc64.to_string());
    Ok(r)
}

pub async fn upload_part(call: &Call, body: Body) -> Result<Response, CosError> {
    let id = upload_id(call)?;
    let number = part_number(call)?;
    // Refuse unknown uploads before accepting bytes.
    call.state
        .store
        .upload_meta(&call.bucket, &call.key, &id)
        .map_err(store_err(call))?;
    check_declared_length(&call.headers, MAX_PART_SIZE)?;
    let blob = stage(&call.state.store, body, MAX_PART_SIZE).await?;
    check_content_md5(&call.headers, &blob.md5())?;
    let (store, bucket, key, now) = call.owned();
    let part = blocking(move || store.upload_part(&bucket, &key, &id, number, blob, now))
        .await?
        .map_err(store_err(call))?;
    let mut r = empty(StatusCode::OK);
    set(&mut r, header::ETAG, &xml::etag(&part.etag));
    set(&mut r, CRC64, &part.crc64.to_string());
    Ok(r)
}

pub async fn complete(call: &Call, body: Body) -> Result<Response, CosError> {
    let id = upload_id(call)?;
    let bytes = read_small(body, MAX_XML_BODY).await?;
    let parts = xml::parse_complete_multipart(&bytes).map_err(|e| CosError::malformed_xml(&e.0))?;
    let (store, bucket, key, now) = call.owned();
    let info =
        blocking(move || store.complete_multipart(&bucket, &key, &id, &parts, MIN_PART_SIZE, now))
            .await?
            .map_err(store_err(call))?;
    let location = format!(
        "{}/{}",
        call.state.bucket_host(&call.bucket),
        stsgate_signing::encode::v4enc(&call.key, true)
    );
    let mut r = xml_response(xml::complete_multipart(
        &location,
        &call.bucket,
        &call.key,
        &info.etag,
    ));
    set(&mut r, CRC64, &info.crc64.to_string());
    super::object::sse_header(&mut r, &info);
    Ok(r)
}

pub fn abort(call: &Call) -> Result<Response, CosError> {
    let id = upload_id(call)?;
    call.state
        .store
        .abort_multipart(&call.bucket, &call.key, &id)
        .map_err(store_err(call))?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub fn list_parts(call: &Call) -> Result<Response, CosError> {
    let id = upload_id(call)?;
    let page = PartsPage {
        bucket: &call.bucket,
        key: &call.key,
        upload_id: &id,
        marker: number(call, "part-number-marker", 0, 10_000)? as u32,
        max: number(call, "max-parts", 1000, 1000)?,
        encoding_url: encoding_url(call)?,
    };
    let (parts, truncated) = call
        .state
        .store
        .list_parts(&call.bucket, &call.key, &id, page.marker, page.max)
        .map_err(store_err(call))?;
    Ok(xml_response(xml::list_parts(
        &page,
        &call.state.uin,
        &parts,
        truncated,
    )))
}

pub fn list_uploads(call: &Call) -> Result<Response, CosError> {
    let page = UploadsPage {
        bucket: &call.bucket,
        prefix: call.nonempty_param("prefix").unwrap_or(""),
        delimiter: call.nonempty_param("delimiter").unwrap_or(""),
        key_marker: call.nonempty_param("key-marker").unwrap_or(""),
        upload_id_marker: call.nonempty_param("upload-id-marker").unwrap_or(""),
        max: number(call, "max-uploads", 1000, 1000)?,
        encoding_url: encoding_url(call)?,
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
    Ok(xml_response(xml::list_multipart_uploads(
        &page,
        &call.state.uin,
        &listing,
    )))
}
