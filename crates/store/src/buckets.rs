//! Buckets: create, look up, list, delete, ACL and CORS.

use rusqlite::{OptionalExtension, Row};
use time::OffsetDateTime;

use crate::db::{self, ts_from_db, ts_to_db};
use crate::{Acl, BucketInfo, CorsConfig, Inner, StoreError};

const BUCKET_COLUMNS: &str = "name, created, acl, storage_class";

fn bucket_from_row(row: &Row<'_>) -> rusqlite::Result<BucketInfo> {
    let acl: String = row.get(2)?;
    Ok(BucketInfo {
        name: row.get(0)?,
        created: ts_from_db(row.get(1)?),
        acl: Acl::parse(&acl).unwrap_or(Acl::Private),
        storage_class: row.get(3)?,
    })
}

pub(crate) fn create(
    inner: &Inner,
    name: &str,
    acl: Acl,
    storage_class: &str,
    now: OffsetDateTime,
) -> Result<BucketInfo, StoreError> {
    let conn = inner.db();
    let inserted = conn
        .prepare_cached(
            "INSERT INTO buckets (name, created, acl, storage_class) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (name) DO NOTHING",
        )?
        .execute((name, ts_to_db(now), acl.as_str(), storage_class))?;
    if inserted == 0 {
        return Err(StoreError::BucketAlreadyExists);
    }
    Ok(BucketInfo {
        name: name.to_owned(),
        created: ts_from_db(ts_to_db(now)),
        acl,
        storage_class: storage_class.to_owned(),
    })
}

pub(crate) fn get(inner: &Inner, name: &str) -> Result<BucketInfo, StoreError> {
    if let Some(hit) = inner.cache.bucket(name) {
        return Ok(hit);
    }
    let conn = inner.db();
    let sql = format!("SELECT {BUCKET_COLUMNS} FROM buckets WHERE name = ?1");
    let bucket = conn
        .prepare_cached(&sql)?
        .query_row([name], bucket_from_row)
        .optional()?
        .ok_or(StoreError::NoSuchBucket)?;
    inner.cache.fill_bucket(&bucket);
    Ok(bucket)
}

pub(crate) fn list(
    inner: &Inner,
    prefix: &str,
    marker: &str,
    max: usize,
) -> Result<(Vec<BucketInfo>, bool), StoreError> {
    let conn = inner.db();
    // Names matching `prefix` are contiguous from `prefix` on; stop at the first that does not.
    let sql = format!(
        "SELECT {BUCKET_COLUMNS} FROM buckets WHERE name > ?1 AND name >= ?2 ORDER BY name"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query((marker, prefix))?;
    let mut buckets = Vec::new();
    while let Some(row) = rows.next()? {
        let bucket = bucket_from_row(row)?;
        if !bucket.name.starts_with(prefix) {
            break;
        }
        if buckets.len() == max {
            return Ok((buckets, true));
        }
        buckets.push(bucket);
    }
    Ok((buckets, false))
}

pub(crate) fn delete(inner: &Inner, name: &str) -> Result<(), StoreError> {
    let mut conn = inner.db();
    let tx = conn.transaction()?;
    db::require_bucket(&tx, name)?;
    let not_empty: bool = tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM objects WHERE bucket = ?1) OR EXISTS (SELECT 1 FROM uploads WHERE bucket = ?1)",
        )?
        .query_row([name], |row| row.get(0))?;
    if not_empty {
        return Err(StoreError::BucketNotEmpty);
    }
    tx.execute("DELETE FROM buckets WHERE name = ?1", [name])?;
    tx.execute("DELETE FROM bucket_settings WHERE bucket = ?1", [name])?;
    inner.cache.forget_settings(name);
    inner.cache.forget_bucket(name);
    tx.commit()?;
    Ok(())
}

pub(crate) fn set_acl(inner: &Inner, name: &str, acl: Acl) -> Result<(), StoreError> {
    let conn = inner.db();
    let updated = conn.execute(
        "UPDATE buckets SET acl = ?2 WHERE name = ?1",
        (name, acl.as_str()),
    )?;
    inner.cache.forget_bucket(name);
    if updated == 0 {
        return Err(StoreError::NoSuchBucket);
    }
    Ok(())
}

pub(crate) fn set_cors(
    inner: &Inner,
    name: &str,
    cors: Option<&CorsConfig>,
) -> Result<(), StoreError> {
    let conn = inner.db();
    let updated = conn.execute(
        "UPDATE buckets SET cors = ?2 WHERE name = ?1",
        (name, cors.map(db::cors_to_json)),
    )?;
    if updated == 0 {
        return Err(StoreError::NoSuchBucket);
    }
    Ok(())
}

pub(crate) fn get_cors(inner: &Inner, name: &str) -> Result<Option<CorsConfig>, StoreError> {
    db::cors_column(&inner.db(), name)
}

/// OSS bucket name rule: 3–63 chars of `[a-z0-9-]`, starting and ending with a letter or digit.
pub(crate) fn valid_bucket_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    (3..=63).contains(&bytes.len())
        && bytes.iter().all(|b| alnum(b) || *b == b'-')
        && bytes.first().is_some_and(alnum)
        && bytes.last().is_some_and(alnum)
}

/// OSS object key rule: 1–1023 bytes, not starting with `/` or `\`.
pub(crate) fn valid_object_key(key: &str) -> bool {
    (1..=1023).contains(&key.len()) && !key.starts_with(['/', '\\'])
}

/// Sizes and counts of what `name` holds (one pass over its rows, by storage class).
pub(crate) fn stat(inner: &Inner, name: &str) -> Result<crate::BucketStat, StoreError> {
    let conn = inner.db();
    db::require_bucket(&conn, name)?;
    let mut stat = crate::BucketStat::default();
    let mut stmt = conn.prepare_cached(
        "SELECT COALESCE(json_extract(meta, '$.storage_class'), 'Standard'), SUM(size), COUNT(*),
                MAX(last_modified)
         FROM objects WHERE bucket = ?1 GROUP BY 1 ORDER BY 1",
    )?;
    let rows = stmt.query_map([name], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, i64>(1)?,
            row.get::<_, i64>(2)?,
            row.get::<_, i64>(3)?,
        ))
    })?;
    for row in rows {
        let (class, bytes, count, newest) = row?;
        let (bytes, count) = (bytes.max(0) as u64, count.max(0) as u64);
        stat.storage += bytes;
        stat.object_count += count;
        stat.last_modified = stat
            .last_modified
            .max(db::ts_from_db(newest).unix_timestamp());
        stat.by_class.push((class, bytes, count));
    }
    let (uploads, parts): (i64, i64) = conn.query_row(
        "SELECT (SELECT COUNT(*) FROM uploads WHERE bucket = ?1),
                (SELECT COUNT(*) FROM parts WHERE upload_id IN (SELECT upload_id FROM uploads WHERE bucket = ?1))",
        [name],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    stat.multipart_upload_count = uploads.max(0) as u64;
    stat.multipart_part_count = parts.max(0) as u64;
    Ok(stat)
}

/// A bucket setting stored as text (lifecycle rules, encryption, policy, referer: each
/// dialect's document in a neutral form); `None` deletes it.
pub(crate) fn set_setting(
    inner: &Inner,
    name: &str,
    kind: &str,
    value: Option<&str>,
) -> Result<(), StoreError> {
    let mut conn = inner.db();
    let tx = conn.transaction()?;
    db::require_bucket(&tx, name)?;
    match value {
        Some(v) => tx.execute(
            "INSERT INTO bucket_settings (bucket, kind, value) VALUES (?1, ?2, ?3)
             ON CONFLICT (bucket, kind) DO UPDATE SET value = excluded.value",
            (name, kind, v),
        )?,
        None => tx.execute(
            "DELETE FROM bucket_settings WHERE bucket = ?1 AND kind = ?2",
            (name, kind),
        )?,
    };
    tx.commit()?;
    inner.cache.forget_settings(name);
    Ok(())
}

/// A bucket setting (`None` when not set). `NoSuchBucket`.
pub(crate) fn setting(inner: &Inner, name: &str, kind: &str) -> Result<Option<String>, StoreError> {
    if let Some(hit) = inner.cache.setting(name, kind) {
        return Ok(hit);
    }
    let conn = inner.db();
    db::require_bucket(&conn, name)?;
    let value: Option<String> = conn
        .prepare_cached("SELECT value FROM bucket_settings WHERE bucket = ?1 AND kind = ?2")?
        .query_row((name, kind), |row| row.get(0))
        .optional()?;
    inner.cache.fill_setting(name, kind, value.clone());
    Ok(value)
}

/// Every bucket with a setting of `kind`, and its value.
pub(crate) fn with_setting(inner: &Inner, kind: &str) -> Result<Vec<(String, String)>, StoreError> {
    let conn = inner.db();
    let rows = conn
        .prepare_cached(
            "SELECT bucket, value FROM bucket_settings WHERE kind = ?1 ORDER BY bucket",
        )?
        .query_map([kind], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names() {
        let check = |name: &str, ok: bool| assert_eq!(valid_bucket_name(name), ok, "{name:?}");
        check("abc", true);
        check("my-bucket-01", true);
        check(&"a".repeat(63), true);
        check(&"a".repeat(64), false);
        check("ab", false);
        check("-abc", false);
        check("abc-", false);
        check("aBc", false);
        check("a_c", false);
        check("a.c", false);
        check("ab\u{e9}", false);
    }

    #[test]
    fn object_keys() {
        let check = |key: &str, ok: bool| assert_eq!(valid_object_key(key), ok, "{key:?}");
        check("a", true);
        check("users/alice/../bob/x", true);
        check("%2F", true);
        check(&"k".repeat(1023), true);
        check(&"k".repeat(1024), false);
        check("", false);
        check("/a", false);
        check("\\a", false);
        check("a/", true);
    }
}
