//! Grant conditions through `oneshot`: `required_claims` and `source_ips` refuse with a 403 that
//! names the condition (audited), and issued credentials carry the source IP condition into the
//! oss face.

use axum::body::Body;
use axum::extract::ConnectInfo;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use stsgate::aliyun::oss::{self, OssState};
use stsgate::api::{self, callers, ApiState};
use stsgate::common::audit::SqliteAudit;
use stsgate::config::Config;
use stsgate::datadir::{self, DataDir};
use stsgate::serve;
use stsgate_signing::oss_v1;
use tower::ServiceExt;

const CONFIG: &str = r#"
[[grant]]
name = "editors"
bucket = "app"
prefix = "users/${sub}/"
actions = ["read", "write", "list"]
required_claims = { role = "editor", plan = ["pro", "team"] }

[[grant]]
name = "office"
bucket = "app"
prefix = "users/${sub}/"
actions = ["read", "write"]
source_ips = ["10.0.0.0/8", "127.0.0.1/32"]
"#;

struct H {
    _tmp: tempfile::TempDir,
    dir: DataDir,
    api: Arc<ApiState>,
    oss: Arc<OssState>,
}

impl H {
    fn new() -> H {
        let tmp = tempfile::tempdir().unwrap();
        let dir = datadir::open(&tmp.path().join("data"), &Default::default())
            .unwrap()
            .dir;
        let oss = serve::oss_state(&dir, serve::DEFAULT_REGION).unwrap();
        let config = Config::parse(CONFIG).unwrap();
        let api = serve::api_state(
            &dir,
            &config,
            serve::Local::oss(oss.store.clone(), "http://127.0.0.1:1"),
        )
        .unwrap();
        H {
            _tmp: tmp,
            dir,
            api,
            oss,
        }
    }

    fn token(&self, sub: &str, extra: &[(&str, &str)]) -> String {
        let key = datadir::jwt_hs256_key(&self.dir.path).unwrap();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let extra: Vec<(String, String)> = extra
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        callers::mint_hs256(&key, &callers::dev_claims(sub, &extra, now, 600)).unwrap()
    }

    async fn creds(&self, grant: &str, bearer: &str, ip: Option<&str>) -> (StatusCode, Value) {
        let mut req = Request::get(format!("/v1/credentials?grant={grant}"))
            .header("authorization", format!("Bearer {bearer}"))
            .body(Body::empty())
            .unwrap();
        if let Some(ip) = ip {
            let addr: SocketAddr = format!("{ip}:40000").parse().unwrap();
            req.extensions_mut().insert(ConnectInfo(addr));
        }
        let resp = api::router(self.api.clone()).oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// PUT of `/app/<key>` (V1) with temporary credentials, from `ip`.
    async fn oss_put(&self, creds: &Value, key: &str, ip: &str) -> StatusCode {
        let s = |k: &str| creds[k].as_str().unwrap().to_string();
        let date = httpdate::fmt_http_date(std::time::SystemTime::now());
        let token = s("SecurityToken");
        let sts = oss_v1::string_to_sign(
            "PUT",
            "",
            "",
            &date,
            &format!("x-oss-security-token:{token}\n"),
            &format!("/app/{key}"),
        );
        let mut req = Request::put(format!("/app/{key}"))
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
            .body(Body::from("hi"))
            .unwrap();
        let addr: SocketAddr = format!("{ip}:40000").parse().unwrap();
        req.extensions_mut().insert(ConnectInfo(addr));
        oss::router(self.oss.clone())
            .oneshot(req)
            .await
            .unwrap()
            .status()
    }
}

#[tokio::test]
async fn required_claims_refuse_with_403_naming_the_claim() {
    let h = H::new();
    let plain = h.token("alice", &[]);
    let (status, body) = h.creds("editors", &plain, Some("127.0.0.1")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "ConditionNotMet");
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("\"plan\"") || msg.contains("\"role\""),
        "{msg}"
    );

    let wrong = h.token("alice", &[("role", "editor"), ("plan", "free")]);
    let (status, body) = h.creds("editors", &wrong, Some("127.0.0.1")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("\"plan\""));

    let ok = h.token("alice", &[("role", "editor"), ("plan", "team")]);
    let (status, body) = h.creds("editors", &ok, Some("127.0.0.1")).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let rows = SqliteAudit::open(&h.dir.path).unwrap().all().unwrap();
    let refused: Vec<_> = rows
        .iter()
        .filter(|r| r.grant == "editors" && r.outcome != "issued")
        .collect();
    assert_eq!(refused.len(), 2, "{rows:?}");
    assert!(refused.iter().all(|r| r.caller == "jwt:alice"));
    assert!(
        refused.iter().any(|r| r.detail.contains("\"plan\"")),
        "{refused:?}"
    );
    assert!(rows
        .iter()
        .any(|r| r.grant == "editors" && r.outcome == "issued"));
}

#[tokio::test]
async fn source_ips_refuse_outside_callers_and_bind_the_credentials() {
    let h = H::new();
    let alice = h.token("alice", &[]);
    for ip in ["192.0.2.7", "11.0.0.1"] {
        let (status, body) = h.creds("office", &alice, Some(ip)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["error"]["code"], "ConditionNotMet");
        assert!(body["error"]["message"].as_str().unwrap().contains(ip));
    }
    // No peer address known: refused too.
    assert_eq!(
        h.creds("office", &alice, None).await.0,
        StatusCode::FORBIDDEN
    );

    let (status, creds) = h.creds("office", &alice, Some("127.0.0.1")).await;
    assert_eq!(status, StatusCode::OK, "{creds}");
    let (status, inside) = h.creds("office", &alice, Some("10.1.2.3")).await;
    assert_eq!(status, StatusCode::OK, "{inside}");
    // The oss face enforces the same ranges through the session policy.
    assert_eq!(
        h.oss_put(&creds, "users/alice/a.txt", "127.0.0.1").await,
        StatusCode::OK
    );
    assert_eq!(
        h.oss_put(&creds, "users/alice/a.txt", "10.200.0.1").await,
        StatusCode::OK
    );
    assert_eq!(
        h.oss_put(&creds, "users/alice/a.txt", "192.0.2.7").await,
        StatusCode::FORBIDDEN
    );
    let rows = SqliteAudit::open(&h.dir.path).unwrap().all().unwrap();
    assert!(rows
        .iter()
        .any(|r| r.grant == "office" && r.client_ip == "192.0.2.7" && r.outcome != "issued"));
}
