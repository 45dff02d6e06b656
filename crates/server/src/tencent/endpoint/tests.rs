//! The route table (from the COS API docs and the captured SDK requests) and addressing.

use super::*;
use proptest::prelude::*;

fn q(s: &str) -> Vec<(String, String)> {
    stsgate_signing::encode::decode_query(s)
}

const VHOST: &str = "examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com";

/// (method, host, path?query, copy-source?) → (op, CAM action), read as the first target.
#[track_caller]
fn check(method: &str, host: &str, uri: &str, copy: bool, expected: Op, action: &str) {
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let t = targets(Some(host), path).unwrap();
    let got = Op::parse(method, &t[0], &q(query), copy).unwrap();
    assert_eq!(
        (got, got.action()),
        (expected, action),
        "{method} {host} {uri}"
    );
}

#[test]
fn route_table() {
    let ip = "127.0.0.1:8703";
    check(
        "GET",
        "service.cos.myqcloud.com",
        "/",
        false,
        Op::GetService,
        "cos:GetService",
    );
    check(
        "GET",
        "cos.ap-guangzhou.myqcloud.com",
        "/",
        false,
        Op::GetService,
        "cos:GetService",
    );
    check("GET", ip, "/", false, Op::GetService, "cos:GetService");
    check("PUT", VHOST, "/", false, Op::PutBucket, "cos:PutBucket");
    check("HEAD", VHOST, "/", false, Op::HeadBucket, "cos:HeadBucket");
    check(
        "DELETE",
        VHOST,
        "/",
        false,
        Op::DeleteBucket,
        "cos:DeleteBucket",
    );
    check(
        "GET",
        VHOST,
        "/?prefix=dir%2F&delimiter=&marker=&max-keys=10&encoding-type=url",
        false,
        Op::GetBucket,
        "cos:GetBucket",
    );
    check(
        "GET",
        VHOST,
        "/?acl=",
        false,
        Op::GetBucketAcl,
        "cos:GetBucketACL",
    );
    check(
        "PUT",
        VHOST,
        "/?acl=",
        false,
        Op::PutBucketAcl,
        "cos:PutBucketACL",
    );
    check(
        "PUT",
        VHOST,
        "/?cors=",
        false,
        Op::PutBucketCors,
        "cos:PutBucketCORS",
    );
    check(
        "GET",
        VHOST,
        "/?cors",
        false,
        Op::GetBucketCors,
        "cos:GetBucketCORS",
    );
    check(
        "DELETE",
        VHOST,
        "/?cors",
        false,
        Op::DeleteBucketCors,
        "cos:DeleteBucketCORS",
    );
    check(
        "GET",
        VHOST,
        "/?location",
        false,
        Op::GetBucketLocation,
        "cos:GetBucketLocation",
    );
    check(
        "GET",
        VHOST,
        "/?uploads=&prefix=mp&delimiter=&key-marker=&upload-id-marker=&max-uploads=1000&encoding-type=url",
        false,
        Op::ListMultipartUploads,
        "cos:ListMultipartUploads",
    );
    check(
        "POST",
        VHOST,
        "/?delete=",
        false,
        Op::DeleteMultipleObjects,
        "cos:DeleteMultipleObjects",
    );
    check("POST", VHOST, "/", false, Op::PostObject, "cos:PostObject");
    check(
        "PUT",
        VHOST,
        "/dir/a%20b%2Bc.txt",
        false,
        Op::PutObject,
        "cos:PutObject",
    );
    check(
        "PUT",
        VHOST,
        "/dst.txt",
        true,
        Op::CopyObject,
        "cos:PutObject",
    );
    check(
        "GET",
        VHOST,
        "/src.txt?response-content-type=text%2Fplain",
        false,
        Op::GetObject,
        "cos:GetObject",
    );
    check(
        "HEAD",
        VHOST,
        "/src.txt",
        false,
        Op::HeadObject,
        "cos:HeadObject",
    );
    check(
        "DELETE",
        VHOST,
        "/k",
        false,
        Op::DeleteObject,
        "cos:DeleteObject",
    );
    check(
        "GET",
        VHOST,
        "/k?acl=",
        false,
        Op::GetObjectAcl,
        "cos:GetObjectACL",
    );
    check(
        "PUT",
        VHOST,
        "/k?acl=",
        false,
        Op::PutObjectAcl,
        "cos:PutObjectACL",
    );
    check(
        "POST",
        VHOST,
        "/mp.bin?uploads=",
        false,
        Op::InitiateMultipartUpload,
        "cos:InitiateMultipartUpload",
    );
    check(
        "PUT",
        VHOST,
        "/mp.bin?partNumber=2&uploadId=U",
        false,
        Op::UploadPart,
        "cos:UploadPart",
    );
    check(
        "POST",
        VHOST,
        "/mp.bin?uploadId=U",
        false,
        Op::CompleteMultipartUpload,
        "cos:CompleteMultipartUpload",
    );
    check(
        "DELETE",
        VHOST,
        "/mp.bin?uploadId=U",
        false,
        Op::AbortMultipartUpload,
        "cos:AbortMultipartUpload",
    );
    check(
        "GET",
        VHOST,
        "/mp.bin?uploadId=U&part-number-marker=0&max-parts=1000&encoding-type=url",
        false,
        Op::ListParts,
        "cos:ListParts",
    );
    // The JS `{Bucket}` path form on an IP host.
    check(
        "PUT",
        ip,
        "/examplebucket-1250000000/dir/a.txt",
        false,
        Op::PutObject,
        "cos:PutObject",
    );
    check(
        "GET",
        ip,
        "/examplebucket-1250000000/",
        false,
        Op::GetBucket,
        "cos:GetBucket",
    );
}

fn target(bucket: Option<&str>, key: Option<&str>, signed: &str) -> Target {
    Target {
        bucket: bucket.map(Into::into),
        key: key.map(Into::into),
        signed_path: signed.into(),
    }
}

#[test]
fn addressing() {
    let t = |host, path| targets(Some(host), path).unwrap();
    let b = Some("examplebucket-1250000000");
    // Never normalised: the key keeps `.`, `..` and `//`.
    assert_eq!(
        t(VHOST, "/a/.%2Fb//c/../d"),
        vec![target(b, Some("a/./b//c/../d"), "/a/./b//c/../d")]
    );
    let with_port = format!("{VHOST}:80");
    assert_eq!(t(&with_port, "/"), vec![target(b, None, "/")]);
    assert_eq!(
        t(
            "EXAMPLEBUCKET-1250000000.COS.AP-GUANGZHOU.MYQCLOUD.COM",
            "/k"
        ),
        vec![target(b, Some("k"), "/k")]
    );
    assert_eq!(
        t("b-1.cos.ap-beijing.localhost:9", "/k"),
        vec![target(Some("b-1"), Some("k"), "/k")]
    );
    // Path form: without the bucket segment first (JS `{Bucket}`), then with it.
    assert_eq!(
        t("127.0.0.1:8703", "/examplebucket-1250000000/dir/a%20b.txt"),
        vec![
            target(b, Some("dir/a b.txt"), "/dir/a b.txt"),
            target(
                b,
                Some("dir/a b.txt"),
                "/examplebucket-1250000000/dir/a b.txt"
            ),
        ]
    );
    assert_eq!(
        t("127.0.0.1", "/examplebucket-1250000000"),
        vec![
            target(b, None, "/"),
            target(b, None, "/examplebucket-1250000000")
        ]
    );
    // No bucket anywhere: a Python presigned URL made in IP mode.
    assert_eq!(
        t("127.0.0.1:8703", "/dir/a.txt"),
        vec![target(None, Some("dir/a.txt"), "/dir/a.txt")]
    );
    assert_eq!(
        t("service.cos.myqcloud.com", "/"),
        vec![target(None, None, "/")]
    );
    assert!(targets(None, "/b/%FF").is_err());
}

#[test]
fn bucket_hosts() {
    for (host, bucket) in [
        (VHOST, Some("examplebucket-1250000000")),
        ("b-1.cosv6.ap-guangzhou.myqcloud.com", Some("b-1")),
        ("b-1.cos.ap-guangzhou.tencentcos.cn:8080", Some("b-1")),
        (
            "examplebucket.cos.ap-guangzhou.myqcloud.com",
            Some("examplebucket"),
        ),
        ("service.cos.myqcloud.com", None),
        ("cos.ap-guangzhou.myqcloud.com", None),
        ("b-1.cos.ap-guangzhou", None),
        ("b-1.oss-cn-hangzhou.aliyuncs.com", None),
        ("127.0.0.1:8703", None),
        ("[::1]:8703", None),
        ("localhost", None),
        (".cos.r.x", None),
        ("b.cos..x", None),
        ("", None),
    ] {
        assert_eq!(virtual_host_bucket(host).as_deref(), bucket, "{host}");
    }
}

#[test]
fn bucket_shaped_segments() {
    for (segment, shaped) in [
        ("examplebucket-1250000000", true),
        ("a-b-1", true),
        ("-1", false),
        ("b-", false),
        ("b", false),
        ("B-1", false),
        ("b-1x", false),
        ("dir", false),
        ("", false),
    ] {
        assert_eq!(looks_like_bucket(segment), shaped, "{segment}");
    }
}

#[test]
fn refusals() {
    let t = targets(Some(VHOST), "/").unwrap();
    assert_eq!(
        Op::parse("GET", &t[0], &q("website"), false),
        Err(OpError::NotImplemented("the 'website' sub-resource".into()))
    );
    assert_eq!(
        Op::parse("PATCH", &t[0], &[], false),
        Err(OpError::MethodNotAllowed("Bucket"))
    );
    let t = targets(Some(VHOST), "/k").unwrap();
    assert_eq!(
        Op::parse("PUT", &t[0], &q("partNumber=1&uploadId=U"), true),
        Ok(Op::UploadPartCopy)
    );
    assert_eq!(
        Op::parse("POST", &t[0], &q("append&position=0"), false),
        Ok(Op::AppendObject)
    );
    for (method, op) in [
        ("PUT", Op::PutObjectTagging),
        ("GET", Op::GetObjectTagging),
        ("DELETE", Op::DeleteObjectTagging),
    ] {
        assert_eq!(Op::parse(method, &t[0], &q("tagging"), false), Ok(op));
    }
    assert_eq!(
        Op::parse(
            "GET",
            &targets(Some(VHOST), "/").unwrap()[0],
            &q("lifecycle"),
            false
        ),
        Ok(Op::GetBucketLifecycle)
    );
    // A bucket setting named on an object is refused, never a PutObject.
    assert!(matches!(
        Op::parse("PUT", &t[0], &q("encryption"), false),
        Err(OpError::NotImplemented(_))
    ));
    // Bucket tags are not object tags: refused by name, never a PutBucket.
    let b = targets(Some(VHOST), "/").unwrap();
    assert!(matches!(
        Op::parse("PUT", &b[0], &q("tagging"), false),
        Err(OpError::NotImplemented(_))
    ));
    assert_eq!(
        Op::parse("POST", &t[0], &[], false),
        Err(OpError::MethodNotAllowed("Object"))
    );
    let t = targets(Some("127.0.0.1"), "/dir/a.txt").unwrap();
    assert_eq!(Op::parse("GET", &t[0], &[], false), Err(OpError::NoBucket));
    let t = targets(Some("127.0.0.1"), "/").unwrap();
    assert_eq!(
        Op::parse("PUT", &t[0], &[], false),
        Err(OpError::MethodNotAllowed("Service"))
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]
    /// Arbitrary hosts, paths, methods and queries never panic, always give a reading, and
    /// every reading's signed path starts with `/` when the path did.
    #[test]
    fn arbitrary_requests_never_panic(
        host in ".{0,40}|[a-z0-9-]{1,8}-[0-9]{1,4}\\.cos\\.[a-z-]{1,8}\\.[a-z.]{1,12}(:[0-9]{1,5})?",
        path in "/[a-z0-9%/.+-]{0,40}|/[a-z-]{1,6}-[0-9]{1,4}(/.{0,20})?|.{0,40}",
        method in "GET|PUT|POST|DELETE|HEAD|[A-Z]{0,7}",
        query in ".{0,40}",
        copy: bool,
    ) {
        if let Ok(ts) = targets(Some(&host), &path) {
            prop_assert!(!ts.is_empty());
            for t in &ts {
                if path.starts_with('/') {
                    prop_assert!(t.signed_path.starts_with('/'), "{t:?}");
                }
                let _ = Op::parse(&method, t, &q(&query), copy);
            }
        }
        let _ = virtual_host_bucket(&host);
    }
}
