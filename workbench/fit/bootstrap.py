"""Bootstrap confidence intervals for any law, through the same engine.

Each draw resamples the data (points, or whole groups such as every run of one
model size) and re-polishes from the full-data optimum; percentile intervals
are read off the draws.  Warm-starting is what makes 1,000 draws cheap: a
resample moves the optimum a little, not into another basin.  Draws are
seeded, so a bootstrap is reproducible.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from workbench.errors import WorkbenchError
from workbench.fit.engine import Problem, polish
from workbench.fit.result import FitResult


@dataclass(frozen=True)
class Bootstrap:
    """The draws behind a confidence interval: one row per resample."""

    names: tuple[str, ...]
    draws: np.ndarray  # (B, n_params)
    level: float

    def interval(self, name: str) -> tuple[float, float]:
        col = self.draws[:, self.names.index(name)]
        tail = (1 - self.level) / 2 * 100
        lo, hi = np.percentile(col, [tail, 100 - tail])
        return float(lo), float(hi)

    def intervals(self) -> dict[str, tuple[float, float]]:
        return {n: self.interval(n) for n in self.names}


def _subset(problem: Problem, idx: np.ndarray) -> Problem:
    return dataclasses.replace(problem, cols={v: a[idx] for v, a in problem.cols.items()}, y=problem.y[idx])


def bootstrap(
    problem: Problem,
    result: FitResult,
    *,
    draws: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    groups: np.ndarray | None = None,
) -> tuple[FitResult, Bootstrap]:
    """Percentile bootstrap of ``result`` (fitted on ``problem``).

    ``groups`` (one label per point) resamples whole groups instead of points,
    e.g. every run of a model size, which respects correlated runs.
    """
    if draws < 2:
        raise WorkbenchError(f"a bootstrap needs at least 2 draws, got {draws}")
    if not 0 < level < 1:
        raise WorkbenchError(f"confidence level must be between 0 and 1, got {level}")
    rng = np.random.default_rng(seed)
    n = len(problem.y)
    if groups is not None:
        labels, inverse = np.unique(np.asarray(groups), return_inverse=True)
        members = [np.flatnonzero(inverse == g) for g in range(len(labels))]
    coef0, theta0 = problem.full(result.params)
    names = problem.law.names
    out = np.empty((draws, len(names)))
    for b in range(draws):
        if groups is None:
            idx = rng.integers(0, n, n)
        else:
            idx = np.concatenate([members[g] for g in rng.integers(0, len(members), len(members))])
        c, t, _, _, _ = polish(_subset(problem, idx), coef0, theta0, thorough=False)
        vals = problem.values(c, t)
        out[b] = [vals[k] for k in names]
    boot = Bootstrap(names=names, draws=out, level=level)
    return result.with_ci(boot.intervals(), level=level, bootstrap_draws=draws, bootstrap_seed=seed), boot
