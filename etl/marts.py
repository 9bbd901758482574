"""Materialise the marts: every etl/sql/marts/*.sql becomes a table named after its file stem
(``CREATE OR REPLACE TABLE <stem> AS <file content>``), in the order ``MART_ORDER`` states. A mart may read only
marts listed before it (tests/test_marts.py checks both: every file is listed, and what each one reads).

The database's meta row ``marts_version`` records which mart definitions built them (``marts_fingerprint``): after an
update changes a mart, the app sees the difference and asks for ``python -m etl rebuild`` instead of failing on a
missing table or column.

A load into a database whose marts are current updates them incrementally (``update_marts``): each mart has a grain
(``MART_SCOPE``: a key column and the inputs it restricts); the rows of the keys the batch touched
(etl/sql/incremental/scopes.sql) are deleted and built again by the mart's own file, run over inputs restricted to those
keys. The meta row ``marts_state`` (``marts_state``: mart files, rules, the incremental SQL and the reference data)
says when that is safe; otherwise, and for a batch touching a large share of the keys, every mart is rebuilt."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

from etl.kinds import KINDS
from etl.macros import RULES_SQL
from etl.paths import REFERENCE_DIR, SQL_DIR

MARTS_DIR = SQL_DIR / "marts"
INCREMENTAL_DIR = SQL_DIR / "incremental"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

# The build order. A new mart goes after every mart it reads (FROM mart_…); one that reads none, anywhere.
MART_ORDER = (
    "mart_activity_dates",
    "mart_consortia",
    "mart_consultations",
    "mart_daily_activity",        # reads mart_consultations
    "mart_engagement_progress",
    "mart_map_activity",          # reads mart_consultations, mart_daily_activity
    "mart_theme_records",         # reads mart_consultations, mart_daily_activity
)

# An incremental update's grains per mart, in order of preference; each grain is its parts, and each part (the temp
# table of touched keys, etl/sql/incremental/scopes.sql; the inputs restricted to those keys; the mart rows that part
# builds, a condition, or None: every row). A part's key column is its scope table's one column and must be a column of
# the mart and of each restricted input, and every mart row the part builds must come only from input rows with the
# same key. The first grain with no scope too wide is used; with none, the mart is rebuilt whole. None: always rebuilt
# whole (small marts, or ones where one row depends on every record).
Part = tuple[str, tuple[str, ...], str | None]
BY_DATE_SESSIONS_CONSULTATIONS: tuple[Part, ...] = (("scope_dates", ("sessions", "mart_consultations"), None),)
MART_SCOPE: dict[str, tuple[tuple[Part, ...], ...] | None] = {
    "mart_activity_dates": None,                  # latest date per prefecture: a few dozen rows, depends on the as-of
    "mart_consortia": None,                       # one row per consortium, ranked over all of them
    "mart_consultations": ((("scope_consultations", ("consultations",), None),),),
    "mart_daily_activity": ((("scope_dates", ("sessions", "mart_consultations", "events"), None),),),
    "mart_engagement_progress": ((("scope_engagements", ("engagements", "sessions"), None),),),
    "mart_map_activity": (BY_DATE_SESSIONS_CONSULTATIONS,),
    # one row per record × theme: by day (a month's batch: few days), else by record (a batch on many days: a
    # session's rows follow its engagement, a consultation's its mart_consultations row)
    "mart_theme_records": (BY_DATE_SESSIONS_CONSULTATIONS,
                           (("scope_engagements", ("sessions",), "source = '伴走記録'"),
                            ("scope_consultations", ("mart_consultations",), "source = '相談記録'"))),
}
# Marts whose every measure is a count or a sum per group: a batch of new records only (none stored before, no
# engagement or target among them) on too many days to build them again by day adds to them what its own records
# count, group by group. The measure columns; the other columns are the group.
MART_ADDITIVE: dict[str, tuple[str, ...]] = {
    "mart_daily_activity": ("sessions", "bank_sessions", "bank_known_sessions", "consultations", "events", "seminars",
                            "event_attendees", "seminar_attendees"),
    "mart_map_activity": ("sessions", "consultations"),
}
# Marts of rows per record, nothing in them counted over several records: a batch of new records only (as above)
# inserts its own records' rows, built by the mart's own SQL over inputs holding only those records; no stored row
# changes (a new record's engagement, theme and consultation row are as stored).
MART_PER_RECORD = ("mart_theme_records",)
# the kinds such a batch may hold, and per input of those marts the kind whose new keys restrict it
APPEND_KINDS = ("sessions", "consultations", "events")
APPEND_INPUTS = {"sessions": "sessions", "mart_consultations": "consultations", "events": "events"}
# A mart whose scope holds more than this share of the engagements, consultations or dates is rebuilt whole (cheaper).
INCREMENTAL_MAX_SHARE = 0.3
# The temp tables a load fills for update_marts (etl/write.py): the keys of the records it added, changed or
# withdrew, per kind, and the dates those records had before and have after.
BATCH_KEYS = "batch_keys_{kind}"
BATCH_DATES = "batch_dates"


def mart_files(folder: Path = MARTS_DIR) -> list[Path]:
    """The mart files of ``folder`` in build order: those MART_ORDER lists, in its order. A file in etl/sql/marts that
    it does not list is an error; another folder (a test's) builds its unlisted files after the listed ones, by
    name."""
    present = {p.stem: p for p in folder.glob("*.sql")}
    unlisted = sorted(set(present) - set(MART_ORDER))
    if unlisted and Path(folder).resolve() == MARTS_DIR.resolve():
        raise ValueError(f"mart files not in etl/marts.py MART_ORDER: {', '.join(unlisted)}")
    return [present[name] for name in MART_ORDER if name in present] + [present[name] for name in unlisted]


def marts_fingerprint(folder: Path = MARTS_DIR) -> str:
    """A short hash of the mart definitions (file names and SQL) in ``folder``."""
    h = hashlib.sha256()
    for path in mart_files(folder):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def marts_state(folder: Path = MARTS_DIR) -> str:
    """What marts built now depend on besides the records: the mart files, the rules, the incremental SQL and the
    reference data. Marts recorded with another state are rebuilt whole, never updated."""
    h = hashlib.sha256(marts_fingerprint(folder).encode())
    for path in [RULES_SQL, *sorted(INCREMENTAL_DIR.glob("*.sql")), *sorted(REFERENCE_DIR.glob("*.csv"))]:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def can_update(con, folder: Path = MARTS_DIR) -> bool:
    """Whether the marts of ``con``'s current database may be updated incrementally by a load: built from the
    default mart files with the state this version would build them with, and all present."""
    if Path(folder).resolve() != MARTS_DIR.resolve():
        return False
    rows = con.execute("SELECT value FROM meta WHERE key = 'marts_state'").fetchall()
    if not rows or rows[0][0] != marts_state(folder):
        return False
    present = {r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main'"
    ).fetchall()}
    return set(MART_ORDER) <= present


def build_marts(con, folder: Path = MARTS_DIR) -> list[str]:
    """Create or replace every mart on ``con`` (a writable DuckDB connection) and record their version in ``meta``.
    Returns the mart names built.

    Runs inside the caller's transaction if one is open, so a failing mart leaves the load undone."""
    built: list[str] = []
    con.execute(RULES_SQL.read_text(encoding="utf-8"))     # the as-of rules the marts use (停滞, 経過日数)
    for path in mart_files(folder):
        name = path.stem
        if not _NAME.match(name):
            raise ValueError(f"mart file name must be a plain identifier: {path.name}")
        body = path.read_text(encoding="utf-8").strip().rstrip(";")
        con.execute(f"CREATE OR REPLACE TABLE {name} AS {body}")
        built.append(name)
    con.execute("INSERT OR REPLACE INTO meta VALUES ('marts_version', ?), ('marts_state', ?)",
                [marts_fingerprint(folder), marts_state(folder)])
    return built


def _sql(name: str) -> str:
    return (INCREMENTAL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def update_marts(con, new_records_only: bool = False) -> tuple[list[str], str]:
    """Update the marts of ``con``'s current database (the load's target, ``USE``d) for the records a load touched,
    given in the temp tables ``BATCH_KEYS`` / ``BATCH_DATES``. Call only where ``can_update`` said so, before the
    load changed the records; ``new_records_only``: every touched key is a new record of ``APPEND_KINDS`` (the
    ``MART_ADDITIVE`` marts are then added to). Returns the marts written and how: incremental (every keyed mart updated by keys),
    partial (some rebuilt whole: their scope was too wide) or full (every mart rebuilt). The content equals
    ``build_marts``'s (tests/test_incremental_marts.py)."""
    con.execute(RULES_SQL.read_text(encoding="utf-8"))
    for statement in _statements(_sql("scopes")):
        con.execute(statement)
    wide = {table for table, too_wide in con.execute(_sql("too_wide"), {"share": INCREMENTAL_MAX_SHARE}).fetchall()
            if too_wide}
    grains = {name: _grain(scope, wide) for name, scope in MART_SCOPE.items()}
    # a batch of new records adds to an additive mart where its grain is too wide (else the grain is cheaper)
    # and inserts the rows of its records into a per-record mart
    by_new_records = {name: _add_new_records for name in MART_ADDITIVE if new_records_only and grains[name] is None}
    by_new_records.update({name: _append_new_records for name in MART_PER_RECORD if new_records_only})
    if all(grain is None for grain in grains.values()) and not by_new_records:
        return build_marts(con), "full"
    db = con.execute("SELECT current_database()").fetchall()[0][0]
    as_of_moved = con.execute(_sql("as_of_moved")).fetchall()[0][0]
    built: list[str] = []
    rebuilt_wide = False
    con.execute("ATTACH ':memory:' AS mart_scope")
    try:
        for path in mart_files():
            name = path.stem
            body = path.read_text(encoding="utf-8").strip().rstrip(";")
            if name in by_new_records:
                by_new_records[name](con, db, name, body)
                built.append(name)
                continue
            scope = grains[name]
            too_wide = MART_SCOPE[name] is not None and scope is None
            if scope is None or (name == "mart_engagement_progress" and as_of_moved):
                con.execute(f"CREATE OR REPLACE TABLE {name} AS {body}")
                built.append(name)
                rebuilt_wide = rebuilt_wide or too_wide
                continue
            parts = [(table, inputs, rows, _scope_key(con, table)) for table, inputs, rows in scope
                     if con.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchall()[0][0]]
            if not parts:
                continue
            # the mart's own SQL, over its inputs restricted to the touched keys; an input no part restricts reads
            # as empty, so the SQL builds only the rows of the parts with keys
            views = {table: f"WHERE {key} IN (SELECT {key} FROM temp.main.{scope_table})"
                     for scope_table, inputs, _, key in parts for table in inputs}
            views.update({table: "WHERE false" for _, inputs, _ in scope for table in inputs if table not in views})
            for scope_table, _, rows, key in parts:
                con.execute(f"DELETE FROM {db}.main.{name} WHERE {key} IN (SELECT {key} FROM temp.main.{scope_table})"
                            + (f" AND ({rows})" if rows else ""))
            _run_restricted(con, db, views, f"INSERT INTO {db}.main.{name} BY NAME SELECT * FROM ({body})")
            built.append(name)
    finally:
        con.execute(f"USE {db}")
        con.execute("DETACH mart_scope")
    return built, "partial" if rebuilt_wide else "incremental"


def _new_record_views() -> dict[str, str]:
    """The inputs of APPEND_INPUTS restricted to the batch's new records (the keys in its BATCH_KEYS tables), and
    the engagements to those of its sessions: these marts read an engagement only as the dimensions of its
    sessions (sessions JOIN engagements), and a batch of new records holds no engagement."""
    views = {table: f"SEMI JOIN temp.main.{BATCH_KEYS.format(kind=kind)} USING ({', '.join(KINDS[kind].key)})"
             for table, kind in APPEND_INPUTS.items()}
    views["engagements"] = f"SEMI JOIN temp.main.{BATCH_KEYS.format(kind='sessions')} USING (engagement_id)"
    return views


def _append_new_records(con, db: str, name: str, body: str) -> None:
    """Insert the rows of the batch's new records into the per-record mart ``name``: its own SQL over its inputs
    restricted to those records."""
    _run_restricted(con, db, _new_record_views(), f"INSERT INTO {db}.main.{name} BY NAME SELECT * FROM ({body})")


def _add_new_records(con, db: str, name: str, body: str) -> None:
    """Add what the batch's new records count to the additive mart ``name``: its own SQL over its inputs restricted
    to those records, summed with the mart's rows of the same groups (NULL a group value like any other)."""
    _run_restricted(con, db, _new_record_views(),
                    f"CREATE OR REPLACE TEMP TABLE mart_delta AS SELECT * FROM ({body})")
    measures = MART_ADDITIVE[name]
    columns = [r[0] for r in con.execute(f"DESCRIBE {db}.main.{name}").fetchall()]
    groups = [c for c in columns if c not in measures]
    same = " AND ".join(f't."{c}" IS NOT DISTINCT FROM d."{c}"' for c in groups)
    sums = ", ".join(f'CAST(sum("{c}") AS BIGINT) AS "{c}"' for c in measures)
    group_list = ", ".join(f'"{c}"' for c in groups)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE mart_added AS SELECT {group_list}, {sums} FROM (
                        SELECT t.* FROM {db}.main.{name} t WHERE EXISTS (SELECT 1 FROM mart_delta d WHERE {same})
                        UNION ALL BY NAME SELECT * FROM mart_delta)
                    GROUP BY {group_list}""")
    con.execute(f"DELETE FROM {db}.main.{name} t WHERE EXISTS (SELECT 1 FROM mart_delta d WHERE {same})")
    con.execute(f"INSERT INTO {db}.main.{name} BY NAME SELECT * FROM mart_added")
    con.execute("DROP TABLE mart_delta")
    con.execute("DROP TABLE mart_added")


def _run_restricted(con, db: str, views: dict[str, str], statement: str) -> None:
    """Run ``statement`` (a mart's own SQL inside) with each table of ``views`` read through a view of its rows that
    the restriction given keeps (a WHERE or a SEMI JOIN; the views come first on the search path, every other name
    resolves to the database's tables)."""
    for table, restriction in views.items():
        con.execute(f"CREATE OR REPLACE VIEW mart_scope.main.{table} AS SELECT x.* FROM {db}.main.{table} AS x "
                    f"{restriction}")
    con.execute(f"SET search_path = 'mart_scope.main,{db}.main'")
    try:
        con.execute(statement)
    finally:
        con.execute("RESET search_path")
        con.execute(f"USE {db}")
        for table in views:
            con.execute(f"DROP VIEW mart_scope.main.{table}")


def _grain(grains: tuple[tuple[Part, ...], ...] | None, wide: set[str]) -> tuple[Part, ...] | None:
    """The first of a mart's grains whose scope tables are none of ``wide``; None: rebuild the mart whole."""
    return next((parts for parts in grains or () if not any(part[0] in wide for part in parts)), None)


def _scope_key(con, scope_table: str) -> str:
    return con.execute(f"SELECT column_name FROM duckdb_columns() WHERE table_name = '{scope_table}' "
                       "AND database_name = 'temp'").fetchall()[0][0]


def _statements(sql: str) -> list[str]:
    """The statements of a .sql file (separated by a semicolon at the end of a line)."""
    return [s.strip() for s in re.split(r";\s*\n", sql + "\n") if re.sub(r"--[^\n]*", "", s).strip()]
