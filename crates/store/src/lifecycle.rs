//! Lifecycle rules and the sweeper that applies them. The rules are the vendor-neutral form of
//! OSS's `<LifecycleConfiguration>` (each dialect parses and renders its own XML); the sweeper
//! runs with the clock as a parameter, so tests apply the rules at a chosen time.
//!
//! Architecture Invariant: the sweeper never removes or changes a newer object than the rule
//! covers: each expiry is a compare-and-delete on the row it judged (same blob, same
//! Last-Modified), so an object written after the scan stays.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::db;
use crate::{Inner, ObjectInfo, StoreError};

/// The setting kind lifecycle rules are stored under.
pub const KIND: &str = "lifecycle";

const DAY: i64 = 86_400;

/// When an action applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum When {
    /// This many days after the object's Last-Modified (an upload's initiation).
    Days(u32),
    /// To objects (uploads) last modified (initiated) before this time (Unix seconds).
    CreatedBefore(i64),
    /// To every object the rule covers, once this time (Unix seconds) has passed.
    Date(i64),
}

impl When {
    /// Whether an object last modified at `modified` is due at `now`.
    fn due(self, modified: OffsetDateTime, now: OffsetDateTime) -> bool {
        match self {
            When::Days(days) => {
                modified.unix_timestamp() + i64::from(days) * DAY <= now.unix_timestamp()
            }
            When::CreatedBefore(t) => modified.unix_timestamp() < t,
            When::Date(t) => now.unix_timestamp() >= t,
        }
    }
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LifecycleRule {
    pub id: String,
    pub prefix: String,
    pub enabled: bool,
    /// Objects must carry every one of these tags.
    pub tags: Vec<(String, String)>,
    /// Keys under this prefix are left alone (`<Filter><Not><Prefix>`).
    pub not_prefix: Option<String>,
    /// Objects carrying this tag are left alone (`<Filter><Not><Tag>`).
    pub not_tag: Option<(String, String)>,
    pub size_greater_than: Option<u64>,
    pub size_less_than: Option<u64>,
    pub expiration: Option<When>,
    /// (when, storage class), in the order given.
    pub transitions: Vec<(When, String)>,
    pub abort_multipart: Option<When>,
}

impl LifecycleRule {
    /// Whether the rule's filter covers `info` (prefix, exclusions, tags, size).
    fn covers(&self, info: &ObjectInfo) -> bool {
        info.key.starts_with(&self.prefix)
            && !self
                .not_prefix
                .as_ref()
                .is_some_and(|p| info.key.starts_with(p.as_str()))
            && !self
                .not_tag
                .as_ref()
                .is_some_and(|t| info.meta.tags.contains(t))
            && self.tags.iter().all(|t| info.meta.tags.contains(t))
            && self.size_greater_than.is_none_or(|n| info.size > n)
            && self.size_less_than.is_none_or(|n| info.size < n)
    }
}

/// The most rules one bucket may hold (OSS and COS: 1000).
pub const MAX_RULES: usize = 1000;

/// Checks a parsed rule list as both clouds do: at least one rule (`Err(None)`: the document is
/// malformed), at most [`MAX_RULES`], no ID twice (`Err(Some(message))`: an invalid argument).
pub fn check_rules(rules: &[LifecycleRule]) -> Result<(), Option<String>> {
    if rules.is_empty() {
        return Err(None);
    }
    if rules.len() > MAX_RULES {
        return Err(Some(format!(
            "A bucket has at most {MAX_RULES} lifecycle rules."
        )));
    }
    let mut ids = std::collections::HashSet::new();
    match rules.iter().find(|r| !ids.insert(r.id.as_str())) {
        Some(dup) => Err(Some(format!("The rule ID {:?} is used twice.", dup.id))),
        None => Ok(()),
    }
}

/// The storage classes from warm to cold: a transition only ever goes colder.
const CLASS_ORDER: [&str; 5] = [
    "Standard",
    "IA",
    "Archive",
    "ColdArchive",
    "DeepColdArchive",
];

fn coldness(class: &str) -> usize {
    CLASS_ORDER.iter().position(|c| *c == class).unwrap_or(0)
}

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// (bucket, key) of the objects deleted.
    pub expired: Vec<(String, String)>,
    /// (bucket, key, new class) of the objects moved.
    pub transitioned: Vec<(String, String, String)>,
    /// (bucket, key, upload id) of the uploads aborted.
    pub aborted: Vec<(String, String, String)>,
}

/// Rows scanned per query.
const PAGE: usize = 1000;

/// Applies every bucket's enabled rules at `now`.
pub(crate) fn sweep(store: &crate::Store, now: OffsetDateTime) -> Result<SweepReport, StoreError> {
    let mut report = SweepReport::default();
    for (bucket, text) in crate::buckets::with_setting(&store.inner, KIND)? {
        let rules: Vec<LifecycleRule> = match serde_json::from_str(&text) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(bucket, error = %e, "unreadable lifecycle rules skipped");
                continue;
            }
        };
        for rule in rules.iter().filter(|r| r.enabled) {
            sweep_rule(store, &bucket, rule, now, &mut report)?;
        }
    }
    if !report.expired.is_empty() || !report.aborted.is_empty() || !report.transitioned.is_empty() {
        tracing::info!(
            expired = report.expired.len(),
            transitioned = report.transitioned.len(),
            aborted = report.aborted.len(),
            "lifecycle sweep"
        );
    }
    Ok(report)
}

fn sweep_rule(
    store: &crate::Store,
    bucket: &str,
    rule: &LifecycleRule,
    now: OffsetDateTime,
    report: &mut SweepReport,
) -> Result<(), StoreError> {
    if rule.expiration.is_some() || !rule.transitions.is_empty() {
        let mut after = String::new();
        loop {
            let page = store.list_objects(bucket, &rule.prefix, "", &after, PAGE)?;
            for info in &page.objects {
                if !rule.covers(info) {
                    continue;
                }
                if rule
                    .expiration
                    .is_some_and(|w| w.due(info.last_modified, now))
                {
                    if expire(&store.inner, info)? {
                        report.expired.push((bucket.to_string(), info.key.clone()));
                    }
                    continue;
                }
                let current = info.meta.storage_class.as_deref().unwrap_or("Standard");
                let target = rule
                    .transitions
                    .iter()
                    .filter(|(w, _)| w.due(info.last_modified, now))
                    .map(|(_, c)| c.as_str())
                    .max_by_key(|c| coldness(c));
                if let Some(class) = target.filter(|c| coldness(c) > coldness(current)) {
                    if transition(&store.inner, info, class)? {
                        report.transitioned.push((
                            bucket.to_string(),
                            info.key.clone(),
                            class.to_string(),
                        ));
                    }
                }
            }
            match (page.is_truncated, page.objects.last()) {
                (true, Some(last)) => after = last.key.clone(),
                _ => break,
            }
        }
    }
    if let Some(when) = rule.abort_multipart {
        let (mut key_marker, mut id_marker) = (String::new(), String::new());
        loop {
            let page = store.list_multipart_uploads(
                bucket,
                (&rule.prefix, ""),
                (&key_marker, &id_marker),
                PAGE,
            )?;
            for upload in &page.uploads {
                let excluded = rule
                    .not_prefix
                    .as_ref()
                    .is_some_and(|p| upload.key.starts_with(p.as_str()));
                if !excluded && when.due(upload.initiated, now) {
                    match store.abort_multipart(bucket, &upload.key, &upload.upload_id) {
                        Ok(()) => report.aborted.push((
                            bucket.to_string(),
                            upload.key.clone(),
                            upload.upload_id.clone(),
                        )),
                        // Completed or aborted meanwhile.
                        Err(StoreError::NoSuchUpload) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            if !page.truncated {
                break;
            }
            key_marker = page.next_key_marker;
            id_marker = page.next_upload_id_marker;
        }
    }
    Ok(())
}

/// Deletes `info`'s object if its row is still the one judged (same ETag and Last-Modified).
fn expire(inner: &Inner, info: &ObjectInfo) -> Result<bool, StoreError> {
    let old = {
        let mut conn = inner.db();
        let tx = conn.transaction()?;
        let Some((blob, current)) = db::find_object(&tx, &info.bucket, &info.key)? else {
            return Ok(false);
        };
        if current.etag != info.etag || current.last_modified != info.last_modified {
            return Ok(false);
        }
        tx.execute(
            "DELETE FROM objects WHERE bucket = ?1 AND key = ?2 AND blob = ?3",
            (&info.bucket, info.key.as_bytes(), &blob),
        )?;
        db::delete_inline(&tx, &blob)?;
        inner.cache.forget_object(&info.bucket, &info.key);
        tx.commit()?;
        blob
    };
    inner.dirs.retire_blob(&old);
    Ok(true)
}

/// Records `class` as the storage class of `info`'s object if its row is still the one judged.
fn transition(inner: &Inner, info: &ObjectInfo, class: &str) -> Result<bool, StoreError> {
    let mut conn = inner.db();
    let tx = conn.transaction()?;
    let Some((blob, mut current)) = db::find_object(&tx, &info.bucket, &info.key)? else {
        return Ok(false);
    };
    if current.etag != info.etag || current.last_modified != info.last_modified {
        return Ok(false);
    }
    current.meta.storage_class = Some(class.to_string());
    db::upsert_object(&tx, &current, &blob)?;
    inner.cache.forget_object(&info.bucket, &info.key);
    tx.commit()?;
    Ok(true)
}

/// The rules as stored.
pub(crate) fn to_text(rules: &[LifecycleRule]) -> String {
    serde_json::to_string(rules).unwrap_or_else(|_| "[]".into())
}

pub(crate) fn from_text(text: &str) -> Result<Vec<LifecycleRule>, StoreError> {
    serde_json::from_str(text).map_err(|e| {
        StoreError::Io(std::io::Error::other(format!(
            "stored lifecycle rules: {e}"
        )))
    })
}
