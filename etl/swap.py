"""One writer at a time, and a new database version swapped in atomically: the advisory lock beside the database,
the temp copy that is fsynced and os.replace()d over it (the replaced file kept, the history appended: etl/versions.py),
and the crash-test hook. Loads (etl/write.py), undo and backup (etl/restore.py) and withdrawals (etl/withdraw.py)
all write through here.
"""
from __future__ import annotations

import fcntl
import logging
import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

from . import versions

LOCK_WAIT_SECONDS = float(os.environ.get("DX_LOCK_WAIT", "30"))


class LoadBusy(Exception):
    """Another load holds the database."""



TEMP_INFIX = ".tmp-"
LOAD_STAGES = ("locked", "copied", "written", "before_replace", "replaced")


@contextmanager
def _new_version(db: Path, copy: bool, entry: dict | None = None):
    """The next version of ``db``, written as a temp file next to it: a copy of ``db`` (``copy``) or a new file. The
    body writes it; then it is fsynced and os.replace()d over ``db``, so readers see the old file or the new one,
    never a half-written one. On any failure the temp file goes and ``db`` is as it was. Call holding the writer
    lock. The replaced file is kept (a hard link) and ``entry`` (etl.versions.new_entry; the body may set its id)
    appended to the history."""
    # a symlinked database path: the new version replaces the link's target, so the link keeps pointing at it
    db = Path(os.path.realpath(db))
    # temp copies left by a load that was killed: nobody else holds the lock, so nobody uses them
    _remove_stale_temp_files(db)
    tmp = db.with_name(f"{db.name}{TEMP_INFIX}{os.getpid()}")
    tmp.unlink(missing_ok=True)
    try:
        if copy:
            shutil.copyfile(db, tmp)
        _stage_hook("copied")
        yield tmp
        entry = entry if entry is not None else versions.new_entry("write")
        if "id" not in entry:      # a load set it (its load_id); next_id opens the database, so only when needed
            entry["id"] = versions.next_id(db)
        entry["counts"] = versions.table_counts(tmp)
        _fsync(tmp)
        _stage_hook("before_replace")
        kept = versions.keep_current(db, entry["id"])
        try:
            os.replace(tmp, db)
        except BaseException:
            if kept:
                kept.unlink(missing_ok=True)
            raise
        _fsync_dir(db.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
        raise
    try:
        versions.record(db, entry, kept)
    except OSError as e:    # the new version is in place: a log that cannot be written must not undo the load
        logging.getLogger(__name__).warning("履歴を書き込めませんでした: %s", e)


def _remove_stale_temp_files(db: Path) -> list[Path]:
    """Delete `<db>.tmp-<pid>` (and its .wal) left by a killed load. Call only while holding the writer lock."""
    removed = []
    for p in db.parent.glob(f"{db.name}{TEMP_INFIX}*"):
        try:
            p.unlink()
            removed.append(p)
        except OSError:
            pass
    return removed


def _stage_hook(stage: str) -> None:
    """Test hook for crash tests (tests/test_concurrency.py): with DX_LOAD_PAUSE_AT=<stage> and
    DX_LOAD_PAUSE_FILE=<path>, a load writes <path> when it reaches <stage> (one of LOAD_STAGES) and waits
    while <path> exists (at most DX_LOAD_PAUSE_MAX seconds, default 120), so a test can kill it at a known
    point or let it go on by deleting the file. Without both variables it does nothing."""
    if os.environ.get("DX_LOAD_PAUSE_AT") != stage:
        return
    marker = os.environ.get("DX_LOAD_PAUSE_FILE")
    if not marker:
        return
    marker_path = Path(marker)
    marker_path.write_text(f"{os.getpid()} {stage}\n", encoding="utf-8")
    deadline = time.monotonic() + float(os.environ.get("DX_LOAD_PAUSE_MAX", "120"))
    while marker_path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:
        _fsync(path)
    except OSError:
        pass


@contextmanager
def writer_lock(db: Path, wait: float | None = None):
    """One load at a time per database; a second waits up to `wait` seconds, then gives up."""
    db.parent.mkdir(parents=True, exist_ok=True)
    wait = LOCK_WAIT_SECONDS if wait is None else wait
    lock_path = db.with_name(db.name + ".lock")
    with open(lock_path, "a+") as f:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LoadBusy(f"別の取込が実行中です（{wait:.0f}秒待ちました）。終わってからもう一度実行してください")
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
