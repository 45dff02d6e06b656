#!/usr/bin/env python3
"""Regenerates the golden files under testdata/tencent from the vectors of the Tencent spec
(tencent_aws.md sections 1 and 4).

An independent (Python stdlib) implementation computes every intermediate step; each final
signature, and every intermediate digest the spec prints, is asserted against the spec's value
before anything is written. Run from anywhere: `python3 testdata/tencent/generate.py`.
"""
import base64, datetime, hashlib, hmac, json, os, shutil, urllib.parse

ROOT = os.path.dirname(os.path.abspath(__file__))
SCHEMES = ("tc3", "tc_v1", "cos", "cos_post")

def write(scheme, case, inputs, steps):
    d = os.path.join(ROOT, scheme, case)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "input.json"), "w") as f:
        json.dump(inputs, f, indent=2, ensure_ascii=False)
        f.write("\n")
    for name, text in steps.items():
        with open(os.path.join(d, name + ".txt"), "w", newline="") as f:
            f.write(text)  # exact bytes, no trailing newline

def sha256hex(b): return hashlib.sha256(b).hexdigest()
def hget(headers, name):
    vals = [v.strip() for k, v in headers if k.lower() == name]
    return ",".join(vals) if vals else None
def check(case, got, want, what):
    # `want` may be a full value or the spec's abbreviated "prefix…suffix".
    if want is None:
        return
    if "…" in want:
        head, tail = want.split("…")
        assert got.startswith(head) and got.endswith(tail), (case, what, got, want)
    else:
        assert got == want, (case, what, got, want)

for scheme in SCHEMES:  # start from scratch so renamed cases leave nothing behind
    shutil.rmtree(os.path.join(ROOT, scheme), ignore_errors=True)

# ---------------------------------------------------------------- TC3-HMAC-SHA256 (§1.1–1.3)
def tc3(case, method, raw_query, headers, body, secret_id, secret, signed, service,
        want_sig=None, want_payload=None, want_cr_hash=None, want_cr=None, want_sts=None):
    ts = hget(headers, "x-tc-timestamp")
    date = datetime.datetime.fromtimestamp(int(ts), datetime.timezone.utc).strftime("%Y-%m-%d")
    unsigned = hget(headers, "x-tc-content-sha256") == "UNSIGNED-PAYLOAD"
    payload = sha256hex(b"UNSIGNED-PAYLOAD" if unsigned else body.encode())
    names = sorted(signed)
    canonical_headers = "".join(n + ":" + (hget(headers, n) or "").lower() + "\n" for n in names)
    cr = "\n".join([method, "/", raw_query, canonical_headers, ";".join(names), payload])
    scope = "%s/%s/tc3_request" % (date, service)
    sts = "TC3-HMAC-SHA256\n%s\n%s\n%s" % (ts, scope, sha256hex(cr.encode()))
    key = ("TC3" + secret).encode()
    for part in (date, service, "tc3_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    for got, want, what in ((payload, want_payload, "payload hash"), (sha256hex(cr.encode()), want_cr_hash, "sha256(CR)"),
                            (cr, want_cr, "canonical request"), (sts, want_sts, "string to sign"), (sig, want_sig, "signature")):
        check(case, got, want, what)
    auth = "TC3-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (secret_id, scope, ";".join(names), sig)
    write("tc3", case, {"method": method, "raw_query": raw_query, "headers": [list(h) for h in headers],
                        "body": body, "authorization": auth, "secret": secret},
          {"hashed_payload": payload, "canonical_request": cr, "string_to_sign": sts,
           "signing_key": key.hex(), "signature": sig})
    return sig

# §1.2: the official CVM DescribeInstances example; the body's \u escapes are literal ASCII.
DOC_KEY = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
DOC_ID = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"  # not part of the signature
DOC_BODY = '{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
assert len(DOC_BODY.encode()) == 86
DOC_HEADERS = [("Content-Type", "application/json; charset=utf-8"), ("Host", "cvm.tencentcloudapi.com"),
               ("X-TC-Action", "DescribeInstances"), ("X-TC-Timestamp", "1551113065"),
               ("X-TC-Version", "2017-03-12"), ("X-TC-Region", "ap-guangzhou")]
tc3("1-2-doc-describe-instances", "POST", "", DOC_HEADERS, DOC_BODY, DOC_ID, DOC_KEY, ["content-type", "host"], "cvm",
    want_payload="35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064",
    want_cr_hash="5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031",
    want_cr="POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\ncontent-type;host\n35e9c5b0…f064",
    want_sts="TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n5ffe6a04…7031",
    want_sig="72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168")
tc3("1-2-doc-x-tc-action", "POST", "", DOC_HEADERS, DOC_BODY, DOC_ID, DOC_KEY, ["content-type", "host", "x-tc-action"], "cvm",
    want_cr_hash="7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84",
    want_sig="644be983de9a8a3f00db8eadaba61467c3b429e2215758ba897b738ca469fd26")
# The older doc body: the spec prints only the payload and CR hashes; the signature is ours.
tc3("1-2-doc-older-unnamed", "POST", "", DOC_HEADERS, DOC_BODY.replace('"\\u672a\\u547d\\u540d"', '"unnamed"'),
    DOC_ID, DOC_KEY, ["content-type", "host"], "cvm",
    want_payload="99d58dfb…4907", want_cr_hash="28158430…da7a")

# §1.3: tencentcloud-sdk-python GetFederationToken against 127.0.0.1:8900.
SDK_BODY = '{"Name": "alice", "Policy": "%7B%22version%22%3A%222.0%22%7D", "DurationSeconds": 1800}'
def sdk_headers(content_type, token=None):
    h = [("Host", "127.0.0.1:8900"), ("Content-Type", content_type), ("X-TC-Action", "GetFederationToken"),
         ("X-TC-Version", "2018-08-13"), ("X-TC-Timestamp", "1700000000")]
    return h + ([("X-TC-Token", token)] if token else [])
S13 = "106412760d4c75a786cf5ae8f0f880e7bb7517398e43188b57ad3dbb672465a9"
for case, token in (("1-3-sdk-post", None), ("1-3-sdk-post-token", "TOKENXYZ")):
    tc3(case, "POST", "", sdk_headers("application/json", token), SDK_BODY, "AKIDEXAMPLE", "SKEXAMPLE",
        ["content-type", "host"], "sts", want_sig=S13,
        want_cr="POST\n/\n\ncontent-type:application/json\nhost:127.0.0.1:8900\n\ncontent-type;host\n984b31a9c4bcbfcdcfda99f5055c5a5887c9ece11726851780cd4c937b15a3b9",
        want_sts="TC3-HMAC-SHA256\n1700000000\n2023-11-14/sts/tc3_request\nfc00460731f0986d6e6b368274f351194b69f7bf4952d81fcef41eab94098494")
tc3("1-3-sdk-get", "GET", "Name=alice&Policy=%257B%2522version%2522%253A%25222.0%2522%257D&DurationSeconds=1800",
    sdk_headers("application/x-www-form-urlencoded"), "", "AKIDEXAMPLE", "SKEXAMPLE", ["content-type", "host"], "sts",
    want_sig="4228fb199de6cdf38ae8816ca9a12f8773b3fcbc32ecec125ac9ff2ac43ce42a")

# ---------------------------------------------------------------- legacy v1 (§1.5)
def tc_v1(case, method, host, raw_params, secret, want_sig, want_src=None, want_policy=None):
    params = urllib.parse.parse_qsl(raw_params, keep_blank_values=True)  # form-decode once
    wire = dict(params)
    alg = {"HmacSHA1": hashlib.sha1, "HmacSHA256": hashlib.sha256}[wire.get("SignatureMethod") or "HmacSHA1"]
    pairs = sorted((k.replace("_", "."), v) for k, v in params if k != "Signature")
    src = method + host + "/?" + "&".join(k + "=" + v for k, v in pairs)
    sig = base64.b64encode(hmac.new(secret.encode(), src.encode(), alg).digest()).decode()
    check(case, src, want_src, "source string")
    check(case, sig, want_sig, "signature")
    assert want_sig is None or wire["Signature"] == want_sig, (case, wire["Signature"])
    steps = {"string_to_sign": src, "signature": sig}
    if "Policy" in wire:
        raw = wire["Policy"]
        steps["policy_text"] = raw if raw.lstrip().startswith("{") else urllib.parse.unquote(raw)
        check(case, steps["policy_text"], want_policy, "policy text")
    write("tc_v1", case, {"method": method, "host": host, "raw_params": raw_params, "secret": secret}, steps)
    return sig

V1_DOC = [("Action", "DescribeInstances"), ("InstanceIds.0", "ins-09dx96dg"), ("Limit", "20"), ("Nonce", "11886"),
          ("Offset", "0"), ("Region", "ap-guangzhou"), ("SecretId", DOC_ID), ("Timestamp", "1465185768"),
          ("Version", "2017-03-12")]
V1_DOC_SIG = "EliP9YW3pW28FpsEdkXt/+WcGeI="
tc_v1("1-5-doc-describe-instances", "GET", "cvm.tencentcloudapi.com",
      urllib.parse.urlencode(V1_DOC + [("Signature", V1_DOC_SIG)]), DOC_KEY, V1_DOC_SIG,
      want_src="GETcvm.tencentcloudapi.com/?Action=DescribeInstances&InstanceIds.0=ins-09dx96dg&Limit=20&Nonce=11886&Offset=0&Region=ap-guangzhou&SecretId=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE&Timestamp=1465185768&Version=2017-03-12")
# qcloud-python-sts 3.1.6: Policy = quote(json.dumps(policy)); the body is requests' urlencode of the dict.
POLICY = {"version": "2.0", "statement": [{"action": ["name/cos:PutObject", "name/cos:GetObject"], "effect": "allow",
          "resource": ["qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/exampleobject",
                       "qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/dir/*"]}]}
PY_STS = [("SecretId", "AKIDEXAMPLE"), ("Timestamp", "1700000000"), ("Nonce", "123456"), ("Action", "GetFederationToken"),
          ("Version", "2018-08-13"), ("DurationSeconds", "1800"), ("Name", "cos-sts-python"),
          ("Policy", urllib.parse.quote(json.dumps(POLICY))), ("Region", "ap-guangzhou")]
PY_SIG = "3tbwrL/VLttqplBbLvuf0tGp86s="
body = urllib.parse.urlencode(PY_STS + [("Signature", PY_SIG)])
assert body.startswith("SecretId=AKIDEXAMPLE&Timestamp=1700000000&Nonce=123456&Action=GetFederationToken&Version=2018-08-13&DurationSeconds=1800&Name=cos-sts-python&Policy=%257B%2522version")
assert body.endswith("&Region=ap-guangzhou&Signature=3tbwrL%2FVLttqplBbLvuf0tGp86s%3D")
tc_v1("1-5-python-sts-get-federation-token", "POST", "sts.tencentcloudapi.com", body, "SKEXAMPLE", PY_SIG,
      want_src="POSTsts.tencentcloudapi.com/?Action=GetFederationToken&DurationSeconds=1800&Name=cos-sts-python&Nonce=123456&Policy=%7B%22version%22…&Region=ap-guangzhou&SecretId=AKIDEXAMPLE&Timestamp=1700000000&Version=2018-08-13",
      want_policy=json.dumps(POLICY))
# Not a vendor vector: the doc request with SignatureMethod=HmacSHA256, computed here only, so the
# HmacSHA256 branch is cross-checked against this independent implementation.
V1_256 = V1_DOC + [("SignatureMethod", "HmacSHA256")]
src256 = "GETcvm.tencentcloudapi.com/?" + "&".join(k + "=" + v for k, v in sorted(V1_256))
sig256 = base64.b64encode(hmac.new(DOC_KEY.encode(), src256.encode(), hashlib.sha256).digest()).decode()
tc_v1("local-hmac-sha256", "GET", "cvm.tencentcloudapi.com", urllib.parse.urlencode(V1_256 + [("Signature", sig256)]),
      DOC_KEY, sig256)

# ---------------------------------------------------------------- COS q-sign (§4.1–4.3)
def enc(s): return urllib.parse.quote(s, safe="-_.~")  # UTF-8, uppercase hex
def cos_sign(secret, key_time, http):
    sign_key = hmac.new(secret.encode(), key_time.encode(), hashlib.sha1).hexdigest()
    sts = "sha1\n%s\n%s\n" % (key_time, hashlib.sha1(http.encode()).hexdigest())
    return sign_key, sts, hmac.new(sign_key.encode(), sts.encode(), hashlib.sha1).hexdigest()

def cos(case, method, raw_path, raw_query, headers, signed_headers, signed_params, ak, secret, key_time, want_sig,
        form="header", signed_host=None, want_http=None, want_key=None, want_sts=None, query_auth_raw=False):
    """`signed_headers`/`signed_params` name (case-insensitively) what the client signed; the rest
    is on the wire unsigned. `signed_host` is the host the client signed when it differs from the
    Host header (Python signs the URL's hostname, without the port). `form` is "header" or
    "query"; a query-form authorization is appended to `raw_query` (encoded, or raw like Node)."""
    path = urllib.parse.unquote(raw_path)
    query = urllib.parse.parse_qsl(raw_query, keep_blank_values=True)
    def value_of(pairs, name):
        return next(v for k, v in pairs if k.lower() == name.lower())
    hv = [(n, signed_host if (n.lower() == "host" and signed_host) else value_of(headers, n)) for n in signed_headers]
    pv = [(n, value_of(query, n)) for n in signed_params]
    h = sorted((enc(k).lower(), enc(v)) for k, v in hv)
    p = sorted((enc(k).lower(), enc(v)) for k, v in pv)
    join = lambda l: "&".join(k + "=" + v for k, v in l)
    http = "%s\n%s\n%s\n%s\n" % (method.lower(), path, join(p), join(h))
    sign_key, sts, sig = cos_sign(secret, key_time, http)
    for got, want, what in ((http, want_http, "http string"), (sign_key, want_key, "sign key"),
                            (sts, want_sts, "string to sign"), (sig, want_sig, "signature")):
        check(case, got, want, what)
    fields = [("q-sign-algorithm", "sha1"), ("q-ak", ak), ("q-sign-time", key_time), ("q-key-time", key_time),
              ("q-header-list", ";".join(k for k, _ in h)), ("q-url-param-list", ";".join(k for k, _ in p)),
              ("q-signature", sig)]
    inputs = {"method": method, "raw_path": raw_path, "raw_query": raw_query, "headers": [list(x) for x in headers]}
    if form == "header":
        inputs["authorization"] = "&".join(k + "=" + v for k, v in fields)
    else:
        auth = "&".join(k + "=" + v for k, v in fields) if query_auth_raw else urllib.parse.urlencode(fields)
        inputs["raw_query"] = auth + ("&" + raw_query if raw_query else "")
    inputs["secret"] = secret
    write("cos", case, inputs, {"http_string": http, "string_to_sign": sts, "sign_key": sign_key, "signature": sig})

# §4.2: the official examples.
AK42, SK42 = "AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q", "BQYIM75p8x0iWVFSIgqEKwFprpRSVHlz"
HOST42 = "examplebucket-1250000000.cos.ap-beijing.myqcloud.com"
PATH42 = "/exampleobject(%E8%85%BE%E8%AE%AF%E4%BA%91)"
PUT42 = [("Date", "Thu, 16 May 2019 06:45:51 GMT"), ("Host", HOST42), ("Content-Type", "text/plain"),
         ("Content-Length", "13"), ("Content-MD5", "mQ/fVh815F3k6TAUm8m0eg=="), ("x-cos-acl", "private"),
         ("x-cos-grant-read", 'uin="100000000011"')]
cos("4-2-doc-put", "PUT", PATH42, "", PUT42, [k for k, _ in PUT42], [], AK42, SK42, "1557989151;1557996351",
    "3b8851a11a569213c17ba8fa7dcf2abec6935172", want_key="eb2519b498b02ac213cb1f3d1a3d27a3b3c9bc5f",
    want_http="put\n/exampleobject(腾讯云)\n\ncontent-length=13&content-md5=mQ%2FfVh815F3k6TAUm8m0eg%3D%3D&content-type=text%2Fplain&date=Thu%2C%2016%20May%202019%2006%3A45%3A51%20GMT&host=examplebucket-1250000000.cos.ap-beijing.myqcloud.com&x-cos-acl=private&x-cos-grant-read=uin%3D%22100000000011%22\n",
    want_sts="sha1\n1557989151;1557996351\n8b2751e77f43a0995d6e9eb9477f4b685cca4172\n")
GET42 = [("Date", "Thu, 16 May 2019 06:55:53 GMT"), ("Host", HOST42)]
Q42 = "response-content-type=application%2Foctet-stream&response-cache-control=max-age%3D600"
P42 = ["response-content-type", "response-cache-control"]
cos("4-2-doc-get", "GET", PATH42, Q42, GET42, ["Date", "Host"], P42, AK42, SK42, "1557989753;1557996953",
    "01681b8c9d798a678e43b685a9f1bba0f6c0e012", want_key="937914bf490e9e8c189836aad2052e4feeb35eaf",
    want_http="get\n/exampleobject(腾讯云)\nresponse-cache-control=max-age%3D600&response-content-type=application%2Foctet-stream\ndate=Thu%2C%2016%20May%202019%2006%3A55%3A53%20GMT&host=examplebucket-1250000000.cos.ap-beijing.myqcloud.com\n",
    want_sts="sha1\n1557989753;1557996953\n54ecfe22f59d3514fdc764b87a32d8133ea611e6\n")
OLD = [("Host", "bucket1-1254000000.cos.ap-beijing.myqcloud.com"), ("Range", "bytes=0-3")]
cos("4-2-doc-older-get", "GET", "/testfile", "", OLD, ["Host", "Range"], [], AK42, SK42, "1417773892;1417853898",
    "4b6cbab14ce01381c29032423481ebffd514e8be", want_key="d265642cf75792e70e35030fd14e73134094d673",
    want_http="get\n/testfile\n\nhost=bucket1-1254000000.cos.ap-beijing.myqcloud.com&range=bytes%3D0-3\n")
# §4.3 h, i: cos-js-sdk-v5 getAuthorization on the doc requests; JS signs neither Date nor Content-Type.
PUT_JS = [x for x in PUT42 if x[0] not in ("Date", "Content-Type")]
cos("4-3-h-js-get-authorization-put", "PUT", PATH42, "", PUT_JS, [k for k, _ in PUT_JS], [], AK42, SK42,
    "1557989151;1557996351", "65788349a05a472789af1637995918716f64cc20")
assert ";".join(sorted(k.lower() for k, _ in PUT_JS)) == "content-length;content-md5;host;x-cos-acl;x-cos-grant-read"
cos("4-3-i-js-get-authorization-get", "GET", PATH42, Q42, [("Host", HOST42)], ["Host"], P42, AK42, SK42,
    "1557989753;1557996953", "cf18ded2f669fcafa4b98e02c2a3fdb2b2e55c43")

# §4.3 a–g: the SDKs against 127.0.0.1, time frozen at 1700000000.
AK, SK = "AKIDEXAMPLE", "SKEXAMPLE"
VHOST = "examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com"
PY_KT, PY_URL_KT = "1699999940;1700010000", "1699999940;1700000300"
TOKEN = ("x-cos-security-token", "TOKENXYZ")
cos("4-3-a-python-put", "PUT", "/dir/a%20b%2Bc.txt", "",
    [("Host", VHOST), ("Content-Length", "5"), ("Content-Type", "text/plain"), TOKEN],
    ["Content-Length", "Content-Type", "Host", "x-cos-security-token"], [], AK, SK, PY_KT,
    "fef664caa41a5b651c6adcc6fd69353430c74f93",
    want_http="put\n/dir/a b+c.txt\n\ncontent-length=5&content-type=text%2Fplain&host=examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com&x-cos-security-token=TOKENXYZ\n")
cos("4-3-b-python-list", "GET", "/", "prefix=dir%2F&delimiter=&marker=&max-keys=10&encoding-type=url",
    [("Host", VHOST), TOKEN], ["Host", "x-cos-security-token"], ["prefix", "delimiter", "marker", "max-keys", "encoding-type"],
    AK, SK, PY_KT, "c27701c941e6f3c968ec948db6d897b64136ab65",
    want_http="get\n/\ndelimiter=&encoding-type=url&marker=&max-keys=10&prefix=dir%2F\nhost=examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com&x-cos-security-token=TOKENXYZ\n")
# c: the IP-mode presigned URL is fetched from 127.0.0.1:8901; Python signed the hostname without the port.
cos("4-3-c-python-presign-ip", "GET", "/dir/a.txt", "", [("Host", "127.0.0.1:8901")], ["Host"], [], AK, SK, PY_URL_KT,
    "ee7268b8f497f3fffbc9f651c9cdbc8c4788544c", form="query", signed_host="127.0.0.1",
    want_http="get\n/dir/a.txt\n\nhost=127.0.0.1\n")
# d: the token passed as a param is signed (q-url-param-list) and appended after the signature.
cos("4-3-d-python-presign-token", "GET", "/dir/a.txt", "x-cos-security-token=TOKENXYZ", [("Host", VHOST)], ["Host"],
    ["x-cos-security-token"], AK, SK, PY_URL_KT, "e7b75c1177bc536aea974b1d8a8b57cac2a57f54", form="query",
    want_http="get\n/dir/a.txt\nx-cos-security-token=TOKENXYZ\nhost=examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com\n")
# e: get_auth in IP mode, used as the Authorization header of a request to 127.0.0.1:8901.
cos("4-3-e-python-get-auth", "GET", "/dir/a.txt", "versionId=v1", [("Host", "127.0.0.1:8901"), ("Range", "bytes=0-3")],
    ["Host", "Range"], ["versionId"], AK, SK, PY_URL_KT, "6a7e28830fd24e30f8d4f4cb1abe0f5d19c86071",
    signed_host="127.0.0.1", want_http="get\n/dir/a.txt\nversionid=v1\nhost=127.0.0.1&range=bytes%3D0-3\n")
# f, g: cos-nodejs-sdk-v5 with Domain 127.0.0.1:8902; the token travels unsigned.
NODE_HOST = ("Host", "127.0.0.1:8902")
cos("4-3-f-node-put", "PUT", "/dir/a%20b%2Bc.txt", "", [NODE_HOST, ("Content-Length", "5"), TOKEN],
    ["Content-Length", "Host"], [], AK, SK, "1699999999;1700000899", "436d4b245bc80b6dcf230eedb7eba8ccd4135f97",
    want_http="put\n/dir/a b+c.txt\n\ncontent-length=5&host=127.0.0.1%3A8902\n")
cos("4-3-g-node-presign", "GET", "/dir/a.txt", "x-cos-security-token=TOKENXYZ", [NODE_HOST], ["Host"], [], AK, SK,
    "1699999999;1700000299", "48f1d4b5fa774189c0b575ebf231ba99e98f291d", form="query", query_auth_raw=True,
    want_http="get\n/dir/a.txt\n\nhost=127.0.0.1%3A8902\n")

# ---------------------------------------------------------------- COS POST Object (§4.4)
# The doc's 555-byte policy, reconstructed from the POST Object page; its SHA-1 is the spec's
# StringToSign, which confirms every byte (4-space indent, LF line ends, no final newline).
POST_POLICY = """{
    "expiration": "2019-08-30T09:38:12.414Z",
    "conditions": [
        { "acl": "default" },
        { "bucket": "examplebucket-1250000000" },
        [ "starts-with", "$key", "folder/subfolder/" ],
        [ "starts-with", "$Content-Type", "image/" ],
        [ "starts-with", "$success_action_redirect", "https://my.website/" ],
        [ "eq", "$x-cos-server-side-encryption", "AES256" ],
        { "q-sign-algorithm": "sha1" },
        { "q-ak": "AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q" },
        { "q-sign-time": "1567150692;1567157892" }
    ]
}"""
assert len(POST_POLICY.encode()) == 555
KT44 = "1567150692;1567157892"
sk44 = hmac.new(SK42.encode(), KT44.encode(), hashlib.sha1).hexdigest()
sts44 = hashlib.sha1(POST_POLICY.encode()).hexdigest()
sig44 = hmac.new(sk44.encode(), sts44.encode(), hashlib.sha1).hexdigest()
check("4-4", sk44, "39acc8c9f34ba5b19bce4e965b370cd3f62d2fba", "sign key")
check("4-4", sts44, "d5d903b8360468bc81c1311f134989bc8c8b5b89", "string to sign")
check("4-4", sig44, "7758dc9a832e9d301dca704cacbf9d9f8172fdef", "signature")
# A form that satisfies the policy (ours: the doc shows none), without file, policy and q-signature.
FORM44 = [["key", "folder/subfolder/photo.jpg"], ["acl", "default"], ["Content-Type", "image/jpeg"],
          ["success_action_redirect", "https://my.website/done"], ["x-cos-server-side-encryption", "AES256"],
          ["q-sign-algorithm", "sha1"], ["q-ak", AK42], ["q-key-time", KT44]]
write("cos_post", "4-4-doc-policy",
      {"secret": SK42, "bucket": "examplebucket-1250000000", "policy_json": POST_POLICY, "fields": FORM44,
       "signature": sig44, "now": "2019-08-30T09:00:00Z"},
      {"policy_base64": base64.b64encode(POST_POLICY.encode()).decode(), "sign_key": sk44,
       "string_to_sign": sts44, "signature": sig44})
print("all vectors reproduced; golden files written under", ROOT)
