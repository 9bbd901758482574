"""Marts on a small hand-made database whose figures are known (tests/support/fixture_db.py)."""
from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import etl.marts as marts
from etl.kinds import LOAD_ORDER
from etl.marts import MART_ORDER, MARTS_DIR, build_marts, mart_files
from etl.prepare import STAGING_DIR, STAGING_SCRIPTS
from tests.support import oracle
from tests.support.fixture_db import AS_OF, ENGAGEMENTS, IBARAKI, NAGANO, STAGES, D, make_fixture_db


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
    assert stems == list(MART_ORDER)      # built in the stated order, not by file name
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


def test_every_mart_file_is_in_the_stated_order_and_reads_only_marts_built_before_it():
    files = {p.stem for p in MARTS_DIR.glob("*.sql")}
    assert files == set(MART_ORDER) and len(MART_ORDER) == len(set(MART_ORDER))
    for i, name in enumerate(MART_ORDER):
        sql = re.sub(r"--[^\n]*", "", (MARTS_DIR / f"{name}.sql").read_text(encoding="utf-8"))
        read = set(re.findall(r"\bmart_[a-z0-9_]+\b", sql)) & files
        assert read <= set(MART_ORDER[:i]), f"{name} reads {sorted(read - set(MART_ORDER[:i]))}, built after it"


def test_a_mart_file_missing_from_the_stated_order_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "marts"
    folder.mkdir()
    for name in MART_ORDER:
        (folder / f"{name}.sql").write_text("SELECT 1", encoding="utf-8")
    (folder / "mart_new.sql").write_text("SELECT 1", encoding="utf-8")
    assert [p.stem for p in mart_files(folder)] == [*MART_ORDER, "mart_new"]     # a test's folder: after the listed
    monkeypatch.setattr(marts, "MARTS_DIR", folder)
    with pytest.raises(ValueError, match="mart_new"):
        marts.mart_files(folder)


def test_every_staging_file_runs_in_the_stated_order():
    files = {p.name for p in STAGING_DIR.glob("*.sql")}
    assert files == set(STAGING_SCRIPTS) | {f"stg_{k}.sql" for k in LOAD_ORDER}


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


# Every query in monitor/sql and the columns the pages, the report and the alerts read from its result.
QUERY_COLUMNS = {
    "alerts_stalled": {"client_name", "consortium", "days_since_last_session", "engagement_id", "last_session_date",
                       "total_rows"},
    "consortium_freshness": {"consortium", "last_activity_date"},
    "data_as_of": {"as_of_date"},
    "engagement_progress_page": {"as_of_date", "bank", "bank_known_sessions", "bank_rate", "bank_sessions",
                                 "client_name", "client_type", "consortium", "current_stage", "current_stage_no",
                                 "days_since_last_session", "deliverable", "deliverable_date", "end_date",
                                 "engagement_id", "first_session_date", "fiscal_year", "last_session_date",
                                 "lead_coordinator", "municipality", "municipality_code", "planned_sessions",
                                 "prefecture", "progress_ratio", "sessions_done", "stalled", "start_date", "status",
                                 "support_type", "total_rows"},
    "engagement_progress_summary": {"as_of_date", "completed", "engagements", "in_progress", "stalled",
                                    "with_sessions"},
    "engagement_sessions": {"bank_attended", "client_name", "consortium", "date", "engagement_id", "session_no",
                            "stage", "stage_no", "stalled"},
    "filter_choices": {"kind", "ord", "value"},
    "kpi": {"bank_known_sessions", "bank_rate", "bank_sessions", "companies", "companies_cancelled",
            "companies_completed", "consortium", "consultations", "dx_plans", "engagements", "is_total",
            "planned_engagements", "planned_sessions", "seminar_attendees", "sessions", "stalled", "target_bank_rate",
            "target_companies", "target_consultations", "target_dx_plans", "target_seminar_attendees",
            "target_sessions"},
    "kpi_pace": {"companies", "companies_prev_same", "companies_prev_total", "consortium", "consultations",
                 "consultations_prev_same", "consultations_prev_total", "dx_plans", "dx_plans_prev_same",
                 "dx_plans_prev_total", "is_total", "seminar_attendees", "seminar_attendees_prev_same",
                 "seminar_attendees_prev_total", "sessions", "sessions_prev_same", "sessions_prev_total"},
    "map_municipality_consultations": {"channel", "client_name", "consultation_id", "coordinator", "date",
                                       "department", "summary", "theme", "theme_original", "total_rows"},
    "map_municipality_engagements": {"client_name", "client_type", "consortium", "end_date", "engagement_id",
                                     "fiscal_year", "last_session_date", "lead_coordinator", "planned_sessions",
                                     "sessions_done", "start_date", "status", "support_type"},
    "map_points": {"client_category", "consultations", "engagements", "lat", "lng", "municipality",
                   "municipality_code", "prefecture", "prefecture_code", "sessions"},
    "map_prefectures": {"consultations", "engagements", "prefecture", "prefecture_code", "sessions"},
    "monthly_activity": {"bank_sessions", "consultations", "event_attendees", "month", "seminar_attendees",
                         "sessions"},
    "report_companies": {"bank", "bank_sessions", "client_name", "client_type", "consortium", "current_stage",
                         "end_date", "engagement_id", "industry", "lead_coordinator", "municipality", "plan_date",
                         "planned_sessions", "progress_pct", "sessions", "start_date", "status"},
    "report_events": {"applicants", "attendees", "category", "companies", "events", "first_date", "kind",
                      "last_date"},
    "report_monthly": {"bank_rate_pct", "bank_sessions", "cumulative_sessions", "month", "sessions"},
    "report_municipalities": {"consultations", "engagements", "municipality", "municipality_code", "prefecture",
                              "support_types", "trainees", "trainings"},
    "report_programme": {"engagements", "programme"},
    "report_summary": {"actual", "item", "ord", "rate_pct", "section", "target", "unit"},
    "report_themes": {"audience", "consultations", "share_pct", "theme"},
    "session_log": {"attendees", "bank_attended", "coordinators", "date", "duration_min", "notes", "session_no",
                    "stage", "stage_no", "themes"},
    "stage_funnel": {"consortium", "engagements", "stage", "stage_no"},
    "theme_counts": {"audience", "consultations", "records", "sessions", "share", "theme", "theme_id",
                     "theme_sort_order"},
    "theme_heatmap": {"area", "area_order", "records", "theme", "theme_sort_order"},
    "theme_records": {"client_name", "date", "engagement_id", "municipality", "original_text", "prefecture",
                      "record_id", "source", "summary", "total_rows"},
    "theme_trend": {"consultations", "period", "records", "sessions", "theme", "theme_sort_order"},
}


@pytest.fixture(params=["fixture", "sample"])
def any_db(request, fixture_db) -> Path:
    """The hand-made fixture and the loaded sample (both read only here)."""
    return fixture_db if request.param == "fixture" else request.getfixturevalue("sample_db_master")


def test_every_query_runs_with_the_standard_filters(any_db):
    sql_files = {p.stem for p in (Path(__file__).resolve().parents[1] / "monitor" / "sql").glob("*.sql")
                 if not p.stem.startswith("_")}                       # _macros.sql is the macros, not a query
    assert set(QUERY_COLUMNS) == sql_files
    assert sql_files <= set(query_names())
    extra = {"only_stalled": False, "progress_only": False, "max_rows": 50, "offset": 0,
             "max_engagements": 5, "engagement_id": "E1", "as_of": AS_OF, "cutoff": AS_OF,
             "prev_cutoff": D(2021, 12, 20), "grain": "month", "by_municipality": False, "theme": "業務効率化",
             "municipality_code": "082279", "consortium": IBARAKI}
    f = Filters(2022, prefectures=("茨城県",), consortia=(IBARAKI,), date_from=D(2022, 4, 1),
                date_to=D(2023, 3, 31), support_types=("伴走支援",))
    results = {}
    for name in sorted(sql_files):
        df = run_query(name, f, path=any_db, **extra)
        missing = QUERY_COLUMNS[name] - set(df.columns)
        assert not missing, f"{name}: no column {sorted(missing)}"
        results[name] = df
    # where an independent number is cheap, the result's size or figure equals it (plain SQL on the record tables)
    with duckdb.connect(str(any_db), read_only=True) as con:
        e1_sessions = con.execute("SELECT count(*) FROM sessions WHERE engagement_id = 'E1'").fetchall()[0][0]
        prefectures = {r[0] for r in con.execute(
            "SELECT prefecture FROM engagements WHERE prefecture IS NOT NULL UNION "
            "SELECT prefecture FROM consultations WHERE prefecture IS NOT NULL UNION "
            "SELECT prefecture FROM events WHERE prefecture IS NOT NULL").fetchall()}
    assert len(results["session_log"]) == e1_sessions
    with oracle.connect(any_db) as con:                                # the latest activity (no restriction here)
        assert pd.Timestamp(results["data_as_of"]["as_of_date"].iloc[0]).date() == oracle.as_of_date(con)
    assert set(results["filter_choices"].query("kind == 'prefecture'")["value"]) == prefectures
    assert len(results["stage_funnel"]) % 7 == 0                       # seven stages per consortium shown
    for name in ("alerts_stalled", "engagement_progress_page", "map_municipality_consultations", "theme_records"):
        df = results[name]
        assert df.empty or (len(df) <= 50 and (df["total_rows"] >= len(df)).all()), name
    # the KPI totals equal the glossary's rules (tests/support/oracle.py) for the same selection
    sel = oracle.Selection(fiscal_year=2022, prefecture="茨城県", consortium=IBARAKI, date_from=D(2022, 4, 1),
                           date_to=D(2023, 3, 31))
    total = _total(run_query("kpi", Filters(2022, prefectures=("茨城県",), consortia=(IBARAKI,),
                                            date_from=D(2022, 4, 1), date_to=D(2023, 3, 31)), path=any_db))
    with oracle.connect(any_db) as con:
        assert (total["companies"], total["sessions"], total["consultations"]) == (
            oracle.companies(con, sel), oracle.sessions(con, sel), oracle.consultations(con, sel))
    # the months add up to the year's total under the standard filters
    assert results["monthly_activity"]["sessions"].sum() == _total(results["kpi"])["sessions"]


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
