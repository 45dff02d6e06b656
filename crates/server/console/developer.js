// The developer view: grants, temporary credentials (live countdown, refreshed before they
// expire), uploads, and the files under the caller's prefix (list, download, delete).

import { call, el, labelCells, Plain, say, size, storeWords } from "./api.js";
import { cosList } from "./sdk.js";
import { keyFor, upload, URL_LIFE } from "./upload.js";

const $ = (id) => document.getElementById(id);

/** Refresh this long before `RefreshAfter` passes at the latest (and never after expiry). */
const REFRESH_MARGIN_MS = 5000;

const dev = {
  token: null,
  grant: null, // the grant object of /v1/grants in use
  creds: null, // the stsgate-format answer of /v1/credentials
  clockOffset: 0, // the api face's clock minus this browser's, from the last answer's ServerTime
  refreshTimer: null,
  tickTimer: null,
  uploads: new Set(),
};

/** Opens the view for `token`; rejects (Plain) when the token is not accepted. */
export async function start(token) {
  dev.token = token;
  const g = await call("/v1/grants", { auth: token });
  $("who").textContent = `Signed in as ${g.caller}`;
  renderGrants(g.grants);
  const first = g.grants.find((x) => usable(x) && x.vendor === "aliyun") || g.grants.find(usable);
  if (!first) throw new Plain("None of this server's grants has a prefix your token can fill.");
  await useGrant(first);
  dev.tickTimer = setInterval(tick, 1000);
}

export function stop() {
  for (const u of dev.uploads) u.abort();
  dev.uploads.clear();
  clearTimeout(dev.refreshTimer);
  clearInterval(dev.tickTimer);
  Object.assign(dev, { token: null, grant: null, creds: null, clockOffset: 0, refreshTimer: null, tickTimer: null });
  $("creds").replaceChildren();
  $("uploads").replaceChildren();
  $("files-table").tBodies[0].replaceChildren();
}

/** Whether the console can use grant `g` (an OSS or COS grant whose prefix the token fills). */
function usable(g) {
  return Boolean(g.prefix) && (g.vendor === "aliyun" || g.vendor === "tencent");
}

const cloudOf = (g) => (g.vendor === "aliyun" ? "oss" : "cos");

function renderGrants(grants) {
  const rows = grants.map((g) => {
    const radio = el("input", {
      type: "radio",
      name: "grant",
      value: g.name,
      id: `grant-${g.name}`,
      disabled: !usable(g),
      "aria-label": `Use grant ${g.name}`,
      onchange: () => useGrant(g).catch((e) => say(e.message, "error")),
    });
    return el("tr", {},
      el("td", {}, radio),
      el("th", { scope: "row" }, g.name),
      el("td", {}, g.vendor === "aliyun" ? "Alibaba OSS" : g.vendor === "tencent" ? "Tencent COS" : g.vendor),
      el("td", {}, g.bucket),
      el("td", {}, el("code", {}, g.prefix ?? `(${g.prefix_template}: your token lacks a claim)`)),
      el("td", {}, g.actions.join(", ")));
  });
  $("grants-table").tBodies[0].replaceChildren(...rows);
  labelCells($("grants-table"));
}

async function useGrant(g) {
  dev.grant = g;
  const radio = $(`grant-${g.name}`);
  if (radio) radio.checked = true;
  offerMethods(cloudOf(g));
  dev.creds = null;
  await refresh();
  // A listing the store refuses (e.g. no CORS rule for this origin) is said, not a sign-in failure.
  await listFiles().catch((e) => {
    $("files-table").tBodies[0].replaceChildren();
    $("files-empty").hidden = true;
    say(e.message, "error");
  });
}

/** Enables the upload methods of `cloud` ("oss" | "cos"): each method lists its clouds. */
function offerMethods(cloud) {
  const radios = [...document.querySelectorAll('input[name="method"]')];
  for (const r of radios) {
    const ok = r.dataset.clouds.split(" ").includes(cloud);
    r.disabled = !ok;
    r.closest("label").classList.toggle("unavailable", !ok);
  }
  if (radios.some((r) => r.checked && r.disabled)) radios.find((r) => !r.disabled).checked = true;
}

/** The api face's clock now, as far as this page can tell (its answers carry ServerTime). */
function serverNow() {
  return Date.now() + dev.clockOffset;
}

/**
 * Fetches the grant's credentials (the server reuses them until a third of their life is left)
 * and resolves with them; ali-oss calls this through refreshSTSToken during uploads.
 */
async function refresh() {
  const grant = dev.grant;
  const c = await call(`/v1/credentials?grant=${encodeURIComponent(grant.name)}`, { auth: dev.token });
  if (dev.grant !== grant) return c; // the grant was switched meanwhile
  clearTimeout(dev.refreshTimer);
  if (c.ServerTime) dev.clockOffset = Date.parse(c.ServerTime) - Date.now();
  const renewed = dev.creds && dev.creds.AccessKeyId !== c.AccessKeyId;
  dev.creds = c;
  renderCreds();
  if (renewed) say(`New temporary credentials (${c.AccessKeyId}) were issued; uploads in progress go on with them.`, "ok");
  // Timers are measured in the api face's clock, so a browser clock that is off does not matter.
  const expires = Date.parse(c.Expiration);
  const after = Date.parse(c.RefreshAfter || c.Expiration);
  const wait = Math.max(1000, Math.min(after, expires - 60_000) - serverNow() - REFRESH_MARGIN_MS);
  dev.refreshTimer = setTimeout(() => {
    refresh().then(
      () => say("Credentials refreshed before they expired.", "ok"),
      (e) => say(`Could not refresh the credentials: ${e.message}`, "error"),
    );
  }, wait);
  return c;
}

function renderCreds() {
  const c = dev.creds;
  const row = (k, v) => [el("dt", {}, k), el("dd", {}, el("code", {}, v))];
  $("creds").replaceChildren(
    ...row("AccessKeyId", c.AccessKeyId),
    ...row("AccessKeySecret", "•".repeat(12) + " (hidden)"),
    ...row("SecurityToken", `${c.SecurityToken.slice(0, 16)}… (${c.SecurityToken.length} characters)`),
    ...row("Endpoint", c.Endpoint),
    ...row("Bucket", c.Bucket),
    ...row("Prefix", c.Prefix),
    ...row("Expiration", c.Expiration),
  );
  tick();
}

function tick() {
  const c = dev.creds;
  if (!c) return;
  const left = Math.round((Date.parse(c.Expiration) - serverNow()) / 1000);
  const out = $("creds-countdown");
  if (left <= 0) {
    out.textContent = "Expired: refreshing…";
    out.className = "countdown expired";
    return;
  }
  const mm = String(Math.floor(left / 60)).padStart(2, "0");
  const ss = String(left % 60).padStart(2, "0");
  out.textContent = `Expires in ${mm}:${ss}; refreshed automatically before then.`;
  out.className = left < 120 ? "countdown soon" : "countdown";
}

/** Credentials with at least 30 s of life left (refreshed first when not). */
async function credentials() {
  if (!dev.creds || Date.parse(dev.creds.Expiration) - serverNow() < 30_000) await refresh();
  return dev.creds;
}

function method() {
  return document.querySelector('input[name="method"]:checked').value;
}

/** Starts uploading each of `files`, each with its own progress bar and cancel button. */
export function uploadFiles(files) {
  if (!dev.creds) {
    say("Sign in first.", "error");
    return;
  }
  for (const file of files) uploadOne(file, method());
}

function uploadOne(file, how) {
  const key = keyFor(dev.creds.Prefix, file.name);
  const bar = el("progress", { max: "100", value: "0", "aria-label": `Progress of ${file.name}` });
  const pct = el("span", { class: "pct", text: "0%" });
  const note = el("span", { class: "note", text: `by ${labelOf(how)}` });
  const cancel = el("button", { type: "button", class: "secondary", text: "Cancel" });
  const li = el("li", { class: "upload", "data-name": file.name },
    el("span", { class: "name" }, file.name), el("span", { class: "size" }, size(file.size)),
    bar, pct, cancel, note);
  $("uploads").prepend(li);
  const onProgress = (f) => {
    const v = Math.round(f * 100);
    bar.value = v;
    pct.textContent = `${v}%`;
  };
  const job = upload(how, file, key, {
    token: dev.token,
    grant: dev.grant.name,
    prefix: dev.creds.Prefix,
    endpoint: dev.creds.Endpoint,
    credentials,
    refresh,
  }, onProgress);
  dev.uploads.add(job);
  cancel.addEventListener("click", () => job.abort());
  job.promise.then(
    (result) => {
      li.classList.add("done");
      const how = result && result.method;
      if (how) li.dataset.how = how;
      note.textContent = `stored as ${key}${how === "multipart" || how === "slice" ? ` (${how} upload)` : ""}`;
      say(`Uploaded ${file.name} (${size(file.size)}) by ${labelOf(how)}.`, "ok");
      listFiles().catch((e) => say(e.message, "error"));
    },
    (e) => {
      li.classList.add("failed");
      note.textContent = e.message;
      say(e.message, "error");
    },
  ).finally(() => {
    dev.uploads.delete(job);
    cancel.hidden = true;
  });
}

function labelOf(how) {
  return {
    presign: "presigned PUT",
    post: "form upload",
    sts: "temporary credentials",
    alioss: "the ali-oss SDK",
    cossdk: "cos-js-sdk-v5",
  }[how];
}

/**
 * Lists the objects under the caller's prefix: for an OSS grant a ListObjects request signed by
 * /v1/sign, for a COS grant cos-js-sdk-v5's GET Bucket with the temporary credentials.
 */
export async function listFiles() {
  if (cloudOf(dev.grant) === "cos") {
    const grant = dev.grant;
    const items = await cosList({ credentials, refresh });
    if (dev.grant === grant) renderFiles(items);
    return items;
  }
  const c = await credentials();
  const date = new Date(serverNow()).toUTCString();
  const signed = await call("/v1/sign", {
    auth: dev.token,
    body: { grant: dev.grant.name, string_to_sign: `GET\n\n\n${date}\nx-oss-date:${date}\n/${c.Bucket}/` },
  });
  const url = `${c.Endpoint}/${c.Bucket}/?prefix=${encodeURIComponent(c.Prefix)}&max-keys=1000`;
  let resp;
  try {
    resp = await fetch(url, {
      headers: {
        Authorization: signed.authorization,
        "x-oss-date": date,
        "x-oss-security-token": signed.security_token,
      },
      cache: "no-store",
    });
  } catch {
    throw new Plain(storeWords(0, "", { endpoint: c.Endpoint, what: "Listing your files" }), "Network");
  }
  const text = await resp.text();
  if (!resp.ok) throw new Plain(storeWords(resp.status, text, { endpoint: c.Endpoint, what: "Listing your files" }));
  const doc = new DOMParser().parseFromString(text, "application/xml");
  const items = [...doc.getElementsByTagName("Contents")].map((n) => ({
    key: n.getElementsByTagName("Key")[0].textContent,
    size: Number(n.getElementsByTagName("Size")[0].textContent),
    modified: n.getElementsByTagName("LastModified")[0].textContent,
  }));
  renderFiles(items);
  return items;
}

function renderFiles(items) {
  const rows = items.map((it) => {
    const name = it.key.slice(dev.creds.Prefix.length);
    return el("tr", { "data-key": it.key },
      el("th", { scope: "row" }, el("code", {}, it.key)),
      el("td", {}, size(it.size)),
      el("td", {}, it.modified.replace("T", " ").replace(/\.\d+Z$/, "Z")),
      el("td", { class: "actions" },
        el("button", { type: "button", class: "secondary", text: "Download", "aria-label": `Download ${name}`, onclick: () => download(it.key).catch((e) => say(e.message, "error")) }),
        el("button", { type: "button", class: "danger", text: "Delete", "aria-label": `Delete ${name}`, onclick: () => remove(it.key).catch((e) => say(e.message, "error")) })));
  });
  $("files-table").tBodies[0].replaceChildren(...rows);
  labelCells($("files-table"));
  $("files-empty").hidden = items.length > 0;
}

async function presigned(methodName, key) {
  return call("/v1/presign", { auth: dev.token, body: { grant: dev.grant.name, method: methodName, key, expires: URL_LIFE } });
}

async function download(key) {
  const p = await presigned("GET", key);
  const what = `Downloading ${key}`;
  let resp;
  try {
    resp = await fetch(p.url, { cache: "no-store" });
  } catch {
    throw new Plain(storeWords(0, "", { endpoint: dev.creds.Endpoint, what }), "Network");
  }
  if (!resp.ok) throw new Plain(storeWords(resp.status, await resp.text(), { endpoint: dev.creds.Endpoint, what }));
  const blob = await resp.blob();
  const href = URL.createObjectURL(blob);
  const a = el("a", { href, download: key.split("/").pop(), class: "sr-only" });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 60_000);
  say(`Downloaded ${key} (${size(blob.size)}).`, "ok");
}

async function remove(key) {
  const p = await presigned("DELETE", key);
  const what = `Deleting ${key}`;
  let resp;
  try {
    resp = await fetch(p.url, { method: "DELETE" });
  } catch {
    throw new Plain(storeWords(0, "", { endpoint: dev.creds.Endpoint, what }), "Network");
  }
  if (!resp.ok) throw new Plain(storeWords(resp.status, await resp.text(), { endpoint: dev.creds.Endpoint, what }));
  say(`Deleted ${key}.`, "ok");
  await listFiles();
}

/** Wires the view's own controls (once). */
export function wire() {
  $("creds-refresh").addEventListener("click", () => {
    refresh().then(() => say("Credentials refreshed.", "ok"), (e) => say(e.message, "error"));
  });
  $("list-refresh").addEventListener("click", () => {
    listFiles().then(() => say("List reloaded.", "ok"), (e) => say(e.message, "error"));
  });
  $("files").addEventListener("change", (e) => {
    uploadFiles([...e.target.files]);
    e.target.value = "";
  });
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    uploadFiles([...e.dataTransfer.files]);
  });
}
