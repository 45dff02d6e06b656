"""Grant conditions against the real server: `required_claims` and `source_ips` refuse with a 403
JSON naming the condition, and credentials of a grant limited to source IPs work with `oss2` only
from inside the ranges (the session policy carries an `IpAddress acs:SourceIp` condition)."""

import oss2
import pytest
import requests

CONFIG = """
[[grant]]
name = "editors"
bucket = "app"
prefix = "users/${sub}/"
actions = ["read", "write", "list"]
required_claims = { role = "editor", plan = ["pro", "team"] }

[[grant]]
name = "local"
bucket = "app"
prefix = "users/${sub}/"
actions = ["read", "write", "list", "delete"]
source_ips = ["127.0.0.1/32", "::1"]

[[grant]]
name = "office"
bucket = "app"
prefix = "users/${sub}/"
actions = ["read"]
source_ips = ["10.0.0.0/8"]
"""


@pytest.fixture
def srv(start_server, tmp_path):
    (tmp_path / "stsgate.toml").write_text(CONFIG)
    return start_server(tmp_path / "data", args=["--config", str(tmp_path / "stsgate.toml")])


def creds(srv, grant, token):
    return requests.get(f"{srv.api_endpoint}/v1/credentials", params={"grant": grant},
                        headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_required_claims(srv):
    plain = srv.token("alice")
    r = creds(srv, "editors", plain)
    assert r.status_code == 403, r.text
    err = r.json()["error"]
    assert err["code"] == "ConditionNotMet"
    assert '"plan"' in err["message"] or '"role"' in err["message"]

    wrong = srv.token("alice", claims=["role=editor", "plan=free"])
    r = creds(srv, "editors", wrong)
    assert r.status_code == 403 and '"plan"' in r.json()["error"]["message"], r.text

    ok = srv.token("alice", claims=["role=editor", "plan=pro"])
    r = creds(srv, "editors", ok)
    assert r.status_code == 200, r.text
    c = r.json()
    auth = oss2.StsAuth(c["AccessKeyId"], c["AccessKeySecret"], c["SecurityToken"])
    b = oss2.Bucket(auth, srv.endpoint, "app")
    b.put_object("users/alice/x.txt", b"x")
    assert b.get_object("users/alice/x.txt").read() == b"x"


def test_source_ips(srv):
    token = srv.token("bob")
    r = creds(srv, "office", token)
    assert r.status_code == 403, r.text
    err = r.json()["error"]
    assert err["code"] == "ConditionNotMet" and "10.0.0.0/8" in err["message"]

    r = creds(srv, "local", token)
    assert r.status_code == 200, r.text
    c = r.json()
    auth = oss2.StsAuth(c["AccessKeyId"], c["AccessKeySecret"], c["SecurityToken"])
    b = oss2.Bucket(auth, srv.endpoint, "app")
    b.put_object("users/bob/in.txt", b"in")
    assert [o.key for o in b.list_objects(prefix="users/bob/").object_list] == ["users/bob/in.txt"]
    b.delete_object("users/bob/in.txt")
