//! `/v1/presign`, `/v1/post-policy`, `/v1/sign`, `/auth/sts`, `/auth/custom` through `oneshot`,
//! with what they sign sent to the oss face (same data directory) through `oneshot` too.

use axum::body::Body;
use axum::Router;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::sync::Arc;
use stsgate::aliyun::oss;
use stsgate::api::{self, callers, ApiState};
use stsgate::common::audit::{AuditLog, Record, SqliteAudit};
use stsgate::config::Config;
use stsgate::datadir::{self, DataDir};
use stsgate::serve;
use tower::ServiceExt;

const ENDPOINT: &str = "http://127.0.0.1:1";

struct Faces {
    _tmp: tempfile::TempDir,
    dir: DataDir,
    api: Arc<ApiState>,
    oss: Router,
}

#[derive(Debug)]
struct BrokenAudit;

impl AuditLog for BrokenAudit {
    fn record(&self, _: &Record) -> anyhow::Result<()> {
        anyhow::bail!("disk full")
    }
}

impl Faces {
    fn new() -> Faces {
        Faces::with(|dir| Arc::new(SqliteAudit::open(&dir.path).unwrap()) as Arc<dyn AuditLog>)
    }

    fn with(audit: impl FnOnce(&DataDir) -> Arc<dyn AuditLog>) -> Faces {
        let tmp = tempfile::tempdir().unwrap();
        let dir = datadir::open(&tmp.path().join("data"), &Default::default())
            .unwrap()
            .dir;
        let oss_state = serve::oss_state(&dir, serve::DEFAULT_REGION).unwrap();
        let audit = audit(&dir);
        let api = serve::api_state_with_audit(
            &dir,
            &Config::default(),
            serve::Local::oss(oss_state.store.clone(), ENDPOINT),
            audit,
        )
        .unwrap();
        Faces {
            _tmp: tmp,
            dir,
            api,
            oss: oss::router(oss_state),
        }
    }

    fn token(&self, sub: &str) -> String {
        let key = datadir::jwt_hs256_key(&self.dir.path).unwrap();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        callers::mint_hs256(&key, &callers::dev_claims(sub, &[], now, 600)).unwrap()
    }

    async fn call(&self, req: Request<Body>) -> (StatusCode, http::HeaderMap, String) {
        let resp = api::router(self.api.clone()).oneshot(req).await.unwrap();
        let (status, headers) = (resp.status(), resp.headers().clone());
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    async fn post_json(
        &self,
        path: &str,
        bearer: Option<&str>,
        body: Value,
    ) -> (StatusCode, Value) {
        let mut req = Request::post(path).header("content-type", "application/json");
        if let Some(t) = bearer {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let (status, _, text) = self
            .call(req.body(Body::from(body.to_string())).unwrap())
            .await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Sends a request to the oss face; `url` may be absolute (`ENDPOINT` is stripped).
    async fn oss(&self, req: http::request::Builder, body: &'static [u8]) -> (StatusCode, String) {
        let req = req
            .header("host", "127.0.0.1:1")
            .body(Body::from(body))
            .unwrap();
        let resp = self.oss.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    fn audit(&self) -> Vec<Record> {
        SqliteAudit::open(&self.dir.path).unwrap().all().unwrap()
    }
}

fn path_of(url: &str) -> &str {
    url.strip_prefix(ENDPOINT).unwrap()
}

fn message(body: &Value) -> String {
    body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn date_now() -> String {
    httpdate::fmt_http_date(std::time::SystemTime::now())
}

#[tokio::test]
async fn presigned_put_and_get_work_at_the_oss_face_v1_and_v4() {
    let f = Faces::new();
    let t = f.token("alice");
    for version in ["v1", "v4"] {
        let key = format!("users/alice/{version} a+b.txt");
        let (status, put) = f
            .post_json(
                "/v1/presign",
                Some(&t),
                json!({"grant": "user-folder", "method": "PUT", "key": key, "version": version,
                       "content_type": "text/plain"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{put}");
        assert_eq!(put["method"], "PUT");
        assert_eq!(put["headers"]["Content-Type"], "text/plain");
        let url = put["url"].as_str().unwrap();
        let (status, body) = f
            .oss(
                Request::put(path_of(url)).header("content-type", "text/plain"),
                b"hello",
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{version}: {body}");
        let (_, get) = f
            .post_json(
                "/v1/presign",
                Some(&t),
                json!({"grant": "user-folder", "method": "GET", "key": key, "version": version}),
            )
            .await;
        let (status, body) = f
            .oss(Request::get(path_of(get["url"].as_str().unwrap())), b"")
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body, "hello");
        // The PUT URL does not sign another method or another key.
        let (status, _) = f.oss(Request::delete(path_of(url)), b"").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let outcomes: Vec<String> = f.audit().into_iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes.iter().filter(|o| *o == "presigned").count(), 4);
}

#[tokio::test]
async fn presign_refuses_what_is_outside_the_grant() {
    let f = Faces::new();
    let t = f.token("alice");
    let cases = [
        (
            json!({"grant": "user-folder", "method": "GET", "key": "users/bob/a"}),
            StatusCode::FORBIDDEN,
            "outside your prefix",
        ),
        (
            json!({"grant": "user-folder", "method": "PUT", "key": "users/alicex/a"}),
            StatusCode::FORBIDDEN,
            "outside your prefix",
        ),
        (
            json!({"grant": "user-folder", "method": "GET", "key": "users/alice/../bob/a"}),
            StatusCode::FORBIDDEN,
            "..",
        ),
        (
            json!({"grant": "user-folder", "method": "GET", "key": "users/alice/a", "expires": 999_999}),
            StatusCode::FORBIDDEN,
            "maximum",
        ),
        (
            json!({"grant": "user-folder", "method": "POST", "key": "users/alice/a"}),
            StatusCode::BAD_REQUEST,
            "GET, PUT",
        ),
        (
            json!({"grant": "user-folder", "method": "GET", "key": "users/alice/a", "version": "v9"}),
            StatusCode::BAD_REQUEST,
            "v1 or v4",
        ),
        (
            json!({"grant": "nope", "method": "GET", "key": "users/alice/a"}),
            StatusCode::NOT_FOUND,
            "user-folder",
        ),
        (
            json!({"grant": "user-folder", "key": "users/alice/a"}),
            StatusCode::BAD_REQUEST,
            "method",
        ),
    ];
    for (body, status, why) in cases {
        let (got, answer) = f.post_json("/v1/presign", Some(&t), body.clone()).await;
        assert_eq!(got, status, "{body}: {answer}");
        assert!(message(&answer).contains(why), "{body}: {answer}");
    }
    let (status, _) = f
        .post_json(
            "/v1/presign",
            None,
            json!({"grant": "user-folder", "method": "GET", "key": "users/alice/a"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let audit = f.audit();
    assert!(audit.iter().any(|r| r.outcome == "refused:OutsideGrant"
        && r.caller == "jwt:alice"
        && r.detail.contains("users/bob/a")));
    assert!(audit.iter().all(|r| r.outcome != "presigned"));
    // Refused before any credentials were minted.
    assert_eq!(f.api.issued.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[tokio::test]
async fn post_policy_fields_are_signed_for_the_prefix() {
    let f = Faces::new();
    let t = f.token("alice");
    let (status, body) = f
        .post_json(
            "/v1/post-policy",
            Some(&t),
            json!({"grant": "user-folder", "max_size": 10, "content_types": ["text/plain"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["url"], format!("{ENDPOINT}/app/"));
    let fields = &body["fields"];
    assert_eq!(fields["key"], "users/alice/${filename}");
    assert_eq!(fields["success_action_status"], "201");
    for k in [
        "policy",
        "OSSAccessKeyId",
        "Signature",
        "x-oss-security-token",
    ] {
        assert!(fields[k].is_string(), "{k}");
    }
    let (status, body) = f
        .post_json(
            "/v1/post-policy",
            Some(&t),
            json!({"grant": "user-folder", "key_prefix": "users/bob/", "max_size": 10}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = f
        .post_json(
            "/v1/post-policy",
            Some(&t),
            json!({"grant": "user-folder", "max_size": 0}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn sign_and_custom_signatures_work_at_the_oss_face() {
    let f = Faces::new();
    let t = f.token("alice");
    // /v1/sign: a PUT; the token is added to what is signed.
    let date = date_now();
    let sts = format!("PUT\n\ntext/plain\n{date}\n/app/users/alice/s.txt");
    let (status, s) = f
        .post_json(
            "/v1/sign",
            Some(&t),
            json!({"grant": "user-folder", "string_to_sign": sts}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{s}");
    let token = s["security_token"].as_str().unwrap().to_string();
    assert!(s["authorization"]
        .as_str()
        .unwrap()
        .starts_with(&format!("OSS {}:", s["access_key_id"].as_str().unwrap())));
    let (status, body) = f
        .oss(
            Request::put("/app/users/alice/s.txt")
                .header("date", &date)
                .header("content-type", "text/plain")
                .header("x-oss-security-token", &token)
                .header("authorization", s["authorization"].as_str().unwrap()),
            b"signed",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // /auth/custom: a GET, plain text answer, signed with the grant's long-term signing key;
    // the request goes out without a token.
    let content = format!("GET\n\n\n{date}\n/app/users/alice/s.txt");
    let form: String = url_form(&[("content", &content)]);
    let (status, headers, auth) = f
        .call(
            Request::post("/auth/custom")
                .header("authorization", format!("Bearer {t}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(form))
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{auth}");
    let key = f.api.signing_keys.current("user-folder").unwrap();
    assert!(auth.starts_with(&format!("OSS {}:", key.id)), "{auth}");
    assert_ne!(key.id, f.dir.root.id);
    assert!(!headers.contains_key("x-stsgate-security-token"));
    let (status, body) = f
        .oss(
            Request::get("/app/users/alice/s.txt")
                .header("date", &date)
                .header("authorization", &auth),
            b"",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, "signed");
    // The signature is for that request alone.
    let (status, body) = f
        .oss(
            Request::get("/app/users/alice/other.txt")
                .header("date", &date)
                .header("authorization", &auth),
            b"",
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

/// A V1 `Authorization` made with `secret` (what /auth/custom would answer).
fn v1_auth(id: &str, secret: &str, sts: &str) -> String {
    format!("OSS {id}:{}", stsgate_signing::oss_v1::sign(secret, sts))
}

#[tokio::test]
async fn a_grant_signing_key_can_do_only_the_grants_object_actions_in_its_bucket() {
    // Even with the key's secret in hand (what /auth/custom's checks stand in front of), the
    // oss face holds it to the grant's policy: objects under users/ in bucket app, no listing,
    // no ACL or bucket settings, no other bucket.
    let f = Faces::new();
    f.api.ensure_bucket("app").unwrap();
    f.api.ensure_bucket("other").unwrap();
    let key = f.api.signing_keys.current("user-folder").unwrap();
    let (id, secret) = (key.id.as_str(), key.secret.expose());
    let date = date_now();
    let sign = |verb: &str, headers: &str, resource: &str| {
        v1_auth(
            id,
            secret,
            &format!("{verb}\n\n\n{date}\n{headers}{resource}"),
        )
    };
    let (status, body) = f
        .oss(
            Request::put("/app/users/bob/a.txt")
                .header("date", &date)
                .header("authorization", sign("PUT", "", "/app/users/bob/a.txt")),
            b"x",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "inside users/: {body}");
    let refused = [
        (Request::put("/app/other/a.txt"), "PUT", "/app/other/a.txt"),
        (Request::get("/app/"), "GET", "/app/"),
        (
            Request::put("/app/users/bob/a.txt?acl"),
            "PUT",
            "/app/users/bob/a.txt?acl",
        ),
        (Request::put("/app/?acl"), "PUT", "/app/?acl"),
        (
            Request::get("/other/users/a.txt"),
            "GET",
            "/other/users/a.txt",
        ),
        (Request::get("/"), "GET", "/"),
    ];
    for (req, verb, resource) in refused {
        let (status, body) = f
            .oss(
                req.header("date", &date)
                    .header("x-oss-object-acl", "public-read")
                    .header(
                        "authorization",
                        sign(verb, "x-oss-object-acl:public-read\n", resource),
                    ),
                b"x",
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{verb} {resource}: {body}");
        assert!(body.contains("AccessDenied"), "{verb} {resource}: {body}");
    }
}

fn url_form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                stsgate_signing::encode::pe(k),
                stsgate_signing::encode::pe(v)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[tokio::test]
async fn sign_refuses_out_of_grant_content_naming_it() {
    let f = Faces::new();
    let t = f.token("alice");
    let date = date_now();
    let cases = [
        (
            format!("GET\n\n\n{date}\n/app/users/bob/a"),
            StatusCode::FORBIDDEN,
            "outside your prefix",
        ),
        (
            format!("PUT\n\n\n{date}\n/app/users/alice/a?acl"),
            StatusCode::FORBIDDEN,
            "needs the acl action",
        ),
        (
            "GET\n\n\nWed, 28 Dec 2022 10:27:41 GMT\n/app/users/alice/a".to_string(),
            StatusCode::FORBIDDEN,
            "away from",
        ),
        (
            format!("GET\n\n\n{date}\n/other/users/alice/a"),
            StatusCode::FORBIDDEN,
            "bucket",
        ),
        ("hello".to_string(), StatusCode::BAD_REQUEST, "five lines"),
    ];
    for (sts, status, why) in &cases {
        let (got, body) = f
            .post_json(
                "/v1/sign",
                Some(&t),
                json!({"grant": "user-folder", "string_to_sign": sts}),
            )
            .await;
        assert_eq!(got, *status, "{sts:?}: {body}");
        assert!(message(&body).contains(why), "{sts:?}: {body}");
        // /auth/custom refuses the same content.
        let (got, _, _) = f
            .call(
                Request::post("/auth/custom")
                    .header("authorization", format!("Bearer {t}"))
                    .body(Body::from(url_form(&[("content", sts)])))
                    .unwrap(),
            )
            .await;
        assert_eq!(got, *status, "{sts:?}");
    }
    let (got, _, _) = f
        .call(
            Request::post("/auth/custom")
                .body(Body::from(url_form(&[("content", "GET")])))
                .unwrap(),
        )
        .await;
    assert_eq!(got, StatusCode::UNAUTHORIZED);
    assert!(f
        .audit()
        .iter()
        .all(|r| r.outcome.starts_with("refused:") || r.outcome == "issued"));
}

#[tokio::test]
async fn auth_sts_answers_the_callers_scoped_credentials_and_records_role_name() {
    let f = Faces::new();
    let t = f.token("alice");
    let (status, _, text) = f
        .call(
            Request::get("/auth/sts?roleName=admin")
                .header("authorization", format!("Bearer {t}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert!(v["Credentials"]["AccessKeyId"]
        .as_str()
        .unwrap()
        .starts_with("STS."));
    let arn = v["AssumedRoleUser"]["Arn"].as_str().unwrap();
    assert!(arn.ends_with("/alice"), "{arn}");
    let audit = f.audit();
    assert!(audit
        .iter()
        .any(|r| r.detail.contains("roleName=\"admin\"") && r.caller == "jwt:alice"));
    let (status, _, _) = f
        .call(
            Request::get("/auth/sts?roleName=x")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn nothing_is_signed_when_the_audit_log_fails() {
    let f = Faces::with(|_| Arc::new(BrokenAudit));
    let t = f.token("alice");
    let (status, body) = f
        .post_json(
            "/v1/presign",
            Some(&t),
            json!({"grant": "user-folder", "method": "GET", "key": "users/alice/a"}),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.get("url").is_none());
    let (status, _) = f
        .post_json(
            "/v1/sign",
            Some(&t),
            json!({"grant": "user-folder",
                   "string_to_sign": format!("GET\n\n\n{}\n/app/users/alice/a", date_now())}),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}
