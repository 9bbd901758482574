"""概要: KPIs against targets, per consortium comparison, monthly activity, engagements needing attention.
Builders: monitor/views/overview.py; drawing and drills: monitor/render/overview.py."""
import streamlit as st

from monitor import intake, ui
from monitor.read.queries import data_as_of, run_query
from monitor.render import overview as render
from monitor.views import overview

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

pace = overview.pace_for(filters, total)
if filters.fiscal_year is None:
    render.years_section(filters)
else:
    st.subheader("主要指標（目標との比較）")
    if pace:
        render.pace_line(pace, total)
    render.kpi_cards(total, pace)
if pace:
    render.alerts(filters, data_as_of())
render.comparison(kpi, filters, context)
render.monthly(filters, context)
render.attention(filters)
