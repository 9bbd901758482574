"""Browser helpers shared by the browser tests and the benchmarks: a `streamlit run` server on a free port, Debian's
Chromium driven by Playwright (never a downloaded browser), waiting until a page has finished drawing, the page URLs.

    from tests.support.browser import streamlit_server, launch_chromium, wait_for_page, page_urls

    with streamlit_server(db_path) as base, sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport={"width": 1400, "height": 2400})
        for name, url in page_urls(base).items():
            page.goto(url)
            wait_for_page(page)
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Iterator, Mapping

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
SETUP_HINT = "Debian's chromium is needed: run `scripts/setup.sh --system` (apt-get install chromium fonts-noto-cjk)."
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
    # deck.gl needs WebGL; with --disable-gpu Chromium only offers the software renderer when allowed to
    "--enable-unsafe-swiftshader",
]
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})

APP_READY = '[data-testid="stApp"][data-test-script-state="notRunning"]'
MAIN = '[data-testid="stMain"]'
PLOTLY = '[data-testid="stPlotlyChart"]'
DECK = '[data-testid="stDeckGlJsonChart"]'
EXCEPTION = '[data-testid="stException"]'
ERROR_BOX = '[data-testid="stAlertContentError"]'


# ── the server ──────────────────────────────────────────────────────────────

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the server's process group (it and its children), then SIGKILL what is left."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
    # children may outlive the leader: kill the group in any case (it is ours: start_new_session=True)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


@contextlib.contextmanager
def streamlit_server(db_path: str | os.PathLike, port: int | None = None, env: Mapping[str, str] | None = None,
                     *, timeout: float = 60.0, log_path: str | os.PathLike | None = None) -> Iterator[str]:
    """Run ``python -m streamlit run serve.py`` (app.py behind its guard) on ``db_path`` (DX_DB_PATH) and yield its base URL
    (``http://127.0.0.1:<port>``) once ``/_stcore/health`` answers. The process and its children are always ended
    afterwards. ``env`` adds to (or overrides) the environment; DX_BASEMAP is dropped unless ``env`` sets it, so the
    map draws without internet tiles. The server's output goes to ``log_path`` (a temporary file by default) and is
    quoted in the error when the server does not come up."""
    port = port or free_port()
    full_env = {k: v for k, v in os.environ.items() if k != "DX_BASEMAP"}
    full_env.update(env or {})
    full_env["DX_DB_PATH"] = str(db_path)
    cmd = [sys.executable, "-m", "streamlit", "run", "serve.py",
           "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    if log_path is None:
        log = tempfile.NamedTemporaryFile("w+", prefix="streamlit-", suffix=".log", delete=False)
    else:
        log = open(log_path, "w+")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {proc.returncode} before answering:\n{_tail(log)}")
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not answer /_stcore/health within {timeout:.0f} s:\n{_tail(log)}")
            time.sleep(0.2)
        yield base
    finally:
        _stop(proc)
        log.close()
        if log_path is None:
            with contextlib.suppress(OSError):
                os.unlink(log.name)


def _tail(log, n: int = 4000) -> str:
    log.flush()
    try:
        return Path(log.name).read_text(errors="replace")[-n:]
    except OSError:
        return ""


# ── the browser ─────────────────────────────────────────────────────────────

def chromium_missing_message() -> str | None:
    """None when Debian's chromium is there; otherwise what to do about it."""
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} not found. {SETUP_HINT}"
    return None


def launch_chromium(playwright, *, args: list[str] | None = None, **kwargs):
    """Debian's Chromium (``/usr/bin/chromium``, never a browser Playwright downloads), headless, with no
    background networking. Playwright's ``launch`` starts it on a fresh temporary user-data-dir of its own
    (``playwright_chromiumdev_profile-*``, removed on close): nothing is read from or left in a user profile."""
    problem = chromium_missing_message()
    if problem:
        raise RuntimeError(problem)
    return playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *(args or [])], **kwargs)


def new_tab(context, width: int = 1400, height: int = 900):
    """A page (a new Streamlit session) of ``width`` × ``height`` in a shared ``context``."""
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": height})
    return page


def is_local_url(url: str) -> bool:
    """True for requests that stay on this machine (127.0.0.1 / localhost) or carry no host (data:, blob:)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme in ("data", "blob", "about", "chrome", "chrome-extension", "devtools"):
        return True
    host = (parts.hostname or "").lower()
    return host in LOCAL_HOSTS or host == ""


def block_outside_requests(context_or_page) -> list[str]:
    """Abort every request (HTTP and websocket) whose host is not 127.0.0.1/localhost, and return the list that
    collects their URLs (assert it stays empty)."""
    outside: list[str] = []

    def handle(route):
        url = route.request.url
        if is_local_url(url):
            route.continue_()
        else:
            outside.append(url)
            route.abort("blockedbyclient")

    context_or_page.route("**/*", handle)

    def handle_ws(ws):
        if is_local_url(ws.url):
            ws.connect_to_server()
        else:
            outside.append(ws.url)
            ws.close()

    with contextlib.suppress(AttributeError):   # routeWebSocket: Playwright ≥ 1.48
        context_or_page.route_web_socket("**/*", handle_ws)
    return outside


# ── pages ───────────────────────────────────────────────────────────────────

def page_files() -> list[Path]:
    """app.py, then pages/*.py in Streamlit's order (number prefix, then name)."""
    from streamlit.source_util import page_sort_key  # noqa: PLC0415  (inside the script AppTest runs)
    return [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"), key=page_sort_key)]


def page_label(path: Path) -> str:
    """The name a person reads: 概要 for app.py, else the file name without its number prefix."""
    if path.name == "app.py":
        return "概要"
    return url_name(path).replace("_", " ")


def url_name(path: Path) -> str:
    """Streamlit's URL path of a page (pages/1_伴走支援の進捗.py → 伴走支援の進捗; '' for the entry script), derived the
    way streamlit derives it (source_util.page_icon_and_name, leading emoji dropped)."""
    if path.name == "app.py":
        return ""
    from streamlit.source_util import page_icon_and_name  # noqa: PLC0415  (inside the script AppTest runs)
    return page_icon_and_name(path)[1]


def page_urls(base: str, query: Mapping[str, str] | None = None) -> dict[str, str]:
    """{label: url} for every page, in order. ``query`` is added as the URL query string."""
    qs = ("?" + urllib.parse.urlencode(query)) if query else ""
    return {page_label(p): f"{base.rstrip('/')}/{urllib.parse.quote(url_name(p))}{qs}" for p in page_files()}


# ── waiting ─────────────────────────────────────────────────────────────────

_SCRIPT_DONE = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
    const main = document.querySelector('[data-testid="stMain"]');
    // the first script run has produced something (a title, a print header, an exception or an empty state)
    return !!main && !!main.querySelector('h1, .dx-print-header, [data-testid="stException"], [data-testid="stAlertContainer"]');
}"""

_CHARTS_DRAWN = """() => {
    for (const el of document.querySelectorAll('[data-testid="stPlotlyChart"]')) {
        const svg = el.querySelector('.js-plotly-plot .main-svg');
        if (!svg || svg.getBoundingClientRect().height < 10) return false;
    }
    for (const el of document.querySelectorAll('[data-testid="stDeckGlJsonChart"]')) {
        const c = el.querySelector('canvas');
        if (!c || c.width < 10 || c.height < 10) return false;
    }
    // no element still waiting for its data
    return document.querySelectorAll('[data-testid="stSkeleton"]').length === 0;
}"""


def wait_for_page(page, timeout: float = 60_000, settle_ms: int = 400) -> None:
    """Wait until the script run is over (``stApp`` notRunning, something drawn in the main area), stays over for
    ``settle_ms`` (a page may rerun once, e.g. after writing the filters into the URL), and every plotly chart has
    its SVG and every deck.gl map its canvas."""
    deadline = time.monotonic() + timeout / 1000
    while True:
        remaining = max(1.0, (deadline - time.monotonic()) * 1000)
        page.wait_for_function(_SCRIPT_DONE, timeout=remaining)
        page.wait_for_timeout(settle_ms)
        if page.evaluate(_SCRIPT_DONE):
            break
        if time.monotonic() > deadline:
            raise TimeoutError("the Streamlit script did not settle")
    remaining = max(1.0, (deadline - time.monotonic()) * 1000)
    page.wait_for_function(_CHARTS_DRAWN, timeout=remaining)
    if page.locator(DECK).count():
        page.wait_for_timeout(500)   # deck.gl draws its layers a few frames after the canvas appears
    if page.locator(PLOTLY).count():
        page.wait_for_timeout(200)   # plotly's transition after the first layout


def wait_until_drawn(page, timeout: float = 60_000) -> None:
    """Wait until the first script run is over and every chart and map has drawn, with no settling pause (for
    timing what a person waits: benchmarks/bench_drawn.py); tests use ``wait_for_page``."""
    page.wait_for_function(_SCRIPT_DONE, timeout=timeout)
    page.wait_for_function(_CHARTS_DRAWN, timeout=timeout)


def fit_viewport_to_content(page, width: int | None = None, min_height: int = 800,
                            max_height: int = 12_000) -> int:
    """Streamlit scrolls inside its own container, so a full-page screenshot is only as tall as the viewport: make
    the viewport as tall as the main area's content (the bottom of its last element, plus a margin). Returns the
    height set."""
    vp = page.viewport_size or {"width": 1400, "height": 2400}
    content = page.evaluate("""() => {
        const main = document.querySelector('[data-testid="stMain"]');
        const block = document.querySelector('[data-testid="stMainBlockContainer"]');
        if (!main || !block) return document.documentElement.scrollHeight;
        let bottom = 0;
        for (const el of block.querySelectorAll(':scope > * , :scope > * > *')) {
            const r = el.getBoundingClientRect();
            if (r.height > 0) bottom = Math.max(bottom, r.bottom);
        }
        return Math.ceil(bottom + main.scrollTop);
    }""")
    height = int(min(max(min_height, content + 48), max_height))
    if height != vp["height"] or (width and width != vp["width"]):
        page.set_viewport_size({"width": width or vp["width"], "height": height})
        page.wait_for_timeout(300)
        page.wait_for_function(_CHARTS_DRAWN, timeout=30_000)
    return height
