//! Group commit: concurrent object writes share the `blobs/` directory fsync and the SQLite
//! commit (one WAL fsync) instead of paying for both one after another under the database lock.
//!
//! Each writer first stages, fsyncs and renames its own blob (an inline blob, see
//! `staging::INLINE_MAX`, is only bytes in memory), then calls [`Group::commit`]. The
//! first caller that finds no batch running becomes the leader: it takes every request queued so
//! far, fsyncs `blobs/` once, runs them in one transaction (each in its own savepoint, so one
//! request's error — `NoSuchBucket`, `ObjectAlreadyExists` — does not undo the others), commits,
//! deletes the blobs the batch replaced, and hands each caller its result. Callers that arrive
//! meanwhile queue up for the next batch, whose leader is one of them. There is no timer and no
//! extra thread: a lone writer commits at once; under load the batches grow by themselves.
//!
//! Durability is unchanged: no caller gets its result before its blob, the directory entry and
//! the row are all on disk.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use crate::db;
use crate::{Inner, ObjectInfo, StoreError};

/// One object write waiting for its batch.
struct Request {
    info: ObjectInfo,
    /// The installed (renamed, not yet directory-synced) blob id, or an inline blob's id.
    blob: String,
    /// An inline blob's bytes, inserted in the batch's transaction.
    data: Option<Vec<u8>>,
    forbid_overwrite: bool,
    result: Mutex<Option<Result<(), StoreError>>>,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Arc<Request>>,
    leader: bool,
}

#[derive(Default)]
pub(crate) struct Group {
    queue: Mutex<Queue>,
    done: Condvar,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Group {
    /// Points `info.bucket/info.key` at the installed blob `blob`, durably, batched with
    /// whatever other writes are waiting. On success the blob it replaced is deleted; on failure
    /// `blob` is.
    pub(crate) fn commit(
        &self,
        inner: &Inner,
        info: ObjectInfo,
        blob: String,
        data: Option<Vec<u8>>,
        forbid_overwrite: bool,
    ) -> Result<(), StoreError> {
        let request = Arc::new(Request {
            info,
            blob,
            data,
            forbid_overwrite,
            result: Mutex::new(None),
        });
        let mut queue = lock(&self.queue);
        queue.waiting.push(request.clone());
        loop {
            if let Some(result) = lock(&request.result).take() {
                return result;
            }
            if queue.leader {
                queue = self
                    .done
                    .wait(queue)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            queue.leader = true;
            let batch = std::mem::take(&mut queue.waiting);
            drop(queue);
            // A panic in the batch must not leave the queue without a leader for ever.
            let outcome =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(inner, &batch)));
            if outcome.is_err() {
                for r in &batch {
                    let mut slot = lock(&r.result);
                    if slot.is_none() {
                        *slot = Some(Err(StoreError::Io(std::io::Error::other(
                            "the commit batch failed unexpectedly",
                        ))));
                    }
                }
            }
            queue = lock(&self.queue);
            queue.leader = false;
            self.done.notify_all();
        }
    }
}

/// Commits one batch and stores every request's result.
fn run(inner: &Inner, batch: &[Arc<Request>]) {
    let fail_all = |e: &dyn Fn() -> StoreError| {
        for r in batch {
            inner.dirs.remove_blob(&r.blob);
            *lock(&r.result) = Some(Err(e()));
        }
    };
    // A batch of inline blobs only has the database to make durable.
    let files = batch.iter().any(|r| r.data.is_none());
    if let Err(e) = files.then(|| inner.dirs.sync_blobs_dir()).transpose() {
        let (kind, text) = (e.kind(), e.to_string());
        return fail_all(&|| StoreError::Io(std::io::Error::new(kind, text.clone())));
    }
    let committed = (|| -> Result<Vec<Result<Option<String>, StoreError>>, StoreError> {
        let mut conn = inner.db();
        let mut tx = conn.transaction()?;
        let mut results = Vec::with_capacity(batch.len());
        for r in batch {
            let sp = tx.savepoint()?;
            let one = (|| {
                db::require_bucket(&sp, &r.info.bucket)?;
                if r.forbid_overwrite
                    && db::find_object(&sp, &r.info.bucket, &r.info.key)?.is_some()
                {
                    return Err(StoreError::ObjectAlreadyExists);
                }
                if let Some(data) = &r.data {
                    db::insert_inline(&sp, &r.blob, data)?;
                }
                Ok(db::upsert_object(&sp, &r.info, &r.blob)?)
            })();
            match one {
                Ok(old) => {
                    sp.commit()?;
                    inner.cache.forget_object(&r.info.bucket, &r.info.key);
                    results.push(Ok(old));
                }
                Err(e) => {
                    // Dropping a savepoint rolls back to it.
                    drop(sp);
                    results.push(Err(e));
                }
            }
        }
        tx.commit()?;
        Ok(results)
    })();
    match committed {
        Err(e) => {
            // Every waiter gets the failure, of the same kind (a full disk or a locked database
            // stays one, so the faces answer 503 instead of 500).
            let text = e.to_string();
            let why = e.unavailable();
            fail_all(&|| match why {
                Some(crate::Unavailable::StorageFull) => StoreError::Io(std::io::Error::new(
                    std::io::ErrorKind::StorageFull,
                    text.clone(),
                )),
                Some(crate::Unavailable::Locked) => StoreError::Db(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                    Some(text.clone()),
                )),
                None => StoreError::Io(std::io::Error::other(text.clone())),
            })
        }
        Ok(results) => {
            for (r, result) in batch.iter().zip(results) {
                let result = match result {
                    Ok(old) => {
                        if let Some(old) = old.filter(|old| *old != r.blob) {
                            inner.dirs.retire_blob(&old);
                        }
                        Ok(())
                    }
                    Err(e) => {
                        inner.dirs.remove_blob(&r.blob);
                        Err(e)
                    }
                };
                *lock(&r.result) = Some(result);
            }
        }
    }
}
