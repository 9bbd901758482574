"""The glossary: every indicator a page, a report or an export shows, defined once in data/reference/indicators.csv
(name, unit, the rule in Japanese, what is in and what is out). Help (?) texts, 報告's 指標の定義 section and the
exports' 条件 read it here; the SQL comments cite its ids; the tests read it as their oracle's statement."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

GLOSSARY_CSV = Path(__file__).resolve().parent.parent / "data" / "reference" / "indicators.csv"


@dataclass(frozen=True)
class Indicator:
    id: str
    label: str                 # the label on screen (支援企業数)
    unit: str                  # 社, 回, %, …
    target_indicator: str      # its name in the target files (目標値の指標), '' when it has no target
    definition: str
    includes: str
    excludes: str

    def help(self) -> str:
        """The help (?) text: the rule, then what is in and out."""
        text = self.definition + "。"
        if self.includes:
            text += f"\n\n含む: {self.includes}。"
        if self.excludes:
            text += f"\n\n含まない: {self.excludes}。"
        return text


@lru_cache(maxsize=1)
def indicators() -> dict[str, Indicator]:
    with GLOSSARY_CSV.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return {r["indicator_id"]: Indicator(r["indicator_id"], r["label"], r["unit"], r["target_indicator"],
                                         r["definition"], r["includes"], r["excludes"]) for r in rows}


def indicator(indicator_id: str) -> Indicator:
    return indicators()[indicator_id]


def label(indicator_id: str) -> str:
    return indicators()[indicator_id].label


def help_text(indicator_id: str) -> str:
    return indicators()[indicator_id].help()


def labels() -> set[str]:
    return {i.label for i in indicators().values()}


def target_indicators() -> tuple[str, ...]:
    """The indicator names a target file may use (目標値の指標)."""
    return tuple(i.target_indicator for i in indicators().values() if i.target_indicator)


def definitions_frame() -> pd.DataFrame:
    """指標の定義 as a table (報告's section and the exports' sheet)."""
    return pd.DataFrame([{"指標": i.label, "単位": i.unit, "定義": i.definition, "含む": i.includes,
                          "含まない": i.excludes, "目標値の指標名": i.target_indicator}
                         for i in indicators().values()])
