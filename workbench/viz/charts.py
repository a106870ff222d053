"""Altair charts of laws and data, built from plain tables.

Each figure is made in two steps: ``*_tables`` computes the tidy polars frames
the figure shows (data points, fitted curves, the chosen budget), and
``*_chart`` turns them into an altair chart.  Export writes both, so every
figure ships with the numbers behind it.  Nothing here fits, prints or writes.
"""

from __future__ import annotations

from typing import Mapping

import altair as alt
import numpy as np
import polars as pl

from workbench.analysis.compute_optimal import chinchilla_optimal
from workbench.laws import CHINCHILLA

LOG = alt.Scale(type="log")
SCI = alt.Axis(format=".0e", grid=False, tickCount=6)
BUDGET_COLOUR = "#d62728"


def _sci(x: float) -> str:
    return f"{x:.2g}" if 1e-2 <= abs(x) < 1e4 else f"{x:.1e}"


def chinchilla_tables(
    points: pl.DataFrame | None,
    values: Mapping[str, float],
    budget: float,
    *,
    budgets: np.ndarray | None = None,
    loss_levels: np.ndarray | None = None,
    n_range: tuple[float, float] | None = None,
) -> dict[str, pl.DataFrame]:
    """Frames behind the Chinchilla figure: points, iso-FLOP curves, iso-loss lines, frontier, budget.

    ``n_range`` defaults to a decade below the smallest model shown to two
    decades above the largest, so extrapolation is visible but not the whole story.
    """
    if n_range is None:
        n_range = (float(points["params"].min()) / 10, float(points["params"].max()) * 100) if points is not None else (1e7, 1e13)
    if budgets is None:
        budgets = np.geomspace(1e18, 1e24, 7)
    n = np.geomspace(*n_range, 60)
    iso = []
    for c in [*budgets, budget]:
        d = c / (6 * n)
        loss = CHINCHILLA.predict({"params": n, "tokens": d}, values)
        iso.append(pl.DataFrame({"flops": np.full(n.size, c), "params": n, "tokens": d, "loss": loss,
                                 "budget": [f"{c:.0e} FLOPs"] * n.size, "selected": [bool(c == budget)] * n.size}))
    isoflop = pl.concat(iso)
    E, A, B, alpha, beta = (values[k] for k in ("E", "A", "B", "alpha", "beta"))
    if loss_levels is None:
        loss_levels = E + np.array([0.15, 0.3, 0.5, 0.8, 1.2, 1.8, 2.6])
    lines = []
    for level in loss_levels:
        gap = level - E - A / n**alpha
        ok = gap > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            d = (B / gap[ok]) ** (1 / beta)
        keep = d < 1e16
        lines.append(pl.DataFrame({"params": n[ok][keep], "tokens": d[keep], "level": [f"L = {level:.2f}"] * int(keep.sum()),
                                   "loss": [float(level)] * int(keep.sum())},
                                  schema={"params": pl.Float64, "tokens": pl.Float64, "level": pl.String, "loss": pl.Float64}))
    isoloss = pl.concat(lines)
    frontier_c = np.geomspace(min(budgets.min(), budget), max(budgets.max(), budget), 60)
    f = chinchilla_optimal(values, frontier_c)
    frontier = pl.DataFrame({"flops": f.flops, "params": f.params, "tokens": f.tokens, "loss": f.loss})
    best = chinchilla_optimal(values, [budget])
    optimum = pl.DataFrame({"flops": [budget], "params": best.params, "tokens": best.tokens, "loss": best.loss,
                            "tokens_per_param": best.tokens_per_param})
    lo, hi = loss_range(points, values)
    isoflop = isoflop.filter(pl.col("loss").is_between(lo, hi))
    out = {"isoflop": isoflop, "isoloss": isoloss, "frontier": frontier, "optimum": optimum}
    if points is not None:
        out["points"] = points.select("run_id", "params", "tokens", "flops", "loss") if "run_id" in points.columns else points.select("params", "tokens", "flops", "loss")
    return out


def named(name: str) -> alt.NamedData:
    """A dataset referenced by name; its rows are supplied with :func:`with_data` or a LiveChart."""
    return alt.NamedData(name=name)


def with_data(chart: alt.TopLevelMixin, tables: Mapping[str, pl.DataFrame]) -> dict:
    """The Vega-Lite spec of a chart over named datasets, with the tables filled in."""
    spec = chart.to_dict()
    spec["datasets"] = {name: df.to_dicts() for name, df in tables.items()}
    return spec


def loss_range(points: pl.DataFrame | None, values: Mapping[str, float]) -> tuple[float, float]:
    """The loss axis of the Chinchilla figure: the data's range, or E to E + 4 without data."""
    if points is not None and points.height:
        return float(points["loss"].min()) - 0.25, float(points["loss"].max()) + 0.2
    return float(values["E"]) - 0.05, float(values["E"]) + 4.0


def chinchilla_chart(*, with_points: bool = True, title: str = "", width: int = 330, height: int = 280) -> alt.HConcatChart:
    """Two panels over named data (points, isoflop, isoloss, frontier, optimum; see chinchilla_tables):
    loss against N along iso-FLOP curves, and iso-loss lines in the (N, D) plane."""
    x_n = alt.X("params:Q", scale=LOG, axis=SCI, title="parameters N")
    y_loss = alt.Y("loss:Q", scale=alt.Scale(zero=False, nice=False), title="loss (nats/token)")
    curves = alt.Chart(named("isoflop")).transform_filter("!datum.selected").mark_line(strokeWidth=1, opacity=0.6).encode(
        x=x_n, y=y_loss, color=alt.Color("flops:Q", scale=alt.Scale(type="log", scheme="viridis"), title="FLOPs"),
        detail="budget:N")
    chosen = alt.Chart(named("isoflop")).transform_filter("datum.selected").mark_line(strokeWidth=3, color=BUDGET_COLOUR).encode(
        x="params:Q", y="loss:Q")
    star = alt.Chart(named("optimum")).mark_point(shape="diamond", size=140, filled=True, color=BUDGET_COLOUR).encode(
        x="params:Q", y="loss:Q", tooltip=["flops:Q", "params:Q", "tokens:Q", "loss:Q", "tokens_per_param:Q"])
    left_layers = [curves, chosen, star]
    right_layers = []
    if with_points:
        left_layers.insert(0, alt.Chart(named("points")).mark_circle(size=22, opacity=0.7).encode(
            x="params:Q", y="loss:Q", color=alt.Color("flops:Q", scale=alt.Scale(type="log", scheme="viridis")),
            tooltip=["params:Q", "tokens:Q", "flops:Q", "loss:Q"]))
        right_layers.append(alt.Chart(named("points")).mark_circle(size=18, opacity=0.5, color="#555").encode(
            x=alt.X("params:Q", scale=LOG), y=alt.Y("tokens:Q", scale=LOG), tooltip=["params:Q", "tokens:Q", "loss:Q"]))
    left = alt.layer(*left_layers).properties(width=width, height=height, title="iso-FLOP curves (fitted law)")
    isoloss = alt.Chart(named("isoloss")).mark_line(strokeWidth=1).encode(
        x=x_n, y=alt.Y("tokens:Q", scale=LOG, axis=SCI, title="tokens D"),
        color=alt.Color("loss:Q", scale=alt.Scale(scheme="plasma"), title="iso-loss"), detail="level:N")
    frontier = alt.Chart(named("frontier")).mark_line(strokeDash=[6, 3], color="black").encode(x="params:Q", y="tokens:Q")
    budget_line = alt.Chart(named("isoflop")).transform_filter("datum.selected").mark_line(color=BUDGET_COLOUR, strokeWidth=2).encode(
        x="params:Q", y="tokens:Q")
    star2 = alt.Chart(named("optimum")).mark_point(shape="diamond", size=140, filled=True, color=BUDGET_COLOUR).encode(
        x="params:Q", y="tokens:Q")
    right = alt.layer(isoloss, *right_layers, frontier, budget_line, star2).properties(
        width=width, height=height, title="iso-loss lines, compute-optimal frontier (dashed)")
    return alt.hconcat(left, right, title=title).resolve_scale(color="independent")


def describe_optimum(tables: Mapping[str, pl.DataFrame], domain: Mapping[str, tuple[float, float]] | None = None) -> str:
    """One sentence on the chosen budget's optimum, flagging extrapolation."""
    o = tables["optimum"].row(0, named=True)
    text = (f"C = {o['flops']:.2e} FLOPs: N_opt = {o['params']:.3g}, D_opt = {o['tokens']:.3g} "
            f"({o['tokens_per_param']:.1f} tokens/parameter), predicted loss {o['loss']:.4f}")
    if domain:
        beyond = []
        for var in ("params", "tokens"):
            lo, hi = domain[var]
            if o[var] > hi:
                beyond.append(f"{np.log10(o[var] / hi):.1f} decades beyond the largest {var} fitted")
            elif o[var] < lo:
                beyond.append(f"{np.log10(lo / o[var]):.1f} decades below the smallest {var} fitted")
        text += ("; extrapolates: " + ", ".join(beyond)) if beyond else "; inside the fitted data range"
    return text


def trend_tables(trend, data) -> dict[str, pl.DataFrame]:
    """Frames behind a scaling-trend figure: the points, the fitted curve and its band."""
    law = trend.fit.law
    (var,) = law.variables
    return {
        "points": pl.DataFrame({var: np.asarray(data[var], dtype=float), law.target: np.asarray(data[law.target], dtype=float)}),
        "curve": pl.DataFrame({var: trend.grid, law.target: trend.curve, "low": trend.band[0], "high": trend.band[1]}),
    }


def trend_chart(tables: Mapping[str, pl.DataFrame], sentence: str, *, width: int = 420, height: int = 280) -> alt.LayerChart:
    """Points, fitted curve and 95 % band, with the verdict written as the chart's subtitle."""
    curve = tables["curve"]
    var, target = curve.columns[0], curve.columns[1]
    x = alt.X(f"{var}:Q", scale=LOG, axis=SCI, title=var)
    band = alt.Chart(curve).mark_area(opacity=0.25, color="#4c78a8").encode(x=x, y=alt.Y("low:Q", title=target), y2="high:Q")
    line = alt.Chart(curve).mark_line(color="#4c78a8").encode(x=x, y=f"{target}:Q")
    pts = alt.Chart(tables["points"]).mark_circle(size=40, color="black").encode(x=x, y=alt.Y(f"{target}:Q", scale=alt.Scale(zero=False)))
    return alt.layer(band, line, pts).properties(
        width=width, height=height, title=alt.TitleParams("scaling trend (fit and 95% band)", subtitle=[sentence]))


def crossover_chart(curves: Mapping[str, pl.DataFrame], result, *, width: int = 420, height: int = 280) -> alt.LayerChart:
    """Two fitted curves (``curves[name]`` with the variable and ``loss``), the crossing and its CI."""
    frames = [df.with_columns(pl.lit(name).alias("method")) for name, df in curves.items()]
    data = pl.concat(frames)
    var = result.variable
    x = alt.X(f"{var}:Q", scale=LOG, axis=SCI, title=var)
    lines = alt.Chart(data).mark_line().encode(x=x, y=alt.Y("loss:Q", scale=alt.Scale(zero=False)), color="method:N")
    layers = [lines]
    if result.at is not None:
        layers.append(alt.Chart(pl.DataFrame({var: [result.at]})).mark_rule(color=BUDGET_COLOUR).encode(x=f"{var}:Q"))
        if result.ci is not None:
            band = pl.DataFrame({"lo": [result.ci[0]], "hi": [result.ci[1]]})
            layers.append(alt.Chart(band).mark_rect(opacity=0.15, color=BUDGET_COLOUR).encode(x="lo:Q", x2="hi:Q"))
    return alt.layer(*layers).properties(width=width, height=height,
                                         title=alt.TitleParams("crossover", subtitle=[result.summary]))
