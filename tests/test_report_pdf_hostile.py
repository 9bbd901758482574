"""The 報告 PDF of the hostile record set (tests/support/hostile.py): the renderer (a real `streamlit run serve.py`, Debian's
Chromium via Playwright) asks for nothing but the app — a local trap server named in the records' images gets no
request and the route handler blocked none — and the PDF carries the hostile names as text, with no link
annotations. Its own module: render_report_pdf starts Playwright itself, which cannot run inside another module's
Playwright session (tests/test_browser_hostile.py)."""
from __future__ import annotations

import pytest
from pypdf import PdfReader

from monitor.report_pdf import chromium_problem, render_report_pdf
from tests.support.hostile import FY, MARK, build_hostile_db, hostile_consortium, http_server
from tests.support.hostile import Trap as _Trap

pytestmark = pytest.mark.browser  # the PDF is printed by Chromium via Playwright


@pytest.fixture(scope="module")
def trap():
    _Trap.hits = []
    with http_server() as url:
        yield url


@pytest.fixture(scope="module")
def hostile_db(sample_db_master, tmp_path_factory, trap):
    if chromium_problem():
        pytest.fail(chromium_problem(), pytrace=False)
    return build_hostile_db(tmp_path_factory.mktemp("hostile_pdf"), trap, sample_db_master)


def test_report_pdf_fetches_nothing_and_has_no_links(hostile_db, trap, tmp_path):
    blocked: list[str] = []
    before = list(_Trap.hits)
    out = render_report_pdf(FY, hostile_consortium(trap), tmp_path / "hostile.pdf", db_path=hostile_db,
                            blocked=blocked)
    assert blocked == [] and _Trap.hits == before
    reader = PdfReader(str(out))
    uris = [a.get_object().get("/A", {}).get("/URI") for p in reader.pages for a in (p.get("/Annots") or [])]
    assert [u for u in uris if u] == []
    text = "".join((p.extract_text() or "") for p in reader.pages)
    assert MARK in text                                   # the hostile consortium is in it, as text
