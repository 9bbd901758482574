"""Marts on a small hand-made database whose figures are known (see FIXTURE_FIGURES)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from etl.marts import build_marts, mart_files
from etl.paths import SQL_DIR

D = dt.date
AS_OF = D(2022, 12, 20)
IBARAKI = "茨城県DX支援コミュニティ"
NAGANO = "長野県DX支援コミュニティ"
STAGES = ["経営理念・ミッションの確認", "DX構想の検討", "DXシステム構成検討", "現状分析",
          "実施項目の抽出", "セキュリティ対策の検討", "DX計画書のとりまとめ"]


def _sessions_every(eng, start: dt.date, stages, banks, step=14):
    return [(eng, i + 1, start + dt.timedelta(days=step * i), stages[i], banks[i]) for i in range(len(stages))]


# engagement_id, fy, consortium, support_type, client, client_type, pref, pref_code, muni, muni_code, planned,
# status, start, end, deliverable, deliverable_date, lead ITC
ENGAGEMENTS = [
    ("E1", 2022, IBARAKI, "伴走支援", "架空A社", "企業", "茨城県", "08", "筑西市", "082279", 10, "実施中",
     D(2022, 8, 1), None, None, None, "架空ITC一郎"),
    ("E2", 2022, IBARAKI, "伴走支援", "架空B社", "企業", "茨城県", "08", "水戸市", "082015", 10, "完了",
     D(2022, 7, 1), D(2022, 12, 10), "DX計画書", D(2022, 12, 10), "架空ITC二郎"),
    ("E3", 2022, NAGANO, "伴走支援", "架空C社", "企業", "長野県", "20", "長野市", "202011", 10, "実施中",
     D(2022, 9, 1), None, None, None, "架空ITC三郎"),
    ("E4", 2022, NAGANO, "伴走支援", "架空D社", "企業", "長野県", "20", "長野市", "202011", 8, "中止",
     D(2022, 8, 1), D(2022, 9, 30), None, None, "架空ITC三郎"),
    ("E5", 2022, None, "ITCアドバイザー", "山形市", "自治体", "山形県", "06", "山形市", "062014", None, "実施中",
     D(2022, 4, 1), D(2023, 3, 31), None, None, "架空ITC四郎"),
    ("E6", 2021, IBARAKI, "伴走支援", "架空Z社", "企業", "茨城県", "08", "筑西市", "082279", 2, "完了",
     D(2021, 9, 1), D(2022, 2, 28), "DX計画書", D(2022, 2, 28), "架空ITC一郎"),
]
SESSIONS = (
    [("E1", 1, D(2022, 8, 10), 1, True), ("E1", 2, D(2022, 8, 24), 2, False),
     ("E1", 3, D(2022, 9, 7), 2, True), ("E1", 4, D(2022, 9, 21), 3, None)]
    + _sessions_every("E2", D(2022, 8, 1), [1, 1, 2, 3, 4, 4, 5, 6, 7, 7],
                      [True, False] * 5)
    + _sessions_every("E3", D(2022, 9, 26), [1, 2, 2, 3, 3, 4], [False] * 6)
    + [("E4", 1, D(2022, 8, 2), 1, False), ("E4", 2, D(2022, 8, 16), 1, False)]
    + [("E6", 1, D(2021, 10, 1), 1, True), ("E6", 2, D(2021, 10, 15), 7, True)]
)
SESSION_THEMES = {("E1", 1): ["経営ビジョン・DX戦略", "業務効率化", "業務効率化"], ("E1", 2): ["業務効率化"],
                  ("E3", 1): ["データ活用"]}
# consultation_id, date, client, pref, muni, theme, engagement_id
CONSULTATIONS = [
    ("C1", D(2022, 10, 5), "山形市", "山形県", "山形市", "セキュリティ対策の徹底", None),
    ("C2", D(2022, 11, 10), "山形市", "山形県", "山形市", "調達支援", "E5"),
    ("C3", D(2022, 9, 1), "筑西市", "茨城県", "筑西市", "AI・RPAの利用推進", None),
    ("C4", D(2022, 9, 15), "架空A社", "茨城県", "筑西市", "業務効率化", "E1"),
    ("C5", D(2022, 10, 20), "長野市", "長野県", "長野市", "自治体フロントヤード改革", None),
]
# event_id, name, kind, date, consortium, prefecture, attendees
EVENTS = [
    ("EV1", "DX気づきセミナー（茨城）", "DX気づきセミナー", D(2022, 6, 10), IBARAKI, "茨城県", 40),
    ("EV2", "DXセミナー1（茨城）", "DXセミナー1", D(2022, 7, 8), IBARAKI, "茨城県", 30),
    ("EV3", "DX気づきセミナー（長野）", "DX気づきセミナー", D(2022, 6, 15), NAGANO, "長野県", 55),
    ("EV4", "自治体ビジネス基礎研修", "基礎研修", D(2022, 5, 20), None, None, 120),
    ("EV5", "DXセミナー1（茨城）", "DXセミナー1", D(2021, 11, 1), IBARAKI, "茨城県", 25),
]
TARGETS = [
    (2022, "", "支援企業数", 10), (2022, "", "伴走回数", 100), (2022, "", "DX計画書策定数", 10),
    (2022, "", "セミナー参加者数", 300), (2022, "", "相談件数", 20),
    (2022, IBARAKI, "支援企業数", 5), (2022, IBARAKI, "伴走回数", 50), (2022, IBARAKI, "DX計画書策定数", 5),
    (2022, IBARAKI, "セミナー参加者数", 140),
    (2022, NAGANO, "支援企業数", 4), (2022, NAGANO, "伴走回数", 40), (2022, NAGANO, "DX計画書策定数", 4),
    (2022, NAGANO, "セミナー参加者数", 110),
    (2022, IBARAKI, "金融機関同行率", 50), (2022, NAGANO, "金融機関同行率", 40),
    (2021, IBARAKI, "支援企業数", 1),
]


def fiscal_year_of(d: dt.date) -> int:
    return d.year if d.month >= 4 else d.year - 1


def make_fixture_db(path: Path, *, is_sample: bool = False) -> Path:
    """Schema + the rows above + marts, in a new DuckDB file at ``path``."""
    con = duckdb.connect(str(path))
    try:
        con.execute((SQL_DIR / "schema.sql").read_text(encoding="utf-8"))
        con.executemany("INSERT INTO prefectures (prefecture_code, prefecture, lat, lng) VALUES (?, ?, ?, ?)",
                        [("06", "山形県", 38.24, 140.36), ("08", "茨城県", 36.34, 140.45),
                         ("20", "長野県", 36.65, 138.18)])
        con.executemany("INSERT INTO municipalities (municipality_code, code5, prefecture_code, prefecture, "
                        "municipality, lat, lng) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [("062014", "06201", "06", "山形県", "山形市", 38.25, 140.33),
                         ("082015", "08201", "08", "茨城県", "水戸市", 36.36, 140.47),
                         ("082279", "08227", "08", "茨城県", "筑西市", 36.31, 139.98),
                         ("202011", "20201", "20", "長野県", "長野市", 36.65, 138.18)])
        con.executemany("INSERT INTO stages VALUES (?, ?, ?)", [(i + 1, s, []) for i, s in enumerate(STAGES)])
        con.executemany("INSERT INTO themes (theme_id, theme, audience, sort_order) VALUES (?, ?, ?, ?)",
                        [("C01", "経営ビジョン・DX戦略", "企業", 1), ("C02", "業務効率化", "企業", 2),
                         ("C06", "データ活用", "企業", 6), ("M01", "自治体フロントヤード改革", "自治体", 11),
                         ("M05", "セキュリティ対策の徹底", "自治体", 15), ("M06", "AI・RPAの利用推進", "自治体", 16),
                         ("M10", "調達支援", "自治体", 20)])
        con.executemany("INSERT INTO support_types (support_type, client_type, sort_order) VALUES (?, ?, ?)",
                        [("伴走支援", "企業", 1), ("CIO補佐官", "自治体", 2), ("ITCアドバイザー", "自治体", 3),
                         ("研修", None, 7), ("相談会", None, 8)])
        con.executemany("INSERT INTO consortia (consortium, prefecture, lead_org) VALUES (?, ?, ?)",
                        [(IBARAKI, "茨城県", "ITコーディネータ茨城"), (NAGANO, "長野県", "長野県ITコーディネータ協議会")])
        con.executemany(
            "INSERT INTO engagements (engagement_id, fiscal_year, consortium, support_type, client_name, client_type,"
            " prefecture, prefecture_code, municipality, municipality_code, planned_sessions, status, start_date,"
            " end_date, deliverable, deliverable_date, lead_coordinator) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", ENGAGEMENTS)
        con.executemany(
            "INSERT INTO sessions (engagement_id, session_no, date, fiscal_year, duration_min, stage_no, stage,"
            " stage_original, coordinators, bank_attended, attendees, themes, themes_original, notes) "
            "VALUES (?, ?, ?, ?, 120, ?, ?, ?, ?, ?, 3, ?, ?, ?)",
            [(e, n, d, fiscal_year_of(d), st, STAGES[st - 1], STAGES[st - 1], ["架空ITC一郎"], bank,
              SESSION_THEMES.get((e, n), []), "、".join(SESSION_THEMES.get((e, n), [])),
              f"第{n}回の記録。\n\"引用\", カンマ") for e, n, d, st, bank in SESSIONS])
        con.executemany(
            "INSERT INTO consultations (consultation_id, date, fiscal_year, client_name, prefecture, municipality,"
            " theme, theme_original, channel, engagement_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '相談会', ?)",
            [(c, d, fiscal_year_of(d), cl, p, m, t, t, e) for c, d, cl, p, m, t, e in CONSULTATIONS])
        con.executemany(
            "INSERT INTO events (event_id, name, kind, date, fiscal_year, consortium, prefecture, attendees) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(i, n, k, d, fiscal_year_of(d), c, p, a) for i, n, k, d, c, p, a in EVENTS])
        con.executemany("INSERT INTO targets (fiscal_year, consortium, indicator, target) VALUES (?, ?, ?, ?)",
                        TARGETS)
        con.executemany("INSERT INTO meta VALUES (?, ?)",
                        [("data_as_of", AS_OF.isoformat()), ("is_sample", "true" if is_sample else "false")])
        build_marts(con)
    finally:
        con.close()
    return path


@pytest.fixture(scope="module")
def fixture_db(tmp_path_factory) -> Path:
    return make_fixture_db(tmp_path_factory.mktemp("marts") / "fixture.duckdb")


@pytest.fixture()
def con(fixture_db):
    c = duckdb.connect(str(fixture_db), read_only=True)
    yield c
    c.close()


def test_every_mart_file_becomes_a_table(con):
    names = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    stems = [p.stem for p in mart_files()]
    assert stems == sorted(stems)
    assert {"mart_engagement_progress", "mart_daily_activity", "mart_consultations"} <= set(stems)
    assert set(stems) <= names


def test_build_marts_is_repeatable(tmp_path):
    path = make_fixture_db(tmp_path / "again.duckdb")
    c = duckdb.connect(str(path))
    try:
        assert build_marts(c) == [p.stem for p in mart_files()]
        assert c.execute("SELECT count(*) FROM mart_engagement_progress").fetchone()[0] == len(ENGAGEMENTS)
    finally:
        c.close()


def _progress(con) -> dict[str, dict]:
    df = con.execute("SELECT * FROM mart_engagement_progress").df()
    return {r["engagement_id"]: r for r in df.to_dict("records")}


def test_engagement_progress_known_figures(con):
    p = _progress(con)
    assert len(p) == 6
    e1 = p["E1"]
    assert (e1["sessions_done"], e1["planned_sessions"], e1["current_stage_no"]) == (4, 10, 3)
    assert e1["current_stage"] == "DXシステム構成検討"
    assert e1["last_session_date"].date() == D(2022, 9, 21) if hasattr(e1["last_session_date"], "date") \
        else e1["last_session_date"] == D(2022, 9, 21)
    assert e1["days_since_last_session"] == (AS_OF - D(2022, 9, 21)).days == 90
    assert bool(e1["stalled"]) is True
    assert (e1["bank_sessions"], e1["bank_known_sessions"]) == (2, 3)
    assert e1["progress_ratio"] == pytest.approx(0.4)
    e2 = p["E2"]
    assert (e2["sessions_done"], e2["current_stage_no"], bool(e2["stalled"])) == (10, 7, False)
    e3 = p["E3"]
    assert e3["days_since_last_session"] == (AS_OF - D(2022, 12, 5)).days == 15
    assert bool(e3["stalled"]) is False
    assert p["E4"]["planned_sessions"] == 8 and bool(p["E4"]["stalled"]) is False   # 中止 is never stalled
    # a municipal engagement without planned sessions is not "stalled" for lack of sessions
    assert p["E5"]["sessions_done"] == 0 and bool(p["E5"]["stalled"]) is False
    assert p["E5"]["planned_sessions"] is None or p["E5"]["planned_sessions"] != p["E5"]["planned_sessions"]


def test_stalled_boundary_is_more_than_30_days(tmp_path):
    path = make_fixture_db(tmp_path / "b.duckdb")
    c = duckdb.connect(str(path))
    try:
        # E3's last session becomes exactly 30 days, then 31 days, before the as-of date
        c.execute("UPDATE sessions SET date = date - INTERVAL 90 DAY WHERE engagement_id = 'E3' AND session_no < 6")
        for days, expected in [(30, False), (31, True)]:
            c.execute("UPDATE sessions SET date = ? WHERE engagement_id = 'E3' AND session_no = 6",
                      [AS_OF - dt.timedelta(days=days)])
            build_marts(c)
            got = c.execute("SELECT stalled FROM mart_engagement_progress WHERE engagement_id = 'E3'").fetchone()[0]
            assert got is expected, days
    finally:
        c.close()


def test_daily_activity_totals(con):
    fy22 = con.execute("""
        SELECT sum(sessions), sum(bank_sessions), sum(bank_known_sessions), sum(consultations),
               sum(seminar_attendees), sum(event_attendees)
        FROM mart_daily_activity WHERE fiscal_year = 2022""").fetchone()
    assert fy22 == (22, 7, 21, 5, 125, 245)
    by_pref = dict(con.execute("""SELECT prefecture, sum(sessions) FROM mart_daily_activity
                                  WHERE fiscal_year = 2022 GROUP BY ALL""").fetchall())
    assert by_pref["茨城県"] == 14 and by_pref["長野県"] == 8
    # 基礎研修 counts as 研修, seminars have no support type
    kinds = dict(con.execute("""SELECT coalesce(support_type, '-'), sum(event_attendees) FROM mart_daily_activity
                                WHERE events > 0 AND fiscal_year = 2022 GROUP BY ALL""").fetchall())
    assert kinds == {"研修": 120, "-": 125}


def test_consultations_mart_dimensions(con):
    rows = {r[0]: r[1:] for r in con.execute(
        "SELECT consultation_id, consortium, support_type, client_type FROM mart_consultations").fetchall()}
    assert rows["C4"] == (IBARAKI, "伴走支援", "企業")
    assert rows["C2"] == (None, "ITCアドバイザー", "自治体")
    assert rows["C1"] == (None, "相談会", "自治体")


def test_theme_records_one_row_per_session_and_theme(con):
    # (mart_session_themes, which no page read, is gone; its rows are the sessions' canonical themes here)
    rows = con.execute("""SELECT engagement_id, session_no, theme, theme_id, prefecture
                          FROM mart_theme_records WHERE source = '伴走記録' AND theme <> '未分類'
                          ORDER BY ALL""").fetchall()
    assert rows == [
        ("E1", 1, "業務効率化", "C02", "茨城県"),
        ("E1", 1, "経営ビジョン・DX戦略", "C01", "茨城県"),
        ("E1", 2, "業務効率化", "C02", "茨城県"),
        ("E3", 1, "データ活用", "C06", "長野県"),
    ]


# ── the read-side queries (monitor/sql) on the same fixture ─────────────────

from monitor.read.db import connect_readonly, db_version, meta  # noqa: E402
from monitor.read.filters import Filters  # noqa: E402
from monitor.read.queries import query_names, run_query  # noqa: E402


def _total(df):
    return df[df["is_total"]].iloc[0]


def _by_consortium(df):
    return {r["consortium"]: r for r in df[~df["is_total"]].to_dict("records") if isinstance(r["consortium"], str)}


def test_meta_and_readonly_connection(fixture_db):
    m = meta(fixture_db)
    assert m["data_as_of"] == AS_OF and m["is_sample"] is False
    con = connect_readonly(fixture_db)
    try:
        with pytest.raises(duckdb.Error):
            con.execute("DELETE FROM meta")
    finally:
        con.close()
    assert db_version(fixture_db) and db_version(fixture_db.parent / "missing.duckdb") == ()


def test_kpi_whole_programme(fixture_db):
    # E4 (中止 after 2 of 8 sessions) is a supported company and its plan counts in 予定回数 (indicators.csv)
    t = _total(run_query("kpi", Filters(2022), path=fixture_db))
    assert (t["companies"], t["sessions"], t["planned_sessions"], t["dx_plans"], t["seminar_attendees"],
            t["consultations"], t["bank_sessions"], t["bank_known_sessions"]) == (4, 22, 38, 1, 125, 5, 7, 21)
    assert (t["target_companies"], t["target_sessions"], t["target_consultations"]) == (10, 100, 20)
    assert t["stalled"] == 1
    assert t["target_bank_rate"] == 45          # rates are averaged over the consortia, not summed


def test_kpi_per_consortium_and_prefecture(fixture_db):
    rows = _by_consortium(run_query("kpi", Filters(2022), path=fixture_db))
    ib, na = rows[IBARAKI], rows[NAGANO]
    assert (ib["companies"], ib["sessions"], ib["planned_sessions"], ib["seminar_attendees"], ib["consultations"],
            ib["target_companies"]) == (2, 14, 20, 70, 1, 5)
    assert (na["companies"], na["sessions"], na["planned_sessions"], na["seminar_attendees"], na["consultations"],
            na["target_companies"]) == (2, 8, 18, 55, 0, 4)
    # 都道府県=長野県: the consultations of the prefecture count, targets are 長野's
    t = _total(run_query("kpi", Filters(2022, prefectures=("長野県",)), path=fixture_db))
    assert (t["companies"], t["sessions"], t["consultations"], t["target_companies"], t["target_sessions"]) == \
        (2, 8, 1, 4, 40)
    t = _total(run_query("kpi", Filters(2022, prefectures=("茨城県",)), path=fixture_db))
    assert (t["companies"], t["sessions"], t["consultations"], t["dx_plans"], t["target_companies"]) == \
        (2, 14, 2, 1, 5)
    # a prefecture without a consortium has no target
    t = _total(run_query("kpi", Filters(2022, prefectures=("山形県",)), path=fixture_db))
    assert t["consultations"] == 2 and pd_isna(t["target_companies"])


def pd_isna(v) -> bool:
    import pandas as pd
    return bool(pd.isna(v))


def test_kpi_other_filters(fixture_db):
    # all years: programme target of 2022 + consortium target of 2021 (no programme row that year)
    t = _total(run_query("kpi", Filters(None), path=fixture_db))
    assert (t["companies"], t["sessions"], t["dx_plans"], t["target_companies"]) == (5, 24, 2, 11)
    # 期間: sessions in September 2022 only
    t = _total(run_query("kpi", Filters(2022, date_from=D(2022, 9, 1), date_to=D(2022, 9, 30)), path=fixture_db))
    assert (t["sessions"], t["consultations"], t["seminar_attendees"]) == (5, 2, 0)
    # 支援種別: seminars and unlinked consultations have no 伴走支援 support type
    t = _total(run_query("kpi", Filters(2022, support_types=("伴走支援",)), path=fixture_db))
    assert (t["sessions"], t["consultations"], t["seminar_attendees"]) == (22, 1, 0)
    t = _total(run_query("kpi", Filters(2022, consortia=(NAGANO,)), path=fixture_db))
    assert (t["sessions"], t["consultations"], t["target_sessions"]) == (8, 0, 40)


def test_monthly_activity(fixture_db):
    df = run_query("monthly_activity", Filters(2022, prefectures=("茨城県",)), path=fixture_db)
    got = {m.strftime("%Y-%m"): (s, c, a) for m, s, c, a in
           zip(df["month"], df["sessions"], df["consultations"], df["seminar_attendees"])}
    assert got == {"2022-06": (0, 0, 40), "2022-07": (0, 0, 30), "2022-08": (5, 0, 0), "2022-09": (4, 2, 0),
                   "2022-10": (2, 0, 0), "2022-11": (2, 0, 0), "2022-12": (1, 0, 0)}


def test_stage_funnel(fixture_db):
    df = run_query("stage_funnel", Filters(2022), path=fixture_db)
    got = {(c, n): e for c, n, e in zip(df["consortium"], df["stage_no"], df["engagements"])}
    assert [got[(IBARAKI, n)] for n in range(1, 8)] == [2, 2, 2, 1, 1, 1, 1]
    assert [got[(NAGANO, n)] for n in range(1, 8)] == [2, 1, 1, 1, 0, 0, 0]


def test_engagement_queries(fixture_db):
    df = run_query("engagement_progress_page", Filters(2022), path=fixture_db, only_stalled=True, progress_only=False,
                   max_rows=None, offset=None)
    assert list(df["engagement_id"]) == ["E1"]
    df = run_query("engagement_sessions", Filters(2022), path=fixture_db, max_engagements=2)
    assert df["engagement_id"].unique().tolist() == ["E1", "E2"]     # stalled first, then most recent
    log = run_query("session_log", Filters(), path=fixture_db, engagement_id="E1")
    assert list(log["session_no"]) == [1, 2, 3, 4]
    assert set(log["themes"][0].split("、")) == {"経営ビジョン・DX戦略", "業務効率化"}
    # values are parameters, never pasted: a hostile id is just an id
    assert run_query("session_log", Filters(), path=fixture_db, engagement_id="E1' OR '1'='1").empty


def test_every_query_runs_with_the_standard_filters(fixture_db):
    extra = {"only_stalled": False, "progress_only": False, "max_rows": 50, "offset": 0,
             "max_engagements": 5, "engagement_id": "E1"}
    f = Filters(2022, prefectures=("茨城県",), consortia=(IBARAKI,), date_from=D(2022, 4, 1),
                date_to=D(2023, 3, 31), support_types=("伴走支援",))
    mine = ["filter_choices", "kpi", "monthly_activity", "engagement_progress_page", "stage_funnel",
            "engagement_sessions", "session_log"]
    assert set(mine) <= set(query_names())
    for name in mine:
        run_query(name, f, path=fixture_db, **extra)


def test_a_new_load_is_seen_without_restart(tmp_path):
    path = make_fixture_db(tmp_path / "dx.duckdb")
    before = _total(run_query("kpi", Filters(2022), path=path))["sessions"]
    held = connect_readonly(path)           # a reader holding the old file does not block the replace
    try:
        new = make_fixture_db(tmp_path / "dx.new.duckdb")
        c = duckdb.connect(str(new))
        c.execute("DELETE FROM sessions WHERE engagement_id = 'E2'")
        build_marts(c)
        c.close()
        import os
        os.replace(new, path)
        after = _total(run_query("kpi", Filters(2022), path=path))["sessions"]
    finally:
        held.close()
    assert (before, after) == (22, 12)


def test_consortia_are_listed_in_prefecture_code_order(tmp_path):
    """Consortia come in the order of their home prefecture's code (北海道 … 沖縄), as Japanese lists do, not in
    the order of their names' code points: 沖縄県 (47) sorts before 茨城県 (08) by name."""
    okinawa = "沖縄県DX支援コミュニティ"
    db = make_fixture_db(tmp_path / "okinawa.duckdb")
    con = duckdb.connect(str(db))
    try:
        con.execute("INSERT INTO prefectures (prefecture_code, prefecture, lat, lng) VALUES ('47', '沖縄県', 26.2, 127.7)")
        con.execute(
            "INSERT INTO engagements (engagement_id, fiscal_year, consortium, support_type, client_name, client_type,"
            " prefecture, prefecture_code, planned_sessions, status, start_date) "
            "VALUES ('OK1', 2022, ?, '伴走支援', '架空O社', '企業', '沖縄県', '47', 10, '実施中', ?)",
            [okinawa, D(2022, 8, 1)])
        con.execute("INSERT INTO sessions (engagement_id, session_no, date, fiscal_year, stage_no, stage) "
                    "VALUES ('OK1', 1, ?, 2022, 1, ?)", [D(2022, 8, 1), STAGES[0]])
        build_marts(con)
    finally:
        con.close()
    assert sorted([okinawa, IBARAKI, NAGANO])[0] == okinawa           # the name order this test guards against
    kpi = run_query("kpi", Filters(2022), path=db)
    assert [c for c in kpi[~kpi["is_total"]]["consortium"]] [:3] == [IBARAKI, NAGANO, okinawa]
    assert kpi["consortium"].iloc[-1] is None or pd.isna(kpi["consortium"].iloc[-1])   # コンソーシアム外 last
    funnel = run_query("stage_funnel", Filters(2022), path=db)
    assert list(dict.fromkeys(funnel["consortium"])) == [IBARAKI, NAGANO, okinawa]
    choices = run_query("filter_choices", Filters(), path=db)
    assert choices[choices["kind"] == "consortium"]["value"].tolist() == [IBARAKI, NAGANO, okinawa]
    companies = run_query("report_companies", Filters(2022), path=db, consortium=None)
    assert list(dict.fromkeys(companies["consortium"].dropna())) == [IBARAKI, NAGANO, okinawa]
    with duckdb.connect(str(db), read_only=True) as con:                 # the home: reference list, else engagements
        assert con.execute("SELECT consortium, prefecture, list_order FROM mart_consortia ORDER BY list_order"
                           ).fetchall() == [(IBARAKI, "茨城県", 1), (NAGANO, "長野県", 2), (okinawa, "沖縄県", 3)]
