"""The 地図 builders on small hand-made DataFrames: radii, colours, the fitted view, layers, tooltips, basemap."""
from __future__ import annotations

import json
import math

import pandas as pd
import pydeck as pdk
import pytest

from monitor import maps

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


def test_colours_by_client_type_and_legend():
    assert maps.category_color("企業")[:3] == maps.COLORS["企業"]
    assert maps.category_color("自治体")[:3] == maps.COLORS["自治体"]
    both = maps.category_color("企業・自治体")[:3]
    assert both not in (maps.COLORS["企業"], maps.COLORS["自治体"])
    assert maps.category_color(None)[:3] == maps.COLORS["その他"]
    labels = [label for _, label, _ in maps.legend_items(["企業"])]
    assert labels == ["企業への支援", "自治体への支援", "企業・自治体の両方"]   # the third colour is always explained
    assert "区分不明" in [label for _, label, _ in maps.legend_items(["その他"])]
    md = maps.legend_markdown(["企業", "自治体"])
    assert "企業・自治体の両方" in md and "#%02x%02x%02x" % tuple(maps.COLORS["企業・自治体"]) in md


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
    assert by["長野市"]["color"][:3] == maps.COLORS["企業・自治体"]
    assert by["山形市"]["consultations_label"] == "86件" and by["水戸市"]["sessions_label"] == "40回"
    json.dumps(recs)                                                               # JSON-safe
    with pytest.raises(ValueError):
        maps.point_records(POINTS, "attendees")


def test_build_map_layers_boundaries_and_points():
    boundaries = maps.load_boundaries()
    deck = maps.build_map(POINTS, boundaries, size_by="engagements")
    assert isinstance(deck, pdk.Deck)
    spec = _deck_json(deck)
    geo = _layer(spec, maps.BOUNDARY_LAYER_ID)
    assert geo["@@type"] == "GeoJsonLayer"
    assert len(geo["data"]["features"]) == 47
    assert {f["properties"]["prefecture"] for f in geo["data"]["features"]} >= {"茨城県", "長野県", "山形県"}
    pts = _layer(spec, maps.POINT_LAYER_ID)
    assert pts["@@type"] == "ScatterplotLayer" and pts["pickable"] is True
    assert len(pts["data"]) == 3
    assert spec["layers"].index(geo) < spec["layers"].index(pts)                   # points drawn above
    # sizes in metres with pixel bounds: a "pixels" unit makes Streamlit's deck.gl fill the whole map
    assert "radiusUnits" not in pts and "lineWidthUnits" not in geo
    view = spec["initialViewState"]
    assert math.isclose(pts["radiusScale"], maps.metres_per_pixel(view["latitude"], view["zoom"]), rel_tol=1e-3)
    radii = {d["municipality"]: d["radius"] for d in pts["data"]}
    assert radii["水戸市"] > radii["山形市"] > radii["長野市"]                      # 4 > 3 > 1 engagements


def test_size_choice_changes_the_radii():
    by_sessions = {r["municipality"]: r["radius"] for r in maps.point_records(POINTS, "sessions")}
    by_consultations = {r["municipality"]: r["radius"] for r in maps.point_records(POINTS, "consultations")}
    assert by_sessions["水戸市"] > by_sessions["山形市"]
    assert by_consultations["山形市"] > by_consultations["水戸市"]


def test_tooltip_is_japanese():
    deck = maps.build_map(POINTS, maps.load_boundaries())
    html = deck._tooltip["html"]
    for label in ("市区町村", "都道府県", "案件数", "伴走支援 実施回数", "相談件数"):
        assert label in html
    for field in ("{municipality}", "{prefecture}", "{engagements_label}", "{sessions_label}",
                  "{consultations_label}"):
        assert field in html


def test_no_basemap_by_default_and_no_url_in_the_spec():
    deck = maps.build_map(POINTS, maps.load_boundaries())
    text = deck.to_json()
    assert "http" not in text                              # nothing to fetch
    spec = json.loads(text)
    # pydeck's sentinel: Streamlit's frontend drops it and draws no basemap (None would get Carto tiles)
    assert spec.get("mapStyle") == "__MAP_STYLE__"
    assert "mapProvider" not in spec


def test_basemap_when_asked(monkeypatch):
    deck = maps.build_map(POINTS, maps.load_boundaries(), basemap="light")
    spec = _deck_json(deck)
    assert spec["mapProvider"] == "carto" and "cartocdn" in spec["mapStyle"]
    assert _layer(spec, maps.BOUNDARY_LAYER_ID)["filled"] is False          # outlines only over a basemap
    assert _layer(_deck_json(maps.build_map(POINTS, maps.load_boundaries())), maps.BOUNDARY_LAYER_ID)["filled"] is True
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
    assert maps.selected_code({"selection": {"indices": {}, "objects": {}}}) is None
    assert maps.selected_code(None) is None


def test_municipality_options_and_tables():
    opts = maps.municipality_options(POINTS)
    assert opts == {"062014": "山形市（山形県）", "082015": "水戸市（茨城県）", "202011": "長野市（長野県）"}
    t = maps.points_table(POINTS)
    assert t.columns.tolist() == ["都道府県", "市区町村", "案件数", "伴走支援 実施回数", "相談件数", "支援先"]
    assert t.iloc[1]["伴走支援 実施回数"] == "40回"
