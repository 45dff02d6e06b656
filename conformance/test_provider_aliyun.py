"""The `aliyun` provider end to end, with a second stsgate playing Alibaba Cloud.

X is a plain stsgate (local provider): its sts face answers AssumeRole / GetCallerIdentity as
Alibaba STS does and its oss face is the bucket. Y is a stsgate whose grant `cloud` names
`provider = "x"`, a `[provider.x]` pointed at X (through `fault_sts.FaultSts`, which forwards
to X's sts face unless a test scripts a fault). Users of Y get credentials, presigned URLs and
post-policies that the real `oss2` SDK and plain HTTP use on X; X's audit log shows the
RoleSessionNames Y chose; upstream refusals and faults become 502/503 answers whose message says
what to change; `stsgate check` and `stsgate cors` are run against X.
"""

import json
import os
import subprocess
import threading
import time
import uuid
from pathlib import Path

import oss2
import pytest
import requests

from conftest import REGION, Server
from fault_sts import FaultSts

GRANT = "cloud"
ORIGIN = "https://app.example.com"
TIMEOUT_S = 1
RETRIES = 2
ATTEMPTS = 1 + RETRIES


# ---- X, the cloud ------------------------------------------------------------------------
def run(bin_path, *args, env=None, ok=True, timeout=60):
    out = subprocess.run([bin_path, *args], capture_output=True, env=env, timeout=timeout)
    if ok:
        assert out.returncode == 0, (args, out.stdout.decode(errors="replace"),
                                     out.stderr.decode(errors="replace"))
    return out


def private_json(path: Path, doc: dict) -> Path:
    path.write_text(json.dumps(doc))
    os.chmod(path, 0o600)
    return path


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("provider")


@pytest.fixture(scope="module")
def x(work):
    srv = Server(work / "x-data", log_dir=work / "logs").start()
    data = str(srv.data_dir)
    # A RAM user of X that role `app` does not trust (NoPermission, RAMUser), and a role
    # `strict` that trusts only that user (NoPermission for the root key: the Account hint).
    user = json.loads(run(srv.bin, "key", "create", "--data", data, "--name", "yuser",
                          env=srv.env).stdout)
    run(srv.bin, "role", "create", "--data", data, "--name", "strict", "--trust",
        user["AccessKeyId"], env=srv.env)
    srv.ram_user = user
    srv.account = srv.root["AccountId"]
    yield srv
    srv.stop()


def role_arn(x, name="app"):
    return f"acs:ram::{x.account}:role/{name}"


def x_audit(x, **query):
    """Every record of X's audit log matching `query` (pages followed)."""
    return audit_of(x, **query)


def audit_of(srv, **query):
    """Every record of `srv`'s audit log matching `query` (pages followed)."""
    x = srv
    headers = {"Authorization": f"Bearer {x.root['OperatorKey']}"}
    records, cursor = [], None
    for _ in range(100):
        params = dict(query, limit=1000)
        if cursor:
            params["cursor"] = cursor
        r = requests.get(f"{x.api_endpoint}/v1/audit", params=params, headers=headers, timeout=10)
        assert r.status_code == 200, r.text
        body = r.json()
        records += body["records"]
        cursor = body["next_cursor"]
        if not cursor:
            return records
    raise AssertionError("X's audit log did not end within 100 pages")


def assumed_rows(x):
    return x_audit(x, outcome="assumed")


# ---- Y, the stsgate in front of it --------------------------------------------------------
def y_config(x, sts_endpoint, credentials_file, arn, extra=""):
    return f"""
[api.rate_limit]
enabled = false

[provider.x]
type = "aliyun"
role_arn = "{arn}"
credentials_file = "{credentials_file}"
sts_endpoint = "{sts_endpoint}"
oss_endpoint = "{x.endpoint}"
timeout = {TIMEOUT_S}
retries = {RETRIES}
browser_origins = ["{ORIGIN}"]
{extra}
[[grant]]
name = "{GRANT}"
provider = "x"
bucket = "app"
prefix = "users/${{sub}}/"
actions = ["read", "write", "list", "delete"]
"""


class Y:
    """A Y server, the fault proxy in front of X's sts face, and its config file."""

    def __init__(self, work, x, name, credentials_file=None, arn=None, extra=""):
        self.proxy = FaultSts(x.sts_endpoint)
        self.config = work / f"y-{name}.toml"
        self.config.write_text(y_config(x, self.proxy.endpoint,
                                        credentials_file or (x.data_dir / "root-credentials.json"),
                                        arn or role_arn(x), extra))
        self.server = Server(work / f"y-{name}-data", log_dir=work / "logs",
                             args=["--config", str(self.config)]).start()

    def token(self, sub):
        return self.server.token(sub)

    def ask(self, token, fmt="oss-app-server", grant=GRANT):
        return requests.get(f"{self.server.api_endpoint}/v1/credentials",
                            params={"grant": grant, "format": fmt},
                            headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def post(self, path, token, body):
        return requests.post(f"{self.server.api_endpoint}{path}", json=body,
                             headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def close(self):
        self.server.stop()
        self.proxy.close()


@pytest.fixture(scope="module")
def make_y(work, x):
    made = []

    def make(name, **kwargs):
        y = Y(work, x, name, **kwargs)
        made.append(y)
        return y

    yield make
    for y in made:
        y.close()


@pytest.fixture(scope="module")
def y(make_y):
    return make_y("main")


@pytest.fixture
def y_fwd(y):
    """The main Y with its proxy forwarding (whatever the previous test scripted)."""
    y.proxy.forward()
    yield y
    y.proxy.forward()


def sub(name):
    return f"{name}-{uuid.uuid4().hex[:8]}"


def x_bucket(x, creds):
    auth = oss2.StsAuth(creds["AccessKeyId"], creds["AccessKeySecret"], creds["SecurityToken"])
    return oss2.Bucket(auth, x.endpoint, "app", region=REGION)


def denied(call):
    with pytest.raises(oss2.exceptions.AccessDenied):
        call()


CREDENTIAL_FIELDS = ("AccessKeyId", "AccessKeySecret", "SecurityToken", "Credentials")


def upstream_error(r, status, code, upstream_code, y=None, x=None):
    """Checks an upstream failure answer of Y and returns its `error` object; with `y`, adds
    `audit`: the detail of Y's audit row for the answer's request id (what operators see). With
    `x`, checks that nothing identifying X's account, keys or role reached the caller."""
    assert r.status_code == status, r.text
    body = r.json()
    err = body["error"]
    assert err["code"] == code, body
    assert err["provider"] == "x", body
    assert err["upstream_code"] == upstream_code, body
    assert err["message"], body
    assert err["request_id"], body
    # Nothing else from upstream: its message and the string-to-sign are the operator's.
    assert set(err) <= {"code", "message", "request_id", "provider", "upstream_code",
                        "upstream_request_id"}, body
    for field in CREDENTIAL_FIELDS:
        assert field not in body, f"a failed answer carries {field}: {body}"
    assert "STS." not in r.text and "CAIS" not in r.text, body
    text = r.text + json.dumps(dict(r.headers))
    for word in ["LTAI", "acs:ram::", "role/", ".json", "/tmp", "POST&", "AccessKeyId%3D"]:
        assert word not in text, f"{word!r} reached the caller: {text}"
    if x is not None:
        for secret in [x.root["AccessKeyId"], x.ram_user["AccessKeyId"], x.account]:
            assert secret not in text, f"{secret!r} reached the caller: {text}"
    if status == 503:
        assert r.headers.get("Retry-After"), r.headers
    if y is not None:
        rows = [row for row in audit_of(y.server) if row.get("request_id") == err["request_id"]]
        assert len(rows) == 1, (err, rows)
        err = dict(err, audit=rows[0]["detail"])
    return err


# ---- users of Y on X --------------------------------------------------------------------
def test_users_get_credentials_that_oss2_uses_on_x_in_their_prefix_only(x, y_fwd):
    alice, bob = sub("alice"), sub("bob")
    buckets = {}
    for who in (alice, bob):
        r = y_fwd.ask(y_fwd.token(who))
        assert r.status_code == 200, r.text
        creds = r.json()
        assert creds["StatusCode"] == 200 and creds["AccessKeyId"].startswith("STS."), creds
        buckets[who] = x_bucket(x, creds)
    for who, b in buckets.items():
        other = bob if who == alice else alice
        mine, theirs = f"users/{who}/", f"users/{other}/"
        b.put_object(mine + "note.txt", b"hello " + who.encode())
        assert b.get_object(mine + "note.txt").read() == b"hello " + who.encode()
        assert [o.key for o in oss2.ObjectIterator(b, prefix=mine)] == [mine + "note.txt"]
        denied(lambda: b.put_object(theirs + "x.txt", b"nope"))
        denied(lambda: b.get_object(theirs + "note.txt"))
        denied(lambda: b.delete_object(theirs + "note.txt"))
        denied(lambda: b.list_objects(prefix=theirs))
        denied(lambda: b.list_objects())
        denied(lambda: b.put_object(f"users/{who}x/y.txt", b"sibling"))
    for who, b in buckets.items():
        b.delete_object(f"users/{who}/note.txt")
        assert list(oss2.ObjectIterator(b, prefix=f"users/{who}/")) == []


def test_x_audit_shows_the_session_names_y_chose_and_reuse_costs_no_call(x, y_fwd):
    alice = sub("alice")
    token = y_fwd.token(alice)
    before = len(assumed_rows(x))
    r = y_fwd.ask(token)
    assert r.status_code == 200, r.text
    key = r.json()["AccessKeyId"]
    rows = assumed_rows(x)
    assert len(rows) == before + 1
    row = next(r for r in rows if r["access_key_id"] == key)
    assert "RoleSessionName=" in row["detail"] and alice in row["detail"], row
    session = row["detail"].split("RoleSessionName=", 1)[1].split()[0]
    assert "alice" in session and 2 <= len(session) <= 64, row
    assert f"RoleArn={role_arn(x)}" in row["detail"], row
    assert row["caller"] == x.root["AccessKeyId"], row
    assert row["expiration"] and row["request_id"] and row["client_ip"] == "127.0.0.1", row

    # Within the refresh window: same credentials, no upstream call (X's log and the wire agree).
    calls = y_fwd.proxy.count()
    for fmt in ("oss-app-server", "stsgate", "aliyun-sts"):
        again = y_fwd.ask(token, fmt)
        assert again.status_code == 200, again.text
        body = again.json()
        assert (body.get("AccessKeyId") or body["Credentials"]["AccessKeyId"]) == key
    assert len(assumed_rows(x)) == before + 1
    assert y_fwd.proxy.count() == calls


def test_concurrent_askers_of_one_slot_cost_one_upstream_call(x, y_fwd):
    token = y_fwd.token(sub("carol"))
    results = []

    def ask():
        results.append(y_fwd.ask(token))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(results) == 8 and all(r.status_code == 200 for r in results), [r.text for r in results]
    assert len({r.json()["AccessKeyId"] for r in results}) == 1
    assert y_fwd.proxy.count() == 1


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_presigned_urls_work_on_x_in_grant_only(x, y_fwd, version):
    alice, bob = sub("alice"), sub("bob")
    token = y_fwd.token(alice)
    key = f"users/{alice}/presigned {version}+x.txt"

    def presign(method, k, **extra):
        return y_fwd.post("/v1/presign", token, {"grant": GRANT, "method": method, "key": k,
                                                  "version": version, **extra})

    r = presign("PUT", key, content_type="text/plain")
    assert r.status_code == 200, r.text
    put = r.json()
    assert put["url"].startswith(f"{x.endpoint}/app/"), put
    calls = y_fwd.proxy.count()
    assert requests.put(put["url"], data=b"via Y " + version.encode(), headers=put["headers"],
                        timeout=10).status_code == 200
    get = presign("GET", key, expires=60).json()
    got = requests.get(get["url"], timeout=10)
    assert got.status_code == 200 and got.content == b"via Y " + version.encode(), got.text
    # The URL is signed for one method and key only, and only inside alice's prefix.
    assert requests.delete(put["url"], timeout=10).status_code == 403
    other = put["url"].replace("presigned", "other", 1)
    assert requests.put(other, data=b"x", headers=put["headers"], timeout=10).status_code == 403
    theirs = get["url"].replace(f"users/{alice}/", f"users/{bob}/", 1)
    assert requests.get(theirs, timeout=10).status_code == 403
    refused = presign("GET", f"users/{bob}/x.txt")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "OutsideGrant", refused.text
    delete = presign("DELETE", key).json()
    assert requests.delete(delete["url"], timeout=10).status_code == 204
    # URLs are signed locally with the cached scoped credentials: no upstream call per URL.
    assert y_fwd.proxy.count() == calls


def test_post_policy_uploads_to_x(x, y_fwd):
    alice, bob = sub("alice"), sub("bob")
    token = y_fwd.token(alice)
    r = y_fwd.post("/v1/post-policy", token, {"grant": GRANT, "max_size": 16, "expires": 300})
    assert r.status_code == 200, r.text
    form = r.json()
    assert form["url"] == f"{x.endpoint}/app/", form

    def upload(key, body=b"small"):
        return requests.post(form["url"], data=dict(form["fields"], key=key),
                             files={"file": ("f.bin", body, "application/octet-stream")}, timeout=10)

    ok = upload(f"users/{alice}/form.txt")
    assert ok.status_code == 201, ok.text
    outside = upload(f"users/{bob}/form.txt")
    assert outside.status_code == 403, outside.text
    creds = y_fwd.ask(token).json()
    b = x_bucket(x, creds)
    assert b.get_object(f"users/{alice}/form.txt").read() == b"small"
    b.delete_object(f"users/{alice}/form.txt")


@pytest.mark.parametrize("signing_key", ["unconfigured", "configured"])
def test_auth_custom_signs_after_the_scope_check(work, x, y_fwd, make_y, signing_key):
    if signing_key == "unconfigured":
        y = y_fwd
    else:
        root = x.root
        key_file = private_json(work / "custom-signing-key.json",
                                {"AccessKeyId": root["AccessKeyId"], "AccessKeySecret": root["AccessKeySecret"]})
        y = make_y("custom", extra=f'custom_signing_credentials_file = "{key_file}"\n')
    alice, bob = sub("alice"), sub("bob")
    token = y.token(alice)
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())

    def custom(content):
        return requests.post(f"{y.server.api_endpoint}/auth/custom", data={"content": content},
                             headers={"Authorization": f"Bearer {token}"}, timeout=10)

    key = f"users/{alice}/custom.txt"
    r = custom(f"PUT\n\napplication/octet-stream\n{date}\n/app/{key}")
    if signing_key == "unconfigured":
        # Without a custom_signing_* key nothing can sign a request sent without a token:
        # refused with what the operator must configure, and nothing about the provider.
        assert r.status_code == 501, r.text
        err = r.json()["error"]
        assert err["code"] == "NotConfigured" and "custom_signing_key_id_env" in err["message"], err
        assert x.root["AccessKeyId"] not in r.text and "acs:" not in r.text
        return
    assert r.status_code == 200, r.text
    headers = {"Date": date, "Content-Type": "application/octet-stream", "Authorization": r.text}
    # The configured key signs, with no security token.
    assert r.text.startswith(f"OSS {x.root['AccessKeyId']}:"), r.text
    assert "x-stsgate-security-token" not in r.headers, r.headers
    put = requests.put(f"{x.endpoint}/app/{key}", data=b"custom", headers=headers, timeout=10)
    assert put.status_code == 200, put.text
    # The scope check comes first, whichever key signs.
    for content in (f"GET\n\n\n{date}\n/app/users/{bob}/x.txt", f"GET\n\n\n{date}\n/app/?cors"):
        refused = custom(content)
        assert refused.status_code == 403 and not refused.text.startswith("OSS "), refused.text


# ---- refusals by X ------------------------------------------------------------------------
def fake_key_file(work, name, ak, secret):
    return private_json(work / f"{name}-key.json", {"AccessKeyId": ak, "AccessKeySecret": secret})


REFUSALS = {
    # name: (how Y is configured, role, upstream code, words the hint must hold, words only the
    # operator's audit row holds)
    "ram-user-not-allowed": ("ram-user", "app", "NoPermission",
                             ["RAM user", "sts:AssumeRole", "AliyunSTSAssumeRoleAccess", "trust",
                              "not a service role"], ["role/app", "RAMUser"]),
    "main-account-key": ("root", "strict", "NoPermission",
                         ["main account", "root", "create a RAM user", "AliyunSTSAssumeRoleAccess"],
                         ["role/strict"]),
    "role-missing": ("root", "nosuch", "EntityNotExist.Role", ["role_arn", "does not exist"],
                     ["role/nosuch"]),
    "unknown-key": ("fake", "app", "InvalidAccessKeyId.NotFound", ["AccessKeyId"],
                    ["fake-key.json", "LTAIfakefakefakefake0000"]),
    "wrong-secret": ("bad-secret", "app", "SignatureDoesNotMatch", ["AccessKeySecret"],
                     ["bad-secret-key.json"]),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refusals_by_x_become_502_with_the_fix(work, x, make_y, case):
    keys, role, upstream, words, operator_words = REFUSALS[case]
    root = x.root
    files = {
        "root": None,
        "ram-user": lambda: fake_key_file(work, "ram-user", x.ram_user["AccessKeyId"],
                                          x.ram_user["AccessKeySecret"]),
        "fake": lambda: fake_key_file(work, "fake", "LTAIfakefakefakefake0000", "fake-secret"),
        "bad-secret": lambda: fake_key_file(work, "bad-secret", root["AccessKeyId"],
                                            root["AccessKeySecret"] + "x"),
    }
    make_file = files[keys]
    y = make_y(case, credentials_file=make_file() if make_file else None, arn=role_arn(x, role))
    r = y.ask(y.token(sub("alice")))
    err = upstream_error(r, 502, "UpstreamRefused", upstream, y=y, x=x)
    for word in words:
        assert word in err["message"], (word, err)
    for word in operator_words:
        assert word in err["audit"], (word, err)
    assert err["upstream_request_id"], err
    assert y.proxy.count() == 1, "a refusal is never retried"
    if upstream == "SignatureDoesNotMatch":
        # The string-to-sign is the operator's (X echoes the one it computed; equal to Y's when
        # only the secret is wrong), to compare with what their own signer would send.
        assert f"POST&%2F&AccessKeyId%3D{root['AccessKeyId']}" in err["audit"], err
    # X logged the refusal under the RequestId Y reports; Y audited it with the upstream code.
    theirs = [r for r in x_audit(x, outcome=f"refused:{upstream}")
              if r["request_id"] == err["upstream_request_id"]]
    assert len(theirs) == 1, err
    assert "RoleSessionName=alice-" in theirs[0]["detail"], theirs
    ours = audit_of(y.server, outcome="refused")
    assert any(upstream in r["outcome"] + r["detail"] and err["upstream_request_id"] in r["detail"]
               for r in ours), ours


# ---- scripted faults ----------------------------------------------------------------------
SCRIPTED = {
    "clock": ("InvalidTimeStamp.Expired", 400, ["clock", "NTP"]),
    "policy-size": ("InvalidParameter.PolicySize", 400, ["grant"]),
}


@pytest.mark.parametrize("case", sorted(SCRIPTED))
def test_scripted_refusals_have_hints_and_are_not_retried(y_fwd, case):
    code, status, words = SCRIPTED[case]
    y_fwd.proxy.refuse(code, status)
    err = upstream_error(y_fwd.ask(y_fwd.token(sub("dave"))), 502, "UpstreamRefused", code)
    for word in words:
        assert word in err["message"], (word, err)
    assert y_fwd.proxy.count() == 1


def test_throttled_then_answered_is_retried_to_success(x, y_fwd):
    y_fwd.proxy.throttle(RETRIES)
    r = y_fwd.ask(y_fwd.token(sub("erin")))
    assert r.status_code == 200, r.text
    assert y_fwd.proxy.count() == ATTEMPTS
    creds = r.json()
    b = x_bucket(x, creds)
    denied(lambda: b.list_objects())  # real, scoped credentials from X


def test_throttled_for_ever_gives_503_after_bounded_attempts(y_fwd):
    y_fwd.proxy.throttle(None)
    start = time.monotonic()
    err = upstream_error(y_fwd.ask(y_fwd.token(sub("frank"))), 503, "UpstreamUnavailable",
                         "Throttling.User")
    assert time.monotonic() - start < 10
    assert f"throttled the requests {ATTEMPTS} times" in err["message"], err
    assert "try again later" in err["message"], err
    assert y_fwd.proxy.count() == ATTEMPTS


def test_upstream_calls_are_counted_in_y_metrics(y_fwd):
    y_fwd.proxy.throttle(None)
    y_fwd.ask(y_fwd.token(sub("metric")))
    y_fwd.proxy.forward()
    assert y_fwd.ask(y_fwd.token(sub("metric"))).status_code == 200
    metrics = requests.get(f"{y_fwd.server.api_endpoint}/metrics", timeout=10).text
    upstream = [l for l in metrics.splitlines()
                if l.startswith("stsgate_upstream_requests_total{") and 'provider="x"' in l
                and 'action="AssumeRole"' in l]
    assert upstream, "no stsgate_upstream_requests_total{provider=\"x\",action=\"AssumeRole\"} line"
    assert len(upstream) >= 2, upstream  # a throttled outcome and a successful one
    assert any(l.startswith("stsgate_upstream_seconds") and 'provider="x"' in l
               for l in metrics.splitlines()), "no stsgate_upstream_seconds histogram"


def test_http_500_is_retried_then_503(y_fwd):
    y_fwd.proxy.http_status(500)
    r = y_fwd.ask(y_fwd.token(sub("gina")))
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "UpstreamUnavailable"
    assert y_fwd.proxy.count() == ATTEMPTS


def test_a_stalled_sts_never_hangs_y(y_fwd):
    y_fwd.proxy.stall(5)
    start = time.monotonic()
    err = upstream_error(y_fwd.ask(y_fwd.token(sub("hank"))), 503, "UpstreamUnavailable", "Timeout",
                         y=y_fwd)
    elapsed = time.monotonic() - start
    # 3 attempts of 1 s plus at most 0.2 + 0.4 s of backoff, with slack for a loaded machine.
    assert elapsed < ATTEMPTS * TIMEOUT_S + 3, elapsed
    assert "timeout" in err["message"], err
    # The endpoint is the operator's.
    assert y_fwd.proxy.endpoint not in err["message"] and y_fwd.proxy.endpoint in err["audit"], err
    assert y_fwd.proxy.count() == ATTEMPTS


@pytest.mark.parametrize("kind", ["not-json", "html", "no-token", "empty-secret", "past-expiration"])
def test_malformed_answers_hand_out_nothing(x, y_fwd, kind):
    y_fwd.proxy.malformed(kind)
    token = y_fwd.token(sub("ivy"))
    err = upstream_error(y_fwd.ask(token), 502, "UpstreamRefused", "MalformedResponse")
    assert "sts_endpoint" in err["message"], err
    assert y_fwd.proxy.count() == 1, "a malformed answer is not retried"
    # Nothing was cached: once X answers properly, the same caller gets real credentials.
    y_fwd.proxy.forward()
    r = y_fwd.ask(token)
    assert r.status_code == 200, r.text
    assert r.json()["AccessKeyId"] != "STS.half"


# ---- stsgate check and stsgate cors against X ---------------------------------------------
def lines(out):
    return [l for l in out.stdout.decode(errors="replace").splitlines() if l.strip()]


def fails(out):
    return [l for l in lines(out) if l.startswith("FAIL")]


def test_check_and_cors_against_x(x, y):
    bin_path = y.server.bin
    cfg = str(y.config)
    y.proxy.forward()
    target = ["--config", cfg, "--provider", "x", "--bucket", "app"]
    run(bin_path, "cors", "delete", *target, timeout=30)

    # No CORS yet: the browser-origin check fails and says how to fix it.
    out = run(bin_path, "check", "--config", cfg, ok=False, timeout=60)
    assert out.returncode == 1, lines(out)
    cors_fail = [l for l in fails(out) if "CORS" in l]
    assert cors_fail and ORIGIN in cors_fail[0] and "fix:" in cors_fail[0], lines(out)
    assert "stsgate cors set" in cors_fail[0], cors_fail

    run(bin_path, "cors", "set", *target, timeout=30)
    got = run(bin_path, "cors", "get", *target, timeout=30).stdout.decode()
    assert ORIGIN in got and "PUT" in got and "POST" in got, got

    # Everything in place: no FAIL line, exit 0 (X's root key gives a `warn` main-account line).
    out = run(bin_path, "check", "--config", cfg, ok=False, timeout=60)
    assert out.returncode == 0, lines(out)
    assert not fails(out), lines(out)
    text = "\n".join(lines(out))
    assert any(l.startswith(("ok", "warn")) and "GetCallerIdentity" in l for l in lines(out)), text
    for probe in ("AssumeRole", "HEAD", "CORS allows origin " + ORIGIN):
        assert any(l.startswith("ok") and probe in l for l in lines(out)), (probe, text)

    # V4-signed, with explicit rules.
    run(bin_path, "cors", "set", *target, "--signature", "v4", "--origin", ORIGIN,
        "--origin", "https://admin.example.com", "--method", "PUT", "--method", "GET",
        "--max-age", "300", timeout=30)
    got = run(bin_path, "cors", "get", *target, "--signature", "v4", timeout=30).stdout.decode()
    assert "https://admin.example.com" in got and "300" in got, got
    # POST (browser form uploads) is no longer allowed: check says so, with the command.
    out = run(bin_path, "check", "--config", cfg, ok=False, timeout=60)
    assert out.returncode == 1, lines(out)
    assert any("CORS" in l and "POST" in l and "stsgate cors set" in l for l in fails(out)), lines(out)

    run(bin_path, "cors", "delete", *target, timeout=30)
    got = run(bin_path, "cors", "get", *target, timeout=30).stdout.decode()
    assert "no CORS rules" in got and "stsgate cors set" in got, got
    out = run(bin_path, "check", "--config", cfg, ok=False, timeout=60)
    assert out.returncode == 1 and any("CORS" in l for l in fails(out)), lines(out)


def test_check_names_the_fix_for_a_wrong_role(work, x):
    cfg = work / "check-wrong-role.toml"
    cfg.write_text(y_config(x, x.sts_endpoint, x.data_dir / "root-credentials.json",
                            role_arn(x, "nosuch")))
    out = run(x.bin, "check", "--config", str(cfg), ok=False, timeout=60)
    assert out.returncode == 1, lines(out)
    role_fail = [l for l in fails(out) if "AssumeRole" in l]
    assert role_fail, lines(out)
    assert "EntityNotExist.Role" in role_fail[0] and "role_arn" in role_fail[0], role_fail
    assert "fix:" in role_fail[0], role_fail
    # GetCallerIdentity itself still passes: the key is fine, only the role is wrong.
    assert not any("GetCallerIdentity" in l for l in fails(out)), lines(out)


def test_a_provider_grants_bucket_is_not_created_in_ys_own_store(y_fwd):
    # Y's only grant names provider x: bucket `app` lives on X, so Y's first start must not
    # create an `app` of its own (a local grant naming `app` would).
    assert [b.name for b in oss2.BucketIterator(y_fwd.server.service())] == []


@pytest.mark.parametrize("whose", ["root", "ram-user"])
def test_check_says_whose_the_auth_custom_signing_key_is(work, x, make_y, whose):
    """`stsgate check` asks STS whose the custom_signing_* key is: a main account key fails (its
    signatures could do anything in the account); a RAM user's key passes, with a reminder
    that its own policy must bound it to the grants' buckets."""
    key = x.root if whose == "root" else x.ram_user
    key_file = private_json(work / f"custom-key-{whose}.json",
                            {"AccessKeyId": key["AccessKeyId"], "AccessKeySecret": key["AccessKeySecret"]})
    y = make_y(f"custom-{whose}", extra=f'custom_signing_credentials_file = "{key_file}"\n')
    y.proxy.forward()
    out = run(y.server.bin, "check", "--config", str(y.config), ok=False, timeout=60)
    signing = [l for l in lines(out) if "/auth/custom signing key" in l]
    assert len(signing) == 1, lines(out)
    if whose == "root":
        assert signing[0].startswith("FAIL") and "main account key" in signing[0], signing
        assert "fix:" in signing[0] and out.returncode == 1
    else:
        assert signing[0].startswith("ok") and "RAMUser" in signing[0] and "yuser" in signing[0], signing
