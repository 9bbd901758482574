"""Shape query results into the tables pages show (Japanese column names, formatted values). Pure pandas."""
from __future__ import annotations

import re

import pandas as pd

from monitor.charts import KPI_INDICATORS, MANY_CONSORTIA, consortium_label
from monitor.format import DASH, fmt_date, fmt_int, fmt_pct
from monitor.glossary import help_text, label as glossary_label


def _ratio(actual, target):
    if target is None or pd.isna(target) or float(target) == 0:
        return None
    return float(actual) / float(target)


CARD_VALUE_MAX = 13     # characters a KPI card shows in full in a third of a 1,280-pixel-wide page


def kpi_cards(total: pd.Series) -> list[dict]:
    """The six KPI cards of 概要 from the is_total row of the kpi query:
    [{key, label, value, detail, rate, help}] with display strings; rate is a float or None."""
    cards = []
    for key, label, unit, actual_col, target_col in KPI_INDICATORS:
        actual, target = total[actual_col], total[target_col]
        rate = _ratio(actual, target)
        detail = (f"目標 {fmt_int(target, unit)}・達成率 {fmt_pct(rate)}" if rate is not None
                  else "目標値の設定なし")
        if key == "companies":
            # who was supported, whatever came of it; planned engagements without a session are not companies yet
            parts = [f"うち完了 {fmt_int(total['companies_completed'], '社')}",
                     f"中止 {fmt_int(total['companies_cancelled'], '社')}"]
            if total["planned_engagements"]:
                parts.append(f"予定 {fmt_int(total['planned_engagements'], '件')}")
            detail = "・".join(parts) + "・" + detail
        if key == "sessions":
            planned = total["planned_sessions"]
            progress = _ratio(actual, planned)
            detail = (f"{glossary_label('planned_sessions')} {fmt_int(planned, unit)}"
                      f"（{glossary_label('session_rate')} {fmt_pct(progress)}）・" + detail)
            label = "伴走支援 実施回数 / 予定回数"
            value = f"{fmt_int(actual)} / {fmt_int(planned, unit)}"
            if len(value) > CARD_VALUE_MAX:     # would be cut off with "…": the 予定 stays in the detail line
                label, value = "伴走支援 実施回数", fmt_int(actual, unit)
        else:
            value = fmt_int(actual, unit)
        cards.append({"key": key, "label": label, "value": value, "detail": detail, "rate": rate,
                      "help": _card_help(key)})
    bank_rate = total["bank_rate"]
    target = total["target_bank_rate"]
    if target is not None and not pd.isna(target) and float(target) > 1:
        target = float(target) / 100  # a target written as a percentage (e.g. 50) instead of a ratio
    rate = _ratio(bank_rate, target) if bank_rate is not None and not pd.isna(bank_rate) else None
    cards.append({
        "key": "bank_rate", "label": "金融機関同行率", "value": fmt_pct(bank_rate),
        "detail": (f"同行 {fmt_int(total['bank_sessions'], '回')} / 記録 {fmt_int(total['bank_known_sessions'], '回')}"
                   + (f"・目標 {fmt_pct(target)}・達成率 {fmt_pct(rate)}" if target is not None and not pd.isna(target)
                      else "")),
        "rate": rate, "help": _card_help("bank_rate"),
    })
    return cards


def _card_help(key: str) -> str:
    """A card's help (?) from the glossary (data/reference/indicators.csv), with 達成率's rule where it has a target."""
    ids = {"sessions": ("sessions", "planned_sessions", "session_rate")}.get(key, (key,))
    parts = [f"**{glossary_label(i)}**: {help_text(i)}" for i in ids]
    return "\n\n".join(parts + [f"**{glossary_label('achievement_rate')}**: {help_text('achievement_rate')}"])


# The per-consortium comparison, defined once: column, unit ('%' = a ratio shown in percent), and its values from the
# kpi query's consortium rows. consortium_table shows them as text, consortium_number_table as numbers.
COMPARISON_COLUMNS = [
    ("支援企業数", "社", lambda r: r["companies"]),
    ("支援企業数 達成率", "%", lambda r: [_ratio(a, t) for a, t in zip(r["companies"], r["target_companies"])]),
    ("伴走支援 実施回数", "回", lambda r: r["sessions"]),
    ("伴走支援 予定回数", "回", lambda r: r["planned_sessions"]),
    ("DX計画書策定数", "件", lambda r: r["dx_plans"]),
    ("セミナー参加者数", "人", lambda r: r["seminar_attendees"]),
    ("相談件数", "件", lambda r: r["consultations"]),
    ("金融機関同行率", "%", lambda r: r["bank_rate"]),
    ("停滞案件", "件", lambda r: r["stalled"]),
]
# column → printf format (Streamlit's NumberColumn) of consortium_number_table
COMPARISON_NUMBER_FORMATS = {name: "%.1f%%" if unit == "%" else f"%,d{unit}" for name, unit, _ in COMPARISON_COLUMNS}
ITEM_COLUMN = "項目"


def _consortium_rows(kpi: pd.DataFrame) -> pd.DataFrame:
    return kpi[~kpi["is_total"].astype(bool)]


def consortium_table(kpi: pd.DataFrame) -> pd.DataFrame:
    """Per-consortium comparison table (the rows of the kpi query that are not the total), values as text."""
    rows = _consortium_rows(kpi)
    out = {"コンソーシアム": [consortium_label(v) for v in rows["consortium"]]}
    for name, unit, values in COMPARISON_COLUMNS:
        out[name] = [fmt_pct(v) if unit == "%" else fmt_int(v, unit) for v in values(rows)]
    return pd.DataFrame(out)


def consortium_number_table(kpi: pd.DataFrame) -> pd.DataFrame:
    """One row per consortium (as consortium_table), values as numbers; rates in percent (None without a target)."""
    rows = _consortium_rows(kpi)
    out = {"コンソーシアム": [consortium_label(v) for v in rows["consortium"]]}
    for name, unit, values in COMPARISON_COLUMNS:
        if unit == "%":
            out[name] = [None if v is None or pd.isna(v) else round(100 * float(v), 1) for v in values(rows)]
        else:
            out[name] = pd.array([None if pd.isna(v) else int(v) for v in values(rows)], dtype="Int64")
    return pd.DataFrame(out)


def consortium_comparison_table(kpi: pd.DataFrame) -> pd.DataFrame:
    """The per-consortium comparison for the page. Up to MANY_CONSORTIA consortia it is turned on its side: one row
    per indicator (column 項目), one column per consortium, so it fits the page and each indicator reads across the
    consortia in one row. With more (47 at national scale) one row per consortium with numbers, not text, so the
    table can be sorted by any column (COMPARISON_NUMBER_FORMATS says how each is shown)."""
    labels = [consortium_label(v) for v in _consortium_rows(kpi)["consortium"]]
    if len(set(labels)) > MANY_CONSORTIA:
        return consortium_number_table(kpi)
    wide = consortium_table(kpi)
    first: dict[str, int] = {}                    # each consortium's column: its first row (as drop_duplicates)
    for i, name in enumerate(labels):
        first.setdefault(name, i)
    items = [name for name, _unit, _values in COMPARISON_COLUMNS]
    values = {c: wide[c].tolist() for c in items}
    # built from lists (transposing the frame cost more than building the table, on every filter change of 概要)
    return pd.DataFrame({ITEM_COLUMN: items, **{name: [values[c][i] for c in items] for name, i in first.items()}})


def progress_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per engagement for 伴走支援の進捗 (progress as 0..1 for a ProgressColumn)."""
    planned = df["planned_sessions"]
    return pd.DataFrame({
        "案件ID": df["engagement_id"].astype(str),
        "支援先": df["client_name"],
        "市区町村": df["municipality"].fillna(DASH),
        "担当ITC": df["lead_coordinator"].fillna(DASH),
        "実施/予定": [f"{int(d)}/{int(p)}回" if p is not None and not pd.isna(p) else f"{int(d)}回"
                     for d, p in zip(df["sessions_done"], planned)],
        "進捗": df["progress_ratio"].astype("Float64").clip(upper=1.0),
        "現在の段階": [f"{int(n)}. {s}" if n is not None and not pd.isna(n) else DASH
                       for n, s in zip(df["current_stage_no"], df["current_stage"])],
        "最終実施日": [fmt_date(v) for v in df["last_session_date"]],
        "経過日数": df["days_since_last_session"].astype("Int64"),
        "状況": df["status"].fillna(DASH),
        "停滞": ["⚠ 停滞" if bool(s) else "" for s in df["stalled"]],
        "コンソーシアム": [consortium_label(v) for v in df["consortium"]],
    })


def progress_print_table(table: pd.DataFrame) -> pd.DataFrame:
    """``progress_table`` for the print layout (a static table): 進捗 and 経過日数 as text, as the interactive table's
    column formats show them."""
    out = table.copy()
    out["進捗"] = [DASH if v is None or v is pd.NA or pd.isna(v) else f"{float(v):.0%}" for v in out["進捗"]]
    out["経過日数"] = [DASH if v is None or v is pd.NA or pd.isna(v) else f"{int(v)}日" for v in out["経過日数"]]
    # a static table renders its cells as Markdown: '3. 現状分析' would become a numbered list (taller rows, a
    # different number); a no-break space after the number keeps it plain text that looks the same
    out["現在の段階"] = [re.sub(r"^(\d+)\. ", "\\1.\u00a0", str(v)) for v in out["現在の段階"]]
    return out


def attention_table(df: pd.DataFrame) -> pd.DataFrame:
    """Stalled engagements for 概要."""
    return pd.DataFrame({
        "支援先": df["client_name"],
        "コンソーシアム": [consortium_label(v) for v in df["consortium"]],
        "担当ITC": df["lead_coordinator"].fillna(DASH),
        "実施/予定": [f"{int(d)}/{int(p)}回" if p is not None and not pd.isna(p) else f"{int(d)}回"
                     for d, p in zip(df["sessions_done"], df["planned_sessions"])],
        "最終実施日": [fmt_date(v) for v in df["last_session_date"]],
        "経過日数": df["days_since_last_session"].astype("Int64"),
        "現在の段階": df["current_stage"].fillna(DASH),
    }).reset_index(drop=True)


def session_log_table(df: pd.DataFrame) -> pd.DataFrame:
    def bank(v):
        if v is None or v is pd.NA or (isinstance(v, float) and pd.isna(v)):
            return DASH
        return "あり" if bool(v) else "なし"
    return pd.DataFrame({
        "回": df["session_no"].astype(int),
        "実施日": [fmt_date(v) for v in df["date"]],
        "時間（分）": df["duration_min"].astype("Int64"),
        "段階": df["stage"].fillna(DASH),
        "テーマ": df["themes"].fillna("").replace("", DASH),
        "金融機関同行": [bank(v) for v in df["bank_attended"]],
        "担当ITC": df["coordinators"].fillna(DASH),
        "メモ": df["notes"].fillna(""),
    })
