"""The console's vendor-SDK uploads (issue 16) in Debian's Chromium: the real `ali-oss` browser
SDK on an OSS grant (put, multipart with progress, cancel) and `cos-js-sdk-v5` on a COS grant
(slice upload, list, download, delete), both the npm packages' prebuilt bundles vendored under
crates/server/console/vendor/ and served by the binary under its strict CSP.

And credentials that expire in the middle of an upload: that test's `stsgate serve` runs under
Debian's libfaketime (scripts/test.sh installs `faketime`) with its clock 25 times as fast, so a
900 s credential really expires about 37 s into a throttled ali-oss multipart upload, which goes
on because ali-oss's refreshSTSToken asks the api face for new credentials. Nothing in the server
is there for the test: the clock is the only thing changed.
"""

import glob
import hashlib
import time
from pathlib import Path

import oss2
import pytest
import requests

from conftest import REGION, Server
from cos_helpers import cos_client, root_creds
from test_console import (MB5, PHONE, Tab, axe_serious, browser, file_of,  # noqa: F401
                          throttle_uploads, upload, watch_progress)

LIBFAKETIME = sorted(glob.glob("/usr/lib/*/faketime/libfaketimeMT.so.1"))


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    data = tmp_path_factory.mktemp("console-sdks") / "data"
    s = Server(data, log_dir=data.parent / "logs").start()
    yield s
    s.stop()


def unthrottle(cdp):
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})


def download_digest(tab, key):
    with tab.page.expect_download() as d:
        tab.page.click(f"#files-table tr[data-key='{key}'] button:has-text('Download')")
    return hashlib.sha256(Path(d.value.path()).read_bytes()).hexdigest()


def cos_bucket(tab):
    return tab.page.evaluate(
        "() => [...document.querySelectorAll('#creds dt')].find((d) => d.textContent === 'Bucket').nextElementSibling.textContent")


def test_ali_oss_and_cos_sdk_uploads(srv, browser, tmp_path):  # noqa: F811
    alice = Tab(browser, srv)
    alice.sign_in_as("alice")
    # The SDK methods are offered per cloud: on the OSS grant, ali-oss but not cos-js-sdk-v5.
    assert alice.page.is_enabled("input[name=method][value=alioss]")
    assert alice.page.is_disabled("input[name=method][value=cossdk]")
    watch_progress(alice.page)
    cdp = throttle_uploads(alice, 4 * 1024 * 1024)

    # ali-oss: 5 MB goes up by multipartUpload (1 MiB parts) with progress shown; a small file by put.
    big, big_digest = file_of(tmp_path, "sdk-big.bin", MB5, "alioss")
    item = upload(alice, big, "alioss")
    assert "done" in item.get_attribute("class"), item.inner_text()
    assert item.get_attribute("data-how") == "multipart"
    assert "multipart upload" in item.inner_text()
    assert item.locator(".pct").inner_text() == "100%"
    seen = alice.page.evaluate("window.__progress")
    assert any(0 < v < 100 for v in seen), f"no intermediate progress shown: {seen}"
    small, small_digest = file_of(tmp_path, "sdk-small.txt", 4000, "small")
    item = upload(alice, small, "alioss")
    assert "done" in item.get_attribute("class") and item.get_attribute("data-how") == "put", item.inner_text()
    for name in ("sdk-big.bin", "sdk-small.txt"):
        alice.page.wait_for_selector(f"#files-table tr[data-key='users/alice/{name}']")
    assert download_digest(alice, "users/alice/sdk-big.bin") == big_digest
    assert download_digest(alice, "users/alice/sdk-small.txt") == small_digest
    alice.shot("developer-alioss")

    # Cancel a slow multipart upload: nothing stored, and no multipart upload left behind.
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 512 * 1024})
    slow, _ = file_of(tmp_path, "sdk-cancelled.bin", MB5, "cancel")
    alice.page.check("input[name=method][value=alioss]")
    alice.page.set_input_files("#files", str(slow))
    row = alice.page.locator("#uploads li[data-name='sdk-cancelled.bin']")
    alice.page.wait_for_function(
        "() => [...document.querySelectorAll('#uploads li[data-name=\"sdk-cancelled.bin\"] progress')].some((p) => p.value > 0)")
    row.locator("button:has-text('Cancel')").click()
    alice.page.wait_for_selector("#uploads li.failed[data-name='sdk-cancelled.bin']")
    assert "cancelled" in row.inner_text()
    unthrottle(cdp)
    root = srv.bucket("app")
    deadline = time.monotonic() + 10
    while [u.key for u in oss2.MultipartUploadIterator(root)] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [u.key for u in oss2.MultipartUploadIterator(root)] == [], "the cancelled upload was aborted"
    assert not root.object_exists("users/alice/sdk-cancelled.bin")

    # cos-js-sdk-v5 on the COS grant: selectable now; list, upload (slice), download, delete.
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 4 * 1024 * 1024})
    alice.page.check("#grant-cos-folder")
    alice.page.wait_for_function(
        "() => [...document.querySelectorAll('#creds dd')].some((d) => d.textContent.startsWith('app-'))")
    alice.page.wait_for_selector("#files-empty:not([hidden])")
    assert alice.page.is_disabled("input[name=method][value=alioss]")
    assert alice.page.is_disabled("input[name=method][value=sts]")
    alice.page.evaluate("window.__progress = []")
    cos_big, cos_digest = file_of(tmp_path, "cos-big.bin", MB5, "cossdk")
    item = upload(alice, cos_big, "cossdk")
    assert "done" in item.get_attribute("class"), item.inner_text()
    assert item.get_attribute("data-how") == "slice"
    seen = alice.page.evaluate("window.__progress")
    assert any(0 < v < 100 for v in seen), f"no intermediate progress shown: {seen}"
    # Cancel a slow slice upload: nothing stored, its multipart upload aborted.
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 512 * 1024})
    slow, _ = file_of(tmp_path, "cos-cancelled.bin", MB5, "cos-cancel")
    alice.page.set_input_files("#files", str(slow))
    row = alice.page.locator("#uploads li[data-name='cos-cancelled.bin']")
    alice.page.wait_for_function(
        "() => [...document.querySelectorAll('#uploads li[data-name=\"cos-cancelled.bin\"] progress')].some((p) => p.value > 0)")
    row.locator("button:has-text('Cancel')").click()
    alice.page.wait_for_selector("#uploads li.failed[data-name='cos-cancelled.bin']")
    assert "cancelled" in row.inner_text()
    unthrottle(cdp)
    bucket = cos_bucket(alice)
    cos_root = cos_client(srv, root_creds(srv))
    pending = lambda: cos_root.list_multipart_uploads(Bucket=bucket, Prefix="users/alice/").get("Upload", [])  # noqa: E731
    deadline = time.monotonic() + 10
    while pending() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert pending() == [], "the cancelled slice upload was aborted"
    assert not cos_root.object_exists(Bucket=bucket, Key="users/alice/cos-cancelled.bin")
    # The other methods on the COS grant too (presigned PUT and the post-policy form).
    for method in ("presign", "post"):
        f, _ = file_of(tmp_path, f"cos-{method}.txt", 3000, method)
        item = upload(alice, f, method)
        assert "done" in item.get_attribute("class"), (method, item.inner_text())
    for name in ("cos-big.bin", "cos-presign.txt", "cos-post.txt"):
        alice.page.wait_for_selector(f"#files-table tr[data-key='users/alice/{name}']")
    assert download_digest(alice, "users/alice/cos-big.bin") == cos_digest
    got = requests.get(f"{srv.cos_endpoint}/{bucket}/users/alice/cos-big.bin", timeout=10)
    assert got.status_code == 403, "the object is private: only the page's signed requests read it"
    alice.page.click("#files-table tr[data-key='users/alice/cos-post.txt'] button:has-text('Delete')")
    alice.page.wait_for_selector("#files-table tr[data-key='users/alice/cos-post.txt']", state="detached")
    alice.shot("developer-cos")
    assert axe_serious(alice.page) == [], "developer view on a COS grant"

    # Bob's COS listing does not show alice's file.
    bob = Tab(browser, srv)
    bob.sign_in_as("bob")
    bob.page.check("#grant-cos-folder")
    bob.page.wait_for_selector("#files-empty:not([hidden])")
    assert "users/alice/" not in bob.page.inner_text("#files-table")
    # Revoked, bob's next cos-js-sdk-v5 upload (with the credentials his page holds) fails in
    # plain words.
    r = requests.post(f"{srv.api_endpoint}/v1/revoke", json={"caller": "jwt:bob"}, timeout=10,
                      headers={"Authorization": f"Bearer {srv.root['OperatorKey']}"})
    assert r.status_code == 200, r.text
    time.sleep(1.5)  # the store refuses revoked credentials "within a second" (README)
    after, _ = file_of(tmp_path, "bob-after-revoke.txt", 1000, "bob")
    item = upload(bob, after, "cossdk")
    assert "failed" in item.get_attribute("class")
    assert "revoked your temporary credentials" in item.inner_text(), item.inner_text()
    bob.shot("developer-cos-revoked")
    phone = Tab(browser, srv, viewport=PHONE)
    phone.sign_in_as("alice")
    phone.page.check("#grant-cos-folder")
    phone.page.wait_for_selector("#files-table tr[data-key='users/alice/cos-big.bin']")
    phone.shot("developer-cos")
    assert phone.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.close()

    # Neither SDK left anything in localStorage, and both ran under the CSP.
    for tab in (alice, bob):
        assert tab.page.evaluate("localStorage.length") == 0
        assert tab.csp_violations() == [], tab.csp_violations()
        assert not [e for e in tab.errors if "eval" in e.lower()], tab.errors
    alice.close()
    bob.close()


def test_vendor_bundles_are_served_under_the_csp(srv):
    for name in ("aliyun-oss-sdk.min.js", "cos-js-sdk-v5.min.js"):
        r = requests.get(f"{srv.api_endpoint}/console/vendor/{name}", timeout=10)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/javascript")
        assert "unsafe-eval" not in r.headers["Content-Security-Policy"]
        assert "ETag" in r.headers
    assert requests.get(f"{srv.api_endpoint}/console/vendor/nope.js", timeout=10).status_code == 404


def test_credentials_expiring_mid_upload_are_refreshed(browser, start_server, tmp_path):  # noqa: F811
    if not LIBFAKETIME:
        pytest.fail("libfaketime is missing: scripts/test.sh installs Debian's faketime (apt-get install -y faketime)")
    # The server's clock starts 12 minutes behind this machine's and runs 25 times as fast (the
    # monotonic clock is left alone): a 900 s credential lives 36 s, new ones are issued from
    # 24 s on (a third of the life left), and the skew between the browser's clock and the
    # server's stays within OSS's 15 minutes for about 65 s. ali-oss asks for credentials every
    # 10 s (250 s of the server's), so it never signs with credentials past their expiry.
    srv = start_server(data_dir=tmp_path / "data", env={
        "LD_PRELOAD": LIBFAKETIME[0],
        "FAKETIME": "-12m x25",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
    })
    frank = Tab(browser, srv)
    # Every request the SDK sends to the oss face, with the access key id it was signed with.
    sent = []
    frank.page.on("request", lambda r: r.url.startswith(srv.endpoint) and r.method != "OPTIONS" and sent.append(
        (r.method, r.url, (r.headers.get("authorization") or "").split(":")[0].removeprefix("OSS "))))
    frank.sign_in_as("frank")
    first = frank.page.evaluate(
        "() => [...document.querySelectorAll('#creds dt')].find((d) => d.textContent === 'AccessKeyId').nextElementSibling.textContent")
    watch_progress(frank.page)
    # 5 MiB in 1 MiB parts, 3 at a time, in about 52 s: parts 4 and 5 start after the new
    # credentials are to be had (about 31 s in), the upload ends after the first ones expired.
    throttle_uploads(frank, 100 * 1024)
    big, digest = file_of(tmp_path, "long-upload.bin", MB5, "refresh")
    frank.page.check("input[name=method][value=alioss]")
    frank.page.set_input_files("#files", str(big))
    # The first credentials expire while the upload goes on: the page shows the new ones.
    frank.page.wait_for_function(
        """(first) => [...document.querySelectorAll('#creds dt')].find((d) => d.textContent === 'AccessKeyId')
             .nextElementSibling.textContent !== first""", arg=first, timeout=70_000)
    assert frank.page.locator("#uploads li.done, #uploads li.failed").count() == 0, "still uploading"
    frank.shot("developer-refreshed-mid-upload")
    frank.page.wait_for_selector("#uploads li.done[data-name='long-upload.bin'], #uploads li.failed[data-name='long-upload.bin']",
                                 timeout=100_000)
    item = frank.page.locator("#uploads li[data-name='long-upload.bin']")
    assert "done" in item.get_attribute("class"), item.inner_text()
    assert item.get_attribute("data-how") == "multipart"

    # More than one credential was issued to frank, and the upload's requests were signed with
    # both: the first with the first credentials, the last (CompleteMultipartUpload, sent after
    # the first credentials had expired) with new ones that refreshSTSToken fetched.
    audit = requests.get(f"{srv.api_endpoint}/v1/audit", timeout=10,
                         params={"caller": "jwt:frank", "outcome": "issued", "limit": 100},
                         headers={"Authorization": f"Bearer {srv.root['OperatorKey']}"}).json()
    keys = [r["access_key_id"] for r in audit["records"]]
    assert len(set(keys)) >= 2 and keys[0] == first, keys
    upload_reqs = [(m, ak) for m, url, ak in sent if "long-upload.bin" in url]
    assert upload_reqs[0] == ("POST", first), upload_reqs  # InitiateMultipartUpload
    assert upload_reqs[-1][0] == "POST" and upload_reqs[-1][1] not in ("", first), upload_reqs
    assert sum(1 for m, _ in upload_reqs if m == "PUT") == 5, upload_reqs  # 5 parts of 1 MiB
    # The object arrived whole, after the first credential had expired (in the server's clock).
    root = oss2.Bucket(srv.root_auth(), srv.endpoint, "app", region=REGION)
    body = root.get_object("users/frank/long-upload.bin").read()
    assert hashlib.sha256(body).hexdigest() == digest
    first_expiry = [r for r in audit["records"] if r["access_key_id"] == first][0]
    head = root.head_object("users/frank/long-upload.bin")
    assert head.last_modified > first_expiry["time"] + 900 - 5, (head.last_modified, first_expiry)
    assert frank.csp_violations() == []
    frank.close()
