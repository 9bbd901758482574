"""Builders for the 相談テーマ page: DataFrames (results of monitor/sql/theme_*.sql) in, plotly Figures and display
tables out. Japanese labels; every figure's title names what it shows and its subtitle carries the context (filters,
data as-of), so an exported image or a screenshot stands on its own."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go

from monitor.format import fmt_date_short, fmt_int, fmt_month, fmt_pct, is_missing
from monitor.plain import plotly_text
from monitor.views.style import (
    CATEGORY_PALETTE, COMMON, COMPANY, MUNICIPALITY, OTHER_CATEGORY, UNKNOWN, count_axis, style_figure,
    subtitle_extra_px,
)

UNMAPPED = "未分類"
OTHERS = "その他"
GRAINS = {"month": "月別", "quarter": "四半期別"}
# bar colours by the audience of a theme (taxonomy column themes.audience): the concept colours of 自治体 and 企業
AUDIENCE_COLORS = {"自治体": MUNICIPALITY, "企業": COMPANY, "共通": COMMON, UNMAPPED: UNKNOWN}
AUDIENCE_LABELS = {"自治体": "自治体向けテーマ", "企業": "企業向けテーマ", "共通": "共通テーマ", UNMAPPED: UNMAPPED}
# themes are named categories: the category palette (no concept colour: orange is 自治体, blue 企業 everywhere)
TREND_COLORS = CATEGORY_PALETTE
SHARE_NOTE = "構成比 = テーマ別件数 ÷ 全テーマの件数の合計（複数テーマの伴走記録は各テーマに数えます）"


def _layout(fig: go.Figure, title: str, context: str, *, height: int = 420) -> go.Figure:
    return style_figure(fig, title, context, height=height, legend_y=-0.12, legend_anchor="top")


def theme_label(v) -> str:
    """A theme name as shown; a missing theme is 未分類."""
    if is_missing(v) or str(v).strip() == "":
        return UNMAPPED
    return str(v)


def _ordered_themes(df: pd.DataFrame, value_col: str = "records") -> list[str]:
    """Themes by total count (descending), taxonomy order on ties, 未分類 last."""
    g = df.assign(_t=[theme_label(v) for v in df["theme"]])
    sort_col = "theme_sort_order" if "theme_sort_order" in g else None
    agg = g.groupby("_t", sort=False).agg(total=(value_col, "sum"),
                                          order=(sort_col, "min") if sort_col else (value_col, "size"))
    agg = agg.reset_index()
    agg["unmapped"] = agg["_t"] == UNMAPPED
    agg = agg.sort_values(["unmapped", "total", "order", "_t"], ascending=[True, False, True, True])
    return agg["_t"].tolist()


# ── theme bar ───────────────────────────────────────────────────────────────

def theme_bar_figure(counts: pd.DataFrame, context: str) -> go.Figure:
    """Horizontal bars: records per theme with its share, most frequent on top; one trace per theme audience
    (自治体 / 企業 / 共通 / 未分類), so each theme appears in exactly one trace.

    ``counts``: theme_counts rows (theme, audience, theme_sort_order, records, consultations, sessions, share)."""
    df = counts.copy()
    df["theme"] = [plotly_text(theme_label(v)) for v in df["theme"]]
    if "audience" not in df:
        df["audience"] = None
    df["audience"] = [UNMAPPED if t == UNMAPPED else (a if isinstance(a, str) and a in AUDIENCE_COLORS else "共通")
                      for t, a in zip(df["theme"], df["audience"])]
    total = float(df["records"].sum()) or 1.0
    if "share" not in df:
        df["share"] = df["records"] / total
    order = _ordered_themes(df)
    fig = go.Figure()
    for audience in AUDIENCE_COLORS:
        g = df[df["audience"] == audience]
        if g.empty:
            continue
        g = g.set_index("theme").loc[[t for t in order if t in set(g["theme"])]].reset_index()
        fig.add_trace(go.Bar(
            name=AUDIENCE_LABELS[audience],
            orientation="h",
            y=g["theme"].tolist(),
            x=[int(v) for v in g["records"]],
            text=[f"{fmt_int(v, '件')}（{fmt_pct(s)}）" for v, s in zip(g["records"], g["share"])],
            textposition="outside",
            cliponaxis=False,
            customdata=[[fmt_int(c, "件"), fmt_int(s, "件"), fmt_pct(sh)] for c, s, sh in
                        zip(g.get("consultations", [0] * len(g)), g.get("sessions", [0] * len(g)), g["share"])],
            hovertemplate=("%{y}<br>件数 %{x:,}件（構成比 %{customdata[2]}）<br>"
                           "相談記録 %{customdata[0]}・伴走記録 %{customdata[1]}<extra>%{fullData.name}</extra>"),
            marker_color=AUDIENCE_COLORS[audience],
        ))
    fig.update_layout(
        barmode="overlay",
        xaxis=count_axis(title="件数（件）"),
        yaxis={"title": None, "type": "category", "categoryorder": "array", "categoryarray": list(reversed(order)),
               "automargin": True},
    )
    fig.update_xaxes(range=[0, max(1.0, float(df["records"].max() if len(df) else 1)) * 1.25])
    return _layout(fig, "テーマ別の件数と構成比（相談記録・伴走記録）", context,
                   height=max(320, 28 * len(order) + 160))


def theme_count_table(counts: pd.DataFrame) -> pd.DataFrame:
    """The theme counts as a table (Japanese columns, formatted)."""
    df = counts.copy()
    df["theme"] = [theme_label(v) for v in df["theme"]]
    order = _ordered_themes(df)
    df = df.set_index("theme").loc[order].reset_index()
    return pd.DataFrame({
        "テーマ": df["theme"],
        "対象": [a if isinstance(a, str) else "—" for a in df.get("audience", [None] * len(df))],
        "件数": [fmt_int(v, "件") for v in df["records"]],
        "構成比": [fmt_pct(v) for v in df["share"]],
        "相談記録": [fmt_int(v, "件") for v in df["consultations"]],
        "伴走記録": [fmt_int(v, "件") for v in df["sessions"]],
    })


# ── trend ───────────────────────────────────────────────────────────────────

def fiscal_quarter_label(d) -> str:
    """First day of a quarter → '2022年度 第3四半期' (年度 quarters: Apr–Jun = 第1四半期)."""
    d = pd.Timestamp(d).date()
    fy = d.year if d.month >= 4 else d.year - 1
    q = ((d.month - 4) % 12) // 3 + 1
    return f"{fy}年度 第{q}四半期"


def period_label(d, grain: str) -> str:
    return fiscal_quarter_label(d) if grain == "quarter" else fmt_month(d)


def _period_range(start: dt.date, end: dt.date, grain: str) -> list[dt.date]:
    step = 3 if grain == "quarter" else 1
    out, y, m = [], start.year, start.month
    while dt.date(y, m, 1) <= end:
        out.append(dt.date(y, m, 1))
        m += step
        while m > 12:
            m -= 12
            y += 1
    return out


def theme_trend_figure(trend: pd.DataFrame, context: str, *, grain: str = "month", top_n: int = 8) -> go.Figure:
    """Stacked bars of records per period and theme: the ``top_n`` most frequent themes, the rest as その他.
    Periods without records are shown (as zero) so the time axis has no gaps.

    ``trend``: theme_trend rows (period, theme, theme_sort_order, records)."""
    df = trend.copy()
    df["theme"] = [plotly_text(theme_label(v)) for v in df["theme"]]
    df["period"] = [pd.Timestamp(p).date() for p in df["period"]]
    order = _ordered_themes(df)
    keep = order[:top_n]
    df["group"] = [t if t in keep else OTHERS for t in df["theme"]]
    groups = keep + ([OTHERS] if (df["group"] == OTHERS).any() else [])
    periods = _period_range(min(df["period"]), max(df["period"]), grain) if len(df) else []
    labels = [period_label(p, grain) for p in periods]
    pivot = df.pivot_table(index="period", columns="group", values="records", aggfunc="sum", fill_value=0)
    pivot = pivot.reindex(index=periods, columns=groups, fill_value=0)
    fig = go.Figure()
    for i, g in enumerate(groups):
        color = OTHER_CATEGORY if g == OTHERS else TREND_COLORS[i % len(TREND_COLORS)]
        fig.add_trace(go.Bar(
            name=g, x=labels, y=[int(v) for v in pivot[g]], marker_color=color,
            hovertemplate="%{x}<br>%{fullData.name}: %{y:,}件<extra></extra>",
        ))
    fig.update_layout(
        barmode="stack",
        xaxis={"title": None, "type": "category"},
        yaxis=count_axis(title="件数（件）"),
    )
    note = f"上位{top_n}テーマ、ほかは「{OTHERS}」" if len(order) > top_n else "全テーマ"
    return _layout(fig, f"テーマ別件数の推移（{GRAINS.get(grain, '月別')}・{note}）", context, height=460)


# ── heatmap ─────────────────────────────────────────────────────────────────

def heatmap_matrix(heat: pd.DataFrame) -> tuple[list[str], list[str], list[list[int]]]:
    """(themes in taxonomy order with 未分類 last, areas in code order, z[theme][area]) from theme_heatmap rows
    (theme, theme_sort_order, area, area_order, records)."""
    df = heat.copy()
    df["theme"] = [theme_label(v) for v in df["theme"]]
    t = df.groupby("theme").agg(order=("theme_sort_order", "min")).reset_index()
    t["unmapped"] = t["theme"] == UNMAPPED
    themes = t.sort_values(["unmapped", "order", "theme"])["theme"].tolist()
    a = df.groupby("area").agg(order=("area_order", "min")).reset_index()
    areas = a.sort_values(["order", "area"])["area"].tolist()
    pivot = df.pivot_table(index="theme", columns="area", values="records", aggfunc="sum", fill_value=0)
    pivot = pivot.reindex(index=themes, columns=areas, fill_value=0)
    return themes, areas, [[int(v) for v in row] for row in pivot.to_numpy()]


def _label_px(text: str, font_px: float) -> float:
    """Rough drawn width of a label: full-width (CJK) characters are one em, others about half."""
    return sum(font_px if ord(ch) > 0x2E7F else font_px * 0.6 for ch in str(text))


HEATMAP_HORIZONTAL_LABELS_PX = 560   # area labels stay horizontal while they all fit in about this width
HEATMAP_TICK_FONT = 12
HEATMAP_MAX_NUMBERED_AREAS = 24      # more areas than this: the cells are too narrow for their counts


def theme_heatmap_figure(heat: pd.DataFrame, context: str, *, area_label: str = "都道府県",
                         prefecture: str | None = None) -> go.Figure:
    """Theme × area heatmap with the count in each cell (blank where zero). ``area_label`` is 都道府県 or 市区町村
    (then ``prefecture`` names the one prefecture shown).

    The area labels run along the top; the top margin is sized for them (horizontal while they fit, turned
    vertical for many areas such as 47 prefectures) so they never reach the title and its context subtitle."""
    themes, areas, z = heatmap_matrix(heat)
    themes, areas = [plotly_text(t) for t in themes], [plotly_text(a) for a in areas]
    text = [[fmt_int(v) if v else "" for v in row] for row in z]
    tick_font = HEATMAP_TICK_FONT if len(areas) <= 30 else HEATMAP_TICK_FONT - 2
    longest = max((_label_px(a, tick_font) for a in areas), default=0.0)
    horizontal = len(areas) * (longest + 8) <= HEATMAP_HORIZONTAL_LABELS_PX
    labels_px = (tick_font + 6) if horizontal else longest + 8
    numbers = len(areas) <= HEATMAP_MAX_NUMBERED_AREAS       # narrower cells: colour only, the count on hover
    cell_font = 12 if len(areas) <= 16 else 10
    fig = go.Figure(go.Heatmap(
        z=z, x=areas, y=themes, text=text, texttemplate="%{text}" if numbers else "", textfont={"size": cell_font},
        colorscale="Blues",
        hovertemplate=f"%{{y}}<br>{area_label}: %{{x}}<br>件数 %{{z:,}}件<extra></extra>",
        colorbar={"title": {"text": "件数"}, "thickness": 14}, xgap=1, ygap=1,
    ))
    fig.update_layout(
        xaxis={"title": {"text": area_label, "standoff": 10}, "type": "category", "side": "top",
               "tickangle": 0 if horizontal else -90, "tickfont": {"size": tick_font},
               "tickmode": "array", "tickvals": areas, "ticktext": areas,     # every area labelled, none skipped
               "automargin": False},
        yaxis={"title": None, "type": "category", "autorange": "reversed", "automargin": True},
    )
    where = f"（{prefecture}）" if prefecture else ""
    note = "" if numbers else "（色の濃さ＝件数。件数はマウスを重ねると表示）"
    top = int(80 + subtitle_extra_px(context) + 12 + labels_px + 32)   # title + subtitle, a gap, labels, axis title
    fig = _layout(fig, f"テーマ × {area_label}{where}の件数{note}", context,
                  height=top + 26 * len(themes) + 30)
    # the title and subtitle stay at the top of the figure (by default plotly centres them in the top margin,
    # which here also holds the area labels)
    fig.update_layout(margin={"t": top, "b": 20},
                      title={"yref": "container", "y": 1.0, "yanchor": "top", "pad": {"t": 18}})
    return fig


# ── records ─────────────────────────────────────────────────────────────────

def theme_records_table(records: pd.DataFrame) -> pd.DataFrame:
    """The records behind a theme for display: 区分, 日付, 支援先, 都道府県, 市区町村, 記載内容（原文）, 概要・メモ."""
    def s(v):
        return "" if is_missing(v) else str(v)
    return pd.DataFrame({
        "区分": [s(v) for v in records["source"]],
        "日付": [fmt_date_short(v) for v in records["date"]],
        "支援先": [s(v) for v in records["client_name"]],
        "都道府県": [s(v) for v in records["prefecture"]],
        "市区町村": [s(v) for v in records["municipality"]],
        "記載内容（原文）": [s(v) for v in records["original_text"]],
        "概要・メモ": [s(v) for v in records["summary"]],
    })
