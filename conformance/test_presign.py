"""Presigned URLs from oss2's sign_url, used with plain `requests` (V1 and V4, root and STS)."""

import os

import oss2
import pytest
import requests

from helpers import alice_policy, assert_oss_error, md5_hex_upper


@pytest.fixture(params=["v1-root", "v1-sts", "v4-root", "v4-sts"])
def signer(request, server, bucket):
    v4 = request.param.startswith("v4")
    if request.param.endswith("sts"):
        issued = server.issue(alice_policy(bucket.bucket_name), duration=900)
        return server.bucket(bucket.bucket_name, auth=server.sts_auth(issued, v4=v4)), bucket
    return server.bucket(bucket.bucket_name, v4=v4), bucket


def test_presigned_put_then_get(signer):
    b, root = signer
    key = "users/alice/presigned dir/file+1.bin"
    body = os.urandom(70000)
    put_url = b.sign_url("PUT", key, 300)
    r = requests.put(put_url, data=body)
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == f'"{md5_hex_upper(body)}"'
    assert root.get_object(key).read() == body
    get_url = b.sign_url("GET", key, 300)
    r = requests.get(get_url)
    assert r.status_code == 200, r.text
    assert r.content == body
    assert r.headers["ETag"] == f'"{md5_hex_upper(body)}"'
    # The SDK's own URL helpers agree.
    assert b.get_object_with_url(get_url).read() == body


def test_presigned_put_streams_a_file(signer, tmp_path):
    b, root = signer
    path = tmp_path / "up.bin"
    path.write_bytes(os.urandom(3 * 1024 * 1024))
    url = b.sign_url("PUT", "users/alice/stream.bin", 300)
    with open(path, "rb") as f:
        r = requests.put(url, data=f)
    assert r.status_code == 200, r.text
    assert root.head_object("users/alice/stream.bin").content_length == path.stat().st_size


def test_presigned_put_with_signed_content_type(server, bucket):
    url = bucket.sign_url("PUT", "typed.png", 300, headers={"Content-Type": "image/png"})
    assert requests.put(url, data=b"png", headers={"Content-Type": "image/png"}).status_code == 200
    assert bucket.head_object("typed.png").content_type == "image/png"
    # A different Content-Type than the one signed breaks the signature.
    r = requests.put(url, data=b"png", headers={"Content-Type": "image/jpeg"})
    assert_oss_error(r, 403, "SignatureDoesNotMatch")


def test_presigned_get_with_response_overrides(server, bucket):
    bucket.put_object("dl.txt", b"download me")
    url = bucket.sign_url("GET", "dl.txt", 300,
                          params={"response-content-disposition": "attachment; filename=dl.txt"})
    r = requests.get(url)
    assert r.status_code == 200
    assert r.headers["Content-Disposition"] == "attachment; filename=dl.txt"


def test_presigned_url_wrong_method(server, bucket):
    bucket.put_object("m.txt", b"v")
    url = bucket.sign_url("GET", "m.txt", 300)
    assert_oss_error(requests.delete(url), 403, "SignatureDoesNotMatch")
    assert bucket.get_object("m.txt").read() == b"v"


def test_presigned_sts_outside_policy_denied(server, bucket):
    issued = server.issue(alice_policy(bucket.bucket_name), duration=900)
    b = server.bucket(bucket.bucket_name, auth=server.sts_auth(issued))
    url = b.sign_url("PUT", "users/bob/x", 300)
    assert_oss_error(requests.put(url, data=b"no"), 403, "AccessDenied")
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.get_object("users/bob/x")
