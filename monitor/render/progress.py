"""伴走支援の進捗's parts drawn with Streamlit: the four counts, the engagement table (a page at a time on screen, the
most urgent ones in print), the stage funnel with its 「段階を選ぶ」 drill, the timeline and the session log of one
engagement. Builders: monitor/views/progress.py."""
from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

from monitor import ui
from monitor.glossary import help_text
from monitor.plain import md_escape, md_frame
from monitor.read.filters import Filters
from monitor.read.queries import run_query
from monitor.views import progress as view

TIMELINE_MAX = 30
PAGE_ROWS = 500          # engagements per page of the table (and choices of the session-log select box)
PRINT_MAX_ROWS = 300     # printed: the most urgent engagements, and a note how many there are in all
KEY_TABLE = "progress_table"
KEY_PAGE = "progress_page"
KEY_FUNNEL_CHART = "progress_funnel_chart"
KEY_STAGE = "progress_stage_pick"
KEY_STAGE_CONSORTIUM = "progress_stage_consortium"
KEY_ENGAGEMENT = "progress_engagement"
# Every column of the engagement table has a fixed width (px), so what fits on screen does not depend on the data:
# 支援先 pinned at the left, then 最終実施日, 経過日数, 状況, 停滞 and コンソーシアム all within the table's visible
# width at 1,024 px with the sidebar open (≈ 690 px with WIDTH_CSS's narrower side padding; tests/test_browser_widths.py
# measures it); the details follow, a scroll away. A longer name is cut with … (the whole name in the CSV).
TABLE_WIDTHS = {"支援先": 160, "最終実施日": 118, "経過日数": 72, "状況": 62, "停滞": 64, "コンソーシアム": 200,
                "現在の段階": 200, "実施/予定": 84, "進捗": 110, "担当ITC": 110, "市区町村": 110, "案件ID": 110}
FIRST_SCREEN_COLUMNS = ("支援先", "最終実施日", "経過日数", "状況", "停滞", "コンソーシアム")
TABLE_COLUMNS = {
    **{c: st.column_config.Column(c, width=w) for c, w in TABLE_WIDTHS.items()},
    "支援先": st.column_config.TextColumn("支援先", width=TABLE_WIDTHS["支援先"], pinned=True),
    "進捗": st.column_config.ProgressColumn("進捗", min_value=0.0, max_value=1.0, format="percent",
                                            help="実施回数 ÷ 予定回数", width=TABLE_WIDTHS["進捗"]),
    "経過日数": st.column_config.NumberColumn("経過日数", format="%d日", help="最終実施日からデータ基準日まで",
                                              width=TABLE_WIDTHS["経過日数"]),
}


def counts(summary: pd.Series) -> None:
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("伴走支援の案件数", f"{int(summary['engagements']):,}件", help=help_text("progress_engagements"))
    c2.metric("実施中", f"{int(summary['in_progress']):,}件", help=help_text("in_progress"))
    c3.metric("完了", f"{int(summary['completed']):,}件", help=help_text("completed"))
    c4.metric("停滞案件", f"{int(summary['stalled']):,}件", help=help_text("stalled"))


def _page_of(filters: Filters, start: int, limit: int) -> pd.DataFrame:
    return run_query("engagement_progress_page", filters, only_stalled=False, progress_only=True,
                     max_rows=limit, offset=start)


def engagement_table(filters: Filters, total: int, printing: bool) -> tuple[pd.DataFrame, int]:
    """The engagements, stalled and longest without support first. Returns the rows shown and the number of pages."""
    st.subheader("案件ごとの進捗")
    if printing:
        rows = _page_of(filters, 0, PRINT_MAX_ROWS)
        ui.range_caption(total, 0, len(rows))
        st.table(md_frame(view.progress_print_table(view.progress_table(rows))), hide_index=True)
        return rows, 1
    rows, page, pages = ui.paged_table(total, partial(_page_of, filters), page_rows=PAGE_ROWS, key=KEY_TABLE,
                                       page_key=KEY_PAGE, page_note="・停滞中・経過日数の長い順",
                                       table=view.progress_table, column_config=TABLE_COLUMNS)
    ui.csv_download(view.progress_table(rows), "案件ごとの進捗" + (f"_{page}ページ" if pages > 1 else ""),
                    "progress_table_csv")
    return rows, pages


def _pick_stage(funnel: pd.DataFrame) -> None:
    """A funnel bar chooses its stage and consortium in 「段階を選ぶ」 (its engagements below the chart)."""
    for point in ui.selected_points(KEY_FUNNEL_CHART):
        pick = view.funnel_stage_pick(funnel, point)
        if pick:
            st.session_state[KEY_STAGE] = pick[1]
            st.session_state[KEY_STAGE_CONSORTIUM] = view.consortium_label(pick[0])
            return


def _reached_stage(filters: Filters, funnel: pd.DataFrame) -> None:
    """「段階を選ぶ」: the engagements that reached the chosen stage in the chosen consortium."""
    stages, groups = view.funnel_choices(funnel)
    for key, valid in ((KEY_STAGE, stages), (KEY_STAGE_CONSORTIUM, groups)):
        if st.session_state.get(key) is not None and st.session_state[key] not in valid:
            del st.session_state[key]      # a choice the new filters no longer offer
    left, right = st.columns(2)
    stage_no = left.selectbox("段階を選ぶ（その段階に到達した案件を表示）", [None, *stages], key=KEY_STAGE,
                              format_func=lambda n: "選んでください" if n is None else stages[n])
    group = right.selectbox("コンソーシアム", list(groups), key=KEY_STAGE_CONSORTIUM) if len(groups) > 1 \
        else next(iter(groups))
    if stage_no is None:
        return
    reached = run_query("engagement_progress_page", filters, only_stalled=False, progress_only=False,
                        max_rows=PAGE_ROWS, offset=0, reached_stage=stage_no, stage_consortium=groups[group],
                        outside_consortia=groups[group] is None)
    n = int(reached["total_rows"].iloc[0]) if len(reached) else 0
    st.caption(f"{md_escape(group)}で「{md_escape(stages[stage_no])}」に到達した案件: {n:,}件"
               + (f"（停滞中・経過日数の長い順に{len(reached):,}件を表示）" if n > len(reached) else ""))
    if n:
        st.dataframe(view.progress_table(reached), hide_index=True, key="progress_stage_table",
                     column_config=TABLE_COLUMNS)


def stage_funnel(filters: Filters, context: str, printing: bool) -> None:
    st.subheader("段階別の到達状況")
    funnel = run_query("stage_funnel", filters)
    if funnel.empty:
        ui.empty_state("段階の記録がある伴走支援はありません。")
        return
    # 47 consortia make 47 small funnels: slow to build, so kept per filters and data version
    fig = ui.cached_figure("stage_funnel", filters, context, lambda: view.stage_funnel_figure(funnel, context))
    ui.plotly_chart(fig, key=KEY_FUNNEL_CHART, on_select="ignore" if printing else partial(_pick_stage, funnel),
                    selection_mode="points")
    if not printing:
        _reached_stage(filters, funnel)


def timeline(filters: Filters, summary: pd.Series, context: str) -> None:
    st.subheader("伴走支援のタイムライン")
    sessions = run_query("engagement_sessions", filters, max_engagements=TIMELINE_MAX)
    if sessions.empty:
        ui.empty_state()
        return
    if int(summary["with_sessions"]) > TIMELINE_MAX:
        st.caption(f"停滞中・最近実施した順に {TIMELINE_MAX}件まで表示しています。")
    ui.plotly_chart(view.engagement_timeline_figure(sessions, context, as_of=summary["as_of_date"],
                                                fiscal_year=filters.fiscal_year),
                    key="progress_timeline_chart")


def session_log(shown: pd.DataFrame, pages: int) -> None:
    """The session log of one engagement of the table's page (chosen interactively: not printed)."""
    st.subheader("支援記録")
    labels = {eid: f"{name}（{eid}）" for eid, name in zip(shown["engagement_id"], shown["client_name"])}
    if pages > 1:
        st.caption("上の表で表示しているページの案件から選べます。")
    chosen = st.selectbox("案件を選ぶ", list(labels), format_func=labels.get, key=KEY_ENGAGEMENT)
    if not chosen:
        return
    log = run_query("session_log", Filters(), engagement_id=chosen)
    if log.empty:
        ui.empty_state("この案件の支援記録はまだありません。")
        return
    table = view.session_log_table(log)
    st.dataframe(table, hide_index=True, key="progress_session_log")
    ui.csv_download(table, f"支援記録_{chosen}", "progress_session_log_csv")
