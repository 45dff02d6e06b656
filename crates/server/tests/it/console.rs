//! The web console's routes through `oneshot`: the files and their headers, `GET /v1/grants`, and
//! `POST /v1/dev/token`, which exists only when `serve` offers "sign in as NAME".

use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use std::sync::Arc;
use stsgate::api::{self, ApiState};
use stsgate::config::Config;
use stsgate::datadir;
use stsgate::serve;
use tower::ServiceExt;

fn state(dev_sign_in: bool) -> (tempfile::TempDir, Arc<ApiState>) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = datadir::open(&tmp.path().join("data"), &Default::default())
        .unwrap()
        .dir;
    let oss = serve::oss_state(&dir, serve::DEFAULT_REGION).unwrap();
    let local = serve::Local {
        dev_sign_in,
        ..serve::Local::oss(oss.store.clone(), "http://127.0.0.1:1")
    };
    let state = serve::api_state(&dir, &Config::default(), local).unwrap();
    (tmp, state)
}

async fn call(
    state: &Arc<ApiState>,
    method: &str,
    uri: &str,
    bearer: Option<&str>,
    body: &str,
) -> (StatusCode, http::HeaderMap, Vec<u8>) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = bearer {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let resp = api::router(state.clone())
        .oneshot(req.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes().to_vec();
    (parts.status, parts.headers, bytes)
}

#[tokio::test]
async fn pages_carry_the_csp_and_their_types() {
    let (_tmp, state) = state(false);
    for (uri, ty) in [
        ("/", "text/html; charset=utf-8"),
        ("/console/", "text/html; charset=utf-8"),
        ("/console/app.js", "text/javascript; charset=utf-8"),
        ("/console/style.css", "text/css; charset=utf-8"),
        ("/console/sdk.js", "text/javascript; charset=utf-8"),
        (
            "/console/vendor/aliyun-oss-sdk.min.js",
            "text/javascript; charset=utf-8",
        ),
        (
            "/console/vendor/cos-js-sdk-v5.min.js",
            "text/javascript; charset=utf-8",
        ),
    ] {
        let (status, headers, body) = call(&state, "GET", uri, None, "").await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert_eq!(headers["content-type"], ty, "{uri}");
        assert!(!body.is_empty());
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'self'"), "{csp}");
        assert!(
            csp.contains("connect-src 'self' http://127.0.0.1:1;"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("unsafe"), "{csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["cache-control"], "no-cache");
        let etag = headers["etag"].to_str().unwrap().to_string();
        let mut req = Request::builder().uri(uri);
        req = req.header("if-none-match", &etag);
        let resp = api::router(state.clone())
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_MODIFIED, "{uri}");
    }
    for uri in [
        "/console/nope.js",
        "/console/vendor/nope.js",
        "/console/vendor/index.html",
        "/console/vendor/..%2Findex.html",
    ] {
        let (status, headers, _) = call(&state, "GET", uri, None, "").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert!(headers.contains_key("content-security-policy"), "{uri}");
    }
}

#[tokio::test]
async fn dev_token_only_when_offered() {
    let (_tmp, off) = state(false);
    let (status, _, _) = call(&off, "POST", "/v1/dev/token", None, r#"{"sub":"alice"}"#).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, _, cfg) = call(&off, "GET", "/console/config.json", None, "").await;
    let cfg: Value = serde_json::from_slice(&cfg).unwrap();
    assert_eq!(cfg["dev_sign_in"], false);

    let (_tmp2, on) = state(true);
    let (status, headers, body) =
        call(&on, "POST", "/v1/dev/token", None, r#"{"sub":"alice"}"#).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["cache-control"], "no-store");
    let token = serde_json::from_slice::<Value>(&body).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _, body) = call(&on, "GET", "/v1/grants", Some(&token), "").await;
    assert_eq!(status, StatusCode::OK);
    let grants: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(grants["caller"], "jwt:alice");
    assert_eq!(grants["grants"][0]["name"], "user-folder");
    assert_eq!(grants["grants"][0]["prefix"], "users/alice/");
    for bad in [r#"{"sub":"../bob"}"#, r#"{"sub":""}"#, r#"{"name":"x"}"#] {
        let (status, _, _) = call(&on, "POST", "/v1/dev/token", None, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let (status, _, _) = call(&on, "GET", "/v1/grants", None, "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[test]
fn grant_buckets_let_the_console_in_without_a_config() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = datadir::open(&tmp.path().join("data"), &Default::default())
        .unwrap()
        .dir;
    let oss = serve::oss_state(&dir, serve::DEFAULT_REGION).unwrap();
    let store = oss.store.clone();
    // `app` exists with a rule of its own (kept); the Tencent grant's bucket does not exist yet.
    store
        .create_bucket(
            "app",
            stsgate_store::Acl::Private,
            "Standard",
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
    let own = stsgate_store::CorsRule {
        allowed_origins: vec!["https://mine.example".into()],
        allowed_methods: vec!["GET".into()],
        ..Default::default()
    };
    let config = stsgate_store::CorsConfig {
        rules: vec![own.clone()],
        response_vary: false,
    };
    store.set_bucket_cors("app", Some(&config)).unwrap();
    let origins = vec![
        "http://127.0.0.1:8700".to_string(),
        "http://localhost:8700".to_string(),
    ];
    let local = serve::Local {
        console_origins: origins.clone(),
        ..serve::Local::oss(store.clone(), "http://127.0.0.1:1")
    };
    let state = serve::api_state(&dir, &Config::default(), local).unwrap();
    for _ in 0..2 {
        // Twice: a second start adds nothing.
        api::console::allow_console_in_grant_buckets(&state).unwrap();
    }
    let rules = store.get_bucket_cors("app").unwrap().unwrap().rules;
    assert_eq!(rules.len(), 2, "{rules:?}");
    assert_eq!(rules[0], own);
    assert_eq!(rules[1].allowed_origins, origins);
    assert!(rules[1].allowed_methods.contains(&"PUT".to_string()));
    let cos_bucket = state.grants[1].bucket.clone();
    assert!(
        store.get_bucket(&cos_bucket).is_err(),
        "not created at start"
    );
    state.ensure_bucket(&cos_bucket).unwrap();
    let rules = store.get_bucket_cors(&cos_bucket).unwrap().unwrap().rules;
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].allowed_origins, origins);
}
