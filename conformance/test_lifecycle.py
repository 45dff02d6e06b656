"""Server start-up, data dir, root key and persistence across restarts."""

import json
import stat

import oss2
import requests
from oss2.models import BucketCors, CorsRule

from helpers import alice_policy


def test_first_start_creates_data_dir_and_root_credentials(start_server, tmp_path):
    data = tmp_path / "fresh" / "data"
    srv = start_server(data)
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    creds_path = data / "root-credentials.json"
    assert stat.S_IMODE(creds_path.stat().st_mode) == 0o600
    creds = json.loads(creds_path.read_text())
    assert set(creds) >= {"AccountId", "AccessKeyId", "AccessKeySecret"}
    assert creds["AccessKeyId"] and creds["AccessKeySecret"] and creds["AccountId"]
    assert [l for l in srv.stdout_lines if l.startswith("oss listening on http://127.0.0.1:")]
    assert requests.get(f"{srv.endpoint}/-/healthz").status_code == 200
    # The default grant `user-folder` names bucket `app`: the first start creates it.
    assert [b.name for b in srv.service().list_buckets().buckets] == ["app"]


def test_env_overrides_root_key(start_server, tmp_path):
    env = {"STSGATE_ROOT_ACCESS_KEY_ID": "LTAI5tEnvRootKey0001", "STSGATE_ROOT_ACCESS_KEY_SECRET": "env-secret-123"}
    srv = start_server(tmp_path / "envdata", env=env)
    auth = oss2.Auth("LTAI5tEnvRootKey0001", "env-secret-123")
    oss2.Bucket(auth, srv.endpoint, "env-root-bucket").create_bucket()
    assert "env-root-bucket" in [b.name for b in oss2.Service(auth, srv.endpoint).list_buckets().buckets]
    wrong = oss2.Auth("LTAI5tEnvRootKey0001", "not-it")
    try:
        oss2.Service(wrong, srv.endpoint).list_buckets()
        raise AssertionError("wrong secret accepted")
    except oss2.exceptions.SignatureDoesNotMatch:
        pass


def test_everything_survives_restart(start_server, tmp_path):
    data = tmp_path / "persist"
    srv = start_server(data)
    root_before = srv.root
    b = srv.bucket("persist-bucket")
    b.create_bucket(oss2.BUCKET_ACL_PUBLIC_READ)
    b.put_object("k/one.txt", b"one", headers={"x-oss-meta-m": "v"})
    b.put_bucket_cors(BucketCors([CorsRule(allowed_origins=["http://a.example"], allowed_methods=["GET"],
                                           max_age_seconds=5)]))
    upload_id = b.init_multipart_upload("k/pending.bin").upload_id
    b.upload_part("k/pending.bin", upload_id, 1, b"p" * 1000)
    issued = srv.issue(alice_policy("persist-bucket"), duration=900)
    srv.stop()

    srv = start_server(data)
    assert srv.root == root_before
    b = srv.bucket("persist-bucket")
    got = b.get_object("k/one.txt")
    assert got.read() == b"one" and got.headers["x-oss-meta-m"] == "v"
    assert b.get_bucket_acl().acl == "public-read"
    assert b.get_bucket_cors().rules[0].allowed_origins == ["http://a.example"]
    assert [p.part_number for p in b.list_parts("k/pending.bin", upload_id).parts] == [1]
    # Temporary credentials issued before the restart still work (the master key persisted).
    alice = srv.bucket("persist-bucket", auth=srv.sts_auth(issued))
    alice.put_object("users/alice/after-restart", b"ok")
    assert b.get_object("users/alice/after-restart").read() == b"ok"
