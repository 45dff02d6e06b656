//! Request bodies: streaming object bytes into the store with bounded memory, reading small XML
//! bodies with a cap, checking Content-MD5, and object metadata from headers.

use super::{blocking, Call};
use crate::aliyun::error::OssError;
use axum::body::Body;
use base64::Engine as _;
use bytes::Bytes;
use futures::StreamExt;
use http::{HeaderMap, StatusCode};
use http_body_util::BodyExt;
use stsgate_store::{Acl, FinishedBlob, ObjectMeta, Staging, Store};

/// The largest object a single PUT may carry (OSS: 5 GiB).
pub const MAX_OBJECT_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// Bytes buffered before each write to the staging file.
const WRITE_CHUNK: usize = 1024 * 1024;
/// The largest XML request body accepted (CORS, CompleteMultipartUpload, Delete).
pub const MAX_XML_BODY: usize = 2 * 1024 * 1024;

pub fn entity_too_large(max: u64) -> OssError {
    OssError::new(
        StatusCode::BAD_REQUEST,
        "EntityTooLarge",
        format!("Your proposed upload exceeds the maximum allowed size of {max} bytes."),
        "0016-00000202",
    )
    .with("MaxSizeAllowed", max.to_string())
}

/// Streams `body` into a new staging file, at most `max` bytes, memory bounded by one chunk.
pub async fn stage(store: &Store, body: Body, max: u64) -> Result<FinishedBlob, OssError> {
    stage_stream(store, body.into_data_stream(), max).await
}

/// [`stage`] for any stream of byte chunks (a request body, a form's file part).
///
/// Double-buffered: while a blocking task writes and hashes one full chunk, the next one is
/// received. Memory stays bounded by two chunks per upload.
pub async fn stage_stream<E: std::fmt::Display>(
    store: &Store,
    mut stream: impl futures::Stream<Item = Result<Bytes, E>> + Unpin,
    max: u64,
) -> Result<FinishedBlob, OssError> {
    let store = store.clone();
    let staging: Staging = blocking(move || store.staging())
        .await?
        .map_err(|e| OssError::from_store(e, "", ""))?;
    let mut writer = ChunkWriter::Idle(Box::new(staging), None);
    let mut buf: Vec<u8> = Vec::with_capacity(WRITE_CHUNK);
    let mut total: u64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            OssError::new(
                StatusCode::BAD_REQUEST,
                "IncompleteBody",
                format!("The request body ended early: {e}"),
                "0016-00000301",
            )
        })?;
        total += chunk.len() as u64;
        if total > max {
            return Err(entity_too_large(max));
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
    blocking(move || staging.finish())
        .await?
        .map_err(|e| OssError::from_store(e, "", ""))
}

type WriteResult = Result<(Staging, Vec<u8>), stsgate_store::StoreError>;

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
    async fn settle(&mut self) -> Result<(Staging, Option<Vec<u8>>), OssError> {
        match std::mem::replace(self, ChunkWriter::Failed) {
            ChunkWriter::Idle(staging, spare) => Ok((*staging, spare)),
            ChunkWriter::Busy(task) => {
                let (staging, spare) = task
                    .await
                    .map_err(|e| OssError::internal(&format!("blocking task failed: {e}")))?
                    .map_err(|e| OssError::from_store(e, "", ""))?;
                Ok((staging, Some(spare)))
            }
            ChunkWriter::Failed => Err(OssError::internal("staging write already failed")),
        }
    }

    /// Waits for the previous write, starts writing `full`, and returns an empty buffer to fill.
    async fn submit(&mut self, full: Vec<u8>) -> Result<Vec<u8>, OssError> {
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
pub async fn read_small(body: Body, max: usize) -> Result<Bytes, OssError> {
    http_body_util::Limited::new(body, max)
        .collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|_| {
            OssError::malformed_xml(&format!(
                "the request body is larger than {max} bytes or ended early"
            ))
        })
}

/// Checks `Content-MD5` (base64 of the raw digest) against the bytes received.
pub fn check_content_md5(headers: &HeaderMap, md5: &[u8; 16]) -> Result<(), OssError> {
    let Some(value) = headers.get("content-md5") else {
        return Ok(());
    };
    let expected = String::from_utf8_lossy(value.as_bytes()).trim().to_string();
    let actual = base64::engine::general_purpose::STANDARD.encode(md5);
    if expected != actual {
        return Err(OssError::new(
            StatusCode::BAD_REQUEST,
            "InvalidDigest",
            "The Content-MD5 you specified was invalid: it does not match the MD5 of the bytes received.",
            "0016-00000403",
        )
        .with("CalculatedDigest", actual)
        .with("ProvidedDigest", expected));
    }
    Ok(())
}

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
    let mut user_meta: Vec<(String, String)> = call
        .headers
        .iter()
        .filter_map(|(k, v)| {
            k.as_str().strip_prefix("x-oss-meta-").map(|name| {
                (
                    name.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).trim().to_string(),
                )
            })
        })
        .collect();
    user_meta.sort();
    let total: usize = user_meta.iter().map(|(k, v)| k.len() + v.len()).sum();
    if total > 8 * 1024 {
        return Err(OssError::invalid_argument(
            "User metadata (x-oss-meta-*) may total at most 8 KB.",
            "x-oss-meta-*",
            "",
        ));
    }
    Ok(ObjectMeta {
        content_type: h("content-type"),
        cache_control: h("cache-control"),
        content_disposition: h("content-disposition"),
        content_encoding: h("content-encoding"),
        content_language: h("content-language"),
        expires: h("expires"),
        user_meta,
        acl,
        storage_class: h("x-oss-storage-class"),
    })
}
