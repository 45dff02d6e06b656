"""A scriptable stand-in for Tencent Cloud STS on loopback, for the `tencent` provider tests.

`FaultTcSts(target)` listens on 127.0.0.1:<free port> and, per request, plays the current script:

* `forward()`            — pass the request to `target` (X's tc-sts face) unchanged
* `refuse(code)`         — HTTP 200 `{"Response":{"Error":{"Code","Message"},"RequestId"}}`, as
                           Tencent answers refusals
* `throttle(n)`          — `RequestLimitExceeded` for the next n requests, then forward;
                           `throttle(None)` for ever
* `stall(seconds)`       — hold the request that long (bounded), then drop it unanswered
* `malformed(kind)`      — 200 with a body that is no valid answer (`not-json`, `no-token`,
                           `past-expiration`)
* `http_status(status)`  — that HTTP status with a plain-text body

Every request is logged as `(action, headers, body bytes)`; `count()` counts them. Stdlib only.
"""

import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_STALL_S = 10.0

MALFORMED = {
    "not-json": b"{\"Response\": {",
    "no-token": json.dumps({"Response": {"Credentials": {"TmpSecretId": "AKIDhalf", "TmpSecretKey": "k"},
                                         "ExpiredTime": 4102444800, "RequestId": "FAULT-NO-TOKEN"}}).encode(),
    "past-expiration": json.dumps({"Response": {"Credentials": {"TmpSecretId": "AKIDhalf", "TmpSecretKey": "k",
                                                                "Token": "t"},
                                                "ExpiredTime": 978307200, "RequestId": "FAULT-PAST"}}).encode(),
}


def tc_error(code: str, message: str) -> bytes:
    return json.dumps({"Response": {"Error": {"Code": code, "Message": message},
                                    "RequestId": str(uuid.uuid4())}}).encode()


class FaultTcSts:
    def __init__(self, target: str):
        self.target = target.rstrip("/")
        self.log = []  # (action, headers dict, body bytes)
        self._lock = threading.Lock()
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
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def _set(self, *script):
        with self._lock:
            self._script = script
            self.log.clear()

    def forward(self):
        self._set("forward")

    def refuse(self, code, message=None):
        self._set("refuse", code, message or f"scripted {code}")

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

    def count(self):
        with self._lock:
            return len(self.log)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def _reply(self, h, status, body, content_type="application/json"):
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def _handle(self, h):
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in h.headers.items()}
        with self._lock:
            self.log.append((headers.get("x-tc-action", ""), headers, body))
            script = self._script
            throttled = False
            if script[0] == "throttle":
                if script[1] is None:
                    throttled = True
                elif self._throttle_left > 0:
                    self._throttle_left -= 1
                    throttled = True
        kind = script[0]
        if throttled:
            return self._reply(h, 200, tc_error("RequestLimitExceeded", "Your request frequency is too high."))
        if kind == "refuse":
            return self._reply(h, 200, tc_error(script[1], script[2]))
        if kind == "stall":
            time.sleep(script[1])
            h.close_connection = True
            return None
        if kind == "malformed":
            return self._reply(h, 200, MALFORMED[script[1]])
        if kind == "status":
            return self._reply(h, script[1], b"upstream failure", "text/plain")
        # forward (also after a finite throttle)
        forwarded = {k: v for k, v in h.headers.items() if k.lower() not in ("host", "content-length")}
        req = urllib.request.Request(f"{self.target}{h.path}", data=body or None, method=h.command,
                                     headers=dict(forwarded, Host=h.headers.get("Host", "")))
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return self._reply(h, resp.status, resp.read(), resp.headers.get("Content-Type", ""))
        except urllib.error.HTTPError as e:
            return self._reply(h, e.code, e.read(), e.headers.get("Content-Type", ""))
