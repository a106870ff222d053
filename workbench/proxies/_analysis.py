"""Small analyses the presets need to check themselves, until the shared ones land.

Each helper here is a stop-gap for an analysis that belongs to
``workbench.analysis`` / ``workbench.laws`` (issue 4); they are private,
minimal, and marked ``TODO(issue 4)`` so they can be swapped for the shared
versions without changing what the presets report.  Fits go through the one
fitting engine (``workbench.fit.fit``).
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

from workbench.laws.base import Law, Parameter


# TODO(issue 4): replace with workbench.analysis.compute_optimal.approach2_isoflop
def approach2(points: Sequence[Mapping[str, float]]) -> dict:
    """Approach 2 of Hoffmann et al.: a parabola in log N per budget, then N_opt ~ C^a.

    ``points``: dicts with ``budget``, ``params``, ``tokens``, ``loss``.
    Returns per-budget minima (with whether each is interior: the parabola
    opens upwards, its vertex lies inside the swept N, and the lowest
    observed loss is not at either end) and the fitted exponents a, b.
    """
    budgets = sorted({p["budget"] for p in points})
    per_budget = []
    for c in budgets:
        pts = sorted((p for p in points if p["budget"] == c), key=lambda p: p["params"])
        x = np.log10([p["params"] for p in pts])
        y = np.array([p["loss"] for p in pts])
        a2, a1, a0 = np.polyfit(x, y, 2)
        vertex = -a1 / (2 * a2) if a2 > 0 else float("nan")
        argmin = int(np.argmin(y))
        interior = bool(a2 > 0 and x.min() < vertex < x.max() and 0 < argmin < len(y) - 1)
        n_opt = 10**vertex if a2 > 0 else float("nan")
        # tokens at the optimum: interpolate log D along log N (D = C / flops-per-token)
        d_opt = float(10 ** np.interp(vertex, x, np.log10([p["tokens"] for p in pts]))) if a2 > 0 else float("nan")
        per_budget.append({
            "budget": c, "n_opt": float(n_opt), "d_opt": d_opt,
            "loss_at_opt": float(np.polyval([a2, a1, a0], vertex)) if a2 > 0 else float("nan"),
            "curvature": float(a2), "interior": interior, "runs": len(pts),
            "observed_best_params": pts[argmin]["params"],
        })
    good = [b for b in per_budget if b["interior"]]
    a = b = float("nan")
    if len(good) >= 2:
        lc = np.log([g["budget"] for g in good])
        a = float(np.polyfit(lc, np.log([g["n_opt"] for g in good]), 1)[0])
        b = float(np.polyfit(lc, np.log([g["d_opt"] for g in good]), 1)[0])
    return {"budgets": per_budget, "a": a, "b": b}


def _lr_basis(x, theta):
    (alpha,) = theta
    s1, s2 = x["lr_area"], x["lr_anneal_area"]
    term = s1 ** -alpha
    return np.stack([np.ones_like(term), term, -s2 * np.ones_like(term)], axis=-1)


def _lr_basis_grad(x, theta):
    (alpha,) = theta
    s1 = x["lr_area"]
    d = -np.log(s1) * s1 ** -alpha
    out = np.zeros(d.shape + (3, 1))
    out[..., 1, 0] = d
    return out


# TODO(issue 4): replace with the shared LR-annealing law in workbench.laws (Tissue et al. 2024)
LR_ANNEALING = Law(
    name="lr_annealing_proxy",
    title="LR-annealing law (Tissue et al. 2024), proxies' stop-gap",
    variables=("lr_area", "lr_anneal_area"),
    parameters=(
        Parameter("L0", 0.0, 1e3, "L_0", "loss floor", linear=True),
        Parameter("A", 0.0, 1e6, "A", "scale of the forward-area term", linear=True),
        Parameter("C", 0.0, 1e6, "C", "annealing bonus per unit annealing area", linear=True),
        Parameter("alpha", 0.0, 3.0, r"\alpha", "exponent of S1", grid=tuple(np.round(np.geomspace(0.02, 2.5, 40), 5))),
    ),
    latex=r"L(s) = L_0 + A\,S_1^{-\alpha} - C\,S_2",
    basis=_lr_basis,
    basis_grad=_lr_basis_grad,
    domains={"lr_anneal_area": "nonnegative"},
    description="Loss along training as a function of the LR forward area S1 and annealing area S2.",
    references=("arXiv:2408.11029",),
)


# TODO(issue 4): replace with workbench.analysis.crossover.crossover
def crossover(law: Law, values_a: Mapping[str, float], values_b: Mapping[str, float], variable: str,
              lo: float, hi: float, extend_decades: float = 1.0) -> dict:
    """Where two fitted one-variable curves cross between ``lo`` and ``hi * 10**extend_decades``."""
    grid = np.geomspace(lo, hi * 10**extend_decades, 2000)
    da = law.predict({variable: grid}, values_a)
    db = law.predict({variable: grid}, values_b)
    diff = da - db
    idx = np.flatnonzero(np.sign(diff[:-1]) * np.sign(diff[1:]) < 0)
    crossings = []
    for i in idx:  # linear interpolation in log x is plenty for a report
        t = diff[i] / (diff[i] - diff[i + 1])
        crossings.append(float(math.exp(math.log(grid[i]) + t * (math.log(grid[i + 1]) - math.log(grid[i])))))
    return {
        "crossings": crossings,
        "in_range": [c for c in crossings if lo <= c <= hi],
        "beyond_range_decades": [math.log10(c / hi) for c in crossings if c > hi],
        "lower_at_lo": "a" if diff[0] < 0 else "b",
    }
