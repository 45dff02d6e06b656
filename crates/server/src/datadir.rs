//! The data directory: created on first start (mode 0700) with a master key, an account id and a
//! root access key pair; everything after that is read back from it.
//!
//! - `DIR/master.key` — 32 random bytes (0600); the AEAD key of temporary credentials derives from it.
//! - `DIR/root-credentials.json` — `{"AccountId","AccessKeyId","AccessKeySecret","OperatorKey"}`
//!   (0600). `OperatorKey` (`sgop_…`) reads `GET /v1/audit`; files written before it existed get
//!   one at the next `serve` ([`ensure_operator_key`]).
//! - `DIR/store/` — the object store (see `stsgate_store`).
//! - `DIR/iam.sqlite3` — roles and nonces of the sts face (see [`crate::iam`]).
//! - `DIR/jwt-hs256.key` — 32 random bytes (0600): the HS256 secret of callers' JWTs
//!   (`stsgate token`), created when first needed.
//! - `DIR/audit.sqlite3` — the api face's audit log (see `crate::api::audit`).

use crate::secret::Secret;
use anyhow::{bail, Context as _};
use rand::{Rng, RngCore};
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Environment variables that, when both set, are the root access key.
pub const ENV_ROOT_KEY_ID: &str = "STSGATE_ROOT_ACCESS_KEY_ID";
pub const ENV_ROOT_KEY_SECRET: &str = "STSGATE_ROOT_ACCESS_KEY_SECRET";

/// A long-term access key pair.
#[derive(Debug, Clone)]
pub struct AccessKey {
    pub id: String,
    pub secret: Secret,
}

/// What a data directory holds.
#[derive(Debug, Clone)]
pub struct DataDir {
    pub path: PathBuf,
    pub account_id: String,
    pub root: AccessKey,
    pub master_key: MasterKey,
    /// The operator API key (`sgop_…`), once created.
    pub operator_key: Option<Secret>,
}

/// The 32-byte master key.
#[derive(Clone)]
pub struct MasterKey(pub Zeroizing<[u8; 32]>);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct RootCredentialsFile {
    account_id: String,
    access_key_id: String,
    access_key_secret: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    operator_key: Option<String>,
}

/// How opening went: `created` is true on the first start (the caller prints the key once).
#[derive(Debug)]
pub struct Opened {
    pub dir: DataDir,
    pub created: bool,
}

/// Opens `path`, creating it on first use. `env_root` is the root key from the environment, if set.
pub fn open(path: &Path, env_root: Option<AccessKey>) -> anyhow::Result<Opened> {
    let created = !path.join("master.key").exists();
    if created {
        create(path, env_root.as_ref())?;
    }
    let master_key = read_master_key(&path.join("master.key"))?;
    let creds_path = path.join("root-credentials.json");
    check_private(&creds_path)?;
    let text = fs::read_to_string(&creds_path)
        .with_context(|| format!("reading {}", creds_path.display()))?;
    let file: RootCredentialsFile =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", creds_path.display()))?;
    let root = env_root.unwrap_or(AccessKey {
        id: file.access_key_id,
        secret: Secret::new(file.access_key_secret),
    });
    Ok(Opened {
        dir: DataDir {
            path: path.to_path_buf(),
            account_id: file.account_id,
            root,
            master_key,
            operator_key: file.operator_key.map(Secret::new),
        },
        created,
    })
}

/// Holds `DIR/lock` exclusively for as long as it lives.
#[derive(Debug)]
pub struct DirLock(#[allow(dead_code)] fs::File);

/// Creates `path` if needed (0700) and takes its exclusive lock; fails at once, naming the
/// directory, if another stsgate holds it.
pub fn lock(path: &Path) -> anyhow::Result<DirLock> {
    if !path.exists() {
        fs::create_dir_all(path)
            .with_context(|| format!("creating data directory {}", path.display()))?;
        fs::set_permissions(path, fs::Permissions::from_mode(0o700))?;
    }
    let lock_path = path.join("lock");
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&lock_path)
        .with_context(|| format!("opening {}", lock_path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(DirLock(file)),
        Err(fs::TryLockError::WouldBlock) => bail!(
            "{} is in use by another stsgate server; stop it first or give this one its own --data",
            path.display()
        ),
        Err(fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", lock_path.display()))
        }
    }
}

/// Reads the root key pair from the environment (both variables or neither).
pub fn env_root_key() -> anyhow::Result<Option<AccessKey>> {
    match (
        std::env::var(ENV_ROOT_KEY_ID).ok(),
        std::env::var(ENV_ROOT_KEY_SECRET).ok(),
    ) {
        (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => {
            if id.starts_with("STS.") {
                bail!("{ENV_ROOT_KEY_ID} must not start with \"STS.\": that prefix marks temporary credentials");
            }
            Ok(Some(AccessKey {
                id,
                secret: Secret::new(secret),
            }))
        }
        (None, None) => Ok(None),
        _ => bail!("set both {ENV_ROOT_KEY_ID} and {ENV_ROOT_KEY_SECRET}, or neither"),
    }
}

fn create(path: &Path, env_root: Option<&AccessKey>) -> anyhow::Result<()> {
    fs::create_dir_all(path)
        .with_context(|| format!("creating data directory {}", path.display()))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o700))?;
    let mut rng = rand::thread_rng();
    let root = match env_root {
        Some(k) => k.clone(),
        None => AccessKey {
            id: format!("LTAI{}", random_alnum(&mut rng, 20)),
            secret: Secret::new(random_alnum(&mut rng, 30)),
        },
    };
    let account_id: String = (0..16)
        .map(|i| char::from(b'0' + rng.gen_range(if i == 0 { 1 } else { 0 }..10)))
        .collect();
    let file = RootCredentialsFile {
        account_id,
        access_key_id: root.id.clone(),
        access_key_secret: root.secret.expose().to_string(),
        operator_key: Some(new_operator_key(&mut rng)),
    };
    write_private(
        &path.join("root-credentials.json"),
        serde_json::to_string_pretty(&file)?.as_bytes(),
    )?;
    let mut key = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(key.as_mut());
    // master.key last: its presence marks a completed first start.
    write_private(&path.join("master.key"), key.as_ref())?;
    Ok(())
}

/// A fresh operator key: `sgop_` + 40 of `[A-Za-z0-9]`.
fn new_operator_key(rng: &mut impl Rng) -> String {
    format!(
        "{}{}",
        crate::api::callers::OPERATOR_KEY_PREFIX,
        random_alnum(rng, 40)
    )
}

/// Adds an `OperatorKey` to a `root-credentials.json` written before operator keys existed,
/// keeping its other fields and mode 0600. Call with the directory's lock held (`serve`).
/// Returns true when a key was added.
pub fn ensure_operator_key(dir: &mut DataDir) -> anyhow::Result<bool> {
    if dir.operator_key.is_some() {
        return Ok(false);
    }
    let path = dir.path.join("root-credentials.json");
    check_private(&path)?;
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut file: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let key = new_operator_key(&mut rand::thread_rng());
    file.insert("OperatorKey".into(), key.clone().into());
    write_private(&path, serde_json::to_string_pretty(&file)?.as_bytes())?;
    dir.operator_key = Some(Secret::new(key));
    Ok(true)
}

/// Random characters from `[A-Za-z0-9]`.
pub fn random_alnum(rng: &mut impl Rng, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..len)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

/// Writes a file readable only by its owner (0600), crash-safely (temp file, fsync, rename).
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn read_master_key(path: &Path) -> anyhow::Result<MasterKey> {
    check_private(path)?;
    let bytes =
        Zeroizing::new(fs::read(path).with_context(|| format!("reading {}", path.display()))?);
    let key: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| anyhow::anyhow!("{} must hold exactly 32 bytes", path.display()))?;
    Ok(MasterKey(Zeroizing::new(key)))
}

/// Reads `DIR/jwt-hs256.key`, creating it (32 random bytes, 0600) if absent.
pub fn jwt_hs256_key(dir: &Path) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let path = dir.join("jwt-hs256.key");
    if !path.exists() {
        let mut key = Zeroizing::new([0u8; 32]);
        rand::thread_rng().fill_bytes(key.as_mut());
        write_private(&path, key.as_ref())?;
    }
    check_private(&path)?;
    let bytes =
        Zeroizing::new(fs::read(&path).with_context(|| format!("reading {}", path.display()))?);
    if bytes.len() < 32 {
        bail!("{} must hold at least 32 bytes", path.display());
    }
    Ok(bytes)
}

/// Opens a private SQLite database under the data directory: created 0600 only when absent
/// (closing a second descriptor of a database this process already has open would drop the
/// process's POSIX locks on it, and with them other connections' WAL view), WAL journal, the
/// given busy timeout. Callers set `synchronous` and their schema.
pub fn open_private_sqlite(
    path: &Path,
    busy: std::time::Duration,
) -> anyhow::Result<rusqlite::Connection> {
    if !path.exists() {
        fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("creating {}", path.display()))?;
    }
    let conn =
        rusqlite::Connection::open(path).with_context(|| format!("opening {}", path.display()))?;
    conn.busy_timeout(busy)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    Ok(conn)
}

/// Refuses secret files that others can read.
pub fn check_private(path: &Path) -> anyhow::Result<()> {
    let meta = fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if meta.permissions().mode() & 0o077 != 0 {
        bail!(
            "{} is readable by other users; run `chmod 600 {}`",
            path.display(),
            path.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_start_creates_private_files_and_second_start_reads_them() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        let first = open(&dir, None).unwrap();
        assert!(first.created);
        assert!(first.dir.root.id.starts_with("LTAI"));
        assert_eq!(first.dir.account_id.len(), 16);
        for f in ["master.key", "root-credentials.json"] {
            assert_eq!(
                fs::metadata(dir.join(f)).unwrap().permissions().mode() & 0o777,
                0o600,
                "{f}"
            );
        }
        assert_eq!(
            fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let second = open(&dir, None).unwrap();
        assert!(!second.created);
        assert_eq!(second.dir.root.id, first.dir.root.id);
        assert_eq!(second.dir.root.secret, first.dir.root.secret);
        assert_eq!(*second.dir.master_key.0, *first.dir.master_key.0);
        let op = first.dir.operator_key.clone().unwrap();
        assert!(op.expose().starts_with("sgop_"));
        assert_eq!(second.dir.operator_key, Some(op));
    }

    #[test]
    fn an_older_file_gets_an_operator_key_and_keeps_its_fields() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        let first = open(&dir, None).unwrap().dir;
        let path = dir.join("root-credentials.json");
        let old = serde_json::json!({
            "AccountId": first.account_id,
            "AccessKeyId": first.root.id,
            "AccessKeySecret": first.root.secret.expose(),
        });
        write_private(&path, old.to_string().as_bytes()).unwrap();
        let mut second = open(&dir, None).unwrap().dir;
        assert!(second.operator_key.is_none());
        assert!(ensure_operator_key(&mut second).unwrap());
        assert!(!ensure_operator_key(&mut second).unwrap());
        let v: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(v["AccessKeyId"], first.root.id.as_str());
        assert_eq!(v["AccountId"], first.account_id.as_str());
        assert_eq!(
            v["OperatorKey"].as_str(),
            second.operator_key.as_ref().map(|k| k.expose())
        );
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let third = open(&dir, None).unwrap().dir;
        assert_eq!(third.operator_key, second.operator_key);
    }

    #[test]
    fn jwt_key_is_created_once_and_private() {
        let tmp = tempfile::tempdir().unwrap();
        let first = jwt_hs256_key(tmp.path()).unwrap();
        assert_eq!(first.len(), 32);
        assert_eq!(*jwt_hs256_key(tmp.path()).unwrap(), *first);
        let path = tmp.path().join("jwt-hs256.key");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(jwt_hs256_key(tmp.path()).is_err());
    }

    #[test]
    fn a_data_directory_is_locked_by_one_server_at_a_time() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        let first = lock(&dir).unwrap();
        let err = lock(&dir).unwrap_err().to_string();
        assert!(err.contains("in use by another stsgate"), "{err}");
        drop(first);
        lock(&dir).unwrap();
    }

    #[test]
    fn env_root_key_is_used_and_world_readable_files_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        let env = AccessKey {
            id: "LTAIenv".into(),
            secret: Secret::new("envsecret"),
        };
        let opened = open(&dir, Some(env)).unwrap();
        assert_eq!(opened.dir.root.id, "LTAIenv");
        fs::set_permissions(dir.join("master.key"), fs::Permissions::from_mode(0o644)).unwrap();
        let err = open(&dir, None).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
    }
}
