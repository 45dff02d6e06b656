//! AppendObject: creation, growth in place, the position and type checks, the whole object's
//! CRC-64, copies of appendable objects, and crash leftovers past the committed size.

use crate::common::{self, now, put, BUCKET};
use stsgate_store::{ObjectMeta, ObjectType, StoreError};

fn crc(bytes: &[u8]) -> u64 {
    let mut d = crc64fast::Digest::new();
    d.write(bytes);
    d.sum64()
}

fn append(
    store: &stsgate_store::Store,
    key: &str,
    position: u64,
    bytes: &[u8],
) -> Result<stsgate_store::ObjectInfo, StoreError> {
    let blob = store.stage_bytes(bytes).unwrap();
    store.append_object(
        BUCKET,
        key,
        position,
        blob,
        ObjectMeta {
            content_type: Some("text/plain".into()),
            ..ObjectMeta::default()
        },
        now(),
    )
}

#[test]
fn appends_grow_the_object_and_keep_the_whole_crc() {
    let (_dir, store) = common::store();
    let first = append(&store, "log", 0, b"hello ").unwrap();
    assert_eq!(
        (first.size, first.object_type, first.crc64),
        (6, ObjectType::Appendable, crc(b"hello "))
    );
    let big = vec![b'x'; 300_000]; // larger than an inline blob
    let second = append(&store, "log", 6, &big).unwrap();
    let mut whole = b"hello ".to_vec();
    whole.extend_from_slice(&big);
    assert_eq!(
        (second.size, second.crc64),
        (whole.len() as u64, crc(&whole))
    );
    assert_ne!(first.etag, second.etag);
    assert_eq!(common::read(&store, BUCKET, "log"), whole);
    // Metadata is the creating append's; later ones do not change it.
    let head = store.head_object(BUCKET, "log").unwrap();
    assert_eq!(head.meta.content_type.as_deref(), Some("text/plain"));
    assert_eq!(head.meta.storage_class.as_deref(), Some("Standard"));
    assert_eq!(head.object_type, ObjectType::Appendable);
}

#[test]
fn position_and_type_are_checked() {
    let (_dir, store) = common::store();
    assert!(matches!(
        append(&store, "new", 3, b"x"),
        Err(StoreError::PositionNotEqualToLength(0))
    ));
    append(&store, "log", 0, b"abc").unwrap();
    assert!(matches!(
        append(&store, "log", 2, b"x"),
        Err(StoreError::PositionNotEqualToLength(3))
    ));
    assert!(matches!(
        append(&store, "log", 0, b"x"),
        Err(StoreError::PositionNotEqualToLength(3))
    ));
    put(&store, BUCKET, "normal", b"n");
    assert!(matches!(
        append(&store, "normal", 1, b"x"),
        Err(StoreError::ObjectNotAppendable)
    ));
    assert!(matches!(
        append(&store, "normal", 0, b"x"),
        Err(StoreError::ObjectNotAppendable)
    ));
    assert!(matches!(
        store.append_object(
            "nope",
            "k",
            0,
            store.stage_bytes(b"x").unwrap(),
            ObjectMeta::default(),
            now()
        ),
        Err(StoreError::NoSuchBucket)
    ));
    // Nothing was written by the refusals.
    assert_eq!(common::read(&store, BUCKET, "log"), b"abc");
}

#[test]
fn a_copy_of_an_appendable_object_is_a_normal_one_of_its_own() {
    let (_dir, store) = common::store();
    append(&store, "log", 0, &vec![b'a'; 200_000]).unwrap();
    let copy = store
        .copy_object(BUCKET, "log", BUCKET, "copy", None, false, now())
        .unwrap();
    assert_eq!(copy.object_type, ObjectType::Normal);
    assert!(copy.md5.is_some());
    append(&store, "log", 200_000, b"more").unwrap();
    // The copy did not grow with the source.
    assert_eq!(common::read(&store, BUCKET, "copy").len(), 200_000);
    assert_eq!(store.head_object(BUCKET, "copy").unwrap().size, 200_000);
}

#[test]
fn bytes_left_past_the_committed_size_are_never_read_and_cut_by_the_next_append() {
    let (dir, store) = common::store();
    append(&store, "log", 0, &vec![b'a'; 100_000]).unwrap();
    // A crash between an append's write and its commit: extra bytes at the blob's end.
    let blobs = dir.path().join("store/blobs");
    let blob = std::fs::read_dir(&blobs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&blob)
        .unwrap();
    std::io::Write::write_all(&mut f, b"GARBAGE").unwrap();
    // Reads stop at the committed size (as the faces do).
    let (head, file) = store.open_object(BUCKET, "log").unwrap();
    let mut bounded = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(file, head.size), &mut bounded).unwrap();
    assert_eq!(bounded, vec![b'a'; 100_000]);
    let info = append(&store, "log", 100_000, b"b").unwrap();
    let mut whole = vec![b'a'; 100_000];
    whole.push(b'b');
    assert_eq!(common::read(&store, BUCKET, "log"), whole);
    assert_eq!(info.crc64, crc(&whole));
    assert_eq!(std::fs::metadata(&blob).unwrap().len(), 100_001);
}
