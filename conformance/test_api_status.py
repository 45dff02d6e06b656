"""`GET /v1/status`: the operator's view of the grants and providers in effect and the lines of
`stsgate check` for the config the server runs with (what the console's operator view shows)."""

import json

import requests


def operator_key(server):
    return json.loads((server.data_dir / "root-credentials.json").read_text())["OperatorKey"]


def status(server, key, probe=False):
    return requests.get(f"{server.api_endpoint}/v1/status", params={"probe": "true"} if probe else {},
                        headers={"Authorization": f"Bearer {key}"}, timeout=60)


def test_status_shows_the_default_grants_to_the_operator_only(server):
    r = status(server, operator_key(server))
    assert r.status_code == 200, r.text
    assert r.headers["Cache-Control"] == "no-store"
    body = r.json()
    names = {g["name"]: g for g in body["grants"]}
    assert names["user-folder"]["bucket"] == "app"
    assert names["user-folder"]["prefix"] == "users/${sub}/"
    assert set(names["user-folder"]["actions"]) >= {"read", "write"}
    assert {"name": "local", "kind": "embedded"} in body["providers"]
    assert body["checks"][0]["status"] == "ok" and "no config" in body["checks"][0]["text"]
    # A caller's token is not the operator key; no token is 401.
    assert status(server, server.token("alice")).status_code == 403
    assert requests.get(f"{server.api_endpoint}/v1/status", timeout=10).status_code == 401


def test_status_runs_stsgate_check_on_the_servers_config(start_server, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[[grant]]\nname = "photos"\nbucket = "app"\nprefix = "p/${sub}/"\n'
                      'actions = ["read", "write", "settings"]\nsource_ips = ["10.0.0.0/8"]\n')
    srv = start_server(tmp_path / "data", args=["--config", str(config)])
    body = status(srv, operator_key(srv)).json()
    assert [g["name"] for g in body["grants"]] == ["photos"]
    assert body["grants"][0]["source_ips"] == ["10.0.0.0/8"]
    texts = [c["text"] for c in body["checks"]]
    assert any(t.startswith("grant photos: bucket app") for t in texts), texts
    warn = [c for c in body["checks"] if c["status"] == "warn"]
    assert warn and "console_origin" in warn[0]["text"] and "[api] console_origin" in warn[0]["fix"]
    probed = status(srv, operator_key(srv), probe=True).json()
    assert probed["probed"] is True
    assert not [c for c in probed["checks"] if c["status"] == "fail"]
    # A config file broken after the start is said, and the server keeps its own.
    config.write_text("[[grant]]\nname = 7\n")
    broken = status(srv, operator_key(srv)).json()
    assert broken["checks"][0]["status"] == "fail" and "c.toml" in broken["checks"][0]["text"]
    assert [g["name"] for g in broken["grants"]] == ["photos"]
