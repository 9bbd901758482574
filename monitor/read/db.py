"""Read-only access to the dashboard database.

A load writes a new file and os.replace-s it; a fresh READ_ONLY attach of the file always sees the current file,
while a reused one can keep serving the old one. The pages' queries go through ``read_cursor``, which by default
attaches the file for that one query and detaches it afterwards, so nothing the query read stays in memory (the
server's peak RSS is lower than with a kept attachment). The attach happens on a cursor of one in-memory DuckDB
instance the process keeps (``_base``: nothing attached between queries): creating an instance costs far more than
a cursor or an ATTACH, and the default used to be a whole new instance per query (figures: docs/performance.md,
"Notes from earlier measurements"). Each query attaches under
an alias of its own (``dx_q<n>``), so concurrent queries never share an attachment, and the instance's
``memory_limit`` caps what concurrent queries hold together. After each query the allocator's free memory is given
back to the system (``release_memory``), as closing an instance used to do.

``DX_READ_SHARED=1`` instead keeps one in-memory connection per (file, database version) — the version is
(st_mtime_ns, st_size, st_ino), so a new load gets a new connection and the old one is closed once its last query
has finished — and runs each query on a cursor of it (cursors are DuckDB's way to use one database from several
threads); a connection idle for ``READ_IDLE_SECONDS`` is closed. That keeps the attached file's catalogue and buffer
pool between queries: faster filter changes, for more memory.

Every connection is capped (``READ_MEMORY_LIMIT``, ``READ_THREADS``; DuckDB's default would be 80 % of the RAM).
``connect_readonly`` gives a private fresh connection (tests, the intake page). The app never writes.

The read-side filter macros of monitor/sql/_macros.sql: TEMP macros on every private and shared connection and
cursor (a cursor is a connection of its own); on the kept instance of the default path ordinary macros of its
in-memory database ``memory``, which each query's cursor finds through its search path."""
from __future__ import annotations

import ctypes
import datetime as dt
import importlib.util
import itertools
import logging
import os
import threading
import time
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import duckdb

from etl.macros import RULES_SQL
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
# queries running at once in one process: more would not finish sooner on the machine's cores, and concurrent
# queries share the read instance's memory_limit, which a dozen at once exhausted (an out-of-memory error on a page)
READ_CONCURRENCY = max(1, int(os.environ.get("DX_READ_CONCURRENCY", "2")))


MACROS_SQL = Path(__file__).resolve().parent.parent / "sql" / "_macros.sql"      # monitor/sql


@lru_cache(maxsize=1)
def _macros_sql() -> str:
    # the as-of rules (停滞, 経過日数), shared with the marts that use them
    return MACROS_SQL.read_text(encoding="utf-8") + "\n" + RULES_SQL.read_text(encoding="utf-8")


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


# ── how many queries at once ────────────────────────────────────────────────────────────────────────────────

class QuerySlots:
    """At most ``n`` queries at once (the others wait their turn); ``slot(alone=True)`` waits until its query runs
    with no other beside it (a query retried after running out of memory). Re-entrant per thread: a thread that
    already holds a slot (a query inside a query's cursor) does not wait again, so it cannot wait for itself."""

    def __init__(self, n: int):
        self.n = n
        self._free = threading.BoundedSemaphore(n)
        self._gate = threading.Lock()         # taken to acquire: one that waits to run alone is not overtaken
        self._held = threading.local()

    @contextmanager
    def slot(self, alone: bool = False):
        if getattr(self._held, "depth", 0):
            self._held.depth += 1
            try:
                yield
            finally:
                self._held.depth -= 1
            return
        taken = 0
        try:
            with self._gate:
                for _ in range(self.n if alone else 1):
                    self._free.acquire()
                    taken += 1
            self._held.depth = 1
            yield
        finally:
            self._held.depth = 0
            for _ in range(taken):
                self._free.release()


query_slots = QuerySlots(READ_CONCURRENCY)


# ── the default read path: one kept instance, the file attached per query ────────────────────────────────────

log = logging.getLogger(__name__)

_base: duckdb.DuckDBPyConnection | None = None     # the kept in-memory instance (nothing attached between queries)
_base_lock = threading.Lock()
_alias_numbers = itertools.count(1)
_TEMP_MACRO = "CREATE OR REPLACE TEMP MACRO"


def _base_cursor() -> duckdb.DuckDBPyConnection:
    """A new cursor (a connection of its own: own default database, search path and TEMP objects) of the kept
    instance, which is created on first use with the read macros as ordinary macros of its in-memory database
    ``memory`` (a cursor finds them through its search path instead of creating them as TEMP macros on every
    query, which costs time per query; docs/performance.md)."""
    global _base
    with _base_lock:
        if _base is None:
            con = duckdb.connect(":memory:", config=_config())
            try:
                sql = _macros_sql()
                if sql.count(_TEMP_MACRO) != sql.count("CREATE"):
                    raise ValueError(f"{MACROS_SQL.name}: only {_TEMP_MACRO} statements expected")
                con.execute(sql.replace(_TEMP_MACRO, "CREATE OR REPLACE MACRO"))
            except Exception:
                con.close()
                raise
            _base = con
        return _base.cursor()


@contextmanager
def _attached_cursor(p: Path):
    """A cursor of the kept instance with ``p`` attached READ_ONLY under an alias of its own and selected with USE
    (the read macros on its search path); afterwards the file is detached (its blocks freed), the cursor closed and
    the allocator's free memory given back to the system."""
    if not p.exists():
        raise FileNotFoundError(f"データベースがありません: {p}")
    alias = f"dx_q{next(_alias_numbers)}"
    try:
        cur = _base_cursor()
    except (duckdb.FatalException, duckdb.InternalException, duckdb.ConnectionException):
        close_base()            # an instance DuckDB invalidated (after a fatal error) is not used again
        cur = _base_cursor()
    try:
        cur.execute(f"ATTACH ? AS {alias} (READ_ONLY)", [str(p)])
        try:
            cur.execute(f"USE {alias}")
            cur.execute(f"SET search_path = '{alias}.main,memory.main'")
            yield cur
        finally:
            _detach(cur, alias)
    except (duckdb.FatalException, duckdb.InternalException):
        close_base()            # the next query starts a new instance
        raise
    finally:
        cur.close()
        release_memory()


def _detach(cur, alias: str) -> None:
    try:
        cur.execute("USE memory")
        cur.execute(f"DETACH {alias}")
        return
    except Exception:  # noqa: BLE001 - e.g. the cursor is unusable after an interrupted query: use another one
        pass
    try:
        other = _base_cursor()
        try:
            other.execute(f"DETACH DATABASE IF EXISTS {alias}")
        finally:
            other.close()
    except Exception:  # noqa: BLE001
        log.exception("could not detach %s", alias)


@lru_cache(maxsize=1)
def _jemalloc_mallctl():
    """DuckDB's jemalloc control function (``duckdb_je_mallctl``, exported by its Linux builds), else None."""
    try:
        spec = importlib.util.find_spec("_duckdb") or importlib.util.find_spec("duckdb.duckdb")
        fn = ctypes.CDLL(spec.origin).duckdb_je_mallctl
    except (AttributeError, OSError, TypeError, ValueError, ImportError):
        return None
    fn.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    fn.restype = ctypes.c_int
    return fn


def _mallctl_read(mallctl, name: bytes, ctype=ctypes.c_size_t) -> int | None:
    value, size = ctype(), ctypes.c_size_t(ctypes.sizeof(ctype))
    ok = mallctl(name, ctypes.cast(ctypes.byref(value), ctypes.c_void_p),
                 ctypes.cast(ctypes.byref(size), ctypes.c_void_p), None, 0) == 0
    return int(value.value) if ok else None


def _dirty_bytes(mallctl) -> int | None:
    """Bytes jemalloc holds freed but not yet given back (all arenas), or None when it cannot tell."""
    epoch = ctypes.c_uint64(1)
    if mallctl(b"epoch", None, None, ctypes.cast(ctypes.byref(epoch), ctypes.c_void_p), ctypes.sizeof(epoch)) != 0:
        return None
    pages, page = _mallctl_read(mallctl, b"stats.arenas.4096.pdirty"), _mallctl_read(mallctl, b"arenas.page")
    return None if pages is None or page is None else pages * page


# release_memory after a query only once the allocator holds this much freed memory: a 概要 query frees less, and
# giving that back each time made the next query fault it in again (a noticeable share of a filter change); 報告 and
# 相談テーマ queries free more and are released at once, so the peak RSS stays as without the threshold
# (figures: docs/performance.md, "Notes from earlier measurements")
RELEASE_MIN_BYTES = 32 * 1024 * 1024


def release_memory(min_bytes: int | None = None) -> bool:
    """Give the memory DuckDB's allocator holds freed back to the system (jemalloc: flush this thread's cache, purge
    every arena — what DuckDB itself does when an instance closes, which the old instance-per-query design got for
    free), if it holds at least ``min_bytes`` (default RELEASE_MIN_BYTES; 0 = always). Without it the kept
    instance's allocator kept what the queries of a page had freed: a higher peak RSS, and more stayed resident
    between pages (docs/performance.md). Cheap. False where DuckDB does not
    use jemalloc (nothing to do there)."""
    mallctl = _jemalloc_mallctl()
    if mallctl is None:
        return False
    limit = RELEASE_MIN_BYTES if min_bytes is None else min_bytes
    if limit > 0:
        dirty = _dirty_bytes(mallctl)
        if dirty is not None and dirty < limit:
            return True
    ok = mallctl(b"thread.tcache.flush", None, None, None, 0) == 0
    return mallctl(b"arena.4096.purge", None, None, None, 0) == 0 and ok     # 4096 = MALLCTL_ARENAS_ALL


def close_base() -> None:
    """Close the kept instance (the next query starts a new one). Its cursors close with it: for when no query runs
    (tests, benchmarks) or the instance is unusable anyway."""
    global _base
    with _base_lock:
        con, _base = _base, None
    if con is not None:
        con.close()


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
def read_cursor(path: str | os.PathLike | None = None, version: tuple | None = None, alone: bool = False):
    """A cursor with ``path`` attached READ_ONLY and selected (USE), for one query: by default the file attached
    for this cursor alone and detached afterwards; with DX_READ_SHARED=1 a cursor on the shared connection of
    ``path`` at ``version`` (default: the file's current version). Safe from several threads (one cursor each).
    It waits for one of READ_CONCURRENCY query slots (``alone``: for all of them)."""
    with query_slots.slot(alone):
        with _read_cursor(path, version) as cur:
            yield cur


@contextmanager
def _read_cursor(path, version):
    p = resolve_path(path)
    key = str(p)
    if not READ_SHARED:
        with _attached_cursor(p) as cur:
            yield cur
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
    """Close every shared read connection (idle ones now, busy ones after their query) and the kept instance of
    the default read path."""
    with _shared_lock:
        while _shared:
            _retire(_shared.pop(next(iter(_shared))))
    close_base()


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
