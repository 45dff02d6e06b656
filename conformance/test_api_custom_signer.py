"""Seed 000's /auth/custom as its clients use it: the OSS Android/iOS SDKs' custom signer
(`OSSCustomSignerCredentialProvider`) hands the app the V1 string-to-sign of each request it built,
the app posts it to /auth/custom and the SDK sends the request exactly as built, with the returned
`Authorization` and nothing else of ours (no security token).

Here oss2 builds the requests and its own V1 string-to-sign (the same canonical string the mobile
SDKs build), and `CustomSigner` plays the app: it posts the string and sets `Authorization`, never
a token. The embedded store must accept what the grant covers; what the string-to-sign cannot pin to
the caller's prefix is refused before signing, and every signature and refusal is audited."""

import subprocess
import time
import uuid

import oss2
import pytest
import requests

from conftest import REGION


class Refused(Exception):
    """/auth/custom would not sign: the app's request never goes out."""

    def __init__(self, response):
        super().__init__(f"{response.status_code} {response.text}")
        self.response = response


class CustomSigner(oss2.auth.ProviderAuth):
    """oss2 auth whose signature comes from /auth/custom (a custom signer app)."""

    def __init__(self, api_endpoint, bearer):
        self.api_endpoint, self.bearer = api_endpoint, bearer
        self.contents, self.authorizations = [], []

    def _sign_request(self, req, bucket_name, key):
        req.headers["date"] = oss2.utils.http_date()
        content = self._ProviderAuth__get_bytes_to_sign(req, bucket_name, key).decode()
        assert "x-oss-security-token" not in content
        r = requests.post(f"{self.api_endpoint}/auth/custom", data={"content": content},
                          headers={"Authorization": f"Bearer {self.bearer}"}, timeout=30)
        self.contents.append(content)
        if r.status_code != 200:
            raise Refused(r)
        assert "x-stsgate-security-token" not in r.headers, r.headers
        req.headers["authorization"] = r.text
        self.authorizations.append(r.text)

    def _sign_url(self, req, bucket_name, key, expires):
        raise NotImplementedError


@pytest.fixture
def alice(server):
    name = f"alice-{uuid.uuid4().hex[:8]}"
    return {"name": name, "token": server.token(name), "prefix": f"users/{name}/"}


def bucket_for(server, signer):
    return oss2.Bucket(signer, server.endpoint, "app", region=REGION)


def audit(server, **query):
    r = requests.get(f"{server.api_endpoint}/v1/audit", params=dict(query, limit=1000),
                     headers={"Authorization": f"Bearer {server.root['OperatorKey']}"}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["records"]


def test_put_get_and_multipart_in_the_prefix_with_only_the_returned_authorization(server, alice):
    signer = CustomSigner(server.api_endpoint, alice["token"])
    b = bucket_for(server, signer)
    key = alice["prefix"] + "photo.bin"
    b.put_object(key, b"custom signer", headers={"x-oss-meta-by": "android"})
    got = b.get_object(key)
    assert got.read() == b"custom signer" and got.headers["x-oss-meta-by"] == "android"
    assert b.head_object(key).content_length == len(b"custom signer")

    big = alice["prefix"] + "video.bin"
    part1, part2 = b"a" * (100 * 1024), b"b" * 1000
    up = b.init_multipart_upload(big).upload_id
    parts = [oss2.models.PartInfo(1, b.upload_part(big, up, 1, part1).etag),
             oss2.models.PartInfo(2, b.upload_part(big, up, 2, part2).etag)]
    assert [p.part_number for p in b.list_parts(big, up).parts] == [1, 2]
    b.complete_multipart_upload(big, up, parts)
    assert b.get_object(big).read() == part1 + part2
    aborted = b.init_multipart_upload(alice["prefix"] + "dropped.bin").upload_id
    b.abort_multipart_upload(alice["prefix"] + "dropped.bin", aborted)
    b.delete_object(key)
    assert not b.object_exists(key)

    # One long-term key signed everything: the grant's, neither the root key nor temporary
    # credentials, and the secret never left the server.
    ids = {a.split(" ", 1)[1].rsplit(":", 1)[0] for a in signer.authorizations}
    assert len(ids) == 1, ids
    (key_id,) = ids
    assert key_id.startswith("LTAI") and key_id != server.root["AccessKeyId"], key_id
    listed = subprocess.run([server.bin, "key", "signing", "--data", str(server.data_dir)],
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert f"{key_id} grant=user-folder" in listed.stdout and "current" in listed.stdout
    # Every signature is on the audit log, with the key that made it.
    rows = [r for r in audit(server, caller=f"jwt:{alice['name']}")
            if r["outcome"] == "signed" and "/auth/custom" in r["detail"]]
    assert len(rows) == len(signer.authorizations), (len(rows), len(signer.authorizations))
    assert all(f"signed_with=grant_signing_key:{key_id}" in r["detail"] for r in rows)


@pytest.mark.parametrize("call, words", [
    (lambda b, a: list(oss2.ObjectIterator(b, prefix=a["prefix"])), "listing the bucket"),
    (lambda b, a: b.get_object("users/bob/x.txt"), "outside"),
    (lambda b, a: b.put_object_acl(a["prefix"] + "x.txt", oss2.OBJECT_ACL_PUBLIC_READ), "acl"),
    (lambda b, a: b.get_bucket_cors(), "cors"),
    (lambda b, a: b.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ), "acl"),
    (lambda b, a: b.put_object(a["prefix"] + "x.txt", b"x", headers={"x-oss-object-acl": "public-read"}),
     "x-oss-object-acl"),
    (lambda b, a: b.copy_object("app", "users/bob/secret.txt", a["prefix"] + "stolen.txt"),
     "x-oss-copy-source"),
    (lambda b, a: b.list_multipart_uploads(), "outside"),
])
def test_what_the_string_to_sign_cannot_pin_is_refused_before_signing(server, alice, call, words):
    signer = CustomSigner(server.api_endpoint, alice["token"])
    with pytest.raises(Refused) as refused:
        call(bucket_for(server, signer), alice)
    r = refused.value.response
    assert r.status_code == 403, r.text
    body = r.json()["error"]
    assert body["code"] == "OutsideGrant" and words in body["message"], body
    assert body["request_id"]
    rows = [x for x in audit(server, caller=f"jwt:{alice['name']}") if x["request_id"] == body["request_id"]]
    # One refusal row and no signature (credentials the caller already had may be issued or
    # reused on the way: they are what pins the caller's prefix; they are never handed out here).
    assert not [x for x in rows if x["outcome"] == "signed"], rows
    refusals = [x for x in rows if x["outcome"] not in ("issued", "reused")]
    assert len(refusals) == 1 and words in refusals[0]["detail"], rows


def test_another_bucket_and_a_token_in_the_content_are_refused(server, alice):
    date = oss2.utils.http_date()

    def post(content):
        return requests.post(f"{server.api_endpoint}/auth/custom", data={"content": content},
                             headers={"Authorization": f"Bearer {alice['token']}"}, timeout=30)

    for content, words in [
        (f"GET\n\n\n{date}\n/other/{alice['prefix']}x.txt", "bucket"),
        (f"GET\n\n\n{date}\nx-oss-security-token:abc\n/app/{alice['prefix']}x.txt", "security token"),
        (f"GET\n\n\nWed, 28 Dec 2022 10:27:41 GMT\n/app/{alice['prefix']}x.txt", "away from"),
        (f"GET\n\n\n{int(time.time()) + 10 * 86400}\n/app/{alice['prefix']}x.txt", "maximum"),
    ]:
        r = post(content)
        assert r.status_code == 403 and words in r.json()["error"]["message"], (content, r.text)


def test_the_grant_key_is_rotated_and_the_old_one_stops(server, alice):
    signer = CustomSigner(server.api_endpoint, alice["token"])
    b = bucket_for(server, signer)
    key = alice["prefix"] + "rotate.txt"
    b.put_object(key, b"before")
    old_auth = signer.authorizations[-1]
    old_id = old_auth.split(" ", 1)[1].rsplit(":", 1)[0]
    # A GET signed by the old key, sent again after the rotation.
    b.get_object(key)
    get_auth, date = signer.authorizations[-1], signer.contents[-1].split("\n")[3]

    rotated = subprocess.run([server.bin, "key", "rotate", "--data", str(server.data_dir),
                              "--grant", "user-folder", "--grace", "0"],
                             capture_output=True, text=True, timeout=60)
    assert rotated.returncode == 0, rotated.stderr
    assert old_id in rotated.stdout and "no longer verifies" in rotated.stdout
    deadline = time.monotonic() + 5
    while True:
        again = requests.get(f"{server.endpoint}/app/{key}", timeout=30,
                             headers={"Date": date, "Authorization": get_auth})
        if again.status_code == 403 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert again.status_code == 403, again.text
    assert b"InvalidAccessKeyId" in again.content, again.text
    # The next signatures use the new key and work.
    signer.authorizations.clear()
    assert b.get_object(key).read() == b"before"
    new_id = signer.authorizations[-1].split(" ", 1)[1].rsplit(":", 1)[0]
    assert new_id != old_id and new_id.startswith("LTAI")
