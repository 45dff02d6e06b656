"""Object operations with the root key through oss2 (V1 header auth)."""

import base64
import os
import time
import xml.etree.ElementTree as ET

import oss2
import pytest
from oss2 import xml_utils

from helpers import (REQUEST_ID_RE, assert_recent_http_date, assert_sdk_error, crc64, md5_b64,
                     md5_hex_upper)

HELLO = b"hello world"


def test_put_object_headers_and_get_round_trip(bucket):
    body = os.urandom(1000) + HELLO
    res = bucket.put_object("dir/a b+c.txt", body, headers={
        "Content-Type": "text/plain", "x-oss-meta-author": "alice", "x-oss-meta-Project": "stsgate",
        "Cache-Control": "no-cache", "Content-Disposition": 'attachment; filename="a.txt"'})
    assert res.status == 200
    assert res.etag == md5_hex_upper(body)
    assert res.headers["ETag"] == f'"{md5_hex_upper(body)}"'
    # oss2 compares this with its own CRC and raises InconsistentError on mismatch.
    assert res.crc == crc64(body)
    assert REQUEST_ID_RE.match(res.request_id)

    got = bucket.get_object("dir/a b+c.txt")
    assert got.status == 200
    assert got.read() == body
    assert got.etag == md5_hex_upper(body)
    assert got.content_type == "text/plain"
    assert got.content_length == len(body)
    assert got.headers["x-oss-meta-author"] == "alice"
    assert got.headers["x-oss-meta-project"] == "stsgate"
    assert got.headers.get("Cache-Control") == "no-cache"
    assert got.headers.get("Content-Disposition") == 'attachment; filename="a.txt"'
    assert got.headers["x-oss-hash-crc64ecma"] == str(crc64(body))
    assert got.headers.get("x-oss-object-type") == "Normal"
    assert got.headers.get("Accept-Ranges") == "bytes"
    assert_recent_http_date(got.headers["Last-Modified"])
    assert REQUEST_ID_RE.match(got.request_id)


def test_etag_of_hello_world(bucket):
    assert bucket.put_object("h", HELLO).etag == "5EB63BBBE01EEED093CB22BB8F5ACDC3"
    assert bucket.put_object("h", HELLO).crc == 5981764153023615706


def test_empty_object(bucket):
    res = bucket.put_object("empty", b"")
    assert res.etag == md5_hex_upper(b"")
    got = bucket.get_object("empty")
    assert got.read() == b""
    assert got.content_length == 0


def test_head_object_and_get_object_meta(bucket):
    bucket.put_object("k.bin", b"x" * 123, headers={"x-oss-meta-color": "blue"})
    head = bucket.head_object("k.bin")
    assert head.status == 200
    assert head.content_length == 123
    assert head.etag == md5_hex_upper(b"x" * 123)
    assert head.headers["x-oss-meta-color"] == "blue"
    assert head.object_type == "Normal"
    assert abs(head.last_modified - time.time()) < 600
    assert head.server_crc == crc64(b"x" * 123)
    meta = bucket.get_object_meta("k.bin")
    assert meta.content_length == 123
    assert meta.etag == md5_hex_upper(b"x" * 123)
    assert abs(meta.last_modified - time.time()) < 600
    assert bucket.object_exists("k.bin") is True
    assert bucket.object_exists("nope.bin") is False


def test_missing_object_errors(bucket):
    with pytest.raises(oss2.exceptions.NoSuchKey) as ei:
        bucket.get_object("missing.txt")
    e = assert_sdk_error(ei, 404, "NoSuchKey")
    assert e.details.get("Key") == "missing.txt"
    assert REQUEST_ID_RE.match(e.request_id)
    # HEAD has no body: the error comes back in x-oss-err, which oss2 decodes.
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.head_object("missing.txt")
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.get_object_meta("missing.txt")


def test_content_md5_checked(bucket):
    body = b"digest me"
    res = bucket.put_object("md5-ok", body, headers={"Content-MD5": md5_b64(body)})
    assert res.status == 200
    with pytest.raises(oss2.exceptions.InvalidDigest) as ei:
        bucket.put_object("md5-bad", body, headers={"Content-MD5": md5_b64(b"something else")})
    assert_sdk_error(ei, 400, "InvalidDigest")
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.get_object("md5-bad")


def test_forbid_overwrite(bucket):
    bucket.put_object("once", b"first", headers={"x-oss-forbid-overwrite": "true"})
    with pytest.raises(oss2.exceptions.ServerError) as ei:
        bucket.put_object("once", b"second", headers={"x-oss-forbid-overwrite": "true"})
    assert_sdk_error(ei, 409, "FileAlreadyExists")
    assert bucket.get_object("once").read() == b"first"
    # Without the header (or with false) the overwrite goes through.
    bucket.put_object("once", b"third", headers={"x-oss-forbid-overwrite": "false"})
    assert bucket.get_object("once").read() == b"third"


def test_ranges(bucket):
    bucket.put_object("r", HELLO)
    got = bucket.get_object("r", byte_range=(0, 4))
    assert got.status == 206
    assert got.read() == b"hello"
    assert got.headers["Content-Range"] == "bytes 0-4/11"
    assert got.content_length == 5
    got = bucket.get_object("r", byte_range=(6, None))  # open range
    assert got.status == 206
    assert got.read() == b"world"
    assert got.headers["Content-Range"] == "bytes 6-10/11"
    got = bucket.get_object("r", byte_range=(None, 3))  # suffix range
    assert got.status == 206
    assert got.read() == b"rld"
    assert got.headers["Content-Range"] == "bytes 8-10/11"
    # An invalid range (end or start past the size): OSS ignores it and returns the whole object.
    for rng in ((3, 100), (50, 60)):
        got = bucket.get_object("r", byte_range=rng)
        assert got.status == 200, rng
        assert got.read() == HELLO
        assert "Content-Range" not in got.headers


def test_ranges_standard_behavior(bucket):
    """With x-oss-range-behavior: standard, an end past the size is clipped and a start past it is 416."""
    bucket.put_object("rs", HELLO)
    std = {"x-oss-range-behavior": "standard"}
    got = bucket.get_object("rs", byte_range=(3, 100), headers=std)
    assert got.status == 206
    assert got.read() == b"lo world"
    assert got.headers["Content-Range"] == "bytes 3-10/11"
    with pytest.raises(oss2.exceptions.ServerError) as ei:
        bucket.get_object("rs", byte_range=(50, 60), headers=std)
    assert_sdk_error(ei, 416, "InvalidRange")


def test_conditional_get(bucket):
    etag = bucket.put_object("c", HELLO).etag
    quoted = f'"{etag}"'
    assert bucket.get_object("c", headers={"If-Match": quoted}).read() == HELLO
    with pytest.raises(oss2.exceptions.NotModified) as ei:
        bucket.get_object("c", headers={"If-None-Match": quoted})
    assert ei.value.status == 304
    with pytest.raises(oss2.exceptions.PreconditionFailed) as ei:
        bucket.get_object("c", headers={"If-Match": '"0123456789ABCDEF0123456789ABCDEF"'})
    assert_sdk_error(ei, 412, "PreconditionFailed")
    future = oss2.utils.http_date(int(time.time()) + 3600)
    past = oss2.utils.http_date(int(time.time()) - 3600)
    with pytest.raises(oss2.exceptions.NotModified):
        bucket.get_object("c", headers={"If-Modified-Since": future})
    assert bucket.get_object("c", headers={"If-Modified-Since": past}).read() == HELLO
    with pytest.raises(oss2.exceptions.PreconditionFailed):
        bucket.get_object("c", headers={"If-Unmodified-Since": past})
    assert bucket.get_object("c", headers={"If-Unmodified-Since": future}).read() == HELLO


def test_response_header_overrides(bucket):
    bucket.put_object("o.txt", HELLO, headers={"Content-Type": "text/plain"})
    params = {
        "response-content-type": "application/x-stsgate",
        "response-content-disposition": 'attachment; filename="o.txt"',
        "response-cache-control": "max-age=60",
        "response-content-language": "zh-CN",
        "response-content-encoding": "identity",
        "response-expires": "Thu, 01 Dec 2094 16:00:00 GMT",
    }
    got = bucket.get_object("o.txt", params=params)
    assert got.read() == HELLO
    assert got.headers["Content-Type"] == "application/x-stsgate"
    assert got.headers["Content-Disposition"] == 'attachment; filename="o.txt"'
    assert got.headers["Cache-Control"] == "max-age=60"
    assert got.headers["Content-Language"] == "zh-CN"
    assert got.headers["Expires"] == "Thu, 01 Dec 2094 16:00:00 GMT"


def test_delete_object_is_idempotent(bucket):
    bucket.put_object("d", b"1")
    assert bucket.delete_object("d").status == 204
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.get_object("d")
    assert bucket.delete_object("d").status == 204
    assert bucket.delete_object("never-existed").status == 204


def test_delete_multiple_objects(bucket):
    keys = ["m/1", "m/2", "m/sp ace", "m/中文"]
    for k in keys:
        bucket.put_object(k, k.encode())
    res = bucket.batch_delete_objects(keys + ["m/absent"])
    assert sorted(res.deleted_keys) == sorted(keys + ["m/absent"])
    assert [o.key for o in oss2.ObjectIterator(bucket, prefix="m/")] == []


def test_delete_multiple_objects_quiet(bucket):
    keys = ["q/1", "q/2", "q/3"]
    for k in keys:
        bucket.put_object(k, b"x")
    data = xml_utils.to_batch_delete_objects_request(keys, True)
    # Send through oss2's own signer (no public quiet-mode API).
    resp = bucket._Bucket__do_bucket("POST", data=data, params={"delete": "", "encoding-type": "url"},
                                     headers={"Content-MD5": oss2.utils.content_md5(data)})
    assert resp.status == 200
    body = resp.read()
    assert b"<Deleted>" not in body, body
    assert b"DeleteResult" in body, body
    assert [o.key for o in oss2.ObjectIterator(bucket, prefix="q/")] == []


def test_copy_object_same_bucket_copy_and_replace(bucket):
    body = b"source body"
    bucket.put_object("src", body, headers={"Content-Type": "text/plain", "x-oss-meta-a": "1"})
    res = bucket.copy_object(bucket.bucket_name, "src", "dst-copy")
    assert res.status == 200
    assert res.etag == md5_hex_upper(body)
    got = bucket.get_object("dst-copy")
    assert got.read() == body
    assert got.headers["x-oss-meta-a"] == "1"
    assert got.content_type == "text/plain"

    bucket.copy_object(bucket.bucket_name, "src", "dst-replace", headers={
        "x-oss-metadata-directive": "REPLACE", "Content-Type": "application/json", "x-oss-meta-b": "2"})
    got = bucket.get_object("dst-replace")
    assert got.read() == body
    assert got.content_type == "application/json"
    assert got.headers.get("x-oss-meta-b") == "2"
    assert "x-oss-meta-a" not in got.headers


def test_copy_object_across_buckets_and_missing_source(bucket, make_bucket):
    other = make_bucket("copy")
    body = os.urandom(4096)
    bucket.put_object("dir/src.bin", body)
    res = other.copy_object(bucket.bucket_name, "dir/src.bin", "copied/dst.bin")
    assert res.etag == md5_hex_upper(body)
    assert other.get_object("copied/dst.bin").read() == body
    with pytest.raises(oss2.exceptions.NoSuchKey):
        other.copy_object(bucket.bucket_name, "dir/absent.bin", "x")


LIST_KEYS = sorted(["a/1.txt", "a/2.txt", "a/b/3.txt", "b/1.txt", "c.txt", "d e+f.txt", "中文/键.txt", "z%2Fz"])


@pytest.fixture
def listed_bucket(bucket):
    for k in LIST_KEYS:
        bucket.put_object(k, k.encode())
    return bucket


def test_list_objects_v1(listed_bucket):
    b = listed_bucket
    res = b.list_objects(max_keys=1000)
    assert REQUEST_ID_RE.match(res.request_id)
    assert [o.key for o in res.object_list] == LIST_KEYS  # encoding-type=url round trip
    assert res.is_truncated is False
    o = res.object_list[0]
    assert o.size == len(o.key.encode())
    assert o.etag == md5_hex_upper(o.key.encode())
    assert o.type == "Normal"
    assert o.storage_class == "Standard"
    assert abs(o.last_modified - time.time()) < 600

    res = b.list_objects(delimiter="/")
    assert res.prefix_list == ["a/", "b/", "中文/"]
    assert [o.key for o in res.object_list] == ["c.txt", "d e+f.txt", "z%2Fz"]

    res = b.list_objects(prefix="a/", delimiter="/")
    assert [o.key for o in res.object_list] == ["a/1.txt", "a/2.txt"]
    assert res.prefix_list == ["a/b/"]

    res = b.list_objects(prefix="a/", marker="a/1.txt")
    assert [o.key for o in res.object_list] == ["a/2.txt", "a/b/3.txt"]


def test_list_objects_v1_paging_counts_common_prefixes(listed_bucket):
    b = listed_bucket
    page = b.list_objects(delimiter="/", max_keys=2)
    assert page.is_truncated is True
    assert page.prefix_list == ["a/", "b/"]
    assert page.object_list == []
    assert page.next_marker == "b/"
    seen, marker = [], ""
    while True:
        page = b.list_objects(marker=marker, max_keys=3)
        seen += [o.key for o in page.object_list]
        if not page.is_truncated:
            break
        assert page.next_marker == seen[-1]
        marker = page.next_marker
    assert seen == LIST_KEYS
    assert [o.key for o in oss2.ObjectIterator(b, max_keys=2)] == LIST_KEYS


def test_list_objects_v2(server, listed_bucket):
    b = listed_bucket
    res = b.list_objects_v2(max_keys=1000)
    assert [o.key for o in res.object_list] == LIST_KEYS
    assert res.is_truncated is False
    assert res.object_list[0].owner is None

    res = b.list_objects_v2(fetch_owner=True)
    assert res.object_list[0].owner is not None
    assert res.object_list[0].owner.id == server.root["AccountId"]

    res = b.list_objects_v2(start_after="b/1.txt")
    assert [o.key for o in res.object_list] == LIST_KEYS[LIST_KEYS.index("b/1.txt") + 1:]

    res = b.list_objects_v2(prefix="a/", delimiter="/")
    assert [o.key for o in res.object_list] == ["a/1.txt", "a/2.txt"]
    assert res.prefix_list == ["a/b/"]
    # oss2 does not parse KeyCount; read it from the XML (objects + common prefixes).
    raw = b._Bucket__do_bucket("GET", params={"list-type": "2", "prefix": "a/", "delimiter": "/"})
    assert ET.fromstring(raw.read()).findtext("KeyCount") == "3"

    seen, token = [], ""
    while True:
        page = b.list_objects_v2(continuation_token=token, max_keys=3)
        seen += [o.key for o in page.object_list]
        if not page.is_truncated:
            break
        assert page.next_continuation_token
        token = page.next_continuation_token
    assert seen == LIST_KEYS
    assert [o.key for o in oss2.ObjectIteratorV2(b, max_keys=2)] == LIST_KEYS


def test_keys_are_stored_literally(bucket):
    odd = ["users/alice/../bob/x", "./dot", "a//b", "%2F", "trailing/", "sp ace", "plus+sign", "q?uery#frag"]
    for k in odd:
        bucket.put_object(k, k.encode())
    assert [o.key for o in oss2.ObjectIterator(bucket)] == sorted(odd)
    for k in odd:
        assert bucket.get_object(k).read() == k.encode()
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.get_object("users/bob/x")
    assert [o.key for o in oss2.ObjectIterator(bucket, prefix="users/bob/")] == []


def test_user_meta_base64_and_utf8_safe_values(bucket):
    value = base64.b64encode(os.urandom(12)).decode()
    bucket.put_object("meta", b"v", headers={"x-oss-meta-token": value})
    assert bucket.head_object("meta").headers["x-oss-meta-token"] == value
