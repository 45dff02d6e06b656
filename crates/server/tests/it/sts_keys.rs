//! Extra access keys (`stsgate key create`) at the sts face through `oneshot`: unknown until
//! created, `NoPermission` until a role trusts them, then `AssumeRole` and `GetCallerIdentity`
//! work; a deleted key is unknown again.

use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use stsgate::admin;
use stsgate::common::dates::iso8601;
use stsgate::datadir;
use stsgate::serve;
use stsgate_signing::encode::pe;
use stsgate_signing::pop;
use time::OffsetDateTime;
use tower::ServiceExt;

fn signed(action: &str, ak: &str, secret: &str, extra: &[(&str, &str)]) -> Request<Body> {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let now = iso8601(OffsetDateTime::now_utc());
    let mut params: Vec<(String, String)> = [
        ("Action", action),
        ("Version", "2015-04-01"),
        ("Format", "JSON"),
        ("AccessKeyId", ak),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("SignatureNonce", nonce.as_str()),
        ("Timestamp", now.as_str()),
    ]
    .iter()
    .chain(extra.iter())
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let signature = pop::rpc_sign(secret, &pop::rpc_string_to_sign("GET", &params));
    params.push(("Signature".into(), signature));
    let query = params
        .iter()
        .map(|(k, v)| format!("{}={}", pe(k), pe(v)))
        .collect::<Vec<_>>()
        .join("&");
    Request::get(format!("/?{query}"))
        .header("host", "127.0.0.1:8701")
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn an_extra_key_assumes_a_role_once_trusted() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let dir = datadir::open(&data, &Default::default()).unwrap().dir;
    let state = serve::sts_state(&dir).unwrap();
    let send = |req: Request<Body>| {
        let state = state.clone();
        async move {
            let resp = stsgate::aliyun::sts::router(state)
                .oneshot(req)
                .await
                .unwrap();
            let status = resp.status();
            let bytes = resp.into_body().collect().await.unwrap().to_bytes();
            (status, serde_json::from_slice::<Value>(&bytes).unwrap())
        }
    };
    let arn = format!("acs:ram::{}:role/app", dir.account_id);
    let assume = [("RoleArn", arn.as_str()), ("RoleSessionName", "ci-job")];

    let (status, body) = send(signed("AssumeRole", "LTAIunknown", "x", &assume)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["Code"], "InvalidAccessKeyId.NotFound");

    let (ak, sk) = admin::key_create(&data, "ci").unwrap();
    let (status, body) = send(signed("AssumeRole", &ak, &sk, &assume)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["Code"], "NoPermission");
    assert!(body["Message"]
        .as_str()
        .unwrap()
        .contains("stsgate role trust"));
    let (status, body) = send(signed("AssumeRole", &ak, "wrong", &assume)).await;
    assert_eq!(body["Code"], "SignatureDoesNotMatch", "{status} {body}");

    assert!(state.iam.trust("app", std::slice::from_ref(&ak)).unwrap());
    // The role cache may hold the old copy for up to a second.
    let mut answer = Value::Null;
    for _ in 0..30 {
        let (status, body) = send(signed("AssumeRole", &ak, &sk, &assume)).await;
        answer = body;
        if status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let id = answer["Credentials"]["AccessKeyId"].as_str().unwrap_or("");
    assert!(id.starts_with("STS."), "{answer}");

    let (status, me) = send(signed("GetCallerIdentity", &ak, &sk, &[])).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["IdentityType"], "RAMUser");
    assert_eq!(
        me["Arn"],
        format!("acs:ram::{}:user/ci", dir.account_id).as_str()
    );

    admin::key_delete(&data, "ci").unwrap();
    let (_, body) = send(signed("AssumeRole", &ak, &sk, &assume)).await;
    assert_eq!(body["Code"], "InvalidAccessKeyId.NotFound");
}
