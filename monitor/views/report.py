"""報告: the 実績 of one 年度 for one コンソーシアム (or the whole programme), as the tables a METI 実績報告 needs (each
indicator against its target with the achievement rate) and the charts that go with them.

Pure read side: queries in monitor/sql/report_*.sql (run through monitor.queries), DataFrames with Japanese column
names out, plotly figures out. No Streamlit here; pages/5_報告.py renders it, monitor/report_pdf.py prints it.
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field

import pandas as pd
import plotly.graph_objects as go

from monitor.exports import conditions_for
from monitor.format import DASH, cut_text, fmt_date, fmt_month, fmt_number, format_fiscal_year, is_missing
from monitor.glossary import definitions_frame
from monitor.plain import plotly_text
from monitor.read.cache import VersionedCache
from monitor.read.db import db_version, meta, resolve_path
from monitor.read.filters import Filters, allowed_prefectures, describe_access
from monitor.read.queries import data_as_of, run_query
from monitor.views.style import (
    BANK, BANK_RATE, COMPANY, GREY, MANY_CONSORTIA, MUNICIPALITY, PLANNED, SEMINAR, STATUS_COLOURS, count_axis,
    NOT_YET, future_months, not_yet_band, report_figure,
)

REPORT_TITLE = "実績報告"
WHOLE_PROGRAMME = "事業全体"
# chart images (PNG) and the fixed chart size of the print layout
IMAGE_WIDTH = 1200
IMAGE_HEIGHT = 675

# table names (also the sheet names of the Excel export and the CSV file names)
T_SUMMARY = "実績サマリー"
T_EVENTS = "セミナー・研修"
T_COMPANIES = "支援企業"
T_MONTHLY = "伴走支援_月別"
T_MUNICIPALITIES = "支援自治体"
T_THEMES = "相談テーマ"
T_DEFINITIONS = "指標の定義"
CHART_LABEL_MAX = 40             # a chart label (a name from the records) longer than this is cut, saying so
COMPANIES_PER_PAGE = 10          # more rows than this: the company chart gets its own printed page
COMPANY_CHART_MAX = 40           # more companies than this: the chart sums them per コンソーシアム (or 業種)
CHART_GROUPS_MAX = 47            # at most this many bars per trace in that summary (the rest as その他)


@dataclass
class Section:
    key: str                                     # stable id (CSS class of the print page, test hooks)
    title: str
    tables: dict[str, pd.DataFrame]              # name → table with Japanese columns
    figures: dict[str, go.Figure] = field(default_factory=dict)   # name → chart (empty when nothing to draw)
    note: str = ""                               # how the figures are counted
    empty_message: str = ""                      # shown instead of empty tables


@dataclass
class Report:
    fiscal_year: int
    consortium: str | None
    title: str                                   # 令和4年度 実績報告（茨城県DX支援コミュニティ）
    context: str                                 # 年度｜対象｜データ基準日（｜サンプルデータ）
    data_as_of: dt.date | None
    is_sample: bool
    sections: list[Section]
    access: str = ""                             # '閲覧範囲: 長野県（…）' under DX_ALLOWED_PREFECTURES, else ''
    programme: str = ""                          # 事業名 of the 年度's engagements ('… ほか3事業'); programme_label

    @property
    def scope_label(self) -> str:
        return scope_label(self.consortium)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The report's tables (the exports' sheets); 指標の定義 goes on the 条件 sheet instead (definitions)."""
        out: dict[str, pd.DataFrame] = {}
        for s in self.sections:
            out.update({k: v for k, v in s.tables.items() if k != T_DEFINITIONS})
        return out

    @property
    def definitions(self) -> pd.DataFrame:
        return definitions_frame()

    @property
    def narrative(self) -> str:
        return narrative(self.tables(), self.fiscal_year, self.consortium)

    def figures(self) -> dict[str, go.Figure]:
        out: dict[str, go.Figure] = {}
        for s in self.sections:
            out.update(s.figures)
        return out

    @property
    def applied_text(self) -> str:
        """The only filters a report applies: '年度: 令和6年度（2024年度）｜対象: 事業全体'."""
        return f"年度: {format_fiscal_year(self.fiscal_year)}｜対象: {self.scope_label}"

    def header_text(self, unapplied: str = "") -> str:
        """The print header / caption: what the report shows, its as-of date, and any sidebar filter it did not
        apply (said plainly, so a screenshot never claims a filter the figures do not follow)."""
        text = f"{self.applied_text}｜データ基準日: {fmt_date(self.data_as_of)}"
        if self.access:
            text += f"｜{self.access}"
        if self.is_sample:
            text += "｜サンプルデータ"
        if unapplied:
            text += f"｜報告に適用していない絞り込み: {unapplied}"
        return text

    def running_text(self, now: dt.datetime | None = None) -> tuple[dict[str, str], dict[str, str]]:
        """What every printed page carries: (header, footer) items — 事業名, 年度, 対象, データ基準日 (閲覧範囲,
        サンプルデータ) above; 表題 and 出力日 below (monitor/report_pdf.py adds the page number n / N)."""
        t = now or dt.datetime.now()
        header = {"事業名": self.programme or NO_PROGRAMME, "年度": format_fiscal_year(self.fiscal_year),
                  "対象": self.scope_label, "データ基準日": fmt_date(self.data_as_of)}
        if self.access:
            header["閲覧範囲"] = self.access.removeprefix("閲覧範囲: ")
        if self.is_sample:
            header["データ"] = "サンプルデータ"
        return header, {"表題": REPORT_TITLE, "出力日": f"{fmt_date(t)} {t:%H:%M}"}

    def conditions(self, unapplied: str = "", now: dt.datetime | None = None) -> dict[str, str]:
        """The 条件 of an export of this report: the filters it applies, and those set but not applied."""
        scope = "年度（4月〜翌年3月）と対象（コンソーシアムまたは事業全体）で集計"
        if self.access:
            scope += f"。{self.access}"
        return conditions_for(
            self.applied_text,
            fiscal_year_text=format_fiscal_year(self.fiscal_year),
            data_as_of=self.data_as_of, is_sample=self.is_sample, title=self.title,
            extra={"対象": self.scope_label,
                   "集計の範囲": scope,
                   "適用していない絞り込み": unapplied or "なし",
                   "概要（文章）": self.narrative},
            now=now)

    def file_stem(self) -> str:
        return f"{REPORT_TITLE}_{self.fiscal_year}年度_{self.scope_label}"


def unapplied_filters(filters: Filters, consortium: str | None) -> str:
    """The sidebar filters a report does not apply, as text ('' when none): 都道府県, 期間, 支援種別, 担当ITC, and
    the other consortia when several are chosen (the report covers one)."""
    parts = []
    if filters.prefectures:
        parts.append(f"都道府県: {'、'.join(filters.prefectures)}")
    others = [c for c in filters.consortia if c != consortium]
    if others:
        parts.append(f"コンソーシアム: {'、'.join(others)}")
    if filters.date_from or filters.date_to:
        parts.append(f"期間: {fmt_date(filters.date_from) if filters.date_from else ''}〜"
                     f"{fmt_date(filters.date_to) if filters.date_to else ''}")
    if filters.support_types:
        parts.append(f"支援種別: {'、'.join(filters.support_types)}")
    if filters.coordinators:
        parts.append(f"担当ITC: {'、'.join(filters.coordinators)}")
    return "、".join(parts)


def scope_problem(fiscal_year: int, consortium: str | None, path=None) -> str | None:
    """Why a report of this 年度 / 対象 cannot be made (no records that year, an unknown consortium), listing the valid
    values; None when it can."""
    choices = run_query("filter_choices", Filters(), path=path, cache=False)
    years = sorted({int(v) for k, v in zip(choices["kind"], choices["value"]) if k == "fiscal_year"})
    consortia = [v for k, v in zip(choices["kind"], choices["value"]) if k == "consortium"]
    if int(fiscal_year) not in years:
        listed = "、".join(format_fiscal_year(y) for y in years) or "（記録がありません）"
        return f"{fiscal_year}年度の記録はありません。記録のある年度: {listed}"
    if consortium and consortium not in consortia:
        return (f"コンソーシアム「{consortium}」はありません。指定できるコンソーシアム: " + "、".join(consortia)
                + "（省略すると事業全体）")
    return None


def _n(v) -> str:
    return f"{float(v):,.1f}" if float(v) % 1 else f"{int(v):,}"


def narrative(report_tables: dict[str, pd.DataFrame], fiscal_year: int, consortium: str | None) -> str:
    """実績報告's opening paragraph, built from the report's own tables (実績サマリー, 伴走支援_月別), so every number in
    it is one of theirs. Plain text: it may carry a consortium name from the records."""
    summary = report_tables[T_SUMMARY].set_index("項目")

    def actual(item):
        return summary.loc[item, "実績"] if item in summary.index and not is_missing(summary.loc[item, "実績"]) else None

    def against(item, unit):
        if item not in summary.index:
            return ""
        target, rate = summary.loc[item, "目標"], summary.loc[item, "達成率（%）"]
        if is_missing(target):
            return ""
        return f"（目標{_n(target)}{unit}、達成率{float(rate):.1f}%）" if not is_missing(rate) else f"（目標{_n(target)}{unit}）"

    who = "" if not consortium else f"{consortium}では、"
    parts = []
    companies, sessions = actual("支援企業数"), actual("伴走支援 実施回数")
    if companies:
        text = (f"{format_fiscal_year(fiscal_year)}は、{who}伴走支援を{_n(companies)}社{against('支援企業数', '社')}に"
                f"計{_n(sessions or 0)}回実施し")
        monthly = report_tables.get(T_MONTHLY)
        bank, rate = (None if monthly is None else monthly["金融機関同行回数"].sum()), actual("金融機関同行率")
        text += (f"、うち金融機関の同行は{_n(bank)}回（{float(rate):.1f}%）でした。" if bank is not None and rate is not None
                 else "ました。")
        parts.append(text)
        plans = actual("DX計画書策定数")
        if plans or "DX計画書策定数" in summary.index:
            parts.append(f"DX計画書は{_n(plans or 0)}件策定されました{against('DX計画書策定数', '件')}。")
    else:
        parts.append(f"{format_fiscal_year(fiscal_year)}は、{who}伴走支援の実施記録はありません。")
    seminars, attendees = actual("セミナー開催回数"), actual("セミナー参加者数")
    if seminars:
        parts.append(f"セミナーを{_n(seminars)}回開催し、{_n(attendees or 0)}人が参加しました"
                     f"{against('セミナー参加者数', '人')}。")
    municipalities, consultations = actual("支援自治体数"), actual("相談件数")
    if municipalities or consultations:
        parts.append(f"自治体支援では{_n(municipalities or 0)}団体を支援し{against('支援自治体数', '団体')}、"
                     f"相談は{_n(consultations or 0)}件でした{against('相談件数', '件')}。")
    return "".join(parts)


NO_PROGRAMME = "（事業名の記録なし）"


def programme_label(programmes: pd.DataFrame) -> str:
    """The 事業名 a report names (``programmes``: report_programme's rows, most engagements first): the first, and
    how many others there are ('令和7年度 地域DX促進活動支援事業 ほか36事業'); '' when none is recorded."""
    names = [str(v) for v in programmes["programme"] if not is_missing(v)] if len(programmes) else []
    if not names:
        return ""
    return names[0] + (f" ほか{len(names) - 1:,}事業" if len(names) > 1 else "")


def scope_label(consortium: str | None) -> str:
    return consortium if consortium else WHOLE_PROGRAMME


def report_title(fiscal_year: int, consortium: str | None) -> str:
    """'令和4年度（2022年度） 実績報告｜茨城県DX支援コミュニティ'."""
    return f"{format_fiscal_year(fiscal_year)} {REPORT_TITLE}｜{scope_label(consortium)}"


# ── tables ──────────────────────────────────────────────────────────────────

def _q(name: str, fiscal_year: int, consortium: str | None, path) -> pd.DataFrame:
    # not kept in the query cache: the finished report is cached as a whole (cached_report)
    return run_query(name, Filters(fiscal_year=int(fiscal_year)), path=path, consortium=consortium or None,
                     cache=False)


def _int(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce").round().astype("Int64")


def _float(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce").astype("Float64")


def _dates(s: pd.Series) -> list:
    out = []
    for v in s.tolist():
        if is_missing(v):
            out.append(None)
        elif isinstance(v, pd.Timestamp):
            out.append(v.date())
        elif isinstance(v, dt.datetime):
            out.append(v.date())
        else:
            out.append(v)
    return out


def _text(s: pd.Series) -> list:
    return [None if is_missing(v) else str(v) for v in s]


# Each table twice: ``*_data`` has the query's English column names with the types and rounding the report shows
# (the charts read these), ``*_table`` the same values under the Japanese column names of the report, the exports
# and the PDF (``*_COLUMNS``: English → Japanese). Renaming a Japanese column changes no chart.
SUMMARY_COLUMNS = {"section": "区分", "item": "項目", "unit": "単位", "actual": "実績", "target": "目標",
                   "rate_pct": "達成率（%）"}
EVENTS_COLUMNS = {"kind": "種別", "category": "区分", "events": "開催回数", "attendees": "参加者数",
                  "companies": "参加企業数", "applicants": "申込者数", "first_date": "初回開催日", "last_date": "最終開催日"}
COMPANIES_COLUMNS = {"consortium": "コンソーシアム", "engagement_id": "案件ID", "client_name": "支援先", "industry": "業種",
                     "municipality": "市区町村", "lead_coordinator": "担当ITC", "bank": "同行金融機関",
                     "start_date": "開始日", "status": "状況", "planned_sessions": "予定回数", "sessions": "実施回数",
                     "progress_pct": "実施率（%）", "bank_sessions": "金融機関同行回数", "current_stage": "現在の段階",
                     "plan_date": "DX計画書完成日"}
MONTHLY_COLUMNS = {"month": "月", "sessions": "実施回数", "cumulative_sessions": "累計実施回数",
                   "bank_sessions": "金融機関同行回数", "bank_rate_pct": "金融機関同行率（%）", "note": "備考"}
# a month after the data's as-of date: its figures are empty (never 0: nothing can have been recorded yet), on screen
# and in print (—) and in the exports (an empty cell in CSV and Excel), and its 備考 says 未到来
MONTHLY_FIGURES = ("sessions", "cumulative_sessions", "bank_sessions", "bank_rate_pct")
MUNICIPALITIES_COLUMNS = {"municipality": "自治体", "prefecture": "都道府県", "municipality_code": "団体コード",
                          "support_types": "支援種別", "engagements": "支援案件数", "consultations": "相談件数",
                          "trainings": "職員研修回数", "trainees": "研修受講者数"}
THEMES_COLUMNS = {"theme": "テーマ", "consultations": "相談件数", "share_pct": "構成比（%）"}
INT_COLUMNS = {"events", "attendees", "companies", "applicants", "planned_sessions", "sessions", "bank_sessions",
               "cumulative_sessions", "engagements", "consultations", "trainings", "trainees"}
ROUNDED_COLUMNS = {"actual", "target", "rate_pct", "progress_pct", "bank_rate_pct", "share_pct"}     # 1 decimal
DATE_COLUMNS = {"first_date", "last_date", "start_date", "plan_date", "month"}


def _data(df: pd.DataFrame, columns) -> pd.DataFrame:
    """The named query columns, typed: counts as Int64, rates and figures as Float64 rounded to 1 decimal, dates as
    datetime.date (None when missing), the rest as text."""
    out = {}
    for col in columns:
        if col in INT_COLUMNS:
            out[col] = _int(df[col])
        elif col in ROUNDED_COLUMNS:
            out[col] = _float(df[col]).round(1)
        elif col in DATE_COLUMNS:
            out[col] = _dates(df[col])
        else:
            out[col] = _text(df[col])
    return pd.DataFrame(out).reset_index(drop=True)


def _labelled(data: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    return data.rename(columns=columns)


def summary_data(df: pd.DataFrame, consortium: str | None) -> pd.DataFrame:
    """実績サマリー: section, item, unit, actual, target, rate_pct. For one consortium, indicators it has neither a
    target nor any record for (the municipal ones) are left out."""
    if consortium:
        df = df[~(df["target"].isna() & (pd.to_numeric(df["actual"]).fillna(0) == 0))]
    return _data(df, SUMMARY_COLUMNS)


def events_data(df: pd.DataFrame) -> pd.DataFrame:
    return _data(df, EVENTS_COLUMNS)


def companies_data(df: pd.DataFrame, consortium: str | None) -> pd.DataFrame:
    """One row per engagement; the consortium column only for the whole programme."""
    return _data(df, [c for c in COMPANIES_COLUMNS if not consortium or c != "consortium"])


def monthly_data(df: pd.DataFrame, as_of=None) -> pd.DataFrame:
    """The months of the 年度; those after ``as_of`` (the data's as-of date) with empty figures and 備考 未到来."""
    out = _data(df, [c for c in MONTHLY_COLUMNS if c != "note"])
    future = future_months(out["month"], as_of)
    for col in MONTHLY_FIGURES:
        out[col] = out[col].mask(pd.Series(future, index=out.index, dtype=bool))
    out["note"] = pd.Series([NOT_YET if f else "" for f in future], index=out.index, dtype=object)
    return out


def municipalities_data(df: pd.DataFrame) -> pd.DataFrame:
    return _data(df, MUNICIPALITIES_COLUMNS)


def themes_data(df: pd.DataFrame) -> pd.DataFrame:
    return _data(df, THEMES_COLUMNS)


# ── charts ──────────────────────────────────────────────────────────────────

def _nums(s: pd.Series) -> list:
    return [None if is_missing(v) else float(v) for v in s]


RATE_CAP_PCT = 200.0        # a 達成率 above this is drawn to it (its true value in the label) and said so in a note


def achievement_figure(summary: pd.DataFrame, context: str) -> go.Figure | None:
    """達成率 per indicator with a target (``summary``: summary_data's columns). One outlier (709 %) would squeeze
    every other bar: a rate above RATE_CAP_PCT is drawn to the cap, labelled with its value and marked ▶."""
    rows = summary[summary["rate_pct"].notna()]
    if rows.empty:
        return None
    labels = [plotly_text(cut_text(v, CHART_LABEL_MAX)) for v in rows["item"]]
    rates = _nums(rows["rate_pct"])
    capped = [r > RATE_CAP_PCT for r in rates]
    texts = [f"{fmt_number(r, 1)}%（{fmt_number(a, 1)}/{fmt_number(t, 1)}{plotly_text(u)}）" + (" ▶" if c else "")
             for r, a, t, u, c in zip(rates, rows["actual"], rows["target"], rows["unit"], capped)]
    # reached or not (a status, not a concept: each bar is another indicator)
    colors = [STATUS_COLOURS["done"] if r >= 100 else GREY for r in rates]
    fig = go.Figure(go.Bar(
        x=[min(r, RATE_CAP_PCT) for r in rates], y=labels, orientation="h", text=texts,
        textposition=["inside" if c else "outside" for c in capped], insidetextanchor="end",
        marker_color=colors, customdata=rates,
        hovertemplate="%{y}<br>達成率 %{customdata:.1f}%<extra></extra>", cliponaxis=False, name="達成率"))
    fig.add_vline(x=100, line_dash="dot", line_color="#888", annotation_text="目標 100%",
                  annotation_position="top")
    drawn = max(min(r, RATE_CAP_PCT) for r in rates)
    xmax = max(130.0, drawn * 1.6) if not any(capped) else RATE_CAP_PCT * 1.02
    fig.update_layout(xaxis={"title": "達成率（%）", "range": [0, xmax], "tickformat": ",d"},
                      yaxis={"autorange": "reversed", "title": None, "tickmode": "linear", "dtick": 1},
                      showlegend=False)
    if any(capped):
        names = "、".join(label for label, c in zip(labels, capped) if c)
        fig.add_annotation(text=f"▶ {RATE_CAP_PCT:,.0f}%を超える達成率（{names}）は{RATE_CAP_PCT:,.0f}%で打ち切って"
                                "描いています。数値は実際の値です。",
                           xref="paper", yref="paper", x=0, y=-0.32, xanchor="left", yanchor="top",
                           showarrow=False, font={"size": 12, "color": "#555"})
    fig = report_figure(fig, "目標に対する達成率", context)
    if any(capped):
        fig.update_layout(margin={"b": 110})
    return fig


def events_figure(events: pd.DataFrame, context: str) -> go.Figure | None:
    if events.empty:
        return None
    fig = go.Figure()          # events: events_data's columns
    fig.add_trace(go.Bar(
        name="参加者数（人）", x=[plotly_text(cut_text(v, CHART_LABEL_MAX)) for v in events["kind"]], y=_nums(events["attendees"]),
        text=[f"{fmt_number(a, 0)}人（{fmt_number(n, 0)}回）" for a, n in zip(events["attendees"], events["events"])],
        textposition="outside", marker_color=SEMINAR, cliponaxis=False,
        hovertemplate="%{x}<br>参加者 %{y:,}人<extra></extra>"))
    if events["applicants"].notna().any():
        fig.add_trace(go.Bar(
            name="申込者数（人）", x=[plotly_text(cut_text(v, CHART_LABEL_MAX)) for v in events["kind"]],
            y=_nums(events["applicants"]),
            marker_color=SEMINAR, opacity=0.4, hovertemplate="%{x}<br>申込 %{y:,}人<extra></extra>"))
    fig.update_layout(barmode="group", yaxis=count_axis(title="人数"),
                      xaxis={"title": None, "type": "category"})
    return report_figure(fig, "セミナー・研修の種別ごとの参加者数", context)


def company_chart_groups(companies: pd.DataFrame) -> str | None:
    """None when the chart shows one bar group per company; otherwise the column the chart sums by (more than
    COMPANY_CHART_MAX companies: one bar per company would be unreadable and heavy for the browser), by its Japanese
    name (コンソーシアム or 業種). ``companies``: companies_data's columns."""
    if len(companies) <= COMPANY_CHART_MAX:
        return None
    if "consortium" in companies.columns and companies["consortium"].nunique(dropna=False) > 1:
        return COMPANIES_COLUMNS["consortium"]
    return COMPANIES_COLUMNS["industry"]


ROW_PX = 24          # one labelled row (a consortium's three bars) in a chart whose bars run across


COUNT_COLUMNS = ["planned_sessions", "sessions", "bank_sessions"]       # 予定回数, 実施回数, 金融機関同行回数


def _company_sums(companies: pd.DataFrame, by_label: str) -> pd.DataFrame:
    by = {v: k for k, v in COMPANIES_COLUMNS.items()}[by_label]
    cols = COUNT_COLUMNS
    df = companies[[by, *cols]].copy()
    df[by] = df[by].fillna("（不明）").astype(str)
    sums = df.groupby(by, sort=False)[cols].sum(min_count=1)
    sums["companies"] = companies.assign(**{by: df[by]}).groupby(by, sort=False)["client_name"].nunique()
    sums = sums.sort_values(["sessions", "companies"], ascending=False, na_position="last")
    if len(sums) > CHART_GROUPS_MAX:
        head, rest = sums.iloc[: CHART_GROUPS_MAX - 1], sums.iloc[CHART_GROUPS_MAX - 1:]
        other = rest.sum(min_count=1).to_frame(f"その他（{len(rest)}）").T
        sums = pd.concat([head, other])
    return sums


def companies_figure(companies: pd.DataFrame, context: str) -> go.Figure | None:
    if companies.empty:
        return None
    by = company_chart_groups(companies)
    if by is None:
        names = [plotly_text(cut_text(str(n).replace("(架空)", "").replace("（架空）", ""), CHART_LABEL_MAX))
                 for n in companies["client_name"]]
        planned, held, bank = (companies[c] for c in COUNT_COLUMNS)
        title = "支援企業ごとの伴走支援 予定回数・実施回数・金融機関同行回数"
        unit, dtick = "回", 2
    else:
        sums = _company_sums(companies, by)
        names = [plotly_text(f"{cut_text(k, CHART_LABEL_MAX)}（{int(n):,}社）") for k, n in zip(sums.index, sums["companies"])]
        planned, held, bank = (sums[c] for c in COUNT_COLUMNS)
        title = (f"{by}別の伴走支援 予定回数・実施回数・金融機関同行回数"
                 f"（{len(companies):,}件の案件・{companies['client_name'].nunique():,}社の合計）")
        unit, dtick = "回", None
    # many groups (47 consortia at national scale): bars run across, one labelled row per group, so every name reads
    across = by is not None and len(names) > MANY_CONSORTIA
    fig = go.Figure()
    for name, values, color, word in (("予定回数", planned, PLANNED, "予定"), ("実施回数", held, COMPANY, "実施"),
                                      ("金融機関同行回数", bank, BANK, "同行")):
        if across:
            fig.add_trace(go.Bar(name=name, y=names, x=_nums(values), orientation="h", marker_color=color,
                                 hovertemplate=f"%{{y}}<br>{word} %{{x:,}}{unit}<extra></extra>"))
        else:
            fig.add_trace(go.Bar(name=name, x=names, y=_nums(values), marker_color=color,
                                 hovertemplate=f"%{{x}}<br>{word} %{{y:,}}{unit}<extra></extra>"))
    counts = count_axis(title="回数")
    if dtick:
        counts["dtick"] = dtick
    if across:
        # every group labelled (plotly would skip labels it finds crowded): one tick per category, a smaller font
        fig.update_layout(barmode="group", xaxis=counts, bargap=0.25,
                          yaxis={"title": None, "type": "category", "autorange": "reversed", "tickmode": "linear",
                                 "dtick": 1, "tickfont": {"size": 11}, "automargin": True})
        return report_figure(fig, title, context, height=ROW_PX * len(names) + 180)
    fig.update_layout(barmode="group", yaxis=counts, xaxis={"title": None, "type": "category", "tickangle": -30,
                                                            "tickmode": "linear", "dtick": 1})
    return report_figure(fig, title, context)


def monthly_figure(monthly: pd.DataFrame, context: str, as_of=None) -> go.Figure | None:
    """Sessions and bank attendance per month of the 年度 (``monthly``: monthly_data's columns). The months after
    the data's as-of date ``as_of`` are greyed out and marked 未到来: no bar and no 0 there (nothing can have been
    recorded yet); the rate line has no point where no session recorded its bank attendance."""
    if monthly.empty:
        return None
    labels = [fmt_month(m) for m in monthly["month"]]
    future = future_months(monthly["month"], as_of)

    def upto(values):
        return [None if f else v for v, f in zip(_nums(values), future)]

    fig = go.Figure()
    fig.add_trace(go.Bar(name="実施回数（回）", x=labels, y=upto(monthly["sessions"]), marker_color=COMPANY,
                         hovertemplate="%{x}<br>実施 %{y:,}回<extra></extra>"))
    fig.add_trace(go.Bar(name="金融機関同行回数（回）", x=labels, y=upto(monthly["bank_sessions"]),
                         marker_color=BANK, hovertemplate="%{x}<br>同行 %{y:,}回<extra></extra>"))
    fig.add_trace(go.Scatter(name="金融機関同行率（%）", x=labels, y=upto(monthly["bank_rate_pct"]),
                             mode="lines+markers", yaxis="y2", marker_color=BANK_RATE, line={"color": BANK_RATE},
                             connectgaps=False, hovertemplate="%{x}<br>同行率 %{y:.1f}%<extra></extra>"))
    shapes, notes = not_yet_band(labels, future)
    fig.update_layout(
        barmode="group",
        xaxis={"title": None, "type": "category"},
        yaxis=count_axis(title="回数"),
        yaxis2={"title": "同行率（%）", "overlaying": "y", "side": "right", "range": [0, 100], "dtick": 25,
                "showgrid": False, "tickmode": "linear", "ticksuffix": "%"},
        shapes=shapes, annotations=notes,
    )
    return report_figure(fig, "伴走支援の月別実施回数と金融機関同行率", context)


def themes_figure(themes: pd.DataFrame, context: str) -> go.Figure | None:
    if themes.empty:
        return None
    fig = go.Figure(go.Bar(
        x=_nums(themes["consultations"]), y=[plotly_text(cut_text(v, CHART_LABEL_MAX)) for v in themes["theme"]],
        orientation="h",
        marker_color=MUNICIPALITY,          # 相談 = 自治体 (the same orange as on 概要 and 相談テーマ)
        text=[f"{fmt_number(n, 0)}件（{fmt_number(s, 1)}%）" for n, s in zip(themes["consultations"], themes["share_pct"])],
        textposition="outside", cliponaxis=False, hovertemplate="%{y}<br>%{x}件<extra></extra>", name="相談件数"))
    xmax = float(themes["consultations"].max()) * 1.45 if len(themes) else 1
    fig.update_layout(xaxis=count_axis(title="相談件数（件）", range=[0, xmax]),
                      yaxis={"autorange": "reversed", "title": None, "tickmode": "linear", "dtick": 1},
                      showlegend=False)
    return report_figure(fig, "相談テーマ別の相談件数", context, height=max(420, 120 + 28 * len(themes)))


# ── the report ──────────────────────────────────────────────────────────────

def report_context(fiscal_year: int, consortium: str | None, data_as_of, is_sample: bool, access: str = "") -> str:
    text = f"{format_fiscal_year(fiscal_year)}｜{scope_label(consortium)}｜データ基準日: {fmt_date(data_as_of)}"
    if access:
        text += f"｜{access}"
    return text + ("｜サンプルデータ" if is_sample else "")


def build_report(fiscal_year: int, consortium: str | None = None, *,
                 path: str | os.PathLike | None = None) -> Report:
    """The report of ``fiscal_year`` for ``consortium`` (None or '' = the whole programme). Under
    DX_ALLOWED_PREFECTURES every query sees only the allowed prefectures' records (monitor.queries enforces it;
    records without a prefecture are left out) and the context says so."""
    fy = int(fiscal_year)
    consortium = consortium or None
    m = meta(path)
    as_of = data_as_of(path)
    access = describe_access(allowed_prefectures())
    context = report_context(fy, consortium, as_of, m["is_sample"], access)

    summary_d = summary_data(_q("report_summary", fy, consortium, path), consortium)
    events_d = events_data(_q("report_events", fy, consortium, path))
    companies_d = companies_data(_q("report_companies", fy, consortium, path), consortium)
    monthly_d = monthly_data(_q("report_monthly", fy, consortium, path), as_of)
    themes_d = themes_data(_q("report_themes", fy, consortium, path))
    summary, events = _labelled(summary_d, SUMMARY_COLUMNS), _labelled(events_d, EVENTS_COLUMNS)
    companies, monthly = _labelled(companies_d, COMPANIES_COLUMNS), _labelled(monthly_d, MONTHLY_COLUMNS)
    municipalities = _labelled(municipalities_data(_q("report_municipalities", fy, consortium, path)),
                               MUNICIPALITIES_COLUMNS)
    themes = _labelled(themes_d, THEMES_COLUMNS)

    def figs(**named):
        return {k: v for k, v in named.items() if v is not None}

    company_note = "実施回数・金融機関同行回数は年度内に実施した回数です。"
    by = company_chart_groups(companies_d)
    chart_note = company_note + (f"支援企業が{COMPANY_CHART_MAX}社を超えるため、グラフは{by}ごとの合計です"
                                 "（企業ごとの値は表と Excel / CSV にあります）。" if by else "")
    company_fig = figs(**{"支援企業": companies_figure(companies_d, context)})
    sections = [
        Section("summary", "実績サマリー（目標と達成率）", {T_SUMMARY: summary},
                figs(**{"達成率": achievement_figure(summary_d, context)}),
                note="目標は目標値表（年度・コンソーシアム別）。事業全体の目標は事業全体の目標値、"
                     "ない指標はコンソーシアムの目標値の合計（金融機関同行率は平均）です。"),
        Section("events", "セミナー・研修の開催実績", {T_EVENTS: events},
                figs(**{"セミナー・研修": events_figure(events_d, context)}),
                note="開催日の年度で集計しています。",
                empty_message="この年度・対象のセミナー・研修の記録はありません。"),
    ]
    if len(companies) > COMPANIES_PER_PAGE:   # a long list gets a page of its own, the chart the next one
        sections += [
            Section("companies", "支援企業と伴走支援（予定回数・実施回数・DX計画書）", {T_COMPANIES: companies},
                    note=company_note, empty_message="この年度・対象の伴走支援の記録はありません。"),
            Section("companies_chart", f"{by or '支援企業'}ごとの伴走支援 予定回数・実施回数", {}, company_fig,
                    note=chart_note),
        ]
    else:
        sections.append(
            Section("companies", "支援企業と伴走支援（予定回数・実施回数・DX計画書）", {T_COMPANIES: companies},
                    company_fig, note=company_note, empty_message="この年度・対象の伴走支援の記録はありません。"))
    sections.append(
        Section("monthly", "伴走支援の月別実施状況と金融機関同行率", {T_MONTHLY: monthly},
                figs(**{"月別実施状況": monthly_figure(monthly_d, context, as_of)}),
                note="金融機関同行率 = 金融機関が同行した回 ÷ 同行の有無が記録された回。"))
    muni_note = "支援自治体は、実施中・完了の支援案件または相談記録がある自治体です。"
    if municipalities.empty and themes.empty:
        sections.append(
            Section("municipalities", "支援自治体と相談テーマ", {T_MUNICIPALITIES: municipalities, T_THEMES: themes},
                    note=muni_note, empty_message="この年度・対象の自治体支援・相談の記録はありません。"))
    else:
        sections += [
            Section("municipalities", "支援自治体", {T_MUNICIPALITIES: municipalities}, note=muni_note,
                    empty_message="この年度・対象の自治体支援の記録はありません。"),
            Section("themes", "相談テーマ別の相談件数", {T_THEMES: themes},
                    figs(**{"相談テーマ": themes_figure(themes_d, context)}),
                    note="相談記録のテーマ（自治体DX推進計画の重点取組事項などの分類）ごとの件数です。",
                    empty_message="この年度・対象の相談の記録はありません。"),
        ]
    # the definitions of what this report shows (the Excel 条件 sheet carries the whole glossary)
    shown = set(summary["項目"]) | {"達成率", "データ基準日", "実施率"}
    definitions = definitions_frame()
    sections.append(
        Section("definitions", "指標の定義", {T_DEFINITIONS: definitions[definitions["指標"].isin(shown)]
                                              .reset_index(drop=True)},
                note="定義は data/reference/indicators.csv（全ページ・報告・出力で共通）です。Excel の条件シートには"
                     "すべての指標の定義があります。"))
    return Report(fiscal_year=fy, consortium=consortium, title=report_title(fy, consortium), context=context,
                  data_as_of=as_of, is_sample=m["is_sample"], sections=sections, access=access,
                  programme=programme_label(_q("report_programme", fy, consortium, path)))


def cached_report(fiscal_year: int, consortium: str | None = None, *,
                  path: str | os.PathLike | None = None) -> Report:
    """build_report, kept per (年度, 対象, database file, database version): a page rerun or a filter change that
    does not change the report reuses it. The Report is shared: do not change its tables or figures."""
    p = resolve_path(path)
    key = (int(fiscal_year), consortium or None, str(p), db_version(p), allowed_prefectures())
    return _REPORTS.get_or_build(key, lambda: build_report(int(fiscal_year), consortium or None, path=p))


_REPORTS = VersionedCache(max_entries=4, name="reports")


# ── display helpers (print layout and PDF: static tables with Japanese number formats) ──────────────

PRINT_CELL_MAX = 300         # printed, a longer text cell is cut with 「…（以下省略、全N文字）」 (the exports keep it;
                             # the longest glossary definition is 137 characters)


def display_frame(df: pd.DataFrame, max_chars: int | None = PRINT_CELL_MAX) -> pd.DataFrame:
    """A copy of ``df`` with every value as display text: 桁区切り, dates as 2022年10月5日 (months 2022年4月), missing
    as —, text longer than ``max_chars`` cut with a note of its length."""
    out = {}
    for col in df.columns:
        s = df[col]
        vals = []
        for v in s.tolist():
            if is_missing(v):
                vals.append(DASH)
            elif isinstance(v, (dt.date, pd.Timestamp)):
                vals.append(fmt_month(v) if col == "月" else fmt_date(v))
            elif isinstance(v, bool):
                vals.append("はい" if v else "いいえ")
            elif isinstance(v, int):
                vals.append(f"{v:,}")
            elif isinstance(v, float):
                vals.append(fmt_number(v, 1))
            else:
                vals.append(str(v) if max_chars is None else cut_text(v, max_chars))
        out[str(col)] = vals
    return pd.DataFrame(out)


def numeric_columns(df: pd.DataFrame) -> list[str]:
    """The columns printed right-aligned: numbers (counts, rates)."""
    return [str(c) for c in df.columns if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])]


# ── the 報告 page's layout (monitor/render/report.py draws it) ───────────────

TABLE_PAGE_ROWS = 500        # on screen, a table longer than this is shown a page at a time
PRINT_MAX_ROWS = 300         # printed, a longer table is summed per group (PRINT_GROUP_BY) and says so
PRINT_KEEP_ROWS = 25         # printed, a table of at most this many rows is kept on one page with its name
# on screen: table left, chart right (print stacks everything). None now: in a 1,024-pixel window 相談テーマ's table
# beside its chart showed only its first column and the chart cut its labels; stacked, both have the page's width
SIDE_BY_SIDE: frozenset[str] = frozenset()
# columns left out of the printed tables so that a row fits on one line (the exports keep them)
PRINT_HIDDEN_COLUMNS = ("案件ID", "業種", "開始日", "現在の段階", "団体コード", "含む", "含まない", "目標値の指標名")
# a printed section's charts get the height its A4 page has left (print_layout.PAGE_HEIGHT_PX) after:
PRINT_CHART_MIN_PX, PRINT_CHART_MAX_PX = 360, 440
PRINT_SECTION_PX = 260       # the header, the section title and its note
PRINT_CHART_PAGE_PX = 150    # a chart with more rows than PRINT_CHART_MAX_PX holds: a page less this (title, note)
PRINT_TABLE_ROW_PX = 23      # one printed table row (a header row counts as one; measured 22 px)
PRINT_TABLE_GAP_ROWS = 2     # between two tables: a table name and a gap
PRINT_NARRATIVE_PX = 230     # the first section's page also holds the 概要 text
TOTAL_LABEL = "合計"
# printed tables with a 合計 row: the columns whose sum means something (a 参加企業数 summed over kinds, a 累計 or
# a rate would not)
TOTAL_COLUMNS = {
    T_EVENTS: ("開催回数", "参加者数", "申込者数"),
    T_COMPANIES: ("予定回数", "実施回数", "金融機関同行回数"),
    T_MONTHLY: ("実施回数", "金融機関同行回数"),
    T_MUNICIPALITIES: ("支援案件数", "相談件数", "職員研修回数", "研修受講者数"),
    T_THEMES: ("相談件数",),
}
# a printed table longer than PRINT_MAX_ROWS: its rows summed per the first of these columns it has (≥ 2 values)
PRINT_GROUP_BY = ("コンソーシアム", "都道府県", "業種", "市区町村")
ROW_UNITS = {T_COMPANIES: "案件数", T_MUNICIPALITIES: "自治体数"}


def side_by_side(section: Section) -> bool:
    """On screen, a section of one table and one chart in SIDE_BY_SIDE shows them next to each other."""
    return section.key in SIDE_BY_SIDE and len(section.tables) == 1 and len(section.figures) == 1


@dataclass
class PrintTable:
    frame: pd.DataFrame          # the printed rows (typed; display_frame makes the text), a 合計 row last if any
    note: str = ""               # what was left out or summed, said plainly ('' when the table is complete)
    keep: bool = False           # short enough to keep on one page


def with_total(df: pd.DataFrame, columns) -> pd.DataFrame:
    """``df`` with a 合計 row under it: the sum of ``columns`` (those it has), the first column saying 合計, the rest
    empty. Unchanged when it has none of them or fewer than two rows."""
    cols = [c for c in columns if c in df.columns]
    if not cols or len(df) < 2:
        return df
    total = {c: None for c in df.columns}
    total[df.columns[0]] = TOTAL_LABEL
    for c in cols:
        total[c] = pd.to_numeric(df[c], errors="coerce").sum(min_count=1)
    out = pd.concat([df.astype(object), pd.DataFrame([total], columns=df.columns).astype(object)], ignore_index=True)
    for c in cols:     # keep the numbers numeric (a count stays an integer)
        out[c] = pd.array(pd.to_numeric(out[c], errors="coerce"),
                          dtype="Int64" if pd.api.types.is_integer_dtype(df[c]) else "Float64")
    return out


def group_summary(df: pd.DataFrame, by: str, name: str) -> pd.DataFrame:
    """A long table's rows summed per ``by`` (in the order they come): the number of rows and the sums of its
    TOTAL_COLUMNS."""
    sums = [c for c in TOTAL_COLUMNS.get(name, ()) if c in df.columns]
    keys = df[by].map(lambda v: "（不明）" if is_missing(v) else str(v))
    grouped = df.assign(**{by: keys}).groupby(by, sort=False)
    out = grouped.size().rename(ROW_UNITS.get(name, "件数")).to_frame()
    for c in sums:
        out[c] = grouped[c].sum(min_count=1)
    out = out.reset_index()
    for c in out.columns[1:]:
        out[c] = pd.array(pd.to_numeric(out[c], errors="coerce").round(), dtype="Int64")
    return out


def print_table(df: pd.DataFrame, name: str = "") -> PrintTable:
    """A table as printed: PRINT_HIDDEN_COLUMNS left out; complete when at most PRINT_MAX_ROWS rows, else summed
    per group (PRINT_GROUP_BY) with a note saying what is left out and where it is; a 合計 row where one means
    something (TOTAL_COLUMNS)."""
    shown = df.drop(columns=[c for c in PRINT_HIDDEN_COLUMNS if c in df.columns])
    note = ""
    if len(shown) > PRINT_MAX_ROWS:
        by = next((c for c in PRINT_GROUP_BY if c in shown.columns and shown[c].nunique(dropna=False) > 1), None)
        if by is not None:
            summary = group_summary(shown, by, name)
            note = (f"全{len(shown):,}件は多いため、1件ずつの一覧は印刷していません。{by}ごとの合計"
                    f"（{len(summary):,}行）を載せています。1件ずつの一覧は Excel / CSV にあります。")
            shown = with_total(summary, summary.columns[1:])
        else:
            note = (f"全{len(shown):,}件のうち先頭の{PRINT_MAX_ROWS:,}件を印刷しています（残り{len(shown) - PRINT_MAX_ROWS:,}件"
                    "は印刷していません）。全件は Excel / CSV にあります。")
            shown = shown.head(PRINT_MAX_ROWS)
    else:
        shown = with_total(shown, TOTAL_COLUMNS.get(name, ()))
    return PrintTable(shown.reset_index(drop=True), note, keep=len(shown) <= PRINT_KEEP_ROWS)


def print_chart_height(section: Section, first: bool, page_height: int, wanted: int | None = None) -> int:
    """The height of a printed section's charts: what is left of its page (``page_height`` px) under its tables;
    a chart that needs more (``wanted``: one row per consortium) gets up to a page of its own."""
    tables = section.tables
    rows = sum(min(len(df), PRINT_MAX_ROWS) + 2 for df in tables.values()) + PRINT_TABLE_GAP_ROWS * (len(tables) - 1)
    left = page_height - PRINT_SECTION_PX - PRINT_TABLE_ROW_PX * rows - (PRINT_NARRATIVE_PX if first else 0)
    height = int(max(PRINT_CHART_MIN_PX, min(PRINT_CHART_MAX_PX, left)))
    if wanted and wanted > PRINT_CHART_MAX_PX:     # sized by its rows: as tall as they need, up to a page
        height = int(min(wanted, page_height - PRINT_CHART_PAGE_PX))
    return height
