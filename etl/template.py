"""The Excel input template: an instructions sheet (説明), one sheet per record kind with Japanese headers, drop-down
lists and one example row, and a hidden sheet (選択肢) holding the lists.

Example rows are row 2 of each sheet, in grey italics, their first cell starting with 【記入例】 (etl.extract's
EXAMPLE_MARKER): the loader skips such rows with a note, so a steward may leave them or write over them. Without the
marker the example row is a valid record (tests/test_template.py loads one).
"""
from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from .extract import EXAMPLE_MARKER, INSTRUCTIONS_SHEET
from .kinds import INDICATORS, KINDS, LOAD_ORDER, STAGES
from .paths import REFERENCE_DIR

REQUIRED_FILL = PatternFill("solid", fgColor="FCE4D6")
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
EXAMPLE_FONT = Font(italic=True, color="808080")
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
EXAMPLE_ENGAGEMENT = f"{EXAMPLE_MARKER}E-2024-001"
# one example row per kind (column name → value); the first column carries the marker
EXAMPLES = {
    "engagements": {"engagement_id": EXAMPLE_ENGAGEMENT, "fiscal_year": "令和6年度",
                    "programme": "令和6年度 地域DX促進活動支援事業", "consortium": "茨城県DX支援コミュニティ",
                    "support_type": "伴走支援", "client_name": "株式会社記入例製作所（架空）", "client_type": "企業",
                    "prefecture": "茨城県", "municipality": "筑西市", "industry": "製造業",
                    "lead_coordinator": "架空 一郎", "bank": "常陽銀行", "start_date": dt.date(2024, 5, 1),
                    "planned_sessions": 10, "status": "実施中", "deliverable": "DX計画書"},
    "sessions": {"engagement_id": EXAMPLE_ENGAGEMENT, "session_no": 1, "date": dt.date(2024, 5, 20),
                 "duration_min": "2時間", "stage": STAGES[0], "coordinators": "架空 一郎、架空 花子",
                 "bank_attended": "有", "attendees": 3, "themes": "経営ビジョン・DX戦略",
                 "notes": "経営者の想いをヒアリングした"},
    "consultations": {"consultation_id": f"{EXAMPLE_MARKER}C-2024-001", "date": dt.date(2024, 6, 10),
                      "client_name": "筑西市", "prefecture": "茨城県", "municipality": "筑西市",
                      "department": "情報政策課", "slot": "1", "theme": "情報システムの標準化・共通化",
                      "channel": "相談会", "duration_min": "50分", "coordinator": "架空 花子",
                      "summary": "標準準拠システムへの移行計画について"},
    "events": {"event_id": f"{EXAMPLE_MARKER}S-2024-001", "name": "DX気づきセミナー（記入例）",
               "kind": "DX気づきセミナー", "date": dt.date(2024, 7, 1), "consortium": "茨城県DX支援コミュニティ",
               "prefecture": "茨城県", "municipality": "水戸市", "attendees": 30, "companies": 20, "applicants": 35},
    "targets": {"fiscal_year": f"{EXAMPLE_MARKER}令和6年度", "consortium": "茨城県DX支援コミュニティ",
                "indicator": "伴走回数", "target": 100},
}
INSTRUCTIONS = [
    "地域DX支援モニター 入力テンプレート",
    "",
    "シートごとに記録の種類が決まっています: " + "、".join(KINDS[k].label for k in LOAD_ORDER) + "。",
    "1行目は見出しです（変えないでください）。色の濃い見出しは必須の列です。見出しにマウスを重ねると書き方が出ます。",
    f"2行目は記入例です。最初のセルが「{EXAMPLE_MARKER}」で始まる行は取り込まれません（残しても消しても構いません）。",
    "3行目から記録を1行に1件書いてください。",
    "日付は 2024-05-20、2024/5/20、R6.5.20、令和6年5月20日 のどれでも書けます。年度は 2024、R6、令和6年度。",
    "支援種別・支援先区分・状況・形式・種別・指標は一覧から選んでください（一覧にない値はエラーになります）。",
    "都道府県・コンソーシアム・フェーズは一覧から選ぶか入力してください。一覧にないコンソーシアム名は"
    "新しいコンソーシアムとして取り込まれ、取込時に注意（近い名前つき）が出ます。",
    "伴走記録の案件IDは、同じファイルか取込済みの支援案件の案件IDです。",
    "目標値の指標: " + "、".join(INDICATORS) + "（data/reference/indicators.csv の用語集）。",
    "取込は データ取込 画面か python -m etl load で行います。同じファイルを2回取り込んでも記録は変わりません。"
    "直したファイルを取り込むと、同じキーの行が更新されます。",
]


def _reference_names(file_name: str, column: str) -> list[str]:
    with open(REFERENCE_DIR / file_name, encoding="utf-8", newline="") as f:
        return [r[column] for r in csv.DictReader(f) if r.get(column)]


def write_template(out: Path) -> Path:
    wb = Workbook()
    wb.remove(wb.active)
    guide = wb.create_sheet(INSTRUCTIONS_SHEET)
    for r, line in enumerate(INSTRUCTIONS, start=1):
        cell = guide.cell(row=r, column=1, value=line)
        cell.alignment = Alignment(wrap_text=False)
    guide["A1"].font = Font(bold=True, size=14)
    guide.column_dimensions["A"].width = 120
    lists = wb.create_sheet("選択肢")
    # (choices, strict): strict lists refuse other values in Excel; the others only suggest (a new consortium, 茨城)
    extra_lists = {"prefecture": (_reference_names("prefectures.csv", "prefecture"), False),
                   "consortium": (_reference_names("consortia.csv", "consortium"), False)}
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
            if col.choices:
                choices, strict = col.choices, True
            elif (name, col.name) == ("sessions", "stage"):
                choices, strict = STAGES, False
            elif col.type == "prefecture" or col.name == "consortium":
                choices, strict = extra_lists["prefecture" if col.type == "prefecture" else "consortium"]
            else:
                continue
            # lists go through a range on the 選択肢 sheet (Excel limits inline lists to 255 chars)
            list_col = lists.max_column + 1 if lists.max_row > 1 or lists["A1"].value else 1
            lists.cell(row=1, column=list_col, value=f"{kind.label}:{col.label}")
            for r, choice in enumerate(choices, start=2):
                lists.cell(row=r, column=list_col, value=choice)
            letter = get_column_letter(list_col)
            dv = DataValidation(type="list", formula1=f"=選択肢!${letter}$2:${letter}${len(choices) + 1}",
                                allow_blank=not col.required, showErrorMessage=strict)
            dv.error = f"{col.label}は一覧から選んでください"
            if not strict:
                dv.prompt = "一覧から選ぶか、入力してください"
                dv.showInputMessage = True
            ws.add_data_validation(dv)
            dv.add(f"{get_column_letter(i)}2:{get_column_letter(i)}{ROWS_WITH_LISTS}")
        example = EXAMPLES[name]
        for i, col in enumerate(kind.columns, start=1):
            cell = ws.cell(row=2, column=i, value=example.get(col.name))
            cell.font = EXAMPLE_FONT
            if isinstance(cell.value, dt.date):
                cell.number_format = "yyyy-mm-dd"
        ws.freeze_panes = "A2"
    lists.sheet_state = "hidden"
    wb.move_sheet(lists, offset=len(wb.sheetnames))
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out
