"""Pages at national scale (a generated programme: a consortium in every prefecture): per-consortium charts and
tables stay readable — heatmaps one row per consortium, in prefecture-code order, a sortable table, KPI cards whose
values fit — in AppTest on a database loaded through the real load path."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from monitor.views.style import MANY_CONSORTIA
from monitor.read.filters import Filters
from monitor.read.queries import run_query
from monitor.views.overview import CARD_VALUE_MAX, COMPARISON_NUMBER_FORMATS
from monitor.ui import KEY_FY
from tests.support.pages import open_page

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def db(national_db, monkeypatch) -> Path:
    monkeypatch.setenv("DX_DB_PATH", str(national_db))
    return national_db


def _figures(at) -> dict[str, dict]:
    return {(spec := json.loads(el.proto.spec))["layout"]["title"]["text"]: spec for el in at.get("plotly_chart")}


def _fiscal_year(at) -> int:
    return int(at.selectbox(key=KEY_FY).value)


def test_overview_compares_every_consortium_in_one_heatmap_and_a_sortable_table(db):
    at = open_page(str(ROOT / "app.py"))
    at.run()
    assert not at.exception
    kpi = run_query("kpi", Filters(fiscal_year=_fiscal_year(at)), path=db)
    consortia = kpi[~kpi["is_total"]]
    with_targets = [c for c, t in zip(consortia["consortium"], consortia["target_companies"]) if pd.notna(t)]
    assert len(with_targets) > MANY_CONSORTIA

    (heat,) = _figures(at)["コンソーシアム別 目標達成率"]["data"]
    assert heat["type"] == "heatmap" and heat["y"] == with_targets
    assert heat["y"][0].startswith("北海道")                       # prefecture-code order: 北海道 first
    assert "支援企業数" in heat["x"]

    table = next(d.value for d in at.dataframe if "コンソーシアム" in d.value.columns and "停滞案件" in d.value.columns)
    assert table.columns[0] == "コンソーシアム" and len(table) == len(consortia)
    assert all(pd.api.types.is_numeric_dtype(table[c]) for c in COMPARISON_NUMBER_FORMATS)
    assert table["支援企業数"].tolist() == consortia["companies"].astype(int).tolist()

    values = [m.value for m in at.metric]
    assert len(values) == 6 and all(len(v) <= CARD_VALUE_MAX for v in values)


def test_progress_funnel_is_one_heatmap_row_per_consortium(db):
    at = open_page(str(ROOT / "pages" / "1_伴走支援の進捗.py"))
    at.run()
    assert not at.exception
    funnel = run_query("stage_funnel", Filters(fiscal_year=_fiscal_year(at)), path=db)
    order = [c if isinstance(c, str) else "コンソーシアム外" for c in dict.fromkeys(funnel["consortium"])]
    assert len(order) > MANY_CONSORTIA
    spec = next(s for title, s in _figures(at).items() if "段階" in title)
    (heat,) = spec["data"]
    assert heat["type"] == "heatmap" and heat["y"] == order
    first = funnel[funnel["consortium"] == order[0]].sort_values("stage_no")["engagements"].tolist()
    assert heat["text"][0][0] == f"{first[0]:,}件（100%）"


def test_overview_prints_every_consortium_in_static_tables(db):
    """Printed (?print=1), 概要's tables are static and hold every row the screen's scroll boxes hold (a printed
    scroll box showed 10 of 47 consortia)."""
    screen = open_page(str(ROOT / "app.py"))
    screen.run()
    printed = open_page(str(ROOT / "app.py"), print="1")
    printed.run()
    assert not screen.exception and not printed.exception
    assert len(printed.dataframe) == 0
    on_screen = screen.dataframe(key="overview_consortium_table").value
    assert len(on_screen) > 30       # one row per consortium, far more than a scroll box prints
    shapes = [(list(t.value.columns)[:3], len(t.value)) for t in printed.table]
    assert any(list(t.value.columns) == list(on_screen.columns) and len(t.value) == len(on_screen)
               and set(t.value["コンソーシアム"]) == set(on_screen["コンソーシアム"]) for t in printed.table), shapes
