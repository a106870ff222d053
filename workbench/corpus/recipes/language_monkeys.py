"""Repeated sampling of Pythia models on MATH and GSM8K (Brown et al. 2024; Schaeffer et al. 2025).

The repository holds per-problem pass@k estimates (133,504 rows).  Kept:
coverage per model, benchmark and k (the mean of the per-problem pass@k over
problems, as plotted in Brown et al.'s coverage curves) and each problem's
pass@1 (the single-attempt success probability whose distribution Schaeffer
et al. use to explain the power law in k).  The per-problem rows for k > 1 are
folded into coverage and counted as left out.  The two files are kept apart
as conditions: ``processed`` (GSM8K and MATH, samples per problem vary) and
``original`` (MATH, 10,000 samples per problem).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from workbench.corpus.recipes import _pythia
from workbench.corpus.recipes._common import Curated, cast_columns, count, provenance
from workbench.corpus.sources import Source
from workbench.errors import WorkbenchError

FILES = {
    "processed": ("data/processed_data/large_language_monkeys_pass_at_k.parquet", "Num. Samples"),
    "original": ("data/processed_data/large_language_monkeys_original_pass_at_k.parquet", "Num. Samples Total"),
}
PAPER = "arXiv:2407.21787"


def _read(path: Path, samples: str) -> pl.DataFrame:
    try:
        raw = pl.read_parquet(path)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise WorkbenchError(f"{path}: not a readable parquet file ({exc})") from None
    if "Level" not in raw.columns:
        raw = raw.with_columns(Level=pl.lit(None, pl.String))
    raw = cast_columns(
        raw,
        str(path),
        {"Score": pl.Float64, "Scaling Parameter": pl.Int64, "Problem Idx": pl.Int64, samples: pl.Int64},
        required=("Model", "Benchmark", "Problem Idx", "Scaling Parameter", "Score", samples),
    )
    return raw.rename({samples: "samples"})


def build(src: Source, files: dict[str, Path]) -> Curated:
    parts, dropped = [], {}
    for condition, (repo_path, samples) in FILES.items():
        raw = _read(files[repo_path], samples)
        backing = f"coverage curves; per-problem pass@k of Schaeffer et al. 2025 ({Path(repo_path).name})"
        coverage = (
            raw.group_by("Model", "Benchmark", "Scaling Parameter", maintain_order=True)
            .agg(value=pl.col("Score").mean(), problems=pl.len())
            .select(
                "Model",
                "Benchmark",
                k="Scaling Parameter",
                value="value",
                metric=pl.lit("coverage"),
                eval_set=pl.col("Benchmark").str.to_lowercase(),
                note=pl.format("mean pass@k over {} problems (curation)", "problems"),
            )
        )
        single = raw.filter(pl.col("Scaling Parameter") == 1).select(
            "Model",
            "Benchmark",
            k=pl.col("Scaling Parameter"),
            value=pl.col("Score"),
            metric=pl.lit("pass_at_k"),
            eval_set=pl.format("{}/problem-{}", pl.col("Benchmark").str.to_lowercase(), "Problem Idx"),
            note=pl.concat_str(
                [pl.format("{} samples", "samples"), pl.col("Level")], separator="; ", ignore_nulls=True
            ),
        )
        count(dropped, "per-problem pass@k rows with k > 1, folded into per-model coverage", raw.height - single.height)
        parts.append(pl.concat([coverage, single]).with_columns(condition=pl.lit(condition), backing=pl.lit(backing)))
    rows = pl.concat(parts)
    models = {m: _pythia.size_of(m, "language monkeys tables") for m in rows["Model"].unique().to_list()}
    size = lambda i: pl.col("Model").replace_strict({m: _pythia.SIZES[s][i] for m, (s, _) in models.items()})  # noqa: E731
    frame = rows.select(
        run_id=pl.col("Model").replace_strict({m: f"pythia-{s}" for m, (s, _) in models.items()}),
        condition=pl.col("condition"),
        params=size(0).cast(pl.Float64),
        params_convention=pl.lit("total"),
        params_total=size(0).cast(pl.Float64),
        params_non_embedding=size(1).cast(pl.Float64),
        eval_set=pl.col("eval_set"),
        metric=pl.col("metric"),
        value=pl.col("value"),
        k=pl.col("k"),
        note=pl.col("note"),
        depth=size(2),
        width=size(3),
        heads=size(4),
        **provenance(src, PAPER, pl.col("backing")),
    ).sort("condition", "run_id", "metric", "eval_set", "k")
    return Curated(frame, dropped)
