"""概要: KPIs against targets, per consortium comparison, monthly activity, engagements needing attention."""
import html

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAPIException

from monitor import intake, ui
from monitor.views import overview, style
from monitor import pace as pace_rules
from monitor.alerts import build_alerts
from monitor.read.filters import Filters
from monitor.glossary import help_text
from monitor.read.queries import data_as_of, run_query

ATTENTION_MAX = 100      # stalled engagements listed here (most days without support first); all on 伴走支援の進捗


def _unbroken_segments(text: str) -> str:
    """The card detail with each '・'-separated part kept on one line (a line breaks only between parts, never
    inside a figure or word such as 達成率)."""
    parts = [f'<span style="white-space: nowrap">{html.escape(p)}</span>' for p in text.split("・")]
    return "・".join(parts)


KEY_KPI_CHART = "overview_kpi_chart"
PROGRESS_PAGE = "pages/1_伴走支援の進捗.py"
CARD_RECORDS = {"companies": PROGRESS_PAGE, "sessions": PROGRESS_PAGE, "dx_plans": PROGRESS_PAGE,
                "bank_rate": PROGRESS_PAGE, "consultations": "pages/2_相談テーマ.py",
                "seminar_attendees": "pages/5_報告.py"}
KEY_COMPARISON_TABLE = "overview_consortium_table"
KEY_MONTHLY_CHART = "overview_monthly_chart"


def _consortia_by_label() -> dict[str, str | None]:
    return {style.consortium_label(c): (c if isinstance(c, str) else None)
            for c in kpi[~kpi["is_total"]]["consortium"]}


def _narrow_to(label) -> None:
    names = _consortia_by_label()
    if isinstance(label, str) and names.get(label):
        ui.drill(consortia=(names[label],))


def _drill_consortium() -> None:
    """A bar (one trace per consortium) or a heatmap row (one y per consortium) sets the コンソーシアム filter."""
    for point in ui.selected_points(KEY_KPI_CHART):
        label = point.get("y") if isinstance(point.get("y"), str) else None
        if label is None and "curve_number" in point:
            series = overview.achievement_series(kpi)
            label = series[point["curve_number"]] if point["curve_number"] < len(series) else None
        _narrow_to(label)
        return


def _drill_table_row() -> None:
    rows = ui.selected_rows(KEY_COMPARISON_TABLE)
    if rows:
        _narrow_to(overview.consortium_comparison_table(kpi).iloc[rows[0]]["コンソーシアム"])


def _drill_month() -> None:
    points = ui.selected_points(KEY_MONTHLY_CHART)
    if points:
        months = sorted(run_query("monthly_activity", filters)["month"])
        i = points[0].get("point_index", points[0].get("point_number"))
        if i is not None and 0 <= i < len(months):
            start, end = ui.month_period(pd.Timestamp(months[i]).date())
            ui.drill(date_from=start, date_to=end)


ui.page_setup("概要")
intake.sweep_once()          # upload folders a killed server left behind (older than an hour)
filters = ui.sidebar_filters()
ui.context_caption(filters)
context = ui.context_text(filters)

kpi = run_query("kpi", filters)
total = kpi[kpi["is_total"]].iloc[0]
if not (total["engagements"] or total["sessions"] or total["consultations"] or total["seminar_attendees"]):
    ui.empty_state()
    st.stop()

pace = None
if filters.fiscal_year is not None and not (filters.date_from or filters.date_to or filters.coordinators):
    as_of = data_as_of()
    cutoff = min(as_of, pace_rules.fiscal_year_bounds(filters.fiscal_year)[1]) if as_of else None
    if cutoff is not None:
        pace_row = run_query("kpi_pace", filters, cutoff=cutoff,
                             prev_cutoff=pace_rules.same_day_last_year(cutoff)).iloc[0]
        pace = overview.pace_cards(total, pace_row, filters.fiscal_year, as_of)

if filters.fiscal_year is None:
    # 全年度: the years side by side (a sum of three years' figures against three years' targets reads as one year)
    st.subheader("主要指標（年度別・目標との比較）")
    years = ui.filter_choices()["fiscal_years"]
    by_year = {fy: run_query("kpi", Filters(**{**filters.__dict__, "fiscal_year": fy})) for fy in years}
    st.dataframe(overview.years_table(by_year), hide_index=True, key="overview_years_table",
                 column_config={c: st.column_config.NumberColumn(c, format=f)
                                for c, f in overview.YEARS_NUMBER_FORMATS.items()})
    st.caption("全年度を選ぶと、各指標を年度ごとに示します（3年分を合計すると、1年度の目標と比べられないため）。"
               "年度を1つ選ぶと、目標ペースと着地見込みのカードになります。")

if filters.fiscal_year is not None:
    st.subheader("主要指標（目標との比較）")
if pace:
    behind = overview.behind_pace(pace)
    elapsed = next(iter(pace.values()))["elapsed"]
    line = (f"年度経過率 {elapsed * 100:.1f}%｜" + (f"目標ペースを下回る指標: {'・'.join(behind)}" if behind
                                                     else "すべての指標が目標ペース以上です"))
    st.markdown(f"**{html.escape(line)}**｜停滞案件 **{int(total['stalled']):,}件**")
    try:
        st.page_link("pages/1_伴走支援の進捗.py", label="停滞案件を見る →")
    except StreamlitAPIException:      # run on its own (a test): no other pages to link to
        pass
cards = overview.kpi_cards(total) if filters.fiscal_year is not None else []
for row in (cards[:3], cards[3:]):
    for col, card in zip(st.columns(3), row):
        with col.container(border=True):
            st.metric(card["label"], card["value"], help=card["help"])
            p = (pace or {}).get(card["key"])
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
            try:   # the records behind the card, under the same filters (they are kept across pages)
                st.page_link(CARD_RECORDS[card["key"]], label="記録を見る →")
            except StreamlitAPIException:      # run on its own (a test): no other pages to link to
                pass

if pace:
    alerts = [a for a in build_alerts(filters, as_of) if a.kind != "stalled"]   # stalled: the list further down
    st.subheader("アラート（目標に届かない見込み・データが届いていないグループ）")
    if alerts:
        st.dataframe(pd.DataFrame({"種類": [a.kind_label for a in alerts], "コンソーシアム": [a.consortium for a in alerts],
                                   "対象": [a.subject for a in alerts], "内容": [a.detail for a in alerts]}),
                     hide_index=True, key="overview_alerts_table")
        st.caption("同じ一覧をメールで受け取るには `python -m etl alerts` を cron で実行します（README）。")
    else:
        st.success("目標に届かない見込みのコンソーシアムや、データが届いていないグループはありません。")

st.subheader("コンソーシアム別の比較")
by_consortium = kpi[~kpi["is_total"]]
if filters.fiscal_year is None:
    st.caption("全年度では、コンソーシアム別の値も上の年度別の表にあります（年度を1つ選ぶとグラフで比べられます）。")
elif by_consortium.empty:
    ui.empty_state()
else:
    st.plotly_chart(overview.kpi_comparison_figure(kpi, context), key=KEY_KPI_CHART, on_select=_drill_consortium,
                    selection_mode="points")
    st.caption("グラフのコンソーシアムをクリックすると、そのコンソーシアムに絞り込みます。")
    comparison = overview.consortium_comparison_table(kpi)
    first = comparison.columns[0]               # 項目, or コンソーシアム when there is one row per consortium
    config = {first: st.column_config.TextColumn(first, width="medium", pinned=True)}
    config |= {c: st.column_config.NumberColumn(c, format=f)
               for c, f in overview.COMPARISON_NUMBER_FORMATS.items() if c in comparison.columns}
    many = first == "コンソーシアム"      # one row per consortium: choosing a row narrows to it
    st.dataframe(comparison, hide_index=True, key=KEY_COMPARISON_TABLE, column_config=config,
                 on_select=_drill_table_row if many else "ignore", selection_mode="single-row")
    ui.csv_download(comparison, "コンソーシアム別の比較", "overview_consortium_csv")

st.subheader("月別の活動状況")
monthly = run_query("monthly_activity", filters)
if monthly.empty:
    ui.empty_state()
else:
    st.plotly_chart(overview.monthly_activity_figure(monthly, context), key=KEY_MONTHLY_CHART,
                    on_select=_drill_month, selection_mode="points")
    st.caption("月をクリックすると、期間をその月に絞り込みます。")

st.subheader("要注意の案件（実施中で30日を超えて支援がない案件）")
stalled = run_query("engagement_progress_page", filters, only_stalled=True, progress_only=False,
                    max_rows=ATTENTION_MAX, offset=0)
if stalled.empty:
    st.success("停滞している案件はありません。")
else:
    n_stalled = int(stalled["total_rows"].iloc[0])
    if n_stalled > len(stalled):
        st.caption(f"停滞中の{n_stalled:,}件のうち、支援のない期間が長い順に{len(stalled):,}件を表示しています"
                   "（すべての案件は「伴走支援の進捗」にあります）。")
    st.dataframe(overview.attention_table(stalled), hide_index=True, key="overview_attention_table",
                 column_config={"経過日数": st.column_config.NumberColumn("経過日数", format="%d日",
                                                                       help="最終実施日からデータ基準日まで")})
    ui.csv_download(overview.attention_table(stalled), "要注意の案件", "overview_attention_csv")
