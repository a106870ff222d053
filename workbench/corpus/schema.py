"""The corpus schema: one tidy row per measurement, the same for every paper.

One row is one number a paper reports: a metric (loss, accuracy, pass@k, ...)
of one model/run at one checkpoint on one evaluation set, with the axes it was
measured along (parameters, tokens, compute, precision, architecture) and where
it comes from (paper, figure or table, repository, commit, licence).  Keeping
metric/value long (rather than a column per metric) is what lets sixteen papers
with different evaluations share one table and one loader.

Units: ``params`` in parameters (count), ``tokens`` in tokens, ``flops`` in
floating-point operations (not PF-days), losses in nats per token unless the
metric says otherwise (``bits_per_byte``, ``loss_as_plotted``), accuracies as
fractions in [0, 1], dates as ISO ``YYYY-MM-DD``.

Parameter counting conventions (``params_convention``) are those the papers
use: ``total`` (all parameters, embeddings included), ``non_embedding``
(Kaplan et al.), ``non_embedding_with_head`` (non-embedding plus the output
head, Porian et al.'s "standard" count), ``effective_with_attention`` (Porian
et al.'s count that folds attention FLOPs into an effective size), or
``unknown``.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class Column:
    name: str
    dtype: type[pl.DataType] | pl.DataType
    unit: str
    description: str
    required: bool = False
    positive: bool = False


COLUMNS: tuple[Column, ...] = (
    # identity
    Column("source_id", pl.String, "", "corpus source this row belongs to (see datasets/sources.toml)", required=True),
    Column("run_id", pl.String, "", "model or training run within the source", required=True),
    Column("family", pl.String, "", "model family (e.g. Llama-2, Pythia) for catalogues of released models"),
    Column("organization", pl.String, "", "organisation that trained the model (catalogues)"),
    Column("date", pl.Date, "date", "publication date of the model (catalogues)"),
    Column("train_set", pl.String, "", "training data set of the run (e.g. c4, refinedweb, pile_deduped)"),
    Column(
        "condition",
        pl.String,
        "",
        "source-specific setting that groups comparable rows (a schedule, a quantisation scheme, a rating)",
    ),
    # scale axes
    Column(
        "params",
        pl.Float64,
        "parameters",
        "parameter count as the paper reports it (see params_convention)",
        positive=True,
    ),
    Column("params_convention", pl.String, "", "how params counts: one of PARAMS_CONVENTIONS (see above)"),
    Column(
        "params_total", pl.Float64, "parameters", "total parameters including embeddings, where known", positive=True
    ),
    Column(
        "params_non_embedding", pl.Float64, "parameters", "parameters excluding embeddings, where known", positive=True
    ),
    Column("tokens", pl.Float64, "tokens", "training tokens seen at this checkpoint", positive=True),
    Column(
        "samples",
        pl.Float64,
        "examples",
        "training examples seen where data is not counted in tokens (image-text pairs, problems)",
        positive=True,
    ),
    Column("flops", pl.Float64, "FLOP", "training compute at this checkpoint", positive=True),
    Column("step", pl.Int64, "steps", "optimizer step of the checkpoint"),
    Column("final", pl.Boolean, "", "true for the run's final checkpoint"),
    # measurement
    Column("eval_set", pl.String, "", "evaluation data set or benchmark", required=True),
    Column("metric", pl.String, "", "what value measures: one of METRICS (below) or a user's own name", required=True),
    Column(
        "value", pl.Float64, "per metric", "the measured value, in the unit METRICS gives for its metric", required=True
    ),
    Column("value_stderr", pl.Float64, "per metric", "standard error of value as the source reports it"),
    Column("k", pl.Int64, "samples", "k of pass@k / coverage metrics"),
    Column("shots", pl.Int64, "examples", "few-shot examples in the prompt"),
    Column(
        "in_source_fit",
        pl.Boolean,
        "",
        "false where the source held the point out of its own fit or flagged it as an outlier",
    ),
    Column("note", pl.String, "", "per-row remark from curation (e.g. the source's reason for flagging a point)"),
    # architecture
    Column("width", pl.Int64, "", "model width (d_model)", positive=True),
    Column("depth", pl.Int64, "layers", "number of layers", positive=True),
    Column("heads", pl.Int64, "", "attention heads", positive=True),
    Column(
        "unique_tokens",
        pl.Float64,
        "tokens",
        "distinct training tokens the run repeats over (data-constrained runs; tokens / unique_tokens = epochs)",
        positive=True,
    ),
    Column(
        "sparsity",
        pl.Float64,
        "",
        "fraction of the prunable weight matrices' entries that are zero at this checkpoint (sparse training)",
    ),
    Column(
        "params_nonzero",
        pl.Float64,
        "parameters",
        "non-zero non-embedding parameters at this checkpoint (sparse training)",
        positive=True,
    ),
    Column(
        "params_average",
        pl.Float64,
        "parameters",
        "non-zero non-embedding parameters averaged over the training steps so far (Jin et al. 2025)",
        positive=True,
    ),
    Column("encoder_params", pl.Float64, "parameters", "encoder parameters (encoder-decoder models)", positive=True),
    Column("decoder_params", pl.Float64, "parameters", "decoder parameters (encoder-decoder models)", positive=True),
    Column("vision_params", pl.Float64, "parameters", "image-tower parameters (vision-language models)", positive=True),
    Column("text_params", pl.Float64, "parameters", "text-tower parameters (vision-language models)", positive=True),
    # precision
    Column("precision_phase", pl.String, "", "training | qat | post_training (empty: full precision)"),
    Column("weight_bits", pl.Float64, "bits", "bits per weight", positive=True),
    Column("activation_bits", pl.Float64, "bits", "bits per activation", positive=True),
    Column("kv_bits", pl.Float64, "bits", "bits per KV-cache entry", positive=True),
    Column(
        "gradient_bits",
        pl.Float64,
        "bits",
        "bits of the backward-pass operands (gradients) in quantised training",
        positive=True,
    ),
    Column("number_format", pl.String, "", "int | fp | nvfp4 | mxfp4 | bf16 | ..."),
    Column("exponent_bits", pl.Int64, "bits", "exponent bits of a floating-point format"),
    Column("mantissa_bits", pl.Int64, "bits", "mantissa bits of a floating-point format"),
    Column("block_size", pl.Int64, "elements", "elements sharing one scale (block / group size)", positive=True),
    Column("scale_format", pl.String, "", "number format of the block scales (e4m3, e8m0, ...)"),
    # provenance
    Column("paper", pl.String, "", "arXiv id (or citation key) of the paper the number is from", required=True),
    Column("backing", pl.String, "", "the table or figure of the paper that shows it", required=True),
    Column("repository", pl.String, "", "public repository the file came from", required=True),
    Column("source_commit", pl.String, "", "commit of that repository", required=True),
    Column("licence", pl.String, "", "licence of the source repository ('none' = cite only)", required=True),
    # training set-up (rows the workbench's own proxies emit; see workbench/proxies)
    Column("seed", pl.Int64, "", "random seed of the run (initialisation and data order)"),
    Column("architecture", pl.String, "", "model architecture of the run (e.g. gpt, lstm)"),
    Column("context", pl.Int64, "tokens", "training context length", positive=True),
    Column("lr_schedule", pl.String, "", "learning-rate schedule: constant | cosine | wsd (warmup-stable-decay)"),
    Column("learning_rate", pl.Float64, "", "learning rate at this step", positive=True),
    Column(
        "lr_area",
        pl.Float64,
        "lr x steps",
        "area under the learning-rate curve up to this step, S1 = sum of lr (Tissue et al. 2024)",
    ),
    Column(
        "lr_anneal_area",
        pl.Float64,
        "lr x steps",
        "learning-rate annealing area up to this step, S2 with decay 0.999 (Tissue et al. 2024)",
    ),
    Column(
        "device",
        pl.String,
        "",
        "device a proxy run trained on, e.g. 'cuda (NVIDIA A100-SXM4-80GB)' or 'cpu'; "
        "null in a proxy row means the CPU in float32 (every shipped proxy row)",
    ),
    Column(
        "compute_dtype",
        pl.String,
        "",
        "precision of a proxy run's forward passes: 'bfloat16 autocast' or 'float32'; "
        "null in a proxy row means the CPU in float32 (every shipped proxy row)",
    ),
    Column(
        "software",
        pl.String,
        "",
        "library versions of a proxy run, e.g. 'torch 2.4.0; CUDA 12.4; cuDNN 90100; Python 3.11.9'; "
        "null in a proxy row means the CPU in float32 (every shipped proxy row)",
    ),
)

BY_NAME: dict[str, Column] = {c.name: c for c in COLUMNS}
NAMES: tuple[str, ...] = tuple(c.name for c in COLUMNS)
SCHEMA: dict[str, pl.DataType] = {c.name: c.dtype for c in COLUMNS}
AXES: tuple[str, ...] = (
    "params",
    "tokens",
    "unique_tokens",
    "samples",
    "flops",
    "step",
    "date",
    "width",
    "depth",
    "heads",
    "params_nonzero",
    "params_average",
    "sparsity",
    "encoder_params",
    "decoder_params",
    "vision_params",
    "text_params",
    "weight_bits",
    "activation_bits",
    "kv_bits",
    "gradient_bits",
    "exponent_bits",
    "mantissa_bits",
    "block_size",
)
PARAMS_CONVENTIONS: tuple[str, ...] = (
    "total",
    "non_embedding",
    "non_embedding_with_head",
    "effective_with_attention",
    "unknown",
)
# The columns that identify one measurement: no two rows of a table may share them.
KEY: tuple[str, ...] = ("source_id", "run_id", "condition", "seed", "step", "eval_set", "metric", "k", "shots")

# The metrics the curated corpus uses, with the unit of their value.
METRICS: dict[str, str] = {
    "loss": "mean next-token cross-entropy in nats (per token; per example for non-token tasks)",
    "loss_as_plotted": "a loss read off a figure whose units are not stated (see the source's caveats)",
    "bits_per_byte": "bits per byte of text",
    "perplexity": "exp(loss) as the evaluation harness reports it",
    "fitted_optimal_loss": "loss at a fitted compute-optimal point (a fit result, not a run), nats",
    "contrastive_loss": "image-text contrastive training loss (nats)",
    "caption_loss": "captioning training loss (nats per token)",
    "accuracy": "fraction correct in [0, 1]",
    "accuracy_norm": "length-normalised multiple-choice accuracy in [0, 1] (lm-evaluation-harness acc_norm)",
    "exact_match": "fraction of exact-match answers in [0, 1]",
    "score": "a benchmark's own task score as published (fraction)",
    "bleu": "BLEU on a 0-100 scale",
    "miou": "mean intersection over union in [0, 1]",
    "pass_at_k": "probability that at least one of k samples is correct, in [0, 1] (k in column k)",
    "coverage": "mean over problems of pass@k, in [0, 1] (k in column k)",
    "param_count": "parameters counted under the convention named in condition",
    "parameters": "parameter count as a catalogue records it",
    "training_compute": "training compute in FLOP as a catalogue records it",
    "dataset_size": "training-set size in the catalogue's datapoints (tokens or words for language models)",
}


def conform(df: pl.DataFrame) -> pl.DataFrame:
    """Add missing optional columns as nulls and order columns as the schema does."""
    missing = [pl.lit(None, dtype=SCHEMA[n]).alias(n) for n in NAMES if n not in df.columns]
    return df.with_columns(missing).select(NAMES)
