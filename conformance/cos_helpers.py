"""COS clients pointed at the cos face, a hand-written q-sign signer, and CAM policies.

The settings are the ones README's "COS face" section documents: cos-python-sdk-v5 in IP mode
(`IP` + `Port`: it connects to the face and sends the virtual host) with `ServiceDomain` for
list_buckets, and proxy mode (`Proxies`) where a URL must carry the bucket's own host (presigned
URLs). The signer follows ../shared/specs/tencent_aws.md §4.1 and is checked against the spec's
vectors in test_helpers_vectors.py.
"""

import hashlib
import hmac
import json
import time
import uuid
from urllib.parse import quote

from qcloud_cos import CosConfig, CosS3Client

REGION = "ap-guangzhou"
ALL_USERS = "http://cam.qcloud.com/groups/global/AllUsers"


def root_creds(server) -> dict:
    t = server.tencent
    return {"SecretId": t["SecretId"], "SecretKey": t["SecretKey"], "Token": None}


def temp_creds(issued: dict) -> dict:
    c = issued["credentials"]
    return {"SecretId": c["tmpSecretId"], "SecretKey": c["tmpSecretKey"], "Token": c["sessionToken"]}


def cos_client(server, creds, retry=0) -> CosS3Client:
    """IP mode: connects to the cos face, signs and sends `Host: <bucket>.cos.<region>.myqcloud.com`."""
    conf = CosConfig(Region=REGION, SecretId=creds["SecretId"], SecretKey=creds["SecretKey"],
                     Token=creds.get("Token"), Scheme="http", IP="127.0.0.1", Port=server.cos_port,
                     ServiceDomain=f"127.0.0.1:{server.cos_port}")
    return CosS3Client(conf, retry=retry)


def proxy_client(server, creds) -> CosS3Client:
    """Proxy mode: absolute-form requests to the real virtual host (and URLs that keep it)."""
    conf = CosConfig(Region=REGION, SecretId=creds["SecretId"], SecretKey=creds["SecretKey"],
                     Token=creds.get("Token"), Scheme="http",
                     Proxies={"http": f"http://127.0.0.1:{server.cos_port}"})
    return CosS3Client(conf, retry=0)


def proxies(server) -> dict:
    return {"http": f"http://127.0.0.1:{server.cos_port}"}


def bucket_name(server, prefix="t") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}-{server.tencent['AppId']}"


def bucket_host(bucket: str) -> str:
    return f"{bucket}.cos.{REGION}.myqcloud.com"


def empty_bucket(client, bucket):
    """Best effort: abort uploads, delete objects, delete the bucket."""
    try:
        uploads = client.list_multipart_uploads(Bucket=bucket).get("Upload", [])
        for u in uploads if isinstance(uploads, list) else [uploads]:
            client.abort_multipart_upload(Bucket=bucket, Key=u["Key"], UploadId=u["UploadId"])
        while True:
            listed = client.list_objects(Bucket=bucket, MaxKeys=1000)
            contents = listed.get("Contents", [])
            for o in contents:
                client.delete_object(Bucket=bucket, Key=o["Key"])
            if listed.get("IsTruncated") != "true":
                break
        client.delete_bucket(Bucket=bucket)
    except Exception:  # the server may be the thing under test
        pass


def alice_cam_policy(bucket: str, appid: str, prefix="users/alice/") -> dict:
    """Objects under `prefix` of `bucket`, and GetBucket only with cos:prefix under it."""
    objects = f"qcs::cos:{REGION}:uid/{appid}:{bucket}/{prefix}*"
    return {
        "version": "2.0",
        "statement": [
            {
                "effect": "allow",
                "action": ["name/cos:PutObject", "name/cos:PostObject", "name/cos:GetObject",
                           "name/cos:HeadObject", "name/cos:DeleteObject",
                           "name/cos:DeleteMultipleObjects", "name/cos:InitiateMultipartUpload",
                           "name/cos:UploadPart", "name/cos:CompleteMultipartUpload",
                           "name/cos:AbortMultipartUpload", "name/cos:ListParts",
                           "name/cos:GetObjectACL", "name/cos:PutObjectACL"],
                "resource": [objects],
            },
            {
                "effect": "allow",
                "action": ["name/cos:GetBucket", "name/cos:ListMultipartUploads"],
                "resource": [f"qcs::cos:{REGION}:uid/{appid}:{bucket}/"],
                "condition": {"string_like": {"cos:prefix": f"{prefix}*"}},
            },
        ],
    }


# ---- q-sign (spec §4.1) -------------------------------------------------------------------
def _enc(s: str) -> str:
    return quote(s, safe="-_.~")


def q_sign(secret_id, secret_key, method, path, params=None, headers=None, start=None, end=None):
    """The `Authorization` value for a request: every given param and header signed, sorted."""
    now = int(time.time())
    key_time = f"{now - 60 if start is None else start};{now + 600 if end is None else end}"
    params = {k.lower(): v for k, v in (params or {}).items()}
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    p = sorted((_enc(k).lower(), _enc(str(v))) for k, v in params.items())
    h = sorted((_enc(k).lower(), _enc(str(v))) for k, v in headers.items())
    http_string = "\n".join([method.lower(), path, "&".join(f"{k}={v}" for k, v in p),
                             "&".join(f"{k}={v}" for k, v in h), ""])
    sign_key = hmac.new(secret_key.encode(), key_time.encode(), hashlib.sha1).hexdigest()
    string_to_sign = f"sha1\n{key_time}\n{hashlib.sha1(http_string.encode()).hexdigest()}\n"
    signature = hmac.new(sign_key.encode(), string_to_sign.encode(), hashlib.sha1).hexdigest()
    return (f"q-sign-algorithm=sha1&q-ak={secret_id}&q-sign-time={key_time}&q-key-time={key_time}"
            f"&q-header-list={';'.join(k for k, _ in h)}&q-url-param-list={';'.join(k for k, _ in p)}"
            f"&q-signature={signature}")


def post_form_signature(secret_key: str, key_time: str, policy_json: str) -> str:
    """COS POST Object: HMAC-SHA1(HMAC-SHA1(SecretKey, q-key-time) hex, SHA1(policy JSON) hex)."""
    sign_key = hmac.new(secret_key.encode(), key_time.encode(), hashlib.sha1).hexdigest()
    digest = hashlib.sha1(policy_json.encode()).hexdigest()
    return hmac.new(sign_key.encode(), digest.encode(), hashlib.sha1).hexdigest()


def post_policy(bucket, key_prefix, secret_id, key_time, token=None, max_size=1024 * 1024):
    conditions = [{"q-sign-algorithm": "sha1"}, {"q-ak": secret_id}, {"q-sign-time": key_time},
                  {"bucket": bucket}, ["starts-with", "$key", key_prefix],
                  ["content-length-range", 1, max_size]]
    if token:
        conditions.append({"x-cos-security-token": token})
    expiration = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + 600))
    return json.dumps({"expiration": expiration, "conditions": conditions})
