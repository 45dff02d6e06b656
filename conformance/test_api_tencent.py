"""Seed 004's flow and the api face's Tencent routes, judged by the real COS SDKs on the cos face.

A signed-in user asks the api face (the default grant `cos-folder`: bucket `app-<AppId>`,
`users/<sub>/`) for Tencent credentials: `GET /sign` (seed 004's JSON), `format=tencent` mapped
into cos-nodejs-sdk-v5's `getAuthorization` as README shows (form A), `/v1/sign` signing each
request for it (form B), and COS presigned URLs and POST Object forms from `/v1/presign` and
`/v1/post-policy`. cos-python-sdk-v5 and cos-nodejs-sdk-v5 use them inside the user's folder and
are refused outside it, `users/alicex/` included; two users never reach each other's folder.
"""

import os

import pytest
import requests
from qcloud_cos.cos_exception import CosServiceError

from cos_helpers import REGION, cos_client
from helpers import run_node_script

GRANT = "cos-folder"


def bearer(server, sub):
    return {"Authorization": f"Bearer {server.token(sub)}"}


def sign(server, sub, grant=None):
    """Seed 004's `GET /sign` for `sub`: the credentials in the client shape of cos_helpers."""
    params = {"grant": grant} if grant else {}
    r = requests.get(f"{server.api_endpoint}/sign", headers=bearer(server, sub), params=params, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/json"
    body = r.json()
    assert (body["code"], body["message"], body["codeDesc"]) == (0, "", "Success"), body
    c = body["data"]["credentials"]
    assert set(c) == {"sessionToken", "tmpSecretId", "tmpSecretKey"}, c
    assert len(str(body["data"]["expiredTime"])) == 10
    return {"SecretId": c["tmpSecretId"], "SecretKey": c["tmpSecretKey"], "Token": c["sessionToken"]}


def bucket(server):
    return f"app-{server.tencent['AppId']}"


def refused(fn, *args, **kwargs):
    with pytest.raises(CosServiceError) as e:
        fn(*args, **kwargs)
    return e.value


def test_seed_004_sign_gives_keys_that_work_on_the_cos_face(server):
    alice = cos_client(server, sign(server, "alice"))
    b = bucket(server)
    alice.put_object(Bucket=b, Key="users/alice/save.dat", Body=b"level 3")
    got = alice.get_object(Bucket=b, Key="users/alice/save.dat")["Body"].get_raw_stream().read()
    assert got == b"level 3"
    listed = alice.list_objects(Bucket=b, Prefix="users/alice/")
    assert any(o["Key"] == "users/alice/save.dat" for o in listed.get("Contents", []))
    for key in ["users/alicex/save.dat", "users/bob/save.dat", "save.dat"]:
        e = refused(alice.put_object, Bucket=b, Key=key, Body=b"x")
        assert (e.get_status_code(), e.get_error_code()) == (403, "AccessDenied"), key
    e = refused(alice.list_objects, Bucket=b, Prefix="users/")
    assert e.get_error_code() == "AccessDenied"


def test_two_users_cannot_reach_each_others_folder(server):
    b = bucket(server)
    alice = cos_client(server, sign(server, "alice"))
    bob = cos_client(server, sign(server, "bob"))
    alice.put_object(Bucket=b, Key="users/alice/private.txt", Body=b"alice's")
    bob.put_object(Bucket=b, Key="users/bob/private.txt", Body=b"bob's")
    for who, key in [(bob, "users/alice/private.txt"), (alice, "users/bob/private.txt")]:
        for call in (who.get_object, who.delete_object, who.head_object):
            e = refused(call, Bucket=b, Key=key)
            assert e.get_status_code() == 403, (call, key)
    assert alice.get_object(Bucket=b, Key="users/alice/private.txt")["Body"].get_raw_stream().read() == b"alice's"


def test_sign_refusals_keep_the_seed_shape(server):
    r = requests.get(f"{server.api_endpoint}/sign", timeout=10)
    assert r.status_code == 401
    body = r.json()
    assert body["code"] == 401 and body["codeDesc"] == "Unauthenticated", body
    r = requests.get(f"{server.api_endpoint}/sign", headers=bearer(server, "alice"),
                     params={"grant": "user-folder"}, timeout=10)
    assert r.status_code == 400
    assert r.json()["codeDesc"] == "InvalidParameter"


def test_format_tencent_and_v1_sign_feed_node_get_authorization(server, tmp_path):
    env = dict(os.environ, API=server.api_endpoint, JWT=server.token("carol"), GRANT=GRANT,
               COS_PORT=str(server.cos_port), COS_BUCKET=bucket(server), COS_REGION=REGION,
               COS_PREFIX="users/carol/", COS_OUTSIDE="users/carolx/", STEPS="formA,formB")
    run_node_script("cos_getauth_test.js", env, ["formA", "formB"], "cos-nodejs-sdk-v5")


def test_presigned_urls_and_form_uploads_work_over_plain_http(server):
    api, h = server.api_endpoint, bearer(server, "dave")
    key = "users/dave/photo.png"
    put = requests.post(f"{api}/v1/presign", headers=h, timeout=10,
                        json={"grant": GRANT, "method": "PUT", "key": key}).json()
    assert "q-sign-algorithm=sha1" in put["url"] and "x-cos-security-token=" in put["url"], put
    r = requests.put(put["url"], data=b"\x89PNG...", timeout=10)
    assert r.status_code == 200, r.text
    get = requests.post(f"{api}/v1/presign", headers=h, timeout=10,
                        json={"grant": GRANT, "method": "GET", "key": key}).json()
    r = requests.get(get["url"], timeout=10)
    assert (r.status_code, r.content) == (200, b"\x89PNG..."), r.text
    # A tampered URL is refused by the cos face.
    r = requests.get(get["url"].replace("photo.png", "other.png"), timeout=10)
    assert r.status_code == 403, r.text
    outside = requests.post(f"{api}/v1/presign", headers=h, timeout=10,
                            json={"grant": GRANT, "method": "PUT", "key": "users/davex/a.png"})
    assert outside.status_code == 403 and outside.json()["error"]["code"] == "OutsideGrant"
    form = requests.post(f"{api}/v1/post-policy", headers=h, timeout=10,
                         json={"grant": GRANT, "max_size": 1024}).json()
    fields = dict(form["fields"], key="users/dave/form.txt")
    r = requests.post(form["url"], data=fields, files={"file": ("form.txt", b"from a browser form")},
                      timeout=10)
    assert r.status_code in (200, 201, 204), r.text
    r = requests.get(requests.post(f"{api}/v1/presign", headers=h, timeout=10,
                                   json={"grant": GRANT, "method": "GET",
                                         "key": "users/dave/form.txt"}).json()["url"], timeout=10)
    assert r.content == b"from a browser form"
    fields = dict(form["fields"], key="users/eve/form.txt")
    r = requests.post(form["url"], data=fields, files={"file": ("f", b"x")}, timeout=10)
    assert r.status_code == 403, r.text


def test_header_less_mobile_fetches_use_tickets(server):
    """The COS Android SDK's SessionCredentialProvider fetches a URL with a plain GET."""
    r = requests.post(f"{server.api_endpoint}/v1/tickets", headers=bearer(server, "frank"),
                      json={"grant": GRANT}, timeout=10)
    assert r.status_code == 200, r.text
    ticket = r.json()
    assert ticket["format"] == "tencent-legacy"
    body = requests.get(ticket["url"], timeout=10).json()
    assert body["code"] == 0 and body["data"]["credentials"]["tmpSecretId"].startswith("AKID"), body
    v3 = requests.post(f"{server.api_endpoint}/v1/tickets", headers=bearer(server, "frank"),
                       json={"grant": GRANT, "format": "tencent-v3"}, timeout=10).json()
    body = requests.get(v3["url"], timeout=10).json()
    assert body["Response"]["Credentials"]["TmpSecretId"].startswith("AKID"), body
    c = body["Response"]["Credentials"]
    frank = cos_client(server, {"SecretId": c["TmpSecretId"], "SecretKey": c["TmpSecretKey"],
                                "Token": c["Token"]})
    frank.put_object(Bucket=bucket(server), Key="users/frank/from-android.jpg", Body=b"jpg")
