"""Page benchmark: one full script run of every page (AppTest), cold, warm (cache hit) and on a filter change
(cache miss), at the given scales; with --peer, the common pandas way for the overview figures in the same run.

    .venv/bin/python benchmarks/bench_pages.py --sessions 10000 1000000 --peer [--write-docs]

Pages are discovered at run time: app.py and pages/*.py. Per scale, a database is loaded once from the generated
records through the real loader (cached under /tmp/dx-bench), then a fresh child process runs the pages:
- cold: st.cache_data / st.cache_resource and every functools cache of monitor.* and etl.* cleared, a new AppTest
  (a new session) and one run. Python modules stay imported: a server imports them once, not per page view;
- warm: the same AppTest run again with the same filters (the caches answer);
- miss: the sidebar filter 都道府県 (widget key flt_prefectures) set to 東京都 and run: new queries.
Runs of one page are PAUSE seconds apart (a user's next click), longer than the read connection's idle time, so no
warm state survives by timing alone.
Also reported per page: the largest table (rows) and the map points the page sends to the browser.
Peer (--peer, its own fresh child process): read every row of engagements, sessions, consultations, events and
targets into pandas (`SELECT *` → DataFrame), then filter and group there for the overview KPIs (latest fiscal
year, per consortium); timed cold (read + compute) and on a filter change (都道府県 = 東京都 on the frames in memory);
memory = peak RSS added by that work (VmHWM after − VmRSS before). The app's overview (app.py cold run) is
measured the same way in its child process.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run_all  # noqa: E402
from run_all import ROOT, fmt_s, reset_hwm, table  # noqa: E402

MISS_PREFECTURE = "東京都"
PAUSE = 3.0     # seconds between the runs of one page (longer than monitor.db.READ_IDLE_SECONDS)
TARGETS = {"rows": 5000, "cold": 1.5, "warm": 0.2, "miss": 0.8, "scale_ratio": 3.0, "peer_cold": 5.0, "peer_miss": 2.0}


def proc_status(field: str) -> int:
    """VmRSS / VmHWM of this process in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def pages() -> list[Path]:
    return [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]


# ── child: pages ────────────────────────────────────────────────────────────

def clear_caches() -> None:
    import streamlit as st
    st.cache_data.clear()
    st.cache_resource.clear()
    for name, mod in list(sys.modules.items()):
        if name.split(".")[0] in ("monitor", "etl") and mod is not None:
            for obj in list(vars(mod).values()):
                if (not isinstance(obj, type) and callable(getattr(obj, "cache_clear", None))
                        and hasattr(obj, "cache_info")):
                    obj.cache_clear()
    db = sys.modules.get("monitor.read.db")
    if db is not None and hasattr(db, "close_shared"):     # the shared read connections (buffer pool) too
        db.close_shared()


def sent_sizes(at) -> tuple[int, int]:
    """(largest dataframe in rows, map points) of the elements a run produced."""
    rows = 0
    for df in at.dataframe:
        try:
            rows = max(rows, len(df.value))
        except Exception:  # noqa: BLE001
            pass
    points = 0
    try:
        for el in at.get("deck_gl_json_chart"):
            spec = json.loads(el.proto.json)
            for layer in spec.get("layers", []):
                data = layer.get("data")
                if isinstance(data, list):
                    points += len(data)
    except Exception:  # noqa: BLE001
        pass
    return rows, points


def child_pages(db: str) -> list[dict]:
    os.environ["DX_DB_PATH"] = db
    from streamlit.testing.v1 import AppTest
    for p in sorted((ROOT / "monitor").rglob("*.py")):     # imports are a server's one-time cost
        try:
            importlib.import_module(".".join(p.relative_to(ROOT).with_suffix("").parts))
        except Exception:  # noqa: BLE001
            pass
    for mod in ("plotly.graph_objects", "plotly.express", "pydeck", "pandas"):
        try:
            importlib.import_module(mod)
        except Exception:  # noqa: BLE001
            pass
    AppTest.from_string("import streamlit as st\nst.write('warm-up')").run()   # AppTest's own one-time set-up
    results = []
    for page in pages():
        rel = str(page.relative_to(ROOT))
        r: dict = {"page": rel, "errors": []}
        try:
            clear_caches()
            reset_hwm()
            rss0 = proc_status("VmRSS")
            at = AppTest.from_file(str(page), default_timeout=900)
            t = time.perf_counter()
            at.run()
            r["cold"] = time.perf_counter() - t
            r["cold_mem"] = proc_status("VmHWM") - rss0
            # an error box (e.g. marts an earlier version built) is a page that did not draw: not a figure to report
            r["errors"] += [str(e.value)[:300] for e in [*at.exception, *at.error]]
            r["rows"], r["points"] = sent_sizes(at)
            time.sleep(PAUSE)                    # the user's next click comes later: nothing left warm by timing
            t = time.perf_counter()
            at.run()
            r["warm"] = time.perf_counter() - t
            r["errors"] += [str(e.value)[:300] for e in at.exception]
            try:
                widget = at.multiselect(key="flt_prefectures")
            except KeyError:                     # a page without the shared filters (e.g. データ取込)
                r["no_filters"] = True
                results.append(r)
                continue
            widget.set_value([MISS_PREFECTURE])
            time.sleep(PAUSE)
            t = time.perf_counter()
            at.run()
            r["miss"] = time.perf_counter() - t
            r["errors"] += [str(e.value)[:300] for e in at.exception]
            rows, points = sent_sizes(at)
            r["rows"], r["points"] = max(r["rows"], rows), max(r["points"], points)
        except Exception as exc:  # noqa: BLE001 - record and go on with the next page
            r["errors"].append(f"{type(exc).__name__}: {exc}"[:300])
        results.append(r)
        print(f"  {rel}: cold {fmt_s(r.get('cold'))} s, warm {fmt_s(r.get('warm'))} s, miss {fmt_s(r.get('miss'))} s"
              + (f"  ERRORS: {r['errors']}" if r["errors"] else ""), file=sys.stderr, flush=True)
    return results


# ── child: the pandas peer ──────────────────────────────────────────────────

def peer_kpis(frames: dict, fy: int, prefectures: list[str]):
    """Overview KPIs per consortium and in total, the way a pandas dashboard computes them."""
    import pandas as pd
    e, s, c, ev, tg = (frames[k] for k in ("engagements", "sessions", "consultations", "events", "targets"))
    eng = e[e["fiscal_year"] == fy]
    if prefectures:
        eng = eng[eng["prefecture"].isin(prefectures)]
    ses = s[s["fiscal_year"] == fy].merge(e[["engagement_id", "consortium", "prefecture"]], on="engagement_id")
    if prefectures:
        ses = ses[ses["prefecture"].isin(prefectures)]
    con = c[c["fiscal_year"] == fy]
    if prefectures:
        con = con[con["prefecture"].isin(prefectures)]
    evs = ev[(ev["fiscal_year"] == fy) & ev["kind"].str.contains("セミナー", na=False)]
    if prefectures:
        evs = evs[evs["prefecture"].isin(prefectures)]
    companies = eng[(eng["client_type"] == "企業") & eng["status"].isin(["実施中", "完了"])]
    plans = eng[eng["deliverable"].fillna("").str.contains("DX.*計画", regex=True) & eng["deliverable_date"].notna()]
    per = pd.DataFrame({
        "companies": companies.groupby("consortium")["client_name"].nunique(),
        "planned_sessions": eng[eng["status"] != "中止"].groupby("consortium")["planned_sessions"].sum(),
        "dx_plans": plans.groupby("consortium").size(),
        "sessions": ses.groupby("consortium").size(),
        "bank_sessions": ses[ses["bank_attended"] == True].groupby("consortium").size(),  # noqa: E712
        "bank_known": ses[ses["bank_attended"].notna()].groupby("consortium").size(),
        "seminar_attendees": evs.groupby("consortium")["attendees"].sum(),
    }).fillna(0)
    per["bank_rate"] = per["bank_sessions"] / per["bank_known"].where(per["bank_known"] > 0)
    tgt = tg[tg["fiscal_year"] == fy].pivot_table(index="consortium", columns="indicator", values="target",
                                                 aggfunc="sum")
    per = per.join(tgt, how="left")
    total = {
        "companies": companies["client_name"].nunique(), "sessions": len(ses), "consultations": len(con),
        "dx_plans": len(plans), "seminar_attendees": int(evs["attendees"].sum()),
        "bank_rate": (ses["bank_attended"] == True).sum() / max(1, ses["bank_attended"].notna().sum()),  # noqa: E712
    }
    return per, total


def child_peer(db: str) -> dict:
    import duckdb
    import pandas  # noqa: F401  (import before the baseline)
    reset_hwm()
    rss0 = proc_status("VmRSS")
    t = time.perf_counter()
    con = duckdb.connect(db, read_only=True)
    frames = {k: con.execute(f"SELECT * FROM {k}").df()
              for k in ("engagements", "sessions", "consultations", "events", "targets")}
    con.close()
    fy = int(max(frames["sessions"]["fiscal_year"].max(), frames["engagements"]["fiscal_year"].max()))
    read = time.perf_counter() - t
    per, total = peer_kpis(frames, fy, [])
    cold = time.perf_counter() - t
    t = time.perf_counter()
    per2, total2 = peer_kpis(frames, fy, [MISS_PREFECTURE])
    miss = time.perf_counter() - t
    return {"read": read, "cold": cold, "miss": miss, "mem": proc_status("VmHWM") - rss0,
            "rows": int(sum(len(f) for f in frames.values())), "total": {k: float(v) for k, v in total.items()},
            "consortia": len(per)}


# ── parent ──────────────────────────────────────────────────────────────────

def run_child(kind: str, db: Path) -> object:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--db", str(db)]
    proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} child exited {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def mark(value, limit) -> str:
    if value is None:
        return "—"
    return fmt_s(value) + ("" if value <= limit else " ✗")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="page timings (AppTest) and the pandas peer")
    parser.add_argument("--sessions", type=int, nargs="+", default=[10_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--peer", action="store_true")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--child", choices=["pages", "peer"], help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        out = child_pages(args.db) if args.child == "pages" else child_peer(args.db)
        print(json.dumps(out, ensure_ascii=False))
        return 0

    results: dict[int, dict] = {}
    for n in args.sessions:
        db = run_all.database(n, args.seed)
        print(f"\n{n:,} sessions: {db} ({db.stat().st_size / 1e6:.0f} MB)", flush=True)
        res = {"pages": run_child("pages", db)}
        if args.peer:
            res["peer"] = run_child("peer", db)
        results[n] = res

    crashed = False
    parts = []
    small = min(results)
    for n, res in results.items():
        rows = []
        for r in res["pages"]:
            crashed |= bool(r["errors"])
            ratio = ""
            if n != small:
                base = next((p for p in results[small]["pages"] if p["page"] == r["page"]), None)
                if base and base.get("cold") and r.get("cold"):
                    q = r["cold"] / base["cold"]
                    ratio = f"{q:.1f}" + ("" if q <= TARGETS["scale_ratio"] else " ✗")
            rows.append([f"`{r['page']}`", mark(r.get("cold"), TARGETS["cold"]), mark(r.get("warm"), TARGETS["warm"]),
                         "no filters" if r.get("no_filters") else mark(r.get("miss"), TARGETS["miss"]), ratio or "—",
                         f"{r.get('rows', 0):,}" + ("" if r.get("rows", 0) <= TARGETS["rows"] else " ✗"),
                         f"{r.get('points', 0):,}" + ("" if r.get("points", 0) <= TARGETS["rows"] else " ✗"), f"{r.get('cold_mem', 0) / 1e6:.0f}",
                         "; ".join(r["errors"])[:200] or "ok"])
        parts.append(f"### {n:,} sessions\n\n" + table(
            ["page", "cold s", "warm (hit) s", "filter change (miss) s", f"cold ÷ cold@{small:,}",
             "largest table rows", "map points", "cold peak +RSS MB", "status"], rows))
        if "peer" in res:
            pr = res["peer"]
            app = next((p for p in res["pages"] if p["page"] == "app.py"), {})
            cold_x = pr["cold"] / app["cold"] if app.get("cold") else float("nan")
            miss_x = pr["miss"] / app["miss"] if app.get("miss") else float("nan")
            parts.append(table(
                ["overview figures", "cold s", "filter change s", "peak +RSS MB", "rows read"],
                [["app.py (DuckDB marts, AppTest full page)", fmt_s(app.get("cold")), fmt_s(app.get("miss")),
                  f"{app.get('cold_mem', 0) / 1e6:.0f}", "aggregates only"],
                 ["pandas peer (SELECT * → DataFrames, filter + groupby)", fmt_s(pr["cold"]), fmt_s(pr["miss"]),
                  f"{pr['mem'] / 1e6:.0f}", f"{pr['rows']:,} (read {fmt_s(pr['read'])} s)"]]))
            parts.append(f"Peer ÷ app: cold {cold_x:.1f}× (target ≥ {TARGETS['peer_cold']:.0f}×), "
                         f"filter change {miss_x:.1f}× (target ≥ {TARGETS['peer_miss']:.0f}×), memory "
                         f"{pr['mem'] / max(1, app.get('cold_mem', 1)):.1f}× (peer ÷ app). The peer's timing covers "
                         "only the KPI computation; the app's covers the whole page script (charts, tables, "
                         "sidebar).")
    legend = (f"Targets (issue 6, at 1,000,000 sessions): cold ≤ {TARGETS['cold']} s, warm ≤ {TARGETS['warm']} s, "
              f"filter change ≤ {TARGETS['miss']} s, cold 1,000,000 ÷ 10,000 ≤ {TARGETS['scale_ratio']}; ✗ marks a "
              "figure over its target; tables and map points over 5,000 rows are marked too (\"a few thousand\"). "
              "Filter change = 都道府県 set to 東京都 in the sidebar.")
    out = legend + "\n\n" + "\n\n".join(parts)
    print("\n" + out)
    if args.write_docs:
        name = "pages-" + "-".join(str(n) for n in args.sessions)
        run_all.write_section(name, "Pages: " + " and ".join(f"{n:,}" for n in args.sessions) + " sessions", out)
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
