"""Hand-written OSS signing and small assertions shared by the conformance tests.

The signers follow ../shared/specs/aliyun.md §3 (V1 header), §5 (V4 key derivation) and §6
(PostObject) and are checked against the spec's own vectors in test_helpers_vectors.py, so a
failure elsewhere points at the server, not at these helpers.
"""

import base64
import datetime as dt
import shutil
import subprocess
from pathlib import Path
import hashlib
import hmac
import json
import re
import xml.etree.ElementTree as ET
from email.utils import formatdate, parsedate_to_datetime

import oss2

REQUEST_ID_RE = re.compile(r"^[0-9A-F]{24}$")


# ---- digests ---------------------------------------------------------------------------
def md5_hex_upper(data: bytes) -> str:
    return hashlib.md5(data).hexdigest().upper()


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def crc64(data: bytes) -> int:
    c = oss2.utils.Crc64(0)
    c.update(data)
    return c.crc


def multipart_etag(parts) -> str:
    """The emulated multipart ETag of spec §7.2: MD5(concat of binary part MD5s)-N, upper hex."""
    joined = b"".join(hashlib.md5(p).digest() for p in parts)
    return f"{hashlib.md5(joined).hexdigest().upper()}-{len(parts)}"


# ---- V1 header signing (spec §3) ---------------------------------------------------------
def http_date(when: float = None) -> str:
    return formatdate(when, usegmt=True)


def v1_string_to_sign(verb, content_md5, content_type, date, oss_headers, resource) -> str:
    canon = "".join(f"{k.lower()}:{str(v).strip()}\n" for k, v in sorted(oss_headers.items(), key=lambda kv: kv[0].lower()))
    return "\n".join([verb, content_md5, content_type, date, canon + resource])


def v1_signature(secret: str, string_to_sign: str) -> str:
    mac = hmac.new(secret.encode(), string_to_sign.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def v1_headers(ak, secret, verb, resource, oss_headers=None, content_md5="", content_type="", date=None):
    """Headers for a V1-signed request; `resource` is the canonicalized resource."""
    oss_headers = dict(oss_headers or {})
    date = date or http_date()
    sts = v1_string_to_sign(verb, content_md5, content_type, date, oss_headers, resource)
    headers = {"Date": date, "Authorization": f"OSS {ak}:{v1_signature(secret, sts)}"}
    headers.update(oss_headers)
    if content_md5:
        headers["Content-MD5"] = content_md5
    if content_type:
        headers["Content-Type"] = content_type
    return headers


# ---- V4 (spec §5) ----------------------------------------------------------------------
def v4_signing_key(secret: str, day: str, region="cn-hangzhou", product="oss") -> bytes:
    k = hmac.new(("aliyun_v4" + secret).encode(), day.encode(), hashlib.sha256).digest()
    for part in (region, product, "aliyun_v4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return k


# ---- PostObject (spec §6) --------------------------------------------------------------
def post_policy_b64(conditions, expiration: dt.datetime = None) -> str:
    expiration = expiration or (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1))
    doc = {"expiration": expiration.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "conditions": conditions}
    return base64.b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode()


def post_v1_signature(secret: str, policy_b64: str) -> str:
    return v1_signature(secret, policy_b64)


def post_v4_signature(secret: str, day: str, policy_b64: str, region="cn-hangzhou") -> str:
    return hmac.new(v4_signing_key(secret, day, region), policy_b64.encode(), hashlib.sha256).hexdigest()


# ---- Node SDK scripts ----------------------------------------------------------------------
NODE_DIR = Path(__file__).resolve().parent / "node"


def run_node_script(script, env, steps, sdk):
    """Runs node/<script> with `env` added; it must print `ok <step>` for each step and `ALL OK`."""
    node = shutil.which("node")
    assert node, "node is required (scripts/test.sh checks this)"
    assert (NODE_DIR / "node_modules" / sdk).is_dir(), "run `npm ci` in conformance/node first"
    proc = subprocess.run([node, str(NODE_DIR / script)], cwd=NODE_DIR, env=env,
                          capture_output=True, text=True, timeout=300)
    report = f"exit {proc.returncode}\n--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
    assert proc.returncode == 0, report
    lines = proc.stdout.split("\n")
    for step in steps:
        assert f"ok {step}" in lines, report
    assert "ALL OK" in lines, report


# ---- responses ---------------------------------------------------------------------------
def error_of(body: bytes) -> dict:
    """Children of an OSS <Error> document as a dict ({} if the body is not one)."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return {}
    if root.tag != "Error":
        return {}
    return {child.tag: (child.text or "") for child in root}


def assert_oss_error(resp, status: int, code: str, message_contains: str = None):
    """`resp` is a requests.Response carrying an OSS error."""
    err = error_of(resp.content)
    assert resp.status_code == status, f"want {status} {code}, got {resp.status_code}: {resp.text[:800]}"
    assert err.get("Code") == code, f"want Code {code}, got {err!r} (status {resp.status_code})"
    assert REQUEST_ID_RE.match(resp.headers.get("x-oss-request-id", "")), resp.headers
    if message_contains:
        assert message_contains in err.get("Message", ""), err
    return err


def assert_sdk_error(excinfo, status: int, code: str):
    e = excinfo.value
    assert e.status == status, f"want {status} {code}, got {e.status}: {e.details}"
    assert e.code == code, f"want {code}, got {e.code}: {e.details}"
    assert e.details.get("Code") == code, e.details
    return e


def assert_recent_http_date(value: str, within_s=600):
    when = parsedate_to_datetime(value)
    assert when.tzinfo is not None, value
    delta = abs((dt.datetime.now(dt.timezone.utc) - when).total_seconds())
    assert delta < within_s, f"{value} is {delta}s away from now"


def alice_policy(bucket: str) -> dict:
    """Only users/alice/* in `bucket`, plus listing with oss:Prefix users/alice/*."""
    return {
        "Version": "1",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["oss:PutObject", "oss:GetObject", "oss:DeleteObject",
                           "oss:AbortMultipartUpload", "oss:ListParts"],
                "Resource": [f"acs:oss:*:*:{bucket}/users/alice/*"],
            },
            {
                "Effect": "Allow",
                "Action": ["oss:ListObjects"],
                "Resource": [f"acs:oss:*:*:{bucket}"],
                "Condition": {"StringLike": {"oss:Prefix": "users/alice/*"}},
            },
        ],
    }
