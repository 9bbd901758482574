"""Chart builders: DataFrames in, plotly Figures out. Japanese labels; every figure's title names what it shows and
its subtitle carries the context (filters, data as-of), so an exported image or screenshot stands on its own."""
from __future__ import annotations

import math
import re
from functools import lru_cache

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

from monitor.format import fmt_date, fmt_int, fmt_month, fmt_pct
from monitor.plain import plotly_text

FONT = "Noto Sans CJK JP, Noto Sans JP, Hiragino Sans, Meiryo, sans-serif"
NO_CONSORTIUM = "コンソーシアム外"
PALETTE = ["#1f5fa8", "#e07b39", "#3a9a5b", "#8e5ea2", "#c23b3b", "#6b7b8c", "#b8a037"]
FUNNEL_MAX_COLS = 3          # consortia side by side in the stage funnel before it wraps to a new row
# more consortia than this (47 at national scale): the per-consortium charts become heatmaps, one row per consortium,
# instead of bar groups or funnel panels that no one can read side by side
MANY_CONSORTIA = 6
HEATMAP_ROW_PX = 26          # one consortium's row in those heatmaps
RATE_COLORS = [[0.0, "#c23b3b"], [0.5, "#f7f7f7"], [1.0, "#1f5fa8"]]     # achievement: below 100 % red, above blue
STAGE_COLORS = ["#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b"]

# indicator key → (label, unit, actual column, target column)
KPI_INDICATORS = [
    ("companies", "支援企業数", "社", "companies", "target_companies"),
    ("sessions", "伴走支援 実施回数", "回", "sessions", "target_sessions"),
    ("dx_plans", "DX計画書策定数", "件", "dx_plans", "target_dx_plans"),
    ("seminar_attendees", "セミナー参加者数", "人", "seminar_attendees", "target_seminar_attendees"),
    ("consultations", "相談件数", "件", "consultations", "target_consultations"),
]


def style_figure(fig: go.Figure, title: str, context: str, *, height: int = 420,
                 legend_y: float = -0.25, legend_anchor: str = "bottom") -> go.Figure:
    """The on-screen look of every chart: the title says what it shows, the subtitle its context (filters, as-of)."""
    fig.update_layout(
        # the context names filter values (consortia, people): plotly would read markup in them
        title={"text": plotly_text(title), "subtitle": {"text": plotly_text(context)}, "x": 0.0, "xanchor": "left"},
        font={"family": FONT, "size": 13},
        height=height,
        margin={"l": 10, "r": 10, "t": 80, "b": 10},
        legend={"orientation": "h", "yanchor": legend_anchor, "y": legend_y, "x": 0},
    )
    set_template(fig, TEMPLATE)
    return fig


TEMPLATE = "plotly_white"


def style_layout(title: str, context: str, *, height: int = 420, legend_y: float = -0.25,
                 legend_anchor: str = "bottom") -> dict:
    """What ``style_figure`` sets, as plain plotly JSON (a new dict each call) for ``figure_from_spec``."""
    return {
        "title": {"text": plotly_text(title), "subtitle": {"text": plotly_text(context)}, "x": 0.0, "xanchor": "left"},
        "font": {"family": FONT, "size": 13},
        "height": height,
        "margin": {"l": 10, "r": 10, "t": 80, "b": 10},
        "legend": {"orientation": "h", "yanchor": legend_anchor, "y": legend_y, "x": 0},
        "template": _template_json(TEMPLATE),
    }


@lru_cache(maxsize=8)
def _template_json(name: str) -> dict:
    return pio.templates[name].to_plotly_json()


def figure_from_spec(data: list[dict], layout: dict) -> go.Figure:
    """A Figure from plain plotly JSON (what ``fig.to_dict()`` returns: full property names, nested dicts, plain
    lists), without plotly's property-by-property validation, which costs more than anything else in building a
    small chart (a bar trace ≈ 0.5 ms, each update_layout ≈ 1 ms, the template ≈ 7 ms). For the charts a page
    redraws on every filter change; tests/test_charts.py checks that each spec is what the validating constructor
    makes of it. The figure gets its own copy of ``data`` and ``layout``; later changes to it (update_layout, …) are
    validated as usual."""
    fig = go.Figure({"data": data, "layout": layout}, _validate=False)
    fig._validate = True                 # only the construction skips validation (children inherit the flag)
    fig.layout._validate = True
    for trace in fig.data:
        trace._validate = True
    return fig


def set_template(fig: go.Figure, name: str) -> None:
    """``fig.layout.template = name`` for a template registered in plotly.io.templates, assigned the way plotly
    assigns its own default template: without validating it again. Validating copies the whole template property by
    property (≈ 7 ms a figure, more than building the figure's traces); the result is the same."""
    template = pio.templates[name]
    layout = fig.layout
    if not getattr(fig, "_allow_disable_validation", False):      # e.g. a FigureWidget: the ordinary way
        layout.template = template
        return
    validate = layout._validate
    layout._validate = False
    try:
        layout.template = template
    finally:
        layout._validate = validate


_layout = style_figure


def consortium_label(v) -> str:
    return NO_CONSORTIUM if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA else str(v)


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
            if target is None or pd.isna(target) or float(target) <= 0:
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
            "marker": {"color": PALETTE[i % len(PALETTE)]}, "cliponaxis": False,
        })
    layout = style_layout("コンソーシアム別 目標達成率", context)
    layout["margin"]["r"] = 56
    layout.update({
        "barmode": "group",
        "xaxis": {"title": {}},
        "yaxis": {"title": {"text": "達成率（%）"}},
        # the 100 % line, as fig.add_hline draws it
        "shapes": [{"type": "line", "line": {"color": "#888", "dash": "dot"},
                    "x0": 0, "x1": 1, "xref": "x domain", "y0": 100, "y1": 100, "yref": "y"}],
        # the line's label sits outside the plot area, right of the line's end, so no bar label can collide with it
        "annotations": [{"x": 1, "xref": "paper", "xanchor": "left", "xshift": 4, "y": 100, "yref": "y",
                         "yanchor": "middle", "text": "目標<br>100%", "showarrow": False, "align": "left",
                         "font": {"size": 12, "color": "#666"}}],
    })
    return figure_from_spec(data, layout)


def _colorbar_len(rows: int) -> float:
    """A heatmap's colour bar about 300 pixels tall (a fraction of the plot), however many rows it has."""
    return min(1.0, 300 / (HEATMAP_ROW_PX * rows))


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
        "colorbar": {"title": {"text": "達成率"}, "ticksuffix": "%", "len": _colorbar_len(len(names))},
    }]
    layout = style_layout("コンソーシアム別 目標達成率", context, height=HEATMAP_ROW_PX * len(names) + 170)
    layout["margin"]["t"] = 110                   # the indicator names sit above the cells, below the subtitle
    layout.update({
        "xaxis": {"side": "top", "title": {}},
        "yaxis": {"autorange": "reversed", "type": "category", "title": {}},
    })
    return figure_from_spec(data, layout)


def monthly_activity_figure(monthly: pd.DataFrame, context: str) -> go.Figure:
    """伴走支援 sessions and consultations per month (bars), seminar attendees (line, right axis). Built as plain
    plotly JSON (``figure_from_spec``): it is redrawn on every filter change of 概要."""
    df = monthly.sort_values("month")
    labels = [fmt_month(m) for m in df["month"]]
    data = [
        {"type": "bar", "name": "伴走支援 実施回数（回）", "x": labels, "y": df["sessions"].astype(int).tolist(),
         "marker": {"color": PALETTE[0]}, "hovertemplate": "%{x}<br>伴走支援 %{y:,}回<extra></extra>"},
        {"type": "bar", "name": "相談件数（件）", "x": labels, "y": df["consultations"].astype(int).tolist(),
         "marker": {"color": PALETTE[1]}, "hovertemplate": "%{x}<br>相談 %{y:,}件<extra></extra>"},
        {"type": "scatter", "name": "セミナー参加者数（人）", "x": labels,
         "y": df["seminar_attendees"].astype(int).tolist(), "mode": "lines+markers", "yaxis": "y2",
         "marker": {"color": PALETTE[2]}, "hovertemplate": "%{x}<br>セミナー参加者 %{y:,}人<extra></extra>"},
    ]
    layout = style_layout("月別の活動状況", context)
    layout.update({
        "barmode": "group",
        "xaxis": {"title": {}, "type": "category"},
        "yaxis": {"title": {"text": "回数・件数"}, "rangemode": "tozero", "tickformat": ",d"},
        "yaxis2": {"title": {"text": "参加者数（人）"}, "overlaying": "y", "side": "right", "rangemode": "tozero",
                   "showgrid": False, "tickformat": ",d"},
    })
    return figure_from_spec(data, layout)


def stage_funnel_figure(funnel: pd.DataFrame, context: str) -> go.Figure:
    """Engagements that reached each stage: one funnel per consortium, side by side in its own panel (small
    multiples, so no funnel draws over another), stages in order top to bottom, each bar labelled with its count and
    its share of stage 1 (columns: consortium, stage_no, stage, engagements)."""
    df = funnel.copy()
    df["consortium_label"] = [plotly_text(consortium_label(v)) for v in df["consortium"]]
    groups = list(dict.fromkeys(df["consortium_label"]))
    if len(groups) > MANY_CONSORTIA:
        return _stage_reach_heatmap(df, groups, context)
    n_cols = max(1, min(len(groups), FUNNEL_MAX_COLS))
    n_rows = max(1, math.ceil(len(groups) / n_cols))
    fig = make_subplots(rows=n_rows, cols=n_cols, shared_yaxes=True, subplot_titles=groups,
                        horizontal_spacing=0.03,
                        # plotly refuses a spacing over 1 / (rows - 1): many consortia (47 at national scale) need less
                        vertical_spacing=min(0.12, 0.5 / (n_rows - 1)) if n_rows > 1 else 0.0)
    fig.update_annotations(font={"size": 14, "color": "#1c2430"}, yshift=6)     # the panel titles
    stage_labels = []
    for i, name in enumerate(groups):
        g = df[df["consortium_label"] == name].sort_values("stage_no")
        labels = [f"{int(n)}. {s}" for n, s in zip(g["stage_no"], g["stage"])]
        stage_labels += [lab for lab in labels if lab not in stage_labels]
        counts = g["engagements"].astype(int).tolist()
        first = counts[0] if counts else 0
        texts = [f"{fmt_int(v, '件')}（{fmt_pct(v / first) if first else '—'}）" for v in counts]
        fig.add_trace(go.Funnel(
            name=name, y=labels, x=counts, text=texts, textinfo="text", textposition="auto",
            textfont={"size": 13}, insidetextfont={"size": 13, "color": "#ffffff"},
            outsidetextfont={"size": 13, "color": "#1c2430"}, constraintext="none", cliponaxis=False,
            marker={"color": PALETTE[i % len(PALETTE)]},
            connector={"fillcolor": "rgba(160, 170, 185, 0.25)", "line": {"width": 0}},
            hovertemplate="%{y}<br>到達 %{x:,}件（第1段階の %{percentInitial:.1%}）<extra>%{fullData.name}</extra>",
            showlegend=False,
        ), row=i // n_cols + 1, col=i % n_cols + 1)
        for label, v, t in zip(labels, counts, texts):
            if v == 0:     # a zero-width bar draws no text: say 0件 where the bar would be
                fig.add_annotation(x=0, y=label, text=t, showarrow=False, font={"size": 13, "color": "#1c2430"},
                                   row=i // n_cols + 1, col=i % n_cols + 1)
    widest = max(1, int(df["engagements"].max()) if len(df) else 1)
    fig.update_xaxes(visible=False, range=[-widest / 2 * 1.02, widest / 2 * 1.02])   # one scale for every panel
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=stage_labels, autorange="reversed",
                     automargin=True, title=None)
    fig.update_layout(funnelmode="group")
    fig = _layout(fig, "伴走支援 段階別の到達件数（コンソーシアム別）", context,
                  height=n_rows * (44 * max(1, len(stage_labels)) + 60) + 130)
    fig.update_layout(margin={"t": 120})
    return fig


def funnel_choices(funnel: pd.DataFrame) -> tuple[dict[int, str], dict[str, str | None]]:
    """The stages (stage_no → 「N. 段階」) and consortia (label → value, None = outside any) of stage_funnel, in the
    chart's order: the choices of 「段階を選ぶ」 beside the chart."""
    stages = dict(zip(funnel["stage_no"].astype(int), [f"{int(n)}. {s}" for n, s in
                                                        zip(funnel["stage_no"], funnel["stage"])]))
    groups = {plotly_text(consortium_label(v)): (v if isinstance(v, str) else None) for v in funnel["consortium"]}
    return dict(sorted(stages.items())), groups


def funnel_stage_pick(funnel: pd.DataFrame, point: dict) -> tuple[str | None, int] | None:
    """The (consortium, stage_no) a click on stage_funnel_figure chose: a funnel bar (trace = consortium, y = stage
    label) or a heatmap cell (y = consortium label, x = stage label); consortium None = outside any consortium."""
    labels = [plotly_text(consortium_label(v)) for v in funnel["consortium"]]
    by_label = dict(zip(labels, funnel["consortium"]))
    groups = list(dict.fromkeys(labels))
    if len(groups) <= MANY_CONSORTIA:        # small multiples: one funnel trace per consortium
        i = point.get("curve_number")
        group = groups[i] if isinstance(i, int) and 0 <= i < len(groups) else None
        stage_label = point.get("y")
    else:                                    # the reach heatmap: a row per consortium, a column per stage
        group, stage_label = point.get("y"), point.get("x")
    found = re.match(r"\s*(\d+)\.", stage_label) if isinstance(stage_label, str) else None
    if group not in by_label or not found:
        return None
    consortium = by_label[group]
    return (consortium if isinstance(consortium, str) else None), int(found.group(1))


def _stage_reach_heatmap(df: pd.DataFrame, groups: list[str], context: str) -> go.Figure:
    """Many consortia: rows = consortia (top down, in the query's order), columns = stages in order, colour = share
    of the consortium's stage-1 engagements that reached the stage, each cell labelled with count and share."""
    stages = (df[["stage_no", "stage"]].drop_duplicates().sort_values("stage_no"))
    labels = [f"{int(n)}. {s}" for n, s in zip(stages["stage_no"], stages["stage"])]
    ticks = [f"{int(n)}. {two_lines(s)}" for n, s in zip(stages["stage_no"], stages["stage"])]
    counts = {(c, int(n)): int(v) for c, n, v in zip(df["consortium_label"], df["stage_no"], df["engagements"])}
    z, text = [], []
    for name in groups:
        first = counts.get((name, int(stages["stage_no"].iloc[0])), 0) if len(stages) else 0
        row = [counts.get((name, int(n)), 0) for n in stages["stage_no"]]
        z.append([round(100 * v / first, 1) if first else None for v in row])
        text.append([f"{v:,}件（{100 * v / first:.0f}%）" if first else f"{v:,}件" for v in row])
    fig = go.Figure(go.Heatmap(
        x=labels, y=groups, z=z, text=text, texttemplate="%{text}", textfont={"size": 11},
        colorscale=[[0.0, "#f7fbff"], [1.0, "#08519c"]], zmin=0, zmax=100, xgap=2, ygap=2,
        colorbar={"title": {"text": "第1段階に<br>対する割合"}, "ticksuffix": "%", "len": _colorbar_len(len(groups))},
        hovertemplate="%{y}<br>%{x}<br>到達 %{text}<extra></extra>"))
    fig.update_xaxes(side="top", tickangle=0, title=None, tickmode="array", tickvals=labels, ticktext=ticks,
                     tickfont={"size": 11})
    fig.update_yaxes(autorange="reversed", type="category", title=None)
    fig = _layout(fig, "伴走支援 段階別の到達件数（コンソーシアム別）", context,
                  height=HEATMAP_ROW_PX * len(groups) + 210)
    fig.update_layout(margin={"t": 140})          # the stage names, on two lines, above the cells below the subtitle
    return fig


def _char_class(ch: str) -> str:
    if "\u30a0" <= ch <= "\u30ff":
        return "katakana"
    if "\u3040" <= ch <= "\u309f":
        return "hiragana"
    if ch.isascii():
        return "latin"
    return "kanji"


def two_lines(text: str, width: int = 7) -> str:
    """A label of more than ``width`` characters on two lines (``<br>``), broken where a Japanese reader would:
    after a '・', else where the kind of script changes last within ``width`` (DXシステム|構成検討; a particle
    such as の stays with the word before it: DX計画書の|とりまとめ), else at ``width``."""
    if len(text) <= width:
        return text
    if "・" in text[1:-1]:
        cut = text.index("・", 1) + 1
    else:
        changes = [i for i in range(1, min(len(text), width + 1)) if _char_class(text[i]) != _char_class(text[i - 1])]
        cut = changes[-1] if changes else width
        if text[cut] in "のをにへがと" and cut + 1 < len(text):     # a particle stays with the word before it
            cut += 1
    return text[:cut] + "<br>" + text[cut:]


def engagement_timeline_figure(sessions: pd.DataFrame, context: str, *, as_of=None) -> go.Figure:
    """One row per engagement, a marker per session coloured by stage; ◆ = bank attended.
    Columns: engagement_id, client_name, session_no, date, stage_no, stage, bank_attended (stalled optional)."""
    df = sessions.copy()
    df["label"] = [plotly_text(f"{c}（{e}）") for c, e in zip(df["client_name"], df["engagement_id"])]
    order = list(dict.fromkeys(df["label"]))
    fig = go.Figure()
    for label in order:
        g = df[df["label"] == label].sort_values("session_no")
        fig.add_trace(go.Scatter(x=g["date"].tolist(), y=[label] * len(g), mode="lines",
                                 line={"color": "#bbbbbb", "width": 2}, hoverinfo="skip", showlegend=False))
    for stage_no in sorted(df["stage_no"].dropna().unique()):
        g = df[df["stage_no"] == stage_no]
        _add_timeline_markers(fig, g, f"{int(stage_no)}. {g['stage'].iloc[0]}",
                              STAGE_COLORS[(int(stage_no) - 1) % len(STAGE_COLORS)])
    unstaged = df[df["stage_no"].isna()]
    if len(unstaged):
        _add_timeline_markers(fig, unstaged, "段階不明", "#999999")
    if as_of is not None:
        fig.add_vline(x=pd.Timestamp(as_of).to_pydatetime().timestamp() * 1000, line_dash="dot",
                      line_color="#c23b3b", annotation_text=f"データ基準日 {fmt_date(as_of)}")
    fig.update_layout(
        xaxis={"title": None, "tickformat": "%Y年%-m月"},
        yaxis={"title": None, "categoryorder": "array", "categoryarray": list(reversed(order)), "type": "category"},
    )
    return _layout(fig, "伴走支援のタイムライン（案件別）", context, height=max(320, 120 + 34 * len(order)))


def _add_timeline_markers(fig: go.Figure, g: pd.DataFrame, name: str, color: str) -> None:
    bank = g["bank_attended"].fillna(False).astype(bool)
    fig.add_trace(go.Scatter(
        name=name, x=g["date"].tolist(), y=g["label"].tolist(), mode="markers",
        marker={"color": color, "size": 12, "line": {"color": "#333", "width": 1},
                "symbol": ["diamond" if b else "circle" for b in bank]},
        customdata=[[int(n), fmt_date(d), "あり" if b else "なし"]
                    for n, d, b in zip(g["session_no"], g["date"], bank)],
        hovertemplate="%{y}<br>第%{customdata[0]}回 %{customdata[1]}<br>" + name
                      + "<br>金融機関同行: %{customdata[2]}<extra></extra>",
    ))
