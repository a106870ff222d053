"""Chinchilla Figure 4 runs as digitised by Epoch AI (Besiroglu et al. 2024).

Kept exactly as first curated (the committed table is byte-stable): one row
per plotted run, tokens derived as C / (6 N) as in Epoch's notebook.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from workbench.corpus.recipes._common import Curated, provenance
from workbench.corpus.sources import Source


def build(src: Source, files: dict[str, Path]) -> Curated:
    raw = pl.read_csv(files["data/svg_extracted_data.csv"])
    frame = raw.select(
        run_id=pl.format("fig4-{}", pl.int_range(pl.len()).cast(pl.String).str.zfill(3)),
        params=pl.col("Model Size").cast(pl.Float64),
        params_convention=pl.lit("total"),
        params_total=pl.col("Model Size").cast(pl.Float64),
        tokens=pl.col("Training FLOP") / (6.0 * pl.col("Model Size")),
        flops=pl.col("Training FLOP").cast(pl.Float64),
        final=pl.lit(True),
        eval_set=pl.lit("massivetext"),
        metric=pl.lit("loss"),
        value=pl.col("loss").cast(pl.Float64),
        **provenance(src, "arXiv:2203.15556", "Figure 4 (digitised by Besiroglu et al. 2024, arXiv:2404.10102)"),
    )
    return Curated(frame)
