"""Open-Athena's harmonised IsoFLOP compilation, without the points other sources already give.

The compilation repeats points the corpus holds elsewhere: its
``epochai_chinchilla`` and ``ml_scalefit`` blocks are Epoch's digitisation of
Chinchilla Figure 4 (``chinchilla_epoch``), and its ``llama_3`` block is the
Llama 3 digitisation (``llama3_isoflops``) as read and exponentiated.  Those
rows are left out and counted, each matched to printing precision against a
point of the original files (pinned in the registry), so a row is dropped
only if it is a repeat.  What remains is new: Marin's raw-log IsoFLOP runs
and Open-Athena's IsoFLOP interpolation of the (Mis)Fitting checkpoints.
Open-Athena's own quality flags become ``in_source_fit`` and ``note``.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from workbench.corpus.recipes._common import Curated, count, provenance, read_raw
from workbench.corpus.sources import Source
from workbench.errors import WorkbenchError

OA = "data/isoflops/transform/isoflops.csv"
EPOCH = "data/svg_extracted_data.csv"
LLAMA = "isoflops_points.csv"

PAPERS = {
    "ml_scalefit": (
        "arXiv:2203.15556",
        "Chinchilla IsoFLOP runs via apple/ml-scalefit data/chinchilla.csv (arXiv:2507.09404)",
    ),
    "epochai_chinchilla": ("arXiv:2203.15556", "Figure 4 as digitised by Epoch AI (arXiv:2404.10102)"),
    "llama_3": ("arXiv:2407.21783", "Figure 2 as digitised by eric-czech/llama3_isoflop_extraction"),
    "misfitting": ("arXiv:2502.18969", "IsoFLOP points interpolated by Open-Athena from data/scaling_results.csv"),
    "marin_202603": (
        "marin-scaling-ladders-2026",
        "Marin 'Scaling Ladders' W&B export (Open-Athena extract/marin_202603)",
    ),
}
CONVENTION = {
    "ml_scalefit": "total",
    "misfitting": "total",
    "marin_202603": "unknown",
    "epochai_chinchilla": "total",
    "llama_3": "unknown",
}


def build(src: Source, files: dict[str, Path]) -> Curated:
    num = {c: pl.Float64 for c in ["tokens", "params", "budget", "loss"]}
    oa = read_raw(files[OA], {**num, "outlier": pl.Boolean}, required=("source", "experiment", *num, "outlier"))
    oa = oa.with_columns(
        row=pl.int_range(pl.len(), dtype=pl.UInt32)
    )  # not with_row_index: polars 2.1 panics formatting strings after it
    epoch = read_raw(files[EPOCH], {"Model Size": pl.Float64, "loss": pl.Float64}, required=("Model Size", "loss"))
    llama = read_raw(
        files[LLAMA],
        {"training_tokens": pl.Float64, "validation_loss": pl.Float64},
        required=("training_tokens", "validation_loss"),
    )
    epoch_points = epoch.select(p_ref=pl.col("Model Size"), l_ref=pl.col("loss"))
    llama_points = llama.select(t_ref=pl.col("training_tokens"), l_ref=pl.col("validation_loss"))

    def repeats(block: pl.DataFrame, reference: pl.DataFrame, close: pl.Expr) -> pl.Series:
        """Rows of ``block`` equal to some reference row to printing precision."""
        hit = block.join(reference, how="cross").filter(close)["row"].unique()
        return block["row"].is_in(hit.implode())

    # Open-Athena rounds N to whole parameters and prints losses to 16 digits.
    same_point = ((pl.col("params") - pl.col("p_ref")).abs() <= 0.5) & (
        (pl.col("loss") - pl.col("l_ref")).abs() <= 1e-12
    )
    same_llama = (pl.col("tokens") == pl.col("t_ref")) & ((pl.col("loss") - pl.col("l_ref")).abs() <= 1e-12)
    same_exp = (pl.col("tokens") == pl.col("t_ref")) & ((pl.col("loss").log() - pl.col("l_ref")).abs() <= 1e-12)
    dropped: dict[str, int] = {}
    drop_rows: list[pl.Series] = []
    blocks = [
        (
            "epochai_chinchilla",
            None,
            epoch_points,
            same_point,
            "epochai_chinchilla rows repeating an Epoch Figure 4 point (source chinchilla_epoch)",
        ),
        (
            "ml_scalefit",
            None,
            epoch_points,
            same_point,
            "ml_scalefit rows repeating an Epoch Figure 4 point (source chinchilla_epoch)",
        ),
        (
            "llama_3",
            "raw_loss",
            llama_points,
            same_llama,
            "llama_3 raw_loss rows repeating a Llama 3 Figure 2 point (source llama3_isoflops)",
        ),
        (
            "llama_3",
            "exp_loss",
            llama_points,
            same_exp,
            "llama_3 exp_loss rows: exp() of a Llama 3 Figure 2 point (source llama3_isoflops), not a measurement",
        ),
    ]
    for source, condition, reference, close, reason in blocks:
        block = oa.filter(pl.col("source") == source)
        if condition is not None:
            block = block.filter(pl.col("condition") == condition)
        hit = repeats(block, reference, close)
        count(dropped, reason, hit.sum())
        drop_rows.append(block.filter(hit)["row"])
    gone = pl.concat(drop_rows)
    kept = oa.filter(~pl.col("row").is_in(gone.implode()))

    unknown = kept.filter(~pl.col("source").is_in(list(PAPERS)))
    if unknown.height:
        raise WorkbenchError(
            f"{files[OA]}: row {unknown['row'][0] + 1}: unknown upstream source {unknown['source'][0]!r}"
        )
    paper = pl.col("source").replace_strict({k: v[0] for k, v in PAPERS.items()})
    backing = pl.col("source").replace_strict({k: v[1] for k, v in PAPERS.items()})
    flag = pl.when(pl.col("outlier")).then(pl.format("Open-Athena QC: {}", "reason"))
    frame = kept.select(
        run_id=pl.format("{}-{}", "source", pl.col("row").cast(pl.String).str.zfill(3)),
        train_set=pl.col("dataset"),
        condition=pl.col("experiment"),
        params=pl.col("params"),
        params_convention=pl.col("source").replace_strict(CONVENTION),
        tokens=pl.col("tokens"),
        flops=pl.col("budget"),
        final=pl.when(pl.col("source") == "misfitting").then(pl.lit(None, pl.Boolean)).otherwise(pl.lit(True)),
        eval_set=pl.when(pl.col("source") == "marin_202603")
        .then(pl.lit("paloma_macro"))
        .when(pl.col("source") == "misfitting")
        .then(pl.lit("c4_val"))
        .otherwise(pl.lit("massivetext")),
        metric=pl.lit("loss"),
        value=pl.col("loss"),
        in_source_fit=~pl.col("outlier"),
        note=pl.when(pl.col("source") == "misfitting")
        .then(
            pl.concat_str(
                [pl.lit("interpolated between checkpoints by Open-Athena"), flag], separator="; ", ignore_nulls=True
            )
        )
        .otherwise(flag),
        **provenance(src, paper, backing),
    )
    return Curated(frame, dropped)
