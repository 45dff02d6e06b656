// The console's entry: the two views (developer, operator), sign-in and sign-out.
// The developer's token is kept in this tab's sessionStorage (so a reload keeps the session);
// the operator key only in operator.js's memory. Neither ever goes into a URL.

import { call, say, setEmbeddedEndpoints } from "./api.js";
import * as developer from "./developer.js";
import * as operator from "./operator.js";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "stsgate.console.token";

let view = "developer";

function show(name) {
  view = name;
  $("tab-developer").setAttribute("aria-pressed", String(name === "developer"));
  $("tab-operator").setAttribute("aria-pressed", String(name === "operator"));
  const devIn = sessionStorage.getItem(TOKEN_KEY) !== null;
  const opIn = operator.signedIn();
  $("dev-signin").hidden = name !== "developer" || devIn;
  $("dev-view").hidden = name !== "developer" || !devIn;
  $("op-signin").hidden = name !== "operator" || opIn;
  $("op-view").hidden = name !== "operator" || !opIn;
  const signedIn = name === "developer" ? devIn : opIn;
  $("who").hidden = !signedIn;
  $("sign-out").hidden = !signedIn;
  if (signedIn && name === "operator") $("who").textContent = "Signed in as the operator";
}

async function signInDeveloper(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
  try {
    show("developer");
    await developer.start(token);
    if (!document.querySelector("#status .error")) say($("who").textContent, "ok");
    show("developer");
  } catch (e) {
    sessionStorage.removeItem(TOKEN_KEY);
    developer.stop();
    show("developer");
    say(e.message, "error");
  }
}

function signOut() {
  if (view === "developer") {
    sessionStorage.removeItem(TOKEN_KEY);
    developer.stop();
  } else {
    operator.stop();
  }
  show(view);
  say("Signed out.", "info");
}

async function init() {
  developer.wire();
  operator.wire();
  $("tab-developer").addEventListener("click", () => show("developer"));
  $("tab-operator").addEventListener("click", () => {
    show("operator");
    operator.reload().catch((e) => say(e.message, "error"));
  });
  $("sign-out").addEventListener("click", signOut);
  $("form-dev-token").addEventListener("submit", (e) => {
    e.preventDefault();
    const token = $("dev-token").value.trim();
    $("dev-token").value = "";
    signInDeveloper(token);
  });
  $("form-dev-name").addEventListener("submit", async (e) => {
    e.preventDefault();
    const sub = $("dev-name").value.trim();
    try {
      const r = await call("/v1/dev/token", { body: { sub } });
      await signInDeveloper(r.token);
    } catch (err) {
      say(err.message, "error");
    }
  });
  $("form-op-key").addEventListener("submit", async (e) => {
    e.preventDefault();
    const key = $("op-key").value.trim();
    $("op-key").value = "";
    try {
      await operator.start(key);
      show("operator");
      say("Signed in as the operator.", "ok");
    } catch (err) {
      say(err.message, "error");
    }
  });
  try {
    const config = await call("/console/config.json");
    $("form-dev-name").hidden = !config.dev_sign_in;
    setEmbeddedEndpoints(config.oss_endpoint, config.cos_endpoint);
  } catch (e) {
    say(e.message, "error");
  }
  show("developer");
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) await signInDeveloper(saved);
  document.body.dataset.ready = "true";
}

init();
