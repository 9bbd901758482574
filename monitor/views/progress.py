"""Builders for 伴走支援の進捗 (pages/1): the stage funnel (or, for many consortia, a heatmap), the engagement
table, one engagement's timeline and session log. DataFrames of the engagement_progress_page, stage_funnel and
engagement_sessions queries in, plotly Figures and display tables (Japanese columns) out. Pure pandas and plotly."""
from __future__ import annotations

import math
import re

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from monitor.format import DASH, fmt_date, fmt_int, fmt_pct, is_missing
from monitor.plain import plotly_text
from monitor.views.style import (
    COMPANY, HEATMAP_ROW_PX, MANY_CONSORTIA, STAGE_COLORS, UNKNOWN, colorbar_len, consortium_label,
    style_figure, subtitle_extra_px,
)


FUNNEL_MAX_COLS = 3          # consortia side by side in the stage funnel before it wraps to a new row


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
            # every panel counts engagements (伴走支援): one concept, one colour; the panel title names the consortium
            marker={"color": COMPANY},
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
    fig = style_figure(fig, "伴走支援 段階別の到達件数（コンソーシアム別）", context,
                  height=n_rows * (44 * max(1, len(stage_labels)) + 60) + 130)
    fig.update_layout(margin={"t": 120 + subtitle_extra_px(context)})
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
    counts = {(c, int(n)): int(v) for c, n, v in zip(df["consortium_label"], df["stage_no"], df["engagements"])}
    z, text = [], []
    for name in groups:
        first = counts.get((name, int(stages["stage_no"].iloc[0])), 0) if len(stages) else 0
        row = [counts.get((name, int(n)), 0) for n in stages["stage_no"]]
        z.append([round(100 * v / first, 1) if first else None for v in row])
        text.append([f"{v:,}件（{100 * v / first:.0f}%）" if first else f"{v:,}件" for v in row])
    # a cell shows the share only (it fits a cell of a 1,024-pixel window's chart); the hover adds the count
    fig = go.Figure(go.Heatmap(
        x=labels, y=groups, z=z, text=text, texttemplate="%{z:.0f}%", textfont={"size": 11},
        colorscale=[[0.0, "#f7fbff"], [1.0, "#08519c"]], zmin=0, zmax=100, xgap=2, ygap=2,
        colorbar={"title": {"text": "第1段階に<br>対する割合"}, "ticksuffix": "%", "len": colorbar_len(len(groups))},
        hovertemplate="%{y}<br>%{x}<br>到達 %{text}<extra></extra>"))
    # the stage names turned upright above their columns: level, seven names ran into each other in a narrow chart
    longest = max((len(lab) for lab in labels), default=0)
    names_px = 11 * longest + 12
    fig.update_xaxes(side="top", tickangle=-90, title=None, tickmode="array", tickvals=labels, ticktext=labels,
                     tickfont={"size": 11}, automargin=False)
    fig.update_yaxes(autorange="reversed", type="category", title=None)
    top = 80 + subtitle_extra_px(context) + names_px
    fig = style_figure(fig, "伴走支援 段階別の到達件数（コンソーシアム別）", context,
                       height=HEATMAP_ROW_PX * len(groups) + top + 30 - subtitle_extra_px(context))
    fig.update_layout(margin={"t": top}, title={"yref": "container", "y": 1.0, "yanchor": "top", "pad": {"t": 10}})
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


TIMELINE_SYMBOLS = {False: "circle", True: "diamond"}      # ◆ = 金融機関同行あり, ● = なし（または記録なし）


def fiscal_year_of(d) -> int:
    d = pd.Timestamp(d)
    return d.year if d.month >= 4 else d.year - 1


def timeline_range(dates, fiscal_year: int | None = None) -> list[str]:
    """The timeline's x range: the whole 年度 (April 1 to March 31) of ``fiscal_year``, or else the 年度 from the
    first session's to the last session's; a few days either side so a marker on the edge is drawn whole."""
    ds = [pd.Timestamp(d) for d in dates if not is_missing(d)]
    first = fiscal_year if fiscal_year is not None else (fiscal_year_of(min(ds)) if ds else None)
    last = fiscal_year if fiscal_year is not None else (fiscal_year_of(max(ds)) if ds else None)
    if first is None:
        return []
    start = pd.Timestamp(first, 4, 1) - pd.Timedelta(days=5)
    end = pd.Timestamp(last + 1, 3, 31) + pd.Timedelta(days=5)
    return [start.strftime("%Y-%m-%d"), end.strftime("%Y-%m-%d")]


def engagement_timeline_figure(sessions: pd.DataFrame, context: str, *, as_of=None,
                               fiscal_year: int | None = None) -> go.Figure:
    """One row per engagement, a marker per session coloured by stage (one colour per stage, the seven told apart);
    ◆ = 金融機関同行あり, ● = なし, both explained in the legend, which stands above the chart so it never covers the
    dates. The x axis spans the 年度 (``fiscal_year``, else those of the sessions), ticks every month.
    Columns: engagement_id, client_name, session_no, date, stage_no, stage, bank_attended (stalled optional)."""
    df = sessions.copy()
    df["label"] = [plotly_text(f"{c}（{e}）") for c, e in zip(df["client_name"], df["engagement_id"])]
    order = list(dict.fromkeys(df["label"]))
    # the row labels on two lines (name, then the engagement id), so the dates keep most of a narrow chart's width
    ticks = [plotly_text(f"{c}") + "<br>" + plotly_text(f"（{e}）") for c, e in
             dict.fromkeys(zip(df["client_name"], df["engagement_id"]))]
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
        _add_timeline_markers(fig, unstaged, "段階不明", UNKNOWN)
    # the two symbols, explained once (white: the colour says the stage, the shape the bank)
    for bank, name in ((True, "金融機関同行あり（◆）"), (False, "同行なし・記録なし（●）")):
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=name, hoverinfo="skip",
                                 marker={"color": "#ffffff", "size": 11, "symbol": TIMELINE_SYMBOLS[bank],
                                         "line": {"color": "#333", "width": 1.5}}))
    x_range = timeline_range(df["date"], fiscal_year)
    if as_of is not None:
        fig.add_vline(x=pd.Timestamp(as_of).to_pydatetime().timestamp() * 1000, line_dash="dot",
                      line_color="#c23b3b", annotation_text=f"データ基準日 {fmt_date(as_of)}",
                      annotation_position="top left", annotation_font={"size": 11, "color": "#c23b3b"})
    fig.update_layout(
        # a label every quarter (readable in a narrow chart), a grid line every month
        xaxis={"title": None, "type": "date", "tickformat": "%Y年<br>%-m月", "dtick": "M3",
               "tick0": f"{x_range[0][:4]}-04-01" if x_range else None,      # quarters of the 年度: 4月, 7月, …
               "range": x_range or None, "showgrid": True, "gridcolor": "#d5dbe3",
               "minor": {"dtick": "M1", "showgrid": True, "gridcolor": "#eef1f5"}},
        yaxis={"title": None, "categoryorder": "array", "categoryarray": list(reversed(order)), "type": "category",
               "tickmode": "array", "tickvals": order, "ticktext": ticks, "tickfont": {"size": 11}},
    )
    entries = sum(1 for t in fig.data if t.showlegend is not False)
    # The legend stands between the subtitle and the plot, at a fixed place in pixels (the figure's height is known),
    # its entries of a fixed width: at most TIMELINE_LEGEND_PER_ROW to a row where the chart is narrowest (a
    # 1,024-pixel window), so the top margin is sized for its rows and it never covers a date or a marker.
    rows = -(-entries // TIMELINE_LEGEND_PER_ROW)
    plot_px = 38 * len(order) + 40
    title_px = TIMELINE_TITLE_PX + subtitle_extra_px(context)
    top = title_px + rows * TIMELINE_LEGEND_ROW_PX + 16
    height = top + plot_px + 60
    fig = style_figure(fig, "伴走支援のタイムライン（案件別）", context, height=height - subtitle_extra_px(context))
    fig.update_layout(margin={"t": top, "b": 60},
                      legend={"yref": "container", "y": 1 - title_px / height, "yanchor": "top",
                              "xref": "container", "x": 0.01, "xanchor": "left", "entrywidth": 190,
                              "entrywidthmode": "pixels", "font": {"size": 12}},
                      title={"yref": "container", "y": 1.0, "yanchor": "top", "pad": {"t": 10}})
    return fig


TIMELINE_TITLE_PX = 74            # the title and its subtitle, from the top of the figure
TIMELINE_LEGEND_ROW_PX = 24
TIMELINE_LEGEND_PER_ROW = 2       # 190-pixel entries in the narrowest chart (about 560 px wide at 1,024 px)


def _add_timeline_markers(fig: go.Figure, g: pd.DataFrame, name: str, color: str) -> None:
    """One stage's sessions: circles and diamonds in two traces of one legend group, and the group's legend entry
    a circle of its own (x = [None]), so the legend says the stage by colour whichever sessions came with a bank."""
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=name, legendgroup=name, hoverinfo="skip",
                             marker={"color": color, "size": 12, "line": {"color": "#333", "width": 1},
                                     "symbol": TIMELINE_SYMBOLS[False]}))
    bank = g["bank_attended"].fillna(False).astype(bool)
    for attended in (False, True):
        part = g[bank == attended]
        if part.empty:
            continue
        fig.add_trace(go.Scatter(
            name=name, legendgroup=name, showlegend=False, x=part["date"].tolist(), y=part["label"].tolist(),
            mode="markers",
            marker={"color": color, "size": 12, "line": {"color": "#333", "width": 1},
                    "symbol": TIMELINE_SYMBOLS[attended]},
            customdata=[[int(n), fmt_date(d), "あり" if attended else "なし・記録なし"]
                        for n, d in zip(part["session_no"], part["date"])],
            hovertemplate="%{y}<br>第%{customdata[0]}回 %{customdata[1]}<br>" + name
                          + "<br>金融機関同行: %{customdata[2]}<extra></extra>",
        ))


# what a manager looks at first (how long without support, the status, stalled, whose) right after 支援先, so it is on
# screen at 1024 px without scrolling sideways; the details follow
PROGRESS_COLUMNS = ["支援先", "最終実施日", "経過日数", "状況", "停滞", "コンソーシアム", "現在の段階", "実施/予定", "進捗",
                    "担当ITC", "市区町村", "案件ID"]


def progress_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per engagement for 伴走支援の進捗 (progress as 0..1 for a ProgressColumn), in PROGRESS_COLUMNS order."""
    planned = df["planned_sessions"]
    out = pd.DataFrame({
        "案件ID": df["engagement_id"].astype(str),
        "支援先": df["client_name"],
        "市区町村": df["municipality"].fillna(DASH),
        "担当ITC": df["lead_coordinator"].fillna(DASH),
        "実施/予定": [f"{int(d)}/{int(p)}回" if not is_missing(p) else f"{int(d)}回"
                     for d, p in zip(df["sessions_done"], planned)],
        "進捗": df["progress_ratio"].astype("Float64").clip(upper=1.0),
        "現在の段階": [f"{int(n)}. {s}" if not is_missing(n) else DASH
                       for n, s in zip(df["current_stage_no"], df["current_stage"])],
        "最終実施日": [fmt_date(v) for v in df["last_session_date"]],
        "経過日数": df["days_since_last_session"].astype("Int64"),
        "状況": df["status"].fillna(DASH),
        "停滞": ["⚠ 停滞" if bool(s) else "" for s in df["stalled"]],
        "コンソーシアム": [consortium_label(v) for v in df["consortium"]],
    })
    return out[PROGRESS_COLUMNS]


def progress_print_table(table: pd.DataFrame) -> pd.DataFrame:
    """``progress_table`` for the print layout (a static table): 進捗 and 経過日数 as text, as the interactive table's
    column formats show them."""
    out = table.copy()
    out["進捗"] = [DASH if is_missing(v) else f"{float(v):.0%}" for v in out["進捗"]]
    out["経過日数"] = [DASH if is_missing(v) else f"{int(v)}日" for v in out["経過日数"]]
    # a static table renders its cells as Markdown: '3. 現状分析' would become a numbered list (taller rows, a
    # different number); a no-break space after the number keeps it plain text that looks the same
    out["現在の段階"] = [re.sub(r"^(\d+)\. ", "\\1.\u00a0", str(v)) for v in out["現在の段階"]]
    return out


def session_log_table(df: pd.DataFrame) -> pd.DataFrame:
    def bank(v):
        if is_missing(v):
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
