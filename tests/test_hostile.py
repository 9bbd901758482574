"""A hostile record set (tests/support/hostile.py: markdown links and images, HTML tags, formula prefixes, zero-width and RTL
characters, very long strings — in client and consortium names, coordinators, themes, notes, a file name, a sheet
name, a CSV header and URL filter values) loaded through the real loader, then every page in AppTest (normal and
?print=1), the charts' plotly JSON, the map tooltip and every export: nothing reaches markdown, HTML or plotly as
markup, nothing in a CSV or xlsx is evaluable. The browser half (what Chromium builds and fetches, the PDF) is
tests/test_browser_hostile.py."""
from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import zipfile

import openpyxl
import pandas as pd
import pytest

from monitor import exports, intake
from monitor.views import map as maps
from monitor.plain import as_displayed, html_escape, md_escape, md_frame, plotly_text, tooltip_text
from monitor.views.report import build_report
from tests.support.etl_helpers import query
from tests.support.hostile import (
    FY,
    MARK,
    build_hostile_db,
    hostile_consortium,
    strings,
    url_params,
    write_hostile_files,
)
from tests.support.pages import open_page

ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent
TRAP = "http://127.0.0.1:9"          # nothing listens there; the browser test runs a counting server instead
PAGES = ["app.py", "pages/1_伴走支援の進捗.py", "pages/2_相談テーマ.py", "pages/3_地図.py", "pages/4_データ取込.py",
         "pages/5_報告.py"]
# the app's own markup around escaped text (the context caption, the print header, bold file names)
OWN_MARKUP = ("<span style='white-space:nowrap'>", "</span>", '<div class="dx-print-header">', "</div>",
              '<p class="dx-print-title">', '<p class="dx-print-caption">', "</p>")
# what markdown / HTML / Streamlit would act on, unescaped
LIVE = [re.compile(p) for p in (
    r"(?<!\\)\]\(",                 # [text](url) and ![alt](src)
    r"(?<!\\)<[a-zA-Z/]",           # raw HTML tags and <autolinks>
    r"(?<!\\)\*\*",                 # bold
    r"(?<!\\):red\[",               # Streamlit colour
    r"(?<!\\)\$x",                  # math
    r"https?:(?!\\)//|https?://",   # autolink literal (escaped is http\://)
    r"(?<![\\&#0-9])www\.",          # www. autolink
)]


@pytest.fixture(scope="module")
def hostile_db(sample_db_master, tmp_path_factory):
    return build_hostile_db(tmp_path_factory.mktemp("hostile"), TRAP, sample_db_master)


@pytest.fixture()
def hostile_env(hostile_db, monkeypatch):
    monkeypatch.setenv("DX_DB_PATH", str(hostile_db))
    return hostile_db


def _live(body: str) -> list[str]:
    text = body
    for own in OWN_MARKUP:
        text = text.replace(own, "")
    if text.startswith("**") and "**" in text[2:]:                # the app's own **bold** around a name
        first_close = text.index("**", 2)
        text = text[2:first_close] + text[first_close + 2:]
    return [p.pattern for p in LIVE if p.search(text)]


def _sources(at) -> list[str]:
    """Every text Streamlit renders as markdown on this run: markdown, captions, alerts, headings, table cells,
    widget and button labels."""
    out = []
    for kind in ("markdown", "caption", "warning", "info", "error", "success", "title", "subheader", "header"):
        out += [e.value for e in getattr(at, kind)]
    for t in at.table:
        df = t.value
        out += [v for col in df.columns for v in df[col].tolist() if isinstance(v, str)]
    for kind in ("download_button", "button"):
        out += [e.proto.label for e in at.get(kind)]
    return out


def _figures(at) -> list[dict]:
    return [json.loads(e.proto.spec) for e in at.get("plotly_chart")]


def _strings_in(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _strings_in(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings_in(v)


# ── the record set went in as it is ─────────────────────────────────────────

def test_hostile_records_are_stored_exactly(hostile_db):
    s = strings(TRAP)
    names = {r[0] for r in query(hostile_db, "SELECT client_name FROM engagements WHERE engagement_id LIKE 'HX-%'")}
    # RTL marks and 3,000-character names kept as they are; zero-width characters are removed on load (dx_text
    # normalises look-alike keys, issue 14)
    invisible = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
    assert names == {v.translate(invisible) for v in s.values()}
    consortia = {r[0] for r in query(hostile_db, "SELECT DISTINCT consortium FROM engagements "
                                                 "WHERE engagement_id LIKE 'HX-%'")}
    assert hostile_consortium(TRAP) in consortia
    files = {r[0] for r in query(hostile_db, "SELECT file_name FROM load_history")}
    assert any(MARK in f and "<img" in f for f in files)


# ── helpers ─────────────────────────────────────────────────────────────────

@pytest.mark.parametrize("name", list(strings(TRAP)))
def test_escapers_leave_no_markup_and_keep_the_text(name):
    text = strings(TRAP)[name]
    flat = text.replace("\n", " ")
    assert not _live(md_escape(text)) and as_displayed(md_escape(text)) == flat
    assert not _live(html_escape(text)) and as_displayed(html_escape(text)) == flat
    assert "<" not in plotly_text(text) and ">" not in plotly_text(text)
    assert "<" not in tooltip_text(text) and "{" not in tooltip_text(text)


def test_escape_catches_what_markdown_would_act_on():
    """The check itself: the raw strings are live, so a page passing one on unescaped fails."""
    for name in ("md_link", "md_image", "html", "plotly", "streamlit"):
        assert _live(strings(TRAP)[name]), name


def test_md_frame_escapes_text_cells_only():
    df = pd.DataFrame({"支援先": [strings(TRAP)["md_image"], "54.7"], "回数": [1, 2]})
    out = md_frame(df)
    assert out["支援先"].tolist() == [md_escape(strings(TRAP)["md_image"]), "54.7"] and out["回数"].tolist() == [1, 2]


# ── every page, normal and print, with hostile records and a crafted URL ─────

@pytest.mark.parametrize("printing", [False, True])
@pytest.mark.parametrize("page", PAGES)
def test_pages_render_record_and_url_text_as_text(hostile_env, page, printing):
    params = {**url_params(TRAP), **({"print": "1"} if printing else {})}
    if page.endswith("5_報告.py"):
        params["コンソーシアム"] = hostile_consortium(TRAP)           # 報告 of the hostile consortium
    at = open_page(str(ROOT / page), **params).run()
    assert not at.exception, [e.value for e in at.exception]
    sources = _sources(at)
    bad = [(b[:120], _live(b)) for b in sources if MARK in b and _live(b)]      # MARK: made from hostile text
    assert not bad
    shown = [as_displayed(b) for b in sources if MARK in b]
    if not page.endswith("4_データ取込.py"):
        # the crafted URL values are quoted in the notices, as text (not on 報告 when the consortium is valid)
        notices = " ".join(as_displayed(w.value) for w in at.warning)
        assert f"[押して{MARK}](http://evil.example/)" in notices
        assert shown
    for fig in _figures(at):
        for text in _strings_in(fig.get("data", [])):
            if MARK in text:
                assert "<" not in text and ">" not in text, text[:200]
        for text in _strings_in(fig.get("layout", {}).get("title", {})):
            assert "<a" not in text and "<b>" not in text and "<img" not in text


def test_charts_carry_hostile_names_as_entities(hostile_env):
    """The 報告 and 進捗 charts name the hostile consortium and clients; plotly gets them as entities only."""
    seen = entities = 0
    for page, extra in (("pages/5_報告.py", {"コンソーシアム": hostile_consortium(TRAP)}), ("pages/1_伴走支援の進捗.py", {})):
        at = open_page(str(ROOT / page), 年度=str(FY), **extra).run()
        assert not at.exception
        for fig in _figures(at):
            for text in _strings_in(fig):
                if MARK in text:
                    seen += 1
                    # a subtitle's lines are joined by the app's own <br> (style.subtitle_text): the hostile text is in
                    # the lines, where no tag may be — and its own <br> must come through as an entity
                    for line in text.split("<br>"):
                        assert not re.search(r"<\s*/?\s*(a|b|br|span|img|i|em|sup|sub)\b", line, re.I), line[:200]
                    if "社" + MARK in text and "以下省略" not in text:     # a long label is cut (40 characters)
                        assert "&lt;br&gt;" in text, text[:200]
                    entities += "&lt;" in text
    assert seen and entities, "no chart showed a hostile name with markup: the test would prove nothing"


def test_map_tooltip_values_are_html_escaped():
    s = strings(TRAP)
    points = pd.DataFrame({"municipality_code": ["082279"], "municipality": [s["html"]], "prefecture": [s["md_link"]],
                           "lat": [36.3], "lng": [139.9], "engagements": [1], "sessions": [2], "consultations": [0]})
    (record,) = maps.point_records(points)
    for field in ("name", "area", "municipality", "prefecture"):
        assert "<" not in record[field] and ">" not in record[field], field
    assert record["name"] == tooltip_text(s["html"]) and "&lt;b&gt;" in record["name"]
    assert "{name}" in maps.tooltip("engagements")["html"]    # the template deck.gl fills with these values as HTML


# ── exports: nothing evaluable ───────────────────────────────────────────────

SPREADSHEET_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _csv_cells(data: bytes) -> list[str]:
    text = data.decode("utf-8-sig")
    return [c for row in csv.reader(io.StringIO(text)) for c in row]


def _check_csv(data: bytes) -> int:
    hostile = 0
    for cell in _csv_cells(data):
        if cell.startswith(SPREADSHEET_PREFIXES):
            assert re.fullmatch(r"-\d[\d,]*(\.\d+)?", cell), cell[:80]          # a negative number only
        if MARK in cell:
            hostile += 1
    return hostile


def _check_xlsx(data: bytes) -> int:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    hostile = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, str(cell.value)[:80])
                if isinstance(cell.value, str) and MARK in cell.value:
                    hostile += 1
                    assert cell.data_type == "s"
    return hostile


def test_report_exports_hold_hostile_text_as_text(hostile_env):
    report = build_report(FY, hostile_consortium(TRAP))
    xlsx = exports.to_xlsx(report.tables(), report.conditions(""), report.definitions)
    assert _check_xlsx(xlsx) > 0
    with zipfile.ZipFile(io.BytesIO(exports.to_csv_zip(report.tables(), report.conditions(""), report.definitions))) as z:
        found = sum(_check_csv(z.read(n)) for n in z.namelist())
    assert found > 0
    for df in report.tables().values():
        _check_csv(exports.to_csv(df))
    # the formula itself is there, as text behind a quote (independent of the app: the stored value)
    formula = strings(TRAP)["formula"]
    cells = [c for n in ("x",) for c in _csv_cells(exports.to_csv(pd.DataFrame({"x": [formula]})))]
    assert cells == ["x", "'" + formula]


def test_page_table_csvs_are_formula_safe(hostile_env):
    from monitor.views import progress, themes  # noqa: PLC0415  (after the test's environment is set)
    from monitor.read.filters import Filters  # noqa: PLC0415  (after the test's environment is set)
    from monitor.read.queries import run_query  # noqa: PLC0415  (after the test's environment is set)
    f = Filters(fiscal_year=FY)
    frames = [progress.progress_table(run_query("engagement_progress_page", f, only_stalled=False, progress_only=True,
                                              max_rows=500, offset=0)),
              themes.theme_records_table(run_query("theme_records", f, theme=themes.UNMAPPED,
                                                         max_rows=300)),
              intake.load_history()]
    assert sum(_check_csv(exports.to_csv(df)) for df in frames) > 0


def test_rejected_rows_xlsx_is_formula_safe(hostile_db, tmp_path):
    loads = intake.loads_with_rejections(hostile_db)
    assert loads, "the hostile xlsx has formula cells: its rows are rejected"
    frames = intake.rejected_frames(loads[0][0], hostile_db)
    assert _check_xlsx(intake.rejected_xlsx(frames, loads[0][1])) > 0
    # and a validation (not loaded) of the hostile files gives the same safety
    files = write_hostile_files(tmp_path / "again", TRAP)
    v = intake.validate_uploads([(p.name, p.read_bytes()) for p in files], hostile_db)
    try:
        assert v.pending_rejected and _check_xlsx(intake.rejected_xlsx(v.pending_rejected, "検証")) > 0
        warnings = [w for name in intake.file_names(v.report) for w in intake.file_warnings(v.report, name)]
        assert any(MARK in w for w in warnings), "the hostile sheet name or header is echoed in a warning"
        assert not [w for w in warnings if _live(md_escape(w))]
    finally:
        v.discard()


# ── server settings ──────────────────────────────────────────────────────────

def test_streamlit_reads_the_hardened_settings():
    code = ("from streamlit import config; config.get_config_options(force_reparse=True); import json; "
            "print(json.dumps({k: config.get_option(k) for k in ('server.allowedHosts', 'client.showErrorDetails', "
            "'client.showErrorLinks', 'client.disableDataExport', 'browser.serverAddress', "
            "'browser.gatherUsageStats', 'server.enableXsrfProtection')}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    opts = json.loads(out.stdout.strip().splitlines()[-1])
    assert opts["server.allowedHosts"] and "*" not in opts["server.allowedHosts"]
    assert str(opts["client.showErrorDetails"]).lower() in ("none", "false")
    assert str(opts["client.showErrorLinks"]).lower() == "false"
    assert opts["client.disableDataExport"] is True
    assert opts["browser.serverAddress"] == "localhost"
    assert opts["browser.gatherUsageStats"] is False and opts["server.enableXsrfProtection"] is True
