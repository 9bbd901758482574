"""Extract: record files (CSV in UTF-8/BOM/CP932, .xlsx) → raw DuckDB tables of text.

Every value stays text here; parsing happens vectorised in the staging SQL. Each raw table has a
`_row` column with the row number a person sees in Excel (or a text editor for CSV) and one VARCHAR
column per recognised header, named by the canonical English column name.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import os
import posixpath
import re
import tempfile
import threading
import xml.etree.ElementTree as ET
import zipfile
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from queue import Queue

import duckdb

from .kinds import KINDS, Kind, header_score, is_known_header, kind_from_headers, kind_from_name, match_headers

HEADER_SEARCH_ROWS = 30
# Below this size a CSV is parsed with Python's csv module; above it DuckDB's reader does the work, faster from about
# 500 rows (docs/performance.md, "Monthly batch"). A file with blank lines is read in Python at any size (exact row
# numbers).
SMALL_CSV_BYTES = 256 * 1024
# up to this many rows a table read in Python goes to DuckDB as list parameters (no pandas import: a load process
# starts faster); beyond, through pandas, whose faster conversion then pays for its import (docs/performance.md,
# "A small load"). A CSV read in Python (SMALL_CSV_BYTES) holds fewer rows than this.
LIST_PARAMETER_ROWS = 60_000
DEFAULT_MAX_FILE_MB = 1024
# the input template's example rows start their first cell with this marker: they are skipped (with a note), never
# loaded, so a steward may leave them in place (etl/template.py writes them)
EXAMPLE_MARKER = "【記入例】"
# the template's instructions sheet: prose, no header row, skipped without a warning
INSTRUCTIONS_SHEET = "説明"
FORMULA_NO_VALUE_REASON = ("数式のセルに計算結果が保存されていません（数式は実行しません）。"
                           "Excel で開いて保存し直すか、値として貼り付けてください")


def max_file_bytes() -> int:
    """The size limit for one input file: DX_MAX_FILE_MB (may be fractional), read at every call."""
    try:
        mb = float(os.environ.get("DX_MAX_FILE_MB", DEFAULT_MAX_FILE_MB))
    except ValueError:
        mb = DEFAULT_MAX_FILE_MB
    return int(mb * 1024 * 1024)


# Bounds checked before a file is read into memory (a workbook's <dimension> and row count cost nothing to fake:
# a 4.9 KB file with one cell at XFD1048576 once made the loader pad every row to 16,384 columns). Defaults admit a
# yearly programme: 500,000 rows of the widest kind (18 columns) are 9,000,000 cells.
DEFAULT_LIMITS = {"DX_XLSX_MAX_ROWS": 500_000, "DX_XLSX_MAX_COLUMNS": 256, "DX_XLSX_MAX_CELLS": 10_000_000,
                  "DX_MAX_CELL_CHARS": 131_072}
CSV_MAX_LINE_BYTES = 2 * 1024 * 1024          # DuckDB's reader refuses longer lines; the small path checks the same


def limit(name: str) -> int:
    """One of DEFAULT_LIMITS, from the environment at every call (a bad value falls back to the default)."""
    try:
        value = int(float(os.environ.get(name, DEFAULT_LIMITS[name])))
    except ValueError:
        value = DEFAULT_LIMITS[name]
    return value if value > 0 else DEFAULT_LIMITS[name]


def format_size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / 1048576:,.1f} MB"
    return f"{n / 1024:,.0f} KB" if n >= 1024 else f"{n:,} バイト"


class UnreadableFile(Exception):
    """A file that cannot be read at all; the message is Japanese and names the file."""


@dataclass
class RawTable:
    file_name: str
    sheet: str | None
    kind: Kind
    table: str                 # DuckDB table holding the canonical columns, all VARCHAR (and _row, see row_expr)
    header_row: int            # 1-based row of the header
    rows: int
    columns: list[str]         # canonical columns present in the file
    unknown_headers: list[str] = field(default_factory=list)
    sha256: str = ""
    # problems found while reading cells (row, canonical column, value, reason): formulas without a value
    cell_problems: list[tuple[int, str, str, str]] = field(default_factory=list)
    # SQL for the row number over `table`: the _row column, or (large CSV read by DuckDB, no blank lines) computed
    # from rowid, so the file is materialised once; with `keep` the condition that leaves out blank rows (rows whose
    # recognised cells are all blank are dropped from the table itself only on the small paths)
    row_expr: str = "_row"
    keep: str | None = None

    def select(self, columns: str) -> str:
        """SELECT of `columns` (may use _row) over the table's data rows, blank rows left out."""
        sql = f"SELECT {columns} FROM (SELECT {self.row_expr} AS _row, * FROM {self.table})" \
            if self.row_expr != "_row" else f"SELECT {columns} FROM {self.table}"
        return sql + (f" WHERE {self.keep}" if self.keep else "")


@dataclass
class FileResult:
    path: Path
    file_name: str
    sha256: str = ""
    tables: list[RawTable] = field(default_factory=list)
    error: str | None = None   # set when the whole file is unreadable
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)      # what was left out on purpose (the template's example rows)


@dataclass
class TextScan:
    sha256: str
    encoding: str | None       # utf-8-sig or utf-8 when the whole file decodes; None when it does not or unchecked
    blank_lines: bool          # an empty line somewhere (DuckDB's reader would skip it: row numbers shift)
    checked: bool = True       # False: UTF-8 was not decoded here (DuckDB's reader validates it instead)


def scan_text_file(path: Path, check_utf8: bool = True) -> TextScan:
    """One read of the file, in large chunks: its sha256 (hashed in a second thread: hashlib releases the GIL),
    whether it has blank lines and, with check_utf8, whether it decodes as UTF-8 (with or without BOM). A large
    file is not decoded here: DuckDB's CSV reader rejects invalid UTF-8 itself, and only then is the file decoded
    (detect_encoding, CP932 and a transcode)."""
    h = hashlib.sha256()
    chunks: Queue = Queue(maxsize=4)

    def hasher():
        while (chunk := chunks.get()) is not None:
            h.update(chunk)

    worker = threading.Thread(target=hasher, daemon=True)
    worker.start()
    decoder = None
    encoding: str | None = None
    blank = False
    tail = b""
    try:
        with open(path, "rb") as f:
            first = True
            for chunk in iter(lambda: f.read(1 << 22), b""):
                chunks.put(chunk)
                if first and check_utf8:
                    encoding = "utf-8-sig" if chunk.startswith(codecs.BOM_UTF8) else "utf-8"
                    decoder = codecs.getincrementaldecoder(encoding)()
                first = False
                if decoder is not None:
                    try:
                        decoder.decode(chunk)
                    except UnicodeDecodeError:
                        decoder, encoding = None, None
                if not blank:
                    joint = tail + chunk[:2]
                    blank = (b"\n\n" in chunk or b"\n\n" in joint
                             or ((b"\r" in chunk or b"\r" in joint) and (b"\n\r\n" in chunk or b"\n\r\n" in joint)))
                    tail = chunk[-2:]
            if decoder is not None:
                try:
                    decoder.decode(b"", final=True)
                except UnicodeDecodeError:
                    encoding = None
    finally:
        chunks.put(None)
        worker.join()
    return TextScan(h.hexdigest(), encoding, blank, check_utf8)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ── pure helpers ──────────────────────────────────────────────────────────────

def head_encoding(path: Path) -> str | None:
    """utf-8-sig or utf-8 when the first 64 KB decode as UTF-8 (a character cut at the end is fine), else None;
    raises UnreadableFile for an empty or binary file, like detect_encoding."""
    with open(path, "rb") as f:
        head = f.read(65536)
    _check_head(head)
    enc = "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
    try:
        codecs.getincrementaldecoder(enc)().decode(head)
        return enc
    except UnicodeDecodeError:
        return None


def _check_head(head: bytes) -> None:
    if not head.strip():
        raise UnreadableFile("ファイルが空です")
    if not head.startswith(codecs.BOM_UTF8):
        if b"\x00" in head:
            raise UnreadableFile("テキスト（CSV）ではなくバイナリファイルのようです")
        if head.startswith(b"PK\x03\x04"):
            raise UnreadableFile("CSV ではなく Excel などの圧縮ファイルのようです（拡張子を確認してください）")


def detect_encoding(path: Path, scan: TextScan | None = None) -> str:
    """utf-8-sig, utf-8 or cp932; raises UnreadableFile for binary or undecodable bytes. With `scan` (the file
    already read once by scan_text_file, UTF-8 checked) UTF-8 is not decoded again."""
    with open(path, "rb") as f:
        head = f.read(65536)
    _check_head(head)
    candidates = ["utf-8-sig"] if head.startswith(codecs.BOM_UTF8) else ["utf-8", "cp932"]
    if scan is not None and scan.checked:
        if scan.encoding is not None:
            return scan.encoding
        candidates = [c for c in candidates if c == "cp932"]
    for enc in candidates:
        decoder = codecs.getincrementaldecoder(enc)()
        try:
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 22), b""):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
            return enc
        except UnicodeDecodeError:
            continue
    raise UnreadableFile("文字コードを判別できません（UTF-8 / UTF-8 BOM付き / Shift_JIS(CP932) のいずれかで保存してください）")


def sniff_delimiter(lines: list[str]) -> str:
    tabs = sum(line.count("\t") for line in lines)
    commas = sum(line.count(",") for line in lines)
    return "\t" if tabs > commas else ","


def find_header(rows: list[list[object]]) -> int | None:
    """Index of the row that looks most like a header (≥ 2 known column names), else None."""
    best_i, best = None, 1
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        score = header_score(list(row))
        if score > best:
            best_i, best = i, score
    return best_i


def combine_header_rows(rows: list[list[object]], h: int) -> tuple[list[object], int]:
    """A header written over two or more rows (merged cells in Excel: 「実施」 over 「日付」「回」, or 「案件ID」 merged
    down two rows) → one header row and the index of its last line. Each position takes the line that is a known header
    (the lower line first), else the two lines joined (「実施」+「日」); the other row is used only when it looks like
    the second line of a header, never a data row: below the header it may only hold cells under blank or unknown
    header cells; above it, only cells over blank header cells or cells that are not headers themselves (group
    labels). Lines are added one at a time while each makes a better header. Without such a row, (rows[h], h)."""
    def cell(row, i):
        v = row[i] if i < len(row) else None
        return None if v is None or str(v).strip() == "" else v

    def combine(upper, lower):
        width = max(len(upper), len(lower))
        out, group = [], None
        for i in range(width):
            a, b = cell(upper, i), cell(lower, i)
            if a is not None:
                group = a
            elif b is None:
                group = None
            if b is not None and is_known_header(b):
                out.append(b)
            elif a is not None and is_known_header(a):
                out.append(a)
            elif b is not None and group is not None and is_known_header(f"{group}{b}"):
                out.append(f"{group}{b}")
            else:
                out.append(b if b is not None else a)
        return out

    def fits_under(header, below):      # a header's next line, never a data row
        return any(cell(below, i) is not None for i in range(len(below))) and all(
            cell(header, i) is None or not is_known_header(header[i])
            for i in range(len(below)) if cell(below, i) is not None)

    def fits_over(above, header):       # group labels, never a header line of its own
        return any(cell(above, i) is not None for i in range(len(above))) and all(
            cell(header, i) is None or not is_known_header(above[i])
            for i in range(len(above)) if cell(above, i) is not None)

    best: tuple[int, list[object], int] = (header_score(list(rows[h])), list(rows[h]), h)
    # lines below while they make a better header; two at a time when the first alone does not (a group label line
    # between the header and the names: 「支援記録」/「実施」/「日」)
    while True:
        step, candidate = None, best[1]
        for k in (1, 2):
            if best[2] + k >= len(rows) or not fits_under(candidate, list(rows[best[2] + k])):
                break
            candidate = combine(candidate, list(rows[best[2] + k]))
            if header_score(candidate) > best[0]:
                step = (header_score(candidate), candidate, best[2] + k)
                break
        if step is None:
            break
        best = step
    # then group labels above, one line at a time
    top = h
    while top >= 1 and fits_over(list(rows[top - 1]), best[1]):
        combined = combine(list(rows[top - 1]), best[1])
        if header_score(combined) <= best[0]:
            break
        best, top = (header_score(combined), combined, best[2]), top - 1
    return best[1], best[2]


def cell_text(value: object) -> str | None:
    """An Excel cell value → the text the staging SQL parses."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    text = str(value)
    return text if text.strip() else None


def choose_kind(name: str, headers: list[object]) -> Kind | None:
    """Kind from the file or sheet name when its required headers are there (or, for a file of withdrawals, its key
    and 削除), else from the headers."""
    by_name = kind_from_name(name)
    found = set(match_headers(by_name, headers).values()) if by_name is not None else set()
    if by_name is not None and (set(by_name.required) <= found or {*by_name.key, "withdraw"} <= found):
        return by_name
    return kind_from_headers(headers)


# a cell with content (not self-closing, not empty), its reference captured: column letters, row digits
_VALUED_CELL = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]{1,3})([0-9]+)"[^>/]*>(?!</)')
_ANY_VALUED_CELL = re.compile(rb'<(?:\w+:)?c\b[^>/]*>(?!</)')
_ROW_END = re.compile(rb'</(?:\w+:)?row>')


def column_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def column_letters(n: int) -> str:
    out = ""
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


@dataclass
class SheetBounds:
    rows: int          # the last row holding a value (what the loader reads)
    columns: int       # the last column holding a value
    cells: int         # cells holding a value


def check_xlsx_size(path: Path) -> None:
    """Refuse a workbook whose parts unpack to more than DX_MAX_FILE_MB (the zip's declared sizes, which zipfile
    also enforces while reading)."""
    limit_bytes = max_file_bytes()
    with zipfile.ZipFile(path) as z:
        total = sum(i.file_size for i in z.infolist())
    if total > limit_bytes:
        raise UnreadableFile(
            f"Excel ブックの展開後の大きさが上限を超えています（{format_size(total)}、上限 {format_size(limit_bytes)}）。"
            "ファイルを分割して取り込むか、上限（環境変数 DX_MAX_FILE_MB）を管理者に引き上げてもらってください")


def sheet_bounds(archive: zipfile.ZipFile, member: str, sheet: str) -> SheetBounds:
    """The real extent of a sheet, from one streaming pass over its XML (a regular expression over large chunks, no
    XML objects): the last row and column that hold a value, and the number of such cells. <dimension> is not
    trusted, and formatted empty cells do not count. Raises UnreadableFile (naming the sheet, the limit and the
    setting) as soon as a limit is passed, so a 3,000,000-row sheet is refused after reading its first rows."""
    max_rows, max_cols, max_cells = (limit("DX_XLSX_MAX_ROWS"), limit("DX_XLSX_MAX_COLUMNS"),
                                     limit("DX_XLSX_MAX_CELLS"))
    rows = cols = cells = 0
    letters_seen: set[bytes] = set()
    tail = b""
    with archive.open(member) as f:
        while True:
            chunk = f.read(1 << 22)
            data = tail + chunk
            if chunk:
                end = None
                for end in _ROW_END.finditer(data, max(0, len(data) - (1 << 20))):
                    pass
                if end is None:            # no row ends in the last MB: keep everything for the next chunk
                    tail = data
                    continue
                tail, data = data[end.end():], data[:end.end()]
            found = _VALUED_CELL.findall(data)
            if len(found) != len(_ANY_VALUED_CELL.findall(data)):
                # cells without a reference (allowed, rare): their column is their place in the row
                for row_xml in _ROW_END.split(data):
                    cols = max(cols, len(_ANY_VALUED_CELL.findall(row_xml)))
                rows += data.count(b"</row>") if not found else 0
            cells += len(found)
            letters_seen.update(c for c, _ in found)
            if found:
                rows = max(rows, int(found[-1][1]))
            if letters_seen:
                cols = max(cols, max(column_number(c.decode()) for c in letters_seen))
                letters_seen = {column_letters(cols).encode()}
            bounds = SheetBounds(rows, cols, cells)
            _check_bounds(bounds, sheet, max_rows, max_cols, max_cells)
            if not chunk:
                return bounds


def workbook_bounds(path: Path) -> dict[str, SheetBounds]:
    """SheetBounds of every worksheet part (zip member name → bounds), before openpyxl opens the workbook: opening
    it read-only already scans a sheet without <dimension> to its end (minutes for
    millions of rows; docs/performance.md). Sheet titles for
    the messages come from xl/workbook.xml and its relationships (two small parts, parsed by ElementTree)."""
    ns_main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    ns_rel = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
    out: dict[str, SheetBounds] = {}
    with zipfile.ZipFile(path) as z:
        members = set(z.namelist())
        titles: dict[str, str] = {}
        try:
            rels = {r.get("Id"): r.get("Target", "") for r in ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))}
            for sheet in ET.fromstring(z.read("xl/workbook.xml")).iter(f"{ns_main}sheet"):
                target = rels.get(sheet.get(f"{ns_rel}id"), "")
                member = target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
                titles[member] = sheet.get("name", member)
        except (KeyError, ET.ParseError):
            pass                           # openpyxl will say the workbook cannot be opened
        for member in sorted(m for m in members if m.startswith("xl/worksheets/") and m.endswith(".xml")):
            try:
                out[member] = sheet_bounds(z, member, titles.get(member, member))
            except (zipfile.BadZipFile, zlib.error, EOFError) as e:
                raise UnreadableFile(f"シート「{titles.get(member, member)}」が壊れていて読めません"
                                     f"（{type(e).__name__}）") from e
    return out


def _check_bounds(b: SheetBounds, sheet: str, max_rows: int, max_cols: int, max_cells: int) -> None:
    where = f"シート「{sheet}」"
    if b.rows > max_rows:
        raise UnreadableFile(f"{where}の行数が上限を超えています（{b.rows:,} 行目に値があります、上限 {max_rows:,} 行、"
                             "環境変数 DX_XLSX_MAX_ROWS）。不要な行を削除するか、ファイルを分けてください")
    if b.columns > max_cols:
        raise UnreadableFile(f"{where}の列数が上限を超えています（{column_letters(b.columns)} 列"
                             f"（{b.columns:,} 列目）に値があります、上限 {max_cols:,} 列、環境変数 DX_XLSX_MAX_COLUMNS）。"
                             "不要な列を削除してください")
    if b.rows * b.columns > max_cells or b.cells > max_cells:
        raise UnreadableFile(f"{where}のセル数が上限を超えています（{b.rows:,} 行 × {b.columns:,} 列、"
                             f"上限 {max_cells:,} セル、環境変数 DX_XLSX_MAX_CELLS）。ファイルを分けてください")


def _formula_workbook(path: Path):
    """The workbook with formulas as text (openpyxl data_only=False), only when some sheet holds a formula;
    used to tell a formula without a stored result from a blank cell. Nothing is ever evaluated."""
    import openpyxl  # noqa: PLC0415  (heavy: only for .xlsx files)
    with zipfile.ZipFile(path) as z:
        has_formula = False
        for name in z.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                with z.open(name) as f:
                    tail = b""
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        if b"<f>" in tail + chunk or b"<f " in tail + chunk:
                            has_formula = True
                            break
                        tail = chunk[-8:]
            if has_formula:
                break
    if not has_formula:
        return None
    return openpyxl.load_workbook(path, read_only=True, data_only=False)


def _formulas_without_value(ws, values: list[list[object]], header_row: int, positions: dict[int, str],
                            bounds: SheetBounds):
    """(row, column, formula, reason) for cells of recognised columns below the header whose cached value is
    missing (data_only gave None) while the cell holds a formula."""
    out = []
    for row_no, frow in enumerate(ws.iter_rows(max_row=bounds.rows or 1, max_col=bounds.columns or 1,
                                               values_only=True), start=1):
        if row_no <= header_row:
            continue
        vrow = values[row_no - 1] if row_no - 1 < len(values) else []
        for i, name in positions.items():
            f = frow[i] if i < len(frow) else None
            v = vrow[i] if i < len(vrow) else None
            if v is None and f is not None and not isinstance(f, (int, float, bool, dt.date, dt.time)) \
                    and str(f).startswith("="):
                out.append((row_no, name, str(f), FORMULA_NO_VALUE_REASON))
    return out


# ── I/O ───────────────────────────────────────────────────────────────────────

class Extractor:
    """Reads files into raw tables of one DuckDB connection."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self._n = 0

    def _new_table(self) -> str:
        self._n += 1
        return f"raw_{self._n}"

    def read(self, path: Path, display_name: str | None = None) -> FileResult:
        path = Path(path)
        result = FileResult(path=path, file_name=display_name or path.name)
        try:
            size = path.stat().st_size
            limit = max_file_bytes()
            if size > limit:
                raise UnreadableFile(
                    f"ファイルが大きすぎます（{format_size(size)}、上限 {format_size(limit)}）。"
                    "ファイルを分割して取り込むか、上限（環境変数 DX_MAX_FILE_MB）を管理者に引き上げてもらってください")
            suffix = path.suffix.lower()
            if suffix in (".csv", ".tsv", ".txt") and size <= SMALL_CSV_BYTES:
                scan = scan_text_file(path)
                result.sha256 = scan.sha256
                self._read_csv(path, result, scan)
            elif suffix in (".csv", ".tsv", ".txt"):
                # a large file: the scan (sha256, blank lines) runs beside DuckDB's read of the same bytes instead
                # of before it; a file that turns out to have blank lines is read again the slow way
                with ThreadPoolExecutor(max_workers=1) as pool:
                    pending = pool.submit(scan_text_file, path, False)
                    try:
                        self._read_csv(path, result, pending)
                    finally:
                        result.sha256 = pending.result().sha256
            else:
                result.sha256 = sha256_of(path)
                if suffix in (".xlsx", ".xlsm"):
                    self._read_xlsx(path, result)
                elif suffix == ".xls":
                    raise UnreadableFile("古い Excel 形式（.xls）は読めません。.xlsx で保存し直してください")
                else:
                    raise UnreadableFile(f"対応していない形式です（{suffix or '拡張子なし'}）。CSV か .xlsx を指定してください")
        except UnreadableFile as e:
            result.error = f"{result.file_name}: {e}"
            result.tables.clear()
        except FileNotFoundError:
            result.error = f"{result.file_name}: ファイルがありません"
            result.tables.clear()
        except IsADirectoryError:
            result.error = f"{result.file_name}: フォルダです（ファイルを指定してください）"
            result.tables.clear()
        except PermissionError:
            result.error = f"{result.file_name}: 読み取る権限がありません"
            result.tables.clear()
        for t in result.tables:
            t.sha256 = result.sha256
        return result

    # CSV ---------------------------------------------------------------------
    def _read_csv(self, path: Path, result: FileResult, scan: TextScan | Future) -> None:
        # a large file whose head is UTF-8 goes to DuckDB's reader undecoded (it validates UTF-8 as it parses) while
        # its scan runs (`scan` is then a Future); everything else is decoded here first
        optimistic = False
        pending = scan if isinstance(scan, Future) else None
        if pending is not None or not scan.checked:
            encoding = head_encoding(path)
            optimistic = encoding is not None and (pending is not None or not scan.blank_lines)
            if not optimistic:
                scan = pending.result() if pending is not None else scan
                pending = None
                encoding = detect_encoding(path)
        else:
            encoding = detect_encoding(path, scan)
        csv.field_size_limit(1 << 20)         # the head is 64 KB: no field limit there (the rows check it)
        with open(path, encoding=encoding, newline="") as f:
            head_text = f.read(65536)
        head_lines = head_text.splitlines()[:HEADER_SEARCH_ROWS + 1]
        delim = sniff_delimiter(head_lines)
        head_rows = list(csv.reader(io.StringIO("\n".join(head_lines)), delimiter=delim))
        h = find_header(head_rows)
        if h is None:
            raise UnreadableFile("見出し行が見つかりません（案件ID・実施日などの列名が必要です。records.md を参照）")
        headers, h = combine_header_rows(head_rows, h)
        kind = choose_kind(result.file_name, headers)
        if kind is None:
            raise UnreadableFile("どの記録の種類か判別できません（ファイル名か見出しで 支援案件/伴走記録/相談記録/セミナー・研修/目標値 のいずれかを示してください）")
        positions = match_headers(kind, headers)
        header_row = h + 1
        small = path.stat().st_size <= SMALL_CSV_BYTES
        # blank lines: CP932 and UTF-8 agree on the bytes of CR and LF, so the scan of the original file holds
        if small or (pending is None and scan.blank_lines):
            rows = self._csv_rows_python(path, encoding, delim, header_row, positions)
            table = self._table_from_rows(kind, positions, rows)
            self._finish(result, kind, table, None, header_row, headers, positions)
        else:
            if encoding == "cp932":
                path = self._transcode(path)
            try:
                table = self._table_from_duckdb_csv(path, delim, len(headers), header_row, positions)
            except duckdb.InvalidInputException as e:
                if not (optimistic and "unicode" in str(e).lower()):
                    raise UnreadableFile(_duckdb_csv_message(e)) from e
                # not UTF-8 after all (CP932 with a UTF-8-looking head, or broken bytes): decode it and start again
                scan = pending.result() if pending is not None else scan
                encoding = detect_encoding(path)
                self._read_csv(path, result, TextScan(scan.sha256, encoding if encoding != "cp932" else None,
                                                      scan.blank_lines, True))
                return
            if pending is not None and pending.result().blank_lines:
                # DuckDB's reader skipped the blank lines, so rowid is not the row number: read it the slow way
                self.con.execute(f"DROP TABLE {table}")
                self._read_csv(path, result, pending.result())
                return
            self._check_field_sizes(table, list(positions.values()), header_row)
            # no blank lines on this path, so the Excel row is header_row + 1 + the record's ordinal (rowid)
            self._finish(result, kind, table, None, header_row, headers, positions,
                         row_expr=f"CAST(rowid + {header_row + 1} AS INTEGER)")

    def _transcode(self, path: Path) -> Path:
        fd, tmp = tempfile.mkstemp(suffix=".csv", prefix="dx-utf8-")
        with open(path, encoding="cp932", newline="") as src, os.fdopen(fd, "w", encoding="utf-8", newline="") as dst:
            for chunk in iter(lambda: src.read(1 << 22), ""):
                dst.write(chunk)
        self._temp_files = getattr(self, "_temp_files", []) + [tmp]
        return Path(tmp)

    def _csv_rows_python(self, path, encoding, delim, header_row, positions):
        max_chars = limit("DX_MAX_CELL_CHARS")
        csv.field_size_limit(max_chars)       # process-wide, but every reader here sets it first
        with open(path, encoding=encoding, newline="") as f:
            reader = csv.reader(f, delimiter=delim)
            row_no = 0
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as e:
                    line = reader.line_num
                    if "field larger" in str(e):
                        raise UnreadableFile(f"{line:,} 行目付近: 1つの欄が長すぎます（上限 {max_chars:,} 文字、環境変数 "
                                             "DX_MAX_CELL_CHARS）。区切りや引用符（\"）の閉じ忘れがないか確認してください") from e
                    raise UnreadableFile(f"{line:,} 行目付近: CSV として読めません（{e}）") from e
                row_no += 1
                # csv's own row count: a quoted line break makes a record span lines; line_num is where it ends
                chars = sum(map(len, row)) + len(row)         # with the delimiters
                if chars > CSV_MAX_LINE_BYTES // 4 and \
                        sum(len(c.encode("utf-8")) for c in row) + len(row) > CSV_MAX_LINE_BYTES:
                    raise UnreadableFile(_line_too_long(reader.line_num))
                if row_no <= header_row:
                    continue
                yield row_no, row

    def _check_field_sizes(self, table: str, names: list[str], header_row: int) -> None:
        """A field of a recognised column longer than DX_MAX_CELL_CHARS (DuckDB's reader itself admits any length
        within a line): refused like the small path does, naming the first such row."""
        max_chars = limit("DX_MAX_CELL_CHARS")
        if not names:
            return
        longest = " OR ".join(f'strlen("{n}") > {max_chars}' for n in names)   # bytes ≥ characters: cheap pre-test
        rows = self.con.execute(
            f"SELECT rowid + {header_row + 1} FROM {table} WHERE ({longest}) AND greatest("
            + ", ".join(f'coalesce(length("{n}"), 0)' for n in names) + f") > {max_chars} ORDER BY rowid LIMIT 1"
        ).fetchall()
        if rows:
            raise UnreadableFile(f"{rows[0][0]:,} 行目: 1つの欄が長すぎます（上限 {max_chars:,} 文字、環境変数 "
                                 "DX_MAX_CELL_CHARS）。区切りや引用符（\"）の閉じ忘れがないか確認してください")

    def _table_from_duckdb_csv(self, path: Path, delim: str, ncols: int, header_row: int, positions) -> str:
        """One read_csv straight into a table of the recognised columns under their canonical names (the file is
        materialised once; the row number comes from rowid: insertion order is the file's order)."""
        table = self._new_table()
        cols = {f"c{i}": "VARCHAR" for i in range(ncols)}
        select = ", ".join(f'c{i} AS "{name}"' for i, name in positions.items())
        # a row with fewer fields than the header has blank cells at its end, as Python's csv module reads it
        statement = (f"""CREATE TEMP TABLE {table} AS SELECT {select} FROM read_csv(?, auto_detect=false, header=false,
                         skip=?, delim=?, quote='"', escape='"', strict_mode=false, null_padding=true, parallel=?,
                         columns=?)""")
        try:
            self.con.execute(statement, [str(path), header_row, delim, True, cols])
        except duckdb.Error as e:
            # DuckDB's parallel reader cannot pad short rows of a file with line breaks inside quotes
            if "null_padding" not in str(e):
                raise
            self.con.execute(statement, [str(path), header_row, delim, False, cols])
        return table

    # XLSX --------------------------------------------------------------------
    def _read_xlsx(self, path: Path, result: FileResult) -> None:
        import openpyxl  # noqa: PLC0415  (heavy: only for .xlsx files)
        if not zipfile.is_zipfile(path):
            raise UnreadableFile("Excel ブック（.xlsx）として開けません。ファイルが壊れているか、別の形式です")
        check_xlsx_size(path)
        bounds_by_member = workbook_bounds(path)
        try:
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as e:  # openpyxl raises many types for broken workbooks
            raise UnreadableFile(f"Excel ブック（.xlsx）として開けません（{type(e).__name__}）") from e
        formulas = _formula_workbook(path)
        try:
            sheets = wb.worksheets
            found = 0
            for ws in sheets:
                # read only the part that holds values: never padded to a faked <dimension>
                bounds = bounds_by_member.get(ws._worksheet_path.lstrip("/")) or sheet_bounds(
                    wb._archive, ws._worksheet_path, ws.title)
                rows = [list(r) for r in ws.iter_rows(max_row=bounds.rows or 1, max_col=bounds.columns or 1,
                                                      values_only=True)] if bounds.cells else []
                h = find_header(rows)
                if ws.sheet_state != "visible":
                    # hidden helper sheets (the template's 選択肢) are skipped; say so only for record sheets
                    if h is not None:
                        result.warnings.append(f"{result.file_name} [{ws.title}]: 非表示のシートは読み込みません")
                    continue
                if h is None:
                    if ws.title == INSTRUCTIONS_SHEET:
                        continue
                    if any(any(c is not None for c in r) for r in rows):
                        result.warnings.append(f"{result.file_name} [{ws.title}]: 見出し行が見つからないため読み飛ばしました")
                    continue
                headers, h = combine_header_rows(rows, h)
                kind = choose_kind(ws.title, headers) or choose_kind(result.file_name, headers)
                if kind is None:
                    result.warnings.append(f"{result.file_name} [{ws.title}]: どの記録の種類か判別できないため読み飛ばしました")
                    continue
                positions = match_headers(kind, headers)
                header_row = h + 1
                data = ((i, r) for i, r in enumerate(rows, start=1) if i > header_row)
                table = self._table_from_rows(kind, positions, data, excel=True)
                self._finish(result, kind, table, ws.title, header_row, headers, positions)
                if formulas is not None:
                    result.tables[-1].cell_problems = _formulas_without_value(
                        formulas[ws.title], rows, header_row, positions, bounds)
                found += 1
            if not found:
                raise UnreadableFile("記録のシートが見つかりません（見出し行のあるシートが必要です）")
        finally:
            wb.close()
            if formulas is not None:
                formulas.close()

    # shared ------------------------------------------------------------------
    def _table_from_rows(self, kind: Kind, positions: dict[int, str], rows, excel: bool = False) -> str:
        names = list(positions.values())
        idx = list(positions.keys())
        data: dict[str, list] = {"_row": [], **{n: [] for n in names}}
        conv = cell_text if excel else (lambda v: v if v is not None and v.strip() != "" else None)
        max_chars = limit("DX_MAX_CELL_CHARS")
        for row_no, row in rows:
            values = [conv(row[i]) if i < len(row) else None for i in idx]
            for name, v in zip(names, values):
                if v is not None and len(v) > max_chars:
                    raise UnreadableFile(f"{row_no:,} 行目「{kind.column(name).label}」: セルの文字数が上限を超えています"
                                         f"（{len(v):,} 文字、上限 {max_chars:,} 文字、環境変数 DX_MAX_CELL_CHARS）")
            if all(v is None for v in values) and all(
                    (c is None or str(c).strip() == "") for c in row):
                continue  # blank rows are ignored
            data["_row"].append(row_no)
            for n, v in zip(names, values):
                data[n].append(v)
        table = self._new_table()
        if len(data["_row"]) <= LIST_PARAMETER_ROWS:
            # the columns as list parameters, zipped by unnest: no dataframe library to import for a small file
            columns = ", ".join(f'unnest(${i + 1}::{"INTEGER" if n == "_row" else "VARCHAR"}[]) AS "{n}"'
                                for i, n in enumerate(data))
            self.con.execute(f"CREATE TEMP TABLE {table} AS SELECT {columns}", list(data.values()))
            return table
        import pandas as pd  # noqa: PLC0415  (heavy: only for a large .xlsx or odd CSV)
        df = pd.DataFrame({k: pd.Series(v, dtype="object") for k, v in data.items()})
        df["_row"] = df["_row"].astype("int32")
        self.con.register(f"{table}_df", df)
        cols = ", ".join(["_row"] + [f'CAST("{n}" AS VARCHAR) AS "{n}"' for n in names])
        self.con.execute(f"CREATE TEMP TABLE {table} AS SELECT {cols} FROM {table}_df")
        self.con.unregister(f"{table}_df")
        return table

    def _finish(self, result, kind, table, sheet, header_row, headers, positions, row_expr: str = "_row"):
        # a row with every recognised cell blank counts as a blank row (trailing rows in Excel): deleted from a small
        # table; for a table whose row numbers come from rowid, left out by a condition instead (deleting would not
        # renumber, but the condition keeps the table untouched and costs one cheap scan)
        names = list(positions.values())
        # (a value starting with a printable ASCII character is not blank: trim() only for the others)
        blank = " AND ".join(f'("{n}" IS NULL OR (NOT (ascii("{n}") BETWEEN 33 AND 126) AND trim("{n}") = \'\'))'
                             for n in names)
        keep = None
        # the template's example rows: the first recognised column (in the file's order) starts with the marker
        first = positions[min(positions)]
        example = f"starts_with(ltrim(coalesce(\"{first}\", '')), '{EXAMPLE_MARKER}')"
        if row_expr == "_row":
            example_rows = [r for (r,) in self.con.execute(
                f"SELECT _row FROM {table} WHERE {example} ORDER BY _row").fetchall()]
            self.con.execute(f"DELETE FROM {table} WHERE ({blank}) OR {example}")
            rows = self.con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        else:
            example_rows = [r for (r,) in self.con.execute(
                f"SELECT {row_expr} AS r FROM {table} WHERE {example} ORDER BY r LIMIT 20").fetchall()]
            keep = f"NOT ({blank}) AND NOT {example}"
            rows = self.con.execute(f"SELECT count(*) FROM {table} WHERE {keep}").fetchall()[0][0]
        unknown = [str(hd).strip() for i, hd in enumerate(headers)
                   if i not in positions and hd is not None and str(hd).strip()]
        where = f"{result.file_name}" + (f" [{sheet}]" if sheet else "")
        if example_rows:
            result.notes.append(f"{where}: 記入例の行（{'、'.join(map(str, example_rows))}行目、最初のセルが"
                                f"「{EXAMPLE_MARKER}」で始まる行）は取り込みません")
        if unknown:
            result.warnings.append(f"{where}: 未知の列は取り込みません: {', '.join(unknown)}")
        if rows == 0 and not example_rows:
            # header only: nothing to load, but not an error (an empty template sheet, a month with no records)
            result.warnings.append(f"{where}: 見出し行だけでデータ行がありません（{KINDS[kind.name].label}）")
        result.tables.append(RawTable(result.file_name, sheet, kind, table, header_row, rows, names, unknown,
                                      row_expr=row_expr, keep=keep))

    def cleanup(self) -> None:
        for tmp in getattr(self, "_temp_files", []):
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _line_too_long(line: int | None) -> str:
    where = f"{line:,} 行目" if line else "ある行"
    return (f"{where}が長すぎます（1行の上限 {CSV_MAX_LINE_BYTES // (1024 * 1024)} MB）。改行の抜けや"
            "引用符（\"）の閉じ忘れがないか確認してください")


def _duckdb_csv_message(e: Exception) -> str:
    """DuckDB's CSV error (English, with the whole line quoted) → a short Japanese message with the line number."""
    text = str(e)
    m = re.search(r"Line: (\d+)", text)
    line = int(m.group(1)) if m else None
    if "line size" in text.lower() or "max_line_size" in text.lower():
        return _line_too_long(line)
    where = f"{line:,} 行目" if line else "ファイルのどこか"
    return f"{where}: CSV として読めません（引用符の閉じ忘れや列の区切りを確認してください）"


NO_RECORD_FILES = "取り込む記録ファイル（.csv / .tsv / .txt / .xlsx）が見つかりません"


def iter_input_files(paths: list[Path]) -> list[Path]:
    """Files named, and record files inside folders named (sorted, so loads are repeatable)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*")
                              if q.is_file() and q.suffix.lower() in (".csv", ".tsv", ".txt", ".xlsx", ".xlsm")
                              and not q.name.startswith(("~$", "."))))
        else:
            out.append(p)
    return out


__all__ = ["Extractor", "FileResult", "RawTable", "UnreadableFile", "iter_input_files", "KINDS", "NO_RECORD_FILES"]
