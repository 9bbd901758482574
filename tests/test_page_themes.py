"""相談テーマ in AppTest: the theme bar, heatmap, trend and the records behind a theme equal an independent SQL
computation over the database, for 茨城県 and 長野県, on the hand-made fixture (which has consultations in both
prefectures and sessions without a theme → 未分類) and on the loaded sample."""
from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from monitor.read.filters import PARAM_THEMES_HEAT_MEASURE, PARAM_THEMES_HEAT_TOP
from monitor.render import themes as render
from monitor.views import themes as view
from tests.support.fixture_db import make_fixture_db
from tests.support.pages import THEMES_PAGE as PAGE
from tests.support.pages import latest_fiscal_year, open_page, plotly_figures, plotly_values

BAR_TITLE = "テーマ別の件数と構成比（相談記録・伴走記録）"


@pytest.fixture()
def db(page_db) -> Path:
    return page_db


def _page(**query) -> AppTest:
    return open_page(PAGE, **query)


def _rows(db: Path, sql: str, params=()) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params if isinstance(params, dict) else list(params)).fetchall()


THEME_ROWS = """
WITH s AS (
    SELECT list_distinct(s.themes) AS ts, e.prefecture, e.municipality, e.municipality_code, e.lead_coordinator
    FROM sessions s JOIN engagements e ON e.engagement_id = s.engagement_id
    WHERE s.fiscal_year = $fy
),
rows_ AS (
    SELECT unnest(CASE WHEN ts IS NULL OR len(ts) = 0 THEN ['未分類'] ELSE ts END) AS theme,
           prefecture, municipality, '伴走' AS kind, lead_coordinator AS coordinator
    FROM s
    UNION ALL
    SELECT coalesce(theme, '未分類'), prefecture, municipality, '相談', coordinator
    FROM consultations WHERE fiscal_year = $fy
)
"""


def expected_counts(db: Path, prefecture: str | None, fy: int, coordinator: str | None = None) -> dict[str, int]:
    where = "WHERE prefecture = $pref" if prefecture else ""
    if coordinator:
        where = (where + " AND" if where else "WHERE") + " coordinator = $coord"
    params = {"fy": fy, **({"pref": prefecture} if prefecture else {}), **({"coord": coordinator} if coordinator else {})}
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(THEME_ROWS + f"SELECT theme, count(*) FROM rows_ {where} GROUP BY theme", params).fetchall()
    return dict(rows)


def expected_matrix(db: Path, fy: int, prefecture: str | None) -> dict[tuple[str, str], int]:
    area = "coalesce(municipality, '市区町村不明')" if prefecture else "prefecture"
    where = "WHERE prefecture = $pref" if prefecture else ""
    params = {"fy": fy, **({"pref": prefecture} if prefecture else {})}
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(THEME_ROWS + f"SELECT theme, {area}, count(*) FROM rows_ {where} GROUP BY ALL",
                           params).fetchall()
    return {(t, a): n for t, a, n in rows}


def _bar_counts(at: AppTest) -> dict[str, int]:
    spec = plotly_figures(at)[BAR_TITLE]
    out: dict[str, int] = {}
    for tr in spec["data"]:
        for y, x in zip(plotly_values(tr["y"]), plotly_values(tr["x"])):
            assert y not in out, f"{y} in two traces"
            out[y] = int(x)
    return out


def _heatmap(at: AppTest) -> tuple[dict[tuple[str, str], int], dict]:
    spec = _heatmap_spec(at)
    hm = spec["data"][0]
    z = plotly_values(hm["z"])
    xs, ys = plotly_values(hm["x"]), plotly_values(hm["y"])      # x: themes, y: areas (one row per area)
    return {(x, y): int(z[i][j]) for i, y in enumerate(ys) for j, x in enumerate(xs) if z[i][j]}, spec


def _heatmap_spec(at: AppTest) -> dict:
    return next(s for t, s in plotly_figures(at).items() if " × テーマの" in t)


@pytest.mark.parametrize("prefecture", ["茨城県", "長野県"])
def test_theme_counts_and_heatmap_equal_sql(db, prefecture):
    at = _page(都道府県=prefecture).run()
    assert not at.exception
    assert at.multiselect(key="flt_prefectures").value == [prefecture]
    fy = latest_fiscal_year(db)
    exp = expected_counts(db, prefecture, fy)
    assert exp, "the database should have theme records for the prefecture"
    assert _bar_counts(at) == exp
    # the figure states its context
    spec = plotly_figures(at)[BAR_TITLE]
    assert prefecture in spec["layout"]["title"]["subtitle"]["text"]
    # metrics: consultations and session-theme rows
    metrics = {m.label: m.value for m in at.metric}
    n_cons = _rows(db, "SELECT count(*) FROM consultations WHERE fiscal_year = ? AND prefecture = ?",
                   [fy, prefecture])[0][0]
    assert metrics["相談件数"] == f"{n_cons:,}件"
    # one prefecture chosen → theme × municipality with the expected numbers
    cells, hspec = _heatmap(at)
    assert hspec["layout"]["title"]["text"] == f"市区町村（{prefecture}） × テーマの件数"
    assert cells == expected_matrix(db, fy, prefecture)


def test_theme_counts_per_coordinator(db):
    fy = latest_fiscal_year(db)
    coordinator = _rows(db, THEME_ROWS + """SELECT coordinator FROM rows_ WHERE coordinator IS NOT NULL
                                            GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1""", {"fy": fy})[0][0]
    at = _page(担当ITC=coordinator).run()
    assert not at.exception
    exp = expected_counts(db, None, fy, coordinator)
    assert exp and exp != expected_counts(db, None, fy)
    assert _bar_counts(at) == exp


def test_heatmap_by_prefecture_without_a_prefecture_filter(db):
    at = _page().run()
    assert not at.exception
    fy = latest_fiscal_year(db)
    cells, spec = _heatmap(at)
    assert spec["layout"]["title"]["text"] == "都道府県 × テーマの件数"
    assert cells == expected_matrix(db, fy, None)
    assert _bar_counts(at) == expected_counts(db, None, fy)


def test_trend_by_month_and_by_quarter_add_up(db):
    at = _page(都道府県="長野県").run()
    fy = latest_fiscal_year(db)
    total = sum(expected_counts(db, "長野県", fy).values())

    def trend_total(at):
        spec = next(s for t, s in plotly_figures(at).items() if t.startswith("テーマ別件数の推移"))
        return spec, sum(int(v) for tr in spec["data"] for v in plotly_values(tr["y"]))

    spec, n = trend_total(at)
    assert n == total
    assert all(re.fullmatch(r"\d{4}年\d{1,2}月", x) for x in plotly_values(spec["data"][0]["x"]))
    at.radio(key="themes_grain").set_value("quarter").run()
    assert not at.exception
    spec, n = trend_total(at)
    assert n == total
    assert "四半期別" in spec["layout"]["title"]["text"]
    assert all(re.fullmatch(rf"{fy}年度 第[1-4]四半期", x) for x in plotly_values(spec["data"][0]["x"]))


def test_records_behind_a_theme(db):
    at = _page(都道府県="茨城県").run()
    box = at.selectbox(key="themes_records_theme")
    fy = latest_fiscal_year(db)
    exp = expected_counts(db, "茨城県", fy)
    assert set(box.options) == {f"{t}（{n:,}件）" for t, n in exp.items()}
    theme = min(exp, key=lambda t: (-exp[t], t))          # the most frequent theme
    box.set_value(theme).run()
    assert not at.exception
    table = at.dataframe[-1].value
    assert list(table.columns) == ["区分", "日付", "支援先", "都道府県", "市区町村", "記載内容（原文）", "概要・メモ"]
    assert len(table) == min(exp[theme], 300)
    assert set(table["都道府県"]) == {"茨城県"}
    assert any(f"「{theme}」の記録 {exp[theme]:,}件" in c.value for c in at.caption)
    assert all(re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日", d) for d in table["日付"])


def test_unmapped_themes_are_shown_as_mishunrui(tmp_path, monkeypatch):
    """Sessions without a theme and a consultation whose theme is NULL count as 未分類, and can be listed."""
    path = make_fixture_db(tmp_path / "fixture.duckdb")
    monkeypatch.setenv("DX_DB_PATH", str(path))
    fy = latest_fiscal_year(path)
    exp = expected_counts(path, "茨城県", fy)
    assert exp.get("未分類", 0) > 0
    at = _page(都道府県="茨城県").run()
    assert not at.exception
    bars = _bar_counts(at)
    assert bars["未分類"] == exp["未分類"]
    at.selectbox(key="themes_records_theme").set_value("未分類").run()
    assert not at.exception
    assert len(at.dataframe[-1].value) == exp["未分類"]


def test_nothing_matches(db):
    at = _page(期間="2000-01-01~2000-12-31").run()
    assert not at.exception
    assert any("該当するデータがありません" in i.value for i in at.info)
    assert not at.get("plotly_chart")


def test_chosen_theme_label_follows_the_filters(db):
    """After a filter change the chosen theme's label carries the new count (issue: 58件 kept while the list said 28)."""
    at = _page().run()
    fy = latest_fiscal_year(db)
    exp = expected_counts(db, "茨城県", fy)
    box = at.selectbox(key="themes_records_theme")
    # a theme whose count differs once 茨城県 is chosen
    theme = next(t for t in exp if f"{t}（{exp[t]:,}件）" not in box.options)
    box.set_value(theme).run()
    at.multiselect(key="flt_prefectures").set_value(["茨城県"]).run()
    assert not at.exception
    box = at.selectbox(key="themes_records_theme")
    assert box.value == theme
    assert box.proto.set_value and box.proto.raw_value == f"{theme}（{exp[theme]:,}件）"


# ── area × theme: 構成比 (row %) and the largest areas ─────────────────────────────────────────────────────────

AREA_ROWS = THEME_ROWS + """
, coded AS (
    SELECT r.theme, r.prefecture, coalesce(r.municipality, '市区町村不明') AS municipality, p.prefecture_code,
           coalesce(m.municipality_code, '999999') AS municipality_code
    FROM rows_ r LEFT JOIN prefectures p ON p.prefecture = r.prefecture
    LEFT JOIN municipalities m ON m.prefecture = r.prefecture AND m.municipality = r.municipality
)
SELECT * FROM coded
"""


def area_theme_frame(db: Path, fy: int, prefecture: str | None) -> pd.DataFrame:
    """(area, code, theme) per theme row, from the record tables (never the page's query): pandas does the rest."""
    with duckdb.connect(str(db), read_only=True) as con:
        df = con.execute(AREA_ROWS, {"fy": fy}).df()
    if prefecture:
        df = df[df["prefecture"] == prefecture]
        return pd.DataFrame({"area": df["municipality"], "code": df["municipality_code"], "theme": df["theme"]})
    return pd.DataFrame({"area": df["prefecture"], "code": df["prefecture_code"], "theme": df["theme"]})


def expected_shares(frame: pd.DataFrame) -> dict[tuple[str, str], float]:
    counts = frame.groupby(["area", "theme"]).size()
    shares = counts / counts.groupby(level="area").transform("sum") * 100
    return {(t, a): float(v) for (a, t), v in shares.items()}


def expected_top(frame: pd.DataFrame, n: int) -> tuple[list[str], int]:
    """The ``n`` areas of the largest total, ties by the smaller area code; and how many are left out."""
    totals = frame.groupby(["area", "code"]).size().reset_index(name="total")
    ranked = totals.sort_values(["total", "code"], ascending=[False, True])
    return sorted(ranked["area"].head(n)), max(0, len(totals) - n)


def _heat_shares(at: AppTest) -> tuple[dict[tuple[str, str], float], list[list[float]], dict]:
    spec = _heatmap_spec(at)
    hm = spec["data"][0]
    z = plotly_values(hm["z"])
    xs, ys = plotly_values(hm["x"]), plotly_values(hm["y"])
    return {(x, y): float(z[i][j]) for i, y in enumerate(ys) for j, x in enumerate(xs) if z[i][j]}, z, spec


@pytest.mark.parametrize("prefecture", [None, "長野県"])
def test_heatmap_share_is_each_rows_share_as_pandas_computes_it(db, prefecture):
    at = _page(**({"都道府県": prefecture} if prefecture else {})).run()
    at.radio(key=render.KEY_HEAT_MEASURE).set_value("share").run()
    assert not at.exception
    shown, z, spec = _heat_shares(at)
    expected = expected_shares(area_theme_frame(db, latest_fiscal_year(db), prefecture))
    assert shown.keys() == expected.keys()
    for cell, share in expected.items():
        assert shown[cell] == pytest.approx(share, abs=1e-6), cell
    for row in z:                                        # each row sums to 100 (±0.1)
        assert abs(sum(row) - 100) <= 0.1
    assert "構成比（行ごとに合計100%）" in spec["layout"]["title"]["text"]
    assert any("行ごとに合計100%" in c.value for c in at.caption)
    assert at.query_params[PARAM_THEMES_HEAT_MEASURE] == "構成比"          # kept in the URL


def test_heatmap_choices_come_from_the_url_and_print_as_chosen(db):
    at = _page(地域別表示="構成比", 地域数="上位10").run()
    assert not at.exception
    assert at.radio(key=render.KEY_HEAT_MEASURE).value == "share"
    assert at.selectbox(key=render.KEY_HEAT_TOP).value == 10
    at.selectbox(key=render.KEY_HEAT_TOP).set_value(0).run()
    assert at.query_params[PARAM_THEMES_HEAT_TOP] == "すべて"
    # printed: no controls, the URL's choice
    printed = _page(print="1", 地域別表示="構成比").run()
    assert not printed.exception and not printed.get("radio")
    assert "構成比" in _heatmap_spec(printed)["layout"]["title"]["text"]
    # a label the page does not know: ignored with a notice, the default shown
    bad = _page(地域別表示="割合").run()
    assert bad.radio(key=render.KEY_HEAT_MEASURE).value == "count"
    assert any("地域別表示「割合」" in w.value for w in bad.warning)


@pytest.fixture()
def national(national_db, monkeypatch) -> Path:
    monkeypatch.setenv("DX_DB_PATH", str(national_db))
    return national_db


@pytest.mark.parametrize("n", [10, 20])
def test_heatmap_top_n_keeps_the_largest_prefectures(national, n):
    at = _page(地域数=f"上位{n}").run()
    assert not at.exception
    frame = area_theme_frame(national, latest_fiscal_year(national), None)
    kept, left_out = expected_top(frame, n)
    assert left_out == 47 - n
    spec = _heatmap_spec(at)
    areas = plotly_values(spec["data"][0]["y"])
    assert sorted(areas) == kept
    totals = frame.groupby("area").size()
    assert min(totals[a] for a in areas) >= max(totals.drop(areas))        # none left out is larger
    line = f"ほか {left_out} 都道府県は表示していません"
    assert [c.value for c in at.caption if c.value.startswith("ほか ")] == [line + f"（{view.HEATMAP_TOP_RULE}）。"]
    # every prefecture: 47 rows, each labelled, a chart as tall as its rows
    at.selectbox(key=render.KEY_HEAT_TOP).set_value(50).run()
    spec = _heatmap_spec(at)
    assert len(plotly_values(spec["data"][0]["y"])) == 47 == len(spec["layout"]["yaxis"]["tickvals"])
    assert spec["layout"]["height"] >= 47 * 26
    assert not [c for c in at.caption if c.value.startswith("ほか ")]


def test_heatmap_top_n_of_a_prefectures_municipalities(national):
    fy = latest_fiscal_year(national)
    with duckdb.connect(str(national), read_only=True) as con:
        prefecture = con.execute(AREA_ROWS.replace("SELECT * FROM coded", """SELECT prefecture FROM coded
            GROUP BY 1 ORDER BY count(DISTINCT municipality) DESC, 1 LIMIT 1"""), {"fy": fy}).fetchall()[0][0]
    frame = area_theme_frame(national, fy, prefecture)
    assert frame["area"].nunique() > 10, "the generated programme should have many municipalities in one prefecture"
    at = _page(都道府県=prefecture, 地域数="上位10").run()
    assert not at.exception
    kept, left_out = expected_top(frame, 10)
    assert sorted(plotly_values(_heatmap_spec(at)["data"][0]["y"])) == kept
    assert any(c.value.startswith(f"ほか {left_out} 市区町村は表示していません") for c in at.caption)
