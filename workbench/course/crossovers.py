"""Lesson 08: where two methods' fitted curves cross, and how sure we are."""

from __future__ import annotations

import dataclasses
import functools
import html
import math
import warnings

import altair as alt
import ipywidgets as w
import numpy as np
import polars as pl

from workbench import corpus
from workbench.course import Figure, explorer, explorer_figure, figure
from workbench.course.inputs import proxy_missing_message, proxy_results
from workbench.course.references import bib
from workbench.course.style import (
    GREY,
    LOG,
    RED,
    SCI,
    SLIDER_LAYOUT,
    SLIDER_STYLE,
    named,
)
from workbench.errors import WorkbenchError
from workbench.fit import DEFAULT_LEVEL, fit, percentile_interval
from workbench.laws import get_law
from workbench.viz.explorer import Explorer

HORIZON_MAX = 1e30  # crossings of bootstrap draws are searched up to here once; the horizon slider filters them


def compute_frontier(df: pl.DataFrame, x: str, y: str) -> pl.DataFrame:
    """Runs that beat every cheaper run (lower ``y`` than all runs with smaller ``x``): the compute-efficient
    frontier."""
    df = df.sort(x, y)
    best, keep = math.inf, []
    for v in df[y].to_list():
        keep.append(v < best)
        best = min(best, v)
    return df.filter(pl.Series(keep))


@dataclasses.dataclass(frozen=True, eq=False)  # hashed by identity: fits are cached per data object
class CrossoverData:
    """Two methods' points along one variable, and the fitted ranges a slider chooses between."""

    key: str
    names: tuple[str, str]
    variable: str  # law variable ("flops" or "params")
    axis_title: str
    metric_title: str
    runs: pl.DataFrame  # every run: method, x (= variable), y, frontier (bool)
    cuts: tuple[float, ...]  # upper ends of the fitted range (last = all data)
    horizons: tuple[float, float]  # slider range (log10) of the extrapolation horizon
    horizon: float
    bibtex: str
    title: str
    draws: int = 200


@functools.lru_cache(maxsize=1)
def clip_mammut_data() -> CrossoverData:
    """CLIP vs MaMMUT: ADE20K segmentation error (1 - mIoU) against training compute (Nezhurina et al. 2025)."""
    df = corpus.load("laion_clip_mammut", metric="miou").with_columns(
        (1 - pl.col("value")).alias("y"), pl.col("flops").alias("x")
    )
    parts = []
    for m in ("clip", "mammut"):
        g = df.filter(pl.col("condition") == m).select(
            pl.lit("CLIP" if m == "clip" else "MaMMUT").alias("method"), "x", "y", "params", "samples", "run_id"
        )
        front = compute_frontier(g, "x", "y").select("run_id", "x").with_columns(pl.lit(True).alias("frontier"))
        parts.append(g.join(front, on=["run_id", "x"], how="left").with_columns(pl.col("frontier").fill_null(False)))
    runs = pl.concat(parts)
    x_max = float(runs["x"].max())
    return CrossoverData(
        "clip-mammut",
        ("CLIP", "MaMMUT"),
        "flops",
        "training compute C (FLOPs)",
        "ADE20K error (1 − mIoU)",
        runs,
        (3e18, 1e19, 3e19, 1e20, 2e20, x_max),
        (20.0, 30.0),
        1e24,
        bib("laion_clip_mammut"),
        "CLIP vs MaMMUT: where do the fitted curves cross?",
    )


def proxy_crossover_data(pair: tuple[str, str] = ("mlp", "lstm")) -> CrossoverData | None:
    """Two architectures of the proxy preset ``crossover`` (final loss vs non-embedding parameters), if shipped.

    The preset trains fixed-window MLPs, LSTMs and (for reference) GPTs; its main pair is MLP vs LSTM.
    """
    df = proxy_results("crossover")
    if df is None:
        return None
    from workbench.proxies.results import final_losses

    f = final_losses(df).filter(pl.col("architecture").is_in(list(pair)))
    runs = f.select(
        pl.col("architecture").str.to_uppercase().alias("method"),
        pl.col("params").alias("x"),
        pl.col("loss").alias("y"),
        "params",
        "run_id",
    ).with_columns(pl.lit(True).alias("frontier"))
    if runs.height == 0:
        raise WorkbenchError(f"the shipped 'crossover' results have no {' or '.join(pair)} runs")
    x_max = float(runs["x"].max())
    names = tuple(a.upper() for a in pair)
    return CrossoverData(
        f"proxy-{pair[0]}-{pair[1]}",
        names,
        "params",
        "non-embedding parameters N",
        "validation loss (nats/byte)",
        runs,
        (x_max,),
        (math.log10(x_max), math.log10(x_max) + 4),
        10 * x_max,
        bib("2309.11197"),
        f"Proxies: {names[0]} vs {names[1]} on Python source",
    )


@functools.lru_cache(maxsize=32)
def crossover_fits(data: CrossoverData, cut: float):
    """Fits, bootstrap draws and every draw's first crossing for the frontier points with x <= cut (cached)."""
    from workbench.analysis.crossover import crossover

    law = get_law(f"power_offset_{data.variable}")
    fits = {}
    for name in data.names:
        pts = data.runs.filter((pl.col("method") == name) & pl.col("frontier") & (pl.col("x") <= cut * (1 + 1e-9)))
        pts = pts.select(pl.col("x").alias(data.variable), pl.col("y").alias("loss"))
        with warnings.catch_warnings():  # scipy's trust region warns on degenerate resamples; the draws still converge
            warnings.simplefilter("ignore", RuntimeWarning)
            fits[name] = fit(law, pts).bootstrap(draws=data.draws, seed=0)
    a, b = (fits[n] for n in data.names)
    lo = float(data.runs["x"].min())
    main = crossover(
        a, b, data.variable, lo, HORIZON_MAX, names=data.names, use_draws=True
    )  # each draw pair's crossing
    crossings, x = [], lo  # every crossing of the point fits, in order
    while True:
        c = crossover(a, b, data.variable, x, HORIZON_MAX, names=data.names)
        if c.at is None or len(crossings) >= 4:
            break
        crossings.append(c.at)
        x = c.at * (1 + 1e-6)
    return {"fits": fits, "first": main, "crossings": crossings, "draws": main.draws, "lo": lo}


def crossing_summary(data: CrossoverData, cut: float, horizon: float) -> dict:
    """The first crossing up to ``horizon``, its interval (at the fits' level) and the share of draws crossing by
    then."""
    r = crossover_fits(data, cut)
    at = r["first"].at if r["first"].at is not None and r["first"].at <= horizon else None
    d = r["draws"]
    inside = d[np.isfinite(d) & (d <= horizon)]
    share = inside.size / d.size if d.size else 0.0
    level = r["first"].level
    ci = tuple(float(v) for v in percentile_interval(inside, level)) if inside.size and at is not None else None
    later = [c for c in r["crossings"] if at is not None and at < c <= horizon]
    return {"at": at, "ci": ci, "level": level, "share": share, "lower_before": r["first"].lower_before, "later": later}


def crossover_tables(data: CrossoverData, cut: float, horizon: float) -> dict[str, pl.DataFrame]:
    r = crossover_fits(data, cut)
    lo = r["lo"]
    grid = np.geomspace(lo, max(horizon, cut), 240)
    curves = []
    y_top = 1.05 * float(data.runs["y"].max())
    for name in data.names:
        y = r["fits"][name].predict({data.variable: grid})
        curves.append(
            pl.DataFrame({"method": name, "x": grid, "y": y})
            .filter(pl.col("y") <= y_top)
            .with_columns(
                pl.when(pl.col("x") <= cut * (1 + 1e-9))
                .then(pl.lit("fit"))
                .otherwise(pl.lit("extrapolation"))
                .alias("part")
            )
        )
    s = crossing_summary(data, cut, horizon)
    cross = pl.DataFrame(
        {"x": [s["at"]] if s["at"] is not None else [], "label": ["crossing"] if s["at"] is not None else []},
        schema={"x": pl.Float64, "label": pl.String},
    )
    band = pl.DataFrame(
        {"lo": [s["ci"][0]] if s["ci"] else [], "hi": [s["ci"][1]] if s["ci"] else []},
        schema={"lo": pl.Float64, "hi": pl.Float64},
    )
    later = pl.DataFrame({"x": s["later"]}, schema={"x": pl.Float64})
    runs = data.runs.with_columns((pl.col("frontier") & (pl.col("x") <= cut * (1 + 1e-9))).alias("fitted"))
    params = pl.DataFrame(
        [
            {
                "method": n,
                **{k: float(v) for k, v in r["fits"][n].params.items()},
                **{f"{k}_lo": float(r["fits"][n].ci[k][0]) for k in r["fits"][n].params},
                **{f"{k}_hi": float(r["fits"][n].ci[k][1]) for k in r["fits"][n].params},
            }
            for n in data.names
        ]
    )
    return {
        "runs": runs,
        "curves": pl.concat(curves),
        "crossing": cross,
        "crossing_ci": band,
        "later_crossings": later,
        "window": pl.DataFrame({"lo": [lo], "hi": [cut]}),
        "fits": params,
    }


def crossover_live_chart(data: CrossoverData, width: int = 520, height: int = 320):
    x = alt.X("x:Q", scale=LOG, axis=SCI, title=data.axis_title)
    y = alt.Y("y:Q", scale=alt.Scale(zero=False, nice=False), title=data.metric_title)
    colour = alt.Color("method:N", scale=alt.Scale(domain=list(data.names), range=["#1f77b4", "#ff7f0e"]), title=None)
    window = alt.Chart(named("window")).mark_rect(color=GREY, opacity=0.10).encode(x="lo:Q", x2="hi:Q")
    band = alt.Chart(named("crossing_ci")).mark_rect(color=RED, opacity=0.15).encode(x="lo:Q", x2="hi:Q")
    others = (
        alt.Chart(named("runs"))
        .transform_filter("!datum.frontier")
        .mark_circle(size=10, opacity=0.25)
        .encode(x=x, y=y, color=colour)
    )
    front = (
        alt.Chart(named("runs"))
        .transform_filter("datum.frontier")
        .mark_point(size=30, filled=True)
        .encode(
            x="x:Q",
            y="y:Q",
            color=colour,
            opacity=alt.condition("datum.fitted", alt.value(0.95), alt.value(0.35)),
            tooltip=["method:N", "x:Q", "y:Q", "fitted:N"],
        )
    )
    fit_line = (
        alt.Chart(named("curves"))
        .transform_filter("datum.part == 'fit'")
        .mark_line(strokeWidth=2.5)
        .encode(x="x:Q", y="y:Q", color=colour)
    )
    extra = (
        alt.Chart(named("curves"))
        .transform_filter("datum.part == 'extrapolation'")
        .mark_line(strokeWidth=2, strokeDash=[6, 4])
        .encode(x="x:Q", y="y:Q", color=colour)
    )
    rule = alt.Chart(named("crossing")).mark_rule(color=RED, strokeWidth=2).encode(x="x:Q")
    later = alt.Chart(named("later_crossings")).mark_rule(color=RED, strokeDash=[2, 3]).encode(x="x:Q")
    return alt.layer(window, band, others, front, fit_line, extra, rule, later).properties(
        width=width, height=height, title=alt.TitleParams(data.title, subtitle=[""])
    )


class CrossoverExplorer(Explorer):
    """Two methods' fitted curves, where they cross and how sure we are (``workbench.analysis.crossover``).

    Controls: the upper end of the fitted range (points beyond it are shown but
    not fitted) and the extrapolation horizon (how far the curves are drawn and
    a crossing is searched).  Grey: fitted range; red line: the crossing of the
    point fits; red band: its bootstrap interval (95 % by default); dotted: later crossings.
    """

    def __init__(self, data: CrossoverData | None = None, *, export_dir="exports"):
        self.data = data or clip_mammut_data()
        self.stem = f"crossover-{self.data.key}"
        cuts = self.data.cuts
        self._cuts = {(f"{c:.1e}" if i < len(cuts) - 1 else f"{c:.1e} (all)"): c for i, c in enumerate(cuts)}
        self.cut = w.SelectionSlider(
            options=list(self._cuts),
            value=list(self._cuts)[-1],
            description="fit up to",
            continuous_update=False,
            style=SLIDER_STYLE,
            layout=SLIDER_LAYOUT,
        )
        lo, hi = self.data.horizons
        self.horizon = w.FloatLogSlider(
            value=self.data.horizon,
            base=10,
            min=lo,
            max=hi,
            step=0.25,
            description="horizon",
            readout_format=".1e",
            continuous_update=False,
            style=SLIDER_STYLE,
            layout=SLIDER_LAYOUT,
        )
        for c in cuts:  # every fitted range, fitted and bootstrapped once
            crossover_fits(self.data, c)
        super().__init__(export_dir=export_dir, bibtex=self.data.bibtex)

    def _cut(self) -> float:
        return float(self._cuts[self.cut.value])

    def controls(self):
        return [self.cut, self.horizon] if len(self.data.cuts) > 1 else [self.horizon]

    def tables(self):
        return crossover_tables(self.data, self._cut(), float(self.horizon.value))

    def chart(self):
        return crossover_live_chart(self.data)

    def sentence(self) -> str:
        d = self.data
        s = crossing_summary(d, self._cut(), float(self.horizon.value))
        a, b = d.names
        if s["at"] is None:
            return (
                f"no crossover up to {d.variable} = {self.horizon.value:.1e} "
                f"({s['share']:.0%} of bootstrap draws cross by then)"
            )
        other = b if s["lower_before"] == a else a
        text = f"{s['lower_before']} is better below {d.variable} = {s['at']:.2g}, {other} above"
        if s["ci"]:
            text += (
                f" ({s['level']:.0%} CI {s['ci'][0]:.2g} to {s['ci'][1]:.2g}; {s['share']:.0%} of draws "
                f"cross by {self.horizon.value:.0e})"
            )
        if s["later"]:
            text += "; the fits cross again at " + ", ".join(f"{c:.2g}" for c in s["later"])
        few = int(self._tables["runs"].filter(pl.col("fitted")).group_by("method").len()["len"].min())
        if few < 6:
            text += f" — only {few} points per method for 3 parameters: the bootstrap interval means little"
        return text

    def fits(self):
        return crossover_fits(self.data, self._cut())["fits"]

    def readout(self) -> str:
        f = self._tables["fits"]
        fits = self.fits()

        def note(method: str, name: str) -> str:  # a flagged constant is marked where it is printed
            labels = [fl.label for fl in fits[method].flags if fl.parameter == name]
            return f" <b>⚠ {html.escape(', '.join(labels))}</b>" if labels else ""

        rows = "".join(
            f"<br>{r['method']}: E = {r['E']:.3f} ({r['E_lo']:.3f}–{r['E_hi']:.3f}){note(r['method'], 'E')}, "
            f"α = {r['alpha']:.3f} ({r['alpha_lo']:.3f}–{r['alpha_hi']:.3f}){note(r['method'], 'alpha')}, "
            f"A{note(r['method'], 'A') or ' ok'}"
            for r in f.iter_rows(named=True)
        )
        n_fit = self._tables["runs"].filter(pl.col("fitted")).group_by("method").len().sort("method")
        counts = ", ".join(f"{m}: {n}" for m, n in n_fit.iter_rows())
        level = next(iter(fits.values())).ci_level
        return (
            f"<b>{self.sentence()}</b><br>fitted frontier points: {counts}; y = E + A·x^(−α), "
            f"{level:.0%} intervals:{rows}"
        )


@explorer("08_crossovers")
def crossover_explorer():
    return CrossoverExplorer()


@figure("clip-mammut-crossover")
def clip_mammut_figure() -> Figure:
    ex = CrossoverExplorer()
    return explorer_figure(
        ex,
        "clip-mammut-crossover",
        "08_crossovers",
        "CLIP vs MaMMUT on ADE20K segmentation (1 − mIoU) against training compute: power laws with an offset "
        f"fitted to each method's compute-efficient runs, their crossing and its {DEFAULT_LEVEL:.0%} bootstrap "
        "interval (data: Nezhurina et al. 2025).",
    )


@figure("proxy-crossover", requires=("proxies/crossover",))
def _proxy_crossover_figure() -> Figure:
    data = proxy_crossover_data()
    if data is None:
        raise WorkbenchError(proxy_missing_message("crossover"))
    ex = CrossoverExplorer(data)
    return explorer_figure(
        ex,
        "proxy-crossover",
        "08_crossovers",
        "Shipped proxy preset 'crossover': MLP vs LSTM final loss against non-embedding parameters, fitted "
        f"power laws with offsets and their crossing with a {DEFAULT_LEVEL:.0%} bootstrap interval.",
    )
