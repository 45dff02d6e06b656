//! The object store: buckets, objects and multipart uploads over a local data directory.
//!
//! Layout under the store root (`DIR/store` when used by the server):
//! - `meta.sqlite3` — buckets, objects, multipart uploads and parts (WAL mode).
//! - `blobs/` — object and part bytes, one file per blob, named by a random 32-hex id.
//!   Object keys never become file names.
//! - `tmp/` — staging files being written; swept at [`Store::open`].
//!
//! Every write is: stream into a staging file (hashing MD5 and CRC-64/XZ on the way) → fsync →
//! rename into `blobs/` → fsync the directory → one SQLite transaction that points the key at the
//! new blob → delete the blob it replaced. A crash at any point leaves the old object or the new
//! one. Blobs no row refers to are deleted at [`Store::open`].
//!
//! The API is synchronous (rusqlite, std::fs); async callers wrap calls in `spawn_blocking` or
//! `block_in_place`. [`Store`] is cheap to clone and safe to share between threads.

mod append;
mod buckets;
mod cache;
mod db;
mod error;
mod group;
mod lifecycle;
mod listing;
mod md5fast;
mod multipart;
mod objects;
mod recovery;
mod sse;
mod staging;
mod types;

pub use append::{crc64_combine, MAX_APPENDABLE};
pub use error::{StoreError, Unavailable};
pub use lifecycle::{check_rules, LifecycleRule, SweepReport, When, MAX_RULES};

/// The kinds of bucket settings ([`Store::bucket_setting`]).
pub const SETTING_KINDS: [&str; 4] = [
    lifecycle::KIND,
    SSE_SETTING,
    POLICY_SETTING,
    REFERER_SETTING,
];

/// The bucket setting of default server-side encryption (its value: the algorithm, `AES256`).
pub const SSE_SETTING: &str = "encryption";
/// The bucket setting of the bucket policy (its value: the policy JSON, in OSS's grammar).
pub const POLICY_SETTING: &str = "policy";
/// The bucket setting of the referer list (its value: the oss face's JSON of it).
pub const REFERER_SETTING: &str = "referer";
pub use objects::BlobReader;
pub use sse::AES256;
pub use staging::{FinishedBlob, Staging, INLINE_MAX};
pub use types::*;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rusqlite::Connection;
use time::OffsetDateTime;

use staging::Dirs;

/// A handle on the store (clone freely).
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

/// What every clone of a [`Store`] shares.
///
/// Architecture Invariant: the database mutex is held only around metadata statements and
/// cheap file-system calls (open, hard link); never around writing, copying or fsyncing bytes.
struct Inner {
    dirs: Dirs,
    db: Mutex<Connection>,
    /// Hot bucket and object rows; changed only under `db` (see `cache.rs`).
    cache: cache::MetaCache,
    /// Batches concurrent object writes into one directory fsync and one commit (`group.rs`).
    group: group::Group,
    /// The key sealed objects' keys derive from (`sse.rs`); set once by the server.
    sse_key: std::sync::OnceLock<sse::StoreKey>,
}

/// A handle that does not keep the store open: [`WeakStore::upgrade`] gives the [`Store`] while
/// some clone of it lives (one open store per directory per process, shared by the faces).
#[derive(Clone)]
pub struct WeakStore {
    inner: std::sync::Weak<Inner>,
}

impl WeakStore {
    pub fn upgrade(&self) -> Option<Store> {
        self.inner.upgrade().map(|inner| Store { inner })
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("blobs", &self.inner.dirs.blobs)
            .finish_non_exhaustive()
    }
}

impl Inner {
    /// The connection; a panic elsewhere while holding it cannot leave a half-done transaction
    /// (rusqlite rolls back on drop), so a poisoned lock is still usable.
    fn db(&self) -> MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The store key of server-side encryption, or the error a sealed object meets without it.
    fn sse_key(&self) -> Result<&[u8; 32], StoreError> {
        self.sse_key.get().map(|k| &**k).ok_or_else(|| {
            StoreError::Io(std::io::Error::other(
                "server-side encryption needs the store key, which this process has not set",
            ))
        })
    }
}

impl Store {
    /// Opens (creating if needed, dirs mode 0700, db file 0600) the store at `root`, runs
    /// migrations, and sweeps: every file in `tmp/`, and every blob no object or live part refers to.
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        let dirs = Dirs::create(root)?;
        let conn = db::open(&root.join("meta.sqlite3"))?;
        recovery::sweep(&conn, &dirs)?;
        Ok(Store {
            inner: Arc::new(Inner {
                dirs,
                db: Mutex::new(conn),
                cache: Default::default(),
                group: Default::default(),
                sse_key: Default::default(),
            }),
        })
    }

    /// A handle that does not keep the store open.
    pub fn downgrade(&self) -> WeakStore {
        WeakStore {
            inner: Arc::downgrade(&self.inner),
        }
    }

    // ---- buckets ----

    /// Creates a bucket. `BucketAlreadyExists` if the name is taken. Name validity is the caller's job
    /// (see [`valid_bucket_name`]).
    pub fn create_bucket(
        &self,
        name: &str,
        acl: Acl,
        storage_class: &str,
        now: OffsetDateTime,
    ) -> Result<BucketInfo, StoreError> {
        buckets::create(&self.inner, name, acl, storage_class, now)
    }
    pub fn get_bucket(&self, name: &str) -> Result<BucketInfo, StoreError> {
        buckets::get(&self.inner, name)
    }
    /// Buckets whose names start with `prefix` and sort strictly after `marker`, in name order,
    /// at most `max` of them; the bool is "truncated".
    pub fn list_buckets(
        &self,
        prefix: &str,
        marker: &str,
        max: usize,
    ) -> Result<(Vec<BucketInfo>, bool), StoreError> {
        buckets::list(&self.inner, prefix, marker, max)
    }
    /// `NoSuchBucket`; `BucketNotEmpty` if it holds objects or in-progress multipart uploads.
    /// Sets the key server-side encryption derives object keys from (32 bytes, e.g. derived from
    /// the data directory's master key); the first call wins.
    pub fn set_sse_key(&self, key: [u8; 32]) {
        let _ = self.inner.sse_key.set(zeroize::Zeroizing::new(key));
    }

    /// A bucket setting of one of [`SETTING_KINDS`] (each dialect's document in a neutral
    /// text form); `None` when unset. `NoSuchBucket`.
    pub fn bucket_setting(&self, name: &str, kind: &str) -> Result<Option<String>, StoreError> {
        buckets::setting(&self.inner, name, kind)
    }

    /// Sets (`Some`) or deletes (`None`) a bucket setting. `NoSuchBucket`.
    pub fn set_bucket_setting(
        &self,
        name: &str,
        kind: &str,
        value: Option<&str>,
    ) -> Result<(), StoreError> {
        buckets::set_setting(&self.inner, name, kind, value)
    }

    /// The bucket's lifecycle rules (`None` when it has none). `NoSuchBucket`.
    pub fn lifecycle(&self, name: &str) -> Result<Option<Vec<LifecycleRule>>, StoreError> {
        self.bucket_setting(name, lifecycle::KIND)?
            .map(|t| lifecycle::from_text(&t))
            .transpose()
    }

    /// Replaces (`Some`) or deletes (`None`) the bucket's lifecycle rules. `NoSuchBucket`.
    pub fn set_lifecycle(
        &self,
        name: &str,
        rules: Option<&[LifecycleRule]>,
    ) -> Result<(), StoreError> {
        let text = rules.map(lifecycle::to_text);
        self.set_bucket_setting(name, lifecycle::KIND, text.as_deref())
    }

    /// Applies every bucket's enabled lifecycle rules as of `now`: expires objects, records
    /// transitions, aborts uploads. Never touches an object written after it was judged.
    pub fn sweep_lifecycle(&self, now: OffsetDateTime) -> Result<SweepReport, StoreError> {
        lifecycle::sweep(self, now)
    }

    /// Sizes and counts of what a bucket holds, by storage class. `NoSuchBucket`.
    pub fn bucket_stat(&self, name: &str) -> Result<BucketStat, StoreError> {
        buckets::stat(&self.inner, name)
    }

    pub fn delete_bucket(&self, name: &str) -> Result<(), StoreError> {
        buckets::delete(&self.inner, name)
    }
    pub fn set_bucket_acl(&self, name: &str, acl: Acl) -> Result<(), StoreError> {
        buckets::set_acl(&self.inner, name, acl)
    }
    /// Stores the bucket's CORS rules (replacing all), or removes them with `None`.
    pub fn set_bucket_cors(&self, name: &str, cors: Option<&CorsConfig>) -> Result<(), StoreError> {
        buckets::set_cors(&self.inner, name, cors)
    }
    /// `Ok(None)` when the bucket has no CORS configuration.
    pub fn get_bucket_cors(&self, name: &str) -> Result<Option<CorsConfig>, StoreError> {
        buckets::get_cors(&self.inner, name)
    }

    // ---- objects ----

    /// A new staging file in `tmp/`.
    pub fn staging(&self) -> Result<Staging, StoreError> {
        Staging::create(&self.inner.dirs.tmp)
    }

    /// A finished (fsynced) blob of `bytes`, for a small body received whole: one write, one
    /// fsync, no write buffer.
    pub fn stage_bytes(&self, bytes: &[u8]) -> Result<FinishedBlob, StoreError> {
        if bytes.len() <= staging::INLINE_MAX {
            return Ok(FinishedBlob::inline(bytes));
        }
        let mut staging = Staging::create_sized(&self.inner.dirs.tmp, bytes.len())?;
        staging.write(bytes)?;
        staging.finish()
    }

    /// Makes `blob` the content of `bucket/key` (one transaction), replacing any old version.
    /// `forbid_overwrite` → `ObjectAlreadyExists` when the key exists. The ETag is
    /// `"` + uppercase hex MD5 + `"`. `NoSuchBucket` if the bucket is gone.
    pub fn put_object(
        &self,
        bucket: &str,
        key: &str,
        blob: FinishedBlob,
        meta: ObjectMeta,
        forbid_overwrite: bool,
        now: OffsetDateTime,
    ) -> Result<ObjectInfo, StoreError> {
        objects::put(&self.inner, bucket, key, blob, meta, forbid_overwrite, now)
    }

    /// AppendObject: appends `blob` to `bucket/key` at `position`, creating it (position 0,
    /// with `meta`) when missing. `ObjectNotAppendable`, `PositionNotEqualToLength(length)`,
    /// `AppendTooLarge`, `NoSuchBucket`. The returned info has the whole object's CRC-64.
    pub fn append_object(
        &self,
        bucket: &str,
        key: &str,
        position: u64,
        blob: FinishedBlob,
        meta: ObjectMeta,
        now: OffsetDateTime,
    ) -> Result<ObjectInfo, StoreError> {
        append::append(&self.inner, (bucket, key), position, blob, meta, now)
    }

    /// PutSymlink: makes `bucket/key` a link to `target` in the same bucket (the target need not
    /// exist), with `meta`. `forbid_overwrite` → `ObjectAlreadyExists`. `NoSuchBucket`.
    pub fn put_symlink(
        &self,
        bucket: &str,
        key: &str,
        target: &str,
        meta: ObjectMeta,
        forbid_overwrite: bool,
        now: OffsetDateTime,
    ) -> Result<ObjectInfo, StoreError> {
        objects::put_symlink(
            &self.inner,
            (bucket, key),
            target,
            meta,
            forbid_overwrite,
            now,
        )
    }

    /// Metadata of an object: `NoSuchBucket`, `NoSuchKey`.
    pub fn head_object(&self, bucket: &str, key: &str) -> Result<ObjectInfo, StoreError> {
        objects::head(&self.inner, bucket, key)
    }

    /// Metadata plus an open read handle positioned at 0. The handle stays valid even if the key is
    /// overwritten or deleted meanwhile (unix unlink semantics).
    pub fn open_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<(ObjectInfo, BlobReader), StoreError> {
        objects::open(&self.inner, bucket, key)
    }

    /// [`Store::head_object`] for a hot object, with no database call; `None` when not cached.
    pub fn head_cached_object(&self, bucket: &str, key: &str) -> Option<ObjectInfo> {
        self.inner
            .cache
            .object(bucket, key)
            .map(|hit| hit.info.clone())
    }

    /// [`Store::open_object`] for a hot object: its cached row and blob, with no database call
    /// (so cheap enough for an async thread); `None` when the slow path must decide.
    pub fn open_cached_object(&self, bucket: &str, key: &str) -> Option<(ObjectInfo, BlobReader)> {
        objects::open_cached(&self.inner, bucket, key)
    }

    /// Deletes the key; `Ok(false)` if it did not exist (idempotent). `NoSuchBucket` if no bucket.
    pub fn delete_object(&self, bucket: &str, key: &str) -> Result<bool, StoreError> {
        objects::delete(&self.inner, bucket, key)
    }

    /// Sets the object's canned ACL without touching its bytes, other metadata or Last-Modified
    /// (one transaction). `NoSuchBucket`, `NoSuchKey`.
    pub fn set_object_acl(&self, bucket: &str, key: &str, acl: Acl) -> Result<(), StoreError> {
        objects::update_meta(&self.inner, bucket, key, |m| m.acl = Some(acl)).map(|_| ())
    }

    /// Changes an object's metadata (ACL, tags) in place, without touching its bytes or
    /// Last-Modified (one transaction); returns the updated info. `NoSuchBucket`, `NoSuchKey`.
    pub fn update_object_meta(
        &self,
        bucket: &str,
        key: &str,
        change: impl FnOnce(&mut ObjectMeta),
    ) -> Result<ObjectInfo, StoreError> {
        objects::update_meta(&self.inner, bucket, key, change)
    }

    /// Copies src to dst (possibly the same key, possibly across buckets). `meta: None` keeps the
    /// source metadata (COPY), `Some` replaces it (REPLACE). The copy shares no file with the
    /// source (hard link or byte copy into a new blob). Returns the new object's info.
    #[allow(clippy::too_many_arguments)]
    pub fn copy_object(
        &self,
        src_bucket: &str,
        src_key: &str,
        dst_bucket: &str,
        dst_key: &str,
        meta: Option<ObjectMeta>,
        forbid_overwrite: bool,
        now: OffsetDateTime,
    ) -> Result<ObjectInfo, StoreError> {
        objects::copy(
            &self.inner,
            (src_bucket, src_key),
            (dst_bucket, dst_key),
            meta,
            forbid_overwrite,
            now,
        )
    }

    /// Lists keys in byte order. `prefix` filters; `after` is exclusive (marker / start-after /
    /// decoded continuation token); with a non-empty `delimiter`, keys with the delimiter after the
    /// prefix roll up into common prefixes (each counts toward `max_keys`, and a common prefix
    /// ≤ `after` is skipped). `max_keys` 0 returns nothing but `is_truncated` tells whether
    /// anything matches. Must scale to large buckets (SQL range scans, not loading every key).
    pub fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: &str,
        after: &str,
        max_keys: usize,
    ) -> Result<Listing, StoreError> {
        listing::list(&self.inner, bucket, prefix, delimiter, after, max_keys)
    }

    // ---- multipart ----

    /// Starts an upload; returns a 32-char uppercase hex upload id. `NoSuchBucket`.
    pub fn initiate_multipart(
        &self,
        bucket: &str,
        key: &str,
        meta: ObjectMeta,
        now: OffsetDateTime,
    ) -> Result<String, StoreError> {
        multipart::initiate(&self.inner, bucket, key, &meta, now)
    }
    /// Stores (or replaces) part `part_number` (1..=10000). `NoSuchUpload` if the id does not
    /// belong to bucket/key.
    pub fn upload_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: u32,
        blob: FinishedBlob,
        now: OffsetDateTime,
    ) -> Result<PartInfo, StoreError> {
        multipart::upload_part(
            &self.inner,
            (bucket, key, upload_id),
            part_number,
            blob,
            now,
        )
    }
    /// UploadPartCopy: `len` bytes of `src` (bucket, key) from `start` become part
    /// `part_number` of the upload. The source is read as the caller checked it: if its ETag is
    /// no longer `src_etag` or it is now shorter, nothing is copied (`NoSuchKey`) rather than a
    /// mix of two versions. A sealed source is read decrypted.
    #[allow(clippy::too_many_arguments)]
    pub fn upload_part_copy(
        &self,
        src: (&str, &str),
        src_etag: &str,
        start: u64,
        len: u64,
        (bucket, key, upload_id): (&str, &str, &str),
        part_number: u32,
        now: OffsetDateTime,
    ) -> Result<PartInfo, StoreError> {
        use std::io::{Read, Seek, SeekFrom};
        let (info, mut reader) = self.open_object(src.0, src.1)?;
        if info.etag != src_etag || start + len > info.size {
            return Err(StoreError::NoSuchKey);
        }
        reader.seek(SeekFrom::Start(start))?;
        let mut staging = self.staging()?;
        let mut limited = reader.take(len);
        let mut buf = vec![0u8; 1024 * 1024];
        loop {
            let n = limited.read(&mut buf)?;
            if n == 0 {
                break;
            }
            staging.write(&buf[..n])?;
        }
        let blob = staging.finish()?;
        self.upload_part(bucket, key, upload_id, part_number, blob, now)
    }
    /// Completes the upload with the listed parts. Checks: part numbers strictly ascending
    /// (`InvalidPartOrder`), each part exists with the given ETag (quotes optional, case-insensitive)
    /// (`InvalidPart`), every part but the last ≥ `min_part_size` bytes (`EntityTooSmall`), at
    /// least one part (`InvalidPart`). The object's bytes are the parts concatenated into one new
    /// blob (staged, fsynced, renamed), then one transaction swaps the key to it and deletes the
    /// upload. ETag = `"` + uppercase hex MD5(concat of part MD5s) + `-` + count + `"`; CRC64 is of
    /// the whole object; object type `Multipart`. A crash leaves the upload intact or the object
    /// complete.
    pub fn complete_multipart(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
        min_part_size: u64,
        now: OffsetDateTime,
    ) -> Result<ObjectInfo, StoreError> {
        multipart::complete(
            &self.inner,
            (bucket, key, upload_id),
            parts,
            min_part_size,
            now,
        )
    }
    /// Deletes the upload and its parts. `NoSuchUpload`.
    pub fn abort_multipart(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<(), StoreError> {
        multipart::abort(&self.inner, bucket, key, upload_id)
    }
    /// Parts with number > `marker`, ascending, at most `max`; bool = truncated.
    pub fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        marker: u32,
        max: usize,
    ) -> Result<(Vec<PartInfo>, bool), StoreError> {
        multipart::list_parts(&self.inner, (bucket, key, upload_id), marker, max)
    }
    /// In-progress uploads in (key, upload id) order after the (key_marker, upload_id_marker) pair,
    /// filtered by `prefix`, at most `max` entries; with a non-empty `delimiter`, keys holding it
    /// after the prefix roll up into common prefixes (each one entry).
    pub fn list_multipart_uploads(
        &self,
        bucket: &str,
        (prefix, delimiter): (&str, &str),
        (key_marker, upload_id_marker): (&str, &str),
        max: usize,
    ) -> Result<UploadListing, StoreError> {
        multipart::list_uploads(
            &self.inner,
            bucket,
            (prefix, delimiter),
            (key_marker, upload_id_marker),
            max,
        )
    }
    /// The metadata given at initiation. `NoSuchUpload`.
    pub fn upload_meta(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<ObjectMeta, StoreError> {
        multipart::upload_meta(&self.inner, bucket, key, upload_id)
    }
}

/// OSS bucket name rule: 3–63 chars of `[a-z0-9-]`, starting and ending with a letter or digit.
pub fn valid_bucket_name(name: &str) -> bool {
    buckets::valid_bucket_name(name)
}

/// OSS object key rule: 1–1023 bytes of UTF-8 (already guaranteed by `&str`), not starting with `/` or `\`.
pub fn valid_object_key(key: &str) -> bool {
    buckets::valid_object_key(key)
}
