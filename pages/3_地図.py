"""地図: a choropleth of one measure (案件数 / 伴走支援 実施回数 / 相談件数) on the shipped boundaries (国土数値情報). No
prefecture chosen: the 47 prefectures (or every municipality); clicking one — or choosing it in the list — sets the
都道府県 filter (and the URL) and zooms to it. With prefectures chosen: their municipalities, optionally points sized
by the same measure; clicking a municipality — or choosing it in the list — shows its records.
Drawing and clicks: monitor/render/map.py."""
import streamlit as st

from monitor import ui
from monitor.print_layout import is_print_mode
from monitor.read.queries import run_query
from monitor.render import map as render

ui.page_setup("地図")
printing = is_print_mode()      # ?print=1: no controls, the map with its legend and a summary table
filters = ui.sidebar_filters()
basemap_on = render.basemap_toggle()
ui.context_caption(filters)
render.notice()

points = run_query("map_points", filters)
if points.empty:
    ui.empty_state()
    st.stop()
pref_counts = run_query("map_prefectures", filters)
chosen_prefs = [p for p in filters.prefectures if p in set(pref_counts["prefecture"])]   # reference names only

render.counts(points)
choice = render.controls(bool(chosen_prefs), printing)
render.map_frame(filters, points, pref_counts, chosen_prefs, choice, basemap_on, printing)
if printing:
    render.printed_table(points, pref_counts, bool(chosen_prefs))
elif chosen_prefs:
    render.municipality_records(filters, points)
else:
    render.prefecture_chooser(pref_counts)
