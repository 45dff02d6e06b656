//! Group commit: concurrent writers share a batch, yet each gets its own result, and a failing
//! request does not undo the others.

use std::sync::{Arc, Barrier};

use stsgate_store::{ObjectMeta, Store, StoreError};

use crate::common::{self, count_files, now, read, BUCKET};

fn put_forbid(
    store: &Store,
    bucket: &str,
    key: &str,
    bytes: &[u8],
    forbid: bool,
) -> Result<(), StoreError> {
    // Batches mix inline blobs (keys of even length) and blob files.
    let blob = if key.len().is_multiple_of(2) {
        store.stage_bytes(bytes).unwrap()
    } else {
        let mut staging = store.staging().unwrap();
        staging.write(bytes).unwrap();
        staging.finish().unwrap()
    };
    store
        .put_object(bucket, key, blob, ObjectMeta::default(), forbid, now())
        .map(|_| ())
}

#[test]
fn concurrent_writers_each_get_their_own_result() {
    let (dir, store) = common::store();
    store
        .create_bucket("other", stsgate_store::Acl::Private, "Standard", now())
        .unwrap();
    let n = 48;
    let barrier = Arc::new(Barrier::new(n));
    let threads: Vec<_> = (0..n)
        .map(|i| {
            let (store, barrier) = (store.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                match i % 4 {
                    // Distinct keys.
                    0 => put_forbid(&store, BUCKET, &format!("own/{i}"), &[i as u8; 100], false),
                    // One key written by many: the last commit wins, every write succeeds.
                    1 => put_forbid(&store, BUCKET, "shared", &[i as u8; 10], false),
                    // forbid_overwrite on one key: exactly one succeeds.
                    2 => put_forbid(&store, BUCKET, "once", &[i as u8; 10], true),
                    // Another bucket in the same batches.
                    _ => put_forbid(&store, "other", &format!("k{i}"), b"x", false),
                }
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    for (i, r) in results.iter().enumerate() {
        match i % 4 {
            0 | 1 => assert!(r.is_ok(), "{i}: {r:?}"),
            2 => assert!(
                r.is_ok() || matches!(r, Err(StoreError::ObjectAlreadyExists)),
                "{i}: {r:?}"
            ),
            _ => assert!(r.is_ok(), "{i}: {r:?}"),
        }
    }
    let once_ok = (0..n).filter(|i| i % 4 == 2 && results[*i].is_ok()).count();
    assert_eq!(once_ok, 1, "forbid_overwrite let {once_ok} writers through");
    for i in (0..n).filter(|i| i % 4 == 0) {
        assert_eq!(
            read(&store, BUCKET, &format!("own/{i}")),
            vec![i as u8; 100]
        );
    }
    let shared = read(&store, BUCKET, "shared");
    assert!(shared.len() == 10 && shared.iter().all(|b| *b == shared[0]));
    // Every blob is referred to by exactly one row: replaced and failed blobs were deleted.
    let rows: usize = [BUCKET, "other"]
        .iter()
        .map(|b| {
            store
                .list_objects(b, "", "", "", 1000)
                .unwrap()
                .objects
                .len()
        })
        .sum();
    assert_eq!(rows, n / 4 + 1 + 1 + n / 4);
    let root = dir.path().join("store");
    assert_eq!(common::blob_count(&root), rows);
    assert_eq!(count_files(&root, "tmp"), 0);
}

#[test]
fn a_missing_bucket_fails_only_its_own_write() {
    let (_dir, store) = common::store();
    let barrier = Arc::new(Barrier::new(8));
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let (store, barrier) = (store.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let bucket = if i % 2 == 0 { BUCKET } else { "no-such-bucket" };
                put_forbid(&store, bucket, &format!("k{i}"), b"v", false)
            })
        })
        .collect();
    for (i, t) in threads.into_iter().enumerate() {
        let r = t.join().unwrap();
        if i % 2 == 0 {
            assert!(r.is_ok(), "{i}: {r:?}");
        } else {
            assert!(matches!(r, Err(StoreError::NoSuchBucket)), "{i}: {r:?}");
        }
    }
}
