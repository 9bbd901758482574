"""Opening a page script in AppTest, and reading what it shows: the one opener every page test uses."""
from __future__ import annotations

import base64
import functools
import json
from pathlib import Path

import duckdb
import numpy as np
from streamlit.components.v2.component_manager import BidiComponentManager
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PROGRESS_PAGE = str(ROOT / "pages" / "1_伴走支援の進捗.py")
THEMES_PAGE = str(ROOT / "pages" / "2_相談テーマ.py")
MAP_PAGE = str(ROOT / "pages" / "3_地図.py")
INTAKE_PAGE = str(ROOT / "pages" / "4_データ取込.py")
REPORT_PAGE = str(ROOT / "pages" / "5_報告.py")


@functools.cache
def installed_components() -> BidiComponentManager:
    """Streamlit's registry of installed custom components, found once per test process: each new AppTest would
    otherwise read the metadata of every installed package again before its first run."""
    manager = BidiComponentManager()
    manager.discover_and_register_components(start_file_watching=False)
    return manager


def open_page(page: str, timeout: float = 120, **query) -> AppTest:
    """An AppTest of a page script with URL query parameters set, not yet run."""
    at = AppTest.from_file(str(page), default_timeout=timeout)
    at._bidi_component_manager = installed_components()    # what AppTest.run would build (streamlit 1.67)
    for k, v in query.items():
        at.query_params[k] = v
    return at


def run_page(page: str, timeout: float = 120, **query) -> AppTest:
    """The page run once; it must not raise."""
    at = open_page(page, timeout, **query)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def plotly_values(v):
    """plotly 7 JSON keeps numeric arrays as {'dtype', 'bdata'} (base64, optionally with a 2-D shape); lists stay
    lists."""
    if isinstance(v, dict) and "bdata" in v:
        arr = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        if "shape" in v:
            arr = arr.reshape([int(x) for x in str(v["shape"]).split(",")])
        return arr.tolist()
    return list(v)


def plotly_figures(at: AppTest) -> dict[str, dict]:
    """The page's plotly charts as JSON specs, by title."""
    out = {}
    for el in at.get("plotly_chart"):
        spec = json.loads(el.proto.spec)
        out[spec["layout"]["title"]["text"]] = spec
    return out


def latest_fiscal_year(db: Path) -> int:
    """The latest fiscal year of any record (the pages' default selection), from the record tables."""
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("""SELECT max(fiscal_year) FROM (SELECT fiscal_year FROM engagements UNION ALL
                              SELECT fiscal_year FROM sessions UNION ALL SELECT fiscal_year FROM consultations
                              UNION ALL SELECT fiscal_year FROM events)""").fetchall()[0][0]
