"""The real alibabacloud-oss-v2 Python SDK (pinned in requirements.txt) against the oss face.

Every test runs with the SDK's default V4 signer and with its V1 signer
(`signature_version='v1'`), with the root key and with temporary credentials. Note spec §3:
the V1 signer of this SDK sends the token as the (unsigned) header `security-token`.
"""

import datetime as dt
import os

import alibabacloud_oss_v2 as oss
import pytest
import requests

from conftest import REGION, cleanup_bucket, unique_name
from helpers import REQUEST_ID_RE, alice_policy, assert_oss_error, crc64, md5_hex_upper, multipart_etag

SIGNERS = ["v4", "v1"]
PART = 100 * 1024  # the smallest part OSS accepts for all but the last


def v2_client(server, ak=None, sk=None, token=None, signer="v4", endpoint=None, **extra):
    if ak is None:
        r = server.root
        ak, sk = r["AccessKeyId"], r["AccessKeySecret"]
    cfg = oss.config.load_default()
    cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(ak, sk, token)
    cfg.region = REGION
    cfg.endpoint = endpoint or server.endpoint
    cfg.use_path_style = True
    cfg.retry_max_attempts = 1  # surface the first error, no backoff
    cfg.connect_timeout = 30
    cfg.readwrite_timeout = 60
    if signer == "v1":
        cfg.signature_version = "v1"
    for k, v in extra.items():
        setattr(cfg, k, v)
    return oss.Client(cfg)


def service_error(excinfo, status: int, code: str) -> oss.exceptions.ServiceError:
    """The ServiceError inside the SDK's OperationError, checked for status and Code."""
    err = excinfo.value
    if isinstance(err, oss.exceptions.OperationError):
        err = err.unwrap()
    assert isinstance(err, oss.exceptions.ServiceError), repr(err)
    assert err.status_code == status, f"want {status} {code}, got {err.status_code} {err.code}: {err.message}"
    assert err.code == code, f"want {code}, got {err.code}: {err.message}"
    assert REQUEST_ID_RE.match(err.request_id or ""), err.request_id
    return err


def body_of(result) -> bytes:
    with result.body as b:
        return b.read()


@pytest.fixture
def v2_bucket(server):
    """A fresh bucket created through alibabacloud-oss-v2 with the root key (V4)."""
    name = unique_name("v2")
    res = v2_client(server).put_bucket(oss.PutBucketRequest(bucket=name))
    assert res.status_code == 200
    yield name
    cleanup_bucket(server.bucket(name))


@pytest.mark.parametrize("signer", SIGNERS)
def test_bucket_lifecycle(server, signer):
    client = v2_client(server, signer=signer)
    name = unique_name(f"v2b{signer}")
    try:
        assert client.put_bucket(oss.PutBucketRequest(bucket=name)).status_code == 200
        assert client.is_bucket_exist(name) is True
        info = client.get_bucket_info(oss.GetBucketInfoRequest(bucket=name))
        assert info.bucket_info.name == name
        assert info.bucket_info.location == "oss-cn-hangzhou"
        loc = client.get_bucket_location(oss.GetBucketLocationRequest(bucket=name))
        assert loc.location == "oss-cn-hangzhou"

        # As on OSS, creating a bucket you already own answers 200 (apps call it at every
        # start); asking for another storage class is 409 BucketAlreadyExists.
        assert client.put_bucket(oss.PutBucketRequest(bucket=name)).status_code == 200
        with pytest.raises(oss.exceptions.OperationError) as ei:
            client.put_bucket(oss.PutBucketRequest(
                bucket=name, create_bucket_configuration=oss.CreateBucketConfiguration(storage_class="IA")))
        service_error(ei, 409, "BucketAlreadyExists")

        client.put_object(oss.PutObjectRequest(bucket=name, key="k", body=b"x"))
        with pytest.raises(oss.exceptions.OperationError) as ei:
            client.delete_bucket(oss.DeleteBucketRequest(bucket=name))
        service_error(ei, 409, "BucketNotEmpty")
        client.delete_object(oss.DeleteObjectRequest(bucket=name, key="k"))
        assert client.delete_bucket(oss.DeleteBucketRequest(bucket=name)).status_code == 204
        assert client.is_bucket_exist(name) is False
        with pytest.raises(oss.exceptions.OperationError) as ei:
            client.get_bucket_info(oss.GetBucketInfoRequest(bucket=name))
        service_error(ei, 404, "NoSuchBucket")
    finally:
        cleanup_bucket(server.bucket(name))


@pytest.mark.parametrize("signer", SIGNERS)
def test_put_get_head_delete(server, v2_bucket, signer):
    client = v2_client(server, signer=signer)
    data = os.urandom(3000) + f"v2 {signer}".encode()
    key = f"dir/a b+c {signer}.bin"
    put = client.put_object(oss.PutObjectRequest(
        bucket=v2_bucket, key=key, body=data, content_type="application/x-test",
        metadata={"author": "alice"}))
    assert put.status_code == 200
    assert put.etag == f'"{md5_hex_upper(data)}"'
    assert put.hash_crc64 == str(crc64(data))  # the SDK also compares it itself

    got = client.get_object(oss.GetObjectRequest(bucket=v2_bucket, key=key))
    assert body_of(got) == data
    assert got.etag == put.etag
    assert got.content_type == "application/x-test"
    assert got.metadata.get("author") == "alice"
    assert got.object_type == "Normal"
    assert got.content_length == len(data)

    part = client.get_object(oss.GetObjectRequest(bucket=v2_bucket, key=key, range_header="bytes=10-19"))
    assert part.status_code == 206
    assert body_of(part) == data[10:20]
    assert part.content_range == f"bytes 10-19/{len(data)}"

    # response-* overrides are sub-resources: V1 signs them in the canonical resource.
    over = client.get_object(oss.GetObjectRequest(
        bucket=v2_bucket, key=key, response_content_type="application/x-over",
        response_content_disposition='attachment; filename="a b.bin"', response_cache_control="max-age=7"))
    assert body_of(over) == data
    assert over.content_type == "application/x-over"
    assert over.content_disposition == 'attachment; filename="a b.bin"'
    assert over.cache_control == "max-age=7"

    head = client.head_object(oss.HeadObjectRequest(bucket=v2_bucket, key=key))
    assert head.status_code == 200
    assert head.content_length == len(data)
    assert head.etag == put.etag
    assert head.metadata.get("author") == "alice"
    assert head.hash_crc64 == str(crc64(data))

    meta = client.get_object_meta(oss.GetObjectMetaRequest(bucket=v2_bucket, key=key))
    assert meta.etag == put.etag
    assert meta.content_length == len(data)

    assert client.is_object_exist(v2_bucket, key) is True
    assert client.delete_object(oss.DeleteObjectRequest(bucket=v2_bucket, key=key)).status_code == 204
    assert client.is_object_exist(v2_bucket, key) is False
    # Deleting an absent key is still 204.
    assert client.delete_object(oss.DeleteObjectRequest(bucket=v2_bucket, key=key)).status_code == 204

    with pytest.raises(oss.exceptions.OperationError) as ei:
        client.get_object(oss.GetObjectRequest(bucket=v2_bucket, key=key))
    service_error(ei, 404, "NoSuchKey")
    # HEAD has no body: the SDK reads the code from the x-oss-err header.
    with pytest.raises(oss.exceptions.OperationError) as ei:
        client.head_object(oss.HeadObjectRequest(bucket=v2_bucket, key=key))
    service_error(ei, 404, "NoSuchKey")
    with pytest.raises(oss.exceptions.OperationError) as ei:
        client.get_object(oss.GetObjectRequest(bucket=unique_name("nobucket"), key=key))
    service_error(ei, 404, "NoSuchBucket")


@pytest.mark.parametrize("signer", SIGNERS)
def test_list_objects_v2(server, v2_bucket, signer):
    client = v2_client(server, signer=signer)
    keys = ["p/a.txt", "p/b c.txt", "p/sub/x.txt", "p/z+.txt", "q.txt"]
    for k in keys:
        client.put_object(oss.PutObjectRequest(bucket=v2_bucket, key=k, body=k.encode()))

    seen, token, pages = [], None, 0
    for _ in range(10):  # bounded: 4 keys at 2 per page
        res = client.list_objects_v2(oss.ListObjectsV2Request(
            bucket=v2_bucket, prefix="p/", max_keys=2, continuation_token=token))
        pages += 1
        assert res.key_count == len(res.contents)
        seen += [(o.key, o.size, o.etag) for o in res.contents]
        if not res.is_truncated:
            break
        assert res.next_continuation_token
        token = res.next_continuation_token
    assert pages == 2
    assert seen == [(k, len(k), f'"{md5_hex_upper(k.encode())}"') for k in sorted(keys[:4])]

    res = client.list_objects_v2(oss.ListObjectsV2Request(bucket=v2_bucket, prefix="p/", delimiter="/"))
    assert [o.key for o in res.contents] == ["p/a.txt", "p/b c.txt", "p/z+.txt"]
    assert [p.prefix for p in res.common_prefixes] == ["p/sub/"]
    assert res.is_truncated is False

    res = client.list_objects_v2(oss.ListObjectsV2Request(bucket=v2_bucket, start_after="p/z+.txt"))
    assert [o.key for o in res.contents] == ["q.txt"]

    # The paginator drives continuation tokens itself.
    paginator = client.list_objects_v2_paginator(limit=3)
    got = [o.key for page in paginator.iter_page(oss.ListObjectsV2Request(bucket=v2_bucket)) for o in page.contents]
    assert got == sorted(keys)


@pytest.mark.parametrize("signer", SIGNERS)
def test_multipart(server, v2_bucket, signer):
    client = v2_client(server, signer=signer)
    # The SDK sends encoding-type=url on Initiate/Complete/ListParts/ListMultipartUploads and
    # url-decodes the keys only when the response says <EncodingType>url</EncodingType>.
    key = f"mp/{signer} 100%25+a%2Fb.bin"
    parts = [os.urandom(PART), os.urandom(PART), os.urandom(777)]
    init = client.initiate_multipart_upload(oss.InitiateMultipartUploadRequest(bucket=v2_bucket, key=key))
    assert init.bucket == v2_bucket and init.key == key
    assert init.upload_id

    uploaded = []
    for n, p in enumerate(parts, start=1):
        r = client.upload_part(oss.UploadPartRequest(
            bucket=v2_bucket, key=key, upload_id=init.upload_id, part_number=n, body=p))
        assert r.etag == f'"{md5_hex_upper(p)}"'
        assert r.hash_crc64 == str(crc64(p))
        uploaded.append(oss.UploadPart(part_number=n, etag=r.etag))

    lp = client.list_parts(oss.ListPartsRequest(bucket=v2_bucket, key=key, upload_id=init.upload_id))
    assert lp.encoding_type == "url"
    assert lp.key == key and lp.upload_id == init.upload_id
    assert lp.is_truncated is False
    assert [(p.part_number, p.size, p.etag) for p in lp.parts] == \
        [(n, len(p), f'"{md5_hex_upper(p)}"') for n, p in enumerate(parts, start=1)]

    page = client.list_parts(oss.ListPartsRequest(bucket=v2_bucket, key=key, upload_id=init.upload_id,
                                                  max_parts=2))
    assert [p.part_number for p in page.parts] == [1, 2]
    assert page.is_truncated is True and page.next_part_number_marker == 2
    rest = client.list_parts(oss.ListPartsRequest(bucket=v2_bucket, key=key, upload_id=init.upload_id,
                                                  part_number_marker=page.next_part_number_marker))
    assert [p.part_number for p in rest.parts] == [3]

    ups = client.list_multipart_uploads(oss.ListMultipartUploadsRequest(bucket=v2_bucket))
    assert ups.encoding_type == "url"
    assert [(u.key, u.upload_id) for u in ups.uploads] == [(key, init.upload_id)]

    done = client.complete_multipart_upload(oss.CompleteMultipartUploadRequest(
        bucket=v2_bucket, key=key, upload_id=init.upload_id,
        complete_multipart_upload=oss.CompleteMultipartUpload(parts=uploaded)))
    assert done.status_code == 200
    assert done.bucket == v2_bucket and done.key == key and done.encoding_type == "url"
    assert done.etag == f'"{multipart_etag(parts)}"'
    whole = b"".join(parts)
    assert done.hash_crc64 == str(crc64(whole))

    got = client.get_object(oss.GetObjectRequest(bucket=v2_bucket, key=key))
    assert body_of(got) == whole
    assert got.object_type == "Multipart"
    assert got.etag == done.etag

    # An upload that was aborted is gone.
    init2 = client.initiate_multipart_upload(oss.InitiateMultipartUploadRequest(bucket=v2_bucket, key=key))
    assert client.abort_multipart_upload(oss.AbortMultipartUploadRequest(
        bucket=v2_bucket, key=key, upload_id=init2.upload_id)).status_code == 204
    with pytest.raises(oss.exceptions.OperationError) as ei:
        client.upload_part(oss.UploadPartRequest(
            bucket=v2_bucket, key=key, upload_id=init2.upload_id, part_number=1, body=b"x"))
    service_error(ei, 404, "NoSuchUpload")


def test_uploader_multipart(server, v2_bucket, tmp_path):
    """The SDK's managed uploader (parallel parts, its own CRC checks)."""
    client = v2_client(server)
    data = os.urandom(PART * 3 + 1234)
    path = tmp_path / "up.bin"
    path.write_bytes(data)
    uploader = client.uploader(part_size=PART, parallel_num=2, leave_parts_on_error=False)
    res = uploader.upload_file(oss.PutObjectRequest(bucket=v2_bucket, key="up.bin"), filepath=str(path))
    assert res.status_code == 200
    parts = [data[i:i + PART] for i in range(0, len(data), PART)]
    assert res.etag == f'"{multipart_etag(parts)}"'
    assert body_of(client.get_object(oss.GetObjectRequest(bucket=v2_bucket, key="up.bin"))) == data


@pytest.mark.parametrize("signer", SIGNERS)
def test_copy_and_delete_multiple(server, v2_bucket, signer):
    client = v2_client(server, signer=signer)
    data = b"copy me " + os.urandom(64)
    src = "src/a b+c.txt"
    put = client.put_object(oss.PutObjectRequest(bucket=v2_bucket, key=src, body=data,
                                                 metadata={"m": "one"}))

    cp = client.copy_object(oss.CopyObjectRequest(bucket=v2_bucket, key="dst/copy.txt",
                                                  source_bucket=v2_bucket, source_key=src))
    assert cp.status_code == 200
    assert cp.etag == put.etag
    got = client.get_object(oss.GetObjectRequest(bucket=v2_bucket, key="dst/copy.txt"))
    assert body_of(got) == data
    assert got.metadata.get("m") == "one"

    cp2 = client.copy_object(oss.CopyObjectRequest(
        bucket=v2_bucket, key="dst/replaced.txt", source_bucket=v2_bucket, source_key=src,
        metadata_directive="REPLACE", metadata={"m": "two"}, content_type="text/x-two"))
    assert cp2.etag == put.etag
    head = client.head_object(oss.HeadObjectRequest(bucket=v2_bucket, key="dst/replaced.txt"))
    assert head.metadata.get("m") == "two"
    assert head.content_type == "text/x-two"

    with pytest.raises(oss.exceptions.OperationError) as ei:
        client.copy_object(oss.CopyObjectRequest(bucket=v2_bucket, key="dst/none.txt",
                                                 source_bucket=v2_bucket, source_key="src/missing"))
    service_error(ei, 404, "NoSuchKey")

    keys = [src, "dst/copy.txt", "dst/replaced.txt", "never/existed"]
    res = client.delete_multiple_objects(oss.DeleteMultipleObjectsRequest(
        bucket=v2_bucket, objects=[oss.DeleteObject(key=k) for k in keys]))
    assert res.status_code == 200
    assert sorted(d.key for d in res.deleted_objects) == sorted(keys)
    left = client.list_objects_v2(oss.ListObjectsV2Request(bucket=v2_bucket))
    assert left.contents == [] or left.contents is None


@pytest.mark.parametrize("signer", SIGNERS)
def test_presign_get_put(server, v2_bucket, signer):
    client = v2_client(server, signer=signer)
    data = os.urandom(500)
    key = f"pre/{signer} x+y.bin"

    put = client.presign(oss.PutObjectRequest(bucket=v2_bucket, key=key, content_type="application/x-pre"),
                         expires=dt.timedelta(minutes=10))
    assert put.method == "PUT"
    if signer == "v1":
        assert "OSSAccessKeyId=" in put.url and "Signature=" in put.url
    else:
        assert "x-oss-signature-version=OSS4-HMAC-SHA256" in put.url and "x-oss-signature=" in put.url
    assert put.signed_headers.get("Content-Type") == "application/x-pre"
    r = requests.put(put.url, data=data, headers=put.signed_headers, timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == f'"{md5_hex_upper(data)}"'

    get = client.presign(oss.GetObjectRequest(bucket=v2_bucket, key=key))
    r = requests.get(get.url, timeout=30)
    assert r.status_code == 200, r.text
    assert r.content == data
    assert r.headers["Content-Type"] == "application/x-pre"

    # The PUT URL was signed for its Content-Type: another one does not verify.
    r = requests.put(put.url, data=data, headers={"Content-Type": "text/plain"}, timeout=30)
    assert_oss_error(r, 403, "SignatureDoesNotMatch")
    # Nor does a URL for another key.
    other = get.url.replace("pre/", "prf/", 1)
    assert_oss_error(requests.get(other, timeout=30), 403, "SignatureDoesNotMatch")


@pytest.mark.parametrize("signer", SIGNERS)
def test_temporary_credentials(server, v2_bucket, signer):
    c = server.issue(alice_policy(v2_bucket), duration=900)["Credentials"]
    client = v2_client(server, c["AccessKeyId"], c["AccessKeySecret"], c["SecurityToken"], signer=signer)
    data = b"alice " + signer.encode()
    key = f"users/alice/{signer}.txt"
    put = client.put_object(oss.PutObjectRequest(bucket=v2_bucket, key=key, body=data))
    assert put.etag == f'"{md5_hex_upper(data)}"'
    assert body_of(client.get_object(oss.GetObjectRequest(bucket=v2_bucket, key=key))) == data
    assert client.head_object(oss.HeadObjectRequest(bucket=v2_bucket, key=key)).content_length == len(data)
    res = client.list_objects_v2(oss.ListObjectsV2Request(bucket=v2_bucket, prefix="users/alice/"))
    assert [o.key for o in res.contents] == [key]

    # Outside the policy: OSS's AccessDenied.
    with pytest.raises(oss.exceptions.OperationError) as ei:
        client.put_object(oss.PutObjectRequest(bucket=v2_bucket, key="users/bob/x.txt", body=b"no"))
    service_error(ei, 403, "AccessDenied")
    with pytest.raises(oss.exceptions.OperationError) as ei:
        client.list_objects_v2(oss.ListObjectsV2Request(bucket=v2_bucket, prefix="users/"))
    service_error(ei, 403, "AccessDenied")

    # Multipart with temporary credentials.
    mkey = f"users/alice/mp-{signer}.bin"
    parts = [os.urandom(PART), b"tail"]
    init = client.initiate_multipart_upload(oss.InitiateMultipartUploadRequest(bucket=v2_bucket, key=mkey))
    done_parts = []
    for n, p in enumerate(parts, start=1):
        r = client.upload_part(oss.UploadPartRequest(bucket=v2_bucket, key=mkey, upload_id=init.upload_id,
                                                     part_number=n, body=p))
        done_parts.append(oss.UploadPart(part_number=n, etag=r.etag))
    done = client.complete_multipart_upload(oss.CompleteMultipartUploadRequest(
        bucket=v2_bucket, key=mkey, upload_id=init.upload_id,
        complete_multipart_upload=oss.CompleteMultipartUpload(parts=done_parts)))
    assert done.etag == f'"{multipart_etag(parts)}"'

    # Presigned URLs carry the token (V1: security-token, V4: x-oss-security-token).
    url = client.presign(oss.GetObjectRequest(bucket=v2_bucket, key=key)).url
    assert ("security-token=" if signer == "v1" else "x-oss-security-token=") in url
    r = requests.get(url, timeout=30)
    assert r.status_code == 200, r.text
    assert r.content == data
    denied = client.presign(oss.GetObjectRequest(bucket=v2_bucket, key="users/bob/x.txt")).url
    assert_oss_error(requests.get(denied, timeout=30), 403, "AccessDenied")

    # A token from another credential does not go with this AccessKeyId.
    other = server.issue(alice_policy(v2_bucket), duration=900)["Credentials"]
    bad = v2_client(server, c["AccessKeyId"], c["AccessKeySecret"], other["SecurityToken"], signer=signer)
    with pytest.raises(oss.exceptions.OperationError) as ei:
        bad.get_object(oss.GetObjectRequest(bucket=v2_bucket, key=key))
    service_error(ei, 403, "AccessKeyIdAndSecurityTokenNotMatch")


@pytest.mark.parametrize("signer", SIGNERS)
def test_auth_errors(server, v2_bucket, signer):
    r = server.root
    wrong_secret = v2_client(server, r["AccessKeyId"], r["AccessKeySecret"] + "x", signer=signer)
    with pytest.raises(oss.exceptions.OperationError) as ei:
        wrong_secret.get_object(oss.GetObjectRequest(bucket=v2_bucket, key="k"))
    err = service_error(ei, 403, "SignatureDoesNotMatch")
    assert err.error_fileds.get("StringToSign"), err.error_fileds

    unknown = v2_client(server, "LTAI5tNoSuchKeyId0000", "secret", signer=signer)
    with pytest.raises(oss.exceptions.OperationError) as ei:
        unknown.list_objects_v2(oss.ListObjectsV2Request(bucket=v2_bucket))
    service_error(ei, 403, "InvalidAccessKeyId")


def test_v4_additional_headers(server, v2_bucket):
    """V4 header auth with AdditionalHeaders (the SDK signs those of them the request carries)."""
    client = v2_client(server, additional_headers=["content-disposition", "content-length"])
    data = b"additional headers"
    put = client.put_object(oss.PutObjectRequest(bucket=v2_bucket, key="ah.txt", body=data,
                                                 content_disposition="inline"))
    assert put.etag == f'"{md5_hex_upper(data)}"'
    got = client.get_object(oss.GetObjectRequest(bucket=v2_bucket, key="ah.txt"))
    assert body_of(got) == data
    assert got.content_disposition == "inline"


def test_keep_alive_after_an_early_error(server, v2_bucket):
    """An error answered before the request body was read must not poison the pooled connection.

    The server may answer (here 403 to an anonymous PUT) before the body arrives; it then closes
    the connection, so it must say `Connection: close` — else the client reuses a dead connection
    and its next request fails with "Remote end closed connection without response".
    """
    import socket

    host = f"Host: 127.0.0.1:{server.port}\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(f"PUT /{v2_bucket}/early.txt HTTP/1.1\r\n{host}Content-Length: 4\r\n\r\n".encode())
        head = b""
        for _ in range(100):  # bounded: read up to the end of the response headers
            if b"\r\n\r\n" in head:
                break
            chunk = sock.recv(65536)
            if not chunk:
                break
            head += chunk
        status, _, rest = head.partition(b"\r\n")
        assert status.startswith(b"HTTP/1.1 403"), head
        assert b"\r\nconnection: close\r\n" in b"\r\n" + rest.lower(), head

    # Through the SDK: denied PUTs with a body, each followed by a request on the same pool.
    c = server.issue(alice_policy(v2_bucket), duration=900)["Credentials"]
    for signer in SIGNERS:
        client = v2_client(server, c["AccessKeyId"], c["AccessKeySecret"], c["SecurityToken"], signer=signer)
        client.put_object(oss.PutObjectRequest(bucket=v2_bucket, key="users/alice/ok.txt", body=b"ok"))
        for _ in range(15):
            with pytest.raises(oss.exceptions.OperationError) as ei:
                client.put_object(oss.PutObjectRequest(bucket=v2_bucket, key="users/bob/x.txt", body=b"no"))
            service_error(ei, 403, "AccessDenied")
            got = client.get_object(oss.GetObjectRequest(bucket=v2_bucket, key="users/alice/ok.txt"))
            assert body_of(got) == b"ok"
