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
    ("x-oss-callback", "eyJjYWxsYmFja1VybCI6Imh0dHA6Ly8xMjcuMC4wLjEvIn0="),
    ("x-oss-callback-var", "e30="),
    ("x-oss-traffic-limit", "819200"),
    ("x-oss-request-payer", "requester"),
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


def test_put_bucket_with_kms_encryption_is_refused(server):
    name = unique_name("enc")
    b = server.bucket(name)
    e = error(lambda: b.create_bucket(headers={"x-oss-server-side-encryption": "KMS"}), 400, "NotImplemented")
    assert "AES256" in e.message, e.message
    error(lambda: b.get_bucket_info(), 404, "NoSuchBucket")


def test_form_fields_the_store_does_not_act_on_are_refused(server, bucket):
    import base64, hashlib, hmac, json
    root = server.root
    policy = base64.b64encode(json.dumps({"expiration": "2099-01-01T00:00:00.000Z",
                                          "conditions": [["starts-with", "$key", ""]]}).encode()).decode()
    sig = base64.b64encode(hmac.new(root["AccessKeySecret"].encode(), policy.encode(), hashlib.sha1).digest()).decode()
    url = f"{server.endpoint}/{bucket.bucket_name}"
    fields = {"key": "form.txt", "OSSAccessKeyId": root["AccessKeyId"], "policy": policy, "Signature": sig,
              "x-oss-callback": "e30="}
    r = requests.post(url, data=fields, files={"file": ("f", b"x")}, timeout=10)
    assert r.status_code == 400 and "<Code>NotImplemented</Code>" in r.text, r.text
    fields.pop("x-oss-callback")
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


# ---- AppendObject -------------------------------------------------------------------------
def test_append_object_grows_with_the_sdks_crc_chaining(bucket):
    key = "logs/app.log"
    first = bucket.append_object(key, 0, b"line 1\n", init_crc=0, headers={"Content-Type": "text/plain",
                                                                           "x-oss-tagging": "kind=log"})
    assert first.next_position == 7
    second = bucket.append_object(key, first.next_position, b"line 2\n" * 1000, init_crc=first.crc,
                                  headers={"x-oss-tagging": "ignored=later"})
    assert second.next_position == 7 + 7000
    whole = b"line 1\n" + b"line 2\n" * 1000
    got = bucket.get_object(key)
    assert got.read() == whole
    assert got.headers["x-oss-object-type"] == "Appendable"
    assert got.headers["x-oss-next-append-position"] == str(len(whole))
    assert got.headers["Content-Type"] == "text/plain"
    assert int(got.headers["x-oss-hash-crc64ecma"]) == second.crc
    # Tags are the creating append's only.
    assert bucket.get_object_tagging(key).tag_set.tagging_rule == {"kind": "log"}
    # A stale position is refused with the current length, which oss2 reads from the header.
    e = error(lambda: bucket.append_object(key, 7, b"x"), 409, "PositionNotEqualToLength")
    assert e.next_position == len(whole)
    assert e.ec == "0026-00000016"
    # A wrong init_crc is caught by oss2 against the server's whole-object CRC.
    with pytest.raises(oss2.exceptions.InconsistentError):
        bucket.append_object(key, len(whole), b"y", init_crc=1)
    bucket.put_object("normal.txt", b"n")
    e = error(lambda: bucket.append_object("normal.txt", 1, b"x"), 409, "ObjectNotAppendable")
    assert e.ec == "0026-00000017"
    error(lambda: bucket.append_object("fresh", 5, b"x"), 409, "PositionNotEqualToLength")
    # A copy is a normal object of its own.
    bucket.copy_object(bucket.bucket_name, key, "copy.log")
    assert bucket.head_object("copy.log").headers["x-oss-object-type"] == "Normal"


def test_append_is_a_write_for_grant_credentials(server, bucket):
    b = server.bucket(bucket.bucket_name, auth=server.sts_auth(server.issue(alice_policy(bucket.bucket_name))))
    assert b.append_object("users/alice/a.log", 0, b"ok").next_position == 2
    error(lambda: b.append_object("users/bob/a.log", 0, b"no"), 403, "AccessDenied")


def test_alioss_append(server, bucket):
    r = server.root
    run_alioss(server, bucket.bucket_name, ["append"], r["AccessKeyId"], r["AccessKeySecret"])


def test_appends_survive_sigkill(start_server, tmp_path):
    """Appends racing a SIGKILL: after the restart the object is exactly the acknowledged appends
    (plus at most the one in flight, whole), and appending goes on from its length."""
    import threading
    import time
    data = tmp_path / "data"
    srv = start_server(data)
    b = srv.bucket("crash-append")
    b.create_bucket()
    chunk = lambda i: f"{i:08d}".encode() * 4096  # 32 KiB, distinct per append
    acked = []
    stop = threading.Event()

    def writer():
        pos, crc = 0, 0
        i = 0
        while not stop.is_set():
            try:
                r = b.append_object("log", pos, chunk(i), init_crc=crc)
            except Exception:
                return
            acked.append(i)
            pos, crc = r.next_position, r.crc
            i += 1

    t = threading.Thread(target=writer)
    t.start()
    time.sleep(1.0)
    srv.kill()
    stop.set()
    t.join(timeout=30)
    assert acked, "no append was acknowledged before the kill"
    srv = start_server(data)
    b = srv.bucket("crash-append")
    body = b.get_object("log").read()
    n = len(body) // len(chunk(0))
    assert len(body) % len(chunk(0)) == 0, "a torn append is visible"
    assert n in (len(acked), len(acked) + 1), (n, len(acked))
    assert body == b"".join(chunk(i) for i in range(n))
    head = b.head_object("log")
    r = b.append_object("log", len(body), b"after", init_crc=int(head.headers["x-oss-hash-crc64ecma"]))
    assert r.next_position == len(body) + 5
    assert b.get_object("log").read() == body + b"after"


# ---- symlinks -----------------------------------------------------------------------------
def test_symlinks_read_through_to_their_target(bucket):
    bucket.put_object("dir/target file.txt", b"hello", headers={"Content-Type": "text/plain"})
    bucket.put_symlink("dir/target file.txt", "link", headers={"x-oss-meta-note": "mine",
                                                               "Content-Type": "image/png"})
    assert bucket.get_symlink("link").target_key == "dir/target file.txt"
    got = bucket.get_object("link")
    assert got.read() == b"hello"
    # The target's length and ETag, the link's other metadata.
    assert got.headers["ETag"] == bucket.head_object("dir/target file.txt").headers["ETag"]
    assert got.headers["x-oss-meta-note"] == "mine"
    assert got.headers["Content-Type"] == "image/png"
    assert got.headers["x-oss-object-type"] == "Symlink"
    assert bucket.get_object("link", byte_range=(1, 3)).read() == b"ell"
    assert bucket.head_object("link").content_length == 5
    # Deleting the link leaves the target.
    bucket.delete_object("link")
    assert bucket.object_exists("dir/target file.txt")


def test_symlink_errors(bucket):
    bucket.put_symlink("nowhere", "dangling")
    error(lambda: bucket.get_object("dangling"), 404, "SymlinkTargetNotExist")
    bucket.put_object("t", b"x")
    bucket.put_symlink("t", "l1")
    bucket.put_symlink("l1", "l2")
    error(lambda: bucket.get_object("l2"), 400, "InvalidTargetType")
    e = error(lambda: bucket.get_symlink("t"), 400, "NotSymlink")
    assert e.ec == "0043-00000101"
    error(lambda: bucket.get_symlink("missing"), 404, "NoSuchKey")


def test_a_link_lends_no_access_to_its_target(server, bucket):
    """Alice may write links under her prefix, but reading one that points at Bob's object still
    needs read access to Bob's object."""
    bucket.put_object("users/bob/secret.txt", b"bob's")
    b = server.bucket(bucket.bucket_name, auth=server.sts_auth(server.issue(alice_policy(bucket.bucket_name))))
    b.put_symlink("users/bob/secret.txt", "users/alice/peek")
    error(lambda: b.get_object("users/alice/peek"), 403, "AccessDenied")
    b.put_object("users/alice/mine.txt", b"mine")
    b.put_symlink("users/alice/mine.txt", "users/alice/ok")
    assert b.get_object("users/alice/ok").read() == b"mine"


def test_alioss_symlink(server, bucket):
    r = server.root
    run_alioss(server, bucket.bucket_name, ["symlink"], r["AccessKeyId"], r["AccessKeySecret"])


# ---- UploadPartCopy and bucket stat -------------------------------------------------------
def test_upload_part_copy_builds_an_object_from_ranges(bucket):
    import hashlib
    src = bytes(range(256)) * 1024  # 256 KiB
    bucket.put_object("dir/src obj", src)
    up = bucket.init_multipart_upload("assembled").upload_id
    first = bucket.upload_part_copy(bucket.bucket_name, "dir/src obj", (0, 102399), "assembled", up, 1)
    assert first.etag == hashlib.md5(src[:102400]).hexdigest().upper()  # oss2 strips the quotes
    second = bucket.upload_part_copy(bucket.bucket_name, "dir/src obj", (102400, None), "assembled", up, 2)
    listed = bucket.list_parts("assembled", up).parts
    assert [(p.part_number, p.size) for p in listed] == [(1, 102400), (2, len(src) - 102400)]
    bucket.complete_multipart_upload("assembled", up, [oss2.models.PartInfo(1, first.etag),
                                                       oss2.models.PartInfo(2, second.etag)])
    assert bucket.get_object("assembled").read() == src
    # The whole object when no range is given.
    up = bucket.init_multipart_upload("copied-whole").upload_id
    whole = bucket.upload_part_copy(bucket.bucket_name, "dir/src obj", None, "copied-whole", up, 1)
    bucket.complete_multipart_upload("copied-whole", up, [oss2.models.PartInfo(1, whole.etag)])
    assert bucket.get_object("copied-whole").read() == src
    up = bucket.init_multipart_upload("bad").upload_id
    e = error(lambda: bucket.upload_part_copy(bucket.bucket_name, "dir/src obj", (0, len(src)), "bad", up, 1),
              400, "InvalidArgument")
    assert e.ec == "0042-00000306"
    error(lambda: bucket.upload_part_copy(bucket.bucket_name, "missing", None, "bad", up, 1), 404, "NoSuchKey")
    error(lambda: bucket.upload_part_copy(bucket.bucket_name, "dir/src obj", None, "bad", "0" * 32, 1), 404,
          "NoSuchUpload")


def test_upload_part_copy_needs_read_access_to_the_source(server, bucket):
    bucket.put_object("users/bob/big", b"b" * 1000)
    b = server.bucket(bucket.bucket_name, auth=server.sts_auth(server.issue(alice_policy(bucket.bucket_name))))
    up = b.init_multipart_upload("users/alice/copy").upload_id
    error(lambda: b.upload_part_copy(bucket.bucket_name, "users/bob/big", None, "users/alice/copy", up, 1),
          403, "AccessDenied")


def test_bucket_stat_counts_what_the_bucket_holds(bucket):
    bucket.put_object("a", b"x" * 10)
    bucket.put_object("b", b"y" * 5, headers={"x-oss-storage-class": "IA"})
    bucket.init_multipart_upload("c")
    stat = bucket.get_bucket_stat()
    assert (stat.storage_size_in_bytes, stat.object_count, stat.multi_part_upload_count) == (15, 2, 1)
    assert (stat.standard_storage, stat.standard_object_count) == (10, 1)
    assert (stat.infrequent_access_storage, stat.infrequent_access_object_count) == (5, 1)
    assert stat.last_modified_time > 0


def test_alioss_upload_part_copy(server, bucket):
    r = server.root
    run_alioss(server, bucket.bucket_name, ["uploadPartCopy"], r["AccessKeyId"], r["AccessKeySecret"])


# ---- lifecycle ----------------------------------------------------------------------------
def lifecycle_rules():
    from oss2.models import (AbortMultipartUpload, BucketLifecycle, LifecycleExpiration, LifecycleRule,
                             StorageTransition)
    return BucketLifecycle([
        LifecycleRule("logs", "logs/", status=LifecycleRule.ENABLED, expiration=LifecycleExpiration(days=30)),
        LifecycleRule("tmp", "tmp/", status=LifecycleRule.ENABLED, expiration=LifecycleExpiration(days=1),
                      tagging=tagging(temp="yes")),
        LifecycleRule("cold", "data/", status=LifecycleRule.ENABLED,
                      storage_transitions=[StorageTransition(days=10, storage_class=oss2.BUCKET_STORAGE_CLASS_IA)]),
        LifecycleRule("uploads", "uploads/", status=LifecycleRule.ENABLED,
                      abort_multipart_upload=AbortMultipartUpload(days=7)),
        LifecycleRule("off", "off/", status=LifecycleRule.DISABLED, expiration=LifecycleExpiration(days=1)),
    ])


def test_lifecycle_rules_round_trip_and_are_checked(bucket):
    from oss2.models import BucketLifecycle, LifecycleExpiration, LifecycleRule
    error(lambda: bucket.get_bucket_lifecycle(), 404, "NoSuchLifecycle")
    bucket.put_bucket_lifecycle(lifecycle_rules())
    got = {r.id: r for r in bucket.get_bucket_lifecycle().rules}
    assert set(got) == {"logs", "tmp", "cold", "uploads", "off"}
    assert (got["logs"].prefix, got["logs"].status, got["logs"].expiration.days) == ("logs/", "Enabled", 30)
    assert got["tmp"].tagging.tag_set.tagging_rule == {"temp": "yes"}
    assert got["cold"].storage_transitions[0].storage_class == "IA"
    assert got["uploads"].abort_multipart_upload.days == 7
    assert got["off"].status == "Disabled"
    # Overlapping prefixes with the same action are refused unless the client allows it.
    overlapping = BucketLifecycle([
        LifecycleRule("a", "x/", status=LifecycleRule.ENABLED, expiration=LifecycleExpiration(days=1)),
        LifecycleRule("b", "x/y/", status=LifecycleRule.ENABLED, expiration=LifecycleExpiration(days=2))])
    e = error(lambda: bucket.put_bucket_lifecycle(overlapping), 400, "InvalidRequest")
    assert e.message == "Overlap for same action type Expiration.", e.message
    bucket.put_bucket_lifecycle(overlapping, headers={"x-oss-allow-same-action-overlap": "true"})
    bad = BucketLifecycle([LifecycleRule("z", "z/", status=LifecycleRule.ENABLED,
                                         expiration=LifecycleExpiration(days=0))])
    error(lambda: bucket.put_bucket_lifecycle(bad), 400, "InvalidArgument")
    assert bucket.delete_bucket_lifecycle().status == 204
    assert bucket.delete_bucket_lifecycle().status == 204
    error(lambda: bucket.get_bucket_lifecycle(), 404, "NoSuchLifecycle")


def test_lifecycle_is_a_bucket_setting_grant_credentials_cannot_change(server, bucket):
    b = server.bucket(bucket.bucket_name, auth=server.sts_auth(server.issue(alice_policy(bucket.bucket_name))))
    error(lambda: b.put_bucket_lifecycle(lifecycle_rules()), 403, "AccessDenied")


def test_the_sweeper_applies_the_rules_at_a_chosen_time(start_server, tmp_path):
    """Rules set through oss2; the server stopped; `stsgate bucket sweep --at` 31 days on; the
    server started again: exactly the covered, due objects and uploads are gone."""
    import datetime
    import subprocess
    from conftest import stsgate_bin
    data = tmp_path / "data"
    srv = start_server(data)
    b = srv.bucket("sweep-test")
    b.create_bucket()
    for key in ("logs/old", "tmp/tagged", "tmp/plain", "data/cold", "keep/me", "off/x"):
        b.put_object(key, key.encode(), headers={"x-oss-tagging": "temp=yes"} if key == "tmp/tagged" else None)
    old_upload = b.init_multipart_upload("uploads/big").upload_id
    b.put_bucket_lifecycle(lifecycle_rules())
    srv.stop()
    at = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=31)).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = subprocess.run([stsgate_bin(), "bucket", "sweep", "--data", str(data), "--at", at],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "expired sweep-test/logs/old" in out.stdout and "expired sweep-test/tmp/tagged" in out.stdout, out.stdout
    assert f"aborted upload {old_upload} of sweep-test/uploads/big" in out.stdout, out.stdout
    srv = start_server(data)
    b = srv.bucket("sweep-test")
    left = sorted(o.key for o in oss2.ObjectIterator(b))
    assert left == ["data/cold", "keep/me", "off/x", "tmp/plain"], left
    assert b.head_object("data/cold").headers["x-oss-storage-class"] == "IA"
    assert b.list_multipart_uploads().upload_list == []
    # Written now: 29 days on it is not yet 30 days old, so it stays; 31 days on it goes.
    b.put_object("logs/new", b"new")
    srv.stop()
    day29 = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=29)).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = subprocess.run([stsgate_bin(), "bucket", "sweep", "--data", str(data), "--at", day29],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "logs/new" not in out.stdout, out.stdout
    out = subprocess.run([stsgate_bin(), "bucket", "sweep", "--data", str(data), "--at", at],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "expired sweep-test/logs/new" in out.stdout, out.stdout


def test_alioss_lifecycle(server, bucket):
    r = server.root
    run_alioss(server, bucket.bucket_name, ["lifecycle"], r["AccessKeyId"], r["AccessKeySecret"])


# ---- server-side encryption ---------------------------------------------------------------
MARKER = b"SSE-PLAINTEXT-MARKER-7f3a9c"


def test_aes256_objects_are_sealed_at_rest_and_need_the_master_key(start_server, tmp_path):
    import shutil
    from oss2.models import ServerSideEncryptionRule
    data = tmp_path / "data"
    srv = start_server(data)
    b = srv.bucket("sse-test")
    b.create_bucket()
    big = (MARKER + bytes(range(256)) * 4) * 300  # ~300 KiB, streamed and decrypted by chunks
    r = b.put_object("big", big, headers={"x-oss-server-side-encryption": "AES256"})
    assert r.headers["x-oss-server-side-encryption"] == "AES256"
    b.put_object("small", MARKER + b" small", headers={"x-oss-server-side-encryption": "AES256"})
    got = b.get_object("big")
    assert got.read() == big and got.headers["x-oss-server-side-encryption"] == "AES256"
    assert b.get_object("big", byte_range=(70000, 140000)).read() == big[70000:140001]
    assert b.head_object("small").headers["x-oss-server-side-encryption"] == "AES256"
    # Unknown algorithms and KMS are refused, not ignored.
    error(lambda: b.put_object("x", b"x", headers={"x-oss-server-side-encryption": "DES"}), 400,
          "InvalidEncryptionAlgorithmError")
    error(lambda: b.put_object("x", b"x", headers={"x-oss-server-side-encryption": "KMS"}), 400, "NotImplemented")
    # A bucket default seals what is written without asking, multipart too.
    error(lambda: b.get_bucket_encryption(), 404, "NoSuchServerSideEncryptionRule")
    b.put_bucket_encryption(ServerSideEncryptionRule(oss2.SERVER_SIDE_ENCRYPTION_AES256))
    assert b.get_bucket_encryption().sse_algorithm == "AES256"
    assert b.get_bucket_info().bucket_encryption_rule.sse_algorithm == "AES256"
    b.put_object("default", MARKER * 10)
    assert b.head_object("default").headers["x-oss-server-side-encryption"] == "AES256"
    up = b.init_multipart_upload("mp")
    assert up.headers["x-oss-server-side-encryption"] == "AES256"
    e = error(lambda: b.upload_part("mp", up.upload_id, 1, MARKER, headers={"x-oss-server-side-encryption": "AES256"}),
              400, "InvalidArgument")
    part = b.upload_part("mp", up.upload_id, 1, MARKER * 2)
    done = b.complete_multipart_upload("mp", up.upload_id, [oss2.models.PartInfo(1, part.etag)])
    assert done.headers["x-oss-server-side-encryption"] == "AES256"
    assert b.get_object("mp").read() == MARKER * 2
    # Appendable objects are never sealed: refused in a bucket with default encryption.
    error(lambda: b.append_object("log", 0, b"x"), 400, "NotImplemented")
    b.copy_object("sse-test", "big", "big-copy")
    assert b.get_object("big-copy").read() == big
    assert b.delete_bucket_encryption().status == 204
    srv.stop()
    # Nothing under blobs/ holds the plaintext (multipart parts are gone once completed).
    for f in (data / "store" / "blobs").rglob("*"):
        if f.is_file():
            assert MARKER not in f.read_bytes(), f
    # The same store under another master key cannot be read.
    other = tmp_path / "other"
    start_server(other).stop()
    shutil.rmtree(other / "store")
    shutil.copytree(data / "store", other / "store")
    srv = start_server(other)
    b2 = oss2.Bucket(srv.root_auth(), srv.endpoint, "sse-test", region=REGION)
    with pytest.raises(oss2.exceptions.OssError) as ei:
        b2.get_object("small").read()
    assert ei.value.status == 500 and MARKER not in (ei.value.body or b""), ei.value
    srv.stop()
    srv = start_server(data)
    assert srv.bucket("sse-test").get_object("big").read() == big


def test_alioss_encryption(server, bucket):
    r = server.root
    run_alioss(server, bucket.bucket_name, ["encryption"], r["AccessKeyId"], r["AccessKeySecret"])


# ---- bucket policy and referer ------------------------------------------------------------
def test_bucket_policy_grants_and_denies_by_principal(server, bucket):
    import json
    name = bucket.bucket_name
    bucket.put_object("public/a.txt", b"for everyone")
    bucket.put_object("public/secret.txt", b"not for anyone")
    bucket.put_object("private/b.txt", b"owner only")
    url = f"{server.endpoint}/{name}/public/a.txt"
    assert requests.get(url, timeout=10).status_code == 403
    error(lambda: bucket.get_bucket_policy(), 404, "NoSuchBucketPolicy")
    policy = {"Version": "1", "Statement": [
        {"Effect": "Allow", "Principal": ["*"], "Action": ["oss:GetObject"],
         "Resource": [f"acs:oss:*:*:{name}/public/*"]},
        {"Effect": "Deny", "Principal": ["*"], "Action": ["oss:GetObject"],
         "Resource": [f"acs:oss:*:*:{name}/public/secret.txt"]}]}
    text = json.dumps(policy)
    assert bucket.put_bucket_policy(text).status == 200
    assert json.loads(bucket.get_bucket_policy().policy) == policy
    # Anonymous: allowed by Principal "*", except where a Deny says otherwise.
    r = requests.get(url, timeout=10)
    assert r.status_code == 200 and r.content == b"for everyone"
    assert requests.get(f"{server.endpoint}/{name}/public/secret.txt", timeout=10).status_code == 403
    assert requests.get(f"{server.endpoint}/{name}/private/b.txt", timeout=10).status_code == 403
    # Temporary credentials whose own policy allows the secret are still stopped by the Deny.
    b = server.bucket(name, auth=server.sts_auth(server.issue({"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": ["oss:GetObject"], "Resource": [f"acs:oss:*:*:{name}/*"]}]})))
    assert b.get_object("private/b.txt").read() == b"owner only"
    error(lambda: b.get_object("public/secret.txt"), 403, "AccessDenied")
    # The owner is not bound by it.
    assert bucket.get_object("public/secret.txt").read() == b"not for anyone"
    # Grammar errors are InvalidPolicyDocument.
    for bad in ('{"Version":"2","Statement":[]}', "not json",
                json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Action": ["oss:GetObject"],
                                                           "Resource": ["*"]}]})):
        error(lambda: bucket.put_bucket_policy(bad), 400, "InvalidPolicyDocument")
    assert bucket.delete_bucket_policy().status == 204
    assert requests.get(url, timeout=10).status_code == 403


def test_bucket_policy_is_a_bucket_setting_grant_credentials_cannot_change(server, bucket):
    b = server.bucket(bucket.bucket_name, auth=server.sts_auth(server.issue(alice_policy(bucket.bucket_name))))
    error(lambda: b.put_bucket_policy('{"Version":"1","Statement":[]}'), 403, "AccessDenied")
    error(lambda: b.put_bucket_referer(oss2.models.BucketReferer(True, [])), 403, "AccessDenied")


def test_referer_lists_guard_anonymous_and_presigned_reads(server, bucket):
    from oss2.models import BucketReferer
    bucket.put_object("pic.png", b"png")
    bucket.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ)
    cfg = bucket.get_bucket_referer()
    assert cfg.allow_empty_referer is True and cfg.referers == []
    # A pattern matches the whole Referer: `*` any run, `?` one character.
    bucket.put_bucket_referer(BucketReferer(False, ["https://*.example.com/*", "https://app.test/page?"]))
    cfg = bucket.get_bucket_referer()
    assert (cfg.allow_empty_referer, cfg.referers) == (False, ["https://*.example.com/*", "https://app.test/page?"])
    url = f"{server.endpoint}/{bucket.bucket_name}/pic.png"
    ok = requests.get(url, headers={"Referer": "https://www.example.com/gallery?x=1"}, timeout=10)
    assert ok.status_code == 200 and ok.content == b"png"
    assert requests.get(url, headers={"Referer": "https://app.test/page1"}, timeout=10).status_code == 200
    for referer, ec in ((None, "0003-00000501"), ("https://evil.test/", "0003-00000503"),
                        ("https://app.test/page12", "0003-00000503")):
        r = requests.get(url, headers={"Referer": referer} if referer else {}, timeout=10)
        assert r.status_code == 403 and "You are denied by bucket referer policy." in r.text, r.text
        assert r.headers["x-oss-ec"] == ec
    signed = bucket.sign_url("GET", "pic.png", 60)
    assert requests.get(signed, timeout=10).status_code == 403
    assert requests.get(signed, headers={"Referer": "https://a.example.com/"}, timeout=10).status_code == 200
    # Requests signed in the header are not held to it.
    assert bucket.get_object("pic.png").read() == b"png"
    bucket.put_bucket_referer(BucketReferer(True, []))
    assert requests.get(url, timeout=10).status_code == 200


def test_alioss_policy_and_referer(server, bucket):
    r = server.root
    run_alioss(server, bucket.bucket_name, ["policy", "referer", "stat"], r["AccessKeyId"], r["AccessKeySecret"])


def test_tag_conditions_in_ram_policies(server, bucket):
    """oss:ExistingObjectTag/<k> on reads, oss:RequestObjectTag/<k> on tag writes."""
    name = bucket.bucket_name
    bucket.put_object("ok.txt", b"ok", headers={"x-oss-tagging": "status=ok"})
    bucket.put_object("draft.txt", b"draft", headers={"x-oss-tagging": "status=draft"})
    policy = {"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": ["oss:GetObject"], "Resource": [f"acs:oss:*:*:{name}/*"],
         "Condition": {"StringEquals": {"oss:ExistingObjectTag/status": "ok"}}},
        {"Effect": "Allow", "Action": ["oss:PutObjectTagging"], "Resource": [f"acs:oss:*:*:{name}/*"],
         "Condition": {"StringEquals": {"oss:RequestObjectTag/allow": "yes"}}}]}
    b = server.bucket(name, auth=server.sts_auth(server.issue(policy)))
    assert b.get_object("ok.txt").read() == b"ok"
    error(lambda: b.get_object("draft.txt"), 403, "AccessDenied")
    b.put_object_tagging("draft.txt", tagging(allow="yes"))
    assert bucket.get_object_tagging("draft.txt").tag_set.tagging_rule == {"allow": "yes"}
    error(lambda: b.put_object_tagging("draft.txt", tagging(allow="no")), 403, "AccessDenied")
    assert bucket.get_object_tagging("draft.txt").tag_set.tagging_rule == {"allow": "yes"}


# ---- what a grant's credentials may do ----------------------------------------------------
def test_grant_credentials_write_tags_and_appends_but_no_bucket_settings(server):
    """Credentials from the default user-folder grant (read, write, list, delete under
    users/<sub>/): tagging and appending in the prefix are writes they may do; outside it they
    may not; lifecycle, encryption, policy and referer are bucket settings they may never change."""
    import uuid
    from oss2.models import (BucketLifecycle, BucketReferer, LifecycleExpiration, LifecycleRule,
                             ServerSideEncryptionRule)
    sub = f"gina-{uuid.uuid4().hex[:8]}"
    r = requests.get(f"{server.api_endpoint}/v1/credentials", params={"grant": "user-folder"},
                     headers={"Authorization": f"Bearer {server.token(sub)}"}, timeout=30)
    assert r.status_code == 200, r.text
    c = r.json()
    b = oss2.Bucket(oss2.StsAuth(c["AccessKeyId"], c["AccessKeySecret"], c["SecurityToken"]),
                    server.endpoint, "app", region=REGION)
    mine = f"users/{sub}/"
    b.put_object(mine + "t.txt", b"x", headers={"x-oss-tagging": "a=1"})
    b.put_object_tagging(mine + "t.txt", tagging(b="2"))
    assert b.get_object_tagging(mine + "t.txt").tag_set.tagging_rule == {"b": "2"}
    b.delete_object_tagging(mine + "t.txt")
    assert b.append_object(mine + "log", 0, b"one").next_position == 3
    b.put_symlink(mine + "t.txt", mine + "link")
    assert b.get_object(mine + "link").read() == b"x"
    other = "users/someone-else/x.txt"
    error(lambda: b.put_object(other, b"x", headers={"x-oss-tagging": "a=1"}), 403, "AccessDenied")
    error(lambda: b.append_object(other, 0, b"x"), 403, "AccessDenied")
    error(lambda: b.put_object_tagging(other, tagging(a="1")), 403, "AccessDenied")
    rules = BucketLifecycle([LifecycleRule("x", mine, status=LifecycleRule.ENABLED,
                                           expiration=LifecycleExpiration(days=1))])
    for call in (lambda: b.put_bucket_lifecycle(rules),
                 lambda: b.delete_bucket_lifecycle(),
                 lambda: b.put_bucket_encryption(ServerSideEncryptionRule(oss2.SERVER_SIDE_ENCRYPTION_AES256)),
                 lambda: b.delete_bucket_encryption(),
                 lambda: b.put_bucket_policy('{"Version":"1","Statement":[]}'),
                 lambda: b.delete_bucket_policy(),
                 lambda: b.put_bucket_referer(BucketReferer(True, []))):
        error(call, 403, "AccessDenied")


def test_a_grant_naming_settings_may_change_its_buckets_settings_never_its_acl(start_server, tmp_path):
    """A grant whose actions name `settings`: its credentials put, read and delete lifecycle,
    encryption, policy, referer and CORS on the grant's bucket, never on another, and still
    never the bucket's ACL nor delete the bucket."""
    import uuid
    from oss2.models import (BucketLifecycle, BucketReferer, LifecycleExpiration, LifecycleRule,
                             ServerSideEncryptionRule)
    config = tmp_path / "settings.toml"
    config.write_text(
        '[[grant]]\nname = "bucket-admin"\nbucket = "app"\nprefix = "admin/${sub}/"\n'
        'actions = ["read", "write", "list", "settings"]\n')
    srv = start_server(tmp_path / "data", args=["--config", str(config)])
    srv.bucket("elsewhere").create_bucket()
    sub = f"ada-{uuid.uuid4().hex[:8]}"
    r = requests.get(f"{srv.api_endpoint}/v1/credentials", params={"grant": "bucket-admin"},
                     headers={"Authorization": f"Bearer {srv.token(sub)}"}, timeout=30)
    assert r.status_code == 200, r.text
    c = r.json()
    auth = oss2.StsAuth(c["AccessKeyId"], c["AccessKeySecret"], c["SecurityToken"])
    b = oss2.Bucket(auth, srv.endpoint, "app", region=REGION)
    rules = BucketLifecycle([LifecycleRule("tmp", "tmp/", status=LifecycleRule.ENABLED,
                                           expiration=LifecycleExpiration(days=1))])
    b.put_bucket_lifecycle(rules)
    assert [r.id for r in b.get_bucket_lifecycle().rules] == ["tmp"]
    b.put_bucket_encryption(ServerSideEncryptionRule(oss2.SERVER_SIDE_ENCRYPTION_AES256))
    assert b.get_bucket_encryption().sse_algorithm == "AES256"
    b.put_bucket_referer(BucketReferer(False, ["https://app.example.com/*"]))
    assert b.get_bucket_referer().referers == ["https://app.example.com/*"]
    b.put_bucket_cors(BucketCors([CorsRule(allowed_origins=["https://app.example.com"],
                                           allowed_methods=["GET"])]))
    assert b.get_bucket_cors().rules[0].allowed_origins == ["https://app.example.com"]
    policy = ('{"Version":"1","Statement":[{"Effect":"Allow","Action":["oss:GetObject"],'
              '"Principal":["*"],"Resource":["acs:oss:*:*:app/pub/*"]}]}')
    b.put_bucket_policy(policy)
    assert "pub/" in b.get_bucket_policy().policy
    # Objects written now are sealed by the bucket's default: the owner's view agrees.
    key = f"admin/{sub}/x.txt"
    b.put_object(key, b"sealed")
    assert srv.bucket("app").head_object(key).headers.get("x-oss-server-side-encryption") == "AES256"
    for call in (b.delete_bucket_lifecycle, b.delete_bucket_encryption, b.delete_bucket_policy,
                 b.delete_bucket_cors):
        assert call().status == 204
    error(lambda: b.put_bucket_acl(oss2.BUCKET_ACL_PUBLIC_READ), 403, "AccessDenied")
    error(lambda: b.delete_bucket(), 403, "AccessDenied")
    other = oss2.Bucket(auth, srv.endpoint, "elsewhere", region=REGION)
    error(lambda: other.put_bucket_lifecycle(rules), 403, "AccessDenied")
    error(lambda: other.put_bucket_policy(policy), 403, "AccessDenied")
    assert srv.bucket("app").get_bucket_acl().acl == oss2.BUCKET_ACL_PRIVATE


def test_a_range_on_a_plain_copy_is_refused_not_ignored(bucket):
    bucket.put_object("src.txt", b"0123456789")
    e = error(lambda: bucket.copy_object(bucket.bucket_name, "src.txt", "dst.txt",
                                         headers={"x-oss-copy-source-range": "bytes=0-4"}), 400, "InvalidArgument")
    assert "UploadPartCopy" in e.message, e.message
    error(lambda: bucket.head_object("dst.txt"), 404, "NoSuchKey")
