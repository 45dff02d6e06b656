#!/usr/bin/env python3
"""The small-PUT baseline of bench/run.py: how many 4 KiB files this disk takes durably per
second, written the way a store must write them (not a test; CI does not run it).

    python3 bench/durable_writes.py DIR [--threads 64] [--seconds 5] [--size 4096] [--names 512]

THREADS threads, for SECONDS, each in a loop: create a new file in DIR/tmp, write SIZE bytes,
fsync it, close it, rename it over DIR/objects/<name> (NAMES names shared by all threads, so
old files are replaced and unlinked as the store's overwrites are), fsync DIR/objects. Prints
one JSON line: {"ops", "seconds", "rate", "p50_ms", "p99_ms", "threads", "cpu_seconds"} (p50/p99:
of the time from creating a file to its directory's fsync returning). Only files written to the
end (renamed and the directory fsynced) before the deadline count.

Python threads are enough: os.write, os.fsync and os.rename release the GIL, and the loop's
own Python work is a few µs against the ~ms of an fsync (bench/RESULTS.md notes compare thread
counts and the process's CPU time).
"""

import argparse
import json
import os
import resource
import threading
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--threads", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--names", type=int, default=512)
    args = ap.parse_args()
    tmp = os.path.join(args.dir, "tmp")
    objects = os.path.join(args.dir, "objects")
    os.makedirs(tmp, exist_ok=True)
    os.makedirs(objects, exist_ok=True)
    body = os.urandom(args.size)
    counts = [0] * args.threads
    latencies = [[] for _ in range(args.threads)]
    start = threading.Barrier(args.threads + 1)
    deadline = [0.0]

    def worker(t):
        dfd = os.open(objects, os.O_RDONLY | os.O_DIRECTORY)
        n = 0
        lat = latencies[t]
        start.wait()
        end = deadline[0]
        while True:
            t0 = time.monotonic()
            if t0 >= end:
                break
            path = os.path.join(tmp, f"{t}-{n}.tmp")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            w = 0
            while w < len(body):
                w += os.write(fd, body[w:])
            os.fsync(fd)
            os.close(fd)
            os.rename(path, os.path.join(objects, f"{(t + n * args.threads) % args.names:05d}"))
            os.fsync(dfd)
            n += 1
            t1 = time.monotonic()
            if t1 < end:
                counts[t] = n
                lat.append(t1 - t0)
        os.close(dfd)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(args.threads)]
    for th in threads:
        th.start()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.monotonic()
    deadline[0] = t0 + args.seconds
    start.wait()
    for th in threads:
        th.join()
    elapsed = min(time.monotonic(), deadline[0]) - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    ops = sum(counts)
    lat = sorted(x for ls in latencies for x in ls)
    pick = lambda q: 1000 * lat[min(len(lat) - 1, int(q * len(lat)))] if lat else 0.0
    print(json.dumps({"ops": ops, "seconds": elapsed, "rate": ops / elapsed, "p50_ms": pick(0.5),
                      "p99_ms": pick(0.99), "threads": args.threads, "cpu_seconds": cpu}))


if __name__ == "__main__":
    main()
