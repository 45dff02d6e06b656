"""Issue 15 on the cos face: the store's newer operations in COS's dialect, driven by the real
cos-python-sdk-v5: object tagging (`x-cos-tagging`, Put/Get/DeleteObjectTagging,
`x-cos-tagging-count`), SSE-COS (`x-cos-server-side-encryption: AES256`), APPEND Object and
Upload Part - Copy; grant credentials may do them only under their prefix."""

import hashlib
import os
import uuid

import pytest
import requests
from qcloud_cos import CosServiceError

from cos_helpers import REGION, cos_client
from test_cos import cos, cos_bucket  # noqa: F401 (the same fixtures)

MIB = 1024 * 1024


def refused(call, status, code):
    with pytest.raises(CosServiceError) as e:
        call()
    got = (e.value.get_status_code(), e.value.get_error_code())
    assert got == (status, code), (got, e.value.get_error_msg())
    return e.value


def tags_of(cos, bucket, key):
    got = cos.get_object_tagging(Bucket=bucket, Key=key)
    return {t["Key"]: t["Value"] for t in (got.get("TagSet") or {}).get("Tag", [])}


def test_tags_are_put_read_counted_copied_and_deleted(cos, cos_bucket):
    cos.put_object(Bucket=cos_bucket, Key="t.txt", Body=b"x", Metadata={"x-cos-tagging": "a=1&b=two%20words"})
    assert tags_of(cos, cos_bucket, "t.txt") == {"a": "1", "b": "two words"}
    assert cos.head_object(Bucket=cos_bucket, Key="t.txt")["x-cos-tagging-count"] == "2"
    cos.put_object_tagging(Bucket=cos_bucket, Key="t.txt",
                           Tagging={"TagSet": {"Tag": [{"Key": "k", "Value": "v"}]}})
    assert tags_of(cos, cos_bucket, "t.txt") == {"k": "v"}
    source = {"Bucket": cos_bucket, "Key": "t.txt", "Region": REGION}
    cos.copy_object(Bucket=cos_bucket, Key="copied.txt", CopySource=source)
    assert tags_of(cos, cos_bucket, "copied.txt") == {"k": "v"}
    cos.copy_object(Bucket=cos_bucket, Key="replaced.txt", CopySource=source,
                    Metadata={"x-cos-tagging": "n=1", "x-cos-tagging-directive": "Replaced"})
    assert tags_of(cos, cos_bucket, "replaced.txt") == {"n": "1"}
    cos.delete_object_tagging(Bucket=cos_bucket, Key="t.txt")
    assert tags_of(cos, cos_bucket, "t.txt") == {}
    assert "x-cos-tagging-count" not in cos.head_object(Bucket=cos_bucket, Key="t.txt")
    # The limits: 10 tags, nothing written.
    many = "&".join(f"k{i}=v" for i in range(11))
    refused(lambda: cos.put_object(Bucket=cos_bucket, Key="many.txt", Body=b"x",
                                   Metadata={"x-cos-tagging": many}), 400, "InvalidTag")
    refused(lambda: cos.head_object(Bucket=cos_bucket, Key="many.txt"), 404, "NoSuchResource")
    refused(lambda: cos.get_object_tagging(Bucket=cos_bucket, Key="absent"), 404, "NoSuchKey")


def test_sse_cos_objects_are_sealed_and_say_so(cos, cos_bucket):
    put = cos.put_object(Bucket=cos_bucket, Key="s.bin", Body=b"secret bytes", ServerSideEncryption="AES256")
    assert put["x-cos-server-side-encryption"] == "AES256"
    head = cos.head_object(Bucket=cos_bucket, Key="s.bin")
    assert head["x-cos-server-side-encryption"] == "AES256"
    got = cos.get_object(Bucket=cos_bucket, Key="s.bin")
    assert got["x-cos-server-side-encryption"] == "AES256"
    assert got["Body"].get_raw_stream().read() == b"secret bytes"
    assert "x-cos-server-side-encryption" not in cos.put_object(Bucket=cos_bucket, Key="plain", Body=b"p")
    # Multipart: the upload says so, and so does the object.
    up = cos.create_multipart_upload(Bucket=cos_bucket, Key="mp.bin", ServerSideEncryption="AES256")
    part = cos.upload_part(Bucket=cos_bucket, Key="mp.bin", Body=b"m" * 10, PartNumber=1, UploadId=up["UploadId"])
    cos.complete_multipart_upload(Bucket=cos_bucket, Key="mp.bin", UploadId=up["UploadId"],
                                  MultipartUpload={"Part": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert cos.head_object(Bucket=cos_bucket, Key="mp.bin")["x-cos-server-side-encryption"] == "AES256"
    refused(lambda: cos.put_object(Bucket=cos_bucket, Key="k.bin", Body=b"x", ServerSideEncryption="cos/kms"),
            400, "NotImplemented")
    refused(lambda: cos.put_object(Bucket=cos_bucket, Key="k.bin", Body=b"x", ServerSideEncryption="DES"),
            400, "InvalidArgument")


def test_append_object_grows_and_checks_the_position(cos, cos_bucket):
    first = cos.append_object(Bucket=cos_bucket, Key="log.txt", Position=0, Data=b"one ")
    assert first["x-cos-next-append-position"] == "4"
    second = cos.append_object(Bucket=cos_bucket, Key="log.txt", Position=4, Data=b"two")
    assert second["x-cos-next-append-position"] == "7"
    head = cos.head_object(Bucket=cos_bucket, Key="log.txt")
    assert (head["x-cos-object-type"], head["x-cos-next-append-position"]) == ("appendable", "7")
    assert cos.get_object(Bucket=cos_bucket, Key="log.txt")["Body"].get_raw_stream().read() == b"one two"
    refused(lambda: cos.append_object(Bucket=cos_bucket, Key="log.txt", Position=3, Data=b"x"),
            409, "PositionNotEqualToLength")
    cos.put_object(Bucket=cos_bucket, Key="normal.txt", Body=b"n")
    refused(lambda: cos.append_object(Bucket=cos_bucket, Key="normal.txt", Position=1, Data=b"x"),
            409, "ObjectNotAppendable")
    # A PUT over an appendable object makes it normal again.
    cos.put_object(Bucket=cos_bucket, Key="log.txt", Body=b"reset")
    assert cos.head_object(Bucket=cos_bucket, Key="log.txt")["x-cos-object-type"] == "normal"


def test_upload_part_copy_builds_an_object_from_ranges(cos, cos_bucket):
    data = os.urandom(2 * MIB + 100)
    cos.put_object(Bucket=cos_bucket, Key="src.bin", Body=data)
    source = {"Bucket": cos_bucket, "Key": "src.bin", "Region": REGION}
    up = cos.create_multipart_upload(Bucket=cos_bucket, Key="dst.bin")["UploadId"]
    p1 = cos.upload_part_copy(Bucket=cos_bucket, Key="dst.bin", PartNumber=1, UploadId=up,
                              CopySource=source, CopySourceRange=f"bytes=0-{MIB - 1}")
    assert p1["ETag"] == '"%s"' % hashlib.md5(data[:MIB]).hexdigest()
    p2 = cos.upload_part_copy(Bucket=cos_bucket, Key="dst.bin", PartNumber=2, UploadId=up,
                              CopySource=source, CopySourceRange=f"bytes={MIB}-{len(data) - 1}")
    refused(lambda: cos.upload_part_copy(Bucket=cos_bucket, Key="dst.bin", PartNumber=3, UploadId=up,
                                         CopySource=source, CopySourceRange=f"bytes=0-{len(data)}"),
            400, "InvalidArgument")
    cos.complete_multipart_upload(Bucket=cos_bucket, Key="dst.bin", UploadId=up, MultipartUpload={"Part": [
        {"PartNumber": 1, "ETag": p1["ETag"]}, {"PartNumber": 2, "ETag": p2["ETag"]}]})
    assert cos.get_object(Bucket=cos_bucket, Key="dst.bin")["Body"].get_raw_stream().read() == data
    # A range on a plain copy is refused, never ignored.
    refused(lambda: cos.copy_object(Bucket=cos_bucket, Key="ranged.bin", CopySource=source,
                                    Metadata={"x-cos-copy-source-range": "bytes=0-9"}), 400, "InvalidArgument")
    # No range: the whole source.
    up = cos.create_multipart_upload(Bucket=cos_bucket, Key="whole.bin")["UploadId"]
    whole = cos.upload_part_copy(Bucket=cos_bucket, Key="whole.bin", PartNumber=1, UploadId=up,
                                 CopySource=source)
    assert whole["ETag"] == '"%s"' % hashlib.md5(data).hexdigest()
    cos.abort_multipart_upload(Bucket=cos_bucket, Key="whole.bin", UploadId=up)


def test_grant_credentials_tag_and_append_only_under_their_prefix(server, cos):
    sub = f"gil-{uuid.uuid4().hex[:8]}"
    r = requests.get(f"{server.api_endpoint}/v1/credentials", params={"grant": "cos-folder"},
                     headers={"Authorization": f"Bearer {server.token(sub)}"}, timeout=30)
    assert r.status_code == 200, r.text
    c = r.json()
    if "TmpSecretId" in c:
        creds = {"SecretId": c["TmpSecretId"], "SecretKey": c["TmpSecretKey"], "Token": c["Token"]}
    else:
        creds = {"SecretId": c["AccessKeyId"], "SecretKey": c["AccessKeySecret"], "Token": c["SecurityToken"]}
    bucket = f"app-{server.tencent['AppId']}"
    mine = cos_client(server, creds)
    key = f"users/{sub}/t.txt"
    mine.put_object(Bucket=bucket, Key=key, Body=b"x", Metadata={"x-cos-tagging": "a=1"})
    mine.put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": {"Tag": [{"Key": "b", "Value": "2"}]}})
    assert tags_of(mine, bucket, key) == {"b": "2"}
    mine.delete_object_tagging(Bucket=bucket, Key=key)
    assert mine.append_object(Bucket=bucket, Key=f"users/{sub}/log", Position=0, Data=b"abc")[
        "x-cos-next-append-position"] == "3"
    other = "users/someone-else/x.txt"
    cos.put_object(Bucket=bucket, Key=other, Body=b"theirs")
    for call in (lambda: mine.put_object(Bucket=bucket, Key=other, Body=b"x", Metadata={"x-cos-tagging": "a=1"}),
                 lambda: mine.put_object_tagging(Bucket=bucket, Key=other,
                                                 Tagging={"TagSet": {"Tag": [{"Key": "a", "Value": "1"}]}}),
                 lambda: mine.get_object_tagging(Bucket=bucket, Key=other),
                 lambda: mine.append_object(Bucket=bucket, Key="users/someone-else/log", Position=0, Data=b"x")):
        refused(call, 403, "AccessDenied")
    assert tags_of(cos, bucket, other) == {}


def test_lifecycle_rules_in_cos_words(cos, cos_bucket):
    refused(lambda: cos.get_bucket_lifecycle(Bucket=cos_bucket), 404, "NoSuchLifecycleConfiguration")
    cos.put_bucket_lifecycle(Bucket=cos_bucket, LifecycleConfiguration={"Rule": [
        {"ID": "logs", "Filter": {"Prefix": "logs/"}, "Status": "Enabled",
         "Transition": [{"Days": 30, "StorageClass": "STANDARD_IA"}], "Expiration": {"Days": 365}},
        {"ID": "uploads", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled",
         "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}]})
    got = {r["ID"]: r for r in cos.get_bucket_lifecycle(Bucket=cos_bucket)["Rule"]}
    assert got["logs"]["Filter"]["Prefix"] == "logs/"
    assert got["logs"]["Expiration"]["Days"] == "365"
    assert got["uploads"]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == "7"
    refused(lambda: cos.put_bucket_lifecycle(Bucket=cos_bucket, LifecycleConfiguration={"Rule": [
        {"ID": "x", "Filter": {"Prefix": "x/"}, "Status": "Enabled", "Expiration": {"Days": 0}}]}),
        400, "InvalidArgument")
    cos.delete_bucket_lifecycle(Bucket=cos_bucket)
    refused(lambda: cos.get_bucket_lifecycle(Bucket=cos_bucket), 404, "NoSuchLifecycleConfiguration")


def test_bucket_encryption_seals_what_is_written_after_it(cos, cos_bucket):
    refused(lambda: cos.get_bucket_encryption(Bucket=cos_bucket), 404, "NoSuchEncryptionConfiguration")
    cos.put_object(Bucket=cos_bucket, Key="before", Body=b"b")
    cos.put_bucket_encryption(Bucket=cos_bucket, ServerSideEncryptionConfiguration={
        "Rule": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    got = cos.get_bucket_encryption(Bucket=cos_bucket)
    assert got["Rule"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256", got
    put = cos.put_object(Bucket=cos_bucket, Key="after", Body=b"a")
    assert put["x-cos-server-side-encryption"] == "AES256"
    assert "x-cos-server-side-encryption" not in cos.head_object(Bucket=cos_bucket, Key="before")
    refused(lambda: cos.append_object(Bucket=cos_bucket, Key="log", Position=0, Data=b"x"), 400, "NotImplemented")
    refused(lambda: cos.put_bucket_encryption(Bucket=cos_bucket, ServerSideEncryptionConfiguration={
        "Rule": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "KMS"}}]}), 400, "NotImplemented")
    cos.delete_bucket_encryption(Bucket=cos_bucket)
    refused(lambda: cos.get_bucket_encryption(Bucket=cos_bucket), 404, "NoSuchEncryptionConfiguration")


def test_a_public_bucket_with_an_oss_bucket_policy_is_not_public_on_the_cos_face(server, cos, cos_bucket):
    """The cos face does not evaluate OSS bucket policies or referer lists: with either set, a
    public ACL no longer opens the bucket through the cos face (fails closed)."""
    import oss2
    cos.put_object(Bucket=cos_bucket, Key="pic.png", Body=b"png", ACL="public-read")
    url = f"http://127.0.0.1:{server.cos_port}/pic.png"
    host = {"Host": f"{cos_bucket}.cos.{REGION}.myqcloud.com"}
    assert requests.get(url, headers=host, timeout=10).status_code == 200
    oss_side = server.bucket(cos_bucket)
    oss_side.put_bucket_referer(oss2.models.BucketReferer(False, ["https://app.example.com/*"]))
    r = requests.get(url, headers=host, timeout=10)
    assert r.status_code == 403 and "referer list" in r.text, r.text
    # Signed requests are not held to it.
    assert cos.get_object(Bucket=cos_bucket, Key="pic.png")["Body"].get_raw_stream().read() == b"png"


def test_grant_credentials_change_bucket_settings_only_with_settings(start_server, tmp_path):
    config = tmp_path / "settings.toml"
    config.write_text(
        '[[grant]]\nname = "cos-admin"\nvendor = "tencent"\nbucket = "app-${appid}"\n'
        'prefix = "admin/${sub}/"\nactions = ["read", "write", "settings"]\n'
        '[[grant]]\nname = "cos-plain"\nvendor = "tencent"\nbucket = "app-${appid}"\n'
        'prefix = "admin/${sub}/"\nactions = ["read", "write"]\n')
    srv = start_server(tmp_path / "data", args=["--config", str(config)])
    bucket = f"app-{srv.tencent['AppId']}"
    rules = {"Rule": [{"ID": "t", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled", "Expiration": {"Days": 1}}]}

    def client(grant):
        r = requests.get(f"{srv.api_endpoint}/v1/credentials", params={"grant": grant},
                         headers={"Authorization": f"Bearer {srv.token('ada')}"}, timeout=30)
        assert r.status_code == 200, r.text
        c = r.json()
        if "TmpSecretId" in c:
            return cos_client(srv, {"SecretId": c["TmpSecretId"], "SecretKey": c["TmpSecretKey"], "Token": c["Token"]})
        return cos_client(srv, {"SecretId": c["AccessKeyId"], "SecretKey": c["AccessKeySecret"],
                                "Token": c["SecurityToken"]})

    admin = client("cos-admin")
    admin.put_bucket_lifecycle(Bucket=bucket, LifecycleConfiguration=rules)
    assert admin.get_bucket_lifecycle(Bucket=bucket)["Rule"][0]["ID"] == "t"
    admin.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
        "Rule": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    admin.delete_bucket_encryption(Bucket=bucket)
    refused(lambda: admin.put_bucket_acl(Bucket=bucket, ACL="public-read"), 403, "AccessDenied")
    plain = client("cos-plain")
    refused(lambda: plain.put_bucket_lifecycle(Bucket=bucket, LifecycleConfiguration=rules), 403, "AccessDenied")
    refused(lambda: plain.delete_bucket_lifecycle(Bucket=bucket), 403, "AccessDenied")
    refused(lambda: plain.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
        "Rule": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}), 403, "AccessDenied")
