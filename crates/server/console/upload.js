// Uploads straight to the object store, one XMLHttpRequest per file (for its upload progress),
// by each method: a presigned PUT, a post-policy form, or a PUT signed in this page with the
// temporary credentials (OSS signature V1, as the browser SDKs do).

import { call, Plain, storeWords } from "./api.js";
import { aliOssUpload, cosUpload } from "./sdk.js";

/**
 * How long signed URLs and forms live, in seconds. Short on purpose: the api face signs with
 * credentials that outlive the URL, so a URL as long as the grant's default duration would have
 * it mint new credentials for every file instead of reusing the caller's.
 */
export const URL_LIFE = 300;

/** The key a file gets under `prefix`: its name, with `/` and control characters replaced. */
export function keyFor(prefix, name) {
  const clean = name.replace(/[\u0000-\u001f\u007f/\\]/g, "_").slice(0, 200) || "file";
  return prefix + clean;
}

/** Percent-encodes a key for a URL path, keeping `/`. */
export function encodeKey(key) {
  return key.split("/").map(encodeURIComponent).join("/");
}

/** base64(HMAC-SHA1(secret, text)) with WebCrypto (secure contexts: https, localhost). */
export async function hmacSha1(secret, text) {
  if (!globalThis.crypto || !crypto.subtle) {
    throw new Plain("Signing in this page needs a secure context (https or localhost); use a presigned PUT instead.");
  }
  const enc = new TextEncoder();
  const key = await crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-1" }, false, ["sign"]);
  const sig = new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode(text)));
  let bin = "";
  for (const b of sig) bin += String.fromCharCode(b);
  return btoa(bin);
}

/**
 * Sends `body` with XMLHttpRequest; `onProgress(fraction)`; resolves on 2xx, rejects with Plain
 * (`what` names the action in messages). Returns {promise, abort}.
 */
export function send({ method, url, headers = {}, body, onProgress, what, endpoint }) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    xhr.open(method, url);
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        if (onProgress) onProgress(1);
        resolve(xhr);
      } else {
        reject(new Plain(storeWords(xhr.status, xhr.responseText, { endpoint, what }), String(xhr.status)));
      }
    };
    xhr.onerror = () => reject(new Plain(storeWords(0, "", { endpoint, what }), "Network"));
    xhr.onabort = () => reject(new Plain(`${what} was cancelled; nothing was stored.`, "Cancelled"));
    xhr.ontimeout = () => reject(new Plain(`${what} timed out.`, "Timeout"));
    xhr.send(body);
  });
  return { promise, abort: () => xhr.abort() };
}

/**
 * Starts uploading `file` to `key` by `method` ("presign" | "post" | "sts" | "alioss" |
 * "cossdk"). `ctx` holds the token, the grant, the credentials (`credentials()`, and
 * `refresh()` for the SDKs) and their endpoint. Resolves {promise, abort}; the abort also works
 * before the request has left (while the URL is being signed).
 */
export function upload(method, file, key, ctx, onProgress) {
  if (method === "alioss") return aliOssUpload(file, key, ctx, onProgress);
  if (method === "cossdk") return cosUpload(file, key, ctx, onProgress);
  let cancelled = false;
  let inner = null;
  const what = `Uploading ${file.name}`;
  const contentType = file.type || "application/octet-stream";
  const start = async () => {
    let req;
    if (method === "presign") {
      const p = await call("/v1/presign", {
        auth: ctx.token,
        body: { grant: ctx.grant, method: "PUT", key, content_type: contentType, expires: URL_LIFE },
      });
      req = { method: "PUT", url: p.url, headers: p.headers || {}, body: file };
      if (!Object.keys(req.headers).some((h) => h.toLowerCase() === "content-type")) {
        req.headers["Content-Type"] = contentType;
      }
    } else if (method === "post") {
      const p = await call("/v1/post-policy", {
        auth: ctx.token,
        body: { grant: ctx.grant, max_size: Math.max(file.size, 1), key_prefix: ctx.prefix, expires: URL_LIFE },
      });
      // The answer's `key` field is a template (`…${filename}`); the console names the key itself.
      const form = new FormData();
      for (const [k, v] of Object.entries(p.fields)) if (k !== "key") form.append(k, v);
      form.append("key", key);
      form.append("file", file, file.name);
      req = { method: "POST", url: p.url, headers: {}, body: form };
    } else {
      const c = await ctx.credentials();
      const date = new Date().toUTCString();
      const resource = `/${c.Bucket}/${key}`;
      const toSign = `PUT\n\n${contentType}\n${date}\nx-oss-date:${date}\nx-oss-security-token:${c.SecurityToken}\n${resource}`;
      const signature = await hmacSha1(c.AccessKeySecret, toSign);
      req = {
        method: "PUT",
        url: `${c.Endpoint}/${c.Bucket}/${encodeKey(key)}`,
        headers: {
          "Content-Type": contentType,
          "x-oss-date": date,
          "x-oss-security-token": c.SecurityToken,
          Authorization: `OSS ${c.AccessKeyId}:${signature}`,
        },
        body: file,
      };
    }
    if (cancelled) throw new Plain(`${what} was cancelled; nothing was stored.`, "Cancelled");
    inner = send({ ...req, onProgress, what, endpoint: ctx.endpoint });
    return inner.promise;
  };
  const promise = start();
  return {
    promise,
    abort: () => {
      cancelled = true;
      if (inner) inner.abort();
    },
  };
}
