//! Binds and runs the faces. `run_oss`, `run_cos`, `run_sts` and `run_api` take an already-bound
//! listener, so tests bind `127.0.0.1:0` and the binary binds the configured address.

use crate::aliyun::oss::{self, OssState};
use crate::aliyun::sts::{self, StsState};
use crate::api::{self, callers::Verifier, ApiState};
use crate::common::audit::{AuditLog, SqliteAudit};
use crate::common::resolve::Keyring;
use crate::config::Config;
use crate::datadir::DataDir;
use crate::iam::Iam;
use crate::revocations::Revocations;
use crate::tencent::cos::{self, CosState};
use crate::token::TokenKey;
use anyhow::Context as _;
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use stsgate_store::{Store, WeakStore};
use tokio::net::TcpListener;

/// The default region reported to SDKs.
pub const DEFAULT_REGION: &str = "cn-hangzhou";

/// The keys of a data directory as a face sees them: the root keys, the token key, the
/// revocations, and (`extra_keys`: the sts faces) the extra long-term keys.
pub fn keyring(dir: &DataDir, extra_keys: bool) -> anyhow::Result<Keyring> {
    let access_keys = match extra_keys {
        true => Some(Arc::new(crate::keys::AccessKeys::open(
            &dir.path,
            &dir.master_key,
        )?)),
        false => None,
    };
    Ok(Keyring {
        account_id: dir.account_id.clone(),
        root: dir.root.clone(),
        tencent_root: dir.tencent.as_ref().map(|t| t.root.clone()),
        tokens: TokenKey::new(&dir.master_key),
        access_keys,
        revoked: Some(Revocations::open(&dir.path)?),
    })
}

/// The object store of a data directory (`DIR/store`), opened once per directory per process:
/// the oss and cos faces (and the api face) share it. Opening sweeps the staging files, so a
/// second open would delete the uploads in flight of the first.
pub fn store(dir: &DataDir) -> anyhow::Result<Store> {
    static OPEN: Registry<WeakStore> = OnceLock::new();
    once_per_dir(&OPEN, dir, WeakStore::upgrade, |canonical| {
        let store = Store::open(&canonical.join("store"))?;
        let weak = store.downgrade();
        Ok((store, weak))
    })
}

/// Handles (that do not keep their value alive) by canonical data directory.
type Registry<W> = OnceLock<Mutex<HashMap<PathBuf, W>>>;

/// The value of `dir` in `registry` while some clone of it lives, else a fresh one from `open`
/// (given the canonical path), remembered by its non-owning handle. One per directory per
/// process, whatever the spelling of the path.
fn once_per_dir<T, W>(
    registry: &'static Registry<W>,
    dir: &DataDir,
    upgrade: impl Fn(&W) -> Option<T>,
    open: impl FnOnce(&std::path::Path) -> anyhow::Result<(T, W)>,
) -> anyhow::Result<T> {
    let canonical = dir
        .path
        .canonicalize()
        .with_context(|| format!("resolving {}", dir.path.display()))?;
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

/// Builds the oss face's state over a data directory (the shared store; the first open sweeps
/// leftovers).
pub fn oss_state(dir: &DataDir, region: &str) -> anyhow::Result<Arc<OssState>> {
    Ok(Arc::new(OssState {
        store: store(dir)?,
        keys: keyring(dir, false)?,
        region: region.to_string(),
    }))
}

/// Builds the cos face's state over a data directory: the same store as the oss face, the
/// Tencent account's keys and AppId, and `region` (e.g. `ap-guangzhou`).
pub fn cos_state(dir: &DataDir, region: &str) -> anyhow::Result<Arc<CosState>> {
    let account = dir.tencent.as_ref().with_context(|| {
        format!(
            "{} has no Tencent account yet: `stsgate serve --data {}` adds it",
            dir.path.display(),
            dir.path.display()
        )
    })?;
    Ok(Arc::new(CosState::new(
        store(dir)?,
        keyring(dir, false)?,
        region,
        account,
    )))
}

/// The audit log of a data directory (`DIR/audit.sqlite3`), one per directory per process: the
/// sts and api faces share it (the file is never opened twice; its single writer thread batches
/// both faces' rows).
pub fn audit_log(dir: &DataDir) -> anyhow::Result<Arc<dyn AuditLog>> {
    static OPEN: Registry<Weak<SqliteAudit>> = OnceLock::new();
    let log = once_per_dir(&OPEN, dir, Weak::upgrade, |canonical| {
        let log = Arc::new(SqliteAudit::open(canonical)?);
        let weak = Arc::downgrade(&log);
        Ok((log, weak))
    })?;
    Ok(log)
}

/// Builds the sts face's state: the keys, `DIR/iam.sqlite3` (created with role `app`) and the
/// audit log it shares with the api face.
pub fn sts_state(dir: &DataDir) -> anyhow::Result<Arc<StsState>> {
    sts_state_with_audit(dir, audit_log(dir)?)
}

/// [`sts_state`] with the audit log given (tests plug in one that fails).
pub fn sts_state_with_audit(
    dir: &DataDir,
    audit: Arc<dyn AuditLog>,
) -> anyhow::Result<Arc<StsState>> {
    // The roles table must exist before the access keys' (both live in iam.sqlite3).
    let iam = Iam::open(&dir.path, &dir.root.id)?;
    Ok(Arc::new(StsState {
        keys: keyring(dir, true)?,
        iam,
        audit,
    }))
}

/// Serves the sts face on `listener` until `shutdown` completes (the peer address goes into
/// the audit rows).
pub async fn run_sts(
    listener: TcpListener,
    state: Arc<StsState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = sts::router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Serves the oss face on `listener` until `shutdown` completes.
pub async fn run_oss(
    listener: TcpListener,
    state: Arc<OssState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = oss::router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Serves the cos face on `listener` until `shutdown` completes.
pub async fn run_cos(
    listener: TcpListener,
    state: Arc<CosState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = cos::router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Builds the api face's state: the JWT key (`DIR/jwt-hs256.key`, created if absent), the grants
/// of `config` (or the default `user-folder`), the providers (`[provider.NAME]`; a grant naming
/// an unknown one, or whose inline policy could exceed STS's limit, fails here),
/// `DIR/iam.sqlite3` and `DIR/audit.sqlite3`.
/// `store` is the oss face's store (grant buckets are created in it when first needed).
pub fn api_state(
    dir: &DataDir,
    config: &Config,
    store: Option<Store>,
    oss_endpoint: Option<String>,
) -> anyhow::Result<Arc<ApiState>> {
    // Shared with the sts face (one writer per audit.sqlite3 per process).
    let audit = audit_log(dir)?;
    api_state_with_audit(dir, config, store, oss_endpoint, audit)
}

/// [`api_state`] with the audit log given (tests plug in one that fails).
pub fn api_state_with_audit(
    dir: &DataDir,
    config: &Config,
    store: Option<Store>,
    oss_endpoint: Option<String>,
    audit: Arc<dyn AuditLog>,
) -> anyhow::Result<Arc<ApiState>> {
    let key = crate::datadir::jwt_hs256_key(&dir.path)?;
    let mut verifier = Verifier::from_config(&config.api.jwt, &config.api_key, &key)?;
    if let Some(op) = &dir.operator_key {
        verifier.set_operator_key(op.expose());
    }
    let grants = config.grants.clone();
    let providers = api::upstream::providers(config)?;
    api::upstream::check_providers(&grants, &providers)?;
    Ok(Arc::new(ApiState {
        buckets_seen: Default::default(),
        verifier,
        grants,
        tokens: TokenKey::new(&dir.master_key),
        account_id: dir.account_id.clone(),
        iam: Iam::open(&dir.path, &dir.root.id)?,
        audit,
        store,
        oss_endpoint,
        region: config
            .region
            .clone()
            .unwrap_or_else(|| DEFAULT_REGION.to_string()),
        cache: Default::default(),
        issued: Default::default(),
        limits: api::limits::Limits::from_config(&config.api.rate_limit),
        metrics: Default::default(),
        expose_metrics: config.api.metrics != Some(false),
        revocations: Revocations::open(&dir.path)?,
        tickets: api::tickets::TicketKey::new(&dir.master_key),
        providers,
    }))
}

/// Serves the api face on `listener` until `shutdown` completes.
pub async fn run_api(
    listener: TcpListener,
    state: Arc<ApiState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Housekeeping: histogram upkeep every 5 s, idle rate-limit keys dropped every minute.
    let weak = Arc::downgrade(&state);
    let housekeeping = tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
        let prune_every = api::limits::PRUNE_SECS / 5;
        for n in 1u64.. {
            tick.tick().await;
            let Some(state) = weak.upgrade() else { break };
            state.metrics.upkeep();
            if n % prune_every == 0 {
                state.limits.retain_recent();
            }
        }
    });
    let app = api::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    housekeeping.abort();
    served
}
