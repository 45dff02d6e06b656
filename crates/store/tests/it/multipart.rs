//! Multipart uploads.

use md5::{Digest as _, Md5};
use stsgate_store::{Acl, ObjectMeta, ObjectType, PartInfo, Store, StoreError};

use crate::common::{self, count_files, crc64_of, md5_of, now, put, read, BUCKET};

fn upload(store: &Store, key: &str, id: &str, number: u32, bytes: &[u8]) -> PartInfo {
    let mut staging = store.staging().unwrap();
    staging.write(bytes).unwrap();
    store
        .upload_part(BUCKET, key, id, number, staging.finish().unwrap(), now())
        .unwrap()
}

fn part_bytes(number: u32, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i as u32 * 31 + number) as u8).collect()
}

#[test]
fn happy_path() {
    let (dir, store) = common::store();
    put(&store, BUCKET, "obj", b"old version");
    let meta = ObjectMeta {
        content_type: Some("video/mp4".into()),
        acl: Some(Acl::Private),
        ..ObjectMeta::default()
    };
    let id = store
        .initiate_multipart(BUCKET, "obj", meta.clone(), now())
        .unwrap();
    assert_eq!(id.len(), 32);
    assert!(
        id.chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()),
        "{id}"
    );
    // Without a storage class, the upload (and the object it makes) has the bucket's.
    let meta = ObjectMeta {
        storage_class: Some("Standard".into()),
        ..meta
    };
    assert_eq!(store.upload_meta(BUCKET, "obj", &id).unwrap(), meta);

    let bodies = [part_bytes(1, 300), part_bytes(2, 300), part_bytes(3, 17)];
    let mut parts = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        let number = i as u32 + 1;
        let info = upload(&store, "obj", &id, number, body);
        assert_eq!(
            info.etag,
            format!("\"{}\"", hex::encode_upper(md5_of(body)))
        );
        assert_eq!(
            (info.part_number, info.size, info.crc64),
            (number, body.len() as u64, crc64_of(body))
        );
        // Clients echo ETags with or without quotes, in any case.
        let etag = if number == 2 {
            info.etag.trim_matches('"').to_lowercase()
        } else {
            info.etag
        };
        parts.push((number, etag));
    }
    let info = store
        .complete_multipart(BUCKET, "obj", &id, &parts, 100, now())
        .unwrap();

    let all = bodies.concat();
    let mut etag_md5 = Md5::new();
    for body in &bodies {
        etag_md5.update(md5_of(body));
    }
    assert_eq!(
        info.etag,
        format!("\"{}-3\"", hex::encode_upper(etag_md5.finalize()))
    );
    assert_eq!(
        (info.size, info.crc64, info.md5, info.object_type),
        (
            all.len() as u64,
            crc64_of(&all),
            None,
            ObjectType::Multipart
        )
    );
    assert_eq!(info.meta, meta);
    assert_eq!(store.head_object(BUCKET, "obj").unwrap(), info);
    assert_eq!(md5_of(&read(&store, BUCKET, "obj")), md5_of(&all));

    assert!(matches!(
        store.upload_meta(BUCKET, "obj", &id),
        Err(StoreError::NoSuchUpload)
    ));
    assert!(matches!(
        store.complete_multipart(BUCKET, "obj", &id, &parts, 100, now()),
        Err(StoreError::NoSuchUpload)
    ));
    let root = dir.path().join("store");
    assert_eq!(
        (count_files(&root, "blobs"), count_files(&root, "tmp")),
        (1, 0)
    );
    store.delete_bucket(BUCKET).unwrap_err();
}

#[test]
fn unlisted_and_replaced_parts_are_freed() {
    let (dir, store) = common::store();
    let id = store
        .initiate_multipart(BUCKET, "k", ObjectMeta::default(), now())
        .unwrap();
    upload(&store, "k", &id, 1, b"first try");
    let one = upload(&store, "k", &id, 1, b"second try");
    upload(&store, "k", &id, 5, b"never used");
    let root = dir.path().join("store");
    assert_eq!(count_files(&root, "blobs"), 2);
    let info = store
        .complete_multipart(BUCKET, "k", &id, &[(1, one.etag)], 100, now())
        .unwrap();
    assert_eq!(
        info.etag,
        format!(
            "\"{}-1\"",
            hex::encode_upper(Md5::digest(md5_of(b"second try")))
        )
    );
    assert_eq!(read(&store, BUCKET, "k"), b"second try");
    assert_eq!(count_files(&root, "blobs"), 1);
}

#[test]
fn complete_validates_the_part_list() {
    let (_dir, store) = common::store();
    let id = store
        .initiate_multipart(BUCKET, "k", ObjectMeta::default(), now())
        .unwrap();
    let p1 = upload(&store, "k", &id, 1, &part_bytes(1, 200));
    let p2 = upload(&store, "k", &id, 2, &part_bytes(2, 50));
    let p3 = upload(&store, "k", &id, 3, &part_bytes(3, 200));
    let complete = |parts: &[(u32, &str)]| {
        let parts: Vec<(u32, String)> = parts.iter().map(|(n, e)| (*n, e.to_string())).collect();
        store.complete_multipart(BUCKET, "k", &id, &parts, 100, now())
    };
    assert!(matches!(complete(&[]), Err(StoreError::InvalidPart(_))));
    assert!(matches!(
        complete(&[(2, &p2.etag), (1, &p1.etag)]),
        Err(StoreError::InvalidPartOrder)
    ));
    assert!(matches!(
        complete(&[(1, &p1.etag), (1, &p1.etag)]),
        Err(StoreError::InvalidPartOrder)
    ));
    assert!(matches!(
        complete(&[(1, &p1.etag), (4, &p1.etag)]),
        Err(StoreError::InvalidPart(4))
    ));
    assert!(matches!(
        complete(&[(1, &p2.etag)]),
        Err(StoreError::InvalidPart(1))
    ));
    assert!(matches!(
        complete(&[(1, &p1.etag), (2, &p2.etag), (3, &p3.etag)]),
        Err(StoreError::EntityTooSmall(2, 50))
    ));
    // The failed attempts left the upload intact.
    assert_eq!(
        store.list_parts(BUCKET, "k", &id, 0, 100).unwrap().0.len(),
        3
    );
    // A small last part is fine.
    let info = complete(&[(1, &p1.etag), (2, &p2.etag)]).unwrap();
    assert_eq!(info.size, 250);
}

#[test]
fn unknown_uploads() {
    let (_dir, store) = common::store();
    let id = store
        .initiate_multipart(BUCKET, "k", ObjectMeta::default(), now())
        .unwrap();
    let mut staging = store.staging().unwrap();
    staging.write(b"x").unwrap();
    let result = store.upload_part(
        BUCKET,
        "other-key",
        &id,
        1,
        staging.finish().unwrap(),
        now(),
    );
    assert!(matches!(result, Err(StoreError::NoSuchUpload)));
    assert!(matches!(
        store.abort_multipart(BUCKET, "k", "0123"),
        Err(StoreError::NoSuchUpload)
    ));
    assert!(matches!(
        store.list_parts(BUCKET, "other-key", &id, 0, 10),
        Err(StoreError::NoSuchUpload)
    ));
    assert!(matches!(
        store.complete_multipart(BUCKET, "k", "nope", &[(1, "x".into())], 1, now()),
        Err(StoreError::NoSuchUpload)
    ));
    assert!(matches!(
        store.upload_meta(BUCKET, "other-key", &id),
        Err(StoreError::NoSuchUpload)
    ));
    assert!(matches!(
        store.initiate_multipart("nope", "k", ObjectMeta::default(), now()),
        Err(StoreError::NoSuchBucket)
    ));
    for bad in [0, 10_001] {
        let mut staging = store.staging().unwrap();
        staging.write(b"x").unwrap();
        let result = store.upload_part(BUCKET, "k", &id, bad, staging.finish().unwrap(), now());
        assert!(matches!(result, Err(StoreError::InvalidPart(n)) if n == bad));
    }
}

#[test]
fn abort_deletes_parts() {
    let (dir, store) = common::store();
    let id = store
        .initiate_multipart(BUCKET, "k", ObjectMeta::default(), now())
        .unwrap();
    upload(&store, "k", &id, 1, b"a");
    upload(&store, "k", &id, 2, b"b");
    store.abort_multipart(BUCKET, "k", &id).unwrap();
    assert!(matches!(
        store.abort_multipart(BUCKET, "k", &id),
        Err(StoreError::NoSuchUpload)
    ));
    assert!(matches!(
        store.head_object(BUCKET, "k"),
        Err(StoreError::NoSuchKey)
    ));
    assert_eq!(count_files(&dir.path().join("store"), "blobs"), 0);
    store.delete_bucket(BUCKET).unwrap();
}

#[test]
fn list_parts_pages() {
    let (_dir, store) = common::store();
    let id = store
        .initiate_multipart(BUCKET, "k", ObjectMeta::default(), now())
        .unwrap();
    for number in [1, 2, 3, 7, 10_000] {
        upload(&store, "k", &id, number, &part_bytes(number, 3));
    }
    let check = |marker: u32, max: usize, expected: &[u32], truncated: bool| {
        let (parts, is_truncated) = store.list_parts(BUCKET, "k", &id, marker, max).unwrap();
        let numbers: Vec<u32> = parts.iter().map(|p| p.part_number).collect();
        assert_eq!(
            (numbers.as_slice(), is_truncated),
            (expected, truncated),
            "{marker} {max}"
        );
    };
    check(0, 1000, &[1, 2, 3, 7, 10_000], false);
    check(0, 2, &[1, 2], true);
    check(2, 2, &[3, 7], true);
    check(7, 2, &[10_000], false);
    check(10_000, 2, &[], false);
    check(0, 0, &[], true);
    let (parts, _) = store.list_parts(BUCKET, "k", &id, 6, 1).unwrap();
    assert_eq!(
        (parts[0].size, parts[0].crc64),
        (3, crc64_of(&part_bytes(7, 3)))
    );
}

#[test]
fn list_uploads_pages() {
    let (_dir, store) = common::store();
    let mut all = Vec::new();
    for key in ["b", "a", "b", "c/1", "c/2"] {
        let id = store
            .initiate_multipart(BUCKET, key, ObjectMeta::default(), now())
            .unwrap();
        all.push((key.to_string(), id));
    }
    all.sort();
    let check = |prefix: &str,
                 key_marker: &str,
                 id_marker: &str,
                 max: usize,
                 expected: &[(String, String)],
                 truncated: bool| {
        let page = store
            .list_multipart_uploads(BUCKET, (prefix, ""), (key_marker, id_marker), max)
            .unwrap();
        assert!(page.common_prefixes.is_empty());
        let (uploads, is_truncated) = (page.uploads, page.truncated);
        let got: Vec<(String, String)> = uploads
            .iter()
            .map(|u| (u.key.clone(), u.upload_id.clone()))
            .collect();
        assert_eq!(
            (got.as_slice(), is_truncated),
            (expected, truncated),
            "{prefix:?} {key_marker:?} {id_marker:?} {max}"
        );
        assert!(uploads.iter().all(|u| u.initiated == now()));
    };
    check("", "", "", 100, &all, false);
    check("", "", "", 2, &all[..2], true);
    // Paging with the last (key, upload id) as markers.
    check("", &all[1].0, &all[1].1, 2, &all[2..4], true);
    check("", &all[3].0, &all[3].1, 2, &all[4..], false);
    // A key marker alone skips every upload of that key.
    check("", "b", "", 100, &all[3..], false);
    check("c/", "", "", 100, &all[3..], false);
    check("c/", "c/1", "", 100, &all[4..], false);
    check("zz", "", "", 100, &[], false);
    assert!(matches!(
        store.list_multipart_uploads("nope", ("", ""), ("", ""), 1),
        Err(StoreError::NoSuchBucket)
    ));
}

#[test]
fn list_uploads_roll_up_at_the_delimiter() {
    let (_dir, store) = common::store();
    let mut ids = std::collections::BTreeMap::new();
    for key in ["a", "d/1", "d/2", "d/x/3", "e", "f/1", "g"] {
        let id = store
            .initiate_multipart(BUCKET, key, ObjectMeta::default(), now())
            .unwrap();
        ids.insert(key, id);
    }
    // (prefix, key marker, max) → (entries: uploads' keys and common prefixes in order, truncated)
    let list = |prefix: &str, marker: &str, max: usize| {
        let page = store
            .list_multipart_uploads(BUCKET, (prefix, "/"), (marker, ""), max)
            .unwrap();
        let mut entries: Vec<String> = page.uploads.iter().map(|u| u.key.clone()).collect();
        entries.extend(page.common_prefixes.iter().cloned());
        entries.sort();
        (entries, page.truncated, page.next_key_marker)
    };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(
        list("", "", 100),
        (s(&["a", "d/", "e", "f/", "g"]), false, "g".into())
    );
    assert_eq!(list("", "", 2), (s(&["a", "d/"]), true, "d/".into()));
    // The next page starts after the common prefix, not inside it.
    assert_eq!(list("", "d/", 2), (s(&["e", "f/"]), true, "f/".into()));
    assert_eq!(list("", "f/", 2), (s(&["g"]), false, "g".into()));
    // A marker inside a common prefix does not list that prefix again.
    assert_eq!(
        list("", "d/1", 100),
        (s(&["e", "f/", "g"]), false, "g".into())
    );
    assert_eq!(
        list("d/", "", 100),
        (s(&["d/1", "d/2", "d/x/"]), false, "d/x/".into())
    );
    assert_eq!(list("d/", "", 2), (s(&["d/1", "d/2"]), true, "d/2".into()));
    assert_eq!(ids.len(), 7);
}

#[test]
fn concatenation_is_streamed_for_many_parts() {
    let (_dir, store) = common::store();
    let id = store
        .initiate_multipart(BUCKET, "big", ObjectMeta::default(), now())
        .unwrap();
    let mut parts = Vec::new();
    let mut all = Vec::new();
    for number in 1..=12 {
        let body = part_bytes(number, 100_000 + number as usize);
        parts.push((number, upload(&store, "big", &id, number, &body).etag));
        all.extend_from_slice(&body);
    }
    let info = store
        .complete_multipart(BUCKET, "big", &id, &parts, 100_000, now())
        .unwrap();
    assert_eq!((info.size, info.crc64), (all.len() as u64, crc64_of(&all)));
    assert_eq!(read(&store, BUCKET, "big"), all);
}
