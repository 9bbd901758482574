"""The chart rules of issue 16 on the figure objects themselves: ticks (round, 桁区切り, no SI "k", whole numbers for
small counts, no 'sync' ticks), one colour per concept across the builders, no zeros after the as-of date, the
timeline's legend and range, and the mode-bar config. Expected values are worked out here from the rule, not taken
from the code's own helpers."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go
import pytest

from monitor.views import overview, progress, report, style, themes

CTX = "年度: 令和4年度｜データ基準日: 2022年12月20日"


def _axes(fig: go.Figure) -> dict[str, dict]:
    layout = fig.to_dict()["layout"]
    return {k: v for k, v in layout.items() if k.startswith(("xaxis", "yaxis"))}


def _ticks(axis: dict, top: float) -> list[float]:
    """The tick values plotly draws on a linear axis from 0 with tick0/dtick up to ``top``."""
    step, start = axis["dtick"], axis.get("tick0", 0)
    out, v = [], start
    while v <= top + 1e-9:
        out.append(v)
        v += step
    return out


# ── ticks ───────────────────────────────────────────────────────────────────────────────────────────────────────

@pytest.mark.parametrize("top", [1, 2, 3, 4, 5, 7, 9, 12, 17, 20])
def test_small_counts_get_whole_distinct_ticks(top):
    fig = style.style_figure(go.Figure(go.Bar(x=["a", "b"], y=[0, top])).update_layout(
        yaxis={"tickformat": ",d"}), "題", CTX)
    y = fig.layout.yaxis
    assert y.dtick is not None and float(y.dtick).is_integer() and y.dtick >= 1
    ticks = _ticks({"dtick": y.dtick, "tick0": y.tick0}, top)
    labels = [f"{int(round(t)):,}" for t in ticks]
    assert len(labels) == len(set(labels))             # never 0, 1, 1, 2, 2
    assert 2 <= len(ticks) <= 7                         # some ticks, not a crowd


def test_large_counts_left_to_plotly_but_without_si_prefix():
    fig = style.style_figure(go.Figure(go.Bar(x=["a", "b"], y=[12_000, 48_000])).update_layout(
        yaxis={"tickformat": ",d"}), "題", CTX)
    y = fig.layout.yaxis
    assert y.dtick is None                               # plotly's own steps: 1, 2, 5 × 10ⁿ, already round
    assert y.exponentformat == "none" and y.separatethousands is True
    assert fig.layout.separators == ".,"


def test_stacked_bars_use_the_stack_height():
    """Stacked bars reaching 30 in all are not a small count axis even if each part is below 20."""
    fig = go.Figure([go.Bar(x=["4月"], y=[15]), go.Bar(x=["4月"], y=[15])])
    fig.update_layout(barmode="stack", yaxis={"tickformat": ",d"})
    fig = style.style_figure(fig, "題", CTX)
    assert fig.layout.yaxis.dtick is None


def test_an_overlaying_axis_gets_its_own_ticks_not_synced_ones():
    fig = go.Figure([go.Bar(x=["a"], y=[5_011]), go.Scatter(x=["a"], y=[40], yaxis="y2")])
    fig.update_layout(yaxis2={"overlaying": "y", "side": "right"})
    fig = style.style_figure(fig, "題", CTX)
    assert fig.layout.yaxis2.tickmode == "auto"          # plotly's default for an overlaying axis is 'sync'


def test_every_builder_axis_has_no_si_prefix():
    monthly = pd.DataFrame({"month": pd.to_datetime(["2022-08-01", "2022-09-01"]), "sessions": [7, 5],
                            "bank_sessions": [3, 2], "consultations": [0, 2], "seminar_attendees": [40, 0],
                            "event_attendees": [40, 0]})
    counts = pd.DataFrame({"theme": ["A", "B"], "audience": ["自治体", "企業"], "theme_sort_order": [1, 2],
                           "records": [3, 1], "consultations": [3, 0], "sessions": [0, 1], "share": [0.75, 0.25]})
    figs = [overview.monthly_activity_figure(monthly, CTX), themes.theme_bar_figure(counts, CTX)]
    for fig in figs:
        for name, axis in _axes(fig).items():
            if axis.get("type") in ("category", "date"):
                continue
            assert axis.get("exponentformat") == "none" and axis.get("separatethousands") is True, name
    # the monthly chart's small counts (max 7 and 40): whole-number steps where the counts are few
    axes = _axes(figs[0])
    assert axes["yaxis"]["dtick"] == 2 and "dtick" not in axes["yaxis2"]
    # the theme bar's x axis runs to 3 × 1.25: steps of 1
    assert _axes(figs[1])["xaxis"]["dtick"] == 1


# ── colours ─────────────────────────────────────────────────────────────────────────────────────────────────────

def _sample_report_parts():
    monthly = pd.DataFrame({"month": [dt.date(2024, m if m >= 4 else m, 1) if m >= 4 else dt.date(2025, m, 1)
                                      for m in (4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3)],
                            "sessions": [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0, 0],
                            "bank_sessions": [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 0, 0],
                            "bank_rate_pct": [33.3, 25.0, 40.0, 33.3, 42.9, 37.5, 44.4, 40.0, 45.5, 41.7, None, None],
                            "cumulative_sessions": list(range(12))})
    return monthly


def test_one_colour_per_concept_across_pages_and_report():
    """企業・伴走支援 is the same blue, 自治体・相談 the same orange, セミナー the same green in every chart, and no
    consortium or theme (a named category) is drawn in a concept's colour."""
    concept = {"#1f5fa8": "企業", "#e07b39": "自治体", "#3a9a5b": "セミナー"}
    monthly = pd.DataFrame({"month": pd.to_datetime(["2022-08-01"]), "sessions": [7], "bank_sessions": [3],
                            "consultations": [2], "seminar_attendees": [40], "event_attendees": [40]})
    fig = overview.monthly_activity_figure(monthly, CTX)
    colours = {t.name: t.marker.color for t in fig.data}
    assert concept[colours["伴走支援 実施回数（回）"]] == "企業"
    assert concept[colours["相談件数（件）"]] == "自治体"
    assert concept[colours["セミナー参加者数（人）"]] == "セミナー"

    rep = report.monthly_figure(_sample_report_parts(), CTX)
    assert concept[{t.name: t.marker.color for t in rep.data}["実施回数（回）"]] == "企業"
    themes_fig = report.themes_figure(pd.DataFrame({"theme": ["A"], "consultations": [4], "share_pct": [100.0]}), CTX)
    assert concept[themes_fig.data[0].marker.color] == "自治体"          # 相談 is 自治体's, in 報告 too (not purple)
    counts = pd.DataFrame({"theme": ["A", "B"], "audience": ["自治体", "企業"], "theme_sort_order": [1, 2],
                           "records": [3, 1], "consultations": [3, 0], "sessions": [0, 1], "share": [0.75, 0.25]})
    bar = {t.name: t.marker.color for t in themes.theme_bar_figure(counts, CTX).data}
    assert concept[bar["自治体向けテーマ"]] == "自治体" and concept[bar["企業向けテーマ"]] == "企業"
    events = pd.DataFrame({"kind": ["セミナー"], "category": ["x"], "events": [2], "attendees": [30],
                           "companies": [5], "applicants": [None], "first_date": [None], "last_date": [None]})
    assert concept[report.events_figure(events, CTX).data[0].marker.color] == "セミナー"

    # named categories: consortia in 概要's comparison, themes in the trend — never a concept colour
    kpi = pd.DataFrame([
        dict(is_total=False, consortium=f"県{i}", companies=i + 1, target_companies=10.0, sessions=5,
             target_sessions=10.0, dx_plans=1, target_dx_plans=2.0, seminar_attendees=5,
             target_seminar_attendees=10.0, consultations=0, target_consultations=None)
        for i in range(4)])
    comparison = overview.kpi_comparison_figure(kpi, CTX)
    trend = pd.DataFrame({"period": pd.to_datetime(["2022-04-01"] * 9), "theme": [f"T{i}" for i in range(9)],
                          "theme_sort_order": list(range(9)), "records": list(range(9, 0, -1))})
    trend_fig = themes.theme_trend_figure(trend, CTX, top_n=8)
    for t in [*comparison.data, *trend_fig.data]:
        assert t.marker.color.lower() not in concept, t.name
    assert len({t.marker.color for t in comparison.data}) == len(comparison.data)      # told apart


def test_hover_boxes_are_neutral():
    fig = themes.theme_bar_figure(pd.DataFrame({"theme": ["A"], "audience": ["自治体"], "theme_sort_order": [1],
                                                "records": [3], "consultations": [3], "sessions": [0],
                                                "share": [1.0]}), CTX)
    assert fig.layout.hoverlabel.bgcolor == "#ffffff"      # not the bar's colour (another category's legend colour)


# ── no zeros after the as-of date ───────────────────────────────────────────────────────────────────────────────

def test_report_months_after_as_of_are_not_drawn_as_zero():
    monthly = _sample_report_parts()
    as_of = dt.date(2025, 1, 20)
    fig = report.monthly_figure(monthly, CTX, as_of)
    after = [i for i, m in enumerate(monthly["month"]) if m > as_of]         # 2025年2月, 3月
    assert [fmt for fmt in after] == [10, 11]
    for trace in fig.data:
        ys = list(trace.y)
        assert all(ys[i] is None for i in after), trace.name
        assert all(ys[i] is not None for i in range(10) if trace.type == "bar"), trace.name
    band = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(band) == 1 and band[0].x0 == 9.5 and band[0].x1 == 11.5
    assert any("未到来" in a.text for a in fig.layout.annotations)
    # a past 年度 (as-of after its end): every month drawn, no band
    past = report.monthly_figure(monthly, CTX, dt.date(2025, 6, 30))
    assert not past.layout.shapes and list(past.data[0].y)[-1] == 0


# ── the timeline ────────────────────────────────────────────────────────────────────────────────────────────────

def _sessions():
    return pd.DataFrame({
        "engagement_id": ["E1", "E1", "E2"], "client_name": ["架空A社", "架空A社", "架空B社"],
        "session_no": [1, 2, 1], "date": pd.to_datetime(["2024-05-10", "2024-09-24", "2025-01-26"]),
        "stage_no": [1, 2, 7], "stage": ["経営理念・ミッションの確認", "DX構想の検討", "DX計画書のとりまとめ"],
        "bank_attended": pd.array([True, False, pd.NA], dtype="boolean"),
    })


def test_timeline_legend_explains_the_bank_symbol_and_tells_stages_apart():
    fig = progress.engagement_timeline_figure(_sessions(), CTX, as_of=dt.date(2025, 2, 28))
    shown = [t for t in fig.data if t.showlegend is not False and t.mode == "markers"]
    names = [t.name for t in shown]
    assert "金融機関同行あり（◆）" in names and "同行なし・記録なし（●）" in names
    stage_entries = [t for t in shown if t.name[0].isdigit()]
    # one legend entry per stage, each a circle (the legend's symbol never depends on which session came first)
    assert [t.name[:2] for t in stage_entries] == ["1.", "2.", "7."]
    assert {t.marker.symbol for t in stage_entries} == {"circle"}
    assert len({t.marker.color for t in stage_entries}) == 3
    assert len(set(style.STAGE_COLORS)) == 7
    # the legend stands above the plot area (between subtitle and plot): it cannot cover the date labels below
    assert fig.layout.legend.yanchor == "top" and fig.layout.legend.yref == "container"
    legend_top_px = (1 - fig.layout.legend.y) * fig.layout.height
    assert legend_top_px < fig.layout.margin.t


def test_timeline_x_axis_stays_within_the_fiscal_year():
    fig = progress.engagement_timeline_figure(_sessions(), CTX, as_of=dt.date(2025, 2, 28))
    start, end = (pd.Timestamp(v) for v in fig.layout.xaxis.range)
    assert pd.Timestamp(2024, 3, 20) < start <= pd.Timestamp(2024, 4, 1)
    assert pd.Timestamp(2025, 3, 31) <= end < pd.Timestamp(2025, 4, 10)
    chosen = progress.engagement_timeline_figure(_sessions(), CTX, fiscal_year=2024)
    assert [pd.Timestamp(v).year for v in chosen.layout.xaxis.range] == [2024, 2025]


# ── 進捗's table, the mode bar ──────────────────────────────────────────────────────────────────────────────────

def test_progress_table_puts_what_a_manager_needs_first():
    df = pd.DataFrame({"engagement_id": ["E1"], "client_name": ["架空A社"], "municipality": [None],
                       "lead_coordinator": ["田中"], "sessions_done": [3], "planned_sessions": [10],
                       "progress_ratio": [0.3], "current_stage_no": [2], "current_stage": ["DX構想の検討"],
                       "last_session_date": [dt.date(2024, 9, 1)], "days_since_last_session": [60],
                       "status": ["実施中"], "stalled": [True], "consortium": ["茨城"]})
    cols = list(progress.progress_table(df).columns)
    assert cols[:6] == ["支援先", "最終実施日", "経過日数", "状況", "停滞", "コンソーシアム"]
    assert sorted(cols) == sorted(["案件ID", "支援先", "市区町村", "担当ITC", "実施/予定", "進捗", "現在の段階",
                                   "最終実施日", "経過日数", "状況", "停滞", "コンソーシアム"])


def test_chart_config_puts_the_mode_bar_in_japanese():
    config = style.chart_config()
    assert config["locale"] == "ja" and config["displaylogo"] is False
    words = config["locales"]["ja"]["dictionary"]
    for english in ("Zoom", "Pan", "Autoscale", "Reset axes", "Download plot as a PNG", "Zoom in", "Zoom out",
                    "Double-click to zoom back out"):
        assert words[english] and not words[english].isascii(), english
    assert config is not style.chart_config()          # a new dict each call (Streamlit keeps what it is given)


def test_a_long_context_wraps_between_its_parts_and_the_plot_moves_down():
    context = ("年度: 令和6年度（2024年度）｜都道府県: すべて｜コンソーシアム: すべて｜期間: 指定なし｜支援種別: すべて｜"
               "データ基準日: 2025年2月28日｜サンプルデータ")
    fig = style.style_figure(go.Figure(go.Bar(x=["a"], y=[1])), "題", context)
    lines = fig.layout.title.subtitle.text.split("<br>")
    assert len(lines) >= 2 and "｜".join(lines) == context              # nothing lost, nothing added
    assert any("データ基準日: 2025年2月28日" in line for line in lines)   # a part is never split
    for line in lines:     # a full-width character 1, others 0.55: the width a 1,024-pixel window's chart shows
        assert sum(1 if ord(c) > 0x2E7F else 0.55 for c in line) <= 44
    short = style.style_figure(go.Figure(go.Bar(x=["a"], y=[1])), "題", CTX)
    assert fig.layout.margin.t == short.layout.margin.t + 16 * (len(lines) - 1)


def test_report_sections_are_stacked_on_screen():
    """報告's 相談テーマ table beside its chart was cut at 1,024 px: every section shows its table, then its chart."""
    section = report.Section("themes", "相談テーマ別の相談件数", {"相談テーマ": pd.DataFrame({"テーマ": ["A"]})},
                             {"相談テーマ": go.Figure()})
    assert not report.side_by_side(section)
