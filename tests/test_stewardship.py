"""Data stewardship (issue 14, items 1–3): kept versions and undo, withdrawing records, freshness per group.

Real files, real DuckDB, real `python -m etl` subprocesses for the kill tests (the loader's DX_LOAD_PAUSE_AT hook,
as in tests/test_concurrency.py). Contents are compared table by table, every row and column, not by counts.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from etl import restore, versions
from etl.cli import main
from etl.freshness import summary_for
from etl.load import load_files, writer_lock
from etl.withdraw import withdraw
from monitor.read.filters import Filters
from monitor.read.queries import run_query
from tests.support.etl_helpers import RECORD_TABLES, content, count, query, sha256, write_csv, write_engagements
from tests.support.pages import INTAKE_PAGE, run_page

ROOT = Path(__file__).resolve().parent.parent
SESSION_HEADER = ["案件ID", "回", "実施日", "時間", "段階", "金融機関同行"]


def all_tables(db: Path) -> dict[str, list[tuple]]:
    """Every table of the database (records, bookkeeping, reference, marts), every row."""
    names = [r[0] for r in query(db, "SELECT table_name FROM duckdb_tables() ORDER BY 1")]
    return content(db, tuple(names))


def sessions_file(path: Path, rows) -> Path:
    return write_csv(path, SESSION_HEADER, rows)


@pytest.fixture()
def db(tmp_path) -> Path:
    """A records database with one load (the state 'before A')."""
    path = tmp_path / "db" / "dx.duckdb"
    base = tmp_path / "base"
    base.mkdir()
    write_engagements(base / "支援案件.csv", ids=("B-1", "B-2"))
    sessions_file(base / "伴走記録.csv", [["B-1", "1", "2022-10-05", "120", "DX構想の検討", "有"]])
    assert load_files([base], path).loaded
    return path


def load_a_and_b(tmp_path: Path, db: Path) -> tuple[dict, dict, dict, int, int]:
    before = all_tables(db)
    a = tmp_path / "a"
    a.mkdir()
    write_engagements(a / "支援案件.csv", ids=("A-1", "B-2"), 市区町村="下妻市")           # new one + a corrected one
    sessions_file(a / "伴走記録.csv", [["A-1", "1", "2022-11-01", "90", "現状分析", "無"],
                                        ["B-1", "2", "2022-11-02", "", "", ""]])
    report_a = load_files([a], db)
    assert report_a.loaded
    after_a = all_tables(db)
    b = tmp_path / "b"
    b.mkdir()
    sessions_file(b / "伴走記録.csv", [["A-1", "1", "2022-11-01", "100", "現状分析", "有"],   # an update
                                        ["A-1", "2", "2022-12-01", "120", "", ""]])
    assert load_files([b], db).loaded
    entries = versions.read_log(db)
    return before, after_a, all_tables(db), entries[-2]["id"], entries[-1]["id"]


# ── 1. versions and undo ─────────────────────────────────────────────────────────

def test_undo_b_gives_after_a_and_undo_a_gives_before_a(tmp_path, db):
    before, after_a, after_b, id_a, id_b = load_a_and_b(tmp_path, db)
    assert after_a != after_b and before != after_a
    undo_b = restore.undo(db)                          # default: the latest change, B
    assert undo_b["undoes"] == id_b
    assert all_tables(db) == after_a
    undo_a = restore.undo(db, id_a)
    assert undo_a["undoes"] == id_a
    assert all_tables(db) == before
    # the history survives the undos: every load and both undos, oldest first
    log = versions.read_log(db)
    assert [e["action"] for e in log] == ["load", "load", "load", "undo", "undo"]
    assert [e["id"] for e in log] == sorted({e["id"] for e in log})
    # an undo is undoable: undoing the undo of A gives the state after A again
    restore.undo(db, undo_a["id"])
    assert all_tables(db) == after_a


def test_load_ids_go_on_after_an_undo(tmp_path, db):
    _, _, _, _, id_b = load_a_and_b(tmp_path, db)
    undo = restore.undo(db)
    c = write_engagements(tmp_path / "支援案件_c.csv", ids=("C-1",))
    assert load_files([c], db).loaded
    last = versions.read_log(db)[-1]
    assert last["id"] > undo["id"] > id_b                 # not B's id again, though the restored file was behind
    assert query(db, "SELECT DISTINCT load_id FROM load_history WHERE file_name = '支援案件_c.csv'") == [(last["id"],)]


def test_old_versions_are_pruned_and_their_undo_refused(tmp_path, db, monkeypatch):
    monkeypatch.setenv("DX_KEEP_VERSIONS", "2")
    for i in range(4):
        assert load_files([write_engagements(tmp_path / f"支援案件_{i}.csv", ids=(f"K-{i}",))], db).loaded
    kept = sorted(p.name for p in versions.versions_dir(db).glob("dx.duckdb.v*"))
    log = versions.read_log(db)
    assert kept == [log[-2]["version"], log[-1]["version"]]
    with pytest.raises(versions.Refused, match="DX_KEEP_VERSIONS=2"):
        restore.undo(db, log[1]["id"])
    assert len(versions.read_log(db)) == len(log)         # a refused undo writes nothing


def test_versions_are_hard_links_not_copies(tmp_path, db):
    inode = db.stat().st_ino
    assert load_files([write_engagements(tmp_path / "支援案件.csv", ids=("L-1",))], db).loaded
    entry = versions.read_log(db)[-1]
    assert (versions.versions_dir(db) / entry["version"]).stat().st_ino == inode


def _etl(*args, **env) -> subprocess.Popen:
    e = {**os.environ, "PYTHONPATH": str(ROOT), **{k: str(v) for k, v in env.items()}}
    return subprocess.Popen([sys.executable, "-m", "etl", *map(str, args)], cwd=ROOT, env=e,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "pause point not reached"
        time.sleep(0.02)


@pytest.mark.slow  # kills a process at each stage
@pytest.mark.parametrize("stage", ["copied", "before_replace", "replaced"])
def test_kill_during_undo_leaves_a_consistent_database(tmp_path, db, stage):
    _, after_a, after_b, _, _ = load_a_and_b(tmp_path, db)
    marker = tmp_path / "paused"
    proc = _etl("undo", "--db", db, DX_LOAD_PAUSE_AT=stage, DX_LOAD_PAUSE_FILE=marker)
    _wait_for(marker, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    if stage == "replaced":
        assert all_tables(db) == after_a                # killed after the swap: the undo is complete
    else:
        assert all_tables(db) == after_b                # the database opens and is exactly as before
    # the next change clears the killed one's temp file and works
    again = _etl("undo", "--db", db)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, (out, err)
    assert not [p for p in db.parent.iterdir() if ".tmp-" in p.name]


def test_backup_is_a_whole_copy_and_waits_for_no_half_load(tmp_path, db):
    out = tmp_path / "backup" / "copy.duckdb"
    assert main(["backup", str(out), "--db", str(db)]) == 0
    assert all_tables(out) == all_tables(db)
    # while a load holds the writer lock, a backup does not copy a file being replaced: it waits, then gives up (3)
    marker = tmp_path / "paused"
    load = _etl("load", write_engagements(tmp_path / "支援案件.csv", ids=("W-1",)), "--db", db,
                DX_LOAD_PAUSE_AT="copied", DX_LOAD_PAUSE_FILE=marker)
    _wait_for(marker, load)
    busy = _etl("backup", tmp_path / "busy.duckdb", "--db", db, DX_LOCK_WAIT=0.5)
    _, err = busy.communicate(timeout=60)
    assert busy.returncode == 3 and "別の取込が実行中です" in err
    assert not (tmp_path / "busy.duckdb").exists()
    marker.unlink()
    assert load.wait(timeout=120) == 0


# ── 2. withdraw ─────────────────────────────────────────────────────────────────

@pytest.fixture()
def records(records_db_master, tmp_path) -> Path:
    path = tmp_path / "rec" / "dx.duckdb"
    path.parent.mkdir()
    shutil.copyfile(records_db_master, path)
    return path


def tables_with_column(db: Path, column: str) -> list[str]:
    return [r[0] for r in query(db, "SELECT DISTINCT table_name FROM duckdb_columns() WHERE column_name = ? "
                                    "ORDER BY 1", [column])]


def test_withdraw_an_engagement_with_its_sessions_from_every_page_and_undo(records):
    eid, n_sessions = query(records, """SELECT engagement_id, count(*) FROM sessions GROUP BY 1
                                        ORDER BY 2 DESC, 1 LIMIT 1""")[0]
    fy = query(records, "SELECT fiscal_year FROM engagements WHERE engagement_id = ?", [eid])[0][0]
    before, digest = all_tables(records), sha256(records)
    # refused without --with-sessions: nothing written
    with pytest.raises(versions.Refused, match=f"伴走記録が {n_sessions} 件"):
        withdraw(records, "engagements", [eid])
    assert sha256(records) == digest
    entry = withdraw(records, "engagements", [eid], with_sessions=True)
    assert entry["removed"] == {"engagements": 1, "sessions": n_sessions}
    # gone from every table that holds engagements (records and every mart the pages read)
    for table in tables_with_column(records, "engagement_id"):
        assert query(records, f"SELECT count(*) FROM {table} WHERE engagement_id = ?", [eid]) == [(0,)], table
    # the pages' own queries agree with direct SQL on what is left
    progress = run_query("engagement_progress_page", Filters(fiscal_year=fy), path=records, only_stalled=False,
                         progress_only=False, max_rows=None, offset=None)
    assert eid not in set(progress["engagement_id"])
    assert len(progress) == query(records, "SELECT count(*) FROM engagements WHERE fiscal_year = ?", [fy])[0][0]
    assert run_query("session_log", Filters(), path=records, engagement_id=eid).empty
    kpi = run_query("kpi", Filters(fiscal_year=fy), path=records)
    assert int(kpi[kpi["is_total"]].iloc[0]["sessions"]) == query(
        records, "SELECT count(*) FROM sessions WHERE fiscal_year = ?", [fy])[0][0]
    # undo brings every row back
    restore.undo(records)
    assert all_tables(records) == before


@pytest.mark.parametrize("kind, sql", [
    ("sessions", "SELECT engagement_id || ':' || session_no FROM sessions ORDER BY 1 LIMIT 2"),
    ("consultations", "SELECT consultation_id FROM consultations ORDER BY 1 LIMIT 2"),
    ("events", "SELECT event_id FROM events ORDER BY 1 LIMIT 2"),
    ("targets", "SELECT fiscal_year || ':' || consortium || ':' || indicator FROM targets ORDER BY 1 LIMIT 2"),
])
def test_withdraw_each_kind_by_its_key(records, kind, sql):
    ids = [r[0] for r in query(records, sql)]
    others = content(records, (kind,))[kind]
    withdraw(records, kind, ids)
    assert count(records, kind) == len(others) - 2
    for i in ids:
        assert main(["withdraw", "--kind", kind, "--id", i, "--db", str(records)]) == 1   # no longer there


def test_withdraw_unknown_or_unreadable_ids_writes_nothing(records, capsys):
    digest = sha256(records)
    assert main(["withdraw", "--kind", "engagements", "--id", "NO-SUCH", "--db", str(records)]) == 1
    assert "見つかりません: NO-SUCH" in capsys.readouterr().err
    assert main(["withdraw", "--kind", "sessions", "--id", "no-colon", "--db", str(records)]) == 1
    assert "案件ID:回" in capsys.readouterr().err
    assert main(["withdraw", "--kind", "events", "--id", "X", "--db", str(records.parent / "none.duckdb")]) == 2
    assert sha256(records) == digest


def test_a_withdraw_column_in_a_file_removes_instead_of_loading(tmp_path, db):
    before = content(db)
    # B-1 has sessions 1 (stored); a file marks it 削除 (other columns blank), adds A-9 and marks nonsense
    path = write_csv(tmp_path / "伴走記録_修正.csv", ["案件ID", "回", "実施日", "削除"],
                     [["B-1", "1", "", "有"], ["B-2", "1", "2022-12-01", ""]])
    report = load_files([path], db)
    assert report.loaded, report.errors
    assert [(t.rows_valid, t.rows_withdrawn) for t in report.tables] == [(1, 1)]
    assert query(db, "SELECT engagement_id, session_no FROM sessions ORDER BY 1") == [("B-2", 1)]
    assert content(db)["engagements"] == before["engagements"]
    bad = write_csv(tmp_path / "伴走記録_x.csv", ["案件ID", "回", "実施日", "削除"], [["B-2", "1", "2022-12-01", "たぶん"]])
    report = load_files([bad], db)
    assert not report.loaded and [(e.column, e.value) for e in report.errors] == [("削除", "たぶん")]
    # an engagement marked 削除 whose sessions stay is rejected, with the way to do it in the message
    eng = write_csv(tmp_path / "支援案件_x.csv", ["案件ID", "削除"], [["B-2", "○"]])
    report = load_files([eng], db)
    [err] = report.errors
    assert "伴走記録が 1 件" in err.reason and "--with-sessions" in err.reason
    # marked together with its sessions, both go
    both = tmp_path / "both"
    both.mkdir()
    write_csv(both / "支援案件.csv", ["案件ID", "削除"], [["B-2", "1"]])
    write_csv(both / "伴走記録.csv", ["案件ID", "回", "削除"], [["B-2", "1", "TRUE"]])
    assert load_files([both], db).loaded
    assert query(db, "SELECT engagement_id FROM engagements ORDER BY 1") == [("B-1",)]
    assert count(db, "sessions") == 0
    restore.undo(db)
    assert query(db, "SELECT engagement_id, session_no FROM sessions ORDER BY 1") == [("B-2", 1)]


# ── 3. freshness per group ───────────────────────────────────────────────────────

ENG = ["案件ID", "年度", "コンソーシアム", "支援種別", "支援先名", "支援先区分", "都道府県", "状況", "開始日", "終了日"]
CON = ["相談ID", "相談日", "相談元", "都道府県", "相談テーマ"]
# group 茨城: two engagements 実施中, sessions every month April–November (one has gaps covered by the other);
# group 長野 (late): one engagement 実施中, sessions April–June only, its last upload 60 days ago
ENGAGEMENTS = [
    ["I-1", "2024", "茨城県DX支援コミュニティ", "伴走支援", "架空A", "企業", "茨城県", "実施中", "2024-04-01", ""],
    ["I-2", "2024", "茨城県DX支援コミュニティ", "伴走支援", "架空B", "企業", "茨城県", "実施中", "2024-07-01", "2025-03-31"],
    ["I-3", "2024", "", "CIO補佐官", "架空市", "自治体", "茨城県", "実施中", "2024-04-01", ""],
]
SESSIONS = (
    [["I-1", str(i), f"2024-{m:02d}-10", "120", "DX構想の検討", "有"] for i, m in enumerate((4, 5, 6, 7), 1)]
    + [["I-2", str(i), f"2024-{m:02d}-15", "" if m == 9 else "90", "" if m in (8, 9) else "現状分析", "" if m == 10 else "無"]
       for i, m in enumerate((8, 9, 10, 11), 1)]
)
LATE_ENGAGEMENTS = [
    ["N-1", "2024", "長野県DX支援コミュニティ", "伴走支援", "架空C", "企業", "長野県", "実施中", "2024-04-01", ""],
    ["N-2", "2024", "長野県DX支援コミュニティ", "伴走支援", "架空D", "企業", "長野県", "完了", "2024-04-01", "2024-05-31"],
]
LATE_SESSIONS = [["N-1", str(i), f"2024-{m:02d}-20", "120", "", "有"] for i, m in enumerate((4, 5, 6), 1)]
CONSULTATIONS = [["C-1", "2024-11-20", "架空市", "茨城県", "RPAの導入"], ["C-2", "2024-10-01", "架空町", "茨城県", "なんとなく雑談"],
                 ["C-3", "2024-06-01", "架空村", "長野県", "セキュリティ対策"]]


def _rows(header, rows):
    return pd.DataFrame(rows, columns=header)


def expected_freshness(last_upload: dict[str, dt.datetime], as_of: dt.date, today: dt.date) -> pd.DataFrame:
    """The figures computed from the record lists above with pandas, by the rules of the README."""
    eng = pd.concat([_rows(ENG, ENGAGEMENTS), _rows(ENG, LATE_ENGAGEMENTS)])
    eng["group"] = eng["コンソーシアム"].where(eng["コンソーシアム"] != "", eng["都道府県"].map(
        {"茨城県": "茨城県DX支援コミュニティ", "長野県": "長野県DX支援コミュニティ"}))
    ses = pd.DataFrame(SESSIONS + LATE_SESSIONS, columns=SESSION_HEADER).merge(
        eng[["案件ID", "group"]], on="案件ID")
    ses["date"] = pd.to_datetime(ses["実施日"])
    con = _rows(CON, CONSULTATIONS)
    con["group"] = con["都道府県"].map({"茨城県": "茨城県DX支援コミュニティ", "長野県": "長野県DX支援コミュニティ"})
    mapped = {"RPAの導入": True, "なんとなく雑談": False, "セキュリティ対策": True}
    months = pd.date_range("2024-04-01", as_of, freq="MS")
    out = []
    for group, g in eng.groupby("group"):
        running = g[(g["状況"] == "実施中") & (g["支援種別"] == "伴走支援")]
        missing = []
        for m in months:
            end = m + pd.offsets.MonthEnd(0)
            act = running[(pd.to_datetime(running["開始日"]) <= end)
                          & ((running["終了日"] == "") | (pd.to_datetime(running["終了日"].replace("", None)) >= m))]
            if len(act) and not ((ses["案件ID"].isin(act["案件ID"])) & (ses["date"].dt.to_period("M") == m.to_period("M"))).any():
                missing.append(f"{m.month}月")
        s = ses[ses["group"] == group]
        c = con[con["group"] == group]
        latest = max(s["date"].max(), pd.to_datetime(c["相談日"]).max(), pd.to_datetime(g["開始日"]).max()).date()
        days = (today - last_upload[group].date()).days
        out.append({"group_name": group, "latest_record": latest, "days_since": days, "stale": days > 45,
                    "missing_month_names": "、".join(missing), "sessions": len(s),
                    "no_stage": int((s["段階"] == "").sum()), "no_bank": int((s["金融機関同行"] == "").sum()),
                    "no_duration": int((s["時間"] == "").sum()), "consultations": len(c),
                    "no_theme": int((~c["相談テーマ"].map(mapped)).sum())})
    return pd.DataFrame(out).set_index("group_name").sort_index()


def test_freshness_equals_an_independent_computation(tmp_path):
    db = tmp_path / "dx.duckdb"
    late = tmp_path / "late"
    late.mkdir()
    write_csv(late / "支援案件.csv", ENG, LATE_ENGAGEMENTS)
    sessions_file(late / "伴走記録.csv", LATE_SESSIONS)
    write_csv(late / "相談記録.csv", CON, CONSULTATIONS[2:])
    assert load_files([late], db).loaded
    # the late group's upload was 60 days ago (a record set of our own: its load time is set back)
    con = duckdb.connect(str(db))
    con.execute("UPDATE load_history SET loaded_at = loaded_at - INTERVAL 60 DAY")
    con.close()
    on_time = tmp_path / "on_time"
    on_time.mkdir()
    write_csv(on_time / "支援案件.csv", ENG, ENGAGEMENTS)
    sessions_file(on_time / "伴走記録.csv", SESSIONS)
    write_csv(on_time / "相談記録.csv", CON, CONSULTATIONS[:2])
    assert load_files([on_time], db).loaded
    uploads = dict(query(db, """SELECT CASE WHEN file_name = '支援案件.csv' AND load_id = (SELECT min(load_id) FROM
                                  load_history) THEN '長野県DX支援コミュニティ' ELSE '茨城県DX支援コミュニティ' END,
                                  max(loaded_at) FROM load_history WHERE file_name = '支援案件.csv' GROUP BY 1"""))
    today = dt.date.today()
    got = summary_for(db, today=today).set_index("group_name").sort_index()
    got["latest_record"] = pd.to_datetime(got["latest_record"]).dt.date
    as_of = dt.date(2024, 11, 20)                                       # the latest record date
    want = expected_freshness(uploads, as_of, today)
    assert list(got.index) == list(want.index)
    for col in want.columns:
        assert got[col].tolist() == want[col].tolist(), col
    assert got.loc["長野県DX支援コミュニティ", "missing_month_names"] == "7月、8月、9月、10月、11月"
    assert got.loc["長野県DX支援コミュニティ", "stale"] and not got.loc["茨城県DX支援コミュニティ", "stale"]


def test_check_summary_cli(tmp_path, db, capsys, monkeypatch):
    assert main(["check", "--summary", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "データの鮮度と欠損" in out and "更新あり" in out and "茨城県" in out
    monkeypatch.setenv("DX_STALE_DAYS", "1")
    con = duckdb.connect(str(db))
    con.execute("UPDATE load_history SET loaded_at = loaded_at - INTERVAL 3 DAY")
    con.close()
    assert main(["check", "--summary", "--db", str(db)]) == 0
    assert "更新なし（3日）" in capsys.readouterr().out
    # with files: the check's exit code, then the summary
    bad = write_csv(tmp_path / "伴走記録.csv", ["案件ID", "回", "実施日"], [["B-1", "x", "2022-10-05"]])
    assert main(["check", str(bad), "--summary", "--db", str(db)]) == 1
    assert "データの鮮度と欠損" in capsys.readouterr().out
    assert main(["check", "--summary", "--db", str(tmp_path / "none.duckdb")]) == 2
    assert main(["check", "--db", str(db)]) == 2


# ── the other verbs' exit codes ─────────────────────────────────────────────────

def test_history_and_undo_cli(tmp_path, db, capsys):
    _, after_a, _, id_a, id_b = load_a_and_b(tmp_path, db)
    assert main(["history", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert f"取込 {id_b}（" in out and f"python -m etl undo {id_a}" in out and "伴走記録.csv: 伴走記録 読込 2" in out
    assert main(["undo", "--db", str(db)]) == 0
    assert "この取消も元に戻せます" in capsys.readouterr().out
    assert all_tables(db) == after_a
    assert main(["history", "--db", str(db)]) == 0
    assert f"取込 {id_b}（" in capsys.readouterr().out.split("\n", 3)[-1]     # still listed, marked undone
    assert main(["undo", "999", "--db", str(db)]) == 1
    assert "番号 999" in capsys.readouterr().err
    assert main(["undo", "--db", str(tmp_path / "none.duckdb")]) == 2
    with writer_lock(db):
        busy = _etl("undo", "--db", db, DX_LOCK_WAIT=0.5)
        _, err = busy.communicate(timeout=60)
    assert busy.returncode == 3 and "別の取込が実行中です" in err
    assert all_tables(db) == after_a


def test_undo_of_a_corrupt_version_is_exit_2(tmp_path, db, capsys):
    assert load_files([write_engagements(tmp_path / "支援案件.csv", ids=("Z-1",))], db).loaded
    entry = versions.read_log(db)[-1]
    digest = sha256(db)
    (versions.versions_dir(db) / entry["version"]).write_bytes(b"not a database")
    assert main(["undo", "--db", str(db)]) == 2
    assert "開けません" in capsys.readouterr().err
    assert sha256(db) == digest


def test_history_log_is_append_only_json_lines(tmp_path, db):
    load_a_and_b(tmp_path, db)
    restore.undo(db)
    lines = versions.log_path(db).read_text(encoding="utf-8").splitlines()
    parsed = [json.loads(line) for line in lines]
    assert {"id", "at", "who", "action", "counts", "version"} <= set(parsed[-1])
    assert parsed[-1]["who"] == versions.current_user()
    assert parsed[-1]["counts"] == {t: count(db, t) for t in RECORD_TABLES}


# ── データ取込: undo behind a confirmation, the freshness section ─────────────────────

PAGE = INTAKE_PAGE


def test_intake_page_undoes_the_latest_load_after_confirmation(tmp_path, db, monkeypatch):
    monkeypatch.setenv("DX_DB_PATH", str(db))
    _, after_a, after_b, _, id_b = load_a_and_b(tmp_path, db)
    at = run_page(PAGE)
    assert "データの鮮度と欠損" in [h.value for h in at.subheader]
    fresh = next(d.value for d in at.dataframe if "状態" in d.value.columns)
    assert list(fresh["コンソーシアム・地域"]) == ["茨城県DX支援コミュニティ"]
    assert fresh.iloc[0]["状態"].startswith("更新あり")
    changes = next(d.value for d in at.dataframe if "元に戻す" in d.value.columns)
    assert changes.iloc[0]["番号"] == id_b and changes.iloc[0]["操作"] == "取込"
    button = at.button(key="intake_undo")
    assert button.disabled                                   # not before the confirmation
    at.checkbox(key=f"intake_undo_confirm_{id_b}").check().run()
    assert not at.button(key="intake_undo").disabled
    assert all_tables(db) == after_b                         # checking the box writes nothing
    at.button(key="intake_undo").click().run()
    assert not at.exception, at.exception
    assert any("取り消しました" in s.value for s in at.success), [s.value for s in at.success]
    assert all_tables(db) == after_a
    last = versions.read_log(db)[-1]
    assert (last["action"], last["who"], last["undoes"]) == ("undo", versions.PAGE_ACTOR, id_b)


def test_intake_page_offers_no_undo_under_a_prefecture_restriction(tmp_path, db, monkeypatch):
    monkeypatch.setenv("DX_DB_PATH", str(db))
    monkeypatch.setenv("DX_ALLOWED_PREFECTURES", "長野県")
    load_a_and_b(tmp_path, db)
    at = run_page(PAGE)
    assert not [b for b in at.button if b.key == "intake_undo"]
    assert not [d for d in at.dataframe if "状態" in d.value.columns]   # 茨城 only: nothing of 長野 to show
