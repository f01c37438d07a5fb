"""One visual language for tables, charts and the HTML report.

Colours are fixed per severity and per status so that a reader learns them once: red is a
failing check everywhere, the darkest red is *critical* everywhere. The plotly template ``zt``
carries the font, the colourway and a fixed figure size (static SVG in the report has no
responsive layout; a fixed width keeps legends from being clipped).

Examples
--------
>>> from zt_toolkit.report import theme
>>> theme.SEVERITY_COLORS["critical"]
'#7b0000'
>>> theme.register_template()   # idempotent; makes "plotly_white+zt" the default
"""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

FONT_FAMILY = "Liberation Sans, Arial, Helvetica, sans-serif"
FIGURE_WIDTH = 760
FIGURE_HEIGHT = 360

INK = "#1f2933"
MUTED = "#616e7c"
GRID = "#e4e7eb"
BRAND = "#123a6b"

SEVERITIES = ("critical", "high", "medium", "low", "info")
SEVERITY_COLORS = {
    "critical": "#7b0000",
    "high": "#d62728",
    "medium": "#f28e2b",
    "low": "#e9c46a",
    "info": "#9aa5b1",
}
SEVERITY_LABELS = {s: s.capitalize() for s in SEVERITIES}

# ``waived`` is not a finding status but an outcome: a failing finding covered by a waiver.
OUTCOMES = ("fail", "waived", "pass", "not_applicable", "not_assessed", "error")
STATUS_COLORS = {
    "pass": "#2e7d32",
    "fail": "#c62828",
    "waived": "#8e6cbf",
    "not_applicable": "#cfd8dc",
    "not_assessed": "#78909c",
    "error": "#5d4037",
}
STATUS_LABELS = {
    "pass": "Pass",
    "fail": "Fail",
    "waived": "Waived (accepted risk)",
    "not_applicable": "Not applicable",
    "not_assessed": "Not assessed",
    "error": "Error",
}

# Text colour that stays readable on each badge background.
_DARK_TEXT = {"low", "info", "not_applicable", "medium"}


def badge_style(value: str) -> str:
    """Inline CSS for a severity or status badge (inline so that it also shows in Jupyter)."""
    color = SEVERITY_COLORS.get(value) or STATUS_COLORS.get(value) or MUTED
    text = INK if value in _DARK_TEXT else "#ffffff"
    return (f"background:{color};color:{text};padding:1px 6px;border-radius:3px;"
            "font-weight:600;font-size:0.85em;white-space:nowrap")


TEMPLATE_NAME = "zt"


def build_template() -> go.layout.Template:
    """Build the ``zt`` plotly template (layered over ``plotly_white``)."""
    return go.layout.Template(
        layout=go.Layout(
            font={"family": FONT_FAMILY, "size": 12, "color": INK},
            title={"font": {"size": 15, "color": INK}, "x": 0.0, "xanchor": "left",
                   "y": 0.97, "yanchor": "top"},
            width=FIGURE_WIDTH,
            height=FIGURE_HEIGHT,
            margin={"l": 70, "r": 30, "t": 80, "b": 50, "pad": 2},
            paper_bgcolor="#ffffff",
            plot_bgcolor="#ffffff",
            colorway=[BRAND, "#1d5fa8", "#4c9be8", "#8e6cbf", "#2e7d32", "#f28e2b", "#9aa5b1"],
            legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "left",
                    "x": 0.0, "title": {"text": ""}, "font": {"size": 11}},
            xaxis={"gridcolor": GRID, "zerolinecolor": GRID, "automargin": True,
                   "title": {"font": {"size": 12, "color": MUTED}}},
            yaxis={"gridcolor": GRID, "zerolinecolor": GRID, "automargin": True,
                   "title": {"font": {"size": 12, "color": MUTED}}},
            hoverlabel={"font": {"family": FONT_FAMILY}},
            bargap=0.25,
        )
    )


def register_template() -> None:
    """Register the ``zt`` template and make ``plotly_white+zt`` the default (idempotent)."""
    pio.templates[TEMPLATE_NAME] = build_template()
    pio.templates.default = f"plotly_white+{TEMPLATE_NAME}"
