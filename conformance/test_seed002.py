"""Seed 002's flow: a backend turns STS credentials into presigned PUT/GET URLs for a browser,
checks `object_exists`, and manages bucket CORS so that the browser's preflight and PUT pass.

The backend code is the seed's (`AliStsGenerateToKey.set_oss_sign`, `AliOssCors`), with the
AssumeRole call replaced by `stsgate creds issue` and the endpoint pointed at stsgate.
"""

import json
import os

import oss2
import pytest
import requests
from oss2.models import BucketCors, CorsRule

from helpers import assert_oss_error

ORIGIN = "http://localhost:8080"
SEED_POLICY = '{"Statement": [{"Action": ["*"],"Effect": "Allow","Resource": ["*"]}],"Version":"1"}'


class AliOssCors:
    def __init__(self, access_key_id, access_key_secret, endpoint, bucket_name):
        self.auth = oss2.Auth(access_key_id, access_key_secret)
        self.endpoint = endpoint
        self.bucket_name = bucket_name

    def bucket(self):
        return oss2.Bucket(self.auth, self.endpoint, self.bucket_name)

    def get_oss_cors(self):
        try:
            return self.bucket().get_bucket_cors().rules
        except oss2.exceptions.NoSuchCors:
            self.set_oss_cors()
            return self.get_oss_cors()

    def set_oss_cors(self):
        rule = CorsRule(allowed_origins=["*"], allowed_methods=["GET", "HEAD", "PUT", "POST"],
                        allowed_headers=["*"], max_age_seconds=0)
        self.bucket().put_bucket_cors(BucketCors([rule]))

    def delete_oss_cors(self):
        self.bucket().delete_bucket_cors()


def set_oss_sign(server, bucket_name, save_oss_file_name, exp_time, upload_file, origin=None):
    body = json.dumps(server.issue(SEED_POLICY, duration=900, session_name="test"))
    token = json.loads(oss2.to_unicode(body))
    auth = oss2.StsAuth(token["Credentials"]["AccessKeyId"], token["Credentials"]["AccessKeySecret"],
                        token["Credentials"]["SecurityToken"])
    bucket = oss2.Bucket(auth, server.endpoint, bucket_name)
    sign_url_put = bucket.sign_url("PUT", save_oss_file_name, exp_time)
    extra = {"Origin": origin} if origin else {}
    with open(upload_file, "rb") as f:
        rsp = requests.put(url=sign_url_put, data=f, headers=extra)
    if rsp.status_code != 200:
        return False, rsp, None
    if not bucket.object_exists(key=save_oss_file_name):
        return False, rsp, None
    sign_url = bucket.sign_url("GET", save_oss_file_name, exp_time)
    got = requests.get(url=sign_url, headers=extra)
    return got.status_code == 200, rsp, got


def preflight(server, bucket_name, key, method, origin=ORIGIN, req_headers=None):
    headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if req_headers:
        headers["Access-Control-Request-Headers"] = req_headers
    return requests.options(f"{server.endpoint}/{bucket_name}/{key}", headers=headers)


def test_seed002_flow(server, make_bucket, tmp_path):
    root_bucket = make_bucket("seed002")
    name = root_bucket.bucket_name
    r = server.root
    png = tmp_path / "22.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(20000))

    # 1. The backend signs URLs with StsAuth; PUT and GET work with plain HTTP.
    ok, put_rsp, got = set_oss_sign(server, name, "test.png", 300, png)
    assert ok, (put_rsp.status_code, put_rsp.text)
    assert got.content == png.read_bytes()
    assert root_bucket.get_object("test.png").read() == png.read_bytes()

    # 2. No CORS yet: the browser's preflight is refused, with no Access-Control-* headers.
    denied = preflight(server, name, "test.png", "PUT", req_headers="content-type")
    assert_oss_error(denied, 403, "AccessForbidden")
    assert not [h for h in denied.headers if h.lower().startswith("access-control-")]

    # 3. The seed's AliOssCors: get -> NoSuchCors -> set -> get prints the rule.
    cors = AliOssCors(r["AccessKeyId"], r["AccessKeySecret"], server.endpoint, name)
    rules = cors.get_oss_cors()
    assert len(rules) == 1
    assert rules[0].allowed_origins == ["*"]
    assert rules[0].allowed_methods == ["GET", "HEAD", "PUT", "POST"]
    assert rules[0].allowed_headers == ["*"]
    assert rules[0].max_age_seconds == 0

    # 4. The preflight from the browser's Origin now gets the Access-Control-* answer.
    ok = preflight(server, name, "test.png", "PUT", req_headers="content-type")
    assert ok.status_code == 200, ok.text
    assert ok.headers.get("Access-Control-Allow-Origin") in (ORIGIN, "*")
    methods = [m.strip() for m in ok.headers.get("Access-Control-Allow-Methods", "").split(",")]
    assert "PUT" in methods and "GET" in methods
    assert "content-type" in ok.headers.get("Access-Control-Allow-Headers", "").lower()

    # A method outside the rule is still refused.
    assert_oss_error(preflight(server, name, "test.png", "DELETE"), 403, "AccessForbidden")

    # 5. The browser's presigned PUT carrying Origin gets Access-Control-Allow-Origin back.
    ok, put_rsp, got = set_oss_sign(server, name, "browser.png", 300, png, origin=ORIGIN)
    assert ok, (put_rsp.status_code, put_rsp.text)
    assert put_rsp.headers.get("Access-Control-Allow-Origin") in (ORIGIN, "*")
    assert got.headers.get("Access-Control-Allow-Origin") in (ORIGIN, "*")

    # 6. Narrow the rule to one origin with a max age; other origins are refused.
    root_bucket.put_bucket_cors(BucketCors([CorsRule(allowed_origins=[ORIGIN], allowed_methods=["PUT", "GET"],
                                                     allowed_headers=["*"], expose_headers=["ETag"],
                                                     max_age_seconds=600)]))
    ok = preflight(server, name, "x.png", "PUT")
    assert ok.status_code == 200 and ok.headers.get("Access-Control-Allow-Origin") == ORIGIN
    assert ok.headers.get("Access-Control-Max-Age") == "600"
    assert_oss_error(preflight(server, name, "x.png", "PUT", origin="http://evil.example"), 403, "AccessForbidden")

    # 7. Delete the CORS configuration: back to NoSuchCors and refused preflights.
    cors.delete_oss_cors()
    with pytest.raises(oss2.exceptions.NoSuchCors):
        root_bucket.get_bucket_cors()
    assert_oss_error(preflight(server, name, "test.png", "PUT"), 403, "AccessForbidden")
