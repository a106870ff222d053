"""Broken Neural Scaling Laws: 4-digit addition test loss against training-set size (17 points).

The repository has no data file; the 17 numbers sit in a fitting script and
were parsed out of it.  The curve is flat and then drops sharply, the
compact example of a break a single power law cannot follow.  The authors fit
the first 14 points and score the extrapolation on the last 3, recorded in
``in_source_fit``.  Data is counted in training examples (``samples``).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from workbench.corpus.recipes._common import Curated, provenance, read_raw
from workbench.corpus.sources import Source

RAW = "four_digit_addition_test_loss.csv"


def build(src: Source, files: dict[str, Path]) -> Curated:
    raw = read_raw(
        files[RAW],
        {"training_dataset_size": pl.Float64, "test_cross_entropy": pl.Float64, "used_for_fit": pl.Boolean},
        required=("training_dataset_size", "test_cross_entropy", "used_for_fit"),
    )
    frame = raw.select(
        run_id=pl.format("n{}", pl.col("training_dataset_size").cast(pl.Int64)),
        samples=pl.col("training_dataset_size"),
        final=pl.lit(True),
        eval_set=pl.lit("4digit_addition_test"),
        metric=pl.lit("loss"),
        value=pl.col("test_cross_entropy"),
        in_source_fit=pl.col("used_for_fit"),
        **provenance(
            src,
            "arXiv:2210.14891",
            "Figure 4 (left); arrays in fit_bnsl_and_extrapolate__4_digit_addition__dataset_size_x-axis.py",
        ),
    )
    return Curated(frame)
