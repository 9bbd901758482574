"""The print / screenshot layout every page can honour: open a page with ``?print=1`` (the filters stay in the URL
as usual) and it shows no sidebar, header or toolbar, a header with the title, the filters and the data's as-of,
charts at a fixed size that fits an A4 landscape page, and nothing cut at a page edge.

    from monitor.print_layout import apply_print_layout, is_print_mode, fixed_size, page_section

- ``apply_print_layout(title, caption_text) -> bool``: call once per run after the filters are known (the shared
  ``context_caption`` is the place); in print mode it injects the CSS and draws the header and returns True (then
  skip the normal title/caption), otherwise it does nothing and returns False. Calling it twice in one run draws
  the header once.
- ``fixed_size(fig)``: in print mode, gives a plotly figure the fixed print size (pass ``width="content"`` to
  st.plotly_chart then); unchanged otherwise.
- ``page_section(key)``: a container that starts a new printed page after it (one page per section).
"""
from __future__ import annotations

import streamlit as st
from streamlit.errors import StreamlitAPIException

from monitor.plain import html_escape
from monitor.views.style import BLUE

PRINT_PARAM = "print"
_TRUE = ("1", "true", "yes", "on", "はい")
HEADER_KEY = "dx_print_header"
SECTION_PREFIX = "dx_print_page_"
KEEP_PREFIX = "dx_print_keep_"     # a container printed on one page (short tables: keep_together)

# Print geometry: the browser lays the page out CONTENT_WIDTH_PX wide and Chromium scales it by PDF_SCALE onto A4
# landscape (297 mm − 2 × 8 mm margins ≈ 1062 px at 96 dpi). The top and bottom margins hold the running header
# and footer (monitor/report_pdf.py). A page holds about PAGE_HEIGHT_PX of layout.
PDF_SCALE = 0.75
PAGE_MARGIN_MM = 8
PAGE_MARGIN_TOP_MM = 13
PAGE_MARGIN_BOTTOM_MM = 12
VIEWPORT_WIDTH_PX = 1416          # 1062 px / 0.75
CONTENT_WIDTH_PX = 1360
PAGE_HEIGHT_PX = 930              # (210 mm − 25 mm) ≈ 699 px / 0.75
CHART_WIDTH_PX = 1320
CHART_HEIGHT_PX = 400

PRINT_CSS = f"""
<style>
/* 印刷・スクリーンショット用レイアウト（?{PRINT_PARAM}=1） */
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="collapsedControl"],
[data-testid="stSidebarNav"], header[data-testid="stHeader"], [data-testid="stHeader"], [data-testid="stToolbar"],
[data-testid="stDecoration"], [data-testid="stStatusWidget"], [data-testid="stMainMenu"],
[data-testid="stElementToolbar"], [data-testid="stBottom"], .stDeployButton, footer,
[data-testid="stDownloadButton"], .dx-screen-only,
[data-testid="stHeading"]:has(h1) {{
    display: none !important;
}}
html, body, #root, .stApp, [data-testid="stApp"], [data-testid="stAppViewContainer"], [data-testid="stMain"],
[data-testid="stMainBlockContainer"], section.main, .main {{
    height: auto !important; min-height: 0 !important; overflow: visible !important; position: static !important;
}}
[data-testid="stMainBlockContainer"], .block-container {{
    max-width: {CONTENT_WIDTH_PX}px !important; width: {CONTENT_WIDTH_PX}px !important;
    padding: 8px 12px 0 12px !important; margin: 0 !important;
}}
[data-testid="stPlotlyChart"], [data-testid="stDataFrame"], [data-testid="stMetric"],
[data-testid="stImage"], [data-testid="stAlert"], tr, svg, canvas, img, h1, h2, h3 {{
    break-inside: avoid; page-break-inside: avoid;
}}
/* a static table flows over pages (its header row repeated on each); kept whole only when short (KEEP_PREFIX).
   Its wrappers scroll on screen: printed, a scroll box would show an empty frame or a cut table */
[data-testid="stTable"], [data-testid="stTable"] > div, [data-testid="stTable"] table {{
    overflow: visible !important; max-height: none !important; height: auto !important;
    break-inside: auto; page-break-inside: auto;
}}
/* Streamlit makes the table inline-table: a line box is never split over pages, so the whole table would jump */
[data-testid="stTable"] table {{ display: table !important; }}
[data-testid="stTable"] thead {{ display: table-header-group; }}
[class*="st-key-{KEEP_PREFIX}"] {{ break-inside: avoid; page-break-inside: avoid; }}
/* a heading, a table's name and the note above a table stay with what follows them */
h2, h3, [data-testid="stElementContainer"]:has([data-testid="stHeading"]),
[data-testid="stElementContainer"]:has(+ [data-testid="stElementContainer"] [data-testid="stTable"]),
[data-testid="stElementContainer"]:has(+ [data-testid="stLayoutWrapper"] [data-testid="stTable"]) {{
    break-after: avoid; page-break-after: avoid;
}}
/* forced page breaks are honoured between block boxes, not reliably between flex items: lay the page out as blocks */
[data-testid="stMainBlockContainer"] [data-testid="stVerticalBlock"] {{ display: block !important; }}
[data-testid="stMainBlockContainer"] [data-testid="stVerticalBlock"] > * {{ margin-bottom: 10px; }}
[data-testid="stMainBlockContainer"] [data-testid="stLayoutWrapper"] {{ display: block !important; }}
/* one printed page per section: a keyed container sits in a stLayoutWrapper; break before every section but the first */
[data-testid="stLayoutWrapper"]:has(> [class*="st-key-{SECTION_PREFIX}"])
    ~ [data-testid="stLayoutWrapper"]:has(> [class*="st-key-{SECTION_PREFIX}"]),
[class*="st-key-{SECTION_PREFIX}"] ~ [class*="st-key-{SECTION_PREFIX}"] {{
    break-before: page; page-break-before: always;
}}
[data-testid="stTable"] table {{ font-size: 12.5px; }}
[data-testid="stTable"] th, [data-testid="stTable"] td {{ padding: 2px 6px !important; line-height: 1.35; }}
.dx-print-header {{ border-bottom: 2px solid {BLUE}; margin: 0 0 6px 0; padding: 0 0 4px 0; }}
.dx-print-header .dx-print-title {{ font-size: 26px; font-weight: 700; margin: 0; color: #1c2430; }}
.dx-print-header .dx-print-caption {{ font-size: 14px; margin: 2px 0 0 0; color: #333; }}
@page {{ size: A4 landscape; margin: {PAGE_MARGIN_TOP_MM}mm {PAGE_MARGIN_MM}mm {PAGE_MARGIN_BOTTOM_MM}mm; }}
@media print {{
    * {{ -webkit-print-color-adjust: exact !important; print-color-adjust: exact !important; }}
    body {{ background: #fff !important; }}
}}
</style>
"""


def is_print_mode() -> bool:
    """True when the URL asks for the print layout (``?print=1``)."""
    try:
        value = st.query_params.get(PRINT_PARAM)
    except Exception:  # noqa: BLE001 - outside a Streamlit run: not print mode
        return False
    return value is not None and str(value).strip().lower() in _TRUE


def header_html(title: str, caption_text: str) -> str:
    # markdown runs over this HTML too: html_escape leaves no markdown syntax (links, images) in the text
    return (f'<div class="dx-print-header"><p class="dx-print-title">{html_escape(title)}</p>'
            f'<p class="dx-print-caption">{html_escape(caption_text)}</p></div>')


def apply_print_layout(title: str, caption_text: str) -> bool:
    """In print mode (``?print=1``): hide the sidebar, header and toolbar, fix the page geometry for A4 landscape and
    draw a header with ``title`` and ``caption_text`` (the active filters and the data's as-of). Returns whether
    print mode is on. Safe to call twice in one run (the header is drawn once)."""
    if not is_print_mode():
        return False
    try:
        box = st.container(key=HEADER_KEY)
    except StreamlitAPIException:  # already applied in this run
        return True
    with box:
        st.markdown(PRINT_CSS, unsafe_allow_html=True)
        st.markdown(header_html(title, caption_text), unsafe_allow_html=True)
    return True


def fixed_size(fig, *, width: int = CHART_WIDTH_PX, height: int = CHART_HEIGHT_PX):
    """In print mode: the figure at a fixed size that fits an A4 landscape page; otherwise unchanged."""
    if is_print_mode():
        fig.update_layout(width=width, height=height, autosize=False)
    return fig


def right_aligned(text, columns):
    """A Styler of ``text`` (a frame of display text for st.table) with ``columns`` right-aligned, their headers too.
    Streamlit writes text-align: left on every cell itself: only !important wins over it."""
    styled = text.style
    if columns:
        cols = list(text.columns)
        styled = styled.set_properties(subset=list(columns), **{"text-align": "right !important"}).set_table_styles(
            [{"selector": f"th.col{cols.index(c)}", "props": "text-align: right !important;"} for c in columns])
    return styled


def keep_together(key: str):
    """A container that is never split over two printed pages (a short table with its name)."""
    return st.container(key=f"{KEEP_PREFIX}{key}")


def page_section(key: str):
    """A container that is one printed page (a page break follows it in print mode)."""
    return st.container(key=f"{SECTION_PREFIX}{key}")
