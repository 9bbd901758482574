"""Hostile uploads through the real データ取込 page: `streamlit run` on a free loopback port, Debian's Chromium driven by
Playwright uploading each file through the page's st.file_uploader (and pressing 有効な行を取り込む where the case is
a fault during the load). Per case: seconds from the upload to the page's answer, the server process's RSS before,
at peak and after (the worker process is measured apart: it is a child with its own memory limit), whether the
server still answers /_stcore/health, and whether the database is byte-for-byte unchanged (sha256).

    .venv/bin/python benchmarks/bench_uploads.py [--rows 3000000] [--sessions 10000] [--write-docs]

Cases: the 5 KB workbook with one value at XFD1048576; a workbook of --rows 伴走記録 rows (openpyxl write-only,
cached under $DX_BENCH_DIR); a CSV with a 200 KB field; a CSV with a 3 MB line; a load onto a full disk (the database
on a tmpfs with no room for its copy; needs root for mount, else skipped); a load into a read-only folder (a tmpfs
remounted read-only); a truncated database (the page opened, nothing uploaded). Figures are printed, never
asserted."""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run_all  # noqa: E402
from run_all import ROOT, status_kb, table  # noqa: E402

sys.path.insert(0, str(ROOT))
from tests.support import upload_files  # noqa: E402
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, free_port  # noqa: E402
from tests.support.processes import children  # noqa: E402

PAGE = "データ取込"
ERROR = '[data-testid="stAlertContentError"]'
APP_IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
LOAD_BUTTON = "有効な行を取り込む"
CONSULTATIONS = ("相談ID,相談日,相談元,都道府県,市区町村,相談テーマ,形式\r\n"
                 "B-001,2025-01-20,架空市（架空）,茨城県,筑西市,RPAの導入,相談会\r\n").encode("utf-8")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Poller(threading.Thread):
    """The server's RSS and its worker children's peak (VmHWM), every 20 ms."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.stop = pid, threading.Event()
        self.server_peak_kb = 0
        self.worker_peak_kb = 0

    def reset(self) -> None:
        self.server_peak_kb = status_kb(self.pid, "VmRSS")
        self.worker_peak_kb = 0

    def run(self) -> None:
        while not self.stop.is_set():
            self.server_peak_kb = max(self.server_peak_kb, status_kb(self.pid, "VmRSS"))
            for k in children(self.pid):
                self.worker_peak_kb = max(self.worker_peak_kb, status_kb(k, "VmHWM"))
            time.sleep(0.02)


def healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/_stcore/health", timeout=5) as r:
            return r.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def server(db: Path, log_name: str):
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    log = open(run_all.BENCH_DIR / f"bench-uploads-{log_name}.log", "w")
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "DX_DB_PATH": str(db)}, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    poller = Poller(proc.pid)
    try:
        deadline = time.time() + 90
        while not healthy(base):
            if time.time() > deadline or proc.poll() is not None:
                raise RuntimeError(f"streamlit did not come up (log: {log.name})")
            time.sleep(0.3)
        poller.start()
        yield base, proc, poller
    finally:
        poller.stop.set()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 15)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 9)
        log.close()


@contextlib.contextmanager
def tmpfs(size: int | None = None):
    where = Path(tempfile.mkdtemp(prefix="dx-bench-fs-"))
    opts = ["-o", f"size={size}"] if size else []
    if subprocess.run(["mount", "-t", "tmpfs", *opts, "tmpfs", str(where)], capture_output=True).returncode:
        where.rmdir()
        yield None
        return
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)
        with contextlib.suppress(OSError):
            where.rmdir()


def run_case(page, base: str, proc, poller: Poller, db: Path, name: str, upload: Path | None, load: bool,
             timeout: float) -> list:
    """Open データ取込, upload `upload` (then press the load button when `load`), wait for the page's answer."""
    page.goto(f"{base}/{PAGE}", wait_until="domcontentloaded")
    page.wait_for_selector(APP_IDLE, timeout=60_000)
    digest = sha256(db)
    time.sleep(0.3)
    before = status_kb(proc.pid, "VmRSS")
    poller.reset()
    t = time.perf_counter()
    answer = ""
    try:
        if upload is not None:
            page.set_input_files('input[type="file"]', str(upload))
            if load:
                button = page.get_by_role("button", name=LOAD_BUTTON)
                button.wait_for(timeout=timeout * 1000)
                page.wait_for_selector(APP_IDLE, timeout=timeout * 1000)
                button.click()
                page.wait_for_selector(ERROR, timeout=timeout * 1000)
        # the answer: an error, or (a file within bounds) the validation report with its load button
        page.wait_for_selector(f'{ERROR}, button:has-text("{LOAD_BUTTON}")', timeout=timeout * 1000)
        page.wait_for_selector(APP_IDLE, timeout=timeout * 1000)
        errors = [e.replace("\n", " ") for e in page.locator(ERROR).all_inner_texts() if e.strip()]
        answer = errors[0] if errors else "validated, no error shown"
    except Exception as e:  # noqa: BLE001 - a benchmark reports, it does not stop
        answer = f"no answer: {type(e).__name__}"
    seconds = time.perf_counter() - t
    time.sleep(0.5)
    after = status_kb(proc.pid, "VmRSS")
    same = sha256(db) == digest
    row = [name, f"{seconds:.1f}", f"{before / 1024:.0f}", f"{poller.server_peak_kb / 1024:.0f}",
           f"{after / 1024:.0f}", f"{poller.worker_peak_kb / 1024:.0f}" if poller.worker_peak_kb else "—",
           "yes" if healthy(base) else "**no**", "yes" if same else "**no**", answer[:90]]
    print(" | ".join(row), flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="hostile uploads through データ取込 in Chromium")
    parser.add_argument("--rows", type=int, default=3_000_000, help="rows of the large workbook")
    parser.add_argument("--sessions", type=int, default=10_000, help="the database the server serves")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for each answer")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright
    run_all.BENCH_DIR.mkdir(parents=True, exist_ok=True)
    master = run_all.database(args.sessions)
    files = run_all.BENCH_DIR / "uploads"
    files.mkdir(exist_ok=True)
    big = files / f"伴走記録_{args.rows}行.xlsx"
    if not big.exists():
        t = time.perf_counter()
        upload_files.many_rows_xlsx(big.with_suffix(".part.xlsx"), args.rows)
        big.with_suffix(".part.xlsx").rename(big)
        print(f"wrote {big} ({big.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t:.0f} s", flush=True)
    cases = [("1 value at XFD1048576 (5 KB .xlsx)", upload_files.sparse_far_cell_xlsx(files / "伴走記録_XFD.xlsx"), False),
             (f"{args.rows:,} rows ({big.stat().st_size / 1e6:.0f} MB .xlsx)", big, False),
             ("CSV field of 200 KB", upload_files.long_field_csv(files / "伴走記録_長い欄.csv"), False),
             ("CSV line of 3 MB", upload_files.long_line_csv(files / "伴走記録_長い行.csv"), False)]
    ok_file = files / "相談記録_追加.csv"
    ok_file.write_bytes(CONSULTATIONS)
    rows = []
    work = Path(tempfile.mkdtemp(prefix="dx-bench-uploads-"))
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            db = work / "dx.duckdb"
            shutil.copyfile(master, db)
            with server(db, "files") as (base, proc, poller):
                for name, path, load in cases:
                    rows.append(run_case(page, base, proc, poller, db, name, path, load, args.timeout))
            size = master.stat().st_size
            with tmpfs(size * 3 // 2) as disk:
                if disk is None:
                    rows.append(["disk full", "skipped: cannot mount a tmpfs (not root)"] + [""] * 7)
                else:
                    shutil.copyfile(master, disk / "dx.duckdb")
                    with server(disk / "dx.duckdb", "disk-full") as (base, proc, poller):
                        rows.append(run_case(page, base, proc, poller, disk / "dx.duckdb",
                                             "load onto a full disk", ok_file, True, args.timeout))
            with tmpfs() as folder:
                if folder is not None:
                    shutil.copyfile(master, folder / "dx.duckdb")
                    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
                    with server(folder / "dx.duckdb", "read-only") as (base, proc, poller):
                        rows.append(run_case(page, base, proc, poller, folder / "dx.duckdb",
                                             "load into a read-only folder", ok_file, True, args.timeout))
            broken = work / "truncated.duckdb"
            shutil.copyfile(master, broken)
            os.truncate(broken, size // 2)
            with server(broken, "truncated") as (base, proc, poller):
                rows.append(run_case(page, base, proc, poller, broken, "truncated database (page opened)",
                                     None, False, args.timeout))
            browser.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    headers = ["case", "s to answer", "server RSS before MB", "server peak MB", "server after MB", "worker peak MB",
               "server answers", "database unchanged", "the page's answer"]
    out = table(headers, rows)
    print(out)
    if args.write_docs:
        from monitor.worker_memory import memory_limit_mb
        body = (f"The server serves a {args.sessions:,}-session database; uploads go through データ取込 in headless "
                f"Chromium. The worker process (memory limit {memory_limit_mb():,} MB, `DX_WORKER_MEMORY_MB`) does "
                "the reading; its peak is its own VmHWM. \"s to answer\" runs from the upload (or the page opened) "
                "to the page's Japanese error.\n\n" + out)
        run_all.write_section("uploads", "Uploads that cannot hurt the server", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
