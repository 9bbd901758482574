"""Helpers shared by the ETL tests: writing real record files and reading whole tables back."""
from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import duckdb

RECORD_TABLES = ("engagements", "sessions", "consultations", "events", "targets")

ENGAGEMENT_HEADER = ["案件ID", "年度", "支援種別", "支援先名", "支援先区分", "都道府県", "市区町村"]


def engagement_row(eid: str, **over) -> dict[str, str]:
    row = {"案件ID": eid, "年度": "2022", "支援種別": "伴走支援", "支援先名": "架空テスト株式会社",
           "支援先区分": "企業", "都道府県": "茨城県", "市区町村": "筑西市"}
    row.update(over)
    return row


def csv_text(header: list[str], rows: list[dict[str, str] | list[str]], delimiter: str = ",",
             newline: str = "\r\n") -> str:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator=newline)
    w.writerow(header)
    for r in rows:
        w.writerow([r.get(h, "") for h in header] if isinstance(r, dict) else r)
    return buf.getvalue()


def write_csv(path: Path, header: list[str], rows, encoding: str = "utf-8", delimiter: str = ",",
              newline: str = "\r\n", before: str = "") -> Path:
    """A CSV as a spreadsheet program saves it; `before` is text (title lines) above the header."""
    text = before + csv_text(header, rows, delimiter, newline)
    path.write_bytes(text.encode(encoding))
    return path


def write_engagements(path: Path, ids=("E-1",), encoding: str = "utf-8", **over) -> Path:
    return write_csv(path, ENGAGEMENT_HEADER, [engagement_row(i, **over) for i in ids], encoding=encoding)


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def query(db: Path, sql: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def table_rows(db: Path, table: str) -> list[tuple]:
    """Every row of a table, every column, in a stable order."""
    return content(db, (table,))[table]


def content(db: Path, tables=RECORD_TABLES) -> dict[str, list[tuple]]:
    """Every row of each table, read through one connection (opening a database file costs more than reading a
    small table)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}
    finally:
        con.close()


def count(db: Path, table: str) -> int:
    return query(db, f"SELECT count(*) FROM {table}")[0][0]


def folder_listing(folder: Path) -> list[str]:
    return sorted(p.name for p in Path(folder).iterdir())
