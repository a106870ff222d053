"""Lesson 13: encoder/decoder allocation (Ghorbani et al. 2021), fitted on the workbench's nmt proxies."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import altair as alt
import ipywidgets as w
import numpy as np
import polars as pl

from workbench.course import Figure, explorer, figure
from workbench.course.inputs import require_proxy
from workbench.course.references import bib
from workbench.course.style import (
    LOG,
    SLIDER_LAYOUT,
    SLIDER_STYLE,
    YOURS,
    named,
    with_data,
)
from workbench.fit import DEFAULT_LEVEL, caution_of, fit, percentile_interval
from workbench.laws import get_law
from workbench.laws.nmt import optimal_encoder_decoder_split
from workbench.viz.explorer import Explorer

# The paper's per-language-pair constants could not be found, so the course fits the law on runs it can
# train: the proxy preset ``nmt`` (tiny encoder-decoder transformers on a synthetic translation task with a
# known loss floor).  Every exponent shown comes from that fit; none is the paper's.
NMT = get_law("nmt_encdec")
NMT_REFERENCE = 1e8  # the registered law's reference sizes (Nbar_e = Nbar_d = 1e8)
NMT_SERIES_LABELS = {
    "encoder": "encoder grows (decoder 64)",
    "decoder": "decoder grows (encoder 32)",
    "proportional": "both grow (1 : 2 widths)",
    "skewed": "lopsided",
    "all": "32 + 64 (in all three)",
}


@lru_cache(maxsize=1)
def nmt_proxy_runs() -> pl.DataFrame:
    """The shipped ``nmt`` proxy runs, one row each (encoder/decoder widths and parameters, final loss)."""
    from workbench.proxies.presets import nmt_points

    return nmt_points(require_proxy("nmt"))


@lru_cache(maxsize=1)
def nmt_proxy_fits() -> dict:
    """``nmt_encdec`` on the proxy runs (bootstrap, 1,000 draws), the same with L_inf fixed at the task's exact
    floor H, and a power law in total parameters for comparison."""
    from workbench.proxies.corpora import get_corpus
    from workbench.proxies.presets import nmt_fit

    runs = nmt_proxy_runs()
    free, _ = nmt_fit(runs)
    h = float(get_corpus("translate").H)
    p_e, p_d = free.draws_of("p_e"), free.draws_of("p_d")
    share = p_e / (p_e + p_d)
    return {
        "free": free,
        "floor_fixed": fit(NMT, runs, fixed={"L_inf": h}),
        "H": h,
        "total_only": fit(get_law("power_offset_params"), runs),
        "share_ci": tuple(float(v) for v in percentile_interval(share, free.ci_level)),
    }


def nmt_fit_table() -> pl.DataFrame:
    """The fitted constants with their 95 % intervals, beside the fit with the floor fixed at H."""
    f = nmt_proxy_fits()
    free, fixed = f["free"], f["floor_fixed"]
    return pl.DataFrame(
        [
            {
                "constant": k,
                "fitted": float(free.params[k]),
                "95% low": float(free.ci[k][0]),
                "95% high": float(free.ci[k][1]),
                "with L_inf = H": float(fixed.params[k]),
            }
            for k in NMT.names
        ]
    )


def nmt_comparison_tables() -> dict[str, pl.DataFrame]:
    """Each run's measured loss and the predictions of the bivariate law and of a law in total parameters alone."""
    f = nmt_proxy_fits()
    runs = nmt_proxy_runs()
    cols = {c: runs[c].to_numpy().astype(float) for c in ("encoder_params", "decoder_params", "params")}
    both = f["free"].predict(cols)
    total = f["total_only"].predict(cols)
    t = runs.select(
        "run_id", "series", "encoder_width", "decoder_width", "encoder_params", "decoder_params", "params", "loss"
    ).with_columns(
        pl.Series("bivariate law", both),
        pl.Series("total-parameter law", total),
        pl.col("series").replace(NMT_SERIES_LABELS).alias("series"),
    )
    long = pl.concat(
        [
            t.select("run_id", "series", "params", "loss", pl.col(name).alias("predicted"), pl.lit(name).alias("law"))
            for name in ("bivariate law", "total-parameter law")
        ]
    )
    long = long.with_columns((100 * (pl.col("predicted") / pl.col("loss") - 1)).alias("error_pct"))
    summary = (
        long.group_by("law")
        .agg(
            pl.col("error_pct").abs().max().alias("worst |error| %"),
            pl.col("error_pct").abs().mean().alias("mean |error| %"),
        )
        .sort("law")
    )
    return {"runs": t, "predictions": long, "summary": summary}


def nmt_proxy_chart(tables: Mapping[str, pl.DataFrame]) -> alt.HConcatChart:
    law = alt.Color(
        "law:N",
        scale=alt.Scale(domain=["bivariate law", "total-parameter law"], range=["#1f77b4", YOURS]),
        title=None,
        legend=alt.Legend(orient="bottom"),
    )
    x = alt.X("params:Q", scale=LOG, axis=alt.Axis(format="~s"), title="total non-embedding parameters N_e + N_d")
    measured = (
        alt.Chart(tables["runs"])
        .mark_point(size=80, color="black", filled=True)
        .encode(
            x=x,
            y=alt.Y("loss:Q", scale=alt.Scale(zero=False), title="validation loss (nats per target word)"),
            shape=alt.Shape("series:N", title="runs", legend=alt.Legend(orient="bottom", columns=2)),
            tooltip=["run_id:N", "series:N", "encoder_params:Q", "decoder_params:Q", "loss:Q"],
        )
    )
    pred = (
        alt.Chart(tables["predictions"])
        .mark_tick(thickness=2, size=14)
        .encode(x="params:Q", y="predicted:Q", color=law, tooltip=["run_id:N", "law:N", "predicted:Q", "error_pct:Q"])
    )
    left = alt.layer(measured, pred).properties(
        width=330, height=280, title="same total, different losses: only the bivariate law follows"
    )
    err = (
        alt.Chart(tables["predictions"])
        .mark_point(filled=True, size=50)
        .encode(
            x=x,
            y=alt.Y("error_pct:Q", title="prediction error (%)"),
            color=law,
            tooltip=["run_id:N", "law:N", "error_pct:Q"],
        )
    )
    zero = alt.Chart(pl.DataFrame({"y": [0.0]})).mark_rule(color="black", strokeWidth=0.5).encode(y="y:Q")
    right = alt.layer(zero, err).properties(width=300, height=280, title="error on every run")
    return alt.hconcat(left, right).resolve_scale(color="shared")


@figure("nmt-proxy-fit", requires=("proxies/nmt",))
def nmt_proxy_figure() -> Figure:
    tables = nmt_comparison_tables()
    f = nmt_proxy_fits()
    p = f["free"].params
    worst = {r["law"]: r["worst |error| %"] for r in tables["summary"].iter_rows(named=True)}
    caption = (
        f"The workbench's nmt proxies (14 encoder-decoder runs, synthetic translation task): the bivariate law "
        f"(p_e = {p['p_e']:.2f}, p_d = {p['p_d']:.2f}) misses every run by at most {worst['bivariate law']:.1f} %, "
        f"a power law in total parameters by up to {worst['total-parameter law']:.1f} %."
    )
    chart = nmt_proxy_chart(tables).properties(title="Encoder and decoder size, not their total: the nmt proxies")
    return Figure(
        "nmt-proxy-fit",
        "13_nmt",
        caption,
        chart,
        tables,
        bib("2109.07740", "workbench-proxies"),
        caution=caution_of({"bivariate law": f["free"]}),
    )


def nmt_fitted_exponents() -> dict[str, float]:
    """The exponents of the bivariate law fitted on the proxies (the explorer's starting values)."""
    p = nmt_proxy_fits()["free"].params
    return {"p_e": float(p["p_e"]), "p_d": float(p["p_d"])}


def relative_reducible(encoder, decoder, p_e: float, p_d: float) -> np.ndarray:
    """(L - L_inf) / alpha of the registered law: the reducible loss relative to the 1e8 + 1e8 reference
    model.  It needs only the exponents, not alpha or L_inf (which the proxies leave poorly identified)."""
    v = {"L_inf": 0.0, "alpha": 1.0, "p_e": p_e, "p_d": p_d}
    e, d = np.broadcast_arrays(np.atleast_1d(np.asarray(encoder, float)), np.atleast_1d(np.asarray(decoder, float)))
    return np.asarray(NMT.predict({"encoder_params": e, "decoder_params": d}, v), dtype=float)


def _one(x) -> float:
    return float(np.asarray(x, dtype=float).reshape(-1)[0])


def nmt_tables(total: float, share: float, p_e: float, p_d: float) -> dict[str, pl.DataFrame]:
    """Frames of the NMT figure: relative reducible loss vs encoder share at ``total`` parameters, and vs
    total size for the optimal split, your split (``share``) and scaling only one side."""
    s = np.linspace(0.02, 0.98, 97)
    split = pl.DataFrame({"share": s, "relative": relative_reducible(s * total, (1 - s) * total, p_e, p_d)})
    opt_e, opt_d = optimal_encoder_decoder_split(total, p_e, p_d)
    s_opt = float(opt_e / total)
    n = np.geomspace(2e7, 1e11, 80)
    oe, od = optimal_encoder_decoder_split(n, p_e, p_d)
    ref = NMT_REFERENCE
    grow_e = n >= 2 * ref  # grow one side, starting from the 1e8 + 1e8 reference model
    scaling = pl.concat(
        [
            pl.DataFrame({"total": n, "relative": relative_reducible(oe, od, p_e, p_d), "strategy": "optimal split"}),
            pl.DataFrame(
                {
                    "total": n,
                    "relative": relative_reducible(share * n, (1 - share) * n, p_e, p_d),
                    "strategy": "your split (fixed share)",
                }
            ),
            pl.DataFrame(
                {
                    "total": n[grow_e],
                    "relative": relative_reducible(n[grow_e] - ref, np.full(grow_e.sum(), ref), p_e, p_d),
                    "strategy": "grow encoder only (decoder 1e8)",
                }
            ),
            pl.DataFrame(
                {
                    "total": n[grow_e],
                    "relative": relative_reducible(np.full(grow_e.sum(), ref), n[grow_e] - ref, p_e, p_d),
                    "strategy": "grow decoder only (encoder 1e8)",
                }
            ),
        ]
    )
    yours = _one(relative_reducible(share * total, (1 - share) * total, p_e, p_d))
    best = _one(relative_reducible(opt_e, opt_d, p_e, p_d))
    chosen = pl.DataFrame(
        {
            "share": [share, s_opt],
            "relative": [yours, best],
            "total": [total, total],
            "point": ["your split", "optimal split"],
        }
    )
    summary = pl.DataFrame(
        {
            "total": [total],
            "share": [share],
            "optimal_share": [s_opt],
            "yours": [yours],
            "best": [best],
            "penalty": [yours / best],
            "p_e": [p_e],
            "p_d": [p_d],
            "equal_size_factor": [_one(relative_reducible(total / 2, total / 2, p_e, p_d)) / best],
        }
    )
    return {"split": split, "scaling": scaling, "chosen": chosen, "summary": summary}


def nmt_chart(title: str = "") -> alt.HConcatChart:
    y = alt.Y("relative:Q", scale=LOG, title="(L − L∞) / α  (reference: 1e8 + 1e8)")
    line = (
        alt.Chart(named("split"))
        .mark_line(strokeWidth=2, color="#1f77b4")
        .encode(
            x=alt.X("share:Q", title="encoder share of the parameters N_e / (N_e + N_d)", axis=alt.Axis(format="%")),
            y=y,
            tooltip=["share:Q", "relative:Q"],
        )
    )
    pts = (
        alt.Chart(named("chosen"))
        .mark_point(filled=True, size=150)
        .encode(
            x="share:Q",
            y="relative:Q",
            shape=alt.Shape(
                "point:N",
                scale=alt.Scale(domain=["your split", "optimal split"], range=["diamond", "circle"]),
                title=None,
            ),
            color=alt.Color(
                "point:N", scale=alt.Scale(domain=["your split", "optimal split"], range=[YOURS, "black"]), title=None
            ),
            tooltip=["point:N", "share:Q", "relative:Q"],
        )
    )
    left = alt.layer(line, pts).properties(width=320, height=270, title="at your total size: loss vs split")
    strat = alt.Color(
        "strategy:N",
        title=None,
        legend=alt.Legend(orient="bottom", columns=2),
        scale=alt.Scale(
            domain=[
                "optimal split",
                "your split (fixed share)",
                "grow encoder only (decoder 1e8)",
                "grow decoder only (encoder 1e8)",
            ],
            range=["black", YOURS, "#2ca02c", "#9467bd"],
        ),
    )
    curves = (
        alt.Chart(named("scaling"))
        .mark_line(strokeWidth=2)
        .encode(
            x=alt.X("total:Q", scale=LOG, axis=alt.Axis(format=".0e"), title="total parameters N_e + N_d"),
            y=alt.Y("relative:Q", scale=LOG, title="(L − L∞) / α"),
            color=strat,
            strokeDash=alt.condition(
                "datum.strategy == 'your split (fixed share)'", alt.value([6, 3]), alt.value([1, 0])
            ),
            tooltip=["strategy:N", "total:Q", "relative:Q"],
        )
    )
    here = (
        alt.Chart(named("chosen"))
        .transform_filter("datum.point == 'your split'")
        .mark_rule(color=YOURS, strokeDash=[2, 2])
        .encode(x="total:Q")
    )
    right = alt.layer(curves, here).properties(width=320, height=270, title="scaling strategies vs total size")
    return alt.hconcat(left, right, title=title).resolve_scale(color="independent", shape="independent")


class NMTExplorer(Explorer):
    """Total parameters, encoder share and the two exponents -> the encoder/decoder allocation.

    The exponents start at the values fitted on the ``nmt`` proxies (none of the paper's constants is used);
    move them to see how the answer follows from them.
    """

    stem = "13_nmt"

    def __init__(self, **kwargs):
        fitted = nmt_fitted_exponents()
        self.total = w.FloatLogSlider(
            value=1e9,
            base=10,
            min=7.5,
            max=11,
            step=0.05,
            description="total parameters",
            readout_format=".2e",
            style=SLIDER_STYLE,
            layout=SLIDER_LAYOUT,
            continuous_update=False,
        )
        self.share = w.FloatSlider(
            value=0.5,
            min=0.05,
            max=0.95,
            step=0.01,
            description="encoder share",
            readout_format=".2f",
            style=SLIDER_STYLE,
            layout=SLIDER_LAYOUT,
            continuous_update=False,
        )
        self.p_e = w.FloatSlider(
            value=round(fitted["p_e"], 3),
            min=0.02,
            max=0.8,
            step=0.001,
            description="p_e (encoder exponent)",
            readout_format=".3f",
            style=SLIDER_STYLE,
            layout=SLIDER_LAYOUT,
            continuous_update=False,
        )
        self.p_d = w.FloatSlider(
            value=round(fitted["p_d"], 3),
            min=0.02,
            max=0.8,
            step=0.001,
            description="p_d (decoder exponent)",
            readout_format=".3f",
            style=SLIDER_STYLE,
            layout=SLIDER_LAYOUT,
            continuous_update=False,
        )
        super().__init__(bibtex=bib("2109.07740", "workbench-proxies"), **kwargs)

    def controls(self):
        return [self.share, self.total, self.p_e, self.p_d]

    def tables(self):
        return nmt_tables(self.total.value, self.share.value, self.p_e.value, self.p_d.value)

    def chart(self):
        return nmt_chart("Ghorbani et al.'s encoder/decoder law, exponents fitted on the workbench's nmt proxies")

    def fits(self):
        fitted = nmt_fitted_exponents()
        moved = abs(self.p_e.value - fitted["p_e"]) > 5e-4 or abs(self.p_d.value - fitted["p_d"]) > 5e-4
        return {} if moved else {"proxy": nmt_proxy_fits()["free"]}

    def readout(self) -> str:
        s = self._tables["summary"].row(0, named=True)
        fitted = nmt_fitted_exponents()
        whose = (
            "the exponents fitted on the nmt proxies"
            if self.fits()
            else f"exponents you set; fitted on the proxies: p_e = {fitted['p_e']:.3f}, p_d = {fitted['p_d']:.3f}"
        )
        return (
            f"With p_e = {s['p_e']:.3f}, p_d = {s['p_d']:.3f} ({whose}) the optimum gives the encoder "
            f"<b>{s['optimal_share']:.1%}</b> of the parameters (p_e / (p_e + p_d)), whatever the total. Your split "
            f"({s['share']:.0%} encoder) has <b>{s['penalty']:.3f}×</b> the optimal reducible loss at "
            f"{s['total']:.3g} parameters — and the same factor at every size, because the law is a product of powers."
        )


@figure("nmt-encoder-decoder-split", requires=("proxies/nmt",))
def nmt_figure() -> Figure:
    e = nmt_fitted_exponents()
    tables = nmt_tables(1e9, 0.5, e["p_e"], e["p_d"])
    lo, hi = nmt_proxy_fits()["share_ci"]
    caption = (
        f"The bivariate law in units of the reference model's reducible loss, with the exponents fitted on the "
        f"workbench's nmt proxies (p_e = {e['p_e']:.3f}, p_d = {e['p_d']:.3f}; none of Ghorbani et al.'s constants): "
        f"the optimal encoder share p_e/(p_e+p_d) = {e['p_e'] / (e['p_e'] + e['p_d']):.0%} ({DEFAULT_LEVEL:.0%} "
        "bootstrap interval "
        f"{lo:.0%}-{hi:.0%}), and a mis-split costs the same factor at every size."
    )
    return Figure(
        "nmt-encoder-decoder-split",
        "13_nmt",
        caption,
        with_data(nmt_chart("Encoder/decoder allocation, exponents fitted on the nmt proxies"), tables),
        tables,
        bib("2109.07740", "workbench-proxies"),
        caution=caution_of({"proxy": nmt_proxy_fits()["free"]}),
    )


@explorer("13_nmt")
def nmt_explorer():
    return NMTExplorer()
