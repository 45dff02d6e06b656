//! The data directory: created on first start (mode 0700) with a master key, an account id and a
//! root access key pair; everything after that is read back from it.
//!
//! - `DIR/master.key` — 32 random bytes (0600); the AEAD key of temporary credentials derives from it.
//! - `DIR/root-credentials.json` — `{"AccountId","AccessKeyId","AccessKeySecret","OperatorKey",
//!   "TencentAppId","TencentUin","TencentSecretId","TencentSecretKey"}` (0600): the Alibaba
//!   account and root key, the operator key (`sgop_…`, reads `GET /v1/audit`) and the Tencent
//!   account (AppId, Uin) and root key (`AKID…`). Files written before a field existed get it at
//!   the next `serve` ([`ensure_operator_key`], [`ensure_tencent_account`]).
//! - `DIR/store/` — the object store (see `stsgate_store`).
//! - `DIR/iam.sqlite3` — roles and nonces of the sts face (see [`crate::iam`]).
//! - `DIR/jwt-hs256.key` — 32 random bytes (0600): the HS256 secret of callers' JWTs
//!   (`stsgate token`), created when first needed.
//! - `DIR/audit.sqlite3` — the api face's audit log (see `crate::common::audit`).

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
/// Environment variables that, when both set, are the Tencent root key (SecretId, SecretKey).
pub const ENV_TENCENT_SECRET_ID: &str = "STSGATE_TENCENT_SECRET_ID";
pub const ENV_TENCENT_SECRET_KEY: &str = "STSGATE_TENCENT_SECRET_KEY";

/// Operator keys (`sgop_…`, in `root-credentials.json`) start with this.
pub const OPERATOR_KEY_PREFIX: &str = "sgop_";

/// A long-term access key pair.
#[derive(Debug, Clone)]
pub struct AccessKey {
    pub id: String,
    pub secret: Secret,
}

/// The embedded Tencent account: its AppId (the `-<appid>` of bucket names, `uid/<appid>` in
/// CAM resources), the root account's Uin and root key.
#[derive(Debug, Clone)]
pub struct TencentAccount {
    /// e.g. `1250000000`.
    pub app_id: String,
    /// e.g. `100000000001`.
    pub uin: String,
    /// SecretId `AKID…` and SecretKey.
    pub root: AccessKey,
}

/// Root keys chosen by the environment (each overrides the file's when set).
#[derive(Debug, Clone, Default)]
pub struct EnvKeys {
    pub aliyun: Option<AccessKey>,
    pub tencent: Option<AccessKey>,
}

impl EnvKeys {
    /// Reads both pairs of variables (each pair both or neither).
    pub fn from_env() -> anyhow::Result<EnvKeys> {
        Ok(EnvKeys {
            aliyun: env_root_key()?,
            tencent: env_pair(ENV_TENCENT_SECRET_ID, ENV_TENCENT_SECRET_KEY)?,
        })
    }
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
    /// The Tencent account, once created (first start, or [`ensure_tencent_account`]).
    pub tencent: Option<TencentAccount>,
}

/// The 32-byte master key.
#[derive(Clone)]
pub struct MasterKey(pub Zeroizing<[u8; 32]>);

impl MasterKey {
    /// The store's server-side-encryption key: HMAC-SHA256(master key, a fixed label), so it
    /// changes with the master key and reveals nothing about it.
    pub fn store_sse_key(&self) -> [u8; 32] {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.0[..])
            .expect("HMAC takes any key length");
        mac.update(b"stsgate store server-side encryption v1");
        mac.finalize().into_bytes().into()
    }
}

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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tencent_app_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tencent_uin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tencent_secret_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tencent_secret_key: Option<String>,
}

/// How opening went: `created` is true on the first start (the caller prints the key once).
#[derive(Debug)]
pub struct Opened {
    pub dir: DataDir,
    pub created: bool,
}

/// Opens `path`, creating it on first use. `env` holds the root keys the environment chose.
pub fn open(path: &Path, env: &EnvKeys) -> anyhow::Result<Opened> {
    let created = !path.join("master.key").exists();
    if created {
        create(path, env)?;
    }
    let master_key = read_master_key(&path.join("master.key"))?;
    let creds_path = path.join("root-credentials.json");
    check_private(&creds_path)?;
    let text = fs::read_to_string(&creds_path)
        .with_context(|| format!("reading {}", creds_path.display()))?;
    let file: RootCredentialsFile =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", creds_path.display()))?;
    let root = env.aliyun.clone().unwrap_or(AccessKey {
        id: file.access_key_id,
        secret: Secret::new(file.access_key_secret),
    });
    let tencent = match (
        file.tencent_app_id,
        file.tencent_uin,
        file.tencent_secret_id,
        file.tencent_secret_key,
    ) {
        (Some(app_id), Some(uin), Some(id), Some(secret)) => Some(TencentAccount {
            app_id,
            uin,
            root: env.tencent.clone().unwrap_or(AccessKey {
                id,
                secret: Secret::new(secret),
            }),
        }),
        _ => None,
    };
    Ok(Opened {
        dir: DataDir {
            path: path.to_path_buf(),
            account_id: file.account_id,
            root,
            master_key,
            operator_key: file.operator_key.map(Secret::new),
            tencent,
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

/// Reads a key pair from two environment variables (both or neither).
fn env_pair(id_var: &str, secret_var: &str) -> anyhow::Result<Option<AccessKey>> {
    match (std::env::var(id_var).ok(), std::env::var(secret_var).ok()) {
        (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => Ok(Some(AccessKey {
            id,
            secret: Secret::new(secret),
        })),
        (None, None) => Ok(None),
        _ => bail!("set both {id_var} and {secret_var}, or neither"),
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

fn create(path: &Path, env: &EnvKeys) -> anyhow::Result<()> {
    fs::create_dir_all(path)
        .with_context(|| format!("creating data directory {}", path.display()))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o700))?;
    let mut rng = rand::thread_rng();
    let root = match &env.aliyun {
        Some(k) => k.clone(),
        None => AccessKey {
            id: format!("LTAI{}", random_alnum(&mut rng, 20)),
            secret: Secret::new(random_alnum(&mut rng, 30)),
        },
    };
    let account_id: String = (0..16)
        .map(|i| char::from(b'0' + rng.gen_range(if i == 0 { 1 } else { 0 }..10)))
        .collect();
    let tencent = new_tencent_account(&mut rng, env);
    let file = RootCredentialsFile {
        account_id,
        access_key_id: root.id.clone(),
        access_key_secret: root.secret.expose().to_string(),
        operator_key: Some(new_operator_key(&mut rng)),
        tencent_app_id: Some(tencent.app_id),
        tencent_uin: Some(tencent.uin),
        tencent_secret_id: Some(tencent.root.id),
        tencent_secret_key: Some(tencent.root.secret.expose().to_string()),
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
    format!("{}{}", OPERATOR_KEY_PREFIX, random_alnum(rng, 40))
}

/// A fresh Tencent account: AppId `125` + 7 digits, Uin `100` + 9 digits, SecretId `AKID` + 32
/// and SecretKey 32 of `[A-Za-z0-9]` (the environment's key when set).
fn new_tencent_account(rng: &mut impl Rng, env: &EnvKeys) -> TencentAccount {
    let digits = |rng: &mut dyn rand::RngCore, n: usize| -> String {
        (0..n)
            .map(|_| char::from(b'0' + rng.gen_range(0..10)))
            .collect()
    };
    TencentAccount {
        app_id: format!("125{}", digits(rng, 7)),
        uin: format!("100{}", digits(rng, 9)),
        root: match &env.tencent {
            Some(k) => k.clone(),
            None => AccessKey {
                id: format!("AKID{}", random_alnum(rng, 32)),
                secret: Secret::new(random_alnum(rng, 32)),
            },
        },
    }
}

/// Adds the Tencent account to a `root-credentials.json` written before it existed, keeping
/// the file's other fields and mode 0600. Call with the directory's lock held (`serve`).
/// Returns true when it was added (the caller prints the new key once).
pub fn ensure_tencent_account(dir: &mut DataDir, env: &EnvKeys) -> anyhow::Result<bool> {
    if dir.tencent.is_some() {
        return Ok(false);
    }
    let path = dir.path.join("root-credentials.json");
    check_private(&path)?;
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut file: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let account = new_tencent_account(&mut rand::thread_rng(), env);
    file.insert("TencentAppId".into(), account.app_id.clone().into());
    file.insert("TencentUin".into(), account.uin.clone().into());
    file.insert("TencentSecretId".into(), account.root.id.clone().into());
    file.insert(
        "TencentSecretKey".into(),
        account.root.secret.expose().to_string().into(),
    );
    write_private(&path, serde_json::to_string_pretty(&file)?.as_bytes())?;
    dir.tencent = Some(account);
    Ok(true)
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

/// Handles (that do not keep their value alive) by canonical data directory.
pub type Registry<W> = std::sync::OnceLock<std::sync::Mutex<std::collections::HashMap<PathBuf, W>>>;

/// The value of `dir` in `registry` while some clone of it lives, else a fresh one from `open`
/// (given the canonical path), remembered by its non-owning handle. One per directory per
/// process, whatever the spelling of the path.
pub fn once_per_dir<T, W>(
    registry: &'static Registry<W>,
    dir: &Path,
    upgrade: impl Fn(&W) -> Option<T>,
    open: impl FnOnce(&std::path::Path) -> anyhow::Result<(T, W)>,
) -> anyhow::Result<T> {
    let canonical = dir
        .canonicalize()
        .with_context(|| format!("resolving {}", dir.display()))?;
    let mut handles = registry
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    handles.retain(|_, w| upgrade(w).is_some());
    if let Some(value) = handles.get(&canonical).and_then(&upgrade) {
        return Ok(value);
    }
    let (value, handle) = open(&canonical)?;
    handles.insert(canonical, handle);
    Ok(value)
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
        let first = open(&dir, &EnvKeys::default()).unwrap();
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
        let second = open(&dir, &EnvKeys::default()).unwrap();
        assert!(!second.created);
        assert_eq!(second.dir.root.id, first.dir.root.id);
        assert_eq!(second.dir.root.secret, first.dir.root.secret);
        assert_eq!(*second.dir.master_key.0, *first.dir.master_key.0);
        let tc = first.dir.tencent.clone().unwrap();
        assert!(tc.root.id.starts_with("AKID") && tc.root.id.len() == 36);
        assert!(tc.app_id.len() == 10 && tc.app_id.bytes().all(|b| b.is_ascii_digit()));
        assert!(tc.uin.len() == 12 && tc.uin.bytes().all(|b| b.is_ascii_digit()));
        let again = second.dir.tencent.clone().unwrap();
        assert_eq!(
            (again.app_id, again.uin, again.root.id),
            (tc.app_id, tc.uin, tc.root.id)
        );
        let op = first.dir.operator_key.clone().unwrap();
        assert!(op.expose().starts_with("sgop_"));
        assert_eq!(second.dir.operator_key, Some(op));
    }

    #[test]
    fn an_older_file_gets_an_operator_key_and_keeps_its_fields() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        let first = open(&dir, &EnvKeys::default()).unwrap().dir;
        let path = dir.join("root-credentials.json");
        let old = serde_json::json!({
            "AccountId": first.account_id,
            "AccessKeyId": first.root.id,
            "AccessKeySecret": first.root.secret.expose(),
        });
        write_private(&path, old.to_string().as_bytes()).unwrap();
        let mut second = open(&dir, &EnvKeys::default()).unwrap().dir;
        assert!(second.operator_key.is_none() && second.tencent.is_none());
        assert!(ensure_tencent_account(&mut second, &EnvKeys::default()).unwrap());
        assert!(!ensure_tencent_account(&mut second, &EnvKeys::default()).unwrap());
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
        let third = open(&dir, &EnvKeys::default()).unwrap().dir;
        assert_eq!(third.operator_key, second.operator_key);
        let (t2, t3) = (second.tencent.unwrap(), third.tencent.unwrap());
        assert_eq!((t2.app_id, t2.root.id), (t3.app_id, t3.root.id));
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
        let tencent = AccessKey {
            id: "AKIDenv".into(),
            secret: Secret::new("envkey"),
        };
        let env = EnvKeys {
            aliyun: Some(env),
            tencent: Some(tencent),
        };
        let opened = open(&dir, &env).unwrap();
        assert_eq!(opened.dir.root.id, "LTAIenv");
        assert_eq!(opened.dir.tencent.unwrap().root.id, "AKIDenv");
        let later = open(&dir, &EnvKeys::default()).unwrap().dir;
        assert_eq!(later.tencent.unwrap().root.id, "AKIDenv");
        fs::set_permissions(dir.join("master.key"), fs::Permissions::from_mode(0o644)).unwrap();
        let err = open(&dir, &EnvKeys::default()).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
    }
}
