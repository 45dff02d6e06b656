"""Seed 001's flow, ported to Python 3: raw REST calls signed by hand exactly as the tutorial does.

The tutorial's `generateHeaders(verb, canonicalizedResource, canonicalizedOSSHeaders)` builds
`verb \\n [md5] \\n [content-type] \\n date \\n <x-oss-* headers in dict order> canonicalizedResource`,
signs it with base64(HMAC-SHA1(secret)) and sends `Date` + `Authorization: OSS ak:sig` plus the
x-oss-* headers, to `Host: <bucket>.oss-cn-hangzhou.aliyuncs.com` (virtual-hosted) for bucket and
object calls and to `Host: oss-cn-hangzhou.aliyuncs.com` for ListBuckets. Here the connection goes
to stsgate on 127.0.0.1 and the Host header carries the tutorial's host name. The folder is
limited by the tutorial's own policy (oss:* on `<bucket>/<folder>` and `<bucket>/<folder>/*`),
issued with `stsgate creds issue`; bucket calls use the root key.
"""

import hashlib
import http.client
import xml.etree.ElementTree as ET
from base64 import b64encode
from datetime import datetime, timezone
import hmac

import oss2

from conftest import unique_name
from helpers import error_of

REGION_HOST = "oss-cn-hangzhou.aliyuncs.com"


# ---- the tutorial's helpers, Python 3 ---------------------------------------------------
def generateSignature(accessKeySecret, stringToSign):
    mac = hmac.new(accessKeySecret.encode(), stringToSign.encode(), hashlib.sha1)
    return b64encode(mac.digest()).decode()


def generateHeaders(accessKeyId, accessKeySecret, verb, canonicalizedResource="/", canonicalizedOSSHeaders=None,
                    signature=None):
    canonicalizedOSSHeaders = canonicalizedOSSHeaders or {}
    signature = signature or {}
    stringToSign = verb + "\n"
    if "content" in signature:
        stringToSign += b64encode(hashlib.md5(signature["content"]).digest()).decode()
    stringToSign += "\n"
    if "content_type" in signature:
        stringToSign += signature["content_type"]
    stringToSign += "\n"
    date = datetime.strftime(datetime.now(timezone.utc), "%a, %d %b %Y %H:%M:%S GMT")
    stringToSign += date + "\n"
    if len(canonicalizedOSSHeaders):
        for index, value in canonicalizedOSSHeaders.items():
            stringToSign += index.lower() + ":" + value + "\n"
    stringToSign += canonicalizedResource
    sig = generateSignature(accessKeySecret, stringToSign)
    headers = {"Date": date, "Authorization": "OSS " + accessKeyId + ":" + sig}
    headers.update(canonicalizedOSSHeaders)
    return headers


def sendRequest(server, host, verb, headers, path="/", params=None):
    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    headers = dict(headers, Host=host)
    conn.request(verb, path, params, headers)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, resp.reason, body


# ---- the flow ---------------------------------------------------------------------------
def test_seed001_flow(server, tmp_path):
    root = server.root
    rak, rsk = root["AccessKeyId"], root["AccessKeySecret"]
    bucketName = unique_name("seed001")
    folderName = "1"
    fileName = "save-game.dat"
    content = b"player one's save game\n" * 100
    host = bucketName + "." + REGION_HOST
    hostMain = REGION_HOST

    policy = ('{"Statement": [{"Effect": "Allow","Action": ["oss:*"],"Resource": ["acs:oss:*:*:' + bucketName + '/'
              + folderName + '","acs:oss:*:*:' + bucketName + '/' + folderName + '/*"]}],"Version": "1"}')
    creds = server.issue(policy, duration=3600, session_name="player-1")["Credentials"]
    tak, tsk, securityToken = creds["AccessKeyId"], creds["AccessKeySecret"], creds["SecurityToken"]

    rootOSSHeaders = {"x-oss-acl": "public-read"}
    stsOSSHeaders = {"x-oss-acl": "public-read", "x-oss-security-token": securityToken}

    ### CREATE BUCKET (root)
    headers = generateHeaders(rak, rsk, "PUT", "/" + bucketName + "/", rootOSSHeaders)
    status, reason, body = sendRequest(server, host, "PUT", headers)
    assert status == 200, (status, reason, body)
    assert oss2.Bucket(server.root_auth(), server.endpoint, bucketName).get_bucket_acl().acl == "public-read"

    try:
        ### LIST BUCKETS (root)
        headers = generateHeaders(rak, rsk, "GET", "/", rootOSSHeaders)
        status, reason, body = sendRequest(server, hostMain, "GET", headers)
        assert status == 200, (status, reason, body)
        names = [n.text for n in ET.fromstring(body).iter("Name")]
        assert bucketName in names

        ### UPLOAD OBJECT (temporary credentials, into the player's folder)
        canonicalizedResource = "/" + bucketName + "/" + folderName + "/" + fileName
        headers = generateHeaders(tak, tsk, "PUT", canonicalizedResource, stsOSSHeaders)
        status, reason, body = sendRequest(server, host, "PUT", headers, "/" + folderName + "/" + fileName, content)
        assert status == 200, (status, reason, body)

        ### the same credentials cannot write another player's folder
        other = "/" + bucketName + "/2/" + fileName
        headers = generateHeaders(tak, tsk, "PUT", other, stsOSSHeaders)
        status, reason, body = sendRequest(server, host, "PUT", headers, "/2/" + fileName, content)
        assert status == 403 and error_of(body).get("Code") == "AccessDenied", (status, body)

        ### LIST OBJECTS (root)
        headers = generateHeaders(rak, rsk, "GET", "/" + bucketName + "/", rootOSSHeaders)
        status, reason, body = sendRequest(server, host, "GET", headers)
        assert status == 200, (status, reason, body)
        keys = [k.text for k in ET.fromstring(body).iter("Key")]
        assert keys == [folderName + "/" + fileName]
        got = oss2.Bucket(server.root_auth(), server.endpoint, bucketName).get_object(folderName + "/" + fileName)
        assert got.read() == content

        ### DELETE OBJECT (temporary credentials)
        headers = generateHeaders(tak, tsk, "DELETE", canonicalizedResource, stsOSSHeaders)
        status, reason, body = sendRequest(server, host, "DELETE", headers, "/" + folderName + "/" + fileName)
        assert status == 204, (status, reason, body)

        ### the temporary credentials cannot delete the bucket
        headers = generateHeaders(tak, tsk, "DELETE", "/" + bucketName + "/", stsOSSHeaders)
        status, reason, body = sendRequest(server, host, "DELETE", headers)
        assert status == 403 and error_of(body).get("Code") == "AccessDenied", (status, body)
    finally:
        ### DELETE BUCKET (root)
        headers = generateHeaders(rak, rsk, "DELETE", "/" + bucketName + "/", rootOSSHeaders)
        status, reason, body = sendRequest(server, host, "DELETE", headers)
    assert status == 204, (status, reason, body)

    headers = generateHeaders(rak, rsk, "GET", "/", rootOSSHeaders)
    status, reason, body = sendRequest(server, hostMain, "GET", headers)
    assert bucketName not in [n.text for n in ET.fromstring(body).iter("Name")]
