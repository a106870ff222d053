"""Lesson 03: Chinchilla's three approaches on the same runs, and why published fits disagree."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import altair as alt
import ipywidgets as w
import numpy as np
import polars as pl
from scipy.special import huber

from workbench import corpus
from workbench.analysis.compute_optimal import (
    ScalingFit,
    approach1_envelope,
    approach2_isoflop,
    chinchilla_optimal,
    chinchilla_optimal_draws,
)
from workbench.course import Figure, explorer, figure
from workbench.course.power_laws import PORIAN_KAPLAN, PORIAN_TUNED
from workbench.course.references import bib
from workbench.course.style import (
    GREY,
    LOG,
    RED,
    SCI,
    SLIDER_LAYOUT,
    SLIDER_STYLE,
    named,
    slider,
    titled,
    with_data,
)
from workbench.fit import FitResult, caution_of, fit, make_problem
from workbench.fit.engine import multistart
from workbench.fit.objectives import Objective
from workbench.laws import CHINCHILLA
from workbench.laws.chinchilla import hoffmann_initial_grid
from workbench.viz.explorer import Explorer

CHINCHILLA_BUDGET = 5.76e23  # Gopher's budget, where Hoffmann et al. compare (Table 3)
CHINCHILLA_MODEL = {"params": 70e9, "tokens": 1.4e12}  # Chinchilla itself (Hoffmann et al. 2022)
HOFFMANN_ROUNDED = dict(CHINCHILLA.preset("hoffmann2022").values)  # printed in App. D.2, Eq. (10)
HOFFMANN_UNROUNDED = dict(CHINCHILLA.preset("hoffmann2022_unrounded").values)  # TeX source, secondhand


def besiroglu_points() -> pl.DataFrame:
    """The 240 Figure 4 runs Besiroglu et al. fit (the 245 digitised, minus the 5 highest losses)."""
    return corpus.loss_points("chinchilla_epoch", subset="besiroglu2024")


def mean_objective(problem) -> object:
    """The same Huber problem with its terms *averaged* instead of summed (what Epoch suspect Hoffmann did)."""
    n, delta = len(problem.y), float(problem.objective.lsq_scale)
    obj = Objective(
        name=f"mean huber(delta={delta:g})",
        rho=lambda r: huber(delta, r) / n,
        drho=lambda r: np.clip(r, -delta, delta) / n,
        description="mean of Huber losses of log residuals",
        lsq_loss="huber",
        lsq_scale=delta,
    )
    return dataclasses.replace(problem, objective=obj)


@lru_cache(maxsize=4)
def lbfgs_replication(starts: int = 4) -> dict[str, FitResult]:
    """L-BFGS-B with scipy's default tolerances, as Hoffmann et al. (and Epoch's 'replicate exactly' cell) ran it.

    From the ``starts`` best of Hoffmann's 4,500 initialisations (ranked by their objective), on the
    summed and on the averaged Huber objective; and from Hoffmann's own (unrounded) values.
    """
    problem = make_problem(CHINCHILLA, besiroglu_points())
    grid = list(hoffmann_initial_grid())
    scores = np.array([problem.value(g) for g in grid])
    chosen = [grid[i] for i in np.argsort(scores)[:starts]]
    return {
        "summed": multistart(problem, chosen),
        "averaged": multistart(mean_objective(problem), chosen),
        "summed, from Hoffmann's values": multistart(problem, [HOFFMANN_UNROUNDED]),
    }


@lru_cache(maxsize=1)
def chinchilla_refit() -> FitResult:
    return fit(CHINCHILLA, besiroglu_points())


def replication_table(starts: int = 4) -> pl.DataFrame:
    """Every set of Chinchilla constants on the same 240 points: objective, exponent a, and its advice at 5.76e23."""
    problem = make_problem(CHINCHILLA, besiroglu_points())
    runs = lbfgs_replication(starts)
    sets = [
        ("Hoffmann 2022, published (App. D.2 Eq. 10, rounded)", HOFFMANN_ROUNDED),
        ("Hoffmann 2022, TeX source (unrounded; secondhand)", HOFFMANN_UNROUNDED),
        ("Besiroglu 2024, Table 1 (secondhand)", CHINCHILLA.preset("besiroglu2024").values),
        ("workbench fit (summed Huber, global)", chinchilla_refit().params),
        (f"L-BFGS-B defaults, summed Huber, {starts} grid starts", runs["summed"].params),
        (f"L-BFGS-B defaults, averaged Huber, {starts} grid starts", runs["averaged"].params),
        ("L-BFGS-B defaults, summed Huber, from Hoffmann's values", runs["summed, from Hoffmann's values"].params),
    ]
    rows = []
    for name, v in sets:
        opt = chinchilla_optimal(v, [CHINCHILLA_BUDGET])
        rows.append(
            {
                "constants": name,
                **{k: float(v[k]) for k in ("E", "A", "B", "alpha", "beta")},
                "objective (240 pts)": problem.value(v),
                "a = β/(α+β)": opt.a,
                "N_opt at 5.76e23": float(opt.params[0]),
                "tokens/param there": float(opt.tokens_per_param[0]),
            }
        )
    return pl.DataFrame(rows)


def replication_tables(starts: int = 4) -> dict[str, pl.DataFrame]:
    """Frames of the replication figure: N_opt(C) per constant set, Chinchilla itself, residuals on the 240 points."""
    pts = besiroglu_points()
    sets = {
        "Hoffmann 2022 (rounded)": HOFFMANN_ROUNDED,
        "Hoffmann 2022 (unrounded)": HOFFMANN_UNROUNDED,
        "Besiroglu 2024": CHINCHILLA.preset("besiroglu2024").values,
        "workbench refit": chinchilla_refit().params,
    }
    c = np.geomspace(1e18, 1e26, 60)
    frontier, resid = [], []
    x = {"params": pts["params"].to_numpy(), "tokens": pts["tokens"].to_numpy()}
    for name, v in sets.items():
        opt = chinchilla_optimal(v, c)
        frontier.append(
            pl.DataFrame(
                {"flops": c, "params": opt.params, "tokens_per_param": opt.tokens_per_param, "constants": name}
            )
        )
        pred = CHINCHILLA.predict(x, v)
        resid.append(
            pl.DataFrame(
                {
                    "flops": pts["flops"].to_numpy(),
                    "loss": pts["loss"].to_numpy(),
                    "error_pct": 100 * (pred / pts["loss"].to_numpy() - 1),
                    "constants": name,
                }
            )
        )
    chin = pl.DataFrame(
        {
            "flops": [6 * CHINCHILLA_MODEL["params"] * CHINCHILLA_MODEL["tokens"]],
            "params": [CHINCHILLA_MODEL["params"]],
            "label": ["Chinchilla (70B, 1.4T tokens)"],
        }
    )
    data = pl.DataFrame({"lo": [float(pts["flops"].min())], "hi": [float(pts["flops"].max())]})
    return {
        "frontier": pl.concat(frontier),
        "residuals": pl.concat(resid),
        "chinchilla": chin,
        "data_range": data,
        "table": replication_table(starts),
    }


def replication_chart(tables: Mapping[str, pl.DataFrame]) -> alt.HConcatChart:
    colour = alt.Color(
        "constants:N",
        title=None,
        legend=alt.Legend(orient="bottom", columns=2),
        scale=alt.Scale(
            domain=["Hoffmann 2022 (rounded)", "Hoffmann 2022 (unrounded)", "Besiroglu 2024", "workbench refit"],
            range=["#9467bd", "#ff7f0e", "#2ca02c", "#1f77b4"],
        ),
    )
    band = alt.Chart(tables["data_range"]).mark_rect(opacity=0.12, color=GREY).encode(x="lo:Q", x2="hi:Q")
    lines = (
        alt.Chart(tables["frontier"])
        .mark_line(strokeWidth=2)
        .encode(
            x=alt.X("flops:Q", scale=LOG, axis=SCI, title="training compute C (FLOPs)"),
            y=alt.Y("params:Q", scale=LOG, axis=SCI, title="compute-optimal parameters N_opt"),
            color=colour,
            tooltip=["constants:N", "flops:Q", "params:Q", "tokens_per_param:Q"],
        )
    )
    star = (
        alt.Chart(tables["chinchilla"])
        .mark_point(shape="square", size=110, filled=True, color="black")
        .encode(x="flops:Q", y="params:Q", tooltip=["label:N", "flops:Q", "params:Q"])
    )
    left = alt.layer(band, lines, star).properties(
        width=330, height=280, title="N_opt(C) from each set of constants (grey: the data's compute range)"
    )
    res = (
        alt.Chart(tables["residuals"])
        .mark_circle(size=14, opacity=0.55)
        .encode(
            x=alt.X("loss:Q", scale=alt.Scale(zero=False), title="observed loss (240 runs)"),
            y=alt.Y("error_pct:Q", title="prediction error (%)"),
            color=colour,
            tooltip=["constants:N", "flops:Q", "loss:Q", "error_pct:Q"],
        )
    )
    zero = alt.Chart(tables["data_range"]).mark_rule(color="black", strokeWidth=0.5).encode(y=alt.datum(0))
    right = alt.layer(zero, res).properties(width=330, height=280, title="the same constants on the same points")
    return alt.hconcat(left, right)


@figure("chinchilla-replication")
def chinchilla_replication_figure() -> Figure:
    tables = replication_tables()
    t = tables["table"]
    caption = (
        "Hoffmann et al.'s constants (printed in App. D.2, and the unrounded TeX-source digits) against refits on "
        "the same 240 digitised runs (Besiroglu et al. 2024's selection). "
        "N_opt at 5.76e23 FLOPs: "
        + ", ".join(f"{r['constants']}: {r['N_opt at 5.76e23']:.3g}" for r in t.head(4).iter_rows(named=True))
    )
    return Figure(
        "chinchilla-replication",
        "03_chinchilla_approaches",
        caption,
        replication_chart(tables),
        tables,
        bib("chinchilla_epoch"),
        caution=caution_of({"workbench refit": chinchilla_refit()}),
    )


APPROACH_DATA = {
    "misfitting": "(Mis)Fitting runs (Li et al. 2025), C4",
    "porian-rw-tuned": "Porian 2024: RefinedWeb, tuned",
    "porian-rw-kaplan": "Porian 2024: RefinedWeb, Kaplan-style set-up",
}
APPROACHES = ("1: envelope of training curves", "2: isoFLOP parabolas", "3: parametric fit")
APPROACH_COLOURS = alt.Scale(domain=list(APPROACHES), range=["#2ca02c", "#9467bd", "#1f77b4"])


@dataclass(frozen=True)
class ApproachSet:
    """The three approaches on one data set, with what each was computed from."""

    key: str
    label: str
    fits: Mapping[str, ScalingFit]
    law: FitResult  # the Approach 3 fit, bootstrapped (its draws give the Approach 3 band)
    flops_range: tuple[float, float]
    how: Mapping[str, str]
    bibtex: str


def misfitting_finals() -> pl.DataFrame:
    """Final checkpoints of the (Mis)Fitting runs, best peak LR per (N, D): one run per size and horizon."""
    runs = corpus.load("misfitting", metric="loss").filter(pl.col("final")).with_columns(pl.col("value").alias("loss"))
    return runs.sort("loss").group_by("params", "tokens", maintain_order=True).first().sort("params", "tokens")


def misfitting_approach1_variants() -> dict[str, float]:
    """Approach 1's exponent on the (Mis)Fitting runs from final checkpoints vs from every checkpoint."""
    every = corpus.load("misfitting", metric="loss").with_columns(pl.col("value").alias("loss"))
    finals = misfitting_finals().with_columns(pl.col("params").cast(pl.String).alias("run_id"))
    return {
        "final checkpoints, one curve per size": approach1_envelope(finals).a,
        "every checkpoint of every run (LR not yet decayed)": approach1_envelope(every).a,
    }


@lru_cache(maxsize=8)
def approach_set(key: str) -> ApproachSet:
    """Approaches 1, 2 and 3 on one data set (cached: the fit and its 200-draw bootstrap run once)."""
    if key == "misfitting":
        finals = misfitting_finals()
        curves = finals.with_columns(pl.col("params").cast(pl.String).alias("run_id"))
        iso = (
            corpus.load("open_athena_isoflops", metric="loss")
            .filter(pl.col("condition").str.starts_with("misfitting") & pl.col("in_source_fit"))
            .with_columns(pl.col("value").alias("loss"), pl.col("flops").alias("budget"))
        )
        points = finals
        how = {
            APPROACHES[0]: "lower envelope of final loss vs compute, one curve per model size over its trained "
            "horizons (best peak LR)",
            APPROACHES[1]: "Open-Athena's isoFLOP interpolation of the same runs (their QC-passed budgets)",
            APPROACHES[2]: f"Chinchilla law fitted to the {finals.height} final checkpoints (best peak LR per N and D)",
        }
        bibtex = bib("misfitting", "open_athena_isoflops", "chinchilla_epoch")
    else:
        setting = PORIAN_TUNED if key == "porian-rw-tuned" else PORIAN_KAPLAN
        points = (
            corpus.load("porian_discrepancies", metric="loss")
            .filter((pl.col("condition") == f"refinedweb {setting}") & (pl.col("eval_set") == "val_loss"))
            .with_columns(pl.col("value").alias("loss"))
        )
        curves = points.with_columns(pl.col("params").cast(pl.String).alias("run_id"))
        iso = points.with_columns(pl.col("flops").alias("budget"))
        how = {
            APPROACHES[
                0
            ]: "lower envelope of final loss vs compute, one curve per model size over the budgets it was trained at",
            APPROACHES[1]: "a parabola in log N through each of the isoFLOP budgets",
            APPROACHES[2]: f"Chinchilla law fitted to all {points.height} runs",
        }
        bibtex = bib("porian_discrepancies", "chinchilla_epoch")
    law = fit(CHINCHILLA, points).bootstrap(draws=200, seed=0)  # the result carries its draws and flags
    lo, hi = float(points["flops"].min()), float(points["flops"].max())
    a3 = chinchilla_optimal(law.params, np.geomspace(lo, hi, 10))
    fits = {
        APPROACHES[0]: approach1_envelope(curves),
        APPROACHES[1]: approach2_isoflop(iso),
        APPROACHES[2]: ScalingFit(
            APPROACHES[2],
            a3.flops,
            a3.params,
            a3.tokens,
            a3.loss,
            a3.a,
            a3.b,
            float(np.log10(a3.params[0]) - a3.a * np.log10(a3.flops[0])),
        ),
    }
    return ApproachSet(key, APPROACH_DATA[key], fits, law, (lo, hi), how, bibtex)


APPROACH_GRID = np.geomspace(1e16, 1e26, 61)


def approaches_summary(budget: float = 1e21) -> pl.DataFrame:
    """Every approach on every data set: exponent a (N_opt ~ C^a), N_opt at ``budget`` and what it was computed from."""
    rows = []
    for key, label in APPROACH_DATA.items():
        s = approach_set(key)
        for name, f in s.fits.items():
            n = (
                float(f.params_at([budget])[0])
                if name != APPROACHES[2]
                else float(chinchilla_optimal(s.law.params, [budget]).params[0])
            )
            rows.append(
                {
                    "runs": label,
                    "approach": name,
                    "a": round(f.a, 3),
                    f"N_opt at {budget:.0e}": n,
                    "tokens/param there": round(budget / (6 * n * n), 1),
                    "computed from": s.how[name],
                }
            )
    return pl.DataFrame(rows)


def approaches_tables(key: str, budget: float) -> dict[str, pl.DataFrame]:
    """Frames of the approaches figure at compute ``budget``: each approach's N_opt(C), the points it came from,
    Approach 3's bootstrap band (at the fit's level, 95 % by default), and the three optima at the budget."""
    s = approach_set(key)
    c = APPROACH_GRID
    lines, points, optima = [], [], []
    for name, f in s.fits.items():
        n = f.params_at(c) if name != APPROACHES[2] else chinchilla_optimal(s.law.params, c).params
        lines.append(pl.DataFrame({"flops": c, "params": n, "tokens_per_param": c / (6 * n**2), "approach": name}))
        if name != APPROACHES[2]:
            points.append(pl.DataFrame({"flops": f.flops, "params": f.params, "approach": name}))
        nb = (
            float(f.params_at([budget])[0])
            if name != APPROACHES[2]
            else float(chinchilla_optimal(s.law.params, [budget]).params[0])
        )
        optima.append(
            {"approach": name, "flops": budget, "params": nb, "tokens_per_param": budget / (6 * nb**2), "a": f.a}
        )
    names = ("E", "A", "B", "alpha", "beta")
    over_grid = chinchilla_optimal_draws(s.law, c)
    lo, hi = over_grid.interval("params")
    band = pl.DataFrame({"flops": c, "low": lo, "high": hi, "tpp_low": c / (6 * hi**2), "tpp_high": c / (6 * lo**2)})
    opt = pl.DataFrame(optima)
    a_lo, a_hi = over_grid.interval("a")
    (n_lo,), (n_hi,) = chinchilla_optimal_draws(s.law, [budget]).interval("params")
    summary = pl.DataFrame(
        [
            {
                "data": s.label,
                "budget": budget,
                "decades_beyond_data": float(max(0.0, np.log10(budget / s.flops_range[1]))),
                "spread_factor": float(opt["params"].max() / opt["params"].min()),
                "a3_low": float(a_lo),
                "a3_high": float(a_hi),
                "n3_low": float(n_lo),
                "n3_high": float(n_hi),
                "level": s.law.ci_level,
                "bootstrap_draws": int(over_grid.valid.sum()),
                "fitted": ", ".join(f"{k} = {s.law.params[k]:.4g}" for k in names),
            }
        ]
    )
    return {
        "lines": pl.concat(lines),
        "points": pl.concat(points),
        "band": band,
        "optima": opt,
        "budget": pl.DataFrame({"flops": [budget]}),
        "data_range": pl.DataFrame({"lo": [s.flops_range[0]], "hi": [s.flops_range[1]]}),
        "summary": summary,
    }


def approaches_chart() -> alt.HConcatChart:
    colour = alt.Color("approach:N", scale=APPROACH_COLOURS, title=None, legend=alt.Legend(orient="bottom"))
    x = alt.X("flops:Q", scale=LOG, axis=SCI, title="training compute C (FLOPs)")
    rng = alt.Chart(named("data_range")).mark_rect(opacity=0.12, color=GREY).encode(x="lo:Q", x2="hi:Q")
    rule = alt.Chart(named("budget")).mark_rule(color=RED, strokeWidth=1.5).encode(x="flops:Q")
    band = alt.Chart(named("band")).mark_area(opacity=0.18, color="#1f77b4").encode(x=x, y="low:Q", y2="high:Q")
    lines = (
        alt.Chart(named("lines"))
        .mark_line(strokeWidth=2)
        .encode(x=x, y=alt.Y("params:Q", scale=LOG, axis=SCI, title="compute-optimal parameters N_opt"), color=colour)
    )
    pts = (
        alt.Chart(named("points"))
        .mark_point(size=30, opacity=0.8)
        .encode(x="flops:Q", y="params:Q", color=colour, tooltip=["approach:N", "flops:Q", "params:Q"])
    )
    opt = (
        alt.Chart(named("optima"))
        .mark_point(shape="diamond", size=130, filled=True)
        .encode(
            x="flops:Q",
            y="params:Q",
            color=colour,
            tooltip=["approach:N", "flops:Q", "params:Q", "tokens_per_param:Q", "a:Q"],
        )
    )
    left = alt.layer(rng, band, lines, pts, rule, opt).properties(
        width=340, height=290, title="N_opt(C): three approaches, same runs (grey: the data)"
    )
    band2 = (
        alt.Chart(named("band")).mark_area(opacity=0.18, color="#1f77b4").encode(x=x, y="tpp_low:Q", y2="tpp_high:Q")
    )
    lines2 = (
        alt.Chart(named("lines"))
        .mark_line(strokeWidth=2)
        .encode(
            x=x, y=alt.Y("tokens_per_param:Q", scale=LOG, title="tokens per parameter D/N at the optimum"), color=colour
        )
    )
    opt2 = (
        alt.Chart(named("optima"))
        .mark_point(shape="diamond", size=130, filled=True)
        .encode(x="flops:Q", y="tokens_per_param:Q", color=colour)
    )
    right = alt.layer(rng, band2, lines2, rule, opt2).properties(
        width=300, height=290, title="what each approach says to do: D/N"
    )
    return alt.hconcat(left, right)


def _ratio(x: float) -> str:
    return f"{x:.0f}" if x >= 10 else f"{x:.2g}"


def approach1_edges(key: str) -> dict[str, float]:
    """How many of Approach 1's envelope points sit at the smallest or largest trained size (where the
    envelope cannot move further), and the exponent without them."""
    f = approach_set(key).fits[APPROACHES[0]]
    inner = (f.params > f.params.min()) & (f.params < f.params.max())
    return {
        "envelope points": int(f.params.size),
        "at the smallest size": int((f.params == f.params.min()).sum()),
        "at the largest size": int((f.params == f.params.max()).sum()),
        "a (all points)": round(f.a, 3),
        "a (interior points only)": round(
            float(np.polyfit(np.log10(f.flops[inner]), np.log10(f.params[inner]), 1)[0]), 3
        ),
    }


def approaches_sentence(tables: Mapping[str, pl.DataFrame]) -> str:
    s = tables["summary"].row(0, named=True)
    where = (
        f"{s['decades_beyond_data']:.1f} decades beyond the largest budget in the data"
        if s["decades_beyond_data"] > 0
        else "inside the data's compute range"
    )
    parts = [
        f"Approach {r['approach'][0]}: N = {r['params']:.3g} ({_ratio(r['tokens_per_param'])} tokens/param, a = "
        f"{r['a']:.2f})"
        for r in tables["optima"].iter_rows(named=True)
    ]
    return (
        f"C = {s['budget']:.2e} FLOPs ({where}). "
        + "; ".join(parts)
        + f". Approach 3's {s['level']:.0%} bootstrap interval: N = {s['n3_low']:.3g} to {s['n3_high']:.3g}, a = "
        f"{s['a3_low']:.2f} to "
        f"{s['a3_high']:.2f}. The approaches disagree by a factor of {s['spread_factor']:.1f} in N."
    )


class ApproachesExplorer(Explorer):
    """Approaches 1, 2 and 3 on the same runs; move the compute budget and read off each N_opt(C)."""

    stem = "03_chinchilla_approaches"

    def __init__(self, data: str = "misfitting", budget: float = 1e21, **kwargs):
        self.budget = slider(
            w.FloatLogSlider,
            value=budget,
            base=10,
            min=17,
            max=25,
            step=0.1,
            description="compute budget C (FLOPs)",
            readout_format=".1e",
        )
        self.data = w.Dropdown(
            options=[(v, k) for k, v in APPROACH_DATA.items()],
            value=data,
            description="runs",
            style=SLIDER_STYLE,
            layout=SLIDER_LAYOUT,
        )
        self.data.observe(lambda _: setattr(self, "bibtex", approach_set(self.data.value).bibtex), names="value")
        super().__init__(bibtex=approach_set(data).bibtex, **kwargs)

    def controls(self):
        return [self.budget, self.data]

    def tables(self):
        return approaches_tables(self.data.value, float(self.budget.value))

    def chart(self):
        return approaches_chart()

    def sentence(self) -> str:
        return approaches_sentence(self._tables)

    def fits(self):
        return {"Approach 3 (Chinchilla law)": approach_set(self.data.value).law}

    @property
    def heading(self) -> str:
        return f"Chinchilla's three approaches on {APPROACH_DATA[self.data.value]}"


@figure("chinchilla-three-approaches")
def approaches_figure() -> Figure:
    tables = approaches_tables("misfitting", 1e21)
    sentence = approaches_sentence(tables)
    chart = titled(approaches_chart(), f"Chinchilla's three approaches on {APPROACH_DATA['misfitting']}", sentence)
    return Figure(
        "chinchilla-three-approaches",
        "03_chinchilla_approaches",
        sentence,
        with_data(chart, tables),
        tables,
        approach_set("misfitting").bibtex,
        caution=caution_of({"Approach 3 (Chinchilla law)": approach_set("misfitting").law}),
    )


@explorer("03_chinchilla_approaches")
def approaches_explorer():
    return ApproachesExplorer()
