"""Lesson 08, second part: a training recipe that wins small and loses big (the `recipe_crossover` preset).

Xiao 2024 (arXiv:2409.15156) calls it the *scaling law crossover*: a method
that beats another on small models can lose to it on large ones, so a
comparison made at small scale can rank methods the wrong way.  The figure
reads the preset's shipped rows (``datasets/proxies/recipe_crossover.csv``,
``python -m workbench sweep --preset recipe_crossover``): the same GPT proxies
on the same tokens under two recipes that differ only in the peak learning
rate, one tuned for the smallest model and one for the largest.

Every number shown comes from :mod:`workbench.proxies.recipes` (``points``,
``analyse``, ``verify``), the functions ``sweep --verify`` checks, so what
the notebook teaches and what the pre-registered checks test are the same
numbers.  The analysis (two fits with 500 bootstrap draws each, under a
second) runs once per kernel; a slider move only slices and evaluates its
cached fits.  The student picks the width at which a small-scale study would
compare the recipes, and how far beyond the largest swept model to draw the fits.
"""

from __future__ import annotations

import html
from functools import lru_cache

import altair as alt
import ipywidgets as w
import numpy as np
import polars as pl

from workbench.course import Figure, explorer, explorer_figure, figure
from workbench.course.inputs import require_proxy
from workbench.course.references import bib
from workbench.course.style import GREY, RED, SCI, WIDTH, named, short, slider
from workbench.errors import WorkbenchError
from workbench.viz.explorer import Explorer

HORIZONS = (1, 2, 4, 10, 30, 100)  # how far the fits are drawn: multiples of the largest swept N
GRID = 160  # points per fitted curve
HISTOGRAM_BINS = 24  # log-spaced bins of the per-draw crossings over the swept N
SPAN = {True: "swept N (fitted)", False: "beyond the largest swept N (extrapolated)"}


@lru_cache(maxsize=1)
def recipe_analysis() -> dict:
    """The preset's analysis of its shipped rows (:func:`workbench.proxies.recipes.analyse`): points, fits,
    crossover and the swept range of N."""
    from workbench.proxies.recipes import analyse

    return analyse(require_proxy("recipe_crossover"))


@lru_cache(maxsize=1)
def recipe_checks() -> pl.DataFrame:
    """The pre-registered checks exactly as ``sweep --preset recipe_crossover --verify`` reports them."""
    from workbench.proxies.recipes import verify

    checks = verify(require_proxy("recipe_crossover"))["checks"]
    return pl.DataFrame(
        [{"check": c["name"], "value": str(c["value"]), "target": c["target"], "passed": c["passed"]} for c in checks]
    )


def names() -> tuple[str, str]:
    """The two recipes in the analysis's order: (small-tuned, large-tuned)."""
    from workbench.proxies.recipes import RECIPES

    a, b = RECIPES
    return a, b


def recipe_label(name: str) -> str:
    """``small-tuned (lr 0.01)``: the recipe and its one difference."""
    from workbench.proxies.recipes import RECIPES

    return f"{name} (lr {RECIPES[name]:g})"


def widths() -> list[int]:
    return sorted(recipe_analysis()["points"]["width"].unique().to_list())


def measured_gap(width: int) -> tuple[float, float]:
    """loss(large-tuned) - loss(small-tuned) at ``width`` and its standard error, as the preset's checks
    (1) and (2) compute them (positive: the small-tuned recipe wins)."""
    pts = recipe_analysis()["points"].filter(pl.col("width") == width)
    by = {r["recipe"]: r for r in pts.iter_rows(named=True)}
    a, b = (by[n] for n in names())
    return b["loss"] - a["loss"], float(np.hypot(a["value_stderr"] or 0.0, b["value_stderr"] or 0.0))


def params_at(width: int) -> float:
    return float(recipe_analysis()["points"].filter(pl.col("width") == width)["params"][0])


def run_rows(width: int) -> pl.DataFrame:
    """Every run: recipe, width, N, final loss with ±2 standard errors, and whether it is at the chosen width."""
    pts = recipe_analysis()["points"]
    se = pl.col("value_stderr").fill_null(0.0)
    return pts.select(
        "run_id",
        pl.col("recipe").map_elements(recipe_label, return_dtype=pl.String).alias("recipe"),
        "width",
        "params",
        "loss",
        "value_stderr",
        (pl.col("loss") - 2 * se).alias("lo"),
        (pl.col("loss") + 2 * se).alias("hi"),
        (pl.col("width") == width).alias("chosen"),
    )


@lru_cache(maxsize=1)
def full_curves() -> pl.DataFrame:
    """Each recipe's fitted curve from the smallest swept N to the farthest horizon, with its 95 % bootstrap
    band (evaluated once per kernel; :func:`curve_rows` cuts it at the chosen horizon)."""
    found = recipe_analysis()
    lo, hi = found["range"]
    x = np.unique(np.concatenate([np.geomspace(lo, HORIZONS[-1] * hi, GRID), [f * hi for f in HORIZONS]]))
    parts = []
    for name, fit in found["fits"].items():
        cols = {"params": x}
        band = fit.prediction_interval(cols)
        curve = pl.DataFrame({"params": x, "loss": fit.predict(cols), "band_lo": band[0], "band_hi": band[1]})
        curve = curve.with_columns(pl.lit(recipe_label(name)).alias("recipe"))
        inside = pl.col("params") <= hi * (1 + 1e-9)
        parts += [  # the largest swept N is in both spans, so the solid and the dashed curve meet
            curve.filter(inside).with_columns(pl.lit(SPAN[True]).alias("span")),
            curve.filter(~inside | (pl.col("params") == hi)).with_columns(pl.lit(SPAN[False]).alias("span")),
        ]
    return pl.concat(parts)


def curve_rows(horizon: float) -> pl.DataFrame:
    """The fitted curves and bands from the smallest swept N up to ``horizon`` (extrapolated beyond the largest
    swept N only when the horizon is beyond it)."""
    hi = recipe_analysis()["range"][1]
    rows = full_curves().filter(pl.col("params") <= horizon * (1 + 1e-9))
    return rows if horizon > hi * (1 + 1e-9) else rows.filter(pl.col("span") == SPAN[True])


def draw_histogram() -> pl.DataFrame:
    """The per-draw crossings (:attr:`Crossover.draws`) in log-spaced bins over the swept N (no draw is dropped:
    the pairs that do not cross in range are counted by :func:`crossing_numbers`)."""
    found = recipe_analysis()
    lo, hi = found["range"]
    draws = found["crossover"].draws
    crossed = draws[np.isfinite(draws)]
    edges = np.geomspace(lo, hi, HISTOGRAM_BINS + 1)
    counts, _ = np.histogram(crossed, bins=edges)
    return pl.DataFrame({"lo": edges[:-1], "hi": edges[1:], "draws": counts.astype(np.int64)})


def crossing_numbers() -> dict:
    """The crossing as the analysis found it: point, interval, share and count of draw pairs that cross."""
    x = recipe_analysis()["crossover"]
    draws = x.draws if x.draws is not None else np.empty(0)
    return {
        "at": x.at,
        "ci": x.ci,
        "share": x.share_crossing,
        "crossed": int(np.isfinite(draws).sum()),
        "pairs": int(draws.size),
        "lower_before": x.lower_before,
        "level": x.level,
    }


@lru_cache(maxsize=8)
def forecast_from_smallest(k: int) -> pl.DataFrame:
    """The exercise: the preset's own analysis (:func:`workbench.proxies.recipes.analyse`, same law, engine and
    bootstrap) run on the rows of the ``k`` smallest widths only, and its forecast at the largest swept width.

    One row per recipe: the forecast loss there with its 95 % bootstrap band, the measured loss, and the share
    of paired draws in which this recipe is forecast lower (the same pairing as the crossover's).
    """
    from workbench.proxies.recipes import analyse

    ws = widths()
    if not 3 <= k <= len(ws):
        raise WorkbenchError(f"forecast from the k smallest widths: k must be 3 to {len(ws)}, got {k}")
    rows = require_proxy("recipe_crossover")
    found = analyse(rows.filter(pl.col("width").is_in(ws[:k])))
    target = ws[-1]
    cols = {"params": np.array([params_at(target)])}
    a, b = (found["fits"][n] for n in names())
    n = min(len(a.draws), len(b.draws))
    lower_a = float(np.mean(a.draw_curves(cols)[:n, 0] < b.draw_curves(cols)[:n, 0]))
    measured = recipe_analysis()["points"].filter(pl.col("width") == target)
    out = []
    for name, fit, share in ((names()[0], a, lower_a), (names()[1], b, 1 - lower_a)):
        band = fit.prediction_interval(cols)
        out.append(
            {
                "recipe": name,
                "fitted widths": ", ".join(str(v) for v in ws[:k]),
                "at width": target,
                "forecast": float(fit.predict(cols)[0]),
                "band_lo": float(band[0][0]),
                "band_hi": float(band[1][0]),
                "measured": float(measured.filter(pl.col("recipe") == name)["loss"][0]),
                "share of draws forecast lower": share,
                "caveats": "; ".join(fit.caveats()),
            }
        )
    return pl.DataFrame(out)


@lru_cache(maxsize=len(HORIZONS) + 1)
def beyond(horizon: float) -> dict:
    """From the largest swept N to ``horizon``: a further crossing of the point fits (searched by the same
    :func:`~workbench.analysis.crossover.crossover` on the same fits) and the gap at ``horizon`` with the
    interval of the paired bootstrap draws."""
    from workbench.analysis.crossover import crossover
    from workbench.fit import percentile_interval

    found = recipe_analysis()
    hi = found["range"][1]
    a, b = (found["fits"][n] for n in names())
    again = crossover(a, b, "params", hi, horizon, names=names()).at if horizon > hi * 1.001 else None
    cols = {"params": np.array([horizon])}
    gap = float(b.predict(cols)[0] - a.predict(cols)[0])
    n = min(len(a.draws), len(b.draws))
    paired = b.draw_curves(cols)[:n, 0] - a.draw_curves(cols)[:n, 0]
    lo, up = (float(v) for v in percentile_interval(paired, a.ci_level))
    return {"again": again, "gap": gap, "ci": (lo, up), "level": a.ci_level}


def recipe_tables(width: int, factor: float) -> dict[str, pl.DataFrame]:
    """Frames of the figure for the width a small study compares at and the horizon (``factor`` x largest N)."""
    lo, hi = recipe_analysis()["range"]
    c = crossing_numbers()
    at = [c["at"]] if c["at"] is not None else []
    band = [c["ci"]] if c["ci"] is not None else []
    return {
        "runs": run_rows(width),
        "curves": curve_rows(factor * hi),
        "swept": pl.DataFrame({"lo": [lo], "hi": [hi]}),
        "chosen": pl.DataFrame({"params": [params_at(width)], "width": [width]}),
        "crossing": pl.DataFrame({"params": at}, schema={"params": pl.Float64}),
        "crossing_ci": pl.DataFrame(
            {"lo": [v[0] for v in band], "hi": [v[1] for v in band]}, schema={"lo": pl.Float64, "hi": pl.Float64}
        ),
        "draws": draw_histogram(),
        "fits": fit_table(),
    }


def fit_table() -> pl.DataFrame:
    """Each recipe's fitted constants of L = E + A·N^-alpha with their bootstrap intervals."""
    rows = []
    for name, fit in recipe_analysis()["fits"].items():
        for p, v in fit.params.items():
            lo, hi = fit.ci[p] if fit.ci else (None, None)
            rows.append({"recipe": recipe_label(name), "parameter": p, "value": float(v), "ci_lo": lo, "ci_hi": hi})
    return pl.DataFrame(rows)


def loss_domain() -> list[float]:
    """The loss axis: every run with its error bar and every fitted curve up to the farthest horizon; the
    bands are clipped at its top, where a few bootstrap draws of the smallest model's loss run far away."""
    runs, curves = run_rows(widths()[0]), full_curves()
    lo = min(float(runs["lo"].min()), float(curves["band_lo"].min()))
    hi = max(float(runs["hi"].max()), float(curves["loss"].max()))
    pad = 0.04 * (hi - lo)
    return [lo - pad, hi + pad]


def recipe_chart() -> alt.VConcatChart:
    a, b = names()
    colour = alt.Color(
        "recipe:N",
        title=None,
        scale=alt.Scale(domain=[recipe_label(a), recipe_label(b)], range=["#2ca02c", "#9467bd"]),
        legend=alt.Legend(orient="bottom", symbolType="stroke", symbolStrokeWidth=3, symbolOpacity=1),
    )
    x = alt.X("params:Q", scale=alt.Scale(type="log", nice=False), axis=SCI, title=None)
    title = "final validation loss (nats/token)"
    loss_scale = alt.Scale(domain=loss_domain(), nice=False, zero=False)
    y = alt.Y("loss:Q", scale=loss_scale, title=title)
    swept = alt.Chart(named("swept")).mark_rect(color=GREY, opacity=0.10).encode(x="lo:Q", x2="hi:Q")
    ci = alt.Chart(named("crossing_ci")).mark_rect(color=RED, opacity=0.12).encode(x="lo:Q", x2="hi:Q")
    band = (
        alt.Chart(named("curves"))
        .mark_area(opacity=0.15, clip=True)
        .encode(x=x, y=alt.Y("band_lo:Q", scale=loss_scale, title=title), y2="band_hi:Q", color=colour, detail="span:N")
    )
    dash = alt.StrokeDash(
        "span:N", scale=alt.Scale(domain=list(SPAN.values()), range=[[1, 0], [6, 4]]), title=None, legend=None
    )
    lines = (
        alt.Chart(named("curves"))
        .mark_line(strokeWidth=2, clip=True)
        .encode(x="params:Q", y=y, color=colour, strokeDash=dash)
    )
    bars = alt.Chart(named("runs")).mark_rule(strokeWidth=1.5).encode(x="params:Q", y="lo:Q", y2="hi:Q", color=colour)
    dots = (
        alt.Chart(named("runs"))
        .mark_point(filled=True, size=45, opacity=1)
        .encode(x="params:Q", y="loss:Q", color=colour, tooltip=["recipe:N", "width:Q", "params:Q", "loss:Q"])
    )
    ring = (
        alt.Chart(named("runs"))
        .transform_filter("datum.chosen")
        .mark_point(size=220, strokeWidth=2, color="black")
        .encode(x="params:Q", y="loss:Q")
    )
    chosen = alt.Chart(named("chosen")).mark_rule(color="black", strokeDash=[2, 3]).encode(x="params:Q")
    cross = alt.Chart(named("crossing")).mark_rule(color=RED, strokeWidth=2).encode(x="params:Q")
    top = alt.layer(swept, ci, band, lines, bars, dots, ring, chosen, cross).properties(
        width=WIDTH, height=300, title="final loss against N: measured (±2 s.e.), fitted (95 % bands)"
    )
    hist = (
        alt.Chart(named("draws"))
        .mark_rect(color=RED, opacity=0.55)
        .encode(
            x=alt.X("lo:Q", axis=SCI, title="non-embedding parameters N"),
            x2="hi:Q",
            y=alt.Y("draws:Q", title="draws"),
            tooltip=["lo:Q", "hi:Q", "draws:Q"],
        )
    )
    strip = alt.layer(hist, cross).properties(
        width=WIDTH, height=80, title="where each paired bootstrap draw crosses (inside the swept N)"
    )
    return alt.vconcat(top, strip, spacing=8).resolve_scale(x="shared")


def winner_text(width: int) -> str:
    gap, se = measured_gap(width)
    a, b = names()
    text = f"Compared at width {width} the {a if gap > 0 else b} recipe wins by {abs(gap):.3f} nats"
    return text + (f" (less than 2 standard errors, {2 * se:.3f}: a tie)" if abs(gap) <= 2 * se else "")


def recipe_sentence(width: int) -> str:
    """What a small-scale comparison at ``width`` says, and where the fitted curves cross."""
    c = crossing_numbers()
    if c["at"] is None:
        return f"{winner_text(width)}; the fitted curves do not cross inside the swept N."
    a, b = names()
    after = b if c["lower_before"] == a else a
    ci = f"{c['level']:.0%} CI {short(c['ci'][0])} to {short(c['ci'][1])}, " if c["ci"] else ""
    return (
        f"{winner_text(width)}; the curves cross at N = {short(c['at'])} ({ci}{c['share']:.0%} of draws cross "
        f"inside the swept N); beyond it the {after} recipe wins."
    )


def horizon_text(factor: float) -> str:
    """The fits' gap at the horizon and whether they cross again before it."""
    hi = recipe_analysis()["range"][1]
    r = beyond(factor * hi)
    a, b = names()
    lower = a if r["gap"] > 0 else b
    text = (
        f"At the horizon N = {short(factor * hi)} ({factor:g}× the largest swept model) the fits put the {lower} "
        f"recipe lower by {abs(r['gap']):.3f} nats ({r['level']:.0%} interval of large − small over the paired "
        f"draws: {r['ci'][0]:+.3f} to {r['ci'][1]:+.3f})"
    )
    if factor > 1:
        text += f"; the fits cross again at N = {short(r['again'])}" if r["again"] else "; they do not cross again"
    return text + "."


class RecipeCrossoverExplorer(Explorer):
    """Compare-at width and extrapolation horizon -> the two recipes' losses, fits, crossing and its draws."""

    stem = "08_recipe_crossover"
    heading = "Two learning-rate recipes: a scaling-law crossover (the recipe_crossover preset, after Xiao 2024)"

    def __init__(self, **kwargs):
        ws = widths()
        self.width = slider(
            w.SelectionSlider, options=[(str(v), v) for v in ws], value=ws[0], description="compare at width"
        )
        self.horizon = slider(
            w.SelectionSlider,
            options=[(f"{f:g}× largest N", f) for f in HORIZONS],
            value=10,
            description="draw the fits up to",
        )
        super().__init__(bibtex=bib("2409.15156", "workbench-proxies"), **kwargs)

    def controls(self):
        return [self.width, self.horizon]

    def tables(self):
        return recipe_tables(self.width.value, self.horizon.value)

    def chart(self):
        return recipe_chart()

    def sentence(self) -> str:
        return recipe_sentence(self.width.value)

    def fits(self):
        return recipe_analysis()["fits"]

    def readout(self) -> str:
        a, b = names()
        gap, _ = measured_gap(self.width.value)
        pick = a if gap > 0 else b
        rows = "".join(
            f"<br>{html.escape(recipe_label(n))}: E = {f.params['E']:.3f} ({f.ci['E'][0]:.3f}–{f.ci['E'][1]:.3f}), "
            f"α = {f.params['alpha']:.2f} ({f.ci['alpha'][0]:.2f}–{f.ci['alpha'][1]:.2f})"
            for n, f in self.fits().items()
        )
        return (
            f"<b>{html.escape(self.sentence())}</b><br>A study that compares the recipes at width "
            f"{self.width.value} picks the {pick} recipe. {html.escape(horizon_text(self.horizon.value))}"
            f"<br>Fits L = E + A·N^(−α), 95 % bootstrap intervals:{rows}"
        )


@figure("recipe-crossover", requires=("proxies/recipe_crossover",))
def recipe_crossover_figure() -> Figure:
    return explorer_figure(
        RecipeCrossoverExplorer(),
        "recipe-crossover",
        "08_crossovers",
        "GPT proxies (depth 2, widths 32-256, 1 M tokens of the zipf chain; the recipe_crossover preset's shipped "
        "runs, seed 0) under two recipes that differ only in the peak learning rate: final loss against N with "
        "±2 standard errors, power laws with an offset fitted by the one engine with 95 % bootstrap bands "
        "(dashed: extrapolated), where the fitted curves cross with its 95 % interval (red), and where each "
        "paired bootstrap draw crosses (below).",
    )


@explorer("08_recipe_crossover")
def recipe_crossover_explorer():
    return RecipeCrossoverExplorer()
