"""Li et al. 2025 ((Mis)Fitting): every evaluated checkpoint of 11 dense model sizes.

Runs are not labelled in the raw table, so a run is a maximal block of
consecutive rows with the same model, sweep, run length, peak learning rate
and epoch count whose step keeps increasing; a configuration that was run
more than once gets ``-r2``, ``-r3`` ... suffixes in file order.  Two blocks
that repeat an earlier block value for value are the same log exported twice
and are left out (counted).  ``final`` marks the run's last step
(``portion_steps_elapsed == 1``): intermediate checkpoints of a decaying
schedule are not equivalent to finished runs, which is what the paper studies.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from workbench.corpus.recipes._common import Curated, count, provenance, read_raw
from workbench.corpus.sources import Source

PAPER = "arXiv:2502.18969"
BACKING = "scaling analyses (data/scaling_results.csv)"
CONFIG = ["model", "sweep", "total_steps", "peak_lr", "total_epochs"]
VALUES = ["loss", "N", "N_no_emb", "D", "C", "current_steps", "portion_steps_elapsed"]


def build(src: Source, files: dict[str, Path]) -> Curated:
    numeric = {c: pl.Float64 for c in ["loss", "N", "N_no_emb", "D", "C", "portion_steps_elapsed"]}
    raw = read_raw(
        files["data/scaling_results.csv"],
        {**numeric, "current_steps": pl.Int64, "total_steps": pl.Int64},
        required=tuple(CONFIG) + tuple(VALUES),
    )
    changed = pl.any_horizontal([pl.col(c) != pl.col(c).shift(1) for c in CONFIG]).fill_null(True)
    restart = pl.col("current_steps") <= pl.col("current_steps").shift(1)
    raw = raw.with_columns(block=(changed | restart.fill_null(True)).cum_sum())
    # Identical repeated blocks: the same log exported twice.
    signature = (
        raw.group_by("block", maintain_order=True)
        .agg(pl.first(*CONFIG), pl.struct(VALUES).alias("values"))
        .with_columns(copy=pl.struct([*CONFIG, "values"]).is_first_distinct().not_())
    )
    copies = signature.filter(pl.col("copy"))["block"]
    dropped: dict[str, int] = {}
    count(
        dropped,
        "checkpoint rows of a run exported twice (identical block of rows)",
        raw["block"].is_in(copies.implode()).sum(),
    )
    raw = raw.filter(~pl.col("block").is_in(copies.implode()))
    repeat = (
        raw.group_by("block", maintain_order=True)
        .agg(pl.first(*CONFIG))
        .with_columns(repeat=pl.int_range(pl.len()).over(CONFIG) + 1)
        .select("block", "repeat")
    )
    raw = raw.join(repeat, on="block", how="left", maintain_order="left")
    run_id = pl.format("{}/{}/steps{}/lr{}/ep{}", *CONFIG)
    frame = raw.select(
        run_id=pl.when(pl.col("repeat") > 1).then(pl.format("{}-r{}", run_id, "repeat")).otherwise(run_id),
        condition=pl.format("peak_lr={}", "peak_lr"),
        params=pl.col("N"),
        params_convention=pl.lit("total"),
        params_total=pl.col("N"),
        params_non_embedding=pl.col("N_no_emb"),
        tokens=pl.col("D"),
        flops=pl.col("C"),
        step=pl.col("current_steps"),
        final=pl.col("portion_steps_elapsed") == 1.0,
        eval_set=pl.lit("c4_val"),
        metric=pl.lit("loss"),
        value=pl.col("loss"),
        **provenance(src, PAPER, BACKING),
    )
    return Curated(frame, dropped)
