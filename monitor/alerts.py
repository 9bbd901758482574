"""Alerts for a manager (概要's アラート section and `python -m etl alerts`): stalled engagements, consortia projected
below target, and groups whose data is stale. Built from the read-side queries; every figure follows the glossary
(data/reference/indicators.csv)."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import sys
from dataclasses import asdict, dataclass

import pandas as pd

from etl.argparse_ja import JapaneseArgumentParser
from monitor import pace as pace_rules
from monitor.read.filters import Filters
from monitor.format import fmt_date, format_fiscal_year, is_missing
from monitor.read.queries import data_as_of, run_query

STALE_DAYS = int(os.environ.get("DX_STALE_DAYS", "45"))
STALLED_LISTED = 20


@dataclass(frozen=True)
class Alert:
    kind: str          # stalled | below_target | stale
    consortium: str    # '' when not a consortium's
    subject: str       # what it is about (an engagement, an indicator, a group)
    detail: str        # the figures, in Japanese

    KINDS = {"stalled": "停滞案件", "below_target": "目標に届かない見込み", "stale": "データが届いていない"}

    @property
    def kind_label(self) -> str:
        return self.KINDS[self.kind]


def pace_by_consortium(filters: Filters, as_of: dt.date) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """The kpi rows and the kpi_pace rows of one 年度 (filters.fiscal_year), and the 年度経過率."""
    cutoff = min(as_of, pace_rules.fiscal_year_bounds(filters.fiscal_year)[1])
    kpi = run_query("kpi", filters)
    paced = run_query("kpi_pace", filters, cutoff=cutoff, prev_cutoff=pace_rules.same_day_last_year(cutoff))
    return kpi, paced, pace_rules.elapsed_share(filters.fiscal_year, as_of)


def build_alerts(filters: Filters, as_of: dt.date | None = None, stale_days: int = STALE_DAYS) -> list[Alert]:
    """The alerts of ``filters`` (one 年度; its 期間 and 担当ITC are not applied: pace is about the year) at
    ``as_of`` (default: the data's as-of date)."""
    from monitor.views.overview import KPI_INDICATORS, pace_cards  # noqa: PLC0415

    as_of = as_of or data_as_of()
    if as_of is None:
        return []
    fy = filters.fiscal_year if filters.fiscal_year is not None else pace_rules.fiscal_year_of(as_of)
    scope = Filters(fiscal_year=fy, prefectures=filters.prefectures, consortia=filters.consortia,
                    support_types=filters.support_types)
    alerts: list[Alert] = []
    stalled = run_query("alerts_stalled", scope, as_of=as_of, max_rows=STALLED_LISTED)
    for r in stalled.itertuples():
        alerts.append(Alert("stalled", r.consortium if isinstance(r.consortium, str) else "", str(r.client_name),
                            f"案件 {r.engagement_id}・最終実施日から{int(r.days_since_last_session)}日"
                            if not is_missing(r.days_since_last_session)
                            else f"案件 {r.engagement_id}・開始日から実施の記録なし"))
    kpi, paced, _elapsed = pace_by_consortium(scope, as_of)
    labels = {key: label for key, label, *_ in KPI_INDICATORS}
    for k in kpi[~kpi["is_total"]].itertuples():
        if not isinstance(k.consortium, str):
            continue
        p = paced[(~paced["is_total"]) & (paced["consortium"] == k.consortium)]
        if p.empty:
            continue
        cards = pace_cards(pd.Series(k._asdict()), p.iloc[0], fy, as_of)
        for key, c in cards.items():
            if c["status"] in ("behind", "missed") and c["projection"] is not None:
                target = getattr(k, f"target_{key}")
                alerts.append(Alert("below_target", k.consortium, labels[key],
                                    f"{c['status_word']}: 着地見込み {c['projection'].value:,.0f}（目標 {target:,.0f}）"))
    fresh = run_query("consortium_freshness", scope, cutoff=as_of)
    for r in fresh.itertuples():
        days = (as_of - pd.Timestamp(r.last_activity_date).date()).days
        if days > stale_days:
            alerts.append(Alert("stale", r.consortium, r.consortium,
                                f"最新の記録 {fmt_date(r.last_activity_date)}（データ基準日の{days}日前・"
                                f"{stale_days}日を超えて新しい記録なし）"))
    return alerts


def to_text(alerts: list[Alert], fy: int, as_of: dt.date) -> str:
    head = f"地域DX支援モニター アラート｜{format_fiscal_year(fy)}｜データ基準日: {fmt_date(as_of)}"
    if not alerts:
        return head + "\nアラートはありません。\n"
    lines = [head, f"アラート {len(alerts)}件"]
    for kind, label in Alert.KINDS.items():
        group = [a for a in alerts if a.kind == kind]
        if group:
            lines.append(f"\n■ {label}（{len(group)}件）")
            lines += [f"- {a.consortium + '｜' if a.consortium and a.consortium != a.subject else ''}{a.subject}: {a.detail}"
                      for a in group]
    return "\n".join(lines) + "\n"


def to_csv(alerts: list[Alert]) -> str:
    from monitor.exports import safe_text  # noqa: PLC0415  (formula-safe cells)

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["種類", "コンソーシアム", "対象", "内容"])
    for a in alerts:
        w.writerow([safe_text(v) for v in (a.kind_label, a.consortium, a.subject, a.detail)])
    return buf.getvalue()


def to_json(alerts: list[Alert], fy: int, as_of: dt.date) -> str:
    return json.dumps({"fiscal_year": fy, "data_as_of": as_of.isoformat(),
                       "alerts": [asdict(a) | {"kind_label": a.kind_label} for a in alerts]},
                      ensure_ascii=False, indent=1) + "\n"


def main(argv: list[str] | None = None) -> int:
    """`python -m etl alerts`: exit 0 without alerts, 1 with alerts, 2 when the database cannot be read."""
    from monitor.read.filters import parse_date  # noqa: PLC0415

    parser = JapaneseArgumentParser(prog="python -m etl alerts", description="停滞案件・目標に届かない見込み・"
                                     "データが届いていないグループを一覧にする（cron 向け。アラートがあれば終了コード 1）")
    parser.add_argument("--format", choices=("text", "csv", "json"), default="text")
    parser.add_argument("--consortium", action="append", default=[], help="コンソーシアム（複数可、省略時はすべて）")
    parser.add_argument("--fiscal-year", type=int, default=None, help="年度（省略時はデータ基準日の年度）")
    parser.add_argument("--as-of", default=None, help="基準日（省略時はデータ基準日）例: 2025-02-28")
    parser.add_argument("--db", default=None)
    args = parser.parse_args(argv)
    if args.db:
        os.environ["DX_DB_PATH"] = args.db
    from monitor.read.db import resolve_path  # noqa: PLC0415
    if not resolve_path().exists():
        print(f"エラー: データベースがありません: {resolve_path()}", file=sys.stderr)
        return 2
    as_of = parse_date(args.as_of) if args.as_of else data_as_of()
    if args.as_of and as_of is None:
        print(f"エラー: --as-of の日付が読めません: {args.as_of}", file=sys.stderr)
        return 2
    if as_of is None:
        print("エラー: データ基準日がありません（記録が取り込まれていません）", file=sys.stderr)
        return 2
    fy = args.fiscal_year if args.fiscal_year is not None else pace_rules.fiscal_year_of(as_of)
    alerts = build_alerts(Filters(fiscal_year=fy, consortia=tuple(args.consortium)), as_of)
    out = {"text": lambda: to_text(alerts, fy, as_of), "csv": lambda: to_csv(alerts),
           "json": lambda: to_json(alerts, fy, as_of)}[args.format]()
    sys.stdout.write(out)
    return 1 if alerts else 0
