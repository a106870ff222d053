"""Lesson 11, second part: what a repeated token is worth, measured on the `repetition` preset.

Notebook 11 first teaches Muennighoff et al. (2023)'s data-constrained law from
the authors' constants; this module shows the same question asked of the
workbench's own runs (``datasets/proxies/repetition.csv``, made by ``python -m
workbench sweep --preset repetition``): one tiny GPT trained on fresh tokens or
on 2-40 epochs over fewer unique ones, on the zipf chain and on Python source.

Every number shown comes from :mod:`workbench.proxies.repetition` (``analyse``,
``repeat_shares``, ``paper_shares``), the functions ``sweep --verify`` checks,
so what the notebook teaches and what the pre-registered checks test are the
same numbers.  The analysis (with its 300-draw bootstrap, a few seconds) runs
once per kernel; a slider move only slices its cached result.
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
from workbench.course.style import GREY, PANEL, RED, named, short, slider, toggle
from workbench.viz.explorer import Explorer

SOURCES = {"zipf": "zipf chain", "pystdlib": "Python source"}
PAPER = "Muennighoff et al.'s law (C4)"
SOURCE_COLOURS = alt.Scale(domain=[*SOURCES.values(), PAPER], range=["#1f77b4", "#ff7f0e", "black"])
SERIES = ["fresh data", "2 epochs", "4 epochs", "8 epochs", "16 epochs", "40 epochs"]
SERIES_COLOURS = alt.Scale(domain=SERIES, range=["black", "#2ca02c", "#1f77b4", "#9467bd", "#ff7f0e", RED])
DOMAIN = {True: "U ≥ N (fitted)", False: "U < N (outside the fit domain)"}
MEASURED = {False: "measured", True: "measured, an upper bound"}
AXES = {"fit": "runs with U ≥ N", "all": "every run"}
TOKENS_RANGE = (2.0e5, 2.5e6)  # the left panel's x axis: the runs see 0.25-2 M tokens


@lru_cache(maxsize=1)
def repetition_analysis() -> dict:
    """The preset's analysis of its shipped rows, per source (:func:`workbench.proxies.repetition.analyse`)."""
    from workbench.proxies.repetition import analyse

    return analyse(require_proxy("repetition"))


@lru_cache(maxsize=1)
def repetition_checks() -> pl.DataFrame:
    """The pre-registered checks exactly as ``sweep --preset repetition --verify`` reports them."""
    from workbench.proxies.repetition import verify

    checks = verify(require_proxy("repetition"))["checks"]
    return pl.DataFrame(
        [{"check": c["name"], "value": str(c["value"]), "target": c["target"], "passed": c["passed"]} for c in checks]
    )


def tokens_text(x: float) -> str:
    """``2 M``, ``500 k``, ``31 k``: a token count for a sentence."""
    return f"{x / 1e6:.3g} M" if x >= 1e6 else f"{x / 1e3:.3g} k"


def epochs_label(epochs: float) -> str:
    """``fresh data`` for one epoch, ``4 epochs`` otherwise."""
    return "fresh data" if abs(epochs - 1) < 1e-6 else f"{round(epochs)} epochs"


def rd_star_upper() -> float:
    """The fitting engine's upper bound on R_D*: an interval reaching it is open above."""
    from workbench.laws import get_law
    from workbench.proxies.repetition import LAW

    return next(p.upper for p in get_law(LAW).parameters if p.name == "rd_star")


def rd_star_text(source: str) -> str:
    """``3.64 [1.26, 5.17]``: the fitted R_D* with its 95 % bootstrap interval (``open`` at the bound)."""
    a = repetition_analysis()[source]
    lo, hi = a["rd_star_ci"]
    top = "open" if hi >= 0.99 * rd_star_upper() else short(hi, 3)
    return f"{short(a['params']['rd_star'], 3)} [{short(lo, 3)}, {top}]"


def share_of(epochs: float, rd_star: float) -> float:
    """(D' - U) / (D - U) at D = SEEN seen over ``epochs``: the law's worth of a repeated token.

    The formula of :func:`workbench.proxies.repetition.repeat_shares`, for any number of epochs (a curve).
    """
    from workbench.laws.data_constrained import effective_data
    from workbench.proxies.repetition import SEEN

    u = SEEN / epochs
    return float((effective_data(SEEN, u, rd_star) - u) / (SEEN - u))


def run_rows(source: str, epochs: int) -> pl.DataFrame:
    """The source's runs: tokens seen, loss, the fitted law's value, series, fit domain, chosen or not."""
    pts = repetition_analysis()[source]["points"]
    return pts.select(
        "run_id",
        "tokens",
        "unique_tokens",
        "epochs",
        "loss",
        "fitted",
        pl.col("epochs").map_elements(epochs_label, return_dtype=pl.String).alias("series"),
        pl.col("in_fit").replace_strict(DOMAIN, return_dtype=pl.String).alias("domain"),
        ((pl.col("epochs") / epochs - 1).abs() < 0.01).alias("chosen"),  # whole batches: 16 epochs are 15.999
    )


def law_curves(source: str, epochs: int) -> pl.DataFrame:
    """The fitted law against tokens seen: fresh data (U = D), and ``epochs`` passes (U = D / epochs)."""
    from workbench.proxies.repetition import PARAMS

    result = repetition_analysis()[source]["result"]
    d = np.geomspace(2.4e5, 2.05e6, 60)
    frames = []
    for e in (1, epochs):
        u = d / e
        frames.append(
            pl.DataFrame(
                {
                    "tokens": d,
                    "loss": result.predict({"tokens": d, "unique_tokens": u}),
                    "series": epochs_label(e),
                    "law_domain": [DOMAIN[bool(x >= PARAMS)] for x in u],
                }
            )
        )
    return pl.concat(frames)


def share_rows(source: str, epochs: int) -> pl.DataFrame:
    """Measured worth of a repeated token per source and epochs (:func:`repeat_shares`, via ``analyse``)."""
    rows = []
    for key, a in repetition_analysis().items():
        for e, s in a["shares"].items():
            if s["measured"] is not None:
                rows.append(
                    {
                        "source": SOURCES[key],
                        "epochs": float(e),
                        "unique_tokens": s["unique_tokens"],
                        "worth": s["measured"],
                        "kind": MEASURED[s["upper_bound"]],
                        "shown": key == source,
                        "chosen": key == source and e == epochs,
                    }
                )
    return pl.DataFrame(rows)


def share_curves(source: str) -> pl.DataFrame:
    """The worth of a repeated token by the source's fitted law and by the paper's (R_D* = 15.4)."""
    from workbench.proxies.repetition import EPOCHS, PAPER_RD_STAR

    e = np.unique(np.concatenate([np.geomspace(1.5, 50.0, 50), np.asarray(EPOCHS, float)]))
    fitted = repetition_analysis()[source]["params"]["rd_star"]
    return pl.concat(
        [
            pl.DataFrame({"epochs": e, "worth": [share_of(x, fitted) for x in e], "source": SOURCES[source]}),
            pl.DataFrame({"epochs": e, "worth": [share_of(x, PAPER_RD_STAR) for x in e], "source": PAPER}),
        ]
    )


def summary_rows() -> pl.DataFrame:
    """Per source: fitted R_D* and interval, largest fit error, and the measured worth at every epoch count."""
    from workbench.proxies.repetition import EPOCHS, PAPER_RD_STAR, paper_shares

    rows = []
    for key, a in repetition_analysis().items():
        row = {"source": SOURCES[key], "R_D* [95 %]": rd_star_text(key), "largest fit error": a["max_rel_error"]}
        for e in EPOCHS:
            s = a["shares"][e]
            row[f"worth at {e}"] = (
                "-" if s["measured"] is None else ("< " if s["upper_bound"] else "") + f"{s['measured']:.2f}"
            )
        rows.append(row)
    paper = paper_shares()
    rows.append(
        {"source": PAPER, "R_D* [95 %]": f"{PAPER_RD_STAR:.1f}", "largest fit error": None}
        | {f"worth at {e}": f"{paper[e]:.2f}" for e in EPOCHS}
    )
    return pl.DataFrame(rows)


def repeated_tables(source: str, epochs: int, axis: str = "fit") -> dict[str, pl.DataFrame]:
    """Frames of the figure for one source and epoch count; ``axis="fit"`` zooms the loss axis to U ≥ N."""
    from workbench.proxies.repetition import PARAMS

    runs = run_rows(source, epochs)
    curves = law_curves(source, epochs)
    off = runs.filter(pl.col("unique_tokens") < PARAMS) if axis == "fit" else runs.head(0)
    if axis == "fit":
        runs = runs.filter(pl.col("unique_tokens") >= PARAMS)
        lo, hi = float(runs["loss"].min()), float(runs["loss"].max())
        pad = 0.1 * (hi - lo)
        curves = curves.filter(pl.col("loss").is_between(lo - pad, hi + pad))
    shares = share_rows(source, epochs)
    law = repetition_analysis()[source]["shares"][epochs]["law"]
    return {
        "runs": runs,
        "off_axis": off,
        "law": curves,
        "shares": shares,
        "share_law": share_curves(source),
        "chosen": shares.filter(pl.col("chosen")).with_columns(pl.lit(law).alias("law")),
        "summary": summary_rows(),
    }


def _loss_panel() -> alt.LayerChart:
    colour = alt.Color(
        "series:N", scale=SERIES_COLOURS, title="tokens seen as", legend=alt.Legend(orient="bottom", columns=3)
    )
    shape = alt.Shape(
        "domain:N",
        scale=alt.Scale(domain=list(DOMAIN.values()), range=["circle", "cross"]),
        title=None,
        legend=alt.Legend(orient="bottom", columns=1),
    )
    x = alt.X(
        "tokens:Q",
        scale=alt.Scale(type="log", domain=list(TOKENS_RANGE), nice=False),
        axis=alt.Axis(format="~s", values=[2.5e5, 5e5, 1e6, 2e6]),
        title="tokens seen D",
    )
    y = alt.Y("loss:Q", scale=alt.Scale(zero=False), title="final validation loss (nats)")
    # the law where it is fitted, and faint where it is extrapolated (U < N): two layers, not an opacity
    # scale, because an opacity scale of its own hides the shape legend (Vega-Lite merges the two)
    lines = [
        alt.Chart(named("law"))
        .transform_filter(f"datum.law_domain == '{DOMAIN[inside]}'")
        .mark_line(strokeWidth=1.5, strokeDash=[5, 3], clip=True, opacity=0.9 if inside else 0.35)
        .encode(x=x, y=y, color=colour)
        for inside in (True, False)
    ]
    dots = (
        alt.Chart(named("runs"))
        .mark_point(filled=True, strokeWidth=2)
        .encode(
            x="tokens:Q",
            y="loss:Q",
            color=colour,
            shape=shape,
            size=alt.Size("chosen:N", scale=alt.Scale(domain=[False, True], range=[50, 150]), legend=None),
            tooltip=["series:N", "tokens:Q", "unique_tokens:Q", "loss:Q", "fitted:Q", "domain:N"],
        )
    )
    return alt.layer(*lines, dots).properties(
        width=PANEL + 30, height=300, title="loss against tokens seen; dashed: the fitted law (faint: U < N)"
    )


def _worth_panel() -> alt.LayerChart:
    colour = alt.Color("source:N", scale=SOURCE_COLOURS, title=None, legend=alt.Legend(orient="bottom", columns=1))
    x = alt.X(
        "epochs:Q", scale=alt.Scale(type="log", domain=[1.5, 50], nice=False), title="epochs over the unique tokens"
    )
    y = alt.Y("worth:Q", scale=alt.Scale(domain=[0, 1.05]), title="worth of a repeated token (new token = 1)")
    curves = alt.Chart(named("share_law")).mark_line(strokeWidth=1.5).encode(x=x, y=y, color=colour)
    dots = (
        alt.Chart(named("shares"))
        .mark_point(filled=True, size=80)
        .encode(
            x="epochs:Q",
            y="worth:Q",
            color=colour,
            shape=alt.Shape(
                "kind:N",
                scale=alt.Scale(domain=list(MEASURED.values()), range=["circle", "triangle-down"]),
                title=None,
                legend=alt.Legend(orient="bottom", columns=1),
            ),
            opacity=alt.Opacity("shown:N", scale=alt.Scale(domain=[False, True], range=[0.3, 1.0]), legend=None),
            tooltip=["source:N", "epochs:Q", "unique_tokens:Q", "worth:Q", "kind:N"],
        )
    )
    ring = alt.Chart(named("chosen")).mark_point(size=300, strokeWidth=2.5, color=RED).encode(x="epochs:Q", y="worth:Q")
    law = (
        alt.Chart(named("chosen"))
        .mark_point(shape="diamond", filled=True, size=110, color=RED)
        .encode(x="epochs:Q", y="law:Q", tooltip=["epochs:Q", alt.Tooltip("law:Q", title="fitted law's worth")])
    )
    half = alt.Chart(alt.Data(values=[{"worth": 0.5}])).mark_rule(color=GREY, strokeDash=[2, 2]).encode(y="worth:Q")
    return alt.layer(half, curves, dots, ring, law).properties(
        width=PANEL - 40, height=300, title="worth of a repeat: measured (points), laws (lines)"
    )


def repeated_chart() -> alt.HConcatChart:
    return alt.hconcat(_loss_panel(), _worth_panel()).resolve_scale(color="independent", shape="independent")


def worth_text(share: Mapping) -> str:
    if share["measured"] is None:
        return "not measured"
    if share["upper_bound"]:
        return f"at most {share['measured']:.2f} (its loss is worse than 250 k fresh tokens')"
    return f"{share['measured']:.2f}"


def repeated_sentence(source: str, epochs: int) -> str:
    """What the explorer shows for one source and epoch count, in one sentence."""
    from workbench.proxies.repetition import PAPER_RD_STAR, PARAMS, SEEN, paper_shares

    share = repetition_analysis()[source]["shares"][epochs]
    u = share["unique_tokens"]
    text = (
        f"At {epochs} epochs over {tokens_text(u)} unique tokens ({SOURCES[source]}, {tokens_text(SEEN)} seen), "
        f"a repeated token was worth {worth_text(share)} of a new one (paper's law: {paper_shares()[epochs]:.2f}; "
        f"this fit's: {share['law']:.2f}); fitted R_D* = {rd_star_text(source)} "
        f"against the paper's {PAPER_RD_STAR:.1f}."
    )
    if u < PARAMS:
        text += (
            f" Fewer unique tokens than the model's {PARAMS:,} parameters: it memorises them, a regime outside "
            "the fit domain that the law has no term for."
        )
    return text


def off_axis_note(off: pl.DataFrame) -> str:
    if off.height == 0:
        return ""
    runs = ", ".join(
        f"{tokens_text(r['tokens'])} seen as {round(r['epochs'])} epochs over {tokens_text(r['unique_tokens'])}: "
        f"{r['loss']:.2f}"
        for r in off.rows(named=True)
    )
    return f"Off this axis (U < N; choose 'every run'): {runs} nats."


class RepeatedDataExplorer(Explorer):
    """Source, epochs and loss axis -> runs against the fitted law, and the worth of a repeat against the laws."""

    stem = "11_repeated_data"
    heading = "Repeated data, measured (the repetition preset, after Muennighoff et al. 2023)"

    def __init__(self, **kwargs):
        from workbench.proxies.repetition import EPOCHS

        self.source = toggle([(v, k) for k, v in SOURCES.items()], "zipf", "source", "200px")
        self.epochs = slider(
            w.SelectionSlider,
            options=[(str(e), e) for e in EPOCHS],
            value=4,
            description="epochs (2 M tokens seen)",
        )
        self.axis = toggle([(v, k) for k, v in AXES.items()], "fit", "loss axis shows", "200px")
        super().__init__(bibtex=bib("2305.16264", "workbench-proxies"), **kwargs)

    def controls(self):
        return [self.source, self.epochs, self.axis]

    def tables(self):
        return repeated_tables(self.source.value, self.epochs.value, self.axis.value)

    def chart(self):
        return repeated_chart()

    def sentence(self) -> str:
        return repeated_sentence(self.source.value, self.epochs.value)

    def readout(self) -> str:
        note = off_axis_note(self._tables["off_axis"])
        return super().readout() + (f"<br>{note}" if note else "")

    def fits(self):
        return {f"{SOURCES[self.source.value]} law": repetition_analysis()[self.source.value]["result"]}


@figure("repeated-data-proxies", requires=("proxies/repetition",))
def repeated_figure() -> Figure:
    return explorer_figure(
        RepeatedDataExplorer(),
        "repeated-data-proxies",
        "11_data_constraints",
        "One GPT (98,624 non-embedding parameters; the repetition preset's shipped runs, seed 0) on the zipf "
        "chain: final loss against tokens seen, fresh and as 2-40 epochs over fewer unique tokens, with the "
        "one-size data-constrained law fitted to the runs with at least as many unique tokens as parameters "
        "(left); the measured worth of a repeated token against epochs for both sources, with the fitted law's "
        "and Muennighoff et al.'s (R_D* = 15.4) curves (right).",
    )


@explorer("11_repeated_data")
def repeated_explorer():
    return RepeatedDataExplorer()
