"""`POST /v1/revoke` with real clients: alice uploads with oss2, the operator revokes her, and
within about a second oss2 gets a 403 (`InvalidSecurityToken`, message saying the credentials were
revoked); bob is unaffected; revoking one access key id stops only that credential."""

import json
import time
import uuid

import oss2
import pytest
import requests

from conftest import REGION

GRANT = "user-folder"


def creds_for(server, token):
    r = requests.get(f"{server.api_endpoint}/v1/credentials", params={"grant": GRANT},
                     headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def user_bucket(server, creds):
    auth = oss2.StsAuth(creds["AccessKeyId"], creds["AccessKeySecret"], creds["SecurityToken"])
    return oss2.Bucket(auth, server.endpoint, "app", region=REGION)


def operator_key(server):
    return json.loads((server.data_dir / "root-credentials.json").read_text())["OperatorKey"]


def revoke(server, body, key=None):
    key = key or operator_key(server)
    return requests.post(f"{server.api_endpoint}/v1/revoke", json=body,
                         headers={"Authorization": f"Bearer {key}"}, timeout=30)


def refused_within(bucket, key, seconds=2.0):
    """Puts `key` until oss2 gets a 403; returns the error and how long it took."""
    start = time.monotonic()
    while True:
        try:
            bucket.put_object(key, b"still here")
        except oss2.exceptions.ServerError as e:
            assert e.status == 403, e
            return e, time.monotonic() - start
        assert time.monotonic() - start < seconds, "the revoked credentials still work"
        time.sleep(0.05)


def test_revoking_a_caller(server):
    run = uuid.uuid4().hex[:8]
    alice_sub, bob_sub = f"alice-{run}", f"bob-{run}"
    alice_tok, bob_tok = server.token(alice_sub), server.token(bob_sub)
    alice_creds = creds_for(server, alice_tok)
    alice = user_bucket(server, alice_creds)
    bob = user_bucket(server, creds_for(server, bob_tok))
    alice.put_object(f"users/{alice_sub}/a.txt", b"hello")
    bob.put_object(f"users/{bob_sub}/b.txt", b"hello")

    # A caller's JWT is not the operator key.
    r = revoke(server, {"caller": f"jwt:{alice_sub}"}, key=bob_tok)
    assert r.status_code == 403, r.text

    r = revoke(server, {"caller": f"jwt:{alice_sub}"})
    assert r.status_code == 200, r.text
    assert r.json()["revoked"] == {"caller": f"jwt:{alice_sub}"}

    err, took = refused_within(alice, f"users/{alice_sub}/a2.txt")
    assert err.code == "InvalidSecurityToken", err
    assert "revoked" in err.message, err
    assert took < 2.0
    with pytest.raises(oss2.exceptions.ServerError):
        alice.get_object(f"users/{alice_sub}/a.txt")

    # bob is unaffected.
    bob.put_object(f"users/{bob_sub}/b2.txt", b"fine")
    assert bob.get_object(f"users/{bob_sub}/b.txt").read() == b"hello"

    # The revocation is in the audit log.
    rows = requests.get(f"{server.api_endpoint}/v1/audit", params={"outcome": "revoked"},
                        headers={"Authorization": f"Bearer {operator_key(server)}"},
                        timeout=30).json()["records"]
    assert any(alice_sub in row["detail"] for row in rows), rows

    # Not a ban: after the revocation's second, alice gets new credentials that work.
    time.sleep(1.1)
    fresh = creds_for(server, alice_tok)
    assert fresh["AccessKeyId"] != alice_creds["AccessKeyId"]
    user_bucket(server, fresh).put_object(f"users/{alice_sub}/a3.txt", b"again")


def test_revoking_one_access_key_id(server):
    run = uuid.uuid4().hex[:8]
    carol_sub = f"carol-{run}"
    token = server.token(carol_sub)
    first = creds_for(server, token)
    carol = user_bucket(server, first)
    carol.put_object(f"users/{carol_sub}/c.txt", b"hello")

    r = revoke(server, {"access_key_id": first["AccessKeyId"]})
    assert r.status_code == 200, r.text
    err, _ = refused_within(carol, f"users/{carol_sub}/c2.txt")
    assert err.code == "InvalidSecurityToken" and "revoked" in err.message, err

    # Only that key: carol's next credentials are new and work at once.
    second = creds_for(server, token)
    assert second["AccessKeyId"] != first["AccessKeyId"]
    user_bucket(server, second).put_object(f"users/{carol_sub}/c3.txt", b"again")

    r = revoke(server, {"access_key_id": server.root["AccessKeyId"]})
    assert r.status_code == 400, r.text
    r = revoke(server, {})
    assert r.status_code == 400, r.text


def test_a_revoked_caller_is_refused_by_every_face(server):
    """Issue 14 item 7: the credentials of a revoked caller stop working on every face that
    accepts them: the oss face (oss2), the sts face (aliyun-python-sdk-core: GetCallerIdentity
    with the temporary credentials), the cos face (cos-python-sdk-v5) and the tc-sts face
    (tencentcloud-sdk-python-sts), each with its vendor's code."""
    from aliyunsdkcore.acs_exception.exceptions import ServerException
    from aliyunsdkcore.auth.credentials import StsTokenCredential
    from aliyunsdkcore.client import AcsClient
    from aliyunsdksts.request.v20150401.GetCallerIdentityRequest import GetCallerIdentityRequest
    from qcloud_cos.cos_exception import CosServiceError
    from tencentcloud.common import credential
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.sts.v20180813 import models, sts_client

    from cos_helpers import cos_client

    sub = f"dave-{uuid.uuid4().hex[:8]}"
    token = server.token(sub)
    ali = creds_for(server, token)
    r = requests.get(f"{server.api_endpoint}/v1/credentials", params={"grant": "cos-folder"},
                     headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert r.status_code == 200, r.text
    tc = r.json()
    tc = {"SecretId": tc["TmpSecretId"], "SecretKey": tc["TmpSecretKey"], "Token": tc["Token"]} \
        if "TmpSecretId" in tc else {"SecretId": tc["AccessKeyId"], "SecretKey": tc["AccessKeySecret"],
                                     "Token": tc["SecurityToken"]}

    def ali_identity():
        req = GetCallerIdentityRequest()
        req.set_endpoint(f"127.0.0.1:{server.sts_port}")
        req.set_protocol_type("http")
        req.set_accept_format("JSON")
        client = AcsClient(credential=StsTokenCredential(ali["AccessKeyId"], ali["AccessKeySecret"],
                                                         ali["SecurityToken"]), region_id=REGION)
        return json.loads(client.do_action_with_exception(req))

    def tc_identity():
        hp = HttpProfile(protocol="http", endpoint=f"127.0.0.1:{server.tc_sts_port}")
        cred = credential.Credential(tc["SecretId"], tc["SecretKey"], tc["Token"])
        client = sts_client.StsClient(cred, "ap-guangzhou", ClientProfile(httpProfile=hp))
        return client.GetCallerIdentity(models.GetCallerIdentityRequest())

    oss = user_bucket(server, ali)
    cos = cos_client(server, tc)
    cos_bucket = f"app-{server.tencent['AppId']}"
    oss.put_object(f"users/{sub}/a.txt", b"hello")
    cos.put_object(Bucket=cos_bucket, Key=f"users/{sub}/a.txt", Body=b"hello")
    assert ali_identity()["Arn"]
    assert tc_identity().Type

    r = revoke(server, {"caller": f"jwt:{sub}"})
    assert r.status_code == 200, r.text

    err, _ = refused_within(oss, f"users/{sub}/b.txt")
    assert err.code == "InvalidSecurityToken" and "revoked" in err.message, err
    with pytest.raises(ServerException) as e:
        ali_identity()
    assert e.value.get_http_status() in (400, 403), e.value
    # Answered as an expired token (apps fetch new credentials), the message says revoked.
    assert e.value.get_error_code() == "InvalidSecurityToken.Expired", e.value
    assert "revoked" in e.value.get_error_msg(), e.value
    with pytest.raises(CosServiceError) as e:
        cos.put_object(Bucket=cos_bucket, Key=f"users/{sub}/b.txt", Body=b"x")
    assert e.value.get_status_code() == 403, e.value
    assert "revoked" in e.value.get_error_msg(), e.value.get_error_msg()
    with pytest.raises(TencentCloudSDKException) as e:
        tc_identity()
    assert e.value.get_code() == "AuthFailure.TokenFailure" and "revoked" in e.value.get_message(), e.value
