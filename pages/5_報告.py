"""報告: the fiscal-year 実績 report (tables against targets, charts) for the sidebar's 年度 and コンソーシアム, with
Excel / CSV / PNG / PDF exports that carry their context, and a print layout (?print=1, one page per section).

The report is cached per (年度, 対象, database version) (monitor.views.report.cached_report); its parts are drawn by
monitor/render/report.py (exports built on click, long tables a page at a time)."""
import streamlit as st

from monitor import ui
from monitor.print_layout import apply_print_layout, is_print_mode
from monitor.render import report as render
from monitor.views.report import cached_report, report_title, unapplied_filters

TITLE = "報告"

ui.page_setup(TITLE)
filters = ui.sidebar_filters()
printing = is_print_mode()

if filters.fiscal_year is None:
    ui.context_caption(filters)
    ui.empty_state("報告は年度ごとに作成します。サイドバーで年度を選んでください。")
    st.stop()

consortium = render.choose_scope(filters)
title = report_title(filters.fiscal_year, consortium)
report = cached_report(filters.fiscal_year, consortium)
# the report applies 年度 and 対象 only: its header names those, and says which sidebar filters it left out
unapplied = unapplied_filters(filters, consortium)
if not apply_print_layout(title, report.header_text(unapplied)):
    render.screen_header(report, unapplied)
if not printing:
    render.export_bar(report, title, consortium, unapplied)
render.narrative(report, printing)
for section in report.sections:
    render.section(report, section, printing)
