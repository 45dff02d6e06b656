//! What `open` sweeps after a crash, and what it must keep.

use std::fs;

use stsgate_store::{ObjectMeta, Store};

use crate::common::{self, count_files, now, put, put_file, read, BUCKET};

#[test]
fn open_sweeps_leftovers_and_keeps_referenced_blobs() {
    let (dir, store) = common::store();
    let root = dir.path().join("store");
    put_file(&store, BUCKET, "kept", b"kept bytes");
    let id = store
        .initiate_multipart(BUCKET, "live", ObjectMeta::default(), now())
        .unwrap();
    let mut staging = store.staging().unwrap();
    staging.write(b"live part").unwrap();
    let part = store
        .upload_part(BUCKET, "live", &id, 1, staging.finish().unwrap(), now())
        .unwrap();
    let dead = store
        .initiate_multipart(BUCKET, "dead", ObjectMeta::default(), now())
        .unwrap();
    let mut staging = store.staging().unwrap();
    staging.write(b"dead part").unwrap();
    store
        .upload_part(BUCKET, "dead", &dead, 1, staging.finish().unwrap(), now())
        .unwrap();
    drop(store);
    assert_eq!(count_files(&root, "blobs"), 3);

    // A crash between "commit" and "delete the part blobs": the rows are gone, the blob is not.
    let conn = rusqlite::Connection::open(root.join("meta.sqlite3")).unwrap();
    conn.execute("DELETE FROM parts WHERE upload_id = ?1", [&dead])
        .unwrap();
    conn.execute("DELETE FROM uploads WHERE upload_id = ?1", [&dead])
        .unwrap();
    drop(conn);
    // A crash mid-write, and one between "rename into blobs/" and "commit".
    fs::write(
        root.join("tmp/0123456789abcdef0123456789abcdef.tmp"),
        b"half written",
    )
    .unwrap();
    fs::create_dir(root.join("tmp/stray-dir")).unwrap();
    fs::write(
        root.join("blobs/fedcba9876543210fedcba9876543210"),
        b"never committed",
    )
    .unwrap();

    let store = Store::open(&root).unwrap();
    assert_eq!(
        (count_files(&root, "blobs"), count_files(&root, "tmp")),
        (2, 0)
    );
    assert_eq!(read(&store, BUCKET, "kept"), b"kept bytes");
    let info = store
        .complete_multipart(BUCKET, "live", &id, &[(1, part.etag)], 1, now())
        .unwrap();
    assert_eq!(info.size, 9);
    assert_eq!(read(&store, BUCKET, "live"), b"live part");
    assert_eq!(count_files(&root, "blobs"), 2);
}

#[test]
fn reopening_keeps_everything_committed() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store
        .create_bucket(BUCKET, stsgate_store::Acl::PublicRead, "IA", now())
        .unwrap();
    let info = put(&store, BUCKET, "k", b"durable");
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.get_bucket(BUCKET).unwrap().storage_class, "IA");
    assert_eq!(store.head_object(BUCKET, "k").unwrap(), info);
    assert_eq!(read(&store, BUCKET, "k"), b"durable");
}

#[test]
fn unfinished_writes_leave_nothing_behind() {
    let (dir, store) = common::store();
    let root = dir.path().join("store");
    let mut staging = store.staging().unwrap();
    staging.write(b"abandoned").unwrap();
    assert_eq!(count_files(&root, "tmp"), 1);
    drop(staging);
    let mut staging = store.staging().unwrap();
    staging.write(b"finished, never committed").unwrap();
    drop(staging.finish().unwrap());
    assert_eq!(
        (count_files(&root, "blobs"), count_files(&root, "tmp")),
        (0, 0)
    );
}
