"""Lesson 12: repeated sampling, an imperfect verifier's ceiling, and when to stop sampling."""

from __future__ import annotations

from functools import lru_cache

import altair as alt
import ipywidgets as w
import numpy as np
import polars as pl

from workbench import corpus
from workbench.analysis.repeated_sampling import coverage_from_pass1, verifier_ceiling, verifier_success
from workbench.course import Figure, explorer, figure
from workbench.course.references import bib
from workbench.course.style import (
    LOG,
    SLIDER_LAYOUT,
    SLIDER_STYLE,
    YOURS,
    named,
    with_data,
)
from workbench.fit import caution_of, fit
from workbench.laws import get_law
from workbench.viz.explorer import Explorer

MONKEYS = get_law("monkeys_coverage")
MONKEYS_SOURCE = "language_monkeys"
CUTOFFS = (10, 30, 100, 300, 1000, 3000, 10000)


@lru_cache(maxsize=1)
def monkeys_data() -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(coverage, pass1)`` of the Pythia models on MATH, 10,000 samples per problem ('original'
    condition of the language_monkeys source): mean coverage per model and k, and each problem's pass@1."""
    df = corpus.load(MONKEYS_SOURCE).filter(pl.col("condition") == "original")
    cov = (
        df.filter((pl.col("metric") == "coverage") & (pl.col("eval_set") == "math"))
        .select(pl.col("run_id").alias("model"), "params", "k", pl.col("value").alias("coverage"))
        .sort("params", "k")
    )
    p1 = (
        df.filter(pl.col("metric") == "pass_at_k")
        .select(
            pl.col("run_id").alias("model"),
            "params",
            pl.col("eval_set").alias("problem"),
            pl.col("value").alias("pass1"),
        )
        .sort("params", "problem")
    )
    return cov, p1


def monkeys_models() -> list[str]:
    cov, _ = monkeys_data()
    return list(cov["model"].unique(maintain_order=True))


@lru_cache(maxsize=64)
def coverage_fit(model: str, cutoff: int):
    """The Large Language Monkeys law fitted to one model's coverage at k <= ``cutoff`` (cached)."""
    cov, _ = monkeys_data()
    rows = cov.filter((pl.col("model") == model) & (pl.col("k") <= cutoff) & (pl.col("coverage") > 0))
    return fit(MONKEYS, rows)


def coverage_fits_table(cutoff: int = 100) -> pl.DataFrame:
    """Per model: the law fitted on k <= cutoff, its prediction at k = 10,000 and what was measured there."""
    cov, _ = monkeys_data()
    rows = []
    for m in monkeys_models():
        r = coverage_fit(m, cutoff)
        c = cov.filter(pl.col("model") == m)
        at = float(c.filter(pl.col("k") == c["k"].max())["coverage"][0])
        pred = float(r.predict({"k": np.array([float(c["k"].max())])})[0])
        rows.append(
            {
                "model": m,
                "params": float(c["params"][0]),
                "a": r.params["a"],
                "b": r.params["b"],
                "coverage k=1": float(c["coverage"][0]),
                "predicted k=10,000": pred,
                "measured k=10,000": at,
                "error": pred - at,
                "law at k=1e6": float(r.predict({"k": np.array([1e6])})[0]),
            }
        )
    return pl.DataFrame(rows)


def monkeys_tables(cutoff: int, recall: float, fpr: float, model: str, k_max: float = 1e6) -> dict[str, pl.DataFrame]:
    """Frames of the repeated-sampling figure: measured coverage (used in the fit or held out), the law
    fitted on k <= ``cutoff`` extended to ``k_max``, and for ``model`` the perfect- vs imperfect-verifier curves."""
    cov, p1 = monkeys_data()
    measured = cov.with_columns(
        pl.when(pl.col("k") <= cutoff).then(pl.lit("used in the fit")).otherwise(pl.lit("held out")).alias("role")
    )
    kk = np.geomspace(1, k_max, 90)
    curves = []
    for m in monkeys_models():
        r = coverage_fit(m, cutoff)
        curves.append(pl.DataFrame({"model": m, "k": kk, "coverage": r.predict({"k": kk})}))
    p = p1.filter(pl.col("model") == model)["pass1"].to_numpy()
    kv = np.geomspace(1, 1e4, 60)
    verifier = pl.concat(
        [
            pl.DataFrame({"k": kv, "success": coverage_from_pass1(p, kv), "selector": "perfect verifier (= coverage)"}),
            pl.DataFrame(
                {
                    "k": kv,
                    "success": verifier_success(p, kv, recall, fpr),
                    "selector": f"verifier recall {recall:.2f}, false-positive rate {fpr:.3g}",
                }
            ),
        ]
    )
    ceiling = verifier_ceiling(p, recall, fpr)
    model_cov = cov.filter(pl.col("model") == model).select("k", "coverage")
    summary = pl.DataFrame(
        {
            "model": [model],
            "cutoff": [cutoff],
            "recall": [recall],
            "fpr": [fpr],
            "ceiling": [ceiling],
            "solved_ever": [float((p > 0).mean())],
            "verifier_at_1e4": [float(verifier_success(p, [1e4], recall, fpr)[0])],
            "coverage_at_1e4": [float(coverage_from_pass1(p, [1e4])[0])],
        }
    )
    return {
        "measured": measured,
        "law": pl.concat(curves),
        "cutoff": pl.DataFrame({"k": [float(cutoff)]}),
        "verifier": verifier,
        "ceiling": pl.DataFrame({"success": [ceiling]}),
        "model_coverage": model_cov,
        "summary": summary,
    }


def monkeys_chart(title: str = "") -> alt.HConcatChart:
    order = ["pythia-70m", "pythia-160m", "pythia-410m", "pythia-1b", "pythia-2.8b", "pythia-6.9b", "pythia-12b"]
    colour = alt.Color("model:N", sort=order, scale=alt.Scale(scheme="viridis"), title="model")
    x = alt.X("k:Q", scale=LOG, axis=alt.Axis(format="~s"), title="samples per problem k")
    y = alt.Y("coverage:Q", scale=alt.Scale(domain=[0, 1]), title="coverage (fraction solved by any of k)")
    pts = (
        alt.Chart(named("measured"))
        .mark_point(size=16, filled=True)
        .encode(
            x=x,
            y=y,
            color=colour,
            opacity=alt.Opacity(
                "role:N",
                scale=alt.Scale(domain=["used in the fit", "held out"], range=[0.9, 0.25]),
                title="measured",
                legend=alt.Legend(orient="bottom", direction="horizontal"),
            ),
            tooltip=["model:N", "k:Q", "coverage:Q", "role:N"],
        )
    )
    law = alt.Chart(named("law")).mark_line(strokeWidth=1.8).encode(x=x, y="coverage:Q", color=colour)
    rule = alt.Chart(named("cutoff")).mark_rule(color=YOURS, strokeDash=[5, 3], strokeWidth=2).encode(x="k:Q")
    left = alt.layer(pts, law, rule).properties(
        width=360, height=290, title="law fitted on k <= cutoff (red line), extrapolated to k = 1M"
    )
    sel = alt.Color(
        "selector:N",
        scale=alt.Scale(range=["#555555", YOURS]),
        title=None,
        legend=alt.Legend(orient="bottom", columns=1, labelLimit=420),
    )
    vx = alt.X("k:Q", scale=LOG, axis=alt.Axis(format="~s"), title="samples per problem k")
    vy = alt.Y("success:Q", scale=alt.Scale(domain=[0, 1]), title="fraction of problems answered correctly")
    vlines = (
        alt.Chart(named("verifier"))
        .mark_line(strokeWidth=2)
        .encode(x=vx, y=vy, color=sel, tooltip=["selector:N", "k:Q", "success:Q"])
    )
    vpts = (
        alt.Chart(named("model_coverage"))
        .mark_point(size=14, color="#555555", opacity=0.6)
        .encode(x="k:Q", y="coverage:Q")
    )
    ceil = alt.Chart(named("ceiling")).mark_rule(color=YOURS, strokeDash=[2, 2]).encode(y="success:Q")
    right = alt.layer(vlines, vpts, ceil).properties(
        width=300, height=290, title="one model: perfect vs imperfect verifier (dotted: ceiling)"
    )
    return alt.hconcat(left, right, title=title).resolve_scale(color="independent")


class MonkeysExplorer(Explorer):
    """Fit coverage on k <= cutoff and extrapolate; pick answers with an imperfect verifier."""

    stem = "12_inference_scaling"

    def __init__(self, **kwargs):
        self.cutoff = w.SelectionSlider(
            options=list(CUTOFFS),
            value=100,
            description="fit on k ≤",
            style=SLIDER_STYLE,
            layout=SLIDER_LAYOUT,
            continuous_update=False,
        )
        self.recall = w.FloatSlider(
            value=0.9,
            min=0.05,
            max=1.0,
            step=0.05,
            description="verifier recall",
            readout_format=".2f",
            style=SLIDER_STYLE,
            layout=SLIDER_LAYOUT,
            continuous_update=False,
        )
        self.fpr = w.FloatLogSlider(
            value=0.01,
            base=10,
            min=-4,
            max=0,
            step=0.1,
            description="false-positive rate",
            readout_format=".2g",
            style=SLIDER_STYLE,
            layout=SLIDER_LAYOUT,
            continuous_update=False,
        )
        models = monkeys_models()
        self.model = w.Dropdown(
            options=models,
            value="pythia-2.8b" if "pythia-2.8b" in models else models[0],
            description="model (right panel)",
            style=SLIDER_STYLE,
            layout=SLIDER_LAYOUT,
        )
        for m in models:  # every (model, cutoff) fit once (~2 s, cached): slider moves then only evaluate the law
            for c in CUTOFFS:
                coverage_fit(m, c)
        super().__init__(bibtex=bib(MONKEYS_SOURCE), **kwargs)

    def controls(self):
        return [self.cutoff, self.recall, self.fpr, self.model]

    def tables(self):
        return monkeys_tables(self.cutoff.value, self.recall.value, self.fpr.value, self.model.value)

    def chart(self):
        return monkeys_chart(
            "Repeated sampling: Pythia on MATH (Brown et al. 2024; per-problem data of Schaeffer et al. 2025)"
        )

    def fits(self):
        return {m: coverage_fit(m, self.cutoff.value) for m in monkeys_models()}

    def readout(self) -> str:
        s = self._tables["summary"].row(0, named=True)
        r = coverage_fit(s["model"], s["cutoff"])
        cov, _ = monkeys_data()
        c = cov.filter(pl.col("model") == s["model"])
        measured = float(c.filter(pl.col("k") == c["k"].max())["coverage"][0])
        pred = float(r.predict({"k": np.array([float(c["k"].max())])})[0])
        return (
            f"<b>{s['model']}</b>, law fitted on k ≤ {s['cutoff']}: a = {r.params['a']:.3f}, b = {r.params['b']:.3f}; "
            f"predicts coverage {pred:.3f} at k = 10,000 (measured {measured:.3f}). "
            f"Fraction of its problems solved at least once in 10,000 samples: {s['solved_ever']:.3f}. "
            f"<b>Verifier</b> (recall {s['recall']:.2f}, false-positive rate {s['fpr']:.3g}): correct answer picked "
            "for "
            f"{s['verifier_at_1e4']:.3f} of problems at k = 10,000 vs coverage {s['coverage_at_1e4']:.3f}; "
            f"ceiling as k → ∞: <b>{s['ceiling']:.3f}</b>."
        )


@figure("monkeys-coverage-extrapolation")
def monkeys_figure() -> Figure:
    tables = monkeys_tables(100, 0.9, 0.01, "pythia-2.8b")
    caption = (
        "Coverage of 7 Pythia models on 128 MATH problems (10,000 samples each): the Large Language Monkeys law "
        "fitted on k <= 100 and extrapolated; right: a verifier with recall 0.9 and false-positive rate 0.01 picks "
        "answers for pythia-2.8b, and its ceiling."
    )
    return Figure(
        "monkeys-coverage-extrapolation",
        "12_inference_scaling",
        caption,
        with_data(monkeys_chart("Repeated sampling: Pythia on MATH"), tables),
        tables,
        bib(MONKEYS_SOURCE),
        caution=caution_of({m: coverage_fit(m, 100) for m in monkeys_models()}),
    )


@explorer("12_inference_scaling")
def monkeys_explorer():
    return MonkeysExplorer()


# Stroebl, Kapoor, Narayanan 2024 (arXiv:2411.17501): when a false positive costs something, more samples stop paying
STROEBL_COSTS = (0.0, 1.0, 2.0, 4.0, 8.0)  # cost of a wrong submission relative to the gain of a right one


def optimal_samples_table(fprs=(0.001, 0.01), costs=STROEBL_COSTS, recall: float = 1.0) -> pl.DataFrame:
    """Per model, false-positive rate and cost: the budget k* of resample-until-accepted that maximises utility.

    ``workbench.analysis.repeated_sampling.optimal_samples`` on each model's 128 per-problem pass@1 values;
    k* = 0 means abstaining is best; "no limit" (cost 0) that more attempts never hurt.
    """
    from workbench.analysis.repeated_sampling import optimal_samples

    _, p1 = monkeys_data()
    rows = []
    for m in monkeys_models():
        p = p1.filter(pl.col("model") == m)["pass1"].to_numpy()
        row = {"model": m, "mean pass@1": float(p.mean())}
        for f in fprs:
            for c in costs:
                k, _ = optimal_samples(p, recall, f, c)
                row[f"k* (fpr {f:g}, cost {c:g})"] = "no limit" if k is None else str(k)
        rows.append(row)
    return pl.DataFrame(rows)


def fpr_needed_table(target_model: str = "pythia-12b", recall: float = 1.0) -> pl.DataFrame:
    """How low each model's verifier false-positive rate must be for unlimited resampling to reach the
    single-sample accuracy (mean pass@1) of ``target_model``."""
    from workbench.analysis.repeated_sampling import fpr_to_match

    _, p1 = monkeys_data()
    target = float(p1.filter(pl.col("model") == target_model)["pass1"].mean())
    rows = []
    for m in monkeys_models():
        p = p1.filter(pl.col("model") == m)["pass1"].to_numpy()
        rows.append(
            {
                "model": m,
                "mean pass@1": float(p.mean()),
                "solved at least once": float((p > 0).mean()),
                f"fpr at which k → ∞ reaches {target_model}'s pass@1 ({target:.4f})": fpr_to_match(p, target, recall),
            }
        )
    return pl.DataFrame(rows)


def utility_tables(model: str = "pythia-12b", fpr: float = 0.01, recall: float = 1.0, costs=STROEBL_COSTS) -> dict:
    from workbench.analysis.repeated_sampling import optimal_samples, resampling_utility

    _, p1 = monkeys_data()
    p = p1.filter(pl.col("model") == model)["pass1"].to_numpy()
    k = np.unique(np.geomspace(1, 1e4, 80).round())
    curves = pl.concat(
        [
            pl.DataFrame({"k": k, "utility": resampling_utility(p, k, recall, fpr, c), "cost": f"cost {c:g}"})
            for c in costs
        ]
    )
    best = []
    for c in costs:
        kk, u = optimal_samples(p, recall, fpr, c)
        if kk is not None:
            best.append({"cost": f"cost {c:g}", "k": float(max(kk, 1)), "k_star": kk, "utility": u})
    return {"curves": curves, "best": pl.DataFrame(best)}


@figure("verifier-cost-utility")
def verifier_cost_figure() -> Figure:
    model, fpr = "pythia-12b", 0.01
    tables = utility_tables(model, fpr)
    x = alt.X("k:Q", scale=LOG, axis=alt.Axis(format="~s"), title="attempts allowed k")
    colour = alt.Color(
        "cost:N",
        title="cost of a false positive",
        scale=alt.Scale(scheme="viridis"),
        sort=[f"cost {c:g}" for c in STROEBL_COSTS],
    )
    lines = (
        alt.Chart(tables["curves"])
        .mark_line(strokeWidth=2)
        .encode(
            x=x, y=alt.Y("utility:Q", title="mean utility per problem (+1 right, -cost wrong, 0 abstain)"), color=colour
        )
    )
    dots = (
        alt.Chart(tables["best"].filter(pl.col("k_star") > 0))
        .mark_point(size=90, filled=True, shape="diamond")
        .encode(x="k:Q", y="utility:Q", color=colour, tooltip=["cost:N", "k_star:Q", "utility:Q"])
    )
    zero = alt.Chart(pl.DataFrame({"y": [0.0]})).mark_rule(color="black", strokeWidth=0.5).encode(y="y:Q")
    chart = alt.layer(zero, lines, dots).properties(
        width=460,
        height=290,
        title=alt.TitleParams(
            f"Resample until the verifier accepts: {model} on MATH, false-positive rate {fpr:g}",
            subtitle=[
                "diamonds: the best budget k*; with a cost per false positive, more samples first help, then hurt"
            ],
        ),
    )
    caption = (
        f"Stroebl et al.'s policy (draw until the verifier accepts, at most k times; abstain otherwise) on {model}'s "
        f"per-problem MATH pass@1, recall 1, false-positive rate {fpr:g}: mean utility against k for costs "
        f"{', '.join(f'{c:g}' for c in STROEBL_COSTS)} of a wrong answer relative to a right one."
    )
    return Figure(
        "verifier-cost-utility", "12_inference_scaling", caption, chart, tables, bib(MONKEYS_SOURCE, "2411.17501")
    )
