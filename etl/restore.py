"""Undo a write (put a kept version back) and back the database up, both under the writer lock."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from . import versions
from .dbfile import check_readable
from .swap import _fsync, _fsync_dir, _new_version, _stage_hook, writer_lock
from .versions import Refused

def undo(db: Path, entry_id: int | None = None, who: str | None = None) -> dict:
    """Put back the file that history entry ``entry_id`` (default: the latest) replaced, atomically: the kept version
    is copied to a temp file beside the database and os.replace()d over it (etl.swap._new_version), so readers see
    the old file or the restored one. The undo is itself an entry (its replaced file kept), so it can be undone.
    Writes after the entry are undone with it (the entry's ``also_undone``). Raises Refused, LoadBusy,
    DatabaseUnreadable."""
    db = Path(db)
    with writer_lock(db):
        target = versions.find(db, entry_id)
        if target is None:
            raise Refused("元に戻せる変更の履歴がありません" if entry_id is None
                          else f"履歴に番号 {entry_id} の変更がありません（python -m etl history で確かめてください）")
        if not target.get("version"):
            raise Refused(f"{versions.describe(target)} の前にはデータベースがなかったため、元に戻す版がありません")
        source = versions.versions_dir(db) / target["version"]
        if not source.exists():
            raise Refused(f"{versions.describe(target)} の前の版は、保存数（DX_KEEP_VERSIONS={versions.keep_count()}）を超えたため"
                          "削除されています")
        check_readable(source)
        later = [e["id"] for e in versions.read_log(db) if e.get("id", 0) > target["id"]]
        entry = versions.new_entry("undo", who, undoes=target["id"], undone=versions.describe(target), also_undone=later, files=[])
        with _new_version(db, copy=False, entry=entry) as tmp:
            shutil.copyfile(source, tmp)
        _stage_hook("replaced")
    return entry


def backup(db: Path, out: Path) -> Path:
    """A consistent copy of the database at ``out`` while the app serves: under the writer lock no load can swap the
    file and readers never write it, so a plain copy is a whole version; written as a temp file, fsynced, renamed."""
    db, out = Path(db), Path(out)
    if not db.exists():
        raise FileNotFoundError(f"データベースがありません: {db}")
    check_readable(db)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.name}.tmp-{os.getpid()}")
    with writer_lock(db):
        try:
            shutil.copyfile(db, tmp)
            _fsync(tmp)
            check_readable(tmp)
            os.replace(tmp, out)
            _fsync_dir(out.parent)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    return out
