"""Rough timing of the dx_* value macros on 1,000,000 rows (prints, never asserts).

    .venv/bin/python benchmarks/bench_macros.py [rows]

Compares
  * copy:   CREATE TABLE AS SELECT s, s2, s3, s4, s5 FROM t           (bare materialisation)
  * macros: CREATE TABLE AS SELECT dx_date(s), dx_int(s2), dx_minutes(s3), dx_bool(s4), dx_list(s5) FROM t
  * read_csv of the same data written to a CSV file (all_varchar), and read_csv + macros, since the load target
    is "≤ 3 × DuckDB's bare read_csv".
The data is a realistic mix: mostly clean values (ISO dates, ASCII digits) with a share of Japanese / full-width /
era formats, so both the fast and the slow paths are exercised.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from etl.macros import install_macros  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000

GEN = f"""
CREATE OR REPLACE TABLE t AS
SELECT
    CASE i % 10
        WHEN 0 THEN strftime(DATE '2022-04-01' + CAST(i % 700 AS INTEGER), '%Y/%-m/%-d')
        WHEN 1 THEN '令和' || (4 + i % 2) || '年' || (1 + i % 12) || '月' || (1 + i % 28) || '日'
        WHEN 2 THEN 'R' || (4 + i % 2) || '.' || (1 + i % 12) || '.' || (1 + i % 28)
        WHEN 3 THEN CAST(DATE '2022-04-01' + CAST(i % 700 AS INTEGER) AS VARCHAR) || ' 00:00:00'
        ELSE CAST(DATE '2022-04-01' + CAST(i % 700 AS INTEGER) AS VARCHAR)
    END AS s,
    CASE i % 10
        WHEN 0 THEN translate(CAST(i % 5000 AS VARCHAR), '0123456789', '０１２３４５６７８９')
        WHEN 1 THEN format('{{:,}}', i % 5000) || '人'
        ELSE CAST(i % 5000 AS VARCHAR)
    END AS s2,
    CASE i % 10
        WHEN 0 THEN '2時間'
        WHEN 1 THEN '1時間30分'
        WHEN 2 THEN '1.5h'
        WHEN 3 THEN '90分'
        ELSE CAST(30 * (1 + i % 6) AS VARCHAR)
    END AS s3,
    ['有', '無', '○', '×', 'TRUE', 'FALSE', '1', '0', 'はい', ''][1 + i % 10] AS s4,
    CASE i % 4
        WHEN 0 THEN '山田、佐藤'
        WHEN 1 THEN '経営理念・ミッション; 業務フロー整理'
        WHEN 2 THEN '鈴木'
        ELSE '田中／高橋／伊藤'
    END AS s5
FROM range({N}) r(i)
"""

MACRO_SELECT = "SELECT dx_date(s), dx_int(s2), dx_minutes(s3), dx_bool(s4), dx_list(s5) FROM {src}"
PLAIN_SELECT = "SELECT s, s2, s3, s4, s5 FROM {src}"


def timed(con: duckdb.DuckDBPyConnection, sql: str, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        con.execute("DROP TABLE IF EXISTS o")
        t0 = time.perf_counter()
        con.execute(f"CREATE TABLE o AS {sql}")
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    con = duckdb.connect()
    install_macros(con)
    con.execute(GEN)
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    print(f"rows: {N:,}  duckdb {duckdb.__version__}  threads {threads}")

    copy = timed(con, PLAIN_SELECT.format(src="t"))
    macros = timed(con, MACRO_SELECT.format(src="t"))
    print(f"copy (CTAS of the 5 VARCHAR columns): {copy:8.3f} s")
    print(f"5 macros (CTAS):                      {macros:8.3f} s   ratio {macros / copy:6.1f} x")

    for name, expr in [
        ("dx_date", "dx_date(s)"),
        ("dx_int", "dx_int(s2)"),
        ("dx_minutes", "dx_minutes(s3)"),
        ("dx_bool", "dx_bool(s4)"),
        ("dx_list", "dx_list(s5)"),
    ]:
        col_copy = timed(con, f"SELECT {expr.split('(')[1][:-1]} FROM t")
        col = timed(con, f"SELECT {expr} FROM t")
        print(f"  {name:<11} {col:7.3f} s  (column copy {col_copy:6.3f} s, extra {col - col_copy:6.3f} s)")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.csv"
        con.execute(f"COPY t TO '{path}' (HEADER, DELIMITER ',')")
        src = f"read_csv('{path}', all_varchar = true, header = true)"
        read = timed(con, f"SELECT * FROM {src}")
        read_macros = timed(con, MACRO_SELECT.format(src=src))
        print(f"read_csv (all_varchar) CTAS:          {read:8.3f} s")
        print(f"read_csv + 5 macros CTAS:             {read_macros:8.3f} s   ratio {read_macros / read:6.2f} x")


if __name__ == "__main__":
    main()
