"""Authentication failures: expiry, tampering, wrong keys, clock skew, expired URLs."""

import datetime as dt
import time

import oss2
import pytest
import requests

from helpers import (alice_policy, assert_oss_error, assert_sdk_error, error_of, http_date, v1_headers)


def sleep_past(expiration: str, margin=1.5):
    when = dt.datetime.strptime(expiration, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    delay = (when - dt.datetime.now(dt.timezone.utc)).total_seconds() + margin
    if delay > 0:
        time.sleep(delay)


def flip(s: str, i: int) -> str:
    c = s[i]
    return s[:i] + ("B" if c != "B" else "C") + s[i + 1:]


def test_token_expires(server, bucket):
    issued = server.issue(alice_policy(bucket.bucket_name), duration=4)
    b = server.bucket(bucket.bucket_name, auth=server.sts_auth(issued))
    b.put_object("users/alice/early", b"in time")  # still valid right after issue
    sleep_past(issued["Credentials"]["Expiration"])
    with pytest.raises(oss2.exceptions.ServerError) as ei:
        b.put_object("users/alice/late", b"too late")
    e = assert_sdk_error(ei, 403, "SecurityTokenExpired")
    assert "expired" in e.message.lower()
    with pytest.raises(oss2.exceptions.ServerError) as ei:
        b.get_object("users/alice/early")
    assert_sdk_error(ei, 403, "SecurityTokenExpired")
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.get_object("users/alice/late")


def test_token_of_one_second(server, bucket):
    issued = server.issue(alice_policy(bucket.bucket_name), duration=1)
    sleep_past(issued["Credentials"]["Expiration"])
    b = server.bucket(bucket.bucket_name, auth=server.sts_auth(issued, v4=True))
    with pytest.raises(oss2.exceptions.ServerError) as ei:
        b.get_object("users/alice/x")
    assert_sdk_error(ei, 403, "SecurityTokenExpired")


@pytest.mark.parametrize("where", [0.25, 0.5, 0.9])
def test_altered_token(server, bucket, where):
    issued = server.issue(alice_policy(bucket.bucket_name), duration=900)
    c = issued["Credentials"]
    token = flip(c["SecurityToken"], int(len(c["SecurityToken"]) * where))
    b = server.bucket(bucket.bucket_name, auth=oss2.StsAuth(c["AccessKeyId"], c["AccessKeySecret"], token))
    with pytest.raises(oss2.exceptions.ServerError) as ei:
        b.put_object("users/alice/x", b"x")
    assert_sdk_error(ei, 403, "InvalidSecurityToken")


def test_sts_key_without_token_is_unknown(server, bucket):
    issued = server.issue(alice_policy(bucket.bucket_name), duration=900)
    c = issued["Credentials"]
    b = server.bucket(bucket.bucket_name, auth=oss2.Auth(c["AccessKeyId"], c["AccessKeySecret"]))
    with pytest.raises(oss2.exceptions.ServerError) as ei:
        b.get_object("users/alice/x")
    assert_sdk_error(ei, 403, "InvalidAccessKeyId")


def test_wrong_secret_signature_does_not_match(server, bucket):
    bucket.put_object("k.txt", b"v")
    r = server.root
    bad = server.bucket(bucket.bucket_name, auth=oss2.Auth(r["AccessKeyId"], r["AccessKeySecret"] + "-wrong"))
    with pytest.raises(oss2.exceptions.SignatureDoesNotMatch) as ei:
        bad.get_object("k.txt")
    e = assert_sdk_error(ei, 403, "SignatureDoesNotMatch")
    sts = e.details.get("StringToSign", "")
    assert sts.startswith("GET\n\n\n"), e.details
    assert sts.endswith(f"\n/{bucket.bucket_name}/k.txt"), e.details
    assert e.details.get("OSSAccessKeyId") == r["AccessKeyId"]
    assert e.details.get("SignatureProvided")
    # StringToSignBytes: the same string as space-separated hex bytes.
    assert bytes.fromhex(e.details.get("StringToSignBytes", "").replace(" ", "")) == sts.encode()


def test_wrong_secret_with_temporary_credentials(server, bucket, http):
    issued = server.issue(alice_policy(bucket.bucket_name), duration=900)
    c = issued["Credentials"]
    b = server.bucket(bucket.bucket_name, auth=oss2.StsAuth(c["AccessKeyId"], c["AccessKeySecret"] + "x",
                                                            c["SecurityToken"]))
    with pytest.raises(oss2.exceptions.ServerError) as ei:
        b.put_object("users/alice/x", b"x", headers={"Content-Type": "text/plain"})
    # oss2 parses only the first 4096 bytes of an error body; with a long token the XML (which
    # repeats the token in StringToSign and StringToSignBytes) is longer, so read it raw here.
    assert ei.value.status == 403
    resource = f"/{bucket.bucket_name}/users/alice/x"
    headers = v1_headers(c["AccessKeyId"], c["AccessKeySecret"] + "x", "PUT", resource,
                         {"x-oss-security-token": c["SecurityToken"]}, content_type="text/plain")
    resp = http.put(f"{server.endpoint}{resource}", data=b"x", headers=headers)
    err = assert_oss_error(resp, 403, "SignatureDoesNotMatch")
    sts = err["StringToSign"]
    assert sts == f"PUT\n\ntext/plain\n{headers['Date']}\nx-oss-security-token:{c['SecurityToken']}\n{resource}"
    assert err.get("OSSAccessKeyId") == c["AccessKeyId"]


def test_unknown_access_key(server, bucket):
    b = server.bucket(bucket.bucket_name, auth=oss2.Auth("LTAI5tNoSuchKeyHere000", "secret"))
    with pytest.raises(oss2.exceptions.ServerError) as ei:
        b.get_object("k")
    e = assert_sdk_error(ei, 403, "InvalidAccessKeyId")
    assert e.details.get("OSSAccessKeyId") == "LTAI5tNoSuchKeyHere000"


def test_clock_skew(server, bucket, http):
    bucket.put_object("skew.txt", b"v")
    r = server.root
    resource = f"/{bucket.bucket_name}/skew.txt"
    for offset in (-20 * 60, 20 * 60):
        headers = v1_headers(r["AccessKeyId"], r["AccessKeySecret"], "GET", resource,
                             date=http_date(time.time() + offset))
        resp = http.get(f"{server.endpoint}{resource}", headers=headers)
        assert_oss_error(resp, 403, "RequestTimeTooSkewed")
    # Within 15 minutes is fine.
    headers = v1_headers(r["AccessKeyId"], r["AccessKeySecret"], "GET", resource,
                         date=http_date(time.time() - 10 * 60))
    resp = http.get(f"{server.endpoint}{resource}", headers=headers)
    assert resp.status_code == 200 and resp.content == b"v"


def test_missing_date_is_denied(server, bucket, http):
    r = server.root
    resource = f"/{bucket.bucket_name}/k"
    headers = v1_headers(r["AccessKeyId"], r["AccessKeySecret"], "GET", resource)
    del headers["Date"]
    resp = http.get(f"{server.endpoint}{resource}", headers=headers)
    assert_oss_error(resp, 403, "AccessDenied")


def test_expired_presigned_url_v1(server, bucket, http):
    bucket.put_object("p.txt", b"v")
    url = bucket.sign_url("GET", "p.txt", -30)  # Expires already in the past
    resp = http.get(url)
    err = assert_oss_error(resp, 403, "AccessDenied", "Request has expired")
    assert err.get("Expires") and err.get("ServerTime"), err


def test_expired_presigned_url_sts(server, bucket, http):
    bucket.put_object("users/alice/p.txt", b"v")
    issued = server.issue(alice_policy(bucket.bucket_name), duration=900)
    b = server.bucket(bucket.bucket_name, auth=server.sts_auth(issued))
    url = b.sign_url("GET", "users/alice/p.txt", 1)
    assert "security-token=" in url
    time.sleep(2.5)
    assert_oss_error(http.get(url), 403, "AccessDenied", "Request has expired")


def test_expired_presigned_url_v4(server, bucket, http):
    bucket.put_object("p4.txt", b"v")
    b = server.bucket(bucket.bucket_name, v4=True)
    url = b.sign_url("GET", "p4.txt", 1)
    assert http.get(url).status_code == 200
    time.sleep(2.5)
    assert_oss_error(http.get(url), 403, "AccessDenied", "Request has expired")


def test_presigned_url_wrong_signature(server, bucket, http):
    bucket.put_object("s.txt", b"v")
    url = bucket.sign_url("GET", "s.txt", 300)
    resp = http.get(url.replace("Signature=", "Signature=A"))
    err = assert_oss_error(resp, 403, "SignatureDoesNotMatch")
    assert err.get("StringToSign", "").endswith(f"/{bucket.bucket_name}/s.txt")


def test_signature_message_shape_for_old_sdks(server, bucket, http):
    """Spec §7.3: clients parse the message; SignatureDoesNotMatch must carry the XML fields."""
    r = server.root
    resource = f"/{bucket.bucket_name}/m"
    headers = v1_headers(r["AccessKeyId"], "not-the-secret", "GET", resource)
    resp = http.get(f"{server.endpoint}{resource}", headers=headers)
    err = error_of(resp.content)
    assert resp.status_code == 403 and err.get("Code") == "SignatureDoesNotMatch", resp.text
    assert err.get("StringToSign") == f"GET\n\n\n{headers['Date']}\n{resource}"
    assert err.get("OSSAccessKeyId") == r["AccessKeyId"]


def test_malformed_authorization(server, bucket, http):
    resp = http.get(f"{server.endpoint}/{bucket.bucket_name}/k",
                    headers={"Date": http_date(), "Authorization": "OSS no-colon-here"})
    assert resp.status_code in (400, 403), resp.text
    assert error_of(resp.content).get("Code") in ("InvalidArgument", "AccessDenied"), resp.text


def test_requests_without_auth_on_private_bucket(server, bucket, http):
    resp = requests.get(f"{server.endpoint}/{bucket.bucket_name}/?prefix=")
    assert_oss_error(resp, 403, "AccessDenied")
