//! Server-side encryption at rest: sealed bytes on disk, plaintext through the store, nothing
//! readable with another key, copies and multipart objects sealed too.

use crate::common::{self, now, BUCKET};
use std::io::Read;
use stsgate_store::{ObjectMeta, Store};

fn sealed_meta() -> ObjectMeta {
    ObjectMeta {
        sse: Some("AES256".into()),
        ..ObjectMeta::default()
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files.extend(walk(&p))
        } else {
            files.push(p)
        }
    }
    files
}

#[test]
fn sealed_objects_are_not_plaintext_on_disk_and_need_the_key() {
    let (dir, store) = common::store();
    store.set_sse_key([3u8; 32]);
    let marker = b"PLAINTEXT-MARKER-0123456789";
    let small: Vec<u8> = marker.iter().chain(b" small").copied().collect();
    let big: Vec<u8> = (0..300_000u32)
        .flat_map(|i| {
            if i % 1000 == 0 {
                marker.to_vec()
            } else {
                vec![(i % 200) as u8]
            }
        })
        .collect();
    for (key, bytes) in [("small", &small), ("big", &big)] {
        let blob = store.stage_bytes(bytes).unwrap();
        let info = store
            .put_object(BUCKET, key, blob, sealed_meta(), false, now())
            .unwrap();
        assert_eq!(info.size, bytes.len() as u64);
        assert_eq!(info.md5, Some(common::md5_of(bytes)));
        assert_eq!(common::read(&store, BUCKET, key), *bytes);
    }
    // A ranged read of the big one.
    let (_, mut r) = store.open_object(BUCKET, "big").unwrap();
    std::io::Seek::seek(&mut r, std::io::SeekFrom::Start(200_000)).unwrap();
    let mut part = vec![0u8; 70_000];
    r.read_exact(&mut part).unwrap();
    assert_eq!(part, big[200_000..270_000]);
    // Copies stay sealed; a plaintext object copied with encryption asked is sealed.
    store
        .copy_object(BUCKET, "big", BUCKET, "big-copy", None, false, now())
        .unwrap();
    assert_eq!(common::read(&store, BUCKET, "big-copy"), big);
    // (Another text: this source is plaintext on disk by design.)
    common::put(&store, BUCKET, "plain", b"other plaintext");
    store
        .copy_object(
            BUCKET,
            "plain",
            BUCKET,
            "plain-sealed",
            Some(sealed_meta()),
            false,
            now(),
        )
        .unwrap();
    assert_eq!(
        common::read(&store, BUCKET, "plain-sealed"),
        b"other plaintext"
    );
    let sealed = store.head_object(BUCKET, "plain-sealed").unwrap();
    assert!(sealed.meta.sse_salt.is_some());
    drop(store);
    // Nothing on disk holds the plaintext (the database included).
    for f in walk(&dir.path().join("store")) {
        let b = std::fs::read(&f).unwrap();
        if let Some(i) = b.windows(marker.len()).position(|w| w == marker) {
            panic!(
                "plaintext found in {} at {i}: {:?}",
                f.display(),
                String::from_utf8_lossy(&b[i.saturating_sub(100)..(i + 40).min(b.len())])
            );
        }
    }
    // Another key reads nothing.
    let other = Store::open(&dir.path().join("store")).unwrap();
    other.set_sse_key([4u8; 32]);
    assert!(other.open_object(BUCKET, "small").is_err());
    let (_, mut r) = other.open_object(BUCKET, "big").unwrap();
    assert!(r.read_to_end(&mut Vec::new()).is_err());
    drop(other);
    let again = Store::open(&dir.path().join("store")).unwrap();
    again.set_sse_key([3u8; 32]);
    assert_eq!(common::read(&again, BUCKET, "big"), big);
}

#[test]
fn a_bucket_default_seals_what_is_written_without_asking() {
    let (dir, store) = common::store();
    store.set_sse_key([5u8; 32]);
    store
        .set_bucket_setting(BUCKET, "encryption", Some("AES256"))
        .unwrap();
    common::put(&store, BUCKET, "k", b"data");
    let info = store.head_object(BUCKET, "k").unwrap();
    assert_eq!(info.meta.sse.as_deref(), Some("AES256"));
    assert!(info.meta.sse_salt.is_some());
    let id = store
        .initiate_multipart(BUCKET, "mp", ObjectMeta::default(), now())
        .unwrap();
    let secret = b"PART-PLAINTEXT-MARKER-42".repeat(2000); // ~48 KiB, a file blob
    let part = store
        .upload_part(
            BUCKET,
            "mp",
            &id,
            1,
            store.stage_bytes(&secret).unwrap(),
            now(),
        )
        .unwrap();
    // Before completion too, no part lies on disk in plaintext.
    for f in walk(&dir.path().join("store/blobs")) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !bytes.windows(24).any(|w| w == b"PART-PLAINTEXT-MARKER-42"),
            "{}",
            f.display()
        );
    }
    let done = store
        .complete_multipart(BUCKET, "mp", &id, &[(1, part.etag)], 0, now())
        .unwrap();
    assert_eq!(done.meta.sse.as_deref(), Some("AES256"));
    assert_eq!(common::read(&store, BUCKET, "mp"), secret);
}
