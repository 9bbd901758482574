"""報告: the report tables equal an independent SQL computation over the sample; the figures in the Excel and CSV
exports equal the figures on the page (AppTest of pages/5_報告.py); chart PNGs are valid images of the stated size."""
from __future__ import annotations

import csv
import datetime as dt
import io
import math
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import plotly.graph_objects as go
import pytest
from streamlit.testing.v1 import AppTest

from monitor.views.style import MANY_CONSORTIA
from monitor.exports import (
    CONDITIONS_SHEET,
    IMAGE_HEIGHT,
    IMAGE_WIDTH,
    figure_png,
    figures_zip,
    png_size,
    safe_file_name,
)
from monitor.plain import as_displayed
from monitor.exports import to_xlsx
from monitor.views.report import (
    PRINT_MAX_ROWS, RATE_CAP_PCT, T_COMPANIES, T_EVENTS, T_MONTHLY, T_MUNICIPALITIES, T_SUMMARY, T_THEMES,
    achievement_figure, build_report, display_frame, print_table,
)
from tests.support.pages import REPORT_PAGE as PAGE
from tests.support.pages import run_page

ROOT = Path(__file__).resolve().parent.parent
FY = 2022
IBARAKI = "茨城県DX支援コミュニティ"


def _one(con, sql, params=None):
    return con.execute(sql, params or {}).fetchall()[0][0]


def _summary(report) -> dict[str, tuple]:
    df = report.tables()[T_SUMMARY]
    return {item: (None if pd.isna(a) else float(a), None if pd.isna(t) else float(t),
                   None if pd.isna(r) else float(r))
            for item, a, t, r in zip(df["項目"], df["実績"], df["目標"], df["達成率（%）"])}


def _rate(actual, target):
    return round(100.0 * actual / target, 1) if target else None


# ── independent computation ────────────────────────────────────────────────

def test_consortium_report_equals_independent_sql(sample_db):
    report = build_report(FY, IBARAKI, path=sample_db)
    s = _summary(report)
    con = duckdb.connect(str(sample_db), read_only=True)
    p = {"fy": FY, "c": IBARAKI}
    seminars = _one(con, "SELECT count(*) FROM events WHERE fiscal_year=$fy AND consortium=$c "
                         "AND kind IN ('DX気づきセミナー','DXセミナー1','DXセミナー2')", p)
    attendees = _one(con, "SELECT sum(attendees) FROM events WHERE fiscal_year=$fy AND consortium=$c "
                          "AND kind IN ('DX気づきセミナー','DXセミナー1','DXセミナー2')", p)
    companies = _one(con, "SELECT count(DISTINCT client_name) FROM engagements WHERE fiscal_year=$fy "
                          "AND consortium=$c AND client_type='企業' AND status IN ('実施中','完了')", p)
    planned = _one(con, "SELECT sum(coalesce(planned_sessions, 10)) FROM engagements WHERE fiscal_year=$fy "
                        "AND consortium=$c AND support_type='伴走支援' AND status <> '中止'", p)
    sessions, bank, bank_known = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE s.bank_attended), count(s.bank_attended) FROM sessions s "
        "JOIN engagements e USING (engagement_id) WHERE s.fiscal_year=$fy AND e.consortium=$c "
        "AND e.support_type='伴走支援'", p).fetchall()[0]
    plans = _one(con, "SELECT count(*) FROM engagements WHERE fiscal_year=$fy AND consortium=$c "
                      "AND support_type='伴走支援' AND deliverable LIKE '%計画書%' AND deliverable_date IS NOT NULL", p)
    targets = dict(con.execute("SELECT indicator, target FROM targets WHERE fiscal_year=$fy AND consortium=$c",
                               p).fetchall())
    assert seminars == 3 and sessions > 0 and targets  # the sample has what the report is about

    assert s["セミナー開催回数"] == (seminars, None, None)
    assert s["セミナー参加者数"] == (attendees, targets["セミナー参加者数"],
                                     _rate(attendees, targets["セミナー参加者数"]))
    assert s["支援企業数"] == (companies, targets["支援企業数"], _rate(companies, targets["支援企業数"]))
    assert s["伴走支援 予定回数"][0] == planned
    assert s["伴走支援 実施回数"] == (sessions, targets["伴走回数"], _rate(sessions, targets["伴走回数"]))
    assert s["DX計画書策定数"] == (plans, targets["DX計画書策定数"], _rate(plans, targets["DX計画書策定数"]))
    bank_pct = round(100.0 * bank / bank_known, 1)
    bank_target = targets["金融機関同行率"] * (100 if targets["金融機関同行率"] <= 1 else 1)
    assert s["金融機関同行率"] == (bank_pct, bank_target, _rate(bank_pct, bank_target))
    # no municipal support in a consortium: those rows are left out, not shown as 0 against nothing
    assert "支援自治体数" not in s and "相談件数" not in s

    # seminars per kind
    ev = report.tables()[T_EVENTS]
    expected = con.execute("SELECT kind, count(*), sum(attendees) FROM events WHERE fiscal_year=$fy "
                           "AND consortium=$c GROUP BY kind", p).fetchall()
    assert sorted(zip(ev["種別"], ev["開催回数"].astype(int), ev["参加者数"].astype(int))) == sorted(expected)

    # one row per 伴走支援 engagement: sessions held in the year against planned, bank attendance
    comp = report.tables()[T_COMPANIES]
    expected = con.execute(
        "SELECT e.engagement_id, coalesce(e.planned_sessions, 10), count(s.session_no), "
        "count(s.session_no) FILTER (WHERE s.bank_attended) FROM engagements e "
        "LEFT JOIN sessions s ON s.engagement_id = e.engagement_id AND s.fiscal_year = $fy "
        "WHERE e.fiscal_year=$fy AND e.consortium=$c AND e.support_type='伴走支援' GROUP BY ALL", p).fetchall()
    got = list(zip(comp["案件ID"], comp["予定回数"].astype(int), comp["実施回数"].astype(int),
                   comp["金融機関同行回数"].astype(int)))
    assert sorted(got) == sorted(expected)
    assert int(comp["実施回数"].sum()) == sessions

    # months: April to March, every month listed, adding up to the year's sessions
    monthly = report.tables()[T_MONTHLY]
    assert monthly["月"].tolist() == [dt.date(FY + (m < 4), m, 1) for m in [4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3]]
    by_month = dict(con.execute(
        "SELECT date_trunc('month', s.date)::DATE, count(*) FROM sessions s JOIN engagements e USING (engagement_id) "
        "WHERE s.fiscal_year=$fy AND e.consortium=$c AND e.support_type='伴走支援' GROUP BY 1", p).fetchall())
    assert {m: int(n) for m, n in zip(monthly["月"], monthly["実施回数"]) if n} == by_month
    assert int(monthly["累計実施回数"].iloc[-1]) == sessions
    con.close()


def test_programme_report_equals_independent_sql(sample_db):
    report = build_report(FY, None, path=sample_db)
    s = _summary(report)
    con = duckdb.connect(str(sample_db), read_only=True)
    p = {"fy": FY}
    municipalities = _one(con, """
        SELECT count(*) FROM (
            SELECT client_name FROM engagements WHERE fiscal_year=$fy AND client_type='自治体'
                AND status IN ('実施中','完了')
            UNION SELECT client_name FROM consultations WHERE fiscal_year=$fy)""", p)
    consultations = _one(con, "SELECT count(*) FROM consultations WHERE fiscal_year=$fy", p)
    trainees = _one(con, "SELECT sum(attendees) FROM events WHERE fiscal_year=$fy AND kind IN ('職員研修','基礎研修')", p)
    sessions = _one(con, "SELECT count(*) FROM sessions s JOIN engagements e USING (engagement_id) "
                         "WHERE s.fiscal_year=$fy AND e.support_type='伴走支援'", p)
    targets = con.execute("SELECT consortium, indicator, target FROM targets WHERE fiscal_year=$fy", p).df()

    def target(indicator):
        rows = targets[targets["indicator"] == indicator]
        whole = rows[rows["consortium"] == ""]
        return float(whole["target"].iloc[0]) if len(whole) else float(rows["target"].sum())

    assert s["支援自治体数"] == (municipalities, target("支援自治体数"), _rate(municipalities, target("支援自治体数")))
    assert s["相談件数"] == (consultations, target("相談件数"), _rate(consultations, target("相談件数")))
    assert s["研修受講者数"] == (trainees, target("研修受講者数"), _rate(trainees, target("研修受講者数")))
    # the programme's 伴走回数 target is the sum of the consortia's
    assert s["伴走支援 実施回数"] == (sessions, target("伴走回数"), _rate(sessions, target("伴走回数")))

    themes = report.tables()[T_THEMES]
    expected = dict(con.execute("SELECT coalesce(theme, '未分類'), count(*) FROM consultations "
                                "WHERE fiscal_year=$fy GROUP BY 1", p).fetchall())
    assert dict(zip(themes["テーマ"], themes["相談件数"].astype(int))) == expected
    assert math.isclose(float(themes["構成比（%）"].sum()), 100.0, abs_tol=0.6)
    munis = report.tables()[T_MUNICIPALITIES]
    assert len(munis) == municipalities
    assert int(munis["相談件数"].sum()) == consultations
    con.close()


# ── the page and its exports ───────────────────────────────────────────────

def _norm(v):
    """A cell as the same plain value whether it came from the page, the .xlsx or the CSV."""
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v)) or v == "":
        return None
    if isinstance(v, (pd.Timestamp, dt.datetime)):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)) or hasattr(v, "item"):
        return round(float(v), 6)
    return v


def _norm_csv(text: str, page_value):
    """A CSV field read back as the type of the page's value (text stays text: 団体コード 062014 keeps its zero)."""
    if text == "":
        return None
    p = _norm(page_value)
    if isinstance(p, dt.date):
        return dt.date.fromisoformat(text)
    if isinstance(p, float):
        return round(float(text), 6)
    return text


def _rows(df: pd.DataFrame) -> list[list]:
    return [[_norm(v) for v in row] for row in df.astype(object).itertuples(index=False, name=None)]


def _deferred_downloads(monkeypatch) -> dict:
    """file name → the callable a download button of the page serves (the page builds exports only on click: the
    data of its download buttons are callables, which Streamlit registers with the media file manager)."""
    from streamlit.runtime.media_file_manager import MediaFileManager  # noqa: PLC0415  (inside the script AppTest runs)

    seen: dict = {}
    original = MediaFileManager.add_deferred

    def add_deferred(self, data_callable, mimetype, coordinates, file_name=None, **kw):
        seen[file_name] = data_callable
        return original(self, data_callable, mimetype, coordinates, file_name=file_name, **kw)

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    return seen


def _run_page(**query) -> AppTest:
    return run_page(PAGE, **query)


@pytest.mark.parametrize("consortium", [IBARAKI, None])
def test_exports_equal_the_page(sample_db_env, consortium, monkeypatch):
    query = {"年度": str(FY)}
    if consortium:
        query["コンソーシアム"] = consortium
    served = _deferred_downloads(monkeypatch)
    at = _run_page(**query)
    report = build_report(FY, consortium)
    assert report.title in [s.value for s in at.subheader]

    # the tables on the page, in order (empty tables are not drawn)
    names = [n for n, df in report.tables().items() if not df.empty]
    shown = [d.value for d in at.dataframe]
    assert len(shown) == len(names) + 1                     # and 指標の定義, which the exports put on 条件
    assert set(shown[-1]["指標"]) >= set(report.tables()[T_SUMMARY]["項目"])          # what the report shows
    page = dict(zip(names, shown))
    assert page[T_SUMMARY]["項目"].tolist() == report.tables()[T_SUMMARY]["項目"].tolist()

    # what the page's two download buttons serve when clicked
    stem = safe_file_name(report.file_stem())
    downloads = {"xlsx": served[f"{stem}.xlsx"](), "csv_zip": served[f"{stem}_csv.zip"]()}
    wb = openpyxl.load_workbook(io.BytesIO(downloads["xlsx"]))
    assert wb.sheetnames[0] == CONDITIONS_SHEET
    rows = list(wb[CONDITIONS_SHEET].iter_rows(min_row=2, values_only=True))
    blank = next(i for i, r in enumerate(rows) if r[0] is None)
    conditions = {r[0]: r[1] for r in rows[:blank]}
    assert conditions["年度"] == "令和4年度（2022年度）"
    assert conditions["対象"] == (consortium or "事業全体")
    assert conditions["絞り込み"] == f"年度: 令和4年度（2022年度）｜対象: {consortium or '事業全体'}"
    assert conditions["適用していない絞り込み"] == "なし"
    # 指標の定義 below the 条件: every glossary indicator with its rule
    assert rows[blank + 1][0] == "指標の定義"
    defined = {r[0]: r[2] for r in rows[blank + 3:]}
    assert defined == dict(zip(report.definitions["指標"], report.definitions["定義"]))
    assert conditions["データ基準日"] == "2025年2月28日"
    assert conditions["データの種類"].startswith("サンプルデータ")
    assert conditions["出力日時"]

    with zipfile.ZipFile(io.BytesIO(downloads["csv_zip"])) as zf:
        csvs = {Path(n).stem: list(csv.reader(io.StringIO(zf.read(n).decode("utf-8-sig"), newline="")))
                for n in zf.namelist()}
    assert dict(csvs["条件"][1:])["年度"] == "令和4年度（2022年度）"

    for name, df in page.items():
        ws = wb[name]
        values = list(ws.iter_rows(values_only=True))
        assert list(values[0]) == list(df.columns), name
        assert [[_norm(v) for v in row] for row in values[1:]] == _rows(df), name
        rows = csvs[name]
        assert rows[0] == list(df.columns), name
        page_rows = df.astype(object).values.tolist()
        assert len(rows) - 1 == len(page_rows), name
        assert [[_norm_csv(t, v) for t, v in zip(r, pr)] for r, pr in zip(rows[1:], page_rows)] == _rows(df), name
        # numbers are numeric cells, dates are date cells in the .xlsx
        for j, col in enumerate(df.columns):
            for i, v in enumerate(df[col].tolist(), start=2):
                cell = ws.cell(row=i, column=j + 1)
                if isinstance(v, dt.date):
                    assert cell.is_date, (name, col)
                elif isinstance(_norm(v), float):
                    assert cell.data_type == "n", (name, col)
                elif isinstance(v, str) and v:          # an empty text is an empty cell
                    assert cell.data_type == "s", (name, col)


def test_narrowing_filters_do_not_change_the_report_and_the_page_says_so(sample_db_env):
    """The report is 年度 × コンソーシアム only: a 担当ITC (or 都道府県) chosen in the sidebar is named as not applied."""
    with duckdb.connect(str(sample_db_env), read_only=True) as con:
        coordinator = con.execute("""SELECT lead_coordinator FROM engagements WHERE fiscal_year = ?
                                     GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1""", [FY]).fetchall()[0][0]
    plain = _run_page(**{"年度": str(FY)})
    narrowed = _run_page(**{"年度": str(FY), "担当ITC": coordinator})
    assert narrowed.multiselect(key="flt_coordinators").value == [coordinator]
    assert [d.value.to_dict() for d in narrowed.dataframe] == [d.value.to_dict() for d in plain.dataframe]
    warnings = " ".join(as_displayed(w.value) for w in narrowed.warning)
    assert f"担当ITC: {coordinator} は報告には適用していません" in warnings
    assert not [w for w in plain.warning if "適用していません" in w.value]


def test_print_header_and_conditions_claim_only_what_the_report_applies(sample_db_env, monkeypatch):
    """報告?年度=2024&都道府県=長野県&print=1 showed 「都道府県: 長野県」 above whole-programme figures."""
    at = _run_page(**{"年度": "2024", "都道府県": "長野県", "print": "1"})
    header = as_displayed("\n".join(m.value for m in at.markdown if "dx-print-header" in m.value or "データ基準日" in m.value))
    assert "年度: 令和6年度（2024年度）｜対象: 事業全体" in header
    assert "報告に適用していない絞り込み: 都道府県: 長野県" in header
    assert "都道府県: 長野県｜" not in header.replace("報告に適用していない絞り込み: 都道府県: 長野県", "")
    # the figures are the whole programme's, not 長野県's
    whole = build_report(2024, None).tables()[T_SUMMARY]
    assert at.table[0].value["実績"].tolist() == display_frame(whole)["実績"].tolist()
    # the exports' 条件 say the same
    served = _deferred_downloads(monkeypatch)
    at = _run_page(**{"年度": "2024", "都道府県": "長野県"})
    stem = safe_file_name(build_report(2024, None).file_stem())
    wb = openpyxl.load_workbook(io.BytesIO(served[f"{stem}.xlsx"]()))
    rows = list(wb[CONDITIONS_SHEET].iter_rows(min_row=2, values_only=True))
    conditions = {r[0]: r[1] for r in rows[:next(i for i, r in enumerate(rows) if r[0] is None)]}
    assert conditions["絞り込み"] == "年度: 令和6年度（2024年度）｜対象: 事業全体"
    assert conditions["適用していない絞り込み"] == "都道府県: 長野県"


def test_page_print_layout(sample_db_env):
    at = _run_page(**{"年度": str(FY), "コンソーシアム": IBARAKI, "print": "1"})
    html = as_displayed("\n".join(m.value for m in at.markdown))
    assert "@page" in html and "A4 landscape" in html and 'data-testid="stSidebar"' in html
    assert "令和4年度（2022年度） 実績報告｜茨城県DX支援コミュニティ" in html
    assert "データ基準日: 2025年2月28日" in html
    assert len(at.table) >= 4 and len(at.dataframe) == 0       # static tables print in full
    assert len(at.get("download_button")) == 0
    summary = at.table[0].value
    assert "金融機関同行率" in summary["項目"].tolist()


def test_page_without_fiscal_year_asks_for_one(sample_db_env):
    at = _run_page(**{"年度": "全年度"})
    assert any("年度を選んでください" in i.value for i in at.info)


@pytest.mark.browser  # Kaleido renders the PNGs in Chromium
def test_chart_pngs_are_images_of_the_stated_size(sample_db, tmp_path):
    report = build_report(FY, IBARAKI, path=sample_db)
    figures = report.figures()
    assert len(figures) >= 4
    one = figure_png(next(iter(figures.values())))
    assert png_size(one) == (IMAGE_WIDTH, IMAGE_HEIGHT) == (1200, 675)
    data = figures_zip(figures)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        assert len(names) == len(figures)
        for n in names:
            png = zf.read(n)
            assert png.startswith(b"\x89PNG\r\n\x1a\n")
            assert png_size(png) == (1200, 675)
            (tmp_path / n).write_bytes(png)
    # a chart sized by its rows (one per consortium at national scale) keeps its height in the PNG, not squeezed
    tall = go.Figure(next(iter(figures.values()))).update_layout(height=1308)
    assert png_size(figure_png(tall)) == (1200, 1308)
    with zipfile.ZipFile(io.BytesIO(figures_zip({"tall": tall, "plain": next(iter(figures.values()))}))) as zf:
        assert [png_size(zf.read(n)) for n in zf.namelist()] == [(1200, 1308), (1200, 675)]
    # every chart says what it shows and for which 年度 / 対象 / as-of
    for fig in figures.values():
        assert "令和4年度（2022年度）" in fig.layout.title.subtitle.text
        assert IBARAKI in fig.layout.title.subtitle.text
        assert "データ基準日" in fig.layout.title.subtitle.text


@pytest.mark.browser  # Kaleido renders the PNGs in Chromium
@pytest.mark.parametrize("chromium, renders", [("/usr/bin/chromium", True), ("/nonexistent/chromium", False)])
def test_chart_png_uses_only_the_configured_chromium(chromium, renders):
    """kaleido renders with DX_CHROMIUM (Debian's Chromium) and nothing else: pointed at a missing one, it fails
    instead of finding or downloading another browser. In a fresh process, so BROWSER_PATH is not inherited."""
    script = ("import plotly.graph_objects as go\n"
              "from monitor.exports import figure_png, png_size\n"
              "import os\n"
              "print(png_size(figure_png(go.Figure(go.Bar(x=[1], y=[2])))), os.environ['BROWSER_PATH'])\n")
    env = {k: v for k, v in os.environ.items() if k != "BROWSER_PATH"} | {"DX_CHROMIUM": chromium}
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    if renders:
        assert run.returncode == 0, run.stderr[-2000:]
        assert run.stdout.split() == ["(1200,", "675)", chromium]
    else:
        assert run.returncode != 0
        assert "ChromiumNotFound" in run.stderr and "apt-get install chromium fonts-noto-cjk" in run.stderr
        assert "get_chrome" not in run.stderr                        # no advice to download a browser


def _print_layout_script():
    import streamlit as st  # noqa: PLC0415  (inside the script AppTest runs)

    from monitor.print_layout import apply_print_layout, is_print_mode  # noqa: PLC0415  (inside the script AppTest runs)

    first = apply_print_layout("概要", "年度: 令和4年度（2022年度）｜データ基準日: 2025年2月28日")
    second = apply_print_layout("概要", "二度目")
    st.write(f"print={first},{second},{is_print_mode()}")


@pytest.mark.parametrize("value, on", [("1", True), ("true", True), ("0", False), (None, False)])
def test_apply_print_layout_once_per_run(value, on):
    at = AppTest.from_function(_print_layout_script, default_timeout=30)
    if value is not None:
        at.query_params["print"] = value
    at.run()
    assert not at.exception
    texts = [as_displayed(m.value) for m in at.markdown]
    assert f"print={on},{on},{on}" in texts
    headers = [t for t in texts if "dx-print-header" in t and "<div" in t]
    assert len(headers) == (1 if on else 0)
    if on:
        assert "概要" in headers[0] and "データ基準日: 2025年2月28日" in headers[0] and "二度目" not in headers[0]
        assert any("@page" in t for t in texts)


# ── at scale: a long company list is paged on screen, summed in the chart, complete in the exports ─────────────

@pytest.fixture(scope="module")
def large_db(tmp_path_factory) -> Iterator[Path]:
    from etl.generate import generate  # noqa: PLC0415  (heavy: imported where used)
    from etl.load import load_files  # noqa: PLC0415  (heavy: imported where used)

    out = tmp_path_factory.mktemp("large_report")
    generate(out / "records", sessions=40_000)
    db = out / "dx.duckdb"
    report = load_files(sorted((out / "records").glob("*.csv")), db, fresh=True)
    assert report.loaded
    yield db
    shutil.rmtree(out, ignore_errors=True)          # big: not kept until the end of the run


@pytest.mark.slow  # a generated programme of thousands of companies
def test_long_company_list_is_paged_and_the_exports_hold_every_row(large_db, monkeypatch):
    monkeypatch.setenv("DX_DB_PATH", str(large_db))
    with duckdb.connect(str(large_db), read_only=True) as con:
        fy = con.execute("SELECT max(fiscal_year) FROM engagements").fetchall()[0][0]
    report = build_report(fy, None, path=large_db)
    companies = report.tables()[T_COMPANIES]
    assert len(companies) > 500                                # the case this test is about
    served = _deferred_downloads(monkeypatch)
    at = _run_page(年度=str(fy))
    pager = at.number_input(key="report_page_companies_" + T_COMPANIES)
    shown = next(d.value for d in at.dataframe if "案件ID" in d.value.columns)
    assert len(shown) == 500
    assert _rows(shown) == _rows(companies.iloc[:500])
    pager.set_value(2).run()
    assert not at.exception
    shown = next(d.value for d in at.dataframe if "案件ID" in d.value.columns)
    assert _rows(shown) == _rows(companies.iloc[500:1000])
    # every table the page sends is bounded
    assert max(len(d.value) for d in at.dataframe) <= 500
    # the chart sums the companies per consortium instead of one bar group per company
    chart = report.figures()["支援企業"]
    held = chart.data[1]
    groups = companies["コンソーシアム"].nunique(dropna=False)
    # many consortia (generated: all 47): the bars run across, one labelled row per consortium
    assert groups > MANY_CONSORTIA and held.orientation == "h"
    names, values = held.y, held.x
    assert len(names) <= 47 and all("社）" in n for n in names)
    assert sum(values) == int(companies["実施回数"].sum())
    # the Excel export holds every company
    stem = safe_file_name(report.file_stem())
    wb = openpyxl.load_workbook(io.BytesIO(served[f"{stem}.xlsx"]()), read_only=True)
    assert wb[T_COMPANIES].max_row == len(companies) + 1


# ── print: long lists, totals, outliers ───────────────────────────────────

def test_long_printed_list_is_summed_per_group_and_says_what_is_left_out():
    """Over PRINT_MAX_ROWS rows the printed table is one row per コンソーシアム with a 合計, and a note says the list
    itself is not printed (never 'the first 300' that look complete); the sums are pandas' own."""
    n = PRINT_MAX_ROWS + 50
    names = [f"{p}DX支援コミュニティ" for p in ("北海道", "青森県", "岩手県", "宮城県", "秋田県")]
    df = pd.DataFrame({"コンソーシアム": [names[i % 5] for i in range(n)], "案件ID": [f"E{i}" for i in range(n)],
                       "支援先": [f"会社{i}" for i in range(n)],
                       "予定回数": pd.array([i % 7 for i in range(n)], dtype="Int64"),
                       "実施回数": pd.array([i % 5 for i in range(n)], dtype="Int64"),
                       "金融機関同行回数": pd.array([i % 2 for i in range(n)], dtype="Int64")})
    printed = print_table(df, T_COMPANIES)
    out = printed.frame
    assert out["コンソーシアム"].tolist() == [*names, "合計"]
    expected = df.groupby("コンソーシアム", sort=False)["実施回数"].sum()
    assert out["実施回数"].tolist()[:-1] == [int(expected[c]) for c in names]
    assert out["実施回数"].iloc[-1] == int(df["実施回数"].sum())
    assert out["案件数"].tolist() == [*[n // 5] * 5, n]
    assert f"全{n:,}件" in printed.note and "印刷していません" in printed.note and "Excel / CSV" in printed.note
    short = print_table(df.head(3), T_COMPANIES)
    assert short.note == "" and short.frame["支援先"].tolist() == ["会社0", "会社1", "会社2", None]
    assert short.frame["実施回数"].iloc[-1] == int(df.head(3)["実施回数"].sum()) and short.keep


def test_achievement_outlier_is_capped_with_a_note():
    summary = pd.DataFrame({"item": ["支援企業数", "支援自治体数"], "unit": ["社", "団体"],
                            "actual": [90.0, 709.0], "target": [100.0, 100.0], "rate_pct": [90.0, 709.0]})
    fig = achievement_figure(summary, "令和7年度")
    bar = fig.data[0]
    assert list(bar.x) == [90.0, RATE_CAP_PCT] and list(bar.customdata) == [90.0, 709.0]
    assert fig.layout.xaxis.range[1] <= RATE_CAP_PCT * 1.05            # the other bars are not squeezed
    assert "709%" in bar.text[1] and any("打ち切って" in a.text for a in fig.layout.annotations)


def test_report_xlsx_counts_are_integers_and_months_are_months(sample_db):
    report = build_report(FY, None, path=sample_db)
    wb = openpyxl.load_workbook(io.BytesIO(to_xlsx(report.tables(), report.conditions(), report.definitions)))
    ws = wb[T_SUMMARY]
    header = [c.value for c in ws[1]]
    rows = {r[header.index("項目")].value: r for r in ws.iter_rows(min_row=2)}
    with duckdb.connect(str(sample_db), read_only=True) as con:
        companies = _one(con, "SELECT count(DISTINCT engagement_id) FROM sessions WHERE fiscal_year = ?", [FY])
    cell = rows["支援企業数"][header.index("実績")]
    assert cell.value == companies and isinstance(cell.value, int) and cell.number_format == "#,##0"
    rate = rows["金融機関同行率"][header.index("実績")]
    assert rate.number_format == "#,##0.0" or float(rate.value).is_integer()
    months = wb[T_MONTHLY]
    assert all(r[0].number_format == 'yyyy"年"m"月"' and r[0].is_date for r in months.iter_rows(min_row=2))
    assert months.page_setup.orientation == "landscape" and months.print_title_rows == "$1:$1"


def test_per_table_csv_carries_the_reports_context(sample_db_env, monkeypatch):
    """報告's CSV under one table: the 条件 lines of the zip's 条件.csv (年度, 対象, the sidebar filter it leaves out,
    データ基準日, 出力日時) above the table, which equals the report's (values from SQL in the tests above)."""
    with duckdb.connect(str(sample_db_env), read_only=True) as con:
        coordinator = con.execute("""SELECT lead_coordinator FROM engagements WHERE fiscal_year = ?
                                     GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1""", [FY]).fetchall()[0][0]
    served = _deferred_downloads(monkeypatch)
    at = _run_page(**{"年度": str(FY), "担当ITC": coordinator})
    assert not at.exception
    report = build_report(FY, None)
    name = f"{report.file_stem()}_{T_SUMMARY}.csv"
    rows = list(csv.reader(io.StringIO(served[name]().decode("utf-8-sig"), newline="")))
    blank = rows.index([])
    lines = dict(rows[:blank])
    assert lines["年度"] == "令和4年度（2022年度）" and lines["対象"] == "事業全体"
    assert lines["データ基準日"] == "2025-02-28" and lines["出力日時"].startswith(f"{dt.date.today().year}-")
    assert lines["適用していない絞り込み"] == f"担当ITC: {coordinator}"
    summary = report.tables()[T_SUMMARY]
    assert rows[blank + 1] == list(summary.columns)
    assert [r[summary.columns.get_loc("項目")] for r in rows[blank + 2:]] == summary["項目"].tolist()


def test_print_cuts_only_huge_text():
    """A 100,000-character cell is printed as its start and a plain note of its length; the glossary's definitions
    (the longest text the report prints on purpose) never are."""
    from monitor.glossary import definitions_frame  # noqa: PLC0415
    shown = display_frame(pd.DataFrame({"支援先": ["あ" * 100_000, "普通の会社"]}))["支援先"].tolist()
    assert shown[0].endswith("…（以下省略、全100,000文字）") and len(shown[0]) < 400 and shown[1] == "普通の会社"
    definitions = definitions_frame()
    assert display_frame(definitions).to_numpy().tolist() == definitions.fillna("—").astype(str).to_numpy().tolist()


def _table_script():
    import pandas as pd  # noqa: PLC0415  (inside the script AppTest runs)

    from monitor import ui  # noqa: PLC0415  (inside the script AppTest runs)

    df = pd.DataFrame({"コンソーシアム": [f"C{i}" for i in range(47)], "支援企業数": list(range(47))})
    ui.table(df, key="t", hide_index=True, height=200)


@pytest.mark.parametrize("printing", [True, False])
def test_ui_table_prints_every_row_static(printing):
    """ui.table: a scroll box on screen, a static table of all 47 rows in print (what 概要 needs; app.py's
    st.dataframe calls would switch to it)."""
    at = AppTest.from_function(_table_script, default_timeout=30)
    if printing:
        at.query_params["print"] = "1"
    at.run()
    assert not at.exception
    if printing:
        assert len(at.dataframe) == 0 and len(at.table) == 1
        shown = at.table[0].value
        assert len(shown) == 47 and shown["支援企業数"].tolist() == [str(i) for i in range(47)]
    else:
        assert len(at.table) == 0 and len(at.dataframe[0].value) == 47


# ── months after the data's as-of date: 未到来, never 0 ───────────────────────────────────────────────────────

MID_YEAR_FY = 2024
MID_YEAR_CUT = dt.date(2024, 9, 15)


@pytest.fixture()
def mid_year_db(sample_db, monkeypatch) -> Path:
    """The sample with every activity after 2024-09-15 taken out: its as-of date falls in the middle of 令和6年度."""
    from etl.as_of import set_data_as_of  # noqa: PLC0415
    from etl.write import rebuild_marts  # noqa: PLC0415
    with duckdb.connect(str(sample_db)) as con:
        for table in ("sessions", "consultations", "events"):
            con.execute(f"DELETE FROM {table} WHERE date > ?", [MID_YEAR_CUT])
        set_data_as_of(con)
    rebuild_marts(sample_db)
    monkeypatch.setenv("DX_DB_PATH", str(sample_db))
    return sample_db


def _mid_year_expected(db: Path) -> tuple[dt.date, dict[dt.date, int]]:
    """(the as-of date, 伴走支援 sessions per month of the year) straight from the record tables."""
    with duckdb.connect(str(db), read_only=True) as con:
        as_of = _one(con, "SELECT max(d) FROM (SELECT max(date) FROM sessions UNION ALL SELECT max(date) "
                          "FROM consultations UNION ALL SELECT max(date) FROM events) t(d)")
        by_month = dict(con.execute(
            "SELECT date_trunc('month', s.date)::DATE, count(*) FROM sessions s JOIN engagements e "
            "USING (engagement_id) WHERE s.fiscal_year = ? AND e.support_type = '伴走支援' GROUP BY 1",
            [MID_YEAR_FY]).fetchall())
    return as_of, by_month


def test_months_after_the_as_of_date_are_empty_never_zero(mid_year_db, monkeypatch):
    """On screen (the table's figures missing, shown as —, 備考 未到来), printed (— and 未到来), in the table's CSV
    (empty cells) and in the .xlsx (empty cells, 備考「未到来」); the months up to the as-of date keep their counts,
    zero included, as an independent SQL count gives them."""
    as_of, by_month = _mid_year_expected(mid_year_db)
    assert MID_YEAR_FY == 2024 and dt.date(2024, 9, 1) <= as_of <= MID_YEAR_CUT
    months = [dt.date(MID_YEAR_FY + (m < 4), m, 1) for m in [4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3]]
    past = [m for m in months if m <= as_of]
    future = [m for m in months if m > as_of]
    assert len(past) == 6 and len(future) == 6
    figures = ["実施回数", "累計実施回数", "金融機関同行回数", "金融機関同行率（%）"]

    served = _deferred_downloads(monkeypatch)
    at = _run_page(年度=str(MID_YEAR_FY))
    table = next(d.value for d in at.dataframe if "累計実施回数" in d.value.columns)
    assert table["月"].tolist() == months
    rows = dict(zip(table["月"], table.to_dict("records")))
    for m in past:
        assert int(rows[m]["実施回数"]) == by_month.get(m, 0) and rows[m]["備考"] == "", m
    for m in future:
        assert all(pd.isna(rows[m][c]) for c in figures) and rows[m]["備考"] == "未到来", m

    # the table's CSV: empty cells after the as-of date, the counts before it
    stem = safe_file_name(build_report(MID_YEAR_FY, None).file_stem())
    lines = list(csv.reader(io.StringIO(served[f"{stem}_{T_MONTHLY}.csv"]().decode("utf-8-sig"), newline="")))
    header_at = lines.index(["月", *figures, "備考"])
    body = {dt.date.fromisoformat(r[0]): r for r in lines[header_at + 1:]}
    for m in past:
        assert body[m][1] == str(by_month.get(m, 0)) and body[m][-1] == ""
    for m in future:
        assert body[m][1:5] == ["", "", "", ""] and body[m][-1] == "未到来"

    # the workbook: empty cells and 備考「未到来」
    wb = openpyxl.load_workbook(io.BytesIO(served[f"{stem}.xlsx"]()))
    values = list(wb[T_MONTHLY].iter_rows(values_only=True))
    header = list(values[0])
    sheet = {r[0].date(): r for r in values[1:]}
    for m in past:
        assert sheet[m][header.index("実施回数")] == by_month.get(m, 0)
    for m in future:
        assert [sheet[m][header.index(c)] for c in figures] == [None] * 4
        assert sheet[m][header.index("備考")] == "未到来"

    # printed: — for the figures, 未到来 in 備考, never 0
    printed = _run_page(年度=str(MID_YEAR_FY), print="1")
    shown = next(t.value for t in printed.table if "累計実施回数" in t.value.columns)
    by_label = dict(zip(shown["月"], shown.to_dict("records")))
    for m in future:
        row = by_label[f"{m.year}年{m.month}月"]
        assert [row[c] for c in figures] == ["—"] * 4 and row["備考"] == "未到来"
    for m in past:
        assert by_label[f"{m.year}年{m.month}月"]["実施回数"] == f"{by_month.get(m, 0):,}"
