"""Ruan et al. 2024 (observational scaling): benchmark scores of ~150 public base models.

One row per (model, benchmark) score.  Size, pretraining tokens and FLOPs
come from the main table in the source's units (billions, trillions, 1e21)
and are converted to plain counts; the emergent-capability and Open LLM
Leaderboard v2 tables only hold scores and take the axes of the same model
from the main table.  Empty cells are scores the authors did not collect, not
left-out data.  Task names of the emergent table encode the shot count
(``arithmetic_3da_2_acc`` = 2-shot accuracy).
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from workbench.corpus.recipes._common import Curated, cast_columns, provenance, read_raw
from workbench.corpus.sources import Source
from workbench.errors import WorkbenchError

PAPER = "arXiv:2405.10938"
BASE = "eval_results/base_llm_benchmark_eval.csv"
EMERGENT = "eval_results/base_llm_emergent_capability_eval.csv"
LEADERBOARD = "eval_results/base_llm_leaderboard_v2_eval.csv"
AXES = {"Model Size (B)": 1e9, "Pretraining Data Size (T)": 1e12, "FLOPs (1E21)": 1e21}
META = ["Model", "Model Family", *AXES]
EMERGENT_COLUMN = re.compile(r"^(?P<task>.+)_(?P<shots>\d+)_(?P<metric>acc|exact_match|bleu)$")
METRIC = {"acc": "accuracy", "exact_match": "exact_match", "bleu": "bleu"}


def _long(wide: pl.DataFrame, origin: str) -> pl.DataFrame:
    scores = [c for c in wide.columns if c not in META]
    typed = cast_columns(wide, origin, {c: pl.Float64 for c in scores})
    return typed.unpivot(index="Model", on=scores, variable_name="column", value_name="value").filter(
        pl.col("value").is_not_null()
    )


def build(src: Source, files: dict[str, Path]) -> Curated:
    base = read_raw(files[BASE], {c: pl.Float64 for c in AXES}, required=("Model", "Model Family", "Model Size (B)"))
    if base["Model"].is_duplicated().any():
        raise WorkbenchError(
            f"{files[BASE]}: model {base.filter(pl.col('Model').is_duplicated())['Model'][0]!r} appears twice"
        )
    axes = base.select(
        "Model",
        family=pl.col("Model Family"),
        params=pl.col("Model Size (B)") * 1e9,
        tokens=pl.col("Pretraining Data Size (T)") * 1e12,
        flops=pl.col("FLOPs (1E21)") * 1e21,
    )
    parts = []
    main = _long(base, str(files[BASE])).with_columns(
        eval_set=pl.col("column"),
        metric=pl.when(pl.col("column") == "HumanEval").then(pl.lit("pass_at_k")).otherwise(pl.lit("accuracy")),
        k=pl.when(pl.col("column") == "HumanEval").then(pl.lit(1, pl.Int64)),
        shots=pl.lit(None, pl.Int64),
        backing=pl.lit("main benchmark table (eval_results/base_llm_benchmark_eval.csv), Sec. 3"),
    )
    parts.append(main)
    emergent = pl.read_csv(files[EMERGENT], infer_schema=False)
    for column in emergent.columns[1:]:
        if not EMERGENT_COLUMN.match(column):
            raise WorkbenchError(f"{files[EMERGENT]}: column {column!r} is not <task>_<shots>_<metric>")
    parts.append(
        _long(emergent, str(files[EMERGENT])).with_columns(
            eval_set=pl.col("column").str.extract(EMERGENT_COLUMN.pattern, 1),
            metric=pl.col("column").str.extract(EMERGENT_COLUMN.pattern, 3).replace_strict(METRIC),
            k=pl.lit(None, pl.Int64),
            shots=pl.col("column").str.extract(EMERGENT_COLUMN.pattern, 2).cast(pl.Int64),
            backing=pl.lit("emergent-capability figures (eval_results/base_llm_emergent_capability_eval.csv)"),
        )
    )
    leaderboard = pl.read_csv(files[LEADERBOARD], infer_schema=False)
    parts.append(
        _long(leaderboard, str(files[LEADERBOARD])).with_columns(
            eval_set=pl.col("column"),
            metric=pl.lit("score"),
            k=pl.lit(None, pl.Int64),
            shots=pl.lit(None, pl.Int64),
            backing=pl.lit("Open LLM Leaderboard v2 scores (eval_results/base_llm_leaderboard_v2_eval.csv)"),
        )
    )
    scores = pl.concat(parts)
    orphans = scores.join(axes, on="Model", how="anti")
    if orphans.height:
        raise WorkbenchError(f"{PAPER}: model {orphans['Model'][0]!r} has scores but no row in {files[BASE]}")
    frame = scores.join(axes, on="Model", how="left", maintain_order="left").select(
        run_id=pl.col("Model"),
        family=pl.col("family"),
        params=pl.col("params"),
        params_convention=pl.lit("unknown"),
        tokens=pl.col("tokens"),
        flops=pl.col("flops"),
        final=pl.lit(True),
        eval_set=pl.col("eval_set"),
        metric=pl.col("metric"),
        value=pl.col("value"),
        k=pl.col("k"),
        shots=pl.col("shots"),
        **provenance(src, PAPER, pl.col("backing")),
    )
    return Curated(frame)
