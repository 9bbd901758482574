"""One date format on screen: every page in AppTest on the sample shows its dates as 2022年10月5日 (a month 2022年10月,
a time 2022年10月5日 14:03) — in its tables (text cells, and date columns through their DateColumn format) and in its
captions and notices; never 2022/10/05 or 2022-10-05, which are the files' (CSV) form."""
from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from etl import audit, versions
from monitor.format import SCREEN_DATE_FORMAT, SCREEN_MONTH_FORMAT, fmt_date, fmt_datetime, screen_dates
from tests.support.pages import APP, INTAKE_PAGE, PROGRESS_PAGE, REPORT_PAGE, ROOT, THEMES_PAGE, run_page

AUDIT_PAGE = str(Path(ROOT) / "pages" / "6_監査記録.py")
PAGES = [APP, PROGRESS_PAGE, THEMES_PAGE, INTAKE_PAGE, REPORT_PAGE, AUDIT_PAGE]
OTHER_DATE = re.compile(r"\d{4}[/\-.]\d{1,2}[/\-.]\d{1,2}")          # 2022/10/05, 2022-10-05, 2022.10.5
SCREEN_DATE = re.compile(r"\d{4}年\d{1,2}月(\d{1,2}日( \d{2}:\d{2})?)?")
# columns of text from records and files (a file may be named 2024-05-01.csv): shown as written
RECORD_TEXT = {"ファイル", "記載内容（原文）", "概要・メモ"}


def _is_date(v) -> bool:
    return isinstance(v, (dt.date, pd.Timestamp)) and not pd.isna(v)


@pytest.fixture()
def audit_trail(tmp_path, monkeypatch) -> Path:
    """An audit trail of its own holding a load's entry (its 内容 is what etl/versions.describe writes)."""
    path = tmp_path / "audit.sqlite"
    monkeypatch.setenv(audit.ENV_PATH, str(path))
    audit.record("root", "load", what=versions.describe({"action": "load", "id": 3, "at": "2026-12-02T14:36:05",
                                                          "who": "root", "files": ["伴走記録.csv"]}))
    return path


@pytest.mark.parametrize("page", PAGES, ids=lambda p: Path(p).stem)
def test_dates_on_screen_follow_the_one_screen_format(sample_db_env, audit_trail, page):
    at = run_page(page)
    seen_dates = 0
    problems = []
    for frame in at.dataframe:
        df, config = frame.value, json.loads(frame.proto.columns or "{}")
        for col in df.columns:
            values = [v for v in df[col].tolist() if v is not None and not (isinstance(v, float) and pd.isna(v))]
            if any(_is_date(v) for v in values):
                fmt = (config.get(str(col)) or {}).get("type_config", {}).get("format")
                if fmt not in (SCREEN_DATE_FORMAT, SCREEN_MONTH_FORMAT):
                    problems.append(f"{col}: date values shown without the screen format ({fmt})")
                seen_dates += 1
            for v in values:
                if isinstance(v, str) and OTHER_DATE.search(v) and col not in RECORD_TEXT:
                    problems.append(f"{col}: 「{v}」")
                elif isinstance(v, str) and SCREEN_DATE.fullmatch(v):
                    seen_dates += 1
    for el in [*at.caption, *at.markdown, *at.info, *at.warning, *at.success]:
        if OTHER_DATE.search(el.value):
            problems.append(f"text: 「{el.value[:80]}」")
        seen_dates += len(SCREEN_DATE.findall(el.value))
    assert not problems, "\n".join(problems)
    assert seen_dates, "every page shows at least the data's as-of date"
    if page == AUDIT_PAGE:
        table = at.dataframe[0].value
        assert table["内容"].tolist() == ["取込 3（2026年12月2日 14:36、root、伴走記録.csv）"]


def test_the_screen_formatters():
    assert fmt_date(dt.date(2024, 4, 1)) == "2024年4月1日"
    assert fmt_datetime("2026-12-02T13:07:33+00:00") == "2026年12月2日 13:07"
    assert fmt_datetime(pd.Timestamp("2026-12-02 09:05:59")) == "2026年12月2日 09:05"
    df = pd.DataFrame({"日時": ["2026-12-02 13:07", "不明"], "最新の記録日": ["2025-02-21", ""], "n": [1, 2]})
    shown = screen_dates(df, dates=["最新の記録日"], times=["日時"])
    assert shown.to_dict("list") == {"日時": ["2026年12月2日 13:07", "不明"], "最新の記録日": ["2025年2月21日", ""],
                                     "n": [1, 2]}
    assert df["日時"].tolist() == ["2026-12-02 13:07", "不明"]                    # the original (CSV's) is kept
