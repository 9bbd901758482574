"""Materialise the marts: every etl/sql/marts/*.sql, in sorted filename order, becomes a table named after
its file stem (``CREATE OR REPLACE TABLE <stem> AS <file content>``). A mart may read an earlier-sorted mart."""
from __future__ import annotations

import re
from pathlib import Path

from etl.paths import SQL_DIR

MARTS_DIR = SQL_DIR / "marts"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def mart_files(folder: Path = MARTS_DIR) -> list[Path]:
    return sorted(folder.glob("*.sql"), key=lambda p: p.name)


def build_marts(con, folder: Path = MARTS_DIR) -> list[str]:
    """Create or replace every mart on ``con`` (a writable DuckDB connection). Returns the mart names built.

    Runs inside the caller's transaction if one is open, so a failing mart leaves the load undone."""
    built: list[str] = []
    for path in mart_files(folder):
        name = path.stem
        if not _NAME.match(name):
            raise ValueError(f"mart file name must be a plain identifier: {path.name}")
        body = path.read_text(encoding="utf-8").strip().rstrip(";")
        con.execute(f"CREATE OR REPLACE TABLE {name} AS {body}")
        built.append(name)
    return built
