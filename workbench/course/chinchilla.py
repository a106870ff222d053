"""Lesson 02: the Chinchilla law on Hoffmann et al.'s Figure 4 runs, its iso-FLOP curves and frontier.

The Chinchilla explorer fits the law to the digitised runs (or shows a preset,
labelled by where its digits come from) and lets the student move the five
constants and a compute budget; the tables and charts it draws live here.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

import altair as alt
import ipywidgets as w
import numpy as np
import polars as pl

from workbench import corpus
from workbench.analysis.compute_optimal import chinchilla_optimal
from workbench.course import Figure, explorer, figure
from workbench.course.references import bib
from workbench.course.style import HEIGHT, LOG, PANEL, RED, SCI, named, with_data
from workbench.fit import FitResult, fit
from workbench.laws import CHINCHILLA
from workbench.viz.explorer import Explorer

SUBSET = "besiroglu2024"  # the 240 runs Besiroglu et al. fitted (the 5 highest-loss dropped)
SYMBOLS = {"alpha": "α", "beta": "β"}


def chinchilla_tables(
    points: pl.DataFrame | None,
    values: Mapping[str, float],
    budget: float,
    *,
    budgets: np.ndarray | None = None,
    loss_levels: np.ndarray | None = None,
    n_range: tuple[float, float] | None = None,
) -> dict[str, pl.DataFrame]:
    """Frames behind the Chinchilla figure: points, iso-FLOP curves, iso-loss lines, frontier, budget.

    ``n_range`` defaults to a decade below the smallest model shown to two
    decades above the largest, so extrapolation is visible but not the whole story.
    """
    if n_range is None:
        n_range = (
            (float(points["params"].min()) / 10, float(points["params"].max()) * 100)
            if points is not None
            else (1e7, 1e13)
        )
    if budgets is None:
        budgets = np.geomspace(1e18, 1e24, 7)
    n = np.geomspace(*n_range, 60)
    iso = []
    for c in [*budgets, budget]:
        d = c / (6 * n)
        loss = CHINCHILLA.predict({"params": n, "tokens": d}, values)
        iso.append(
            pl.DataFrame(
                {
                    "flops": np.full(n.size, c),
                    "params": n,
                    "tokens": d,
                    "loss": loss,
                    "budget": [f"{c:.0e} FLOPs"] * n.size,
                    "selected": [bool(c == budget)] * n.size,
                }
            )
        )
    isoflop = pl.concat(iso)
    E, A, B, alpha, beta = (values[k] for k in ("E", "A", "B", "alpha", "beta"))
    if loss_levels is None:
        loss_levels = E + np.array([0.15, 0.3, 0.5, 0.8, 1.2, 1.8, 2.6])
    lines = []
    for level in loss_levels:
        gap = level - E - A / n**alpha
        ok = gap > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            d = (B / gap[ok]) ** (1 / beta)
        keep = d < 1e16
        lines.append(
            pl.DataFrame(
                {
                    "params": n[ok][keep],
                    "tokens": d[keep],
                    "level": [f"L = {level:.2f}"] * int(keep.sum()),
                    "loss": [float(level)] * int(keep.sum()),
                },
                schema={"params": pl.Float64, "tokens": pl.Float64, "level": pl.String, "loss": pl.Float64},
            )
        )
    isoloss = pl.concat(lines)
    frontier_c = np.geomspace(min(budgets.min(), budget), max(budgets.max(), budget), 60)
    f = chinchilla_optimal(values, frontier_c)
    frontier = pl.DataFrame({"flops": f.flops, "params": f.params, "tokens": f.tokens, "loss": f.loss})
    best = chinchilla_optimal(values, [budget])
    optimum = pl.DataFrame(
        {
            "flops": [budget],
            "params": best.params,
            "tokens": best.tokens,
            "loss": best.loss,
            "tokens_per_param": best.tokens_per_param,
        }
    )
    lo, hi = loss_range(points, values)
    isoflop = isoflop.filter(pl.col("loss").is_between(lo, hi))
    out = {"isoflop": isoflop, "isoloss": isoloss, "frontier": frontier, "optimum": optimum}
    if points is not None:
        out["points"] = (
            points.select("run_id", "params", "tokens", "flops", "loss")
            if "run_id" in points.columns
            else points.select("params", "tokens", "flops", "loss")
        )
    return out


def loss_range(points: pl.DataFrame | None, values: Mapping[str, float]) -> tuple[float, float]:
    """The loss axis of the Chinchilla figure: the data's range, or E to E + 4 without data."""
    if points is not None and points.height:
        return float(points["loss"].min()) - 0.25, float(points["loss"].max()) + 0.2
    return float(values["E"]) - 0.05, float(values["E"]) + 4.0


def chinchilla_chart(
    *, with_points: bool = True, title: str = "", width: int = PANEL, height: int = HEIGHT
) -> alt.HConcatChart:
    """Two panels over named data (points, isoflop, isoloss, frontier, optimum; see chinchilla_tables):
    loss against N along iso-FLOP curves, and iso-loss lines in the (N, D) plane."""
    x_n = alt.X("params:Q", scale=LOG, axis=SCI, title="parameters N")
    y_loss = alt.Y("loss:Q", scale=alt.Scale(zero=False, nice=False), title="loss (nats/token)")
    curves = (
        alt.Chart(named("isoflop"))
        .transform_filter("!datum.selected")
        .mark_line(strokeWidth=1, opacity=0.6)
        .encode(
            x=x_n,
            y=y_loss,
            color=alt.Color("flops:Q", scale=alt.Scale(type="log", scheme="viridis"), title="FLOPs"),
            detail="budget:N",
        )
    )
    chosen = (
        alt.Chart(named("isoflop"))
        .transform_filter("datum.selected")
        .mark_line(strokeWidth=3, color=RED)
        .encode(x="params:Q", y="loss:Q")
    )
    star = (
        alt.Chart(named("optimum"))
        .mark_point(shape="diamond", size=140, filled=True, color=RED)
        .encode(x="params:Q", y="loss:Q", tooltip=["flops:Q", "params:Q", "tokens:Q", "loss:Q", "tokens_per_param:Q"])
    )
    left_layers = [curves, chosen, star]
    right_layers = []
    if with_points:
        left_layers.insert(
            0,
            alt.Chart(named("points"))
            .mark_circle(size=22, opacity=0.7)
            .encode(
                x="params:Q",
                y="loss:Q",
                color=alt.Color("flops:Q", scale=alt.Scale(type="log", scheme="viridis")),
                tooltip=["params:Q", "tokens:Q", "flops:Q", "loss:Q"],
            ),
        )
        right_layers.append(
            alt.Chart(named("points"))
            .mark_circle(size=18, opacity=0.5, color="#555")
            .encode(
                x=alt.X("params:Q", scale=LOG),
                y=alt.Y("tokens:Q", scale=LOG),
                tooltip=["params:Q", "tokens:Q", "loss:Q"],
            )
        )
    left = alt.layer(*left_layers).properties(
        width=width,
        height=height,
        title=alt.TitleParams(
            "iso-FLOP curves of the law",
            subtitle=["dots: the runs (colour: FLOPs); red: your budget C and its optimum (diamond)"],
        ),
    )
    isoloss = (
        alt.Chart(named("isoloss"))
        .mark_line(strokeWidth=1)
        .encode(
            x=x_n,
            y=alt.Y("tokens:Q", scale=LOG, axis=SCI, title="tokens D"),
            color=alt.Color("loss:Q", scale=alt.Scale(scheme="plasma"), title="iso-loss"),
            detail="level:N",
        )
    )
    frontier = (
        alt.Chart(named("frontier")).mark_line(strokeDash=[6, 3], color="black").encode(x="params:Q", y="tokens:Q")
    )
    budget_line = (
        alt.Chart(named("isoflop"))
        .transform_filter("datum.selected")
        .mark_line(color=RED, strokeWidth=2)
        .encode(x="params:Q", y="tokens:Q")
    )
    star2 = (
        alt.Chart(named("optimum"))
        .mark_point(shape="diamond", size=140, filled=True, color=RED)
        .encode(x="params:Q", y="tokens:Q")
    )
    right = alt.layer(isoloss, *right_layers, frontier, budget_line, star2).properties(
        width=width,
        height=height,
        title=alt.TitleParams(
            "iso-loss lines in (N, D)", subtitle=["dashed: the compute-optimal frontier; red: your budget"]
        ),
    )
    return alt.hconcat(left, right, title=title).resolve_scale(color="independent")


def describe_optimum(
    tables: Mapping[str, pl.DataFrame], domain: Mapping[str, tuple[float, float]] | None = None
) -> str:
    """One sentence on the chosen budget's optimum, flagging extrapolation."""
    o = tables["optimum"].row(0, named=True)
    text = (
        f"C = {o['flops']:.2e} FLOPs: N_opt = {o['params']:.3g}, D_opt = {o['tokens']:.3g} "
        f"({o['tokens_per_param']:.1f} tokens/parameter), predicted loss {o['loss']:.4f}"
    )
    if domain:
        beyond = []
        for var in ("params", "tokens"):
            lo, hi = domain[var]
            if o[var] > hi:
                beyond.append(f"{np.log10(o[var] / hi):.1f} decades beyond the largest {var} fitted")
            elif o[var] < lo:
                beyond.append(f"{np.log10(lo / o[var]):.1f} decades below the smallest {var} fitted")
        text += ("; extrapolates: " + ", ".join(beyond)) if beyond else "; inside the fitted data range"
    return text


class ChinchillaExplorer(Explorer):
    """Fit the Chinchilla law to ``points`` and explore it with sliders.

    Controls: which constants (this fit or a preset, labelled by its origin), whether to drop the 5
    highest-loss runs as Besiroglu et al. did (the corpus subset ``chinchilla_epoch:besiroglu2024``), a
    compute budget, and the law's five constants.
    """

    stem = "chinchilla"
    heading = "The Chinchilla law: iso-FLOP curves and the compute-optimal frontier"

    def __init__(
        self,
        points: pl.DataFrame,
        *,
        export_dir="exports",
        bibtex: str = "",
        budget: float = 5.76e23,
        drop_highest: bool = True,
    ):
        self.all_points = points
        self.subset_points = (
            corpus.select_subset(points, corpus.get_source("chinchilla_epoch").subset(SUBSET), "chinchilla_epoch")
            if points.height == 245
            else points
        )
        self._fits: dict[bool, FitResult] = {}
        self._updating = False
        self.drop = w.Checkbox(
            value=drop_highest,
            description="fit the 240 runs of Besiroglu et al. (5 highest losses dropped)",
            indent=False,
            layout=w.Layout(width="auto"),
        )
        self.constants = w.Dropdown(
            options=[("this fit", "fit")] + [(f"{p.name} ({p.label})", p.name) for p in CHINCHILLA.presets],
            value="fit",
            description="constants",
            layout=w.Layout(width="520px"),
        )
        style, layout = {"description_width": "80px"}, w.Layout(width="520px")
        self.budget = w.FloatLogSlider(
            value=budget,
            base=10,
            min=18,
            max=27,
            step=0.05,
            description="C (FLOPs)",
            readout_format=".2e",
            style=style,
            layout=layout,
            continuous_update=False,
        )
        fmt = dict(style=style, layout=layout, continuous_update=False)
        self.sliders = {
            "E": w.FloatSlider(min=0.5, max=3.0, step=0.001, description="E", readout_format=".3f", **fmt),
            "A": w.FloatLogSlider(base=10, min=1, max=5, step=0.01, description="A", readout_format=".4g", **fmt),
            "B": w.FloatLogSlider(base=10, min=1, max=6, step=0.01, description="B", readout_format=".4g", **fmt),
            "alpha": w.FloatSlider(min=0.05, max=1.0, step=0.001, description="α", readout_format=".3f", **fmt),
            "beta": w.FloatSlider(min=0.05, max=1.0, step=0.001, description="β", readout_format=".3f", **fmt),
        }
        self.fit_summary = w.HTML()
        self._refit()
        self._set_constants(self._selected_values())
        super().__init__(export_dir=export_dir, bibtex=bibtex)

    # -- state ----------------------------------------------------------------
    @property
    def points(self) -> pl.DataFrame:
        return self.subset_points if self.drop.value else self.all_points

    @property
    def fit_result(self) -> FitResult:
        return self._fits[self.drop.value]

    @property
    def values(self) -> dict[str, float]:
        return {k: float(s.value) for k, s in self.sliders.items()}

    def _refit(self) -> None:
        if self.drop.value not in self._fits:
            self._fits[self.drop.value] = fit(CHINCHILLA, self.points)
        r = self.fit_result
        params = ", ".join(f"{SYMBOLS.get(k, k)} = {v:.4g}" for k, v in r.params.items())
        self.fit_summary.value = (
            f"<b>Fit</b> on {r.n_points} points ({r.fit_seconds * 1000:.0f} ms, objective {r.objective:.6g}): {params}"
        )

    def _selected_values(self) -> Mapping[str, float]:
        if self.constants.value == "fit":
            return self.fit_result.params
        return CHINCHILLA.preset(self.constants.value).values

    def _set_constants(self, values: Mapping[str, float]) -> None:
        self._updating = True
        try:
            for k, s in self.sliders.items():
                s.value = float(values[k])
        finally:
            self._updating = False

    # -- the explorer ----------------------------------------------------------
    def controls(self):
        return [self.constants, self.drop, self.budget, *self.sliders.values()]

    def tables(self):
        return chinchilla_tables(self.points, self.values, float(self.budget.value))

    def chart(self):
        return chinchilla_chart()

    def sentence(self) -> str:
        return describe_optimum(self._tables, self.fit_result.domain)

    def readout(self) -> str:
        text = f"<b>{html.escape(self.sentence())}</b>"
        if self.constants.value != "fit":
            p = CHINCHILLA.preset(self.constants.value)
            text += f"<br>constants {html.escape(p.name)}: {html.escape(p.label)} ({html.escape(p.locator)})"
        return text

    def fits(self):
        return {"Chinchilla": self.fit_result} if self.constants.value == "fit" else {}

    def on_control(self, change=None) -> None:
        owner = getattr(change, "owner", None) if change is not None else None
        if isinstance(change, dict):
            owner = change.get("owner")
        if owner is self.drop:
            self._refit()
            if self.constants.value == "fit":
                self._set_constants(self._selected_values())
        elif owner is self.constants:
            self._set_constants(self._selected_values())
        elif self._updating:
            return
        self.update()

    def extra_widgets(self):
        return [self.fit_summary]


@figure("chinchilla-fit-and-frontier")
def chinchilla_frontier() -> Figure:
    points = corpus.loss_points("chinchilla_epoch", subset=SUBSET)
    result = fit(CHINCHILLA, points)
    tables = chinchilla_tables(points, result.params, 5.76e23)
    caption = (
        "Chinchilla law fitted to the 240 Figure 4 runs of Besiroglu et al.'s selection (corpus subset "
        "chinchilla_epoch:besiroglu2024). " + describe_optimum(tables, result.domain)
    )
    return Figure(
        "chinchilla-fit-and-frontier",
        "02_chinchilla",
        caption,
        with_data(chinchilla_chart(), tables),
        tables,
        bib("chinchilla_epoch"),
        caution=result.caution(),
    )


@explorer("02_chinchilla")
def chinchilla_explorer():
    return ChinchillaExplorer(corpus.loss_points("chinchilla_epoch"), bibtex=bib("chinchilla_epoch"))
