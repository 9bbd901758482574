"""Figures a METI report can trust, on a record set shaped like real ones (not the sample): a planned engagement that
starts after the last activity, a planned seminar after it, an engagement cancelled after three sessions, one done,
three in progress. The as-of date, 停滞, 経過日数, 支援企業数, 予定回数 and 実施率 on 概要, 伴走支援の進捗 and 報告
equal the glossary's rules computed in tests/support/oracle.py; under a prefecture restriction the as-of date is the scope's."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest

from etl.load import load_files
from monitor.glossary import label
from monitor.read.queries import clear_cache
from monitor.views.report import T_SUMMARY, build_report
from tests.support import oracle
from tests.support.etl_helpers import write_csv
from tests.support.pages import open_page

ROOT = Path(__file__).resolve().parent.parent
APP, PROGRESS, REPORT = (str(ROOT / p) for p in ("app.py", "pages/1_伴走支援の進捗.py", "pages/5_報告.py"))
IBARAKI, NAGANO = "茨城県DX支援コミュニティ", "長野県DX支援コミュニティ"
FY = 2025
D = dt.date
TODAY = dt.date.today()
PLANNED_START = TODAY + dt.timedelta(days=30)     # planned: after every activity, and after the load
PLANNED_SEMINAR = TODAY + dt.timedelta(days=60)
LAST_ACTIVITY = D(2026, 2, 21)                      # E2's last session
NAGANO_LAST = D(2025, 7, 8)                         # the latest activity in 長野県 (E3's last session)

# id, consortium, client, prefecture, municipality, planned, status, start, deliverable, deliverable date
ENGAGEMENTS = [
    ("T1", IBARAKI, "架空一号株式会社", "茨城県", "水戸市", 10, "実施中", D(2025, 9, 20), "", None),
    ("T2", IBARAKI, "架空二号株式会社", "茨城県", "筑西市", 10, "実施中", D(2026, 1, 5), "", None),
    ("T3", NAGANO, "架空三号株式会社", "長野県", "長野市", 10, "中止", D(2025, 6, 1), "", None),
    ("T4", NAGANO, "架空四号株式会社", "長野県", "松本市", 10, "予定", PLANNED_START, "", None),
    ("T5", NAGANO, "架空五号株式会社", "長野県", "上田市", 4, "完了", D(2025, 5, 1), "DX計画書", D(2025, 6, 19)),
    ("T6", NAGANO, "架空六号株式会社", "長野県", "長野市", 10, "実施中", D(2025, 6, 25), "", None),
]
SESSIONS = {
    "T1": [D(2025, 10, 1), D(2025, 10, 15), D(2025, 11, 1)],
    "T2": [D(2026, 1, 10), D(2026, 1, 24), D(2026, 2, 7), LAST_ACTIVITY],
    "T3": [D(2025, 6, 10), D(2025, 6, 24), NAGANO_LAST],
    "T5": [D(2025, 5, 8), D(2025, 5, 22), D(2025, 6, 5), D(2025, 6, 19)],
    "T6": [D(2025, 7, 1)],
}


def write_records(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(folder / "engagements.csv",
              ["案件ID", "年度", "コンソーシアム", "支援種別", "支援先名", "支援先区分", "都道府県", "市区町村", "予定回数",
               "状況", "開始日", "成果物", "成果物完成日", "担当ITC"],
              [[e, FY, c, "伴走支援", name, "企業", pref, muni, planned, status, start.isoformat(), deliv,
                d.isoformat() if d else "", "架空ITC"]
               for e, c, name, pref, muni, planned, status, start, deliv, d in ENGAGEMENTS])
    write_csv(folder / "sessions.csv", ["案件ID", "回", "実施日", "所要時間", "金融機関同行", "段階"],
              [[e, i + 1, d.isoformat(), 120, "有" if i % 2 == 0 else "無", "現状分析"]
               for e, dates in SESSIONS.items() for i, d in enumerate(dates)])
    write_csv(folder / "consultations.csv", ["相談日", "相談元", "都道府県", "市区町村", "相談テーマ"],
              [[D(2025, 12, 5).isoformat(), "水戸市", "茨城県", "水戸市", "セキュリティ対策の徹底"]])
    write_csv(folder / "events.csv", ["イベントID", "名称", "種別", "開催日", "コンソーシアム", "都道府県", "参加者数"],
              [["V1", "DX気づきセミナー（茨城）", "DX気づきセミナー", D(2025, 5, 15).isoformat(), IBARAKI, "茨城県", 30],
               ["V2", "DXセミナー1（長野・予定）", "DXセミナー1", PLANNED_SEMINAR.isoformat(), NAGANO, "長野県", 40]])
    return folder


@pytest.fixture()
def db(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "dx.duckdb"
    report = load_files([write_records(tmp_path / "records")], path)
    assert report.loaded and not report.errors, report.errors[:3]
    monkeypatch.setenv("DX_DB_PATH", str(path))
    monkeypatch.delenv("DX_ALLOWED_PREFECTURES", raising=False)
    clear_cache()
    return path


def _ints(text: str) -> list[int]:
    return [int(x.replace(",", "")) for x in re.findall(r"\d[\d,]*", text)]


def test_the_as_of_date_is_the_latest_activity_that_took_place(db):
    with oracle.connect(db) as con:
        assert oracle.as_of_date(con) == LAST_ACTIVITY
    at = open_page(APP, 年度=str(FY)).run()
    assert not at.exception
    captions = " ".join(c.value for c in at.caption)
    assert "データ基準日: 2026年2月21日" in captions          # not the planned start or the planned seminar


def test_overview_cards_follow_the_glossary(db):
    sel = oracle.Selection(fiscal_year=FY)
    with oracle.connect(db) as con:
        companies, done, cancelled = (oracle.companies(con, sel), oracle.companies(con, sel, "完了"),
                                      oracle.companies(con, sel, "中止"))
        sessions, planned = oracle.sessions(con, sel), oracle.planned_sessions(con, sel)
        planned_engagements = oracle.planned_engagements(con, sel)
        stalled = oracle.stalled(con, LAST_ACTIVITY)
    assert (companies, done, cancelled, planned_engagements) == (5, 1, 1, 1)
    assert (sessions, planned) == (15, 44)                   # the cancelled engagement's plan is in 予定回数
    at = open_page(APP, 年度=str(FY)).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert _ints(metrics[label("companies")]) == [companies]
    assert _ints(metrics["伴走支援 実施回数 / 予定回数"]) == [sessions, planned]
    details = " ".join(c.value for c in at.caption)
    assert f"うち完了 {done}社" in details and f"中止 {cancelled}社" in details and f"予定 {planned_engagements}件" in details
    assert f"実施率 {100 * sessions / planned:.1f}%" in details
    comparison = next(d.value for d in at.dataframe if "項目" in d.value.columns).set_index("項目")  # per consortium
    assert sum(_ints(v)[0] for v in comparison.loc[label("stalled")].tolist()) == len(stalled) == 2


def test_progress_page_stalled_and_days_since(db):
    with oracle.connect(db) as con:
        stalled = oracle.stalled(con, LAST_ACTIVITY)
        days = oracle.days_since_last_session(con, LAST_ACTIVITY)
    assert stalled == {"T1", "T6"}                            # 2 of 3 in progress, not all of them
    at = open_page(PROGRESS, 年度=str(FY)).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[label("stalled")] == f"{len(stalled)}件"
    table = at.dataframe[0].value
    shown = dict(zip(table["案件ID"], table["経過日数"]))
    for eid, d in shown.items():
        assert (None if pd.isna(d) else int(d)) == days[eid], eid
    assert {e for e, flag in zip(table["案件ID"], table["停滞"]) if flag} == stalled


def test_report_summary_follows_the_glossary(db):
    sel = oracle.Selection(fiscal_year=FY)
    summary = build_report(FY, None).tables()[T_SUMMARY].set_index("項目")
    with oracle.connect(db) as con:
        assert summary.loc["支援企業数", "実績"] == oracle.companies(con, sel)
        assert summary.loc["伴走支援 予定回数", "実績"] == oracle.planned_sessions(con, sel)
        assert summary.loc["伴走支援 実施回数", "実績"] == oracle.sessions(con, sel)
        assert summary.loc["DX計画書策定数", "実績"] == oracle.dx_plans(con, sel) == 1
        assert summary.loc["セミナー参加者数", "実績"] == oracle.seminar_attendees(con, sel) == 30


def test_under_a_prefecture_restriction_the_as_of_date_is_the_scopes(db, monkeypatch):
    monkeypatch.setenv("DX_ALLOWED_PREFECTURES", "長野県")
    clear_cache()
    with oracle.connect(db) as con:
        assert oracle.as_of_date(con, prefectures=("長野県",)) == NAGANO_LAST
        stalled = oracle.stalled(con, NAGANO_LAST, prefectures=("長野県",))
        days = oracle.days_since_last_session(con, NAGANO_LAST)
    assert stalled == set()                                   # T6 is 7 days since its session in this scope
    at = open_page(PROGRESS, 年度=str(FY)).run()
    assert not at.exception
    assert "データ基準日: 2025年7月8日" in " ".join(c.value for c in at.caption)
    assert {m.label: m.value for m in at.metric}[label("stalled")] == "0件"
    table = at.dataframe[0].value
    for eid, d in zip(table["案件ID"], table["経過日数"]):
        assert (None if pd.isna(d) else int(d)) == days[eid], eid
    report = build_report(FY, None)
    assert report.data_as_of == NAGANO_LAST
