"""Lesson 01, second half: where power laws come from, the four regimes of Bahri et al. 2021, measured.

The figure reads the `regimes` preset's shipped rows (``datasets/proxies/regimes.csv``,
``python -m workbench sweep --preset regimes``): ReLU random-feature students of a
Gaussian-process teacher on spheres of intrinsic dimension d = 2, 4, 8.  With one
resource (data P or width N) effectively unlimited the loss is *resolution-limited*
and its exponent follows the kernel spectrum, 3/d here; with one resource held small
the excess over its limit is *variance-limited* and falls as 1/size.  The student
picks the regime and the dimension; the fitted exponents are the preset's own.
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

REGIMES = {
    "data": ("resolution-limited in data (N = ∞)", "P"),
    "width": ("resolution-limited in width (P = ∞)", "N"),
    "var_data": ("variance-limited in data (N = 32)", "P"),
    "var_width": ("variance-limited in width (P = 32)", "N"),
}
DIMENSIONS = (2, 4, 8)


@lru_cache(maxsize=1)
def regimes_points() -> pl.DataFrame:
    """One row per point of the shipped ``regimes`` preset (see :func:`workbench.proxies.toys.regimes.points`)."""
    from workbench.proxies.toys.regimes import points

    return points(require_proxy("regimes"))


@lru_cache(maxsize=1)
def regimes_exponents() -> dict:
    """The preset's fitted exponents ``{regime: {d: {"A", "alpha"}}}`` (the ones ``sweep --verify`` checks)."""
    from workbench.proxies.toys.regimes import exponents

    return exponents(regimes_points())


def theory(regime: str, d: int) -> float:
    """The exponent theory gives: 1 when variance-limited, the kernel spectrum's 3/d when resolution-limited."""
    return 1.0 if regime.startswith("var_") else 3.0 / d


def regimes_tables(regime: str, dim: int) -> dict[str, pl.DataFrame]:
    """Frames of the regimes figure for one regime, with the chosen intrinsic dimension highlighted."""
    from workbench.proxies.toys.regimes import RESOLUTION_FIT_FROM

    label, axis = REGIMES[regime]
    y = "excess" if regime.startswith("var_") else "loss"
    pts = regimes_points().filter((pl.col("regime") == regime) & pl.col(axis).is_not_null())
    points = pts.select(
        pl.col(axis).cast(pl.Float64).alias("size"),
        pl.col(y).alias("loss"),
        pl.format("d = {}", pl.col("dim")).alias("dimension"),
        (pl.col("dim") == dim).alias("chosen"),
    )
    fits, rows = regimes_exponents().get(regime, {}), []
    for d, f in sorted(fits.items()):
        sizes = pts.filter(pl.col("dim") == d)[axis].to_numpy().astype(float)
        lo = sizes.min() if regime.startswith("var_") else max(sizes.min(), RESOLUTION_FIT_FROM)
        x = np.geomspace(lo, sizes.max(), 40)
        rows.append(pl.DataFrame({"size": x, "loss": f["A"] * x ** -f["alpha"], "dimension": f"d = {d}"}))
    exps = pl.DataFrame(
        [
            {"d": d, "fitted": fits[d]["alpha"], "theory": theory(regime, d), "chosen": d == dim}
            for d in DIMENSIONS
            if d in fits
        ]
    )
    dense = np.linspace(1.6, 9.0, 60)
    curve = pl.DataFrame({"d": dense, "theory": [theory(regime, x) for x in dense]})
    return {"points": points, "fits": pl.concat(rows), "exponents": exps, "theory": curve}


def regimes_chart() -> alt.HConcatChart:
    colour = alt.Color(
        "dimension:N",
        scale=alt.Scale(domain=[f"d = {d}" for d in DIMENSIONS], range=["#1f77b4", "#2ca02c", "#9467bd"]),
        title="intrinsic dimension",
        legend=alt.Legend(orient="bottom"),
    )
    x = alt.X("size:Q", scale=LOG, title="size of the growing resource (P examples or N features)")
    y = alt.Y("loss:Q", scale=LOG, title="test loss (variance-limited: excess over the limit)")
    dots = (
        alt.Chart(named("points"))
        .mark_point(filled=True)
        .encode(
            x=x,
            y=y,
            color=colour,
            size=alt.Size("chosen:N", scale=alt.Scale(domain=[False, True], range=[25, 90]), legend=None),
            tooltip=["dimension:N", "size:Q", "loss:Q"],
        )
    )
    lines = alt.Chart(named("fits")).mark_line(strokeDash=[5, 3]).encode(x="size:Q", y="loss:Q", color=colour)
    left = alt.layer(dots, lines).properties(width=PANEL + 60, height=300, title="loss against size, fitted power laws")
    ex = alt.X("d:Q", scale=alt.Scale(domain=[1.5, 9]), title="intrinsic dimension d of the data")
    ey = alt.Y("fitted:Q", scale=alt.Scale(domain=[0, 1.8]), title="exponent α (loss ∝ size^-α)")
    th = (
        alt.Chart(named("theory"))
        .mark_line(color=GREY, strokeDash=[4, 3], clip=True)
        .encode(x=ex, y=alt.Y("theory:Q", title=""))
    )
    fitted = (
        alt.Chart(named("exponents"))
        .mark_point(filled=True, size=90, color="black")
        .encode(x="d:Q", y=ey, tooltip=["d:Q", "fitted:Q", "theory:Q"])
    )
    ring = (
        alt.Chart(named("exponents"))
        .transform_filter("datum.chosen")
        .mark_point(size=300, strokeWidth=2.5, color=RED)
        .encode(x="d:Q", y="fitted:Q")
    )
    right = alt.layer(th, fitted, ring).properties(
        width=PANEL - 40, height=300, title="fitted exponent (dots) vs theory (dashed)"
    )
    return alt.hconcat(left, right)


def regimes_sentence(tables: Mapping[str, pl.DataFrame], regime: str, dim: int) -> str:
    row = tables["exponents"].filter(pl.col("d") == dim)
    if row.height == 0:
        return ""
    fitted, want = row["fitted"][0], row["theory"][0]
    kind = "the excess over its limit falls" if regime.startswith("var_") else "the loss falls"
    why = "1, whatever d" if regime.startswith("var_") else f"3/d = {want:.3g}, set by the kernel spectrum"
    label = REGIMES[regime][0]
    return (
        f"{label[0].upper()}{label[1:]}, d = {dim}: {kind} as size^-{fitted:.2f}; theory says {why} "
        f"(difference {fitted - want:+.2f})."
    )


class RegimesExplorer(Explorer):
    """Regime and intrinsic dimension -> loss against size with fits, and fitted against theoretical exponents."""

    stem = "01_scaling_regimes"
    heading = "The four scaling regimes (the regimes preset, after Bahri et al. 2021)"

    def __init__(self, **kwargs):
        self.regime = toggle([(label, key) for key, (label, _) in REGIMES.items()], "data", "regime", "300px")
        self.dim = slider(
            w.SelectionSlider,
            options=[(str(d), d) for d in DIMENSIONS],
            value=4,
            description="intrinsic dimension d",
        )
        super().__init__(bibtex=bib("2102.06701"), **kwargs)

    def controls(self):
        return [self.regime, self.dim]

    def tables(self):
        return regimes_tables(self.regime.value, self.dim.value)

    def chart(self):
        return regimes_chart()

    def sentence(self) -> str:
        return regimes_sentence(self._tables, self.regime.value, self.dim.value)


@figure("scaling-regimes", requires=("proxies/regimes",))
def regimes_figure() -> Figure:
    return explorer_figure(
        RegimesExplorer(),
        "scaling-regimes",
        "01_power_laws",
        "ReLU random-feature students of a Gaussian-process teacher on spheres of intrinsic dimension 2, 4 and 8 "
        "(the regimes preset's shipped runs, seed 0): test loss against data with unlimited width, fitted "
        "power laws from 256 examples on (left), and each fitted exponent against the kernel-spectrum theory "
        "3/d (right).",
    )


@explorer("01_scaling_regimes")
def regimes_explorer():
    return RegimesExplorer()
