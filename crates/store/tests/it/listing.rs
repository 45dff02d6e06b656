//! ListObjects: prefix, delimiter, `after`, `max_keys`, truncation and markers.

use stsgate_store::{Listing, Store, StoreError};

use crate::common::{self, put, BUCKET};

const KEYS: &[&str] = &[
    "a.txt",
    "dir/",
    "dir/a",
    "dir/b/c",
    "dir/b/d",
    "dir/c/e",
    "dir/d",
    "dir2/x",
    "dirt",
    "z/\u{e9}/1",
    "z/\u{e9}/2",
    "z/\u{ff}",
];

fn filled() -> (tempfile::TempDir, Store) {
    let (dir, store) = common::store();
    for key in KEYS {
        put(&store, BUCKET, key, key.as_bytes());
    }
    (dir, store)
}

/// Objects and prefixes as one compact string: `a,b,[p/]` with truncation as `…marker`.
fn render(listing: &Listing) -> String {
    let mut entries: Vec<String> = listing.objects.iter().map(|o| o.key.clone()).collect();
    entries.extend(listing.common_prefixes.iter().map(|p| format!("[{p}]")));
    entries.sort_by(|a, b| {
        a.trim_start_matches('[')
            .trim_end_matches(']')
            .cmp(b.trim_start_matches('[').trim_end_matches(']'))
    });
    let mut out = entries.join(",");
    if listing.is_truncated {
        out.push_str(&format!(
            " …{}",
            listing.next_marker.as_deref().unwrap_or("-")
        ));
    } else {
        assert_eq!(listing.next_marker, None);
    }
    out
}

fn check(
    store: &Store,
    (prefix, delimiter, after, max): (&str, &str, &str, usize),
    expected: &str,
) {
    let listing = store
        .list_objects(BUCKET, prefix, delimiter, after, max)
        .unwrap();
    assert_eq!(
        render(&listing),
        expected,
        "prefix={prefix:?} delimiter={delimiter:?} after={after:?} max={max}"
    );
}

#[test]
fn plain_listing() {
    let (_dir, store) = filled();
    check(&store, ("", "", "", 1000), &KEYS.join(","));
    check(&store, ("", "", "", 3), "a.txt,dir/,dir/a …dir/a");
    check(
        &store,
        ("", "", "dir/a", 3),
        "dir/b/c,dir/b/d,dir/c/e …dir/c/e",
    );
    check(&store, ("", "", "dir/c/e", 3), "dir/d,dir2/x,dirt …dirt");
    check(&store, ("", "", "dirt", 3), "z/é/1,z/é/2,z/\u{ff}");
    check(&store, ("", "", "zzz", 3), "");
    check(&store, ("", "", "", 0), " …-");
    check(&store, ("", "", "z/\u{ff}", 0), "");
}

#[test]
fn prefix_filters() {
    let (_dir, store) = filled();
    check(
        &store,
        ("dir/", "", "", 1000),
        "dir/,dir/a,dir/b/c,dir/b/d,dir/c/e,dir/d",
    );
    check(
        &store,
        ("dir", "", "", 1000),
        "dir/,dir/a,dir/b/c,dir/b/d,dir/c/e,dir/d,dir2/x,dirt",
    );
    check(&store, ("dir/b", "", "", 1000), "dir/b/c,dir/b/d");
    check(
        &store,
        ("dir/", "", "dir/b/c", 2),
        "dir/b/d,dir/c/e …dir/c/e",
    );
    check(&store, ("dir/", "", "a", 1), "dir/ …dir/");
    check(&store, ("dir/", "", "e", 1), "");
    check(&store, ("nothing", "", "", 10), "");
    check(&store, ("z/é", "", "", 10), "z/é/1,z/é/2");
}

#[test]
fn delimiter_rolls_up() {
    let (_dir, store) = filled();
    check(
        &store,
        ("", "/", "", 1000),
        "a.txt,[dir/],[dir2/],dirt,[z/]",
    );
    check(
        &store,
        ("dir/", "/", "", 1000),
        "dir/,dir/a,[dir/b/],[dir/c/],dir/d",
    );
    check(&store, ("z/", "/", "", 1000), "[z/é/],z/\u{ff}");
    check(
        &store,
        ("", "r", "", 1000),
        "a.txt,[dir],z/é/1,z/é/2,z/\u{ff}",
    );
    check(
        &store,
        ("", "/b/", "", 1000),
        "a.txt,dir/,dir/a,[dir/b/],dir/c/e,dir/d,dir2/x,dirt,z/é/1,z/é/2,z/\u{ff}",
    );
    check(
        &store,
        ("", "é", "", 1000),
        "a.txt,dir/,dir/a,dir/b/c,dir/b/d,dir/c/e,dir/d,dir2/x,dirt,[z/é],z/\u{ff}",
    );
}

#[test]
fn common_prefixes_count_toward_max_keys() {
    let (_dir, store) = filled();
    check(&store, ("", "/", "", 2), "a.txt,[dir/] …dir/");
    check(&store, ("", "/", "dir/", 2), "[dir2/],dirt …dirt");
    check(&store, ("", "/", "dirt", 2), "[z/]");
    check(&store, ("dir/", "/", "", 3), "dir/,dir/a,[dir/b/] …dir/b/");
    check(&store, ("dir/", "/", "dir/b/", 3), "[dir/c/],dir/d");
    check(&store, ("", "/", "", 0), " …-");
}

#[test]
fn a_prefix_at_or_before_after_is_skipped() {
    let (_dir, store) = filled();
    // `after` inside dir/b/: that prefix was returned by the previous page.
    check(&store, ("dir/", "/", "dir/b/c", 10), "[dir/c/],dir/d");
    check(
        &store,
        ("dir/", "/", "dir/b", 10),
        "[dir/b/],[dir/c/],dir/d",
    );
    check(&store, ("", "/", "dir/zzz", 10), "[dir2/],dirt,[z/]");
}

#[test]
fn paging_with_markers_visits_everything_once() {
    let (_dir, store) = filled();
    for (prefix, delimiter) in [("", ""), ("", "/"), ("dir/", "/"), ("d", "b")] {
        let full = render(
            &store
                .list_objects(BUCKET, prefix, delimiter, "", 1000)
                .unwrap(),
        );
        for page_size in 1..4 {
            let mut pages = Vec::new();
            let mut after = String::new();
            for _ in 0..=KEYS.len() {
                let listing = store
                    .list_objects(BUCKET, prefix, delimiter, &after, page_size)
                    .unwrap();
                let page = render(&Listing {
                    is_truncated: false,
                    next_marker: None,
                    ..listing.clone()
                });
                if !page.is_empty() {
                    pages.push(page);
                }
                match listing.next_marker {
                    Some(marker) => after = marker,
                    None => break,
                }
            }
            assert_eq!(
                pages.join(","),
                full,
                "{prefix:?} {delimiter:?} {page_size}"
            );
        }
    }
}

#[test]
fn missing_bucket() {
    let (_dir, store) = common::store();
    assert!(matches!(
        store.list_objects("nope", "", "", "", 10),
        Err(StoreError::NoSuchBucket)
    ));
}

#[test]
fn keys_of_other_buckets_stay_out() {
    let (_dir, store) = filled();
    store
        .create_bucket(
            "bucket2",
            stsgate_store::Acl::Private,
            "Standard",
            common::now(),
        )
        .unwrap();
    put(&store, "bucket2", "a.txt", b"x");
    check(&store, ("", "", "", 1000), &KEYS.join(","));
    check(&store, ("", "", "", 1), "a.txt …a.txt");
    let other = store.list_objects("bucket2", "", "/", "", 10).unwrap();
    assert_eq!(render(&other), "a.txt");
}

#[test]
fn wide_directories_roll_up_without_visiting_every_key() {
    let (_dir, store) = common::store();
    for dir in 0..3 {
        for i in 0..300 {
            put(&store, BUCKET, &format!("d{dir}/{i:04}"), b"");
        }
    }
    put(&store, BUCKET, "top", b"");
    check(&store, ("", "/", "", 10), "[d0/],[d1/],[d2/],top");
    check(&store, ("", "/", "d0/0150", 10), "[d1/],[d2/],top");
}
