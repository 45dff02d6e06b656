//! Objects: put, head, open, delete, copy.

use std::fs::File;
use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::sync::Arc;

use time::OffsetDateTime;

use crate::db::{self, ts_from_db, ts_to_db};
use crate::staging::{etag_of, is_inline, new_inline_id, Staging};
use crate::{FinishedBlob, Inner, ObjectInfo, ObjectMeta, ObjectType, StoreError};

/// An object's bytes for reading: its blob file, or the bytes of an inline blob.
#[derive(Debug)]
pub enum BlobReader {
    File(File),
    Inline(Cursor<Arc<[u8]>>),
    /// A sealed (server-side encrypted) file blob, read as plaintext.
    Sealed(Box<crate::sse::SealedReader<File>>),
}

impl BlobReader {
    /// The open file of a file blob; `None` for an inline one.
    pub fn into_file(self) -> Option<File> {
        match self {
            BlobReader::File(f) => Some(f),
            BlobReader::Inline(_) | BlobReader::Sealed(_) => None,
        }
    }
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            BlobReader::File(f) => f.read(buf),
            BlobReader::Inline(c) => c.read(buf),
            BlobReader::Sealed(r) => r.read(buf),
        }
    }
}

impl Seek for BlobReader {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        match self {
            BlobReader::File(f) => f.seek(pos),
            BlobReader::Inline(c) => c.seek(pos),
            BlobReader::Sealed(r) => r.seek(pos),
        }
    }
}

/// Points `info.bucket/info.key` at the already installed blob `blob` (or the inline blob `blob`
/// with bytes `data`) in one transaction, then deletes the blob it replaced; on failure deletes
/// `blob` instead.
pub(crate) fn commit(
    inner: &Inner,
    info: &ObjectInfo,
    blob: &str,
    data: Option<&[u8]>,
    forbid_overwrite: bool,
) -> Result<(), StoreError> {
    let result = (|| {
        let mut conn = inner.db();
        let tx = conn.transaction()?;
        db::require_bucket(&tx, &info.bucket)?;
        if forbid_overwrite && db::find_object(&tx, &info.bucket, &info.key)?.is_some() {
            return Err(StoreError::ObjectAlreadyExists);
        }
        if let Some(data) = data {
            db::insert_inline(&tx, blob, data)?;
        }
        let old = db::upsert_object(&tx, info, blob)?;
        inner.cache.forget_object(&info.bucket, &info.key);
        tx.commit()?;
        Ok(old)
    })();
    match result {
        Ok(old) => {
            if let Some(old) = old.filter(|old| old != blob) {
                inner.dirs.retire_blob(&old);
            }
            Ok(())
        }
        Err(e) => {
            inner.dirs.remove_blob(blob);
            Err(e)
        }
    }
}

/// PutSymlink: `bucket/key` becomes a link to `target` (which need not exist), replacing
/// whatever the key held; its metadata is `meta`.
pub(crate) fn put_symlink(
    inner: &Inner,
    (bucket, key): (&str, &str),
    target: &str,
    mut meta: ObjectMeta,
    forbid_overwrite: bool,
    now: OffsetDateTime,
) -> Result<ObjectInfo, StoreError> {
    let home = crate::buckets::get(inner, bucket)?;
    meta.storage_class.get_or_insert(home.storage_class);
    meta.symlink_target = Some(target.to_owned());
    if forbid_overwrite && db::find_object(&inner.db(), bucket, key)?.is_some() {
        return Err(StoreError::ObjectAlreadyExists);
    }
    let empty = FinishedBlob::inline(b"");
    let info = ObjectInfo {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        size: 0,
        etag: etag_of(&empty.md5()),
        last_modified: ts_from_db(ts_to_db(now)),
        crc64: 0,
        md5: Some(empty.md5()),
        object_type: ObjectType::Symlink,
        meta,
    };
    inner.group.commit(
        inner,
        info.clone(),
        new_inline_id(),
        Some(Vec::new()),
        forbid_overwrite,
    )?;
    Ok(info)
}

/// The bucket's default server-side encryption (`PutBucketEncryption`), if any.
pub(crate) fn bucket_default_sse(
    inner: &Inner,
    bucket: &str,
) -> Result<Option<String>, StoreError> {
    crate::buckets::setting(inner, bucket, crate::SSE_SETTING)
}

/// Applies the bucket's default encryption to `meta` when the request asked for none.
pub(crate) fn default_sse(
    inner: &Inner,
    bucket: &str,
    meta: &mut ObjectMeta,
) -> Result<(), StoreError> {
    if meta.sse.is_none() {
        meta.sse = bucket_default_sse(inner, bucket)?;
    }
    Ok(())
}

/// Seals `blob` when `meta` asks for server-side encryption (recording the salt).
pub(crate) fn seal_if_asked(
    inner: &Inner,
    blob: FinishedBlob,
    meta: &mut ObjectMeta,
) -> Result<FinishedBlob, StoreError> {
    if meta.sse.is_none() {
        meta.sse_salt = None;
        return Ok(blob);
    }
    let (sealed, salt) = crate::sse::seal(inner.sse_key()?, &inner.dirs.tmp, blob)?;
    meta.sse_salt = Some(salt);
    Ok(sealed)
}

/// A reader of `blob`'s plaintext: sealed blobs are opened with their object's key.
fn reader_of(inner: &Inner, info: &ObjectInfo, file: File) -> Result<BlobReader, StoreError> {
    match &info.meta.sse_salt {
        None => Ok(BlobReader::File(file)),
        Some(salt) => Ok(BlobReader::Sealed(Box::new(crate::sse::SealedReader::new(
            inner.sse_key()?,
            salt,
            info.size,
            file,
        )?))),
    }
}

/// An inline blob's plaintext.
fn inline_plain(inner: &Inner, info: &ObjectInfo, data: Vec<u8>) -> Result<Vec<u8>, StoreError> {
    match &info.meta.sse_salt {
        None => Ok(data),
        Some(salt) => Ok(crate::sse::open_all(
            inner.sse_key()?,
            salt,
            info.size,
            &data,
        )?),
    }
}

pub(crate) fn put(
    inner: &Inner,
    bucket: &str,
    key: &str,
    blob: FinishedBlob,
    mut meta: ObjectMeta,
    forbid_overwrite: bool,
    now: OffsetDateTime,
) -> Result<ObjectInfo, StoreError> {
    // Fail fast before moving any bytes; the group commit checks again inside its transaction.
    let home = crate::buckets::get(inner, bucket)?;
    // Written without a storage class, an object has its bucket's.
    meta.storage_class.get_or_insert(home.storage_class);
    default_sse(inner, bucket, &mut meta)?;
    let blob = seal_if_asked(inner, blob, &mut meta)?;
    let mut blob = blob;
    if forbid_overwrite {
        let conn = inner.db();
        if db::find_object(&conn, bucket, key)?.is_some() {
            return Err(StoreError::ObjectAlreadyExists);
        }
    }
    let info = ObjectInfo {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        size: blob.size(),
        etag: etag_of(&blob.md5()),
        last_modified: ts_from_db(ts_to_db(now)),
        crc64: blob.crc64(),
        md5: Some(blob.md5()),
        object_type: ObjectType::Normal,
        meta,
    };
    let (id, data) = match blob.take_inline() {
        Some(data) => (new_inline_id(), Some(data)),
        None => (inner.dirs.install_unsynced(blob)?, None),
    };
    inner
        .group
        .commit(inner, info.clone(), id, data, forbid_overwrite)?;
    Ok(info)
}

pub(crate) fn head(inner: &Inner, bucket: &str, key: &str) -> Result<ObjectInfo, StoreError> {
    if let Some(hit) = inner.cache.object(bucket, key) {
        return Ok(hit.info.clone());
    }
    let conn = inner.db();
    let (blob, info) = find(&conn, bucket, key)?;
    inner.cache.fill_object(&blob, &info, None);
    Ok(info)
}

/// The blob id and info of an existing object: `NoSuchBucket`, `NoSuchKey`.
fn find(
    conn: &rusqlite::Connection,
    bucket: &str,
    key: &str,
) -> Result<(String, ObjectInfo), StoreError> {
    match db::find_object(conn, bucket, key)? {
        Some(found) => Ok(found),
        None if db::bucket_exists(conn, bucket)? => Err(StoreError::NoSuchKey),
        None => Err(StoreError::NoSuchBucket),
    }
}

pub(crate) fn open(
    inner: &Inner,
    bucket: &str,
    key: &str,
) -> Result<(ObjectInfo, BlobReader), StoreError> {
    if let Some(opened) = open_cached(inner, bucket, key) {
        return Ok(opened);
    }
    // Opening under the lock: a blob is only deleted after the transaction that stopped
    // referring to it, which cannot run while we hold the lock.
    let conn = inner.db();
    let (blob, info) = find(&conn, bucket, key)?;
    if is_inline(&blob) {
        let data: Arc<[u8]> = inline_plain(inner, &info, db::read_inline(&conn, &blob)?)?.into();
        inner.cache.fill_object(&blob, &info, Some(data.clone()));
        return Ok((info, BlobReader::Inline(Cursor::new(data))));
    }
    let file = File::open(inner.dirs.blob_path(&blob))?;
    let reader = reader_of(inner, &info, file)?;
    inner.cache.fill_object(&blob, &info, None);
    Ok((info, reader))
}

/// The object's cached row and its open blob, without touching the database; `None` when the
/// row is not cached or its blob has been replaced since (the locked path then decides).
pub(crate) fn open_cached(
    inner: &Inner,
    bucket: &str,
    key: &str,
) -> Option<(ObjectInfo, BlobReader)> {
    let hit = inner.cache.object(bucket, key)?;
    let reader = match &hit.data {
        Some(data) => BlobReader::Inline(Cursor::new(data.clone())),
        // Filled by a HEAD: the bytes are read under the lock.
        None if is_inline(&hit.blob) => return None,
        None => {
            let file = File::open(inner.dirs.blob_path(&hit.blob)).ok()?;
            reader_of(inner, &hit.info, file).ok()?
        }
    };
    Some((hit.info.clone(), reader))
}

pub(crate) fn delete(inner: &Inner, bucket: &str, key: &str) -> Result<bool, StoreError> {
    let old: Option<String> = {
        let mut conn = inner.db();
        let tx = conn.transaction()?;
        db::require_bucket(&tx, bucket)?;
        let old = db::find_object(&tx, bucket, key)?.map(|(blob, _)| blob);
        tx.execute(
            "DELETE FROM objects WHERE bucket = ?1 AND key = ?2",
            (bucket, key.as_bytes()),
        )?;
        if let Some(old) = &old {
            db::delete_inline(&tx, old)?;
        }
        inner.cache.forget_object(bucket, key);
        tx.commit()?;
        old
    };
    match old {
        Some(blob) => {
            inner.dirs.retire_blob(&blob);
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Where the copy's bytes come from once the source row has been read.
enum CopySource {
    /// A new blob id hard-linked to the source blob (not yet durable: fsync `blobs/`).
    Linked(String),
    /// An open handle on the source blob, to stream into a new blob.
    Opened(File),
    /// The bytes of an inline source blob, for a new inline blob.
    Inline(Vec<u8>),
}

pub(crate) fn copy(
    inner: &Inner,
    (src_bucket, src_key): (&str, &str),
    (dst_bucket, dst_key): (&str, &str),
    meta: Option<ObjectMeta>,
    forbid_overwrite: bool,
    now: OffsetDateTime,
) -> Result<ObjectInfo, StoreError> {
    let mut meta = meta;
    if let Some(m) = meta.as_mut().filter(|m| m.storage_class.is_none()) {
        m.storage_class = Some(crate::buckets::get(inner, dst_bucket)?.storage_class);
    }
    // A copied link stays a link to the same target, whatever metadata replaces its own.
    if let Some(m) = meta.as_mut() {
        if let Some((_, src)) = db::find_object(&inner.db(), src_bucket, src_key)? {
            m.symlink_target = src.meta.symlink_target;
        }
    }
    if (src_bucket, src_key) == (dst_bucket, dst_key) {
        return copy_onto_itself(inner, src_bucket, src_key, meta, forbid_overwrite, now);
    }
    let bucket_default = bucket_default_sse(inner, dst_bucket)?;
    let asks_seal = bucket_default.is_some() || meta.as_ref().is_some_and(|m| m.sse.is_some());
    let (src_info, source) = {
        let conn = inner.db();
        let (src_blob, src_info) = find(&conn, src_bucket, src_key)?;
        db::require_bucket(&conn, dst_bucket)?;
        if forbid_overwrite && db::find_object(&conn, dst_bucket, dst_key)?.is_some() {
            return Err(StoreError::ObjectAlreadyExists);
        }
        let sealed = src_info.meta.sse_salt.is_some();
        // Both calls are cheap metadata operations, and the lock keeps the source blob alive.
        let source = if is_inline(&src_blob) {
            CopySource::Inline(db::read_inline(&conn, &src_blob)?)
        } else if src_info.object_type == ObjectType::Appendable || (asks_seal && !sealed) {
            // An appendable blob grows in place, and a copy to be sealed is read as plaintext:
            // the copy gets bytes of its own, up to the committed size.
            CopySource::Opened(File::open(inner.dirs.blob_path(&src_blob))?)
        } else {
            match inner.dirs.link_blob(&src_blob) {
                Ok(id) => CopySource::Linked(id),
                Err(e) => {
                    tracing::debug!(error = %e, "hard link failed, copying bytes");
                    CopySource::Opened(File::open(inner.dirs.blob_path(&src_blob))?)
                }
            }
        };
        (src_info, source)
    };
    let src_salt = src_info.meta.sse_salt.clone();
    let src_sse = src_info.meta.sse.clone();
    let mut meta = meta.unwrap_or_else(|| src_info.meta.clone());
    if meta.sse.is_none() {
        meta.sse = bucket_default;
    }
    let mut data = None;
    let mut rewritten = None;
    let id = match source {
        CopySource::Inline(bytes) if asks_seal && src_salt.is_none() => {
            // A small plaintext object copied with encryption asked: sealed now.
            let blob = seal_if_asked(inner, FinishedBlob::inline(&bytes), &mut meta)?;
            let mut blob = blob;
            data = blob.take_inline();
            new_inline_id()
        }
        CopySource::Inline(bytes) => {
            data = Some(bytes);
            new_inline_id()
        }
        CopySource::Linked(id) => {
            if let Err(e) = inner.dirs.sync_blobs_dir() {
                inner.dirs.remove_blob(&id);
                return Err(e.into());
            }
            id
        }
        CopySource::Opened(file) => {
            let mut staging = Staging::create(&inner.dirs.tmp)?;
            // A sealed source is copied as it lies on disk (its key goes with it).
            let on_disk = match src_salt {
                Some(_) => crate::sse::sealed_len(src_info.size),
                None => src_info.size,
            };
            staging.copy_from(&mut file.take(on_disk))?;
            let mut blob = staging.finish()?;
            if src_info.object_type == ObjectType::Appendable {
                rewritten = Some((blob.md5(), blob.crc64()));
            }
            if asks_seal && src_salt.is_none() {
                blob = seal_if_asked(inner, blob, &mut meta)?;
            }
            inner.dirs.install(blob)?
        }
    };
    // Bytes shared with a sealed source stay sealed with its key, whatever metadata replaces.
    if src_salt.is_some() {
        meta.sse = src_sse;
        meta.sse_salt = src_salt;
    } else if !asks_seal {
        meta.sse_salt = None;
    }
    let mut info = ObjectInfo {
        bucket: dst_bucket.to_owned(),
        key: dst_key.to_owned(),
        last_modified: ts_from_db(ts_to_db(now)),
        meta,
        ..src_info
    };
    if let Some((md5, crc64)) = rewritten {
        info.object_type = ObjectType::Normal;
        info.etag = etag_of(&md5);
        info.md5 = Some(md5);
        info.crc64 = crc64;
    }
    commit(inner, &info, &id, data.as_deref(), forbid_overwrite)?;
    Ok(info)
}

/// Copying a key onto itself only rewrites its metadata (REPLACE) and modification time.
fn copy_onto_itself(
    inner: &Inner,
    bucket: &str,
    key: &str,
    meta: Option<ObjectMeta>,
    forbid_overwrite: bool,
    now: OffsetDateTime,
) -> Result<ObjectInfo, StoreError> {
    let mut conn = inner.db();
    let tx = conn.transaction()?;
    let (blob, src_info) = find(&tx, bucket, key)?;
    if forbid_overwrite {
        return Err(StoreError::ObjectAlreadyExists);
    }
    // The bytes stay as they are: sealed or not, as the source was.
    let meta = meta.map(|mut m| {
        m.sse = src_info.meta.sse.clone();
        m.sse_salt = src_info.meta.sse_salt.clone();
        m
    });
    let info = ObjectInfo {
        last_modified: ts_from_db(ts_to_db(now)),
        meta: meta.unwrap_or(src_info.meta),
        ..src_info
    };
    db::upsert_object(&tx, &info, &blob)?;
    inner.cache.forget_object(bucket, key);
    tx.commit()?;
    Ok(info)
}

/// Changes an object's metadata in one transaction: bytes and Last-Modified stay.
pub(crate) fn update_meta(
    inner: &Inner,
    bucket: &str,
    key: &str,
    change: impl FnOnce(&mut crate::ObjectMeta),
) -> Result<ObjectInfo, StoreError> {
    let mut conn = inner.db();
    let tx = conn.transaction()?;
    let (blob, mut info) = find(&tx, bucket, key)?;
    change(&mut info.meta);
    db::upsert_object(&tx, &info, &blob)?;
    inner.cache.forget_object(bucket, key);
    tx.commit()?;
    Ok(info)
}
