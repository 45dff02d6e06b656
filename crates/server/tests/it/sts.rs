//! The sts face through `oneshot`: both signature schemes, issuance, and each error path.

use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use std::sync::Arc;
use stsgate::aliyun::sts::{self, StsState};
use stsgate::common::dates::iso8601;
use stsgate::datadir::{self, DataDir};
use stsgate::iam::{Role, DEFAULT_ROLE_POLICY};
use stsgate::serve;
use stsgate_signing::encode::pe;
use stsgate_signing::pop;
use time::OffsetDateTime;
use tower::ServiceExt;

struct Sts {
    _tmp: tempfile::TempDir,
    dir: DataDir,
    state: Arc<StsState>,
}

impl Sts {
    fn new() -> Sts {
        let tmp = tempfile::tempdir().unwrap();
        let dir = datadir::open(&tmp.path().join("data"), &Default::default())
            .unwrap()
            .dir;
        let state = serve::sts_state(&dir).unwrap();
        Sts {
            _tmp: tmp,
            dir,
            state,
        }
    }

    fn app_arn(&self) -> String {
        format!("acs:ram::{}:role/app", self.dir.account_id)
    }

    fn root(&self) -> (String, String) {
        (
            self.dir.root.id.clone(),
            self.dir.root.secret.expose().to_string(),
        )
    }

    async fn send(&self, req: Request<Body>) -> (StatusCode, String) {
        let resp = sts::router(self.state.clone()).oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Sends and parses a JSON answer.
    async fn json(&self, req: Request<Body>) -> (StatusCode, Value) {
        let (status, body) = self.send(req).await;
        (status, serde_json::from_str(&body).expect(&body))
    }
}

/// The RPC V1 parameters every request carries.
fn common(ak: &str, action: &str, nonce: &str, at: OffsetDateTime) -> Vec<(String, String)> {
    [
        ("Action", action),
        ("Version", "2015-04-01"),
        ("Format", "JSON"),
        ("AccessKeyId", ak),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("SignatureType", ""),
        ("SignatureNonce", nonce),
        ("Timestamp", &iso8601(at)),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn query_string(params: &[(String, String)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", pe(k), pe(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// An RPC V1 request (params in the query) signed with `secret`.
fn rpc(method: &str, mut params: Vec<(String, String)>, secret: &str) -> Request<Body> {
    let signature = pop::rpc_sign(secret, &pop::rpc_string_to_sign(method, &params));
    params.push(("Signature".into(), signature));
    Request::builder()
        .method(method)
        .uri(format!("/?{}", query_string(&params)))
        .header("host", "127.0.0.1:8701")
        .body(Body::empty())
        .unwrap()
}

fn nonce() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn assume(sts: &Sts, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let (ak, _) = sts.root();
    let mut params = common(&ak, "AssumeRole", &nonce(), OffsetDateTime::now_utc());
    let arn = sts.app_arn();
    let defaults = [("RoleArn", arn.as_str()), ("RoleSessionName", "alice")];
    for (k, v) in defaults.iter().chain(extra.iter()) {
        params.retain(|(name, _)| name != k);
        params.push((k.to_string(), v.to_string()));
    }
    params
}

/// An ACS3 request for `action` with `query`, as the Tea SDK sends it.
fn acs3(
    action: &str,
    query: &[(&str, &str)],
    ak: &str,
    secret: &str,
    token: Option<&str>,
) -> Request<Body> {
    let query: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut headers: Vec<(String, String)> = [
        ("host", "127.0.0.1:8701".to_string()),
        ("x-acs-action", action.to_string()),
        ("x-acs-version", "2015-04-01".to_string()),
        ("x-acs-date", iso8601(OffsetDateTime::now_utc())),
        ("x-acs-signature-nonce", nonce()),
        (
            "x-acs-content-sha256",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if let Some(token) = token {
        headers.push(("x-acs-security-token".into(), token.to_string()));
    }
    let signed: Vec<String> = headers.iter().map(|(k, _)| k.clone()).collect();
    let canonical =
        pop::acs3_canonical_request("POST", "/", &query, &headers, &signed, &headers[5].1);
    let signature = pop::acs3_sign(secret, &pop::acs3_string_to_sign(&canonical));
    let mut sorted = signed.clone();
    sorted.sort();
    let mut builder = Request::builder()
        .method("POST")
        .uri(format!("/?{}", query_string(&query)))
        .header(
            "authorization",
            format!(
                "ACS3-HMAC-SHA256 Credential={ak},SignedHeaders={},Signature={signature}",
                sorted.join(";")
            ),
        );
    for (k, v) in &headers {
        builder = builder.header(k, v);
    }
    builder.body(Body::empty()).unwrap()
}

async fn check_error(sts: &Sts, req: Request<Body>, status: StatusCode, code: &str) -> Value {
    let (got, body) = sts.json(req).await;
    assert_eq!((got, body["Code"].as_str()), (status, Some(code)), "{body}");
    for key in ["RequestId", "HostId", "Message", "Recommend"] {
        assert!(body[key].is_string(), "{key} in {body}");
    }
    body
}

#[tokio::test]
async fn rpc_assume_role_issues_credentials_carrying_both_policies() {
    let sts = Sts::new();
    let (_, secret) = sts.root();
    let policy = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:GetObject","Resource":"acs:oss:*:*:b/alice/*"}]}"#;
    let params = assume(&sts, &[("Policy", policy), ("DurationSeconds", "900")]);
    for method in ["GET", "POST"] {
        let mut params = params.clone();
        params.retain(|(k, _)| k != "SignatureNonce");
        params.push(("SignatureNonce".into(), nonce()));
        let (status, body) = sts.json(rpc(method, params, &secret)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let creds = &body["Credentials"];
        assert!(creds["AccessKeyId"].as_str().unwrap().starts_with("STS."));
        assert_eq!(
            body["AssumedRoleUser"]["Arn"],
            format!("{}/alice", sts.app_arn())
        );
        let expiration = creds["Expiration"].as_str().unwrap();
        assert_eq!(expiration.len(), 20, "{expiration}");
        let claims = sts
            .state
            .keys
            .tokens
            .open(
                creds["SecurityToken"].as_str().unwrap(),
                OffsetDateTime::now_utc(),
            )
            .unwrap();
        assert_eq!(claims.role_policy.as_deref(), Some(DEFAULT_ROLE_POLICY));
        assert!(claims.session_policy.unwrap().contains("b/alice/*"));
        assert!(claims.exp - claims.iat == 900);
    }
}

#[tokio::test]
async fn form_body_params_and_xml_format() {
    let sts = Sts::new();
    let (_, secret) = sts.root();
    let mut params = assume(&sts, &[("Format", "XML")]);
    let signature = pop::rpc_sign(&secret, &pop::rpc_string_to_sign("POST", &params));
    params.push(("Signature".into(), signature));
    let req = Request::builder()
        .method("POST")
        .uri("/")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(query_string(&params)))
        .unwrap();
    let (status, body) = sts.send(req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.starts_with("<?xml version='1.0' encoding='UTF-8'?><AssumeRoleResponse>"));
    assert!(body.contains("<AccessKeyId>STS."), "{body}");
}

#[tokio::test]
async fn acs3_assume_role_and_caller_identity_of_both_kinds() {
    let sts = Sts::new();
    let (ak, secret) = sts.root();
    let (status, me) = sts
        .json(acs3("GetCallerIdentity", &[], &ak, &secret, None))
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["IdentityType"], "Account");
    assert_eq!(me["AccountId"], sts.dir.account_id.as_str());
    let arn = sts.app_arn();
    let query = [("RoleArn", arn.as_str()), ("RoleSessionName", "bob")];
    let (status, issued) = sts
        .json(acs3("AssumeRole", &query, &ak, &secret, None))
        .await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    let c = &issued["Credentials"];
    let (tak, tsk, token) = (
        c["AccessKeyId"].as_str().unwrap(),
        c["AccessKeySecret"].as_str().unwrap(),
        c["SecurityToken"].as_str().unwrap(),
    );
    let (status, me) = sts
        .json(acs3("GetCallerIdentity", &[], tak, tsk, Some(token)))
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["IdentityType"], "AssumedRoleUser");
    assert_eq!(
        me["Arn"],
        format!("acs:ram::{}:assumed-role/app/bob", sts.dir.account_id)
    );
    // Temporary credentials may not assume roles (no role chaining).
    check_error(
        &sts,
        acs3("AssumeRole", &query, tak, tsk, Some(token)),
        StatusCode::FORBIDDEN,
        "NoPermission",
    )
    .await;
    check_error(
        &sts,
        acs3("GetCallerIdentity", &[], tak, tsk, None),
        StatusCode::BAD_REQUEST,
        "MissingSecurityToken",
    )
    .await;
    check_error(
        &sts,
        acs3("GetCallerIdentity", &[], tak, "wrong", Some(token)),
        StatusCode::BAD_REQUEST,
        "SignatureDoesNotMatch",
    )
    .await;
}

#[tokio::test]
async fn signature_errors() {
    let sts = Sts::new();
    let (ak, _) = sts.root();
    let body = check_error(
        &sts,
        rpc("POST", assume(&sts, &[]), "wrong"),
        StatusCode::BAD_REQUEST,
        "SignatureDoesNotMatch",
    )
    .await;
    let message = body["Message"].as_str().unwrap();
    let server_sts = message.split(':').nth(1).unwrap();
    assert!(
        server_sts.starts_with("POST&%2F&AccessKeyId%3D"),
        "{message}"
    );
    assert!(server_sts.contains("SignatureType%3D%26"), "{message}");

    let mut unknown = assume(&sts, &[]);
    unknown.retain(|(k, _)| k != "AccessKeyId");
    unknown.push(("AccessKeyId".into(), "LTAInobody".into()));
    check_error(
        &sts,
        rpc("POST", unknown, "x"),
        StatusCode::NOT_FOUND,
        "InvalidAccessKeyId.NotFound",
    )
    .await;

    let old = OffsetDateTime::now_utc() - time::Duration::minutes(16);
    let (_, secret) = sts.root();
    check_error(
        &sts,
        rpc(
            "GET",
            common(&ak, "GetCallerIdentity", &nonce(), old),
            &secret,
        ),
        StatusCode::BAD_REQUEST,
        "InvalidTimeStamp.Expired",
    )
    .await;
}

#[tokio::test]
async fn a_nonce_is_used_once() {
    let sts = Sts::new();
    let (ak, secret) = sts.root();
    let params = common(
        &ak,
        "GetCallerIdentity",
        &nonce(),
        OffsetDateTime::now_utc(),
    );
    let (status, _) = sts.json(rpc("GET", params.clone(), &secret)).await;
    assert_eq!(status, StatusCode::OK);
    check_error(
        &sts,
        rpc("GET", params, &secret),
        StatusCode::BAD_REQUEST,
        "SignatureNonceUsed",
    )
    .await;
}

/// Extra AssumeRole parameters, and the status and code they give.
type Case<'a> = (Vec<(&'a str, &'a str)>, StatusCode, &'a str);

#[tokio::test]
async fn parameter_errors() {
    let sts = Sts::new();
    let (ak, secret) = sts.root();
    let cases: Vec<Case> = vec![
        (
            vec![("RoleArn", "")],
            StatusCode::BAD_REQUEST,
            "MissingParameter",
        ),
        (
            vec![("RoleArn", "arn:aws:iam::1:role/x")],
            StatusCode::BAD_REQUEST,
            "InvalidParameter.RoleArn",
        ),
        (
            vec![("RoleArn", "acs:ram::1:role/app")],
            StatusCode::NOT_FOUND,
            "EntityNotExist.Role",
        ),
        (
            vec![("RoleSessionName", "a b")],
            StatusCode::BAD_REQUEST,
            "InvalidParameter.RoleSessionName",
        ),
        (
            vec![("DurationSeconds", "3601")],
            StatusCode::BAD_REQUEST,
            "InvalidParameter.DurationSeconds",
        ),
        (
            vec![("Policy", "{\"Version\":\"1\"}")],
            StatusCode::BAD_REQUEST,
            "InvalidParameter.PolicyGrammar",
        ),
        (
            vec![("Version", "2016-01-01")],
            StatusCode::BAD_REQUEST,
            "InvalidVersion",
        ),
        (
            vec![("Action", "AssumeRoleWithSAML")],
            StatusCode::NOT_FOUND,
            "InvalidAction.NotFound",
        ),
    ];
    for (extra, status, code) in cases {
        check_error(
            &sts,
            rpc("POST", assume(&sts, &extra), &secret),
            status,
            code,
        )
        .await;
    }
    let big = format!(
        "{{\"Version\":\"1\",\"Statement\":[{{\"Effect\":\"Allow\",\"Action\":\"oss:*\",\"Resource\":\"{}\"}}]}}",
        "a".repeat(2100)
    );
    check_error(
        &sts,
        rpc("POST", assume(&sts, &[("Policy", &big)]), &secret),
        StatusCode::BAD_REQUEST,
        "InvalidParameter.PolicySize",
    )
    .await;
    let mut missing = common(&ak, "AssumeRole", &nonce(), OffsetDateTime::now_utc());
    missing.retain(|(k, _)| k != "SignatureNonce");
    check_error(
        &sts,
        rpc("POST", missing, &secret),
        StatusCode::BAD_REQUEST,
        "MissingParameter",
    )
    .await;
}

#[tokio::test]
async fn untrusted_keys_get_no_permission_naming_the_fix() {
    let sts = Sts::new();
    let (ak, secret) = sts.root();
    sts.state
        .iam
        .create(&Role {
            name: "locked".into(),
            policy: DEFAULT_ROLE_POLICY.into(),
            trusted: vec!["LTAIsomeoneelse".into()],
            max_session: 7200,
        })
        .unwrap();
    let arn = format!("acs:ram::{}:role/locked", sts.dir.account_id);
    let body = check_error(
        &sts,
        rpc("POST", assume(&sts, &[("RoleArn", &arn)]), &secret),
        StatusCode::FORBIDDEN,
        "NoPermission",
    )
    .await;
    let message = body["Message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "stsgate role trust --data <DIR> --name locked --key {ak}"
        )),
        "{message}"
    );
    sts.state.iam.trust("locked", &[ak]).unwrap();
    let (status, body) = sts
        .json(rpc(
            "POST",
            assume(&sts, &[("RoleArn", &arn), ("DurationSeconds", "7200")]),
            &secret,
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn other_paths_and_bodies_are_refused() {
    let sts = Sts::new();
    let req = Request::builder()
        .uri("/v1/other?Format=JSON")
        .body(Body::empty())
        .unwrap();
    check_error(&sts, req, StatusCode::NOT_FOUND, "InvalidAction.NotFound").await;
    let req = Request::builder()
        .method("POST")
        .uri("/?Format=JSON")
        .header("content-type", "text/plain")
        .body(Body::from("hello"))
        .unwrap();
    check_error(
        &sts,
        req,
        StatusCode::BAD_REQUEST,
        "InvalidParameter.ContentType",
    )
    .await;
}
