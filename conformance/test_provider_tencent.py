"""The `tencent` provider end to end, with a second stsgate playing Tencent Cloud.

X is a plain stsgate: its tc-sts face answers GetFederationToken / AssumeRole as Tencent STS does
and its cos face holds the bucket. Y is a stsgate whose grant `cloud` names `provider = "x"`, a
`[provider.x] type = "tencent"` pointed at X's tc-sts face (through `fault_tc_sts.FaultTcSts`,
which forwards unless a test scripts a fault) with X's Tencent root key. Users of Y get
credentials the real cos-python-sdk-v5 uses on X's cos face inside their folder only; what Y sent
is TC3-signed exactly as the algorithm says (recomputed here, independently, from the wire);
every upstream refusal or fault becomes a 502/503 whose message says what to change, and no
upstream detail (string to sign, account or app id, key ids, file paths) reaches the user.
"""

import hashlib
import hmac
import json
import os
import time
import urllib.parse

import pytest
import requests
from qcloud_cos.cos_exception import CosServiceError

from conftest import Server
from cos_helpers import cos_client, root_creds
from fault_tc_sts import FaultTcSts

GRANT = "cloud"
RETRIES = 2


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("provider-tencent")


@pytest.fixture(scope="module")
def x(work):
    srv = Server(work / "x-data", log_dir=work / "logs").start()
    srv.cloud_bucket = f"app-{srv.tencent['AppId']}"
    cos_client(srv, root_creds(srv)).create_bucket(Bucket=srv.cloud_bucket)
    yield srv
    srv.stop()


def private_json(path, doc):
    path.write_text(json.dumps(doc))
    os.chmod(path, 0o600)
    return path


class Y:
    def __init__(self, work, x, name, secret=None):
        self.proxy = FaultTcSts(x.tc_sts_endpoint)
        t = x.tencent
        self.creds_file = private_json(work / f"y-{name}-key.json",
                                       {"SecretId": t["SecretId"], "SecretKey": secret or t["SecretKey"]})
        self.config = work / f"y-{name}.toml"
        self.config.write_text(f"""
[api.rate_limit]
enabled = false

[provider.x]
type = "tencent"
region = "ap-guangzhou"
credentials_file = "{self.creds_file}"
sts_endpoint = "{self.proxy.endpoint}"
cos_endpoint = "{x.cos_endpoint}"
timeout = 1
retries = {RETRIES}

[[grant]]
name = "{GRANT}"
provider = "x"
bucket = "{x.cloud_bucket}"
prefix = "users/${{sub}}/"
actions = ["read", "write", "list", "delete"]
""")
        self.server = Server(work / f"y-{name}-data", log_dir=work / "logs",
                             args=["--config", str(self.config)]).start()

    def ask(self, sub, fmt="tencent"):
        return requests.get(f"{self.server.api_endpoint}/v1/credentials",
                            params={"grant": GRANT, "format": fmt},
                            headers={"Authorization": f"Bearer {self.server.token(sub)}"}, timeout=30)

    def close(self):
        self.server.stop()
        self.proxy.close()


@pytest.fixture(scope="module")
def y(work, x):
    y = Y(work, x, "main")
    yield y
    y.close()


def test_users_of_y_get_credentials_that_work_on_x_inside_their_folder(x, y):
    r = y.ask("alice")
    assert r.status_code == 200, r.text
    c = r.json()["credentials"]
    alice = cos_client(x, {"SecretId": c["tmpSecretId"], "SecretKey": c["tmpSecretKey"],
                           "Token": c["sessionToken"]})
    alice.put_object(Bucket=x.cloud_bucket, Key="users/alice/a.txt", Body=b"via y")
    body = alice.get_object(Bucket=x.cloud_bucket, Key="users/alice/a.txt")["Body"].get_raw_stream().read()
    assert body == b"via y"
    for key in ["users/alicex/a.txt", "users/bob/a.txt"]:
        with pytest.raises(CosServiceError) as e:
            alice.put_object(Bucket=x.cloud_bucket, Key=key, Body=b"x")
        assert e.value.get_error_code() == "AccessDenied", key
    # Reused: a second ask costs no upstream call.
    before = y.proxy.count()
    assert y.ask("alice").json()["credentials"]["tmpSecretId"] == c["tmpSecretId"]
    assert y.proxy.count() == before


def tc3_signature(secret, method, headers, body, timestamp, date):
    """TC3-HMAC-SHA256 recomputed from the wire (../shared/specs/tencent_aws.md §1.1)."""
    canonical = "\n".join([
        method, "/", "",
        f"content-type:{headers['content-type'].lower()}\nhost:{headers['host'].lower()}\n",
        "content-type;host", hashlib.sha256(body).hexdigest()])
    scope = f"{date}/sts/tc3_request"
    to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    k = hmac.new(("TC3" + secret).encode(), date.encode(), hashlib.sha256).digest()
    k = hmac.new(k, b"sts", hashlib.sha256).digest()
    k = hmac.new(k, b"tc3_request", hashlib.sha256).digest()
    return hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()


def test_upstream_calls_are_tc3_signed_as_the_sdk_sends_them(x, y):
    y.proxy.forward()
    assert y.ask("bob").status_code == 200
    action, headers, body = y.proxy.log[0]
    assert action == "GetFederationToken"
    assert headers["x-tc-version"] == "2018-08-13" and headers["x-tc-region"] == "ap-guangzhou"
    assert headers["content-type"] == "application/json"
    sent = json.loads(body)
    assert list(sent) == ["Name", "Policy", "DurationSeconds"] and sent["Name"] == "bob"
    # json.dumps' separators, as tencentcloud-sdk-python writes the body; the policy URL-encoded.
    assert body.decode().startswith('{"Name": "bob", "Policy": "%7B%22'), body
    policy = json.loads(urllib.parse.unquote(sent["Policy"]))
    assert policy["version"] == "2.0" and "principal" not in policy, policy
    auth = headers["authorization"]
    ts = headers["x-tc-timestamp"]
    date = time.strftime("%Y-%m-%d", time.gmtime(int(ts)))
    want = tc3_signature(x.tencent["SecretKey"], "POST", headers, body, ts, date)
    assert auth == (f"TC3-HMAC-SHA256 Credential={x.tencent['SecretId']}/{date}/sts/tc3_request, "
                    f"SignedHeaders=content-type;host, Signature={want}")
    # X's audit shows the federated user Y chose.
    rows = requests.get(f"{x.api_endpoint}/v1/audit", params={"outcome": "assumed"}, timeout=10,
                        headers={"Authorization": f"Bearer {x.root['OperatorKey']}"}).json()["records"]
    assert any("bob" in json.dumps(r) for r in rows), rows


def assert_leaks_nothing(x, y, body):
    text = json.dumps(body)
    t = x.tencent
    for secret in [t["SecretId"], t["SecretKey"], t["AppId"], t["Uin"], str(y.creds_file), "TC3-HMAC"]:
        assert secret not in text, f"{secret!r} reached the user: {text}"


@pytest.mark.parametrize("code, hint", [
    ("AuthFailure.SecretIdNotFound", "CAM user"),
    ("AuthFailure.SignatureFailure", "SecretKey"),
    ("AuthFailure.SignatureExpire", "clock"),
    ("UnauthorizedOperation", "sts:GetFederationToken"),
    ("InvalidParameter.PolicyTooLong", "narrow the grant"),
    ("InvalidParameter.OverTimeError", "duration"),
])
def test_each_refusal_gets_an_actionable_answer(x, y, code, hint):
    y.proxy.refuse(code, f"[request id:x]refused for uin/{x.tencent['Uin']} SecretId {x.tencent['SecretId']}")
    r = y.ask(f"u-{code.replace('.', '-').lower()}")
    assert r.status_code == 502, r.text
    err = r.json()["error"]
    assert (err["code"], err["upstream_code"]) == ("UpstreamRefused", code), err
    assert hint in err["message"], err
    assert_leaks_nothing(x, y, r.json())
    assert y.proxy.count() == 1, "refusals are not retried"


def test_faults_are_retried_then_503(x, y):
    y.proxy.throttle(None)
    r = y.ask("throttled")
    assert r.status_code == 503 and r.headers.get("Retry-After") == "1", r.text
    assert r.json()["error"]["upstream_code"] == "RequestLimitExceeded"
    assert y.proxy.count() == 1 + RETRIES
    y.proxy.throttle(1)
    assert y.ask("throttled-once").status_code == 200
    y.proxy.stall(3)
    r = y.ask("stalled")
    assert r.status_code == 503 and r.json()["error"]["upstream_code"] == "Timeout", r.text
    y.proxy.http_status(500)
    assert y.ask("five-hundred").status_code == 503
    for kind in ["not-json", "no-token", "past-expiration"]:
        y.proxy.malformed(kind)
        r = y.ask(f"bad-{kind}")
        assert r.status_code == 502 and r.json()["error"]["upstream_code"] == "MalformedResponse", r.text
        assert_leaks_nothing(x, y, r.json())
    y.proxy.forward()


def test_a_wrong_secret_is_refused_by_x_itself(work, x):
    bad = Y(work, x, "wrong-secret", secret="not-the-secret")
    try:
        r = bad.ask("alice")
        assert r.status_code == 502, r.text
        err = r.json()["error"]
        assert err["upstream_code"] == "AuthFailure.SignatureFailure", err
        assert "SecretKey does not belong" in err["message"], err
        assert_leaks_nothing(x, bad, r.json())
    finally:
        bad.close()
