"""File formats through the real load path: encodings, delimiters, line endings, headers, title rows, blank
rows and columns, Excel workbooks, kind detection, and files that cannot be read at all.

Every test writes real files (or uses tests/files/) and loads them with etl.load into a DuckDB file in a
temporary folder; nothing is mocked.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest

import etl.extract
from etl.load import check_files, load_files
from tests.support.etl_helpers import (
    ENGAGEMENT_HEADER,
    content,
    csv_text,
    engagement_row,
    folder_listing,
    query,
    sha256,
    write_csv,
    write_engagements,
)

FILES = Path(__file__).parent / "files"

SESSION_HEADER = ["案件ID", "回", "実施日", "時間", "フェーズ", "担当ITC", "金融機関同行", "参加人数", "テーマ", "メモ"]
SESSION_ROWS = [
    ["E-1", "1", "2022/10/5", "120", "経営理念・ミッションの確認", "架空一郎、架空花子", "○", "3", "DX戦略", "初回。\"想い\"を聞いた"],
    ["E-1", "2", "R4.10.19", "1時間30分", "DX構想の検討", "架空一郎", "×", "2", "業務効率化、情報共有",
     "メモ1行目\n2行目, カンマ入り"],
]
EXPECTED_SESSIONS = [
    ("E-1", 1, dt.date(2022, 10, 5), 120, 1, ["架空一郎", "架空花子"], True, 3, "初回。\"想い\"を聞いた"),
    ("E-1", 2, dt.date(2022, 10, 19), 90, 2, ["架空一郎"], False, 2, "メモ1行目\n2行目, カンマ入り"),
]
SESSION_SQL = """SELECT engagement_id, session_no, date, duration_min, stage_no, coordinators, bank_attended,
                        attendees, notes FROM sessions ORDER BY session_no"""


def load_ok(paths, db, **kw):
    report = load_files(paths, db, **kw)
    assert report.unreadable == [], report.unreadable
    assert report.errors == [], [(p.where(), p.reason, p.value) for p in report.errors]
    assert report.loaded
    return report


# ── encodings × delimiters × line endings ────────────────────────────────────

@pytest.mark.parametrize("newline", ["\r\n", "\n"], ids=["CRLF", "LF"])
@pytest.mark.parametrize("delimiter,suffix", [(",", ".csv"), ("\t", ".tsv"), ("\t", ".csv")],
                         ids=["comma", "tab-tsv", "tab-csv"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_csv_encoding_delimiter_line_ending(tmp_path, encoding, delimiter, suffix, newline):
    src = tmp_path / "in"
    src.mkdir()
    write_csv(src / f"支援案件{suffix}", ENGAGEMENT_HEADER, [engagement_row("E-1")],
              encoding=encoding, delimiter=delimiter, newline=newline)
    write_csv(src / f"伴走記録{suffix}", SESSION_HEADER, SESSION_ROWS,
              encoding=encoding, delimiter=delimiter, newline=newline)
    db = tmp_path / "dx.duckdb"
    report = load_ok([src], db)
    assert report.rows_by_kind() == {"engagements": 1, "sessions": 2}
    assert query(db, SESSION_SQL) == EXPECTED_SESSIONS
    assert query(db, "SELECT client_name, municipality_code FROM engagements") == [("架空テスト株式会社", "082279")]


def test_committed_cp932_export_with_title_blank_row_and_trailing_columns(tmp_path):
    db = tmp_path / "dx.duckdb"
    report = load_ok([FILES / "支援案件_cp932.csv"], db)
    assert [(t.kind, t.rows_read, t.rows_valid) for t in report.tables] == [("engagements", 2, 2)]
    rows = query(db, """SELECT engagement_id, fiscal_year, support_type, client_name, municipality_code, source_row
                        FROM engagements ORDER BY engagement_id""")
    # row numbers are those a person sees: title = 1, header = 2, blank row 4 is skipped
    assert rows == [("CP-1", 2022, "伴走支援", "架空カフェ株式会社", "082279", 3),
                    ("CP-2", 2023, "CIO補佐官", "つくば市", "082201", 5)]
    assert not any("未知の列" in w for w in report.warnings)


@pytest.mark.slow
def test_large_csv_path_gives_the_same_rows(tmp_path, monkeypatch):
    """Above SMALL_CSV_BYTES DuckDB's reader does the parsing (CP932 transcoded); same content, same rows."""
    src = tmp_path / "in"
    src.mkdir()
    write_engagements(src / "支援案件.csv", ids=("E-1",), encoding="cp932")
    write_csv(src / "伴走記録.csv", SESSION_HEADER, SESSION_ROWS, encoding="cp932",
              before="伴走記録（架空）\r\n")
    small = tmp_path / "small.duckdb"
    load_ok([src], small)
    monkeypatch.setattr(etl.extract, "SMALL_CSV_BYTES", 0)
    large = tmp_path / "large.duckdb"
    load_ok([src], large)
    assert content(large) == content(small)
    assert query(large, "SELECT source_row FROM sessions ORDER BY 1") == [(3,), (4,)]


@pytest.mark.slow
@pytest.mark.parametrize("blank_line", [False, True], ids=["no-blank-line", "blank-line"])
def test_large_utf8_csv_row_numbers_with_and_without_blank_lines(tmp_path, monkeypatch, blank_line):
    """A large UTF-8 file is read by DuckDB while its scan runs; a blank line found by the scan (DuckDB's reader
    skips it, so rowid is no longer the row number) sends it back through the slow path: same rows, same numbers."""
    src = tmp_path / "in"
    src.mkdir()
    write_engagements(src / "支援案件.csv", ids=("E-1",))
    text = csv_text(SESSION_HEADER, SESSION_ROWS, ",", "\r\n")
    if blank_line:
        first_end = text.index("\r\n", text.index("\r\n") + 2) + 2    # after the first record
        text = text[:first_end] + "\r\n" + text[first_end:]
    (src / "伴走記録.csv").write_bytes(text.encode("utf-8"))
    small = tmp_path / "small.duckdb"
    load_ok([src], small)
    monkeypatch.setattr(etl.extract, "SMALL_CSV_BYTES", 0)
    large = tmp_path / "large.duckdb"
    report = load_ok([src], large)
    assert content(large) == content(small)
    assert query(large, "SELECT source_row FROM sessions ORDER BY 1") == ([(2,), (4,)] if blank_line else [(2,), (3,)])
    assert {t.sha256 for t in report.tables if t.kind == "sessions"} == {sha256(src / "伴走記録.csv")}


@pytest.mark.parametrize("rows", [
    [SESSION_ROWS[0], ["E-1", "2", "2022/11/2", "60"]],
    [*SESSION_ROWS, ["E-1", "3", "2022/11/2", "60"]],
], ids=["short-row", "short-row-and-line-break-in-quotes"])
def test_a_row_with_fewer_fields_reads_the_same_in_both_readers(tmp_path, monkeypatch, rows):
    """A row that ends early (an export that drops trailing empty cells) has blank cells at its end in Python's csv
    reader and in DuckDB's (null_padding; with a line break inside quotes its parallel reader cannot pad, so it
    reads the file again single-threaded)."""
    src = tmp_path / "in"
    src.mkdir()
    write_engagements(src / "支援案件.csv", ids=("E-1",))
    write_csv(src / "伴走記録.csv", SESSION_HEADER, rows)
    small = tmp_path / "small.duckdb"
    load_ok([src], small)
    monkeypatch.setattr(etl.extract, "SMALL_CSV_BYTES", 0)
    large = tmp_path / "large.duckdb"
    load_ok([src], large)
    assert content(large) == content(small)
    short = query(large, "SELECT session_no, date, duration_min, stage_no, notes, source_row FROM sessions "
                         "ORDER BY session_no DESC LIMIT 1")
    assert short == [(len(rows), dt.date(2022, 11, 2), 60, None, None, len(rows) + 1)]

# ── headers ─────────────────────────────────────────────────────────────────

HEADER_VARIANTS = {
    "english": ["engagement_id", "fiscal_year", "support_type", "client_name", "client_type", "prefecture", "municipality"],
    "english-upper-spaced": [" ENGAGEMENT_ID ", "Fiscal_Year", "SUPPORT_TYPE", "client_name", "client_type",
                             "prefecture", "municipality"],
    "japanese-aliases": ["案件番号", "年度", "支援種別", "支援先", "支援先区分", "都道府県", "所在地"],
    "full-width": ["案件ＩＤ", "年度", "支援種別", "支援先名", "支援先区分", "都道府県", "市区町村"],
    "surrounding-spaces": [" 案件ID ", "　年度　", "支援種別 ", "\t支援先名", "支援先区分", "都道府県", "市区町村"],
}


@pytest.mark.parametrize("variant", list(HEADER_VARIANTS))
def test_header_variants(tmp_path, variant):
    header = HEADER_VARIANTS[variant]
    row = ["E-9", "2023", "伴走支援", "架空食品株式会社", "企業", "茨城県", "筑西市"]
    path = write_csv(tmp_path / "支援案件.csv", header, [row])
    db = tmp_path / "dx.duckdb"
    load_ok([path], db)
    assert query(db, "SELECT engagement_id, fiscal_year, client_name, municipality_code FROM engagements") == \
        [("E-9", 2023, "架空食品株式会社", "082279")]


def test_unknown_columns_are_a_warning_not_an_error(tmp_path):
    path = write_csv(tmp_path / "支援案件.csv", ENGAGEMENT_HEADER + ["社内メモ"],
                     [{**engagement_row("E-1"), "社内メモ": "x"}])
    db = tmp_path / "dx.duckdb"
    report = load_ok([path], db)
    assert any("未知の列" in w and "社内メモ" in w and "支援案件.csv" in w for w in report.warnings)


# ── title rows, blank rows, trailing blank columns, row numbers ───────────────

def test_csv_title_rows_blank_rows_trailing_columns_and_row_numbers(tmp_path):
    text = ("伴走記録 令和4年度（架空）\n"
            "作成: 架空一郎\n"
            "\n"
            "案件ID,回,実施日,,,\n"
            "E-1,1,2022-10-05,,,\n"
            "\n"
            ",,,,,\n"
            "E-1,2,2022-10-19,,,\n")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "伴走記録.csv").write_text(text, encoding="utf-8")
    write_engagements(tmp_path / "in" / "支援案件.csv")
    db = tmp_path / "dx.duckdb"
    report = load_ok([tmp_path / "in"], db)
    assert report.rows_by_kind()["sessions"] == 2
    assert query(db, "SELECT session_no, source_row FROM sessions ORDER BY 1") == [(1, 5), (2, 8)]
    assert not any("未知の列" in w for w in report.warnings)


def test_csv_row_numbers_count_records_not_lines(tmp_path):
    """A cell with line breaks is one row in Excel; the next record's row number follows Excel."""
    (tmp_path / "in").mkdir()
    write_engagements(tmp_path / "in" / "支援案件.csv")
    write_csv(tmp_path / "in" / "伴走記録.csv", ["案件ID", "回", "実施日", "メモ"],
              [["E-1", "1", "2022-10-05", "a\nb\nc"], ["E-1", "2", "not a date", ""]])
    report = check_files([tmp_path / "in"], tmp_path / "none.duckdb")
    [err] = report.errors
    assert (err.file_name, err.row, err.column, err.value) == ("伴走記録.csv", 3, "実施日", "not a date")


# ── Excel workbooks ────────────────────────────────────────────────────────

def _sheet(wb, title, header, rows, title_line=None, trailing_blank_cols=0):
    ws = wb.create_sheet(title)
    if title_line:
        ws.append([title_line])
        ws.append([])
    ws.append(header)
    for r in rows:
        ws.append(r)
    if trailing_blank_cols:
        # a formatted but empty cell far to the right: openpyxl then reports the extra blank columns
        ws.cell(row=1, column=len(header) + trailing_blank_cols).number_format = "@"
    return ws


def test_one_workbook_many_sheets(tmp_path):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    _sheet(wb, "支援案件", ENGAGEMENT_HEADER + ["開始日"],
           [["X-1", 2022, "伴走支援", "架空精機株式会社", "企業", "茨城県", "筑西市", dt.datetime(2022, 6, 1)]],
           title_line="支援案件（架空）", trailing_blank_cols=5)
    _sheet(wb, "sessions", ["案件ID", "回", "実施日", "時間"],
           [["X-1", 1, dt.datetime(2022, 6, 10), 120], [None, None, None, None],
            ["X-1", 2, dt.date(2022, 6, 24), "1.5h"]])
    _sheet(wb, "セミナー・研修", ["イベントID", "名称", "種別", "開催日", "参加者数"],
           [["EV-1", "DXセミナー（架空）", "DXセミナー1", dt.datetime(2022, 7, 1), 25]])
    _sheet(wb, "目標値", ["年度", "コンソーシアム", "指標", "目標値"],
           [["R4", "茨城県DX支援コミュニティ", "伴走回数", 80]])
    _sheet(wb, "メモ", ["自由記述"], [["このシートは記録ではない"]])
    path = tmp_path / "記録一式.xlsx"
    wb.save(path)
    db = tmp_path / "dx.duckdb"
    report = load_ok([path], db)
    assert {(t.sheet, t.kind, t.rows_valid) for t in report.tables} == {
        ("支援案件", "engagements", 1), ("sessions", "sessions", 2), ("セミナー・研修", "events", 1),
        ("目標値", "targets", 1)}
    assert any("[メモ]" in w for w in report.warnings)
    assert query(db, "SELECT start_date, source_sheet, source_row FROM engagements") == \
        [(dt.date(2022, 6, 1), "支援案件", 4)]
    # Excel date cells (datetime and date) become dates; numbers are numbers; row 3 of the sheet was blank
    assert query(db, "SELECT session_no, date, duration_min, source_row FROM sessions ORDER BY 1") == \
        [(1, dt.date(2022, 6, 10), 120, 2), (2, dt.date(2022, 6, 24), 90, 4)]
    assert query(db, "SELECT date, fiscal_year, attendees FROM events") == [(dt.date(2022, 7, 1), 2022, 25)]
    assert query(db, "SELECT fiscal_year, consortium, indicator, target FROM targets") == \
        [(2022, "茨城県DX支援コミュニティ", "伴走回数", 80.0)]


def test_one_xlsx_per_kind_named_by_file(tmp_path):
    """A workbook whose only sheet is 'Sheet1': the kind comes from the file name (or the headers)."""
    src = tmp_path / "in"
    src.mkdir()
    wb = openpyxl.Workbook()
    wb.active.append(ENGAGEMENT_HEADER)
    wb.active.append(list(engagement_row("K-1").values()))
    wb.save(src / "engagements_2022.xlsx")
    wb = openpyxl.Workbook()
    wb.active.append(["案件ID", "回", "実施日"])
    wb.active.append(["K-1", 1, dt.datetime(2022, 5, 9)])
    wb.save(src / "伴走記録_5月.xlsx")
    db = tmp_path / "dx.duckdb"
    report = load_ok([src], db)
    assert sorted((t.file_name, t.kind) for t in report.tables) == [
        ("engagements_2022.xlsx", "engagements"), ("伴走記録_5月.xlsx", "sessions")]


def test_hidden_helper_sheet_is_skipped_silently(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "支援案件"
    ws.append(ENGAGEMENT_HEADER)
    ws.append(list(engagement_row("H-1").values()))
    lists = wb.create_sheet("選択肢")
    lists.append(["企業", "自治体"])
    lists.sheet_state = "hidden"
    hidden_records = wb.create_sheet("旧支援案件")
    hidden_records.append(ENGAGEMENT_HEADER)
    hidden_records.sheet_state = "hidden"
    path = tmp_path / "book.xlsx"
    wb.save(path)
    report = load_ok([path], tmp_path / "dx.duckdb")
    assert [w for w in report.warnings if "非表示" in w] == ["book.xlsx [旧支援案件]: 非表示のシートは読み込みません"]


# ── kind detection ─────────────────────────────────────────────────────────

@pytest.mark.parametrize("file_name,header,expected", [
    ("sessions_2024.csv", ["案件ID", "回", "実施日"], "sessions"),
    ("伴走記録_10月.csv", ["案件ID", "回", "実施日"], "sessions"),
    ("SESSIONS.CSV", ["engagement_id", "session_no", "date"], "sessions"),
    ("相談記録2023.csv", ["相談日", "自治体名", "都道府県", "テーマ"], "consultations"),
    ("export.csv", ["相談日", "自治体名", "都道府県", "相談テーマ"], "consultations"),
    ("export.csv", ["案件ID", "回", "実施日", "フェーズ"], "sessions"),
    ("data.txt", ["イベントID", "名称", "種別", "開催日"], "events"),
    ("targets.csv", ["年度", "指標", "目標値"], "targets"),
    ("download (3).csv", ["年度", "コンソーシアム", "指標", "目標値"], "targets"),
    # a name that says one kind but headers of another: the headers decide
    ("伴走記録.csv", ["イベントID", "名称", "種別", "開催日"], "events"),
])
def test_kind_detection(tmp_path, file_name, header, expected):
    path = write_csv(tmp_path / file_name, header, [])
    report = check_files([path], tmp_path / "none.duckdb")
    assert report.unreadable == []
    assert [t.kind for t in report.tables] == [expected]


# ── files that are not what they claim ─────────────────────────────────────

UNREADABLE = {
    "binary.csv": "バイナリ",
    "empty.csv": "空",
    "blank_lines_only.csv": "空",
    "not_a_workbook.xlsx": "Excel ブック",
    "zip_not_workbook.xlsx": "Excel ブック",
    "no_header.csv": "見出し行が見つかりません",
    "undecodable.csv": "文字コード",
    "records.pdf": "対応していない形式",
}


@pytest.mark.parametrize("name", list(UNREADABLE))
def test_unreadable_file_gets_one_clear_message_and_writes_nothing(tmp_path, name):
    db = tmp_path / "db" / "dx.duckdb"
    report = load_files([FILES / name], db)
    assert len(report.unreadable) == 1
    message = report.unreadable[0]
    assert message.startswith(f"{name}: ")
    assert UNREADABLE[name] in message
    assert report.exit_code == 2
    assert not report.loaded
    assert not db.parent.exists() or folder_listing(db.parent) == []


def test_unreadable_file_in_a_batch_blocks_the_batch(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    write_engagements(src / "支援案件.csv")
    (src / "伴走記録.csv").write_bytes((FILES / "binary.csv").read_bytes())
    db = tmp_path / "dx.duckdb"
    report = load_files([src], db)
    assert report.exit_code == 2 and not report.loaded and not db.exists()
    assert report.unreadable == ["伴走記録.csv: テキスト（CSV）ではなくバイナリファイルのようです"]


def test_header_only_file_is_a_warning_with_zero_rows(tmp_path):
    """Decision: a file with a header and no data rows is not an error (nothing to load); it is reported."""
    db = tmp_path / "dx.duckdb"
    report = load_files([FILES / "伴走記録_見出しのみ.csv"], db)
    assert report.unreadable == [] and report.errors == []
    assert report.exit_code == 0
    assert [(t.kind, t.rows_read) for t in report.tables] == [("sessions", 0)]
    assert any("伴走記録_見出しのみ.csv" in w and "データ行がありません" in w for w in report.warnings)


def test_missing_file_is_unreadable(tmp_path):
    report = check_files([tmp_path / "nope.csv"], tmp_path / "dx.duckdb")
    assert report.unreadable == ["nope.csv: ファイルがありません"]
    assert report.exit_code == 2


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_table_read_in_python_is_the_same_by_list_parameters_and_by_pandas(tmp_path, monkeypatch, suffix):
    """Up to LIST_PARAMETER_ROWS rows a table read in Python reaches DuckDB as list parameters, above through
    pandas: both give the same records (blank cells, line breaks, quotes, a blank row)."""
    rows = [*SESSION_ROWS, ["", "", "", "", "", "", "", "", "", ""],
            ["E-1", "3", "2022-11-02", "", "", "", "", "", "", "「引用」と'quote'"]]
    src = tmp_path / "in"
    src.mkdir()
    write_csv(src / "支援案件.csv", ENGAGEMENT_HEADER, [engagement_row("E-1")])
    if suffix == ".csv":
        write_csv(src / "伴走記録.csv", SESSION_HEADER, rows)
    else:
        wb = openpyxl.Workbook()
        wb.active.append(SESSION_HEADER)
        for r in rows:
            wb.active.append([v or None for v in r])
        wb.save(src / "伴走記録.xlsx")
    results = []
    for limit in (etl.extract.LIST_PARAMETER_ROWS, 0):
        monkeypatch.setattr(etl.extract, "LIST_PARAMETER_ROWS", limit)
        db = tmp_path / f"dx_{limit}.duckdb"
        load_ok([src], db)
        results.append(content(db, ("sessions",)))
    assert results[0] == results[1]
    assert len(results[0]["sessions"]) == 3
