"""Generic altair building blocks: named datasets, and the charts of the analyses (trends, crossovers).

Each figure is made in two steps: ``*_tables`` computes the tidy polars frames
the figure shows (data points, fitted curves, the chosen budget), and
``*_chart`` turns them into an altair chart.  Export writes both, so every
figure ships with the numbers behind it.  Nothing here fits, prints or writes.
"""

from __future__ import annotations

from collections.abc import Mapping

import altair as alt
import numpy as np
import polars as pl

LOG = alt.Scale(type="log")
SCI = alt.Axis(format=".0e", grid=False, tickCount=6)
HIGHLIGHT = "#d62728"  # a crossing, a chosen point


def named(name: str) -> alt.NamedData:
    """A dataset referenced by name; its rows are supplied with :func:`with_data` or a LiveChart."""
    return alt.NamedData(name=name)


def with_data(chart: alt.TopLevelMixin, tables: Mapping[str, pl.DataFrame]) -> dict:
    """The Vega-Lite spec of a chart over named datasets, with the tables filled in."""
    spec = chart.to_dict()
    spec["datasets"] = {name: df.to_dicts() for name, df in tables.items()}
    return spec


def trend_tables(trend, data) -> dict[str, pl.DataFrame]:
    """Frames behind a scaling-trend figure: the points, the fitted curve and its band."""
    law = trend.fit.law
    (var,) = law.variables
    return {
        "points": pl.DataFrame(
            {var: np.asarray(data[var], dtype=float), law.target: np.asarray(data[law.target], dtype=float)}
        ),
        "curve": pl.DataFrame({var: trend.grid, law.target: trend.curve, "low": trend.band[0], "high": trend.band[1]}),
    }


def trend_chart(
    tables: Mapping[str, pl.DataFrame], sentence: str, *, width: int = 420, height: int = 280
) -> alt.LayerChart:
    """Points, fitted curve and 95 % band, with the verdict written as the chart's subtitle."""
    curve = tables["curve"]
    var, target = curve.columns[0], curve.columns[1]
    x = alt.X(f"{var}:Q", scale=LOG, axis=SCI, title=var)
    band = (
        alt.Chart(curve)
        .mark_area(opacity=0.25, color="#4c78a8")
        .encode(x=x, y=alt.Y("low:Q", title=target), y2="high:Q")
    )
    line = alt.Chart(curve).mark_line(color="#4c78a8").encode(x=x, y=f"{target}:Q")
    pts = (
        alt.Chart(tables["points"])
        .mark_circle(size=40, color="black")
        .encode(x=x, y=alt.Y(f"{target}:Q", scale=alt.Scale(zero=False)))
    )
    return alt.layer(band, line, pts).properties(
        width=width, height=height, title=alt.TitleParams("scaling trend (fit and 95% band)", subtitle=[sentence])
    )


def crossover_chart(
    curves: Mapping[str, pl.DataFrame], result, *, width: int = 420, height: int = 280
) -> alt.LayerChart:
    """Two fitted curves (``curves[name]`` with the variable and ``loss``), the crossing and its CI."""
    frames = [df.with_columns(pl.lit(name).alias("method")) for name, df in curves.items()]
    data = pl.concat(frames)
    var = result.variable
    x = alt.X(f"{var}:Q", scale=LOG, axis=SCI, title=var)
    lines = alt.Chart(data).mark_line().encode(x=x, y=alt.Y("loss:Q", scale=alt.Scale(zero=False)), color="method:N")
    layers = [lines]
    if result.at is not None:
        layers.append(alt.Chart(pl.DataFrame({var: [result.at]})).mark_rule(color=HIGHLIGHT).encode(x=f"{var}:Q"))
        if result.ci is not None:
            band = pl.DataFrame({"lo": [result.ci[0]], "hi": [result.ci[1]]})
            layers.append(alt.Chart(band).mark_rect(opacity=0.15, color=HIGHLIGHT).encode(x="lo:Q", x2="hi:Q"))
    return alt.layer(*layers).properties(
        width=width, height=height, title=alt.TitleParams("crossover", subtitle=[result.summary])
    )
