"""Memory benchmark: peak RSS of a `streamlit run app.py` server serving every page once.

    .venv/bin/python benchmarks/bench_memory.py --sessions 1000000 [--write-docs]

Starts the server headless on a free port with DX_DB_PATH pointing at a database loaded from the generated
records (cached under /tmp/dx-bench), opens every page (app.py and pages/*.py, discovered at run time) in Debian's
chromium driven by Playwright, waits for `[data-testid="stApp"][data-test-script-state="notRunning"]` with the
page title drawn, and polls /proc every 50 ms: the server's VmHWM (its own peak) and the peak of the summed VmRSS
of the server and its child processes. Also reports the time until each page had finished in the browser.
Issue 6 target: peak RSS ≤ 400 MB at 1,000,000 sessions.
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run_all  # noqa: E402
from run_all import ROOT, fmt_s, status_kb, table  # noqa: E402
from tests.support.processes import descendants  # noqa: E402

TARGET_MB = 400
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Poller(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.stop, self.peak_sum_kb, self.hwm_kb = pid, threading.Event(), 0, 0
        self.child_hwm_kb: dict[int, int] = {}

    def sample(self) -> None:
        total = status_kb(self.pid, "VmRSS")
        self.hwm_kb = max(self.hwm_kb, status_kb(self.pid, "VmHWM"))
        for k in descendants(self.pid):
            total += status_kb(k, "VmRSS")
            self.child_hwm_kb[k] = max(self.child_hwm_kb.get(k, 0), status_kb(k, "VmHWM"))
        self.peak_sum_kb = max(self.peak_sum_kb, total)

    def run(self) -> None:
        while not self.stop.is_set():
            self.sample()
            time.sleep(0.05)


def page_url(base: str, page: Path) -> str:
    if page.name == "app.py":
        return base + "/"
    name = page.stem
    parts = name.split("_", 1)
    if parts[0].isdigit() and len(parts) == 2:
        name = parts[1]
    return base + "/" + urllib.parse.quote(name)


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("streamlit did not come up")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="peak RSS of streamlit run serving every page once")
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--page-timeout", type=float, default=180.0, help="seconds per page")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--db", type=Path, help="serve this database file instead of the generated one "
                                                "(for quick comparisons; --sessions is then only the label)")
    args = parser.parse_args(argv)

    db = args.db or run_all.database(args.sessions, args.seed)
    port = free_port()
    env = {**os.environ, "DX_DB_PATH": str(db)}
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none"]
    log = open(run_all.BENCH_DIR / f"streamlit-{args.sessions}.log", "w")
    server = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    poller = Poller(server.pid)
    poller.start()
    base = f"http://127.0.0.1:{port}"
    rows, crashed = [], False
    try:
        wait_http(base)
        time.sleep(0.5)
        poller.sample()
        idle_kb = status_kb(server.pid, "VmRSS")
        from playwright.sync_api import sync_playwright
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            for p in run_all_pages():
                url = page_url(base, p)
                t = time.perf_counter()
                status = "ok"
                try:
                    page.goto(url, wait_until="domcontentloaded")
                    page.wait_for_function(
                        """() => document.querySelector('[data-testid="stApp"][data-test-script-state="notRunning"]')
                                 && document.querySelector('h1')""", timeout=args.page_timeout * 1000)
                    page.wait_for_timeout(300)
                    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]',
                                           timeout=args.page_timeout * 1000)
                    shown = page.query_selector('[data-testid="stException"], [data-testid="stAlertContentError"]')
                    if shown:
                        status = "error shown: " + " ".join(shown.inner_text().split())[:200]
                        crashed = True
                except Exception as exc:  # noqa: BLE001
                    status = f"{type(exc).__name__}: {str(exc)[:120]}"
                    crashed = True
                secs = time.perf_counter() - t
                poller.sample()
                rows.append([f"`{p.relative_to(ROOT)}`", urllib.parse.unquote(url.replace(base, "")), fmt_s(secs),
                             f"{status_kb(server.pid, 'VmRSS') / 1024:.0f}", f"{poller.hwm_kb / 1024:.0f}", status])
                print(f"  {p.relative_to(ROOT)}: {secs:.2f} s, RSS {status_kb(server.pid, 'VmRSS') / 1024:.0f} MB, "
                      f"{status}", flush=True)
            browser.close()
        time.sleep(0.5)
        poller.sample()
    finally:
        poller.stop.set()
        try:
            os.killpg(server.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()

    peak_mb = max(poller.hwm_kb, poller.peak_sum_kb) / 1024
    verdict = (f"Peak RSS of the server: **{poller.hwm_kb / 1024:.0f} MB** (VmHWM of the streamlit process); "
               f"peak of server + children summed: {poller.peak_sum_kb / 1024:.0f} MB "
               f"({len(poller.child_hwm_kb)} child processes seen); idle after start: {idle_kb / 1024:.0f} MB. "
               f"Target ≤ {TARGET_MB} MB: " + ("met" if peak_mb <= TARGET_MB else
                                                f"missed by {peak_mb - TARGET_MB:.0f} MB ({peak_mb / TARGET_MB:.2f}×)")
               + ".")
    out = "\n\n".join([
        f"Database: {db.name} ({db.stat().st_size / 1e6:.0f} MB), {args.sessions:,} sessions; every page opened "
        "once, in this order, in one browser session.",
        table(["page", "URL", "until drawn s", "server RSS after MB", "server peak so far MB", "status"], rows),
        verdict])
    print("\n" + out)
    if args.write_docs:
        run_all.write_section(f"memory-{args.sessions}", f"Memory: {args.sessions:,} sessions", out)
    return 1 if crashed else 0


def run_all_pages() -> list[Path]:
    return [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]


if __name__ == "__main__":
    sys.exit(main())
