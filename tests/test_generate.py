"""etl/generate.py: deterministic for a seed, the requested scale, national spread, and files that load with
zero rejected rows through the real loader (load_files) into a temporary database."""
from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest

from etl.generate import FILE_NAMES, generate, main
from etl.kinds import KINDS
from etl.load import load_files


def _digests(folder: Path) -> dict[str, str]:
    return {n: hashlib.sha256((folder / n).read_bytes()).hexdigest() for n in FILE_NAMES.values()}


def _csv(path: Path):
    return f"read_csv('{path.as_posix()}', header=true, all_varchar=true)"


@pytest.fixture(scope="module")
def national(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("gen20k")
    return out, generate(out, 20_000, seed=3)


def test_same_seed_same_bytes_and_thread_count_does_not_matter(tmp_path):
    a = generate(tmp_path / "a", 3_000, seed=7)
    b = generate(tmp_path / "b", 3_000, seed=7, threads=1)
    assert a == b
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")
    generate(tmp_path / "c", 3_000, seed=8)
    assert _digests(tmp_path / "a")["伴走記録.csv"] != _digests(tmp_path / "c")["伴走記録.csv"]


@pytest.mark.parametrize("n", [1, 500, 20_000])
def test_requested_scale(tmp_path, n, national):
    counts = national[1] if n == 20_000 else generate(tmp_path, n)
    assert counts["sessions"] == n
    assert counts["consultations"] == n
    if n >= 500:   # engagements ≈ sessions / 9 (+4 % municipal support); at tiny n the minimums dominate
        assert n / 12 <= counts["engagements"] <= n / 7
    assert counts["events"] == max(50, n // 50)
    assert counts["targets"] == 4 * 47 * 5 + 4 * 2


def test_files_use_the_japanese_headers(national):
    out, _ = national
    for kind, name in FILE_NAMES.items():
        header = (out / name).read_text(encoding="utf-8").split("\n", 1)[0]
        assert header.split(",") == [c.label for c in KINDS[kind].columns if c.name != "withdraw"]  # 削除: corrections only


def test_national_spread_and_skew(national):
    out, _ = national
    con = duckdb.connect()
    eng, cons, ses = (_csv(out / FILE_NAMES[k]) for k in ("engagements", "consultations", "sessions"))
    assert con.execute(f"SELECT count(DISTINCT 都道府県) FROM {eng}").fetchall()[0][0] >= 40
    assert con.execute(f"SELECT count(DISTINCT 都道府県) FROM {cons}").fetchall()[0][0] >= 40
    assert con.execute(f"SELECT count(DISTINCT 市区町村) FROM {cons}").fetchall()[0][0] >= 500
    # skewed, not uniform: the busiest prefecture has several times the median's consultations
    top, median = con.execute(f"""SELECT max(n), median(n) FROM (SELECT count(*) n FROM {cons} GROUP BY 都道府県)""").fetchall()[0]
    assert top > 4 * median
    # the most frequent consultation theme is far ahead of the least frequent one (Zipf-like)
    hi, lo = con.execute(f"SELECT max(n), min(n) FROM (SELECT count(*) n FROM {cons} GROUP BY 相談テーマ)").fetchall()[0]
    assert hi > 8 * lo
    # consortia named after their prefecture, companies fictional
    assert con.execute(f"""SELECT count(*) FROM {eng} WHERE 支援種別 = '伴走支援'
                           AND (コンソーシアム <> 都道府県 || 'DX支援コミュニティ' OR 支援先名 NOT LIKE '%（架空）')""").fetchall()[0][0] == 0
    assert con.execute(f"SELECT count(*) FROM {ses} WHERE 担当ITC NOT LIKE '%（架空）%'").fetchall()[0][0] == 0


def test_output_loads_with_zero_rejected_rows_and_is_consistent(tmp_path):
    src = tmp_path / "records"
    counts = generate(src, 5_000, seed=2)
    db = tmp_path / "dx.duckdb"
    report = load_files([src], db, fresh=True)
    assert report.loaded, [p.reason for p in report.errors[:5]] + report.unreadable
    assert not report.errors
    assert sum(t.rows_rejected for t in report.tables) == 0
    assert report.rows_by_kind() == counts
    with duckdb.connect(str(db), read_only=True) as con:
        # stages in order and dates increasing within every engagement; sessions after the start date
        bad = con.execute("""
            SELECT count(*) FROM (
                SELECT stage_no < lag(stage_no) OVER w AS stage_back, date <= lag(date) OVER w AS date_back
                FROM sessions WINDOW w AS (PARTITION BY engagement_id ORDER BY session_no))
            WHERE stage_back OR date_back""").fetchall()[0][0]
        assert bad == 0
        assert con.execute("""SELECT count(*) FROM sessions s JOIN engagements e USING (engagement_id)
                              WHERE s.date < e.start_date""").fetchall()[0][0] == 0
        assert con.execute("SELECT count(*) FROM sessions WHERE stage_no IS NULL").fetchall()[0][0] == 0
        # session numbers are 1..n without gaps; completed 伴走支援 has all 10 and a DX計画書
        assert con.execute("""SELECT count(*) FROM (SELECT engagement_id, max(session_no) m, count(*) n
                              FROM sessions GROUP BY 1) WHERE m <> n""").fetchall()[0][0] == 0
        assert con.execute("""SELECT count(*) FROM engagements e WHERE support_type = '伴走支援' AND status = '完了'
                              AND (deliverable IS NULL OR (SELECT count(*) FROM sessions s
                                   WHERE s.engagement_id = e.engagement_id) <> 10)""").fetchall()[0][0] == 0
        statuses = dict(con.execute("SELECT status, count(*) FROM engagements GROUP BY 1").fetchall())
        assert {"完了", "実施中", "中止"} <= statuses.keys()
        years = {r[0] for r in con.execute("SELECT DISTINCT fiscal_year FROM sessions").fetchall()}
        assert years == {2022, 2023, 2024, 2025}


def test_command_line(tmp_path, capsys):
    assert main(["--sessions", "200", "--seed", "5", str(tmp_path)]) == 0
    assert "伴走記録 200 行" in capsys.readouterr().out
    assert all((tmp_path / n).exists() for n in FILE_NAMES.values())
