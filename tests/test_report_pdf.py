"""The report PDF: a real `streamlit run`, Debian's Chromium driven by Playwright, the print layout printed to A4
landscape with one page per section and the Japanese title in the text. Without Chromium: a plain Japanese message
that says how to get it."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from pypdf import PdfReader

from monitor.exports import png_size
from monitor.views.report import build_report
from monitor.report_pdf import CHROMIUM, chromium_problem, render_report_pdf
from tests.support.processes import descendants

pytestmark = pytest.mark.browser  # the PDF is printed by Chromium via Playwright

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(os.environ.get("DX_TEST_ARTIFACTS", ROOT / "test-artifacts"))
IBARAKI = "茨城県DX支援コミュニティ"

@pytest.fixture()
def chromium_present():
    """The PDF tests need Debian's chromium; a missing browser fails (it would hide a broken export)."""
    problem = chromium_problem()
    if problem is not None:
        pytest.fail(f"Chromium がありません（{CHROMIUM}）: scripts/setup.sh --system で入れてください — {problem}")


needs_chromium = pytest.mark.usefixtures("chromium_present")


def _text(pdf: Path, page: int | None = None) -> str:
    """The PDF's text with pdftotext when installed (poppler-utils), else pypdf; NFKC so that CJK compatibility
    forms some extractors return compare equal, whitespace removed."""
    if shutil.which("pdftotext"):
        args = ["pdftotext", "-layout"]
        if page is not None:
            args += ["-f", str(page), "-l", str(page)]
        text = subprocess.run([*args, str(pdf), "-"], capture_output=True, check=True, text=True).stdout
    else:
        reader = PdfReader(str(pdf))
        pages = reader.pages if page is None else [reader.pages[page - 1]]
        text = "\n".join(p.extract_text() or "" for p in pages)
    return "".join(unicodedata.normalize("NFKC", text).split())


def _compact(s: str) -> str:
    return "".join(unicodedata.normalize("NFKC", s).split())


@needs_chromium
@pytest.mark.parametrize("consortium", [IBARAKI, None])
def test_report_pdf_one_page_per_section(sample_db, tmp_path, consortium):
    out = tmp_path / "report.pdf"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"report_print_{'ibaraki' if consortium else 'programme'}.png"
    path = render_report_pdf(2022, consortium, out, db_path=sample_db, screenshot=shot)
    assert path == out and out.read_bytes().startswith(b"%PDF")

    report = build_report(2022, consortium, path=sample_db)
    reader = PdfReader(str(out))
    assert len(reader.pages) == len(report.sections)
    # A4 landscape: 842 × 595 pt
    box = reader.pages[0].mediabox
    assert abs(float(box.width) - 842) < 2 and abs(float(box.height) - 595) < 2

    title = f"令和4年度（2022年度） 実績報告｜{consortium or '事業全体'}"
    assert report.title == title
    assert _compact(title) in _text(out, 1)
    assert _compact("データ基準日:2025年2月28日") in _text(out, 1)
    # each section starts its own page, in order
    for number, section in enumerate(report.sections, start=1):
        assert _compact(section.title) in _text(out, number), (number, section.title)
    shutil.copyfile(out, ARTIFACTS / shot.with_suffix(".pdf").name)
    # the screenshot of the print layout (artifact) is a real, full-page image
    width, height = png_size(shot.read_bytes())
    assert width >= 1200 and height > 1000


def test_missing_chromium_says_how_to_get_it(tmp_path, sample_db):
    env = dict(os.environ, DX_CHROMIUM=str(tmp_path / "no-such-chromium"))
    run = subprocess.run(
        [sys.executable, "-m", "monitor.report_pdf", "--fiscal-year", "2022", "--consortium", IBARAKI,
         "--out", str(tmp_path / "r.pdf"), "--db", str(sample_db)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert "Chromium が見つかりません" in run.stderr
    assert "apt-get install chromium fonts-noto-cjk" in run.stderr
    assert not (tmp_path / "r.pdf").exists()


def _browser_processes() -> list[int]:
    """This process's Chromium browser processes (the kept one), not its renderers or the report's server."""
    found = []
    for pid in descendants(os.getpid()):
        try:
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        # (Chromium's helpers rewrite their command line into one string that holds --type=…)
        if Path(raw.split(b"\0")[0].decode(errors="replace")).name in ("chromium", "chrome") and b"--type=" not in raw:
            found.append(pid)
    return found


@needs_chromium
def test_the_kept_browser_is_reused_and_a_dead_one_replaced(sample_db, tmp_path):
    """The second PDF reuses the first one's Chromium (no start); after that browser dies, the next PDF starts a new
    one and still comes out whole."""
    import signal  # noqa: PLC0415
    from monitor import report_pdf  # noqa: PLC0415
    report_pdf._stop_warm()          # an earlier test in this process may have left its browser kept
    try:
        first, second, third = {}, {}, {}
        render_report_pdf(2022, None, tmp_path / "1.pdf", sample_db, timings=first)
        browsers = _browser_processes()
        assert first.get("Chromium 起動", 0) > 0 and len(browsers) == 1
        render_report_pdf(2022, None, tmp_path / "2.pdf", sample_db, timings=second)
        assert "Chromium 起動" not in second and _browser_processes() == browsers
        os.kill(browsers[0], signal.SIGKILL)
        render_report_pdf(2022, None, tmp_path / "3.pdf", sample_db, timings=third)
        assert third.get("Chromium 起動", 0) > 0
        pages = [len(PdfReader(str(tmp_path / f"{i}.pdf")).pages) for i in (1, 2, 3)]
        assert pages[0] == pages[1] == pages[2] and pages[0] >= 2
    finally:
        report_pdf._stop_warm()
    assert _browser_processes() == []
