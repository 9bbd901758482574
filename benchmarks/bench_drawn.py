"""What one person feels in a browser: a fresh link opened in Debian's Chromium until its charts are drawn, against a
trivial one-chart Streamlit page served by the same machine in the same run.

    .venv/bin/python benchmarks/bench_drawn.py [--sessions 30000] [--runs 5] [--write-docs]

Each open is a fresh browser context (no cache, a new Streamlit session) on a server already warm (its imports and
the default view's queries done once, as on a server people use). Timed from `page.goto` to the first script run
over with every plotly chart's SVG and every deck.gl canvas drawn (tests.support.browser.wait_until_drawn: no
settling pause). Also timed: switching from 概要 to 地図 inside the app (a click on the sidebar link) on a generated
national programme. Medians of --runs; figures are printed, never asserted.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import run_all

ROOT = run_all.ROOT
sys.path.insert(0, str(ROOT))
from playwright.sync_api import sync_playwright  # noqa: E402

from bench_sessions import TRIVIAL_PAGE, free_port, start_server  # noqa: E402
from tests.support import browser as B  # noqa: E402


def time_open(chromium, url: str) -> float:
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        t = time.perf_counter()
        page.goto(url)
        B.wait_until_drawn(page)
        return time.perf_counter() - t
    finally:
        context.close()


def time_switch(chromium, base: str, label: str) -> float:
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        page.goto(base)
        B.wait_for_page(page)
        link = page.locator('[data-testid="stSidebar"] a', has_text=label).first
        t = time.perf_counter()
        link.click()
        page.wait_for_function("t => document.title.startsWith(t)", arg=label)
        B.wait_until_drawn(page)
        return time.perf_counter() - t
    finally:
        context.close()


def median(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=30_000, help="the generated national programme's sessions")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args(argv)
    problem = B.chromium_missing_message()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    national = run_all.database(args.sessions)
    with tempfile.TemporaryDirectory() as tmp:
        sample = Path(tmp) / "sample.duckdb"
        trivial = Path(tmp) / "trivial.py"
        trivial.write_text(TRIVIAL_PAGE, encoding="utf-8")
        rows, ratios = [], []
        with sync_playwright() as pw:
            chromium = B.launch_chromium(pw)
            try:
                servers = {}
                for name, script, db in (("trivial", trivial, sample), ("sample", ROOT / "serve.py", sample),
                                         ("national", ROOT / "serve.py", national)):
                    port = free_port()
                    env = {**run_all.os.environ, "DX_DB_PATH": str(db)}
                    env.pop("DX_BASEMAP", None)
                    servers[name] = (start_server(script, env, port), f"http://localhost:{port}")
                # warm: imports, the default view's queries (the app builds the sample database on its first open)
                for _, base in servers.values():
                    time_open(chromium, base)
                trivial_open = [time_open(chromium, servers["trivial"][1]) for _ in range(args.runs)]
                rows.append(["trivial one-chart page", "open (fresh link)", median(trivial_open), "1.0×"])
                yard = statistics.median(trivial_open)
                for name in ("sample", "national"):
                    base = servers[name][1]
                    opens = [time_open(chromium, base) for _ in range(args.runs)]
                    ratio = statistics.median(opens) / yard
                    ratios.append(ratio)
                    rows.append([f"{name}: 概要", "open (fresh link)", median(opens), f"{ratio:.1f}×"])
                base = servers["national"][1]
                switches = [time_switch(chromium, base, "地図") for _ in range(args.runs)]
                rows.append(["national: 概要 → 地図", "in-app switch", median(switches),
                             f"{statistics.median(switches) / yard:.1f}×"])
            finally:
                chromium.close()
                for proc, _ in servers.values():
                    proc.kill()
                    proc.wait()
    body = "\n".join([
        f"Command: `{run_all.command_line()}`",
        "",
        *run_all.machine_lines(),
        f"- national: a generated programme of {args.sessions:,} sessions ({national}); sample: the shipped sample",
        f"- Medians of {args.runs} opens (range), each in a fresh Chromium context, from `goto` to every chart drawn",
        "",
        run_all.table(["page", "what", "seconds", "against the trivial page"], rows),
    ])
    print(body)
    if args.write_docs:
        run_all.write_section("drawn", "What one person feels: a fresh link drawn in Chromium", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
