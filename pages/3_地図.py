"""地図: municipalities with activity on a pydeck map (sized by a chosen count, coloured by client type, prefecture
boundaries from the shipped GeoJSON); clicking a point — or choosing it in the list below — shows its records."""
import streamlit as st

from monitor import maps, ui
from monitor.glossary import help_text
from monitor.plain import md_escape, md_frame
from monitor.print_layout import CHART_WIDTH_PX, is_print_mode
from monitor.queries import run_query

RECORDS_MAX = 300
KEY_SIZE_BY = "map_size_by"
KEY_BASEMAP = "map_basemap"
KEY_CHART = "map_chart"
KEY_MUNICIPALITY = "map_municipality"
STATE_LAST_CLICK = "_map_last_click"

ui.page_setup("地図")
printing = is_print_mode()      # ?print=1: no controls, the map with its legend and the table in full
filters = ui.sidebar_filters()
with st.sidebar:
    st.markdown("**地図の表示**")
    basemap_on = st.toggle("背景地図を表示（インターネット接続が必要）", value=maps.basemap_from_env() is not None,
                           key=KEY_BASEMAP,
                           help="オフでは都道府県の境界だけを描き、外部への通信をしません。"
                                "環境変数 DX_BASEMAP=light（dark, road）で既定をオンにできます。")
ui.context_caption(filters)

points = run_query("map_points", filters)
if points.empty:
    ui.empty_state()
    st.stop()

placed = points.dropna(subset=["lat", "lng"])
c1, c2, c3, c4 = st.columns(4)
c1.metric("市区町村数", f"{len(placed):,}", help=help_text("mapped_municipalities"))
c2.metric("案件数", f"{int(points['engagements'].sum()):,}件", help=help_text("engagements"))
c3.metric("伴走支援 実施回数", f"{int(points['sessions'].sum()):,}回", help=help_text("sessions"))
c4.metric("相談件数", f"{int(points['consultations'].sum()):,}件", help=help_text("consultations"))

if printing:
    size_by = st.session_state.get(KEY_SIZE_BY) or next(iter(maps.SIZE_CHOICES))
    if size_by not in maps.SIZE_CHOICES:
        size_by = next(iter(maps.SIZE_CHOICES))
else:
    size_by = st.radio("円の大きさ", list(maps.SIZE_CHOICES), format_func=maps.SIZE_CHOICES.get, horizontal=True,
                       key=KEY_SIZE_BY)
basemap = (maps.basemap_from_env() or "light") if basemap_on else None
deck = maps.build_map(points, maps.load_boundaries(), size_by=size_by, basemap=basemap,
                      **({"width": CHART_WIDTH_PX} if printing else {}))   # printed at a known width: fit to it
st.markdown(maps.legend_markdown(placed["client_category"].unique()) +
            f"　｜　円の大きさ＝{maps.SIZE_CHOICES[size_by]}", unsafe_allow_html=True)
event = st.pydeck_chart(deck, on_select="rerun", selection_mode="single-object", key=KEY_CHART, height=maps.MAP_HEIGHT,
                        alt=f"市区町村別の支援状況の地図（{len(placed):,}市区町村、円の大きさは{maps.SIZE_CHOICES[size_by]}）")
if len(placed) < len(points):
    st.caption(f"所在地が分からず地図に表示できない記録があります（{len(points) - len(placed):,}か所分）。下の表に含めています。")
if printing:
    st.subheader("市区町村別の件数")
    st.table(md_frame(maps.points_table(points)), hide_index=True)
    st.stop()      # the records below are chosen interactively: not part of the printed page
with st.expander("表で見る"):
    st.dataframe(maps.points_table(points), hide_index=True, key="map_points_table")
    ui.csv_download(maps.points_table(points), "市区町村別の件数", "map_points_csv")

st.subheader("市区町村の記録")
options = maps.municipality_options(points)
clicked = maps.selected_code(event)
if clicked and clicked != st.session_state.get(STATE_LAST_CLICK) and clicked in options:
    st.session_state[KEY_MUNICIPALITY] = clicked        # a click on the map chooses the same as the list
st.session_state[STATE_LAST_CLICK] = clicked
if st.session_state.get(KEY_MUNICIPALITY) not in options:
    st.session_state[KEY_MUNICIPALITY] = None
chosen = st.selectbox("市区町村を選ぶ（地図の円をクリックしても選べます）", list(options), index=None,
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
