"""報告's parts on screen and in print: the 対象 choice, the header, the export buttons, the 概要 text, a section.

Every export is built only when its button is clicked (a callable as the download button's data), never on a page
run; long tables are shown a page at a time (the exports hold every row)."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from monitor import access, exports, ui
from monitor.exports import figure_png, figures_zip
from monitor.format import SCREEN_DATE_FORMAT, SCREEN_MONTH_FORMAT, cut_text
from monitor.plain import md_escape, md_frame
from monitor.print_layout import (
    CHART_WIDTH_PX, PAGE_HEIGHT_PX, fixed_size, keep_together, page_section, right_aligned,
)
from monitor.read.filters import Filters
from monitor.report_pdf import chromium_problem, pdf_bytes, queue_length
from monitor.views.report import (
    IMAGE_HEIGHT, IMAGE_WIDTH, TABLE_PAGE_ROWS, Report, Section, display_frame, numeric_columns, print_chart_height,
    print_table, side_by_side, unapplied_filters,
)

KEY_SCOPE = "report_scope"
NARRATIVE_PRINT_MAX = 2_000     # the 概要 text names a consortium from the records: printed, never pages of it


def choose_scope(filters: Filters) -> str | None:
    """対象: the one consortium chosen in the sidebar, or the whole programme (None); several chosen → pick one
    here (printed: the one picked on screen, else the first)."""
    if len(filters.consortia) == 1:
        return filters.consortia[0]
    if len(filters.consortia) > 1:
        return ui.chosen_or_widget(KEY_SCOPE, filters.consortia, lambda: st.selectbox(
            "報告の対象（サイドバーで複数のコンソーシアムが選ばれています）", list(filters.consortia), key=KEY_SCOPE))
    return None


def screen_header(report: Report, unapplied: str) -> None:
    """On screen (printed, the print header says the same): what the report shows, the filters it leaves out."""
    st.caption(f"表示条件　{md_escape(report.header_text())}")
    if unapplied:
        st.warning(f"報告は年度と対象（コンソーシアムまたは事業全体）で集計します。サイドバーの {md_escape(unapplied)} "
                   "は報告には適用していません。")
    if report.is_sample:
        st.info("サンプルデータを表示しています（企業名・人名は架空です）。実績の記録を取り込むと置き換わります。")


def export_bar(report: Report, title: str, consortium: str | None, unapplied: str) -> None:
    """The title, the 対象 hint and the four exports (built on click; 出力日時 is the time of the click)."""
    st.subheader(md_escape(title))
    hint = ("コンソーシアムを1つ選ぶとその報告になります" if not consortium
            else "サイドバーでコンソーシアムを外すと事業全体の報告になります")
    st.caption(f"対象: {md_escape(report.scope_label)}（{hint}）。")
    stem = exports.safe_file_name(report.file_stem())
    figures = report.figures()
    c1, c2, c3, c4 = st.columns(4)
    c1.download_button("Excel（全表・条件シート付き）",
                       access.audited("export", f"{stem}.xlsx",
                                      lambda r=report, t=unapplied: exports.to_xlsx(r.tables(), r.conditions(t),
                                                                                    r.definitions)),
                       file_name=f"{stem}.xlsx", mime=exports.XLSX_MIME, key="report_dl_xlsx",
                       on_click="ignore")
    c2.download_button("CSV（全表・zip）",
                       access.audited("export", f"{stem}_csv.zip",
                                      lambda r=report, t=unapplied: exports.to_csv_zip(r.tables(), r.conditions(t),
                                                                                       r.definitions)),
                       file_name=f"{stem}_csv.zip", mime=exports.ZIP_MIME, key="report_dl_csv_zip",
                       on_click="ignore")
    c3.download_button(f"グラフ画像（PNG {IMAGE_WIDTH}×{IMAGE_HEIGHT}・zip）",
                       access.audited("export", f"{stem}_グラフ.zip", lambda figs=figures: figures_zip(figs)),
                       file_name=f"{stem}_グラフ.zip",
                       mime=exports.ZIP_MIME, key="report_dl_png_zip", on_click="ignore")
    problem = chromium_problem()
    c4.download_button("PDF（印刷レイアウト）",
                       access.audited("pdf", f"{stem}.pdf", lambda fy=report.fiscal_year, c=consortium: pdf_bytes(fy, c)),
                       file_name=f"{stem}.pdf", mime="application/pdf", key="report_dl_pdf",
                       on_click="ignore", disabled=problem is not None,
                       help=problem or "印刷レイアウトを Chromium で A4 横の PDF にします（1件ずつ順に作成します）。")
    if problem:
        st.warning(problem)
    elif waiting := queue_length():
        # PDFs are made one at a time (monitor.report_pdf.PDF_QUEUE): say so before the click, not after a long wait
        st.caption(f"PDF は1件ずつ順に作成します。いま{waiting:,}件を作成中または待っています"
                   f"（押すと 待ち: {waiting:,} 件目）。")
    st.caption("印刷・スクリーンショット用の表示: URL の末尾に `&print=1` を付けて開きます（サイドバーなし・A4横）。")


def narrative(report: Report, printing: bool) -> None:
    """The opening paragraph of the 実績報告, from the tables below (plain text: it may carry a name from the
    records); printed on the first page, above the summary."""
    with st.container(key="report_narrative"):
        st.subheader("概要")
        if printing:
            st.text(cut_text(report.narrative, NARRATIVE_PRINT_MAX))
        else:
            st.code(report.narrative, language=None, wrap_lines=True)
            st.caption("右上のボタンで文章をコピーできます。数値は下の表と同じです。")


def section(report: Report, section: Section, printing: bool) -> None:
    """One section on its own printed page: its tables and charts (on screen side by side when side_by_side)."""
    with page_section(section.key):
        st.subheader(section.title)
        tables = section.tables
        if section.empty_message and tables and all(df.empty for df in tables.values()):
            ui.empty_state(section.empty_message)
            return
        if printing:
            # everything stacked (Streamlit stacks columns holding charts when printing); the charts get the
            # height that is left on the section's A4 page
            for name, df in tables.items():
                _table(report, section, name, df, printing)
            for name, fig in section.figures.items():
                height = print_chart_height(section, section is report.sections[0], PAGE_HEIGHT_PX,
                                            wanted=fig.layout.height)
                ui.plotly_chart(fixed_size(go.Figure(fig), width=CHART_WIDTH_PX, height=height),
                                key=f"report_chart_{section.key}_{name}", width="content",
                                config={"displaylogo": False, "staticPlot": True})
        elif side_by_side(section):
            left, right = st.columns([5, 6])
            with left:
                for name, df in tables.items():
                    _table(report, section, name, df, printing)
            with right:
                for name, fig in section.figures.items():
                    _figure(report, section, name, fig)
        else:
            for name, df in tables.items():
                _table(report, section, name, df, printing)
            for name, fig in section.figures.items():
                _figure(report, section, name, fig)
        if section.note:
            st.caption(section.note)


def _table(report: Report, section: Section, name: str, df: pd.DataFrame, printing: bool) -> None:
    if df.empty:
        ui.empty_state(section.empty_message or None)
        return
    if printing:
        _print_table(section, name, df)
        return
    if len(section.tables) > 1:
        st.markdown(f"**{name}**")
    numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])]
    ui.paged_table(len(df), lambda start, n: df.iloc[start:start + n], page_rows=TABLE_PAGE_ROWS,
                   key=f"report_table_{section.key}_{name}", page_key=f"report_page_{section.key}_{name}",
                   caption_note="（全件は Excel / CSV にあります）", placeholder="—",
                   # a short table shows every row (伴走支援_月別's 12 months, 未到来 ones included) without scrolling
                   **({"height": (len(df) + 1) * 35 + 3} if len(df) <= SHORT_TABLE_ROWS else {}),
                   # a rate (「…（%）」) always with one decimal (75.0 beside 41.2, not 75); counts with 桁区切り
                   column_config={**{c: st.column_config.NumberColumn(format="%.1f" if c.endswith("（%）")
                                                                      else "localized") for c in numeric},
                                  **{c: st.column_config.DateColumn(format=SCREEN_MONTH_FORMAT if c == "月"
                                                                    else SCREEN_DATE_FORMAT)
                                     for c in df.columns if _is_date_column(df[c])}})
    st.download_button(f"CSV（{name}）", access.audited("export", f"{report.file_stem()}_{name}.csv",
                                                       lambda df=df, r=report, t=_unapplied(report): exports.to_csv(
                                                           df, context=r.conditions(t))),
                       file_name=exports.safe_file_name(f"{report.file_stem()}_{name}") + ".csv",
                       mime=exports.CSV_MIME, key=f"report_dl_csv_{section.key}_{name}", on_click="ignore")


SHORT_TABLE_ROWS = 15


def _is_date_column(s: pd.Series) -> bool:
    """A column of dates (the report's 月, 開始日, …: datetime.date values), shown in the screen's date format."""
    values = s.dropna()
    return len(values) > 0 and all(isinstance(v, dt.date) for v in values)


def _unapplied(report: Report) -> str:
    """The sidebar filters this report does not apply (its per-table CSV says so, as the zip's 条件.csv does)."""
    return unapplied_filters(st.session_state.get(ui.STATE_FILTERS) or Filters(), report.consortium)


def _print_table(section: Section, name: str, df: pd.DataFrame) -> None:
    """A static table (never a scroll box): complete, or summed per group with a note saying so; numbers
    right-aligned; a short one kept on one page with its name, a long one flowing with its header repeated."""
    printed = print_table(df, name)
    shown = printed.frame
    # numbers right-aligned, also a column whose 合計 row is — (累計, a rate: the printed frame's column is text)
    names = set(map(str, shown.columns))
    right = list(dict.fromkeys(numeric_columns(shown) + [c for c in numeric_columns(df) if c in names]))
    styled = right_aligned(md_frame(display_frame(shown)), right)          # st.table reads markdown
    box = keep_together(f"{section.key}_{list(section.tables).index(name)}") if printed.keep else st.container()
    with box:
        if len(section.tables) > 1:
            st.markdown(f"**{md_escape(name)}**")
        if printed.note:
            st.caption(printed.note)
        st.table(styled, hide_index=True)


def _figure(report: Report, section: Section, name: str, fig) -> None:
    ui.plotly_chart(fig, key=f"report_chart_{section.key}_{name}", config={"displaylogo": False})
    st.download_button(f"PNG 画像（{name}・{IMAGE_WIDTH}×{IMAGE_HEIGHT}）",
                       access.audited("export", f"{report.file_stem()}_{name}.png", lambda f=fig: figure_png(f)),
                       file_name=exports.safe_file_name(f"{report.file_stem()}_{name}") + ".png",
                       mime="image/png", key=f"report_dl_png_{section.key}_{name}", on_click="ignore")
