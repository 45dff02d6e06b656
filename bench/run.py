#!/usr/bin/env python3
"""stsgate oss-face benchmark (not a test; CI does not run it).

    cargo build --release -p stsgate && .venv/bin/python bench/run.py [--quick]

Needs the conformance venv (oss2, requests) for signing, `curl` and `dd`; uses `wrk` for the
request-rate phase when it is on PATH (`apt-get install wrk`), else a built-in asyncio client.

In one run, on one temp dir on the repository's disk (under target/), it measures:
  1. PUT and GET throughput of 1 MiB and 256 MiB objects through stsgate (V1 presigned URLs,
     streaming from/to files: PUT with curl, GET with bench/get_client.py, which writes in 1 MiB
     blocks like dd), as a ratio to `dd bs=1M` copying the same bytes between two files on the
     same disk. fsync is included on both sides: dd runs with conv=fsync, the server fsyncs
     before acknowledging a PUT, and the GET client fsyncs the file it wrote. The order of the
     operations is random per repetition, and each starts after an untimed cleanup and `sync`.
  2. Requests per second for 4 KiB PUT and GET at 64 concurrent connections.
  3. Peak RSS (VmHWM) of a freshly started server during a 1 GiB upload.
It prints a table and rewrites bench/RESULTS.md.
"""

import argparse
import asyncio
import datetime as dt
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
from pathlib import Path

import oss2

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(os.environ.get("STSGATE_BIN", ROOT / "target/release/stsgate"))
MIB = 1024 * 1024
LISTEN_RE = re.compile(r"^oss listening on (http://[\d.]+:\d+)")
BUCKET = "bench"


class Server:
    def __init__(self, data: Path):
        # Free ports for every face, so that the benchmark does not collide with another server.
        self.proc = subprocess.Popen([str(BIN), "serve", "--data", str(data), "--oss-addr", "127.0.0.1:0",
                                      "--sts-addr", "127.0.0.1:0", "--api-addr", "127.0.0.1:0"],
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
    """Per repetition: dd (the baseline), PUT, GET (and optionally GET with `curl -o`) of the same
    bytes, in a fresh random order each repetition. Before each timed operation, outside the
    timed region, the previous outputs are deleted and `sync` runs. The ratio is the median of
    the per-repetition ratios, so that drift in the machine's load between repetitions (the
    machine is shared) cancels out as far as it can."""
    rng = random.Random(seed)
    src = work / f"src-{size}"
    make_file(src, size)
    dst = work / "dst"
    get_key = f"tp/{size}-get"
    # The object the GETs read, uploaded once, untimed, from the same source file.
    curl_put(srv.bucket.sign_url("PUT", get_key, 7200), src)
    assert srv.bucket.head_object(get_key).content_length == size
    get_url = srv.bucket.sign_url("GET", get_key, 7200)
    ops = ["dd", "put", "get"] + (["get_file"] if with_curl_file else [])
    times = {op: [] for op in ops}
    orders = []
    for i in range(reps):
        order = ops[:]
        rng.shuffle(order)
        orders.append(order)
        for op in order:
            settle()
            put_key = f"tp/{size}-put-{i}"
            if op == "dd":
                times[op].append(dd_copy(src, dst))
            elif op == "put":
                times[op].append(curl_put(srv.bucket.sign_url("PUT", put_key, 3600), src))
            elif op == "get":
                times[op].append(py_get(get_url, dst))
            else:
                times[op].append(curl_get_file(get_url, dst))
            # Check the bytes arrived, then clean up (untimed; the next op starts with a sync).
            if op == "put":
                assert srv.bucket.head_object(put_key).content_length == size
                srv.bucket.delete_object(put_key)
            else:
                assert dst.stat().st_size == size
                dst.unlink()
    srv.bucket.delete_object(get_key)
    src.unlink()
    base = times["dd"]
    mbps = lambda ts: size / statistics.median(ts) / MIB
    ratios = lambda ts: [b / t for b, t in zip(base, ts)]
    out = {"base": mbps(base), "reps": reps, "orders": orders}
    for op in ops[1:]:
        out[op] = mbps(times[op])
        out[op + "_ratios"] = ratios(times[op])
        out[op + "_ratio"] = statistics.median(out[op + "_ratios"])
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
        small = throughput(srv, work, MIB, 10 if args.quick else 30, seed, False)
        large = throughput(srv, work, 256 * MIB, 3 if args.quick else 9, seed, True)
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
        ("GET 256 MiB, `curl -o file` + fsync (for reference)", large["get_file"], large["base"],
         large["get_file_ratio"], large["reps"], None),
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
    order = lambda o: "/".join({"dd": "dd", "put": "PUT", "get": "GET", "get_file": "GET-o"}[x] for x in o)
    detail = (f"Per-repetition ratios, 256 MiB: PUT {pct(large['put_ratios'])}; GET {pct(large['get_ratios'])}; "
              f"GET with `curl -o` {pct(large['get_file_ratios'])}.\n"
              f"Orders (seed {seed}): {', '.join(order(o) for o in large['orders'])}.\n"
              f"Machine load: {idle_busy:.0f}% of both CPUs busy in the 3 s before the run (others' work), "
              f"{run_busy:.0f}% during the run ({elapsed:.0f} s).")
    print(table)
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

* Throughput, all on one disk (the repository's `target/`, which holds the source file, the
  destination files and the server's data directory), **fsync included on both sides**, loopback:
  * raw copy (baseline): `dd if=src of=dst bs=1M conv=fsync`: reads the source file, writes the
    destination in 1 MiB writes, fsyncs it.
  * PUT: `curl -T src <V1 presigned URL>` ({curl}); the server writes the blob and fsyncs it
    (then renames it, fsyncs the directory and commits SQLite) before it answers.
  * GET: `python3 bench/get_client.py <presigned URL> dst`, a new process (stdlib socket) that
    receives the body into a 1 MiB buffer, writes dst in 1 MiB writes like the baseline's dd,
    then fsyncs it; the time includes starting Python (~25 ms). The object was uploaded (untimed)
    from the same source file before the repetitions.
  * For reference only, GET with `curl -o dst` then fsync(dst) in the benchmark (curl writes the
    file in 4–16 KiB pieces, which this kernel flushes slower; see the notes).
  * Each repetition runs the operations in a fresh random order (the orders are listed below).
    Before every timed operation, untimed: the previous destination file / uploaded object is
    deleted and `sync` runs. The ratio is the median of the per-repetition ratios (baseline
    time / stsgate time). At 1 MiB the times are dominated by starting a client process per
    request (curl ~10 ms; Python for the GET client ~25–60 ms, hence GET 1 MiB's low figure),
    so those ratios are no target.
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
