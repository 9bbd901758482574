"""More than one server process (deploy/): two real `streamlit run serve.py` processes on one database folder behind a
real haproxy (Debian's /usr/sbin/haproxy, run in the foreground from deploy/haproxy.cfg with its addresses moved to
free loopback ports and a throw-away self-signed certificate, TLS as deployed), driven by Debian's Chromium:

- sticky: one browser's requests all go to one process (haproxy's log and the SERVERID cookie), across page
  switches and a full reload; an upload on データ取込 is validated and a CSV download arrives, through the proxy;
- a load with `python -m etl load … --db` while both run is seen through the proxy on each process (概要's 相談件数
  equals plain SQL after a reload, on app1 and on app2);
- the process a browser is on stops: the same URL (?都道府県=茨城県) reloaded carries on on the other one, filtered;
- the proxy's security headers (CSP, X-Frame-Options DENY, nosniff, Referrer-Policy) are on every answer, the
  metrics are hidden, and every page draws in Chromium under that CSP without a CSP violation.
"""
from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.support import browser as B
from tests.support.proxy import CONFIG, HAPROXY, HAPROXY_HINT, INSECURE, haproxy_config, self_signed
from tests.support.kpis import expected_kpis
from tests.support.signin import dom_kpis
from tests.support.upload_files import NAME as UPLOAD_NAME
from tests.support.upload_files import TWO_BAD, consultation_file

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = B.ROOT
FY = 2023
SERVERS = ("app1", "app2")
NEW_CONSULTATIONS = consultation_file([
    [f"DEPLOY-{i:03d}", f"2023-10-{i + 1:02d}", f"架空工業{i}（架空）", "茨城県", "水戸市", "RPAの導入", "相談会"]
    for i in range(1, 4)])


def _get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=10, context=INSECURE) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


# ── the cluster: two app processes, one haproxy ─────────────────────────────

class Cluster:
    def __init__(self, folder: Path, db: Path):
        self.folder, self.db = folder, db
        self.apps: dict[str, contextlib.ExitStack] = {}
        self.ports: dict[str, int] = {}
        self.proxy: subprocess.Popen | None = None
        self.log_path = folder / "haproxy.log"
        self.base = ""

    def start(self) -> None:
        env = {"STREAMLIT_SERVER_COOKIE_SECRET": secrets.token_hex(32),   # shared, as deploy/dx-monitor.env asks
               "DX_SCOPE_SECRET": secrets.token_hex(32), "DX_AUDIT_PATH": str(self.folder / "audit.sqlite")}
        for name in SERVERS:
            self.ports[name] = B.free_port()
            stack = contextlib.ExitStack()
            stack.enter_context(B.streamlit_server(self.db, self.ports[name], env=env,
                                                   log_path=self.folder / f"{name}.log"))
            self.apps[name] = stack
        proxy_port = B.free_port()
        cfg = self.folder / "haproxy.cfg"
        cfg.write_text(haproxy_config(proxy_port, self.ports, self_signed(self.folder)), encoding="utf-8")
        check = subprocess.run([HAPROXY, "-c", "-f", str(cfg)], capture_output=True, text=True)
        assert check.returncode == 0, f"haproxy rejects the config from deploy/haproxy.cfg:\n{check.stdout}{check.stderr}"
        self.log = open(self.log_path, "w+")
        self.proxy = subprocess.Popen([HAPROXY, "-db", "-f", str(cfg)], stdout=self.log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True)
        self.base = f"https://127.0.0.1:{proxy_port}"
        deadline = time.monotonic() + 30
        while True:
            assert self.proxy.poll() is None, f"haproxy exited:\n{self.log_text()}"
            with contextlib.suppress(OSError):
                if _get(f"{self.base}/_stcore/health")[0] == 200:
                    break
            assert time.monotonic() < deadline, f"haproxy did not answer:\n{self.log_text()}"
            time.sleep(0.2)

    def stop_app(self, name: str) -> None:
        self.apps.pop(name).close()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def requests_since(self, offset: int, answered: bool = False) -> list[tuple[str, str]]:
        """(server, request line) of each request haproxy logged after ``offset`` characters of its log (with
        ``answered``, only those a server answered: not the ones the browser gave up on)."""
        lines = self.log_text()[offset:].splitlines()
        pattern = r" dx_https~ dx_monitor/(?P<server>\S+) \S+ (?P<status>-?\d+) .*\"(?P<req>[A-Z]+ [^\"]*)\""
        return [(m["server"], m["req"]) for line in lines
                if (m := re.search(pattern, line)) and (not answered or int(m["status"]) > 0)]

    def close(self) -> None:
        if self.proxy is not None and self.proxy.poll() is None:
            os.killpg(self.proxy.pid, signal.SIGTERM)
            try:
                self.proxy.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proxy.pid, signal.SIGKILL)
                self.proxy.wait(timeout=5)
        for stack in self.apps.values():
            stack.close()
        if self.proxy is not None:
            self.log.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, records_db_master):
    if not os.access(HAPROXY, os.X_OK):
        pytest.fail(HAPROXY_HINT, pytrace=False)
    folder = tmp_path_factory.mktemp("deploy")
    (folder / "data").mkdir()
    db = folder / "data" / "dx.duckdb"        # the shared database folder (DX_DB_PATH of both processes)
    shutil.copyfile(records_db_master, db)
    c = Cluster(folder, db)
    try:
        c.start()
        yield c
    finally:
        c.close()


class Tab:
    """A fresh browser context (a fresh session, no cookie) through the proxy; records CSP violations and errors."""

    def __init__(self, chromium, server: str | None = None, base: str = ""):
        self.context = chromium.new_context(viewport={"width": 1400, "height": 2400}, locale="ja-JP",
                                            timezone_id="Asia/Tokyo", ignore_https_errors=True, accept_downloads=True)
        if server:      # start on a given process, as a browser that was there before would
            self.context.add_cookies([{"name": "SERVERID", "value": server, "url": base}])
        self.outside = B.block_outside_requests(self.context)
        self.context.add_init_script("""window.__csp = [];
            document.addEventListener('securitypolicyviolation',
                e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));""")
        self.page = self.context.new_page()
        # console errors (a CSP refusal is reported there too; Streamlit's probe of /<page>/_stcore/health for a
        # base path answers 404 there as well, with or without a proxy) and uncaught JavaScript errors
        self.console: list[str] = []
        self.js_errors: list[str] = []
        self.page.on("console", lambda m: self.console.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.js_errors.append(str(e)))

    def open(self, url: str) -> None:
        self.page.goto(url, wait_until="domcontentloaded")
        B.wait_for_page(self.page)

    def server(self) -> str:
        values = [c["value"] for c in self.context.cookies() if c["name"] == "SERVERID"]
        assert len(values) == 1, f"SERVERID cookie: {values}"
        return values[0]

    def csp_problems(self) -> list[str]:
        return [*self.page.evaluate("window.__csp"), *(m for m in self.console if "Content Security Policy" in m)]

    def close(self) -> None:
        self.context.close()


@pytest.fixture()
def tab(chromium, cluster):
    t = Tab(chromium)
    yield t
    t.close()


def _overview(base: str, **query) -> str:
    return f"{base}/?{urllib.parse.urlencode({'年度': FY, **query})}"


def _caption_has(page, text: str) -> bool:
    return text in page.locator(B.MAIN).inner_text()


# ── the checks ──────────────────────────────────────────────────────────────

def test_the_csp_allows_the_inline_script_of_this_streamlit():
    """deploy/haproxy.cfg allows index.html's inline script by its hash: a Streamlit upgrade that changes it fails
    here with the value to put there."""
    import streamlit  # noqa: PLC0415
    html = (Path(streamlit.__file__).parent / "static" / "index.html").read_text(encoding="utf-8")
    inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, re.S)
    config = CONFIG.read_text(encoding="utf-8")
    for body in inline:
        digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode()
        assert f"'sha256-{digest}'" in config, (
            f"deploy/haproxy.cfg's script-src lacks 'sha256-{digest}' (Streamlit {streamlit.__version__}'s "
            f"index.html inline script {body.strip()!r})")


def test_sticky_sessions_an_upload_and_a_download_through_the_proxy(cluster, tab):
    start = len(cluster.log_text())
    tab.open(_overview(cluster.base))
    server = tab.server()
    assert server in SERVERS
    assert dom_kpis(tab.page) == expected_kpis(cluster.db, FY, None)

    # a page switch in the app (over the websocket) and a full load of another page's URL
    tab.page.locator('[data-testid="stSidebar"] a').filter(has_text="伴走支援の進捗").first.click()
    tab.page.locator(f"{B.MAIN} h1").filter(has_text="伴走支援の進捗").first.wait_for()
    B.wait_for_page(tab.page)
    tab.open(f"{cluster.base}/{urllib.parse.quote('データ取込')}")
    assert tab.server() == server

    # an upload: the file goes to the process that holds the session (PUT /_stcore/upload_file/<session>/…)
    tab.page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        files=[{"name": UPLOAD_NAME, "mimeType": "text/csv", "buffer": TWO_BAD}])
    tab.page.locator(B.MAIN).get_by_text("検証結果").first.wait_for(timeout=120_000)
    B.wait_for_page(tab.page, timeout=120_000)
    metrics = {c.locator('[data-testid="stMetricLabel"]').inner_text().strip():
               c.locator('[data-testid="stMetricValue"]').inner_text().strip()
               for c in tab.page.locator('[data-testid="stMetric"]').all()}
    assert (metrics.get("読込行数"), metrics.get("取込予定"), metrics.get("不合格")) == ("4", "2", "2"), metrics

    # a download: 概要's CSV of the per-consortium comparison (built on click by the session's process)
    tab.open(_overview(cluster.base))
    with tab.page.expect_download(timeout=60_000) as info:
        tab.page.get_by_role("button", name="CSV（コンソーシアム別の比較）").click()
    csv = info.value.path().read_text(encoding="utf-8-sig")
    assert "コンソーシアム" in csv.splitlines()[0] and len(csv.splitlines()) > 1, csv[:300]

    assert tab.server() == server
    seen = cluster.requests_since(start)
    assert any(req.startswith("PUT ") and "/_stcore/upload_file/" in req for _, req in seen), seen
    assert {s for s, _ in seen} == {server}, f"requests of one browser went to more than one process: {seen}"
    assert not tab.csp_problems() and not tab.js_errors and tab.outside == []


def test_a_load_is_seen_by_every_process(cluster, chromium):
    before = expected_kpis(cluster.db, FY, None)
    tabs = {name: Tab(chromium, name, cluster.base) for name in SERVERS}
    try:
        for name, t in tabs.items():
            t.open(_overview(cluster.base))
            assert t.server() == name
            assert dom_kpis(t.page) == before, name
        csv = cluster.folder / "相談記録_追加分.csv"
        csv.write_bytes(NEW_CONSULTATIONS)
        done = subprocess.run([sys.executable, "-m", "etl", "load", str(csv), "--db", str(cluster.db)], cwd=ROOT,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        after = expected_kpis(cluster.db, FY, None)
        assert after["相談件数"] == before["相談件数"] + 3
        for name, t in tabs.items():
            t.page.reload(wait_until="domcontentloaded")
            B.wait_for_page(t.page)
            assert t.server() == name
            assert dom_kpis(t.page) == after, f"{name} shows the database before the load"
    finally:
        for t in tabs.values():
            t.close()


def test_headers_and_csp_at_the_proxy(cluster, tab):
    status, headers, _ = _get(f"{cluster.base}/")
    assert status == 200
    config = CONFIG.read_text(encoding="utf-8")
    csp = re.search(r'set-header Content-Security-Policy "([^"]+)"', config)[1]
    assert headers["Content-Security-Policy"] == csp
    assert "frame-ancestors 'none'" in csp
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    assert "secure" in headers["Set-Cookie"].lower() and "SERVERID=" in headers["Set-Cookie"]
    status, headers, _ = _get(f"{cluster.base}/_stcore/metrics")
    assert status == 404 and headers["X-Frame-Options"] == "DENY"

    for label, url in B.page_urls(cluster.base, {"年度": str(FY)}).items():
        tab.open(url)
        assert not tab.page.locator(B.EXCEPTION).count(), label
        tab.page.locator(f"{B.MAIN} h1").first.wait_for()
        assert not tab.csp_problems(), f"{label}: blocked by the proxy's CSP: {tab.csp_problems()}"
    assert not tab.js_errors, tab.js_errors
    assert tab.outside == []


def test_a_stopped_process_sends_its_people_to_the_other(cluster, tab):
    """Last: it stops one of the two processes."""
    url = _overview(cluster.base, 都道府県="茨城県")
    tab.open(url)
    first = tab.server()
    expected = expected_kpis(cluster.db, FY, "茨城県")
    assert dom_kpis(tab.page) == expected
    assert _caption_has(tab.page, "都道府県: 茨城県")

    cluster.stop_app(first)
    start = len(cluster.log_text())
    tab.page.reload(wait_until="domcontentloaded")
    B.wait_for_page(tab.page)
    other = tab.server()
    assert other != first and other in SERVERS
    assert "都道府県=茨城県" in urllib.parse.unquote(tab.page.url)
    assert _caption_has(tab.page, "都道府県: 茨城県")
    assert dom_kpis(tab.page) == expected
    assert not tab.page.locator(B.EXCEPTION).count()
    # the old page's last tries to reconnect to the stopped process are given up on, never answered
    answered = cluster.requests_since(start, answered=True)
    assert answered and {s for s, _ in answered} == {other}, answered
