"""The load path end to end: every value format of records.md, the sample files, re-loads, bad rows,
--accept-valid, atomic writes, and what `check` may not touch. Real files, real DuckDB files in tmp folders."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
from pathlib import Path

import openpyxl
import pytest

from etl.kinds import KINDS
from etl.load import build_sample_database, check_files, load_files
from etl.paths import SAMPLE_DIR
from tests.support.etl_helpers import (
    ENGAGEMENT_HEADER,
    RECORD_TABLES,
    content,
    count,
    engagement_row,
    folder_listing,
    query,
    sha256,
    table_rows,
    write_csv,
    write_engagements,
)

# ── every value format, one row per case, through the real load path ─────────

BASE = {
    "engagements": {"案件ID": None, "年度": "2022", "支援種別": "伴走支援", "支援先名": "架空テスト株式会社",
                    "支援先区分": "企業", "都道府県": "茨城県", "市区町村": "筑西市"},
    "sessions": {"案件ID": "BASE", "回": None, "実施日": "2022-10-05"},
    "consultations": {"相談ID": None, "相談日": "2022-10-05", "相談元": "山形市", "都道府県": "山形県",
                      "相談テーマ": "標準化"},
    "events": {"イベントID": None, "名称": "DXセミナー（架空）", "種別": "DXセミナー1", "開催日": "2022-10-05"},
    # the case name goes into コンソーシアム (the 指標 must be one of the glossary's target indicators)
    "targets": {"年度": "2022", "コンソーシアム": None, "指標": "伴走回数", "目標値": "10"},
}
KEY = {"engagements": ("案件ID", "engagement_id"), "sessions": ("回", "session_no"),
       "consultations": ("相談ID", "consultation_id"), "events": ("イベントID", "event_id"),
       "targets": ("コンソーシアム", "consortium")}
D = dt.date(2022, 10, 5)

# (case id, kind, cells that differ from BASE, stored column, expected value)
VALUE_CASES = [
    # dates
    ("date-iso", "sessions", {"実施日": "2022-10-05"}, "date", D),
    ("date-slash", "sessions", {"実施日": "2022/10/5"}, "date", D),
    ("date-kanji", "sessions", {"実施日": "2022年10月5日"}, "date", D),
    ("date-R-dot", "sessions", {"実施日": "R4.10.5"}, "date", D),
    ("date-reiwa", "sessions", {"実施日": "令和4年10月5日"}, "date", D),
    ("date-R-slash", "sessions", {"実施日": "R4/10/5"}, "date", D),
    ("date-full-width", "sessions", {"実施日": "２０２２／１０／５"}, "date", D),
    ("date-fiscal-year-derived", "sessions", {"実施日": "2023/3/31"}, "fiscal_year", 2022),
    # fiscal years
    ("fy-plain", "engagements", {"年度": "2022"}, "fiscal_year", 2022),
    ("fy-R", "engagements", {"年度": "R4"}, "fiscal_year", 2022),
    ("fy-reiwa", "engagements", {"年度": "令和4年度"}, "fiscal_year", 2022),
    ("fy-nendo", "engagements", {"年度": "2022年度"}, "fiscal_year", 2022),
    ("fy-full-width", "engagements", {"年度": "２０２２"}, "fiscal_year", 2022),
    # numbers
    ("int-half", "events", {"参加者数": "25"}, "attendees", 25),
    ("int-full", "events", {"参加者数": "２５"}, "attendees", 25),
    ("int-thousands", "events", {"参加者数": "1,250"}, "attendees", 1250),
    ("int-full-thousands", "events", {"参加者数": "１，２５０"}, "attendees", 1250),
    ("number-thousands", "targets", {"目標値": "1,200"}, "target", 1200.0),
    ("number-full", "targets", {"目標値": "１２００"}, "target", 1200.0),
    ("planned-default-10", "engagements", {}, "planned_sessions", 10),
    ("planned-given", "engagements", {"予定回数": "８"}, "planned_sessions", 8),
    # durations
    ("min-plain", "sessions", {"時間": "120"}, "duration_min", 120),
    ("min-hours", "sessions", {"時間": "2時間"}, "duration_min", 120),
    ("min-hours-minutes", "sessions", {"時間": "1時間30分"}, "duration_min", 90),
    ("min-decimal-h", "sessions", {"時間": "1.5h"}, "duration_min", 90),
    ("min-full-width", "sessions", {"時間": "１２０"}, "duration_min", 120),
    # booleans
    *[(f"bool-{raw}", "sessions", {"金融機関同行": raw}, "bank_attended", value) for raw, value in [
        ("有", True), ("無", False), ("あり", True), ("なし", False), ("○", True), ("×", False),
        ("はい", True), ("いいえ", False), ("TRUE", True), ("FALSE", False), ("1", True), ("0", False),
        ("yes", True), ("no", False)]],
    # lists
    *[(f"list-{name}", "sessions", {"担当ITC": f"架空一郎{sep}架空花子"}, "coordinators", ["架空一郎", "架空花子"])
      for name, sep in [("touten", "、"), ("comma", ","), ("semicolon", ";"), ("slash", "／"), ("newline", "\n"),
                        ("spaced", " 、 ")]],
    ("list-themes", "sessions", {"テーマ": "業務効率化、情報共有"}, "themes", ["業務効率化", "情報共有"]),
    # municipality: 5-digit code, 6-digit code, name + prefecture, prefecture written in front, name alone
    ("muni-code5", "engagements", {"市区町村": "08227"}, "municipality_code", "082279"),
    ("muni-code6", "engagements", {"市区町村": "082279"}, "municipality_code", "082279"),
    ("muni-code-full-width", "engagements", {"市区町村": "０８２２７"}, "municipality_code", "082279"),
    ("muni-name-pref", "engagements", {"市区町村": "筑西市"}, "municipality", "筑西市"),
    ("muni-pref-in-name", "engagements", {"市区町村": "茨城県筑西市"}, "municipality_code", "082279"),
    ("muni-same-name-pref-decides", "engagements", {"都道府県": "広島県", "市区町村": "府中市"}, "municipality_code",
     "342084"),
    ("muni-name-alone-unique", "events", {"市区町村": "筑西市"}, "municipality_code", "082279"),
    ("muni-name-alone-pref-filled", "events", {"市区町村": "筑西市"}, "prefecture", "茨城県"),
    ("muni-code-alone", "events", {"市区町村": "13206"}, "municipality", "府中市"),
    ("pref-short", "consultations", {"都道府県": "山形"}, "prefecture", "山形県"),
    # text: full-width letters normalised, surrounding spaces trimmed
    ("text-full-width", "engagements", {"支援種別": "ＣＩＯ補佐官"}, "support_type", "CIO補佐官"),
    ("text-spaces", "engagements", {"支援先名": "  架空商事株式会社 "}, "client_name", "架空商事株式会社"),
    # stage and theme: matched, the original kept
    ("stage-variant", "sessions", {"フェーズ": "現状分析・課題整理"}, "stage", "現状分析"),
    ("stage-variant-original", "sessions", {"フェーズ": "現状分析・課題整理"}, "stage_original", "現状分析・課題整理"),
    ("stage-variant-no", "sessions", {"フェーズ": "現状分析・課題整理"}, "stage_no", 4),
    ("theme-mapped", "consultations", {"相談テーマ": "ガバメントクラウドへの移行"}, "theme", "情報システムの標準化・共通化"),
    ("theme-original", "consultations", {"相談テーマ": "ガバメントクラウドへの移行"}, "theme_original",
     "ガバメントクラウドへの移行"),
    ("themes-original", "sessions", {"テーマ": "ECサイト立ち上げ、在庫管理の改善"}, "themes_original",
     "ECサイト立ち上げ、在庫管理の改善"),
    ("themes-mapped", "sessions", {"テーマ": "ECサイト立ち上げ、在庫管理の改善"}, "themes", ["販路拡大・EC", "生産・在庫管理"]),
    # free text with quotes, commas and newlines survives
    ("notes", "sessions", {"メモ": '1行目, "引用"\n2行目'}, "notes", '1行目, "引用"\n2行目'),
    ("consultation-derived-key", "consultations", {"相談ID": "", "担当課": "情報政策課", "枠": "2"}, "consultation_id",
     None),  # checked separately below
]


@pytest.fixture(scope="module")
def values_db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("values")
    src = folder / "in"
    src.mkdir()
    rows: dict[str, list[dict]] = {k: [] for k in BASE}
    if True:  # the engagement the session cases belong to
        rows["engagements"].append({**BASE["engagements"], "案件ID": "BASE"})
    for n, (case, kind, cells, _col, _exp) in enumerate(VALUE_CASES, start=1):
        header, _ = KEY[kind]
        rows[kind].append({**BASE[kind], header: str(n) if kind == "sessions" else case, **cells})
    for kind, kind_rows in rows.items():
        header = list(dict.fromkeys(h for r in kind_rows for h in r))
        write_csv(src / f"{KINDS[kind].label}.csv", header, kind_rows)
    db = folder / "dx.duckdb"
    report = load_files([src], db)
    assert report.unreadable == [] and report.errors == [], [(p.where(), p.reason, p.value) for p in report.errors]
    assert report.loaded
    return db


@pytest.mark.parametrize("case,kind,cells,column,expected", [c for c in VALUE_CASES if c[4] is not None],
                         ids=[c[0] for c in VALUE_CASES if c[4] is not None])
def test_value_format(values_db, case, kind, cells, column, expected):
    _, key_col = KEY[kind]
    n = [c[0] for c in VALUE_CASES].index(case) + 1
    key = n if kind == "sessions" else case
    rows = query(values_db, f'SELECT "{column}" FROM {kind} WHERE "{key_col}" = ?', [key])
    assert rows == [(expected,)]


def test_consultation_key_derived_without_id(values_db):
    rows = query(values_db, "SELECT consultation_id FROM consultations WHERE department = '情報政策課'")
    assert rows == [("2022-10-05|山形市|情報政策課|2",)]


def test_excel_date_and_number_cells(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "支援案件"
    ws.append(ENGAGEMENT_HEADER + ["開始日", "終了日", "予定回数"])
    ws.append(["X-1", 2022, "伴走支援", "架空株式会社", "企業", "茨城県", 82279,
               dt.datetime(2022, 6, 1), dt.date(2023, 2, 28), 8.0])
    ws["H2"].number_format = "yyyy/m/d"
    path = tmp_path / "book.xlsx"
    wb.save(path)
    db = tmp_path / "dx.duckdb"
    assert load_files([path], db).loaded
    # 82279 (a numeric cell that lost its leading zero) is still 筑西市's 6-digit code
    assert query(db, "SELECT start_date, end_date, planned_sessions, municipality_code FROM engagements") == \
        [(dt.date(2022, 6, 1), dt.date(2023, 2, 28), 8, "082279")]


def test_ambiguous_municipality_name_alone_is_an_error(tmp_path):
    path = write_csv(tmp_path / "events.csv", ["イベントID", "名称", "種別", "開催日", "市区町村"],
                     [["EV-1", "研修", "職員研修", "2022-10-05", "府中市"]])
    report = check_files([path], tmp_path / "dx.duckdb")
    [err] = report.errors
    assert (err.file_name, err.row, err.column, err.value) == ("events.csv", 2, "市区町村", "府中市")
    assert "東京都府中市" in err.reason and "広島県府中市" in err.reason and "都道府県" in err.reason


@pytest.mark.parametrize("cells,column,reason_part", [
    ({"年度": "来年"}, "年度", "年度として読めません"),
    ({"支援種別": "なんでも支援"}, "支援種別", "のいずれかで"),
    ({"支援先区分": "個人"}, "支援先区分", "企業、自治体"),
    ({"都道府県": "東都"}, "都道府県", "都道府県名として認識できません"),
    ({"市区町村": "架空村"}, "市区町村", "市区町村を特定できません"),
    ({"市区町村": "13206"}, "市区町村", "一致しません"),
    ({"支援先名": ""}, "支援先名", "必須項目"),
])
def test_bad_values_are_rejected_with_a_japanese_reason(tmp_path, cells, column, reason_part):
    path = write_csv(tmp_path / "支援案件.csv", ENGAGEMENT_HEADER, [engagement_row("E-1", **cells)])
    report = check_files([path], tmp_path / "dx.duckdb")
    assert [(p.file_name, p.row, p.column) for p in report.errors] == [("支援案件.csv", 2, column)]
    assert reason_part in report.errors[0].reason


# ── each sample file ───────────────────────────────────────────────────────

SAMPLE_FILES = sorted(p for p in SAMPLE_DIR.glob("*") if p.is_file())
# the kind each sample file (or sheet) holds, written down independently of the loader
SAMPLE_KINDS = {"支援案件.csv": "engagements", "伴走記録.csv": "sessions", "相談記録.csv": "consultations",
                "セミナー・研修": "events", "目標値": "targets"}


def count_rows_independently(path: Path) -> dict[str, int]:
    """Data rows per kind, counted with csv / openpyxl: rows after the header with any non-blank cell."""
    if path.suffix == ".csv":
        raw = path.read_bytes()
        text = raw.decode("utf-8-sig") if raw.startswith(b"\xef\xbb\xbf") else raw.decode("cp932")
        records = list(csv.reader(io.StringIO(text, newline="")))
        return {SAMPLE_KINDS[path.name]: sum(1 for r in records[1:] if any(c.strip() for c in r))}
    out: dict[str, int] = {}
    wb = openpyxl.load_workbook(path, read_only=True)
    for ws in wb.worksheets:
        rows = [r for r in ws.iter_rows(values_only=True)]
        header = next(i for i, r in enumerate(rows) if sum(v is not None for v in r) >= 2)
        out[SAMPLE_KINDS[ws.title]] = sum(1 for r in rows[header + 1:] if any(v not in (None, "") for v in r))
    wb.close()
    return out


@pytest.fixture(scope="module")
def engagements_db(tmp_path_factory) -> Path:
    """A (non-sample) database holding the sample engagements, which the sample sessions name."""
    db = tmp_path_factory.mktemp("eng") / "dx.duckdb"
    assert load_files([SAMPLE_DIR / "支援案件.csv"], db).loaded
    return db


def test_sample_files_are_all_known():
    assert [p.name for p in SAMPLE_FILES]
    for p in SAMPLE_FILES:
        assert p.name in SAMPLE_KINDS or p.suffix == ".xlsx", p


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=[p.name for p in SAMPLE_FILES])
def test_each_sample_file_loads_with_zero_errors(path, engagements_db, tmp_path):
    db = tmp_path / "dx.duckdb"
    shutil.copyfile(engagements_db, db)
    report = load_files([path], db)
    assert report.unreadable == []
    assert report.errors == [], [(p.where(), p.reason, p.value) for p in report.errors[:5]]
    assert report.loaded
    expected = count_rows_independently(path)
    assert report.rows_by_kind() == expected
    assert all(t.rows_rejected == 0 and t.rows_duplicate == 0 for t in report.tables)
    for kind, n in expected.items():
        assert count(db, kind) == n


def test_sample_database_holds_the_reference_and_every_sample_row(sample_db_master):
    db = sample_db_master
    assert count(db, "prefectures") == 47
    assert count(db, "municipalities") == 1741
    assert query(db, "SELECT count(*) FROM municipalities WHERE lat IS NULL OR lng IS NULL") == [(0,)]
    assert {r[0] for r in query(db, "SELECT consortium FROM consortia")} == \
        {"茨城県DX支援コミュニティ", "長野県DX支援コミュニティ"}
    assert {r[0] for r in query(db, "SELECT DISTINCT consortium FROM engagements WHERE consortium IS NOT NULL")} == \
        {"茨城県DX支援コミュニティ", "長野県DX支援コミュニティ"}
    expected: dict[str, int] = {}
    for path in SAMPLE_FILES:
        for kind, n in count_rows_independently(path).items():
            expected[kind] = expected.get(kind, 0) + n
    assert {k: count(db, k) for k in RECORD_TABLES} == expected
    assert query(db, "SELECT value FROM meta WHERE key = 'is_sample'") == [("true",)]
    assert count(db, "rejected_rows") == 0


@pytest.mark.parametrize("table", ["engagements", "consultations", "events"])
def test_every_sample_municipality_resolves_with_coordinates(sample_db_master, table):
    """Every sample row that names a municipality has its code, and the code has coordinates."""
    db = sample_db_master
    raw_count = query(db, f"SELECT count(*) FROM {table} WHERE municipality IS NOT NULL")[0][0]
    assert query(db, f"SELECT count(*) FROM {table} WHERE municipality IS NOT NULL AND municipality_code IS NULL") == [(0,)]
    joined = query(db, f"""SELECT count(*) FROM {table} t JOIN municipalities m USING (municipality_code)
                           WHERE m.lat IS NOT NULL AND m.lng IS NOT NULL AND t.prefecture_code = m.prefecture_code""")
    assert joined == [(raw_count,)]
    if table != "events":
        # engagements and consultations always name a place in the sample
        assert raw_count == count(db, table)


def test_sample_municipal_clients_resolved(sample_db_master):
    rows = query(sample_db_master, """SELECT DISTINCT client_name, municipality_code FROM engagements
                                      WHERE client_type = '自治体' ORDER BY 1""")
    codes = dict(rows)
    assert {"山形市", "ふじみ野市", "岐阜市", "摂津市"} <= set(codes)
    assert codes["山形市"] == "062014"


# ── loading twice, and a corrected file ────────────────────────────────────

@pytest.fixture()
def sample_copy(tmp_path) -> Path:
    src = tmp_path / "in"
    shutil.copytree(SAMPLE_DIR, src)
    return src


def test_loading_the_same_files_twice_gives_the_same_content(sample_copy, tmp_path):
    db = tmp_path / "dx.duckdb"
    first = load_files([sample_copy], db)
    assert first.loaded and first.errors == []
    before = content(db)
    assert all(before[t] for t in RECORD_TABLES)
    second = load_files([sample_copy], db)
    assert second.loaded and second.errors == []
    assert content(db) == before
    # both loads are recorded, each file with its sha256
    history = query(db, "SELECT load_id, file_name, sha256, kind, rows_loaded FROM load_history ORDER BY 1, 2, 4")
    assert len({h[0] for h in history}) == 2
    assert {h[2] for h in history} == {sha256(p) for p in sample_copy.iterdir()}


@pytest.fixture(scope="module")
def sample_loaded_twice(tmp_path_factory) -> Path:
    """The sample folder loaded twice as ordinary records (never written by the tests that read it)."""
    folder = tmp_path_factory.mktemp("twice")
    shutil.copytree(SAMPLE_DIR, folder / "in")
    db = folder / "dx.duckdb"
    for _ in range(2):
        assert load_files([folder / "in"], db).loaded
    return db


@pytest.mark.parametrize("kind", ["engagements", "sessions", "consultations", "events", "targets"])
def test_keys_stay_unique_across_loads(sample_loaded_twice, kind):
    # the record tables have no PRIMARY KEY (an index costs more than the rest of the write): the loader keeps keys unique
    db = sample_loaded_twice
    key = ", ".join(KINDS[kind].key)
    total, distinct = query(db, f"SELECT count(*), count(DISTINCT ({key})) FROM {kind}")[0]
    assert total > 0 and total == distinct


def test_a_corrected_file_updates_the_row_and_duplicates_nothing(sample_copy, tmp_path):
    db = tmp_path / "dx.duckdb"
    assert load_files([sample_copy], db).loaded
    before = content(db)
    path = sample_copy / "支援案件.csv"
    text = path.read_bytes().decode("cp932")
    records = list(csv.reader(io.StringIO(text, newline="")))
    header = records[0]
    target = next(r for r in records[1:] if r[header.index("状況")] == "実施中")
    eid = target[header.index("案件ID")]
    target[header.index("状況")] = "中止"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(records)
    path.write_bytes(buf.getvalue().encode("cp932"))
    report = load_files([path], db)
    assert report.loaded and report.errors == []
    after = content(db)
    assert query(db, "SELECT status FROM engagements WHERE engagement_id = ?", [eid]) == [("中止",)]
    assert len(after["engagements"]) == len(before["engagements"])
    changed = set(after["engagements"]) ^ set(before["engagements"])
    assert len(changed) == 2 and all(r[0] == eid for r in changed)
    for t in ("sessions", "consultations", "events", "targets"):
        assert after[t] == before[t]


def test_same_key_twice_in_one_batch(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    write_engagements(src / "支援案件.csv", ids=("E-1",))
    write_csv(src / "支援案件_追加.csv", ENGAGEMENT_HEADER, [engagement_row("E-1"), engagement_row("E-2")])
    write_csv(src / "支援案件_別版.csv", ENGAGEMENT_HEADER, [engagement_row("E-2", 支援先名="架空別会社")])
    report = check_files([src], tmp_path / "dx.duckdb")
    # identical copies load once (a note); different content under one key rejects both rows
    assert [(p.file_name, p.row) for p in report.problems if p.severity == "duplicate"] == [("支援案件_追加.csv", 2)]
    assert sorted((p.file_name, p.row) for p in report.errors) == [("支援案件_別版.csv", 2), ("支援案件_追加.csv", 3)]


# ── a bad row: nothing written; --accept-valid ─────────────────────────────

def _batch_with_one_bad_row(folder: Path) -> Path:
    folder.mkdir()
    write_engagements(folder / "支援案件.csv", ids=("N-1", "N-2"))
    write_csv(folder / "伴走記録.csv", ["案件ID", "回", "実施日", "時間"],
              [["N-1", "1", "2022-10-05", "120"], ["N-1", "2", "2022-13-45", "90"], ["N-2", "1", "R4.11.1", "2時間"]],
              encoding="cp932")
    return folder


def test_one_bad_row_writes_nothing_and_names_the_row(sample_db, tmp_path):
    db = sample_db
    batch = _batch_with_one_bad_row(tmp_path / "in")
    digest, before = sha256(db), content(db, RECORD_TABLES + ("load_history", "rejected_rows", "meta"))
    listing = folder_listing(db.parent)
    report = load_files([batch], db)
    assert not report.loaded and report.exit_code == 1
    [err] = report.errors
    assert (err.file_name, err.sheet, err.row, err.column, err.value) == ("伴走記録.csv", None, 3, "実施日", "2022-13-45")
    assert err.reason == "存在しない日付です（13月はありません。月は1〜12です）"
    # the other rows were still checked and counted
    assert [(t.file_name, t.rows_read, t.rows_valid, t.rows_rejected) for t in report.tables] == [
        ("伴走記録.csv", 3, 2, 1), ("支援案件.csv", 2, 2, 0)]
    assert sha256(db) == digest
    assert content(db, RECORD_TABLES + ("load_history", "rejected_rows", "meta")) == before
    assert folder_listing(db.parent) == listing


@pytest.mark.parametrize("accept_valid", [False, True])
def test_a_folder_without_record_files_writes_nothing_and_says_so(sample_db, tmp_path, accept_valid):
    """Through the library as through the CLI: a folder holding no record file (only a note) is unreadable."""
    db = sample_db
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "メモ.md").write_text("記録ファイルではありません", encoding="utf-8")
    digest, listing = sha256(db), folder_listing(db.parent)
    report = load_files([folder], db, accept_valid=accept_valid)
    assert not report.loaded and report.exit_code != 0
    assert report.unreadable == [f"取り込む記録ファイル（.csv / .tsv / .txt / .xlsx）が見つかりません: {folder}"]
    assert sha256(db) == digest and folder_listing(db.parent) == listing


def test_accept_valid_loads_the_good_rows_and_keeps_the_rejected_one(tmp_path):
    db = tmp_path / "dx.duckdb"
    report = load_files([_batch_with_one_bad_row(tmp_path / "in")], db, accept_valid=True)
    assert report.loaded and report.exit_code == 0
    assert query(db, "SELECT engagement_id, session_no FROM sessions ORDER BY 1, 2") == [("N-1", 1), ("N-2", 1)]
    [(file_name, sheet, row_no, kind, column, value, reason, record)] = query(
        db, "SELECT file_name, sheet, row_no, kind, column_name, value, reason, record FROM rejected_rows")
    assert (file_name, sheet, row_no, kind, column, value) == ("伴走記録.csv", None, 3, "sessions", "実施日", "2022-13-45")
    assert reason.startswith("存在しない日付です")
    original = json.loads(record)
    assert original["engagement_id"] == "N-1" and original["session_no"] == "2"
    assert original["date"] == "2022-13-45" and original["duration_min"] == "90"
    assert query(db, "SELECT file_name, rows_read, rows_loaded, rows_rejected FROM load_history ORDER BY 1") == [
        ("伴走記録.csv", 3, 2, 1), ("支援案件.csv", 2, 2, 0)]


def test_session_naming_an_unknown_engagement_is_rejected(tmp_path):
    path = write_csv(tmp_path / "伴走記録.csv", ["案件ID", "回", "実施日"], [["ZZ-1", "1", "2022-10-05"]])
    report = check_files([path], tmp_path / "dx.duckdb")
    [err] = report.errors
    assert (err.row, err.column, err.value) == (2, "案件ID", "ZZ-1") and "支援案件がありません" in err.reason


def test_sessions_may_name_engagements_already_loaded(tmp_path):
    db = tmp_path / "dx.duckdb"
    assert load_files([write_engagements(tmp_path / "支援案件.csv", ids=("L-1",))], db).loaded
    path = write_csv(tmp_path / "伴走記録.csv", ["案件ID", "回", "実施日"], [["L-1", "1", "2022-10-05"]])
    assert load_files([path], db).loaded
    assert count(db, "sessions") == 1
    # but not with --fresh, which starts from an empty database
    report = load_files([path], db, fresh=True)
    assert not report.loaded and [e.column for e in report.errors] == ["案件ID"]


def test_sample_engagements_do_not_count_for_a_user_load(sample_db, tmp_path):
    """Loading into the sample database replaces the sample, so a session may not lean on a sample engagement."""
    eid = query(sample_db, "SELECT min(engagement_id) FROM sessions")[0][0]
    path = write_csv(tmp_path / "伴走記録.csv", ["案件ID", "回", "実施日"], [[eid, "99", "2022-10-05"]])
    report = load_files([path], sample_db)
    assert not report.loaded and [(e.column, e.value) for e in report.errors] == [("案件ID", eid)]


def test_a_user_load_replaces_the_sample(sample_db, tmp_path):
    report = load_files([write_engagements(tmp_path / "支援案件.csv", ids=("U-1",))], sample_db)
    assert report.loaded and report.notes
    assert query(sample_db, "SELECT engagement_id FROM engagements") == [("U-1",)]
    assert count(sample_db, "sessions") == 0
    assert query(sample_db, "SELECT value FROM meta WHERE key = 'is_sample'") == [("false",)]
    assert count(sample_db, "municipalities") == 1741


# ── atomic writes ───────────────────────────────────────────────────────────

def _good_batch(folder: Path) -> Path:
    folder.mkdir()
    write_engagements(folder / "支援案件.csv", ids=("A-1", "A-2"))
    return folder


def test_failing_mart_leaves_the_database_byte_identical(tmp_path):
    db = tmp_path / "db" / "dx.duckdb"
    assert load_files([write_engagements(tmp_path / "支援案件.csv", ids=("P-1",))], db).loaded
    digest, listing = sha256(db), folder_listing(db.parent)
    marts = tmp_path / "marts"
    marts.mkdir()
    (marts / "mart_a.sql").write_text("SELECT engagement_id FROM engagements", encoding="utf-8")
    (marts / "mart_b.sql").write_text("SELECT no_such_column FROM engagements", encoding="utf-8")
    with pytest.raises(Exception, match="no_such_column"):
        load_files([_good_batch(tmp_path / "in")], db, marts_dir=marts)
    assert sha256(db) == digest
    assert folder_listing(db.parent) == listing  # no temp file, no .wal left behind
    assert query(db, "SELECT engagement_id FROM engagements") == [("P-1",)]


class Boom(Exception):
    pass


@pytest.mark.parametrize("stage", ["書込中: 支援案件", "集計表を作成中", "データベースを複製中"])
def test_failure_from_progress_callback_leaves_the_database_byte_identical(tmp_path, stage):
    db = tmp_path / "db" / "dx.duckdb"
    assert load_files([write_engagements(tmp_path / "支援案件.csv", ids=("P-1",))], db).loaded
    digest, listing = sha256(db), folder_listing(db.parent)

    def progress(message: str) -> None:
        if message == stage:
            raise Boom(message)

    with pytest.raises(Boom):
        load_files([_good_batch(tmp_path / "in")], db, progress=progress)
    assert sha256(db) == digest
    assert folder_listing(db.parent) == listing


def test_failure_on_a_first_load_leaves_no_database(tmp_path):
    db = tmp_path / "db" / "dx.duckdb"

    def progress(message: str) -> None:
        if message == "集計表を作成中":
            raise Boom(message)

    with pytest.raises(Boom):
        load_files([_good_batch(tmp_path / "in")], db, progress=progress)
    assert not db.exists()
    assert [n for n in folder_listing(db.parent) if n != "dx.duckdb.lock"] == []


# ── check writes nothing; load creates what it needs ───────────────────────

def test_check_never_creates_the_database(tmp_path):
    db = tmp_path / "no" / "such" / "dx.duckdb"
    report = check_files([_good_batch(tmp_path / "in")], db)
    assert report.errors == [] and not report.loaded
    assert not (tmp_path / "no").exists()


def test_check_never_modifies_the_database(sample_db, tmp_path):
    batches = ([_good_batch(tmp_path / "in")], [_batch_with_one_bad_row(tmp_path / "bad")], [SAMPLE_DIR])
    digest, mtime, listing = sha256(sample_db), sample_db.stat().st_mtime_ns, folder_listing(sample_db.parent)
    for paths in batches:
        check_files(paths, sample_db)
    assert sha256(sample_db) == digest and sample_db.stat().st_mtime_ns == mtime
    assert folder_listing(sample_db.parent) == listing


def test_load_creates_a_missing_database_and_its_folder(tmp_path):
    db = tmp_path / "new" / "nested" / "dx.duckdb"
    report = load_files([_good_batch(tmp_path / "in")], db)
    assert report.loaded and db.exists()
    assert count(db, "engagements") == 2 and count(db, "municipalities") == 1741


def test_build_sample_database_twice_is_identical_in_content(tmp_path):
    db = tmp_path / "dx.duckdb"
    build_sample_database(db)
    first = content(db)
    build_sample_database(db)
    assert content(db) == first
    assert len({r[0] for r in table_rows(db, "load_history")}) == 1  # the sample is rebuilt, not appended


def test_progress_reports_carry_their_stage(tmp_path):
    """Progress comes as (stage, text): code branches on the stage (データ取込's bar), the text is what is shown."""
    db = tmp_path / "dx.duckdb"
    assert load_files([write_engagements(tmp_path / "支援案件.csv", ids=("P-1",))], db).loaded
    seen = []
    assert load_files([_good_batch(tmp_path / "in")], db, progress=seen.append).loaded
    stages = [m.stage for m in seen]
    assert stages[0] == "read" and stages[-1] == "marts"
    assert [s for i, s in enumerate(stages) if i == 0 or s != stages[i - 1]] == ["read", "validate", "copy", "write",
                                                                               "marts"]
    assert all(m == m.text and m.text.startswith(("読込中: ", "検証中", "データベースを複製中", "書込中: ", "集計表を作成中"))
               for m in seen)
