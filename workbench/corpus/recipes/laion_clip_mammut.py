"""Nezhurina et al. 2025: CLIP and MaMMUT trained on DataComp at 11 sample scales, ADE20K transfer.

Only the segmentation subset of the authors' results is public in the
repository (the main zero-shot table could not be obtained), so this source
holds, per training run, the ADE20K mean IoU and the end-of-training
contrastive (and, for MaMMUT, captioning) loss.  Data is counted in
image-text pairs seen (``samples``), compute in FLOPs (the table's GFLOPs x
1e9), parameters split into image and text towers.  The table's
``acc1``/``acc5``/``mean_per_class_recall`` columns are not kept: their
evaluation file names point to ImageNet zero-shot classification while the
rows are labelled ADE20K, so what they measure is ambiguous.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from workbench.corpus.recipes._common import Curated, cast_columns, provenance
from workbench.corpus.sources import Source
from workbench.errors import WorkbenchError

RAW = "scaling_laws/data/segmentation_results.parquet"
MEASURES = {
    "miou": ("ade20k", "miou", "segmentation-transfer figure (scripts/fig8_segmentation.sh)"),
    "train_contrastive_loss": ("train", "contrastive_loss", "training logs (segmentation_results.parquet)"),
    "train_caption_loss": ("train", "caption_loss", "training logs (segmentation_results.parquet)"),
}


def build(src: Source, files: dict[str, Path]) -> Curated:
    try:
        raw = pl.read_parquet(files[RAW])
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise WorkbenchError(f"{files[RAW]}: not a readable parquet file ({exc})") from None
    floats = ["model_mparams", "model_image_mparams", "model_text_mparams", "gflops", "samples_seen", *MEASURES]
    raw = cast_columns(
        raw,
        str(files[RAW]),
        {**{c: pl.Float64 for c in floats}, "steps": pl.Int64, "epoch": pl.Int64, "total_epochs": pl.Int64},
        required=("name", "namespace", "pretrain_dataset", "model_mparams", "gflops", "samples_seen", "miou"),
    )
    parts = []
    for column, (eval_set, metric, backing) in MEASURES.items():
        parts.append(
            raw.filter(pl.col(column).is_not_null()).select(
                run_id=pl.col("name"),
                train_set=pl.col("pretrain_dataset"),
                condition=pl.col("namespace"),
                params=(pl.col("model_mparams") * 1e6).round(0),
                params_convention=pl.lit("total"),
                params_total=(pl.col("model_mparams") * 1e6).round(0),
                samples=pl.col("samples_seen"),
                flops=pl.col("gflops") * 1e9,
                step=pl.col("steps"),
                final=pl.col("epoch") == pl.col("total_epochs"),
                eval_set=pl.lit(eval_set),
                metric=pl.lit(metric),
                value=pl.col(column),
                vision_params=(pl.col("model_image_mparams") * 1e6).round(0),
                text_params=(pl.col("model_text_mparams") * 1e6).round(0),
                note=pl.format("{} {}", "namespace", "model_simple"),
                **provenance(src, "arXiv:2506.04598", backing),
            )
        )
    return Curated(pl.concat(parts).sort("run_id", "metric"))
