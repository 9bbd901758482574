"""A short read-only look at a database file: a cursor of one in-memory DuckDB per process, the file attached
read-only for the look and detached after. Starting a DuckDB instance costs far more than attaching a file to one
that runs (docs/performance.md, "A small load"), and a load looks at its database several times.

The lock is DuckDB's own: a file another process writes cannot be attached, exactly as duckdb.connect(read_only)
could not open it."""
from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

_lock = threading.Lock()
_instance: tuple[int, duckdb.DuckDBPyConnection] | None = None     # (the process that made it, the instance)
_names = itertools.count()


def _cursor() -> tuple[duckdb.DuckDBPyConnection, str]:
    global _instance
    with _lock:
        if _instance is None or _instance[0] != os.getpid():      # a forked child never shares its parent's
            _instance = (os.getpid(), duckdb.connect())
        return _instance[1].cursor(), f"peek_{next(_names)}"


@contextmanager
def read_only(path: Path | str) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection whose current database is the file at ``path``, opened read-only (raises duckdb.Error as
    duckdb.connect(read_only=True) would)."""
    cur, name = _cursor()
    try:
        cur.execute(f"ATTACH ? AS {name} (READ_ONLY)", [str(path)])
        try:
            cur.execute(f"USE {name}")
            yield cur
        finally:
            cur.execute("USE memory")
            cur.execute(f"DETACH {name}")
    finally:
        cur.close()
