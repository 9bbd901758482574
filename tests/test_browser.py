"""Every page in real Chromium (Debian's /usr/bin/chromium driven by Playwright; never a downloaded browser), served by
a real `streamlit run` on the sample database.

For every page (app.py and pages/*.py, found by glob):
- the script finishes, every plotly chart has drawn its SVG and every deck.gl map its canvas (not blank);
- no exception box, no Streamlit error element, no uncaught JavaScript error;
- the page title is in the DOM, visible, and drawn with a Japanese font (Chromium's own report of the fonts used
  for the title's glyphs, so tofu fails the test);
- the context caption (active filters — on pages that have them —, data as-of, サンプルデータ) is visible in the
  main area;
- no request leaves localhost (usage statistics, Google fonts/icons, map tiles: all recorded, aborted, and failed);
- a full screenshot is saved to test-artifacts/screenshots/<page>.png;
- narrowed to 1,400, 1,024 and 390 px in the same session, nothing named is cut (tests/support/widths.py; the
  national programme's pages: tests/test_browser_widths.py); on 概要 the plotly mode bar and on データ取込 the file
  uploader speak Japanese, and 伴走支援の進捗's first columns are in view at 1,400 and 1,024 px
  (tests/support/page_checks.py).
A URL carrying 都道府県=長野県 opens filtered and the selection survives a click to another page.
The print layout (?print=1, monitor/print_layout.py) of every page with the shared filters hides the sidebar, shows the header with the
filters and as-of, overflows nothing sideways, and is saved to test-artifacts/screenshots/print_<page>.png.

UPDATE_SCREENSHOTS=1 also copies the 概要 screenshot to docs/screenshots/overview.png and the 報告 print screenshot to
docs/screenshots/report_print.png (the README shows them).
"""
from __future__ import annotations

import os
import re
import shutil
import urllib.parse
from pathlib import Path

import pytest

from tests.support import browser as B
from tests.support import page_checks as checks
from tests.support import widths as W

pytestmark = pytest.mark.browser  # Chromium via Playwright

ROOT = B.ROOT
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"
UPDATE = os.environ.get("UPDATE_SCREENSHOTS") == "1"
README_SHOTS = {"概要": "overview.png"}                # page label → docs/screenshots file (normal layout)
README_PRINT_SHOTS = {"報告": "report_print.png"}      # page label → docs/screenshots file (print layout)

VIEWPORT = {"width": 1400, "height": 2400}
PAGES = B.page_files()
LABELS = [B.page_label(p) for p in PAGES]
SOURCES = {B.page_label(p): p.read_text(encoding="utf-8") for p in PAGES}
# pages that show data under the shared filters (they call ui.sidebar_filters): their caption states the filters,
# and they have a print layout. A page without filters (データ取込, a workflow page) states data as-of only.
FILTERED = [label for label in LABELS if "sidebar_filters(" in SOURCES[label]]
FILTER_PARTS = ("年度:", "都道府県:", "コンソーシアム:", "期間:", "支援種別:")
# 報告 applies 年度 and 対象 only, and its caption names just those (other filters are named as not applied)
REPORT_PARTS = ("年度:", "対象:")

# fonts that can draw kana and kanji (Chromium reports the font family actually used for each glyph run)
JAPANESE_FONT = re.compile(r"CJK|JP|Japan|Gothic|Mincho|IPA|Takao|VL |Droid Sans Fallback|Hiragino|Meiryo|Yu ",
                           re.I)


# ── fixtures ────────────────────────────────────────────────────────────────

@pytest.fixture(scope="module")
def server(sample_db_master, tmp_path_factory):
    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    with B.streamlit_server(sample_db_master, log_path=log) as base:
        yield base


class Tab:
    """A new page of the module's browser context (a fresh Streamlit session) that records what would leave the
    machine and the JavaScript errors."""

    def __init__(self, context, viewport=VIEWPORT):
        self.page = B.new_tab(context, viewport["width"], viewport["height"])
        self.outside = B.block_outside_requests(self.page)
        self.js_errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.js_errors.append(str(exc)))
        # a request the router did not see (e.g. a service worker's) still shows up here
        self.page.on("request", lambda r: None if B.is_local_url(r.url) or r.url in self.outside
                     else self.outside.append(r.url))

    def open(self, url: str) -> None:
        self.page.goto(url, wait_until="domcontentloaded")
        B.wait_for_page(self.page)

    def close(self):
        self.page.close()


@pytest.fixture()
def tab(browser_context):
    t = Tab(browser_context)
    yield t
    t.close()


@pytest.fixture()
def print_tab(browser_context):
    from monitor.print_layout import VIEWPORT_WIDTH_PX  # noqa: PLC0415  (imported where used, after the test's environment is set)
    t = Tab(browser_context, {"width": VIEWPORT_WIDTH_PX, "height": 2400})
    yield t
    t.close()


# ── checks ──────────────────────────────────────────────────────────────────

def _texts(page, selector: str) -> list[str]:
    return [t.strip() for t in page.locator(selector).all_inner_texts()]


def assert_no_errors(tab: Tab, where: str) -> None:
    page = tab.page
    exceptions = _texts(page, B.EXCEPTION)
    assert not exceptions, f"{where}: exception box on the page:\n" + "\n---\n".join(exceptions)
    errors = _texts(page, B.ERROR_BOX)
    assert not errors, f"{where}: Streamlit error element on the page:\n" + "\n---\n".join(errors)
    assert not tab.js_errors, f"{where}: uncaught JavaScript errors: {tab.js_errors}"


def assert_stays_local(tab: Tab, where: str) -> None:
    assert not tab.outside, (f"{where}: the browser tried to reach outside localhost "
                             f"(PRODUCT.md: no usage statistics, no Google fonts/icons): {sorted(set(tab.outside))}")


def platform_fonts(page, selector: str) -> list[dict]:
    """The fonts Chromium used to draw the text of the first element matching ``selector`` (CSS domain of CDP)."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        assert node, f"no element {selector}"
        return cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    finally:
        cdp.detach()


def assert_japanese_rendered(page, selector: str, text: str, where: str) -> None:
    """``text`` is in the DOM at ``selector``, visible, of a plausible size, and drawn with a Japanese font."""
    el = page.locator(selector).filter(has_text=text).first
    assert el.count(), f"{where}: {text!r} not found in {selector}"
    assert el.is_visible(), f"{where}: {text!r} is in the DOM but not visible"
    box = el.evaluate("""e => { const r = document.createRange(); r.selectNodeContents(e);
                               const b = r.getBoundingClientRect();
                               return {w: b.width, h: b.height, size: parseFloat(getComputedStyle(e).fontSize)}; }""")
    # a CJK glyph is about 1 em wide: a run of n characters that is far narrower was not drawn as Japanese
    assert box["w"] >= 0.6 * box["size"] * len(text) and box["h"] >= 0.8 * box["size"], \
        f"{where}: {text!r} is drawn {box['w']:.0f}×{box['h']:.0f} px at font-size {box['size']}px"
    fonts = platform_fonts(page, selector)
    families = [f["familyName"] for f in fonts if f.get("glyphCount")]
    assert families, f"{where}: Chromium drew no glyphs for {text!r}"
    assert any(JAPANESE_FONT.search(f) for f in families) and not any("LastResort" in f for f in families), \
        (f"{where}: {text!r} was drawn with {families}, not a Japanese font (tofu). "
         "Install fonts-noto-cjk: `scripts/setup.sh --system`.")


def assert_caption(page, where: str, expect: tuple[str, ...] = (), filters: bool = True) -> str:
    """The context caption (the active filters when the page has them, data as-of) and the サンプルデータ notice are
    visible in the main area."""
    main = page.locator(B.MAIN)
    caption = main.locator('[data-testid="stCaptionContainer"], .dx-print-caption').filter(has_text="データ基準日").first
    assert caption.count(), f"{where}: no caption with データ基準日 in the main area"
    assert caption.is_visible(), f"{where}: the context caption is not visible"
    text = caption.inner_text()
    parts = (REPORT_PARTS if "対象:" in text else FILTER_PARTS) if filters else ()
    for part in (*parts, "データ基準日:", *expect):
        assert part in text, f"{where}: the caption lacks {part!r}: {text!r}"
    sample = main.get_by_text("サンプルデータ").first
    assert sample.count() and sample.is_visible(), f"{where}: no visible サンプルデータ notice in the main area"
    return text


def assert_drawn(tab: Tab, label: str, where: str) -> None:
    """The charts and maps the page's source asks for are there and drawn."""
    page, src = tab.page, SOURCES[label]
    n_plotly = page.locator(B.PLOTLY).count()
    if "plotly_chart" in src:
        assert n_plotly, f"{where}: the page draws plotly charts but none is on the page"
        for i in range(n_plotly):
            chart = page.locator(B.PLOTLY).nth(i)
            marks = chart.locator(".main-svg .plot .trace, .main-svg .barlayer path, .main-svg .scatterlayer path, "
                                  ".main-svg .heatmaplayer image, .main-svg .funnellayer path, .main-svg .pielayer path")
            assert marks.count(), f"{where}: plotly chart #{i + 1} has an SVG but no data drawn"
    if "pydeck_chart" in src:
        deck = page.locator(B.DECK)
        assert deck.count(), f"{where}: the page draws a pydeck map but no deck.gl element is on the page"
        canvas = deck.first.locator("canvas").first
        box = canvas.bounding_box()
        assert box and box["width"] > 100 and box["height"] > 100, f"{where}: map canvas is {box}"
        from io import BytesIO  # noqa: PLC0415  (only for the screenshot check)

        from PIL import Image  # noqa: PLC0415  (only for the screenshot check)
        img = Image.open(BytesIO(canvas.screenshot())).convert("RGB").resize((120, 80))
        colours = len(set(img.getdata()))
        assert colours > 8, f"{where}: the map canvas is blank ({colours} colours): deck.gl drew nothing (WebGL?)"


def save_screenshot(page, name: str, docs_name: str | None = None) -> Path:
    B.fit_viewport_to_content(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if UPDATE and docs_name:
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_SCREENSHOTS / docs_name)
    return path


# ── tests ───────────────────────────────────────────────────────────────────

@pytest.mark.parametrize("label", LABELS)
def test_page_renders_in_chromium(server, tab, label):
    url = B.page_urls(server)[label]
    where = f"{label} ({urllib.parse.unquote(url)})"
    tab.open(url)
    assert_no_errors(tab, where)
    assert_drawn(tab, label, where)
    assert_japanese_rendered(tab.page, f"{B.MAIN} h1", label, where)
    assert_caption(tab.page, where, filters=label in FILTERED)
    shot = save_screenshot(tab.page, label, README_SHOTS.get(label))
    assert shot.stat().st_size > 20_000, f"{where}: the screenshot {shot} is suspiciously small"
    W.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    if label == "概要":
        checks.assert_mode_bar_is_japanese(tab.page)
    if label == "データ取込":
        checks.assert_uploader_is_japanese(tab.page, W.ARTIFACTS / "uploader.png")
    cut = []
    for width in sorted(W.WIDTHS, reverse=True):
        cut += W.problems_at(tab.page, width, W.ARTIFACTS / f"sample_{label}_{width}.png")
        if label == "伴走支援の進捗" and width != W.PHONE:
            checks.assert_progress_columns_in_view(tab.page, width, W.ARTIFACTS / f"sample_進捗の表_{width}.png")
    assert not cut, f"sample {label}:\n" + "\n".join(cut)
    assert_no_errors(tab, where)
    assert_stays_local(tab, where)


def test_url_filter_opens_filtered_and_survives_page_switch(server, tab):
    from monitor.read.filters import PARAM_PREFECTURES  # noqa: PLC0415  (after the test's environment is set)
    urls = B.page_urls(server, {PARAM_PREFECTURES: "長野県"})
    first, second = FILTERED[0], FILTERED[1]
    tab.open(urls[first])
    assert_no_errors(tab, first)
    text = assert_caption(tab.page, f"{first} ?{PARAM_PREFECTURES}=長野県", expect=("都道府県: 長野県",))
    assert "茨城県" not in text
    warnings = _texts(tab.page, '[data-testid="stAlertContentWarning"]')
    assert not warnings, f"a valid URL value gave a notice: {warnings}"
    assert f"{PARAM_PREFECTURES}=長野県" in urllib.parse.unquote(tab.page.url), tab.page.url

    # the sidebar link to the next page keeps the selection (session state and URL)
    tab.page.locator('[data-testid="stSidebar"] a').filter(has_text=second).first.click()
    tab.page.wait_for_url(re.compile(re.escape(urllib.parse.quote(B.url_name(PAGES[LABELS.index(second)])))))
    B.wait_for_page(tab.page)
    assert_no_errors(tab, second)
    tab.page.locator(f"{B.MAIN} h1").filter(has_text=second).first.wait_for()
    assert_caption(tab.page, f"{second} after a sidebar click", expect=("都道府県: 長野県",))
    assert f"{PARAM_PREFECTURES}=長野県" in urllib.parse.unquote(tab.page.url), tab.page.url
    assert_stays_local(tab, "URL filter")


@pytest.mark.parametrize("label", FILTERED)
def test_print_layout(server, print_tab, label):
    from monitor.print_layout import PRINT_PARAM  # noqa: PLC0415  (imported where used, after the test's environment is set)
    url = B.page_urls(server, {PRINT_PARAM: "1"})[label]
    where = f"{label} print layout ({urllib.parse.unquote(url)})"
    tab = print_tab
    tab.open(url)
    # the screenshot comes first: it is the artifact to look at when a check below fails
    shot = save_screenshot(tab.page, f"print_{label}", README_PRINT_SHOTS.get(label))
    assert_no_errors(tab, where)
    assert_drawn(tab, label, where)
    sidebar = tab.page.locator('[data-testid="stSidebar"]')
    assert not (sidebar.count() and sidebar.first.is_visible()), f"{where}: the sidebar is shown (see {shot})"
    header = tab.page.locator(".dx-print-header")
    assert header.count() and header.first.is_visible(), f"{where}: no print header (see {shot})"
    assert_caption(tab.page, where)
    width = tab.page.viewport_size["width"]
    overflow = tab.page.evaluate("""w => [...document.querySelectorAll(
            '[data-testid="stMain"] [data-testid="stPlotlyChart"], [data-testid="stMain"] [data-testid="stDeckGlJsonChart"],'
            + '[data-testid="stMain"] [data-testid="stTable"], [data-testid="stMain"] [data-testid="stDataFrame"]')]
        .filter(e => e.getBoundingClientRect().right > w + 1)
        .map(e => e.getAttribute('data-testid') + ' right=' + Math.round(e.getBoundingClientRect().right))""", width)
    assert not overflow, f"{where}: elements cut at the right edge of a {width}px page: {overflow} (see {shot})"
    assert_stays_local(tab, where)


def test_a_click_on_a_chart_narrows_the_filters(server, tab):
    """Drill-down on 概要: a consortium's bar sets the コンソーシアム filter, a month narrows 期間 (URL too)."""
    from monitor.read.filters import PARAM_CONSORTIA, PARAM_PERIOD  # noqa: PLC0415  (after the test's environment is set)
    urls = B.page_urls(server, {"年度": "2024"})
    tab.open(urls[LABELS[0]])
    charts = tab.page.locator(B.PLOTLY)
    bars = charts.nth(0).locator("g.point path")
    assert bars.count() >= 2
    bars.nth(bars.count() - 1).click(force=True)          # the last consortium's last bar
    url_has = "k => decodeURIComponent(location.href).includes(k)"      # the URL changes without a navigation
    tab.page.wait_for_function(url_has, arg=f"{PARAM_CONSORTIA}=", timeout=60_000)
    B.wait_for_page(tab.page)
    assert f"{PARAM_CONSORTIA}=長野県DX支援コミュニティ" in urllib.parse.unquote(tab.page.url)
    months = tab.page.locator(B.PLOTLY).nth(1).locator("g.point path")
    tall = next(m for m in months.all() if (m.bounding_box() or {}).get("height", 0) > 4)   # not a 0 bar
    tall.click(force=True)
    tab.page.wait_for_function(url_has, arg=f"{PARAM_PERIOD}=", timeout=60_000)
    B.wait_for_page(tab.page)
    period = urllib.parse.parse_qs(urllib.parse.urlparse(tab.page.url).query)[PARAM_PERIOD][0]
    start, end = period.split("~")
    assert start.endswith("-01") and start[:7] == end[:7], period       # one whole month
    assert_no_errors(tab, "drill-down")
    assert_stays_local(tab, "drill-down")


def test_the_audit_page_prints_with_its_header_when_it_has_rows(server, print_tab):
    """監査記録 has no on-screen title in print mode: the print header carries its name and facts (without one, a
    page holding audit rows drew no heading and the print never finished loading)."""
    from etl import audit  # noqa: PLC0415  (imported where used, after the test's environment is set)
    audit.record("印刷テスト担当", "export", "概要のCSV", "", "ok")
    print_tab.open(B.page_urls(server, {"print": "1"})["監査記録"])
    header = print_tab.page.locator(".dx-print-header").inner_text()
    assert "監査記録" in header and "記録の場所" in header, header
    # every row of the trail the server reads (the row above, and those other tests and the server itself wrote)
    rows = len(audit.read())
    assert rows >= 1
    assert f"{rows:,} 件（新しい順" in print_tab.page.locator(B.MAIN).inner_text()     # the table is a canvas
    assert_no_errors(print_tab, "監査記録 print layout")
