"""Builders for the 相談テーマ page: DataFrames (results of monitor/sql/theme_*.sql) in, plotly Figures and display
tables out. Japanese labels; every figure's title names what it shows and its subtitle carries the context (filters,
data as-of), so an exported image or a screenshot stands on its own."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from monitor.format import fmt_date, fmt_int, fmt_month, fmt_pct, is_missing
from monitor.plain import plotly_text
from monitor.views.style import (
    CATEGORY_PALETTE, COMMON, COMPANY, HEATMAP_ROW_PX, MUNICIPALITY, OTHER_CATEGORY, UNKNOWN, colorbar_len, count_axis,
    style_figure, subtitle_extra_px,
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


def _layout(fig: go.Figure, title: str, context: str, *, height: int = 420, legend_y: float = -0.12) -> go.Figure:
    return style_figure(fig, title, context, height=height, legend_y=legend_y, legend_anchor="top")


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


PERIOD_TICKS_MAX = 12        # level labels that fit beside the sidebar at 1,024 px; more periods: every k-th labelled


def period_ticks(periods: list[dt.date], labels: list[str], grain: str) -> tuple[list[str], list[str]]:
    """Short, level tick labels for the period axis: 「4月」, with the year under the first tick and wherever the year
    changes (「4月<br>2024年」); quarters 「第3四半期<br>2024年度」. The bars keep their full label (hover, tests)."""
    step = -(-len(periods) // PERIOD_TICKS_MAX) or 1
    vals, text, last_year = [], [], None
    for i, (p, label) in enumerate(zip(periods, labels)):
        if i % step:
            continue
        if grain == "quarter":
            fy, q = label.split(" ")
            text.append(f"{q}<br>{fy}" if fy != last_year else q)
            last_year = fy
        else:
            text.append(f"{p.month}月<br>{p.year}年" if p.year != last_year else f"{p.month}月")
            last_year = p.year
        vals.append(label)
    return vals, text


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
    tickvals, ticktext = period_ticks(periods, labels, grain)
    fig.update_layout(
        barmode="stack",
        xaxis={"title": None, "type": "category", "tickangle": 0, "tickmode": "array", "tickvals": tickvals,
               "ticktext": ticktext},
        yaxis=count_axis(title="件数（件）"),
    )
    note = f"上位{top_n}テーマ、ほかは「{OTHERS}」" if len(order) > top_n else "全テーマ"
    # the legend below the two-line period ticks (month, and the year where it changes)
    return _layout(fig, f"テーマ別件数の推移（{GRAINS.get(grain, '月別')}・{note}）", context, height=480,
                   legend_y=-0.2)


# ── heatmap ─────────────────────────────────────────────────────────────────

# what a cell shows: the count, or the row's share (構成比: the area's records per theme ÷ all its records)
HEATMAP_MEASURES = {"count": "件数", "share": "構成比"}
# how many areas (rows) are shown: the largest by total; 0 = every area
HEATMAP_TOPS = {10: "上位10", 20: "上位20", 50: "上位50", 0: "すべて"}
HEATMAP_DEFAULT_TOP = 50             # every prefecture (47); a large prefecture's 市区町村 cut to the 50 largest
HEATMAP_SHARE_NOTE = ("構成比 = その地域の件数に占める各テーマの件数の割合（行ごとに合計100%。"
                      "複数テーマの伴走記録は各テーマに数えます）")
HEATMAP_TOP_RULE = "件数の合計が多い順に選び、同数なら地域コードの小さい順。表示は地域コード順"


@dataclass(frozen=True)
class HeatmapRows:
    """The heatmap's matrix: ``areas`` (rows, in area-code order), ``themes`` (columns, taxonomy order with 未分類
    last), ``counts[area][theme]``, each shown area's ``totals`` and how many areas were ``left_out`` by top-N."""
    areas: list[str]
    themes: list[str]
    counts: list[list[int]]
    totals: list[int]
    left_out: int

    def shares(self) -> list[list[float]]:
        """Each row's share per theme in per cent (a row sums to 100)."""
        return [[100.0 * v / t if t else 0.0 for v in row] for row, t in zip(self.counts, self.totals)]


def heatmap_rows(heat: pd.DataFrame, top: int = 0) -> HeatmapRows:
    """The matrix of theme_heatmap rows (theme, theme_sort_order, area, area_order, records): one row per area in
    area-code order; with ``top`` > 0 only the ``top`` areas of the largest total (ties: the smaller area code
    first — HEATMAP_TOP_RULE), the others counted in ``left_out``."""
    df = heat.copy()
    df["theme"] = [theme_label(v) for v in df["theme"]]
    t = df.groupby("theme").agg(order=("theme_sort_order", "min")).reset_index()
    t["unmapped"] = t["theme"] == UNMAPPED
    themes = t.sort_values(["unmapped", "order", "theme"])["theme"].tolist()
    a = df.groupby("area").agg(order=("area_order", "min"), total=("records", "sum")).reset_index()
    a = a.sort_values(["order", "area"]).reset_index(drop=True)
    left_out = 0
    if top and len(a) > top:
        kept = a.sort_values(["total", "order", "area"], ascending=[False, True, True]).head(top).index
        left_out = len(a) - top
        a = a.loc[sorted(kept)]
    areas = a["area"].tolist()
    pivot = df.pivot_table(index="area", columns="theme", values="records", aggfunc="sum", fill_value=0)
    pivot = pivot.reindex(index=areas, columns=themes, fill_value=0)
    counts = [[int(v) for v in row] for row in pivot.to_numpy()]
    return HeatmapRows(areas, themes, counts, [sum(r) for r in counts], left_out)


def left_out_line(rows: HeatmapRows, area_label: str) -> str:
    """「ほか 12 市区町村は表示していません」 when top-N left areas out, else ''."""
    if not rows.left_out:
        return ""
    return f"ほか {rows.left_out:,} {area_label}は表示していません（{HEATMAP_TOP_RULE}）。"


def _label_px(text: str, font_px: float) -> float:
    """Rough drawn width of a label: full-width (CJK) characters are one em, others about half."""
    return sum(font_px if ord(ch) > 0x2E7F else font_px * 0.6 for ch in str(text))


HEATMAP_HORIZONTAL_LABELS_PX = 560   # theme labels stay horizontal while they all fit in about this width
HEATMAP_TICK_FONT = 12
HEATMAP_MAX_NUMBERED_COLUMNS = 24    # more themes than this: the cells are too narrow for their numbers


def theme_heatmap_figure(heat: pd.DataFrame, context: str, *, area_label: str = "都道府県",
                         prefecture: str | None = None, measure: str = "count", top: int = 0) -> go.Figure:
    """Area × theme heatmap: one row per area (都道府県, or 市区町村 when ``prefecture`` names the one prefecture
    shown), one column per theme; each cell the count (blank where zero) or, with ``measure='share'``, the row's
    share in per cent (構成比, a row sums to 100). ``top`` > 0: only that many areas (``heatmap_rows``).

    The height follows the rows (HEATMAP_ROW_PX each, as the per-consortium heatmaps), so 47 prefectures or 50
    municipalities each get a readable label. The theme labels run along the top; the top margin is sized for them
    (horizontal while they fit, else vertical) so they never reach the title and its context subtitle."""
    rows = heatmap_rows(heat, top)
    share = measure == "share"
    areas, themes = [plotly_text(a) for a in rows.areas], [plotly_text(t) for t in rows.themes]
    z = rows.shares() if share else rows.counts
    numbers = len(themes) <= HEATMAP_MAX_NUMBERED_COLUMNS       # narrower cells: colour only, the value on hover
    if share:
        # a share under 0.5 % reads "<1%", never "0%" beside a count
        text = [["" if not c else ("<1%" if v < 0.5 else fmt_pct(v / 100, 0)) for v, c in zip(zr, cr)]
                for zr, cr in zip(z, rows.counts)]
    else:
        text = [[fmt_int(v) if v else "" for v in row] for row in z]
    hover_counts = [[fmt_int(c, "件") for c in row] for row in rows.counts]
    hover_shares = [[fmt_pct(v / 100) for v in row] for row in rows.shares()]
    tick_font = HEATMAP_TICK_FONT
    longest = max((_label_px(t, tick_font) for t in themes), default=0.0)
    horizontal = len(themes) * (longest + 8) <= HEATMAP_HORIZONTAL_LABELS_PX
    labels_px = (tick_font + 6) if horizontal else longest + 8
    cell_font = 12 if len(themes) <= 12 else 10
    fig = go.Figure(go.Heatmap(
        z=z, x=themes, y=areas, text=text, texttemplate="%{text}" if numbers else "", textfont={"size": cell_font},
        customdata=[[[c, s] for c, s in zip(cr, sr)] for cr, sr in zip(hover_counts, hover_shares)],
        colorscale="Blues", zmin=0, zmax=100 if share else None,
        hovertemplate=(f"{area_label}: %{{y}}<br>テーマ: %{{x}}<br>件数 %{{customdata[0]}}"
                       f"（{area_label}内の構成比 %{{customdata[1]}}）<extra></extra>"),
        colorbar={"title": {"text": "構成比（%）" if share else "件数"}, "thickness": 14,
                  "len": colorbar_len(max(1, len(areas)))},
        xgap=1, ygap=1,
    ))
    fig.update_layout(
        xaxis={"title": {"text": "テーマ", "standoff": 10}, "type": "category", "side": "top",
               "tickangle": 0 if horizontal else -90, "tickfont": {"size": tick_font},
               "tickmode": "array", "tickvals": themes, "ticktext": themes,     # every theme labelled, none skipped
               "automargin": False},
        yaxis={"title": None, "type": "category", "autorange": "reversed", "automargin": True,
               "tickmode": "array", "tickvals": areas, "ticktext": areas,       # every area labelled, none skipped
               "tickfont": {"size": tick_font}},
    )
    where = f"（{prefecture}）" if prefecture else ""
    what = "構成比（行ごとに合計100%）" if share else "件数"
    shown = f"・上位{top}" if top and rows.left_out else ""
    note = "" if numbers else "（色の濃さ＝値。値はマウスを重ねると表示）"
    top_px = int(80 + subtitle_extra_px(context) + 12 + labels_px + 32)  # title + subtitle, a gap, labels, axis title
    fig = _layout(fig, f"{area_label}{where} × テーマの{what}{shown}{note}", context,
                  height=top_px + HEATMAP_ROW_PX * len(areas) + 30)
    # the title and subtitle stay at the top of the figure (by default plotly centres them in the top margin,
    # which here also holds the theme labels)
    fig.update_layout(margin={"t": top_px, "b": 20},
                      title={"yref": "container", "y": 1.0, "yanchor": "top", "pad": {"t": 18}})
    return fig


# ── records ─────────────────────────────────────────────────────────────────

def theme_records_table(records: pd.DataFrame) -> pd.DataFrame:
    """The records behind a theme for display: 区分, 日付, 支援先, 都道府県, 市区町村, 記載内容（原文）, 概要・メモ."""
    def s(v):
        return "" if is_missing(v) else str(v)
    return pd.DataFrame({
        "区分": [s(v) for v in records["source"]],
        "日付": [fmt_date(v) for v in records["date"]],
        "支援先": [s(v) for v in records["client_name"]],
        "都道府県": [s(v) for v in records["prefecture"]],
        "市区町村": [s(v) for v in records["municipality"]],
        "記載内容（原文）": [s(v) for v in records["original_text"]],
        "概要・メモ": [s(v) for v in records["summary"]],
    })
