//! Inline blobs: objects up to `INLINE_MAX` bytes kept in the database, not in files. Every way
//! a row stops naming one (overwrite, delete, copy, becoming a file) removes it in the same
//! transaction; reads take it from the cache or under the lock; a reopened store keeps it.

use std::io::Read;

use stsgate_store::{Store, INLINE_MAX};

use crate::common::{self, blob_count, count_files, now, put, put_file, read, BUCKET};

fn inline_rows(root: &std::path::Path) -> usize {
    blob_count(root) - count_files(root, "blobs")
}

#[test]
fn small_objects_live_in_the_database_and_leave_with_their_rows() {
    let (dir, store) = common::store();
    let root = dir.path().join("store");
    let small = vec![7u8; INLINE_MAX];
    let info = put(&store, BUCKET, "k", &small);
    assert_eq!(
        (info.size, info.md5, info.crc64),
        (
            INLINE_MAX as u64,
            Some(common::md5_of(&small)),
            common::crc64_of(&small)
        )
    );
    assert_eq!((count_files(&root, "blobs"), inline_rows(&root)), (0, 1));
    assert_eq!(read(&store, BUCKET, "k"), small);

    // One byte more is a file.
    put(&store, BUCKET, "big", &vec![1u8; INLINE_MAX + 1]);
    assert_eq!((count_files(&root, "blobs"), inline_rows(&root)), (1, 1));

    // Inline over inline, file over inline, inline over file.
    let (_, mut old_handle) = store.open_object(BUCKET, "k").unwrap();
    put(&store, BUCKET, "k", b"second");
    assert_eq!(inline_rows(&root), 1);
    let mut old = Vec::new();
    old_handle.read_to_end(&mut old).unwrap();
    assert_eq!(old, small, "an open reader keeps the bytes it opened");
    put_file(&store, BUCKET, "k", b"as a file");
    assert_eq!((count_files(&root, "blobs"), inline_rows(&root)), (2, 0));
    assert_eq!(read(&store, BUCKET, "k"), b"as a file");
    put(&store, BUCKET, "k", b"inline again");
    assert_eq!((count_files(&root, "blobs"), inline_rows(&root)), (1, 1));

    // A copy is a blob of its own: it outlives its source.
    store
        .copy_object(BUCKET, "k", BUCKET, "copy", None, false, now())
        .unwrap();
    assert_eq!(inline_rows(&root), 2);
    assert!(store.delete_object(BUCKET, "k").unwrap());
    assert_eq!(inline_rows(&root), 1);
    assert_eq!(read(&store, BUCKET, "copy"), b"inline again");
    assert!(store.delete_object(BUCKET, "copy").unwrap());
    assert_eq!((count_files(&root, "blobs"), inline_rows(&root)), (1, 0));
}

#[test]
fn reads_after_head_and_from_the_cache_see_the_bytes() {
    let (_dir, store) = common::store();
    put(&store, BUCKET, "k", b"hello");
    // A HEAD caches the row without its bytes; a GET then reads them under the lock.
    assert_eq!(store.head_object(BUCKET, "k").unwrap().size, 5);
    assert_eq!(read(&store, BUCKET, "k"), b"hello");
    let (info, mut cached) = store
        .open_cached_object(BUCKET, "k")
        .expect("cached with its bytes");
    let mut bytes = Vec::new();
    cached.read_to_end(&mut bytes).unwrap();
    assert_eq!((info.size, bytes.as_slice()), (5, &b"hello"[..]));
    put(&store, BUCKET, "k", b"bye");
    assert!(
        store.open_cached_object(BUCKET, "k").is_none(),
        "a write forgets the cached bytes"
    );
    assert_eq!(read(&store, BUCKET, "k"), b"bye");
}

#[test]
fn a_reopened_store_keeps_inline_objects_and_sweeps_orphans() {
    let (dir, store) = common::store();
    let root = dir.path().join("store");
    put(&store, BUCKET, "k", b"kept");
    drop(store);
    // A row no object names (none should exist; the sweep removes it all the same).
    let db = rusqlite::Connection::open(root.join("meta.sqlite3")).unwrap();
    db.execute(
        "INSERT INTO inline_blobs (id, data) VALUES ('i0123', x'00')",
        [],
    )
    .unwrap();
    drop(db);
    let store = Store::open(&root).unwrap();
    assert_eq!(read(&store, BUCKET, "k"), b"kept");
    assert_eq!(inline_rows(&root), 1);
}
