"""DuckDB SQL macros that normalise raw record values (all read as VARCHAR).

The macros live in ``etl/sql/macros.sql``; see that file (and docs on the records contract) for the accepted
formats. Every macro returns NULL for NULL / blank input and for values it cannot parse; none raises.

Public macros::

    dx_text(s)            -> VARCHAR
    dx_int(s)             -> BIGINT
    dx_number(s)          -> DOUBLE
    dx_minutes(s)         -> INTEGER
    dx_bool(s)            -> BOOLEAN
    dx_date(s)            -> DATE
    dx_fiscal_year(s)     -> INTEGER
    dx_fiscal_year_of(d)  -> INTEGER   (d is a DATE)
    dx_list(s)            -> VARCHAR[]
    dx_code5(s)           -> VARCHAR
"""
from __future__ import annotations

from pathlib import Path

import duckdb

MACROS_SQL = Path(__file__).parent / "sql" / "macros.sql"
# rules that depend on the as-of date (停滞, 経過日数): the marts and the read side's restricted scope use them
RULES_SQL = Path(__file__).parent / "sql" / "rules.sql"

PUBLIC_MACROS = (
    "dx_text",
    "dx_int",
    "dx_number",
    "dx_minutes",
    "dx_bool",
    "dx_date",
    "dx_fiscal_year",
    "dx_fiscal_year_of",
    "dx_list",
    "dx_code5",
)


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Create (or replace) the dx_* macros on ``con``. Idempotent."""
    con.execute(MACROS_SQL.read_text(encoding="utf-8"))
