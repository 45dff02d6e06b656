#!/usr/bin/env python3
"""stsgate oss-face benchmark (not a test; CI does not run it).

    cargo build --release -p stsgate && .venv/bin/python bench/run.py [--quick]

Needs the conformance venv (oss2, requests) for signing, `curl` and `dd`; uses `wrk` for the
request-rate phase when it is on PATH (`apt-get install wrk`), else a built-in asyncio client.

In one run, on one temp dir on the repository's disk (under target/), it measures:
  1. PUT and GET throughput of 1 MiB and 256 MiB objects through stsgate (curl with V1
     presigned URLs, streaming from/to files), as a ratio to `dd` copying the same bytes between
     two files on the same disk. fsync is included on both sides: dd runs with conv=fsync, the
     server fsyncs before acknowledging a PUT, and the GET client fsyncs the file it wrote.
  2. Requests per second for 4 KiB PUT and GET at 64 concurrent connections.
  3. Peak RSS (VmHWM) of a freshly started server during a 1 GiB upload.
It prints a table and rewrites bench/RESULTS.md.
"""

import argparse
import asyncio
import datetime as dt
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import oss2

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(os.environ.get("STSGATE_BIN", ROOT / "target/release/stsgate"))
MIB = 1024 * 1024
LISTEN_RE = re.compile(r"^oss listening on (http://[\d.]+:\d+)")
BUCKET = "bench"


class Server:
    def __init__(self, data: Path):
        self.proc = subprocess.Popen([str(BIN), "serve", "--data", str(data), "--oss-addr", "127.0.0.1:0"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     env=dict(os.environ, RUST_LOG="error"))
        deadline = time.monotonic() + 30
        self.endpoint = None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline().decode()
            if not line:
                break
            m = LISTEN_RE.match(line)
            if m:
                self.endpoint = m.group(1)
                break
        if not self.endpoint:
            self.proc.kill()
            sys.exit("stsgate did not start")
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()
        import json
        creds = json.loads((data / "root-credentials.json").read_text())
        self.auth = oss2.Auth(creds["AccessKeyId"], creds["AccessKeySecret"])
        self.bucket = oss2.Bucket(self.auth, self.endpoint, BUCKET)

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


def drop_caches_if_possible():
    subprocess.run(["sync"])


def timed(cmd) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def dd_copy(src: Path, dst: Path) -> float:
    t = timed(["dd", f"if={src}", f"of={dst}", "bs=1M", "conv=fsync"])
    dst.unlink()
    return t


def curl_put(url: str, src: Path) -> float:
    return timed(["curl", "-sS", "-f", "-o", "/dev/null", "-T", str(src), url])


def curl_get(url: str, dst: Path) -> float:
    """GET with `curl -o file`, then fsync the file."""
    t = time.perf_counter()
    subprocess.run(["curl", "-sS", "-f", "-o", str(dst), url], check=True)
    fd = os.open(dst, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    t = time.perf_counter() - t
    dst.unlink()
    return t


def throughput(srv: Server, work: Path, size: int, reps: int):
    """Per repetition, back to back: dd (the baseline), PUT, GET of the same bytes. The ratio is
    the median of the per-repetition ratios, so that drift in the machine's load between
    repetitions (the machine is shared) cancels out as far as it can."""
    src = work / f"src-{size}"
    make_file(src, size)
    dst = work / "dst"
    base, put, get = [], [], []
    for i in range(reps):
        drop_caches_if_possible()
        base.append(dd_copy(src, dst))
        key = f"tp/{size}-{i}"
        put.append(curl_put(srv.bucket.sign_url("PUT", key, 3600), src))
        get.append(curl_get(srv.bucket.sign_url("GET", key, 3600), dst))
        assert srv.bucket.head_object(key).content_length == size
        srv.bucket.delete_object(key)
    src.unlink()
    mbps = lambda ts: size / statistics.median(ts) / MIB
    ratio = lambda ts: statistics.median(b / t for b, t in zip(base, ts))
    return {"base": mbps(base), "put": mbps(put), "get": mbps(get), "reps": reps,
            "put_ratio": ratio(put), "get_ratio": ratio(get),
            "put_ratios": [b / t for b, t in zip(base, put)], "get_ratios": [b / t for b, t in zip(base, get)]}


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
def presigned_paths(srv: Server, method: str, keys):
    out = []
    for k in keys:
        u = urllib.parse.urlsplit(srv.bucket.sign_url(method, k, 7200))
        out.append(u.path + "?" + u.query)
    return out


def wrk_rate(srv, method, paths, body, conns, seconds):
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
    out = subprocess.run(["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "-s", str(lua), srv.endpoint],
                         capture_output=True, text=True, check=True).stdout
    lua.unlink()
    m = re.search(r"RESULT (\d+) (\d+) (\d+)", out)
    reqs, micros, errors = map(int, m.groups())
    return reqs / (micros / 1e6), errors


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
    return counts[0] / (time.monotonic() - t), errors[0]


def request_rate(srv, conns=64, seconds=10, n_keys=512):
    body = os.urandom(4096)
    keys = [f"rps/{i:05d}" for i in range(n_keys)]
    put_paths = presigned_paths(srv, "PUT", keys)
    get_paths = presigned_paths(srv, "GET", keys)
    u = urllib.parse.urlsplit(srv.endpoint)
    if shutil.which("wrk"):
        tool = "wrk -t2 -c64"
        put = wrk_rate(srv, "PUT", put_paths, body, conns, seconds)
        get = wrk_rate(srv, "GET", get_paths, body, conns, seconds)
    else:
        tool = "asyncio client (64 keep-alive connections, one process)"
        put = asyncio.run(_async_rate(u.hostname, u.port, "PUT", put_paths, body, conns, seconds))
        get = asyncio.run(_async_rate(u.hostname, u.port, "GET", get_paths, body, conns, seconds))
    return {"tool": tool, "put": put, "get": get, "seconds": seconds}


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
    args = ap.parse_args()
    if not BIN.exists():
        sys.exit(f"{BIN} missing: cargo build --release -p stsgate")
    (ROOT / "target").mkdir(exist_ok=True)
    idle_busy = busy_percent(3)
    c0 = cpu_ticks()
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="stsgate-bench-", dir=ROOT / "target"))
    try:
        srv = Server(work / "data")
        srv.bucket.create_bucket()
        small = throughput(srv, work, MIB, 10 if args.quick else 30)
        large = throughput(srv, work, 256 * MIB, 3 if args.quick else 7)
        rate = request_rate(srv, seconds=5 if args.quick else 10)
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
    ]
    lines = ["| measurement | stsgate | raw copy (dd, same disk) | stsgate / raw copy | target |",
             "|---|---|---|---|---|"]
    for name, v, base, ratio, reps, target in rows:
        t = f"≥ {target:.0%}: {ok(ratio >= target)}" if target else ""
        lines.append(f"| {name} (median of {reps}) | {v:.0f} MiB/s | {base:.0f} MiB/s | {ratio:.0%} | {t} |")
    lines.append(f"| 4 KiB PUT, 64 connections | {rate['put'][0]:.0f} req/s ({rate['put'][1]} errors) | | | |")
    lines.append(f"| 4 KiB GET, 64 connections | {rate['get'][0]:.0f} req/s ({rate['get'][1]} errors) | | | |")
    lines.append(f"| peak RSS (VmHWM) during a {rss['size'] // MIB} MiB upload | {rss['hwm'] / MIB:.1f} MiB "
                 f"(idle {rss['before'] / MIB:.1f} MiB; upload at {rss['size'] / rss['seconds'] / MIB:.0f} MiB/s) "
                 f"| | | < 100 MiB: {ok(rss['hwm'] < 100 * MIB)} |")
    lines.append(f"| peak RSS after all phases above | {hwm_after_all / MIB:.1f} MiB | | | |")
    table = "\n".join(lines)
    pct = lambda rs: ", ".join(f"{r:.0%}" for r in rs)
    detail = (f"Per-repetition ratios, 256 MiB: PUT {pct(large['put_ratios'])}; GET {pct(large['get_ratios'])}.\n"
              f"Machine load: {idle_busy:.0f}% of both CPUs busy in the 3 s before the run (others' work), "
              f"{run_busy:.0f}% during the run ({elapsed:.0f} s).")
    print(table)
    print(detail)
    if args.no_write:
        return
    cmd = "cargo build --release -p stsgate && .venv/bin/python bench/run.py" + (" --quick" if args.quick else "")
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

* Throughput: {curl} on loopback streaming a file through a V1 presigned URL (`curl -T file`,
  PUT) or into a file (`curl -o file`, GET), versus `dd bs=1M conv=fsync` copying the same bytes
  between two files on the same disk (the repository's `target/`, where the server's data
  directory also is). **fsync is included on both sides**: dd's conv=fsync; the server fsyncs
  the blob (then the directory, then commits SQLite) before it answers a PUT; the GET client
  fsyncs the file it wrote. Each repetition runs dd, PUT, GET back to back; the ratio is the
  median of the per-repetition ratios. At 1 MiB the times are dominated by starting a curl
  process per request, so those ratios are no target.
* Request rate: {rate['tool']}, {rate['seconds']} s per method, 512 distinct keys with presigned
  URLs, keep-alive, loopback.
* Peak RSS: VmHWM from /proc/<pid>/status of a freshly started server after the upload.
* {detail.replace(chr(10), chr(10) + '  ')}
  Absolute figures move with the other load on the machine; the ratios are measured back to
  back in the same run.

{table}

{notes}""")
    print("\nwrote bench/RESULTS.md")


if __name__ == "__main__":
    main()
