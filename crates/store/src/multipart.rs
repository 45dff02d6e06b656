//! Multipart uploads: initiate, upload part, complete, abort, list.
//!
//! Parts are blobs referred to by `parts` rows. Completing concatenates them into a new blob
//! (without the lock), then one transaction points the key at it and drops the upload; the part
//! blobs are deleted after the commit.

use std::fs::File;
use std::io;

use md5::{Digest as _, Md5};
use rusqlite::{Connection, OptionalExtension};
use time::OffsetDateTime;

use crate::db::{self, ts_from_db, ts_to_db, u64_from_db, u64_to_db};
use crate::listing::successor_of_prefix;
use crate::staging::{etag_of, Staging};
use crate::{
    FinishedBlob, Inner, ObjectInfo, ObjectMeta, ObjectType, PartInfo, StoreError, UploadInfo,
    UploadListing,
};

/// Part numbers OSS accepts.
const PART_NUMBERS: std::ops::RangeInclusive<u32> = 1..=10_000;

pub(crate) fn initiate(
    inner: &Inner,
    bucket: &str,
    key: &str,
    meta: &ObjectMeta,
    now: OffsetDateTime,
) -> Result<String, StoreError> {
    let home = crate::buckets::get(inner, bucket)?;
    let mut meta = meta.clone();
    meta.storage_class.get_or_insert(home.storage_class);
    crate::objects::default_sse(inner, bucket, &mut meta)?;
    let meta = &meta;
    let conn = inner.db();
    db::require_bucket(&conn, bucket)?;
    let upload_id = format!("{:032X}", rand::random::<u128>());
    conn.prepare_cached(
        "INSERT INTO uploads (upload_id, bucket, key, initiated, meta) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute((
        &upload_id,
        bucket,
        key.as_bytes(),
        ts_to_db(now),
        db::meta_to_json(meta),
    ))?;
    Ok(upload_id)
}

/// `NoSuchUpload` unless `upload_id` is an upload of `bucket/key`; returns its metadata JSON.
fn require_upload(
    conn: &Connection,
    bucket: &str,
    key: &str,
    upload_id: &str,
) -> Result<String, StoreError> {
    conn.prepare_cached(
        "SELECT meta FROM uploads WHERE upload_id = ?1 AND bucket = ?2 AND key = ?3",
    )?
    .query_row((upload_id, bucket, key.as_bytes()), |row| row.get(0))
    .optional()?
    .ok_or(StoreError::NoSuchUpload)
}

pub(crate) fn upload_meta(
    inner: &Inner,
    bucket: &str,
    key: &str,
    upload_id: &str,
) -> Result<ObjectMeta, StoreError> {
    let meta = require_upload(&inner.db(), bucket, key, upload_id)?;
    meta_from_text(&meta)
}

fn meta_from_text(text: &str) -> Result<ObjectMeta, StoreError> {
    db::meta_from_json(text).map_err(|e| {
        StoreError::Db(rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            Box::new(e),
        ))
    })
}

pub(crate) fn upload_part(
    inner: &Inner,
    (bucket, key, upload_id): (&str, &str, &str),
    part_number: u32,
    blob: FinishedBlob,
    now: OffsetDateTime,
) -> Result<PartInfo, StoreError> {
    if !PART_NUMBERS.contains(&part_number) {
        return Err(StoreError::InvalidPart(part_number));
    }
    let meta = meta_from_text(&require_upload(&inner.db(), bucket, key, upload_id)?)?;
    let part = PartInfo {
        part_number,
        etag: etag_of(&blob.md5()),
        size: blob.size(),
        crc64: blob.crc64(),
        last_modified: ts_from_db(ts_to_db(now)),
    };
    let md5 = blob.md5();
    // An upload to be sealed keeps no plaintext on disk meanwhile: its parts are sealed too.
    let blob = match meta.sse {
        Some(_) => crate::sse::seal_part(inner.sse_key()?, &inner.dirs.tmp, blob)?,
        None => blob,
    };
    let id = inner.dirs.install(blob)?;
    let result = (|| {
        let mut conn = inner.db();
        let tx = conn.transaction()?;
        require_upload(&tx, bucket, key, upload_id)?;
        let old: Option<String> = tx
            .prepare_cached("SELECT blob FROM parts WHERE upload_id = ?1 AND part_number = ?2")?
            .query_row((upload_id, part_number), |row| row.get(0))
            .optional()?;
        tx.prepare_cached(
            "INSERT OR REPLACE INTO parts (upload_id, part_number, blob, size, etag, md5, crc64, last_modified)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(rusqlite::params![
            upload_id,
            part_number,
            id,
            u64_to_db(part.size),
            part.etag,
            md5.as_slice(),
            u64_to_db(part.crc64),
            ts_to_db(part.last_modified),
        ])?;
        tx.commit()?;
        Ok(old)
    })();
    match result {
        Ok(old) => {
            if let Some(old) = old {
                inner.dirs.retire_blob(&old);
            }
            Ok(part)
        }
        Err(e) => {
            inner.dirs.remove_blob(&id);
            Err(e)
        }
    }
}

/// A stored part chosen by a complete request.
struct ChosenPart {
    number: u32,
    blob: String,
    md5: Vec<u8>,
    size: u64,
}

/// Normalizes an ETag for comparison: no quotes, uppercase.
fn bare_etag(etag: &str) -> String {
    etag.trim().trim_matches('"').to_ascii_uppercase()
}

/// Checks the part list against the stored parts; returns them in order with the upload's metadata.
fn choose_parts(
    conn: &Connection,
    (bucket, key, upload_id): (&str, &str, &str),
    parts: &[(u32, String)],
    min_part_size: u64,
) -> Result<(Vec<ChosenPart>, String), StoreError> {
    let meta = require_upload(conn, bucket, key, upload_id)?;
    let Some(last) = parts.last() else {
        return Err(StoreError::InvalidPart(0));
    };
    if parts.windows(2).any(|w| w[0].0 >= w[1].0) {
        return Err(StoreError::InvalidPartOrder);
    }
    let mut stmt = conn.prepare_cached(
        "SELECT blob, size, etag, md5 FROM parts WHERE upload_id = ?1 AND part_number = ?2",
    )?;
    let mut chosen = Vec::with_capacity(parts.len());
    for (number, etag) in parts {
        let row = stmt
            .query_row((upload_id, number), |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    u64_from_db(row.get(1)?),
                    row.get::<_, String>(2)?,
                    row.get::<_, Vec<u8>>(3)?,
                ))
            })
            .optional()?;
        let Some((blob, size, _, md5)) = row.filter(|r| bare_etag(&r.2) == bare_etag(etag)) else {
            return Err(StoreError::InvalidPart(*number));
        };
        if size < min_part_size && number != &last.0 {
            return Err(StoreError::EntityTooSmall(*number, size));
        }
        chosen.push(ChosenPart {
            number: *number,
            blob,
            md5,
            size,
        });
    }
    Ok((chosen, meta))
}

pub(crate) fn complete(
    inner: &Inner,
    (bucket, key, upload_id): (&str, &str, &str),
    parts: &[(u32, String)],
    min_part_size: u64,
    now: OffsetDateTime,
) -> Result<ObjectInfo, StoreError> {
    let (chosen, meta) = choose_parts(&inner.db(), (bucket, key, upload_id), parts, min_part_size)?;
    let meta = meta_from_text(&meta)?;
    let blob = concatenate(inner, (bucket, key, upload_id), &chosen, meta.sse.is_some())?;
    let mut meta = meta;
    let blob = crate::objects::seal_if_asked(inner, blob, &mut meta)?;
    let mut etag_md5 = Md5::new();
    for part in &chosen {
        etag_md5.update(&part.md5);
    }
    let info = ObjectInfo {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        size: blob.size(),
        etag: format!(
            "\"{}-{}\"",
            hex::encode_upper(etag_md5.finalize()),
            chosen.len()
        ),
        last_modified: ts_from_db(ts_to_db(now)),
        crc64: blob.crc64(),
        md5: None,
        object_type: ObjectType::Multipart,
        meta,
    };
    let id = inner.dirs.install(blob)?;
    let result = (|| {
        let mut conn = inner.db();
        let tx = conn.transaction()?;
        require_upload(&tx, bucket, key, upload_id)?;
        // A part replaced while we were copying would make the object differ from what was asked.
        let mut stmt =
            tx.prepare_cached("SELECT blob FROM parts WHERE upload_id = ?1 AND part_number = ?2")?;
        for part in &chosen {
            let current: Option<String> = stmt
                .query_row((upload_id, part.number), |row| row.get(0))
                .optional()?;
            if current.as_deref() != Some(part.blob.as_str()) {
                return Err(StoreError::InvalidPart(part.number));
            }
        }
        drop(stmt);
        let part_blobs = drop_upload(&tx, upload_id)?;
        let old = db::upsert_object(&tx, &info, &id)?;
        inner.cache.forget_object(bucket, key);
        tx.commit()?;
        Ok((part_blobs, old))
    })();
    match result {
        Ok((part_blobs, old)) => {
            for blob in part_blobs.iter().chain(old.iter()) {
                inner.dirs.remove_blob(blob);
            }
            Ok(info)
        }
        Err(e) => {
            inner.dirs.remove_blob(&id);
            Err(e)
        }
    }
}

/// Streams the chosen parts into one new fsynced staging blob.
fn concatenate(
    inner: &Inner,
    upload: (&str, &str, &str),
    chosen: &[ChosenPart],
    sealed_parts: bool,
) -> Result<FinishedBlob, StoreError> {
    let mut staging = Staging::create(&inner.dirs.tmp)?;
    for part in chosen {
        let mut file = match File::open(inner.dirs.blob_path(&part.blob)) {
            Ok(file) => file,
            // Replaced, or the upload completed or aborted meanwhile.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                require_upload(&inner.db(), upload.0, upload.1, upload.2)?;
                return Err(StoreError::InvalidPart(part.number));
            }
            Err(e) => return Err(e.into()),
        };
        if sealed_parts {
            let mut plain = crate::sse::open_part(inner.sse_key()?, file, part.size)?;
            staging.copy_from(&mut plain)?;
        } else {
            staging.copy_from(&mut file)?;
        }
    }
    staging.finish()
}

/// Deletes the upload's rows; returns the part blobs to delete after the commit.
fn drop_upload(conn: &Connection, upload_id: &str) -> Result<Vec<String>, StoreError> {
    let blobs = conn
        .prepare_cached("SELECT blob FROM parts WHERE upload_id = ?1")?
        .query_map([upload_id], |row| row.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    conn.execute("DELETE FROM parts WHERE upload_id = ?1", [upload_id])?;
    conn.execute("DELETE FROM uploads WHERE upload_id = ?1", [upload_id])?;
    Ok(blobs)
}

pub(crate) fn abort(
    inner: &Inner,
    bucket: &str,
    key: &str,
    upload_id: &str,
) -> Result<(), StoreError> {
    let blobs = {
        let mut conn = inner.db();
        let tx = conn.transaction()?;
        require_upload(&tx, bucket, key, upload_id)?;
        let blobs = drop_upload(&tx, upload_id)?;
        tx.commit()?;
        blobs
    };
    for blob in &blobs {
        inner.dirs.remove_blob(blob);
    }
    Ok(())
}

pub(crate) fn list_parts(
    inner: &Inner,
    (bucket, key, upload_id): (&str, &str, &str),
    marker: u32,
    max: usize,
) -> Result<(Vec<PartInfo>, bool), StoreError> {
    let conn = inner.db();
    require_upload(&conn, bucket, key, upload_id)?;
    let mut stmt = conn.prepare_cached(
        "SELECT part_number, etag, size, crc64, last_modified FROM parts
         WHERE upload_id = ?1 AND part_number > ?2 ORDER BY part_number LIMIT ?3",
    )?;
    let limit = i64::try_from(max.saturating_add(1)).unwrap_or(i64::MAX);
    let mut parts = stmt
        .query_map((upload_id, marker, limit), |row| {
            Ok(PartInfo {
                part_number: row.get(0)?,
                etag: row.get(1)?,
                size: u64_from_db(row.get(2)?),
                crc64: u64_from_db(row.get(3)?),
                last_modified: ts_from_db(row.get(4)?),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let truncated = parts.len() > max;
    parts.truncate(max);
    Ok((parts, truncated))
}

/// Where the next page of uploads starts: after a (key, upload id) pair, or at the first key
/// not below a byte string (past a rolled-up common prefix).
enum From {
    After(Vec<u8>, String),
    AtLeast(Vec<u8>),
}

/// Up to `limit` uploads of `bucket` under `prefix` from `from`, in (key, upload id) order.
fn uploads_from(
    conn: &Connection,
    bucket: &str,
    prefix: &[u8],
    from: &From,
    limit: usize,
) -> Result<Vec<UploadInfo>, StoreError> {
    let upper = successor_of_prefix(prefix);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let row = |row: &rusqlite::Row<'_>| {
        Ok(UploadInfo {
            key: db::key_from_db(row, 0)?,
            upload_id: row.get(1)?,
            initiated: ts_from_db(row.get(2)?),
        })
    };
    let uploads = match from {
        // Without an upload id marker, every upload of `key` itself is skipped (as in S3).
        From::After(key, id) => conn
            .prepare_cached(
                "SELECT key, upload_id, initiated FROM uploads
                 WHERE bucket = ?1 AND key >= ?4 AND (?5 IS NULL OR key < ?5)
                   AND (key > ?2 OR (?3 <> '' AND key = ?2 AND upload_id > ?3))
                 ORDER BY key, upload_id LIMIT ?6",
            )?
            .query_map(
                rusqlite::params![bucket, key, id, prefix, upper, limit],
                row,
            )?
            .collect::<Result<Vec<_>, _>>()?,
        From::AtLeast(key) => conn
            .prepare_cached(
                "SELECT key, upload_id, initiated FROM uploads
                 WHERE bucket = ?1 AND key >= ?2 AND key >= ?3 AND (?4 IS NULL OR key < ?4)
                 ORDER BY key, upload_id LIMIT ?5",
            )?
            .query_map(rusqlite::params![bucket, key, prefix, upper, limit], row)?
            .collect::<Result<Vec<_>, _>>()?,
    };
    Ok(uploads)
}

/// In-progress uploads in (key, upload id) order after the (key_marker, upload_id_marker)
/// pair, filtered by `prefix`, at most `max` entries; with a non-empty `delimiter`, keys
/// holding it after the prefix roll up into common prefixes (each counting toward `max`; one
/// not above the key marker is skipped, as an earlier page listed it).
pub(crate) fn list_uploads(
    inner: &Inner,
    bucket: &str,
    (prefix, delimiter): (&str, &str),
    (key_marker, upload_id_marker): (&str, &str),
    max: usize,
) -> Result<UploadListing, StoreError> {
    let conn = inner.db();
    db::require_bucket(&conn, bucket)?;
    let mut out = UploadListing::default();
    let mut from = From::After(key_marker.as_bytes().to_vec(), upload_id_marker.to_string());
    let mut count = 0;
    'pages: loop {
        let asked = max + 1 - count;
        let page = uploads_from(&conn, bucket, prefix.as_bytes(), &from, asked)?;
        let got = page.len();
        let mut jumped = false;
        for upload in page {
            let rolled = (!delimiter.is_empty())
                .then(|| upload.key[prefix.len()..].find(delimiter))
                .flatten()
                .map(|at| upload.key[..prefix.len() + at + delimiter.len()].to_string());
            match rolled {
                Some(common) => {
                    if common.as_str() > key_marker {
                        if count == max {
                            out.truncated = true;
                            break 'pages;
                        }
                        out.next_key_marker = common.clone();
                        out.next_upload_id_marker.clear();
                        out.common_prefixes.push(common.clone());
                        count += 1;
                    }
                    // On past every key under this common prefix.
                    match successor_of_prefix(common.as_bytes()) {
                        Some(after) => from = From::AtLeast(after),
                        None => break 'pages,
                    }
                    jumped = true;
                    break;
                }
                None => {
                    if count == max {
                        out.truncated = true;
                        break 'pages;
                    }
                    out.next_key_marker = upload.key.clone();
                    out.next_upload_id_marker = upload.upload_id.clone();
                    from = From::After(upload.key.as_bytes().to_vec(), upload.upload_id.clone());
                    out.uploads.push(upload);
                    count += 1;
                }
            }
        }
        if !jumped && got < asked {
            break;
        }
    }
    Ok(out)
}
