"""概要's key figures: as the page shows them (its st.metric values) and as the glossary's rules give them from the
record tables (tests/support/oracle.py)."""
from __future__ import annotations

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.support import oracle


def expected_kpis(db: Path, fy: int, prefecture: str | None, coordinator: str | None = None) -> dict:
    """The overview figures computed from the record tables by the glossary's rules (tests/support/oracle.py)."""
    sel = oracle.Selection(fiscal_year=fy, prefecture=prefecture, coordinator=coordinator)
    with oracle.connect(db) as con:
        bank = oracle.bank_rate(con, sel)
        return {"支援企業数": oracle.companies(con, sel), "実施回数": oracle.sessions(con, sel),
                "予定回数": oracle.planned_sessions(con, sel), "DX計画書策定数": oracle.dx_plans(con, sel),
                "セミナー参加者数": oracle.seminar_attendees(con, sel), "相談件数": oracle.consultations(con, sel),
                "金融機関同行率": None if bank is None else round(bank * 100, 1)}


def _ints(text: str) -> list[int]:
    return [int(x.replace(",", "")) for x in re.findall(r"\d[\d,]*", text)]


def displayed_kpis(at: AppTest) -> dict:
    m = {x.label: x.value for x in at.metric}
    done, planned = _ints(m["伴走支援 実施回数 / 予定回数"])
    rate = m["金融機関同行率"]
    return {"支援企業数": _ints(m["支援企業数"])[0], "実施回数": done, "予定回数": planned,
            "DX計画書策定数": _ints(m["DX計画書策定数"])[0], "セミナー参加者数": _ints(m["セミナー参加者数"])[0],
            "相談件数": _ints(m["相談件数"])[0],
            "金融機関同行率": None if rate == "—" else float(rate.rstrip("%"))}
