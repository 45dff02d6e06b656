"""The real Node ali-oss SDK (pinned in node/package-lock.json) against the oss face."""

import os
import shutil
import subprocess
from pathlib import Path


from helpers import alice_policy

NODE_DIR = Path(__file__).resolve().parent / "node"
STEPS = ["put", "get", "head", "odd-key", "list", "listV2", "multipartUpload", "signatureUrl", "errors",
         "deleteMulti"]


def run_node(server, bucket_name, ak, sk, prefix, tmp_path, token=None):
    node = shutil.which("node")
    assert node, "node is required (scripts/test.sh checks this)"
    assert (NODE_DIR / "node_modules" / "ali-oss").is_dir(), "run `npm ci` in conformance/node first"
    env = dict(os.environ, OSS_ENDPOINT=server.endpoint, OSS_BUCKET=bucket_name, OSS_AK=ak, OSS_SK=sk,
               OSS_PREFIX=prefix, OSS_TMP=str(tmp_path))
    env.pop("OSS_TOKEN", None)
    if token:
        env["OSS_TOKEN"] = token
    proc = subprocess.run([node, str(NODE_DIR / "alioss_test.js")], cwd=NODE_DIR, env=env,
                          capture_output=True, text=True, timeout=300)
    report = f"exit {proc.returncode}\n--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
    assert proc.returncode == 0, report
    lines = proc.stdout.split("\n")
    for step in STEPS:
        assert f"ok {step}" in lines, report
    assert "ALL OK" in lines, report


def test_alioss_with_root_key(server, bucket, tmp_path):
    r = server.root
    run_node(server, bucket.bucket_name, r["AccessKeyId"], r["AccessKeySecret"], "node/", tmp_path)


def test_alioss_with_temporary_credentials(server, bucket, tmp_path):
    c = server.issue(alice_policy(bucket.bucket_name), duration=900)["Credentials"]
    run_node(server, bucket.bucket_name, c["AccessKeyId"], c["AccessKeySecret"], "users/alice/", tmp_path,
             token=c["SecurityToken"])
