// cos-nodejs-sdk-v5's getAuthorization callback fed by stsgate's api face, as README maps it:
// form A from /v1/credentials?format=tencent, form B from /v1/sign. Run by
// conformance/test_api_tencent.py.
//
// Env: API (api face base URL), JWT (the user's bearer token), GRANT, COS_PORT, COS_BUCKET,
//      COS_REGION, COS_PREFIX (the user's folder), COS_OUTSIDE (a folder it must not reach),
//      STEPS (`formA`, `formB`, comma-separated).
// Prints one "ok <step>" line per passed step, then "ALL OK"; exits 1 on the first failure.
'use strict';

const COS = require('cos-nodejs-sdk-v5');
const assert = require('assert');

const env = (name) => {
  const v = process.env[name];
  if (v === undefined || v === '') throw new Error(`missing env ${name}`);
  return v;
};
const api = env('API');
const jwt = env('JWT');
const grant = env('GRANT');
const port = env('COS_PORT');
const Bucket = env('COS_BUCKET');
const Region = env('COS_REGION');
const prefix = env('COS_PREFIX');
const outside = env('COS_OUTSIDE');
const steps = env('STEPS').split(',');

async function call(path, init = {}) {
  const r = await fetch(`${api}${path}`, {
    ...init,
    headers: { Authorization: `Bearer ${jwt}`, 'Content-Type': 'application/json', ...(init.headers || {}) },
  });
  const body = await r.json();
  if (r.status !== 200) throw new Error(`${path}: ${r.status} ${JSON.stringify(body)}`);
  return body;
}

// Form A: temporary credentials, exactly the README's mapping.
const formA = new COS({
  Ip: `127.0.0.1:${port}`,
  Protocol: 'http:',
  getAuthorization(options, callback) {
    call(`/v1/credentials?grant=${grant}&format=tencent`)
      .then((c) => callback({
        TmpSecretId: c.credentials.tmpSecretId,
        TmpSecretKey: c.credentials.tmpSecretKey,
        SecurityToken: c.credentials.sessionToken,
        StartTime: c.startTime,
        ExpiredTime: c.expiredTime,
      }))
      .catch((e) => callback({ error: String(e) }));
  },
});

// Form B: stsgate signs each request; the secret never reaches the client. What stsgate
// refused to sign is kept to check its code.
const refusals = [];
const formB = new COS({
  Ip: `127.0.0.1:${port}`,
  Protocol: 'http:',
  getAuthorization(options, callback) {
    call('/v1/sign', {
      method: 'POST',
      body: JSON.stringify({ grant, method: options.Method, key: options.Key, query: options.Query, headers: options.Headers }),
    })
      .then((r) => callback({ Authorization: r.authorization, SecurityToken: r.security_token }))
      .catch((e) => {
        refusals.push(String(e));
        callback({ error: String(e) });
      });
  },
});

const p = (cos, fn, params) => new Promise((resolve, reject) => {
  cos[fn]({ Bucket, Region, ...params }, (err, data) => (err ? reject(err) : resolve(data)));
});

async function roundTrip(cos, name) {
  const Key = `${prefix}${name}.txt`;
  const Body = Buffer.from(`hello from ${name}`);
  const put = await p(cos, 'putObject', { Key, Body });
  assert.strictEqual(put.statusCode, 200);
  const got = await p(cos, 'getObject', { Key });
  assert.strictEqual(got.Body.toString(), Body.toString());
  const listed = await p(cos, 'getBucket', { Prefix: prefix });
  assert.ok(listed.Contents.some((c) => c.Key === Key), JSON.stringify(listed.Contents));
  const refused = await p(cos, 'putObject', { Key: `${outside}${name}.txt`, Body }).then(
    () => null,
    (e) => e,
  );
  assert.ok(refused, `a put under ${outside} was allowed`);
  if (cos === formA) {
    // Form A hands the SDK credentials whose CAM policy the cos face refuses.
    assert.strictEqual(refused.code, 'AccessDenied', JSON.stringify(refused));
    assert.strictEqual(refused.statusCode, 403, JSON.stringify(refused));
  } else {
    // Form B never gets a signature: stsgate refuses to sign outside the grant.
    assert.ok(refusals.some((r) => r.includes('403') && r.includes('OutsideGrant')), JSON.stringify(refusals));
  }
  await p(cos, 'deleteObject', { Key });
}

(async () => {
  for (const step of steps) {
    await roundTrip(step === 'formA' ? formA : formB, step);
    console.log(`ok ${step}`);
  }
  console.log('ALL OK');
})().catch((e) => {
  console.error(e && e.stack ? e.stack : JSON.stringify(e));
  process.exit(1);
});
