//! The metadata cache never shows a row older than the last acknowledged write: every write
//! path is followed by reads through the cached paths (`head_cached_object`,
//! `open_cached_object`) and the locked ones, after a read has filled the cache.

use std::io::Read;

use stsgate_store::{Acl, ObjectMeta, Store, StoreError};

use crate::common::{self, md5_of, now, put, BUCKET};

/// Reads `key` every way there is and checks they agree; `None` when it does not exist.
fn read_all_ways(store: &Store, key: &str) -> Option<Vec<u8>> {
    let head = store.head_object(BUCKET, key);
    let opened = store.open_object(BUCKET, key);
    let cached = store.open_cached_object(BUCKET, key);
    let head_cached = store.head_cached_object(BUCKET, key);
    match (head, opened) {
        (Err(StoreError::NoSuchKey), Err(StoreError::NoSuchKey)) => {
            assert!(
                cached.is_none() && head_cached.is_none(),
                "{key}: cached after delete"
            );
            None
        }
        (Ok(info), Ok((info2, mut file))) => {
            assert_eq!(info, info2);
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes).unwrap();
            // The locked reads just filled the cache: the cached paths must agree with them.
            let (cinfo, mut cfile) = cached.expect("cached after a read");
            assert_eq!(cinfo, info);
            assert_eq!(head_cached.as_ref(), Some(&info));
            let mut cbytes = Vec::new();
            cfile.read_to_end(&mut cbytes).unwrap();
            assert_eq!(cbytes, bytes);
            assert_eq!(bytes.len() as u64, info.size);
            Some(bytes)
        }
        other => panic!("{key}: head and open disagree: {other:?}"),
    }
}

#[test]
fn every_write_path_is_seen_by_the_next_read() {
    let (_dir, store) = common::store();
    put(&store, BUCKET, "k", b"one");
    assert_eq!(read_all_ways(&store, "k").unwrap(), b"one");
    put(&store, BUCKET, "k", b"two");
    assert_eq!(read_all_ways(&store, "k").unwrap(), b"two");

    store.set_object_acl(BUCKET, "k", Acl::PublicRead).unwrap();
    assert_eq!(
        store.head_cached_object(BUCKET, "k"),
        None,
        "an ACL change forgets the row"
    );
    read_all_ways(&store, "k");
    assert_eq!(
        store.head_object(BUCKET, "k").unwrap().meta.acl,
        Some(Acl::PublicRead)
    );

    // Copy onto itself (metadata only), then from another key.
    let replaced = ObjectMeta {
        content_type: Some("text/x-new".into()),
        ..ObjectMeta::default()
    };
    store
        .copy_object(BUCKET, "k", BUCKET, "k", Some(replaced), false, now())
        .unwrap();
    read_all_ways(&store, "k");
    assert_eq!(
        store
            .head_object(BUCKET, "k")
            .unwrap()
            .meta
            .content_type
            .as_deref(),
        Some("text/x-new")
    );
    put(&store, BUCKET, "src", b"three");
    store
        .copy_object(BUCKET, "src", BUCKET, "k", None, false, now())
        .unwrap();
    assert_eq!(read_all_ways(&store, "k").unwrap(), b"three");

    // Multipart completion onto the cached key.
    let id = store
        .initiate_multipart(BUCKET, "k", ObjectMeta::default(), now())
        .unwrap();
    let mut staging = store.staging().unwrap();
    staging.write(b"four").unwrap();
    let part = store
        .upload_part(BUCKET, "k", &id, 1, staging.finish().unwrap(), now())
        .unwrap();
    store
        .complete_multipart(BUCKET, "k", &id, &[(1, part.etag)], 1, now())
        .unwrap();
    assert_eq!(read_all_ways(&store, "k").unwrap(), b"four");

    assert!(store.delete_object(BUCKET, "k").unwrap());
    assert_eq!(read_all_ways(&store, "k"), None);
    put(&store, BUCKET, "k", b"five");
    assert_eq!(read_all_ways(&store, "k").unwrap(), b"five");
}

#[test]
fn bucket_rows_follow_acl_changes_and_deletion() {
    let (_dir, store) = common::store();
    assert_eq!(store.get_bucket(BUCKET).unwrap().acl, Acl::Private);
    store.set_bucket_acl(BUCKET, Acl::PublicRead).unwrap();
    assert_eq!(store.get_bucket(BUCKET).unwrap().acl, Acl::PublicRead);
    store.delete_bucket(BUCKET).unwrap();
    assert!(matches!(
        store.get_bucket(BUCKET),
        Err(StoreError::NoSuchBucket)
    ));
    store
        .create_bucket(BUCKET, Acl::PublicReadWrite, "Standard", now())
        .unwrap();
    assert_eq!(store.get_bucket(BUCKET).unwrap().acl, Acl::PublicReadWrite);
}

/// Readers racing a writer: once a put has returned, no read that starts later sees an older
/// version, whichever path (cached or locked) serves it; every read sees some whole version.
#[test]
fn racing_readers_never_go_back_in_time() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let (_dir, store) = common::store();
    put(&store, BUCKET, "k", &0usize.to_le_bytes());
    let acked = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let etags: Arc<Vec<String>> = Arc::new(
        (0..=150usize)
            .map(|v| format!("\"{}\"", hex::encode_upper(md5_of(&v.to_le_bytes()))))
            .collect(),
    );
    let readers: Vec<_> = (0..4)
        .map(|r| {
            let (store, acked, done) = (store.clone(), acked.clone(), done.clone());
            let etags = etags.clone();
            std::thread::spawn(move || {
                let mut reads = 0;
                while !done.load(Ordering::SeqCst) {
                    let floor = acked.load(Ordering::SeqCst);
                    if r == 2 {
                        // HEAD: the ETag says which version the row is.
                        let info = store
                            .head_cached_object(BUCKET, "k")
                            .map_or_else(|| store.head_object(BUCKET, "k"), Ok)
                            .expect("the key always exists");
                        let seen = etags.iter().position(|e| *e == info.etag).unwrap();
                        assert!(
                            seen >= floor,
                            "HEAD saw {seen} after {floor} was acknowledged"
                        );
                        reads += 1;
                        continue;
                    }
                    let opened = if r == 0 {
                        store.open_object(BUCKET, "k").ok()
                    } else {
                        store
                            .open_cached_object(BUCKET, "k")
                            .or_else(|| store.open_object(BUCKET, "k").ok())
                    };
                    let (info, mut file) = opened.expect("the key always exists");
                    let mut bytes = Vec::new();
                    file.read_to_end(&mut bytes).unwrap();
                    assert_eq!(bytes.len() as u64, info.size);
                    let seen = usize::from_le_bytes(bytes.try_into().unwrap());
                    assert!(seen >= floor, "read {seen} after {floor} was acknowledged");
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    for v in 1..=150usize {
        put(&store, BUCKET, "k", &v.to_le_bytes());
        acked.store(v, Ordering::SeqCst);
    }
    done.store(true, Ordering::SeqCst);
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
}
