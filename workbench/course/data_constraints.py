"""Lesson 11: repeated data (Muennighoff et al. 2023) and data pruning."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import altair as alt
import ipywidgets as w
import numpy as np
import polars as pl

from workbench.course import Figure, explorer, figure
from workbench.course.references import bib
from workbench.course.style import (
    LOG,
    SLIDER_LAYOUT,
    SLIDER_STYLE,
    WIDTH,
    YOURS,
    named,
    with_data,
)
from workbench.laws import get_law
from workbench.laws.data_constrained import README_FIT, effective_data, optimal_allocation
from workbench.viz.explorer import Explorer

DATA_CONSTRAINED = get_law("data_constrained")
MUENNIGHOFF = dict(README_FIT)  # the datablations README's parametric fit (authors' code)


def repetition_value(epochs) -> np.ndarray:
    """D'/U_D: what ``epochs`` passes over U_D unique tokens are worth, in unique-token epochs."""
    e = np.asarray(epochs, dtype=float)
    return np.asarray(effective_data(e, 1.0, MUENNIGHOFF["rd_star"]))


def data_constrained_tables(unique: float, epochs: float, params: float) -> dict[str, pl.DataFrame]:
    """Frames of the repetition figure for ``unique`` tokens, ``epochs`` passes and a model of ``params``."""
    e = np.geomspace(1.0, 1000.0, 160)
    value = pl.concat(
        [
            pl.DataFrame({"epochs": e, "worth": e, "data": "fresh tokens (each epoch new data)"}),
            pl.DataFrame({"epochs": e, "worth": repetition_value(e), "data": "repeated tokens (Muennighoff law)"}),
        ]
    )
    n = np.full(e.size, float(params))
    d = e * unique
    rep = DATA_CONSTRAINED.predict(
        {"params": n, "tokens": d, "unique_tokens": np.full(e.size, float(unique))}, MUENNIGHOFF
    )
    fresh = DATA_CONSTRAINED.predict({"params": n, "tokens": d, "unique_tokens": d}, MUENNIGHOFF)
    loss = pl.concat(
        [
            pl.DataFrame({"epochs": e, "tokens": d, "loss": fresh, "data": "fresh tokens (each epoch new data)"}),
            pl.DataFrame({"epochs": e, "tokens": d, "loss": rep, "data": "repeated tokens (Muennighoff law)"}),
        ]
    )
    x = {
        "params": np.array([float(params)]),
        "tokens": np.array([epochs * unique]),
        "unique_tokens": np.array([float(unique)]),
    }
    l_rep = float(DATA_CONSTRAINED.predict(x, MUENNIGHOFF)[0])
    l_fresh = float(DATA_CONSTRAINED.predict({**x, "unique_tokens": x["tokens"]}, MUENNIGHOFF)[0])
    worth = float(repetition_value([epochs])[0])
    chosen = pl.DataFrame(
        {
            "epochs": [float(epochs)],
            "tokens": [epochs * unique],
            "unique_tokens": [float(unique)],
            "params": [float(params)],
            "worth": [worth],
            "loss_repeated": [l_rep],
            "loss_fresh": [l_fresh],
            "value_of_repeats": [(worth - 1) / (epochs - 1) if epochs > 1 else 1.0],
            "label": [f"N = {params:.2g} parameters, U_D = {unique:.2g} unique tokens"],
        }
    )
    asymptote = pl.DataFrame({"worth": [1.0 + MUENNIGHOFF["rd_star"]]})
    return {"value": value, "loss": loss, "chosen": chosen, "asymptote": asymptote}


def data_constrained_chart(title: str = "") -> alt.HConcatChart:
    colour = alt.Color(
        "data:N",
        scale=alt.Scale(
            domain=["fresh tokens (each epoch new data)", "repeated tokens (Muennighoff law)"],
            range=["#999999", "#1f77b4"],
        ),
        title=None,
        legend=alt.Legend(orient="bottom"),
    )
    x = alt.X("epochs:Q", scale=LOG, title="epochs over the unique data (tokens seen / unique tokens)")
    val = (
        alt.Chart(named("value"))
        .mark_line(strokeWidth=2)
        .encode(x=x, y=alt.Y("worth:Q", scale=LOG, title="worth in epochs of fresh data (D′/U)"), color=colour)
    )
    asym = alt.Chart(named("asymptote")).mark_rule(strokeDash=[5, 4], color="#1f77b4").encode(y="worth:Q")
    dot = (
        alt.Chart(named("chosen"))
        .mark_point(shape="diamond", size=150, filled=True, color=YOURS)
        .encode(x="epochs:Q", y="worth:Q", tooltip=["epochs:Q", "worth:Q", "value_of_repeats:Q"])
    )
    left = alt.layer(val, asym, dot).properties(
        width=330, height=280, title="what repeated epochs are worth (dashed: 1 + R_D*)"
    )
    lines = (
        alt.Chart(named("loss"))
        .mark_line(strokeWidth=2)
        .encode(
            x=x,
            y=alt.Y("loss:Q", scale=alt.Scale(zero=False), title="predicted loss (nats/token)"),
            color=colour,
            tooltip=["epochs:Q", "tokens:Q", "loss:Q", "data:N"],
        )
    )
    d_rep = (
        alt.Chart(named("chosen"))
        .mark_point(shape="diamond", size=150, filled=True, color=YOURS)
        .encode(x="epochs:Q", y="loss_repeated:Q", tooltip=["epochs:Q", "tokens:Q", "loss_repeated:Q", "loss_fresh:Q"])
    )
    d_fresh = (
        alt.Chart(named("chosen"))
        .mark_point(shape="diamond", size=90, color="#555555")
        .encode(x="epochs:Q", y="loss_fresh:Q")
    )
    label = (
        alt.Chart(named("chosen"))
        .mark_text(align="right", baseline="top", dx=-4, dy=4, fontSize=12)
        .encode(x=alt.value(330), y=alt.value(0), text="label:N")
    )
    right = alt.layer(lines, d_rep, d_fresh, label).properties(
        width=330, height=280, title="loss of a model of N parameters vs tokens seen"
    )
    return alt.hconcat(left, right, title=title)


class DataConstrainedExplorer(Explorer):
    """Unique data, epochs and model size -> the value of repeated tokens and the loss they buy."""

    stem = "11_data_constraints"

    def __init__(self, **kwargs):
        self.unique = w.FloatLogSlider(
            value=2.5e10,
            base=10,
            min=8,
            max=12,
            step=0.05,
            description="unique tokens U_D",
            readout_format=".2e",
            style=SLIDER_STYLE,
            layout=SLIDER_LAYOUT,
            continuous_update=False,
        )
        self.epochs = w.FloatLogSlider(
            value=4.0,
            base=10,
            min=0,
            max=3,
            step=0.05,
            description="epochs D/U_D",
            readout_format=".3g",
            style=SLIDER_STYLE,
            layout=SLIDER_LAYOUT,
            continuous_update=False,
        )
        self.params = w.FloatLogSlider(
            value=2e9,
            base=10,
            min=7,
            max=11,
            step=0.05,
            description="parameters N",
            readout_format=".2e",
            style=SLIDER_STYLE,
            layout=SLIDER_LAYOUT,
            continuous_update=False,
        )
        super().__init__(bibtex=bib("2305.16264"), **kwargs)

    def controls(self):
        return [self.unique, self.epochs, self.params]

    def tables(self):
        return data_constrained_tables(self.unique.value, self.epochs.value, self.params.value)

    def chart(self):
        return data_constrained_chart("Muennighoff et al. (2023) data-constrained law (datablations README fit)")

    def readout(self) -> str:
        c = self._tables["chosen"].row(0, named=True)
        gap = c["loss_repeated"] - c["loss_fresh"]
        return (
            f"{c['epochs']:.3g} epochs over U_D = {c['unique_tokens']:.3g} unique tokens "
            f"(D = {c['tokens']:.3g} tokens seen) are worth <b>{c['worth']:.3g}</b> epochs of fresh data; each "
            "repeated "
            f"epoch is worth {c['value_of_repeats']:.0%} of a fresh one on average. With N = {c['params']:.3g}: "
            f"predicted loss {c['loss_repeated']:.4f} repeated vs {c['loss_fresh']:.4f} fresh "
            f"(<b>+{gap:.4f}</b> nats). However long you train, U_D tokens are never worth more than "
            f"{1 + MUENNIGHOFF['rd_star']:.1f} epochs of fresh data."
        )


@lru_cache(maxsize=4)
def constrained_allocation_table(
    unique: float = 25e9, decades: tuple[float, float] = (20.0, 24.0), points: int = 9
) -> pl.DataFrame:
    """Compute-optimal (N, D) with ``unique`` tokens available vs with unlimited unique data."""
    rows = []
    for c in np.logspace(*decades, points):
        n, d = optimal_allocation(c, unique, MUENNIGHOFF)
        n_free, d_free = optimal_allocation(c, 1e30, MUENNIGHOFF)
        x = {"params": np.array([n]), "tokens": np.array([d]), "unique_tokens": np.array([unique])}
        xf = {"params": np.array([n_free]), "tokens": np.array([d_free]), "unique_tokens": np.array([d_free])}
        rows.append(
            {
                "flops": c,
                "params": n,
                "tokens": d,
                "epochs": d / unique,
                "loss": float(DATA_CONSTRAINED.predict(x, MUENNIGHOFF)[0]),
                "params_unlimited": n_free,
                "tokens_unlimited": d_free,
                "loss_unlimited": float(DATA_CONSTRAINED.predict(xf, MUENNIGHOFF)[0]),
            }
        )
    return pl.DataFrame(rows)


def allocation_chart(table: pl.DataFrame, unique: float) -> alt.HConcatChart:
    long = pl.concat(
        [
            table.select("flops", "loss", "params", "tokens", pl.lit(f"only {unique:.2g} unique tokens").alias("data")),
            table.select(
                "flops",
                pl.col("loss_unlimited").alias("loss"),
                pl.col("params_unlimited").alias("params"),
                pl.col("tokens_unlimited").alias("tokens"),
                pl.lit("unlimited unique tokens").alias("data"),
            ),
        ]
    )
    x = alt.X("flops:Q", scale=LOG, axis=alt.Axis(format=".0e"), title="compute C = 6ND (FLOPs)")
    loss = (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=x,
            y=alt.Y("loss:Q", scale=alt.Scale(zero=False), title="loss at the optimum"),
            color=alt.Color("data:N", title=None, legend=alt.Legend(orient="bottom")),
            tooltip=["flops:Q", "params:Q", "tokens:Q", "loss:Q"],
        )
    )
    ep = (
        alt.Chart(table)
        .mark_line(point=True, color="#1f77b4")
        .encode(
            x=x,
            y=alt.Y("epochs:Q", scale=LOG, title="optimal epochs over the unique data"),
            tooltip=["flops:Q", "params:Q", "tokens:Q", "epochs:Q"],
        )
    )
    return alt.hconcat(
        loss.properties(width=300, height=240, title="loss of the compute-optimal model"),
        ep.properties(width=300, height=240, title="how many epochs the optimum repeats"),
        title=f"Muennighoff et al. (2023) law, README constants: {unique:.2g} unique tokens",
    )


# A counting illustration of Sorscher et al. (2022): no data, no fit -- closed forms of a 1-D toy.
def pruning_toy_tables(resolutions=(1.0, 1e-2, 1e-4, 0.0), max_examples: int = 400) -> dict[str, pl.DataFrame]:
    """Expected test error of a 1-D threshold learner vs the number of kept examples P.

    The boundary t is uniform on [0, 1]; the learner predicts the midpoint of the interval the
    labelled examples leave for t, so its expected error is a quarter of that interval's expected
    length.  Random examples: the interval containing t has expected length 2/(P+2), error
    1/(2(P+2)) -- a power law.  A metric that keeps the most informative example (the one at the
    current midpoint) halves the interval each time: error 2^-P / 4 -- exponential.  A metric of
    finite resolution ``delta`` can do that only until the interval is about ``delta`` wide
    (P0 = floor(log2(1/delta)) examples); after that the examples it keeps are as good as random
    within a window of width ``delta``: error delta / (2 (P - P0 + 2)) -- a power law again.
    """
    p = np.unique(np.round(np.geomspace(1, max_examples, 120)).astype(int)).astype(float)
    frames = []
    for delta in resolutions:
        if delta >= 1.0:
            err, name = 1.0 / (2.0 * (p + 2.0)), "random examples (no metric)"
        elif delta <= 0.0:
            err, name = 2.0**-p / 4.0, "perfect metric (each example halves the interval)"
        else:
            p0 = np.floor(np.log2(1.0 / delta))
            err = np.where(p <= p0, 2.0**-p / 4.0, delta / (2.0 * (np.maximum(p - p0, 0.0) + 2.0)))
            name = f"metric resolution δ = {delta:g}"
        frames.append(pl.DataFrame({"examples": p, "error": err, "metric": name}))
    out = pl.concat(frames).filter(pl.col("error") >= 1e-9)
    return {"curves": out}


def pruning_toy_chart(tables: Mapping[str, pl.DataFrame]) -> alt.Chart:
    return (
        alt.Chart(tables["curves"])
        .mark_line(strokeWidth=2)
        .encode(
            x=alt.X("examples:Q", scale=LOG, title="kept (pruned) training examples P"),
            y=alt.Y("error:Q", scale=LOG, axis=alt.Axis(format=".0e"), title="expected test error"),
            color=alt.Color(
                "metric:N", title="pruning metric", legend=alt.Legend(orient="bottom", columns=1, labelLimit=420)
            ),
            tooltip=["metric:N", "examples:Q", "error:Q"],
        )
        .properties(
            width=WIDTH,
            height=280,
            title=alt.TitleParams(
                "THEORY ILLUSTRATION (1-D toy, closed forms, no data)",
                subtitle=["why a good pruning metric can beat a power law (after Sorscher et al. 2022)"],
            ),
        )
    )


@figure("data-constrained-repetition")
def data_constrained_figure() -> Figure:
    tables = data_constrained_tables(25e9, 4.0, 2e9)
    caption = (
        "Muennighoff et al. (2023) law with the datablations README constants (authors' code): what repeated epochs "
        "are "
        "worth, and the predicted loss of a 2B-parameter model on 25B unique tokens repeated vs fresh."
    )
    return Figure(
        "data-constrained-repetition",
        "11_data_constraints",
        caption,
        with_data(data_constrained_chart("Muennighoff et al. (2023) data-constrained law"), tables),
        tables,
        bib("2305.16264"),
    )


@figure("data-constrained-allocation")
def data_constrained_allocation_figure() -> Figure:
    table = constrained_allocation_table()
    caption = (
        "Compute-optimal allocation with 25B unique tokens vs unlimited unique data, from the Muennighoff law "
        "(README constants); the README's own example is C = 1e22 -> 7.02e9 parameters, 2.373e11 tokens."
    )
    return Figure(
        "data-constrained-allocation",
        "11_data_constraints",
        caption,
        allocation_chart(table, 25e9),
        {"allocation": table},
        bib("2305.16264"),
    )


@figure("data-pruning-toy")
def pruning_toy_figure() -> Figure:
    tables = pruning_toy_tables()
    caption = (
        "Theory illustration, not data: expected error of a 1-D threshold learner with random examples "
        "(power law) and with kept examples chosen by pruning metrics of finite resolution (exponential, then "
        "a power law again). The mechanism Sorscher et al. (2022) analyse in a perceptron; their curves are not "
        "reproduced."
    )
    return Figure(
        "data-pruning-toy", "11_data_constraints", caption, pruning_toy_chart(tables), tables, bib("2206.14486")
    )


@explorer("11_data_constraints")
def data_constrained_explorer():
    return DataConstrainedExplorer()
