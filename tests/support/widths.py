"""Nothing a manager needs is cut: the check of one open page at a width (tests/test_browser_widths.py, and
tests/test_browser.py for the sample's pages, which it opens anyway).

The named elements — KPI values and labels, widget labels, the sidebar's date inputs, every button and the element
holding its text (a label cut inside a button leaves the button itself unclipped) — have scrollWidth ≤ clientWidth.
At 390 px (a phone) the page shows its cards and lists and no chart."""
from __future__ import annotations

import os
from pathlib import Path

from tests.support import browser as B

ARTIFACTS = Path(os.environ.get("DX_ARTIFACTS") or B.ROOT / "test-artifacts") / "widths"
WIDTHS = (1024, 1400, 390)
PHONE = 390

# the elements whose text must be whole: (name, CSS selector)
NAMED = [
    ("KPI の値", '[data-testid="stMetricValue"]'),
    ("KPI の値（文字）", '[data-testid="stMetricValue"] > div'),
    ("KPI の名前", '[data-testid="stMetricLabel"]'),
    ("KPI の名前（文字）", '[data-testid="stMetricLabel"] p'),
    ("ラベル", '[data-testid="stWidgetLabel"] p'),
    ("日付の入力", '[data-testid="stDateInput"] input'),
    ("ボタン", "button"),
    ("ボタンの文字", 'button [data-testid="stMarkdownContainer"]'),
    ("ボタンの文字（段落）", "button p"),
]

CLIPPED_JS = """(named) => {
    const out = [];
    for (const [name, selector] of named) {
        for (const el of document.querySelectorAll(selector)) {
            const r = el.getBoundingClientRect();
            if (r.width === 0 || r.height === 0 || el.clientWidth === 0) continue;       // not drawn
            if (el.closest('.modebar, [data-testid="stToolbar"], [data-testid="stHeader"]')) continue;
            // a collapsed sidebar (a phone starts with it closed) is off screen, squeezed: not what anyone reads
            if (el.closest('[data-testid="stSidebar"][aria-expanded="false"]')) continue;
            if (r.right <= 0 || r.left >= window.innerWidth) continue;
            if (el.scrollWidth > el.clientWidth + 1) {
                const text = (el.value || el.innerText || el.getAttribute('aria-label') || '').trim().slice(0, 60);
                out.push(`${name}: 「${text}」 scrollWidth ${el.scrollWidth} > clientWidth ${el.clientWidth}`);
            }
        }
    }
    return out;
}"""

CONTENT_HEIGHT_JS = """() => {
    const main = document.querySelector('[data-testid="stMain"]');
    const block = document.querySelector('[data-testid="stMainBlockContainer"]');
    let bottom = 0;
    for (const el of block.querySelectorAll(':scope > * , :scope > * > *')) {
        const r = el.getBoundingClientRect();
        if (r.height > 0) bottom = Math.max(bottom, r.bottom);
    }
    return Math.ceil(bottom + main.scrollTop);
}"""


def problems_at(page, width: int, shot: Path) -> list[str]:
    """Narrow the open page to ``width`` (charts redraw to the new width, as when a user resizes the window), keep
    its screenshot and list what is cut."""
    if width == PHONE:       # no chart is drawn: fit the viewport without waiting for one
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(500)
        height = page.evaluate(CONTENT_HEIGHT_JS)
        page.set_viewport_size({"width": width, "height": min(max(800, height + 48), 12_000)})
        page.wait_for_timeout(400)
    else:
        B.fit_viewport_to_content(page, width=width)
        page.wait_for_timeout(300)                  # plotly's relayout after the resize
        B.fit_viewport_to_content(page, width=width)
    page.screenshot(path=str(shot), full_page=True)
    problems = [f"{width} px: {p}" for p in page.evaluate(CLIPPED_JS, NAMED)]
    if width == PHONE:
        charts = page.evaluate("""() => [...document.querySelectorAll(
            '[data-testid="stPlotlyChart"], [data-testid="stDeckGlJsonChart"]')]
            .filter(e => e.getBoundingClientRect().height > 0).length""")
        if charts:
            problems.append(f"{width} px: {charts} charts drawn (a phone gets the summary)")
        if page.locator('[data-testid="stMetricValue"]').count():
            assert page.locator('[data-testid="stMetricValue"]').first.is_visible()
        assert page.locator(".dx-narrow-note").first.is_visible()
    return problems
