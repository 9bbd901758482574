"""Nothing a manager needs is cut, at 1,024, 1,400 and 390 pixels, on a generated national programme (real
`streamlit run`, Debian's Chromium through Playwright), and 伴走支援の進捗's first columns are in view beside the open
sidebar. The sample's pages get the same checks — and the mode bar's and the uploader's Japanese — in
tests/test_browser.py, which opens each of them anyway (tests/support/widths.py, tests/support/page_checks.py).

Screenshots of every page and width are kept under $DX_ARTIFACTS/widths (default test-artifacts/widths).
"""
from __future__ import annotations

import pytest

from tests.support import browser as B
from tests.support import page_checks as checks
from tests.support import widths as W

pytestmark = pytest.mark.browser  # Chromium via Playwright

ARTIFACTS = W.ARTIFACTS


@pytest.fixture(scope="module")
def served(national_db, tmp_path_factory):
    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    with B.streamlit_server(national_db, log_path=log) as base:
        yield "national", base


def _open(context, url: str, width: int):
    """A fresh session (a new page of the module's context) at ``width``; a phone's page is loaded at 1,024 px and
    then narrowed (wait_for_page waits for every chart to draw, and on a phone none is shown)."""
    page = B.new_tab(context, max(width, 1024), 900)
    B.block_outside_requests(page)
    page.goto(url, wait_until="domcontentloaded")
    B.wait_for_page(page)
    if width < 1024:
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(500)
    return page


@pytest.mark.parametrize("label", list(B.page_urls("")))
def test_nothing_named_is_cut(served, browser_context, label):
    """One session per page, loaded at the widest width and narrowed through the others (the cost of a test is the
    page load and its charts' first draw, not the check)."""
    name, base = served
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = _open(browser_context, B.page_urls(base)[label], max(W.WIDTHS))
    try:
        problems = []
        for width in sorted(W.WIDTHS, reverse=True):
            problems += W.problems_at(page, width, ARTIFACTS / f"{name}_{label}_{width}.png")
    finally:
        page.close()
    assert not problems, f"{name} {label}:\n" + "\n".join(problems)


def test_progress_tables_first_columns_are_in_view_with_the_sidebar_open(served, browser_context):
    """At 1,400 px and then narrowed to 1,024 px (one session): tests/support/page_checks.py."""
    name, base = served
    page = _open(browser_context, B.page_urls(base)["伴走支援の進捗"], 1400)
    try:
        for width in (1400, 1024):
            if width != 1400:
                page.set_viewport_size({"width": width, "height": 900})
                page.wait_for_timeout(500)
            checks.assert_progress_columns_in_view(page, width, ARTIFACTS / f"{name}_進捗の表_{width}.png")
    finally:
        page.close()
