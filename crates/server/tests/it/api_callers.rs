//! Callers and operators of the api face through `oneshot`: every refusal of `/v1/credentials`
//! is a 4xx JSON error *and* an audit row that the operator key reads back from `/v1/audit`;
//! API key callers; the `duration` parameter; `/v1/audit` filters, pages and refusals.

use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
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
    api_key: String,
}

impl Api {
    fn new() -> Api {
        let tmp = tempfile::tempdir().unwrap();
        let dir = datadir::open(&tmp.path().join("data"), &Default::default())
            .unwrap()
            .dir;
        let (api_key, hash) = callers::new_api_key();
        let config = Config::parse(&format!(
            "[api.jwt]\naudience = \"my-app\"\n\
             [[api_key]]\nname = \"importer\"\nsha256 = \"{hash}\"\n\
             [[grant]]\nname = \"user-folder\"\nbucket = \"app\"\nprefix = \"users/${{sub}}/\"\n\
             actions = [\"read\", \"write\"]\ndefault_duration = 900\nmax_duration = 3600\n"
        ))
        .unwrap();
        let oss = serve::oss_state(&dir, serve::DEFAULT_REGION).unwrap();
        let audit = Arc::new(SqliteAudit::open(&dir.path).unwrap()) as Arc<dyn AuditLog>;
        let state = serve::api_state_with_audit(
            &dir,
            &config,
            serve::Local::oss(oss.store.clone(), "http://127.0.0.1:1"),
            audit,
        )
        .unwrap();
        Api {
            _tmp: tmp,
            dir,
            state,
            api_key,
        }
    }

    fn operator(&self) -> String {
        self.dir.operator_key.as_ref().unwrap().expose().to_string()
    }

    fn token_with(&self, key: &[u8], sub: &str, aud: &str, ttl: i64) -> String {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let extra = [("aud".to_string(), aud.to_string())];
        callers::mint_hs256(key, &callers::dev_claims(sub, &extra, now, ttl)).unwrap()
    }

    fn token(&self, sub: &str) -> String {
        let key = datadir::jwt_hs256_key(&self.dir.path).unwrap();
        self.token_with(&key, sub, "my-app", 600)
    }

    async fn get(&self, uri: &str, bearer: Option<&str>) -> (StatusCode, Value) {
        let mut req = Request::get(uri);
        if let Some(t) = bearer {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let resp = api::router(self.state.clone())
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let ctype = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        assert!(ctype.starts_with("application/json"), "{uri}: {ctype}");
        (status, serde_json::from_slice(&bytes).unwrap())
    }
}

const CREDS: &str = "/v1/credentials?grant=user-folder";

/// What is tried, the URI, the bearer credential, and the expected status, code and message part.
type Case = (
    &'static str,
    String,
    Option<String>,
    StatusCode,
    &'static str,
    &'static str,
);

#[tokio::test]
async fn every_refusal_is_a_4xx_json_error_and_is_audited() {
    let api = Api::new();
    let key = datadir::jwt_hs256_key(&api.dir.path).unwrap();
    let long = "a".repeat(10 * 1024);
    let cases: Vec<Case> = vec![
        (
            "no token",
            CREDS.into(),
            None,
            StatusCode::UNAUTHORIZED,
            "Unauthenticated",
            "no Authorization header",
        ),
        (
            "bad signature",
            CREDS.into(),
            Some(api.token_with(&[7u8; 32], "alice", "my-app", 600)),
            StatusCode::UNAUTHORIZED,
            "Unauthenticated",
            "signature does not match",
        ),
        (
            "expired",
            CREDS.into(),
            Some(api.token_with(&key, "alice", "my-app", -3600)),
            StatusCode::UNAUTHORIZED,
            "Unauthenticated",
            "expired",
        ),
        (
            "wrong audience",
            CREDS.into(),
            Some(api.token_with(&key, "alice", "other-app", 600)),
            StatusCode::UNAUTHORIZED,
            "Unauthenticated",
            "`aud`",
        ),
        (
            "sub ../bob",
            CREDS.into(),
            Some(api.token("../bob")),
            StatusCode::BAD_REQUEST,
            "InvalidClaim",
            "",
        ),
        (
            "sub *",
            CREDS.into(),
            Some(api.token("*")),
            StatusCode::BAD_REQUEST,
            "InvalidClaim",
            "",
        ),
        (
            "sub a/b",
            CREDS.into(),
            Some(api.token("a/b")),
            StatusCode::BAD_REQUEST,
            "InvalidClaim",
            "",
        ),
        (
            "empty sub",
            CREDS.into(),
            Some(api.token("")),
            StatusCode::UNAUTHORIZED,
            "Unauthenticated",
            "`sub`",
        ),
        (
            "10 KB sub",
            CREDS.into(),
            Some(api.token(&long)),
            StatusCode::BAD_REQUEST,
            "InvalidClaim",
            "",
        ),
        (
            "unknown grant",
            "/v1/credentials?grant=nope".into(),
            Some(api.token("alice")),
            StatusCode::NOT_FOUND,
            "NoSuchGrant",
            "no grant named",
        ),
        (
            "over-long duration",
            format!("{CREDS}&duration=7200"),
            Some(api.token("alice")),
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            "max_duration of 3600",
        ),
        (
            "unknown API key",
            CREDS.into(),
            Some("sk_not-a-key".into()),
            StatusCode::UNAUTHORIZED,
            "Unauthenticated",
            "[[api_key]]",
        ),
    ];
    for (what, uri, bearer, status, code, part) in &cases {
        let (got, body) = api.get(uri, bearer.as_deref()).await;
        assert_eq!(got, *status, "{what}: {body}");
        assert_eq!(body["error"]["code"], *code, "{what}: {body}");
        let msg = body["error"]["message"].as_str().unwrap();
        assert!(msg.contains(part) && !msg.is_empty(), "{what}: {msg}");
    }

    // The operator reads every refusal back, in order, with the caller where one was known.
    let op = api.operator();
    let (status, page) = api
        .get("/v1/audit?outcome=refused&limit=1000", Some(&op))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let rows = page["records"].as_array().unwrap();
    assert_eq!(rows.len(), cases.len(), "{page}");
    for ((what, _, _, _, code, _), row) in cases.iter().zip(rows) {
        assert_eq!(row["outcome"], format!("refused:{code}"), "{what}: {row}");
        assert!(!row["detail"].as_str().unwrap().is_empty(), "{what}");
        assert!(!row["request_id"].as_str().unwrap().is_empty(), "{what}");
    }
    assert_eq!(rows[4]["caller"], "jwt:../bob");
    assert_eq!(rows[9]["grant"], "nope");
    assert_eq!(rows[10]["caller"], "jwt:alice");
    assert!(rows[10]["detail"].as_str().unwrap().contains("7200"));
    assert_eq!(page["next_cursor"], Value::Null);
}

#[tokio::test]
async fn api_key_callers_and_the_duration_parameter() {
    let api = Api::new();
    let (status, body) = api.get(CREDS, Some(&api.api_key)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["Prefix"], "users/importer/");

    let t = api.token("alice");
    let expiry = |b: &Value| {
        let s = b["Expiration"].as_str().unwrap().to_string();
        time::OffsetDateTime::parse(&s, &time::format_description::well_known::Rfc3339)
            .unwrap()
            .unix_timestamp()
            - time::OffsetDateTime::now_utc().unix_timestamp()
    };
    let (status, body) = api.get(CREDS, Some(&t)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!((850..=900).contains(&expiry(&body)), "{body}");
    let (status, body) = api.get(&format!("{CREDS}&duration=1800"), Some(&t)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!((1750..=1800).contains(&expiry(&body)), "{body}");
    for bad in ["abc", "60", "3601", "-1"] {
        let (status, body) = api.get(&format!("{CREDS}&duration={bad}"), Some(&t)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("duration"),
            "{body}"
        );
    }

    let op = api.operator();
    let (_, page) = api
        .get("/v1/audit?caller=key:importer&outcome=issued", Some(&op))
        .await;
    assert_eq!(page["records"].as_array().unwrap().len(), 1, "{page}");
    let (_, page) = api
        .get("/v1/audit?caller=jwt:alice&outcome=issued", Some(&op))
        .await;
    assert_eq!(page["records"].as_array().unwrap().len(), 2, "{page}");
}

#[tokio::test]
async fn audit_is_for_the_operator_key_only_and_pages() {
    let api = Api::new();
    let t = api.token("alice");
    for _ in 0..5 {
        api.get("/v1/credentials?grant=nope", Some(&t)).await;
    }
    let (status, body) = api.get("/v1/audit", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    for caller in [t.as_str(), api.api_key.as_str()] {
        let (status, body) = api.get("/v1/audit", Some(caller)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["error"]["code"], "OperatorOnly");
    }
    let (status, _) = api.get("/v1/audit", Some("sgop_guess")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let op = api.operator();
    let (status, body) = api.get("/v1/audit?limit=1001", Some(&op)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = api.get("/v1/audit?color=red", Some(&op)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let mut seen = Vec::new();
    let mut uri = "/v1/audit?grant=nope&limit=2".to_string();
    loop {
        let (status, page) = api.get(&uri, Some(&op)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let rows = page["records"].as_array().unwrap();
        assert!(rows.len() <= 2);
        seen.extend(rows.iter().map(|r| r["id"].as_i64().unwrap()));
        match page["next_cursor"].as_str() {
            Some(c) => uri = format!("/v1/audit?grant=nope&limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    assert!(seen.windows(2).all(|w| w[0] < w[1]));

    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let (_, page) = api
        .get(&format!("/v1/audit?since={}", now + 3600), Some(&op))
        .await;
    assert!(page["records"].as_array().unwrap().is_empty());
    let (_, page) = api
        .get(
            &format!("/v1/audit?since={}&until={}", now - 60, now + 60),
            Some(&op),
        )
        .await;
    assert_eq!(page["records"].as_array().unwrap().len(), 5);
}
