"""One glossary (data/reference/indicators.csv): every indicator label a page shows is defined there, a label means
the same figure wherever it appears, and the rules that differed before (DX計画書策定数) are decided."""
from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import pytest

from monitor import glossary
from monitor.read.filters import Filters
from monitor.read.queries import clear_cache, run_query
from monitor.views.report import T_SUMMARY, build_report
from monitor.views.overview import COMPARISON_COLUMNS
from tests.support import oracle
from tests.support.pages import open_page

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["app.py", *sorted(f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py") if "データ取込" not in p.name)]


def _ints(text: str) -> list[int]:
    return [int(x.replace(",", "")) for x in re.findall(r"\d[\d,]*", text)]


def test_the_glossary_is_complete_and_unambiguous():
    with (ROOT / "data" / "reference" / "indicators.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows and all(r["label"] and r["definition"] for r in rows)
    labels = [r["label"] for r in rows]
    assert len(labels) == len(set(labels)), "a label may mean one thing only"
    assert len({r["indicator_id"] for r in rows}) == len(rows)
    # the indicators targets can be set for are the glossary's (the names in the shipped targets)
    with (ROOT / "data" / "reference" / "targets.csv").open(encoding="utf-8") as f:
        assert {r["indicator"] for r in csv.DictReader(f)} <= set(glossary.target_indicators())


@pytest.fixture()
def pages(sample_db_env):
    clear_cache()
    return {p: open_page(str(ROOT / p), 年度="2023").run() for p in PAGES}


def test_every_indicator_label_on_every_page_is_in_the_glossary(pages):
    labels = glossary.labels()
    seen = set()
    for page, at in pages.items():
        assert not at.exception, page
        for m in at.metric:
            parts = m.label.split(" / ")          # 伴走支援 実施回数 / 予定回数: the second shares the first's prefix
            assert parts[0] in labels, (page, m.label)
            for extra in parts[1:]:
                assert extra in labels or f"伴走支援 {extra}" in labels, (page, m.label)
            seen.add(m.label)
    for name, _unit, _values in COMPARISON_COLUMNS:       # 概要's comparison table ('支援企業数 達成率' too)
        assert all(part in labels for part in name.split(" ")) or name in labels, name
    summary = build_report(2023, None).tables()[T_SUMMARY]
    assert set(summary["項目"]) <= labels
    assert len(seen) >= 12


def test_one_selection_gives_the_same_figure_wherever_the_label_appears(pages, sample_db_env):
    overview = {m.label: m.value for m in pages["app.py"].metric}
    progress = {m.label: m.value for m in pages["pages/1_伴走支援の進捗.py"].metric}
    themes = {m.label: m.value for m in pages["pages/2_相談テーマ.py"].metric}
    map_ = {m.label: m.value for m in pages["pages/3_地図.py"].metric}
    summary = build_report(2023, None).tables()[T_SUMMARY].set_index("項目")["実績"]
    sel = oracle.Selection(fiscal_year=2023)
    with oracle.connect(sample_db_env) as con:
        expected = {"支援企業数": oracle.companies(con, sel), "伴走支援 実施回数": oracle.sessions(con, sel),
                    "伴走支援 予定回数": oracle.planned_sessions(con, sel), "DX計画書策定数": oracle.dx_plans(con, sel),
                    "セミナー参加者数": oracle.seminar_attendees(con, sel), "相談件数": oracle.consultations(con, sel)}
    done, planned = _ints(overview["伴走支援 実施回数 / 予定回数"])
    on_overview = {"支援企業数": _ints(overview["支援企業数"])[0], "伴走支援 実施回数": done, "伴走支援 予定回数": planned,
                   "DX計画書策定数": _ints(overview["DX計画書策定数"])[0],
                   "セミナー参加者数": _ints(overview["セミナー参加者数"])[0], "相談件数": _ints(overview["相談件数"])[0]}
    assert on_overview == expected
    assert {k: int(summary[k]) for k in expected} == expected                      # 概要 = 報告
    assert _ints(map_["伴走支援 実施回数"])[0] == expected["伴走支援 実施回数"]      # 地図 = 概要
    assert _ints(map_["相談件数"])[0] == expected["相談件数"] == _ints(themes["相談件数"])[0]
    # 停滞案件: 概要's comparison (one column per consortium) = 進捗's card
    comparison = next(d.value for d in pages["app.py"].dataframe if "項目" in d.value.columns).set_index("項目")
    assert sum(_ints(v)[0] for v in comparison.loc["停滞案件"]) == _ints(progress["停滞案件"])[0]


def test_map_and_overview_count_engagements_alike_with_a_period(sample_db_env):
    """案件数 follows one 期間 rule (the map counted not-started engagements into any period before)."""
    clear_cache()
    at = open_page(str(ROOT / "pages/3_地図.py"), 年度="2024", 期間="2024-06-01~2024-09-30").run()
    assert not at.exception
    kpi = run_query("kpi", Filters(2024, date_from=dt.date(2024, 6, 1), date_to=dt.date(2024, 9, 30)))
    total = kpi[kpi["is_total"]].iloc[0]
    assert _ints({m.label: m.value for m in at.metric}["案件数"])[0] == int(total["engagements"])


def test_dx_plans_count_company_plans_only(sample_db_env):
    """The slice where the earlier rules differed: the sample's 2022 計画策定支援 (a municipality's DX推進計画書) and
    導入支援 (導入計画書) are not company DX計画書; 伴走支援 plans with a completion date are."""
    with oracle.connect(sample_db_env) as con:
        municipal = con.execute("""SELECT count(*) FROM engagements WHERE fiscal_year = 2022
                                   AND support_type <> '伴走支援' AND deliverable LIKE '%計画%'""").fetchall()[0][0]
        any_plan = con.execute("""SELECT count(*) FROM engagements WHERE fiscal_year = 2022
                                  AND deliverable LIKE '%計画%' AND deliverable_date IS NOT NULL""").fetchall()[0][0]
        expected = oracle.dx_plans(con, oracle.Selection(fiscal_year=2022))
    assert municipal >= 2 and any_plan == expected + municipal           # the slice exists in the sample
    kpi = run_query("kpi", Filters(2022))
    assert int(kpi[kpi["is_total"]].iloc[0]["dx_plans"]) == expected
    assert int(build_report(2022, None).tables()[T_SUMMARY].set_index("項目").loc["DX計画書策定数", "実績"]) == expected
    assert "計画策定支援" in glossary.indicator("dx_plans").excludes


def test_help_texts_come_from_the_glossary(pages):
    overview = pages["app.py"]
    helps = {m.label: m.proto.help for m in overview.metric}
    assert glossary.indicator("companies").definition in helps["支援企業数"]
    assert glossary.indicator("planned_sessions").definition in helps["伴走支援 実施回数 / 予定回数"]
    progress = {m.label: m.proto.help for m in pages["pages/1_伴走支援の進捗.py"].metric}
    assert glossary.indicator("stalled").definition in progress["停滞案件"]
