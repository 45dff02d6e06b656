//! Lifecycle rules applied by the sweeper at chosen times.

use crate::common::{self, now, BUCKET};
use stsgate_store::{LifecycleRule, ObjectMeta, When};
use time::Duration;

fn put_at(
    store: &stsgate_store::Store,
    key: &str,
    at: time::OffsetDateTime,
    tags: &[(&str, &str)],
) {
    let meta = ObjectMeta {
        tags: tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..ObjectMeta::default()
    };
    let blob = store.stage_bytes(key.as_bytes()).unwrap();
    store
        .put_object(BUCKET, key, blob, meta, false, at)
        .unwrap();
}

fn keys(store: &stsgate_store::Store) -> Vec<String> {
    store
        .list_objects(BUCKET, "", "", "", 1000)
        .unwrap()
        .objects
        .into_iter()
        .map(|o| o.key)
        .collect()
}

#[test]
fn the_sweeper_applies_expiry_transitions_and_aborts_at_the_given_time() {
    let (_dir, store) = common::store();
    let t0 = now();
    put_at(&store, "logs/old", t0, &[]);
    put_at(&store, "logs/keep/old", t0, &[]);
    put_at(&store, "logs/new", t0 + Duration::days(20), &[]);
    put_at(&store, "tmp/tagged", t0, &[("temp", "yes")]);
    put_at(&store, "tmp/untagged", t0, &[]);
    put_at(&store, "data/cold", t0, &[]);
    let upload = store
        .initiate_multipart(BUCKET, "uploads/big", ObjectMeta::default(), t0)
        .unwrap();
    let fresh_upload = store
        .initiate_multipart(
            BUCKET,
            "uploads/fresh",
            ObjectMeta::default(),
            t0 + Duration::days(29),
        )
        .unwrap();
    let rules = vec![
        LifecycleRule {
            id: "logs".into(),
            prefix: "logs/".into(),
            enabled: true,
            not_prefix: Some("logs/keep/".into()),
            expiration: Some(When::Days(30)),
            ..LifecycleRule::default()
        },
        LifecycleRule {
            id: "tmp".into(),
            prefix: "tmp/".into(),
            enabled: true,
            tags: vec![("temp".into(), "yes".into())],
            expiration: Some(When::Days(1)),
            ..LifecycleRule::default()
        },
        LifecycleRule {
            id: "cold".into(),
            prefix: "data/".into(),
            enabled: true,
            transitions: vec![
                (When::Days(10), "IA".into()),
                (When::Days(25), "Archive".into()),
            ],
            ..LifecycleRule::default()
        },
        LifecycleRule {
            id: "uploads".into(),
            prefix: "uploads/".into(),
            enabled: true,
            abort_multipart: Some(When::Days(7)),
            ..LifecycleRule::default()
        },
        LifecycleRule {
            id: "off".into(),
            prefix: "".into(),
            enabled: false,
            expiration: Some(When::Days(1)),
            ..LifecycleRule::default()
        },
    ];
    store.set_lifecycle(BUCKET, Some(&rules)).unwrap();
    assert_eq!(store.lifecycle(BUCKET).unwrap().unwrap(), rules);

    // Day 5: only the tagged temporary file is due.
    let report = store.sweep_lifecycle(t0 + Duration::days(5)).unwrap();
    assert_eq!(
        report.expired,
        vec![(BUCKET.to_string(), "tmp/tagged".to_string())]
    );
    assert!(report.transitioned.is_empty() && report.aborted.is_empty());

    // Day 31: old logs go (not the excluded prefix, not the newer one), data moves to Archive
    // directly, the old upload is aborted and the fresh one stays.
    let report = store.sweep_lifecycle(t0 + Duration::days(31)).unwrap();
    assert_eq!(
        report.expired,
        vec![(BUCKET.to_string(), "logs/old".to_string())]
    );
    assert_eq!(
        report.transitioned,
        vec![(
            BUCKET.to_string(),
            "data/cold".to_string(),
            "Archive".to_string()
        )]
    );
    assert_eq!(
        report.aborted,
        vec![(BUCKET.to_string(), "uploads/big".to_string(), upload)]
    );
    assert_eq!(
        keys(&store),
        ["data/cold", "logs/keep/old", "logs/new", "tmp/untagged"]
    );
    assert_eq!(
        store
            .head_object(BUCKET, "data/cold")
            .unwrap()
            .meta
            .storage_class
            .as_deref(),
        Some("Archive")
    );
    let left = store
        .list_multipart_uploads(BUCKET, ("", ""), ("", ""), 100)
        .unwrap();
    assert_eq!(
        left.uploads
            .iter()
            .map(|u| u.upload_id.clone())
            .collect::<Vec<_>>(),
        [fresh_upload]
    );
    // Sweeping again changes nothing; deleting the rules stops them.
    assert_eq!(
        store.sweep_lifecycle(t0 + Duration::days(31)).unwrap(),
        Default::default()
    );
    store.set_lifecycle(BUCKET, None).unwrap();
    assert_eq!(store.lifecycle(BUCKET).unwrap(), None);
    assert_eq!(
        store.sweep_lifecycle(t0 + Duration::days(400)).unwrap(),
        Default::default()
    );
}

#[test]
fn dates_expire_everything_covered_and_created_before_only_older_objects() {
    let (_dir, store) = common::store();
    let t0 = now();
    put_at(&store, "a/old", t0, &[]);
    put_at(&store, "a/new", t0 + Duration::days(10), &[]);
    put_at(&store, "b/x", t0 + Duration::days(10), &[]);
    let cutoff = (t0 + Duration::days(5)).unix_timestamp();
    let rules = vec![
        LifecycleRule {
            id: "a".into(),
            prefix: "a/".into(),
            enabled: true,
            expiration: Some(When::CreatedBefore(cutoff)),
            ..Default::default()
        },
        LifecycleRule {
            id: "b".into(),
            prefix: "b/".into(),
            enabled: true,
            expiration: Some(When::Date((t0 + Duration::days(100)).unix_timestamp())),
            ..Default::default()
        },
    ];
    store.set_lifecycle(BUCKET, Some(&rules)).unwrap();
    store.sweep_lifecycle(t0 + Duration::days(50)).unwrap();
    assert_eq!(keys(&store), ["a/new", "b/x"]);
    store.sweep_lifecycle(t0 + Duration::days(100)).unwrap();
    assert_eq!(keys(&store), ["a/new"]);
}
