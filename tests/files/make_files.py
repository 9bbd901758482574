"""Writes the messy-file corpus: tests/files/messy/ (odd but valid) and tests/files/bad/ (must be refused).

Deterministic: run it again and the bytes are the same (fixed workbook timestamps, fixed zip entry times).
    .venv/bin/python tests/files/make_files.py
The expectations for every file are in tests/test_messy_files.py.

Excel files are written with openpyxl and then post-processed at the zip level where openpyxl cannot produce
what real Excel writes: a formula cell WITH its cached value (<f>…</f><v>…</v>); openpyxl itself writes formulas
without a cached value, which is exactly the other case we need (a workbook saved by a program that never
calculated it).
"""
from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

HERE = Path(__file__).resolve().parent
MESSY = HERE / "messy"
BAD = HERE / "bad"
FIXED_TIME = dt.datetime(2022, 11, 1, 9, 0, 0)
ZIP_TIME = (2022, 11, 1, 9, 0, 0)

ENG_HEADER = ["案件ID", "年度", "支援種別", "支援先名", "支援先区分", "都道府県", "市区町村", "開始日", "予定回数", "状況"]


def _csv(rows: list[list[str]], newline: str = "\r\n") -> str:
    out = []
    for r in rows:
        cells = []
        for c in r:
            c = str(c)
            if any(ch in c for ch in ',"\n\r'):
                c = '"' + c.replace('"', '""') + '"'
            cells.append(c)
        out.append(",".join(cells))
    return newline.join(out) + newline


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _normalise_zip(data: bytes, cached_values: dict[str, str] | None = None) -> bytes:
    """Rewrite an openpyxl .xlsx with fixed entry times; optionally give formulas cached values
    (formula text → cached value), as Excel does when it saves a calculated workbook."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if cached_values and info.filename.startswith("xl/worksheets/sheet"):
                text = body.decode("utf-8")
                for formula, value in cached_values.items():
                    f = re.escape(formula)
                    text = re.sub(rf"<f>{f}</f>(<v\s*/>|<v></v>)?", f"<f>{formula}</f><v>{value}</v>", text)
                body = text.encode("utf-8")
            if info.filename == "docProps/core.xml":   # openpyxl stamps the save time here
                body = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2022-11-01T09:00:00Z", body)
            zi = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            dst.writestr(zi, body)
    return out.getvalue()


def _workbook() -> Workbook:
    wb = Workbook()
    wb.properties.creator = "make_files.py"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    return wb


def save_workbook(wb: Workbook, path: Path, cached_values: dict[str, str] | None = None) -> None:
    buf = io.BytesIO()
    wb.save(buf)
    write_bytes(path, _normalise_zip(buf.getvalue(), cached_values))


# ── messy but valid ─────────────────────────────────────────────────────────────

def engagements_utf8_bom() -> None:
    """UTF-8 with BOM; 年度 in 和暦; dates as 和暦 text; 予定回数 full-width; the base engagements M-001…M-005."""
    rows = [ENG_HEADER,
            ["M-001", "令和4年度", "伴走支援", "架空メッセ株式会社（架空）", "企業", "茨城県", "筑西市", "令和4年9月1日", "１０", "実施中"],
            ["M-002", "R4", "伴走支援", "架空精機株式会社（架空）", "企業", "茨城県", "水戸市", "R4.9.5", "10", "実施中"],
            ["M-003", "2022年度", "伴走支援", "架空食品有限会社（架空）", "企業", "茨城", "つくば市", "2022/9/12", "８", "完了"],
            ["M-004", "2022", "伴走支援", "架空運輸株式会社（架空）", "企業", "茨城県", "08220", "2022-09-20", "", "予定"],
            ["M-005", "２０２２", "伴走支援", "架空建設株式会社（架空）", "企業", "茨城県", "土浦市", "2022年10月3日", "10", "実施中"]]
    write_bytes(MESSY / "支援案件_utf8_bom.csv", b"\xef\xbb\xbf" + _csv(rows).encode("utf-8"))


def engagements_cp932_title() -> None:
    """CP932 (no BOM), a title line and blank lines above the header, trailing empty columns and blank lines."""
    rows = [["令和4年度 支援案件一覧（茨城県DX支援コミュニティ）", "", "", ""],
            [],
            ["作成: 2022年11月1日"],
            [],
            ENG_HEADER + ["", "", ""],
            ["N-001", "令和4年度", "計画策定支援", "架空市役所（架空）", "自治体", "茨城県", "筑西市", "令和4年6月1日", "", "完了", "", "", ""],
            ["N-002", "令和4年度", "CIO補佐官", "架空町役場（架空）", "自治体", "茨城県", "境町", "R4/7/1", "", "実施中", "", "", ""],
            ["N-003", "令和4年度", "相談会", "架空株式会社（架空）", "企業", "茨城県", "笠間市", "2022年7月15日", "", "完了", "", "", ""],
            [], [], ["", "", "", ""]]
    text = _csv([r for r in rows])
    write_bytes(MESSY / "支援案件_cp932_見出しの上に表題.csv", text.encode("cp932"))


def sessions_workbook() -> None:
    """One workbook with most of what Excel users do: title and blank rows above a two-line header with merged
    cells (「実施」 over 「日付」「回」), dates as Excel dates, serial numbers and 和暦 text, numbers as text
    (full-width, 桁区切り), a formula with its cached value, stage and theme written differently, trailing
    blank rows and columns that carry formatting, and a hidden sheet with old records."""
    wb = _workbook()
    ws = wb.active
    ws.title = "伴走記録"
    ws["A1"] = "伴走支援 実施記録（令和4年度）"
    ws["A1"].font = Font(bold=True, size=14)
    # row 2 blank; header on rows 3-4
    top = ["案件ID", "実施", None, "時間", "フェーズ", "参加人数", "テーマ", "担当ITC"]
    sub = [None, "日付", "回", None, None, None, None, None]
    for c, v in enumerate(top, start=1):
        ws.cell(row=3, column=c, value=v)
    for c, v in enumerate(sub, start=1):
        ws.cell(row=4, column=c, value=v)
    ws.merge_cells("B3:C3")
    for col in "ADEFGH":
        ws.merge_cells(f"{col}3:{col}4")
    data = [
        ["M-001", dt.datetime(2022, 10, 5), 1, 120, "経営理念・ミッションの確認", 3, "DX推進体制、人材育成", "山田（架空）"],
        ["M-001", 44853, "２", "1時間30分", "ＤＸ構想の検討", "１２", "クラウド活用", "山田（架空）"],   # serial 2022-10-19
        ["M-002", "令和4年10月6日", "1", "2時間", "現状分析・課題整理", "1,234", "業務効率化", "佐藤（架空）"],
        [None, None, None, None, None, None, None, None],                                          # blank row inside
        ["M-002", "R4.10.20", "２", "90", "よくわからない段階", "=3+2", "なんでも相談", "佐藤（架空）"],
        ["M-003", "2022/10/7", "1", "1.5h", "DX構想検討", "２", "セキュリティ", "鈴木（架空）"],
    ]
    for r, row in enumerate(data, start=5):
        for c, v in enumerate(row, start=1):
            ws.cell(row=r, column=c, value=v)
    # trailing blank rows and columns that Excel keeps because they were formatted once
    fill = PatternFill("solid", fgColor="FFF2CC")
    for r in range(11, 40):
        for c in range(1, 15):
            ws.cell(row=r, column=c).fill = fill
    ws.cell(row=25, column=12, value="   ")
    # hidden sheet with old records that must not load
    old = wb.create_sheet("伴走記録_旧")
    old.append(["案件ID", "回", "実施日"])
    old.append(["M-001", 9, "2021-01-01"])
    old.sheet_state = "hidden"
    save_workbook(wb, MESSY / "伴走記録_書式いろいろ.xlsx", cached_values={"3+2": "5"})


def sessions_duplicates() -> None:
    """The same row twice (copy-paste): loads once, with a warning."""
    rows = [["案件ID", "回", "実施日", "時間", "フェーズ"],
            ["M-004", "1", "2022-10-11", "120", "現状分析"],
            ["M-004", "2", "2022-10-25", "120", "実施項目の抽出"],
            ["M-004", "1", "2022-10-11", "120", "現状分析"],
            ["M-005", "1", "2022-10-12", "60", "DX計画書のとりまとめ"]]
    write_bytes(MESSY / "伴走記録_重複行.csv", _csv(rows).encode("utf-8"))


def consultations_themes() -> None:
    """Consultation themes written in the steward's own words: mapped when close, otherwise kept and reported."""
    rows = [["相談ID", "相談日", "相談元", "都道府県", "市区町村", "相談テーマ", "形式"],
            ["Q-001", "令和4年11月2日", "架空市（架空）", "茨城県", "筑西市", "RPAの導入", "相談会"],
            ["Q-002", "R4.11.2", "架空町（架空）", "茨城県", "境町", "ホームページの改修", "オンライン"],
            ["Q-003", "2022/11/9", "架空村（架空）", "茨城県", "東海村", "庁舎の雨漏り", "訪問"]]
    write_bytes(MESSY / "相談記録_テーマ表記ゆれ.csv", _csv(rows).encode("utf-8"))


# ── bad ───────────────────────────────────────────────────────────────────────

def bad_not_workbook() -> None:
    write_bytes(BAD / "支援案件_ブックではない.xlsx",
                "案件ID,年度\nB-1,2022\n（CSV を .xlsx という名前で保存したもの）\n".encode("utf-8"))


def bad_same_key() -> None:
    rows = [["案件ID", "回", "実施日", "時間"],
            ["M-001", "3", "2022-11-02", "120"],
            ["M-001", "4", "2022-11-16", "120"],
            ["M-001", "3", "2022-11-09", "90"]]
    write_bytes(BAD / "伴走記録_同じキーで内容違い.csv", _csv(rows).encode("utf-8"))


def bad_municipality() -> None:
    rows = [ENG_HEADER,
            ["X-001", "2022", "伴走支援", "架空工業株式会社（架空）", "企業", "茨城県", "筑西氏", "2022-10-01", "10", "実施中"]]
    write_bytes(BAD / "支援案件_存在しない市区町村.csv", _csv(rows).encode("utf-8"))


def bad_two_rows_workbook() -> None:
    """Four sessions, two of them bad (a date that is not a date, a 回 that is not a number)."""
    wb = _workbook()
    ws = wb.active
    ws.title = "伴走記録"
    ws.append(["案件ID", "回", "実施日", "時間", "フェーズ"])
    ws.append(["M-003", 2, "2022-10-21", 120, "現状分析"])
    ws.append(["M-003", 3, "10月のどこか", 120, "実施項目の抽出"])
    ws.append(["M-003", "四", "2022-11-18", 120, "実施項目の抽出"])
    ws.append(["M-003", 5, "2022-12-02", 120, "セキュリティ対策の検討"])
    save_workbook(wb, BAD / "伴走記録_不正な値2件.xlsx")


def bad_formula_without_value() -> None:
    """Saved by a program that never calculated it: the formula has no cached value; we never evaluate it."""
    wb = _workbook()
    ws = wb.active
    ws.title = "伴走記録"
    ws.append(["案件ID", "回", "実施日", "参加人数"])
    ws.append(["M-005", 2, "2022-10-26", 4])
    ws.append(["M-005", 3, "2022-11-09", "=B3+1"])
    save_workbook(wb, BAD / "伴走記録_数式の結果なし.xlsx")


def bad_too_large() -> None:
    """~440 KB of valid sessions: refused when DX_MAX_FILE_MB is set below its size (the test sets 0.1)."""
    rows = [["案件ID", "回", "実施日", "時間", "メモ"]]
    for i in range(1, 3001):
        rows.append(["M-001", str(i), "2022-10-05", "60", "長いメモ" * 10])
    write_bytes(BAD / "伴走記録_大きすぎる.csv", _csv(rows).encode("utf-8"))


def main() -> None:
    for f in (engagements_utf8_bom, engagements_cp932_title, sessions_workbook, sessions_duplicates,
              consultations_themes, bad_not_workbook, bad_same_key, bad_municipality, bad_two_rows_workbook,
              bad_formula_without_value, bad_too_large):
        f()
    for p in sorted([*MESSY.iterdir(), *BAD.iterdir()]):
        print(f"{p.parent.name}/{p.name}  {p.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
