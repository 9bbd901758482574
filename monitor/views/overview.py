"""Builders for 概要 (app.py): DataFrames of the kpi, kpi_pace, monthly_activity and alerts_stalled queries in, the
KPI and pace cards, the per-consortium comparison (chart and table), the monthly chart, the stalled table and the
全年度 table out. Japanese labels; every figure's title names what it shows and its subtitle carries the context
(filters, data as-of), so an exported image or screenshot stands on its own. Pure pandas and plotly, but for
the last few helpers, which run the page's queries for one filter set (pace, years, the month behind a click)."""
from __future__ import annotations

from dataclasses import replace

import pandas as pd
import plotly.graph_objects as go

from monitor import pace
from monitor.format import DASH, fmt_date, fmt_int, fmt_month, fmt_pct, format_fiscal_year, is_missing
from monitor.glossary import help_text, label as glossary_label
from monitor.views.style import (
    BLUE, CATEGORY_PALETTE, COMPANY, HEATMAP_ROW_PX, MANY_CONSORTIA, MUNICIPALITY, RATE_COLORS, SEMINAR, STATUS_COLOURS,
    colorbar_len, consortium_label, count_axis, figure_from_spec, spec_axis_rules, style_layout, subtitle_extra_px,
)
from monitor.plain import plotly_text
from monitor.read.filters import Filters
from monitor.read.queries import data_as_of, run_query


# indicator key → (label, unit, actual column, target column)
KPI_INDICATORS = [
    ("companies", "支援企業数", "社", "companies", "target_companies"),
    ("sessions", "伴走支援 実施回数", "回", "sessions", "target_sessions"),
    ("dx_plans", "DX計画書策定数", "件", "dx_plans", "target_dx_plans"),
    ("seminar_attendees", "セミナー参加者数", "人", "seminar_attendees", "target_seminar_attendees"),
    ("consultations", "相談件数", "件", "consultations", "target_consultations"),
]


def achievement_series(kpi: pd.DataFrame) -> list[str]:
    """The consortium labels of kpi_comparison_figure, in trace (bars) or row (heatmap) order."""
    return [name for name, _rates in _achievement_rows(kpi)]


def _achievement_rows(kpi: pd.DataFrame) -> list[tuple[str, dict[str, tuple[float, str, str]]]]:
    """Per consortium (in the kpi query's order) its achievement per indicator label: (rate %, text, hover).
    Indicators without a target are left out, and so are consortia without any target."""
    rows = kpi[~kpi["is_total"].astype(bool)] if "is_total" in kpi else kpi
    columns = {c: rows[c].tolist() for c in ("consortium", *(c for k in KPI_INDICATORS for c in k[3:]))
               if c in rows}
    out = []
    for i in range(len(rows)):
        rates = {}
        for _key, label, unit, actual_col, target_col in KPI_INDICATORS:
            target = columns[target_col][i] if target_col in columns else None
            if is_missing(target) or float(target) <= 0:
                continue
            actual = columns[actual_col][i] if actual_col in columns else None
            rate = float(actual) / float(target)
            rates[label] = (round(rate * 100, 1), fmt_pct(rate),
                            f"実績 {fmt_int(actual, unit)} / 目標 {fmt_int(target, unit)}")
        if rates:
            out.append((plotly_text(consortium_label(columns["consortium"][i] if "consortium" in columns else None)),
                        rates))
    return out


def kpi_comparison_figure(kpi: pd.DataFrame, context: str) -> go.Figure:
    """Achievement rate (actual / target, %) per indicator: one bar group per consortium, or with more than
    MANY_CONSORTIA consortia a heatmap (one row per consortium, one column per indicator).

    ``kpi``: rows of the kpi query (is_total false rows are used; consortia without any target are left out).
    Built as plain plotly JSON (``figure_from_spec``): it is redrawn on every filter change of 概要."""
    series = _achievement_rows(kpi)
    if len(series) > MANY_CONSORTIA:
        return _kpi_comparison_heatmap(series, context)
    data = []
    for i, (name, rates) in enumerate(series):
        data.append({
            "type": "bar", "name": name,
            "x": list(rates), "y": [r[0] for r in rates.values()], "text": [r[1] for r in rates.values()],
            "textposition": "outside", "customdata": [r[2] for r in rates.values()],
            "hovertemplate": "%{x}<br>達成率 %{text}<br>%{customdata}<extra>%{fullData.name}</extra>",
            # consortia are named categories: the category palette, never a concept's colour (企業, 自治体, …)
            "marker": {"color": CATEGORY_PALETTE[i % len(CATEGORY_PALETTE)]}, "cliponaxis": False,
        })
    layout = style_layout("コンソーシアム別 目標達成率", context)
    layout["margin"]["r"] = 56
    layout.update({
        "barmode": "group",
        "xaxis": {"title": {}},
        "yaxis": {"title": {"text": "達成率（%）"}, "ticksuffix": "%"},
        # the 100 % line, as fig.add_hline draws it
        "shapes": [{"type": "line", "line": {"color": "#888", "dash": "dot"},
                    "x0": 0, "x1": 1, "xref": "x domain", "y0": 100, "y1": 100, "yref": "y"}],
        # the line's label sits outside the plot area, right of the line's end, so no bar label can collide with it
        "annotations": [{"x": 1, "xref": "paper", "xanchor": "left", "xshift": 4, "y": 100, "yref": "y",
                         "yanchor": "middle", "text": "目標<br>100%", "showarrow": False, "align": "left",
                         "font": {"size": 12, "color": "#666"}}],
    })
    return figure_from_spec(data, spec_axis_rules(data, layout))


INDICATOR_TICKS = {"支援企業数": "支援<br>企業数", "伴走支援 実施回数": "伴走支援<br>実施回数", "DX計画書策定数": "DX計画書<br>策定数",
                   "セミナー参加者数": "セミナー<br>参加者数", "相談件数": "相談<br>件数"}


def _kpi_comparison_heatmap(series, context: str) -> go.Figure:
    """Many consortia: rows = consortia (in the query's order, top down), columns = indicators, colour = achievement
    (red below 100 %, blue above, saturated at 50 % and 150 %), each cell labelled with its rate."""
    labels = [k[1] for k in KPI_INDICATORS if any(k[1] in rates for _name, rates in series)]
    names = [name for name, _rates in series]
    missing = (None, "—", "目標値の設定なし")
    cells = [[rates.get(label, missing) for label in labels] for _name, rates in series]
    data = [{
        "type": "heatmap", "x": labels, "y": names,
        "z": [[c[0] for c in row] for row in cells], "text": [[c[1] for c in row] for row in cells],
        "customdata": [[c[2] for c in row] for row in cells], "texttemplate": "%{text}",
        "hovertemplate": "%{y}<br>%{x}<br>達成率 %{text}<br>%{customdata}<extra></extra>",
        "colorscale": RATE_COLORS, "zmin": 50, "zmax": 150, "xgap": 2, "ygap": 2,
        "colorbar": {"title": {"text": "達成率"}, "ticksuffix": "%", "len": colorbar_len(len(names))},
    }]
    layout = style_layout("コンソーシアム別 目標達成率", context, height=HEATMAP_ROW_PX * len(names) + 170)
    layout["margin"]["t"] = 110 + subtitle_extra_px(context)   # the indicator names: above the cells, below the subtitle
    # the indicator names on two lines and level (turned, they ran into the subtitle in a 1,024-pixel window), the
    # title pinned to the top of the figure
    layout["margin"]["t"] += 16
    layout["title"].update({"yref": "container", "y": 1.0, "yanchor": "top", "pad": {"t": 10}})
    layout.update({
        "xaxis": {"side": "top", "title": {}, "tickangle": 0, "tickmode": "array", "tickvals": labels,
                  "ticktext": [INDICATOR_TICKS.get(label, label) for label in labels], "tickfont": {"size": 11}},
        "yaxis": {"autorange": "reversed", "type": "category", "title": {}},
    })
    return figure_from_spec(data, spec_axis_rules(data, layout))


SEMINAR_PANEL = [0.0, 0.26]       # the seminar attendees' own small panel under the sessions and consultations
ACTIVITY_PANEL = [0.40, 1.0]


def monthly_activity_figure(monthly: pd.DataFrame, context: str) -> go.Figure:
    """伴走支援 sessions and consultations per month (bars), and under them, in a small panel of their own on the same
    months, seminar attendees (bars only in the months a seminar was held: a line through the months without one
    would invent a trend, and a second axis over the bars would invite comparing unlike numbers). Every trace has
    the same months, so a click's point index is a month of the query. Built as plain plotly JSON
    (``figure_from_spec``): it is redrawn on every filter change of 概要."""
    df = monthly.sort_values("month")
    labels = [fmt_month(m) for m in df["month"]]
    attendees = [int(v) if int(v) > 0 else None for v in df["seminar_attendees"]]
    data = [
        {"type": "bar", "name": "伴走支援 実施回数（回）", "x": labels, "y": df["sessions"].astype(int).tolist(),
         "marker": {"color": COMPANY}, "hovertemplate": "%{x}<br>伴走支援 %{y:,}回<extra></extra>"},
        {"type": "bar", "name": "相談件数（件）", "x": labels, "y": df["consultations"].astype(int).tolist(),
         "marker": {"color": MUNICIPALITY}, "hovertemplate": "%{x}<br>相談 %{y:,}件<extra></extra>"},
        {"type": "bar", "name": "セミナー参加者数（人）", "x": labels, "y": attendees, "yaxis": "y2",
         "marker": {"color": SEMINAR}, "width": 0.5,
         "hovertemplate": "%{x}<br>セミナー参加者 %{y:,}人<extra></extra>"},
    ]
    layout = style_layout("月別の活動状況", context, height=500)
    layout.update({
        "barmode": "group",
        "xaxis": {"title": {}, "type": "category", "anchor": "y2"},
        "yaxis": count_axis(title={"text": "回数・件数"}, domain=ACTIVITY_PANEL),
        "yaxis2": count_axis(title={"text": "参加者（人）"}, domain=SEMINAR_PANEL),
        "annotations": [{"text": "セミナー参加者数（人）：開催した月のみ", "showarrow": False, "xref": "paper", "x": 0,
                         "xanchor": "left", "yref": "paper", "y": SEMINAR_PANEL[1] + 0.02, "yanchor": "bottom",
                         "font": {"size": 12, "color": "#4a5563"}}],
    })
    if not any(attendees):
        layout["annotations"][0]["text"] = "セミナー参加者数（人）：この期間にセミナーの記録はありません"
    return figure_from_spec(data, spec_axis_rules(data, layout))


def _ratio(actual, target):
    if is_missing(target) or float(target) == 0:
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
            detail = (f"予定 {fmt_int(planned, unit)}・{glossary_label('session_rate')} {fmt_pct(progress)}・"
                      + detail)
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
    if not is_missing(target) and float(target) > 1:
        target = float(target) / 100  # a target written as a percentage (e.g. 50) instead of a ratio
    rate = _ratio(bank_rate, target) if not is_missing(bank_rate) else None
    cards.append({
        "key": "bank_rate", "label": "金融機関同行率", "value": fmt_pct(bank_rate),
        "detail": (f"同行 {fmt_int(total['bank_sessions'], '回')} / 記録 {fmt_int(total['bank_known_sessions'], '回')}"
                   + (f"・目標 {fmt_pct(target)}・達成率 {fmt_pct(rate)}" if not is_missing(target)
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
            out[name] = [None if is_missing(v) else round(100 * float(v), 1) for v in values(rows)]
        else:
            out[name] = pd.array([None if is_missing(v) else int(v) for v in values(rows)], dtype="Int64")
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


def attention_table(df: pd.DataFrame) -> pd.DataFrame:
    """Stalled engagements for 概要."""
    return pd.DataFrame({
        "支援先": df["client_name"],
        "コンソーシアム": [consortium_label(v) for v in df["consortium"]],
        "担当ITC": df["lead_coordinator"].fillna(DASH),
        "実施/予定": [f"{int(d)}/{int(p)}回" if not is_missing(p) else f"{int(d)}回"
                     for d, p in zip(df["sessions_done"], df["planned_sessions"])],
        "最終実施日": [fmt_date(v) for v in df["last_session_date"]],
        "経過日数": df["days_since_last_session"].astype("Int64"),
        "現在の段階": df["current_stage"].fillna(DASH),
    }).reset_index(drop=True)


# ── pace (概要's cards with one 年度 chosen) ─────────────────────────────────────────────────────────────

PACE_INDICATORS = [(key, unit, actual_col, target_col) for key, _label, unit, actual_col, target_col in KPI_INDICATORS]


def pace_cards(total: pd.Series, pace_total: pd.Series, fiscal_year: int, as_of) -> dict[str, dict]:
    """For each count indicator of the cards: {elapsed, status, status_word, yoy, prev_same, projection, reaches,
    lines} (lines: the display text under the card), from the kpi row and the kpi_pace row of the whole selection.
    The rules: data/reference/indicators.csv (fy_elapsed, pace_status, yoy, projection)."""
    elapsed = pace.elapsed_share(fiscal_year, as_of)
    out = {}
    for key, unit, actual_col, target_col in PACE_INDICATORS:
        target = total[target_col]
        target = None if is_missing(target) else float(target)
        actual = float(pace_total[key])
        prev_same = pace_total.get(f"{key}_prev_same")
        prev_same = None if is_missing(prev_same) else float(prev_same)
        prev_total = pace_total.get(f"{key}_prev_total")
        prev_total = None if is_missing(prev_total) else float(prev_total)
        yoy = pace.year_over_year(actual, prev_same)
        proj = pace.projection(actual, elapsed, prev_same, prev_total)
        state = pace.status(None if proj is None else proj.value, target, elapsed is not None and elapsed >= 1.0)
        reaches = None if proj is None or target is None else proj.value >= target
        lines = []
        if yoy is not None:
            lines.append(f"{glossary_label('yoy')} {fmt_pct(yoy)}（前年度同期 {fmt_int(prev_same, unit)}）")
        if proj is not None and "actual" not in proj.methods:
            span = (f"（{fmt_int(proj.low)}〜{fmt_int(proj.high, unit)}）" if round(proj.low) != round(proj.high)
                    else "")
            verdict = "" if reaches is None else ("・目標達成の見込み" if reaches else "・目標に届かない見込み")
            lines.append(f"{glossary_label('projection')} {fmt_int(proj.value, unit)}{span}{verdict}")
        out[key] = {"elapsed": elapsed, "status": state, "status_word": pace.STATUS_WORDS.get(state),
                    "yoy": yoy, "prev_same": prev_same, "projection": proj, "reaches": reaches, "lines": lines}
    return out


def behind_pace(cards: dict[str, dict]) -> list[str]:
    """The labels of the indicators whose status is 注意 or 遅れ (or 未達), in card order."""
    names = {key: label for key, label, *_ in KPI_INDICATORS}
    return [names[k] for k, c in cards.items() if c["status"] in ("watch", "behind", "missed")]


def pace_bar_html(rate: float | None, elapsed: float | None, status: str | None) -> str:
    """A progress bar of the achievement rate with a marker at the 年度経過率 (numbers only: nothing from a record)."""
    width = 0.0 if rate is None else max(0.0, min(rate, 1.0)) * 100
    colour = STATUS_COLOURS.get(status or "", BLUE)
    marker = "" if elapsed is None else (
        f'<span title="年度経過率 {elapsed * 100:.1f}%" style="position:absolute;left:calc({elapsed * 100:.2f}% - 1px);'
        'top:-3px;width:2px;height:14px;background:#1c2430"></span>')
    return ('<div style="position:relative;height:8px;background:#e3e8ef;border-radius:4px;margin:6px 0 4px 0">'
            f'<div style="width:{width:.2f}%;height:8px;background:{colour};border-radius:4px"></div>{marker}</div>')


def years_table(kpi_by_year: dict[int, pd.DataFrame]) -> pd.DataFrame:
    """全年度: each KPI per 年度 (事業全体 and each consortium), never summed over years. Numbers, rates in percent."""
    rows = []
    for fy, kpi in sorted(kpi_by_year.items(), reverse=True):
        for r in kpi.itertuples():
            if not r.is_total and not isinstance(r.consortium, str):
                continue
            row = {"年度": format_fiscal_year(fy), "コンソーシアム": "事業全体" if r.is_total else r.consortium}
            for key, label, _unit, actual_col, target_col in KPI_INDICATORS:
                actual, target = getattr(r, actual_col), getattr(r, target_col)
                row[label] = int(actual)
                rate = _ratio(actual, target)
                row[f"{label} 達成率"] = None if rate is None else round(100 * rate, 1)
            row["金融機関同行率"] = None if is_missing(r.bank_rate) else round(100 * float(r.bank_rate), 1)
            rows.append(row)
    return pd.DataFrame(rows)


YEARS_NUMBER_FORMATS = {**{label: f"%,d{unit}" for _k, label, unit, *_ in KPI_INDICATORS},
                        **{f"{label} 達成率": "%.1f%%" for _k, label, *_ in KPI_INDICATORS},
                        "金融機関同行率": "%.1f%%"}


def pace_for(filters: Filters, total: pd.Series) -> dict[str, dict] | None:
    """The pace cards of one fiscal year over its whole span (None for 全年度, or when a period or coordinator filter
    makes "the share of the year passed" meaningless, or when there is no as-of date)."""
    if filters.fiscal_year is None or filters.date_from or filters.date_to or filters.coordinators:
        return None
    as_of = data_as_of()
    if as_of is None:
        return None
    cutoff = min(as_of, pace.fiscal_year_bounds(filters.fiscal_year)[1])
    pace_row = run_query("kpi_pace", filters, cutoff=cutoff, prev_cutoff=pace.same_day_last_year(cutoff)).iloc[0]
    return pace_cards(total, pace_row, filters.fiscal_year, as_of)


def pace_line(cards: dict[str, dict]) -> str:
    """年度経過率 and which indicators are behind the target pace, as one line of plain text."""
    behind = behind_pace(cards)
    elapsed = next(iter(cards.values()))["elapsed"]
    return (f"年度経過率 {elapsed * 100:.1f}%｜" + (f"目標ペースを下回る指標: {'・'.join(behind)}" if behind
                                                  else "すべての指標が目標ペース以上です"))


def kpi_by_year(filters: Filters, years: list[int]) -> dict[int, pd.DataFrame]:
    """The kpi query once per fiscal year under the other filters (全年度: the years side by side)."""
    return {fy: run_query("kpi", replace(filters, fiscal_year=fy)) for fy in years}


def alerts_frame(alerts: list) -> pd.DataFrame:
    return pd.DataFrame({"種類": [a.kind_label for a in alerts], "コンソーシアム": [a.consortium for a in alerts],
                         "対象": [a.subject for a in alerts], "内容": [a.detail for a in alerts]})


def month_at(filters: Filters, index: int):
    """The month of the monthly chart's point ``index`` (None when out of range)."""
    months = sorted(run_query("monthly_activity", filters)["month"])
    return pd.Timestamp(months[index]).date() if 0 <= index < len(months) else None
