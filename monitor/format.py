"""Formatting for Japanese readers: 桁区切り, percentages, dates (2022年10月5日, the one screen format), fiscal years."""
from __future__ import annotations

import datetime as dt
import math

import pandas as pd

DASH = "—"


def is_missing(v) -> bool:
    """The one missing-value test of the read side: None, NaN, NaT and pd.NA are missing; text, lists and other
    values never are (a scalar pd.isna would raise or answer per element for them)."""
    if v is None or v is pd.NaT or v is pd.NA:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    if isinstance(v, (str, bytes, list, tuple, dict)):
        return False
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def fmt_int(v, unit: str = "") -> str:
    """12345 → '12,345' (+ unit). Missing → '—'."""
    if is_missing(v):
        return DASH
    return f"{int(round(float(v))):,}{unit}"


def fmt_number(v, digits: int = 1, unit: str = "") -> str:
    if is_missing(v):
        return DASH
    x = float(v)
    if digits == 0 or x.is_integer():
        return f"{int(round(x)):,}{unit}"
    return f"{x:,.{digits}f}{unit}"


def fmt_pct(ratio, digits: int = 1) -> str:
    """0.4567 → '45.7%'. Missing or not finite → '—'."""
    if is_missing(ratio) or not math.isfinite(float(ratio)):
        return DASH
    return f"{float(ratio) * 100:,.{digits}f}%"


def _as_date(v) -> dt.date | None:
    if is_missing(v):
        return None
    if isinstance(v, pd.Timestamp):
        return v.date()
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    return dt.date.fromisoformat(str(v)[:10])


def fmt_date(v) -> str:
    """2022-10-05 → '2022年10月5日'."""
    d = _as_date(v)
    return DASH if d is None else f"{d.year}年{d.month}月{d.day}日"


def fmt_datetime(v) -> str:
    """2022-10-05 14:03 → '2022年10月5日 14:03' (a time of day shown to the minute)."""
    if is_missing(v) or (isinstance(v, str) and not v.strip()):
        return DASH
    ts = pd.Timestamp(v)
    return f"{fmt_date(ts)} {ts.hour:02d}:{ts.minute:02d}"


# the one date format on screen is fmt_date's (2022年10月5日; a month 2022年10月, a time 2022年10月5日 14:03);
# files write 2022-10-05 (CSV) or date cells (Excel). For st.dataframe's DateColumn (moment.js tokens):
SCREEN_DATE_FORMAT = "YYYY年M月D日"
SCREEN_MONTH_FORMAT = "YYYY年M月"


def screen_dates(df: pd.DataFrame, dates=(), times=()) -> pd.DataFrame:
    """A copy of ``df`` for the screen with the columns ``dates`` as fmt_date and ``times`` as fmt_datetime text
    (their values may be dates, timestamps or ISO text; an empty text stays empty)."""
    out = df.copy()
    for col in dates:
        if col in out:
            out[col] = ["" if isinstance(v, str) and not v.strip() else fmt_date(v) for v in out[col]]
    for col in times:
        if col in out:
            out[col] = [v if isinstance(v, str) and not v[:1].isdigit() else fmt_datetime(v) for v in out[col]]
    return out


def fmt_month(v) -> str:
    """2022-10-01 → '2022年10月'."""
    d = _as_date(v)
    return DASH if d is None else f"{d.year}年{d.month}月"


def format_fiscal_year(y: int | None) -> str:
    """2022 → '令和4年度（2022年度）'; 2019 → '令和元年度（2019年度）'; None → '全年度'."""
    if y is None:
        return "全年度"
    y = int(y)
    if y >= 2019:
        n = y - 2018
        era = "令和"
    elif y >= 1989:
        n = y - 1988
        era = "平成"
    else:
        return f"{y}年度"
    return f"{era}{'元' if n == 1 else n}年度（{y}年度）"


def cut_text(text, limit: int) -> str:
    """``text`` (a record's field) at most ``limit`` characters for print and charts, saying plainly that it was cut
    and how long it is: 'あいう…（以下省略、全100,000文字）'. Exports keep the whole text."""
    s = "" if text is None else str(text)
    if len(s) <= limit:
        return s
    return f"{s[:limit]}…（以下省略、全{len(s):,}文字）"
