"""Epoch AI's database of notable models: parameters, training compute and data of released language models.

Not a loss data set: it is the backdrop for frontier trends (compute against
date, parameters against data, tokens per parameter).  Each number Epoch
records is one row (``parameters``, ``training_compute``, ``dataset_size``),
and every row of a model also carries the model's known axes (params, flops,
date, organisation), so one metric filter gives one row per model.  Epoch's
dataset size is in "datapoints", which for language models are mostly tokens
but sometimes words, so it stays a value and is not put in ``tokens``.
Epoch's confidence rating is the ``condition``; the model's reference link is
the ``note``.  Only Language-domain models are kept (others counted).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from workbench.corpus.recipes._common import Curated, count, provenance, read_raw
from workbench.corpus.sources import Source

RAW = "data/All ML Systems - full view.csv"
QUANTITIES = {
    "Parameters": "parameters",
    "Training compute (FLOP)": "training_compute",
    "Training dataset size (datapoints)": "dataset_size",
}


def build(src: Source, files: dict[str, Path]) -> Curated:
    raw = read_raw(
        files[RAW],
        {**{c: pl.Float64 for c in QUANTITIES}, "Publication date": pl.Date},
        required=("Model", "Publication date"),
    )
    dropped: dict[str, int] = {}
    language = (
        pl.col("Domain").fill_null("").str.split(",").list.eval(pl.element().str.strip_chars() == "Language").list.any()
    )
    count(dropped, "models outside the Language domain", raw.filter(~language).height)
    lang = raw.filter(language)
    empty = pl.all_horizontal(pl.col(list(QUANTITIES)).is_null())
    count(dropped, "language models with no parameters, compute or dataset size", lang.filter(empty).height)
    lang = lang.filter(~empty)
    zero = pl.col("Training dataset size (datapoints)") <= 0
    count(dropped, "dataset sizes recorded as 0", lang.filter(zero.fill_null(False)).height)
    lang = lang.with_columns(
        pl.when(~zero.fill_null(False))
        .then(pl.col("Training dataset size (datapoints)"))
        .alias("Training dataset size (datapoints)")
    )
    link = pl.col("Link").str.extract(r"(https?://[^\s,]+)", 1)
    parts = []
    for column, metric in QUANTITIES.items():
        parts.append(
            lang.filter(pl.col(column).is_not_null()).select(
                run_id=pl.col("Model"),
                organization=pl.col("Organization"),
                date=pl.col("Publication date"),
                condition=pl.format("confidence: {}", pl.col("Confidence").fill_null("none given")),
                params=pl.col("Parameters"),
                params_convention=pl.lit("unknown"),
                flops=pl.col("Training compute (FLOP)"),
                eval_set=pl.lit("catalogue"),
                metric=pl.lit(metric),
                value=pl.col(column),
                note=pl.when(link.is_not_null()).then(pl.format("reference: {}", link)),
            )
        )
    frame = (
        pl.concat(parts)
        .sort("date", "run_id", "metric")
        .with_columns(
            **provenance(
                src,
                "epoch-ai-models-2025",
                "Epoch AI 'AI Models' database export (data/All ML Systems - full view.csv)",
            )
        )
    )
    return Curated(frame, dropped)
