"""The record kinds a user may upload: their columns, Japanese aliases, value types and keys.

This is the one place records.md is encoded. Extract uses it to recognise headers and kinds,
validation uses it to know what is required and how each value is parsed, the template uses it
to write the Excel input sheet.
"""
from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass, field

from .paths import REFERENCE_DIR


@dataclass(frozen=True)
class Column:
    name: str                 # English name, as stored
    label: str                # Japanese header used in the template and in messages
    aliases: tuple[str, ...] = ()
    type: str = "text"        # text | int | number | date | fiscal_year | minutes | bool | list | municipality
    required: bool = False
    choices: tuple[str, ...] = ()   # allowed values (after normalisation); empty = free


@dataclass(frozen=True)
class Kind:
    name: str                 # engagements, sessions, …
    label: str                # 支援案件, …
    file_names: tuple[str, ...]  # file / sheet name stems that identify the kind
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    extra_names: tuple[str, ...] = field(default=())

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


SUPPORT_TYPES = ("伴走支援", "CIO補佐官", "ITCアドバイザー", "計画策定支援", "調達支援", "導入支援", "研修", "相談会")
CLIENT_TYPES = ("企業", "自治体")
STATUSES = ("予定", "実施中", "完了", "中止")
CHANNELS = ("相談会", "訪問", "オンライン", "電話", "メール")
EVENT_KINDS = ("DX気づきセミナー", "DXセミナー1", "DXセミナー2", "職員研修", "基礎研修", "相談会", "その他")


def _stages() -> tuple[str, ...]:
    """The seven 伴走支援 stages in order: data/reference/stages.csv (the `stages` table's file) is their one source."""
    with open(REFERENCE_DIR / "stages.csv", encoding="utf-8", newline="") as f:
        return tuple(r["stage"] for r in sorted(csv.DictReader(f), key=lambda r: int(r["stage_no"])))


STAGES = _stages()


def _target_indicators() -> tuple[str, ...]:
    """The indicators a 目標値 may name: the glossary's (data/reference/indicators.csv) target_indicator values."""
    with open(REFERENCE_DIR / "indicators.csv", encoding="utf-8", newline="") as f:
        return tuple(dict.fromkeys(r["target_indicator"].strip() for r in csv.DictReader(f)
                                   if (r.get("target_indicator") or "").strip()))


INDICATORS = _target_indicators()

C = Column
# every kind: a row marked 削除 removes the stored record with its key instead of loading (etl/withdraw.py)
WITHDRAW = C("withdraw", "削除", ("削除", "取下げ", "取り下げ"), "bool")

ENGAGEMENTS = Kind(
    "engagements", "支援案件", ("engagements", "engagement", "支援案件", "案件"),
    (
        C("engagement_id", "案件ID", ("案件ID", "案件番号"), required=True),
        C("fiscal_year", "年度", ("年度",), "fiscal_year", required=True),
        C("programme", "事業名", ("事業名",)),
        C("consortium", "コンソーシアム", ("コンソーシアム", "支援コミュニティ")),
        C("support_type", "支援種別", ("支援種別",), required=True, choices=SUPPORT_TYPES),
        C("client_name", "支援先名", ("支援先", "支援先名"), required=True),
        C("client_type", "支援先区分", ("支援先区分",), required=True, choices=CLIENT_TYPES),
        C("prefecture", "都道府県", ("都道府県",), "prefecture", required=True),
        C("municipality", "市区町村", ("市区町村", "所在地"), "municipality"),
        C("industry", "業種", ("業種",)),
        C("lead_coordinator", "担当ITC", ("担当ITC", "主担当")),
        C("bank", "同行金融機関", ("同行金融機関", "金融機関")),
        C("start_date", "開始日", ("開始日",), "date"),
        C("end_date", "終了日", ("終了日",), "date"),
        C("planned_sessions", "予定回数", ("予定回数",), "int"),
        C("status", "状況", ("状況", "ステータス"), choices=STATUSES),
        C("deliverable", "成果物", ("成果物",)),
        C("deliverable_date", "成果物完成日", ("成果物完成日",), "date"),
        WITHDRAW,
    ),
    key=("engagement_id",),
)

SESSIONS = Kind(
    "sessions", "伴走記録", ("sessions", "session", "伴走記録", "伴走支援記録"),
    (
        C("engagement_id", "案件ID", ("案件ID", "案件番号"), required=True),
        C("session_no", "回", ("回", "回数", "実施回"), "int", required=True),
        C("date", "実施日", ("実施日", "日付"), "date", required=True),
        C("duration_min", "時間", ("時間", "所要時間"), "minutes"),
        C("stage", "フェーズ", ("フェーズ", "段階"), "stage"),
        C("coordinators", "担当ITC", ("担当ITC", "参加ITC"), "list"),
        C("bank_attended", "金融機関同行", ("金融機関同行",), "bool"),
        C("attendees", "参加人数", ("参加人数", "参加者数"), "int"),
        C("themes", "テーマ", ("テーマ", "議題"), "list"),
        C("notes", "メモ", ("メモ", "内容", "備考")),
        WITHDRAW,
    ),
    key=("engagement_id", "session_no"),
)

CONSULTATIONS = Kind(
    "consultations", "相談記録", ("consultations", "consultation", "相談記録", "相談"),
    (
        C("consultation_id", "相談ID", ("相談ID",)),
        C("date", "相談日", ("相談日", "日付"), "date", required=True),
        C("client_name", "相談元", ("相談元", "自治体名", "企業名"), required=True),
        C("prefecture", "都道府県", ("都道府県",), "prefecture", required=True),
        C("municipality", "市区町村", ("市区町村",), "municipality"),
        C("department", "部署", ("部署", "担当課")),
        C("slot", "枠", ("枠",)),
        C("theme", "相談テーマ", ("相談テーマ", "テーマ"), required=True),
        C("channel", "形式", ("形式",), choices=CHANNELS),
        C("duration_min", "時間", ("時間",), "minutes"),
        C("coordinator", "対応ITC", ("対応ITC",)),
        C("engagement_id", "案件ID", ("案件ID",)),
        C("summary", "概要", ("概要", "内容")),
        WITHDRAW,
    ),
    key=("consultation_id",),
)

EVENTS = Kind(
    "events", "セミナー・研修", ("events", "event", "セミナー・研修", "セミナー", "研修", "イベント"),
    (
        C("event_id", "イベントID", ("イベントID",), required=True),
        C("name", "名称", ("名称", "イベント名"), required=True),
        C("kind", "種別", ("種別",), required=True, choices=EVENT_KINDS),
        C("date", "開催日", ("開催日",), "date", required=True),
        C("consortium", "コンソーシアム", ("コンソーシアム",)),
        C("prefecture", "都道府県", ("都道府県",), "prefecture"),
        C("municipality", "市区町村", ("市区町村",), "municipality"),
        C("attendees", "参加者数", ("参加者数",), "int"),
        C("companies", "参加企業数", ("参加企業数",), "int"),
        C("applicants", "申込者数", ("申込者数",), "int"),
        WITHDRAW,
    ),
    key=("event_id",),
)

TARGETS = Kind(
    "targets", "目標値", ("targets", "target", "目標値", "目標"),
    (
        C("fiscal_year", "年度", ("年度",), "fiscal_year", required=True),
        C("consortium", "コンソーシアム", ("コンソーシアム",)),
        C("indicator", "指標", ("指標",), required=True, choices=INDICATORS),
        C("target", "目標値", ("目標値",), "number", required=True),
        WITHDRAW,
    ),
    key=("fiscal_year", "consortium", "indicator"),
)

KINDS: dict[str, Kind] = {k.name: k for k in (ENGAGEMENTS, SESSIONS, CONSULTATIONS, EVENTS, TARGETS)}
# Load order: engagements before the records that point at them.
LOAD_ORDER = ("engagements", "sessions", "consultations", "events", "targets")


def normalise_header(text: object) -> str:
    """Header cell → comparable form: NFKC (full-width → half), no spaces, lower case."""
    if text is None:
        return ""
    s = unicodedata.normalize("NFKC", str(text))
    return "".join(s.split()).lower().replace("_", "").replace("（", "(").replace("）", ")")


def header_map(kind: Kind) -> dict[str, str]:
    """normalised header text → column name, for English names and Japanese aliases."""
    out: dict[str, str] = {}
    for col in kind.columns:
        for text in (col.name, col.label, *col.aliases):
            out.setdefault(normalise_header(text), col.name)
    return out


def match_headers(kind: Kind, headers: list[object]) -> dict[int, str]:
    """Position → column name for the headers this kind knows; the first occurrence wins."""
    known = header_map(kind)
    found: dict[int, str] = {}
    taken: set[str] = set()
    for i, h in enumerate(headers):
        name = known.get(normalise_header(h))
        if name and name not in taken:
            found[i] = name
            taken.add(name)
    return found


def kind_from_name(file_or_sheet: str) -> Kind | None:
    """The kind named by a file or sheet name (sessions_2024.csv, 伴走記録_10月.csv, 目標値)."""
    stem = normalise_header(file_or_sheet.rsplit("/", 1)[-1].rsplit(".", 1)[0] if "." in file_or_sheet else file_or_sheet)
    best: tuple[int, Kind] | None = None
    for kind in KINDS.values():
        for name in kind.file_names:
            n = normalise_header(name)
            if stem.startswith(n) and (best is None or len(n) > best[0]):
                best = (len(n), kind)
    return best[1] if best else None


def kind_from_headers(headers: list[object]) -> Kind | None:
    """The kind whose required columns are all present, preferring the most matched columns."""
    scored = []
    for kind in KINDS.values():
        cols = set(match_headers(kind, headers).values())
        if set(kind.required) <= cols:
            scored.append((len(cols), -len(kind.columns), kind))
    if not scored:
        return None
    scored.sort(key=lambda t: (t[0], t[1]), reverse=True)
    return scored[0][2]


def header_score(headers: list[object]) -> int:
    """How many cells of a row are known headers of some kind: finds the header row under a title."""
    best = 0
    for kind in KINDS.values():
        best = max(best, len(match_headers(kind, headers)))
    return best


def _all_headers() -> frozenset[str]:
    return frozenset(h for kind in KINDS.values() for h in header_map(kind))


_KNOWN_HEADERS = _all_headers()


def is_known_header(text: object) -> bool:
    """True when the cell text is a column name or alias of some kind (after normalisation)."""
    return normalise_header(text) in _KNOWN_HEADERS if text is not None else False
