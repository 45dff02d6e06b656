// Drives the real cos-nodejs-sdk-v5 SDK against stsgate's cos face. Run by conformance/test_cos_node.py.
//
// Env: COS_PORT, COS_BUCKET (<name>-<appid>), COS_REGION, COS_SECRET_ID, COS_SECRET_KEY,
//      [COS_TOKEN], COS_PREFIX (key prefix the credentials may use), [COS_OUTSIDE] (a prefix they
//      must not reach), COS_MODE (`ip`: Ip '127.0.0.1:PORT'; `path`: Domain '127.0.0.1:PORT/{Bucket}';
//      `proxy`: Proxy 'http://127.0.0.1:PORT'),
//      COS_TMP (a scratch dir), [COS_STEPS] (comma-separated subset).
// Prints one "ok <step>" line per passed step; exits 1 with a message on the first failure.
'use strict';

const COS = require('cos-nodejs-sdk-v5');
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

const port = env('COS_PORT');
const Bucket = env('COS_BUCKET');
const Region = env('COS_REGION');
const prefix = env('COS_PREFIX');
const outside = process.env.COS_OUTSIDE || '';
const tmp = env('COS_TMP');
const mode = env('COS_MODE');
const only = (process.env.COS_STEPS || '').split(',').filter(Boolean);
const creds = {
  SecretId: env('COS_SECRET_ID'),
  SecretKey: env('COS_SECRET_KEY'),
  ...(process.env.COS_TOKEN ? { SecurityToken: process.env.COS_TOKEN } : {}),
};
const where = {
  ip: { Ip: `127.0.0.1:${port}` },
  path: { Domain: `127.0.0.1:${port}/{Bucket}` },
  proxy: { Proxy: `http://127.0.0.1:${port}` },
}[mode];
if (!where) throw new Error(`COS_MODE ${mode}: use ip, path or proxy`);
const cos = new COS({ ...creds, ...where, Protocol: 'http:', Timeout: 60000 });
const B = { Bucket, Region };
const host = `${Bucket}.cos.${Region}.myqcloud.com`;
const md5 = (buf) => crypto.createHash('md5').update(buf).digest('hex');

/** GET a URL made for the bucket's own host, sent to the cos face with that Host. */
function fetchVia(url) {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'GET', path: u.pathname + u.search,
      headers: { Host: u.host } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function refused(what, promise, code = 'AccessDenied', status = 403) {
  try {
    await promise;
  } catch (e) {
    assert.strictEqual(e.statusCode, status, `${what}: ${JSON.stringify(e)}`);
    assert.strictEqual(e.code, code, `${what}: ${JSON.stringify(e)}`);
    return;
  }
  throw new Error(`${what} was not refused`);
}

const steps = {
  async put() {
    const body = Buffer.from('hello from node');
    const r = await cos.putObject({ ...B, Key: `${prefix}dir/a b+c.txt`, Body: body, ContentType: 'text/plain' });
    assert.strictEqual(r.statusCode, 200);
    assert.strictEqual(r.ETag, `"${md5(body)}"`);
  },
  async get() {
    const r = await cos.getObject({ ...B, Key: `${prefix}dir/a b+c.txt`, Range: 'bytes=6-9' });
    assert.strictEqual(r.statusCode, 206);
    assert.strictEqual(r.Body.toString(), 'from');
    assert.strictEqual(r.headers['content-range'], 'bytes 6-9/15');
  },
  async head() {
    const r = await cos.headObject({ ...B, Key: `${prefix}dir/a b+c.txt` });
    assert.strictEqual(r.headers['content-length'], '15');
    assert.ok(/^\d+$/.test(r.headers['x-cos-hash-crc64ecma']), JSON.stringify(r.headers));
    await refused('head of a missing key', cos.headObject({ ...B, Key: `${prefix}missing` }), '404', 404);
  },
  async list() {
    await cos.putObject({ ...B, Key: `${prefix}dir/sub/x`, Body: 'x' });
    const r = await cos.getBucket({ ...B, Prefix: `${prefix}dir/`, Delimiter: '/' });
    assert.deepStrictEqual(r.Contents.map((c) => c.Key), [`${prefix}dir/a b+c.txt`]);
    assert.deepStrictEqual(r.CommonPrefixes.map((c) => c.Prefix), [`${prefix}dir/sub/`]);
  },
  async copy() {
    const source = `${host}/${encodeURIComponent(`${prefix}dir/a b+c.txt`).replace(/%2F/g, '/')}`;
    const r = await cos.putObjectCopy({ ...B, Key: `${prefix}copy.txt`, CopySource: source });
    assert.strictEqual(r.statusCode, 200);
    const got = await cos.getObject({ ...B, Key: `${prefix}copy.txt` });
    assert.strictEqual(got.Body.toString(), 'hello from node');
  },
  async deleteMulti() {
    const r = await cos.deleteMultipleObject({ ...B, Objects: [{ Key: `${prefix}copy.txt` }, { Key: `${prefix}dir/sub/x` }] });
    assert.deepStrictEqual(r.Deleted.map((d) => d.Key).sort(), [`${prefix}copy.txt`, `${prefix}dir/sub/x`]);
    await cos.deleteMultipleObject({ ...B, Objects: [{ Key: `${prefix}none` }], Quiet: true });
  },
  async delete() {
    await cos.deleteObject({ ...B, Key: `${prefix}dir/a b+c.txt` });
    await refused('get after delete', cos.getObject({ ...B, Key: `${prefix}dir/a b+c.txt` }), 'NoSuchKey', 404);
  },
  async sliceUploadFile() {
    const file = path.join(tmp, 'big.bin');
    const data = crypto.randomBytes(3 * 1024 * 1024 + 99);
    fs.writeFileSync(file, data);
    const r = await cos.sliceUploadFile({ ...B, Key: `${prefix}big.bin`, FilePath: file, ChunkSize: 1024 * 1024 });
    assert.ok(/-4"$/.test(r.ETag), r.ETag);
    const got = await cos.getObject({ ...B, Key: `${prefix}big.bin` });
    assert.ok(got.Body.equals(data));
  },
  async multipart() {
    const Key = `${prefix}mp.bin`;
    const up = await cos.multipartInit({ ...B, Key });
    const one = Buffer.alloc(1024 * 1024, 'A');
    const p1 = await cos.multipartUpload({ ...B, Key, UploadId: up.UploadId, PartNumber: 1, Body: one });
    assert.strictEqual(p1.ETag, `"${md5(one)}"`);
    const p2 = await cos.multipartUpload({ ...B, Key, UploadId: up.UploadId, PartNumber: 2, Body: Buffer.from('end') });
    const parts = await cos.multipartListPart({ ...B, Key, UploadId: up.UploadId });
    assert.deepStrictEqual(parts.Part.map((p) => p.ETag), [p1.ETag, p2.ETag]);
    const done = await cos.multipartComplete({ ...B, Key, UploadId: up.UploadId,
      Parts: [{ PartNumber: 1, ETag: p1.ETag }, { PartNumber: 2, ETag: p2.ETag.replace(/"/g, '') }] });
    assert.ok(/-2"$/.test(done.ETag), JSON.stringify(done));
    const gone = await cos.multipartInit({ ...B, Key: `${prefix}aborted.bin` });
    await cos.multipartAbort({ ...B, Key: `${prefix}aborted.bin`, UploadId: gone.UploadId });
  },
  async acl() {
    const Key = `${prefix}acl.txt`;
    await cos.putObject({ ...B, Key, Body: 'acl' });
    await cos.putObjectAcl({ ...B, Key, ACL: 'public-read' });
    const r = await cos.getObjectAcl({ ...B, Key });
    assert.strictEqual(r.ACL, 'public-read', JSON.stringify(r));
    const anonymous = await fetchVia(`http://${host}/${encodeURI(Key)}`);
    assert.strictEqual(anonymous.status, 200);
    await cos.putObjectAcl({ ...B, Key, ACL: 'private' });
    assert.strictEqual((await fetchVia(`http://${host}/${encodeURI(Key)}`)).status, 403);
  },
  async cors() {
    await cos.putBucketCors({ ...B, CORSRules: [{ AllowedOrigin: ['http://app.example'], AllowedMethod: ['GET', 'PUT'],
      AllowedHeader: ['*'], ExposeHeader: ['ETag'], MaxAgeSeconds: '5' }] });
    const r = await cos.getBucketCors({ ...B });
    assert.deepStrictEqual(r.CORSRules[0].AllowedOrigins, ['http://app.example']);
    await cos.deleteBucketCors({ ...B });
  },
  async signedUrl() {
    const Key = `${prefix}url.txt`;
    await cos.putObject({ ...B, Key, Body: 'by url' });
    const url = cos.getObjectUrl({ ...B, Key, Sign: true, Expires: 300 });
    const got = await fetchVia(url);
    assert.strictEqual(got.status, 200, got.body.toString());
    assert.strictEqual(got.body.toString(), 'by url');
  },
  async errors() {
    if (outside) {
      await refused('put outside', cos.putObject({ ...B, Key: `${outside}x`, Body: 'x' }));
      await refused('get outside', cos.getObject({ ...B, Key: `${outside}x` }));
      await refused('list outside', cos.getBucket({ ...B, Prefix: outside }));
      await refused('list everything', cos.getBucket({ ...B, Prefix: '' }));
    }
    const wrong = new COS({ ...creds, SecretKey: 'wrong', ...where, Protocol: 'http:' });
    await refused('wrong secret', wrong.putObject({ ...B, Key: `${prefix}w`, Body: 'w' }), 'SignatureDoesNotMatch');
  },
};

async function main() {
  for (const [name, run] of Object.entries(steps)) {
    if (only.length && !only.includes(name)) continue;
    try {
      await run();
    } catch (e) {
      throw new Error(`step ${name}: ${e && e.stack ? e.stack : JSON.stringify(e)}`);
    }
    console.log(`ok ${name}`);
  }
  console.log('ALL OK');
}

main().catch((e) => {
  console.error(e && e.message ? e.message : e);
  process.exit(1);
});
