"""Lesson 06: precision as lost parameters and as cost (QuEST, Kumar et al.'s law, the bit-cost explorer)."""

from __future__ import annotations

import functools
import math

import altair as alt
import ipywidgets as w
import numpy as np
import polars as pl

from workbench import corpus
from workbench.course import Figure, explorer, explorer_figure, figure
from workbench.course.references import bib
from workbench.course.style import (
    GREY,
    LOG,
    RED,
    SCI,
    SLIDER_LAYOUT,
    SLIDER_STYLE,
    named,
)
from workbench.viz.explorer import Explorer

QUEST = "w=HalfHadamardTrustQuantizer a=HalfHadamardTrustQuantizer"
QUEST_FP4 = "w=HalfHadamardFP4TrustQuantizer a=HalfHadamardFP4TrustQuantizer"
# label, condition, number format, bits charged by the cost model
PRECISION_CLASSES = (
    ("W2A2", QUEST, "int", 2),
    ("W3A3", QUEST, "int", 3),
    ("W4A4", QUEST, "int", 4),
    ("FP4 (E2M1)", QUEST_FP4, "fp", 4),
    ("W8A8", QUEST, "int", 8),
    ("BF16", None, "bf16", 16),
)


@functools.lru_cache(maxsize=1)
def quest_runs() -> pl.DataFrame:
    """QuEST runs: BF16 and QuEST-quantised (Hadamard + trust estimator) weights and activations at 2-8 bits."""
    df = corpus.load("quest_qat", metric="loss").with_columns(pl.col("value").alias("loss"))
    parts = []
    for label, cond, fmt, bits in PRECISION_CLASSES:
        sel = (pl.col("number_format") == fmt) & (pl.col("weight_bits") == (4.0 if fmt == "fp" else float(bits)))
        if cond is not None:
            sel = sel & pl.col("condition").str.starts_with(cond)
        g = df.filter(sel)
        parts.append(
            g.select(
                "run_id", "params", "tokens", "loss", pl.lit(label).alias("scheme"), pl.lit(float(bits)).alias("bits")
            )
        )
    return pl.concat(parts).with_columns((6 * pl.col("params") * pl.col("tokens") * pl.col("bits") / 16).alias("flops"))


@functools.lru_cache(maxsize=4)
def quest_efficiencies(draws: int = 100) -> pl.DataFrame:
    """eff_N per QuEST precision class with the base law frozen at Castro et al.'s BF16 fit (authors' code).

    BF16 is 1 by definition (its fitted value, a check of the base on these
    runs, is in ``quest_bf16_check``).  ``eff_N_authors`` is the QuEST
    notebook's value, relative to the QuEST authors' own base law.
    """
    from workbench.analysis.precision_budget import compute_multiplier, fit_efficiencies
    from workbench.laws.efficiency import QUARTET_BASE, QUEST_EFFICIENCIES

    runs = quest_runs()
    groups = [(label, runs.filter(pl.col("scheme") == label), ("eff_N",)) for label, *_ in PRECISION_CLASSES[:-1]]
    eff = fit_efficiencies(groups, QUARTET_BASE, draws=draws, seed=0)
    notebook_class = {"W2A2": "2", "W3A3": "3", "W4A4": "4", "FP4 (E2M1)": "fp4", "W8A8": "8"}
    bits = {label: b for label, _, _, b in PRECISION_CLASSES}
    formats = {label: f for label, _, f, _ in PRECISION_CLASSES}
    eff = eff.select("label", "runs", "eff_N", "eff_N_lo", "eff_N_hi", "caution").with_columns(
        pl.col("label").replace_strict(bits, return_dtype=pl.Float64).alias("bits"),
        pl.col("label").replace_strict(formats, return_dtype=pl.String).alias("format"),
        pl.col("label")
        .replace_strict({k: QUEST_EFFICIENCIES[v] for k, v in notebook_class.items()}, return_dtype=pl.Float64)
        .alias("eff_N_authors"),
    )
    bf16 = pl.DataFrame(
        {
            "label": ["BF16"],
            "runs": [runs.filter(pl.col("scheme") == "BF16").height],
            "eff_N": [1.0],
            "eff_N_lo": [1.0],
            "eff_N_hi": [1.0],
            "caution": [""],
            "bits": [16.0],
            "format": ["bf16"],
            "eff_N_authors": [1.0],
        },
        schema=eff.schema,
    )
    eff = pl.concat([eff, bf16])
    return eff.with_columns(
        pl.Series("m", compute_multiplier(eff["eff_N"].to_numpy(), eff["bits"].to_numpy())),
        pl.Series("m_lo", compute_multiplier(eff["eff_N_lo"].to_numpy(), eff["bits"].to_numpy())),
        pl.Series("m_hi", compute_multiplier(eff["eff_N_hi"].to_numpy(), eff["bits"].to_numpy())),
    )


@functools.lru_cache(maxsize=1)
def quest_bf16_check() -> float:
    """eff_N fitted to QuEST's own BF16 runs with Castro et al.'s base frozen (1 = the base fits them)."""
    from workbench.analysis.precision_budget import fit_efficiencies
    from workbench.laws.efficiency import QUARTET_BASE

    runs = quest_runs().filter(pl.col("scheme") == "BF16")
    return float(fit_efficiencies([("BF16", runs, ("eff_N",))], QUARTET_BASE)["eff_N"][0])


def kumar_multiplier(bits=None, components=("weight", "activation", "kv")) -> pl.DataFrame:
    """Kumar et al.'s effective-parameter share and compute multiplier vs bits (App. K Table 2, offsets included).

    Bits below a tensor's collapse point (P = n gamma, where its factor reaches 0) get share 0.
    """
    from workbench.analysis.precision_budget import compute_multiplier
    from workbench.laws.precision import TABLE2, effective_params, table2_gammas

    gammas, offsets = table2_gammas(TABLE2)
    p = np.linspace(1.0, 16.0, 151) if bits is None else np.asarray(bits, float)
    eff = np.clip(effective_params(1.0, {c: p for c in components}, gammas, offsets), 0.0, None)
    for c in components:  # a product of two negative factors is not a usable model
        eff = np.where(p > offsets[c] * gammas[c], eff, 0.0)
    return pl.DataFrame({"bits": p, "eff_N": eff, "m": compute_multiplier(eff, p)})


class PrecisionExplorer(Explorer):
    """Pick a precision; the compute-optimal frontier at that precision moves against BF16's.

    Data: QuEST runs (Panferov et al. 2025).  Law: Castro et al.'s (Quartet)
    BF16 base law (authors' code) with a per-precision parameter efficiency eff_N
    fitted here; cost model C = 6 N D P / 16 (Kumar et al. 2024, Eq. 5).
    """

    stem = "precision-frontier"

    def __init__(self, *, export_dir="exports", draws: int = 100):
        from workbench.laws.efficiency import QUARTET_BASE

        self.base = dict(QUARTET_BASE)
        self.runs = quest_runs()
        self.eff = quest_efficiencies(draws)
        self.kumar = kumar_multiplier(np.geomspace(1.8, 16, 121))
        self.runs_range = pl.DataFrame(
            {"lo": [float(self.runs["params"].min())], "hi": [float(self.runs["params"].max())]}
        )
        self.flops_grid = np.geomspace(1e16, 1e25, 55)
        labels = [label for label, *_ in PRECISION_CLASSES]
        self.scheme = w.SelectionSlider(
            options=labels,
            value="W4A4",
            description="training precision",
            continuous_update=False,
            style=SLIDER_STYLE,
            layout=SLIDER_LAYOUT,
        )
        self.budget = w.FloatLogSlider(
            value=1e21,
            base=10,
            min=18,
            max=24.5,
            step=0.1,
            description="budget C (FLOPs)",
            readout_format=".1e",
            continuous_update=False,
            style=SLIDER_STYLE,
            layout=SLIDER_LAYOUT,
        )
        self._frontiers = self._all_frontiers()
        super().__init__(export_dir=export_dir, bibtex=bib("quest_qat", "2411.04330", "2505.14669"))

    def controls(self):
        return [self.scheme, self.budget]

    def _row(self, label: str) -> dict:
        return self.eff.filter(pl.col("label") == label).row(0, named=True)

    def _all_frontiers(self) -> pl.DataFrame:
        from workbench.analysis.precision_budget import precision_optimal

        parts = []
        for r in self.eff.iter_rows(named=True):
            opt = precision_optimal(self.base, self.flops_grid, r["bits"], r["eff_N"])
            parts.append(
                pl.DataFrame(
                    {
                        "scheme": r["label"],
                        "bits": r["bits"],
                        "flops": self.flops_grid,
                        "params": opt.params,
                        "tokens": opt.tokens,
                        "loss": opt.loss,
                    }
                )
            )
        return pl.concat(parts)

    def tables(self):
        from workbench.analysis.precision_budget import precision_optimal

        label, c = self.scheme.value, float(self.budget.value)
        sel = pl.col("scheme") == label
        points = self.runs.select("run_id", "scheme", "bits", "params", "tokens", "flops", "loss").with_columns(
            sel.alias("selected")
        )
        frontier = self._frontiers.with_columns(sel.alias("selected"))
        budget = []
        for name in dict.fromkeys([label, "BF16"]):
            r = self._row(name)
            opt = precision_optimal(self.base, [c], r["bits"], r["eff_N"])
            budget.append(
                {
                    "scheme": name,
                    "bits": r["bits"],
                    "flops": c,
                    "params": float(opt.params[0]),
                    "tokens": float(opt.tokens[0]),
                    "loss": float(opt.loss[0]),
                    "selected": name == label,
                }
            )
        multiplier = self.eff.with_columns((pl.col("label") == label).alias("selected"))
        return {
            "points": points,
            "frontier": frontier,
            "budget": pl.DataFrame(budget),
            "multiplier": multiplier,
            "kumar": self.kumar,
            "runs_range": self.runs_range,
        }

    def chart(self):
        x = alt.X("flops:Q", scale=LOG, axis=SCI, title="training cost C = 6ND·P/16 (FLOPs, BF16-equivalent)")
        y = alt.Y("loss:Q", scale=alt.Scale(zero=False, nice=False), title="loss (nats/token, C4)")
        colour = alt.Color("bits:O", scale=alt.Scale(scheme="viridis"), title="bits P")
        lines = (
            alt.Chart(named("frontier"))
            .mark_line(strokeWidth=1, opacity=0.45)
            .encode(x=x, y=y, color=colour, detail="scheme:N")
        )
        chosen = (
            alt.Chart(named("frontier"))
            .transform_filter("datum.selected")
            .mark_line(strokeWidth=3, color=RED)
            .encode(x="flops:Q", y="loss:Q")
        )
        bf16 = (
            alt.Chart(named("frontier"))
            .transform_filter("datum.bits == 16")
            .mark_line(strokeDash=[6, 3], color="black")
            .encode(x="flops:Q", y="loss:Q")
        )
        pts = (
            alt.Chart(named("points"))
            .mark_point(filled=True)
            .encode(
                x="flops:Q",
                y="loss:Q",
                color=colour,
                size=alt.condition("datum.selected", alt.value(70), alt.value(18)),
                shape=alt.condition("datum.selected", alt.value("diamond"), alt.value("circle")),
                tooltip=["run_id:N", "scheme:N", "params:Q", "tokens:Q", "loss:Q"],
            )
        )
        rule = (
            alt.Chart(named("budget"))
            .transform_filter("datum.selected")
            .mark_rule(color=RED, strokeDash=[2, 2])
            .encode(x="flops:Q")
        )
        marks = (
            alt.Chart(named("budget"))
            .mark_point(size=150, filled=True, shape="diamond")
            .encode(
                x="flops:Q",
                y="loss:Q",
                color=alt.condition("datum.selected", alt.value(RED), alt.value("black")),
                tooltip=["scheme:N", "flops:Q", "params:Q", "tokens:Q", "loss:Q"],
            )
        )
        left = alt.layer(lines, bf16, chosen, pts, rule, marks).properties(
            width=260, height=280, title=alt.TitleParams("compute-optimal loss", subtitle=["red: chosen; dashed: BF16"])
        )
        yn = alt.Y("params:Q", scale=LOG, axis=SCI, title="compute-optimal parameters N_opt")
        runs_band = alt.Chart(named("runs_range")).mark_rect(color=GREY, opacity=0.15).encode(y="lo:Q", y2="hi:Q")
        n_bf16 = (
            alt.Chart(named("frontier"))
            .transform_filter("datum.bits == 16")
            .mark_line(strokeDash=[6, 3], color="black")
            .encode(
                x=alt.X(
                    "flops:Q",
                    scale=LOG,
                    axis=alt.Axis(format=".0e", grid=False, values=[1e16, 1e19, 1e22, 1e25]),
                    title="training cost C (FLOPs)",
                ),
                y=yn,
            )
        )
        n_chosen = (
            alt.Chart(named("frontier"))
            .transform_filter("datum.selected")
            .mark_line(strokeWidth=3, color=RED)
            .encode(x="flops:Q", y="params:Q")
        )
        n_marks = (
            alt.Chart(named("budget"))
            .mark_point(size=120, filled=True, shape="diamond")
            .encode(
                x="flops:Q", y="params:Q", color=alt.condition("datum.selected", alt.value(RED), alt.value("black"))
            )
        )
        middle = alt.layer(runs_band, n_bf16, n_chosen, n_marks).properties(
            width=190,
            height=280,
            title=alt.TitleParams("optimal model size", subtitle=["grey: the sizes that were run"]),
        )
        xb = alt.X(
            "bits:Q",
            scale=alt.Scale(type="log", base=2, domain=[1.8, 18]),
            axis=alt.Axis(values=[2, 3, 4, 6, 8, 12, 16]),
            title="bits P (weights = activations)",
        )
        kumar = (
            alt.Chart(named("kumar"))
            .mark_line(color=GREY, strokeDash=[4, 3], clip=True)
            .encode(x=xb, y=alt.Y("m:Q", title="compute multiplier m = eff_N·16/P"))
        )
        bars = (
            alt.Chart(named("multiplier"))
            .mark_rule(strokeWidth=2)
            .encode(x="bits:Q", y="m_lo:Q", y2="m_hi:Q", color=colour)
        )
        dots = (
            alt.Chart(named("multiplier"))
            .mark_point(filled=True, size=70)
            .encode(
                x="bits:Q",
                y="m:Q",
                color=colour,
                shape=alt.Shape(
                    "format:N",
                    scale=alt.Scale(domain=["int", "fp", "bf16"], range=["circle", "square", "triangle-up"]),
                    title="format",
                ),
                tooltip=["label:N", "runs:Q", "eff_N:Q", "eff_N_lo:Q", "eff_N_hi:Q", "m:Q", "eff_N_authors:Q"],
            )
        )
        ring = (
            alt.Chart(named("multiplier"))
            .transform_filter("datum.selected")
            .mark_point(size=400, color=RED, strokeWidth=2)
            .encode(x="bits:Q", y="m:Q")
        )
        one = (
            alt.Chart(named("multiplier"))
            .transform_filter("datum.bits == 16")
            .mark_rule(color="black", strokeDash=[6, 3])
            .encode(y="m:Q")
        )
        right = alt.layer(kumar, one, bars, dots, ring).properties(
            width=200, height=280, title=alt.TitleParams("what a bit buys", subtitle=["grey: Kumar et al.'s Table 2"])
        )
        return alt.hconcat(
            left, middle, right, title=alt.TitleParams("Precision and the compute-optimal frontier", subtitle=[""])
        )

    def sentence(self) -> str:
        b = {r["scheme"]: r for r in self._tables["budget"].iter_rows(named=True)}
        label = self.scheme.value
        r, ref = b[label], b["BF16"]
        e = self._row(label)
        if label == "BF16":
            return (
                f"BF16 at C = {r['flops']:.1e}: N_opt = {r['params']:.3g}, D_opt = {r['tokens']:.3g}, "
                f"loss {r['loss']:.3f}"
            )
        return (
            f"{label}: eff_N = {e['eff_N']:.3f} (95% CI {e['eff_N_lo']:.3f}-{e['eff_N_hi']:.3f}), m = {e['m']:.2f}; "
            f"at C = {r['flops']:.1e}: N_opt = {r['params']:.3g}, loss {r['loss']:.3f} vs BF16 {ref['loss']:.3f} "
            f"({r['loss'] - ref['loss']:+.3f})"
        )

    def caution(self) -> str:
        text = self._row(self.scheme.value).get("caution") or ""
        return text.replace("Caution: ", f"Caution ({self.scheme.value} fit): ") if text else ""

    def readout(self) -> str:
        best = self.eff.sort("m", descending=True).row(0, named=True)
        n_hi = float(self.runs["params"].max())
        b = {r["scheme"]: r for r in self._tables["budget"].iter_rows(named=True)}
        n_opt = b[self.scheme.value]["params"]
        where = (
            f"{math.log10(n_opt / n_hi):.1f} decades beyond the largest run ({n_hi:.2g} parameters)"
            if n_opt > n_hi
            else "inside the runs' range of model sizes"
        )
        return (
            f"<b>{self.sentence()}</b><br>The optimal model is {where}. Largest multiplier among the measured "
            f"precisions: <b>{best['label']}</b> (m = {best['m']:.2f}), so under this cost model it is the best "
            "precision "
            "at every budget."
        )


@explorer("06_precision")
def precision_explorer():
    return PrecisionExplorer()


@figure("precision-frontier")
def precision_frontier_figure() -> Figure:
    ex = PrecisionExplorer()
    return explorer_figure(
        ex,
        "precision-frontier",
        "06_precision",
        "QuEST W4A4 vs BF16: compute-optimal loss under the bit-cost model C = 6ND·P/16 (base law: Castro "
        "et al.'s BF16 fit), and the compute multiplier eff_N·16/P of each precision (eff_N fitted to the QuEST "
        "runs, 95% bootstrap intervals; grey: Kumar et al.'s law with its printed App. K Table 2 constants, "
        "offsets included, weights, activations and KV cache at P bits).",
    )
