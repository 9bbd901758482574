"""python -m etl: help, exit codes 0/1/2, the per-file summary, aggregated warnings, the sample verb."""
from __future__ import annotations

import ast
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from etl.cli import READ_SIDE_VERBS, _interrupted, main
from tests.support.etl_helpers import count, folder_listing, query, sha256, write_csv, write_engagements

ROOT = Path(__file__).resolve().parent.parent
FILES = Path(__file__).parent / "files"


def run(*args: str, env_db: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ}
    env.pop("DX_DB_PATH", None)
    if env_db:
        env["DX_DB_PATH"] = str(env_db)
    return subprocess.run([sys.executable, "-m", "etl", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("verb", [None, "load", "check", "sample", "template"])
def test_help(verb):
    result = run(*([verb] if verb else []), "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("使い方: python -m etl")
    assert "show this help" not in result.stdout and "options:" not in result.stdout
    if verb is None:
        for v in ("load", "check", "sample", "template"):
            assert v in result.stdout
    if verb in ("load", "check"):
        assert "--db" in result.stdout
    if verb == "load":
        assert "--accept-valid" in result.stdout


def test_no_verb_is_a_usage_error():
    result = run()
    assert result.returncode == 2 and "使い方:" in result.stderr
    assert "エラー: 次の引数を指定してください: コマンド" in result.stderr and "required" not in result.stderr


@pytest.mark.parametrize("args, expected", [
    (["load"], "python -m etl load: エラー: 次の引数を指定してください: paths"),
    (["load", "x.csv", "--bogus"], "知らない引数があります: --bogus"),
    (["lod"], "'lod' は選べません（選べるもの: 'load', 'check'"),
    (["generate", "out", "--sessions", "many"], "'many' は整数として読めません"),
    (["load", "x.csv", "--db"], "引数 --db: 値を1つ指定してください"),
])
def test_usage_errors_are_japanese(args, expected):
    """argparse's own errors in Japanese, exit code 2, the usage line first; no English argparse text."""
    result = run(*args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("使い方: python -m etl")
    assert expected in result.stderr
    for english in ("usage:", "error:", "required", "unrecognized", "invalid", "expected"):
        assert english not in result.stderr, result.stderr


def test_load_exit_0_prints_summary_per_file_and_kind(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    write_engagements(src / "支援案件.csv", ids=("C-1", "C-2"), encoding="cp932")
    write_csv(src / "伴走記録.csv", ["案件ID", "回", "実施日"], [["C-1", "1", "2022-10-05"]])
    db = tmp_path / "out" / "dx.duckdb"
    assert main(["load", str(src), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "支援案件.csv: 支援案件（engagements） 読込 2 行 → 有効 2、不合格 0" in out
    assert "伴走記録.csv: 伴走記録（sessions） 読込 1 行 → 有効 1、不合格 0" in out
    assert "取り込みました: 支援案件 2 行、伴走記録 1 行" in out
    assert count(db, "engagements") == 2


def test_load_exit_1_on_a_bad_row_and_nothing_written(sample_db, tmp_path, capsys):
    path = write_csv(tmp_path / "支援案件.csv", ["案件ID", "年度", "支援種別", "支援先名", "支援先区分", "都道府県"],
                     [["B-1", "2022", "伴走支援", "架空A社", "企業", "茨城県"],
                      ["B-2", "2022", "伴走支援", "架空B社", "法人", "茨城県"]])
    digest = sha256(sample_db)
    assert main(["load", str(path), "--db", str(sample_db)]) == 1
    out = capsys.readouterr().out
    assert "エラー: 支援案件.csv 3行目 「支援先区分」: 「支援先区分」は 企業、自治体 のいずれかで指定してください（値: 法人）" in out
    assert "何も書き込んでいません" in out and "--accept-valid" in out
    assert sha256(sample_db) == digest
    # with --accept-valid the good row loads: exit 0
    assert main(["load", str(path), "--db", str(sample_db), "--accept-valid"]) == 0
    assert query(sample_db, "SELECT engagement_id FROM engagements") == [("B-1",)]
    assert query(sample_db, "SELECT row_no, column_name, value FROM rejected_rows") == [(3, "支援先区分", "法人")]


@pytest.mark.parametrize("name", ["binary.csv", "empty.csv", "not_a_workbook.xlsx", "no_header.csv"])
def test_load_exit_2_on_an_unreadable_file(tmp_path, capsys, name):
    db = tmp_path / "dx.duckdb"
    assert main(["load", str(FILES / name), "--db", str(db)]) == 2
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("読めないファイル: ")]
    assert len(lines) == 1 and name in lines[0]
    assert not db.exists()


def test_load_exit_2_on_a_missing_path_or_empty_folder(tmp_path, capsys):
    assert main(["load", str(tmp_path / "nope.csv"), "--db", str(tmp_path / "dx.duckdb")]) == 2
    assert "ファイルがありません" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["check", str(tmp_path / "empty"), "--db", str(tmp_path / "dx.duckdb")]) == 2
    assert "見つかりません" in capsys.readouterr().err
    assert folder_listing(tmp_path) == ["empty"]


def test_check_has_the_same_exit_codes_and_writes_nothing(tmp_path, capsys):
    db = tmp_path / "db" / "dx.duckdb"
    good = write_engagements(tmp_path / "支援案件.csv")
    bad = write_csv(tmp_path / "伴走記録.csv", ["案件ID", "回", "実施日"], [["E-1", "x", "2022-10-05"]])
    assert main(["check", str(good), "--db", str(db)]) == 0
    assert "検証のみ（書き込みなし）: 支援案件 1 行" in capsys.readouterr().out
    assert main(["check", str(good), str(bad), "--db", str(db)]) == 1
    assert "伴走記録.csv 2行目 「回」" in capsys.readouterr().out
    assert main(["check", str(FILES / "empty.csv"), "--db", str(db)]) == 2
    assert not (tmp_path / "db").exists()


def test_unreadable_database_is_exit_2(tmp_path, capsys):
    db = tmp_path / "dx.duckdb"
    db.write_bytes(b"not a database")
    assert main(["check", str(write_engagements(tmp_path / "支援案件.csv")), "--db", str(db)]) == 2
    assert "データベース" in capsys.readouterr().err
    assert db.read_bytes() == b"not a database"


def test_db_path_from_environment(tmp_path):
    db = tmp_path / "env" / "dx.duckdb"
    result = run("load", str(write_engagements(tmp_path / "支援案件.csv")), env_db=db)
    assert result.returncode == 0, result.stderr
    assert count(db, "engagements") == 1


def test_sample_reports_rows_per_kind_and_aggregates_warnings(tmp_path):
    db = tmp_path / "dx.duckdb"
    result = run("sample", "--db", str(db))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    m = re.search(r"^取り込みました: (.*)$", out, re.M)
    assert m
    loaded = dict((label, int(n.replace(",", ""))) for label, n in re.findall(r"([^、\s]+) ([\d,]+) 行", m.group(1)))
    assert loaded == {"支援案件": count(db, "engagements"), "伴走記録": count(db, "sessions"),
                      "相談記録": count(db, "consultations"), "セミナー・研修": count(db, "events"),
                      "目標値": count(db, "targets")}
    assert all(n > 0 for n in loaded.values())
    # progress goes to stderr; warnings are aggregated (one line per file, column, reason and value)
    assert "読込中" in result.stderr
    notes = [line for line in out.splitlines() if line.startswith("注意:")]
    assert len(notes) == len(set(notes)) and len(notes) < 50
    assert not any("…ほか" in line and "件の注意" in line for line in out.splitlines())
    # keyword-mapped theme texts are notes, one per distinct text and file with its rows
    assert any(line.startswith("メモ（対応づけ）: 伴走記録.csv 「テーマ」: ") and " → " in line for line in out.splitlines())
    for line in notes:
        if "テーマ分類" in line:
            assert re.search(r" — [\d,]+ 行（[\d、…]+行目）$", line), line


@pytest.mark.parametrize("args, expected", [
    (["--fiscal-year", "2030"], ["2030年度の記録はありません", "令和4年度（2022年度）", "令和6年度（2024年度）"]),
    (["--fiscal-year", "2024", "--consortium", "静岡県DX支援コミュニテイ"],
     ["「静岡県DX支援コミュニテイ」はありません", "茨城県DX支援コミュニティ", "長野県DX支援コミュニティ"]),
])
def test_report_refuses_a_year_without_records_or_an_unknown_consortium(sample_db, tmp_path, args, expected):
    """Today's behaviour was exit 0 and the 令和6年度 or whole-programme report under the wrong name."""
    out = tmp_path / "report.pdf"
    r = run("report", *args, "--db", str(sample_db), "--out", str(out))
    assert r.returncode == 2, r.stdout + r.stderr
    assert not out.exists()
    for text in expected:
        assert text in r.stderr
    assert "Traceback" not in r.stderr


def test_etl_imports_monitor_only_through_read_side_main():
    """etl/ is the write side: it imports monitor/ nowhere but in cli.read_side_main (the report and alerts verbs),
    the one exception docs/development.md names."""
    offenders = []
    for path in sorted((ROOT / "etl").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        allowed = {id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) and f.name == "read_side_main"
                   and path.name == "cli.py" for n in ast.walk(f)}
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            offenders += [f"{path.name}:{node.lineno} {n}" for n in names
                          if n.split(".")[0] == "monitor" and id(node) not in allowed]
            if isinstance(node, ast.Attribute) and node.attr == "import_module":
                offenders.append(f"{path.name}:{node.lineno} import_module")    # a hidden import
    assert offenders == []
    assert set(READ_SIDE_VERBS) == {"report", "alerts"}
    assert all(m.startswith("monitor.") for m in READ_SIDE_VERBS.values())


def run_report_pdf(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DX_DB_PATH"}
    return subprocess.run([sys.executable, "-m", "monitor.report_pdf", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_report_pdf_help_is_japanese():
    result = run_report_pdf("--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("使い方: python -m monitor.report_pdf")
    assert "オプション:" in result.stdout and "このヘルプを表示して終了します" in result.stdout
    assert "--fiscal-year 年度" in result.stdout
    for english in ("usage:", "options:", "show this help", "FISCAL_YEAR"):
        assert english not in result.stdout, result.stdout


@pytest.mark.parametrize("args, expected", [
    ([], "python -m monitor.report_pdf: エラー: 次の引数を指定してください: --fiscal-year, --out"),
    (["--fiscal-year", "令和4", "--out", "x.pdf"], "引数 --fiscal-year: '令和4' は整数として読めません"),
    (["--fiscal-year", "2022", "--out", "x.pdf", "--bogus"], "知らない引数があります: --bogus"),
])
def test_report_pdf_usage_errors_are_japanese(args, expected, tmp_path):
    result = run_report_pdf(*args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("使い方: python -m monitor.report_pdf")
    assert expected in result.stderr
    for english in ("usage:", "error:", "required", "unrecognized", "invalid"):
        assert english not in result.stderr, result.stderr
    assert not (ROOT / "x.pdf").exists()


class _InterruptException(Exception):
    """A stand-in with duckdb.InterruptException's name: _interrupted tells it by name (etl.cli does not import
    duckdb); the real class is checked too."""


_InterruptException.__name__ = "InterruptException"


@pytest.mark.parametrize("error, interrupted", [
    (KeyboardInterrupt(), True),
    (RuntimeError("Query interrupted"), True),        # what DuckDB raises when Ctrl-C lands in a running query
    (_InterruptException("INTERRUPT Error: Interrupted!"), True),
    (RuntimeError("something else"), False),
    (ValueError("Query interrupted"), False),
])
def test_what_counts_as_ctrl_c(error, interrupted):
    assert _interrupted(error) is interrupted


def test_duckdb_interrupt_exception_counts_as_ctrl_c():
    assert _interrupted(duckdb.InterruptException("Interrupted!"))


def test_ctrl_c_during_a_load_is_exit_130_with_a_sentence_and_the_database_as_it_was(tmp_path):
    """A terminal's Ctrl-C (SIGINT to the process group) while the load waits at a known point, after its records are
    written into the temp copy and before the swap: exit 130, one Japanese sentence, no traceback, the database and
    its folder as they were."""
    db = tmp_path / "db" / "dx.duckdb"
    db.parent.mkdir()
    assert main(["load", str(write_engagements(tmp_path / "支援案件.csv", ids=("E-1",))), "--db", str(db)]) == 0
    before, listing = sha256(db), folder_listing(db.parent)
    marker = tmp_path / "paused"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DX_LOAD_PAUSE_AT": "written", "DX_LOAD_PAUSE_FILE": str(marker)}
    proc = subprocess.Popen([sys.executable, "-m", "etl", "load", str(write_engagements(tmp_path / "支援案件_後.csv",
                                                                                          ids=("E-2",))),
                             "--db", str(db)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the load did not reach the pause point"
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, (out, err)
    assert "中断しました" in err and "Traceback" not in err, err
    assert sha256(db) == before and folder_listing(db.parent) == listing
    assert count(db, "engagements") == 1
