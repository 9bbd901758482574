"""地図 in AppTest, on the hand-made fixture and on the loaded sample: the national view is a choropleth of the 47
prefectures carrying the chosen measure (counts equal to an independent SQL computation, classes in order); a
click on a prefecture (the selection event the browser sends) or the prefecture list sets the 都道府県 filter and
the URL and shows that prefecture's municipal choropleth; a click on a municipality (or the list) shows its
records; the print layout summarises per prefecture; no basemap (no outside request) unless asked for."""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from monitor.views import map as maps
from tests.support.map_page import click, expected_points, expected_prefectures
from tests.support.map_page import deck_chart as _chart
from tests.support.map_page import deck_spec as _deck
from tests.support.map_page import expected_by_code as _expected_by_code
from tests.support.map_page import features as _features
from tests.support.map_page import layer as _layer
from tests.support.pages import MAP_PAGE as PAGE
from tests.support.pages import ROOT, open_page
from tests.support.pages import latest_fiscal_year as _latest_fy

REF_MUNICIPALITIES = list(csv.DictReader((ROOT / "data" / "reference" / "municipalities.csv").open(encoding="utf-8")))


@pytest.fixture()
def db(page_db, monkeypatch) -> Path:
    monkeypatch.delenv("DX_BASEMAP", raising=False)
    return page_db


def _page(**query) -> AppTest:
    return open_page(PAGE, **query)


def _points(spec: dict) -> list[dict]:
    return _layer(spec, maps.POINT_LAYER_ID)["data"]


def _shown_municipalities(spec: dict) -> dict[str, tuple]:
    """The municipal choropleth's areas with activity, as expected_points keys them."""
    out = {}
    for f in _features(spec, maps.MUNICIPAL_LAYER_ID):
        p = f["properties"]
        counts = (p["engagements"], p["sessions"], p["consultations"])
        if any(counts):
            out[f"{p['municipality']}（{p['prefecture']}）"] = counts
    return out


def _assert_classes_in_order(features: list[dict], measure: str) -> None:
    palette = [tuple(c) for c in maps.PALETTE]
    for f in features:
        p = f["properties"]
        if p[measure] == 0:
            assert p["fill"][:3] == maps.ZERO_COLOR, p
        else:
            assert tuple(p["fill"][:3]) in palette, p
    ranked = sorted(features, key=lambda f: f["properties"][measure])
    positions = [palette.index(tuple(f["properties"]["fill"][:3])) for f in ranked if f["properties"][measure] > 0]
    assert positions == sorted(positions), "a larger count is never drawn lighter"
    assert len(set(positions)) <= maps.CLASSES


# ── national view ────────────────────────────────────────────────────────────

@pytest.mark.parametrize("measure", ["engagements", "consultations"])
def test_national_view_is_a_choropleth_of_47_prefectures(db, measure):
    at = _page().run()
    assert not at.exception
    if measure != "engagements":
        at.radio(key="map_size_by").set_value(measure).run()
        assert not at.exception
    spec = _deck(at)
    layer = _layer(spec, maps.PREFECTURE_LAYER_ID)
    assert layer["@@type"] == "GeoJsonLayer" and layer["pickable"] is True
    features = layer["data"]["features"]
    assert len(features) == 47
    assert [f["properties"]["prefecture_code"] for f in features] == [f"{i:02d}" for i in range(1, 48)]
    exp = expected_prefectures(db)
    shown = {f["properties"]["prefecture"]: (f["properties"]["engagements"], f["properties"]["sessions"],
                                             f["properties"]["consultations"]) for f in features}
    assert set(exp) <= set(shown) and any(sum(v) for v in exp.values())
    assert shown == {p: exp.get(p, (0, 0, 0)) for p in shown}     # (the fixture lists 3 prefectures only)
    _assert_classes_in_order(features, measure)
    assert maps.MUNICIPAL_LAYER_ID not in {lyr["id"] for lyr in spec["layers"]}    # no municipal detail sent
    text = " ".join(m.value for m in at.markdown)
    assert f"都道府県別の{maps.SIZE_CHOICES[measure]}" in text and "凡例" in text and f"0{maps.SIZE_UNITS[measure]}" in text
    assert maps.CREDIT in " ".join(c.value for c in at.caption)


def test_no_basemap_and_a_tooltip_without_repetition(db):
    at = _page().run()
    chart = _chart(at)
    assert "http" not in chart.proto.json                 # no tiles, no style to fetch
    assert json.loads(chart.proto.json).get("mapStyle") == "__MAP_STYLE__"
    tooltip = json.loads(chart.proto.tooltip)["html"]
    assert tooltip.count("{name}") == 1 and "市区町村:" not in tooltip and "都道府県:" not in tooltip
    for label in ("案件数", "伴走支援 実施回数", "相談件数"):
        assert tooltip.count(label) == 1
    layer = _layer(json.loads(chart.proto.json), maps.PREFECTURE_LAYER_ID)
    # hover tint outside the purple scale (never another class's colour)
    assert layer["highlightColor"][:3] not in maps.PALETTE and layer["highlightColor"][:3] != maps.ZERO_COLOR


def test_basemap_toggle_and_env(db, monkeypatch):
    at = _page().run()
    assert at.toggle(key="map_basemap").value is False
    at.toggle(key="map_basemap").set_value(True).run()
    assert not at.exception
    assert "cartocdn" in _chart(at).proto.json
    monkeypatch.setenv("DX_BASEMAP", "light")
    at2 = _page().run()
    assert at2.toggle(key="map_basemap").value is True
    assert "cartocdn" in _chart(at2).proto.json


def test_national_municipal_layer(db):
    at = _page().run()
    at.radio(key="map_level").set_value("municipality").run()
    assert not at.exception
    spec = _deck(at)
    features = _features(spec, maps.MUNICIPAL_LAYER_ID)
    assert len(features) == len(REF_MUNICIPALITIES) == 1741
    assert _shown_municipalities(spec) == expected_points(db, None)
    _assert_classes_in_order(features, "engagements")


# ── choosing a prefecture ────────────────────────────────────────────────────

def _assert_prefecture_view(at: AppTest, db: Path, prefecture: str) -> dict:
    assert not at.exception
    assert at.multiselect(key="flt_prefectures").value == [prefecture]
    assert at.query_params.get("都道府県") == prefecture                             # the URL too
    spec = _deck(at)
    features = _features(spec, maps.MUNICIPAL_LAYER_ID)
    in_ref = {m["municipality_code"] for m in REF_MUNICIPALITIES if m["prefecture"] == prefecture}
    assert {f["properties"]["municipality_code"] for f in features} == in_ref        # every municipality drawn
    assert _shown_municipalities(spec) == expected_points(db, prefecture)
    _assert_classes_in_order(features, "engagements")
    assert maps.PREFECTURE_LAYER_ID not in {lyr["id"] for lyr in spec["layers"]}
    # zoomed to it: the view's centre lies in the prefecture's extent, closer than the national view
    lngs = [pt[0] for f in features for poly in _polys(f) for pt in poly[0]]
    lats = [pt[1] for f in features for poly in _polys(f) for pt in poly[0]]
    view = spec["initialViewState"]
    assert min(lngs) <= view["longitude"] <= max(lngs) and min(lats) <= view["latitude"] <= max(lats)
    assert view["zoom"] > 6
    assert f"{prefecture}の市区町村別の案件数" in " ".join(m.value for m in at.markdown)
    return spec


def _polys(feature: dict) -> list:
    g = feature["geometry"]
    return [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]


@pytest.mark.parametrize("prefecture", ["茨城県", "長野県"])
def test_click_on_a_prefecture_sets_the_filter_and_zooms(db, prefecture):
    at = _page().run()
    national = _deck(at)
    feature = next(f for f in _features(national, maps.PREFECTURE_LAYER_ID)
                   if f["properties"]["prefecture"] == prefecture)
    click(at, maps.PREFECTURE_LAYER_ID, feature)
    _assert_prefecture_view(at, db, prefecture)
    # back to Japan
    at.button(key="map_back").click().run()
    assert not at.exception
    assert at.multiselect(key="flt_prefectures").value == []
    assert len(_features(_deck(at), maps.PREFECTURE_LAYER_ID)) == 47


def test_prefecture_list_sets_the_filter(db):
    at = _page().run()
    box = at.selectbox(key="map_prefecture")
    assert "長野県" in box.options
    box.select("長野県").run()
    _assert_prefecture_view(at, db, "長野県")


def test_click_on_a_prefecture_without_records_keeps_the_national_view(db):
    at = _page().run()
    feature = next(f for f in _features(_deck(at), maps.PREFECTURE_LAYER_ID)
                   if f["properties"]["prefecture"] == "沖縄県")
    assert sum(feature["properties"][k] for k in maps.SIZE_CHOICES) == 0     # neither data set has 沖縄県
    click(at, maps.PREFECTURE_LAYER_ID, feature)
    assert not at.exception
    assert at.multiselect(key="flt_prefectures").value == []
    assert any("沖縄県には、この条件で表示できる記録がありません" in i.value for i in at.info)


def test_url_prefecture_opens_its_municipal_view(db):
    _assert_prefecture_view(_page(都道府県="茨城県").run(), db, "茨城県")


def test_points_on_top_with_a_size_legend(db):
    at = _page(都道府県="長野県").run()
    at.toggle(key="map_show_points").set_value(True).run()
    at.radio(key="map_size_by").set_value("sessions").run()
    assert not at.exception
    pts = _points(_deck(at))
    assert {f"{p['municipality']}（{p['prefecture']}）" for p in pts} == set(expected_points(db, "長野県"))
    assert len({tuple(p.get("color", maps.POINT_COLOR)) for p in pts}) == 1     # one colour: size is the measure
    assert _layer(_deck(at), maps.POINT_LAYER_ID)["getFillColor"] == maps.POINT_COLOR
    top = max(pts, key=lambda p: p["sessions"])
    assert top["radius"] == maps.MAX_RADIUS_PX
    for a in pts:
        for b in pts:
            if a["sessions"] > b["sessions"]:
                assert a["radius"] > b["radius"]
    legend = next(m.value for m in at.markdown if m.value.startswith("円の大きさ"))
    assert f"{top['sessions']:,}回" in legend and "border-radius:50%" in legend


# ── a municipality's records ─────────────────────────────────────────────────

def _expected_records(db: Path, municipality: str) -> tuple[int, int]:
    fy = _latest_fy(db)
    with duckdb.connect(str(db), read_only=True) as con:
        n_eng = con.execute("SELECT count(*) FROM engagements WHERE fiscal_year = ? AND municipality = ?",
                            [fy, municipality]).fetchall()[0][0]
        n_con = con.execute("SELECT count(*) FROM consultations WHERE fiscal_year = ? AND municipality = ?",
                            [fy, municipality]).fetchall()[0][0]
    return n_eng, n_con


def _assert_records(at: AppTest, db: Path, label: str) -> None:
    assert not at.exception
    n_eng, n_con = _expected_records(db, label.split("（")[0])
    text = " ".join(m.value for m in at.markdown)
    assert f"{label}の支援案件（{n_eng:,}件）" in text
    assert f"{label}の相談記録（{n_con:,}件）" in text
    tables = {tuple(df.value.columns): df.value for df in at.dataframe}
    if n_eng:
        eng = next(v for k, v in tables.items() if "案件ID" in k)
        assert len(eng) == n_eng
    if n_con:
        cons = next(v for k, v in tables.items() if "相談内容（原文）" in k)
        assert len(cons) == min(n_con, 300)
        assert all(re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日", d) for d in cons["日付"])


def test_click_on_yamagata_city_lists_its_records(db):
    at = _page(都道府県="山形県").run()
    feature = next(f for f in _features(_deck(at), maps.MUNICIPAL_LAYER_ID)
                   if f["properties"]["municipality"] == "山形市")
    click(at, maps.MUNICIPAL_LAYER_ID, feature)
    assert at.selectbox(key="map_municipality").value == feature["properties"]["municipality_code"]
    _assert_records(at, db, "山形市（山形県）")
    eng = next(df.value for df in at.dataframe if "案件ID" in df.value.columns)
    assert set(eng["支援先"]) == {"山形市"}


def test_list_for_a_nagano_municipality(db):
    at = _page(都道府県="長野県").run()
    box = at.selectbox(key="map_municipality")
    labels = expected_points(db, "長野県")
    assert labels and set(box.options) == set(labels)
    code_by_label = {f"{v[1]}（{v[2]}）": c for c, v in _expected_by_code(db, "長野県").items()}
    label = sorted(labels)[0]
    box.select(code_by_label[label]).run()
    _assert_records(at, db, label)
    # changing the filter so the municipality is no longer on the map clears the choice instead of failing
    at.multiselect(key="flt_prefectures").set_value(["茨城県"]).run()
    assert not at.exception
    assert at.selectbox(key="map_municipality").value is None


def test_click_on_a_municipality_without_records(db):
    at = _page(都道府県="長野県").run()
    active = set(expected_points(db, "長野県"))
    feature = next(f for f in _features(_deck(at), maps.MUNICIPAL_LAYER_ID)
                   if f"{f['properties']['municipality']}（長野県）" not in active)
    click(at, maps.MUNICIPAL_LAYER_ID, feature)
    assert not at.exception
    assert at.selectbox(key="map_municipality").value is None
    assert any("この市区町村には、この条件の記録がありません" in i.value for i in at.info)


# ── print, empty ─────────────────────────────────────────────────────────────

def test_print_layout_summarises_per_prefecture(db):
    at = _page(print="1").run()
    assert not at.exception
    assert len(_features(_deck(at), maps.PREFECTURE_LAYER_ID)) == 47
    assert len(at.table) == 1
    table = at.table[0].value
    exp = {p: v for p, v in expected_prefectures(db).items() if any(v)}
    assert list(table.columns) == ["都道府県", "案件数", "伴走支援 実施回数", "相談件数"]
    assert dict(zip(table["都道府県"], table["案件数"])) == {p: f"{v[0]:,}件" for p, v in exp.items()}
    assert "都道府県別の案件数" in " ".join(m.value for m in at.markdown)     # the map's own title
    assert "データ基準日" in " ".join(t.value for t in at.text)                 # and its context line
    assert maps.CREDIT in " ".join(c.value for c in at.caption)


def test_nothing_matches(db):
    # (a 期間 alone is not enough: an engagement with no dates at all is in every period, as on the other pages)
    at = _page(都道府県="山形県", 支援種別="伴走支援").run()
    assert not at.exception
    assert any("該当するデータがありません" in i.value for i in at.info)
    assert not at.get("deck_gl_json_chart")
