//! The api face in front of a remote provider (`[provider.x]`, type `aliyun`) whose STS is a fake
//! served on 127.0.0.1:0 inside the test: issuance and its cache/single-flight, upstream
//! refusals as 502/503 bodies, presigned URL hosts, start-up checks of provider grants.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Router;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use stsgate::api::{self, callers, ApiState};
use stsgate::common::audit::{AuditLog, Record, SqliteAudit};
use stsgate::config::Config;
use stsgate::datadir::{self, DataDir};
use stsgate::serve;
use tower::ServiceExt;

const ROLE_ARN: &str = "acs:ram::1234567890123456:role/app";

/// How the fake STS answers AssumeRole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Ok,
    NoPermission,
    Throttled,
}

/// A fake Alibaba Cloud STS: counts calls, keeps what it was asked.
#[derive(Debug)]
struct FakeSts {
    mode: Mutex<Mode>,
    /// How long an AssumeRole answer takes (lets concurrent askers overlap).
    delay: Duration,
    assume_calls: AtomicUsize,
    identity_calls: AtomicUsize,
    /// (RoleSessionName, Policy, DurationSeconds) of each AssumeRole.
    asked: Mutex<Vec<(String, String, String)>>,
}

impl FakeSts {
    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    fn calls(&self) -> usize {
        self.assume_calls.load(Ordering::SeqCst)
    }
}

async fn fake_sts(State(fake): State<Arc<FakeSts>>, body: Bytes) -> Response {
    let params: HashMap<String, String> =
        stsgate_signing::encode::decode_query(&String::from_utf8_lossy(&body))
            .into_iter()
            .collect();
    let param = |k: &str| params.get(k).cloned().unwrap_or_default();
    match param("Action").as_str() {
        "GetCallerIdentity" => {
            fake.identity_calls.fetch_add(1, Ordering::SeqCst);
            axum::Json(json!({
                "RequestId": "req-identity",
                "IdentityType": "RAMUser",
                "AccountId": "1234567890123456",
                "Arn": "acs:ram::1234567890123456:user/stsgate",
                "UserId": "200000000000001",
                "PrincipalId": "200000000000001",
            }))
            .into_response()
        }
        "AssumeRole" => {
            let n = fake.assume_calls.fetch_add(1, Ordering::SeqCst) + 1;
            let session = param("RoleSessionName");
            fake.asked.lock().unwrap().push((
                session.clone(),
                param("Policy"),
                param("DurationSeconds"),
            ));
            tokio::time::sleep(fake.delay).await;
            let mode = *fake.mode.lock().unwrap();
            match mode {
                Mode::Ok => {
                    let secs: i64 = param("DurationSeconds").parse().unwrap_or(900);
                    let exp = time::OffsetDateTime::now_utc() + time::Duration::seconds(secs);
                    axum::Json(json!({
                        "RequestId": format!("req-ok-{n}"),
                        "AssumedRoleUser": {
                            "Arn": format!("acs:ram::1234567890123456:role/app/{session}"),
                            "AssumedRoleId": format!("300000000000000001:{session}"),
                        },
                        "Credentials": {
                            "AccessKeyId": format!("STS.fake{n}"),
                            "AccessKeySecret": format!("fakesecret{n}"),
                            "SecurityToken": format!("CAISfaketoken{n}"),
                            "Expiration": stsgate::common::dates::iso8601(exp),
                        },
                    }))
                    .into_response()
                }
                Mode::NoPermission => (
                    StatusCode::FORBIDDEN,
                    axum::Json(json!({
                        "RequestId": format!("req-noperm-{n}"),
                        "HostId": "sts.aliyuncs.com",
                        "Code": "NoPermission",
                        "Message": "You are not authorized to do this action. You should be authorized by RAM.",
                    })),
                )
                    .into_response(),
                Mode::Throttled => (
                    StatusCode::BAD_REQUEST,
                    axum::Json(json!({
                        "RequestId": format!("req-throttled-{n}"),
                        "HostId": "sts.aliyuncs.com",
                        "Code": "Throttling.User",
                        "Message": "Request was denied due to user flow control.",
                    })),
                )
                    .into_response(),
            }
        }
        other => (
            StatusCode::BAD_REQUEST,
            axum::Json(
                json!({"RequestId": "req-x", "Code": "InvalidAction.NotFound", "Message": other}),
            ),
        )
            .into_response(),
    }
}

/// Serves a fake STS on 127.0.0.1:0; its endpoint and counters.
async fn start_fake(delay: Duration) -> (String, Arc<FakeSts>) {
    let fake = Arc::new(FakeSts {
        mode: Mutex::new(Mode::Ok),
        delay,
        assume_calls: AtomicUsize::new(0),
        identity_calls: AtomicUsize::new(0),
        asked: Mutex::new(Vec::new()),
    });
    let app = Router::new()
        .route("/", axum::routing::post(fake_sts))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), fake)
}

/// A 0600 credentials file (as X's `root-credentials.json`).
fn credentials_file(dir: &std::path::Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("ram-user.json");
    std::fs::write(
        &path,
        r#"{"AccessKeyId":"LTAI5tTestRamUserKey","AccessKeySecret":"ramUserSecretForTests","AccountId":"1234567890123456"}"#,
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// The provider tables and grants of the tests: `x` (oss endpoint an IP, region cn-beijing) and
/// `y` (a named oss endpoint), both with the fake STS; grants `cloud-folder` (x), `named-folder`
/// (y) and the local `user-folder`.
fn config_text(sts: &str, creds: &std::path::Path, extra: &str) -> String {
    format!(
        r#"
[api.rate_limit]
enabled = false

[provider.x]
role_arn = "{ROLE_ARN}"
region = "cn-beijing"
credentials_file = "{creds}"
sts_endpoint = "{sts}"
oss_endpoint = "http://127.0.0.1:9"
timeout = 5
retries = 1

[provider.y]
role_arn = "{ROLE_ARN}"
region = "cn-beijing"
credentials_file = "{creds}"
sts_endpoint = "{sts}"
oss_endpoint = "https://oss-cn-beijing.aliyuncs.com"
retries = 0

[[grant]]
name = "cloud-folder"
provider = "x"
bucket = "cloudbucket"
prefix = "users/${{sub}}/"
actions = ["read", "write", "list", "delete"]

[[grant]]
name = "named-folder"
provider = "y"
bucket = "cloudbucket"
prefix = "users/${{sub}}/"
actions = ["read", "write", "list", "delete"]

[[grant]]
name = "user-folder"
bucket = "app"
prefix = "users/${{sub}}/"
actions = ["read", "write", "list", "delete"]
{extra}
"#,
        creds = creds.display()
    )
}

#[derive(Debug)]
struct BrokenAudit;

impl AuditLog for BrokenAudit {
    fn record(&self, _: &Record) -> anyhow::Result<()> {
        anyhow::bail!("disk full")
    }
}

struct Api {
    _tmp: tempfile::TempDir,
    dir: DataDir,
    state: Arc<ApiState>,
    fake: Arc<FakeSts>,
}

impl Api {
    async fn new(delay: Duration) -> Api {
        Api::with(delay, |sts, creds| config_text(sts, creds, "")).await
    }

    /// With the config `text(sts endpoint, credentials file)`.
    async fn with(delay: Duration, text: impl FnOnce(&str, &std::path::Path) -> String) -> Api {
        Api::build(delay, text, false).await
    }

    async fn build(
        delay: Duration,
        text: impl FnOnce(&str, &std::path::Path) -> String,
        broken_audit: bool,
    ) -> Api {
        let (sts, fake) = start_fake(delay).await;
        let tmp = tempfile::tempdir().unwrap();
        let dir = datadir::open(&tmp.path().join("data"), &Default::default())
            .unwrap()
            .dir;
        let oss = serve::oss_state(&dir, serve::DEFAULT_REGION).unwrap();
        let creds = credentials_file(tmp.path());
        let config = Config::parse(&text(&sts, &creds)).unwrap();
        let state = serve::api_state_with_audit(
            &dir,
            &config,
            serve::Local::oss(oss.store.clone(), "http://127.0.0.1:1"),
            match broken_audit {
                true => Arc::new(BrokenAudit) as Arc<dyn AuditLog>,
                false => Arc::new(SqliteAudit::open(&dir.path).unwrap()) as Arc<dyn AuditLog>,
            },
        )
        .unwrap();
        Api {
            _tmp: tmp,
            dir,
            state,
            fake,
        }
    }

    fn token(&self, sub: &str) -> String {
        let key = datadir::jwt_hs256_key(&self.dir.path).unwrap();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        callers::mint_hs256(&key, &callers::dev_claims(sub, &[], now, 600)).unwrap()
    }

    async fn send(&self, req: Request<Body>) -> (StatusCode, http::HeaderMap, Value) {
        let resp = api::router(self.state.clone()).oneshot(req).await.unwrap();
        let (status, headers) = (resp.status(), resp.headers().clone());
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            headers,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn get(&self, uri: &str, sub: &str) -> (StatusCode, http::HeaderMap, Value) {
        let req = Request::get(uri)
            .header("authorization", format!("Bearer {}", self.token(sub)))
            .body(Body::empty())
            .unwrap();
        self.send(req).await
    }

    async fn post(&self, uri: &str, sub: &str, body: Value) -> (StatusCode, Value) {
        let req = Request::post(uri)
            .header("authorization", format!("Bearer {}", self.token(sub)))
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let (status, _, body) = self.send(req).await;
        (status, body)
    }

    fn audit(&self) -> Vec<Record> {
        SqliteAudit::open(&self.dir.path).unwrap().all().unwrap()
    }
}

const CLOUD: &str = "/v1/credentials?grant=cloud-folder";

#[tokio::test]
async fn upstream_issuance_is_answered_audited_and_cached() {
    let api = Api::new(Duration::ZERO).await;
    let (status, _, body) = api.get(CLOUD, "alice").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["AccessKeyId"], "STS.fake1");
    assert_eq!(body["AccessKeySecret"], "fakesecret1");
    assert_eq!(body["SecurityToken"], "CAISfaketoken1");
    assert_eq!(body["Bucket"], "cloudbucket");
    assert_eq!(body["Prefix"], "users/alice/");
    assert_eq!(body["Region"], "cn-beijing");
    assert_eq!(body["Endpoint"], "http://127.0.0.1:9");
    assert_eq!(api.fake.calls(), 1);

    // What STS was asked: the caller's session name, the grant's narrowest policy, its duration.
    let (session, policy, duration) = api.fake.asked.lock().unwrap()[0].clone();
    assert_eq!(duration, "900");
    let policy: Value = serde_json::from_str(&policy).unwrap();
    let expected: Value = serde_json::from_str(&stsgate::api::grants::policy(
        &api.state.grants[0],
        "users/alice/",
        "cn-hangzhou",
    ))
    .unwrap();
    assert_eq!(policy, expected);
    assert!(policy.to_string().contains("cloudbucket/users/alice/*"));
    assert!(session.contains("alice"), "{session}");

    // Reused: no second upstream call, in any format.
    let (status, _, again) = api.get(CLOUD, "alice").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["AccessKeyId"], "STS.fake1");
    let (status, _, sts) = api
        .get(&format!("{CLOUD}&format=aliyun-sts"), "alice")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sts["Credentials"]["AccessKeyId"], "STS.fake1");
    assert_eq!(
        sts["AssumedRoleUser"]["Arn"],
        format!("acs:ram::1234567890123456:role/app/{session}")
    );
    assert_eq!(
        sts["AssumedRoleUser"]["AssumedRoleId"],
        format!("300000000000000001:{session}")
    );
    assert_eq!(api.fake.calls(), 1);

    // One audit row for the issuance, naming provider, upstream request id and session.
    let rows = api.audit();
    let issued: Vec<&Record> = rows.iter().filter(|r| r.outcome == "issued").collect();
    assert_eq!(issued.len(), 1, "{rows:?}");
    assert_eq!(issued[0].grant, "cloud-folder");
    assert_eq!(issued[0].access_key_id, "STS.fake1");
    assert_eq!(issued[0].caller, "jwt:alice");
    assert_eq!(
        issued[0].detail,
        format!("provider=x upstream_request_id=req-ok-1 session={session}")
    );

    // The local grant is untouched by the provider: minted in-process, no upstream call.
    let (status, _, local) = api.get("/v1/credentials?grant=user-folder", "alice").await;
    assert_eq!(status, StatusCode::OK, "{local}");
    assert_eq!(local["Endpoint"], "http://127.0.0.1:1");
    assert_eq!(local["Region"], serve::DEFAULT_REGION);
    assert_eq!(api.fake.calls(), 1);
}

#[tokio::test]
async fn upstream_credentials_fail_closed_without_their_audit_row() {
    let api = Api::build(
        Duration::ZERO,
        |sts, creds| config_text(sts, creds, ""),
        true,
    )
    .await;
    let (status, _, body) = api.get(CLOUD, "alice").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "AuditUnavailable");
    assert!(body.get("AccessKeyId").is_none());
    // Nothing was cached: the next ask calls STS again.
    let (status, _, _) = api.get(CLOUD, "alice").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(api.fake.calls(), 2);
}

#[tokio::test]
async fn upstream_calls_show_in_metrics() {
    let api = Api::new(Duration::ZERO).await;
    let (status, _, _) = api.get(CLOUD, "alice").await;
    assert_eq!(status, StatusCode::OK);
    let resp = api::router(api.state.clone())
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.contains("stsgate_upstream_requests_total{provider=\"x\",action=\"AssumeRole\""),
        "{text}"
    );
    assert!(text.contains("stsgate_api_issuances_total"), "{text}");
}

#[tokio::test]
async fn concurrent_askers_of_one_slot_cost_one_upstream_call() {
    let api = Arc::new(Api::new(Duration::from_millis(200)).await);
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let api = api.clone();
        set.spawn(async move { api.get(CLOUD, "alice").await });
    }
    while let Some(done) = set.join_next().await {
        let (status, _, body) = done.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["AccessKeyId"], "STS.fake1");
    }
    assert_eq!(api.fake.calls(), 1);
}

#[tokio::test]
async fn askers_waiting_on_a_failing_call_share_its_failure() {
    // Each attempt takes 200 ms and is throttled: 20 askers of one slot must not queue 20
    // failing calls (20 × 2 attempts × 200 ms) behind each other.
    let api = Arc::new(Api::new(Duration::from_millis(200)).await);
    api.fake.set(Mode::Throttled);
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let api = api.clone();
        set.spawn(async move { api.get(CLOUD, "alice").await });
    }
    while let Some(done) = set.join_next().await {
        let (status, _, body) = done.unwrap();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body["error"]["code"], "UpstreamUnavailable", "{body}");
    }
    // One failing call (two attempts with retries = 1), shared by every asker waiting on it.
    assert_eq!(api.fake.calls(), 2);
    // A later asker tries again (failures are not cached beyond the askers that waited).
    api.fake.set(Mode::Ok);
    let (status, _, body) = api.get(CLOUD, "alice").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(api.fake.calls(), 3);
}

#[tokio::test]
async fn distinct_callers_cost_one_upstream_call_each() {
    let api = Arc::new(Api::new(Duration::from_millis(20)).await);
    let mut set = tokio::task::JoinSet::new();
    for i in 0..20 {
        for _ in 0..3 {
            let api = api.clone();
            set.spawn(async move { api.get(CLOUD, &format!("user{i}")).await });
        }
    }
    while let Some(done) = set.join_next().await {
        let (status, _, body) = done.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(api.fake.calls(), 20);
    let sessions: std::collections::BTreeSet<String> = api
        .fake
        .asked
        .lock()
        .unwrap()
        .iter()
        .map(|(s, _, _)| s.clone())
        .collect();
    assert_eq!(sessions.len(), 20);
}

#[tokio::test]
async fn no_permission_is_a_502_with_the_upstream_fields_and_is_not_cached() {
    let api = Api::new(Duration::ZERO).await;
    api.fake.set(Mode::NoPermission);
    let (status, headers, body) = api.get(CLOUD, "alice").await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert!(headers.get("retry-after").is_none());
    let e = &body["error"];
    assert_eq!(e["code"], "UpstreamRefused", "{body}");
    assert_eq!(e["provider"], "x");
    assert_eq!(e["upstream_code"], "NoPermission");
    assert_eq!(e["upstream_request_id"], "req-noperm-1");
    // The cloud's message is the operator's (audit row, log), not the caller's.
    assert!(e.get("upstream_message").is_none(), "{body}");
    assert!(!body.to_string().contains("not authorized"), "{body}");
    assert!(!e["message"].as_str().unwrap().is_empty(), "{body}");
    let request_id = e["request_id"].as_str().unwrap().to_string();
    assert_eq!(api.fake.calls(), 1, "a refusal is not retried");

    // The same error with the per-format fields.
    let (status, _, body) = api
        .get(&format!("{CLOUD}&format=oss-app-server"), "alice")
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(body["StatusCode"], 502);
    assert_eq!(body["ErrorCode"], "UpstreamRefused");
    assert_eq!(body["ErrorMessage"], body["error"]["message"]);
    assert_eq!(body["error"]["upstream_code"], "NoPermission");
    let (_, _, body) = api
        .get(&format!("{CLOUD}&format=alibaba-credentials-uri"), "alice")
        .await;
    assert_eq!(body["Code"], "UpstreamRefused");
    assert_eq!(body["error"]["upstream_request_id"], "req-noperm-3");

    // Audited as refusals with the upstream code and request id.
    let rows = api.audit();
    let refused: Vec<&Record> = rows
        .iter()
        .filter(|r| r.outcome == "refused:UpstreamRefused")
        .collect();
    assert_eq!(refused.len(), 3, "{rows:?}");
    assert!(refused[0].detail.contains("provider=x"), "{:?}", refused[0]);
    assert!(refused[0].detail.contains("upstream_code=NoPermission"));
    assert!(refused[0]
        .detail
        .contains("upstream_request_id=req-noperm-1"));
    assert_eq!(refused[0].grant, "cloud-folder");
    assert_eq!(refused[0].caller, "jwt:alice");
    // The row of the first answer is found by the request id the caller was shown, and keeps
    // the cloud's message for the operator.
    assert_eq!(refused[0].request_id, request_id);
    assert!(
        refused[0].detail.contains("not authorized"),
        "{:?}",
        refused[0]
    );

    // The failure was not cached: once STS agrees, the next ask succeeds.
    api.fake.set(Mode::Ok);
    let (status, _, body) = api.get(CLOUD, "alice").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["AccessKeyId"], "STS.fake4");
    assert_eq!(api.fake.calls(), 4);
}

#[tokio::test]
async fn throttled_forever_is_a_503_with_retry_after() {
    let api = Api::new(Duration::ZERO).await;
    api.fake.set(Mode::Throttled);
    let (status, headers, body) = api.get(CLOUD, "alice").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(headers["retry-after"], "1");
    let e = &body["error"];
    assert_eq!(e["code"], "UpstreamUnavailable", "{body}");
    assert_eq!(e["provider"], "x");
    assert!(
        e["upstream_code"]
            .as_str()
            .unwrap()
            .starts_with("Throttling"),
        "{body}"
    );
    assert!(e["upstream_request_id"]
        .as_str()
        .unwrap()
        .starts_with("req-throttled-"));
    // retries = 1: two attempts, then the answer.
    assert_eq!(api.fake.calls(), 2);
    let rows = api.audit();
    assert!(rows
        .iter()
        .any(|r| r.outcome == "refused:UpstreamUnavailable"
            && r.detail.contains("upstream_code=Throttling")));
    // Not cached.
    api.fake.set(Mode::Ok);
    let (status, _, _) = api.get(CLOUD, "alice").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(api.fake.calls(), 3);
}

#[tokio::test]
async fn presigned_urls_and_forms_use_the_providers_endpoint_and_region() {
    let api = Api::new(Duration::ZERO).await;
    // IP endpoint: path style.
    let (status, body) = api
        .post(
            "/v1/presign",
            "alice",
            json!({"grant": "cloud-folder", "method": "GET", "key": "users/alice/a.txt", "expires": 600}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let url = body["url"].as_str().unwrap();
    assert!(
        url.starts_with(
            "http://127.0.0.1:9/cloudbucket/users/alice/a.txt?OSSAccessKeyId=STS.fake1&"
        ),
        "{url}"
    );
    assert!(url.contains("security-token=CAISfaketoken1"), "{url}");
    // V4: the provider's region in the scope.
    let (status, body) = api
        .post(
            "/v1/presign",
            "alice",
            json!({"grant": "cloud-folder", "method": "PUT", "key": "users/alice/b.txt", "version": "v4", "expires": 600}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let url = body["url"].as_str().unwrap();
    assert!(
        url.starts_with("http://127.0.0.1:9/cloudbucket/users/alice/b.txt?"),
        "{url}"
    );
    assert!(
        url.contains("%2Fcn-beijing%2Foss%2Faliyun_v4_request"),
        "{url}"
    );
    // Outside the prefix: refused before any upstream call.
    let (status, _) = api
        .post(
            "/v1/presign",
            "alice",
            json!({"grant": "cloud-folder", "method": "GET", "key": "users/bob/a.txt"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Signed locally with the cached scoped credentials: one AssumeRole for all of it.
    assert_eq!(api.fake.calls(), 1);

    // A named endpoint: virtual-hosted.
    let (status, body) = api
        .post(
            "/v1/presign",
            "alice",
            json!({"grant": "named-folder", "method": "GET", "key": "users/alice/a b.txt"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let url = body["url"].as_str().unwrap();
    assert!(
        url.starts_with("https://cloudbucket.oss-cn-beijing.aliyuncs.com/users/alice/a%20b.txt?"),
        "{url}"
    );
    let (status, body) = api
        .post(
            "/v1/post-policy",
            "alice",
            json!({"grant": "named-folder", "max_size": 1024}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["url"],
        "https://cloudbucket.oss-cn-beijing.aliyuncs.com/"
    );
    assert_eq!(body["fields"]["OSSAccessKeyId"], "STS.fake2");
    assert_eq!(body["fields"]["x-oss-security-token"], "CAISfaketoken2");
    let (status, body) = api
        .post(
            "/v1/post-policy",
            "alice",
            json!({"grant": "cloud-folder", "max_size": 1024, "expires": 600}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["url"], "http://127.0.0.1:9/cloudbucket/");
    assert_eq!(body["fields"]["OSSAccessKeyId"], "STS.fake1");
    assert_eq!(api.fake.calls(), 2);
}

#[tokio::test]
async fn default_presigns_reuse_the_upstream_credentials() {
    let api = Api::new(Duration::ZERO).await;
    for i in 0..5 {
        // The default expiry (900 s) equals the grant's default duration.
        let (status, body) = api
            .post(
                "/v1/presign",
                "alice",
                json!({"grant": "cloud-folder", "method": "GET", "key": format!("users/alice/{i}")}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(api.fake.calls(), 1);
}

#[tokio::test]
async fn sign_uses_the_scoped_credentials_of_a_provider_grant() {
    let api = Api::new(Duration::ZERO).await;
    let date = httpdate::fmt_http_date(std::time::SystemTime::now());
    let (status, body) = api
        .post(
            "/v1/sign",
            "alice",
            json!({"grant": "cloud-folder", "string_to_sign": format!("GET\n\n\n{date}\n/cloudbucket/users/alice/a.txt")}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["access_key_id"], "STS.fake1");
    assert_eq!(body["security_token"], "CAISfaketoken1");
    let expected =
        stsgate_signing::oss_v1::sign("fakesecret1", body["string_to_sign"].as_str().unwrap());
    assert_eq!(body["signature"], expected);
    let (status, _) = api
        .post(
            "/v1/sign",
            "alice",
            json!({"grant": "cloud-folder", "string_to_sign": format!("GET\n\n\n{date}\n/app/users/alice/a.txt")}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// `/auth/custom` for a provider grant: the same scope checks; signed with the provider's
/// `custom_signing_key` when configured (no token added nor returned), else as for `local`.
#[tokio::test]
async fn auth_custom_signs_with_the_custom_key_when_configured() {
    use std::os::unix::fs::PermissionsExt;
    let only_grant = |sts: &str, creds: &std::path::Path, custom: Option<&std::path::Path>| {
        let custom = custom
            .map(|p| format!("custom_signing_credentials_file = \"{}\"\n", p.display()))
            .unwrap_or_default();
        format!(
            r#"
[api.rate_limit]
enabled = false

[provider.x]
role_arn = "{ROLE_ARN}"
credentials_file = "{creds}"
sts_endpoint = "{sts}"
oss_endpoint = "http://127.0.0.1:9"
{custom}
[[grant]]
name = "cloud-folder"
provider = "x"
bucket = "cloudbucket"
prefix = "users/${{sub}}/"
actions = ["read", "write"]
"#,
            creds = creds.display()
        )
    };
    let date = httpdate::fmt_http_date(std::time::SystemTime::now());
    let form = |content: &str| format!("content={}", stsgate_signing::encode::pe(content));
    let custom = |api: &Api, content: String| {
        let req = Request::post("/auth/custom")
            .header("authorization", format!("Bearer {}", api.token("alice")))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(form(&content)))
            .unwrap();
        let app = api::router(api.state.clone());
        async move {
            let resp = app.oneshot(req).await.unwrap();
            let (status, headers) = (resp.status(), resp.headers().clone());
            let bytes = resp.into_body().collect().await.unwrap().to_bytes();
            (
                status,
                headers,
                String::from_utf8_lossy(&bytes).into_owned(),
            )
        }
    };
    let content = format!("PUT\n\ntext/plain\n{date}\n/cloudbucket/users/alice/a.txt");

    // With a custom key: `OSS <custom id>:<signature over the content as given>`, no token.
    let api = Api::with(Duration::ZERO, |sts, creds| {
        let key = creds.parent().unwrap().join("custom.json");
        std::fs::write(
            &key,
            r#"{"AccessKeyId":"LTAI5tCustomSigner","AccessKeySecret":"customSecret"}"#,
        )
        .unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        only_grant(sts, creds, Some(&key))
    })
    .await;
    let (status, headers, body) = custom(&api, content.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let signature = stsgate_signing::oss_v1::sign("customSecret", &content);
    assert_eq!(body, format!("OSS LTAI5tCustomSigner:{signature}"));
    assert!(headers.get("x-stsgate-security-token").is_none());
    // Same scope checks: another caller's folder is refused.
    let (status, _, body) = custom(
        &api,
        format!("PUT\n\ntext/plain\n{date}\n/cloudbucket/users/bob/a.txt"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let rows = api.audit();
    assert!(
        rows.iter().any(|r| r.outcome == "signed"
            && r.detail
                .contains("signed_with=custom_signing_key:LTAI5tCustomSigner")),
        "{rows:?}"
    );

    // Without one nothing can sign a request sent without a token: 501 NotConfigured naming
    // what to set, before any signing.
    let api = Api::with(Duration::ZERO, |sts, creds| only_grant(sts, creds, None)).await;
    let (status, headers, body) = custom(&api, content.clone()).await;
    assert_eq!(status, StatusCode::NOT_IMPLEMENTED, "{body}");
    assert!(
        body.contains("NotConfigured") && body.contains("custom_signing_key_id_env"),
        "{body}"
    );
    assert!(!body.contains("STS.fake1") && headers.get("x-stsgate-security-token").is_none());
    assert!(!api.audit().iter().any(|r| r.outcome == "signed"));
}

/// Loads `config_text(.., extra)` and builds an api state for it; returns the error of
/// whichever fails (the config is validated as it loads, the providers at start).
async fn start_error(grants: &str) -> String {
    let (sts, _fake) = start_fake(Duration::ZERO).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = datadir::open(&tmp.path().join("data"), &Default::default())
        .unwrap()
        .dir;
    let creds = credentials_file(tmp.path());
    let config = match Config::parse(&config_text(&sts, &creds, grants)) {
        Ok(config) => config,
        Err(e) => return format!("{e:#}"),
    };
    let err = serve::api_state_with_audit(
        &dir,
        &config,
        serve::Local::default(),
        Arc::new(SqliteAudit::open(&dir.path).unwrap()) as Arc<dyn AuditLog>,
    )
    .unwrap_err();
    eprintln!("start-up error: {err:#}");
    format!("{err:#}")
}

#[tokio::test]
async fn unknown_provider_fails_at_start_naming_grant_and_provider() {
    let err = start_error(
        r#"
[[grant]]
name = "lost"
provider = "nowhere"
bucket = "bucket1"
prefix = "users/${sub}/"
actions = ["read"]
"#,
    )
    .await;
    assert!(err.contains("\"lost\""), "{err}");
    assert!(err.contains("\"nowhere\""), "{err}");
}

#[tokio::test]
async fn oversized_provider_policy_fails_at_start_naming_the_grant() {
    // Ten 128-character claims in the prefix: the resource alone is over 1,300 bytes, twice.
    let prefix: String = (0..10).map(|i| format!("${{c{i}}}/")).collect();
    let grants = format!(
        r#"
[[grant]]
name = "huge"
provider = "x"
bucket = "bucket1"
prefix = "{prefix}"
actions = ["read", "list"]
"#
    );
    let err = start_error(&grants).await;
    assert!(err.contains("\"huge\""), "{err}");
    assert!(err.contains("2048"), "{err}");

    // The same grant is fine when local (no STS limit).
    let (sts, _fake) = start_fake(Duration::ZERO).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = datadir::open(&tmp.path().join("data"), &Default::default())
        .unwrap()
        .dir;
    let creds = credentials_file(tmp.path());
    let local = grants.replace("provider = \"x\"\n", "");
    let config = Config::parse(&config_text(&sts, &creds, &local)).unwrap();
    assert!(serve::api_state_with_audit(
        &dir,
        &config,
        serve::Local::default(),
        Arc::new(SqliteAudit::open(&dir.path).unwrap()) as Arc<dyn AuditLog>,
    )
    .is_ok());
}
