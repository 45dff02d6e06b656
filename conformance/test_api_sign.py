"""The api face signing on behalf of users: presigned URLs (V1, V4), browser form uploads,
self-signing (/v1/sign) and seed 000's /auth/sts and /auth/custom. Every signature is made with the
user's grant-scoped temporary credentials and sent to the oss face with plain `requests` (or oss2)."""

import email.utils
import uuid
import xml.etree.ElementTree as ET

import oss2
import pytest
import requests

from conftest import REGION

GRANT = "user-folder"


@pytest.fixture
def users(server):
    run = uuid.uuid4().hex[:8]
    alice, bob = f"alice-{run}", f"bob-{run}"
    return {"alice": alice, "bob": bob, "token": server.token(alice)}


def api(server, path, token, body):
    return requests.post(f"{server.api_endpoint}{path}", json=body,
                         headers={"Authorization": f"Bearer {token}"}, timeout=30)


def presign(server, token, method, key, **extra):
    return api(server, "/v1/presign", token, {"grant": GRANT, "method": method, "key": key, **extra})


def http_date():
    return email.utils.formatdate(usegmt=True)


def oss_code(r):
    return ET.fromstring(r.content).findtext("Code")


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_presigned_put_and_get_in_grant(server, users, version):
    key = f"users/{users['alice']}/presigned {version}+x.txt"
    r = presign(server, users["token"], "PUT", key, version=version, content_type="text/plain")
    assert r.status_code == 200, r.text
    put = r.json()
    assert put["method"] == "PUT" and put["headers"] == {"Content-Type": "text/plain"}
    assert put["url"].startswith(f"{server.endpoint}/app/")
    up = requests.put(put["url"], data=b"via presigned " + version.encode(), headers=put["headers"], timeout=30)
    assert up.status_code == 200, up.text

    r = presign(server, users["token"], "GET", key, version=version, expires=60)
    assert r.status_code == 200, r.text
    got = requests.get(r.json()["url"], timeout=30)
    assert got.status_code == 200, got.text
    assert got.content == b"via presigned " + version.encode()

    head = presign(server, users["token"], "HEAD", key, version=version).json()
    assert requests.head(head["url"], timeout=30).status_code == 200
    delete = presign(server, users["token"], "DELETE", key, version=version).json()
    assert requests.delete(delete["url"], timeout=30).status_code == 204
    assert requests.get(r.json()["url"], timeout=30).status_code == 404

    # The PUT URL signs neither another method nor another key.
    assert requests.delete(put["url"], timeout=30).status_code == 403
    other = put["url"].replace("presigned", "other", 1)
    assert requests.put(other, data=b"x", headers=put["headers"], timeout=30).status_code == 403


@pytest.mark.parametrize("key_of", [
    lambda u: f"users/{u['bob']}/x.txt",
    lambda u: f"users/{u['alice']}x/x.txt",
    lambda u: "x.txt",
    lambda u: f"users/{u['alice']}/../{u['bob']}/x.txt",
])
def test_presign_refuses_outside_the_prefix(server, users, key_of):
    for method in ("GET", "PUT"):
        r = presign(server, users["token"], method, key_of(users))
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "OutsideGrant"
        assert "prefix" in r.json()["error"]["message"] or ".." in r.json()["error"]["message"]


def test_presign_refuses_strangers_and_long_lives(server, users):
    r = requests.post(f"{server.api_endpoint}/v1/presign", timeout=30,
                      json={"grant": GRANT, "method": "GET", "key": f"users/{users['alice']}/a"})
    assert r.status_code == 401
    r = presign(server, users["token"], "GET", f"users/{users['alice']}/a", expires=10 ** 6)
    assert r.status_code == 403 and "maximum" in r.json()["error"]["message"], r.text


def form_upload(url, fields, body, key):
    data = dict(fields, key=key)
    return requests.post(url, data=data, files={"file": ("f.bin", body, "application/octet-stream")}, timeout=30)


def test_post_policy_upload(server, users):
    prefix = f"users/{users['alice']}/"
    r = api(server, "/v1/post-policy", users["token"], {"grant": GRANT, "max_size": 16, "expires": 300})
    assert r.status_code == 200, r.text
    form = r.json()
    assert form["url"] == f"{server.endpoint}/app/"
    fields = form["fields"]
    assert fields["success_action_status"] == "201"

    ok = form_upload(form["url"], fields, b"small", prefix + "form.txt")
    assert ok.status_code == 201, ok.text
    got = requests.get(presign(server, users["token"], "GET", prefix + "form.txt").json()["url"], timeout=30)
    assert got.content == b"small"

    outside = form_upload(form["url"], fields, b"small", f"users/{users['bob']}/form.txt")
    assert outside.status_code == 403 and oss_code(outside) == "AccessDenied", outside.text
    big = form_upload(form["url"], fields, b"x" * 17, prefix + "big.txt")
    assert big.status_code == 400 and oss_code(big) == "EntityTooLarge", big.text

    r = api(server, "/v1/post-policy", users["token"],
            {"grant": GRANT, "max_size": 16, "key_prefix": f"users/{users['bob']}/"})
    assert r.status_code == 403, r.text


def test_post_policy_pins_content_types(server, users):
    prefix = f"users/{users['alice']}/"
    r = api(server, "/v1/post-policy", users["token"],
            {"grant": GRANT, "max_size": 100, "content_types": ["image/png"], "key_prefix": prefix + "img/"})
    assert r.status_code == 200, r.text
    form = r.json()
    png = requests.post(form["url"], data=dict(form["fields"], key=prefix + "img/a.png", **{"Content-Type": "image/png"}),
                        files={"file": ("a.png", b"png", "image/png")}, timeout=30)
    assert png.status_code == 201, png.text
    html = requests.post(form["url"], data=dict(form["fields"], key=prefix + "img/a.html",
                                                **{"Content-Type": "text/html"}),
                         files={"file": ("a.html", b"<b>", "text/html")}, timeout=30)
    assert html.status_code == 403, html.text
    elsewhere = form_upload(form["url"], form["fields"], b"png", prefix + "a.png")
    assert elsewhere.status_code == 403, elsewhere.text


def sign(server, token, sts):
    return api(server, "/v1/sign", token, {"grant": GRANT, "string_to_sign": sts})


def custom(server, token, content):
    return requests.post(f"{server.api_endpoint}/auth/custom", data={"content": content},
                         headers={"Authorization": f"Bearer {token}"}, timeout=30)


def test_v1_sign_put_and_get_accepted_by_the_oss_face(server, users):
    key = f"users/{users['alice']}/signed.txt"
    url = f"{server.endpoint}/app/{key}"
    date = http_date()
    r = sign(server, users["token"], f"PUT\n\ntext/plain\n{date}\nx-oss-meta-by:sign\n/app/{key}")
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["authorization"] == f"OSS {s['access_key_id']}:{s['signature']}"
    headers = {"Date": date, "Content-Type": "text/plain", "x-oss-meta-by": "sign",
               "x-oss-security-token": s["security_token"], "Authorization": s["authorization"]}
    put = requests.put(url, data=b"self-signed", headers=headers, timeout=30)
    assert put.status_code == 200, put.text

    r = sign(server, users["token"], f"GET\n\n\n{date}\n/app/{key}")
    assert r.status_code == 200, r.text
    s = r.json()
    got = requests.get(url, headers={"Date": date, "x-oss-security-token": s["security_token"],
                                     "Authorization": s["authorization"]}, timeout=30)
    assert got.status_code == 200, got.text
    assert got.content == b"self-signed" and got.headers["x-oss-meta-by"] == "sign"
    # The signature is worthless without the scoped token.
    bare = requests.get(url, headers={"Date": date, "Authorization": s["authorization"]}, timeout=30)
    assert bare.status_code == 403


def test_auth_custom_put_and_get_accepted_by_the_oss_face(server, users):
    # Signed with the grant's long-term signing key: the request carries no token (more in
    # test_api_custom_signer.py, which drives oss2 the way the mobile SDKs' custom signer does).
    key = f"users/{users['alice']}/custom.txt"
    url = f"{server.endpoint}/app/{key}"
    date = http_date()
    r = custom(server, users["token"], f"PUT\n\napplication/octet-stream\n{date}\n/app/{key}")
    assert r.status_code == 200, r.text
    assert r.text.startswith("OSS LTAI") and ":" in r.text
    assert "x-stsgate-security-token" not in r.headers
    put = requests.put(url, data=b"seed 000 style", timeout=30, headers={
        "Date": date, "Content-Type": "application/octet-stream", "Authorization": r.text})
    assert put.status_code == 200, put.text

    r = custom(server, users["token"], f"GET\n\n\n{date}\n/app/{key}")
    assert r.status_code == 200, r.text
    got = requests.get(url, timeout=30, headers={"Date": date, "Authorization": r.text})
    assert got.status_code == 200 and got.content == b"seed 000 style", got.text
    # The signature covers that request only: another key in the prefix is refused.
    other = requests.get(f"{server.endpoint}/app/users/{users['alice']}/other.txt", timeout=30,
                         headers={"Date": date, "Authorization": r.text})
    assert other.status_code == 403 and oss_code(other) == "SignatureDoesNotMatch", other.text


@pytest.mark.parametrize("content_of, why", [
    (lambda u, d: f"GET\n\n\n{d}\n/app/users/{u['bob']}/x.txt", "prefix"),
    (lambda u, d: f"PUT\n\n\n{d}\n/app/users/{u['alice']}/x.txt?acl", "acl"),
    (lambda u, d: f"GET\n\n\n{d}\n/app/?cors", "cors"),
    (lambda u, d: f"GET\n\n\nWed, 28 Dec 2022 10:27:41 GMT\n/app/users/{u['alice']}/x.txt", "away from"),
    (lambda u, d: f"PUT\n\n\n{d}\nx-oss-copy-source:/app/users/{u['bob']}/x.txt\n/app/users/{u['alice']}/x.txt",
     "x-oss-copy-source"),
    (lambda u, d: f"GET\n\n\n{d}\n/other-bucket/users/{u['alice']}/x.txt", "bucket"),
])
def test_out_of_grant_content_is_refused(server, users, content_of, why):
    content = content_of(users, http_date())
    r = sign(server, users["token"], content)
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "OutsideGrant" and why in r.json()["error"]["message"], r.text
    c = custom(server, users["token"], content)
    assert c.status_code == 403, c.text
    assert not c.text.startswith("OSS ")


def test_auth_custom_needs_authentication(server):
    r = requests.post(f"{server.api_endpoint}/auth/custom", data={"content": "GET\n\n\nx\n/app/x"}, timeout=30)
    assert r.status_code == 401


def test_auth_sts_json_works_with_oss2_in_grant(server, users):
    r = requests.get(f"{server.api_endpoint}/auth/sts", params={"roleName": "admin"},
                     headers={"Authorization": f"Bearer {users['token']}"}, timeout=30)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["AssumedRoleUser"]["Arn"].endswith("/" + users["alice"])
    c = body["Credentials"]
    b = oss2.Bucket(oss2.StsAuth(c["AccessKeyId"], c["AccessKeySecret"], c["SecurityToken"]),
                    server.endpoint, "app", region=REGION)
    mine = f"users/{users['alice']}/sts.txt"
    b.put_object(mine, b"from /auth/sts")
    assert b.get_object(mine).read() == b"from /auth/sts"
    with pytest.raises(oss2.exceptions.AccessDenied):
        b.put_object(f"users/{users['bob']}/sts.txt", b"nope")
    assert requests.get(f"{server.api_endpoint}/auth/sts?roleName=x", timeout=30).status_code == 401


def test_urls_with_the_default_expiry_reuse_one_credential(server):
    """A presigned URL must not outlive the credentials that signed it; credentials minted for a
    URL live half as long again, so the next URLs with the default expiry (900 s) reuse them
    instead of minting (and auditing) a credential each."""
    import json
    import uuid
    sub = f"reuse-{uuid.uuid4().hex[:8]}"
    token = server.token(sub)
    for i in range(3):
        r = presign(server, token, "PUT", f"users/{sub}/f{i}.txt")
        assert r.status_code == 200, r.text
    key = json.loads((server.data_dir / "root-credentials.json").read_text())["OperatorKey"]
    rows = requests.get(f"{server.api_endpoint}/v1/audit", params={"caller": f"jwt:{sub}", "outcome": "issued"},
                        headers={"Authorization": f"Bearer {key}"}, timeout=10).json()["records"]
    assert len(rows) == 1, rows
    assert rows[0]["expiration"] - rows[0]["time"] >= 1350, rows[0]
