"""The one set of filters shared by every page, and its round trip through the URL query string."""
from __future__ import annotations

import csv
import datetime as dt
import os
import sys
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from etl.paths import REFERENCE_DIR
from monitor.format import fmt_date, format_fiscal_year

# URL keys (Japanese, as a user sees them in a copied link)
PARAM_FY = "年度"
PARAM_PREFECTURES = "都道府県"
PARAM_CONSORTIA = "コンソーシアム"
PARAM_PERIOD = "期間"
PARAM_SUPPORT_TYPES = "支援種別"
PARAM_COORDINATORS = "担当ITC"
URL_PARAMS = (PARAM_FY, PARAM_PREFECTURES, PARAM_CONSORTIA, PARAM_PERIOD, PARAM_SUPPORT_TYPES, PARAM_COORDINATORS)
# a page's own display choices, kept in the URL beside the filters (the value as the widget shows it: 構成比, 上位20);
# each page reads and writes its own (ui.url_choice), the shared filters never touch them
PARAM_THEMES_HEAT_MEASURE = "地域別表示"      # 相談テーマ's area × theme heatmap: 件数 / 構成比
PARAM_THEMES_HEAT_TOP = "地域数"             # … and how many areas: 上位10 / 上位20 / 上位50 / すべて
PAGE_PARAMS = (PARAM_THEMES_HEAT_MEASURE, PARAM_THEMES_HEAT_TOP)
ALL_YEARS = "全年度"
PERIOD_SEP = "~"
_LIST_SPLIT = re.compile(r"[,、，;；]")


@dataclass(frozen=True)
class Filters:
    fiscal_year: int | None = None
    prefectures: tuple[str, ...] = field(default_factory=tuple)
    consortia: tuple[str, ...] = field(default_factory=tuple)
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    support_types: tuple[str, ...] = field(default_factory=tuple)
    # 担当ITC: an engagement's 主担当ITC (its sessions follow it) or a consultation's 対応ITC; events have none
    coordinators: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self):
        # lists given by callers become tuples, so Filters stays hashable (it is part of cache keys)
        for name in ("prefectures", "consortia", "support_types", "coordinators"):
            v = getattr(self, name)
            if not isinstance(v, tuple):
                object.__setattr__(self, name, tuple(v or ()))

    def sql_params(self) -> dict:
        """The standard named parameters of every query in monitor/sql."""
        return {
            "fy": self.fiscal_year,
            "prefectures": list(self.prefectures),
            "consortia": list(self.consortia),
            "date_from": self.date_from,
            "date_to": self.date_to,
            "support_types": list(self.support_types),
            "coordinators": list(self.coordinators),
        }


# ── access: which prefectures' records this deployment may show ───────────────

ENV_ALLOWED = "DX_ALLOWED_PREFECTURES"
# the prefecture list of a selection that must match nothing (no prefecture has this name): an empty list means
# 'all' to the queries, so 'none' needs a value of its own
NO_PREFECTURE = "（閲覧範囲外）"


class AccessConfigError(ValueError):
    """DX_ALLOWED_PREFECTURES names something that is not a prefecture (the message is Japanese, for the screen)."""


def _prefecture_names() -> tuple[str, ...]:
    with open(REFERENCE_DIR / "prefectures.csv", encoding="utf-8-sig", newline="") as fh:
        return tuple(row["prefecture"] for row in csv.DictReader(fh))


_PARSED: dict[str, tuple[str, ...] | None] = {}


def allowed_prefectures() -> tuple[str, ...] | None:
    """The prefectures whose records this deployment may show (``DX_ALLOWED_PREFECTURES``, comma-separated names
    such as '茨城県,長野県'), in the order given; None when unset or blank (everything). Raises AccessConfigError
    when a name is not one of the 47 prefectures: a typo must not silently widen or empty the view."""
    raw = os.environ.get(ENV_ALLOWED, "")
    if raw not in _PARSED:
        _PARSED[raw] = _parse_allowed(raw)
    return (_scope or _scope_before_sign_in)(_PARSED[raw])


# The signed-in person's scope within the deployment's bound: monitor/access.py installs it when imported (every page
# does, through monitor/ui.py), so the read side never imports the sign-in layer above it.
_scope = None


def set_scope(scope) -> None:
    """``scope(bound) -> prefectures`` narrows every query from now on (monitor.access.scope_bound)."""
    global _scope
    _scope = scope


def _scope_before_sign_in(bound: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """Until monitor.access is imported: the bound without sign-in or outside a Streamlit server (the command line);
    inside a server with a sign-in mode set, nothing (fail closed)."""
    if os.environ.get("DX_AUTH", "").strip().lower() in ("", "none"):
        return bound
    runtime = sys.modules.get("streamlit.runtime")
    return () if runtime is not None and runtime.exists() else bound


def _parse_allowed(raw: str) -> tuple[str, ...] | None:
    names: list[str] = []
    for part in _LIST_SPLIT.split(raw):
        part = _norm(part)
        if part and part not in names:
            names.append(part)
    if not names and _norm(raw):
        # "," or "、" names no prefecture: an error, never "no restriction" (fail closed)
        raise AccessConfigError(
            f"設定 {ENV_ALLOWED}「{raw}」に都道府県名がありません。「茨城県,長野県」のように書くか、"
            "制限しないなら設定を外してください。設定を直すまで、データは表示しません。")
    if not names:
        result = None
    else:
        known = _prefecture_names()
        unknown = [n for n in names if n not in known]
        if unknown:
            hints = []
            for n in unknown:
                close = [k for k in known if k.startswith(n) or n.startswith(k[:-1])]
                hints.append(f"「{n}」" + (f"（{close[0]} のことですか）" if close else ""))
            raise AccessConfigError(
                f"設定 {ENV_ALLOWED} に都道府県名でないものがあります: {'、'.join(hints)}。"
                "「茨城県,長野県」のように、都道府県名を「県」「府」「都」「道」まで書いてカンマで区切ってください。"
                "設定を直すまで、データは表示しません。")
        result = tuple(names)
    return result


def scoped_prefectures(chosen: Iterable[str], allowed: tuple[str, ...] | None) -> list[str]:
    """The prefecture list a query runs with: the choice itself without a restriction; the allowed ones for 'all'
    (an empty choice); else the choice within the allowed ones — and [NO_PREFECTURE] (matches nothing) when none of
    the chosen ones is allowed."""
    chosen = list(chosen or ())
    if allowed is None:
        return chosen
    if not chosen:
        return list(allowed) or [NO_PREFECTURE]      # an empty scope shows nothing, never 'all'
    inside = [p for p in chosen if p in allowed]
    return inside or [NO_PREFECTURE]


def describe_access(allowed: tuple[str, ...] | None) -> str:
    """'閲覧範囲: 長野県（都道府県のない記録は表示しません）' under a restriction, '' without."""
    if allowed is None:
        return ""
    return f"閲覧範囲: {'、'.join(allowed)}（都道府県のない記録は表示しません）"


def describe_filters(f: Filters) -> str:
    """'令和4年度（2022年度）｜都道府県: 茨城県｜コンソーシアム: すべて｜期間: 指定なし｜支援種別: すべて'."""
    def lst(v):
        return "、".join(v) if v else "すべて"
    if f.date_from or f.date_to:
        period = f"{fmt_date(f.date_from) if f.date_from else ''}〜{fmt_date(f.date_to) if f.date_to else ''}"
    else:
        period = "指定なし"
    return "｜".join([
        f"年度: {format_fiscal_year(f.fiscal_year)}",
        f"都道府県: {lst(f.prefectures)}",
        f"コンソーシアム: {lst(f.consortia)}",
        f"期間: {period}",
        f"支援種別: {lst(f.support_types)}",
        *([f"担当ITC: {lst(f.coordinators)}"] if f.coordinators else []),
    ])


# ── URL ─────────────────────────────────────────────────────────────────────

def to_query_params(f: Filters) -> dict[str, str]:
    """Filters → URL query parameters. Lists are comma-joined; empty selections are left out."""
    qp: dict[str, str] = {PARAM_FY: ALL_YEARS if f.fiscal_year is None else str(f.fiscal_year)}
    if f.prefectures:
        qp[PARAM_PREFECTURES] = ",".join(f.prefectures)
    if f.consortia:
        qp[PARAM_CONSORTIA] = ",".join(f.consortia)
    if f.date_from or f.date_to:
        qp[PARAM_PERIOD] = (f"{f.date_from.isoformat() if f.date_from else ''}{PERIOD_SEP}"
                          f"{f.date_to.isoformat() if f.date_to else ''}")
    if f.support_types:
        qp[PARAM_SUPPORT_TYPES] = ",".join(f.support_types)
    if f.coordinators:
        qp[PARAM_COORDINATORS] = ",".join(f.coordinators)
    return qp


def _norm(s: str) -> str:
    return unicodedata.normalize("NFKC", str(s)).strip()


def parse_fiscal_year(text: str) -> int | None | str:
    """'2022', 'R4', '令和4年度', '2022年度', 'FY2022', '令和元年度' → 2022 …; '全年度'/'all' → None.
    Returns the string 'invalid' when it cannot be read."""
    t = _norm(text).replace(" ", "")
    if t in (ALL_YEARS, "全て", "すべて", "all", "ALL", "All", "全期間"):
        return None
    t = t.replace("元", "1")
    m = re.fullmatch(r"(?:FY|fy)?(\d{4})(?:年度)?", t)
    if m:
        return int(m.group(1))
    m = re.fullmatch(r"(?:R|r|令和)(\d{1,2})(?:年度)?", t)
    if m:
        return 2018 + int(m.group(1))
    m = re.fullmatch(r"(?:H|h|平成)(\d{1,2})(?:年度)?", t)
    if m:
        return 1988 + int(m.group(1))
    m = re.fullmatch(r"(?:令和|平成)\d+年度[（(](\d{4})年度[）)]", t)
    if m:
        return int(m.group(1))
    return "invalid"


def parse_date(text: str) -> dt.date | None:
    """'2022-10-05', '2022/10/5', '2022年10月5日' → date; anything else → None."""
    t = _norm(text)
    m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", t)
    if not m:
        return None
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def _values(qp: Mapping, key: str) -> list[str]:
    """All values of ``key``: repeated parameters and comma-joined lists both work."""
    if key not in qp:
        return []
    getter = getattr(qp, "get_all", None)
    raw = getter(key) if callable(getter) else qp[key]
    if isinstance(raw, str):
        raw = [raw]
    out: list[str] = []
    for item in raw or []:
        for part in _LIST_SPLIT.split(str(item)):
            part = _norm(part)
            if part:
                out.append(part)
    return out


def _pick(values: Iterable[str], valid: Iterable[str], label: str, notices: list[str],
          out_of_scope: Iterable[str] | None = None) -> tuple[str, ...]:
    valid_list = list(valid)
    by_norm = {_norm(v): v for v in valid_list}
    chosen: list[str] = []
    for v in values:
        hit = by_norm.get(_norm(v))
        if hit is None and out_of_scope is not None and _norm(v) not in out_of_scope:
            notices.append(f"URLの{label}「{v}」は閲覧範囲外のため、無視しました。")
        elif hit is None:
            notices.append(f"URLの{label}「{v}」はデータにないため、無視しました。")
        elif hit not in chosen:
            chosen.append(hit)
    return tuple(chosen)


def default_filters(choices: Mapping) -> Filters:
    """Latest fiscal year, everything else all."""
    years = [int(y) for y in choices.get("fiscal_years", []) or []]
    return Filters(fiscal_year=max(years) if years else None)


def from_query_params(qp: Mapping, choices: Mapping) -> tuple[Filters, list[str]]:
    """URL query parameters → (Filters, notices). Unknown or unreadable values are dropped with a Japanese
    notice; never raises. ``choices`` holds the valid values: fiscal_years, prefectures, consortia, support_types,
    coordinators; and, under an access restriction, allowed_prefectures (a prefecture outside it gets a 閲覧範囲外 notice)."""
    notices: list[str] = []
    years = [int(y) for y in choices.get("fiscal_years", []) or []]
    fy: int | None = max(years) if years else None
    try:
        fy_values = _values(qp, PARAM_FY)
    except Exception:  # noqa: BLE001 - a strange mapping must not break the page
        fy_values = []
    if fy_values:
        parsed = parse_fiscal_year(fy_values[-1])
        if parsed == "invalid":
            notices.append(f"URLの年度「{fy_values[-1]}」は読み取れないため、最新の年度を表示しています。")
        elif parsed is not None and parsed not in years:
            notices.append(f"URLの年度「{fy_values[-1]}」のデータはないため、最新の年度を表示しています。")
        else:
            fy = parsed

    allowed = choices.get("allowed_prefectures")      # None: no restriction
    prefectures = _pick(_values(qp, PARAM_PREFECTURES), [p for p in choices.get("prefectures", [])
                                                       if allowed is None or p in allowed],
                        "都道府県", notices, out_of_scope=allowed)
    consortia = _pick(_values(qp, PARAM_CONSORTIA), choices.get("consortia", []), "コンソーシアム", notices)
    support_types = _pick(_values(qp, PARAM_SUPPORT_TYPES), choices.get("support_types", []), "支援種別", notices)
    coordinators = _pick(_values(qp, PARAM_COORDINATORS), choices.get("coordinators", []), "担当ITC", notices)

    date_from = date_to = None
    period = _values(qp, PARAM_PERIOD) if PARAM_PERIOD in qp else []
    if period:
        # the list splitter does not touch '~', so the first value holds the whole period
        text = _norm(" ".join(period))
        parts = re.split(r"\s*(?:~|〜|～|\.\.)\s*", text)
        if len(parts) != 2:
            notices.append(f"URLの期間「{text}」は読み取れないため、無視しました（例: 2022-04-01~2022-09-30）。")
        else:
            a, b = (parse_date(x) if x else None for x in parts)
            bad = [x for x, d in zip(parts, (a, b)) if x and d is None]
            if bad:
                notices.append(f"URLの期間「{text}」は読み取れないため、無視しました（例: 2022-04-01~2022-09-30）。")
            else:
                date_from, date_to = a, b
                if date_from and date_to and date_from > date_to:
                    date_from, date_to = date_to, date_from
                    notices.append("URLの期間は開始日と終了日が逆だったため、入れ替えました。")

    return Filters(fy, prefectures, consortia, date_from, date_to, support_types, coordinators), notices
