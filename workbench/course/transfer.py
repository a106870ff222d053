"""Lesson 05, third topic: pre-training data and translation quality after fine-tuning (Isik et al. 2024).

Isik et al. pre-train models on D_p tokens, fine-tune them for translation and
fit two laws in D_p: the downstream cross-entropy L = E + A / D_p^alpha and a
"log-law" for BLEU or COMET, f = (log(A D_p^alpha))^beta.  Their finding: with
pre-training data well aligned with the task both improve monotonically and
the log-law predicts the score; with moderate misalignment the score can
fluctuate or fall while cross-entropy still improves.  Their fitted constants
could not be checked here (docs/provenance.md), so the ``isik_ce`` and
``isik_score`` laws have no presets and this topic has no data: sliders set the
constants from *illustrative* defaults, and only what the two declared laws
express is drawn.  The misaligned case has no law, so it is said, not plotted.
"""

from __future__ import annotations

import altair as alt
import ipywidgets as w
import numpy as np
import polars as pl

from workbench.course import Figure, explorer, explorer_figure, figure
from workbench.course.references import bib
from workbench.course.style import RED, named, short, slider, toggle
from workbench.laws.isik import ISIK_CE, ISIK_SCORE
from workbench.viz.explorer import Explorer

#: NOT the paper's constants (none could be checked): values that give a BLEU-like score of 10-30 and a
#: cross-entropy of 1.6-2.7 over 1e7-1e12 pre-training tokens, for the sliders to start from.
ILLUSTRATIVE_SCORE = {"A": 1.0, "alpha": 0.2, "beta": 2.0}
ILLUSTRATIVE_CE = {"E": 1.5, "A": 30.0, "alpha": 0.2}
D_RANGE = (1e7, 1e12)
ALIGNMENT = {
    "aligned": "well aligned with the task",
    "misaligned": "moderately misaligned",
}
MISALIGNED_NOTE = (
    "Isik et al.: with moderately misaligned\npre-training data the score can fluctuate\nor fall as D_p grows, "
    "while cross-entropy\nstill improves. No declared law draws that:\nthe log-law's fit fails there."
)


def isik_ce(tokens, values) -> np.ndarray:
    """Downstream cross-entropy E + A / D_p^alpha (the ``isik_ce`` law)."""
    return ISIK_CE.predict({"tokens": np.asarray(tokens, dtype=float)}, values)


def isik_score(tokens, values) -> np.ndarray:
    """The log-law (log(A D_p^alpha))^beta (the ``isik_score`` law); NaN where log(A D_p^alpha) <= 0."""
    return ISIK_SCORE.predict({"tokens": np.asarray(tokens, dtype=float)}, values)


def score_defined_from(values) -> float:
    """The smallest D_p at which the log-law is defined: log(A D_p^alpha) > 0 for D_p > A^(-1/alpha)."""
    return float(values["A"] ** (-1.0 / values["alpha"]))


def transfer_tables(tokens: float, alignment: str, score_values, ce_values) -> dict[str, pl.DataFrame]:
    """Frames of the figure: both laws against D_p (the score only for aligned data), their values at ``tokens``
    and one decade further, and the note drawn instead of a score curve for misaligned data."""
    d = np.geomspace(*D_RANGE, 80)
    aligned = alignment == "aligned"
    score = pl.DataFrame({"tokens": d, "score": isik_score(d, score_values)}).filter(pl.col("score").is_not_nan())
    at = np.array([tokens, 10 * tokens])
    here = pl.DataFrame(
        {
            "tokens": at,
            "loss": isik_ce(at, ce_values),
            "score": isik_score(at, score_values) if aligned else np.full(2, np.nan),
        }
    ).with_columns(pl.col("score").fill_nan(None))
    return {
        "ce": pl.DataFrame({"tokens": d, "loss": isik_ce(d, ce_values)}),
        "score": score if aligned else score.clear(),
        "here": here.head(1),
        "decade": here,
        "rule": pl.DataFrame({"tokens": [tokens]}),
        "note": pl.DataFrame({"text": [] if aligned else [MISALIGNED_NOTE]}, schema={"text": pl.String}),
    }


def transfer_chart() -> alt.HConcatChart:
    x = alt.X(
        "tokens:Q",
        scale=alt.Scale(type="log", domain=list(D_RANGE)),
        axis=alt.Axis(format=".0e"),
        title="pre-training tokens D_p",
    )
    rule = alt.Chart(named("rule")).mark_rule(color=RED, strokeDash=[3, 3]).encode(x="tokens:Q")
    ce = (
        alt.Chart(named("ce"))
        .mark_line(strokeWidth=2, color="#1f77b4")
        .encode(x=x, y=alt.Y("loss:Q", scale=alt.Scale(zero=False), title="downstream cross-entropy"))
    )
    ce_dot = alt.Chart(named("here")).mark_point(filled=True, size=90, color=RED).encode(x="tokens:Q", y="loss:Q")
    left = alt.layer(ce, rule, ce_dot).properties(
        width=320, height=270, title="cross-entropy E + A/D_p^α: always falls"
    )
    score = (
        alt.Chart(named("score"))
        .mark_line(strokeWidth=2, color="#2ca02c")
        .encode(x=x, y=alt.Y("score:Q", scale=alt.Scale(zero=False), title="translation score (BLEU-like)"))
    )
    score_dot = (
        alt.Chart(named("here"))
        .transform_filter("isValid(datum.score)")
        .mark_point(filled=True, size=90, color=RED)
        .encode(x="tokens:Q", y="score:Q")
    )
    note = (
        alt.Chart(named("note"))
        .mark_text(align="left", baseline="top", lineBreak="\n", fontSize=12, color="#555")
        .encode(x=alt.value(12), y=alt.value(20), text="text:N")
    )
    right = alt.layer(score, rule, score_dot, note).properties(
        width=320, height=270, title="score (ln(A D_p^α))^β: the log-law, aligned data only"
    )
    return alt.hconcat(left, right)


def transfer_sentence(tables, alignment: str) -> str:
    rows = tables["decade"].to_dicts()
    now, later = rows
    text = (
        f"Illustrative constants, D_p = {short(now['tokens'])} tokens: cross-entropy {now['loss']:.3f}, "
        f"{now['loss'] - later['loss']:.3f} lower at 10× the data"
    )
    if alignment != "aligned":
        return text + "; the score has no law for misaligned data (the paper: it may even fall)."
    if now["score"] is None:
        return text + "; the log-law is undefined here (log(A D_p^α) ≤ 0)."
    gain = "" if later["score"] is None else f", {later['score'] - now['score']:+.2f} at 10× the data"
    return text + f"; score {now['score']:.2f} by the log-law{gain}."


class TransferExplorer(Explorer):
    """Pre-training tokens, alignment and the two laws' constants (illustrative defaults) -> cross-entropy and score."""

    stem = "05_isik_transfer"
    heading = "Isik et al. 2024's two laws with ILLUSTRATIVE constants (the fitted values could not be checked)"

    def __init__(self, **kwargs):
        self.tokens = slider(
            w.FloatLogSlider,
            value=1e10,
            base=10,
            min=7,
            max=11,
            step=0.1,
            description="pre-training tokens D_p",
            readout_format=".1e",
        )
        self.alignment = toggle([(v, k) for k, v in ALIGNMENT.items()], "aligned", "pre-training data", "200px")
        s, c = ILLUSTRATIVE_SCORE, ILLUSTRATIVE_CE
        log = {"kind": w.FloatLogSlider, "base": 10, "step": 0.1, "readout_format": ".2g"}
        self.score_constants = {
            "A": slider(**log, value=s["A"], min=-3, max=3, description="score A (illustrative)"),
            "alpha": slider(
                w.FloatSlider, value=s["alpha"], min=0.02, max=0.6, step=0.01, description="score α (illustrative)"
            ),
            "beta": slider(
                w.FloatSlider, value=s["beta"], min=0.3, max=4, step=0.05, description="score β (illustrative)"
            ),
        }
        self.ce_constants = {
            "E": slider(w.FloatSlider, value=c["E"], min=0, max=3, step=0.05, description="CE E (illustrative)"),
            "A": slider(**log, value=c["A"], min=0, max=4, description="CE A (illustrative)"),
            "alpha": slider(
                w.FloatSlider, value=c["alpha"], min=0.05, max=0.6, step=0.01, description="CE α (illustrative)"
            ),
        }
        super().__init__(bibtex=bib("2402.04177"), **kwargs)

    def score_values(self) -> dict[str, float]:
        return {k: float(s.value) for k, s in self.score_constants.items()}

    def ce_values(self) -> dict[str, float]:
        return {k: float(s.value) for k, s in self.ce_constants.items()}

    def controls(self):
        return [self.tokens, self.alignment, *self.score_constants.values(), *self.ce_constants.values()]

    def tables(self):
        return transfer_tables(self.tokens.value, self.alignment.value, self.score_values(), self.ce_values())

    def chart(self):
        return transfer_chart()

    def sentence(self) -> str:
        return transfer_sentence(self._tables, self.alignment.value)

    def readout(self) -> str:
        start = score_defined_from(self.score_values())
        where = (
            f" The log-law is defined only above D_p = A^(-1/α) = {short(start)} tokens." if start > D_RANGE[0] else ""
        )
        return super().readout() + (
            "<br>Both laws are monotone in D_p wherever they are defined (α, β > 0): neither can draw a score "
            f"that falls while cross-entropy improves. None of these constants is the paper's.{where}"
        )


@figure("isik-transfer")
def transfer_figure() -> Figure:
    return explorer_figure(
        TransferExplorer(),
        "isik-transfer",
        "05_downstream",
        "Isik et al. 2024's two laws in the pre-training data D_p with ILLUSTRATIVE constants (cross-entropy "
        "E = 1.5, A = 30, α = 0.2; score A = 1, α = 0.2, β = 2; the paper's fitted values could not be checked): "
        "downstream cross-entropy after fine-tuning (left) and the log-law for a BLEU-like score (right), which the "
        "paper finds only for pre-training data well aligned with the task. Nothing here is data.",
    )


@explorer("05_isik_transfer")
def transfer_explorer():
    return TransferExplorer()
