"""The real Node ali-oss SDK (pinned in node/package-lock.json) against the oss face."""

import json
import os

from helpers import alice_policy, run_node_script
STEPS = ["put", "get", "head", "odd-key", "list", "listV2", "multipartUpload", "signatureUrl", "errors",
         "deleteMulti"]


MORE_STEPS = ["v4", "sld", "head-errors", "copy", "deleteMulti-verbose", "signatureUrl-put"]


def run_node(server, bucket_name, ak, sk, prefix, tmp_path, token=None, script="alioss_test.js", steps=STEPS,
             extra_env=None):
    env = dict(os.environ, OSS_ENDPOINT=server.endpoint, OSS_BUCKET=bucket_name, OSS_AK=ak, OSS_SK=sk,
               OSS_PREFIX=prefix, OSS_TMP=str(tmp_path))
    env.pop("OSS_TOKEN", None)
    env.pop("OSS_REFRESH_CREDS", None)
    if token:
        env["OSS_TOKEN"] = token
    env.update(extra_env or {})
    run_node_script(script, env, steps, "ali-oss")


def test_alioss_with_root_key(server, bucket, tmp_path):
    r = server.root
    run_node(server, bucket.bucket_name, r["AccessKeyId"], r["AccessKeySecret"], "node/", tmp_path)


def test_alioss_with_temporary_credentials(server, bucket, tmp_path):
    c = server.issue(alice_policy(bucket.bucket_name), duration=900)["Credentials"]
    run_node(server, bucket.bucket_name, c["AccessKeyId"], c["AccessKeySecret"], "users/alice/", tmp_path,
             token=c["SecurityToken"])


def test_alioss_more_with_root_key(server, bucket, tmp_path):
    """V4, sldEnable, HEAD errors, copy, deleteMulti, signed PUT URLs and bucket CORS."""
    r = server.root
    run_node(server, bucket.bucket_name, r["AccessKeyId"], r["AccessKeySecret"], "more/", tmp_path,
             script="alioss_more_test.js", steps=MORE_STEPS + ["cors"])


def test_alioss_more_with_temporary_credentials(server, bucket, tmp_path):
    """The same with stsToken, plus refreshSTSToken handing over a second credential."""
    policy = alice_policy(bucket.bucket_name)
    c = server.issue(policy, duration=900)["Credentials"]
    fresh = server.issue(policy, duration=900, session_name="alice-refreshed")["Credentials"]
    assert fresh["AccessKeyId"] != c["AccessKeyId"]
    run_node(server, bucket.bucket_name, c["AccessKeyId"], c["AccessKeySecret"], "users/alice/", tmp_path,
             token=c["SecurityToken"], script="alioss_more_test.js", steps=MORE_STEPS + ["refreshSTSToken"],
             extra_env={"OSS_REFRESH_CREDS": json.dumps(fresh)})
