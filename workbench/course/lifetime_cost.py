"""Lesson 04, second half: the lifetime cost of serving a model (training plus inference FLOPs).

With an expected number of served tokens, the cheapest model to reach a loss is smaller and trained longer
than the compute-optimal one; the explorer moves the served tokens and the law's constants.
"""

from __future__ import annotations

from collections.abc import Mapping

import altair as alt
import ipywidgets as w
import numpy as np
import polars as pl

from workbench.analysis.compute_optimal import chinchilla_optimal
from workbench.analysis.inference_cost import lifetime_optimal, plan_at_multiplier
from workbench.course import Figure, explorer, figure
from workbench.course.chinchilla_approaches import CHINCHILLA_BUDGET, HOFFMANN_UNROUNDED
from workbench.course.overtraining import GADRE_OT
from workbench.course.references import bib
from workbench.course.style import (
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
from workbench.laws import CHINCHILLA
from workbench.viz.explorer import Explorer


def gadre_as_chinchilla(values: Mapping[str, float]) -> dict[str, float]:
    """Gadre's law in (N, D): with C = 6ND and M = D/N it is E + a 6^-eta N^-2eta + b 6^-eta D^-2eta,
    a Chinchilla law with alpha = beta = 2 eta (N counts all parameters)."""
    eta = values["eta"]
    return {"E": values["E"], "A": values["a"] * 6**-eta, "B": values["b"] * 6**-eta, "alpha": 2 * eta, "beta": 2 * eta}


INFERENCE_LAWS = {
    "besiroglu": (
        "Chinchilla law, Besiroglu et al. 2024 constants (secondhand)",
        lambda: CHINCHILLA.preset("besiroglu2024").values,
    ),
    "hoffmann": (
        "Chinchilla law, Hoffmann et al. 2022 constants (unrounded, TeX source; secondhand)",
        lambda: HOFFMANN_UNROUNDED,
    ),
    "gadre-c4": (
        "Gadre et al. 2024 law (C4, authors' code), in (N, D) form",
        lambda: gadre_as_chinchilla(GADRE_OT.preset("gadre2024_c4").values),
    ),
}
SERVED_GRID = np.geomspace(1e8, 1e17, 55)


def inference_tables(
    law: str, reference_budget: float, served: float, tokens_per_param: float
) -> dict[str, pl.DataFrame]:
    """Frames of the lifetime-cost figure: the iso-loss cost curves, the three plans, and N_opt vs served tokens.

    The target loss is what the compute-optimal model reaches at ``reference_budget``; every plan
    reaches exactly that loss.
    """
    v = INFERENCE_LAWS[law][1]()
    target = float(chinchilla_optimal(v, [reference_budget]).loss[0])
    base = lifetime_optimal(v, target, [0.0])
    best = lifetime_optimal(v, target, [served])
    yours = plan_at_multiplier(v, target, [tokens_per_param], served)
    n = np.geomspace(base.params[0] / 30, base.params[0] * 10, 90)
    from workbench.analysis.inference_cost import tokens_for_loss

    d = tokens_for_loss(v, target, n)
    ok = np.isfinite(d)
    n, d = n[ok], d[ok]
    train, inf = 6 * n * d, 2 * n * served
    curves = pl.concat(
        [
            pl.DataFrame({"params": n, "flops": f, "tokens_per_param": d / n, "cost": name})
            for name, f in (("training", train), ("inference", inf), ("total", train + inf))
        ]
    )
    plans = pl.DataFrame(
        [
            {
                "plan": name,
                "params": float(p.params[0]),
                "tokens": float(p.tokens[0]),
                "tokens_per_param": float(p.tokens_per_param[0]),
                "train_flops": float(p.train_flops[0]),
                "inference_flops": float(2 * p.params[0] * served),
                "total_flops": float(p.train_flops[0] + 2 * p.params[0] * served),
            }
            for name, p in (("compute-optimal", base), ("lifetime-optimal", best), ("yours", yours))
        ]
    )
    sweep = lifetime_optimal(v, target, SERVED_GRID)
    shrink = pl.DataFrame({"served": SERVED_GRID, "params": sweep.params, "tokens_per_param": sweep.tokens_per_param})
    summary = pl.DataFrame(
        [
            {
                "law": INFERENCE_LAWS[law][0],
                "reference_budget": reference_budget,
                "target_loss": target,
                "served": served,
                "tokens_per_param_yours": tokens_per_param,
            }
        ]
    )
    return {
        "curves": curves.filter(pl.col("flops") > 0),
        "plans": plans,
        "shrink": shrink,
        "served": pl.DataFrame({"served": [served]}),
        "summary": summary,
    }


PLAN_COLOURS = alt.Scale(domain=["compute-optimal", "lifetime-optimal", "yours"], range=["#7f7f7f", "#2ca02c", RED])


def inference_chart() -> alt.HConcatChart:
    x = alt.X("params:Q", scale=LOG, axis=SCI, title="parameters N (each trained to the target loss)")
    curves = (
        alt.Chart(named("curves"))
        .mark_line(strokeWidth=2)
        .encode(
            x=x,
            y=alt.Y("flops:Q", scale=LOG, axis=SCI, title="FLOPs over the model's lifetime"),
            strokeDash=alt.StrokeDash(
                "cost:N",
                scale=alt.Scale(domain=["training", "inference", "total"], range=[[6, 3], [2, 2], [1, 0]]),
                title=None,
                legend=alt.Legend(orient="bottom"),
            ),
            color=alt.value("#1f77b4"),
            tooltip=["cost:N", "params:Q", "flops:Q", "tokens_per_param:Q"],
        )
    )
    plans = (
        alt.Chart(named("plans"))
        .mark_point(shape="diamond", size=150, filled=True)
        .encode(
            x="params:Q",
            y="total_flops:Q",
            color=alt.Color("plan:N", scale=PLAN_COLOURS, title=None, legend=alt.Legend(orient="bottom")),
            tooltip=[
                "plan:N",
                "params:Q",
                "tokens:Q",
                "tokens_per_param:Q",
                "train_flops:Q",
                "inference_flops:Q",
                "total_flops:Q",
            ],
        )
    )
    left = alt.layer(curves, plans).properties(
        width=340, height=290, title="same loss, different sizes: what each costs"
    )
    shrink = (
        alt.Chart(named("shrink"))
        .mark_line(strokeWidth=2, color="#2ca02c")
        .encode(
            x=alt.X("served:Q", scale=LOG, axis=SCI, title="tokens served over the model's life"),
            y=alt.Y("params:Q", scale=LOG, axis=SCI, title="lifetime-optimal N"),
            tooltip=["served:Q", "params:Q", "tokens_per_param:Q"],
        )
    )
    flat = (
        alt.Chart(named("plans"))
        .transform_filter("datum.plan == 'compute-optimal'")
        .mark_rule(strokeDash=[6, 3], color="#7f7f7f")
        .encode(y="params:Q")
    )
    now = alt.Chart(named("served")).mark_rule(color="#2ca02c", strokeWidth=1).encode(x="served:Q")
    right = alt.layer(flat, shrink, now).properties(
        width=300, height=290, title="the optimum shrinks as demand grows (dashed: compute-optimal)"
    )
    return alt.hconcat(left, right)


def inference_sentence(tables: Mapping[str, pl.DataFrame]) -> str:
    s = tables["summary"].row(0, named=True)
    p = {r["plan"]: r for r in tables["plans"].iter_rows(named=True)}
    base, best, yours = p["compute-optimal"], p["lifetime-optimal"], p["yours"]
    saving = 1 - best["total_flops"] / base["total_flops"]
    extra = yours["total_flops"] / best["total_flops"] - 1
    shrink = base["params"] / best["params"]
    best_text = (
        f"is still about the compute-optimal model (N = {best['params']:.3g}); inference is too small to matter"
        if shrink < 1.02
        else f"has N = {best['params']:.3g} ({shrink:.2f}× smaller, {best['tokens_per_param']:.0f} tokens/param) "
        f"and costs {saving:.0%} less in total than the compute-optimal one"
    )
    return (
        f"Target loss {s['target_loss']:.3f} (compute-optimal at {s['reference_budget']:.1e} FLOPs: N = "
        f"{base['params']:.3g}, "
        f"{base['tokens_per_param']:.0f} tokens/param). Serving {s['served']:.1e} tokens, the lifetime-optimal model "
        f"{best_text}. Yours (M = {s['tokens_per_param_yours']:.0f}): N = {yours['params']:.3g}, {extra:+.0%} total "
        "cost vs the optimum."
    )


class InferenceExplorer(Explorer):
    """Total (training + inference) FLOPs to reach a target loss: the optimum shrinks as served tokens grow."""

    stem = "04_inference_cost"
    heading = "Lifetime cost: training 6ND plus inference 2N per served token"

    def __init__(
        self,
        law: str = "besiroglu",
        reference_budget: float = 5.76e23,
        served: float = 1e13,
        tokens_per_param: float = 100.0,
        **kwargs,
    ):
        self.served = slider(
            w.FloatLogSlider,
            value=served,
            base=10,
            min=9,
            max=16,
            step=0.1,
            description="tokens served (inference)",
            readout_format=".1e",
        )
        self.tokens_per_param = slider(
            w.FloatLogSlider,
            value=tokens_per_param,
            base=10,
            min=0.5,
            max=4,
            step=0.05,
            description="your tokens per parameter",
            readout_format=".0f",
        )
        self.reference = slider(
            w.FloatLogSlider,
            value=reference_budget,
            base=10,
            min=19,
            max=26,
            step=0.1,
            description="target = optimum loss at C (FLOPs)",
            readout_format=".1e",
        )
        self.law = w.Dropdown(
            options=[(v[0], k) for k, v in INFERENCE_LAWS.items()],
            value=law,
            description="loss law",
            style=SLIDER_STYLE,
            layout=SLIDER_LAYOUT,
        )
        self.law.observe(lambda _: setattr(self, "bibtex", self._bib()), names="value")
        super().__init__(bibtex=self._bib(), **kwargs)

    def _bib(self) -> str:
        return bib("2401.00448", "gadre_overtraining" if self.law.value == "gadre-c4" else "chinchilla_epoch")

    def controls(self):
        return [self.served, self.tokens_per_param, self.reference, self.law]

    def tables(self):
        return inference_tables(
            self.law.value, float(self.reference.value), float(self.served.value), float(self.tokens_per_param.value)
        )

    def chart(self):
        return inference_chart()

    def sentence(self) -> str:
        return inference_sentence(self._tables)


@figure("lifetime-optimal-model")
def inference_figure() -> Figure:
    tables = inference_tables("besiroglu", 5.76e23, 1e13, 100.0)
    sentence = inference_sentence(tables)
    chart = titled(inference_chart(), InferenceExplorer.heading, sentence)
    return Figure(
        "lifetime-optimal-model",
        "04_overtraining",
        sentence,
        with_data(chart, tables),
        tables,
        bib("2401.00448", "chinchilla_epoch"),
    )


@explorer("04_inference_cost")
def inference_explorer():
    return InferenceExplorer()


def lifetime_table(
    law: str = "besiroglu", reference_budget: float = CHINCHILLA_BUDGET, served=(0.0, 1e11, 1e12, 1e13, 1e14, 1e15)
) -> pl.DataFrame:
    """The lifetime-optimal model for several served-token counts, against the compute-optimal one."""
    v = INFERENCE_LAWS[law][1]()
    target = float(chinchilla_optimal(v, [reference_budget]).loss[0])
    base = lifetime_optimal(v, target, [0.0])
    plan = lifetime_optimal(v, target, list(served))
    base_total = base.train_flops[0] + 2 * base.params[0] * plan.served
    return pl.DataFrame(
        {
            "tokens served": plan.served,
            "N": plan.params,
            "tokens/param": np.round(plan.tokens_per_param, 1),
            "× smaller than compute-optimal": np.round(base.params[0] / plan.params, 2),
            "total FLOPs": plan.total_flops,
            "saving vs compute-optimal": np.round(1 - plan.total_flops / base_total, 3),
        }
    )
