"""Freshness and completeness per ITC group: which group has not sent this month's records, and how complete the
sessions and consultations it sent are. The figures are defined in etl/sql/stewardship/freshness.sql; データ取込
shows them (「データの鮮度と欠損」) and `python -m etl check --summary` prints them.

The loader records what each load brought per consortium and prefecture (``load_groups``, record_load_groups), so
the last upload of a group is known even when file names say nothing about it.
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from .paths import SQL_DIR

if TYPE_CHECKING:   # pandas costs a load (etl.write records load_groups) most of a second to import
    import pandas as pd

FRESHNESS_SQL = SQL_DIR / "stewardship" / "freshness.sql"
EMPTY_LOAD_GROUPS = ("(SELECT NULL::INTEGER AS load_id, NULL::VARCHAR AS kind, NULL::VARCHAR AS consortium, "
                     "NULL::VARCHAR AS prefecture, NULL::BIGINT AS rows_loaded WHERE false)")
STALE_WORD = "更新なし"
FRESH_WORD = "更新あり"


def stale_days() -> int:
    try:
        return max(1, int(os.environ.get("DX_STALE_DAYS", "45")))
    except ValueError:
        return 45


def record_load_groups(con, load_id: int, kind: str, source: str) -> None:
    """During a load (etl.write._apply, records of ``kind`` just inserted from the temp table ``source``): how
    many rows this load brought per (consortium, prefecture); a session's are its engagement's."""
    if kind == "sessions":
        select = f"""SELECT e.consortium, e.prefecture FROM {source} s
                     JOIN target.main.engagements e ON e.engagement_id = s.engagement_id"""
    elif kind == "consultations":
        select = f"""SELECT e.consortium, s.prefecture FROM {source} s
                     LEFT JOIN target.main.engagements e ON e.engagement_id = s.engagement_id"""
    elif kind == "targets":
        select = f"SELECT nullif(consortium, '') AS consortium, NULL::VARCHAR AS prefecture FROM {source}"
    else:
        select = f"SELECT consortium, prefecture FROM {source}"
    con.execute(f"""INSERT INTO target.main.load_groups
                    SELECT ?, ?, consortium, prefecture, count(*) FROM ({select}) GROUP BY ALL""", [load_id, kind])


def freshness(con: duckdb.DuckDBPyConnection, as_of: dt.date | None = None, today: dt.date | None = None,
              days: int | None = None) -> pd.DataFrame:
    """One row per group (English columns, see the SQL file), on a connection whose current database is the
    dashboard's (read-only is enough). ``as_of`` defaults to the data's as-of date (meta), ``today`` to today."""
    tables = {r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall()}
    if as_of is None:
        rows = con.execute("SELECT value FROM meta WHERE key = 'data_as_of'").fetchall()
        as_of = dt.date.fromisoformat(rows[0][0]) if rows and rows[0][0] else (today or dt.date.today())
    sql = FRESHNESS_SQL.read_text(encoding="utf-8").replace(
        "{load_groups}", "load_groups" if "load_groups" in tables else EMPTY_LOAD_GROUPS)
    return con.execute(sql, {"as_of": as_of, "today": today or dt.date.today(),
                             "stale_days": stale_days() if days is None else days}).df()


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.0%}（{part:,}/{whole:,}）" if whole else "—"


def display_frame(df: pd.DataFrame, days: int | None = None) -> pd.DataFrame:
    """Japanese columns for the page and the CLI; the flag is a word (更新なし（N日）), not a colour."""
    import pandas as pd  # noqa: PLC0415  (see TYPE_CHECKING above)
    days = stale_days() if days is None else days
    rows = []
    for r in df.itertuples():
        since = "" if pd.isna(r.days_since) else f"（{int(r.days_since)}日）"
        rows.append({
            "コンソーシアム・地域": r.group_name,
            "状態": (f"{STALE_WORD}{since}" if r.stale else f"{FRESH_WORD}{since}"),
            "最終取込": "不明" if pd.isna(r.last_upload) else pd.Timestamp(r.last_upload).strftime("%Y-%m-%d %H:%M"),
            "最新の記録日": "" if pd.isna(r.latest_record) else pd.Timestamp(r.latest_record).strftime("%Y-%m-%d"),
            "伴走記録のない月": f"{r.missing_months}か月（{r.missing_month_names}）" if r.missing_months else "なし",
            "段階なし": _share(r.no_stage, r.sessions),
            "金融機関同行なし": _share(r.no_bank, r.sessions),
            "所要時間なし": _share(r.no_duration, r.sessions),
            "相談テーマなし・分類外": _share(r.no_theme, r.consultations),
        })
    return pd.DataFrame(rows, columns=["コンソーシアム・地域", "状態", "最終取込", "最新の記録日", "伴走記録のない月",
                                       "段階なし", "金融機関同行なし", "所要時間なし", "相談テーマなし・分類外"])


def caption(df: pd.DataFrame, days: int | None = None) -> str:
    days = stale_days() if days is None else days
    fy = int(df["fiscal_year"].iloc[0]) if len(df) else None
    scope = f"{fy}年度（4月〜基準日の月）" if fy else "基準日の年度"
    return (f"伴走記録のない月と欠損の割合は {scope} の記録。「{STALE_WORD}」は最終取込（不明なら最新の記録日）から"
            f" {days} 日（DX_STALE_DAYS）を超えて新しい記録のないコンソーシアム・地域です。伴走記録のない月は、"
            "実施中の伴走支援の案件があるのにその月の伴走記録が1件もない月です。")


def summary_for(db: Path, as_of: dt.date | None = None, today: dt.date | None = None) -> pd.DataFrame:
    """freshness() of a database file, opened read-only."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return freshness(con, as_of=as_of, today=today)
    finally:
        con.close()
