"""The real cos-python-sdk-v5 (pinned in requirements.txt) against the cos face.

IP mode for everything the SDK sends itself (ServiceDomain for list_buckets), proxy mode for
presigned URLs (so they keep the bucket's host), requests for preflights and POST forms.
"""

import base64
import hashlib
import os
import time
import xml.etree.ElementTree as ET

import crcmod
import pytest
import requests
from qcloud_cos import CosServiceError

from cos_helpers import (ALL_USERS, REGION, alice_cam_policy, bucket_host, bucket_name, cos_client,
                         empty_bucket, post_form_signature, post_policy, proxies, proxy_client,
                         q_sign, root_creds, temp_creds)

MIB = 1024 * 1024


@pytest.fixture
def cos(server):
    return cos_client(server, root_creds(server))


@pytest.fixture
def cos_bucket(server, cos):
    name = bucket_name(server)
    cos.create_bucket(Bucket=name)
    yield name
    empty_bucket(cos, name)


def service_error(excinfo, status, code):
    e = excinfo.value
    assert isinstance(e, CosServiceError), e
    assert (e.get_status_code(), e.get_error_code()) == (status, code), e.get_digest_msg()
    return e


def crc64ecma(data: bytes) -> str:
    """cos-python-sdk-v5's own function (resumable_downloader.py), in decimal."""
    return str(crcmod.mkCrcFun(0x142F0E1EBA9EA3693, initCrc=0, xorOut=0xffffffffffffffff, rev=True)(data))


def test_put_get_head_delete_with_exact_headers(cos, cos_bucket):
    key = "dir/a b+c.txt"
    put = cos.put_object(Bucket=cos_bucket, Key=key, Body=b"hello", ContentType="text/plain",
                         EnableMD5=True, Metadata={"x-cos-meta-foo": "bar"})
    assert put["ETag"] == '"5d41402abc4b2a76b9719d911017c592"'
    assert put["x-cos-hash-crc64ecma"] == crc64ecma(b"hello")
    head = cos.head_object(Bucket=cos_bucket, Key=key)
    # A plain dict keyed by the server's spelling: the exact case matters.
    assert head["Content-Length"] == "5"
    assert head["ETag"] == put["ETag"]
    assert head["x-cos-hash-crc64ecma"] == crc64ecma(b"hello")
    assert head["Last-Modified"].endswith("GMT")
    assert head["x-cos-meta-foo"] == "bar"
    got = cos.get_object(Bucket=cos_bucket, Key=key, Range="bytes=1-3", ResponseContentType="x/y")
    assert got["Body"].get_raw_stream().read() == b"ell"
    assert got["Content-Range"] == "bytes 1-3/5" and got["Content-Type"] == "x/y"
    cos.delete_object(Bucket=cos_bucket, Key=key)
    with pytest.raises(CosServiceError) as e:
        cos.get_object(Bucket=cos_bucket, Key=key)
    err = service_error(e, 404, "NoSuchKey")
    assert err.get_request_id() and err.get_trace_id() and err.get_resource_location()
    with pytest.raises(CosServiceError) as e:
        cos.head_object(Bucket=cos_bucket, Key=key)
    service_error(e, 404, "NoSuchResource")  # the SDK's own name for a HEAD 404


def test_list_buckets_and_objects(cos, cos_bucket):
    assert cos_bucket in [b["Name"] for b in cos.list_buckets()["Buckets"]["Bucket"]]
    for key in ["dir/a b.txt", "dir/sub/x", "dir/c%2Fd", "top"]:
        cos.put_object(Bucket=cos_bucket, Key=key, Body=b"x")
    listed = cos.list_objects(Bucket=cos_bucket, Prefix="dir/", Delimiter="/", MaxKeys=10)
    keys = [o["Key"] for o in listed["Contents"]]
    assert keys == ["dir/a b.txt", "dir/c%2Fd"]  # decoded by the SDK from encoding-type=url
    assert [p["Prefix"] for p in listed["CommonPrefixes"]] == ["dir/sub/"]
    page = cos.list_objects(Bucket=cos_bucket, MaxKeys=2)
    assert page["IsTruncated"] == "true" and len(page["Contents"]) == 2
    rest = cos.list_objects(Bucket=cos_bucket, Marker=page["NextMarker"])
    assert [o["Key"] for o in rest["Contents"]] == ["dir/sub/x", "top"]


def test_multi_delete_and_copy(cos, cos_bucket):
    for key in ["a", "b", "c"]:
        cos.put_object(Bucket=cos_bucket, Key=key, Body=key.encode())
    out = cos.delete_objects(Bucket=cos_bucket, Delete={"Object": [{"Key": "a"}, {"Key": "b"}], "Quiet": "false"})
    assert sorted(d["Key"] for d in out["Deleted"]) == ["a", "b"]
    cos.delete_objects(Bucket=cos_bucket, Delete={"Object": [{"Key": "nothing"}], "Quiet": "true"})
    source = {"Bucket": cos_bucket, "Key": "c", "Region": REGION}
    copied = cos.copy_object(Bucket=cos_bucket, Key="copy of c", CopySource=source)
    assert copied["ETag"] == '"%s"' % hashlib.md5(b"c").hexdigest()
    cos.copy_object(Bucket=cos_bucket, Key="c2", CopySource=source, CopyStatus="Replaced",
                    ContentType="text/x-replaced")
    assert cos.head_object(Bucket=cos_bucket, Key="c2")["Content-Type"] == "text/x-replaced"
    assert cos.get_object(Bucket=cos_bucket, Key="copy of c")["Body"].get_raw_stream().read() == b"c"


def test_multipart_upload_file_and_crc_checked_download(cos, cos_bucket, tmp_path):
    data = os.urandom(3 * MIB + 12345)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    cos.upload_file(Bucket=cos_bucket, Key="big.bin", LocalFilePath=str(src), PartSize=1, MAXThread=3)
    head = cos.head_object(Bucket=cos_bucket, Key="big.bin")
    assert int(head["Content-Length"]) == len(data)
    assert head["ETag"].endswith('-4"')
    assert head["x-cos-hash-crc64ecma"] == crc64ecma(data)
    dst = tmp_path / "back.bin"
    # > PartSize MB: the resumable path, which compares the CRC-64 with the header.
    cos.download_file(Bucket=cos_bucket, Key="big.bin", DestFilePath=str(dst), PartSize=1, EnableCRC=True)
    assert dst.read_bytes() == data


def test_multipart_by_hand_and_resume_listing(cos, cos_bucket):
    upload_id = cos.create_multipart_upload(Bucket=cos_bucket, Key="mp")["UploadId"]
    part = b"p" * MIB
    etag = cos.upload_part(Bucket=cos_bucket, Key="mp", Body=part, PartNumber=1, UploadId=upload_id)["ETag"]
    assert etag == '"%s"' % hashlib.md5(part).hexdigest()
    listed = cos.list_parts(Bucket=cos_bucket, Key="mp", UploadId=upload_id)
    assert listed["Part"][0]["ETag"] == etag and listed["IsTruncated"] == "false"
    uploads = cos.list_multipart_uploads(Bucket=cos_bucket, Prefix="mp")["Upload"]
    assert [u["UploadId"] for u in (uploads if isinstance(uploads, list) else [uploads])] == [upload_id]
    cos.upload_part(Bucket=cos_bucket, Key="mp", Body=b"tail", PartNumber=2, UploadId=upload_id)
    done = cos.complete_multipart_upload(Bucket=cos_bucket, Key="mp", UploadId=upload_id, MultipartUpload={
        "Part": [{"PartNumber": 1, "ETag": etag}, {"PartNumber": 2, "ETag": '"%s"' % hashlib.md5(b"tail").hexdigest()}]})
    assert done["ETag"].endswith('-2"') and done["Key"] == "mp"
    aborted = cos.create_multipart_upload(Bucket=cos_bucket, Key="gone")["UploadId"]
    cos.abort_multipart_upload(Bucket=cos_bucket, Key="gone", UploadId=aborted)
    with pytest.raises(CosServiceError) as e:
        cos.list_parts(Bucket=cos_bucket, Key="gone", UploadId=aborted)
    service_error(e, 404, "NoSuchUpload")


def test_acls_in_header_and_body_forms(server, cos, cos_bucket):
    cos.put_object(Bucket=cos_bucket, Key="o", Body=b"o")
    assert cos.get_object_acl(Bucket=cos_bucket, Key="o")["CannedACL"] == "default"
    cos.put_object_acl(Bucket=cos_bucket, Key="o", ACL="public-read")
    assert cos.get_object_acl(Bucket=cos_bucket, Key="o")["CannedACL"] == "public-read"
    anonymous = requests.get(f"http://127.0.0.1:{server.cos_port}/o", headers={"Host": bucket_host(cos_bucket)})
    assert anonymous.status_code == 200 and anonymous.content == b"o"
    owner = f"qcs::cam::uin/{server.tencent['Uin']}:uin/{server.tencent['Uin']}"
    cos.put_object_acl(Bucket=cos_bucket, Key="o", AccessControlPolicy={
        "Owner": {"ID": owner},
        "AccessControlList": {"Grant": [{"Grantee": {"ID": owner, "Type": "CanonicalUser"},
                                         "Permission": "FULL_CONTROL"}]}})
    assert cos.get_object_acl(Bucket=cos_bucket, Key="o")["CannedACL"] == "private"
    cos.put_bucket_acl(Bucket=cos_bucket, ACL="public-read")
    acl = cos.get_bucket_acl(Bucket=cos_bucket)
    assert acl["CannedACL"] == "public-read"
    assert {"Type": "Group", "URI": ALL_USERS} in [g["Grantee"] for g in acl["AccessControlList"]["Grant"]]
    cos.put_bucket_acl(Bucket=cos_bucket, ACL="private")
    assert cos.get_bucket_acl(Bucket=cos_bucket)["CannedACL"] == "private"


def test_cors_rules_preflight_and_actual_headers(server, cos, cos_bucket):
    cos.put_bucket_cors(Bucket=cos_bucket, CORSConfiguration={"CORSRule": [{
        "ID": "1", "AllowedOrigin": ["http://app.example"], "AllowedMethod": ["GET", "PUT"],
        "AllowedHeader": ["*"], "ExposeHeader": ["ETag", "x-cos-request-id"], "MaxAgeSeconds": 500}]})
    rules = cos.get_bucket_cors(Bucket=cos_bucket)["CORSRule"]
    rule = rules[0] if isinstance(rules, list) else rules
    assert rule["AllowedOrigin"] == ["http://app.example"] and rule["MaxAgeSeconds"] == "500"
    url = f"http://127.0.0.1:{server.cos_port}/k"
    preflight = requests.options(url, headers={
        "Host": bucket_host(cos_bucket), "Origin": "http://app.example",
        "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "authorization,x-cos-meta-a"})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "http://app.example"
    assert preflight.headers["Access-Control-Max-Age"] == "500"
    refused = requests.options(url, headers={
        "Host": bucket_host(cos_bucket), "Origin": "http://evil.example", "Access-Control-Request-Method": "PUT"})
    assert refused.status_code == 403 and "<Code>AccessForbidden</Code>" in refused.text
    creds = root_creds(server)
    auth = q_sign(creds["SecretId"], creds["SecretKey"], "PUT", "/k", headers={"host": bucket_host(cos_bucket)})
    put = requests.put(url, data=b"x", headers={"Host": bucket_host(cos_bucket), "Authorization": auth,
                                                "Origin": "http://app.example"})
    assert put.status_code == 200 and put.headers["Access-Control-Allow-Origin"] == "http://app.example"
    assert put.headers["Access-Control-Expose-Headers"] == "ETag, x-cos-request-id"
    cos.delete_bucket_cors(Bucket=cos_bucket)
    with pytest.raises(CosServiceError) as e:
        cos.get_bucket_cors(Bucket=cos_bucket)
    service_error(e, 404, "NoSuchCORSConfiguration")


def test_presigned_urls_keep_the_bucket_host(server, cos, cos_bucket):
    signer = proxy_client(server, root_creds(server))
    put_url = signer.get_presigned_url(Bucket=cos_bucket, Key="pre/signed.txt", Method="PUT", Expired=300)
    assert put_url.startswith(f"http://{bucket_host(cos_bucket)}/pre/signed.txt?")
    assert requests.put(put_url, data=b"presigned", proxies=proxies(server)).status_code == 200
    get_url = signer.get_presigned_download_url(Bucket=cos_bucket, Key="pre/signed.txt", Expired=300)
    got = requests.get(get_url, proxies=proxies(server))
    assert got.status_code == 200 and got.content == b"presigned"
    # Or without a proxy: the URL's path and query, sent with its host in a Host header.
    path = get_url.split(bucket_host(cos_bucket), 1)[1]
    direct = requests.get(f"http://127.0.0.1:{server.cos_port}{path}", headers={"Host": bucket_host(cos_bucket)})
    assert direct.content == b"presigned"
    tampered = requests.get(get_url.replace("signed.txt", "signed.tx"), proxies=proxies(server))
    assert tampered.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in tampered.text


def post_form(server, bucket, fields, data):
    files = {"file": ("f.bin", data, "application/octet-stream")}
    return requests.post(f"http://127.0.0.1:{server.cos_port}/", data=fields, files=files,
                         headers={"Host": bucket_host(bucket)})


def test_post_object_form_upload(server, cos, cos_bucket):
    creds = root_creds(server)
    now = int(time.time())
    key_time = f"{now - 60};{now + 600}"
    policy = post_policy(cos_bucket, "uploads/", creds["SecretId"], key_time)
    fields = {"key": "uploads/${filename}", "policy": base64.b64encode(policy.encode()).decode(),
              "q-sign-algorithm": "sha1", "q-ak": creds["SecretId"], "q-key-time": key_time,
              "q-signature": post_form_signature(creds["SecretKey"], key_time, policy),
              "Content-Type": "text/x-form", "success_action_status": "201"}
    r = post_form(server, cos_bucket, fields, b"form data")
    assert r.status_code == 201, r.text
    assert r.headers["ETag"] == '"%s"' % hashlib.md5(b"form data").hexdigest()
    assert r.headers["Location"].endswith("/uploads/f.bin")
    assert ET.fromstring(r.content).findtext("Key") == "uploads/f.bin"
    assert cos.head_object(Bucket=cos_bucket, Key="uploads/f.bin")["Content-Type"] == "text/x-form"
    r = post_form(server, cos_bucket, dict(fields, success_action_status="", key="elsewhere/x"), b"x")
    assert r.status_code == 403 and "<Code>AccessDenied</Code>" in r.text
    r = post_form(server, cos_bucket, dict(fields, success_action_status=""), b"x" * 2)
    assert r.status_code == 204


def test_temporary_credentials_scoped_to_alice(server, cos, cos_bucket, tmp_path):
    appid = server.tencent["AppId"]
    alice = cos_client(server, temp_creds(server.issue_tencent(alice_cam_policy(cos_bucket, appid), 900)))
    alice.put_object(Bucket=cos_bucket, Key="users/alice/a.txt", Body=b"a")
    assert alice.get_object(Bucket=cos_bucket, Key="users/alice/a.txt")["Body"].get_raw_stream().read() == b"a"
    listed = alice.list_objects(Bucket=cos_bucket, Prefix="users/alice/")
    assert [o["Key"] for o in listed["Contents"]] == ["users/alice/a.txt"]
    src = tmp_path / "mp.bin"
    src.write_bytes(os.urandom(2 * MIB + 7))
    alice.upload_file(Bucket=cos_bucket, Key="users/alice/mp.bin", LocalFilePath=str(src), PartSize=1)
    alice.delete_objects(Bucket=cos_bucket, Delete={"Object": [{"Key": "users/alice/mp.bin"}], "Quiet": "true"})
    cos.put_object(Bucket=cos_bucket, Key="users/alicex/secret", Body=b"s")
    refusals = [
        lambda: alice.put_object(Bucket=cos_bucket, Key="users/alicex/b.txt", Body=b"b"),
        lambda: alice.get_object(Bucket=cos_bucket, Key="users/alicex/secret"),
        lambda: alice.list_objects(Bucket=cos_bucket, Prefix="users/alicex/"),
        lambda: alice.list_objects(Bucket=cos_bucket),
        lambda: alice.delete_objects(Bucket=cos_bucket, Delete={"Object": [{"Key": "users/alicex/secret"}]}),
        lambda: alice.copy_object(Bucket=cos_bucket, Key="users/alice/stolen",
                                  CopySource={"Bucket": cos_bucket, "Key": "users/alicex/secret", "Region": REGION}),
        lambda: alice.list_buckets(),
        lambda: alice.delete_bucket(Bucket=cos_bucket),
    ]
    for refused in refusals:
        with pytest.raises(CosServiceError) as e:
            refused()
        service_error(e, 403, "AccessDenied")
    assert cos.get_object(Bucket=cos_bucket, Key="users/alicex/secret")["Body"].get_raw_stream().read() == b"s"


def test_credential_errors(server, cos_bucket):
    appid = server.tencent["AppId"]
    policy = alice_cam_policy(cos_bucket, appid)
    good = temp_creds(server.issue_tencent(policy, 900))

    def attempt(creds):
        with pytest.raises(CosServiceError) as e:
            cos_client(server, creds).put_object(Bucket=cos_bucket, Key="users/alice/x", Body=b"x")
        return e

    service_error(attempt(dict(good, SecretKey="wrong")), 403, "SignatureDoesNotMatch")
    service_error(attempt(dict(root_creds(server), SecretKey="wrong")), 403, "SignatureDoesNotMatch")
    tampered = good["Token"][:-4] + ("AAAA" if not good["Token"].endswith("AAAA") else "BBBB")
    service_error(attempt(dict(good, Token=tampered)), 403, "InvalidAccessKeyId")
    other = temp_creds(server.issue_tencent(policy, 900))
    service_error(attempt(dict(good, Token=other["Token"])), 403, "InvalidAccessKeyId")
    service_error(attempt(dict(good, Token=None)), 403, "InvalidAccessKeyId")
    service_error(attempt({"SecretId": "AKIDunknown", "SecretKey": "x", "Token": None}), 403, "InvalidAccessKeyId")
    expired = temp_creds(server.issue_tencent(policy, 1))
    time.sleep(2)
    service_error(attempt(expired), 403, "AccessDenied")


@pytest.mark.parametrize("shift", [-20000, 20000])
def test_signatures_outside_their_window(server, cos_bucket, monkeypatch, shift):
    """The SDK signs now-60;now+10000 with its own clock: shift that clock past either end."""
    import qcloud_cos.cos_auth as cos_auth
    real = time.time
    monkeypatch.setattr(cos_auth.time, "time", lambda: real() + shift)
    with pytest.raises(CosServiceError) as e:
        cos_client(server, root_creds(server)).put_object(Bucket=cos_bucket, Key="skew", Body=b"x")
    assert "Request has expired" in service_error(e, 403, "AccessDenied").get_error_msg()


def test_raw_requests_signed_by_hand(server, cos_bucket):
    """Header and query forms of the same signature, an unsigned param, an empty header."""
    creds = root_creds(server)
    host = bucket_host(cos_bucket)
    base = f"http://127.0.0.1:{server.cos_port}"
    auth = q_sign(creds["SecretId"], creds["SecretKey"], "PUT", "/raw.txt", headers={"host": host})
    r = requests.put(f"{base}/raw.txt", data=b"raw", headers={"Host": host, "Authorization": auth, "Cache-Control": ""})
    assert r.status_code == 200, r.text
    auth = q_sign(creds["SecretId"], creds["SecretKey"], "GET", "/raw.txt", headers={"host": host})
    r = requests.get(f"{base}/raw.txt?unsigned=1", headers={"Host": host, "Authorization": auth})
    assert r.content == b"raw"
    past = int(time.time()) - 1000
    stale = q_sign(creds["SecretId"], creds["SecretKey"], "GET", "/raw.txt", headers={"host": host},
                   start=past - 100, end=past)
    r = requests.get(f"{base}/raw.txt", headers={"Host": host, "Authorization": stale})
    assert r.status_code == 403 and "<Code>AccessDenied</Code>" in r.text and "Request has expired" in r.text


@pytest.mark.parametrize("header,value", [
    ("x-cos-server-side-encryption-customer-algorithm", "AES256"),
    ("x-cos-traffic-limit", "819200"),
    ("x-cos-website-redirect-location", "/elsewhere"),
    ("x-cos-object-lock-mode", "COMPLIANCE"),
])
def test_headers_the_cos_face_does_not_act_on_are_refused(cos, cos_bucket, header, value):
    """Never accept and drop: an x-cos-* header the store does not act on is 400 NotImplemented
    naming it, and nothing is written."""
    with pytest.raises(CosServiceError) as e:
        cos.put_object(Bucket=cos_bucket, Key="refused.txt", Body=b"x", **{"Metadata": {header: value}})
    assert header in service_error(e, 400, "NotImplemented").get_error_msg()
    with pytest.raises(CosServiceError) as e:
        cos.head_object(Bucket=cos_bucket, Key="refused.txt")
    service_error(e, 404, "NoSuchResource")
    # What it does act on still passes.
    cos.put_object(Bucket=cos_bucket, Key="kept.txt", Body=b"x", StorageClass="STANDARD_IA",
                   Metadata={"x-cos-meta-a": "1"})


def test_form_fields_the_cos_face_does_not_act_on_are_refused(server, cos, cos_bucket):
    creds = root_creds(server)
    now = int(time.time())
    key_time = f"{now - 60};{now + 600}"
    policy = post_policy(cos_bucket, "uploads/", creds["SecretId"], key_time)
    fields = {"key": "uploads/x.bin", "policy": base64.b64encode(policy.encode()).decode(),
              "q-sign-algorithm": "sha1", "q-ak": creds["SecretId"], "q-key-time": key_time,
              "q-signature": post_form_signature(creds["SecretKey"], key_time, policy),
              "x-cos-traffic-limit": "819200"}
    r = post_form(server, cos_bucket, fields, b"x")
    assert r.status_code == 400 and "<Code>NotImplemented</Code>" in r.text, r.text
    assert "x-cos-traffic-limit" in r.text
    with pytest.raises(CosServiceError) as e:
        cos.head_object(Bucket=cos_bucket, Key="uploads/x.bin")
    service_error(e, 404, "NoSuchResource")
