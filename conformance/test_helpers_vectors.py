"""The suite's own signers reproduce the vectors of specs/aliyun.md, so that a signature the
server rejects elsewhere is the server's fault. (No server needed.)"""

import base64
import json

from helpers import post_v1_signature, post_v4_signature, v1_signature, v1_string_to_sign, v4_signing_key, crc64


def test_v1_header_vector_oss1_1():
    sts = v1_string_to_sign(
        "PUT", "ODBGOERFMDMzQTczRUY3NUE3NzA5QzdFNUYzMDQxNEM=", "text/html", "Thu, 17 Nov 2005 18:49:58 GMT",
        {"X-OSS-Meta-Author": "foo@bar.com", "X-OSS-Magic": "abracadabra"}, "/oss-example/nelson")
    assert sts == ("PUT\nODBGOERFMDMzQTczRUY3NUE3NzA5QzdFNUYzMDQxNEM=\ntext/html\nThu, 17 Nov 2005 18:49:58 GMT\n"
                   "x-oss-magic:abracadabra\nx-oss-meta-author:foo@bar.com\n/oss-example/nelson")
    assert v1_signature("OtxrzxIsfpFjA7SwPzILwy8Bw21TLhquhboDYROV", sts) == "26NBxoKdsyly4EDv6inkoDft/yA="


def test_v1_sts_vector_oss1_3():
    sts = v1_string_to_sign("PUT", "", "text/plain", "Wed, 25 Nov 2026 07:33:07 GMT",
                            {"x-oss-security-token": "CAIStestToken+/=="}, "/my-bucket/k.txt")
    assert v1_signature("TempSecret456", sts) == "v78wVi86/6OgnjDUiB2W5nl12b8="


def test_v1_url_vector_url1_1():
    assert v1_signature("OtxrzxIsfpFjA7SwPzILwy8Bw21TLhquhboDYROV",
                        "GET\n\n\n1141889120\n/oss-example/oss-api.pdf") == "EwaNTn1erJGkimiJ9WmXgwnANLc="


def test_v4_signing_key_vector():
    assert v4_signing_key("sk", "20231216").hex() == "b412a03b134ebddd720f5167b5de6db66620ebb3b01cff4d49e3ccb09f8de97f"


def test_post_object_vectors():
    v1_policy = ('{"expiration":"2030-01-01T00:00:00.000Z","conditions":[{"bucket":"my-bucket"},'
                 '["starts-with","$key","user-1/"],["content-length-range",1,10485760]]}')
    b64 = base64.b64encode(v1_policy.encode()).decode()
    assert post_v1_signature("TestSecretKey123", b64) == "baYl0qLip8+rqGAO1AgyaXirH3k="
    v4_policy = {"expiration": "2030-01-01T00:00:00.000Z", "conditions": [
        {"bucket": "my-bucket"}, ["starts-with", "$key", "user-1/"],
        {"x-oss-signature-version": "OSS4-HMAC-SHA256"},
        {"x-oss-credential": "LTAI5tTestAccessKeyId/20240101/cn-hangzhou/oss/aliyun_v4_request"},
        {"x-oss-date": "20240101T000000Z"}]}
    b64 = base64.b64encode(json.dumps(v4_policy, separators=(",", ":")).encode()).decode()
    assert post_v4_signature("TestSecretKey123", "20240101", b64) == \
        "94b73d5ab9b93a44641ad28320fee67712538573b7ed2e12d4d955fe65310df0"


def test_crc64_check_values():
    assert crc64(b"123456789") == 11051210869376104954
    assert crc64(b"hello world") == 5981764153023615706
    assert crc64(b"") == 0


def test_cos_q_sign_matches_the_python_sdk_vector():
    """Spec §4.3 row a: cos-python-sdk-v5's put_object in IP mode, token signed."""
    from cos_helpers import q_sign
    auth = q_sign("AKIDEXAMPLE", "SKEXAMPLE", "PUT", "/dir/a b+c.txt",
                  headers={"Content-Length": "5", "Content-Type": "text/plain",
                           "Host": "examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com",
                           "x-cos-security-token": "TOKENXYZ"},
                  start=1699999940, end=1700010000)
    assert auth.endswith("&q-header-list=content-length;content-type;host;x-cos-security-token"
                         "&q-url-param-list=&q-signature=fef664caa41a5b651c6adcc6fd69353430c74f93")
