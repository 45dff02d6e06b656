"""Safe by default: credentials from a grant cannot make objects public or change bucket settings,
on the embedded store, driven by the real SDKs (oss2 on the oss face, cos-python-sdk-v5 on the cos
face). The default grants name no `acl` action: a PUT with an ACL header, PutObjectAcl, the bucket's
ACL and CORS are all refused with AccessDenied, and nothing becomes readable anonymously. A grant
that names `acl` may set its own objects' ACLs, still never the bucket's."""

import uuid

import oss2
import pytest
import requests
from qcloud_cos.cos_exception import CosServiceError

from conftest import REGION, Server
from cos_helpers import cos_client


def creds(server, token, grant):
    r = requests.get(f"{server.api_endpoint}/v1/credentials", params={"grant": grant},
                     headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def oss_bucket(server, c):
    return oss2.Bucket(oss2.StsAuth(c["AccessKeyId"], c["AccessKeySecret"], c["SecurityToken"]),
                       server.endpoint, "app", region=REGION)


def tc_creds(c):
    if "TmpSecretId" in c:
        return {"SecretId": c["TmpSecretId"], "SecretKey": c["TmpSecretKey"], "Token": c["Token"]}
    return {"SecretId": c["AccessKeyId"], "SecretKey": c["AccessKeySecret"], "Token": c["SecurityToken"]}


def anonymous_get(url):
    return requests.get(url, timeout=30).status_code


def test_oss_grant_credentials_cannot_make_objects_public_or_touch_the_bucket(server):
    sub = f"erin-{uuid.uuid4().hex[:8]}"
    b = oss_bucket(server, creds(server, server.token(sub), "user-folder"))
    key = f"users/{sub}/photo.png"
    b.put_object(key, b"private")
    denied = [
        lambda: b.put_object(key, b"x", headers={"x-oss-object-acl": "public-read"}),
        lambda: b.put_object_acl(key, oss2.OBJECT_ACL_PUBLIC_READ),
        lambda: b.copy_object("app", key, key + ".copy", headers={"x-oss-object-acl": "public-read-write"}),
        lambda: b.init_multipart_upload(key + ".mp", headers={"x-oss-object-acl": "public-read"}),
        lambda: b.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ),
        lambda: b.put_bucket_cors(oss2.models.BucketCors([oss2.models.CorsRule(
            allowed_origins=["*"], allowed_methods=["GET"])])),
        lambda: b.delete_bucket_cors(),
    ]
    for call in denied:
        with pytest.raises(oss2.exceptions.AccessDenied):
            call()
    assert b.get_object(key).read() == b"private", "the refused PUT changed nothing"
    assert not b.object_exists(key + ".copy")
    assert anonymous_get(f"{server.endpoint}/app/{key}") == 403
    # The same credentials still do what the grant covers.
    b.put_object(key, b"still mine", headers={"x-oss-object-acl": ""})
    assert b.get_object(key).read() == b"still mine"


def test_cos_grant_credentials_cannot_make_objects_public_or_touch_the_bucket(server):
    sub = f"erin-{uuid.uuid4().hex[:8]}"
    cos = cos_client(server, tc_creds(creds(server, server.token(sub), "cos-folder")))
    bucket = f"app-{server.tencent['AppId']}"
    key = f"users/{sub}/photo.png"
    cos.put_object(Bucket=bucket, Key=key, Body=b"private")
    denied = [
        lambda: cos.put_object(Bucket=bucket, Key=key, Body=b"x", ACL="public-read"),
        lambda: cos.put_object_acl(Bucket=bucket, Key=key, ACL="public-read"),
        lambda: cos.create_multipart_upload(Bucket=bucket, Key=key + ".mp", ACL="public-read"),
        lambda: cos.put_bucket_acl(Bucket=bucket, ACL="public-read"),
        lambda: cos.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRule": [
            {"AllowedOrigin": "*", "AllowedMethod": "GET"}]}),
    ]
    for call in denied:
        with pytest.raises(CosServiceError) as e:
            call()
        assert e.value.get_status_code() == 403 and e.value.get_error_code() == "AccessDenied", \
            e.value.get_error_msg()
    assert cos.get_object(Bucket=bucket, Key=key)["Body"].get_raw_stream().read() == b"private"


def test_a_grant_naming_acl_may_set_its_objects_acl_but_never_the_buckets(tmp_path):
    work = tmp_path
    config = work / "acl.toml"
    config.write_text(
        '[[grant]]\nname = "public-avatars"\nbucket = "app"\nprefix = "avatars/${sub}/"\n'
        'actions = ["read", "write", "acl"]\n')
    srv = Server(work / "acl-data", log_dir=work, args=["--config", str(config)])
    srv.start()
    try:
        sub = f"fay-{uuid.uuid4().hex[:8]}"
        b = oss_bucket(srv, creds(srv, srv.token(sub), "public-avatars"))
        key = f"avatars/{sub}/me.png"
        b.put_object(key, b"smile", headers={"x-oss-object-acl": "public-read"})
        assert anonymous_get(f"{srv.endpoint}/app/{key}") == 200
        b.put_object_acl(key, oss2.OBJECT_ACL_PRIVATE)
        assert anonymous_get(f"{srv.endpoint}/app/{key}") == 403
        with pytest.raises(oss2.exceptions.AccessDenied):
            b.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ)
        with pytest.raises(oss2.exceptions.AccessDenied):
            b.put_object_acl("avatars/someone-else/me.png", oss2.OBJECT_ACL_PUBLIC_READ)
    finally:
        srv.stop()
