//! The api face through `oneshot`: refusals (401/400/404/503 JSON), formats, reuse and
//! single-flight, the audit log.

use axum::body::Body;
use axum::Router;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use stsgate::api::{self, callers, ApiState};
use stsgate::common::audit::{AuditLog, Record, SqliteAudit};
use stsgate::config::Config;
use stsgate::datadir::{self, DataDir};
use stsgate::serve;
use tower::ServiceExt;

struct Api {
    _tmp: tempfile::TempDir,
    dir: DataDir,
    state: Arc<ApiState>,
}

#[derive(Debug)]
struct BrokenAudit;

impl AuditLog for BrokenAudit {
    fn record(&self, _: &Record) -> anyhow::Result<()> {
        anyhow::bail!("disk full")
    }
}

impl Api {
    fn new() -> Api {
        Api::with(|dir| Arc::new(SqliteAudit::open(&dir.path).unwrap()) as Arc<dyn AuditLog>)
    }

    fn with(audit: impl FnOnce(&DataDir) -> Arc<dyn AuditLog>) -> Api {
        let tmp = tempfile::tempdir().unwrap();
        let dir = datadir::open(&tmp.path().join("data"), &Default::default())
            .unwrap()
            .dir;
        let oss = serve::oss_state(&dir, serve::DEFAULT_REGION).unwrap();
        let audit = audit(&dir);
        let state = serve::api_state_with_audit(
            &dir,
            // Rate limits off: `concurrent_askers_share_one_issuance` sends 200 asks of one
            // caller at once (the limits are tested in api_limits.rs).
            &Config::parse("[api.rate_limit]\nenabled = false\n").unwrap(),
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

    fn app(&self) -> Router {
        api::router(self.state.clone())
    }

    fn token(&self, sub: &str, ttl: i64) -> String {
        let key = datadir::jwt_hs256_key(&self.dir.path).unwrap();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        callers::mint_hs256(&key, &callers::dev_claims(sub, &[], now, ttl)).unwrap()
    }

    async fn get(&self, uri: &str, bearer: Option<&str>) -> (StatusCode, Value) {
        let mut req = Request::get(uri);
        if let Some(t) = bearer {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let resp = self
            .app()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, body)
    }

    fn audit(&self) -> Vec<Record> {
        SqliteAudit::open(&self.dir.path).unwrap().all().unwrap()
    }
}

const CREDS: &str = "/v1/credentials?grant=user-folder";

fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn healthz() {
    let api = Api::new();
    let resp = api
        .app()
        .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn missing_expired_and_foreign_tokens_are_401_json() {
    let api = Api::new();
    let (status, body) = api.get(CREDS, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "Unauthenticated");
    assert!(message(&body).contains("no Authorization header"), "{body}");

    let (status, body) = api.get(CREDS, Some(&api.token("alice", -3600))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(message(&body).contains("expired"), "{body}");

    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let foreign =
        callers::mint_hs256(&[7u8; 32], &callers::dev_claims("alice", &[], now, 600)).unwrap();
    let (status, body) = api.get(CREDS, Some(&foreign)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        message(&body).contains("signature does not match"),
        "{body}"
    );

    let (status, _) = api.get(CREDS, Some("garbage")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let outcomes: Vec<String> = api.audit().into_iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes, vec!["refused:Unauthenticated"; 4]);
}

#[tokio::test]
async fn unknown_or_missing_grant_and_bad_format() {
    let api = Api::new();
    let t = api.token("alice", 600);
    let (status, body) = api.get("/v1/credentials?grant=nope", Some(&t)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "NoSuchGrant");
    assert!(message(&body).contains("user-folder"), "{body}");
    let (status, _) = api.get("/v1/credentials", Some(&t)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = api.get(&format!("{CREDS}&format=xml"), Some(&t)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&body).contains("oss-app-server"), "{body}");
}

#[tokio::test]
async fn hostile_subjects_are_400_and_audited() {
    let api = Api::new();
    for sub in ["../bob", "*", "a/b", "x?", &"a".repeat(10_000)] {
        let (status, body) = api.get(CREDS, Some(&api.token(sub, 600))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{sub}: {body}");
        assert_eq!(body["error"]["code"], "InvalidClaim");
    }
    assert_eq!(api.state.issued.load(Ordering::SeqCst), 0);
    assert!(api
        .audit()
        .iter()
        .all(|r| r.outcome == "refused:InvalidClaim"));
}

#[tokio::test]
async fn audit_failure_issues_nothing() {
    let api = Api::with(|_| Arc::new(BrokenAudit));
    let (status, body) = api.get(CREDS, Some(&api.token("alice", 600))).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "AuditUnavailable");
    assert!(body.get("AccessKeyId").is_none());
    // The next ask does not get cached credentials either.
    let (status, _) = api.get(CREDS, Some(&api.token("alice", 600))).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn formats_carry_the_fields_clients_read() {
    let api = Api::new();
    let t = api.token("alice", 600);
    let (status, s) = api.get(CREDS, Some(&t)).await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!(s["Bucket"], "app");
    assert_eq!(s["Prefix"], "users/alice/");
    assert_eq!(s["Endpoint"], "http://127.0.0.1:1");
    assert_eq!(s["Actions"], json!(["read", "write", "list", "delete"]));
    let exp = s["Expiration"].as_str().unwrap();
    assert!(exp.len() == 20 && exp.ends_with('Z'), "{exp}");
    for k in ["ServerTime", "StartTime", "RefreshAfter", "Region"] {
        assert!(s[k].is_string(), "{k}");
    }
    let (_, app) = api
        .get(&format!("{CREDS}&format=oss-app-server"), Some(&t))
        .await;
    assert_eq!(app["StatusCode"], 200);
    let (_, uri) = api
        .get(&format!("{CREDS}&format=alibaba-credentials-uri"), Some(&t))
        .await;
    assert_eq!(uri["Code"], "Success");
    let (_, sts) = api
        .get(&format!("{CREDS}&format=aliyun-sts"), Some(&t))
        .await;
    assert!(sts["AssumedRoleUser"]["Arn"]
        .as_str()
        .unwrap()
        .ends_with(":role/app/alice"));
    // One issuance, reused by every format; the bucket exists now.
    for v in [&app, &uri, &sts["Credentials"]] {
        assert_eq!(v["AccessKeyId"], s["AccessKeyId"]);
    }
    assert_eq!(api.state.issued.load(Ordering::SeqCst), 1);
    api.state.store.as_ref().unwrap().get_bucket("app").unwrap();
    let audit = api.audit();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].caller, "jwt:alice");
    assert_eq!(audit[0].prefix, "users/alice/");
    assert_eq!(audit[0].access_key_id, s["AccessKeyId"].as_str().unwrap());
    // Another caller gets its own.
    let (_, bob) = api.get(CREDS, Some(&api.token("bob", 600))).await;
    assert_ne!(bob["AccessKeyId"], s["AccessKeyId"]);
    assert_eq!(bob["Prefix"], "users/bob/");
}

#[tokio::test]
async fn error_shapes_follow_the_format() {
    let api = Api::new();
    let (status, body) = api
        .get(&format!("{CREDS}&format=oss-app-server"), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["StatusCode"], 401);
    assert_eq!(body["ErrorCode"], "Unauthenticated");
    assert!(body["ErrorMessage"].is_string());
    let (_, body) = api
        .get(&format!("{CREDS}&format=alibaba-credentials-uri"), None)
        .await;
    assert_eq!(body["Code"], "Unauthenticated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_askers_share_one_issuance() {
    let api = Arc::new(Api::new());
    let t = api.token("carol", 600);
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let (api, t) = (api.clone(), t.clone());
        tasks.push(tokio::spawn(async move { api.get(CREDS, Some(&t)).await }));
    }
    let mut keys = std::collections::HashSet::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert_eq!(status, StatusCode::OK);
        keys.insert(body["AccessKeyId"].as_str().unwrap().to_string());
    }
    assert_eq!(keys.len(), 1);
    assert_eq!(api.state.issued.load(Ordering::SeqCst), 1);
}
