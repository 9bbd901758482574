"""Who may see and change what: the grants file (``access.toml``) the administrator keeps.

Pure functions over text and the shipped reference lists (no Streamlit, no database), shared by the app
(monitor/access.py) and ``python -m etl access check``. A grant::

    [[grant]]
    email = "tanaka@itc-ibaraki.example.jp"
    role = "steward"                 # viewer / steward / admin
    prefectures = ["茨城県"]          # and/or
    consortia = ["茨城県DX支援コミュニティ"]   # a consortium counts as its home prefecture (data/reference/consortia.csv)
    valid_until = 2027-03-31         # optional: the last day the grant holds

``prefectures = ["全国"]`` grants every prefecture (still within ``DX_ALLOWED_PREFECTURES``); an admin without
prefectures or consortia has every prefecture. Nothing else is granted: deny by default.
"""
from __future__ import annotations

import csv
import datetime as dt
import os
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .paths import REFERENCE_DIR, ROOT

ENV_FILE = "DX_ACCESS_FILE"
DEFAULT_FILE = ROOT / "access.toml"
ROLES = ("viewer", "steward", "admin")
ROLE_LABELS = {"viewer": "閲覧者", "steward": "データ担当", "admin": "管理者"}
ALL_PREFECTURES = "全国"
_KEYS = {"email", "role", "prefectures", "consortia", "valid_until", "name"}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

__all__ = ["Grant", "GrantsProblem", "parse_grants", "read_grants", "grants_path", "find_grant", "ROLES",
           "role_at_least"]


@dataclass(frozen=True)
class Grant:
    email: str                                  # lower case
    role: str
    prefectures: tuple[str, ...] | None         # None: every prefecture; else the granted ones (consortia mapped)
    consortia: tuple[str, ...] = field(default_factory=tuple)
    valid_until: dt.date | None = None
    line: int | None = None

    def expired(self, today: dt.date | None = None) -> bool:
        return self.valid_until is not None and (today or dt.date.today()) > self.valid_until

    def describe(self) -> str:
        where = "すべての都道府県" if self.prefectures is None else "、".join(self.prefectures) or "なし"
        until = f"（{self.valid_until:%Y-%m-%d} まで）" if self.valid_until else ""
        return f"{ROLE_LABELS[self.role]}・{where}{until}"


class GrantsProblem(ValueError):
    """The grants file cannot be used (Japanese message naming the file, line and entry)."""


def grants_path() -> Path:
    return Path(os.environ.get(ENV_FILE) or DEFAULT_FILE)


def _norm(s) -> str:
    return unicodedata.normalize("NFKC", str(s)).strip()


@lru_cache(maxsize=1)
def prefecture_names() -> tuple[str, ...]:
    with open(REFERENCE_DIR / "prefectures.csv", encoding="utf-8-sig", newline="") as fh:
        return tuple(row["prefecture"] for row in csv.DictReader(fh))


@lru_cache(maxsize=1)
def consortium_homes() -> dict[str, str]:
    """consortium → its home prefecture (the reference list)."""
    with open(REFERENCE_DIR / "consortia.csv", encoding="utf-8-sig", newline="") as fh:
        return {row["consortium"]: row["prefecture"] for row in csv.DictReader(fh)}


def role_at_least(role: str | None, needed: str) -> bool:
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def _entry_lines(text: str) -> list[int]:
    """The line number of each ``[[grant]]`` header, in order (tomllib gives no positions)."""
    return [i for i, line in enumerate(text.splitlines(), start=1) if re.match(r"\s*\[\[\s*grant\s*\]\]", line)]


def _toml_error(exc: tomllib.TOMLDecodeError) -> str:
    m = re.search(r"line (\d+), column (\d+)", str(exc))
    where = f"{m.group(1)} 行目 {m.group(2)} 文字目" if m else "どこか"
    return f"TOML として読めません（{where}）: 引用符・括弧・「=」を確かめてください"


def parse_grants(text: str, *, source: str = "access.toml",
                 today: dt.date | None = None) -> tuple[list[Grant], list[str], list[str]]:
    """(grants, errors, warnings) of a grants file's text. Every problem names the file, the line and the entry.
    A file with errors must not be used at all (the app then shows no data)."""
    errors: list[str] = []
    warnings: list[str] = []
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return [], [f"{source}: {_toml_error(exc)}"], []
    extra = sorted(set(doc) - {"grant"})
    if extra:
        errors.append(f"{source}: 知らない項目 {'、'.join(extra)} があります（書けるのは [[grant]] だけです）")
    entries = doc.get("grant", [])
    if not isinstance(entries, list):
        return [], errors + [f"{source}: grant は [[grant]] の並び（配列の表）として書いてください"], warnings
    lines = _entry_lines(text)
    known_prefectures = prefecture_names()
    homes = consortium_homes()
    grants: list[Grant] = []
    seen: dict[str, str] = {}
    for i, entry in enumerate(entries):
        line = lines[i] if i < len(lines) else None
        at = f"{source} {line} 行目" if line else f"{source}"
        label = f"{i + 1} 番目の [[grant]]"
        if not isinstance(entry, dict):
            errors.append(f"{at}（{label}）: 表として書いてください")
            continue
        email = _norm(entry.get("email", "")).lower()
        who = f"{label}（{email}）" if email else label
        problems: list[str] = []
        unknown = sorted(set(entry) - _KEYS)
        if unknown:
            problems.append(f"知らない項目 {'、'.join(unknown)}（書けるのは email, role, prefectures, consortia, "
                            "valid_until, name）")
        if not email:
            problems.append("email がありません")
        elif not _EMAIL.fullmatch(email):
            problems.append(f"email「{email}」はメールアドレスの形ではありません")
        elif email in seen:
            problems.append(f"email「{email}」は {seen[email]} と重複しています（1 人 1 項目にしてください）")
        role = _norm(entry.get("role", ""))
        if role not in ROLES:
            problems.append(f"role「{role}」は viewer / steward / admin のどれかにしてください" if role
                            else "role がありません（viewer / steward / admin）")
        prefs, consortia = [], []
        for key, target in (("prefectures", prefs), ("consortia", consortia)):
            value = entry.get(key, [])
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                problems.append(f"{key} は文字列の並び（例: [\"茨城県\"]）にしてください")
                continue
            target.extend(_norm(v) for v in value if _norm(v))
        everywhere = ALL_PREFECTURES in prefs
        for p in prefs:
            if p != ALL_PREFECTURES and p not in known_prefectures:
                close = [k for k in known_prefectures if k.startswith(p) or p.startswith(k[:-1])]
                problems.append(f"prefectures の「{p}」は都道府県名ではありません"
                                + (f"（{close[0]} のことですか）" if close else ""))
        for c in consortia:
            if c not in homes:
                problems.append(f"consortia の「{c}」は data/reference/consortia.csv にないコンソーシアムです")
        if role in ("viewer", "steward") and not prefs and not consortia:
            problems.append("prefectures か consortia がありません（何も見られない付与は書かないでください。"
                            f"すべての都道府県なら prefectures = [\"{ALL_PREFECTURES}\"]）")
        valid_until = entry.get("valid_until")
        if valid_until is not None:
            if isinstance(valid_until, dt.datetime):
                valid_until = valid_until.date()
            if not isinstance(valid_until, dt.date):
                problems.append(f"valid_until「{valid_until}」は日付（例: 2027-03-31、引用符なし）にしてください")
                valid_until = None
        if problems:
            errors.extend(f"{at}（{who}）: {p}" for p in problems)
            continue
        seen[email] = label
        scope: tuple[str, ...] | None
        if everywhere or (role == "admin" and not prefs and not consortia):
            scope = None
        else:
            scope = tuple(dict.fromkeys([*prefs, *(homes[c] for c in consortia)]))
        grant = Grant(email, role, scope, tuple(consortia), valid_until, line)
        if grant.expired(today):
            warnings.append(f"{at}（{who}）: 有効期限 {valid_until:%Y-%m-%d} を過ぎています（この人はサインインできません）")
        grants.append(grant)
    if not entries and not errors:
        warnings.append(f"{source}: [[grant]] が一つもありません（誰もデータを見られません）")
    return grants, errors, warnings


def read_grants(path: str | os.PathLike | None = None) -> tuple[list[Grant], list[str], list[str]]:
    """parse_grants of the file (default: DX_ACCESS_FILE or access.toml in the project folder)."""
    p = Path(path) if path else grants_path()
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return [], [f"付与ファイル {p} がありません（{ENV_FILE} で場所を指定できます）"], []
    except (OSError, UnicodeDecodeError) as exc:
        return [], [f"付与ファイル {p} を読めません（{type(exc).__name__}）"], []
    return parse_grants(text, source=str(p))


def find_grant(grants: list[Grant], email: str | None) -> Grant | None:
    e = _norm(email or "").lower()
    return next((g for g in grants if g.email == e), None) if e else None


def grants_summary(found: list[Grant]) -> dict[str, str]:
    """e-mail → what the grant gives, as the audit trail keeps it (to tell what changed in the file)."""
    return {g.email: g.describe() for g in sorted(found, key=lambda g: g.email)}


def grants_changes(before: dict[str, str] | None, after: dict[str, str]) -> str:
    """The change between two summaries in one Japanese line (before None: the first reading)."""
    if before is None:
        return f"初回の読み込み: 付与 {len(after):,} 件"
    added = [f"{e}（{after[e]}）" for e in after if e not in before]
    removed = [e for e in before if e not in after]
    changed = [f"{e}（{before[e]} → {after[e]}）" for e in after if e in before and before[e] != after[e]]
    parts = [f"{label}: {'、'.join(items)}" for label, items in (("追加", added), ("削除", removed), ("変更", changed))
             if items]
    return "；".join(parts) or "付与の内容は変わっていません（書式のみの変更）"
