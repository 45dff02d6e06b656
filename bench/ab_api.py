#!/usr/bin/env python3
"""A/B of stsgate builds on the api face's hot routes (not a test; CI does not run it).

    python3 bench/ab_api.py OLD_BINARY NEW_BINARY [--rounds 6] [--seconds 3] [--rows custom,hit]

Starts the axum fixed-body baseline (target/release/examples/fixed_body, or --fixed) and one
`stsgate serve` per binary (fresh data directories, rate limits off, 64 warm callers each), then
runs short wrk loads (bench/wrk/api.lua, 64 connections) in interleaved rounds — axum, then each
binary's rows, the binaries' order reversed every other round — and prints, per row, the median
rate, the median of its per-round ratio to axum (with the range) and the median server CPU per
request. This machine's speed drifts by tens of percent within a minute; only rows measured
seconds apart, many times over, tell a 5% change from noise. A binary may be a wrapper script
that sets environment variables and execs the real binary (its pid stays the server's).
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run_api as ra  # noqa: E402  (the process, JWT and wrk helpers)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bins", nargs="+", help="stsgate binaries (or wrapper scripts) to compare")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--seconds", type=int, default=3)
    ap.add_argument("--rows", default="custom,hit", help="among custom (POST /auth/custom), hit (cache hit)")
    ap.add_argument("--fixed", help="the axum fixed-body binary (default: the release example)")
    a = ap.parse_args()
    a.conns, a.threads, a.tool = 64, 2, "wrk"
    if a.fixed:
        ra.FIXED = Path(a.fixed)
    rows = set(a.rows.split(","))
    work = Path(tempfile.mkdtemp(prefix="stsgate-ab-", dir=ra.ROOT / "target"))
    targets = []  # (label, pid, url, method, path, callers file)
    try:
        proc, url = ra.start([str(ra.FIXED), "127.0.0.1:0"], r"^fixed_body listening on (http://[\d.]+:\d+)")
        one = work / "one.txt"
        ra.write_callers(one, ["x"] * a.conns, [ra.custom_body("x")] * a.conns)
        targets.append(("axum", proc.pid, url, "POST", "/auth/custom", one))
        config = work / "stsgate.toml"
        config.write_text("[api.rate_limit]\nenabled = false\n")
        for i, b in enumerate(a.bins):
            data = work / f"data{i}"
            srv, api = ra.start([b, "serve", "--data", str(data), "--oss-addr", "127.0.0.1:0",
                                 "--sts-addr", "127.0.0.1:0", "--api-addr", "127.0.0.1:0", "--config", str(config)],
                                r"^api listening on (http://[\d.]+:\d+)", env={"RUST_LOG": "error"})
            subs = [f"hit-{i}-{j}" for j in range(a.conns)]
            tokens = ra.mint_jwts((data / "jwt-hs256.key").read_bytes(), subs)
            bodies = [ra.custom_body(s) for s in subs]
            for t, body in zip(tokens, bodies):
                assert ra.http("GET", api + ra.CREDS_PATH, t)[0] == 200
                assert ra.http("POST", api + "/auth/custom", t, body)[0] == 200
            callers = work / f"warm{i}.txt"
            ra.write_callers(callers, tokens, bodies)
            label = f"{i}:{os.path.basename(b)}"
            if "custom" in rows:
                targets.append((label + " /auth/custom", srv.pid, api, "POST", "/auth/custom", callers))
            if "hit" in rows:
                targets.append((label + " hit", srv.pid, api, "GET", ra.CREDS_PATH, callers))
        rates = {t[0]: [] for t in targets}
        cpu = {t[0]: [] for t in targets}
        for r in range(a.rounds):
            order = targets if r % 2 == 0 else [targets[0]] + targets[1:][::-1]
            for label, pid, url, method, path, callers in order:
                c0 = ra.cpu_seconds(pid)
                out = ra.wrk_run(url, method, path, callers, "rotate", a)
                c1 = ra.cpu_seconds(pid)
                if out["non2xx"] or out["socket_errors"]:
                    sys.exit(f"{label}: {out['non2xx']} error answers, {out['socket_errors']} socket errors")
                rates[label].append(out["rate"])
                cpu[label].append(1e6 * (c1 - c0) / max(1, out["requests"]))
            print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1] / 1000:.1f}k" for k, v in rates.items()), flush=True)
        print(f"\nmedians over {a.rounds} rounds of {a.seconds} s:")
        for k, v in rates.items():
            ratios = [x / y for x, y in zip(v, rates["axum"])]
            print(f"  {k:32s} {statistics.median(v):7.0f} req/s  ÷ axum {statistics.median(ratios):5.1%} "
                  f"(rounds {min(ratios):.0%}–{max(ratios):.0%})  server CPU {statistics.median(cpu[k]):.0f} µs/request")
    finally:
        for p in ra.RUNNING:
            if p.poll() is None:
                ra.stop(p)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
