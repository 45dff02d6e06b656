//! Object operations: PutObject, GetObject/HeadObject (ranges, conditions, overrides),
//! GetObjectMeta, DeleteObject, DeleteMultipleObjects, CopyObject, Get/PutObjectAcl.

use super::body::{meta_from_headers, MAX_OBJECT_SIZE, MAX_XML_BODY};
use super::{blocking, empty, store_err, xml_response, Call};
use crate::aliyun::endpoint::Op;
use crate::aliyun::error::OssError;
use crate::aliyun::xml;
use crate::common::objects::{
    self, check_conditions, check_content_md5, md5_of, parse_range, read_small, ObjectError,
    RangeError,
};
use axum::body::Body;
use axum::response::Response;
use base64::Engine as _;
use http::header::{self, HeaderName};
use http::StatusCode;
use stsgate_store::{Acl, ObjectInfo};

pub async fn put_object(call: &Call, body: Body) -> Result<Response, OssError> {
    objects::check_declared_length(&call.headers, MAX_OBJECT_SIZE)?;
    let meta = meta_from_headers(call)?;
    let forbid = super::body::forbid_overwrite(call);
    let (store, bucket, key, now) = (
        call.state.store.clone(),
        call.bucket.clone(),
        call.key.clone(),
        call.now,
    );
    let info = objects::put_body(
        &call.state.store,
        &call.headers,
        body,
        MAX_OBJECT_SIZE,
        move |blob| store.put_object(&bucket, &key, blob, meta, forbid, now),
    )
    .await?
    .map_err(store_err(call))?;
    let md5 = info.md5.unwrap_or_default();
    let mut r = empty(StatusCode::OK);
    sse_header(&mut r, &info);
    set(&mut r, header::ETAG, &info.etag);
    set(
        &mut r,
        HeaderName::from_static("x-oss-hash-crc64ecma"),
        &info.crc64.to_string(),
    );
    set(
        &mut r,
        HeaderName::from_static("content-md5"),
        &base64::engine::general_purpose::STANDARD.encode(md5),
    );
    Ok(r)
}

/// PutSymlink: `PUT /link?symlink` with `x-oss-symlink-target` (percent-encoded; the target
/// need not exist) and the usual object metadata headers.
pub fn put_symlink(call: &Call) -> Result<Response, OssError> {
    let raw = call.header("x-oss-symlink-target").unwrap_or_default();
    let target = stsgate_signing::encode::decode_path(&raw).unwrap_or_default();
    if target.is_empty() || !stsgate_store::valid_object_key(&target) {
        return Err(OssError::invalid_argument(
            "x-oss-symlink-target must name an object key (percent-encoded).",
            "x-oss-symlink-target",
            &raw,
        ));
    }
    let meta = meta_from_headers(call)?;
    let forbid = super::body::forbid_overwrite(call);
    let info = call
        .state
        .store
        .put_symlink(&call.bucket, &call.key, &target, meta, forbid, call.now)
        .map_err(store_err(call))?;
    let mut r = empty(StatusCode::OK);
    set(&mut r, header::ETAG, &info.etag);
    Ok(r)
}

/// GetSymlink: `GET /link?symlink` answers the target (percent-encoded, `/` kept) in
/// `x-oss-symlink-target`, with the link's own ETag and Last-Modified.
pub fn get_symlink(call: &Call) -> Result<Response, OssError> {
    let info = call
        .state
        .store
        .head_object(&call.bucket, &call.key)
        .map_err(store_err(call))?;
    let Some(target) = info.meta.symlink_target.as_deref() else {
        return Err(OssError::new(
            StatusCode::BAD_REQUEST,
            "NotSymlink",
            "The specified object is not a symlink.",
            "0043-00000101",
        )
        .with("Key", &call.key));
    };
    let mut r = empty(StatusCode::OK);
    set(&mut r, header::ETAG, &info.etag);
    set(
        &mut r,
        header::LAST_MODIFIED,
        &xml::rfc1123(info.last_modified),
    );
    set(
        &mut r,
        HeaderName::from_static("x-oss-symlink-target"),
        &stsgate_signing::encode::pe(target).replace("%2F", "/"),
    );
    Ok(r)
}

/// AppendObject: `POST /key?append&position=N`. The first append (position 0) creates the object
/// with the request's metadata; later ones only add bytes (their metadata and tagging headers
/// are ignored, as OSS does). Answers the next position and the whole object's CRC-64.
pub async fn append_object(call: &Call, body: Body) -> Result<Response, OssError> {
    let text = call.param("position").unwrap_or("");
    let position: u64 = text.parse().map_err(|_| {
        OssError::invalid_argument(
            "position must be a non-negative integer: the length of the object to append to.",
            "position",
            text,
        )
    })?;
    objects::check_declared_length(&call.headers, stsgate_store::MAX_APPENDABLE)?;
    // Appendable objects grow in place and are never sealed: asking (or a bucket default)
    // is refused rather than ignored.
    let default_sse = call
        .state
        .store
        .bucket_setting(&call.bucket, stsgate_store::SSE_SETTING)
        .map_err(store_err(call))?;
    if call.header("x-oss-server-side-encryption").is_some() || default_sse.is_some() {
        return Err(OssError::not_implemented(
            "server-side encryption of appendable objects (AppendObject with x-oss-server-side-encryption or in a bucket with default encryption)",
        ));
    }
    let meta = if position == 0 {
        meta_from_headers(call)?
    } else {
        Default::default()
    };
    let (store, bucket, key, now) = (
        call.state.store.clone(),
        call.bucket.clone(),
        call.key.clone(),
        call.now,
    );
    let info = objects::put_body(
        &call.state.store,
        &call.headers,
        body,
        stsgate_store::MAX_APPENDABLE,
        move |blob| store.append_object(&bucket, &key, position, blob, meta, now),
    )
    .await?
    .map_err(store_err(call))?;
    let mut r = empty(StatusCode::OK);
    set(&mut r, header::ETAG, &info.etag);
    set(
        &mut r,
        HeaderName::from_static("x-oss-next-append-position"),
        &info.size.to_string(),
    );
    set(
        &mut r,
        HeaderName::from_static("x-oss-hash-crc64ecma"),
        &info.crc64.to_string(),
    );
    Ok(r)
}

/// `x-oss-server-side-encryption` for a sealed object.
pub fn sse_header(r: &mut Response, info: &ObjectInfo) {
    if info.meta.sse_salt.is_some() {
        if let Some(algorithm) = &info.meta.sse {
            set(
                r,
                HeaderName::from_static("x-oss-server-side-encryption"),
                algorithm,
            );
        }
    }
}

/// The headers that describe an object (GET, HEAD).
fn object_headers(r: &mut Response, info: &ObjectInfo) {
    let m = &info.meta;
    set(
        r,
        header::CONTENT_TYPE,
        m.content_type
            .as_deref()
            .unwrap_or("application/octet-stream"),
    );
    set(r, header::ETAG, &info.etag);
    set(r, header::LAST_MODIFIED, &xml::rfc1123(info.last_modified));
    set(r, header::ACCEPT_RANGES, "bytes");
    set(
        r,
        HeaderName::from_static("x-oss-object-type"),
        info.object_type.as_str(),
    );
    set(
        r,
        HeaderName::from_static("x-oss-storage-class"),
        m.storage_class.as_deref().unwrap_or("Standard"),
    );
    set(
        r,
        HeaderName::from_static("x-oss-hash-crc64ecma"),
        &info.crc64.to_string(),
    );
    if let Some(md5) = info.md5 {
        set(
            r,
            HeaderName::from_static("content-md5"),
            &base64::engine::general_purpose::STANDARD.encode(md5),
        );
    }
    if info.object_type == stsgate_store::ObjectType::Appendable {
        set(
            r,
            HeaderName::from_static("x-oss-next-append-position"),
            &info.size.to_string(),
        );
    }
    sse_header(r, info);
    if !m.tags.is_empty() {
        set(
            r,
            HeaderName::from_static("x-oss-tagging-count"),
            &m.tags.len().to_string(),
        );
    }
    objects::set_stored_headers(r, m, "x-oss-meta-");
}

/// GET/HEAD through a symlink: the target's bytes, length, ETag, MD5 and CRC-64 with the link's
/// other metadata, Last-Modified the later of the two. The caller must also be allowed to read
/// the target (a link cannot lend access to a key its reader may not read).
async fn through_link(
    call: &Call,
    link: ObjectInfo,
    head: bool,
) -> Result<(ObjectInfo, objects::Content), OssError> {
    let target = link.meta.symlink_target.clone().unwrap_or_default();
    call.authorize(Op::GetObject, "oss:GetObject", &call.bucket, Some(&target))?;
    let opened = objects::open_for_get(&call.state.store, &call.bucket, &target, head).await?;
    let (info, content) = match opened {
        Ok(found) => found,
        Err(stsgate_store::StoreError::NoSuchKey) => {
            return Err(OssError::new(
                StatusCode::NOT_FOUND,
                "SymlinkTargetNotExist",
                "The symlink target object does not exist",
                "0026-00000010",
            )
            .with("SymlinkTarget", &target))
        }
        Err(e) => return Err(store_err(call)(e)),
    };
    if info.object_type == stsgate_store::ObjectType::Symlink {
        return Err(OssError::new(
            StatusCode::BAD_REQUEST,
            "InvalidTargetType",
            "The symlink target object type is not supported.",
            "0026-00000011",
        )
        .with("SymlinkTarget", &target));
    }
    let merged = ObjectInfo {
        size: info.size,
        etag: info.etag,
        crc64: info.crc64,
        md5: info.md5,
        last_modified: info.last_modified.max(link.last_modified),
        ..link
    };
    Ok((merged, content))
}

pub async fn get_object(call: &Call, head: bool) -> Result<Response, OssError> {
    let (info, content) = objects::open_for_get(&call.state.store, &call.bucket, &call.key, head)
        .await?
        .map_err(store_err(call))?;
    let (info, content) = if info.object_type == stsgate_store::ObjectType::Symlink {
        through_link(call, info, head).await?
    } else {
        (info, content)
    };
    match check_conditions(&call.headers, &info) {
        Ok(()) => {}
        Err(ObjectError::NotModified) => {
            let mut r = empty(StatusCode::NOT_MODIFIED);
            set(&mut r, header::ETAG, &info.etag);
            set(
                &mut r,
                header::LAST_MODIFIED,
                &xml::rfc1123(info.last_modified),
            );
            return Ok(r);
        }
        Err(e) => return Err(e.into()),
    }
    let standard = call
        .header("x-oss-range-behavior")
        .is_some_and(|v| v.eq_ignore_ascii_case("standard"));
    let range = match call
        .header("range")
        .map(|v| parse_range(&v, info.size, standard))
    {
        None | Some(Err(RangeError::Invalid)) => None,
        Some(Err(RangeError::Unsatisfiable)) if standard => {
            return Err(OssError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "InvalidRange",
                "The requested range cannot be satisfied.",
                "0026-00000106",
            )
            .with("ActualObjectSize", info.size.to_string()))
        }
        Some(Err(RangeError::Unsatisfiable)) => None,
        Some(Ok(r)) => Some(r),
    };
    let (start, len) = range.map_or((0, info.size), |r| (r.start, r.end - r.start + 1));
    let mut r = Response::new(objects::content_body(content, start, len)?);
    object_headers(&mut r, &info);
    set(&mut r, header::CONTENT_LENGTH, &len.to_string());
    if let Some(range) = range {
        *r.status_mut() = StatusCode::PARTIAL_CONTENT;
        set(
            &mut r,
            header::CONTENT_RANGE,
            &format!("bytes {}-{}/{}", range.start, range.end, info.size),
        );
        r.headers_mut().remove("x-oss-hash-crc64ecma");
        r.headers_mut().remove("content-md5");
    }
    objects::apply_response_overrides(&mut r, &call.query);
    Ok(r)
}

pub fn get_object_meta(call: &Call) -> Result<Response, OssError> {
    let info = call
        .state
        .store
        .head_object(&call.bucket, &call.key)
        .map_err(store_err(call))?;
    let mut r = empty(StatusCode::OK);
    set(&mut r, header::ETAG, &info.etag);
    set(&mut r, header::CONTENT_LENGTH, &info.size.to_string());
    set(
        &mut r,
        header::LAST_MODIFIED,
        &xml::rfc1123(info.last_modified),
    );
    set(
        &mut r,
        HeaderName::from_static("x-oss-hash-crc64ecma"),
        &info.crc64.to_string(),
    );
    set(
        &mut r,
        HeaderName::from_static("x-oss-last-access-time"),
        &xml::rfc1123(info.last_modified),
    );
    Ok(r)
}

pub fn delete_object(call: &Call) -> Result<Response, OssError> {
    call.state
        .store
        .delete_object(&call.bucket, &call.key)
        .map_err(store_err(call))?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub async fn delete_multiple(call: &Call, body: Body) -> Result<Response, OssError> {
    if call.header("content-md5").is_none() {
        return Err(OssError::new(
            StatusCode::BAD_REQUEST,
            "MissingArgument",
            "DeleteMultipleObjects requires a Content-MD5 header.",
            "0016-00000502",
        )
        .with("ArgumentName", "Content-MD5"));
    }
    let bytes = read_small(body, MAX_XML_BODY).await?;
    check_content_md5(&call.headers, &md5_of(&bytes))?;
    let (quiet, keys) = xml::parse_delete(&bytes).map_err(|e| OssError::malformed_xml(&e.0))?;
    call.state
        .store
        .get_bucket(&call.bucket)
        .map_err(store_err(call))?;
    for key in &keys {
        call.authorize(
            Op::DeleteMultipleObjects,
            "oss:DeleteObject",
            &call.bucket,
            Some(key),
        )?;
    }
    let mut deleted = Vec::new();
    for key in keys {
        call.state
            .store
            .delete_object(&call.bucket, &key)
            .map_err(store_err(call))?;
        deleted.push(key);
    }
    let encoding_url = call.param("encoding-type") == Some("url");
    Ok(xml_response(xml::delete_result(
        if quiet { &[] } else { &deleted },
        encoding_url,
    )))
}

pub async fn copy_object(call: &Call) -> Result<Response, OssError> {
    // A range copies part of an object only into a multipart upload (UploadPartCopy).
    if let Some(range) = call
        .header("x-oss-copy-source-range")
        .filter(|v| !v.trim().is_empty())
    {
        return Err(OssError::invalid_argument(
            "x-oss-copy-source-range applies to UploadPartCopy only (PUT ?partNumber&uploadId); CopyObject copies the whole object.",
            "x-oss-copy-source-range",
            &range,
        ));
    }
    let (src_bucket, src_key) = super::body::copy_source(call)?;
    call.authorize(Op::GetObject, "oss:GetObject", &src_bucket, Some(&src_key))?;
    let src = call
        .state
        .store
        .head_object(&src_bucket, &src_key)
        .map_err(|e| OssError::from_store(e, &src_bucket, &src_key))?;
    objects::check_copy_conditions(&call.headers, "x-oss-copy-source-", &src)?;
    let replace = match call.header("x-oss-metadata-directive").as_deref() {
        None | Some("COPY") => false,
        Some("REPLACE") => true,
        Some(other) => {
            return Err(OssError::invalid_argument(
                "x-oss-metadata-directive must be COPY or REPLACE.",
                "x-oss-metadata-directive",
                other,
            ))
        }
    };
    let replace_tags = match call.header("x-oss-tagging-directive").as_deref() {
        None | Some("Copy") | Some("COPY") => false,
        Some("Replace") | Some("REPLACE") => true,
        Some(other) => {
            return Err(OssError::invalid_argument(
                "x-oss-tagging-directive must be Copy or Replace.",
                "x-oss-tagging-directive",
                other,
            ))
        }
    };
    // COPY keeps the source's metadata, but the copy's ACL is the request's (default if none):
    // copying a public object must not make a public copy. Tags follow their own directive.
    let asked = meta_from_headers(call)?;
    let mut meta = if replace {
        asked.clone()
    } else {
        let mut m = src.meta.clone();
        m.acl = asked.acl;
        m
    };
    meta.tags = if replace_tags {
        asked.tags
    } else {
        src.meta.tags.clone()
    };
    let forbid = super::body::forbid_overwrite(call);
    let (store, bucket, key, now) = (
        call.state.store.clone(),
        call.bucket.clone(),
        call.key.clone(),
        call.now,
    );
    let info = blocking(move || {
        store.copy_object(
            &src_bucket,
            &src_key,
            &bucket,
            &key,
            Some(meta),
            forbid,
            now,
        )
    })
    .await?
    .map_err(store_err(call))?;
    let mut r = xml_response(xml::copy_object_result(&info.etag, info.last_modified));
    sse_header(&mut r, &info);
    set(&mut r, header::ETAG, &info.etag);
    set(
        &mut r,
        HeaderName::from_static("x-oss-hash-crc64ecma"),
        &info.crc64.to_string(),
    );
    Ok(r)
}

pub fn get_object_acl(call: &Call) -> Result<Response, OssError> {
    let info = call
        .state
        .store
        .head_object(&call.bucket, &call.key)
        .map_err(store_err(call))?;
    let grant = info.meta.acl.unwrap_or(Acl::Default);
    Ok(xml_response(xml::access_control_policy(
        &call.state.keys.account_id,
        grant.as_str(),
    )))
}

pub fn put_object_acl(call: &Call) -> Result<Response, OssError> {
    let value = call.header("x-oss-object-acl").unwrap_or_default();
    let acl = Acl::parse(&value).ok_or_else(|| {
        OssError::invalid_argument(
            "x-oss-object-acl must be default, private, public-read or public-read-write.",
            "x-oss-object-acl",
            &value,
        )
    })?;
    call.state
        .store
        .set_object_acl(&call.bucket, &call.key, acl)
        .map_err(store_err(call))?;
    Ok(empty(StatusCode::OK))
}

pub fn get_object_tagging(call: &Call) -> Result<Response, OssError> {
    let info = call
        .state
        .store
        .head_object(&call.bucket, &call.key)
        .map_err(store_err(call))?;
    Ok(xml_response(crate::common::tagging::render(
        &info.meta.tags,
    )))
}

pub async fn put_object_tagging(call: &Call, body: Body) -> Result<Response, OssError> {
    let bytes = read_small(body, MAX_XML_BODY).await?;
    let tags = crate::common::tagging::parse_xml(&bytes).map_err(OssError::from_tags)?;
    // Again, now that the tags are known: `oss:RequestObjectTag` conditions read them.
    call.authorize_tagged(
        Op::PutObjectTagging,
        "oss:PutObjectTagging",
        &call.bucket,
        Some(&call.key),
        Some(&tags),
    )?;
    call.state
        .store
        .update_object_meta(&call.bucket, &call.key, |m| m.tags = tags)
        .map_err(store_err(call))?;
    Ok(empty(StatusCode::OK))
}

pub fn delete_object_tagging(call: &Call) -> Result<Response, OssError> {
    call.state
        .store
        .update_object_meta(&call.bucket, &call.key, |m| m.tags.clear())
        .map_err(store_err(call))?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub use crate::common::http::set;
