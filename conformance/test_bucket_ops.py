"""Service and bucket operations with the root key through oss2 (V1 header auth)."""

import oss2
import pytest
from oss2.models import BucketCors, CorsRule

from conftest import cleanup_bucket, unique_name
from helpers import REQUEST_ID_RE, assert_oss_error, assert_sdk_error, v1_headers


def test_healthz(server, http):
    r = http.get(f"{server.endpoint}/-/healthz")
    assert r.status_code == 200


def test_list_buckets_prefix_marker_max_keys(server, make_bucket):
    prefix = unique_name("lb")
    names = sorted(f"{prefix}-{i}" for i in range(3))
    try:
        for n in names:
            server.bucket(n).create_bucket()
        svc = server.service()
        res = svc.list_buckets(prefix=prefix)
        assert REQUEST_ID_RE.match(res.request_id)
        assert [b.name for b in res.buckets] == names
        for b in res.buckets:
            assert b.location == "oss-cn-hangzhou"
            assert b.extranet_endpoint == "oss-cn-hangzhou.aliyuncs.com"
            assert b.intranet_endpoint == "oss-cn-hangzhou-internal.aliyuncs.com"
            assert b.storage_class == "Standard"
            assert b.creation_date > 0
        assert res.is_truncated is False

        page1 = svc.list_buckets(prefix=prefix, max_keys=2)
        assert [b.name for b in page1.buckets] == names[:2]
        assert page1.is_truncated is True
        assert page1.next_marker == names[1]
        page2 = svc.list_buckets(prefix=prefix, marker=page1.next_marker, max_keys=2)
        assert [b.name for b in page2.buckets] == names[2:]
        assert page2.is_truncated is False
    finally:
        for n in names:
            cleanup_bucket(server.bucket(n))


def test_create_bucket_with_acl_and_change_acl(server, make_bucket):
    b = make_bucket(acl=oss2.BUCKET_ACL_PUBLIC_READ)
    assert b.get_bucket_acl().acl == "public-read"
    res = b.put_bucket_acl(oss2.BUCKET_ACL_PRIVATE)
    assert res.status == 200
    assert b.get_bucket_acl().acl == "private"
    b.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ_WRITE)
    assert b.get_bucket_acl().acl == "public-read-write"


def test_create_bucket_response(server):
    name = unique_name("cb")
    b = server.bucket(name)
    try:
        res = b.create_bucket()
        assert res.status == 200
        assert REQUEST_ID_RE.match(res.request_id)
        assert res.headers.get("Location") == f"/{name}"
    finally:
        cleanup_bucket(b)


def test_invalid_bucket_name_is_rejected(server, http):
    # oss2 validates names itself, so this one is sent by hand (path style, V1).
    r = server.root
    hdrs = v1_headers(r["AccessKeyId"], r["AccessKeySecret"], "PUT", "/bad_name_x/")
    resp = http.put(f"{server.endpoint}/bad_name_x/", headers=hdrs)
    assert_oss_error(resp, 400, "InvalidBucketName")


def test_get_bucket_info_and_location(server, make_bucket):
    b = make_bucket()
    info = b.get_bucket_info()
    assert info.name == b.bucket_name
    assert info.location == "oss-cn-hangzhou"
    assert info.storage_class == "Standard"
    assert info.acl.grant == "private"
    assert info.extranet_endpoint == "oss-cn-hangzhou.aliyuncs.com"
    assert info.intranet_endpoint == "oss-cn-hangzhou-internal.aliyuncs.com"
    assert info.owner.id == server.root["AccountId"]
    assert info.creation_date  # ISO 8601 string
    assert b.get_bucket_location().location == "oss-cn-hangzhou"


def test_delete_bucket_not_empty_then_empty(server, make_bucket):
    b = make_bucket()
    b.put_object("x", b"1")
    with pytest.raises(oss2.exceptions.BucketNotEmpty) as ei:
        b.delete_bucket()
    e = assert_sdk_error(ei, 409, "BucketNotEmpty")
    assert e.details.get("BucketName") == b.bucket_name
    b.delete_object("x")
    assert b.delete_bucket().status == 204
    with pytest.raises(oss2.exceptions.NoSuchBucket) as ei:
        b.get_bucket_info()
    assert_sdk_error(ei, 404, "NoSuchBucket")


def test_delete_bucket_with_open_multipart_upload_is_not_empty(server, make_bucket):
    b = make_bucket()
    up = b.init_multipart_upload("pending.bin").upload_id
    with pytest.raises(oss2.exceptions.BucketNotEmpty):
        b.delete_bucket()
    b.abort_multipart_upload("pending.bin", up)


def test_missing_bucket_errors(server):
    b = server.bucket(unique_name("nope"))
    with pytest.raises(oss2.exceptions.NoSuchBucket) as ei:
        b.delete_bucket()
    e = assert_sdk_error(ei, 404, "NoSuchBucket")
    assert e.details.get("BucketName") == b.bucket_name
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        b.get_object("k")
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        b.list_objects()
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        b.put_object("k", b"v")


def test_bucket_cors_put_get_delete(server, make_bucket):
    b = make_bucket()
    with pytest.raises(oss2.exceptions.NoSuchCors) as ei:
        b.get_bucket_cors()
    assert_sdk_error(ei, 404, "NoSuchCORSConfiguration")
    rules = [
        CorsRule(allowed_origins=["http://app.example.com"], allowed_methods=["GET", "PUT"],
                 allowed_headers=["content-type", "x-oss-*"], expose_headers=["ETag", "x-oss-request-id"],
                 max_age_seconds=100),
        CorsRule(allowed_origins=["*"], allowed_methods=["GET"], allowed_headers=["*"], max_age_seconds=10),
    ]
    assert b.put_bucket_cors(BucketCors(rules)).status == 200
    got = b.get_bucket_cors().rules
    assert len(got) == 2
    assert got[0].allowed_origins == ["http://app.example.com"]
    assert got[0].allowed_methods == ["GET", "PUT"]
    assert got[0].allowed_headers == ["content-type", "x-oss-*"]
    assert got[0].expose_headers == ["ETag", "x-oss-request-id"]
    assert got[0].max_age_seconds == 100
    assert got[1].allowed_origins == ["*"]
    # PutBucketCors overwrites all rules.
    b.put_bucket_cors(BucketCors([rules[1]]))
    assert len(b.get_bucket_cors().rules) == 1
    assert b.delete_bucket_cors().status == 204
    with pytest.raises(oss2.exceptions.NoSuchCors):
        b.get_bucket_cors()


def test_cors_preflight_matching(server, make_bucket, http):
    b = make_bucket()
    b.put_bucket_cors(BucketCors([
        CorsRule(allowed_origins=["http://app.example.com"], allowed_methods=["GET", "PUT"],
                 allowed_headers=["content-type"], expose_headers=["ETag"], max_age_seconds=100),
    ]))
    url = f"{server.endpoint}/{b.bucket_name}/some/key.txt"
    ok = http.options(url, headers={"Origin": "http://app.example.com", "Access-Control-Request-Method": "PUT",
                                    "Access-Control-Request-Headers": "content-type"})
    assert ok.status_code == 200, ok.text
    assert ok.headers.get("Access-Control-Allow-Origin") == "http://app.example.com"
    assert "PUT" in ok.headers.get("Access-Control-Allow-Methods", "")
    assert "content-type" in ok.headers.get("Access-Control-Allow-Headers", "").lower()
    assert ok.headers.get("Access-Control-Max-Age") == "100"
    assert "ETag" in ok.headers.get("Access-Control-Expose-Headers", "")

    for hdrs in (
        {"Origin": "http://evil.example.com", "Access-Control-Request-Method": "PUT"},
        {"Origin": "http://app.example.com", "Access-Control-Request-Method": "DELETE"},
        {"Origin": "http://app.example.com", "Access-Control-Request-Method": "PUT",
         "Access-Control-Request-Headers": "x-not-allowed"},
    ):
        bad = http.options(url, headers=hdrs)
        assert_oss_error(bad, 403, "AccessForbidden")
        assert "Access-Control-Allow-Origin" not in bad.headers

    missing_origin = http.options(url, headers={"Access-Control-Request-Method": "PUT"})
    assert_oss_error(missing_origin, 400, "BadRequest")

    # An ordinary request carrying a matching Origin gets CORS headers too.
    b.put_object("k", b"v")
    got = b.get_object("k", headers={"Origin": "http://app.example.com"})
    assert got.read() == b"v"
    assert got.headers.get("Access-Control-Allow-Origin") == "http://app.example.com"


def test_cors_preflight_without_configuration_is_forbidden(server, make_bucket, http):
    b = make_bucket()
    r = http.options(f"{server.endpoint}/{b.bucket_name}/k",
                     headers={"Origin": "http://app.example.com", "Access-Control-Request-Method": "GET"})
    assert_oss_error(r, 403, "AccessForbidden")
