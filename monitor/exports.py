"""Exports that carry their context and cannot carry spreadsheet formulas. Pure functions (no Streamlit).

- ``to_xlsx(tables, conditions)``: one sheet per table plus a sheet 条件 (filters, 年度, data as-of, sample or not,
  exported at); Japanese headers; column widths that fit (East Asian wide characters count double); numbers stay
  numbers, dates are real Excel dates; every text cell is a string cell (never a formula).
- ``to_csv(df, context=None)``: UTF-8 with BOM and CRLF line ends (opens correctly in Japanese Excel); text that Excel
  would run as a formula is prefixed with a single quote (``safe_text``); with ``context`` the 条件 lines above the table.
- ``to_csv_zip(tables, conditions)``: one CSV per table plus 条件.csv, in a zip.

Every export in the app goes through these functions.
"""
from __future__ import annotations

import csv
import functools
import datetime as dt
import io
import math
import re
import unicodedata
import zipfile
from typing import Any, Mapping

import pandas as pd

from monitor.format import is_missing

# Text starting with one of these is run (or half-run) by Excel and its kin: =, +, -, @, tab, carriage return.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CONDITIONS_SHEET = "条件"
EXPORTED_AT = "出力日時"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIME = "text/csv"
ZIP_MIME = "application/zip"

_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")
_FILE_BAD = re.compile(r'[\\/:*?"<>|\x00-\x1f]')
# characters XML 1.0 (and so .xlsx) cannot hold; tab, LF and CR are allowed
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_MAX_WIDTH = 60
# Excel's limit for one cell; longer text is cut to it, ending with CUT_MARK, and the 条件 sheet says so
EXCEL_CELL_MAX = 32_767
CUT_MARK = "…［以下省略］"
CUT_NOTE = "注意"


# ── formula safety ──────────────────────────────────────────────────────────

DEFINITIONS_TITLE = "指標の定義"


def is_formula_like(value: Any) -> bool:
    """True for text that a spreadsheet would read as (the start of) a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_PREFIXES)


def safe_text(value: Any) -> Any:
    """Text that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading single quote, so
    Excel shows it as text and never runs it (the CSV rule; in .xlsx such text is written as a string cell instead,
    see ``to_xlsx``). Anything that is not text is returned unchanged."""
    if is_formula_like(value):
        return "'" + value
    return value


# ── cell values ─────────────────────────────────────────────────────────────

def _plain(v: Any) -> Any:
    """A cell value as a plain Python object: None, bool, int, float, str, date or datetime (naive)."""
    if is_missing(v):
        return None
    if hasattr(v, "item") and not isinstance(v, (str, bytes)) and type(v).__module__ == "numpy":
        v = v.item()
    if isinstance(v, bool):
        return v
    if isinstance(v, pd.Timestamp):
        v = v.to_pydatetime()
    if isinstance(v, dt.datetime):
        return v.astimezone().replace(tzinfo=None) if v.tzinfo is not None else v
    if isinstance(v, (int, float, dt.date, str)):
        if isinstance(v, float) and math.isinf(v):
            return None
        return v
    if isinstance(v, (list, tuple, set)):
        return "、".join(str(x) for x in v)
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).decode("utf-8", "replace")
    try:
        import numpy as np  # noqa: PLC0415
        if isinstance(v, np.ndarray):
            return "、".join(str(x) for x in v.tolist())
    except ImportError:  # pragma: no cover
        pass
    return str(v)


def display_width(text: Any) -> int:
    """Width of ``text`` in half-width cells: East Asian wide/full-width (and ambiguous) characters count 2."""
    s = "" if text is None else str(text)
    width = 0
    for ch in s:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F", "A") else 1
    return width


def _shown(v: Any, number_format: str | None = None) -> str:
    """Roughly how a cell shows in Excel, for sizing its column."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "FALSE" if not v else "TRUE"
    if isinstance(v, dt.datetime):
        return (f"{v.year}年{v.month}月{v.day}日 {v:%H:%M}" if (v.hour or v.minute or v.second)
                else f"{v.year}年{v.month}月{v.day}日")
    if isinstance(v, dt.date):
        return f"{v.year}年{v.month}月{v.day}日"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.1f}" if not v.is_integer() else f"{int(v):,}"
    return max(str(v).split("\n"), key=display_width) if "\n" in str(v) else str(v)


def _sheet_name(name: str, used: set[str]) -> str:
    base = _SHEET_BAD.sub("_", str(name)).strip("'").strip() or "表"
    base = base[:31]
    candidate, n = base, 2
    while candidate.casefold() in used:
        suffix = f"_{n}"
        candidate = base[: 31 - len(suffix)] + suffix
        n += 1
    used.add(candidate.casefold())
    return candidate


def safe_file_name(name: str) -> str:
    """A file name without characters that Windows or zip tools refuse."""
    return _FILE_BAD.sub("_", str(name)).strip() or "export"


# ── xlsx ────────────────────────────────────────────────────────────────────

def _write_text_cell(cell, text: str) -> bool:
    """A string cell that Excel shows as text: never a formula (openpyxl turns '=…' into one unless the data type
    is set after assignment), and quote-prefixed so editing the cell in Excel does not turn it into one either.
    Text over Excel's 32,767 characters is cut, ending with CUT_MARK; True when it was."""
    # XML (and so .xlsx) cannot keep a bare carriage return: readers turn it into a line feed, so write that.
    text = _XML_ILLEGAL.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    cut = len(text) > EXCEL_CELL_MAX
    if cut:
        text = text[:EXCEL_CELL_MAX - len(CUT_MARK)] + CUT_MARK
    cell.value = text
    cell.data_type = "s"
    if is_formula_like(text) or text.startswith("\n"):
        cell.quotePrefix = True
    return cut


def _column_kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_integer_dtype(series):
        return "int"
    if pd.api.types.is_float_dtype(series):
        vals = series.dropna()
        if len(vals) and all(float(x).is_integer() for x in vals):
            return "int"
        return "float"
    if pd.api.types.is_datetime64_any_dtype(series):
        vals = series.dropna()
        if len(vals) and all(t.hour == t.minute == t.second == 0 and t.microsecond == 0 for t in vals):
            return "date"
        return "datetime"
    vals = [v for v in series.tolist() if not is_missing(v)]
    if vals and all(isinstance(v, dt.datetime) for v in vals):
        return "datetime"
    if vals and all(isinstance(v, dt.date) for v in vals):
        return "date"
    return "other"


# one date style per medium: the workbook shows dates as the print and its own 条件 sheet do (2022年10月5日, 2024年4月,
# 2025年3月1日 09:30); a CSV writes ISO dates throughout, its 条件 lines included (csv_text)
_FORMATS = {"int": "#,##0", "float": "#,##0.0", "date": 'yyyy"年"m"月"d"日"', "datetime": 'yyyy"年"m"月"d"日" hh:mm',
            "month": 'yyyy"年"m"月"'}
# a float column holding counts and rates (実績サマリー's 実績): a whole number shows as one (865, not 865.0) unless
# the column is a rate, whose figures all keep their decimal
_RATE_MARKS = ("率", "%", "％")
# Excel's page header and footer: at most 255 characters, '&' starts a code
_PRINT_HEADER_MAX = 200


def _is_month_column(name: str, series: pd.Series, kind: str) -> bool:
    """A column of months (報告's 月): named 月 (or …月) and holding only first days of a month."""
    if kind != "date" or not str(name).endswith("月"):
        return False
    vals = [v for v in series.tolist() if not is_missing(v)]
    return bool(vals) and all(getattr(v, "day", None) == 1 for v in vals)


def _print_setup(ws, header: str = "") -> None:
    """A4 landscape, one page wide, the header row repeated on every printed page; ``header`` (the export's
    title and as-of) at the top left, page n / N at the bottom right."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"
    if header:
        text = header if len(header) <= _PRINT_HEADER_MAX else header[:_PRINT_HEADER_MAX - 1] + "…"
        ws.oddHeader.left.text = _XML_ILLEGAL.sub("", text).replace("&", "&&")
        ws.oddHeader.left.size = 9
    ws.oddFooter.right.text = "&P / &N"
    ws.oddFooter.right.size = 9


def _write_frame(ws, df: pd.DataFrame, header: str = "") -> int:
    """The table on ``ws`` (printed A4 landscape with ``header`` on each page); → the number of text cells cut to
    Excel's limit."""
    from openpyxl.styles import Alignment, Font, PatternFill  # noqa: PLC0415
    from openpyxl.utils import get_column_letter  # noqa: PLC0415

    header_font = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DDE6F2")
    columns = [str(c) for c in df.columns]
    widths = [display_width(c) for c in columns]
    for j, name in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=j)
        _write_text_cell(cell, name)
        cell.font = header_font
        cell.fill = header_fill
        cell.alignment = Alignment(vertical="center", wrap_text=False)

    cut = 0
    for j, col in enumerate(df.columns, start=1):
        series = df[col]
        kind = _column_kind(series)
        if _is_month_column(col, series, kind):
            kind = "month"
        fmt = _FORMATS.get(kind)
        rate = any(m in str(col) for m in _RATE_MARKS)
        for i, raw in enumerate(series.tolist(), start=2):
            v = _plain(raw)
            cell = ws.cell(row=i, column=j)
            if v is None:
                continue
            if isinstance(v, str):
                cut += _write_text_cell(cell, v)
            elif isinstance(v, dt.datetime):
                cell.value = v if kind not in ("date", "month") else v.date()
                cell.number_format = fmt if kind in ("date", "month") else _FORMATS[
                    "date" if not (v.hour or v.minute or v.second) else "datetime"]
            elif isinstance(v, dt.date):
                cell.value = v
                cell.number_format = fmt if kind == "month" else _FORMATS["date"]
            elif isinstance(v, bool):
                cell.value = v
            elif isinstance(v, (int, float)):
                whole = isinstance(v, int) or v.is_integer()
                # a count is an integer cell (865, never 865.0); a rate column keeps one decimal throughout
                cell.value = int(v) if whole and not rate and kind in ("int", "float") else v
                if kind == "int" or (kind == "float" and whole and not rate):
                    cell.number_format = _FORMATS["int"]
                elif kind == "float":
                    cell.number_format = _FORMATS["float"]
            else:  # pragma: no cover - _plain returns only the types above
                _write_text_cell(cell, str(v))
            widths[j - 1] = max(widths[j - 1], display_width(_shown(cell.value)))

    for j, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = min(_MAX_WIDTH, max(6, w + 2))
    ws.freeze_panes = "A2"
    if len(df.columns) and len(df):
        ws.auto_filter.ref = f"A1:{get_column_letter(len(df.columns))}{len(df) + 1}"
    _print_setup(ws, header)
    return cut


def _write_conditions(ws, conditions: Mapping[str, Any]) -> None:
    from openpyxl.styles import Font, PatternFill  # noqa: PLC0415

    header_fill = PatternFill("solid", fgColor="DDE6F2")
    for j, name in enumerate(("項目", "内容"), start=1):
        cell = ws.cell(row=1, column=j)
        _write_text_cell(cell, name)
        cell.font = Font(bold=True)
        cell.fill = header_fill
    widths = [display_width("項目"), display_width("内容")]
    for i, (key, value) in enumerate(conditions.items(), start=2):
        _write_text_cell(ws.cell(row=i, column=1), str(key))
        v = _plain(value)
        text = "" if v is None else (_shown(v) if not isinstance(v, str) else v)
        _write_text_cell(ws.cell(row=i, column=2), text)
        widths[0] = max(widths[0], display_width(key))
        widths[1] = max(widths[1], display_width(text))
    ws.column_dimensions["A"].width = min(_MAX_WIDTH, widths[0] + 2)
    ws.column_dimensions["B"].width = min(100, widths[1] + 2)


def with_exported_at(conditions: Mapping[str, Any], now: dt.datetime | None = None) -> dict[str, Any]:
    """``conditions`` plus 出力日時 (local time) when not already given."""
    out = dict(conditions)
    if EXPORTED_AT not in out:
        t = now or dt.datetime.now()
        out[EXPORTED_AT] = f"{t.year}年{t.month}月{t.day}日 {t:%H:%M}"
    return out


def _write_definitions(ws, definitions: pd.DataFrame) -> None:
    """指標の定義 below the 条件 on the same sheet: a heading, then the glossary's columns."""
    from openpyxl.styles import Font  # noqa: PLC0415

    start = ws.max_row + 2
    heading = ws.cell(row=start, column=1)
    _write_text_cell(heading, DEFINITIONS_TITLE)
    heading.font = Font(bold=True)
    for j, name in enumerate(definitions.columns, start=1):
        cell = ws.cell(row=start + 1, column=j)
        _write_text_cell(cell, str(name))
        cell.font = Font(bold=True)
    for i, row in enumerate(definitions.itertuples(index=False, name=None), start=start + 2):
        for j, v in enumerate(row, start=1):
            _write_text_cell(ws.cell(row=i, column=j), "" if is_missing(v) else str(v))


def print_header(conditions: Mapping[str, Any], name: str) -> str:
    """The line a printed sheet (or page) carries: 表題｜表｜データ基準日｜出力日時."""
    parts = [str(conditions[k]) for k in ("表題",) if conditions.get(k)] + [name]
    parts += [f"{k}: {conditions[k]}" for k in ("データ基準日", EXPORTED_AT) if conditions.get(k)]
    return "｜".join(parts)


def to_xlsx(tables: Mapping[str, pd.DataFrame], conditions: Mapping[str, Any],
            definitions: pd.DataFrame | None = None) -> bytes:
    """An .xlsx workbook: the sheet 条件 (what the export shows, and 出力日時; then 指標の定義 when given) first, then
    one sheet per table (sheet name = the dict key, made valid for Excel)."""
    from openpyxl import Workbook  # noqa: PLC0415

    wb = Workbook()
    ws = wb.active
    used: set[str] = set()
    ws.title = _sheet_name(CONDITIONS_SHEET, used)
    cut: dict[str, int] = {}
    sheets = []
    conditions = with_exported_at(conditions)
    for name, df in tables.items():
        sheet = wb.create_sheet(_sheet_name(name, used))
        sheets.append(sheet.title)
        if n := _write_frame(sheet, df if isinstance(df, pd.DataFrame) else pd.DataFrame(df),
                             header=print_header(conditions, name)):
            cut[sheet.title] = n
    if cut:
        where = "、".join(f"{name} {n:,} セル" for name, n in cut.items())
        conditions[CUT_NOTE] = (f"Excel のセルの上限（{EXCEL_CELL_MAX:,} 文字）を超える文字列を切り詰めました（{where}）。"
                                f"切り詰めたセルの末尾は「{CUT_MARK}」です。全文は CSV 出力で確認できます")
    _write_conditions(ws, conditions)
    if definitions is not None:
        _write_definitions(ws, definitions)
    _print_setup(ws, print_header(conditions, CONDITIONS_SHEET))
    wb.properties.creator = "地域DX支援モニター"
    title = conditions.get("報告") or conditions.get("表題")
    if title:
        wb.properties.title = _XML_ILLEGAL.sub("", str(title))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# ── csv ─────────────────────────────────────────────────────────────────────

def _csv_value(v: Any) -> Any:
    v = _plain(v)
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, dt.datetime):
        if v.hour or v.minute or v.second or v.microsecond:
            return v.strftime("%Y-%m-%d %H:%M:%S")
        return v.strftime("%Y-%m-%d")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, int):
        return str(v)
    return safe_text(str(v))


_JP_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")


def csv_text(text: str) -> str:
    """条件 text for a CSV: its dates written as the CSV's rows write them (2025年2月28日 → 2025-02-28)."""
    return _JP_DATE.sub(lambda m: f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}", text)


def to_csv(df: pd.DataFrame, context: Mapping[str, Any] | None = None) -> bytes:
    """CSV as UTF-8 with BOM and CRLF line ends. Numbers are written plainly (no 桁区切り), dates as 2022-10-05,
    text that a spreadsheet would run gets a leading single quote. With ``context`` (an export's 条件: filters,
    データ基準日, and 出力日時 added when missing) a single table carries it as the zip's 条件.csv does: one
    ``項目,内容`` line each above the table, then an empty line, then the table's header and rows."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    if context is not None:
        frame = csv_conditions(context)
        for key, value in zip(frame["項目"], frame["内容"]):
            writer.writerow([safe_text(str(key)), safe_text(str(value))])
        writer.writerow([])
    writer.writerow([safe_text(str(c)) for c in df.columns])
    for row in df.itertuples(index=False, name=None):
        writer.writerow([_csv_value(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def conditions_frame(conditions: Mapping[str, Any]) -> pd.DataFrame:
    items = with_exported_at(conditions)
    return pd.DataFrame({"項目": list(items.keys()), "内容": ["" if _plain(v) is None else (
        _plain(v) if isinstance(_plain(v), str) else _shown(_plain(v))) for v in items.values()]})


def csv_conditions(conditions: Mapping[str, Any]) -> pd.DataFrame:
    """conditions_frame with the dates in the CSV's ISO form."""
    frame = conditions_frame(conditions)
    frame["内容"] = [csv_text(str(v)) for v in frame["内容"]]
    return frame


def to_csv_zip(tables: Mapping[str, pd.DataFrame], conditions: Mapping[str, Any],
               definitions: pd.DataFrame | None = None) -> bytes:
    """A zip holding 条件.csv (and 指標の定義.csv when given) and one CSV per table (file name = the dict key)."""
    buf = io.BytesIO()
    used: set[str] = set()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        def add(name: str, data: bytes) -> None:
            base = safe_file_name(name)
            candidate, n = base, 2
            while candidate in used:
                candidate, n = f"{base}_{n}", n + 1
            used.add(candidate)
            zf.writestr(f"{candidate}.csv", data)
        add(CONDITIONS_SHEET, to_csv(csv_conditions(conditions)))
        if definitions is not None:
            add(DEFINITIONS_TITLE, to_csv(definitions))
        for name, df in tables.items():
            add(name, to_csv(df))
    return buf.getvalue()


def conditions_for(filters_text: str, *, fiscal_year_text: str, data_as_of: Any, is_sample: bool,
                   title: str | None = None, extra: Mapping[str, Any] | None = None,
                   now: dt.datetime | None = None) -> dict[str, str]:
    """The standard 条件 of an export: 表題, 年度, 絞り込み, データ基準日, データの種類, 出力日時 (+ extra)."""
    from monitor.format import fmt_date  # noqa: PLC0415

    out: dict[str, str] = {}
    if title:
        out["表題"] = title
    out["年度"] = fiscal_year_text
    for k, v in (extra or {}).items():
        out[str(k)] = "" if v is None else str(v)
    out["絞り込み"] = filters_text
    out["データ基準日"] = fmt_date(data_as_of) if data_as_of else "不明"
    out["データの種類"] = "サンプルデータ（架空の企業名・人名を含みます）" if is_sample else "実績データ"
    return with_exported_at(out, now)


# ── chart images ────────────────────────────────────────────────────────────

IMAGE_WIDTH = 1200
IMAGE_HEIGHT = 675


def _png_ready(fig, width: int, height: int):
    """A copy of ``fig`` sized for an image (the title and its subtitle carry the context)."""
    import plotly.graph_objects as go  # noqa: PLC0415

    f = go.Figure(fig)
    # a chart sized by its rows (one per consortium) keeps its height: squeezed, plotly would drop labels
    height = max(height, int(f.layout.height or 0))
    f.update_layout(width=width, height=height, autosize=False, paper_bgcolor="white")
    return f


def figure_png(fig, width: int = IMAGE_WIDTH, height: int = IMAGE_HEIGHT) -> bytes:
    """The figure as a PNG ``width`` pixels wide and ``height`` high, or higher when the figure asks for more (one
    row per consortium) (kaleido with the local Chromium; Japanese text needs fonts-noto-cjk)."""
    f = _png_ready(fig, width, height)
    return _png_cached(f.to_json(), width, int(f.layout.height))


def _use_local_chromium() -> None:
    """kaleido renders with Debian's Chromium (DX_CHROMIUM, as the PDF export), never a browser it would look for
    elsewhere or one downloaded with kaleido_get_chrome / plotly_get_chrome: BROWSER_PATH names it unless the
    deployment set one itself. Without it: ChromiumNotFound with the apt-get command (kaleido's own message would
    suggest downloading Chrome, which fails offline)."""
    import os  # noqa: PLC0415

    from monitor.chromium import CHROMIUM, ChromiumNotFound, missing  # noqa: PLC0415

    path = os.environ.setdefault("BROWSER_PATH", CHROMIUM)
    if problem := missing(path):
        raise ChromiumNotFound(problem)


PNG_TIMEOUT_S = 120


class ImageTimeout(RuntimeError):
    """kaleido did not return a PNG in time (it has been seen to wait forever); the message is Japanese."""


@functools.lru_cache(maxsize=64)
def _png_cached(fig_json: str, width: int, height: int) -> bytes:
    import concurrent.futures  # noqa: PLC0415

    import plotly.io as pio  # noqa: PLC0415

    _use_local_chromium()
    # kaleido's Chromium session can hang without an error: the caller gets a message instead of a thread that never
    # returns (the stuck render thread is left behind as a daemon)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="dx-png")
    future = pool.submit(lambda: pio.from_json(fig_json).to_image(format="png", width=width, height=height, scale=1))
    pool.shutdown(wait=False)
    try:
        return future.result(timeout=PNG_TIMEOUT_S)
    except concurrent.futures.TimeoutError:
        raise ImageTimeout(f"グラフの画像（PNG）を{PNG_TIMEOUT_S}秒以内に作れませんでした。もう一度押してください。") from None


def figures_png(figures: Mapping[str, Any], width: int = IMAGE_WIDTH, height: int = IMAGE_HEIGHT) -> dict[str, bytes]:
    """Several figures as PNGs in one Chromium session: {name: png bytes}."""
    import tempfile  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    import plotly.io as pio  # noqa: PLC0415

    names = list(figures)
    if not names:
        return {}
    figs = [_png_ready(figures[n], width, height) for n in names]
    _use_local_chromium()
    with tempfile.TemporaryDirectory(prefix="dx_png_") as tmp:
        paths = [Path(tmp) / f"{i:02d}.png" for i in range(len(names))]
        # each figure at its own size (a tall one keeps its height; kaleido would use 700 × 500 without one)
        pio.write_images(figs, paths, format="png", scale=1, width=[int(f.layout.width) for f in figs],
                         height=[int(f.layout.height) for f in figs])
        return {n: p.read_bytes() for n, p in zip(names, paths)}


def figures_zip(figures: Mapping[str, Any], width: int = IMAGE_WIDTH, height: int = IMAGE_HEIGHT,
                prefix: str = "") -> bytes:
    """A zip of the figures as PNGs (file name = prefix + the dict key)."""
    pngs = figures_png(figures, width, height)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for i, (name, data) in enumerate(pngs.items(), start=1):
            zf.writestr(f"{i:02d}_{safe_file_name(prefix + name)}.png", data)
    return buf.getvalue()


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk; ValueError when ``data`` is not a PNG."""
    import struct  # noqa: PLC0415

    if len(data) < 24 or data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("PNG ではありません")
    return struct.unpack(">II", data[16:24])
