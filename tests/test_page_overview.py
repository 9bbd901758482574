"""概要 (app.py) in AppTest: figures equal an independent SQL computation over the database, for 茨城県 and 長野県,
on a hand-made fixture and on the loaded sample; URL filters; notices; page switching; empty state."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from tests.support.fixture_db import make_fixture_db
from tests.support.kpis import displayed_kpis, expected_kpis
from tests.support.pages import APP, latest_fiscal_year, open_page

PROGRESS = "pages/1_伴走支援の進捗.py"


@pytest.fixture()
def db(page_db) -> Path:
    return page_db


def _qp(at: AppTest, key: str) -> list[str]:
    v = at.query_params.get(key)
    if v is None:
        return []
    return [v] if isinstance(v, str) else list(v)


# ── tests ───────────────────────────────────────────────────────────────────

def test_overview_runs_with_defaults(db):
    at = open_page(APP).run()
    assert not at.exception
    fy = latest_fiscal_year(db)
    assert at.selectbox(key="flt_fy").value == fy
    assert at.multiselect(key="flt_prefectures").value == []
    assert displayed_kpis(at) == expected_kpis(db, fy, None)
    captions = " ".join(c.value for c in at.caption)
    assert "データ基準日" in captions and "年度: 令和" in captions
    assert len(at.get("plotly_chart")) >= 2
    assert _qp(at, "年度") == [str(fy)]


@pytest.mark.parametrize("prefecture", ["茨城県", "長野県"])
def test_overview_figures_per_prefecture(db, prefecture):
    at = open_page(APP).run()
    at.multiselect(key="flt_prefectures").set_value([prefecture]).run()
    assert not at.exception
    fy = latest_fiscal_year(db)
    assert displayed_kpis(at) == expected_kpis(db, fy, prefecture)
    assert f"都道府県: {prefecture}" in " ".join(c.value for c in at.caption)
    assert _qp(at, "都道府県") == [prefecture]            # the URL follows the selection


def busiest_coordinator(db: Path, fy: int) -> str:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("""SELECT lead_coordinator FROM engagements WHERE fiscal_year = ? AND lead_coordinator
                              IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1""", [fy]).fetchall()[0][0]


def test_overview_figures_per_coordinator(db):
    fy = latest_fiscal_year(db)
    coordinator = busiest_coordinator(db, fy)
    at = open_page(APP).run()
    assert coordinator in at.multiselect(key="flt_coordinators").options
    at.multiselect(key="flt_coordinators").set_value([coordinator]).run()
    assert not at.exception
    shown = displayed_kpis(at)
    assert shown == expected_kpis(db, fy, None, coordinator)
    assert shown["実施回数"] > 0 and shown["セミナー参加者数"] == 0     # seminars have no 担当ITC
    assert shown != expected_kpis(db, fy, None)
    captions = " ".join(c.value for c in at.caption)
    assert f"担当ITC: {coordinator}" in captions
    assert "達成率" not in captions and "目標値の設定なし" in captions    # targets are per consortium, not per person
    assert _qp(at, "担当ITC") == [coordinator]
    # the same view from its URL
    again = open_page(APP, 担当ITC=coordinator).run()
    assert not again.exception and displayed_kpis(again) == shown


@pytest.mark.parametrize("prefecture", ["茨城県", "長野県"])
def test_url_opens_filtered(db, prefecture):
    at = open_page(APP, 都道府県=prefecture).run()
    assert not at.exception
    assert at.multiselect(key="flt_prefectures").value == [prefecture]
    assert displayed_kpis(at) == expected_kpis(db, latest_fiscal_year(db), prefecture)
    assert not at.warning


def test_bad_url_values_give_a_notice(db):
    at = open_page(APP, 都道府県="東京都,長野県", 年度="abc", 支援種別="宇宙支援").run()
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "東京都" in warnings and "abc" in warnings and "宇宙支援" in warnings
    assert at.multiselect(key="flt_prefectures").value == ["長野県"]
    assert at.selectbox(key="flt_fy").value == latest_fiscal_year(db)
    assert at.multiselect(key="flt_support_types").value == []


def test_switching_pages_keeps_the_selection(db):
    at = open_page(APP).run()
    at.multiselect(key="flt_prefectures").set_value(["長野県"]).run()
    at.switch_page(PROGRESS).run()
    assert not at.exception
    assert at.multiselect(key="flt_prefectures").value == ["長野県"]
    assert _qp(at, "都道府県") == ["長野県"]
    shown = at.dataframe[0].value                        # the progress table comes first
    with duckdb.connect(str(db), read_only=True) as con:
        nagano = {r[0] for r in con.execute("SELECT engagement_id FROM engagements WHERE prefecture = '長野県'")
                  .fetchall()}
    assert set(shown["案件ID"]) <= nagano
    at.switch_page("app.py").run()
    assert at.multiselect(key="flt_prefectures").value == ["長野県"]
    assert displayed_kpis(at) == expected_kpis(db, latest_fiscal_year(db), "長野県")


def test_switching_pages_keeps_every_filter(db):
    with duckdb.connect(str(db), read_only=True) as con:
        years = [r[0] for r in con.execute("SELECT DISTINCT fiscal_year FROM sessions ORDER BY 1 DESC").fetchall()]
    older = years[-1]
    at = open_page(APP, 年度=str(older), 期間=f"{older}-04-01~{older + 1}-03-31").run()
    at.multiselect(key="flt_consortia").set_value(["長野県DX支援コミュニティ"]).run()
    at.switch_page(PROGRESS).run()
    assert not at.exception
    assert at.selectbox(key="flt_fy").value == older
    assert at.multiselect(key="flt_consortia").value == ["長野県DX支援コミュニティ"]
    assert at.date_input(key="flt_date_from").value == dt.date(older, 4, 1)
    assert at.date_input(key="flt_date_to").value == dt.date(older + 1, 3, 31)
    at.switch_page("app.py").run()
    assert at.selectbox(key="flt_fy").value == older
    assert _qp(at, "年度") == [str(older)]
    assert _qp(at, "コンソーシアム") == ["長野県DX支援コミュニティ"]


def test_a_selection_that_matches_nothing_is_calm(db):
    at = open_page(APP, 期間="2000-01-01~2000-01-31").run()
    assert not at.exception
    assert any("該当するデータがありません" in i.value for i in at.info)
    assert not at.get("plotly_chart")


def test_sample_data_is_announced(tmp_path, monkeypatch):
    path = make_fixture_db(tmp_path / "s.duckdb", is_sample=True)
    monkeypatch.setenv("DX_DB_PATH", str(path))
    at = open_page(APP).run()
    assert any("サンプルデータ" in i.value for i in at.info)
    path2 = make_fixture_db(tmp_path / "r.duckdb", is_sample=False)
    monkeypatch.setenv("DX_DB_PATH", str(path2))
    at = open_page(APP).run()
    assert not any("サンプルデータ" in i.value for i in at.info)


def test_missing_database_is_built_from_the_sample(tmp_path, monkeypatch):
    path = tmp_path / "new" / "dx.duckdb"
    path.parent.mkdir()
    monkeypatch.setenv("DX_DB_PATH", str(path))
    at = open_page(APP, timeout=300).run()
    assert not at.exception
    assert path.exists()
    assert any("サンプルデータから作成しました" in i.value for i in at.info)
    assert displayed_kpis(at) == expected_kpis(path, latest_fiscal_year(path), None)


def test_period_filter(db):
    fy = latest_fiscal_year(db)
    start, end = dt.date(fy, 10, 1), dt.date(fy, 12, 31)
    at = open_page(APP).run()
    at.date_input(key="flt_date_from").set_value(start)
    at.date_input(key="flt_date_to").set_value(end).run()
    assert not at.exception
    with duckdb.connect(str(db), read_only=True) as con:
        sessions = con.execute("SELECT count(*) FROM sessions WHERE fiscal_year = ? AND date BETWEEN ? AND ?",
                               [fy, start, end]).fetchone()[0]
        consultations = con.execute("SELECT count(*) FROM consultations WHERE fiscal_year = ? AND date BETWEEN ? "
                                    "AND ?", [fy, start, end]).fetchone()[0]
    shown = displayed_kpis(at)
    assert (shown["実施回数"], shown["相談件数"]) == (sessions, consultations)
    assert _qp(at, "期間") == [f"{start.isoformat()}~{end.isoformat()}"]
