"""データ取込: the logic behind pages/4_データ取込.py (no Streamlit here, so it is tested with real files).

The page and the CLI share one code path: uploaded files are saved under a private temp folder with their
original names kept for messages (``names=``), validated by ``etl.load.Batch`` (what ``python -m etl check`` does)
and loaded by ``etl.load.load_files`` (what ``python -m etl load --accept-valid`` does): a copy of the database
is written and swapped in with os.replace, so a reader never sees half a load and a failed load changes nothing.
This is the only place in the app that writes, and it writes only through etl.load.
"""
from __future__ import annotations

import functools
import hashlib
import json
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import pandas as pd

from etl import freshness, versions
from etl.kinds import KINDS, LOAD_ORDER
from etl.load import Batch, BatchReport, load_files
from monitor.db import connect_readonly, resolve_path
from monitor.exports import safe_file_name, to_xlsx

ACCEPTED_TYPES = ["csv", "tsv", "txt", "xlsx", "xlsm", "xls"]
SEVERITY_LABEL = {"error": "エラー（取り込みません）", "warning": "注意（取り込みます）",
                  "duplicate": "重複（1件として取り込みます）"}
REASON_COLUMN = "理由"
ROW_COLUMN = "行"
FILE_COLUMN = "元ファイル"
# progress messages of etl.load → a fraction for the progress bar
PROGRESS_STEPS = (("読込中", 0.1), ("検証中", 0.3), ("データベースを複製中", 0.45), ("書込中", 0.6),
                  ("集計表を作成中", 0.85))


@dataclass
class Validation:
    """One set of uploaded files, saved and validated (nothing written to the database)."""
    signature: str                       # identifies the uploaded files (names and bytes)
    folder: Path                         # private temp folder holding the saved files
    names: dict[Path, str]               # saved path → original file name
    report: BatchReport
    pending_rejected: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def rows_to_load(self) -> int:
        return sum(t.rows_valid for t in self.report.tables)

    @property
    def can_load(self) -> bool:
        withdrawn = sum(t.rows_withdrawn for t in self.report.tables)   # rows marked 削除 are a change too
        return not self.report.unreadable and self.rows_to_load + withdrawn > 0

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


# ── access ─────────────────────────────────────────────────────────────────

def restriction_notice(allowed: tuple[str, ...] | None) -> str | None:
    """Under DX_ALLOWED_PREFECTURES the page neither loads nor lists rejected rows: a load replaces records of every
    prefecture, and a rejected row may belong to any prefecture (its 都道府県 may be the very value that is wrong),
    so neither can be limited to the allowed ones. The load history (files and counts, no records) stays."""
    if allowed is None:
        return None
    return (f"この画面の閲覧範囲は {'、'.join(allowed)} に限られているため、記録の取込と不合格の行の表示はできません"
            "（取込はすべての都道府県の記録に及び、不合格の行はどの都道府県のものか確かめられないためです）。"
            "取込は閲覧範囲の設定のない画面か、コマンド python -m etl load で行ってください。")


# ── uploads ────────────────────────────────────────────────────────────────

def upload_signature(uploads: Iterable[tuple[str, bytes]]) -> str:
    h = hashlib.sha256()
    for name, data in uploads:
        h.update(name.encode("utf-8") + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()


def _safe_name(name: str, i: int) -> str:
    base = re.split(r"[\\/]", str(name))[-1].strip()
    base = safe_file_name(base) if base else ""
    return base if base and base not in (".", "..") else f"upload_{i}"


def save_uploads(uploads: Iterable[tuple[str, bytes]], folder: Path) -> dict[Path, str]:
    """Write each (name, bytes) into its own sub-folder (two files may share a name); → path: original name."""
    names: dict[Path, str] = {}
    for i, (name, data) in enumerate(uploads):
        sub = Path(folder) / f"{i:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        path = sub / _safe_name(name, i)
        path.write_bytes(data)
        names[path] = re.split(r"[\\/]", str(name))[-1] or path.name
    return names


def validate_uploads(uploads: list[tuple[str, bytes]], db: Path | None = None) -> Validation:
    """Save the uploads to a private temp folder and validate them exactly as the CLI does (etl.load.Batch)."""
    db = resolve_path(db)
    folder = Path(tempfile.mkdtemp(prefix="dx-intake-"))
    try:
        names = save_uploads(uploads, folder)
        batch = Batch(list(names), db, names=names)
        try:
            pending = rejected_frames_from_batch(batch)
        finally:
            batch.close()
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Validation(upload_signature(uploads), folder, names, batch.report, pending)


def progress_fraction(message: str) -> float:
    for prefix, fraction in PROGRESS_STEPS:
        if message.startswith(prefix):
            return fraction
    return 0.0


def load_validated(validation: Validation, db: Path | None = None,
                   progress: Callable[[str], None] | None = None) -> BatchReport:
    """Load the valid rows of validated uploads (python -m etl load --accept-valid). Raises etl.load.LoadBusy
    when another load holds the database; the database is then unchanged."""
    return load_files(list(validation.names), resolve_path(db), accept_valid=True, names=validation.names,
                      progress=progress, who=versions.PAGE_ACTOR)


# ── report tables ─────────────────────────────────────────────────────────────

def summary_frame(report: BatchReport, file_name: str | None = None) -> pd.DataFrame:
    rows = [{"ファイル": t.file_name, "シート": t.sheet or "", "記録の種類": KINDS[t.kind].label,
             "読込行数": t.rows_read, "取込予定": t.rows_valid, "不合格": t.rows_rejected,
             "重複（1件として取込）": t.rows_duplicate, "取り下げ（削除）": t.rows_withdrawn}
            for t in report.tables if file_name is None or t.file_name == file_name]
    return pd.DataFrame(rows, columns=["ファイル", "シート", "記録の種類", "読込行数", "取込予定", "不合格",
                                       "重複（1件として取込）", "取り下げ（削除）"])


def problems_frame(report: BatchReport, file_name: str | None = None) -> pd.DataFrame:
    """One row per problem: 区分, ファイル, シート, 行, 列, 値, 理由 (errors first, then by file and row)."""
    order = {"error": 0, "duplicate": 1, "warning": 2}
    problems = sorted((p for p in report.problems if file_name is None or p.file_name == file_name),
                      key=lambda p: (order.get(p.severity, 3), p.file_name, p.sheet or "", p.row, p.column))
    rows = [{"区分": SEVERITY_LABEL.get(p.severity, p.severity), "ファイル": p.file_name, "シート": p.sheet or "",
             "行": p.row, "列": p.column, "値": p.value if p.value is not None else "", "理由": p.reason}
            for p in problems]
    return pd.DataFrame(rows, columns=["区分", "ファイル", "シート", "行", "列", "値", "理由"])


def file_warnings(report: BatchReport, file_name: str) -> list[str]:
    return [w for f in report.files if f.file_name == file_name for w in f.warnings]


def file_counts(report: BatchReport, file_name: str) -> dict[str, int]:
    tables = [t for t in report.tables if t.file_name == file_name]
    return {"read": sum(t.rows_read for t in tables), "valid": sum(t.rows_valid for t in tables),
            "rejected": sum(t.rows_rejected for t in tables),
            "warnings": len(file_warnings(report, file_name))
            + sum(1 for p in report.problems if p.file_name == file_name and p.severity != "error")}


def file_names(report: BatchReport) -> list[str]:
    return [f.file_name for f in report.files]


def result_lines(report: BatchReport) -> list[str]:
    totals = report.rows_by_kind()
    lines = [f"{KINDS[k].label}: {n:,} 行を取り込みました" for k, n in totals.items()]
    withdrawn = sum(t.rows_withdrawn for t in report.tables)
    if withdrawn:
        lines.append(f"「削除」の印のある {withdrawn:,} 行の記録を取り下げました")
    rejected = sum(t.rows_rejected for t in report.tables)
    if rejected:
        lines.append(f"不合格の {rejected:,} 行は取り込んでいません（下の「不合格の行」から修正用の Excel を取得できます）")
    return lines + list(report.notes)


# ── history and rejected rows (read-only, from the database) ─────────────────────

def load_history(db: Path | None = None) -> pd.DataFrame:
    """The load history, newest first: 取込ID, 日時, ファイル, シート, 種類, sha256, 読込行数, 取込行数, 不合格行数."""
    cols = ["取込ID", "日時", "ファイル", "シート", "記録の種類", "sha256", "読込行数", "取込行数", "不合格行数"]
    p = resolve_path(db)
    if not p.exists():
        return pd.DataFrame(columns=cols)
    con = connect_readonly(p)
    try:
        df = con.execute("""SELECT load_id, loaded_at, file_name, coalesce(sheet, ''), kind, sha256,
                                   rows_read, rows_loaded, rows_rejected
                            FROM load_history ORDER BY load_id DESC, file_name, sheet""").df()
    finally:
        con.close()
    df.columns = cols
    df["記録の種類"] = [KINDS[k].label if k in KINDS else k for k in df["記録の種類"]]
    return df


def loads_with_rejections(db: Path | None = None) -> list[tuple[int, str]]:
    """(load_id, label) of loads that rejected rows, newest first."""
    p = resolve_path(db)
    if not p.exists():
        return []
    con = connect_readonly(p)
    try:
        rows = con.execute("""SELECT h.load_id, min(h.loaded_at), string_agg(DISTINCT h.file_name, '、'),
                                     (SELECT count(DISTINCT (r.file_name, r.sheet, r.row_no)) FROM rejected_rows r
                                      WHERE r.load_id = h.load_id)
                              FROM load_history h GROUP BY h.load_id
                              HAVING sum(h.rows_rejected) > 0 ORDER BY h.load_id DESC""").fetchall()
    finally:
        con.close()
    return [(lid, f"取込 {lid}（{at:%Y-%m-%d %H:%M}）{files} — 不合格 {n:,} 行") for lid, at, files, n in rows]


def _frames(records: list[tuple[str, str, str | None, int, str, str]]) -> dict[str, pd.DataFrame]:
    """(kind, file, sheet, row, record JSON, reasons) → one DataFrame per kind (sheet named by the kind's Japanese
    name, so a corrected workbook is recognised on re-upload): the original columns under their Japanese headers,
    then 理由, 行 and 元ファイル."""
    by_kind: dict[str, list[dict]] = {}
    for kind, file_name, sheet, row, record, reasons in records:
        by_kind.setdefault(kind, []).append({"_rec": json.loads(record) if record else {}, "file": file_name,
                                             "sheet": sheet, "row": row, "reasons": reasons})
    out: dict[str, pd.DataFrame] = {}
    for kind_name in [k for k in LOAD_ORDER if k in by_kind]:
        kind = KINDS[kind_name]
        items = by_kind[kind_name]
        present = [c for c in kind.columns
                   if c.required or any(it["_rec"].get(c.name) not in (None, "") for it in items)]
        rows = []
        for it in items:
            row = {c.label: it["_rec"].get(c.name) for c in present}
            row[REASON_COLUMN] = it["reasons"]
            row[ROW_COLUMN] = it["row"]
            row[FILE_COLUMN] = it["file"] + (f" [{it['sheet']}]" if it["sheet"] else "")
            rows.append(row)
        out[kind.label] = pd.DataFrame(rows, columns=[c.label for c in present]
                                       + [REASON_COLUMN, ROW_COLUMN, FILE_COLUMN])
    return out


def rejected_frames(load_id: int, db: Path | None = None) -> dict[str, pd.DataFrame]:
    """The rejected rows of one load (from rejected_rows.record), one DataFrame per record kind."""
    con = connect_readonly(resolve_path(db))
    try:
        records = con.execute("""
            SELECT kind, file_name, sheet, row_no, any_value(CAST(record AS VARCHAR)),
                   string_agg('「' || column_name || '」' || reason, ' / ' ORDER BY column_name)
            FROM rejected_rows WHERE load_id = ?
            GROUP BY kind, file_name, sheet, row_no ORDER BY file_name, sheet, row_no""", [load_id]).fetchall()
    finally:
        con.close()
    return _frames(records)


def rejected_frames_from_batch(batch: Batch) -> dict[str, pd.DataFrame]:
    """The rows a validated (not yet loaded) batch would reject, with their original values, from its
    in-memory tables: the same frames as rejected_frames()."""
    if not batch.report.errors:
        return {}
    records = []
    sources = {i: (t.file_name, t.sheet) for i, t in enumerate(batch.raw_tables)}
    for name in batch.kinds:
        rows = batch.con.execute(f"""
            SELECT p._src, p._row, any_value(CAST(to_json(r) AS VARCHAR)),
                   string_agg('「' || p.column_name || '」' || p.reason, ' / ' ORDER BY p.column_name)
            FROM problems p JOIN (SELECT * EXCLUDE (_src, _row), _src AS __src, _row AS __row FROM raw_{name}) r
              ON r.__src = p._src AND r.__row = p._row
            WHERE p.kind = ? AND p.severity = 'error'
            GROUP BY p._src, p._row ORDER BY p._src, p._row""", [name]).fetchall()
        for src, row, record, reasons in rows:
            file_name, sheet = sources[src]
            records.append((name, file_name, sheet, row, record, reasons))
    return _frames(records)


def rejected_xlsx(frames: dict[str, pd.DataFrame], source: str) -> bytes:
    """The rejected rows as an .xlsx (formula-safe, via monitor.exports.to_xlsx) that can be fixed and re-uploaded."""
    return to_xlsx(frames, {"内容": "取り込めなかった行（修正して再度アップロードできます。理由・行・元ファイルの列は読み飛ばされます）",
                            "取込": source})


@functools.lru_cache(maxsize=1)
def template_bytes() -> bytes:
    from etl.template import write_template
    with tempfile.TemporaryDirectory(prefix="dx-template-") as d:
        path = write_template(Path(d) / "入力テンプレート.xlsx")
        return path.read_bytes()


# ── versions, undo and freshness (etl.versions, etl.freshness) ─────────────────────

def change_history(db: Path | None = None) -> pd.DataFrame:
    """Every write the history log holds (loads, undos, withdrawals…), newest first."""
    cols = ["番号", "日時", "実行者", "操作", "内容", "件数（変更後）", "元に戻す"]
    p = resolve_path(db)
    entries = versions.read_log(p)
    undone = {i: e["id"] for e in entries if e.get("action") == "undo"
              for i in [e.get("undoes"), *e.get("also_undone", [])]}
    rows = []
    for e in reversed(entries):
        if e.get("action") == "undo":
            what = f"{e.get('undone', e.get('undoes'))} を取り消し"
        elif e.get("action") == "withdraw":
            what = f"{KINDS[e['kind']].label}: " + "、".join(e.get("ids") or [])
        else:
            what = "、".join(e.get("files") or [])
        if e["id"] in undone:
            what += f"（取消済み: {undone[e['id']]}）"
        counts = "、".join(f"{KINDS[k].label} {n:,}" for k, n in (e.get("counts") or {}).items() if k in KINDS)
        rows.append({"番号": e["id"], "日時": str(e.get("at", "")).replace("T", " "), "実行者": e.get("who", ""),
                     "操作": versions.ACTION_LABEL.get(e.get("action"), e.get("action")), "内容": what,
                     "件数（変更後）": counts,
                     "元に戻す": "可" if versions.available(p, e) else ("版なし" if not e.get("version") else "版は削除済み")})
    return pd.DataFrame(rows, columns=cols)


def latest_change(db: Path | None = None) -> dict | None:
    """The newest history entry, when its replaced version is still kept (what the page offers to undo)."""
    p = resolve_path(db)
    entry = versions.find(p, None)
    return entry if entry and versions.available(p, entry) else None


def undo_change(entry_id: int, db: Path | None = None) -> dict:
    """Undo one history entry as the page's user (etl.versions.undo: atomic, itself undoable)."""
    return versions.undo(resolve_path(db), entry_id, who=versions.PAGE_ACTOR)


def freshness_table(db: Path | None = None, allowed: tuple[str, ...] | None = None,
                    today=None) -> tuple[pd.DataFrame, str]:
    """「データの鮮度と欠損」: the display table and its caption; under DX_ALLOWED_PREFECTURES only the groups of the
    allowed prefectures."""
    p = resolve_path(db)
    if not p.exists():
        return freshness.display_frame(freshness_empty()), ""
    con = connect_readonly(p)
    try:
        df = freshness.freshness(con, today=today)
    finally:
        con.close()
    if allowed is not None:
        df = df[df["prefecture"].isin(allowed)]
    return freshness.display_frame(df), freshness.caption(df)


def freshness_empty() -> pd.DataFrame:
    return pd.DataFrame(columns=["group_name", "prefecture", "last_upload", "latest_record", "days_since", "stale",
                                 "missing_months", "missing_month_names", "sessions", "no_stage", "no_bank",
                                 "no_duration", "consultations", "no_theme", "fiscal_year"])
