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
import secrets
import shutil
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
    writer lock. ``_new_version`` takes it instead of copying under the lock only when the database file is still
    the one copied (same device, inode, size, modification and change time, before and after the copy) and the copy
    is whole and still there (another load holding the lock removes it as a stale temp file); otherwise it is removed
    and the copy made under the lock as before. None is made while another load writes (its new version would make
    the copy stale) or when the disk cannot hold two more copies (it would take space that load needs). The file is
    new (O_EXCL, never a link or FIFO left under its name) and gets the mode a copy under the lock gets (0666 less
    the umask). Use as a context manager: leaving it removes a copy not taken, without waiting for the thread."""

    def __init__(self, db: Path):
        self.db = Path(os.path.realpath(db))
        self.path: Path | None = None
        self._started: os.stat_result | None = None      # the database as the copy began
        self._source: os.stat_result | None = None       # set when the copy is whole and the database did not change
        self._copied: os.stat_result | None = None
        self._thread: threading.Thread | None = None
        fd = None
        try:
            size = self.db.stat().st_size
            if _writer_busy(self.db) or shutil.disk_usage(self.db.parent).free < 2 * size + (64 << 20):
                return
            fd, self.path = _new_file(self.db.with_name(f"{self.db.name}{TEMP_INFIX}{os.getpid()}-"), "-ahead")
            self._thread = threading.Thread(target=self._copy, args=(fd,), name="dx-copy-ahead", daemon=True)
            self._thread.start()
        except BaseException as e:   # no copy ahead (also when no thread can start): the load copies under the lock
            if self._thread is None or self._thread.ident is None:      # not started: its file is still ours
                if fd is not None:
                    os.close(fd)
                self._remove()
                self._thread, self.path = None, None
            if not isinstance(e, Exception):
                raise

    def _copy(self, fd: int) -> None:
        try:
            with os.fdopen(fd, "wb") as dst, open(self.db, "rb") as src:
                started = os.fstat(src.fileno())
                self._started = started
                _copy_fd(src.fileno(), dst.fileno(), started.st_size)
                copied, after = os.fstat(dst.fileno()), os.fstat(src.fileno())
                if _identity(after) == _identity(started):      # not written while it was copied
                    self._copied, self._source = copied, started
        except OSError:           # no copy (a full disk): its part goes at once, and the load copies under the lock
            self._source = None
        if self._source is None:
            self._remove()

    def take(self, db: Path, tmp: Path) -> bool:
        """Move the copy to ``tmp`` if it is a whole copy of ``db`` as it is now; else remove it (so a disk with
        room for one copy still has it) and return False: copy again."""
        if self._take(db, tmp):
            return True
        self._remove()
        return False

    def _take(self, db: Path, tmp: Path) -> bool:
        if self._thread is None or self.path is None or Path(os.path.realpath(db)) != self.db:
            return False
        try:
            now = os.stat(db)
        except OSError:
            return False
        started = self._started
        if started is not None and _identity(now) != _identity(started):
            return False          # already stale: no need to wait for the rest of the copy
        self._thread.join()
        source, copied = self._source, self._copied
        if source is None or copied is None or _identity(now) != _identity(source):
            return False
        try:
            there = os.stat(self.path)
            if (there.st_dev, there.st_ino, there.st_size) != (copied.st_dev, copied.st_ino, source.st_size):
                return False
            os.replace(self.path, tmp)
        except OSError:
            return False
        self.path = None          # moved: nothing of this copy is left to remove
        return True

    def discard(self) -> None:
        """Remove the copy; a copy still running writes on into the removed file and ends (no need to wait)."""
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


def _identity(st: os.stat_result) -> tuple:
    # ctime too: any write changes it, also one that copies the modification time back (touch -r); reading does not
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def _new_file(prefix: Path, suffix: str) -> tuple[int, Path]:
    """A file created here and now (O_EXCL: never one, or a link, someone left under the name), with the mode
    shutil.copyfile would give it (0666 less the umask; mkstemp would make it 0600). Its name matches the stale
    temp files a later load removes."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        path = prefix.with_name(f"{prefix.name}{secrets.token_hex(6)}{suffix}")
        try:
            return os.open(path, flags, 0o666), path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temp name beside {prefix}")


def _copy_fd(src: int, dst: int, size: int) -> None:
    """Copy ``size`` bytes in the kernel. The copy sits beside the database (one file system), so copy_file_range
    (Linux) always applies; where it is missing the OSError means no copy ahead, and the load copies under the lock."""
    copy = getattr(os, "copy_file_range", None)
    if copy is None:
        raise OSError("copy_file_range is not available")
    done = 0
    while done < size:
        n = copy(src, dst, size - done)
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
    # temp copies left by a load that was killed, and other loads' copies made ahead (they check theirs is there)
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
    """Whether a load is writing a new version of ``db`` now: its temp copy (``<db>.tmp-<pid>``) is there. Read from
    the folder, not by trying the lock (that would make the writer's own try fail); a killed load's temp copy counts
    too until the next load removes it, which only means no copy is made ahead meanwhile."""
    return any(not p.name.endswith("-ahead") for p in db.parent.glob(f"{glob.escape(db.name)}{TEMP_INFIX}*"))


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
