//! Helpers shared by the store tests.

use std::io::Read;

use md5::{Digest as _, Md5};
use stsgate_store::{Acl, ObjectInfo, ObjectMeta, Store};
use tempfile::TempDir;
use time::OffsetDateTime;

pub const BUCKET: &str = "bucket";

/// A fixed clock.
pub fn now() -> OffsetDateTime {
    time::macros::datetime!(2024-01-02 03:04:05.678 UTC)
}

/// A fresh store in a temporary directory, with the bucket [`BUCKET`].
pub fn store() -> (TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    store
        .create_bucket(BUCKET, Acl::Private, "Standard", now())
        .unwrap();
    (dir, store)
}

pub fn put(store: &Store, bucket: &str, key: &str, bytes: &[u8]) -> ObjectInfo {
    put_meta(store, bucket, key, bytes, ObjectMeta::default())
}

pub fn put_meta(
    store: &Store,
    bucket: &str,
    key: &str,
    bytes: &[u8],
    meta: ObjectMeta,
) -> ObjectInfo {
    // As the faces do: a small body (at most `INLINE_MAX`) becomes an inline blob.
    let blob = store.stage_bytes(bytes).unwrap();
    store
        .put_object(bucket, key, blob, meta, false, now())
        .unwrap()
}

/// [`put_meta`] through a staging file, which a body of any size may take.
pub fn put_file(store: &Store, bucket: &str, key: &str, bytes: &[u8]) -> ObjectInfo {
    let mut staging = store.staging().unwrap();
    staging.write(bytes).unwrap();
    store
        .put_object(
            bucket,
            key,
            staging.finish().unwrap(),
            ObjectMeta::default(),
            false,
            now(),
        )
        .unwrap()
}

pub fn read(store: &Store, bucket: &str, key: &str) -> Vec<u8> {
    let (info, mut file) = store.open_object(bucket, key).unwrap();
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).unwrap();
    assert_eq!(bytes.len() as u64, info.size);
    bytes
}

pub fn md5_of(bytes: &[u8]) -> [u8; 16] {
    Md5::digest(bytes).into()
}

pub fn crc64_of(bytes: &[u8]) -> u64 {
    crc::Crc::<u64>::new(&crc::CRC_64_XZ).checksum(bytes)
}

/// Names of all files under `root`, recursively.
pub fn file_names(root: &std::path::Path) -> Vec<String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(root).unwrap() {
        let entry = entry.unwrap();
        names.push(entry.file_name().to_string_lossy().into_owned());
        if entry.file_type().unwrap().is_dir() {
            names.extend(file_names(&entry.path()));
        }
    }
    names
}

/// Number of files in `root/sub`.
pub fn count_files(root: &std::path::Path, sub: &str) -> usize {
    std::fs::read_dir(root.join(sub)).unwrap().count()
}

/// Blobs kept by the store at `root`: files in `blobs/` plus rows of inline blobs.
pub fn blob_count(root: &std::path::Path) -> usize {
    let db = rusqlite::Connection::open(root.join("meta.sqlite3")).unwrap();
    let inline: i64 = db
        .query_row("SELECT count(*) FROM inline_blobs", [], |r| r.get(0))
        .unwrap();
    count_files(root, "blobs") + inline as usize
}
