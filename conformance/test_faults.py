"""Faults, each driven through the real SDK (oss2) against a live server: a full disk during PUT,
multipart and audit writes; the metadata database locked by another process; object files gone or
unreadable; SIGKILL during a burst of credential issuance. In each, the request that cannot be
served fails with a vendor-shaped error a client can act on (503 ServiceUnavailable: retry later),
nothing torn becomes visible, the server keeps serving what it can and recovers by itself.

The full-disk test mounts a small tmpfs, so it needs root (the test command runs as root to
install its packages)."""

import base64
import hashlib
import hmac
import json
import os
import sqlite3
import subprocess
import threading
import time
import uuid

import oss2
import pytest
import requests

from conftest import REGION, Server

MIB = 1024 * 1024


def root_bucket(srv, name):
    b = oss2.Bucket(srv.root_auth(), srv.endpoint, name, region=REGION)
    b.create_bucket()
    return b


def oss_error(call):
    with pytest.raises(oss2.exceptions.OssError) as e:
        call()
    return e.value


def credentials(srv, token):
    return requests.get(f"{srv.api_endpoint}/v1/credentials", params={"grant": "user-folder"},
                        headers={"Authorization": f"Bearer {token}"}, timeout=30)


def audit_rows(srv):
    op = json.loads((srv.data_dir / "root-credentials.json").read_text())["OperatorKey"]
    rows, cursor = [], None
    for _ in range(1000):
        params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        r = requests.get(f"{srv.api_endpoint}/v1/audit", params=params,
                         headers={"Authorization": f"Bearer {op}"}, timeout=30)
        assert r.status_code == 200, r.text
        rows += r.json()["records"]
        cursor = r.json()["next_cursor"]
        if not cursor:
            return rows
    raise AssertionError("the audit log did not end")


def fill(path):
    """Writes `path` until the filesystem is full; returns the bytes written."""
    written = 0
    chunk = b"\0" * MIB
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                written += f.write(chunk)
            except OSError:
                break
        for size in (64 * 1024, 4096, 512, 1):
            while True:
                try:
                    written += f.write(b"\0" * size)
                except OSError:
                    break
    return written


@pytest.fixture
def small_disk(tmp_path):
    if os.geteuid() != 0:
        pytest.fail("the full-disk test mounts a small tmpfs and needs root (FIXME: no non-root way "
                    "to fill a disk for one process on this machine)")
    mnt = tmp_path / "small"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mnt)], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_full_disk_fails_writes_cleanly_keeps_reads_and_recovers(small_disk, tmp_path):
    srv = Server(small_disk / "data", log_dir=tmp_path)
    srv.start()
    try:
        b = root_bucket(srv, "faults")
        big = os.urandom(64 * 1024)
        b.put_object("keep.txt", b"kept")
        b.put_object("keep.bin", big)
        up = b.init_multipart_upload("mp.bin").upload_id
        part1 = os.urandom(MIB)
        etag1 = b.upload_part("mp.bin", up, 1, part1).etag
        token = srv.token("alice")
        assert credentials(srv, token).status_code == 200
        minted_before = len(audit_rows(srv))

        ballast = small_disk / "ballast"
        fill(ballast)
        # A large PUT, a small one and a part: refused with OSS's 503, nothing stored.
        for call in (lambda: b.put_object("new.bin", os.urandom(2 * MIB)),
                     lambda: b.put_object("new.txt", b"x" * 4096),
                     lambda: b.upload_part("mp.bin", up, 2, os.urandom(2 * MIB))):
            e = oss_error(call)
            assert e.status == 503 and e.code == "ServiceUnavailable", (e.status, e.code, e.message)
            assert "storage is full" in e.message, e.message
        for key in ("new.bin", "new.txt"):
            assert not b.object_exists(key)
        assert [o.key for o in oss2.ObjectIterator(b)] == ["keep.bin", "keep.txt"]
        assert [p.part_number for p in b.list_parts("mp.bin", up).parts] == [1]
        # Reads go on.
        assert b.get_object("keep.txt").read() == b"kept"
        assert b.get_object("keep.bin").read() == big
        # Issuance: never a credential without its audit row (refused while the log cannot grow).
        r = credentials(srv, srv.token("bob"))
        assert r.status_code in (200, 503), r.text
        if r.status_code == 503:
            assert r.json()["error"]["code"] == "AuditUnavailable", r.text

        # Space returns: everything works again, without a restart.
        ballast.unlink()
        data = os.urandom(2 * MIB)
        b.put_object("new.bin", data)
        assert b.get_object("new.bin").read() == data
        etag2 = b.upload_part("mp.bin", up, 2, b"tail").etag
        b.complete_multipart_upload("mp.bin", up, [oss2.models.PartInfo(1, etag1), oss2.models.PartInfo(2, etag2)])
        assert b.get_object("mp.bin").read() == part1 + b"tail"
        r = credentials(srv, srv.token("carol"))
        assert r.status_code == 200, r.text
        rows = audit_rows(srv)
        assert len(rows) > minted_before
        issued = {x["access_key_id"] for x in rows if x["outcome"] == "issued"}
        assert r.json()["AccessKeyId"] in issued
        assert srv.proc.poll() is None, srv.stderr_tail()
    finally:
        srv.stop()


def test_a_locked_metadata_database_gives_503_then_recovers(tmp_path):
    srv = Server(tmp_path / "data", log_dir=tmp_path)
    srv.start()
    try:
        b = root_bucket(srv, "locked")
        b.put_object("before.txt", b"before")
        other = sqlite3.connect(srv.data_dir / "store" / "meta.sqlite3", timeout=0, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        try:
            started = time.monotonic()
            e = oss_error(lambda: b.put_object("during.txt", b"during"))
            waited = time.monotonic() - started
            assert e.status == 503 and e.code == "ServiceUnavailable", (e.status, e.code, e.message)
            assert "locked by another process" in e.message, e.message
            assert waited < 30, f"the PUT waited {waited:.1f} s"
            # Reads of what was committed go on (WAL readers are not blocked).
            assert b.get_object("before.txt").read() == b"before"
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert not b.object_exists("during.txt")
        b.put_object("after.txt", b"after")
        assert b.get_object("after.txt").read() == b"after"
    finally:
        srv.stop()


def blob_of(srv, size):
    """The blob file of the one object of `size` bytes."""
    found = [p for p in (srv.data_dir / "store" / "blobs").rglob("*") if p.is_file() and p.stat().st_size == size]
    assert len(found) == 1, found
    return found[0]


def test_missing_or_unreadable_object_files_fail_that_object_only(tmp_path):
    srv = Server(tmp_path / "data", log_dir=tmp_path)
    srv.start()
    try:
        b = root_bucket(srv, "damaged")
        gone, swapped, fine = os.urandom(100_001), os.urandom(100_002), os.urandom(100_003)
        b.put_object("gone.bin", gone)
        b.put_object("swapped.bin", swapped)
        b.put_object("fine.bin", fine)
        blob_of(srv, len(gone)).unlink()
        s = blob_of(srv, len(swapped))
        s.unlink()
        s.mkdir()  # reads fail with EISDIR, as a file the server may not read would
        for key in ("gone.bin", "swapped.bin"):
            e = oss_error(lambda: b.get_object(key).read())
            assert e.status == 500 and e.code == "InternalError", (key, e.status, e.code)
            assert str(srv.data_dir) not in e.message and "blobs" not in e.message, e.message
        assert b.get_object("fine.bin").read() == fine
        # The damaged keys can still be overwritten and deleted.
        b.put_object("gone.bin", b"again")
        assert b.get_object("gone.bin").read() == b"again"
        b.delete_object("swapped.bin")
        assert not b.object_exists("swapped.bin")
        assert srv.proc.poll() is None, srv.stderr_tail()
    finally:
        srv.stop()


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def mint(key, sub):
    now = int(time.time())
    head = b64url(json.dumps({"typ": "JWT", "alg": "HS256"}, separators=(",", ":")).encode())
    body = b64url(json.dumps({"sub": sub, "iat": now, "exp": now + 3600}, separators=(",", ":")).encode())
    mac = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(mac)}"


def test_sigkill_during_a_burst_of_issuance_leaves_no_credential_without_its_audit_row(tmp_path):
    srv = Server(tmp_path / "data", log_dir=tmp_path)
    srv.start()
    key = (srv.data_dir / "jwt-hs256.key").read_bytes()
    assert credentials(srv, srv.token("probe")).status_code == 200
    handed_out, lock, stop = set(), threading.Lock(), threading.Event()

    def burst(n):
        s = requests.Session()
        i = 0
        while not stop.is_set():
            i += 1
            try:
                r = s.get(f"{srv.api_endpoint}/v1/credentials", params={"grant": "user-folder"},
                          headers={"Authorization": f"Bearer {mint(key, f'u{n}-{i}-{uuid.uuid4().hex[:6]}')}"},
                          timeout=5)
            except requests.RequestException:
                return
            if r.status_code == 200:
                with lock:
                    handed_out.add(r.json()["AccessKeyId"])

    threads = [threading.Thread(target=burst, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    srv.kill()
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert len(handed_out) > 20, f"only {len(handed_out)} credentials before the kill"
    srv.start()
    try:
        issued = {x["access_key_id"] for x in audit_rows(srv) if x["outcome"] == "issued"}
        missing = handed_out - issued
        assert not missing, f"{len(missing)} of {len(handed_out)} credentials have no audit row"
    finally:
        srv.stop()
