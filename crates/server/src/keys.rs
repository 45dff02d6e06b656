//! Extra long-term access keys (`stsgate key create|list|delete`), callers of the sts face's
//! `AssumeRole` once a role trusts them (`stsgate role trust --key <AK>`).
//!
//! The sts face must verify HMAC signatures made with the secret, so the secret is kept — sealed
//! (ChaCha20-Poly1305, the access key id as associated data) under a key derived from the master
//! key with its own label — in the table `access_keys` of `DIR/iam.sqlite3`. It is shown once, at
//! creation.

use crate::datadir::{random_alnum, MasterKey};
use crate::token::{derive_cipher, open_bytes, seal_bytes};
use anyhow::{bail, Context as _};
use chacha20poly1305::ChaCha20Poly1305;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;
use zeroize::Zeroizing;

/// The derivation label of the sealing key (domain separation from tokens and tickets).
const LABEL: &[u8] = b"stsgate access-key secrets v1";

/// One stored key, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub id: String,
    pub name: String,
    /// Unix seconds.
    pub created: i64,
}

/// The table of extra access keys.
pub struct AccessKeys {
    conn: Mutex<Connection>,
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for AccessKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessKeys")
    }
}

/// Whether `name` is 1-64 of `[A-Za-z0-9._@-]`.
pub fn valid_key_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._@-".contains(c))
}

impl AccessKeys {
    /// Opens the table in `DIR/iam.sqlite3` (which [`crate::iam::Iam::open`] creates 0600; open
    /// that first), creating the table if absent.
    pub fn open(data_dir: &Path, master: &MasterKey) -> anyhow::Result<AccessKeys> {
        let path = data_dir.join("iam.sqlite3");
        let conn =
            Connection::open(&path).with_context(|| format!("opening {}", path.display()))?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS access_keys (
                 id TEXT PRIMARY KEY,
                 name TEXT NOT NULL UNIQUE COLLATE NOCASE,
                 sealed BLOB NOT NULL,
                 created INTEGER NOT NULL);",
        )?;
        Ok(AccessKeys {
            conn: Mutex::new(conn),
            cipher: derive_cipher(master, LABEL),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates a key named `name`; returns its id and secret (the only time the secret is shown).
    pub fn create(&self, name: &str, now: i64) -> anyhow::Result<(String, Zeroizing<String>)> {
        if !valid_key_name(name) {
            bail!("key name {name:?} must be 1-64 of [A-Za-z0-9._@-]");
        }
        let mut rng = rand::thread_rng();
        let id = format!("LTAI{}", random_alnum(&mut rng, 20));
        let secret = Zeroizing::new(random_alnum(&mut rng, 30));
        let sealed = seal_bytes(&self.cipher, secret.as_bytes(), id.as_bytes());
        let conn = self.lock();
        let taken: Option<String> = conn
            .query_row(
                "SELECT id FROM access_keys WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = taken {
            bail!(
                "a key named {name:?} exists already ({id}); delete it first or pick another name"
            );
        }
        conn.execute(
            "INSERT INTO access_keys (id, name, sealed, created) VALUES (?1, ?2, ?3, ?4)",
            params![id, name, sealed, now],
        )?;
        Ok((id, secret))
    }

    pub fn list(&self) -> anyhow::Result<Vec<KeyInfo>> {
        let conn = self.lock();
        let mut stmt = conn.prepare("SELECT id, name, created FROM access_keys ORDER BY name")?;
        let rows = stmt.query_map([], |r| {
            Ok(KeyInfo {
                id: r.get(0)?,
                name: r.get(1)?,
                created: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Deletes the key with this name or access key id; `None` if there is none, else its id.
    pub fn delete(&self, name_or_id: &str) -> anyhow::Result<Option<String>> {
        let conn = self.lock();
        let id: Option<String> = conn
            .query_row(
                "SELECT id FROM access_keys WHERE name = ?1 OR id = ?1",
                params![name_or_id],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = &id {
            conn.execute("DELETE FROM access_keys WHERE id = ?1", params![id])?;
        }
        Ok(id)
    }

    /// The key's name and secret, if `id` is a stored key (and its row opens under this master
    /// key).
    pub fn resolve(&self, id: &str) -> anyhow::Result<Option<(String, Zeroizing<String>)>> {
        let row: Option<(String, Vec<u8>)> = self
            .lock()
            .query_row(
                "SELECT name, sealed FROM access_keys WHERE id = ?1",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((name, sealed)) = row else {
            return Ok(None);
        };
        let Some(plain) = open_bytes(&self.cipher, &sealed, id.as_bytes()) else {
            bail!("the stored secret of access key {id} does not open under this data directory's master key");
        };
        let secret = Zeroizing::new(String::from_utf8(plain.to_vec()).context("stored secret")?);
        Ok(Some((name, secret)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open() -> (tempfile::TempDir, crate::datadir::DataDir, AccessKeys) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = crate::datadir::open(&tmp.path().join("d"), &Default::default())
            .unwrap()
            .dir;
        crate::iam::Iam::open(&dir.path, &dir.root.id).unwrap();
        let keys = AccessKeys::open(&dir.path, &dir.master_key).unwrap();
        (tmp, dir, keys)
    }

    #[test]
    fn create_resolve_list_delete() {
        let (_tmp, dir, keys) = open();
        let (id, secret) = keys.create("ci", 100).unwrap();
        assert!(id.starts_with("LTAI") && id.len() == 24);
        assert_eq!(secret.len(), 30);
        let (name, got) = keys.resolve(&id).unwrap().unwrap();
        assert_eq!((name.as_str(), got.as_str()), ("ci", secret.as_str()));
        assert!(keys.resolve("LTAInothere").unwrap().is_none());
        assert!(format!("{:#}", keys.create("CI", 1).unwrap_err()).contains("exists already"));
        assert!(keys.create("a/b", 1).is_err());
        assert_eq!(
            keys.list().unwrap(),
            vec![KeyInfo {
                id: id.clone(),
                name: "ci".into(),
                created: 100
            }]
        );
        // The secret is not stored in the clear.
        let raw = std::fs::read(dir.path.join("iam.sqlite3")).unwrap();
        let wal = std::fs::read(dir.path.join("iam.sqlite3-wal")).unwrap_or_default();
        for bytes in [raw, wal] {
            assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()));
        }
        // Another process sees it (a second connection).
        let again = AccessKeys::open(&dir.path, &dir.master_key).unwrap();
        assert!(again.resolve(&id).unwrap().is_some());
        assert_eq!(keys.delete("ci").unwrap(), Some(id.clone()));
        assert_eq!(keys.delete(&id).unwrap(), None);
        assert!(again.resolve(&id).unwrap().is_none());
    }

    #[test]
    fn a_foreign_master_key_cannot_open_secrets() {
        let (_tmp, dir, keys) = open();
        let (id, _) = keys.create("ci", 1).unwrap();
        let other = tempfile::tempdir().unwrap();
        let foreign = crate::datadir::open(&other.path().join("d"), &Default::default())
            .unwrap()
            .dir;
        let wrong = AccessKeys::open(&dir.path, &foreign.master_key).unwrap();
        assert!(wrong.resolve(&id).is_err());
    }
}
