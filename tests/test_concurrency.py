"""Readers and writers: readers keep working during a large load and see all of it or none of it; two loads at
once (one is refused or waits); a load killed with SIGKILL at any point leaves the old database intact.

Loads run as real `python -m etl load` subprocesses. Kill points are made deterministic with the loader's test hook
(etl.load._stage_hook: DX_LOAD_PAUSE_AT=<stage> + DX_LOAD_PAUSE_FILE), and timed kills cover the rest.
DX_CONCURRENCY_SESSIONS sets the size of the large load (default 50,000 sessions + as many consultations: several
seconds of load, hundreds of reads during it; larger only slows the suite).
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from etl.generate import generate
from etl.load import LOAD_STAGES, load_files
from monitor.read.db import connect_readonly
from monitor.read.filters import Filters
from monitor.read.queries import run_query
from tests.support.etl_helpers import content, count, query, write_engagements

pytestmark = pytest.mark.slow  # killed and concurrent loads, a large load

ROOT = Path(__file__).resolve().parent.parent
BASE = ROOT / "tests" / "files" / "messy" / "支援案件_utf8_bom.csv"
LARGE = int(os.environ.get("DX_CONCURRENCY_SESSIONS", "50000"))


def start_load(paths, db: Path, **env) -> subprocess.Popen:
    e = {**os.environ, "PYTHONPATH": str(ROOT), **{k: str(v) for k, v in env.items()}}
    return subprocess.Popen([sys.executable, "-m", "etl", "load", *map(str, paths), "--db", str(db)],
                            cwd=ROOT, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"load ended before the pause point: {proc.returncode} {proc.communicate()}")
        if time.monotonic() > deadline:
            raise AssertionError("pause point not reached")
        time.sleep(0.02)


@pytest.fixture(scope="module")
def base_master(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("conc") / "dx.duckdb"
    assert load_files([BASE], db).loaded
    return db


@pytest.fixture()
def db(base_master, tmp_path) -> Path:
    path = tmp_path / "db" / "dx.duckdb"
    path.parent.mkdir()
    shutil.copyfile(base_master, path)
    return path


@pytest.fixture(scope="module")
def medium_files(tmp_path_factory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("medium")
    generate(out, sessions=20_000)
    yield out
    shutil.rmtree(out, ignore_errors=True)          # big: not kept until the end of the run


@pytest.fixture(scope="module")
def large_files(tmp_path_factory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("large")
    generate(out, sessions=LARGE)
    yield out
    shutil.rmtree(out, ignore_errors=True)          # big: not kept until the end of the run


def temp_files(db: Path) -> list[str]:
    return sorted(p.name for p in db.parent.iterdir() if p.name.startswith(db.name + ".tmp-"))


def assert_a_later_load_succeeds_and_clears_up(db: Path, folder: Path) -> None:
    """After a killed load: the next load (one small file; it copies the database as any load does) succeeds, keeps
    what the database held, and removes what the killed one left behind."""
    sessions = count(db, "sessions")
    again = start_load([write_engagements(folder / "支援案件_再.csv", ids=("AGAIN-1",))], db)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, (out, err)
    assert count(db, "sessions") == sessions
    assert query(db, "SELECT count(*) FROM engagements WHERE engagement_id = 'AGAIN-1'") == [(1,)]
    assert temp_files(db) == []


# ── (a) readers during a large load ────────────────────────────────────────────────

def test_readers_see_old_or_new_never_an_error(db, large_files):
    old_sessions = count(db, "sessions")
    seen: set[int] = set()
    kpi_seen: set[int] = set()
    errors: list[str] = []
    reads = [0]
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            try:
                kpi = run_query("kpi", Filters(), path=db)              # the app's read path (cached per version)
                kpi_seen.add(int(kpi[kpi["is_total"]].iloc[0]["sessions"]))
                con = connect_readonly(db)                               # a fresh read-only attach
                try:
                    seen.add(con.execute("SELECT count(*) FROM sessions").fetchall()[0][0])
                finally:
                    con.close()
                reads[0] += 1
            except Exception as e:  # noqa: BLE001 - any reader error fails the test (recorded, asserted after)
                errors.append(f"{type(e).__name__}: {e}")
            time.sleep(0.005)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    proc = start_load([large_files], db)
    out, err = proc.communicate(timeout=900)
    time.sleep(0.5)             # let the readers see the new file
    stop.set()
    for t in threads:
        t.join()
    assert proc.returncode == 0, (out, err)
    new_sessions = count(db, "sessions")
    assert new_sessions == old_sessions + LARGE
    assert errors == []
    assert reads[0] > 10
    assert seen == {old_sessions, new_sessions}            # all of the load or none of it, and the swap was seen
    assert len(kpi_seen) == 2
    assert temp_files(db) == []


# ── (b) two loads at once ────────────────────────────────────────────────────────

def test_second_load_is_refused_or_waits(db, medium_files, tmp_path):
    marker = tmp_path / "paused"
    first = start_load([medium_files], db, DX_LOAD_PAUSE_AT="copied", DX_LOAD_PAUSE_FILE=marker)
    wait_for(marker, first)
    other = tmp_path / "other"
    other.mkdir()
    (other / "伴走記録_追加.csv").write_text("案件ID,回,実施日\r\nM-001,1,2022-10-05\r\n", encoding="utf-8")
    # refused: exit 3 with a clear message, nothing written
    refused = start_load([other], db, DX_LOCK_WAIT=0.5)
    out, err = refused.communicate(timeout=120)
    assert refused.returncode == 3, (out, err)
    assert "別の取込が実行中です" in err
    # waits: starts now, finishes after the first
    waiting = start_load([other], db, DX_LOCK_WAIT=120)
    time.sleep(3)
    assert waiting.poll() is None                      # still waiting for the lock
    marker.unlink()                                    # let the first load go on
    assert first.wait(timeout=300) == 0, first.communicate()
    out, err = waiting.communicate(timeout=300)
    assert waiting.returncode == 0, (out, err)
    # both loads are in the database, which opens and is whole
    assert count(db, "sessions") == 20_000 + 1
    assert query(db, "SELECT count(*) FROM sessions WHERE engagement_id = 'M-001'") == [(1,)]
    assert query(db, "SELECT count(*) FROM engagements WHERE engagement_id LIKE 'M-%'") == [(5,)]
    assert temp_files(db) == []


# ── (c) kill -9 ──────────────────────────────────────────────────────────────────

@pytest.mark.parametrize("stage", LOAD_STAGES)
def test_kill_at_stage_keeps_old_database(db, medium_files, tmp_path, stage):
    old = content(db)
    marker = tmp_path / "paused"
    proc = start_load([medium_files], db, DX_LOAD_PAUSE_AT=stage, DX_LOAD_PAUSE_FILE=marker)
    wait_for(marker, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    if stage in ("copied", "written", "before_replace"):
        assert temp_files(db)               # the killed load's copy is left behind (cleaned up below)
    if stage == "replaced":                 # killed after the swap: the load is complete
        assert count(db, "sessions") == 20_000
    else:
        assert content(db) == old           # the database opens and holds exactly the old records
    con = duckdb.connect(str(db), read_only=True)
    con.execute("SELECT count(*) FROM mart_engagement_progress").fetchall()
    con.close()
    assert_a_later_load_succeeds_and_clears_up(db, tmp_path)


@pytest.mark.parametrize("after", [0.2, 0.5, 1.0, 2.0, 4.0])
def test_kill_after_time_is_all_or_nothing(db, medium_files, after, record_property, tmp_path):
    """Killed after a time, a load leaves the old content or the complete new one. Which branch a run tested is
    recorded (the junit property ``branch`` and the assertion messages): ``killed`` (SIGKILL while it ran),
    ``finished`` (it ended before the kill); and what the database held: ``old content kept`` or ``new content
    complete``. test_kill_at_stage_keeps_old_database kills at each stage deterministically."""
    old = content(db)
    proc = start_load([medium_files], db)
    time.sleep(after)
    killed = proc.poll() is None
    if killed:
        os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    sessions = count(db, "sessions")
    branch = f"{'killed' if killed else 'finished'} after {after} s: " + (
        "old content kept" if sessions == 0 else "new content complete")
    record_property("branch", branch)
    if sessions == 0:
        assert content(db) == old, branch
    else:
        assert sessions == 20_000, branch           # finished before the kill: all of it
    assert_a_later_load_succeeds_and_clears_up(db, tmp_path)
