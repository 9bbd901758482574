"""The stewardship verbs of `python -m etl`: history, undo, backup, withdraw, check --summary.

Exit codes as the other verbs: 0 done, 1 refused as asked and nothing written, 2 a file or the database cannot be
read / a fault, 3 another load is running."""
from __future__ import annotations

import sys
from pathlib import Path

import duckdb

from . import freshness, restore, versions
from .kinds import KINDS
from .load import DatabaseUnreadable, LoadBusy
from .withdraw import result_line, withdraw as withdraw_records

COUNT_LABELS = {"rows_read": "読込", "rows_loaded": "取込", "rows_rejected": "不合格", "rows_new": "新規",
                "rows_updated": "更新", "rows_unchanged": "変更なし"}


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def _table_line(t: dict) -> str:
    where = str(t.get("file_name")) + (f" [{t['sheet']}]" if t.get("sheet") else "")
    kind = KINDS[t["kind"]].label if t.get("kind") in KINDS else str(t.get("kind"))
    counts = "・".join(f"{label} {int(t[col]):,}" for col, label in COUNT_LABELS.items()
                      if t.get(col) is not None)    # rows_new… only where the database has them
    return f"{where}: {kind} {counts}"


def history_lines(db: Path) -> list[str]:
    entries = versions.read_log(db)
    if not entries:
        return ["変更の履歴はまだありません（取込・取消・取り下げを行うと記録されます）"]
    undone_by = {}
    for e in entries:
        if e.get("action") == "undo":
            for i in [e.get("undoes"), *e.get("also_undone", [])]:
                undone_by.setdefault(i, e["id"])
    lines = []
    for e in reversed(entries):
        head = versions.describe(e)
        if e["id"] in undone_by:
            head += f" — 取消済み（{undone_by[e['id']]}）"
        lines.append(head)
        for t in e.get("tables") or []:
            lines.append(f"    {_table_line(t)}")
        if e.get("action") == "undo" and e.get("also_undone"):
            lines.append(f"    あとの変更も取り消し: {', '.join(map(str, e['also_undone']))}")
        counts = e.get("counts") or {}
        if counts:
            lines.append("    件数（変更後）: " + "、".join(f"{KINDS[k].label} {n:,}" for k, n in counts.items() if k in KINDS))
        if versions.available(db, e):
            lines.append(f"    元に戻す: python -m etl undo {e['id']}")
        elif e.get("version"):
            lines.append(f"    前の版は保存数（DX_KEEP_VERSIONS={versions.keep_count()}）を超えたため削除済み")
        else:
            lines.append("    前の版なし（それまでデータベースがありませんでした）")
    return lines


def history(args, db: Path) -> int:
    for line in history_lines(db):
        print(line)
    return 0


def undo(args, db: Path) -> int:
    if not db.exists() and not versions.read_log(db):
        _err(f"データベースがありません: {db}")
        return 2
    entry = restore.undo(db, args.load_id)
    print(f"元に戻しました: {entry['undone']} の前の状態です（{db}）")
    if entry["also_undone"]:
        print(f"あとの変更も取り消されました: {', '.join(map(str, entry['also_undone']))}")
    print(f"この取消も元に戻せます: python -m etl undo {entry['id']}")
    return 0


def backup(args, db: Path) -> int:
    if not db.exists():
        _err(f"データベースがありません: {db}")
        return 2
    out = restore.backup(db, args.out)
    print(f"複製を書き出しました: {out}（{out.stat().st_size / 1e6:,.1f} MB、{db} から）")
    return 0


def withdraw(args, db: Path) -> int:
    if not db.exists():
        _err(f"データベースがありません: {db}")
        return 2
    entry = withdraw_records(db, args.kind, args.ids, with_sessions=args.with_sessions)
    print(result_line(entry))
    return 0


VERBS = {"history": history, "undo": undo, "backup": backup, "withdraw": withdraw}


def run(args, db: Path) -> int:
    """Run the verb ``args.command`` (one of VERBS) on ``db``; its errors become the exit codes above."""
    verb = VERBS[args.command]
    try:
        return verb(args, db)
    except versions.Refused as e:
        _err(str(e))
        return 1
    except LoadBusy as e:
        _err(str(e))
        return 3
    except DatabaseUnreadable as e:
        _err(str(e))
        return 2
    except (OSError, duckdb.Error) as e:    # disk full, a read-only folder…: the database is as it was
        _err(f"書き込めませんでした（データベースは変更していません）: {e}")
        return 2


def print_summary(db: Path, required: bool = True) -> int:
    """The freshness table of the current database. Without the database: exit 2 when it is all that was asked
    (``required``), else a note."""
    if not db.exists():
        message = f"データベースがありません: {db}（鮮度と欠損の要約は取込後に表示できます）"
        if required:
            _err(message)
            return 2
        print(message)
        return 0
    try:
        df = freshness.summary_for(db)
    except duckdb.Error as e:
        _err(f"データベース {db} を開けません（DuckDB のファイルではないか、壊れています）: {str(e).splitlines()[0]}")
        return 2
    print("データの鮮度と欠損（コンソーシアム・地域ごと）")
    shown = freshness.display_frame(df)
    if shown.empty:
        print("  記録がありません")
    for row in shown.to_dict("records"):
        print("  " + "　".join(f"{k}: {v}" for k, v in row.items()))
    print(freshness.caption(df))
    return 0
