//! `POST /v1/revoke` through `oneshot`: the operator revokes a caller or one access key id, the oss
//! face refuses those credentials within a second, others are unaffected.

use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use stsgate::aliyun::oss::{self, OssState};
use stsgate::api::{self, callers, ApiState};
use stsgate::common::audit::{Record, SqliteAudit};
use stsgate::config::Config;
use stsgate::datadir::{self, DataDir};
use stsgate::serve;
use stsgate_signing::oss_v1;
use tower::ServiceExt;

/// The api and oss faces over one data directory.
pub struct Harness {
    _tmp: tempfile::TempDir,
    pub dir: DataDir,
    pub api: Arc<ApiState>,
    pub oss: Arc<OssState>,
}

impl Harness {
    pub fn new() -> Harness {
        let tmp = tempfile::tempdir().unwrap();
        let dir = datadir::open(&tmp.path().join("data"), &Default::default())
            .unwrap()
            .dir;
        let oss = serve::oss_state(&dir, serve::DEFAULT_REGION).unwrap();
        let api = serve::api_state(
            &dir,
            &Config::default(),
            serve::Local::oss(oss.store.clone(), "http://127.0.0.1:1"),
        )
        .unwrap();
        Harness {
            _tmp: tmp,
            dir,
            api,
            oss,
        }
    }

    pub fn token(&self, sub: &str) -> String {
        let key = datadir::jwt_hs256_key(&self.dir.path).unwrap();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        callers::mint_hs256(&key, &callers::dev_claims(sub, &[], now, 600)).unwrap()
    }

    pub fn operator(&self) -> String {
        self.dir.operator_key.as_ref().unwrap().expose().to_string()
    }

    pub async fn api_call(
        &self,
        method: &str,
        uri: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = bearer {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let body = match body {
            Some(v) => Body::from(v.to_string()),
            None => Body::empty(),
        };
        let resp = api::router(self.api.clone())
            .oneshot(req.body(body).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    pub async fn credentials(&self, bearer: &str) -> Value {
        let (status, body) = self
            .api_call(
                "GET",
                "/v1/credentials?grant=user-folder",
                Some(bearer),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// GET of `/app/<key>` signed (V1) with temporary credentials: (status, body).
    pub async fn oss_get(&self, creds: &Value, key: &str) -> (StatusCode, String) {
        let s = |k: &str| creds[k].as_str().unwrap().to_string();
        let date = httpdate::fmt_http_date(std::time::SystemTime::now());
        let token = s("SecurityToken");
        let sts = oss_v1::string_to_sign(
            "GET",
            "",
            "",
            &date,
            &format!("x-oss-security-token:{token}\n"),
            &format!("/app/{key}"),
        );
        let req = Request::get(format!("/app/{key}"))
            .header("host", "127.0.0.1:8702")
            .header("date", &date)
            .header("x-oss-security-token", &token)
            .header(
                "authorization",
                format!(
                    "OSS {}:{}",
                    s("AccessKeyId"),
                    oss_v1::sign(&s("AccessKeySecret"), &sts)
                ),
            )
            .body(Body::empty())
            .unwrap();
        let resp = oss::router(self.oss.clone()).oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    pub fn audit(&self) -> Vec<Record> {
        SqliteAudit::open(&self.dir.path).unwrap().all().unwrap()
    }
}

/// Waits (at most 1.5 s) until the oss face refuses `creds` as revoked.
async fn refused_within_a_second(h: &Harness, creds: &Value, key: &str) {
    let start = Instant::now();
    loop {
        let (status, body) = h.oss_get(creds, key).await;
        if status == StatusCode::FORBIDDEN {
            assert!(body.contains("<Code>InvalidSecurityToken</Code>"), "{body}");
            assert!(body.contains("revoked"), "{body}");
            return;
        }
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert!(
            start.elapsed() < Duration::from_millis(1500),
            "still accepted 1.5 s after the revocation"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn revoking_a_caller_stops_its_credentials_only() {
    let h = Harness::new();
    let (alice, bob) = (h.token("alice"), h.token("bob"));
    let a = h.credentials(&alice).await;
    let b = h.credentials(&bob).await;
    assert_eq!(
        h.oss_get(&a, "users/alice/x").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(h.oss_get(&b, "users/bob/x").await.0, StatusCode::NOT_FOUND);

    // Only the operator key revokes.
    let body = json!({"caller": "jwt:alice"});
    let (status, _) = h
        .api_call("POST", "/v1/revoke", None, Some(body.clone()))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, err) = h
        .api_call("POST", "/v1/revoke", Some(&bob), Some(body.clone()))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{err}");
    let (status, err) = h
        .api_call(
            "POST",
            "/v1/revoke",
            Some(&h.operator()),
            Some(json!({"caller": "jwt:alice", "access_key_id": "STS.x"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");

    let (status, out) = h
        .api_call("POST", "/v1/revoke", Some(&h.operator()), Some(body))
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["revoked"]["caller"], "jwt:alice");
    assert_eq!(out["cached_dropped"], 1);
    assert_eq!(out["audited"], true);
    refused_within_a_second(&h, &a, "users/alice/x").await;
    assert_eq!(h.oss_get(&b, "users/bob/x").await.0, StatusCode::NOT_FOUND);

    // Not a ban: credentials issued after the revocation (a later second) work.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let a2 = h.credentials(&alice).await;
    assert_ne!(a2["AccessKeyId"], a["AccessKeyId"], "the cache was dropped");
    assert_eq!(
        h.oss_get(&a2, "users/alice/x").await.0,
        StatusCode::NOT_FOUND
    );

    let rows = h.audit();
    let row = rows.iter().find(|r| r.outcome == "revoked").unwrap();
    assert_eq!(row.caller, "operator");
    assert!(row.detail.contains("jwt:alice"), "{row:?}");
}

#[tokio::test]
async fn revoking_one_access_key_id() {
    let h = Harness::new();
    let bob = h.token("bob");
    let b = h.credentials(&bob).await;
    let ak = b["AccessKeyId"].as_str().unwrap().to_string();
    let (status, out) = h
        .api_call(
            "POST",
            "/v1/revoke",
            Some(&h.operator()),
            Some(json!({ "access_key_id": ak })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["cached_dropped"], 1);
    refused_within_a_second(&h, &b, "users/bob/x").await;
    // bob himself is not revoked: new credentials (even in the same second) work.
    let b2 = h.credentials(&bob).await;
    assert_ne!(b2["AccessKeyId"], b["AccessKeyId"]);
    assert_eq!(h.oss_get(&b2, "users/bob/x").await.0, StatusCode::NOT_FOUND);
    // The root key is not a temporary credential.
    let (status, _) = h
        .api_call(
            "POST",
            "/v1/revoke",
            Some(&h.operator()),
            Some(json!({ "access_key_id": h.dir.root.id })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
