#!/usr/bin/env python3
"""Regenerates the golden files under testdata/aliyun from the vectors of the Aliyun spec.

An independent (Python stdlib) implementation computes every intermediate step; each final
signature, and every intermediate step the spec states, is asserted against the spec's value
before anything is written. Run from anywhere: `python3 testdata/aliyun/generate.py`.
"""
import base64, hashlib, hmac, json, os, shutil, urllib.parse

ROOT = os.path.dirname(os.path.abspath(__file__))

def pe(s, keep_slash=False):
    safe = "-_.~" + ("/" if keep_slash else "")
    return urllib.parse.quote(s, safe=safe)  # uppercase hex, RFC 3986 unreserved kept

def dq(raw):
    out = []
    for item in raw.split("&"):
        if not item:
            continue
        k, _, v = item.partition("=")
        out.append((urllib.parse.unquote_plus(k), urllib.parse.unquote_plus(v)))
    return out

def b64(b): return base64.b64encode(b).decode()
def sha1mac(k, m): return hmac.new(k.encode(), m.encode(), hashlib.sha1).digest()
def sha256mac(k, m): return hmac.new(k, m.encode(), hashlib.sha256).digest()
def hget(headers, name):
    vals = [v.strip() for k, v in headers if k.lower() == name]
    return ",".join(vals) if vals else None

def write(scheme, case, inputs, steps):
    d = os.path.join(ROOT, scheme, case)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "input.json"), "w") as f:
        json.dump(inputs, f, indent=2, ensure_ascii=False)
        f.write("\n")
    for name, text in steps.items():
        with open(os.path.join(d, name + ".txt"), "w", newline="") as f:
            f.write(text)  # exact bytes, no trailing newline

# ---------------------------------------------------------------- POP RPC (§1.1)
def rpc(scheme_case, method, secret, params, want_sig, want_sts=None):
    enc = sorted((pe(k), pe(v)) for k, v in params if k != "Signature")
    sts = method + "&%2F&" + pe("&".join(k + "=" + v for k, v in enc))
    sig = b64(sha1mac(secret + "&", sts))
    if want_sts is not None:
        assert sts == want_sts, (scheme_case, sts)
    if want_sig is not None:
        assert sig == want_sig, (scheme_case, sig, want_sig)
    write("pop_rpc", scheme_case, {"method": method, "secret": secret, "params": params},
          {"string_to_sign": sts, "signature": sig})

V1 = [["AccessKeyId", "testid"], ["Action", "DescribeRegions"], ["Format", "XML"],
      ["SignatureMethod", "HMAC-SHA1"], ["SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"],
      ["SignatureVersion", "1.0"], ["Timestamp", "2016-02-23T12:46:24Z"], ["Version", "2014-05-26"]]
rpc("v-rpc-1-describe-regions", "GET", "testsecret", V1, "OLeaidS1JvxuMvnyHOwuJ+uX5qY=",
    "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26")
V2 = [["AccessKeyId", "testId"], ["Action", "SendSms"], ["Format", "XML"], ["OutId", "123"],
      ["PhoneNumbers", "15300000001"], ["RegionId", "cn-hangzhou"], ["SignName", "阿里云短信测试专用"],
      ["SignatureMethod", "HMAC-SHA1"], ["SignatureNonce", "45e25e9b-0a6f-4070-8c85-2956eda1b466"],
      ["SignatureVersion", "1.0"], ["TemplateCode", "SMS_71390007"], ["TemplateParam", '{"customer":"test"}'],
      ["Timestamp", "2017-07-12T02:42:19Z"], ["Version", "2017-05-25"]]
rpc("v-rpc-2-send-sms-utf8", "GET", "testSecret", V2, "zJDF+Lrzhj/ThnlvIToysFRq6t4=")
V3 = [["AccessKeyId", "LTAI5tTestAccessKeyId"], ["Action", "AssumeRole"], ["DurationSeconds", "3600"],
      ["Format", "JSON"],
      ["Policy", '{"Version":"1","Statement":[{"Effect":"Allow","Action":["oss:GetObject","oss:PutObject"],"Resource":["acs:oss:*:*:my-bucket/user-1/*"]}]}'],
      ["RoleArn", "acs:ram::1234567890123456:role/oss-writer"], ["RoleSessionName", "alice@example.com"],
      ["SignatureMethod", "HMAC-SHA1"], ["SignatureNonce", "b5f1c3e2-0e0f-4d1e-9a55-9d5f3c1e7a11"],
      ["SignatureVersion", "1.0"], ["Timestamp", "2024-01-01T00:00:00Z"], ["Version", "2015-04-01"]]
rpc("v-rpc-3-assume-role-post", "POST", "TestSecretKey123", V3, "DLrRhrGtkG9MH5ht9DiNjOGLeFw=")
rpc("v-rpc-3-assume-role-get", "GET", "TestSecretKey123", V3, "87FwhzCMid/ntBCaK4yaE5tup5s=")
# The old core SDK's empty SignatureType=, listed in wire order (unsorted) with a Signature to drop.
V3T = list(reversed(V3)) + [["SignatureType", ""], ["Signature", "ignored"]]
rpc("v-rpc-3-signature-type-empty", "POST", "TestSecretKey123", V3T, "rPc+5Nu1EMHyzpAGx9SC/a4YsMg=")
rpc("v-rpc-4-encoding", "GET", "any", [["A", "a b*c~d/e+f=g&h"], ["AccessKeyId", "k"]], None,
    "GET&%2F&A%3Da%2520b%252Ac~d%252Fe%252Bf%253Dg%2526h%26AccessKeyId%3Dk")

# ---------------------------------------------------------------- ACS3 (§1.2)
def acs3(case, method, path, raw_query, headers, ak, secret, want_sig, want_hash=None, want_auth=None):
    h = [(k.lower(), v) for k, v in headers]
    signed = sorted(k for k, _ in h)
    q = sorted((pe(k), pe(v)) for k, v in dq(raw_query))
    cr = "\n".join([method, pe(path, True), "&".join(k + "=" + v for k, v in q),
                    "".join(n + ":" + hget(headers, n) + "\n" for n in signed), ";".join(signed),
                    hget(headers, "x-acs-content-sha256")])
    digest = hashlib.sha256(cr.encode()).hexdigest()
    sts = "ACS3-HMAC-SHA256\n" + digest
    sig = hmac.new(secret.encode(), sts.encode(), hashlib.sha256).hexdigest()
    assert sig == want_sig, (case, sig)
    if want_hash:
        assert digest == want_hash, (case, digest)
    auth = "ACS3-HMAC-SHA256 Credential=%s,SignedHeaders=%s,Signature=%s" % (ak, ";".join(signed), sig)
    if want_auth:
        assert auth == want_auth, (case, auth)
    write("pop_acs3", case, {"method": method, "path": path, "raw_query": raw_query,
                             "headers": [list(x) for x in headers], "authorization": auth, "secret": secret},
          {"canonical_request": cr, "string_to_sign": sts, "signature": sig})

EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
acs3("v-acs3-1-run-instances", "POST", "/",
     "ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai",
     [("host", "ecs.cn-shanghai.aliyuncs.com"), ("x-acs-action", "RunInstances"),
      ("x-acs-version", "2014-05-26"), ("x-acs-date", "2023-10-26T10:22:32Z"),
      ("x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"), ("x-acs-content-sha256", EMPTY)],
     "YourAccessKeyId", "YourAccessKeySecret",
     "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0",
     "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259",
     "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0")
# Tea sends spaces as '+' in the query: encode that way so the walker's decoding is exercised.
acs3("v-acs3-2-assume-role", "POST", "/",
     urllib.parse.urlencode([("DurationSeconds", "3600"),
         ("Policy", '{"Version":"1","Statement":[{"Effect":"Allow","Action":["oss:GetObject"],"Resource":["acs:oss:*:*:my-bucket/*"]}]}'),
         ("RoleArn", "acs:ram::1234567890123456:role/oss-writer"), ("RoleSessionName", "alice")]),
     [("Host", "sts.cn-hangzhou.aliyuncs.com"), ("x-acs-action", "AssumeRole"),
      ("x-acs-version", "2015-04-01"), ("x-acs-date", "2024-01-01T00:00:00Z"),
      ("x-acs-signature-nonce", "d410180a5abf7fe235dd9b74aca91fc0"), ("x-acs-content-sha256", EMPTY)],
     "LTAI5tTestAccessKeyId", "TestSecretKey123",
     "339a4880164060eb25e2c844652d7ed849f5920b02a8bc9ac2d87f21704e8ca8")

# ---------------------------------------------------------------- OSS V1 (§3, §4)
SUBS = set("""acl uploads location cors logging website referer lifecycle delete append tagging
  objectMeta uploadId partNumber security-token position restore qos stat bucketInfo group link
  live comp status vod startTime endTime x-oss-process symlink callback callback-var encryption
  versions versioning versionId policy requestPayment x-oss-traffic-limit qosInfo asyncFetch
  x-oss-request-payer sequential inventory inventoryId continuation-token worm wormId wormExtend
  replication replicationLocation replicationProgress transferAcceleration cname metaQuery
  x-oss-ac-source-ip x-oss-ac-subnet-mask x-oss-ac-vpc-id x-oss-ac-forward-allow resourceGroup
  style styleName x-oss-async-process regionList x-oss-write-get-object-response
  bucketArchiveDirectRead httpsConfig redundancyTransition x-oss-target-redundancy-type
  x-oss-redundancy-transition-taskid accessPoint accessPointPolicy publicAccessBlock
  x-oss-access-point-name requesterQosInfo qosRequester resourcePoolInfo resourcePool
  resourcePoolBuckets response-content-type response-content-language response-expires
  response-cache-control response-content-disposition response-content-encoding objectInfo
  cloudboxes""".split())

def v1_parts(bucket, raw_key, raw_query, headers):
    key = urllib.parse.unquote(raw_key) if raw_key is not None else None
    res = "/" if bucket is None else ("/%s/" % bucket if key is None else "/%s/%s" % (bucket, key))
    subs = sorted((k, v) for k, v in dq(raw_query) if k in SUBS)
    if subs:
        res += "?" + "&".join(k if v == "" else k + "=" + v for k, v in subs)
    names = sorted({k.lower() for k, _ in headers if k.lower().startswith("x-oss-")})
    hdrs = "".join(n + ":" + hget(headers, n) + "\n" for n in names)
    return res, hdrs

def oss_v1(case, verb, bucket, raw_key, raw_query, headers, ak, secret, want_sts, want_sig):
    res, hdrs = v1_parts(bucket, raw_key, raw_query, headers)
    date = hget(headers, "x-oss-date") or hget(headers, "date")
    sts = "\n".join([verb, hget(headers, "content-md5") or "", hget(headers, "content-type") or "", date, hdrs + res])
    assert sts == want_sts, (case, sts)
    sig = b64(sha1mac(secret, sts))
    assert sig == want_sig, (case, sig)
    write("oss_v1", case, {"verb": verb, "bucket": bucket, "raw_key": raw_key, "raw_query": raw_query,
                           "headers": [list(x) for x in headers],
                           "authorization": "OSS %s:%s" % (ak, sig), "secret": secret},
          {"canonical_resource": res, "canonical_oss_headers": hdrs, "string_to_sign": sts, "signature": sig})

oss_v1("v-oss1-1-doc-put", "PUT", "oss-example", "nelson", "",
       [("Content-MD5", "ODBGOERFMDMzQTczRUY3NUE3NzA5QzdFNUYzMDQxNEM="), ("Content-Type", "text/html"),
        ("Date", "Thu, 17 Nov 2005 18:49:58 GMT"), ("X-OSS-Meta-Author", "foo@bar.com"), ("X-OSS-Magic", "abracadabra")],
       "44CF9590006BF252F707", "OtxrzxIsfpFjA7SwPzILwy8Bw21TLhquhboDYROV",
       "PUT\nODBGOERFMDMzQTczRUY3NUE3NzA5QzdFNUYzMDQxNEM=\ntext/html\nThu, 17 Nov 2005 18:49:58 GMT\nx-oss-magic:abracadabra\nx-oss-meta-author:foo@bar.com\n/oss-example/nelson",
       "26NBxoKdsyly4EDv6inkoDft/yA=")
D = "Wed, 28 Dec 2022 10:27:41 GMT"
PUTH = [("Content-MD5", "eB5eJF1ptWaXm4bijSPyxw=="), ("Content-Type", "text/html"), ("Date", D),
        ("x-oss-date", D), ("x-oss-meta-author", "alice"), ("x-oss-meta-magic", "abracadabra")]
oss_v1("v-oss1-2-put", "PUT", "examplebucket", "nelson", "", PUTH, "ak", "sk",
       "PUT\neB5eJF1ptWaXm4bijSPyxw==\ntext/html\n%s\nx-oss-date:%s\nx-oss-meta-author:alice\nx-oss-meta-magic:abracadabra\n/examplebucket/nelson" % (D, D),
       "kSHKmLxlyEAKtZPkJhG9bZb5k7M=")
oss_v1("v-oss1-2-put-acl", "PUT", "examplebucket", "nelson", "acl", PUTH, "ak", "sk",
       "PUT\neB5eJF1ptWaXm4bijSPyxw==\ntext/html\n%s\nx-oss-date:%s\nx-oss-meta-author:alice\nx-oss-meta-magic:abracadabra\n/examplebucket/nelson?acl" % (D, D),
       "/afkugFbmWDQ967j1vr6zygBLQk=")
oss_v1("v-oss1-2-get-resource-group", "GET", "examplebucket", None, "resourceGroup", [("x-oss-date", D)], "ak", "sk",
       "GET\n\n\n%s\nx-oss-date:%s\n/examplebucket/?resourceGroup" % (D, D), "vkQmfuUDyi1uDi3bKt67oemssIs=")
oss_v1("v-oss1-2-get-acl-resource-group", "GET", "examplebucket", None, "resourceGroup=&acl=", [("x-oss-date", D)], "ak", "sk",
       "GET\n\n\n%s\nx-oss-date:%s\n/examplebucket/?acl&resourceGroup" % (D, D), "x3E5TgOvl/i7PN618s5mEvpJDYk=")
D3 = "Wed, 25 Nov 2026 07:33:07 GMT"
oss_v1("v-oss1-3-sts-put", "PUT", "my-bucket", "k.txt", "",
       [("Content-Type", "text/plain"), ("date", D3), ("x-oss-security-token", "CAIStestToken+/==")],
       "STS.NTestTempAk", "TempSecret456",
       "PUT\n\ntext/plain\n%s\nx-oss-security-token:CAIStestToken+/==\n/my-bucket/k.txt" % D3,
       "v78wVi86/6OgnjDUiB2W5nl12b8=")
oss_v1("v-oss1-3-sts-list-v2", "GET", "my-bucket", None,
       "list-type=2&prefix=&delimiter=%2F&continuation-token=&max-keys=100&encoding-type=url",
       [("date", D3), ("x-oss-security-token", "CAIStestToken+/==")], "STS.NTestTempAk", "TempSecret456",
       "GET\n\n\n%s\nx-oss-security-token:CAIStestToken+/==\n/my-bucket/?continuation-token" % D3,
       "+y8rfUfcJbX55Vq3oveZrSNbbUY=")

def oss_v1_url(case, verb, bucket, raw_key, raw_query, headers, secret, want_sts, want_sig):
    q = dict(dq(raw_query))
    assert q["Signature"] == want_sig, (case, q["Signature"])
    res, hdrs = v1_parts(bucket, raw_key, raw_query, headers)
    sts = "\n".join([verb, hget(headers, "content-md5") or "", hget(headers, "content-type") or "", q["Expires"], hdrs + res])
    if want_sts is not None:
        assert sts == want_sts, (case, sts)
    sig = b64(sha1mac(secret, sts))
    assert sig == want_sig, (case, sig)
    write("oss_v1_url", case, {"verb": verb, "bucket": bucket, "raw_key": raw_key, "raw_query": raw_query,
                               "headers": [list(x) for x in headers], "secret": secret},
          {"canonical_resource": res, "canonical_oss_headers": hdrs, "string_to_sign": sts, "signature": sig})

oss_v1_url("v-url1-1-doc-get", "GET", "oss-example", "oss-api.pdf",
           "OSSAccessKeyId=44CF9590006BF252F707&Expires=1141889120&Signature=EwaNTn1erJGkimiJ9WmXgwnANLc%3D", [],
           "OtxrzxIsfpFjA7SwPzILwy8Bw21TLhquhboDYROV", "GET\n\n\n1141889120\n/oss-example/oss-api.pdf",
           "EwaNTn1erJGkimiJ9WmXgwnANLc=")
oss_v1_url("v-url1-2-oss2-get", "GET", "my-bucket", "dir%2Fa%20b%2Bc.txt",
           "OSSAccessKeyId=LTAI5tTestAccessKeyId&Expires=1700003600&Signature=3Q5WBmSthi5J9bMTHsLAevkt5xU%3D", [],
           "TestSecretKey123", "GET\n\n\n1700003600\n/my-bucket/dir/a b+c.txt", "3Q5WBmSthi5J9bMTHsLAevkt5xU=")
oss_v1_url("v-url1-3-oss2-put-content-type", "PUT", "my-bucket", "up%2Fx.png",
           "OSSAccessKeyId=LTAI5tTestAccessKeyId&Expires=1700000600&Signature=IZ0h6lO%2BUPTBl246%2BO9gZ4YbkgY%3D",
           [("Content-Type", "image/png")], "TestSecretKey123", None, "IZ0h6lO+UPTBl246+O9gZ4YbkgY=")
oss_v1_url("v-url1-4-sts-ip-endpoint", "GET", "my-bucket", "dir%2Fa.txt",
           "response-content-disposition=attachment%3B%20filename%3Da.txt&security-token=CAIStestToken%2B%2F%3D%3D&OSSAccessKeyId=STS.NTestTempAk&Expires=1700003600&Signature=FXMhKlAR36oF8j8T6mqBWvzy2Yk%3D",
           [], "TempSecret456",
           "GET\n\n\n1700003600\n/my-bucket/dir/a.txt?response-content-disposition=attachment; filename=a.txt&security-token=CAIStestToken+/==",
           "FXMhKlAR36oF8j8T6mqBWvzy2Yk=")

# ---------------------------------------------------------------- OSS V4 (§5)
def signing_key(secret, date, region, product):
    k = ("aliyun_v4" + secret).encode()
    for part in (date, region, product, "aliyun_v4_request"):
        k = sha256mac(k, part)
    return k

def oss_v4(case, method, bucket, raw_key, raw_query, headers, secret, want_sig, authorization=None,
           want_cr=None, want_sts=None, want_key=None):
    q = dq(raw_query)
    qd = dict(q)
    if authorization is not None:
        pairs = dict(p.strip().split("=", 1) for p in authorization.split(" ", 1)[1].split(","))
        cred, extra, date = pairs["Credential"], pairs.get("AdditionalHeaders", ""), hget(headers, "x-oss-date")
        payload = hget(headers, "x-oss-content-sha256") or "UNSIGNED-PAYLOAD"
    else:
        cred, extra, date = qd["x-oss-credential"], qd.get("x-oss-additional-headers", ""), qd["x-oss-date"]
        payload = "UNSIGNED-PAYLOAD"
        assert qd["x-oss-signature"] == want_sig
        q = [(k, v) for k, v in q if k != "x-oss-signature"]
    ak, day, region, product, _ = cred.split("/")
    default = lambda n: n.startswith("x-oss-") or n in ("content-type", "content-md5")
    present = {k.lower() for k, _ in headers}
    extra = sorted({n.lower() for n in extra.split(";") if n and not default(n.lower()) and n.lower() in present})
    key = urllib.parse.unquote(raw_key) if raw_key is not None else None
    uri = "/" if bucket is None else pe("/%s/" % bucket if key is None else "/%s/%s" % (bucket, key), True)
    eq = sorted((pe(k), pe(v)) for k, v in q)
    names = sorted({k.lower() for k, _ in headers if default(k.lower()) or k.lower() in extra})
    cr = "\n".join([method, uri, "&".join(k if v == "" else k + "=" + v for k, v in eq),
                    "".join(n + ":" + hget(headers, n) + "\n" for n in names), ";".join(extra), payload])
    scope = "%s/%s/%s/aliyun_v4_request" % (day, region, product)
    sts = "OSS4-HMAC-SHA256\n%s\n%s\n%s" % (date, scope, hashlib.sha256(cr.encode()).hexdigest())
    skey = signing_key(secret, day, region, product)
    sig = hmac.new(skey, sts.encode(), hashlib.sha256).hexdigest()
    for got, want in ((cr, want_cr), (sts, want_sts), (skey.hex(), want_key)):
        assert want is None or got == want, (case, got, want)
    assert sig == want_sig, (case, sig, want_sig)
    inputs = {"method": method, "bucket": bucket, "raw_key": raw_key, "raw_query": raw_query,
              "headers": [list(x) for x in headers], "secret": secret}
    if authorization is not None:
        inputs["authorization"] = authorization
    write("oss_v4", case, inputs, {"canonical_request": cr, "string_to_sign": sts,
                                   "signing_key": skey.hex(), "signature": sig})

Q = "param1=value1&%2Bparam1=value3&%7Cparam1=value4&%2Bparam2&%7Cparam2&param2"
KEY = "1234%2B-%2F123%2F1.txt"
def sdk_headers(ct, date=None):
    h = [("x-oss-head1", "value"), ("abc", "value"), ("ZAbc", "value"), ("XYZ", "value"), ("content-type", ct)]
    if date:
        h += [("x-oss-content-sha256", "UNSIGNED-PAYLOAD"), ("x-oss-date", date)]
    return h
CRED1 = "ak/20231216/cn-hangzhou/oss/aliyun_v4_request"
oss_v4("v-oss4-1-header", "PUT", "bucket", KEY, Q, sdk_headers("text/plain", "20231216T162057Z"), "sk",
       "e21d18daa82167720f9b1047ae7e7f1ce7cb77a31e8203a7d5f4624fa0284afe",
       "OSS4-HMAC-SHA256 Credential=%s,Signature=e21d18daa82167720f9b1047ae7e7f1ce7cb77a31e8203a7d5f4624fa0284afe" % CRED1,
       want_cr="PUT\n/bucket/1234%2B-/123/1.txt\n%2Bparam1=value3&%2Bparam2&%7Cparam1=value4&%7Cparam2&param1=value1&param2\ncontent-type:text/plain\nx-oss-content-sha256:UNSIGNED-PAYLOAD\nx-oss-date:20231216T162057Z\nx-oss-head1:value\n\n\nUNSIGNED-PAYLOAD",
       want_sts="OSS4-HMAC-SHA256\n20231216T162057Z\n20231216/cn-hangzhou/oss/aliyun_v4_request\nf4613657f1b108998e8dbd10a1aa5da621dc2c6e02c9ddec0f163664848704c4",
       want_key="b412a03b134ebddd720f5167b5de6db66620ebb3b01cff4d49e3ccb09f8de97f")
oss_v4("v-oss4-2-additional-headers", "PUT", "bucket", KEY, Q, sdk_headers("text/plain", "20231216T172512Z"), "sk",
       "4a4183c187c07c8947db7620deb0a6b38d9fbdd34187b6dbaccb316fa251212f",
       "OSS4-HMAC-SHA256 Credential=%s,AdditionalHeaders=ZAbc;abc,Signature=4a4183c187c07c8947db7620deb0a6b38d9fbdd34187b6dbaccb316fa251212f" % CRED1)
def url_query(extra):
    return Q + "&" + urllib.parse.urlencode(extra, quote_via=urllib.parse.quote, safe="")
S3 = "a39966c61718be0d5b14e668088b3fa07601033f6518ac7b523100014269c0fe"
oss_v4("v-oss4-3-url", "PUT", "bucket", KEY,
       url_query([("x-oss-signature-version", "OSS4-HMAC-SHA256"), ("x-oss-credential", "ak/20231217/cn-hangzhou/oss/aliyun_v4_request"),
                  ("x-oss-date", "20231217T025437Z"), ("x-oss-expires", "599"), ("x-oss-signature", S3)]),
       sdk_headers("application/octet-stream"), "sk", S3)
cr3 = open(os.path.join(ROOT, "oss_v4", "v-oss4-3-url", "canonical_request.txt")).read()
assert cr3.split("\n")[2].endswith("&param2&x-oss-credential=ak%2F20231217%2Fcn-hangzhou%2Foss%2Faliyun_v4_request&x-oss-date=20231217T025437Z&x-oss-expires=599&x-oss-signature-version=OSS4-HMAC-SHA256")
assert "\n".join(cr3.split("\n")[3:5]) == "content-type:application/octet-stream\nx-oss-head1:value"
S4 = "3817ac9d206cd6dfc90f1c09c00be45005602e55898f26f5ddb06d7892e1f8b5"
oss_v4("v-oss4-4-url-token", "PUT", "bucket", KEY,
       url_query([("x-oss-signature-version", "OSS4-HMAC-SHA256"), ("x-oss-credential", "ak/20231217/cn-hangzhou/oss/aliyun_v4_request"),
                  ("x-oss-date", "20231217T035628Z"), ("x-oss-expires", "599"), ("x-oss-security-token", "token"),
                  ("x-oss-signature", S4)]),
       sdk_headers("application/octet-stream"), "sk", S4)
oss_v4("v-oss4-5-oss2-presign-get", "GET", "my-bucket", "dir%2Fa%20b.txt",
       "x-oss-date=20240101T000000Z&x-oss-expires=3600&x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-credential=LTAI5tTestAccessKeyId%2F20240101%2Fcn-hangzhou%2Foss%2Faliyun_v4_request&x-oss-signature=be8ab0043cc7b151177322de001cfa2ae71852cdbf471073d045801f382f4c5e",
       [], "TestSecretKey123", "be8ab0043cc7b151177322de001cfa2ae71852cdbf471073d045801f382f4c5e")
cr5 = open(os.path.join(ROOT, "oss_v4", "v-oss4-5-oss2-presign-get", "canonical_request.txt")).read()
assert cr5.split("\n")[1] == "/my-bucket/dir/a%20b.txt"
S5 = "39caf40c94e2f2542df6929ed1167682e2c44d92361b919c2c33633ffeb9c1b4"
oss_v4("v-oss4-5-oss2-header-put", "PUT", "my-bucket", "dir%2Fa.txt", "",
       [("Content-Type", "text/plain"), ("x-oss-meta-a", "1"), ("x-oss-date", "20240101T000000Z"),
        ("x-oss-content-sha256", "UNSIGNED-PAYLOAD")], "TestSecretKey123", S5,
       "OSS4-HMAC-SHA256 Credential=LTAI5tTestAccessKeyId/20240101/cn-hangzhou/oss/aliyun_v4_request, Signature=" + S5)
oss_v4("v-oss4-5-sts-presign-ip-endpoint", "PUT", "my-bucket", "up%2Fx.png",
       "x-oss-security-token=CAIStestToken%2B%2F%3D%3D&x-oss-date=20240101T000000Z&x-oss-expires=900&x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-credential=STS.NTestTempAk%2F20240101%2Fcn-hangzhou%2Foss%2Faliyun_v4_request&x-oss-signature=5bf3e57bc986e5522331435996f51a6a2e513f9ba6e403ecda9664ccb9b76405",
       [], "TempSecret456", "5bf3e57bc986e5522331435996f51a6a2e513f9ba6e403ecda9664ccb9b76405")

# ---------------------------------------------------------------- PostObject (§6)
P1 = '{"expiration":"2030-01-01T00:00:00.000Z","conditions":[{"bucket":"my-bucket"},["starts-with","$key","user-1/"],["content-length-range",1,10485760]]}'
p1 = b64(P1.encode())
assert p1 == "eyJleHBpcmF0aW9uIjoiMjAzMC0wMS0wMVQwMDowMDowMC4wMDBaIiwiY29uZGl0aW9ucyI6W3siYnVja2V0IjoibXktYnVja2V0In0sWyJzdGFydHMtd2l0aCIsIiRrZXkiLCJ1c2VyLTEvIl0sWyJjb250ZW50LWxlbmd0aC1yYW5nZSIsMSwxMDQ4NTc2MF1dfQ=="
s1 = b64(sha1mac("TestSecretKey123", p1))
assert s1 == "baYl0qLip8+rqGAO1AgyaXirH3k=", s1
write("post_v1", "v1-ali-oss", {"secret": "TestSecretKey123", "policy_json": P1},
      {"policy_base64": p1, "signature": s1})
CRED = "LTAI5tTestAccessKeyId/20240101/cn-hangzhou/oss/aliyun_v4_request"
P4 = '{"expiration":"2030-01-01T00:00:00.000Z","conditions":[{"bucket":"my-bucket"},["starts-with","$key","user-1/"],{"x-oss-signature-version":"OSS4-HMAC-SHA256"},{"x-oss-credential":"%s"},{"x-oss-date":"20240101T000000Z"}]}' % CRED
p4 = b64(P4.encode())
k4 = signing_key("TestSecretKey123", "20240101", "cn-hangzhou", "oss")
s4 = hmac.new(k4, p4.encode(), hashlib.sha256).hexdigest()
assert s4 == "94b73d5ab9b93a44641ad28320fee67712538573b7ed2e12d4d955fe65310df0", s4
write("post_v4", "v4-ali-oss", {"secret": "TestSecretKey123", "policy_json": P4, "credential": CRED},
      {"policy_base64": p4, "signing_key": k4.hex(), "signature": s4})
print("all vectors reproduced; golden files written under", ROOT)
