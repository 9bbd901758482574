"""The Excel input template: sheets, Japanese headers, drop-down lists, and a filled template that loads."""
from __future__ import annotations

import csv
import datetime as dt
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from etl.kinds import CLIENT_TYPES, EVENT_KINDS, INDICATORS, KINDS, LOAD_ORDER, STAGES, STATUSES, SUPPORT_TYPES
from etl.load import load_files
from tests.support.etl_helpers import query

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tpl") / "sub" / "template.xlsx"
    result = subprocess.run([sys.executable, "-m", "etl", "template", str(out)], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert str(out) in result.stdout
    return out


def test_one_sheet_per_kind_with_japanese_headers(template):
    wb = openpyxl.load_workbook(template)
    visible = [ws.title for ws in wb.worksheets if ws.sheet_state == "visible"]
    assert visible == ["説明"] + [KINDS[k].label for k in LOAD_ORDER]
    guide = "\n".join(str(c.value) for c in wb["説明"]["A"] if c.value)
    assert "【記入例】" in guide and "令和6年5月20日" in guide and "伴走回数" in guide
    for name in LOAD_ORDER:
        ws = wb[KINDS[name].label]
        assert [c.value for c in ws[1]] == [c.label for c in KINDS[name].columns]


def _validation(ws, column_label: str):
    col = next(c.column_letter for c in ws[1] if c.value == column_label)
    [dv] = [dv for dv in ws.data_validations.dataValidation if any(col + "2" in str(r) for r in dv.sqref.ranges)]
    assert dv.type == "list"
    return dv


def _choices(wb, ws, column_label: str) -> list[str]:
    """The allowed values of the drop-down on a column (inline list or a range on another sheet)."""
    formula = _validation(ws, column_label).formula1.lstrip("=")
    if formula.startswith('"'):
        return formula.strip('"').split(",")
    sheet, cells = formula.split("!")
    return [c[0].value for c in wb[sheet.strip("'")][cells.replace("$", "")]]


@pytest.mark.parametrize("sheet,column,expected", [
    ("支援案件", "支援種別", SUPPORT_TYPES),
    ("支援案件", "支援先区分", CLIENT_TYPES),
    ("支援案件", "状況", STATUSES),
    ("伴走記録", "フェーズ", STAGES),
    ("セミナー・研修", "種別", EVENT_KINDS),
])
def test_drop_down_lists(template, sheet, column, expected):
    wb = openpyxl.load_workbook(template)
    assert _choices(wb, wb[sheet], column) == list(expected)


def _reference(file_name: str, column: str) -> list[str]:
    with open(ROOT / "data" / "reference" / file_name, encoding="utf-8", newline="") as f:
        return [r[column] for r in csv.DictReader(f)]


def _glossary_targets() -> list[str]:
    # independent of etl.kinds: the glossary's non-empty target_indicator values, first occurrence order
    return list(dict.fromkeys(v for v in _reference("indicators.csv", "target_indicator") if v.strip()))


@pytest.mark.parametrize("sheet,column,source,strict", [
    ("支援案件", "都道府県", ("prefectures.csv", "prefecture"), False),
    ("相談記録", "都道府県", ("prefectures.csv", "prefecture"), False),
    ("セミナー・研修", "都道府県", ("prefectures.csv", "prefecture"), False),
    ("支援案件", "コンソーシアム", ("consortia.csv", "consortium"), False),
    ("セミナー・研修", "コンソーシアム", ("consortia.csv", "consortium"), False),
    ("目標値", "コンソーシアム", ("consortia.csv", "consortium"), False),
    ("目標値", "指標", None, True),
])
def test_drop_downs_for_names_a_steward_types(template, sheet, column, source, strict):
    wb = openpyxl.load_workbook(template)
    expected = _reference(*source) if source else _glossary_targets()
    assert _choices(wb, wb[sheet], column) == expected
    assert len(expected) == (47 if source and source[0] == "prefectures.csv" else len(expected)) > 0
    # a new consortium (or 茨城 for 茨城県) can still be typed: no stop error; 指標 must be one of the list
    assert bool(_validation(wb[sheet], column).showErrorMessage) is strict
    if not source:
        assert tuple(expected) == INDICATORS


def test_one_example_row_per_sheet_marked_and_skipped_with_a_note(template, tmp_path):
    wb = openpyxl.load_workbook(template)
    for name in LOAD_ORDER:
        ws = wb[KINDS[name].label]
        row2 = [c.value for c in ws[2]]
        assert str(row2[0]).startswith("【記入例】"), (name, row2)
        assert ws.cell(row=2, column=1).font.i                      # grey italics: recognisable
        assert ws.max_row == 2
    report = load_files([template], tmp_path / "dx.duckdb")
    assert report.errors == [] and report.loaded
    assert report.rows_by_kind() == {k: 0 for k in LOAD_ORDER}
    assert sorted(report.file_notes) == sorted(
        f"{template.name} [{KINDS[k].label}]: 記入例の行（2行目、最初のセルが「【記入例】」で始まる行）は取り込みません"
        for k in LOAD_ORDER)
    assert query(tmp_path / "dx.duckdb", "SELECT count(*) FROM engagements")[0][0] == 0


def test_example_rows_are_valid_records_without_the_marker(template, tmp_path):
    """What the example shows loads as written once the marker is removed (the example teaches a valid row)."""
    wb = openpyxl.load_workbook(template)
    for name in LOAD_ORDER:
        cell = wb[KINDS[name].label].cell(row=2, column=1)
        cell.value = str(cell.value).removeprefix("【記入例】")
    wb["伴走記録"].cell(row=2, column=1).value = "E-2024-001"
    out = tmp_path / "例.xlsx"
    wb.save(out)
    report = load_files([out], tmp_path / "dx.duckdb")
    assert report.errors == [], [(p.where(), p.reason) for p in report.errors]
    assert report.rows_by_kind() == {k: 1 for k in LOAD_ORDER}
    assert report.file_notes == []
    assert query(tmp_path / "dx.duckdb", "SELECT engagement_id, client_name, start_date FROM engagements") == [
        ("E-2024-001", "株式会社記入例製作所(架空)", dt.date(2024, 5, 1))]  # （） normalised


def test_filled_template_loads(template, tmp_path):
    wb = openpyxl.load_workbook(template)
    def fill(label, rows):
        ws = wb[label]
        headers = [c.value for c in ws[1]]
        for r in rows:
            ws.append([r.get(h) for h in headers])
    fill("支援案件", [
        {"案件ID": "T-1", "年度": "R6", "支援種別": "伴走支援", "支援先名": "架空テンプレ株式会社", "支援先区分": "企業",
         "都道府県": "長野県", "市区町村": "松本市", "開始日": dt.datetime(2024, 5, 1), "状況": "実施中"},
        {"案件ID": "T-2", "年度": 2024, "支援種別": "調達支援", "支援先名": "岐阜市", "支援先区分": "自治体",
         "都道府県": "岐阜県", "市区町村": "岐阜市"},
    ])
    fill("伴走記録", [
        {"案件ID": "T-1", "回": 1, "実施日": dt.datetime(2024, 5, 20), "時間": "2時間", "フェーズ": STAGES[0],
         "担当ITC": "架空一郎、架空花子", "金融機関同行": "○", "参加人数": 3, "テーマ": "DX戦略"},
        {"案件ID": "T-1", "回": 2, "実施日": "2024/6/3", "時間": 90, "フェーズ": STAGES[1]},
    ])
    fill("相談記録", [{"相談日": dt.datetime(2024, 6, 10), "相談元": "岐阜市", "都道府県": "岐阜県",
                      "相談テーマ": "仕様書の確認", "形式": "訪問", "案件ID": "T-2"}])
    fill("セミナー・研修", [{"イベントID": "EV-T", "名称": "DX気づきセミナー（架空）", "種別": "DX気づきセミナー",
                          "開催日": dt.datetime(2024, 7, 1), "参加者数": 30}])
    fill("目標値", [{"年度": 2024, "コンソーシアム": "長野県DX支援コミュニティ", "指標": "伴走回数", "目標値": 80},
                   # a consortium typed in (not in the drop-down): loads, with a warning
                   {"年度": 2024, "コンソーシアム": "岐阜県DX支援コミュニティ", "指標": "支援企業数", "目標値": 5}])
    filled = tmp_path / "記入済み.xlsx"
    wb.save(filled)
    db = tmp_path / "dx.duckdb"
    report = load_files([filled], db)
    assert report.unreadable == [] and report.errors == [], [(p.where(), p.reason) for p in report.errors]
    assert report.loaded
    assert len(report.file_notes) == 5                                # the example rows, left in place, skipped
    [new] = [p for p in report.problems if p.column == "コンソーシアム"]
    assert (new.sheet, new.row, new.value, new.severity) == ("目標値", 4, "岐阜県DX支援コミュニティ", "warning")
    assert report.rows_by_kind() == {"engagements": 2, "sessions": 2, "consultations": 1, "events": 1, "targets": 2}
    assert not any("非表示" in w for w in report.warnings)
    assert query(db, "SELECT engagement_id, fiscal_year, municipality_code, start_date FROM engagements ORDER BY 1") == [
        ("T-1", 2024, "202029", dt.date(2024, 5, 1)), ("T-2", 2024, "212016", None)]
    assert query(db, "SELECT session_no, date, duration_min, stage_no, coordinators, bank_attended FROM sessions "
                     "ORDER BY 1") == [(1, dt.date(2024, 5, 20), 120, 1, ["架空一郎", "架空花子"], True),
                                       (2, dt.date(2024, 6, 3), 90, 2, None, None)]
    assert query(db, "SELECT theme, source_sheet, source_row FROM consultations") == [("調達支援", "相談記録", 3)]
    assert query(db, "SELECT consortium, indicator FROM targets ORDER BY 1") == [
        ("岐阜県DX支援コミュニティ", "支援企業数"), ("長野県DX支援コミュニティ", "伴走回数")]


def test_filled_template_with_an_unknown_indicator_is_rejected_listing_the_valid_ones(template, tmp_path):
    wb = openpyxl.load_workbook(template)
    wb["目標値"].append([2024, "", "伴走支援回数", 100])
    filled = tmp_path / "指標違い.xlsx"
    wb.save(filled)
    report = load_files([filled], tmp_path / "dx.duckdb")
    assert not report.loaded and report.exit_code == 1
    [err] = report.errors
    assert (err.sheet, err.row, err.column, err.value) == ("目標値", 3, "指標", "伴走支援回数")
    assert err.reason == "「指標」は " + "、".join(_glossary_targets()) + " のいずれかで指定してください"


def test_empty_template_loads_nothing_without_errors(template, tmp_path):
    report = load_files([template], tmp_path / "dx.duckdb")
    assert report.unreadable == [] and report.errors == []
    assert all(t.rows_read == 0 for t in report.tables) and len(report.tables) == 5
