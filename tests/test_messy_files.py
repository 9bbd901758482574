"""The messy-file corpus (tests/files/messy, tests/files/bad; written by tests/files/make_files.py).

Messy-but-valid files load with the expected row counts and warnings; every bad file gets its message (file, sheet,
row, column, reason) and leaves the database byte-for-byte unchanged.
"""
from __future__ import annotations

import datetime as dt
import importlib.util
import io
import shutil
from contextlib import redirect_stdout
from pathlib import Path

import openpyxl
import pytest

from etl import cli
from etl.extract import combine_header_rows
from etl.load import load_files
from tests.support.etl_helpers import content, count, query, sha256, write_engagements

FILES = Path(__file__).resolve().parent / "files"
MESSY = FILES / "messy"
BAD = FILES / "bad"
BASE = MESSY / "支援案件_utf8_bom.csv"          # engagements M-001…M-005 that the session files name


@pytest.fixture(scope="module")
def base_db_master(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("messy") / "dx.duckdb"
    report = load_files([BASE], db)
    assert report.loaded, report.problems
    return db


@pytest.fixture()
def base_db(base_db_master, tmp_path) -> Path:
    db = tmp_path / "dx.duckdb"
    shutil.copyfile(base_db_master, db)
    return db


def test_corpus_matches_its_generator(tmp_path, monkeypatch):
    """The committed files are exactly what make_files.py writes (so the generator is the documentation)."""
    spec = importlib.util.spec_from_file_location("make_files", FILES / "make_files.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setattr(mod, "MESSY", tmp_path / "messy")
    monkeypatch.setattr(mod, "BAD", tmp_path / "bad")
    with redirect_stdout(io.StringIO()):
        mod.main()
    for folder in ("messy", "bad"):
        made = sorted(p.name for p in (tmp_path / folder).iterdir())
        committed = sorted(p.name for p in (FILES / folder).iterdir())
        assert made == committed
        for name in made:
            assert (tmp_path / folder / name).read_bytes() == (FILES / folder / name).read_bytes(), name


# ── messy but valid ─────────────────────────────────────────────────────────────

VALID = [
    # file, rows added per kind, fragments that must appear in the warnings
    ("支援案件_cp932_見出しの上に表題.csv", {"engagements": 3}, []),
    ("伴走記録_書式いろいろ.xlsx", {"sessions": 5},
     ["[伴走記録_旧]: 非表示のシートは読み込みません",
      "「フェーズ」: フェーズが7つの段階のどれにも当てはまりません（原文のまま保存します）（値: よくわからない段階） — 1 行（9行目）"]),
    ("伴走記録_重複行.csv", {"sessions": 3},
     ["「案件ID・回」: 同じ内容の行の重複です（伴走記録_重複行.csv 2行目）。1件として取り込みます（値: M-004・1） — 1 行（4行目）"]),
    ("相談記録_テーマ表記ゆれ.csv", {"consultations": 3},
     ["相談テーマがテーマ分類に当てはまりません（原文のまま保存します）（値: 庁舎の雨漏り） — 1 行（4行目）"]),
]


@pytest.mark.parametrize("name, added, warnings", VALID, ids=[v[0] for v in VALID])
def test_messy_file_loads(base_db, name, added, warnings):
    before = {k: count(base_db, k) for k in ("engagements", "sessions", "consultations")}
    report = load_files([MESSY / name], base_db)
    assert report.loaded, [f"{p.where()}: {p.reason}" for p in report.errors] + report.unreadable
    assert not report.errors
    after = {k: count(base_db, k) for k in before}
    assert {k: after[k] - before[k] for k in before if after[k] != before[k]} == added
    for fragment in warnings:
        assert any(fragment in w for w in report.warnings), (fragment, report.warnings)


def test_base_engagements_utf8_bom_wareki_fullwidth(base_db):
    rows = query(base_db, "SELECT engagement_id, fiscal_year, start_date::VARCHAR, planned_sessions, municipality "
                          "FROM engagements ORDER BY 1")
    assert rows == [("M-001", 2022, "2022-09-01", 10, "筑西市"), ("M-002", 2022, "2022-09-05", 10, "水戸市"),
                    ("M-003", 2022, "2022-09-12", 8, "つくば市"), ("M-004", 2022, "2022-09-20", 10, "つくば市"),
                    ("M-005", 2022, "2022-10-03", 10, "土浦市")]


def test_workbook_values(base_db):
    """Two-line merged header, dates as cells / serials / 和暦 text, numbers as text (full-width, 桁区切り),
    a formula's cached value, stage spelled differently, rows as Excel numbers them, the hidden sheet left out."""
    load_files([MESSY / "伴走記録_書式いろいろ.xlsx"], base_db)
    rows = query(base_db, """SELECT engagement_id, session_no, date::VARCHAR, duration_min, stage, stage_original,
                                    attendees, source_sheet, source_row FROM sessions ORDER BY 1, 2""")
    assert rows == [
        ("M-001", 1, "2022-10-05", 120, "経営理念・ミッションの確認", "経営理念・ミッションの確認", 3, "伴走記録", 5),
        ("M-001", 2, "2022-10-19", 90, "DX構想の検討", "DX構想の検討", 12, "伴走記録", 6),
        ("M-002", 1, "2022-10-06", 120, "現状分析", "現状分析・課題整理", 1234, "伴走記録", 7),
        ("M-002", 2, "2022-10-20", 90, None, "よくわからない段階", 5, "伴走記録", 9),   # =3+2, cached 5
        ("M-003", 1, "2022-10-07", 90, "DX構想の検討", "DX構想検討", 2, "伴走記録", 10),
    ]


def test_cp932_title_rows_counted_as_excel_rows(base_db):
    load_files([MESSY / "支援案件_cp932_見出しの上に表題.csv"], base_db)
    assert query(base_db, "SELECT engagement_id, source_row, client_type FROM engagements "
                          "WHERE engagement_id LIKE 'N-%' ORDER BY 1") == [
        ("N-001", 6, "自治体"), ("N-002", 7, "自治体"), ("N-003", 8, "企業")]


def test_two_line_header_never_swallows_a_data_row():
    header = ["案件ID", "回", "実施日", None]
    data = ["M-001", "1", "2022-10-05", "実施日"]       # a data row, even one with a header-like word in it
    assert combine_header_rows([header, data], 0) == (header, 0)
    merged = [["案件ID", "実施", None, "時間"], [None, "日付", "回", None]]
    assert combine_header_rows(merged, 0) == (["案件ID", "日付", "回", "時間"], 1)
    joined = [["案件ID", "実施", "回"], [None, "日", None]]          # 「実施」+「日」 = 実施日
    assert combine_header_rows(joined, 0) == (["案件ID", "実施日", "回"], 1)
    title = [["伴走記録 一覧", None, None], ["案件ID", "回", "実施日"]]
    assert combine_header_rows(title, 1) == (["案件ID", "回", "実施日"], 1)


@pytest.mark.parametrize("rows, h, expected", [
    # three lines: 「案件ID」 merged down, 「支援記録」 over 「実施」 over 「日」「回」, 「時間」 on the last line
    ([["案件ID", "支援記録", None, None], [None, "実施", None, None], [None, "日", "回", "時間"]], 0,
     (["案件ID", "実施日", "回", "時間"], 2)),
    # three lines, found from the middle line: group labels above, the last names below
    ([["", "伴走支援", None, None], ["案件ID", "実施", None, "担当ITC"], [None, "日付", "回", None]], 1,
     (["案件ID", "日付", "回", "担当ITC"], 2)),
    # a data row under a two-line header is still never swallowed
    ([["案件ID", "実施", None], [None, "日付", "回"], ["M-001", "2022-10-05", "1"]], 0,
     (["案件ID", "日付", "回"], 1)),
])
def test_header_of_three_lines(rows, h, expected):
    assert combine_header_rows(rows, h) == expected


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_three_line_header_file_loads_with_the_rows_a_person_sees(tmp_path, suffix):
    lines = [["案件ID", "支援記録", None, None], [None, "実施", None, None], [None, "日", "回", "時間"],
             ["E-1", "2022-10-05", "1", "120"], ["E-1", "2022-10-19", "2", "90"]]
    src = tmp_path / "in"
    src.mkdir()
    write_engagements(src / "支援案件.csv", ids=("E-1",))
    path = src / f"伴走記録.{suffix}"
    if suffix == "csv":
        path.write_text("\r\n".join(",".join(v or "" for v in row) for row in lines) + "\r\n", encoding="utf-8")
    else:
        wb = openpyxl.Workbook()
        for row in lines:
            wb.active.append(row)
        wb.save(path)
    db = tmp_path / "dx.duckdb"
    report = load_files([src], db)
    assert report.loaded and report.errors == [], [p.reason for p in report.errors]
    assert query(db, "SELECT session_no, date, duration_min, source_row FROM sessions ORDER BY 1") == [
        (1, dt.date(2022, 10, 5), 120, 4), (2, dt.date(2022, 10, 19), 90, 5)]


# ── bad files: message and an unchanged database ─────────────────────────────────

BAD_CASES = [
    # file, env, expected (sheet, row, column, reason fragment) or ("unreadable", fragment)
    ("支援案件_ブックではない.xlsx", {}, [("unreadable", "Excel ブック（.xlsx）として開けません")]),
    ("伴走記録_大きすぎる.csv", {"DX_MAX_FILE_MB": "0.1"},
     [("unreadable", "ファイルが大きすぎます（430 KB、上限 102 KB）")]),
    ("伴走記録_同じキーで内容違い.csv", {}, [
        (None, 2, "案件ID・回", "同じキー（M-001・3）で内容の異なる行が同じ取込にあります: 伴走記録_同じキーで内容違い.csv 4行目"),
        (None, 4, "案件ID・回", "同じキー（M-001・3）で内容の異なる行が同じ取込にあります: 伴走記録_同じキーで内容違い.csv 2行目")]),
    ("支援案件_存在しない市区町村.csv", {}, [
        (None, 2, "市区町村", "市区町村を特定できません（近い名前: 茨城県筑西市")]),
    ("伴走記録_不正な値2件.xlsx", {}, [
        ("伴走記録", 3, "実施日", "日付として読めません"),
        ("伴走記録", 4, "回", "整数として読めません")]),
    ("伴走記録_数式の結果なし.xlsx", {}, [
        ("伴走記録", 3, "参加人数", "数式のセルに計算結果が保存されていません")]),
]


@pytest.mark.parametrize("name, env, expected", BAD_CASES, ids=[b[0] for b in BAD_CASES])
def test_bad_file_message_and_database_unchanged(base_db, monkeypatch, name, env, expected):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    digest = sha256(base_db)
    report = load_files([BAD / name], base_db)
    assert not report.loaded
    assert sha256(base_db) == digest
    for exp in expected:
        if exp[0] == "unreadable":
            assert any(u.startswith(f"{name}: ") and exp[1] in u for u in report.unreadable), report.unreadable
            continue
        sheet, row, column, fragment = exp
        hits = [p for p in report.errors if (p.file_name, p.sheet, p.row, p.column) == (name, sheet, row, column)
                and fragment in p.reason]
        assert hits, (exp, [(p.sheet, p.row, p.column, p.reason) for p in report.errors])
    assert len(report.errors) == len([e for e in expected if e[0] != "unreadable"])
    # the CLI prints the same: file, (sheet,) row, column, reason — and still writes nothing
    out = io.StringIO()
    with redirect_stdout(out):
        code = cli.main(["load", str(BAD / name), "--db", str(base_db)])
    assert code == (2 if expected[0][0] == "unreadable" else 1)
    text = out.getvalue()
    for exp in expected:
        if exp[0] == "unreadable":
            assert f"読めないファイル: {name}: " in text and exp[1] in text
        else:
            sheet, row, column, fragment = exp
            where = name + (f" [{sheet}]" if sheet else "")
            assert f"エラー: {where} {row}行目 「{column}」: {fragment}" in text, text
    assert sha256(base_db) == digest


def test_bad_rows_with_accept_valid_load_only_good_rows(base_db):
    report = load_files([BAD / "伴走記録_不正な値2件.xlsx"], base_db, accept_valid=True)
    assert report.loaded
    assert query(base_db, "SELECT session_no FROM sessions ORDER BY 1") == [(2,), (5,)]
    assert query(base_db, "SELECT row_no, column_name FROM rejected_rows ORDER BY 1") == [(3, "実施日"), (4, "回")]


def test_corrected_file_updates_rows_and_duplicates_nothing(base_db, tmp_path):
    """Load a file with bad rows (good rows only), then the steward's corrected version: the bad rows arrive,
    a changed value is updated, nothing is duplicated."""
    load_files([BAD / "伴走記録_不正な値2件.xlsx"], base_db, accept_valid=True)
    wb = openpyxl.load_workbook(BAD / "伴走記録_不正な値2件.xlsx")
    ws = wb["伴走記録"]
    ws["C3"] = "2022-11-04"     # the date that was not a date
    ws["B4"] = 4                # 四 → 4
    ws["D2"] = 90               # a changed value in a row that had loaded
    fixed = tmp_path / "伴走記録_不正な値2件_修正.xlsx"
    wb.save(fixed)
    before_other = content(base_db, ("engagements",))
    report = load_files([fixed], base_db)
    assert report.loaded and not report.errors
    assert query(base_db, "SELECT session_no, date::VARCHAR, duration_min FROM sessions ORDER BY 1") == [
        (2, "2022-10-21", 90), (3, "2022-11-04", 120), (4, "2022-11-18", 120), (5, "2022-12-02", 120)]
    assert count(base_db, "sessions") == 4
    assert content(base_db, ("engagements",)) == before_other
    # and loading the same corrected file again changes no record
    snapshot = content(base_db)
    load_files([fixed], base_db)
    assert content(base_db) == snapshot
