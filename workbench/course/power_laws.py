"""Lesson 01: power laws and log-log thinking (Kaplan et al.'s laws; fit on the smallest runs, extrapolate)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import altair as alt
import ipywidgets as w
import numpy as np
import polars as pl

from workbench import corpus
from workbench.course import Figure, explorer, figure
from workbench.course.references import bib
from workbench.course.style import (
    GREY,
    LOG,
    SCI,
    SLIDER_LAYOUT,
    SLIDER_STYLE,
    named,
    slider,
    titled,
    with_data,
)
from workbench.errors import WorkbenchError
from workbench.fit import FitResult, caution_of, fit
from workbench.laws import get_law
from workbench.viz.explorer import Explorer

KAPLAN_N = get_law("kaplan_n")
KAPLAN_D = get_law("kaplan_d")
POWER_COLOURS = alt.Scale(domain=["power law", "power law + offset"], range=["#ff7f0e", "#1f77b4"])


def kaplan_tables() -> dict[str, pl.DataFrame]:
    """Kaplan et al.'s single-variable laws (printed presets, Eq. 1.1-1.2 and Table 5) on a grid, and an offset family.

    ``lines``: L(N) and L(D) for N, D from 1e6 to 1e13.  ``offset``: E + (N_c/N)^alpha_N for
    E = 0, 0.5, 1.5 nats (the same reducible part, three floors) with its local log-log slope
    -alpha_N (L - E)/L.
    """
    x = np.geomspace(1e6, 1e13, 60)
    n_vals, d_vals = KAPLAN_N.preset("kaplan2020_table5").values, KAPLAN_D.preset("kaplan2020_table5").values
    lines = pl.concat(
        [
            pl.DataFrame(
                {
                    "x": x,
                    "loss": KAPLAN_N.predict({"params": x}, n_vals),
                    "law": f"L(N) = (N_c/N)^{n_vals['alpha_N']}, N_c = {n_vals['N_c']:.1e}",
                }
            ),
            pl.DataFrame(
                {
                    "x": x,
                    "loss": KAPLAN_D.predict({"tokens": x}, d_vals),
                    "law": f"L(D) = (D_c/D)^{d_vals['alpha_D']}, D_c = {d_vals['D_c']:.1e}",
                }
            ),
        ]
    )
    reducible = KAPLAN_N.predict({"params": x}, n_vals)
    frames = []
    for e in (0.0, 0.5, 1.5):
        loss = e + reducible
        frames.append(
            pl.DataFrame({"x": x, "loss": loss, "slope": -n_vals["alpha_N"] * reducible / loss, "floor": f"E = {e:g}"})
        )
    return {"lines": lines, "offset": pl.concat(frames)}


def kaplan_chart(tables: Mapping[str, pl.DataFrame]) -> alt.HConcatChart:
    x = alt.X("x:Q", scale=LOG, axis=SCI, title="parameters N (non-embedding) or tokens D")
    left = (
        alt.Chart(tables["lines"])
        .mark_line(strokeWidth=2)
        .encode(
            x=x,
            y=alt.Y(
                "loss:Q", scale=alt.Scale(type="log", zero=False, nice=False), title="loss (nats/token), log scale"
            ),
            color=alt.Color(
                "law:N", title=None, legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=0)
            ),
            tooltip=["x:Q", "loss:Q", "law:N"],
        )
        .properties(width=330, height=260, title="Kaplan et al. 2020: straight lines on log-log axes")
    )
    right = (
        alt.Chart(tables["offset"])
        .mark_line(strokeWidth=2)
        .encode(
            x=alt.X("x:Q", scale=LOG, axis=SCI, title="parameters N"),
            y=alt.Y(
                "loss:Q", scale=alt.Scale(type="log", zero=False, nice=False), title="loss (nats/token), log scale"
            ),
            color=alt.Color(
                "floor:N",
                title="irreducible E",
                scale=alt.Scale(scheme="tableau10"),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=["x:Q", "loss:Q", "slope:Q", "floor:N"],
        )
        .properties(width=330, height=260, title="E + (N_c/N)^α_N: an offset bends the line")
    )
    return alt.hconcat(left, right).resolve_scale(color="independent")


@figure("power-laws-log-log")
def power_laws_figure() -> Figure:
    tables = kaplan_tables()
    caption = (
        "Kaplan et al. (2020) single-variable laws (Table 5 constants) are straight lines on log-log axes; "
        "adding an irreducible floor E bends the same law towards E."
    )
    return Figure(
        "power-laws-log-log", "01_power_laws", caption, kaplan_chart(tables), tables, bib("2001.08361", "2010.14701")
    )


@dataclass(frozen=True)
class Slice:
    """A one-variable slice of measured losses: ``frame`` has ``variable`` and ``loss``, sorted by the variable."""

    key: str
    label: str
    variable: str
    frame: pl.DataFrame
    how: str
    bibtex: str


PORIAN_TUNED = "hparams=tuned warmup=short decay=const count=standard"
PORIAN_KAPLAN = "hparams=base warmup=long decay=kaplan count=standard"


def _porian_frontier(train_set: str, setting: str) -> pl.DataFrame:
    p = corpus.load("porian_discrepancies", metric="loss")
    g = p.filter((pl.col("condition") == f"{train_set} {setting}") & (pl.col("eval_set") == "val_loss"))
    return (
        g.sort("value")
        .group_by("flops")
        .agg(pl.col("value").first().alias("loss"), pl.col("params").first(), pl.len().alias("sizes_trained"))
        .sort("flops")
    )


def proxy_quick_losses() -> tuple[pl.DataFrame | None, str]:
    """Final losses of the shipped proxy preset ``quick`` (loss vs N), or None and why not."""
    try:
        from workbench.corpus.proxy_sources import scan_preset
        from workbench.proxies import results

        df = results.final_losses(scan_preset("quick")).select("params", "loss").collect()  # reads two columns
    except (WorkbenchError, ImportError, OSError, pl.exceptions.PolarsError) as exc:
        return (
            None,
            f"proxy preset 'quick' not available ({exc}); run `python -m workbench sweep --preset quick` to make it.",
        )
    if df.height < 5:
        return None, f"proxy preset 'quick' has only {df.height} final losses; need 5 or more."
    frame = df.group_by("params").agg(pl.col("loss").mean()).sort("params")
    return frame, f"proxy preset 'quick': {frame.height} model sizes (mean over seeds)."


@lru_cache(maxsize=1)
def power_law_slices() -> dict[str, Slice]:
    """The one-variable slices notebook 01 fits, keyed by a short name (the proxy slice only if shipped)."""
    out = {}
    for key, ts, setting, label, how in [
        (
            "porian-rw-tuned",
            "refinedweb",
            PORIAN_TUNED,
            "Porian 2024: RefinedWeb, tuned (best run per budget)",
            "tuned LR/batch, short warm-up, constant LR; validation loss of the best model size at each compute budget",
        ),
        (
            "porian-owt2-tuned",
            "openwebtext2",
            PORIAN_TUNED,
            "Porian 2024: OpenWebText2, tuned (best run per budget)",
            "tuned LR/batch, short warm-up, constant LR; validation loss of the best model size at each compute budget",
        ),
        (
            "porian-rw-kaplan",
            "refinedweb",
            PORIAN_KAPLAN,
            "Porian 2024: RefinedWeb, Kaplan-style set-up (long warm-up)",
            "Kaplan's untuned set-up (long warm-up, Kaplan decay); validation loss of the best model size at each "
            "budget",
        ),
    ]:
        frame = _porian_frontier(ts, setting)
        out[key] = Slice(
            key, label, "flops", frame.select("flops", "loss", "params", "sizes_trained"), how, "porian_discrepancies"
        )
    g = corpus.load("gadre_overtraining", metric="loss").filter(
        (pl.col("eval_set") == "c4_val")
        & (pl.col("train_set") == "c4")
        & ((pl.col("tokens") / pl.col("params") - 20).abs() < 0.5)
    )
    out["gadre-c4-m20"] = Slice(
        "gadre-c4-m20",
        "Gadre 2024: C4, 20 tokens per parameter (loss vs N)",
        "params",
        g.select("params", pl.col("value").alias("loss")).sort("params"),
        "C4-eval loss of the six model sizes trained at 20 tokens per parameter",
        "gadre_overtraining",
    )
    frame, _ = proxy_quick_losses()
    if frame is not None:
        out["proxy-quick"] = Slice(
            "proxy-quick",
            "Workbench proxies, preset 'quick' (loss vs N)",
            "params",
            frame,
            "final validation loss of the proxy models (non-embedding N)",
            "workbench-proxies",
        )
    return out


MIN_FIT = 3  # the offset law has three constants


@lru_cache(maxsize=32)
def extrapolation_fits(key: str) -> dict[int, dict[str, FitResult]]:
    """Both power laws fitted on the k smallest runs of a slice, for every k from 3 to n - 1 (cached)."""
    s = power_law_slices()[key]
    pure, offset = get_law(f"power_{s.variable}"), get_law(f"power_offset_{s.variable}")
    x, y = s.frame[s.variable].to_numpy(), s.frame["loss"].to_numpy()
    return {
        k: {
            "power law": fit(pure, {s.variable: x[:k], "loss": y[:k]}),
            "power law + offset": fit(offset, {s.variable: x[:k], "loss": y[:k]}),
        }
        for k in range(MIN_FIT, len(x))
    }


def extrapolation_tables(key: str, k: int, subtract: bool = False) -> dict[str, pl.DataFrame]:
    """Frames of the extrapolation figure: points (fitted or held out), both fitted curves, their errors.

    With ``subtract`` every loss is shown minus the offset fit's E, i.e. the reducible loss: the
    offset law becomes a straight line and the pure power law bends.
    """
    s = power_law_slices()[key]
    var = s.variable
    x, y = s.frame[var].to_numpy(), s.frame["loss"].to_numpy()
    k = int(min(max(k, MIN_FIT), len(x) - 1))
    fits = extrapolation_fits(key)[k]
    e_hat = fits["power law + offset"].params["E"] if subtract else 0.0
    grid = np.geomspace(x.min() / 2, x.max() * 4, 80)
    shown = y - e_hat
    floor = 0.5 * shown[shown > 0].min()  # keep the log axis on the data: a curve diving below is cut
    curves, errors = [], []
    for name, r in fits.items():
        pred = r.predict({var: grid}) - e_hat
        keep = pred > floor
        curves.append(pl.DataFrame({"x": grid[keep], "y": pred[keep], "law": name}))
        held = r.predict({var: x[k:]})
        errors.append(
            pl.DataFrame(
                {
                    "x": x[k:],
                    "decades_beyond": np.log10(x[k:] / x[k - 1]),
                    "error_pct": 100 * (held / y[k:] - 1),
                    "law": name,
                }
            )
        )
    points = pl.DataFrame(
        {"x": x, "loss": y, "y": shown, "role": ["fitted" if i < k else "held out" for i in range(len(x))]}
    ).filter(pl.col("y") > 0)
    summary = pl.DataFrame(
        [
            {
                "slice": s.label,
                "variable": var,
                "runs_fitted": k,
                "runs_held_out": len(x) - k,
                "decades_fitted": float(np.log10(x[k - 1] / x[0])),
                "decades_to_largest": float(np.log10(x[-1] / x[k - 1])),
                **{
                    f"error_at_largest_pct[{n}]": float(100 * (r.predict({var: x[-1:]})[0] / y[-1] - 1))
                    for n, r in fits.items()
                },
                "E_hat": fits["power law + offset"].params["E"],
                "alpha_offset": fits["power law + offset"].params["alpha"],
                "alpha_pure": fits["power law"].params["alpha"],
                "subtract_E": subtract,
            }
        ]
    )
    return {
        "points": points,
        "curves": pl.concat(curves),
        "errors": pl.concat(errors),
        "cut": pl.DataFrame({"x": [float(np.sqrt(x[k - 1] * x[k]))]}),
        "summary": summary,
    }


def extrapolation_history(key: str) -> pl.DataFrame:
    """For every number of fitted runs k: how far the largest run lies beyond, and each law's error there."""
    rows = []
    for k in extrapolation_fits(key):
        s = extrapolation_tables(key, k)["summary"].row(0, named=True)
        rows.append(
            {
                "runs fitted": k,
                "decades fitted": round(s["decades_fitted"], 2),
                "decades to largest": round(s["decades_to_largest"], 2),
                "power law error (%)": round(s["error_at_largest_pct[power law]"], 2),
                "power law + offset error (%)": round(s["error_at_largest_pct[power law + offset]"], 2),
                "Ê": round(s["E_hat"], 3),
                "α (with offset)": round(s["alpha_offset"], 4),
                "α (pure)": round(s["alpha_pure"], 4),
            }
        )
    return pl.DataFrame(rows)


def extrapolation_chart() -> alt.HConcatChart:
    x = alt.X("x:Q", scale=LOG, axis=SCI, title="compute C (FLOPs) or parameters N")
    colour = alt.Color("law:N", scale=POWER_COLOURS, title=None, legend=alt.Legend(orient="bottom"))
    curves = alt.Chart(named("curves")).mark_line(strokeWidth=2).encode(x=x, y="y:Q", color=colour)
    pts = (
        alt.Chart(named("points"))
        .mark_point(size=55, filled=True, color="black")
        .encode(
            x="x:Q",
            y=alt.Y(
                "y:Q",
                scale=alt.Scale(type="log", zero=False, nice=False),
                title="loss (minus Ê when ticked), log scale",
            ),
            shape=alt.Shape(
                "role:N",
                scale=alt.Scale(domain=["fitted", "held out"], range=["circle", "triangle-up"]),
                title=None,
                legend=alt.Legend(orient="bottom"),
            ),
            opacity=alt.Opacity(
                "role:N", scale=alt.Scale(domain=["fitted", "held out"], range=[1.0, 0.45]), legend=None
            ),
            tooltip=["x:Q", "loss:Q", "role:N"],
        )
    )
    cut = alt.Chart(named("cut")).mark_rule(strokeDash=[4, 4], color=GREY).encode(x="x:Q")
    left = alt.layer(cut, curves, pts).properties(
        width=360, height=290, title="fit on the smallest runs (left of the dashed line)"
    )
    err = (
        alt.Chart(named("errors"))
        .mark_line(point=True, strokeWidth=2)
        .encode(
            x=alt.X("decades_beyond:Q", scale=alt.Scale(zero=True), title="decades beyond the largest fitted run"),
            y=alt.Y("error_pct:Q", title="prediction error on held-out runs (%)"),
            color=colour,
            tooltip=["x:Q", "decades_beyond:Q", "error_pct:Q", "law:N"],
        )
    )
    zero = alt.Chart(named("cut")).mark_rule(color="black", strokeWidth=0.5).encode(y=alt.datum(0))
    right = alt.layer(zero, err).properties(width=300, height=290, title="extrapolation error grows with distance")
    return alt.hconcat(left, right).resolve_scale(shape="independent")


def extrapolation_sentence(tables: Mapping[str, pl.DataFrame]) -> str:
    s = tables["summary"].row(0, named=True)
    what = "compute" if s["variable"] == "flops" else "parameters"
    return (
        f"Fitted on the {s['runs_fitted']} smallest runs ({s['decades_fitted']:.1f} decades of {what}); the largest "
        f"run is {s['decades_to_largest']:.1f} decades beyond. Error there: power law "
        f"{s['error_at_largest_pct[power law]']:+.1f}%, power law + offset "
        f"{s['error_at_largest_pct[power law + offset]']:+.1f}% (Ê = {s['E_hat']:.2f}, α = {s['alpha_offset']:.3f}; "
        f"without offset α = {s['alpha_pure']:.3f})."
    )


class PowerLawExplorer(Explorer):
    """Fit a power law, with and without an offset, on the k smallest runs of a slice; watch the extrapolation."""

    stem = "01_power_laws"

    def __init__(self, slice_key: str = "porian-rw-tuned", runs: int = 5, **kwargs):
        slices = power_law_slices()
        self.slice = w.Dropdown(
            options=[(s.label, k) for k, s in slices.items()],
            value=slice_key,
            description="data",
            style=SLIDER_STYLE,
            layout=SLIDER_LAYOUT,
        )
        n = slices[slice_key].frame.height
        self.runs = slider(
            w.IntSlider, value=min(runs, n - 1), min=MIN_FIT, max=n - 1, description="runs fitted (smallest first)"
        )
        self.subtract = w.Checkbox(value=False, description="subtract the fitted offset Ê (plot L − Ê)", indent=False)
        self._busy = False
        self.slice.observe(self._on_slice, names="value")
        super().__init__(bibtex=self._bib(), **kwargs)

    def _bib(self) -> str:
        return bib(power_law_slices()[self.slice.value].bibtex, "2001.08361", "2010.14701")

    def _on_slice(self, _change) -> None:
        n = power_law_slices()[self.slice.value].frame.height
        self._busy = True
        try:
            self.runs.max = n - 1
            self.runs.value = min(self.runs.value, n - 1)
        finally:
            self._busy = False
        self.bibtex = self._bib()

    def update(self) -> None:
        if not self._busy:
            super().update()

    def controls(self):
        return [self.slice, self.runs, self.subtract]

    def tables(self):
        return extrapolation_tables(self.slice.value, self.runs.value, self.subtract.value)

    def chart(self):
        return extrapolation_chart()

    def sentence(self) -> str:
        return extrapolation_sentence(self._tables)

    def fits(self):
        return extrapolation_fits(self.slice.value)[self.runs.value]

    @property
    def heading(self) -> str:
        return power_law_slices()[self.slice.value].label


@figure("power-law-extrapolation")
def power_law_extrapolation_figure() -> Figure:
    tables = extrapolation_tables("porian-rw-tuned", 5)
    caption = (
        "Power laws fitted on the 5 smallest compute budgets of Porian et al.'s tuned RefinedWeb runs, "
        "extrapolated to the rest. " + extrapolation_sentence(tables)
    )
    chart = titled(extrapolation_chart(), power_law_slices()["porian-rw-tuned"].label, extrapolation_sentence(tables))
    return Figure(
        "power-law-extrapolation",
        "01_power_laws",
        caption,
        with_data(chart, tables),
        tables,
        bib("porian_discrepancies", "2001.08361"),
        caution=caution_of(extrapolation_fits("porian-rw-tuned")[5]),
    )


@explorer("01_power_laws")
def power_law_explorer():
    return PowerLawExplorer()
