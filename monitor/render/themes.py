"""相談テーマ's parts drawn with Streamlit: the counts, the theme bar chart (a bar chooses that theme's records), the
trend with its 集計単位, theme × area, and the records of one theme. Builders: monitor/views/themes.py."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from monitor import ui
from monitor.glossary import help_text
from monitor.plain import md_escape
from monitor.read.filters import PARAM_THEMES_HEAT_MEASURE, PARAM_THEMES_HEAT_TOP, Filters
from monitor.read.queries import run_query
from monitor.views import themes as view

RECORDS_MAX = 300
KEY_BAR_CHART = "themes_bar_chart"
KEY_GRAIN = "themes_grain"
KEY_RECORDS_THEME = "themes_records_theme"
KEY_HEAT_MEASURE = "themes_heat_measure"
KEY_HEAT_TOP = "themes_heat_top"
STATE_RECORDS_LABEL = "_themes_records_label"     # the label the browser shows for the chosen theme


def counts(theme_counts: pd.DataFrame) -> None:
    c1, c2, c3 = st.columns(3)
    c1.metric("相談件数", f"{int(theme_counts['consultations'].sum()):,}件", help=help_text("consultations"))
    c2.metric("伴走記録（テーマ別）", f"{int(theme_counts['sessions'].sum()):,}件", help=help_text("theme_sessions"))
    c3.metric("テーマ数", f"{int((theme_counts['theme'] != view.UNMAPPED).sum()):,}", help=help_text("themes_count"))


def _show_theme_records() -> None:
    """A theme's bar chooses that theme in 「テーマを選ぶ」 (its records below)."""
    for point in ui.selected_points(KEY_BAR_CHART):
        if isinstance(point.get("y"), str):
            st.session_state[KEY_RECORDS_THEME] = point["y"]
            return


def theme_bars(theme_counts: pd.DataFrame, context: str, printing: bool) -> None:
    st.subheader("テーマ別の件数と構成比")
    ui.plotly_chart(view.theme_bar_figure(theme_counts, context), key=KEY_BAR_CHART,
                    on_select="ignore" if printing else _show_theme_records, selection_mode="points")
    if not printing:
        st.caption("テーマの棒をクリックすると、下の「テーマの記録」にそのテーマの記録を表示します。")
    st.caption(view.SHARE_NOTE)
    if not printing:
        with st.expander("表で見る"):
            table = view.theme_count_table(theme_counts)
            st.dataframe(table, hide_index=True, key="themes_count_table")
            ui.csv_download(table, "テーマ別の件数", "themes_count_csv")


def trend(filters: Filters, context: str) -> None:
    st.subheader("テーマ別件数の推移")
    grain = ui.chosen_or_widget(KEY_GRAIN, view.GRAINS, lambda: st.radio(
        "集計単位", list(view.GRAINS), format_func=view.GRAINS.get, horizontal=True, key=KEY_GRAIN))
    data = run_query("theme_trend", filters, grain=grain)
    if data.empty:
        ui.empty_state()
        return
    ui.plotly_chart(view.theme_trend_figure(data, context, grain=grain), key="themes_trend_chart")


def by_area(filters: Filters, context: str) -> None:
    """Area × theme: 都道府県, or 市区町村 when one prefecture is chosen; 件数 or 構成比 (row %), the largest areas.
    Both choices are kept in the URL and, printed, are the ones last chosen (or the URL's)."""
    by_municipality = len(filters.prefectures) == 1
    area_label = "市区町村" if by_municipality else "都道府県"
    st.subheader(f"{area_label} × テーマ")
    heat = run_query("theme_heatmap", filters, by_municipality=by_municipality)
    if heat.empty:
        ui.empty_state()
        return
    ui.url_choice(KEY_HEAT_MEASURE, PARAM_THEMES_HEAT_MEASURE, view.HEATMAP_MEASURES, "count")
    ui.url_choice(KEY_HEAT_TOP, PARAM_THEMES_HEAT_TOP, view.HEATMAP_TOPS, view.HEATMAP_DEFAULT_TOP)
    left, right = st.columns(2)
    with left:
        measure = ui.chosen_or_widget(KEY_HEAT_MEASURE, view.HEATMAP_MEASURES, lambda: st.radio(
            "表示する値", list(view.HEATMAP_MEASURES), format_func=view.HEATMAP_MEASURES.get, horizontal=True,
            key=KEY_HEAT_MEASURE), default="count")
    with right:
        top = ui.chosen_or_widget(KEY_HEAT_TOP, view.HEATMAP_TOPS, lambda: st.selectbox(
            f"表示する{area_label}（件数の多い順）", list(view.HEATMAP_TOPS), format_func=view.HEATMAP_TOPS.get,
            key=KEY_HEAT_TOP), default=view.HEATMAP_DEFAULT_TOP)
    ui.keep_in_url(PARAM_THEMES_HEAT_MEASURE, view.HEATMAP_MEASURES[measure])
    ui.keep_in_url(PARAM_THEMES_HEAT_TOP, view.HEATMAP_TOPS[top])
    if not by_municipality:
        st.caption("都道府県を1つに絞り込むと、市区町村別に表示します。")
    ui.plotly_chart(view.theme_heatmap_figure(heat, context, area_label=area_label,
                                              prefecture=filters.prefectures[0] if by_municipality else None,
                                              measure=measure, top=top),
                    key="themes_heatmap_chart")
    rows = view.heatmap_rows(heat, top)
    if rows.left_out:
        st.caption(view.left_out_line(rows, area_label))
    if measure == "share":
        st.caption(view.HEATMAP_SHARE_NOTE)


def theme_records(filters: Filters, theme_counts: pd.DataFrame) -> None:
    """The records of the theme chosen in 「テーマを選ぶ」 (or by a bar); chosen interactively: not printed."""
    st.subheader("テーマの記録")
    labels = {t: f"{t}（{n:,}件）" for t, n in zip(theme_counts["theme"], theme_counts["records"].astype(int))}
    current = st.session_state.get(KEY_RECORDS_THEME)
    if current in labels and st.session_state.get(STATE_RECORDS_LABEL) != labels[current]:
        # the chosen theme's count changed with the filters: send the label again, or the browser keeps the old one
        st.session_state[KEY_RECORDS_THEME] = current
    chosen = st.selectbox("テーマを選ぶ", list(labels), format_func=lambda t: labels.get(t, t), key=KEY_RECORDS_THEME)
    st.session_state[STATE_RECORDS_LABEL] = labels.get(chosen)
    if not chosen:
        return
    records = run_query("theme_records", filters, theme=chosen, max_rows=RECORDS_MAX)
    if records.empty:
        ui.empty_state()
        return
    n, shown = int(records["total_rows"].iloc[0]), len(records)
    st.caption(f"「{md_escape(chosen)}」の記録 {n:,}件" + (f"（新しい順に {shown:,}件を表示）" if n > shown else ""))
    table = view.theme_records_table(records)
    st.dataframe(table, hide_index=True, key="themes_records_table")
    ui.csv_download(table, f"テーマの記録_{chosen}", "themes_records_csv")
