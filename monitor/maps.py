"""Builders for the 地図 page: municipality points (results of monitor/sql/map_points.sql) and the shipped prefecture
boundaries in, a ``pydeck.Deck`` out; pure helpers for the view, radii, colours and the basemap setting.

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

from monitor.format import fmt_date_short, fmt_int, format_fiscal_year
from monitor.plain import tooltip_text

ROOT = Path(__file__).resolve().parent.parent
BOUNDARIES_PATH = ROOT / "data" / "reference" / "prefectures.geojson"

POINT_LAYER_ID = "municipalities"
BOUNDARY_LAYER_ID = "prefecture-boundaries"

SIZE_CHOICES = {"engagements": "案件数", "sessions": "伴走支援 実施回数", "consultations": "相談件数"}
SIZE_UNITS = {"engagements": "件", "sessions": "回", "consultations": "件"}

CATEGORY_COMPANY = "企業"
CATEGORY_MUNICIPAL = "自治体"
CATEGORY_BOTH = "企業・自治体"
CATEGORY_OTHER = "その他"
COLORS: dict[str, list[int]] = {
    CATEGORY_COMPANY: [31, 95, 168],      # blue
    CATEGORY_MUNICIPAL: [224, 123, 57],   # orange
    CATEGORY_BOTH: [142, 94, 162],        # purple
    CATEGORY_OTHER: [107, 123, 140],      # grey
}
LEGEND_LABELS = {
    CATEGORY_COMPANY: "企業への支援",
    CATEGORY_MUNICIPAL: "自治体への支援",
    CATEGORY_BOTH: "企業・自治体の両方",
    CATEGORY_OTHER: "区分不明",
}
POINT_ALPHA = 200
MIN_RADIUS_PX = 5.0
MAX_RADIUS_PX = 28.0
ZERO_RADIUS_PX = 3.0          # a municipality with activity but none of the chosen kind
# up to this many points the radii above hold; more (1,737 municipalities at national scale) shrink them by
# sqrt(CROWD_POINTS / n), at most to CROWD_MIN_FACTOR, so the circles do not cover one another and the outlines
CROWD_POINTS = 300
CROWD_MIN_FACTOR = 0.4

# the map's size on screen: its height is set (st.pydeck_chart height); its width follows the page, so the view is
# fitted to a conservative width
MAP_HEIGHT = 520
MAP_WIDTH = 760
JAPAN_VIEW = {"latitude": 36.5, "longitude": 137.8, "zoom": 4.3}
MIN_ZOOM, MAX_ZOOM, SINGLE_POINT_ZOOM = 4.0, 10.5, 9.5

BASEMAP_STYLES = {"light": pdk.map_styles.CARTO_LIGHT, "dark": pdk.map_styles.CARTO_DARK,
                  "road": pdk.map_styles.CARTO_ROAD}
_BASEMAP_OFF = {"", "0", "none", "off", "false", "no", "なし"}
_BASEMAP_ON = {"1", "on", "true", "yes", "carto", "public", "あり"}

TOOLTIP_HTML = (
    "<b>{municipality}</b>（{prefecture}）<br/>"
    "市区町村: {municipality}<br/>"
    "都道府県: {prefecture}<br/>"
    "案件数: {engagements_label}<br/>"
    "伴走支援 実施回数: {sessions_label}<br/>"
    "相談件数: {consultations_label}<br/>"
    "支援先: {client_category}"
)


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

@lru_cache(maxsize=4)
def _boundaries_text(path: str, mtime_ns: int) -> str:
    return Path(path).read_text(encoding="utf-8")


def load_boundaries(path: str | os.PathLike | None = None) -> dict:
    """The shipped prefecture boundaries (GeoJSON FeatureCollection; properties prefecture_code, prefecture)."""
    p = Path(path) if path else BOUNDARIES_PATH
    return json.loads(_boundaries_text(str(p), p.stat().st_mtime_ns))


# ── pure helpers ────────────────────────────────────────────────────────────

def radius_px(values, *, min_px: float = MIN_RADIUS_PX, max_px: float = MAX_RADIUS_PX,
              zero_px: float = ZERO_RADIUS_PX) -> list[float]:
    """Point radius in pixels per value: area grows with the count (square-root scale) from ``min_px`` for the
    smallest positive count to ``max_px`` for the largest; zero or missing → ``zero_px``."""
    vals = [0.0 if v is None or pd.isna(v) else max(0.0, float(v)) for v in values]
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


def category_color(category, alpha: int = POINT_ALPHA) -> list[int]:
    rgb = COLORS.get(category if isinstance(category, str) else CATEGORY_OTHER, COLORS[CATEGORY_OTHER])
    return [*rgb, alpha]


def legend_items(categories=None) -> list[tuple[str, str, str]]:
    """[(category, label, '#rrggbb')] for the legend, in a fixed order: 企業, 自治体 and 企業・自治体 always (so the
    third colour is explained even before it appears), その他 only when ``categories`` holds it (or is None)."""
    wanted = set(categories) if categories is not None else None
    items = []
    for cat, rgb in COLORS.items():
        if cat == CATEGORY_OTHER and wanted is not None and cat not in wanted:
            continue
        items.append((cat, LEGEND_LABELS[cat], "#%02x%02x%02x" % tuple(rgb)))
    return items


def legend_markdown(categories=None) -> str:
    """The legend as Markdown with coloured dots (Streamlit renders :color[...] only for named colours, so a
    small inline HTML span is used)."""
    parts = [f"<span style='color:{hexcol}'>●</span> {label}" for _, label, hexcol in legend_items(categories)]
    return "凡例（色＝支援先の区分）: " + "　".join(parts)


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


def point_records(points: pd.DataFrame, size_by: str = "engagements") -> list[dict]:
    """Layer data: one JSON-safe dict per municipality with coordinates, counts (and their Japanese labels for the
    tooltip), the client category, colour and radius. Rows without coordinates are left out."""
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
        cat = r.get("client_category")
        cat = cat if isinstance(cat, str) else CATEGORY_OTHER
        counts = {k: int(0 if pd.isna(r.get(k)) else r.get(k)) for k in SIZE_CHOICES}
        out.append({
            "municipality_code": str(r["municipality_code"]),
            # the tooltip template is HTML and deck.gl inserts the values as they are
            "municipality": tooltip_text(r["municipality"]),
            "prefecture": tooltip_text(r["prefecture"]),
            "lat": float(r["lat"]),
            "lng": float(r["lng"]),
            **counts,
            "engagements_label": fmt_int(counts["engagements"], "件"),
            "sessions_label": fmt_int(counts["sessions"], "回"),
            "consultations_label": fmt_int(counts["consultations"], "件"),
            "client_category": tooltip_text(cat),
            "color": category_color(cat),
            "radius": float(radii[i]),
        })
    return out


# ── the deck ────────────────────────────────────────────────────────────────

def boundary_layer(boundaries_geojson: dict, *, filled: bool = True) -> pdk.Layer:
    """Prefecture outlines; filled with a light land colour when there is no basemap (outlines only over one)."""
    return pdk.Layer(
        "GeoJsonLayer",
        id=BOUNDARY_LAYER_ID,
        data=boundaries_geojson,
        stroked=True,
        filled=filled,
        get_fill_color=[236, 240, 245, 255],
        get_line_color=[120, 130, 145, 255],
        get_line_width=1,              # metres; drawn at least 1 px wide (a "pixels" unit draws wrongly in
        line_width_min_pixels=1,       # Streamlit's deck.gl, so sizes are given in metres with pixel bounds)
        pickable=False,
    )


def metres_per_pixel(latitude: float, zoom: float) -> float:
    """Ground metres per screen pixel at ``latitude`` and deck.gl ``zoom`` (512-px Web Mercator tiles)."""
    return 40_075_016.686 * math.cos(math.radians(latitude)) / (512 * 2 ** zoom)


def point_layer(records: list[dict], view: pdk.ViewState | None = None) -> pdk.Layer:
    """Points sized in metres so that, at the initial ``view``, each is ``radius`` pixels across (Streamlit's
    deck.gl draws ``radiusUnits: 'pixels'`` wrongly — every point fills the map); zooming scales them like the
    map, bounded to 2–60 px."""
    scale = metres_per_pixel(view.latitude, view.zoom) if view is not None else 1.0
    return pdk.Layer(
        "ScatterplotLayer",
        id=POINT_LAYER_ID,
        data=records,
        get_position=["lng", "lat"],
        get_fill_color="color",
        get_radius="radius",
        radius_scale=round(scale, 3),
        radius_min_pixels=2,
        radius_max_pixels=60,
        stroked=True,
        get_line_color=[255, 255, 255, 230],
        line_width_min_pixels=1,
        pickable=True,
        auto_highlight=True,
    )


def build_map(points_df: pd.DataFrame, boundaries_geojson: dict, size_by: str = "engagements",
              basemap: str | None = None, *, width: int = MAP_WIDTH, height: int = MAP_HEIGHT) -> pdk.Deck:
    """The 地図 deck: prefecture boundaries (GeoJsonLayer, so the map reads without a basemap) under one point per
    municipality (ScatterplotLayer, id 'municipalities'), sized by ``size_by`` (engagements / sessions /
    consultations) and coloured by client category; Japanese tooltips; the view fits the points.
    ``basemap``: None (no basemap, no network) or 'light' / 'dark' / 'road' (public Carto tiles)."""
    records = point_records(points_df, size_by)
    view = fit_view(pd.DataFrame(records) if records else pd.DataFrame(columns=["lat", "lng"]),
                    width=width, height=height)
    style_kwargs: dict = {"map_provider": None}        # keeps pydeck's '__MAP_STYLE__' sentinel → no basemap
    if basemap:
        style_kwargs = {"map_provider": "carto", "map_style": BASEMAP_STYLES.get(basemap, pdk.map_styles.CARTO_LIGHT)}
    return pdk.Deck(
        layers=[boundary_layer(boundaries_geojson, filled=not basemap), point_layer(records, view)],
        initial_view_state=view,
        tooltip={"html": TOOLTIP_HTML,
                 "style": {"backgroundColor": "#1c2430", "color": "#ffffff", "fontSize": "13px",
                           "fontFamily": "Noto Sans CJK JP, Noto Sans JP, sans-serif"}},
        height=height,
        **style_kwargs,
    )


def municipality_options(points: pd.DataFrame) -> dict[str, str]:
    """{municipality_code: '山形市（山形県）'} for the points on the map, in the map's order."""
    df = points.dropna(subset=["municipality_code", "lat", "lng"]) if len(points) else points
    if df is None or len(df) == 0:
        return {}
    return {str(c): f"{m}（{p}）" for c, m, p in zip(df["municipality_code"], df["municipality"], df["prefecture"])}


def selected_code(event, layer_id: str = POINT_LAYER_ID) -> str | None:
    """The municipality code of the clicked point in ``st.pydeck_chart(..., on_select='rerun')``'s return value
    (``event.selection.objects[layer_id][0]``), or None."""
    try:
        selection = event["selection"] if isinstance(event, dict) else event.selection
        objects = selection["objects"] if isinstance(selection, dict) else selection.objects
        chosen = objects.get(layer_id) or []
    except (AttributeError, KeyError, TypeError):
        return None
    if not chosen:
        return None
    code = chosen[0].get("municipality_code") if isinstance(chosen[0], dict) else None
    return str(code) if code else None


# ── tables under the map ────────────────────────────────────────────────────

def _s(v) -> str:
    return "" if v is None or v is pd.NA or (isinstance(v, float) and pd.isna(v)) else str(v)


def engagements_table(df: pd.DataFrame) -> pd.DataFrame:
    """map_municipality_engagements rows for display."""
    def sessions(done, planned):
        if planned is None or pd.isna(planned):
            return fmt_int(done, "回")
        return f"{fmt_int(done)} / {fmt_int(planned, '回')}"
    return pd.DataFrame({
        "支援先": [_s(v) for v in df["client_name"]],
        "区分": [_s(v) for v in df["client_type"]],
        "支援種別": [_s(v) for v in df["support_type"]],
        "年度": [format_fiscal_year(int(v)) if not pd.isna(v) else "" for v in df["fiscal_year"]],
        "コンソーシアム": [_s(v) or "—" for v in df["consortium"]],
        "担当ITC": [_s(v) for v in df["lead_coordinator"]],
        "開始日": [fmt_date_short(v) for v in df["start_date"]],
        "状況": [_s(v) for v in df["status"]],
        "実施回数 / 予定回数": [sessions(d, p) for d, p in zip(df["sessions_done"], df["planned_sessions"])],
        "最終実施日": [fmt_date_short(v) for v in df["last_session_date"]],
        "案件ID": [_s(v) for v in df["engagement_id"]],
    })


def consultations_table(df: pd.DataFrame) -> pd.DataFrame:
    """map_municipality_consultations rows for display."""
    return pd.DataFrame({
        "日付": [fmt_date_short(v) for v in df["date"]],
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
