"""Versions: every write (load, sample, rebuild, undo, withdraw) keeps the database file it replaced, and an
append-only log says who did what; `undo` puts a kept version back.

Beside the database ``<dir>/dx.duckdb`` lives ``<dir>/versions/``:
  dx.duckdb.history.jsonl   one JSON line per write (id, at, who, action, files, counts, version kept)
  dx.duckdb.v000012         the file that write 12 replaced (a hard link to the old inode: os.replace leaves the
                            old file's data to the link, so keeping it costs no copy and no extra disk at the time)
Only the last DX_KEEP_VERSIONS (10) kept files stay; the log keeps every line, so an undo never erases the record
of the write it undid. Everything here runs under the writer lock (etl.swap.writer_lock); undo and backup are in etl/restore.py.
"""
from __future__ import annotations

import datetime as dt
import getpass
import glob
import json
import logging
import os
import shutil
from pathlib import Path

import duckdb

from . import peek

log = logging.getLogger(__name__)

RECORD_TABLES = ("engagements", "sessions", "consultations", "events", "targets")
ACTION_LABEL = {"load": "取込", "sample": "サンプル作成", "rebuild": "集計表の作り直し", "undo": "取消",
                "withdraw": "取り下げ", "write": "書込"}
PAGE_ACTOR = "データ取込（画面）"


def keep_count() -> int:
    try:
        return max(1, int(os.environ.get("DX_KEEP_VERSIONS", "10")))
    except ValueError:
        return 10


def versions_dir(db: Path) -> Path:
    return Path(db).parent / "versions"


def log_path(db: Path) -> Path:
    return versions_dir(db) / f"{Path(db).name}.history.jsonl"


def version_path(db: Path, entry_id: int) -> Path:
    return versions_dir(db) / f"{Path(db).name}.v{entry_id:06d}"


def current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):   # no user name in the environment (a container): still record something
        return f"uid {os.getuid()}"


def read_log(db: Path) -> list[dict]:
    """The history, oldest first. A last line cut short (a write killed while appending) is skipped."""
    path = log_path(db)
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def next_id(db: Path) -> int:
    """One more than any id in the log or any load_id in the database (a database older than the log has some)."""
    ids = [e.get("id", 0) for e in read_log(db)]
    if Path(db).exists():
        try:
            with peek.read_only(db) as con:
                ids.append(con.execute("SELECT coalesce(max(load_id), 0) FROM load_history").fetchall()[0][0])
        except duckdb.Error:
            pass
    return max(ids, default=0) + 1


def table_counts(path: Path) -> dict[str, int]:
    """Rows per record table of a database file (shown in the history)."""
    with peek.read_only(path) as con:
        have = {r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall()}
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in RECORD_TABLES if t in have}


def load_tables(path: Path, load_id: int) -> list[dict]:
    """The load_history rows of one load, every column there is (rows_new/updated/unchanged where a version has
    them), for the history."""
    with peek.read_only(path) as con:
        cur = con.execute("SELECT * EXCLUDE (load_id, loaded_at) FROM load_history WHERE load_id = ? "
                          "ORDER BY file_name, sheet", [load_id])
        columns = [d[0] for d in cur.description]
        return [dict(zip(columns, row)) for row in cur.fetchall()]      # text and integers: JSON as they are


def new_entry(action: str, who: str | None = None, **fields) -> dict:
    return {"action": action, "who": who or current_user(), **fields}


def keep_current(db: Path, entry_id: int) -> Path | None:
    """Keep the file about to be replaced under the entry's id (a hard link; a copy where links are not possible)."""
    db = Path(db)
    if not db.exists():
        return None
    target = version_path(db, entry_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    try:
        os.link(db, target)
    except OSError:
        shutil.copyfile(db, target)
    return target


def record(db: Path, entry: dict, kept: Path | None) -> None:
    """Append the entry to the log (fsynced), then drop kept versions beyond DX_KEEP_VERSIONS."""
    entry = {"id": entry["id"], "at": dt.datetime.now().replace(microsecond=0).isoformat(), **entry,
             "version": kept.name if kept else None}
    path = log_path(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")
        f.flush()
        os.fsync(f.fileno())
    prune(db)


def prune(db: Path) -> list[Path]:
    """Remove kept versions beyond the newest DX_KEEP_VERSIONS, and files no log line names (a write killed
    between keeping the old file and writing its log line)."""
    db = Path(db)
    named = [e["version"] for e in read_log(db) if e.get("version")]
    keep = set(named[-keep_count():])
    removed = []
    for p in versions_dir(db).glob(f"{glob.escape(db.name)}.v*"):
        if p.name not in keep:
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def find(db: Path, entry_id: int | None) -> dict | None:
    entries = read_log(db)
    if entry_id is None:
        return entries[-1] if entries else None
    return next((e for e in entries if e.get("id") == entry_id), None)


def available(db: Path, entry: dict) -> bool:
    return bool(entry.get("version")) and (versions_dir(db) / entry["version"]).exists()


def _when(at) -> str:
    """'2026-05-01T10:00:12' → '2026年5月1日 10:00' (text that is no such time is kept as it is)."""
    try:
        t = dt.datetime.fromisoformat(str(at))
    except ValueError:
        return str(at or "").replace("T", " ")[:16]
    return f"{t.year}年{t.month}月{t.day}日 {t:%H:%M}"


def describe(entry: dict) -> str:
    """One line for messages: 取込 12（2026年5月1日 10:00、suzuki、伴走記録_5月.csv）— the date as the screen shows
    dates (monitor/format.py fmt_datetime)."""
    action = ACTION_LABEL.get(entry.get("action"), entry.get("action"))
    files = "、".join(entry.get("files") or [])
    if entry.get("action") == "undo":
        files = f"{entry.get('undoes')} の取消"
    elif entry.get("action") == "withdraw":
        files = f"{entry.get('kind')}: " + "、".join(entry.get("ids") or [])
    parts = [_when(entry.get("at")), entry.get("who", "")] + ([files] if files else [])
    return f"{action} {entry.get('id')}（{'、'.join(p for p in parts if p)}）"


class Refused(Exception):
    """The request cannot be done as asked; nothing was written (exit 1). The message is Japanese."""
