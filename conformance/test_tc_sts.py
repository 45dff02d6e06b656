"""The tc-sts face (Tencent STS 2018-08-13) against the real Tencent STS SDKs.

* tencentcloud-sdk-python-sts 3.0.1459 on tencentcloud-sdk-python-common 3.1.195: TC3-HMAC-SHA256
  (POST JSON and GET query, the default), and the legacy signature with
  `signMethod='HmacSHA1'|'HmacSHA256'` (form POST and GET query). `HttpProfile` takes only
  host:port, so requests arrive at `/`.
* qcloud-python-sts 3.1.6 (what COS apps use to mint upload keys): the legacy HmacSHA1 form POST,
  pointed at the face with `url`, signing `domain` (default sts.tencentcloudapi.com). `region` is
  always passed (NOTES §0.6: without it the SDK signs `Region=None` but does not send it).

The SDKs are the judge of the success paths; error codes are read from their exceptions. Time and
nonces are shifted by monkeypatching the SDKs' own `time`/`random` modules.
"""

import json
import random
import subprocess
import time
import types
import urllib.parse
import uuid

import pytest
import requests
from sts.sts import Sts
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sts.v20180813 import models, sts_client

REGION = "ap-guangzhou"


def root(server):
    r = server.root
    return r["TencentSecretId"], r["TencentSecretKey"]


def uin(server):
    return server.root["TencentUin"]


def app_role(server):
    return f"qcs::cam::uin/{uin(server)}:roleName/app"


def cos_policy(server, prefix="dir/*"):
    app_id = server.root["TencentAppId"]
    return {
        "version": "2.0",
        "statement": [{
            "effect": "allow",
            "action": ["name/cos:PutObject", "name/cos:GetObject"],
            "resource": [f"qcs::cos:{REGION}:uid/{app_id}:examplebucket-{app_id}/{prefix}"],
        }],
    }


# ---- tencentcloud-sdk-python-sts ------------------------------------------------------------
def tc_client(server, method="POST", sign=None, sid=None, skey=None, token=None):
    rid, rkey = root(server)
    hp = HttpProfile(protocol="http", endpoint=f"127.0.0.1:{server.tc_sts_port}", reqMethod=method)
    cp = ClientProfile(httpProfile=hp, signMethod=sign) if sign else ClientProfile(httpProfile=hp)
    cred = credential.Credential(sid or rid, skey or rkey, token)
    return sts_client.StsClient(cred, REGION, cp)


def federation(client, name="alice", policy=None, duration=None, server=None):
    req = models.GetFederationTokenRequest()
    req.Name = name
    req.Policy = urllib.parse.quote(json.dumps(policy or cos_policy(server)))
    if duration is not None:
        req.DurationSeconds = duration
    return client.GetFederationToken(req)


def assume(client, role_arn, session="s1", duration=None, policy=None):
    req = models.AssumeRoleRequest()
    req.RoleArn = role_arn
    req.RoleSessionName = session
    if duration is not None:
        req.DurationSeconds = duration
    if policy is not None:
        req.Policy = urllib.parse.quote(json.dumps(policy))
    return client.AssumeRole(req)


def identity(client):
    return client.GetCallerIdentity(models.GetCallerIdentityRequest())


def shifted_time(offset):
    """A stand-in for an SDK's `time` module whose clock is `offset` seconds off."""
    names = {k: getattr(time, k) for k in dir(time) if not k.startswith("_")}
    return types.SimpleNamespace(**dict(names, time=lambda: time.time() + offset))


def sdk_error(fn):
    with pytest.raises(TencentCloudSDKException) as e:
        fn()
    assert e.value.get_request_id(), e.value
    return e.value.get_code(), e.value.get_message()


def temporary(server, resp, **kwargs):
    c = resp.Credentials
    return tc_client(server, sid=c.TmpSecretId, skey=c.TmpSecretKey, token=c.Token, **kwargs)


def check_credentials(resp, duration):
    c = resp.Credentials
    assert c.TmpSecretId.startswith("AKID") and len(c.TmpSecretKey) == 32, resp.to_json_string()
    assert c.Token.startswith("TCST")
    assert all(ch.isalnum() or ch in "-_" for ch in c.Token), "URL-safe tokens (NOTES §0.9)"
    assert abs(resp.ExpiredTime - int(time.time()) - duration) <= 5
    assert time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(resp.ExpiredTime)) == resp.Expiration
    assert resp.RequestId


STYLES = [("POST", None), ("GET", None), ("POST", "HmacSHA1"), ("POST", "HmacSHA256"),
          ("GET", "HmacSHA1"), ("GET", "HmacSHA256")]
STYLE_IDS = ["tc3-post", "tc3-get", "v1-post-sha1", "v1-post-sha256", "v1-get-sha1", "v1-get-sha256"]


@pytest.mark.parametrize("method,sign", STYLES, ids=STYLE_IDS)
def test_tencentcloud_sdk_every_wire_style(server, method, sign):
    client = tc_client(server, method, sign)
    check_credentials(federation(client, server=server, duration=900), 900)
    resp = assume(client, app_role(server), session=f"s-{method}")
    check_credentials(resp, 3600)  # role app's maximum session
    me = identity(temporary(server, resp, method=method, sign=sign))
    assert (me.Type, me.AccountId) == ("CAMRole", uin(server))
    assert me.UserId.endswith(f":s-{method}")
    me = identity(client)
    assert (me.Type, me.Arn) == ("CAMUser", f"qcs::cam:{uin(server)}:uin/{uin(server)}")


def test_tencentcloud_sdk_federated_identity_and_temp_key_refusal(server):
    resp = federation(tc_client(server), name="bob", server=server)
    fed = temporary(server, resp)
    me = identity(fed)
    assert (me.Type, me.UserId) == ("CAMUser", f"{uin(server)}:bob")
    assert me.Arn == f"qcs::sts:{uin(server)}:federated-user/{uin(server)}"
    code, _ = sdk_error(lambda: federation(fed, server=server))
    assert code == "FailedOperation.TempKeyNotAllowed"


def test_tencentcloud_sdk_role_chaining(server):
    grant = {"version": "2.0", "statement": [
        {"effect": "allow", "action": "name/sts:AssumeRole", "resource": app_role(server)}]}
    first = assume(tc_client(server), app_role(server), duration=600, policy=grant)
    second = assume(temporary(server, first), app_role(server), session="hop", duration=3600)
    assert second.ExpiredTime <= first.ExpiredTime, "chained credentials never outlive their caller"
    cos_only = assume(tc_client(server), app_role(server), policy=cos_policy(server))
    code, message = sdk_error(lambda: assume(temporary(server, cos_only), app_role(server)))
    assert code == "UnauthorizedOperation" and "sts:AssumeRole" in message


# ---- signature, token and clock errors ----------------------------------------------------
@pytest.mark.parametrize("method,sign", STYLES, ids=STYLE_IDS)
def test_wrong_secret_and_unknown_secret_id(server, method, sign):
    rid, _ = root(server)
    code, message = sdk_error(lambda: identity(tc_client(server, method, sign, rid, "wrong-secret")))
    assert code == "AuthFailure.SignatureFailure", message
    code, _ = sdk_error(lambda: identity(tc_client(server, method, sign, "AKIDnosuchkey", "x")))
    assert code == "AuthFailure.SecretIdNotFound"


def test_expired_and_tampered_tokens(server):
    resp = assume(tc_client(server), app_role(server), duration=1)
    c = resp.Credentials
    i = len(c.Token) // 2
    tampered = c.Token[:i] + ("A" if c.Token[i] != "A" else "B") + c.Token[i + 1:]
    code, message = sdk_error(lambda: identity(
        tc_client(server, sid=c.TmpSecretId, skey=c.TmpSecretKey, token=tampered)))
    assert code == "AuthFailure.TokenFailure" and "altered" in message, message
    time.sleep(max(0.0, resp.ExpiredTime - time.time()) + 1.1)
    for sign in (None, "HmacSHA1"):
        code, message = sdk_error(lambda: identity(temporary(server, resp, sign=sign)))
        assert code == "AuthFailure.TokenFailure" and "expired" in message, message


def extra_key(server, name):
    """A fresh `stsgate key create` key: (SecretId, SecretKey)."""
    out = subprocess.run([server.bin, "key", "create", "--data", str(server.data_dir), "--name", name],
                         capture_output=True, env=server.env, timeout=60)
    assert out.returncode == 0, out.stderr.decode(errors="replace")
    created = json.loads(out.stdout)
    return created["AccessKeyId"], created["AccessKeySecret"]


def test_an_extra_key_is_a_sub_account(server):
    sid, skey = extra_key(server, f"tc-{uuid.uuid4().hex[:8]}")
    client = tc_client(server, sid=sid, skey=skey)
    check_credentials(federation(client, server=server, duration=129600), 129600)
    me = identity(client)
    assert me.Type == "CAMUser" and me.UserId != uin(server) and me.AccountId == uin(server)
    code, message = sdk_error(lambda: assume(client, app_role(server)))
    assert code == "UnauthorizedOperation" and "stsgate role trust" in message, message


def test_revoking_a_key_revokes_its_whole_chain(server):
    sid, skey = extra_key(server, f"tc-{uuid.uuid4().hex[:8]}")
    resp = federation(tc_client(server, sid=sid, skey=skey), server=server)
    assert identity(temporary(server, resp)).Type == "CAMUser"
    r = requests.post(f"{server.api_endpoint}/v1/revoke", json={"caller": f"tc-sts:{sid}"},
                      headers={"Authorization": f"Bearer {server.root['OperatorKey']}"}, timeout=30)
    assert r.status_code == 200, r.text
    code, message = sdk_error(lambda: identity(temporary(server, resp)))
    assert code == "AuthFailure.TokenFailure" and "revoked" in message, message


@pytest.mark.parametrize("sign", [None, "HmacSHA256"], ids=["tc3", "v1"])
def test_clock_skew(server, monkeypatch, sign):
    import tencentcloud.common.abstract_client as abstract_client
    client = tc_client(server, sign=sign)
    for skew in (-306, 306):
        monkeypatch.setattr(abstract_client, "time", shifted_time(skew))
        code, message = sdk_error(lambda: identity(client))
        assert code == "AuthFailure.SignatureExpire", message
    monkeypatch.setattr(abstract_client, "time", shifted_time(-200))
    assert identity(client).Type == "CAMUser", "inside the 300 s window"


# ---- parameters -----------------------------------------------------------------------------
def test_parameter_errors(server):
    client = tc_client(server)
    policy = cos_policy(server)
    cases = [
        (lambda: federation(client, name="a", server=server), "InvalidParameter.ParamError"),
        (lambda: federation(client, duration=7201, server=server), "InvalidParameter.OverTimeError"),
        (lambda: federation(client, policy={"version": "2.0"}), "InvalidParameter.StrategyFormatError"),
        (lambda: federation(client, policy=cos_policy(server, "d" * 2100 + "/*")), "InvalidParameter.PolicyTooLong"),
        (lambda: assume(client, "qcs::cam::uin/1:roleName/app"), "ResourceNotFound.RoleNotFound"),
        (lambda: assume(client, f"qcs::cam::uin/{uin(server)}:roleName/nope"), "ResourceNotFound.RoleNotFound"),
        (lambda: assume(client, "acs:ram::1:role/app"), "InvalidParameter.ParamError"),
        (lambda: assume(client, app_role(server), session="x"), "InvalidParameter.ParamError"),
        (lambda: assume(client, app_role(server), duration=3601), "InvalidParameter.OverTimeError"),
        (lambda: assume(client, app_role(server), policy={"version": "2.0", "statement": [
            {"effect": "allow", "action": "name/cos:GetObject", "resource": "*",
             "condition": {"string_equal": {"cos:content-type": "x"}}}]}), "InvalidParameter.StrategyFormatError"),
    ]
    for fn, expected in cases:
        code, message = sdk_error(fn)
        assert code == expected, message
        assert message


def test_raw_error_shape(server, http):
    r = http.put(f"{server.tc_sts_endpoint}/")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    body = r.json()["Response"]
    assert set(body) == {"Error", "RequestId"} and set(body["Error"]) == {"Code", "Message"}
    assert body["Error"]["Code"] == "UnsupportedProtocol"


# ---- qcloud-python-sts (legacy HmacSHA1 form POST) ----------------------------------------------
def qcloud(server, **extra):
    rid, rkey = root(server)
    app_id = server.root["TencentAppId"]
    config = {
        "secret_id": rid, "secret_key": rkey, "duration_seconds": 1800, "region": REGION,
        "url": f"{server.tc_sts_endpoint}/",
        "bucket": f"examplebucket-{app_id}", "allow_prefix": ["dir/*"],
        "allow_actions": ["name/cos:PutObject", "name/cos:GetObject"],
    }
    config.update(extra)
    return Sts(config)


def qcloud_error(fn):
    with pytest.raises(Exception) as e:
        fn()
    return str(e.value.args[0])


@pytest.mark.parametrize("domain", [None, "own"], ids=["signs-sts.tencentcloudapi.com", "signs-host-header"])
def test_qcloud_sts_get_credential(server, domain):
    extra = {"domain": f"127.0.0.1:{server.tc_sts_port}"} if domain else {}
    r = qcloud(server, **extra).get_credential()
    c = r["credentials"]
    assert c["tmpSecretId"].startswith("AKID") and c["sessionToken"].startswith("TCST"), r
    assert r["expiredTime"] - r["startTime"] == 1800
    # The credentials work with the other SDK (TC3): a federated user named cos-sts-python.
    me = tc_client(server, sid=c["tmpSecretId"], skey=c["tmpSecretKey"], token=c["sessionToken"])
    assert identity(me).UserId == f"{uin(server)}:cos-sts-python"
    rows = requests.get(f"{server.api_endpoint}/v1/audit", params={"outcome": "assumed", "limit": 1000},
                        headers={"Authorization": f"Bearer {server.root['OperatorKey']}"}, timeout=10)
    assert rows.status_code == 200, rows.text
    mine = [x for x in rows.json()["records"] if x["access_key_id"] == c["tmpSecretId"]]
    assert len(mine) == 1, rows.text
    assert "Action=GetFederationToken Name=cos-sts-python Caller=root" in mine[0]["detail"]


def test_qcloud_sts_get_role_credential(server):
    r = qcloud(server, duration_seconds=900).get_role_credential(app_role(server))
    assert r["expiredTime"] - r["startTime"] == 900
    assert r["credentials"]["sessionToken"].startswith("TCST")


def test_qcloud_sts_errors(server):
    message = qcloud_error(lambda: qcloud(server, secret_key="wrong").get_credential())
    assert "AuthFailure.SignatureFailure" in message
    message = qcloud_error(lambda: qcloud(server, domain="sts.example.com").get_credential())
    assert "AuthFailure.SignatureFailure" in message and "sts.tencentcloudapi.com" in message
    message = qcloud_error(lambda: qcloud(server, duration_seconds=7201).get_credential())
    assert "InvalidParameter.OverTimeError" in message


def test_qcloud_sts_clock_skew(server, monkeypatch):
    import sts.sts as qsts
    monkeypatch.setattr(qsts, "time", shifted_time(-400))
    assert "AuthFailure.SignatureExpire" in qcloud_error(lambda: qcloud(server).get_credential())


def test_qcloud_sts_reused_nonce_is_refused(server, monkeypatch):
    import sts.sts as qsts
    nonce = random.randint(100000, 200000)
    monkeypatch.setattr(qsts, "random", types.SimpleNamespace(randint=lambda a, b: nonce))
    frozen = time.time()
    monkeypatch.setattr(qsts, "time", shifted_time(0))
    monkeypatch.setattr(qsts.time, "time", lambda: frozen)
    client = qcloud(server)
    assert client.get_credential()["credentials"]["sessionToken"]
    message = qcloud_error(client.get_credential)
    assert "AuthFailure.InvalidAuthorization" in message and "replay" in message, message
    # Tencent pairs the Nonce with the Timestamp: the same Nonce a second later is a new request.
    monkeypatch.setattr(qsts.time, "time", lambda: frozen + 1)
    assert client.get_credential()["credentials"]["sessionToken"]
