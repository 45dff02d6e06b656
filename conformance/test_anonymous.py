"""Anonymous requests: allowed only where a bucket or object ACL is public."""

import oss2
import pytest
import requests

from helpers import assert_oss_error


def test_private_bucket_denies_anonymous(server, bucket):
    bucket.put_object("p.txt", b"private")
    url = f"{server.endpoint}/{bucket.bucket_name}/p.txt"
    assert_oss_error(requests.get(url), 403, "AccessDenied")
    assert_oss_error(requests.put(url, data=b"x"), 403, "AccessDenied")
    assert_oss_error(requests.delete(url), 403, "AccessDenied")
    assert bucket.get_object("p.txt").read() == b"private"


def test_public_read_bucket(server, bucket):
    bucket.put_object("pub.txt", b"public now", headers={"x-oss-meta-x": "1"})
    url = f"{server.endpoint}/{bucket.bucket_name}/pub.txt"
    assert_oss_error(requests.get(url), 403, "AccessDenied")
    bucket.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ)
    r = requests.get(url)
    assert r.status_code == 200 and r.content == b"public now"
    assert r.headers["x-oss-meta-x"] == "1"
    assert requests.head(url).status_code == 200
    # The SDK's AnonymousAuth works the same way.
    anon = server.bucket(bucket.bucket_name, auth=oss2.AnonymousAuth())
    assert anon.get_object("pub.txt").read() == b"public now"
    # Read-only: writes stay denied.
    assert_oss_error(requests.put(f"{server.endpoint}/{bucket.bucket_name}/new.txt", data=b"x"), 403, "AccessDenied")
    assert_oss_error(requests.delete(url), 403, "AccessDenied")
    with pytest.raises(oss2.exceptions.AccessDenied):
        anon.put_object("new2.txt", b"x")
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.get_object("new.txt")
    # Bucket administration is never anonymous.
    with pytest.raises(oss2.exceptions.AccessDenied):
        anon.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ_WRITE)
    # Back to private: denied again.
    bucket.put_bucket_acl(oss2.BUCKET_ACL_PRIVATE)
    assert_oss_error(requests.get(url), 403, "AccessDenied")


def test_public_read_object_in_private_bucket(server, bucket):
    bucket.put_object("open.txt", b"open", headers={"x-oss-object-acl": "public-read"})
    bucket.put_object("closed.txt", b"closed")
    base = f"{server.endpoint}/{bucket.bucket_name}"
    r = requests.get(f"{base}/open.txt")
    assert r.status_code == 200 and r.content == b"open"
    assert_oss_error(requests.get(f"{base}/closed.txt"), 403, "AccessDenied")
    assert_oss_error(requests.put(f"{base}/open.txt", data=b"x"), 403, "AccessDenied")


def test_anonymous_missing_object_on_public_bucket(server, make_bucket):
    b = make_bucket(acl=oss2.BUCKET_ACL_PUBLIC_READ)
    assert_oss_error(requests.get(f"{server.endpoint}/{b.bucket_name}/absent"), 404, "NoSuchKey")
