"""Read-only access to the dashboard database.

Every read opens a FRESH in-memory DuckDB connection and ATTACHes the file READ_ONLY: loads write a new file and
os.replace it, and a fresh attach always sees the current file (a reused read-only connection can keep serving the
old one). The app never writes."""
from __future__ import annotations

import datetime as dt
import os
from functools import lru_cache
from pathlib import Path

import duckdb

from etl.paths import db_path


def resolve_path(path: str | os.PathLike | None = None) -> Path:
    return db_path(path)


def db_version(path: str | os.PathLike | None = None) -> tuple:
    """(st_mtime_ns, st_size, st_ino) of the database file; () when it does not exist."""
    try:
        st = os.stat(resolve_path(path))
    except FileNotFoundError:
        return ()
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def connect_readonly(path: str | os.PathLike | None = None) -> duckdb.DuckDBPyConnection:
    """A new in-memory connection with the database attached READ_ONLY as ``dx`` and selected with USE."""
    p = resolve_path(path)
    if not p.exists():
        raise FileNotFoundError(f"データベースがありません: {p}")
    con = duckdb.connect(":memory:")
    try:
        literal = str(p).replace("'", "''")
        con.execute(f"ATTACH '{literal}' AS dx (READ_ONLY)")
        con.execute("USE dx")
    except Exception:
        con.close()
        raise
    return con


@lru_cache(maxsize=32)
def _meta_cached(path: str, version: tuple) -> tuple:
    con = connect_readonly(path)
    try:
        rows = dict(con.execute("SELECT key, value FROM meta").fetchall())
    finally:
        con.close()
    as_of = None
    if rows.get("data_as_of"):
        try:
            as_of = dt.date.fromisoformat(str(rows["data_as_of"])[:10])
        except ValueError:
            as_of = None
    return (as_of, str(rows.get("is_sample", "false")).strip().lower() == "true", tuple(sorted(rows.items())))


def meta(path: str | os.PathLike | None = None) -> dict:
    """{'data_as_of': date | None, 'is_sample': bool, 'raw': {key: value}} from the ``meta`` table."""
    p = resolve_path(path)
    as_of, is_sample, raw = _meta_cached(str(p), db_version(p))
    return {"data_as_of": as_of, "is_sample": is_sample, "raw": dict(raw)}
