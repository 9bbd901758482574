"""The 報告 page as a PDF: start ``streamlit run`` on a free local port (headless, DX_DB_PATH set), open the 報告 page
in the print layout (?print=1) with the local Chromium (Playwright driving Debian's /usr/bin/chromium; no browser is
ever downloaded), wait until the script has finished and every chart is drawn, and print it to an A4 landscape PDF
with one page per report section.

    render_report_pdf(2022, "茨城県DX支援コミュニティ", "report.pdf")      # → Path
    python -m monitor.report_pdf --fiscal-year 2022 [--consortium …] --out report.pdf [--db …]

The browser may only talk to the Streamlit server it started (that scheme, host and port): every other request —
another local port included — is refused (``only_app_requests``).
"""
from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import contextvars
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

from etl.argparse_ja import JapaneseArgumentParser
from monitor import access
from monitor.chromium import CHROMIUM, CHROMIUM_ARGS, INSTALL_HINT, ChromiumNotFound, PdfError, missing  # noqa: F401
from monitor.plain import html_escape
from monitor.print_layout import (
    PAGE_MARGIN_BOTTOM_MM, PAGE_MARGIN_MM, PAGE_MARGIN_TOP_MM, PDF_SCALE, PRINT_PARAM, VIEWPORT_WIDTH_PX,
)
from monitor.read.filters import Filters, to_query_params

ROOT = Path(__file__).resolve().parent.parent
REPORT_PAGE = "報告"          # URL path of pages/5_報告.py


def chromium_problem() -> str | None:
    """None when a PDF can be made here; otherwise a Japanese sentence saying what is missing and how to get it."""
    if problem := missing(CHROMIUM):
        return problem
    try:
        import playwright.sync_api  # noqa: F401, PLC0415
    except ImportError:
        return "Python パッケージ playwright がありません。`pip install -r requirements.txt` を実行してください。"
    return None


def _free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(db_path: str | os.PathLike | None = None, *, timeout: float = 60.0):
    """``streamlit run serve.py`` (app.py behind its guard) on a free local port; yields its base URL, stops it afterwards."""
    port = _free_port()
    env = dict(os.environ)
    if db_path is not None:
        env["DX_DB_PATH"] = str(Path(db_path).resolve())
    env.update(access.child_env())       # the child verifies the scope tokens this process signs
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "serve.py"),
           "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
           "--server.runOnSave", "false"]
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise PdfError("Streamlit を起動できませんでした:\n" + log.read().decode("utf-8", "replace")[-2000:])
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise PdfError(f"Streamlit が {timeout:.0f} 秒以内に起動しませんでした。")
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def report_url(base: str, fiscal_year: int, consortium: str | None) -> str:
    # the same parameters the sidebar writes into the URL (read/filters), so the print page reads them the same way
    params = to_query_params(Filters(fiscal_year=int(fiscal_year), consortia=(consortium,) if consortium else ()))
    params[PRINT_PARAM] = "1"
    params.update(access.token_params())     # with sign-in: this caller's scope, signed and short-lived
    return f"{base}/{urllib.parse.quote(REPORT_PAGE)}?{urllib.parse.urlencode(params)}"


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urllib.parse.urlsplit(url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return scheme, (parts.hostname or "").lower(), parts.port


def same_app(url: str, app_url: str) -> bool:
    """True for a request to the app itself (same scheme, host and port as ``app_url``; its websocket too) or one
    that carries no host (data:, blob:). Anything else — another port on this machine included — is refused."""
    if url.startswith(("data:", "blob:", "about:")):
        return True
    return _origin(url) == _origin(app_url)


def only_app_requests(page, app_url: str, blocked: list[str] | None = None) -> list[str]:
    """Abort every request of ``page`` (HTTP and websocket) that is not to the app at ``app_url``; their URLs are
    appended to ``blocked`` (returned). Record text such as ``![x](http://host/x.png)`` must never make the
    renderer fetch anything."""
    blocked = [] if blocked is None else blocked

    def handle(route):
        if same_app(route.request.url, app_url):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort("blockedbyclient")

    def handle_ws(ws):
        if same_app(ws.url, app_url):
            ws.connect_to_server()
        else:
            blocked.append(ws.url)
            ws.close()

    # only what is not plainly the app goes through the handlers: the app's own requests (its front end, dozens of
    # files, and every websocket message) are matched in Playwright's driver instead of a round trip to Python each
    scheme, host, port = _origin(app_url)
    where = re.escape(f"{host}:{port}" if port else host)
    page.route(re.compile(rf"^(?!{re.escape(scheme)}://{where}(/|$))"), handle)
    page.route_web_socket(re.compile(rf"^(?!{'wss' if scheme == 'https' else 'ws'}://{where}(/|$))"), handle_ws)
    return blocked


# the running header and footer: Chromium's own (printToPDF headerTemplate / footerTemplate, drawn in the page
# margins at scale 1 whatever PDF_SCALE is; elements of class pageNumber / totalPages get the numbers). @page margin
# boxes would do as well in Chromium ≥ 131, but their text would have to be a CSS string built from record text.
SETTLE_MS = 500               # after the charts are drawn: plotly's last relayout
RUNNING_TEXT_MAX = 90          # a record's name longer than this is cut in the running header (the page says it all)
_RUNNING_STYLE = ("font-family: 'Noto Sans CJK JP', 'Noto Sans JP', sans-serif; font-size: 8.5px; color: #333; "
                  f"width: 100%; margin: 0 {PAGE_MARGIN_MM}mm; display: flex; justify-content: space-between; "
                  "gap: 12px; white-space: nowrap;")
_CELL_STYLE = "overflow: hidden; text-overflow: ellipsis;"


def _running_cut(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= RUNNING_TEXT_MAX else text[:RUNNING_TEXT_MAX - 1] + "…"


def running_templates(header: dict[str, str], footer: dict[str, str]) -> tuple[str, str]:
    """(headerTemplate, footerTemplate) for Chromium's printToPDF: the header's items left to right ('事業名': …),
    the footer's items and 'n / N' at the right. Every value is plain text (names from the records): HTML-escaped,
    cut to RUNNING_TEXT_MAX characters."""
    def items(values: dict[str, str]) -> str:
        return "｜".join(f"{html_escape(k)}: {html_escape(_running_cut(v))}" for k, v in values.items())

    head = f'<div style="{_RUNNING_STYLE}"><span style="{_CELL_STYLE}">{items(header)}</span></div>'
    foot = (f'<div style="{_RUNNING_STYLE}"><span style="{_CELL_STYLE}">{items(footer)}</span>'
            '<span style="flex: none;">ページ <span class="pageNumber"></span> / <span class="totalPages"></span>'
            '</span></div>')
    return head, foot


def print_page_to_pdf(url: str | Callable[[], str], out_path: str | os.PathLike, *, expected_charts: int = 0,
                      timeout_ms: int = 90_000, screenshot: str | os.PathLike | None = None,
                      blocked: list[str] | None = None,
                      running: tuple[dict[str, str], dict[str, str]] | None = None,
                      timings: dict[str, float] | None = None) -> Path:
    """Open ``url`` (a page in print layout) in the local Chromium, wait for the script and the charts, print it
    to ``out_path`` (A4 landscape). Optionally also save a full-page screenshot. Requests to anything but the app
    at ``url`` are refused (and their URLs appended to ``blocked``); ``url`` may be a callable, called once Chromium
    has started (a server still booting meanwhile). ``running``: the (header, footer) items every
    page carries (running_templates), the footer with its page number n / N. The page is printed on the printer
    thread, in a fresh browser context of the Chromium it keeps (started on first use)."""
    problem = chromium_problem()
    if problem:
        raise ChromiumNotFound(problem)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    # in the caller's context: its ContextVars (the session's access a download carries, monitor.access.carry) hold
    # on the printer thread too, so ``url()`` signs the caller's scope, not a thread's without a session
    job = _printer.submit(contextvars.copy_context().run, _print_job, url, out, expected_charts, timeout_ms,
                          screenshot, blocked, running, timings)
    return job.result()


# Playwright's sync API works only on the thread that started it, and each download callback of the 報告 page runs
# on a thread of its own: one printer thread starts Chromium once and prints every PDF (one at a time), so a PDF
# after the first does not start a browser again. The browser is closed with the warm server (_stop_warm).
PRINTER_THREAD = "dx-pdf-printer"
_printer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=PRINTER_THREAD)
_chromium: dict = {}          # on the printer thread only: {"playwright": context manager, "browser": Browser}


def _kept_browser(mark):
    browser = _chromium.get("browser")
    if browser is not None and browser.is_connected():
        return browser
    _close_browser()
    from playwright.sync_api import sync_playwright  # noqa: PLC0415
    cm = sync_playwright()
    pw = cm.__enter__()
    try:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    except BaseException:
        cm.__exit__(None, None, None)
        raise
    _chromium.update(playwright=cm, browser=browser)
    mark("Chromium 起動")
    return browser


def _close_browser() -> None:
    """On the printer thread: close the kept Chromium (if any) and its Playwright driver."""
    browser, cm = _chromium.pop("browser", None), _chromium.pop("playwright", None)
    with contextlib.suppress(Exception):
        if browser is not None:
            browser.close()
    with contextlib.suppress(Exception):
        if cm is not None:
            cm.__exit__(None, None, None)


def close_browser(timeout: float = 30.0) -> None:
    """Close the printer thread's Chromium (from any thread); the next PDF starts a new one."""
    if threading.current_thread().name.startswith(PRINTER_THREAD):
        _close_browser()
        return
    with contextlib.suppress(Exception):
        _printer.submit(_close_browser).result(timeout=timeout)


CONTEXT_OPTIONS = {"viewport": {"width": VIEWPORT_WIDTH_PX, "height": 1000}, "locale": "ja-JP",
                   "timezone_id": "Asia/Tokyo"}


def _print_job(url, out, expected_charts, timeout_ms, screenshot, blocked, running, timings) -> Path:
    from playwright.sync_api import Error as PlaywrightError  # noqa: PLC0415
    mark = _stopwatch(timings)
    try:
        kept = "browser" in _chromium
        browser = _kept_browser(mark)
        if callable(url):
            url = url()
            mark("Streamlit 起動（待ち）")
        try:
            context = browser.new_context(**CONTEXT_OPTIONS)
        except PlaywrightError:
            if not kept:
                raise
            # the kept browser died since the last PDF (Playwright notices only when asked): start a new one
            _close_browser()
            context = _kept_browser(mark).new_context(**CONTEXT_OPTIONS)
        try:
            _print(context.new_page(), url, out, expected_charts, timeout_ms, screenshot, blocked, running, mark)
        finally:
            context.close()
    except PlaywrightError as exc:       # a timeout or a crashed page: a sentence, never a traceback
        _close_browser()                 # a browser that failed a page is not kept
        raise PdfError(f"報告ページを PDF にできませんでした（{timeout_ms / 1000:.0f} 秒以内に表示が終わらないか、"
                       f"ブラウザが止まりました）: {str(exc).splitlines()[0][:300]}") from None
    except BaseException:
        _close_browser()
        raise
    return out


def _stopwatch(timings: dict[str, float] | None):
    """mark(stage) records the seconds since the previous mark under ``stage`` (when timings is a dict)."""
    last = [time.perf_counter()]

    def mark(stage: str) -> None:
        now = time.perf_counter()
        if timings is not None:
            timings[stage] = timings.get(stage, 0.0) + now - last[0]
        last[0] = now
    return mark


def _print(page, url, out, expected_charts, timeout_ms, screenshot, blocked, running, mark) -> None:
    only_app_requests(page, url, blocked)
    page.goto(url, wait_until="domcontentloaded", timeout=timeout_ms)
    page.wait_for_selector(".dx-print-header", timeout=timeout_ms, state="attached")
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]',
                           timeout=timeout_ms, state="attached")
    mark("ページの実行")
    page.wait_for_function(
        """(n) => {
            const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')];
            return charts.length >= n && charts.every(c => c.querySelector('.main-svg'))
                && !document.querySelector('[data-testid="stSkeleton"]');
        }""", arg=expected_charts, timeout=timeout_ms)
    exceptions = page.locator('[data-testid="stException"]')
    if exceptions.count():
        raise PdfError("報告ページでエラーが発生しました: " + exceptions.first.inner_text()[:1000])
    page.evaluate("document.fonts.ready.then(() => true)")
    page.wait_for_timeout(SETTLE_MS)   # let plotly finish its last relayout
    mark("グラフの描画")
    if screenshot:
        page.screenshot(path=str(screenshot), full_page=True)
    page.emulate_media(media="print")
    margin = f"{PAGE_MARGIN_MM}mm"
    options = {}
    if running is not None:
        head, foot = running_templates(*running)
        options = {"display_header_footer": True, "header_template": head, "footer_template": foot}
    page.pdf(path=str(out), format="A4", landscape=True, print_background=True, scale=PDF_SCALE,
             margin={"top": f"{PAGE_MARGIN_TOP_MM}mm", "right": margin,
                     "bottom": f"{PAGE_MARGIN_BOTTOM_MM}mm", "left": margin}, **options)
    mark("PDF 出力")


# One PDF at a time (PDF_QUEUE): four at once each took 45–50 s and 3.6 GB between them. The Streamlit server
# the PDFs are printed from, and the printer thread's Chromium, are kept warm for KEEP_SERVER_S after a PDF (its
# imports and caches done), keyed by everything the server was started with; a new database path or setting starts
# a new one.
KEEP_SERVER_S = float(os.environ.get("DX_PDF_KEEP_SERVER_S", "300"))
PDF_QUEUE = threading.Lock()
_waiting = 0
_waiting_lock = threading.Lock()
_warm: dict = {}          # {"key": …, "cm": context manager, "base": url, "timer": Timer}


def queue_length() -> int:
    """How many PDFs are being made or waiting now (the 報告 page says 「待ち: n 件目」 before a click)."""
    return _waiting


def _server_key(db_path) -> tuple:
    env = {k: v for k, v in os.environ.items() if k.startswith("DX_")}
    return (str(Path(db_path).resolve()) if db_path is not None else None, tuple(sorted(env.items())),
            tuple(sorted(access.child_env().items())))


def _stop_warm() -> None:
    """Stop the kept report server and close the printer's browser."""
    close_browser()
    _stop_server()


def _stop_server() -> None:
    cm = _warm.pop("cm", None)
    timer = _warm.pop("timer", None)
    _warm.clear()
    if timer is not None:
        timer.cancel()
    if cm is not None:
        cm.__exit__(None, None, None)


def _idle_stop() -> None:
    with PDF_QUEUE:              # never under a PDF being printed
        _stop_warm()


def _warm_server(db_path) -> str:
    """The base URL of a running Streamlit server for ``db_path`` and the current settings (called under
    PDF_QUEUE): the kept one when it matches and still answers, else a new one."""
    key = _server_key(db_path)
    if _warm.get("key") == key and _warm["proc_alive"]():
        if _warm.get("timer") is not None:
            _warm["timer"].cancel()
        return _warm["base"]
    _stop_server()               # only the server: the printer may be waiting for this one (its browser is fine)
    cm = streamlit_server(db_path)
    base = cm.__enter__()
    _warm.update(key=key, cm=cm, base=base, proc_alive=lambda: _healthy(base))
    return base


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def _keep_warm() -> None:
    if "cm" in _warm and KEEP_SERVER_S > 0:
        timer = threading.Timer(KEEP_SERVER_S, _idle_stop)
        timer.daemon = True
        timer.start()
        _warm["timer"] = timer
    else:
        _stop_warm()


atexit.register(_stop_warm)


def render_report_pdf(fiscal_year: int, consortium: str | None, out_path: str | os.PathLike,
                      db_path: str | os.PathLike | None = None, *, screenshot: str | os.PathLike | None = None,
                      timeout: float = 120.0, blocked: list[str] | None = None,
                      timings: dict[str, float] | None = None) -> Path:
    """The 報告 of ``fiscal_year`` for ``consortium`` (None = the whole programme) as a PDF at ``out_path``: the
    print layout of the 報告 page, A4 landscape, one page per section. One PDF at a time (the others wait their
    turn, queue_length); the Streamlit server stays warm for KEEP_SERVER_S. Raises ChromiumNotFound (Japanese
    message with the apt-get command) when the local Chromium is missing, PdfError when the page cannot be printed."""
    global _waiting
    problem = chromium_problem()
    if problem:
        raise ChromiumNotFound(problem)
    from monitor.views.report import build_report  # noqa: PLC0415

    with _waiting_lock:
        _waiting += 1
    try:
        mark = _stopwatch(timings)
        with PDF_QUEUE:
            mark("順番待ち")
            try:
                # the server boots (when not warm) while the report is built here and Chromium starts
                with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="dx-pdf-server") as pool:
                    server = pool.submit(_warm_server, db_path)
                    report = build_report(int(fiscal_year), consortium or None, path=db_path)
                    mark("報告の集計（呼び出し側）")
                    return print_page_to_pdf(
                        lambda: report_url(server.result(), fiscal_year, consortium or None), out_path,
                        expected_charts=len(report.figures()), timeout_ms=int(timeout * 1000),
                        screenshot=screenshot, blocked=blocked, running=report.running_text(), timings=timings)
            except BaseException:
                _stop_warm()         # a server that failed a page is not kept
                raise
            finally:
                if "cm" in _warm:
                    _keep_warm()
    finally:
        with _waiting_lock:
            _waiting -= 1


def pdf_bytes(fiscal_year: int, consortium: str | None, db_path: str | os.PathLike | None = None) -> bytes:
    """render_report_pdf into a temporary file, returned as bytes (for a download button)."""
    with tempfile.TemporaryDirectory(prefix="dx_report_") as tmp:
        out = render_report_pdf(fiscal_year, consortium, Path(tmp) / "report.pdf", db_path)
        return out.read_bytes()


def main(argv: list[str] | None = None) -> int:
    parser = JapaneseArgumentParser(prog="python -m monitor.report_pdf",
                                    description="報告ページ（印刷レイアウト）を A4 横の PDF にする")
    parser.add_argument("--fiscal-year", type=int, required=True, metavar="年度", help="年度（西暦、例: 2022）")
    parser.add_argument("--consortium", default=None, metavar="名前",
                        help="コンソーシアム（省略時は事業全体）")
    parser.add_argument("--out", type=Path, required=True, metavar="ファイル", help="出力する PDF ファイル")
    parser.add_argument("--db", default=None, metavar="ファイル",
                        help="データベースファイル（既定: DX_DB_PATH か data/dx.duckdb）")
    args = parser.parse_args(argv)
    from monitor.views.report import scope_problem  # noqa: PLC0415
    db = Path(args.db) if args.db else None
    if db is not None and not db.exists():
        print(f"エラー: データベースがありません: {db}", file=sys.stderr)
        return 2
    problem = scope_problem(args.fiscal_year, args.consortium, db)
    if problem:
        print(f"エラー: {problem}", file=sys.stderr)
        return 2
    try:
        out = render_report_pdf(args.fiscal_year, args.consortium, args.out, args.db)
    except PdfError as exc:
        print(f"エラー: {exc}", file=sys.stderr)
        return 2
    finally:
        _stop_warm()         # one PDF and done: the server and the browser go now, not at interpreter exit
    print(f"PDF を作成しました: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
