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
//! Bounded: at most [`MAX_OBJECTS`] object rows and [`MAX_BUCKETS`] bucket rows; a full map
//! evicts an arbitrary entry (hash order), which is enough to keep memory flat.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::{BucketInfo, ObjectInfo};

/// Object rows kept (a few hundred bytes each).
const MAX_OBJECTS: usize = 16 * 1024;
/// Bucket rows kept.
const MAX_BUCKETS: usize = 1024;

/// An object's row: the blob id and what a GET or HEAD reports.
#[derive(Debug)]
pub(crate) struct CachedObject {
    pub blob: String,
    pub info: ObjectInfo,
}

#[derive(Default)]
pub(crate) struct MetaCache {
    objects: Mutex<HashMap<String, Arc<CachedObject>>>,
    buckets: Mutex<HashMap<String, BucketInfo>>,
}

/// The map key of `bucket/key` (bucket names never contain `/`).
fn object_key(bucket: &str, key: &str) -> String {
    let mut k = String::with_capacity(bucket.len() + 1 + key.len());
    k.push_str(bucket);
    k.push('/');
    k.push_str(key);
    k
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Inserts with the bound kept: a full map first drops one entry.
fn bounded_insert<V>(map: &mut HashMap<String, V>, max: usize, k: String, v: V) {
    if map.len() >= max && !map.contains_key(&k) {
        if let Some(victim) = map.keys().next().cloned() {
            map.remove(&victim);
        }
    }
    map.insert(k, v);
}

impl MetaCache {
    pub fn object(&self, bucket: &str, key: &str) -> Option<Arc<CachedObject>> {
        lock(&self.objects).get(&object_key(bucket, key)).cloned()
    }

    /// Call with the database mutex held, with the row just read under it.
    pub fn fill_object(&self, blob: &str, info: &ObjectInfo) -> Arc<CachedObject> {
        let entry = Arc::new(CachedObject {
            blob: blob.to_owned(),
            info: info.clone(),
        });
        let k = object_key(&info.bucket, &info.key);
        bounded_insert(&mut lock(&self.objects), MAX_OBJECTS, k, entry.clone());
        entry
    }

    /// Call with the database mutex held, whenever the object's row changes or goes.
    pub fn forget_object(&self, bucket: &str, key: &str) {
        lock(&self.objects).remove(&object_key(bucket, key));
    }

    pub fn bucket(&self, name: &str) -> Option<BucketInfo> {
        lock(&self.buckets).get(name).cloned()
    }

    /// Call with the database mutex held, with the row just read under it.
    pub fn fill_bucket(&self, info: &BucketInfo) {
        bounded_insert(
            &mut lock(&self.buckets),
            MAX_BUCKETS,
            info.name.clone(),
            info.clone(),
        );
    }

    /// Call with the database mutex held, whenever the bucket's row changes or goes.
    pub fn forget_bucket(&self, name: &str) {
        lock(&self.buckets).remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_maps_stay_bounded() {
        let mut m = HashMap::new();
        for i in 0..100 {
            bounded_insert(&mut m, 10, i.to_string(), i);
        }
        assert_eq!(m.len(), 10);
        assert_eq!(m.get("99"), Some(&99), "the newest entry is kept");
        bounded_insert(&mut m, 10, "99".into(), 7);
        assert_eq!((m.len(), m["99"]), (10, 7), "replacing does not evict");
    }
}
