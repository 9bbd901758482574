"""The 地図 builders on small hand-made DataFrames and the shipped boundaries: the class scale (quantiles, 0 apart),
legends, the national and prefecture choropleths, points, the fitted view, the tooltip, the basemap."""
from __future__ import annotations

import json
import math
import re

import pandas as pd
import pydeck as pdk
import pytest

from monitor.views import map as maps

POINTS = pd.DataFrame({
    "municipality_code": ["062014", "082015", "202011", "999999"],
    "municipality": ["山形市", "水戸市", "長野市", "不明"],
    "prefecture": ["山形県", "茨城県", "長野県", "不明"],
    "prefecture_code": ["06", "08", "20", None],
    "lat": [38.255439, 36.366503, 36.648583, None],
    "lng": [140.339602, 140.470997, 138.194771, None],
    "engagements": [3, 4, 1, 1],
    "sessions": [0, 40, 15, 0],
    "consultations": [86, 0, 2, 0],
    "client_category": ["自治体", "企業", "企業・自治体", "企業"],
})


def _deck_json(deck: pdk.Deck) -> dict:
    return json.loads(deck.to_json())


def _layer(spec: dict, layer_id: str) -> dict:
    return next(layer for layer in spec["layers"] if layer["id"] == layer_id)


def test_radius_grows_with_count():
    r = maps.radius_px([0, 1, 4, 16, None])
    assert r[0] == maps.ZERO_RADIUS_PX and r[4] == maps.ZERO_RADIUS_PX
    assert r[1] < r[2] < r[3] == maps.MAX_RADIUS_PX
    assert r[1] > maps.MIN_RADIUS_PX
    # area (not radius) is proportional: the radius above the minimum follows the square root
    assert math.isclose((r[2] - maps.MIN_RADIUS_PX) / (r[3] - maps.MIN_RADIUS_PX), 0.5, abs_tol=0.01)
    assert maps.radius_px([0, 0]) == [maps.ZERO_RADIUS_PX] * 2
    assert maps.radius_px([]) == []


@pytest.mark.parametrize("n, factor", [(1, 1.0), (300, 1.0), (1200, 0.5), (1737, 0.416), (100_000, 0.4)])
def test_crowded_maps_draw_smaller_circles(n, factor):
    assert math.isclose(maps.crowd_factor(n), factor, abs_tol=0.001)


def test_point_records_shrink_with_many_points():
    row = POINTS.iloc[0].to_dict()
    few = pd.DataFrame([{**row, "lat": 35.0 + i / 100, "engagements": i + 1} for i in range(10)])
    many = pd.concat([few] * 120, ignore_index=True)                  # 1,200 points
    biggest = max(r["radius"] for r in maps.point_records(few))
    crowded = max(r["radius"] for r in maps.point_records(many))
    assert biggest == maps.MAX_RADIUS_PX and math.isclose(crowded, maps.MAX_RADIUS_PX * 0.5, abs_tol=0.01)
    assert min(r["radius"] for r in maps.point_records(many)) >= 2.0     # the smallest still visible


@pytest.mark.parametrize("values, breaks", [
    ([0, 0], []),
    ([0, 3, 3, 7], [(3, 3), (7, 7)]),                                     # few distinct counts: one class each
    ([1, 2, 3, 4, 5], [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5)]),
    ([0, 1, 1, 2, 3, 5, 8, 13, 40, 100, 300], [(1, 1), (2, 3), (5, 8), (13, 40), (100, 300)]),
    # skewed (Tokyo 845, most prefectures 30–100): quantiles keep the many small ones apart
    ([30, 35, 40, 45, 50, 55, 60, 70, 80, 90, 845], [(30, 40), (45, 50), (55, 60), (70, 80), (90, 845)]),
])
def test_class_breaks_are_quantiles_with_zero_apart(values, breaks):
    assert maps.class_breaks(values) == breaks
    for low, high in breaks:
        assert low <= high
    for (_, high), (low, _) in zip(breaks, breaks[1:]):
        assert low > high                                                  # classes do not overlap
    positives = [v for v in values if v > 0]
    for v in positives:                                                    # every count falls in a class
        assert any(low <= v <= high for low, high in breaks)
    assert maps.class_index(0, breaks) == -1


def test_fill_colours_follow_the_classes():
    breaks = maps.class_breaks([0, 1, 2, 3, 5, 8, 13, 40, 100, 300])
    assert maps.fill_color(0, breaks)[:3] == maps.ZERO_COLOR
    assert maps.fill_color(300, breaks)[:3] == maps.PALETTE[-1]             # the top class is the darkest
    assert maps.fill_color(1, breaks)[:3] == maps.PALETTE[0]
    assert maps.class_colors(1) == [maps.PALETTE[-1]] and len(maps.class_colors(3)) == 3
    assert maps.class_colors(2) == [maps.PALETTE[1], maps.PALETTE[-1]]     # few classes: the palest left out
    assert maps.ZERO_COLOR not in maps.PALETTE and maps.HIGHLIGHT_COLOR[:3] not in maps.PALETTE


def test_legend_lists_zero_and_every_class():
    breaks = [(1, 1), (2, 3), (5, 8)]
    items = maps.legend_items("engagements", breaks)
    assert [label for label, _ in items] == ["0件", "1件", "2〜3件", "5〜8件"]
    html = maps.legend_html("sessions", breaks, "市区町村")
    assert "市区町村ごとの伴走支援 実施回数" in html and "2〜3回" in html
    assert all(f"background:{c}" in html for _, c in maps.legend_items("sessions", breaks))


def test_size_legend_circles_match_the_points():
    recs = maps.point_records(POINTS, "sessions")
    html = maps.size_legend_html(recs, "sessions")
    top = max(recs, key=lambda r: r["sessions"])
    assert f"width:{round(2 * top['radius'], 1)}px" in html and "40回" in html and "15回" in html
    assert maps.size_legend_html(maps.point_records(POINTS.iloc[:1], "sessions"), "sessions") == ""


def test_fit_view_contains_the_points():
    pts = POINTS.dropna(subset=["lat"])
    v = maps.fit_view(pts)
    assert pts["lat"].min() < v.latitude < pts["lat"].max()
    assert math.isclose(v.longitude, (pts["lng"].min() + pts["lng"].max()) / 2, abs_tol=1e-4)
    assert maps.MIN_ZOOM <= v.zoom <= maps.MAX_ZOOM
    # the bounding box fits the viewport at that zoom: degrees of longitude visible ≥ the span
    visible_lng = maps.MAP_WIDTH * 360 / (512 * 2 ** v.zoom)
    assert visible_lng >= pts["lng"].max() - pts["lng"].min()
    # closer points → closer zoom; one point → city zoom; none → all of Japan
    close = pd.DataFrame({"lat": [36.36, 36.40], "lng": [140.45, 140.50]})
    assert maps.fit_view(close).zoom > v.zoom
    assert maps.fit_view(close.iloc[:1]).zoom == maps.SINGLE_POINT_ZOOM
    japan = maps.fit_view(pd.DataFrame(columns=["lat", "lng"]))
    assert (japan.latitude, japan.longitude, japan.zoom) == (36.5, 137.8, 4.3)


def test_point_records_one_per_placed_municipality():
    recs = maps.point_records(POINTS, "sessions")
    assert [r["municipality"] for r in recs] == ["山形市", "水戸市", "長野市"]        # no coordinates → not drawn
    by = {r["municipality"]: r for r in recs}
    assert by["水戸市"]["radius"] == maps.MAX_RADIUS_PX
    assert by["山形市"]["radius"] == maps.ZERO_RADIUS_PX                          # no sessions there
    assert "color" not in by["長野市"]                                            # one colour for every point
    assert by["山形市"]["consultations_label"] == "86件" and by["水戸市"]["sessions_label"] == "40回"
    assert (by["山形市"]["name"], by["山形市"]["area"]) == ("山形市", "山形県")
    json.dumps(recs)                                                               # JSON-safe
    with pytest.raises(ValueError):
        maps.point_records(POINTS, "attendees")


PREF_COUNTS = pd.DataFrame({"prefecture_code": ["06", "08", "13", "20"],
                            "prefecture": ["山形県", "茨城県", "東京都", "長野県"],
                            "engagements": [3, 4, 845, 1], "sessions": [0, 40, 10, 15],
                            "consultations": [86, 0, 5, 2]})


def test_national_map_is_a_prefecture_choropleth():
    deck, breaks = maps.build_national_map(PREF_COUNTS, "engagements")
    spec = _deck_json(deck)
    assert [layer["id"] for layer in spec["layers"]] == [maps.PREFECTURE_LAYER_ID]
    layer = spec["layers"][0]
    assert layer["@@type"] == "GeoJsonLayer" and layer["pickable"] is True and layer["autoHighlight"] is True
    assert layer["getFillColor"] == "@@=properties.fill"
    features = {f["properties"]["prefecture"]: f["properties"] for f in layer["data"]["features"]}
    assert len(features) == 47
    assert features["東京都"]["engagements"] == 845 and features["東京都"]["fill"][:3] == maps.PALETTE[-1]
    assert features["北海道"]["engagements"] == 0 and features["北海道"]["fill"][:3] == maps.ZERO_COLOR
    assert (features["茨城県"]["name"], features["茨城県"]["area"]) == ("茨城県", "")
    assert features["長野県"]["sessions_label"] == "15回"
    assert breaks == [(1, 1), (3, 3), (4, 4), (845, 845)]
    # the view shows all of Japan down to 与那国島 in the national map's box
    view = spec["initialViewState"]
    half_h = maps.NATIONAL_MAP_HEIGHT / 2 / (512 * 2 ** view["zoom"] / (2 * math.pi))
    y = maps._lat_to_merc(view["latitude"])
    assert maps._lat_to_merc(24.4) >= y - half_h and maps._lat_to_merc(45.5) <= y + half_h
    # another measure recolours
    _, by_consultations = maps.build_national_map(PREF_COUNTS, "consultations")
    assert by_consultations == [(2, 2), (5, 5), (86, 86)]
    with pytest.raises(ValueError):
        maps.build_national_map(PREF_COUNTS, "attendees")


def test_national_municipal_layer_has_every_municipality():
    deck, _ = maps.build_national_map(PREF_COUNTS, "engagements", municipal_counts=POINTS)
    spec = _deck_json(deck)
    muni = _layer(spec, maps.MUNICIPAL_LAYER_ID)
    assert len(muni["data"]["features"]) == 1741
    by_code = {f["properties"]["municipality_code"]: f["properties"] for f in muni["data"]["features"]}
    assert by_code["082015"]["engagements"] == 4 and by_code["082015"]["fill"][:3] == maps.PALETTE[-1]
    assert _layer(spec, maps.BOUNDARY_LAYER_ID)["filled"] is False              # prefecture borders on top
    assert spec["layers"].index(muni) < spec["layers"].index(_layer(spec, maps.BOUNDARY_LAYER_ID))


def test_prefecture_map_draws_its_municipalities_and_zooms():
    deck, breaks, records = maps.build_prefecture_map(POINTS, ["08"], "engagements")
    spec = _deck_json(deck)
    ids = [layer["id"] for layer in spec["layers"]]
    assert ids == [maps.BOUNDARY_LAYER_ID, maps.MUNICIPAL_LAYER_ID, maps.CHOSEN_OUTLINE_LAYER_ID] and records == []
    features = _layer(spec, maps.MUNICIPAL_LAYER_ID)["data"]["features"]
    assert len(features) == 44 and {f["properties"]["prefecture"] for f in features} == {"茨城県"}
    mito = next(f["properties"] for f in features if f["properties"]["municipality"] == "水戸市")
    assert mito["engagements"] == 4 and (mito["name"], mito["area"]) == ("水戸市", "茨城県")
    view = spec["initialViewState"]
    assert 139.6 < view["longitude"] < 140.9 and 35.7 < view["latitude"] < 36.95 and view["zoom"] > 7
    # 東京都 zooms to its main land (and 大島), not to 小笠原 1,000 km south
    tokyo = _deck_json(maps.build_prefecture_map(POINTS, ["13"])[0])["initialViewState"]
    assert tokyo["latitude"] > 34.5 and tokyo["zoom"] > 7
    # points on top, one colour, sized in metres with pixel bounds
    deck, _, records = maps.build_prefecture_map(POINTS, ["06", "08", "20"], "engagements", show_points=True)
    spec = _deck_json(deck)
    pts = _layer(spec, maps.POINT_LAYER_ID)
    assert pts["@@type"] == "ScatterplotLayer" and len(pts["data"]) == 3 and pts["getFillColor"] == maps.POINT_COLOR
    assert "radiusUnits" not in pts
    view = spec["initialViewState"]
    assert math.isclose(pts["radiusScale"], maps.metres_per_pixel(view["latitude"], view["zoom"]), rel_tol=1e-3)
    radii = {d["municipality"]: d["radius"] for d in pts["data"]}
    assert radii["水戸市"] > radii["山形市"] > radii["長野市"]                      # 4 > 3 > 1 engagements


def test_size_choice_changes_the_radii():
    by_sessions = {r["municipality"]: r["radius"] for r in maps.point_records(POINTS, "sessions")}
    by_consultations = {r["municipality"]: r["radius"] for r in maps.point_records(POINTS, "consultations")}
    assert by_sessions["水戸市"] > by_sessions["山形市"]
    assert by_consultations["山形市"] > by_consultations["水戸市"]


def test_tooltip_names_the_area_once_and_the_measure_first():
    html = maps.tooltip("sessions")["html"]
    assert html.count("{name}") == 1 and html.count("{area}") == 1
    assert "市区町村:" not in html and "都道府県:" not in html
    assert html.index("伴走支援 実施回数") < html.index("案件数") < html.index("相談件数")
    # every field the tooltip names is on every object it can show
    deck, _, _ = maps.build_prefecture_map(POINTS, ["08"], show_points=True)
    spec = _deck_json(deck)
    fields = {f.strip("{}") for f in re.findall(r"\{\w+\}", html)}
    assert fields <= set(_layer(spec, maps.MUNICIPAL_LAYER_ID)["data"]["features"][0]["properties"])
    assert fields <= set(_layer(spec, maps.POINT_LAYER_ID)["data"][0])


def test_no_basemap_by_default_and_no_url_in_the_spec():
    deck, _ = maps.build_national_map(PREF_COUNTS)
    text = deck.to_json()
    assert "http" not in text                              # nothing to fetch
    assert "\n" not in text and ": " not in text           # compact: no indent (pydeck's default is 5x larger)
    spec = json.loads(text)
    # pydeck's sentinel: Streamlit's frontend drops it and draws no basemap (None would get Carto tiles)
    assert spec.get("mapStyle") == "__MAP_STYLE__"
    assert "mapProvider" not in spec


def test_basemap_when_asked(monkeypatch):
    deck, _, _ = maps.build_prefecture_map(POINTS, ["08"], basemap="light")
    spec = _deck_json(deck)
    assert spec["mapProvider"] == "carto" and "cartocdn" in spec["mapStyle"]
    assert _layer(spec, maps.BOUNDARY_LAYER_ID)["filled"] is False          # outlines only over a basemap
    plain = _deck_json(maps.build_prefecture_map(POINTS, ["08"])[0])
    assert _layer(plain, maps.BOUNDARY_LAYER_ID)["filled"] is True
    monkeypatch.delenv("DX_BASEMAP", raising=False)
    assert maps.basemap_from_env() is None
    for value, expected in [("none", None), ("", None), ("light", "light"), ("1", "light"), ("dark", "dark"),
                            ("bogus", None)]:
        monkeypatch.setenv("DX_BASEMAP", value)
        assert maps.basemap_from_env() == expected, value


def test_selected_code_reads_the_selection_event():
    event = {"selection": {"indices": {maps.POINT_LAYER_ID: [1]},
                           "objects": {maps.POINT_LAYER_ID: [{"municipality_code": "082015", "municipality": "水戸市"}]}}}
    assert maps.selected_code(event) == "082015"
    feature = {"type": "Feature", "geometry": None,
               "properties": {"municipality_code": "202011", "prefecture": "長野県", "municipality": "長野市"}}
    area = {"selection": {"indices": {maps.MUNICIPAL_LAYER_ID: [0]}, "objects": {maps.MUNICIPAL_LAYER_ID: [feature]}}}
    assert maps.selected_code(area) == "202011"
    assert maps.selected_prefecture(area) == "長野県"                # national municipal view → its prefecture
    pref = {"selection": {"indices": {maps.PREFECTURE_LAYER_ID: [7]}, "objects": {maps.PREFECTURE_LAYER_ID: [
        {"type": "Feature", "properties": {"prefecture_code": "08", "prefecture": "茨城県"}}]}}}
    assert maps.selected_prefecture(pref) == "茨城県" and maps.selected_code(pref) is None
    assert maps.selected_code({"selection": {"indices": {}, "objects": {}}}) is None
    assert maps.selected_code(None) is None


def test_municipality_options_and_tables():
    opts = maps.municipality_options(POINTS)
    assert opts == {"062014": "山形市（山形県）", "082015": "水戸市（茨城県）", "202011": "長野市（長野県）"}
    t = maps.points_table(POINTS)
    assert t.columns.tolist() == ["都道府県", "市区町村", "案件数", "伴走支援 実施回数", "相談件数", "支援先"]
    assert t.iloc[1]["伴走支援 実施回数"] == "40回"
    p = maps.prefecture_table(pd.concat([PREF_COUNTS, pd.DataFrame([{
        "prefecture_code": "01", "prefecture": "北海道", "engagements": 0, "sessions": 0, "consultations": 0}])]))
    assert p["都道府県"].tolist() == ["山形県", "茨城県", "東京都", "長野県"]          # no row without activity
    assert p.iloc[2]["案件数"] == "845件"
    assert maps.map_title("consultations") == "都道府県別の相談件数"
    assert maps.map_title("engagements", ["茨城県"]) == "茨城県の市区町村別の案件数"
