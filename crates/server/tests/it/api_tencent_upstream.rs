//! A `type = "tencent"` provider against a fake Tencent STS on loopback: what stsgate sends
//! (TC3-signed JSON, the grant's CAM policy URL-encoded, the caller as `Name`), what it makes of
//! the answers (credentials in the Tencent formats, single-flight), and what an end user hears
//! when the cloud refuses (the code and an actionable hint, never a key id, an account or app
//! id, a path or a string to sign). The two-process test with a second stsgate playing Tencent
//! Cloud is `conformance/test_provider_tencent.py`.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::response::IntoResponse;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use stsgate::api::{self, callers, ApiState};
use stsgate::config::Config;
use stsgate::datadir::{self, DataDir};
use stsgate::serve;
use tower::ServiceExt;

const SECRET_ID: &str = "AKIDprovidertestkey0000000000000001";
const SECRET_KEY: &str = "providertestsecret000000000000001";

#[derive(Default)]
struct Fake {
    /// The error code to answer with (`None`: success).
    refuse: Mutex<Option<&'static str>>,
    calls: AtomicUsize,
    /// (headers, body) of each call.
    seen: Mutex<Vec<(HeaderMap, String)>>,
}

async fn fake_sts(
    State(fake): State<Arc<Fake>>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let n = fake.calls.fetch_add(1, Ordering::SeqCst) + 1;
    let body = String::from_utf8_lossy(&body).into_owned();
    fake.seen.lock().unwrap().push((headers, body));
    let answer = match *fake.refuse.lock().unwrap() {
        Some(code) => json!({"Response": {"Error": {"Code": code,
            "Message": "[request id:x]you are not authorized to perform operation (sts:GetFederationToken) resource (qcs::sts:ap-guangzhou:uin/100000000001:federated-user/alice) has no permission"},
            "RequestId": format!("req-{n}")}}),
        None => {
            let exp = time::OffsetDateTime::now_utc().unix_timestamp() + 1800;
            json!({"Response": {"Credentials": {"Token": format!("tok{n}"), "TmpSecretId": format!("AKIDtmp{n}"),
                "TmpSecretKey": format!("key{n}")}, "ExpiredTime": exp, "Expiration": "x", "RequestId": format!("req-{n}")}})
        }
    };
    // Tencent answers 200 with `application/json` for refusals too.
    (
        [(http::header::CONTENT_TYPE, "application/json")],
        answer.to_string(),
    )
}

struct Api {
    _tmp: tempfile::TempDir,
    dir: DataDir,
    state: Arc<ApiState>,
    fake: Arc<Fake>,
}

impl Api {
    async fn new(extra: &str) -> Api {
        let fake = Arc::new(Fake::default());
        let app = axum::Router::new()
            .route("/", axum::routing::post(fake_sts))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sts = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let tmp = tempfile::tempdir().unwrap();
        let creds = tmp.path().join("tc.json");
        std::fs::write(
            &creds,
            json!({"SecretId": SECRET_ID, "SecretKey": SECRET_KEY}).to_string(),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o600)).unwrap();
        let text = format!(
            r#"
[provider.tc]
type = "tencent"
region = "ap-shanghai"
credentials_file = "{}"
sts_endpoint = "{sts}"
cos_endpoint = "https://cos.ap-shanghai.myqcloud.com"
retries = 1
{extra}

[[grant]]
name = "cloud-cos"
provider = "tc"
bucket = "media-1250000009"
prefix = "users/${{sub}}/"
actions = ["read", "write", "list"]
"#,
            creds.display()
        );
        let dir = datadir::open(&tmp.path().join("data"), &Default::default())
            .unwrap()
            .dir;
        let state = serve::api_state(
            &dir,
            &Config::parse(&text).unwrap(),
            serve::Local::default(),
        )
        .unwrap();
        Api {
            _tmp: tmp,
            dir,
            state,
            fake,
        }
    }

    async fn get(&self, uri: &str, sub: &str) -> (StatusCode, Value) {
        let key = datadir::jwt_hs256_key(&self.dir.path).unwrap();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let token = callers::mint_hs256(&key, &callers::dev_claims(sub, &[], now, 600)).unwrap();
        let req = Request::get(uri).header("authorization", format!("Bearer {token}"));
        let resp = api::router(self.state.clone())
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }
}

#[tokio::test]
async fn federation_tokens_carry_the_grants_cam_policy() {
    let api = Api::new("").await;
    let (status, body) = api
        .get("/v1/credentials?grant=cloud-cos&format=tencent", "alice")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["credentials"]["tmpSecretId"], "AKIDtmp1");
    assert_eq!(body["credentials"]["sessionToken"], "tok1");
    // Reused: no second call.
    let (_, again) = api
        .get("/v1/credentials?grant=cloud-cos&format=tencent-v3", "alice")
        .await;
    assert_eq!(again["Response"]["Credentials"]["TmpSecretId"], "AKIDtmp1");
    assert_eq!(api.fake.calls.load(Ordering::SeqCst), 1);
    let (headers, sent) = api.fake.seen.lock().unwrap()[0].clone();
    assert_eq!(headers["x-tc-action"], "GetFederationToken");
    assert_eq!(headers["x-tc-version"], "2018-08-13");
    assert_eq!(headers["x-tc-region"], "ap-shanghai");
    assert_eq!(headers["content-type"], "application/json");
    let auth = headers["authorization"].to_str().unwrap();
    assert!(
        auth.starts_with(&format!("TC3-HMAC-SHA256 Credential={SECRET_ID}/")),
        "{auth}"
    );
    assert!(
        auth.contains("/sts/tc3_request, SignedHeaders=content-type;host, Signature="),
        "{auth}"
    );
    let sent: Value = serde_json::from_str(&sent).unwrap();
    assert_eq!(sent["Name"], "alice");
    assert_eq!(sent["DurationSeconds"], 900);
    let policy = percent_encoding::percent_decode_str(sent["Policy"].as_str().unwrap())
        .decode_utf8()
        .unwrap()
        .into_owned();
    let policy: Value = serde_json::from_str(&policy).unwrap();
    assert_eq!(
        policy["statement"][0]["resource"][0],
        "qcs::cos:ap-shanghai:uid/1250000009:media-1250000009/users/alice/*"
    );
    stsgate_policy::parse_cam(&policy.to_string()).unwrap();
    // The stsgate format names the provider's COS endpoint and region.
    let (_, own) = api.get("/v1/credentials?grant=cloud-cos", "alice").await;
    assert_eq!(own["Endpoint"], "https://cos.ap-shanghai.myqcloud.com");
    assert_eq!(own["Region"], "ap-shanghai");
}

#[tokio::test]
async fn role_arns_switch_to_assume_role() {
    let api = Api::new("role_arn = \"qcs::cam::uin/100000000001:roleName/cos-users\"").await;
    let (status, body) = api
        .get("/v1/credentials?grant=cloud-cos&format=tencent", "bob")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (headers, sent) = api.fake.seen.lock().unwrap()[0].clone();
    assert_eq!(headers["x-tc-action"], "AssumeRole");
    let sent: Value = serde_json::from_str(&sent).unwrap();
    assert_eq!(
        sent["RoleArn"],
        "qcs::cam::uin/100000000001:roleName/cos-users"
    );
    assert_eq!(sent["RoleSessionName"], "bob");
}

#[tokio::test]
async fn refusals_are_actionable_and_leak_nothing() {
    let api = Api::new("").await;
    for code in [
        "AuthFailure.SecretIdNotFound",
        "AuthFailure.SignatureFailure",
        "UnauthorizedOperation",
    ] {
        *api.fake.refuse.lock().unwrap() = Some(code);
        let (status, body) = api
            .get(
                "/v1/credentials?grant=cloud-cos&format=tencent",
                &format!("u{}", code.len()),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
        assert_eq!(body["error"]["code"], "UpstreamRefused");
        assert_eq!(body["error"]["upstream_code"], code);
        assert_eq!(
            body["Code"], "UpstreamRefused",
            "the tencent shape's fields: {body}"
        );
        let text = body.to_string();
        for secret in [
            SECRET_ID,
            SECRET_KEY,
            "100000000001",
            "1250000009",
            "tc.json",
            "TC3-HMAC",
        ] {
            assert!(!text.contains(secret), "{code}: {secret} leaked in {text}");
        }
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("[provider.tc]"),
            "{body}"
        );
    }
    // Throttling is retried (retries = 1), then 503.
    *api.fake.refuse.lock().unwrap() = Some("RequestLimitExceeded");
    let before = api.fake.calls.load(Ordering::SeqCst);
    let (status, body) = api.get("/v1/credentials?grant=cloud-cos", "zed").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(api.fake.calls.load(Ordering::SeqCst) - before, 2);
}
