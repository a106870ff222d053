"""The ``recipe_crossover`` preset: a training recipe that wins small and loses big.

Xiao 2024 ("Rethinking conventional wisdom in machine learning: from
generalization to scaling", arXiv:2409.15156) names the *scaling law
crossover*: a method that beats another at small scale can lose to it at
large scale, so a comparison made on small models can rank methods the wrong
way for large ones.  Here the two methods are two training recipes for the
same GPT proxies on the same tokens, differing only in the peak learning rate:
one tuned for the smallest model, one for the largest (under standard
parameterisation the best Adam learning rate falls with width).  Each recipe's
loss-vs-N curve is fitted with ``power_offset_params`` by the one engine, and
:func:`workbench.analysis.crossover.crossover` finds where the fitted curves
cross, with a bootstrap interval from the two fits' paired draws.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from workbench.proxies.config import RunConfig

CORPUS = "zipf"
TOKENS = 1_000_000
WIDTHS = (32, 48, 64, 96, 128, 192, 256)
# name -> peak learning rate.  Chosen on two scouting sweeps (seed 1, datasets/proxies/README.md): 1e-2 is the
# best of 1e-3, 3e-3, 1e-2, 2e-2 at width 32; 3e-3 (every other preset's) the best at width 256.
RECIPES = {"small-tuned": 1e-2, "large-tuned": 3e-3}
SEED = 0  # the shipped sweep; the targets were set on a pilot with seed 1
LAW = "power_offset_params"
BOOTSTRAP = {"draws": 500, "seed": 0}

# Pre-registered targets, written here and in datasets/proxies/README.md before the seed-0 sweep was run
# (the seed-1 pilot of the same grid in brackets):
# (1) measured at width 32: loss(large-tuned) - loss(small-tuned) > 2 standard errors [0.060 vs 0.0085]
# (2) measured at width 256: loss(small-tuned) - loss(large-tuned) > 2 standard errors [0.031 vs 0.0080]
# (3) the fitted curves cross inside the swept N, 95 % bootstrap interval inside it too [4.0e5, 3.1e4-1.1e6]
MIN_SHARE_CROSSING = 0.9  # (4) share of paired bootstrap draws that cross inside the swept N [0.966]


def label(name: str) -> str:
    return f"{name} lr {RECIPES[name]:g}"


def configs(seed: int = SEED) -> list[RunConfig]:
    return [
        RunConfig(corpus=CORPUS, width=w, depth=2, tokens=TOKENS, lr=lr, seed=seed, label=label(name))
        for name, lr in RECIPES.items()
        for w in WIDTHS
    ]


def points(df: pl.DataFrame) -> pl.DataFrame:
    """One row per run: recipe, width, params, final loss."""
    from workbench.proxies.results import final_losses

    names = {label(n): n for n in RECIPES}
    f = final_losses(df).filter(pl.col("condition").is_in(list(names)))
    return (
        f.with_columns(pl.col("condition").replace_strict(names).alias("recipe"))
        .select("run_id", "recipe", "width", "params", "loss", "value_stderr")
        .sort("recipe", "params")
    )


def analyse(df: pl.DataFrame, draws: int = BOOTSTRAP["draws"]) -> dict:
    """Each recipe's fit (bootstrapped) and the crossing of the two fitted curves over the swept N."""
    from workbench.analysis.crossover import crossover
    from workbench.fit import fit
    from workbench.laws import get_law

    pts = points(df)
    fits = {}
    for name in RECIPES:
        p = pts.filter(pl.col("recipe") == name)
        fits[name] = fit(get_law(LAW), p).bootstrap(draws=draws, seed=BOOTSTRAP["seed"])
    lo, hi = float(pts["params"].min()), float(pts["params"].max())
    a, b = RECIPES
    x = crossover(fits[a], fits[b], "params", lo, hi, use_draws=True, names=(a, b))
    return {"points": pts, "fits": fits, "crossover": x, "range": (lo, hi)}


def _check(name: str, value, target: str, passed: bool) -> dict:
    return {"name": name, "value": value, "target": target, "passed": bool(passed)}


def verify(df: pl.DataFrame) -> dict:
    """The pre-registered checks on ``recipe_crossover`` rows (see datasets/proxies/README.md)."""
    pts = points(df)
    fitted = {"law": LAW, "params": {}}
    have = {(r["recipe"], r["width"]) for r in pts.iter_rows(named=True)}
    want = {(n, w) for n in RECIPES for w in WIDTHS}
    if not want <= have:
        checks = [_check(f"all {len(want)} runs were made", len(want & have), len(want), False)]
        return {"fitted": fitted, "checks": checks, "passed": False, "details": {}}
    a_name, b_name = RECIPES
    found = analyse(df)
    x = found["crossover"]
    lo, hi = found["range"]
    by = {(r["recipe"], r["width"]): r for r in pts.iter_rows(named=True)}

    def gap(width: int) -> tuple[float, float]:
        a, b = by[(a_name, width)], by[(b_name, width)]
        return b["loss"] - a["loss"], float(np.hypot(a["value_stderr"] or 0.0, b["value_stderr"] or 0.0))

    small, large = gap(WIDTHS[0]), gap(WIDTHS[-1])
    checks = [
        _check(
            f"measured at width {WIDTHS[0]}: loss({b_name}) - loss({a_name})",
            {"gap": round(small[0], 4), "stderr": round(small[1], 4)},
            f"> 2 standard errors ({a_name} wins small)",
            small[0] > 2 * small[1],
        ),
        _check(
            f"measured at width {WIDTHS[-1]}: loss({a_name}) - loss({b_name})",
            {"gap": round(-large[0], 4), "stderr": round(large[1], 4)},
            f"> 2 standard errors ({b_name} wins big)",
            -large[0] > 2 * large[1],
        ),
        _check(
            "fitted curves cross inside the swept N, with a 95 % bootstrap interval inside it too",
            {
                "at": None if x.at is None else round(x.at),
                "ci": None if x.ci is None else [round(v) for v in x.ci],
                "range": [round(lo), round(hi)],
            },
            f"crossing and interval in [{lo:.3g}, {hi:.3g}]",
            x.at is not None and x.ci is not None and lo <= x.ci[0] and x.ci[1] <= hi,
        ),
        _check(
            "share of paired bootstrap draws whose curves cross inside the swept N",
            None if x.share_crossing is None else round(x.share_crossing, 3),
            f">= {MIN_SHARE_CROSSING}",
            x.share_crossing is not None and x.share_crossing >= MIN_SHARE_CROSSING,
        ),
    ]
    fitted["params"] = {name: dict(r.params) for name, r in found["fits"].items()}
    details = {
        "summary": x.summary,
        "caveats": list(x.caveats),
        "ci": {name: {k: list(v) for k, v in (r.ci or {}).items()} for name, r in found["fits"].items()},
    }
    return {"fitted": fitted, "checks": checks, "passed": all(c["passed"] for c in checks), "details": details}
