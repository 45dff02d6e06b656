//! The api face for Tencent grants (the default `cos-folder`): the three Tencent formats, seed
//! 004's `GET /sign`, shapes of the other cloud refused, and what the issued credentials may do
//! (their CAM policy, resolved and evaluated as the cos face does). The real SDKs drive the
//! same routes in `conformance/test_api_tencent.py`.

use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::sync::Arc;
use stsgate::api::{self, callers, ApiState};
use stsgate::common::provider::Vendor;
use stsgate::common::resolve::Principal;
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
    fn new() -> Api {
        let tmp = tempfile::tempdir().unwrap();
        let dir = datadir::open(&tmp.path().join("data"), &Default::default())
            .unwrap()
            .dir;
        let oss = serve::oss_state(&dir, serve::DEFAULT_REGION).unwrap();
        let local = serve::Local {
            store: Some(oss.store.clone()),
            oss_endpoint: Some("http://127.0.0.1:1".into()),
            cos_endpoint: Some("http://127.0.0.1:2".into()),
            cos_region: None,
            ..serve::Local::default()
        };
        let state = serve::api_state(&dir, &Config::default(), local).unwrap();
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

    async fn call(&self, req: http::request::Builder, body: Body) -> (StatusCode, Value) {
        let resp = api::router(self.state.clone())
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

    async fn get(&self, uri: &str, sub: &str) -> (StatusCode, Value) {
        let bearer = format!("Bearer {}", self.token(sub));
        self.call(
            Request::get(uri).header("authorization", bearer),
            Body::empty(),
        )
        .await
    }

    async fn post(&self, uri: &str, sub: &str, body: Value) -> (StatusCode, Value) {
        let bearer = format!("Bearer {}", self.token(sub));
        let req = Request::post(uri)
            .header("authorization", bearer)
            .header("content-type", "application/json");
        self.call(req, Body::from(body.to_string())).await
    }

    fn keyring(&self) -> stsgate::common::resolve::Keyring {
        serve::keyring(&self.dir, false).unwrap()
    }

    fn app_id(&self) -> String {
        self.dir.tencent.as_ref().unwrap().app_id.clone()
    }
}

#[tokio::test]
async fn tencent_formats_carry_what_the_sdks_read() {
    let api = Api::new();
    let (status, t) = api
        .get("/v1/credentials?grant=cos-folder&format=tencent", "alice")
        .await;
    assert_eq!(status, StatusCode::OK, "{t}");
    let id = t["credentials"]["tmpSecretId"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(id.starts_with("AKID"), "{t}");
    let (start, expired) = (
        t["startTime"].as_i64().unwrap(),
        t["expiredTime"].as_i64().unwrap(),
    );
    assert_eq!(expired - start, 900);
    assert_eq!(
        expired.to_string().len(),
        10,
        "getAuthorization wants 10 digits"
    );
    assert!(t["credentials"]["sessionToken"]
        .as_str()
        .unwrap()
        .starts_with("TCST"));
    // The same credentials in the other two shapes (reused from the cache).
    let (_, legacy) = api
        .get(
            "/v1/credentials?grant=cos-folder&format=tencent-legacy",
            "alice",
        )
        .await;
    assert_eq!(legacy["code"], 0);
    assert_eq!(legacy["codeDesc"], "Success");
    assert_eq!(legacy["data"]["credentials"]["tmpSecretId"], id.as_str());
    assert_eq!(legacy["data"]["expiredTime"], expired);
    let (_, v3) = api
        .get(
            "/v1/credentials?grant=cos-folder&format=tencent-v3",
            "alice",
        )
        .await;
    assert_eq!(v3["Response"]["Credentials"]["TmpSecretId"], id.as_str());
    assert_eq!(v3["Response"]["ExpiredTime"], expired);
    let (_, own) = api.get("/v1/credentials?grant=cos-folder", "alice").await;
    assert_eq!(own["Vendor"], "tencent");
    assert_eq!(own["Bucket"], format!("app-{}", api.app_id()));
    assert_eq!(own["Region"], "ap-guangzhou");
    assert_eq!(own["Endpoint"], "http://127.0.0.1:2");
    assert_eq!(own["Prefix"], "users/alice/");
}

#[tokio::test]
async fn shapes_of_the_other_cloud_are_refused_before_issuing() {
    let api = Api::new();
    for uri in [
        "/v1/credentials?grant=cos-folder&format=aliyun-sts",
        "/v1/credentials?grant=user-folder&format=tencent",
    ] {
        let (status, body) = api.get(uri, "alice").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("format=stsgate"),
            "{body}"
        );
    }
    assert_eq!(
        api.state.issued.load(std::sync::atomic::Ordering::Relaxed),
        0
    );
}

#[tokio::test]
async fn seed_004_sign_returns_the_legacy_shape_for_the_caller_only() {
    let api = Api::new();
    let (status, a) = api.get("/sign", "alice").await;
    assert_eq!(status, StatusCode::OK, "{a}");
    assert_eq!(a["code"], 0);
    assert_eq!(a["message"], "");
    let creds = &a["data"]["credentials"];
    let (id, token) = (
        creds["tmpSecretId"].as_str().unwrap(),
        creds["sessionToken"].as_str().unwrap(),
    );
    // The credentials resolve as Tencent ones and their CAM policy fences the caller in.
    let now = time::OffsetDateTime::now_utc();
    let (principal, _) = api
        .keyring()
        .resolve(Vendor::Tencent, id, Some(token), now)
        .unwrap();
    let Principal::Temporary(claims) = principal else {
        panic!("temporary credentials expected")
    };
    assert!(claims.role_policy.is_none());
    let policy = stsgate_policy::parse_cam(claims.session_policy.as_deref().unwrap()).unwrap();
    let decide = |key: &str| {
        let context = stsgate_policy::Context {
            source_ip: None,
            current_time: now,
            secure_transport: false,
            user_agent: None,
            access_key_id: None,
            prefix: None,
            delimiter: None,
            existing_object_tags: None,
            request_object_tags: None,
        };
        let resource = format!("qcs::cos:ap-guangzhou:uid/{0}:app-{0}/{key}", api.app_id());
        policy.evaluate(&stsgate_policy::Request {
            action: "cos:PutObject",
            resource: &resource,
            context: &context,
        })
    };
    assert_eq!(decide("users/alice/a.txt"), stsgate_policy::Decision::Allow);
    assert_ne!(
        decide("users/alicex/a.txt"),
        stsgate_policy::Decision::Allow
    );
    assert_ne!(decide("users/bob/a.txt"), stsgate_policy::Decision::Allow);
    // Another caller gets other credentials; errors keep the legacy shape.
    let (_, b) = api.get("/sign", "bob").await;
    assert_ne!(b["data"]["credentials"]["tmpSecretId"], id);
    let (status, e) = api.get("/sign?grant=user-folder", "alice").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["code"], 400, "{e}");
    assert_eq!(e["codeDesc"], "InvalidParameter");
    let (status, e) = api.call(Request::get("/sign"), Body::empty()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(e["codeDesc"], "Unauthenticated");
}

#[tokio::test]
async fn presign_post_policy_and_sign_speak_cos_for_tencent_grants() {
    let api = Api::new();
    let bucket = format!("app-{}", api.app_id());
    let (status, p) = api
        .post(
            "/v1/presign",
            "alice",
            json!({"grant": "cos-folder", "method": "PUT", "key": "users/alice/a.txt"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{p}");
    let url = p["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!(
            "http://127.0.0.1:2/{bucket}/users/alice/a.txt?q-sign-algorithm=sha1&q-ak=AKID"
        )),
        "{url}"
    );
    assert!(url.contains("&x-cos-security-token=TCST"), "{url}");
    let (status, _) = api
        .post(
            "/v1/presign",
            "alice",
            json!({"grant": "cos-folder", "method": "PUT", "key": "users/alicex/a.txt"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, f) = api
        .post(
            "/v1/post-policy",
            "alice",
            json!({"grant": "cos-folder", "max_size": 1024}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{f}");
    assert_eq!(f["fields"]["q-sign-algorithm"], "sha1");
    assert!(f["fields"]["q-key-time"].as_str().unwrap().contains(';'));
    let (status, s) = api
        .post(
            "/v1/sign",
            "alice",
            json!({"grant": "cos-folder", "method": "put", "key": "/users/alice/a.txt",
                   "query": {}, "headers": {"Content-Length": 2, "Host": format!("{bucket}.cos.ap-guangzhou.myqcloud.com")}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{s}");
    let auth = s["authorization"].as_str().unwrap();
    assert!(
        auth.starts_with("q-sign-algorithm=sha1&q-ak=AKID"),
        "{auth}"
    );
    assert!(
        auth.contains("&q-header-list=content-length;host&"),
        "{auth}"
    );
    assert!(s["security_token"].as_str().unwrap().starts_with("TCST"));
    let (status, e) = api
        .post(
            "/v1/sign",
            "alice",
            json!({"grant": "cos-folder", "method": "put", "key": "users/bob/a.txt"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(e["error"]["code"], "OutsideGrant");
}
