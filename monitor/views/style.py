"""The one chart style of every page and the report: font, colours (the programme blue, the palette, the consortium
colours, the status colours), the layout every figure gets (``style_figure`` on screen, ``report_figure`` for the
報告's printed and exported charts) and the fast figure construction (``figure_from_spec``). A leaf module: it
imports nothing from monitor/ but monitor.plain and monitor.format, so every view (and the print layout's CSS) may use it."""
from __future__ import annotations

from functools import lru_cache

import plotly.graph_objects as go
import plotly.io as pio

from monitor.format import is_missing
from monitor.plain import plotly_text

FONT = "Noto Sans CJK JP, Noto Sans JP, Hiragino Sans, Meiryo, sans-serif"
BLUE = "#1f5fa8"             # the programme's blue: the first series, the print header's rule, a bar without status
ORANGE, GREEN, PURPLE, RED, GREY, OCHRE = "#e07b39", "#3a9a5b", "#8e5ea2", "#c23b3b", "#6b7b8c", "#b8a037"
# one colour per consortium (or series), in the query's order; PALETTE[i % len(PALETTE)]
PALETTE = [BLUE, ORANGE, GREEN, PURPLE, RED, GREY, OCHRE]
LIGHT_BLUE = "#c6dbef"       # what is planned, beside what was done (報告's 予定回数)
NO_CONSORTIUM = "コンソーシアム外"
# more consortia than this (47 at national scale): the per-consortium charts become heatmaps, one row per consortium,
# instead of bar groups or funnel panels that no one can read side by side
MANY_CONSORTIA = 6
HEATMAP_ROW_PX = 26          # one consortium's row in those heatmaps
RATE_COLORS = [[0.0, RED], [0.5, "#f7f7f7"], [1.0, BLUE]]     # achievement: below 100 % red, above blue
STAGE_COLORS = [LIGHT_BLUE, "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b"]
STATUS_COLOURS = {"on": "#2e7d32", "watch": "#b26a00", "behind": "#c62828", "done": "#2e7d32", "missed": "#c62828"}
TEMPLATE = "plotly_white"


def style_figure(fig: go.Figure, title: str, context: str, *, height: int = 420,
                 legend_y: float = -0.25, legend_anchor: str = "bottom") -> go.Figure:
    """The on-screen look of every chart: the title says what it shows, the subtitle its context (filters, as-of)."""
    fig.update_layout(
        # the context names filter values (consortia, people): plotly would read markup in them
        title={"text": plotly_text(title), "subtitle": {"text": plotly_text(context)}, "x": 0.0, "xanchor": "left"},
        font={"family": FONT, "size": 13},
        height=height,
        margin={"l": 10, "r": 10, "t": 80, "b": 10},
        legend={"orientation": "h", "yanchor": legend_anchor, "y": legend_y, "x": 0},
    )
    set_template(fig, TEMPLATE)
    return fig


def style_layout(title: str, context: str, *, height: int = 420, legend_y: float = -0.25,
                 legend_anchor: str = "bottom") -> dict:
    """What ``style_figure`` sets, as plain plotly JSON (a new dict each call) for ``figure_from_spec``."""
    return {
        "title": {"text": plotly_text(title), "subtitle": {"text": plotly_text(context)}, "x": 0.0, "xanchor": "left"},
        "font": {"family": FONT, "size": 13},
        "height": height,
        "margin": {"l": 10, "r": 10, "t": 80, "b": 10},
        "legend": {"orientation": "h", "yanchor": legend_anchor, "y": legend_y, "x": 0},
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
        title={"text": plotly_text(title), "subtitle": {"text": plotly_text(context)}, "x": 0.01, "xanchor": "left"},
        font={"family": FONT, "size": 14},
        height=height,
        margin={"l": 20, "r": 30, "t": 90, "b": 60},
        legend={"orientation": "h", "yref": "container", "y": 0.0, "yanchor": "bottom", "x": 0.0, "xanchor": "left"},
        template=TEMPLATE,
    )
    return fig
