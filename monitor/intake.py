"""データ取込: the logic behind pages/4_データ取込.py (no Streamlit here, so it is tested with real files).

The page and the CLI share one code path: uploaded files are saved under a private temp folder (``dx-intake-*``)
with their original names kept for messages (``names=``), validated by ``etl.load.Batch.prepare`` (what ``python -m etl
check`` does) and loaded by ``etl.load.load_files`` (what ``python -m etl load --accept-valid`` does): a copy of the
database is written and swapped in with os.replace, so a reader never sees half a load and a failed load changes
nothing. Both run in a worker process (monitor/intake_worker.py) with a memory limit, one at a time, so a huge or
hostile file cannot take the server down; the temp folder is removed when the worker ends, and folders a killed
server left behind are swept at start-up (older than an hour). This is the only place in the app that writes, and
it writes only through etl.load.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import functools
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import pandas as pd

from etl import freshness, restore, versions
from etl.kinds import KINDS, LOAD_ORDER
from etl.extract import FileResult
from etl.load import BatchReport, LoadBusy, Problem, Progress, TableSummary, change_text
from etl.macros import parse_date
from etl.validate import impossible_date_reason
from etl.paths import ROOT
from monitor.format import fmt_datetime
from monitor.worker_memory import memory_limit_mb
from monitor.read.db import connect_readonly, resolve_path
from monitor.exports import to_xlsx

ACCEPTED_TYPES = ["csv", "tsv", "txt", "xlsx", "xlsm", "xls"]
SEVERITY_LABEL = {"error": "エラー（取り込みません）", "warning": "注意（取り込みます）",
                  "duplicate": "重複（1件として取り込みます）", "note": "メモ（対応づけて取り込みます）"}
REASON_COLUMN = "理由"
ROW_COLUMN = "行"
FILE_COLUMN = "元ファイル"
# the stage of a progress report (etl.load.Progress) → a fraction for the progress bar
PROGRESS_FRACTION = {"read": 0.1, "validate": 0.3, "copy": 0.45, "write": 0.6, "marts": 0.85}
# the counts per file on the validation report, in the order shown (keys of file_counts)
FILE_COUNT_LABELS = [("読込行数", "read"), ("取込予定", "valid"), ("不合格", "rejected"), ("注意", "warnings"),
                     ("メモ（対応づけ）", "notes")]


@dataclass
class Validation:
    """One set of uploaded files, validated (nothing written to the database). The files were saved to a private
    temp folder only while the worker read them; a load saves them again from ``uploads`` (the bytes the browser
    session holds anyway), so no uploaded file outlives a validation or a load."""
    signature: str                       # identifies the uploaded files (names and bytes)
    uploads: list[tuple[str, bytes]]
    report: BatchReport
    pending_rejected: dict[str, pd.DataFrame] = field(default_factory=dict)
    as_of: dt.date | None = None         # the データ基準日 the steward stated (None: the latest activity)

    @property
    def rows_to_load(self) -> int:
        return sum(t.rows_valid for t in self.report.tables)

    @property
    def can_load(self) -> bool:
        withdrawn = sum(t.rows_withdrawn for t in self.report.tables)   # rows marked 削除 are a change too
        return not self.report.unreadable and self.rows_to_load + withdrawn > 0

    def discard(self) -> None:
        self.uploads = []


class WorkerFailed(Exception):
    """The worker process failed (a fault, out of memory, killed); the message is Japanese, the database unchanged."""


# ── access ─────────────────────────────────────────────────────────────────

def scope_notice(allowed: tuple[str, ...] | None) -> str | None:
    """What a load under a restricted session may change (None: unrestricted). The scope goes into the load itself
    (etl/scope.py), where each row outside it is rejected with its reason."""
    if allowed is None:
        return None
    if not allowed:
        return "この取込で変更できる都道府県はありません。すべての行が不合格になります。"
    return f"この取込は {'、'.join(allowed)} の記録だけを変更できます。範囲外の行は不合格になります。"


# ── uploads ────────────────────────────────────────────────────────────────

def upload_signature(uploads: Iterable[tuple[str, bytes]], as_of: dt.date | None = None) -> str:
    """Identifies the uploaded files and the stated as-of date (a different date is validated again: the warnings
    for activity after it change)."""
    h = hashlib.sha256()
    if as_of is not None:
        h.update(b"as_of\0" + as_of.isoformat().encode())
    for name, data in uploads:
        h.update(name.encode("utf-8") + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()


def _safe_name(name: str, i: int) -> str:
    """The saved file's name: upload_<i> and the original extension only. The original name (kept for messages
    and for recognising the kind) may be longer than the file system allows (100 Japanese characters are 300
    bytes; NAME_MAX is 255) or hold anything at all."""
    base = re.split(r"[\\/]", str(name))[-1].strip()
    suffix = Path(base).suffix.lower() if base not in (".", "..") else ""
    suffix = suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else ""
    return f"upload_{i}{suffix}"


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


def parse_as_of(text: str | None) -> tuple[dt.date | None, str | None]:
    """The データ基準日 field: (date, None), (None, None) when empty, or (None, Japanese error) when not a date.
    The same date forms as the records (and python -m etl load --as-of)."""
    if text is None or not text.strip():
        return None, None
    as_of = parse_date(text)
    if as_of is None:
        why = impossible_date_reason(text) or "日付として読めません（例: 2024-03-31、2024/3/31、R6.3.31、令和6年3月31日）"
        return None, f"データ基準日「{text.strip()}」: {why}"
    return as_of, None


_swept = False


def sweep_once() -> None:
    """sweep_stale_uploads the first time a server process runs a page."""
    global _swept
    if not _swept:
        _swept = True
        sweep_stale_uploads()


UPLOAD_PREFIX = "dx-intake-"
STALE_UPLOAD_SECONDS = 3600
WORKER_LOCK_NAME = "dx-worker.lock"


def sweep_stale_uploads(max_age: float = STALE_UPLOAD_SECONDS, root: Path | None = None) -> list[Path]:
    """Remove upload folders (dx-intake-*) older than ``max_age`` seconds, left by a server that was killed while a
    worker ran; called once when the server starts. A folder in use is never that old: a worker's folder lives for
    one validation or load."""
    root = Path(root or tempfile.gettempdir())
    now = time.time()
    removed = []
    for p in root.glob(f"{UPLOAD_PREFIX}*"):
        try:
            if p.is_dir() and not p.is_symlink() and now - p.stat().st_mtime > max_age:
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p)
        except OSError:
            pass
    return removed


@contextmanager
def _worker_slot(progress: Callable[[str], None]):
    """One worker at a time on this machine (an advisory lock in the temp folder): the next waits and says so."""
    with open(Path(tempfile.gettempdir()) / WORKER_LOCK_NAME, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress(Progress("wait", "待ち: 別の検証・取込が実行中です。終わりしだい始めます"))
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _memory_message() -> str:
    return (f"処理がメモリの上限（{memory_limit_mb():,} MB、環境変数 DX_WORKER_MEMORY_MB）を超えたか、途中で止まったため"
            "中止しました。データベースは変更していません。ファイルを分けて取り込むか、管理者に上限を確認してください")


def run_worker(action: str, uploads: list[tuple[str, bytes]], db: Path,
               progress: Callable[[str], None] | None = None, as_of: dt.date | None = None,
               scope: tuple[str, ...] | None = None) -> dict:
    """Save ``uploads`` to a private temp folder, run the worker process on them (``action``: validate | load; under
    ``scope``, the prefectures the load may change: the session's, from monitor.access, never from a widget),
    pass its progress reports to ``progress`` (etl.load.Progress: a stage and its Japanese text), remove the folder, and return the worker's result. Raises
    LoadBusy (another load holds the database) or WorkerFailed (Japanese message; the database unchanged)."""
    progress = progress or (lambda message: None)
    with _worker_slot(progress):
        folder = Path(tempfile.mkdtemp(prefix=UPLOAD_PREFIX))
        try:
            names = save_uploads(uploads, folder)
            result_path = folder / "result.json"
            job = folder / "job.json"
            job.write_text(json.dumps({"action": action, "db": str(db), "result": str(result_path),
                                       "as_of": as_of.isoformat() if as_of else None,
                                       "scope": None if scope is None else list(scope),
                                       "files": [[str(p), n] for p, n in names.items()]}, ensure_ascii=False),
                           encoding="utf-8")
            with open(folder / "worker.log", "wb") as log:
                proc = subprocess.Popen([sys.executable, "-m", "monitor.intake_worker", str(job)], cwd=ROOT,
                                        stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL)
                try:
                    for line in proc.stdout:
                        try:
                            message = json.loads(line)
                        except ValueError:
                            continue
                        if isinstance(message, dict) and message.get("progress"):
                            progress(Progress(message["stage"], message["progress"]))
                finally:
                    proc.stdout.close()
                    proc.wait()
            if not result_path.exists():
                raise WorkerFailed(_memory_message())
            result = json.loads(result_path.read_text(encoding="utf-8"))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    if result["ok"]:
        return result
    if result["error"] == "busy":
        raise LoadBusy(result["message"])
    if result["error"] == "memory":
        raise WorkerFailed(_memory_message())
    raise WorkerFailed(result["message"] or "検証・取込に失敗しました（データベースは変更していません）")


def report_from_dict(d: dict) -> BatchReport:
    return BatchReport(files=[FileResult(path=Path(f["file_name"]), file_name=f["file_name"], sha256=f["sha256"],
                                         error=f["error"], warnings=list(f["warnings"])) for f in d["files"]],
                       tables=[TableSummary(**t) for t in d["tables"]],
                       problems=[Problem(**p) for p in d["problems"]], loaded=d["loaded"], notes=list(d["notes"]),
                       **{k: (dt.date.fromisoformat(d[k]) if k == "as_of" and d.get(k) else d.get(k))
                          for k in ("as_of", "as_of_source") if k in d})


def validate_uploads(uploads: list[tuple[str, bytes]], db: Path | None = None, as_of: dt.date | None = None,
                     progress: Callable[[str], None] | None = None,
                     scope: tuple[str, ...] | None = None) -> Validation:
    """Validate the uploads exactly as the CLI does (etl.load.Batch, ``--scope``), in the worker process; the saved
    files are removed when it ends."""
    result = run_worker("validate", uploads, resolve_path(db), progress, as_of=as_of, scope=scope)
    pending = _frames([tuple(r) for r in result["rejected"]])
    report = report_from_dict(result["report"])
    # the bytes are kept only for a load, which an unreadable file rules out (a refused 50 MB workbook stays out)
    keep = list(uploads) if not report.unreadable else []
    return Validation(upload_signature(uploads, as_of), keep, report, pending, as_of)


def progress_fraction(message: Progress) -> float:
    """Where the progress bar stands at this report (by its stage; the wait before the worker starts is 0)."""
    return PROGRESS_FRACTION.get(getattr(message, "stage", None), 0.0)


def load_validated(validation: Validation, db: Path | None = None,
                   progress: Callable[[str], None] | None = None,
                   scope: tuple[str, ...] | None = None) -> BatchReport:
    """Load the valid rows of validated uploads (python -m etl load --accept-valid --scope) in the worker process;
    the load validates again, under ``scope`` as it is now. Raises etl.load.LoadBusy when another load holds the
    database, WorkerFailed on a fault; the database is then unchanged."""
    result = run_worker("load", validation.uploads, resolve_path(db), progress, as_of=validation.as_of, scope=scope)
    return report_from_dict(result["report"])


# ── report tables ─────────────────────────────────────────────────────────────

def summary_frame(report: BatchReport, file_name: str | None = None) -> pd.DataFrame:
    rows = [{"ファイル": t.file_name, "シート": t.sheet or "", "記録の種類": KINDS[t.kind].label,
             "読込行数": t.rows_read, "取込予定": t.rows_valid, "不合格": t.rows_rejected,
             "重複（1件として取込）": t.rows_duplicate, "取り下げ（削除）": t.rows_withdrawn}
            for t in report.tables if file_name is None or t.file_name == file_name]
    return pd.DataFrame(rows, columns=["ファイル", "シート", "記録の種類", "読込行数", "取込予定", "不合格",
                                       "重複（1件として取込）", "取り下げ（削除）"])


def problems_frame(report: BatchReport, file_name: str | None = None) -> pd.DataFrame:
    """One row per problem: 区分, 行, 列, 理由, 値, ファイル, シート (errors first, then by file and row). 理由 comes
    before the value and the file: at 1,024–1,400 px the last columns of the grid are off-screen, and the reason is
    what a steward reads."""
    order = {"error": 0, "duplicate": 1, "warning": 2, "note": 3}
    problems = sorted((p for p in report.problems if file_name is None or p.file_name == file_name),
                      key=lambda p: (order.get(p.severity, 3), p.file_name, p.sheet or "", p.row, p.column))
    rows = [{"区分": SEVERITY_LABEL.get(p.severity, p.severity), "ファイル": p.file_name, "シート": p.sheet or "",
             "行": p.row, "列": p.column, "値": p.value if p.value is not None else "",
             # a problem that stands for several rows (one per distinct value and file) says which
             "理由": p.reason + (f"（{p.count:,} 行: {p.rows_shown}行目）" if p.count is not None else "")}
            for p in problems]
    return pd.DataFrame(rows, columns=["区分", "行", "列", "理由", "値", "ファイル", "シート"])


def file_notes(report: BatchReport, file_name: str) -> list[str]:
    """Rows of the file left out on purpose (the template's example rows)."""
    return [n for f in report.files if f.file_name == file_name for n in f.notes]


def file_warnings(report: BatchReport, file_name: str) -> list[str]:
    return [w for f in report.files if f.file_name == file_name for w in f.warnings]


def file_counts(report: BatchReport, file_name: str) -> dict[str, int]:
    tables = [t for t in report.tables if t.file_name == file_name]
    return {"read": sum(t.rows_read for t in tables), "valid": sum(t.rows_valid for t in tables),
            "rejected": sum(t.rows_rejected for t in tables),
            "warnings": len(file_warnings(report, file_name))
            + sum(1 for p in report.problems if p.file_name == file_name and p.severity in ("warning", "duplicate")),
            "notes": sum(1 for p in report.problems if p.file_name == file_name and p.severity == "note")}


def file_names(report: BatchReport) -> list[str]:
    return [f.file_name for f in report.files]


def as_of_line(report: BatchReport) -> str:
    if report.as_of is None:
        return "データ基準日: 不明（取込日までに実施した活動の記録がありません）"
    how = "指定した日付" if report.as_of_source == "stated" else "取込日までに実施した活動の最新日"
    return f"データ基準日: {report.as_of.year}年{report.as_of.month}月{report.as_of.day}日（{how}）"


def result_lines(report: BatchReport) -> list[str]:
    totals = report.rows_by_kind()
    changes = report.changes_by_kind()
    lines = [f"{KINDS[k].label}: {n:,} 行を取り込みました（{change_text(*changes[k])}）" for k, n in totals.items()]
    withdrawn = sum(t.rows_withdrawn for t in report.tables)
    if withdrawn:
        lines.append(f"「削除」の印のある {withdrawn:,} 行の記録を取り下げました")
    rejected = sum(t.rows_rejected for t in report.tables)
    if rejected:
        lines.append(f"不合格の {rejected:,} 行は取り込んでいません（下の「不合格の行」から修正用の Excel を取得できます）")
    return lines + [as_of_line(report)] + list(report.notes)


# ── history and rejected rows (read-only, from the database) ─────────────────────

def load_history(db: Path | None = None) -> pd.DataFrame:
    """The load history, newest first: 取込ID, 日時, ファイル, シート, 種類, sha256, 読込行数, 取込行数, 新規, 更新,
    変更なし, 不合格行数 (新規・更新・変更なし are empty for loads made before they were kept)."""
    cols = ["取込ID", "日時", "ファイル", "シート", "記録の種類", "sha256", "読込行数", "取込行数", "新規", "更新", "変更なし",
            "不合格行数"]
    p = resolve_path(db)
    if not p.exists():
        return pd.DataFrame(columns=cols)
    con = connect_readonly(p)
    try:
        # a database written before the change counts were kept has no such columns (the app never alters it)
        present = {r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = 'load_history'"
                                             " AND database_name = current_database()").fetchall()}
        counts = ", ".join(c if c in present else f"NULL::INTEGER AS {c}"
                           for c in ("rows_new", "rows_updated", "rows_unchanged"))
        df = con.execute(f"""SELECT load_id, loaded_at, file_name, coalesce(sheet, ''), kind, sha256,
                                    rows_read, rows_loaded, {counts}, rows_rejected
                             FROM load_history ORDER BY load_id DESC, file_name, sheet""").df()
    finally:
        con.close()
    df.columns = cols
    df["記録の種類"] = [KINDS[k].label if k in KINDS else k for k in df["記録の種類"]]
    return df


# a stored rejected row a scoped reader may see: the one prefecture it would change lies in the scope (unknown: never)
_IN_SCOPE = ("($allowed::VARCHAR[] IS NULL "
             "OR coalesce(list_contains($allowed::VARCHAR[], {alias}prefecture), false))")


def _scope_filter(con, allowed: tuple[str, ...] | None, alias: str = "") -> tuple[str, dict]:
    """(condition, parameters) on rejected_rows for ``allowed``; a database from before rejected_rows.prefecture
    shows a scoped reader nothing."""
    if allowed is not None and not con.execute(
            "SELECT count(*) FROM duckdb_columns() WHERE table_name = 'rejected_rows' AND column_name = 'prefecture' "
            "AND database_name = current_database()").fetchall()[0][0]:
        return "false", {}
    return _IN_SCOPE.format(alias=alias), {"allowed": None if allowed is None else list(allowed)}


def loads_with_rejections(db: Path | None = None, allowed: tuple[str, ...] | None = None) -> list[tuple[int, str]]:
    """(load_id, label) of loads that rejected rows (under ``allowed``: rows within it), newest first."""
    p = resolve_path(db)
    if not p.exists():
        return []
    con = connect_readonly(p)
    try:
        where, params = _scope_filter(con, allowed, "r.")
        rows = con.execute(f"""SELECT * FROM (
                                   SELECT h.load_id, min(h.loaded_at), string_agg(DISTINCT h.file_name, '、'),
                                          (SELECT count(DISTINCT (r.file_name, r.sheet, r.row_no)) FROM rejected_rows r
                                           WHERE r.load_id = h.load_id AND {where}) AS n
                                   FROM load_history h GROUP BY h.load_id HAVING sum(h.rows_rejected) > 0)
                               {"WHERE n > 0" if allowed is not None else ""} ORDER BY load_id DESC""",
                           params).fetchall()
    finally:
        con.close()
    return [(lid, f"取込 {lid}（{fmt_datetime(at)}）{files} — 不合格 {n:,} 行") for lid, at, files, n in rows]


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


def rejected_frames(load_id: int, db: Path | None = None,
                    allowed: tuple[str, ...] | None = None) -> dict[str, pd.DataFrame]:
    """The rejected rows of one load (from rejected_rows.record), one DataFrame per record kind; under ``allowed``
    only the rows whose prefecture lies in it."""
    con = connect_readonly(resolve_path(db))
    try:
        where, params = _scope_filter(con, allowed)
        records = con.execute(f"""
            SELECT kind, file_name, sheet, row_no, any_value(CAST(record AS VARCHAR)),
                   string_agg('「' || column_name || '」' || reason, ' / ' ORDER BY column_name)
            FROM rejected_rows WHERE load_id = $load_id AND {where}
            GROUP BY kind, file_name, sheet, row_no ORDER BY file_name, sheet, row_no""",
                              {"load_id": load_id, **params}).fetchall()
    finally:
        con.close()
    return _frames(records)


def rejected_xlsx(frames: dict[str, pd.DataFrame], source: str) -> bytes:
    """The rejected rows as an .xlsx (formula-safe, via monitor.exports.to_xlsx) that can be fixed and re-uploaded."""
    return to_xlsx(frames, {"内容": "取り込めなかった行（修正して再度アップロードできます。理由・行・元ファイルの列は読み飛ばされます）",
                            "取込": source})


@functools.lru_cache(maxsize=1)
def template_bytes() -> bytes:
    from etl.template import write_template  # noqa: PLC0415  (openpyxl: only when the template is asked for)
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
    return restore.undo(resolve_path(db), entry_id, who=versions.PAGE_ACTOR)


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
