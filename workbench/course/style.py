"""One look for the whole course: colours, chart sizes, number formats and the widget helpers.

Every course module takes its colours, sizes, slider style, ``show`` and
``titled`` from here, so a figure in notebook 02 and one in notebook 12 read
alike, and changing the look is a one-line change.  Chart sizes are chosen
for a JupyterLab notebook column at a 1,400-pixel window (about 965 pixels
with the file browser open): a whole figure between 600 and 950 pixels wide
(tests/test_figures.py checks every figure), a main chart 640, two panels side
by side about 340 each.
"""

from __future__ import annotations

import re
import textwrap

import altair as alt
import ipywidgets as w

from workbench.viz.charts import named, with_data  # noqa: F401  (re-exported: every course module uses them)
from workbench.viz.explorer import SUBTITLE_CHARS

# -- colours ----------------------------------------------------------------------------------
RED = "#d62728"  # the student's choice: a budget, a split, a fitted range
GREY = "#8c8c8c"  # context: data not used, ranges, chance levels
BLUE = "#1f77b4"  # a fitted curve
ORANGE = "#ff7f0e"  # a second curve or a break
YOURS = RED

# -- axes --------------------------------------------------------------------------------------
LOG = alt.Scale(type="log")
SCI = alt.Axis(format=".0e", tickCount=6, labelOverlap="greedy", grid=False)

# -- sizes (pixels) -----------------------------------------------------------------------------
WIDTH = 640  # one main chart
PANEL = 340  # each of two panels side by side
THIRD = 300  # each of three panels side by side
HEIGHT = 320

# -- widgets -----------------------------------------------------------------------------------
SLIDER_STYLE = {"description_width": "190px"}
SLIDER_LAYOUT = w.Layout(width="600px")


def slider(kind, **kw):
    """A control in the course's style: label width, length, and no update while dragging."""
    return kind(style=SLIDER_STYLE, layout=SLIDER_LAYOUT, continuous_update=False, **kw)


def toggle(options, value, description: str, button_width: str = "260px") -> w.ToggleButtons:
    """A row of toggle buttons in the course's style (label width as the sliders')."""
    return w.ToggleButtons(
        options=options,
        value=value,
        description=description,
        style={"description_width": SLIDER_STYLE["description_width"], "button_width": button_width},
    )


def show(item) -> alt.JupyterChart:
    """A static figure (a course Figure, an altair chart or a spec) as an offline ``alt.JupyterChart`` widget."""
    chart = getattr(item, "chart", item)
    if isinstance(chart, dict):
        chart = alt.Chart.from_dict(chart)
    return alt.JupyterChart(chart, embed_options={"renderer": "svg", "actions": False})


def titled(chart, title: str = "", sentence: str = ""):
    """The chart with a title and the sentence wrapped under it (for static figures)."""
    if not title and not sentence:
        return chart
    return chart.properties(
        title=alt.TitleParams(title or " ", subtitle=textwrap.wrap(sentence, SUBTITLE_CHARS), anchor="start")
    )


# -- numbers -----------------------------------------------------------------------------------
def sig(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}g}"


def sci(x: float) -> str:
    """Plain for ordinary magnitudes, scientific for very large or small ones."""
    return f"{x:.2g}" if 1e-2 <= abs(x) < 1e4 else f"{x:.1e}"


def short(x: float, digits: int = 2) -> str:
    """``1e9``, ``3.2e-5``, ``1``: a number for a sentence."""
    text = f"{x:.{digits}g}"
    return re.sub(r"e([+-])0*(\d)", lambda m: "e" + ("-" if m.group(1) == "-" else "") + m.group(2), text)
