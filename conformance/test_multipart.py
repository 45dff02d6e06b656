"""Multipart upload with the root key through oss2 (V1 header auth)."""

import os

import oss2
import pytest
import requests
from oss2.models import PartInfo

from helpers import assert_oss_error, assert_sdk_error, crc64, md5_hex_upper, multipart_etag, v1_headers

KIB = 1024


def upload_parts(bucket, key, parts):
    upload_id = bucket.init_multipart_upload(key).upload_id
    infos = []
    for n, data in enumerate(parts, start=1):
        res = bucket.upload_part(key, upload_id, n, data)  # oss2 checks the part CRC itself
        assert res.etag == md5_hex_upper(data)
        assert res.crc == crc64(data)
        infos.append(PartInfo(n, res.etag, size=len(data)))
    return upload_id, infos


def test_multipart_full_flow(bucket):
    key = "big/object.bin"
    parts = [os.urandom(256 * KIB), os.urandom(100 * KIB), b"tail"]
    init = bucket.init_multipart_upload(key)
    assert init.upload_id
    bucket.abort_multipart_upload(key, init.upload_id)

    upload_id, infos = upload_parts(bucket, key, parts)
    uploads = [(u.key, u.upload_id) for u in oss2.MultipartUploadIterator(bucket)]
    assert (key, upload_id) in uploads

    listed = bucket.list_parts(key, upload_id)
    assert [p.part_number for p in listed.parts] == [1, 2, 3]
    assert [p.size for p in listed.parts] == [len(p) for p in parts]
    assert [p.etag for p in listed.parts] == [md5_hex_upper(p) for p in parts]
    assert listed.is_truncated is False
    page = bucket.list_parts(key, upload_id, max_parts=2)
    assert [p.part_number for p in page.parts] == [1, 2]
    assert page.is_truncated is True
    assert page.next_marker == "2"  # oss2 keeps NextPartNumberMarker as text
    rest = bucket.list_parts(key, upload_id, marker=page.next_marker)
    assert [p.part_number for p in rest.parts] == [3]

    # oss2 computes the whole-object CRC from the parts and checks x-oss-hash-crc64ecma.
    res = bucket.complete_multipart_upload(key, upload_id, infos)
    assert res.status == 200
    assert res.etag == multipart_etag(parts)
    assert res.crc == crc64(b"".join(parts))

    whole = b"".join(parts)
    got = bucket.get_object(key)
    assert got.read() == whole
    assert got.etag == multipart_etag(parts)
    assert got.headers["x-oss-object-type"] == "Multipart"
    assert got.headers["x-oss-hash-crc64ecma"] == str(crc64(whole))
    assert key in [o.key for o in bucket.list_objects(prefix="big/").object_list]
    assert upload_id not in [u.upload_id for u in oss2.MultipartUploadIterator(bucket)]
    with pytest.raises(oss2.exceptions.NoSuchUpload):
        bucket.list_parts(key, upload_id)


def test_multipart_part_overwrite_keeps_last(bucket):
    key = "ow.bin"
    upload_id = bucket.init_multipart_upload(key).upload_id
    bucket.upload_part(key, upload_id, 1, b"a" * (100 * KIB))
    final1 = os.urandom(100 * KIB)
    e1 = bucket.upload_part(key, upload_id, 1, final1).etag
    e2 = bucket.upload_part(key, upload_id, 2, b"end").etag
    bucket.complete_multipart_upload(key, upload_id, [PartInfo(1, e1), PartInfo(2, e2)])
    assert bucket.get_object(key).read() == final1 + b"end"


def test_complete_invalid_part(bucket):
    key = "invalid-part.bin"
    upload_id, infos = upload_parts(bucket, key, [os.urandom(100 * KIB), b"x"])
    bad = [infos[0], PartInfo(2, "0123456789ABCDEF0123456789ABCDEF")]
    with pytest.raises(oss2.exceptions.ServerError) as ei:
        bucket.complete_multipart_upload(key, upload_id, bad)
    assert_sdk_error(ei, 400, "InvalidPart")
    missing = [infos[0], PartInfo(7, infos[1].etag)]
    with pytest.raises(oss2.exceptions.ServerError) as ei:
        bucket.complete_multipart_upload(key, upload_id, missing)
    assert_sdk_error(ei, 400, "InvalidPart")
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.get_object(key)
    bucket.abort_multipart_upload(key, upload_id)


def test_complete_invalid_part_order(bucket, server):
    key = "order.bin"
    upload_id, infos = upload_parts(bucket, key, [os.urandom(100 * KIB), os.urandom(100 * KIB), b"x"])
    # oss2 sorts the parts before sending (api.py complete_multipart_upload), so an out-of-order
    # list can only come from another client: send the XML by hand, V1-signed.
    body = "<CompleteMultipartUpload>" + "".join(
        f"<Part><PartNumber>{p.part_number}</PartNumber><ETag>\"{p.etag}\"</ETag></Part>"
        for p in [infos[1], infos[0], infos[2]]
    ) + "</CompleteMultipartUpload>"
    resource = f"/{bucket.bucket_name}/{key}?uploadId={upload_id}"
    root = server.root
    headers = v1_headers(root["AccessKeyId"], root["AccessKeySecret"], "POST", resource, content_type="application/xml")
    resp = requests.post(f"{bucket.endpoint}/{bucket.bucket_name}/{key}?uploadId={upload_id}", data=body, headers=headers)
    assert_oss_error(resp, 400, "InvalidPartOrder")
    # The upload is still there and can be completed properly afterwards.
    bucket.complete_multipart_upload(key, upload_id, infos)
    assert bucket.head_object(key).content_length == 200 * KIB + 1


def test_complete_entity_too_small(bucket):
    key = "small.bin"
    upload_id, infos = upload_parts(bucket, key, [b"a" * (10 * KIB), b"b" * (10 * KIB)])
    with pytest.raises(oss2.exceptions.ServerError) as ei:
        bucket.complete_multipart_upload(key, upload_id, infos)
    assert_sdk_error(ei, 400, "EntityTooSmall")
    bucket.abort_multipart_upload(key, upload_id)


def test_single_small_part_is_fine(bucket):
    key = "one.bin"
    upload_id, infos = upload_parts(bucket, key, [b"only part"])
    bucket.complete_multipart_upload(key, upload_id, infos)
    assert bucket.get_object(key).read() == b"only part"


def test_abort_and_no_such_upload(bucket):
    key = "abort.bin"
    upload_id, _ = upload_parts(bucket, key, [b"x" * 1000])
    assert bucket.abort_multipart_upload(key, upload_id).status == 204
    with pytest.raises(oss2.exceptions.NoSuchUpload) as ei:
        bucket.list_parts(key, upload_id)
    assert_sdk_error(ei, 404, "NoSuchUpload")
    with pytest.raises(oss2.exceptions.NoSuchUpload):
        bucket.abort_multipart_upload(key, upload_id)
    with pytest.raises(oss2.exceptions.NoSuchUpload):
        bucket.upload_part(key, upload_id, 1, b"late")
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.get_object(key)


def test_list_multipart_uploads(bucket):
    ids = {}
    for key in ["u/a", "u/b", "v/c"]:
        ids[key] = bucket.init_multipart_upload(key).upload_id
    res = bucket.list_multipart_uploads(prefix="u/")
    assert sorted((u.key, u.upload_id) for u in res.upload_list) == sorted(
        (k, v) for k, v in ids.items() if k.startswith("u/"))
    assert res.is_truncated is False
    assert all(u.initiation_date > 0 for u in res.upload_list)
    assert sorted(u.key for u in oss2.MultipartUploadIterator(bucket, max_uploads=1)) == sorted(ids)
    for key, up in ids.items():
        bucket.abort_multipart_upload(key, up)
    assert list(oss2.MultipartUploadIterator(bucket)) == []


def test_resumable_upload_via_sdk(bucket, tmp_path):
    """oss2's own high-level multipart helper (parts of 100 KiB)."""
    data = os.urandom(350 * KIB)
    path = tmp_path / "file.bin"
    path.write_bytes(data)
    oss2.resumable_upload(bucket, "resumable.bin", str(path), store=oss2.ResumableStore(root=str(tmp_path)),
                          multipart_threshold=100 * KIB, part_size=100 * KIB, num_threads=2)
    assert bucket.get_object("resumable.bin").read() == data
