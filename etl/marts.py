"""Materialise the marts: every etl/sql/marts/*.sql becomes a table named after its file stem
(``CREATE OR REPLACE TABLE <stem> AS <file content>``), in the order ``MART_ORDER`` states. A mart may read only
marts listed before it (tests/test_marts.py checks both: every file is listed, and what each one reads).

The database's meta row ``marts_version`` records which mart definitions built them (``marts_fingerprint``): after an
update changes a mart, the app sees the difference and asks for ``python -m etl rebuild`` instead of failing on a
missing table or column."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

from etl.macros import RULES_SQL
from etl.paths import SQL_DIR

MARTS_DIR = SQL_DIR / "marts"
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
    con.execute("INSERT OR REPLACE INTO meta VALUES ('marts_version', ?)", [marts_fingerprint(folder)])
    return built
