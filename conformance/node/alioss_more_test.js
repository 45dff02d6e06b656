// More of the real ali-oss SDK against stsgate's oss face: V4 signing, sldEnable (path style with
// the Host override, spec §7.1), refreshSTSToken, bucket CORS, HEAD errors via x-oss-err, copy,
// deleteMulti, and signatureUrl/signatureUrlV4 PUT URLs sent by a plain HTTP client.
// Run by conformance/test_alioss.py.
//
// Env: OSS_ENDPOINT (http://127.0.0.1:PORT), OSS_BUCKET, OSS_AK, OSS_SK, [OSS_TOKEN],
//      OSS_PREFIX (key prefix the credentials may use), OSS_TMP (a scratch dir),
//      [OSS_REFRESH_CREDS] (JSON of an AssumeRole `Credentials` object, for refreshSTSToken).
// Prints one "ok <step>" line per passed step; exits 1 with a message on the first failure.
'use strict';

const OSS = require('ali-oss');
const assert = require('assert');
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const path = require('path');

const env = (name) => {
  const v = process.env[name];
  if (v === undefined || v === '') throw new Error(`missing env ${name}`);
  return v;
};

const endpoint = env('OSS_ENDPOINT');
const bucket = env('OSS_BUCKET');
const prefix = env('OSS_PREFIX');
const tmp = env('OSS_TMP');
const token = process.env.OSS_TOKEN || '';
const creds = {
  accessKeyId: env('OSS_AK'),
  accessKeySecret: env('OSS_SK'),
  ...(token ? { stsToken: token } : {}),
};
const base = { endpoint, region: 'oss-cn-hangzhou', bucket, timeout: 60000 };

const md5 = (buf) => crypto.createHash('md5').update(buf).digest('hex');
const etagOf = (buf) => `"${md5(buf).toUpperCase()}"`;

// A plain HTTP request to the oss face, with the Host header of the (host-named) URL.
function raw(method, url, headers, body) {
  const target = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: target.hostname,
      port: target.port,
      method,
      path: url.pathname + url.search,
      headers: { Host: url.host, ...(headers || {}) },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function expectError(promise, name, status) {
  try {
    await promise;
  } catch (e) {
    assert.strictEqual(e.name, name, `want ${name}, got ${e.name}: ${e.message}`);
    assert.strictEqual(e.status, status, `want status ${status}, got ${e.status}: ${e.message}`);
    return e;
  }
  assert.fail(`expected ${name}`);
}

async function keysUnder(client, p) {
  const res = await client.listV2({ prefix: p, 'max-keys': 1000 });
  return (res.objects || []).map((o) => o.name).sort();
}

// put / get / head / list / multipartUpload / delete with one client configuration.
async function roundTrip(client, label, withMultipart) {
  const dir = `${prefix}${label}/`;
  const data = Buffer.from(`${label} ${Date.now()} ${crypto.randomBytes(8).toString('hex')}`);
  const key = `${dir}a b+c.txt`;
  const put = await client.put(key, data, { meta: { label } });
  assert.strictEqual(put.res.status, 200);
  assert.strictEqual(put.res.headers.etag, etagOf(data));
  const got = await client.get(key);
  assert.ok(Buffer.from(got.content).equals(data), `${label}: get content`);
  assert.strictEqual(got.res.headers['x-oss-meta-label'], label);
  const head = await client.head(key);
  assert.strictEqual(head.status, 200);
  assert.strictEqual(head.meta.label, label);
  assert.strictEqual(head.res.headers['content-length'], String(data.length));
  const list = await client.list({ prefix: dir, 'max-keys': 100 });
  assert.deepStrictEqual((list.objects || []).map((o) => [o.name, o.size, o.etag]),
    [[key, data.length, etagOf(data)]]);
  const v2 = await client.listV2({ prefix: dir, delimiter: '/' });
  assert.deepStrictEqual((v2.objects || []).map((o) => o.name), [key]);
  const keys = [key];
  if (withMultipart) {
    const bigPath = path.join(tmp, `${label}.bin`);
    const big = crypto.randomBytes(102400 * 2 + 333);
    fs.writeFileSync(bigPath, big);
    const mp = await client.multipartUpload(`${dir}big.bin`, bigPath, { partSize: 102400, parallel: 2 });
    assert.strictEqual(mp.res.status, 200);
    const bigGet = await client.get(`${dir}big.bin`);
    assert.strictEqual(md5(Buffer.from(bigGet.content)), md5(big), `${label}: multipart content`);
    assert.strictEqual(bigGet.res.headers['x-oss-object-type'], 'Multipart');
    keys.push(`${dir}big.bin`);
  }
  await expectError(client.get(`${dir}missing.txt`), 'NoSuchKeyError', 404);
  for (const k of keys) {
    const del = await client.delete(k);
    assert.strictEqual(del.res.status, 204);
  }
  assert.deepStrictEqual(await keysUnder(client, dir), []);
}

async function main() {
  const client = new OSS({ ...base, ...creds });

  // V4 signing (OSS4-HMAC-SHA256), region derived from 'oss-cn-hangzhou'.
  const v4 = new OSS({ ...base, ...creds, authorizationV4: true });
  await roundTrip(v4, 'v4', true);
  const v4bad = new OSS({ ...base, ...creds, accessKeySecret: `${creds.accessKeySecret}x`, authorizationV4: true });
  await expectError(v4bad.list({ prefix }), 'SignatureDoesNotMatchError', 403);
  console.log('ok v4');

  // sldEnable: the URL is /bucket/key and the Host header still names the bucket.
  const sld = new OSS({ ...base, ...creds, sldEnable: true });
  await roundTrip(sld, 'sld', false);
  const sldV4 = new OSS({ ...base, ...creds, sldEnable: true, authorizationV4: true });
  await roundTrip(sldV4, 'sldv4', true);
  console.log('ok sld');

  // HEAD errors: 404 is NoSuchKey; others come from the base64 <Error> in x-oss-err.
  const missing = await expectError(client.head(`${prefix}nothing-here.txt`), 'NoSuchKeyError', 404);
  assert.strictEqual(missing.code, 'NoSuchKey');
  const bad = new OSS({ ...base, ...creds, accessKeySecret: `${creds.accessKeySecret}x` });
  const badHead = await expectError(bad.head(`${prefix}nothing-here.txt`), 'SignatureDoesNotMatchError', 403);
  assert.strictEqual(badHead.code, 'SignatureDoesNotMatch');
  assert.match(badHead.requestId || '', /^[0-9A-F]{24}$/);
  console.log('ok head-errors');

  // copy (same bucket), with metadata kept and replaced.
  const src = `${prefix}copy/src file+.txt`;
  const srcData = Buffer.from(`copy source ${Date.now()}`);
  await client.put(src, srcData, { meta: { origin: 'src' } });
  const cp = await client.copy(`${prefix}copy/dst.txt`, src);
  assert.strictEqual(cp.res.status, 200);
  assert.strictEqual(cp.data.etag, etagOf(srcData));
  assert.ok(cp.data.lastModified);
  const cpGet = await client.get(`${prefix}copy/dst.txt`);
  assert.ok(Buffer.from(cpGet.content).equals(srcData));
  assert.strictEqual(cpGet.res.headers['x-oss-meta-origin'], 'src');
  await client.copy(`${prefix}copy/dst2.txt`, src, { meta: { origin: 'replaced' } });
  assert.strictEqual((await client.head(`${prefix}copy/dst2.txt`)).meta.origin, 'replaced');
  await expectError(client.copy(`${prefix}copy/dst3.txt`, `${prefix}copy/absent.txt`), 'NoSuchKeyError', 404);
  console.log('ok copy');

  // deleteMulti, verbose: every key (also absent ones) is reported deleted.
  const delKeys = [src, `${prefix}copy/dst.txt`, `${prefix}copy/dst2.txt`, `${prefix}copy/never.txt`];
  const dm = await client.deleteMulti(delKeys);
  assert.strictEqual(dm.res.status, 200);
  assert.deepStrictEqual(dm.deleted.map((d) => d.Key).sort(), [...delKeys].sort());
  assert.deepStrictEqual(await keysUnder(client, `${prefix}copy/`), []);
  console.log('ok deleteMulti-verbose');

  // signatureUrl / signatureUrlV4 refuse IP endpoints: sign for a host name, send to the oss face.
  const named = new OSS({ ...base, ...creds, endpoint: 'http://oss-cn-hangzhou.aliyuncs.com' });
  const putKey = `${prefix}signed/put me.txt`;
  const putData = Buffer.from(`signed put ${Date.now()}`);
  const putUrl = new URL(named.signatureUrl(putKey, { method: 'PUT', expires: 600, 'Content-Type': 'text/plain' }));
  assert.strictEqual(putUrl.host, `${bucket}.oss-cn-hangzhou.aliyuncs.com`);
  const putRes = await raw('PUT', putUrl, { 'Content-Type': 'text/plain', 'Content-Length': putData.length }, putData);
  assert.strictEqual(putRes.status, 200, `signatureUrl PUT: ${putRes.status} ${putRes.body}`);
  assert.strictEqual(putRes.headers.etag, etagOf(putData));
  const putBack = await client.get(putKey);
  assert.ok(Buffer.from(putBack.content).equals(putData));
  assert.strictEqual(putBack.res.headers['content-type'], 'text/plain');
  // The Content-Type is part of what was signed.
  const wrongType = await raw('PUT', putUrl, { 'Content-Type': 'image/png', 'Content-Length': putData.length }, putData);
  assert.strictEqual(wrongType.status, 403, `wrong type: ${wrongType.status}`);
  assert.ok(wrongType.body.toString().includes('<Code>SignatureDoesNotMatch</Code>'), wrongType.body.toString());
  // A V1 GET URL with a response-* override.
  const getUrl = new URL(named.signatureUrl(putKey, { expires: 600, response: { 'content-type': 'application/x-over' } }));
  const viaGet = await raw('GET', getUrl);
  assert.strictEqual(viaGet.status, 200, `signatureUrl GET: ${viaGet.status} ${viaGet.body}`);
  assert.ok(viaGet.body.equals(putData));
  assert.strictEqual(viaGet.headers['content-type'], 'application/x-over');
  // V4 URL, PUT then GET.
  const v4Key = `${prefix}signed/v4.txt`;
  const v4Data = Buffer.from(`signed v4 ${Date.now()}`);
  const v4Put = new URL(await named.signatureUrlV4('PUT', 600, { headers: { 'Content-Type': 'text/plain' } }, v4Key));
  assert.strictEqual(v4Put.searchParams.get('x-oss-signature-version'), 'OSS4-HMAC-SHA256');
  const v4PutRes = await raw('PUT', v4Put, { 'Content-Type': 'text/plain', 'Content-Length': v4Data.length }, v4Data);
  assert.strictEqual(v4PutRes.status, 200, `signatureUrlV4 PUT: ${v4PutRes.status} ${v4PutRes.body}`);
  const v4Get = new URL(await named.signatureUrlV4('GET', 600, {}, v4Key));
  const v4GetRes = await raw('GET', v4Get);
  assert.strictEqual(v4GetRes.status, 200, `signatureUrlV4 GET: ${v4GetRes.status} ${v4GetRes.body}`);
  assert.ok(v4GetRes.body.equals(v4Data));
  // V4 URL with AdditionalHeaders: cache-control is signed, so another value does not verify.
  const ahKey = `${prefix}signed/additional.txt`;
  const ahHeaders = { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache' };
  const ahUrl = new URL(await named.signatureUrlV4('PUT', 600, { headers: ahHeaders }, ahKey, ['cache-control']));
  assert.strictEqual(ahUrl.searchParams.get('x-oss-additional-headers'), 'cache-control');
  const ahBad = await raw('PUT', ahUrl, { ...ahHeaders, 'Cache-Control': 'max-age=1', 'Content-Length': 2 }, 'hi');
  assert.strictEqual(ahBad.status, 403, `additional header changed: ${ahBad.status}`);
  assert.ok(ahBad.body.toString().includes('<Code>SignatureDoesNotMatch</Code>'), ahBad.body.toString());
  const ahOk = await raw('PUT', ahUrl, { ...ahHeaders, 'Content-Length': 2 }, 'hi');
  assert.strictEqual(ahOk.status, 200, `additional headers: ${ahOk.status} ${ahOk.body}`);
  assert.strictEqual((await client.head(ahKey)).res.headers['cache-control'], 'no-cache');
  await client.deleteMulti([putKey, v4Key, ahKey], { quiet: true });
  console.log('ok signatureUrl-put');

  if (!token) {
    // Bucket CORS (bucket-level calls: root key only).
    const rules = [{
      allowedOrigin: ['https://app.example.com', 'http://*.example.org'],
      allowedMethod: ['GET', 'PUT'],
      allowedHeader: ['*'],
      exposeHeader: ['ETag', 'x-oss-request-id'],
      maxAgeSeconds: '300',
    }, {
      allowedOrigin: '*',
      allowedMethod: 'HEAD',
    }];
    const put = await client.putBucketCORS(bucket, rules);
    assert.strictEqual(put.res.status, 200);
    const got = await client.getBucketCORS(bucket);
    assert.strictEqual(got.res.status, 200);
    assert.strictEqual(got.rules.length, 2);
    assert.deepStrictEqual(got.rules[0].allowedOrigin, ['https://app.example.com', 'http://*.example.org']);
    assert.deepStrictEqual(got.rules[0].allowedMethod, ['GET', 'PUT']);
    assert.strictEqual(got.rules[0].allowedHeader, '*');
    assert.deepStrictEqual(got.rules[0].exposeHeader, ['ETag', 'x-oss-request-id']);
    assert.strictEqual(got.rules[0].maxAgeSeconds, '300');
    assert.strictEqual(got.rules[1].allowedOrigin, '*');
    assert.strictEqual(got.rules[1].allowedMethod, 'HEAD');
    // A browser preflight against those rules (unauthenticated, path style).
    const pre = await raw('OPTIONS', new URL(`${endpoint}/${bucket}/x.txt`), {
      Host: new URL(endpoint).host,
      Origin: 'http://a.example.org',
      'Access-Control-Request-Method': 'PUT',
      'Access-Control-Request-Headers': 'content-type',
    });
    assert.strictEqual(pre.status, 200, `preflight: ${pre.status} ${pre.body}`);
    assert.strictEqual(pre.headers['access-control-allow-origin'], 'http://a.example.org');
    assert.strictEqual(pre.headers['access-control-max-age'], '300');
    const del = await client.deleteBucketCORS(bucket);
    assert.strictEqual(del.res.status, 204);
    await expectError(client.getBucketCORS(bucket), 'NoSuchCORSConfigurationError', 404);
    console.log('ok cors');
  }

  if (token) {
    // refreshSTSToken: within the interval (counted from construction) the initial, broken token
    // is used and fails; once the interval has passed, the next call refreshes first, here to the
    // raw AssumeRole Credentials object (PascalCase keys, spec §9.c).
    const fresh = JSON.parse(env('OSS_REFRESH_CREDS'));
    let refreshed = 0;
    const refreshing = new OSS({
      ...base,
      ...creds,
      stsToken: `${token.slice(0, -8)}AAAAAAAA`,
      refreshSTSTokenInterval: 1000,
      refreshSTSToken: async () => { refreshed += 1; return { ...fresh }; },
    });
    await expectError(refreshing.list({ prefix }), 'InvalidSecurityTokenError', 403);
    assert.strictEqual(refreshed, 0);
    await new Promise((resolve) => { setTimeout(resolve, 1100); });
    const data = Buffer.from(`refreshed ${Date.now()}`);
    const key = `${prefix}refresh.txt`;
    await refreshing.put(key, data);
    assert.ok(refreshed >= 1, 'refreshSTSToken was called');
    assert.strictEqual(refreshing.options.accessKeyId, fresh.AccessKeyId);
    assert.ok(Buffer.from((await refreshing.get(key)).content).equals(data));
    // The refreshed credentials carry their own policy: outside it is AccessDenied.
    await expectError(refreshing.put('users/bob/x.txt', data), 'AccessDeniedError', 403);
    await refreshing.delete(key);
    console.log('ok refreshSTSToken');
  }
  console.log('ALL OK');
}

main().catch((e) => {
  console.error(`FAILED: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
