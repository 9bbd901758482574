"""Builders for the 地図 page: counts per prefecture (monitor/sql/map_prefectures.sql) or per municipality
(map_points.sql) and the shipped boundaries (data/reference/: 国土数値情報 行政区域, see SOURCES.md) in, a
``pydeck.Deck`` out: a choropleth of one measure — prefectures nationally, the municipalities of the chosen
prefecture(s) — with optional points sized by the same measure; pure helpers for the class scale, legend, view,
tooltip and the basemap setting.

No basemap by default: ``map_provider=None`` with pydeck's default map style sentinel ('__MAP_STYLE__'), which
Streamlit's frontend removes, so nothing is fetched from the internet (note: ``map_style=None`` would make Streamlit
pick a Carto style from its theme and fetch tiles). A public Carto style is used only when asked for
(environment variable DX_BASEMAP or the page's toggle)."""
from __future__ import annotations

import json
import math
import os
from functools import lru_cache
from pathlib import Path

import pandas as pd
import pydeck as pdk
from pydeck.bindings.json_tools import default_serialize

from monitor.format import fmt_date, fmt_int, format_fiscal_year, is_missing
from monitor.plain import tooltip_text

ROOT = Path(__file__).resolve().parents[2]
REFERENCE_DIR = ROOT / "data" / "reference"
BOUNDARIES_PATH = REFERENCE_DIR / "prefectures.geojson"
MUNICIPAL_DIR = REFERENCE_DIR / "municipalities_geo"          # PP.geojson: one prefecture's municipalities
NATIONAL_MUNICIPAL_PATH = REFERENCE_DIR / "municipalities_japan.geojson"
OUTLINES_PATH = REFERENCE_DIR / "prefectures_outline.geojson"   # coarser: context and borders only
CREDIT = "出典：国土交通省 国土数値情報（行政区域データ）を加工して作成"

POINT_LAYER_ID = "municipalities"
BOUNDARY_LAYER_ID = "prefecture-boundaries"     # the other prefectures, grey, under a prefecture's municipalities
PREFECTURE_LAYER_ID = "prefecture-choropleth"
MUNICIPAL_LAYER_ID = "municipal-choropleth"
CHOSEN_OUTLINE_LAYER_ID = "chosen-prefecture-outline"

SIZE_CHOICES = {"engagements": "案件数", "sessions": "伴走支援 実施回数", "consultations": "相談件数"}
SIZE_UNITS = {"engagements": "件", "sessions": "回", "consultations": "件"}

# colour carries one measure: a sequential purple scale (ColorBrewer Purples), 0 its own class (land grey)
CLASSES = 5
PALETTE: list[list[int]] = [[218, 218, 235], [188, 189, 220], [158, 154, 200], [117, 107, 177], [84, 39, 143]]
ZERO_COLOR = [229, 231, 235]             # neutral grey: no hue, so it never reads as the lowest class
FILL_ALPHA = 235
CONTEXT_FILL = [250, 250, 251, 255]          # prefectures around the chosen one(s): near white
LINE_COLOR = [255, 255, 255, 255]            # borders between areas
PREFECTURE_LINE = [110, 116, 128, 255]
# hover: a warm translucent tint, outside the purple scale, so a hovered area never reads as another class
HIGHLIGHT_COLOR = [255, 183, 3, 150]
POINT_COLOR = [38, 50, 56, 190]              # points (optional) are one neutral colour: their size is the measure
MIN_RADIUS_PX = 5.0
MAX_RADIUS_PX = 28.0
ZERO_RADIUS_PX = 3.0          # a municipality with activity but none of the chosen kind
# up to this many points the radii above hold; more (1,737 municipalities at national scale) shrink them by
# sqrt(CROWD_POINTS / n), at most to CROWD_MIN_FACTOR, so the circles do not cover one another and the outlines
CROWD_POINTS = 300
CROWD_MIN_FACTOR = 0.4

# the map's size on screen: its height is set (st.pydeck_chart height); its width follows the page, so the view is
# fitted to a conservative width
MAP_HEIGHT = 600                 # a prefecture's municipalities
NATIONAL_MAP_HEIGHT = 760        # all of Japan, 沖縄 included, about 700 px tall
MAP_WIDTH = 760
# the national view fits the four main islands, 南西諸島 and 伊豆諸島 (南鳥島 and 沖ノ鳥島 are left out of the frame)
NATIONAL_EXTENT = pd.DataFrame({"lat": [24.0, 45.6], "lng": [122.9, 146.0]})
JAPAN_VIEW = {"latitude": 36.5, "longitude": 137.8, "zoom": 4.3}
MIN_ZOOM, MAX_ZOOM, SINGLE_POINT_ZOOM = 4.0, 10.5, 9.5

BASEMAP_STYLES = {"light": pdk.map_styles.CARTO_LIGHT, "dark": pdk.map_styles.CARTO_DARK,
                  "road": pdk.map_styles.CARTO_ROAD}
_BASEMAP_OFF = {"", "0", "none", "off", "false", "no", "なし"}
_BASEMAP_ON = {"1", "on", "true", "yes", "carto", "public", "あり"}

# ── settings ────────────────────────────────────────────────────────────────

def basemap_from_env(value: str | None = None) -> str | None:
    """The basemap setting from DX_BASEMAP (or ``value``): None (no basemap; the default) or a style key
    ('light', 'dark', 'road'). Unknown values mean no basemap."""
    raw = os.environ.get("DX_BASEMAP", "") if value is None else value
    v = str(raw).strip().lower()
    if v in _BASEMAP_OFF:
        return None
    if v in _BASEMAP_ON:
        return "light"
    return v if v in BASEMAP_STYLES else None


# ── boundaries ──────────────────────────────────────────────────────────────

@lru_cache(maxsize=64)
def _geojson_text(path: str, mtime_ns: int) -> str:
    return Path(path).read_text(encoding="utf-8")


def _read_geojson(p: Path) -> dict:
    return json.loads(_geojson_text(str(p), p.stat().st_mtime_ns))


def load_boundaries(path: str | os.PathLike | None = None) -> dict:
    """The shipped prefecture boundaries, islands included (GeoJSON FeatureCollection; properties
    prefecture_code, prefecture)."""
    return _read_geojson(Path(path) if path else BOUNDARIES_PATH)


def load_municipal_boundaries(prefecture_codes) -> dict:
    """The municipalities of these prefectures (codes '01'…'47') in one FeatureCollection (properties
    municipality_code, prefecture_code, prefecture, municipality); only the chosen prefectures' files are read."""
    features: list = []
    for pc in sorted(set(prefecture_codes)):
        features += _read_geojson(MUNICIPAL_DIR / f"{pc}.geojson")["features"]
    return {"type": "FeatureCollection", "features": features}


def load_outlines() -> dict:
    """The prefectures simplified harder (≈ 500 m): grey context around a chosen prefecture and the prefecture
    borders over the national municipal layer, where the finer file would double the bytes sent."""
    return _read_geojson(OUTLINES_PATH)


def load_national_municipal_boundaries() -> dict:
    """Every municipality of Japan, simplified for the national view."""
    return _read_geojson(NATIONAL_MUNICIPAL_PATH)


# ── pure helpers ────────────────────────────────────────────────────────────

def radius_px(values, *, min_px: float = MIN_RADIUS_PX, max_px: float = MAX_RADIUS_PX,
              zero_px: float = ZERO_RADIUS_PX) -> list[float]:
    """Point radius in pixels per value: area grows with the count (square-root scale) from ``min_px`` for the
    smallest positive count to ``max_px`` for the largest; zero or missing → ``zero_px``."""
    vals = [0.0 if is_missing(v) else max(0.0, float(v)) for v in values]
    top = max(vals, default=0.0)
    if top <= 0:
        return [zero_px for _ in vals]
    out = []
    for v in vals:
        if v <= 0:
            out.append(zero_px)
        else:
            out.append(round(min_px + (max_px - min_px) * math.sqrt(v / top), 2))
    return out


def crowd_factor(n_points: int) -> float:
    """How much the radii shrink for ``n_points`` points drawn at once (1.0 up to CROWD_POINTS)."""
    if n_points <= CROWD_POINTS:
        return 1.0
    return max(CROWD_MIN_FACTOR, math.sqrt(CROWD_POINTS / n_points))



def class_breaks(values, n: int = CLASSES) -> list[tuple[int, int]]:
    """Classes [(low, high)] of the positive counts in ``values`` for a choropleth: quantile breaks (each class
    holds about as many areas), so a few very active areas do not push every other one into the lowest class;
    at most ``n`` classes, fewer when there are fewer distinct counts; 0 is not in any (it is its own class)."""
    pos = sorted(int(v) for v in values if not is_missing(v) and v > 0)
    if not pos:
        return []
    distinct = sorted(set(pos))
    if len(distinct) <= n:
        return [(v, v) for v in distinct]
    uppers = sorted({pos[min(len(pos) - 1, math.ceil(k * len(pos) / n) - 1)] for k in range(1, n)} | {pos[-1]})
    out, low = [], pos[0]
    for up in uppers:
        out.append((low, up))
        low = next((v for v in distinct if v > up), up + 1)
    return out


def class_index(value, breaks: list[tuple[int, int]]) -> int:
    """The class of ``value`` (index into ``breaks``), or -1 for 0 / missing."""
    if is_missing(value) or value <= 0 or not breaks:
        return -1
    for i, (_, high) in enumerate(breaks):
        if value <= high:
            return i
    return len(breaks) - 1


def class_colors(n_classes: int) -> list[list[int]]:
    """Palette colours for ``n_classes`` classes, spread over the scale (the top class always the darkest); with
    fewer than five classes the palest colour is left out, so the lowest class stands apart from 0's grey."""
    if n_classes <= 0:
        return []
    if n_classes == 1:
        return [PALETTE[-1]]
    first = 0 if n_classes >= len(PALETTE) else 1
    last = len(PALETTE) - 1
    return [PALETTE[first + round(i * (last - first) / (n_classes - 1))] for i in range(n_classes)]


def fill_color(value, breaks: list[tuple[int, int]]) -> list[int]:
    i = class_index(value, breaks)
    return [*(ZERO_COLOR if i < 0 else class_colors(len(breaks))[i]), FILL_ALPHA]


def class_label(low: int, high: int, unit: str) -> str:
    return f"{low:,}{unit}" if low == high else f"{low:,}〜{high:,}{unit}"


def legend_items(measure: str, breaks: list[tuple[int, int]]) -> list[tuple[str, str]]:
    """[(label, '#rrggbb')]: '0件' first, then one per class."""
    unit = SIZE_UNITS[measure]
    items = [(f"0{unit}", "#%02x%02x%02x" % tuple(ZERO_COLOR))]
    for (low, high), rgb in zip(breaks, class_colors(len(breaks))):
        items.append((class_label(low, high, unit), "#%02x%02x%02x" % tuple(rgb)))
    return items


def legend_html(measure: str, breaks: list[tuple[int, int]], area: str = "都道府県") -> str:
    """The colour legend as inline HTML (our own labels and colours only, no record text)."""
    swatch = ("<span style='display:inline-block;width:14px;height:14px;vertical-align:-2px;margin-right:3px;"
              "background:{};border:1px solid #9aa0a8'></span>")
    parts = [swatch.format(col) + label for label, col in legend_items(measure, breaks)]
    return (f"凡例（色＝{area}ごとの{SIZE_CHOICES[measure]}、区分は件数の分位）: " + "　".join(parts))


def size_legend_html(records: list[dict], measure: str) -> str:
    """Scale circles for the points: the largest, a middle and the smallest count on the map, each drawn at the
    radius (px at the initial view) its point has, so the legend reads like the map."""
    by_value = {int(r[measure]): float(r["radius"]) for r in records if r[measure] > 0}
    if not by_value:
        return ""
    vals = sorted(by_value)
    picks = sorted({vals[-1], vals[len(vals) // 2], vals[0]}, reverse=True)
    unit = SIZE_UNITS[measure]
    circles = []
    for v in picks:
        d = round(2 * by_value[v], 1)
        circles.append(f"<span style='display:inline-block;width:{d}px;height:{d}px;border-radius:50%;"
                       f"background:rgba({POINT_COLOR[0]},{POINT_COLOR[1]},{POINT_COLOR[2]},0.75);"
                       f"border:1px solid #fff;vertical-align:middle;margin:0 4px'></span>{v:,}{unit}")
    return f"円の大きさ＝{SIZE_CHOICES[measure]}: " + "　".join(circles)


def _lat_to_merc(lat: float) -> float:
    lat = max(min(lat, 85.0), -85.0)
    return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def fit_view(df: pd.DataFrame, *, width: int = MAP_WIDTH, height: int = MAP_HEIGHT, padding: float = 0.08,
             margin_px: float = MAX_RADIUS_PX + 4) -> pdk.ViewState:
    """A view centred on the bounding box of the points (columns lat, lng) at the largest zoom (Web Mercator,
    512-px tiles as deck.gl uses) that shows them all inside a ``width`` × ``height`` viewport, leaving
    ``padding`` (share of each side) plus ``margin_px`` (room for the largest circle) free on every side.
    No points → all of Japan; one point → a city-level zoom."""
    pts = df.dropna(subset=["lat", "lng"]) if len(df) else df
    if pts is None or len(pts) == 0:
        return pdk.ViewState(**JAPAN_VIEW, pitch=0, bearing=0)
    lat_min, lat_max = float(pts["lat"].min()), float(pts["lat"].max())
    lng_min, lng_max = float(pts["lng"].min()), float(pts["lng"].max())
    y_min, y_max = _lat_to_merc(lat_min), _lat_to_merc(lat_max)
    centre_lat = math.degrees(2 * math.atan(math.exp((y_min + y_max) / 2)) - math.pi / 2)
    centre_lng = (lng_min + lng_max) / 2
    usable_w = max(50.0, width * (1 - 2 * padding) - 2 * margin_px)
    usable_h = max(50.0, height * (1 - 2 * padding) - 2 * margin_px)
    zooms = []
    if lng_max - lng_min > 1e-9:
        zooms.append(math.log2(usable_w * 360.0 / ((lng_max - lng_min) * 512.0)))
    if y_max - y_min > 1e-12:
        zooms.append(math.log2(usable_h * 2 * math.pi / ((y_max - y_min) * 512.0)))
    zoom = min(zooms) if zooms else SINGLE_POINT_ZOOM
    zoom = max(MIN_ZOOM, min(MAX_ZOOM, zoom))
    return pdk.ViewState(latitude=round(centre_lat, 5), longitude=round(centre_lng, 5), zoom=round(zoom, 2),
                         pitch=0, bearing=0)


def _ring_area(ring) -> float:
    return abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:]))) / 2


def main_extent(geojson: dict, share: float = 0.05) -> pd.DataFrame:
    """Corners (lat, lng) of the area worth zooming to: the bounding box of every polygon (of prefecture features)
    at least ``share`` of the largest one, so 東京都 zooms to its main land and 大島, not to 小笠原 and 沖ノ鳥島
    1,700 km south, and 北海道 leaves out 北方領土."""
    polys = []
    for f in geojson.get("features", []):
        g = f.get("geometry") or {}
        for poly in ([g["coordinates"]] if g.get("type") == "Polygon" else g.get("coordinates", [])):
            polys.append((_ring_area(poly[0]), poly[0]))
    if not polys:
        return pd.DataFrame(columns=["lat", "lng"])
    top = max(a for a, _ in polys)
    pts = [pt for a, ring in polys if a >= share * top for pt in ring]
    lngs, lats = [p[0] for p in pts], [p[1] for p in pts]
    return pd.DataFrame({"lat": [min(lats), max(lats)], "lng": [min(lngs), max(lngs)]})


def metres_per_pixel(latitude: float, zoom: float) -> float:
    """Ground metres per screen pixel at ``latitude`` and deck.gl ``zoom`` (512-px Web Mercator tiles)."""
    return 40_075_016.686 * math.cos(math.radians(latitude)) / (512 * 2 ** zoom)


def _counts(row) -> dict:
    return {k: int(0 if is_missing(row.get(k)) else row.get(k)) for k in SIZE_CHOICES}


def _labels(counts: dict) -> dict:
    return {f"{k}_label": fmt_int(counts[k], SIZE_UNITS[k]) for k in SIZE_CHOICES}


def point_records(points: pd.DataFrame, size_by: str = "engagements") -> list[dict]:
    """Layer data: one JSON-safe dict per municipality with coordinates, counts (and their Japanese labels for the
    tooltip) and radius (px at the initial view), all one colour. Rows without coordinates are left out."""
    if size_by not in SIZE_CHOICES:
        raise ValueError(f"size_by must be one of {sorted(SIZE_CHOICES)}: {size_by!r}")
    df = points.dropna(subset=["lat", "lng"]).reset_index(drop=True) if len(points) else points
    if df is None or len(df) == 0:
        return []
    f = crowd_factor(len(df))
    radii = radius_px(df[size_by].tolist(), min_px=max(2.0, MIN_RADIUS_PX * f), max_px=MAX_RADIUS_PX * f,
                      zero_px=max(1.5, ZERO_RADIUS_PX * f))
    out = []
    for i, r in df.iterrows():
        counts = _counts(r)
        out.append({
            "municipality_code": str(r["municipality_code"]),
            # the tooltip template is HTML and deck.gl inserts the values as they are
            "name": tooltip_text(r["municipality"]),
            "area": tooltip_text(r["prefecture"]),
            "municipality": tooltip_text(r["municipality"]),
            "prefecture": tooltip_text(r["prefecture"]),
            "lat": float(r["lat"]),
            "lng": float(r["lng"]),
            **counts,
            **_labels(counts),
            "radius": float(radii[i]),
        })
    return out


def choropleth_geojson(geojson: dict, counts: pd.DataFrame, key: str, measure: str,
                       breaks: list[tuple[int, int]] | None = None) -> tuple[dict, list[tuple[int, int]]]:
    """The features of ``geojson`` with the counts of ``counts`` (joined on the property / column ``key``:
    prefecture_code or municipality_code; an area without a row has 0), their labels, a display name and area
    (for the tooltip) and the fill colour of ``measure``'s class. Returns (FeatureCollection, breaks)."""
    by_key = {str(r[key]): _counts(r) for r in counts.to_dict("records")} if len(counts) else {}
    zero = {k: 0 for k in SIZE_CHOICES}
    if breaks is None:
        breaks = class_breaks([by_key.get(str(f["properties"][key]), zero)[measure] for f in geojson["features"]])
    features = []
    for f in geojson["features"]:
        props = f["properties"]
        c = by_key.get(str(props[key]), zero)
        is_muni = "municipality" in props
        features.append({"type": "Feature", "geometry": f["geometry"], "properties": {
            **props,
            "name": props["municipality"] if is_muni else props["prefecture"],
            "area": props["prefecture"] if is_muni else "",
            **c, **_labels(c),
            "fill": fill_color(c[measure], breaks),
        }})
    return {"type": "FeatureCollection", "features": features}, breaks


def tooltip(measure: str) -> dict:
    """The one tooltip of every map layer: the area's name (and, for a municipality, its prefecture once), the
    chosen measure first, then the other two. Streamlit fills {field} from the object or its properties."""
    order = [measure, *[k for k in SIZE_CHOICES if k != measure]]
    rows = "".join(f"<br/>{SIZE_CHOICES[k]}: {{{k}_label}}" for k in order)
    return {"html": "<b>{name}</b>　{area}" + rows,
            "style": {"backgroundColor": "#1c2430", "color": "#ffffff", "fontSize": "13px",
                      "fontFamily": "Noto Sans CJK JP, Noto Sans JP, sans-serif"}}


# ── the deck ────────────────────────────────────────────────────────────────

def choropleth_layer(collection: dict, layer_id: str, *, line_color=LINE_COLOR, line_px: float = 0.5) -> pdk.Layer:
    return pdk.Layer(
        "GeoJsonLayer",
        id=layer_id,
        data=collection,
        stroked=True,
        filled=True,
        get_fill_color="properties.fill",
        get_line_color=line_color,
        get_line_width=1,              # metres; drawn at least line_px wide (a "pixels" unit draws wrongly in
        line_width_min_pixels=line_px,  # Streamlit's deck.gl, so sizes are given in metres with pixel bounds)
        pickable=True,
        auto_highlight=True,
        highlight_color=HIGHLIGHT_COLOR,
    )


def boundary_layer(boundaries_geojson: dict, *, filled: bool = True) -> pdk.Layer:
    """Prefecture outlines (context around the chosen prefecture); filled light grey without a basemap."""
    return pdk.Layer(
        "GeoJsonLayer",
        id=BOUNDARY_LAYER_ID,
        data=boundaries_geojson,
        stroked=True,
        filled=filled,
        get_fill_color=CONTEXT_FILL,
        get_line_color=[160, 166, 176, 255],
        get_line_width=1,
        line_width_min_pixels=1,
        pickable=False,
    )


def point_layer(records: list[dict], view: pdk.ViewState | None = None) -> pdk.Layer:
    """Points sized in metres so that, at the initial ``view``, each is ``radius`` pixels across (Streamlit's
    deck.gl draws ``radiusUnits: 'pixels'`` wrongly — every point fills the map); zooming scales them like the
    map, bounded to 2–60 px. One colour; the hover tint is the choropleth's."""
    scale = metres_per_pixel(view.latitude, view.zoom) if view is not None else 1.0
    return pdk.Layer(
        "ScatterplotLayer",
        id=POINT_LAYER_ID,
        data=records,
        get_position=["lng", "lat"],
        get_fill_color=POINT_COLOR,
        get_radius="radius",
        radius_scale=round(scale, 3),
        radius_min_pixels=2,
        radius_max_pixels=60,
        stroked=True,
        get_line_color=[255, 255, 255, 230],
        line_width_min_pixels=1,
        pickable=True,
        auto_highlight=True,
        highlight_color=HIGHLIGHT_COLOR,
    )


class CompactDeck(pdk.Deck):
    """A Deck whose JSON (what st.pydeck_chart sends to the browser) has no whitespace: pydeck indents it by 2
    with one number per line, which makes the national map 3.7 MB instead of 0.7 MB."""

    def to_json(self) -> str:
        return json.dumps(self, sort_keys=True, default=default_serialize, separators=(",", ":"), ensure_ascii=False)


def _deck(layers: list, view: pdk.ViewState, measure: str, basemap: str | None, height: int) -> pdk.Deck:
    style_kwargs: dict = {"map_provider": None}        # keeps pydeck's '__MAP_STYLE__' sentinel → no basemap
    if basemap:
        style_kwargs = {"map_provider": "carto", "map_style": BASEMAP_STYLES.get(basemap, pdk.map_styles.CARTO_LIGHT)}
    return CompactDeck(layers=layers, initial_view_state=view, tooltip=tooltip(measure), height=height, **style_kwargs)


def build_national_map(prefecture_counts: pd.DataFrame, measure: str = "engagements", basemap: str | None = None,
                       *, municipal_counts: pd.DataFrame | None = None, width: int = MAP_WIDTH,
                       height: int = NATIONAL_MAP_HEIGHT) -> tuple[pdk.Deck, list[tuple[int, int]]]:
    """National view: a choropleth of the 47 prefectures (layer PREFECTURE_LAYER_ID) by ``measure``; with
    ``municipal_counts`` (map_points rows) every municipality of Japan instead (MUNICIPAL_LAYER_ID) under the
    prefecture borders. The view fits Japan's main islands. Returns (deck, breaks)."""
    if measure not in SIZE_CHOICES:
        raise ValueError(f"measure must be one of {sorted(SIZE_CHOICES)}: {measure!r}")
    prefectures = load_boundaries()
    view = fit_view(NATIONAL_EXTENT, width=width, height=height, padding=0.02, margin_px=0)
    if municipal_counts is None:
        collection, breaks = choropleth_geojson(prefectures, prefecture_counts, "prefecture_code", measure)
        layers = [choropleth_layer(collection, PREFECTURE_LAYER_ID, line_px=0.8)]
    else:
        collection, breaks = choropleth_geojson(load_national_municipal_boundaries(), municipal_counts,
                                                "municipality_code", measure)
        outline = pdk.Layer("GeoJsonLayer", id=BOUNDARY_LAYER_ID, data=load_outlines(), stroked=True, filled=False,
                            get_line_color=PREFECTURE_LINE, get_line_width=1, line_width_min_pixels=0.8,
                            pickable=False)
        layers = [choropleth_layer(collection, MUNICIPAL_LAYER_ID, line_px=0), outline]
    return _deck(layers, view, measure, basemap, height), breaks


def build_prefecture_map(points_df: pd.DataFrame, prefecture_codes, measure: str = "engagements",
                         basemap: str | None = None, *, show_points: bool = False, width: int = MAP_WIDTH,
                         height: int = MAP_HEIGHT) -> tuple[pdk.Deck, list[tuple[int, int]], list[dict]]:
    """Prefecture view: the other prefectures in grey, the municipalities of ``prefecture_codes`` as a choropleth
    (layer MUNICIPAL_LAYER_ID) by ``measure`` from ``points_df`` (map_points rows), optionally a point per
    municipality with activity sized by the same measure; the view fits the chosen prefecture(s).
    Returns (deck, breaks, point records)."""
    if measure not in SIZE_CHOICES:
        raise ValueError(f"measure must be one of {sorted(SIZE_CHOICES)}: {measure!r}")
    municipal = load_municipal_boundaries(prefecture_codes)
    collection, breaks = choropleth_geojson(municipal, points_df, "municipality_code", measure)
    prefectures = load_boundaries()
    chosen = {"type": "FeatureCollection",
              "features": [f for f in prefectures["features"] if f["properties"]["prefecture_code"] in set(prefecture_codes)]}
    view = fit_view(main_extent(chosen), width=width, height=height, padding=0.04, margin_px=0)
    layers = [boundary_layer(load_outlines(), filled=not basemap), choropleth_layer(collection, MUNICIPAL_LAYER_ID),
              pdk.Layer("GeoJsonLayer", id=CHOSEN_OUTLINE_LAYER_ID, data=chosen, stroked=True, filled=False,
                        get_line_color=PREFECTURE_LINE, get_line_width=1, line_width_min_pixels=1.5, pickable=False)]
    records: list[dict] = []
    if show_points:
        records = point_records(points_df, measure)
        layers.append(point_layer(records, view))
    return _deck(layers, view, measure, basemap, height), breaks, records


def municipality_options(points: pd.DataFrame) -> dict[str, str]:
    """{municipality_code: '山形市（山形県）'} for the municipalities with activity, in the map's order."""
    df = points.dropna(subset=["municipality_code", "lat", "lng"]) if len(points) else points
    if df is None or len(df) == 0:
        return {}
    return {str(c): f"{m}（{p}）" for c, m, p in zip(df["municipality_code"], df["municipality"], df["prefecture"])}


def _selected_objects(event, layer_ids) -> list:
    try:
        selection = event["selection"] if isinstance(event, dict) else event.selection
        objects = selection["objects"] if isinstance(selection, dict) else selection.objects
    except (AttributeError, KeyError, TypeError):
        return []
    for layer_id in layer_ids:
        chosen = (objects or {}).get(layer_id) or []
        if chosen and isinstance(chosen[0], dict):
            return chosen
    return []


def _prop(obj: dict, name: str):
    if name in obj:
        return obj[name]
    props = obj.get("properties")
    return props.get(name) if isinstance(props, dict) else None


def selected_code(event, layer_ids=(MUNICIPAL_LAYER_ID, POINT_LAYER_ID)) -> str | None:
    """The municipality code of the clicked area or point in ``st.pydeck_chart(..., on_select=...)``'s value
    (``event.selection.objects[layer_id][0]``, a GeoJSON feature or a point record), or None."""
    chosen = _selected_objects(event, layer_ids)
    code = _prop(chosen[0], "municipality_code") if chosen else None
    return str(code) if code else None


def selected_prefecture(event, layer_ids=(PREFECTURE_LAYER_ID, MUNICIPAL_LAYER_ID)) -> str | None:
    """The prefecture name of the clicked prefecture (or municipality, in the national municipal view), or None."""
    chosen = _selected_objects(event, layer_ids)
    name = _prop(chosen[0], "prefecture") if chosen else None
    return str(name) if name else None


def map_title(measure: str, prefectures=()) -> str:
    """The map's own title (a cropped screenshot says what it shows)."""
    if not prefectures:
        return f"都道府県別の{SIZE_CHOICES[measure]}"
    return f"{'・'.join(prefectures)}の市区町村別の{SIZE_CHOICES[measure]}"


# ── tables under the map ────────────────────────────────────────────────────

def _s(v) -> str:
    return "" if is_missing(v) else str(v)


def engagements_table(df: pd.DataFrame) -> pd.DataFrame:
    """map_municipality_engagements rows for display."""
    def sessions(done, planned):
        if is_missing(planned):
            return fmt_int(done, "回")
        return f"{fmt_int(done)} / {fmt_int(planned, '回')}"
    return pd.DataFrame({
        "支援先": [_s(v) for v in df["client_name"]],
        "区分": [_s(v) for v in df["client_type"]],
        "支援種別": [_s(v) for v in df["support_type"]],
        "年度": [format_fiscal_year(int(v)) if not is_missing(v) else "" for v in df["fiscal_year"]],
        "コンソーシアム": [_s(v) or "—" for v in df["consortium"]],
        "担当ITC": [_s(v) for v in df["lead_coordinator"]],
        "開始日": [fmt_date(v) for v in df["start_date"]],
        "状況": [_s(v) for v in df["status"]],
        "実施回数 / 予定回数": [sessions(d, p) for d, p in zip(df["sessions_done"], df["planned_sessions"])],
        "最終実施日": [fmt_date(v) for v in df["last_session_date"]],
        "案件ID": [_s(v) for v in df["engagement_id"]],
    })


def consultations_table(df: pd.DataFrame) -> pd.DataFrame:
    """map_municipality_consultations rows for display."""
    return pd.DataFrame({
        "日付": [fmt_date(v) for v in df["date"]],
        "相談者": [_s(v) for v in df["client_name"]],
        "部署": [_s(v) for v in df["department"]],
        "テーマ": [_s(v) for v in df["theme"]],
        "相談内容（原文）": [_s(v) for v in df["theme_original"]],
        "方法": [_s(v) for v in df["channel"]],
        "担当": [_s(v) for v in df["coordinator"]],
        "概要": [_s(v) for v in df["summary"]],
    })


def points_table(points: pd.DataFrame) -> pd.DataFrame:
    """The municipalities on the map as a table (the map's data, readable without the map)."""
    return pd.DataFrame({
        "都道府県": [_s(v) for v in points["prefecture"]],
        "市区町村": [_s(v) or "（所在地不明）" for v in points["municipality"]],
        "案件数": [fmt_int(v, "件") for v in points["engagements"]],
        "伴走支援 実施回数": [fmt_int(v, "回") for v in points["sessions"]],
        "相談件数": [fmt_int(v, "件") for v in points["consultations"]],
        "支援先": [_s(v) for v in points["client_category"]],
    })


def prefecture_table(counts: pd.DataFrame) -> pd.DataFrame:
    """map_prefectures rows with any activity, one per prefecture in code order (the printed summary)."""
    df = counts[(counts["engagements"] > 0) | (counts["sessions"] > 0) | (counts["consultations"] > 0)]
    return pd.DataFrame({
        "都道府県": [_s(v) for v in df["prefecture"]],
        "案件数": [fmt_int(v, "件") for v in df["engagements"]],
        "伴走支援 実施回数": [fmt_int(v, "回") for v in df["sessions"]],
        "相談件数": [fmt_int(v, "件") for v in df["consultations"]],
    })
