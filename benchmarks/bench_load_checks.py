"""What issue 11's load checks cost: the as-of date and the warnings for activity after it, new consortia, the
keyword-mapped theme notes (all in etl/validate.py, run while a batch is validated), and the new / updated /
unchanged counts (etl/write.py _count_changes, run while a batch is written).

    .venv/bin/python benchmarks/bench_load_checks.py --sessions 200000 [--write-docs]

On the generated records of that scale (cached, etl/generate.py): one Batch (extract, stage, validate) of all five
files, then each check again on its staged tables (best of 3); then the monthly-size batch of bench_load.py (the
last 1 % of sessions and consultations, already stored) loaded into a copy of the loaded database, with the time
of the change counts. Never asserts timings.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run_all  # noqa: E402  (puts the project root on sys.path)
from bench_load import monthly_batch_files  # noqa: E402
from run_all import BENCH_DIR, fmt_s, table  # noqa: E402


def best_of(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=200_000)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)
    import etl.load as L
    import etl.write as W
    from etl import validate as V

    src = run_all.dataset(args.sessions)
    t = time.perf_counter()
    batch = L.Batch.prepare([src], BENCH_DIR / "none.duckdb")
    batch_s = time.perf_counter() - t
    con, kinds, rep = batch.con, batch.kinds, batch.report

    def fresh(fn):
        def run():
            con.execute(V.GROUPED_DDL)
            fn()
        return run
    checks = [
        ("as-of date (latest activity up to today)", best_of(batch._as_of)),
        ("activity after the as-of date (warnings)", best_of(fresh(lambda: V.after_as_of(con, kinds, rep.as_of, False)))),
        ("new consortia (warnings with near names)", best_of(fresh(lambda: V.new_consortia(con, kinds)))),
        ("keyword-mapped themes (notes)", best_of(fresh(lambda: V.theme_mappings(con, kinds)))),
    ]
    notes = sum(1 for p in rep.problems if p.severity == "note")
    new_names = sum(1 for p in rep.problems if p.column == "コンソーシアム" and p.severity == "warning")
    batch.close()

    loaded = run_all.database(args.sessions)
    rows = max(1, args.sessions // 100)
    monthly = monthly_batch_files(src, BENCH_DIR / f"monthly-batch-{args.sessions}", rows)
    db = BENCH_DIR / f"bench-checks-{args.sessions}.duckdb"
    shutil.copyfile(loaded, db)
    spent: list[tuple[str, float]] = []
    original = W._count_changes

    def timed(batch, con, name, *a):
        t0 = time.perf_counter()
        original(batch, con, name, *a)
        spent.append((name, time.perf_counter() - t0))
    W._count_changes = timed
    try:
        t = time.perf_counter()
        report = L.load_files([monthly], db)
        load_s = time.perf_counter() - t
    finally:
        W._count_changes = original
        db.unlink(missing_ok=True)
    changes = report.changes_by_kind()

    body = [f"Data set: `.venv/bin/python -m etl.generate --sessions {args.sessions}` (cached under {BENCH_DIR}).", "",
            f"Validating all five files (`Batch`: extract, stage, validate, these checks included): {fmt_s(batch_s)} s; "
            f"{notes} theme notes, {new_names} new-consortium warnings (the generated consortia are not in "
            "data/reference/consortia.csv).", "",
            table(["check (best of 3, on the staged tables)", "seconds", "share of the Batch"],
                  [[n, fmt_s(s), f"{s / batch_s:.1%}"] for n, s in checks]), "",
            f"Monthly-size batch ({rows:,} sessions and {rows:,} consultations, already stored) into a copy of the "
            f"loaded database: {fmt_s(load_s)} s; change counts "
            + "、".join(f"{k} {fmt_s(s)} s" for k, s in spent) + f" (result: {changes})."]
    text = "\n".join(body)
    print(text)
    if args.write_docs:
        run_all.write_section(f"load-checks-{args.sessions}", f"Load checks (issue 11): {args.sessions:,} sessions", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
