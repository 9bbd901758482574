"""地図 in AppTest: the pydeck JSON carries one point per municipality with activity for the filter, with counts
and client categories equal to an independent SQL computation, for 茨城県 and 長野県 and for all prefectures, on
the hand-made fixture (consultations without a municipality code, placed by name) and on the loaded sample; the
list fallback shows a municipality's records; no basemap (no outside request) unless asked for."""
from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from monitor import maps
from conftest import open_page
from test_marts import make_fixture_db

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "pages" / "3_地図.py")


@pytest.fixture()
def db(page_db, monkeypatch) -> Path:
    monkeypatch.delenv("DX_BASEMAP", raising=False)
    return page_db


def _page(**query) -> AppTest:
    return open_page(PAGE, **query)


def _latest_fy(db: Path) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("""SELECT max(fiscal_year) FROM (SELECT fiscal_year FROM engagements UNION ALL
                              SELECT fiscal_year FROM sessions UNION ALL SELECT fiscal_year FROM consultations
                              UNION ALL SELECT fiscal_year FROM events)""").fetchall()[0][0]


# Independent computation from the base tables: per municipality (placed by code, else by prefecture + name)
# engagements of the year, sessions and consultations dated in the year, and the client types seen there.
EXPECTED_SQL = """
WITH place AS (SELECT municipality_code, prefecture, municipality FROM municipalities),
e AS (
    SELECT coalesce(e.municipality_code, p.municipality_code) AS code, e.engagement_id, e.client_type
    FROM engagements e LEFT JOIN place p ON e.municipality_code IS NULL AND p.prefecture = e.prefecture
                                         AND p.municipality = e.municipality
    WHERE e.fiscal_year = $fy AND ($pref IS NULL OR e.prefecture = $pref)
),
s AS (
    SELECT coalesce(e.municipality_code, p.municipality_code) AS code, e.client_type
    FROM sessions s JOIN engagements e ON e.engagement_id = s.engagement_id
    LEFT JOIN place p ON e.municipality_code IS NULL AND p.prefecture = e.prefecture AND p.municipality = e.municipality
    WHERE s.fiscal_year = $fy AND ($pref IS NULL OR e.prefecture = $pref)
),
c AS (
    SELECT coalesce(c.municipality_code, p.municipality_code) AS code,
           coalesce(l.client_type, CASE WHEN c.client_name = c.municipality THEN '自治体'
                                        WHEN regexp_matches(c.client_name, '(都|道|府|県|市|区|町|村)(役所|役場|庁)?$')
                                        THEN '自治体' ELSE '企業' END) AS client_type
    FROM consultations c
    LEFT JOIN engagements l ON l.engagement_id = c.engagement_id
    LEFT JOIN place p ON c.municipality_code IS NULL AND p.prefecture = c.prefecture AND p.municipality = c.municipality
    WHERE c.fiscal_year = $fy AND ($pref IS NULL OR c.prefecture = $pref)
),
allrows AS (
    SELECT code, 1 AS eng, 0 AS ses, 0 AS con, client_type FROM e
    UNION ALL SELECT code, 0, 1, 0, client_type FROM s
    UNION ALL SELECT code, 0, 0, 1, client_type FROM c
)
SELECT m.municipality, m.prefecture, sum(eng), sum(ses), sum(con),
       list_sort(list_distinct(list(client_type)))
FROM allrows a JOIN municipalities m ON m.municipality_code = a.code
GROUP BY ALL
"""


def expected_points(db: Path, prefecture: str | None) -> dict[str, tuple]:
    fy = _latest_fy(db)
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(EXPECTED_SQL, {"fy": fy, "pref": prefecture}).fetchall()
    out = {}
    for muni, pref, eng, ses, cons, types in rows:
        category = "企業・自治体" if set(types) >= {"企業", "自治体"} else types[0]
        out[f"{muni}（{pref}）"] = (int(eng), int(ses), int(cons), category)
    return out


def _deck(at: AppTest) -> dict:
    charts = at.get("deck_gl_json_chart")
    assert len(charts) == 1
    return json.loads(charts[0].proto.json)


def _points(spec: dict) -> list[dict]:
    return next(layer for layer in spec["layers"] if layer["id"] == maps.POINT_LAYER_ID)["data"]


def _shown(spec: dict) -> dict[str, tuple]:
    out = {}
    for p in _points(spec):
        key = f"{p['municipality']}（{p['prefecture']}）"
        assert key not in out, f"two points for {key}"
        out[key] = (p["engagements"], p["sessions"], p["consultations"], p["client_category"])
    return out


@pytest.mark.parametrize("prefecture", ["茨城県", "長野県", None])
def test_one_point_per_municipality_with_sql_counts(db, prefecture):
    at = (_page(都道府県=prefecture) if prefecture else _page()).run()
    assert not at.exception
    spec = _deck(at)
    exp = expected_points(db, prefecture)
    assert exp
    assert _shown(spec) == exp
    if prefecture == "茨城県" and "筑西市（茨城県）" in exp and db.name == "fixture.duckdb":
        # the fixture's 筑西市 has a company engagement and a consultation from the city itself
        assert exp["筑西市（茨城県）"][3] == "企業・自治体"
    # boundaries from the shipped GeoJSON, under the points
    geo = next(layer for layer in spec["layers"] if layer["id"] == maps.BOUNDARY_LAYER_ID)
    assert geo["@@type"] == "GeoJsonLayer" and len(geo["data"]["features"]) == 47
    # the view fits the points
    view = spec["initialViewState"]
    lats = [p["lat"] for p in _points(spec)]
    lngs = [p["lng"] for p in _points(spec)]
    assert min(lats) - 0.01 <= view["latitude"] <= max(lats) + 0.01
    assert min(lngs) - 0.01 <= view["longitude"] <= max(lngs) + 0.01
    # colours by client type
    for p in _points(spec):
        assert p["color"][:3] == maps.COLORS[p["client_category"]]
    # metrics equal the totals
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["市区町村数"] == f"{len(exp):,}"
    assert metrics["伴走支援 実施回数"] == f"{sum(v[1] for v in exp.values()):,}回"
    assert metrics["相談件数"] == f"{sum(v[2] for v in exp.values()):,}件"


def test_no_basemap_and_japanese_tooltip(db):
    at = _page().run()
    chart = at.get("deck_gl_json_chart")[0]
    assert "http" not in chart.proto.json                 # no tiles, no style to fetch
    assert json.loads(chart.proto.json).get("mapStyle") == "__MAP_STYLE__"
    tooltip = json.loads(chart.proto.tooltip)["html"]
    for label in ("市区町村", "都道府県", "案件数", "伴走支援 実施回数", "相談件数"):
        assert label in tooltip
    assert "凡例" in " ".join(m.value for m in at.markdown)


def test_basemap_toggle_and_env(db, monkeypatch):
    at = _page().run()
    assert at.toggle(key="map_basemap").value is False
    at.toggle(key="map_basemap").set_value(True).run()
    assert not at.exception
    assert "cartocdn" in at.get("deck_gl_json_chart")[0].proto.json
    monkeypatch.setenv("DX_BASEMAP", "light")
    at2 = _page().run()
    assert at2.toggle(key="map_basemap").value is True
    assert "cartocdn" in at2.get("deck_gl_json_chart")[0].proto.json


def test_size_choice(db):
    at = _page(都道府県="長野県").run()
    at.radio(key="map_size_by").set_value("sessions").run()
    assert not at.exception
    pts = _points(_deck(at))
    top = max(pts, key=lambda p: p["sessions"])
    assert top["radius"] == maps.MAX_RADIUS_PX
    for a in pts:
        for b in pts:
            if a["sessions"] > b["sessions"]:
                assert a["radius"] > b["radius"]


def _choose(at: AppTest, label: str) -> AppTest:
    box = at.selectbox(key="map_municipality")
    assert label in box.options
    return box.select(next(code for code, text in maps_options(at).items() if text == label)).run()


def maps_options(at: AppTest) -> dict[str, str]:
    return {p["municipality_code"]: f"{p['municipality']}（{p['prefecture']}）" for p in _points(_deck(at))}


def _expected_records(db: Path, municipality: str) -> tuple[int, int]:
    fy = _latest_fy(db)
    with duckdb.connect(str(db), read_only=True) as con:
        n_eng = con.execute("SELECT count(*) FROM engagements WHERE fiscal_year = ? AND municipality = ?",
                            [fy, municipality]).fetchall()[0][0]
        n_con = con.execute("SELECT count(*) FROM consultations WHERE fiscal_year = ? AND municipality = ?",
                            [fy, municipality]).fetchall()[0][0]
    return n_eng, n_con


def test_fallback_list_shows_yamagata_records(db):
    at = _page().run()
    _choose(at, "山形市（山形県）")
    assert not at.exception
    n_eng, n_con = _expected_records(db, "山形市")
    text = " ".join(m.value for m in at.markdown)
    assert f"山形市（山形県）の支援案件（{n_eng:,}件）" in text
    assert f"山形市（山形県）の相談記録（{n_con:,}件）" in text
    tables = {tuple(df.value.columns): df.value for df in at.dataframe}
    eng = next(v for k, v in tables.items() if "案件ID" in k)
    assert len(eng) == n_eng and set(eng["支援先"]) == {"山形市"}
    if n_con:
        cons = next(v for k, v in tables.items() if "相談内容（原文）" in k)
        assert len(cons) == min(n_con, 300)
        assert all(re.fullmatch(r"\d{4}/\d{2}/\d{2}", d) for d in cons["日付"])


def test_fallback_list_for_a_nagano_municipality(db):
    at = _page(都道府県="長野県").run()
    options = maps_options(at)
    assert set(options.values()) == set(expected_points(db, "長野県"))
    label = sorted(options.values())[0]
    _choose(at, label)
    assert not at.exception
    n_eng, n_con = _expected_records(db, label.split("（")[0])
    assert f"{label}の支援案件（{n_eng:,}件）" in " ".join(m.value for m in at.markdown)
    # changing the filter so the municipality is no longer on the map clears the choice instead of failing
    at.multiselect(key="flt_prefectures").set_value(["茨城県"]).run()
    assert not at.exception
    assert at.selectbox(key="map_municipality").value is None


def test_nothing_matches(db):
    # (a 期間 alone is not enough: an engagement with no dates at all is in every period, as on the other pages)
    at = _page(都道府県="山形県", 支援種別="伴走支援").run()
    assert not at.exception
    assert any("該当するデータがありません" in i.value for i in at.info)
    assert not at.get("deck_gl_json_chart")
