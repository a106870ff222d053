"""The shape every course explorer shares: controls -> tables -> live chart -> export.

A subclass declares its controls (ipywidgets), computes the figure's tables
from their values in :meth:`tables` (a pure function of the widget values),
builds its chart once over named datasets in :meth:`chart`, and may return a
sentence for :meth:`readout`.  The base class wires every control to
:meth:`update`, times each update (``last_update_seconds``, benchmarked by
``benchmarks/slider_latency.py``) and exports the current figure with its
data and citations.  No hidden notebook state: everything a figure shows is
recomputed from the controls.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Mapping

import altair as alt
import ipywidgets as w
import polars as pl

from workbench.viz.export import export_figure
from workbench.viz.live import LiveChart


class Explorer:
    stem = "figure"  # export file stem

    def __init__(self, *, export_dir: str | Path = "exports", bibtex: str = ""):
        self.export_dir = Path(export_dir)
        self.bibtex = bibtex
        self.last_update_seconds = 0.0
        self.message = w.HTML()
        self.export_button = w.Button(description="Export figure", icon="download", tooltip="PNG, SVG, PDF + data + BibTeX")
        self.export_log = w.HTML()
        self.export_button.on_click(lambda _: self.export())
        self._tables = self.tables()
        self.live = LiveChart(self.chart, self._tables)
        self.message.value = self.readout()
        for c in self.controls():
            c.observe(lambda _: self.update(), names="value")

    # -- to implement -------------------------------------------------------------
    def controls(self) -> list[w.Widget]:
        raise NotImplementedError

    def tables(self) -> Mapping[str, pl.DataFrame]:
        raise NotImplementedError

    def chart(self) -> alt.TopLevelMixin:
        raise NotImplementedError

    def readout(self) -> str:
        return ""

    # -- shared -------------------------------------------------------------------
    def update(self) -> None:
        t0 = time.perf_counter()
        self._tables = self.tables()
        self.live.update(self._tables)
        self.message.value = self.readout()
        self.last_update_seconds = time.perf_counter() - t0

    def spec(self) -> dict:
        return self.live.spec(self._tables)

    def export(self, out_dir: str | Path | None = None, stem: str | None = None) -> list[Path]:
        paths = export_figure(self.spec(), out_dir or self.export_dir, stem or self.stem, tables=self._tables, bibtex=self.bibtex)
        self.export_log.value = "Wrote " + ", ".join(f"<code>{p}</code>" for p in paths)
        return paths

    @property
    def widget(self) -> w.Widget:
        return w.VBox([w.VBox(self.controls()), self.message, self.live.widget, self.export_button, self.export_log])
