"""Run the named queries in monitor/sql/*.sql with the filters as named parameters (never pasted into SQL).

Results are cached per (query name, parameters, database file, database version); the version is the file's
(st_mtime_ns, st_size, st_ino), so a new load (a new file os.replace-d into place) is picked up on the next call.
Works the same inside Streamlit and in plain Python (tests)."""
from __future__ import annotations

import datetime as dt
import os
import re
from functools import lru_cache
from pathlib import Path

import pandas as pd

from monitor.db import connect_readonly, db_version, resolve_path
from monitor.filters import Filters

SQL_DIR = Path(__file__).resolve().parent / "sql"
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_COMMENT = re.compile(r"--[^\n]*")


@lru_cache(maxsize=None)
def _sql(name: str) -> tuple[str, frozenset]:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ValueError(f"bad query name: {name!r}")
    text = (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")
    params = frozenset(_PARAM.findall(_COMMENT.sub("", text)))
    return text, params


def query_names() -> list[str]:
    return sorted(p.stem for p in SQL_DIR.glob("*.sql"))


def _freeze(v):
    if isinstance(v, (list, tuple)):
        return tuple(v)
    return v


@lru_cache(maxsize=512)
def _run_cached(name: str, path: str, version: tuple, params: tuple) -> pd.DataFrame:
    text, _ = _sql(name)
    bound = {k: (list(v) if isinstance(v, tuple) else v) for k, v in params}
    con = connect_readonly(path)
    try:
        return con.execute(text, bound).df()
    finally:
        con.close()


def query_params(name: str, filters: Filters, **extra) -> dict:
    """The parameters ``name`` will be called with: the standard filter parameters plus ``extra``, restricted to
    the ones the query names (DuckDB refuses unused parameters). A parameter the query needs but nobody gave is an
    error."""
    _, wanted = _sql(name)
    given = {**filters.sql_params(), **extra}
    missing = wanted - given.keys()
    if missing:
        raise KeyError(f"query {name} needs parameters: {sorted(missing)}")
    return {k: given[k] for k in sorted(wanted)}


def run_query(name: str, filters: Filters, *, path: str | os.PathLike | None = None, **extra) -> pd.DataFrame:
    """Result of monitor/sql/<name>.sql for these filters (and extra named parameters) as a DataFrame (a copy;
    change it freely)."""
    p = resolve_path(path)
    params = query_params(name, filters, **extra)
    key = tuple((k, _freeze(v)) for k, v in params.items())
    return _run_cached(name, str(p), db_version(p), key).copy()


def clear_cache() -> None:
    _run_cached.cache_clear()


