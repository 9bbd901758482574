"""Pace (issue 15): 年度経過率, status, 前年度同期比 and 着地見込み on 概要's cards, the alerts (page and `etl alerts`) and
報告's narrative, on a two-year record set of its own (a consortium ahead, one behind and late with its data),
against an independent computation of the glossary's rules (data/reference/indicators.csv)."""
from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from etl.load import load_files
from monitor import pace
from monitor.read.queries import clear_cache
from monitor.views.report import T_MONTHLY, T_SUMMARY, build_report
from tests.support import oracle
from tests.support.etl_helpers import write_csv
from tests.support.pages import open_page

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
IBARAKI, NAGANO = "茨城県DX支援コミュニティ", "長野県DX支援コミュニティ"
D = dt.date
AS_OF = D(2025, 10, 31)                  # the latest activity: 茨城's last session
FY = 2025


# ── the rules as pure functions ──────────────────────────────────────────────────────────────────────────

@pytest.mark.parametrize("fy, as_of, expected", [
    (2025, D(2025, 4, 1), 1 / 365), (2025, D(2025, 10, 31), 214 / 365), (2025, D(2026, 3, 31), 1.0),
    (2023, D(2024, 3, 31), 1.0), (2023, D(2023, 9, 30), 183 / 366), (2025, D(2025, 3, 31), 0.0),
    (2025, D(2027, 1, 1), 1.0), (2025, None, None),
])
def test_elapsed_share(fy, as_of, expected):
    got = pace.elapsed_share(fy, as_of)
    assert got == expected if expected is None else abs(got - expected) < 1e-12


@pytest.mark.parametrize("d, expected", [(D(2025, 10, 31), D(2024, 10, 31)), (D(2024, 2, 29), D(2023, 2, 28))])
def test_same_day_last_year(d, expected):
    assert pace.same_day_last_year(d) == expected


@pytest.mark.parametrize("projected, target, ended, expected", [
    (100, 100, False, "on"), (95, 100, False, "watch"), (90, 100, False, "watch"), (89.9, 100, False, "behind"),
    (100, 100, True, "done"), (99, 100, True, "missed"), (50, None, False, None), (None, 10, False, None),
])
def test_status(projected, target, ended, expected):
    assert pace.status(projected, target, ended) == expected


def test_projection_and_year_over_year():
    p = pace.projection(20, 0.5, prev_same_days=10, prev_total=40)    # pace 40; last year: 25 % by now → 80
    assert (p.value, p.low, p.high, p.methods) == (60, 40, 80, ("pace", "profile"))
    p = pace.projection(20, 0.5, None, None)
    assert (p.value, p.low, p.high, p.methods) == (40, 40, 40, ("pace",))
    assert pace.projection(20, 1.0, 10, 40).value == 20                # a year that has ended: its actual
    assert pace.projection(20, 0.0, 10, 40) is None
    assert pace.year_over_year(30, 20) == 1.5 and pace.year_over_year(30, None) is None


# ── a two-year record set ────────────────────────────────────────────────────────────────────────────────

def _every(start: dt.date, n: int, step: int = 14) -> list[dt.date]:
    return [start + dt.timedelta(days=step * i) for i in range(n)]


# id, fy, consortium, client, prefecture, status, planned, session dates
ENGAGEMENTS = [
    # 2024: 茨城 three companies (30 sessions), 長野 two (20)
    ("A24-1", 2024, IBARAKI, "架空茨城一", "茨城県", "完了", 10, _every(D(2024, 6, 1), 10)),
    ("A24-2", 2024, IBARAKI, "架空茨城二", "茨城県", "完了", 10, _every(D(2024, 9, 1), 10)),
    ("A24-3", 2024, IBARAKI, "架空茨城三", "茨城県", "完了", 10, _every(D(2024, 11, 1), 10)),
    ("N24-1", 2024, NAGANO, "架空長野一", "長野県", "完了", 10, _every(D(2024, 5, 1), 10)),
    ("N24-2", 2024, NAGANO, "架空長野二", "長野県", "完了", 10, _every(D(2024, 7, 1), 10)),
    # 2025 (to 31 October): 茨城 ahead — four companies, 24 sessions; 長野 behind — one company, three sessions,
    # the last on 15 July (stalled, and nothing new from 長野 for more than 45 days)
    ("A25-1", 2025, IBARAKI, "架空茨城一", "茨城県", "実施中", 10, _every(D(2025, 6, 1), 6)),
    ("A25-2", 2025, IBARAKI, "架空茨城四", "茨城県", "実施中", 10, _every(D(2025, 7, 1), 6)),
    ("A25-3", 2025, IBARAKI, "架空茨城五", "茨城県", "実施中", 10, _every(D(2025, 8, 1), 6)),
    ("A25-4", 2025, IBARAKI, "架空茨城六", "茨城県", "実施中", 10, _every(D(2025, 8, 22), 5) + [AS_OF]),
    ("N25-1", 2025, NAGANO, "架空長野三", "長野県", "実施中", 10, [D(2025, 6, 17), D(2025, 7, 1), D(2025, 7, 15)]),
]
TARGETS = [(FY, c, ind, v) for c in (IBARAKI, NAGANO) for ind, v in (("支援企業数", 4), ("伴走回数", 40))]


@pytest.fixture()
def db(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "records"
    folder.mkdir()
    write_csv(folder / "engagements.csv",
              ["案件ID", "年度", "コンソーシアム", "支援種別", "支援先名", "支援先区分", "都道府県", "予定回数", "状況",
               "開始日"],
              [[e, fy, c, "伴走支援", name, "企業", pref, planned, status, dates[0].isoformat()]
               for e, fy, c, name, pref, status, planned, dates in ENGAGEMENTS])
    write_csv(folder / "sessions.csv", ["案件ID", "回", "実施日", "金融機関同行"],
              [[e, i + 1, d.isoformat(), "有" if i % 3 == 0 else "無"]
               for e, *_rest, dates in ENGAGEMENTS for i, d in enumerate(dates)])
    write_csv(folder / "targets.csv", ["年度", "コンソーシアム", "指標", "目標値"], [list(t) for t in TARGETS])
    path = tmp_path / "pace.duckdb"          # not dx.duckdb: sample_db copies the sample there
    report = load_files([folder], path)
    assert report.loaded and not report.errors, report.errors[:3]
    monkeypatch.setenv("DX_DB_PATH", str(path))
    monkeypatch.delenv("DX_ALLOWED_PREFECTURES", raising=False)
    clear_cache()
    return path


def _sessions_to(con, consortium, fy, cutoff=None) -> int:
    sql = ("SELECT count(*) FROM sessions s JOIN engagements e USING (engagement_id) WHERE e.consortium = $c "
           "AND year(s.date - INTERVAL 3 MONTH) = $fy" + (" AND s.date <= $cut" if cutoff else ""))
    return con.execute(sql, {"c": consortium, "fy": fy} | ({"cut": cutoff} if cutoff else {})).fetchall()[0][0]


def _expected_pace(con, consortium: str | None) -> dict:
    """年度経過率, 前年度同期比, 着地見込み and status of 伴走支援 実施回数, computed here from the rules' text."""
    consortia = [consortium] if consortium else [IBARAKI, NAGANO]
    now = sum(_sessions_to(con, c, FY, AS_OF) for c in consortia)
    prev_same = sum(_sessions_to(con, c, FY - 1, D(2024, 10, 31)) for c in consortia)
    prev_total = sum(_sessions_to(con, c, FY - 1) for c in consortia)
    elapsed = ((AS_OF - D(2025, 4, 1)).days + 1) / ((D(2026, 3, 31) - D(2025, 4, 1)).days + 1)
    by_pace, by_profile = now / elapsed, now / (prev_same / prev_total)
    projected = (by_pace + by_profile) / 2
    target = 40 * len(consortia)
    ratio = projected / target
    return {"now": now, "prev_same": prev_same, "elapsed": elapsed, "yoy": now / prev_same,
            "projected": projected, "low": min(by_pace, by_profile), "high": max(by_pace, by_profile),
            "status": "順調" if ratio >= 1 else "注意" if ratio >= 0.9 else "遅れ"}


def _card(at, label: str) -> str:
    """The text under the cards (status words, details, 前年度同期比, 着地見込み). The sessions card is the one whose
    figures end in 回, which the assertions name."""
    assert label in [m.label for m in at.metric]
    return " ".join([m.value for m in at.markdown] + [c.value for c in at.caption])


@pytest.mark.parametrize("consortium", [IBARAKI, NAGANO, None])
def test_cards_show_pace_against_an_independent_computation(db, consortium):
    with oracle.connect(db) as con:
        exp = _expected_pace(con, consortium)
        assert oracle.as_of_date(con) == AS_OF
    query = {"年度": str(FY)} | ({"コンソーシアム": consortium} if consortium else {})
    at = open_page(APP, **query).run()
    assert not at.exception
    line = " ".join(m.value for m in at.markdown if "年度経過率" in m.value)
    assert f"年度経過率 {exp['elapsed'] * 100:.1f}%" in line
    card = _card(at, "伴走支援 実施回数 / 予定回数")
    assert f"前年度同期比 {exp['yoy'] * 100:.1f}%（前年度同期 {exp['prev_same']:,}回）" in card
    assert f"着地見込み {round(exp['projected']):,}回" in card
    if round(exp["low"]) != round(exp["high"]):
        assert f"（{round(exp['low']):,}〜{round(exp['high']):,}回）" in card
    assert f"● {exp['status']}" in card
    if consortium == IBARAKI:
        assert exp["status"] == "順調" and "目標達成の見込み" in card
    if consortium == NAGANO:
        assert exp["status"] == "遅れ" and "目標に届かない見込み" in card and "伴走支援 実施回数" in line


def test_the_partial_year_is_compared_with_the_same_days(db):
    """前年度同期 counts 2024's sessions up to 31 October 2024, never the whole of 2024."""
    with oracle.connect(db) as con:
        exp = _expected_pace(con, None)
        whole = _sessions_to(con, IBARAKI, 2024) + _sessions_to(con, NAGANO, 2024)
    assert exp["prev_same"] < whole
    at = open_page(APP, 年度=str(FY)).run()
    card = _card(at, "伴走支援 実施回数 / 予定回数")
    assert f"前年度同期 {exp['prev_same']:,}回" in card and f"前年度同期 {whole:,}回" not in card


def test_alerts_cli_formats_and_exit_codes(db):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "etl", "alerts", "--db", str(db), *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
    r = run()
    assert r.returncode == 1, r.stderr
    assert "データ基準日: 2025年10月31日" in r.stdout
    assert "架空長野三" in r.stdout                                   # stalled (last session 15 July)
    assert f"{NAGANO}｜伴走支援 実施回数: 遅れ" in r.stdout            # projected below target
    assert "データが届いていない" in r.stdout and f"- {NAGANO}: 最新の記録 2025年7月15日" in r.stdout
    assert IBARAKI + "｜伴走支援 実施回数" not in r.stdout               # ahead: no alert
    data = json.loads(run("--format", "json").stdout)
    kinds = [a["kind"] for a in data["alerts"]]
    assert set(kinds) == {"below_target", "stale", "stalled"} and data["data_as_of"] == "2025-10-31"
    assert kinds.count("stale") == 1 and {a["consortium"] for a in data["alerts"] if a["kind"] != "stalled"} == {NAGANO}
    rows = run("--format", "csv").stdout.splitlines()
    assert rows[0] == "種類,コンソーシアム,対象,内容" and len(rows) == 1 + len(kinds)
    r = run("--consortium", IBARAKI)        # ahead and sending data: only its stalled engagements
    assert r.returncode == 1 and "目標に届かない見込み" not in r.stdout and "データが届いていない" not in r.stdout
    r = run("--consortium", IBARAKI, "--as-of", "2025-08-15")
    assert r.returncode == 0 and "アラートはありません" in r.stdout
    r = run("--as-of", "2025-13-40")
    assert r.returncode == 2 and "読めません" in r.stderr and "Traceback" not in r.stderr


def test_alerts_on_the_overview(db):
    at = open_page(APP, 年度=str(FY)).run()
    table = next(d.value for d in at.dataframe if "種類" in d.value.columns)
    assert set(table["種類"]) == {"目標に届かない見込み", "データが届いていない"}
    assert NAGANO in set(table["コンソーシアム"]) and IBARAKI not in set(table["コンソーシアム"])
    # every column, 内容 included, within the main area at 1,024 px (内容 scrolled sideways); rows wrap
    from monitor.render.overview import ALERT_COLUMNS  # noqa: PLC0415
    from monitor.ui import MAIN_AREA_AT_1024_PX, wrapped_table_args  # noqa: PLC0415
    assert list(ALERT_COLUMNS) == list(table.columns)
    assert sum(ALERT_COLUMNS[c]["width"] for c in table.columns) <= MAIN_AREA_AT_1024_PX
    assert wrapped_table_args(ALERT_COLUMNS, len(table))["row_height"] > 64        # Streamlit wraps above 4rem


def _numbers(text: str) -> list[float]:
    return [float(x.replace(",", "")) for x in re.findall(r"\d[\d,]*(?:\.\d+)?", text)]


@pytest.mark.parametrize("where", ["own", "sample"])
def test_the_narrative_numbers_are_the_tables(db, sample_db, where):
    path = db if where == "own" else sample_db
    fy = FY if where == "own" else 2024
    for consortium in (None, IBARAKI):
        report = build_report(fy, consortium, path=path)
        summary = report.tables()[T_SUMMARY].set_index("項目")
        table_numbers = {float(v) for v in summary[["実績", "目標", "達成率（%）"]].stack().dropna().tolist()}
        table_numbers |= {float(report.tables()[T_MONTHLY]["金融機関同行回数"].sum())}
        table_numbers |= {float(fy), float(fy - 2018)}                          # 令和N年度（YYYY年度）
        text = report.narrative
        assert text and all(n in table_numbers for n in _numbers(text)), (text, table_numbers)
        assert f"{int(summary.loc['支援企業数', '実績'])}社" in text
        assert f"計{int(summary.loc['伴走支援 実施回数', '実績'])}回" in text
