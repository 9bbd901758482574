"""相談テーマ: consultations and 伴走支援 session themes by count and share, their trend, theme × area, and the
records behind a chosen theme."""
import streamlit as st

from monitor import ui
from monitor.views import themes as themes_view
from monitor.glossary import help_text
from monitor.plain import md_escape
from monitor.print_layout import is_print_mode
from monitor.read.queries import run_query

RECORDS_MAX = 300
KEY_RECORDS_THEME = "themes_records_theme"
STATE_RECORDS_LABEL = "_themes_records_label"     # the label the browser shows for the chosen theme

KEY_BAR_CHART = "themes_bar_chart"


def _show_theme_records() -> None:
    """A theme's bar chooses that theme in 「テーマを選ぶ」 (its records below)."""
    for point in ui.selected_points(KEY_BAR_CHART):
        if isinstance(point.get("y"), str):
            st.session_state[KEY_RECORDS_THEME] = point["y"]
            return


ui.page_setup("相談テーマ")
printing = is_print_mode()      # ?print=1: the charts without their controls
filters = ui.sidebar_filters()
ui.context_caption(filters)
context = ui.context_text(filters)

counts = run_query("theme_counts", filters)
if counts.empty:
    ui.empty_state()
    st.stop()

total = int(counts["records"].sum())
c1, c2, c3 = st.columns(3)
c1.metric("相談件数", f"{int(counts['consultations'].sum()):,}件", help=help_text("consultations"))
c2.metric("伴走記録（テーマ別）", f"{int(counts['sessions'].sum()):,}件", help=help_text("theme_sessions"))
c3.metric("テーマ数", f"{int((counts['theme'] != themes_view.UNMAPPED).sum()):,}", help=help_text("themes_count"))

st.subheader("テーマ別の件数と構成比")
st.plotly_chart(themes_view.theme_bar_figure(counts, context), key=KEY_BAR_CHART, on_select=_show_theme_records,
                selection_mode="points")
if not printing:
    st.caption("テーマの棒をクリックすると、下の「テーマの記録」にそのテーマの記録を表示します。")
st.caption(themes_view.SHARE_NOTE)
if not printing:
    with st.expander("表で見る"):
        st.dataframe(themes_view.theme_count_table(counts), hide_index=True, key="themes_count_table")
        ui.csv_download(themes_view.theme_count_table(counts), "テーマ別の件数", "themes_count_csv")

st.subheader("テーマ別件数の推移")
if printing:
    grain = st.session_state.get("themes_grain") if st.session_state.get("themes_grain") in themes_view.GRAINS \
        else next(iter(themes_view.GRAINS))
else:
    grain = st.radio("集計単位", list(themes_view.GRAINS), format_func=themes_view.GRAINS.get, horizontal=True,
                     key="themes_grain")
trend = run_query("theme_trend", filters, grain=grain)
if trend.empty:
    ui.empty_state()
else:
    st.plotly_chart(themes_view.theme_trend_figure(trend, context, grain=grain), key="themes_trend_chart")

by_municipality = len(filters.prefectures) == 1
area_label = "市区町村" if by_municipality else "都道府県"
st.subheader(f"テーマ × {area_label}")
heat = run_query("theme_heatmap", filters, by_municipality=by_municipality)
if heat.empty:
    ui.empty_state()
else:
    if not by_municipality:
        st.caption("都道府県を1つに絞り込むと、市区町村別に表示します。")
    st.plotly_chart(
        themes_view.theme_heatmap_figure(heat, context, area_label=area_label,
                                          prefecture=filters.prefectures[0] if by_municipality else None),
        key="themes_heatmap_chart")

if printing:
    st.stop()      # the records below are chosen interactively: not part of the printed page
st.subheader("テーマの記録")
themes = counts["theme"].tolist()
labels = {t: f"{t}（{n:,}件）" for t, n in zip(counts["theme"], counts["records"].astype(int))}
current = st.session_state.get(KEY_RECORDS_THEME)
if current in labels and st.session_state.get(STATE_RECORDS_LABEL) != labels[current]:
    # the chosen theme's count changed with the filters: send the label again, or the browser keeps the old one
    st.session_state[KEY_RECORDS_THEME] = current
chosen = st.selectbox("テーマを選ぶ", themes, format_func=lambda t: labels.get(t, t), key=KEY_RECORDS_THEME)
st.session_state[STATE_RECORDS_LABEL] = labels.get(chosen)
if chosen:
    records = run_query("theme_records", filters, theme=chosen, max_rows=RECORDS_MAX)
    if records.empty:
        ui.empty_state()
    else:
        n = int(records["total_rows"].iloc[0])
        shown = len(records)
        st.caption(f"「{md_escape(chosen)}」の記録 {n:,}件" + (f"（新しい順に {shown:,}件を表示）" if n > shown else ""))
        st.dataframe(themes_view.theme_records_table(records), hide_index=True, key="themes_records_table")
        ui.csv_download(themes_view.theme_records_table(records), f"テーマの記録_{chosen}", "themes_records_csv")
