"""Uploads that cannot hurt the server (issue 14, item 4): files out of bounds are refused before they are read,
faults give a Japanese message and exit 2 (never a traceback, never exit 1), データ取込 runs its work in a
memory-capped worker process one at a time, uploaded files do not outlive it, look-alike key characters are
normalised, and an xlsx export says when it cut text. Real files, real DuckDB, real subprocesses, real AppTest."""
from __future__ import annotations

import contextlib
import fcntl
import io
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from etl.extract import column_letters
from etl.load import check_files, load_files
from monitor import exports, intake
from tests.support import upload_files
from tests.support.etl_helpers import count, query, sha256, write_csv, write_engagements
from tests.support.pages import INTAKE_PAGE, open_page
from tests.support.upload_files import NAME, TWO_BAD

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]


@pytest.fixture()
def db(records_db_master, tmp_path, monkeypatch) -> Path:
    path = tmp_path / "dx.duckdb"
    shutil.copyfile(records_db_master, path)
    monkeypatch.setenv("DX_DB_PATH", str(path))
    return path


@pytest.fixture()
def private_tmp(tmp_path, monkeypatch) -> Path:
    """This process's temp folder (where データ取込 saves uploads and keeps its worker lock) made private."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def run_etl(*args: str, env: dict | None = None, preexec=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "etl", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, preexec_fn=preexec, timeout=300)


def assert_fault(r: subprocess.CompletedProcess, *fragments: str) -> None:
    """Exit 2 with a Japanese message holding each fragment, and no traceback anywhere."""
    out = r.stdout + r.stderr
    assert r.returncode == 2, out
    assert "Traceback" not in out, out
    for fragment in fragments:
        assert fragment in out, out


def ok_consultation(path: Path) -> Path:
    path.write_bytes(TWO_BAD.replace("来月のどこか".encode(), b"2025-01-21").replace("架空県".encode(), "茨城県".encode()))
    return path


# ── a. workbooks out of bounds are refused before they are read ─────────────────────────────

def test_sparse_far_cell_workbook_is_refused_without_padding(db, tmp_path):
    """One value at XFD1048576 in a 5 KB file: refused naming file, sheet, the row and the limit. Run under a 2 GB
    address-space cap: reading the sheet padded to 16,384 columns (the old behaviour) dies of MemoryError."""
    path = upload_files.sparse_far_cell_xlsx(tmp_path / "伴走記録_XFD.xlsx")
    assert path.stat().st_size < 10_000
    digest = sha256(db)
    cap = 2 * 1024 ** 3
    r = run_etl("load", str(path), "--db", str(db),
                preexec=lambda: resource.setrlimit(resource.RLIMIT_AS, (cap, cap)))
    assert_fault(r, "伴走記録_XFD.xlsx", "シート「伴走記録」", "1,048,576 行目", "上限 500,000 行", "DX_XLSX_MAX_ROWS")
    assert sha256(db) == digest


def test_faked_dimension_and_formatted_far_cell_read_only_the_values(tmp_path):
    """<dimension> says A1:XFD1048576 and a far cell is formatted but empty: the sheet's one data row is read."""
    path = upload_files.faked_dimension_xlsx(tmp_path / "伴走記録_dim.xlsx")
    wb = openpyxl.load_workbook(path, read_only=True)
    assert wb.active.max_column == 16384 and wb.active.max_row == 1048576   # what openpyxl would pad to
    wb.close()
    report = check_files([path], tmp_path / "none.duckdb")
    assert not report.unreadable
    assert [(t.kind, t.rows_read) for t in report.tables] == [("sessions", 1)]


def test_row_column_and_cell_limits_name_the_sheet_and_the_setting(tmp_path, monkeypatch):
    many = upload_files.many_rows_xlsx(tmp_path / "伴走記録_多い.xlsx", 30)
    assert [t.rows_read for t in check_files([many], tmp_path / "none.duckdb").tables] == [30]
    monkeypatch.setenv("DX_XLSX_MAX_ROWS", "20")
    (error,) = check_files([many], tmp_path / "none.duckdb").unreadable
    assert error.startswith("伴走記録_多い.xlsx: シート「伴走記録」の行数が上限を超えています（31 行目に値があります、上限 20 行")
    monkeypatch.delenv("DX_XLSX_MAX_ROWS")
    monkeypatch.setenv("DX_XLSX_MAX_CELLS", "100")            # 31 rows × 5 columns
    (error,) = check_files([many], tmp_path / "none.duckdb").unreadable
    assert "セル数が上限を超えています（31 行 × 5 列、上限 100 セル、環境変数 DX_XLSX_MAX_CELLS）" in error
    monkeypatch.delenv("DX_XLSX_MAX_CELLS")

    wide = tmp_path / "伴走記録_広い.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "伴走記録"
    ws.append(upload_files.SESSION_HEADER)
    ws.append(["E-1", 1, "2024-05-01", "2時間", "架空"])
    ws.cell(row=2, column=300, value="メモ")
    wb.save(wide)
    (error,) = check_files([wide], tmp_path / "none.duckdb").unreadable
    assert f"列数が上限を超えています（{column_letters(300)} 列（300 列目）に値があります、上限 256 列" in error


def test_long_cell_and_large_unpacked_workbook_are_refused(tmp_path, monkeypatch):
    path = tmp_path / "伴走記録_長い.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "伴走記録"
    ws.append(upload_files.SESSION_HEADER)
    ws.append(["E-1", 1, "2024-05-01", "2時間", "あ" * 200_000])
    wb.save(path)
    assert path.stat().st_size < 100_000                      # compresses well
    monkeypatch.setenv("DX_MAX_CELL_CHARS", "1000")          # (openpyxl keeps at most 32,767 of the 200,000)
    (error,) = check_files([path], tmp_path / "none.duckdb").unreadable
    assert "2 行目「担当ITC」: セルの文字数が上限を超えています（32,767 文字、上限 1,000 文字" in error
    monkeypatch.delenv("DX_MAX_CELL_CHARS")
    for i in range(2, 60):
        ws.append(["E-1", i, "2024-05-01", "2時間", "あ" * 30_000])
    wb.save(path)
    assert path.stat().st_size < 512 * 1024
    monkeypatch.setenv("DX_MAX_FILE_MB", "1")                # the file is under it, its 5 MB unpacked are not
    (error,) = check_files([path], tmp_path / "none.duckdb").unreadable
    assert "展開後の大きさが上限を超えています" in error and "DX_MAX_FILE_MB" in error


# ── b. CSV fields and lines ─────────────────────────────────────────────────────────

@pytest.mark.slow  # files of several MB
@pytest.mark.parametrize("make, name, fragment", [
    # under SMALL_CSV_BYTES (etl/extract.py) Python's csv module reads the file, above it DuckDB's reader
    (lambda p: upload_files.long_field_csv(p, 140_000, "x"), "伴走記録_長い欄.csv",
     "3 行目付近: 1つの欄が長すぎます（上限 131,072 文字"),
    (lambda p: upload_files.long_field_csv(p), "伴走記録_長い欄_中.csv", "3 行目: 1つの欄が長すぎます（上限 131,072 文字"),
    (lambda p: upload_files.long_line_csv(p), "伴走記録_長い行.csv", "3 行目が長すぎます（1行の上限 2 MB）"),
    # ≥ 8 MB: DuckDB's parallel reader (etl/extract.py), which raises its own English error for the line
    (lambda p: upload_files.long_line_csv(p, pad_to=9 * 1024 * 1024), "伴走記録_長い行_大.csv", "3 行目が長すぎます"),
])
def test_csv_long_field_or_line_is_exit_2_naming_file_and_row(db, tmp_path, make, name, fragment):
    path = make(tmp_path / name)
    digest = sha256(db)
    assert_fault(run_etl("load", str(path), "--db", str(db)), f"{name}: {fragment}")
    assert_fault(run_etl("check", str(path), "--db", str(db)), f"{name}: {fragment}")
    assert sha256(db) == digest


def test_csv_long_field_in_a_large_file_names_its_row(tmp_path):
    path = tmp_path / "伴走記録_長い欄_大.csv"
    with open(path, "w", encoding="utf-8") as f:
        f.write("案件ID,回,実施日,担当ITC\n" + "E-1,1,2024-05-01,架空\n" * 450_000)
        f.write("E-1,2,2024-05-02," + "長" * 140_000 + "\n")
    assert path.stat().st_size > 8 * 1024 * 1024
    (error,) = check_files([path], tmp_path / "none.duckdb").unreadable
    assert error.startswith("伴走記録_長い欄_大.csv: 450,002 行目: 1つの欄が長すぎます")


# ── c. faults ─────────────────────────────────────────────────────────────────────

@contextlib.contextmanager
def mounted_tmpfs(where: Path, size: int | None = None):
    """A tmpfs of `size` bytes at `where` (root only); skips the test when mounting is not allowed."""
    where.mkdir()
    opts = ["-o", f"size={size}"] if size else []
    r = subprocess.run(["mount", "-t", "tmpfs", *opts, "tmpfs", str(where)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode(errors='replace').strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_disk_full_during_a_load_is_exit_2_and_changes_nothing(records_db_master, tmp_path):
    """A real full disk: a tmpfs with room for the database but not for its copy."""
    size = records_db_master.stat().st_size
    with mounted_tmpfs(tmp_path / "small", size=size * 3 // 2) as disk:
        db = disk / "dx.duckdb"
        shutil.copyfile(records_db_master, db)
        digest = sha256(db)
        r = run_etl("load", str(ok_consultation(tmp_path / NAME)), "--db", str(db))
        assert_fault(r, f"データベース {db} に書き込めませんでした（ディスクの空きが足りないか", "データベースは変更していません")
        assert sha256(db) == digest
        assert sorted(p.name for p in disk.iterdir()) == ["dx.duckdb", "dx.duckdb.lock"]   # no temp copy left


def test_read_only_database_folder_is_exit_2(records_db_master, tmp_path):
    with mounted_tmpfs(tmp_path / "ro") as folder:
        db = folder / "dx.duckdb"
        shutil.copyfile(records_db_master, db)
        digest = sha256(db)
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        r = run_etl("load", str(ok_consultation(tmp_path / NAME)), "--db", str(db))
        assert_fault(r, "書き込めませんでした（フォルダに書き込む権限がないか、読み取り専用です）")
        assert sha256(db) == digest


def truncated(master: Path, path: Path) -> Path:
    shutil.copyfile(master, path)
    os.truncate(path, master.stat().st_size // 2)
    return path


def test_truncated_database_is_exit_2_for_load_and_check(records_db_master, tmp_path):
    db = truncated(records_db_master, tmp_path / "dx.duckdb")
    digest = sha256(db)
    csv_path = ok_consultation(tmp_path / NAME)
    for verb in ("load", "check"):
        assert_fault(run_etl(verb, str(csv_path), "--db", str(db)), f"データベース {db} を開けません: ファイルが途中で切れています")
    assert sha256(db) == digest


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_damaged_database_shows_a_japanese_message_on_every_page(records_db_master, tmp_path, monkeypatch, damage):
    db = tmp_path / "dx.duckdb"
    if damage == "truncated":
        truncated(records_db_master, db)
    else:
        db.write_bytes(os.urandom(64 * 1024))
    monkeypatch.setenv("DX_DB_PATH", str(db))
    for page in PAGES:
        at = open_page(page, timeout=60)
        at.run()
        assert not at.exception, (page.name, at.exception)
        errors = [e.value for e in at.error]
        assert any(f"データベース（{db}）を開けません" in e for e in errors), (page.name, errors)


def test_symlinked_database_keeps_pointing_at_its_target(records_db_master, tmp_path):
    target = tmp_path / "data" / "dx.duckdb"
    target.parent.mkdir()
    shutil.copyfile(records_db_master, target)
    link = tmp_path / "current.duckdb"
    link.symlink_to(target)
    before = count(target, "consultations")
    r = run_etl("load", str(ok_consultation(tmp_path / NAME)), "--db", str(link))
    assert r.returncode == 0, r.stdout + r.stderr
    assert link.is_symlink() and link.resolve() == target.resolve()
    assert count(target, "consultations") == before + 4
    assert not list(tmp_path.glob("current.duckdb.tmp-*")) and not list(target.parent.glob("*.tmp-*"))


def test_a_100_character_japanese_file_name_uploads_and_loads(db, private_tmp):
    name = "相談記録_" + "令和六年度第三四半期分の追加記録" * 6
    name = name[:96] + ".csv"
    assert len(name) == 100 and len(name.encode()) > 255
    at = open_page(INTAKE_PAGE)
    at.run()
    at.file_uploader(key="intake_files").set_value([(name, TWO_BAD, "text/csv")])
    at.run()
    assert not at.exception, at.exception
    assert any(m.value == f"**{name}**" for m in at.markdown)
    assert [m.value for m in at.metric][:3] == ["4", "2", "2"]
    at.button(key="intake_load").click().run()
    assert not at.exception, at.exception
    assert query(db, "SELECT DISTINCT source_file FROM consultations WHERE consultation_id = 'T-001'") == [(name,)]


# ── d. uploaded files do not outlive their worker ──────────────────────────────────────────

def upload_folders(root: Path) -> list[Path]:
    return sorted(root.glob("dx-intake-*"))


def test_upload_folder_exists_only_while_the_worker_runs(db, private_tmp):
    seen = []
    v = intake.validate_uploads([(NAME, TWO_BAD)], db, progress=lambda m: seen.append(upload_folders(private_tmp)))
    assert seen and all(len(folders) == 1 for folders in seen)           # saved while validating …
    assert upload_folders(private_tmp) == []                             # … removed when validation ends
    assert intake.load_validated(v, db).loaded
    assert upload_folders(private_tmp) == []


def test_a_validated_upload_neither_loaded_nor_cancelled_leaves_nothing(db, private_tmp):
    at = open_page(INTAKE_PAGE)
    at.run()
    at.file_uploader(key="intake_files").set_value([(NAME, TWO_BAD, "text/csv")])
    at.run()
    assert not at.exception and at.button(key="intake_load").label == "有効な行を取り込む"
    assert upload_folders(private_tmp) == []          # the browser session may end now: nothing to clean up


def test_start_up_sweeps_only_old_upload_folders(private_tmp):
    old, new = private_tmp / "dx-intake-old", private_tmp / "dx-intake-new"
    for folder in (old, new):
        (folder / "000").mkdir(parents=True)
        (folder / "000" / "upload_0.csv").write_text("x")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    other = private_tmp / "someone-else"
    other.mkdir()
    os.utime(other, (two_hours_ago, two_hours_ago))
    assert intake.sweep_stale_uploads() == [old]
    assert upload_folders(private_tmp) == [new] and other.exists()


# ── f. the worker process ────────────────────────────────────────────────────────────

@pytest.mark.slow
def test_worker_out_of_memory_is_a_japanese_message_and_changes_nothing(db, private_tmp, monkeypatch):
    digest = sha256(db)
    v = intake.validate_uploads([(NAME, TWO_BAD)], db)
    # Python with DuckDB needs 120–150 MB of address space to start here (ulimit -v, eight tries each): under
    # 100 MB the worker cannot import DuckDB at all; at 300 MB a small validation sometimes fits
    monkeypatch.setenv("DX_WORKER_MEMORY_MB", "100")
    with pytest.raises(intake.WorkerFailed, match=r"メモリの上限（100 MB、環境変数 DX_WORKER_MEMORY_MB）"):
        intake.load_validated(v, db)
    assert sha256(db) == digest and upload_folders(private_tmp) == []
    at = open_page(INTAKE_PAGE)
    at.run()
    at.file_uploader(key="intake_files").set_value([(NAME, TWO_BAD, "text/csv")])
    at.run()
    assert not at.exception, at.exception
    assert any("メモリの上限（100 MB" in e.value and "データベースは変更していません" in e.value for e in at.error)
    assert sha256(db) == digest


@pytest.mark.slow
def test_worker_killed_during_a_load_changes_nothing(db, private_tmp, tmp_path, monkeypatch):
    """SIGKILL (what the kernel's OOM killer sends) once the copy is written: the page's process survives, says
    so in Japanese, and the database is the one before."""
    v = intake.validate_uploads([(NAME, TWO_BAD)], db)
    digest = sha256(db)
    marker = tmp_path / "paused"
    monkeypatch.setenv("DX_LOAD_PAUSE_AT", "written")
    monkeypatch.setenv("DX_LOAD_PAUSE_FILE", str(marker))
    outcome = {}

    def load():
        try:
            intake.load_validated(v, db)
        except intake.WorkerFailed as e:
            outcome["error"] = str(e)

    thread = threading.Thread(target=load)
    thread.start()
    deadline = time.monotonic() + 120
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    pid = int(marker.read_text().split()[0])
    assert pid != os.getpid()                                  # the load runs in another process
    os.kill(pid, signal.SIGKILL)
    thread.join(60)
    assert "中止しました。データベースは変更していません" in outcome["error"]
    assert sha256(db) == digest and upload_folders(private_tmp) == []
    assert count(db, "consultations") > 0                             # still a whole, readable database


def test_a_second_validation_waits_and_says_so(db, private_tmp):
    messages: list[str] = []
    result = {}
    with open(private_tmp / intake.WORKER_LOCK_NAME, "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)                        # another validation or load is running
        thread = threading.Thread(target=lambda: result.setdefault(
            "v", intake.validate_uploads([(NAME, TWO_BAD)], db, progress=messages.append)))
        thread.start()
        deadline = time.monotonic() + 30
        while not messages and time.monotonic() < deadline:
            time.sleep(0.05)
        assert messages == ["待ち: 別の検証・取込が実行中です。終わりしだい始めます"]
        assert "v" not in result
        fcntl.flock(lock, fcntl.LOCK_UN)
    thread.join(120)
    assert [t.rows_read for t in result["v"].report.tables] == [4]
    assert any(m.startswith("読込中: " + NAME) for m in messages) and "検証中" in messages


# ── e. look-alike characters in keys; long text in xlsx exports ─────────────────────────────────────

def test_keys_differing_only_by_look_alike_characters_are_one_key(tmp_path):
    db = tmp_path / "dx.duckdb"
    eng = write_engagements(tmp_path / "支援案件.csv", ids=("E‐001", "E−002"))            # U+2010, U+2212
    sessions = write_csv(tmp_path / "伴走記録.csv", ["案件ID", "回", "実施日"], [
        ["E-001", "1", "2022-10-05"], ["E-0\u200b01", "2", "2022-10-19"], ["E－002", "1", "2022-11-02"],
        ["\ufeffE\u2011002", "2", "2022-11-16"], ["E-001\u00a0", "3", "2022-11-30"]])
    report = load_files([eng, sessions], db)
    assert report.loaded and not report.errors, [p.reason for p in report.errors]
    assert query(db, "SELECT engagement_id FROM engagements ORDER BY 1") == [("E-001",), ("E-002",)]
    assert query(db, "SELECT engagement_id, count(*) FROM sessions GROUP BY 1 ORDER BY 1") == [("E-001", 3), ("E-002", 2)]


def test_xlsx_export_says_when_it_cut_text(tmp_path):
    long_text = "長" * 40_000
    data = exports.to_xlsx({"記録": pd.DataFrame({"内容": [long_text, "短い"]})}, {"表題": "テスト"})
    wb = openpyxl.load_workbook(io.BytesIO(data))
    cell = wb["記録"]["A2"].value
    assert len(cell) == exports.EXCEL_CELL_MAX and cell.endswith(exports.CUT_MARK)
    assert cell.startswith("長" * 30_000) and wb["記録"]["A3"].value == "短い"
    notes = {r[0]: r[1] for r in wb["条件"].iter_rows(min_row=2, values_only=True)}
    assert "32,767 文字" in notes["注意"] and "記録 1 セル" in notes["注意"] and exports.CUT_MARK in notes["注意"]
    plain = openpyxl.load_workbook(io.BytesIO(exports.to_xlsx({"記録": pd.DataFrame({"内容": ["短い"]})}, {})))
    assert "注意" not in {r[0] for r in plain["条件"].iter_rows(values_only=True)}
