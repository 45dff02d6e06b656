//! Grant signing keys: the long-term keys `/auth/custom` signs with for grants on the embedded
//! store, one current key per grant, in `DIR/signing-keys.sqlite3` (0600).
//!
//! Seed 000's custom signer (the OSS Android/iOS SDKs' `OSSCustomSignerCredentialProvider`) sends
//! the request exactly as the SDK built it, with the returned `Authorization` and no security
//! token, so what signs it must be a long-term key. It is never the root key: each grant gets its
//! own, whose policy (rendered by the api face when it starts: the grant's object actions on
//! `<bucket>/<fixed prefix>*`, where the fixed prefix is the grant's prefix up to its first
//! `${claim}`) is all the oss face lets it do. `/auth/custom` checks each string-to-sign against
//! the caller's own prefix before signing; the key's policy bounds the damage if that check had a
//! hole. The secret is sealed (ChaCha20-Poly1305, label of its own, the key id as associated
//! data) and never leaves the server.
//!
//! `stsgate key rotate --grant NAME` makes a new current key; the old one keeps verifying for a
//! grace period (the signatures it made live at most 15 minutes, or a presigned `Expires` within
//! the grant's maximum duration), `--grace 0` ends it at once. A running server sees changes
//! within [`REFRESH`] (the keys are kept in memory, re-read at most once a second), so every
//! process sharing the data directory agrees.
//!
//! One `SigningKeys` per data directory per process (see [`SigningKeys::open`]).

use crate::datadir::{once_per_dir, random_alnum, MasterKey, Registry};
use crate::secret::Secret;
use crate::token::{derive_cipher, open_bytes, seal_bytes};
use anyhow::bail;
use chacha20poly1305::ChaCha20Poly1305;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};
use std::time::{Duration, Instant};

/// How often the in-memory copy is re-read from SQLite (at most).
pub const REFRESH: Duration = Duration::from_secs(1);
/// The derivation label of the sealing key (domain separation from tokens, tickets, access keys).
const LABEL: &[u8] = b"stsgate grant signing keys v1";
/// Retired keys are deleted this long after they stop verifying.
const KEEP_RETIRED_SECS: i64 = 86_400;

/// One grant's signing key.
#[derive(Debug)]
pub struct SigningKey {
    /// `LTAI…`, as the SDKs expect of a long-term Alibaba key.
    pub id: String,
    pub grant: String,
    /// The RAM policy the oss face holds the key to.
    pub policy: String,
    pub secret: Secret,
    /// Unix seconds.
    pub created: i64,
    /// `None`: the grant's current key; else verifying until this Unix time.
    pub retired: Option<i64>,
}

impl SigningKey {
    /// Whether a signature made with this key is still accepted at `now` (Unix seconds).
    pub fn verifies_at(&self, now: i64) -> bool {
        self.retired.is_none_or(|until| now < until)
    }
}

/// A key as listed (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub id: String,
    pub grant: String,
    pub created: i64,
    pub retired: Option<i64>,
}

#[derive(Default)]
struct Snapshot {
    by_id: HashMap<String, Arc<SigningKey>>,
    current: HashMap<String, Arc<SigningKey>>,
}

/// The grant signing keys of one data directory.
pub struct SigningKeys {
    conn: Mutex<Connection>,
    cipher: ChaCha20Poly1305,
    snapshot: RwLock<Snapshot>,
    last_refresh: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKeys")
    }
}

fn now_secs() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl SigningKeys {
    /// Opens (creating, 0600) `DIR/signing-keys.sqlite3`, or returns the instance this process
    /// already has for `data_dir` (the api and oss faces share one).
    pub fn open(data_dir: &Path, master: &MasterKey) -> anyhow::Result<Arc<SigningKeys>> {
        static OPEN: Registry<Weak<SigningKeys>> = OnceLock::new();
        once_per_dir(&OPEN, data_dir, Weak::upgrade, |canonical| {
            let keys = Arc::new(SigningKeys::open_new(canonical, master)?);
            let weak = Arc::downgrade(&keys);
            Ok((keys, weak))
        })
    }

    fn open_new(canonical: &Path, master: &MasterKey) -> anyhow::Result<SigningKeys> {
        let path = canonical.join("signing-keys.sqlite3");
        let conn = crate::datadir::open_private_sqlite(&path, Duration::from_secs(5))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS signing_keys (
                 id TEXT PRIMARY KEY,
                 grant_name TEXT NOT NULL,
                 policy TEXT NOT NULL,
                 sealed BLOB NOT NULL,
                 created INTEGER NOT NULL,
                 retired INTEGER);
             CREATE UNIQUE INDEX IF NOT EXISTS signing_keys_current
                 ON signing_keys (grant_name) WHERE retired IS NULL;",
        )?;
        let keys = SigningKeys {
            conn: Mutex::new(conn),
            cipher: derive_cipher(master, LABEL),
            snapshot: RwLock::default(),
            last_refresh: Mutex::new(None),
        };
        keys.refresh()?;
        Ok(keys)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Inserts a fresh current key for `grant` held to `policy`; returns its id (the secret is
    /// only ever stored sealed).
    fn insert_new(
        &self,
        tx: &Connection,
        grant: &str,
        policy: &str,
        now: i64,
    ) -> anyhow::Result<String> {
        let mut rng = rand::thread_rng();
        let id = format!("LTAI{}", random_alnum(&mut rng, 20));
        let secret = zeroize::Zeroizing::new(random_alnum(&mut rng, 30));
        let sealed = seal_bytes(&self.cipher, secret.as_bytes(), id.as_bytes());
        tx.execute(
            "INSERT INTO signing_keys (id, grant_name, policy, sealed, created)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, grant, policy, sealed, now],
        )?;
        Ok(id)
    }

    /// Makes sure `grant` has a current key held to `policy` (creating one, or updating the
    /// policy of the grant's keys when the grant changed); returns the current key's id.
    pub fn ensure(&self, grant: &str, policy: &str, now: i64) -> anyhow::Result<String> {
        let id = {
            let mut conn = self.lock();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "DELETE FROM signing_keys WHERE retired IS NOT NULL AND retired < ?1",
                params![now - KEEP_RETIRED_SECS],
            )?;
            let current: Option<String> = tx
                .query_row(
                    "SELECT id FROM signing_keys WHERE grant_name = ?1 AND retired IS NULL",
                    params![grant],
                    |r| r.get(0),
                )
                .optional()?;
            let id = match current {
                Some(id) => {
                    tx.execute(
                        "UPDATE signing_keys SET policy = ?2 WHERE grant_name = ?1 AND policy <> ?2",
                        params![grant, policy],
                    )?;
                    id
                }
                None => self.insert_new(&tx, grant, policy, now)?,
            };
            tx.commit()?;
            id
        };
        self.refresh()?;
        Ok(id)
    }

    /// Gives `grant` a new current key; the old one keeps verifying for `grace_secs` (0: it stops
    /// at once). Returns `(new id, old id)`.
    pub fn rotate(
        &self,
        grant: &str,
        grace_secs: i64,
        now: i64,
    ) -> anyhow::Result<(String, String)> {
        let ids = {
            let mut conn = self.lock();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let current: Option<(String, String)> = tx
                .query_row(
                    "SELECT id, policy FROM signing_keys WHERE grant_name = ?1 AND retired IS NULL",
                    params![grant],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((old, policy)) = current else {
                bail!("grant {grant:?} has no signing key: a server with that grant on the embedded store makes one when it starts");
            };
            tx.execute(
                "UPDATE signing_keys SET retired = ?2 WHERE id = ?1",
                params![old, now.saturating_add(grace_secs.max(0))],
            )?;
            let id = self.insert_new(&tx, grant, &policy, now)?;
            tx.commit()?;
            (id, old)
        };
        self.refresh()?;
        Ok(ids)
    }

    /// Every key, current and retired, by grant then creation (never a secret).
    pub fn list(&self) -> anyhow::Result<Vec<KeyInfo>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT id, grant_name, created, retired FROM signing_keys ORDER BY grant_name, created, id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(KeyInfo {
                id: r.get(0)?,
                grant: r.get(1)?,
                created: r.get(2)?,
                retired: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Re-reads every key from SQLite (a row whose secret does not open under this master key
    /// is left out and logged).
    pub fn refresh(&self) -> anyhow::Result<()> {
        let mut fresh = Snapshot::default();
        {
            let conn = self.lock();
            let mut stmt = conn.prepare_cached(
                "SELECT id, grant_name, policy, sealed, created, retired FROM signing_keys",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, Option<i64>>(5)?,
                ))
            })?;
            for row in rows {
                let (id, grant, policy, sealed, created, retired) = row?;
                let Some(plain) = open_bytes(&self.cipher, &sealed, id.as_bytes()) else {
                    tracing::error!("signing key {id} of grant {grant:?} does not open under this data directory's master key; ignored");
                    continue;
                };
                let Ok(secret) = String::from_utf8(plain.to_vec()) else {
                    tracing::error!("signing key {id} of grant {grant:?} is not text; ignored");
                    continue;
                };
                let key = Arc::new(SigningKey {
                    id: id.clone(),
                    grant: grant.clone(),
                    policy,
                    secret: Secret::new(secret),
                    created,
                    retired,
                });
                if retired.is_none() {
                    fresh.current.insert(grant, key.clone());
                }
                fresh.by_id.insert(id, key);
            }
        }
        *self.snapshot.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        Ok(())
    }

    /// Refreshes the in-memory copy if it is [`REFRESH`] old (one asker reads SQLite; a failed
    /// read keeps the last copy and is logged).
    fn refresh_if_stale(&self) {
        {
            let mut last = self.last_refresh.lock().unwrap_or_else(|e| e.into_inner());
            if last.is_some_and(|t| t.elapsed() < REFRESH) {
                return;
            }
            *last = Some(Instant::now());
        }
        if let Err(e) = self.refresh() {
            tracing::error!("reading signing-keys.sqlite3 failed, using the last copy: {e:#}");
        }
    }

    /// The grant's current key.
    pub fn current(&self, grant: &str) -> Option<Arc<SigningKey>> {
        self.refresh_if_stale();
        let snap = self.snapshot.read().unwrap_or_else(|e| e.into_inner());
        snap.current.get(grant).cloned()
    }

    /// The key with this id, if it verifies at `now` (Unix seconds).
    pub fn resolve(&self, id: &str, now: i64) -> Option<Arc<SigningKey>> {
        self.refresh_if_stale();
        let snap = self.snapshot.read().unwrap_or_else(|e| e.into_inner());
        snap.by_id.get(id).filter(|k| k.verifies_at(now)).cloned()
    }
}

/// [`SigningKeys::rotate`] at the current time.
pub fn rotate_now(
    keys: &SigningKeys,
    grant: &str,
    grace_secs: i64,
) -> anyhow::Result<(String, String)> {
    keys.rotate(grant, grace_secs, now_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open() -> (tempfile::TempDir, crate::datadir::DataDir, Arc<SigningKeys>) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = crate::datadir::open(&tmp.path().join("d"), &Default::default())
            .unwrap()
            .dir;
        let keys = SigningKeys::open(&dir.path, &dir.master_key).unwrap();
        (tmp, dir, keys)
    }

    #[test]
    fn ensure_keeps_one_current_key_per_grant_and_follows_the_policy() {
        let (_tmp, dir, keys) = open();
        let a = keys.ensure("user-folder", "P1", 100).unwrap();
        assert!(a.starts_with("LTAI") && a.len() == 24, "{a}");
        assert_eq!(keys.ensure("user-folder", "P2", 101).unwrap(), a);
        let b = keys.ensure("other", "Q", 101).unwrap();
        assert_ne!(a, b);
        let cur = keys.current("user-folder").unwrap();
        assert_eq!((cur.id.as_str(), cur.policy.as_str()), (a.as_str(), "P2"));
        assert_eq!(cur.secret.expose().len(), 30);
        // The secret is not stored in the clear; the file is private.
        let raw = std::fs::read(dir.path.join("signing-keys.sqlite3")).unwrap();
        let wal = std::fs::read(dir.path.join("signing-keys.sqlite3-wal")).unwrap_or_default();
        for bytes in [raw, wal] {
            let s = cur.secret.expose().as_bytes();
            assert!(!bytes.windows(s.len()).any(|w| w == s));
        }
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path.join("signing-keys.sqlite3"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
        // Debug never shows the secret.
        assert!(!format!("{cur:?}").contains(cur.secret.expose()));
    }

    #[test]
    fn rotation_keeps_the_old_key_for_the_grace_period_only() {
        let (_tmp, _dir, keys) = open();
        let old = keys.ensure("g", "P", 1_000).unwrap();
        let (new, was) = keys.rotate("g", 600, 2_000).unwrap();
        assert_eq!(was, old);
        assert_eq!(keys.current("g").unwrap().id, new);
        assert!(keys.resolve(&old, 2_599).is_some());
        assert!(keys.resolve(&old, 2_600).is_none());
        assert!(keys.resolve(&new, 1_000_000).is_some());
        let (_newer, _) = keys.rotate("g", 0, 3_000).unwrap();
        assert!(
            keys.resolve(&new, 3_000).is_none(),
            "--grace 0 ends it at once"
        );
        assert!(keys.rotate("none", 0, 3_000).is_err());
        let listed = keys.list().unwrap();
        assert_eq!(listed.len(), 3);
        assert_eq!(listed.iter().filter(|k| k.retired.is_none()).count(), 1);
        // Retired keys are dropped a day after they stop verifying.
        keys.ensure("g", "P", 2_600 + KEEP_RETIRED_SECS + 1)
            .unwrap();
        assert_eq!(keys.list().unwrap().len(), 2);
    }

    #[test]
    fn a_key_unknown_or_under_another_master_key_resolves_to_nothing() {
        let (_tmp, dir, keys) = open();
        let id = keys.ensure("g", "P", 1).unwrap();
        assert!(keys.resolve("LTAInothere", 2).is_none());
        // Another process (a fresh connection) sees the key after a refresh.
        let other = tempfile::tempdir().unwrap();
        let foreign = crate::datadir::open(&other.path().join("d"), &Default::default())
            .unwrap()
            .dir;
        for f in ["signing-keys.sqlite3", "signing-keys.sqlite3-wal"] {
            if dir.path.join(f).exists() {
                std::fs::copy(dir.path.join(f), foreign.path.join(f)).unwrap();
            }
        }
        let copied = SigningKeys::open(&foreign.path, &foreign.master_key).unwrap();
        assert_eq!(copied.list().unwrap()[0].id, id, "the row is there");
        assert!(copied.resolve(&id, 2).is_none());
        assert!(copied.current("g").is_none());
    }
}
