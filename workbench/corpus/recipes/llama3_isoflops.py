"""Llama 3 IsoFLOP curves (Figure 2), digitised from the figure's SVG by a third party.

The figure gives budget, tokens and a "validation loss" whose units are not
stated (0.7-0.95 is low for nats per token), so the metric is
``loss_as_plotted`` rather than ``loss``.  Model size is not in the figure:
params = C / (6 D), the usual reconstruction, with convention ``unknown``.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from workbench.corpus.recipes._common import Curated, provenance, read_raw
from workbench.corpus.sources import Source


def build(src: Source, files: dict[str, Path]) -> Curated:
    cols = ["compute_budget", "training_tokens", "validation_loss"]
    raw = read_raw(files["isoflops_points.csv"], {c: pl.Float64 for c in cols}, required=tuple(cols))
    frame = raw.select(
        run_id=pl.format("fig2-{}", pl.int_range(pl.len()).cast(pl.String).str.zfill(3)),
        params=pl.col("compute_budget") / (6.0 * pl.col("training_tokens")),
        params_convention=pl.lit("unknown"),
        tokens=pl.col("training_tokens"),
        flops=pl.col("compute_budget"),
        final=pl.lit(True),
        eval_set=pl.lit("llama3_validation"),
        metric=pl.lit("loss_as_plotted"),
        value=pl.col("validation_loss"),
        **provenance(src, "arXiv:2407.21783", "Figure 2 (digitised, eric-czech/llama3_isoflop_extraction)"),
    )
    return Curated(frame)
