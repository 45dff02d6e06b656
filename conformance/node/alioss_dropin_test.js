// The real ali-oss SDK against the oss face for the operations of issue 15 (the embedded store as
// a drop-in): object tagging, with the SDK's own calls and error classes.
// Run by conformance/test_oss_dropin.py.
//
// Env: OSS_ENDPOINT (http://127.0.0.1:PORT), OSS_BUCKET, OSS_AK, OSS_SK, [OSS_TOKEN],
//      OSS_PREFIX (key prefix the credentials may use), OSS_STEPS (comma-separated steps).
// Prints one "ok <step>" line per passed step; exits 1 with a message on the first failure.
'use strict';

const OSS = require('ali-oss');
const assert = require('assert');

const env = (name) => {
  const v = process.env[name];
  if (v === undefined || v === '') throw new Error(`missing env ${name}`);
  return v;
};

const endpoint = env('OSS_ENDPOINT');
const bucket = env('OSS_BUCKET');
const prefix = env('OSS_PREFIX');
const steps = new Set(env('OSS_STEPS').split(','));
const token = process.env.OSS_TOKEN || '';
const creds = {
  accessKeyId: env('OSS_AK'),
  accessKeySecret: env('OSS_SK'),
  ...(token ? { stsToken: token } : {}),
};
const base = { endpoint, region: 'oss-cn-hangzhou', bucket, timeout: 60000 };

async function expectError(promise, name, status) {
  try {
    await promise;
  } catch (e) {
    assert.strictEqual(e.name, name, `want ${name}, got ${e.name}: ${e.message}`);
    assert.strictEqual(e.status, status, `want status ${status}, got ${e.status}: ${e.message}`);
    return e;
  }
  return assert.fail(`expected ${name}`);
}

async function tagging(client) {
  const key = `${prefix}tagged.txt`;
  await client.put(key, Buffer.from('tags'), { headers: { 'x-oss-tagging': 'a=1&b=x%20y' } });
  let got = await client.getObjectTagging(key);
  assert.strictEqual(got.status, 200);
  assert.deepStrictEqual(got.tag, { a: '1', b: 'x y' });
  const head = await client.head(key);
  assert.strictEqual(head.res.headers['x-oss-tagging-count'], '2');
  const put = await client.putObjectTagging(key, { team: 'games', 'k.2': 'v:/+' });
  assert.strictEqual(put.status, 200);
  got = await client.getObjectTagging(key);
  assert.deepStrictEqual(got.tag, { team: 'games', 'k.2': 'v:/+' });
  const del = await client.deleteObjectTagging(key);
  assert.strictEqual(del.status, 204);
  // No tags: an empty TagSet, which the SDK reads as {}.
  got = await client.getObjectTagging(key);
  assert.deepStrictEqual(got.tag, {});
  await expectError(client.getObjectTagging(`${prefix}missing.txt`), 'NoSuchKeyError', 404);
  // Past the limit the server refuses (the SDK's own check is bypassed through the header).
  const eleven = Array.from({ length: 11 }, (_, i) => `k${i}=v`).join('&');
  await expectError(client.put(`${prefix}bad.txt`, Buffer.from('x'), { headers: { 'x-oss-tagging': eleven } }),
    'InvalidArgumentError', 400);
  // A header the store does not act on is refused, not ignored.
  await expectError(client.put(`${prefix}sse.txt`, Buffer.from('x'), {
    headers: { 'x-oss-server-side-encryption': 'KMS' },
  }), 'NotImplementedError', 400);
  await client.delete(key);
  console.log('ok tagging');
}

async function append(client) {
  const key = `${prefix}app.log`;
  let r = await client.append(key, Buffer.from('one\n'));
  assert.strictEqual(r.res.status, 200);
  assert.strictEqual(r.nextAppendPosition, '4');
  r = await client.append(key, Buffer.from('two\n'), { position: r.nextAppendPosition });
  assert.strictEqual(r.nextAppendPosition, '8');
  const got = await client.get(key);
  assert.strictEqual(Buffer.from(got.content).toString(), 'one\ntwo\n');
  assert.strictEqual(got.res.headers['x-oss-object-type'], 'Appendable');
  await expectError(client.append(key, Buffer.from('x'), { position: '4' }), 'PositionNotEqualToLengthError', 409);
  await client.put(`${prefix}normal.txt`, Buffer.from('n'));
  await expectError(client.append(`${prefix}normal.txt`, Buffer.from('x'), { position: '1' }),
    'ObjectNotAppendableError', 409);
  await client.delete(key);
  await client.delete(`${prefix}normal.txt`);
  console.log('ok append');
}

async function symlink(client) {
  const target = `${prefix}sub/target.txt`;
  await client.put(target, Buffer.from('through the link'));
  const put = await client.putSymlink(`${prefix}link`, target);
  assert.strictEqual(put.res.status, 200);
  const got = await client.getSymlink(`${prefix}link`);
  assert.strictEqual(got.targetName, target);
  const read = await client.get(`${prefix}link`);
  assert.strictEqual(Buffer.from(read.content).toString(), 'through the link');
  await client.putSymlink(`${prefix}dangling`, `${prefix}nothing`);
  await expectError(client.get(`${prefix}dangling`), 'SymlinkTargetNotExistError', 404);
  for (const k of [target, `${prefix}link`, `${prefix}dangling`]) await client.delete(k);
  console.log('ok symlink');
}

async function uploadPartCopy(client) {
  const src = Buffer.alloc(300 * 1024, 7);
  src.write('start', 0);
  await client.put(`${prefix}src.bin`, src);
  // ali-oss's multipartUploadCopy drives InitiateMultipartUpload, UploadPartCopy, Complete.
  const res = await client.multipartUploadCopy(`${prefix}dst.bin`, { sourceKey: `${prefix}src.bin`, sourceBucketName: bucket },
    { partSize: 100 * 1024 });
  assert.strictEqual(res.res.status, 200);
  const got = await client.get(`${prefix}dst.bin`);
  assert.ok(Buffer.from(got.content).equals(src));
  for (const k of ['src.bin', 'dst.bin']) await client.delete(`${prefix}${k}`);
  console.log('ok uploadPartCopy');
}

async function lifecycle(client) {
  await expectError(client.getBucketLifecycle(bucket), 'NoSuchLifecycleError', 404);
  const put = await client.putBucketLifecycle(bucket, [{
    id: 'logs', prefix: 'logs/', status: 'Enabled', expiration: { days: 30 },
  }, {
    id: 'uploads', prefix: 'uploads/', status: 'Enabled', abortMultipartUpload: { days: 7 },
  }]);
  assert.strictEqual(put.res.status, 200);
  const got = await client.getBucketLifecycle(bucket);
  assert.strictEqual(got.rules.length, 2);
  assert.strictEqual(got.rules[0].id, 'logs');
  assert.strictEqual(got.rules[0].expiration.days, '30');
  assert.strictEqual(got.rules[1].abortMultipartUpload.days, '7');
  const del = await client.deleteBucketLifecycle(bucket);
  assert.strictEqual(del.res.status, 204);
  console.log('ok lifecycle');
}

async function encryption(client) {
  const put = await client.putBucketEncryption(bucket, { SSEAlgorithm: 'AES256' });
  assert.strictEqual(put.status, 200);
  const got = await client.getBucketEncryption(bucket);
  assert.strictEqual(got.encryption.SSEAlgorithm, 'AES256');
  const r = await client.put(`${prefix}sealed.txt`, Buffer.from('secret'));
  assert.strictEqual(r.res.headers['x-oss-server-side-encryption'], 'AES256');
  const read = await client.get(`${prefix}sealed.txt`);
  assert.strictEqual(Buffer.from(read.content).toString(), 'secret');
  const del = await client.deleteBucketEncryption(bucket);
  assert.strictEqual(del.status, 204);
  await expectError(client.getBucketEncryption(bucket), 'NoSuchServerSideEncryptionRuleError', 404);
  await client.delete(`${prefix}sealed.txt`);
  console.log('ok encryption');
}

async function policy(client) {
  // ali-oss answers a missing policy (404 NoSuchBucketPolicy) with policy null.
  const none = await client.getBucketPolicy(bucket);
  assert.strictEqual(none.policy, null);
  assert.strictEqual(none.res.status, 404);
  const doc = {
    Version: '1',
    Statement: [{
      Effect: 'Allow', Principal: ['*'], Action: ['oss:GetObject'], Resource: [`acs:oss:*:*:${bucket}/pub/*`],
    }],
  };
  const put = await client.putBucketPolicy(bucket, doc);
  assert.strictEqual(put.status, 200);
  const got = await client.getBucketPolicy(bucket);
  assert.deepStrictEqual(got.policy, doc);
  const del = await client.deleteBucketPolicy(bucket);
  assert.strictEqual(del.status, 204);
  console.log('ok policy');
}

async function referer(client) {
  const put = await client.putBucketReferer(bucket, false, ['https://*.example.com']);
  assert.strictEqual(put.res.status, 200);
  const got = await client.getBucketReferer(bucket);
  assert.strictEqual(got.allowEmpty, false);
  assert.deepStrictEqual(got.referers, ['https://*.example.com']);
  await client.putBucketReferer(bucket, true, []);
  console.log('ok referer');
}

async function stat(client) {
  await client.put(`${prefix}stat.txt`, Buffer.from('12345'));
  const res = await client.getBucketStat(bucket);
  assert.strictEqual(res.res.status, 200);
  assert.ok(Number(res.stat.Storage) >= 5, JSON.stringify(res.stat));
  assert.ok(Number(res.stat.ObjectCount) >= 1, JSON.stringify(res.stat));
  await client.delete(`${prefix}stat.txt`);
  console.log('ok stat');
}

async function main() {
  const client = new OSS({ ...base, ...creds });
  if (steps.has('tagging')) await tagging(client);
  if (steps.has('append')) await append(client);
  if (steps.has('symlink')) await symlink(client);
  if (steps.has('uploadPartCopy')) await uploadPartCopy(client);
  if (steps.has('lifecycle')) await lifecycle(client);
  if (steps.has('encryption')) await encryption(client);
  if (steps.has('policy')) await policy(client);
  if (steps.has('referer')) await referer(client);
  if (steps.has('stat')) await stat(client);
  console.log('ALL OK');
}

main().catch((e) => {
  console.error(`FAILED: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
