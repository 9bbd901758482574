"""The audit trail: who did what, when, with which filters — in a SQLite file of its own (``data/audit.sqlite`` or
``DX_AUDIT_PATH``), outside the database file that every load replaces, so it survives loads and undos.

Append-only: the table has triggers that refuse UPDATE and DELETE; WAL mode and a busy timeout make it safe for
several server processes and the command line at once (each write is one short transaction). Shared by the app
(sign-in, exports, loads on データ取込) and ``python -m etl`` (access check)."""
from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from pathlib import Path

from .paths import DATA_DIR

ENV_PATH = "DX_AUDIT_PATH"
DEFAULT_PATH = DATA_DIR / "audit.sqlite"
COLUMNS = ("id", "at", "who", "action", "what", "filters", "outcome")
COLUMN_LABELS = {"id": "番号", "at": "日時（UTC）", "who": "誰が", "action": "操作", "what": "内容",
                 "filters": "条件", "outcome": "結果"}
ACTIONS = {
    "sign_in": "サインイン", "sign_in_refused": "サインイン拒否", "export": "書き出し", "pdf": "PDF",
    "validate": "検証", "load": "取込", "load_refused": "取込拒否", "rejected_rows": "不合格行のダウンロード",
    "undo": "取消", "grants_check": "付与の確認", "grants_changed": "付与ファイルの変更", "admin_refused": "管理者操作の拒否", "audit_download": "監査記録のダウンロード",
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      TEXT NOT NULL,
    who     TEXT NOT NULL,
    action  TEXT NOT NULL,
    what    TEXT NOT NULL DEFAULT '',
    filters TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;
"""


class AuditUnavailable(RuntimeError):
    """The audit file cannot be written (Japanese message)."""


def audit_path(override: str | os.PathLike | None = None) -> Path:
    return Path(override or os.environ.get(ENV_PATH) or DEFAULT_PATH)


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=10, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA busy_timeout=10000")
    con.executescript(_SCHEMA)
    return con


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)


def record(who: str, action: str, what="", filters="", outcome: str = "",
           path: str | os.PathLike | None = None) -> None:
    """Append one row. Raises AuditUnavailable when the file cannot be written (the caller decides whether the
    action may go on: a load and an export do not)."""
    p = audit_path(path)
    try:
        con = _connect(p)
        try:
            con.execute("INSERT INTO audit (at, who, action, what, filters, outcome) VALUES (?, ?, ?, ?, ?, ?)",
                        (dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), who or "（不明）", action,
                         _text(what), _text(filters), outcome or ""))
        finally:
            con.close()
    except (sqlite3.Error, OSError) as exc:
        raise AuditUnavailable(f"監査記録（{p}）に書き込めません: {exc}。管理者に連絡してください。") from exc


def read(path: str | os.PathLike | None = None, *, who: str | None = None, action: str | None = None,
         since: dt.date | None = None, until: dt.date | None = None, limit: int = 10000) -> list[dict]:
    """Rows newest first, filtered (values as parameters)."""
    p = audit_path(path)
    if not p.exists():
        return []
    sql = "SELECT id, at, who, action, what, filters, outcome FROM audit WHERE 1=1"
    args: list = []
    if who:
        sql += " AND instr(lower(who), lower(?)) > 0"
        args.append(who)
    if action:
        sql += " AND action = ?"
        args.append(action)
    if since:
        sql += " AND at >= ?"
        args.append(since.isoformat())
    if until:
        sql += " AND at < ?"
        args.append((until + dt.timedelta(days=1)).isoformat())
    sql += " ORDER BY id DESC LIMIT ?"
    args.append(int(limit))
    con = _connect(p)
    try:
        return [dict(zip(COLUMNS, row)) for row in con.execute(sql, args).fetchall()]
    finally:
        con.close()
