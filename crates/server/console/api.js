// Talking to the api face (same origin) and turning every failure into plain words.

/** A failure the console shows as it is: `message` is written for a person. */
export class Plain extends Error {
  constructor(message, code = "") {
    super(message);
    this.code = code;
  }
}

/** Plain words for an api-face error answer. */
function apiWords(status, code, message) {
  switch (code || status) {
    case "Unauthenticated":
    case 401:
      return `Your sign-in is not valid or has expired (${message}). Sign out and sign in again.`;
    case "OperatorOnly":
      return "That needs the operator key; a user's token cannot read it.";
    case "Revoked":
      return `Denied: an operator revoked these credentials (${message}).`;
    case "OutsideGrant":
    case "ConditionNotMet":
      return `Denied: ${message}`;
    case "RateLimited":
    case 429:
      return "Too many requests: wait a few seconds and try again.";
    case "NoSuchGrant":
      return `No such grant: ${message}`;
    default:
      return `${message || "The api face answered " + status}`;
  }
}

/**
 * Calls the api face: `auth` is the bearer credential (a token or the operator key), `body` a
 * JSON-able object (POST) or undefined (GET). Resolves with the parsed JSON; rejects with Plain.
 */
export async function call(path, { auth, body } = {}) {
  const headers = {};
  if (auth) headers.Authorization = `Bearer ${auth}`;
  const init = { method: body === undefined ? "GET" : "POST", headers, cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (e) {
    throw new Plain(`stsgate's api face could not be reached (${e.message}). Is the server still running?`, "Network");
  }
  let data = null;
  try {
    data = await resp.json();
  } catch {
    data = null;
  }
  if (!resp.ok) {
    const err = (data && data.error) || {};
    const code = err.code || err.Code || "";
    const message = err.message || err.Message || resp.statusText;
    throw new Plain(apiWords(resp.status, code, message), code || String(resp.status));
  }
  return data;
}

/** An OSS/COS XML error body's Code and Message (empty strings when not XML). */
export function storeError(text) {
  try {
    const doc = new DOMParser().parseFromString(text || "", "application/xml");
    const pick = (n) => (doc.getElementsByTagName(n)[0] || {}).textContent || "";
    return { code: pick("Code"), message: pick("Message") };
  } catch {
    return { code: "", message: "" };
  }
}

/** Where the embedded object faces listen (from /console/config.json), for the CORS hint. */
const embedded = new Set();
export function setEmbeddedEndpoints(...endpoints) {
  for (const e of endpoints) if (e) embedded.add(e);
}

/** Whether `endpoint` is one of this server's embedded object faces (path-style addressing). */
export function isEmbedded(endpoint) {
  return embedded.has(endpoint);
}

/** Plain words for a request to the object store that failed (status 0: never answered). */
export function storeWords(status, text, { endpoint, what }) {
  if (status === 0) {
    const fix = embedded.has(endpoint)
      ? "give the bucket a CORS rule for it with the root key (PutBucketCors, e.g. oss2's put_bucket_cors), " +
        "or run serve without a config, which adds it"
      : `stsgate cors set --config FILE --provider NAME --bucket BUCKET --origin ${location.origin}`;
    return `${what} failed before the store answered: either ${endpoint} is unreachable, or its CORS ` +
      `rules do not allow this page's origin (${location.origin}). To allow it: ${fix}.`;
  }
  const { code, message } = storeError(text);
  return storeCodeWords(status, code, message, { endpoint, what });
}

/**
 * Plain words for a store failure already parsed into `code` and `message` (the vendor SDKs
 * parse the XML themselves); `status` 0 or below: the request never got an answer.
 */
export function storeCodeWords(status, code, message, { endpoint, what }) {
  if (!(status > 0)) return storeWords(0, "", { endpoint, what });
  if (/revoked/i.test(message)) {
    return `${what} was refused: an operator revoked your temporary credentials. ` +
      "Nothing was stored. Press “Refresh credentials now” to get new ones.";
  }
  if (code === "InvalidSecurityToken" || code === "ExpiredToken" || /expired/i.test(message)) {
    return `${what} was refused: the credentials or the signed URL expired (${code}). Try again; new ones are fetched.`;
  }
  if (code === "EntityTooLarge" || code === "EntityTooSmall" || status === 413) {
    return `${what} was refused: the file is too large (or too small) for this grant (${message || code}).`;
  }
  if (code === "AccessDenied" || status === 403) {
    return `${what} was denied by the store: ${message || code || "403 Forbidden"}`;
  }
  if (code === "NoSuchKey" || status === 404) return `${what}: no such file any more.`;
  return `${what} failed: ${status} ${code} ${message}`.trim();
}

/** Bytes in plain units. */
export function size(n) {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** `el(tag, {attr: value}, ...children)`: builds DOM nodes; text is never parsed as HTML. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) {
    if (c === undefined || c === null) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** Announces `text` in the page's status region (`kind`: info, ok, error). */
export function say(text, kind = "info") {
  const region = document.getElementById("status");
  region.replaceChildren(el("p", { class: `msg ${kind}`, text }));
  if (kind === "error") console.warn(text);
}

/** Gives each body cell of `table` its column's header as `data-label` (phone layout). */
export function labelCells(table) {
  const heads = [...table.tHead.rows[0].cells].map((c) => c.textContent);
  for (const row of table.tBodies[0].rows) {
    [...row.cells].forEach((cell, i) => cell.setAttribute("data-label", heads[i] || ""));
  }
}
