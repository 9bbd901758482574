"""Text that a user, a URL or a record supplies, made safe to show as plain text in each place that would otherwise
interpret it (Streamlit markdown, HTML, plotly's SVG text, deck.gl tooltips, spreadsheet cells).

    md_escape(s)       st.markdown / caption / info / warning / error / success / st.table cells / widget labels
    html_escape(s)     inside HTML given to st.markdown(unsafe_allow_html=True) (markdown still runs over it)
    plotly_text(s)     plotly titles, names, categories, text, customdata, ticktext
    tooltip_text(s)    values substituted into a pydeck tooltip's "html"
    md_frame(df)       a DataFrame whose text cells are md_escape'd (for st.table in the print layouts)

Only what markdown (CommonMark + GFM) and Streamlit's extensions would read is escaped — a backslash before any ASCII
punctuation character shows that character — so messages stay readable in their source: brackets, emphasis, code,
HTML and <autolinks>, tables, ~, $…$ math, &entities;, :red[…] colours and :icon: codes, and a list, quote or
heading marker at the start. http://, www. and e-mail links get an invisible WORD JOINER (U+2060) inside: GFM finds
them after the escapes are resolved. In HTML that markdown also reads, numeric character
references are literal text to both parsers, so they escape for both at once.
"""
from __future__ import annotations

import re
from typing import Any

import pandas as pd

_NEWLINES = re.compile(r"\r\n?|\n")
# figures and dates as display_frame writes them (1,234 / 54.7 / 12% / 2022/10/05): no markdown in them, kept as they are
_INERT = re.compile(r"[+-]?\d[\d,]*(?:\.\d+)?[%％]?|\d{4}/\d{1,2}/\d{1,2}")
# markdown syntax anywhere in a line: emphasis, code, links and images ([ ] — so "](" never forms), raw HTML and
# <autolinks>, tables, strikethrough, math ($), entities (&), e-mail autolinks (@), headings (#)
_ALWAYS = set("\\`*[]{}<>|~$&#")
# GFM finds http://, www. and e-mail links in the text *after* escapes are resolved (mdast-util-gfm-autolink-literal
# searches the text nodes), so no escape stops them: an invisible WORD JOINER inside the pattern does
BREAK = "\u2060"
_BLOCK_START = re.compile(r"\s*(?:[-+=>]|\d+[.)])")     # a list, quote or heading marker at the start of the text


def _escape(value: Any, esc) -> str:
    s = _NEWLINES.sub(" ", "" if value is None else str(value))
    out = []
    for i, ch in enumerate(s):
        prev, nxt = s[i - 1] if i else "", s[i + 1] if i + 1 < len(s) else ""
        if ch in _ALWAYS:
            out.append(esc(ch))
        elif ch == "_" and not (prev.isalnum() and nxt.isalnum()):
            out.append(esc(ch))                     # emphasis (inside a word such as DX_DB_PATH it is none)
        elif ch == ":" and s[max(0, i - 5):i].lower().endswith(("http", "https")) and s[i + 1:i + 3] == "//":
            out.append(esc(ch) + BREAK)             # http:// autolinks (see BREAK)
        elif ch == ":" and nxt.isascii() and (nxt.isalnum() or nxt == "/"):
            out.append(esc(ch))                     # :red[…] colours, :emoji: and :material/…: icons
        elif ch == "." and s[max(0, i - 3):i].lower() == "www":
            out.append(BREAK + esc(ch))             # www. autolinks
        elif ch == "@":
            out.append(esc(ch) + BREAK)             # e-mail autolinks
        elif ch in "\"'" and esc is not _backslash:
            out.append(esc(ch))                     # attribute quotes, in HTML only
        else:
            out.append(ch)
    text = "".join(out)
    m = _BLOCK_START.match(text)
    if m:
        text = text[:m.end() - 1] + esc(text[m.end() - 1]) + text[m.end():]
    return text


def _backslash(ch: str) -> str:
    return "\\" + ch


def _reference(ch: str) -> str:
    return f"&#{ord(ch)};"


def md_escape(value: Any) -> str:
    """``value`` as text that Streamlit's markdown shows literally (no link, image, emphasis, HTML, math, colour,
    icon, heading or list); a newline becomes a space."""
    return _escape(value, _backslash)


def html_escape(value: Any) -> str:
    """``value`` for HTML that markdown also reads (st.markdown(..., unsafe_allow_html=True)): the characters
    md_escape escapes, and quotes, as numeric character references; a newline becomes a space."""
    return _escape(value, _reference)


def plotly_text(value: Any) -> str:
    """``value`` for plotly.js text (titles, trace names, category labels, hover values): plotly turns ``<a href>``,
    ``<b>``, ``<br>``, ``<span style>`` … and newlines into markup and then decodes entities, so ``&``, ``<`` and
    ``>`` become entities (shown as the characters) and a newline a space."""
    s = _NEWLINES.sub(" ", "" if value is None else str(value))
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def tooltip_text(value: Any) -> str:
    """``value`` for a deck.gl tooltip ``html`` template (inserted as HTML without escaping)."""
    s = "" if value is None else str(value)
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("'", "&#39;").replace("{", "&#123;").replace("}", "&#125;"))


def md_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` for st.table (which renders cell text as markdown): every text cell md_escape'd; numbers,
    dates and missing values unchanged (the column names are the app's own)."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s):
            out[col] = [md_escape(v) if isinstance(v, str) and not _INERT.fullmatch(v) else v
                        for v in s.tolist()]
    return out


_BACKSLASHED = re.compile(r"\\([!-/:-@\[-`{-~])")


def as_displayed(markup: str) -> str:
    """Roughly the text a reader sees for markdown made with md_escape / html_escape (backslash escapes and
    character references undone; tags are left as they are). For tests that read element sources."""
    import html  # noqa: PLC0415
    return html.unescape(_BACKSLASHED.sub(r"\1", markup)).replace(BREAK, "")
