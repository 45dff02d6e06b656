"""Fixtures that run the real `stsgate serve` on loopback for the conformance suite.

Nothing here builds anything: scripts/test.sh builds the release binary first and the
path comes from STSGATE_BIN (default target/release/stsgate, relative to the repo root).

* `server` (session): one server on a temp data dir, port 0; tests that share it use
  unique bucket names, so they stay independent.
* `start_server` (function): a factory for tests that restart or kill a server on a data
  dir of their own; every server it starts is killed at teardown.
* `bucket` / `make_bucket`: fresh buckets created with the root key, emptied and deleted
  afterwards (best effort).
* `server.issue(policy, duration)`: temporary credentials from `stsgate creds issue`;
  `server.issue_tencent(cam_policy, duration)` the same for the cos face (`--vendor tencent`).
* `server.cos_port` / `server.tencent`: the cos face and the data dir's Tencent account.
* `server.token(sub)`: a development JWT from `stsgate token` for the api face
  (`server.api_endpoint`).
"""

import json
import os
import queue
import re
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import oss2
import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
LISTEN_RE = re.compile(r"^oss listening on (https?://(\d+\.\d+\.\d+\.\d+):(\d+))\s*$")
STS_LISTEN_RE = re.compile(r"^sts listening on (https?://(\d+\.\d+\.\d+\.\d+):(\d+))\s*$")
API_LISTEN_RE = re.compile(r"^api listening on (https?://(\d+\.\d+\.\d+\.\d+):(\d+))\s*$")
TC_STS_LISTEN_RE = re.compile(r"^tc-sts listening on (https?://(\d+\.\d+\.\d+\.\d+):(\d+))\s*$")
COS_LISTEN_RE = re.compile(r"^cos listening on (https?://(\d+\.\d+\.\d+\.\d+):(\d+))\s*$")
START_TIMEOUT = float(os.environ.get("STSGATE_START_TIMEOUT", "30"))
REGION = "cn-hangzhou"
_LIVE = []  # every Server ever started, killed at session end whatever happened

# Fail fast instead of hanging on a wedged server.
oss2.defaults.connect_timeout = 30


def stsgate_bin() -> str:
    path = Path(os.environ.get("STSGATE_BIN", "target/release/stsgate"))
    if not path.is_absolute():
        path = REPO_ROOT / path
    if not path.exists():
        pytest.exit(f"stsgate binary not found at {path}; build it first (scripts/test.sh does)", 2)
    return str(path)


class Server:
    """One running `stsgate serve` process."""

    def __init__(self, data_dir: Path, env_extra=None, log_dir: Path = None, args=()):
        self.data_dir = Path(data_dir)
        self.args = list(args)  # extra `serve` arguments, e.g. ["--config", path]
        self.bin = stsgate_bin()
        self.env = dict(os.environ)
        self.env.update(env_extra or {})
        self.env.setdefault("RUST_LOG", "warn")
        log_dir = Path(log_dir or tempfile.mkdtemp(prefix="stsgate-log-"))
        log_dir.mkdir(parents=True, exist_ok=True)
        self.stderr_path = log_dir / f"stderr-{uuid.uuid4().hex[:8]}.log"
        self.stdout_lines = []
        self.proc = None
        self.endpoint = None
        self.host = None
        self.port = None
        self.sts_endpoint = None  # http://IP:PORT of the sts face
        self.sts_port = None
        self.api_endpoint = None  # http://IP:PORT of the api face
        self.tc_sts_endpoint = None  # http://IP:PORT of the tc-sts face (Tencent STS)
        self.tc_sts_port = None
        self.cos_endpoint = None  # http://IP:PORT of the cos face
        self.cos_port = None

    # ---- lifecycle -------------------------------------------------------------------
    def start(self, timeout: float = START_TIMEOUT):
        _LIVE.append(self)
        self.endpoint = self.sts_endpoint = self.api_endpoint = None
        self.tc_sts_endpoint = self.cos_endpoint = None
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [self.bin, "serve", "--data", str(self.data_dir), "--oss-addr", "127.0.0.1:0",
             "--cos-addr", "127.0.0.1:0", "--sts-addr", "127.0.0.1:0", "--api-addr", "127.0.0.1:0",
             "--tc-sts-addr", "127.0.0.1:0", *self.args],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            stdin=subprocess.DEVNULL,
            env=self.env,
        )
        lines = queue.Queue()

        def pump():
            for raw in self.proc.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                self.stdout_lines.append(line)
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._fail_start(f"no 'oss/cos/sts/tc-sts/api listening on' lines within {timeout}s")
            try:
                line = lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                self.proc.wait(timeout=5)
                self._fail_start(f"server exited with code {self.proc.returncode} before listening")
            m = LISTEN_RE.match(line)
            if m:
                self.endpoint, self.host, self.port = m.group(1), m.group(2), int(m.group(3))
            m = STS_LISTEN_RE.match(line)
            if m:
                self.sts_endpoint, self.sts_port = m.group(1), int(m.group(3))
            m = API_LISTEN_RE.match(line)
            if m:
                self.api_endpoint = m.group(1)
            m = TC_STS_LISTEN_RE.match(line)
            if m:
                self.tc_sts_endpoint, self.tc_sts_port = m.group(1), int(m.group(3))
            m = COS_LISTEN_RE.match(line)
            if m:
                self.cos_endpoint, self.cos_port = m.group(1), int(m.group(3))
            if (self.endpoint and self.sts_endpoint and self.api_endpoint and self.tc_sts_endpoint
                    and self.cos_endpoint):
                return self

    def _fail_start(self, why):
        self.kill()
        self._stderr.flush()
        stderr = self.stderr_path.read_text(errors="replace")[-4000:]
        out = "\n".join(self.stdout_lines)[-2000:]
        pytest.fail(f"stsgate serve failed to start: {why}\n--- stdout ---\n{out}\n--- stderr ---\n{stderr}")

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)

    def stop(self):
        """Graceful stop (SIGTERM, then SIGKILL if it lingers)."""
        self.kill(signal.SIGTERM)

    def stderr_tail(self, n=4000):
        try:
            return self.stderr_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    # ---- credentials -----------------------------------------------------------------
    @property
    def root(self) -> dict:
        env_ak = self.env.get("STSGATE_ROOT_ACCESS_KEY_ID")
        env_sk = self.env.get("STSGATE_ROOT_ACCESS_KEY_SECRET")
        creds = json.loads((self.data_dir / "root-credentials.json").read_text())
        if env_ak and env_sk:
            creds = dict(creds, AccessKeyId=env_ak, AccessKeySecret=env_sk)
        return creds

    def root_auth(self, v4=False):
        r = self.root
        if v4:
            return oss2.AuthV4(r["AccessKeyId"], r["AccessKeySecret"])
        return oss2.Auth(r["AccessKeyId"], r["AccessKeySecret"])

    def issue(self, policy, duration=3600, session_name=None) -> dict:
        """Runs `stsgate creds issue` and returns the parsed AssumeRole JSON."""
        extra = ["--session-name", session_name] if session_name else []
        return self._creds_issue(policy, duration, extra)

    def issue_tencent(self, policy, duration=3600) -> dict:
        """Runs `stsgate creds issue --vendor tencent` and returns the getCredential JSON."""
        return self._creds_issue(policy, duration, ["--vendor", "tencent"])

    def _creds_issue(self, policy, duration, extra) -> dict:
        fd, path = tempfile.mkstemp(prefix="policy-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            f.write(policy if isinstance(policy, str) else json.dumps(policy))
        cmd = [self.bin, "creds", "issue", "--data", str(self.data_dir), "--policy", path,
               "--duration", str(duration), *extra]
        try:
            out = subprocess.run(cmd, capture_output=True, env=self.env, timeout=60)
        finally:
            os.unlink(path)
        assert out.returncode == 0, f"creds issue failed ({out.returncode}): {out.stderr.decode(errors='replace')}"
        return json.loads(out.stdout)

    @property
    def tencent(self) -> dict:
        """The Tencent account: {"AppId", "Uin", "SecretId", "SecretKey"}."""
        creds = json.loads((self.data_dir / "root-credentials.json").read_text())
        return {k: creds[f"Tencent{k}"] for k in ("AppId", "Uin", "SecretId", "SecretKey")}

    def token(self, sub, ttl="1h", claims=()) -> str:
        """Runs `stsgate token` and returns the development JWT."""
        cmd = [self.bin, "token", "--data", str(self.data_dir), "--sub", sub, "--ttl", ttl]
        for c in claims:
            cmd += ["--claim", c]
        out = subprocess.run(cmd, capture_output=True, env=self.env, timeout=60)
        assert out.returncode == 0, f"stsgate token failed ({out.returncode}): {out.stderr.decode(errors='replace')}"
        return out.stdout.decode().strip()

    def sts_auth(self, issued: dict, v4=False):
        c = issued["Credentials"]
        return oss2.StsAuth(c["AccessKeyId"], c["AccessKeySecret"], c["SecurityToken"],
                            auth_version=oss2.AUTH_VERSION_4 if v4 else oss2.AUTH_VERSION_1)

    # ---- SDK objects -----------------------------------------------------------------
    def bucket(self, name, auth=None, v4=False):
        auth = auth or self.root_auth(v4=v4)
        return oss2.Bucket(auth, self.endpoint, name, region=REGION)

    def service(self, auth=None, v4=False):
        auth = auth or self.root_auth(v4=v4)
        return oss2.Service(auth, self.endpoint, region=REGION)


def unique_name(prefix="t") -> str:
    """A bucket name no other test uses: 3-63 chars of [a-z0-9-]."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"[:63]


def cleanup_bucket(b: oss2.Bucket):
    try:
        for u in oss2.MultipartUploadIterator(b):
            try:
                b.abort_multipart_upload(u.key, u.upload_id)
            except oss2.exceptions.OssError:
                pass
        keys = [o.key for o in oss2.ObjectIterator(b)]
        for i in range(0, len(keys), 500):
            b.batch_delete_objects(keys[i:i + 500])
        b.delete_bucket()
    except Exception:  # best effort: the server may be the thing under test
        pass


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("stsgate") / "data"
    srv = Server(data, log_dir=data.parent / "logs").start()
    yield srv
    srv.stop()


@pytest.fixture
def start_server(tmp_path):
    """Factory: start_server(data_dir=None, env=None, args=()) -> Server; all are killed at
    teardown. `args` are extra `serve` arguments, e.g. ["--config", path]."""
    started = []

    def start(data_dir=None, env=None, args=()):
        srv = Server(data_dir or (tmp_path / "data"), env_extra=env, log_dir=tmp_path / "logs",
                     args=args)
        started.append(srv)
        return srv.start()

    yield start
    for srv in started:
        srv.kill()


@pytest.fixture
def make_bucket(server):
    made = []

    def make(prefix="t", acl=None, v4=False):
        name = unique_name(prefix)
        b = server.bucket(name, v4=v4)
        b.create_bucket(acl) if acl else b.create_bucket()
        made.append(server.bucket(name))
        return b

    yield make
    for b in made:
        cleanup_bucket(b)


@pytest.fixture
def bucket(make_bucket):
    return make_bucket()


@pytest.fixture
def http():
    s = requests.Session()
    yield s
    s.close()


def pytest_report_header(config):
    return f"stsgate binary: {os.environ.get('STSGATE_BIN', 'target/release/stsgate')}"


def pytest_sessionfinish(session, exitstatus):
    # Leave nothing listening behind even if a fixture teardown was skipped.
    for srv in list(_LIVE):
        srv.kill()

