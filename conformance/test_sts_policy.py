"""Temporary credentials from `stsgate creds issue` whose policy allows only users/alice/*."""

import http.client
import os
import re

import oss2
import pytest
from oss2.models import BucketCors, CorsRule, PartInfo

from helpers import alice_policy, assert_sdk_error, error_of, md5_hex_upper, v1_headers


@pytest.fixture
def alice(server, make_bucket):
    """(alice's oss2.Bucket, root's oss2.Bucket, issued JSON) for a fresh bucket."""
    root_bucket = make_bucket("alice")
    issued = server.issue(alice_policy(root_bucket.bucket_name), duration=3600, session_name="alice")
    return server.bucket(root_bucket.bucket_name, auth=server.sts_auth(issued)), root_bucket, issued


def denied(excinfo):
    return assert_sdk_error(excinfo, 403, "AccessDenied")


def test_issue_output_shape(server, alice):
    _, _, issued = alice
    c = issued["Credentials"]
    assert c["AccessKeyId"].startswith("STS.")
    assert c["AccessKeySecret"] and c["SecurityToken"]
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", c["Expiration"]), c["Expiration"]
    assert issued["RequestId"]
    assert issued["AssumedRoleUser"]["Arn"].startswith("acs:ram::")
    assert issued["AssumedRoleUser"]["Arn"].endswith("/alice")
    assert issued["AssumedRoleUser"]["AssumedRoleId"].endswith(":alice")


def test_allowed_object_operations(alice):
    b, root, _ = alice
    body = os.urandom(2048)
    res = b.put_object("users/alice/photo.jpg", body, headers={"x-oss-meta-owner": "alice"})
    assert res.etag == md5_hex_upper(body)
    assert b.get_object("users/alice/photo.jpg").read() == body
    assert b.head_object("users/alice/photo.jpg").headers["x-oss-meta-owner"] == "alice"
    assert b.get_object_meta("users/alice/photo.jpg").content_length == 2048
    assert b.object_exists("users/alice/photo.jpg")
    b.copy_object(b.bucket_name, "users/alice/photo.jpg", "users/alice/copy.jpg")
    assert root.get_object("users/alice/copy.jpg").read() == body
    assert b.delete_object("users/alice/copy.jpg").status == 204
    assert b.batch_delete_objects(["users/alice/photo.jpg"]).deleted_keys == ["users/alice/photo.jpg"]
    with pytest.raises(oss2.exceptions.NoSuchKey):
        root.get_object("users/alice/photo.jpg")


def test_allowed_listing_under_own_prefix(alice):
    b, root, _ = alice
    for k in ["users/alice/a", "users/alice/d/b", "users/bob/c", "top"]:
        root.put_object(k, b"x")
    res = b.list_objects(prefix="users/alice/")
    assert [o.key for o in res.object_list] == ["users/alice/a", "users/alice/d/b"]
    res = b.list_objects(prefix="users/alice/", delimiter="/")
    assert [o.key for o in res.object_list] == ["users/alice/a"]
    assert res.prefix_list == ["users/alice/d/"]
    res = b.list_objects_v2(prefix="users/alice/d/")
    assert [o.key for o in res.object_list] == ["users/alice/d/b"]


def test_allowed_multipart_under_own_prefix(alice):
    b, root, _ = alice
    key = "users/alice/big.bin"
    parts = [os.urandom(100 * 1024), os.urandom(100 * 1024), b"end"]
    up = b.init_multipart_upload(key).upload_id
    infos = [PartInfo(n, b.upload_part(key, up, n, p).etag) for n, p in enumerate(parts, 1)]
    assert [p.part_number for p in b.list_parts(key, up).parts] == [1, 2, 3]
    b.complete_multipart_upload(key, up, infos)
    assert root.get_object(key).read() == b"".join(parts)
    up2 = b.init_multipart_upload("users/alice/aborted.bin").upload_id
    assert b.abort_multipart_upload("users/alice/aborted.bin", up2).status == 204


@pytest.mark.parametrize("prefix", ["", "users/", "users/bob/", "users/alice", "top"])
def test_listing_other_prefixes_denied(alice, prefix):
    b, _, _ = alice
    with pytest.raises(oss2.exceptions.AccessDenied) as ei:
        b.list_objects(prefix=prefix)
    denied(ei)
    with pytest.raises(oss2.exceptions.AccessDenied) as ei:
        b.list_objects_v2(prefix=prefix)
    denied(ei)


def test_other_users_keys_denied(alice):
    b, root, _ = alice
    root.put_object("users/bob/secret.txt", b"bob's")
    root.put_object("top.txt", b"top")
    root.put_object("users/alice/mine.txt", b"alice's")
    for call in (
        lambda: b.put_object("users/bob/x.txt", b"intrude"),
        lambda: b.put_object("users/alicex/x.txt", b"intrude"),  # prefix must include the slash
        lambda: b.put_object("top2.txt", b"intrude"),
        lambda: b.get_object("users/bob/secret.txt"),
        lambda: b.get_object("top.txt"),
        lambda: b.head_object("users/bob/secret.txt"),
        lambda: b.delete_object("users/bob/secret.txt"),
        lambda: b.init_multipart_upload("users/bob/m.bin"),
        lambda: b.copy_object(b.bucket_name, "users/bob/secret.txt", "users/alice/stolen.txt"),
        lambda: b.copy_object(b.bucket_name, "users/alice/mine.txt", "users/bob/planted.txt"),
    ):
        with pytest.raises(oss2.exceptions.ServerError) as ei:
            call()
        assert ei.value.status == 403, ei.value.details
        # HEAD carries its error in x-oss-err; all others have an XML body.
        assert ei.value.code == "AccessDenied", ei.value.details
    assert root.get_object("users/bob/secret.txt").read() == b"bob's"
    with pytest.raises(oss2.exceptions.NoSuchKey):
        root.get_object("users/alice/stolen.txt")
    with pytest.raises(oss2.exceptions.NoSuchKey):
        root.get_object("users/bob/x.txt")
    with pytest.raises(oss2.exceptions.NoSuchKey):
        root.get_object("users/bob/planted.txt")


def test_other_buckets_denied(server, alice, make_bucket):
    _, _, issued = alice
    other_root = make_bucket("other")
    other_root.put_object("users/alice/x", b"other bucket")
    other = server.bucket(other_root.bucket_name, auth=server.sts_auth(issued))
    for call in (
        lambda: other.put_object("users/alice/y", b"no"),
        lambda: other.get_object("users/alice/x"),
        lambda: other.list_objects(prefix="users/alice/"),
        lambda: other.delete_object("users/alice/x"),
    ):
        with pytest.raises(oss2.exceptions.AccessDenied) as ei:
            call()
        denied(ei)
    assert other_root.get_object("users/alice/x").read() == b"other bucket"


def test_service_and_bucket_changes_denied(server, alice):
    b, root, issued = alice
    auth = server.sts_auth(issued)
    with pytest.raises(oss2.exceptions.AccessDenied) as ei:
        server.service(auth=auth).list_buckets()
    denied(ei)
    for call in (
        lambda: b.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ),
        lambda: b.get_bucket_acl(),
        lambda: b.delete_bucket(),
        lambda: b.get_bucket_info(),
        lambda: b.put_bucket_cors(BucketCors([CorsRule(allowed_origins=["*"], allowed_methods=["GET"])])),
        lambda: b.delete_bucket_cors(),
        lambda: b.list_multipart_uploads(),
        lambda: server.bucket("new-" + b.bucket_name[:50], auth=auth).create_bucket(),
    ):
        with pytest.raises(oss2.exceptions.AccessDenied) as ei:
            call()
        denied(ei)
    assert root.get_bucket_acl().acl == "private"
    assert root.get_bucket_info().name == b.bucket_name


def test_dotdot_key_is_literal(server, alice):
    b, root, issued = alice
    # oss2 sends '/' as %2F, so the path is one segment on the wire.
    b.put_object("users/alice/../bob/x", b"literal")
    keys = [o.key for o in root.list_objects(prefix="users/").object_list]
    assert keys == ["users/alice/../bob/x"]
    assert [o.key for o in root.list_objects(prefix="users/bob/").object_list] == []
    with pytest.raises(oss2.exceptions.NoSuchKey):
        root.get_object("users/bob/x")
    assert b.get_object("users/alice/../bob/x").read() == b"literal"

    # The same with a raw request whose path has real '/../' segments (as ali-oss would send).
    c = issued["Credentials"]
    path = f"/{b.bucket_name}/users/alice/../bob/raw"
    headers = v1_headers(c["AccessKeyId"], c["AccessKeySecret"], "PUT", path,
                         {"x-oss-security-token": c["SecurityToken"]})
    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    conn.request("PUT", path, body=b"raw literal", headers=headers)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    assert resp.status == 200, (resp.status, error_of(body), body[:500])
    assert root.get_object("users/alice/../bob/raw").read() == b"raw literal"
    assert [o.key for o in root.list_objects(prefix="users/bob/").object_list] == []

    # And bob's prefix cannot be reached by dot segments either.
    path = f"/{b.bucket_name}/users/alice/../bob/x"
    root.put_object("users/bob/x", b"bob")
    headers = v1_headers(c["AccessKeyId"], c["AccessKeySecret"], "GET", path,
                         {"x-oss-security-token": c["SecurityToken"]})
    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    conn.request("GET", path, headers=headers)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    assert resp.status == 200 and body == b"literal", (resp.status, body[:300])
