"""A representative subset of operations signed with OSS V4 (oss2.AuthV4, region cn-hangzhou)."""

import os

import oss2
import pytest
import requests
from oss2.models import BucketCors, CorsRule, PartInfo

from conftest import cleanup_bucket, unique_name
from helpers import assert_oss_error, assert_sdk_error, crc64, md5_hex_upper, multipart_etag


@pytest.fixture
def v4_bucket(server):
    name = unique_name("v4")
    b = server.bucket(name, v4=True)
    assert b.create_bucket(oss2.BUCKET_ACL_PRIVATE).status == 200
    yield b
    cleanup_bucket(server.bucket(name))


def test_v4_service_and_bucket(server, v4_bucket):
    svc = server.service(v4=True)
    assert v4_bucket.bucket_name in [b.name for b in svc.list_buckets(prefix=v4_bucket.bucket_name).buckets]
    assert v4_bucket.get_bucket_info().name == v4_bucket.bucket_name
    assert v4_bucket.get_bucket_location().location == "oss-cn-hangzhou"
    v4_bucket.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ)
    assert v4_bucket.get_bucket_acl().acl == "public-read"
    v4_bucket.put_bucket_cors(BucketCors([CorsRule(allowed_origins=["*"], allowed_methods=["GET"])]))
    assert v4_bucket.get_bucket_cors().rules[0].allowed_methods == ["GET"]
    v4_bucket.delete_bucket_cors()


def test_v4_object_round_trip(v4_bucket):
    body = os.urandom(5000)
    res = v4_bucket.put_object("v4 dir/ä+b.bin", body, headers={"x-oss-meta-k": "v", "Content-Type": "application/x-a"})
    assert res.etag == md5_hex_upper(body)
    assert res.crc == crc64(body)
    got = v4_bucket.get_object("v4 dir/ä+b.bin")
    assert got.read() == body
    assert got.headers["x-oss-meta-k"] == "v"
    assert got.content_type == "application/x-a"
    assert v4_bucket.get_object("v4 dir/ä+b.bin", byte_range=(0, 9)).read() == body[:10]
    assert v4_bucket.head_object("v4 dir/ä+b.bin").content_length == 5000
    assert v4_bucket.get_object_meta("v4 dir/ä+b.bin").etag == md5_hex_upper(body)
    v4_bucket.copy_object(v4_bucket.bucket_name, "v4 dir/ä+b.bin", "copy.bin")
    assert v4_bucket.get_object("copy.bin").read() == body
    listed = v4_bucket.list_objects_v2(prefix="v4 dir/", delimiter="/", max_keys=10)
    assert [o.key for o in listed.object_list] == ["v4 dir/ä+b.bin"]
    assert [o.key for o in v4_bucket.list_objects(prefix="").object_list] == sorted(["copy.bin", "v4 dir/ä+b.bin"])
    assert sorted(v4_bucket.batch_delete_objects(["copy.bin", "v4 dir/ä+b.bin"]).deleted_keys) == \
        sorted(["copy.bin", "v4 dir/ä+b.bin"])
    with pytest.raises(oss2.exceptions.NoSuchKey):
        v4_bucket.get_object("copy.bin")


def test_v4_multipart(v4_bucket):
    key = "v4/multi.bin"
    parts = [os.urandom(100 * 1024), os.urandom(7)]
    up = v4_bucket.init_multipart_upload(key).upload_id
    infos = [PartInfo(n, v4_bucket.upload_part(key, up, n, p).etag) for n, p in enumerate(parts, 1)]
    assert len(v4_bucket.list_parts(key, up).parts) == 2
    res = v4_bucket.complete_multipart_upload(key, up, infos)
    assert res.etag == multipart_etag(parts)
    assert v4_bucket.get_object(key).read() == b"".join(parts)


def test_v4_wrong_secret(server, v4_bucket):
    r = server.root
    bad = server.bucket(v4_bucket.bucket_name, auth=oss2.AuthV4(r["AccessKeyId"], r["AccessKeySecret"] + "x"))
    with pytest.raises(oss2.exceptions.SignatureDoesNotMatch) as ei:
        bad.put_object("k", b"v")
    assert_sdk_error(ei, 403, "SignatureDoesNotMatch")
    assert ei.value.details.get("StringToSign", "").startswith("OSS4-HMAC-SHA256\n")


def test_v4_presigned_put_get(server, v4_bucket):
    put_url = v4_bucket.sign_url("PUT", "pre/v4.txt", 300)
    assert "x-oss-signature-version=OSS4-HMAC-SHA256" in put_url
    assert requests.put(put_url, data=b"via v4 url").status_code == 200
    get_url = v4_bucket.sign_url("GET", "pre/v4.txt", 300)
    r = requests.get(get_url)
    assert r.status_code == 200 and r.content == b"via v4 url"
    # Tampering with the query breaks the signature.
    r = requests.get(get_url.replace("x-oss-expires=300", "x-oss-expires=301"))
    assert_oss_error(r, 403, "SignatureDoesNotMatch")


def test_v4_sts(server, v4_bucket):
    from helpers import alice_policy

    issued = server.issue(alice_policy(v4_bucket.bucket_name), duration=900)
    b = server.bucket(v4_bucket.bucket_name, auth=server.sts_auth(issued, v4=True))
    b.put_object("users/alice/v4.txt", b"alice v4")
    assert b.get_object("users/alice/v4.txt").read() == b"alice v4"
    assert [o.key for o in b.list_objects_v2(prefix="users/alice/").object_list] == ["users/alice/v4.txt"]
    with pytest.raises(oss2.exceptions.AccessDenied):
        b.put_object("users/bob/v4.txt", b"no")
    url = b.sign_url("GET", "users/alice/v4.txt", 300)
    assert "x-oss-security-token=" in url
    assert requests.get(url).content == b"alice v4"
