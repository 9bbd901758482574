"""Where things live. The app and the ETL read the same settings."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
REFERENCE_DIR = DATA_DIR / "reference"
SAMPLE_DIR = DATA_DIR / "sample"
SQL_DIR = Path(__file__).resolve().parent / "sql"
DEFAULT_DB = DATA_DIR / "dx.duckdb"


def db_path(override: str | os.PathLike | None = None) -> Path:
    """--db beats DX_DB_PATH beats data/dx.duckdb."""
    if override:
        return Path(override)
    env = os.environ.get("DX_DB_PATH")
    return Path(env) if env else DEFAULT_DB
