"""Loads say what changed: per kind, new / updated / unchanged rows — printed by the CLI, shown on データ取込 after a
load, kept in load_history. Old databases (without those columns) still open, load and rebuild."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from etl.load import load_files
from tests.support.etl_helpers import query, write_csv
from tests.support.pages import INTAKE_PAGE, run_page

ROOT = Path(__file__).resolve().parent.parent
ENG_HEADER = ["案件ID", "年度", "支援種別", "支援先名", "支援先区分", "都道府県", "市区町村"]


def engagements(path: Path, n: int = 3, renamed: dict[int, str] | None = None) -> Path:
    renamed = renamed or {}
    return write_csv(path, ENG_HEADER, [
        [f"E-{i}", "2024", "伴走支援", renamed.get(i, f"架空{i}株式会社"), "企業", "茨城県", "筑西市"] for i in range(1, n + 1)])


def sessions(path: Path, dates: list[str]) -> Path:
    return write_csv(path, ["案件ID", "回", "実施日"], [["E-1", str(i), d] for i, d in enumerate(dates, start=1)])


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "etl", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def history(db: Path) -> list[tuple]:
    return query(db, """SELECT load_id, kind, rows_loaded, rows_new, rows_updated, rows_unchanged FROM load_history
                        ORDER BY load_id, kind""")


def test_new_same_again_then_corrected(tmp_path):
    db = tmp_path / "dx.duckdb"
    eng = engagements(tmp_path / "支援案件.csv")
    ses = sessions(tmp_path / "伴走記録.csv", ["2024-05-01", "2024-05-15"])
    first = load_files([eng, ses], db)
    assert first.changes_by_kind() == {"engagements": (3, 0, 0), "sessions": (2, 0, 0)}
    same = load_files([eng, ses], db)
    assert same.changes_by_kind() == {"engagements": (0, 0, 3), "sessions": (0, 0, 2)}
    # a corrected file: one name fixed, one session date fixed, one engagement added
    eng2 = engagements(tmp_path / "支援案件_修正.csv", n=4, renamed={2: "架空2株式会社（修正）"})
    ses2 = sessions(tmp_path / "伴走記録_修正.csv", ["2024-05-01", "2024-05-16"])
    fixed = load_files([eng2, ses2], db)
    assert fixed.changes_by_kind() == {"engagements": (1, 1, 2), "sessions": (0, 1, 1)}
    assert history(db) == [(1, "engagements", 3, 3, 0, 0), (1, "sessions", 2, 2, 0, 0),
                           (2, "engagements", 3, 0, 0, 3), (2, "sessions", 2, 0, 0, 2),
                           (3, "engagements", 4, 1, 1, 2), (3, "sessions", 2, 0, 1, 1)]
    # independently: the stored rows are the corrected ones, keys unique
    assert query(db, "SELECT count(*), count(DISTINCT engagement_id) FROM engagements")[0] == (4, 4)
    assert query(db, "SELECT client_name FROM engagements WHERE engagement_id = 'E-2'")[0][0] == "架空2株式会社(修正)"


def test_where_a_row_came_from_is_not_a_change(tmp_path):
    """The same records under another file name (a re-export) are unchanged: only record columns are compared."""
    db = tmp_path / "dx.duckdb"
    load_files([engagements(tmp_path / "支援案件.csv")], db)
    moved = engagements(tmp_path / "支援案件_再送.csv")
    assert load_files([moved], db).changes_by_kind() == {"engagements": (0, 0, 3)}


def test_per_file_counts_in_one_batch(tmp_path):
    db = tmp_path / "dx.duckdb"
    load_files([engagements(tmp_path / "支援案件.csv", n=2)], db)
    (tmp_path / "a").mkdir()
    a = engagements(tmp_path / "a" / "支援案件.csv", n=2, renamed={1: "架空1株式会社（改）"})
    b = write_csv(tmp_path / "支援案件_追加.csv", ENG_HEADER, [["E-9", "2024", "伴走支援", "架空9株式会社", "企業",
                                                               "茨城県", "筑西市"]])
    report = load_files([a, b], db)
    counts = {(t.file_name, t.kind): (t.rows_new, t.rows_updated, t.rows_unchanged) for t in report.tables}
    assert counts == {("支援案件.csv", "engagements"): (0, 1, 1), ("支援案件_追加.csv", "engagements"): (1, 0, 0)}


def test_cli_prints_the_changes(tmp_path):
    db = tmp_path / "dx.duckdb"
    eng = engagements(tmp_path / "支援案件.csv")
    assert "  支援案件: 新規 3 行" in run("load", str(eng), "--db", str(db)).stdout
    assert "  支援案件: 変更なし 3 行" in run("load", str(eng), "--db", str(db)).stdout
    fixed = engagements(tmp_path / "支援案件_修正.csv", renamed={3: "架空3株式会社（修正）"})
    out = run("load", str(fixed), "--db", str(db)).stdout
    assert "取り込みました: 支援案件 3 行" in out
    assert "  支援案件: 更新 1 行、変更なし 2 行" in out


def _old_database(db: Path) -> None:
    """A database as versions before the change counts wrote it: load_history without the three columns."""
    con = duckdb.connect(str(db))
    try:
        for c in ("rows_new", "rows_updated", "rows_unchanged"):
            con.execute(f"ALTER TABLE load_history DROP COLUMN {c}")
        con.execute("CHECKPOINT")
    finally:
        con.close()


def test_an_old_database_opens_loads_and_rebuilds(tmp_path, monkeypatch):
    from monitor import intake  # noqa: PLC0415  (imported where used, after the test's environment is set)
    db = tmp_path / "dx.duckdb"
    eng = engagements(tmp_path / "支援案件.csv")
    load_files([eng], db)
    _old_database(db)
    before = intake.load_history(db)                     # the read side never alters the file
    assert list(before[["新規", "更新", "変更なし"]].iloc[0].isna()) == [True, True, True]
    assert "rows_new" not in {r[0] for r in query(db, "DESCRIBE load_history")}
    old = tmp_path / "old.duckdb"
    shutil.copyfile(db, old)
    result = run("rebuild", "--db", str(old))
    assert result.returncode == 0, result.stderr
    # a load adds the columns (NULL for the old load) and counts its own rows
    report = load_files([eng], db)
    assert report.changes_by_kind() == {"engagements": (0, 0, 3)}
    assert history(db) == [(1, "engagements", 3, None, None, None), (2, "engagements", 3, 0, 0, 3)]
    after = intake.load_history(db)
    assert after.iloc[0][["取込行数", "新規", "更新", "変更なし"]].tolist() == [3, 0, 0, 3]


# ── データ取込 (AppTest) ───────────────────────────────────────────────────────────────

def _page(db: Path, monkeypatch):
    monkeypatch.setenv("DX_DB_PATH", str(db))
    return run_page(INTAKE_PAGE)


@pytest.mark.parametrize("renamed,expected", [
    ({}, "支援案件: 3 行を取り込みました（変更なし 3 行）"),
    ({2: "架空2株式会社（修正）"}, "支援案件: 3 行を取り込みました（更新 1 行、変更なし 2 行）"),
])
def test_page_shows_the_changes_after_a_load(tmp_path, monkeypatch, renamed, expected):
    db = tmp_path / "dx.duckdb"
    load_files([engagements(tmp_path / "支援案件.csv")], db)
    (tmp_path / "re").mkdir()
    fixed = engagements(tmp_path / "re" / "支援案件.csv", renamed=renamed)      # the same file name, re-sent
    at = _page(db, monkeypatch)
    at.file_uploader(key="intake_files").set_value([(fixed.name, fixed.read_bytes(), "text/csv")])
    at.run()
    at.button(key="intake_load").click().run()
    assert not at.exception, at.exception
    assert any(expected in s.value for s in at.success), [s.value for s in at.success]
    hist = next(d.value for d in at.dataframe if "sha256" in d.value.columns)
    n_updated = len(renamed)
    assert hist.iloc[0][["新規", "更新", "変更なし"]].tolist() == [0, n_updated, 3 - n_updated]
