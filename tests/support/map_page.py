"""地図 in AppTest: reading the deck.gl chart (layers, features), clicking a map object as the browser does, and the
independent per-municipality and per-prefecture counts from the record tables."""
from __future__ import annotations

import json
from pathlib import Path

import duckdb
from streamlit.proto.WidgetStates_pb2 import WidgetStates
from streamlit.testing.v1 import AppTest

from tests.support.pages import latest_fiscal_year as _latest_fy

# Independent computation from the base tables: per municipality (placed by code, else by prefecture + name)
# engagements of the year, sessions and consultations dated in the year.
EXPECTED_SQL = """
WITH place AS (SELECT municipality_code, prefecture, municipality FROM municipalities),
e AS (
    SELECT coalesce(e.municipality_code, p.municipality_code) AS code
    FROM engagements e LEFT JOIN place p ON e.municipality_code IS NULL AND p.prefecture = e.prefecture
                                         AND p.municipality = e.municipality
    WHERE e.fiscal_year = $fy AND ($pref IS NULL OR e.prefecture = $pref)
),
s AS (
    SELECT coalesce(e.municipality_code, p.municipality_code) AS code
    FROM sessions s JOIN engagements e ON e.engagement_id = s.engagement_id
    LEFT JOIN place p ON e.municipality_code IS NULL AND p.prefecture = e.prefecture AND p.municipality = e.municipality
    WHERE s.fiscal_year = $fy AND ($pref IS NULL OR e.prefecture = $pref)
),
c AS (
    SELECT coalesce(c.municipality_code, p.municipality_code) AS code
    FROM consultations c
    LEFT JOIN place p ON c.municipality_code IS NULL AND p.prefecture = c.prefecture AND p.municipality = c.municipality
    WHERE c.fiscal_year = $fy AND ($pref IS NULL OR c.prefecture = $pref)
),
allrows AS (
    SELECT code, 1 AS eng, 0 AS ses, 0 AS con FROM e
    UNION ALL SELECT code, 0, 1, 0 FROM s
    UNION ALL SELECT code, 0, 0, 1 FROM c
)
SELECT m.municipality_code, m.municipality, m.prefecture, sum(eng), sum(ses), sum(con)
FROM allrows a JOIN municipalities m ON m.municipality_code = a.code
GROUP BY ALL
"""

# per prefecture, by the record's own prefecture (records without a municipality count too)
EXPECTED_PREF_SQL = """
SELECT r.prefecture,
       (SELECT count(*) FROM engagements e WHERE e.fiscal_year = $fy AND e.prefecture = r.prefecture),
       (SELECT count(*) FROM sessions s JOIN engagements e USING (engagement_id)
         WHERE s.fiscal_year = $fy AND e.prefecture = r.prefecture),
       (SELECT count(*) FROM consultations c WHERE c.fiscal_year = $fy AND c.prefecture = r.prefecture)
FROM prefectures r
"""


def expected_points(db: Path, prefecture: str | None) -> dict[str, tuple]:
    """{'山形市（山形県）': (engagements, sessions, consultations)} for the municipalities with activity."""
    return {f"{muni}（{pref}）": (e, s, c) for _, muni, pref, e, s, c in expected_by_code(db, prefecture).values()}


def expected_by_code(db: Path, prefecture: str | None) -> dict[str, tuple]:
    fy = _latest_fy(db)
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(EXPECTED_SQL, {"fy": fy, "pref": prefecture}).fetchall()
    return {code: (code, muni, pref, int(e), int(s), int(c)) for code, muni, pref, e, s, c in rows}


def expected_prefectures(db: Path) -> dict[str, tuple[int, int, int]]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(EXPECTED_PREF_SQL, {"fy": _latest_fy(db)}).fetchall()
    return {p: (int(e), int(s), int(c)) for p, e, s, c in rows}


def deck_chart(at: AppTest):
    charts = at.get("deck_gl_json_chart")
    assert len(charts) == 1
    return charts[0]


def deck_spec(at: AppTest) -> dict:
    return json.loads(deck_chart(at).proto.json)


def layer(spec: dict, layer_id: str) -> dict:
    found = [layer for layer in spec["layers"] if layer["id"] == layer_id]
    assert found, f"no layer {layer_id}: {[layer['id'] for layer in spec['layers']]}"
    return found[0]


def features(spec: dict, layer_id: str) -> list[dict]:
    return layer(spec, layer_id)["data"]["features"]


def click(at: AppTest, layer_id: str, obj: dict) -> AppTest:
    """What the browser sends when a map object is clicked (st.pydeck_chart with on_select): the chart's widget
    value, a JSON selection naming the layer and the clicked object, with the other widgets' values as they are."""
    chart = deck_chart(at)
    states = WidgetStates()
    states.CopyFrom(at._tree.get_widget_states())
    w = states.widgets.add()
    w.id = chart.proto.id
    w.string_value = json.dumps({"selection": {"indices": {layer_id: [0]}, "objects": {layer_id: [obj]}}},
                                ensure_ascii=False)
    return at._run(states)
