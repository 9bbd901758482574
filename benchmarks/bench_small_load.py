"""What a small load costs before it does any work: one engagement file re-sent into a small database, through
`python -m etl load` (a process of its own, as the intake worker and cron run it) and in-process; and the pieces of
that fixed cost — starting a DuckDB instance, opening a database file, a look through etl.peek, importing the
loader (and whether that imports pandas). Medians of --repeat runs in one run of this script (prints, never
asserts).

    .venv/bin/python benchmarks/bench_small_load.py [--repeat 7] [--write-docs]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import run_all  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ENGAGEMENTS = ("案件ID,年度,支援種別,支援先名,支援先区分,都道府県,市区町村\r\n"
               "B-1,2024,伴走支援,架空テスト株式会社,企業,茨城県,筑西市\r\n"
               "B-2,2024,伴走支援,架空サンプル工業,企業,長野県,松本市\r\n")


def _child(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (MB) of one child process."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} exited {proc.returncode}")
    return time.perf_counter() - t, usage.ru_maxrss // 1024


def _median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def measure(repeat: int) -> list[list]:
    # the children first: a child's peak RSS counts the parent's pages until it execs, so this process holds
    # neither DuckDB nor the loader yet
    folder = Path(tempfile.mkdtemp(prefix="dx-bench-small-"))
    path = folder / "支援案件.csv"
    path.write_bytes(ENGAGEMENTS.encode("utf-8"))
    db = folder / "dx.duckdb"
    load = [sys.executable, "-m", "etl", "load", str(path), "--db", str(db)]
    _child(load)
    rows = []
    cli = [_child(load) for _ in range(repeat)]
    rows.append(["`python -m etl load` of the file (a process of its own)",
                 f"{statistics.median(t for t, _ in cli) * 1000:.0f}", f"{max(m for _, m in cli)}"])
    probe = "import sys, etl.load; print('pandas' in sys.modules)"
    imported = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    for code, label in (("import etl.load", "a fresh Python importing `etl.load` (pandas imported: "
                                             f"{'yes' if imported == 'True' else 'no'})"),
                        ("import pandas", "a fresh Python importing pandas")):
        runs = [_child([sys.executable, "-c", code]) for _ in range(repeat)]
        rows.append([label, f"{statistics.median(t for t, _ in runs) * 1000:.0f}", f"{max(m for _, m in runs)}"])
    import duckdb  # noqa: PLC0415

    from etl import peek  # noqa: PLC0415
    from etl.load import load_files  # noqa: PLC0415
    rows.append(["the same load in-process (`etl.load.load_files`)",
                 f"{_median_ms(lambda: load_files([path], db), repeat):.0f}", "—"])
    rows.append(["`duckdb.connect()` (a new in-memory instance) and close",
                 f"{_median_ms(lambda: duckdb.connect().close(), repeat * 3):.1f}", "—"])
    rows.append(["`duckdb.connect(db, read_only=True)`, one query, close",
                 f"{_median_ms(lambda: _open_query(duckdb, db), repeat * 3):.1f}", "—"])
    rows.append(["`etl.peek.read_only(db)` (attach to the running instance), one query, detach",
                 f"{_median_ms(lambda: _peek_query(peek, db), repeat * 3):.1f}", "—"])
    return rows


def _open_query(duckdb, db: Path) -> None:
    con = duckdb.connect(str(db), read_only=True)
    try:
        con.execute("SELECT value FROM meta WHERE key = 'is_sample'").fetchall()
    finally:
        con.close()


def _peek_query(peek, db: Path) -> None:
    with peek.read_only(db) as con:
        con.execute("SELECT value FROM meta WHERE key = 'is_sample'").fetchall()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)
    body = run_all.table(["step", "ms (median)", "peak RSS MB"], measure(max(1, args.repeat)))
    body += ("\n\nA load's own work on two rows is small; what it costs is starting (a Python with the loader and "
             "DuckDB) and opening DuckDB. A look at the database file (is it the sample, the next load id, the "
             "counts, the history rows) goes through etl/peek.py.")
    print(body)
    if args.write_docs:
        run_all.write_section("small-load", "A small load: its fixed cost", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
