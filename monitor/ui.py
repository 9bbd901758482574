"""Page helpers shared by every page: set-up (and the sample database on first start), the one set of sidebar
filters (kept in st.session_state across pages and in the URL), the context caption, the empty state."""
from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from pathlib import Path

import duckdb
import streamlit as st
from streamlit.errors import StreamlitAPIException

from etl.dbfile import database_problem
from etl.load import build_sample_database
from etl.marts import marts_fingerprint
from monitor import access
from monitor.read.db import db_version, meta, resolve_path
from monitor.read.filters import (
    URL_PARAMS, AccessConfigError, Filters, allowed_prefectures, default_filters, describe_access, describe_filters,
    from_query_params, to_query_params,
)
from etl.extract import max_file_bytes
from monitor.format import fmt_date, fmt_number, format_fiscal_year
from monitor.plain import html_escape, md_escape
from monitor.read.cache import VersionedCache
from monitor.read.queries import data_as_of, run_query
from monitor.print_layout import apply_print_layout, is_print_mode
from monitor.views.style import MODEBAR_JA, chart_config

APP_TITLE = "地域DX支援モニター"
ROOT = Path(__file__).resolve().parent.parent

# stable widget keys (tests find the widgets by these)
KEY_FY = "flt_fy"
KEY_PREFECTURES = "flt_prefectures"
KEY_CONSORTIA = "flt_consortia"
KEY_DATE_FROM = "flt_date_from"
KEY_DATE_TO = "flt_date_to"
KEY_SUPPORT_TYPES = "flt_support_types"
KEY_COORDINATORS = "flt_coordinators"
KEY_RESET = "flt_reset"
# non-widget state: survives page switches
STATE_FILTERS = "_dx_filters"
STATE_NOTICES = "_dx_filter_notices"
STATE_BUILT = "_dx_built_sample"
DATE_MIN = dt.date(2000, 1, 1)
DATE_MAX = dt.date(2100, 12, 31)

STATE_TITLE = "dx_page_title"


# ── set-up ──────────────────────────────────────────────────────────────────

# A KPI value or label is never cut with an ellipsis: the value shrinks with the window (36 px at 1400 px, ≈ 27 px
# at 1024 px) and, if it still does not fit, wraps.
SCREEN_CSS = """<style>
[data-testid="stMetricValue"] { font-size: clamp(1.5rem, 2.6vw, 2.25rem); }
[data-testid="stMetricValue"] .stMarkdownEllipsis, [data-testid="stMetricLabel"] .stMarkdownEllipsis {
  white-space: normal; overflow: visible; text-overflow: clip; }
[data-testid="stMetricLabel"] > div { min-width: 0; flex: 0 1 auto; }
[data-testid="stMetricLabel"] p { white-space: normal; overflow-wrap: anywhere; }
</style>"""

# A button's label wraps instead of being cut ("CSV（コンソーシアム別の比較）", 報告's four exports in narrow
# columns); the sidebar's two date inputs stack when the sidebar is too narrow for both side by side.
WIDTH_CSS = """<style>
[data-testid="stBaseButton-secondary"], [data-testid="stBaseButton-primary"],
[data-testid="stDownloadButton"] button { max-width: 100%; height: auto; min-height: 2.5rem; }
[data-testid="stBaseButton-secondary"] p, [data-testid="stBaseButton-primary"] p,
[data-testid="stDownloadButton"] button p {
  white-space: normal; overflow: visible; text-overflow: clip; overflow-wrap: anywhere; word-break: normal; }
[data-testid="stSidebar"] [data-testid="stHorizontalBlock"]:has([data-testid="stDateInput"]) {
  flex-wrap: wrap; gap: 0.5rem; }
[data-testid="stSidebar"] [data-testid="stHorizontalBlock"]:has([data-testid="stDateInput"]) > [data-testid="stColumn"] {
  min-width: 10.5rem; flex: 1 1 10.5rem; }
[data-testid="stSidebar"] [data-testid="stDateInput"] input { min-width: 0; font-size: 0.9rem; }
/* a window up to 1,200 px (1,024 with the sidebar open): narrower side padding, so a table's first columns and a
   chart get the width (伴走支援の進捗's table: 支援先 to コンソーシアム without scrolling sideways) */
@media (min-width: 641px) and (max-width: 1200px) {
  [data-testid="stMainBlockContainer"] { padding-left: 1rem; padding-right: 1rem; }
}
/* a phone (390 px): the cards and the lists, not charts shrunk until their titles overlap */
@media (max-width: 640px) {
  [data-testid="stPlotlyChart"], [data-testid="stDeckGlJsonChart"] { display: none; }
  [data-testid="stMain"] [data-testid="stHorizontalBlock"] { flex-direction: column; gap: 0.5rem; }
  [data-testid="stMain"] [data-testid="stHorizontalBlock"] > [data-testid="stColumn"] { width: 100%; min-width: 100%; }
  .dx-narrow-note { display: block !important; }
}
</style>"""

# shown instead of the charts on a phone (hidden on a wider screen by the rule above)
NARROW_NOTE = ('<div class="dx-narrow-note" style="display:none;padding:0.5rem 0.75rem;margin:0.25rem 0 0.75rem 0;'
               'background:#f2f5f9;border-radius:0.5rem;color:#1c2430;font-size:0.9rem">画面の幅が狭いため、'
               'グラフを省いて主要な数値と一覧だけを表示しています。グラフはパソコンやタブレットの画面で表示されます。'
               '</div>')


def _css_text(text: str) -> str:
    """``text`` as a CSS string literal (content: …)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def modebar_css() -> str:
    """The plotly mode bar's tooltips in Japanese where a chart's config did not translate them: Streamlit's own
    全画面表示 button (plotly never looks its title up) and every chart drawn without ``chart_config``. The tooltip
    is CSS (content: attr(data-title)), so a rule on the English title replaces its text; a translated title no
    longer matches any rule."""
    # more specific than plotly's own rule (.js-plotly-plot .plotly [data-title]:after), which it injects later
    rules = [f'.js-plotly-plot .plotly .modebar .modebar-btn[data-title="{en}"]::after {{ content: {_css_text(ja)}; }}'
             for en, ja in MODEBAR_JA.items()]
    return "<style>\n" + "\n".join(rules) + "\n</style>"


def upload_limit_mb() -> float:
    """The largest record file データ取込 takes: the smaller of DX_MAX_FILE_MB (what a load accepts) and
    Streamlit's server.maxUploadSize (what the browser may send), in MB."""
    server = float(st.get_option("server.maxUploadSize") or 0) or float("inf")
    return min(max_file_bytes() / (1024 * 1024), server)


def uploader_css() -> str:
    """The file uploader in Japanese: its button and its "200MB per file • CSV, …" line (Streamlit's own English,
    with Streamlit's limit) replaced by the real limit. The text is CSS content, so the file types stay as
    Streamlit lists them from ``type=``."""
    limit = upload_limit_mb()
    text = (f"1ファイル{fmt_number(limit, 0)}MBまで（CSV / Excel）。"
            "ここにドラッグ＆ドロップするか、ボタンから選びます")
    return ("<style>\n"
            '[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p { font-size: 0; }\n'
            '[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p::after {'
            ' content: "ファイルを選ぶ"; font-size: 0.875rem; }\n'
            '[data-testid="stFileUploaderDropzoneInstructions"] span { font-size: 0; }\n'
            '[data-testid="stFileUploaderDropzoneInstructions"] span::after {'
            f" content: {_css_text(text)}; font-size: 0.8rem; white-space: normal; }}\n"
            "</style>")


def page_setup(title: str) -> None:
    """First call of every page: page config, the database (built from the sample when missing), title, nav."""
    st.set_page_config(page_title=f"{title}｜{APP_TITLE}", layout="wide")
    st.html(SCREEN_CSS + WIDTH_CSS + modebar_css() + uploader_css())
    if not is_print_mode():
        st.html(NARROW_NOTE)
    check_access_setting()
    access.gate()                     # sign-in, grant, this session's scope (monitor/access.py); stops if none
    ensure_database()
    _page_nav()
    st.session_state[STATE_TITLE] = title
    if not is_print_mode():
        st.title(title)
    check_marts_current()
    if st.session_state.get(STATE_BUILT):
        st.info(st.session_state[STATE_BUILT])


def check_access_setting() -> None:
    """A DX_ALLOWED_PREFECTURES the app cannot read stops the page with a Japanese message (and shows no data)."""
    try:
        allowed_prefectures()
    except AccessConfigError as exc:
        st.error(md_escape(exc))       # it quotes the setting's value
        st.stop()


@lru_cache(maxsize=1)
def _current_marts_version() -> str:
    return marts_fingerprint()


def check_marts_current() -> None:
    """A database whose marts an earlier version built (an update changed their definitions) stops the page with
    the command that rebuilds them, instead of a query failing on a table or column it lacks. The app only reads."""
    path = resolve_path()
    stored = meta(path)["raw"].get("marts_version")
    if stored != _current_marts_version():
        st.error(f"データベース（{path}）の集計表は、このプログラムより前の版で作られています。"
                 f"記録はそのままで集計表だけを作り直すには、次を実行してから再読み込みしてください: "
                 f"`python -m etl rebuild --db {path}`（`make run` は自動で行います）")
        st.stop()


def check_database_readable(path) -> None:
    """A damaged database file stops the page with a Japanese message (not DuckDB's English error): a cheap look
    at its headers (etl/dbfile.py), then its meta table. Nothing is written."""
    problem = database_problem(path)
    if problem is None:
        try:
            meta(path)
        except duckdb.Error as exc:
            problem = f"読み込めません（{str(exc).splitlines()[0][:160]}）"
    if problem:
        st.error(f"データベース（{path}）を開けません: {problem}。管理者がバックアップから戻すか、"
                 "記録ファイルを取り込み直して作り直してください（python -m etl load --fresh）。")
        st.stop()


def ensure_database() -> None:
    """If the database file is missing, build it from the shipped sample programme and say so."""
    path = resolve_path()
    if path.exists():
        check_database_readable(path)
        return
    with st.spinner("データベースがないため、サンプルデータから作成しています…"):
        try:
            build_sample_database(path)
        except Exception as exc:  # noqa: BLE001 - show, do not crash
            st.error(f"サンプルデータからのデータベース作成に失敗しました: {exc}")
            st.stop()
    st.session_state[STATE_BUILT] = (
        f"データベースがなかったため、サンプルデータから作成しました（{path.name}）。")


def _page_label(path: Path) -> str:
    return re.sub(r"^\d+[_\s-]*", "", path.stem).replace("_", " ")


def _page_nav() -> None:
    """Sidebar links to every page (the built-in navigation is off so the entry page reads 概要, not 'app')."""
    links = [("app.py", "概要")] + [(f"pages/{p.name}", _page_label(p))
                                    for p in sorted((ROOT / "pages").glob("*.py"))]
    with st.sidebar:
        st.markdown(f"**{APP_TITLE}**")
        for target, label in links:
            try:
                st.page_link(target, label=label)
            except StreamlitAPIException:
                # a page script run on its own (not under app.py, e.g. in a test) has no other pages to link to
                pass
        st.caption(access.sidebar_notice() or serving_notice(st.get_option("server.address")))
        st.divider()


def serving_notice(address: str | None) -> str:
    """Who can reach this server: there is no sign-in yet, so say plainly what listening on ``address`` means."""
    if address in ("127.0.0.1", "localhost", "::1"):
        return "ローカル利用（サインインなし）: このコンピュータのブラウザーからだけ開けます。"
    return ("サインインなし: このサーバーに届く人は誰でも見られます（ネットワークで使うときは、認証するリバースプロキシの"
            "内側で動かしてください）。")


# ── filters ─────────────────────────────────────────────────────────────────

def filter_choices() -> dict:
    """Valid filter values in display order: fiscal_years (ints, newest first), prefectures, consortia,
    support_types, coordinators; under an access restriction only the allowed prefectures, and allowed_prefectures (else None)."""
    allowed = allowed_prefectures()
    df = run_query("filter_choices", Filters())
    out: dict = {"fiscal_years": [], "prefectures": [], "consortia": [], "support_types": [], "coordinators": [],
                 "allowed_prefectures": allowed}
    names = {"fiscal_year": "fiscal_years", "prefecture": "prefectures", "consortium": "consortia",
             "support_type": "support_types", "coordinator": "coordinators"}
    for kind, value in zip(df["kind"], df["value"]):
        if kind in names and value is not None:
            out[names[kind]].append(int(value) if kind == "fiscal_year" else str(value))
    if allowed is not None:
        out["prefectures"] = [v for v in out["prefectures"] if v in allowed]
    return out


def _sanitise(f: Filters, choices: dict) -> Filters:
    years = choices["fiscal_years"]
    return Filters(
        fiscal_year=f.fiscal_year if f.fiscal_year is None or f.fiscal_year in years else (max(years) if years else None),
        prefectures=tuple(v for v in f.prefectures if v in choices["prefectures"]),
        consortia=tuple(v for v in f.consortia if v in choices["consortia"]),
        date_from=f.date_from,
        date_to=f.date_to,
        support_types=tuple(v for v in f.support_types if v in choices["support_types"]),
        coordinators=tuple(v for v in f.coordinators if v in choices["coordinators"]),
    )


def _seed_widgets(f: Filters, *, force: bool = False) -> None:
    values = {KEY_FY: f.fiscal_year, KEY_PREFECTURES: list(f.prefectures), KEY_CONSORTIA: list(f.consortia),
              KEY_DATE_FROM: f.date_from, KEY_DATE_TO: f.date_to, KEY_SUPPORT_TYPES: list(f.support_types),
              KEY_COORDINATORS: list(f.coordinators)}
    for key, value in values.items():
        if force or key not in st.session_state:
            st.session_state[key] = value


def _reset_filters(choices: dict) -> None:
    f = default_filters(choices)
    st.session_state[STATE_FILTERS] = f
    st.session_state[STATE_NOTICES] = ([], f)
    _seed_widgets(f, force=True)


def sidebar_filters() -> Filters:
    """The shared sidebar filters. First run of a session: read from the URL (bad values dropped with a notice).
    Later runs and other pages: from st.session_state. The URL is rewritten every run so a copied link
    reproduces the view."""
    choices = filter_choices()
    if STATE_FILTERS not in st.session_state:
        f, notices = from_query_params(st.query_params, choices)
        st.session_state[STATE_FILTERS] = f
        st.session_state[STATE_NOTICES] = (notices, f)
        _seed_widgets(f, force=True)
    persisted = _sanitise(st.session_state[STATE_FILTERS], choices)
    _seed_widgets(persisted)   # a page opened for the first time in this session starts from the shared selection
    # values no longer offered (after a new load) must not reach the widgets
    for key, valid in ((KEY_PREFECTURES, choices["prefectures"]), (KEY_CONSORTIA, choices["consortia"]),
                       (KEY_SUPPORT_TYPES, choices["support_types"]), (KEY_COORDINATORS, choices["coordinators"])):
        st.session_state[key] = [v for v in st.session_state[key] if v in valid]
    if st.session_state[KEY_FY] is not None and st.session_state[KEY_FY] not in choices["fiscal_years"]:
        st.session_state[KEY_FY] = persisted.fiscal_year
    # re-assign every widget value through the Session State API: a widget on another page is a different widget
    # to Streamlit, and only a value set this way carries over to it
    for key in (KEY_FY, KEY_DATE_FROM, KEY_DATE_TO):
        st.session_state[key] = st.session_state[key]

    with st.sidebar:
        st.markdown("**絞り込み**")
        st.selectbox("年度", [*choices["fiscal_years"], None], format_func=format_fiscal_year, key=KEY_FY,
                     placeholder=format_fiscal_year(None))   # None (全年度) shows as the placeholder
        st.multiselect("都道府県", choices["prefectures"], key=KEY_PREFECTURES, placeholder="すべて")
        st.multiselect("コンソーシアム", choices["consortia"], key=KEY_CONSORTIA, placeholder="すべて")
        c1, c2 = st.columns(2)
        c1.date_input("期間（開始）", key=KEY_DATE_FROM, min_value=DATE_MIN, max_value=DATE_MAX,
                      format="YYYY/MM/DD")
        c2.date_input("期間（終了）", key=KEY_DATE_TO, min_value=DATE_MIN, max_value=DATE_MAX,
                      format="YYYY/MM/DD")
        st.multiselect("支援種別", choices["support_types"], key=KEY_SUPPORT_TYPES, placeholder="すべて")
        st.multiselect("担当ITC", choices["coordinators"], key=KEY_COORDINATORS, placeholder="すべて",
                       help="支援案件の主担当ITC（その伴走記録を含む）と相談記録の対応ITC。セミナーは担当ITCを持たないため、"
                            "選ぶと数えません")
        st.button("絞り込みをリセット", key=KEY_RESET, on_click=_reset_filters, args=(choices,))

    date_from, date_to = st.session_state[KEY_DATE_FROM], st.session_state[KEY_DATE_TO]
    swapped = bool(date_from and date_to and date_from > date_to)
    if swapped:
        date_from, date_to = date_to, date_from
    f = Filters(
        fiscal_year=st.session_state[KEY_FY],
        prefectures=tuple(st.session_state[KEY_PREFECTURES]),
        consortia=tuple(st.session_state[KEY_CONSORTIA]),
        date_from=date_from,
        date_to=date_to,
        support_types=tuple(st.session_state[KEY_SUPPORT_TYPES]),
        coordinators=tuple(st.session_state[KEY_COORDINATORS]),
    )
    st.session_state[STATE_FILTERS] = f
    _write_url(f)

    notices, notice_filters = st.session_state.get(STATE_NOTICES, ([], None))
    if notices and notice_filters == f:      # shown until the user changes the selection
        for n in notices:
            st.warning(md_escape(n))       # they quote the URL's values: a crafted link must not format or link
    if swapped:
        st.warning("期間の開始日が終了日より後だったため、入れ替えて表示しています。")
    return f


def _write_url(f: Filters) -> None:
    wanted = to_query_params(f)
    for key in URL_PARAMS:
        if key in wanted:
            if st.query_params.get(key) != wanted[key] or len(st.query_params.get_all(key)) != 1:
                st.query_params[key] = wanted[key]
        elif key in st.query_params:
            del st.query_params[key]


# ── figures ─────────────────────────────────────────────────────────────────

_FIGURES = VersionedCache(max_entries=32, name="figures")


def cached_figure(name: str, filters: Filters, context: str, build, *extra):
    """A figure built by ``build()`` kept per (name, filters, context, extra, database file and version): a rerun
    that shows the same figure (a widget change elsewhere on the page) does not build it again. For figures that
    are slow to build (many subplots). The figure is shared: do not change it after this call."""
    p = resolve_path()
    return _FIGURES.get_or_build((name, filters, context, extra, str(p), db_version(p), allowed_prefectures()),
                                 build)


def plotly_chart(fig, **kwargs):
    """``st.plotly_chart`` with the app's chart config (the mode bar in Japanese, only the buttons that matter; see
    ``style.chart_config``); a ``config`` given here is merged over it."""
    config = {**chart_config(), **kwargs.pop("config", {})}
    return st.plotly_chart(fig, config=config, **kwargs)


# ── captions, empty state ───────────────────────────────────────────────────

def context_text(filters: Filters) -> str:
    """'年度: 令和4年度（2022年度）｜都道府県: …｜データ基準日: 2022年12月20日' (+ サンプルデータ)."""
    m = meta()
    text = f"{describe_filters(filters)}｜データ基準日: {fmt_date(data_as_of())}"
    access = describe_access(allowed_prefectures())
    if access:
        text += f"｜{access}"
    if m["is_sample"]:
        text += "｜サンプルデータ"
    return text


def context_caption(filters: Filters) -> None:
    """Active filters, data as-of and a visible サンプルデータ notice, in the main area (shows in screenshots).

    In the print layout (?print=1) the same facts go into the print header instead."""
    if apply_print_layout(st.session_state.get(STATE_TITLE, APP_TITLE), context_text(filters)):
        return
    m = meta()
    # the as-of date must not break across lines in a screenshot
    as_of = html_escape(f"データ基準日: {fmt_date(data_as_of())}")
    access = describe_access(allowed_prefectures())
    # the filters name consortia and people from the records: escaped for markdown and HTML alike
    st.caption(f"表示条件　{html_escape(describe_filters(filters))}　｜　"
               f"<span style='white-space:nowrap'>{as_of}</span>"
               + (f"　｜　{html_escape(access)}" if access else ""), unsafe_allow_html=True)
    if m["is_sample"]:
        st.info("サンプルデータを表示しています（企業名・人名は架空です）。実績の記録を取り込むと置き換わります。")


def table(df, *, key: str, **dataframe_args):
    """A table: st.dataframe on screen; printed (?print=1) a static st.table of every row, numbers right-aligned,
    dates as 2022年10月5日 — a scroll box prints only the rows it shows (概要's 47-row comparison printed 10). Returns
    what st.dataframe returns (None when printed)."""
    if not is_print_mode():
        return st.dataframe(df, key=key, **dataframe_args)
    from monitor.plain import md_frame  # noqa: PLC0415
    from monitor.print_layout import right_aligned  # noqa: PLC0415
    from monitor.views.report import display_frame, numeric_columns  # noqa: PLC0415
    # column names can be record text too (概要's comparison has one column per consortium): escaped like the cells
    shown = md_frame(display_frame(df))
    names = {c: md_escape(c) for c in shown.columns}
    st.table(right_aligned(shown.rename(columns=names), [names[str(c)] for c in numeric_columns(df)]), hide_index=True)
    return None


# the narrowest grid seen beside the open sidebar at 1,024 px (532 px on データ取込; 概要's and 進捗's are 690 px
# wide): the columns a reader needs first fit in this on every page
MAIN_AREA_AT_1024_PX = 530
WRAPPED_ROW_HEIGHT_PX = 84      # four lines: the grid wraps a cell's text only in rows taller than 4rem
WRAPPED_HEADER_PX = 36
WRAPPED_ROWS_SHOWN = 8          # then the grid scrolls


def wrapped_table_args(columns: dict, n_rows: int) -> dict:
    """st.dataframe arguments for a table of sentences read whole at 1,024 px: ``columns`` (name → column_config
    with a pixel width), rows tall enough to wrap, and up to WRAPPED_ROWS_SHOWN rows without scrolling."""
    return {"column_config": columns, "row_height": WRAPPED_ROW_HEIGHT_PX,
            "height": WRAPPED_HEADER_PX + WRAPPED_ROW_HEIGHT_PX * min(max(n_rows, 1), WRAPPED_ROWS_SHOWN) + 2}


def csv_context(name: str, filters: Filters | None) -> dict[str, str]:
    """The 条件 lines a single table's CSV carries (as the report zip's 条件.csv): 表題, 年度, 絞り込み, データ基準日,
    データの種類, 出力日時 (the time of the click) and any access restriction."""
    from monitor.exports import conditions_for  # noqa: PLC0415
    f = filters or Filters()
    access_text = describe_access(allowed_prefectures())
    return conditions_for(describe_filters(f), fiscal_year_text=format_fiscal_year(f.fiscal_year),
                          data_as_of=data_as_of(), is_sample=meta()["is_sample"], title=name,
                          extra={"閲覧範囲": access_text} if access_text else None)


def csv_download(df, name: str, key: str) -> None:
    """A button under a table for its formula-safe CSV (monitor.exports.to_csv; built on click) with its 条件 lines
    (csv_context) above the table. The tables' own toolbar download is off (client.disableDataExport): it writes
    =HYPERLINK(…) and the like as formulas."""
    from monitor.exports import CSV_MIME, safe_file_name, to_csv  # noqa: PLC0415
    filters = st.session_state.get(STATE_FILTERS)
    st.download_button(f"CSV（{md_escape(name)}）",
                       access.audited("export", f"{name}.csv",
                                      lambda d=df, f=filters: to_csv(d, context=csv_context(name, f)), filters),
                       file_name=f"{safe_file_name(name)}.csv", mime=CSV_MIME, key=key, on_click="ignore")


def empty_state(message: str | None = None) -> None:
    st.info(message or "該当するデータがありません。絞り込みの条件を変えてみてください。")


# ── drill-down: a click on a chart or a table row narrows the shared filters ──────────────────────────────

def drill(**changes) -> None:
    """Narrow the shared filters (and so the URL) as a click asked. Call from a widget or chart callback only: the
    sidebar widgets take the new values before they are drawn again."""
    import dataclasses   # noqa: PLC0415

    f = dataclasses.replace(st.session_state.get(STATE_FILTERS) or Filters(), **changes)
    st.session_state[STATE_FILTERS] = f
    _seed_widgets(f, force=True)


def selected_points(key: str) -> list[dict]:
    """The points chosen on the plotly chart with ``key`` (on_select), [] when none."""
    event = st.session_state.get(key)
    try:
        return list(event["selection"]["points"])
    except (KeyError, TypeError):
        return []


def selected_rows(key: str) -> list[int]:
    """The rows chosen in the dataframe with ``key`` (on_select), [] when none."""
    event = st.session_state.get(key)
    try:
        return list(event["selection"]["rows"])
    except (KeyError, TypeError):
        return []


def month_period(month: dt.date) -> tuple[dt.date, dt.date]:
    start = dt.date(month.year, month.month, 1)
    end = (dt.date(month.year + (month.month == 12), month.month % 12 + 1, 1) - dt.timedelta(days=1))
    return start, end


# ── the print layout's controls, paged tables ────────────────────────────────

def chosen_or_widget(key: str, choices, widget, default=None):
    """A control that the print layout (?print=1) leaves out: printing, the value the widget with ``key`` last
    had in this session when it is one of ``choices`` (else ``default``, or the first choice); on screen,
    ``widget()`` draws it (with ``key=key``) and its value is returned."""
    if is_print_mode():
        value = st.session_state.get(key)
        if value in choices:
            return value
        return default if default is not None else next(iter(choices))
    return widget()


def url_choice(key: str, param: str, choices: dict, default) -> None:
    """A page's display control kept in the URL: the first time the widget with ``key`` is drawn in this session (or
    printed), its value comes from the URL's ``param`` (``choices`` maps values to the labels the URL holds, as the
    widget shows them); a label not among them is ignored with a notice. Call before drawing the widget (or
    ``chosen_or_widget``), then ``keep_in_url(param, choices[value])``."""
    if key in st.session_state:
        return
    value = default
    raw = st.query_params.get(param)
    if raw is not None:
        by_label = {str(label): v for v, label in choices.items()}
        text = str(raw).strip()
        if text in by_label:
            value = by_label[text]
        else:
            st.warning(md_escape(f"URLの{param}「{text}」は読み取れないため、無視しました"
                                 f"（{'、'.join(map(str, choices.values()))}のどれか）。"))
    st.session_state[key] = value


def keep_in_url(param: str, label: str) -> None:
    """The URL's ``param`` set to ``label`` (a page's display choice; see ``url_choice``)."""
    if st.query_params.get(param) != label:
        st.query_params[param] = label


def range_caption(total: int, start: int, shown: int, note: str = "") -> None:
    """'全1,234件のうち 501〜1,000件目を表示しています' when ``shown`` rows from ``start`` are not all ``total``."""
    if total > shown:
        st.caption(f"全{total:,}件のうち {start + 1:,}〜{start + shown:,}件目を表示しています{note}。")


def paged_table(total: int, rows_of, *, page_rows: int, key: str, page_key: str, page_note: str = "",
                caption_note: str = "", table=None, **dataframe_args):
    """A table shown ``page_rows`` rows at a time: a page number input when there is more than one page, a caption
    saying which rows are shown, the dataframe (``key``; ``table(rows)`` shown when given, else the rows).
    ``rows_of(offset, limit)`` gives one page's rows (a query page or a slice). Returns (rows, page, pages)."""
    pages = -(-total // page_rows)
    page = 1
    if pages > 1:
        page = int(st.number_input(f"ページ（全{pages:,}ページ{page_note}）", min_value=1, max_value=pages, value=1,
                                   step=1, key=page_key))
    start = (page - 1) * page_rows
    rows = rows_of(start, page_rows)
    range_caption(total, start, len(rows), caption_note)
    st.dataframe(rows if table is None else table(rows), hide_index=True, key=key, **dataframe_args)
    return rows, page, pages
