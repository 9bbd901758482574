"""Stewardship benchmark (issue 14 items 1–3): what keeping versions costs a load, and how long undo, withdraw,
backup and the freshness summary take on a loaded database.

    .venv/bin/python benchmarks/bench_stewardship.py --sessions 100000 [--write-docs]

On a copy of the benchmark database of that scale (run_all.database): a monthly batch (the last 1 % of the
generated sessions, already stored, so the totals do not change) is loaded in-process with the time spent in the
version keeping (etl.versions: next id, row counts, load rows, hard link, log line, pruning) and in load_groups
(etl.freshness.record_load_groups) measured by wrapping those functions (nothing in etl/ is changed); then undo of
that load, withdraw of the engagement with the most sessions (--with-sessions), its undo, a backup, and the
freshness summary. Never asserts timings.
"""
from __future__ import annotations

import argparse
import functools
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run_all  # noqa: E402  (shared helpers; puts the project root on sys.path)
from run_all import fmt_s, table  # noqa: E402


def _wrap(module, name: str, spent: dict[str, float]) -> None:
    original = getattr(module, name)

    @functools.wraps(original)
    def timed(*args, **kwargs):
        t = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[f"{module.__name__.split('.')[-1]}.{name}"] += time.perf_counter() - t
    setattr(module, name, timed)


def _disk_mb(paths: list[Path], exclude_inode: int) -> float:
    """Disk blocks of the kept versions whose data is no longer the database's (hard links share it)."""
    seen, total = set(), 0
    for p in paths:
        st = p.stat()
        if st.st_ino != exclude_inode and st.st_ino not in seen:
            seen.add(st.st_ino)
            total += st.st_blocks * 512
    return total / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)

    from etl import freshness, restore, versions
    from etl.load import load_files
    from etl.withdraw import withdraw

    master = run_all.database(args.sessions)
    src = run_all.dataset(args.sessions)
    work = Path(tempfile.mkdtemp(prefix="dx-bench-steward-"))
    try:
        db = work / "dx.duckdb"
        shutil.copyfile(master, db)
        lines = (src / "伴走記録.csv").read_text(encoding="utf-8").splitlines(keepends=True)
        batch = work / "batch" / "伴走記録_月次.csv"
        batch.parent.mkdir()
        n_batch = max(1, (len(lines) - 1) // 100)
        batch.write_text(lines[0] + "".join(lines[-n_batch:]), encoding="utf-8")

        spent: dict[str, float] = defaultdict(float)
        for name in ("next_id", "table_counts", "load_tables", "keep_current", "record"):
            _wrap(versions, name, spent)
        _wrap(freshness, "record_load_groups", spent)
        rows = []

        t = time.perf_counter()
        report = load_files([batch], db)
        load_s = time.perf_counter() - t
        assert report.loaded
        keeping = sum(v for k, v in spent.items() if k.startswith("versions."))
        rows.append([f"monthly batch load ({n_batch:,} sessions)", fmt_s(load_s), ""])
        rows.append(["  of which keeping the version (etl.versions)", fmt_s(keeping),
                     f"{keeping / load_s:.1%} of the load"])
        rows.append(["  of which load_groups", fmt_s(spent["freshness.record_load_groups"]),
                     f"{spent['freshness.record_load_groups'] / load_s:.1%} of the load"])
        for k in ("versions.next_id", "versions.table_counts", "versions.load_tables", "versions.keep_current",
                  "versions.record"):
            rows.append([f"    {k}", fmt_s(spent[k]), ""])

        def timed(label, fn):
            t = time.perf_counter()
            out = fn()
            rows.append([label, fmt_s(time.perf_counter() - t), ""])
            return out

        timed("undo of that load", lambda: restore.undo(db))
        eid = run_all_query(db, "SELECT engagement_id FROM sessions GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
        timed("withdraw one engagement --with-sessions (marts rebuilt)",
              lambda: withdraw(db, "engagements", [eid], with_sessions=True))
        timed("undo of the withdraw", lambda: restore.undo(db))
        timed("backup", lambda: restore.backup(db, work / "backup.duckdb"))
        df = timed("freshness summary (check --summary's query)", lambda: freshness.summary_for(db))
        kept = sorted(versions.versions_dir(db).glob(f"{db.name}.v*"))
        size_mb = db.stat().st_size / 1e6
        rows.append(["database file", f"{size_mb:,.1f} MB", ""])
        rows.append([f"kept versions ({len(kept)})", f"{_disk_mb(kept, db.stat().st_ino):,.1f} MB on disk",
                     "each a whole former database file"])
        body = "\n".join([
            f"{args.sessions:,} sessions; freshness summary: {len(df)} groups.", "",
            table(["step", "time (s)", "note"], rows), "",
            "Keeping a version is a hard link (no copy); its disk cost comes later, as the kept files stop being "
            "the database: up to DX_KEEP_VERSIONS (10) former database files."])
        print(body)
        if args.write_docs:
            run_all.write_section(f"stewardship-{args.sessions}", f"Stewardship: {args.sessions:,} sessions", body)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def run_all_query(db: Path, sql: str):
    import duckdb
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()[0][0]
    finally:
        con.close()


if __name__ == "__main__":
    raise SystemExit(main())
