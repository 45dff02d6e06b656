//! The metadata database: schema, connection settings and row conversions.
//!
//! Keys are stored as BLOBs so SQLite compares them byte by byte (the OSS listing order);
//! timestamps as Unix nanoseconds; CRC-64 as the i64 with the same bits; metadata as JSON.

use std::fs::OpenOptions;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension, Row};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::{Acl, CorsConfig, CorsRule, ObjectInfo, ObjectMeta, ObjectType, StoreError};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS buckets (
    name TEXT PRIMARY KEY,
    created INTEGER NOT NULL,
    acl TEXT NOT NULL,
    storage_class TEXT NOT NULL,
    cors TEXT
);
CREATE TABLE IF NOT EXISTS objects (
    bucket TEXT NOT NULL,
    key BLOB NOT NULL,
    blob TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    last_modified INTEGER NOT NULL,
    crc64 INTEGER NOT NULL,
    md5 BLOB,
    multipart INTEGER NOT NULL,
    meta TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS objects_key ON objects (bucket, key);
CREATE INDEX IF NOT EXISTS objects_blob ON objects (blob);
CREATE TABLE IF NOT EXISTS inline_blobs (
    id TEXT PRIMARY KEY,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS uploads (
    upload_id TEXT PRIMARY KEY,
    bucket TEXT NOT NULL,
    key BLOB NOT NULL,
    initiated INTEGER NOT NULL,
    meta TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS uploads_key ON uploads (bucket, key, upload_id);
CREATE TABLE IF NOT EXISTS parts (
    upload_id TEXT NOT NULL,
    part_number INTEGER NOT NULL,
    blob TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    md5 BLOB NOT NULL,
    crc64 INTEGER NOT NULL,
    last_modified INTEGER NOT NULL,
    PRIMARY KEY (upload_id, part_number)
);
CREATE INDEX IF NOT EXISTS parts_blob ON parts (blob);
CREATE TABLE IF NOT EXISTS bucket_settings (
    bucket TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (bucket, kind)
);
PRAGMA user_version = 1;
";

/// The columns [`object_from_row`] reads, in its order.
pub(crate) const OBJECT_COLUMNS: &str =
    "key, size, etag, last_modified, crc64, md5, multipart, meta";

/// Opens (creating with mode 0600) the database file and brings the schema up to date.
///
/// `synchronous=FULL` in WAL mode: a committed transaction survives power loss, which the
/// "blob first, then commit, then delete the old blob" protocol relies on.
pub(crate) fn open(path: &Path) -> Result<Connection, StoreError> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute_batch(SCHEMA)?;
    Ok(conn)
}

pub(crate) fn ts_to_db(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos()).unwrap_or(i64::MAX)
}

pub(crate) fn ts_from_db(nanos: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(nanos.into()).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The same 64 bits, as SQLite only has signed integers.
pub(crate) fn u64_to_db(v: u64) -> i64 {
    i64::from_ne_bytes(v.to_ne_bytes())
}

pub(crate) fn u64_from_db(v: i64) -> u64 {
    u64::from_ne_bytes(v.to_ne_bytes())
}

/// Reads a key column back into a `String` (keys are always written from `&str`).
pub(crate) fn key_from_db(row: &Row<'_>, idx: usize) -> rusqlite::Result<String> {
    let bytes: Vec<u8> = row.get(idx)?;
    String::from_utf8(bytes).map_err(|e| rusqlite::Error::Utf8Error(e.utf8_error()))
}

/// An [`ObjectInfo`] from a row selected with [`OBJECT_COLUMNS`].
pub(crate) fn object_from_row(bucket: &str, row: &Row<'_>) -> rusqlite::Result<ObjectInfo> {
    let md5: Option<Vec<u8>> = row.get(5)?;
    let object_type: i64 = row.get(6)?;
    let meta: String = row.get(7)?;
    Ok(ObjectInfo {
        bucket: bucket.to_owned(),
        key: key_from_db(row, 0)?,
        size: u64_from_db(row.get(1)?),
        etag: row.get(2)?,
        last_modified: ts_from_db(row.get(3)?),
        crc64: u64_from_db(row.get(4)?),
        md5: md5.and_then(|m| <[u8; 16]>::try_from(m).ok()),
        object_type: ObjectType::from_code(object_type),
        meta: meta_from_json(&meta).map_err(|e| conversion_error(7, e))?,
    })
}

/// The blob id and info of `bucket/key`, if it exists.
pub(crate) fn find_object(
    conn: &Connection,
    bucket: &str,
    key: &str,
) -> rusqlite::Result<Option<(String, ObjectInfo)>> {
    let sql = format!("SELECT {OBJECT_COLUMNS}, blob FROM objects WHERE bucket = ?1 AND key = ?2");
    let mut stmt = conn.prepare_cached(&sql)?;
    stmt.query_row((bucket, key.as_bytes()), |row| {
        Ok((row.get(8)?, object_from_row(bucket, row)?))
    })
    .optional()
}

/// Points `info.bucket/info.key` at `blob`, returning the blob it pointed at before.
pub(crate) fn upsert_object(
    conn: &Connection,
    info: &ObjectInfo,
    blob: &str,
) -> rusqlite::Result<Option<String>> {
    let old: Option<String> = conn
        .prepare_cached("SELECT blob FROM objects WHERE bucket = ?1 AND key = ?2")?
        .query_row((&info.bucket, info.key.as_bytes()), |row| row.get(0))
        .optional()?;
    conn.prepare_cached(
        "INSERT INTO objects (bucket, key, blob, size, etag, last_modified, crc64, md5, multipart, meta)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (bucket, key) DO UPDATE SET blob = excluded.blob, size = excluded.size,
           etag = excluded.etag, last_modified = excluded.last_modified, crc64 = excluded.crc64,
           md5 = excluded.md5, multipart = excluded.multipart, meta = excluded.meta",
    )?
    .execute(rusqlite::params![
        info.bucket,
        info.key.as_bytes(),
        blob,
        u64_to_db(info.size),
        info.etag,
        ts_to_db(info.last_modified),
        u64_to_db(info.crc64),
        info.md5.as_ref().map(|m| m.as_slice()),
        info.object_type.code(),
        meta_to_json(&info.meta),
    ])?;
    if let Some(old) = old.as_deref().filter(|old| *old != blob) {
        delete_inline(conn, old)?;
    }
    Ok(old)
}

/// Stores the bytes of inline blob `id` (in the transaction that commits the row naming it).
pub(crate) fn insert_inline(conn: &Connection, id: &str, data: &[u8]) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT INTO inline_blobs (id, data) VALUES (?1, ?2)")?
        .execute(rusqlite::params![id, data])?;
    Ok(())
}

/// The bytes of inline blob `id`.
pub(crate) fn read_inline(conn: &Connection, id: &str) -> rusqlite::Result<Vec<u8>> {
    conn.prepare_cached("SELECT data FROM inline_blobs WHERE id = ?1")?
        .query_row([id], |row| row.get(0))
}

/// Deletes inline blob `id` when it is one (in the transaction that stops referring to it); a
/// file blob id is left to the caller, which deletes the file after the commit.
pub(crate) fn delete_inline(conn: &Connection, id: &str) -> rusqlite::Result<()> {
    if crate::staging::is_inline(id) {
        conn.prepare_cached("DELETE FROM inline_blobs WHERE id = ?1")?
            .execute([id])?;
    }
    Ok(())
}

/// Deletes the inline blobs no object row names (none should exist: they come and go in the
/// transactions of their rows). Returns how many.
pub(crate) fn sweep_inline(conn: &Connection) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM inline_blobs WHERE NOT EXISTS (SELECT 1 FROM objects WHERE objects.blob = inline_blobs.id)",
        [],
    )
}

pub(crate) fn bucket_exists(conn: &Connection, bucket: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM buckets WHERE name = ?1)")?
        .query_row([bucket], |row| row.get(0))
}

/// `NoSuchBucket` unless the bucket exists.
pub(crate) fn require_bucket(conn: &Connection, bucket: &str) -> Result<(), StoreError> {
    if bucket_exists(conn, bucket)? {
        Ok(())
    } else {
        Err(StoreError::NoSuchBucket)
    }
}

/// Whether any object or part row refers to blob `id`.
pub(crate) fn blob_referenced(conn: &Connection, id: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM objects WHERE blob = ?1) OR EXISTS (SELECT 1 FROM parts WHERE blob = ?1)",
    )?
    .query_row([id], |row| row.get(0))
}

fn conversion_error(idx: usize, e: serde_json::Error) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, Box::new(e))
}

pub(crate) fn meta_to_json(meta: &ObjectMeta) -> String {
    json!({
        "content_type": meta.content_type,
        "cache_control": meta.cache_control,
        "content_disposition": meta.content_disposition,
        "content_encoding": meta.content_encoding,
        "content_language": meta.content_language,
        "expires": meta.expires,
        "user_meta": meta.user_meta,
        "acl": meta.acl.map(|a| a.as_str()),
        "storage_class": meta.storage_class,
        "tags": meta.tags,
        "symlink_target": meta.symlink_target,
        "sse": meta.sse,
        "sse_salt": meta.sse_salt,
    })
    .to_string()
}

pub(crate) fn meta_from_json(text: &str) -> Result<ObjectMeta, serde_json::Error> {
    let v: Value = serde_json::from_str(text)?;
    let user_meta = pairs_field(&v, "user_meta");
    Ok(ObjectMeta {
        content_type: string_field(&v, "content_type"),
        cache_control: string_field(&v, "cache_control"),
        content_disposition: string_field(&v, "content_disposition"),
        content_encoding: string_field(&v, "content_encoding"),
        content_language: string_field(&v, "content_language"),
        expires: string_field(&v, "expires"),
        user_meta,
        acl: v["acl"].as_str().and_then(Acl::parse),
        storage_class: string_field(&v, "storage_class"),
        tags: pairs_field(&v, "tags"),
        symlink_target: string_field(&v, "symlink_target"),
        sse: string_field(&v, "sse"),
        sse_salt: string_field(&v, "sse_salt"),
    })
}

/// `[[name, value], …]` (absent in rows written before the field existed: empty).
fn pairs_field(v: &Value, name: &str) -> Vec<(String, String)> {
    v[name]
        .as_array()
        .map(|pairs| {
            pairs
                .iter()
                .filter_map(|pair| {
                    Some((pair[0].as_str()?.to_owned(), pair[1].as_str()?.to_owned()))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn string_field(v: &Value, name: &str) -> Option<String> {
    v[name].as_str().map(str::to_owned)
}

pub(crate) fn cors_to_json(cors: &CorsConfig) -> String {
    let rules: Vec<Value> = cors
        .rules
        .iter()
        .map(|r| {
            json!({
                "allowed_origins": r.allowed_origins,
                "allowed_methods": r.allowed_methods,
                "allowed_headers": r.allowed_headers,
                "expose_headers": r.expose_headers,
                "max_age_seconds": r.max_age_seconds,
            })
        })
        .collect();
    json!({ "rules": rules, "response_vary": cors.response_vary }).to_string()
}

pub(crate) fn cors_from_json(text: &str) -> Result<CorsConfig, serde_json::Error> {
    let v: Value = serde_json::from_str(text)?;
    let strings = |r: &Value, name: &str| -> Vec<String> {
        r[name]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let rules = v["rules"]
        .as_array()
        .map(|rules| {
            rules
                .iter()
                .map(|r| CorsRule {
                    allowed_origins: strings(r, "allowed_origins"),
                    allowed_methods: strings(r, "allowed_methods"),
                    allowed_headers: strings(r, "allowed_headers"),
                    expose_headers: strings(r, "expose_headers"),
                    max_age_seconds: r["max_age_seconds"].as_u64(),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(CorsConfig {
        rules,
        response_vary: v["response_vary"].as_bool().unwrap_or(false),
    })
}

pub(crate) fn cors_column(
    conn: &Connection,
    bucket: &str,
) -> Result<Option<CorsConfig>, StoreError> {
    let cors: Option<Option<String>> = conn
        .prepare_cached("SELECT cors FROM buckets WHERE name = ?1")?
        .query_row([bucket], |row| row.get(0))
        .optional()?;
    match cors {
        None => Err(StoreError::NoSuchBucket),
        Some(None) => Ok(None),
        Some(Some(text)) => Ok(Some(
            cors_from_json(&text).map_err(|e| conversion_error(0, e))?,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_round_trips_through_json() {
        let meta = ObjectMeta {
            content_type: Some("text/plain".into()),
            expires: Some("Thu, 01 Jan 2099 00:00:00 GMT".into()),
            user_meta: vec![("a".into(), "1".into()), ("b".into(), "ü \"x\"".into())],
            acl: Some(Acl::PublicRead),
            storage_class: Some("IA".into()),
            ..ObjectMeta::default()
        };
        assert_eq!(meta_from_json(&meta_to_json(&meta)).unwrap(), meta);
        assert_eq!(
            meta_from_json(&meta_to_json(&ObjectMeta::default())).unwrap(),
            ObjectMeta::default()
        );
    }

    #[test]
    fn cors_round_trips_through_json() {
        let rule = CorsRule {
            allowed_origins: vec!["*".into()],
            allowed_methods: vec!["GET".into(), "PUT".into()],
            allowed_headers: vec![],
            expose_headers: vec!["ETag".into()],
            max_age_seconds: Some(100),
        };
        let cors = CorsConfig {
            rules: vec![rule, CorsRule::default()],
            response_vary: true,
        };
        assert_eq!(cors_from_json(&cors_to_json(&cors)).unwrap(), cors);
    }

    #[test]
    fn timestamps_and_crcs_round_trip() {
        let t = time::macros::datetime!(2024-05-06 07:08:09.123456789 UTC);
        assert_eq!(ts_from_db(ts_to_db(t)), t);
        assert_eq!(u64_from_db(u64_to_db(u64::MAX)), u64::MAX);
    }
}
