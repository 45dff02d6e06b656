//! Roles and signature nonces of the sts face, in SQLite at `DIR/iam.sqlite3` (mode 0600).
//!
//! - A **role** is `acs:ram::<account>:role/<name>`: a RAM permission policy, the access key ids
//!   allowed to assume it (its trust list) and a maximum session duration (3600..=43200 s).
//!   The first start creates role `app` (full OSS access, assumable by the root key).
//! - A **nonce** is a `SignatureNonce` seen with a valid signature; it is remembered until the
//!   request's timestamp leaves the ±15 min window, so a replay inside the window is refused.
//!
//! Role names are compared case-insensitively, as RAM does.

use anyhow::{bail, Context as _};
use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The role the first start creates.
pub const DEFAULT_ROLE: &str = "app";
/// Its permission policy: full OSS access.
pub const DEFAULT_ROLE_POLICY: &str =
    r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:*","Resource":"*"}]}"#;
/// Bounds of a role's maximum session duration, in seconds.
pub const MAX_SESSION_RANGE: std::ops::RangeInclusive<i64> = 3600..=43_200;

/// A role as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    /// RAM policy JSON (validated when stored).
    pub policy: String,
    /// Access key ids that may assume the role.
    pub trusted: Vec<String>,
    /// Maximum `DurationSeconds`.
    pub max_session: i64,
}

impl Role {
    pub fn arn(&self, account_id: &str) -> String {
        format!("acs:ram::{account_id}:role/{}", self.name)
    }

    /// A stable numeric role id (RAM shows 19 digits), derived from account and name.
    pub fn id(&self, account_id: &str) -> String {
        role_id(account_id, &self.name)
    }
}

/// The numeric id of role `name` in `account_id`: 19 digits from SHA-256 of both.
pub fn role_id(account_id: &str, name: &str) -> String {
    let digest = Sha256::digest(format!("{account_id}/{}", name.to_ascii_lowercase()));
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let n = u64::from_be_bytes(first) % 9_000_000_000_000_000_000 + 1_000_000_000_000_000_000;
    n.to_string()
}

/// Checks a RAM role name: 1-64 characters of `[A-Za-z0-9.-]`.
pub fn valid_role_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
}

/// The roles and nonces database.
pub struct Iam {
    conn: Mutex<Connection>,
    /// [`Iam::get_cached`]'s copies, by lower-cased name, with when they were read.
    roles: Mutex<HashMap<String, CachedRole>>,
}

/// A role as read at an instant (`None`: it did not exist).
type CachedRole = (Instant, Option<Arc<Role>>);

/// How long [`Iam::get_cached`] trusts a copy (roles changed by another process, e.g. the
/// `stsgate role` CLI, are seen within this time; this process's own changes at once).
const ROLE_CACHE_TTL: Duration = Duration::from_secs(1);

impl std::fmt::Debug for Iam {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Iam")
    }
}

impl Iam {
    /// Opens `DIR/iam.sqlite3`, creating it (0600) and the role `app` trusted by `root_key_id`
    /// on first use.
    pub fn open(data_dir: &Path, root_key_id: &str) -> anyhow::Result<Iam> {
        let path = data_dir.join("iam.sqlite3");
        let conn = crate::datadir::open_private_sqlite(&path, Duration::from_secs(10))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS roles (
                 name TEXT PRIMARY KEY COLLATE NOCASE,
                 policy TEXT NOT NULL,
                 trusted TEXT NOT NULL,
                 max_session INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS nonces (
                 access_key_id TEXT NOT NULL,
                 nonce TEXT NOT NULL,
                 expires INTEGER NOT NULL,
                 PRIMARY KEY (access_key_id, nonce));
             CREATE INDEX IF NOT EXISTS nonces_expires ON nonces (expires);",
        )?;
        let iam = Iam {
            conn: Mutex::new(conn),
            roles: Mutex::default(),
        };
        iam.seed(root_key_id)?;
        Ok(iam)
    }

    /// Creates the default role once in the life of the database (deleting it later sticks).
    fn seed(&self, root_key_id: &str) -> anyhow::Result<()> {
        let conn = self.lock();
        let seeded = conn
            .execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('seeded', '1')",
                [],
            )
            .context("seeding iam.sqlite3")?;
        drop(conn);
        if seeded == 1 {
            self.create(&Role {
                name: DEFAULT_ROLE.to_string(),
                policy: DEFAULT_ROLE_POLICY.to_string(),
                trusted: vec![root_key_id.to_string()],
                max_session: 3600,
            })?;
        }
        Ok(())
    }

    /// As [`Iam::get`], from a copy read at most [`ROLE_CACHE_TTL`] ago (the issuance path).
    pub fn get_cached(&self, name: &str) -> anyhow::Result<Option<Arc<Role>>> {
        let key = name.to_ascii_lowercase();
        {
            let roles = self.roles.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((read, role)) = roles.get(&key) {
                if read.elapsed() < ROLE_CACHE_TTL {
                    return Ok(role.clone());
                }
            }
        }
        let read = Instant::now();
        let role = self.get(name)?.map(Arc::new);
        let mut roles = self.roles.lock().unwrap_or_else(|e| e.into_inner());
        roles.insert(key, (read, role.clone()));
        Ok(role)
    }

    fn forget_roles(&self) {
        self.roles.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores a new role after validating it; refuses an existing name.
    pub fn create(&self, role: &Role) -> anyhow::Result<()> {
        if !valid_role_name(&role.name) {
            bail!(
                "role name {:?} must be 1-64 characters of letters, digits, '.' or '-'",
                role.name
            );
        }
        if !MAX_SESSION_RANGE.contains(&role.max_session) {
            bail!(
                "the maximum session duration must be from 3600 to 43200 seconds, got {}",
                role.max_session
            );
        }
        stsgate_policy::parse(&role.policy).map_err(|e| anyhow::anyhow!("invalid policy: {e}"))?;
        if role.trusted.iter().any(|k| k.is_empty() || k.contains(',')) {
            bail!("trusted access key ids must be non-empty and contain no ','");
        }
        let inserted = self.lock().execute(
            "INSERT OR IGNORE INTO roles (name, policy, trusted, max_session) VALUES (?1, ?2, ?3, ?4)",
            params![role.name, role.policy, role.trusted.join(","), role.max_session],
        )?;
        self.forget_roles();
        if inserted == 0 {
            bail!("role {:?} exists already", role.name);
        }
        Ok(())
    }

    /// Adds access key ids to a role's trust list. False if the role does not exist.
    pub fn trust(&self, name: &str, keys: &[String]) -> anyhow::Result<bool> {
        let Some(mut role) = self.get(name)? else {
            return Ok(false);
        };
        for key in keys {
            if key.is_empty() || key.contains(',') {
                bail!("access key id {key:?} is empty or contains ','");
            }
            if !role.trusted.contains(key) {
                role.trusted.push(key.clone());
            }
        }
        self.lock().execute(
            "UPDATE roles SET trusted = ?2 WHERE name = ?1",
            params![name, role.trusted.join(",")],
        )?;
        self.forget_roles();
        Ok(true)
    }

    /// The role named `name` (case-insensitive), if any.
    pub fn get(&self, name: &str) -> anyhow::Result<Option<Role>> {
        Ok(self
            .lock()
            .query_row(
                "SELECT name, policy, trusted, max_session FROM roles WHERE name = ?1",
                [name],
                row_to_role,
            )
            .optional()?)
    }

    /// Every role, by name.
    pub fn list(&self) -> anyhow::Result<Vec<Role>> {
        let conn = self.lock();
        let mut stmt =
            conn.prepare("SELECT name, policy, trusted, max_session FROM roles ORDER BY name")?;
        let roles = stmt
            .query_map([], row_to_role)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(roles)
    }

    /// Deletes a role. False if it did not exist.
    pub fn delete(&self, name: &str) -> anyhow::Result<bool> {
        let deleted = self
            .lock()
            .execute("DELETE FROM roles WHERE name = ?1", [name])?
            == 1;
        self.forget_roles();
        Ok(deleted)
    }

    /// Records `nonce` of `access_key_id` until `expires` (unix seconds). Returns false if it was
    /// recorded already and has not expired. Expired nonces are deleted on the way.
    pub fn use_nonce(
        &self,
        access_key_id: &str,
        nonce: &str,
        expires: i64,
        now: i64,
    ) -> anyhow::Result<bool> {
        let conn = self.lock();
        conn.execute("DELETE FROM nonces WHERE expires <= ?1", [now])?;
        let inserted = conn.execute(
            "INSERT OR IGNORE INTO nonces (access_key_id, nonce, expires) VALUES (?1, ?2, ?3)",
            params![access_key_id, nonce, expires],
        )?;
        Ok(inserted == 1)
    }
}

fn row_to_role(row: &rusqlite::Row<'_>) -> rusqlite::Result<Role> {
    let trusted: String = row.get(2)?;
    Ok(Role {
        name: row.get(0)?,
        policy: row.get(1)?,
        trusted: trusted
            .split(',')
            .filter(|k| !k.is_empty())
            .map(str::to_string)
            .collect(),
        max_session: row.get(3)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn role(name: &str) -> Role {
        Role {
            name: name.to_string(),
            policy: DEFAULT_ROLE_POLICY.to_string(),
            trusted: vec!["LTAIother".to_string()],
            max_session: 7200,
        }
    }

    #[test]
    fn first_open_creates_the_app_role_once() {
        let tmp = tempfile::tempdir().unwrap();
        let iam = Iam::open(tmp.path(), "LTAIroot").unwrap();
        let app = iam.get("APP").unwrap().unwrap();
        assert_eq!(app.name, "app");
        assert_eq!(app.trusted, vec!["LTAIroot".to_string()]);
        assert_eq!(app.max_session, 3600);
        let mode = std::fs::metadata(tmp.path().join("iam.sqlite3"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(iam.delete("app").unwrap());
        drop(iam);
        let iam = Iam::open(tmp.path(), "LTAIroot").unwrap();
        assert!(
            iam.get("app").unwrap().is_none(),
            "a deleted app role stays deleted"
        );
    }

    #[test]
    fn roles_are_validated_listed_trusted_and_deleted() {
        let tmp = tempfile::tempdir().unwrap();
        let iam = Iam::open(tmp.path(), "LTAIroot").unwrap();
        iam.create(&role("writer")).unwrap();
        assert!(
            iam.create(&role("Writer")).is_err(),
            "names are case-insensitive"
        );
        assert!(iam.create(&role("bad name")).is_err());
        assert!(iam
            .create(&Role {
                max_session: 100,
                ..role("short")
            })
            .is_err());
        assert!(iam
            .create(&Role {
                policy: "{}".into(),
                ..role("nopolicy")
            })
            .is_err());
        assert!(iam.trust("writer", &["LTAIroot".to_string()]).unwrap());
        assert!(!iam.trust("nobody", &["LTAIroot".to_string()]).unwrap());
        let names: Vec<String> = iam.list().unwrap().into_iter().map(|r| r.name).collect();
        assert_eq!(names, vec!["app", "writer"]);
        assert_eq!(
            iam.get("writer").unwrap().unwrap().trusted,
            vec!["LTAIother".to_string(), "LTAIroot".to_string()]
        );
        assert!(iam.delete("writer").unwrap());
        assert!(!iam.delete("writer").unwrap());
    }

    #[test]
    fn nonces_are_refused_until_they_expire() {
        let tmp = tempfile::tempdir().unwrap();
        let iam = Iam::open(tmp.path(), "LTAIroot").unwrap();
        assert!(iam.use_nonce("ak", "n1", 1900, 1000).unwrap());
        assert!(!iam.use_nonce("ak", "n1", 1900, 1500).unwrap());
        assert!(iam.use_nonce("other", "n1", 1900, 1500).unwrap());
        drop(iam);
        let iam = Iam::open(tmp.path(), "LTAIroot").unwrap();
        assert!(!iam.use_nonce("ak", "n1", 1900, 1899).unwrap(), "durable");
        assert!(iam.use_nonce("ak", "n1", 2800, 1900).unwrap(), "expired");
    }

    #[test]
    fn role_ids_are_stable_19_digit_numbers() {
        let a = role_id("1234567890123456", "app");
        assert_eq!(a.len(), 19);
        assert!(a.chars().all(|c| c.is_ascii_digit()));
        assert_eq!(a, role_id("1234567890123456", "APP"));
        assert_ne!(a, role_id("1234567890123456", "other"));
    }
}
