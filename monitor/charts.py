"""Chart builders: DataFrames in, plotly Figures out. Japanese labels; every figure's title names what it shows and
its subtitle carries the context (filters, data as-of), so an exported image or screenshot stands on its own."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from monitor.format import fmt_date, fmt_int, fmt_month, fmt_pct

FONT = "Noto Sans CJK JP, Noto Sans JP, Hiragino Sans, Meiryo, sans-serif"
NO_CONSORTIUM = "コンソーシアム外"
PALETTE = ["#1f5fa8", "#e07b39", "#3a9a5b", "#8e5ea2", "#c23b3b", "#6b7b8c", "#b8a037"]
STAGE_COLORS = ["#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b"]

# indicator key → (label, unit, actual column, target column)
KPI_INDICATORS = [
    ("companies", "支援企業数", "社", "companies", "target_companies"),
    ("sessions", "伴走支援 実施回数", "回", "sessions", "target_sessions"),
    ("dx_plans", "DX計画書策定数", "件", "dx_plans", "target_dx_plans"),
    ("seminar_attendees", "セミナー参加者数", "人", "seminar_attendees", "target_seminar_attendees"),
    ("consultations", "相談件数", "件", "consultations", "target_consultations"),
]


def _layout(fig: go.Figure, title: str, context: str, *, height: int = 420) -> go.Figure:
    fig.update_layout(
        title={"text": title, "subtitle": {"text": context}, "x": 0.0, "xanchor": "left"},
        font={"family": FONT, "size": 13},
        height=height,
        margin={"l": 10, "r": 10, "t": 80, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": -0.25, "x": 0},
        template="plotly_white",
    )
    return fig


def consortium_label(v) -> str:
    return NO_CONSORTIUM if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA else str(v)


def kpi_comparison_figure(kpi: pd.DataFrame, context: str) -> go.Figure:
    """Achievement rate (actual / target, %) per indicator, one bar group per consortium.

    ``kpi``: rows of the kpi query (is_total false rows are used; consortia without any target are left out)."""
    rows = kpi[~kpi["is_total"].astype(bool)] if "is_total" in kpi else kpi
    fig = go.Figure()
    for i, (_, r) in enumerate(rows.iterrows()):
        xs, ys, texts, hovers = [], [], [], []
        for _key, label, unit, actual_col, target_col in KPI_INDICATORS:
            target = r.get(target_col)
            if target is None or pd.isna(target) or float(target) <= 0:
                continue
            actual = r.get(actual_col)
            rate = float(actual) / float(target)
            xs.append(label)
            ys.append(round(rate * 100, 1))
            texts.append(fmt_pct(rate))
            hovers.append(f"実績 {fmt_int(actual, unit)} / 目標 {fmt_int(target, unit)}")
        if not xs:
            continue
        fig.add_trace(go.Bar(
            name=consortium_label(r.get("consortium")), x=xs, y=ys, text=texts, textposition="outside",
            customdata=hovers, hovertemplate="%{x}<br>達成率 %{text}<br>%{customdata}<extra>%{fullData.name}</extra>",
            marker_color=PALETTE[i % len(PALETTE)],
        ))
    fig.add_hline(y=100, line_dash="dot", line_color="#888", annotation_text="目標 100%",
                  annotation_position="top right")
    fig.update_layout(barmode="group", yaxis_title="達成率（%）", xaxis_title=None)
    return _layout(fig, "コンソーシアム別 目標達成率", context)


def monthly_activity_figure(monthly: pd.DataFrame, context: str) -> go.Figure:
    """伴走支援 sessions and consultations per month (bars), seminar attendees (line, right axis)."""
    df = monthly.sort_values("month")
    labels = [fmt_month(m) for m in df["month"]]
    fig = go.Figure()
    fig.add_trace(go.Bar(name="伴走支援 実施回数（回）", x=labels, y=df["sessions"].astype(int).tolist(),
                         marker_color=PALETTE[0], hovertemplate="%{x}<br>伴走支援 %{y:,}回<extra></extra>"))
    fig.add_trace(go.Bar(name="相談件数（件）", x=labels, y=df["consultations"].astype(int).tolist(),
                         marker_color=PALETTE[1], hovertemplate="%{x}<br>相談 %{y:,}件<extra></extra>"))
    fig.add_trace(go.Scatter(name="セミナー参加者数（人）", x=labels, y=df["seminar_attendees"].astype(int).tolist(),
                             mode="lines+markers", yaxis="y2", marker_color=PALETTE[2],
                             hovertemplate="%{x}<br>セミナー参加者 %{y:,}人<extra></extra>"))
    fig.update_layout(
        barmode="group",
        xaxis={"title": None, "type": "category"},
        yaxis={"title": "回数・件数", "rangemode": "tozero", "tickformat": ",d"},
        yaxis2={"title": "参加者数（人）", "overlaying": "y", "side": "right", "rangemode": "tozero",
                "showgrid": False, "tickformat": ",d"},
    )
    return _layout(fig, "月別の活動状況", context)


def stage_funnel_figure(funnel: pd.DataFrame, context: str) -> go.Figure:
    """Engagements that reached each stage, one funnel trace per consortium (columns: consortium, stage_no, stage,
    engagements)."""
    fig = go.Figure()
    df = funnel.copy()
    df["consortium_label"] = [consortium_label(v) for v in df["consortium"]]
    for i, (name, g) in enumerate(df.groupby("consortium_label", sort=False)):
        g = g.sort_values("stage_no")
        fig.add_trace(go.Funnel(
            name=name, y=[f"{int(n)}. {s}" for n, s in zip(g["stage_no"], g["stage"])],
            x=g["engagements"].astype(int).tolist(), textinfo="value+percent initial",
            marker={"color": PALETTE[i % len(PALETTE)]},
            hovertemplate="%{y}<br>到達 %{x:,}件<extra>%{fullData.name}</extra>",
        ))
    fig.update_layout(funnelmode="group", yaxis_title=None)
    return _layout(fig, "伴走支援 段階別の到達件数（コンソーシアム別）", context, height=460)


def engagement_timeline_figure(sessions: pd.DataFrame, context: str, *, as_of=None) -> go.Figure:
    """One row per engagement, a marker per session coloured by stage; ◆ = bank attended.
    Columns: engagement_id, client_name, session_no, date, stage_no, stage, bank_attended (stalled optional)."""
    df = sessions.copy()
    df["label"] = [f"{c}（{e}）" for c, e in zip(df["client_name"], df["engagement_id"])]
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
