// Uploads (and, for COS grants, listings) through the vendors' own browser SDKs with the
// temporary credentials of /v1/credentials: ali-oss for OSS grants, cos-js-sdk-v5 for COS
// grants. The SDKs are the npm packages' prebuilt browser bundles, vendored under
// console/vendor/ by scripts/vendor-console.sh and compiled into the binary; each is loaded
// (a plain <script src>, allowed by the CSP's script-src 'self') the first time it is needed.

import { isEmbedded, Plain, storeCodeWords } from "./api.js";

/** Files larger than this go up in parts (multipart / slice upload). */
export const MULTIPART_OVER = 1024 * 1024;
/** The size of each part. */
export const PART_SIZE = 1024 * 1024;
/** How many parts are in flight at once. */
const PARALLEL = 3;
/**
 * How often ali-oss asks for credentials again (it asks before a request once this much time
 * has passed since the last ask). The api face answers from its cache until a third of the
 * credentials' life is left, so asking often costs one cached answer and never misses the
 * turnover, whatever the lifetime or the browser's clock.
 */
export const REFRESH_INTERVAL_MS = 10_000;

const loading = new Map();

/** Loads `/console/vendor/<file>` once; resolves with `window[global]`. */
function vendor(file, global) {
  if (window[global]) return Promise.resolve(window[global]);
  if (!loading.has(file)) {
    loading.set(file, new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = `/console/vendor/${file}`;
      s.onload = () => (window[global] ? resolve(window[global]) : reject(new Plain(`${file} loaded but defined no ${global}.`)));
      s.onerror = () => {
        loading.delete(file);
        reject(new Plain(`Could not load the SDK ${file} from this server.`, "Network"));
      };
      document.head.append(s);
    }));
  }
  return loading.get(file);
}

const cancelled = (what) => new Plain(`${what} was cancelled; nothing was stored.`, "Cancelled");

/** Plain words for an error of either SDK. */
function sdkWords(e, { endpoint, what }) {
  if (e instanceof Plain) return e;
  const status = Number(e.status ?? e.statusCode ?? 0);
  const code = e.code || e.Code || (e.error && (e.error.Code || e.error.code)) || "";
  const message = e.message || (e.error && (e.error.Message || e.error.message)) || String(e);
  return new Plain(storeCodeWords(status, code, message, { endpoint, what }), code || String(status));
}

/**
 * Uploads `file` to `key` with ali-oss: `put` up to MULTIPART_OVER, `multipartUpload` above
 * (PART_SIZE parts, PARALLEL at once, with progress). `ctx.credentials()` gives the page's
 * current credentials (the stsgate format of /v1/credentials); `ctx.refresh()` asks the api face
 * again, which ali-oss does through `refreshSTSToken` every REFRESH_INTERVAL_MS, so an upload
 * outlives the credentials it started with. Returns {promise, abort}.
 */
export function aliOssUpload(file, key, ctx, onProgress) {
  const what = `Uploading ${file.name}`;
  let client = null;
  let stopped = false;
  let uploadId = null;
  const start = async () => {
    const OSS = await vendor("aliyun-oss-sdk.min.js", "OSS");
    const c = await ctx.credentials();
    if (stopped) throw cancelled(what);
    const endpoint = c.Endpoint;
    client = new OSS({
      endpoint,
      region: c.Region,
      bucket: c.Bucket,
      secure: endpoint.startsWith("https:"),
      // The embedded oss face is addressed by IP: the bucket goes in the path, not the host.
      sldEnable: isEmbedded(endpoint),
      accessKeyId: c.AccessKeyId,
      accessKeySecret: c.AccessKeySecret,
      stsToken: c.SecurityToken,
      refreshSTSToken: async () => {
        const n = await ctx.refresh();
        return { accessKeyId: n.AccessKeyId, accessKeySecret: n.AccessKeySecret, stsToken: n.SecurityToken };
      },
      refreshSTSTokenInterval: REFRESH_INTERVAL_MS,
      timeout: 120_000,
    });
    const headers = { "Content-Type": file.type || "application/octet-stream" };
    try {
      if (file.size <= MULTIPART_OVER) {
        await client.put(key, file, { headers });
        if (stopped) {
          // put cannot be interrupted: undo it, so a cancel means nothing was stored.
          await client.delete(key).catch(() => {});
          throw cancelled(what);
        }
        onProgress(1);
        return { method: "put" };
      }
      await client.multipartUpload(key, file, {
        parallel: PARALLEL,
        partSize: PART_SIZE,
        headers,
        progress: (p, checkpoint) => {
          if (checkpoint && checkpoint.uploadId) uploadId = checkpoint.uploadId;
          onProgress(p);
        },
      });
      if (stopped) throw cancelled(what);
      onProgress(1);
      return { method: "multipart", uploadId };
    } catch (e) {
      if (stopped || (client && client.isCancel && client.isCancel()) || e.name === "cancel") {
        if (uploadId) await client.abortMultipartUpload(key, uploadId).catch(() => {});
        throw cancelled(what);
      }
      throw sdkWords(e, { endpoint, what });
    }
  };
  const promise = start();
  return {
    promise,
    abort: () => {
      stopped = true;
      if (client) client.cancel();
    },
  };
}

/** A cos-js-sdk-v5 client on the grant's credentials (`getAuthorization` asks the page). */
async function cosClient(ctx) {
  const COS = await vendor("cos-js-sdk-v5.min.js", "COS");
  const c = await ctx.credentials();
  const url = new URL(c.Endpoint);
  return {
    c,
    cos: new COS({
      Protocol: url.protocol,
      // The embedded cos face is addressed by IP: the bucket goes in the path.
      ...(isEmbedded(c.Endpoint) ? { Domain: `${url.host}/{Bucket}` } : {}),
      SliceSize: MULTIPART_OVER,
      ChunkSize: PART_SIZE,
      ChunkParallelLimit: PARALLEL,
      UploadCheckPoint: false,
      getAuthorization: (_options, callback) => {
        ctx.credentials().then(
          (n) => callback({
            TmpSecretId: n.AccessKeyId,
            TmpSecretKey: n.AccessKeySecret,
            SecurityToken: n.SecurityToken,
            StartTime: Math.floor(Date.parse(n.StartTime || n.ServerTime) / 1000),
            ExpiredTime: Math.floor(Date.parse(n.Expiration) / 1000),
          }),
          (e) => callback({ error: e.message }),
        );
      },
    }),
  };
}

/**
 * Uploads `file` to `key` with cos-js-sdk-v5's `uploadFile` (a simple upload up to
 * MULTIPART_OVER, a slice upload above, with progress). Returns {promise, abort}.
 */
export function cosUpload(file, key, ctx, onProgress) {
  const what = `Uploading ${file.name}`;
  let client = null;
  let taskId = null;
  let stopped = false;
  let fail = null; // rejects the running uploadFile (cancelTask does not call its callback)
  let endpoint = "";
  const start = async () => {
    const { c, cos } = await cosClient(ctx);
    client = cos;
    endpoint = c.Endpoint;
    if (stopped) throw cancelled(what);
    let sliced = false;
    const data = await new Promise((resolve, reject) => {
      fail = reject;
      cos.uploadFile({
        Bucket: c.Bucket,
        Region: c.Region,
        Key: key,
        // A Blob, not the File: with a File's name and date the SDK would keep the upload id
        // in the browser's local storage to resume it later; the console keeps nothing there.
        Body: file.slice(0, file.size, file.type),
        ContentType: file.type || "application/octet-stream",
        onTaskReady: (id) => {
          taskId = id;
        },
        onProgress: (p) => onProgress(p.percent),
        onFileFinish: (err, _data, options) => {
          if (!err && options) sliced = file.size > MULTIPART_OVER;
        },
      }, (err, d) => (err ? reject(err) : resolve(d)));
    }).catch(async (e) => {
      if (stopped) {
        await abortSlices(cos, c, key);
        throw cancelled(what);
      }
      throw sdkWords(e, { endpoint, what });
    });
    if (stopped) throw cancelled(what);
    onProgress(1);
    return { method: sliced ? "slice" : "simple", data };
  };
  const promise = start();
  return {
    promise,
    abort: () => {
      stopped = true;
      if (client && taskId) client.cancelTask(taskId);
      if (fail) fail(new Error("cancelled"));
    },
  };
}

/** After a cancelled slice upload: aborts the key's multipart uploads (best effort). */
function abortSlices(cos, c, key) {
  return new Promise((resolve) => {
    cos.abortUploadTask({ Bucket: c.Bucket, Region: c.Region, Key: key, Level: "file" }, () => resolve());
  });
}

/** The objects under the grant's prefix (COS grants), by cos-js-sdk-v5's `getBucket`. */
export async function cosList(ctx) {
  const what = "Listing your files";
  const { c, cos } = await cosClient(ctx);
  const items = [];
  let marker = "";
  for (let page = 0; page < 20; page += 1) {
    const data = await new Promise((resolve, reject) => {
      cos.getBucket({ Bucket: c.Bucket, Region: c.Region, Prefix: c.Prefix, Marker: marker, MaxKeys: 1000 },
        (err, d) => (err ? reject(err) : resolve(d)));
    }).catch((e) => {
      throw sdkWords(e, { endpoint: c.Endpoint, what });
    });
    for (const o of data.Contents || []) {
      items.push({ key: o.Key, size: Number(o.Size), modified: o.LastModified });
    }
    if (data.IsTruncated !== "true") break;
    marker = data.NextMarker || (data.Contents || []).slice(-1)[0]?.Key || "";
    if (!marker) break;
  }
  return items;
}
