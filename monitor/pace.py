"""Pace against the fiscal year: how much of the 年度 has passed at the as-of date, whether an indicator keeps up with
its target, the same days of the previous 年度, and a projected year end with a range. Pure functions; the rules are
stated in data/reference/indicators.csv (fy_elapsed, pace_status, yoy, projection)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# status against pace: the projected year end ÷ the target (indicators.csv pace_status)
ON_PACE = 1.0          # at or above: 順調
BEHIND = 0.9           # below: 遅れ; between: 注意
STATUS_WORDS = {"on": "順調", "watch": "注意", "behind": "遅れ", "done": "達成", "missed": "未達"}


def fiscal_year_bounds(fy: int) -> tuple[dt.date, dt.date]:
    return dt.date(fy, 4, 1), dt.date(fy + 1, 3, 31)


def fiscal_year_of(d: dt.date) -> int:
    """年度 (April–March) as the Western year it starts in."""
    return d.year if d.month >= 4 else d.year - 1


def elapsed_share(fy: int, as_of: dt.date | None) -> float | None:
    """年度経過率: the days of the 年度 up to and including the as-of date ÷ the days of the 年度 (0 before it starts,
    1 after it ends); None without an as-of date."""
    if as_of is None:
        return None
    start, end = fiscal_year_bounds(fy)
    if as_of < start:
        return 0.0
    if as_of >= end:
        return 1.0
    return ((as_of - start).days + 1) / ((end - start).days + 1)


def same_day_last_year(d: dt.date) -> dt.date:
    """The same calendar day one year earlier (29 February → 28 February)."""
    try:
        return d.replace(year=d.year - 1)
    except ValueError:
        return d.replace(year=d.year - 1, day=28)


def status(projected: float | None, target: float | None, ended: bool) -> str | None:
    """'on' / 'watch' / 'behind' by the projected year end against the target while the year runs; 'done' /
    'missed' once it has ended (projected is then the actual); None without a target or a projection."""
    if target is None or not target or projected is None:
        return None
    ratio = projected / target
    if ended:
        return "done" if ratio >= 1.0 else "missed"
    if ratio >= ON_PACE:
        return "on"
    return "watch" if ratio >= BEHIND else "behind"


@dataclass(frozen=True)
class Projection:
    value: float              # the projected year-end value
    low: float
    high: float
    methods: tuple[str, ...]  # 'pace' (the pace so far), 'profile' (last year's share by the same day)


def projection(actual: float, elapsed: float | None, prev_same_days: float | None,
               prev_total: float | None) -> Projection | None:
    """着地見込み: the pace so far (actual ÷ elapsed share) and, when last year has records, last year's profile (actual
    ÷ the share of last year's total reached by the same day). The value is their mean, the range spans both; with
    one method the range is that value. A year that has ended projects its actual. None before the year starts."""
    if elapsed is None or elapsed <= 0:
        return None
    if elapsed >= 1.0:
        return Projection(actual, actual, actual, ("actual",))
    estimates = {"pace": actual / elapsed}
    if prev_total and prev_same_days:
        estimates["profile"] = actual / (prev_same_days / prev_total)
    values = list(estimates.values())
    return Projection(sum(values) / len(values), min(values), max(values), tuple(estimates))


def year_over_year(actual: float, prev_same_days: float | None) -> float | None:
    """前年度同期比: this year up to the as-of date ÷ last year up to the same day; None without last year's figure."""
    if not prev_same_days:
        return None
    return actual / prev_same_days
