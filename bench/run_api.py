#!/usr/bin/env python3
"""stsgate api-face benchmark: credential issuance and /auth/custom (not a test; CI does not run it).

    cargo build --release -p stsgate --bins --example fixed_body && python3 bench/run_api.py

Needs `wrk` (`apt-get install -y wrk`; without it a built-in asyncio client is used, which
saturates long before the servers do: the figures are then a floor, see --help) and a venv with
Flask and gunicorn pinned in bench/requirements.txt (created in target/bench-venv on first use).

In one run, one server loaded at a time, 64 keep-alive connections (wrk -t2 -c64 --latency),
SECONDS each, loopback only, it measures request rate and latency (p50, p99) of rows 1-4 in
ROUNDS interleaved rounds (each round starting with the next row) and row 5 once after them:
  1. axum fixed body: crates/server/examples/fixed_body.rs (same tokio/axum as stsgate);
  2. Flask /auth/custom: bench/flask_auth_custom.py (seed 000's route) under `gunicorn -w 4`
     (seed 004's deployment; sync workers, so every request is a new connection);
  3. stsgate POST /auth/custom (in-grant V1 string-to-sign, 64 callers whose scope is cached,
     signed with the grant's long-term signing key; each request writes its `signed` audit row);
  4. stsgate GET /v1/credentials?grant=user-folder, cache hit: the same 64 callers again;
  5. stsgate GET /v1/credentials?grant=user-folder, cache miss: every request is a caller never
     seen before (JWTs with distinct `sub` minted beforehand, each used once), so each one mints
     credentials and writes its `issued` audit row before answering;
and prints rates as ratios to (1) and (2) — the median over the rounds of each round's ratio —,
checks the targets and rewrites its section of bench/RESULTS.md (hand-written notes below the
section's notes marker are kept).
"""

import argparse
import asyncio
import base64
import datetime as dt
import email.utils
import hashlib
import hmac
import json
import os
import platform
import re
import resource
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(os.environ.get("STSGATE_BIN", ROOT / "target/release/stsgate"))
FIXED = ROOT / "target/release/examples/fixed_body"
VENV = ROOT / "target/bench-venv"
LUA = ROOT / "bench/wrk/api.lua"
GRANT = "user-folder"
CREDS_PATH = f"/v1/credentials?grant={GRANT}"
BEGIN = "<!-- api bench: begin (section written by bench/run_api.py) -->"
NOTES = "<!-- api bench notes: kept by bench/run_api.py -->"
END = "<!-- api bench: end -->"
TICK = os.sysconf("SC_CLK_TCK")
RUNNING = []  # servers started by this run, stopped on the way out whatever happens


# ---- processes ---------------------------------------------------------------------------
def start(cmd, pattern, env=None, cwd=None, fail_ok=False):
    """Starts cmd and waits for the line matching `pattern` (its listening address)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=cwd,
                            env=dict(os.environ, **(env or {})))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline().decode()
        if not line:
            break
        m = re.match(pattern, line)
        if m:
            threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
            RUNNING.append(proc)
            return proc, m.group(1)
    proc.kill()
    proc.wait()
    if fail_ok:
        return None, None
    sys.exit(f"{cmd[0]} did not start")


def stop(proc):
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_venv() -> Path:
    py = VENV / "bin/python"
    if not (VENV / "bin/gunicorn").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "-r", str(ROOT / "bench/requirements.txt")],
                       check=True)
    return VENV / "bin/gunicorn"


def start_flask():
    port = free_port()
    proc = subprocess.Popen([str(ensure_venv()), "-w", "4", "-b", f"127.0.0.1:{port}", "flask_auth_custom:app"],
                            cwd=ROOT / "bench", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    RUNNING.append(proc)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        sys.exit("gunicorn did not start")
    # Wait for the 4 workers to be forked and answering.
    time.sleep(2)
    return proc, f"http://127.0.0.1:{port}"


def cpu_seconds(pid: int) -> float:
    """utime + stime of pid and its children (gunicorn's workers), in seconds."""
    total = 0
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            f = (p / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(p.name) == pid or int(f[1]) == pid:
            total += int(f[11]) + int(f[12])
    return total / TICK


def cpu_ticks():
    f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return sum(f) - f[3] - f[4], sum(f)


def busy_percent(seconds: float) -> float:
    b0, t0 = cpu_ticks()
    time.sleep(seconds)
    b1, t1 = cpu_ticks()
    return 100 * (b1 - b0) / max(1, t1 - t0)


# ---- callers -----------------------------------------------------------------------------
def b64url(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def mint_jwts(key: bytes, subs, ttl=3600):
    """HS256 JWTs with the claims `stsgate token --sub S` puts in (sub, iat, exp) and the
    jsonwebtoken crate's header; the data dir's key, as the CLI uses. (The CLI, one process per
    token, would take minutes for the cache-miss run's callers.)"""
    now = int(time.time())
    head = b64url(json.dumps({"typ": "JWT", "alg": "HS256"}, separators=(",", ":")).encode())
    out = []
    for s in subs:
        body = b64url(json.dumps({"sub": s, "iat": now, "exp": now + ttl}, separators=(",", ":")).encode())
        msg = f"{head}.{body}".encode()
        out.append(f"{head}.{body}.{b64url(hmac.new(key, msg, hashlib.sha256).digest())}")
    return out


def custom_body(sub: str) -> str:
    """seed 000's form: `content` = an OSS V1 string-to-sign, here a GET inside the caller's
    folder (Date now; signed with the grant's signing key, no token)."""
    sts = f"GET\n\n\n{email.utils.formatdate(usegmt=True)}\n/app/users/{sub}/bench.txt"
    return urllib.parse.urlencode({"content": sts})


def write_callers(path: Path, tokens, bodies=None):
    with open(path, "w") as f:
        for i, t in enumerate(tokens):
            f.write(t + "\t" + (bodies[i] if bodies else "") + "\n")


def http(method, url, token=None, body=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if body:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    req = urllib.request.Request(url, data=body.encode() if body else None, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


# ---- load --------------------------------------------------------------------------------
def wrk_run(url, method, path, callers: Path, mode, a):
    cmd = ["wrk", f"-t{a.threads}", f"-c{a.conns}", f"-d{a.seconds}s", "--latency", "--timeout", "10s",
           "-s", str(LUA), url, "--", method, path, str(callers), mode, str(a.threads)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode:
        sys.exit(f"wrk failed:\n{p.stdout}\n{p.stderr}")
    out = p.stdout
    m = re.search(r"RESULT requests=(\d+) duration_us=(\d+) p50_us=(\d+) p99_us=(\d+) non2xx=(\d+) "
                  r"socket_errors=(\d+) reused=(\d+)", out)
    if not m:
        sys.exit(f"wrk gave no result:\n{out}")
    reqs, us, p50, p99, non2xx, sock, reused = map(int, m.groups())
    return {"requests": reqs, "rate": reqs / (us / 1e6), "p50": p50 / 1000, "p99": p99 / 1000,
            "non2xx": non2xx, "socket_errors": sock, "reused": reused}


async def _async_run(url, method, path, lines, mode, a):
    u = urllib.parse.urlsplit(url)
    deadline = time.monotonic() + a.seconds
    lat, errs, reused, nxt = [], [0], [0], [0]

    async def worker():
        reader, writer = await asyncio.open_connection(u.hostname, u.port)
        while time.monotonic() < deadline:
            i = nxt[0]
            nxt[0] += 1
            if i >= len(lines):
                reused[0] += mode == "once"
            tok, body = lines[i % len(lines)]
            head = (f"{method} {path} HTTP/1.1\r\nHost: {u.netloc}\r\nAuthorization: Bearer {tok}\r\n"
                    f"Content-Length: {len(body)}\r\n")
            if body:
                head += "Content-Type: application/x-www-form-urlencoded\r\n"
            t = time.perf_counter()
            writer.write((head + "\r\n" + body).encode())
            status = await reader.readline()
            length, close = 0, False
            while (line := await reader.readline()) not in (b"\r\n", b""):
                k, _, v = line.decode().partition(":")
                length = int(v) if k.lower() == "content-length" else length
                close = close or (k.lower() == "connection" and "close" in v.lower())
            await reader.readexactly(length)
            lat.append(time.perf_counter() - t)
            errs[0] += not status.startswith(b"HTTP/1.1 2")
            if close:
                writer.close()
                reader, writer = await asyncio.open_connection(u.hostname, u.port)
        writer.close()

    t = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(a.conns)))
    lat.sort()
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else 0
    return {"requests": len(lat), "rate": len(lat) / (time.monotonic() - t), "p50": q(0.50), "p99": q(0.99),
            "non2xx": errs[0], "socket_errors": 0, "reused": reused[0]}


def load(url, method, path, callers: Path, mode, a):
    if a.tool == "wrk":
        return wrk_run(url, method, path, callers, mode, a)
    lines = [tuple((ln.rstrip("\n") + "\t").split("\t")[:2]) for ln in callers.read_text().splitlines()]
    return asyncio.run(_async_run(url, method, path, lines, mode, a))


def measure(name, pid, url, method, path, callers, mode, a):
    print(f"  {name} ...", flush=True)
    ru = lambda: (lambda u: u.ru_utime + u.ru_stime)(resource.getrusage(resource.RUSAGE_CHILDREN))
    c0, b0, w0, t0 = cpu_seconds(pid), cpu_ticks(), ru(), time.monotonic()
    r = load(url, method, path, callers, mode, a)
    c1, b1, w1, t1 = cpu_seconds(pid), cpu_ticks(), ru(), time.monotonic()
    # The rest of the machine's busy time: other users' work (and this script's own thread).
    cores = os.cpu_count()
    machine = (b1[0] - b0[0]) / TICK
    r["others"] = 100 * max(0.0, machine - (c1 - c0) - (w1 - w0)) / (cores * (t1 - t0))
    r["client_cpu_us"] = 1e6 * (w1 - w0) / max(1, r["requests"]) if a.tool == "wrk" else 0
    r["server_cpu_us"] = 1e6 * (c1 - c0) / max(1, r["requests"])
    r["busy"] = 100 * (b1[0] - b0[0]) / max(1, b1[1] - b0[1])
    r["name"] = name
    print(f"    {r['rate']:.0f} req/s, p50 {r['p50']:.2f} ms, p99 {r['p99']:.2f} ms, "
          f"{r['server_cpu_us']:.0f} µs server CPU/request, {r['client_cpu_us']:.0f} µs wrk CPU/request, "
          f"others {r['others']:.0f}% of the CPUs, non-2xx {r['non2xx']}, reused {r['reused']}", flush=True)
    return r


# ---- main --------------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=10, help="duration of each measurement (default 10)")
    ap.add_argument("--rounds", type=int, default=5,
                    help="rounds of the axum, Flask, /auth/custom and cache-hit rows, interleaved (default 5); "
                         "each figure is the median over the rounds, each ratio the median of the "
                         "per-round ratios (the miss row runs once, after the rounds)")
    ap.add_argument("--conns", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2, help="wrk threads (default 2: the machine's cores)")
    ap.add_argument("--miss-callers", type=int, default=300_000,
                    help="distinct callers minted for the cache-miss run; each is used once")
    ap.add_argument("--config", help="stsgate.toml passed to `stsgate serve` (e.g. to lift rate limits)")
    ap.add_argument("--wait-quiet", type=int, default=0, metavar="SECONDS",
                    help="first wait up to SECONDS for a 3 s window with the CPUs under 25%% busy")
    ap.add_argument("--no-wrk", action="store_true", help="use the built-in asyncio client even if wrk exists")
    ap.add_argument("--no-write", action="store_true", help="do not rewrite the section of bench/RESULTS.md")
    ap.add_argument("--only", help="quick check: comma-separated rows among axum,flask,custom,hit,miss; "
                    "prints rate and CPU per request, never writes bench/RESULTS.md")
    a = ap.parse_args()
    only = set(a.only.split(",")) if a.only else None
    want = lambda k: only is None or k in only
    a.tool = "wrk" if shutil.which("wrk") and not a.no_wrk else "asyncio"
    a.version = subprocess.run([str(BIN), "--version"], capture_output=True, text=True).stdout.strip().split()[-1]
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        a.version += f", git {rev}{' + uncommitted changes' if dirty else ''}"
    except OSError:
        pass
    for b, how in ((BIN, "cargo build --release -p stsgate"),
                   (FIXED, "cargo build --release -p stsgate --example fixed_body")):
        if not b.exists():
            sys.exit(f"{b} missing: {how}")
    (ROOT / "target").mkdir(exist_ok=True)
    idle = busy_percent(3)
    give_up = time.monotonic() + a.wait_quiet
    while idle >= 25 and time.monotonic() < give_up:
        print(f"  machine {idle:.0f}% busy, waiting for a quieter moment", flush=True)
        idle = busy_percent(3)
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="stsgate-apibench-", dir=ROOT / "target"))
    results = {}
    try:
        # All three servers are started first (an idle one costs nothing), so that the rows can
        # be measured in interleaved rounds: the machine's speed drifts over a run, and a ratio
        # of two rows measured seconds apart is steadier than one of rows a minute apart.
        rounds = {}
        if want("axum"):
            fixed, url = start([str(FIXED), "127.0.0.1:0"], r"^fixed_body listening on (http://[\d.]+:\d+)")
            any_caller = work / "one.txt"
            write_callers(any_caller, ["x"] * a.conns, [custom_body("x")] * a.conns)
            assert http("POST", url + "/auth/custom", "x", custom_body("x"))[0] == 200
            rounds["axum"] = lambda: measure("axum fixed body", fixed.pid, url, "POST", "/auth/custom",
                                             any_caller, "rotate", a)

        # stsgate, and the callers (64 warm ones; fresh ones for the misses).
        data = work / "data"
        serve = [str(BIN), "serve", "--data", str(data), "--oss-addr", "127.0.0.1:0",
                 "--sts-addr", "127.0.0.1:0", "--api-addr", "127.0.0.1:0"]
        # stsgate's rate limits ([api.rate_limit], default 100/s per IP, 20/s per caller) would
        # measure the limiter, not the server: the benchmark turns them off, unless --config.
        config = a.config
        if not config:
            config = work / "stsgate.toml"
            config.write_text("[api.rate_limit]\nenabled = false\n")
        pattern = r"^api listening on (http://[\d.]+:\d+)"
        srv, api = start(serve + ["--config", str(config)], pattern, env={"RUST_LOG": "error"}, fail_ok=True)
        a.limits = f"`--config {a.config}`" if a.config else "rate limits off (`[api.rate_limit] enabled = false`)"
        if not srv:
            if a.config:
                sys.exit(f"stsgate did not start with --config {a.config}")
            # A binary from before [api.rate_limit]: it has no limits to turn off.
            shutil.rmtree(data, ignore_errors=True)
            srv, api = start(serve, pattern, env={"RUST_LOG": "error"})
            a.limits = "no config (this binary has no rate limits)"
        key = (data / "jwt-hs256.key").read_bytes()
        run = os.urandom(3).hex()
        warm_subs = [f"hit-{run}-{i}" for i in range(a.conns)]
        # The CLI's token and ours are interchangeable (checked on the first caller).
        cli = subprocess.run([str(BIN), "token", "--data", str(data), "--sub", warm_subs[0]],
                             capture_output=True, text=True, check=True).stdout.strip()
        warm = [cli] + mint_jwts(key, warm_subs[1:])
        bodies = [custom_body(s) for s in warm_subs]
        for t, b in zip(warm, bodies):
            st, text = http("GET", api + CREDS_PATH, t)
            assert st == 200, (st, text)
            st, text = http("POST", api + "/auth/custom", t, b)
            assert st == 200 and text.startswith("OSS LTAI"), (st, text)
        warm_file = work / "warm.txt"
        write_callers(warm_file, warm, bodies)
        miss_subs = [f"miss-{run}-{i}" for i in range(a.miss_callers if want("miss") else 0)]
        miss_file = work / "miss.txt"
        write_callers(miss_file, mint_jwts(key, miss_subs))
        if want("custom"):
            rounds["custom"] = lambda: measure("stsgate /auth/custom (cached credentials)", srv.pid, api,
                                               "POST", "/auth/custom", warm_file, "rotate", a)
        if want("hit"):
            rounds["hit"] = lambda: measure("stsgate /v1/credentials, cache hit", srv.pid, api, "GET",
                                            CREDS_PATH, warm_file, "rotate", a)

        # Flask under gunicorn -w 4, checked against a local HMAC first.
        if want("flask"):
            fl, furl = start_flask()
            st, text = http("POST", furl + "/auth/custom", warm[0], bodies[0])
            content = urllib.parse.parse_qs(bodies[0])["content"][0]
            mac = base64.b64encode(hmac.new(b"benchmark-secret-not-a-real-key", content.encode(),
                                            hashlib.sha1).digest())
            assert st == 200 and text == f"OSS LTAIbenchmarkkeyid:{mac.decode()}", (st, text)
            rounds["flask"] = lambda: measure("Flask /auth/custom (gunicorn -w 4)", fl.pid, furl, "POST",
                                              "/auth/custom", warm_file, "rotate", a)

        # The rounds: each starts with a different row, so no row always follows the same one
        # (Flask's sync workers leave ~20k sockets in TIME_WAIT per row; no effect on the next row
        # was measured, but the rotation keeps any such effect off a single row).
        order = list(rounds)
        for i in range(a.rounds):
            turn = order[i % len(order):] + order[:i % len(order)] if order else []
            print(f"round {i + 1} of {a.rounds}: {', '.join(turn)}", flush=True)
            for k in turn:
                results.setdefault(k, []).append(rounds[k]())

        # The misses, once (each caller may be used only once).
        audit = lambda: sqlite3.connect(f"file:{data / 'audit.sqlite3'}?mode=ro", uri=True).execute(
            "SELECT outcome, COUNT(*) FROM audit GROUP BY outcome").fetchall()
        if want("miss"):
            before = dict(audit())
            miss = measure("stsgate /v1/credentials, cache miss", srv.pid, api, "GET", CREDS_PATH,
                           miss_file, "once", a)
            after = dict(audit())
            miss["issued_rows"] = after.get("issued", 0) - before.get("issued", 0)
            results["miss"] = [miss]
            results["audit_after"] = after

    finally:
        for p in RUNNING:
            if p.poll() is None:
                stop(p)
        shutil.rmtree(work, ignore_errors=True)
    elapsed = time.monotonic() - started
    if only is not None:  # the figures were printed as measured
        return
    report(results, a, idle, elapsed)


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def summarize(results):
    """Per row: the measurement with the median rate (its latency and CPU figures are reported with
    it) plus `vs_flask`/`vs_axum`, the medians of the per-round rate ratios (rows measured once,
    the misses, are divided by the median Flask/axum rate)."""
    out = {}
    for k in ("axum", "flask", "custom", "hit", "miss"):
        ms = results[k]
        rep = dict(sorted(ms, key=lambda m: m["rate"])[(len(ms) - 1) // 2])
        rep["rate"] = median([m["rate"] for m in ms])
        rep["rates"] = [m["rate"] for m in ms]
        rep["requests"] = sum(m["requests"] for m in ms)
        rep["non2xx"] = sum(m["non2xx"] for m in ms)
        rep["socket_errors"] = sum(m["socket_errors"] for m in ms)
        rep["reused"] = sum(m["reused"] for m in ms)
        rep["busy"] = median([m["busy"] for m in ms])
        rep["others"] = max(m["others"] for m in ms)
        for base, field in (("flask", "vs_flask"), ("axum", "vs_axum")):
            bs = results[base]
            if len(ms) == len(bs):
                rep[field + "_rounds"] = [m["rate"] / b["rate"] for m, b in zip(ms, bs)]
            else:
                rep[field + "_rounds"] = [m["rate"] / median([b["rate"] for b in bs]) for m in ms]
            rep[field] = median(rep[field + "_rounds"])
        out[k] = rep
    out["audit_after"] = results["audit_after"]
    return out


def report(results, a, idle, elapsed):
    ok = lambda met: "**met**" if met else "**not met**"
    r = summarize(results)
    fl, ax = r["flask"], r["axum"]
    targets = {
        "custom": (20, 0.5),
        "hit": (15, 0.5),
        "miss": (5, None),
    }
    lines = ["| server, route | req/s | p50 | p99 | rate ÷ Flask | rate ÷ axum | p50, p99 ÷ Flask's | "
             "p50, p99 ÷ axum's | server CPU / request | target |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    verdicts = []
    for k in ("axum", "flask", "custom", "hit", "miss"):
        x = r[k]
        tgt = ""
        if k in targets:
            fx, axr = targets[k]
            parts = [f"≥ {fx}× Flask: {ok(x['vs_flask'] >= fx)}"]
            verdicts.append(x["vs_flask"] >= fx)
            if axr:
                parts.append(f"≥ {axr:.0%} of axum: {ok(x['vs_axum'] >= axr)}")
                verdicts.append(x["vs_axum"] >= axr)
            tgt = "; ".join(parts)
        errs = x["non2xx"] + x["socket_errors"]
        if k in targets and (errs > 0.001 * x["requests"] or x["reused"]):
            verdicts.append(False)
            tgt = f"**invalid run** ({errs} errors, {x['reused']} reused callers); " + tgt
        note = f" ({errs} errors)" if errs else ""
        lines.append(
            f"| {x['name']} | {x['rate']:.0f}{note} | {x['p50']:.2f} ms | {x['p99']:.2f} ms | "
            f"{x['vs_flask']:.1f}× | {x['vs_axum']:.0%} | "
            f"{x['p50'] / fl['p50']:.2f}, {x['p99'] / fl['p99']:.2f} | "
            f"{x['p50'] / ax['p50']:.1f}, {x['p99'] / ax['p99']:.1f} | {x['server_cpu_us']:.0f} µs | {tgt} |")
    table = "\n".join(lines)
    m = r["miss"]
    busy = ", ".join(f"{r[k]['busy']:.0f}% (others {r[k]['others']:.0f}%)" for k in ("axum", "flask", "custom", "hit", "miss"))
    per_round = "; ".join(
        f"{r[k]['name']}: " + ", ".join(f"{q / 1000:.1f}k" for q in r[k]["rates"])
        + (f" (÷ Flask {', '.join(f'{v:.1f}×' for v in r[k]['vs_flask_rounds'])}; "
           f"÷ axum {', '.join(f'{v:.0%}' for v in r[k]['vs_axum_rounds'])})" if k in ("custom", "hit") else "")
        for k in ("axum", "flask", "custom", "hit"))
    checks = (f"Rates per round (req/s, in round order): {per_round}.\n"
              f"Cache-miss run: {m['requests']} requests, {m['issued_rows']} new `issued` audit rows (more rows than counted requests: wrk stops counting with up to "
              f"{a.conns} requests in flight), "
              f"{m['reused']} requests reused a caller (must be 0 for an honest miss figure"
              f"{'' if m['reused'] == 0 else ': NOT SO, raise --miss-callers'}).\n"
              f"Audit log at the end: {', '.join(f'{o} {n}' for o, n in sorted(r['audit_after'].items()))}.\n"
              f"Machine load: {idle:.0f}% of both CPUs busy in the 3 s before the run (others' work); "
              f"during each row (median over its rounds of all busy time, then the most that neither server nor wrk used in any round): "
              f"{busy}; "
              f"run took {elapsed:.0f} s.")
    print()
    print(table)
    print(checks)
    print("all targets met" if all(verdicts) else "some targets NOT met")
    if a.no_write:
        return
    tool = (f"wrk {subprocess.run(['wrk', '-v'], capture_output=True, text=True).stdout.split()[1]} "
            f"-t{a.threads} -c{a.conns} -d{a.seconds}s --latency -s bench/wrk/api.lua"
            if a.tool == "wrk" else
            f"built-in asyncio client ({a.conns} connections, one Python process: it saturates near "
            f"a few thousand req/s, so every figure and ratio above Flask's is a floor)")
    cmd = "cargo build --release -p stsgate --bins --example fixed_body && python3 bench/run_api.py"
    if a.seconds != 10:
        cmd += f" --seconds {a.seconds}"
    if a.rounds != 5:
        cmd += f" --rounds {a.rounds}"
    if a.config:
        cmd += f" --config {a.config}"
    if a.wait_quiet:
        cmd += f" --wait-quiet {a.wait_quiet}"
    cmd += f"  # stsgate {a.version}"
    section = lambda notes: f"""{BEGIN}

# api face: credential issuance and /auth/custom (bench/run_api.py)

Measured {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} on the dev machine ({os.cpu_count()} CPUs
shared by the load generator, the server under test and other engineers' builds; Linux
{platform.release()}), all figures from one run ({a.rounds} rounds) of:

    {cmd}

* stsgate: {a.limits}; `RUST_LOG=error`; a fresh data directory under `target/`.
* Load: {tool}; {a.conns} connections, {a.seconds} s per row and round, loopback, one server loaded
  at a time (all three started first). Rows axum, Flask, /auth/custom and cache hit run in
  {a.rounds} interleaved rounds, each round starting with the next row; the table gives each
  row's median rate (latency and CPU: that of its median round) and, as ratios, the median of the
  per-round ratios, so a drift of the machine's speed during the run moves both sides of a ratio.
  The cache-miss row runs once, after the rounds (each caller may be used once).
  Every request carries `Authorization: Bearer <JWT>` (HS256, the data dir's dev key).
* axum fixed body: `crates/server/examples/fixed_body.rs`, same tokio/axum as stsgate, answering
  the same POST as /auth/custom with a fixed body.
* Flask: `bench/flask_auth_custom.py` (seed 000's `/auth/custom`: HMAC-SHA1 of the posted `content`,
  base64, `OSS <key>:<sig>`) under `gunicorn -w 4` (seed 004's deployment; default sync workers,
  which close the connection after each answer, so wrk reconnects per request), Flask and
  gunicorn pinned in `bench/requirements.txt`. Same request bodies as stsgate's /auth/custom.
* stsgate /auth/custom: 64 callers (JWTs with distinct `sub`), each posting an in-grant V1
  string-to-sign (`GET`, Date at the start of the run, `/app/users/<sub>/bench.txt`); their
  credentials were fetched once before the run, so every request reuses them; each request still
  verifies the JWT, parses and checks the string, signs and writes a `signed` audit row before answering.
* /v1/credentials cache hit: the same 64 callers asking again (one slot per caller, as in
  production, rather than 64 connections queueing on one caller's slot lock).
* /v1/credentials cache miss: stsgate has no switch to turn reuse off, so every request is a caller
  never seen before: {a.miss_callers} JWTs with distinct `sub` minted beforehand, each used at most once;
  each request mints credentials (role `app` read from iam.sqlite3, token AEAD) and writes its
  `issued` audit row (audit.sqlite3, WAL, synchronous=NORMAL) before answering.
* {checks.replace(chr(10), chr(10) + '  ')}

{table}

{notes}"""
    write_section(BEGIN, NOTES, END, section)
    print("\nwrote bench/RESULTS.md (api section)")


def write_section(begin, notes_marker, end, section):
    """Rewrites one benchmark's section of bench/RESULTS.md (from `begin` to `end`, moved to the
    end of the file) as `section(notes)`, where `notes` is the hand-written text of the old
    section from `notes_marker` on (kept as is). Returns the file's path."""
    res = ROOT / "bench/RESULTS.md"
    old = res.read_text() if res.exists() else ""
    notes = notes_marker + "\n"
    if begin in old and end in old:
        sec = old[old.index(begin):old.index(end)]
        if notes_marker in sec:
            notes = sec[sec.index(notes_marker):]
        old = old[:old.index(begin)].rstrip("\n") + "\n\n" + old[old.index(end) + len(end):].lstrip("\n")
    res.write_text(old.rstrip("\n") + "\n\n" + section(notes).rstrip("\n") + "\n\n" + end + "\n")
    return res


if __name__ == "__main__":
    main()
