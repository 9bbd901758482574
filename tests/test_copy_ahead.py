"""The copy of the database a load makes while it reads and checks its files (etl/swap.py CopyAhead): taken only
when it is a whole copy of the file as it is under the writer lock; otherwise removed and copied again, so a load
never writes over a version another load replaced. Real files, real DuckDB."""
from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import etl.load as load_module
import etl.swap as swap
from etl.load import load_files
from etl.swap import CopyAhead, LoadBusy, _new_version, _remove_stale_temp_files, writer_lock
from tests.support.etl_helpers import count, query, sha256, write_engagements

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def db(tmp_path) -> Path:
    path = tmp_path / "db" / "dx.duckdb"
    path.parent.mkdir()
    assert load_files([write_engagements(tmp_path / "支援案件.csv", ids=("E-1", "E-2"))], path).loaded
    return path


def temp_files(db: Path) -> list[str]:
    return sorted(p.name for p in db.parent.iterdir() if p.name.startswith(db.name + ".tmp-"))


def test_a_copy_of_the_unchanged_file_is_taken_whole(db):
    tmp = db.with_name(db.name + ".tmp-taken")
    with CopyAhead(db) as ahead:
        assert ahead.take(db, tmp)
    assert sha256(tmp) == sha256(db)
    assert temp_files(db) == [tmp.name]


CHANGES = ["replaced by another load", "removed as a stale temp file", "replaced by hand", "copied over by hand",
           "the same bytes moved in (a new file: inode and ctime differ)",
           "rewritten in place, times put back (only ctime differs)"]


@pytest.mark.parametrize("change", CHANGES)
def test_a_copy_that_is_no_longer_good_is_removed_and_the_load_copies_again(db, tmp_path, change):
    """The copy is started, then before this load takes it: another load replaces the database (and, holding the
    lock, removes this copy as a stale temp file), or only removes it, or someone puts another database file in
    its place (a new file moved there, or copied over the same file: its size and time change)."""
    ahead = CopyAhead(db)
    ahead._thread.join()
    other = tmp_path / "other" / "dx.duckdb"
    if change in ("replaced by hand", "copied over by hand"):
        other.parent.mkdir()
        assert load_files([write_engagements(tmp_path / "支援案件_他.csv", ids=[f"E-{i}" for i in range(3, 60)])],
                          other).loaded
    if change == "replaced by another load":
        assert load_files([write_engagements(tmp_path / "支援案件_他.csv", ids=("E-3",))], db).loaded
    elif change == "removed as a stale temp file":
        assert ahead.path in _remove_stale_temp_files(db)
    elif change == "replaced by hand":
        os.replace(other, db)
    elif change == "copied over by hand":
        shutil.copyfile(other, db)
    elif change.startswith("the same bytes"):
        twin = db.with_name("twin.duckdb")
        shutil.copyfile(db, twin)
        os.replace(twin, db)
    else:
        before = db.stat()
        db.write_bytes(db.read_bytes())
        os.utime(db, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert (db.stat().st_size, db.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    tmp = db.with_name(db.name + ".tmp-next")
    assert not ahead.take(db, tmp)
    assert not ahead.path.exists() and not tmp.exists()


def test_a_load_started_before_another_load_replaced_the_file_keeps_both(db, tmp_path, monkeypatch):
    """load_files starts its copy, then (while it reads its file) another load is written: the second load's copy
    is of the old version, so it must copy again under the lock and keep the other load's records."""
    started: list[CopyAhead] = []

    def copy_then_other_load(path):
        ahead = CopyAhead(path)
        ahead._thread.join()
        if not started:         # the outer load's copy; the other load below starts its own as usual
            started.append(ahead)
            assert load_files([write_engagements(tmp_path / "支援案件_他.csv", ids=("E-3",))], db).loaded
        return ahead

    monkeypatch.setattr(load_module, "CopyAhead", copy_then_other_load)
    assert load_files([write_engagements(tmp_path / "支援案件_後.csv", ids=("E-4",))], db).loaded
    assert started
    assert count(db, "engagements") == 4
    assert query(db, "SELECT list(engagement_id ORDER BY engagement_id) FROM engagements") == [
        (["E-1", "E-2", "E-3", "E-4"],)]
    assert temp_files(db) == []


def test_a_load_that_writes_nothing_leaves_no_copy(db, tmp_path):
    bad = write_engagements(tmp_path / "支援案件_不正.csv", ids=("E-9",), 年度="二千年")
    before = sha256(db)
    report = load_files([bad], db)
    assert not report.loaded and report.errors
    assert sha256(db) == before
    assert temp_files(db) == []


def test_no_copy_ahead_while_another_load_writes(db):
    """Its new version would make the copy stale, and on a nearly full disk the copy would take the space that load
    needs. The other load holds the lock and writes its temp copy (a new version of the same records)."""
    with writer_lock(db), _new_version(db, copy=True):
        ahead = CopyAhead(db)
        assert ahead.path is None and not ahead.take(db, db.with_name(db.name + ".tmp-x"))
    assert temp_files(db) == []


def test_a_link_left_where_a_copy_could_go_is_not_followed(db, tmp_path):
    """Someone with write access to the folder plants a symlink (or a FIFO) under a temp name: the load's copy goes
    to a new file of its own, the planted names are removed as stale temp files, and the link's target is
    untouched."""
    victim = tmp_path / "precious.txt"
    victim.write_text("大切なファイル", encoding="utf-8")
    for pid in range(os.getpid() - 2, os.getpid() + 3):
        db.with_name(f"{db.name}.tmp-{pid}-ahead").symlink_to(victim)
    os.mkfifo(db.with_name(f"{db.name}.tmp-{os.getpid()}-fifo-ahead"))
    assert load_files([write_engagements(tmp_path / "支援案件_他.csv", ids=("E-3",))], db).loaded
    assert victim.read_text(encoding="utf-8") == "大切なファイル"
    assert not db.is_symlink() and count(db, "engagements") == 3
    assert temp_files(db) == []


def test_a_name_with_glob_characters_still_has_its_stale_copies_removed(tmp_path):
    db = tmp_path / "dx[1].duckdb"
    assert load_files([write_engagements(tmp_path / "支援案件.csv", ids=("E-1",))], db).loaded
    stale = db.with_name(db.name + ".tmp-999999-old-ahead")
    stale.write_bytes(b"left by a killed load")
    assert load_files([write_engagements(tmp_path / "支援案件_他.csv", ids=("E-2",))], db).loaded
    assert temp_files(db) == [] and count(db, "engagements") == 2


def test_a_symlink_and_the_real_path_are_one_writer(db, tmp_path):
    link = tmp_path / "link.duckdb"
    link.symlink_to(db)
    with writer_lock(link):
        with pytest.raises(LoadBusy):
            with writer_lock(db, wait=0):
                pass
    with writer_lock(db):
        with pytest.raises(LoadBusy):
            with writer_lock(link, wait=0):
                pass
    with writer_lock(db, wait=0):
        pass


def test_a_copy_that_cannot_be_written_whole_is_removed_at_once(db):
    """A full disk (here: a file size limit, so the kernel refuses the copy's writes part way) must not keep the
    partial copy until the load gets the lock: another load may need that space."""
    script = f"""
import os, resource, signal, sys
from pathlib import Path
sys.path.insert(0, {str(ROOT)!r})
from etl.swap import CopyAhead
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
db = Path({str(db)!r})
resource.setrlimit(resource.RLIMIT_FSIZE, (db.stat().st_size // 2, resource.RLIM_INFINITY))
ahead = CopyAhead(db)
assert ahead.path is not None, "no copy ahead: the disk needs twice the database and 64 MB free"
ahead._thread.join()
print(ahead.path.exists(), ahead.take(db, db.with_name(db.name + ".tmp-x")))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]
    assert temp_files(db) == []


def test_a_load_takes_its_copy_and_the_file_keeps_the_usual_mode(db, tmp_path, monkeypatch):
    """The second load must not copy under the lock (copying there fails here), and the new version gets the mode a
    copy under the lock gives (0666 less the umask), not mkstemp's 0600: the app may read it as another user."""
    old_umask = os.umask(0o022)
    try:
        monkeypatch.setattr(load_module, "CopyAhead", lambda path: contextlib.nullcontext())
        assert load_files([write_engagements(tmp_path / "支援案件_他.csv", ids=("E-3",))], db).loaded
        copied_under_lock = stat.S_IMODE(db.stat().st_mode)
        monkeypatch.undo()

        def no_copy_under_the_lock(*args, **kwargs):
            raise AssertionError("copied under the lock although a copy was made ahead")

        monkeypatch.setattr(swap.shutil, "copyfile", no_copy_under_the_lock)
        assert load_files([write_engagements(tmp_path / "支援案件_後.csv", ids=("E-4",))], db).loaded
    finally:
        os.umask(old_umask)
    assert copied_under_lock == stat.S_IMODE(db.stat().st_mode) == 0o644
    assert count(db, "engagements") == 4 and temp_files(db) == []
