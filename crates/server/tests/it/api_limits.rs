//! Rate limits (429 + `Retry-After`, per caller and per client IP) and `GET /metrics`, through
//! `oneshot`.

use axum::body::Body;
use axum::extract::ConnectInfo;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use stsgate::api::{self, callers, ApiState};
use stsgate::common::audit::{AuditLog, SqliteAudit};
use stsgate::config::Config;
use stsgate::datadir::{self, DataDir};
use stsgate::serve;
use tower::ServiceExt;

struct Api {
    _tmp: tempfile::TempDir,
    dir: DataDir,
    state: Arc<ApiState>,
}

impl Api {
    fn new(config: &str) -> Api {
        let tmp = tempfile::tempdir().unwrap();
        let dir = datadir::open(&tmp.path().join("data"), &Default::default())
            .unwrap()
            .dir;
        let oss = serve::oss_state(&dir, serve::DEFAULT_REGION).unwrap();
        let audit: Arc<dyn AuditLog> = Arc::new(SqliteAudit::open(&dir.path).unwrap());
        let state = serve::api_state_with_audit(
            &dir,
            &Config::parse(config).unwrap(),
            serve::Local::oss(oss.store.clone(), "http://127.0.0.1:1"),
            audit,
        )
        .unwrap();
        Api {
            _tmp: tmp,
            dir,
            state,
        }
    }

    fn token(&self, sub: &str) -> String {
        let key = datadir::jwt_hs256_key(&self.dir.path).unwrap();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        callers::mint_hs256(&key, &callers::dev_claims(sub, &[], now, 600)).unwrap()
    }

    async fn send(&self, uri: &str, bearer: Option<&str>, ip: Option<&str>) -> Response<Body> {
        let mut req = Request::get(uri);
        if let Some(t) = bearer {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let mut req = req.body(Body::empty()).unwrap();
        if let Some(ip) = ip {
            let addr: SocketAddr = format!("{ip}:40000").parse().unwrap();
            req.extensions_mut().insert(ConnectInfo(addr));
        }
        api::router(self.state.clone()).oneshot(req).await.unwrap()
    }

    async fn metrics(&self) -> String {
        let resp = self.send("/metrics", None, None).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }
}

async fn json(resp: Response<Body>) -> Value {
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

/// The value of the sample `line_start` (name and labels) in a Prometheus text exposition.
fn sample(text: &str, line_start: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(line_start)?.trim().parse().ok())
}

const CREDS: &str = "/v1/credentials?grant=user-folder";

#[tokio::test]
async fn a_caller_over_its_limit_gets_429_while_another_is_served() {
    let api = Api::new(
        "[api.rate_limit]\nper_caller = { per_second = 1, burst = 3 }\nper_ip = { per_second = 0 }\n",
    );
    let (alice, bob) = (api.token("alice"), api.token("bob"));
    for i in 0..3 {
        let resp = api.send(CREDS, Some(&alice), Some("10.0.0.1")).await;
        assert_eq!(resp.status(), StatusCode::OK, "request {i}");
    }
    let resp = api.send(CREDS, Some(&alice), Some("10.0.0.1")).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    let body = json(resp).await;
    assert_eq!(body["error"]["code"], "RateLimited", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("per-caller"),
        "{body}"
    );
    // Another caller (same IP) is still served.
    let resp = api.send(CREDS, Some(&bob), Some("10.0.0.1")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    // More refusals of alice: the audit log keeps a sample (the first), metrics count them all.
    for _ in 0..5 {
        let resp = api.send(CREDS, Some(&alice), Some("10.0.0.1")).await;
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    }
    let rows = SqliteAudit::open(&api.dir.path).unwrap().all().unwrap();
    let limited: Vec<_> = rows
        .iter()
        .filter(|r| r.outcome == "refused:RateLimited")
        .collect();
    assert_eq!(limited.len(), 1, "{rows:?}");
    assert_eq!(limited[0].caller, "jwt:alice");
    let m = api.metrics().await;
    assert_eq!(
        sample(&m, r#"stsgate_api_rate_limited_total{scope="caller"}"#),
        Some(6.0),
        "{m}"
    );
}

#[tokio::test]
async fn the_ip_limit_applies_before_authentication() {
    let api = Api::new("[api.rate_limit]\nper_ip = { per_second = 1, burst = 2 }\n");
    for _ in 0..2 {
        let resp = api.send(CREDS, Some("garbage"), Some("192.0.2.7")).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
    let resp = api.send(CREDS, Some("garbage"), Some("192.0.2.7")).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().contains_key("retry-after"));
    assert_eq!(json(resp).await["error"]["code"], "RateLimited");
    // /healthz is exempt; another IP is served.
    let resp = api.send("/healthz", None, Some("192.0.2.7")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = api.send(CREDS, None, Some("192.0.2.8")).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let m = api.metrics().await;
    assert_eq!(
        sample(&m, r#"stsgate_api_rate_limited_total{scope="ip"}"#),
        Some(1.0),
        "{m}"
    );
    let rows = SqliteAudit::open(&api.dir.path).unwrap().all().unwrap();
    assert!(rows
        .iter()
        .any(|r| r.outcome == "refused:RateLimited" && r.client_ip == "192.0.2.7"));
}

#[tokio::test]
async fn metrics_move_after_issuance_refusal_and_cache_hit() {
    let api = Api::new("");
    let t = api.token("carol");
    assert_eq!(
        api.send(CREDS, Some(&t), None).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        api.send(&format!("{CREDS}&format=aliyun-sts"), Some(&t), None)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        api.send(CREDS, None, None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let m = api.metrics().await;
    let issued = |fmt: &str| {
        sample(
            &m,
            &format!(r#"stsgate_api_issuances_total{{grant="user-folder",format="{fmt}"}}"#),
        )
    };
    assert_eq!(issued("stsgate"), Some(1.0), "{m}");
    assert_eq!(issued("aliyun-sts"), Some(1.0), "{m}");
    assert_eq!(
        sample(&m, r#"stsgate_api_cache_hits_total{grant="user-folder"}"#),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        sample(
            &m,
            r#"stsgate_api_refusals_total{reason="Unauthenticated"}"#
        ),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        sample(
            &m,
            r#"stsgate_api_request_duration_seconds_count{route="/v1/credentials",status="200"}"#
        ),
        Some(2.0),
        "{m}"
    );
    assert!(m.contains("# TYPE stsgate_api_request_duration_seconds histogram"));
    assert!(!m.contains("carol"), "no caller ids in metrics");
}

#[tokio::test]
async fn metrics_can_be_turned_off() {
    let api = Api::new("[api]\nmetrics = false\n");
    let resp = api.send("/metrics", None, None).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}
