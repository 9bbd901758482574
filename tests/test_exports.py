"""Exports: formula injection cannot pass (CSV and .xlsx), numbers stay numbers, dates are dates, the 条件 sheet
states the context, CSV is UTF-8 with BOM and CRLF. Real files, read back with csv and openpyxl."""
from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile

import openpyxl
import pandas as pd
import pytest

from monitor.exports import (
    CONDITIONS_SHEET,
    EXPORTED_AT,
    conditions_for,
    display_width,
    safe_text,
    to_csv,
    to_csv_zip,
    to_xlsx,
)

INJECTIONS = [
    '=HYPERLINK("http://example.invalid","x")',
    "@SUM(A1)",
    "+1",
    "-1+2",
    "\t=1+1",
    "\r=1+1",
    "=1+1",
]
CONDITIONS = {"年度": "令和4年度（2022年度）", "絞り込み": "都道府県: 茨城県｜コンソーシアム: すべて",
              "データ基準日": "2025年2月28日", "データの種類": "サンプルデータ"}


def _frame(text: str) -> pd.DataFrame:
    return pd.DataFrame({
        "支援先": [text, "普通の会社"],
        "実施回数": pd.array([10, 7], dtype="Int64"),
        "達成率（%）": [87.5, None],
        "開始日": [dt.date(2022, 10, 5), None],
        "記録日時": pd.to_datetime(["2022-10-05", "2023-03-31"]),
    })


def _read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "CSV must start with the UTF-8 BOM"
    text = data[3:].decode("utf-8")
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("text", INJECTIONS)
def test_safe_text_prefixes_formula_like_text(text):
    assert safe_text(text) == "'" + text
    assert safe_text("普通のテキスト") == "普通のテキスト"
    assert safe_text(-1) == -1 and safe_text(2.5) == 2.5 and safe_text(None) is None


@pytest.mark.parametrize("text", INJECTIONS)
def test_csv_writes_formula_like_text_as_text(text):
    rows = _read_csv(to_csv(_frame(text)))
    assert rows[0] == ["支援先", "実施回数", "達成率（%）", "開始日", "記録日時"]
    assert rows[1][0] == "'" + text          # Excel shows it as text, never runs it
    assert rows[2][0] == "普通の会社"
    # numbers stay plain numbers, dates are ISO dates, missing values are empty
    assert rows[1][1:] == ["10", "87.5", "2022-10-05", "2022-10-05"]
    assert rows[2][1:] == ["7", "", "", "2023-03-31"]


@pytest.mark.parametrize("text", INJECTIONS)
def test_xlsx_writes_formula_like_text_as_string_cells(text, tmp_path):
    path = tmp_path / "export.xlsx"
    path.write_bytes(to_xlsx({"支援企業": _frame(text)}, CONDITIONS))
    wb = openpyxl.load_workbook(path)
    ws = wb["支援企業"]
    cell = ws["A2"]
    assert cell.data_type == "s", f"{text!r} became {cell.data_type!r}"
    # .xlsx (XML) cannot keep a bare carriage return: it is written as a line feed
    assert cell.value == text.replace("\r", "\n")
    assert cell.quotePrefix                     # editing the cell in Excel keeps it text as well
    assert not any(c.data_type == "f" for row in ws.iter_rows() for c in row)
    # the same through the raw XML: no <f> formula element anywhere in the sheet
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in zf.read(name) and b"<f " not in zf.read(name)


def test_xlsx_numbers_dates_headers_and_widths(tmp_path):
    path = tmp_path / "export.xlsx"
    path.write_bytes(to_xlsx({"支援企業": _frame("かもめ食品株式会社（架空）")}, CONDITIONS))
    wb = openpyxl.load_workbook(path)
    ws = wb["支援企業"]
    assert [c.value for c in ws[1]] == ["支援先", "実施回数", "達成率（%）", "開始日", "記録日時"]
    assert all(c.data_type == "s" for c in ws[1])
    assert ws["B2"].value == 10 and ws["B2"].data_type == "n"
    assert ws["C2"].value == 87.5 and ws["C2"].data_type == "n"
    assert ws["C3"].value is None
    assert ws["D2"].is_date and ws["D2"].value.date() == dt.date(2022, 10, 5)
    assert ws["E3"].is_date and ws["E3"].value.date() == dt.date(2023, 3, 31)
    # column widths fit the text; East Asian characters count double
    assert ws.column_dimensions["A"].width >= display_width("かもめ食品株式会社（架空）") == 26
    assert ws.column_dimensions["B"].width >= display_width("実施回数") == 8
    assert ws.freeze_panes == "A2"


def test_xlsx_conditions_sheet_states_the_context(tmp_path):
    path = tmp_path / "export.xlsx"
    now = dt.datetime(2025, 3, 1, 9, 30)
    conditions = conditions_for("年度: 令和4年度（2022年度）｜都道府県: 茨城県", fiscal_year_text="令和4年度（2022年度）",
                                data_as_of=dt.date(2025, 2, 28), is_sample=True, title="実績報告", now=now)
    path.write_bytes(to_xlsx({"表A": pd.DataFrame({"値": [1]}), "表B": pd.DataFrame({"値": [2]})}, conditions))
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [CONDITIONS_SHEET, "表A", "表B"]
    rows = {r[0]: r[1] for r in wb[CONDITIONS_SHEET].iter_rows(min_row=2, values_only=True)}
    assert rows["年度"] == "令和4年度（2022年度）"
    assert "都道府県: 茨城県" in rows["絞り込み"]
    assert rows["データ基準日"] == "2025年2月28日"
    assert rows["データの種類"].startswith("サンプルデータ")
    assert rows[EXPORTED_AT] == "2025年3月1日 09:30"
    assert all(c.data_type == "s" for row in wb[CONDITIONS_SHEET].iter_rows() for c in row if c.value is not None)
    real = conditions_for("x", fiscal_year_text="令和4年度（2022年度）", data_as_of=None, is_sample=False)
    assert real["データの種類"] == "実績データ" and EXPORTED_AT in real


def test_xlsx_sheet_names_are_made_valid(tmp_path):
    data = to_xlsx({"a/b:c*?[x]": pd.DataFrame({"v": [1]}), "長" * 40: pd.DataFrame({"v": [2]}),
                    "条件": pd.DataFrame({"v": [3]})}, {})
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames[0] == CONDITIONS_SHEET
    assert wb.sheetnames[1] == "a_b_c___x_"
    assert len(wb.sheetnames[2]) == 31
    assert wb.sheetnames[3] != CONDITIONS_SHEET and len(set(wb.sheetnames)) == 4


def test_csv_is_utf8_bom_crlf():
    data = to_csv(pd.DataFrame({"テーマ": ["調達支援", "改行を\n含む"], "件数": [30, 1]}))
    assert data.startswith(b"\xef\xbb\xbf")
    body = data[3:]
    assert body.startswith("テーマ,件数\r\n".encode("utf-8"))
    assert body.count(b"\r\n") == 3
    rows = _read_csv(data)
    assert rows[2] == ["改行を\n含む", "1"]


def test_csv_zip_holds_conditions_and_every_table():
    data = to_csv_zip({"実績サマリー": pd.DataFrame({"項目": ["=1+1"], "実績": [1]}),
                       "支援企業": pd.DataFrame({"支援先": ["a"]})}, CONDITIONS)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        assert names == ["条件.csv", "実績サマリー.csv", "支援企業.csv"]
        conditions = dict(_read_csv(zf.read("条件.csv"))[1:])
        assert conditions["年度"] == "令和4年度（2022年度）" and EXPORTED_AT in conditions
        assert _read_csv(zf.read("実績サマリー.csv"))[1] == ["'=1+1", "1"]


def test_xlsx_counts_are_integers_months_are_months_and_print_setup(tmp_path):
    """Counts as integer cells with #,##0 (865, never 865.0) also in a float column that mixes counts and rates;
    a rate column keeps one decimal; months as yyyy"年"m"月"; A4 landscape, one page wide, header row repeated."""
    summary = pd.DataFrame({"項目": ["支援企業数", "金融機関同行率"],
                            "実績": pd.array([865.0, 30.6], dtype="Float64"),
                            "達成率（%）": pd.array([100.0, 61.2], dtype="Float64")})
    monthly = pd.DataFrame({"月": [dt.date(2024, 4, 1), dt.date(2024, 5, 1)],
                            "実施回数": pd.array([1234, 5], dtype="Int64"),
                            "開始日": [dt.date(2024, 4, 3), None]})
    path = tmp_path / "export.xlsx"
    path.write_bytes(to_xlsx({"実績サマリー": summary, "伴走支援_月別": monthly},
                             dict(CONDITIONS, 表題="令和6年度 実績報告")))
    wb = openpyxl.load_workbook(path)
    ws = wb["実績サマリー"]
    assert ws["B2"].value == 865 and isinstance(ws["B2"].value, int) and ws["B2"].number_format == "#,##0"
    assert ws["B3"].value == 30.6 and ws["B3"].number_format == "#,##0.0"
    assert ws["C2"].value == 100.0 and ws["C2"].number_format == "#,##0.0"      # a rate keeps its decimal
    months = wb["伴走支援_月別"]
    assert months["A2"].is_date and months["A2"].number_format == 'yyyy"年"m"月"'
    assert months["A2"].value.date() == dt.date(2024, 4, 1)
    assert months["B2"].value == 1234 and months["B2"].number_format == "#,##0"
    assert months["C2"].number_format == 'yyyy"年"m"月"d"日"'                    # a day stays a day
    for sheet in (ws, months, wb[CONDITIONS_SHEET]):
        assert sheet.page_setup.orientation == "landscape"
        assert int(sheet.page_setup.paperSize) == 9                              # A4
        assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet.page_setup.fitToWidth == 1
        assert sheet.print_title_rows == "$1:$1"                                # the header row on every page
        assert "&P / &N" in sheet.oddFooter.right.text
    assert "令和6年度 実績報告" in ws.oddHeader.left.text and "2025年2月28日" in ws.oddHeader.left.text


def test_single_table_csv_carries_its_context_lines():
    """A per-table CSV starts with the 条件 lines the zip's 条件.csv has (filters, as-of, 出力日時), an empty line,
    then the table; formula-like context is made safe like any cell."""
    now = dt.datetime(2025, 3, 1, 9, 30)
    context = conditions_for("年度: 令和4年度（2022年度）｜都道府県: =茨城県", fiscal_year_text="令和4年度（2022年度）",
                             data_as_of=dt.date(2025, 2, 28), is_sample=False, title="支援企業", now=now)
    rows = _read_csv(to_csv(pd.DataFrame({"支援先": ["a", "b"], "実施回数": [3, 4]}), context=context))
    blank = rows.index([])
    lines = dict(rows[:blank])
    assert lines["表題"] == "支援企業" and lines["データ基準日"] == "2025-02-28"     # the CSV's one date form
    assert lines["絞り込み"] == "年度: 令和4年度（2022年度）｜都道府県: =茨城県"     # not formula-like: it starts with 年
    assert lines[EXPORTED_AT] == "2025-03-01 09:30" and lines["データの種類"] == "実績データ"
    assert rows[blank + 1:] == [["支援先", "実施回数"], ["a", "3"], ["b", "4"]]
    with zipfile.ZipFile(io.BytesIO(to_csv_zip({"支援企業": pd.DataFrame({"支援先": ["a"]})}, context))) as zf:
        zipped = dict(_read_csv(zf.read("条件.csv"))[1:])
    assert zipped == lines                                         # the same lines as the zip's 条件.csv
    risky = _read_csv(to_csv(pd.DataFrame({"v": [1]}), context={"表題": "=cmd"}))
    assert risky[0] == ["表題", "'=cmd"]


def test_one_date_form_per_medium(tmp_path):
    """The workbook's date cells read as its 条件 sheet's text does (2022年10月5日); a CSV writes ISO dates in its
    rows and in its 条件 lines alike."""
    now = dt.datetime(2025, 3, 1, 9, 30)
    context = conditions_for("x", fiscal_year_text="令和4年度（2022年度）", data_as_of=dt.date(2025, 2, 28),
                             is_sample=False, now=now)
    frame = pd.DataFrame({"開始日": [dt.date(2022, 10, 5)], "記録日時": [dt.datetime(2022, 10, 5, 13, 45)]})
    wb = openpyxl.load_workbook(io.BytesIO(to_xlsx({"表": frame}, context)))
    assert wb["表"]["A2"].number_format == 'yyyy"年"m"月"d"日"'
    assert wb["表"]["B2"].number_format == 'yyyy"年"m"月"d"日" hh:mm'
    conditions = {r[0]: r[1] for r in wb[CONDITIONS_SHEET].iter_rows(min_row=2, values_only=True)}
    assert conditions["データ基準日"] == "2025年2月28日" and conditions[EXPORTED_AT] == "2025年3月1日 09:30"
    rows = _read_csv(to_csv(frame, context=context))
    blank = rows.index([])
    assert dict(rows[:blank])["データ基準日"] == "2025-02-28" and dict(rows[:blank])[EXPORTED_AT] == "2025-03-01 09:30"
    assert rows[blank + 2] == ["2022-10-05", "2022-10-05 13:45:00"]
    assert "年度" in dict(rows[:blank]) and dict(rows[:blank])["年度"] == "令和4年度（2022年度）"   # 年度 is no date
