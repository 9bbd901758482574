"""Nothing a manager needs is cut, at 1,024, 1,400 and 390 pixels, on a generated national programme (real
`streamlit run`, Debian's Chromium through Playwright); the sample's pages get the same check in
tests/test_browser.py, which opens each of them anyway (tests/support/widths.py: what "cut" means).

The plotly mode bar's tooltips and the file uploader's texts are Japanese, the uploader stating the real size limit;
伴走支援の進捗's first columns are in view beside the open sidebar, on both databases.

Screenshots of every page and width are kept under $DX_ARTIFACTS/widths (default test-artifacts/widths).
"""
from __future__ import annotations

import re

import pytest

from tests.support import browser as B
from tests.support import widths as W

pytestmark = pytest.mark.browser  # Chromium via Playwright

ARTIFACTS = W.ARTIFACTS
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


@pytest.fixture(scope="module", params=["sample", "national"])
def served(request, sample_db_master, tmp_path_factory):
    db = sample_db_master if request.param == "sample" else request.getfixturevalue("national_db")
    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    with B.streamlit_server(db, log_path=log) as base:
        yield request.param, base


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


@pytest.mark.parametrize("served", ["national"], indirect=True)    # the sample: test_browser's render test
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


@pytest.mark.parametrize("served", ["sample"], indirect=True)   # the texts do not depend on the data
def test_mode_bar_and_uploader_speak_japanese(served, browser_context):
    _name, base = served
    urls = B.page_urls(base)
    page = _open(browser_context, urls["概要"], 1400)
    try:
        buttons = page.evaluate("""() => [...document.querySelectorAll('.modebar-btn[data-title]')].map(b => [
            b.getAttribute('data-title'), getComputedStyle(b, '::after').content])""")
        assert buttons, "no mode bar on 概要"
        english = [(title, shown) for title, shown in buttons if not JAPANESE.search(shown)]
        assert not english, f"mode bar tooltips still English: {english}"
        assert any("全画面" in shown for _title, shown in buttons)          # Streamlit's own button too
    finally:
        page.close()
    page = _open(browser_context, urls["データ取込"], 1400)
    try:
        zone = page.locator('[data-testid="stFileUploaderDropzone"]')
        shown = zone.evaluate("""z => [
            getComputedStyle(z.querySelector('button p'), '::after').content,
            getComputedStyle(z.querySelector('[data-testid="stFileUploaderDropzoneInstructions"] span'),
                             '::after').content]""")
        assert "ファイルを選ぶ" in shown[0]
        assert "1ファイル1,024MBまで" in shown[1] and "200MB" not in shown[1]
        page.screenshot(path=str(ARTIFACTS / "uploader.png"))
    finally:
        page.close()


GRID_JS = """() => {
    const grid = document.querySelector('[data-testid="stDataFrame"]');
    if (!grid || !grid.querySelector('.dvn-scroller')) return {headers: []};
    const scroller = grid.querySelector('.dvn-scroller');
    const side = document.querySelector('[data-testid="stSidebar"]').getBoundingClientRect();
    const r = grid.getBoundingClientRect();
    // glide-data-grid's accessibility table (inside its canvas) lists the columns of the visible region, in order
    const headers = [...grid.querySelectorAll('canvas table th[role="columnheader"]')].map(t => t.textContent);
    return {headers, content: scroller.scrollWidth, visible: scroller.clientWidth, left: r.left, right: r.right,
            sidebarRight: side.right, sidebarWidth: side.width, window: window.innerWidth};
}"""


def test_progress_tables_first_columns_are_in_view_with_the_sidebar_open(served, browser_context):
    """伴走支援の進捗's table shows 支援先 (pinned), 最終実施日, 経過日数, 状況, 停滞 and コンソーシアム without scrolling
    sideways, at 1,400 px and then narrowed to 1,024 px (one session). The grid is a canvas: the check reads its column
    order (the accessibility table), proves that the configured widths are the drawn ones (the scroll content is
    exactly their sum), and so where each named column ends against the grid's visible width — and that the grid
    itself lies inside the window, beside the open sidebar."""
    from monitor.render.progress import FIRST_SCREEN_COLUMNS, TABLE_WIDTHS  # noqa: PLC0415
    from monitor.views.progress import PROGRESS_COLUMNS  # noqa: PLC0415
    _name, base = served
    assert PROGRESS_COLUMNS[:len(FIRST_SCREEN_COLUMNS)] == list(FIRST_SCREEN_COLUMNS)
    page = _open(browser_context, B.page_urls(base)["伴走支援の進捗"], 1400)
    try:
        for width in (1400, 1024):
            if width != 1400:
                page.set_viewport_size({"width": width, "height": 900})
                page.wait_for_timeout(500)
            # the accessibility table is redrawn with the grid (a rerun, a resize): read it in the step that finds it
            grid = page.wait_for_function(
                f"""w => {{ const g = ({GRID_JS})(); return g.headers.length && g.window === w ? g : null; }}""",
                arg=width, timeout=20_000).json_value()
            page.screenshot(path=str(ARTIFACTS / f"{_name}_進捗の表_{width}.png"))
            assert grid["sidebarWidth"] > 200 and grid["sidebarRight"] <= grid["left"], (width, grid)  # open, beside
            assert grid["right"] <= grid["window"], (width, grid)
            assert grid["headers"][:len(FIRST_SCREEN_COLUMNS)] == list(FIRST_SCREEN_COLUMNS), width  # in this order
            assert grid["content"] == sum(TABLE_WIDTHS[c] for c in PROGRESS_COLUMNS), width    # the drawn widths
            ends = sum(TABLE_WIDTHS[c] for c in FIRST_SCREEN_COLUMNS)
            assert ends <= grid["visible"], f"コンソーシアム ends at {ends} px, the grid shows {grid['visible']} px at {width}"
    finally:
        page.close()
