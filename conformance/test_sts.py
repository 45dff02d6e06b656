"""The sts face against the real STS SDKs.

* aliyun-python-sdk-sts 3.1.3 on aliyun-python-sdk-core 2.16.1: RPC signature v1, POST with every
  parameter in the query (and the empty `SignatureType=`).
* alibabacloud-sts20150401 1.2.0 on alibabacloud-tea-openapi 0.4.6: ACS3-HMAC-SHA256 by default,
  and RPC v1 with `signature_algorithm='v2'`.

The credentials they get are then used by the real `oss2` SDK against the oss face: allowed inside
the role policy ∩ session policy, refused outside it.
"""

import datetime
import json
import subprocess
import urllib.parse
import uuid

import oss2
import pytest
import requests
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.auth.credentials import StsTokenCredential
from aliyunsdkcore.client import AcsClient
from aliyunsdksts.request.v20150401.AssumeRoleRequest import AssumeRoleRequest
from aliyunsdksts.request.v20150401.GetCallerIdentityRequest import GetCallerIdentityRequest
from alibabacloud_sts20150401 import models as sts_models
from alibabacloud_sts20150401.client import Client as TeaStsClient
from alibabacloud_tea_openapi import models as open_api_models
from alibabacloud_tea_openapi.utils import Utils as TeaUtils

from conftest import REGION


def app_role(server):
    return f"acs:ram::{server.root['AccountId']}:role/app"


def alice_policy(bucket_name):
    return json.dumps({
        "Version": "1",
        "Statement": [{
            "Effect": "Allow",
            "Action": ["oss:PutObject", "oss:GetObject"],
            "Resource": [f"acs:oss:*:*:{bucket_name}/alice/*"],
        }],
    })


# ---- aliyun-python-sdk-core ---------------------------------------------------------------
def core_client(server, ak=None, secret=None, token=None):
    root = server.root
    ak, secret = ak or root["AccessKeyId"], secret or root["AccessKeySecret"]
    if token:
        return AcsClient(credential=StsTokenCredential(ak, secret, token), region_id=REGION)
    return AcsClient(ak, secret, REGION)


def core_call(server, request, client=None):
    request.set_endpoint(f"127.0.0.1:{server.sts_port}")
    request.set_protocol_type("http")
    request.set_accept_format("JSON")
    return json.loads((client or core_client(server)).do_action_with_exception(request))


def core_assume(server, role_arn=None, session="alice", duration=None, policy=None, client=None):
    req = AssumeRoleRequest()
    req.set_RoleArn(role_arn or app_role(server))
    req.set_RoleSessionName(session)
    if duration is not None:
        req.set_DurationSeconds(duration)
    if policy is not None:
        req.set_Policy(policy)
    return core_call(server, req, client)


def core_error(server, **kwargs):
    with pytest.raises(ServerException) as e:
        core_assume(server, **kwargs)
    return e.value


# ---- alibabacloud-sts20150401 (Tea) -------------------------------------------------------
def tea_client(server, ak=None, secret=None, token=None, algorithm=None):
    root = server.root
    config = open_api_models.Config(
        access_key_id=ak or root["AccessKeyId"],
        access_key_secret=secret or root["AccessKeySecret"],
        security_token=token,
        endpoint=f"127.0.0.1:{server.sts_port}",
        protocol="http",
        region_id=REGION,
    )
    if algorithm:
        config.signature_algorithm = algorithm
    return TeaStsClient(config)


def tea_assume(client, role_arn, session="alice", duration=None, policy=None):
    req = sts_models.AssumeRoleRequest(role_arn=role_arn, role_session_name=session,
                                       duration_seconds=duration, policy=policy)
    return client.assume_role(req).body.to_map()


def tea_error(fn):
    with pytest.raises(Exception) as e:
        fn()
    return getattr(e.value, "code", None), e.value


# ---- issued credentials work with oss2 exactly as the policies say --------------------------
def check_scoped(server, bucket, creds):
    c = creds["Credentials"]
    assert c["AccessKeyId"].startswith("STS.")
    assert datetime.datetime.strptime(c["Expiration"], "%Y-%m-%dT%H:%M:%SZ")
    auth = oss2.StsAuth(c["AccessKeyId"], c["AccessKeySecret"], c["SecurityToken"])
    scoped = server.bucket(bucket.bucket_name, auth=auth)
    scoped.put_object("alice/a.txt", b"hello")
    assert scoped.get_object("alice/a.txt").read() == b"hello"
    with pytest.raises(oss2.exceptions.AccessDenied):
        scoped.put_object("bob/a.txt", b"nope")
    bucket.put_object("alice/b.txt", b"x")
    with pytest.raises(oss2.exceptions.AccessDenied):
        scoped.delete_object("alice/b.txt")  # outside the session policy, inside the role's


def test_core_sdk_assume_role_then_oss2(server, bucket):
    creds = core_assume(server, duration=900, policy=alice_policy(bucket.bucket_name))
    assert creds["AssumedRoleUser"]["Arn"] == f"{app_role(server)}/alice"
    check_scoped(server, bucket, creds)


@pytest.mark.parametrize("algorithm", [None, "v2"], ids=["acs3", "rpc-v2"])
def test_tea_sdk_assume_role_then_oss2(server, bucket, algorithm):
    client = tea_client(server, algorithm=algorithm)
    creds = tea_assume(client, app_role(server), duration=900,
                       policy=alice_policy(bucket.bucket_name))
    check_scoped(server, bucket, creds)


def test_without_session_policy_the_role_policy_applies(server, bucket):
    creds = core_assume(server)
    c = creds["Credentials"]
    auth = oss2.StsAuth(c["AccessKeyId"], c["AccessKeySecret"], c["SecurityToken"])
    scoped = server.bucket(bucket.bucket_name, auth=auth)
    scoped.put_object("anything/x", b"1")
    scoped.delete_object("anything/x")


# ---- GetCallerIdentity ------------------------------------------------------------------
def test_get_caller_identity_root_and_assumed_role(server):
    account = server.root["AccountId"]
    me = core_call(server, GetCallerIdentityRequest())
    assert (me["IdentityType"], me["AccountId"]) == ("Account", account)
    me = tea_client(server).get_caller_identity().body
    assert (me.identity_type, me.account_id, me.arn) == ("Account", account, f"acs:ram::{account}:root")

    c = core_assume(server, session="carol")["Credentials"]
    sts_core = core_client(server, c["AccessKeyId"], c["AccessKeySecret"], c["SecurityToken"])
    me = core_call(server, GetCallerIdentityRequest(), sts_core)
    assert me["IdentityType"] == "AssumedRoleUser"
    assert me["Arn"] == f"acs:ram::{account}:assumed-role/app/carol"
    me = tea_client(server, c["AccessKeyId"], c["AccessKeySecret"], c["SecurityToken"]).get_caller_identity().body
    assert (me.identity_type, me.arn) == ("AssumedRoleUser", f"acs:ram::{account}:assumed-role/app/carol")
    assert me.principal_id.endswith(":carol")


# ---- signature and replay errors ------------------------------------------------------------
def test_wrong_secret(server):
    root = server.root
    # aliyun-python-sdk-core compares our "server string to sign is:<sts>" with its own and, when
    # they are equal (only the secret differs), reports InvalidAccessKeySecret.
    e = core_error(server, client=core_client(server, root["AccessKeyId"], "wrong-secret"))
    assert (e.get_http_status(), e.get_error_code()) == (400, "InvalidAccessKeySecret")
    for algorithm in (None, "v2"):
        client = tea_client(server, root["AccessKeyId"], "wrong-secret", algorithm=algorithm)
        code, err = tea_error(lambda: tea_assume(client, app_role(server)))
        assert code == "SignatureDoesNotMatch", err
    e = core_error(server, client=core_client(server, "LTAInosuchkey", "x"))
    assert (e.get_http_status(), e.get_error_code()) == (404, "InvalidAccessKeyId.NotFound")


def signed_rpc(server, action="GetCallerIdentity", **extra):
    root = server.root
    params = {
        "Action": action, "Version": "2015-04-01", "Format": "JSON",
        "AccessKeyId": root["AccessKeyId"], "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0", "SignatureNonce": uuid.uuid4().hex,
        "Timestamp": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **extra,
    }
    params["Signature"] = TeaUtils.get_rpcsignature(params, "POST", root["AccessKeySecret"])
    return f"{server.sts_endpoint}/?{urllib.parse.urlencode(params)}"


def test_reused_nonce_is_refused(server, http):
    url = signed_rpc(server)
    first = http.post(url)
    assert first.status_code == 200, first.text
    again = http.post(url)
    assert (again.status_code, again.json()["Code"]) == (400, "SignatureNonceUsed")


def test_stale_timestamp_and_xml_errors(server, http):
    old = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20))
    url = signed_rpc(server)
    url = url.replace("Timestamp=", "Timestamp=x")  # a changed param breaks the signature first
    r = http.post(url)
    assert r.json()["Code"] == "InvalidTimeStamp.Format"
    root = server.root
    params = {"Action": "GetCallerIdentity", "Version": "2015-04-01", "Format": "XML",
              "AccessKeyId": root["AccessKeyId"], "SignatureNonce": uuid.uuid4().hex,
              "Timestamp": old.strftime("%Y-%m-%dT%H:%M:%SZ")}
    params["Signature"] = TeaUtils.get_rpcsignature(params, "GET", root["AccessKeySecret"])
    r = http.get(f"{server.sts_endpoint}/", params=params)
    assert r.status_code == 400
    assert "<Code>InvalidTimeStamp.Expired</Code>" in r.text
    assert r.text.startswith("<?xml version='1.0' encoding='UTF-8'?><Error>")


def test_error_body_shape(server, http):
    r = http.post(signed_rpc(server, action="AssumeRole", RoleArn="bad", RoleSessionName="alice"))
    body = r.json()
    assert r.status_code == 400
    assert set(body) == {"RequestId", "HostId", "Code", "Message", "Recommend"}
    assert body["Code"] == "InvalidParameter.RoleArn"


# ---- parameter errors -----------------------------------------------------------------
BAD_PARAMS = [
    (dict(role_arn="acs:ram::123:role"), 400, "InvalidParameter.RoleArn"),
    (dict(session="a"), 400, "InvalidParameter.RoleSessionName"),
    (dict(session="alice smith"), 400, "InvalidParameter.RoleSessionName"),
    (dict(duration=899), 400, "InvalidParameter.DurationSeconds"),
    (dict(duration=3601), 400, "InvalidParameter.DurationSeconds"),
    (dict(policy='{"Version":"1","Statement":[{"Effect":"Maybe"}]}'), 400, "InvalidParameter.PolicyGrammar"),
    (dict(policy=json.dumps({"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": "oss:GetObject", "Resource": "acs:oss:*:*:" + "b" * 2100}]})),
     400, "InvalidParameter.PolicySize"),
]


@pytest.mark.parametrize("kwargs,status,code", BAD_PARAMS, ids=[c for _, _, c in BAD_PARAMS])
def test_bad_parameters_core_sdk(server, kwargs, status, code):
    e = core_error(server, **kwargs)
    assert (e.get_http_status(), e.get_error_code()) == (status, code), e.get_error_msg()


@pytest.mark.parametrize("kwargs,status,code", BAD_PARAMS, ids=[c for _, _, c in BAD_PARAMS])
def test_bad_parameters_tea_sdk(server, kwargs, status, code):
    client = tea_client(server)
    kwargs = dict(kwargs)
    role_arn = kwargs.pop("role_arn", app_role(server))
    got, err = tea_error(lambda: tea_assume(client, role_arn, **kwargs))
    assert got == code, err


def test_unknown_role(server):
    e = core_error(server, role_arn=f"acs:ram::{server.root['AccountId']}:role/nosuchrole")
    assert (e.get_http_status(), e.get_error_code()) == (404, "EntityNotExist.Role")
    code, _ = tea_error(lambda: tea_assume(tea_client(server), "acs:ram::999:role/app"))
    assert code == "EntityNotExist.Role"


def role_cli(server, *args):
    out = subprocess.run([server.bin, "role", *args, "--data", str(server.data_dir)],
                         capture_output=True, env=server.env, timeout=60)
    assert out.returncode == 0, out.stderr.decode(errors="replace")
    return out.stdout.decode()


def test_untrusted_key_gets_no_permission_then_role_cli_fixes_it(server, tmp_path):
    name = f"locked-{uuid.uuid4().hex[:8]}"
    policy = tmp_path / "p.json"
    policy.write_text('{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:GetObject","Resource":"*"}]}')
    role_cli(server, "create", "--name", name, "--policy", str(policy), "--max-duration", "7200",
             "--trust", "LTAIsomebodyelse")
    arn = f"acs:ram::{server.root['AccountId']}:role/{name}"
    assert arn in role_cli(server, "list")
    e = core_error(server, role_arn=arn)
    assert (e.get_http_status(), e.get_error_code()) == (403, "NoPermission")
    assert "stsgate role trust" in e.get_error_msg()
    code, _ = tea_error(lambda: tea_assume(tea_client(server), arn))
    assert code == "NoPermission"
    role_cli(server, "trust", "--name", name, "--key", server.root["AccessKeyId"])
    creds = core_assume(server, role_arn=arn, duration=7200)
    assert creds["AssumedRoleUser"]["Arn"] == f"{arn}/alice"
    role_cli(server, "delete", "--name", name)
    e = core_error(server, role_arn=arn)
    assert e.get_error_code() == "EntityNotExist.Role"
