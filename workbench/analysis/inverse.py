"""Inverse and U-shaped scaling: does the metric get *worse* with scale, and how sure are we?

A fitted smooth curve (by default a broken power law, BNSL, which can bend
once) is evaluated along the scale axis for the point fit and every bootstrap
draw.  The verdict compares the metric at the small end, at the curve's
best point and at the large end, with intervals from the draws:

* "inverse scaling": worse at the large end than at the small end, and the
  interval of that change excludes zero;
* "U-shaped": first better, then worse, both changes significant;
* "normal scaling" when it improves, "no significant trend" otherwise.

The sentence it returns is what the chart shows, so the claim and its
uncertainty travel together.  ``lower_is_better`` is True for losses and
errors, False for accuracies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.errors import WorkbenchError
from workbench.fit import fit_problem, make_problem
from workbench.fit.bootstrap import bootstrap
from workbench.fit.result import FitResult
from workbench.laws.base import Law


@dataclass(frozen=True)
class Trend:
    verdict: str
    sentence: str
    change: float  # metric(large end) - metric(small end), point fit
    change_ci: tuple[float, float]
    dip: float  # metric(best point) - metric(small end)
    dip_ci: tuple[float, float]
    rise: float  # metric(large end) - metric(best point)
    rise_ci: tuple[float, float]
    best_at: float
    fit: FitResult
    grid: np.ndarray
    curve: np.ndarray
    band: tuple[np.ndarray, np.ndarray]


def _summaries(curve: np.ndarray, sign: float) -> tuple[float, float, float, int]:
    good = sign * curve  # lower is better after the sign flip
    best = int(np.argmin(good))
    return curve[-1] - curve[0], curve[best] - curve[0], curve[-1] - curve[best], best


def scaling_trend(
    law: Law,
    data,
    variable: str,
    *,
    lower_is_better: bool = True,
    draws: int = 400,
    level: float = 0.95,
    seed: int = 0,
    **fit_options,
) -> Trend:
    """Fit ``law`` (one variable) and classify the trend of its target along ``variable``."""
    if law.variables != (variable,):
        raise WorkbenchError(f"scaling_trend needs a one-variable law in {variable!r}; {law.name!r} has {law.variables}")
    problem = make_problem(law, data, **fit_options)
    result = fit_problem(problem)
    result, boot = bootstrap(problem, result, draws=draws, seed=seed, level=level)
    x = problem.cols[variable]
    grid = np.geomspace(x.min(), x.max(), 200)
    sign = 1.0 if lower_is_better else -1.0
    curve = law.predict({variable: grid}, result.params)
    curves = np.array([law.predict({variable: grid}, dict(zip(boot.names, row))) for row in boot.draws])
    change, dip, rise, best = _summaries(curve, sign)
    stats = np.array([_summaries(c, sign)[:3] for c in curves])
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(stats, [tail, 100 - tail], axis=0)
    band = tuple(np.percentile(curves, [tail, 100 - tail], axis=0))
    worse = lambda lo_, hi_: (lo_ > 0) if lower_is_better else (hi_ < 0)  # noqa: E731
    better = lambda lo_, hi_: (hi_ < 0) if lower_is_better else (lo_ > 0)  # noqa: E731
    target = law.target
    ci = lambda i: f"95% CI {lo[i]:+.3g} to {hi[i]:+.3g}"  # noqa: E731
    if better(lo[1], hi[1]) and worse(lo[2], hi[2]) and 0 < best < grid.size - 1:
        verdict = "U-shaped"
        sentence = (f"U-shaped: {target} improves until {variable} ≈ {grid[best]:.3g} ({dip:+.3g}, {ci(1)}), "
                    f"then worsens to the largest scale ({rise:+.3g}, {ci(2)})")
    elif worse(lo[0], hi[0]):
        verdict = "inverse scaling"
        sentence = f"inverse scaling: {target} is worse at the largest {variable} than at the smallest ({change:+.3g}, {ci(0)})"
    elif better(lo[0], hi[0]):
        verdict = "normal scaling"
        sentence = f"normal scaling: {target} improves with {variable} ({change:+.3g}, {ci(0)})"
    else:
        verdict = "no significant trend"
        sentence = f"no significant trend: {target} changes by {change:+.3g} across the range ({ci(0)})"
    return Trend(verdict, sentence, change, (lo[0], hi[0]), dip, (lo[1], hi[1]), rise, (lo[2], hi[2]),
                 float(grid[best]), result, grid, curve, band)
