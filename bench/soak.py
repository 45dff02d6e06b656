"""stsgate soak benchmark (issue 14): sustained mixed load over the faces at 256 connections,
checking that nothing fails and that memory and open files stay flat (not a test; CI does not run
it). Usage, from the repository root (needs wrk, e.g. `apt-get install -y wrk`):

    cargo build --release -p stsgate && .venv/bin/python bench/soak.py [--seconds 60]

One release `stsgate serve` on a temp data dir; four wrk processes at once, 64 connections each
(256 in all), each cycling through its own list of whole requests:
  * oss face: presigned V1 GET of 64 objects of 4 KiB and presigned PUT of 4 KiB to 256 keys
    (URLs from the api face's /v1/presign), alternating;
  * cos face: the same through the cos face's presigned URLs;
  * api face, credentials: GET /v1/credentials for 256 callers (cache hits) alternating with
    POST /v1/presign;
  * api face, /auth/custom: 256 callers posting in-grant V1 strings-to-sign.
Every 2 s the server's RSS (VmRSS) and open descriptors (/proc/PID/fd) are sampled. Pass: at
least 100,000 requests, zero non-2xx answers and socket errors, and after the first quarter
(warm-up) RSS and open files within 10% of their post-warm-up median. The figures go to stdout;
the command and the last figures are kept in bench/RESULTS.md by hand.
"""

import argparse
import email.utils
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_api import BIN, ROOT, mint_jwts  # noqa: E402

import requests  # noqa: E402

SEP = "\x1f"


def api(api_url, token, path, body=None):
    h = {"Authorization": f"Bearer {token}"}
    r = (requests.post(f"{api_url}{path}", json=body, headers=h, timeout=30) if body is not None
         else requests.get(f"{api_url}{path}", headers=h, timeout=30))
    assert r.status_code == 200, (path, r.status_code, r.text)
    return r.json() if "json" in r.headers.get("content-type", "") else r.text


def line(method, url_or_path, headers=(), body=""):
    path = url_or_path
    if "://" in url_or_path:
        u = urllib.parse.urlsplit(url_or_path)
        path = u.path + (f"?{u.query}" if u.query else "")
    return "\t".join([method, path, SEP.join(f"{k}: {v}" for k, v in headers), body])


def start(cmd):
    """Starts `stsgate serve` and reads its `FACE listening on URL` lines: {face: url}."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=dict(os.environ, RUST_LOG="error"))
    faces, deadline = {}, time.monotonic() + 60
    while len(faces) < 5 and time.monotonic() < deadline:
        text = proc.stdout.readline()
        if not text:
            break
        parts = text.split()
        if len(parts) >= 4 and parts[1:3] == ["listening", "on"]:
            faces[parts[0]] = parts[3]
    if len(faces) < 5:
        proc.kill()
        sys.exit(f"stsgate serve did not start (faces seen: {faces})")
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    return proc, faces


def sample(pid, out, stop):
    while not stop.is_set():
        try:
            rss = int(next(l for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS")).split()[1])
            fds = len(os.listdir(f"/proc/{pid}/fd"))
            out.append((time.monotonic(), rss / 1024, fds))
        except (OSError, StopIteration):
            pass
        stop.wait(2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--conns", type=int, default=64, help="connections per wrk (four of them)")
    a = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install -y wrk")
    work = Path(tempfile.mkdtemp(prefix="stsgate-soak-", dir=ROOT / "target"))
    data = work / "data"
    config = work / "soak.toml"
    config.write_text("[api.rate_limit]\nenabled = false\n")
    serve = [str(BIN), "serve", "--data", str(data), "--config", str(config), "--oss-addr", "127.0.0.1:0",
             "--sts-addr", "127.0.0.1:0", "--api-addr", "127.0.0.1:0", "--cos-addr", "127.0.0.1:0",
             "--tc-sts-addr", "127.0.0.1:0"]
    srv, faces = start(serve)
    try:
        api_url, oss_url, cos_url = faces["api"], faces["oss"], faces["cos"]
        key = (data / "jwt-hs256.key").read_bytes()
        subs = [f"soak{i}" for i in range(256)]
        tokens = mint_jwts(key, subs)
        body4k = "x" * 4096
        files = {}
        for face, grant in (("oss", "user-folder"), ("cos", "cos-folder")):
            lines = []
            for i, (sub, t) in enumerate(zip(subs, tokens)):
                k = f"users/{sub}/soak.bin"
                put = api(api_url, t, "/v1/presign", {"grant": grant, "method": "PUT", "key": k, "expires": 3600})
                assert requests.put(put["url"], data=body4k, headers=put.get("headers", {}), timeout=30).status_code == 200
                get = api(api_url, t, "/v1/presign", {"grant": grant, "method": "GET", "key": k, "expires": 3600})
                lines.append(line("PUT", put["url"], put.get("headers", {}).items(), body4k))
                lines.append(line("GET", get["url"]))
            files[face] = lines
        creds, custom = [], []
        for sub, t in zip(subs, tokens):
            api(api_url, t, "/v1/credentials?grant=user-folder")
            creds.append(line("GET", "/v1/credentials?grant=user-folder", [("Authorization", f"Bearer {t}")]))
            creds.append(line("POST", "/v1/presign", [("Authorization", f"Bearer {t}"), ("Content-Type", "application/json")],
                              json.dumps({"grant": "user-folder", "method": "GET", "key": f"users/{sub}/a.txt"})))
            sts = f"GET\n\n\n{email.utils.formatdate(usegmt=True)}\n/app/users/{sub}/soak.bin"
            custom.append(line("POST", "/auth/custom", [("Authorization", f"Bearer {t}"),
                                                        ("Content-Type", "application/x-www-form-urlencoded")],
                               urllib.parse.urlencode({"content": sts})))
        files["api"], files["custom"] = creds, custom
        urls = {"oss": oss_url, "cos": cos_url, "api": api_url, "custom": api_url}
        samples, stop = [], threading.Event()
        sampler = threading.Thread(target=sample, args=(srv.pid, samples, stop), daemon=True)
        sampler.start()
        procs = {}
        for name, lines in files.items():
            f = work / f"{name}.txt"
            f.write_text("\n".join(lines) + "\n")
            procs[name] = subprocess.Popen(["wrk", "-t1", f"-c{a.conns}", f"-d{a.seconds}s", "--latency", "-s",
                                            str(ROOT / "bench/wrk/soak.lua"), urls[name], "--", str(f), "1"],
                                           stdout=subprocess.PIPE, text=True)
        results = {}
        for name, p in procs.items():
            out = p.communicate()[0]
            res = [l for l in out.splitlines() if l.startswith("RESULT")]
            assert res, out
            results[name] = dict(kv.split("=") for kv in res[0].split()[1:])
        stop.set()
        sampler.join()
        total = sum(int(r["requests"]) for r in results.values())
        failed = sum(int(r["non2xx"]) + int(r["socket_errors"]) for r in results.values())
        start_t = samples[0][0]
        warm = [s for s in samples if s[0] - start_t >= a.seconds / 4]
        rss = [s[1] for s in warm]
        fds = [s[2] for s in warm]
        spread = lambda xs: (max(xs) - min(xs)) / statistics.median(xs)
        print(f"soak: {a.seconds} s, 4 × {a.conns} connections, {total} requests "
              f"({total / a.seconds:.0f}/s), {failed} failed")
        for name, r in results.items():
            print(f"  {name}: {r['requests']} requests, p50 {int(r['p50_us']) / 1000:.2f} ms, "
                  f"p99 {int(r['p99_us']) / 1000:.2f} ms, non-2xx {r['non2xx']}, socket errors {r['socket_errors']}")
        print(f"  RSS after warm-up: {min(rss):.1f}-{max(rss):.1f} MiB (spread {100 * spread(rss):.1f}% of the median; "
              f"first sample {samples[0][1]:.1f} MiB)")
        every = max(1, len(samples) // 12)
        print("  RSS over time (s: MiB): " + ", ".join(f"{t - start_t:.0f}: {r:.0f}" for t, r, _ in samples[::every]))
        print(f"  open files after warm-up: {min(fds)}-{max(fds)} (spread {100 * spread(fds):.1f}%)")
        ok = total >= 100_000 and failed == 0 and spread(rss) <= 0.10 and spread(fds) <= 0.10
        print("PASS" if ok else "FAIL")
        sys.exit(0 if ok else 1)
    finally:
        srv.terminate()
        srv.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
