//! Revoked temporary credentials: `POST /v1/revoke` writes rows to `DIR/revocations.sqlite3`
//! (0600); the oss face checks every temporary credential against an in-memory copy refreshed
//! from SQLite at most once per second, so every node sharing the data store refuses a revoked
//! credential within a second, without a database query per request.
//!
//! A row revokes either one access key id, or every credential issued to an api-face caller up to
//! the revocation time (`iat <= revoked_at`, Unix seconds: credentials minted later in the same
//! second are revoked too; the caller is not banned, later credentials work). Rows older than the
//! longest possible credential lifetime are no longer loaded.
//!
//! One `Revocations` per data directory per process (see [`Revocations::open`]): a SQLite file
//! already open in the process is never opened with another descriptor.

use anyhow::Context as _;
use rusqlite::{params, Connection};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};
use std::time::{Duration, Instant};

/// How often the in-memory set is re-read from SQLite (at most).
pub const REFRESH: Duration = Duration::from_secs(1);
/// Rows older than this (the longest role session, plus margin) revoke nothing still alive.
const HORIZON_SECS: i64 = *crate::iam::MAX_SESSION_RANGE.end() + 3600;

/// What is revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Every credential issued to this api-face caller id (`jwt:alice`) up to now.
    Caller(String),
    /// One temporary access key id (`STS.…`).
    AccessKeyId(String),
}

#[derive(Debug, Default)]
struct Snapshot {
    keys: HashSet<String>,
    /// Caller id → latest revocation time.
    callers: HashMap<String, i64>,
}

/// The revocation list of one data directory.
pub struct Revocations {
    conn: Mutex<Connection>,
    snapshot: RwLock<Snapshot>,
    last_refresh: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Revocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Revocations")
    }
}

fn registry() -> &'static Mutex<HashMap<PathBuf, Weak<Revocations>>> {
    static OPEN: OnceLock<Mutex<HashMap<PathBuf, Weak<Revocations>>>> = OnceLock::new();
    OPEN.get_or_init(Default::default)
}

fn now_secs() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl Revocations {
    /// Opens (creating, 0600) `DIR/revocations.sqlite3`, or returns the instance this process
    /// already has for `data_dir` (the oss and api faces share one).
    pub fn open(data_dir: &Path) -> anyhow::Result<Arc<Revocations>> {
        let canonical = data_dir
            .canonicalize()
            .with_context(|| format!("resolving {}", data_dir.display()))?;
        let mut open = registry().lock().unwrap_or_else(|e| e.into_inner());
        open.retain(|_, w| w.strong_count() > 0);
        if let Some(r) = open.get(&canonical).and_then(Weak::upgrade) {
            return Ok(r);
        }
        let r = Arc::new(Revocations::open_new(&canonical)?);
        open.insert(canonical, Arc::downgrade(&r));
        Ok(r)
    }

    fn open_new(dir: &Path) -> anyhow::Result<Revocations> {
        let path = dir.join("revocations.sqlite3");
        let conn = crate::datadir::open_private_sqlite(&path, Duration::from_secs(5))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS revocations (
                 id INTEGER PRIMARY KEY,
                 time INTEGER NOT NULL,
                 caller TEXT,
                 access_key_id TEXT,
                 request_id TEXT NOT NULL);
             CREATE INDEX IF NOT EXISTS revocations_time ON revocations (time);",
        )?;
        let r = Revocations {
            conn: Mutex::new(conn),
            snapshot: RwLock::default(),
            last_refresh: Mutex::new(None),
        };
        r.refresh()?;
        Ok(r)
    }

    /// Records a revocation (durably, before returning) and makes it effective in this process
    /// at once; returns its time (Unix seconds).
    pub fn revoke(&self, target: &Target, request_id: &str) -> anyhow::Result<i64> {
        let now = now_secs();
        let (caller, ak) = match target {
            Target::Caller(c) => (Some(c.as_str()), None),
            Target::AccessKeyId(k) => (None, Some(k.as_str())),
        };
        {
            let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
            conn.execute(
                "INSERT INTO revocations (time, caller, access_key_id, request_id)
                 VALUES (?1, ?2, ?3, ?4)",
                params![now, caller, ak, request_id],
            )?;
        }
        let mut snap = self.snapshot.write().unwrap_or_else(|e| e.into_inner());
        match target {
            Target::Caller(c) => {
                let t = snap.callers.entry(c.clone()).or_insert(now);
                *t = (*t).max(now);
            }
            Target::AccessKeyId(k) => {
                snap.keys.insert(k.clone());
            }
        }
        Ok(now)
    }

    /// Re-reads the live rows from SQLite.
    pub fn refresh(&self) -> anyhow::Result<()> {
        let mut fresh = Snapshot::default();
        {
            let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
            let mut stmt = conn.prepare_cached(
                "SELECT time, caller, access_key_id FROM revocations WHERE time >= ?1",
            )?;
            let rows = stmt.query_map([now_secs() - HORIZON_SECS], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                ))
            })?;
            for row in rows {
                let (time, caller, ak) = row?;
                if let Some(c) = caller {
                    let t = fresh.callers.entry(c).or_insert(time);
                    *t = (*t).max(time);
                }
                if let Some(k) = ak {
                    fresh.keys.insert(k);
                }
            }
        }
        *self.snapshot.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        Ok(())
    }

    /// Refreshes the in-memory copy if it is [`REFRESH`] old (one asker reads SQLite; a failed
    /// read keeps the last copy and is logged).
    fn refresh_if_stale(&self) {
        {
            // Only the check and the claim are under the lock: one caller a second re-reads,
            // the others go on with the current copy meanwhile instead of waiting for the read.
            let mut last = self.last_refresh.lock().unwrap_or_else(|e| e.into_inner());
            if last.is_some_and(|t| t.elapsed() < REFRESH) {
                return;
            }
            *last = Some(Instant::now());
        }
        if let Err(e) = self.refresh() {
            tracing::error!("reading revocations.sqlite3 failed, using the last copy: {e:#}");
        }
    }

    /// Whether a credential (its access key id, the caller it was issued to, its issue time) is
    /// revoked.
    pub fn is_revoked(&self, access_key_id: &str, caller: Option<&str>, iat: i64) -> bool {
        self.refresh_if_stale();
        let snap = self.snapshot.read().unwrap_or_else(|e| e.into_inner());
        snap.keys.contains(access_key_id)
            || caller
                .and_then(|c| snap.callers.get(c))
                .is_some_and(|&at| iat <= at)
    }

    /// Whether every credential issued to `caller` at `iat` is revoked (tickets minted then).
    pub fn caller_revoked(&self, caller: &str, iat: i64) -> bool {
        self.is_revoked("", Some(caller), iat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revocations_are_shared_persisted_and_scoped() {
        let tmp = tempfile::tempdir().unwrap();
        let r = Revocations::open(tmp.path()).unwrap();
        let same = Revocations::open(tmp.path()).unwrap();
        assert!(
            Arc::ptr_eq(&r, &same),
            "one instance per data dir per process"
        );
        let mode = std::fs::metadata(tmp.path().join("revocations.sqlite3"))
            .unwrap()
            .permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );

        let now = now_secs();
        assert!(!r.is_revoked("STS.a", Some("jwt:alice"), now));
        let at = r
            .revoke(&Target::Caller("jwt:alice".into()), "req-1")
            .unwrap();
        assert!(r.is_revoked("STS.a", Some("jwt:alice"), at));
        assert!(r.is_revoked("STS.a", Some("jwt:alice"), at - 100));
        assert!(
            !r.is_revoked("STS.a", Some("jwt:alice"), at + 1),
            "later ones live"
        );
        assert!(!r.is_revoked("STS.b", Some("jwt:bob"), at));
        assert!(!r.is_revoked("STS.b", None, at));
        r.revoke(&Target::AccessKeyId("STS.k".into()), "req-2")
            .unwrap();
        assert!(r.is_revoked("STS.k", None, at + 1000));
        assert!(!r.is_revoked("STS.j", None, at));

        // Another node (another connection to the same file) sees them after a refresh.
        let other = Revocations::open_new(&tmp.path().canonicalize().unwrap()).unwrap();
        assert!(other.is_revoked("STS.k", None, 0));
        assert!(other.caller_revoked("jwt:alice", at));
        r.revoke(&Target::AccessKeyId("STS.later".into()), "req-3")
            .unwrap();
        *other.last_refresh.lock().unwrap() = Some(Instant::now());
        assert!(
            !other.is_revoked("STS.later", None, 0),
            "cached for a second"
        );
        std::thread::sleep(REFRESH + Duration::from_millis(50));
        assert!(
            other.is_revoked("STS.later", None, 0),
            "seen within a second"
        );
    }
}
