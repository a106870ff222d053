"""Gadre et al. 2024: 104 over-trained runs, 8 validation losses and 46 downstream accuracies.

Read from the authors' raw per-run JSON records (one model record and one
evaluation record per run), not from any flattened copy, so the table can be
rebuilt from the repository at its commit.  Losses are mean next-token losses
in nats; accuracies are fractions.  The shot count of each downstream task
comes from the repository's ``eval_metadata.csv``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl

from workbench.corpus.recipes._common import Curated, provenance, read_raw
from workbench.corpus.sources import Source
from workbench.errors import WorkbenchError

PAPER = "arXiv:2403.08540"
LOSS_BACKING = "Figure 1 (left) and loss scaling figures; run record exp_data/models"
ACC_BACKING = "Figure 1 (right) and downstream figures; eval record exp_data/evals"
TRAIN_SETS = {"c4_original": "c4", "rpj": "redpajama", "rw_original": "refinedweb"}
SHAPE = re.compile(r"^d=(\d+)_l=(\d+)_h=(\d+)$")


def eval_set_name(val_data: list[str], origin: str) -> str:
    """Name an evaluation set after the shard path the record lists."""
    if len(val_data) != 1:
        raise WorkbenchError(f"{origin}: expected one val_data path per result, got {val_data!r}")
    path = val_data[0]
    if "/c4_val/" in path:
        return "c4_val"
    match = re.search(r"val_tok_mult/([^/]+)/", path)
    if not match:
        raise WorkbenchError(f"{origin}: unrecognised evaluation set path {path!r}")
    name = match.group(1)
    return "openlm_val" if name == "openlm" else name.replace("-", "_")


def _load_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise WorkbenchError(f"{path}: not readable JSON ({exc})") from None


def build(src: Source, files: dict[str, Path]) -> Curated:
    meta = read_raw(files["exp_data/eval_metadata.csv"], {"#shots": pl.Int64}, required=("Eval Task",))
    shots = dict(zip(meta["Eval Task"].to_list(), meta["#shots"].to_list()))
    rows = []
    model_paths = sorted(p for p in files if p.startswith("exp_data/models/"))
    for repo_path in model_paths:
        path = files[repo_path]
        record = _load_json(path)
        name = record["name"]
        hp = record["hyperparameters"]
        dataset, _, rest = name.partition("-")
        shape = rest.rsplit("-", 1)[0]
        m = SHAPE.match(shape)
        run = {
            "run_id": name,
            "train_set": TRAIN_SETS.get(dataset, dataset),
            "params": float(hp["params"]),
            "params_convention": "total",
            "params_total": float(hp["params"]),
            "params_non_embedding": float(hp["params_no_embed"]),
            "tokens": float(hp["tokens"]),
            "final": True,
            "width": int(m.group(1)) if m else None,
            "depth": int(m.group(2)) if m else None,
            "heads": int(m.group(3)) if m else None,
            "note": f"chinchilla_multiplier={hp['chinchilla_multiplier']}",
        }
        for result in record["results"]:
            rows.append(
                {
                    **run,
                    "eval_set": eval_set_name(result["val_data"], str(path)),
                    "metric": "loss",
                    "value": float(result["loss"]),
                    "shots": None,
                    "backing": LOSS_BACKING,
                }
            )
        eval_path = files.get(f"exp_data/evals/evaluation_{name}_heavy.json")
        if eval_path is None:
            raise WorkbenchError(f"{path}: no evaluation record evaluation_{name}_heavy.json for this run")
        icl = _load_json(eval_path)["eval_metrics"]["icl"]
        for task in sorted(icl):
            rows.append(
                {
                    **run,
                    "eval_set": task,
                    "metric": "accuracy",
                    "value": float(icl[task]),
                    "shots": shots.get(task),
                    "backing": ACC_BACKING,
                }
            )
    frame = pl.DataFrame(rows, infer_schema_length=None).with_columns(**provenance(src, PAPER, pl.col("backing")))
    return Curated(frame)
