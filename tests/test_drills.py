"""Drill-down in AppTest: what the browser sends when a chart point or a table row is clicked (Streamlit's selection
events), and what the page does with it — the filter and the URL after the click, the records shown — compared
with an independent SQL computation over the record tables."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetStates
from streamlit.testing.v1 import AppTest

from monitor.views import progress
from monitor.views.style import MANY_CONSORTIA
from monitor.read.filters import PERIOD_SEP
from tests.support.pages import open_page

ROOT = Path(__file__).resolve().parent.parent
OVERVIEW = str(ROOT / "app.py")
PROGRESS = str(ROOT / "pages" / "1_伴走支援の進捗.py")
THEMES = str(ROOT / "pages" / "2_相談テーマ.py")


def _widget_id(at: AppTest, kind: str, key: str) -> str:
    elements = at.dataframe if kind == "dataframe" else at.get(kind)
    ids = [el.proto.id for el in elements if el.proto.id.endswith(key)]
    assert len(ids) == 1, f"one {kind} with key {key}: {ids}"
    return ids[0]


def _send(at: AppTest, widget_id: str, selection: dict) -> AppTest:
    """The widget states the browser sends after a click: the chart's or table's selection as JSON, every other
    widget as it is."""
    states = WidgetStates()
    states.CopyFrom(at._tree.get_widget_states())
    for w in states.widgets:
        if w.id == widget_id:
            states.widgets.remove(w)
            break
    w = states.widgets.add()
    w.id = widget_id
    w.string_value = json.dumps({"selection": selection}, ensure_ascii=False)
    return at._run(states)


def click_chart(at: AppTest, key: str, *points: dict) -> AppTest:
    return _send(at, _widget_id(at, "plotly_chart", key),
                 {"points": list(points), "point_indices": [p.get("point_index", 0) for p in points],
                  "box": [], "lasso": []})


def click_row(at: AppTest, key: str, row: int) -> AppTest:
    return _send(at, _widget_id(at, "dataframe", key), {"rows": [row], "columns": [], "cells": []})


def _figure(at: AppTest, key: str) -> dict:
    (el,) = [el for el in at.get("plotly_chart") if el.proto.id.endswith(key)]
    return json.loads(el.proto.spec)


def _fy(db: Path) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT max(fiscal_year) FROM engagements").fetchall()[0][0]


@pytest.fixture()
def db(sample_db_env) -> Path:
    return sample_db_env


# ── 概要 ─────────────────────────────────────────────────────────────────────

def test_a_consortium_bar_sets_the_consortium_filter_and_the_url(db):
    at = open_page(OVERVIEW).run()
    assert not at.exception
    fig = _figure(at, "overview_kpi_chart")
    traces = [t for t in fig["data"] if t["type"] == "bar"]
    assert len(traces) >= 2, "one bar trace per consortium"
    chosen = traces[1]["name"]
    at = click_chart(at, "overview_kpi_chart", {"curve_number": 1, "point_number": 0, "point_index": 0,
                                                "x": traces[1]["x"][0], "y": traces[1]["y"][0]})
    assert not at.exception
    assert at.multiselect(key="flt_consortia").value == [chosen]
    assert at.query_params["コンソーシアム"] == chosen
    with duckdb.connect(str(db), read_only=True) as con:
        companies = con.execute("""
            SELECT count(DISTINCT e.client_name) FROM engagements e JOIN sessions s USING (engagement_id)
            WHERE e.consortium = $c AND e.fiscal_year = $fy AND e.client_type = '企業'""",
                                {"c": chosen, "fy": int(at.selectbox(key="flt_fy").value)}).fetchall()[0][0]
    card = [m for m in at.metric if m.label == "支援企業数"]
    assert card and card[0].value.startswith(f"{companies:,}"), (card[0].value if card else None, companies)


def test_a_month_narrows_the_period_to_that_month(db):
    at = open_page(OVERVIEW).run()
    assert not at.exception
    fig = _figure(at, "overview_monthly_chart")
    months = fig["data"][0]["x"]
    fy = int(at.selectbox(key="flt_fy").value)
    with duckdb.connect(str(db), read_only=True) as con:      # the year's busiest month
        year, month = con.execute("""SELECT year(date), month(date) FROM sessions WHERE fiscal_year = $fy
                                     GROUP BY ALL ORDER BY count(*) DESC, 1, 2 LIMIT 1""", {"fy": fy}).fetchall()[0]
    i = months.index(f"{year}年{month}月")
    at = click_chart(at, "overview_monthly_chart", {"curve_number": 0, "point_number": i, "point_index": i,
                                                    "x": months[i]})
    assert not at.exception
    start = dt.date(year, month, 1)
    end = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    assert at.date_input(key="flt_date_from").value == start
    assert at.date_input(key="flt_date_to").value == end
    assert at.query_params["期間"] == f"{start.isoformat()}{PERIOD_SEP}{end.isoformat()}", dict(at.query_params)
    with duckdb.connect(str(db), read_only=True) as con:      # 伴走支援の実施回数: the sessions held in that month
        held = con.execute("SELECT count(*) FROM sessions WHERE date BETWEEN $a AND $b",
                           {"a": start, "b": end}).fetchall()[0][0]
    card = [m for m in at.metric if m.label.startswith("伴走支援 実施回数")]
    assert held > 0 and card and card[0].value.startswith(f"{held:,} /"), (card[0].value if card else None, held)


# ── 相談テーマ ───────────────────────────────────────────────────────────────

def test_a_theme_bar_shows_that_themes_records(db):
    at = open_page(THEMES).run()
    assert not at.exception
    fig = _figure(at, "themes_bar_chart")
    themes = [y for t in fig["data"] for y in t["y"]]
    chosen = themes[-1]
    at = click_chart(at, "themes_bar_chart", {"curve_number": 0, "point_number": 0, "point_index": 0,
                                              "x": 1, "y": chosen})
    assert not at.exception
    assert at.selectbox(key="themes_records_theme").value == chosen
    fy = int(at.selectbox(key="flt_fy").value)
    with duckdb.connect(str(db), read_only=True) as con:    # a theme's records: its consultations and sessions
        records = con.execute("""
            SELECT (SELECT count(*) FROM consultations WHERE theme = $t AND fiscal_year = $fy)
                 + (SELECT count(*) FROM sessions WHERE list_contains(themes, $t) AND fiscal_year = $fy)""",
                              {"t": chosen, "fy": fy}).fetchall()[0][0]
    assert records > 0
    assert any(c.value.startswith(f"「{chosen}」の記録 {records:,}件") for c in at.caption), \
        [c.value for c in at.caption]


# ── 伴走支援の進捗: a stage of the funnel lists its engagements ───────────────

def _reached(db: Path, fy: int, consortium: str, stage_no: int) -> set[str]:
    """Engagements in the year whose highest stage so far is stage_no or later (glossary: 段階別の到達状況)."""
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("""
            SELECT e.engagement_id FROM engagements e JOIN sessions s USING (engagement_id)
            WHERE e.fiscal_year = $fy AND e.consortium = $c
            GROUP BY e.engagement_id HAVING max(s.stage_no) >= $n""",
                           {"fy": fy, "c": consortium, "n": stage_no}).fetchall()
    return {r[0] for r in rows}


def _stage_table_ids(at: AppTest) -> set[str]:
    tables = [d.value for d in at.dataframe if "案件ID" in d.value.columns]
    assert len(tables) == 2, "the engagement table, then the chosen stage's"
    return set(tables[-1]["案件ID"])


@pytest.mark.parametrize("curve, stage_no", [(0, 1), (1, 3), (0, 5)])
def test_a_funnel_stage_lists_the_engagements_that_reached_it(db, curve, stage_no):
    at = open_page(PROGRESS).run()
    assert not at.exception
    fig = _figure(at, "progress_funnel_chart")
    funnels = [t for t in fig["data"] if t["type"] == "funnel"]
    consortium = funnels[curve]["name"]
    label = [y for y in funnels[curve]["y"] if y.startswith(f"{stage_no}.")][0]
    at = click_chart(at, "progress_funnel_chart", {"curve_number": curve, "point_number": stage_no - 1,
                                                   "point_index": stage_no - 1, "y": label})
    assert not at.exception
    assert at.selectbox(key="progress_stage_pick").value == stage_no
    assert at.selectbox(key="progress_stage_consortium").value == consortium
    expected = _reached(db, _fy(db), consortium, stage_no)
    caption = [c.value for c in at.caption if "に到達した案件" in c.value]
    assert caption and f"{len(expected):,}件" in caption[0], caption
    if expected:
        assert _stage_table_ids(at) == expected


def test_choosing_a_stage_without_the_chart_lists_the_same_engagements(db):
    """The same list from the select boxes (keyboard, and the reach heatmap at national scale, which a click does
    not select)."""
    at = open_page(PROGRESS).run()
    consortium = at.selectbox(key="progress_stage_consortium").options[0]
    at.selectbox(key="progress_stage_pick").set_value(2).run()
    assert not at.exception
    expected = _reached(db, _fy(db), consortium, 2)
    assert expected and _stage_table_ids(at) == expected


def test_every_kpi_card_links_to_the_page_with_its_records(db):
    at = open_page(OVERVIEW).run()
    assert not at.exception
    links = [el.proto for el in at.get("page_link")]
    cards = [m.label for m in at.metric]
    to_records = [p for p in links if p.label == "記録を見る →"]
    assert len(to_records) == len(cards) == 6
    pages = {p.page for p in to_records}
    assert pages == {"伴走支援の進捗", "相談テーマ", "報告"}, pages


# ── at national scale (a consortium in every prefecture) ───────────────────────

@pytest.fixture()
def national(national_db, monkeypatch) -> Path:
    monkeypatch.setenv("DX_DB_PATH", str(national_db))
    return national_db


def test_a_row_of_the_national_comparison_table_sets_the_consortium_filter(national):
    at = open_page(OVERVIEW).run()
    assert not at.exception
    (table,) = [d.value for d in at.dataframe if list(d.value.columns[:1]) == ["コンソーシアム"]]
    assert len(table) > MANY_CONSORTIA
    row = 7
    chosen = table.iloc[row]["コンソーシアム"]
    at = click_row(at, "overview_consortium_table", row)
    assert not at.exception
    assert at.multiselect(key="flt_consortia").value == [chosen]
    assert at.query_params["コンソーシアム"] == chosen


def test_at_national_scale_a_stage_is_chosen_beside_the_reach_heatmap(national):
    at = open_page(PROGRESS).run()
    assert not at.exception
    assert [t["type"] for t in _figure(at, "progress_funnel_chart")["data"]] == ["heatmap"]
    options = at.selectbox(key="progress_stage_consortium").options
    assert len(options) > MANY_CONSORTIA
    consortium = options[10]
    at.selectbox(key="progress_stage_consortium").set_value(consortium).run()
    at.selectbox(key="progress_stage_pick").set_value(3).run()
    assert not at.exception
    expected = _reached(national, _fy(national), consortium, 3)
    caption = [c.value for c in at.caption if "に到達した案件" in c.value]
    assert caption and f"{len(expected):,}件" in caption[0], caption
    if expected:
        assert _stage_table_ids(at) == expected


def _funnel_frame(consortia: list) -> pd.DataFrame:
    return pd.DataFrame([{"consortium": c, "stage_no": n, "stage": f"段階{n}", "engagements": 1}
                         for c in consortia for n in range(1, 8)])


@pytest.mark.parametrize("consortia, point, expected", [
    (["茨城", "長野"], {"curve_number": 1, "y": "3. 段階3"}, ("長野", 3)),
    (["茨城", None], {"curve_number": 1, "y": "7. 段階7"}, (None, 7)),      # コンソーシアム外
    (["茨城", "長野"], {"curve_number": 2, "y": "3. 段階3"}, None),        # no such funnel
    (["茨城", "長野"], {"curve_number": 0, "y": "段階3"}, None),           # not a stage label
    ([f"C{i:02d}" for i in range(10)], {"x": "4. 段階4", "y": "C05"}, ("C05", 4)),   # the reach heatmap
    ([f"C{i:02d}" for i in range(10)], {"x": "4. 段階4", "y": "C99"}, None),
])
def test_funnel_stage_pick(consortia, point, expected):
    assert progress.funnel_stage_pick(_funnel_frame(consortia), point) == expected
