//! Object operations: PutObject, GetObject/HeadObject (ranges, conditions, `response-*`
//! overrides), DeleteObject, DeleteMultipleObjects, PUT Object - Copy, Get/PutObjectACL.

use super::body::{acl_from_request, meta_from_headers, MAX_OBJECT_SIZE, MAX_XML_BODY};
use super::{blocking, empty, set, store_err, xml_response, Call};
use crate::common::dates::rfc1123;
use crate::common::objects::{
    self, check_conditions, check_content_md5, md5_of, parse_range, read_small, ObjectError,
    RangeError,
};
use crate::tencent::endpoint::{looks_like_bucket, virtual_host_bucket, Op};
use crate::tencent::error::CosError;
use crate::tencent::xml;
use axum::body::Body;
use axum::response::Response;
use http::header::{self, HeaderName};
use http::StatusCode;
use stsgate_store::{Acl, ObjectInfo};

const CRC64: HeaderName = HeaderName::from_static("x-cos-hash-crc64ecma");

fn forbid_overwrite(call: &Call) -> bool {
    call.header("x-cos-forbid-overwrite")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

pub async fn put_object(call: &Call, body: Body) -> Result<Response, CosError> {
    objects::check_declared_length(&call.headers, MAX_OBJECT_SIZE)?;
    let meta = meta_from_headers(call)?;
    let (store, bucket, key, now) = call.owned();
    let forbid = forbid_overwrite(call);
    let info = objects::put_body(
        &call.state.store,
        &call.headers,
        body,
        MAX_OBJECT_SIZE,
        move |blob| store.put_object(&bucket, &key, blob, meta, forbid, now),
    )
    .await?
    .map_err(store_err(call))?;
    let mut r = empty(StatusCode::OK);
    set(&mut r, header::ETAG, &xml::etag(&info.etag));
    set(&mut r, CRC64, &info.crc64.to_string());
    sse_header(&mut r, &info);
    Ok(r)
}

/// `x-cos-server-side-encryption` for a sealed object.
pub fn sse_header(r: &mut Response, info: &ObjectInfo) {
    if info.meta.sse_salt.is_some() {
        if let Some(algorithm) = &info.meta.sse {
            set(
                r,
                HeaderName::from_static("x-cos-server-side-encryption"),
                algorithm,
            );
        }
    }
}

/// APPEND Object: `POST /key?append&position=N`. The first append (position 0) creates an
/// appendable object with the request's metadata; later ones only add bytes. Answers the next
/// position and the whole object's CRC-64. Appendable objects are never sealed: asking for
/// encryption (or a bucket default) is refused rather than ignored.
pub async fn append_object(call: &Call, body: Body) -> Result<Response, CosError> {
    let text = call.param("position").unwrap_or("");
    let position: u64 = text.parse().map_err(|_| {
        CosError::invalid_argument(format!(
            "position {text:?} must be a non-negative integer: the length of the object to append to."
        ))
    })?;
    objects::check_declared_length(&call.headers, stsgate_store::MAX_APPENDABLE)?;
    let default_sse = call
        .state
        .store
        .bucket_setting(&call.bucket, stsgate_store::SSE_SETTING)
        .map_err(store_err(call))?;
    if call.header("x-cos-server-side-encryption").is_some() || default_sse.is_some() {
        return Err(CosError::not_implemented(
            "server-side encryption of appendable objects (APPEND Object with x-cos-server-side-encryption or in a bucket with default encryption)",
        ));
    }
    let meta = if position == 0 {
        meta_from_headers(call)?
    } else {
        Default::default()
    };
    let (store, bucket, key, now) = call.owned();
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
    set(&mut r, header::ETAG, &xml::etag(&info.etag));
    set(&mut r, CRC64, &info.crc64.to_string());
    set(&mut r, NEXT_APPEND, &info.size.to_string());
    Ok(r)
}

const NEXT_APPEND: HeaderName = HeaderName::from_static("x-cos-next-append-position");

/// The headers that describe an object (GET, HEAD), the CRC-64 of the whole object included
/// even for a range (cos-nodejs-sdk-v5 compares it across the chunks of a download).
fn object_headers(r: &mut Response, info: &ObjectInfo) {
    let m = &info.meta;
    let content_type = m.content_type.as_deref();
    set(
        r,
        header::CONTENT_TYPE,
        content_type.unwrap_or("application/octet-stream"),
    );
    set(r, header::ETAG, &xml::etag(&info.etag));
    set(r, header::LAST_MODIFIED, &rfc1123(info.last_modified));
    set(r, header::ACCEPT_RANGES, "bytes");
    let appendable = info.object_type == stsgate_store::ObjectType::Appendable;
    let kind = if appendable { "appendable" } else { "normal" };
    set(r, HeaderName::from_static("x-cos-object-type"), kind);
    if appendable {
        set(r, NEXT_APPEND, &info.size.to_string());
    }
    let class = xml::storage_class(m.storage_class.as_deref());
    set(r, HeaderName::from_static("x-cos-storage-class"), class);
    set(r, CRC64, &info.crc64.to_string());
    sse_header(r, info);
    if !m.tags.is_empty() {
        let count = m.tags.len().to_string();
        set(r, HeaderName::from_static("x-cos-tagging-count"), &count);
    }
    objects::set_stored_headers(r, m, "x-cos-meta-");
}

pub async fn get_object(call: &Call, head: bool) -> Result<Response, CosError> {
    let (info, content) = objects::open_for_get(&call.state.store, &call.bucket, &call.key, head)
        .await?
        .map_err(store_err(call))?;
    if info.object_type == stsgate_store::ObjectType::Symlink {
        // COS has no symlinks: one made on the oss face is refused here, never read as empty.
        return Err(CosError::not_implemented(&format!(
            "reading a symlink on the cos face (this key is an OSS symlink to {:?}: read that key, or read the link on the oss face)",
            info.meta.symlink_target.as_deref().unwrap_or_default()
        )));
    }
    match check_conditions(&call.headers, &info) {
        Ok(()) => {}
        Err(ObjectError::NotModified) => {
            let mut r = empty(StatusCode::NOT_MODIFIED);
            set(&mut r, header::ETAG, &xml::etag(&info.etag));
            set(&mut r, header::LAST_MODIFIED, &rfc1123(info.last_modified));
            return Ok(r);
        }
        Err(e) => return Err(e.into()),
    }
    // COS follows RFC 7233: an end past the object is clipped, a start past it is a 416.
    let range = match call
        .header("range")
        .map(|v| parse_range(&v, info.size, true))
    {
        None | Some(Err(RangeError::Invalid)) => None,
        Some(Err(RangeError::Unsatisfiable)) => {
            return Err(CosError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "InvalidRange",
                format!(
                    "The requested range cannot be satisfied: the object has {} bytes.",
                    info.size
                ),
            ))
        }
        Some(Ok(r)) => Some(r),
    };
    let (start, len) = range.map_or((0, info.size), |r| (r.start, r.end - r.start + 1));
    let mut r = Response::new(objects::content_body(content, start, len)?);
    object_headers(&mut r, &info);
    set(&mut r, header::CONTENT_LENGTH, &len.to_string());
    if let Some(range) = range {
        *r.status_mut() = StatusCode::PARTIAL_CONTENT;
        let value = format!("bytes {}-{}/{}", range.start, range.end, info.size);
        set(&mut r, header::CONTENT_RANGE, &value);
    }
    objects::apply_response_overrides(&mut r, &call.query);
    Ok(r)
}

pub fn delete_object(call: &Call) -> Result<Response, CosError> {
    call.state
        .store
        .delete_object(&call.bucket, &call.key)
        .map_err(store_err(call))?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `POST /?delete`: every key needs `cos:DeleteMultipleObjects` or `cos:DeleteObject` on
/// itself; one refused key refuses the whole request (403), as on the oss face.
pub async fn delete_multiple(call: &Call, body: Body) -> Result<Response, CosError> {
    if call.header("content-md5").is_none() {
        return Err(CosError::invalid_request(
            "Missing required header for this request: Content-MD5 (base64 of the body's MD5).",
        ));
    }
    let bytes = read_small(body, MAX_XML_BODY).await?;
    check_content_md5(&call.headers, &md5_of(&bytes))?;
    let (quiet, keys) = xml::parse_delete(&bytes).map_err(|e| CosError::malformed_xml(&e.0))?;
    call.state
        .store
        .get_bucket(&call.bucket)
        .map_err(store_err(call))?;
    let actions = ["cos:DeleteMultipleObjects", "cos:DeleteObject"];
    for key in &keys {
        if !stsgate_store::valid_object_key(key) {
            return Err(CosError::invalid_object_name());
        }
        call.authorize(Op::DeleteMultipleObjects, &actions, &call.bucket, Some(key))?;
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
    let shown: &[String] = if quiet { &[] } else { &deleted };
    Ok(xml_response(xml::delete_result(shown, encoding_url)))
}

/// What `x-cos-copy-source` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopySource {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
}

/// Parses `x-cos-copy-source`: `<bucket>-<appid>.cos.<region>.myqcloud.com/<url-encoded key>`
/// with an optional `?versionId=…` (what both SDKs send), also with a scheme or a leading `/`,
/// or the S3-style `<bucket>-<appid>/<key>`. The key is percent-decoded once.
pub fn parse_copy_source(value: &str) -> Result<CopySource, String> {
    let value = value.trim();
    let value = value
        .strip_prefix("http://")
        .or_else(|| value.strip_prefix("https://"))
        .unwrap_or(value);
    let value = value.strip_prefix('/').unwrap_or(value);
    let (host, rest) = value
        .split_once('/')
        .ok_or("it has no '/' between the bucket and the key")?;
    let bucket = virtual_host_bucket(host)
        .or_else(|| looks_like_bucket(host).then(|| host.to_string()))
        .ok_or("it does not start with <bucket>-<appid>.cos.<region>.myqcloud.com")?;
    let (raw_key, query) = rest.split_once('?').unwrap_or((rest, ""));
    let key = stsgate_signing::encode::decode_path(raw_key)
        .filter(|k| !k.is_empty())
        .ok_or("its key is empty or not valid percent-encoded UTF-8")?;
    let version_id = stsgate_signing::encode::decode_query(query)
        .into_iter()
        .find(|(k, _)| k == "versionId")
        .map(|(_, v)| v);
    Ok(CopySource {
        bucket,
        key,
        version_id,
    })
}

/// PUT Object - Copy: `cos:GetObject` on the source and `cos:PutObject` on the destination.
pub async fn copy_object(call: &Call) -> Result<Response, CosError> {
    // A range copies part of an object only into a multipart upload (Upload Part - Copy).
    if call
        .header("x-cos-copy-source-range")
        .is_some_and(|v| !v.trim().is_empty())
    {
        return Err(CosError::invalid_argument(
            "x-cos-copy-source-range applies to Upload Part - Copy only (PUT ?partNumber&uploadId); PUT Object - Copy copies the whole object.",
        ));
    }
    let value = call.header("x-cos-copy-source").unwrap_or_default();
    let source = parse_copy_source(&value).map_err(|why| {
        CosError::invalid_argument(format!(
            "x-cos-copy-source {value:?} is not valid: {why}. Use <bucket>-<appid>.cos.<region>.myqcloud.com/<url-encoded key>."
        ))
    })?;
    call.state.check_bucket(&source.bucket)?;
    if source.version_id.as_deref().is_some_and(|v| v != "null") {
        return Err(CosError::new(
            StatusCode::NOT_FOUND,
            "NoSuchVersion",
            "The specified version does not exist: stsgate keeps no object versions.",
        ));
    }
    call.authorize(
        Op::GetObject,
        &["cos:GetObject"],
        &source.bucket,
        Some(&source.key),
    )?;
    let src = call
        .state
        .store
        .head_object(&source.bucket, &source.key)
        .map_err(|e| CosError::from_store(e, &source.bucket))?;
    objects::check_copy_conditions(&call.headers, "x-cos-copy-source-", &src)?;
    let directive = call.header("x-cos-metadata-directive");
    let replace = match directive.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("copy") => false,
        Some("replaced") => true,
        Some(_) => {
            return Err(CosError::invalid_argument(
                "x-cos-metadata-directive must be Copy or Replaced.",
            ))
        }
    };
    let replace_tags = match call
        .header("x-cos-tagging-directive")
        .map(|v| v.to_ascii_lowercase())
        .as_deref()
    {
        None | Some("copy") => false,
        Some("replaced") | Some("replace") => true,
        Some(_) => {
            return Err(CosError::invalid_argument(
                "x-cos-tagging-directive must be Copy or Replaced.",
            ))
        }
    };
    // Copy keeps the source's metadata but not its ACL: the copy's ACL is the request's. Tags
    // follow their own directive; encryption is the request's (or the bucket's default).
    let request_meta = meta_from_headers(call)?;
    let mut meta = if replace {
        request_meta.clone()
    } else {
        let mut m = src.meta.clone();
        m.acl = request_meta.acl;
        m.sse = request_meta.sse.clone();
        m
    };
    meta.tags = if replace_tags {
        request_meta.tags
    } else {
        src.meta.tags.clone()
    };
    let (store, bucket, key, now) = call.owned();
    let forbid = forbid_overwrite(call);
    let (src_bucket, src_key) = (source.bucket, source.key);
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
    let mut r = xml_response(xml::copy_object_result(&info));
    set(&mut r, CRC64, &info.crc64.to_string());
    sse_header(&mut r, &info);
    Ok(r)
}

pub fn get_object_acl(call: &Call) -> Result<Response, CosError> {
    let info = call
        .state
        .store
        .head_object(&call.bucket, &call.key)
        .map_err(store_err(call))?;
    let acl = info.meta.acl.unwrap_or(Acl::Default);
    let (read, write) = match acl {
        Acl::PublicReadWrite => (true, true),
        Acl::PublicRead => (true, false),
        Acl::Private | Acl::Default => (false, false),
    };
    let body = xml::access_control_policy(&call.state.uin, read, write);
    let mut r = xml_response(body);
    set(&mut r, HeaderName::from_static("x-cos-acl"), acl.as_str());
    Ok(r)
}

pub async fn put_object_acl(call: &Call, body: Body) -> Result<Response, CosError> {
    let acl = acl_from_request(call, body, true).await?;
    call.state
        .store
        .set_object_acl(&call.bucket, &call.key, acl)
        .map_err(store_err(call))?;
    Ok(empty(StatusCode::OK))
}

pub fn get_object_tagging(call: &Call) -> Result<Response, CosError> {
    let info = call
        .state
        .store
        .head_object(&call.bucket, &call.key)
        .map_err(store_err(call))?;
    Ok(xml_response(crate::common::tagging::render(
        &info.meta.tags,
    )))
}

pub async fn put_object_tagging(call: &Call, body: Body) -> Result<Response, CosError> {
    let bytes = read_small(body, MAX_XML_BODY).await?;
    let tags = crate::common::tagging::parse_xml(&bytes).map_err(CosError::from_tags)?;
    call.state
        .store
        .update_object_meta(&call.bucket, &call.key, |m| m.tags = tags)
        .map_err(store_err(call))?;
    Ok(empty(StatusCode::OK))
}

pub fn delete_object_tagging(call: &Call) -> Result<Response, CosError> {
    call.state
        .store
        .update_object_meta(&call.bucket, &call.key, |m| m.tags.clear())
        .map_err(store_err(call))?;
    Ok(empty(StatusCode::NO_CONTENT))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn source(bucket: &str, key: &str, version: Option<&str>) -> CopySource {
        CopySource {
            bucket: bucket.into(),
            key: key.into(),
            version_id: version.map(Into::into),
        }
    }

    #[track_caller]
    fn check(value: &str, expected: Result<CopySource, &str>) {
        match (parse_copy_source(value), expected) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{value}"),
            (Err(got), Err(part)) => assert!(got.contains(part), "{value}: {got}"),
            (got, want) => panic!("{value}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn copy_sources() {
        let b = "examplebucket-1250000000";
        let host = "examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com";
        check(&format!("{host}/src.txt"), Ok(source(b, "src.txt", None)));
        check(
            &format!("{host}/dir/a%20b%2Bc.txt?versionId=v1"),
            Ok(source(b, "dir/a b+c.txt", Some("v1"))),
        );
        check(&format!("http://{host}/k"), Ok(source(b, "k", None)));
        check(&format!("/{host}/a/../b"), Ok(source(b, "a/../b", None)));
        check(&format!("{b}/k"), Ok(source(b, "k", None)));
        check(&format!("{host}/"), Err("key is empty"));
        check(&format!("{host}/%FF"), Err("not valid"));
        check(host, Err("no '/'"));
        check("example.com/k", Err("does not start"));
        check("", Err("no '/'"));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]
        #[test]
        fn copy_source_parsing_never_panics(value in ".{0,60}|[a-z]{1,5}-[0-9]{1,4}\\.cos\\.[a-z-]{1,6}\\.x/.{0,20}") {
            if let Ok(s) = parse_copy_source(&value) {
                prop_assert!(!s.key.is_empty() && !s.bucket.is_empty());
            }
        }
    }
}
