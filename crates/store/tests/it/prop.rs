//! `list_objects` against a BTreeSet model, for random keys, prefixes, delimiters and markers.

use std::collections::BTreeSet;

use proptest::prelude::*;
use stsgate_store::{Listing, Store};

use crate::common::{self, put, BUCKET};

/// A small alphabet with the delimiter and 1- to 4-byte UTF-8 characters.
fn text(len: std::ops::Range<usize>) -> impl Strategy<Value = String> {
    let chars = prop::sample::select(vec![
        'a',
        'b',
        '/',
        '\u{e9}',
        '\u{ff}',
        '\u{65e5}',
        '\u{1f600}',
    ]);
    prop::collection::vec(chars, len).prop_map(|chars| chars.into_iter().collect())
}

fn delimiter() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["", "/", "a", "\u{e9}/", "\u{65e5}", "\u{ff}"])
        .prop_map(str::to_owned)
}

/// A listing entry as the model sees it: `Ok(key)` for objects, `Err(prefix)` for common prefixes.
type Entry = Result<String, String>;

/// The complete listing, computed the obvious way.
fn model(keys: &BTreeSet<String>, prefix: &str, delimiter: &str, after: &str) -> Vec<Entry> {
    let mut entries: Vec<Entry> = Vec::new();
    for key in keys
        .iter()
        .filter(|k| k.starts_with(prefix) && k.as_str() > after)
    {
        let rest = &key[prefix.len()..];
        match rest.find(delimiter).filter(|_| !delimiter.is_empty()) {
            None => entries.push(Ok(key.clone())),
            Some(at) => {
                let common = key[..prefix.len() + at + delimiter.len()].to_owned();
                if common.as_str() > after && entries.last() != Some(&Err(common.clone())) {
                    entries.push(Err(common));
                }
            }
        }
    }
    entries
}

fn entries_of(listing: &Listing) -> Vec<Entry> {
    let mut entries: Vec<Entry> = listing.objects.iter().map(|o| Ok(o.key.clone())).collect();
    entries.extend(listing.common_prefixes.iter().cloned().map(Err));
    entries.sort_by(|a, b| {
        let text = |e: &Entry| match e {
            Ok(s) | Err(s) => s.clone(),
        };
        text(a).cmp(&text(b))
    });
    entries
}

fn marker_of(entry: &Entry) -> String {
    match entry {
        Ok(s) | Err(s) => s.clone(),
    }
}

/// One page against the model, then paging on to the end.
fn check_query(
    store: &Store,
    keys: &BTreeSet<String>,
    (prefix, delimiter, after, max): (&str, &str, &str, usize),
) {
    let full = model(keys, prefix, delimiter, after);
    let page = store
        .list_objects(BUCKET, prefix, delimiter, after, max)
        .unwrap();
    let expected: Vec<Entry> = full.iter().take(max).cloned().collect();
    assert_eq!(entries_of(&page), expected);
    assert_eq!(page.is_truncated, full.len() > max);
    let expected_marker = if page.is_truncated {
        expected.last().map(marker_of)
    } else {
        None
    };
    assert_eq!(page.next_marker, expected_marker);

    let mut pages = Vec::new();
    let mut after = after.to_owned();
    for _ in 0..=full.len() {
        let page = store
            .list_objects(BUCKET, prefix, delimiter, &after, max.max(1))
            .unwrap();
        pages.extend(entries_of(&page));
        match page.next_marker {
            Some(marker) => after = marker,
            None => return assert_eq!(pages, full),
        }
    }
    panic!("paging did not end after {} pages", full.len() + 1);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn listing_matches_the_model(
        keys in prop::collection::btree_set(text(1..6), 0..24),
        queries in prop::collection::vec((text(0..3), delimiter(), text(0..4), 0usize..5), 1..6),
    ) {
        let (_dir, store) = common::store();
        for key in &keys {
            put(&store, BUCKET, key, b"");
        }
        for (prefix, delimiter, after, max) in &queries {
            check_query(&store, &keys, (prefix, delimiter, after, *max));
        }
    }
}
