"""Lesson 01, third part: superposition as a reason for robust exponents (Liu, Liu and Gore 2025), measured.

The figure reads the `superposition` preset's shipped rows
(``datasets/proxies/superposition.csv``, ``python -m workbench sweep --preset
superposition``): the toy model of superposition, n = 512 sparse features with
power-law frequencies p_i ∝ i^-(1+α), squeezed into m dimensions.  With weight
decay only the most frequent ~m features survive (*weak* superposition) and the
loss is the tail of unrepresented features, ∝ m^-α; with the paper's weight growth
every feature is kept, overlapping (*strong* superposition), and the loss falls as
about 1/m whatever α.  The student picks the regime and α.
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

REGIMES = {"weak": "weak superposition (weight decay)", "strong": "strong superposition (weight growth)"}
ALPHA_COLOURS = alt.Scale(domain=["α = 0.25", "α = 0.5", "α = 1"], range=["#1f77b4", "#2ca02c", "#9467bd"])


@lru_cache(maxsize=1)
def superposition_points() -> pl.DataFrame:
    """One row per run of the shipped preset (see :func:`workbench.proxies.toys.superposition.points`)."""
    from workbench.proxies.toys.superposition import points

    return points(require_proxy("superposition"))


@lru_cache(maxsize=1)
def superposition_exponents() -> dict:
    """The preset's fitted exponents ``{"weak"|"strong": {alpha: fit}}`` (the ones ``sweep --verify`` checks)."""
    from workbench.proxies.toys.superposition import exponents

    return exponents(superposition_points())


def alpha_label(alpha: float) -> str:
    return f"α = {alpha:g}"


def superposition_tables(regime: str, alpha: float) -> dict[str, pl.DataFrame]:
    """Frames of the figure for one regime, with the chosen frequency exponent highlighted."""
    from workbench.proxies.toys.superposition import STRONG_DECAY, WEAK_DECAY

    decay = WEAK_DECAY if regime == "weak" else STRONG_DECAY
    pts = superposition_points().filter(pl.col("weight_decay") == decay)
    points = pts.select(
        pl.col("width").cast(pl.Float64),
        "loss",
        pl.col("alpha").map_elements(alpha_label, return_dtype=pl.String).alias("frequencies"),
        (pl.col("alpha") == alpha).alias("chosen"),
    )
    fits = superposition_exponents()[regime]
    m = np.geomspace(float(pts["width"].min()), float(pts["width"].max()), 40)
    curves = pl.concat(
        [
            pl.DataFrame({"width": m, "loss": f["A"] * m ** -f["exponent"], "frequencies": alpha_label(a)})
            for a, f in fits.items()
        ]
    )
    exps = pl.DataFrame(
        [
            {
                "alpha": a,
                "weak": superposition_exponents()["weak"][a]["exponent"],
                "strong": superposition_exponents()["strong"][a]["exponent"],
                "chosen": a == alpha,
            }
            for a in sorted(fits)
        ]
    ).unpivot(index=["alpha", "chosen"], on=["weak", "strong"], variable_name="regime", value_name="exponent")
    exps = exps.with_columns(pl.col("regime").replace_strict(REGIMES), (pl.col("regime") == regime).alias("shown"))
    theory = pl.concat(
        [
            pl.DataFrame({"alpha": [0.2, 1.05], "exponent": [0.2, 1.05], "regime": "weak theory: α"}),
            pl.DataFrame({"alpha": [0.2, 1.05], "exponent": [1.0, 1.0], "regime": "strong theory: 1"}),
        ]
    )
    return {"points": points, "fits": curves, "exponents": exps, "theory": theory}


def superposition_chart() -> alt.HConcatChart:
    colour = alt.Color(
        "frequencies:N", scale=ALPHA_COLOURS, title="feature frequencies", legend=alt.Legend(orient="bottom")
    )
    x = alt.X(
        "width:Q", scale=alt.Scale(type="log", domain=[6, 80]), title="width m (dimensions the n = 512 features share)"
    )
    y = alt.Y("loss:Q", scale=LOG, title="reconstruction loss")
    dots = (
        alt.Chart(named("points"))
        .mark_point(filled=True)
        .encode(
            x=x,
            y=y,
            color=colour,
            size=alt.Size("chosen:N", scale=alt.Scale(domain=[False, True], range=[25, 90]), legend=None),
            tooltip=["frequencies:N", "width:Q", "loss:Q"],
        )
    )
    lines = alt.Chart(named("fits")).mark_line(strokeDash=[5, 3]).encode(x="width:Q", y="loss:Q", color=colour)
    left = alt.layer(dots, lines).properties(
        width=PANEL + 60, height=300, title="loss against width, fitted power laws"
    )
    reg = alt.Color(
        "regime:N",
        title=None,
        scale=alt.Scale(
            domain=[*REGIMES.values(), "weak theory: α", "strong theory: 1"],
            range=[GREY, "black", GREY, "black"],
        ),
        legend=alt.Legend(orient="bottom", columns=1, labelLimit=320),
    )
    ex = alt.X("alpha:Q", scale=alt.Scale(domain=[0.15, 1.1]), title="frequency exponent α (p_i ∝ i^-(1+α))")
    ey = alt.Y("exponent:Q", scale=alt.Scale(domain=[0, 1.4]), title="fitted exponent (loss ∝ m^-exponent)")
    theory = alt.Chart(named("theory")).mark_line(strokeDash=[4, 3]).encode(x=ex, y=ey, color=reg)
    dots2 = (
        alt.Chart(named("exponents"))
        .mark_point(filled=True, size=90)
        .encode(x="alpha:Q", y="exponent:Q", color=reg, tooltip=["regime:N", "alpha:Q", "exponent:Q"])
    )
    ring = (
        alt.Chart(named("exponents"))
        .transform_filter("datum.chosen && datum.shown")
        .mark_point(size=300, strokeWidth=2.5, color=RED)
        .encode(x="alpha:Q", y="exponent:Q")
    )
    right = alt.layer(theory, dots2, ring).properties(width=PANEL - 40, height=300, title="exponent vs theory")
    return alt.hconcat(left, right).resolve_scale(color="independent")


def superposition_sentence(tables: Mapping[str, pl.DataFrame], regime: str, alpha: float) -> str:
    row = tables["exponents"].filter(pl.col("chosen") & pl.col("shown"))
    if row.height == 0:
        return ""
    fitted = row["exponent"][0]
    want = f"α = {alpha:g}" if regime == "weak" else "1, whatever α"
    return (
        f"{REGIMES[regime][0].upper()}{REGIMES[regime][1:]}, α = {alpha:g}: loss ∝ m^-{fitted:.2f}; theory says {want}."
    )


class SuperpositionExplorer(Explorer):
    """Regime and frequency exponent -> loss against width with fits, and fitted exponents against theory."""

    stem = "01_superposition"
    heading = "Superposition and robust exponents (the superposition preset, after Liu et al. 2025)"

    def __init__(self, **kwargs):
        self.regime = toggle([(label, key) for key, label in REGIMES.items()], "strong", "regime", "260px")
        self.alpha = slider(
            w.SelectionSlider,
            options=[("0.25", 0.25), ("0.5", 0.5), ("1", 1.0)],
            value=0.5,
            description="frequency exponent α",
        )
        super().__init__(bibtex=bib("2505.10465"), **kwargs)

    def controls(self):
        return [self.regime, self.alpha]

    def tables(self):
        return superposition_tables(self.regime.value, self.alpha.value)

    def chart(self):
        return superposition_chart()

    def sentence(self) -> str:
        return superposition_sentence(self._tables, self.regime.value, self.alpha.value)


@figure("superposition-exponents", requires=("proxies/superposition",))
def superposition_figure() -> Figure:
    return explorer_figure(
        SuperpositionExplorer(),
        "superposition-exponents",
        "01_power_laws",
        "The toy model of superposition (n = 512 features, p_i ∝ i^-(1+α); the superposition preset's shipped "
        "runs, seed 0) under strong superposition (weight growth): loss against width with fitted power laws "
        "(left), and every fitted exponent, weak and strong, against the theory (right).",
    )


@explorer("01_superposition")
def superposition_explorer():
    return SuperpositionExplorer()
