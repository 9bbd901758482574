"""Access restriction (DX_ALLOWED_PREFECTURES): the sidebar offers only the allowed prefectures, every query is
limited to them (monitor.queries), the 報告 page too, a URL naming another prefecture is dropped with a notice, the
caption shows 閲覧範囲, and a setting with unknown names is a Japanese message on screen. On the real sample
database (tests/conftest.py: sample_db_env)."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetStates
from streamlit.testing.v1 import AppTest

from monitor.views import map as maps
from monitor.read.filters import NO_PREFECTURE, AccessConfigError, Filters, allowed_prefectures, scoped_prefectures
from monitor.read.queries import clear_cache, run_query
from monitor.views.report import T_COMPANIES, T_SUMMARY, build_report
from tests.support.kpis import displayed_kpis, expected_kpis
from tests.support.map_page import click, expected_points
from tests.support.map_page import deck_spec as _deck
from tests.support.map_page import features as _features
from tests.support.pages import latest_fiscal_year, run_page

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
MAP = str(ROOT / "pages" / "3_地図.py")
REPORT = str(ROOT / "pages" / "5_報告.py")
ENV = "DX_ALLOWED_PREFECTURES"


@pytest.fixture()
def nagano_only(sample_db_env, monkeypatch) -> Path:
    monkeypatch.setenv(ENV, "長野県")
    monkeypatch.delenv("DX_BASEMAP", raising=False)
    return sample_db_env


def _captions(at: AppTest) -> str:
    return " ".join(c.value for c in at.caption)


# ── the setting ─────────────────────────────────────────────────────────────

def test_setting_is_read_and_checked(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    assert allowed_prefectures() is None
    monkeypatch.setenv(ENV, "  ")
    assert allowed_prefectures() is None
    monkeypatch.setenv(ENV, "茨城県, 長野県、茨城県")
    assert allowed_prefectures() == ("茨城県", "長野県")
    monkeypatch.setenv(ENV, "長野,東京都")
    with pytest.raises(AccessConfigError) as exc:
        allowed_prefectures()
    assert "「長野」" in str(exc.value) and "長野県" in str(exc.value) and ENV in str(exc.value)


def test_scoping_of_the_prefecture_list():
    assert scoped_prefectures([], None) == []
    assert scoped_prefectures(["茨城県"], None) == ["茨城県"]
    assert scoped_prefectures([], ("長野県",)) == ["長野県"]
    assert scoped_prefectures(["茨城県", "長野県"], ("長野県",)) == ["長野県"]
    assert scoped_prefectures(["茨城県"], ("長野県",)) == [NO_PREFECTURE]   # none allowed: nothing, not all


# ── central enforcement in monitor.queries ─────────────────────────────────

def test_kpi_query_under_restriction_equals_the_nagano_selection(sample_db_env, monkeypatch):
    fy = latest_fiscal_year(sample_db_env)
    monkeypatch.delenv(ENV, raising=False)
    clear_cache()
    expected = run_query("kpi", Filters(fiscal_year=fy, prefectures=("長野県",)))
    unrestricted = run_query("kpi", Filters(fiscal_year=fy))
    monkeypatch.setenv(ENV, "長野県")
    restricted = run_query("kpi", Filters(fiscal_year=fy))
    pd.testing.assert_frame_equal(restricted, expected)
    assert not restricted.equals(unrestricted)           # the restriction changed something
    # no year chosen either
    monkeypatch.delenv(ENV, raising=False)
    expected_all_years = run_query("kpi", Filters(prefectures=("長野県",)))
    monkeypatch.setenv(ENV, "長野県")
    pd.testing.assert_frame_equal(run_query("kpi", Filters()), expected_all_years)


def test_a_chosen_prefecture_outside_the_restriction_gives_nothing(nagano_only):
    kpi = run_query("kpi", Filters(prefectures=("茨城県",)))
    total = kpi[kpi["is_total"]].iloc[0]
    assert total["engagements"] == total["sessions"] == total["consultations"] == total["seminar_attendees"] == 0
    assert run_query("map_points", Filters(prefectures=("茨城県",))).empty


def test_queries_without_a_prefecture_parameter_are_restricted_too(nagano_only):
    with duckdb.connect(str(nagano_only), read_only=True) as con:
        ibaraki = con.execute("""SELECT e.engagement_id FROM engagements e JOIN sessions s USING (engagement_id)
                                 WHERE e.prefecture = '茨城県' LIMIT 1""").fetchall()[0][0]
        nagano = con.execute("""SELECT e.engagement_id FROM engagements e JOIN sessions s USING (engagement_id)
                                WHERE e.prefecture = '長野県' LIMIT 1""").fetchall()[0][0]
    assert run_query("session_log", Filters(), engagement_id=ibaraki).empty
    assert not run_query("session_log", Filters(), engagement_id=nagano).empty
    choices = run_query("filter_choices", Filters())
    assert set(choices.loc[choices["kind"] == "prefecture", "value"]) == {"長野県"}


# ── pages ───────────────────────────────────────────────────────────────────

def test_overview_shows_only_nagano(nagano_only):
    at = run_page(APP)
    assert not at.exception
    assert at.multiselect(key="flt_prefectures").options == ["長野県"]
    assert at.multiselect(key="flt_prefectures").value == []
    assert displayed_kpis(at) == expected_kpis(nagano_only, latest_fiscal_year(nagano_only), "長野県")
    assert "閲覧範囲: 長野県" in _captions(at)


def test_url_asking_for_another_prefecture_is_dropped(nagano_only):
    at = run_page(APP, 都道府県="茨城県")
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "茨城県" in warnings and "閲覧範囲外" in warnings
    assert at.multiselect(key="flt_prefectures").value == []
    assert displayed_kpis(at) == expected_kpis(nagano_only, latest_fiscal_year(nagano_only), "長野県")
    assert "茨城" not in " ".join(str(df.value.to_dict()) for df in at.dataframe)
    assert "茨城県" not in (at.query_params.get("都道府県") or "")

    at = run_page(APP, 都道府県="茨城県,長野県")
    assert not at.exception
    assert at.multiselect(key="flt_prefectures").value == ["長野県"]
    assert any("茨城県" in w.value for w in at.warning)


def test_map_shows_no_ibaraki_municipality(nagano_only):
    at = run_page(MAP)
    assert not at.exception
    national = {f["properties"]["prefecture"]: f for f in _features(_deck(at), maps.PREFECTURE_LAYER_ID)}
    assert {p for p, f in national.items() if f["properties"]["engagements"] or f["properties"]["sessions"]
            or f["properties"]["consultations"]} == {"長野県"}
    assert "閲覧範囲: 長野県" in _captions(at)
    # a click on 茨城県 does not choose it (outside the allowed prefectures)
    click(at, maps.PREFECTURE_LAYER_ID, national["茨城県"])
    assert not at.exception
    assert at.multiselect(key="flt_prefectures").value == []
    click(at, maps.PREFECTURE_LAYER_ID, national["長野県"])
    assert at.multiselect(key="flt_prefectures").value == ["長野県"]
    shown = set()
    for f in _features(_deck(at), maps.MUNICIPAL_LAYER_ID):
        p = f["properties"]
        if p["engagements"] or p["sessions"] or p["consultations"]:
            shown.add(f"{p['municipality']}（{p['prefecture']}）")
    assert shown == set(expected_points(nagano_only, "長野県"))


@pytest.mark.parametrize("fy", [2022, None])
def test_report_page_is_restricted(nagano_only, fy):
    fy = fy or latest_fiscal_year(nagano_only)
    at = run_page(REPORT, 年度=str(fy))
    assert not at.exception
    assert "閲覧範囲: 長野県" in _captions(at) and "都道府県のない記録は表示しません" in _captions(at)
    report = build_report(fy, None)
    assert "閲覧範囲: 長野県" in report.context and "閲覧範囲: 長野県" in report.conditions()["集計の範囲"]
    names = [n for n, df in report.tables().items() if not df.empty]
    shown = [d.value for d in at.dataframe]
    assert len(shown) == len(names) + 1                  # and 指標の定義
    tables = dict(zip(names, shown))
    with duckdb.connect(str(nagano_only), read_only=True) as con:
        seminars = con.execute("""SELECT count(*) FROM events WHERE fiscal_year = $fy AND prefecture = '長野県'
                                  AND kind LIKE '%セミナー%'""", {"fy": fy}).fetchall()[0][0]
        sessions = con.execute("""SELECT count(*) FROM sessions s JOIN engagements e USING (engagement_id)
                                  WHERE s.fiscal_year = $fy AND e.prefecture = '長野県'
                                  AND e.support_type = '伴走支援'""", {"fy": fy}).fetchall()[0][0]
        nagano_engagements = {r[0] for r in con.execute(
            "SELECT engagement_id FROM engagements WHERE fiscal_year = $fy AND prefecture = '長野県'",
            {"fy": fy}).fetchall()}
    summary = tables[T_SUMMARY].set_index("項目")["実績"]
    assert summary["セミナー開催回数"] == seminars
    assert summary["伴走支援 実施回数"] == sessions
    if T_COMPANIES in tables:
        assert set(tables[T_COMPANIES]["案件ID"]) <= nagano_engagements
    for df in tables.values():
        if "都道府県" in df.columns:
            assert set(df["都道府県"].dropna()) <= {"長野県"}
        assert not df.astype(str).apply(lambda s: s.str.contains("茨城")).any().any()


def test_unknown_names_in_the_setting_are_a_message_not_a_crash(sample_db_env, monkeypatch):
    monkeypatch.setenv(ENV, "長野,Tokyo")
    for script in (APP, REPORT):
        at = run_page(script)
        assert not at.exception
        errors = " ".join(e.value for e in at.error)
        assert ENV in errors and "長野" in errors and "Tokyo" in errors
        assert not at.metric and not at.dataframe


def _forge(at: AppTest, values: dict[str, list[str]]) -> AppTest:
    """Send what a tampered browser could send over the websocket: the sidebar multiselects holding values that
    were never offered (another prefecture, that prefecture's consortium), every other widget as it is."""
    states = WidgetStates()
    states.CopyFrom(at._tree.get_widget_states())
    for w in states.widgets:
        key = w.id.rsplit("-", 1)[-1]
        if key in values:
            del w.string_array_value.data[:]
            w.string_array_value.data.extend(values[key])
    return at._run(states)


@pytest.mark.parametrize("forged", [{"flt_prefectures": ["茨城県"]},
                                    {"flt_consortia": ["茨城県DX支援コミュニティ"]},
                                    {"flt_prefectures": ["茨城県", "長野県"], "flt_consortia": ["茨城県DX支援コミュニティ"]}],
                         ids=["prefecture", "consortium", "both"])
def test_forged_widget_values_do_not_widen_the_scope(nagano_only, forged):
    at = _forge(run_page(APP), forged)
    assert not at.exception
    shown = " ".join(str(df.value.to_dict()) for df in at.dataframe) + " ".join(m.value for m in at.metric)
    assert "茨城" not in shown
    if at.metric:      # whatever the page made of the forged values, its figures are within 長野県
        nagano = expected_kpis(nagano_only, latest_fiscal_year(nagano_only), "長野県")
        got = displayed_kpis(at)
        assert all(got[k] <= nagano[k] for k in ("支援企業数", "実施回数", "相談件数", "セミナー参加者数")), (got, nagano)
    with duckdb.connect(str(nagano_only), read_only=True) as con:      # 茨城県 has records the forged page could show
        assert con.execute("SELECT count(*) FROM engagements WHERE prefecture = '茨城県'").fetchall()[0][0] > 0


def test_the_forging_reaches_the_page_when_the_value_is_offered(sample_db_env, monkeypatch):
    """The control for the test above: without a restriction the same forged message does narrow the page."""
    monkeypatch.delenv(ENV, raising=False)
    at = _forge(run_page(APP), {"flt_prefectures": ["茨城県"]})
    assert not at.exception
    assert at.multiselect(key="flt_prefectures").value == ["茨城県"]
    assert displayed_kpis(at) == expected_kpis(sample_db_env, latest_fiscal_year(sample_db_env), "茨城県")
