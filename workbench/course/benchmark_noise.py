"""Lesson 05, second half: why downstream metrics look like jumps, and how noisy benchmarks are.

Exact-match emergence from a smooth per-token loss (Schaeffer et al.), the step-to-step noise of Pythia's
benchmarks, and the spread of observational scaling across model families.
"""

from __future__ import annotations

from collections.abc import Mapping

import altair as alt
import numpy as np
import polars as pl

from workbench import corpus
from workbench.course import Figure, figure
from workbench.course.references import bib
from workbench.course.style import (
    LOG,
    RED,
    SCI,
)


def exact_match_tables(questions: int = 100) -> dict[str, pl.DataFrame]:
    """Schaeffer et al.'s argument in numbers: if each answer token is right with probability e^-l, a k-token
    exact match succeeds with e^-kl -- smooth in l, yet it looks like a jump on a linear axis, and a benchmark of
    ``questions`` items reads 0 below about 1/questions."""
    ell = np.linspace(0.02, 2.0, 100)
    rows = [
        pl.DataFrame({"per_token_loss": ell, "accuracy": np.exp(-k * ell), "answer": f"{k}-token answer"})
        for k in (1, 5, 20)
    ]
    return {
        "curves": pl.concat(rows),
        "floor": pl.DataFrame({"accuracy": [1.0 / questions], "label": [f"1/{questions}: one right answer"]}),
    }


def exact_match_chart(tables: Mapping[str, pl.DataFrame]) -> alt.HConcatChart:
    x = alt.X("per_token_loss:Q", scale=alt.Scale(reverse=True), title="loss per answer token ℓ (nats; better →)")
    colour = alt.Color(
        "answer:N",
        title=None,
        legend=alt.Legend(orient="bottom"),
        sort=["1-token answer", "5-token answer", "20-token answer"],
    )
    lin = (
        alt.Chart(tables["curves"])
        .mark_line(strokeWidth=2)
        .encode(x=x, y=alt.Y("accuracy:Q", title="exact-match accuracy e^(−kℓ)"), color=colour)
    )
    logc = (
        alt.Chart(tables["curves"])
        .mark_line(strokeWidth=2)
        .encode(
            x=x,
            y=alt.Y("accuracy:Q", scale=alt.Scale(type="log", domain=[1e-6, 1], clamp=True), title="same, log scale"),
            color=colour,
        )
    )
    floor = alt.Chart(tables["floor"]).mark_rule(strokeDash=[4, 3], color=RED).encode(y="accuracy:Q")
    label = (
        alt.Chart(tables["floor"])
        .mark_text(align="left", dx=4, dy=-6, color=RED)
        .encode(y="accuracy:Q", x=alt.datum(2.0), text="label:N")
    )
    return alt.hconcat(
        lin.properties(width=300, height=250, title="linear axis: looks like a sudden jump"),
        alt.layer(logc, floor, label).properties(
            width=300, height=250, title="log axis: straight lines, hidden below 1/n"
        ),
    )


@figure("exact-match-emergence")
def exact_match_figure() -> Figure:
    tables = exact_match_tables()
    caption = (
        "A smooth per-token improvement becomes an apparent jump under exact match (Schaeffer et al. 2023); "
        "a 100-question benchmark cannot see accuracies below 1% (the motivation for PassUntil, Hu et al. 2024)."
    )
    return Figure(
        "exact-match-emergence",
        "05_downstream",
        caption,
        exact_match_chart(tables),
        tables,
        bib("2304.15004", "2310.03262", "2206.07682"),
    )


PYTHIA_RUNS = ("pythia-70m", "pythia-160m", "pythia-410m", "pythia-1.4b", "pythia-2.8b", "pythia-6.9b", "pythia-12b")


def pythia_noise_tables(tasks: tuple[str, ...] = ("wsc", "lambada_openai")) -> dict[str, pl.DataFrame]:
    """Zero-shot accuracy of the Pythia models at every checkpoint with its 95 % binomial interval, for a
    104-question task (WSC) and a 5,153-question one (LAMBADA)."""
    p = corpus.load("pythia_evals", metric="accuracy").filter(
        pl.col("run_id").is_in(list(PYTHIA_RUNS))
        & pl.col("eval_set").is_in(list(tasks))
        & (pl.col("shots") == 0)
        & pl.col("tokens").is_not_null()
        & pl.col("value_stderr").is_not_null()
    )
    p = p.select(
        pl.col("run_id").str.replace("pythia-", "").alias("model"),
        "params",
        "tokens",
        "step",
        pl.col("eval_set").alias("task"),
        pl.col("value").alias("accuracy"),
        (pl.col("value") - 1.96 * pl.col("value_stderr")).alias("low"),
        (pl.col("value") + 1.96 * pl.col("value_stderr")).alias("high"),
    ).sort("task", "params", "step")
    return {"checkpoints": p}


def pythia_noise_chart(tables: Mapping[str, pl.DataFrame]) -> alt.FacetChart:
    order = [r.replace("pythia-", "") for r in PYTHIA_RUNS]
    colour = alt.Color("model:N", sort=order, scale=alt.Scale(scheme="viridis"), title="Pythia model")
    x = alt.X("tokens:Q", scale=LOG, axis=SCI, title="training tokens")
    band = (
        alt.Chart()
        .mark_area(opacity=0.15)
        .encode(x=x, y=alt.Y("low:Q", title="zero-shot accuracy (95% interval)"), y2="high:Q", color=colour)
    )
    line = (
        alt.Chart()
        .mark_line(strokeWidth=1.5)
        .encode(
            x=x,
            y="accuracy:Q",
            color=colour,
            tooltip=["model:N", "step:Q", "tokens:Q", "accuracy:Q", "low:Q", "high:Q"],
        )
    )
    return (
        alt.layer(band, line, data=tables["checkpoints"])
        .properties(width=300, height=240)
        .facet(column=alt.Column("task:N", title=None))
        .resolve_scale(y="independent")
        .properties(title="Pythia checkpoints: a 104-question task (WSC) vs a 5,153-question task (LAMBADA)")
    )


@figure("pythia-benchmark-noise")
def pythia_noise_figure() -> Figure:
    tables = pythia_noise_tables()
    caption = (
        "Pythia checkpoints on a 104-question task (WSC) and a 5,153-question task (LAMBADA): the small benchmark's "
        "95% interval is wider than most differences between checkpoints and models."
    )
    return Figure(
        "pythia-benchmark-noise", "05_downstream", caption, pythia_noise_chart(tables), tables, bib("pythia_evals")
    )


def observational_tables(benchmarks: tuple[str, ...] = ("MMLU", "GSM8K")) -> dict[str, pl.DataFrame]:
    """Ruan et al.'s table of public models: accuracy vs training compute, one point per model."""
    o = corpus.load("obs_scaling", metric="accuracy").filter(
        pl.col("eval_set").is_in(list(benchmarks)) & pl.col("flops").is_not_null()
    )
    return {
        "models": o.select(
            "run_id",
            "family",
            "params",
            "tokens",
            "flops",
            pl.col("eval_set").alias("benchmark"),
            pl.col("value").alias("accuracy"),
        ).sort("benchmark", "flops")
    }


def observational_chart(tables: Mapping[str, pl.DataFrame]) -> alt.FacetChart:
    return (
        alt.Chart(tables["models"])
        .mark_circle(size=35, opacity=0.75)
        .encode(
            x=alt.X("flops:Q", scale=LOG, axis=SCI, title="training compute (FLOPs)"),
            y=alt.Y("accuracy:Q", title="accuracy"),
            color=alt.Color("family:N", legend=None, scale=alt.Scale(scheme="category20")),
            tooltip=["run_id:N", "family:N", "flops:Q", "accuracy:Q"],
        )
        .properties(width=300, height=240)
        .facet(column=alt.Column("benchmark:N", title=None))
        .properties(title="Public models (Ruan et al. 2024): accuracy vs training compute, colour = model family")
    )


@figure("observational-spread")
def observational_figure() -> Figure:
    tables = observational_tables()
    caption = (
        "Public models (Ruan et al. 2024's table): at the same training compute, accuracy differs widely between "
        "model families, so compute alone is a poor predictor of a downstream score."
    )
    return Figure(
        "observational-spread", "05_downstream", caption, observational_chart(tables), tables, bib("obs_scaling")
    )
