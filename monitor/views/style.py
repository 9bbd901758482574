"""The one chart style of every page and the report: font, colours (the programme blue, the palette, the consortium
colours, the status colours), the layout every figure gets (``style_figure`` on screen, ``report_figure`` for the
報告's printed and exported charts) and the fast figure construction (``figure_from_spec``). A leaf module: it
imports nothing from monitor/ but monitor.plain and monitor.format, so every view (and the print layout's CSS) may use it."""
from __future__ import annotations

import re
from functools import lru_cache

import plotly.graph_objects as go
import plotly.io as pio

from monitor.format import is_missing
from monitor.plain import plotly_text

FONT = "Noto Sans CJK JP, Noto Sans JP, Hiragino Sans, Meiryo, sans-serif"
BLUE = "#1f5fa8"             # the programme's blue: the first series, the print header's rule, a bar without status
ORANGE, GREEN, PURPLE, RED, GREY, OCHRE = "#e07b39", "#3a9a5b", "#8e5ea2", "#c23b3b", "#6b7b8c", "#b8a037"
LIGHT_BLUE = "#c6dbef"       # what is planned, beside what was done (報告's 予定回数)

# One colour per concept, on every page and in the report: a reader who learnt "orange = 自治体" in one chart reads
# it so in the next. Charts of these concepts take their colour from here, never from a palette by position.
COMPANY = BLUE               # 企業・伴走支援 (sessions, companies, engagements)
PLANNED = LIGHT_BLUE         # 予定 (planned sessions) beside what was done
MUNICIPALITY = ORANGE        # 自治体・相談 (consultations, municipal support, 自治体向けテーマ)
SEMINAR = GREEN              # セミナー・研修 (events, attendees)
BANK = OCHRE                 # 金融機関同行
BANK_RATE = "#7a6a12"        # 金融機関同行率 (a line over the bank bars: the same hue, darker)
COMMON = PURPLE              # 共通テーマ (both audiences)
UNKNOWN = "#9aa5b1"          # 未分類・不明
CONCEPT_COLOURS = {"企業": COMPANY, "予定": PLANNED, "自治体": MUNICIPALITY, "セミナー": SEMINAR, "金融機関同行": BANK,
                   "共通": COMMON}
# Named categories of one chart (consortia, themes): told apart by the legend, in hues none of the concepts above
# uses, so a consortium's or a theme's bar is never mistaken for 企業 or 自治体. CATEGORY_PALETTE[i % len(...)].
CATEGORY_PALETTE = ["#17877b", "#c2467e", "#7f8c1f", "#8c564b", "#2bb5c9", "#3f3d99", "#e08fb0", "#c9a27e",
                    "#4a4a4a", "#9c2f2f", "#5c8a3a", "#a05195"]
OTHER_CATEGORY = "#b0b8c1"   # その他 (the categories left out of a chart, summed)
# kept for callers that colour "the n-th series": the category palette (never a concept colour by position)
PALETTE = CATEGORY_PALETTE
NO_CONSORTIUM = "コンソーシアム外"
# more consortia than this (47 at national scale): the per-consortium charts become heatmaps, one row per consortium,
# instead of bar groups or funnel panels that no one can read side by side
MANY_CONSORTIA = 6
HEATMAP_ROW_PX = 26          # one consortium's row in those heatmaps
RATE_COLORS = [[0.0, RED], [0.5, "#f7f7f7"], [1.0, BLUE]]     # achievement: below 100 % red, above blue
# the seven 伴走支援 stages: an ordered scale whose neighbours differ in hue and lightness (viridis), so each stage
# reads apart from the next on a white background, unlike seven shades of one blue
STAGE_COLORS = ["#440154", "#443983", "#31688e", "#21918c", "#35b779", "#90d743", "#fde725"]
STATUS_COLOURS = {"on": "#2e7d32", "watch": "#b26a00", "behind": "#c62828", "done": "#2e7d32", "missed": "#c62828"}
# A hover box in neutral colours: by default plotly fills it with the trace's colour, which in a chart of several
# categories can look like another category's legend colour.
HOVERLABEL = {"bgcolor": "#ffffff", "bordercolor": "#6b7b8c", "font": {"color": "#1c2430", "family": FONT}}
SEPARATORS = ".,"            # decimal point, 桁区切り (plotly's layout.separators: 12,345.6)
SMALL_COUNT_MAX = 20         # a count axis up to this: whole-number ticks by a fixed step (no 0.5, no 0, 1, 1, 2)
TEMPLATE = "plotly_white"


SUBTITLE_WIDTH = 44          # a subtitle line at most this wide (a full-width character counts 1, others 0.55)
SUBTITLE_LINE_PX = 16        # each line more moves the plot down by this


def _text_width(text: str) -> float:
    return sum(1.0 if ord(ch) > 0x2E7F else 0.55 for ch in text)


def subtitle_lines(context: str) -> list[str]:
    """The context on lines of at most SUBTITLE_WIDTH, broken only between its ｜-separated parts (so a part such as
    「データ基準日: 2025年2月28日」 is never split): plotly does not wrap a subtitle, and in a 1,024-pixel window a
    one-line context was cut off after 支援種別, losing the as-of date."""
    lines: list[str] = []
    for part in str(context).split("｜"):
        if lines and _text_width(lines[-1] + "｜" + part) <= SUBTITLE_WIDTH:
            lines[-1] += "｜" + part
        else:
            lines.append(part)
    return lines or [""]


def subtitle_text(context: str) -> str:
    """The subtitle as plotly text: each line made plain (record text may hold markup), joined by <br>."""
    return "<br>".join(plotly_text(line) for line in subtitle_lines(context))


def subtitle_extra_px(context: str) -> int:
    """What the title area needs beyond one subtitle line (add it to a figure's own top margin)."""
    return SUBTITLE_LINE_PX * (len(subtitle_lines(context)) - 1)


def style_figure(fig: go.Figure, title: str, context: str, *, height: int = 420,
                 legend_y: float = -0.25, legend_anchor: str = "bottom") -> go.Figure:
    """The on-screen look of every chart: the title says what it shows, the subtitle its context (filters, as-of)."""
    fig.update_layout(
        # the context names filter values (consortia, people): plotly would read markup in them
        title={"text": plotly_text(title), "subtitle": {"text": subtitle_text(context)}, "x": 0.0, "xanchor": "left"},
        font={"family": FONT, "size": 13},
        height=height + subtitle_extra_px(context),
        margin={"l": 10, "r": 10, "t": 80 + subtitle_extra_px(context), "b": 10},
        legend={"orientation": "h", "yanchor": legend_anchor, "y": legend_y, "x": 0},
        separators=SEPARATORS, hoverlabel=HOVERLABEL,
    )
    set_template(fig, TEMPLATE)
    return apply_axis_rules(fig)


def style_layout(title: str, context: str, *, height: int = 420, legend_y: float = -0.25,
                 legend_anchor: str = "bottom") -> dict:
    """What ``style_figure`` sets, as plain plotly JSON (a new dict each call) for ``figure_from_spec``; the builder
    passes its finished data and layout through ``spec_axis_rules`` (the axis rules need the data)."""
    return {
        "title": {"text": plotly_text(title), "subtitle": {"text": subtitle_text(context)}, "x": 0.0, "xanchor": "left"},
        "font": {"family": FONT, "size": 13},
        "height": height + subtitle_extra_px(context),
        "margin": {"l": 10, "r": 10, "t": 80 + subtitle_extra_px(context), "b": 10},
        "legend": {"orientation": "h", "yanchor": legend_anchor, "y": legend_y, "x": 0},
        "separators": SEPARATORS, "hoverlabel": {**HOVERLABEL, "font": dict(HOVERLABEL["font"])},
        "template": _template_json(TEMPLATE),
    }


@lru_cache(maxsize=8)
def _template_json(name: str) -> dict:
    return pio.templates[name].to_plotly_json()


def figure_from_spec(data: list[dict], layout: dict) -> go.Figure:
    """A Figure from plain plotly JSON (what ``fig.to_dict()`` returns: full property names, nested dicts, plain
    lists), without plotly's property-by-property validation, which costs more than anything else in building a
    small chart (figures: docs/performance.md, "Notes from earlier measurements"). For the charts a page
    redraws on every filter change; tests/test_charts.py checks that each spec is what the validating constructor
    makes of it. The figure gets its own copy of ``data`` and ``layout``; later changes to it (update_layout, …) are
    validated as usual."""
    fig = go.Figure({"data": data, "layout": layout}, _validate=False)
    fig._validate = True                 # only the construction skips validation (children inherit the flag)
    fig.layout._validate = True
    for trace in fig.data:
        trace._validate = True
    return fig


def set_template(fig: go.Figure, name: str) -> None:
    """``fig.layout.template = name`` for a template registered in plotly.io.templates, assigned the way plotly
    assigns its own default template: without validating it again. Validating copies the whole template property by
    property (more than building the figure's traces; docs/performance.md); the result is the same."""
    template = pio.templates[name]
    layout = fig.layout
    if not getattr(fig, "_allow_disable_validation", False):      # e.g. a FigureWidget: the ordinary way
        layout.template = template
        return
    validate = layout._validate
    layout._validate = False
    try:
        layout.template = template
    finally:
        layout._validate = validate


def consortium_label(v) -> str:
    return NO_CONSORTIUM if is_missing(v) else str(v)


def colorbar_len(rows: int) -> float:
    """A heatmap's colour bar about 300 pixels tall (a fraction of the plot), however many rows it has."""
    return min(1.0, 300 / (HEATMAP_ROW_PX * rows))


def report_figure(fig: go.Figure, title: str, context: str, *, height: int = 420) -> go.Figure:
    """The look of the 報告's charts (printed A4 landscape and exported as PNG): a larger font and margins, the legend
    at the bottom of the image. Title says what the chart shows; the subtitle carries the context (年度, 対象, data
    as-of, sample)."""
    fig.update_layout(
        # record text (consortia, companies) reaches titles and labels: plotly would read markup in it
        title={"text": plotly_text(title), "subtitle": {"text": subtitle_text(context)}, "x": 0.01, "xanchor": "left"},
        font={"family": FONT, "size": 14},
        height=height + subtitle_extra_px(context),
        margin={"l": 20, "r": 30, "t": 90 + subtitle_extra_px(context), "b": 60},
        legend={"orientation": "h", "yref": "container", "y": 0.0, "yanchor": "bottom", "x": 0.0, "xanchor": "left"},
        template=TEMPLATE, separators=SEPARATORS, hoverlabel=HOVERLABEL,
    )
    return apply_axis_rules(fig)


# ── axis ticks: round numbers, 桁区切り, no SI "k", whole numbers for counts ─────────────────────────────────────

_AXIS_NAME = re.compile(r"^([xy])axis(\d*)$")
_NO_NUMBER = {"category", "multicategory", "date"}


def _get(obj, key):
    if isinstance(obj, dict):
        return obj.get(key)
    try:
        return getattr(obj, key)
    except AttributeError:
        return None


def _numbers(values) -> list[float]:
    if values is None or isinstance(values, str):
        return []
    out = []
    for v in list(values):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v:       # NaN ≠ NaN
            continue
        out.append(float(v))
    return out


def count_step(top: float) -> int | None:
    """The tick step of a count axis whose values reach ``top``: 1, 2 or 5 while ``top`` ≤ SMALL_COUNT_MAX (about
    four to six ticks, all whole numbers), else None (plotly's own round steps are whole numbers there)."""
    if top > SMALL_COUNT_MAX:
        return None
    for step in (1, 2, 5):
        if top / step <= 6:
            return step
    return 5


def _axis_tops(data, layout) -> dict[str, float]:
    """The largest value drawn on each axis ('x', 'y2', …), stacked bars summed per category."""
    stacked = _get(layout, "barmode") in ("stack", "relative")
    tops: dict[str, float] = {}
    sums: dict[tuple[str, object], float] = {}
    for t in data:
        kind = _get(t, "type")
        if kind not in ("bar", "scatter", "histogram", "box"):
            continue
        xa = "x" + (str(_get(t, "xaxis") or "x")[1:])
        ya = "y" + (str(_get(t, "yaxis") or "y")[1:])
        horizontal = _get(t, "orientation") == "h"
        cats, values, axis = (_get(t, "y"), _get(t, "x"), xa) if horizontal else (_get(t, "x"), _get(t, "y"), ya)
        nums = _numbers(values)
        if kind == "bar" and stacked and cats is not None and not isinstance(cats, str):
            for c, v in zip(list(cats), list(values if values is not None else [])):
                if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v:
                    key = (axis, c if not isinstance(c, list) else tuple(c))
                    sums[key] = sums.get(key, 0.0) + max(0.0, float(v))
        elif nums:
            tops[axis] = max(tops.get(axis, 0.0), max(abs(v) for v in nums))
    for (axis, _c), v in sums.items():
        tops[axis] = max(tops.get(axis, 0.0), v)
    return tops


def axis_rules(data, layout) -> dict[str, dict]:
    """What every numeric axis of a chart gets, as {axis name: properties} (layout.update keys): 桁区切り and no
    SI prefix (10,000, never 10k), an overlaying axis with its own round ticks (plotly's default for it, 'sync',
    copies the main axis's tick positions: 1,670 / 3,341 / 5,011), and a count axis (tickformat ',d') with few
    values a whole-number step (',d' alone would round 0.5 steps to 0, 1, 1, 2, 2)."""
    tops = _axis_tops(data, layout)
    names = [k for k in (layout if isinstance(layout, dict) else layout.to_plotly_json()) if _AXIS_NAME.match(k)]
    for default in ("xaxis", "yaxis"):
        if default not in names:
            names.append(default)
    out: dict[str, dict] = {}
    for name in names:
        axis = _get(layout, name) or {}
        if isinstance(axis, dict):
            get = axis.get
        else:
            def get(k, _a=axis):
                return _get(_a, k)
        if get("type") in _NO_NUMBER:
            continue
        rules: dict = {"exponentformat": "none", "separatethousands": True}
        if get("overlaying") and get("tickmode") in (None, "sync") and get("dtick") is None:
            rules["tickmode"] = "auto"
        letter, number = _AXIS_NAME.match(name).groups()
        if get("tickformat") == ",d" and get("dtick") is None and get("tickvals") is None:
            step = count_step(tops.get(letter + number, 0.0))
            if step is not None:
                rules.update({"tickmode": "linear", "tick0": 0, "dtick": step})
        out[name] = rules
    return out


def apply_axis_rules(fig: go.Figure) -> go.Figure:
    """``axis_rules`` on a Figure (style_figure and report_figure call it, so every chart gets it), and the same
    number format on the colour bars of its heatmaps and choropleths."""
    fig.update_layout(axis_rules(fig.data, fig.layout))
    for trace in fig.data:
        if _get(trace, "type") in ("heatmap", "choropleth", "choroplethmap", "choroplethmapbox"):
            trace.update(colorbar={"exponentformat": "none", "separatethousands": True})
    return fig


def spec_axis_rules(data: list[dict], layout: dict) -> dict:
    """``axis_rules`` merged into a plain-JSON ``layout`` (for ``figure_from_spec``); returns the layout."""
    for name, rules in axis_rules(data, layout).items():
        layout[name] = {**(layout.get(name) or {}), **rules}
    for trace in data:
        if trace.get("type") == "heatmap":
            trace["colorbar"] = {**trace.get("colorbar", {}), "exponentformat": "none", "separatethousands": True}
    return layout


def count_axis(**extra) -> dict:
    """A value axis of counts: from zero, whole numbers with 桁区切り (``axis_rules`` adds the step for few values)."""
    return {"rangemode": "tozero", "tickformat": ",d", **extra}


# ── months after the data's as-of date ──────────────────────────────────────────────────────────────────────────

NOT_YET = "未到来"


def future_months(months, as_of) -> list[bool]:
    """For each month (a date, the first of the month or any day in it), True when it starts after ``as_of`` (the
    data's as-of date): nothing can have been recorded there yet, so a chart draws no bar and no 0 for it."""
    if as_of is None:
        return [False] * len(list(months))
    import pandas as pd  # noqa: PLC0415  (the leaf module stays light for the print layout's CSS)
    limit = pd.Timestamp(as_of).normalize()
    out = []
    for m in months:
        ts = pd.Timestamp(m)
        out.append(pd.Timestamp(ts.year, ts.month, 1) > limit)
    return out


def not_yet_band(labels: list[str], future: list[bool], *, yref: str = "paper") -> tuple[list[dict], list[dict]]:
    """(shapes, annotations) that grey out the months of a category axis ``labels`` marked ``future`` and label
    them 未到来; none when no month is in the future."""
    idx = [i for i, f in enumerate(future) if f]
    if not idx:
        return [], []
    x0, x1 = idx[0] - 0.5, idx[-1] + 0.5
    shapes = [{"type": "rect", "xref": "x", "yref": yref, "x0": x0, "x1": x1, "y0": 0, "y1": 1,
               "fillcolor": "#eef1f5", "line": {"width": 0}, "layer": "below"}]
    notes = [{"x": (x0 + x1) / 2, "xref": "x", "y": 1, "yref": yref, "yanchor": "bottom", "showarrow": False,
              "text": f"{NOT_YET}（データ基準日より後）" if len(idx) > 2 else NOT_YET,
              "font": {"size": 12, "color": "#6b7b8c"}}]
    return shapes, notes


# ── the plotly mode bar in Japanese ─────────────────────────────────────────────────────────────────────────────

# plotly.js looks every mode-bar title and message up in config.locales[locale].dictionary (its own ja locale is
# not in Streamlit's bundle, so the dictionary travels with the chart's config); format: dates and numbers.
MODEBAR_JA = {
    "Zoom": "ズーム", "Pan": "移動", "Zoom in": "拡大", "Zoom out": "縮小", "Autoscale": "全体を表示",
    "Reset axes": "軸を元に戻す", "Reset view": "表示を元に戻す", "Reset views": "表示を元に戻す", "Reset": "元に戻す",
    "Box Select": "矩形で選択", "Lasso Select": "投げ縄で選択",
    "Download plot as a PNG": "PNG画像として保存", "Download plot": "画像として保存",
    "Download plot as JSON": "JSONとして保存",
    "Preparing image - this may take a few seconds": "画像を準備しています（数秒かかることがあります）",
    "Image download succeeded": "画像を保存しました",
    "Sorry, there was a problem downloading your image!": "画像を保存できませんでした",
    "Show closest data on hover": "マウス位置に最も近いデータを表示", "Compare data on hover": "データを比較して表示",
    "Toggle show closest data on hover": "近いデータの表示を切り替え", "Toggle Spike Lines": "補助線の表示を切り替え",
    "Double-click to zoom back out": "ダブルクリックで元の表示に戻ります",
    "Double-click on legend to isolate one trace": "凡例をダブルクリックすると、その系列だけを表示します",
    "Produced with Plotly.js": "Plotly.js で作成",
    # Streamlit adds this button itself, outside plotly's dictionary: monitor/ui.py's CSS relabels it
    "Fullscreen": "全画面表示", "Close fullscreen": "全画面表示を終了",
}
PLOTLY_LOCALE_JA = {
    "dictionary": MODEBAR_JA,
    "format": {
        "days": ["日曜日", "月曜日", "火曜日", "水曜日", "木曜日", "金曜日", "土曜日"],
        "shortDays": ["日", "月", "火", "水", "木", "金", "土"],
        "months": [f"{m}月" for m in range(1, 13)],
        "shortMonths": [f"{m}月" for m in range(1, 13)],
        "date": "%Y/%m/%d",
        "decimal": ".", "thousands": ",", "grouping": [3], "currency": ["¥", ""],
        "year": "%Y年", "month": "%Y年%-m月", "dayMonth": "%-m月%-d日", "dayMonthYear": "%Y年%-m月%-d日",
    },
}
# the buttons a manager needs (zoom a range, back to the whole, save a picture); the rest only confuse
MODEBAR_REMOVE = ["zoomIn2d", "zoomOut2d", "hoverClosestCartesian", "hoverCompareCartesian",
                  "toggleSpikelines", "sendDataToCloud"]


def chart_config() -> dict:
    """The plotly config of every chart on screen (``st.plotly_chart(config=...)``): the mode bar in Japanese, only
    the buttons that matter, no plotly logo; a new dict each call. Streamlit adds the box and lasso selection itself
    to a chart that takes clicks (on_select) and the full-screen button."""
    return {"locale": "ja", "locales": {"ja": PLOTLY_LOCALE_JA}, "displaylogo": False,
            "modeBarButtonsToRemove": list(MODEBAR_REMOVE),
            "toImageButtonOptions": {"format": "png", "scale": 2}}
