//! The tc-sts face through `oneshot` and `dispatch`: the spec's TC3 and v1 vectors, both wire
//! styles of both signatures, the answer shape, and each signature, token and protocol error.
//! Roles, extra keys and chaining are in `tc_sts_roles.rs`.

use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::sync::Arc;
use stsgate::datadir::{self, AccessKey, DataDir, EnvKeys};
use stsgate::secret::Secret;
use stsgate::serve;
use stsgate::tencent::sts::request::Incoming;
use stsgate::tencent::sts::{self as tc_sts, TcStsState};
use stsgate_signing::encode::pe;
use stsgate_signing::tc3;
use stsgate_signing::tc_v1::{self, SignatureMethod};
use time::OffsetDateTime;
use tower::ServiceExt;

pub struct Tc {
    pub _tmp: tempfile::TempDir,
    pub dir: DataDir,
    pub state: Arc<TcStsState>,
}

impl Tc {
    pub fn new() -> Tc {
        Tc::with_env(&EnvKeys::default())
    }

    /// A face whose Tencent root key is the spec's `AKIDEXAMPLE` / `SKEXAMPLE`.
    pub fn example() -> Tc {
        Tc::with_env(&EnvKeys {
            aliyun: None,
            tencent: Some(AccessKey {
                id: "AKIDEXAMPLE".into(),
                secret: Secret::new("SKEXAMPLE"),
            }),
        })
    }

    fn with_env(env: &EnvKeys) -> Tc {
        let tmp = tempfile::tempdir().unwrap();
        let dir = datadir::open(&tmp.path().join("data"), env).unwrap().dir;
        let state = serve::tc_sts_state(&dir).unwrap();
        Tc {
            _tmp: tmp,
            dir,
            state,
        }
    }

    pub fn root(&self) -> (String, String) {
        let root = &self.dir.tencent.as_ref().unwrap().root;
        (root.id.clone(), root.secret.expose().to_string())
    }

    pub fn app_arn(&self) -> String {
        format!("qcs::cam::uin/{}:roleName/app", self.state.uin)
    }

    /// Sends through the router; every answer is 200 `application/json` with `Response`.
    pub async fn send(&self, req: Request<Body>) -> Value {
        let resp = tc_sts::router(self.state.clone())
            .oneshot(req)
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["content-type"], "application/json");
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        let response = body["Response"].clone();
        assert!(response["RequestId"].is_string(), "{body}");
        response
    }

    /// Decodes `req` and dispatches it at the fixed time `now`.
    pub async fn at(&self, req: Request<Body>, now: i64) -> Value {
        let (parts, body) = req.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        let req = Incoming::new(&parts, body).unwrap();
        let now = OffsetDateTime::from_unix_timestamp(now).unwrap();
        let resp = tc_sts::dispatch(&self.state, &req, now, "rid", "127.0.0.1");
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice::<Value>(&bytes).unwrap()["Response"].clone()
    }
}

pub fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// The error code of an answer (`""` for a success).
pub fn code(answer: &Value) -> &str {
    answer["Error"]["Code"].as_str().unwrap_or("")
}

/// Credentials of a successful issuance: (TmpSecretId, TmpSecretKey, Token).
pub fn creds(answer: &Value) -> (String, String, String) {
    let c = &answer["Credentials"];
    let get = |k: &str| {
        c[k].as_str()
            .unwrap_or_else(|| panic!("{answer}"))
            .to_string()
    };
    (get("TmpSecretId"), get("TmpSecretKey"), get("Token"))
}

/// The caller of a request: SecretId, SecretKey and (temporary credentials) the token.
pub struct Key<'a> {
    pub id: &'a str,
    pub secret: &'a str,
    pub token: Option<&'a str>,
}

/// A TC3 request as the tencentcloud SDK sends it: POST with the JSON body, or GET with `query`
/// (already encoded, in the order given), signing `content-type;host` at `at`.
pub fn tc3(method: &str, action: &str, params: &Value, key: &Key, at: i64) -> Request<Body> {
    let (query, body, content_type) = match method {
        "GET" => {
            let map = params.as_object().unwrap();
            let query: Vec<String> = map
                .iter()
                .map(|(k, v)| {
                    let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                    format!("{}={}", pe(k), pe(&v))
                })
                .collect();
            (
                query.join("&"),
                String::new(),
                "application/x-www-form-urlencoded",
            )
        }
        _ => (String::new(), params.to_string(), "application/json"),
    };
    let host = "127.0.0.1:8704";
    let headers = vec![
        ("content-type".to_string(), content_type.to_string()),
        ("host".to_string(), host.to_string()),
    ];
    let signed = ["content-type".to_string(), "host".to_string()];
    let canonical = tc3::canonical_request(
        method,
        &query,
        &headers,
        &signed,
        &tc3::hashed_payload(body.as_bytes(), false),
    );
    let credential = tc3::Credential {
        secret_id: key.id.to_string(),
        date: tc3::date_of(at).unwrap(),
        service: "sts".into(),
    };
    let auth = tc3::sign(key.secret, credential, &signed, &at.to_string(), &canonical);
    let mut builder = Request::builder()
        .method(method)
        .uri(format!("/?{query}"))
        .header("host", host)
        .header("content-type", content_type)
        .header("authorization", auth.to_string())
        .header("x-tc-action", action)
        .header("x-tc-version", "2018-08-13")
        .header("x-tc-timestamp", at.to_string())
        .header("x-tc-region", "ap-guangzhou")
        .header("x-tc-language", "zh-CN");
    if let Some(token) = key.token {
        builder = builder.header("x-tc-token", token);
    }
    builder.body(Body::from(body)).unwrap()
}

/// A legacy v1 request (POST form or GET query) signed over `signed_host`.
#[allow(clippy::too_many_arguments)]
pub fn v1(
    method: &str,
    signed_host: &str,
    action: &str,
    extra: &[(&str, &str)],
    key: &Key,
    sig: SignatureMethod,
    at: i64,
) -> Request<Body> {
    let nonce = (rand_nonce() % 100_000 + 100_000).to_string();
    let at = at.to_string();
    let mut params: Vec<(String, String)> = [
        ("Action", action),
        ("Version", "2018-08-13"),
        ("Region", "ap-guangzhou"),
        ("SecretId", key.id),
        ("Timestamp", at.as_str()),
        ("Nonce", nonce.as_str()),
    ]
    .iter()
    .chain(extra)
    .chain(key.token.map(|t| ("Token", t)).iter())
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    if sig == SignatureMethod::HmacSha256 {
        params.push(("SignatureMethod".into(), "HmacSHA256".into()));
    }
    let sts = tc_v1::string_to_sign(method, signed_host, &params);
    params.push(("Signature".into(), tc_v1::sign(key.secret, sig, &sts)));
    let encoded: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={}", pe(k), pe(v)))
        .collect();
    let builder = Request::builder()
        .method(method)
        .header("host", "127.0.0.1:8704");
    match method {
        "GET" => builder
            .uri(format!("/?{}", encoded.join("&")))
            .body(Body::empty()),
        _ => builder
            .uri("/")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(encoded.join("&"))),
    }
    .unwrap()
}

fn rand_nonce() -> u64 {
    u64::from(uuid::Uuid::new_v4().as_fields().0)
}

pub const POLICY: &str = r#"{"version":"2.0","statement":[{"effect":"allow","action":["name/cos:PutObject","name/cos:GetObject"],"resource":["qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/dir/*"]}]}"#;

/// A golden input of the signing crate's vectors.
fn vector(path: &str) -> Value {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../signing/testdata/tencent/");
    serde_json::from_str(&std::fs::read_to_string(format!("{root}{path}/input.json")).unwrap())
        .unwrap()
}

fn tc3_vector(case: &Value, extra: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::builder()
        .method(case["method"].as_str().unwrap())
        .uri(format!("/?{}", case["raw_query"].as_str().unwrap()))
        .header("authorization", case["authorization"].as_str().unwrap());
    for pair in case["headers"].as_array().unwrap() {
        builder = builder.header(pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
    }
    for (k, v) in extra {
        builder = builder.header(*k, *v);
    }
    builder
        .body(Body::from(case["body"].as_str().unwrap().to_string()))
        .unwrap()
}

#[tokio::test]
async fn the_spec_vectors_verify() {
    let tc = Tc::example();
    // qcloud-python-sts's GetFederationToken, byte for byte (legacy v1, signed host
    // sts.tencentcloudapi.com, Policy URL-encoded twice on the wire): a full issuance.
    let case = vector("tc_v1/1-5-python-sts-get-federation-token");
    let req = Request::post("/")
        .header("host", "127.0.0.1:8900")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(case["raw_params"].as_str().unwrap().to_string()))
        .unwrap();
    let answer = tc.at(req, 1_700_000_000).await;
    assert_eq!(code(&answer), "", "{answer}");
    assert_eq!(answer["ExpiredTime"], 1_700_001_800);
    assert_eq!(answer["Expiration"], "2023-11-14T22:43:20Z");
    // The tencentcloud SDK's TC3 POST and GET (its policy {"version":"2.0"} has no statement:
    // refused only after the signature passed).
    let post = vector("tc3/1-3-sdk-post");
    let answer = tc
        .at(
            tc3_vector(&post, &[("x-tc-region", "ap-guangzhou")]),
            1_700_000_000,
        )
        .await;
    assert_eq!(
        code(&answer),
        "InvalidParameter.StrategyFormatError",
        "{answer}"
    );
    let get = vector("tc3/1-3-sdk-get");
    let answer = tc
        .at(
            tc3_vector(&get, &[("x-tc-region", "ap-guangzhou")]),
            1_700_000_000,
        )
        .await;
    assert_eq!(
        code(&answer),
        "InvalidParameter.StrategyFormatError",
        "{answer}"
    );
    // The same with the (unsigned) token TOKENXYZ: not a token of ours.
    let token = vector("tc3/1-3-sdk-post-token");
    let answer = tc
        .at(tc3_vector(&token, &[("x-tc-region", "ap")]), 1_700_000_000)
        .await;
    assert_eq!(code(&answer), "AuthFailure.TokenFailure", "{answer}");
    // One second past the window.
    let answer = tc
        .at(tc3_vector(&post, &[("x-tc-region", "ap")]), 1_700_000_301)
        .await;
    assert_eq!(code(&answer), "AuthFailure.SignatureExpire", "{answer}");
}

#[tokio::test]
async fn a_v1_signature_over_the_host_header_as_sent_verifies() {
    // The CVM doc vector (HmacSHA1) and its HmacSHA256 twin, signed over the Host they name
    // (a face each: they share Nonce and Timestamp).
    for case in [
        "tc_v1/1-5-doc-describe-instances",
        "tc_v1/local-hmac-sha256",
    ] {
        let cvm = Tc::with_env(&EnvKeys {
            aliyun: None,
            tencent: Some(AccessKey {
                id: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE".into(),
                secret: Secret::new("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"),
            }),
        });
        let case = vector(case);
        let req = Request::get(format!("/?{}", case["raw_params"].as_str().unwrap()))
            .header("host", "cvm.tencentcloudapi.com")
            .body(Body::empty())
            .unwrap();
        let answer = cvm.at(req, 1_465_185_768).await;
        assert_eq!(code(&answer), "NoSuchVersion", "{answer}");
    }
}

#[tokio::test]
async fn both_wire_styles_of_both_signatures_issue_credentials() {
    let tc = Tc::new();
    let (id, secret) = tc.root();
    let root = Key {
        id: &id,
        secret: &secret,
        token: None,
    };
    let gft = json!({"Name": "cos-sts-python", "Policy": pe(POLICY), "DurationSeconds": 900});
    for method in ["POST", "GET"] {
        let answer = tc
            .send(tc3(method, "GetFederationToken", &gft, &root, now()))
            .await;
        let (tmp_id, tmp_key, token) = creds(&answer);
        assert!(
            tmp_id.starts_with("AKID") && tmp_key.len() == 32,
            "{answer}"
        );
        assert!(token.starts_with("TCST"), "{answer}");
        let expired = answer["ExpiredTime"].as_i64().unwrap();
        assert!((expired - now() - 900).abs() <= 2, "{answer}");
        let claims = tc
            .state
            .keys
            .tokens
            .open(&token, OffsetDateTime::now_utc())
            .unwrap();
        assert_eq!(claims.role_policy, None);
        assert!(claims
            .session_policy
            .unwrap()
            .contains("examplebucket-1250000000/dir/*"));
        assert_eq!(claims.session_name, "cos-sts-python");
    }
    let policy = pe(POLICY);
    let params = [("Name", "cos-sts-python"), ("Policy", policy.as_str())];
    for (method, host, sig) in [
        ("POST", "sts.tencentcloudapi.com", SignatureMethod::HmacSha1),
        ("GET", "127.0.0.1:8704", SignatureMethod::HmacSha256),
        (
            "POST",
            "sts.ap-guangzhou.tencentcloudapi.com",
            SignatureMethod::HmacSha1,
        ),
        (
            "POST",
            "sts.intl.tencentcloudapi.com",
            SignatureMethod::HmacSha256,
        ),
        (
            "GET",
            "sts.internal.tencentcloudapi.com",
            SignatureMethod::HmacSha1,
        ),
    ] {
        let answer = tc
            .send(v1(
                method,
                host,
                "GetFederationToken",
                &params,
                &root,
                sig,
                now(),
            ))
            .await;
        assert_eq!(code(&answer), "", "{method} {host}: {answer}");
        // The default duration; `now()` may tick a second past the server's clock.
        let left = answer["ExpiredTime"].as_i64().unwrap() - now();
        assert!((left - 1800).abs() <= 2, "{answer}");
    }
    let answer = tc
        .send(v1(
            "POST",
            "sts.example.com",
            "GetFederationToken",
            &params,
            &root,
            SignatureMethod::HmacSha1,
            now(),
        ))
        .await;
    assert_eq!(code(&answer), "AuthFailure.SignatureFailure");
    let message = answer["Error"]["Message"].as_str().unwrap();
    assert!(
        message.contains("127.0.0.1:8704, sts.tencentcloudapi.com"),
        "{message}"
    );
}

#[tokio::test]
async fn caller_identity_of_root_role_and_federated_credentials() {
    let tc = Tc::new();
    let (id, secret) = tc.root();
    let uin = tc.state.uin.clone();
    let root = Key {
        id: &id,
        secret: &secret,
        token: None,
    };
    let me = tc
        .send(tc3("POST", "GetCallerIdentity", &json!({}), &root, now()))
        .await;
    assert_eq!(
        me,
        json!({"Arn": format!("qcs::cam:{uin}:uin/{uin}"), "AccountId": uin, "UserId": uin,
               "PrincipalId": uin, "Type": "CAMUser", "RequestId": me["RequestId"]})
    );
    let assume = json!({"RoleArn": tc.app_arn(), "RoleSessionName": "alice"});
    let (tid, tkey, token) = creds(
        &tc.send(tc3("POST", "AssumeRole", &assume, &root, now()))
            .await,
    );
    let temporary = Key {
        id: &tid,
        secret: &tkey,
        token: Some(&token),
    };
    let me = tc
        .send(tc3(
            "GET",
            "GetCallerIdentity",
            &json!({}),
            &temporary,
            now(),
        ))
        .await;
    let role_id = stsgate::iam::role_id(&uin, "app");
    assert_eq!(me["Type"], "CAMRole");
    assert_eq!(me["Arn"], format!("qcs::sts:{uin}:assumed-role/{role_id}"));
    assert_eq!(me["UserId"], format!("{role_id}:alice"));
    assert_eq!(
        (&me["PrincipalId"], &me["AccountId"]),
        (&json!(uin), &json!(uin))
    );
    let me = tc
        .send(v1(
            "POST",
            "sts.tencentcloudapi.com",
            "GetCallerIdentity",
            &[],
            &temporary,
            SignatureMethod::HmacSha1,
            now(),
        ))
        .await;
    assert_eq!(me["Type"], "CAMRole", "v1 with Token: {me}");

    let gft = json!({"Name": "bob", "Policy": pe(POLICY)});
    let (fid, fkey, ftoken) = creds(
        &tc.send(tc3("POST", "GetFederationToken", &gft, &root, now()))
            .await,
    );
    let federated = Key {
        id: &fid,
        secret: &fkey,
        token: Some(&ftoken),
    };
    let me = tc
        .send(tc3(
            "POST",
            "GetCallerIdentity",
            &json!({}),
            &federated,
            now(),
        ))
        .await;
    assert_eq!(me["Type"], "CAMUser");
    assert_eq!(me["Arn"], format!("qcs::sts:{uin}:federated-user/{uin}"));
    assert_eq!(me["UserId"], format!("{uin}:bob"));
    // Temporary credentials may not call GetFederationToken.
    let answer = tc
        .send(tc3("POST", "GetFederationToken", &gft, &federated, now()))
        .await;
    assert_eq!(code(&answer), "FailedOperation.TempKeyNotAllowed");
}

#[tokio::test]
async fn signature_and_token_errors_name_what_failed() {
    let tc = Tc::new();
    let (id, secret) = tc.root();
    let root = Key {
        id: &id,
        secret: &secret,
        token: None,
    };
    let me = json!({});
    let check = |answer: Value, expected: &str, words: &str| {
        assert_eq!(code(&answer), expected, "{answer}");
        let message = answer["Error"]["Message"].as_str().unwrap();
        assert!(message.contains(words), "{message}");
    };
    let wrong = Key {
        secret: "not-the-secret",
        ..root
    };
    check(
        tc.send(tc3("POST", "GetCallerIdentity", &me, &wrong, now()))
            .await,
        "AuthFailure.SignatureFailure",
        "content-type;host",
    );
    let nobody = Key {
        id: "AKIDnobody",
        ..root
    };
    check(
        tc.send(tc3("POST", "GetCallerIdentity", &me, &nobody, now()))
            .await,
        "AuthFailure.SecretIdNotFound",
        "TencentSecretId",
    );
    check(
        tc.send(tc3("POST", "GetCallerIdentity", &me, &root, now() - 301))
            .await,
        "AuthFailure.SignatureExpire",
        "301s",
    );
    check(
        tc.send(v1(
            "GET",
            "127.0.0.1:8704",
            "GetCallerIdentity",
            &[],
            &root,
            SignatureMethod::HmacSha1,
            now() + 400,
        ))
        .await,
        "AuthFailure.SignatureExpire",
        "clock",
    );
    // The Alibaba root key is not a Tencent key.
    let ali = Key {
        id: &tc.dir.root.id,
        secret: tc.dir.root.secret.expose(),
        token: None,
    };
    check(
        tc.send(tc3("POST", "GetCallerIdentity", &me, &ali, now()))
            .await,
        "AuthFailure.SecretIdNotFound",
        "SecretId",
    );

    let assume = json!({"RoleArn": tc.app_arn(), "RoleSessionName": "s1"});
    let (tid, tkey, token) = creds(
        &tc.send(tc3("POST", "AssumeRole", &assume, &root, now()))
            .await,
    );
    let mut tampered = token.clone().into_bytes();
    let i = tampered.len() / 2;
    tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let with = |token: &str| {
        tc3(
            "POST",
            "GetCallerIdentity",
            &me,
            &Key {
                id: &tid,
                secret: &tkey,
                token: Some(token),
            },
            now(),
        )
    };
    check(
        tc.send(with(&tampered)).await,
        "AuthFailure.TokenFailure",
        "altered",
    );
    let alibaba = tc.state.keys.tokens.mint(
        "acs:ram::1:role/app",
        "s",
        None,
        None,
        900,
        OffsetDateTime::now_utc(),
    );
    check(
        tc.send(with(&alibaba.security_token)).await,
        "AuthFailure.TokenFailure",
        "Alibaba",
    );
    let other = tc
        .send(tc3(
            "POST",
            "AssumeRole",
            &json!({"RoleArn": tc.app_arn(), "RoleSessionName": "s2"}),
            &root,
            now(),
        ))
        .await;
    check(
        tc.send(with(&creds(&other).2)).await,
        "AuthFailure.TokenFailure",
        "another SecretId",
    );
    let no_token = Key {
        id: &tid,
        secret: &tkey,
        token: None,
    };
    check(
        tc.send(tc3("POST", "GetCallerIdentity", &me, &no_token, now()))
            .await,
        "AuthFailure.SecretIdNotFound",
        "token",
    );
    // Revoked by access key id: refused at once.
    let revocations = stsgate::revocations::Revocations::open(&tc.dir.path).unwrap();
    revocations
        .revoke(
            &stsgate::revocations::Target::AccessKeyId(tid.clone()),
            "rid",
        )
        .unwrap();
    check(
        tc.send(with(&token)).await,
        "AuthFailure.TokenFailure",
        "revoked",
    );
}

#[tokio::test]
async fn an_expired_token_is_refused_on_the_clock_given() {
    let tc = Tc::new();
    let (id, secret) = tc.root();
    let root = Key {
        id: &id,
        secret: &secret,
        token: None,
    };
    let t0 = now();
    let assume = json!({"RoleArn": tc.app_arn(), "RoleSessionName": "s1", "DurationSeconds": 60});
    let answer = tc
        .at(tc3("POST", "AssumeRole", &assume, &root, t0), t0)
        .await;
    assert_eq!(answer["ExpiredTime"], t0 + 60);
    let (tid, tkey, token) = creds(&answer);
    let key = Key {
        id: &tid,
        secret: &tkey,
        token: Some(&token),
    };
    let at = |t: i64| tc3("POST", "GetCallerIdentity", &json!({}), &key, t);
    assert_eq!(tc.at(at(t0 + 59), t0 + 59).await["Type"], "CAMRole");
    let expired = tc.at(at(t0 + 60), t0 + 60).await;
    assert_eq!(code(&expired), "AuthFailure.TokenFailure");
    assert!(expired["Error"]["Message"]
        .as_str()
        .unwrap()
        .contains("expired"));
}

#[tokio::test]
async fn a_v1_nonce_is_used_once_with_its_timestamp_and_tc3_may_repeat() {
    let tc = Tc::new();
    let (id, secret) = tc.root();
    let root = Key {
        id: &id,
        secret: &secret,
        token: None,
    };
    let t0 = now();
    let first = v1(
        "POST",
        "sts.tencentcloudapi.com",
        "GetCallerIdentity",
        &[],
        &root,
        SignatureMethod::HmacSha1,
        t0,
    );
    let (parts, body) = first.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    let again = || {
        let mut req = Request::post("/").body(Body::from(body.clone())).unwrap();
        *req.headers_mut() = parts.headers.clone();
        req
    };
    assert_eq!(tc.send(again()).await["Type"], "CAMUser");
    let replay = tc.send(again()).await;
    assert_eq!(code(&replay), "AuthFailure.InvalidAuthorization");
    assert!(replay["Error"]["Message"]
        .as_str()
        .unwrap()
        .contains("replay"));
    // Durable: a second state over the same directory refuses it too.
    let reopened = serve::tc_sts_state(&tc.dir).unwrap();
    let resp = tc_sts::router(reopened).oneshot(again()).await.unwrap();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&bytes).contains("AuthFailure.InvalidAuthorization"));
    // The Alibaba face's nonces live in the same table under other keys.
    assert!(tc.state.iam.use_nonce(&id, "x", t0 + 301, t0).unwrap());
    // TC3 has no nonce: the identical request twice is accepted, as Tencent does.
    let req = || tc3("POST", "GetCallerIdentity", &json!({}), &root, t0);
    assert_eq!(tc.send(req()).await["Type"], "CAMUser");
    assert_eq!(tc.send(req()).await["Type"], "CAMUser");
}

#[tokio::test]
async fn protocol_errors_are_http_200_with_tencent_codes() {
    let tc = Tc::new();
    let (id, secret) = tc.root();
    let root = Key {
        id: &id,
        secret: &secret,
        token: None,
    };
    let cases: Vec<(Request<Body>, &str)> = vec![
        (
            Request::put("/").body(Body::empty()).unwrap(),
            "UnsupportedProtocol",
        ),
        (
            Request::get("/sts/?Action=GetCallerIdentity")
                .body(Body::empty())
                .unwrap(),
            "UnsupportedProtocol",
        ),
        (
            Request::post("/")
                .header("content-type", "text/plain")
                .body(Body::from("x"))
                .unwrap(),
            "UnsupportedProtocol",
        ),
        (
            Request::get("/?Action=GetCallerIdentity")
                .body(Body::empty())
                .unwrap(),
            "MissingParameter",
        ),
        (
            Request::post("/")
                .header("content-type", "application/json")
                .body(Body::from("{}"))
                .unwrap(),
            "AuthFailure.InvalidAuthorization",
        ),
        (
            Request::get(format!("/?A={}", "a".repeat(33 * 1024)))
                .body(Body::empty())
                .unwrap(),
            "RequestSizeLimitExceeded",
        ),
        (
            Request::post("/")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(format!("A={}", "a".repeat(1024 * 1024))))
                .unwrap(),
            "RequestSizeLimitExceeded",
        ),
        (
            Request::post("/")
                .header("content-type", "application/json")
                .body(Body::from(vec![b' '; 10 * 1024 * 1024 + 1]))
                .unwrap(),
            "RequestSizeLimitExceeded",
        ),
        (
            tc3("POST", "DescribeInstances", &json!({}), &root, now()),
            "InvalidAction",
        ),
    ];
    for (req, expected) in cases {
        let answer = tc.send(req).await;
        assert_eq!(code(&answer), expected, "{answer}");
        assert!(!answer["Error"]["Message"].as_str().unwrap().is_empty());
    }
    let mut old_version = tc3("POST", "GetCallerIdentity", &json!({}), &root, now());
    old_version
        .headers_mut()
        .insert("x-tc-version", "2017-03-12".parse().unwrap());
    assert_eq!(code(&tc.send(old_version).await), "NoSuchVersion");
    let mut no_region = tc3("POST", "GetCallerIdentity", &json!({}), &root, now());
    no_region.headers_mut().remove("x-tc-region");
    assert_eq!(code(&tc.send(no_region).await), "MissingParameter");
}
