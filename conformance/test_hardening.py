"""Safe-by-default behaviour found in review: each test is an attack or a leak that must fail."""

import socket
import time

import oss2
import requests

from conftest import REGION, Server
from helpers import assert_oss_error, post_policy_b64, post_v1_signature, v1_headers
from test_post_object import post


def test_post_policy_bucket_condition_cannot_be_spoofed_by_a_form_field(server, make_bucket):
    # A form signed for bucket A must not upload into bucket B by also sending `bucket=A`.
    a, b = make_bucket("pa"), make_bucket("pb")
    root = server.root
    policy = post_policy_b64([{"bucket": a.bucket_name}, ["starts-with", "$key", "users/alice/"]])
    fields = {"key": "users/alice/x.txt", "OSSAccessKeyId": root["AccessKeyId"], "policy": policy,
              "Signature": post_v1_signature(root["AccessKeySecret"], policy), "bucket": a.bucket_name}
    r = post(server, b.bucket_name, fields, b"spoof")
    assert_oss_error(r, 403, "AccessDenied", "Policy Condition failed")
    assert not b.object_exists("users/alice/x.txt")
    assert post(server, a.bucket_name, fields, b"ok").status_code == 204


def test_endless_form_field_headers_are_cut_off(server, bucket):
    # multer buffers a part's headers until their end: an endless header must be refused, not
    # buffered. 3 MiB of header bytes, then the server must still answer.
    sock = socket.create_connection((server.host, server.port), timeout=30)
    junk = b"x-junk: " + b"a" * (3 * 1024 * 1024)
    head = (f"POST /{bucket.bucket_name}/ HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n"
            f"Content-Type: multipart/form-data; boundary=XX\r\nContent-Length: {len(junk) + 64}\r\n"
            "Connection: close\r\n\r\n").encode()
    sock.sendall(head + b"--XX\r\nContent-Disposition: form-data; name=\"key\"\r\n")
    try:
        sock.sendall(junk)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server may stop reading early: that is the point
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    sock.close()
    assert data.startswith(b"HTTP/1.1 400"), data[:300]
    assert b"MalformedPOSTRequest" in data, data[:600]
    assert requests.get(f"{server.endpoint}/-/healthz").status_code == 200


def test_private_object_in_public_read_write_bucket_is_not_writable_anonymously(make_bucket):
    b = make_bucket("pubrw", acl=oss2.BUCKET_ACL_PUBLIC_READ_WRITE)
    b.put_object("priv.txt", b"mine", headers={"x-oss-object-acl": "private"})
    url = f"{b.endpoint}/{b.bucket_name}/priv.txt"
    assert_oss_error(requests.get(url), 403, "AccessDenied")
    assert_oss_error(requests.put(url, data=b"overwritten"), 403, "AccessDenied")
    assert_oss_error(requests.delete(url), 403, "AccessDenied")
    assert b.get_object("priv.txt").read() == b"mine"
    # the bucket's ACL still applies to other keys
    assert requests.put(f"{b.endpoint}/{b.bucket_name}/open.txt", data=b"hi").status_code == 200


def test_copying_a_public_object_does_not_copy_its_acl(bucket):
    bucket.put_object("pub.txt", b"public", headers={"x-oss-object-acl": "public-read"})
    bucket.copy_object(bucket.bucket_name, "pub.txt", "copy.txt")
    assert bucket.get_object_acl("copy.txt").acl == "default"
    assert_oss_error(requests.get(f"{bucket.endpoint}/{bucket.bucket_name}/copy.txt"), 403, "AccessDenied")
    bucket.copy_object(bucket.bucket_name, "pub.txt", "copy2.txt", headers={"x-oss-object-acl": "public-read"})
    assert requests.get(f"{bucket.endpoint}/{bucket.bucket_name}/copy2.txt").content == b"public"


def test_cors_headers_are_on_error_answers_too(server, bucket):
    rule = oss2.models.CorsRule(allowed_origins=["http://app.example"], allowed_methods=["PUT"],
                                allowed_headers=["*"], max_age_seconds=60)
    bucket.put_bucket_cors(oss2.models.BucketCors([rule]))
    root = server.root
    resource = f"/{bucket.bucket_name}/k.txt"
    headers = v1_headers(root["AccessKeyId"], "wrong-secret", "PUT", resource)
    headers["Origin"] = "http://app.example"
    r = requests.put(f"{server.endpoint}{resource}", data=b"x", headers=headers)
    assert_oss_error(r, 403, "SignatureDoesNotMatch")
    assert r.headers.get("Access-Control-Allow-Origin") == "http://app.example"


def test_oversized_declared_uploads_are_refused_before_the_body(server, bucket):
    root = server.root
    resource = f"/{bucket.bucket_name}/huge.bin"
    headers = v1_headers(root["AccessKeyId"], root["AccessKeySecret"], "PUT", resource)
    sock = socket.create_connection((server.host, server.port), timeout=30)
    head = (f"PUT {resource} HTTP/1.1\r\nHost: {server.host}:{server.port}\r\nContent-Length: {6 * 1024 ** 3}\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "Connection: close\r\n\r\n").encode()
    sock.sendall(head)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    sock.close()
    assert data.startswith(b"HTTP/1.1 400"), data[:300]
    assert b"<Code>EntityTooLarge</Code>" in data


# ---- slow and oversized clients ([timeouts]) --------------------------------------------------
def _slow_server(tmp_path):
    config = tmp_path / "timeouts.toml"
    config.write_text("[timeouts]\nheader_read = 2\nbody_idle = 2\n")
    srv = Server(tmp_path / "slow-data", log_dir=tmp_path, args=["--config", str(config)])
    srv.start()
    return srv


def _read_all(sock, limit=10.0):
    sock.settimeout(limit)
    out = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return out, True
            out += chunk
    except socket.timeout:
        return out, False


def test_slow_clients_are_cut_off_and_nothing_is_stored(tmp_path):
    srv = _slow_server(tmp_path)
    try:
        b = oss2.Bucket(srv.root_auth(), srv.endpoint, "slow", region=REGION)
        b.create_bucket()
        # A request head that never ends: the connection is closed after header_read.
        s = socket.create_connection((srv.host, srv.port))
        s.sendall(b"GET /slow/x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1\r\n")
        started = time.monotonic()
        _, closed = _read_all(s, limit=10)
        assert closed and time.monotonic() - started < 8, "the half-sent head held the connection"
        s.close()
        # A body that stops: RequestTimeout after body_idle, nothing stored, connection closed.
        url = b.sign_url("PUT", "stalled.bin", 60)
        path = url.split(str(srv.port), 1)[1]
        s = socket.create_connection((srv.host, srv.port))
        s.sendall(f"PUT {path} HTTP/1.1\r\nHost: {srv.host}:{srv.port}\r\nContent-Length: 100000\r\n\r\n".encode()
                  + b"x" * 1000)
        started = time.monotonic()
        answer, _ = _read_all(s, limit=10)
        assert time.monotonic() - started < 8
        assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
        assert b"<Code>RequestTimeout</Code>" in answer, answer
        s.close()
        assert not b.object_exists("stalled.bin")
        # Meanwhile and after, everyone else is served.
        b.put_object("ok.txt", b"fine")
        assert b.get_object("ok.txt").read() == b"fine"
    finally:
        srv.stop()


def test_an_oversized_request_head_is_refused_and_the_server_goes_on(server):
    b = oss2.Bucket(server.root_auth(), server.endpoint, "app", region=REGION)
    r = requests.get(f"{server.endpoint}/app/x", headers={"x-oss-meta-big": "a" * (1024 * 1024)}, timeout=30)
    assert 400 <= r.status_code < 500, r.status_code
    b.put_object("after-big-head.txt", b"ok")
    assert b.get_object("after-big-head.txt").read() == b"ok"
