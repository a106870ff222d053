"""The ``sparse`` preset: sparse and dense training on one curve (Jin et al. 2025) made on the proxies.

Dense GPTs at several widths, and GPTs of the larger widths pruned during
training (gradual magnitude pruning from 25 % to 75 % of the steps,
:mod:`workbench.proxies.sparsity`) to 50 % and 80 % sparsity, all on the same
tokens of the ``zipf`` chain.  Jin et al. 2025 (arXiv:2501.12486) claim that
the *average* non-zero parameter count over training puts sparse runs on the
dense runs' curve; the final (non-zero) count puts them below it (a sparse
model beats a dense one of its final size), the dense count of the unpruned
architecture above it.

What is fitted, by the one engine: ``power_offset_params`` on the dense runs;
each sparse run's loss is then predicted at its average, final and dense
counts.  A joint fit of all runs in the average count tells whether one law
holds them together.  "How much of a dense parameter is a sparse one worth"
is read off the dense fit: the dense size that reaches the sparse run's loss,
divided by the sparse run's final non-zero count.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from workbench.proxies.config import RunConfig

CORPUS = "zipf"
TOKENS = 1_000_000
DENSE_WIDTHS = (32, 48, 64, 96, 128, 192)
SPARSE_WIDTHS = (64, 96, 128, 192)
SPARSITIES = (0.5, 0.8)
SEED = 0  # the shipped sweep; the targets were set on a pilot (seed 1, a subset of this grid)
LAW = "power_offset_params"
COUNTS = {"average": "params_average", "final": "params_nonzero", "dense": "params"}

# Pre-registered targets (datasets/proxies/README.md, written before the seed-0 sweep; pilot values there):
MAX_AVERAGE_ERROR = 0.0  # set below, after the pilot


def configs(seed: int = SEED) -> list[RunConfig]:
    runs = [RunConfig(corpus=CORPUS, width=w, depth=2, tokens=TOKENS, seed=seed) for w in DENSE_WIDTHS]
    runs += [
        RunConfig(corpus=CORPUS, width=w, depth=2, tokens=TOKENS, seed=seed, sparsity=s)
        for s in SPARSITIES
        for w in SPARSE_WIDTHS
    ]
    return runs


def points(df: pl.DataFrame) -> pl.DataFrame:
    """One row per run: width, sparsity (0 dense), dense / final / average parameter counts, final loss."""
    from workbench.proxies.results import final_losses

    f = final_losses(df)
    for c in ("sparsity", "params_nonzero", "params_average"):
        if c not in f.columns:
            f = f.with_columns(pl.lit(None, dtype=pl.Float64).alias(c))
    return (
        f.with_columns(
            pl.col("sparsity").fill_null(0.0),
            pl.col("params_nonzero").fill_null(pl.col("params")),
            pl.col("params_average").fill_null(pl.col("params")),
        )
        .select("run_id", "width", "sparsity", "params", "params_nonzero", "params_average", "loss")
        .sort("sparsity", "width")
    )


def _fit(frame: pl.DataFrame, count: str):
    from workbench.fit import fit
    from workbench.laws import get_law

    return fit(get_law(LAW), frame.with_columns(pl.col(count).alias("params")))


def dense_equivalent(result, loss: float) -> float:
    """Dense parameters that the dense fit says reach ``loss`` (inf at or below its floor E)."""
    e, a, alpha = (result.params[k] for k in ("E", "A", "alpha"))
    return (a / (loss - e)) ** (1.0 / alpha) if loss > e else float("inf")


def _relative_error(result, params: float, loss: float) -> float:
    return float(result.predict({"params": np.array([params])})[0] / loss - 1.0)


def analyse(df: pl.DataFrame) -> dict:
    """The dense fit, each sparse run's errors at the three counts, the joint fits and each sparse run's worth."""
    pts = points(df)
    dense, sparse = pts.filter(pl.col("sparsity") == 0), pts.filter(pl.col("sparsity") > 0)
    res = _fit(dense, "params")
    runs = []
    for r in sparse.iter_rows(named=True):
        errors = {name: _relative_error(res, r[col], r["loss"]) for name, col in COUNTS.items()}
        n_eq = dense_equivalent(res, r["loss"])
        runs.append(
            {
                "width": r["width"],
                "sparsity": r["sparsity"],
                "loss": r["loss"],
                "params_dense": r["params"],
                "params_final": r["params_nonzero"],
                "params_average": r["params_average"],
                "errors": errors,
                "dense_equivalent": n_eq,
                "worth_per_final_param": n_eq / r["params_nonzero"],
                "equivalent_over_average": n_eq / r["params_average"],
            }
        )
    joint = {}
    for name, col in COUNTS.items():
        j = _fit(pts, col)
        pred = j.predict({"params": pts[col].to_numpy()})
        rel = pred / pts["loss"].to_numpy() - 1.0
        joint[name] = {
            "params": dict(j.params),
            "max_rel_error": float(np.max(np.abs(rel))),
            "rms_rel_error": float(np.sqrt(np.mean(rel**2))),
        }
    return {"points": pts, "dense_fit": res, "runs": runs, "joint": joint}
