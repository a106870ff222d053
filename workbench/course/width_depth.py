"""Lesson 03, second topic: width and depth (the Gemstones law, McLeish et al. 2025), and whether a grouping matters.

A law in N and D alone says nothing about a model's shape.  The ``gemstones``
law adds a width and a depth term, so at a fixed parameter count the loss has a
best aspect ratio (width / depth).  Its five presets are the authors' released
fits (their code; the paper's printed constants could not be checked), one per
selection of checkpoints, and the explorer shows them side by side: how much a
shape costs, and how the best shape moves with N, under each.  What the law
cannot show: why a shape wins, anything beyond the suite (Gemma-style models up
to about 2B parameters on Dolma, one recipe), or speed (a deeper model of the
same N is slower per token; the law counts only loss).

The second half asks whether a grouping of runs matters at all
(:func:`workbench.analysis.groups.pooled_vs_separate`) on synthetic runs of
shallow and deep models drawn from the law: one Chinchilla law cannot cover
both families, the width-depth law can.
"""

from __future__ import annotations

from functools import lru_cache

import altair as alt
import ipywidgets as w
import numpy as np
import polars as pl

from workbench.course import Figure, explorer, explorer_figure, figure
from workbench.course.references import bib
from workbench.course.style import GREY, LOG, RED, named, short, slider, toggle
from workbench.laws.gemstones import GEMSTONES, VOCAB, params_of_shape
from workbench.viz.explorer import Explorer

#: The five authors'-code fits, by the checkpoints each was fitted to.
FITS = {
    "mcleish2025_all": "all checkpoints",
    "mcleish2025_100b": "up to 100B tokens",
    "mcleish2025_120b": "beyond 120B tokens",
    "mcleish2025_cooldown": "cool-down ends",
    "mcleish2025_lr_half": "half-LR runs",
}
FIT_COLOURS = alt.Scale(domain=list(FITS.values()), range=["#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"])
TRAINED_PARAMS = (5e7, 2e9)  # about the sizes in the suite ("up to 2 billion parameters")
FINE_RATIOS = np.geomspace(1.0, 2000.0, 600)  # where the best shape is looked for; every 5th is drawn
N_GRID = np.geomspace(1e8, 1e10, 13)


def shape_for(params, ratio, vocab: int = VOCAB) -> tuple[np.ndarray, np.ndarray]:
    """Width and depth of the Gemstones-style model with ``params`` parameters and aspect ratio width / depth.

    N = (w / r)(15 w^2 + 2 w) + w (2 V + 1) grows with w, so the root is found by bisection in log w.
    """
    n, r = np.broadcast_arrays(np.asarray(params, dtype=float), np.asarray(ratio, dtype=float))
    lo, hi = np.zeros(n.shape), np.full(n.shape, np.log(1e7))
    for _ in range(80):
        mid = (lo + hi) / 2
        wid = np.exp(mid)
        too_big = params_of_shape(wid, wid / r, vocab) > n
        hi, lo = np.where(too_big, mid, hi), np.where(too_big, lo, mid)
    width = np.exp((lo + hi) / 2)
    return width, width / r


# Tokens enter the law only through their own term A_D / D^alpha_D, which no shape changes: at a fixed N the
# best shape, and what every other shape costs, are the same at every D.  So the shapes are compared once per N
# (with D -> infinity, i.e. without the token term) and cached; only the losses shown depend on D.


@lru_cache(maxsize=256)
def _ranked_shapes(preset: str, params: float) -> pl.DataFrame:
    """Every aspect ratio of :data:`FINE_RATIOS` with at least one layer: width, depth and the loss without the
    token term (at D -> infinity) under ``preset``."""
    width, depth = shape_for(params, FINE_RATIOS)
    keep = depth >= 1.0
    cols = {"width": width[keep], "depth": depth[keep], "params": np.full(keep.sum(), params)}
    shape_loss = GEMSTONES.predict({**cols, "tokens": np.full(keep.sum(), np.inf)}, GEMSTONES.preset(preset).values)
    return pl.DataFrame({"ratio": FINE_RATIOS[keep], **cols, "shape_loss": shape_loss})


def best_shape(preset: str, params: float, tokens: float) -> dict[str, float]:
    """The aspect ratio with the lowest loss (on a fine log grid of ratios), with its width, depth and loss at D."""
    ranked = _ranked_shapes(preset, float(params))
    best = ranked.row(int(ranked["shape_loss"].arg_min()), named=True)
    x = {"width": best["width"], "depth": best["depth"], "params": float(params), "tokens": float(tokens)}
    loss = float(GEMSTONES.predict(x, GEMSTONES.preset(preset).values)[0])
    return {
        "ratio": best["ratio"],
        "width": best["width"],
        "depth": best["depth"],
        "params": float(params),
        "loss": loss,
    }


@lru_cache(maxsize=64)
def _excess_curves(params: float) -> pl.DataFrame:
    """Every fit's loss above its own best shape against the aspect ratio at N = ``params`` (any D)."""
    frames = []
    for name, label in FITS.items():
        ranked = _ranked_shapes(name, params)
        excess = ranked["shape_loss"] - ranked["shape_loss"].min()
        shown = ranked.with_columns(excess=excess).gather_every(5)
        frames.append(shown.select("ratio", "excess", fit=pl.lit(label), preset=pl.lit(name)))
    return pl.concat(frames)


@lru_cache(maxsize=1)
def best_ratio_by_n() -> pl.DataFrame:
    """Every fit's best aspect ratio at each N of :data:`N_GRID` (the same at every number of tokens)."""
    rows = [
        {"params": n, "best_ratio": best_shape(name, n, np.inf)["ratio"], "fit": label, "preset": name}
        for name, label in FITS.items()
        for n in N_GRID
    ]
    return pl.DataFrame(rows)


def width_depth_tables(preset: str, params: float, tokens: float, ratio: float) -> dict[str, pl.DataFrame]:
    """Frames of the figure: every fit's loss above its own best shape against width / depth at N (the same at
    every D), your shape at (N, D), and every fit's best ratio against N."""
    params, tokens = float(params), float(tokens)
    chosen = (pl.col("preset") == preset).alias("chosen")
    bests = pl.DataFrame(
        [
            {"fit": label, "preset": name, "excess": 0.0, **best_shape(name, params, tokens)}
            for name, label in FITS.items()
        ]
    ).with_columns(chosen)
    width, depth = (float(v) for v in shape_for(params, ratio))
    values = GEMSTONES.preset(preset).values
    loss = float(GEMSTONES.predict({"width": width, "depth": depth, "params": params, "tokens": tokens}, values)[0])
    own_best = bests.filter(pl.col("chosen")).row(0, named=True)
    yours = pl.DataFrame(
        {"ratio": [ratio], "excess": [loss - own_best["loss"]], "width": [width], "depth": [depth], "loss": [loss]}
    )
    summary = pl.DataFrame(
        {
            "fit": [FITS[preset]],
            "params": [params],
            "tokens": [tokens],
            "ratio": [ratio],
            "width": [width],
            "depth": [depth],
            "loss": [loss],
            "best_ratio": [own_best["ratio"]],
            "best_width": [own_best["width"]],
            "best_depth": [own_best["depth"]],
            "best_loss": [own_best["loss"]],
        }
    )
    return {
        "curves": _excess_curves(params).with_columns(chosen),
        "bests": bests.select("fit", "ratio", "excess", "width", "depth", "loss", "chosen"),
        "yours": yours,
        "by_n": best_ratio_by_n().with_columns(chosen),
        "trained": pl.DataFrame({"lo": [max(TRAINED_PARAMS[0], N_GRID[0])], "hi": [TRAINED_PARAMS[1]]}),
        "chosen_n": pl.DataFrame({"params": [params]}),
        "summary": summary,
    }


def width_depth_chart() -> alt.HConcatChart:
    colour = alt.Color(
        "fit:N", scale=FIT_COLOURS, title="authors' fit to", legend=alt.Legend(orient="bottom", columns=3)
    )
    width = alt.condition("datum.chosen", alt.value(3.5), alt.value(1.2))
    ratio_scale = alt.Scale(type="log", domain=[1, 2000], nice=False)
    ratio_axis = alt.Axis(values=[1, 3, 10, 30, 100, 300, 1000])
    ratio = alt.X("ratio:Q", scale=ratio_scale, axis=ratio_axis, title="aspect ratio width / depth")
    lines = (
        alt.Chart(named("curves"))
        .mark_line()
        .encode(x=ratio, y=alt.Y("excess:Q", scale=alt.Scale(domainMin=0), title="loss above the best shape (nats)"))
        .encode(color=colour, size=width)
        .encode(detail="fit:N", tooltip=["fit:N", "ratio:Q", "excess:Q"])
    )
    bests = (
        alt.Chart(named("bests"))
        .mark_point(filled=True, size=70)
        .encode(x="ratio:Q", y="excess:Q", color=colour, tooltip=["fit:N", "ratio:Q", "width:Q", "depth:Q", "loss:Q"])
    )
    yours = (
        alt.Chart(named("yours"))
        .mark_point(size=200, strokeWidth=2.5, color=RED)
        .encode(x="ratio:Q", y="excess:Q", tooltip=["ratio:Q", "width:Q", "depth:Q", "loss:Q", "excess:Q"])
    )
    left = alt.layer(lines, bests, yours).properties(width=330, height=280, title="one size, every shape")
    axis = alt.Axis(format=".0e", tickCount=4)
    n = alt.X("params:Q", scale=LOG, axis=axis, title="parameters N (grey: about the suite's sizes)")
    band = alt.Chart(named("trained")).mark_rect(color=GREY, opacity=0.15).encode(x=alt.X("lo:Q", scale=LOG), x2="hi:Q")
    rule = alt.Chart(named("chosen_n")).mark_rule(color=RED, strokeDash=[4, 3]).encode(x="params:Q")
    best = (
        alt.Chart(named("by_n"))
        .mark_line(point=True)
        .encode(
            x=n,
            y=alt.Y("best_ratio:Q", scale=LOG, title="best width / depth"),
            color=colour,
            size=width,
            detail="fit:N",
            tooltip=["fit:N", "params:Q", "best_ratio:Q"],
        )
    )
    right = alt.layer(band, best, rule).properties(width=260, height=280, title="the best shape against N")
    return alt.hconcat(left, right).resolve_scale(size="independent")


def _ratio(r: float) -> str:
    return f"{r:.0f}" if r >= 10 else f"{r:.2g}"


def width_depth_sentence(tables) -> str:
    s = tables["summary"].row(0, named=True)
    ratios = tables["bests"]["ratio"]
    yours = f"yours, w/d {_ratio(s['ratio'])} (width {s['width']:.0f}, depth {s['depth']:.1f})"
    cost = (
        f"would have {s['depth']:.1f} layers: no such model"
        if s["depth"] < 1
        else f"costs {s['loss'] - s['best_loss']:.3f} nats"
    )
    return (
        f"At N = {short(s['params'])} and D = {short(s['tokens'])}, the authors' fit ({s['fit']}) puts the best "
        f"shape at width {s['best_width']:.0f}, depth {s['best_depth']:.0f} (w/d {_ratio(s['best_ratio'])}); "
        f"{yours}, {cost}. "
        f"The five fits' best w/d run from {_ratio(ratios.min())} to {_ratio(ratios.max())}."
    )


class WidthDepthExplorer(Explorer):
    """Size, tokens, aspect ratio and the authors' fit -> what a shape costs, and the best shape against N."""

    stem = "03_width_depth"
    heading = "Width and depth: the Gemstones law with the authors' released fits (their code, not printed)"

    def __init__(self, **kwargs):
        self.fit = toggle([(v, k) for k, v in FITS.items()], "mcleish2025_all", "authors' fit to", "150px")
        self.params = slider(
            w.FloatLogSlider,
            value=1e9,
            base=10,
            min=8,
            max=10,
            step=0.1,
            description="parameters N",
            readout_format=".1e",
        )
        self.tokens = slider(
            w.FloatLogSlider, value=1e11, base=10, min=9, max=13, step=0.1, description="tokens D", readout_format=".1e"
        )
        self.ratio = slider(
            w.FloatLogSlider, value=8.0, base=10, min=0, max=3, step=0.05, description="your width / depth"
        )
        super().__init__(bibtex=bib("2502.06857"), **kwargs)

    def controls(self):
        return [self.fit, self.params, self.tokens, self.ratio]

    def tables(self):
        return width_depth_tables(self.fit.value, self.params.value, self.tokens.value, self.ratio.value)

    def chart(self):
        return width_depth_chart()

    def sentence(self) -> str:
        return width_depth_sentence(self._tables)

    def readout(self) -> str:
        return super().readout() + (
            "<br>Constants: the authors' released fits (their code), not constants printed in the paper. "
            "Depths are fractional: the law is smooth, models are not."
        )


@figure("width-depth-best-shape")
def width_depth_figure() -> Figure:
    return explorer_figure(
        WidthDepthExplorer(),
        "width-depth-best-shape",
        "03_chinchilla_approaches",
        "The Gemstones width-depth law (McLeish et al. 2025) with the five fits the authors' code ships (not "
        "constants printed in the paper): the loss of a 1e9-parameter model on 1e11 tokens above its best shape "
        "against the aspect ratio width / depth, with an 8:1 model ringed (left), and the best aspect ratio against "
        "N, the same at any number of tokens (right; grey: about the suite's sizes).",
    )


@explorer("03_width_depth")
def width_depth_explorer():
    return WidthDepthExplorer()


# -- does the grouping matter at all? -------------------------------------------------------------------------


def shape_families(seed: int = 0, n: int = 40, noise: float = 0.005) -> pl.DataFrame:
    """Synthetic runs from the all-checkpoints fit: ``shallow`` models (4-12 layers) and ``deep`` ones (24-64),
    widths 256-4096, 3e9-3e11 tokens, log-normal noise ``noise`` on the loss."""
    rng = np.random.default_rng(seed)
    values = GEMSTONES.preset("mcleish2025_all").values
    frames = []
    for family, (lo, hi) in (("shallow", (4, 12)), ("deep", (24, 64))):
        width = 2 ** rng.uniform(8, 12, n)
        depth = rng.integers(lo, hi + 1, n).astype(float)
        cols = {"width": width, "depth": depth, "params": params_of_shape(width, depth)}
        cols["tokens"] = 10 ** rng.uniform(9.5, 11.5, n)
        loss = GEMSTONES.predict(cols, values) * np.exp(rng.normal(0.0, noise, n))
        frames.append(pl.DataFrame({**cols, "loss": loss, "family": family}))
    return pl.concat(frames)


@lru_cache(maxsize=4)
def grouping_table(seed: int = 0, noise: float = 0.005) -> pl.DataFrame:
    """Pooled against separate fits of shallow and deep families, for a law in N and D and for the width-depth law."""
    from workbench.analysis.groups import pooled_vs_separate
    from workbench.laws import CHINCHILLA

    runs = shape_families(seed, noise=noise)
    rows = []
    for label, law in (("chinchilla: N and D only", CHINCHILLA), ("gemstones: width, depth, N and D", GEMSTONES)):
        test = pooled_vs_separate(law, runs, "family")
        f, p = test.f_test
        rows.append({"law": label, "delta_aic": test.delta_aic, "F": f, "p_value": p, "verdict": test.verdict})
    return pl.DataFrame(rows)
