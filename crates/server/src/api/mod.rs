//! The api face: the authorization server app users trade a bearer token at for temporary
//! credentials limited to their grant.
//!
//! - [`callers`] — who is asking (`Authorization: Bearer <JWT>`, HS256 with `DIR/jwt-hs256.key`).
//! - [`grants`] — what they may ask for, and the narrowest RAM policy for it.
//! - [`credentials`] — `/v1/credentials`: reuse/single-flight cache, minting, formats.
//! - [`audit`] — every issuance and refusal in `DIR/audit.sqlite3` (fail closed).
//! - [`error`] — `ApiError` → status and JSON body.
//! - [`presign`] — `/v1/presign`, `/v1/post-policy`; [`sign`] — `/v1/sign` (V1 string-to-sign
//!   checked against the grant); [`compat`] — seed 000's `/auth/sts`, `/auth/custom`;
//!   [`signer`] — what they share (scoped credentials from the cache, audit rows).
//! - [`limits`] — rate limits per client IP and per caller (429 + `Retry-After`);
//!   [`metrics`] — `GET /metrics` (Prometheus); [`front`] — the one layer around every route
//!   (per-IP limit, request durations, refusal counts).
//! - [`tickets`] — `/v1/tickets` and `/v1/credentials/t/<ticket>` (header-less mobile SDKs);
//!   [`revoke`] — `/v1/revoke` (operator key).
//! - [`console`] — the web console at `/` and `/console/…` (static files in the binary, a strict
//!   CSP), `GET /v1/grants`, and `POST /v1/dev/token` (only without a config, on loopback).
//! - [`upstream`] — issuance for grants of a remote provider (`[provider.NAME]`, Alibaba Cloud
//!   STS `AssumeRole`), and the OSS endpoint and region their URLs and answers use.

pub mod callers;
pub mod compat;
pub mod console;
pub mod credentials;
pub mod error;
pub mod front;
pub mod grants;
pub mod limits;
pub mod metrics;
pub mod operators;
pub mod presign;
pub mod revoke;
pub mod sign;
pub mod signer;
pub mod tickets;
pub mod upstream;

use crate::common::audit::{self, AuditLog, Record};
use crate::iam::Iam;
use crate::token::TokenKey;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use credentials::{Ask, Cache, Format};
use error::ApiError;
use grants::Grant;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use stsgate_store::{Acl, Store, StoreError};
use time::OffsetDateTime;

/// The process's allocator: mimalloc (the api face's hot paths are allocation-heavy, and glibc
/// malloc showed as ~15% of their profiles with many threads).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// What the api face needs.
#[derive(Debug)]
pub struct ApiState {
    pub verifier: callers::Verifier,
    pub grants: Vec<Grant>,
    /// Mints the temporary credentials (the oss face opens them).
    pub tokens: TokenKey,
    pub account_id: String,
    /// Role `app`: its policy is every issued credential's role policy.
    pub iam: Iam,
    pub audit: Arc<dyn AuditLog>,
    /// The object store, to create a grant's bucket when first needed (`None`: oss face off).
    pub store: Option<Store>,
    /// Buckets last seen in the store, and when (see [`ApiState::bucket_known`]).
    pub buckets_seen: std::sync::Mutex<HashMap<String, std::time::Instant>>,
    /// `http://IP:PORT` of the oss face, reported in the `stsgate` format.
    pub oss_endpoint: Option<String>,
    pub region: String,
    /// `http://IP:PORT` of the cos face (`local` Tencent grants' endpoint).
    pub cos_endpoint: Option<String>,
    /// The cos face's region (Tencent grants' CAM resources and answers).
    pub cos_region: String,
    /// The data directory's Tencent account (AppId, Uin; `local` Tencent grants).
    pub tencent: Option<crate::datadir::TencentAccount>,
    pub cache: Cache,
    /// Credentials minted since start (tests and, later, metrics).
    pub issued: AtomicU64,
    /// Rate limits (`[api.rate_limit]`).
    pub limits: limits::Limits,
    /// This server's counters and histograms.
    pub metrics: metrics::Metrics,
    /// Whether `GET /metrics` is served (`[api] metrics`, default true).
    pub expose_metrics: bool,
    /// Revoked credentials (`POST /v1/revoke`), shared with the oss face.
    pub revocations: Arc<crate::revocations::Revocations>,
    /// Seals and opens `/v1/tickets` tickets.
    pub tickets: tickets::TicketKey,
    /// Who issues each grant's credentials (`local` and every `[provider.NAME]`).
    pub providers: crate::common::provider::Providers,
    /// The `/auth/custom` keys of grants on the embedded store, shared with the oss face.
    pub signing_keys: Arc<crate::signing_keys::SigningKeys>,
    /// The console's "sign in as NAME" (`POST /v1/dev/token`): only without a config, with the
    /// api face on loopback.
    pub dev_sign_in: Option<console::DevSignIn>,
    /// Origins the console is served from, which every grant bucket this face creates in the
    /// embedded store gets a CORS rule for (only without a config; see [`console::allow_console`]).
    pub console_origins: Vec<String>,
    /// The config file the server runs with (`None`: the defaults), for `GET /v1/status`.
    pub config_path: Option<std::path::PathBuf>,
}

impl ApiState {
    /// Creates `bucket` (private) if it does not exist yet.
    pub fn ensure_bucket(&self, bucket: &str) -> Result<(), ApiError> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        if self.bucket_known(bucket) {
            return Ok(());
        }
        let known = || {
            let mut seen = self.buckets_seen.lock().unwrap_or_else(|e| e.into_inner());
            seen.insert(bucket.to_string(), std::time::Instant::now());
        };
        match store.get_bucket(bucket) {
            Ok(_) => {
                known();
                Ok(())
            }
            Err(StoreError::NoSuchBucket) => {
                match store.create_bucket(
                    bucket,
                    Acl::Private,
                    "Standard",
                    OffsetDateTime::now_utc(),
                ) {
                    Ok(_) => {
                        console::allow_console(store, bucket, &self.console_origins)?;
                        known();
                        Ok(())
                    }
                    Err(StoreError::BucketAlreadyExists) => {
                        known();
                        Ok(())
                    }
                    Err(e) => Err(ApiError::Internal(format!("creating bucket {bucket}: {e}"))),
                }
            }
            Err(e) => Err(ApiError::Internal(format!("reading bucket {bucket}: {e}"))),
        }
    }

    /// Whether `bucket` was seen in the store within the last second (so issuing for it needs
    /// no store read: a bucket deleted meanwhile is created again within a second).
    pub fn bucket_known(&self, bucket: &str) -> bool {
        if self.store.is_none() {
            return true;
        }
        let seen = self.buckets_seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.get(bucket)
            .is_some_and(|at| at.elapsed() < std::time::Duration::from_secs(1))
    }
}

/// The api face's router.
pub fn router(state: Arc<ApiState>) -> Router {
    let mut router = Router::new();
    if state.expose_metrics {
        router = router.route("/metrics", get(metrics::handler));
    }
    if state.dev_sign_in.is_some() {
        router = router.route("/v1/dev/token", post(console::dev_token_handler));
    }
    router
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/", get(console::index))
        .route("/console", get(console::index))
        .route("/console/", get(console::index))
        .route("/console/config.json", get(console::config))
        .route("/console/{file}", get(console::asset))
        .route("/console/vendor/{file}", get(console::vendor_asset))
        .route("/v1/grants", get(grants::list_handler))
        .route(
            "/v1/credentials",
            get(credentials_handler).post(credentials_handler),
        )
        .route("/v1/audit", get(operators::audit_handler))
        .route("/v1/status", get(operators::status_handler))
        .route("/v1/revoke", post(revoke::handler))
        .route("/v1/tickets", post(tickets::mint_handler))
        .route("/v1/credentials/t/{ticket}", get(tickets::use_handler))
        .route("/v1/presign", post(presign::presign_handler))
        .route("/v1/post-policy", post(presign::post_policy_handler))
        .route("/v1/sign", post(sign::handler))
        .route("/auth/sts", get(compat::sts_handler))
        .route("/auth/custom", post(compat::custom_handler))
        .route("/sign", get(compat::tencent_sign_handler))
        .fallback(|| async {
            ApiError::NotFound("no such route: see /v1/credentials?grant=NAME".into())
        })
        .layer(front::FrontLayer::new(state.clone()))
        .with_state(state)
}

async fn credentials_handler(State(state): State<Arc<ApiState>>, req: Request) -> Response {
    let request_id = signer::request_id();
    let query: HashMap<String, String> = Query::try_from_uri(req.uri())
        .map(|Query(q)| q)
        .unwrap_or_default();
    let ask = Ask {
        authorization: req
            .headers()
            .get(http::header::AUTHORIZATION)
            .map(|v| v.as_bytes().to_vec()),
        grant: query.get("grant").cloned(),
        request_id: request_id.clone(),
        client_ip: req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string())
            .unwrap_or_default(),
    };
    let mut record = Record {
        request_id: request_id.clone(),
        client_ip: ask.client_ip.clone(),
        grant: ask.grant.clone().unwrap_or_default(),
        ..Record::default()
    };
    let result = match Format::parse(query.get("format").map(String::as_str)) {
        Ok(format) => {
            let asked = query.get("duration").map(String::as_str);
            // A shape of the other cloud is refused before anything is issued (an unknown
            // grant is left to `scoped`, which authenticates first).
            let shape_fits = credentials::find_grant(&state.grants, ask.grant.as_deref())
                .map_or(Ok(()), |g| format.check_grant(g));
            match shape_fits
                .and_then(|()| operators::asked_duration(&state, &ask, asked, &mut record))
            {
                Ok(min_life) => {
                    // Boxed: a small handler future (see compat::custom_handler).
                    Box::pin(credentials::scoped(&state, &ask, &mut record, min_life)).await
                }
                Err(e) => Err(e),
            }
            .map(|issued| (format, issued))
            .map_err(|e| (format, e))
        }
        Err(e) => Err((Format::Stsgate, e)),
    };
    match result {
        Ok((format, issued)) => {
            state
                .metrics
                .issuance(&record.grant, metrics::format_label(format));
            let body = credentials::render_bytes(&state, &issued, format, &request_id);
            let mut resp = body.into_response();
            let headers = resp.headers_mut();
            headers.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
            headers.insert(
                http::header::CACHE_CONTROL,
                http::HeaderValue::from_static("no-store"),
            );
            resp
        }
        Err((format, err)) if !err.audited() => err.render_for(format, &request_id),
        Err((format, err)) => {
            record.time = OffsetDateTime::now_utc().unix_timestamp();
            record.outcome = format!("refused:{}", err.code());
            record.detail = err.to_string();
            if audit::write(&state.audit, record).await.is_err() {
                tracing::error!(request_id, "audit log write of a refusal failed");
            }
            err.render_for(format, &request_id)
        }
    }
}
