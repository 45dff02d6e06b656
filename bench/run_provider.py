#!/usr/bin/env python3
"""stsgate `aliyun` provider benchmark: upstream AssumeRole calls and Y's added latency (not a test;
CI does not run it).

    cargo build --release -p stsgate && python3 bench/run_provider.py

Two stsgate processes on loopback: X (local provider) plays Alibaba Cloud; Y's grant `cloud` names
`provider = "x"`, a `[provider.x]` whose sts_endpoint/oss_endpoint are X's faces (credentials_file =
X's root-credentials.json). Rate limits are off on both. In one run:

  1. X's own AssumeRole latency: CALLERS AssumeRole requests (RPC signature V1, POST form body,
     Format=JSON, an inline session policy shaped like the grant's, distinct RoleSessionNames),
     signed with X's root key and sent straight to X's sts face by THREADS keep-alive clients;
  2. Y, cache miss: CALLERS distinct caller JWTs (HS256, Y's dev key) each ask Y's
     /v1/credentials?grant=cloud once (THREADS keep-alive clients): every ask costs Y one upstream
     AssumeRole to X, then Y's own minting work, audit row and answer;
  3. Y, returning callers: each caller asks ASKS-1 more times, all asks shuffled together (so a
     caller's asks may overlap: the slot lock makes them share one issuance);
then counts X's `assumed` audit rows whose RoleSessionName is one of Y's callers (must be
≤ CALLERS: the cache and single-flight of the api face), reports Y's added latency on a miss over
X's own AssumeRole (p50, p99) and rewrites its section of bench/RESULTS.md (hand-written notes
below the section's notes marker are kept).

The client is Python (stdlib http.client, one thread per connection): its own cost is in every
figure, the same for X's and Y's rows (requests are signed before the clock starts), so the
difference of the two is what Y adds; absolute figures are a ceiling.
"""

import argparse
import base64
import datetime as dt
import hashlib
import hmac
import http.client
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

# Process, machine-load and JWT helpers shared with the api benchmark (same folder).
from run_api import busy_percent, mint_jwts, stop, write_section

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(os.environ.get("STSGATE_BIN", ROOT / "target/release/stsgate"))
BEGIN = "<!-- provider bench: begin -->"
NOTES = "<!-- provider bench notes: kept by bench/run_provider.py -->"
END = "<!-- provider bench: end -->"
GRANT = "cloud"
RUNNING = []


# ---- processes ---------------------------------------------------------------------------
def serve(data: Path, config: Path):
    """Starts `stsgate serve` with every face on a free port; returns (proc, {face: url})."""
    cmd = [str(BIN), "serve", "--data", str(data), "--oss-addr", "127.0.0.1:0", "--sts-addr",
           "127.0.0.1:0", "--api-addr", "127.0.0.1:0", "--config", str(config)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env=dict(os.environ, RUST_LOG="error"))
    RUNNING.append(proc)
    faces = {}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(faces) < 3:
        line = proc.stdout.readline().decode()
        if not line:
            break
        m = re.match(r"^(oss|sts|api) listening on (http://[\d.]+:\d+)", line)
        if m:
            faces[m.group(1)] = m.group(2)
    if len(faces) < 3:
        sys.exit(f"stsgate serve --data {data} did not start (faces seen: {faces})")
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    return proc, faces


def pe(s: str) -> str:
    """POP percent-encoding (RFC 3986 unreserved kept)."""
    return urllib.parse.quote(s, safe="-_.~")


def rpc_body(ak: str, secret: str, params: dict) -> str:
    """An RPC V1 POST form body with every parameter and the Signature (spec §1.1)."""
    p = dict(params, AccessKeyId=ak, Format="JSON", SignatureMethod="HMAC-SHA1",
             SignatureNonce=str(uuid.uuid4()), SignatureVersion="1.0",
             Timestamp=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), Version="2015-04-01")
    canon = "&".join(f"{pe(k)}={pe(v)}" for k, v in sorted(p.items()))
    sts = f"POST&{pe('/')}&{pe(canon)}"
    sig = base64.b64encode(hmac.new((secret + "&").encode(), sts.encode(), hashlib.sha1).digest()).decode()
    p["Signature"] = sig
    return "&".join(f"{pe(k)}={pe(v)}" for k, v in p.items())


def grant_like_policy(sub: str) -> str:
    """A session policy of the shape and size Y renders for grant `cloud` (read/write/list/delete
    under users/<sub>/ of bucket app)."""
    return json.dumps({"Version": "1", "Statement": [
        {"Effect": "Allow",
         "Action": ["oss:GetObject", "oss:HeadObject", "oss:PutObject", "oss:AbortMultipartUpload",
                    "oss:ListParts", "oss:DeleteObject"],
         "Resource": [f"acs:oss:*:*:app/users/{sub}/*"]},
        {"Effect": "Allow", "Action": ["oss:ListObjects"], "Resource": ["acs:oss:*:*:app"],
         "Condition": {"StringLike": {"oss:Prefix": [f"users/{sub}/*"]}}}]}, separators=(",", ":"))


# ---- load --------------------------------------------------------------------------------
def drive(url: str, jobs, threads: int):
    """Runs `jobs` (method, path, headers, body) over `threads` keep-alive connections; returns
    [(index, seconds, status, body)] in job order."""
    u = urllib.parse.urlsplit(url)
    out = [None] * len(jobs)
    nxt = [0]
    lock = threading.Lock()

    def worker():
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        while True:
            with lock:
                i = nxt[0]
                nxt[0] += 1
            if i >= len(jobs):
                break
            method, path, headers, body = jobs[i]
            try:
                t = time.perf_counter()
                conn.request(method, path, body=body, headers=headers)
                r = conn.getresponse()
                data = r.read()
                out[i] = (time.perf_counter() - t, r.status, data)
                if (r.getheader("connection") or "").lower() == "close":
                    conn.close()
            except (http.client.HTTPException, OSError) as e:
                # Counted as an error, never retried (a retry would hide a failure and an ask).
                conn.close()
                out[i] = (0.0, 0, str(e).encode())
        conn.close()

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    start = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out, time.perf_counter() - start


def stats(results):
    lat = sorted(r[0] for r in results if r[1] == 200)
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")
    return {"n": len(results), "ok": len(lat), "p50": q(0.50), "p99": q(0.99),
            "errors": sum(1 for r in results if r[1] != 200),
            "first_error": next((r for r in results if r[1] != 200), None)}


def audit_rows(x_api: str, operator_key: str, outcome: str):
    """Every record of X's audit log with `outcome` (pages followed)."""
    u = urllib.parse.urlsplit(x_api)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    rows, cursor = [], None
    for _ in range(10_000):
        q = {"outcome": outcome, "limit": 1000}
        if cursor:
            q["cursor"] = cursor
        conn.request("GET", "/v1/audit?" + urllib.parse.urlencode(q),
                     headers={"Authorization": f"Bearer {operator_key}"})
        r = conn.getresponse()
        body = json.loads(r.read())
        if r.status != 200:
            sys.exit(f"GET /v1/audit on X: {r.status} {body}")
        rows += body["records"]
        cursor = body["next_cursor"]
        if not cursor:
            break
    conn.close()
    return rows


def session_of(detail: str) -> str:
    return detail.split("RoleSessionName=", 1)[1].split()[0] if "RoleSessionName=" in detail else ""


# ---- main --------------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--callers", type=int, default=1000, help="distinct callers (default 1000)")
    ap.add_argument("--asks", type=int, default=10, help="asks per caller (default 10)")
    ap.add_argument("--threads", type=int, default=32, help="concurrent keep-alive clients (default 32)")
    ap.add_argument("--samples", type=int, default=1000,
                    help="unloaded latency samples: X direct and Y miss, one client alternating (default 1000)")
    ap.add_argument("--wait-quiet", type=int, default=0, metavar="SECONDS",
                    help="first wait up to SECONDS for a 3 s window with the CPUs under 25%% busy")
    ap.add_argument("--no-write", action="store_true", help="do not rewrite the section of bench/RESULTS.md")
    a = ap.parse_args()
    if not BIN.exists():
        sys.exit(f"{BIN} missing: cargo build --release -p stsgate")
    a.version = subprocess.run([str(BIN), "--version"], capture_output=True, text=True).stdout.strip().split()[-1]
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        a.version += f", git {rev}{' + uncommitted changes' if dirty else ''}"
    except OSError:
        pass
    (ROOT / "target").mkdir(exist_ok=True)
    idle = busy_percent(3)
    give_up = time.monotonic() + a.wait_quiet
    while idle >= 25 and time.monotonic() < give_up:
        print(f"  machine {idle:.0f}% busy, waiting for a quieter moment", flush=True)
        idle = busy_percent(3)
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="stsgate-providerbench-", dir=ROOT / "target"))
    run = os.urandom(3).hex()
    try:
        # X: the cloud.
        x_cfg = work / "x.toml"
        x_cfg.write_text("[api.rate_limit]\nenabled = false\n")
        x_proc, x = serve(work / "x-data", x_cfg)
        root = json.loads((work / "x-data/root-credentials.json").read_text())
        arn = f"acs:ram::{root['AccountId']}:role/app"
        # Y: the stsgate in front of it.
        y_cfg = work / "y.toml"
        y_cfg.write_text(f"""
[api.rate_limit]
enabled = false

[provider.x]
type = "aliyun"
role_arn = "{arn}"
credentials_file = "{work / 'x-data/root-credentials.json'}"
sts_endpoint = "{x['sts']}"
oss_endpoint = "{x['oss']}"
timeout = 5
retries = 3

[[grant]]
name = "{GRANT}"
provider = "x"
bucket = "app"
prefix = "users/${{sub}}/"
actions = ["read", "write", "list", "delete"]
""")
        y_proc, y = serve(work / "y-data", y_cfg)

        # 1. X's own AssumeRole, straight to its sts face.
        print(f"  X AssumeRole direct: {a.callers} requests, {a.threads} clients ...", flush=True)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        direct_jobs = []
        for i in range(a.callers):
            sub = f"direct-{run}-{i}"
            direct_jobs.append(("POST", "/", headers, rpc_body(
                root["AccessKeyId"], root["AccessKeySecret"],
                {"Action": "AssumeRole", "RoleArn": arn, "RoleSessionName": sub, "DurationSeconds": "900",
                 "Policy": grant_like_policy(sub)})))
        direct, direct_s = drive(x["sts"], direct_jobs, a.threads)
        d = stats(direct)
        if d["errors"]:
            sys.exit(f"X refused direct AssumeRole: {d['first_error']}")

        # 2-3. Y: first asks (all misses), then the returning asks shuffled together.
        subs = [f"p-{run}-{i}" for i in range(a.callers)]
        key = (work / "y-data/jwt-hs256.key").read_bytes()
        cli = subprocess.run([str(BIN), "token", "--data", str(work / "y-data"), "--sub", subs[0]],
                             capture_output=True, text=True, check=True).stdout.strip()
        tokens = [cli] + mint_jwts(key, subs[1:])
        path = f"/v1/credentials?grant={GRANT}&format=oss-app-server"
        job = lambda t: ("GET", path, {"Authorization": f"Bearer {t}"}, None)
        before = audit_rows(x["api"], root["OperatorKey"], "assumed")
        print(f"  Y /v1/credentials, first ask of {a.callers} callers (misses) ...", flush=True)
        first, first_s = drive(y["api"], [job(t) for t in tokens], a.threads)
        m = stats(first)
        rest_jobs = [job(t) for t in tokens for _ in range(a.asks - 1)]
        random.Random(1).shuffle(rest_jobs)
        print(f"  Y /v1/credentials, {len(rest_jobs)} returning asks (shuffled) ...", flush=True)
        rest, rest_s = drive(y["api"], rest_jobs, a.threads)
        h = stats(rest)
        after = audit_rows(x["api"], root["OperatorKey"], "assumed")

        # 4. Unloaded latency: one client alternating X direct / Y miss (fresh callers each).
        print(f"  one client, alternating X direct and Y miss: {a.samples} each ...", flush=True)
        lat_subs = [f"lat-{run}-{i}" for i in range(a.samples)]
        lat_tokens = mint_jwts(key, lat_subs)
        seq_x, seq_y = [], []
        for i, t in enumerate(lat_tokens):
            sub = f"direct1-{run}-{i}"
            body = rpc_body(root["AccessKeyId"], root["AccessKeySecret"],
                            {"Action": "AssumeRole", "RoleArn": arn, "RoleSessionName": sub,
                             "DurationSeconds": "900", "Policy": grant_like_policy(sub)})
            seq_x += drive(x["sts"], [("POST", "/", headers, body)], 1)[0]
            seq_y += drive(y["api"], [job(t)], 1)[0]
        sx, sy = stats(seq_x), stats(seq_y)
        ours = set(subs)
        y_calls = sum(1 for r in after[len(before):] if session_of(r["detail"]) in ours)
        y_calls_all = sum(1 for r in after if session_of(r["detail"]) in ours)
        keys = {}
        for i, r in enumerate(first):
            if r[1] == 200:
                keys[i] = json.loads(r[2])["AccessKeyId"]
        stop(y_proc)
        stop(x_proc)
    finally:
        for p in RUNNING:
            if p.poll() is None:
                stop(p)
        shutil.rmtree(work, ignore_errors=True)
    elapsed = time.monotonic() - started
    r = {"seq_x": sx, "seq_y": sy, "direct": d, "direct_s": direct_s, "miss": m, "miss_s": first_s, "hit": h, "hit_s": rest_s,
         "y_calls": y_calls, "y_calls_all": y_calls_all, "asks": a.callers * a.asks,
         "distinct_keys": len(set(keys.values()))}
    report(r, a, idle, elapsed)
    if y_calls > a.callers or m["errors"] or h["errors"] or sx["errors"] or sy["errors"]:
        sys.exit(1)


def report(r, a, idle, elapsed):
    d, m, h = r["direct"], r["miss"], r["hit"]
    ok = r["y_calls"] <= a.callers
    sx, sy = r["seq_x"], r["seq_y"]
    rows = [
        "| what | clients | requests | errors | req/s | p50 | p99 |",
        "|---|---|---|---|---|---|---|",
        f"| X AssumeRole, direct (signed RPC V1 POST) | 1 | {sx['n']} | {sx['errors']} | | "
        f"{sx['p50']:.2f} ms | {sx['p99']:.2f} ms |",
        f"| Y /v1/credentials, miss (upstream AssumeRole to X + mint + audit) | 1 | {sy['n']} | "
        f"{sy['errors']} | | {sy['p50']:.2f} ms | {sy['p99']:.2f} ms |",
        f"| **Y's added latency on a miss, unloaded** (Y miss − X direct) | 1 | | | | "
        f"**{sy['p50'] - sx['p50']:.2f} ms** | **{sy['p99'] - sx['p99']:.2f} ms** |",
        f"| X AssumeRole, direct | {a.threads} | {d['n']} | {d['errors']} | "
        f"{d['n'] / r['direct_s']:.0f} | {d['p50']:.2f} ms | {d['p99']:.2f} ms |",
        f"| Y /v1/credentials, miss (first ask of each caller) | {a.threads} | {m['n']} | "
        f"{m['errors']} | {m['n'] / r['miss_s']:.0f} | {m['p50']:.2f} ms | {m['p99']:.2f} ms |",
        f"| Y's added latency on a miss, under load (Y miss − X direct) | {a.threads} | | | | "
        f"{m['p50'] - d['p50']:.2f} ms | {m['p99'] - d['p99']:.2f} ms |",
        f"| Y /v1/credentials, returning caller (cache, shuffled) | {a.threads} | {h['n']} | {h['errors']} | "
        f"{h['n'] / r['hit_s']:.0f} | {h['p50']:.2f} ms | {h['p99']:.2f} ms |",
    ]
    table = "\n".join(rows)
    calls = (f"Upstream AssumeRole calls Y made for {a.callers} distinct callers × {a.asks} asks "
             f"({r['asks']} asks): **{r['y_calls']}** (X's `assumed` audit rows whose RoleSessionName is "
             f"one of Y's callers; limit {a.callers}: {'**met**' if ok else '**NOT met**'}); "
             f"{r['distinct_keys']} distinct AccessKeyIds handed out on the first asks.")
    print()
    print(table)
    print(calls)
    if a.no_write:
        return
    cmd = "cargo build --release -p stsgate && python3 bench/run_provider.py"
    if a.callers != 1000:
        cmd += f" --callers {a.callers}"
    if a.asks != 10:
        cmd += f" --asks {a.asks}"
    if a.threads != 32:
        cmd += f" --threads {a.threads}"
    if a.samples != 1000:
        cmd += f" --samples {a.samples}"
    if a.wait_quiet:
        cmd += f" --wait-quiet {a.wait_quiet}"
    cmd += f"  # stsgate {a.version}"
    section = lambda notes: f"""{BEGIN}

# aliyun provider: upstream calls and Y's added latency (bench/run_provider.py)

Measured {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} on the dev machine ({os.cpu_count()} CPUs
shared by the client, both servers and other engineers' builds; Linux {platform.release()}; {idle:.0f}% of
the CPUs busy in the 3 s before the run), all figures from one run ({elapsed:.0f} s) of:

    {cmd}

* X: `stsgate serve` (local provider) playing Alibaba Cloud; Y: `stsgate serve` whose grant `cloud`
  names `provider = "x"`, `[provider.x]` pointed at X's sts and oss faces (timeout 5 s, retries 3),
  credentials_file = X's root-credentials.json. Rate limits off on both; `RUST_LOG=error`; fresh
  data directories under `target/`; loopback only.
* Client: Python stdlib `http.client`, {a.threads} threads, one keep-alive connection each; latency is
  one request's round trip as the client sees it (its own cost included, the same for X and Y rows).
* X direct: {a.callers} AssumeRole requests signed beforehand with X's root key (RPC V1, POST form
  body, Format=JSON, DurationSeconds=900, an inline session policy of the grant's shape, distinct
  RoleSessionNames), as Y sends them.
* Unloaded rows: one client alternating one X direct AssumeRole and one Y miss (a fresh caller each
  time), {a.samples} of each, so both see the same moments of the machine: the honest "added latency".
  Under load ({a.threads} clients) both X rows queue behind X's own throughput, so there the
  difference mostly measures X's queue, not Y.
* Y miss: the first ask of each of {a.callers} distinct callers (HS256 JWTs, Y's dev key,
  `format=oss-app-server`): Y signs and sends one AssumeRole to X, parses it, writes its audit row,
  answers. Returning asks: the other {a.asks - 1} asks of every caller, shuffled together, so one
  caller's asks may be in flight at once (they share one slot).
* {calls}

{table}

{notes}"""
    res = write_section(BEGIN, NOTES, END, section)
    print(f"wrote the provider section of {res.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
