"""Reference data (data/reference/*.csv) into a DuckDB connection."""
from __future__ import annotations

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
