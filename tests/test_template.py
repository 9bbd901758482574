"""The Excel input template: sheets, Japanese headers, drop-down lists, and a filled template that loads."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from etl.kinds import CLIENT_TYPES, EVENT_KINDS, KINDS, LOAD_ORDER, STAGES, STATUSES, SUPPORT_TYPES
from etl.load import load_files
from etl_helpers import query

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
    assert visible == [KINDS[k].label for k in LOAD_ORDER]
    for name in LOAD_ORDER:
        ws = wb[KINDS[name].label]
        assert [c.value for c in ws[1]] == [c.label for c in KINDS[name].columns]


def _choices(wb, ws, column_label: str) -> list[str]:
    """The allowed values of the drop-down on a column (inline list or a range on another sheet)."""
    col = next(c.column_letter for c in ws[1] if c.value == column_label)
    [dv] = [dv for dv in ws.data_validations.dataValidation if any(col + "2" in str(r) for r in dv.sqref.ranges)]
    assert dv.type == "list"
    formula = dv.formula1.lstrip("=")
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
    fill("目標値", [{"年度": 2024, "コンソーシアム": "長野県DX支援コミュニティ", "指標": "伴走回数", "目標値": 80}])
    filled = tmp_path / "記入済み.xlsx"
    wb.save(filled)
    db = tmp_path / "dx.duckdb"
    report = load_files([filled], db)
    assert report.unreadable == [] and report.errors == [], [(p.where(), p.reason) for p in report.errors]
    assert report.loaded
    assert report.rows_by_kind() == {"engagements": 2, "sessions": 2, "consultations": 1, "events": 1, "targets": 1}
    assert not any("非表示" in w for w in report.warnings)
    assert query(db, "SELECT engagement_id, fiscal_year, municipality_code, start_date FROM engagements ORDER BY 1") == [
        ("T-1", 2024, "202029", dt.date(2024, 5, 1)), ("T-2", 2024, "212016", None)]
    assert query(db, "SELECT session_no, date, duration_min, stage_no, coordinators, bank_attended FROM sessions "
                     "ORDER BY 1") == [(1, dt.date(2024, 5, 20), 120, 1, ["架空一郎", "架空花子"], True),
                                       (2, dt.date(2024, 6, 3), 90, 2, None, None)]
    assert query(db, "SELECT theme, source_sheet, source_row FROM consultations") == [("調達支援", "相談記録", 2)]


def test_empty_template_loads_nothing_without_errors(template, tmp_path):
    report = load_files([template], tmp_path / "dx.duckdb")
    assert report.unreadable == [] and report.errors == []
    assert all(t.rows_read == 0 for t in report.tables) and len(report.tables) == 5
