"""Issue 15: the embedded store as a drop-in for the OSS operations apps use, driven by the real
oss2 SDK in its own idioms: tagging, idempotent create_bucket, multipart listings with a
delimiter, the V4 region check, CORS argument checks, the bucket's storage class, and every
x-oss-* header the store does not act on refused rather than ignored."""

import oss2
import pytest
import requests
from oss2.models import BucketCors, CorsRule, Tagging, TaggingRule

from conftest import REGION, unique_name
from helpers import alice_policy


def tagging(**tags):
    rule = TaggingRule()
    for k, v in tags.items():
        rule.add(k, v)
    return Tagging(rule)


def error(call, status, code):
    with pytest.raises(oss2.exceptions.OssError) as ei:
        call()
    assert (ei.value.status, ei.value.code) == (status, code), (ei.value.status, ei.value.code, ei.value.message)
    return ei.value


# ---- object tagging -----------------------------------------------------------------------
def test_tags_are_put_read_counted_and_deleted(bucket):
    bucket.put_object("t.txt", b"x", headers={"x-oss-tagging": "team=a%20b&empty=&%E4%B8%AD=%2B-/"})
    assert bucket.head_object("t.txt").headers["x-oss-tagging-count"] == "3"
    got = bucket.get_object_tagging("t.txt").tag_set.tagging_rule
    assert got == {"team": "a b", "empty": "", "中": "+-/"}
    before = bucket.head_object("t.txt").last_modified
    bucket.put_object_tagging("t.txt", tagging(k1="v1"))
    assert bucket.get_object_tagging("t.txt").tag_set.tagging_rule == {"k1": "v1"}
    assert bucket.get_object("t.txt").headers["x-oss-tagging-count"] == "1"
    # Tags are metadata: the object's Last-Modified does not move.
    assert bucket.head_object("t.txt").last_modified == before
    assert bucket.delete_object_tagging("t.txt").status == 204
    assert bucket.delete_object_tagging("t.txt").status == 204
    assert bucket.get_object_tagging("t.txt").tag_set.tagging_rule == {}
    assert "x-oss-tagging-count" not in bucket.head_object("t.txt").headers
    error(lambda: bucket.get_object_tagging("missing"), 404, "NoSuchKey")
    error(lambda: bucket.put_object_tagging("missing", tagging(a="b")), 404, "NoSuchKey")


def test_tags_follow_copy_and_multipart(bucket):
    bucket.put_object("src", b"data", headers={"x-oss-tagging": "a=1&b=2"})
    bucket.copy_object(bucket.bucket_name, "src", "copied")
    assert bucket.get_object_tagging("copied").tag_set.tagging_rule == {"a": "1", "b": "2"}
    bucket.copy_object(bucket.bucket_name, "src", "replaced",
                       headers={"x-oss-tagging-directive": "Replace", "x-oss-tagging": "c=3"})
    assert bucket.get_object_tagging("replaced").tag_set.tagging_rule == {"c": "3"}
    up = bucket.init_multipart_upload("mp", headers={"x-oss-tagging": "m=1"}).upload_id
    part = bucket.upload_part("mp", up, 1, b"p" * 10)
    bucket.complete_multipart_upload("mp", up, [oss2.models.PartInfo(1, part.etag)])
    assert bucket.get_object_tagging("mp").tag_set.tagging_rule == {"m": "1"}


@pytest.mark.parametrize("header", [
    "&".join(f"k{i}=v" for i in range(11)),   # more than 10
    "k=1&k=2",                                 # a key twice
    "=v",                                      # an empty key
    "a=b=c",                                   # not key=value
    "k%25=v",                                  # '%' is not a tag character
    "k=%3Cscript%3E",                          # nor '<'
    "k=" + "v" * 257,                          # value too long
    "k" * 129 + "=v",                          # key too long
])
def test_tags_beyond_the_limits_are_refused_and_nothing_is_written(bucket, header):
    e = error(lambda: bucket.put_object("bad", b"x", headers={"x-oss-tagging": header}), 400, "InvalidArgument")
    assert e.ec == "0010-00000217", e.ec
    assert not bucket.object_exists("bad")


def test_tagging_body_limits(bucket):
    bucket.put_object("o", b"x")
    error(lambda: bucket.put_object_tagging("o", tagging(**{f"k{i}": "v" for i in range(11)})), 400, "InvalidArgument")
    r = requests.put(bucket._make_url(bucket.bucket_name, "o") + "?tagging", data=b"<Tagging>", timeout=10)
    assert r.status_code in (400, 403), r.text  # unsigned: refused either way
    bad = oss2.Bucket(bucket.auth, bucket.endpoint, bucket.bucket_name, region=REGION)
    error(lambda: bad._Bucket__do_object("PUT", "o", data=b"<Tagging><TagSet><Tag><Value>v</Value></Tag></TagSet></Tagging>",
                                            params={"tagging": ""}), 400, "MalformedXML")


def test_tagging_needs_its_own_permission(server, bucket):
    """Tags on the way in are PutObjectTagging: credentials allowed only PutObject cannot set them."""
    name = bucket.bucket_name
    policy = {"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": ["oss:PutObject", "oss:GetObject"], "Resource": [f"acs:oss:*:*:{name}/*"]}]}
    b = server.bucket(name, auth=server.sts_auth(server.issue(policy)))
    b.put_object("plain", b"x")
    error(lambda: b.put_object("tagged", b"x", headers={"x-oss-tagging": "a=1"}), 403, "AccessDenied")
    error(lambda: b.put_object_tagging("plain", tagging(a="1")), 403, "AccessDenied")
    error(lambda: b.get_object_tagging("plain"), 403, "AccessDenied")
    assert not bucket.object_exists("tagged")


# ---- never accept and drop ----------------------------------------------------------------
UNIMPLEMENTED_HEADERS = [
    ("x-oss-server-side-encryption", "AES256"),
    ("x-oss-server-side-encryption-key-id", "k"),
    ("x-oss-server-side-data-encryption", "SM4"),
    ("x-oss-callback", "eyJjYWxsYmFja1VybCI6Imh0dHA6Ly8xMjcuMC4wLjEvIn0="),
    ("x-oss-callback-var", "e30="),
    ("x-oss-traffic-limit", "819200"),
    ("x-oss-request-payer", "requester"),
    ("x-oss-symlink-target", "t"),
    ("x-oss-object-worm-mode", "GOVERNANCE"),
    ("x-oss-version-id", "v1"),
    ("x-oss-expires", "0"),
]


@pytest.mark.parametrize("name,value", UNIMPLEMENTED_HEADERS)
def test_headers_the_store_does_not_act_on_are_refused(bucket, name, value):
    e = error(lambda: bucket.put_object("h.txt", b"x", headers={name: value}), 400, "NotImplemented")
    assert name in e.message, e.message
    assert not bucket.object_exists("h.txt")
    error(lambda: bucket.get_object("none", headers={name: value}), 400, "NotImplemented")


def test_put_bucket_with_encryption_is_refused(server):
    name = unique_name("enc")
    b = server.bucket(name)
    error(lambda: b.create_bucket(headers={"x-oss-server-side-encryption": "AES256"}), 400, "NotImplemented")
    error(lambda: b.get_bucket_info(), 404, "NoSuchBucket")


def test_form_fields_the_store_does_not_act_on_are_refused(server, bucket):
    import base64, hashlib, hmac, json
    root = server.root
    policy = base64.b64encode(json.dumps({"expiration": "2099-01-01T00:00:00.000Z",
                                          "conditions": [["starts-with", "$key", ""]]}).encode()).decode()
    sig = base64.b64encode(hmac.new(root["AccessKeySecret"].encode(), policy.encode(), hashlib.sha1).digest()).decode()
    url = f"{server.endpoint}/{bucket.bucket_name}"
    fields = {"key": "form.txt", "OSSAccessKeyId": root["AccessKeyId"], "policy": policy, "Signature": sig,
              "x-oss-server-side-encryption": "AES256"}
    r = requests.post(url, data=fields, files={"file": ("f", b"x")}, timeout=10)
    assert r.status_code == 400 and "<Code>NotImplemented</Code>" in r.text, r.text
    fields.pop("x-oss-server-side-encryption")
    fields["x-oss-tagging"] = "via=form"
    r = requests.post(url, data=fields, files={"file": ("f", b"x")}, timeout=10)
    assert r.status_code == 204, r.text
    assert bucket.get_object_tagging("form.txt").tag_set.tagging_rule == {"via": "form"}


# ---- deviations fixed ---------------------------------------------------------------------
def test_create_bucket_twice_is_fine_but_not_another_storage_class(server):
    name = unique_name("twice")
    b = server.bucket(name)
    try:
        b.create_bucket(oss2.BUCKET_ACL_PRIVATE, oss2.models.BucketCreateConfig(oss2.BUCKET_STORAGE_CLASS_IA))
        # An app that calls create_bucket() at every start keeps working.
        assert b.create_bucket().status == 200
        assert b.create_bucket(oss2.BUCKET_ACL_PUBLIC_READ).status == 200
        assert b.get_bucket_acl().acl == oss2.BUCKET_ACL_PUBLIC_READ
        e = error(lambda: b.create_bucket(oss2.BUCKET_ACL_PRIVATE,
                                          oss2.models.BucketCreateConfig(oss2.BUCKET_STORAGE_CLASS_STANDARD)),
                  409, "BucketAlreadyExists")
        assert "storage class" in e.message
        # Objects put without a storage class have the bucket's.
        b.put_object("ia.txt", b"x")
        assert b.head_object("ia.txt").headers["x-oss-storage-class"] == "IA"
        listed = b.list_objects().object_list
        assert [(o.key, o.storage_class) for o in listed] == [("ia.txt", "IA")]
        b.put_object("std.txt", b"x", headers={"x-oss-storage-class": "Standard"})
        assert b.head_object("std.txt").headers["x-oss-storage-class"] == "Standard"
        error(lambda: b.put_object("bad.txt", b"x", headers={"x-oss-storage-class": "Gold"}), 400, "InvalidArgument")
    finally:
        for key in ("ia.txt", "std.txt"):
            b.delete_object(key)
        b.delete_bucket()


def test_multipart_listing_rolls_up_at_the_delimiter(bucket):
    for key in ("a", "d/1", "d/2", "e/x/1"):
        bucket.init_multipart_upload(key)
    page = bucket.list_multipart_uploads(delimiter="/")
    assert [u.key for u in page.upload_list] == ["a"]
    assert page.prefix_list == ["d/", "e/"]
    page = bucket.list_multipart_uploads(delimiter="/", prefix="e/")
    assert (page.upload_list, page.prefix_list) == ([], ["e/x/"])
    # The SDK's iterator walks pages of one entry through the markers.
    seen = [u.key for u in oss2.MultipartUploadIterator(bucket, delimiter="/", max_uploads=1)]
    assert seen == ["a", "d/", "e/"]


def test_v4_signature_for_another_region_is_refused(server, bucket):
    wrong = oss2.Bucket(oss2.ProviderAuthV4(oss2.credentials.StaticCredentialsProvider(
        server.root["AccessKeyId"], server.root["AccessKeySecret"])), server.endpoint, bucket.bucket_name,
        region="cn-beijing")
    e = error(lambda: wrong.put_object("r.txt", b"x"), 400, "InvalidArgument")
    assert e.message == "Invalid signing region in Authorization header.", e.message
    assert e.ec == "0002-00000226"
    assert not bucket.object_exists("r.txt")
    url = wrong.sign_url("GET", "r.txt", 60)
    r = requests.get(url, timeout=10)
    assert r.status_code == 400 and "Invalid signing region" in r.text, r.text


def test_cors_with_a_negative_max_age_is_an_invalid_argument(bucket):
    rule = CorsRule(allowed_origins=["*"], allowed_methods=["GET"], max_age_seconds=-1)
    e = error(lambda: bucket.put_bucket_cors(BucketCors([rule])), 400, "InvalidArgument")
    assert e.details.get("ArgumentName") == "MaxAgeSeconds", e.details


# ---- ali-oss ------------------------------------------------------------------------------
def run_alioss(server, bucket_name, steps, ak, sk, token=None, prefix="node/"):
    import os
    from helpers import run_node_script
    env = dict(os.environ, OSS_ENDPOINT=server.endpoint, OSS_BUCKET=bucket_name, OSS_AK=ak, OSS_SK=sk,
               OSS_PREFIX=prefix, OSS_STEPS=",".join(steps))
    env.pop("OSS_TOKEN", None)
    if token:
        env["OSS_TOKEN"] = token
    run_node_script("alioss_dropin_test.js", env, steps, "ali-oss")


def test_alioss_tagging(server, bucket):
    r = server.root
    run_alioss(server, bucket.bucket_name, ["tagging"], r["AccessKeyId"], r["AccessKeySecret"])
