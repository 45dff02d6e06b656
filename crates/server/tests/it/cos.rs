//! The cos face through `oneshot` (signed as the SDKs sign) and once on a real socket for the
//! exact-case header names. Wire compatibility with the real SDKs is `conformance/test_cos*.py`.

use crate::common::element;
use axum::body::Body;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use std::sync::Arc;
use stsgate::datadir::{self, DataDir};
use stsgate::serve;
use stsgate::tencent::cos::{self, CosState};
use stsgate_signing::cos as qsign;
use tower::ServiceExt;

pub struct Cos {
    pub _tmp: tempfile::TempDir,
    pub dir: DataDir,
    pub state: Arc<CosState>,
    /// `test-<appid>`, created private.
    pub bucket: String,
}

/// Who signs: a SecretId/SecretKey and an optional (unsigned) security token.
pub struct Creds {
    pub id: String,
    pub key: String,
    pub token: Option<String>,
}

impl Cos {
    pub fn new() -> Cos {
        let tmp = tempfile::tempdir().unwrap();
        let dir = datadir::open(&tmp.path().join("data"), &Default::default())
            .unwrap()
            .dir;
        let state = serve::cos_state(&dir, cos::DEFAULT_REGION).unwrap();
        let bucket = format!("test-{}", state.app_id);
        state
            .store
            .create_bucket(
                &bucket,
                stsgate_store::Acl::Private,
                "Standard",
                time::OffsetDateTime::now_utc(),
            )
            .unwrap();
        Cos {
            _tmp: tmp,
            dir,
            state,
            bucket,
        }
    }

    pub fn host(&self) -> String {
        format!("{}.cos.ap-guangzhou.myqcloud.com", self.bucket)
    }

    pub fn root(&self) -> Creds {
        let root = &self.dir.tencent.as_ref().unwrap().root;
        Creds {
            id: root.id.clone(),
            key: root.secret.expose().to_string(),
            token: None,
        }
    }

    /// Temporary credentials limited by a CAM policy (what `creds issue --vendor tencent` mints).
    pub fn temporary(&self, policy: &str, secs: i64) -> Creds {
        let now = time::OffsetDateTime::now_utc();
        let (minted, _) =
            stsgate::creds::issue_tencent(&self.dir, policy, secs, "alice", now).unwrap();
        Creds {
            id: minted.access_key_id,
            key: minted.access_key_secret.expose().to_string(),
            token: Some(minted.security_token),
        }
    }

    /// A request to `host` + `target` (raw path and query) signed like cos-nodejs-sdk-v5:
    /// `host` and the given headers signed, every query param signed, the token unsigned.
    pub fn signed(
        &self,
        creds: &Creds,
        method: &str,
        host: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: impl Into<Body>,
    ) -> Request<Body> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let key_time = format!("{};{}", now - 60, now + 600);
        let (raw_path, raw_query) = target.split_once('?').unwrap_or((target, ""));
        let path = stsgate_signing::encode::decode_path(raw_path).unwrap();
        let params = stsgate_signing::encode::decode_query(raw_query);
        let mut signed: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        signed.push(("host".into(), host.into()));
        let auth = qsign::sign(
            &creds.key, &creds.id, &key_time, method, &path, &params, &signed,
        );
        let mut req = Request::builder()
            .method(method)
            .uri(target)
            .header("host", host)
            .header("authorization", auth.to_string());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(token) = &creds.token {
            req = req.header("x-cos-security-token", token);
        }
        req.body(body.into()).unwrap()
    }

    /// A root-signed request to the test bucket's host.
    pub fn root_req(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: impl Into<Body>,
    ) -> Request<Body> {
        self.signed(&self.root(), method, &self.host(), target, headers, body)
    }

    pub async fn send(&self, req: Request<Body>) -> (Response<Body>, String) {
        let resp = cos::router(self.state.clone()).oneshot(req).await.unwrap();
        let (parts, body) = resp.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        (
            Response::from_parts(parts, Body::empty()),
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    /// Sends and returns (status, COS error code or "").
    pub async fn outcome(&self, req: Request<Body>) -> (u16, String) {
        let (resp, body) = self.send(req).await;
        (
            resp.status().as_u16(),
            element(&body, "Code").unwrap_or_default(),
        )
    }
}

fn header<'a>(resp: &'a Response<Body>, name: &str) -> &'a str {
    resp.headers()
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or("")
}

#[tokio::test]
async fn put_get_head_delete_with_the_root_key() {
    let c = Cos::new();
    let (resp, _) = c
        .send(c.root_req(
            "PUT",
            "/dir/a%20b%2Bc.txt",
            &[("content-type", "text/plain")],
            "hello",
        ))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        header(&resp, "etag"),
        "\"5d41402abc4b2a76b9719d911017c592\""
    );
    // CRC-64/XZ in decimal: what cos-python-sdk-v5's crcmod function gives for b"hello".
    assert_eq!(
        header(&resp, "x-cos-hash-crc64ecma"),
        "11177612005948864433"
    );
    assert_eq!(header(&resp, "server"), "tencent-cos");
    assert!(!header(&resp, "x-cos-request-id").is_empty());

    let (resp, body) = c
        .send(c.root_req("GET", "/dir/a%20b%2Bc.txt", &[], ""))
        .await;
    assert_eq!((resp.status(), body.as_str()), (StatusCode::OK, "hello"));
    assert_eq!(header(&resp, "content-type"), "text/plain");
    assert_eq!(header(&resp, "content-length"), "5");

    let range = [("range", "bytes=1-3")];
    let target = "/dir/a%20b%2Bc.txt?response-content-type=application%2Fjson";
    let (resp, body) = c.send(c.root_req("GET", target, &range, "")).await;
    assert_eq!(
        (resp.status(), body.as_str()),
        (StatusCode::PARTIAL_CONTENT, "ell")
    );
    assert_eq!(header(&resp, "content-range"), "bytes 1-3/5");
    assert_eq!(header(&resp, "content-type"), "application/json");
    assert_eq!(
        header(&resp, "x-cos-hash-crc64ecma"),
        "11177612005948864433"
    );

    let (resp, body) = c
        .send(c.root_req("HEAD", "/dir/a%20b%2Bc.txt", &[], ""))
        .await;
    assert_eq!((resp.status(), body.as_str()), (StatusCode::OK, ""));
    assert_eq!(header(&resp, "content-length"), "5");

    let (resp, _) = c
        .send(c.root_req("DELETE", "/dir/a%20b%2Bc.txt", &[], ""))
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let (resp, body) = c
        .send(c.root_req("GET", "/dir/a%20b%2Bc.txt", &[], ""))
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(header(&resp, "content-type"), "application/xml");
    for name in ["Code", "Message", "Resource", "RequestId", "TraceId"] {
        assert!(
            element(&body, name).is_some_and(|v| !v.is_empty()),
            "{name} in {body}"
        );
    }
    assert_eq!(element(&body, "Code").as_deref(), Some("NoSuchKey"));
    assert_eq!(
        element(&body, "RequestId").as_deref(),
        Some(header(&resp, "x-cos-request-id"))
    );
}

#[tokio::test]
async fn head_errors_have_no_body_and_name_the_code_in_a_header() {
    let c = Cos::new();
    let (resp, body) = c.send(c.root_req("HEAD", "/missing", &[], "")).await;
    assert_eq!((resp.status(), body.as_str()), (StatusCode::NOT_FOUND, ""));
    assert_eq!(header(&resp, "x-cos-error-code"), "NoSuchKey");
    assert!(!header(&resp, "x-cos-trace-id").is_empty());
    let stranger = Creds {
        id: "AKIDnobody".into(),
        key: "x".into(),
        token: None,
    };
    let req = c.signed(&stranger, "HEAD", &c.host(), "/k", &[], "");
    let (resp, _) = c.send(req).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(header(&resp, "x-cos-error-code"), "InvalidAccessKeyId");
    // A GET error never carries the header (Python would then ignore the XML body).
    let (resp, _) = c.send(c.root_req("GET", "/missing", &[], "")).await;
    assert!(resp.headers().get("x-cos-error-code").is_none());
}

#[tokio::test]
async fn conditional_reads() {
    let c = Cos::new();
    c.send(c.root_req("PUT", "/k", &[], "data")).await;
    let etag = "\"8d777f385d3dfec8815d20f7496026dc\"";
    let (resp, _) = c
        .send(c.root_req("GET", "/k", &[("if-none-match", etag)], ""))
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header(&resp, "etag"), etag);
    let outcome = c
        .outcome(c.root_req("GET", "/k", &[("if-match", "\"0\"")], ""))
        .await;
    assert_eq!(outcome, (412, "PreconditionFailed".into()));
    let past = "Mon, 01 Jan 2024 00:00:00 GMT";
    let outcome = c
        .outcome(c.root_req("GET", "/k", &[("if-unmodified-since", past)], ""))
        .await;
    assert_eq!(outcome, (412, "PreconditionFailed".into()));
    let (resp, _) = c
        .send(c.root_req("GET", "/k", &[("if-modified-since", past)], ""))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let outcome = c
        .outcome(c.root_req("GET", "/k", &[("range", "bytes=9-")], ""))
        .await;
    assert_eq!(outcome, (416, "InvalidRange".into()));
}

const ALICE: &str = r#"{"version":"2.0","statement":[
  {"effect":"allow","action":["name/cos:PutObject","name/cos:GetObject","name/cos:HeadObject","name/cos:DeleteObject"],
   "resource":["qcs::cos:ap-guangzhou:uid/APPID:BUCKET/users/alice/*"]},
  {"effect":"allow","action":["name/cos:GetBucket"],
   "resource":["qcs::cos:ap-guangzhou:uid/APPID:BUCKET/"],
   "condition":{"string_like":{"cos:prefix":"users/alice/*"}}}]}"#;

fn alice_policy(c: &Cos) -> String {
    ALICE
        .replace("APPID", &c.state.app_id)
        .replace("BUCKET", &c.bucket)
}

#[tokio::test]
async fn temporary_credentials_stay_inside_their_prefix() {
    let c = Cos::new();
    let alice = c.temporary(&alice_policy(&c), 900);
    let host = c.host();
    let put = |key: &str| c.signed(&alice, "PUT", &host, key, &[], "x");
    assert_eq!(
        c.outcome(put("/users/alice/a.txt")).await,
        (200, String::new())
    );
    for outside in [
        "/users/alicex/a.txt",
        "/users/bob/a.txt",
        "/users/alice",
        "/other",
    ] {
        assert_eq!(
            c.outcome(put(outside)).await,
            (403, "AccessDenied".into()),
            "{outside}"
        );
    }
    let get = c.signed(&alice, "GET", &host, "/users/alice/a.txt", &[], "");
    assert_eq!(c.outcome(get).await, (200, String::new()));
    let list = |q: &str| c.signed(&alice, "GET", &host, q, &[], "");
    let ok = list("/?prefix=users%2Falice%2F&delimiter=&marker=&max-keys=10&encoding-type=url");
    let (resp, body) = c.send(ok).await;
    assert_eq!(resp.status(), StatusCode::OK, "{body}");
    assert_eq!(
        element(&body, "Key").as_deref(),
        Some("users%2Falice%2Fa.txt")
    );
    for denied in ["/?prefix=users%2Falicex%2F", "/?prefix=", "/"] {
        assert_eq!(
            c.outcome(list(denied)).await,
            (403, "AccessDenied".into()),
            "{denied}"
        );
    }
    // Bucket-level and account-level operations are outside the policy.
    assert_eq!(
        c.outcome(c.signed(&alice, "DELETE", &host, "/", &[], ""))
            .await,
        (403, "AccessDenied".into())
    );
    assert_eq!(
        c.outcome(c.signed(&alice, "GET", "service.cos.myqcloud.com", "/", &[], ""))
            .await,
        (403, "AccessDenied".into())
    );
}

#[tokio::test]
async fn token_errors_use_the_documented_codes() {
    let c = Cos::new();
    let host = c.host();
    let policy = alice_policy(&c);
    let good = c.temporary(&policy, 900);
    let req = |creds: &Creds| c.signed(creds, "GET", &host, "/users/alice/none", &[], "");
    let wrong_secret = Creds {
        key: "wrong".into(),
        ..c.temporary(&policy, 900)
    };
    assert_eq!(
        c.outcome(req(&wrong_secret)).await,
        (403, "SignatureDoesNotMatch".into())
    );
    let mut tampered = c.temporary(&policy, 900);
    let token = tampered.token.take().unwrap();
    let flipped = if token.ends_with('A') { "B" } else { "A" };
    tampered.token = Some(format!("{}{flipped}", &token[..token.len() - 1]));
    assert_eq!(
        c.outcome(req(&tampered)).await,
        (403, "InvalidAccessKeyId".into())
    );
    let mismatched = Creds {
        token: c.temporary(&policy, 900).token,
        ..c.temporary(&policy, 900)
    };
    assert_eq!(
        c.outcome(req(&mismatched)).await,
        (403, "InvalidAccessKeyId".into())
    );
    let expired = c.temporary(&policy, 1);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(c.outcome(req(&expired)).await, (403, "AccessDenied".into()));
    // The good one still reaches the store (NoSuchKey, not an auth error).
    assert_eq!(c.outcome(req(&good)).await, (404, "NoSuchKey".into()));
}

#[tokio::test]
async fn buckets_are_name_dash_appid() {
    let c = Cos::new();
    let root = c.root();
    let other = "test-1234567890.cos.ap-guangzhou.myqcloud.com";
    let req = c.signed(&root, "PUT", other, "/", &[], "");
    assert_eq!(c.outcome(req).await, (404, "NoSuchBucket".into()));
    let bad = "test.cos.ap-guangzhou.myqcloud.com";
    let req = c.signed(&root, "PUT", bad, "/", &[], "");
    assert_eq!(c.outcome(req).await, (400, "InvalidBucketName".into()));
    // The Python presigned URL made in IP mode names no bucket.
    let req = c.signed(&root, "GET", "127.0.0.1:8703", "/dir/a.txt", &[], "");
    assert_eq!(c.outcome(req).await, (400, "InvalidRequest".into()));
}

#[tokio::test]
async fn the_js_bucket_path_form_and_absolute_form_targets() {
    let c = Cos::new();
    let root = c.root();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let key_time = format!("{};{}", now - 1, now + 900);
    let ip = "127.0.0.1:8703";
    // Node `Domain: '127.0.0.1:PORT/{Bucket}'`: the signature's path leaves out the bucket.
    let auth = qsign::sign(
        &root.key,
        &root.id,
        &key_time,
        "PUT",
        "/js.txt",
        &[],
        &[("host".into(), ip.into())],
    );
    let req = Request::put(format!("/{}/js.txt", c.bucket))
        .header("host", ip)
        .header("authorization", auth.to_string())
        .body(Body::from("js"))
        .unwrap();
    assert_eq!(c.outcome(req).await, (200, String::new()));
    // Python `Proxies`: an absolute-form target with the virtual host.
    let req = c.root_req("GET", "/js.txt", &[], "");
    let (mut parts, body) = req.into_parts();
    parts.uri = format!("http://{}/js.txt", c.host()).parse().unwrap();
    let (resp, body) = c.send(Request::from_parts(parts, body)).await;
    assert_eq!((resp.status(), body.as_str()), (StatusCode::OK, "js"));
}

#[tokio::test]
async fn anonymous_access_follows_public_acls() {
    let c = Cos::new();
    c.send(c.root_req("PUT", "/pub.txt", &[], "p")).await;
    let anonymous = |method: &str, key: &str| {
        Request::builder()
            .method(method)
            .uri(key)
            .header("host", c.host())
            .body(Body::from("x"))
            .unwrap()
    };
    assert_eq!(
        c.outcome(anonymous("GET", "/pub.txt")).await,
        (403, "AccessDenied".into())
    );
    let set_acl = c.root_req("PUT", "/?acl", &[("x-cos-acl", "public-read")], "");
    assert_eq!(c.outcome(set_acl).await, (200, String::new()));
    assert_eq!(
        c.outcome(anonymous("GET", "/pub.txt")).await,
        (200, String::new())
    );
    assert_eq!(
        c.outcome(anonymous("PUT", "/pub.txt")).await,
        (403, "AccessDenied".into())
    );
    let (resp, body) = c.send(c.root_req("GET", "/?acl", &[], "")).await;
    assert_eq!(header(&resp, "x-cos-acl"), "public-read");
    assert!(
        body.contains("<URI>http://cam.qcloud.com/groups/global/AllUsers</URI>"),
        "{body}"
    );
}

#[tokio::test]
async fn the_store_is_shared_with_the_oss_face() {
    let c = Cos::new();
    c.send(c.root_req("PUT", "/shared.txt", &[], "both")).await;
    let oss = serve::oss_state(&c.dir, serve::DEFAULT_REGION).unwrap();
    let info = oss.store.head_object(&c.bucket, "shared.txt").unwrap();
    assert_eq!(info.size, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_names_keep_their_case_on_the_wire() {
    use std::io::{Read, Write};
    let c = Cos::new();
    c.send(c.root_req("PUT", "/case.txt", &[], "hello")).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve::run_cos(listener, c.state.clone(), async {
        let _ = rx.await;
    }));
    let req = c.root_req("HEAD", "/case.txt", &[], "");
    let auth = req.headers()["authorization"].to_str().unwrap().to_string();
    let host = c.host();
    let answer = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        let raw = format!(
            "HEAD /case.txt HTTP/1.1\r\nHost: {host}\r\nAuthorization: {auth}\r\nConnection: close\r\n\r\n"
        );
        s.write_all(raw.as_bytes()).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    for line in [
        "\r\nETag: \"5d41402abc4b2a76b9719d911017c592\"\r\n",
        "\r\nContent-Length: 5\r\n",
        "\r\nx-cos-hash-crc64ecma: 11177612005948864433\r\n",
        "\r\nLast-Modified: ",
        "\r\nx-cos-request-id: ",
        "\r\nServer: tencent-cos\r\n",
    ] {
        assert!(answer.contains(line), "{line:?} in {answer}");
    }
    tx.send(()).unwrap();
    server.await.unwrap().unwrap();
}
