"""伴走支援の進捗: per engagement progress, stage funnel per consortium, timeline, session log.

Counts come from an aggregate query; the engagement table is read and sent a page at a time (PAGE_ROWS rows), so
the browser gets a bounded table at any scale."""
import streamlit as st

from monitor import ui
from monitor.views import progress as progress_view
from monitor.read.filters import Filters
from monitor.glossary import help_text
from monitor.plain import md_escape, md_frame
from monitor.print_layout import is_print_mode
from monitor.read.queries import run_query

TIMELINE_MAX = 30
PAGE_ROWS = 500          # engagements per page of the table (and choices of the session-log select box)
PRINT_MAX_ROWS = 300     # printed: the most urgent engagements, and a note how many there are in all
KEY_FUNNEL_CHART = "progress_funnel_chart"
KEY_STAGE = "progress_stage_pick"
KEY_STAGE_CONSORTIUM = "progress_stage_consortium"


def _pick_stage() -> None:
    """A funnel bar chooses its stage and consortium in 「段階を選ぶ」 (its engagements below the chart)."""
    for point in ui.selected_points(KEY_FUNNEL_CHART):
        pick = progress_view.funnel_stage_pick(funnel, point)
        if pick:
            st.session_state[KEY_STAGE] = pick[1]
            st.session_state[KEY_STAGE_CONSORTIUM] = progress_view.consortium_label(pick[0])
            return

ui.page_setup("伴走支援の進捗")
printing = is_print_mode()      # ?print=1: the most urgent engagements in a static table, no controls
filters = ui.sidebar_filters()
ui.context_caption(filters)
context = ui.context_text(filters)

summary = run_query("engagement_progress_summary", filters).iloc[0]
total = int(summary["engagements"])
if total == 0:
    ui.empty_state()
    st.stop()

c1, c2, c3, c4 = st.columns(4)
c1.metric("伴走支援の案件数", f"{total:,}件", help=help_text("progress_engagements"))
c2.metric("実施中", f"{int(summary['in_progress']):,}件", help=help_text("in_progress"))
c3.metric("完了", f"{int(summary['completed']):,}件", help=help_text("completed"))
c4.metric("停滞案件", f"{int(summary['stalled']):,}件", help=help_text("stalled"))

st.subheader("案件ごとの進捗")
pages = -(-total // PAGE_ROWS)
page_no = 1
if pages > 1 and not printing:
    page_no = int(st.number_input(f"ページ（全{pages:,}ページ・停滞中・経過日数の長い順）", min_value=1,
                                  max_value=pages, value=1, step=1, key="progress_page"))
limit = PRINT_MAX_ROWS if printing else PAGE_ROWS
progress = run_query("engagement_progress_page", filters, only_stalled=False, progress_only=True,
                     max_rows=limit, offset=(page_no - 1) * PAGE_ROWS)
if total > len(progress):
    start = (page_no - 1) * PAGE_ROWS
    st.caption(f"全{total:,}件のうち {start + 1:,}〜{start + len(progress):,}件目を表示しています。")
if printing:
    st.table(md_frame(progress_view.progress_print_table(progress_view.progress_table(progress))), hide_index=True)
else:
    st.dataframe(
        progress_view.progress_table(progress),
        hide_index=True,
        key="progress_table",
        column_config={
            "進捗": st.column_config.ProgressColumn("進捗", min_value=0.0, max_value=1.0, format="percent",
                                                    help="実施回数 ÷ 予定回数"),
            "経過日数": st.column_config.NumberColumn("経過日数", format="%d日", help="最終実施日からデータ基準日まで"),
        },
    )
    ui.csv_download(progress_view.progress_table(progress), "案件ごとの進捗" + (f"_{page_no}ページ" if pages > 1 else ""),
                    "progress_table_csv")

st.subheader("段階別の到達状況")
funnel = run_query("stage_funnel", filters)
if funnel.empty:
    ui.empty_state("段階の記録がある伴走支援はありません。")
else:
    # 47 consortia make 47 small funnels: slow to build, so kept per filters and data version
    fig = ui.cached_figure("stage_funnel", filters, context, lambda: progress_view.stage_funnel_figure(funnel, context))
    st.plotly_chart(fig, key=KEY_FUNNEL_CHART, on_select="ignore" if printing else _pick_stage,
                    selection_mode="points")
    if not printing:
        stages, groups = progress_view.funnel_choices(funnel)
        for key, valid in ((KEY_STAGE, stages), (KEY_STAGE_CONSORTIUM, groups)):
            if st.session_state.get(key) is not None and st.session_state[key] not in valid:
                del st.session_state[key]      # a choice the new filters no longer offer
        left, right = st.columns(2)
        stage_no = left.selectbox("段階を選ぶ（その段階に到達した案件を表示）", [None, *stages], key=KEY_STAGE,
                                  format_func=lambda n: "選んでください" if n is None else stages[n])
        group = right.selectbox("コンソーシアム", list(groups), key=KEY_STAGE_CONSORTIUM) if len(groups) > 1 \
            else next(iter(groups))
        if stage_no is not None:
            reached = run_query("engagement_progress_page", filters, only_stalled=False, progress_only=False,
                                max_rows=PAGE_ROWS, offset=0, reached_stage=stage_no, stage_consortium=groups[group],
                                outside_consortia=groups[group] is None)
            n = int(reached["total_rows"].iloc[0]) if len(reached) else 0
            st.caption(f"{md_escape(group)}で「{md_escape(stages[stage_no])}」に到達した案件: {n:,}件"
                       + (f"（停滞中・経過日数の長い順に{len(reached):,}件を表示）" if n > len(reached) else ""))
            if n:
                st.dataframe(progress_view.progress_table(reached), hide_index=True, key="progress_stage_table")

st.subheader("伴走支援のタイムライン")
timeline = run_query("engagement_sessions", filters, max_engagements=TIMELINE_MAX)
if timeline.empty:
    ui.empty_state()
else:
    if int(summary["with_sessions"]) > TIMELINE_MAX:
        st.caption(f"停滞中・最近実施した順に {TIMELINE_MAX}件まで表示しています。")
    as_of = summary["as_of_date"]
    st.plotly_chart(progress_view.engagement_timeline_figure(timeline, context, as_of=as_of),
                    key="progress_timeline_chart")

if printing:
    st.stop()      # the session log below is chosen interactively: not part of the printed page
st.subheader("支援記録")
labels = {eid: f"{name}（{eid}）" for eid, name in zip(progress["engagement_id"], progress["client_name"])}
if pages > 1:
    st.caption("上の表で表示しているページの案件から選べます。")
chosen = st.selectbox("案件を選ぶ", list(labels), format_func=labels.get, key="progress_engagement")
if chosen:
    log = run_query("session_log", Filters(), engagement_id=chosen)
    if log.empty:
        ui.empty_state("この案件の支援記録はまだありません。")
    else:
        st.dataframe(progress_view.session_log_table(log), hide_index=True, key="progress_session_log")
        ui.csv_download(progress_view.session_log_table(log), f"支援記録_{chosen}", "progress_session_log_csv")
