"""The api face with real clients: users trade a development JWT (`stsgate token`) for
credentials limited to `users/<sub>/` of bucket `app` (the default grant `user-folder`), then use
them with oss2 against the oss face."""

import json
import os
import subprocess
import sys
import uuid

import oss2
import pytest
import requests
from alibabacloud_credentials.exceptions import CredentialException
from alibabacloud_credentials.provider.uri import URLCredentialsProvider

from conftest import REGION

GRANT = "user-folder"


def fetch(server, token, fmt=None, grant=GRANT):
    params = {"grant": grant}
    if fmt:
        params["format"] = fmt
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(f"{server.api_endpoint}/v1/credentials", params=params, headers=headers, timeout=30)


def user_bucket(server, creds):
    auth = oss2.StsAuth(creds["AccessKeyId"], creds["AccessKeySecret"], creds["SecurityToken"])
    return oss2.Bucket(auth, server.endpoint, "app", region=REGION)


def assert_denied(call):
    with pytest.raises(oss2.exceptions.AccessDenied):
        call()


def test_healthz(server):
    assert requests.get(f"{server.api_endpoint}/healthz", timeout=10).status_code == 200


@pytest.mark.parametrize("fmt", ["oss-app-server", "stsgate"])
def test_each_user_works_in_its_own_prefix_only(server, fmt):
    run = uuid.uuid4().hex[:8]
    alice_sub, bob_sub = f"alice-{run}", f"bob-{run}"
    buckets = {}
    for sub in (alice_sub, bob_sub):
        r = fetch(server, server.token(sub), fmt)
        assert r.status_code == 200, r.text
        creds = r.json()
        if fmt == "oss-app-server":
            assert creds["StatusCode"] == 200
        else:
            assert creds["Bucket"] == "app" and creds["Prefix"] == f"users/{sub}/"
            assert creds["Endpoint"] == server.endpoint
        buckets[sub] = user_bucket(server, creds)

    for sub, b in buckets.items():
        other = bob_sub if sub == alice_sub else alice_sub
        mine, theirs = f"users/{sub}/", f"users/{other}/"
        b.put_object(mine + "note.txt", b"hello " + sub.encode())
        assert b.get_object(mine + "note.txt").read() == b"hello " + sub.encode()
        assert b.head_object(mine + "note.txt").content_length == len(b"hello " + sub.encode())
        listed = [o.key for o in oss2.ObjectIterator(b, prefix=mine)]
        assert listed == [mine + "note.txt"]
        # Multipart (what real uploads of big files do) is inside `write`.
        upload = b.init_multipart_upload(mine + "big.bin").upload_id
        part = b.upload_part(mine + "big.bin", upload, 1, b"x" * 1024)
        b.complete_multipart_upload(mine + "big.bin", upload, [oss2.models.PartInfo(1, part.etag)])
        b.delete_object(mine + "big.bin")

        # The other user's prefix, a prefix that merely starts the same, and the bucket root.
        assert_denied(lambda: b.put_object(theirs + "x.txt", b"nope"))
        assert_denied(lambda: b.get_object(theirs + "note.txt"))
        assert_denied(lambda: b.delete_object(theirs + "note.txt"))
        assert_denied(lambda: b.list_objects(prefix=theirs))
        assert_denied(lambda: b.list_objects(prefix="users/"))
        assert_denied(lambda: b.list_objects())
        assert_denied(lambda: b.put_object(f"users/{sub}", b"no folder boundary"))
        assert_denied(lambda: b.put_object(f"users/{sub}x/y.txt", b"sibling"))
        assert_denied(lambda: b.put_object("top.txt", b"root"))

    for sub, b in buckets.items():
        b.delete_object(f"users/{sub}/note.txt")
        assert [o.key for o in oss2.ObjectIterator(b, prefix=f"users/{sub}/")] == []


def test_aliyun_sts_format_and_reuse(server):
    token = server.token(f"carol-{uuid.uuid4().hex[:8]}")
    sts = fetch(server, token, "aliyun-sts").json()
    assert sts["Credentials"]["AccessKeyId"].startswith("STS.")
    assert ":role/app/" in sts["AssumedRoleUser"]["Arn"]
    again = fetch(server, token).json()
    assert again["AccessKeyId"] == sts["Credentials"]["AccessKeyId"], "credentials are reused"
    for key in ("ServerTime", "StartTime", "RefreshAfter", "Expiration"):
        assert again[key].endswith("Z") and len(again[key]) == 20, key


@pytest.mark.parametrize("token,status,code", [
    (None, 401, "Unauthenticated"),
    ("not-a-jwt", 401, "Unauthenticated"),
])
def test_refusals_are_json(server, token, status, code):
    r = fetch(server, token, "oss-app-server")
    assert r.status_code == status
    body = r.json()
    assert body["error"]["code"] == code and body["ErrorCode"] == code
    assert body["StatusCode"] == status and body["ErrorMessage"]


def test_hostile_subjects_and_unknown_grant(server):
    for sub in ("../bob", "a*", "a?b", "x" * 10_000):
        r = fetch(server, server.token(sub))
        assert r.status_code == 400, (sub, r.text)
        assert r.json()["error"]["code"] == "InvalidClaim"
    r = fetch(server, server.token("dave"), grant="nope")
    assert r.status_code == 404 and r.json()["error"]["code"] == "NoSuchGrant"
    expired = server.token("dave", ttl="1s")
    # exp is checked with a 60 s leeway, so a 1 s token is still fine now.
    assert fetch(server, expired).status_code == 200


def test_credentials_uri_provider_reads_the_answer(server):
    # Pointed at the api face itself the provider sends no Authorization header: refused (401).
    direct = URLCredentialsProvider(
        uri=f"{server.api_endpoint}/v1/credentials?grant={GRANT}&format=alibaba-credentials-uri")
    with pytest.raises(CredentialException):
        direct.get_credentials()

    # The header-less way: the app mints a ticket URL with its JWT (POST /v1/tickets) and the
    # SDK reads it from ALIBABA_CLOUD_CREDENTIALS_URI (read once, at import: a fresh process).
    sub = f"erin-{uuid.uuid4().hex[:8]}"
    r = requests.post(f"{server.api_endpoint}/v1/tickets", timeout=30,
                      json={"grant": GRANT, "format": "alibaba-credentials-uri", "ttl": 3600},
                      headers={"Authorization": f"Bearer {server.token(sub)}"})
    assert r.status_code == 200, r.text
    script = ("import json\n"
              "from alibabacloud_credentials.provider.uri import URLCredentialsProvider\n"
              "c = URLCredentialsProvider().get_credentials()\n"
              "print(json.dumps({'AccessKeyId': c.get_access_key_id(),"
              " 'AccessKeySecret': c.get_access_key_secret(),"
              " 'SecurityToken': c.get_security_token()}))\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60,
                         env={**os.environ, "ALIBABA_CLOUD_CREDENTIALS_URI": r.json()["url"]})
    assert out.returncode == 0, out.stderr.decode()
    creds = json.loads(out.stdout)
    assert creds["AccessKeyId"].startswith("STS.")
    b = user_bucket(server, creds)
    b.put_object(f"users/{sub}/uri.txt", b"via the credentials URI provider")
    assert_denied(lambda: b.put_object("users/someone-else/uri.txt", b"x"))
    b.delete_object(f"users/{sub}/uri.txt")
