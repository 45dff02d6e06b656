"""PostObject (browser form upload), policy and signature built by hand per spec §6."""

import datetime as dt
import xml.etree.ElementTree as ET

import oss2
import pytest
import requests

from helpers import (alice_policy, assert_oss_error, md5_hex_upper, post_policy_b64, post_v1_signature,
                     post_v4_signature)


def post(server, bucket_name, fields, file_body, filename="upload.bin"):
    # requests sends `data` fields first and `files` last: `file` must be the last field.
    return requests.post(f"{server.endpoint}/{bucket_name}/", data=fields,
                         files={"file": (filename, file_body, "application/octet-stream")})


def v1_fields(ak, secret, key, conditions, expiration=None, extra=None):
    policy = post_policy_b64(conditions, expiration)
    fields = {"key": key, "OSSAccessKeyId": ak, "policy": policy, "Signature": post_v1_signature(secret, policy)}
    fields.update(extra or {})
    return fields


@pytest.fixture
def root_keys(server):
    r = server.root
    return r["AccessKeyId"], r["AccessKeySecret"]


def base_conditions(bucket_name):
    return [{"bucket": bucket_name}, ["starts-with", "$key", "uploads/"], ["content-length-range", 1, 1024]]


def test_post_v1_default_204(server, bucket, root_keys):
    ak, sk = root_keys
    r = post(server, bucket.bucket_name, v1_fields(ak, sk, "uploads/a.txt", base_conditions(bucket.bucket_name)),
             b"posted body")
    assert r.status_code == 204, r.text
    assert r.headers["ETag"] == f'"{md5_hex_upper(b"posted body")}"'
    assert bucket.get_object("uploads/a.txt").read() == b"posted body"


def test_post_v1_201_xml_and_meta(server, bucket, root_keys):
    ak, sk = root_keys
    conds = base_conditions(bucket.bucket_name) + [{"success_action_status": "201"},
                                                   ["eq", "$x-oss-meta-owner", "alice"]]
    fields = v1_fields(ak, sk, "uploads/b.txt", conds,
                       extra={"success_action_status": "201", "x-oss-meta-owner": "alice",
                              "Content-Type": "text/plain"})
    r = post(server, bucket.bucket_name, fields, b"xml please")
    assert r.status_code == 201, r.text
    root = ET.fromstring(r.content)
    assert root.tag == "PostResponse"
    assert root.findtext("Bucket") == bucket.bucket_name
    assert root.findtext("Key") == "uploads/b.txt"
    assert root.findtext("ETag").strip('"') == md5_hex_upper(b"xml please")
    got = bucket.get_object("uploads/b.txt")
    assert got.read() == b"xml please"
    assert got.headers["x-oss-meta-owner"] == "alice"
    assert got.content_type == "text/plain"


def test_post_v1_200(server, bucket, root_keys):
    ak, sk = root_keys
    fields = v1_fields(ak, sk, "uploads/c.txt", base_conditions(bucket.bucket_name),
                       extra={"success_action_status": "200"})
    r = post(server, bucket.bucket_name, fields, b"ok")
    assert r.status_code == 200, r.text


def test_post_filename_substitution(server, bucket, root_keys):
    ak, sk = root_keys
    r = post(server, bucket.bucket_name,
             v1_fields(ak, sk, "uploads/${filename}", base_conditions(bucket.bucket_name)), b"named",
             filename="photo.jpg")
    assert r.status_code == 204, r.text
    assert bucket.get_object("uploads/photo.jpg").read() == b"named"


def test_post_starts_with_violation(server, bucket, root_keys):
    ak, sk = root_keys
    r = post(server, bucket.bucket_name, v1_fields(ak, sk, "elsewhere/a.txt", base_conditions(bucket.bucket_name)),
             b"x")
    assert_oss_error(r, 403, "AccessDenied", "Invalid according to Policy")
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.get_object("elsewhere/a.txt")


def test_post_content_length_range(server, bucket, root_keys):
    ak, sk = root_keys
    fields = v1_fields(ak, sk, "uploads/big.bin", base_conditions(bucket.bucket_name))
    assert_oss_error(post(server, bucket.bucket_name, fields, b"x" * 2000), 400, "EntityTooLarge")
    assert_oss_error(post(server, bucket.bucket_name, fields, b""), 400, "EntityTooSmall")
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.get_object("uploads/big.bin")


def test_post_eq_violation(server, bucket, root_keys):
    ak, sk = root_keys
    conds = base_conditions(bucket.bucket_name) + [["eq", "$x-oss-meta-owner", "alice"]]
    r = post(server, bucket.bucket_name, v1_fields(ak, sk, "uploads/eq.txt", conds, extra={"x-oss-meta-owner": "bob"}),
             b"x")
    assert_oss_error(r, 403, "AccessDenied", "Invalid according to Policy")


def test_post_bucket_condition_violation(server, bucket, root_keys):
    ak, sk = root_keys
    conds = [{"bucket": "some-other-bucket"}, ["starts-with", "$key", "uploads/"]]
    r = post(server, bucket.bucket_name, v1_fields(ak, sk, "uploads/x.txt", conds), b"x")
    assert_oss_error(r, 403, "AccessDenied", "Invalid according to Policy")


def test_post_expired_policy(server, bucket, root_keys):
    ak, sk = root_keys
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    r = post(server, bucket.bucket_name,
             v1_fields(ak, sk, "uploads/late.txt", base_conditions(bucket.bucket_name), expiration=past), b"x")
    assert_oss_error(r, 403, "AccessDenied", "Policy expired")


def test_post_bad_signature(server, bucket, root_keys):
    ak, sk = root_keys
    fields = v1_fields(ak, sk + "x", "uploads/sig.txt", base_conditions(bucket.bucket_name))
    r = post(server, bucket.bucket_name, fields, b"x")
    assert_oss_error(r, 403, "SignatureDoesNotMatch")


def test_post_not_multipart(server, bucket):
    r = requests.post(f"{server.endpoint}/{bucket.bucket_name}/", data=b"key=a",
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_oss_error(r, 400, "RequestIsNotMultiPartContent")


def test_post_with_temporary_credentials(server, bucket):
    issued = server.issue(alice_policy(bucket.bucket_name), duration=900)
    c = issued["Credentials"]
    conds = [{"bucket": bucket.bucket_name}, ["starts-with", "$key", "users/"]]
    token = {"x-oss-security-token": c["SecurityToken"]}
    ok = v1_fields(c["AccessKeyId"], c["AccessKeySecret"], "users/alice/post.txt", conds, extra=token)
    r = post(server, bucket.bucket_name, ok, b"from alice")
    assert r.status_code == 204, r.text
    assert bucket.get_object("users/alice/post.txt").read() == b"from alice"
    # The form policy allows users/ but the RAM policy does not allow bob's prefix.
    bob = v1_fields(c["AccessKeyId"], c["AccessKeySecret"], "users/bob/post.txt", conds, extra=token)
    assert_oss_error(post(server, bucket.bucket_name, bob, b"x"), 403, "AccessDenied")
    # Without the token the STS key is unknown.
    no_token = v1_fields(c["AccessKeyId"], c["AccessKeySecret"], "users/alice/nt.txt", conds)
    assert_oss_error(post(server, bucket.bucket_name, no_token, b"x"), 403, "InvalidAccessKeyId")


def test_post_v4(server, bucket, root_keys):
    ak, sk = root_keys
    now = dt.datetime.now(dt.timezone.utc)
    day, stamp = now.strftime("%Y%m%d"), now.strftime("%Y%m%dT%H%M%SZ")
    credential = f"{ak}/{day}/cn-hangzhou/oss/aliyun_v4_request"
    conds = [{"bucket": bucket.bucket_name}, ["starts-with", "$key", "v4/"],
             {"x-oss-signature-version": "OSS4-HMAC-SHA256"}, {"x-oss-credential": credential},
             {"x-oss-date": stamp}]
    policy = post_policy_b64(conds)
    fields = {"key": "v4/post.txt", "policy": policy, "x-oss-signature-version": "OSS4-HMAC-SHA256",
              "x-oss-credential": credential, "x-oss-date": stamp,
              "x-oss-signature": post_v4_signature(sk, day, policy)}
    r = post(server, bucket.bucket_name, fields, b"v4 form")
    assert r.status_code == 204, r.text
    assert bucket.get_object("v4/post.txt").read() == b"v4 form"
    fields["x-oss-signature"] = post_v4_signature(sk + "x", day, policy)
    fields["key"] = "v4/bad.txt"
    assert_oss_error(post(server, bucket.bucket_name, fields, b"x"), 403, "SignatureDoesNotMatch")
