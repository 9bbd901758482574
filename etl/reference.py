"""Reference data (data/reference/*.csv) into a DuckDB connection."""
from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from .paths import REFERENCE_DIR

# table → (file, SELECT list turning the CSV text into the schema's types)
REFERENCE_TABLES = {
    "prefectures": ("prefectures.csv",
                    "prefecture_code, prefecture, prefecture_kana, region, CAST(lat AS DOUBLE), CAST(lng AS DOUBLE)"),
    "municipalities": ("municipalities.csv",
                       "municipality_code, code5, prefecture_code, prefecture, municipality, municipality_kana, "
                       "CAST(lat AS DOUBLE), CAST(lng AS DOUBLE)"),
    "stages": ("stages.csv", "CAST(stage_no AS INTEGER), stage, string_split(keywords, '|')"),
    "themes": ("themes.csv", "theme_id, theme, audience, string_split(keywords, '|'), CAST(sort_order AS INTEGER)"),
    "support_types": ("support_types.csv", "support_type, client_type, description, CAST(sort_order AS INTEGER)"),
    "consortia": ("consortia.csv", "consortium, prefecture, lead_org, string_split(members, '|')"),
}


def load_reference(con: duckdb.DuckDBPyConnection, schema: str | None = None,
                   folder: Path = REFERENCE_DIR) -> None:
    """Replace the reference tables (which must exist) with the contents of the CSV files."""
    prefix = f"{schema}." if schema else ""
    for table, (file_name, select) in REFERENCE_TABLES.items():
        path = folder / file_name
        con.execute(f"DELETE FROM {prefix}{table}")
        con.execute(
            f"INSERT INTO {prefix}{table} SELECT {select} FROM read_csv(?, all_varchar=true, header=true)",
            [str(path)],
        )


def reference_fingerprint(folder: Path = REFERENCE_DIR) -> str:
    """A short hash of the reference files the tables are read from."""
    h = hashlib.sha256()
    for file_name, _ in REFERENCE_TABLES.values():
        h.update(file_name.encode() + b"\0" + (folder / file_name).read_bytes() + b"\0")
    return h.hexdigest()[:16]


def copy_reference(con: duckdb.DuckDBPyConnection, source: str, target: str) -> None:
    """Replace the reference tables of database ``target`` with those of ``source`` on the same connection (a load:
    the batch read the CSV files already; copying is cheaper than reading them again). Skipped when ``target`` holds
    them from the same files already (meta reference_version)."""
    version = reference_fingerprint()
    if con.execute(f"SELECT value FROM {target}.main.meta WHERE key = 'reference_version'").fetchall() == [(version,)]:
        return
    for table in REFERENCE_TABLES:
        con.execute(f"DELETE FROM {target}.main.{table}")
        con.execute(f"INSERT INTO {target}.main.{table} SELECT * FROM {source}.main.{table}")
    con.execute(f"INSERT OR REPLACE INTO {target}.main.meta VALUES ('reference_version', ?)", [version])
