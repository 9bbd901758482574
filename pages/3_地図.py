"""地図: a choropleth of one measure (案件数 / 伴走支援 実施回数 / 相談件数) on the shipped boundaries (国土数値情報). No
prefecture chosen: the 47 prefectures (or every municipality); clicking one — or choosing it in the list — sets the
都道府県 filter (and the URL) and zooms to it. With prefectures chosen: their municipalities, optionally points sized
by the same measure; clicking a municipality — or choosing it in the list — shows its records."""
import streamlit as st

from monitor import ui
from monitor.views import map as maps
from monitor.glossary import help_text
from monitor.plain import md_escape, md_frame
from monitor.print_layout import CHART_WIDTH_PX, is_print_mode
from monitor.read.queries import run_query

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


ui.page_setup("地図")
printing = is_print_mode()      # ?print=1: no controls, the map with its legend and a summary table
filters = ui.sidebar_filters()
with st.sidebar:
    st.markdown("**地図の表示**")
    basemap_on = st.toggle("背景地図を表示（インターネット接続が必要）", value=maps.basemap_from_env() is not None,
                           key=KEY_BASEMAP,
                           help="オフでは境界だけを描き、外部への通信をしません。"
                                "環境変数 DX_BASEMAP=light（dark, road）で既定をオンにできます。")
ui.context_caption(filters)
if st.session_state.get(STATE_NOTICE):
    st.info(st.session_state.pop(STATE_NOTICE))

points = run_query("map_points", filters)
if points.empty:
    ui.empty_state()
    st.stop()
pref_counts = run_query("map_prefectures", filters)
code_of = dict(zip(pref_counts["prefecture"], pref_counts["prefecture_code"]))
chosen_prefs = [p for p in filters.prefectures if p in code_of]     # names of the reference list only

placed = points.dropna(subset=["lat", "lng"])
c1, c2, c3, c4 = st.columns(4)
c1.metric("市区町村数", f"{len(placed):,}", help=help_text("mapped_municipalities"))
c2.metric("案件数", f"{int(points['engagements'].sum()):,}件", help=help_text("engagements"))
c3.metric("伴走支援 実施回数", f"{int(points['sessions'].sum()):,}回", help=help_text("sessions"))
c4.metric("相談件数", f"{int(points['consultations'].sum()):,}件", help=help_text("consultations"))

measure = st.session_state.get(KEY_SIZE_BY) if printing else None
level = st.session_state.get(KEY_LEVEL) if printing else None
show_points = bool(st.session_state.get(KEY_SHOW_POINTS)) if printing else False
if not printing:
    cols = st.columns([3, 2, 2])
    measure = cols[0].radio("色で示す指標", list(maps.SIZE_CHOICES), format_func=maps.SIZE_CHOICES.get,
                            horizontal=True, key=KEY_SIZE_BY)
    if chosen_prefs:
        show_points = cols[1].toggle("円でも示す", key=KEY_SHOW_POINTS,
                                     help="記録のある市区町村に、同じ指標の大きさの円を重ねます。")
        cols[2].button("全国の地図に戻る", on_click=_back_to_japan, key="map_back")
    else:
        level = cols[1].radio("塗り分けの単位", list(LEVELS), format_func=LEVELS.get, horizontal=True, key=KEY_LEVEL)
measure = measure if measure in maps.SIZE_CHOICES else next(iter(maps.SIZE_CHOICES))
level = level if level in LEVELS else "prefecture"

basemap = (maps.basemap_from_env() or "light") if basemap_on else None
size = {"width": CHART_WIDTH_PX} if printing else {}       # printed at a known width: fit to it
records: list[dict] = []
if chosen_prefs:
    deck, breaks, records = maps.build_prefecture_map(points, [code_of[p] for p in chosen_prefs], measure, basemap,
                                                      show_points=show_points, **size)
    area = "市区町村"
else:
    deck, breaks = maps.build_national_map(pref_counts, measure, basemap,
                                           municipal_counts=points if level == "municipality" else None, **size)
    area = LEVELS[level]

with st.container(border=True, key="map_frame"):     # title, context, legend, map and credit: one screenshot
    st.markdown(f"**{maps.map_title(measure, chosen_prefs)}**")
    st.text(ui.context_text(filters))                 # filter values can be record text: plain text only
    st.markdown(maps.legend_html(measure, breaks, area), unsafe_allow_html=True)
    if records:
        st.markdown(maps.size_legend_html(records, measure), unsafe_allow_html=True)
    alt = f"{maps.map_title(measure, chosen_prefs)}の地図（色の濃さが{maps.SIZE_CHOICES[measure]}）"
    if chosen_prefs:
        st.pydeck_chart(deck, on_select=_on_municipal_click, selection_mode="single-object", key=KEY_CHART,
                                height=maps.MAP_HEIGHT, alt=alt)
    else:
        st.pydeck_chart(deck, on_select=_on_national_click, selection_mode="single-object", key=KEY_NATIONAL_CHART,
                        height=maps.NATIONAL_MAP_HEIGHT, alt=alt)
    st.caption(maps.CREDIT)
if len(placed) < len(points):
    st.caption(f"所在地が分からず地図に表示できない記録があります（{len(points) - len(placed):,}か所分）。"
               "都道府県別の件数には含めています。")

if printing:
    if chosen_prefs:
        st.subheader("市区町村別の件数")
        st.table(md_frame(maps.points_table(points)), hide_index=True)
    else:
        st.subheader("都道府県別の件数")
        st.table(md_frame(maps.prefecture_table(pref_counts)), hide_index=True)
    st.stop()      # the records below are chosen interactively: not part of the printed page

if not chosen_prefs:
    with st.expander("表で見る"):
        st.dataframe(maps.prefecture_table(pref_counts), hide_index=True, key="map_prefectures_table")
    offered = ui.filter_choices()["prefectures"]
    st.selectbox("都道府県を選ぶ（地図の都道府県をクリックしても選べます）", offered, index=None,
                 placeholder="都道府県を選ぶと、その市区町村の地図になります", key=KEY_PREFECTURE,
                 on_change=_on_prefecture_list)
    st.stop()

with st.expander("表で見る"):
    st.dataframe(maps.points_table(points), hide_index=True, key="map_points_table")
    ui.csv_download(maps.points_table(points), "市区町村別の件数", "map_points_csv")

st.subheader("市区町村の記録")
options = maps.municipality_options(points)
st.session_state[STATE_OPTIONS] = options
if st.session_state.get(KEY_MUNICIPALITY) not in options:
    st.session_state[KEY_MUNICIPALITY] = None
chosen = st.selectbox("市区町村を選ぶ（地図の市区町村をクリックしても選べます）", list(options), index=None,
                      format_func=options.get, placeholder="市区町村を選んでください", key=KEY_MUNICIPALITY)
if chosen:
    engagements = run_query("map_municipality_engagements", filters, municipality_code=chosen)
    consultations = run_query("map_municipality_consultations", filters, municipality_code=chosen,
                              max_rows=RECORDS_MAX)
    st.markdown(f"**{md_escape(options[chosen])}の支援案件（{len(engagements):,}件）**")
    if engagements.empty:
        st.caption("この条件の支援案件はありません。")
    else:
        st.dataframe(maps.engagements_table(engagements), hide_index=True, key="map_engagements_table")
        ui.csv_download(maps.engagements_table(engagements), f"支援案件_{options[chosen]}", "map_engagements_csv")
    n = int(consultations["total_rows"].iloc[0]) if len(consultations) else 0
    st.markdown(f"**{md_escape(options[chosen])}の相談記録（{n:,}件）**")
    if consultations.empty:
        st.caption("この条件の相談記録はありません。")
    else:
        if n > len(consultations):
            st.caption(f"新しい順に {len(consultations):,}件を表示しています。")
        st.dataframe(maps.consultations_table(consultations), hide_index=True, key="map_consultations_table")
        ui.csv_download(maps.consultations_table(consultations), f"相談記録_{options[chosen]}",
                        "map_consultations_csv")
