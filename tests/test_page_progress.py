"""伴走支援の進捗 in AppTest: the engagement table, stalled count, stage funnel and session log equal an independent
SQL computation over the database, for 茨城県 and 長野県, on the hand-made fixture and on the loaded sample."""
from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from tests.support.pages import PROGRESS_PAGE as PAGE
from tests.support.pages import latest_fiscal_year, open_page, plotly_figures, plotly_values


@pytest.fixture()
def db(page_db) -> Path:
    return page_db


def _page(**query) -> AppTest:
    return open_page(PAGE, **query)


def expected(db: Path, prefecture: str | None, coordinator: str | None = None) -> dict:
    """Per engagement (done, planned), stalled ids, and the funnel per consortium, from the base tables; for one
    prefecture and/or one 担当ITC (the engagement's lead_coordinator)."""
    where = " AND ".join(["e.fiscal_year = $fy"] + (["e.prefecture = $pref"] if prefecture else [])
                         + (["e.lead_coordinator = $coord"] if coordinator else []))
    with duckdb.connect(str(db), read_only=True) as con:
        fy = latest_fiscal_year(db)
        params = {"fy": fy} | ({"pref": prefecture} if prefecture else {}) | ({"coord": coordinator} if coordinator else {})
        as_of = con.execute("SELECT CAST(value AS DATE) FROM meta WHERE key = 'data_as_of'").fetchone()[0]
        rows = con.execute(f"""
            SELECT e.engagement_id, e.consortium, e.status, e.start_date,
                   coalesce(e.planned_sessions, CASE WHEN e.support_type = '伴走支援' THEN 10 END) AS planned,
                   count(s.session_no) AS done, max(s.date) AS last_date, max(s.stage_no) AS stage
            FROM engagements e LEFT JOIN sessions s ON s.engagement_id = e.engagement_id
            WHERE {where}
            GROUP BY ALL""", params).fetchall()
    rows = [r for r in rows if r[4] is not None or r[5] > 0]
    table = {r[0]: (r[5], r[4]) for r in rows}
    stalled = {r[0] for r in rows
               if r[2] == "実施中" and (as_of - (r[6] or r[3])).days > 30}
    funnel: dict[str, list[int]] = {}
    for _id, cons, *_rest, stage in rows:
        if stage is not None:
            counts = funnel.setdefault(cons or "コンソーシアム外", [0] * 7)
            for k in range(stage):
                counts[k] += 1
    return {"table": table, "stalled": stalled, "funnel": funnel}


def _shown_table(at: AppTest) -> dict:
    df = at.dataframe[0].value
    out = {}
    for eid, text in zip(df["案件ID"], df["実施/予定"]):
        nums = [int(x) for x in re.findall(r"\d+", text)]
        out[eid] = (nums[0], nums[1] if len(nums) > 1 else None)
    return out, df


@pytest.mark.parametrize("prefecture", ["茨城県", "長野県"])
def test_progress_page_figures(db, prefecture):
    at = _page(都道府県=prefecture).run()
    assert not at.exception
    assert at.multiselect(key="flt_prefectures").value == [prefecture]
    exp = expected(db, prefecture)
    table, df = _shown_table(at)
    assert table == exp["table"]
    assert {eid for eid, flag in zip(df["案件ID"], df["停滞"]) if flag} == exp["stalled"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["停滞案件"] == f"{len(exp['stalled'])}件"
    assert metrics["伴走支援の案件数"] == f"{len(exp['table'])}件"
    # the stage funnel carries the expected numbers
    funnel = plotly_figures(at)["伴走支援 段階別の到達件数（コンソーシアム別）"]
    got = {t["name"]: plotly_values(t["x"]) for t in funnel["data"]}
    assert got == exp["funnel"]
    assert prefecture in funnel["layout"]["title"]["subtitle"]["text"]


def test_progress_page_per_coordinator(db):
    with duckdb.connect(str(db), read_only=True) as con:
        fy = latest_fiscal_year(db)
        coordinator = con.execute("""SELECT lead_coordinator FROM engagements WHERE fiscal_year = ?
                                     GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1""", [fy]).fetchall()[0][0]
    at = _page(担当ITC=coordinator).run()
    assert not at.exception
    assert at.multiselect(key="flt_coordinators").value == [coordinator]
    exp = expected(db, None, coordinator)
    table, df = _shown_table(at)
    assert table == exp["table"] and len(table) > 0
    assert len(table) < len(expected(db, None)["table"])
    assert {m.label: m.value for m in at.metric}["伴走支援の案件数"] == f"{len(exp['table'])}件"


def test_session_log_of_the_chosen_engagement(db):
    at = _page(都道府県="長野県").run()
    box = at.selectbox(key="progress_engagement")
    ids = [re.search(r"（([^（）]+)）$", label).group(1) for label in box.options]   # options show 支援先（案件ID）
    with duckdb.connect(str(db), read_only=True) as con:
        counts = dict(con.execute("SELECT engagement_id, count(*) FROM sessions GROUP BY ALL").fetchall())
    target = next(eid for eid in reversed(ids) if counts.get(eid))
    box.set_value(target).run()
    assert not at.exception
    log = at.dataframe[-1].value
    assert len(log) == counts[target]
    assert list(log["回"]) == sorted(log["回"])
    assert all(re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日", d) for d in log["実施日"])
    assert set(log["金融機関同行"]) <= {"あり", "なし", "—"}


def test_timeline_marks_every_session_shown(db):
    at = _page(都道府県="茨城県").run()
    fig = plotly_figures(at)["伴走支援のタイムライン（案件別）"]
    # a session is a drawn point (the legend's two symbol entries have no point: x = [None])
    n_markers = sum(sum(x is not None for x in plotly_values(t["x"])) for t in fig["data"] if t.get("mode") == "markers")
    with duckdb.connect(str(db), read_only=True) as con:
        fy = latest_fiscal_year(db)
        n = con.execute("""SELECT count(*) FROM sessions s JOIN engagements e USING (engagement_id)
                           WHERE e.fiscal_year = ? AND e.prefecture = '茨城県'""", [fy]).fetchone()[0]
        n_eng = con.execute("""SELECT count(DISTINCT engagement_id) FROM sessions s JOIN engagements e
                               USING (engagement_id) WHERE e.fiscal_year = ? AND e.prefecture = '茨城県'""",
                            [fy]).fetchone()[0]
    if n_eng <= 30:
        assert n_markers == n


def test_bad_url_value_gives_a_notice(db):
    at = _page(都道府県="長野", コンソーシアム="存在しないコミュニティ").run()
    assert not at.exception
    text = " ".join(w.value for w in at.warning)
    assert "長野" in text and "存在しないコミュニティ" in text


def test_nothing_matches(db):
    at = _page(期間="2000-01-01~2000-12-31").run()
    assert not at.exception
    assert any("該当するデータがありません" in i.value for i in at.info)
