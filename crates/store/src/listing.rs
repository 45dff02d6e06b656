//! ListObjects: byte-ordered range scans over the `(bucket, key)` index, with delimiter roll-up
//! that seeks past each common prefix instead of scanning the keys under it.

use rusqlite::Connection;

use crate::db::{self, OBJECT_COLUMNS};
use crate::{Inner, Listing, ObjectInfo, StoreError};

/// One listing entry, in key order.
enum Entry {
    Object(Box<ObjectInfo>),
    Prefix(String),
}

pub(crate) fn list(
    inner: &Inner,
    bucket: &str,
    prefix: &str,
    delimiter: &str,
    after: &str,
    max_keys: usize,
) -> Result<Listing, StoreError> {
    let conn = inner.db();
    db::require_bucket(&conn, bucket)?;
    // One entry more than asked tells whether the listing is truncated.
    let mut entries = scan(
        &conn,
        bucket,
        prefix,
        delimiter,
        after,
        max_keys.saturating_add(1),
    )?;
    let is_truncated = entries.len() > max_keys;
    entries.truncate(max_keys);
    let next_marker = match entries.last() {
        Some(Entry::Object(o)) if is_truncated => Some(o.key.clone()),
        Some(Entry::Prefix(p)) if is_truncated => Some(p.clone()),
        _ => None,
    };
    let mut listing = Listing {
        objects: Vec::new(),
        common_prefixes: Vec::new(),
        is_truncated,
        next_marker,
    };
    for entry in entries {
        match entry {
            Entry::Object(o) => listing.objects.push(*o),
            Entry::Prefix(p) => listing.common_prefixes.push(p),
        }
    }
    Ok(listing)
}

/// Up to `limit` entries after `after` under `prefix`, in order.
fn scan(
    conn: &Connection,
    bucket: &str,
    prefix: &str,
    delimiter: &str,
    after: &str,
    limit: usize,
) -> Result<Vec<Entry>, StoreError> {
    let upper = successor_of_prefix(prefix.as_bytes());
    // Inclusive lower bound of the next seek.
    let mut from = if after.as_bytes() >= prefix.as_bytes() {
        immediate_successor(after.as_bytes())
    } else {
        prefix.as_bytes().to_vec()
    };
    let sql = match upper {
        Some(_) => format!("SELECT {OBJECT_COLUMNS} FROM objects WHERE bucket = ?1 AND key >= ?2 AND key < ?3 ORDER BY key LIMIT ?4"),
        None => format!("SELECT {OBJECT_COLUMNS} FROM objects WHERE bucket = ?1 AND key >= ?2 AND ?3 IS NULL ORDER BY key LIMIT ?4"),
    };
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut entries = Vec::new();
    'seek: while entries.len() < limit {
        let want = i64::try_from(limit - entries.len()).unwrap_or(i64::MAX);
        let mut rows = stmt.query(rusqlite::params![bucket, from, upper, want])?;
        // Rows are produced lazily: leaving the loop early stops SQLite's scan.
        while let Some(row) = rows.next()? {
            let object = db::object_from_row(bucket, row)?;
            let Some(common) = common_prefix(&object.key, prefix, delimiter) else {
                entries.push(Entry::Object(Box::new(object)));
                continue;
            };
            // Every key under `common` rolls up into it: seek past them all.
            let Some(next) = successor_of_prefix(common.as_bytes()) else {
                break 'seek;
            };
            from = next;
            // A prefix ≤ `after` was returned by an earlier page (`after` starts with it).
            if common.as_str() > after {
                entries.push(Entry::Prefix(common));
            }
            continue 'seek;
        }
        // Every row became an object: either `limit` is reached or the range is exhausted.
        break;
    }
    Ok(entries)
}

/// The common prefix `key` rolls up into: `prefix` + everything up to and including the first
/// `delimiter` after it.
fn common_prefix(key: &str, prefix: &str, delimiter: &str) -> Option<String> {
    if delimiter.is_empty() {
        return None;
    }
    let rest = key.get(prefix.len()..)?;
    let at = rest.find(delimiter)?;
    Some(key[..prefix.len() + at + delimiter.len()].to_owned())
}

/// The smallest byte string greater than `s` (`s` followed by a zero byte).
fn immediate_successor(s: &[u8]) -> Vec<u8> {
    let mut next = Vec::with_capacity(s.len() + 1);
    next.extend_from_slice(s);
    next.push(0);
    next
}

/// The smallest byte string greater than every string starting with `prefix`, or `None` when
/// there is none (empty prefix, or only 0xFF bytes — which UTF-8 never contains).
pub(crate) fn successor_of_prefix(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut next = prefix.to_vec();
    while let Some(last) = next.pop() {
        if last < 0xFF {
            next.push(last + 1);
            return Some(next);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_successors() {
        let check = |prefix: &[u8], expected: Option<&[u8]>| {
            assert_eq!(
                successor_of_prefix(prefix).as_deref(),
                expected,
                "{prefix:?}"
            );
        };
        check(b"", None);
        check(b"a/", Some(b"a0"));
        check(b"ab", Some(b"ac"));
        check(b"a\xFF", Some(b"b"));
        check(b"a\xFE\xFF", Some(b"a\xFF"));
        check(b"\xFF\xFF", None);
        check("é".as_bytes(), Some(b"\xC3\xAA"));
    }

    #[test]
    fn common_prefixes() {
        let check = |key: &str, prefix: &str, delimiter: &str, expected: Option<&str>| {
            assert_eq!(
                common_prefix(key, prefix, delimiter).as_deref(),
                expected,
                "{key:?} {prefix:?} {delimiter:?}"
            );
        };
        check("a/b/c", "", "/", Some("a/"));
        check("a/b/c", "a/", "/", Some("a/b/"));
        check("a/b", "a/", "/", None);
        check("a/b", "", "", None);
        check("x--y--z", "x", "--", Some("x--"));
        check("dé/é/f", "dé/", "é", Some("dé/é"));
    }
}
