"""Rate limits (429 + Retry-After) and GET /metrics of the api face, against a server started with
a config file that lowers the limits. Bounded: under 200 requests and about 10 s."""

import re
import time

import requests

GRANT = "user-folder"

CONFIG = """
[api.rate_limit]
per_caller = { per_second = 1, burst = 5 }
per_ip = { per_second = 20, burst = 60 }
"""


def creds(server, token, session=requests):
    return session.get(f"{server.api_endpoint}/v1/credentials", params={"grant": GRANT},
                       headers={"Authorization": f"Bearer {token}"} if token else {}, timeout=10)


def metric(text, name, **labels):
    """The value of sample `name{labels}` in a Prometheus text exposition (None if absent)."""
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)$", line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="([^"]*)"', m.group(3) or ""))
        if all(got.get(k) == v for k, v in labels.items()):
            return float(m.group(4))
    return None


def test_limits_and_metrics(start_server, tmp_path):
    (tmp_path / "stsgate.toml").write_text(CONFIG)
    server = start_server(tmp_path / "data", args=["--config", str(tmp_path / "stsgate.toml")])
    s = requests.Session()
    alice, bob = server.token("alice-limits"), server.token("bob-limits")

    # Per caller: burst 5, then 429 with Retry-After; another caller is still served.
    statuses = [creds(server, alice, s) for _ in range(8)]
    codes = [r.status_code for r in statuses]
    assert codes[:5] == [200] * 5, codes
    limited = [r for r in statuses if r.status_code == 429]
    assert limited, codes
    r = limited[0]
    assert r.json()["error"]["code"] == "RateLimited", r.text
    retry = int(r.headers["Retry-After"])
    assert 1 <= retry <= 5, retry
    assert creds(server, bob, s).status_code == 200
    # After waiting as told: served again.
    time.sleep(retry)
    assert creds(server, alice, s).status_code == 200

    # Per IP: applies before authentication, so a flood of bad tokens is limited too.
    started = time.monotonic()
    seen = []
    for _ in range(150):
        r = creds(server, "garbage", s)
        seen.append(r.status_code)
        if r.status_code == 429:
            break
    assert time.monotonic() - started < 10
    assert seen[-1] == 429 and set(seen[:-1]) == {401}, seen
    retry = int(r.headers["Retry-After"])
    assert retry >= 1
    time.sleep(retry)

    m = requests.get(f"{server.api_endpoint}/metrics", timeout=10)
    assert m.status_code == 200, m.text
    assert m.headers["Content-Type"].startswith("text/plain")
    text = m.text
    assert metric(text, "stsgate_api_rate_limited_total", scope="caller") >= 1, text
    assert metric(text, "stsgate_api_rate_limited_total", scope="ip") >= 1, text
    assert metric(text, "stsgate_api_issuances_total", grant=GRANT, format="stsgate") >= 7, text
    assert metric(text, "stsgate_api_cache_hits_total", grant=GRANT) >= 5, text
    assert metric(text, "stsgate_api_refusals_total", reason="Unauthenticated") >= 1, text
    count = metric(text, "stsgate_api_request_duration_seconds_count",
                   route="/v1/credentials", status="200")
    assert count is not None and count >= 7, text
    assert "alice-limits" not in text
