"""After an update changes the mart definitions: the app stops with the command to run (it never writes the database
it reads), `python -m etl rebuild` rebuilds the marts from the stored records atomically, `--if-outdated` leaves an
up-to-date database alone. Real DuckDB files, the real CLI in a subprocess, real AppTest."""
from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from etl.marts import MARTS_DIR, marts_fingerprint
from tests.support.pages import open_page

ROOT = Path(__file__).resolve().parent.parent


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "etl", *args], cwd=ROOT, capture_output=True, text=True)


def _counts(db: Path) -> tuple:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT (SELECT count(*) FROM engagements), (SELECT count(*) FROM sessions), "
                           "(SELECT count(*) FROM consultations), (SELECT count(*) FROM load_history)").fetchall()[0]


def _as_built_by_an_earlier_version(db: Path) -> None:
    """What a database loaded before mart_consortia existed looks like: no such mart, no marts_version."""
    with duckdb.connect(str(db)) as con:
        con.execute("DROP TABLE mart_consortia")
        con.execute("DELETE FROM meta WHERE key = 'marts_version'")


def test_outdated_marts_stop_the_page_and_rebuild_brings_them_back(sample_db_env):
    db = sample_db_env
    records = _counts(db)
    _as_built_by_an_earlier_version(db)
    before = _sha(db)

    at = open_page(str(ROOT / "app.py"))
    at.run()
    assert not at.exception                                           # a message, not a traceback
    assert any("python -m etl rebuild" in e.value and str(db) in e.value for e in at.error)
    assert not at.get("plotly_chart")
    assert _sha(db) == before                                         # the app only reads

    done = _cli("rebuild", "--db", str(db), "--if-outdated")
    assert done.returncode == 0, done.stderr
    assert "集計表を作り直しました" in done.stdout
    assert _counts(db) == records                                     # the records are not touched
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT value FROM meta WHERE key = 'marts_version'").fetchall() == [(marts_fingerprint(),)]
        assert con.execute("SELECT count(*) FROM mart_consortia").fetchall()[0][0] >= 2
    assert not list(db.parent.glob(f"{db.name}.tmp-*"))               # no copy left behind

    at = open_page(str(ROOT / "app.py"))
    at.run()
    assert not at.exception and not at.error
    assert len(at.get("plotly_chart")) >= 2


def test_rebuild_if_outdated_leaves_an_up_to_date_database_alone(sample_db):
    before = _sha(sample_db)
    done = _cli("rebuild", "--db", str(sample_db), "--if-outdated")
    assert done.returncode == 0 and "集計表は最新です" in done.stdout
    assert _sha(sample_db) == before


@pytest.mark.parametrize("setup, code, message", [
    ("missing", 2, "データベースがありません"),
    ("not_duckdb", 2, "を開けません"),
])
def test_rebuild_refuses_what_it_cannot_rebuild(tmp_path, setup, code, message):
    db = tmp_path / "dx.duckdb"
    if setup == "not_duckdb":
        db.write_text("これはデータベースではありません", encoding="utf-8")
    done = _cli("rebuild", "--db", str(db))
    assert done.returncode == code and message in done.stderr
    assert not list(tmp_path.glob("dx.duckdb.tmp-*"))


def test_a_changed_mart_definition_changes_the_fingerprint(tmp_path):
    folder = tmp_path / "marts"
    shutil.copytree(MARTS_DIR, folder)
    assert marts_fingerprint(folder) == marts_fingerprint()
    first = sorted(folder.glob("*.sql"))[0]
    first.write_text(first.read_text(encoding="utf-8") + "\n-- changed\n", encoding="utf-8")
    assert marts_fingerprint(folder) != marts_fingerprint()
