"""Pythia zero- and five-shot benchmark results at every evaluated checkpoint.

From the lossless long-table conversion of the 701 lm-evaluation-harness JSON
files in EleutherAI/pythia ``evals/pythia-v1``.  Kept: the eight headline
tasks with every metric and standard error.  The 57 MMLU subjects are folded
into one unweighted subject mean per checkpoint (their per-subject rows are
counted as left out), and the CrowS-Pairs bias metrics are left out (counted):
they are not scaling measurements and would triple the table.
Tokens are step x tokens-per-step (Pythia paper), empty at step 0.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from workbench.corpus.recipes import _pythia
from workbench.corpus.recipes._common import Curated, count, provenance
from workbench.corpus.sources import Source
from workbench.errors import WorkbenchError

RAW = "pythia_v1_evals_long.parquet"
METRICS = {"acc": "accuracy", "acc_norm": "accuracy_norm", "ppl": "perplexity"}
BACKING = "evaluation figures; lm-eval-harness results evals/pythia-v1"


def build(src: Source, files: dict[str, Path]) -> Curated:
    try:
        raw = pl.read_parquet(files[RAW])
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise WorkbenchError(f"{files[RAW]}: not a readable parquet file ({exc})") from None
    raw = raw.with_columns(pl.col(c).cast(pl.String) for c in ("model", "shots_dir", "task", "metric"))
    dropped: dict[str, int] = {}
    task = pl.col("task")
    crows = task.str.starts_with("crows_pairs")
    mmlu = task.str.starts_with("hendrycksTest-")
    count(dropped, "CrowS-Pairs bias rows (not scaling measurements)", raw.filter(crows).height)
    subjects = raw.filter(mmlu & (pl.col("metric") == "acc"))
    count(dropped, "MMLU per-subject acc rows, folded into mmlu_subject_mean", subjects.height)
    count(dropped, "MMLU per-subject acc_norm rows", raw.filter(mmlu & (pl.col("metric") != "acc")).height)
    headline = raw.filter(~crows & ~mmlu)
    unknown = headline.filter(~pl.col("metric").is_in(list(METRICS)))
    if unknown.height:
        raise WorkbenchError(
            f"{files[RAW]}: unexpected metric {unknown['metric'][0]!r} for task {unknown['task'][0]!r}"
        )
    mean = subjects.group_by("model", "shots_dir", "step", "num_fewshot", maintain_order=True).agg(
        value=pl.col("value").mean(), n=pl.len()
    )
    if (mean["n"] != 57).any():
        bad = mean.filter(pl.col("n") != 57).row(0, named=True)
        raise WorkbenchError(
            f"{files[RAW]}: {bad['model']} step {bad['step']} has {bad['n']} MMLU subjects, expected 57"
        )
    rows = pl.concat(
        [
            headline.select(
                "model",
                "step",
                "num_fewshot",
                "task",
                metric=pl.col("metric").replace_strict(METRICS),
                value="value",
                stderr="stderr",
                note=pl.lit(None, pl.String),
            ),
            mean.select(
                "model",
                "step",
                "num_fewshot",
                task=pl.lit("mmlu_subject_mean"),
                metric=pl.lit("accuracy"),
                value="value",
                stderr=pl.lit(None, pl.Float64),
                note=pl.lit(
                    "unweighted mean of the 57 MMLU subject accuracies (not the official sample-weighted score)"
                ),
            ),
        ]
    )
    models = rows["model"].unique().sort().to_list()
    info = {m: _pythia.size_of(m, str(files[RAW])) for m in models}
    attr = lambda i: pl.col("model").replace_strict({m: _pythia.SIZES[s][i] for m, (s, _) in info.items()})  # noqa: E731
    per_step = pl.col("model").replace_strict(
        {m: _pythia.TOKENS_PER_STEP.get(v, _pythia.TOKENS_PER_STEP[""]) for m, (_, v) in info.items()}
    )
    tokens = (pl.col("step") * per_step).cast(pl.Float64)
    frame = rows.select(
        run_id=pl.col("model"),
        train_set=pl.when(pl.col("model").str.contains("-deduped"))
        .then(pl.lit("pile_deduped"))
        .otherwise(pl.lit("pile")),
        condition=pl.when(pl.col("model").str.ends_with("-bf16"))
        .then(pl.lit("bf16 training"))
        .when(pl.col("model").str.contains("MtokBS"))
        .then(pl.format("batch {} tokens", per_step)),
        params=attr(0).cast(pl.Float64),
        params_convention=pl.lit("total"),
        params_total=attr(0).cast(pl.Float64),
        params_non_embedding=attr(1).cast(pl.Float64),
        tokens=pl.when(pl.col("step") > 0).then(tokens),
        step=pl.col("step"),
        final=tokens == float(_pythia.FINAL_TOKENS),
        eval_set=pl.col("task"),
        metric=pl.col("metric"),
        value=pl.col("value"),
        value_stderr=pl.col("stderr"),
        shots=pl.col("num_fewshot"),
        note=pl.col("note"),
        depth=attr(2),
        width=attr(3),
        heads=attr(4),
        **provenance(src, _pythia.PAPER, BACKING),
    ).sort("run_id", "step", "shots", "eval_set", "metric")
    return Curated(frame, dropped)
