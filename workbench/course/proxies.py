"""Lesson 09: the workbench's own tiny models: fit a power law to runs you can train."""

from __future__ import annotations

import functools
import math
from pathlib import Path

import altair as alt
import ipywidgets as w
import numpy as np
import polars as pl

from workbench.course import Figure, explorer, explorer_figure, figure
from workbench.course.inputs import proxy_results
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
from workbench.fit import fit
from workbench.laws import get_law
from workbench.viz.explorer import Explorer

TRAIN_NOW_WIDTHS = (16, 24, 32, 48, 64, 96)
TRAIN_NOW_TOKENS = 524_288


def train_now_configs(widths=TRAIN_NOW_WIDTHS, tokens: int = TRAIN_NOW_TOKENS):
    """The notebook's tiny sweep: GPTs of these widths (depth 2) on the zipf corpus, ``tokens`` each."""
    from workbench.proxies.config import RunConfig

    return [
        RunConfig(
            corpus="zipf",
            width=wd,
            depth=2,
            tokens=tokens,
            eval_tokens=65_536,
            curve_points=6,
            curve_eval_tokens=8192,
            label="notebook",
        )
        for wd in widths
    ]


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
    return f.select("params", "loss", pl.col("width").cast(pl.Int64), "tokens", pl.lit(source).alias("source")).sort(
        "params"
    )


@functools.lru_cache(maxsize=256)
def _power_fit(params: tuple[float, ...], losses: tuple[float, ...], draws: int):
    result = fit(get_law("power_offset_params"), {"params": np.array(params), "loss": np.array(losses)})
    return result.bootstrap(draws=draws, seed=0) if draws else result


def proxy_fit(points: pl.DataFrame, draws: int = 200):
    """L(N) = E + A N^-alpha fitted to ``points`` (cached by the points), with bootstrap intervals."""
    return _power_fit(tuple(points["params"].to_list()), tuple(points["loss"].to_list()), draws)


class ProxyExplorer(Explorer):
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
        self.sizes = w.FloatRangeSlider(
            value=(lo, hi),
            min=lo,
            max=hi,
            step=0.05,
            description="sizes fitted (log10 N)",
            readout_format=".2f",
            continuous_update=False,
            style=SLIDER_STYLE,
            layout=SLIDER_LAYOUT,
        )
        self.train = w.ToggleButton(
            value=False,
            description="train now",
            icon="play",
            tooltip=f"train {len(TRAIN_NOW_WIDTHS)} tiny GPTs ({TRAIN_NOW_TOKENS:,} tokens each) and refit",
        )
        self.progress = w.Output()
        self.status = w.HTML()
        self.train.observe(self._on_train, names="value")
        self.run_dir = Path(export_dir) / "proxy-runs"
        if self.shipped.height:
            self._prefit(self.shipped)
        super().__init__(export_dir=export_dir, bibtex=bib("2010.14701"))

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
                pl.when(pl.col("params") < lo_fit)
                .then(pl.lit("extrapolation below"))
                .when(pl.col("params") > hi_fit)
                .then(pl.lit("extrapolation above"))
                .otherwise(pl.lit("fit"))
                .alias("part")
            )
            levels.append({"name": "fitted E", "loss": float(res.params["E"])})
        return {
            "points": pts,
            "curve": curve,
            "levels": pl.DataFrame(levels),
            "window": pl.DataFrame({"lo": [10**lo], "hi": [10**hi]}),
        }

    def chart(self):
        x = alt.X("params:Q", scale=LOG, axis=SCI, title="non-embedding parameters N")
        y = alt.Y("loss:Q", scale=alt.Scale(zero=False, nice=False), title="final validation loss (nats/symbol)")
        window = alt.Chart(named("window")).mark_rect(color=GREY, opacity=0.12).encode(x="lo:Q", x2="hi:Q")
        levels = (
            alt.Chart(named("levels"))
            .mark_rule(strokeDash=[6, 3])
            .encode(
                y="loss:Q",
                color=alt.Color(
                    "name:N",
                    scale=alt.Scale(domain=["entropy rate H (exact)", "fitted E"], range=["black", RED]),
                    title=None,
                ),
            )
        )
        fit_line = (
            alt.Chart(named("curve"))
            .transform_filter("datum.part == 'fit'")
            .mark_line(color="#1f77b4", strokeWidth=2.5)
            .encode(x=x, y=y)
        )
        extra = (
            alt.Chart(named("curve"))
            .transform_filter("datum.part != 'fit'")
            .mark_line(color="#1f77b4", strokeDash=[5, 4])
            .encode(x="params:Q", y="loss:Q", detail="part:N")
        )
        pts = (
            alt.Chart(named("points"))
            .mark_point(size=70, filled=True)
            .encode(
                x="params:Q",
                y="loss:Q",
                color=alt.condition("datum.fitted", alt.value("black"), alt.value("#bbbbbb")),
                tooltip=["width:Q", "params:Q", "tokens:Q", "loss:Q", "source:N"],
            )
        )
        return alt.layer(window, levels, fit_line, extra, pts).properties(
            width=480,
            height=300,
            title=alt.TitleParams("Your proxies: a power law in N and the floor it finds", subtitle=[""]),
        )

    def sentence(self) -> str:
        sel = self.selected()
        if self.points.height == 0:
            return (
                "no runs yet: the shipped results of preset 'quick' are missing; switch on 'train now'"
                if self.source.value.startswith("shipped")
                else "no runs trained yet: switch on 'train now'"
            )
        if sel.height < self.MIN_SIZES:
            return f"{sel.height} sizes in the range: the law has 3 parameters, fit it on at least {self.MIN_SIZES}"
        res = proxy_fit(sel)
        e, (elo, ehi) = res.params["E"], res.ci["E"]
        return (
            f"{sel.height} sizes fitted: E = {e:.3f} ({res.ci_level:.0%} CI {elo:.3f}–{ehi:.3f}) vs exact H = "
            f"{self.H:.3f} "
            f"({100 * (e / self.H - 1):+.1f}%), alpha = {res.params['alpha']:.2f}"
        )

    def readout(self) -> str:
        return f"<b>{self.sentence()}</b>"

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
                out = run_sweep(
                    train_now_configs(), self.run_dir, preset="notebook", progress=True, on_result=self._on_result
                )
            if out.summary["cached"]:  # runs found in the cache never call on_result
                for r in out.results:
                    self._on_result(r)
            if out.failures:
                self.status.value = "failed runs: " + "; ".join(f"{r}: {e}" for r, e in out.failures)
            else:
                self.status.value = (
                    f"done: {len(out.results)} runs, {out.summary['trained']} trained now in "
                    f"{out.summary['wall_seconds']:.0f} s, {out.summary['cached']} from the cache in {self.run_dir}"
                )
        except Exception as exc:  # show it next to the button; the notebook keeps working
            self.status.value = f"training stopped: {type(exc).__name__}: {exc}"
        finally:
            self.train.description = "train now (done)"
            self.train.value = False
            self.train.disabled = False

    @property
    def widget(self) -> w.Widget:
        train = w.HBox([self.train, self.status])
        return w.VBox(
            [
                w.VBox(self.controls()),
                train,
                self.progress,
                self.message,
                self.live.widget,
                self.export_button,
                self.export_log,
            ]
        )


@explorer("09_proxies")
def proxy_explorer():
    return ProxyExplorer()


@figure("proxy-power-law", requires=("proxies/quick",))
def _proxy_power_figure() -> Figure:
    ex = ProxyExplorer()
    return explorer_figure(
        ex,
        "proxy-power-law",
        "09_proxies",
        "Shipped proxy preset 'quick': final loss of tiny GPTs on the zipf corpus against non-embedding parameters, "
        "a power law with offset fitted to all sizes, and its E against the corpus's exact entropy rate.",
    )
