"""`stsgate key …`, `stsgate bucket …` and `stsgate check` as an operator uses them, with the real
STS SDKs: an extra access key made with `stsgate key create` and trusted with `stsgate role trust`
assumes role `app` (aliyun-python-sdk-sts and alibabacloud-sts20150401), and `oss2` uses the
credentials it gets."""

import json
import subprocess

import oss2
import pytest
from aliyunsdkcore.acs_exception.exceptions import ServerException

from test_sts import app_role, core_assume, core_client, tea_assume, tea_client


def run(server, *args, ok=True):
    out = subprocess.run([server.bin, *args], capture_output=True, env=server.env, timeout=60)
    if ok:
        assert out.returncode == 0, out.stderr.decode(errors="replace")
    return out


def test_extra_key_assumes_role_once_trusted(start_server, tmp_path):
    srv = start_server(tmp_path / "data")
    data = str(srv.data_dir)
    created = json.loads(run(srv, "key", "create", "--data", data, "--name", "ci").stdout)
    ak, sk = created["AccessKeyId"], created["AccessKeySecret"]
    assert ak.startswith("LTAI") and sk
    listed = run(srv, "key", "list", "--data", data).stdout.decode()
    assert ak in listed and "ci" in listed and sk not in listed

    # Not trusted yet: NoPermission, with the command that fixes it.
    with pytest.raises(ServerException) as e:
        core_assume(srv, client=core_client(srv, ak, sk))
    assert e.value.get_error_code() == "NoPermission"
    assert "stsgate role trust" in e.value.get_error_msg()
    # A wrong secret: SignatureDoesNotMatch.
    with pytest.raises(ServerException) as e:
        core_assume(srv, client=core_client(srv, ak, sk + "x"))
    # aliyunsdkcore reports a SignatureDoesNotMatch whose string-to-sign equals its own as this.
    assert e.value.get_error_code() == "InvalidAccessKeySecret"

    run(srv, "role", "trust", "--data", data, "--name", "app", "--key", ak)
    got = core_assume(srv, client=core_client(srv, ak, sk), session="ci-job")
    c = got["Credentials"]
    b = oss2.Bucket(oss2.StsAuth(c["AccessKeyId"], c["AccessKeySecret"], c["SecurityToken"]),
                    srv.endpoint, "app")
    b.put_object("ci/report.txt", b"ok")
    assert b.get_object("ci/report.txt").read() == b"ok"
    tea = tea_assume(tea_client(srv, ak, sk), app_role(srv), session="ci-tea")
    assert tea["Credentials"]["AccessKeyId"].startswith("STS.")

    run(srv, "key", "delete", "--data", data, "--name", "ci")
    with pytest.raises(ServerException) as e:
        core_assume(srv, client=core_client(srv, ak, sk))
    assert e.value.get_error_code() == "InvalidAccessKeyId.NotFound"


def test_bucket_cli_refuses_while_the_server_runs(start_server, tmp_path):
    srv = start_server(tmp_path / "data")
    data = str(srv.data_dir)
    out = run(srv, "bucket", "create", "--data", data, "--name", "cli-made", ok=False)
    assert out.returncode == 1
    assert "stop the server or use an OSS SDK against the oss face" in out.stderr.decode()
    srv.stop()
    assert b"created bucket cli-made (public-read)" in run(
        srv, "bucket", "create", "--data", data, "--name", "cli-made", "--acl", "public-read").stdout
    names = [l.split()[0] for l in run(srv, "bucket", "list", "--data", data).stdout.decode().splitlines()]
    assert names == ["app", "cli-made"]
    srv.start()
    assert srv.bucket("cli-made").get_bucket_acl().acl == "public-read"
    srv.stop()
    run(srv, "bucket", "delete", "--data", data, "--name", "cli-made")
    names = [l.split()[0] for l in run(srv, "bucket", "list", "--data", data).stdout.decode().splitlines()]
    assert names == ["app"]


def test_check(start_server, tmp_path):
    from conftest import stsgate_bin
    good = tmp_path / "good.toml"
    good.write_text('[[grant]]\nname = "g"\nbucket = "app"\nprefix = "u/${sub}/"\nactions = ["read"]\n'
                    'source_ips = ["10.0.0.0/8"]\n')
    out = subprocess.run([stsgate_bin(), "check", "--config", str(good)], capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr
    text = out.stdout.decode()
    assert "grant g: bucket app" in text and "10.0.0.0/8" in text and "face api:" in text
    assert "warn console: api.console_origin is not set" in text, text
    bad = tmp_path / "bad.toml"
    bad.write_text('[[grant]]\nname = "g"\nbucket = "app"\nprefix = "u/"\nactions = ["read"]\nsource_ip = []\n')
    out = subprocess.run([stsgate_bin(), "check", "--config", str(bad)], capture_output=True, timeout=60)
    assert out.returncode == 1
    assert "source_ip" in out.stderr.decode()


def test_the_console_origin_gets_a_cors_rule_on_the_grant_buckets(start_server, tmp_path):
    """With a config, `[api] console_origin` names where browsers load the console from: the
    embedded grant buckets get a CORS rule for it at start (a preflight from it passes, one from
    elsewhere does not), and `stsgate check` says so."""
    from conftest import stsgate_bin
    import requests
    config = tmp_path / "console.toml"
    config.write_text('[api]\nconsole_origin = "https://console.example.test"\n'
                      '[[grant]]\nname = "g"\nbucket = "app"\nprefix = "u/${sub}/"\nactions = ["read", "write"]\n')
    out = subprocess.run([stsgate_bin(), "check", "--config", str(config)], capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "console: https://console.example.test (api.console_origin)" in out.stdout.decode()
    srv = start_server(tmp_path / "data", args=["--config", str(config)])
    srv.bucket("app").create_bucket()  # exists before the restart below
    srv.kill()
    srv = start_server(tmp_path / "data", args=["--config", str(config)])

    def preflight(origin):
        return requests.options(f"{srv.endpoint}/app/u/x", timeout=10, headers={
            "Origin": origin, "Access-Control-Request-Method": "PUT"})

    ok = preflight("https://console.example.test")
    assert ok.status_code == 200, ok.text
    assert ok.headers["Access-Control-Allow-Origin"] == "https://console.example.test"
    assert preflight("https://elsewhere.example.test").status_code == 403
