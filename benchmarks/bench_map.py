"""Map benchmark: the bytes the 地図 page sends to the browser for its map (the pydeck JSON of st.pydeck_chart) in
the national view (prefectures; every municipality) and for single prefectures, at a generated national scale.

    .venv/bin/python benchmarks/bench_map.py --sessions 200000 [--write-docs] [--db FILE]

The database is loaded from the generated records through the real loader (cached under /tmp/dx-bench), or
--db FILE. Each view is one AppTest run of pages/3_地図.py (URL 都道府県=… for a prefecture; the radio
塗り分けの単位 = 市区町村 for the national municipal layer). Reported: the JSON's size as sent (bytes), gzip-compressed
(what a compressing proxy would carry; Streamlit's websocket sends it uncompressed by default), the number of areas
drawn and of layers, and the run's wall time (cold caches are not forced: this measures size, not speed).
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run_all  # noqa: E402
from run_all import ROOT, table  # noqa: E402

PREFECTURES = ("北海道", "東京都", "茨城県", "沖縄県")
TARGET_NATIONAL_BYTES = 2_000_000


def measure(db: Path) -> list[dict]:
    os.environ["DX_DB_PATH"] = str(db)
    os.environ.pop("DX_BASEMAP", None)
    sys.path.insert(0, str(ROOT))
    from streamlit.testing.v1 import AppTest

    page = str(ROOT / "pages" / "3_地図.py")
    views = [("全国（都道府県）", {}, None), ("全国（市区町村）", {}, "municipality")]
    views += [(p, {"都道府県": p}, None) for p in PREFECTURES]
    out = []
    for label, query, level in views:
        at = AppTest.from_file(page, default_timeout=120)
        for k, v in query.items():
            at.query_params[k] = v
        t = time.perf_counter()
        at.run()
        if level:
            at.radio(key="map_level").set_value(level).run()
        elapsed = time.perf_counter() - t
        if at.exception:
            raise RuntimeError(f"{label}: {at.exception[0].message}")
        charts = at.get("deck_gl_json_chart")
        spec_text = charts[0].proto.json
        raw = len(spec_text.encode("utf-8")) + len(charts[0].proto.tooltip.encode("utf-8"))
        spec = json.loads(spec_text)
        areas = sum(len(layer["data"]["features"]) for layer in spec["layers"]
                    if isinstance(layer.get("data"), dict) and layer["id"] not in ("prefecture-boundaries",
                                                                                   "chosen-prefecture-outline"))
        out.append({"view": label, "bytes": raw, "gzip": len(gzip.compress(spec_text.encode("utf-8"), 6)),
                    "areas": areas, "layers": len(spec["layers"]), "seconds": elapsed})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=200_000)
    ap.add_argument("--db", type=Path, help="measure this database instead of the generated one")
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args(argv)
    db = args.db or run_all.database(args.sessions)
    rows = measure(db)
    body = table(["view", "pydeck JSON sent (bytes)", "gzip (bytes)", "areas drawn", "layers", "run (s)"],
                 [[r["view"], f"{r['bytes']:,}", f"{r['gzip']:,}", f"{r['areas']:,}", r["layers"],
                   f"{r['seconds']:.2f}"] for r in rows])
    national, municipal = rows[0]["bytes"], rows[1]["bytes"]
    body += ("\n\nTarget (issue 17): the national layer ≤ 2 MB — prefectures "
             f"{'met' if national <= TARGET_NATIONAL_BYTES else 'missed'} ({national / 1e6:.2f} MB), every "
             f"municipality {'met' if municipal <= TARGET_NATIONAL_BYTES else 'missed'} ({municipal / 1e6:.2f} MB). "
             "A prefecture view sends that prefecture's municipalities (data/reference/municipalities_geo/PP.geojson) "
             "plus every prefecture's coarse outline as grey context (prefectures_outline.geojson, ≈ 0.28 MB); the sizes do not grow with "
             "the number of records (counts are a few numbers per area). The boundaries were simplified at build "
             "time (scripts/build_reference.py) and pydeck's indented JSON is sent compact (maps.CompactDeck: 5× "
             "smaller).")
    print(body)
    if args.write_docs:
        run_all.write_section("map", f"Map: bytes sent ({args.sessions:,} sessions)" if not args.db
                              else f"Map: bytes sent ({args.db.name})", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
