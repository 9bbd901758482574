"""データ取込 (pages/4_データ取込.py) in AppTest, plus its logic (monitor/intake.py) with real files.

Streamlit 1.67's AppTest can upload files (``at.file_uploader(key=…).set_value([(name, bytes, mime)])``), so the
page is driven through its real st.file_uploader; no test-only hook is involved.
"""
from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import openpyxl
import pytest
from streamlit.testing.v1 import AppTest

import etl.load
from etl.load import writer_lock
from monitor import intake
from tests.support.etl_helpers import count, query, sha256
from tests.support.pages import APP, ROOT, run_page
from tests.support.pages import INTAKE_PAGE as PAGE
from tests.support.upload_files import NAME, TWO_BAD, consultation_file

BAD = ROOT / "tests" / "files" / "bad"
FY = 2024                     # the sample programme's latest fiscal year: the overview's default selection




@pytest.fixture()
def db(records_db_master, tmp_path, monkeypatch) -> Path:
    path = tmp_path / "dx.duckdb"
    shutil.copyfile(records_db_master, path)
    monkeypatch.setenv("DX_DB_PATH", str(path))
    return path


def page() -> AppTest:
    return run_page(PAGE)


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="intake_files").set_value([(name, data, "text/csv")])
    at.run()
    assert not at.exception, at.exception
    return at


def frame_with(at: AppTest, column: str):
    frames = [d.value for d in at.dataframe if column in d.value.columns]
    assert frames, [list(d.value.columns) for d in at.dataframe]
    return frames[0]


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def overview_consultations() -> int:
    at = run_page(APP)
    return int(re.sub(r"\D", "", next(m.value for m in at.metric if m.label == "相談件数")))


def sql_consultations(db: Path) -> int:
    return query(db, "SELECT count(*) FROM consultations WHERE fiscal_year = ?", [FY])[0][0]


# ── the page ──────────────────────────────────────────────────────────────────

def test_upload_shows_both_bad_rows_with_reasons_and_writes_nothing(db):
    digest = sha256(db)
    at = upload(page(), NAME, TWO_BAD)
    problems = frame_with(at, "理由")
    errors = problems[problems["区分"].str.startswith("エラー")]
    assert list(zip(errors["ファイル"], errors["行"], errors["列"], errors["値"])) == [
        (NAME, 3, "相談日", "来月のどこか"), (NAME, 5, "都道府県", "架空県")]
    assert "日付として読めません" in errors.iloc[0]["理由"]
    assert "都道府県名として認識できません" in errors.iloc[1]["理由"]
    assert (metric(at, "読込行数"), metric(at, "取込予定"), metric(at, "不合格")) == ("4", "2", "2")
    assert at.button(key="intake_load").label == "有効な行を取り込む"
    assert not at.button(key="intake_load").disabled
    assert sha256(db) == digest           # validating never writes
    # the reason comes right after 区分, 行 and 列, and those four fit the main area at 1,024 px with the sidebar
    assert list(problems.columns[:4]) == ["区分", "行", "列", "理由"]
    from monitor.render.intake import PROBLEM_COLUMNS  # noqa: PLC0415
    from monitor.ui import MAIN_AREA_AT_1024_PX  # noqa: PLC0415
    widths = [PROBLEM_COLUMNS[c]["width"] for c in problems.columns[:4]]
    assert sum(widths) <= MAIN_AREA_AT_1024_PX, widths


def test_loading_valid_rows_changes_the_overview(db):
    before = overview_consultations()
    assert before == sql_consultations(db)
    at = upload(page(), NAME, TWO_BAD)
    at.button(key="intake_load").click().run()
    assert not at.exception, at.exception
    assert any("相談記録: 2 行を取り込みました" in s.value for s in at.success), [s.value for s in at.success]
    assert sorted(r[0] for r in query(db, "SELECT consultation_id FROM consultations WHERE consultation_id LIKE 'T-%'")) \
        == ["T-001", "T-003"]
    after = overview_consultations()         # a new AppTest session: no restart, the db version changed
    assert after == before + 2 == sql_consultations(db)
    # history and rejected rows are shown below
    history = frame_with(at, "sha256")
    assert history.iloc[0]["ファイル"] == NAME and history.iloc[0]["不合格行数"] == 2
    assert history.iloc[0]["sha256"] == intake.hashlib.sha256(TWO_BAD).hexdigest()
    assert at.selectbox(key="intake_rejected_load").value == history.iloc[0]["取込ID"]


def test_progress_reaches_the_page_with_its_stage(db):
    """The worker's progress crosses the process boundary as (stage, text); the bar follows the stage."""
    seen = []
    v = intake.validate_uploads([(NAME, TWO_BAD)], db, progress=seen.append)
    assert [m.stage for m in seen] == ["read", "validate"]
    assert seen == [f"読込中: {NAME}", "検証中"]
    assert [intake.progress_fraction(m) for m in seen] == [0.1, 0.3]
    seen.clear()
    assert intake.load_validated(v, db, progress=seen.append).loaded
    assert {m.stage for m in seen} == {"read", "validate", "copy", "write", "marts"}
    assert [intake.progress_fraction(m) for m in seen] == sorted(intake.progress_fraction(m) for m in seen)


def test_cancel_writes_nothing(db):
    digest = sha256(db)
    at = upload(page(), NAME, TWO_BAD)
    at.button(key="intake_cancel").click().run()
    assert not at.exception
    assert any("何も書き込んでいません" in i.value for i in at.info)
    assert sha256(db) == digest
    assert not [d for d in at.dataframe if "理由" in d.value.columns]


def test_load_busy_shows_a_clear_message_and_changes_nothing(db, monkeypatch):
    monkeypatch.setattr(etl.load, "LOCK_WAIT_SECONDS", 0.0)
    monkeypatch.setenv("DX_LOCK_WAIT", "0")         # the load runs in the worker process
    digest = sha256(db)
    at = upload(page(), NAME, TWO_BAD)
    with writer_lock(db):                    # another load holds the database
        at.button(key="intake_load").click().run()
    assert not at.exception
    assert any("別の取込が実行中です" in e.value for e in at.error), [e.value for e in at.error]
    assert sha256(db) == digest


def test_unreadable_file_is_named_and_load_disabled(db):
    at = upload(page(), "支援案件_ブックではない.xlsx", (BAD / "支援案件_ブックではない.xlsx").read_bytes())
    assert any(e.value.startswith("支援案件_ブックではない.xlsx: Excel ブック（.xlsx）として開けません") for e in at.error)
    assert at.button(key="intake_load").disabled


def test_restricted_view_loads_within_its_scope_and_lists_its_rejected_rows(db, monkeypatch):
    """Under DX_ALLOWED_PREFECTURES: the uploader stays and states the scope of a load; the rejected rows listed are
    those within the scope only (TWO_BAD's bad rows: one 茨城県's, one of an unknown prefecture, which no scoped
    reader sees), the history of files and counts
    stays; without the setting the same database lists them."""
    v = intake.validate_uploads([(NAME, TWO_BAD)], db)
    assert intake.load_validated(v, db).loaded
    v.discard()
    assert intake.loads_with_rejections(db)
    unrestricted = page()
    assert unrestricted.get("file_uploader") and unrestricted.selectbox(key="intake_rejected_load")
    monkeypatch.setenv("DX_ALLOWED_PREFECTURES", "長野県")
    digest = sha256(db)
    at = page()
    assert at.get("file_uploader")
    assert any(i.value == "この取込は 長野県 の記録だけを変更できます。範囲外の行は不合格になります。" for i in at.info)
    assert not [s for s in at.selectbox if s.key == "intake_rejected_load"]
    assert intake.loads_with_rejections(db, ("長野県",)) == []
    [(load_id, label)] = intake.loads_with_rejections(db, ("茨城県",))
    assert "不合格 1 行" in label
    assert list(intake.rejected_frames(load_id, db, ("茨城県",))["相談記録"]["相談ID"]) == ["T-002"]
    assert any("閲覧範囲（長野県）の行だけを示します" in c.value for c in at.caption)
    assert frame_with(at, "sha256").iloc[0]["ファイル"] == NAME
    assert sha256(db) == digest


# ── the logic with real files ────────────────────────────────────────────────────────

def test_rejected_rows_roundtrip_fix_and_reupload(db, tmp_path):
    """The rejected rows download holds the original columns + 理由 + 行; fixed and re-uploaded they load, and
    nothing is duplicated."""
    v = intake.validate_uploads([(NAME, TWO_BAD)], db)
    report = intake.load_validated(v, db)
    v.discard()
    assert report.loaded
    load_id = intake.loads_with_rejections(db)[0][0]
    frames = intake.rejected_frames(load_id, db)
    assert frames.keys() == {"相談記録"}
    df = frames["相談記録"]
    assert list(df.columns[-3:]) == ["理由", "行", "元ファイル"]
    assert list(df["行"]) == [3, 5] and list(df["相談ID"]) == ["T-002", "T-004"]
    assert "日付として読めません" in df.iloc[0]["理由"]
    # the pending (validation-only) download has the same rows
    pending = intake.validate_uploads([(NAME, TWO_BAD)], db)
    assert pending.pending_rejected["相談記録"][["相談ID", "行", "理由"]].equals(df[["相談ID", "行", "理由"]])
    pending.discard()
    data = intake.rejected_xlsx(frames, "test")
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb["相談記録"]
    headers = [c.value for c in ws[1]]
    ws.cell(row=2, column=headers.index("相談日") + 1, value="2025-01-27")
    ws.cell(row=3, column=headers.index("都道府県") + 1, value="茨城県")
    fixed = tmp_path / "修正.xlsx"
    wb.save(fixed)
    before = count(db, "consultations")
    v2 = intake.validate_uploads([("修正.xlsx", fixed.read_bytes())], db)
    assert not v2.report.errors and v2.rows_to_load == 2
    assert any("未知の列は取り込みません: 理由, 行, 元ファイル" in w for w in v2.report.warnings)
    intake.load_validated(v2, db)
    v2.discard()
    assert count(db, "consultations") == before + 2
    # the same again: replaces, never duplicates
    v3 = intake.validate_uploads([("修正.xlsx", fixed.read_bytes())], db)
    intake.load_validated(v3, db)
    v3.discard()
    assert count(db, "consultations") == before + 2


def test_rejected_xlsx_never_holds_a_formula(db):
    evil = consultation_file([["=HYPERLINK(\"http://x\")", "だめな日付", "@SUM(1)", "茨城県", "", "+1", "相談会"]])
    v = intake.validate_uploads([("evil.csv", evil)], db)
    data = intake.rejected_xlsx(v.pending_rejected, "test")
    v.discard()
    ws = openpyxl.load_workbook(io.BytesIO(data))["相談記録"]
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            assert cell.data_type != "f", cell.value


def test_uploads_keep_names_and_never_escape_the_folder(tmp_path):
    names = intake.save_uploads([("../../etc/伴走記録.csv", b"x"), ("伴走記録.csv", b"y")], tmp_path)
    assert sorted(names.values()) == ["伴走記録.csv", "伴走記録.csv"]
    for path in names:
        assert tmp_path in path.parents
    assert sorted(p.read_bytes() for p in names) == [b"x", b"y"]


def test_template_download_is_the_etl_template():
    wb = openpyxl.load_workbook(io.BytesIO(intake.template_bytes()))
    assert {"支援案件", "伴走記録", "相談記録", "セミナー・研修", "目標値"} <= set(wb.sheetnames)
