// Drives the real ali-oss SDK against stsgate's oss face. Run by conformance/test_alioss.py.
//
// Env: OSS_ENDPOINT (http://127.0.0.1:PORT), OSS_BUCKET, OSS_AK, OSS_SK, [OSS_TOKEN],
//      OSS_PREFIX (key prefix the credentials may use), OSS_TMP (a scratch dir).
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
const creds = {
  accessKeyId: env('OSS_AK'),
  accessKeySecret: env('OSS_SK'),
  ...(process.env.OSS_TOKEN ? { stsToken: process.env.OSS_TOKEN } : {}),
};

const md5 = (buf) => crypto.createHash('md5').update(buf).digest('hex');

function rawGet(url, hostHeader) {
  const target = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: target.hostname,
      port: target.port,
      method: 'GET',
      path: url.pathname + url.search,
      headers: { Host: hostHeader },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function main() {
  const client = new OSS({ endpoint, region: 'oss-cn-hangzhou', bucket, ...creds, timeout: 60000 });

  // put / get
  const small = Buffer.from(`hello from ali-oss ${Date.now()}\n`);
  const putRes = await client.put(`${prefix}hello.txt`, small, { headers: { 'x-oss-meta-sdk': 'ali-oss' } });
  assert.strictEqual(putRes.res.status, 200);
  assert.strictEqual(putRes.res.headers.etag, `"${md5(small).toUpperCase()}"`);
  console.log('ok put');

  const getRes = await client.get(`${prefix}hello.txt`);
  assert.strictEqual(getRes.res.status, 200);
  assert.ok(Buffer.from(getRes.content).equals(small), 'get content');
  assert.strictEqual(getRes.res.headers['x-oss-meta-sdk'], 'ali-oss');
  console.log('ok get');

  const headRes = await client.head(`${prefix}hello.txt`);
  assert.strictEqual(headRes.status, 200);
  assert.strictEqual(headRes.meta.sdk, 'ali-oss');
  console.log('ok head');

  // a key with characters that need encoding
  const oddKey = `${prefix}dir/a b+c.txt`;
  await client.put(oddKey, Buffer.from('odd'));
  assert.strictEqual(Buffer.from((await client.get(oddKey)).content).toString(), 'odd');
  console.log('ok odd-key');

  // list
  const listRes = await client.list({ prefix, 'max-keys': 100 });
  const keys = (listRes.objects || []).map((o) => o.name).sort();
  assert.deepStrictEqual(keys, [`${prefix}dir/a b+c.txt`, `${prefix}hello.txt`].sort());
  const listDelim = await client.list({ prefix, delimiter: '/' });
  assert.deepStrictEqual(listDelim.prefixes, [`${prefix}dir/`]);
  console.log('ok list');

  const v2 = await client.listV2({ prefix, 'max-keys': 1 });
  assert.strictEqual(v2.objects.length, 1);
  assert.strictEqual(v2.isTruncated, true);
  assert.ok(v2.nextContinuationToken);
  const v2b = await client.listV2({ prefix, 'max-keys': 10, 'continuation-token': v2.nextContinuationToken });
  assert.strictEqual(v2b.objects.length, 1);
  console.log('ok listV2');

  // multipartUpload with 100 KiB parts
  const bigPath = path.join(tmp, 'big.bin');
  const big = crypto.randomBytes(102400 * 2 + 5000);
  fs.writeFileSync(bigPath, big);
  const seenParts = [];
  const mpRes = await client.multipartUpload(`${prefix}big.bin`, bigPath, {
    partSize: 102400,
    parallel: 2,
    progress: (p, cpt) => { if (cpt) seenParts.push(cpt.doneParts.length); },
  });
  assert.strictEqual(mpRes.res.status, 200);
  assert.ok(Math.max(...seenParts) >= 3, `parts done: ${seenParts}`);
  const bigGet = await client.get(`${prefix}big.bin`);
  assert.strictEqual(md5(Buffer.from(bigGet.content)), md5(big));
  assert.strictEqual(bigGet.res.headers['x-oss-object-type'], 'Multipart');
  console.log('ok multipartUpload');

  // signatureUrl refuses IP endpoints: sign for a host name, send to the oss face with that Host.
  const named = new OSS({ endpoint: 'http://oss-cn-hangzhou.aliyuncs.com', region: 'oss-cn-hangzhou', bucket, ...creds });
  const signed = new URL(named.signatureUrl(`${prefix}hello.txt`, { expires: 600 }));
  assert.ok(signed.searchParams.get('Signature'));
  const viaUrl = await rawGet(signed, signed.host);
  assert.strictEqual(viaUrl.status, 200, `signatureUrl GET: ${viaUrl.status} ${viaUrl.body}`);
  assert.ok(viaUrl.body.equals(small), 'signatureUrl content');
  // A tampered URL is refused.
  signed.searchParams.set('Expires', String(Number(signed.searchParams.get('Expires')) + 1));
  const tampered = await rawGet(signed, signed.host);
  assert.strictEqual(tampered.status, 403, `tampered: ${tampered.status}`);
  assert.ok(tampered.body.toString().includes('SignatureDoesNotMatch'), tampered.body.toString());
  console.log('ok signatureUrl');

  // errors surface as ali-oss error names
  try {
    await client.get(`${prefix}missing.txt`);
    assert.fail('expected NoSuchKey');
  } catch (e) {
    assert.strictEqual(e.name, 'NoSuchKeyError', String(e));
    assert.strictEqual(e.status, 404);
  }
  console.log('ok errors');

  await client.deleteMulti([`${prefix}hello.txt`, oddKey, `${prefix}big.bin`], { quiet: true });
  const after = await client.list({ prefix });
  assert.deepStrictEqual(after.objects || [], []);
  console.log('ok deleteMulti');
  console.log('ALL OK');
}

main().catch((e) => {
  console.error(`FAILED: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
