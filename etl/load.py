"""Load: validated batches into the database, atomically.

A load copies the current database file, applies the batch to the copy in one connection, rebuilds
the marts, and os.replace()s the copy over the original. Readers attach the file read-only, so they
see either the old or the new database, never a half-written one; a failed or killed load leaves
only a stray temp file. One writer at a time, by an advisory lock next to the database.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import duckdb

from .dbfile import database_problem
from . import freshness, versions, withdraw
from .extract import Extractor, FileResult, RawTable, iter_input_files
from .kinds import KINDS, LOAD_ORDER
from .macros import install_macros
from .marts import build_marts, marts_fingerprint
from .paths import SAMPLE_DIR, SQL_DIR, db_path as default_db_path
from .reference import load_reference
from .validate import batch_checks, validate

SCHEMA_SQL = (SQL_DIR / "schema.sql").read_text(encoding="utf-8")
STAGING_DIR = SQL_DIR / "staging"
# the staging scripts, run in this order over the raw_<kind> tables (each reads what the ones before it made), then
# stg_<kind>.sql for each kind in LOAD_ORDER (each one SELECT, materialised as the temp table stg_<kind>)
STAGING_SCRIPTS = (
    "lookups.sql",        # views over the reference tables: prefecture aliases, unique municipality names, keywords
    "place_input.sql",    # place_raw: the batch's distinct place texts, cleaned once → view place_input
    "place.sql",          # place_input → place_resolved (codes and current names)
    "place_by_raw.sql",   # place_by_raw: raw text → resolved place, for the staging models to join on
    "theme_input.sql",    # session_theme_texts, consultation_theme_texts: distinct theme texts → view theme_input
    "themes.sql",         # theme_input → theme_resolved (the taxonomy)
)
LOCK_WAIT_SECONDS = float(os.environ.get("DX_LOCK_WAIT", "30"))
WARNING_ROWS_SHOWN = 5


class LoadBusy(Exception):
    """Another load holds the database."""


class DatabaseUnreadable(Exception):
    """The existing database file cannot be opened; the message is Japanese and names it."""


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


@dataclass
class Problem:
    file_name: str
    sheet: str | None
    row: int
    kind: str
    column: str
    value: str | None
    reason: str
    severity: str              # error | warning | duplicate | note (a value mapped, e.g. a theme by keyword)
    count: int | None = None   # a problem that stands for several rows (one per distinct value and file): how many
    rows_shown: str = ""       # … and the first of them (2、5、7…); `row` is the first

    def where(self) -> str:
        sheet = f" [{self.sheet}]" if self.sheet else ""
        return f"{self.file_name}{sheet} {self.row}行目 「{self.column}」"


@dataclass
class TableSummary:
    file_name: str
    sheet: str | None
    kind: str
    sha256: str
    rows_read: int
    rows_valid: int = 0
    rows_rejected: int = 0
    rows_duplicate: int = 0
    # set by a load: of the rows written, how many had a new key, replaced a stored row with other content, or
    # matched a stored row exactly
    rows_new: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    rows_withdrawn: int = 0    # marked 削除: the stored record with that key is removed, nothing loaded


@dataclass
class BatchReport:
    files: list[FileResult] = field(default_factory=list)
    tables: list[TableSummary] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    loaded: bool = False
    notes: list[str] = field(default_factory=list)
    as_of: dt.date | None = None     # the データ基準日 the load stores (or, before a load, would store)
    as_of_source: str = "activity"   # stated (by the steward) | activity (latest activity up to the day of the load)

    @property
    def unreadable(self) -> list[str]:
        return [f.error for f in self.files if f.error]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[str]:
        """File warnings, then row warnings aggregated by (file, sheet, column, reason, value):
        one line per group with the number of rows and the first few row numbers."""
        out = [w for f in self.files for w in f.warnings]
        groups: dict[tuple, list[int]] = {}
        for p in self.problems:
            if p.severity in ("warning", "duplicate") and p.count is not None:
                out.append(_grouped_line(p))
            elif p.severity in ("warning", "duplicate"):
                groups.setdefault((p.file_name, p.sheet, p.column, p.reason, p.value), []).append(p.row)
        for (file_name, sheet, column, reason, value), rows in groups.items():
            rows = sorted(set(rows))
            shown = "、".join(str(r) for r in rows[:WARNING_ROWS_SHOWN]) + ("…" if len(rows) > WARNING_ROWS_SHOWN else "")
            where = file_name + (f" [{sheet}]" if sheet else "")
            value_text = f"（値: {value}）" if value else ""
            out.append(f"{where} 「{column}」: {reason}{value_text} — {len(rows):,} 行（{shown}行目）")
        return out

    @property
    def file_notes(self) -> list[str]:
        """Rows left out on purpose while reading (the template's example rows)."""
        return [n for f in self.files for n in f.notes]

    @property
    def mapping_notes(self) -> list[str]:
        """Values the loader mapped (a theme text onto the taxonomy by keyword): one line per text and file."""
        return [_grouped_line(p) for p in self.problems if p.severity == "note"]

    def changes_by_kind(self) -> dict[str, tuple[int, int, int]]:
        """(new, updated, unchanged) rows per kind written by the load, in load order."""
        out = {k: (0, 0, 0) for k in LOAD_ORDER if any(t.kind == k for t in self.tables)}
        for t in self.tables:
            n, u, c = out[t.kind]
            out[t.kind] = (n + t.rows_new, u + t.rows_updated, c + t.rows_unchanged)
        return out

    def rows_by_kind(self) -> dict[str, int]:
        """Valid rows per kind, in load order (engagements first)."""
        out = {k: 0 for k in LOAD_ORDER if any(t.kind == k for t in self.tables)}
        for t in self.tables:
            out[t.kind] += t.rows_valid
        return out

    @property
    def exit_code(self) -> int:
        if self.unreadable:
            return 2
        return 1 if self.errors and not self.loaded else 0


def _grouped_line(p: Problem) -> str:
    where = p.file_name + (f" [{p.sheet}]" if p.sheet else "")
    value_text = f"（値: {p.value}）" if p.value and p.severity != "note" else ""
    if p.severity == "note":
        return f"{where} 「{p.column}」: {p.value} — {p.count or 1:,} 行（{p.rows_shown or p.row}行目）"
    return f"{where} 「{p.column}」: {p.reason}{value_text} — {p.count or 1:,} 行（{p.rows_shown or p.row}行目）"


def change_text(new: int, updated: int, unchanged: int) -> str:
    """「新規 2 行、更新 1 行、変更なし 7 行」 (the parts that are not zero; 「0 行」 when no row came)."""
    parts = [f"{label} {n:,} 行" for label, n in (("新規", new), ("更新", updated), ("変更なし", unchanged)) if n]
    return "、".join(parts) or "0 行"


# ── preparing a batch (extract → stage → validate), no writes ─────────────────────

class Batch:
    """Files read, staged and validated in an in-memory DuckDB; nothing written anywhere."""

    def __init__(self, paths: Iterable[Path], db: Path | None = None, names: dict[Path, str] | None = None,
                 progress: Callable[[str], None] | None = None, fresh: bool = False,
                 marts_dir: Path | None = None, as_of: dt.date | None = None):
        self.db = Path(db) if db else default_db_path()
        # the day of the load: activity dated after it has not taken place and never moves the as-of date
        self.today = dt.date.today()
        self.as_of_stated = as_of
        # records already in the database count (sessions may name their engagements) only when the load
        # keeps them: not with --fresh, and not when the database holds the sample (a load replaces it)
        self.keeps_existing = not fresh and self.db.exists() and not _is_sample_db(self.db)
        self.marts_dir = marts_dir
        self.con = duckdb.connect()
        self.progress = progress or (lambda msg: None)
        self.report = BatchReport()
        self.raw_tables: list[RawTable] = []
        install_macros(self.con)
        self.con.execute(SCHEMA_SQL)
        load_reference(self.con)
        self._known_records()
        extractor = Extractor(self.con)
        try:
            for path in iter_input_files(list(paths)):
                self.progress(f"読込中: {(names or {}).get(path, path.name)}")
                result = extractor.read(path, (names or {}).get(path))
                self.report.files.append(result)
                self.raw_tables.extend(result.tables)
            self.kinds = [k for k in LOAD_ORDER if any(t.kind.name == k for t in self.raw_tables)]
            self.progress("検証中")
            self._stage()
            self._validate()
        finally:
            extractor.cleanup()

    def _known_records(self) -> None:
        """What the stored records contribute to the checks: engagement IDs (sessions may name them), the consortia
        already named, the latest activity up to the day of the load (the as-of date)."""
        if self.keeps_existing:
            problem = database_problem(self.db)
            if problem:
                raise DatabaseUnreadable(f"データベース {self.db} を開けません: {problem}。"
                                         "バックアップから戻すか、python -m etl load --fresh で作り直してください")
            try:
                self.con.execute("ATTACH ? AS current_db (READ_ONLY)", [str(self.db)])
                self.con.execute("CREATE TEMP TABLE known_engagements AS SELECT engagement_id FROM current_db.engagements")
                self.con.execute("""CREATE TEMP TABLE known_consortia AS
                    SELECT consortium FROM current_db.engagements UNION SELECT consortium FROM current_db.events
                    UNION SELECT consortium FROM current_db.targets""")
                self.con.execute(f"CREATE TEMP TABLE known_activity AS {ACTIVITY_MAX.format(db='current_db.')}",
                                 {"today": self.today})
                self.con.execute("DETACH current_db")
            except duckdb.Error as e:
                raise DatabaseUnreadable(
                    f"データベース {self.db} を開けません（DuckDB のファイルではないか、壊れています）: "
                    f"{str(e).splitlines()[0]}") from e
        else:
            self.con.execute("CREATE TEMP TABLE known_engagements (engagement_id VARCHAR)")
            self.con.execute("CREATE TEMP TABLE known_consortia (consortium VARCHAR)")
            self.con.execute("CREATE TEMP TABLE known_activity (d DATE)")

    def _stage(self) -> None:
        con = self.con
        for name in LOAD_ORDER:
            kind = KINDS[name]
            parts = []
            for src, t in enumerate(self.raw_tables):
                if t.kind.name != name:
                    continue
                cols = ", ".join(f'"{c.name}"' if c.name in t.columns else f'NULL::VARCHAR AS "{c.name}"'
                                 for c in kind.columns)
                parts.append(t.select(f"{src}::INTEGER AS _src, _row, {cols}"))
            if not parts:
                cols = ", ".join(f'NULL::VARCHAR AS "{c.name}"' for c in kind.columns)
                parts = [f"SELECT NULL::INTEGER AS _src, NULL::INTEGER AS _row, {cols} WHERE false"]
            if len(parts) == 1:
                # one table (the usual case): a view, so the file's text is not copied once more
                con.execute(f"CREATE OR REPLACE TEMP VIEW raw_{name} AS {parts[0]}")
            else:
                con.execute(f"CREATE OR REPLACE TEMP TABLE raw_{name} AS " + " UNION ALL ".join(parts))
        for script in STAGING_SCRIPTS:
            con.execute((STAGING_DIR / script).read_text(encoding="utf-8"))
        for name in LOAD_ORDER:
            sql = (STAGING_DIR / f"stg_{name}.sql").read_text(encoding="utf-8")
            con.execute(f"CREATE OR REPLACE TEMP TABLE stg_{name} AS {sql}")

    def stored_columns(self, kind: str) -> list[str]:
        """Columns of the stored table that staging provides (source_* are added at load)."""
        cols = [r[0] for r in self.con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ? AND schema_name = 'main' "
            "AND database_name = current_database() ORDER BY column_index", [kind]).fetchall()]
        return [c for c in cols if not c.startswith("source_")]

    def _validate(self) -> None:
        sources = {i: t.file_name + (f" [{t.sheet}]" if t.sheet else "") for i, t in enumerate(self.raw_tables)}
        validate(self.con, self.kinds, {k: self.stored_columns(k) for k in self.kinds}, sources)
        self._cell_problems()
        self.report.notes.extend(withdraw.mark_rows(self.con, self.kinds, self.db, self.keeps_existing))
        # rows that load: no error; of identical duplicates, the first copy
        self.con.execute("""CREATE OR REPLACE TEMP TABLE rejected AS
            SELECT DISTINCT kind, _src, _row FROM problems WHERE severity = 'error'""")
        self.con.execute("""CREATE OR REPLACE TEMP TABLE skipped AS
            SELECT DISTINCT kind, _src, _row FROM problems WHERE severity = 'duplicate'""")
        self._as_of()
        batch_checks(self.con, self.kinds, self.report.as_of, self.as_of_stated is not None)
        for src, t in enumerate(self.raw_tables):
            counts = self.con.execute(f"""
                SELECT (SELECT count(*) FROM rejected WHERE kind = $k AND _src = $s),
                       (SELECT count(*) FROM skipped WHERE kind = $k AND _src = $s
                          AND (_src, _row) NOT IN (SELECT (_src, _row) FROM rejected WHERE kind = $k)),
                       (SELECT count(*) FROM withdrawn WHERE kind = $k AND _src = $s
                          AND (_src, _row) NOT IN (SELECT (_src, _row) FROM rejected WHERE kind = $k))""",
                {"k": t.kind.name, "s": src}).fetchall()[0]
            self.report.tables.append(TableSummary(
                t.file_name, t.sheet, t.kind.name, t.sha256, t.rows,
                rows_valid=t.rows - counts[0] - counts[1] - counts[2], rows_rejected=counts[0],
                rows_duplicate=counts[1], rows_withdrawn=counts[2]))
        for kind, src, row, column, value, reason, severity, n, shown in self.con.execute(
                "SELECT kind, _src, _row, column_name, value, reason, severity, NULL, '' FROM problems "
                "UNION ALL SELECT * FROM grouped_problems "
                "ORDER BY _src, _row, severity, column_name").fetchall():
            t = self.raw_tables[src]
            self.report.problems.append(Problem(t.file_name, t.sheet, row, kind, column, value, reason, severity,
                                                n, shown or ""))

    def _as_of(self) -> None:
        """The as-of date this batch would give the database: the stated one, else the latest session,
        consultation or event dated up to the day of the load, among the stored records and this batch's valid
        rows (the load recomputes it exactly over the records it keeps)."""
        if self.as_of_stated is not None:
            self.report.as_of, self.report.as_of_source = self.as_of_stated, "stated"
            return
        parts = ["SELECT d FROM known_activity"] + [
            f"SELECT max(date) FROM stg_{k} s WHERE date <= $today AND (s._src, s._row) NOT IN "
            f"(SELECT (_src, _row) FROM rejected WHERE kind = '{k}')"
            for k in ("sessions", "consultations", "events") if k in self.kinds]
        self.report.as_of = self.con.execute(f"SELECT max(d) FROM ({' UNION ALL '.join(parts)}) t(d)",
                                             {"today": self.today} if len(parts) > 1 else {}).fetchall()[0][0]
        self.report.as_of_source = "activity"

    def _cell_problems(self) -> None:
        """Problems found while reading cells (a formula without a stored result): they replace whatever the
        generic checks said about the same cell (「必須項目が空です」 would mislead: the cell is not empty)."""
        rows = [(t.kind.name, src, row, t.kind.column(col).label, value, reason)
                for src, t in enumerate(self.raw_tables) for row, col, value, reason in t.cell_problems]
        if not rows:
            return
        self.con.execute("CREATE OR REPLACE TEMP TABLE cell_problems (kind VARCHAR, _src INTEGER, _row INTEGER, "
                         "column_name VARCHAR, value VARCHAR, reason VARCHAR)")
        self.con.executemany("INSERT INTO cell_problems VALUES (?, ?, ?, ?, ?, ?)", rows)
        self.con.execute("""DELETE FROM problems p USING cell_problems c
                            WHERE p.kind = c.kind AND p._src = c._src AND p._row = c._row
                              AND p.column_name = c.column_name""")
        for name in {r[0] for r in rows}:
            # only rows that exist in the raw table (a row of nothing but such formulas counts as blank)
            self.con.execute(f"""INSERT INTO problems SELECT c.kind, c._src, c._row, c.column_name, c.value,
                                 c.reason, 'error' FROM cell_problems c JOIN raw_{name} r USING (_src, _row)
                                 WHERE c.kind = ?""", [name])

    # ── writing ────────────────────────────────────────────────────────────────
    def write(self, accept_valid: bool = False, fresh: bool = False, is_sample: bool = False,
              who: str | None = None) -> BatchReport:
        """Apply the batch to the database atomically; without accept_valid any error writes nothing. The replaced
        file is kept as a version and the load logged (etl.versions), ``who`` (default: the OS user) with it."""
        report = self.report
        if report.unreadable or (report.errors and not accept_valid):
            return report
        try:
            with writer_lock(self.db):
                _stage_hook("locked")
                start_empty = fresh or is_sample or not self.db.exists() or _is_sample_db(self.db)
                if not start_empty:
                    self.progress("データベースを複製中")
                elif self.db.exists() and not fresh and not is_sample:
                    report.notes.append("サンプルデータを外し、取り込んだ記録だけのデータベースにしました")
                entry = versions.new_entry("sample" if is_sample else "load", who,
                                           files=[f.file_name for f in report.files], fresh=bool(fresh))
                with _new_version(self.db, copy=not start_empty, entry=entry) as tmp:
                    entry["id"] = self._apply(tmp, is_sample)
                    entry["tables"] = versions.load_tables(tmp, entry["id"])
                _stage_hook("replaced")
        except (OSError, MemoryError, duckdb.IOException, duckdb.PermissionException, duckdb.FatalException,
                duckdb.OutOfMemoryException) as e:
            # _new_version removed its temp copy: the database file is the one before this load
            raise _write_failed(self.db, e) from e
        report.loaded = True
        return report

    def _apply(self, tmp: Path, is_sample: bool) -> int:
        con = self.con
        con.execute("ATTACH ? AS target", [str(tmp)])
        try:
            con.execute("USE target")
            con.execute(SCHEMA_SQL)
            load_reference(con)
            con.execute("USE memory")
            # ids go on across undos (an undone file's sequence is behind the history's): the larger of both
            load_id = max(con.execute("SELECT nextval('target.main.load_id_seq')").fetchall()[0][0],
                          versions.next_id(self.db))
            now = dt.datetime.now().replace(microsecond=0)
            self._write_sources(con)
            for name in self.kinds:
                self.progress(f"書込中: {KINDS[name].label}")
                kind = KINDS[name]
                cols = self.stored_columns(name)
                key_match = " AND ".join(f't."{k}" = s."{k}"' for k in kind.key)
                # the rows that load: all staged rows unless some are rejected or skipped (then a filtered copy)
                left_out = con.execute(
                    "SELECT (SELECT count(*) FROM rejected WHERE kind = $k) + (SELECT count(*) FROM skipped WHERE kind = $k)"
                    " + (SELECT count(*) FROM withdrawn WHERE kind = $k)",
                    {"k": name}).fetchall()[0][0]
                source = f"stg_{name}"
                if left_out:
                    source = f"load_{name}"
                    con.execute(f"""CREATE OR REPLACE TEMP TABLE load_{name} AS SELECT s.* FROM stg_{name} s
                        WHERE (s._src, s._row) NOT IN (SELECT (_src, _row) FROM rejected WHERE kind = '{name}')
                          AND (s._src, s._row) NOT IN (SELECT (_src, _row) FROM skipped WHERE kind = '{name}')
                          AND (s._src, s._row) NOT IN (SELECT (_src, _row) FROM withdrawn WHERE kind = '{name}')""")
                # rows whose key is already stored are replaced; an empty table (a fresh database) has none
                if con.execute(f"SELECT EXISTS (SELECT 1 FROM target.main.{name})").fetchall()[0][0]:
                    self._count_changes(con, name, source, cols, key_match)
                    con.execute(f"DELETE FROM target.main.{name} t WHERE EXISTS (SELECT 1 FROM {source} s WHERE {key_match})")
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
                SELECT ?, src.file_name, src.sheet, p._row, p.kind, p.column_name, p.value, p.reason, NULL
                FROM problems p JOIN batch_sources src ON src._src = p._src WHERE p.severity = 'error'""", [load_id])
            self._store_rejected_records(con, load_id)
            self._free_batch_tables(con)
            for t in self.report.tables:
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
            if self.as_of_stated is not None:
                as_of, source = self.as_of_stated, "stated"
            else:
                as_of = con.execute(ACTIVITY_MAX.format(db=""), {"today": self.today}).fetchall()[0][0]
                source = "activity"
            self.report.as_of, self.report.as_of_source = as_of, source
            con.execute("INSERT OR REPLACE INTO meta VALUES ('data_as_of', ?), ('data_as_of_source', ?)",
                        [as_of.isoformat() if as_of else None, source])
            _stage_hook("written")
            self.progress("集計表を作成中")
            if self.marts_dir is None:
                build_marts(con)
            else:
                build_marts(con, self.marts_dir)
            con.execute("USE memory")
            con.execute("CHECKPOINT target")
        finally:
            con.execute("USE memory")
            con.execute("DETACH target")
        return load_id

    def _count_changes(self, con, name: str, source: str, cols: list[str], key_match: str) -> None:
        """Of the rows about to be written, per source table: how many replace a stored row with other content
        (updated) and how many match one exactly (unchanged); the rest are new. The record columns are compared,
        not where a row came from (source_*)."""
        same = " AND ".join(f's."{c}" IS NOT DISTINCT FROM t."{c}"' for c in cols)
        for src, updated, unchanged in con.execute(f"""
                SELECT s._src, count(*) FILTER (WHERE NOT ({same})), count(*) FILTER (WHERE {same})
                FROM {source} s JOIN target.main.{name} t ON {key_match} GROUP BY s._src""").fetchall():
            table = self.report.tables[src]
            table.rows_updated, table.rows_unchanged = updated, unchanged

    def _free_batch_tables(self, con) -> None:
        """The staged and raw text is written now: drop it before the marts are built, so they reuse that memory
        and the load's peak memory is lower (≈ 2.2 → 1.9 GB at 1,000,000 sessions)."""
        temp = {name: kind for name, kind in con.execute(
            "SELECT table_name, 'TABLE' FROM duckdb_tables() WHERE temporary "
            "UNION ALL SELECT view_name, 'VIEW' FROM duckdb_views() WHERE temporary").fetchall()}
        names = [f"{prefix}_{name}" for name in LOAD_ORDER for prefix in ("load", "stg", "raw")]
        for name in names + [t.table for t in self.raw_tables]:
            if name in temp:
                con.execute(f"DROP {temp[name]} {name}")

    def _write_sources(self, con) -> None:
        con.execute("CREATE OR REPLACE TEMP TABLE batch_sources (_src INTEGER, file_name VARCHAR, sheet VARCHAR)")
        con.executemany("INSERT INTO batch_sources VALUES (?, ?, ?)",
                        [(i, t.file_name, t.sheet) for i, t in enumerate(self.raw_tables)])

    def _store_rejected_records(self, con, load_id: int) -> None:
        """The whole original row of each rejected row, as JSON, so it can be exported and fixed."""
        for name in self.kinds:
            con.execute(f"""UPDATE target.main.rejected_rows rr SET record = to_json(r)
                FROM (SELECT r.* EXCLUDE (_src), src.file_name AS _file, src.sheet AS _sheet
                      FROM raw_{name} r JOIN batch_sources src ON src._src = r._src) r
                WHERE rr.load_id = ? AND rr.kind = '{name}' AND rr.file_name = r._file
                  AND rr.sheet IS NOT DISTINCT FROM r._sheet AND rr.row_no = r._row""", [load_id])

    def close(self) -> None:
        self.con.close()


# ── helpers ───────────────────────────────────────────────────────────────────

TEMP_INFIX = ".tmp-"
LOAD_STAGES = ("locked", "copied", "written", "before_replace", "replaced")
# the latest activity that took place: sessions, consultations and events dated on or before $today ({db}: a schema)
ACTIVITY_MAX = """SELECT max(d) AS d FROM (
    SELECT max(date) FROM {db}sessions WHERE date <= $today
    UNION ALL SELECT max(date) FROM {db}consultations WHERE date <= $today
    UNION ALL SELECT max(date) FROM {db}events WHERE date <= $today) t(d)"""


@contextmanager
def _new_version(db: Path, copy: bool, entry: dict | None = None):
    """The next version of ``db``, written as a temp file next to it: a copy of ``db`` (``copy``) or a new file. The
    body writes it; then it is fsynced and os.replace()d over ``db``, so readers see the old file or the new one,
    never a half-written one. On any failure the temp file goes and ``db`` is as it was. Call holding the writer
    lock. The replaced file is kept (a hard link) and ``entry`` (etl.versions.new_entry; the body may set its id)
    appended to the history."""
    # a symlinked database path: the new version replaces the link's target, so the link keeps pointing at it
    db = Path(os.path.realpath(db))
    # temp copies left by a load that was killed: nobody else holds the lock, so nobody uses them
    _remove_stale_temp_files(db)
    tmp = db.with_name(f"{db.name}{TEMP_INFIX}{os.getpid()}")
    tmp.unlink(missing_ok=True)
    try:
        if copy:
            shutil.copyfile(db, tmp)
        _stage_hook("copied")
        yield tmp
        entry = entry if entry is not None else versions.new_entry("write")
        if "id" not in entry:      # a load set it (its load_id); next_id opens the database, so only when needed
            entry["id"] = versions.next_id(db)
        entry["counts"] = versions.table_counts(tmp)
        _fsync(tmp)
        _stage_hook("before_replace")
        kept = versions.keep_current(db, entry["id"])
        try:
            os.replace(tmp, db)
        except BaseException:
            if kept:
                kept.unlink(missing_ok=True)
            raise
        _fsync_dir(db.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
        raise
    try:
        versions.record(db, entry, kept)
    except OSError as e:    # the new version is in place: a log that cannot be written must not undo the load
        logging.getLogger(__name__).warning("履歴を書き込めませんでした: %s", e)


def _remove_stale_temp_files(db: Path) -> list[Path]:
    """Delete `<db>.tmp-<pid>` (and its .wal) left by a killed load. Call only while holding the writer lock."""
    removed = []
    for p in db.parent.glob(f"{db.name}{TEMP_INFIX}*"):
        try:
            p.unlink()
            removed.append(p)
        except OSError:
            pass
    return removed


def _stage_hook(stage: str) -> None:
    """Test hook for crash tests (tests/test_concurrency.py): with DX_LOAD_PAUSE_AT=<stage> and
    DX_LOAD_PAUSE_FILE=<path>, a load writes <path> when it reaches <stage> (one of LOAD_STAGES) and waits
    while <path> exists (at most DX_LOAD_PAUSE_MAX seconds, default 120), so a test can kill it at a known
    point or let it go on by deleting the file. Without both variables it does nothing."""
    if os.environ.get("DX_LOAD_PAUSE_AT") != stage:
        return
    marker = os.environ.get("DX_LOAD_PAUSE_FILE")
    if not marker:
        return
    marker_path = Path(marker)
    marker_path.write_text(f"{os.getpid()} {stage}\n", encoding="utf-8")
    deadline = time.monotonic() + float(os.environ.get("DX_LOAD_PAUSE_MAX", "120"))
    while marker_path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)

def set_data_as_of(con) -> None:
    """meta.data_as_of on the connection's current database after a withdrawal: a date the steward stated stays;
    otherwise the latest activity that took place by today (data/reference/indicators.csv データ基準日)."""
    stated = con.execute("SELECT value FROM meta WHERE key = 'data_as_of_source'").fetchall()
    if stated and stated[0][0] == "stated":
        return
    as_of = con.execute(ACTIVITY_MAX.format(db=""), {"today": dt.date.today()}).fetchall()[0][0]
    con.execute("INSERT OR REPLACE INTO meta VALUES ('data_as_of', ?), ('data_as_of_source', 'activity')",
                [as_of.isoformat() if as_of else None])


def _is_sample_db(db: Path) -> bool:
    con = duckdb.connect()
    try:
        con.execute("ATTACH ? AS d (READ_ONLY)", [str(db)])
        rows = con.execute("SELECT value FROM d.meta WHERE key = 'is_sample'").fetchall()
        return bool(rows and rows[0][0] == "true")
    except duckdb.Error:
        return False
    finally:
        con.close()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:
        _fsync(path)
    except OSError:
        pass


@contextmanager
def writer_lock(db: Path, wait: float | None = None):
    """One load at a time per database; a second waits up to `wait` seconds, then gives up."""
    db.parent.mkdir(parents=True, exist_ok=True)
    wait = LOCK_WAIT_SECONDS if wait is None else wait
    lock_path = db.with_name(db.name + ".lock")
    with open(lock_path, "a+") as f:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LoadBusy(f"別の取込が実行中です（{wait:.0f}秒待ちました）。終わってからもう一度実行してください")
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def load_files(paths: Iterable[Path], db: Path | None = None, accept_valid: bool = False,
               fresh: bool = False, is_sample: bool = False, names: dict[Path, str] | None = None,
               progress: Callable[[str], None] | None = None, marts_dir: Path | None = None,
               as_of: dt.date | None = None, who: str | None = None) -> BatchReport:
    """Validate and load; `as_of` states the データ基準日 (else the latest activity up to today), `who` is recorded
    in the history (etl/versions.py)."""
    batch = Batch(paths, db, names=names, progress=progress, fresh=fresh or is_sample, marts_dir=marts_dir,
                  as_of=as_of)
    try:
        return batch.write(accept_valid=accept_valid, fresh=fresh, is_sample=is_sample, who=who)
    finally:
        batch.close()


def marts_outdated(db: Path | None = None) -> bool:
    """True when the database's marts were built from other mart definitions than this version's (or by a version
    that did not record them)."""
    con = duckdb.connect()
    try:
        con.execute("ATTACH ? AS d (READ_ONLY)", [str(Path(db) if db else default_db_path())])
        rows = con.execute("SELECT value FROM d.meta WHERE key = 'marts_version'").fetchall()
    finally:
        con.close()
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
            progress("集計表を作成中")
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


def check_files(paths: Iterable[Path], db: Path | None = None,
                names: dict[Path, str] | None = None, fresh: bool = False,
                as_of: dt.date | None = None) -> BatchReport:
    """Validate only: reads the database (read-only) for known engagements, never creates or changes it."""
    batch = Batch(paths, db, names=names, fresh=fresh, as_of=as_of)
    batch.close()
    return batch.report


def build_sample_database(db: Path | None = None, progress=None) -> BatchReport:
    """(Re)build the database from the sample programme in data/sample/."""
    report = load_files([SAMPLE_DIR], db, is_sample=True, progress=progress)
    if not report.loaded:
        details = "; ".join(report.unreadable + [f"{p.where()}: {p.reason}" for p in report.errors[:5]])
        raise RuntimeError(f"サンプルデータを読み込めませんでした: {details}")
    return report


def report_json(report: BatchReport) -> str:
    return json.dumps({"loaded": report.loaded, "tables": [t.__dict__ for t in report.tables],
                       "problems": [p.__dict__ for p in report.problems]}, ensure_ascii=False, indent=1)
