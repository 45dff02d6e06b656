//! Error answers in OSS's own shape, for requests no SDK would send.

use crate::common::{element, Fixture};
use axum::body::Body;
use base64::Engine as _;
use http::{Request, StatusCode};
use stsgate_signing::oss_v1;

fn date_now() -> String {
    httpdate::fmt_http_date(std::time::SystemTime::now())
}

/// A V1-signed request for `resource` with the given secret.
fn signed(method: &str, uri: &str, resource: &str, ak: &str, secret: &str) -> Request<Body> {
    let date = date_now();
    let sts = oss_v1::string_to_sign(method, "", "", &date, "", resource);
    Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "127.0.0.1:8702")
        .header("date", &date)
        .header(
            "authorization",
            format!("OSS {ak}:{}", oss_v1::sign(secret, &sts)),
        )
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn healthz_answers_without_authentication() {
    let f = Fixture::new();
    let (resp, body) = f
        .send(Request::get("/-/healthz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(body, "ok\n");
}

#[tokio::test]
async fn anonymous_requests_to_a_missing_bucket_get_no_such_bucket() {
    let f = Fixture::new();
    let (resp, body) = f
        .send(
            Request::get("/nobucket/k")
                .header("host", "127.0.0.1")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(element(&body, "Code").as_deref(), Some("NoSuchBucket"));
    assert_eq!(element(&body, "BucketName").as_deref(), Some("nobucket"));
    let id = resp.headers()["x-oss-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 24);
    assert_eq!(element(&body, "RequestId").as_deref(), Some(id));
    assert_eq!(resp.headers()["server"], "AliyunOSS");
}

#[tokio::test]
async fn a_wrong_secret_shows_the_string_to_sign() {
    let f = Fixture::new();
    let req = signed("GET", "/", "/", &f.dir.root.id, "not-the-secret");
    let (resp, body) = f.send(req).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        element(&body, "Code").as_deref(),
        Some("SignatureDoesNotMatch")
    );
    assert_eq!(
        element(&body, "OSSAccessKeyId").as_deref(),
        Some(f.dir.root.id.as_str())
    );
    let sts = element(&body, "StringToSign").unwrap();
    assert!(
        sts.starts_with("GET\n\n\n") && sts.ends_with("\n/"),
        "{sts:?}"
    );
}

#[tokio::test]
async fn the_right_secret_lists_buckets() {
    let f = Fixture::new();
    let req = signed("GET", "/", "/", &f.dir.root.id, f.dir.root.secret.expose());
    let (resp, body) = f.send(req).await;
    assert_eq!(resp.status(), StatusCode::OK, "{body}");
    assert!(body.contains("<ListAllMyBucketsResult>"), "{body}");
}

#[tokio::test]
async fn unknown_access_keys_and_malformed_authorization_are_refused() {
    let f = Fixture::new();
    let (resp, body) = f.send(signed("GET", "/", "/", "LTAInobody", "x")).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        element(&body, "Code").as_deref(),
        Some("InvalidAccessKeyId")
    );

    let req = Request::get("/")
        .header("authorization", "Bearer abc")
        .body(Body::empty())
        .unwrap();
    let (resp, body) = f.send(req).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(element(&body, "Code").as_deref(), Some("InvalidArgument"));
}

#[tokio::test]
async fn head_errors_carry_the_xml_in_x_oss_err() {
    let f = Fixture::new();
    let req = Request::head("/nobucket/k")
        .header("host", "127.0.0.1")
        .body(Body::empty())
        .unwrap();
    let (resp, body) = f.send(req).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(body.is_empty());
    let xml = base64::engine::general_purpose::STANDARD
        .decode(resp.headers()["x-oss-err"].as_bytes())
        .unwrap();
    assert_eq!(
        element(&String::from_utf8(xml).unwrap(), "Code").as_deref(),
        Some("NoSuchBucket")
    );
}

#[tokio::test]
async fn skewed_clocks_and_expired_urls_are_refused() {
    let f = Fixture::new();
    let old = httpdate::fmt_http_date(
        std::time::SystemTime::now() - std::time::Duration::from_secs(20 * 60),
    );
    let sts = oss_v1::string_to_sign("GET", "", "", &old, "", "/");
    let req = Request::get("/")
        .header("date", &old)
        .header(
            "authorization",
            format!(
                "OSS {}:{}",
                f.dir.root.id,
                oss_v1::sign(f.dir.root.secret.expose(), &sts)
            ),
        )
        .body(Body::empty())
        .unwrap();
    let (resp, body) = f.send(req).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        element(&body, "Code").as_deref(),
        Some("RequestTimeTooSkewed")
    );
    assert_eq!(
        element(&body, "MaxAllowedSkewMilliseconds").as_deref(),
        Some("900000")
    );

    let uri = format!(
        "/b/k?OSSAccessKeyId={}&Expires=1000&Signature=x",
        f.dir.root.id
    );
    let (resp, body) = f.send(Request::get(uri).body(Body::empty()).unwrap()).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(element(&body, "Code").as_deref(), Some("AccessDenied"));
    assert_eq!(
        element(&body, "Message").as_deref(),
        Some("Request has expired.")
    );
    assert!(element(&body, "ServerTime").is_some());
}

#[tokio::test]
async fn preflight_needs_origin_and_method() {
    let f = Fixture::new();
    let (resp, body) = f
        .send(Request::options("/b/k").body(Body::empty()).unwrap())
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        element(&body, "Message").as_deref(),
        Some("Insufficient information. Origin request header needed.")
    );
    let req = Request::options("/b/k")
        .header("origin", "http://a.example")
        .body(Body::empty())
        .unwrap();
    let (resp, body) = f.send(req).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(element(&body, "Message")
        .unwrap()
        .contains("Access-Control-Request-Method"));
}

#[tokio::test]
async fn unimplemented_sub_resources_say_so() {
    let f = Fixture::new();
    let req = signed(
        "GET",
        "/bkt/?website",
        "/bkt/?website",
        &f.dir.root.id,
        f.dir.root.secret.expose(),
    );
    let (resp, body) = f.send(req).await;
    // 400, as oss2's NotImplemented exception expects.
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(element(&body, "Code").as_deref(), Some("NotImplemented"));
    assert!(element(&body, "Message").unwrap().contains("website"));
}

#[tokio::test]
async fn invalid_bucket_names_are_refused_before_anything_else() {
    let f = Fixture::new();
    let req = signed(
        "PUT",
        "/Bad_Name/",
        "/Bad_Name/",
        &f.dir.root.id,
        f.dir.root.secret.expose(),
    );
    let (resp, body) = f.send(req).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(element(&body, "Code").as_deref(), Some("InvalidBucketName"));
}

#[tokio::test]
async fn v4_payload_hashes_other_than_unsigned_payload_are_refused() {
    let f = Fixture::new();
    let now = time::OffsetDateTime::now_utc();
    let x_oss_date = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let req = Request::put("/bkt/k")
        .header("host", "127.0.0.1")
        .header("x-oss-date", &x_oss_date)
        .header("x-oss-content-sha256", "0".repeat(64))
        .header(
            "authorization",
            format!(
                "OSS4-HMAC-SHA256 Credential={}/{}/cn-hangzhou/oss/aliyun_v4_request,Signature=00",
                f.dir.root.id,
                &x_oss_date[..8]
            ),
        )
        .body(Body::from("payload"))
        .unwrap();
    let (resp, body) = f.send(req).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(element(&body, "Code").as_deref(), Some("InvalidArgument"));
    assert_eq!(
        element(&body, "ArgumentName").as_deref(),
        Some("x-oss-content-sha256")
    );
}
