//! What every object face does with bodies and reads, whatever its dialect: streaming a request
//! body into the store with bounded memory, reading small (XML) bodies with a cap, Content-MD5
//! and declared-length checks, the standard object headers, byte ranges and conditional
//! requests. Failures are an [`ObjectError`] by meaning; each dialect maps it to its own code and
//! shape (`aliyun/error.rs`, `tencent/error.rs`), as Garage's dialects do.

use crate::common::http::set;
use axum::body::Body;
use axum::response::Response;
use base64::Engine as _;
use bytes::Bytes;
use futures::StreamExt;
use http::{HeaderMap, HeaderName};
use http_body_util::BodyExt;
use stsgate_store::{BlobReader, FinishedBlob, ObjectInfo, ObjectMeta, Staging, Store, StoreError};
use time::OffsetDateTime;

/// Bytes buffered before each write to the staging file.
const WRITE_CHUNK: usize = 1024 * 1024;
/// The most user metadata (names and values) an object may carry, in bytes.
pub const MAX_USER_META: usize = 8 * 1024;

/// Why a body could not be taken or an object read could not go ahead, by meaning.
#[derive(Debug)]
pub enum ObjectError {
    /// Occurs when a body is longer than `max` bytes (declared or received).
    TooLarge { max: u64 },
    /// Occurs when the client's body ends early or its connection fails mid-body.
    IncompleteBody(String),
    /// Occurs when a small (XML) body is larger than `max` bytes or ends early.
    SmallBodyUnreadable { max: usize },
    /// Occurs when `Content-MD5` (base64) differs from the MD5 of the bytes received.
    BadDigest {
        calculated: String,
        provided: String,
    },
    /// Occurs when user metadata exceeds [`MAX_USER_META`] bytes.
    MetadataTooLarge,
    /// Occurs when a conditional header (named here) does not hold: 412.
    PreconditionFailed(String),
    /// Occurs when `If-None-Match` / `If-Modified-Since` says the client's copy is current: 304.
    NotModified,
    /// Occurs when the store fails.
    Store(StoreError),
    /// Occurs when a blocking task panics or is cancelled.
    Internal(String),
}

impl From<StoreError> for ObjectError {
    fn from(e: StoreError) -> ObjectError {
        ObjectError::Store(e)
    }
}

/// Runs blocking store work off the async threads.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ObjectError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ObjectError::Internal(format!("blocking task failed: {e}")))
}

/// The `(start, len)` of an UploadPartCopy range header (`None`: the whole source). Unlike a
/// GET's, a copy range is never clipped: its end must lie in the source. `Err` carries the
/// header's value.
pub fn copy_range(value: Option<&str>, size: u64) -> Result<(u64, u64), String> {
    let Some(v) = value.filter(|v| !v.trim().is_empty()) else {
        return Ok((0, size));
    };
    match parse_range(v, size, true) {
        Ok(r) if !range_end_past(v, size) => Ok((r.start, r.end - r.start + 1)),
        _ => Err(v.to_string()),
    }
}

/// Whether `bytes=a-b` names an end `b` at or past `size`.
fn range_end_past(value: &str, size: u64) -> bool {
    value
        .trim()
        .strip_prefix("bytes=")
        .and_then(|spec| spec.split_once('-'))
        .and_then(|(first, last)| (!first.trim().is_empty()).then_some(last))
        .and_then(|last| last.trim().parse::<u64>().ok())
        .is_some_and(|last| last >= size)
}

/// Streams `body` into a new staging file, at most `max` bytes, memory bounded by two chunks.
pub async fn stage(store: &Store, body: Body, max: u64) -> Result<FinishedBlob, ObjectError> {
    stage_stream(store, body.into_data_stream(), max).await
}

/// Bodies declared (`Content-Length`) at most this long are received whole, then staged, checked
/// and committed in one blocking call, with a buffer of their own size.
pub const SMALL_UPLOAD: u64 = 256 * 1024;

/// Takes an object body and hands the finished blob to `commit` (on the blocking pool): a small
/// declared body in one blocking call (stage, fsync, `Content-MD5` check, commit), anything else
/// streamed through [`stage`] first. The outer error is the body's or the digest's, the inner
/// one `commit`'s.
pub async fn put_body<T: Send + 'static>(
    store: &Store,
    headers: &HeaderMap,
    body: Body,
    max: u64,
    commit: impl FnOnce(FinishedBlob) -> Result<T, StoreError> + Send + 'static,
) -> Result<Result<T, StoreError>, ObjectError> {
    check_declared_length(headers, max)?;
    let declared =
        header_text(headers, "content-length").and_then(|v| v.trim().parse::<u64>().ok());
    let Some(len) = declared.filter(|len| *len <= SMALL_UPLOAD) else {
        let blob = stage(store, body, max).await?;
        check_content_md5(headers, &blob.md5())?;
        return blocking(move || commit(blob)).await;
    };
    // hyper delivers exactly the declared length or an error.
    let bytes = http_body_util::Limited::new(body, len as usize)
        .collect()
        .await
        .map_err(|e| ObjectError::IncompleteBody(e.to_string()))?
        .to_bytes();
    let (store, headers) = (store.clone(), headers.clone());
    blocking(move || {
        let blob = store.stage_bytes(&bytes)?;
        check_content_md5(&headers, &blob.md5())?;
        Ok(commit(blob))
    })
    .await?
}

/// [`stage`] for any stream of byte chunks (a request body, a form's file part).
///
/// Double-buffered: while a blocking task writes and hashes one full chunk, the next one is
/// received. Memory stays bounded by two chunks per upload.
pub async fn stage_stream<E: std::fmt::Display>(
    store: &Store,
    mut stream: impl futures::Stream<Item = Result<Bytes, E>> + Unpin,
    max: u64,
) -> Result<FinishedBlob, ObjectError> {
    let store = store.clone();
    let staging: Staging = blocking(move || store.staging()).await??;
    let mut writer = ChunkWriter::Idle(Box::new(staging), None);
    let mut buf: Vec<u8> = Vec::with_capacity(WRITE_CHUNK);
    let mut total: u64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ObjectError::IncompleteBody(e.to_string()))?;
        total += chunk.len() as u64;
        if total > max {
            return Err(ObjectError::TooLarge { max });
        }
        let mut rest = &chunk[..];
        while !rest.is_empty() {
            let take = rest.len().min(WRITE_CHUNK - buf.len());
            buf.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if buf.len() == WRITE_CHUNK {
                buf = writer.submit(buf).await?;
            }
        }
    }
    if !buf.is_empty() {
        writer.submit(buf).await?;
    }
    let staging = writer.settle().await?.0;
    Ok(blocking(move || staging.finish()).await??)
}

type WriteResult = Result<(Staging, Vec<u8>), StoreError>;

/// The staging file, either idle (with the spare buffer, once there is one) or owned by a
/// blocking task writing one chunk. Dropping it mid-write lets the task finish, after which the
/// staging file is dropped and deleted.
enum ChunkWriter {
    Idle(Box<Staging>, Option<Vec<u8>>),
    Busy(tokio::task::JoinHandle<WriteResult>),
    /// Only while switching states, or after a failed write.
    Failed,
}

impl ChunkWriter {
    /// Waits for the write in flight, if any; returns the staging file and the spare buffer.
    async fn settle(&mut self) -> Result<(Staging, Option<Vec<u8>>), ObjectError> {
        match std::mem::replace(self, ChunkWriter::Failed) {
            ChunkWriter::Idle(staging, spare) => Ok((*staging, spare)),
            ChunkWriter::Busy(task) => {
                let (staging, spare) = task
                    .await
                    .map_err(|e| ObjectError::Internal(format!("blocking task failed: {e}")))??;
                Ok((staging, Some(spare)))
            }
            ChunkWriter::Failed => Err(ObjectError::Internal(
                "staging write already failed".to_string(),
            )),
        }
    }

    /// Waits for the previous write, starts writing `full`, and returns an empty buffer to fill.
    async fn submit(&mut self, full: Vec<u8>) -> Result<Vec<u8>, ObjectError> {
        let (mut staging, spare) = self.settle().await?;
        *self = ChunkWriter::Busy(tokio::task::spawn_blocking(move || {
            // The chunk goes on to the MD5 thread; an empty buffer comes back.
            let empty = staging.write_vec(full)?;
            Ok((staging, empty))
        }));
        Ok(spare.unwrap_or_else(|| Vec::with_capacity(WRITE_CHUNK)))
    }
}

/// Reads a small body (XML documents) completely, refusing more than `max` bytes.
pub async fn read_small(body: Body, max: usize) -> Result<Bytes, ObjectError> {
    http_body_util::Limited::new(body, max)
        .collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|_| ObjectError::SmallBodyUnreadable { max })
}

/// A header value as text (lossy for non-UTF-8 bytes).
pub fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// Checks `Content-MD5` (base64 of the raw digest) against the bytes received; absent is fine.
pub fn check_content_md5(headers: &HeaderMap, md5: &[u8; 16]) -> Result<(), ObjectError> {
    let Some(provided) = header_text(headers, "content-md5") else {
        return Ok(());
    };
    let provided = provided.trim().to_string();
    let calculated = base64::engine::general_purpose::STANDARD.encode(md5);
    if provided != calculated {
        return Err(ObjectError::BadDigest {
            calculated,
            provided,
        });
    }
    Ok(())
}

/// The MD5 of a small body, for [`check_content_md5`].
pub fn md5_of(bytes: &[u8]) -> [u8; 16] {
    <::md5::Md5 as ::md5::Digest>::digest(bytes).into()
}

/// Refuses a body whose declared `Content-Length` is over `max` before reading any of it.
pub fn check_declared_length(headers: &HeaderMap, max: u64) -> Result<(), ObjectError> {
    let declared =
        header_text(headers, "content-length").and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(len) if len > max => Err(ObjectError::TooLarge { max }),
        _ => Ok(()),
    }
}

/// Whether the request announces a body (a non-zero Content-Length, or any Transfer-Encoding).
pub fn request_has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(http::header::TRANSFER_ENCODING)
        || header_text(headers, "content-length").is_some_and(|v| v.trim() != "0")
}

/// The metadata every dialect reads the same way: `Content-Type`, `Cache-Control`,
/// `Content-Disposition`, `Content-Encoding`, `Content-Language`, `Expires` (empty values are
/// absent) and the user metadata `<meta_prefix>*` (name without the prefix, sorted, at most
/// [`MAX_USER_META`] bytes). The dialect adds the ACL and the storage class.
pub fn standard_meta(headers: &HeaderMap, meta_prefix: &str) -> Result<ObjectMeta, ObjectError> {
    let h = |name: &str| header_text(headers, name).filter(|v| !v.is_empty());
    let mut user_meta: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(k, v)| {
            k.as_str().strip_prefix(meta_prefix).map(|name| {
                (
                    name.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).trim().to_string(),
                )
            })
        })
        .collect();
    user_meta.sort();
    let total: usize = user_meta.iter().map(|(k, v)| k.len() + v.len()).sum();
    if total > MAX_USER_META {
        return Err(ObjectError::MetadataTooLarge);
    }
    Ok(ObjectMeta {
        content_type: h("content-type"),
        cache_control: h("cache-control"),
        content_disposition: h("content-disposition"),
        content_encoding: h("content-encoding"),
        content_language: h("content-language"),
        expires: h("expires"),
        user_meta,
        acl: None,
        storage_class: None,
        tags: Vec::new(),
        symlink_target: None,
        sse: None,
        sse_salt: None,
    })
}

/// Sets the optional headers an object was written with (`Cache-Control`,
/// `Content-Disposition`, `Content-Encoding`, `Content-Language`, `Expires`) and its user
/// metadata as `<meta_prefix><name>`.
pub fn set_stored_headers(r: &mut Response, meta: &ObjectMeta, meta_prefix: &str) {
    for (name, value) in [
        (http::header::CACHE_CONTROL, &meta.cache_control),
        (http::header::CONTENT_DISPOSITION, &meta.content_disposition),
        (http::header::CONTENT_ENCODING, &meta.content_encoding),
        (http::header::CONTENT_LANGUAGE, &meta.content_language),
        (http::header::EXPIRES, &meta.expires),
    ] {
        if let Some(v) = value {
            set(r, name, v);
        }
    }
    for (k, v) in &meta.user_meta {
        if let Ok(name) = HeaderName::from_bytes(format!("{meta_prefix}{k}").as_bytes()) {
            set(r, name, v);
        }
    }
}

/// Applies the `response-*` overrides of a GET's query ([`RESPONSE_OVERRIDES`]).
pub fn apply_response_overrides(r: &mut Response, query: &[(String, String)]) {
    for (param, name) in RESPONSE_OVERRIDES {
        if let Some(v) = crate::common::http::param(query, param) {
            set(r, name, v);
        }
    }
}

/// Objects up to this size are read whole in the same blocking call that looks them up, and
/// answered from memory in one write; larger ones are streamed from their file.
pub const SMALL_OBJECT: u64 = 256 * 1024;
/// Bytes per read when streaming a large object.
const READ_CHUNK: usize = 1024 * 1024;

/// An object's bytes, ready for a GET.
pub enum Content {
    /// The whole object (at most [`SMALL_OBJECT`] bytes).
    Whole(Bytes),
    /// An open read handle on a larger object.
    File(std::fs::File),
    /// A larger object read through the store (a sealed one: decrypted chunk by chunk).
    Reader(BlobReader),
    /// A HEAD needs no bytes.
    None,
}

/// Looks an object up and, for a GET of a small object, reads it. A hot object (its row in the
/// store's cache) is served on the async thread: one open and one read of at most
/// [`SMALL_OBJECT`] bytes, as nginx does, rather than a hop to the blocking pool; anything else
/// goes through one blocking call.
pub async fn open_for_get(
    store: &Store,
    bucket: &str,
    key: &str,
    head: bool,
) -> Result<Result<(ObjectInfo, Content), StoreError>, ObjectError> {
    if head {
        if let Some(info) = store.head_cached_object(bucket, key) {
            return Ok(Ok((info, Content::None)));
        }
    } else if let Some((info, file)) = store.open_cached_object(bucket, key) {
        return Ok(read_content(info, file));
    }
    let (store, bucket, key) = (store.clone(), bucket.to_string(), key.to_string());
    blocking(move || {
        if head {
            return store
                .head_object(&bucket, &key)
                .map(|info| (info, Content::None));
        }
        let (info, file) = store.open_object(&bucket, &key)?;
        read_content(info, file)
    })
    .await
}

/// A small object's bytes, or the open file of a larger one.
fn read_content(
    info: ObjectInfo,
    mut blob: BlobReader,
) -> Result<(ObjectInfo, Content), StoreError> {
    if info.size > SMALL_OBJECT {
        return Ok(match blob {
            BlobReader::File(file) => (info, Content::File(file)),
            other => (info, Content::Reader(other)),
        });
    }
    // One read: a blob is never shorter than its committed size (a short one is an I/O error).
    let mut bytes = vec![0; info.size as usize];
    std::io::Read::read_exact(&mut blob, &mut bytes)?;
    Ok((info, Content::Whole(Bytes::from(bytes))))
}

/// The bytes `[start, start + len)` of an object's content: a slice of a small one, or
/// [`READ_CHUNK`] reads of a large one's file.
pub fn content_body(content: Content, start: u64, len: u64) -> Result<Body, ObjectError> {
    use std::io::{Seek, SeekFrom};
    use tokio::io::AsyncReadExt;
    match content {
        Content::None => Ok(Body::empty()),
        Content::Whole(bytes) => Ok(Body::from(
            bytes.slice(start as usize..(start + len) as usize),
        )),
        Content::Reader(mut reader) => {
            use std::io::Read;
            reader
                .seek(SeekFrom::Start(start))
                .map_err(|e| ObjectError::Internal(format!("seek: {e}")))?;
            // Blocking reads on the blocking pool, at most two chunks in flight.
            let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(2);
            tokio::task::spawn_blocking(move || {
                let mut left = len;
                while left > 0 {
                    let mut buf = vec![0u8; READ_CHUNK.min(left as usize)];
                    let sent = match reader.read(&mut buf) {
                        Ok(0) => tx.blocking_send(Err(std::io::Error::other("object ended early"))),
                        Ok(n) => {
                            left -= n as u64;
                            buf.truncate(n);
                            tx.blocking_send(Ok(Bytes::from(buf)))
                        }
                        Err(e) => {
                            let _ = tx.blocking_send(Err(e));
                            return;
                        }
                    };
                    if sent.is_err() {
                        return;
                    }
                }
            });
            Ok(Body::from_stream(futures::stream::unfold(
                rx,
                |mut rx| async move { rx.recv().await.map(|item| (item, rx)) },
            )))
        }
        Content::File(mut file) => {
            file.seek(SeekFrom::Start(start))
                .map_err(|e| ObjectError::Internal(format!("seek: {e}")))?;
            let mut reader = tokio::fs::File::from_std(file);
            reader.set_max_buf_size(READ_CHUNK);
            Ok(Body::from_stream(
                tokio_util::io::ReaderStream::with_capacity(reader.take(len), READ_CHUNK),
            ))
        }
    }
}

/// The `response-*` query parameters that override a GET's headers, with the header each sets.
pub const RESPONSE_OVERRIDES: [(&str, http::HeaderName); 6] = [
    ("response-content-type", http::header::CONTENT_TYPE),
    ("response-content-language", http::header::CONTENT_LANGUAGE),
    ("response-expires", http::header::EXPIRES),
    ("response-cache-control", http::header::CACHE_CONTROL),
    (
        "response-content-disposition",
        http::header::CONTENT_DISPOSITION,
    ),
    ("response-content-encoding", http::header::CONTENT_ENCODING),
];

/// An HTTP-date header (If-Modified-Since and the like) as a time; `None` if absent or malformed.
pub fn header_date(headers: &HeaderMap, name: &str) -> Option<OffsetDateTime> {
    header_text(headers, name)
        .and_then(|v| httpdate::parse_http_date(&v).ok())
        .map(OffsetDateTime::from)
}

/// Last-Modified as clients see it (RFC 1123, whole seconds), for date comparisons.
pub fn whole_seconds(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap_or(t)
}

/// Evaluates If-Match / If-None-Match / If-Modified-Since / If-Unmodified-Since (RFC 7232
/// order): `PreconditionFailed` (412) or `NotModified` (304) when the read must not go ahead.
pub fn check_conditions(headers: &HeaderMap, info: &ObjectInfo) -> Result<(), ObjectError> {
    let etag_matches = |list: &str| {
        list.split(',').any(|t| {
            let t = t.trim();
            t == "*"
                || t.trim_matches('"')
                    .eq_ignore_ascii_case(info.etag.trim_matches('"'))
        })
    };
    let modified = whole_seconds(info.last_modified);
    if let Some(v) = header_text(headers, "if-match") {
        if !etag_matches(&v) {
            return Err(ObjectError::PreconditionFailed("If-Match".into()));
        }
    } else if let Some(t) = header_date(headers, "if-unmodified-since") {
        if modified > t {
            return Err(ObjectError::PreconditionFailed(
                "If-Unmodified-Since".into(),
            ));
        }
    }
    if let Some(v) = header_text(headers, "if-none-match") {
        if etag_matches(&v) {
            return Err(ObjectError::NotModified);
        }
    } else if let Some(t) = header_date(headers, "if-modified-since") {
        if modified <= t {
            return Err(ObjectError::NotModified);
        }
    }
    Ok(())
}

/// The copy-source conditions `<prefix>if-match`, `…if-none-match`, `…if-unmodified-since`,
/// `…if-modified-since` (prefix e.g. `x-oss-copy-source-`); any that fails is a 412 naming it.
pub fn check_copy_conditions(
    headers: &HeaderMap,
    prefix: &str,
    src: &ObjectInfo,
) -> Result<(), ObjectError> {
    let etag = src.etag.trim_matches('"');
    let same = |v: &str| v.trim().trim_matches('"').eq_ignore_ascii_case(etag);
    let modified = whole_seconds(src.last_modified);
    let name = |suffix: &str| format!("{prefix}{suffix}");
    let failed = |suffix: &str| Err(ObjectError::PreconditionFailed(name(suffix)));
    if let Some(v) = header_text(headers, &name("if-match")) {
        if !same(&v) {
            return failed("if-match");
        }
    }
    if let Some(v) = header_text(headers, &name("if-none-match")) {
        if same(&v) {
            return failed("if-none-match");
        }
    }
    if let Some(t) = header_date(headers, &name("if-unmodified-since")) {
        if modified > t {
            return failed("if-unmodified-since");
        }
    }
    if let Some(t) = header_date(headers, &name("if-modified-since")) {
        if modified <= t {
            return failed("if-modified-since");
        }
    }
    Ok(())
}

/// A byte range `[start, end]` (inclusive) to serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    pub end: u64,
}

/// Why a Range header cannot be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeError {
    /// Syntactically invalid: the header is ignored.
    Invalid,
    /// Valid but starts beyond the object.
    Unsatisfiable,
}

/// Parses `bytes=a-b`, `bytes=a-`, `bytes=-n` against an object of `size` bytes. Only the first
/// range of a multi-range header is honoured. With `standard`, an end beyond the object is
/// clipped (RFC 7233); without, such a range is ignored altogether (OSS's legacy behaviour).
pub fn parse_range(value: &str, size: u64, standard: bool) -> Result<ByteRange, RangeError> {
    let spec = value
        .trim()
        .strip_prefix("bytes=")
        .ok_or(RangeError::Invalid)?;
    let first = spec.split(',').next().unwrap_or("").trim();
    let (a, b) = first.split_once('-').ok_or(RangeError::Invalid)?;
    let num = |s: &str| s.trim().parse::<u64>().map_err(|_| RangeError::Invalid);
    match (a.trim().is_empty(), b.trim().is_empty()) {
        (true, true) => Err(RangeError::Invalid),
        (true, false) => {
            let n = num(b)?;
            if n == 0 || size == 0 {
                return Err(RangeError::Unsatisfiable);
            }
            Ok(ByteRange {
                start: size.saturating_sub(n),
                end: size - 1,
            })
        }
        (false, open) => {
            let start = num(a)?;
            let end = if open { start } else { num(b)? };
            if end < start {
                return Err(RangeError::Invalid);
            }
            if start >= size {
                return Err(RangeError::Unsatisfiable);
            }
            let end = if open { size - 1 } else { end };
            if end >= size && !standard && !open {
                return Err(RangeError::Invalid);
            }
            Ok(ByteRange {
                start,
                end: end.min(size - 1),
            })
        }
    }
}

#[cfg(test)]
mod tests;
