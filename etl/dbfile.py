"""A cheap look at a DuckDB database file before anyone opens it: is it one, and is it whole?

DuckDB opens a truncated file without complaint and fails only when a query reaches a missing block (or, for
`python -m etl check`, not at all). Its two database headers (at 4 KB and 8 KB) record the block count and size
of the latest checkpoint, so the file's expected length is known from its first 12 KB."""
from __future__ import annotations

import os
import struct
from pathlib import Path

import duckdb

from . import peek

HEADER_BYTES = 3 * 4096


def database_problem(path: str | os.PathLike) -> str | None:
    """A Japanese reason why the file at ``path`` is not a whole DuckDB database, or None (also when the headers
    are of a layout this check does not know: then DuckDB itself decides)."""
    p = Path(path)
    try:
        size = p.stat().st_size
        with open(p, "rb") as f:
            head = f.read(HEADER_BYTES)
    except FileNotFoundError:
        return None
    except OSError as e:
        return f"ファイルを読めません（{e.strerror or e}）"
    if len(head) < HEADER_BYTES or head[8:12] != b"DUCK":
        return "DuckDB のデータベースファイルではないか、先頭が壊れています"
    headers = [struct.unpack_from("<QQQQQQ", head, offset + 8) for offset in (4096, 8192)]
    iteration, _meta, _free, blocks, block_size, _vector = max(headers)
    if block_size < 4096 or block_size & (block_size - 1) or blocks > 1 << 40:
        return None
    expected = HEADER_BYTES + blocks * block_size
    if size < expected and expected - size > _free_bytes(p, block_size):
        return f"ファイルが途中で切れています（{size:,} バイト、本来 {expected:,} バイト）"
    return None


def _free_bytes(path: Path, block_size: int) -> int:
    """The bytes of the database's free blocks: a checkpoint may drop free blocks at the end of the file without
    lowering the header's block count, so a file that short is whole. Unknown (cannot open): 0."""
    try:
        with peek.read_only(path) as con:
            rows = con.execute("SELECT free_blocks FROM pragma_database_size() "
                               "WHERE database_name = current_database()").fetchall()
        return int(rows[0][0]) * block_size if rows else 0
    except duckdb.Error:
        return 0


class DatabaseUnreadable(Exception):
    """The existing database file cannot be opened; the message is Japanese and names it."""


def check_readable(path: Path) -> None:
    """Raise etl.load.DatabaseUnreadable unless ``path`` opens as a dashboard database."""
    try:
        with peek.read_only(path) as con:
            con.execute("SELECT count(*) FROM meta").fetchall()
    except duckdb.Error as e:
        raise DatabaseUnreadable(f"データベース {path} を開けません（DuckDB のファイルではないか、壊れています）: "
                                 f"{str(e).splitlines()[0]}") from e
