"""地図's parts drawn with Streamlit: the basemap toggle, the counts, the map controls, the map frame (title, context,
legend, map, credit), the printed tables, the prefecture chooser and a municipality's records. Clicks on the map and
the lists set the shared 都道府県 filter or the chosen municipality. Builders: monitor/views/map.py."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from monitor import ui
from monitor.glossary import help_text
from monitor.plain import md_escape, md_frame
from monitor.print_layout import CHART_WIDTH_PX
from monitor.read.filters import Filters
from monitor.read.queries import run_query
from monitor.views import map as maps

RECORDS_MAX = 300
KEY_SIZE_BY = "map_size_by"
KEY_LEVEL = "map_level"
KEY_SHOW_POINTS = "map_show_points"
KEY_BASEMAP = "map_basemap"
KEY_CHART = "map_chart"                     # the prefecture view's map (municipalities)
KEY_NATIONAL_CHART = "map_national_chart"   # the national view's map (prefectures)
KEY_PREFECTURE = "map_prefecture"
KEY_MUNICIPALITY = "map_municipality"
STATE_OPTIONS = "_map_municipality_options"
STATE_NOTICE = "_map_notice"
LEVELS = {"prefecture": "都道府県", "municipality": "市区町村"}


@dataclass(frozen=True)
class MapChoice:
    """What the map shows: the measure, the level of the national view, circles on the prefecture view."""
    measure: str
    level: str
    show_points: bool


# ── callbacks (run before the next page run) ──

def _choose_prefecture(name: str | None) -> None:
    """Set the shared 都道府県 filter (the sidebar draws it and writes the URL after this callback)."""
    if not name:
        return
    if name not in ui.filter_choices()["prefectures"]:
        st.session_state[STATE_NOTICE] = f"{name}には、この条件で表示できる記録がありません。"
        return
    st.session_state[ui.KEY_PREFECTURES] = [name]
    st.session_state[KEY_MUNICIPALITY] = None


def _on_national_click() -> None:
    _choose_prefecture(maps.selected_prefecture(st.session_state.get(KEY_NATIONAL_CHART)))


def _on_prefecture_list() -> None:
    _choose_prefecture(st.session_state.get(KEY_PREFECTURE))


def _on_municipal_click() -> None:
    code = maps.selected_code(st.session_state.get(KEY_CHART))
    if not code:
        return
    if code in st.session_state.get(STATE_OPTIONS, {}):
        st.session_state[KEY_MUNICIPALITY] = code       # a click on the map chooses the same as the list
    else:
        st.session_state[STATE_NOTICE] = "この市区町村には、この条件の記録がありません。"


def _back_to_japan() -> None:
    st.session_state[ui.KEY_PREFECTURES] = []
    st.session_state[KEY_MUNICIPALITY] = None


# ── parts ──

def basemap_toggle() -> bool:
    with st.sidebar:
        st.markdown("**地図の表示**")
        return st.toggle("背景地図を表示（インターネット接続が必要）", value=maps.basemap_from_env() is not None,
                         key=KEY_BASEMAP, help="オフでは境界だけを描き、外部への通信をしません。"
                                               "環境変数 DX_BASEMAP=light（dark, road）で既定をオンにできます。")


def notice() -> None:
    """A message a callback left (a click on an area without records)."""
    if st.session_state.get(STATE_NOTICE):
        st.info(st.session_state.pop(STATE_NOTICE))


def counts(points: pd.DataFrame) -> None:
    placed = points.dropna(subset=["lat", "lng"])
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("市区町村数", f"{len(placed):,}", help=help_text("mapped_municipalities"))
    c2.metric("案件数", f"{int(points['engagements'].sum()):,}件", help=help_text("engagements"))
    c3.metric("伴走支援 実施回数", f"{int(points['sessions'].sum()):,}回", help=help_text("sessions"))
    c4.metric("相談件数", f"{int(points['consultations'].sum()):,}件", help=help_text("consultations"))


def controls(prefecture_view: bool, printing: bool) -> MapChoice:
    """On screen the radio buttons and toggle; printed, what they last held in this session."""
    if printing:
        measure = st.session_state.get(KEY_SIZE_BY)
        level = st.session_state.get(KEY_LEVEL)
        show_points = bool(st.session_state.get(KEY_SHOW_POINTS))
    else:
        level, show_points = None, False
        cols = st.columns([3, 2, 2])
        measure = cols[0].radio("色で示す指標", list(maps.SIZE_CHOICES), format_func=maps.SIZE_CHOICES.get,
                                horizontal=True, key=KEY_SIZE_BY)
        if prefecture_view:
            show_points = cols[1].toggle("円でも示す", key=KEY_SHOW_POINTS,
                                         help="記録のある市区町村に、同じ指標の大きさの円を重ねます。")
            cols[2].button("全国の地図に戻る", on_click=_back_to_japan, key="map_back")
        else:
            level = cols[1].radio("塗り分けの単位", list(LEVELS), format_func=LEVELS.get, horizontal=True,
                                  key=KEY_LEVEL)
    return MapChoice(measure if measure in maps.SIZE_CHOICES else next(iter(maps.SIZE_CHOICES)),
                     level if level in LEVELS else "prefecture", show_points)


def map_frame(filters: Filters, points: pd.DataFrame, pref_counts: pd.DataFrame, chosen_prefs: list[str],
              choice: MapChoice, basemap_on: bool, printing: bool) -> None:
    """Title, context, legend, map and credit in one frame (one screenshot)."""
    basemap = (maps.basemap_from_env() or "light") if basemap_on else None
    size = {"width": CHART_WIDTH_PX} if printing else {}       # printed at a known width: fit to it
    records: list[dict] = []
    if chosen_prefs:
        code_of = dict(zip(pref_counts["prefecture"], pref_counts["prefecture_code"]))
        deck, breaks, records = maps.build_prefecture_map(points, [code_of[p] for p in chosen_prefs], choice.measure,
                                                          basemap, show_points=choice.show_points, **size)
        area = "市区町村"
    else:
        deck, breaks = maps.build_national_map(pref_counts, choice.measure, basemap,
                                               municipal_counts=points if choice.level == "municipality" else None,
                                               **size)
        area = LEVELS[choice.level]
    title = maps.map_title(choice.measure, chosen_prefs)
    with st.container(border=True, key="map_frame"):
        st.markdown(f"**{title}**")
        st.text(ui.context_text(filters))                 # filter values can be record text: plain text only
        st.markdown(maps.legend_html(choice.measure, breaks, area), unsafe_allow_html=True)
        if records:
            st.markdown(maps.size_legend_html(records, choice.measure), unsafe_allow_html=True)
        alt = f"{title}の地図（色の濃さが{maps.SIZE_CHOICES[choice.measure]}）"
        if chosen_prefs:
            st.pydeck_chart(deck, on_select=_on_municipal_click, selection_mode="single-object", key=KEY_CHART,
                            height=maps.MAP_HEIGHT, alt=alt)
        else:
            st.pydeck_chart(deck, on_select=_on_national_click, selection_mode="single-object",
                            key=KEY_NATIONAL_CHART, height=maps.NATIONAL_MAP_HEIGHT, alt=alt)
        st.caption(maps.CREDIT)
    unplaced = int(points[["lat", "lng"]].isna().any(axis=1).sum())
    if unplaced:
        st.caption(f"所在地が分からず地図に表示できない記録があります（{unplaced:,}か所分）。"
                   "都道府県別の件数には含めています。")


def printed_table(points: pd.DataFrame, pref_counts: pd.DataFrame, prefecture_view: bool) -> None:
    if prefecture_view:
        st.subheader("市区町村別の件数")
        st.table(md_frame(maps.points_table(points)), hide_index=True)
    else:
        st.subheader("都道府県別の件数")
        st.table(md_frame(maps.prefecture_table(pref_counts)), hide_index=True)


def prefecture_chooser(pref_counts: pd.DataFrame) -> None:
    """The national view's table and the list that chooses a prefecture (as a click on the map does)."""
    with st.expander("表で見る"):
        st.dataframe(maps.prefecture_table(pref_counts), hide_index=True, key="map_prefectures_table")
    st.selectbox("都道府県を選ぶ（地図の都道府県をクリックしても選べます）", ui.filter_choices()["prefectures"],
                 index=None, placeholder="都道府県を選ぶと、その市区町村の地図になります", key=KEY_PREFECTURE,
                 on_change=_on_prefecture_list)


def _records_of(filters: Filters, code: str, name: str) -> None:
    engagements = run_query("map_municipality_engagements", filters, municipality_code=code)
    consultations = run_query("map_municipality_consultations", filters, municipality_code=code,
                              max_rows=RECORDS_MAX)
    st.markdown(f"**{md_escape(name)}の支援案件（{len(engagements):,}件）**")
    if engagements.empty:
        st.caption("この条件の支援案件はありません。")
    else:
        table = maps.engagements_table(engagements)
        st.dataframe(table, hide_index=True, key="map_engagements_table")
        ui.csv_download(table, f"支援案件_{name}", "map_engagements_csv")
    n = int(consultations["total_rows"].iloc[0]) if len(consultations) else 0
    st.markdown(f"**{md_escape(name)}の相談記録（{n:,}件）**")
    if consultations.empty:
        st.caption("この条件の相談記録はありません。")
        return
    if n > len(consultations):
        st.caption(f"新しい順に {len(consultations):,}件を表示しています。")
    table = maps.consultations_table(consultations)
    st.dataframe(table, hide_index=True, key="map_consultations_table")
    ui.csv_download(table, f"相談記録_{name}", "map_consultations_csv")


def municipality_records(filters: Filters, points: pd.DataFrame) -> None:
    """The prefecture view's table, and the records of the municipality chosen in the list or on the map."""
    with st.expander("表で見る"):
        table = maps.points_table(points)
        st.dataframe(table, hide_index=True, key="map_points_table")
        ui.csv_download(table, "市区町村別の件数", "map_points_csv")
    st.subheader("市区町村の記録")
    options = maps.municipality_options(points)
    st.session_state[STATE_OPTIONS] = options
    if st.session_state.get(KEY_MUNICIPALITY) not in options:
        st.session_state[KEY_MUNICIPALITY] = None
    chosen = st.selectbox("市区町村を選ぶ（地図の市区町村をクリックしても選べます）", list(options), index=None,
                          format_func=options.get, placeholder="市区町村を選んでください", key=KEY_MUNICIPALITY)
    if chosen:
        _records_of(filters, chosen, options[chosen])
