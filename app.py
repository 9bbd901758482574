"""概要: KPIs against targets, per consortium comparison, monthly activity, engagements needing attention."""
import html

import streamlit as st

from monitor import charts, tables, ui
from monitor.queries import run_query

ATTENTION_MAX = 100      # stalled engagements listed here (most days without support first); all on 伴走支援の進捗


def _unbroken_segments(text: str) -> str:
    """The card detail with each '・'-separated part kept on one line (a line breaks only between parts, never
    inside a figure or word such as 達成率)."""
    parts = [f'<span style="white-space: nowrap">{html.escape(p)}</span>' for p in text.split("・")]
    return "・".join(parts)


ui.page_setup("概要")
filters = ui.sidebar_filters()
ui.context_caption(filters)
context = ui.context_text(filters)

kpi = run_query("kpi", filters)
total = kpi[kpi["is_total"]].iloc[0]
if not (total["engagements"] or total["sessions"] or total["consultations"] or total["seminar_attendees"]):
    ui.empty_state()
    st.stop()

st.subheader("主要指標（目標との比較）")
cards = tables.kpi_cards(total)
for row in (cards[:3], cards[3:]):
    for col, card in zip(st.columns(3), row):
        with col.container(border=True):
            st.metric(card["label"], card["value"], help=card["help"])
            st.caption(_unbroken_segments(card["detail"]), unsafe_allow_html=True)
            if card["rate"] is not None:
                st.progress(min(max(card["rate"], 0.0), 1.0))

st.subheader("コンソーシアム別の比較")
by_consortium = kpi[~kpi["is_total"]]
if by_consortium.empty:
    ui.empty_state()
else:
    st.plotly_chart(charts.kpi_comparison_figure(kpi, context), key="overview_kpi_chart")
    comparison = tables.consortium_comparison_table(kpi)
    first = comparison.columns[0]               # 項目, or コンソーシアム when there is one row per consortium
    config = {first: st.column_config.TextColumn(first, width="medium", pinned=True)}
    config |= {c: st.column_config.NumberColumn(c, format=f)
               for c, f in tables.COMPARISON_NUMBER_FORMATS.items() if c in comparison.columns}
    st.dataframe(comparison, hide_index=True, key="overview_consortium_table", column_config=config)
    ui.csv_download(comparison, "コンソーシアム別の比較", "overview_consortium_csv")

st.subheader("月別の活動状況")
monthly = run_query("monthly_activity", filters)
if monthly.empty:
    ui.empty_state()
else:
    st.plotly_chart(charts.monthly_activity_figure(monthly, context), key="overview_monthly_chart")

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
    st.dataframe(tables.attention_table(stalled), hide_index=True, key="overview_attention_table",
                 column_config={"経過日数": st.column_config.NumberColumn("経過日数", format="%d日",
                                                                       help="最終実施日からデータ基準日まで")})
    ui.csv_download(tables.attention_table(stalled), "要注意の案件", "overview_attention_csv")
