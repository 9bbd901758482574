"""Run the named queries in monitor/sql/*.sql with the filters as named parameters (never pasted into SQL).

Results are cached per (query name, parameters, database file, database version); the version is the file's
(st_mtime_ns, st_size, st_ino), so a new load (a new file os.replace-d into place) is picked up on the next call.
The cache is bounded by entries and by the bytes of the frames it holds (``QUERY_CACHE_MB``), so that a server
serving many filter selections keeps a bounded amount of memory. Queries run on a cursor with the current database
file attached read-only (monitor.db.read_cursor).
Works the same inside Streamlit and in plain Python (tests).

Access restriction (``DX_ALLOWED_PREFECTURES``, monitor.filters.allowed_prefectures), enforced here for every query:
``$prefectures`` becomes the allowed list when the selection is 'all' and the intersection otherwise (nothing allowed
chosen → a value that matches no prefecture); and the query runs on a connection where temporary views of the same
names hide every record table's rows outside the allowed prefectures (rows without a prefecture too), so queries
without ``$prefectures`` (報告, the session log) are restricted as well. A table this module does not know is
shown empty under a restriction (fail closed)."""
from __future__ import annotations

import datetime as dt
import os
import re
from functools import lru_cache
from pathlib import Path

import duckdb
import pandas as pd

from monitor.format import is_missing
from monitor.read.cache import VersionedCache, frame_bytes
from monitor.read.db import db_version, meta, read_cursor, resolve_path
from monitor.read.filters import Filters, allowed_prefectures, scoped_prefectures

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"      # monitor/sql
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_COMMENT = re.compile(r"--[^\n]*")


@lru_cache(maxsize=None)
def _sql(name: str) -> tuple[str, frozenset]:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ValueError(f"bad query name: {name!r}")
    text = (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")
    params = frozenset(_PARAM.findall(_COMMENT.sub("", text)))
    return text, params


@lru_cache(maxsize=None)
def _optional(name: str) -> frozenset:
    """Parameters a query declares optional in a header line ``-- optional: $a, $b``: NULL when not given."""
    text, _ = _sql(name)
    found = re.search(r"^-- optional:(.*)$", text, flags=re.MULTILINE)
    return frozenset(_PARAM.findall(found.group(1))) if found else frozenset()


def query_names() -> list[str]:
    return sorted(p.stem for p in SQL_DIR.glob("[a-z]*.sql"))   # _macros.sql is not a query


def _freeze(v):
    if isinstance(v, (list, tuple)):
        return tuple(v)
    return v


QUERY_CACHE_ENTRIES = 256
QUERY_CACHE_MB = float(os.environ.get("DX_QUERY_CACHE_MB", "48"))


# ── access restriction: record tables seen through views of the allowed prefectures ──────────────────────

# reference tables every deployment may show in full
PUBLIC_TABLES = frozenset({"prefectures", "municipalities", "stages", "support_types", "themes", "meta"})
# record tables (and marts) with their own prefecture column
_BY_PREFECTURE = ("engagements", "consultations", "events", "mart_engagement_progress", "mart_consultations",
                  "mart_daily_activity", "mart_map_activity", "mart_theme_records", "consortia", "mart_consortia",
                  "mart_activity_dates")
# the rest: WHERE clause over the real table (alias t); {allowed} is the allowed list as a SQL literal
_RESTRICTED_WHERE = {
    **{t: "list_contains({allowed}, t.prefecture)" for t in _BY_PREFECTURE},
    "sessions": "t.engagement_id IN (SELECT e.engagement_id FROM {real}.engagements AS e "
                "WHERE list_contains({allowed}, e.prefecture))",
    # a consortium's own targets only (no programme-wide rows: they count other prefectures)
    "targets": "t.consortium IN (SELECT k.consortium FROM {real}.consortia AS k "
               "WHERE list_contains({allowed}, k.prefecture))",
}


# データ基準日 of a restricted scope (data/reference/indicators.csv): the latest activity in the allowed prefectures
# (mart_activity_dates holds only dates up to the database's as-of date), else the database's; 経過日数, 停滞 and each
# engagement's 期間 span follow it (the rules: etl/sql/rules.sql)
SCOPE_AS_OF_SQL = ("coalesce((SELECT max(last_activity_date) FROM {real}.mart_activity_dates "
                   "WHERE list_contains({allowed}, prefecture)), "
                   "(SELECT try_cast(value AS DATE) FROM {real}.meta WHERE key = 'data_as_of'))")
_SCOPED_ENGAGEMENTS = (
    "SELECT t.* REPLACE ("
    "s.as_of AS as_of_date, "
    "dx_days_since(t.last_session_date, s.as_of) AS days_since_last_session, "
    "dx_is_stalled(t.status, t.planned_sessions, t.sessions_done, t.last_session_date, t.start_date, s.as_of) "
    "AS stalled, "
    "dx_span_end(t.end_date, t.last_session_date, s.as_of) AS span_end) "
    "FROM {real}.\"mart_engagement_progress\" AS t, (SELECT " + SCOPE_AS_OF_SQL + " AS as_of) AS s")


def _sql_literal_list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]::VARCHAR[]"


def restrict_connection(con, allowed: tuple[str, ...]) -> None:
    """Temporary views (they resolve before the database's tables) hiding the rows outside ``allowed``; every
    other non-reference table becomes an empty view. The views live as long as ``con`` (one query)."""
    real = con.execute("SELECT current_database()").fetchall()[0][0] + ".main"
    tables = [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' "
        "UNION SELECT view_name FROM duckdb_views() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND NOT internal").fetchall()]
    lit = _sql_literal_list(allowed)
    for t in tables:
        if t in PUBLIC_TABLES:
            continue
        where = _RESTRICTED_WHERE.get(t, "false").format(allowed=lit, real=real)
        body = (_SCOPED_ENGAGEMENTS.format(allowed=lit, real=real) if t == "mart_engagement_progress"
                else f'SELECT t.* FROM {real}."{t}" AS t')
        con.execute(f'CREATE OR REPLACE TEMP VIEW "{t}" AS {body} WHERE {where}')


def _execute(name: str, path: str, version: tuple, params: tuple, scope: tuple | None = None) -> pd.DataFrame:
    """The query's result; a query that ran out of the read instance's memory beside others is run once more with
    none beside it (the memory cap is shared by the queries running at once)."""
    text, _ = _sql(name)
    bound = {k: (list(v) if isinstance(v, tuple) else v) for k, v in params}

    def run(alone: bool) -> pd.DataFrame:
        with read_cursor(path, version, alone=alone) as con:
            if scope is not None:
                restrict_connection(con, scope)
            return con.execute(text, bound).df()
    try:
        return run(alone=False)
    except duckdb.OutOfMemoryException:
        return run(alone=True)


_results = VersionedCache(QUERY_CACHE_ENTRIES, int(QUERY_CACHE_MB * 1024 * 1024), frame_bytes, name="queries")


def _run_cached(name: str, path: str, version: tuple, params: tuple, scope: tuple | None = None) -> pd.DataFrame:
    return _results.get_or_build((name, path, version, params, scope),
                                 lambda: _execute(name, path, version, params, scope))


def query_params(name: str, filters: Filters, **extra) -> dict:
    """The parameters ``name`` will be called with: the standard filter parameters plus ``extra``, restricted to
    the ones the query names (DuckDB refuses unused parameters). A parameter the query needs but nobody gave is an
    error. ``prefectures`` is scoped to the allowed prefectures (DX_ALLOWED_PREFECTURES); an unreadable setting
    raises monitor.filters.AccessConfigError."""
    _, wanted = _sql(name)
    given = {**filters.sql_params(), **extra}
    # the access restriction wins over anything a caller passes
    given["prefectures"] = scoped_prefectures(given.get("prefectures") or (), allowed_prefectures())
    given.update({k: None for k in _optional(name) - given.keys()})
    missing = wanted - given.keys()
    if missing:
        raise KeyError(f"query {name} needs parameters: {sorted(missing)}")
    return {k: given[k] for k in sorted(wanted)}


def run_query(name: str, filters: Filters, *, path: str | os.PathLike | None = None, cache: bool = True,
              **extra) -> pd.DataFrame:
    """Result of monitor/sql/<name>.sql for these filters (and extra named parameters) as a DataFrame (a copy;
    change it freely). ``cache=False``: run it without keeping the result (the caller caches what it builds)."""
    p = resolve_path(path)
    scope = allowed_prefectures()
    params = query_params(name, filters, **extra)
    key = tuple((k, _freeze(v)) for k, v in params.items())
    if not cache:
        return _execute(name, str(p), db_version(p), key, scope)
    # pandas 3 copy-on-write: a shallow copy is a new frame whose changes never reach the cached one, without
    # copying the data up front
    return _run_cached(name, str(p), db_version(p), key, scope).copy(deep=False)


def clear_cache() -> None:
    _results.cache_clear()


def data_as_of(path: str | os.PathLike | None = None) -> dt.date | None:
    """データ基準日 as shown and used for 経過日数 and 停滞: the database's (meta data_as_of), or under a prefecture
    restriction the latest activity within the allowed prefectures (data/reference/indicators.csv)."""
    if allowed_prefectures() is None:
        return meta(path)["data_as_of"]
    value = run_query("data_as_of", Filters(), path=path)["as_of_date"].iloc[0]
    return None if is_missing(value) else pd.Timestamp(value).date()
