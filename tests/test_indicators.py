"""The programme indicators mean the same on 概要 (kpi query) and 報告 (report summary), and equal an
independent computation over the base tables of the sample."""
import pytest

from monitor.read.filters import Filters
from monitor.read.queries import run_query
from monitor.views.report import build_report
from tests.support import oracle

CONSORTIA = ["茨城県DX支援コミュニティ", "長野県DX支援コミュニティ", None]


def independent(db, fy, consortium):
    """DX計画書策定数 and 支援企業数 by the glossary's rules (tests/support/oracle.py)."""
    sel = oracle.Selection(fiscal_year=fy, consortium=consortium)
    with oracle.connect(db) as con:
        return oracle.dx_plans(con, sel), oracle.companies(con, sel)


@pytest.mark.parametrize("fy", [2022, 2023, 2024])
@pytest.mark.parametrize("consortium", CONSORTIA)
def test_overview_and_report_agree(sample_db_master, fy, consortium):
    plans, companies = independent(sample_db_master, fy, consortium)
    filters = Filters(fiscal_year=fy, consortia=(consortium,) if consortium else ())
    kpi = run_query("kpi", filters, path=sample_db_master)
    total = kpi[kpi["is_total"]].iloc[0]
    summary = build_report(fy, consortium, path=sample_db_master).tables()["実績サマリー"].set_index("項目")
    assert int(total["dx_plans"]) == int(summary.loc["DX計画書策定数", "実績"]) == plans
    assert int(total["companies"]) == int(summary.loc["支援企業数", "実績"]) == companies
    assert plans > 0
