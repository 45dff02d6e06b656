#!/usr/bin/env python3
"""stsgate object-store benchmark (issue 13: object faces at the speed of the machine), oss face
and cos face side by side, against the machine's own limits measured in the same run (not a
test; CI does not run it).

    cargo build --release -p stsgate && cargo build --release -p stsgate-store --example seed \\
      && .venv/bin/python bench/run.py [--quick]

Needs the conformance venv (oss2, cos-python-sdk-v5) for signing and set-up, `curl`, `dd`,
`md5sum`, `wrk` and `nginx` (run as root, it installs the last two with `apt-get install -y wrk
nginx-light` when they are missing; otherwise it says what to install). STSGATE_BIN and
STSGATE_SEED name other builds of the server and of the seeding tool
(crates/store/examples/seed.rs).

Everything runs on loopback, on one disk (a temp dir under the repository's target/ holds the
server's data directories, the files nginx serves, the baselines' files), with bounded loads:
  1. 4 KiB GET, 64 connections (wrk -t2 -c64) and one connection (wrk -t1 -c1 --latency): nginx
     (1 worker, sendfile, no access log, keep-alive) serving the 512 source files, and stsgate
     serving the same bytes as 512 objects: oss face with V1 presigned URLs (the target row),
     oss face anonymous from a public-read bucket (reference), cos face with q-sign presigned URLs.
  2. 4 KiB PUT, 64 connections and one connection: bench/durable_writes.py (the same 4 KiB
     written durably from 64 threads, resp. 1: write, fsync, rename, fsync dir) against stsgate's
     oss and cos faces.
     Each of 1 and 2 runs its rows in two mirrored rounds A-B-C-…-C-B-A (each round's order
     drawn by the seed): every row runs four times, back to back with the others, and a linear
     drift of the machine's speed within a round cancels out of every ratio.
  3. 512 MiB, per repetition, in a fresh random order, `sync` before each: `dd conv=fsync` and
     `md5sum` of the source file (the PUT baseline is the slower of the two), PUT of that file
     with `curl -T` (oss, cos), GET to /dev/null with curl from stsgate (oss, cos) and from nginx
     (the same file). Ratios are medians of per-repetition ratios.
  4. 1,000,000 objects: two fresh data dirs seeded through the store (crates/store/examples/
     seed.rs): a bucket of 1000 prefixes × 1000 keys and one of 1 prefix × 1000 keys, one server
     each; small GET rate (1000 distinct keys each) and ListObjects rate (prefix + max-keys=1000,
     V1 presigned), in mirrored rounds; plus, for reference, GETs of 100,000 distinct keys of the
     big bucket.
  5. Peak RSS (VmHWM) of a freshly started server during a 1 GiB upload and during 256
     concurrent 4 KiB uploads (wrk -c256), and of the phase-1/2 server at its end.
It prints the tables and rewrites the object-store part of bench/RESULTS.md (hand-written notes
below its marker and the other benchmarks' sections are kept).
"""

import argparse
import concurrent.futures
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
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import oss2
from qcloud_cos import CosConfig, CosS3Client

# Machine-load and port helpers shared with the api benchmark (same folder), as run_provider.py.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_api import busy_percent, cpu_ticks, free_port  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(os.environ.get("STSGATE_BIN", ROOT / "target/release/stsgate"))
SEED_BIN = Path(os.environ.get("STSGATE_SEED", BIN.parent / "examples" / "seed"))
KIB = 1024
MIB = 1024 * 1024
LISTEN_RE = re.compile(r"^(oss|cos) listening on (http://[\d.]+:\d+)")
BUCKET = "bench"
PUBLIC_BUCKET = "bench-pub"
COS_REGION = "ap-guangzhou"
SMALL = 4 * KIB
N_SMALL = 512
TICK = os.sysconf("SC_CLK_TCK")
ROUNDS = 2  # mirrored rounds A-B-…-B-A per comparison of rates
PROCS = []  # every process started here, stopped at the end whatever happens


# ---- COS q-sign presigned URLs (spec: shared/specs/tencent_aws.md §4) ----------------------
def cos_encode(s: str) -> str:
    """UrlEncode of the COS signature: everything but A-Za-z0-9-_.~ percent-encoded (UTF-8)."""
    return urllib.parse.quote(s, safe="-_.~")


def cos_signature(secret_key: str, method: str, path: str, host: str, start: int, end: int) -> str:
    """q-signature of a request that signs only the `host` header and no parameters; `path` is
    the decoded path the signature covers."""
    key_time = f"{start};{end}"
    sign_key = hmac.new(secret_key.encode(), key_time.encode(), hashlib.sha1).hexdigest()
    http_string = f"{method.lower()}\n{path}\n\nhost={cos_encode(host)}\n"
    string_to_sign = f"sha1\n{key_time}\n{hashlib.sha1(http_string.encode()).hexdigest()}\n"
    return hmac.new(sign_key.encode(), string_to_sign.encode(), hashlib.sha1).hexdigest()


# Spec §4.3 row g (cos-nodejs-sdk-v5 getObjectUrl on 127.0.0.1:8902): the signer must give it.
assert cos_signature("SKEXAMPLE", "GET", "/dir/a.txt", "127.0.0.1:8902", 1699999999, 1700000299) \
    == "48f1d4b5fa774189c0b575ebf231ba99e98f291d"


class CosFace:
    """The cos face's bucket `bench-<AppId>` under the data dir's Tencent root key: presigned URLs
    in the `{Bucket}` path form (`http://IP:PORT/<bucket>/<key>`, signed path `/<key>`, signed
    host `IP:PORT`), and an SDK client (IP mode) for the untimed set-up, checks and clean-up."""

    def __init__(self, endpoint: str, creds: dict):
        self.endpoint = endpoint
        self.host = urllib.parse.urlsplit(endpoint).netloc
        self.secret_id = creds["TencentSecretId"]
        self.secret_key = creds["TencentSecretKey"]
        self.bucket = f"{BUCKET}-{creds['TencentAppId']}"
        u = urllib.parse.urlsplit(endpoint)
        self.client = CosS3Client(CosConfig(Region=COS_REGION, SecretId=self.secret_id,
                                            SecretKey=self.secret_key, Scheme="http",
                                            IP=u.hostname, Port=u.port))

    def sign_url(self, method: str, key: str, expires: int) -> str:
        start = int(time.time()) - 60
        end = start + 60 + expires
        sig = cos_signature(self.secret_key, method, "/" + key, self.host, start, end)
        kt = f"{start}%3B{end}"
        return (f"{self.endpoint}/{self.bucket}/{urllib.parse.quote(key, safe='/-_.~')}"
                f"?q-sign-algorithm=sha1&q-ak={cos_encode(self.secret_id)}&q-sign-time={kt}"
                f"&q-key-time={kt}&q-header-list=host&q-url-param-list=&q-signature={sig}")

    def size(self, key: str) -> int:
        return int(self.client.head_object(Bucket=self.bucket, Key=key)["Content-Length"])

    def delete(self, key: str):
        self.client.delete_object(Bucket=self.bucket, Key=key)


# ---- processes -----------------------------------------------------------------------------
def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (all its threads), in seconds."""
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / TICK


class Server:
    """`stsgate serve` on a data dir, every face on a free loopback port."""

    def __init__(self, data: Path, timeout: float = 120):
        t = time.monotonic()
        self.proc = subprocess.Popen([str(BIN), "serve", "--data", str(data), "--oss-addr", "127.0.0.1:0",
                                      "--cos-addr", "127.0.0.1:0", "--sts-addr", "127.0.0.1:0",
                                      "--tc-sts-addr", "127.0.0.1:0", "--api-addr", "127.0.0.1:0"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     env=dict(os.environ, RUST_LOG="error"))
        PROCS.append(self.proc)
        deadline = time.monotonic() + timeout
        endpoints = {}
        while time.monotonic() < deadline and len(endpoints) < 2:
            line = self.proc.stdout.readline().decode()
            if not line:
                break
            m = LISTEN_RE.match(line)
            if m:
                endpoints[m.group(1)] = m.group(2)
        if len(endpoints) < 2:
            self.proc.kill()
            sys.exit("stsgate did not start")
        self.start_seconds = time.monotonic() - t
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()
        self.pid = self.proc.pid
        self.endpoint = endpoints["oss"]
        creds = json.loads((data / "root-credentials.json").read_text())
        self.auth = oss2.Auth(creds["AccessKeyId"], creds["AccessKeySecret"])
        self.bucket = oss2.Bucket(self.auth, self.endpoint, BUCKET)
        self.cos = CosFace(endpoints["cos"], creds)

    def oss_bucket(self, name: str):
        return oss2.Bucket(self.auth, self.endpoint, name)

    def status(self, field):
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        return 0

    def threads(self) -> int:
        return self.status("Threads") // 1024

    def stop(self):
        stop(self.proc)


class Nginx:
    """nginx 1.22 (Debian) as an unprivileged-config instance: its own conf, pid, logs and temp
    paths in `home`, one worker, `daemon off`, on a free loopback port, serving `root`."""

    def __init__(self, home: Path, root: Path, sendfile: bool = True):
        home.mkdir(parents=True)
        port = free_port()
        # As root, the master would switch its worker to `nobody`, who cannot enter target/.
        user = "user root root;\n" if os.geteuid() == 0 else ""
        conf = home / "nginx.conf"
        send = "sendfile on;" if sendfile else "sendfile off;\n    output_buffers 2 1m;"
        conf.write_text(f"""{user}worker_processes 1;
daemon off;
pid {home}/nginx.pid;
error_log {home}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    {send}
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 75s;
    keepalive_requests 100000000;
    default_type application/octet-stream;
    client_body_temp_path {home}/client_body;
    proxy_temp_path {home}/proxy;
    fastcgi_temp_path {home}/fastcgi;
    uwsgi_temp_path {home}/uwsgi;
    scgi_temp_path {home}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
""")
        self.proc = subprocess.Popen([nginx_bin(), "-p", str(home), "-c", str(conf), "-e", str(home / "error.log")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        PROCS.append(self.proc)
        self.endpoint = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if self.proc.poll() is not None:
                    sys.exit("nginx did not start: " + (home / "error.log").read_text()[-2000:])
                time.sleep(0.05)
        else:
            sys.exit("nginx did not start")
        self.home = home

    @property
    def pid(self) -> int:
        """The worker (the process that serves; the master only watches it)."""
        kids = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        return int(kids[0])

    def stop(self):
        stop(self.proc)


def nginx_bin() -> str:
    return shutil.which("nginx") or "/usr/sbin/nginx"


def ensure_tools():
    """wrk and nginx, installed with apt-get when missing and allowed; the others must be there."""
    missing = [p for p, ok in (("wrk", shutil.which("wrk")), ("nginx-light", Path(nginx_bin()).exists()))
               if not ok]
    if missing:
        if os.geteuid() == 0 and shutil.which("apt-get"):
            print(f"installing {' '.join(missing)} (apt-get install -y)", flush=True)
            subprocess.run(["apt-get", "install", "-y", *missing], check=True)
        else:
            sys.exit(f"missing {', '.join(missing)}: sudo apt-get install -y {' '.join(missing)}")
    for tool in ("curl", "dd", "md5sum", "sync"):
        if not shutil.which(tool):
            sys.exit(f"{tool} missing")
    if not BIN.exists():
        sys.exit(f"{BIN} missing: cargo build --release -p stsgate")
    if not SEED_BIN.exists():
        sys.exit(f"{SEED_BIN} missing: cargo build --release -p stsgate-store --example seed")


# ---- files ---------------------------------------------------------------------------------
def make_file(path: Path, size: int):
    block = os.urandom(min(size, MIB))
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, MIB)
            f.write(block[:n])
            left -= n
        f.flush()
        os.fsync(f.fileno())


def settle():
    """Outside the timed region: write back everything dirty (including the journal entries and,
    with `-o discard`, the discards of files deleted just before) so that no timed operation pays
    for the previous one's leftovers."""
    subprocess.run(["sync"], check=True)


def timed(cmd) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def request(method: str, url: str, body: bytes = None) -> bytes:
    """One request with no headers but Host (and Content-Length): presigned URLs sign none.
    Raises HTTPStatus unless the answer is 2xx."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    try:
        conn.request(method, path_of(url), body=body)
        r = conn.getresponse()
        data = r.read()
    finally:
        conn.close()
    if not 200 <= r.status < 300:
        raise HTTPStatus(r.status, f"{method} {url}: {r.status} {data[:300]!r}")
    return data


class HTTPStatus(Exception):
    def __init__(self, code, text):
        super().__init__(text)
        self.code = code


def path_of(url: str) -> str:
    u = urllib.parse.urlsplit(url)
    return u.path + ("?" + u.query if u.query else "")


def oss_list_url(bucket, prefix: str, max_keys: int, expires: int) -> str:
    """A V1 presigned ListObjects (GET /<bucket>/?prefix=…&max-keys=…), signed by oss2's own
    signer (its public `sign_url` wants a key)."""
    req = oss2.http.Request("GET", bucket._make_url(bucket.bucket_name, ""),
                            params={"prefix": prefix, "max-keys": str(max_keys)})
    return bucket.auth._sign_url(req, bucket.bucket_name, "", expires)


# ---- load runs -----------------------------------------------------------------------------
WRK_LUA = r"""
-- bench/run.py's wrk script: ARGS = METHOD PATHS_FILE BODY_SIZE. Each thread pre-formats one
-- request per path (so the client spends no Lua time per request) and cycles through them,
-- the threads starting at different points. No response() on purpose (it would hand every
-- answer to Lua). Failed answers (status >= 400) and socket errors are counted by wrk.
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
local reqs = {}
local i = 0
function init(args)
  local method, file, size = args[1], args[2], tonumber(args[3])
  local body = nil
  if size > 0 then body = string.rep("x", size) end
  for p in io.lines(file) do
    table.insert(reqs, wrk.format(method, p, nil, body))
  end
  i = (id * 7919) % #reqs
end
function request()
  i = i % #reqs + 1
  return reqs[i]
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d\n", summary.requests, summary.duration,
    e.status + e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99)))
end
"""


class Load:
    """wrk runs over a temp dir of path files."""

    def __init__(self, work: Path):
        self.dir = work / "wrk"
        self.dir.mkdir()
        self.lua = self.dir / "run.lua"
        self.lua.write_text(WRK_LUA)
        self.n = 0

    def paths_file(self, paths) -> Path:
        self.n += 1
        f = self.dir / f"paths-{self.n}"
        f.write_text("".join(p + "\n" for p in paths))
        return f

    def wrk(self, endpoint, method, paths_file, body_size, conns, seconds, threads=2, pid=None):
        """One wrk run: {requests, seconds, rate, errors, p50_ms, p99_ms, cpu_us} (cpu_us: CPU
        time of process `pid` per request during the run)."""
        c0 = cpu_seconds(pid) if pid else 0
        cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--latency", "-s", str(self.lua),
               endpoint, "--", method, str(paths_file), str(body_size)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        c1 = cpu_seconds(pid) if pid else 0
        m = re.search(r"RESULT (\d+) (\d+) (\d+) (\d+) (\d+)", out)
        if not m:
            sys.exit("wrk: " + out)
        reqs, micros, errors, p50, p99 = map(int, m.groups())
        return {"requests": reqs, "seconds": micros / 1e6, "rate": reqs / (micros / 1e6), "errors": errors,
                "p50_ms": p50 / 1000, "p99_ms": p99 / 1000, "cpu_us": (c1 - c0) * 1e6 / max(1, reqs)}


def durable_writes(work: Path, threads: int, seconds: float):
    """The small-PUT baseline: bench/durable_writes.py in a new process."""
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "durable_writes.py"), str(work / "durable"),
                          "--threads", str(threads), "--seconds", str(seconds), "--size", str(SMALL),
                          "--names", str(N_SMALL)], capture_output=True, text=True, check=True).stdout
    r = json.loads(out)
    return {"requests": r["ops"], "seconds": r["seconds"], "rate": r["rate"], "errors": 0,
            "p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"], "cpu_us": r["cpu_seconds"] * 1e6 / max(1, r["ops"])}


def mirrored(rng, rows: dict, label: str, rounds: int = ROUNDS):
    """Runs every row of `rows` (name → zero-argument run function) twice per round, in the
    order A-B-…-B-A (each round's first half shuffled by `rng`). Returns {name: combined
    figures} and the runs in order: rate = all requests over all seconds, p50/p99 the mean of
    the runs', CPU per request over all runs."""
    runs = {name: [] for name in rows}
    sequence = []
    for _ in range(rounds):
        order = list(rows)
        rng.shuffle(order)
        for name in order + order[::-1]:
            r = rows[name]()
            runs[name].append(r)
            sequence.append(f"{name} {r['rate']:.0f}/s p50 {r['p50_ms']:.3f} ms")
    out = {}
    for name, rs in runs.items():
        reqs = sum(r["requests"] for r in rs)
        out[name] = {"rate": reqs / sum(r["seconds"] for r in rs), "errors": sum(r["errors"] for r in rs),
                     "p50_ms": statistics.mean(r["p50_ms"] for r in rs),
                     "p99_ms": statistics.mean(r["p99_ms"] for r in rs),
                     "cpu_us": sum(r["cpu_us"] * r["requests"] for r in rs) / max(1, reqs),
                     "runs": [r["rate"] for r in rs]}
    return out, f"{label}: " + ", ".join(sequence)


# ---- phases 1 and 2: small objects -----------------------------------------------------------
def small_objects(srv: Server, ngx: Nginx, load: Load, work: Path, www: Path, rng, rate_s, lat_s):
    """4 KiB GET and PUT, 64 connections and one, mirrored sequences."""
    names = [f"{i:05d}" for i in range(N_SMALL)]
    get_keys = [f"rps/{n}" for n in names]
    put_keys = [f"rps-put/{n}" for n in names]
    pub = srv.oss_bucket(PUBLIC_BUCKET)
    cos = srv.cos
    # The objects the GETs read: the bytes of the files nginx serves, uploaded untimed.
    files = [(www / "small" / n).read_bytes() for n in names]

    def upload(i):
        request("PUT", srv.bucket.sign_url("PUT", get_keys[i], 3600), files[i])
        request("PUT", pub.sign_url("PUT", get_keys[i], 3600), files[i])
        request("PUT", cos.sign_url("PUT", get_keys[i], 3600), files[i])

    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        list(ex.map(upload, range(N_SMALL)))
    # The same bytes through every face, and anonymous reads of the public bucket only.
    i = rng.randrange(N_SMALL)
    anon = f"{srv.endpoint}/{PUBLIC_BUCKET}/{get_keys[i]}"
    for url in (srv.bucket.sign_url("GET", get_keys[i], 3600), anon, cos.sign_url("GET", get_keys[i], 3600),
                f"{ngx.endpoint}/small/{names[i]}"):
        assert request("GET", url) == files[i], url
    try:
        request("GET", f"{srv.endpoint}/{BUCKET}/{get_keys[i]}")
        sys.exit("an anonymous GET of the private bucket was answered")
    except HTTPStatus as e:
        assert e.code == 403

    get_paths = {
        "nginx": load.paths_file(f"/small/{n}" for n in names),
        "oss": load.paths_file(path_of(srv.bucket.sign_url("GET", k, 7200)) for k in get_keys),
        "oss-anon": load.paths_file(f"/{PUBLIC_BUCKET}/{k}" for k in get_keys),
        "cos": load.paths_file(path_of(cos.sign_url("GET", k, 7200)) for k in get_keys),
    }
    put_paths = {
        "oss": load.paths_file(path_of(srv.bucket.sign_url("PUT", k, 7200)) for k in put_keys),
        "cos": load.paths_file(path_of(cos.sign_url("PUT", k, 7200)) for k in put_keys),
    }
    ep = {"nginx": ngx.endpoint, "oss": srv.endpoint, "oss-anon": srv.endpoint, "cos": cos.endpoint}

    def get(face, conns, threads, seconds):
        pid = ngx.pid if face == "nginx" else srv.pid
        return lambda: load.wrk(ep[face], "GET", get_paths[face], 0, conns, seconds, threads, pid)

    def put(face, conns, threads, seconds):
        if face == "durable":
            return lambda: durable_writes(work, conns, seconds)
        return lambda: load.wrk(ep[face], "PUT", put_paths[face], SMALL, conns, seconds, threads, srv.pid)

    out, seqs = {}, []
    for name, fn, faces, conns, threads, secs in (
            ("get64", get, ("nginx", "oss", "oss-anon", "cos"), 64, 2, rate_s),
            ("get1", get, ("nginx", "oss", "oss-anon", "cos"), 1, 1, lat_s),
            ("put64", put, ("durable", "oss", "cos"), 64, 2, rate_s),
            ("put1", put, ("durable", "oss", "cos"), 1, 1, lat_s)):
        out[name], seq = mirrored(rng, {f: fn(f, conns, threads, secs) for f in faces}, name)
        seqs.append(seq)
    out["sequences"] = seqs
    out["rss_after_puts"] = srv.status("VmHWM")
    out["threads_after_puts"] = srv.threads()
    return out


# ---- phase 3: large objects ------------------------------------------------------------------
def large_objects(srv: Server, ngx: Nginx, ngx_copy: Nginx, work: Path, src: Path, reps: int, rng):
    """Per repetition, in a fresh random order, `sync` before each (untimed): dd and md5sum of
    the source file, PUT of it through both faces, GET of it to /dev/null from both faces and
    from nginx (the same file; the baseline `ngx` with sendfile, and for reference `ngx_copy`
    with sendfile off, reading into 1 MiB buffers)."""
    size = src.stat().st_size
    cos = srv.cos
    key = f"tp/{size}-get"
    # The objects the GETs read, uploaded once per face, untimed, from the same source file.
    for url in (srv.bucket.sign_url("PUT", key, 7200), cos.sign_url("PUT", key, 7200)):
        subprocess.run(["curl", "-sS", "-f", "-o", "/dev/null", "-T", str(src), url], check=True)
    assert srv.bucket.head_object(key).content_length == size and cos.size(key) == size
    get_url = {"get": srv.bucket.sign_url("GET", key, 7200), "cos_get": cos.sign_url("GET", key, 7200),
               "nginx_get": f"{ngx.endpoint}/{src.name}", "nginx_copy_get": f"{ngx_copy.endpoint}/{src.name}"}
    dst = work / "dst"
    ops = ["dd", "md5sum", "put", "cos_put", "get", "cos_get", "nginx_get", "nginx_copy_get"]
    times = {op: [] for op in ops}
    orders = []
    for i in range(reps):
        order = ops[:]
        rng.shuffle(order)
        orders.append(order)
        for op in order:
            put_key = f"tp/{size}-put-{i}"
            put_url = {"put": lambda: srv.bucket.sign_url("PUT", put_key, 3600),
                       "cos_put": lambda: cos.sign_url("PUT", put_key, 3600)}.get(op, lambda: None)()
            settle()
            if op == "dd":
                times[op].append(timed(["dd", f"if={src}", f"of={dst}", "bs=1M", "conv=fsync"]))
                assert dst.stat().st_size == size
                dst.unlink()
            elif op == "md5sum":
                times[op].append(timed(["md5sum", str(src)]))
            elif op in ("put", "cos_put"):
                times[op].append(timed(["curl", "-sS", "-f", "-o", "/dev/null", "-T", str(src), put_url]))
                if op == "put":
                    assert srv.bucket.head_object(put_key).content_length == size
                    srv.bucket.delete_object(put_key)
                else:
                    assert cos.size(put_key) == size
                    cos.delete(put_key)
            else:
                t = time.perf_counter()
                out = subprocess.run(["curl", "-sS", "-f", "-o", "/dev/null", "-w", "%{size_download}",
                                      get_url[op]], check=True, capture_output=True, text=True).stdout
                times[op].append(time.perf_counter() - t)
                assert int(out) == size, (op, out)
    srv.bucket.delete_object(key)
    cos.delete(key)
    per_rep = lambda num, den: [a / b for a, b in zip(num, den)]
    base_put = [max(a, b) for a, b in zip(times["dd"], times["md5sum"])]
    out = {"size": size, "reps": reps, "orders": orders, "times": times,
           "mibs": {op: size / statistics.median(ts) / MIB for op, ts in times.items()},
           "base_put_mibs": size / statistics.median(base_put) / MIB}
    r = {"put": per_rep(base_put, times["put"]), "cos_put": per_rep(base_put, times["cos_put"]),
         "get": per_rep(times["nginx_get"], times["get"]), "cos_get": per_rep(times["nginx_get"], times["cos_get"]),
         "get_vs_copy": per_rep(times["nginx_copy_get"], times["get"]),
         "cos_put_vs_oss": per_rep(times["put"], times["cos_put"]),
         "cos_get_vs_oss": per_rep(times["get"], times["cos_get"]),
         "md5_slower": [m >= d for d, m in zip(times["dd"], times["md5sum"])]}
    out["ratios"] = r
    out["ratio"] = {k: statistics.median(v) for k, v in r.items() if k != "md5_slower"}
    return out


# ---- phase 4: a million objects ------------------------------------------------------------
def seed(data: Path, bucket: str, prefixes: int, per_prefix: int) -> dict:
    out = subprocess.run([str(SEED_BIN), str(data), bucket, str(prefixes), str(per_prefix), str(SMALL)],
                         capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"seed failed: {out.stderr}")
    return json.loads(out.stdout)


def spread_keys(total: int, per_prefix: int, n: int):
    """`n` keys spread over the whole bucket: one in each of `n` equal slices, at a
    pseudo-random place in it."""
    stride = total // n
    return [seed_key(j * stride + (j * 7919) % stride, per_prefix) for j in range(n)]


def seed_key(i: int, per_prefix: int) -> str:
    """The key layout of crates/store/examples/seed.rs."""
    return f"p{i // per_prefix:04d}/k{i % per_prefix:04d}"


def many_objects(work: Path, load: Load, rng, big_prefixes: int, rate_s: int, cold_keys: int):
    """Two fresh data dirs, seeded through the store: `big`, `big_prefixes` × 1000 objects, and
    `small`, 1 × 1000; one server each (both up, one loaded at a time)."""
    per_prefix = 1000
    sets = {"1k": 1, "1M": big_prefixes}
    seeded, servers = {}, {}
    try:
        for name, prefixes in sets.items():
            data = work / f"data-{name}"
            seeded[name] = seed(data, BUCKET, prefixes, per_prefix)
            servers[name] = Server(data)
        rows, info = {}, {}
        for name, srv in servers.items():
            total = sets[name] * per_prefix
            # Through the server: HEAD, GET (the bytes' MD5 is the ETag the store computed), a
            # listing of one prefix (all of it, in order, not truncated), the last key.
            k = seed_key(rng.randrange(total), per_prefix)
            head = srv.bucket.head_object(k)
            body = srv.bucket.get_object(k).read()
            assert head.content_length == SMALL == len(body)
            assert head.etag.lower() == hashlib.md5(body).hexdigest(), (head.etag, name)
            p = f"p{rng.randrange(sets[name]):04d}/"
            xml = request("GET", oss_list_url(srv.bucket, p, 1000, 3600)).decode()
            keys = re.findall(r"<Key>([^<]*)</Key>", xml)
            assert keys == [f"{p}k{j:04d}" for j in range(per_prefix)], (name, p, keys[:3])
            assert "<IsTruncated>false</IsTruncated>" in xml
            assert srv.bucket.object_exists(seed_key(total - 1, per_prefix))
            assert not srv.bucket.object_exists(seed_key(total, per_prefix))
            gets = spread_keys(total, per_prefix, 1000)
            prefixes = [f"p{j:04d}/" for j in range(sets[name])]
            rng.shuffle(prefixes)
            files = {
                "get": load.paths_file(path_of(srv.bucket.sign_url("GET", k, 7200)) for k in gets),
                "list": load.paths_file(path_of(oss_list_url(srv.bucket, p, 1000, 7200)) for p in prefixes),
            }
            if name == "1M":
                files["get-cold"] = load.paths_file(
                    path_of(srv.bucket.sign_url("GET", k, 7200))
                    for k in spread_keys(total, per_prefix, cold_keys))
            for what, f in files.items():
                rows[(what, name)] = (lambda s=srv, w=what, f=f: load.wrk(
                    s.endpoint, "GET", f, 0, 64, rate_s, 2, s.pid))
            info[name] = {"start_seconds": srv.start_seconds, "gets": len(gets), "prefixes": len(prefixes),
                          "sample": k}
        get, get_seq = mirrored(rng, {f"{n} GET": rows[("get", n)] for n in sets} |
                                {"1M GET cold": rows[("get-cold", "1M")]}, "GET")
        lst, list_seq = mirrored(rng, {f"{n} LIST": rows[("list", n)] for n in sets}, "LIST")
        rss = {n: s.status("VmHWM") for n, s in servers.items()}
    finally:
        for srv in servers.values():
            srv.stop()
    t = time.monotonic()
    for name in sets:
        shutil.rmtree(work / f"data-{name}", ignore_errors=True)
    return {"seeded": seeded, "info": info, "get": get, "list": lst, "sequences": [get_seq, list_seq],
            "rss": rss, "cleanup_seconds": time.monotonic() - t, "cold_keys": cold_keys,
            "objects": {n: p * per_prefix for n, p in sets.items()}}


# ---- phase 5: memory -------------------------------------------------------------------------
def rss_big_upload(work: Path, src: Path):
    data = work / "rss-data"
    srv = Server(data)
    srv.bucket.create_bucket()
    before = srv.status("VmHWM")
    t = timed(["curl", "-sS", "-f", "-o", "/dev/null", "-T", str(src), srv.bucket.sign_url("PUT", "big/1", 3600)])
    peak = srv.status("VmHWM")
    size = src.stat().st_size
    assert srv.bucket.head_object("big/1").content_length == size
    srv.stop()
    shutil.rmtree(data, ignore_errors=True)
    return {"hwm": peak, "before": before, "seconds": t, "size": size}


def rss_many_uploads(work: Path, load: Load, conns: int, seconds: int):
    data = work / "rss-many"
    srv = Server(data)
    srv.bucket.create_bucket()
    before = srv.status("VmHWM")
    paths = load.paths_file(path_of(srv.bucket.sign_url("PUT", f"many/{i:05d}", 3600)) for i in range(4 * conns))
    r = load.wrk(srv.endpoint, "PUT", paths, SMALL, conns, seconds, 2, srv.pid)
    peak = srv.status("VmHWM")
    threads = srv.threads()
    srv.stop()
    shutil.rmtree(data, ignore_errors=True)
    return {"hwm": peak, "before": before, "rate": r["rate"], "errors": r["errors"], "conns": conns,
            "seconds": seconds, "threads": threads}


# ---- report --------------------------------------------------------------------------------
def ok(met: bool) -> str:
    return "met" if met else "**not met**"


def report(r: dict, args, seed_value: int, cmd: str):
    s, L, M, mem = r["small"], r["large"], r["many"], r["mem"]
    pct = lambda x: f"{x:.0%}"
    g64, g1, p64, p1 = s["get64"], s["get1"], s["put64"], s["put1"]
    ms = lambda x: f"{x:.3f} ms"
    tables = []

    # Small GET.
    t = ["| 4 KiB GET (512 objects / files) | stsgate | nginx (same files) | stsgate ÷ nginx | target |",
         "|---|---|---|---|---|"]
    n64 = g64["nginx"]
    rows = [("oss face, V1 presigned URL (**target row**)", "oss", True),
            ("oss face, anonymous, public-read bucket (reference)", "oss-anon", False),
            ("cos face, q-sign presigned URL", "cos", False)]
    for label, f, target in rows:
        ratio = g64[f]["rate"] / n64["rate"]
        t.append(f"| {label}, 64 connections | {g64[f]['rate']:.0f} req/s ({g64[f]['errors']} errors; "
                 f"server CPU {g64[f]['cpu_us']:.0f} µs/req) | {n64['rate']:.0f} req/s (worker CPU "
                 f"{n64['cpu_us']:.0f} µs/req) | {pct(ratio)} | "
                 + (f"≥ 50%: {ok(ratio >= 0.5)}" if target else "") + " |")
    n1 = g1["nginx"]
    for label, f, target in rows:
        t.append(f"| {label}, 1 connection: p50 (p99) | {ms(g1[f]['p50_ms'])} ({ms(g1[f]['p99_ms'])}); "
                 f"{g1[f]['rate']:.0f} req/s | {ms(n1['p50_ms'])} ({ms(n1['p99_ms'])}); {n1['rate']:.0f} req/s "
                 f"| p50 × {g1[f]['p50_ms'] / n1['p50_ms']:.1f} | "
                 + (f"p50 ≤ 1 ms: {ok(g1[f]['p50_ms'] <= 1.0)}" if target else "") + " |")
    tables.append("\n".join(t))

    # Small PUT.
    d64, d1 = p64["durable"], p1["durable"]
    t = ["| 4 KiB PUT (512 keys, overwritten in turn) | stsgate | durable-write baseline "
         "(bench/durable_writes.py) | stsgate ÷ baseline | target |", "|---|---|---|---|---|"]
    for label, f, target in (("oss face, V1 presigned URL", "oss", True), ("cos face, q-sign presigned URL", "cos", False)):
        ratio = p64[f]["rate"] / d64["rate"]
        t.append(f"| {label}, 64 connections | {p64[f]['rate']:.0f} req/s ({p64[f]['errors']} errors; server CPU "
                 f"{p64[f]['cpu_us']:.0f} µs/req) | {d64['rate']:.0f} files/s (64 threads; CPU {d64['cpu_us']:.0f} µs/file) "
                 f"| {pct(ratio)} | " + (f"≥ 100%: {ok(ratio >= 1.0)}" if target else "") + " |")
    for label, f in (("oss face, V1 presigned URL", "oss"), ("cos face, q-sign presigned URL", "cos")):
        t.append(f"| {label}, 1 connection: p50 (p99) | {ms(p1[f]['p50_ms'])} ({ms(p1[f]['p99_ms'])}); "
                 f"{p1[f]['rate']:.0f} req/s | {ms(d1['p50_ms'])} ({ms(d1['p99_ms'])}); {d1['rate']:.0f} files/s "
                 f"(1 thread) | p50 × {p1[f]['p50_ms'] / d1['p50_ms']:.1f} | |")
    tables.append("\n".join(t))

    # Large objects.
    mib = L["mibs"]
    size = L["size"] // MIB
    rr = L["ratio"]
    t = [f"| {size} MiB (median of {L['reps']} repetitions) | stsgate | baseline | stsgate ÷ baseline "
         "(median of per-repetition ratios) | target |", "|---|---|---|---|---|"]
    t.append(f"| PUT, oss face (`curl -T`) | {mib['put']:.0f} MiB/s | {L['base_put_mibs']:.0f} MiB/s: slower of "
             f"`dd conv=fsync` ({mib['dd']:.0f} MiB/s) and `md5sum` ({mib['md5sum']:.0f} MiB/s), per repetition "
             f"| {pct(rr['put'])} | ≥ 80%: {ok(rr['put'] >= 0.8)} |")
    t.append(f"| PUT, cos face | {mib['cos_put']:.0f} MiB/s | (same) | {pct(rr['cos_put'])} | |")
    t.append(f"| GET to /dev/null, oss face (`curl -o /dev/null`) | {mib['get']:.0f} MiB/s | nginx, same file, "
             f"same client: {mib['nginx_get']:.0f} MiB/s | {pct(rr['get'])} | ≥ 80%: {ok(rr['get'] >= 0.8)} |")
    t.append(f"| GET to /dev/null, cos face | {mib['cos_get']:.0f} MiB/s | (same) | {pct(rr['cos_get'])} | |")
    t.append(f"| GET to /dev/null, oss face, against nginx with `sendfile off` (1 MiB buffers; reference) "
             f"| {mib['get']:.0f} MiB/s | {mib['nginx_copy_get']:.0f} MiB/s | {pct(rr['get_vs_copy'])} | |")
    tables.append("\n".join(t))

    # A million objects.
    obj = M["objects"]
    big, small_n = f"{obj['1M']:,}", f"{obj['1k']:,}"
    gb, gs, gc = M["get"]["1M GET"], M["get"]["1k GET"], M["get"]["1M GET cold"]
    lb, ls = M["list"]["1M LIST"], M["list"]["1k LIST"]
    t = [f"| 64 connections, oss face, V1 presigned | bucket of {big} objects | bucket of {small_n} objects "
         "| big ÷ small | target |", "|---|---|---|---|---|"]
    rg, rl, rc = gb["rate"] / gs["rate"], lb["rate"] / ls["rate"], gc["rate"] / gs["rate"]
    t.append(f"| 4 KiB GET, 1,000 distinct keys spread over the bucket | {gb['rate']:.0f} req/s ({gb['errors']} errors) "
             f"| {gs['rate']:.0f} req/s ({gs['errors']} errors) | {pct(rg)} | ≥ 80%: {ok(rg >= 0.8)} |")
    t.append(f"| ListObjects, prefix + max-keys=1000 (1,000 keys each) | {lb['rate']:.0f} req/s ({lb['errors']} errors; "
             f"{M['info']['1M']['prefixes']} prefixes) | {ls['rate']:.0f} req/s ({ls['errors']} errors; "
             f"{M['info']['1k']['prefixes']} prefix) | {pct(rl)} | ≥ 80%: {ok(rl >= 0.8)} |")
    t.append(f"| 4 KiB GET, {M['cold_keys']:,} distinct keys (more than the store's row cache holds; reference) "
             f"| {gc['rate']:.0f} req/s ({gc['errors']} errors) | (the 1,000-key row) | {pct(rc)} | |")
    tables.append("\n".join(t))

    # Memory.
    big_up, many = mem["big"], mem["many"]
    t = ["| peak RSS (VmHWM) of a freshly started server | stsgate | target |", "|---|---|---|"]
    t.append(f"| during a {big_up['size'] // MIB} MiB upload (`curl -T`, oss face) | {big_up['hwm'] / MIB:.1f} MiB "
             f"(at start {big_up['before'] / MIB:.1f} MiB; upload at {big_up['size'] / big_up['seconds'] / MIB:.0f} MiB/s) "
             f"| < 64 MiB: {ok(big_up['hwm'] < 64 * MIB)} |")
    t.append(f"| during {many['conns']} concurrent 4 KiB uploads (wrk -c{many['conns']}, {many['seconds']} s, "
             f"{many['rate']:.0f} req/s, {many['errors']} errors) | {many['hwm'] / MIB:.1f} MiB "
             f"(at start {many['before'] / MIB:.1f} MiB; {many['threads']} threads afterwards) "
             f"| < 256 MiB: {ok(many['hwm'] < 256 * MIB)} |")
    t.append(f"| the server of the small-object rows, after all of them (reference) | {s['rss_after_puts'] / MIB:.1f} MiB "
             f"({s['threads_after_puts']} threads) | |")
    t.append(f"| the {big}-object server after its rows (reference) | {M['rss']['1M'] / MIB:.1f} MiB "
             f"(the {small_n}-object one: {M['rss']['1k'] / MIB:.1f} MiB) | |")
    tables.append("\n".join(t))

    # cos beside oss.
    t = ["| cos face beside the oss face (same server, same run) | cos | oss | **cos ÷ oss** |", "|---|---|---|---|"]
    for label, d in (("4 KiB GET, 64 connections", g64), ("4 KiB PUT, 64 connections", p64)):
        t.append(f"| {label} | {d['cos']['rate']:.0f} req/s | {d['oss']['rate']:.0f} req/s "
                 f"| **{pct(d['cos']['rate'] / d['oss']['rate'])}** |")
    for label, d in (("4 KiB GET, 1 connection, p50", g1), ("4 KiB PUT, 1 connection, p50", p1)):
        t.append(f"| {label} | {ms(d['cos']['p50_ms'])} | {ms(d['oss']['p50_ms'])} "
                 f"| **{pct(d['oss']['p50_ms'] / d['cos']['p50_ms'])}** (oss p50 ÷ cos p50) |")
    t.append(f"| PUT {size} MiB | {mib['cos_put']:.0f} MiB/s | {mib['put']:.0f} MiB/s | **{pct(rr['cos_put_vs_oss'])}** |")
    t.append(f"| GET {size} MiB to /dev/null | {mib['cos_get']:.0f} MiB/s | {mib['get']:.0f} MiB/s "
             f"| **{pct(rr['cos_get_vs_oss'])}** |")
    tables.append("\n".join(t))

    # Raw figures.
    lst = lambda xs, f="{:.0%}": ", ".join(f.format(x) for x in xs)
    secs = lambda xs: ", ".join(f"{x:.2f}" for x in xs)
    names = {"dd": "dd", "md5sum": "md5", "put": "PUT", "cos_put": "cPUT", "get": "GET", "cos_get": "cGET",
             "nginx_get": "nGET", "nginx_copy_get": "nGET-copy"}
    seeded = M["seeded"]
    raw = [
        *[f"- {q}." for q in s["sequences"]],
        *[f"- {q}." for q in M["sequences"]],
        f"- {size} MiB, seconds per repetition: " + "; ".join(f"{names[op]} {secs(ts)}" for op, ts in L["times"].items()) + ".",
        f"- {size} MiB, per-repetition ratios: PUT ÷ max(dd, md5sum) {lst(L['ratios']['put'])}; cos PUT "
        f"{lst(L['ratios']['cos_put'])}; GET ÷ nginx {lst(L['ratios']['get'])}; cos GET {lst(L['ratios']['cos_get'])}; "
        f"GET ÷ nginx with sendfile off {lst(L['ratios']['get_vs_copy'])}; "
        f"cos ÷ oss PUT {lst(L['ratios']['cos_put_vs_oss'])}, GET {lst(L['ratios']['cos_get_vs_oss'])}; md5sum the "
        f"slower baseline in {sum(L['ratios']['md5_slower'])} of {L['reps']}.",
        f"- {size} MiB orders (seed {seed_value}; cPUT/cGET: cos face, nGET: nginx, nGET-copy: nginx with sendfile off): "
        + ", ".join("/".join(names[x] for x in o) for o in L["orders"]) + ".",
        f"- Seeding (crates/store/examples/seed.rs): {big} objects in {seeded['1M']['seconds']:.1f} s "
        f"({seeded['1M']['through_api']} through the store's API, the rest hard links + rows: links "
        f"{seeded['1M']['link_seconds']:.1f} s, rows {seeded['1M']['insert_seconds']:.1f} s); {small_n} in "
        f"{seeded['1k']['seconds']:.1f} s. Server start-up (its sweep checks every blob): {M['info']['1M']['start_seconds']:.1f} s "
        f"with {big} objects, {M['info']['1k']['start_seconds']:.1f} s with {small_n}. Deleting both data dirs: "
        f"{M['cleanup_seconds']:.1f} s.",
        f"- Machine load: {r['idle_busy']:.0f}% of the {os.cpu_count()} CPUs busy in the 3 s before the run "
        f"(others' work; load average {r['loadavg'][0]}), {r['run_busy']:.0f}% during the run "
        f"({r['elapsed']:.0f} s; load average at the end {r['loadavg'][1]}).",
    ]
    return tables, "\n".join(raw)


def write_results(tables, raw, cmd, r):
    results = ROOT / "bench" / "RESULTS.md"
    # Hand-written notes below the marker (and the other benchmarks' sections) survive a re-run.
    marker = "<!-- notes: kept by bench/run.py -->"
    old = results.read_text() if results.exists() else ""
    notes = old[old.index(marker):] if marker in old else marker + "\n"
    curl = subprocess.run(["curl", "--version"], capture_output=True, text=True).stdout.split("\n")[0].split(" (")[0]
    ngx = subprocess.run([nginx_bin(), "-v"], capture_output=True, text=True).stderr.strip().split(": ")[-1]
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0].split(" [")[0]
    s, M = r["small"], r["many"]
    big = f"{M['objects']['1M']:,}"
    a = r["args"]
    results.write_text(f"""# stsgate benchmark results

Object store (issue 13: object faces at the speed of the machine), measured
{dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} on the dev machine ({os.cpu_count()} CPUs shared by
the clients, the servers and other engineers' builds; Linux {platform.release()}), all figures from
one run ({r['elapsed'] / 60:.1f} min) of:

    {cmd}

How it measures (bench/run.py's docstring has the details):
* Every speed is a ratio to a baseline measured in the same run, on the same disk (a temp dir under
  the repository's `target/` holds the servers' data dirs, the files nginx serves and the
  baselines' files), loopback only. One server (`stsgate serve`, every face on a free port) for the
  small and large objects; oss requests use V1 presigned URLs (oss2's signer, bucket `{BUCKET}`, the
  data dir's root key), cos requests q-sign presigned URLs in the `{{Bucket}}` path form signed by
  `cos_signature` in bench/run.py (checked against the spec's vector), all signed before the timed
  runs.
* nginx baseline: {ngx}, its own conf in the temp dir, 1 worker, `sendfile on`, `tcp_nopush on`,
  `access_log off`, keep-alive (`keepalive_requests` unlimited), serving the same bytes from the same
  disk: the 512 4 KiB source files of the small objects and the {r['large']['size'] // MIB} MiB source file of the
  large ones. Load: {wrk}: `-t2 -c64` for rates, `-t1 -c1 --latency` for one connection; the
  Lua script pre-formats every request (no per-request Lua work in the client).
* Small objects: 512 objects of 4 KiB per face. Rows run in {ROUNDS} mirrored rounds (A-B-C-D-D-C-B-A,
  each round's order drawn by the seed; {a['rate_s']} s per run at 64 connections, {a['lat_s']} s at
  one), so every row is measured {2 * ROUNDS} times, back to back with its baseline, and a linear drift
  of the machine within a round cancels out; a rate is all requests of a row's runs over their
  time, a p50/p99 the mean of its runs'. "Server CPU" is the server's (resp. nginx worker's) CPU time
  over the requests served. The GET target row is the oss face with presigned URLs (how apps use
  stsgate); the anonymous GET of a public-read bucket (how issue 13 found the 20 ms stall) is
  the reference row beside it.
* Small PUT baseline: `bench/durable_writes.py` writes the same 4 KiB files durably (create in
  tmp/, write, fsync, rename over one of 512 names, fsync the directory) from 64 threads (resp. 1)
  for the same time; stsgate's PUT additionally commits its SQLite row (a third fsync).
* Large objects: per repetition, in a fresh random order, `sync` (untimed) before each: `dd
  if=src of=dst bs=1M conv=fsync`, `md5sum src`, `curl -T src <presigned URL>` (oss and cos; the
  server answers after fsync, rename, dir fsync, commit), `curl -o /dev/null` from stsgate (oss,
  cos; the object uploaded untimed from the same file) and from nginx (the baseline; and, for
  reference, a second nginx with `sendfile off` and 1 MiB output buffers) ({curl}). The PUT
  baseline is the slower of dd and md5sum in the same repetition (a PUT must both hash and
  write). Ratios are medians of the per-repetition ratios.
* {big} objects: two fresh data dirs, each seeded through the store by
  `crates/store/examples/seed.rs` (key layout `pNNNN/kNNNN`: {M['info']['1M']['prefixes']} prefixes × 1,000 keys,
  and 1 prefix × 1,000 keys; all 4 KiB), one server each, both up, one loaded at a time,
  64 connections, {a['rate_s']} s per run, {ROUNDS} mirrored rounds. GETs: 1,000 distinct keys in each bucket (one
  per 1/1000th of the big bucket, every key of the small one; presigned); listings: ListObjects
  `?prefix=pNNNN/&max-keys=1000` (V1 presigned) cycling over every prefix of the bucket (all
  {M['info']['1M']['prefixes']} in the big one, the one in the small one), 1,000 keys per answer. 1,000 keys fit the
  store's row cache (16,384 rows); the reference row reads {M['cold_keys']:,} distinct keys of the big
  bucket, most of them misses that go to SQLite.
* Peak RSS: VmHWM from /proc/<pid>/status of freshly started servers (one per row).
* The per-run figures are below the tables. Absolute figures move with the other load on the
  machine; the ratios are measured back to back in the same run.

{chr(10).join(chr(10).join([x, '']) for x in tables)}
Raw figures:

{raw}

{notes}""")
    print("\nwrote bench/RESULTS.md")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="shorter runs, 3 large repetitions, 200,000 objects instead of 1,000,000, a 512 MiB RSS upload")
    ap.add_argument("--no-write", action="store_true", help="do not rewrite bench/RESULTS.md")
    ap.add_argument("--seed", type=int, default=None, help="seed of the orders")
    args = ap.parse_args()
    ensure_tools()
    quick = args.quick
    a = {"rate_s": 2 if quick else 3, "lat_s": 1 if quick else 2, "reps": 3 if quick else 9,
         "large": 512 * MIB, "rss_upload": (512 if quick else 1024) * MIB,
         "big_prefixes": 200 if quick else 1000, "cold_keys": 20_000 if quick else 100_000}
    (ROOT / "target").mkdir(exist_ok=True)
    loadavg0 = Path("/proc/loadavg").read_text().split()[0]
    idle_busy = busy_percent(3)
    c0 = cpu_ticks()
    started = time.monotonic()
    seed_value = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed_value)
    work = Path(tempfile.mkdtemp(prefix="stsgate-bench-", dir=ROOT / "target"))
    os.chmod(work, 0o755)
    r = {"args": a}
    try:
        www = work / "www"
        (www / "small").mkdir(parents=True)
        for i in range(N_SMALL):
            (www / "small" / f"{i:05d}").write_bytes(os.urandom(SMALL))
        big = www / "big"
        make_file(big, a["large"])
        ngx = Nginx(work / "nginx", www)
        ngx_copy = Nginx(work / "nginx-copy", www, sendfile=False)
        load = Load(work)
        srv = Server(work / "data")
        srv.bucket.create_bucket()
        srv.oss_bucket(PUBLIC_BUCKET).create_bucket(oss2.BUCKET_ACL_PUBLIC_READ)
        srv.cos.client.create_bucket(Bucket=srv.cos.bucket)
        print("small objects", flush=True)
        r["small"] = small_objects(srv, ngx, load, work, www, rng, a["rate_s"], a["lat_s"])
        print("large objects", flush=True)
        r["large"] = large_objects(srv, ngx, ngx_copy, work, big, a["reps"], rng)
        ngx_copy.stop()
        srv.stop()
        shutil.rmtree(work / "data", ignore_errors=True)
        print("many objects", flush=True)
        r["many"] = many_objects(work, load, rng, a["big_prefixes"], a["rate_s"], a["cold_keys"])
        print("memory", flush=True)
        big.unlink()
        rss_src = work / "rss-src"
        make_file(rss_src, a["rss_upload"])
        r["mem"] = {"big": rss_big_upload(work, rss_src)}
        rss_src.unlink()
        r["mem"]["many"] = rss_many_uploads(work, load, 256, 3 if quick else 5)
        ngx.stop()
    finally:
        for p in PROCS:
            stop(p)
        shutil.rmtree(work, ignore_errors=True)
    c1 = cpu_ticks()
    r["run_busy"] = 100 * (c1[0] - c0[0]) / max(1, c1[1] - c0[1])
    r["idle_busy"] = idle_busy
    r["elapsed"] = time.monotonic() - started
    r["loadavg"] = (loadavg0, Path("/proc/loadavg").read_text().split()[0])
    cmd = ("cargo build --release -p stsgate && cargo build --release -p stsgate-store --example seed "
           "&& .venv/bin/python bench/run.py" + (" --quick" if quick else "") + f" --seed {seed_value}")
    tables, raw = report(r, a, seed_value, cmd)
    for t in tables:
        print(t + "\n")
    print(raw)
    if not args.no_write:
        write_results(tables, raw, cmd, r)


if __name__ == "__main__":
    main()
