"""Lesson 02, second topic: one law shape across data domains (Henighan et al. 2020, Table 1), from its presets.

Henighan et al. fit L(x) = L_inf + (x_0 / x)^alpha to autoregressive
transformers on language, images, video, math and image-text pairs, for
x = N (parameters) and x = C (compute).  No runs of theirs ship with the
workbench, so this topic has no experiment: it draws the published fits
themselves, every number from the ``henighan_n`` / ``henighan_c`` presets
(Table 1).  The point is the shape: on log axes the *reducible* loss
L - L_inf is a straight line of slope -alpha, and the *irreducible* loss
L_inf is a floor the total bends towards; the exponents differ by domain.
"""

from __future__ import annotations

import altair as alt
import ipywidgets as w
import numpy as np
import polars as pl

from workbench.course import Figure, explorer, explorer_figure, figure
from workbench.course.references import bib
from workbench.course.style import LOG, RED, SLIDER_STYLE, named, short, slider
from workbench.laws.henighan import HENIGHAN_C, HENIGHAN_N, PF_DAY
from workbench.viz.explorer import Explorer

#: Table 1's rows (the presets' suffixes) and the short names the figure uses for them.
DOMAINS = {
    "language": "language",
    "image8": "image 8x8",
    "image16": "image 16x16",
    "image32": "image 32x32",
    "image_vq16": "image VQ 16x16",
    "image_vq32": "image VQ 32x32",
    "text_to_image_text": "text-to-image: text",
    "text_to_image_image": "text-to-image: image",
    "image_to_text_text": "image-to-text: text",
    "image_to_text_image": "image-to-text: image",
    "video_vq": "video VQ",
    "math_extrapolate": "math (extrapolate)",
}
DEFAULT_DOMAINS = ("language", "image32", "video_vq", "math_extrapolate")
DOMAIN_COLOURS = alt.Scale(
    domain=list(DOMAINS.values()),
    range=[
        "#000000",
        "#aec7e8",
        "#6baed6",
        "#1f77b4",
        "#98df8a",
        "#2ca02c",
        "#c5b0d5",
        "#9467bd",
        "#ffbb78",
        "#ff7f0e",
        "#8c564b",
        "#e377c2",
    ],
)
PARTS = alt.Scale(domain=["total L", "reducible L − L∞", "floor L∞"], range=[[1, 0], [6, 3], [2, 2]])
N_RANGE = (1e3, 1e13)  # non-embedding parameters drawn
C_RANGE = (1e-9, 1e5)  # compute drawn, in PF-days (the paper's unit)
LAWS = {"N": HENIGHAN_N, "C": HENIGHAN_C}
_CURVE_SCHEMA = {"domain": pl.String, "x": pl.Float64, "part": pl.String, "loss": pl.Float64}
_AT_SCHEMA = {"domain": pl.String, "x": pl.Float64, "loss": pl.Float64, "L_inf": pl.Float64, "reducible": pl.Float64}


def henighan_values(domain: str, variable: str) -> dict | None:
    """Table 1's constants for ``domain`` in L(N) or L(C) (``variable`` "N" or "C"); None where Table 1 has no fit.

    Compute constants are the stored ones (x_0 in FLOP); :func:`henighan_loss` takes PF-days.
    """
    law = LAWS[variable]
    name = f"henighan2020_{domain}"
    return dict(law.preset(name).values) if name in {p.name for p in law.presets} else None


def henighan_loss(domain: str, variable: str, x) -> np.ndarray:
    """The preset's loss at ``x``: parameters for "N", PF-days for "C" (converted to the law's FLOP)."""
    values = henighan_values(domain, variable)
    x = np.asarray(x, dtype=float)
    cols = {"params": x} if variable == "N" else {"flops": x * PF_DAY}
    return LAWS[variable].predict(cols, values)


def _curves(domains, variable: str) -> pl.DataFrame:
    x = np.geomspace(*(N_RANGE if variable == "N" else C_RANGE), 60)
    frames = []
    for d in domains:
        v = henighan_values(d, variable)
        if v is None:
            continue
        total = henighan_loss(d, variable, x)
        parts = {"total L": total, "reducible L − L∞": total - v["L_inf"]}
        if v["L_inf"] > 0:  # a floor of 0 has no place on a log axis (language, the text rows)
            parts["floor L∞"] = np.full_like(x, v["L_inf"])
        frames += [pl.DataFrame({"domain": DOMAINS[d], "x": x, "part": p, "loss": y}) for p, y in parts.items()]
    return pl.concat(frames) if frames else pl.DataFrame(schema=_CURVE_SCHEMA)


def _at(domains, variable: str, x: float) -> pl.DataFrame:
    rows = []
    for d in domains:
        v = henighan_values(d, variable)
        if v is not None:
            loss = float(henighan_loss(d, variable, [x])[0])
            rows.append(
                {"domain": DOMAINS[d], "x": x, "loss": loss, "L_inf": v["L_inf"], "reducible": loss - v["L_inf"]}
            )
    return pl.DataFrame(rows, schema=_AT_SCHEMA)


def exponent_table(domains) -> pl.DataFrame:
    """Every Table 1 row's exponents alpha_N and alpha_C (no row where Table 1 prints no fit), chosen rows marked."""
    rows = []
    for key, label in DOMAINS.items():
        for variable in ("N", "C"):
            v = henighan_values(key, variable)
            if v is not None:
                rows.append(
                    {
                        "domain": label,
                        "law": f"L({variable}): α_{variable}",
                        "alpha": v["alpha"],
                        "chosen": key in domains,
                    }
                )
    return pl.DataFrame(rows)


def henighan_tables(domains, n: float, c_pf_days: float) -> dict[str, pl.DataFrame]:
    """Frames of the figure: the chosen domains' curves in N and in C (PF-days), their values at ``n`` and
    ``c_pf_days``, the slider positions, and every domain's exponents."""
    return {
        "curves_n": _curves(domains, "N"),
        "curves_c": _curves(domains, "C"),
        "at_n": _at(domains, "N", n),
        "at_c": _at(domains, "C", c_pf_days),
        "rule_n": pl.DataFrame({"x": [n]}),
        "rule_c": pl.DataFrame({"x": [c_pf_days]}),
        "exponents": exponent_table(domains),
    }


def _panel(suffix: str, x_title: str) -> alt.LayerChart:
    colour = alt.Color("domain:N", scale=DOMAIN_COLOURS, title=None, legend=alt.Legend(orient="bottom", columns=4))
    x = alt.X("x:Q", scale=LOG, axis=alt.Axis(format=".0e", tickCount=6, labelOverlap="greedy"), title=x_title)
    y = alt.Y("loss:Q", scale=LOG, title="loss (nats per token)")
    lines = (
        alt.Chart(named(f"curves_{suffix}"))
        .mark_line(strokeWidth=2)
        .encode(
            x=x,
            y=y,
            color=colour,
            strokeDash=alt.StrokeDash("part:N", scale=PARTS, title=None, legend=alt.Legend(orient="bottom")),
            detail="part:N",
            tooltip=["domain:N", "part:N", "x:Q", "loss:Q"],
        )
    )
    rule = alt.Chart(named(f"rule_{suffix}")).mark_rule(color=RED, strokeDash=[3, 3]).encode(x="x:Q")
    dots = (
        alt.Chart(named(f"at_{suffix}"))
        .mark_point(filled=True, size=70, color=RED)
        .encode(x="x:Q", y="loss:Q", tooltip=["domain:N", "loss:Q", "L_inf:Q", "reducible:Q"])
    )
    return alt.layer(lines, rule, dots).properties(width=300, height=260)


def henighan_chart() -> alt.VConcatChart:
    top = alt.hconcat(
        _panel("n", "non-embedding parameters N").properties(title="L(N): models trained near convergence"),
        _panel("c", "training compute C (PF-days)").properties(title="L(C): the compute frontier"),
    )
    exps = (
        alt.Chart(named("exponents"))
        .mark_point(filled=True)
        .encode(
            x=alt.X("alpha:Q", title="exponent α of the reducible loss (slope of the dashed lines)"),
            y=alt.Y("domain:N", sort=list(DOMAINS.values()), title=None),
            shape=alt.Shape("law:N", title=None, legend=alt.Legend(orient="bottom")),
            color=alt.condition("datum.chosen", alt.value("black"), alt.value("#c8c8c8")),
            size=alt.condition("datum.chosen", alt.value(80), alt.value(40)),
            tooltip=["domain:N", "law:N", "alpha:Q"],
        )
        .properties(width=560, height=190, title="every domain's exponents (the chosen ones in black)")
    )
    return alt.vconcat(top, exps).resolve_scale(color="shared", strokeDash="shared", shape="independent")


def _shares(at: pl.DataFrame) -> str:
    return ", ".join(f"{r['domain']} {r['reducible'] / r['loss']:.0%}" for r in at.iter_rows(named=True))


def henighan_sentence(tables, n: float, c_pf_days: float) -> str:
    if tables["at_n"].height == 0:
        return "Pick at least one domain."
    text = f"The reducible part L − L∞ is this share of the loss at N = {short(n)}: {_shares(tables['at_n'])}"
    if tables["at_c"].height:
        unit = "PF-day" if c_pf_days == 1 else "PF-days"
        text += f"; at C = {short(c_pf_days)} {unit}: {_shares(tables['at_c'])}"
    return text + "."


class HenighanExplorer(Explorer):
    """Domains, a model size and a compute budget -> Table 1's L(N) and L(C), split into reducible and floor."""

    stem = "02_henighan_domains"
    heading = "One law, many domains: Henighan et al. 2020, Table 1 (published constants)"

    def __init__(self, **kwargs):
        self.domains = w.SelectMultiple(
            options=[(label, key) for key, label in DOMAINS.items()],
            value=DEFAULT_DOMAINS,
            rows=6,
            description="domains (ctrl-click)",
            style=SLIDER_STYLE,
            layout=w.Layout(width="460px"),
        )
        self.n = slider(
            w.FloatLogSlider,
            value=1e9,
            base=10,
            min=3,
            max=13,
            step=0.25,
            description="parameters N",
            readout_format=".1e",
        )
        self.c = slider(
            w.FloatLogSlider,
            value=1.0,
            base=10,
            min=-9,
            max=5,
            step=0.25,
            description="compute C (PF-days)",
            readout_format=".1e",
        )
        super().__init__(bibtex=bib("2010.14701"), **kwargs)

    def controls(self):
        return [self.domains, self.n, self.c]

    def tables(self):
        return henighan_tables(self.domains.value, self.n.value, self.c.value)

    def chart(self):
        return henighan_chart()

    def sentence(self) -> str:
        return henighan_sentence(self._tables, self.n.value, self.c.value)

    def readout(self) -> str:
        text = super().readout()
        missing = [DOMAINS[d] for d in self.domains.value if henighan_values(d, "C") is None]
        if missing:
            text += f"<br>No L(C) fit in Table 1 for {', '.join(missing)} (its compute fit is of the combined loss)."
        return text


@figure("henighan-domains")
def henighan_figure() -> Figure:
    return explorer_figure(
        HenighanExplorer(),
        "henighan-domains",
        "02_chinchilla",
        "Henighan et al. 2020's Table 1 fits L = L∞ + (x₀/x)^α for language, 32x32 images, VQ video and math, "
        "against non-embedding parameters (left) and compute in PF-days (right): the total loss (solid) bends "
        "towards its floor L∞ (dotted) while the reducible part (dashed) stays a straight line; below, every "
        "domain's exponents. Published constants, drawn as fitted; nothing here is data.",
    )


@explorer("02_henighan_domains")
def henighan_explorer():
    return HenighanExplorer()
