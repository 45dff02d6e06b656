"""The web console (issue 16) in Debian's Chromium, headless, driven by Playwright.

One live `stsgate serve` without a config (the development setup) on loopback, of this module's
own (alice is revoked here, so the session-wide server is not used). The browser is
/usr/bin/chromium (scripts/test.sh installs it); Playwright never downloads one.

Screenshots of each view at desktop and phone width go to target/console-screenshots/.
"""

import hashlib
import json
import os
import re
import time
from pathlib import Path

import pytest
import requests

from conftest import REPO_ROOT, Server

playwright_sync = pytest.importorskip("playwright.sync_api")

CHROMIUM = os.environ.get("STSGATE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = REPO_ROOT / "target" / "console-screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
WAIT_MS = 20_000  # the longest any one expectation waits
MB5 = 5 * 1024 * 1024


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    data = tmp_path_factory.mktemp("console") / "data"
    s = Server(data, log_dir=data.parent / "logs").start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/test.sh installs Debian's chromium (apt-get install -y chromium)")
    with playwright_sync.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000)
        yield b
        b.close()


class Tab:
    """One browser context (its own sessionStorage) on the console, recording console errors."""

    def __init__(self, browser, srv, viewport=DESKTOP):
        self.context = browser.new_context(viewport=viewport, accept_downloads=True)
        self.context.set_default_timeout(WAIT_MS)
        self.page = self.context.new_page()
        self.errors = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.srv = srv
        self.page.goto(srv.api_endpoint + "/")
        self.page.wait_for_selector("body[data-ready=true]")

    def csp_violations(self):
        return [e for e in self.errors if "Content Security Policy" in e]

    def sign_in_as(self, name):
        p = self.page
        p.fill("#dev-name", name)
        p.click("#form-dev-name button[type=submit]")
        p.wait_for_selector(f"#who:has-text('jwt:{name}')")
        p.wait_for_selector("#creds dd")
        return self

    def status(self):
        return self.page.inner_text("#status")

    def shot(self, name):
        SHOTS.mkdir(parents=True, exist_ok=True)
        w = self.page.viewport_size["width"]
        self.page.screenshot(path=str(SHOTS / f"{name}-{'phone' if w < 600 else 'desktop'}.png"), full_page=True)

    def close(self):
        self.context.close()


def file_of(tmp_path, name, size, seed):
    data = hashlib.sha256(seed.encode()).digest() * (size // 32 + 1)
    path = tmp_path / name
    path.write_bytes(data[:size])
    return path, hashlib.sha256(data[:size]).hexdigest()


def watch_progress(page):
    """Records every value the upload progress bars take (to show progress was shown)."""
    page.evaluate("""() => {
      window.__progress = [];
      new MutationObserver((ms) => ms.forEach((m) => window.__progress.push(Number(m.target.value))))
        .observe(document.getElementById('uploads'), {subtree: true, attributes: true, attributeFilter: ['value']});
    }""")


def throttle_uploads(tab, bytes_per_second):
    cdp = tab.context.new_cdp_session(tab.page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": bytes_per_second})
    return cdp


def upload(tab, path, method):
    p = tab.page
    p.check(f"input[name=method][value={method}]")
    p.set_input_files("#files", str(path))
    item = p.locator(f"#uploads li[data-name='{path.name}']").first
    p.wait_for_function(
        "(n) => [...document.querySelectorAll('#uploads li')].some((li) => li.dataset.name === n && (li.classList.contains('done') || li.classList.contains('failed')))",
        arg=path.name)
    return item


def axe_serious(page):
    from axe_playwright_python.sync_playwright import Axe
    results = Axe().run(page)
    return [(v["id"], v["impact"], v["help"]) for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")]


def test_console_headers(srv):
    r = requests.get(srv.api_endpoint + "/", timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert f"connect-src 'self' {srv.endpoint} {srv.cos_endpoint};" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    js = requests.get(srv.api_endpoint + "/console/app.js", timeout=10)
    assert js.headers["Content-Type"].startswith("text/javascript")
    again = requests.get(srv.api_endpoint + "/console/app.js", timeout=10,
                         headers={"If-None-Match": js.headers["ETag"]})
    assert again.status_code == 304
    assert requests.get(srv.api_endpoint + "/console/nope.js", timeout=10).status_code == 404


def test_developer_operator_flow(srv, browser, tmp_path):
    alice = Tab(browser, srv)
    assert not alice.page.is_hidden("#form-dev-name"), "the dev setup offers 'sign in as NAME'"
    alice.shot("signin")
    alice.sign_in_as("alice")
    # The token is in sessionStorage only: never in the URL or localStorage.
    assert "eyJ" not in alice.page.url
    assert alice.page.evaluate("localStorage.length") == 0
    assert re.search(r"Expires in \d\d:\d\d", alice.page.inner_text("#creds-countdown"))

    # A 5 MB file by each method, each with its progress bar (uploads throttled so progress shows).
    watch_progress(alice.page)
    cdp = throttle_uploads(alice, 4 * 1024 * 1024)
    digests = {}
    for method in ("presign", "post", "sts"):
        path, digest = file_of(tmp_path, f"photo-{method}.bin", MB5, method)
        digests[path.name] = digest
        item = upload(alice, path, method)
        assert "done" in item.get_attribute("class"), item.inner_text()
        assert item.locator(".pct").inner_text() == "100%"
        alice.page.wait_for_selector(f"#files-table tr[data-key='users/alice/{path.name}']")
    seen = alice.page.evaluate("window.__progress")
    assert any(0 < v < 100 for v in seen), f"no intermediate progress shown: {seen}"

    # Cancel: a slow upload is cancelled, nothing is stored, the page says so.
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 256 * 1024})
    slow, _ = file_of(tmp_path, "cancelled.bin", MB5, "cancel")
    alice.page.check("input[name=method][value=presign]")
    alice.page.set_input_files("#files", str(slow))
    row = alice.page.locator("#uploads li[data-name='cancelled.bin']")
    alice.page.wait_for_function(
        "() => [...document.querySelectorAll('#uploads li[data-name=\"cancelled.bin\"] progress')].some((p) => p.value > 0)")
    row.locator("button:has-text('Cancel')").click()
    alice.page.wait_for_selector("#uploads li.failed[data-name='cancelled.bin']")
    assert "cancelled" in row.inner_text()
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})

    # Several files at once by drag and drop.
    alice.page.evaluate("""() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['one'], 'dropped-1.txt', {type: 'text/plain'}));
      dt.items.add(new File(['two'], 'dropped-2.txt', {type: 'text/plain'}));
      document.getElementById('drop').dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
    }""")
    for n in ("dropped-1.txt", "dropped-2.txt"):
        alice.page.wait_for_selector(f"#files-table tr[data-key='users/alice/{n}']")
    assert alice.page.locator("#files-table tr[data-key='users/alice/cancelled.bin']").count() == 0

    # Downloads are byte-identical.
    for name, digest in digests.items():
        with alice.page.expect_download() as d:
            alice.page.click(f"#files-table tr[data-key='users/alice/{name}'] button:has-text('Download')")
        got = hashlib.sha256(Path(d.value.path()).read_bytes()).hexdigest()
        assert got == digest, name
    # Delete.
    alice.page.click("#files-table tr[data-key='users/alice/dropped-2.txt'] button:has-text('Delete')")
    alice.page.wait_for_selector("#files-table tr[data-key='users/alice/dropped-2.txt']", state="detached")
    alice.shot("developer")
    phone = Tab(browser, srv, viewport=PHONE)
    phone.sign_in_as("alice")
    phone.page.wait_for_selector("#files-table tr[data-key='users/alice/photo-sts.bin']")
    phone.shot("developer")
    assert phone.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "no sideways scroll at 390px"
    phone.close()

    # Bob sees none of it, and his direct requests for it are refused.
    bob = Tab(browser, srv)
    bob.sign_in_as("bob")
    bob.page.wait_for_selector("#files-empty:not([hidden])")
    assert "users/alice/" not in bob.page.inner_text("#files-table")
    refused = bob.page.evaluate("""async (key) => {
      const token = sessionStorage.getItem('stsgate.console.token');
      const auth = {Authorization: 'Bearer ' + token, 'Content-Type': 'application/json'};
      const presign = await fetch('/v1/presign', {method: 'POST', headers: auth,
        body: JSON.stringify({grant: 'user-folder', method: 'GET', key})});
      const c = await (await fetch('/v1/credentials?grant=user-folder', {headers: auth})).json();
      const date = new Date().toUTCString();
      const s = await (await fetch('/v1/sign', {method: 'POST', headers: auth, body: JSON.stringify(
        {grant: 'user-folder', string_to_sign: `GET\\n\\n\\n${date}\\nx-oss-date:${date}\\n/app/`})})).json();
      const list = await fetch(`${c.Endpoint}/app/?prefix=users/alice/`, {headers: {
        Authorization: s.authorization, 'x-oss-date': date, 'x-oss-security-token': s.security_token}});
      return {presign: presign.status, presignBody: await presign.text(), list: list.status, listBody: await list.text()};
    }""", "users/alice/photo-presign.bin")
    assert refused["presign"] == 403 and "OutsideGrant" in refused["presignBody"], refused
    assert refused["list"] == 403 and "AccessDenied" in refused["listBody"], refused
    assert requests.get(f"{srv.endpoint}/app/users/alice/photo-presign.bin", timeout=10).status_code == 403

    # The operator sees both users' issuances and revokes alice.
    op = Tab(browser, srv)
    op.page.click("#tab-operator")
    op.shot("operator-signin")
    op.page.fill("#op-key", srv.root["OperatorKey"])
    op.page.click("#form-op-key button[type=submit]")
    op.page.wait_for_selector("#audit-table tbody tr")
    audit = op.page.inner_text("#audit-table")
    for who in ("jwt:alice", "jwt:bob"):
        assert re.search(rf"{who}\s+user-folder\s+issued", audit), who
    op.page.fill("#audit-filter input[name=caller]", "jwt:bob")
    op.page.click("#audit-filter button[type=submit]")
    op.page.wait_for_function("() => !document.querySelector('#audit-table').innerText.includes('jwt:alice')")
    assert "jwt:bob" in op.page.inner_text("#audit-table tbody")
    # Pages of 10 (there are more than 20 rows by now): the second page follows the first.
    op.page.select_option("#audit-filter select[name=limit]", "10")
    op.page.fill("#audit-filter input[name=caller]", "")
    op.page.click("#audit-filter button[type=submit]")
    op.page.wait_for_selector("#audit-page:text-is('Page 1: 10 record(s)')")
    ids = "() => [...document.querySelectorAll('#audit-table tbody tr')].map((r) => Number(r.dataset.id))"
    first = op.page.evaluate(ids)
    op.page.click("#audit-next")
    op.page.wait_for_selector("#audit-page:text-is('Page 2: 10 record(s)')")
    second = op.page.evaluate(ids)
    assert len(first) == len(second) == 10 and max(first) < min(second), (first, second)
    op.page.click("#audit-first")
    op.page.wait_for_selector("#audit-page:text-is('Page 1: 10 record(s)')")
    op.page.select_option("#audit-filter select[name=limit]", "100")
    op.page.click("#audit-filter button[type=submit]")
    op.page.wait_for_selector("#audit-page:has-text('the last page')")
    op.page.wait_for_selector("#live-table tr[data-caller='jwt:alice']")
    op.page.wait_for_selector("#live-table tr[data-caller='jwt:bob']")
    # Signed URLs live shorter than the credentials, so alice's uploads reused hers.
    summary = op.page.inner_text("#live-table tr[data-caller='jwt:alice'] summary")
    assert int(summary.split()[0]) <= 2, summary
    # The chart counts this hour's issuances and refusals (bob's refused presign among them).
    chart = op.page.locator("#chart")
    assert int(chart.get_attribute("data-issued")) >= 2 and int(chart.get_attribute("data-refused")) >= 1
    assert op.page.locator("#chart svg rect.bar.issued").count() >= 1
    assert "issued" in op.page.get_attribute("#chart svg", "aria-label")
    op.shot("operator")
    op.page.locator("#live-table tr[data-caller='jwt:alice']").first.locator("button:has-text('Revoke caller')").click()
    op.page.wait_for_selector("#status:has-text('Revoked every credential of jwt:alice')")
    op.page.wait_for_selector("#live-table tr[data-caller='jwt:alice']", state="detached")
    assert op.page.locator("#live-table tr[data-caller='jwt:bob']").count() > 0
    op_phone = Tab(browser, srv, viewport=PHONE)
    op_phone.page.click("#tab-operator")
    op_phone.page.fill("#op-key", srv.root["OperatorKey"])
    op_phone.page.click("#form-op-key button[type=submit]")
    op_phone.page.wait_for_selector("#audit-table tbody tr")
    op_phone.shot("operator")
    op_phone.close()

    # Alice's next upload (with the credentials her page holds) fails, in plain words on screen.
    time.sleep(1.5)  # the store refuses revoked credentials "within a second" (README)
    after, _ = file_of(tmp_path, "after-revoke.txt", 1000, "after")
    item = upload(alice, after, "sts")
    assert "failed" in item.get_attribute("class")
    assert "revoked" in item.inner_text()
    assert "revoked your temporary credentials" in alice.status()
    alice.shot("developer-revoked")

    for tab in (alice, bob, op):
        assert tab.csp_violations() == [], tab.csp_violations()
    alice.close()
    bob.close()
    op.close()


def test_accessibility_and_phone_width(srv, browser):
    for viewport in (DESKTOP, PHONE):
        tab = Tab(browser, srv, viewport=viewport)
        assert axe_serious(tab.page) == [], "sign-in view"
        tab.shot("signin")
        tab.sign_in_as("carol")
        tab.page.wait_for_selector("#files-empty:not([hidden])")
        assert axe_serious(tab.page) == [], "developer view"
        assert tab.page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        tab.page.click("#tab-operator")
        assert axe_serious(tab.page) == [], "operator sign-in"
        tab.shot("operator-signin")
        tab.page.fill("#op-key", srv.root["OperatorKey"])
        tab.page.click("#form-op-key button[type=submit]")
        tab.page.wait_for_selector("#audit-table tbody tr")
        # The grants in effect and stsgate check's lines (no config here: the defaults).
        tab.page.wait_for_selector("#op-grants-table tr[data-grant='user-folder']")
        assert "no config" in tab.page.inner_text("#checks")
        assert "local (the embedded faces)" in tab.page.inner_text("#providers-line")
        assert axe_serious(tab.page) == [], "operator view"
        assert tab.page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        # Keyboard: the sign-out button is reachable by Tab and shows a focus ring.
        tab.page.focus("#tab-operator")
        tab.page.keyboard.press("Tab")
        assert tab.page.evaluate("document.activeElement.id") == "sign-out"
        outline = tab.page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none"
        tab.close()


def test_dev_sign_in_only_without_config(srv, start_server, tmp_path):
    r = requests.post(srv.api_endpoint + "/v1/dev/token", json={"sub": "dave"}, timeout=10)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    token = r.json()["token"]
    c = requests.get(srv.api_endpoint + "/v1/credentials?grant=user-folder", timeout=10,
                     headers={"Authorization": f"Bearer {token}"})
    assert c.status_code == 200 and c.json()["Prefix"] == "users/dave/"
    assert requests.post(srv.api_endpoint + "/v1/dev/token", json={"sub": "../x"}, timeout=10).status_code == 400

    config = tmp_path / "stsgate.toml"
    config.write_text('[[grant]]\nname = "user-folder"\nbucket = "app"\nprefix = "users/${sub}/"\n'
                      'actions = ["read", "write"]\n')
    other = start_server(data_dir=tmp_path / "data2", args=["--config", str(config)])
    r = requests.post(other.api_endpoint + "/v1/dev/token", json={"sub": "dave"}, timeout=10)
    assert r.status_code == 404
    cfg = requests.get(other.api_endpoint + "/console/config.json", timeout=10).json()
    assert cfg["dev_sign_in"] is False
    assert not any("sign in as any name" in line for line in other.stdout_lines)


def test_a_bucket_without_the_cors_rule_says_so(browser, start_server, tmp_path):
    """With a config the console's origin is not added to any bucket's CORS: the page says that
    CORS is the likely cause (with the command that fixes it) instead of failing blankly."""
    config = tmp_path / "stsgate.toml"
    config.write_text('[[grant]]\nname = "user-folder"\nbucket = "app"\nprefix = "users/${sub}/"\n'
                      'actions = ["read", "write", "list", "delete"]\n')
    srv = start_server(data_dir=tmp_path / "data", args=["--config", str(config)])
    tab = Tab(browser, srv)
    assert tab.page.is_hidden("#form-dev-name"), "no 'sign in as NAME' with a config"
    tab.page.fill("#dev-token", srv.token("erin"))
    tab.page.click("#form-dev-token button[type=submit]")
    tab.page.wait_for_selector("#who:has-text('jwt:erin')")
    # The listing on sign-in is refused by the browser (no CORS rule): said, still signed in.
    tab.page.wait_for_selector("#status .error")
    assert "CORS" in tab.status() and f"this page's origin ({srv.api_endpoint})" in tab.status(), tab.status()
    assert "PutBucketCors" in tab.status(), "the embedded store's fix, not a cloud's"
    assert not tab.page.is_hidden("#dev-view")
    small, _ = file_of(tmp_path, "no-cors.txt", 1000, "no-cors")
    item = upload(tab, small, "presign")
    assert "failed" in item.get_attribute("class")
    assert "CORS rules do not allow this page's origin" in item.inner_text()
    tab.shot("developer-no-cors")
    tab.close()
