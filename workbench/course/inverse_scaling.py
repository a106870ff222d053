"""Lesson 07: broken power laws, inverse scaling, U-shapes and inverted-Us, with verdicts and intervals."""

from __future__ import annotations

import functools
import textwrap
from collections.abc import Mapping

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
    HEIGHT,
    RED,
    SLIDER_LAYOUT,
    SLIDER_STYLE,
    THIRD,
    WIDTH,
    named,
)
from workbench.errors import WorkbenchError
from workbench.fit import caution_of, fit
from workbench.viz.explorer import Explorer


def _bnsl_local(n_breaks: int, variable: str = "samples", target: str = "loss", lo: float = 100.0, hi: float = 3000.0):
    """A BNSL whose break locations are *started* on a grid over [lo, hi] (the optimiser may leave it)."""
    from workbench.laws.bnsl import bnsl

    grid = tuple(float(v) for v in np.geomspace(lo, hi, 16))
    name = f"bnsl{n_breaks}" + ("" if variable == "samples" else f"_{variable}")
    return bnsl(n_breaks, variable, target=target, break_grid=grid, name=name)


ADDITION_LAWS = {"bnsl1": _bnsl_local(1), "bnsl2": _bnsl_local(2)}
MIN_POINTS = {"bnsl1": 7, "bnsl2": 10}  # one more point than free parameters


@functools.lru_cache(maxsize=1)
def addition_points() -> pl.DataFrame:
    """The 17 points of BNSL's 4-digit-addition example (test loss vs training-set size)."""
    df = corpus.load("bnsl_addition", metric="loss").sort("samples")
    return df.select("samples", pl.col("value").alias("loss"), pl.col("in_source_fit").alias("authors_fit"))


@functools.lru_cache(maxsize=64)
def addition_fit(law: str, k: int, starts: int = 1):
    """``law`` fitted to the first ``k`` addition points (cached: sliders never fit).

    ``starts=1`` polishes only the best basin of the engine's grid: eight times
    faster than the default 3 here, and the same optimum for every k except 12
    (prediction at n = 928: 0.384 instead of 0.380; ``tests/test_course_precision_trend_lessons.py``).
    """

    if k < MIN_POINTS[law]:
        raise WorkbenchError(
            f"{law} has {MIN_POINTS[law] - 1} free parameters: fit it on at least {MIN_POINTS[law]} points"
        )
    return fit(ADDITION_LAWS[law], addition_points().head(k), starts=starts)


def addition_tables(law: str, k: int) -> dict[str, pl.DataFrame]:
    pts = addition_points().with_row_index("i").with_columns((pl.col("i") < k).alias("fitted")).drop("i")
    x_hi = float(pts["samples"][k - 1])
    grid = np.geomspace(100.0, 2000.0, 240)
    empty_curve = pl.DataFrame(schema={"samples": pl.Float64, "loss": pl.Float64, "part": pl.String})
    empty_breaks = pl.DataFrame(schema={"samples": pl.Float64, "label": pl.String})
    window = pl.DataFrame({"lo": [float(pts["samples"][0])], "hi": [x_hi]})
    held = pts.filter(~pl.col("fitted")).select("samples", pl.col("loss").alias("measured"))
    if k < MIN_POINTS[law]:
        return {
            "points": pts,
            "curve": empty_curve,
            "breaks": empty_breaks,
            "window": window,
            "held_out": held.with_columns(
                pl.lit(None, pl.Float64).alias("predicted"), pl.lit(None, pl.Float64).alias("error")
            ),
        }
    res = addition_fit(law, k)
    curve = pl.DataFrame({"samples": grid, "loss": res.predict({"samples": grid})}).with_columns(
        pl.when(pl.col("samples") <= x_hi).then(pl.lit("fit")).otherwise(pl.lit("extrapolation")).alias("part")
    )
    n = int(law[-1])
    breaks = pl.DataFrame(
        {
            "samples": [float(res.params[f"d{i}"]) for i in range(1, n + 1)],
            "label": [f"break {i}: n ≈ {res.params[f'd{i}']:.3g}" for i in range(1, n + 1)],
        }
    )
    breaks = breaks.filter(pl.col("samples").is_between(100.0, 2000.0))
    pred = res.predict({"samples": held["samples"].to_numpy()}) if held.height else np.array([])
    held = held.with_columns(pl.Series("predicted", pred, dtype=pl.Float64)).with_columns(
        (pl.col("predicted") / pl.col("measured") - 1).alias("error")
    )
    return {"points": pts, "curve": curve, "breaks": breaks, "window": window, "held_out": held}


def addition_chart(width: int = WIDTH, height: int = HEIGHT):
    x = alt.X(
        "samples:Q",
        scale=alt.Scale(type="log", domain=[100, 2000]),
        axis=alt.Axis(values=[100, 200, 300, 500, 1000, 2000]),
        title="training examples n",
    )
    y = alt.Y("loss:Q", scale=alt.Scale(domain=[0, 2.4]), title="test cross-entropy")
    window = alt.Chart(named("window")).mark_rect(color=GREY, opacity=0.12).encode(x="lo:Q", x2="hi:Q")
    fit_line = (
        alt.Chart(named("curve"))
        .transform_filter("datum.part == 'fit'")
        .mark_line(color="#1f77b4", strokeWidth=2.5, clip=True)
        .encode(x=x, y=y)
    )
    extra = (
        alt.Chart(named("curve"))
        .transform_filter("datum.part == 'extrapolation'")
        .mark_line(color="#1f77b4", strokeDash=[6, 4], strokeWidth=2, clip=True)
        .encode(x="samples:Q", y="loss:Q")
    )
    brk = alt.Chart(named("breaks")).mark_rule(color="#ff7f0e", strokeDash=[3, 3]).encode(x="samples:Q")
    brk_text = (
        alt.Chart(named("breaks"))
        .mark_text(align="left", dx=4, dy=-6, color="#ff7f0e", fontSize=11)
        .encode(x="samples:Q", y=alt.value(12), text="label:N")
    )
    fitted = (
        alt.Chart(named("points"))
        .transform_filter("datum.fitted")
        .mark_circle(size=55, color="black")
        .encode(x="samples:Q", y="loss:Q", tooltip=["samples:Q", "loss:Q", "authors_fit:N"])
    )
    held = (
        alt.Chart(named("points"))
        .transform_filter("!datum.fitted")
        .mark_point(size=70, color=RED, strokeWidth=2)
        .encode(x="samples:Q", y="loss:Q", tooltip=["samples:Q", "loss:Q", "authors_fit:N"])
    )
    return alt.layer(window, fit_line, extra, brk, brk_text, fitted, held).properties(
        width=width,
        height=height,
        title=alt.TitleParams("BNSL on 4-digit addition: fit the first points, extrapolate the rest", subtitle=[""]),
    )


class BNSLExplorer(Explorer):
    """How much of the curve must you see to extrapolate a break?  (Caballero et al. 2022, Fig. 4 left)

    Controls: the number of points fitted (from the smallest training set up)
    and the law (BNSL with one or two breaks).  Black: fitted points; red rings:
    held out; solid: the fit over the fitted range; dashed: its extrapolation;
    orange: the fitted break(s).
    """

    stem = "bnsl-addition"

    def __init__(self, *, export_dir="exports", k: int = 14, law: str = "bnsl1"):
        self.k = w.IntSlider(
            value=k,
            min=MIN_POINTS["bnsl1"],
            max=addition_points().height,
            description="points fitted",
            continuous_update=False,
            style=SLIDER_STYLE,
            layout=SLIDER_LAYOUT,
        )
        self.law = w.ToggleButtons(options=[("1 break", "bnsl1"), ("2 breaks", "bnsl2")], value=law, description="BNSL")
        for kk in range(self.k.min, self.k.max + 1):  # every position of the slider, fitted once
            addition_fit("bnsl1", kk)
        super().__init__(export_dir=export_dir, bibtex=bib("bnsl_addition"))

    def controls(self):
        return [self.k, self.law]

    def tables(self):
        return addition_tables(self.law.value, int(self.k.value))

    def chart(self):
        return addition_chart()

    def sentence(self) -> str:
        law, k = self.law.value, int(self.k.value)
        if k < MIN_POINTS[law]:
            return f"{law} needs at least {MIN_POINTS[law]} points (it has {MIN_POINTS[law] - 1} free parameters)"
        res = addition_fit(law, k)
        held = self._tables["held_out"]
        text = f"{law} fitted on the first {k} points (n ≤ {self._tables['window']['hi'][0]:.0f})"
        if held.height:
            last = held.row(-1, named=True)
            mae = float(held["error"].abs().mean())
            text += (
                f": at n = {last['samples']:.0f} it predicts {last['predicted']:.3f} vs {last['measured']:.3f} "
                "measured "
                f"({last['error']:+.1%}); mean |error| on the {held.height} held-out points {mae:.1%}"
            )
        else:
            text += ": every point used, nothing left to test the extrapolation on"
        if any("bound" in m for m in res.warnings):
            text += " — a parameter sits at its bound: the data do not yet pin the break"
        return text

    def readout(self) -> str:
        law, k = self.law.value, int(self.k.value)
        if k < MIN_POINTS[law]:
            return f"<b>{self.sentence()}</b>"
        res = addition_fit(law, k)
        from workbench.laws.bnsl import segment_slopes

        slopes = ", ".join(f"{s:+.2f}" for s in segment_slopes(res.params, int(law[-1])))
        return (
            f"<b>{self.sentence()}</b><br>limit a = {res.params['a']:.3g}; log-log slopes of (loss − a) per segment: "
            f"{slopes}"
        )

    def fits(self):
        law, k = self.law.value, int(self.k.value)
        return {law: addition_fit(law, k)} if k >= MIN_POINTS[law] else {}


@explorer("07_inverse_scaling")
def bnsl_explorer():
    return BNSLExplorer()


@figure("bnsl-addition-extrapolation")
def bnsl_figure() -> Figure:
    ex = BNSLExplorer()
    return explorer_figure(
        ex,
        "bnsl-addition-extrapolation",
        "07_inverse_scaling",
        "A one-break BNSL fitted to the first 14 of 17 points of the 4-digit-addition curve (the authors' split) "
        "and extrapolated to the last 3 (Caballero et al. 2022, Fig. 4 left).",
    )


def trend_table(trends: Mapping[str, tuple], label: str) -> pl.DataFrame:
    """One row per ``label -> (trend, data)``: points, verdict, the change from the smallest to the largest
    scale with its interval, where a turning curve turns, and the p-value of "any trend at all"."""
    rows = []
    for name, (trend, data) in trends.items():
        lo, hi = trend.change.ci
        rows.append(
            {
                label: name,
                "points": data.height,
                "verdict": trend.verdict,
                "change, largest − smallest": round(trend.change.value, 4),
                f"{trend.level:.0%} low": round(float(lo), 4),
                f"{trend.level:.0%} high": round(float(hi), 4),
                "turns at": None if trend.turn_at is None else float(f"{trend.turn_at:.3g}"),
                "p (any trend)": f"{trend.trend_p_value:.2g}",
            }
        )  # text: a float column would print 1.1000e-14
    return pl.DataFrame(rows)


TRUTHFULQA_FAMILIES = ("Pythia", "OPT")


@functools.lru_cache(maxsize=8)
def truthfulqa_trend(family: str, draws: int = 100):
    """scaling_trend of TruthfulQA accuracy vs parameters in one model family (Ruan et al.'s table), one-break BNSL."""
    from workbench.analysis.inverse import scaling_trend, trend_law

    df = corpus.load("obs_scaling").filter((pl.col("eval_set") == "TruthfulQA") & (pl.col("family") == family))
    df = df.with_columns(pl.col("value").alias("accuracy")).unique(subset=["params"], keep="first").sort("params")
    return scaling_trend(trend_law("params", "accuracy"), df, "params", lower_is_better=False, draws=draws, seed=0), df


#: Published per-checkpoint numbers where each turning shape is detected (Pythia suite, zero-shot accuracy).
TRAINING_TRENDS = {
    "U-shaped": ("pythia-2.8b", "arc_challenge"),  # worse, then better
    "inverted-U": ("pythia-70m", "arc_easy"),  # better, then worse
}


@functools.lru_cache(maxsize=16)
def pythia_training_trend(run: str, eval_set: str, metric: str = "accuracy", shots: int = 0, draws: int = 200):
    """scaling_trend of one Pythia model's benchmark accuracy along its training steps (one-break BNSL in step).

    The scale here is training (2,097,152 tokens per step), not model size: Wei et al. and McKenzie et al. name the
    shapes along model size, and the same words apply along any scale axis.  Checkpoint 0 (random init) is left out.
    """
    from workbench.analysis.inverse import scaling_trend, trend_law

    df = corpus.load("pythia_evals").filter(
        (pl.col("run_id") == run)
        & (pl.col("eval_set") == eval_set)
        & (pl.col("metric") == metric)
        & (pl.col("shots") == shots)
        & (pl.col("step") > 0)
    )
    df = (
        df.select("step", pl.col("value").alias("accuracy"), pl.col("value_stderr").alias("stderr"))
        .unique(subset=["step"], keep="first")
        .sort("step")
        .with_columns(pl.col("step").cast(pl.Float64))
    )
    if df.height < 10:
        raise WorkbenchError(
            f"pythia_evals has only {df.height} checkpoints of {run} on {eval_set} ({metric}, {shots}-shot)"
        )
    return scaling_trend(trend_law("step", "accuracy"), df, "step", lower_is_better=False, draws=draws, seed=0), df


def _trend_panel(trend, data, title: str, width: int = THIRD + 30):
    from workbench.viz.charts import trend_chart, trend_tables

    tables = trend_tables(trend, data)
    chart = trend_chart(tables, trend.sentence, width=width, height=250)
    head, _, rest = trend.sentence.partition(": ")
    lines = [head + ":", *textwrap.wrap(rest, width // 6)]  # about 6 pixels a character at 11 px: stays in the panel
    chart = chart.properties(title=alt.TitleParams(title, subtitle=lines, fontSize=13, subtitleFontSize=11))
    return chart, tables


def _trend_panels(entries, title: str):
    """Side-by-side trend panels: ``entries`` holds ``(key, panel title, trend, data)``.

    Returns the chart, the tables (prefixed by key) and the caution of every fit shown.
    """
    panels, tables = [], {}
    for key, panel_title, trend, data in entries:
        chart, t = _trend_panel(trend, data, panel_title)
        panels.append(chart)
        tables.update({f"{key}-{k}": v for k, v in t.items()})
    chart = alt.concat(*panels, columns=2, title=alt.TitleParams(title, anchor="start"))  # two per row: fits a notebook
    caution = caution_of({f"{key} BNSL": trend.fit for key, _, trend, _ in entries})
    if caution:  # the verdicts rest on the curve's changes and their intervals, not on any one constant
        caution = caution.replace(
            "Caution: ",
            "Caution about the curves' constants (the verdicts test the curves' changes with their intervals): ",
            1,
        )
    return chart, tables, caution


@figure("truthfulqa-trends")
def truthfulqa_figure() -> Figure:
    entries = [(fam.lower(), f"TruthfulQA, {fam}", *truthfulqa_trend(fam)) for fam in TRUTHFULQA_FAMILIES]
    entries = [(k, title, trend, df.select("params", "accuracy")) for k, title, trend, df in entries]
    chart, tables, caution = _trend_panels(
        entries, "Inverse scaling on TruthfulQA: a one-break BNSL, its 95% band and the verdict"
    )
    return Figure(
        "truthfulqa-trends",
        "07_inverse_scaling",
        "TruthfulQA accuracy against parameters for two model families (Ruan et al. 2024's table), each fitted with "
        "a one-break BNSL; the subtitle is workbench.analysis.inverse.scaling_trend's verdict with its 95% "
        "interval (bootstrap and delta method).",
        chart,
        tables,
        bib("obs_scaling", "2109.07958", "2306.09479", "2211.02011", "bnsl_addition"),
        caution=caution,
    )


@figure("training-trend-shapes")
def training_trends_figure() -> Figure:
    """Both turning shapes, detected in published per-checkpoint numbers (Pythia)."""
    entries = []
    for run, eval_set in TRAINING_TRENDS.values():
        trend, df = pythia_training_trend(run, eval_set)
        entries.append(
            (f"{run}-{eval_set}", f"{run}, {eval_set} (zero-shot) over training", trend, df.select("step", "accuracy"))
        )
    chart, tables, caution = _trend_panels(
        entries, "U-shaped (worse, then better) and inverted-U (better, then worse), along training"
    )
    return Figure(
        "training-trend-shapes",
        "07_inverse_scaling",
        "Zero-shot accuracy of two Pythia models at every evaluated checkpoint (corpus source pythia_evals), each "
        "fitted with a one-break BNSL in training steps; the subtitles are scaling_trend's verdicts: Pythia-2.8B on "
        "ARC-Challenge is U-shaped (worse, then better), Pythia-70M on ARC-Easy inverted-U (better, then worse).",
        chart,
        tables,
        bib("pythia_evals", "2211.02011", "2306.09479", "2404.07647"),
        caution=caution,
    )


def proxy_inverse_frames(df: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Final losses of the ``inverse`` preset per split (exceptions, regular, whole validation set) vs parameters."""
    f = df.filter(pl.col("final") & (pl.col("metric") == "loss")).sort("params")
    out = {}
    for split in ("exceptions", "regular", "val"):
        g = f.filter(pl.col("eval_set").str.ends_with(f"-{split}"))
        if g.height:
            out[split] = g.select("params", pl.col("value").alias("loss"))
    return out


@functools.lru_cache(maxsize=1)
def proxy_inverse_trends(draws: int = 100) -> dict:
    from workbench.analysis.inverse import scaling_trend, trend_law

    df = proxy_results("inverse")
    if df is None:
        raise WorkbenchError(proxy_missing_message("inverse"))
    frames = proxy_inverse_frames(df)
    out = {}
    for split in ("exceptions", "val"):
        g = frames.get(split)
        if g is None or g.height < MIN_POINTS["bnsl1"]:
            continue  # too few sizes for a one-break BNSL (6 parameters)
        out[split] = (scaling_trend(trend_law("params", "loss"), g, "params", draws=draws, seed=0), g)
    if not out:
        raise WorkbenchError(
            "the shipped 'inverse' results have fewer sizes per split than a one-break BNSL needs "
            f"({MIN_POINTS['bnsl1']})"
        )
    return out


@figure("proxy-inverse-trends", requires=("proxies/inverse",))
def _proxy_inverse_figure() -> Figure:
    names = {"exceptions": "loss on the pattern's exceptions", "val": "loss on the whole validation set"}
    entries = [(split, f"proxies: {names[split]}", trend, g) for split, (trend, g) in proxy_inverse_trends().items()]
    chart, tables, caution = _trend_panels(entries, "Proxy preset 'inverse' (trap corpus): verdicts with 95% intervals")
    return Figure(
        "proxy-inverse-trends",
        "07_inverse_scaling",
        "Shipped proxy preset 'inverse': tiny GPTs on a corpus with a frequent misleading pattern; loss on the "
        "pattern's exceptions and on the whole validation set against size, each with scaling_trend's verdict.",
        chart,
        tables,
        bib("bnsl_addition", "2306.09479"),
        caution=caution,
    )


def proxy_inverse_figure() -> Figure:
    return _proxy_inverse_figure()
