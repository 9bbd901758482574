"""The 報告 PDF at national scale (a generated programme: a consortium in every prefecture) and with a 100,000-character
field: a real `streamlit run`, Debian's Chromium via Playwright, the PDF read back with pdftotext (poppler-utils).
Every page carries the running header and footer (事業名, 年度, 対象, データ基準日, 出力日, page n / N), no page is
empty, every consortium of the 年度 is named in the company chart, and a huge field is cut with a visible note instead
of turning the report into a hundred pages. The expected facts come from plain SQL over the record tables."""
from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import unicodedata
from pathlib import Path

import duckdb
import pytest

from monitor.report_pdf import chromium_problem, render_report_pdf

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(os.environ.get("DX_TEST_ARTIFACTS", ROOT / "test-artifacts"))
HUGE = 100_000
NATIONAL_SESSIONS = 30_000


def _compact(s: str) -> str:
    return "".join(unicodedata.normalize("NFKC", s).split())


def _pages(pdf: Path) -> list[str]:
    """Each page's text (pdftotext splits pages with a form feed), NFKC, whitespace removed."""
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True, text=True).stdout
    pages = text.split("\f")
    if pages and not pages[-1].strip():
        pages = pages[:-1]
    return [_compact(p) for p in pages]


def _era(fy: int) -> str:
    return f"令和{fy - 2018}年度（{fy}年度）"


def _jp_date(d: dt.date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


@pytest.fixture(scope="module")
def national(tmp_path_factory) -> Path:
    """A national programme large enough that every one of the 47 consortia has sessions in the last 年度 (the
    session-wide national_db, 3,000 sessions, leaves some out)."""
    from etl.generate import generate  # noqa: PLC0415  (heavy: imported where used)
    from etl.load import load_files  # noqa: PLC0415
    out = tmp_path_factory.mktemp("national_pdf")
    generate(out / "records", sessions=NATIONAL_SESSIONS)
    path = out / "national.duckdb"
    assert load_files(sorted((out / "records").glob("*.csv")), path, fresh=True).loaded
    return path


@pytest.fixture(scope="module")
def pdf_tools():
    if chromium_problem():
        pytest.fail(chromium_problem(), pytrace=False)
    if not shutil.which("pdftotext"):
        pytest.fail("pdftotext (poppler-utils) がありません", pytrace=False)


def _facts(db: Path) -> dict:
    """What the report must state, from the record tables (not the report's queries)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        as_of = dt.date.fromisoformat(con.execute("SELECT value FROM meta WHERE key = 'data_as_of'").fetchone()[0])
        fy = as_of.year if as_of.month >= 4 else as_of.year - 1
        programmes = con.execute(
            "SELECT trim(programme), count(*) AS n FROM engagements WHERE fiscal_year = ? "
            "AND nullif(trim(programme), '') IS NOT NULL GROUP BY 1 ORDER BY n DESC, 1", [fy]).fetchall()
        consortia = [r[0] for r in con.execute(
            "SELECT DISTINCT e.consortium FROM sessions AS s JOIN engagements AS e USING (engagement_id) "
            "WHERE s.fiscal_year = ? AND e.consortium IS NOT NULL", [fy]).fetchall()]
    finally:
        con.close()
    programme = programmes[0][0] + (f" ほか{len(programmes) - 1:,}事業" if len(programmes) > 1 else "")
    return {"fy": fy, "as_of": as_of, "programme": programme, "consortia": consortia}


def _assert_running_text(pages: list[str], facts: dict, scope: str) -> None:
    today = _jp_date(dt.date.today())
    header = _compact(f"事業名: {facts['programme']}｜年度: {_era(facts['fy'])}｜対象: {scope}"
                      f"｜データ基準日: {_jp_date(facts['as_of'])}")
    for n, text in enumerate(pages, start=1):
        assert header in text, (n, text[:300])
        assert _compact(f"出力日: {today}") in text, n
        assert _compact(f"ページ {n} / {len(pages)}") in text, (n, text[-200:])


def _body(text: str, facts: dict) -> str:
    """A page's text without its running header and footer."""
    start = text.index(_compact(f"データ基準日: {_jp_date(facts['as_of'])}")) + len(
        _compact(f"データ基準日: {_jp_date(facts['as_of'])}"))
    return text[start:text.rindex(_compact("表題: 実績報告"))]


def test_national_pdf_every_page_has_header_footer_and_content_and_every_consortium(pdf_tools, national, tmp_path):
    facts = _facts(national)
    assert len(facts["consortia"]) == 47          # a consortium in every prefecture, all active in the 年度
    out = render_report_pdf(facts["fy"], None, tmp_path / "national.pdf", db_path=national)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(out, ARTIFACTS / "report_national.pdf")
    pages = _pages(out)
    assert 5 <= len(pages) <= 20, len(pages)
    _assert_running_text(pages, facts, "事業全体")
    # no page holds only its header and footer (a blank page or an empty table frame)
    for n, text in enumerate(pages, start=1):
        assert len(_body(text, facts)) > 80, (n, text)
    # every consortium with a session in the 年度 is named in the company chart (one labelled bar group each)
    chart = next(t for t in pages if _compact("別の伴走支援予定回数・実施回数・金融機関同行回数") in t)
    missing = [c for c in facts["consortia"] if _compact(c) not in chart]
    assert missing == []


def test_a_100000_character_field_is_cut_in_print(pdf_tools, sample_db, tmp_path):
    """One company name of 100,000 characters: the PDF keeps its page count and shows the cut plainly."""
    huge = "長" * (HUGE - 5) + "ZZEND"
    con = duckdb.connect(str(sample_db))
    try:
        eid = con.execute("SELECT engagement_id FROM sessions WHERE fiscal_year = 2022 ORDER BY engagement_id "
                          "LIMIT 1").fetchone()[0]
        for table in ("engagements", "mart_engagement_progress"):
            con.execute(f"UPDATE {table} SET client_name = ? WHERE engagement_id = ?", [huge, eid])
    finally:
        con.close()
    out = render_report_pdf(2022, None, tmp_path / "huge.pdf", db_path=sample_db)
    pages = _pages(out)
    assert len(pages) <= 10, len(pages)
    text = "".join(pages)
    assert _compact(f"…（以下省略、全{HUGE:,}文字）") in text
    assert "ZZEND" not in text                    # the end of the field is not printed


def test_concurrent_pdfs_are_made_one_at_a_time(pdf_tools, sample_db, tmp_path):
    """Two PDF requests at once: one waits its turn (queue_length says 2 meanwhile, the page shows 「待ち」 from it)
    instead of a second Streamlit and Chromium beside the first; both PDFs are complete."""
    import threading  # noqa: PLC0415

    from monitor.report_pdf import queue_length  # noqa: PLC0415

    results: dict[int, tuple[Path, dict, float, float]] = {}
    seen: list[int] = []
    done = threading.Event()

    def make(i: int) -> None:
        timings: dict[str, float] = {}
        import time  # noqa: PLC0415
        start = time.monotonic()
        out = render_report_pdf(2022, None, tmp_path / f"r{i}.pdf", db_path=sample_db, timings=timings)
        results[i] = (out, timings, start, time.monotonic())

    def watch() -> None:
        while not done.is_set():
            seen.append(queue_length())
            done.wait(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    workers = [threading.Thread(target=make, args=(i,)) for i in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=300)
    done.set()
    watcher.join()
    assert sorted(results) == [0, 1]
    assert max(seen) == 2 and queue_length() == 0
    first, second = sorted(results.values(), key=lambda r: r[1].get("順番待ち", 0.0))
    assert second[1]["順番待ち"] > 1.0                      # it waited while the other was printed
    for out, _, _, _ in results.values():
        assert len(_pages(out)) == 8
