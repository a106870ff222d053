"""Charts that redraw in milliseconds: build the spec once, swap only the data.

Building an altair chart and validating it costs tens of milliseconds, too
slow for a slider.  A :class:`LiveChart` builds its chart once from *named*
datasets (``alt.NamedData``), keeps the Vega-Lite spec, and on every update
only replaces the rows of those datasets and hands the new spec to the
``alt.JupyterChart`` widget (no altair objects, no schema validation).  What
the chart shows therefore must be driven by the data (filters on columns,
domains from the data), never by values baked into the encoding.
"""

from __future__ import annotations

import time
from typing import Callable, Mapping

import altair as alt
import polars as pl


def _records(df: pl.DataFrame) -> list[dict]:
    return df.to_dicts()


class LiveChart:
    """A chart template over named tables, and the widget that shows it."""

    def __init__(self, build: Callable[[], alt.TopLevelMixin], tables: Mapping[str, pl.DataFrame], *, renderer: str = "svg"):
        chart = build()
        self.template = chart.to_dict()  # validated once
        self.template.pop("datasets", None)
        self.tables = dict(tables)
        self.widget = alt.JupyterChart(chart, embed_options={"renderer": renderer, "actions": False})
        self.last_update_seconds = 0.0
        self.update(tables)

    def spec(self, tables: Mapping[str, pl.DataFrame] | None = None) -> dict:
        """The Vega-Lite spec with these tables as its datasets."""
        tables = self.tables if tables is None else tables
        return {**self.template, "datasets": {name: _records(df) for name, df in tables.items()}}

    def update(self, tables: Mapping[str, pl.DataFrame], subtitle: str | None = None) -> None:
        t0 = time.perf_counter()
        self.tables = dict(tables)
        spec = self.spec()
        if subtitle is not None:
            title = spec.get("title", {})
            title = {"text": title} if isinstance(title, str) else dict(title)
            title["subtitle"] = [subtitle]
            spec["title"] = title
        self.widget.spec = spec
        self.last_update_seconds = time.perf_counter() - t0
