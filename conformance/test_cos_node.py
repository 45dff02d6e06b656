"""The real Node cos-nodejs-sdk-v5 SDK (pinned in node/package-lock.json) against the cos face:
`Ip` mode, the `Domain: '127.0.0.1:PORT/{Bucket}'` path form and `Proxy`, with the root key and with
temporary credentials from `stsgate creds issue --vendor tencent`."""

import os

import pytest

from cos_helpers import REGION, alice_cam_policy, bucket_name, cos_client, empty_bucket, root_creds, temp_creds
from helpers import run_node_script
STEPS = ["put", "get", "head", "list", "copy", "deleteMulti", "delete", "sliceUploadFile", "multipart",
         "acl", "cors", "signedUrl", "errors"]
# What a user folder may do: no bucket ACL/CORS, and object ACLs only on its own keys.
ALICE_STEPS = ["put", "get", "head", "list", "copy", "deleteMulti", "delete", "sliceUploadFile",
               "multipart", "signedUrl", "errors"]


@pytest.fixture
def cos_bucket(server):
    cos = cos_client(server, root_creds(server))
    name = bucket_name(server, "n")
    cos.create_bucket(Bucket=name)
    yield name
    empty_bucket(cos, name)


def run_node(server, bucket, creds, prefix, tmp_path, mode, steps, outside=""):
    env = dict(os.environ, COS_PORT=str(server.cos_port), COS_BUCKET=bucket, COS_REGION=REGION,
               COS_SECRET_ID=creds["SecretId"], COS_SECRET_KEY=creds["SecretKey"], COS_PREFIX=prefix,
               COS_OUTSIDE=outside, COS_MODE=mode, COS_TMP=str(tmp_path), COS_STEPS=",".join(steps))
    env.pop("COS_TOKEN", None)
    if creds.get("Token"):
        env["COS_TOKEN"] = creds["Token"]
    run_node_script("cos_test.js", env, steps, "cos-nodejs-sdk-v5")


def test_node_ip_mode_with_the_root_key(server, cos_bucket, tmp_path):
    run_node(server, cos_bucket, root_creds(server), "node/", tmp_path, "ip", STEPS)


def test_node_bucket_path_form_with_the_root_key(server, cos_bucket, tmp_path):
    run_node(server, cos_bucket, root_creds(server), "path/", tmp_path, "path", STEPS)


def test_node_proxy_mode_with_the_root_key(server, cos_bucket, tmp_path):
    run_node(server, cos_bucket, root_creds(server), "proxy/", tmp_path, "proxy",
             ["put", "get", "head", "list", "multipart", "signedUrl", "errors"])


def test_node_ip_mode_with_temporary_credentials(server, cos_bucket, tmp_path):
    issued = server.issue_tencent(alice_cam_policy(cos_bucket, server.tencent["AppId"]), 900)
    run_node(server, cos_bucket, temp_creds(issued), "users/alice/", tmp_path, "ip", ALICE_STEPS,
             outside="users/alicex/")
