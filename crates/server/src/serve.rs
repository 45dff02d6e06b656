//! Binds and runs the faces. `run_oss`, `run_cos`, `run_sts`, `run_tc_sts` and `run_api` take an already-bound
//! listener, so tests bind `127.0.0.1:0` and the binary binds the configured address.

use crate::aliyun::oss::{self, OssState};
use crate::aliyun::sts::{self, StsState};
use crate::api::{self, callers::Verifier, ApiState};
use crate::common::audit::AuditLog;
use crate::common::resolve::Keyring;
use crate::config::Config;
use crate::datadir::{once_per_dir, DataDir, Registry};
use crate::iam::Iam;
use crate::revocations::Revocations;
use crate::signing_keys::SigningKeys;
use crate::tencent::cos::{self, CosState};
use crate::tencent::sts::{self as tc_sts, TcStsState};
use crate::token::TokenKey;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use stsgate_store::{Store, WeakStore};
use tokio::net::TcpListener;

/// The default region reported to SDKs.
pub const DEFAULT_REGION: &str = "cn-hangzhou";

/// The keys of a data directory as a face sees them (see [`Keyring::open`]).
pub fn keyring(dir: &DataDir, extra_keys: bool) -> anyhow::Result<Keyring> {
    Keyring::open(dir, extra_keys)
}

/// The object store of a data directory (`DIR/store`), opened once per directory per process:
/// the oss and cos faces (and the api face) share it. Opening sweeps the staging files, so a
/// second open would delete the uploads in flight of the first.
pub fn store(dir: &DataDir) -> anyhow::Result<Store> {
    static OPEN: Registry<WeakStore> = std::sync::OnceLock::new();
    once_per_dir(&OPEN, &dir.path, WeakStore::upgrade, |canonical| {
        let store = Store::open(&canonical.join("store"))?;
        store.set_sse_key(dir.master_key.store_sse_key());
        let weak = store.downgrade();
        start_lifecycle_sweeper(store.downgrade());
        Ok((store, weak))
    })
}

/// How often the buckets' lifecycle rules are applied (the first time a minute after start).
const LIFECYCLE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);
const LIFECYCLE_FIRST: std::time::Duration = std::time::Duration::from_secs(60);

/// Applies every bucket's lifecycle rules on a thread of its own, once a minute after start and
/// then hourly, for as long as the store is open (`stsgate bucket sweep` does it on demand).
fn start_lifecycle_sweeper(weak: WeakStore) {
    let spawned = std::thread::Builder::new()
        .name("lifecycle".into())
        .spawn(move || {
            let mut next = std::time::Instant::now() + LIFECYCLE_FIRST;
            loop {
                std::thread::sleep(std::time::Duration::from_secs(1));
                let Some(store) = weak.upgrade() else { return };
                if std::time::Instant::now() < next {
                    continue;
                }
                next = std::time::Instant::now() + LIFECYCLE_EVERY;
                if let Err(e) = store.sweep_lifecycle(time::OffsetDateTime::now_utc()) {
                    tracing::warn!(error = %e, "lifecycle sweep failed; retried in an hour");
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "lifecycle sweeper not started");
    }
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
    let Some(account) = dir.tencent.as_ref() else {
        anyhow::bail!(
            "{} has no Tencent account yet: `stsgate serve --data {}` adds it",
            dir.path.display(),
            dir.path.display()
        );
    };
    Ok(Arc::new(CosState::new(
        store(dir)?,
        keyring(dir, false)?,
        region,
        account,
    )))
}

/// The audit log of a data directory, one per directory per process (see
/// [`crate::common::audit::shared`]).
pub fn audit_log(dir: &DataDir) -> anyhow::Result<Arc<dyn AuditLog>> {
    crate::common::audit::shared(&dir.path)
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
    Ok(Arc::new(StsState::open(dir, audit)?))
}

/// How long a graceful stop waits for requests in flight.
const DRAIN: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves `app` on `listener` until `shutdown` completes, over https when `tls` is given (the
/// peer address reaches handlers as `ConnectInfo<SocketAddr>` either way). A request head must
/// arrive within the `[timeouts] header_read` (hyper's timer; axum's own `serve` sets none, so a
/// client sending a header a minute could hold a connection for ever).
pub async fn serve_app(
    listener: TcpListener,
    app: axum::Router,
    tls: Option<crate::tls::Tls>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let header_read = crate::common::http::timeouts().header_read;
    let Some(tls) = tls else {
        return serve_plain(listener, app, header_read, shutdown).await;
    };
    let make = app.into_make_service_with_connect_info::<SocketAddr>();
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopper.graceful_shutdown(Some(DRAIN));
    });
    let config = axum_server::tls_rustls::RustlsConfig::from_config(tls.config);
    let mut server = axum_server::from_tcp_rustls(listener.into_std()?, config).handle(handle);
    server
        .http_builder()
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(header_read);
    server.serve(make).await
}

/// The plain-http accept loop: TCP_NODELAY, the peer address as `ConnectInfo`, hyper's header
/// read timeout, graceful shutdown.
async fn serve_plain(
    listener: TcpListener,
    app: axum::Router,
    header_read: std::time::Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use tower::ServiceExt as _;
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Without TCP_NODELAY, Nagle's algorithm holds a response's body back until the client
        // acknowledges its headers, which a delayed ACK puts off by ~40 ms per request on a
        // keep-alive connection.
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(%err, "TCP_NODELAY not set");
        }
        let service =
            app.clone()
                .map_request(move |mut req: http::Request<hyper::body::Incoming>| {
                    req.extensions_mut()
                        .insert(axum::extract::ConnectInfo(peer));
                    req
                });
        let conn = builder.serve_connection_with_upgrades(
            TokioIo::new(tcp),
            hyper_util::service::TowerToHyperService::new(service),
        );
        let conn = graceful.watch(conn.into_owned());
        tokio::spawn(async move {
            if let Err(err) = conn.await {
                tracing::trace!(%err, "connection ended");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after {DRAIN:?}; stopping anyway");
    }
    Ok(())
}

/// Serves the sts face on `listener` until `shutdown` completes (the peer address goes into
/// the audit rows).
pub async fn run_sts(
    listener: TcpListener,
    state: Arc<StsState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_app(listener, sts::router(state), None, shutdown).await
}

/// Builds the tc-sts face's state: the keys (the Tencent root key among them), `DIR/iam.sqlite3`
/// (roles and nonces, shared with the sts face) and the audit log. The data directory must
/// have its Tencent account (`serve` adds it; see [`crate::datadir::ensure_tencent_account`]).
pub fn tc_sts_state(dir: &DataDir) -> anyhow::Result<Arc<TcStsState>> {
    tc_sts_state_with_audit(dir, audit_log(dir)?)
}

/// [`tc_sts_state`] with the audit log given (tests plug in one that fails).
pub fn tc_sts_state_with_audit(
    dir: &DataDir,
    audit: Arc<dyn AuditLog>,
) -> anyhow::Result<Arc<TcStsState>> {
    Ok(Arc::new(TcStsState::open(dir, audit)?))
}

/// Serves the tc-sts face on `listener` until `shutdown` completes (the peer address goes into
/// the audit rows and policy conditions).
pub async fn run_tc_sts(
    listener: TcpListener,
    state: Arc<TcStsState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_app(listener, tc_sts::router(state), None, shutdown).await
}

/// Serves the oss face on `listener` until `shutdown` completes.
pub async fn run_oss(
    listener: TcpListener,
    state: Arc<OssState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_app(listener, oss::router(state), None, shutdown).await
}

/// The default region the cos face reports.
pub const DEFAULT_COS_REGION: &str = "ap-guangzhou";

/// The embedded object faces the api face issues for (`local` grants): the store (grant buckets
/// are created in it when first needed) and where each face listens (`None`: turned off).
#[derive(Debug, Clone, Default)]
pub struct Local {
    pub store: Option<Store>,
    /// `http://IP:PORT` of the oss face.
    pub oss_endpoint: Option<String>,
    /// `http://IP:PORT` of the cos face.
    pub cos_endpoint: Option<String>,
    /// The cos face's region (default [`DEFAULT_COS_REGION`]).
    pub cos_region: Option<String>,
    /// Offer the console's "sign in as NAME" (`POST /v1/dev/token`): `serve` sets it only
    /// without a config and with the api face on a loopback address.
    pub dev_sign_in: bool,
    /// The console's origins, which the grants' embedded buckets get a CORS rule for (at start
    /// and when the api face creates one): `serve` sets them only without a config.
    pub console_origins: Vec<String>,
    /// The config file `serve` runs with, which the operator's `GET /v1/status` checks as
    /// `stsgate check` does.
    pub config_path: Option<std::path::PathBuf>,
}

impl Local {
    /// The oss face alone.
    pub fn oss(store: Store, endpoint: &str) -> Local {
        Local {
            store: Some(store),
            oss_endpoint: Some(endpoint.to_string()),
            ..Local::default()
        }
    }
}

/// Serves the cos face on `listener` until `shutdown` completes.
pub async fn run_cos(
    listener: TcpListener,
    state: Arc<CosState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_app(listener, cos::router(state), None, shutdown).await
}

/// Builds the api face's state: the JWT key (`DIR/jwt-hs256.key`, created if absent), the grants
/// of `config` (or the defaults; `${appid}` filled with the data directory's Tencent AppId), the
/// providers (`[provider.NAME]`; a grant whose inline policy could exceed its STS's limit fails
/// here), `DIR/iam.sqlite3` and `DIR/audit.sqlite3`.
pub fn api_state(dir: &DataDir, config: &Config, local: Local) -> anyhow::Result<Arc<ApiState>> {
    // Shared with the sts face (one writer per audit.sqlite3 per process).
    let audit = audit_log(dir)?;
    api_state_with_audit(dir, config, local, audit)
}

/// [`api_state`] with the audit log given (tests plug in one that fails).
pub fn api_state_with_audit(
    dir: &DataDir,
    config: &Config,
    local: Local,
    audit: Arc<dyn AuditLog>,
) -> anyhow::Result<Arc<ApiState>> {
    let key = crate::datadir::jwt_hs256_key(&dir.path)?;
    let mut verifier = Verifier::from_config(&config.api.jwt, &config.api_key, &key)?;
    if let Some(op) = &dir.operator_key {
        verifier.set_operator_key(op.expose());
    }
    let app_id = dir.tencent.as_ref().map(|t| t.app_id.as_str());
    let mut grants = Vec::new();
    for g in &config.grants {
        match (g.vendor, app_id) {
            (crate::common::provider::Vendor::Tencent, None)
                if g.provider == crate::common::provider::LOCAL =>
            {
                anyhow::bail!("grant {:?} is a Tencent grant, and {} has no Tencent account yet (start `stsgate serve` once to add it)", g.name, dir.path.display())
            }
            (_, Some(app_id)) => grants.push(g.clone().with_app_id(app_id)),
            (_, None) => grants.push(g.clone()),
        }
    }
    let providers = api::upstream::providers(config)?;
    api::upstream::check_providers(&grants, &providers)?;
    // Each Alibaba grant on the embedded store gets its `/auth/custom` signing key, held to the
    // grant's object actions under the prefix's fixed part.
    let signing_keys = SigningKeys::open(&dir.path, &dir.master_key)?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    for g in grants.iter().filter(|g| {
        g.vendor == crate::common::provider::Vendor::Aliyun
            && g.provider == crate::common::provider::LOCAL
    }) {
        let policy = crate::aliyun::policy::render(g, &g.fixed_prefix());
        signing_keys.ensure(&g.name, &policy, now)?;
    }
    Ok(Arc::new(ApiState {
        buckets_seen: Default::default(),
        verifier,
        grants,
        tokens: TokenKey::new(&dir.master_key),
        account_id: dir.account_id.clone(),
        iam: Iam::open(&dir.path, &dir.root.id)?,
        audit,
        store: local.store,
        oss_endpoint: local.oss_endpoint,
        cos_endpoint: local.cos_endpoint,
        cos_region: local
            .cos_region
            .unwrap_or_else(|| DEFAULT_COS_REGION.to_string()),
        tencent: dir.tencent.clone(),
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
        signing_keys,
        console_origins: local.console_origins,
        config_path: local.config_path,
        dev_sign_in: local
            .dev_sign_in
            .then(|| api::console::DevSignIn { key: key.clone() }),
    }))
}

/// Serves the api face on `listener` until `shutdown` completes.
pub async fn run_api(
    listener: TcpListener,
    state: Arc<ApiState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    run_api_tls(listener, state, None, shutdown).await
}

/// [`run_api`], over https when `tls` is given.
pub async fn run_api_tls(
    listener: TcpListener,
    state: Arc<ApiState>,
    tls: Option<crate::tls::Tls>,
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
    let served = serve_app(listener, api::router(state), tls, shutdown).await;
    housekeeping.abort();
    served
}
