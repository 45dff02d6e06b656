//! Binds and runs the faces. `run_oss` and `run_sts` take an already-bound listener, so tests
//! bind `127.0.0.1:0` and the binary binds the configured address.

use crate::aliyun::auth::Keyring;
use crate::aliyun::oss::{self, OssState};
use crate::aliyun::sts::{self, StsState};
use crate::datadir::DataDir;
use crate::iam::Iam;
use crate::token::TokenKey;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use stsgate_store::Store;
use tokio::net::TcpListener;

/// The default region reported to SDKs.
pub const DEFAULT_REGION: &str = "cn-hangzhou";

/// Builds the oss face's state over a data directory (opens the store, sweeping leftovers).
pub fn oss_state(dir: &DataDir, region: &str) -> anyhow::Result<Arc<OssState>> {
    let store = Store::open(&dir.path.join("store"))?;
    Ok(Arc::new(OssState {
        store,
        keys: Keyring {
            account_id: dir.account_id.clone(),
            root: dir.root.clone(),
            tokens: TokenKey::new(&dir.master_key),
        },
        region: region.to_string(),
    }))
}

/// Builds the sts face's state: the keys and `DIR/iam.sqlite3` (created with role `app`).
pub fn sts_state(dir: &DataDir) -> anyhow::Result<Arc<StsState>> {
    Ok(Arc::new(StsState {
        keys: Keyring {
            account_id: dir.account_id.clone(),
            root: dir.root.clone(),
            tokens: TokenKey::new(&dir.master_key),
        },
        iam: Iam::open(&dir.path, &dir.root.id)?,
    }))
}

/// Serves the sts face on `listener` until `shutdown` completes.
pub async fn run_sts(
    listener: TcpListener,
    state: Arc<StsState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, sts::router(state))
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
