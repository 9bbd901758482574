"""Prepare a load: extract → stage → validate, in an in-memory DuckDB. Nothing here writes to the database (it is
attached read-only, for the records a load keeps); etl/write.py writes a prepared Batch.

The staged tables a Batch leaves on its connection (raw_<kind>, stg_<kind>, problems, rejected, skipped, withdrawn)
are the contract with etl/write.py, and private to the two: a caller reads ``report`` and ``rejected_records()``.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import duckdb

from . import peek, scope as load_scope, withdraw
from .as_of import ACTIVITY_MAX
from .dbfile import DatabaseUnreadable
from .dbfile import database_problem
from .extract import NO_RECORD_FILES, Extractor, FileResult, RawTable, iter_input_files
from .kinds import KINDS, LOAD_ORDER
from .macros import install_macros
from .paths import SQL_DIR, db_path as default_db_path
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
# kind → the columns of its staging model ("name TYPE, …"), learnt from its first run in this process: the types
# follow from the SQL alone (every raw column is text), and planning a model costs more than a small batch's rows
_EMPTY_STAGING: dict[str, str] = {}
WARNING_ROWS_SHOWN = 5
# the latest activity that took place: sessions, consultations and events dated on or before $today ({db}: a schema)
# what a load reports, in order: read (one per file), validate, then, writing (etl/write.py), copy, write (one per
# kind), marts; データ取込 adds wait (another validation or load runs first)
PROGRESS_STAGES = ("wait", "read", "validate", "copy", "write", "marts")


class Progress(str):
    """One progress report: its ``stage`` (one of PROGRESS_STAGES), which code branches on, and its Japanese
    ``text``. It is that text as a str too, so a callback that prints or shows the message needs nothing else."""
    stage: str

    def __new__(cls, stage: str, text: str):
        if stage not in PROGRESS_STAGES:
            raise ValueError(f"unknown progress stage: {stage}")
        self = super().__new__(cls, text)
        self.stage = stage
        return self

    @property
    def text(self) -> str:
        return str.__str__(self)

    def __reduce__(self):
        return (Progress, (self.stage, self.text))


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
    marts: str = ""                  # after a load: incremental (the touched keys' rows updated) | partial (some
                                     # marts rebuilt whole) | full (rebuilt)

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

    def __init__(self, con: duckdb.DuckDBPyConnection, db: Path, today: dt.date, as_of_stated: dt.date | None,
                 keeps_existing: bool, progress: Callable[[str], None], scope: tuple[str, ...] | None = None):
        """Holds the parts; does no work (``Batch.prepare`` reads, stages and validates)."""
        self.con = con
        self.db = db
        # the day of the load: activity dated after it has not taken place and never moves the as-of date
        self.today = today
        self.as_of_stated = as_of_stated
        # records already in the database count (sessions may name their engagements) only when the load
        # keeps them: not with --fresh, and not when the database holds the sample (a load replaces it)
        self.keeps_existing = keeps_existing
        self.progress = progress
        # the prefectures this load may change (etl/scope.py); None: any
        self.scope = tuple(scope) if scope is not None else None
        self.report = BatchReport()
        self.raw_tables: list[RawTable] = []
        self.kinds: list[str] = []

    @classmethod
    def prepare(cls, paths: Iterable[Path], db: Path | None = None, names: dict[Path, str] | None = None,
                progress: Callable[[str], None] | None = None, fresh: bool = False,
                as_of: dt.date | None = None, scope: tuple[str, ...] | None = None) -> "Batch":
        """Read ``paths`` (files or folders), stage and validate them against the database ``db`` (read-only, for
        the records a load keeps); ``names`` gives a path the name messages use, ``as_of`` is the stated データ基準日,
        ``scope`` the prefectures the load may change (rows outside are rejected; None: any). Progress goes to
        ``progress`` as Progress values (stages read, validate). Raises ScopeRefused when a scoped load would
        replace the whole database (--fresh, or the sample)."""
        db = Path(db) if db else default_db_path()
        keeps_existing = not fresh and db.exists() and not is_sample_db(db)
        if scope is not None:
            refuse_replacing(db, fresh)
        batch = cls(duckdb.connect(), db, dt.date.today(), as_of, keeps_existing=keeps_existing,
                    progress=progress or (lambda message: None), scope=scope)
        try:
            batch._run(paths, names or {})
        except BaseException:
            batch.close()
            raise
        return batch

    def _run(self, paths: Iterable[Path], names: dict[Path, str]) -> None:
        install_macros(self.con)
        self.con.execute(SCHEMA_SQL)
        load_reference(self.con)
        self._known_records()
        extractor = Extractor(self.con)
        paths = list(paths)
        files = iter_input_files(paths)
        if not files:      # nothing to load: said as an unreadable input, so nothing is written
            self.report.files.append(FileResult(path=Path(paths[0]) if paths else Path("."),
                                                file_name=", ".join(Path(p).name for p in paths),
                                                error=f"{NO_RECORD_FILES}: " + ", ".join(map(str, paths))))
        try:
            for path in files:
                self.progress(Progress("read", f"読込中: {names.get(path, path.name)}"))
                result = extractor.read(path, names.get(path))
                self.report.files.append(result)
                self.raw_tables.extend(result.tables)
            self.kinds = [k for k in LOAD_ORDER if any(t.kind.name == k for t in self.raw_tables)]
            self.progress(Progress("validate", "検証中"))
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
            if name not in self.kinds and name in _EMPTY_STAGING:
                # a kind this batch does not hold: its empty staging table, without planning its model again
                con.execute(f"CREATE OR REPLACE TEMP TABLE stg_{name} ({_EMPTY_STAGING[name]})")
                continue
            sql = (STAGING_DIR / f"stg_{name}.sql").read_text(encoding="utf-8")
            con.execute(f"CREATE OR REPLACE TEMP TABLE stg_{name} AS {sql}")
            if name not in _EMPTY_STAGING:
                _EMPTY_STAGING[name] = ", ".join(f'"{c}" {t}' for c, t, *_ in con.execute(
                    f"DESCRIBE stg_{name}").fetchall())

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
        if self.scope is not None:     # after the 削除 marks: mark_rows drops problems a withdrawal does not need
            load_scope.check_rows(self.con, self.kinds, self.scope, self.db, self.keeps_existing)
            self.report.notes.append(scope_note(self.scope))
        # rows that load: no error; of identical duplicates, the first copy
        self.con.execute("""CREATE OR REPLACE TEMP TABLE rejected AS
            SELECT DISTINCT kind, _src, _row FROM problems WHERE severity = 'error'""")
        load_scope.rejected_places(self.con, self.kinds, self.db, self.keeps_existing, self.scope is not None)
        self.con.execute("""CREATE OR REPLACE TEMP TABLE skipped AS
            SELECT DISTINCT kind, _src, _row FROM problems WHERE severity = 'duplicate'""")
        self._as_of()
        batch_checks(self.con, self.kinds, self.report.as_of, self.as_of_stated is not None)
        for src, t in enumerate(self.raw_tables):
            counts = self.con.execute("""
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

    # ── what a caller may read ─────────────────────────────────────────────────
    def rejected_records(self) -> list[tuple[str, str, str | None, int, str, str]]:
        """The rows this batch rejects (errors), with their original values: (kind, file name, sheet, row, the raw
        row as JSON text, the reasons joined 「列」理由 / …), by kind in load order, then file and row. What
        rejected_rows.record holds once loaded."""
        if not self.report.errors:
            return []
        records = []
        sources = {i: (t.file_name, t.sheet) for i, t in enumerate(self.raw_tables)}
        for name in self.kinds:
            rows = self.con.execute(f"""
                SELECT p._src, p._row, any_value(CAST(to_json(r) AS VARCHAR)),
                       string_agg('「' || p.column_name || '」' || p.reason, ' / ' ORDER BY p.column_name)
                FROM problems p JOIN (SELECT * EXCLUDE (_src, _row), _src AS __src, _row AS __row FROM raw_{name}) r
                  ON r.__src = p._src AND r.__row = p._row
                WHERE p.kind = ? AND p.severity = 'error'
                GROUP BY p._src, p._row ORDER BY p._src, p._row""", [name]).fetchall()
            for src, row, record, reasons in rows:
                file_name, sheet = sources[src]
                records.append((name, file_name, sheet, row, record, reasons))
        return records

    def close(self) -> None:
        self.con.close()


def scope_note(scope: tuple[str, ...]) -> str:
    return (f"この取込は {load_scope.scope_text(scope)} の記録だけを変更できます。範囲外の行は不合格になります。")


def refuse_replacing(db: Path, fresh: bool) -> None:
    """A scoped load may not start from an empty database over an existing one: that removes every record."""
    if fresh and db.exists():
        raise load_scope.ScopeRefused("範囲を限った取込では --fresh（既存の記録をすべて捨てる）は使えません。"
                                      "何も変更していません")
    if db.exists() and is_sample_db(db):
        raise load_scope.ScopeRefused(
            "データベースはサンプルデータです。取込はサンプルのすべての都道府県の記録を外すため、範囲を限った取込では"
            "できません。最初の取込は範囲の限りのない管理者が行ってください（何も変更していません）")


def is_sample_db(db: Path) -> bool:
    """True when the database at ``db`` holds the sample programme (meta is_sample)."""
    try:
        with peek.read_only(db) as con:
            rows = con.execute("SELECT value FROM meta WHERE key = 'is_sample'").fetchall()
        return bool(rows and rows[0][0] == "true")
    except duckdb.Error:
        return False
