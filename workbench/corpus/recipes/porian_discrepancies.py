"""Porian et al. 2024: IsoFLOP points of 15 Kaplan-vs-Chinchilla configurations.

Each configuration (data set, hyper-parameters, warmup, decay, parameter
counting, train or validation loss) becomes one ``condition``; its points keep
the configuration's own parameter count, whose convention is mapped to the
schema's (Kaplan's non-embedding count, the "standard" count with the output
head, or the effective count that folds in attention FLOPs).  The authors'
fitted compute-optimal point per budget is kept as ``fitted_optimal_loss`` so
an Approach-2 re-analysis can be checked against theirs.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from workbench.corpus.recipes._common import Curated, count, provenance, read_raw
from workbench.corpus.sources import Source

PAPER = "arXiv:2406.19146"
CONVENTION = {"kaplan": "non_embedding", "standard": "non_embedding_with_head", "attention": "effective_with_attention"}
TRAIN_SET = {"rw": "refinedweb", "owt2": "openwebtext2"}
KEYS = ["source_file", "dataset", "hparams", "warmup", "decay", "param_count", "loss_type"]


def _config() -> dict[str, pl.Expr]:
    return {
        "train_set": pl.col("dataset").replace_strict(TRAIN_SET),
        "condition": pl.format(
            "{} hparams={} warmup={} decay={} count={}",
            pl.col("dataset").replace_strict(TRAIN_SET),
            "hparams",
            "warmup",
            "decay",
            "param_count",
        ),
        "params_convention": pl.col("param_count").replace_strict(CONVENTION),
        "eval_set": pl.format("{}_loss", "loss_type"),
    }


def build(src: Source, files: dict[str, Path]) -> Curated:
    points = read_raw(
        files["isoflop_points.csv"],
        {"flops": pl.Float64, "n": pl.Float64, "t": pl.Float64, "loss": pl.Float64},
        required=tuple(KEYS) + ("flops", "n", "t", "loss"),
    )
    optima = read_raw(
        files["isoflop_optima.csv"],
        {"flops": pl.Float64, "n_star": pl.Float64, "t_star": pl.Float64, "loss_star": pl.Float64},
        required=tuple(KEYS) + ("flops",),
    )
    unfitted = pl.any_horizontal(pl.col("n_star", "t_star", "loss_star").is_null())
    dropped: dict[str, int] = {}
    count(
        dropped,
        "budgets whose fitted optimum is empty in the source (no fit at that budget)",
        optima.filter(unfitted).height,
    )
    optima = optima.filter(~unfitted)
    runs = points.select(
        run_id=pl.format("n{}-c{}", pl.col("n").round(0).cast(pl.Int64), pl.col("flops").cast(pl.String)),
        **_config(),
        params=pl.col("n"),
        tokens=pl.col("t"),
        flops=pl.col("flops"),
        metric=pl.lit("loss"),
        value=pl.col("loss"),
        **provenance(src, PAPER, pl.format("IsoFLOP curves (data/{})", "source_file")),
    )
    best = optima.select(
        run_id=pl.format("optimum-c{}", pl.col("flops").cast(pl.String)),
        **_config(),
        params=pl.col("n_star"),
        tokens=pl.col("t_star"),
        flops=pl.col("flops"),
        metric=pl.lit("fitted_optimal_loss"),
        value=pl.col("loss_star"),
        note=pl.lit("the authors' fitted compute-optimal point at this budget, not a training run"),
        **provenance(src, PAPER, pl.format("compute-optimal fits (data/{})", "source_file")),
    )
    return Curated(pl.concat([runs, best], how="diagonal"), dropped)
