"""Checks of one page, run in a session that has the page open: the plotly mode bar and the file uploader speak
Japanese, and 伴走支援の進捗's first columns are in view beside the open sidebar. test_browser runs them on the sample in
its render test's session (the page is open there anyway); test_browser_widths on the national programme."""
from __future__ import annotations

import re
from pathlib import Path

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def assert_mode_bar_is_japanese(page) -> None:
    """概要's plotly mode bar: every tooltip Japanese, Streamlit's own 全画面 button too."""
    buttons = page.evaluate("""() => [...document.querySelectorAll('.modebar-btn[data-title]')].map(b => [
        b.getAttribute('data-title'), getComputedStyle(b, '::after').content])""")
    assert buttons, "no mode bar on 概要"
    english = [(title, shown) for title, shown in buttons if not JAPANESE.search(shown)]
    assert not english, f"mode bar tooltips still English: {english}"
    assert any("全画面" in shown for _title, shown in buttons)          # Streamlit's own button too


def assert_uploader_is_japanese(page, shot: Path) -> None:
    """データ取込's file uploader: its button and instructions Japanese, stating the real size limit."""
    zone = page.locator('[data-testid="stFileUploaderDropzone"]')
    shown = zone.evaluate("""z => [
        getComputedStyle(z.querySelector('button p'), '::after').content,
        getComputedStyle(z.querySelector('[data-testid="stFileUploaderDropzoneInstructions"] span'),
                         '::after').content]""")
    assert "ファイルを選ぶ" in shown[0]
    assert "1ファイル1,024MBまで" in shown[1] and "200MB" not in shown[1]
    page.screenshot(path=str(shot))


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


def assert_progress_columns_in_view(page, width: int, shot: Path) -> None:
    """伴走支援の進捗's table, the window ``width`` wide: 支援先 (pinned), 最終実施日, 経過日数, 状況, 停滞 and コンソーシアム
    without scrolling sideways. The grid is a canvas: the check reads its column order (the accessibility table),
    proves that the configured widths are the drawn ones (the scroll content is exactly their sum), and so where
    each named column ends against the grid's visible width — and that the grid itself lies inside the window,
    beside the open sidebar."""
    from monitor.render.progress import FIRST_SCREEN_COLUMNS, TABLE_WIDTHS  # noqa: PLC0415
    from monitor.views.progress import PROGRESS_COLUMNS  # noqa: PLC0415
    assert PROGRESS_COLUMNS[:len(FIRST_SCREEN_COLUMNS)] == list(FIRST_SCREEN_COLUMNS)
    # the accessibility table is redrawn with the grid (a rerun, a resize): read it in the step that finds it
    grid = page.wait_for_function(
        f"""w => {{ const g = ({GRID_JS})(); return g.headers.length && g.window === w ? g : null; }}""",
        arg=width, timeout=20_000).json_value()
    page.screenshot(path=str(shot))
    assert grid["sidebarWidth"] > 200 and grid["sidebarRight"] <= grid["left"], (width, grid)  # open, beside
    assert grid["right"] <= grid["window"], (width, grid)
    assert grid["headers"][:len(FIRST_SCREEN_COLUMNS)] == list(FIRST_SCREEN_COLUMNS), width  # in this order
    assert grid["content"] == sum(TABLE_WIDTHS[c] for c in PROGRESS_COLUMNS), width    # the drawn widths
    ends = sum(TABLE_WIDTHS[c] for c in FIRST_SCREEN_COLUMNS)
    assert ends <= grid["visible"], f"コンソーシアム ends at {ends} px, the grid shows {grid['visible']} px at {width}"
