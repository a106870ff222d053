"""ipywidgets explorers: sliders that move a law and a budget, and redraw.

An explorer owns its widgets and its last figure tables; every callback is a
method that recomputes from the widget values (no hidden notebook state), so
the same update can be timed in a benchmark or driven from a test without a
browser.  Charts are ``alt.JupyterChart`` widgets driven by a :class:`LiveChart` (the spec is
built once; an update only swaps data), which render offline once
``alt.JupyterChart.enable_offline()`` has been called.
"""

from __future__ import annotations

import html

import time
from pathlib import Path
from typing import Mapping

import ipywidgets as w
import numpy as np
import polars as pl

from workbench.fit import FitResult, fit
from workbench.laws import CHINCHILLA
from workbench.viz.charts import chinchilla_chart, chinchilla_tables, describe_optimum
from workbench.viz.explorer import caution_html, plain_text
from workbench.viz.export import export_figure
from workbench.viz.live import LiveChart


class ChinchillaExplorer:
    """Fit the Chinchilla law to ``points`` and explore it with sliders.

    Controls: which constants (this fit or a preset, labelled by its origin), the law's five
    constants, a compute budget, whether to drop the highest-loss points as
    Besiroglu et al. did, and an export button (PNG, SVG, PDF + CSV + BibTeX).
    """

    def __init__(
        self,
        points: pl.DataFrame,
        *,
        export_dir: str | Path = "exports",
        bibtex: str = "",
        budget: float = 5.76e23,
        drop_highest: bool = True,
    ):
        self.all_points = points
        self.export_dir = Path(export_dir)
        self.bibtex = bibtex
        self._updating = False
        self.last_update_seconds = 0.0
        self.fits: dict[bool, FitResult] = {}

        self.drop = w.Checkbox(value=drop_highest, description="drop the 5 highest-loss points (as Besiroglu et al.)", indent=False)
        self.constants = w.Dropdown(
            options=[("this fit", "fit")] + [(f"{p.name} ({p.label})", p.name) for p in CHINCHILLA.presets],
            value="fit", description="constants",
        )
        style = {"description_width": "70px"}
        layout = w.Layout(width="420px")
        self.budget = w.FloatLogSlider(value=budget, base=10, min=18, max=27, step=0.05, description="C (FLOPs)",
                                       readout_format=".2e", style=style, layout=layout, continuous_update=False)
        self.sliders = {
            "E": w.FloatSlider(min=0.5, max=3.0, step=0.001, description="E", readout_format=".3f", style=style, layout=layout, continuous_update=False),
            "A": w.FloatLogSlider(base=10, min=1, max=5, step=0.01, description="A", readout_format=".4g", style=style, layout=layout, continuous_update=False),
            "B": w.FloatLogSlider(base=10, min=1, max=6, step=0.01, description="B", readout_format=".4g", style=style, layout=layout, continuous_update=False),
            "alpha": w.FloatSlider(min=0.05, max=1.0, step=0.001, description="α", readout_format=".3f", style=style, layout=layout, continuous_update=False),
            "beta": w.FloatSlider(min=0.05, max=1.0, step=0.001, description="β", readout_format=".3f", style=style, layout=layout, continuous_update=False),
        }
        self.readout = w.HTML()
        self.fit_summary = w.HTML()
        self.export_button = w.Button(description="Export figure", icon="download", tooltip="PNG, SVG, PDF and the data as CSV")
        self.export_log = w.HTML()

        self._refit()
        self._set_constants(self._selected_values())
        self.tables = self._tables()
        self.live = LiveChart(chinchilla_chart, self.tables)
        self.chart = self.live.widget
        self._update_readout()

        self.drop.observe(self._on_drop, names="value")
        self.constants.observe(self._on_constants, names="value")
        for s in (self.budget, *self.sliders.values()):
            s.observe(self._on_slider, names="value")
        self.export_button.on_click(lambda _: self.export())

    # -- state ----------------------------------------------------------------
    @property
    def points(self) -> pl.DataFrame:
        if self.drop.value:
            return self.all_points.sort("loss").head(self.all_points.height - 5)
        return self.all_points

    @property
    def fit_result(self) -> FitResult:
        return self.fits[self.drop.value]

    @property
    def values(self) -> dict[str, float]:
        return {k: float(s.value) for k, s in self.sliders.items()}

    def _refit(self) -> None:
        if self.drop.value not in self.fits:
            self.fits[self.drop.value] = fit(CHINCHILLA, self.points)
        r = self.fit_result
        params = ", ".join(f"{k} = {v:.4g}" for k, v in r.params.items())
        warn = "".join(f"<br>⚠ {m}" for m in r.warnings)
        self.fit_summary.value = (f"<b>Fit</b> on {r.n_points} points ({r.fit_seconds * 1000:.0f} ms, "
                                  f"objective {r.objective:.6g}): {params}{warn}")

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

    def _tables(self) -> dict[str, pl.DataFrame]:
        return chinchilla_tables(self.points, self.values, float(self.budget.value))

    def _update_readout(self) -> None:
        self.readout.value = "<b>" + describe_optimum(self.tables, self.fit_result.domain) + "</b>" + self._provenance()

    def _provenance(self) -> str:
        """Under the sentence: the fit's caution, or where the selected preset's digits come from."""
        if self.constants.value == "fit":
            return caution_html(self.fit_result.caution())
        p = CHINCHILLA.preset(self.constants.value)
        return f"<br>constants {html.escape(p.name)}: {html.escape(p.label)} ({html.escape(p.locator)})"

    # -- callbacks --------------------------------------------------------------
    def update(self) -> None:
        """Recompute the figure from the widgets' values (what every control calls)."""
        t0 = time.perf_counter()
        self.tables = self._tables()
        self.live.update(self.tables)
        self._update_readout()
        self.last_update_seconds = time.perf_counter() - t0

    def _on_slider(self, _change) -> None:
        if not self._updating:
            self.update()

    def _on_constants(self, _change) -> None:
        self._set_constants(self._selected_values())
        self.update()

    def _on_drop(self, _change) -> None:
        self._refit()
        if self.constants.value == "fit":
            self._set_constants(self._selected_values())
        self.update()

    def export(self, out_dir: str | Path | None = None, stem: str = "chinchilla") -> list[Path]:
        """Write the current figure as PNG, SVG and PDF, its tables as CSV, and the BibTeX."""
        paths = export_figure(self.live.spec(), out_dir or self.export_dir, stem, tables=self.tables, bibtex=self.bibtex,
                              caption=plain_text(self.readout.value))
        self.export_log.value = "Wrote " + ", ".join(f"<code>{p}</code>" for p in paths)
        return paths

    # -- layout -------------------------------------------------------------------
    @property
    def widget(self) -> w.Widget:
        controls = w.VBox([self.constants, self.drop, self.budget, *self.sliders.values()])
        return w.VBox([self.fit_summary, w.HBox([controls]), self.readout, self.chart, w.HBox([self.export_button]), self.export_log])


def law_values_close(a: Mapping[str, float], b: Mapping[str, float], rel: float = 1e-3) -> bool:
    """True when two sets of constants agree to ``rel`` (slider steps round values)."""
    return all(np.isclose(a[k], b[k], rtol=rel) for k in a)
