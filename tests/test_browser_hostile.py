"""The hostile record set (tests/support/hostile.py) in real Chromium (Debian's /usr/bin/chromium via Playwright, never a
downloaded browser) against a real `streamlit run serve.py`, and the served app's own hardening:

- every page, normal and ?print=1, with the hostile records and a crafted URL: no <a>, <img>, <b>/<strong>, <em>,
  <code>, styled span, svg link or bold tspan is made from record or URL text (each hostile string carries MARK),
  the text shows literally, and no request leaves the app — a local "trap" server, whose address the records use
  for their images, counts every request it gets (none);
- the dataframe toolbar offers no CSV download (client.disableDataExport); the app's formula-safe CSV buttons do;
- the PDF renderer's route handler blocks another local port and an outside host when a page asks for them (the
  hostile 報告 PDF itself: tests/test_report_pdf_hostile.py, outside this module's Playwright session);
- a websocket handshake or HTTP request with `Host: evil.example` (DNS rebinding) is refused, a cross-origin
  websocket too, /_stcore/metrics answers 404;
- `streamlit run serve.py` (as `make run` starts it) connects to no address but loopback, and resolves no name, while
  a bare Streamlit app without this project's settings does (the external-IP lookup).
"""
from __future__ import annotations

import base64
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from monitor.plain import BREAK
from monitor.report_pdf import only_app_requests
from tests.support import browser as B
from tests.support.hostile import FY, MARK, build_hostile_db, hostile_consortium, url_params
from tests.support.hostile import Trap as _Trap
from tests.support.hostile import http_server as _http_server

pytestmark = pytest.mark.browser  # Chromium via Playwright

ROOT = B.ROOT
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"

# elements that markup in record text would create
_MADE_FROM_TEXT = """(mark) => {
    const hits = [];
    const sel = 'a, img, b, strong, em, i, code, del, s, span[style], iframe, svg a, tspan[style*="bold"], math, .katex';
    for (const el of document.querySelectorAll(sel)) {
        // st.code (報告's copyable narrative) draws its plain text in a <code> block of its own: not markup
        if (el.closest('[data-testid="stCode"]')) continue;
        const attrs = [...el.attributes].map(a => a.value).join(' ');
        if ((el.textContent || '').includes(mark) || attrs.includes(mark)) hits.push(el.outerHTML.slice(0, 200));
    }
    return hits;
}"""


@pytest.fixture(scope="module")
def trap():
    _Trap.hits = []
    with _http_server() as url:
        yield url


@pytest.fixture(scope="module")
def hostile_db(sample_db_master, tmp_path_factory, trap):
    return build_hostile_db(tmp_path_factory.mktemp("hostile_browser"), trap, sample_db_master)


@pytest.fixture(scope="module")
def server(hostile_db, tmp_path_factory):
    log = tmp_path_factory.mktemp("streamlit_hostile") / "streamlit.log"
    with B.streamlit_server(hostile_db, log_path=log) as base:
        yield base


def _app_only(page, base: str) -> list[str]:
    """Record (and abort) every request that is not to the app at ``base``."""
    return only_app_requests(page, base)


# ── pages ───────────────────────────────────────────────────────────────────

@pytest.mark.parametrize("printing", [False, True])
def test_every_page_shows_hostile_text_as_text_and_fetches_nothing(browser_context, server, trap, printing):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = B.new_tab(browser_context, 1400, 2400)
    outside = _app_only(page, server)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        for label, path in zip([B.page_label(p) for p in B.page_files()], B.page_files()):
            params = {**url_params(trap), **({"print": "1"} if printing else {})}
            if label == "報告":
                params["コンソーシアム"] = hostile_consortium(trap)
            url = B.page_urls(server, params)[label]
            page.goto(url)
            B.wait_for_page(page)
            assert page.locator(B.EXCEPTION).count() == 0, label
            hits = page.evaluate(_MADE_FROM_TEXT, MARK)
            assert not hits, (label, hits[:3])
            text = page.locator(B.MAIN).inner_text().replace(BREAK, "")    # the invisible joiner inside http://
            if label not in ("データ取込", "監査記録"):    # the two pages that take no record filters from the URL
                assert f"[押して{MARK}](http://evil.example/)" in text, label      # the crafted URL value, literally
            if printing and label == "報告":
                assert_records_show_literally(page)
            page.screenshot(path=str(ARTIFACTS / f"hostile_{'print_' if printing else ''}{label}.png"))
        assert outside == [], outside[:5]
        assert _Trap.hits == [], _Trap.hits[:5]
        assert not errors, errors[:3]
    finally:
        page.close()


def assert_records_show_literally(page) -> None:
    """報告 of the hostile consortium (in the printing pass above): the consortium's markup is visible as characters
    (print layout: st.table and the charts' SVG text)."""
    body = page.locator(B.MAIN).inner_text()
    assert f"<b>太字{MARK}</b>" in body                                      # header and tables
    svg_text = page.evaluate("() => [...document.querySelectorAll('.main-svg text')].map(t => t.textContent)"
                             ".join(' ')")
    assert f"<b>太字{MARK}</b>" in svg_text                                  # a plotly subtitle, as text


def test_dataframe_toolbar_has_no_csv_download_and_the_app_offers_its_own(browser_context, server):
    page = B.new_tab(browser_context, 1400, 2400)
    _app_only(page, server)
    try:
        page.goto(B.page_urls(server, {"年度": str(FY)})["伴走支援の進捗"])
        B.wait_for_page(page)
        frame = page.locator('[data-testid="stDataFrame"]').first
        frame.hover()
        page.wait_for_timeout(500)
        labels = page.evaluate("""() => [...document.querySelectorAll(
            '[data-testid="stElementToolbar"] button, [data-testid="stElementToolbarButton"]')]
            .map(b => (b.getAttribute('aria-label') || '') + ' ' + (b.textContent || ''))""")
        assert labels, "the toolbar did not appear: the test would prove nothing"
        assert not [x for x in labels if re.search(r"download|ダウンロード", x, re.I)], labels
        assert page.get_by_role("button", name=re.compile("CSV（案件ごとの進捗")).count() == 1
    finally:
        page.close()


# ── the PDF ─────────────────────────────────────────────────────────────────

def test_pdf_renderer_blocks_other_ports_and_hosts(chromium):
    """The route handler itself: a page on one local server asking for another local port and an outside host."""
    with _http_server() as other, _http_server(other) as app:
        hits_before = len(_Trap.hits)
        page = chromium.new_page()
        blocked = only_app_requests(page, app)
        try:
            page.goto(f"{app}/page", wait_until="load")
            page.wait_for_timeout(300)
        finally:
            page.close()
        assert sorted(blocked) == sorted([f"{other}/x.png", "http://evil.example/y.png"])
        assert _Trap.hits[hits_before:] == ["/page"]          # only the app's own page was served
        _Trap.hits[hits_before:] = []


# ── the server ──────────────────────────────────────────────────────────────

def _raw(base: str, head: str) -> str:
    host, port = base.rsplit("//", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(head.encode("latin-1"))
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    return data.split(b"\r\n", 1)[0].decode("latin-1")


def _handshake(base: str, host: str, origin: str | None = None) -> str:
    key = base64.b64encode(os.urandom(16)).decode()
    return _raw(base, "GET /_stcore/stream HTTP/1.1\r\n"
                      f"Host: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                      + (f"Origin: {origin}\r\n" if origin else "") + "\r\n")


def test_dns_rebinding_and_cross_origin_are_refused(server):
    own = server.rsplit("//", 1)[1]
    assert " 101 " in _handshake(server, own)                                  # the check can pass
    assert " 101 " in _handshake(server, own, origin=server)
    assert " 101 " not in _handshake(server, "evil.example")
    assert " 403 " in _handshake(server, "evil.example:80")
    assert " 101 " not in _handshake(server, own, origin="http://evil.example")
    assert " 403 " in _raw(server, "GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
    assert " 403 " in _raw(server, "GET /_stcore/health HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
    assert " 200 " in _raw(server, f"GET /_stcore/health HTTP/1.1\r\nHost: {own}\r\nConnection: close\r\n\r\n")
    assert " 404 " in _raw(server, f"GET /_stcore/metrics HTTP/1.1\r\nHost: {own}\r\nConnection: close\r\n\r\n")
    with urllib.request.urlopen(f"{server}/") as r:
        assert r.headers["X-Frame-Options"] == "SAMEORIGIN"
        assert "frame-ancestors 'self'" in r.headers["Content-Security-Policy"]


_CONNECT = re.compile(r"connect\(\d+, \{sa_family=AF_INET6?, sin6?_port=htons\((\d+)\),"
                      r".*?(?:inet_addr\(\"([\d.]+)\"\)|inet_pton\(AF_INET6, \"([0-9a-f:.]+)\")")
_SEND = re.compile(r"send(?:to|msg)\(.*?sin6?_port=htons\(53\)")


def _startup_network(cwd: Path, script: str, port: int, tmp: Path, db: Path) -> tuple[list[str], bool]:
    """Start ``streamlit run script`` under strace until it answers /_stcore/health (plus 3 s for the start-up
    URL banner); → (non-loopback connects, whether a DNS query was sent)."""
    trace = tmp / f"strace_{port}.log"
    env = {k: v for k, v in os.environ.items() if k != "DX_BASEMAP"} | {"DX_DB_PATH": str(db)}
    proc = subprocess.Popen(["strace", "-f", "-qq", "-e", "trace=connect,sendto,sendmsg", "-o", str(trace),
                             sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port),
                             "--server.headless", "true"],
                            cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.3)
        time.sleep(3)
    finally:
        B._stop(proc)
    text = trace.read_text(errors="replace")
    outside = []
    for m in _CONNECT.finditer(text):
        addr = m.group(2) or m.group(3) or ""
        if not (addr.startswith("127.") or addr in ("::1", "::ffff:127.0.0.1", "0.0.0.0", "::")):
            outside.append(f"{addr}:{m.group(1)}")
    return outside, bool(_SEND.search(text))


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_start_up_makes_no_outside_request(tmp_path, hostile_db):
    """As `make run` starts it (no --server.address): no connect beyond loopback, no DNS query. The same Streamlit
    running a bare script without the project's settings does try (checkip.amazonaws.com): the check can fail."""
    outside, dns = _startup_network(ROOT, "serve.py", B.free_port(), tmp_path, hostile_db)
    assert outside == [] and not dns, outside
    bare = Path(tempfile.mkdtemp(dir=tmp_path))
    (bare / "bare.py").write_text("import streamlit as st\nst.write('x')\n", encoding="utf-8")
    control_outside, control_dns = _startup_network(bare, "bare.py", B.free_port(), tmp_path, hostile_db)
    assert control_outside or control_dns, "the bare app made no lookup either: the check proves nothing here"
