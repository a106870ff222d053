"""The ``sparse`` preset: sparse and dense training on one curve (Jin et al. 2025) made on the proxies.

Dense GPTs at widths 32-128, and GPTs of widths 64-128 pruned during
training (gradual magnitude pruning from 25 % to 75 % of the steps,
:mod:`workbench.proxies.sparsity`) to 50 % and 80 % sparsity, all on the same
tokens of Python source (``pystdlib``).  Jin et al. 2025 (arXiv:2501.12486) claim that
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

# Python source, not the zipf chain: on zipf (pilot, seed 1) the dense models are within 0.13 nats of the
# chain's entropy, pruned block matrices barely matter there (the embeddings carry the bigram table), and the
# unpruned dense count fitted the sparse runs best; on Python source capacity matters.
CORPUS = "pystdlib"
TOKENS = 1_000_000
# Design v2.  v1 also had width 192 (dense and sparse); its seed-0 sweep failed checks (1), (3) and (4) because
# the dense width-192 run at lr 3e-3 is worse than width 128 on Python source (1.774 vs 1.745 nats: the
# learning rate is too high for it, as the crossover preset also found) and its sparse runs with it.  v2 drops
# width 192, keeps every target, and is run with a seed not used before (2); v1's numbers are in the README.
DENSE_WIDTHS = (32, 48, 64, 96, 128)
SPARSE_WIDTHS = (64, 96, 128)
SPARSITIES = (0.5, 0.8)
SEED = 2  # the shipped sweep (design v2); the targets were set on a pilot (seed 1, a subset of this grid)
PILOT_DENSE_WIDTHS, PILOT_SPARSE_WIDTHS = (32, 48, 64, 96, 128), (64, 128)
LAW = "power_offset_params"
COUNTS = {"average": "params_average", "final": "params_nonzero", "dense": "params"}

# Pre-registered targets, written here and in datasets/proxies/README.md before the seed-0 sweep was run
# (the seed-1 pilot's values in brackets):
MAX_MEAN_AVERAGE_ERROR = 0.02  # (1) mean |dense fit at N_avg / measured - 1| over the sparse runs [1.26 %]
MAX_AVERAGE_ERROR = 0.03  # (1) and the largest [2.41 %]
# (2) the average count predicts better (mean |error|) than the final or the dense count [1.26 vs 6.8, 3.2 %]
MAX_JOINT_ERROR = 0.025  # (3) joint fit of all runs in N_avg: largest |error| [1.57 %]; below the other counts'
# (4) a sparse run's final non-zero parameter is worth more than one dense parameter, every run [1.48-3.31]
SPARSITY_TOLERANCE = 0.005  # (5) every sparse run ends within this of its target sparsity [< 0.0002]


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


def _check(name: str, value, target: str, passed: bool) -> dict:
    return {"name": name, "value": value, "target": target, "passed": bool(passed)}


def verify(df: pl.DataFrame) -> dict:
    """The pre-registered checks on ``sparse`` rows (see datasets/proxies/README.md)."""
    want = {f"sparse/{c.run_id()}" for c in configs()}
    pts = points(df)
    have = set(pts["run_id"].to_list()) & want
    fitted = {"law": LAW, "params": {}}
    if have != want:
        checks = [_check(f"all {len(want)} runs were made", len(have), len(want), False)]
        return {"fitted": fitted, "checks": checks, "passed": False, "details": {}}
    found = analyse(df)
    runs, joint = found["runs"], found["joint"]
    mean_err = {k: float(np.mean([abs(r["errors"][k]) for r in runs])) for k in COUNTS}
    max_avg = max(abs(r["errors"]["average"]) for r in runs)
    worth = [r["worth_per_final_param"] for r in runs]
    targets = {c.run_id(): c.sparsity for c in configs() if c.sparsity}
    sparse_rows = pts.filter(pl.col("sparsity") > 0).iter_rows(named=True)
    off = max(abs(r["sparsity"] - targets[r["run_id"].split("/", 1)[1]]) for r in sparse_rows)
    checks = [
        _check(
            "(1) sparse runs' loss from the dense fit at their average non-zero count: mean and largest |error|",
            {"mean": round(mean_err["average"], 4), "max": round(max_avg, 4)},
            f"mean <= {MAX_MEAN_AVERAGE_ERROR}, max <= {MAX_AVERAGE_ERROR}",
            mean_err["average"] <= MAX_MEAN_AVERAGE_ERROR and max_avg <= MAX_AVERAGE_ERROR,
        ),
        _check(
            "(2) mean |error| of that prediction at the average, final non-zero and dense counts",
            {k: round(v, 4) for k, v in mean_err.items()},
            "average < final and average < dense",
            mean_err["average"] < mean_err["final"] and mean_err["average"] < mean_err["dense"],
        ),
        _check(
            "(3) one law for all runs: largest |error| of a joint fit in each count",
            {k: round(v["max_rel_error"], 4) for k, v in joint.items()},
            f"average <= {MAX_JOINT_ERROR}, and below final and dense",
            joint["average"]["max_rel_error"] <= MAX_JOINT_ERROR
            and joint["average"]["max_rel_error"]
            < min(joint["final"]["max_rel_error"], joint["dense"]["max_rel_error"]),
        ),
        _check(
            "(4) dense parameters one final non-zero sparse parameter is worth, each sparse run",
            [round(v, 2) for v in worth],
            "> 1 for every run",
            all(v > 1 for v in worth),
        ),
        _check(
            "(5) largest |final sparsity - target| over the sparse runs",
            round(off, 5),
            f"<= {SPARSITY_TOLERANCE}",
            off <= SPARSITY_TOLERANCE,
        ),
    ]
    fitted["params"] = {
        "dense": dict(found["dense_fit"].params),
        **{f"joint_{k}": v["params"] for k, v in joint.items()},
    }
    details = {"runs": runs, "joint": joint}
    return {"fitted": fitted, "checks": checks, "passed": all(c["passed"] for c in checks), "details": details}
