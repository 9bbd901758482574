"""Load benchmark: the project's `etl load` of a generated data set against DuckDB's bare read of the same file.

    .venv/bin/python benchmarks/bench_load.py --sessions 1000000 [--write-docs]

In one run, on the same generated files (etl/generate.py, cached under /tmp/dx-bench):
1. bare: `CREATE TABLE t AS SELECT * FROM read_csv('<伴走記録.csv>')` in a fresh in-memory DuckDB (the limit this
   machine allows for that file; best of 3), and the same for all five files;
2. `load_files()` in-process into a fresh database, instrumented: time per stage (setup / extract / stage /
   validate / write / marts / swap) and the slowest SQL statements, by wrapping the loader's DuckDB connection
   (nothing in etl/ is changed);
3. `python -m etl load DIR --db FILE` end-to-end as a subprocess (includes interpreter start and imports);
4. a monthly-size batch (the last 1 % of the sessions and consultations, already stored) loaded by the CLI into a
   copy of the loaded database: time, the load process's peak RSS, and the totals (which must not change); and the
   same batch through データ取込's code in this process (how much a server's RSS rises during such a load);
5. (issue 18, also alone with --monthly) the same batch as NEW rows (into a database loaded without them), RE-SENT
   (into the whole database) and into a database holding only the batch's engagements, each by the CLI, the median of
   --repeat runs, with the load process's peak RSS; and the new batch with the marts rebuilt whole (the way before).
Prints a table with rows/s and the ratio load ÷ bare read (issue 6 target: ≤ 3.0). Never asserts timings.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run_all  # noqa: E402  (shared helpers; puts the project root on sys.path)
from run_all import BENCH_DIR, ROOT, fmt_s, reset_hwm, status_kb, table  # noqa: E402

TARGET_RATIO = 3.0


# ── bare DuckDB ─────────────────────────────────────────────────────────────

def bare_read(files: list[Path], repeat: int = 3) -> float:
    """Best of `repeat`: CREATE TABLE … AS SELECT * FROM read_csv(file) for each file, fresh in-memory DB."""
    import duckdb
    best = float("inf")
    for _ in range(repeat):
        con = duckdb.connect()
        t = time.perf_counter()
        for i, f in enumerate(files):
            con.execute(f"CREATE TABLE t{i} AS SELECT * FROM read_csv(?)", [str(f)])
        best = min(best, time.perf_counter() - t)
        con.close()
    return best


def bare_store(files: list[Path], repeat: int = 3) -> float:
    """Best of `repeat`: the same bare reads, but into compressed tables of a new database file (CHECKPOINT
    included): what reading and storing the files costs before any normalising, validating or aggregating."""
    import duckdb
    best = float("inf")
    db = BENCH_DIR / "bench-bare-store.duckdb"
    for _ in range(repeat):
        db.unlink(missing_ok=True)
        con = duckdb.connect()
        t = time.perf_counter()
        con.execute("ATTACH ? AS f", [str(db)])
        for i, f in enumerate(files):
            con.execute(f"CREATE TABLE f.t{i} AS SELECT * FROM read_csv(?)", [str(f)])
        con.execute("CHECKPOINT f")
        best = min(best, time.perf_counter() - t)
        con.close()
    db.unlink(missing_ok=True)
    return best


# ── the value macros, column by column ──────────────────────────────────────

SESSION_COLUMNS = [
    ("伴走記録", "案件ID", "dx_text"), ("伴走記録", "回", "dx_int"), ("伴走記録", "実施日", "dx_date"),
    ("伴走記録", "時間", "dx_minutes"), ("伴走記録", "担当ITC", "dx_list"), ("伴走記録", "金融機関同行", "dx_bool"),
    ("伴走記録", "参加人数", "dx_int"), ("伴走記録", "テーマ", "dx_list(dx_text)"),
    ("相談記録", "相談日", "dx_date"), ("相談記録", "相談テーマ", "dx_text"), ("相談記録", "時間", "dx_minutes"),
    ("相談記録", "市区町村", "dx_text"),
]


def column_costs(src: Path) -> list[tuple[str, float, float]]:
    """(column, seconds to copy it, seconds to normalise it) for the big columns, each on its own, all-varchar."""
    import duckdb

    from etl.macros import install_macros
    con = duckdb.connect()
    install_macros(con)
    for name in ("伴走記録", "相談記録"):
        con.execute(f"CREATE TABLE \"{name}\" AS SELECT * FROM read_csv(?, header=true, all_varchar=true)",
                    [str(src / f"{name}.csv")])
    out = []
    for table_name, col, fn in SESSION_COLUMNS:
        ref = f'"{col}"'
        expr = f"dx_list(dx_text({ref}))" if fn == "dx_list(dx_text)" else f"{fn}({ref})"
        t = time.perf_counter()
        con.execute(f'CREATE OR REPLACE TABLE c AS SELECT {ref} AS v FROM "{table_name}"')
        copy = time.perf_counter() - t
        t = time.perf_counter()
        con.execute(f'CREATE OR REPLACE TABLE c AS SELECT {expr} AS v FROM "{table_name}"')
        out.append((f"{table_name}.{col}: `{expr}`", copy, time.perf_counter() - t))
    con.close()
    return out


# ── instrumented load_files ─────────────────────────────────────────────────

class _TimedConnection:
    """Wraps a DuckDB connection: every execute()/executemany() is timed and labelled by its SQL."""

    def __init__(self, con, log: list):
        object.__setattr__(self, "_con", con)
        object.__setattr__(self, "_log", log)

    def _timed(self, method, sql, *args, **kwargs):
        t = time.perf_counter()
        try:
            return getattr(self._con, method)(sql, *args, **kwargs)
        finally:
            self._log.append((_label(sql), time.perf_counter() - t))

    def execute(self, sql, *args, **kwargs):
        return self._timed("execute", sql, *args, **kwargs)

    def executemany(self, sql, *args, **kwargs):
        return self._timed("executemany", sql, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._con, name)

    def __setattr__(self, name, value):
        setattr(self._con, name, value)


def _label(sql: object) -> str:
    text = str(sql)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("--")]
    first = " ".join(lines[:2]) if lines else text
    first = re.sub(r"\s+", " ", first)
    m = re.search(r"CREATE (?:OR REPLACE )?(?:TEMP )?(?:TABLE|VIEW) (\w+)", text)
    if m:
        return f"CREATE {m.group(1)}"
    m = re.search(r"(INSERT INTO|DELETE FROM|UPDATE) ([\w.]+)", text)
    if m:
        return f"{m.group(1)} {m.group(2)}" + (" (problems checks)" if "problems" in m.group(2) and "UNION ALL" in text else "")
    return first[:70]


@contextlib.contextmanager
def instrumented(stages: dict, statements: list):
    """Patch the loader's module globals (etl.prepare, etl.write) and Batch methods with timers; restore afterwards."""
    import duckdb

    import etl.prepare as P
    import etl.write as W

    active: list = []        # exclusive times: a timed call inside another is not counted twice

    def timer(name, fn):
        def wrapped(*a, **k):
            t = time.perf_counter()
            active.append(0.0)
            try:
                return fn(*a, **k)
            finally:
                elapsed = time.perf_counter() - t
                children = active.pop()
                stages[name] += elapsed - children
                if active:
                    active[-1] += elapsed
        return wrapped

    saved = {}

    def patch(obj, attr, new):
        saved[(obj, attr)] = getattr(obj, attr)
        setattr(obj, attr, new)

    class _DuckShim:                         # etl.prepare/etl.write duckdb.connect() → a timed connection
        def __getattr__(self, name):
            return getattr(duckdb, name)

        @staticmethod
        def connect(*a, **k):
            return _TimedConnection(duckdb.connect(*a, **k), statements)

    for module in (P, W):
        patch(module, "duckdb", _DuckShim())
        patch(module, "install_macros", timer("setup", module.install_macros))
    patch(P, "load_reference", timer("setup", P.load_reference))
    patch(W, "copy_reference", timer("setup", W.copy_reference))   # the write side copies the batch's tables
    patch(W, "update_marts", timer("marts", W.update_marts))
    patch(P.Batch, "_known_records", timer("setup", P.Batch._known_records))
    patch(P.Extractor, "read", timer("extract", P.Extractor.read))
    patch(P.Batch, "_stage", timer("stage", P.Batch._stage))
    patch(P.Batch, "_validate", timer("validate", P.Batch._validate))
    patch(W, "_apply", timer("write", W._apply))
    patch(W, "build_marts", timer("marts", W.build_marts))
    patch(W, "_store_rejected_records", timer("rejected rows", W._store_rejected_records))
    patch(W, "_fsync", timer("fsync", W._fsync))
    try:
        yield
    finally:
        for (obj, attr), old in saved.items():
            setattr(obj, attr, old)


def run_load_inprocess(src: Path, db: Path) -> dict:
    from etl.load import load_files
    db.unlink(missing_ok=True)
    stages: dict = defaultdict(float)
    statements: list = []
    marks: list = []
    t0 = time.perf_counter()
    with instrumented(stages, statements):
        report = load_files([src], db, fresh=True, progress=lambda m: marks.append((time.perf_counter() - t0, m)))
    total = time.perf_counter() - t0
    if not report.loaded:
        raise RuntimeError(f"load failed: {report.unreadable or [p.reason for p in report.errors[:5]]}")
    rejected = sum(t.rows_rejected for t in report.tables)
    rows = report.rows_by_kind()
    return {"total": total, "stages": dict(stages), "statements": statements, "marks": marks,
            "rows": rows, "rejected": rejected}


def run_load_cli(src: Path, db: Path) -> tuple[float, int, str]:
    db.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "etl", "load", str(src), "--db", str(db), "--fresh"]
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    return time.perf_counter() - t, proc.returncode, (proc.stdout + proc.stderr)[-2000:]


def monthly_batch_files(src: Path, out: Path, rows: int) -> Path:
    """A monthly-size batch: the last `rows` rows of the session and consultation files, rewritten as CSV by DuckDB
    (so quoted newlines in free text stay intact). The rows are already stored in a database loaded from `src`, so
    loading the batch replaces them: the same work as new rows, and the totals must not change."""
    import duckdb
    from etl.generate import FILE_NAMES
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        for kind in ("sessions", "consultations"):
            name = FILE_NAMES[kind]
            con.execute("CREATE OR REPLACE TABLE t AS SELECT * FROM read_csv(?, all_varchar = true, header = true)",
                        [str(src / name)])
            total = con.execute("SELECT count(*) FROM t").fetchall()[0][0]
            con.execute(f"COPY (SELECT * FROM t WHERE rowid >= {int(total - rows)} ORDER BY rowid) TO ? (HEADER)",
                        [str(out / name)])
    finally:
        con.close()
    return out


def _record_totals(db: Path) -> tuple[int, int]:
    """(sessions, consultations) stored in ``db``."""
    import duckdb
    con = duckdb.connect(str(db), read_only=True)
    try:
        return tuple(con.execute("SELECT (SELECT count(*) FROM sessions), (SELECT count(*) FROM consultations)")
                     .fetchall()[0])
    finally:
        con.close()


def _timed_cli_load(batch: Path, db: Path) -> tuple[float, int, int, str]:
    """`python -m etl load batch --db db` in a subprocess: (seconds, peak RSS in kB, exit code, output)."""
    return _timed_cli(["load", str(batch), "--db", str(db)])


def _timed_cli(args: list[str]) -> tuple[float, int, int, str]:
    """`python -m etl ARGS` in a subprocess: (seconds, peak RSS in kB, exit code, output). The peak is the process's
    own VmHWM, polled until it exits (getrusage would count the memory of this process, which forked it)."""
    cmd = [sys.executable, "-m", "etl", *args]
    t = time.perf_counter()
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        peak_kb = 0
        while proc.poll() is None:
            peak_kb = max(peak_kb, status_kb(proc.pid, "VmHWM"))
            time.sleep(0.01)
        seconds = time.perf_counter() - t
        log.seek(0)
        return seconds, peak_kb, proc.returncode, log.read().decode("utf-8", "replace")


def run_monthly_batch(src: Path, loaded: Path, sessions: int) -> dict:
    """`python -m etl load` of a batch of sessions / 100 sessions and as many consultations into a copy of the
    database loaded from the full data set: time, the process's peak RSS, and the stored totals before and after."""
    rows = max(sessions // 100, 1)
    batch = monthly_batch_files(src, BENCH_DIR / f"monthly-batch-{sessions}", rows)
    db = BENCH_DIR / f"bench-monthly-{sessions}.duckdb"
    shutil.copyfile(loaded, db)

    before = _record_totals(db)
    seconds, peak_kb, code, output = _timed_cli_load(batch, db)
    after = _record_totals(db)
    db.unlink(missing_ok=True)
    return {"rows": rows, "seconds": seconds, "peak_mb": peak_kb / 1024, "code": code,
            "before": before, "after": after, "output": output[-2000:]}


def run_monthly_batch_in_app(loaded: Path, sessions: int) -> dict:
    """The same monthly batch uploaded through データ取込 (monitor.intake: validate, then load the valid rows) from this
    process, as the Streamlit server runs it (the work itself runs in intake's worker process since issue 14):
    time, and how much this process's RSS rises at peak and stays after."""
    from monitor.read import db as read_db
    from monitor import intake
    batch = BENCH_DIR / f"monthly-batch-{sessions}"
    uploads = [(p.name, p.read_bytes()) for p in sorted(batch.glob("*.csv"))]
    db = BENCH_DIR / f"bench-monthly-app-{sessions}.duckdb"
    shutil.copyfile(loaded, db)
    read_db.release_memory()
    reset_hwm()
    rss0 = status_kb(os.getpid(), "VmRSS")
    t = time.perf_counter()
    validation = intake.validate_uploads(uploads, db)
    report = intake.load_validated(validation, db)
    seconds = time.perf_counter() - t
    peak = status_kb(os.getpid(), "VmHWM")
    validation.discard()
    read_db.release_memory()
    after = status_kb(os.getpid(), "VmRSS")
    db.unlink(missing_ok=True)
    return {"seconds": seconds, "loaded": report.loaded, "peak_mb": (peak - rss0) / 1024,
            "after_mb": (after - rss0) / 1024}


# ── issue 18: a monthly batch, new / re-sent / into a small database ───────────────

def _copy_files(src: Path, out: Path, keep: dict[str, str], batch: Path, macros: bool = False) -> Path:
    """The record files of ``src`` into ``out``, each kind filtered by the SQL condition ``keep[kind]`` over a table
    ``t`` of its rows (all-varchar, ``rowid`` the row's place); a kind not in ``keep`` is copied whole, one mapped to
    None left out."""
    import duckdb
    from etl.generate import FILE_NAMES
    from etl.macros import install_macros
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        if macros:
            install_macros(con)
        con.execute("CREATE TABLE batch_sessions AS SELECT * FROM read_csv(?, all_varchar = true, header = true)",
                    [str(batch / FILE_NAMES["sessions"])])
        con.execute("CREATE TABLE batch_consultations AS SELECT * FROM read_csv(?, all_varchar = true, header = true)",
                    [str(batch / FILE_NAMES["consultations"])])
        for kind, name in FILE_NAMES.items():
            if kind in keep and keep[kind] is None:
                (out / name).unlink(missing_ok=True)
                continue
            if kind not in keep:
                shutil.copyfile(src / name, out / name)
                continue
            con.execute("CREATE OR REPLACE TABLE t AS SELECT * FROM read_csv(?, all_varchar = true, header = true)",
                        [str(src / name)])
            con.execute(f"COPY (SELECT * FROM t WHERE {keep[kind]} ORDER BY rowid) TO ? (HEADER)", [str(out / name)])
    finally:
        con.close()
    return out


def _cached_load(src: Path, db: Path, stamp: str) -> Path:
    """``src`` loaded fresh into ``db`` by the real loader, cached under the stamp."""
    from etl.load import load_files
    marker = db.with_name(db.name + ".complete")
    if db.exists() and marker.exists() and marker.read_text() == stamp:
        return db
    db.unlink(missing_ok=True)
    t = time.perf_counter()
    report = load_files([src], db, fresh=True)
    if not report.loaded:
        raise RuntimeError(f"load of {src} failed: {report.unreadable or [p.reason for p in report.errors[:5]]}")
    marker.write_text(stamp)
    print(f"loaded {db} in {time.perf_counter() - t:.1f} s", flush=True)
    return db


def _cli_load(batch: Path, base: Path, work: Path, full_marts: bool = False, undo: bool = False) -> dict:
    """`python -m etl load batch --db` into a copy of ``base``: seconds, the process's peak RSS (its own VmHWM,
    polled), exit code, the record totals after and how the marts were written (the history's entry). With
    ``full_marts`` the copy's marts are marked as built by another state, so the load rebuilds them whole."""
    import duckdb
    from etl import versions
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    db = work / "dx.duckdb"
    shutil.copyfile(base, db)
    if full_marts:
        con = duckdb.connect(str(db))
        con.execute("UPDATE meta SET value = 'outdated' WHERE key = 'marts_state'")
        con.close()
    seconds, peak_kb, code, output = _timed_cli_load(batch, db)
    totals = _record_totals(db)
    entries = versions.read_log(db)
    marts = entries[-1].get("marts", "?") if entries else "?"
    result = {"seconds": seconds, "peak_mb": peak_kb / 1024, "code": code, "totals": totals,
              "marts": marts, "output": output[-1500:]}
    if undo and code == 0:       # `etl undo` of that load: the stewardship verb, end to end
        undo_s, undo_kb, undo_code, undo_out = _timed_cli(["undo", "--db", str(db)])
        undone = _record_totals(db)
        result["undo"] = {"seconds": undo_s, "peak_mb": undo_kb / 1024, "code": undo_code, "totals": undone,
                          "output": undo_out[-1500:]}
    shutil.rmtree(work, ignore_errors=True)
    return result


def _median_run(repeat: int, *args, **kwargs) -> dict:
    runs = [_cli_load(*args, **kwargs) for _ in range(repeat)]
    runs.sort(key=lambda r: r["seconds"])
    out = dict(runs[len(runs) // 2])
    out["all"] = [r["seconds"] for r in runs]
    out["peak_mb"] = max(r["peak_mb"] for r in runs)
    undos = sorted((r["undo"] for r in runs if "undo" in r), key=lambda u: u["seconds"])
    if undos:
        out["undo"] = dict(undos[len(undos) // 2], all=[u["seconds"] for u in undos])
    return out


def run_issue18(src: Path, sessions: int, seed: int, repeat: int) -> dict:
    """The monthly batch (the last 1 % of the sessions and consultations) as new rows, as re-sent rows and into a
    database holding only its engagements."""
    rows = max(sessions // 100, 1)
    # every folder named by the scale: a small run (CI's) beside a full one must not write the other's batch
    batch = monthly_batch_files(src, BENCH_DIR / f"issue18-batch-{sessions}", rows)
    stamp = run_all.database_stamp(sessions, seed) + f" {rows}"
    import duckdb
    con = duckdb.connect()      # rows, not lines: free text may hold quoted newlines
    n_sessions, n_consultations = (con.execute("SELECT count(*) FROM read_csv(?, all_varchar = true, header = true)",
                                               [str(src / n)]).fetchall()[0][0] for n in ("伴走記録.csv", "相談記録.csv"))
    con.close()
    # the programme without the batch's rows (so the batch is new), and only the batch's engagements
    held = _copy_files(src, BENCH_DIR / f"issue18-held-{sessions}", {
        "sessions": f"rowid < {n_sessions - rows}", "consultations": f"rowid < {n_consultations - rows}"}, batch=batch)
    small = _copy_files(src, BENCH_DIR / f"issue18-small-{sessions}", {
        "engagements": "案件ID IN (SELECT 案件ID FROM batch_sessions UNION SELECT 案件ID FROM batch_consultations)",
        "sessions": None, "consultations": None, "events": None, "targets": None}, batch=batch)
    held_db = _cached_load(held, BENCH_DIR / f"issue18-held-{sessions}.duckdb", stamp)
    small_db = _cached_load(small, BENCH_DIR / f"issue18-small-{sessions}.duckdb", stamp)
    whole_db = run_all.database(sessions, seed)
    work = BENCH_DIR / f"issue18-work-{sessions}"
    return {
        "rows": rows,
        "small_engagements": sum(1 for _ in open(small / "支援案件.csv", encoding="utf-8")) - 1,
        "new": _median_run(repeat, batch, held_db, work, undo=True),
        "resent": _median_run(repeat, batch, whole_db, work),
        "small": _median_run(repeat, batch, small_db, work),
        "new_full_marts": _median_run(max(1, repeat // 2), batch, held_db, work, full_marts=True),
        "expected": (n_sessions, n_consultations),
        "held": (n_sessions - rows, n_consultations - rows),
        "month": run_calendar_month(src, sessions, seed, repeat),
    }


DATE_COLUMNS = {"sessions": "実施日", "consultations": "相談日"}


def calendar_month_batch(src: Path, out: Path) -> tuple[Path, str]:
    """What a steward sends each month: every session and consultation dated in the data set's last calendar month
    (dates read by the loader's own dx_date macro). Returns the batch folder and the month (YYYY-MM)."""
    import duckdb
    from etl.generate import FILE_NAMES
    from etl.macros import install_macros
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        install_macros(con)
        month = con.execute(f"SELECT strftime(max(dx_date({DATE_COLUMNS['sessions']})), '%Y-%m') "
                            "FROM read_csv(?, all_varchar = true, header = true)",
                            [str(src / FILE_NAMES["sessions"])]).fetchall()[0][0]
        for kind, column in DATE_COLUMNS.items():
            con.execute(f"COPY (SELECT * FROM read_csv(?, all_varchar = true, header = true) "
                        f"WHERE strftime(dx_date({column}), '%Y-%m') = ?) TO ? (HEADER)",
                        [str(src / FILE_NAMES[kind]), month, str(out / FILE_NAMES[kind])])
    finally:
        con.close()
    return out, month


def run_calendar_month(src: Path, sessions: int, seed: int, repeat: int) -> dict:
    """The last calendar month's sessions and consultations as new rows (held back from the first load), then undone
    with `etl undo`."""
    batch, month = calendar_month_batch(src, BENCH_DIR / f"issue18-month-batch-{sessions}")
    keep_out = {kind: f"strftime(dx_date({column}), '%Y-%m') IS DISTINCT FROM '{month}'"
                for kind, column in DATE_COLUMNS.items()}
    held = _copy_files(src, BENCH_DIR / f"issue18-month-held-{sessions}", keep_out, batch=batch, macros=True)
    import duckdb
    con = duckdb.connect()
    rows = {kind: con.execute("SELECT count(*) FROM read_csv(?, all_varchar = true, header = true)",
                              [str(batch / name)]).fetchall()[0][0]
            for kind, name in (("sessions", "伴走記録.csv"), ("consultations", "相談記録.csv"))}
    con.close()
    stamp = run_all.database_stamp(sessions, seed) + f" month {month}"
    held_db = _cached_load(held, BENCH_DIR / f"issue18-month-held-{sessions}.duckdb", stamp)
    return {"month": month, "rows": rows,
            "new": _median_run(repeat, batch, held_db, BENCH_DIR / f"issue18-work-{sessions}", undo=True)}


def issue18_text(r: dict, sessions: int, seed: int, repeat: int) -> str:
    new, resent, small, full = r["new"], r["resent"], r["small"], r["new_full_marts"]
    ratio_new = new["seconds"] / small["seconds"]
    ratio_resent = resent["seconds"] / small["seconds"]

    def verdict(value: float, target: float, unit: str) -> str:
        return "met" if value <= target else f"missed by {value - target:.2f}{unit} ({value / target:.2f}×)"

    rows = [
        ["new rows into the whole database", f"{new['seconds']:.2f}", f"{new['peak_mb']:,.0f}", new["marts"],
         f"{ratio_new:.2f}", " / ".join(f"{s:.2f}" for s in new["all"])],
        ["re-sent rows into the whole database", f"{resent['seconds']:.2f}", f"{resent['peak_mb']:,.0f}",
         resent["marts"], f"{ratio_resent:.2f}", " / ".join(f"{s:.2f}" for s in resent["all"])],
        [f"new rows into a database of only their {r['small_engagements']:,} engagements", f"{small['seconds']:.2f}",
         f"{small['peak_mb']:,.0f}", small["marts"], "1.00", " / ".join(f"{s:.2f}" for s in small["all"])],
        ["new rows into the whole database, marts rebuilt whole (as before issue 18)", f"{full['seconds']:.2f}",
         f"{full['peak_mb']:,.0f}", full["marts"], f"{full['seconds'] / small['seconds']:.2f}",
         " / ".join(f"{s:.2f}" for s in full["all"])],
    ]
    month = r["month"]
    m_new = month["new"]
    rows.append([f"calendar month {month['month']} ({month['rows']['sessions']:,} sessions, "
                 f"{month['rows']['consultations']:,} consultations) as new rows into the whole database",
                 f"{m_new['seconds']:.2f}", f"{m_new['peak_mb']:,.0f}", m_new["marts"], "—",
                 " / ".join(f"{s:.2f}" for s in m_new["all"])])
    undos = [("`etl undo` of the new 1 % batch", new.get("undo")),
             (f"`etl undo` of the calendar month {month['month']}", m_new.get("undo"))]
    for label, u in undos:
        if u:
            rows.append([label, f"{u['seconds']:.2f}", f"{u['peak_mb']:,.0f}", "kept version", "—",
                         " / ".join(f"{s:.2f}" for s in u["all"])])
    ok = all(x["code"] == 0 for x in (new, resent, small, full, m_new)) and all(
        u and u["code"] == 0 for _label, u in undos)
    totals_ok = new["totals"] == resent["totals"] == r["expected"] == full["totals"] == m_new["totals"]
    undo_ok = new.get("undo", {}).get("totals") == r["held"]
    slowest_undo = max((u["seconds"] for _label, u in undos if u), default=float("nan"))
    out = "\n\n".join([
        f"Batch: the last {r['rows']:,} sessions and {r['rows']:,} consultations of "
        f"`.venv/bin/python -m etl.generate --sessions {sessions} --seed {seed}`, loaded by "
        "`.venv/bin/python -m etl load DIR --db FILE` (a subprocess: interpreter start and imports included) into a "
        f"copy of each database; median of {repeat} runs (all runs in the last column), peak RSS = the load process's "
        "VmHWM, the largest of the runs. The whole database holds every other record of the set; ratio = ÷ the "
        "small database's figure, in the same run.",
        table(["batch", "seconds", "peak RSS MB", "marts", "× small database", "runs (s)"], rows),
        f"Targets (issue 18): new rows ≤ 1.5 s — {verdict(new['seconds'], 1.5, ' s')}; peak ≤ 400 MB — "
        f"{verdict(new['peak_mb'], 400, ' MB')}; ≤ 2 × the small database — {verdict(ratio_new, 2.0, '')} "
        f"(re-sent: {resent['seconds']:.2f} s, {verdict(ratio_resent, 2.0, '')}). Totals after the new batch "
        f"{new['totals'][0]:,} sessions / {new['totals'][1]:,} consultations, after the re-sent one "
        f"{resent['totals'][0]:,} / {resent['totals'][1]:,}"
        + (" (as they must be)." if totals_ok else " — **WRONG: expected "
           f"{r['expected'][0]:,} / {r['expected'][1]:,}**.")
        + f" Undo ≤ 1 s — {verdict(slowest_undo, 1.0, ' s')} (the slower of the two); after undoing the 1 % batch "
        + ("the totals are the held-back database's again." if undo_ok else "**the totals are WRONG**.")
        + ("" if ok else " **A load or undo failed:** " + " | ".join(
            x["output"] for x in (new, resent, small, full, m_new, new.get("undo"), m_new.get("undo"))
            if x and x["code"] != 0)),
    ])
    return out


# ── main ────────────────────────────────────────────────────────────────────

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="etl load vs DuckDB's bare read_csv")
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-cli", action="store_true", help="skip the end-to-end CLI run")
    parser.add_argument("--no-columns", action="store_true", help="skip the per-column normalisation costs")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--monthly", action="store_true", help="only the monthly batch of issue 18")
    parser.add_argument("--repeat", type=int, default=3, help="runs per monthly batch figure (median)")
    args = parser.parse_args(argv)

    from etl.generate import FILE_NAMES
    src = run_all.dataset(args.sessions, args.seed)
    if args.monthly or not args.no_cli:
        result = run_issue18(src, args.sessions, args.seed, args.repeat)
        text = issue18_text(result, args.sessions, args.seed, args.repeat)
        print(text)
        if args.write_docs:
            run_all.write_section(f"monthly-{args.sessions}", f"Monthly batch (issue 18): {args.sessions:,} sessions",
                                  text)
        if args.monthly:
            loads = [result[k] for k in ("new", "resent", "small", "new_full_marts")] + [result["month"]["new"]]
            undos = [result["new"].get("undo"), result["month"]["new"].get("undo")]
            return 0 if all(x["code"] == 0 for x in loads) and all(u and u["code"] == 0 for u in undos) else 1
    sessions_file = src / FILE_NAMES["sessions"]
    all_files = [src / n for n in FILE_NAMES.values()]
    size_mb = sessions_file.stat().st_size / 1e6
    all_mb = sum(f.stat().st_size for f in all_files) / 1e6

    bare_sessions = bare_read([sessions_file])
    bare_all = bare_read(all_files)
    stored_all = bare_store(all_files)
    loaded_db = BENCH_DIR / f"bench-load-{args.sessions}.duckdb"
    res = run_load_inprocess(src, loaded_db)
    # the loaded database is what bench_pages / bench_memory need at this scale: keep it as their cache
    cache = run_all.database_path(args.sessions, args.seed)
    os.replace(loaded_db, cache)
    cache.with_name(cache.name + ".complete").write_text(run_all.database_stamp(args.sessions, args.seed))
    columns = None if args.no_columns else column_costs(src)
    cli = None if args.no_cli else run_load_cli(src, BENCH_DIR / f"bench-load-cli-{args.sessions}.duckdb")
    monthly = None if args.no_cli else run_monthly_batch(src, cache, args.sessions)
    in_app = None if args.no_cli else run_monthly_batch_in_app(cache, args.sessions)

    n_sess = res["rows"].get("sessions", 0)
    n_all = sum(res["rows"].values())
    rows = [
        ["bare read_csv → table: 伴走記録.csv", f"{n_sess:,}", f"{size_mb:.0f} MB", fmt_s(bare_sessions),
         f"{n_sess / bare_sessions:,.0f}", "1.00", f"{bare_sessions / bare_all:.2f}"],
        ["bare read_csv → tables: all 5 files", f"{n_all:,}", f"{all_mb:.0f} MB", fmt_s(bare_all),
         f"{n_all / bare_all:,.0f}", f"{bare_all / bare_sessions:.2f}", "1.00"],
        ["bare read_csv → compressed tables in a database file: all 5 files", f"{n_all:,}", f"{all_mb:.0f} MB",
         fmt_s(stored_all), f"{n_all / stored_all:,.0f}", f"{stored_all / bare_sessions:.2f}",
         f"{stored_all / bare_all:.2f}"],
        ["load_files() in-process, all 5 files", f"{n_all:,}", f"{all_mb:.0f} MB", fmt_s(res["total"]),
         f"{n_all / res['total']:,.0f}", f"{res['total'] / bare_sessions:.1f}", f"{res['total'] / bare_all:.1f}"],
    ]
    if cli:
        rows.append(["`python -m etl load` CLI end-to-end", f"{n_all:,}", f"{all_mb:.0f} MB", fmt_s(cli[0]),
                     f"{n_all / cli[0]:,.0f}", f"{cli[0] / bare_sessions:.1f}", f"{cli[0] / bare_all:.1f}"])
    main_table = table(["what", "rows", "input", "seconds", "rows/s", "× bare 伴走記録 read", "× bare read, all 5"],
                       rows)

    order = ["setup", "extract", "stage", "validate", "write", "rejected rows", "marts", "fsync"]
    st = res["stages"]
    accounted = sum(st.get(k, 0.0) for k in order)
    stage_rows = [[k, fmt_s(st.get(k, 0.0)), f"{100 * st.get(k, 0.0) / res['total']:.0f} %"] for k in order]
    stage_rows.append(["other (lock, copy, swap, report)", fmt_s(res["total"] - accounted),
                       f"{100 * (res['total'] - accounted) / res['total']:.0f} %"])
    stage_table = table(["stage", "seconds", "share"], stage_rows)

    agg: dict = defaultdict(lambda: [0.0, 0])
    for label, secs in res["statements"]:
        agg[label][0] += secs
        agg[label][1] += 1
    top = sorted(agg.items(), key=lambda kv: -kv[1][0])[:15]
    stmt_table = table(["SQL statement (loader's connection)", "calls", "seconds", "share of load"],
                       [[f"`{k}`", n, fmt_s(s), f"{100 * s / res['total']:.0f} %"] for k, (s, n) in top])

    col_part = ""
    if columns:
        col_part = ("Cost of the value macros alone, one column at a time over the whole file (all-varchar table in "
                    "memory; copy = the same column without the macro):\n\n" + table(
                        ["column: expression", "copy s", "normalise s", "× copy"],
                        [[c, fmt_s(cp), fmt_s(nm), f"{nm / cp:.0f}" if cp > 0 else "—"] for c, cp, nm in columns]))
    marks = "\n".join(f"    [{t:7.2f}s] {m}" for t, m in res["marks"])
    ratio = res["total"] / bare_sessions
    verdict = (f"Ratio load ÷ bare read of the session file (the issue's definition): **{ratio:.1f}×** in-process"
               + (f", {cli[0] / bare_sessions:.1f}× through the CLI" if cli else "")
               + f" (target ≤ {TARGET_RATIO}: "
               + ("met" if ratio <= TARGET_RATIO else f"missed by {ratio / TARGET_RATIO:.1f}×") + "). "
               f"Against a bare read of all five files ({fmt_s(bare_all)} s), the like-for-like figure: "
               f"{res['total'] / bare_all:.1f}× in-process"
               + (f", {cli[0] / bare_all:.1f}× through the CLI" if cli else "") + ". "
               f"Reading the five files and storing them untouched in a database file already takes "
               f"{stored_all / bare_sessions:.1f}× the yardstick ({fmt_s(stored_all)} s). "
               f"Rejected rows: {res['rejected']}.")
    out = "\n\n".join([
        f"Data set: `.venv/bin/python -m etl.generate --sessions {args.sessions} --seed {args.seed}` → "
        + ", ".join(f"{k} {v:,}" for k, v in res["rows"].items()) + ".",
        main_table, verdict,
        "Time per stage of `load_files()` (in-process, exclusive times from timers around the loader's methods; "
        "setup = macros, schema and reference tables, in the batch and again in the new file):", stage_table,
        "Slowest SQL statements of the load:", stmt_table,
        *([col_part] if col_part else []),
        "Progress messages (load_files(progress=…) timestamps):\n\n" + marks,
    ])
    if monthly:
        kept = monthly["before"] == monthly["after"]
        out += (f"\n\nA monthly-size batch into the loaded database (`.venv/bin/python -m etl load DIR --db FILE` on a copy, "
                f"not --fresh): the last {monthly['rows']:,} sessions and {monthly['rows']:,} consultations of the data "
                f"set, already stored, so they are replaced: **{fmt_s(monthly['seconds'])} s**, peak RSS of the load "
                f"process {monthly['peak_mb']:,.0f} MB; stored sessions / consultations {monthly['before'][0]:,} / "
                f"{monthly['before'][1]:,} before and {monthly['after'][0]:,} / {monthly['after'][1]:,} after"
                + (" (unchanged, as they must be)." if kept else " — **CHANGED: the batch duplicated or lost rows**."))
        if in_app:
            out += (f" The same batch uploaded through データ取込 (validate, then load; in the app's process, as the "
                    f"server runs it): {fmt_s(in_app['seconds'])} s; the process's RSS rose by "
                    f"{in_app['peak_mb']:,.0f} MB at peak and stayed {in_app['after_mb']:,.0f} MB above where it "
                    f"started" + ("." if in_app["loaded"] else " — **NOT LOADED**."))
        if monthly["code"] != 0:
            out += f"\n\nMonthly batch exit code {monthly['code']}:\n\n```\n{monthly['output']}\n```"
    if cli and cli[1] != 0:
        out += f"\n\nCLI exit code {cli[1]}:\n\n```\n{cli[2]}\n```"
    print(out)
    if args.write_docs:
        run_all.write_section(f"load-{args.sessions}", f"Load: {args.sessions:,} sessions", out)
    monthly_ok = monthly is None or (monthly["code"] == 0 and monthly["before"] == monthly["after"]
                                     and in_app is not None and in_app["loaded"])
    return 0 if (cli is None or cli[1] == 0) and monthly_ok else 1


if __name__ == "__main__":
    sys.exit(main())
