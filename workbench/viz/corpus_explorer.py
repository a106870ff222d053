"""Browse the corpus: pick a source, a metric, axes and colour; plot; export.

The explorer reads sources lazily (one CSV each) and keeps its own cache, so
switching back and forth is instant.  A figure is a scatter of one metric
against one axis; the export writes the figure (PNG, SVG, PDF), the rows it
shows (CSV, with every provenance column) and the BibTeX of the source.
"""

from __future__ import annotations

import html
import math
from pathlib import Path

import altair as alt
import ipywidgets as w
import polars as pl

from workbench import corpus
from workbench.corpus.schema import AXES
from workbench.viz.explorer import Explorer

MAX_POINTS = 5000  # altair's inline-data limit; larger selections are thinned evenly (and say so)
COLOUR_CANDIDATES = (
    "none",
    "run_id",
    "eval_set",
    "condition",
    "family",
    "number_format",
    "precision_phase",
    "params",
    "tokens",
    "flops",
    "weight_bits",
    "activation_bits",
    "k",
    "step",
)


def selection(df: pl.DataFrame, metric: str, eval_set: str, x: str, final_only: bool) -> pl.DataFrame:
    """The rows a view shows: one metric (and eval set), a present x axis, optionally final checkpoints."""
    out = df.filter(pl.col("metric") == metric)
    if eval_set != "all":
        out = out.filter(pl.col("eval_set") == eval_set)
    if final_only:
        out = out.filter(pl.col("final").fill_null(True))
    return out.filter(pl.col(x).is_not_null() & pl.col("value").is_not_null())


def scatter(rows: pl.DataFrame, x: str, colour: str, *, log_x: bool, log_y: bool, title: str) -> alt.Chart:
    shown = rows if rows.height <= MAX_POINTS else rows.gather_every(-(-rows.height // MAX_POINTS))
    keep = list(dict.fromkeys(["run_id", x, "value", "eval_set", "metric"] + ([colour] if colour != "none" else [])))
    data = shown.select([c for c in keep if c in shown.columns])
    positive_x = data.height == 0 or data[x].min() > 0
    enc = {
        "x": alt.X(f"{x}:Q", scale=alt.Scale(type="log" if log_x and positive_x else "linear", zero=False), title=x),
        "y": alt.Y(
            "value:Q",
            scale=alt.Scale(type="log" if log_y and data.height and data["value"].min() > 0 else "linear", zero=False),
            title=rows["metric"][0] if rows.height else "value",
        ),
        "tooltip": [c for c in data.columns],
    }
    if colour != "none" and colour in data.columns:
        numeric = data[colour].dtype.is_numeric()
        enc["color"] = alt.Color(
            f"{colour}:{'Q' if numeric else 'N'}",
            scale=alt.Scale(type="log", scheme="viridis") if numeric and data[colour].min() > 0 else alt.Undefined,
            legend=alt.Legend(columns=2, symbolLimit=30) if not numeric else alt.Undefined,
        )
    subtitle = f"{rows.height} rows" + (
        f" (showing every {-(-rows.height // MAX_POINTS)}th)" if rows.height > MAX_POINTS else ""
    )
    return (
        alt.Chart(data)
        .mark_circle(size=30, opacity=0.7)
        .encode(**enc)
        .properties(width=640, height=340, title=alt.TitleParams(title, subtitle=[subtitle]))
    )


class CorpusExplorer(Explorer):
    """Pick a source, a metric, an eval set, the x axis, its range and the colour; the scatter follows."""

    rebuild = True  # the axes themselves follow the controls

    def __init__(self, *, export_dir: str | Path = "exports", source: str = "chinchilla_epoch"):
        self._cache: dict[str, pl.DataFrame] = {}
        self._busy = False
        ids = list(corpus.sources())
        self.source = w.Dropdown(options=ids, value=source if source in ids else ids[0], description="source")
        self.metric = w.Dropdown(description="metric")
        self.eval_set = w.Dropdown(description="eval set")
        self.x = w.Dropdown(description="x axis")
        self.colour = w.Dropdown(description="colour")
        self.x_range = w.FloatRangeSlider(
            description="x range (log10)",
            step=0.05,
            readout_format=".2f",
            continuous_update=False,
            style={"description_width": "100px"},
            layout=w.Layout(width="600px"),
        )
        self.final_only = w.Checkbox(value=True, description="final checkpoints only", indent=False)
        self.log_x = w.Checkbox(value=True, description="log x", indent=False)
        self.log_y = w.Checkbox(value=False, description="log y", indent=False)
        self.info = w.HTML()
        self._on_source()
        super().__init__(export_dir=export_dir, bibtex=corpus.get_source(self.source.value).bibtex)

    @property
    def stem(self) -> str:
        return f"{self.source.value}-{self.metric.value}-vs-{self.x.value}"

    def frame(self, source: str | None = None) -> pl.DataFrame:
        sid = source or self.source.value
        if sid not in self._cache:
            self._cache[sid] = corpus.load(sid)
        return self._cache[sid]

    def _on_source(self) -> None:
        self._busy = True
        try:
            df = self.frame()
            metrics = df["metric"].unique(maintain_order=True).to_list()
            self.metric.options = metrics
            self.metric.value = "loss" if "loss" in metrics else metrics[0]
            self.eval_set.options = ["all"] + sorted(df["eval_set"].unique().to_list())
            self.eval_set.value = "all"
            axes = [a for a in AXES if a in df.columns and df[a].null_count() < df.height]
            self.x.options = axes
            self.x.value = axes[0]
            self._reset_range()
            colours = [
                c for c in COLOUR_CANDIDATES if c == "none" or (c in df.columns and df[c].null_count() < df.height)
            ]
            self.colour.options = colours
            self.colour.value = "flops" if "flops" in colours and axes[0] != "flops" else colours[0]
            src = corpus.get_source(self.source.value)
            caveats = "".join(f"<li>{html.escape(c)}</li>" for c in src.caveats)
            self.info.value = (
                f"<b>{html.escape(src.title)}</b><br>{html.escape(src.citation)}<br>licence: {src.licence} · "
                f"{src.repository}@{src.commit[:10]} · {html.escape(src.how_obtained)}<ul>{caveats}</ul>"
            )
            self.bibtex = src.bibtex
        finally:
            self._busy = False

    def _reset_range(self) -> None:
        """Span the x slider over the positive values of the chosen axis."""
        col = self.frame()[self.x.value].drop_nulls()
        col = col.filter(col > 0)
        lo, hi = (float(col.min()), float(col.max())) if col.len() else (1.0, 10.0)
        lo, hi = math.floor(math.log10(lo) * 20) / 20, math.ceil(math.log10(hi) * 20) / 20 + 0.05
        was = self._busy
        self._busy = True
        try:
            self.x_range.min, self.x_range.max = -1e9, 1e9  # widen first so the new bounds are always valid
            self.x_range.value = (lo, hi)
            self.x_range.min, self.x_range.max = lo, hi
        finally:
            self._busy = was

    def rows(self) -> pl.DataFrame:
        out = selection(self.frame(), self.metric.value, self.eval_set.value, self.x.value, self.final_only.value)
        lo, hi = self.x_range.value
        if out.height and out[self.x.value].min() > 0:
            out = out.filter(pl.col(self.x.value).is_between(10**lo, 10**hi))
        return out

    # -- the explorer ----------------------------------------------------------
    def controls(self):
        return [
            self.source,
            self.metric,
            self.eval_set,
            self.x,
            self.x_range,
            self.colour,
            self.final_only,
            self.log_x,
            self.log_y,
        ]

    def on_control(self, change=None) -> None:
        if self._busy:
            return
        owner = change.get("owner") if isinstance(change, dict) else getattr(change, "owner", None)
        if owner is self.source:
            self._on_source()
        elif owner is self.x:
            self._reset_range()
        self.update()

    def tables(self):
        return {"rows": self.rows()}

    def chart(self) -> alt.Chart:
        title = f"{self.source.value}: {self.metric.value} vs {self.x.value}"
        return scatter(
            self.rows(), self.x.value, self.colour.value, log_x=self.log_x.value, log_y=self.log_y.value, title=title
        )

    def sentence(self) -> str:
        n = self._tables["rows"].height if hasattr(self, "_tables") else self.rows().height
        return f"{n} rows of {self.source.value}: {self.metric.value} against {self.x.value}"

    @property
    def widget(self) -> w.Widget:
        controls = w.VBox(
            [
                self.source,
                self.metric,
                self.eval_set,
                self.x,
                self.x_range,
                self.colour,
                w.HBox([self.final_only, self.log_x, self.log_y]),
            ]
        )
        return w.VBox([controls, self.info, self.message, self.live.widget, self.export_button, self.export_log])
