//! Bucket lifecycle, ACL, CORS, listing and file permissions.

use std::os::unix::fs::PermissionsExt;

use stsgate_store::{Acl, CorsConfig, CorsRule, ObjectMeta, Store, StoreError};

use crate::common::{self, now, put, BUCKET};

#[test]
fn lifecycle() {
    let (_dir, store) = common::store();
    let info = store.get_bucket(BUCKET).unwrap();
    assert_eq!(info.name, BUCKET);
    assert_eq!(info.created, now());
    assert_eq!(info.acl, Acl::Private);
    assert_eq!(info.storage_class, "Standard");
    assert!(matches!(
        store.create_bucket(BUCKET, Acl::PublicRead, "IA", now()),
        Err(StoreError::BucketAlreadyExists)
    ));
    assert!(matches!(
        store.get_bucket("nope"),
        Err(StoreError::NoSuchBucket)
    ));

    store.set_bucket_acl(BUCKET, Acl::PublicReadWrite).unwrap();
    assert_eq!(store.get_bucket(BUCKET).unwrap().acl, Acl::PublicReadWrite);
    assert!(matches!(
        store.set_bucket_acl("nope", Acl::Private),
        Err(StoreError::NoSuchBucket)
    ));

    store.delete_bucket(BUCKET).unwrap();
    assert!(matches!(
        store.get_bucket(BUCKET),
        Err(StoreError::NoSuchBucket)
    ));
    assert!(matches!(
        store.delete_bucket(BUCKET),
        Err(StoreError::NoSuchBucket)
    ));
}

#[test]
fn not_empty_while_holding_an_object() {
    let (_dir, store) = common::store();
    put(&store, BUCKET, "k", b"x");
    assert!(matches!(
        store.delete_bucket(BUCKET),
        Err(StoreError::BucketNotEmpty)
    ));
    assert!(store.delete_object(BUCKET, "k").unwrap());
    store.delete_bucket(BUCKET).unwrap();
}

#[test]
fn not_empty_while_holding_an_upload() {
    let (_dir, store) = common::store();
    let id = store
        .initiate_multipart(BUCKET, "k", ObjectMeta::default(), now())
        .unwrap();
    assert!(matches!(
        store.delete_bucket(BUCKET),
        Err(StoreError::BucketNotEmpty)
    ));
    store.abort_multipart(BUCKET, "k", &id).unwrap();
    store.delete_bucket(BUCKET).unwrap();
}

#[test]
fn cors() {
    let (_dir, store) = common::store();
    assert_eq!(store.get_bucket_cors(BUCKET).unwrap(), None);
    let rule = CorsRule {
        allowed_origins: vec!["https://*.example.com".into()],
        allowed_methods: vec!["GET".into()],
        allowed_headers: vec!["*".into()],
        expose_headers: vec!["ETag".into(), "x-oss-request-id".into()],
        max_age_seconds: Some(600),
    };
    let cors = CorsConfig {
        rules: vec![rule],
        response_vary: true,
    };
    store.set_bucket_cors(BUCKET, Some(&cors)).unwrap();
    assert_eq!(store.get_bucket_cors(BUCKET).unwrap(), Some(cors));
    store.set_bucket_cors(BUCKET, None).unwrap();
    assert_eq!(store.get_bucket_cors(BUCKET).unwrap(), None);
    assert!(matches!(
        store.get_bucket_cors("nope"),
        Err(StoreError::NoSuchBucket)
    ));
    assert!(matches!(
        store.set_bucket_cors("nope", None),
        Err(StoreError::NoSuchBucket)
    ));
}

#[test]
fn list_buckets_pages_by_name_and_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for name in ["b-2", "a-1", "b-1", "c-1", "b-3"] {
        store
            .create_bucket(name, Acl::Private, "Standard", now())
            .unwrap();
    }
    let check = |prefix: &str, marker: &str, max: usize, expected: &[&str], truncated: bool| {
        let (buckets, is_truncated) = store.list_buckets(prefix, marker, max).unwrap();
        let names: Vec<&str> = buckets.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(
            (names.as_slice(), is_truncated),
            (expected, truncated),
            "{prefix:?} {marker:?} {max}"
        );
    };
    check("", "", 100, &["a-1", "b-1", "b-2", "b-3", "c-1"], false);
    check("", "", 2, &["a-1", "b-1"], true);
    check("", "b-1", 2, &["b-2", "b-3"], true);
    check("", "b-3", 2, &["c-1"], false);
    check("b-", "", 2, &["b-1", "b-2"], true);
    check("b-", "b-2", 2, &["b-3"], false);
    check("b-", "a", 5, &["b-1", "b-2", "b-3"], false);
    check("z", "", 5, &[], false);
    check("", "", 0, &[], true);
}

#[test]
fn files_are_private() {
    let (dir, store) = common::store();
    put(&store, BUCKET, "k", b"secret");
    let id = store
        .initiate_multipart(BUCKET, "m", ObjectMeta::default(), now())
        .unwrap();
    let mut staging = store.staging().unwrap();
    staging.write(b"part").unwrap();
    store
        .upload_part(BUCKET, "m", &id, 1, staging.finish().unwrap(), now())
        .unwrap();
    let _pending = store.staging().unwrap();

    let root = dir.path().join("store");
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    for sub in ["", "blobs", "tmp"] {
        assert_eq!(mode(&root.join(sub)), 0o700, "{sub:?}");
    }
    let mut files = 0;
    for sub in ["", "blobs", "tmp"] {
        for entry in std::fs::read_dir(root.join(sub)).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                assert_eq!(mode(&path), 0o600, "{}", path.display());
                files += 1;
            }
        }
    }
    // meta.sqlite3 (+ -wal, -shm), two blobs, one staging file.
    assert!(files >= 4, "{files}");
}
