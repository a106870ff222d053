"""Charts that redraw in milliseconds: build the spec once, swap only the data.

Building an altair chart and validating it costs tens of milliseconds, too
slow for a slider.  A :class:`LiveChart` builds its chart once from *named*
datasets (``alt.NamedData``), keeps the Vega-Lite spec, and on every update
only replaces the rows of those datasets and hands the new spec to the
``alt.JupyterChart`` widget (no altair objects, no schema validation).  What
the chart shows therefore must be driven by the data (filters on columns,
domains from the data), never by values baked into the encoding.

A chart whose encoding itself follows the controls (which column is on the
x axis, log or linear) cannot work that way; :class:`RebuiltChart` has the
same interface and rebuilds it on every update.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

import altair as alt
import polars as pl

EMBED = {"renderer": "svg", "actions": False}


def _records(df: pl.DataFrame) -> list[dict]:
    return df.to_dicts()


def titled_spec(spec: dict, subtitle: str | Sequence[str] | None, heading: str = "") -> dict:
    """``spec`` with ``subtitle`` (a line or lines) under its title; a chart without a title gets ``heading``."""
    if subtitle is None:
        return spec
    title = spec.get("title", {})
    title = {"text": title} if isinstance(title, (str, list)) else dict(title)
    if not title.get("text"):
        title["text"] = heading or " "
    title["subtitle"] = [subtitle] if isinstance(subtitle, str) else list(subtitle) or [""]
    title.setdefault("anchor", "start")
    return {**spec, "title": title}


class LiveChart:
    """A chart template over named tables, and the widget that shows it."""

    def __init__(
        self, build: Callable[[], alt.TopLevelMixin], tables: Mapping[str, pl.DataFrame], *, renderer: str = "svg"
    ):
        chart = build()
        self.template = chart.to_dict()  # validated once
        self.template.pop("datasets", None)
        self.tables = dict(tables)
        self.widget = alt.JupyterChart(chart, embed_options={**EMBED, "renderer": renderer})
        self.last_update_seconds = 0.0
        self.update(tables)

    def spec(self, tables: Mapping[str, pl.DataFrame] | None = None, *, subtitle=None, heading: str = "") -> dict:
        """The Vega-Lite spec with these tables as its datasets (and ``subtitle`` under its title)."""
        tables = self.tables if tables is None else tables
        spec = {**self.template, "datasets": {name: _records(df) for name, df in tables.items()}}
        return titled_spec(spec, subtitle, heading)

    def update(self, tables: Mapping[str, pl.DataFrame], subtitle=None, heading: str = "") -> None:
        t0 = time.perf_counter()
        self.tables = dict(tables)
        self.widget.spec = self.spec(subtitle=subtitle, heading=heading)
        self.last_update_seconds = time.perf_counter() - t0


class RebuiltChart:
    """A chart rebuilt from ``build()`` on every update (its encoding follows the controls)."""

    def __init__(self, build: Callable[[], alt.TopLevelMixin]):
        self.build = build
        self.widget = alt.JupyterChart(build(), embed_options=EMBED)
        self.last_update_seconds = 0.0

    def spec(self, tables: Mapping[str, pl.DataFrame] | None = None, *, subtitle=None, heading: str = "") -> dict:
        return titled_spec(self.build().to_dict(), subtitle, heading)

    def update(self, tables: Mapping[str, pl.DataFrame], subtitle=None, heading: str = "") -> None:
        t0 = time.perf_counter()
        self.widget.spec = self.spec(tables, subtitle=subtitle, heading=heading)
        self.last_update_seconds = time.perf_counter() - t0
