//! Multipart uploads: initiate, upload part, complete, abort, list parts, list uploads. Part
//! ETags are quoted lowercase MD5 hex, the same in ListParts (both SDKs resume by comparing
//! them with their own MD5s); a completed object's ETag is `"<md5 of the part MD5s>-<n>"`.

use super::body::{meta_from_headers, MAX_XML_BODY};
use super::list::{encoding_url, number};
use super::{blocking, empty, set, store_err, xml_response, Call};
use crate::common::objects::{check_content_md5, check_declared_length, read_small, stage};
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
    let id = call
        .state
        .store
        .initiate_multipart(&call.bucket, &call.key, meta, call.now)
        .map_err(store_err(call))?;
    Ok(xml_response(xml::initiate_multipart(
        &call.bucket,
        &call.key,
        &id,
    )))
}

pub async fn upload_part(call: &Call, body: Body) -> Result<Response, CosError> {
    let id = upload_id(call)?;
    let number_text = call.param("partNumber").unwrap_or("");
    let number = crate::common::http::part_number(number_text).ok_or_else(|| {
        CosError::invalid_argument(format!(
            "partNumber must be a whole number from 1 to 10000, got {number_text:?}."
        ))
    })?;
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
