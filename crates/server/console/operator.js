// The operator view: the audit log as a filterable, paginated table, and the live credentials
// (issued, not expired, not revoked) with revoke buttons. The operator key lives in this
// module's memory only.

import { call, el, labelCells, say } from "./api.js";
import { bin, draw } from "./chart.js";

const $ = (id) => document.getElementById(id);

/** How far back live credentials are looked for (longer than any grant's max_duration here). */
const LIVE_WINDOW_S = 12 * 3600;

const op = {
  key: null,
  cursors: [], // the cursor of each page shown so far ("" = the first)
  next: null,
};

/** Opens the view with `key`; rejects (Plain) when it is not the operator key. */
export async function start(key) {
  await call("/v1/audit?limit=1", { auth: key });
  op.key = key;
  $("who").textContent = "Signed in as the operator";
  op.cursors = [""];
  await Promise.all([loadAudit(), loadLive(), loadStatus(false)]);
}

export function stop() {
  Object.assign(op, { key: null, cursors: [], next: null });
  $("audit-table").tBodies[0].replaceChildren();
  $("live-table").tBodies[0].replaceChildren();
  $("op-grants-table").tBodies[0].replaceChildren();
  $("checks").replaceChildren();
  $("chart").replaceChildren();
}

export function signedIn() {
  return op.key !== null;
}

function query(cursor) {
  const form = $("audit-filter");
  const q = new URLSearchParams();
  for (const name of ["caller", "grant", "outcome", "limit"]) {
    const v = form.elements[name].value.trim();
    if (v) q.set(name, v);
  }
  const since = form.elements.since.value;
  if (since) q.set("since", String(Math.floor(Date.parse(`${since}Z`) / 1000)));
  if (cursor) q.set("cursor", cursor);
  return q.toString();
}

async function loadAudit() {
  const cursor = op.cursors[op.cursors.length - 1];
  const page = await call(`/v1/audit?${query(cursor)}`, { auth: op.key });
  op.next = page.next_cursor;
  const rows = page.records.map((r) => el("tr", { "data-id": String(r.id) },
    el("td", {}, new Date(r.time * 1000).toISOString().replace("T", " ").slice(0, 19)),
    el("td", {}, r.caller || "—"),
    el("td", {}, r.grant || "—"),
    el("td", { class: r.outcome.startsWith("refused") ? "bad" : "" }, r.outcome),
    el("td", {}, el("code", {}, r.access_key_id || "")),
    el("td", { class: "detail" }, r.detail || "")));
  $("audit-table").tBodies[0].replaceChildren(...rows);
  labelCells($("audit-table"));
  $("audit-next").disabled = !op.next;
  $("audit-first").disabled = op.cursors.length <= 1;
  $("audit-page").textContent = `Page ${op.cursors.length}: ${page.records.length} record(s)${op.next ? "" : ", the last page"}`;
}

/** Every row of `filter` since the live window began (a few pages of 1000 at most). */
async function rowsSince(filter) {
  const since = Math.floor(Date.now() / 1000) - LIVE_WINDOW_S;
  let cursor = "";
  const out = [];
  for (let i = 0; i < 5; i += 1) {
    const q = new URLSearchParams({ ...filter, since: String(since), limit: "1000" });
    if (cursor) q.set("cursor", cursor);
    const page = await call(`/v1/audit?${q}`, { auth: op.key });
    out.push(...page.records);
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  return out;
}

/** The chart's range: [seconds per bar, bars]. */
function range() {
  const [step, bins] = $("chart-range").elements.range.value.split(":").map(Number);
  return [step, bins];
}

async function loadLive() {
  const [issued, revoked, refused] = await Promise.all([
    rowsSince({ outcome: "issued" }), rowsSince({ outcome: "revoked" }), rowsSince({ outcome: "refused" })]);
  const [step, bins] = range();
  const end = Math.ceil(Date.now() / 1000 / step) * step;
  draw($("chart"), bin(issued, refused, end, step, bins), step);
  const now = Date.now() / 1000;
  const callerRevokedUntil = new Map();
  const keysRevoked = new Set();
  for (const r of revoked) {
    const m = /revoked every credential of caller (.+) issued until (\d+)$/.exec(r.detail || "");
    if (m) callerRevokedUntil.set(m[1], Math.max(Number(m[2]), callerRevokedUntil.get(m[1]) || 0));
    if (r.access_key_id) keysRevoked.add(r.access_key_id);
  }
  const live = new Map();
  for (const r of issued) {
    if (!r.access_key_id || (r.expiration || 0) <= now) continue;
    if (keysRevoked.has(r.access_key_id)) continue;
    if ((callerRevokedUntil.get(r.caller) ?? -1) >= r.time) continue;
    live.set(r.access_key_id, r);
  }
  const byCaller = new Map();
  for (const r of live.values()) {
    if (!byCaller.has(r.caller)) byCaller.set(r.caller, []);
    byCaller.get(r.caller).push(r);
  }
  const rows = [...byCaller.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([caller, creds]) => {
    const last = Math.max(...creds.map((r) => r.expiration));
    const left = Math.max(0, Math.round(last - now));
    const grants = [...new Set(creds.map((r) => r.grant))].join(", ");
    const keys = el("details", {},
      el("summary", {}, `${creds.length} credential(s)`),
      el("ul", { class: "keys" }, ...creds.map((r) => el("li", {},
        el("code", {}, r.access_key_id), " ",
        el("button", { type: "button", class: "secondary", text: "Revoke key", "aria-label": `Revoke ${r.access_key_id}`, onclick: () => revoke({ access_key_id: r.access_key_id }) })))));
    return el("tr", { "data-caller": caller },
      el("th", { scope: "row" }, caller),
      el("td", {}, grants),
      el("td", {}, keys),
      el("td", {}, `${new Date(last * 1000).toISOString().slice(11, 19)} UTC (${Math.floor(left / 60)} min left)`),
      el("td", { class: "actions" },
        el("button", { type: "button", class: "danger", text: "Revoke caller", "aria-label": `Revoke every credential of ${caller}`, onclick: () => revoke({ caller }) })));
  });
  $("live-table").tBodies[0].replaceChildren(...rows);
  labelCells($("live-table"));
  $("live-empty").hidden = rows.length > 0;
}

const CHECK_WORDS = { ok: "ok", warn: "warning", skip: "skipped", fail: "FAILED", info: "" };

/** The grants and providers in effect and the lines of `stsgate check` (`probe`: with the
 * providers' live probes). */
async function loadStatus(probe) {
  const s = await call(`/v1/status${probe ? "?probe=true" : ""}`, { auth: op.key });
  const rows = s.grants.map((g) => el("tr", { "data-grant": g.name },
    el("th", { scope: "row" }, g.name),
    el("td", {}, g.provider === "local" ? `local (${g.vendor}, embedded)` : `${g.provider} (${g.vendor})`),
    el("td", {}, g.bucket),
    el("td", {}, el("code", {}, g.prefix)),
    el("td", {}, g.actions.join(", ")),
    el("td", {}, `${g.default_duration / 60} min (max ${g.max_duration / 60})`)));
  $("op-grants-table").tBodies[0].replaceChildren(...rows);
  labelCells($("op-grants-table"));
  $("providers-line").textContent = `Providers: ${s.providers.map((p) => (p.kind === "embedded" ? `${p.name} (the embedded faces)` : `${p.name} (${p.kind}, ${p.region})`)).join("; ")}.`;
  const lines = s.checks.map((c) => el("li", { class: `check-${c.status}` },
    CHECK_WORDS[c.status] ? el("strong", {}, `${CHECK_WORDS[c.status]}: `) : "",
    c.text,
    c.fix ? el("span", { class: "fix" }, ` — fix: ${c.fix}`) : ""));
  $("checks").replaceChildren(...lines);
  return s;
}

async function revoke(target) {
  try {
    const r = await call("/v1/revoke", { auth: op.key, body: target });
    const what = target.caller ? `every credential of ${target.caller}` : target.access_key_id;
    say(`Revoked ${what} at ${r.revoked_at}; the store refuses them within a second.`, "ok");
    await Promise.all([loadAudit(), loadLive()]);
  } catch (e) {
    say(e.message, "error");
  }
}

/** Wires the view's own controls (once). */
export function wire() {
  $("audit-filter").addEventListener("submit", (e) => {
    e.preventDefault();
    if (!op.key) return;
    op.cursors = [""];
    loadAudit().catch((err) => say(err.message, "error"));
  });
  $("audit-next").addEventListener("click", () => {
    if (!op.next) return;
    op.cursors.push(op.next);
    loadAudit().catch((err) => say(err.message, "error"));
  });
  $("chart-range").addEventListener("change", () => {
    if (op.key) loadLive().catch((err) => say(err.message, "error"));
  });
  $("probe").addEventListener("click", async () => {
    if (!op.key) return;
    const button = $("probe");
    button.disabled = true;
    say("Probing the providers…");
    try {
      const s = await loadStatus(true);
      const failed = s.checks.filter((c) => c.status === "fail").length;
      say(failed ? `stsgate check: ${failed} check(s) failed; see Grants and providers.` : "stsgate check: no failures.", failed ? "error" : "ok");
    } catch (e) {
      say(e.message, "error");
    } finally {
      button.disabled = false;
    }
  });
  $("audit-first").addEventListener("click", () => {
    op.cursors = [""];
    loadAudit().catch((err) => say(err.message, "error"));
  });
}

/** Reloads both tables (the operator tab was opened again). */
export async function reload() {
  if (op.key) await Promise.all([loadAudit(), loadLive(), loadStatus(false)]);
}
