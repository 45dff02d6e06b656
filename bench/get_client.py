#!/usr/bin/env python3
"""The benchmark's GET client: `get_client.py URL DST` (used by bench/run.py).

One HTTP/1.1 GET over a plain socket (stdlib `socket` only, so the process starts as quickly as
Python can); the body is received into a 1 MiB buffer and written to DST in 1 MiB writes, as
the baseline's `dd bs=1M` writes its copy, then DST is fsynced. Exits non-zero unless the
status is 200 and exactly Content-Length bytes arrived.
"""

import os
import socket
import sys
from urllib.parse import urlsplit

MIB = 1024 * 1024


def main(url: str, dst: str):
    u = urlsplit(url)
    sock = socket.create_connection((u.hostname, u.port or 80))
    target = u.path + ("?" + u.query if u.query else "")
    sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {u.netloc}\r\nConnection: close\r\n\r\n".encode())
    buf = memoryview(bytearray(MIB))
    # Read until the end of the header block; whatever follows it is the start of the body.
    got = 0
    while True:
        k = sock.recv_into(buf[got:])
        if not k:
            sys.exit("GET: connection closed in the header")
        got += k
        end = bytes(buf[:got]).find(b"\r\n\r\n")
        if end >= 0:
            break
    head = bytes(buf[:end]).decode("latin-1").split("\r\n")
    if head[0].split()[1] != "200":
        sys.exit(f"GET: {head[0]}")
    length = next(int(line.split(":", 1)[1]) for line in head[1:]
                  if line.lower().startswith("content-length:"))
    start = end + 4
    n = got - start
    buf[:n] = buf[start:got]
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    left = length
    while True:
        want = min(MIB, left)
        while n < want:
            k = sock.recv_into(buf[n:want])
            if not k:
                sys.exit("GET: body ended early")
            n += k
        w = 0
        while w < n:
            w += os.write(fd, buf[w:n])
        left -= n
        n = 0
        if not left:
            break
    os.fsync(fd)
    os.close(fd)
    sock.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
