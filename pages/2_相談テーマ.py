"""相談テーマ: consultations and 伴走支援 session themes by count and share, their trend, theme × area, and the
records behind a chosen theme. Drawing: monitor/render/themes.py."""
import streamlit as st

from monitor import ui
from monitor.print_layout import is_print_mode
from monitor.read.queries import run_query
from monitor.render import themes as render

ui.page_setup("相談テーマ")
printing = is_print_mode()      # ?print=1: the charts without their controls
filters = ui.sidebar_filters()
ui.context_caption(filters)
context = ui.context_text(filters)

theme_counts = run_query("theme_counts", filters)
if theme_counts.empty:
    ui.empty_state()
    st.stop()

render.counts(theme_counts)
render.theme_bars(theme_counts, context, printing)
render.trend(filters, context)
render.by_area(filters, context)
if not printing:
    render.theme_records(filters, theme_counts)
