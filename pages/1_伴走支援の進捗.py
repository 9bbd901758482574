"""伴走支援の進捗: per engagement progress, stage funnel per consortium, timeline, session log.

Counts come from an aggregate query; the engagement table is read and sent a page at a time, so the browser gets a
bounded table at any scale. Drawing: monitor/render/progress.py."""
import streamlit as st

from monitor import ui
from monitor.print_layout import is_print_mode
from monitor.read.queries import run_query
from monitor.render import progress as render

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

render.counts(summary)
shown, pages = render.engagement_table(filters, total, printing)
render.stage_funnel(filters, context, printing)
render.timeline(filters, summary, context)
if not printing:
    render.session_log(shown, pages)
