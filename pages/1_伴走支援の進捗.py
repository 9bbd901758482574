"""伴走支援の進捗: per engagement progress, stage funnel per consortium, timeline, session log."""
import streamlit as st

from monitor import charts, tables, ui
from monitor.filters import Filters
from monitor.print_layout import is_print_mode
from monitor.queries import run_query

TIMELINE_MAX = 30

ui.page_setup("伴走支援の進捗")
printing = is_print_mode()      # ?print=1: every engagement in a static table, no controls
filters = ui.sidebar_filters()
ui.context_caption(filters)
context = ui.context_text(filters)

progress = run_query("engagement_progress", filters, only_stalled=False)
progress = progress[progress["planned_sessions"].notna() | (progress["sessions_done"] > 0)]
if progress.empty:
    ui.empty_state()
    st.stop()

c1, c2, c3, c4 = st.columns(4)
c1.metric("案件数", f"{len(progress):,}件")
c2.metric("実施中", f"{int((progress['status'] == '実施中').sum()):,}件")
c3.metric("完了", f"{int((progress['status'] == '完了').sum()):,}件")
c4.metric("停滞", f"{int(progress['stalled'].sum()):,}件",
          help="実施中で、データ基準日までの30日を超えて支援の記録がない案件")

st.subheader("案件ごとの進捗")
if printing:
    st.table(tables.progress_print_table(tables.progress_table(progress)), hide_index=True)
else:
    st.dataframe(
        tables.progress_table(progress),
        hide_index=True,
        key="progress_table",
        column_config={
            "進捗": st.column_config.ProgressColumn("進捗", min_value=0.0, max_value=1.0, format="percent",
                                                    help="実施回数 ÷ 予定回数"),
            "経過日数": st.column_config.NumberColumn("経過日数", format="%d日", help="最終実施日からデータ基準日まで"),
        },
    )

st.subheader("段階別の到達状況")
funnel = run_query("stage_funnel", filters)
if funnel.empty:
    ui.empty_state("段階の記録がある伴走支援はありません。")
else:
    st.plotly_chart(charts.stage_funnel_figure(funnel, context), key="progress_funnel_chart")

st.subheader("伴走支援のタイムライン")
timeline = run_query("engagement_sessions", filters, max_engagements=TIMELINE_MAX)
if timeline.empty:
    ui.empty_state()
else:
    if progress["sessions_done"].gt(0).sum() > TIMELINE_MAX:
        st.caption(f"停滞中・最近実施した順に {TIMELINE_MAX}件まで表示しています。")
    as_of = progress["as_of_date"].iloc[0]
    st.plotly_chart(charts.engagement_timeline_figure(timeline, context, as_of=as_of),
                    key="progress_timeline_chart")

if printing:
    st.stop()      # the session log below is chosen interactively: not part of the printed page
st.subheader("支援記録")
labels = {eid: f"{name}（{eid}）" for eid, name in zip(progress["engagement_id"], progress["client_name"])}
chosen = st.selectbox("案件を選ぶ", list(labels), format_func=labels.get, key="progress_engagement")
if chosen:
    log = run_query("session_log", Filters(), engagement_id=chosen)
    if log.empty:
        ui.empty_state("この案件の支援記録はまだありません。")
    else:
        st.dataframe(tables.session_log_table(log), hide_index=True, key="progress_session_log")
