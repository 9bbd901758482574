"""報告 PDF benchmark: the wall time of one PDF of the sample report (令和4年度, 事業全体; what the 報告 page's PDF
button and `python -m etl report` do: a `streamlit run` of its own, Debian's Chromium via Playwright, the ?print=1
layout printed A4 landscape), split by stage, over a few runs; optionally also a generated national programme.

    .venv/bin/python benchmarks/bench_report_pdf.py [--runs 3] [--national 30000] [--write-docs]

Stages (monitor.report_pdf's timings): the report built in the caller (its chart count and running header), the
Streamlit server's start (until /_stcore/health answers), Chromium's start, the page's script run (until the print
header is drawn and the script is done), the charts drawn (plotly, fonts, a settle pause), the PDF written.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run_all  # noqa: E402
from run_all import ROOT, table  # noqa: E402

TARGET_S = 10.0
KEEP_S = 300.0      # monitor.report_pdf.KEEP_SERVER_S (default)


def measure(db: Path, fiscal_year: int, runs: int) -> list[dict]:
    sys.path.insert(0, str(ROOT))
    from monitor.report_pdf import render_report_pdf  # noqa: PLC0415
    from pypdf import PdfReader  # noqa: PLC0415

    out = []
    with tempfile.TemporaryDirectory(prefix="dx_bench_pdf_") as tmp:
        for i in range(runs):
            timings: dict[str, float] = {}
            start = time.perf_counter()
            pdf = render_report_pdf(fiscal_year, None, Path(tmp) / f"r{i}.pdf", db, timings=timings)
            total = time.perf_counter() - start
            out.append({"total": total, "pages": len(PdfReader(str(pdf)).pages), "stages": timings})
    return out


def summarise(label: str, rows: list[dict]) -> tuple[list[str], list[list]]:
    """One line for the first PDF (cold: a new Streamlit server, its imports and caches) and one for the rest
    (warm: the kept server), with the median of each stage."""
    stages = list(dict.fromkeys(s for r in rows for s in r["stages"]))
    headers = ["report", "PDFs", "pages", "median (s)", "range (s)", *[f"{s} (s)" for s in stages]]
    lines = []
    for kind, part in (("cold（初回）", rows[:1]), ("warm（2回目以降）", rows[1:])):
        if not part:
            continue
        line = [f"{label} — {kind}", f"{len(part)}", f"{part[0]['pages']}",
                f"{statistics.median(r['total'] for r in part):.1f}",
                f"{min(r['total'] for r in part):.1f}–{max(r['total'] for r in part):.1f}"]
        line += [f"{statistics.median(r['stages'].get(s, 0.0) for r in part):.2f}" for s in stages]
        lines.append(line)
    return headers, lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--national", type=int, default=0, help="also a generated programme of this many sessions")
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from etl.load import build_sample_database  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="dx_bench_sample_") as tmp:
        sample = Path(tmp) / "sample.duckdb"
        build_sample_database(sample)
        headers, lines = summarise("サンプル 令和4年度 事業全体", measure(sample, 2022, args.runs))
        if args.national:
            db = run_all.database(args.national)
            import duckdb  # noqa: PLC0415
            with duckdb.connect(str(db), read_only=True) as con:
                fy = con.execute("SELECT max(fiscal_year) FROM sessions").fetchone()[0]
            _, more = summarise(f"全国 {args.national:,} 件 {fy}年度 事業全体", measure(db, fy, args.runs))
            lines += more
    cold, warm = float(lines[0][3]), float(lines[1][3]) if len(lines) > 1 else float("nan")
    body = table(headers, lines)        # run_all.section adds the machine lines
    body += (f"\n\nTarget (issue 16): the sample report's PDF ≤ {TARGET_S:.0f} s — warm (the server kept from an "
             f"earlier PDF, what the 報告 page's button does after its first PDF) {'met' if warm <= TARGET_S else 'missed'} "
             f"({warm:.1f} s); cold (`python -m etl report`, or the first PDF after {KEEP_S:.0f} s idle) "
             f"{'met' if cold <= TARGET_S else 'missed'} ({cold:.1f} s). Cold pays for a new `streamlit run` (the page's "
             "imports and its first report, ≈ 2 s of Python when the machine is idle) on top of what every PDF pays: "
             "a fresh Chromium (Playwright's sync API is bound to its thread, and the download runs on a new one), "
             "so Streamlit's front end is fetched and parsed each time, seven plotly charts and the print. "
             "With a load average of several times the CPU count every stage stretches alike. "
             "PDFs are made one at a time (a lock): a second request waits its turn instead of adding a browser.")
    print(body)
    if args.write_docs:
        run_all.write_section("report-pdf", "報告 PDF (sample; one PDF at a time)", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
