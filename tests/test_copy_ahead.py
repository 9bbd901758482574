"""The copy of the database a load makes while it reads and checks its files (etl/swap.py CopyAhead): taken only
when it is a whole copy of the file as it is under the writer lock; otherwise removed and copied again, so a load
never writes over a version another load replaced. Real files, real DuckDB."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import etl.load as load_module
from etl.load import load_files
from etl.swap import CopyAhead, _remove_stale_temp_files
from tests.support.etl_helpers import count, query, sha256, write_engagements


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


CHANGES = ["replaced by another load", "removed as a stale temp file", "replaced by hand", "copied over by hand"]


@pytest.mark.parametrize("change", CHANGES)
def test_a_copy_that_is_no_longer_good_is_removed_and_the_load_copies_again(db, tmp_path, change):
    """The copy is started, then before this load takes it: another load replaces the database (and, holding the
    lock, removes this copy as a stale temp file), or only removes it, or someone puts another database file in
    its place (a new file moved there, or copied over the same file: its size and time change)."""
    ahead = CopyAhead(db)
    ahead._thread.join()
    other = tmp_path / "other" / "dx.duckdb"
    if change != "removed as a stale temp file" and change != "replaced by another load":
        other.parent.mkdir()
        assert load_files([write_engagements(tmp_path / "支援案件_他.csv", ids=[f"E-{i}" for i in range(3, 60)])],
                          other).loaded
    if change == "replaced by another load":
        assert load_files([write_engagements(tmp_path / "支援案件_他.csv", ids=("E-3",))], db).loaded
    elif change == "removed as a stale temp file":
        assert ahead.path in _remove_stale_temp_files(db)
    elif change == "replaced by hand":
        os.replace(other, db)
    else:
        shutil.copyfile(other, db)
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
