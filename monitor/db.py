"""Read-only access to the dashboard database.

A load writes a new file and os.replace-s it; a fresh in-memory DuckDB connection that ATTACHes the file READ_ONLY
always sees the current file, while a reused one can keep serving the old one. The pages' queries go through
``read_cursor``, which by default opens such a fresh connection per query and closes it afterwards: nothing the
query read stays in memory (measured at 1,000,000 sessions, see docs/performance.md: the server's peak RSS is
25–90 MB lower than with a kept connection).

``DX_READ_SHARED=1`` instead keeps one in-memory connection per (file, database version) — the version is
(st_mtime_ns, st_size, st_ino), so a new load gets a new connection and the old one is closed once its last query
has finished — and runs each query on a cursor of it (cursors are DuckDB's way to use one database from several
threads); a connection idle for ``READ_IDLE_SECONDS`` is closed. That keeps the attached file's catalogue and buffer
pool between queries: 10–20 % faster cold page runs and 20–40 % faster filter changes, for more memory.

Every connection is capped (``READ_MEMORY_LIMIT``, ``READ_THREADS``; DuckDB's default would be 80 % of the RAM).
``connect_readonly`` gives a private fresh connection (tests, the intake page). The app never writes.

Every connection and cursor gets the read-side filter macros of monitor/sql/_macros.sql (TEMP macros: they live in
one connection, and a cursor is a connection of its own)."""
from __future__ import annotations

import datetime as dt
import os
import threading
import time
from contextlib import contextmanager
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


# per read connection: DuckDB's buffer pool and query memory (the default is 80 % of the machine's RAM) and threads
READ_MEMORY_LIMIT = os.environ.get("DX_READ_MEMORY_LIMIT", "256MB")
READ_THREADS = int(os.environ.get("DX_READ_THREADS", "2"))
READ_SHARED = os.environ.get("DX_READ_SHARED", "0") == "1"     # 1: keep a connection per database version
# a shared connection nobody has used for this long is closed (its buffer pool and caches freed): the queries of one
# page run share it, an idle server does not keep what they read
READ_IDLE_SECONDS = float(os.environ.get("DX_READ_IDLE_SECONDS", "2"))
SHARED_PATHS_MAX = 2          # database files with a live shared connection (tests use many; a server one)


MACROS_SQL = Path(__file__).resolve().parent / "sql" / "_macros.sql"


@lru_cache(maxsize=1)
def _macros_sql() -> str:
    return MACROS_SQL.read_text(encoding="utf-8")


def install_read_macros(con) -> None:
    """Create (or replace) the TEMP filter macros (dx_filter_params, dx_in_filters, …) on ``con``. Idempotent."""
    con.execute(_macros_sql())


def _config() -> dict:
    return {"memory_limit": READ_MEMORY_LIMIT, "threads": READ_THREADS}


def connect_readonly(path: str | os.PathLike | None = None) -> duckdb.DuckDBPyConnection:
    """A new in-memory connection with the database attached READ_ONLY as ``dx`` and selected with USE."""
    p = resolve_path(path)
    if not p.exists():
        raise FileNotFoundError(f"データベースがありません: {p}")
    con = duckdb.connect(":memory:", config=_config())
    try:
        literal = str(p).replace("'", "''")
        con.execute(f"ATTACH '{literal}' AS dx (READ_ONLY)")
        con.execute("USE dx")
        install_read_macros(con)
    except Exception:
        con.close()
        raise
    return con


class _Shared:
    __slots__ = ("con", "version", "active", "retired", "last_used")

    def __init__(self, con, version):
        self.con, self.version, self.active, self.retired = con, version, 0, False
        self.last_used = time.monotonic()


_shared: dict[str, _Shared] = {}          # path → the connection of its current version
_shared_lock = threading.Lock()
_reaper: threading.Thread | None = None


def _reap() -> None:
    """Close shared connections idle for READ_IDLE_SECONDS; ends when there are none left."""
    global _reaper
    while True:
        time.sleep(max(0.05, READ_IDLE_SECONDS / 2))
        with _shared_lock:
            now = time.monotonic()
            for key, entry in list(_shared.items()):
                if entry.active == 0 and now - entry.last_used >= READ_IDLE_SECONDS:
                    del _shared[key]
                    _retire(entry)
            if not _shared:
                _reaper = None
                return


def _ensure_reaper() -> None:
    """Called with the lock held."""
    global _reaper
    if _reaper is None and READ_IDLE_SECONDS > 0:
        _reaper = threading.Thread(target=_reap, name="dx-read-reaper", daemon=True)
        _reaper.start()


def _retire(entry: _Shared) -> None:
    """Called with the lock held: close now if idle, else when the last cursor is given back."""
    entry.retired = True
    if entry.active == 0:
        entry.con.close()


@contextmanager
def read_cursor(path: str | os.PathLike | None = None, version: tuple | None = None):
    """A cursor on the shared read-only connection of ``path`` at ``version`` (default: the file's current
    version), with ``dx`` selected. Safe from several threads (one cursor each)."""
    p = resolve_path(path)
    key = str(p)
    if not READ_SHARED:
        con = connect_readonly(p)
        try:
            yield con
        finally:
            con.close()
        return
    if version is None:
        version = db_version(p)
    with _shared_lock:
        entry = _shared.get(key)
        if entry is None or entry.version != version:
            if entry is not None:
                _retire(entry)
                del _shared[key]
            while len(_shared) >= SHARED_PATHS_MAX:          # oldest other file
                _retire(_shared.pop(next(iter(_shared))))
            entry = _Shared(connect_readonly(p), version)
            _shared[key] = entry
            _ensure_reaper()
        entry.active += 1
        try:
            cur = entry.con.cursor()
        except Exception:
            entry.active -= 1
            raise
    try:
        cur.execute("USE dx")
        install_read_macros(cur)
        yield cur
    finally:
        try:
            cur.close()
        finally:
            with _shared_lock:
                entry.active -= 1
                entry.last_used = time.monotonic()
                if entry.retired and entry.active == 0:
                    entry.con.close()


def close_shared() -> None:
    """Close every shared read connection (idle ones now, busy ones after their query)."""
    with _shared_lock:
        while _shared:
            _retire(_shared.pop(next(iter(_shared))))


@lru_cache(maxsize=32)
def _meta_cached(path: str, version: tuple) -> tuple:
    with read_cursor(path, version) as con:
        rows = dict(con.execute("SELECT key, value FROM meta").fetchall())
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
