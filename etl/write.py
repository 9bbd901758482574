"""Write a prepared load (etl/prepare.py) atomically: lock, copy, apply, swap, marts.

A load copies the current database file (load_files starts that copy while it reads the files: etl/swap.py
CopyAhead), applies the batch to the copy in one connection, updates the marts (only
the rows of the keys it touched when the marts are current, else all of them: etl/marts.py), and os.replace()s the copy
over the original. Readers attach the file read-only, so they see either the old or the new
database, never a half-written one; a failed or killed load leaves only stray temp files (removed by the next load).
One writer at a time, by an advisory lock next to the database. Rebuilding the marts alone (rebuild_marts), undo and withdrawals
(etl/versions.py, etl/withdraw.py) write through the same lock and _new_version.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Callable

import duckdb

from . import freshness, peek, versions
from .scope import recheck_in_target
from .swap import (LOAD_STAGES, LOCK_WAIT_SECONDS, TEMP_INFIX, CopyAhead, LoadBusy, _fsync, _fsync_dir,  # noqa: F401
                   _new_version, _remove_stale_temp_files, _stage_hook, writer_lock)
from .kinds import KINDS, LOAD_ORDER
from .macros import install_macros
from .marts import APPEND_KINDS, BATCH_DATES, BATCH_KEYS, build_marts, can_update, marts_fingerprint, update_marts
from .paths import db_path as default_db_path
from .as_of import ACTIVITY_MAX, set_data_as_of  # noqa: F401  (etl.load re-exports it)
from .prepare import SCHEMA_SQL, Batch, BatchReport, Progress, is_sample_db, refuse_replacing
from .reference import copy_reference

class WriteFailed(Exception):
    """The new database version could not be written (disk full, read-only folder, …); the database is unchanged.
    The message is Japanese and names the database."""


def _write_failed(db: Path, e: BaseException) -> WriteFailed:
    text = str(e).splitlines()[0] if str(e) else type(e).__name__
    low = text.lower()
    if isinstance(e, (MemoryError, duckdb.OutOfMemoryException)) or "out of memory" in low:
        why = "メモリが足りません。ファイルを分けて取り込んでください"
    elif isinstance(e, OSError) and e.errno in (28, 27) or "no space" in low or "file too large" in low:
        why = "ディスクの空きが足りないか、ファイルの大きさの上限に達しました"
    elif isinstance(e, PermissionError) or (isinstance(e, OSError) and e.errno == 30) \
            or "read-only" in low or "permission denied" in low:
        why = "フォルダに書き込む権限がないか、読み取り専用です"
    else:
        why = "書き込み中にエラーが起きました"
    return WriteFailed(f"データベース {db} に書き込めませんでした（{why}）。データベースは変更していません。"
                       f"（詳細: {text[:200]}）")


# ── writing a prepared batch ─────────────────────────────────────────────────────

def write_batch(batch: Batch, accept_valid: bool = False, fresh: bool = False, is_sample: bool = False,
                who: str | None = None, marts_dir: Path | None = None, ahead: CopyAhead | None = None) -> BatchReport:
    """Apply a prepared batch to its database atomically; without accept_valid any error writes nothing. The replaced
    file is kept as a version and the load logged (etl.versions), ``who`` (default: the OS user) with it; the marts
    are built from ``marts_dir`` (default etl/sql/marts); ``ahead``: a copy of the database started before the batch
    was prepared, taken when still good (etl/swap.py). Progress goes to the batch's callback (copy, write, marts)."""
    report = batch.report
    if report.unreadable or (report.errors and not accept_valid):
        return report
    try:
        with writer_lock(batch.db):
            _stage_hook("locked")
            if batch.scope is not None:      # again under the lock: the database may have become the sample since
                refuse_replacing(batch.db, fresh or is_sample)
            start_empty = fresh or is_sample or not batch.db.exists() or is_sample_db(batch.db)
            if not start_empty:
                batch.progress(Progress("copy", "データベースを複製中"))
            elif batch.db.exists() and not fresh and not is_sample:
                report.notes.append("サンプルデータを外し、取り込んだ記録だけのデータベースにしました")
            entry = versions.new_entry("sample" if is_sample else "load", who,
                                       files=[f.file_name for f in report.files], fresh=bool(fresh))
            with _new_version(batch.db, copy=not start_empty, entry=entry, ahead=ahead) as tmp:
                entry["id"] = _apply(batch, tmp, is_sample, marts_dir)
                entry["tables"] = versions.load_tables(tmp, entry["id"])
                entry["marts"] = report.marts        # incremental | partial | full (benchmarks/bench_load.py reads it)
            _stage_hook("replaced")
    except (OSError, MemoryError, duckdb.IOException, duckdb.PermissionException, duckdb.FatalException,
            duckdb.OutOfMemoryException) as e:
        # _new_version removed its temp copy: the database file is the one before this load
        raise _write_failed(batch.db, e) from e
    except duckdb.TransactionException as e:
        # a commit that cannot write its WAL (a full disk) is one; any other is a bug and stays one
        if "could not write" not in str(e).lower() and "failed to commit" not in str(e).lower():
            raise
        raise _write_failed(batch.db, e) from e
    report.loaded = True
    return report


def _apply(batch: Batch, tmp: Path, is_sample: bool, marts_dir: Path | None) -> int:
    con = batch.con
    con.execute("ATTACH ? AS target", [str(tmp)])
    try:
        con.execute("USE target")
        con.execute(SCHEMA_SQL)
        copy_reference(con, "memory", "target")      # the batch read data/reference already (etl/prepare.py)
        # marts built by this version over the same reference data: update only what the batch touches
        incremental = marts_dir is None and can_update(con)
        con.execute("USE memory")
        if incremental:
            _start_touched(con)
        new_records_only = incremental        # every touched key new, of the kinds the marts can add (update_marts)
        # ids go on across undos (an undone file's sequence is behind the history's): the larger of both
        load_id = max(con.execute("SELECT nextval('target.main.load_id_seq')").fetchall()[0][0],
                      versions.next_id(batch.db))
        now = dt.datetime.now().replace(microsecond=0)
        _write_sources(batch, con)
        if batch.scope is not None:
            recheck_in_target(con, batch.kinds, batch.scope)
        for name in batch.kinds:
            batch.progress(Progress("write", f"書込中: {KINDS[name].label}"))
            kind = KINDS[name]
            cols = batch.stored_columns(name)
            key_match = " AND ".join(f't."{k}" = s."{k}"' for k in kind.key)
            # the rows that load: all staged rows unless some are rejected or skipped (then a filtered copy)
            rejected, skipped, withdrawn = con.execute(
                "SELECT (SELECT count(*) FROM rejected WHERE kind = $k), (SELECT count(*) FROM skipped WHERE kind = $k),"
                " (SELECT count(*) FROM withdrawn WHERE kind = $k)",
                {"k": name}).fetchall()[0]
            left_out = rejected + skipped + withdrawn
            if incremental:
                _record_touched(con, name, cols, key_match)
                new_records_only = new_records_only and _touched_only_new_records(con, name)
            source = f"stg_{name}"
            if left_out:
                source = f"load_{name}"
                con.execute(f"""CREATE OR REPLACE TEMP TABLE load_{name} AS SELECT s.* FROM stg_{name} s
                    WHERE (s._src, s._row) NOT IN (SELECT (_src, _row) FROM rejected WHERE kind = '{name}')
                      AND (s._src, s._row) NOT IN (SELECT (_src, _row) FROM skipped WHERE kind = '{name}')
                      AND (s._src, s._row) NOT IN (SELECT (_src, _row) FROM withdrawn WHERE kind = '{name}')""")
            # rows whose key is already stored are replaced; an empty table (a fresh database) has none
            if con.execute(f"SELECT EXISTS (SELECT 1 FROM target.main.{name})").fetchall()[0][0]:
                # (each DELETE scans the stored table: skipped when it would delete nothing, as for a batch of new rows)
                if _count_changes(batch, con, name, source, cols, key_match):
                    con.execute(f"DELETE FROM target.main.{name} t WHERE EXISTS (SELECT 1 FROM {source} s WHERE {key_match})")
                if withdrawn:
                    # rows marked 削除 (not rejected): their stored record goes and nothing takes its place
                    con.execute(f"""DELETE FROM target.main.{name} t WHERE EXISTS (SELECT 1 FROM stg_{name} s
                        JOIN withdrawn w ON w.kind = '{name}' AND w._src = s._src AND w._row = s._row
                        WHERE {key_match} AND (s._src, s._row) NOT IN (SELECT (_src, _row) FROM rejected WHERE kind = '{name}'))""")
            col_list = ", ".join(f'"{c}"' for c in cols)
            con.execute(f"""INSERT INTO target.main.{name} ({col_list}, source_file, source_sheet, source_row)
                SELECT {", ".join(f's."{c}"' for c in cols)}, src.file_name, src.sheet, s._row
                FROM {source} s JOIN batch_sources src ON src._src = s._src""")
            freshness.record_load_groups(con, load_id, name, source)
        con.execute("""INSERT INTO target.main.rejected_rows
                (load_id, file_name, sheet, row_no, kind, column_name, value, reason, record, prefecture)
            SELECT ?, src.file_name, src.sheet, p._row, p.kind, p.column_name, p.value, p.reason, NULL, rp.prefecture
            FROM problems p JOIN batch_sources src ON src._src = p._src
            LEFT JOIN rejected_places rp ON rp.kind = p.kind AND rp._src = p._src AND rp._row = p._row
            WHERE p.severity = 'error'""", [load_id])
        _store_rejected_records(batch, con, load_id)
        _free_batch_tables(batch, con)
        for t in batch.report.tables:
            t.rows_new = t.rows_valid - t.rows_updated - t.rows_unchanged
            con.execute("""INSERT INTO target.main.load_history (load_id, loaded_at, file_name, sha256, kind, sheet,
                               rows_read, rows_loaded, rows_rejected, rows_new, rows_updated, rows_unchanged)
                           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                        [load_id, now, t.file_name, t.sha256, t.kind, t.sheet, t.rows_read,
                         t.rows_valid, t.rows_rejected, t.rows_new, t.rows_updated, t.rows_unchanged])
        con.execute("USE target")
        con.execute("INSERT OR REPLACE INTO meta VALUES ('is_sample', ?), ('built_at', ?)",
                    ["true" if is_sample else "false", now.isoformat()])
        # データ基準日: stated by the steward, else the latest activity that took place (up to the day of the
        # load); engagement start dates and planned records never move it (glossary: as_of_date)
        if batch.as_of_stated is not None:
            as_of, source = batch.as_of_stated, "stated"
        else:
            as_of = con.execute(ACTIVITY_MAX.format(db=""), {"today": batch.today}).fetchall()[0][0]
            source = "activity"
        batch.report.as_of, batch.report.as_of_source = as_of, source
        con.execute("INSERT OR REPLACE INTO meta VALUES ('data_as_of', ?), ('data_as_of_source', ?)",
                    [as_of.isoformat() if as_of else None, source])
        _stage_hook("written")
        batch.progress(Progress("marts", "集計表を作成中"))
        if incremental:
            batch.report.marts = update_marts(con, new_records_only)[1]
        else:
            build_marts(con) if marts_dir is None else build_marts(con, marts_dir)
            batch.report.marts = "full"
        con.execute("USE memory")
        con.execute("CHECKPOINT target")
    finally:
        con.execute("USE memory")
        con.execute("DETACH target")
    return load_id


def _start_touched(con) -> None:
    """Empty temp tables for what the batch touches (etl/marts.py update_marts): keys per kind, dates."""
    for name in LOAD_ORDER:
        keys = ", ".join(f'"{k}"' for k in KINDS[name].key)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {BATCH_KEYS.format(kind=name)} AS "
                    f"SELECT {keys} FROM target.main.{name} WHERE false")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {BATCH_DATES} (date DATE)")


def _record_touched(con, name: str, cols: list[str], key_match: str) -> None:
    """Before the batch's rows of ``name`` replace the stored ones: the keys of the staged rows that are new, differ
    from the stored row or withdraw it (a re-sent identical row changes no mart), and the dates of those records
    before and after. Rejected rows may be among them: a few keys too many only rebuild rows that stay the same."""
    keys_table = BATCH_KEYS.format(kind=name)
    same = " AND ".join(f's."{c}" IS NOT DISTINCT FROM t."{c}"' for c in cols)
    con.execute(f"""INSERT INTO {keys_table} SELECT DISTINCT {", ".join(f's."{k}"' for k in KINDS[name].key)}
        FROM stg_{name} s
        WHERE (s._src, s._row) IN (SELECT (_src, _row) FROM withdrawn WHERE kind = '{name}')
           OR NOT EXISTS (SELECT 1 FROM target.main.{name} t WHERE {key_match} AND {same})""")
    if "date" in cols:
        on = " AND ".join(f'k."{k}" = x."{k}"' for k in KINDS[name].key)
        con.execute(f"""INSERT INTO {BATCH_DATES}
            SELECT x.date FROM target.main.{name} x SEMI JOIN {keys_table} k ON {on}
            UNION SELECT x.date FROM stg_{name} x SEMI JOIN {keys_table} k ON {on}""")


def _touched_only_new_records(con, name: str) -> bool:
    """Whether the keys ``_record_touched`` recorded for ``name`` are all new records of a kind the additive marts
    take (etl/marts.py APPEND_KINDS); asked before the rows are written, so a stored key is still there to see."""
    keys_table = BATCH_KEYS.format(kind=name)
    if name not in APPEND_KINDS:
        return not con.execute(f"SELECT EXISTS (SELECT 1 FROM {keys_table})").fetchall()[0][0]
    on = " AND ".join(f'k."{k}" = t."{k}"' for k in KINDS[name].key)
    return not con.execute(f"SELECT EXISTS (SELECT 1 FROM {keys_table} k SEMI JOIN target.main.{name} t ON {on})"
                           ).fetchall()[0][0]


def _count_changes(batch: Batch, con, name: str, source: str, cols: list[str], key_match: str) -> int:
    """Of the rows about to be written, per source table: how many replace a stored row with other content
    (updated) and how many match one exactly (unchanged); the rest are new. The record columns are compared,
    not where a row came from (source_*). Returns how many rows of ``source`` share a key with a stored row."""
    same = " AND ".join(f's."{c}" IS NOT DISTINCT FROM t."{c}"' for c in cols)
    matched = 0
    for src, updated, unchanged in con.execute(f"""
            SELECT s._src, count(*) FILTER (WHERE NOT ({same})), count(*) FILTER (WHERE {same})
            FROM {source} s JOIN target.main.{name} t ON {key_match} GROUP BY s._src""").fetchall():
        table = batch.report.tables[src]
        table.rows_updated, table.rows_unchanged = updated, unchanged
        matched += updated + unchanged
    return matched


def _free_batch_tables(batch: Batch, con) -> None:
    """The staged and raw text is written now: drop it before the marts are built, so they reuse that memory
    and the load's peak memory is lower (docs/performance.md)."""
    temp = {name: kind for name, kind in con.execute(
        "SELECT table_name, 'TABLE' FROM duckdb_tables() WHERE temporary "
        "UNION ALL SELECT view_name, 'VIEW' FROM duckdb_views() WHERE temporary").fetchall()}
    names = [f"{prefix}_{name}" for name in LOAD_ORDER for prefix in ("load", "stg", "raw")]
    for name in names + [t.table for t in batch.raw_tables]:
        if name in temp:
            con.execute(f"DROP {temp[name]} {name}")


def _write_sources(batch: Batch, con) -> None:
    con.execute("CREATE OR REPLACE TEMP TABLE batch_sources (_src INTEGER, file_name VARCHAR, sheet VARCHAR)")
    con.executemany("INSERT INTO batch_sources VALUES (?, ?, ?)",
                    [(i, t.file_name, t.sheet) for i, t in enumerate(batch.raw_tables)])


def _store_rejected_records(batch: Batch, con, load_id: int) -> None:
    """The whole original row of each rejected row, as JSON, so it can be exported and fixed."""
    for name in batch.kinds:
        con.execute(f"""UPDATE target.main.rejected_rows rr SET record = to_json(r)
            FROM (SELECT r.* EXCLUDE (_src), src.file_name AS _file, src.sheet AS _sheet
                  FROM raw_{name} r JOIN batch_sources src ON src._src = r._src) r
            WHERE rr.load_id = ? AND rr.kind = '{name}' AND rr.file_name = r._file
              AND rr.sheet IS NOT DISTINCT FROM r._sheet AND rr.row_no = r._row""", [load_id])


# ── versions, the lock, the test hook ─────────────────────────────────────────────

# ── the marts alone ────────────────────────────────────────────────────────────

def marts_outdated(db: Path | None = None) -> bool:
    """True when the database's marts were built from other mart definitions than this version's (or by a version
    that did not record them)."""
    with peek.read_only(Path(db) if db else default_db_path()) as con:
        rows = con.execute("SELECT value FROM meta WHERE key = 'marts_version'").fetchall()
    return not rows or rows[0][0] != marts_fingerprint()


def rebuild_marts(db: Path | None = None, progress: Callable[[str], None] | None = None,
                  who: str | None = None) -> list[str]:
    """Rebuild the marts of an existing database from the records it holds (after an update changed
    etl/sql/marts), atomically like a load: a copy is rebuilt and replaces the file; the records are not touched."""
    db = Path(db) if db else default_db_path()
    if not db.exists():
        raise FileNotFoundError(f"データベースがありません: {db}")
    progress = progress or (lambda msg: None)
    with writer_lock(db), _new_version(db, copy=True, entry=versions.new_entry("rebuild", who)) as tmp:
        con = duckdb.connect(str(tmp))
        try:
            install_macros(con)
            con.execute(SCHEMA_SQL)         # tables a newer version added (CREATE … IF NOT EXISTS)
            _upgrade_as_of(con)
            progress(Progress("marts", "集計表を作成中"))
            built = build_marts(con)
            con.execute("CHECKPOINT")
        finally:
            con.close()
    return built


def _upgrade_as_of(con) -> None:
    """A database written before the as-of rule (no meta data_as_of_source) may hold an as-of date moved by
    engagement start dates: compute it as a load would (latest activity up to today), once, before the marts."""
    if con.execute("SELECT 1 FROM meta WHERE key = 'data_as_of_source'").fetchall():
        return
    as_of = con.execute(ACTIVITY_MAX.format(db=""), {"today": dt.date.today()}).fetchall()[0][0]
    con.execute("INSERT OR REPLACE INTO meta VALUES ('data_as_of', ?), ('data_as_of_source', 'activity')",
                [as_of.isoformat() if as_of else None])
