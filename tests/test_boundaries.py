"""The shipped boundaries (data/reference/, built by scripts/build_reference.py from 国土数値情報 N03 via
../shared/geo): every municipality of the reference list has a polygon in its prefecture's file that contains its
own coordinates (one listed exception), the prefecture polygons carry the outlying islands, the national layers stay
small, and the credit 国土交通省 requires is where the boundaries are shown or shipped.

shapely is a build-only package: the point-in-polygon test here is a plain even-odd ray cast over the rings."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from monitor.views import map as maps

ROOT = Path(__file__).resolve().parent.parent
REF = ROOT / "data" / "reference"
MUNICIPALITIES = list(csv.DictReader((REF / "municipalities.csv").open(encoding="utf-8")))

# reference points outside their own (simplified) polygon, with the distance that explains it — SOURCES.md lists them
POINT_OUTSIDE = {"372064": "さぬき市"}          # 市役所 on the coast at 志度: ≈ 60 m off the 1 % coastline


def _polys(geometry: dict) -> list:
    return [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]


def _in_ring(x: float, y: float, ring) -> bool:
    inside = False
    for (x0, y0), (x1, y1) in zip(ring, ring[1:]):
        if (y0 > y) != (y1 > y) and x < (x1 - x0) * (y - y0) / (y1 - y0) + x0:
            inside = not inside
    return inside


def contains(geometry: dict, lng: float, lat: float) -> bool:
    """Even-odd over every ring of every polygon: holes (lakes, enclaves such as 北山村 in 和歌山県) count."""
    return any(sum(_in_ring(lng, lat, ring) for ring in poly) % 2 == 1 for poly in _polys(geometry))


def _distance_deg(geometry: dict, lng: float, lat: float) -> float:
    """Shortest distance (degrees) from the point to the polygon's edges."""
    def seg(x0, y0, x1, y1):
        dx, dy = x1 - x0, y1 - y0
        t = 0.0 if dx == dy == 0 else max(0.0, min(1.0, ((lng - x0) * dx + (lat - y0) * dy) / (dx * dx + dy * dy)))
        return ((lng - x0 - t * dx) ** 2 + (lat - y0 - t * dy) ** 2) ** 0.5
    return min(seg(*a, *b) for poly in _polys(geometry) for ring in poly for a, b in zip(ring, ring[1:]))


@pytest.fixture(scope="module")
def municipal() -> dict[str, dict]:
    out = {}
    for path in sorted((REF / "municipalities_geo").glob("*.geojson")):
        for f in json.loads(path.read_text(encoding="utf-8"))["features"]:
            code = f["properties"]["municipality_code"]
            assert code not in out, f"{code} in two files"
            assert path.stem == f["properties"]["prefecture_code"] == code[:2], (path, code)
            out[code] = f
    return out


@pytest.fixture(scope="module")
def prefectures() -> dict[str, dict]:
    data = json.loads((REF / "prefectures.geojson").read_text(encoding="utf-8"))
    return {f["properties"]["prefecture"]: f for f in data["features"]}


def test_one_polygon_per_reference_municipality(municipal):
    assert len(list((REF / "municipalities_geo").glob("*.geojson"))) == 47
    assert set(municipal) == {m["municipality_code"] for m in MUNICIPALITIES}
    for m in MUNICIPALITIES:
        p = municipal[m["municipality_code"]]["properties"]
        assert (p["prefecture"], p["municipality"]) == (m["prefecture"], m["municipality"])
        assert municipal[m["municipality_code"]]["geometry"]["type"] in ("Polygon", "MultiPolygon")


def test_every_municipality_contains_its_own_point(municipal):
    outside = {}
    for m in MUNICIPALITIES:
        lng, lat = float(m["lng"]), float(m["lat"])
        if not contains(municipal[m["municipality_code"]]["geometry"], lng, lat):
            outside[m["municipality_code"]] = m["municipality"]
    assert outside == POINT_OUTSIDE
    for code in POINT_OUTSIDE:     # just off the coast, not a wrong place
        m = next(m for m in MUNICIPALITIES if m["municipality_code"] == code)
        assert _distance_deg(municipal[code]["geometry"], float(m["lng"]), float(m["lat"])) < 0.001          # ≈ 100 m


@pytest.mark.parametrize("city, wards_centre", [
    ("札幌市", (141.35, 43.06)), ("横浜市", (139.64, 35.45)), ("大阪市", (135.50, 34.69)), ("福岡市", (130.40, 33.59)),
])
def test_designated_cities_are_one_area(municipal, city, wards_centre):
    """政令指定都市 are one unit (their wards merged), as in the reference list."""
    code = next(m["municipality_code"] for m in MUNICIPALITIES if m["municipality"] == city)
    assert contains(municipal[code]["geometry"], *wards_centre)
    assert not any(f["properties"]["municipality"].startswith(city) and f["properties"]["municipality"] != city
                   for f in municipal.values())


@pytest.mark.parametrize("island, prefecture, lng, lat", [
    ("佐渡島", "新潟県", 138.40, 38.05),
    ("隠岐（島後）", "島根県", 133.28, 36.25),
    ("小笠原（父島）", "東京都", 142.21, 27.07),
    ("石垣島", "沖縄県", 124.20, 24.42),
    ("対馬", "長崎県", 129.30, 34.40),
    ("淡路島", "兵庫県", 134.83, 34.40),
    ("奄美大島", "鹿児島県", 129.45, 28.30),
])
def test_prefecture_polygons_carry_the_islands(prefectures, island, prefecture, lng, lat):
    assert contains(prefectures[prefecture]["geometry"], lng, lat), island
    others = [p for p, f in prefectures.items() if p != prefecture and contains(f["geometry"], lng, lat)]
    assert others == []


def test_island_municipalities_lie_on_land(municipal):
    for name, (lng, lat) in {"佐渡市": (138.40, 38.05), "小笠原村": (142.21, 27.07), "対馬市": (129.30, 34.40),
                             "石垣市": (124.20, 24.42), "隠岐の島町": (133.28, 36.25)}.items():
        code = next(m["municipality_code"] for m in MUNICIPALITIES if m["municipality"] == name)
        assert contains(municipal[code]["geometry"], lng, lat), name


def test_layers_sent_to_the_browser_stay_small():
    assert (REF / "prefectures.geojson").stat().st_size <= 1_000_000          # the national view (≤ 2 MB)
    assert (REF / "municipalities_japan.geojson").stat().st_size <= 1_300_000  # the national municipal view
    assert (REF / "prefectures_outline.geojson").stat().st_size <= 350_000     # its borders / grey context
    for path in (REF / "municipalities_geo").glob("*.geojson"):
        assert path.stat().st_size <= 400_000, path                          # one prefecture's detail


def test_coordinates_are_rounded_lng_lat(prefectures, municipal):
    for f in [*prefectures.values(), *municipal.values()]:
        for poly in _polys(f["geometry"]):
            for ring in poly:
                assert len(ring) >= 4 and ring[0] == ring[-1]
                for lng, lat in ring:
                    assert 122 <= lng <= 154 and 20 <= lat <= 46
                    assert round(lng, 4) == lng and round(lat, 4) == lat


def test_the_credit_is_shown_and_shipped():
    credit = "出典：国土交通省 国土数値情報（行政区域データ）を加工して作成"
    assert maps.CREDIT == credit
    assert credit in (REF / "SOURCES.md").read_text(encoding="utf-8")
    assert credit in (ROOT / "README.md").read_text(encoding="utf-8")
    # on screen under the map: tests/test_page_map.py (the caption of the map frame, national and prefecture views)


def test_build_reads_the_shared_folder_relative_to_the_repository():
    text = (ROOT / "scripts" / "build_reference.py").read_text(encoding="utf-8")
    assert 'ROOT.parent / "shared" / "geo"' in text and "/work/" not in text
