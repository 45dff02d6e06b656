"""The Node qcloud-cos-sts SDK, which hardcodes https, against a `serve --tls` stsgate.

The server makes its self-signed CA at the first TLS start and prints it; Node trusts it through
NODE_EXTRA_CA_CERTS. GetFederationToken (the SDK's getCredential with its own getPolicy, legacy
resource form and `principal` included) and AssumeRole (getRoleCredential) credentials then drive
cos-nodejs-sdk-v5 over https on the cos face, inside `users/alice/` only; a wrong secret gets
Tencent's `AuthFailure.SignatureFailure`.
"""

import os

import pytest

from qcloud_cos import CosConfig, CosS3Client

from conftest import Server
from cos_helpers import REGION
from helpers import run_node_script


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("tls") / "data", args=["--tls"]).start()
    yield srv
    srv.stop()


def test_the_faces_print_https_and_the_ca(tls_server):
    for endpoint in (tls_server.tc_sts_endpoint, tls_server.cos_endpoint, tls_server.api_endpoint):
        assert endpoint.startswith("https://127.0.0.1:"), endpoint
    ca = tls_server.data_dir / "tls" / "ca.pem"
    assert ca.read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert os.stat(tls_server.data_dir / "tls" / "key.pem").st_mode & 0o077 == 0


def test_node_qcloud_cos_sts_over_tls(tls_server):
    t = tls_server.tencent
    bucket = f"tls-{t['AppId']}"
    # The bucket, with the root key, over https (requests trusts the CA through its env).
    conf = CosConfig(Region=REGION, SecretId=t["SecretId"], SecretKey=t["SecretKey"], Scheme="https",
                     IP="127.0.0.1", Port=tls_server.cos_port)
    client = CosS3Client(conf, retry=0)
    os.environ["REQUESTS_CA_BUNDLE"] = str(tls_server.data_dir / "tls" / "ca.pem")
    try:
        client.create_bucket(Bucket=bucket)
    finally:
        os.environ.pop("REQUESTS_CA_BUNDLE", None)
    env = dict(os.environ, NODE_EXTRA_CA_CERTS=str(tls_server.data_dir / "tls" / "ca.pem"),
               TC_STS_HOST=f"127.0.0.1:{tls_server.tc_sts_port}", SECRET_ID=t["SecretId"],
               SECRET_KEY=t["SecretKey"], ROLE_ARN=f"qcs::cam::uin/{t['Uin']}:roleName/app",
               COS_PORT=str(tls_server.cos_port), COS_BUCKET=bucket, COS_REGION=REGION,
               STEPS="federation,role,wrongSecret")
    run_node_script("qcloud_sts_test.js", env, ["federation", "role", "wrongSecret"], "qcloud-cos-sts")
