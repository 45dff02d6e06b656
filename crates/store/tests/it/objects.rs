//! Put, head, open, delete and copy.

use std::io::Read;

use stsgate_store::{Acl, ObjectMeta, ObjectType, Store, StoreError};

use crate::common::{
    self, count_files, crc64_of, md5_of, now, put, put_file, put_meta, read, BUCKET,
};

fn meta(content_type: &str) -> ObjectMeta {
    ObjectMeta {
        content_type: Some(content_type.into()),
        cache_control: Some("no-cache".into()),
        content_disposition: Some("attachment".into()),
        content_encoding: Some("gzip".into()),
        content_language: Some("en".into()),
        expires: Some("Wed, 01 Jan 2031 00:00:00 GMT".into()),
        user_meta: vec![("author".into(), "alice".into()), ("x".into(), "ü".into())],
        acl: Some(Acl::PublicRead),
        storage_class: Some("IA".into()),
        tags: vec![("team".into(), "a b".into())],
        symlink_target: None,
        sse: None,
        sse_salt: None,
    }
}

#[test]
fn put_head_open() {
    let (_dir, store) = common::store();
    let info = put_meta(
        &store,
        BUCKET,
        "hello.txt",
        b"hello world",
        meta("text/plain"),
    );
    assert_eq!(info.etag, "\"5EB63BBBE01EEED093CB22BB8F5ACDC3\"");
    assert_eq!(info.crc64, 5_981_764_153_023_615_706);
    assert_eq!(info.size, 11);
    assert_eq!(info.md5, Some(md5_of(b"hello world")));
    assert_eq!(info.object_type, ObjectType::Normal);
    assert_eq!(info.last_modified, now());
    assert_eq!(store.head_object(BUCKET, "hello.txt").unwrap(), info);
    assert_eq!(read(&store, BUCKET, "hello.txt"), b"hello world");
    assert!(matches!(
        store.head_object(BUCKET, "nope"),
        Err(StoreError::NoSuchKey)
    ));
    assert!(matches!(
        store.head_object("nope", "hello.txt"),
        Err(StoreError::NoSuchBucket)
    ));
    assert!(matches!(
        store.open_object(BUCKET, "nope"),
        Err(StoreError::NoSuchKey)
    ));
}

#[test]
fn empty_object() {
    let (_dir, store) = common::store();
    let info = put(&store, BUCKET, "empty", b"");
    assert_eq!(info.etag, "\"D41D8CD98F00B204E9800998ECF8427E\"");
    assert_eq!(info.crc64, 0);
    assert_eq!(read(&store, BUCKET, "empty"), b"");
}

#[test]
fn overwrite_replaces_and_frees_the_old_blob() {
    let (dir, store) = common::store();
    put_file(&store, BUCKET, "k", b"one");
    let (_, mut old_handle) = store.open_object(BUCKET, "k").unwrap();
    let info = put_file(&store, BUCKET, "k", b"two!");
    assert_eq!(info.size, 4);
    assert_eq!(read(&store, BUCKET, "k"), b"two!");
    assert_eq!(count_files(&dir.path().join("store"), "blobs"), 1);
    // An open handle keeps reading the old bytes.
    let mut old = Vec::new();
    old_handle.read_to_end(&mut old).unwrap();
    assert_eq!(old, b"one");
}

#[test]
fn forbid_overwrite() {
    let (dir, store) = common::store();
    put_file(&store, BUCKET, "k", b"one");
    let mut staging = store.staging().unwrap();
    staging.write(b"two").unwrap();
    let result = store.put_object(
        BUCKET,
        "k",
        staging.finish().unwrap(),
        ObjectMeta::default(),
        true,
        now(),
    );
    assert!(matches!(result, Err(StoreError::ObjectAlreadyExists)));
    assert_eq!(read(&store, BUCKET, "k"), b"one");
    let mut staging = store.staging().unwrap();
    staging.write(b"new").unwrap();
    store
        .put_object(
            BUCKET,
            "other",
            staging.finish().unwrap(),
            ObjectMeta::default(),
            true,
            now(),
        )
        .unwrap();
    let root = dir.path().join("store");
    assert_eq!(
        (count_files(&root, "blobs"), count_files(&root, "tmp")),
        (2, 0)
    );
}

#[test]
fn put_into_a_missing_bucket_leaves_nothing() {
    let (dir, store) = common::store();
    let mut staging = store.staging().unwrap();
    staging.write(b"x").unwrap();
    let result = store.put_object(
        "nope",
        "k",
        staging.finish().unwrap(),
        ObjectMeta::default(),
        false,
        now(),
    );
    assert!(matches!(result, Err(StoreError::NoSuchBucket)));
    let root = dir.path().join("store");
    assert_eq!(
        (count_files(&root, "blobs"), count_files(&root, "tmp")),
        (0, 0)
    );
}

#[test]
fn delete_is_idempotent() {
    let (dir, store) = common::store();
    put(&store, BUCKET, "k", b"x");
    assert!(store.delete_object(BUCKET, "k").unwrap());
    assert!(!store.delete_object(BUCKET, "k").unwrap());
    assert!(matches!(
        store.head_object(BUCKET, "k"),
        Err(StoreError::NoSuchKey)
    ));
    assert!(matches!(
        store.delete_object("nope", "k"),
        Err(StoreError::NoSuchBucket)
    ));
    assert_eq!(count_files(&dir.path().join("store"), "blobs"), 0);
}

#[test]
fn odd_keys_are_stored_literally() {
    let (dir, store) = common::store();
    let long = "κ".repeat(511) + "x";
    assert_eq!(long.len(), 1023);
    let keys = [
        "users/alice/../bob/x",
        "users/bob/x",
        "%2F",
        "a%2Fb",
        "日本語/ファイル",
        "sp ace+plus",
        "a//b",
        "tab\tnl\n",
        &long,
    ];
    for (i, key) in keys.iter().enumerate() {
        put(&store, BUCKET, key, format!("body {i}").as_bytes());
    }
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(
            read(&store, BUCKET, key),
            format!("body {i}").as_bytes(),
            "{key:?}"
        );
        assert_eq!(&store.head_object(BUCKET, key).unwrap().key, key);
    }
    let listing = store.list_objects(BUCKET, "", "", "", 1000).unwrap();
    let mut expected: Vec<&str> = keys.to_vec();
    expected.sort();
    assert_eq!(
        listing
            .objects
            .iter()
            .map(|o| o.key.as_str())
            .collect::<Vec<_>>(),
        expected
    );
    for name in common::file_names(dir.path()) {
        for fragment in ["alice", "bob", "%2F", "日本語", "κκ", "space", "plus"] {
            assert!(!name.contains(fragment), "{name:?} contains {fragment:?}");
        }
    }
}

#[test]
fn large_object_streams() {
    let (_dir, store) = common::store();
    let chunk: Vec<u8> = (0..=255u8).cycle().take(1 << 16).collect();
    let mut staging = store.staging().unwrap();
    let mut all = Vec::new();
    for i in 0..40u8 {
        let mut c = chunk.clone();
        c[0] = i;
        staging.write(&c).unwrap();
        all.extend_from_slice(&c);
    }
    let blob = staging.finish().unwrap();
    assert_eq!(
        (blob.size(), blob.md5(), blob.crc64()),
        (all.len() as u64, md5_of(&all), crc64_of(&all))
    );
    store
        .put_object(BUCKET, "big", blob, ObjectMeta::default(), false, now())
        .unwrap();
    assert_eq!(read(&store, BUCKET, "big"), all);
}

#[test]
fn copy_keeps_or_replaces_meta() {
    let (dir, store) = common::store();
    store
        .create_bucket("other", Acl::Private, "Standard", now())
        .unwrap();
    let src = put_meta(&store, BUCKET, "src", b"payload", meta("text/plain"));
    let later = now() + time::Duration::seconds(5);

    let copied = store
        .copy_object(BUCKET, "src", "other", "dst", None, false, later)
        .unwrap();
    assert_eq!(
        (copied.bucket.as_str(), copied.key.as_str()),
        ("other", "dst")
    );
    assert_eq!(
        (&copied.etag, copied.crc64, copied.size, &copied.meta),
        (&src.etag, src.crc64, src.size, &src.meta)
    );
    assert_eq!(copied.last_modified, later);
    assert_eq!(store.head_object("other", "dst").unwrap(), copied);
    assert_eq!(read(&store, "other", "dst"), b"payload");

    let replaced = store
        .copy_object(
            BUCKET,
            "src",
            BUCKET,
            "dst2",
            Some(meta("image/png")),
            false,
            later,
        )
        .unwrap();
    assert_eq!(replaced.meta.content_type.as_deref(), Some("image/png"));
    assert_eq!(
        store.head_object(BUCKET, "dst2").unwrap().meta,
        meta("image/png")
    );

    // The copies survive the source.
    store.delete_object(BUCKET, "src").unwrap();
    assert_eq!(read(&store, "other", "dst"), b"payload");
    assert_eq!(read(&store, BUCKET, "dst2"), b"payload");
    assert_eq!(common::blob_count(&dir.path().join("store")), 2);
}

#[test]
fn copy_errors() {
    let (_dir, store) = common::store();
    put(&store, BUCKET, "src", b"a");
    put(&store, BUCKET, "dst", b"b");
    let copy = |src: (&str, &str), dst: (&str, &str), forbid: bool| {
        store.copy_object(src.0, src.1, dst.0, dst.1, None, forbid, now())
    };
    assert!(matches!(
        copy((BUCKET, "nope"), (BUCKET, "x"), false),
        Err(StoreError::NoSuchKey)
    ));
    assert!(matches!(
        copy(("nope", "src"), (BUCKET, "x"), false),
        Err(StoreError::NoSuchBucket)
    ));
    assert!(matches!(
        copy((BUCKET, "src"), ("nope", "x"), false),
        Err(StoreError::NoSuchBucket)
    ));
    assert!(matches!(
        copy((BUCKET, "src"), (BUCKET, "dst"), true),
        Err(StoreError::ObjectAlreadyExists)
    ));
    assert_eq!(read(&store, BUCKET, "dst"), b"b");
    copy((BUCKET, "src"), (BUCKET, "dst"), false).unwrap();
    assert_eq!(read(&store, BUCKET, "dst"), b"a");
}

#[test]
fn copy_onto_itself_updates_meta_only() {
    let (dir, store) = common::store();
    let src = put_meta(&store, BUCKET, "k", b"same", meta("text/plain"));
    let later = now() + time::Duration::seconds(1);
    let info = store
        .copy_object(
            BUCKET,
            "k",
            BUCKET,
            "k",
            Some(meta("text/html")),
            false,
            later,
        )
        .unwrap();
    assert_eq!(
        (
            info.etag,
            info.meta.content_type.as_deref(),
            info.last_modified
        ),
        (src.etag, Some("text/html"), later)
    );
    assert_eq!(
        store.head_object(BUCKET, "k").unwrap().meta,
        meta("text/html")
    );
    assert_eq!(read(&store, BUCKET, "k"), b"same");
    assert_eq!(common::blob_count(&dir.path().join("store")), 1);
}

#[test]
fn concurrent_puts_to_one_key_leak_nothing() {
    let (dir, store) = common::store();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let store: Store = store.clone();
            std::thread::spawn(move || {
                for i in 0..10 {
                    put(
                        &store,
                        BUCKET,
                        "hot",
                        format!("writer {t} round {i}").as_bytes(),
                    );
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let body = String::from_utf8(read(&store, BUCKET, "hot")).unwrap();
    assert!(body.ends_with("round 9"), "{body}");
    let root = dir.path().join("store");
    assert_eq!(
        (common::blob_count(&root), count_files(&root, "tmp")),
        (1, 0)
    );
}

#[test]
fn set_object_acl_changes_only_the_acl() {
    let (_dir, store) = common::store();
    let before = put_meta(&store, BUCKET, "a.txt", b"bytes", meta("text/plain"));
    store.set_object_acl(BUCKET, "a.txt", Acl::Private).unwrap();
    let after = store.head_object(BUCKET, "a.txt").unwrap();
    assert_eq!(after.meta.acl, Some(Acl::Private));
    assert_eq!(
        ObjectMeta {
            acl: before.meta.acl,
            ..after.meta.clone()
        },
        before.meta
    );
    assert_eq!(
        (after.etag, after.last_modified, after.size),
        (before.etag, before.last_modified, before.size)
    );
    assert_eq!(read(&store, BUCKET, "a.txt"), b"bytes");
    assert!(matches!(
        store.set_object_acl(BUCKET, "missing", Acl::Private),
        Err(StoreError::NoSuchKey)
    ));
    assert!(matches!(
        store.set_object_acl("nobucket", "a.txt", Acl::Private),
        Err(StoreError::NoSuchBucket)
    ));
}

#[test]
fn a_replaced_large_blob_is_deleted_in_the_background() {
    let (dir, store) = common::store();
    let root = dir.path().join("store");
    let big = vec![5u8; 8 * 1024 * 1024];
    put_file(&store, BUCKET, "big", &big);
    put_file(&store, BUCKET, "big", b"small now");
    assert_eq!(read(&store, BUCKET, "big"), b"small now");
    // The old 8 MiB blob goes on the deleter thread: soon, not necessarily at once.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while count_files(&root, "blobs") != 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the replaced blob was never deleted"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    put_file(&store, BUCKET, "big2", &big);
    assert!(store.delete_object(BUCKET, "big2").unwrap());
    while count_files(&root, "blobs") != 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the deleted blob was never deleted"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}
