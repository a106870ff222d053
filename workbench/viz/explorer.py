"""The one shape every explorer shares: controls -> tables -> chart -> sentence -> export.

A subclass declares its controls (ipywidgets) in :meth:`controls`, computes
the figure's tables from their values in :meth:`tables` (a pure function of
the widget values), builds its chart over named datasets in :meth:`chart`,
and says what the figure shows in one plain sentence, :meth:`sentence`.  The
base class does the rest, the same way for every explorer:

* the chart is built once and an update only swaps its data (a
  :class:`~workbench.viz.live.LiveChart`), unless the subclass sets
  ``rebuild = True`` because its encoding depends on the controls (the
  corpus explorer's axes);
* the sentence is written under the chart's title and, in bold, under the
  controls (:meth:`readout` may add detail);
* an explorer that shows fits names them in :meth:`fits`; their caution (a
  constant at a bound, a poorly identified one, a refit that did not
  converge) is added to the sentence, the subtitle and the exported caption,
  so no explorer can show a fit without it;
* every control calls :meth:`on_control` (by default :meth:`update`), whose
  time is kept in ``last_update_seconds`` (``benchmarks/slider_latency.py``);
* :meth:`export` writes the figure (PNG, SVG, PDF), its tables (CSV), its
  caption and its BibTeX under a new number each time, and says which files
  it wrote; the message is cleared when the figure changes.

No hidden notebook state: everything a figure shows is recomputed from the controls.
"""

from __future__ import annotations

import html
import re
import textwrap
import time
from collections.abc import Mapping
from pathlib import Path

import altair as alt
import ipywidgets as w
import polars as pl

from workbench.fit.result import caution_of
from workbench.viz.export import export_figure
from workbench.viz.live import LiveChart, RebuiltChart

SUBTITLE_CHARS = 110  # subtitle lines are wrapped to this many characters so they stay inside the chart


def caution_html(caution: str) -> str:
    """A caution sentence as the line a widget shows under its readout ("" when there is none)."""
    return f'<br><span style="color:#b3261e"><b>⚠ {html.escape(caution)}</b></span>' if caution else ""


def plain_text(markup: str) -> str:
    """Widget HTML as one line of text (for captions)."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup))).strip()


def next_stem(out_dir: Path, stem: str) -> str:
    """``stem-001``, ``stem-002``, ...: the first number no file in ``out_dir`` uses yet (exports never overwrite)."""
    taken = {
        int(m.group(1)) for p in out_dir.glob(f"{stem}-*") if (m := re.match(rf"{re.escape(stem)}-(\d{{3}})\b", p.name))
    }
    return f"{stem}-{max(taken, default=0) + 1:03d}"


class Explorer:
    stem = "figure"  # export file stem
    heading = ""  # the chart's title when the chart declares none
    rebuild = False  # True: the chart's encoding depends on the controls, so it is rebuilt on every update

    def __init__(self, *, export_dir: str | Path = "exports", bibtex: str = ""):
        self.export_dir = Path(export_dir)
        self.bibtex = bibtex
        self.last_update_seconds = 0.0
        self.last_export: list[Path] = []
        self.message = w.HTML()
        self.export_button = w.Button(
            description="Export figure",
            icon="download",
            tooltip="PNG, SVG, PDF, the data as CSV, the caption and the BibTeX",
        )
        self.export_log = w.HTML()
        self.export_button.on_click(lambda _: self.export())
        self._tables = self.tables()
        self.live = RebuiltChart(self.chart) if self.rebuild else LiveChart(self.chart, self._tables)
        self._show()
        for c in self.controls():
            c.observe(self.on_control, names="value")

    # -- to implement -------------------------------------------------------------
    def controls(self) -> list[w.Widget]:
        raise NotImplementedError

    def tables(self) -> Mapping[str, pl.DataFrame]:
        raise NotImplementedError

    def chart(self) -> alt.TopLevelMixin:
        raise NotImplementedError

    def sentence(self) -> str:
        """What the figure shows now, in one plain sentence ("" for none)."""
        return ""

    def readout(self) -> str:
        """The HTML under the controls: the sentence in bold (subclasses may add detail)."""
        text = self.sentence()
        return f"<b>{html.escape(text)}</b>" if text else ""

    def fits(self) -> Mapping[str, object]:
        """The fits behind the current view, by label (label -> FitResult); none by default."""
        return {}

    # -- shared -------------------------------------------------------------------
    def caution(self) -> str:
        """What not to trust in the fits shown now ("" when nothing)."""
        return caution_of(self.fits())

    def subtitle(self) -> list[str]:
        """The lines under the chart's title: the sentence and the caution, wrapped to stay inside the chart."""
        lines = []
        for part in (self.sentence(), self.caution()):
            lines += textwrap.wrap(part, SUBTITLE_CHARS) if part else []
        return lines

    def caption(self) -> str:
        """The exported caption: the current sentence, the readout's detail and the caution, as plain text."""
        text = plain_text(self.readout()) or self.sentence()
        return " ".join(part for part in (text, self.caution()) if part)

    def on_control(self, _change=None) -> None:
        self.update()

    def update(self) -> None:
        t0 = time.perf_counter()
        self._tables = self.tables()
        self._show()
        self.export_log.value = ""  # an earlier export no longer shows this figure
        self.last_update_seconds = time.perf_counter() - t0

    def _show(self) -> None:
        # The live chart shows no sentence under its title: the readout right above it says it
        # (in larger type, with the caution); spec() and the exports carry it as the subtitle.
        self.live.update(self._tables, subtitle=[], heading=self.heading or self.stem)
        self.message.value = self.readout() + caution_html(self.caution())

    def spec(self) -> dict:
        """The Vega-Lite spec of the current figure, its data and its subtitle included."""
        return self.live.spec(self._tables, subtitle=self.subtitle(), heading=self.heading or self.stem)

    @property
    def shown_tables(self) -> dict:
        """The tables behind the figure as it is now shown (a copy of the mapping)."""
        return dict(self._tables)

    def export(self, out_dir: str | Path | None = None, stem: str | None = None) -> list[Path]:
        """Write the current figure, its tables, caption and BibTeX under the next free number; return the paths."""
        out = Path(out_dir or self.export_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = export_figure(
            self.spec(),
            out,
            next_stem(out, stem or self.stem),
            tables=self._tables,
            bibtex=self.bibtex,
            caption=self.caption(),
            isolate=True,  # vl-convert renders in a child process: the kernel stays small
        )
        self.last_export = paths
        self.export_log.value = f"Wrote {len(paths)} files to <code>{html.escape(str(out))}</code>: " + ", ".join(
            f"<code>{html.escape(p.name)}</code>" for p in paths
        )
        return paths

    def extra_widgets(self) -> list[w.Widget]:
        """Widgets shown between the controls and the sentence (none by default)."""
        return []

    @property
    def widget(self) -> w.Widget:
        return w.VBox(
            [
                w.VBox(self.controls()),
                *self.extra_widgets(),
                self.message,
                self.live.widget,
                self.export_button,
                self.export_log,
            ]
        )
