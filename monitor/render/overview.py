"""概要's parts drawn with Streamlit: the 全年度 table, the pace line, the KPI cards, the alerts, the per-consortium
comparison (chart and table, a click narrows to a consortium), the monthly chart (a click narrows to a month) and the
engagements needing attention. Builders: monitor/views/overview.py."""
from __future__ import annotations

import html
from functools import partial

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAPIException

from monitor import ui
from monitor.alerts import build_alerts
from monitor.glossary import help_text
from monitor.read.filters import Filters
from monitor.read.queries import run_query
from monitor.views import overview, style

ATTENTION_MAX = 100      # stalled engagements listed here (most days without support first); all on 伴走支援の進捗
KEY_KPI_CHART = "overview_kpi_chart"
KEY_COMPARISON_TABLE = "overview_consortium_table"
KEY_MONTHLY_CHART = "overview_monthly_chart"
PROGRESS_PAGE = "pages/1_伴走支援の進捗.py"
CARD_RECORDS = {"companies": PROGRESS_PAGE, "sessions": PROGRESS_PAGE, "dx_plans": PROGRESS_PAGE,
                "bank_rate": PROGRESS_PAGE, "consultations": "pages/2_相談テーマ.py",
                "seminar_attendees": "pages/5_報告.py"}


def _page_link(page: str, label: str) -> None:
    try:
        st.page_link(page, label=label)
    except StreamlitAPIException:      # run on its own (a test): no other pages to link to
        pass


def _unbroken_segments(text: str) -> str:
    """The card detail with each '・'-separated part kept on one line (a line breaks only between parts, never
    inside a figure or word such as 達成率)."""
    parts = [f'<span style="white-space: nowrap">{html.escape(p)}</span>' for p in text.split("・")]
    return "・".join(parts)


# ── drills: chart and table clicks narrow the shared filters (run as callbacks before the next page run) ──

def _narrow_to(kpi: pd.DataFrame, label) -> None:
    names = {style.consortium_label(c): (c if isinstance(c, str) else None)
             for c in kpi[~kpi["is_total"]]["consortium"]}
    if isinstance(label, str) and names.get(label):
        ui.drill(consortia=(names[label],))


def _drill_consortium(kpi: pd.DataFrame) -> None:
    """A bar (one trace per consortium) or a heatmap row (one y per consortium) sets the コンソーシアム filter."""
    for point in ui.selected_points(KEY_KPI_CHART):
        label = point.get("y") if isinstance(point.get("y"), str) else None
        if label is None and "curve_number" in point:
            series = overview.achievement_series(kpi)
            label = series[point["curve_number"]] if point["curve_number"] < len(series) else None
        _narrow_to(kpi, label)
        return


def _drill_table_row(kpi: pd.DataFrame) -> None:
    rows = ui.selected_rows(KEY_COMPARISON_TABLE)
    if rows:
        _narrow_to(kpi, overview.consortium_comparison_table(kpi).iloc[rows[0]]["コンソーシアム"])


def _drill_month(filters: Filters) -> None:
    points = ui.selected_points(KEY_MONTHLY_CHART)
    if points:
        i = points[0].get("point_index", points[0].get("point_number"))
        month = overview.month_at(filters, i) if i is not None else None
        if month is not None:
            start, end = ui.month_period(month)
            ui.drill(date_from=start, date_to=end)


# ── sections ──

def years_section(filters: Filters) -> None:
    """全年度: the years side by side (a sum of three years' figures against three years' targets reads as one year)."""
    st.subheader("主要指標（年度別・目標との比較）")
    by_year = overview.kpi_by_year(filters, ui.filter_choices()["fiscal_years"])
    st.dataframe(overview.years_table(by_year), hide_index=True, key="overview_years_table",
                 column_config={c: st.column_config.NumberColumn(c, format=f)
                                for c, f in overview.YEARS_NUMBER_FORMATS.items()})
    st.caption("全年度を選ぶと、各指標を年度ごとに示します（3年分を合計すると、1年度の目標と比べられないため）。"
               "年度を1つ選ぶと、目標ペースと着地見込みのカードになります。")


def pace_line(pace: dict[str, dict], total: pd.Series) -> None:
    st.markdown(f"**{html.escape(overview.pace_line(pace))}**｜停滞案件 **{int(total['stalled']):,}件**")
    _page_link(PROGRESS_PAGE, "停滞案件を見る →")


def _card(card: dict, p: dict | None) -> None:
    st.metric(card["label"], card["value"], help=card["help"])
    if p and p["status_word"]:
        colour = style.STATUS_COLOURS[p["status"]]
        st.markdown(f'<span style="color:{colour};font-weight:700">● {p["status_word"]}</span>',
                    unsafe_allow_html=True, help=help_text("pace_status"))
    st.caption(_unbroken_segments(card["detail"]), unsafe_allow_html=True)
    if card["rate"] is not None:
        st.markdown(overview.pace_bar_html(card["rate"], p["elapsed"] if p else None, p and p["status"]),
                    unsafe_allow_html=True)
    for text in (p["lines"] if p else []):
        st.caption(text)
    # the records behind the card, under the same filters (they are kept across pages)
    _page_link(CARD_RECORDS[card["key"]], "記録を見る →")


def kpi_cards(total: pd.Series, pace: dict[str, dict] | None) -> None:
    """Six cards in two rows of three."""
    cards = overview.kpi_cards(total)
    for row in (cards[:3], cards[3:]):
        for col, card in zip(st.columns(3), row):
            with col.container(border=True):
                _card(card, (pace or {}).get(card["key"]))


ALERT_COLUMNS = {"種類": st.column_config.TextColumn(width=100), "コンソーシアム": st.column_config.TextColumn(width=130),
                 "対象": st.column_config.TextColumn(width=100), "内容": st.column_config.TextColumn(width=200)}


def alerts(filters: Filters, as_of) -> None:
    found = [a for a in build_alerts(filters, as_of) if a.kind != "stalled"]   # stalled: the list further down
    st.subheader("アラート（目標に届かない見込み・データが届いていないグループ）")
    if not found:
        st.success("目標に届かない見込みのコンソーシアムや、データが届いていないグループはありません。")
        return
    table = overview.alerts_frame(found)
    # 内容 is read whole at 1,024 px (it scrolled sideways): wrapped rows, every column within the main area
    ui.table(table, hide_index=True, key="overview_alerts_table", **ui.wrapped_table_args(ALERT_COLUMNS, len(table)))
    st.caption("同じ一覧をメールで受け取るには `python -m etl alerts` を cron で実行します（README）。")


def comparison(kpi: pd.DataFrame, filters: Filters, context: str) -> None:
    st.subheader("コンソーシアム別の比較")
    if filters.fiscal_year is None:
        st.caption("全年度では、コンソーシアム別の値も上の年度別の表にあります（年度を1つ選ぶとグラフで比べられます）。")
        return
    if kpi[~kpi["is_total"]].empty:
        ui.empty_state()
        return
    ui.plotly_chart(overview.kpi_comparison_figure(kpi, context), key=KEY_KPI_CHART,
                    on_select=partial(_drill_consortium, kpi), selection_mode="points")
    st.caption("グラフのコンソーシアムをクリックすると、そのコンソーシアムに絞り込みます。")
    table = overview.consortium_comparison_table(kpi)
    first = table.columns[0]               # 項目, or コンソーシアム when there is one row per consortium
    config = {first: st.column_config.TextColumn(first, width="medium", pinned=True)}
    config |= {c: st.column_config.NumberColumn(c, format=f)
               for c, f in overview.COMPARISON_NUMBER_FORMATS.items() if c in table.columns}
    many = first == "コンソーシアム"      # one row per consortium: choosing a row narrows to it
    ui.table(table, hide_index=True, key=KEY_COMPARISON_TABLE, column_config=config,
             on_select=partial(_drill_table_row, kpi) if many else "ignore", selection_mode="single-row")
    ui.csv_download(table, "コンソーシアム別の比較", "overview_consortium_csv")


def monthly(filters: Filters, context: str) -> None:
    st.subheader("月別の活動状況")
    data = run_query("monthly_activity", filters)
    if data.empty:
        ui.empty_state()
        return
    ui.plotly_chart(overview.monthly_activity_figure(data, context), key=KEY_MONTHLY_CHART,
                    on_select=partial(_drill_month, filters), selection_mode="points")
    st.caption("月をクリックすると、期間をその月に絞り込みます。")


def attention(filters: Filters) -> None:
    st.subheader("要注意の案件（実施中で30日を超えて支援がない案件）")
    stalled = run_query("engagement_progress_page", filters, only_stalled=True, progress_only=False,
                        max_rows=ATTENTION_MAX, offset=0)
    if stalled.empty:
        st.success("停滞している案件はありません。")
        return
    n_stalled = int(stalled["total_rows"].iloc[0])
    if n_stalled > len(stalled):
        st.caption(f"停滞中の{n_stalled:,}件のうち、支援のない期間が長い順に{len(stalled):,}件を表示しています"
                   "（すべての案件は「伴走支援の進捗」にあります）。")
    table = overview.attention_table(stalled)
    ui.table(table, hide_index=True, key="overview_attention_table",
             column_config={"経過日数": st.column_config.NumberColumn("経過日数", format="%d日",
                                                                   help="最終実施日からデータ基準日まで")})
    ui.csv_download(table, "要注意の案件", "overview_attention_csv")
