"""データ基準日 (the as-of date) on a record set of our own: the latest activity that took place (sessions,
consultations, events dated up to the day of the load); planned engagements and planned seminars never move it; a
steward may state it (python -m etl load --as-of, the データ取込 field); activity after it is a warning.
Expected values are computed here from the rows written, not read from the loader."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from etl.load import load_files
from tests.support.etl_helpers import query, sha256, write_csv
from tests.support.pages import INTAKE_PAGE, run_page

ROOT = Path(__file__).resolve().parent.parent
TODAY = dt.date.today()
LAST_SESSION = dt.date(2024, 5, 20)
LAST_CONSULTATION = dt.date(2024, 6, 10)
PAST_SEMINAR = dt.date(2024, 6, 1)
PLANNED_START = TODAY + dt.timedelta(days=30)        # a planned engagement starting after the last activity
PLANNED_SEMINAR = TODAY + dt.timedelta(days=20)      # a planned seminar after it
LATE_START = dt.date(2024, 9, 1)                     # 予定 engagement, start in the past but after the activity

ENG_HEADER = ["案件ID", "年度", "支援種別", "支援先名", "支援先区分", "都道府県", "市区町村", "開始日", "状況", "予定回数"]


def write_records(folder: Path, future_session: bool = False) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    sessions = [["E-1", "1", "2024-04-22"], ["E-1", "2", LAST_SESSION.strftime("%Y/%m/%d")],
                ["E-2", "1", "2024-04-25"]]
    if future_session:
        sessions.append(["E-1", "3", (TODAY + dt.timedelta(days=7)).isoformat()])
    return {
        "engagements": write_csv(folder / "支援案件.csv", ENG_HEADER, [
            ["E-1", "2024", "伴走支援", "架空一株式会社", "企業", "茨城県", "筑西市", "2024-04-15", "実施中", "10"],
            ["E-2", "2024", "伴走支援", "架空二株式会社", "企業", "茨城県", "水戸市", "2024-04-18", "中止", "10"],
            ["E-3", "2024", "伴走支援", "架空三株式会社", "企業", "長野県", "松本市", PLANNED_START.isoformat(), "予定", "10"],
            ["E-4", "2024", "伴走支援", "架空四株式会社", "企業", "長野県", "長野市", LATE_START.isoformat(), "予定", "10"],
        ]),
        "sessions": write_csv(folder / "伴走記録.csv", ["案件ID", "回", "実施日"], sessions),
        "consultations": write_csv(folder / "相談記録.csv", ["相談ID", "相談日", "相談元", "都道府県", "相談テーマ"], [
            ["C-1", "2024-05-01", "筑西市", "茨城県", "情報システムの標準化・共通化"],
            ["C-2", f"令和6年{LAST_CONSULTATION.month}月{LAST_CONSULTATION.day}日", "筑西市", "茨城県", "セキュリティ対策の徹底"],
        ]),
        "events": write_csv(folder / "セミナー・研修.csv", ["イベントID", "名称", "種別", "開催日", "参加者数"], [
            ["S-1", "DX気づきセミナー（架空）", "DX気づきセミナー", PAST_SEMINAR.isoformat(), "30"],
            ["S-2", "DXセミナー1（架空・予定）", "DXセミナー1", PLANNED_SEMINAR.isoformat(), ""],
        ]),
    }


def meta(db: Path) -> dict[str, str]:
    return dict(query(db, "SELECT key, value FROM meta"))


def expected_as_of(db: Path) -> dt.date:
    """The glossary's rule computed independently over the stored records."""
    return query(db, """SELECT max(d) FROM (SELECT date AS d FROM sessions UNION ALL SELECT date FROM consultations
                        UNION ALL SELECT date FROM events) WHERE d <= ?""", [TODAY])[0][0]


def test_planned_records_never_move_the_as_of_date(tmp_path):
    files = write_records(tmp_path / "in")
    db = tmp_path / "dx.duckdb"
    report = load_files(list(files.values()), db)
    assert report.loaded and report.errors == []
    assert expected_as_of(db) == LAST_CONSULTATION
    assert meta(db)["data_as_of"] == LAST_CONSULTATION.isoformat()
    assert meta(db)["data_as_of_source"] == "activity"
    assert (report.as_of, report.as_of_source) == (LAST_CONSULTATION, "activity")
    # the engagement start dates (planned, and one after the activity) are later: they did not count
    assert query(db, "SELECT max(start_date) FROM engagements")[0][0] == PLANNED_START > LAST_CONSULTATION
    # the planned seminar after the as-of date is a warning, and it loads
    warned = [(p.file_name, p.row, p.column, p.value) for p in report.problems if p.severity == "warning"]
    assert warned == [("セミナー・研修.csv", 3, "開催日", PLANNED_SEMINAR.isoformat())]
    assert query(db, "SELECT count(*) FROM events")[0][0] == 2


def test_the_mart_counts_days_and_stalls_from_the_as_of_date(tmp_path):
    files = write_records(tmp_path / "in")
    db = tmp_path / "dx.duckdb"
    load_files(list(files.values()), db)
    rows = dict((r[0], r[1:]) for r in query(
        db, "SELECT engagement_id, days_since_last_session, stalled FROM mart_engagement_progress"))
    # E-1 (実施中): last session 2024-05-20, as-of 2024-06-10 → 21 days, not stalled (≤ 30)
    assert rows["E-1"] == ((LAST_CONSULTATION - LAST_SESSION).days, False)
    assert rows["E-1"][0] == 21


@pytest.mark.parametrize("text", ["2024-05-10", "2024/5/10", "令和6年5月10日", "R6.5.10"])
def test_stated_as_of_date_in_every_date_form(tmp_path, text):
    files = write_records(tmp_path / "in")
    db = tmp_path / "dx.duckdb"
    result = subprocess.run([sys.executable, "-m", "etl", "load", *map(str, files.values()), "--db", str(db),
                             "--as-of", text], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (meta(db)["data_as_of"], meta(db)["data_as_of_source"]) == ("2024-05-10", "stated")
    assert "データ基準日: 2024-05-10（指定）" in result.stdout
    # sessions and consultations after the stated date are warnings naming file, row, column and value
    assert "注意: 伴走記録.csv 「実施日」: データ基準日（2024-05-10）より後の日付です" in result.stdout
    assert "（値: 2024/05/20）" in result.stdout
    assert "注意: 相談記録.csv 「相談日」: データ基準日（2024-05-10）より後の日付です" in result.stdout
    days = query(db, "SELECT days_since_last_session FROM mart_engagement_progress WHERE engagement_id = 'E-1'")[0][0]
    assert days == (dt.date(2024, 5, 10) - LAST_SESSION).days           # the mart reads the stated date


def test_a_stated_date_holds_for_its_load_only(tmp_path):
    files = write_records(tmp_path / "in")
    db = tmp_path / "dx.duckdb"
    load_files(list(files.values()), db, as_of=dt.date(2024, 3, 31))
    assert meta(db)["data_as_of"] == "2024-03-31"
    load_files([files["events"]], db)                                  # the next load, no date stated
    assert (meta(db)["data_as_of"], meta(db)["data_as_of_source"]) == (LAST_CONSULTATION.isoformat(), "activity")


def test_a_session_after_the_as_of_date_is_a_warning_not_an_error(tmp_path):
    files = write_records(tmp_path / "in", future_session=True)
    db = tmp_path / "dx.duckdb"
    report = load_files(list(files.values()), db)
    assert report.loaded and report.exit_code == 0 and report.errors == []
    future = (TODAY + dt.timedelta(days=7)).isoformat()
    [w] = [p for p in report.problems if p.severity == "warning" and p.kind == "sessions"]
    assert (w.file_name, w.row, w.column, w.value) == ("伴走記録.csv", 5, "実施日", future)
    assert w.reason == (f"データ基準日（{LAST_CONSULTATION.isoformat()}）より後の日付です（取り込みます。"
                        "データ基準日は取込日までに実施した活動の最新日のままです）")
    assert meta(db)["data_as_of"] == LAST_CONSULTATION.isoformat() == expected_as_of(db).isoformat()
    assert query(db, "SELECT count(*) FROM sessions")[0][0] == 4


def test_rejected_rows_do_not_count(tmp_path):
    files = write_records(tmp_path / "in")
    later = write_csv(tmp_path / "相談記録_追加.csv", ["相談ID", "相談日", "相談元", "都道府県", "相談テーマ"],
                      [["C-9", "2024-08-01", "筑西市", "架空県", "セキュリティ"]])          # rejected: prefecture
    db = tmp_path / "dx.duckdb"
    report = load_files([*files.values(), later], db, accept_valid=True)
    assert report.loaded and len(report.errors) == 1
    assert report.as_of == LAST_CONSULTATION == dt.date.fromisoformat(meta(db)["data_as_of"])


@pytest.mark.parametrize("text,message", [
    ("令和6年2月30日", "存在しない日付です（2024年2月は29日まで）"),
    ("来月", "日付として読めません"),
])
def test_an_unreadable_stated_date_exits_2_and_writes_nothing(tmp_path, text, message):
    files = write_records(tmp_path / "in")
    db = tmp_path / "dx.duckdb"
    result = subprocess.run([sys.executable, "-m", "etl", "load", str(files["engagements"]), "--db", str(db),
                             "--as-of", text], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert f"--as-of「{text}」: {message}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not db.exists()


# ── データ取込 (AppTest): the same rule through the page ──────────────────────────────────────

def _intake_page(db: Path, monkeypatch):
    monkeypatch.setenv("DX_DB_PATH", str(db))
    return run_page(INTAKE_PAGE)


def _upload(at, files: dict[str, Path]):
    at.file_uploader(key="intake_files").set_value([(p.name, p.read_bytes(), "text/csv") for p in files.values()])
    at.run()
    assert not at.exception, at.exception


def test_page_field_states_the_as_of_date(tmp_path, monkeypatch):
    files = write_records(tmp_path / "in")
    db = tmp_path / "dx.duckdb"
    at = _intake_page(db, monkeypatch)
    at.text_input(key="intake_as_of").input("令和6年5月10日").run()
    _upload(at, files)
    assert any("データ基準日: 2024年5月10日（指定した日付）" in c.value for c in at.caption)
    problems = next(d.value for d in at.dataframe if "理由" in d.value.columns)
    late = problems[problems["理由"].str.startswith("データ基準日（2024-05-10）より後の日付です")]
    assert set(zip(late["ファイル"], late["列"], late["値"])) >= {("伴走記録.csv", "実施日", "2024/05/20")}
    assert set(late["区分"]) == {"注意（取り込みます）"}
    at.button(key="intake_load").click().run()
    assert not at.exception, at.exception
    assert (meta(db)["data_as_of"], meta(db)["data_as_of_source"]) == ("2024-05-10", "stated")
    assert any("データ基準日: 2024年5月10日（指定した日付）" in s.value for s in at.success)


def test_page_field_empty_means_the_latest_activity(tmp_path, monkeypatch):
    files = write_records(tmp_path / "in")
    db = tmp_path / "dx.duckdb"
    at = _intake_page(db, monkeypatch)
    _upload(at, files)
    at.button(key="intake_load").click().run()
    assert not at.exception, at.exception
    assert (meta(db)["data_as_of"], meta(db)["data_as_of_source"]) == (LAST_CONSULTATION.isoformat(), "activity")


def test_page_field_with_an_impossible_date_says_so_and_validates_nothing(tmp_path, monkeypatch):
    files = write_records(tmp_path / "in")
    db = tmp_path / "dx.duckdb"
    at = _intake_page(db, monkeypatch)                 # opening the page on no database writes the sample
    digest = sha256(db)
    at.text_input(key="intake_as_of").input("令和6年2月30日").run()
    _upload(at, files)
    assert [e.value for e in at.error] == ["データ基準日「令和6年2月30日」: 存在しない日付です（2024年2月は29日まで）"]
    assert not [b for b in at.button if b.key == "intake_load"]
    assert sha256(db) == digest


def test_rebuild_corrects_the_as_of_date_of_a_database_written_before_the_rule(tmp_path):
    files = write_records(tmp_path / "in")
    db = tmp_path / "dx.duckdb"
    load_files(list(files.values()), db)
    con = duckdb.connect(str(db))                    # as the old loader left it: the latest start date, no source
    con.execute("DELETE FROM meta WHERE key = 'data_as_of_source'")
    con.execute("UPDATE meta SET value = ? WHERE key = 'data_as_of'", [PLANNED_START.isoformat()])
    con.close()
    result = subprocess.run([sys.executable, "-m", "etl", "rebuild", "--db", str(db)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (meta(db)["data_as_of"], meta(db)["data_as_of_source"]) == (LAST_CONSULTATION.isoformat(), "activity")
    # a stated date is the steward's: a rebuild keeps it
    load_files([files["events"]], db, as_of=dt.date(2024, 3, 31))
    assert subprocess.run([sys.executable, "-m", "etl", "rebuild", "--db", str(db)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120).returncode == 0
    assert (meta(db)["data_as_of"], meta(db)["data_as_of_source"]) == ("2024-03-31", "stated")
