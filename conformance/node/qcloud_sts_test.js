// The real Node qcloud-cos-sts SDK (it only speaks https) against the tc-sts face of a
// `serve --tls` stsgate, trusting its self-signed CA through NODE_EXTRA_CA_CERTS; the
// credentials then drive cos-nodejs-sdk-v5 over https on the cos face. Run by
// conformance/test_tc_sts_node.py.
//
// Env: TC_STS_HOST (127.0.0.1:PORT), SECRET_ID, SECRET_KEY, ROLE_ARN, COS_PORT, COS_BUCKET,
//      COS_REGION, STEPS (`federation`, `role`, `wrongSecret`).
// Prints "ok <step>" per passed step, then "ALL OK"; exits 1 on the first failure.
'use strict';

const STS = require('qcloud-cos-sts');
const COS = require('cos-nodejs-sdk-v5');
const assert = require('assert');

const env = (name) => {
  const v = process.env[name];
  if (v === undefined || v === '') throw new Error(`missing env ${name}`);
  return v;
};
const host = env('TC_STS_HOST');
const Bucket = env('COS_BUCKET');
const Region = env('COS_REGION');
const port = env('COS_PORT');

const policy = STS.getPolicy([
  { action: 'name/cos:PutObject', bucket: Bucket, region: Region, prefix: 'users/alice/*' },
  { action: 'name/cos:GetObject', bucket: Bucket, region: Region, prefix: 'users/alice/*' },
]);
const base = { secretId: env('SECRET_ID'), secretKey: env('SECRET_KEY'), host, region: Region, policy, durationSeconds: 1800 };

const p = (cos, fn, params) => new Promise((resolve, reject) => {
  cos[fn]({ Bucket, Region, ...params }, (err, data) => (err ? reject(err) : resolve(data)));
});

async function useOnCos(creds) {
  assert.ok(creds.credentials.tmpSecretId.startsWith('AKID'), JSON.stringify(creds));
  assert.strictEqual(creds.expiredTime - creds.startTime, 1800);
  const cos = new COS({
    SecretId: creds.credentials.tmpSecretId,
    SecretKey: creds.credentials.tmpSecretKey,
    SecurityToken: creds.credentials.sessionToken,
    // The {Bucket} path form: TLS to the IP the certificate names (the Ip mode would check the
    // certificate against the bucket's virtual host name).
    Domain: `127.0.0.1:${port}/{Bucket}`,
    Protocol: 'https:',
  });
  await p(cos, 'putObject', { Key: 'users/alice/tls.txt', Body: Buffer.from('over https') });
  const got = await p(cos, 'getObject', { Key: 'users/alice/tls.txt' });
  assert.strictEqual(got.Body.toString(), 'over https');
  const refused = await p(cos, 'putObject', { Key: 'users/alicex/tls.txt', Body: Buffer.from('x') }).then(() => null, (e) => e);
  assert.ok(refused && refused.code === 'AccessDenied', JSON.stringify(refused));
}

const steps = {
  federation: async () => useOnCos(await STS.getCredential({ ...base })),
  role: async () => {
    const c = await STS.getRoleCredential({ ...base, roleArn: env('ROLE_ARN') });
    await useOnCos(c);
  },
  wrongSecret: async () => {
    const err = await STS.getCredential({ ...base, secretKey: 'not-the-secret' }).then(() => null, (e) => e);
    assert.ok(err, 'a wrong secret was accepted');
    assert.strictEqual(err.Code, 'AuthFailure.SignatureFailure', JSON.stringify(err));
    assert.ok(err.RequestId, JSON.stringify(err));
  },
};

(async () => {
  for (const step of env('STEPS').split(',')) {
    await steps[step]();
    console.log(`ok ${step}`);
  }
  console.log('ALL OK');
})().catch((e) => {
  console.error(e && e.stack ? e.stack : JSON.stringify(e));
  process.exit(1);
});
