//! Objects: put, head, open, delete, copy.

use std::fs::File;

use time::OffsetDateTime;

use crate::db::{self, ts_from_db, ts_to_db};
use crate::staging::{etag_of, Staging};
use crate::{FinishedBlob, Inner, ObjectInfo, ObjectMeta, ObjectType, StoreError};

/// Points `info.bucket/info.key` at the already installed blob `blob` in one transaction, then
/// deletes the blob it replaced; on failure deletes `blob` instead.
pub(crate) fn commit(
    inner: &Inner,
    info: &ObjectInfo,
    blob: &str,
    forbid_overwrite: bool,
) -> Result<(), StoreError> {
    let result = (|| {
        let mut conn = inner.db();
        let tx = conn.transaction()?;
        db::require_bucket(&tx, &info.bucket)?;
        if forbid_overwrite && db::find_object(&tx, &info.bucket, &info.key)?.is_some() {
            return Err(StoreError::ObjectAlreadyExists);
        }
        let old = db::upsert_object(&tx, info, blob)?;
        inner.cache.forget_object(&info.bucket, &info.key);
        tx.commit()?;
        Ok(old)
    })();
    match result {
        Ok(old) => {
            if let Some(old) = old.filter(|old| old != blob) {
                inner.dirs.remove_blob(&old);
            }
            Ok(())
        }
        Err(e) => {
            inner.dirs.remove_blob(blob);
            Err(e)
        }
    }
}

pub(crate) fn put(
    inner: &Inner,
    bucket: &str,
    key: &str,
    blob: FinishedBlob,
    meta: ObjectMeta,
    forbid_overwrite: bool,
    now: OffsetDateTime,
) -> Result<ObjectInfo, StoreError> {
    // Fail fast before moving any bytes; the group commit checks again inside its transaction.
    crate::buckets::get(inner, bucket)?;
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
    let id = inner.dirs.install_unsynced(blob)?;
    inner
        .group
        .commit(inner, info.clone(), id, forbid_overwrite)?;
    Ok(info)
}

pub(crate) fn head(inner: &Inner, bucket: &str, key: &str) -> Result<ObjectInfo, StoreError> {
    if let Some(hit) = inner.cache.object(bucket, key) {
        return Ok(hit.info.clone());
    }
    let conn = inner.db();
    let (blob, info) = find(&conn, bucket, key)?;
    inner.cache.fill_object(&blob, &info);
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
) -> Result<(ObjectInfo, File), StoreError> {
    if let Some(opened) = open_cached(inner, bucket, key) {
        return Ok(opened);
    }
    // Opening under the lock: a blob is only deleted after the transaction that stopped
    // referring to it, which cannot run while we hold the lock.
    let conn = inner.db();
    let (blob, info) = find(&conn, bucket, key)?;
    let file = File::open(inner.dirs.blob_path(&blob))?;
    inner.cache.fill_object(&blob, &info);
    Ok((info, file))
}

/// The object's cached row and its open blob, without touching the database; `None` when the
/// row is not cached or its blob has been replaced since (the locked path then decides).
pub(crate) fn open_cached(inner: &Inner, bucket: &str, key: &str) -> Option<(ObjectInfo, File)> {
    let hit = inner.cache.object(bucket, key)?;
    let file = File::open(inner.dirs.blob_path(&hit.blob)).ok()?;
    Some((hit.info.clone(), file))
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
        inner.cache.forget_object(bucket, key);
        tx.commit()?;
        old
    };
    match old {
        Some(blob) => {
            inner.dirs.remove_blob(&blob);
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
}

pub(crate) fn copy(
    inner: &Inner,
    (src_bucket, src_key): (&str, &str),
    (dst_bucket, dst_key): (&str, &str),
    meta: Option<ObjectMeta>,
    forbid_overwrite: bool,
    now: OffsetDateTime,
) -> Result<ObjectInfo, StoreError> {
    if (src_bucket, src_key) == (dst_bucket, dst_key) {
        return copy_onto_itself(inner, src_bucket, src_key, meta, forbid_overwrite, now);
    }
    let (src_info, source) = {
        let conn = inner.db();
        let (src_blob, src_info) = find(&conn, src_bucket, src_key)?;
        db::require_bucket(&conn, dst_bucket)?;
        if forbid_overwrite && db::find_object(&conn, dst_bucket, dst_key)?.is_some() {
            return Err(StoreError::ObjectAlreadyExists);
        }
        // Both calls are cheap metadata operations, and the lock keeps the source blob alive.
        let source = match inner.dirs.link_blob(&src_blob) {
            Ok(id) => CopySource::Linked(id),
            Err(e) => {
                tracing::debug!(error = %e, "hard link failed, copying bytes");
                CopySource::Opened(File::open(inner.dirs.blob_path(&src_blob))?)
            }
        };
        (src_info, source)
    };
    let id = match source {
        CopySource::Linked(id) => {
            if let Err(e) = inner.dirs.sync_blobs_dir() {
                inner.dirs.remove_blob(&id);
                return Err(e.into());
            }
            id
        }
        CopySource::Opened(mut file) => {
            let mut staging = Staging::create(&inner.dirs.tmp)?;
            staging.copy_from(&mut file)?;
            inner.dirs.install(staging.finish()?)?
        }
    };
    let info = ObjectInfo {
        bucket: dst_bucket.to_owned(),
        key: dst_key.to_owned(),
        last_modified: ts_from_db(ts_to_db(now)),
        meta: meta.unwrap_or(src_info.meta),
        ..src_info
    };
    commit(inner, &info, &id, forbid_overwrite)?;
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

/// Changes only the object's ACL, in one transaction: bytes, other metadata and Last-Modified stay.
pub(crate) fn set_acl(
    inner: &Inner,
    bucket: &str,
    key: &str,
    acl: crate::Acl,
) -> Result<(), StoreError> {
    let mut conn = inner.db();
    let tx = conn.transaction()?;
    let (blob, mut info) = find(&tx, bucket, key)?;
    info.meta.acl = Some(acl);
    db::upsert_object(&tx, &info, &blob)?;
    inner.cache.forget_object(bucket, key);
    tx.commit()?;
    Ok(())
}
