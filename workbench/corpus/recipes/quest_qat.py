"""QuEST (Panferov et al. 2025): final C4 validation loss of 104 quantisation-aware training runs.

Weight and activation bit widths come from the run export, with one fix: the
four ``HalfHadamardFP4TrustQuantizer`` runs are labelled 16/16 bits because
that quantizer takes no ``bits`` option, but they train with a 4-bit
floating-point grid (the quantizer's levels are the E2M1 grid, scaled), so
they are recorded as 4-bit ``fp`` with 2 exponent and 1 mantissa bits and a
note.  Integer quantizers (Trust/Clip, with or without Hadamard rotation)
are ``int``; unquantised runs are ``bf16``.  N is non-embedding.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from workbench.corpus.recipes._common import Curated, provenance
from workbench.corpus.sources import Source
from workbench.errors import WorkbenchError

RAW = "for_plots/runs_for_scaling.json"
FP4 = "HalfHadamardFP4TrustQuantizer"


def _format(quantizer: str, bits: int) -> tuple[str, int | None, int | None]:
    if quantizer == FP4:
        return "fp", 2, 1
    if quantizer == "NoQuantizer":
        return "bf16", 8, 7
    return "int", None, None


def build(src: Source, files: dict[str, Path]) -> Curated:
    try:
        runs = json.loads(files[RAW].read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise WorkbenchError(f"{files[RAW]}: not readable JSON ({exc})") from None
    rows = []
    for i, run in enumerate(runs):
        args = run["args"]
        wq, aq = run["w_quant"], run["a_quant"]
        w_bits, a_bits = run["w_bits"], run["a_bits"]
        note = []
        if FP4 in (wq, aq):
            if (w_bits, a_bits) != (16, 16):
                raise WorkbenchError(
                    f"{files[RAW]}: record {i}: FP4 run with bits {w_bits}/{a_bits}; the FP4 fix expects the 16/16 "
                    "mislabel"
                )
            w_bits = a_bits = 4
            note.append("FP4 (E2M1 grid) run labelled 16/16 bits in the export; recorded as 4-bit")
        if "FourEight" in wq:
            note.append("weights also 2:4 sparse (FourEight quantizer)")
        quantised = not (wq == "NoQuantizer" and aq == "NoQuantizer")
        fmt, exp_bits, man_bits = _format(wq if wq != "NoQuantizer" else aq, w_bits)
        rows.append(
            {
                "run_id": f"quest-{i:03d}",
                "train_set": str(args.get("dataset", "")) or None,
                "condition": f"w={wq} a={aq}"
                + (f" clip_scale={run['clip_scale']}" if run.get("clip_scale") is not None else ""),
                "params": float(run["non_embedding_parameters"]),
                "params_convention": "non_embedding",
                "params_non_embedding": float(run["non_embedding_parameters"]),
                "tokens": float(run["tokens"]),
                "step": int(args["iterations"]),
                "final": True,
                "eval_set": "c4_val",
                "metric": "loss",
                "value": float(run["loss"]),
                "note": "; ".join(note) or None,
                "width": int(args["n_embd"]),
                "depth": int(args["n_layer"]),
                "heads": int(args["n_head"]),
                "precision_phase": "qat" if quantised else "training",
                "weight_bits": float(w_bits),
                "activation_bits": float(a_bits),
                "number_format": fmt,
                "exponent_bits": exp_bits,
                "mantissa_bits": man_bits,
            }
        )
    frame = pl.DataFrame(rows, infer_schema_length=None).with_columns(
        **provenance(src, "arXiv:2502.05003", "scaling-law figures (for_plots/runs_for_scaling.json)")
    )
    return Curated(frame)
