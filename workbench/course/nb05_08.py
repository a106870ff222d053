"""Figures and explorers of notebooks 05 (precision), 06 (inverse scaling), 07 (crossovers), 08 (proxies).

Each notebook calls the functions here and adds nothing but narrative: the
``*_figure`` builders (registered with :func:`~workbench.course.figure`) make
the static figures that ``python -m workbench figures`` also writes, and the
explorers (registered with :func:`~workbench.course.explorer`) are
:class:`~workbench.viz.explorer.Explorer` subclasses whose charts are built
once over named datasets, so a slider only swaps rows.

Fits that a slider selects between (the fitted range of a BNSL, the fitted
compute range of a crossover) are computed once, when the explorer is built,
and cached per process (``functools.lru_cache``), so a slider move never fits.
Figures over the shipped proxy results are registered only when the preset's
CSV is there (``datasets/proxies/<preset>.csv``); the notebooks say so when
it is not.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import math
import time
import warnings
from pathlib import Path
from typing import Mapping

import altair as alt
import ipywidgets as w
import numpy as np
import polars as pl

from workbench import corpus
from workbench.course import Figure, explorer, figure
from workbench.errors import WorkbenchError
from workbench.viz.charts import LOG, SCI, named, with_data
from workbench.fit import caution_of
from workbench.viz.explorer import Explorer, caution_html

RED = "#d62728"
GREY = "#7f7f7f"
_STYLE = {"description_width": "150px"}
_WIDE = w.Layout(width="520px")

# --------------------------------------------------------------------------- references
# BibTeX of papers shown in these notebooks that are not corpus sources (corpus sources
# carry their own BibTeX: corpus.get_source(id).bibtex).  Where a first name could not be
# checked, the author is given by surname only.
BIBTEX = {
    "kumar2024": """@article{kumar2024precision,
  title   = {Scaling Laws for Precision},
  author  = {Kumar, Tanishq and Ankner, Zachary and Spector, Benjamin F. and Bordelon, Blake and Muennighoff, Niklas and Paul, Mansheej and Pehlevan, Cengiz and R{\\'e}, Christopher and Raghunathan, Aditi},
  journal = {arXiv preprint arXiv:2411.04330},
  year    = {2024}
}""",
    "sun2025": """@article{sun2025floating,
  title   = {Scaling Laws for Floating Point Quantization Training},
  author  = {Sun and Li and Xie and Han and Wu and Yang and Li and Wang and Li and Xue and Cheng and Tao and Kang and Xu and Wang and Jiang},
  journal = {arXiv preprint arXiv:2501.02423},
  year    = {2025}
}""",
    "ouyang2024": """@article{ouyang2024lowbit,
  title   = {Low-Bit Quantization Favors Undertrained {LLMs}: Scaling Laws for Quantized {LLMs} with 100T Training Tokens},
  author  = {Ouyang, Xu and others},
  journal = {arXiv preprint arXiv:2411.17691},
  year    = {2024}
}""",
    "chen2025": """@article{chen2025qat,
  title   = {Scaling Law for Quantization-Aware Training},
  author  = {Chen, Mengzhao and Zhang, Chaoyi and Liu, Jing and Zeng, Yutao and Xue, Zeyue and Liu, Zhiheng and Li, Yunshui and Ma, Jin and Huang, Jie and Zhou, Xun and Luo, Ping},
  journal = {arXiv preprint arXiv:2505.14302},
  year    = {2025}
}""",
    "castro2025": """@article{castro2025quartet,
  title   = {Quartet: Native {FP4} Training Can Be Optimal for Large Language Models},
  author  = {Castro, Roberto L. and Panferov, Andrei and Tabesh, Soroush and Sieberling, Oliver and Chen, Jiale and Nikdan, Mahdi and Ashkboos, Saleh and Alistarh, Dan},
  journal = {arXiv preprint arXiv:2505.14669},
  year    = {2025}
}""",
    "lin2021": """@inproceedings{lin2022truthfulqa,
  title     = {{TruthfulQA}: Measuring How Models Mimic Human Falsehoods},
  author    = {Lin, Stephanie and Hilton, Jacob and Evans, Owain},
  booktitle = {Proceedings of the 60th Annual Meeting of the Association for Computational Linguistics},
  year      = {2022},
  note      = {arXiv:2109.07958}
}""",
    "mckenzie2023": """@article{mckenzie2023inverse,
  title   = {Inverse Scaling: When Bigger Isn't Better},
  author  = {McKenzie, Ian R. and others},
  journal = {Transactions on Machine Learning Research},
  year    = {2023},
  note    = {arXiv:2306.09479}
}""",
    "wei2022": """@article{wei2022ushaped,
  title   = {Inverse scaling can become U-shaped},
  author  = {Wei, Jason and Kim, Najoung and Tay, Yi and Le, Quoc V.},
  journal = {arXiv preprint arXiv:2211.02011},
  year    = {2022}
}""",
    "godey2024": """@article{godey2024small,
  title   = {Why do small language models underperform? Studying Language Model Saturation via the Softmax Bottleneck},
  author  = {Godey, Nathan and de la Clergerie, {\\'E}ric and Sagot, Beno{\\^\\i}t},
  journal = {arXiv preprint arXiv:2404.07647},
  year    = {2024}
}""",
    "clark2018": """@article{clark2018arc,
  title   = {Think you have Solved Question Answering? Try ARC, the AI2 Reasoning Challenge},
  author  = {Clark, Peter and Cowhey, Isaac and Etzioni, Oren and Khot, Tushar and Sabharwal, Ashish and Schoenick, Carissa and Tafjord, Oyvind},
  journal = {arXiv preprint arXiv:1803.05457},
  year    = {2018}
}""",
    "stanic2023": """@article{stanic2023languini,
  title   = {The Languini Kitchen: Enabling Language Modelling Research at Different Scales of Compute},
  author  = {Stani{\\'c}, Aleksandar and Ashley, Dylan and Serikov, Oleg and Kirsch, Louis and Faccio, Francesco and Schmidhuber, J{\\"u}rgen and Hofmann, Thomas and Schlag, Imanol},
  journal = {arXiv preprint arXiv:2309.11197},
  year    = {2023}
}""",
    "henighan2020": """@article{henighan2020autoregressive,
  title   = {Scaling Laws for Autoregressive Generative Modeling},
  author  = {Henighan, Tom and Kaplan, Jared and Katz, Mor and others},
  journal = {arXiv preprint arXiv:2010.14701},
  year    = {2020}
}""",
}


def bibtex(*keys: str) -> str:
    """BibTeX of corpus sources (by source id) and of the papers in :data:`BIBTEX` (by key), in order."""
    out = []
    for k in keys:
        out.append(BIBTEX[k] if k in BIBTEX else corpus.get_source(k).bibtex.strip())
    return "\n\n".join(out)


def _sig(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}g}"


# --------------------------------------------------------------------------- shared
class _SubtitledExplorer(Explorer):
    """An explorer whose chart subtitle is :meth:`subtitle` (the verdict travels with the figure)."""

    def subtitle(self) -> str:
        return ""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.live.update(self._tables, subtitle=self.subtitle())

    def update(self) -> None:
        t0 = time.perf_counter()
        self._tables = self.tables()
        self.live.update(self._tables, subtitle=self.subtitle())
        self.message.value = self.readout() + caution_html(self.caution())
        self.last_update_seconds = time.perf_counter() - t0

    def spec(self) -> dict:
        spec = self.live.spec(self._tables)
        title = spec.get("title", {})
        title = {"text": title} if isinstance(title, str) else dict(title)
        title["subtitle"] = [line for line in (self.subtitle(), self.caution()) if line]
        return {**spec, "title": title}

    def figure(self, name: str, notebook: str, caption: str) -> Figure:
        """The current state as a course :class:`Figure` (its Vega-Lite spec, with data, subtitle and caution)."""
        return Figure(name, notebook, caption, self.spec(), dict(self._tables), self.bibtex, caution=self.caution())


def show(item) -> alt.JupyterChart:
    """A static figure (or altair chart) as an offline ``alt.JupyterChart`` widget: no CDN, like the explorers."""
    chart = item.chart if isinstance(item, Figure) else item
    if isinstance(chart, dict):
        chart = alt.Chart.from_dict(chart)
    return alt.JupyterChart(chart, embed_options={"renderer": "svg", "actions": False})


def proxy_results(preset: str) -> pl.DataFrame | None:
    """The shipped rows of a proxy preset, or None when ``datasets/proxies/<preset>.csv`` is missing."""
    from workbench.proxies import results

    path = results.datasets_dir() / f"{preset}.csv"
    if not path.exists():
        return None
    return results.read_csv(path)


def proxy_missing_message(preset: str) -> str:
    from workbench.proxies import results

    have = sorted(p.stem for p in results.datasets_dir().glob("*.csv"))
    return (f"The shipped results of the proxy preset {preset!r} are not in this checkout "
            f"(datasets/proxies/{preset}.csv; shipped: {', '.join(have) or 'none'}). "
            f"Make them with `python -m workbench sweep --preset {preset} --out runs/{preset}` "
            "and copy runs/{0}/results.csv to datasets/proxies/{0}.csv.".format(preset))


# =========================================================================== 05 precision
QUEST = "w=HalfHadamardTrustQuantizer a=HalfHadamardTrustQuantizer"
QUEST_FP4 = "w=HalfHadamardFP4TrustQuantizer a=HalfHadamardFP4TrustQuantizer"
# label, condition, number format, bits charged by the cost model
PRECISION_CLASSES = (("W2A2", QUEST, "int", 2), ("W3A3", QUEST, "int", 3), ("W4A4", QUEST, "int", 4),
                     ("FP4 (E2M1)", QUEST_FP4, "fp", 4), ("W8A8", QUEST, "int", 8), ("BF16", None, "bf16", 16))


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
        parts.append(g.select("run_id", "params", "tokens", "loss", pl.lit(label).alias("scheme"),
                              pl.lit(float(bits)).alias("bits")))
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
        pl.col("label").replace_strict({k: QUEST_EFFICIENCIES[v] for k, v in notebook_class.items()},
                                       return_dtype=pl.Float64).alias("eff_N_authors"))
    bf16 = pl.DataFrame({"label": ["BF16"], "runs": [runs.filter(pl.col("scheme") == "BF16").height], "eff_N": [1.0],
                         "eff_N_lo": [1.0], "eff_N_hi": [1.0], "caution": [""], "bits": [16.0], "format": ["bf16"],
                         "eff_N_authors": [1.0]}, schema=eff.schema)
    eff = pl.concat([eff, bf16])
    return eff.with_columns(
        pl.Series("m", compute_multiplier(eff["eff_N"].to_numpy(), eff["bits"].to_numpy())),
        pl.Series("m_lo", compute_multiplier(eff["eff_N_lo"].to_numpy(), eff["bits"].to_numpy())),
        pl.Series("m_hi", compute_multiplier(eff["eff_N_hi"].to_numpy(), eff["bits"].to_numpy())))


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


class PrecisionExplorer(_SubtitledExplorer):
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
        self.runs_range = pl.DataFrame({"lo": [float(self.runs["params"].min())], "hi": [float(self.runs["params"].max())]})
        self.flops_grid = np.geomspace(1e16, 1e25, 55)
        labels = [label for label, *_ in PRECISION_CLASSES]
        self.scheme = w.SelectionSlider(options=labels, value="W4A4", description="training precision",
                                        continuous_update=False, style=_STYLE, layout=_WIDE)
        self.budget = w.FloatLogSlider(value=1e21, base=10, min=18, max=24.5, step=0.1, description="budget C (FLOPs)",
                                       readout_format=".1e", continuous_update=False, style=_STYLE, layout=_WIDE)
        self._frontiers = self._all_frontiers()
        super().__init__(export_dir=export_dir, bibtex=bibtex("quest_qat", "kumar2024", "castro2025"))

    def controls(self):
        return [self.scheme, self.budget]

    def _row(self, label: str) -> dict:
        return self.eff.filter(pl.col("label") == label).row(0, named=True)

    def _all_frontiers(self) -> pl.DataFrame:
        from workbench.analysis.precision_budget import precision_optimal

        parts = []
        for r in self.eff.iter_rows(named=True):
            opt = precision_optimal(self.base, self.flops_grid, r["bits"], r["eff_N"])
            parts.append(pl.DataFrame({"scheme": r["label"], "bits": r["bits"], "flops": self.flops_grid,
                                       "params": opt.params, "tokens": opt.tokens, "loss": opt.loss}))
        return pl.concat(parts)

    def tables(self):
        from workbench.analysis.precision_budget import precision_optimal

        label, c = self.scheme.value, float(self.budget.value)
        sel = pl.col("scheme") == label
        points = self.runs.select("run_id", "scheme", "bits", "params", "tokens", "flops", "loss").with_columns(sel.alias("selected"))
        frontier = self._frontiers.with_columns(sel.alias("selected"))
        budget = []
        for name in dict.fromkeys([label, "BF16"]):
            r = self._row(name)
            opt = precision_optimal(self.base, [c], r["bits"], r["eff_N"])
            budget.append({"scheme": name, "bits": r["bits"], "flops": c, "params": float(opt.params[0]),
                           "tokens": float(opt.tokens[0]), "loss": float(opt.loss[0]), "selected": name == label})
        multiplier = self.eff.with_columns((pl.col("label") == label).alias("selected"))
        return {"points": points, "frontier": frontier, "budget": pl.DataFrame(budget), "multiplier": multiplier,
                "kumar": self.kumar, "runs_range": self.runs_range}

    def chart(self):
        x = alt.X("flops:Q", scale=LOG, axis=SCI, title="training cost C = 6ND·P/16 (FLOPs, BF16-equivalent)")
        y = alt.Y("loss:Q", scale=alt.Scale(zero=False, nice=False), title="loss (nats/token, C4)")
        colour = alt.Color("bits:O", scale=alt.Scale(scheme="viridis"), title="bits P")
        lines = alt.Chart(named("frontier")).mark_line(strokeWidth=1, opacity=0.45).encode(x=x, y=y, color=colour, detail="scheme:N")
        chosen = alt.Chart(named("frontier")).transform_filter("datum.selected").mark_line(strokeWidth=3, color=RED).encode(
            x="flops:Q", y="loss:Q")
        bf16 = alt.Chart(named("frontier")).transform_filter("datum.bits == 16").mark_line(strokeDash=[6, 3], color="black").encode(
            x="flops:Q", y="loss:Q")
        pts = alt.Chart(named("points")).mark_point(filled=True).encode(
            x="flops:Q", y="loss:Q", color=colour, size=alt.condition("datum.selected", alt.value(70), alt.value(18)),
            shape=alt.condition("datum.selected", alt.value("diamond"), alt.value("circle")),
            tooltip=["run_id:N", "scheme:N", "params:Q", "tokens:Q", "loss:Q"])
        rule = alt.Chart(named("budget")).transform_filter("datum.selected").mark_rule(color=RED, strokeDash=[2, 2]).encode(x="flops:Q")
        marks = alt.Chart(named("budget")).mark_point(size=150, filled=True, shape="diamond").encode(
            x="flops:Q", y="loss:Q", color=alt.condition("datum.selected", alt.value(RED), alt.value("black")),
            tooltip=["scheme:N", "flops:Q", "params:Q", "tokens:Q", "loss:Q"])
        left = alt.layer(lines, bf16, chosen, pts, rule, marks).properties(
            width=290, height=280, title="compute-optimal loss (red: chosen, dashed: BF16)")
        yn = alt.Y("params:Q", scale=LOG, axis=SCI, title="compute-optimal parameters N_opt")
        runs_band = alt.Chart(named("runs_range")).mark_rect(color=GREY, opacity=0.15).encode(y="lo:Q", y2="hi:Q")
        n_bf16 = alt.Chart(named("frontier")).transform_filter("datum.bits == 16").mark_line(strokeDash=[6, 3], color="black").encode(
            x=alt.X("flops:Q", scale=LOG, axis=alt.Axis(format=".0e", grid=False, values=[1e16, 1e19, 1e22, 1e25]),
                    title="training cost C (FLOPs)"), y=yn)
        n_chosen = alt.Chart(named("frontier")).transform_filter("datum.selected").mark_line(strokeWidth=3, color=RED).encode(
            x="flops:Q", y="params:Q")
        n_marks = alt.Chart(named("budget")).mark_point(size=120, filled=True, shape="diamond").encode(
            x="flops:Q", y="params:Q", color=alt.condition("datum.selected", alt.value(RED), alt.value("black")))
        middle = alt.layer(runs_band, n_bf16, n_chosen, n_marks).properties(
            width=190, height=280, title="optimal model size (grey: sizes run)")
        xb = alt.X("bits:Q", scale=alt.Scale(type="log", base=2, domain=[1.8, 18]), axis=alt.Axis(values=[2, 3, 4, 6, 8, 12, 16]),
                   title="bits P (weights = activations)")
        kumar = alt.Chart(named("kumar")).mark_line(color=GREY, strokeDash=[4, 3], clip=True).encode(
            x=xb, y=alt.Y("m:Q", title="compute multiplier m = eff_N·16/P"))
        bars = alt.Chart(named("multiplier")).mark_rule(strokeWidth=2).encode(x="bits:Q", y="m_lo:Q", y2="m_hi:Q", color=colour)
        dots = alt.Chart(named("multiplier")).mark_point(filled=True, size=70).encode(
            x="bits:Q", y="m:Q", color=colour,
            shape=alt.Shape("format:N", scale=alt.Scale(domain=["int", "fp", "bf16"], range=["circle", "square", "triangle-up"]),
                            title="format"),
            tooltip=["label:N", "runs:Q", "eff_N:Q", "eff_N_lo:Q", "eff_N_hi:Q", "m:Q", "eff_N_authors:Q"])
        ring = alt.Chart(named("multiplier")).transform_filter("datum.selected").mark_point(size=400, color=RED, strokeWidth=2).encode(
            x="bits:Q", y="m:Q")
        one = alt.Chart(named("multiplier")).transform_filter("datum.bits == 16").mark_rule(color="black", strokeDash=[6, 3]).encode(y="m:Q")
        right = alt.layer(kumar, one, bars, dots, ring).properties(
            width=210, height=280, title="what a bit buys (grey: Kumar et al.'s Table 2)")
        return alt.hconcat(left, middle, right, title=alt.TitleParams("Precision and the compute-optimal frontier", subtitle=[""]))

    def subtitle(self) -> str:
        b = {r["scheme"]: r for r in self._tables["budget"].iter_rows(named=True)}
        label = self.scheme.value
        r, ref = b[label], b["BF16"]
        e = self._row(label)
        if label == "BF16":
            return f"BF16 at C = {r['flops']:.1e}: N_opt = {r['params']:.3g}, D_opt = {r['tokens']:.3g}, loss {r['loss']:.3f}"
        return (f"{label}: eff_N = {e['eff_N']:.3f} (95% CI {e['eff_N_lo']:.3f}-{e['eff_N_hi']:.3f}), m = {e['m']:.2f}; "
                f"at C = {r['flops']:.1e}: N_opt = {r['params']:.3g}, loss {r['loss']:.3f} vs BF16 {ref['loss']:.3f} "
                f"({r['loss'] - ref['loss']:+.3f})")

    def caution(self) -> str:
        text = self._row(self.scheme.value).get("caution") or ""
        return text.replace("Caution: ", f"Caution ({self.scheme.value} fit): ") if text else ""

    def readout(self) -> str:
        best = self.eff.sort("m", descending=True).row(0, named=True)
        n_hi = float(self.runs["params"].max())
        b = {r["scheme"]: r for r in self._tables["budget"].iter_rows(named=True)}
        n_opt = b[self.scheme.value]["params"]
        where = (f"{math.log10(n_opt / n_hi):.1f} decades beyond the largest run ({n_hi:.2g} parameters)" if n_opt > n_hi
                 else "inside the runs' range of model sizes")
        return (f"<b>{self.subtitle()}</b><br>The optimal model is {where}. Largest multiplier among the measured "
                f"precisions: <b>{best['label']}</b> (m = {best['m']:.2f}), so under this cost model it is the best precision "
                "at every budget.")


@explorer("05_precision")
def precision_explorer():
    return PrecisionExplorer()


@figure("precision-frontier")
def precision_frontier_figure() -> Figure:
    ex = PrecisionExplorer()
    return ex.figure("precision-frontier", "05_precision",
                     "QuEST W4A4 vs BF16: compute-optimal loss under the bit-cost model C = 6ND·P/16 (base law: Castro "
                     "et al.'s BF16 fit), and the compute multiplier eff_N·16/P of each precision (eff_N fitted to the QuEST "
                     "runs, 95% bootstrap intervals; grey: Kumar et al.'s law with its printed App. K Table 2 constants, "
                     "offsets included, weights, activations and KV cache at P bits).")


# Sun et al. 2025: formats shown (label, exponent bits, mantissa bits)
SUN_FORMATS = (("E2M1 (FP4)", 2, 1), ("E3M2 (FP6)", 3, 2), ("E2M3 (FP6)", 2, 3), ("E5M2 (FP8)", 5, 2),
               ("E4M3 (FP8)", 4, 3), ("E8M7 (BF16 layout)", 8, 7))


def sun_tables(params: float = 1e9, block: float = 128) -> dict[str, pl.DataFrame]:
    """Loss vs tokens of Sun et al.'s law (Table 2 constants) per format, and each format's critical data size."""
    from workbench.laws.floating_point import SUN_FP, TABLE2, critical_data_size

    d = np.geomspace(1e10, 1e15, 121)
    curves, crit = [], []
    for label, e, m in SUN_FORMATS:
        cols = {"params": np.full(d.size, params), "tokens": d, "exponent_bits": np.full(d.size, float(e)),
                "mantissa_bits": np.full(d.size, float(m)), "block_size": np.full(d.size, float(block))}
        loss = SUN_FP.predict(cols, TABLE2)
        curves.append(pl.DataFrame({"format": label, "tokens": d, "loss": loss}))
        dc = float(critical_data_size(params, e, m, block))
        lc = float(SUN_FP.predict({"params": [params], "tokens": [dc], "exponent_bits": [e], "mantissa_bits": [m],
                                   "block_size": [block]}, TABLE2)[0])
        crit.append({"format": label, "tokens": dc, "loss": lc, "shown": bool(dc <= d.max())})
    return {"curves": pl.concat(curves), "critical": pl.DataFrame(crit)}


def optimal_precision_table(flops=(1e21, 1e23, 1e25, 1e27, 1e29, 1e31)) -> pl.DataFrame:
    """Compute-optimal training precision by budget under the two papers' laws, each with its printed constants.

    Kumar et al.: the P maximising N_eff / (N P), the same at every budget (App. K Table 2 with offsets).
    Sun et al.: Eq. (20) minimised under C = (6/16) P N D with block size 128 (their Eq. 25, solved numerically).
    """
    from workbench.laws.floating_point import compute_optimal_precision as sun_optimal
    from workbench.laws.precision import compute_optimal_precision as kumar_optimal

    c = np.asarray(flops, float)
    p_sun, n_sun, d_sun, _ = sun_optimal(c)
    return pl.DataFrame({"budget C (FLOPs)": c, "Kumar 2024: P* (bits)": np.full(c.size, kumar_optimal()),
                         "Sun 2025: P_opt (bits)": p_sun, "Sun 2025: N_opt": n_sun, "Sun 2025: tokens per parameter": d_sun / n_sun})


def sun_critical_sizes(params: float = 1e9, block: float = 128) -> pl.DataFrame:
    """Sun et al.'s Eq. (21) for the three formats §4.3 quotes (1730T, 27T, 0.4T tokens at N = 1e9)."""
    from workbench.laws.floating_point import critical_data_size

    rows = [("BF16 (E8M7)", 8, 7, "1730T"), ("FP8-E4M3", 4, 3, "27T"), ("FP4-E2M1", 2, 1, "0.4T")]
    return pl.DataFrame([{"format": f, "D_crit (T tokens)": float(critical_data_size(params, e, m, block)) / 1e12,
                          "paper (§4.3)": quoted} for f, e, m, quoted in rows])


def sun_splits(bits=(4, 6, 8, 12, 16)) -> pl.DataFrame:
    """Sun et al.'s optimal exponent/mantissa split per total bit-width (integer and continuous)."""
    from workbench.laws.floating_point import optimal_exponent_bits, optimal_exponent_mantissa

    rows = []
    for p in bits:
        e, m = optimal_exponent_mantissa(p)
        rows.append({"total bits": p, "best split": f"E{e}M{m}", "continuous optimum E": float(optimal_exponent_bits(p))})
    return pl.DataFrame(rows)


@figure("sun-fp-formats")
def sun_figure() -> Figure:
    tables = sun_tables()
    x = alt.X("tokens:Q", scale=LOG, axis=SCI, title="training tokens D")
    colour = alt.Color("format:N", sort=[f[0] for f in SUN_FORMATS], scale=alt.Scale(scheme="dark2"), title="format")
    y = alt.Y("loss:Q", scale=alt.Scale(domain=[2.38, 2.9], clamp=False), title="predicted loss (zoomed; FP4 leaves the frame)")
    lines = alt.Chart(tables["curves"]).mark_line(clip=True).encode(x=x, y=y, color=colour)
    crit = alt.Chart(tables["critical"].filter(pl.col("shown"))).mark_point(size=90, filled=True, shape="triangle-down", clip=True).encode(
        x="tokens:Q", y="loss:Q", color=colour, tooltip=["format:N", "tokens:Q", "loss:Q"])
    chart = alt.layer(lines, crit).properties(width=460, height=300, title=alt.TitleParams(
        "Sun et al. 2025: low-precision training stops improving past a critical data size",
        subtitle=["N = 1e9, block size 128, Table 2 constants (fitted on 41M-679M models: N = 1e9 extrapolates); "
                  "triangles: loss minimum D_crit"]))
    return Figure("sun-fp-formats", "05_precision",
                  "Sun et al.'s floating-point training law: loss against tokens for six formats at N = 1e9; "
                  "past the critical data size (triangles) more data makes a low-precision model worse.",
                  chart, tables, bibtex("sun2025"))


def degradation_tables(params: float = 1e9, bits: float = 4, group: float = 128) -> pl.DataFrame:
    """Loss increase from quantisation vs training tokens under three laws, each with its printed constants."""
    from workbench.laws.precision import KUMAR_PTQ
    from workbench.laws.quantization import CHEN_QAT, OUYANG_QID

    d = np.geomspace(1e9, 1e13, 81)
    n = np.full(d.size, params)
    laws = [(KUMAR_PTQ, "kumar2024_table2", "Kumar 2024 PTQ (GPTQ)", {"weight_bits": bits}),
            (OUYANG_QID, "ouyang2024_eq8", "Ouyang 2024 QiD (GPTQ)", {"weight_bits": bits}),
            (CHEN_QAT, "chen2025_w4a4", f"Chen 2025 W4A4 QAT, G = {group:g}", {"block_size": group})]
    frames = []
    for law, preset_name, name, extra in laws:
        preset = law.preset(preset_name)
        x = {"params": n, "tokens": d, **{k: np.full(d.size, float(v)) for k, v in extra.items()}}
        frames.append(pl.DataFrame({"law": f"{name}, {preset.label}: {preset.locator.split(' (')[0]}", "tokens": d,
                                    "degradation": law.predict(x, preset.values)}))
    return pl.concat(frames)


@figure("quantisation-degradation")
def degradation_figure() -> Figure:
    table = degradation_tables()
    chart = alt.Chart(table).mark_line().encode(
        x=alt.X("tokens:Q", scale=LOG, axis=SCI, title="training tokens D"),
        y=alt.Y("degradation:Q", scale=LOG, title="loss increase over 16-bit (nats)"),
        color=alt.Color("law:N", title=None, legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=500)),
    ).properties(width=460, height=280, title=alt.TitleParams(
        "Quantisation hurts more-trained models more", subtitle=["N = 1e9, 4-bit weights; each law in its own paper's setting"]))
    return Figure("quantisation-degradation", "05_precision",
                  "Loss increase from 4-bit quantisation of a 1e9-parameter model against its training tokens, each law with "
                  "its paper's printed constants (Kumar et al. 2024 App. K Table 2 with its offset b; Ouyang et al. 2024 "
                  "Eq. 8; Chen et al. 2025 Table 1): post-training quantisation grows about as D^0.5, quantisation-aware "
                  "training as D^0.07. Each law is fitted in its own setting (model family, data, quantiser).",
                  chart, {"curves": table}, bibtex("kumar2024", "ouyang2024", "chen2025"))


def _quartet2_groups(df: pl.DataFrame) -> list[tuple[str, pl.DataFrame, tuple[str, ...]]]:
    groups = []
    for cond in df["condition"].unique().sort().to_list():
        if cond == "baseline":
            continue
        g = df.filter(pl.col("condition") == cond)
        fwd, bwd = g["weight_bits"][0] < 16, g["gradient_bits"][0] < 16
        free = tuple(k for k, on in (("eff_N", fwd), ("eff_D", bwd)) if on)
        groups.append((cond, g, free))
    return groups


@functools.lru_cache(maxsize=1)
def quartet2_fits() -> tuple[dict, pl.DataFrame]:
    """Quartet II (NVFP4): base law fitted on the BF16 runs, then eff_N / eff_D per scheme with the base frozen."""
    from workbench.analysis.precision_budget import fit_efficiencies
    from workbench.fit import fit
    from workbench.laws.efficiency import BASE_PARAMETERS, PRECISION_EFFICIENCY

    df = corpus.load("quartet2_nvfp4", metric="loss").with_columns(pl.col("value").alias("loss"))
    base = fit(PRECISION_EFFICIENCY, df.filter(pl.col("condition") == "baseline"), fixed={"eff_N": 1.0, "eff_D": 1.0})
    values = {k: base.params[k] for k in BASE_PARAMETERS}
    eff = fit_efficiencies(_quartet2_groups(df), values)
    passes = {"eff_N": "forward only", "eff_D": "backward only", "eff_N+eff_D": "forward and backward"}
    eff = eff.with_columns(pl.col("free").replace_strict(passes).alias("quantised"))
    return {"base": values, "base_fit": base}, eff


@functools.lru_cache(maxsize=4)
def quartet2_tradeoff(scheme: str = "tetrajetv2", draws: int = 100) -> pl.DataFrame:
    """Bootstrap eff_N and eff_D of one fully quantised Quartet II scheme (their intervals and correlation)."""
    from workbench.analysis.precision_budget import fit_efficiencies

    fits, _ = quartet2_fits()
    df = corpus.load("quartet2_nvfp4", metric="loss").with_columns(pl.col("value").alias("loss"))
    return fit_efficiencies([(scheme, df.filter(pl.col("condition") == scheme), ("eff_N", "eff_D"))], fits["base"],
                            draws=draws, seed=0)


@figure("quartet2-efficiencies")
def quartet2_figure() -> Figure:
    _, eff = quartet2_fits()
    t = quartet2_tradeoff().row(0, named=True)
    long = pl.concat([
        eff.filter(pl.col("free").str.contains("eff_N")).select("label", "quantised", "runs", pl.lit("eff_N (forward)").alias("efficiency"),
                                                               pl.col("eff_N").alias("value")),
        eff.filter(pl.col("free").str.contains("eff_D")).select("label", "quantised", "runs", pl.lit("eff_D (backward)").alias("efficiency"),
                                                               pl.col("eff_D").alias("value")),
    ])
    chart = alt.Chart(long).mark_point(filled=True, size=70).encode(
        x=alt.X("value:Q", scale=alt.Scale(zero=False), title="efficiency (1 = as good as BF16)"),
        y=alt.Y("label:N", sort=alt.EncodingSortField("value", order="ascending"), title=None, axis=alt.Axis(labelLimit=520, labelFontSize=9)),
        color=alt.Color("efficiency:N", title=None), shape=alt.Shape("quantised:N", title="quantised pass"),
        tooltip=["label:N", "quantised:N", "efficiency:N", "value:Q", "runs:Q"],
    ).properties(width=300, height=560)
    one = alt.Chart(pl.DataFrame({"value": [1.0]})).mark_rule(color="black", strokeDash=[4, 3]).encode(x="value:Q")
    chart = alt.layer(chart, one).properties(title=alt.TitleParams(
        "Quartet II NVFP4 schemes as parameter and data efficiencies",
        subtitle=["base law fitted on the 21 BF16 runs; one or two efficiencies per scheme, base frozen",
                  f"both free (squares): they trade off, e.g. {t['label']}: bootstrap correlation of eff_N and eff_D "
                  f"{t['corr']:+.2f}, eff_D 95% CI {t['eff_D_lo']:.2f}-{t['eff_D_hi']:.2f}"]))
    return Figure("quartet2-efficiencies", "05_precision",
                  "Each Quartet II training scheme as the fraction of parameters (forward pass) and data (backward pass) of a "
                  "BF16 run it is worth, fitted with the base law frozen (Castro et al. 2025's procedure).",
                  chart, {"efficiencies": eff}, bibtex("quartet2_nvfp4", "castro2025"),
                  caution=" ".join(c.replace("Caution: ", f"Caution ({label}): ") for label, c in
                                   eff.select("label", "caution").iter_rows() if c))


def proxy_precision_tables(df: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """QAT penalty (QAT loss minus the full-precision loss of the same width and tokens) and PTQ degradation
    (loss after post-training quantisation minus the same run's loss), from proxy rows."""
    f = df.filter(pl.col("final") & (pl.col("metric") == "loss") & pl.col("eval_set").str.ends_with("-val"))
    base = f.filter(pl.col("precision_phase").is_null()).select("run_id", "width", "tokens", "params", pl.col("value").alias("full"))
    qat = f.filter(pl.col("precision_phase") == "qat").select(
        "width", "tokens", "params", pl.col("condition").str.replace("^qat ", "").alias("format"), "value")
    ref = base.group_by("width", "tokens").agg(pl.col("full").mean())
    qat = qat.join(ref, on=["width", "tokens"], how="inner").with_columns((pl.col("value") - pl.col("full")).alias("penalty"))
    ptq = f.filter(pl.col("precision_phase") == "post_training").select(
        "run_id", pl.col("condition").str.split(" ptq ").list.get(1).alias("format"), "weight_bits", "value")
    ptq = ptq.join(base, on="run_id", how="inner").with_columns((pl.col("value") - pl.col("full")).alias("degradation"))
    return {"qat": qat.sort("format", "params"), "ptq": ptq.sort("format", "width", "tokens")}


def proxy_qid_fit(ptq: pl.DataFrame):
    """Ouyang et al.'s QiD law fitted to the proxies' integer PTQ degradations (int3, int4; positive ones)."""
    from workbench.fit import fit
    from workbench.laws.quantization import OUYANG_QID

    rows = ptq.filter(pl.col("format").is_in(["int3", "int4"]) & (pl.col("degradation") > 0))
    return fit(OUYANG_QID, rows), rows


def _proxy_precision_figure() -> Figure:
    df = proxy_results("precision")
    if df is None:
        raise WorkbenchError(proxy_missing_message("precision"))
    tables = proxy_precision_tables(df)
    qid, rows = proxy_qid_fit(tables["ptq"])
    colour = alt.Color("format:N", scale=alt.Scale(scheme="dark2"), title="format")
    panels = []
    left = alt.Chart(tables["qat"].filter(pl.col("penalty") > 1e-4)).mark_line(point=True).encode(
        x=alt.X("params:Q", scale=LOG, axis=SCI, title="non-embedding parameters N"),
        y=alt.Y("penalty:Q", scale=LOG, title="QAT loss minus full precision (nats; above 1e-4 shown)"), color=colour,
        tooltip=["format:N", "width:Q", "params:Q", "penalty:Q"]).properties(
        width=300, height=260, title="quantisation-aware training: the penalty per format")
    if tables["qat"].height:
        panels.append(left)
    shown = tables["ptq"].filter(pl.col("degradation") > 1e-4)
    right = alt.Chart(shown).mark_line(point=True).encode(
        x=alt.X("tokens:Q", scale=LOG, axis=SCI, title="training tokens D"),
        y=alt.Y("degradation:Q", scale=LOG, title="PTQ loss increase (nats; above 1e-4 shown)"), color=colour,
        detail="width:N", shape=alt.Shape("width:N", title="width"),
        tooltip=["format:N", "width:Q", "tokens:Q", "degradation:Q"]).properties(
        width=300, height=260, title="post-training quantisation: degradation vs tokens")
    beta = qid.params["beta"]
    panels.append(right)
    chart = alt.hconcat(*panels, title=alt.TitleParams(
        "Proxies (tiny GPTs on the zipf corpus): the precision effects at small scale",
        subtitle=[f"QiD law fitted to {rows.height} int3/int4 PTQ points: data exponent beta = {beta:.2f} "
                  f"(Ouyang et al. 2024: 0.53), size exponent alpha = {qid.params['alpha']:.2f}"])).resolve_scale(color="shared")
    return Figure("proxy-precision", "05_precision",
                  "Shipped proxy preset 'precision': QAT penalty per format against model size, and PTQ degradation "
                  "against training tokens, with Ouyang et al.'s QiD law fitted to the integer formats.",
                  chart, {**tables, "qid_points": rows}, bibtex("ouyang2024", "kumar2024"),
                  caution=caution_of({"QiD law": qid}))


def proxy_precision_figure() -> Figure:
    """The proxy precision figure (raises a clear error when the preset's results are not shipped)."""
    return _proxy_precision_figure()


if proxy_results("precision") is not None:
    figure("proxy-precision")(_proxy_precision_figure)


# =========================================================================== 06 inverse scaling
def _bnsl_local(n_breaks: int, variable: str = "samples", target: str = "loss", lo: float = 100.0, hi: float = 3000.0):
    """A BNSL whose break locations are *started* on a grid over [lo, hi] (the optimiser may leave it)."""
    from workbench.laws.bnsl import bnsl

    grid = tuple(float(v) for v in np.geomspace(lo, hi, 16))
    name = f"bnsl{n_breaks}" + ("" if variable == "samples" else f"_{variable}")
    return bnsl(n_breaks, variable, target=target, break_grid=grid, name=name)


ADDITION_LAWS = {"bnsl1": _bnsl_local(1), "bnsl2": _bnsl_local(2)}
MIN_POINTS = {"bnsl1": 7, "bnsl2": 10}  # one more point than free parameters


@functools.lru_cache(maxsize=1)
def addition_points() -> pl.DataFrame:
    """The 17 points of BNSL's 4-digit-addition example (test loss vs training-set size)."""
    df = corpus.load("bnsl_addition", metric="loss").sort("samples")
    return df.select("samples", pl.col("value").alias("loss"), pl.col("in_source_fit").alias("authors_fit"))


@functools.lru_cache(maxsize=64)
def addition_fit(law: str, k: int, starts: int = 1):
    """``law`` fitted to the first ``k`` addition points (cached: sliders never fit).

    ``starts=1`` polishes only the best basin of the engine's grid: eight times
    faster than the default 3 here, and the same optimum for every k except 12
    (prediction at n = 928: 0.384 instead of 0.380; ``tests/test_course_05_08.py``).
    """
    from workbench.fit import fit

    if k < MIN_POINTS[law]:
        raise WorkbenchError(f"{law} has {MIN_POINTS[law] - 1} free parameters: fit it on at least {MIN_POINTS[law]} points")
    return fit(ADDITION_LAWS[law], addition_points().head(k), starts=starts)


def addition_tables(law: str, k: int) -> dict[str, pl.DataFrame]:
    pts = addition_points().with_row_index("i").with_columns((pl.col("i") < k).alias("fitted")).drop("i")
    x_hi = float(pts["samples"][k - 1])
    grid = np.geomspace(100.0, 2000.0, 240)
    empty_curve = pl.DataFrame(schema={"samples": pl.Float64, "loss": pl.Float64, "part": pl.String})
    empty_breaks = pl.DataFrame(schema={"samples": pl.Float64, "label": pl.String})
    window = pl.DataFrame({"lo": [float(pts["samples"][0])], "hi": [x_hi]})
    held = pts.filter(~pl.col("fitted")).select("samples", pl.col("loss").alias("measured"))
    if k < MIN_POINTS[law]:
        return {"points": pts, "curve": empty_curve, "breaks": empty_breaks, "window": window,
                "held_out": held.with_columns(pl.lit(None, pl.Float64).alias("predicted"), pl.lit(None, pl.Float64).alias("error"))}
    res = addition_fit(law, k)
    curve = pl.DataFrame({"samples": grid, "loss": res.predict({"samples": grid})}).with_columns(
        pl.when(pl.col("samples") <= x_hi).then(pl.lit("fit")).otherwise(pl.lit("extrapolation")).alias("part"))
    n = int(law[-1])
    breaks = pl.DataFrame({"samples": [float(res.params[f"d{i}"]) for i in range(1, n + 1)],
                           "label": [f"break {i}: n ≈ {res.params[f'd{i}']:.3g}" for i in range(1, n + 1)]})
    breaks = breaks.filter(pl.col("samples").is_between(100.0, 2000.0))
    pred = res.predict({"samples": held["samples"].to_numpy()}) if held.height else np.array([])
    held = held.with_columns(pl.Series("predicted", pred, dtype=pl.Float64)).with_columns(
        (pl.col("predicted") / pl.col("measured") - 1).alias("error"))
    return {"points": pts, "curve": curve, "breaks": breaks, "window": window, "held_out": held}


def addition_chart(width: int = 460, height: int = 300):
    x = alt.X("samples:Q", scale=alt.Scale(type="log", domain=[100, 2000]), axis=alt.Axis(values=[100, 200, 300, 500, 1000, 2000]),
              title="training examples n")
    y = alt.Y("loss:Q", scale=alt.Scale(domain=[0, 2.4]), title="test cross-entropy")
    window = alt.Chart(named("window")).mark_rect(color=GREY, opacity=0.12).encode(x="lo:Q", x2="hi:Q")
    fit_line = alt.Chart(named("curve")).transform_filter("datum.part == 'fit'").mark_line(color="#1f77b4", strokeWidth=2.5, clip=True).encode(x=x, y=y)
    extra = alt.Chart(named("curve")).transform_filter("datum.part == 'extrapolation'").mark_line(
        color="#1f77b4", strokeDash=[6, 4], strokeWidth=2, clip=True).encode(x="samples:Q", y="loss:Q")
    brk = alt.Chart(named("breaks")).mark_rule(color="#ff7f0e", strokeDash=[3, 3]).encode(x="samples:Q")
    brk_text = alt.Chart(named("breaks")).mark_text(align="left", dx=4, dy=-6, color="#ff7f0e", fontSize=11).encode(
        x="samples:Q", y=alt.value(12), text="label:N")
    fitted = alt.Chart(named("points")).transform_filter("datum.fitted").mark_circle(size=55, color="black").encode(
        x="samples:Q", y="loss:Q", tooltip=["samples:Q", "loss:Q", "authors_fit:N"])
    held = alt.Chart(named("points")).transform_filter("!datum.fitted").mark_point(size=70, color=RED, strokeWidth=2).encode(
        x="samples:Q", y="loss:Q", tooltip=["samples:Q", "loss:Q", "authors_fit:N"])
    return alt.layer(window, fit_line, extra, brk, brk_text, fitted, held).properties(
        width=width, height=height,
        title=alt.TitleParams("BNSL on 4-digit addition: fit the first points, extrapolate the rest", subtitle=[""]))


class BNSLExplorer(_SubtitledExplorer):
    """How much of the curve must you see to extrapolate a break?  (Caballero et al. 2022, Fig. 4 left)

    Controls: the number of points fitted (from the smallest training set up)
    and the law (BNSL with one or two breaks).  Black: fitted points; red rings:
    held out; solid: the fit over the fitted range; dashed: its extrapolation;
    orange: the fitted break(s).
    """

    stem = "bnsl-addition"

    def __init__(self, *, export_dir="exports", k: int = 14, law: str = "bnsl1"):
        self.k = w.IntSlider(value=k, min=MIN_POINTS["bnsl1"], max=addition_points().height, description="points fitted",
                             continuous_update=False, style=_STYLE, layout=_WIDE)
        self.law = w.ToggleButtons(options=[("1 break", "bnsl1"), ("2 breaks", "bnsl2")], value=law, description="BNSL")
        for kk in range(self.k.min, self.k.max + 1):  # every position of the slider, fitted once
            addition_fit("bnsl1", kk)
        super().__init__(export_dir=export_dir, bibtex=bibtex("bnsl_addition"))

    def controls(self):
        return [self.k, self.law]

    def tables(self):
        return addition_tables(self.law.value, int(self.k.value))

    def chart(self):
        return addition_chart()

    def subtitle(self) -> str:
        law, k = self.law.value, int(self.k.value)
        if k < MIN_POINTS[law]:
            return f"{law} needs at least {MIN_POINTS[law]} points (it has {MIN_POINTS[law] - 1} free parameters)"
        res = addition_fit(law, k)
        held = self._tables["held_out"]
        text = f"{law} fitted on the first {k} points (n ≤ {self._tables['window']['hi'][0]:.0f})"
        if held.height:
            last = held.row(-1, named=True)
            mae = float(held["error"].abs().mean())
            text += (f": at n = {last['samples']:.0f} it predicts {last['predicted']:.3f} vs {last['measured']:.3f} measured "
                     f"({last['error']:+.1%}); mean |error| on the {held.height} held-out points {mae:.1%}")
        else:
            text += ": every point used, nothing left to test the extrapolation on"
        if any("bound" in m for m in res.warnings):
            text += " — a parameter sits at its bound: the data do not yet pin the break"
        return text

    def readout(self) -> str:
        law, k = self.law.value, int(self.k.value)
        if k < MIN_POINTS[law]:
            return f"<b>{self.subtitle()}</b>"
        res = addition_fit(law, k)
        from workbench.laws.bnsl import segment_slopes

        slopes = ", ".join(f"{s:+.2f}" for s in segment_slopes(res.params, int(law[-1])))
        return (f"<b>{self.subtitle()}</b><br>limit a = {res.params['a']:.3g}; log-log slopes of (loss − a) per segment: "
                f"{slopes}")

    def fits(self):
        law, k = self.law.value, int(self.k.value)
        return {law: addition_fit(law, k)} if k >= MIN_POINTS[law] else {}


@explorer("06_inverse_scaling")
def bnsl_explorer():
    return BNSLExplorer()


@figure("bnsl-addition-extrapolation")
def bnsl_figure() -> Figure:
    ex = BNSLExplorer()
    return ex.figure("bnsl-addition-extrapolation", "06_inverse_scaling",
                     "A one-break BNSL fitted to the first 14 of 17 points of the 4-digit-addition curve (the authors' split) "
                     "and extrapolated to the last 3 (Caballero et al. 2022, Fig. 4 left).")


TRUTHFULQA_FAMILIES = ("Pythia", "OPT")


@functools.lru_cache(maxsize=8)
def truthfulqa_trend(family: str, draws: int = 100):
    """scaling_trend of TruthfulQA accuracy vs parameters in one model family (Ruan et al.'s table), one-break BNSL."""
    from workbench.analysis.inverse import scaling_trend, trend_law

    df = corpus.load("obs_scaling").filter((pl.col("eval_set") == "TruthfulQA") & (pl.col("family") == family))
    df = df.with_columns(pl.col("value").alias("accuracy")).unique(subset=["params"], keep="first").sort("params")
    return scaling_trend(trend_law("params", "accuracy"), df, "params", lower_is_better=False, draws=draws, seed=0), df


#: Published per-checkpoint numbers where each turning shape is detected (Pythia suite, zero-shot accuracy).
TRAINING_TRENDS = {
    "U-shaped": ("pythia-2.8b", "arc_challenge"),  # worse, then better
    "inverted-U": ("pythia-70m", "arc_easy"),  # better, then worse
}


@functools.lru_cache(maxsize=16)
def pythia_training_trend(run: str, eval_set: str, metric: str = "accuracy", shots: int = 0, draws: int = 200):
    """scaling_trend of one Pythia model's benchmark accuracy along its training steps (one-break BNSL in step).

    The scale here is training (2,097,152 tokens per step), not model size: Wei et al. and McKenzie et al. name the
    shapes along model size, and the same words apply along any scale axis.  Checkpoint 0 (random init) is left out.
    """
    from workbench.analysis.inverse import scaling_trend, trend_law

    df = corpus.load("pythia_evals").filter((pl.col("run_id") == run) & (pl.col("eval_set") == eval_set)
                                            & (pl.col("metric") == metric) & (pl.col("shots") == shots)
                                            & (pl.col("step") > 0))
    df = df.select("step", pl.col("value").alias("accuracy"), pl.col("value_stderr").alias("stderr")).unique(
        subset=["step"], keep="first").sort("step").with_columns(pl.col("step").cast(pl.Float64))
    if df.height < 10:
        raise WorkbenchError(f"pythia_evals has only {df.height} checkpoints of {run} on {eval_set} ({metric}, {shots}-shot)")
    return scaling_trend(trend_law("step", "accuracy"), df, "step", lower_is_better=False, draws=draws, seed=0), df


def _trend_panel(trend, data, title: str, width: int = 330):
    from workbench.viz.charts import trend_chart, trend_tables

    tables = trend_tables(trend, data)
    chart = trend_chart(tables, trend.sentence, width=width, height=250)
    head, _, rest = trend.sentence.partition(": ")
    chart = chart.properties(title=alt.TitleParams(title, subtitle=[head + ":", rest], fontSize=13, subtitleFontSize=11))
    return chart, tables


def _trend_panels(entries, title: str):
    """Side-by-side trend panels: ``entries`` holds ``(key, panel title, trend, data)``.

    Returns the chart, the tables (prefixed by key) and the caution of every fit shown.
    """
    panels, tables = [], {}
    for key, panel_title, trend, data in entries:
        chart, t = _trend_panel(trend, data, panel_title)
        panels.append(chart)
        tables.update({f"{key}-{k}": v for k, v in t.items()})
    chart = alt.hconcat(*panels, title=alt.TitleParams(title, anchor="start"))
    caution = caution_of({f"{key} BNSL": trend.fit for key, _, trend, _ in entries})
    if caution:  # the verdicts rest on the curve's changes and their intervals, not on any one constant
        caution = caution.replace("Caution: ", "Caution about the curves' constants (the verdicts test the curves' changes "
                                  "with their intervals): ", 1)
    return chart, tables, caution


@figure("truthfulqa-trends")
def truthfulqa_figure() -> Figure:
    entries = [(fam.lower(), f"TruthfulQA, {fam}", *truthfulqa_trend(fam)) for fam in TRUTHFULQA_FAMILIES]
    entries = [(k, title, trend, df.select("params", "accuracy")) for k, title, trend, df in entries]
    chart, tables, caution = _trend_panels(
        entries, "Inverse scaling on TruthfulQA: a one-break BNSL, its 95% band and the verdict")
    return Figure("truthfulqa-trends", "06_inverse_scaling",
                  "TruthfulQA accuracy against parameters for two model families (Ruan et al. 2024's table), each fitted with "
                  "a one-break BNSL; the subtitle is workbench.analysis.inverse.scaling_trend's verdict with its 95% "
                  "interval (bootstrap and delta method).", chart, tables,
                  bibtex("obs_scaling", "lin2021", "mckenzie2023", "wei2022", "bnsl_addition"), caution=caution)


@figure("training-trend-shapes")
def training_trends_figure() -> Figure:
    """Both turning shapes, detected in published per-checkpoint numbers (Pythia)."""
    entries = []
    for run, eval_set in TRAINING_TRENDS.values():
        trend, df = pythia_training_trend(run, eval_set)
        entries.append((f"{run}-{eval_set}", f"{run}, {eval_set} (zero-shot) over training", trend,
                        df.select("step", "accuracy")))
    chart, tables, caution = _trend_panels(
        entries, "U-shaped (worse, then better) and inverted-U (better, then worse), along training")
    return Figure("training-trend-shapes", "06_inverse_scaling",
                  "Zero-shot accuracy of two Pythia models at every evaluated checkpoint (corpus source pythia_evals), each "
                  "fitted with a one-break BNSL in training steps; the subtitles are scaling_trend's verdicts: Pythia-2.8B on "
                  "ARC-Challenge is U-shaped (worse, then better), Pythia-70M on ARC-Easy inverted-U (better, then worse).",
                  chart, tables, bibtex("pythia_evals", "wei2022", "mckenzie2023", "godey2024"), caution=caution)


def proxy_inverse_frames(df: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Final losses of the ``inverse`` preset per split (exceptions, regular, whole validation set) vs parameters."""
    f = df.filter(pl.col("final") & (pl.col("metric") == "loss")).sort("params")
    out = {}
    for split in ("exceptions", "regular", "val"):
        g = f.filter(pl.col("eval_set").str.ends_with(f"-{split}"))
        if g.height:
            out[split] = g.select("params", pl.col("value").alias("loss"))
    return out


@functools.lru_cache(maxsize=1)
def proxy_inverse_trends(draws: int = 100) -> dict:
    from workbench.analysis.inverse import scaling_trend, trend_law

    df = proxy_results("inverse")
    if df is None:
        raise WorkbenchError(proxy_missing_message("inverse"))
    frames = proxy_inverse_frames(df)
    out = {}
    for split in ("exceptions", "val"):
        g = frames.get(split)
        if g is None or g.height < MIN_POINTS["bnsl1"]:
            continue  # too few sizes for a one-break BNSL (6 parameters)
        out[split] = (scaling_trend(trend_law("params", "loss"), g, "params", draws=draws, seed=0), g)
    if not out:
        raise WorkbenchError("the shipped 'inverse' results have fewer sizes per split than a one-break BNSL needs "
                             f"({MIN_POINTS['bnsl1']})")
    return out


def _proxy_inverse_figure() -> Figure:
    names = {"exceptions": "loss on the pattern's exceptions", "val": "loss on the whole validation set"}
    entries = [(split, f"proxies: {names[split]}", trend, g) for split, (trend, g) in proxy_inverse_trends().items()]
    chart, tables, caution = _trend_panels(entries, "Proxy preset 'inverse' (trap corpus): verdicts with 95% intervals")
    return Figure("proxy-inverse-trends", "06_inverse_scaling",
                  "Shipped proxy preset 'inverse': tiny GPTs on a corpus with a frequent misleading pattern; loss on the "
                  "pattern's exceptions and on the whole validation set against size, each with scaling_trend's verdict.",
                  chart, tables, bibtex("bnsl_addition", "mckenzie2023"), caution=caution)


def proxy_inverse_figure() -> Figure:
    return _proxy_inverse_figure()


if proxy_results("inverse") is not None:
    figure("proxy-inverse-trends")(_proxy_inverse_figure)


# =========================================================================== 07 crossovers
HORIZON_MAX = 1e30  # crossings of bootstrap draws are searched up to here once; the horizon slider filters them


def compute_frontier(df: pl.DataFrame, x: str, y: str) -> pl.DataFrame:
    """Runs that beat every cheaper run (lower ``y`` than all runs with smaller ``x``): the compute-efficient frontier."""
    df = df.sort(x, y)
    best, keep = math.inf, []
    for v in df[y].to_list():
        keep.append(v < best)
        best = min(best, v)
    return df.filter(pl.Series(keep))


@dataclasses.dataclass(frozen=True, eq=False)  # hashed by identity: fits are cached per data object
class CrossoverData:
    """Two methods' points along one variable, and the fitted ranges a slider chooses between."""

    key: str
    names: tuple[str, str]
    variable: str  # law variable ("flops" or "params")
    axis_title: str
    metric_title: str
    runs: pl.DataFrame  # every run: method, x (= variable), y, frontier (bool)
    cuts: tuple[float, ...]  # upper ends of the fitted range (last = all data)
    horizons: tuple[float, float]  # slider range (log10) of the extrapolation horizon
    horizon: float
    bibtex: str
    title: str
    draws: int = 200


@functools.lru_cache(maxsize=1)
def clip_mammut_data() -> CrossoverData:
    """CLIP vs MaMMUT: ADE20K segmentation error (1 - mIoU) against training compute (Nezhurina et al. 2025)."""
    df = corpus.load("laion_clip_mammut", metric="miou").with_columns((1 - pl.col("value")).alias("y"), pl.col("flops").alias("x"))
    parts = []
    for m in ("clip", "mammut"):
        g = df.filter(pl.col("condition") == m).select(pl.lit("CLIP" if m == "clip" else "MaMMUT").alias("method"), "x", "y",
                                                      "params", "samples", "run_id")
        front = compute_frontier(g, "x", "y").select("run_id", "x").with_columns(pl.lit(True).alias("frontier"))
        parts.append(g.join(front, on=["run_id", "x"], how="left").with_columns(pl.col("frontier").fill_null(False)))
    runs = pl.concat(parts)
    x_max = float(runs["x"].max())
    return CrossoverData("clip-mammut", ("CLIP", "MaMMUT"), "flops", "training compute C (FLOPs)", "ADE20K error (1 − mIoU)",
                         runs, (3e18, 1e19, 3e19, 1e20, 2e20, x_max), (20.0, 30.0), 1e24,
                         bibtex("laion_clip_mammut"), "CLIP vs MaMMUT: where do the fitted curves cross?")


def proxy_crossover_data(pair: tuple[str, str] = ("mlp", "lstm")) -> CrossoverData | None:
    """Two architectures of the proxy preset ``crossover`` (final validation loss vs non-embedding parameters), if shipped.

    The preset trains fixed-window MLPs, LSTMs and (for reference) GPTs; its main pair is MLP vs LSTM.
    """
    df = proxy_results("crossover")
    if df is None:
        return None
    from workbench.proxies.results import final_losses

    f = final_losses(df).filter(pl.col("architecture").is_in(list(pair)))
    runs = f.select(pl.col("architecture").str.to_uppercase().alias("method"), pl.col("params").alias("x"),
                    pl.col("loss").alias("y"), "params", "run_id").with_columns(pl.lit(True).alias("frontier"))
    if runs.height == 0:
        raise WorkbenchError(f"the shipped 'crossover' results have no {' or '.join(pair)} runs")
    x_max = float(runs["x"].max())
    names = tuple(a.upper() for a in pair)
    return CrossoverData(f"proxy-{pair[0]}-{pair[1]}", names, "params", "non-embedding parameters N",
                         "validation loss (nats/byte)", runs, (x_max,), (math.log10(x_max), math.log10(x_max) + 4),
                         10 * x_max, bibtex("stanic2023"), f"Proxies: {names[0]} vs {names[1]} on Python source")


@functools.lru_cache(maxsize=32)
def crossover_fits(data: CrossoverData, cut: float):
    """Fits, bootstrap draws and every draw's first crossing for the frontier points with x <= cut (cached)."""
    from workbench.analysis.crossover import crossover
    from workbench.fit import fit_problem, make_problem
    from workbench.fit.bootstrap import bootstrap
    from workbench.laws import get_law

    law = get_law(f"power_offset_{data.variable}")
    fits, boots = {}, {}
    for name in data.names:
        pts = data.runs.filter((pl.col("method") == name) & pl.col("frontier") & (pl.col("x") <= cut * (1 + 1e-9)))
        pts = pts.select(pl.col("x").alias(data.variable), pl.col("y").alias("loss"))
        problem = make_problem(law, pts)
        with warnings.catch_warnings():  # scipy's trust region warns on degenerate resamples; the draws still converge
            warnings.simplefilter("ignore", RuntimeWarning)
            fits[name], boots[name] = bootstrap(problem, fit_problem(problem), draws=data.draws, seed=0)
    a, b = (fits[n] for n in data.names)
    lo = float(data.runs["x"].min())
    main = crossover(a, b, data.variable, lo, HORIZON_MAX, names=data.names)
    crossings, x = [], lo  # every crossing of the point fits, in order
    while True:
        c = crossover(a, b, data.variable, x, HORIZON_MAX, names=data.names)
        if c.at is None or len(crossings) >= 4:
            break
        crossings.append(c.at)
        x = c.at * (1 + 1e-6)
    ba, bb = boots[data.names[0]], boots[data.names[1]]
    draws = []
    for i in range(min(len(ba.draws), len(bb.draws))):
        ra = dataclasses.replace(a, params=dict(zip(ba.names, ba.draws[i])))
        rb = dataclasses.replace(b, params=dict(zip(bb.names, bb.draws[i])))
        c = crossover(ra, rb, data.variable, lo, HORIZON_MAX, names=data.names)
        draws.append(np.nan if c.at is None else c.at)
    return {"fits": fits, "first": main, "crossings": crossings, "draws": np.array(draws), "lo": lo}


def crossing_summary(data: CrossoverData, cut: float, horizon: float) -> dict:
    """The first crossing up to ``horizon``, its 95% interval and the share of bootstrap draws crossing by then."""
    r = crossover_fits(data, cut)
    at = r["first"].at if r["first"].at is not None and r["first"].at <= horizon else None
    d = r["draws"]
    inside = d[np.isfinite(d) & (d <= horizon)]
    share = inside.size / d.size if d.size else 0.0
    ci = (float(np.percentile(inside, 2.5)), float(np.percentile(inside, 97.5))) if inside.size and at is not None else None
    later = [c for c in r["crossings"] if at is not None and at < c <= horizon]
    return {"at": at, "ci": ci, "share": share, "lower_before": r["first"].lower_before, "later": later}


def crossover_tables(data: CrossoverData, cut: float, horizon: float) -> dict[str, pl.DataFrame]:
    r = crossover_fits(data, cut)
    lo = r["lo"]
    grid = np.geomspace(lo, max(horizon, cut), 240)
    curves = []
    y_top = 1.05 * float(data.runs["y"].max())
    for name in data.names:
        y = r["fits"][name].predict({data.variable: grid})
        curves.append(pl.DataFrame({"method": name, "x": grid, "y": y}).filter(pl.col("y") <= y_top).with_columns(
            pl.when(pl.col("x") <= cut * (1 + 1e-9)).then(pl.lit("fit")).otherwise(pl.lit("extrapolation")).alias("part")))
    s = crossing_summary(data, cut, horizon)
    cross = pl.DataFrame({"x": [s["at"]] if s["at"] is not None else [], "label": ["crossing"] if s["at"] is not None else []},
                         schema={"x": pl.Float64, "label": pl.String})
    band = pl.DataFrame({"lo": [s["ci"][0]] if s["ci"] else [], "hi": [s["ci"][1]] if s["ci"] else []},
                        schema={"lo": pl.Float64, "hi": pl.Float64})
    later = pl.DataFrame({"x": s["later"]}, schema={"x": pl.Float64})
    runs = data.runs.with_columns((pl.col("frontier") & (pl.col("x") <= cut * (1 + 1e-9))).alias("fitted"))
    params = pl.DataFrame([{"method": n, **{k: float(v) for k, v in r["fits"][n].params.items()},
                            **{f"{k}_lo": float(r["fits"][n].ci[k][0]) for k in r["fits"][n].params},
                            **{f"{k}_hi": float(r["fits"][n].ci[k][1]) for k in r["fits"][n].params}} for n in data.names])
    return {"runs": runs, "curves": pl.concat(curves), "crossing": cross, "crossing_ci": band, "later_crossings": later,
            "window": pl.DataFrame({"lo": [lo], "hi": [cut]}), "fits": params}


def crossover_live_chart(data: CrossoverData, width: int = 520, height: int = 320):
    x = alt.X("x:Q", scale=LOG, axis=SCI, title=data.axis_title)
    y = alt.Y("y:Q", scale=alt.Scale(zero=False, nice=False), title=data.metric_title)
    colour = alt.Color("method:N", scale=alt.Scale(domain=list(data.names), range=["#1f77b4", "#ff7f0e"]), title=None)
    window = alt.Chart(named("window")).mark_rect(color=GREY, opacity=0.10).encode(x="lo:Q", x2="hi:Q")
    band = alt.Chart(named("crossing_ci")).mark_rect(color=RED, opacity=0.15).encode(x="lo:Q", x2="hi:Q")
    others = alt.Chart(named("runs")).transform_filter("!datum.frontier").mark_circle(size=10, opacity=0.25).encode(
        x=x, y=y, color=colour)
    front = alt.Chart(named("runs")).transform_filter("datum.frontier").mark_point(size=30, filled=True).encode(
        x="x:Q", y="y:Q", color=colour, opacity=alt.condition("datum.fitted", alt.value(0.95), alt.value(0.35)),
        tooltip=["method:N", "x:Q", "y:Q", "fitted:N"])
    fit_line = alt.Chart(named("curves")).transform_filter("datum.part == 'fit'").mark_line(strokeWidth=2.5).encode(
        x="x:Q", y="y:Q", color=colour)
    extra = alt.Chart(named("curves")).transform_filter("datum.part == 'extrapolation'").mark_line(strokeWidth=2, strokeDash=[6, 4]).encode(
        x="x:Q", y="y:Q", color=colour)
    rule = alt.Chart(named("crossing")).mark_rule(color=RED, strokeWidth=2).encode(x="x:Q")
    later = alt.Chart(named("later_crossings")).mark_rule(color=RED, strokeDash=[2, 3]).encode(x="x:Q")
    return alt.layer(window, band, others, front, fit_line, extra, rule, later).properties(
        width=width, height=height, title=alt.TitleParams(data.title, subtitle=[""]))


class CrossoverExplorer(_SubtitledExplorer):
    """Two methods' fitted curves, where they cross and how sure we are (``workbench.analysis.crossover``).

    Controls: the upper end of the fitted range (points beyond it are shown but
    not fitted) and the extrapolation horizon (how far the curves are drawn and
    a crossing is searched).  Grey: fitted range; red line: the crossing of the
    point fits; red band: its 95% bootstrap interval; dotted: later crossings.
    """

    def __init__(self, data: CrossoverData | None = None, *, export_dir="exports"):
        self.data = data or clip_mammut_data()
        self.stem = f"crossover-{self.data.key}"
        cuts = self.data.cuts
        self._cuts = {(f"{c:.1e}" if i < len(cuts) - 1 else f"{c:.1e} (all)"): c for i, c in enumerate(cuts)}
        self.cut = w.SelectionSlider(options=list(self._cuts), value=list(self._cuts)[-1],
                                     description="fit up to", continuous_update=False, style=_STYLE, layout=_WIDE)
        lo, hi = self.data.horizons
        self.horizon = w.FloatLogSlider(value=self.data.horizon, base=10, min=lo, max=hi, step=0.25,
                                        description="horizon", readout_format=".1e", continuous_update=False,
                                        style=_STYLE, layout=_WIDE)
        for c in cuts:  # every fitted range, fitted and bootstrapped once
            crossover_fits(self.data, c)
        super().__init__(export_dir=export_dir, bibtex=self.data.bibtex)

    def _cut(self) -> float:
        return float(self._cuts[self.cut.value])

    def controls(self):
        return [self.cut, self.horizon] if len(self.data.cuts) > 1 else [self.horizon]

    def tables(self):
        return crossover_tables(self.data, self._cut(), float(self.horizon.value))

    def chart(self):
        return crossover_live_chart(self.data)

    def subtitle(self) -> str:
        d = self.data
        s = crossing_summary(d, self._cut(), float(self.horizon.value))
        a, b = d.names
        if s["at"] is None:
            return (f"no crossover up to {d.variable} = {self.horizon.value:.1e} "
                    f"({s['share']:.0%} of bootstrap draws cross by then)")
        other = b if s["lower_before"] == a else a
        text = f"{s['lower_before']} is better below {d.variable} = {s['at']:.2g}, {other} above"
        if s["ci"]:
            text += f" (95% CI {s['ci'][0]:.2g} to {s['ci'][1]:.2g}; {s['share']:.0%} of draws cross by {self.horizon.value:.0e})"
        if s["later"]:
            text += "; the fits cross again at " + ", ".join(f"{c:.2g}" for c in s["later"])
        few = int(self._tables["runs"].filter(pl.col("fitted")).group_by("method").len()["len"].min())
        if few < 6:
            text += f" — only {few} points per method for 3 parameters: the bootstrap interval means little"
        return text

    def fits(self):
        return crossover_fits(self.data, self._cut())["fits"]

    def readout(self) -> str:
        f = self._tables["fits"]
        fits = self.fits()

        def note(method: str, name: str) -> str:  # a flagged constant is marked where it is printed
            labels = [fl.label for fl in fits[method].flags if fl.parameter == name]
            return f" <b>⚠ {html.escape(', '.join(labels))}</b>" if labels else ""

        rows = "".join(f"<br>{r['method']}: E = {r['E']:.3f} ({r['E_lo']:.3f}–{r['E_hi']:.3f}){note(r['method'], 'E')}, "
                       f"α = {r['alpha']:.3f} ({r['alpha_lo']:.3f}–{r['alpha_hi']:.3f}){note(r['method'], 'alpha')}, "
                       f"A{note(r['method'], 'A') or ' ok'}" for r in f.iter_rows(named=True))
        n_fit = self._tables["runs"].filter(pl.col("fitted")).group_by("method").len().sort("method")
        counts = ", ".join(f"{m}: {n}" for m, n in n_fit.iter_rows())
        return f"<b>{self.subtitle()}</b><br>fitted frontier points: {counts}; y = E + A·x^(−α), 95% intervals:{rows}"


@explorer("07_crossovers")
def crossover_explorer():
    return CrossoverExplorer()


@figure("clip-mammut-crossover")
def clip_mammut_figure() -> Figure:
    ex = CrossoverExplorer()
    return ex.figure("clip-mammut-crossover", "07_crossovers",
                     "CLIP vs MaMMUT on ADE20K segmentation (1 − mIoU) against training compute: power laws with an offset "
                     "fitted to each method's compute-efficient runs, their crossing and its 95% bootstrap interval "
                     "(data: Nezhurina et al. 2025).")


def _proxy_crossover_figure() -> Figure:
    data = proxy_crossover_data()
    if data is None:
        raise WorkbenchError(proxy_missing_message("crossover"))
    ex = CrossoverExplorer(data)
    return ex.figure("proxy-crossover", "07_crossovers",
                     "Shipped proxy preset 'crossover': MLP vs LSTM final loss against non-embedding parameters, fitted "
                     "power laws with offsets and their crossing with a 95% bootstrap interval.")


if proxy_results("crossover") is not None:
    figure("proxy-crossover")(_proxy_crossover_figure)


# =========================================================================== 08 proxies
TRAIN_NOW_WIDTHS = (16, 24, 32, 48, 64, 96)
TRAIN_NOW_TOKENS = 524_288


def train_now_configs(widths=TRAIN_NOW_WIDTHS, tokens: int = TRAIN_NOW_TOKENS):
    """The notebook's tiny sweep: GPTs of these widths (depth 2) on the zipf corpus, ``tokens`` each."""
    from workbench.proxies.config import RunConfig

    return [RunConfig(corpus="zipf", width=wd, depth=2, tokens=tokens, eval_tokens=65_536, curve_points=6,
                      curve_eval_tokens=8192, label="notebook") for wd in widths]


def entropy_rate(corpus_name: str = "zipf") -> float:
    """The exact entropy rate (nats per symbol) of a synthetic proxy corpus: the loss no model can beat."""
    from workbench.proxies.corpora import get_corpus

    return float(get_corpus(corpus_name).info.entropy_rate)


def proxy_points(df: pl.DataFrame | None, source: str) -> pl.DataFrame:
    """Final validation losses of seed-0 runs (one per size) with width, params and where they come from."""
    schema = {"params": pl.Float64, "loss": pl.Float64, "width": pl.Int64, "tokens": pl.Float64, "source": pl.String}
    if df is None or df.height == 0:
        return pl.DataFrame(schema=schema)
    from workbench.proxies.results import final_losses

    f = final_losses(df).filter(pl.col("seed") == 0)
    return f.select("params", "loss", pl.col("width").cast(pl.Int64), "tokens", pl.lit(source).alias("source")).sort("params")


@functools.lru_cache(maxsize=256)
def _power_fit(params: tuple[float, ...], losses: tuple[float, ...], draws: int):
    from workbench.fit import fit_problem, make_problem
    from workbench.fit.bootstrap import bootstrap
    from workbench.laws import get_law

    problem = make_problem(get_law("power_offset_params"), {"params": np.array(params), "loss": np.array(losses)})
    result = fit_problem(problem)
    if draws:
        result, _ = bootstrap(problem, result, draws=draws, seed=0)
    return result


def proxy_fit(points: pl.DataFrame, draws: int = 200):
    """L(N) = E + A N^-alpha fitted to ``points`` (cached by the points), with bootstrap intervals."""
    return _power_fit(tuple(points["params"].to_list()), tuple(points["loss"].to_list()), draws)


class ProxyExplorer(_SubtitledExplorer):
    """Fit your own proxies: shipped results by default, or train a tiny sweep now.

    The range slider picks the model sizes the power law with offset is fitted
    on (log10 of non-embedding parameters); the dashed line is the corpus's
    exact entropy rate H, the floor the fitted E should find.  ``train now``
    (off by default, so nothing trains headless) runs :func:`train_now_configs`
    through ``workbench.proxies.sweep.run_sweep`` with a progress bar, writing
    each run to ``<export_dir>/proxy-runs`` as it finishes and refitting then.
    """

    stem = "proxy-power-law"
    MIN_SIZES = 4

    def __init__(self, *, export_dir="exports", shipped: pl.DataFrame | None = None, use_shipped: bool = True):
        shipped = proxy_results("quick") if (shipped is None and use_shipped) else shipped
        self.shipped = proxy_points(shipped, "shipped")
        self.trained = proxy_points(None, "trained now")
        self.H = entropy_rate("zipf")
        self.source = w.ToggleButtons(options=["shipped", "trained now"], value="shipped", description="fit on")
        lo, hi = self._bounds(self.shipped)
        self.sizes = w.FloatRangeSlider(value=(lo, hi), min=lo, max=hi, step=0.05, description="sizes fitted (log10 N)",
                                        readout_format=".2f", continuous_update=False, style=_STYLE, layout=_WIDE)
        self.train = w.ToggleButton(value=False, description="train now", icon="play",
                                    tooltip=f"train {len(TRAIN_NOW_WIDTHS)} tiny GPTs ({TRAIN_NOW_TOKENS:,} tokens each) and refit")
        self.progress = w.Output()
        self.status = w.HTML()
        self.train.observe(self._on_train, names="value")
        self.run_dir = Path(export_dir) / "proxy-runs"
        if self.shipped.height:
            self._prefit(self.shipped)
        super().__init__(export_dir=export_dir, bibtex=bibtex("henighan2020"))

    # -- data -----------------------------------------------------------------------
    @staticmethod
    def _bounds(points: pl.DataFrame) -> tuple[float, float]:
        if points.height == 0:
            return 3.0, 6.0
        x = np.log10(points["params"].to_numpy())
        return math.floor(x.min() * 20) / 20 - 0.05, math.ceil(x.max() * 20) / 20 + 0.05

    def _prefit(self, points: pl.DataFrame) -> None:
        """Fit every contiguous run of sizes the slider can select (so a slider move never fits)."""
        n = points.height
        for i in range(n):
            for j in range(i + self.MIN_SIZES, n + 1):
                proxy_fit(points.slice(i, j - i))

    @property
    def points(self) -> pl.DataFrame:
        return self.trained if self.source.value == "trained now" else self.shipped

    def selected(self) -> pl.DataFrame:
        lo, hi = self.sizes.value
        return self.points.filter(pl.col("params").is_between(10**lo, 10**hi))

    def controls(self):
        return [self.sizes, self.source]

    def tables(self):
        pts = self.points
        sel = self.selected()
        lo, hi = self.sizes.value
        pts = pts.with_columns(pl.col("params").is_between(10**lo, 10**hi).alias("fitted"))
        empty = pl.DataFrame(schema={"params": pl.Float64, "loss": pl.Float64, "part": pl.String})
        curve = empty
        levels = [{"name": "entropy rate H (exact)", "loss": self.H}]
        if sel.height >= self.MIN_SIZES:
            res = proxy_fit(sel)
            x_lo, x_hi = self._bounds(pts)
            grid = np.geomspace(10**x_lo, 10 ** (x_hi + 1.0), 160)
            lo_fit, hi_fit = float(sel["params"].min()), float(sel["params"].max())
            curve = pl.DataFrame({"params": grid, "loss": res.predict({"params": grid})}).with_columns(
                pl.when(pl.col("params") < lo_fit).then(pl.lit("extrapolation below"))
                .when(pl.col("params") > hi_fit).then(pl.lit("extrapolation above")).otherwise(pl.lit("fit")).alias("part"))
            levels.append({"name": "fitted E", "loss": float(res.params["E"])})
        return {"points": pts, "curve": curve, "levels": pl.DataFrame(levels),
                "window": pl.DataFrame({"lo": [10**lo], "hi": [10**hi]})}

    def chart(self):
        x = alt.X("params:Q", scale=LOG, axis=SCI, title="non-embedding parameters N")
        y = alt.Y("loss:Q", scale=alt.Scale(zero=False, nice=False), title="final validation loss (nats/symbol)")
        window = alt.Chart(named("window")).mark_rect(color=GREY, opacity=0.12).encode(x="lo:Q", x2="hi:Q")
        levels = alt.Chart(named("levels")).mark_rule(strokeDash=[6, 3]).encode(
            y="loss:Q", color=alt.Color("name:N", scale=alt.Scale(domain=["entropy rate H (exact)", "fitted E"],
                                                                 range=["black", RED]), title=None))
        fit_line = alt.Chart(named("curve")).transform_filter("datum.part == 'fit'").mark_line(color="#1f77b4", strokeWidth=2.5).encode(
            x=x, y=y)
        extra = alt.Chart(named("curve")).transform_filter("datum.part != 'fit'").mark_line(
            color="#1f77b4", strokeDash=[5, 4]).encode(x="params:Q", y="loss:Q", detail="part:N")
        pts = alt.Chart(named("points")).mark_point(size=70, filled=True).encode(
            x="params:Q", y="loss:Q", color=alt.condition("datum.fitted", alt.value("black"), alt.value("#bbbbbb")),
            tooltip=["width:Q", "params:Q", "tokens:Q", "loss:Q", "source:N"])
        return alt.layer(window, levels, fit_line, extra, pts).properties(
            width=480, height=300, title=alt.TitleParams("Your proxies: a power law in N and the floor it finds", subtitle=[""]))

    def subtitle(self) -> str:
        sel = self.selected()
        if self.points.height == 0:
            return ("no runs yet: the shipped results of preset 'quick' are missing; switch on 'train now'"
                    if self.source.value.startswith("shipped") else "no runs trained yet: switch on 'train now'")
        if sel.height < self.MIN_SIZES:
            return f"{sel.height} sizes in the range: the law has 3 parameters, fit it on at least {self.MIN_SIZES}"
        res = proxy_fit(sel)
        e, (elo, ehi) = res.params["E"], res.ci["E"]
        return (f"{sel.height} sizes fitted: E = {e:.3f} (95% CI {elo:.3f}–{ehi:.3f}) vs exact H = {self.H:.3f} "
                f"({100 * (e / self.H - 1):+.1f}%), alpha = {res.params['alpha']:.2f}")

    def readout(self) -> str:
        return f"<b>{self.subtitle()}</b>"

    def fits(self):
        sel = self.selected()
        return {"power law": proxy_fit(sel)} if self.points.height and sel.height >= self.MIN_SIZES else {}

    # -- training -------------------------------------------------------------------
    def _on_result(self, result: dict) -> None:
        from workbench.proxies import results

        new = proxy_points(results.to_frame(results.rows(result, "notebook")), "trained now")
        self.trained = pl.concat([self.trained, new]).unique(subset=["width"], keep="last").sort("params")
        self.status.value = f"{self.trained.height} of {len(TRAIN_NOW_WIDTHS)} runs done; refitting on what has arrived"
        self._fit_to_trained()

    def _fit_to_trained(self) -> None:
        lo, hi = self._bounds(self.trained)
        with self.sizes.hold_trait_notifications():
            self.sizes.min, self.sizes.max = min(self.sizes.min, lo), max(self.sizes.max, hi)
            self.sizes.value = (lo, hi)
        if self.source.value != "trained now":
            self.source.value = "trained now"  # triggers update()
        else:
            self.update()

    def _on_train(self, change) -> None:
        if not change["new"]:
            return
        from workbench.proxies.sweep import run_sweep

        self.train.disabled = True
        self.train.description = "training…"
        self.progress.clear_output()
        try:
            with self.progress:
                out = run_sweep(train_now_configs(), self.run_dir, preset="notebook", progress=True, on_result=self._on_result)
            if out.summary["cached"]:  # runs found in the cache never call on_result
                for r in out.results:
                    self._on_result(r)
            if out.failures:
                self.status.value = "failed runs: " + "; ".join(f"{r}: {e}" for r, e in out.failures)
            else:
                self.status.value = (f"done: {len(out.results)} runs, {out.summary['trained']} trained now in "
                                     f"{out.summary['wall_seconds']:.0f} s, {out.summary['cached']} from the cache in {self.run_dir}")
        except Exception as exc:  # show it next to the button; the notebook keeps working
            self.status.value = f"training stopped: {type(exc).__name__}: {exc}"
        finally:
            self.train.description = "train now (done)"
            self.train.value = False
            self.train.disabled = False

    @property
    def widget(self) -> w.Widget:
        train = w.HBox([self.train, self.status])
        return w.VBox([w.VBox(self.controls()), train, self.progress, self.message, self.live.widget,
                       self.export_button, self.export_log])


@explorer("08_proxies")
def proxy_explorer():
    return ProxyExplorer()


def _proxy_power_figure() -> Figure:
    ex = ProxyExplorer()
    return ex.figure("proxy-power-law", "08_proxies",
                     "Shipped proxy preset 'quick': final loss of tiny GPTs on the zipf corpus against non-embedding parameters, "
                     "a power law with offset fitted to all sizes, and its E against the corpus's exact entropy rate.")


if proxy_results("quick") is not None:
    figure("proxy-power-law")(_proxy_power_figure)
