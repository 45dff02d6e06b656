#!/usr/bin/env python3
"""stsgate object-store benchmark, oss face and cos face side by side (not a test; CI does not
run it).

    cargo build --release -p stsgate && .venv/bin/python bench/run.py [--quick]

Needs the conformance venv (oss2, cos-python-sdk-v5) for signing and bucket set-up, `curl` and
`dd`; uses `wrk` for the request-rate phase when it is on PATH (`apt-get install wrk`), else a
built-in asyncio client.

One server serves both faces over the same local store (`--oss-addr` and `--cos-addr` on free
ports). In one run, on one temp dir on the repository's disk (under target/), it measures:
  1. PUT and GET throughput of 1 MiB and 256 MiB objects through stsgate, streaming from/to
     files (PUT with curl, GET with bench/get_client.py, which writes in 1 MiB blocks like dd),
     through the oss face (V1 presigned URLs) and through the cos face (q-sign presigned URLs in
     the `{Bucket}` path form, signed by `cos_signature` below), as a ratio to `dd bs=1M` copying
     the same bytes between two files on the same disk. fsync is included on both sides: dd runs
     with conv=fsync, the server fsyncs before acknowledging a PUT, and the GET client fsyncs the
     file it wrote. All operations of both faces are shuffled together, in a fresh random order
     per repetition, and each starts after an untimed cleanup and `sync`. cos ÷ oss is the
     median of the per-repetition ratios (oss time / cos time).
  2. Requests per second for 4 KiB PUT and GET at 64 concurrent connections, per face; each
     method runs oss and cos in an A-B-B-A sequence of half-length runs, so cos ÷ oss is measured
     back to back and a linear drift of the machine's speed cancels out.
  3. Peak RSS (VmHWM) of a freshly started server during a 1 GiB upload (oss face).
It prints the tables and rewrites bench/RESULTS.md.
"""

import argparse
import asyncio
import datetime as dt
import hashlib
import hmac
import json
import os
import platform
import random
import re
import shutil
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

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(os.environ.get("STSGATE_BIN", ROOT / "target/release/stsgate"))
MIB = 1024 * 1024
LISTEN_RE = re.compile(r"^(oss|cos) listening on (http://[\d.]+:\d+)")
BUCKET = "bench"
COS_REGION = "ap-guangzhou"


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

    def check_signer(self):
        """A presigned PUT and GET through the cos face: the signer agrees with the server."""
        body = os.urandom(1000)
        req = urllib.request.Request(self.sign_url("PUT", "check/signer", 600), data=body, method="PUT")
        urllib.request.urlopen(req).read()
        assert urllib.request.urlopen(self.sign_url("GET", "check/signer", 600)).read() == body
        assert self.size("check/signer") == len(body)
        self.delete("check/signer")


class Server:
    def __init__(self, data: Path):
        # Free ports for every face, so that the benchmark does not collide with another server.
        self.proc = subprocess.Popen([str(BIN), "serve", "--data", str(data), "--oss-addr", "127.0.0.1:0",
                                      "--cos-addr", "127.0.0.1:0", "--sts-addr", "127.0.0.1:0",
                                      "--tc-sts-addr", "127.0.0.1:0", "--api-addr", "127.0.0.1:0"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     env=dict(os.environ, RUST_LOG="error"))
        deadline = time.monotonic() + 30
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
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()
        self.endpoint = endpoints["oss"]
        creds = json.loads((data / "root-credentials.json").read_text())
        self.auth = oss2.Auth(creds["AccessKeyId"], creds["AccessKeySecret"])
        self.bucket = oss2.Bucket(self.auth, self.endpoint, BUCKET)
        self.cos = CosFace(endpoints["cos"], creds)

    def status(self, field):
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        return 0

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def make_file(path: Path, size: int):
    block = os.urandom(MIB)
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


def dd_copy(src: Path, dst: Path) -> float:
    """The baseline: dd reads the source file and writes `dst` in 1 MiB blocks, then fsyncs."""
    return timed(["dd", f"if={src}", f"of={dst}", "bs=1M", "conv=fsync"])


def curl_put(url: str, src: Path) -> float:
    """curl reads the source file and uploads it; the server answers after its fsyncs."""
    return timed(["curl", "-sS", "-f", "-o", "/dev/null", "-T", str(src), url])


def py_get(url: str, dst: Path) -> float:
    """GET with bench/get_client.py in a new process, like curl (the time includes starting
    Python): 1 MiB writes, as the baseline's dd, then fsync."""
    return timed([sys.executable, str(ROOT / "bench" / "get_client.py"), url, str(dst)])


def curl_get_file(url: str, dst: Path) -> float:
    """GET with `curl -o file` (curl writes in 4-16 KiB pieces), then fsync the file. Shown for
    reference only: see the notes in RESULTS.md on why a file written in small pieces takes
    longer to fsync."""
    t = time.perf_counter()
    subprocess.run(["curl", "-sS", "-f", "-o", str(dst), url], check=True)
    fd = os.open(dst, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    return time.perf_counter() - t


def throughput(srv: Server, work: Path, size: int, reps: int, seed: int, with_curl_file: bool):
    """Per repetition: dd (the baseline), then PUT and GET (and optionally GET with `curl -o`) of
    the same bytes through the oss face, and PUT and GET through the cos face, all in one fresh
    random order each repetition. Before each timed operation, outside the timed region, the
    previous outputs are deleted and `sync` runs. A ratio is the median of the per-repetition
    ratios, so that drift in the machine's load between repetitions (the machine is shared)
    cancels out as far as it can."""
    rng = random.Random(seed)
    src = work / f"src-{size}"
    make_file(src, size)
    dst = work / "dst"
    get_key = f"tp/{size}-get"
    cos = srv.cos
    # The objects the GETs read, uploaded once per face, untimed, from the same source file.
    curl_put(srv.bucket.sign_url("PUT", get_key, 7200), src)
    assert srv.bucket.head_object(get_key).content_length == size
    get_url = srv.bucket.sign_url("GET", get_key, 7200)
    curl_put(cos.sign_url("PUT", get_key, 7200), src)
    assert cos.size(get_key) == size
    cos_get_url = cos.sign_url("GET", get_key, 7200)
    ops = ["dd", "put", "get"] + (["get_file"] if with_curl_file else []) + ["cos_put", "cos_get"]
    times = {op: [] for op in ops}
    orders = []
    for i in range(reps):
        order = ops[:]
        rng.shuffle(order)
        orders.append(order)
        for op in order:
            put_key = f"tp/{size}-put-{i}"
            # URLs signed before the timed region (the cos signer is ours, in this process).
            put_url = {"put": lambda: srv.bucket.sign_url("PUT", put_key, 3600),
                       "cos_put": lambda: cos.sign_url("PUT", put_key, 3600)}.get(op, lambda: None)()
            settle()
            if op == "dd":
                times[op].append(dd_copy(src, dst))
            elif op in ("put", "cos_put"):
                times[op].append(curl_put(put_url, src))
            elif op == "get":
                times[op].append(py_get(get_url, dst))
            elif op == "cos_get":
                times[op].append(py_get(cos_get_url, dst))
            else:
                times[op].append(curl_get_file(get_url, dst))
            # Check the bytes arrived, then clean up (untimed; the next op starts with a sync).
            if op == "put":
                assert srv.bucket.head_object(put_key).content_length == size
                srv.bucket.delete_object(put_key)
            elif op == "cos_put":
                assert cos.size(put_key) == size
                cos.delete(put_key)
            else:
                assert dst.stat().st_size == size
                dst.unlink()
    srv.bucket.delete_object(get_key)
    cos.delete(get_key)
    src.unlink()
    base = times["dd"]
    mbps = lambda ts: size / statistics.median(ts) / MIB
    per_rep = lambda num, den: [a / b for a, b in zip(num, den)]
    out = {"base": mbps(base), "reps": reps, "orders": orders}
    for op in ops[1:]:
        out[op] = mbps(times[op])
        out[op + "_ratios"] = per_rep(base, times[op])
        out[op + "_ratio"] = statistics.median(out[op + "_ratios"])
    # cos ÷ oss: throughput ratio = oss time / cos time, per repetition.
    for m in ("put", "get"):
        out[f"cos_{m}_vs_oss_ratios"] = per_rep(times[m], times[f"cos_{m}"])
        out[f"cos_{m}_vs_oss"] = statistics.median(out[f"cos_{m}_vs_oss_ratios"])
    return out


def cpu_ticks():
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return sum(f) - f[3] - f[4], sum(f)


def busy_percent(seconds: float) -> float:
    b0, t0 = cpu_ticks()
    time.sleep(seconds)
    b1, t1 = cpu_ticks()
    return 100 * (b1 - b0) / max(1, t1 - t0)


# ---- request rate ------------------------------------------------------------------------
def presigned_paths(sign_url, method: str, keys):
    out = []
    for k in keys:
        u = urllib.parse.urlsplit(sign_url(method, k, 7200))
        out.append(u.path + "?" + u.query)
    return out


def wrk_rate(endpoint, method, paths, body, conns, seconds):
    """(requests, seconds, errors) of one wrk run."""
    lua = Path(tempfile.mkstemp(suffix=".lua")[1])
    items = ",\n".join('"' + p.replace('"', '\\"') + '"' for p in paths)
    lua.write_text(
        f"local paths = {{\n{items}\n}}\nlocal i = 0\nlocal body = string.rep('x', {len(body)})\n"
        f"request = function()\n  i = i % #paths + 1\n"
        f"  return wrk.format('{method}', paths[i], nil, {'body' if method == 'PUT' else 'nil'})\nend\n"
        "done = function(summary, latency, requests)\n"
        "  io.write(string.format('RESULT %d %d %d\\n', summary.requests, summary.duration,"
        " summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write"
        " + summary.errors.timeout))\nend\n")
    out = subprocess.run(["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "-s", str(lua), endpoint],
                         capture_output=True, text=True, check=True).stdout
    lua.unlink()
    m = re.search(r"RESULT (\d+) (\d+) (\d+)", out)
    reqs, micros, errors = map(int, m.groups())
    return reqs, micros / 1e6, errors


async def _async_rate(host, port, method, paths, body, conns, seconds):
    deadline = time.monotonic() + seconds
    counts, errors = [0], [0]

    async def worker(wid):
        reader, writer = await asyncio.open_connection(host, port)
        i = wid
        while time.monotonic() < deadline:
            p = paths[i % len(paths)]
            i += conns
            head = f"{method} {p} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {len(body) if method == 'PUT' else 0}\r\n\r\n"
            writer.write(head.encode() + (body if method == "PUT" else b""))
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                k, _, v = line.decode().partition(":")
                if k.lower() == "content-length":
                    length = int(v)
            if length:
                await reader.readexactly(length)
            if not status_line.startswith(b"HTTP/1.1 2"):
                errors[0] += 1
            counts[0] += 1
        writer.close()

    t = time.monotonic()
    await asyncio.gather(*(worker(w) for w in range(conns)))
    return counts[0], time.monotonic() - t, errors[0]


def request_rate(srv, rng, conns=64, seconds=10, n_keys=512):
    """4 KiB PUTs, then GETs of the same keys, at `conns` connections through each face. Each
    method runs the faces as A-B-B-A (the first face drawn from `rng`), each run `seconds / 2`
    long: every face gets `seconds` per method, and cos ÷ oss (rate over rate) is measured back
    to back with a linear drift of the machine's speed cancelled out."""
    body = os.urandom(4096)
    keys = [f"rps/{i:05d}" for i in range(n_keys)]
    faces = {
        "oss": (srv.endpoint, {m: presigned_paths(srv.bucket.sign_url, m, keys) for m in ("PUT", "GET")}),
        "cos": (srv.cos.endpoint, {m: presigned_paths(srv.cos.sign_url, m, keys) for m in ("PUT", "GET")}),
    }
    half = seconds // 2
    if shutil.which("wrk"):
        tool = f"wrk -t2 -c{conns}"
        run = lambda endpoint, method, paths: wrk_rate(endpoint, method, paths, body, conns, half)
    else:
        tool = f"asyncio client ({conns} keep-alive connections, one process)"

        def run(endpoint, method, paths):
            u = urllib.parse.urlsplit(endpoint)
            return asyncio.run(_async_rate(u.hostname, u.port, method, paths, body, conns, half))
    out = {"tool": tool, "seconds": 2 * half, "sequence": []}
    for method in ("PUT", "GET"):
        first = rng.choice(["oss", "cos"])
        second = "cos" if first == "oss" else "oss"
        sums = {f: [0, 0.0, 0] for f in faces}
        for face in (first, second, second, first):
            endpoint, paths = faces[face]
            reqs, secs, errors = run(endpoint, method, paths[method])
            sums[face] = [sums[face][0] + reqs, sums[face][1] + secs, sums[face][2] + errors]
            out["sequence"].append(f"{face} {method} {reqs / secs:.0f}")
        for face, (reqs, secs, errors) in sums.items():
            out[f"{face}_{method.lower()}"] = (reqs / secs, errors)
        out[f"cos_{method.lower()}_vs_oss"] = out[f"cos_{method.lower()}"][0] / out[f"oss_{method.lower()}"][0]
    return out


# ---- memory ------------------------------------------------------------------------------
def peak_rss_during_big_upload(work: Path, size: int):
    data = work / "rss-data"
    srv = Server(data)
    srv.bucket.create_bucket()
    src = work / "src-big"
    make_file(src, size)
    before = srv.status("VmHWM")
    samples = []
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            samples.append(srv.status("VmRSS"))
            time.sleep(0.05)

    threading.Thread(target=sample, daemon=True).start()
    t = curl_put(srv.bucket.sign_url("PUT", "big/1gib", 3600), src)
    stop.set()
    peak = srv.status("VmHWM")
    assert srv.bucket.head_object("big/1gib").content_length == size
    srv.stop()
    src.unlink()
    shutil.rmtree(data, ignore_errors=True)
    return {"hwm": peak, "before": before, "max_sampled": max(samples or [0]), "seconds": t, "size": size}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions and a 256 MiB RSS upload")
    ap.add_argument("--no-write", action="store_true", help="do not rewrite bench/RESULTS.md")
    ap.add_argument("--seed", type=int, default=None, help="seed of the per-repetition order")
    args = ap.parse_args()
    if not BIN.exists():
        sys.exit(f"{BIN} missing: cargo build --release -p stsgate")
    (ROOT / "target").mkdir(exist_ok=True)
    idle_busy = busy_percent(3)
    c0 = cpu_ticks()
    started = time.monotonic()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    work = Path(tempfile.mkdtemp(prefix="stsgate-bench-", dir=ROOT / "target"))
    try:
        srv = Server(work / "data")
        srv.bucket.create_bucket()
        # The COS bucket, created with the Tencent root key (a signed `PUT /`, by the SDK).
        srv.cos.client.create_bucket(Bucket=srv.cos.bucket)
        srv.cos.check_signer()
        small = throughput(srv, work, MIB, 10 if args.quick else 30, seed, False)
        large = throughput(srv, work, 256 * MIB, 3 if args.quick else 9, seed, True)
        rate = request_rate(srv, random.Random(seed), seconds=6 if args.quick else 10)
        hwm_after_all = srv.status("VmHWM")
        srv.stop()
        rss = peak_rss_during_big_upload(work, (256 if args.quick else 1024) * MIB)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    c1 = cpu_ticks()
    run_busy = 100 * (c1[0] - c0[0]) / max(1, c1[1] - c0[1])
    elapsed = time.monotonic() - started

    ok = lambda met: "**met**" if met else "**not met**"
    rows = [
        ("PUT 1 MiB", small["put"], small["base"], small["put_ratio"], small["reps"], None),
        ("GET 1 MiB", small["get"], small["base"], small["get_ratio"], small["reps"], None),
        ("PUT 256 MiB", large["put"], large["base"], large["put_ratio"], large["reps"], 0.70),
        ("GET 256 MiB", large["get"], large["base"], large["get_ratio"], large["reps"], 0.70),
        ("GET 256 MiB, `curl -o file` + fsync (for reference)", large["get_file"], large["base"],
         large["get_file_ratio"], large["reps"], None),
    ]
    lines = ["| measurement | stsgate | raw copy (dd, same disk) | stsgate / raw copy | target |",
             "|---|---|---|---|---|"]
    for name, v, base, ratio, reps, target in rows:
        t = f"≥ {target:.0%}: {ok(ratio >= target)}" if target else ""
        lines.append(f"| {name} (median of {reps}) | {v:.0f} MiB/s | {base:.0f} MiB/s | {ratio:.0%} | {t} |")
    lines.append(f"| 4 KiB PUT, 64 connections | {rate['oss_put'][0]:.0f} req/s ({rate['oss_put'][1]} errors) | | | |")
    lines.append(f"| 4 KiB GET, 64 connections | {rate['oss_get'][0]:.0f} req/s ({rate['oss_get'][1]} errors) | | | |")
    lines.append(f"| peak RSS (VmHWM) during a {rss['size'] // MIB} MiB upload | {rss['hwm'] / MIB:.1f} MiB "
                 f"(idle {rss['before'] / MIB:.1f} MiB; upload at {rss['size'] / rss['seconds'] / MIB:.0f} MiB/s) "
                 f"| | | < 100 MiB: {ok(rss['hwm'] < 100 * MIB)} |")
    lines.append(f"| peak RSS after all phases above | {hwm_after_all / MIB:.1f} MiB | | | |")
    table = "\n".join(lines)
    # The cos face, measured in the same run, beside the oss face.
    lines = ["| cos face (same server, same run) | cos | raw copy (dd, same disk) | cos / raw copy "
             "| oss, same run | **cos ÷ oss** |",
             "|---|---|---|---|---|---|"]
    for size, tp in (("1 MiB", small), ("256 MiB", large)):
        for m in ("put", "get"):
            lines.append(f"| cos {m.upper()} {size} (median of {tp['reps']}) | {tp['cos_' + m]:.0f} MiB/s "
                         f"| {tp['base']:.0f} MiB/s | {tp['cos_' + m + '_ratio']:.0%} | {tp[m]:.0f} MiB/s "
                         f"| **{tp['cos_' + m + '_vs_oss']:.0%}** |")
    for m in ("put", "get"):
        cos_rate, oss_rate = rate["cos_" + m], rate["oss_" + m]
        lines.append(f"| cos 4 KiB {m.upper()}, 64 connections | {cos_rate[0]:.0f} req/s ({cos_rate[1]} errors) | | "
                     f"| {oss_rate[0]:.0f} req/s | **{rate['cos_' + m + '_vs_oss']:.0%}** |")
    cos_table = "\n".join(lines)
    pct = lambda rs: ", ".join(f"{r:.0%}" for r in rs)
    names = {"dd": "dd", "put": "PUT", "get": "GET", "get_file": "GET-o", "cos_put": "cPUT", "cos_get": "cGET"}
    order = lambda o: "/".join(names[x] for x in o)
    detail = (f"Per-repetition ratios, 256 MiB: PUT {pct(large['put_ratios'])}; GET {pct(large['get_ratios'])}; "
              f"GET with `curl -o` {pct(large['get_file_ratios'])}; "
              f"cos PUT {pct(large['cos_put_ratios'])}; cos GET {pct(large['cos_get_ratios'])}.\n"
              f"cos ÷ oss per repetition, 256 MiB: PUT {pct(large['cos_put_vs_oss_ratios'])}; "
              f"GET {pct(large['cos_get_vs_oss_ratios'])}; 1 MiB: PUT {pct(small['cos_put_vs_oss_ratios'])}; "
              f"GET {pct(small['cos_get_vs_oss_ratios'])}.\n"
              f"Orders (seed {seed}; cPUT/cGET: the cos face): {', '.join(order(o) for o in large['orders'])}.\n"
              f"Request-rate runs in order (req/s): {', '.join(rate['sequence'])}.\n"
              f"Machine load: {idle_busy:.0f}% of both CPUs busy in the 3 s before the run (others' work), "
              f"{run_busy:.0f}% during the run ({elapsed:.0f} s).")
    print(table)
    print()
    print(cos_table)
    print(detail)
    if args.no_write:
        return
    cmd = "cargo build --release -p stsgate && .venv/bin/python bench/run.py" + (" --quick" if args.quick else "")
    cmd += f"  # order seed {seed}"
    results = ROOT / "bench" / "RESULTS.md"
    # Hand-written notes below the marker survive a re-run.
    marker = "<!-- notes: kept by bench/run.py -->"
    old = results.read_text() if results.exists() else ""
    notes = old[old.index(marker):] if marker in old else marker + "\n"
    curl = subprocess.run(["curl", "--version"], capture_output=True, text=True).stdout.split("\n")[0].split(" (")[0]
    results.write_text(f"""# stsgate benchmark results

Measured {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} on the dev machine
({os.cpu_count()} CPUs shared by client and server and with other engineers' builds; Linux
{platform.release()}), all figures from one run of:

    {cmd}

* One server, `stsgate serve` with its oss face and its cos face (Tencent COS XML API) on free
  loopback ports, both over the same local store; the first table is the oss face (Alibaba OSS
  API), the second the cos face measured in the same run, beside it. oss requests use V1
  presigned URLs (bucket `bench`, the data dir's Alibaba root key); cos requests use q-sign
  presigned URLs in the `{{Bucket}}` path form, `http://127.0.0.1:PORT/bench-<AppId>/<key>?q-sign-algorithm=sha1&…&q-header-list=host&q-url-param-list=&q-signature=…`
  (the signed path `/<key>` without the bucket segment, the signed host `127.0.0.1:PORT`; signed
  by `cos_signature` in bench/run.py with the data dir's Tencent root key, checked against the
  spec's vector and by a PUT and GET through the cos face before the run). The bucket
  `bench-<AppId>` is created with that key (cos-python-sdk-v5, IP mode). All URLs are signed
  before the timed operations.
* Throughput, all on one disk (the repository's `target/`, which holds the source file, the
  destination files and the server's data directory), **fsync included on both sides**, loopback:
  * raw copy (baseline): `dd if=src of=dst bs=1M conv=fsync`: reads the source file, writes the
    destination in 1 MiB writes, fsyncs it.
  * PUT: `curl -T src <presigned URL>` ({curl}); the server writes the blob and fsyncs it
    (then renames it, fsyncs the directory and commits SQLite) before it answers.
  * GET: `python3 bench/get_client.py <presigned URL> dst`, a new process (stdlib socket) that
    receives the body into a 1 MiB buffer, writes dst in 1 MiB writes like the baseline's dd,
    then fsyncs it; the time includes starting Python (~25 ms). The object was uploaded (untimed)
    through the same face from the same source file before the repetitions.
  * For reference only, GET with `curl -o dst` then fsync(dst) in the benchmark (oss face only;
    curl writes the file in 4–16 KiB pieces, which this kernel flushes slower; see the notes).
  * Each repetition runs all operations, dd and both faces', shuffled together in a fresh
    random order (the orders are listed below). Before every timed operation, untimed: the
    previous destination file / uploaded object is deleted and `sync` runs. The ratio to the raw
    copy is the median of the per-repetition ratios (baseline time / stsgate time); cos ÷ oss is
    the median of the per-repetition ratios oss time / cos time (the cos face's throughput over
    the oss face's). At 1 MiB the times are dominated by starting a client process per
    request (curl ~10 ms; Python for the GET client ~25–60 ms, hence GET 1 MiB's low figure),
    so those ratios are no target.
* Request rate: {rate['tool']}, {rate['seconds']} s per method and face, 512 distinct keys with
  presigned URLs per face, keep-alive, loopback. Each method runs the two faces A-B-B-A in runs of
  {rate['seconds'] // 2} s (the first face drawn by the order seed; the runs are listed below), so each face's rate
  is its requests over its 2 × {rate['seconds'] // 2} s, and cos ÷ oss is measured back to back with a linear drift
  of the machine's speed cancelled out.
* Peak RSS: VmHWM from /proc/<pid>/status of a freshly started server after the upload (through
  the oss face).
* {detail.replace(chr(10), chr(10) + '  ')}
  Absolute figures move with the other load on the machine; the ratios are measured back to
  back in the same run.

{table}

{cos_table}

{notes}""")
    print("\nwrote bench/RESULTS.md")


if __name__ == "__main__":
    main()
