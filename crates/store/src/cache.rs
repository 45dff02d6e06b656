//! An in-memory cache of the metadata rows small reads need (a bucket's row, an object's row
//! and blob id), so that a GET of a hot object touches neither SQLite nor its locks.
//!
//! Architecture Invariant: entries are added and removed only while the database mutex is
//! held: a miss fills the cache from the row it read under that lock, and every statement that
//! changes a bucket or object row forgets the entry before the lock is released. So an entry is
//! never older than the last committed write, and a write is never acknowledged while the cache
//! still holds the row it replaced. A hit may name a blob that a later write has since deleted:
//! opening it fails with `NotFound` and the reader falls back to the locked path.
//!
//! Bounded: at most [`MAX_OBJECTS`] object rows and [`MAX_BUCKETS`] bucket rows, evicted by
//! `quick_cache` (CLOCK-Pro): entries read again stay, entries read once go first, so a scan of
//! many cold keys does not push out the hot ones (a map that drops an arbitrary entry thrashed:
//! a 1,000,000-object bucket served its 1,000 hot keys at half the rate of a small bucket).

use std::sync::Arc;

use quick_cache::sync::Cache;
use quick_cache::Weighter;

use crate::{BucketInfo, ObjectInfo};

/// Object rows kept when they carry no bytes (a few hundred bytes each).
const MAX_OBJECTS: usize = 16 * 1024;
/// An entry weighs one per row plus one per [`WEIGHT_UNIT`] bytes of inline data it holds, so
/// the inline bytes kept stay under `MAX_OBJECTS * WEIGHT_UNIT` (16 MiB).
const WEIGHT_UNIT: usize = 1024;
/// Bucket rows kept.
const MAX_BUCKETS: usize = 1024;

/// An object's row: the blob id and what a GET or HEAD reports.
#[derive(Debug)]
pub(crate) struct CachedObject {
    pub blob: String,
    pub info: ObjectInfo,
    /// The bytes of an inline blob, when read with the row.
    pub data: Option<Arc<[u8]>>,
}

#[derive(Clone)]
struct ByData;

impl Weighter<String, Arc<CachedObject>> for ByData {
    fn weight(&self, _key: &String, entry: &Arc<CachedObject>) -> u64 {
        1 + entry.data.as_ref().map_or(0, |d| d.len() / WEIGHT_UNIT) as u64
    }
}

pub(crate) struct MetaCache {
    objects: Cache<String, Arc<CachedObject>, ByData>,
    buckets: Cache<String, BucketInfo>,
    /// Bucket settings (`bucket/kind` → value or `None` when unset): read on every request
    /// (policy, referer, encryption), so they are kept like bucket rows.
    settings: Cache<String, Option<String>>,
}

impl Default for MetaCache {
    fn default() -> Self {
        MetaCache::with_capacity(MAX_OBJECTS, MAX_BUCKETS)
    }
}

/// The map key of `bucket/key` (bucket names never contain `/`).
fn object_key(bucket: &str, key: &str) -> String {
    let mut k = String::with_capacity(bucket.len() + 1 + key.len());
    k.push_str(bucket);
    k.push('/');
    k.push_str(key);
    k
}

impl MetaCache {
    fn with_capacity(objects: usize, buckets: usize) -> Self {
        MetaCache {
            objects: Cache::with_weighter(objects, objects as u64, ByData),
            buckets: Cache::new(buckets),
            settings: Cache::new(buckets * 4),
        }
    }

    pub fn setting(&self, bucket: &str, kind: &str) -> Option<Option<String>> {
        self.settings.get(&object_key(bucket, kind))
    }

    pub fn fill_setting(&self, bucket: &str, kind: &str, value: Option<String>) {
        self.settings.insert(object_key(bucket, kind), value);
    }

    /// Forgets every setting of `bucket`.
    pub fn forget_settings(&self, bucket: &str) {
        for kind in crate::SETTING_KINDS {
            self.settings.remove(&object_key(bucket, kind));
        }
    }

    pub fn object(&self, bucket: &str, key: &str) -> Option<Arc<CachedObject>> {
        self.objects.get(&object_key(bucket, key))
    }

    /// Call with the database mutex held, with the row just read under it.
    pub fn fill_object(
        &self,
        blob: &str,
        info: &ObjectInfo,
        data: Option<Arc<[u8]>>,
    ) -> Arc<CachedObject> {
        let entry = Arc::new(CachedObject {
            blob: blob.to_owned(),
            info: info.clone(),
            data,
        });
        self.objects
            .insert(object_key(&info.bucket, &info.key), entry.clone());
        entry
    }

    /// Call with the database mutex held, whenever the object's row changes or goes.
    pub fn forget_object(&self, bucket: &str, key: &str) {
        self.objects.remove(&object_key(bucket, key));
    }

    pub fn bucket(&self, name: &str) -> Option<BucketInfo> {
        self.buckets.get(name)
    }

    /// Call with the database mutex held, with the row just read under it.
    pub fn fill_bucket(&self, info: &BucketInfo) {
        self.buckets.insert(info.name.clone(), info.clone());
    }

    /// Call with the database mutex held, whenever the bucket's row changes or goes.
    pub fn forget_bucket(&self, name: &str) {
        self.buckets.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ObjectMeta, ObjectType};

    fn info(key: &str) -> ObjectInfo {
        ObjectInfo {
            bucket: "b".into(),
            key: key.into(),
            size: 0,
            etag: String::new(),
            last_modified: time::OffsetDateTime::UNIX_EPOCH,
            crc64: 0,
            md5: None,
            object_type: ObjectType::Normal,
            meta: ObjectMeta::default(),
        }
    }

    #[test]
    fn the_maps_stay_bounded_and_hot_rows_survive_a_cold_scan() {
        let cache = MetaCache::with_capacity(1000, 10);
        let hot: Vec<String> = (0..100).map(|i| format!("hot{i}")).collect();
        for round in 0..3 {
            for k in &hot {
                if cache.object("b", k).is_none() {
                    assert_eq!(round, 0, "{k} was evicted although read every round");
                    cache.fill_object("blob", &info(k), None);
                }
            }
            // A scan of ten times the capacity, each key read once.
            for i in 0..10_000 {
                let k = format!("cold{round}-{i}");
                if cache.object("b", &k).is_none() {
                    cache.fill_object("blob", &info(&k), None);
                }
            }
            assert!(cache.objects.len() <= 1000, "{}", cache.objects.len());
        }
        cache.forget_object("b", "hot1");
        assert!(cache.object("b", "hot1").is_none());
        assert_eq!(cache.object("b", "hot2").unwrap().info.key, "hot2");
    }
}
