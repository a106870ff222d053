"""Do the bootstrap intervals mean what they say?  Coverage on synthetic truth.

Draw data from a law with known constants (same design, fresh noise per
seed), fit, bootstrap, and count how often each 95 % interval contains the
true value.  A well-calibrated interval covers about 95 % of the time; a
percentile bootstrap on a few dozen points usually covers a little less, and
this is how you find out by how much.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from workbench.fit.engine import fit_problem
from workbench.fit.options import FitOptions
from workbench.fit.problem import make_problem
from workbench.fit.result import DEFAULT_LEVEL
from workbench.laws.base import Law


@dataclass(frozen=True)
class Coverage:
    seeds: int
    draws: int
    level: float
    rates: Mapping[str, float]  # share of seeds whose interval contains the truth
    widths: Mapping[str, float]  # median interval width relative to the true value

    def stderr(self, name: str) -> float:
        p = self.rates[name]
        return float(np.sqrt(p * (1 - p) / self.seeds))


def coverage(
    law: Law,
    truth: Mapping[str, float],
    design: Mapping[str, np.ndarray],
    *,
    noise: float = 0.02,
    seeds: int = 200,
    draws: int = 1000,
    level: float = DEFAULT_LEVEL,
    first_seed: int = 0,
    options: FitOptions | None = None,
    **overrides,
) -> Coverage:
    """Coverage of ``level`` bootstrap intervals when the data are ``law(truth)`` times log-normal noise.

    ``options`` and keyword ``overrides`` are the fit's (see :class:`~workbench.fit.options.FitOptions`).
    """
    options = FitOptions.of(options, **overrides)
    clean = law.predict(design, truth)
    hits = {n: 0 for n in law.names}
    widths: dict[str, list[float]] = {n: [] for n in law.names}
    for seed in range(first_seed, first_seed + seeds):
        rng = np.random.default_rng(seed)
        data = {**design, law.target: clean * np.exp(rng.normal(0.0, noise, clean.size))}
        result = fit_problem(make_problem(law, data, options)).bootstrap(draws=draws, level=level, seed=seed)
        for n in law.names:
            lo, hi = result.ci[n]
            hits[n] += lo <= truth[n] <= hi
            widths[n].append((hi - lo) / abs(truth[n]))
    return Coverage(
        seeds,
        draws,
        level,
        {n: hits[n] / seeds for n in law.names},
        {n: float(np.median(widths[n])) for n in law.names},
    )
