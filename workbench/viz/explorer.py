"""The shape every course explorer shares: controls -> tables -> live chart -> export.

A subclass declares its controls (ipywidgets), computes the figure's tables
from their values in :meth:`tables` (a pure function of the widget values),
builds its chart once over named datasets in :meth:`chart`, and may return a
sentence for :meth:`readout`.  An explorer that shows fits names them in
:meth:`fits`; the base class then adds their caution (a constant at a bound, a
poorly identified one, a refit that did not converge) under the sentence and
into the exported caption, so no explorer can show a fit without it.  The base class wires every control to
:meth:`update`, times each update (``last_update_seconds``, benchmarked by
``benchmarks/slider_latency.py``) and exports the current figure with its
data and citations.  No hidden notebook state: everything a figure shows is
recomputed from the controls.
"""

from __future__ import annotations

import html
import re
import time
from pathlib import Path
from typing import Mapping

import altair as alt
import ipywidgets as w
import polars as pl

from workbench.fit.result import caution_of
from workbench.viz.export import export_figure
from workbench.viz.live import LiveChart


def caution_html(caution: str) -> str:
    """A caution sentence as the line a widget shows under its readout ("" when there is none)."""
    return f'<br><span style="color:#b3261e"><b>⚠ {html.escape(caution)}</b></span>' if caution else ""


def plain_text(markup: str) -> str:
    """Widget HTML as one line of text (for captions)."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup))).strip()


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
        self.message.value = self.readout() + caution_html(self.caution())
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

    def fits(self) -> Mapping[str, object]:
        """The fits behind the current view, by label (label -> FitResult); none by default."""
        return {}

    # -- shared -------------------------------------------------------------------
    def caution(self) -> str:
        """What not to trust in the fits shown now ("" when nothing)."""
        return caution_of(self.fits())

    def caption(self) -> str:
        """The exported caption: the current sentence and the caution, as plain text."""
        return " ".join(part for part in (plain_text(self.readout()), self.caution()) if part)

    def update(self) -> None:
        t0 = time.perf_counter()
        self._tables = self.tables()
        self.live.update(self._tables)
        self.message.value = self.readout() + caution_html(self.caution())
        self.last_update_seconds = time.perf_counter() - t0

    def spec(self) -> dict:
        return self.live.spec(self._tables)

    def export(self, out_dir: str | Path | None = None, stem: str | None = None) -> list[Path]:
        paths = export_figure(self.spec(), out_dir or self.export_dir, stem or self.stem, tables=self._tables,
                              bibtex=self.bibtex, caption=self.caption())
        self.export_log.value = "Wrote " + ", ".join(f"<code>{p}</code>" for p in paths)
        return paths

    @property
    def widget(self) -> w.Widget:
        return w.VBox([w.VBox(self.controls()), self.message, self.live.widget, self.export_button, self.export_log])
