"""Callers and operators of the api face against the real server with a config file:
RS256 (PEM file) and ES256 (JWKS file, picked by `kid`) JWTs made with `cryptography`, the
algorithm-confusion attack, a static API key caller, and `/v1/audit` with the operator key versus
a normal caller; a JWKS URL served from a thread (fetched at start, refetched for a new kid)."""

import base64
import hashlib
import http.server
import json
import secrets
import stat
import subprocess
import threading
import time

import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

AUDIENCE = "photo-app"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_int(n: int, length: int) -> str:
    return b64url(n.to_bytes(length, "big"))


def jws(header: dict, claims: dict, sign) -> str:
    """A compact JWS; `sign(signing_input) -> signature bytes`."""
    signing_input = (b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())).encode()
    return signing_input.decode() + "." + b64url(sign(signing_input))


def rs256(key):
    return lambda m: key.sign(m, padding.PKCS1v15(), hashes.SHA256())


def es256(key):
    def sign(m):
        r, s = decode_dss_signature(key.sign(m, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")  # JWS wants r || s, not DER
    return sign


def claims(sub, ttl=600, aud=AUDIENCE, **extra):
    now = int(time.time())
    return {"sub": sub, "aud": aud, "iat": now, "exp": now + ttl, **extra}


@pytest.fixture(scope="module")
def keys():
    return {
        "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ec": ec.generate_private_key(ec.SECP256R1()),
        "ec_other": ec.generate_private_key(ec.SECP256R1()),
    }


@pytest.fixture
def srv(start_server, tmp_path, keys):
    rsa_pem = keys["rsa"].public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "idp-rsa.pem").write_bytes(rsa_pem)
    jwks = {"keys": []}
    for kid, k in (("ec-1", keys["ec"]), ("ec-2", keys["ec_other"])):
        nums = k.public_key().public_numbers()
        jwks["keys"].append({"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
                             "x": b64url_int(nums.x, 32), "y": b64url_int(nums.y, 32)})
    (tmp_path / "jwks.json").write_text(json.dumps(jwks))
    api_key = "sk_" + secrets.token_urlsafe(30)
    config = f"""
[api.jwt]
audience = "{AUDIENCE}"
algorithms = ["RS256", "ES256"]

[[api.jwt.key]]
alg = "RS256"
pem_file = "{tmp_path / 'idp-rsa.pem'}"

[[api.jwt.key]]
jwks_file = "{tmp_path / 'jwks.json'}"

[[api_key]]
name = "importer"
sha256 = "{hashlib.sha256(api_key.encode()).hexdigest()}"

[[grant]]
name = "user-folder"
bucket = "app"
prefix = "users/${{sub}}/"
actions = ["read", "write", "list", "delete"]
default_duration = 900
max_duration = 3600
"""
    (tmp_path / "stsgate.toml").write_text(config)
    server = start_server(tmp_path / "data", args=["--config", str(tmp_path / "stsgate.toml")])
    server.api_key = api_key
    server.rsa_pem = rsa_pem
    return server


def creds(srv, bearer, **params):
    headers = {"Authorization": f"Bearer {bearer}"} if bearer is not None else {}
    return requests.get(f"{srv.api_endpoint}/v1/credentials",
                        params={"grant": "user-folder", **params}, headers=headers, timeout=30)


def operator_key(srv):
    path = srv.data_dir / "root-credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(path.read_text())
    assert {"AccountId", "AccessKeyId", "AccessKeySecret"} <= set(data)
    assert data["OperatorKey"].startswith("sgop_")
    return data["OperatorKey"]


def test_rs256_es256_and_api_key_callers_get_their_prefix(srv, keys):
    rs = jws({"alg": "RS256", "typ": "JWT"}, claims("alice"), rs256(keys["rsa"]))
    r = creds(srv, rs)
    assert r.status_code == 200, r.text
    assert r.json()["Prefix"] == "users/alice/"

    es = jws({"alg": "ES256", "typ": "JWT", "kid": "ec-2"}, claims("bob"), es256(keys["ec_other"]))
    r = creds(srv, es)
    assert r.status_code == 200, r.text
    assert r.json()["Prefix"] == "users/bob/"

    r = creds(srv, srv.api_key, duration="1800")
    assert r.status_code == 200, r.text
    assert r.json()["Prefix"] == "users/importer/"


def test_wrong_kid_wrong_key_and_algorithm_confusion_are_refused(srv, keys):
    # ES256 signed by ec-1's key but naming ec-2: the kid picks the key, which does not match.
    wrong_kid = jws({"alg": "ES256", "kid": "ec-2"}, claims("carol"), es256(keys["ec"]))
    unknown_kid = jws({"alg": "ES256", "kid": "nope"}, claims("carol"), es256(keys["ec"]))
    # The classic attack: HS256 with the RSA public key (PEM) as the HMAC secret.
    import hmac
    confused = jws({"alg": "HS256", "typ": "JWT"}, claims("mallory"),
                   lambda m: hmac.new(srv.rsa_pem, m, hashlib.sha256).digest())
    none = b64url(json.dumps({"alg": "none"}).encode()) + "." + b64url(json.dumps(claims("mallory")).encode()) + "."
    # A development HS256 token is refused too: this config allows RS256 and ES256 only.
    dev = srv.token("alice", claims=[f"aud={AUDIENCE}"])
    wrong_aud = jws({"alg": "RS256"}, claims("alice", aud="other"), rs256(keys["rsa"]))
    for name, token, part in [("wrong kid", wrong_kid, "signature does not match"),
                              ("unknown kid", unknown_kid, "kid"),
                              ("confusion", confused, "accepts RS256, ES256"),
                              ("none", none, "never `none`"),
                              ("dev HS256", dev, "accepts RS256, ES256"),
                              ("wrong aud", wrong_aud, "`aud`"),
                              ("bad api key", "sk_" + "x" * 40, "api_key")]:
        r = creds(srv, token)
        assert r.status_code == 401, (name, r.text)
        assert part in r.json()["error"]["message"], (name, r.text)


def test_audit_reads_with_the_operator_key_only(srv, keys):
    rs = jws({"alg": "RS256"}, claims("dave"), rs256(keys["rsa"]))
    assert creds(srv, rs).status_code == 200
    assert creds(srv, rs, duration="7200").status_code == 400
    assert creds(srv, None).status_code == 401
    hostile = jws({"alg": "RS256"}, claims("../bob"), rs256(keys["rsa"]))
    assert creds(srv, hostile).status_code == 400

    op = operator_key(srv)
    audit = f"{srv.api_endpoint}/v1/audit"
    for caller in (rs, srv.api_key):
        r = requests.get(audit, headers={"Authorization": f"Bearer {caller}"}, timeout=30)
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "OperatorOnly"
    assert requests.get(audit, timeout=30).status_code == 401

    r = requests.get(audit, params={"caller": "jwt:dave"}, headers={"Authorization": f"Bearer {op}"}, timeout=30)
    assert r.status_code == 200, r.text
    outcomes = [row["outcome"] for row in r.json()["records"]]
    assert outcomes == ["issued", "refused:InvalidParameter"], r.text
    r = requests.get(audit, params={"outcome": "refused", "limit": "1000"},
                     headers={"Authorization": f"Bearer {op}"}, timeout=30)
    rows = r.json()["records"]
    assert {"refused:Unauthenticated", "refused:InvalidClaim"} <= {row["outcome"] for row in rows}
    assert any(row["caller"] == "jwt:../bob" for row in rows)
    r = requests.get(audit, params={"limit": "1001"}, headers={"Authorization": f"Bearer {op}"}, timeout=30)
    assert r.status_code == 400


def test_apikey_new_prints_a_key_and_its_hash(srv):
    out = subprocess.run([srv.bin, "apikey", "new", "--name", "ci-runner"], capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr
    text = out.stdout.decode()
    key = next(w for w in text.split() if w.startswith("sk_"))
    assert f'sha256 = "{hashlib.sha256(key.encode()).hexdigest()}"' in text
    assert 'name = "ci-runner"' in text
    bad = subprocess.run([srv.bin, "apikey", "new", "--name", "a/b"], capture_output=True, timeout=60)
    assert bad.returncode != 0


# ---- jwks_url: the identity provider's JWKS fetched over HTTP -------------------------------

def jwk_of(kid, key):
    """The public JWK of an RSA or P-256 private key."""
    nums = key.public_key().public_numbers()
    if isinstance(key, rsa.RSAPrivateKey):
        n_len = (nums.n.bit_length() + 7) // 8
        return {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
                "n": b64url_int(nums.n, n_len), "e": b64url_int(nums.e, 3)}
    return {"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
            "x": b64url_int(nums.x, 32), "y": b64url_int(nums.y, 32)}


class JwksServer:
    """A JWKS on http://127.0.0.1:PORT/jwks from an http.server thread; `keys` can be swapped."""

    def __init__(self, keys):
        self.keys = keys
        self.hits = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                outer.hits += 1
                body = json.dumps({"keys": outer.keys}).encode()
                self.send_response(200 if self.path == "/jwks" else 404)
                self.send_header("Content-Type", "application/jwk-set+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def jwks_url_config(tmp_path, url):
    path = tmp_path / "stsgate-jwks.toml"
    path.write_text(f"""
[api.jwt]
audience = "{AUDIENCE}"
algorithms = ["RS256", "ES256"]

[[api.jwt.key]]
jwks_url = "{url}"
jwks_refresh = 30
""")
    return path


def test_jwks_url_keys_get_credentials_and_follow_a_rotation(start_server, tmp_path, keys):
    idp = JwksServer([jwk_of("rsa-1", keys["rsa"])])
    try:
        srv = start_server(tmp_path / "data", args=["--config", str(jwks_url_config(tmp_path, idp.url))])
        assert idp.hits == 1
        old = jws({"alg": "RS256", "typ": "JWT", "kid": "rsa-1"}, claims("judy"), rs256(keys["rsa"]))
        r = creds(srv, old)
        assert r.status_code == 200, r.text
        assert r.json()["Prefix"] == "users/judy/"

        # Rotation: the provider now signs with an EC key the server has never seen.
        idp.keys = [jwk_of("ec-new", keys["ec"])]
        new = jws({"alg": "ES256", "typ": "JWT", "kid": "ec-new"}, claims("judy"), es256(keys["ec"]))
        deadline = time.monotonic() + 15
        while True:
            r = creds(srv, new)
            if r.status_code == 200 or time.monotonic() > deadline:
                break
            assert r.status_code == 401 and "kid" in r.json()["error"]["message"], r.text
            time.sleep(0.2)
        assert r.status_code == 200, r.text
        assert idp.hits == 2, "one refetch for the unknown kid"
        # The dropped key no longer works, even for a token it verified before.
        r = creds(srv, old)
        assert r.status_code == 401 and "rsa-1" in r.json()["error"]["message"], r.text
    finally:
        idp.close()


def test_jwks_url_must_answer_at_start_and_be_https(tmp_path):
    from conftest import stsgate_bin
    idp = JwksServer([])
    idp.close()  # nobody listens there any more
    for url, want in [(idp.url, idp.url), ("http://idp.example.com/jwks", "use https")]:
        out = subprocess.run(
            [stsgate_bin(), "serve", "--data", str(tmp_path / "data"), "--oss-addr", "127.0.0.1:0",
             "--sts-addr", "127.0.0.1:0", "--api-addr", "127.0.0.1:0",
             "--config", str(jwks_url_config(tmp_path, url))],
            capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        assert out.returncode != 0, out.stdout
        assert want in out.stderr.decode(), out.stderr
