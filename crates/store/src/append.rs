//! AppendObject: an appendable object grows in place. Its blob is a file of its own (never
//! inline, never hard-linked by a copy), so appending writes past the committed size, fsyncs,
//! then commits the new size, CRC-64 and ETag in one transaction, all under the metadata lock
//! (appends to one store are serialised, and a concurrent append at a stale position fails).
//! A crash between the write and the commit leaves bytes past the committed size, which no read
//! returns (reads stop at the size) and the next append cuts off first.

use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};

use time::OffsetDateTime;

use crate::db::{self, ts_from_db, ts_to_db};
use crate::staging::is_inline;
use crate::{FinishedBlob, Inner, ObjectInfo, ObjectMeta, ObjectType, StoreError};

/// The largest an appendable object may grow (OSS: 5 GiB).
pub const MAX_APPENDABLE: u64 = 5 * 1024 * 1024 * 1024;

/// CRC-64/XZ's polynomial, reflected.
const POLY: u64 = 0xC96C_5795_D787_0F42;

fn gf2_times(mat: &[u64; 64], mut vec: u64) -> u64 {
    let mut sum = 0;
    let mut i = 0;
    while vec != 0 {
        if vec & 1 != 0 {
            sum ^= mat[i];
        }
        vec >>= 1;
        i += 1;
    }
    sum
}

fn gf2_square(square: &mut [u64; 64], mat: &[u64; 64]) {
    for n in 0..64 {
        square[n] = gf2_times(mat, mat[n]);
    }
}

/// The CRC-64/XZ of `A || B` from `crc(A)`, `crc(B)` and `len(B)` (zlib's `crc32_combine`,
/// for 64 bits): what OSS sends as `x-oss-hash-crc64ecma` after an append, without reading A.
pub fn crc64_combine(mut crc1: u64, crc2: u64, mut len2: u64) -> u64 {
    if len2 == 0 {
        return crc1;
    }
    let mut even = [0u64; 64];
    let mut odd = [0u64; 64];
    odd[0] = POLY;
    let mut row = 1u64;
    for slot in odd.iter_mut().skip(1) {
        *slot = row;
        row <<= 1;
    }
    gf2_square(&mut even, &odd);
    gf2_square(&mut odd, &even);
    loop {
        gf2_square(&mut even, &odd);
        if len2 & 1 != 0 {
            crc1 = gf2_times(&even, crc1);
        }
        len2 >>= 1;
        if len2 == 0 {
            break;
        }
        gf2_square(&mut odd, &even);
        if len2 & 1 != 0 {
            crc1 = gf2_times(&odd, crc1);
        }
        len2 >>= 1;
        if len2 == 0 {
            break;
        }
    }
    crc1 ^ crc2
}

/// An appendable object's ETag: not an MD5 (OSS's is not either), but it changes with every
/// append: the CRC-64 and the size.
fn etag(crc64: u64, size: u64) -> String {
    format!("\"{crc64:016X}{size:016X}\"")
}

/// Appends `blob` to `bucket/key` at `position`. A missing key is created (position 0, with
/// `meta`); an existing one must be appendable (`ObjectNotAppendable`) and exactly `position`
/// long (`PositionNotEqualToLength`); `meta` is ignored then, as OSS does.
pub(crate) fn append(
    inner: &Inner,
    (bucket, key): (&str, &str),
    position: u64,
    mut blob: FinishedBlob,
    mut meta: ObjectMeta,
    now: OffsetDateTime,
) -> Result<ObjectInfo, StoreError> {
    let home = crate::buckets::get(inner, bucket)?;
    let mut conn = inner.db();
    let tx = conn.transaction()?;
    let existing = db::find_object(&tx, bucket, key)?;
    let Some((blob_id, old)) = existing else {
        db::require_bucket(&tx, bucket)?;
        if position != 0 {
            return Err(StoreError::PositionNotEqualToLength(0));
        }
        if blob.size() > MAX_APPENDABLE {
            return Err(StoreError::AppendTooLarge(MAX_APPENDABLE));
        }
        meta.storage_class.get_or_insert(home.storage_class);
        // Appendable objects grow in place and are never sealed (the faces refuse to ask).
        meta.sse = None;
        meta.sse_salt = None;
        let size = blob.size();
        let crc64 = blob.crc64();
        // Always a file (an inline blob becomes one): appends write to it in place.
        if let Some(bytes) = blob.take_inline() {
            let mut staging = crate::Staging::create_sized(&inner.dirs.tmp, bytes.len())?;
            staging.write(&bytes)?;
            blob = staging.finish()?;
        }
        let id = inner.dirs.install(blob)?;
        let info = ObjectInfo {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            size,
            etag: etag(crc64, size),
            last_modified: ts_from_db(ts_to_db(now)),
            crc64,
            md5: None,
            object_type: ObjectType::Appendable,
            meta,
        };
        if let Err(e) = db::upsert_object(&tx, &info, &id).and_then(|_| tx.commit()) {
            inner.dirs.remove_blob(&id);
            return Err(e.into());
        }
        inner.cache.forget_object(bucket, key);
        return Ok(info);
    };
    if old.object_type != ObjectType::Appendable || is_inline(&blob_id) {
        return Err(StoreError::ObjectNotAppendable);
    }
    if position != old.size {
        return Err(StoreError::PositionNotEqualToLength(old.size));
    }
    let size = old.size + blob.size();
    if size > MAX_APPENDABLE {
        return Err(StoreError::AppendTooLarge(MAX_APPENDABLE));
    }
    let mut file = OpenOptions::new()
        .write(true)
        .open(inner.dirs.blob_path(&blob_id))?;
    // Bytes a crash left past the committed size go first.
    file.set_len(old.size)?;
    file.seek(SeekFrom::Start(old.size))?;
    match blob.take_inline() {
        Some(bytes) => file.write_all(&bytes)?,
        None => {
            let mut staged = std::fs::File::open(
                blob.path()
                    .ok_or_else(|| StoreError::Io(std::io::Error::other("no staged file")))?,
            )?;
            let mut buf = vec![0u8; 1024 * 1024];
            loop {
                let n = staged.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                file.write_all(&buf[..n])?;
            }
        }
    }
    file.sync_data()?;
    let crc64 = crc64_combine(old.crc64, blob.crc64(), blob.size());
    let info = ObjectInfo {
        size,
        etag: etag(crc64, size),
        last_modified: ts_from_db(ts_to_db(now)),
        crc64,
        ..old
    };
    db::upsert_object(&tx, &info, &blob_id)?;
    inner.cache.forget_object(bucket, key);
    tx.commit()?;
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn crc(bytes: &[u8]) -> u64 {
        let mut d = crc64fast::Digest::new();
        d.write(bytes);
        d.sum64()
    }

    #[test]
    fn combine_known_values() {
        // CRC-64/XZ check value.
        assert_eq!(crc(b"123456789"), 0x995D_C9BB_DF19_39FA);
        assert_eq!(
            crc64_combine(crc(b"1234"), crc(b"56789"), 5),
            crc(b"123456789")
        );
        assert_eq!(crc64_combine(crc(b""), crc(b"abc"), 3), crc(b"abc"));
        assert_eq!(crc64_combine(crc(b"abc"), crc(b""), 0), crc(b"abc"));
    }

    proptest! {
        #[test]
        fn combine_matches_the_whole(a in proptest::collection::vec(any::<u8>(), 0..300), b in proptest::collection::vec(any::<u8>(), 0..300)) {
            let whole: Vec<u8> = a.iter().chain(b.iter()).copied().collect();
            prop_assert_eq!(crc64_combine(crc(&a), crc(&b), b.len() as u64), crc(&whole));
        }
    }
}
