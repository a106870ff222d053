"""Lesson 12, second topic: parallel scaling (ParScale, Chen et al. 2025), from the law alone, illustrated.

ParScale runs one model as P parallel streams (P learned input transformations,
one shared set of weights, a learned aggregation) and fits
L(N, P) = (A / (N (k ln P + 1)))^alpha + E.  Its fitted constants could not be
checked here (docs/provenance.md), so the ``parscale`` law has no presets and
this topic has no data: the student sets E, A, k and alpha with sliders whose
defaults are *illustrative*, and every number shown is computed from the law.
What the law says whatever the constants: P streams reach the loss of a
single-stream model (k ln P + 1) times larger, so each doubling of P is worth
the same factor increment, k ln 2, an O(log P) gain.
"""

from __future__ import annotations

import altair as alt
import ipywidgets as w
import numpy as np
import polars as pl

from workbench.course import Figure, explorer, explorer_figure, figure
from workbench.course.references import bib
from workbench.course.style import GREY, LOG, RED, named, short, slider
from workbench.laws.parscale import PARSCALE
from workbench.viz.explorer import Explorer

#: NOT the paper's constants (none could be checked): values that put the loss of 0.1B-100B models in a
#: familiar range, for the sliders to start from.  Every figure that uses them says so.
ILLUSTRATIVE = {"E": 1.8, "A": 1e8, "k": 0.4, "alpha": 0.3}
TRAINED = (5e8, 4.4e9)  # the sizes the authors pre-trained (0.5B to 4.4B parameters), with P = 1 to 8
N_RANGE = (1e8, 1e11)
STREAMS = tuple(range(1, 9))
STREAM_COLOURS = alt.Scale(
    domain=list(STREAMS),
    range=["#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b", "#041f4a"],
)


def parscale_loss(params, streams, values) -> np.ndarray:
    """The law's loss for N = ``params`` run as P = ``streams`` parallel streams."""
    params, streams = np.broadcast_arrays(np.asarray(params, dtype=float), np.asarray(streams, dtype=float))
    return PARSCALE.predict({"params": params, "parallel_streams": streams}, values)


def dense_equivalent(loss, values) -> np.ndarray:
    """The single-stream (P = 1) model size with this loss: the law at P = 1, inverted.

    ``(A / N)^alpha + E = L`` gives ``N = A / (L - E)^(1 / alpha)``; for a loss of the law itself this is
    N (k ln P + 1), which :func:`workbench.laws.parscale.equivalent_params` states in closed form.
    """
    return values["A"] / (np.asarray(loss, dtype=float) - values["E"]) ** (1.0 / values["alpha"])


def parscale_tables(params: float, streams: int, values) -> dict[str, pl.DataFrame]:
    """Frames of the figure: the loss against N for every P, your model and its dense equivalent, and the
    equivalent-size factor against P."""
    n = np.geomspace(*N_RANGE, 60)
    curves = pl.concat(
        [
            pl.DataFrame(
                {
                    "params": n,
                    "loss": parscale_loss(n, p, values),
                    "P": p,
                    "streams": f"P = {p}",
                    "chosen": p == streams,
                }
            )
            for p in STREAMS
        ]
    )
    loss = float(parscale_loss(params, streams, values)[0])
    dense = float(dense_equivalent(loss, values))
    model = pl.DataFrame(
        {
            "params": [params, dense],
            "loss": [loss, loss],
            "model": [
                f"your model: N = {short(params)}, P = {streams}",
                f"one stream, same loss: N = {short(dense, 3)}",
            ],
        }
    )
    p_grid = np.geomspace(1, 8, 50)
    factor = pl.DataFrame({"P": p_grid, "factor": values["k"] * np.log(p_grid) + 1})
    at = pl.DataFrame({"P": [float(s) for s in STREAMS]}).with_columns(
        (values["k"] * pl.col("P").log() + 1).alias("factor"), (pl.col("P") == streams).alias("chosen")
    )
    summary = pl.DataFrame(
        {"params": [params], "P": [streams], "loss": [loss], "dense_params": [dense], "factor": [dense / params]}
        | {k: [float(v)] for k, v in values.items()}
    )
    return {
        "curves": curves,
        "model": model,
        "trained": pl.DataFrame({"lo": [TRAINED[0]], "hi": [TRAINED[1]]}),
        "factor": factor,
        "factor_at": at,
        "summary": summary,
    }


def parscale_chart() -> alt.HConcatChart:
    axis, title = alt.Axis(format=".0e", tickCount=4), "parameters N (grey: the 0.5B–4.4B the authors trained)"
    x = alt.X("params:Q", scale=LOG, axis=axis, title=title)
    y = alt.Y("loss:Q", scale=alt.Scale(zero=False), title="loss (illustrative constants)")
    band = (
        alt.Chart(named("trained"))
        .mark_rect(color=GREY, opacity=0.15)
        .encode(
            x=alt.X("lo:Q", scale=LOG, axis=axis, title=title),
            x2="hi:Q",
            tooltip=[alt.Tooltip("lo:Q", title="authors' runs from")],
        )
    )
    lines = (
        alt.Chart(named("curves"))
        .mark_line()
        .encode(
            x=x,
            y=y,
            color=alt.Color(
                "P:O", scale=STREAM_COLOURS, title="streams P", legend=alt.Legend(orient="bottom", columns=8)
            ),
            detail="streams:N",
            tooltip=["streams:N", "params:Q", "loss:Q"],
        )
    )
    highlight = (
        alt.Chart(named("curves"))
        .transform_filter("datum.chosen || datum.P == 1")
        .mark_line()
        .encode(
            x="params:Q",
            y="loss:Q",
            color=alt.condition("datum.chosen", alt.value(RED), alt.value("black")),
            size=alt.condition("datum.chosen", alt.value(3), alt.value(1.5)),
            detail="streams:N",
        )
    )
    link = alt.Chart(named("model")).mark_line(color=RED, strokeDash=[4, 3]).encode(x="params:Q", y="loss:Q")
    dots = (
        alt.Chart(named("model"))
        .mark_point(filled=True, size=110, color=RED)
        .encode(
            x="params:Q",
            y="loss:Q",
            shape=alt.Shape("model:N", title=None, legend=alt.Legend(orient="bottom", columns=1, labelLimit=260)),
            tooltip=["model:N", "params:Q", "loss:Q"],
        )
    )
    left = alt.layer(band, lines, highlight, link, dots).properties(
        width=330, height=280, title="loss vs N, P = 1…8 (black: one stream; red: yours)"
    )
    px = alt.X(
        "P:Q", scale=alt.Scale(type="log", domain=[1, 8]), axis=alt.Axis(values=list(STREAMS)), title="streams P"
    )
    fy = alt.Y("factor:Q", scale=alt.Scale(zero=False), title="worth a single-stream model × larger")
    curve = alt.Chart(named("factor")).mark_line(color="black").encode(x=px, y=fy)
    pts = (
        alt.Chart(named("factor_at"))
        .mark_point(filled=True)
        .encode(
            x="P:Q",
            y="factor:Q",
            color=alt.condition("datum.chosen", alt.value(RED), alt.value("black")),
            size=alt.condition("datum.chosen", alt.value(140), alt.value(40)),
            tooltip=["P:Q", "factor:Q"],
        )
    )
    right = alt.layer(curve, pts).properties(width=240, height=280, title="k ln P + 1: a straight line in log P")
    return alt.hconcat(left, right).resolve_scale(color="independent", shape="independent", size="independent")


def parscale_sentence(tables) -> str:
    s = tables["summary"].row(0, named=True)
    return (
        f"With illustrative constants: N = {short(s['params'])} run as P = {s['P']} streams reaches loss "
        f"{s['loss']:.3f}, "
        f"the loss of one stream with N = {short(s['dense_params'], 3)}: worth a model {s['factor']:.2f}× larger."
    )


class ParScaleExplorer(Explorer):
    """Streams, size and the law's constants (illustrative defaults) -> what P streams are worth in parameters."""

    stem = "12_parscale"
    heading = "ParScale's law with ILLUSTRATIVE constants (the paper's fitted values could not be checked)"

    def __init__(self, **kwargs):
        self.streams = slider(w.IntSlider, value=4, min=1, max=8, step=1, description="parallel streams P")
        self.params = slider(
            w.FloatLogSlider,
            value=1e9,
            base=10,
            min=8,
            max=11,
            step=0.1,
            description="parameters N",
            readout_format=".2e",
        )
        v = ILLUSTRATIVE
        self.constants = {
            "E": slider(w.FloatSlider, value=v["E"], min=0, max=3, step=0.05, description="E (illustrative)"),
            "A": slider(
                w.FloatLogSlider,
                value=v["A"],
                base=10,
                min=6,
                max=12,
                step=0.1,
                description="A (illustrative)",
                readout_format=".1e",
            ),
            "k": slider(w.FloatSlider, value=v["k"], min=0, max=1.5, step=0.01, description="k (illustrative)"),
            "alpha": slider(
                w.FloatSlider, value=v["alpha"], min=0.05, max=0.8, step=0.01, description="α (illustrative)"
            ),
        }
        super().__init__(bibtex=bib("2505.10475"), **kwargs)

    def values(self) -> dict[str, float]:
        return {k: float(s.value) for k, s in self.constants.items()}

    def controls(self):
        return [self.streams, self.params, *self.constants.values()]

    def tables(self):
        return parscale_tables(self.params.value, self.streams.value, self.values())

    def chart(self):
        return parscale_chart()

    def sentence(self) -> str:
        return parscale_sentence(self._tables)

    def readout(self) -> str:
        k = self.constants["k"].value
        return super().readout() + (
            f"<br>The factor is k ln P + 1 = {k:.2f} × ln {self.streams.value} + 1: it depends on k alone, not on N, "
            f"A, α or E, and every doubling of P adds the same k ln 2 = {k * np.log(2):.2f}. None of these constants "
            "is the paper's."
        )


@figure("parscale-equivalent-size")
def parscale_figure() -> Figure:
    return explorer_figure(
        ParScaleExplorer(),
        "parscale-equivalent-size",
        "12_inference_scaling",
        "The ParScale law L = (A / (N (k ln P + 1)))^α + E with ILLUSTRATIVE constants (E = 1.8, A = 1e8, k = 0.4, "
        "α = 0.3; the paper's fitted values could not be checked): loss against parameters for P = 1 to 8 streams, "
        "a 1e9-parameter model run as 4 streams and the single-stream model with the same loss (left), and the "
        "equivalent-size factor k ln P + 1 against P on a log axis (right). Nothing here is data.",
    )


@explorer("12_parscale")
def parscale_explorer():
    return ParScaleExplorer()
