"""The Excel input template: one sheet per record kind, Japanese headers, drop-down lists."""
from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from .kinds import KINDS, LOAD_ORDER, STAGES

REQUIRED_FILL = PatternFill("solid", fgColor="FCE4D6")
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
TYPE_HINT = {
    "date": "日付（2022-10-05、2022/10/5、R4.10.5、令和4年10月5日）",
    "fiscal_year": "年度（2022、R4、令和4年度）",
    "int": "整数", "number": "数値",
    "minutes": "時間（120、2時間、1時間30分、1.5h）",
    "bool": "有/無（○/×、はい/いいえ も可）",
    "list": "複数は「、」区切り",
    "municipality": "市区町村名か全国地方公共団体コード",
    "prefecture": "都道府県名",
}
ROWS_WITH_LISTS = 1000


def write_template(out: Path) -> Path:
    wb = Workbook()
    wb.remove(wb.active)
    lists = wb.create_sheet("選択肢")
    for name in LOAD_ORDER:
        kind = KINDS[name]
        ws = wb.create_sheet(kind.label)
        for i, col in enumerate(kind.columns, start=1):
            cell = ws.cell(row=1, column=i, value=col.label)
            cell.font = Font(bold=True)
            cell.fill = REQUIRED_FILL if col.required else HEADER_FILL
            hint = ("必須。" if col.required else "") + TYPE_HINT.get(col.type, "文字")
            if col.choices:
                hint += "。選択: " + "、".join(col.choices)
            cell.comment = Comment(hint, "地域DX支援モニター")
            ws.column_dimensions[get_column_letter(i)].width = max(12, len(col.label) * 2 + 4)
            choices = col.choices or (STAGES if (name, col.name) == ("sessions", "stage") else ())
            if choices:
                # long lists go through a range on the 選択肢 sheet (Excel limits inline lists to 255 chars)
                list_col = lists.max_column + 1 if lists.max_row > 1 or lists["A1"].value else 1
                lists.cell(row=1, column=list_col, value=f"{kind.label}:{col.label}")
                for r, choice in enumerate(choices, start=2):
                    lists.cell(row=r, column=list_col, value=choice)
                letter = get_column_letter(list_col)
                dv = DataValidation(type="list", formula1=f"=選択肢!${letter}$2:${letter}${len(choices) + 1}",
                                    allow_blank=not col.required,
                                    showErrorMessage=(name, col.name) != ("sessions", "stage"))
                dv.error = f"{col.label}は一覧から選んでください"
                ws.add_data_validation(dv)
                dv.add(f"{get_column_letter(i)}2:{get_column_letter(i)}{ROWS_WITH_LISTS}")
        ws.freeze_panes = "A2"
    lists.sheet_state = "hidden"
    wb.move_sheet(lists, offset=len(wb.sheetnames))
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out
