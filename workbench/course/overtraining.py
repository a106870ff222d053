"""Lesson 04: over-training (Gadre et al. 2024): loss and compute penalty of training past 20 tokens per parameter."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import altair as alt
import ipywidgets as w
import numpy as np
import polars as pl

from workbench import corpus
from workbench.course import Figure, explorer, figure
from workbench.course.references import bib
from workbench.course.style import (
    LOG,
    RED,
    SLIDER_LAYOUT,
    SLIDER_STYLE,
    named,
    slider,
    titled,
    with_data,
)
from workbench.fit import FitResult, caution_of, fit
from workbench.laws import get_law
from workbench.viz.explorer import Explorer

GADRE_OT = get_law("gadre_overtraining")
GADRE_SETS = {"c4": "C4", "redpajama": "RedPajama", "refinedweb": "RefinedWeb"}
GADRE_PRESETS = {"c4": "gadre2024_c4", "redpajama": "gadre2024_redpajama", "refinedweb": "gadre2024_refinedweb"}
MULTIPLIERS = (5, 10, 20, 40, 80, 160, 320, 640)
SIZE_LABELS = {
    10569312: "11M",
    78914048: "79M",
    153677376: "154M",
    411616256: "412M",
    1439795200: "1.4B",
    6889410560: "6.9B",
}


@lru_cache(maxsize=1)
def gadre_runs() -> pl.DataFrame:
    """Gadre et al.'s 104 runs: C4-eval loss, C = 6ND, token multiplier M = D/N, and whether the paper's law fit
    uses it.

    The loss law is fitted (as in the authors' ``fit_ds``) on the four small shapes at M = 20 and
    the smallest shape at M = 320.
    """
    g = corpus.load("gadre_overtraining", metric="loss").filter(pl.col("eval_set") == "c4_val")
    g = g.with_columns(
        (pl.col("tokens") / pl.col("params")).round(2).alias("token_multiplier"),
        (6 * pl.col("params") * pl.col("tokens")).alias("flops"),
        pl.col("value").alias("loss"),
    )
    small = pl.col("params") < 1e9
    in_fit = ((pl.col("token_multiplier") == 20) & small) | (
        (pl.col("token_multiplier") == 320) & (pl.col("params") < 2e7)
    )
    return g.with_columns(
        in_fit.alias("in_fit"), pl.col("params").cast(pl.Int64).replace_strict(SIZE_LABELS, default="?").alias("size")
    ).select("run_id", "train_set", "size", "params", "tokens", "token_multiplier", "flops", "loss", "in_fit")


def exponent_sharing(law_name: str = "gadre_overtraining"):
    """Do C4, RedPajama and RefinedWeb share the law's exponents?  All 104 runs, jointly and per training set.

    Returns :class:`workbench.analysis.groups.GroupComparison` (``verdict``, ``exponents``, ``table``).
    """
    from workbench.analysis.groups import shared_vs_separate

    return shared_vs_separate(get_law(law_name), gadre_runs(), "train_set")


@lru_cache(maxsize=8)
def gadre_loss_fit(train_set: str) -> FitResult:
    """The over-training law refitted here on the paper's five runs (summed Huber on log residuals)."""
    runs = gadre_runs().filter((pl.col("train_set") == train_set) & pl.col("in_fit"))
    return fit(GADRE_OT, runs)


def objective_table() -> pl.DataFrame:
    """The same five runs per training set, fitted by the one engine under both objectives, beside the paper.

    ``least squares on losses`` is the authors' ``curve_fit`` objective (``space="linear"``); it
    gives back the constants of the authors' code, so the gap between the workbench's default refit
    and the authors' is the objective, not the optimiser.
    """
    rows = []
    for ts, label in GADRE_SETS.items():
        runs = gadre_runs().filter((pl.col("train_set") == ts) & pl.col("in_fit"))
        fits = {
            "Huber on log losses (workbench default)": gadre_loss_fit(ts).params,
            "least squares on losses (the authors' objective)": fit(
                GADRE_OT, runs, loss="squared", space="linear"
            ).params,
            "authors' code (fit_ds)": GADRE_OT.preset(GADRE_PRESETS[ts]).values,
        }
        for how, v in fits.items():
            rows.append({"data": label, "fit": how, **{k: round(float(v[k]), 4) for k in ("E", "a", "b", "eta")}})
    return pl.DataFrame(rows)


def gadre_constants(train_set: str, which: str) -> dict[str, float]:
    """``which`` is "refit" (the workbench's fit here) or "authors" (the authors' code's constants)."""
    if which == "authors":
        return dict(GADRE_OT.preset(GADRE_PRESETS[train_set]).values)
    return dict(gadre_loss_fit(train_set).params)


def overtraining_penalty(values: Mapping[str, float], m, reference: float = 20.0) -> np.ndarray:
    """Compute needed at token multiplier ``m`` over that at ``reference`` for the same loss.

    L - E = (a M^eta + b M^-eta) C^-eta, so at equal loss C_M / C_ref = (g(M) / g(ref))^(1/eta).
    """
    a, b, eta = values["a"], values["b"], values["eta"]
    g = lambda x: a * np.asarray(x, dtype=float) ** eta + b * np.asarray(x, dtype=float) ** -eta  # noqa: E731
    return (g(m) / g(reference)) ** (1.0 / eta)


def overtraining_tables(train_set: str, multiplier: float, which: str = "refit") -> dict[str, pl.DataFrame]:
    """Frames of the over-training figure: every run, the law at M and at 20, and the law's error on every run."""
    v = gadre_constants(train_set, which)
    runs = gadre_runs().filter(pl.col("train_set") == train_set)
    pred = GADRE_OT.predict(
        {"flops": runs["flops"].to_numpy(), "token_multiplier": runs["token_multiplier"].to_numpy()}, v
    )
    runs = runs.with_columns(
        pl.Series("predicted", pred),
        pl.Series("error_pct", 100 * (pred / runs["loss"].to_numpy() - 1)),
        (pl.col("token_multiplier") == multiplier).alias("selected"),
        pl.when(pl.col("in_fit")).then(pl.lit("fitted")).otherwise(pl.lit("predicted")).alias("role"),
    )
    c = np.geomspace(runs["flops"].min() / 2, runs["flops"].max() * 3, 60)
    lines = pl.concat(
        [
            pl.DataFrame(
                {
                    "flops": c,
                    "loss": GADRE_OT.predict({"flops": c, "token_multiplier": np.full(c.size, m)}, v),
                    "law at": label,
                }
            )
            for m, label in ((20.0, "M = 20"), (float(multiplier), "selected M"))
        ]
    )
    sel = runs.filter(pl.col("selected") & ~pl.col("in_fit"))
    biggest = sel.sort("params").tail(1)
    summary = pl.DataFrame(
        [
            {
                "train_set": GADRE_SETS[train_set],
                "constants": which,
                "M": float(multiplier),
                "runs_at_M": int(runs["selected"].sum()),
                "held_out_at_M": sel.height,
                "mean_abs_error_pct": float(sel["error_pct"].abs().mean()) if sel.height else float("nan"),
                "largest_at_M": biggest["size"][0] if biggest.height else "",
                "largest_error_pct": float(biggest["error_pct"][0]) if biggest.height else float("nan"),
                "compute_vs_M20": float(overtraining_penalty(v, multiplier)),
                **{k: float(v[k]) for k in ("E", "a", "b", "eta")},
                "held_out_mean_abs_error_pct": float(runs.filter(~pl.col("in_fit"))["error_pct"].abs().mean()),
            }
        ]
    )
    keep = [
        "run_id",
        "size",
        "params",
        "tokens",
        "token_multiplier",
        "flops",
        "loss",
        "predicted",
        "error_pct",
        "selected",
        "role",
    ]
    return {
        "runs": runs.select(keep),
        "lines": lines,
        "selected_m": pl.DataFrame({"token_multiplier": [float(multiplier)]}),
        "summary": summary,
    }


def overtraining_chart() -> alt.HConcatChart:
    x = alt.X(
        "flops:Q",
        scale=LOG,
        axis=alt.Axis(format=".0e", values=[1e15, 1e17, 1e19, 1e21, 1e23]),
        title="training compute C = 6ND (FLOPs)",
    )
    base = (
        alt.Chart(named("runs"))
        .mark_circle(size=22, color="#bbbbbb")
        .encode(
            x=x,
            y=alt.Y("loss:Q", scale=alt.Scale(type="log", zero=False, nice=False), title="C4-eval loss (log scale)"),
        )
    )
    lines = (
        alt.Chart(named("lines"))
        .mark_line(strokeWidth=2)
        .encode(
            x="flops:Q",
            y="loss:Q",
            strokeDash=alt.StrokeDash(
                "law at:N",
                scale=alt.Scale(domain=["M = 20", "selected M"], range=[[5, 4], [1, 0]]),
                title="law",
                legend=alt.Legend(orient="bottom"),
            ),
            color=alt.value("#1f77b4"),
        )
    )
    sel = (
        alt.Chart(named("runs"))
        .transform_filter("datum.selected")
        .mark_point(size=70, filled=True)
        .encode(
            x="flops:Q",
            y="loss:Q",
            color=alt.Color(
                "size:N",
                sort=list(SIZE_LABELS.values()),
                title="model size",
                scale=alt.Scale(scheme="viridis"),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=["size:N", "token_multiplier:Q", "flops:Q", "loss:Q", "predicted:Q", "error_pct:Q", "role:N"],
        )
    )
    fitted = (
        alt.Chart(named("runs"))
        .transform_filter("datum.role == 'fitted'")
        .mark_point(size=160, color=RED, strokeWidth=1.5)
        .encode(x="flops:Q", y="loss:Q")
    )
    left = alt.layer(base, lines, sel, fitted).properties(
        width=340, height=290, title="loss vs compute at the selected multiplier (red rings: the 5 fitted runs)"
    )
    err = (
        alt.Chart(named("runs"))
        .mark_point(size=45, filled=True)
        .encode(
            x=alt.X(
                "token_multiplier:Q",
                scale=alt.Scale(type="log", base=2),
                title="token multiplier M = D/N (Chinchilla ≈ 20)",
            ),
            y=alt.Y("error_pct:Q", title="law's prediction error (%)"),
            color=alt.Color("size:N", sort=list(SIZE_LABELS.values()), scale=alt.Scale(scheme="viridis"), legend=None),
            shape=alt.Shape(
                "role:N",
                scale=alt.Scale(domain=["fitted", "predicted"], range=["square", "circle"]),
                title=None,
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=["size:N", "token_multiplier:Q", "loss:Q", "predicted:Q", "error_pct:Q", "role:N"],
        )
    )
    rule = alt.Chart(named("selected_m")).mark_rule(color=RED, strokeWidth=1.5).encode(x="token_multiplier:Q")
    zero = alt.Chart(named("selected_m")).mark_rule(color="black", strokeWidth=0.5).encode(y=alt.datum(0))
    right = alt.layer(zero, rule, err).properties(
        width=300, height=290, title="error on every run (red line: selected M)"
    )
    return alt.hconcat(left, right).resolve_scale(color="shared")


def overtraining_sentence(tables: Mapping[str, pl.DataFrame]) -> str:
    s = tables["summary"].row(0, named=True)
    who = (
        "refitted here on the paper's 5 runs"
        if s["constants"] == "refit"
        else "constants from Gadre et al.'s code, fit_ds"
    )
    held = (
        f"{s['held_out_at_M']} of them were not fitted; the law ({who}) predicts those with mean |error| "
        f"{s['mean_abs_error_pct']:.1f}% (largest, {s['largest_at_M']}: {s['largest_error_pct']:+.1f}%)"
        if s["held_out_at_M"]
        else f"all of them were fitted ({who})"
    )
    return (
        f"{s['train_set']}, M = {s['M']:g}: {s['runs_at_M']} runs; {held}. For the same loss, training at M = "
        f"{s['M']:g} "
        f"needs {s['compute_vs_M20']:.2f}× the compute of M = 20 (law: E = {s['E']:.3f}, η = {s['eta']:.4f})."
    )


class OvertrainingExplorer(Explorer):
    """Gadre et al.'s over-training law: one power law in compute per token multiplier, same exponent."""

    stem = "04_overtraining"

    def __init__(self, train_set: str = "c4", multiplier: int = 320, **kwargs):
        self.multiplier = slider(
            w.SelectionSlider, options=list(MULTIPLIERS), value=multiplier, description="token multiplier M = D/N"
        )
        self.train_set = w.Dropdown(
            options=[(v, k) for k, v in GADRE_SETS.items()],
            value=train_set,
            description="training data",
            style=SLIDER_STYLE,
            layout=SLIDER_LAYOUT,
        )
        self.constants = w.Dropdown(
            options=[
                ("refit here on the paper's 5 runs", "refit"),
                ("authors' code (Gadre et al. 2024, fit_ds)", "authors"),
            ],
            value="refit",
            description="constants",
            style=SLIDER_STYLE,
            layout=SLIDER_LAYOUT,
        )
        super().__init__(bibtex=bib("gadre_overtraining"), **kwargs)

    def controls(self):
        return [self.multiplier, self.train_set, self.constants]

    def tables(self):
        return overtraining_tables(self.train_set.value, float(self.multiplier.value), self.constants.value)

    def chart(self):
        return overtraining_chart()

    def sentence(self) -> str:
        return overtraining_sentence(self._tables)

    def fits(self):
        return {"over-training law": gadre_loss_fit(self.train_set.value)} if self.constants.value == "refit" else {}

    heading = "Gadre et al. 2024: over-training is predictable"


@figure("gadre-overtraining")
def overtraining_figure() -> Figure:
    tables = overtraining_tables("c4", 320)
    sentence = overtraining_sentence(tables)
    chart = titled(overtraining_chart(), OvertrainingExplorer.heading, sentence)
    return Figure(
        "gadre-overtraining",
        "04_overtraining",
        sentence,
        with_data(chart, tables),
        tables,
        bib("gadre_overtraining"),
        caution=caution_of({"over-training law": gadre_loss_fit("c4")}),
    )


@explorer("04_overtraining")
def overtraining_explorer():
    return OvertrainingExplorer()


# --------------------------------------------------------------------------- tables the notebooks print
def overtraining_table() -> pl.DataFrame:
    """Per training set and constants: the law, its own optimal multiplier, the compute penalty of over-training,
    and its error on the runs it was not fitted on (M >= 20 and M = 5 separately)."""
    rows = []
    for ts, label in GADRE_SETS.items():
        for which in ("refit", "authors"):
            v = gadre_constants(ts, which)
            t = overtraining_tables(ts, 20, which)["runs"].filter(pl.col("role") == "predicted")
            rows.append(
                {
                    "data": label,
                    "constants": which,
                    **{k: round(float(v[k]), 4) for k in ("E", "a", "b", "eta")},
                    "law's optimal M = (b/a)^(1/2η)": round(float((v["b"] / v["a"]) ** (1 / (2 * v["eta"]))), 2),
                    "compute ×, M=80": round(float(overtraining_penalty(v, 80)), 2),
                    "compute ×, M=320": round(float(overtraining_penalty(v, 320)), 2),
                    "mean |error| %, M ≥ 20": round(
                        float(t.filter(pl.col("token_multiplier") >= 20)["error_pct"].abs().mean()), 2
                    ),
                    "mean |error| %, M = 5": round(
                        float(t.filter(pl.col("token_multiplier") == 5)["error_pct"].abs().mean()), 2
                    ),
                }
            )
    return pl.DataFrame(rows)
