"""The 50 Chinchilla model configurations (Hoffmann et al. 2022, Table A9).

Each configuration's parameter count is given once as the paper reports it
and once per counting convention recomputed by Schaeffer et al. (2025), so the
workbench can show how the convention moves N (and fitted exponents).  Rows
carry ``metric = "param_count"``; the architecture goes in width, depth and
heads, the rest of the shape in ``note``.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from workbench.corpus.recipes._common import Curated, provenance, read_raw
from workbench.corpus.sources import Source

RAW = "data/chinchilla_model_parameters.csv"

REPORTED = ("arXiv:2203.15556", "Table A9")
RECOMPUTED = ("arXiv:2509.23963", "recomputed parameter counts (data/chinchilla_model_parameters.csv)")
# column of the raw table -> (condition name, params convention, (paper, backing))
CONVENTIONS = {
    "Reported Parameters (M)": ("reported", "unknown", REPORTED),
    "Tied (Un)Embed, No Gating": ("tied_embedding_no_gating", "total", RECOMPUTED),
    "Untied (Un)Embed, No Gating": ("untied_embedding_no_gating", "total", RECOMPUTED),
    "Untied (Un)Embed, Gating": ("untied_embedding_gating", "total", RECOMPUTED),
    "Untied (Un)Embed, Gating, Shared KV": ("untied_embedding_gating_shared_kv", "total", RECOMPUTED),
    "Tied (Un)Embed, No Gating, Best Fit Attn Params Prefactor": (
        "tied_embedding_best_fit_attention",
        "total",
        RECOMPUTED,
    ),
}


def build(src: Source, files: dict[str, Path]) -> Curated:
    ints = ["d_model", "ffw_size", "kv_size", "n_heads", "n_layers", "Vocab Size"]
    raw = read_raw(
        files[RAW], {**{c: pl.Int64 for c in ints}, **{c: pl.Float64 for c in CONVENTIONS}}, required=tuple(ints)
    )
    raw = raw.with_columns(cfg=pl.int_range(pl.len(), dtype=pl.UInt32))
    parts = []
    for column, (name, convention, (paper, backing)) in CONVENTIONS.items():
        count = (pl.col(column) * 1e6).round(0)
        parts.append(
            raw.select(
                run_id=pl.format(
                    "cfg{}-d{}-l{}-h{}", pl.col("cfg").cast(pl.String).str.zfill(2), "d_model", "n_layers", "n_heads"
                ),
                condition=pl.lit(name),
                params=count,
                params_convention=pl.lit(convention),
                params_total=count if convention == "total" else pl.lit(None, pl.Float64),
                eval_set=pl.lit("model_config"),
                metric=pl.lit("param_count"),
                value=count,
                note=pl.format(
                    "ffw_size={} kv_size={} vocab={}; count in millions as tabulated",
                    "ffw_size",
                    "kv_size",
                    "Vocab Size",
                ),
                width=pl.col("d_model"),
                depth=pl.col("n_layers"),
                heads=pl.col("n_heads"),
                **provenance(src, paper, backing),
            )
        )
    return Curated(pl.concat(parts).sort("run_id", "condition", maintain_order=True))
