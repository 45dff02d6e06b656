//! The cos face's other operations through `oneshot`: multi-delete, copy, multipart, CORS, POST
//! Object, listings of buckets, and the refusals no SDK would provoke.

use crate::common::element;
use crate::cos::{Cos, Creds};
use base64::Engine as _;
use http::{Request, StatusCode};

fn md5_b64(bytes: &[u8]) -> String {
    let digest: [u8; 16] = <md5::Md5 as md5::Digest>::digest(bytes).into();
    base64::engine::general_purpose::STANDARD.encode(digest)
}

#[tokio::test]
async fn multi_delete_checks_its_digest_and_every_key() {
    let c = Cos::new();
    for key in ["/a", "/users/alice/b", "/users/alicex/c"] {
        c.send(c.root_req("PUT", key, &[], "x")).await;
    }
    let body = "<Delete><Object><Key>a</Key></Object><Quiet>false</Quiet></Delete>";
    let md5 = md5_b64(body.as_bytes());
    let no_md5 = c.root_req("POST", "/?delete", &[], body);
    assert_eq!(c.outcome(no_md5).await, (400, "InvalidRequest".into()));
    let wrong_md5 = c.root_req("POST", "/?delete", &[("content-md5", "AAAA")], body);
    assert_eq!(c.outcome(wrong_md5).await, (400, "BadDigest".into()));
    let (resp, text) = c
        .send(c.root_req("POST", "/?delete", &[("content-md5", &md5)], body))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(element(&text, "Key").as_deref(), Some("a"));
    // Quiet: a body without Deleted elements (Python's parser needs a body).
    let quiet = "<Delete><Quiet>true</Quiet><Object><Key>gone</Key></Object></Delete>";
    let md5 = md5_b64(quiet.as_bytes());
    let (_, text) = c
        .send(c.root_req("POST", "/?delete", &[("content-md5", &md5)], quiet))
        .await;
    assert!(text.ends_with("<DeleteResult></DeleteResult>"), "{text}");
    // Temporary credentials: one key outside the policy refuses the whole request.
    let alice = c.temporary(
        &format!(
            r#"{{"version":"2.0","statement":[{{"effect":"allow","action":["name/cos:DeleteObject"],
            "resource":["qcs::cos:ap-guangzhou:uid/{}:{}/users/alice/*"]}}]}}"#,
            c.state.app_id, c.bucket
        ),
        900,
    );
    let both = "<Delete><Object><Key>users/alice/b</Key></Object><Object><Key>users/alicex/c</Key></Object></Delete>";
    let md5 = md5_b64(both.as_bytes());
    let host = c.host();
    let req = c.signed(
        &alice,
        "POST",
        &host,
        "/?delete",
        &[("content-md5", &md5)],
        both,
    );
    assert_eq!(c.outcome(req).await, (403, "AccessDenied".into()));
    let (resp, _) = c.send(c.root_req("HEAD", "/users/alice/b", &[], "")).await;
    assert_eq!(resp.status(), StatusCode::OK, "nothing was deleted");
}

#[tokio::test]
async fn copy_sources_are_checked() {
    let c = Cos::new();
    c.send(c.root_req("PUT", "/src", &[("x-cos-meta-a", "1")], "data"))
        .await;
    let copy = |source: String, extra: &[(&str, &str)]| {
        let mut headers = vec![("x-cos-copy-source", source.as_str())];
        headers.extend_from_slice(extra);
        c.root_req("PUT", "/dst", &headers, "")
    };
    let good = format!("{}/src", c.host());
    let (resp, text) = c.send(copy(good.clone(), &[])).await;
    assert_eq!(resp.status(), StatusCode::OK, "{text}");
    assert_eq!(
        element(&text, "ETag").as_deref(),
        Some("&quot;8d777f385d3dfec8815d20f7496026dc&quot;")
    );
    let (resp, _) = c.send(c.root_req("HEAD", "/dst", &[], "")).await;
    assert_eq!(resp.headers()["x-cos-meta-a"], "1");
    let bad = [
        ("nonsense".to_string(), 400, "InvalidArgument"),
        (
            "b-1234.cos.ap-guangzhou.myqcloud.com/src".into(),
            404,
            "NoSuchBucket",
        ),
        (format!("{}/missing", c.host()), 404, "NoSuchKey"),
        (format!("{good}?versionId=v1"), 404, "NoSuchVersion"),
    ];
    for (source, status, code) in bad {
        assert_eq!(
            c.outcome(copy(source.clone(), &[])).await,
            (status, code.to_string()),
            "{source}"
        );
    }
    let failed = copy(good.clone(), &[("x-cos-copy-source-if-match", "\"0\"")]);
    assert_eq!(c.outcome(failed).await, (412, "PreconditionFailed".into()));
    let directive = copy(good, &[("x-cos-metadata-directive", "Sometimes")]);
    assert_eq!(c.outcome(directive).await, (400, "InvalidArgument".into()));
}

#[tokio::test]
async fn multipart_etags_and_part_sizes() {
    let c = Cos::new();
    let (_, text) = c.send(c.root_req("POST", "/mp?uploads", &[], "")).await;
    let id = element(&text, "UploadId").unwrap();
    let part = vec![b'a'; 1024 * 1024];
    let target = |n: u32| format!("/mp?partNumber={n}&uploadId={id}");
    let (resp, _) = c
        .send(c.root_req("PUT", &target(1), &[], part.clone()))
        .await;
    let etag1 = resp.headers()["etag"].to_str().unwrap().to_string();
    assert!(
        etag1.starts_with('"') && etag1 == etag1.to_lowercase(),
        "{etag1}"
    );
    let (resp, _) = c.send(c.root_req("PUT", &target(2), &[], "end")).await;
    let etag2 = resp.headers()["etag"].to_str().unwrap().to_string();
    let bad_number = c.root_req("PUT", &format!("/mp?partNumber=0&uploadId={id}"), &[], "x");
    assert_eq!(c.outcome(bad_number).await, (400, "InvalidArgument".into()));
    let unknown = c.root_req("PUT", "/mp?partNumber=1&uploadId=nope", &[], "x");
    assert_eq!(c.outcome(unknown).await, (404, "NoSuchUpload".into()));
    let (_, listed) = c
        .send(c.root_req("GET", &format!("/mp?uploadId={id}"), &[], ""))
        .await;
    assert!(listed.contains(&format!("<ETag>{}</ETag>", etag1.replace('"', "&quot;"))));
    let complete = |parts: &str| {
        let body = format!("<CompleteMultipartUpload>{parts}</CompleteMultipartUpload>");
        c.root_req("POST", &format!("/mp?uploadId={id}"), &[], body)
    };
    let part_xml =
        |n: u32, e: &str| format!("<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>");
    let out_of_order = complete(&(part_xml(2, &etag2) + &part_xml(1, &etag1)));
    assert_eq!(
        c.outcome(out_of_order).await,
        (400, "InvalidPartOrder".into())
    );
    let (resp, text) = c
        .send(complete(&(part_xml(1, &etag1) + &part_xml(2, &etag2))))
        .await;
    assert_eq!(resp.status(), StatusCode::OK, "{text}");
    let etag = element(&text, "ETag").unwrap();
    assert!(etag.ends_with("-2&quot;"), "{etag}");
    // A part under 1 MB that is not the last is refused.
    let (_, text) = c.send(c.root_req("POST", "/small?uploads", &[], "")).await;
    let id = element(&text, "UploadId").unwrap();
    let mut tags = Vec::new();
    for n in 1..=2 {
        let req = c.root_req(
            "PUT",
            &format!("/small?partNumber={n}&uploadId={id}"),
            &[],
            "tiny",
        );
        let (resp, _) = c.send(req).await;
        tags.push(resp.headers()["etag"].to_str().unwrap().to_string());
    }
    let body = format!(
        "<CompleteMultipartUpload>{}{}</CompleteMultipartUpload>",
        part_xml(1, &tags[0]),
        part_xml(2, &tags[1])
    );
    let req = c.root_req("POST", &format!("/small?uploadId={id}"), &[], body);
    assert_eq!(c.outcome(req).await, (400, "EntityTooSmall".into()));
}

#[tokio::test]
async fn cors_preflights() {
    let c = Cos::new();
    let rules = "<CORSConfiguration><CORSRule><ID>1</ID><AllowedOrigin>http://app.example</AllowedOrigin>\
        <AllowedMethod>PUT</AllowedMethod><AllowedHeader>*</AllowedHeader><MaxAgeSeconds>60</MaxAgeSeconds>\
        </CORSRule></CORSConfiguration>";
    let (resp, _) = c.send(c.root_req("PUT", "/?cors", &[], rules)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let preflight = |origin: &str, method: Option<&str>| {
        let mut req = Request::options("/k")
            .header("host", c.host())
            .header("origin", origin);
        if let Some(m) = method {
            req = req.header("access-control-request-method", m);
        }
        req.body(axum::body::Body::empty()).unwrap()
    };
    let (resp, _) = c.send(preflight("http://app.example", Some("PUT"))).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["access-control-max-age"], "60");
    assert_eq!(
        c.outcome(preflight("http://evil.example", Some("PUT")))
            .await,
        (403, "AccessForbidden".into())
    );
    assert_eq!(
        c.outcome(preflight("http://app.example", None)).await,
        (400, "BadRequest".into())
    );
    let bad = c.root_req("PUT", "/?cors", &[], "<CORSConfiguration/>");
    assert_eq!(c.outcome(bad).await, (400, "MalformedXML".into()));
    c.send(c.root_req("DELETE", "/?cors", &[], "")).await;
    let (resp, _) = c.send(c.root_req("GET", "/?cors", &[], "")).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

/// A POST Object form signed with `creds`: `q-key-time` = `key_time`, the policy allowing keys
/// under `uploads/`.
fn form(c: &Cos, creds: &Creds, key: &str, key_time: &str) -> Request<axum::body::Body> {
    let policy = format!(
        r#"{{"expiration":"2099-01-01T00:00:00.000Z","conditions":[{{"q-sign-algorithm":"sha1"}},{{"q-ak":"{}"}},{{"q-sign-time":"{key_time}"}},["starts-with","$key","uploads/"]]}}"#,
        creds.id
    );
    let signature = stsgate_signing::cos_post::signature(&creds.key, key_time, &policy);
    let b64 = base64::engine::general_purpose::STANDARD.encode(&policy);
    let fields = [
        ("key", key),
        ("policy", &b64),
        ("q-sign-algorithm", "sha1"),
        ("q-ak", &creds.id),
        ("q-key-time", key_time),
        ("q-signature", &signature),
    ];
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--B\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str("--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.txt\"\r\n\r\nform\r\n--B--\r\n");
    Request::post("/")
        .header("host", c.host())
        .header("content-type", "multipart/form-data; boundary=B")
        .body(axum::body::Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn post_object_forms() {
    let c = Cos::new();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let live = format!("{};{}", now - 60, now + 600);
    let root = c.root();
    let (resp, _) = c.send(form(&c, &root, "uploads/${filename}", &live)).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert!(resp.headers()["location"]
        .to_str()
        .unwrap()
        .ends_with("/uploads/f.txt"));
    let outside = form(&c, &root, "other/f.txt", &live);
    assert_eq!(c.outcome(outside).await, (403, "AccessDenied".into()));
    let wrong = Creds {
        key: "wrong".into(),
        ..c.root()
    };
    let forged = form(&c, &wrong, "uploads/x", &live);
    assert_eq!(
        c.outcome(forged).await,
        (403, "SignatureDoesNotMatch".into())
    );
    let stale = form(
        &c,
        &root,
        "uploads/x",
        &format!("{};{}", now - 600, now - 300),
    );
    assert_eq!(c.outcome(stale).await, (403, "AccessDenied".into()));
}

#[tokio::test]
async fn get_service_lists_only_this_appids_buckets() {
    let c = Cos::new();
    let now = time::OffsetDateTime::now_utc();
    let store = &c.state.store;
    store
        .create_bucket("oss-only", stsgate_store::Acl::Private, "Standard", now)
        .unwrap();
    let (resp, text) = c
        .send(c.signed(&c.root(), "GET", "service.cos.myqcloud.com", "/", &[], ""))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        text.contains(&format!("<Name>{}</Name>", c.bucket)),
        "{text}"
    );
    assert!(!text.contains("oss-only"), "{text}");
}

#[tokio::test]
async fn unimplemented_features_are_4xx() {
    let c = Cos::new();
    let website = c.root_req("GET", "/?website", &[], "");
    assert_eq!(c.outcome(website).await, (400, "NotImplemented".into()));
    let policy = c.root_req("PUT", "/?policy", &[], "{}");
    assert_eq!(c.outcome(policy).await, (400, "NotImplemented".into()));
    let grant = c.root_req("PUT", "/k", &[("x-cos-grant-read", "id=\"x\"")], "x");
    assert_eq!(c.outcome(grant).await, (400, "NotImplemented".into()));
    let patch = c.root_req("PATCH", "/k", &[], "");
    assert_eq!(c.outcome(patch).await, (405, "MethodNotAllowed".into()));
}

#[test]
fn creds_issue_tencent_prints_the_get_credential_shape() {
    let c = Cos::new();
    let policy = r#"{"version":"2.0","statement":[{"effect":"allow","action":["name/cos:GetObject"],"resource":["*"]}]}"#;
    let now = time::OffsetDateTime::now_utc();
    let (_, json) = stsgate::creds::issue_tencent(&c.dir, policy, 900, "alice", now).unwrap();
    let token = json["credentials"]["sessionToken"].as_str().unwrap();
    assert!(token.starts_with("TCST"));
    assert!(token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    assert!(json["credentials"]["tmpSecretId"]
        .as_str()
        .unwrap()
        .starts_with("AKID"));
    assert_eq!(
        json["expiredTime"].as_i64().unwrap() - json["startTime"].as_i64().unwrap(),
        900
    );
    assert!(json["expiration"].as_str().unwrap().ends_with('Z'));
    assert!(json["requestId"].as_str().is_some());
    let bad = stsgate::creds::issue_tencent(&c.dir, "{\"Version\":\"1\"}", 900, "alice", now);
    assert!(bad.is_err());
}
