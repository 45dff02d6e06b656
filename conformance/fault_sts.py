"""A scriptable stand-in for Alibaba STS on loopback, for the provider fault tests.

`FaultSts(target)` listens on 127.0.0.1:<free port> and, per request whose `Action` is in
`faulty_actions` (default: AssumeRole only, so GetCallerIdentity keeps reaching the real X),
plays the current script:

* `forward()`               — pass the request to `target` (X's sts face) unchanged
* `refuse(code, status)`    — a POP error body `{"RequestId","HostId","Code","Message"}`
* `throttle(n)`             — `Throttling.User` (HTTP 400) for the next n requests, then forward;
                              `throttle(None)` throttles for ever
* `stall(seconds)`          — hold the request that long (bounded), then drop it unanswered
* `malformed(kind)`         — 200 with a body that is no valid AssumeRole answer
                              (`not-json`, `no-token`, `empty-secret`, `past-expiration`, `html`)
* `http_status(status)`     — that HTTP status with a plain-text body

Every request is logged as `(action, form)`; `count(action)` counts them, so tests can prove
how many attempts the client made. Stdlib only; `close()` stops it (stalls are cut short).
"""

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_STALL_S = 10.0


def pop_error(code: str, message: str, request_id: str) -> bytes:
    return json.dumps({
        "RequestId": request_id,
        "HostId": "sts.aliyuncs.com",
        "Code": code,
        "Message": message,
        "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}&product=Sts",
    }).encode()


MALFORMED = {
    "not-json": b"{\"RequestId\": \"X\", \"Credentials\": {",
    "html": b"<html><body>502 Bad Gateway (captive portal)</body></html>",
    "no-token": json.dumps({"RequestId": "FAULT-NO-TOKEN", "Credentials": {
        "AccessKeyId": "STS.half", "AccessKeySecret": "half-secret",
        "Expiration": "2099-01-01T00:00:00Z"}}).encode(),
    "empty-secret": json.dumps({"RequestId": "FAULT-EMPTY", "Credentials": {
        "AccessKeyId": "STS.half", "AccessKeySecret": "", "SecurityToken": "CAIShalf",
        "Expiration": "2099-01-01T00:00:00Z"}}).encode(),
    "past-expiration": json.dumps({"RequestId": "FAULT-PAST", "Credentials": {
        "AccessKeyId": "STS.half", "AccessKeySecret": "half-secret", "SecurityToken": "CAIShalf",
        "Expiration": "2001-01-01T00:00:00Z"}}).encode(),
}


class FaultSts:
    def __init__(self, target: str, faulty_actions=("AssumeRole",)):
        self.target = target.rstrip("/")
        self.faulty_actions = set(faulty_actions)
        self.log = []  # (action, form dict), in arrival order
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._script = ("forward",)
        self._throttle_left = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802
                owner._handle(self)

            def do_GET(self):  # noqa: N802
                owner._handle(self)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    # ---- scripts -------------------------------------------------------------------------
    def _set(self, *script):
        with self._lock:
            self._script = script
            self.log.clear()

    def forward(self):
        self._set("forward")

    def refuse(self, code, status=400, message=None):
        self._set("refuse", code, status, message or f"scripted {code}")

    def throttle(self, n):
        with self._lock:
            self._throttle_left = n or 0
        self._set("throttle", n)

    def stall(self, seconds):
        self._set("stall", min(float(seconds), MAX_STALL_S))

    def malformed(self, kind):
        assert kind in MALFORMED, kind
        self._set("malformed", kind)

    def http_status(self, status):
        self._set("status", status)

    def count(self, action="AssumeRole"):
        with self._lock:
            return sum(1 for a, _ in self.log if a == action)

    def close(self):
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    # ---- serving -------------------------------------------------------------------------
    def _handle(self, h):
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(min(length, 1 << 20)) if length else b""
        query = urllib.parse.urlsplit(h.path).query
        form = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        if "x-www-form-urlencoded" in (h.headers.get("Content-Type") or ""):
            form.update(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        action = form.get("Action") or h.headers.get("x-acs-action") or ""
        with self._lock:
            self.log.append((action, form))
            script = self._script
            if action in self.faulty_actions and script[0] == "throttle":
                if script[1] is None or self._throttle_left > 0:
                    if script[1] is not None:
                        self._throttle_left -= 1
                    script = ("refuse", "Throttling.User", 400,
                              "Request was denied due to user flow control.")
                else:
                    script = ("forward",)
        if action not in self.faulty_actions:
            script = ("forward",)
        request_id = str(uuid.uuid4()).upper()
        kind = script[0]
        if kind == "refuse":
            _, code, status, message = script
            return self._reply(h, status, pop_error(code, message, request_id))
        if kind == "malformed":
            return self._reply(h, 200, MALFORMED[script[1]])
        if kind == "status":
            return self._reply(h, script[1], b"upstream exploded", "text/plain")
        if kind == "stall":
            # Held past the client's timeout, then dropped: the client must have given up.
            self._stop.wait(script[1])
            h.close_connection = True
            return None
        return self._forward(h, body)

    def _forward(self, h, body):
        headers = {k: v for k, v in h.headers.items()
                   if k.lower() not in ("host", "content-length", "connection", "accept-encoding")}
        req = urllib.request.Request(self.target + h.path, data=body if h.command == "POST" else None,
                                     method=h.command, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                status, data, ctype = r.status, r.read(), r.headers.get("Content-Type")
        except urllib.error.HTTPError as e:
            status, data, ctype = e.code, e.read(), e.headers.get("Content-Type")
        except OSError as e:
            status, data, ctype = 599, f"fault_sts: forwarding failed: {e}".encode(), "text/plain"
        self._reply(h, status, data, ctype or "application/json")

    @staticmethod
    def _reply(h, status, data, ctype="application/json;charset=utf-8"):
        try:
            h.send_response(status)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(data)))
            h.send_header("Date", time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime()))
            h.end_headers()
            h.wfile.write(data)
        except OSError:
            pass  # the client gave up (timeouts are part of the tests)
