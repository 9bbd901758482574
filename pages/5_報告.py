"""報告: the fiscal-year 実績 report (tables against targets, charts) for the sidebar's 年度 and コンソーシアム, with
Excel / CSV / PNG / PDF exports that carry their context, and a print layout (?print=1, one page per section).

The report is cached per (年度, 対象, database version) (monitor.report.cached_report); every export is built only
when its button is clicked (a callable as the download button's data), never on a page run. Long tables are shown a
page at a time (the exports hold every row)."""
import pandas as pd
import streamlit as st

from monitor import access, exports, ui
from monitor.print_layout import (
    CHART_WIDTH_PX, PAGE_HEIGHT_PX, apply_print_layout, fixed_size, is_print_mode, page_section,
)
from monitor.views.report import (
    IMAGE_HEIGHT, IMAGE_WIDTH, cached_report, display_frame, report_title, unapplied_filters,
)
from monitor.exports import figure_png, figures_zip
from monitor.plain import md_escape, md_frame

TITLE = "報告"
KEY_SCOPE = "report_scope"
TABLE_PAGE_ROWS = 500        # on screen, a table longer than this is shown a page at a time
PRINT_MAX_ROWS = 300         # printed, a table longer than this shows its first rows and says so

ui.page_setup(TITLE)
filters = ui.sidebar_filters()
printing = is_print_mode()

if filters.fiscal_year is None:
    ui.context_caption(filters)
    ui.empty_state("報告は年度ごとに作成します。サイドバーで年度を選んでください。")
    st.stop()

# 対象: the one consortium chosen in the sidebar, or the whole programme; several chosen → pick one here
consortium = None
if len(filters.consortia) == 1:
    consortium = filters.consortia[0]
elif len(filters.consortia) > 1:
    if printing:
        consortium = filters.consortia[0]
    else:
        consortium = st.selectbox("報告の対象（サイドバーで複数のコンソーシアムが選ばれています）",
                                  list(filters.consortia), key=KEY_SCOPE)

title = report_title(filters.fiscal_year, consortium)
report = cached_report(filters.fiscal_year, consortium)
# the report applies 年度 and 対象 only: its header names those, and says which sidebar filters it left out
unapplied = unapplied_filters(filters, consortium)
if not apply_print_layout(title, report.header_text(unapplied)):
    st.caption(f"表示条件　{md_escape(report.header_text())}")
    if unapplied:
        st.warning(f"報告は年度と対象（コンソーシアムまたは事業全体）で集計します。サイドバーの {md_escape(unapplied)} "
                   "は報告には適用していません。")
    if report.is_sample:
        st.info("サンプルデータを表示しています（企業名・人名は架空です）。実績の記録を取り込むと置き換わります。")

if not printing:
    st.subheader(md_escape(title))
    st.caption(f"対象: {md_escape(report.scope_label)}（{'コンソーシアムを1つ選ぶとその報告になります' if not consortium else 'サイドバーでコンソーシアムを外すと事業全体の報告になります'}）。")

    filters_text = unapplied
    tables = report.tables()
    stem = exports.safe_file_name(report.file_stem())
    figures = report.figures()
    # built on click (the callables run when the button is pressed; 出力日時 is the time of the click)
    c1, c2, c3, c4 = st.columns(4)
    c1.download_button("Excel（全表・条件シート付き）",
                       access.audited("export", f"{stem}.xlsx",
                                      lambda r=report, t=filters_text: exports.to_xlsx(r.tables(), r.conditions(t),
                                                                                       r.definitions)),
                       file_name=f"{stem}.xlsx", mime=exports.XLSX_MIME, key="report_dl_xlsx",
                       on_click="ignore")
    c2.download_button("CSV（全表・zip）",
                       access.audited("export", f"{stem}_csv.zip",
                                      lambda r=report, t=filters_text: exports.to_csv_zip(r.tables(), r.conditions(t),
                                                                                          r.definitions)),
                       file_name=f"{stem}_csv.zip", mime=exports.ZIP_MIME, key="report_dl_csv_zip",
                       on_click="ignore")
    c3.download_button(f"グラフ画像（PNG {IMAGE_WIDTH}×{IMAGE_HEIGHT}・zip）",
                       access.audited("export", f"{stem}_グラフ.zip", lambda figs=figures: figures_zip(figs)),
                       file_name=f"{stem}_グラフ.zip",
                       mime=exports.ZIP_MIME, key="report_dl_png_zip", on_click="ignore")
    from monitor.report_pdf import chromium_problem, pdf_bytes  # noqa: E402  (imports playwright lazily)
    problem = chromium_problem()
    c4.download_button("PDF（印刷レイアウト）",
                       access.audited("pdf", f"{stem}.pdf", lambda fy=report.fiscal_year, c=consortium: pdf_bytes(fy, c)),
                       file_name=f"{stem}.pdf", mime="application/pdf", key="report_dl_pdf",
                       on_click="ignore", disabled=problem is not None,
                       help=problem or "印刷レイアウトを Chromium で A4 横の PDF にします（数十秒かかります）。")
    if problem:
        st.warning(problem)
    st.caption("印刷・スクリーンショット用の表示: URL の末尾に `&print=1` を付けて開きます（サイドバーなし・A4横）。")

# the opening paragraph of the 実績報告, from the tables below (plain text: it may carry a name from the records)
with st.container(key="report_narrative"):      # printed on the first page, above the summary
    st.subheader("概要")
    if printing:
        st.text(report.narrative)
    else:
        st.code(report.narrative, language=None, wrap_lines=True)
        st.caption("右上のボタンで文章をコピーできます。数値は下の表と同じです。")

SIDE_BY_SIDE = {"themes"}          # on screen: table left, chart right (print stacks everything)
# columns left out of the printed tables so that a row fits on one line (the exports keep them)
PRINT_HIDDEN_COLUMNS = ("案件ID", "業種", "開始日", "現在の段階", "団体コード", "含む", "含まない", "目標値の指標名")
for section in report.sections:
    with page_section(section.key):
        st.subheader(section.title)
        tables = section.tables
        if section.empty_message and tables and all(df.empty for df in tables.values()):
            ui.empty_state(section.empty_message)
            continue
        figure_items = list(section.figures.items())
        side = section.key in SIDE_BY_SIDE and len(tables) == 1 and len(figure_items) == 1

        def show_table(name, df, section=section):
            if df.empty:
                ui.empty_state(section.empty_message or None)
                return
            if len(section.tables) > 1:
                st.markdown(f"**{name}**")
            if printing:
                shown = df.drop(columns=[c for c in PRINT_HIDDEN_COLUMNS if c in df.columns])
                if len(shown) > PRINT_MAX_ROWS:
                    st.caption(f"全{len(shown):,}件のうち先頭の{PRINT_MAX_ROWS:,}件です。全件は Excel / CSV にあります。")
                    shown = shown.head(PRINT_MAX_ROWS)
                st.table(md_frame(display_frame(shown)), hide_index=True)   # st.table reads markdown
            else:
                numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])]
                shown = df
                if len(df) > TABLE_PAGE_ROWS:
                    pages = -(-len(df) // TABLE_PAGE_ROWS)
                    page = st.number_input(f"ページ（全{pages:,}ページ）", min_value=1, max_value=pages, value=1,
                                           step=1, key=f"report_page_{section.key}_{name}")
                    start = (int(page) - 1) * TABLE_PAGE_ROWS
                    shown = df.iloc[start:start + TABLE_PAGE_ROWS]
                    st.caption(f"全{len(df):,}件のうち {start + 1:,}〜{start + len(shown):,}件目を表示しています"
                               "（全件は Excel / CSV にあります）。")
                st.dataframe(shown, hide_index=True, key=f"report_table_{section.key}_{name}", placeholder="—",
                             column_config={c: st.column_config.NumberColumn(format="localized") for c in numeric})
                st.download_button(f"CSV（{name}）", access.audited("export", f"{report.file_stem()}_{name}.csv",
                                                                   lambda df=df: exports.to_csv(df)),
                                   file_name=exports.safe_file_name(f"{report.file_stem()}_{name}") + ".csv",
                                   mime=exports.CSV_MIME, key=f"report_dl_csv_{section.key}_{name}",
                                   on_click="ignore")

        def show_figure(name, fig, section=section):
            st.plotly_chart(fig, key=f"report_chart_{section.key}_{name}", config={"displaylogo": False})
            st.download_button(f"PNG 画像（{name}・{IMAGE_WIDTH}×{IMAGE_HEIGHT}）",
                               access.audited("export", f"{report.file_stem()}_{name}.png", lambda f=fig: figure_png(f)),
                               file_name=exports.safe_file_name(f"{report.file_stem()}_{name}") + ".png",
                               mime="image/png", key=f"report_dl_png_{section.key}_{name}", on_click="ignore")

        if printing:
            # print: everything stacked (Streamlit stacks columns holding charts when printing); the charts get
            # the height that is left on the section's A4 page
            rows = sum(len(df) + 1 for df in tables.values()) + 2 * (len(tables) - 1)
            first = section is report.sections[0]
            height = int(max(300, min(440, PAGE_HEIGHT_PX - 260 - 31 * rows - (230 if first else 0))))
            for name, df in tables.items():
                show_table(name, df)
            for name, fig in figure_items:
                fig = fixed_size(fig, width=CHART_WIDTH_PX, height=height)
                st.plotly_chart(fig, key=f"report_chart_{section.key}_{name}", width="content",
                                config={"displaylogo": False, "staticPlot": True})
        elif side:
            left, right = st.columns([5, 6])
            with left:
                for name, df in tables.items():
                    show_table(name, df)
            with right:
                for name, fig in figure_items:
                    show_figure(name, fig)
        else:
            for name, df in tables.items():
                show_table(name, df)
            for name, fig in figure_items:
                show_figure(name, fig)
        if section.note:
            st.caption(section.note)
