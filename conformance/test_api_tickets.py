"""Ticket URLs for header-less clients: after login the app mints `POST /v1/tickets` with its JWT
and hands the returned URL to the OSS mobile SDKs' `OSSAuthCredentialsProvider(url)` (spec §9.a),
which fetches it with a plain GET. Here the GET is a bare HTTP/1.1 request (only `Host`), its JSON
is read the way the Android SDK reads it, and the credentials are used with oss2. The Alibaba Cloud
credentials URI provider (a real SDK) reads a ticket URL minted for its format."""

import datetime
import http.client
import json
import urllib.parse
import uuid

import oss2
import pytest
import requests
from alibabacloud_credentials.exceptions import CredentialException
from alibabacloud_credentials.provider.uri import URLCredentialsProvider

from conftest import REGION

GRANT = "user-folder"


def mint(server, token, **body):
    body.setdefault("grant", GRANT)
    return requests.post(f"{server.api_endpoint}/v1/tickets", json=body,
                         headers={"Authorization": f"Bearer {token}"}, timeout=30)


def bare_get(url):
    """A GET carrying no header but Host, like the mobile SDKs' auth-server fetch."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        conn.putrequest("GET", u.path + (f"?{u.query}" if u.query else ""),
                        skip_accept_encoding=True)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def android_reads(body):
    """What OSSAuthCredentialsProvider (Android) does with the JSON (spec §9.a)."""
    if int(body["StatusCode"]) != 200:
        raise RuntimeError(f'{body["ErrorCode"]}: {body["ErrorMessage"]}')
    exp = datetime.datetime.strptime(body["Expiration"][:19], "%Y-%m-%dT%H:%M:%S")
    return body["AccessKeyId"], body["AccessKeySecret"], body["SecurityToken"], exp


def test_mobile_sdk_fetches_through_a_ticket_url(server):
    sub = f"mia-{uuid.uuid4().hex[:8]}"
    token = server.token(sub)
    r = mint(server, token)
    assert r.status_code == 200, r.text
    t = r.json()
    assert t["url"].startswith(f"{server.api_endpoint}/v1/credentials/t/"), t
    assert token not in t["url"]

    status, body = bare_get(t["url"])
    assert status == 200, body
    ak, sk, st, exp = android_reads(body)
    assert exp > datetime.datetime.utcnow()
    b = oss2.Bucket(oss2.StsAuth(ak, sk, st), server.endpoint, "app", region=REGION)
    b.put_object(f"users/{sub}/from-phone.txt", b"hello from the app")
    with pytest.raises(oss2.exceptions.AccessDenied):
        b.put_object("users/someone-else/x.txt", b"x")

    # The SDK comes back to the same URL: the same (cached) credentials while they are fresh.
    status, again = bare_get(t["url"])
    assert status == 200 and again["AccessKeyId"] == ak


def test_bad_tickets_get_the_mobile_error_shape(server):
    sub = f"max-{uuid.uuid4().hex[:8]}"
    t = mint(server, server.token(sub)).json()
    altered = t["url"][:-3] + ("AAA" if not t["url"].endswith("AAA") else "BBB")
    status, body = bare_get(altered)
    assert 400 <= status < 500
    assert body["StatusCode"] in (401, 403), body
    with pytest.raises(RuntimeError):
        android_reads(body)

    assert mint(server, server.token(sub), ttl=3601).status_code == 400
    r = requests.post(f"{server.api_endpoint}/v1/tickets", json={"grant": GRANT}, timeout=30)
    assert r.status_code == 401


def test_credentials_uri_provider_reads_a_ticket_url(server):
    sub = f"uri-{uuid.uuid4().hex[:8]}"
    t = mint(server, server.token(sub), format="alibaba-credentials-uri", ttl=3600).json()
    c = URLCredentialsProvider(uri=t["url"]).get_credentials()
    assert c.get_access_key_id().startswith("STS.")
    b = oss2.Bucket(oss2.StsAuth(c.get_access_key_id(), c.get_access_key_secret(),
                                 c.get_security_token()), server.endpoint, "app", region=REGION)
    b.put_object(f"users/{sub}/uri.txt", b"via a ticket URL")

    with pytest.raises(CredentialException):
        URLCredentialsProvider(uri=t["url"][:-2] + "xx").get_credentials()
