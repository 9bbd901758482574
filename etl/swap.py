"""One writer at a time, and a new database version swapped in atomically: the advisory lock beside the database,
the temp copy that is fsynced and os.replace()d over it (the replaced file kept, the history appended: etl/versions.py),
and the crash-test hook. Loads (etl/write.py), undo and backup (etl/restore.py) and withdrawals (etl/withdraw.py)
all write through here.
"""
from __future__ import annotations

import fcntl
import glob
import logging
import os
import shutil
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from . import versions

LOCK_WAIT_SECONDS = float(os.environ.get("DX_LOCK_WAIT", "30"))


class LoadBusy(Exception):
    """Another load holds the database."""



TEMP_INFIX = ".tmp-"
LOAD_STAGES = ("locked", "copied", "written", "before_replace", "replaced")


class CopyAhead:
    """A copy of ``db`` made in a background thread while a load reads and checks its files, before it holds the
    writer lock; ``_new_version`` takes it instead of copying under the lock only when the database file is still
    the one copied (same inode, size and modification time) and the copy is whole and still there (another load may
    have removed it as a stale temp file). Otherwise, or on any error, it is discarded and the copy made as
    before. Use as a context manager: leaving it waits for the thread and removes a copy not taken."""

    def __init__(self, db: Path):
        self.db = Path(os.path.realpath(db))
        self.path: Path | None = None
        self._source: os.stat_result | None = None
        self._copied: os.stat_result | None = None
        self._thread: threading.Thread | None = None
        try:
            size = self.db.stat().st_size
            # another load writing now: its new version would make this copy stale, and on a nearly full disk the
            # copy could take the space that load needs; so too when the disk cannot hold two more copies
            if _writer_busy(self.db) or shutil.disk_usage(self.db.parent).free < 2 * size + (64 << 20):
                return
            # a new name of its own (O_EXCL, never a link someone left there), still matched as a stale temp file
            fd, name = tempfile.mkstemp(dir=self.db.parent, prefix=f"{self.db.name}{TEMP_INFIX}{os.getpid()}-",
                                        suffix="-ahead")
        except OSError:           # no copy ahead: the load copies under the lock and reports any failure there
            return
        self.path = Path(name)
        self._thread = threading.Thread(target=self._copy, args=(fd,), name="dx-copy-ahead", daemon=True)
        self._thread.start()

    def _copy(self, fd: int) -> None:
        try:
            with open(self.db, "rb") as src, os.fdopen(fd, "wb") as dst:
                source = os.fstat(src.fileno())
                _copy_fd(src.fileno(), dst.fileno(), source.st_size)
                self._copied = os.fstat(dst.fileno())
                self._source = source
        except OSError:           # no copy (a full disk): its part goes at once, and the load copies under the lock
            self._source = None
            self._remove()

    def take(self, db: Path, tmp: Path) -> bool:
        """Move the copy to ``tmp`` if it is a whole copy of ``db`` as it is now; else remove it (so a disk with
        room for one copy still has it) and return False: copy again."""
        if self._take(db, tmp):
            return True
        self.discard()
        return False

    def _take(self, db: Path, tmp: Path) -> bool:
        if self._thread is None or self.path is None:
            return False
        self._thread.join()
        try:
            now, there = os.stat(db), os.stat(self.path)
        except OSError:
            return False
        source, copied = self._source, self._copied
        if source is None or copied is None or Path(os.path.realpath(db)) != self.db:
            return False
        # ctime too: any write or a copied-back mtime (touch -r) changes it, and reading does not
        if (now.st_dev, now.st_ino, now.st_size, now.st_mtime_ns, now.st_ctime_ns) != \
                (source.st_dev, source.st_ino, source.st_size, source.st_mtime_ns, source.st_ctime_ns):
            return False
        if (there.st_dev, there.st_ino, there.st_size) != (copied.st_dev, copied.st_ino, source.st_size):
            return False
        os.replace(self.path, tmp)
        return True

    def discard(self) -> None:
        if self._thread is not None:
            self._thread.join()
        self._remove()

    def _remove(self) -> None:
        try:
            if self.path is not None:
                self.path.unlink(missing_ok=True)
        except OSError:
            pass

    def __enter__(self) -> "CopyAhead":
        return self

    def __exit__(self, *exc) -> None:
        self.discard()


def _copy_fd(src: int, dst: int, size: int) -> None:
    """Copy ``size`` bytes in the kernel (copy_file_range, sendfile where it is missing)."""
    copy = getattr(os, "copy_file_range", None)
    done = 0
    while done < size:
        try:
            n = copy(src, dst, size - done) if copy else os.sendfile(dst, src, done, size - done)
        except OSError:
            if copy is None:
                raise
            copy = None       # e.g. across file systems on old kernels: sendfile from where copy_file_range stopped
            os.lseek(src, done, os.SEEK_SET)
            os.lseek(dst, done, os.SEEK_SET)
            continue
        if n == 0:
            break
        done += n


@contextmanager
def _new_version(db: Path, copy: bool, entry: dict | None = None, ahead: CopyAhead | None = None):
    """The next version of ``db``, written as a temp file next to it: a copy of ``db`` (``copy``; the copy made
    ahead when it is still good, see CopyAhead) or a new file. The
    body writes it; then it is fsynced and os.replace()d over ``db``, so readers see the old file or the new one,
    never a half-written one. On any failure the temp file goes and ``db`` is as it was. Call holding the writer
    lock. The replaced file is kept (a hard link) and ``entry`` (etl.versions.new_entry; the body may set its id)
    appended to the history."""
    # a symlinked database path: the new version replaces the link's target, so the link keeps pointing at it
    db = Path(os.path.realpath(db))
    # temp copies left by a load that was killed: nobody else holds the lock, so nobody uses them
    _remove_stale_temp_files(db, keep=ahead.path if ahead else None)
    tmp = db.with_name(f"{db.name}{TEMP_INFIX}{os.getpid()}")
    tmp.unlink(missing_ok=True)
    try:
        if copy and not (ahead and ahead.take(db, tmp)):
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


def _remove_stale_temp_files(db: Path, keep: Path | None = None) -> list[Path]:
    """Delete `<db>.tmp-<pid>` (and its .wal) left by a killed load, and copies made ahead by other loads (they
    check theirs is still there); ``keep``: this load's. Call only while holding the writer lock."""
    removed = []
    for p in db.parent.glob(f"{glob.escape(db.name)}{TEMP_INFIX}*"):
        if keep is not None and p == keep:
            continue
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


def _lock_path(db: Path) -> Path:
    """The lock beside the real file: a load through a symlink and one through the file's own path are one writer."""
    real = Path(os.path.realpath(db))
    return real.with_name(real.name + ".lock")


def _writer_busy(db: Path) -> bool:
    """Whether a load holds the writer lock of ``db`` now (asked without waiting and let go at once)."""
    try:     # opened to read: a load that writes nothing leaves the folder as it was (no lock file made)
        fd = os.open(_lock_path(db), os.O_RDONLY)
    except OSError:          # no lock file: no load has ever written here
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


@contextmanager
def writer_lock(db: Path, wait: float | None = None):
    """One load at a time per database; a second waits up to `wait` seconds, then gives up."""
    db.parent.mkdir(parents=True, exist_ok=True)
    wait = LOCK_WAIT_SECONDS if wait is None else wait
    lock_path = _lock_path(db)
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
