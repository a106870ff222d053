"""Lesson 11, second half: data pruning measured on the `pruning` preset (Sorscher et al. 2022's perceptron).

The figure reads the preset's shipped rows (``datasets/proxies/pruning.csv``,
made by ``python -m workbench sweep --preset pruning``): max-margin students
of a perceptron teacher, trained on every example or on a kept fraction chosen
by a margin metric.  The student picks the metric, the kept fraction and the
data size; the left panel shows which examples to keep at that fraction, the
right one whether the best pruning beats the power law of unpruned data.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import altair as alt
import ipywidgets as w
import numpy as np
import polars as pl

from workbench.course import Figure, explorer, explorer_figure, figure
from workbench.course.inputs import require_proxy
from workbench.course.references import bib
from workbench.course.style import GREY, LOG, PANEL, RED, named, slider, toggle
from workbench.viz.explorer import Explorer

STRATEGIES = {
    "easy": "keep the easiest (largest margin)",
    "hard": "keep the hardest (smallest margin)",
    "random": "keep a random subset",
    "none": "no pruning (all P examples)",
}
COLOURS = alt.Scale(domain=list(STRATEGIES.values()), range=["#2ca02c", RED, GREY, "#1f77b4"])
SCORES = {"probe": "a cheap probe's margin", "teacher": "the teacher's margin (perfect metric)"}


@lru_cache(maxsize=1)
def pruning_points() -> pl.DataFrame:
    """One row per student of the shipped ``pruning`` preset (see :func:`workbench.proxies.toys.pruning.points`)."""
    from workbench.proxies.toys.pruning import points

    return points(require_proxy("pruning"))


def fraction_label(f: float) -> str:
    """``1/4`` for the half-octave fractions that are powers of two, ``0.71`` otherwise."""
    inverse = 1 / f
    return f"1/{round(inverse)}" if abs(inverse - round(inverse)) < 1e-6 else f"{f:.2g}"


@lru_cache(maxsize=2)
def frontier_fits(score: str) -> tuple[pl.DataFrame, pl.DataFrame, dict, dict]:
    """The pruned-optimal frontier by ``score`` and the unpruned curve, each with power and exponential fits.

    Both are fitted over the range the preset's pre-registered check uses (``PRUNING_FIT_RANGE``), by the
    one fitting engine, so the exponents shown are the ones ``sweep --verify`` reports.
    """
    from workbench.proxies.presets import PRUNING_FIT_RANGE
    from workbench.proxies.toys.pruning import fit_power_and_exponential, frontier

    lo, hi = PRUNING_FIT_RANGE
    inside = pl.col("alpha_prune").is_between(lo * 0.99, hi * 1.01)
    pts = pruning_points()
    front = frontier(pts, score).filter(inside)
    plain = pts.filter((pl.col("strategy") == "none") & inside).sort("alpha_prune")
    fits = {
        "pruned": fit_power_and_exponential(front["alpha_prune"].to_numpy(), front["error"].to_numpy()),
        "unpruned": fit_power_and_exponential(plain["alpha_prune"].to_numpy(), plain["error"].to_numpy()),
    }
    curves = []
    x = np.geomspace(lo, hi, 80)
    for which, label in (("pruned", "best pruning"), ("unpruned", "no pruning")):
        p = fits[which]["power"]
        curves.append(
            pl.DataFrame(
                {"alpha_prune": x, "error": p["scale"] * x ** -p["exponent"], "curve": f"{label}: power-law fit"}
            )
        )
    e = fits["pruned"]["exponential"]
    curves.append(
        pl.DataFrame(
            {"alpha_prune": x, "error": e["scale"] * np.exp(-e["exponent"] * x), "curve": "best pruning: exp fit"}
        )
    )
    measured = pl.concat(
        [
            front.select("alpha_prune", "error", pl.lit("best pruning (measured)").alias("curve")),
            plain.select("alpha_prune", "error", pl.lit("no pruning (measured)").alias("curve")),
        ]
    )
    return measured, pl.concat(curves), fits["pruned"], fits["unpruned"]


def pruning_tables(score: str, fraction: float, alpha_tot: float) -> dict[str, pl.DataFrame]:
    """Frames of the pruning figure for a metric, a kept fraction and a total data size alpha_tot = P/d."""
    pts = pruning_points()
    at_f = pts.filter(
        ((pl.col("strategy").is_in(["easy", "hard"])) & (pl.col("score") == score) | (pl.col("strategy") == "random"))
        & ((pl.col("fraction") - fraction).abs() < 1e-6)
    )
    full = pts.filter(pl.col("strategy") == "none")
    curves = pl.concat([at_f, full]).with_columns(pl.col("strategy").replace_strict(STRATEGIES).alias("strategy"))
    chosen = curves.filter((pl.col("alpha_tot") - alpha_tot).abs() < 1e-2)
    measured, fitted, pruned, unpruned = frontier_fits(score)
    ring = chosen.filter(pl.col("strategy") == STRATEGIES["hard"]).select("alpha_prune", "error")
    return {
        "curves": curves.select("strategy", "alpha_tot", "alpha_prune", "error", "stderr", "fraction"),
        "chosen": chosen.select("strategy", "alpha_tot", "alpha_prune", "error", "stderr"),
        "frontier": measured,
        "fits": fitted,
        "ring": ring,
        "exponents": pl.DataFrame(
            {
                "curve": ["no pruning", "best pruning"],
                "power-law exponent": [unpruned["power"]["exponent"], pruned["power"]["exponent"]],
                "AIC(power) - AIC(exp)": [
                    unpruned["power"]["aic"] - unpruned["exponential"]["aic"],
                    pruned["power"]["aic"] - pruned["exponential"]["aic"],
                ],
            }
        ),
    }


def pruning_chart() -> alt.HConcatChart:
    colour = alt.Color("strategy:N", scale=COLOURS, title=None, legend=alt.Legend(orient="bottom", columns=2))
    y = alt.Y("error:Q", scale=LOG, title="test error (angle / π)")
    lines = (
        alt.Chart(named("curves"))
        .mark_line(point=True, strokeWidth=2)
        .encode(
            x=alt.X("alpha_tot:Q", scale=LOG, title="data before pruning α_tot = P / d"),
            y=y,
            color=colour,
            tooltip=["strategy:N", "alpha_tot:Q", "alpha_prune:Q", "error:Q", "stderr:Q"],
        )
    )
    dots = (
        alt.Chart(named("chosen"))
        .mark_point(size=160, strokeWidth=2.5, color="black")
        .encode(x="alpha_tot:Q", y="error:Q", tooltip=["strategy:N", "error:Q", "stderr:Q"])
    )
    left = alt.layer(lines, dots).properties(width=PANEL + 40, height=300, title="which examples to keep")
    curve_colour = alt.Color(
        "curve:N",
        title=None,
        scale=alt.Scale(
            domain=[
                "no pruning (measured)",
                "no pruning: power-law fit",
                "best pruning (measured)",
                "best pruning: power-law fit",
                "best pruning: exp fit",
            ],
            range=["#1f77b4", "#1f77b4", "#9467bd", "#9467bd", "#ff7f0e"],
        ),
        legend=alt.Legend(orient="bottom", columns=2),
    )
    x = alt.X("alpha_prune:Q", scale=LOG, title="examples the student saw α_prune = f · α_tot")
    measured = alt.Chart(named("frontier")).mark_point(filled=True, size=50).encode(x=x, y=y, color=curve_colour)
    fitted = (
        alt.Chart(named("fits"))
        .mark_line(strokeDash=[5, 3], strokeWidth=1.5)
        .encode(x="alpha_prune:Q", y="error:Q", color=curve_colour, detail="curve:N")
    )
    ring = (
        alt.Chart(named("ring")).mark_point(size=220, strokeWidth=2, color=RED).encode(x="alpha_prune:Q", y="error:Q")
    )
    right = alt.layer(measured, fitted, ring).properties(
        width=PANEL + 40, height=300, title="best pruning vs the power law"
    )
    return alt.hconcat(left, right).resolve_scale(color="independent")


def pruning_sentence(tables: Mapping[str, pl.DataFrame], score: str, fraction: float, alpha_tot: float) -> str:
    by = {r["strategy"]: r["error"] for r in tables["chosen"].iter_rows(named=True)}
    easy, hard = by.get(STRATEGIES["easy"]), by.get(STRATEGIES["hard"])
    if easy is None or hard is None:
        return (
            f"No student kept {fraction_label(fraction)} of α_tot = {alpha_tot:.3g} (the preset trains students on "
            "at most 800 examples, α_prune ≤ 8): pick a smaller fraction or less data."
        )
    winner = "easy" if easy < hard else "hard"
    return (
        f"At α_tot = {alpha_tot:.3g}, keeping {fraction_label(fraction)} of the examples by {SCORES[score]}: "
        f"keep-easy error {easy:.3f}, keep-hard {hard:.3f}, so keeping the {winner} ones wins here."
    )


class PruningExplorer(Explorer):
    """Metric, kept fraction and data size -> keep-easy vs keep-hard, and the pruned frontier vs the power law."""

    stem = "11_data_pruning"
    heading = "Data pruning on a perceptron (the pruning preset, after Sorscher et al. 2022)"

    def __init__(self, **kwargs):
        pts = pruning_points()
        fractions = sorted(pts.filter(pl.col("strategy") == "hard")["fraction"].unique().to_list())
        sizes = sorted(pts["alpha_tot"].unique().to_list())
        self.score = toggle([(v, k) for k, v in SCORES.items()], "probe", "pruning metric", "260px")
        self.fraction = slider(
            w.SelectionSlider,
            options=[(fraction_label(f), f) for f in fractions],
            value=min(fractions, key=lambda f: abs(f - 0.25)),
            description="kept fraction f",
        )
        self.size = slider(
            w.SelectionSlider,
            options=[(f"{a:.3g}", a) for a in sizes],
            value=min(sizes, key=lambda a: abs(a - 1.0)),
            description="data before pruning α_tot",
        )
        super().__init__(bibtex=bib("2206.14486"), **kwargs)

    def controls(self):
        return [self.score, self.fraction, self.size]

    def tables(self):
        return pruning_tables(self.score.value, self.fraction.value, self.size.value)

    def chart(self):
        return pruning_chart()

    def sentence(self) -> str:
        return pruning_sentence(self._tables, self.score.value, self.fraction.value, self.size.value)


@figure("data-pruning-perceptron", requires=("proxies/pruning",))
def pruning_figure() -> Figure:
    ex = PruningExplorer()
    return explorer_figure(
        ex,
        "data-pruning-perceptron",
        "11_data_constraints",
        "Max-margin perceptron students of a random teacher (d = 100, the pruning preset's shipped runs, seed 0): "
        "test error against the data before pruning for keep-easy, keep-hard and random subsets of a quarter of "
        "the examples chosen by a cheap probe's margin (left), and the best pruning at each number of kept "
        "examples against no pruning, with power-law and exponential fits by the fitting engine (right).",
    )


@explorer("11_data_pruning")
def pruning_explorer():
    return PruningExplorer()
