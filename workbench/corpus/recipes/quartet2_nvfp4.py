"""Quartet II (Panferov et al. 2026): NVFP4 pre-training runs against a BF16 baseline.

The export groups runs by experiment; the group says which passes are
quantised (all of them, forward only, or backward only), and the settings
that vary inside a group are spelled out in ``condition`` so that rows of
one scheme can be fitted together.  Precision columns describe the forward
weights and activations (``weight_bits``/``activation_bits``) and the
backward-pass operands (``gradient_bits``).  Backward formats follow the
record's group size and scale type (16 with e4m3 scales is NVFP4, 32 with
e8m0 is MXFP4).  A record that repeats another of its group field for field,
loss included, is the same run exported twice and is left out (counted);
repeated configurations with different losses are kept as separate runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from workbench.corpus.recipes._common import Curated, count, provenance
from workbench.corpus.sources import Source
from workbench.errors import WorkbenchError

RAW = "for_plots/runs.json"
MEASURED = {"Nstr", "N", "final_loss", "D", "D/N", "bops"}
FULL = {"quartetv2", "nvidia", "tetrajetv2"}
FORWARD = {"forward_main", "forward_quartet"}
BACKWARD = {"backward_main", "backward_quartet", "bnrq", "orig_albert_tseng", "fixed_albert_tseng"}
NVFP4 = {"number_format": "nvfp4", "block_size": 16, "scale_format": "e4m3", "exponent_bits": 2, "mantissa_bits": 1}
BF16 = {"number_format": "bf16", "block_size": None, "scale_format": None, "exponent_bits": 8, "mantissa_bits": 7}


def _backward_format(run: dict) -> dict:
    group, scale = run.get("bgroup_dim"), run.get("bscale_dtype")
    if (group, scale) == (16, "e4m3"):
        return NVFP4
    if (group, scale) == (32, "e8m0"):
        return {
            "number_format": "mxfp4",
            "block_size": 32,
            "scale_format": "e8m0",
            "exponent_bits": 2,
            "mantissa_bits": 1,
        }
    return {"number_format": "fp4", "block_size": group, "scale_format": scale, "exponent_bits": 2, "mantissa_bits": 1}


def _precision(group: str, run: dict) -> dict:
    if group == "baseline":
        return {**BF16, "weight_bits": 16.0, "activation_bits": 16.0, "gradient_bits": 16.0}
    if group in FULL:
        return {**NVFP4, "weight_bits": 4.0, "activation_bits": 4.0, "gradient_bits": 4.0}
    if group in FORWARD:
        return {**NVFP4, "weight_bits": 4.0, "activation_bits": 4.0, "gradient_bits": 16.0}
    if group in BACKWARD:
        return {**_backward_format(run), "weight_bits": 16.0, "activation_bits": 16.0, "gradient_bits": 4.0}
    raise WorkbenchError(f"{RAW}: unknown experiment group {group!r}; its quantised passes are not known")


def build(src: Source, files: dict[str, Path]) -> Curated:
    try:
        groups = json.loads(files[RAW].read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise WorkbenchError(f"{files[RAW]}: not readable JSON ({exc})") from None
    rows, dropped = [], {}
    for group, runs in groups.items():
        settings = [k for k in runs[0] if k not in MEASURED]
        varying = [k for k in settings if len({json.dumps(r.get(k)) for r in runs}) > 1]
        seen = set()
        for i, run in enumerate(runs):
            fingerprint = json.dumps(run, sort_keys=True)
            if fingerprint in seen:
                count(
                    dropped,
                    "records repeating another record of the same group field for field (run exported twice)",
                    1,
                )
                continue
            seen.add(fingerprint)
            rows.append(
                {
                    "run_id": f"{group}-{i:03d}",
                    "train_set": "c4",
                    "condition": " ".join([group, *(f"{k}={run.get(k)}" for k in varying)]),
                    "params": float(run["N"]),
                    "params_convention": "non_embedding",
                    "params_non_embedding": float(run["N"]),
                    "tokens": float(run["D"]),
                    "final": True,
                    "eval_set": "c4_val",
                    "metric": "loss",
                    "value": float(run["final_loss"]),
                    "precision_phase": "training",
                    **_precision(group, run),
                }
            )
    frame = pl.DataFrame(rows, infer_schema_length=None).with_columns(
        **provenance(src, "arXiv:2601.22813", "scaling figures (for_plots/runs.json)")
    )
    return Curated(frame, dropped)
