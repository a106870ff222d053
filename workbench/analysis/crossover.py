"""Where two fitted curves cross, with a bootstrap interval, or "no crossover in range".

Typical use: two architectures (or methods, or precisions) each fitted with a
law in the same variable; the smaller method wins at small scale and the other
at large scale, and the question is where.  The crossing is found on a log
grid and refined with Brent's method; the interval comes from pairing the two
fits' bootstrap draws, and the share of draws that cross at all is reported,
because "it crosses somewhere" can itself be uncertain.  When either fit has
trust problems (a constant at its bound, one the bootstrap cannot pin down)
the summary says so, so that "100 % of draws cross" is never read alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
from scipy.optimize import brentq

from workbench.errors import WorkbenchError
from workbench.fit.bootstrap import Bootstrap
from workbench.fit.result import FitResult
from workbench.laws.base import Law


@dataclass(frozen=True)
class Crossover:
    variable: str
    lo: float
    hi: float
    at: float | None  # crossing point of the two fits (None: no crossover in range)
    ci: tuple[float, float] | None
    share_crossing: float | None  # share of bootstrap draw pairs that cross in range
    lower_before: str | None  # which curve is lower below the crossing
    names: tuple[str, str]
    caveats: tuple[str, ...] = ()  # the two fits' trust problems, e.g. "CLIP fit: E at its lower bound 0"

    @property
    def summary(self) -> str:
        a, b = self.names
        caution = f" (caution: {'; '.join(self.caveats)})" if self.caveats else ""
        if self.at is None:
            return f"no crossover in range: {self.variable} from {self.lo:.3g} to {self.hi:.3g}{caution}"
        other = b if self.lower_before == a else a
        text = f"{self.lower_before} is lower below {self.variable} = {self.at:.3g}, {other} above it"
        if self.ci is not None:
            text += f" (95% CI {self.ci[0]:.3g} to {self.ci[1]:.3g}; {self.share_crossing:.0%} of bootstrap draws cross in range)"
        return text + caution


def _crossings(law_a: Law, va, law_b: Law, vb, variable: str, grid: np.ndarray, others: Mapping[str, float]) -> list[float]:
    def diff(x):
        xs = np.atleast_1d(x)
        cols_a = {v: (xs if v == variable else np.full(xs.shape, others[v])) for v in law_a.variables}
        cols_b = {v: (xs if v == variable else np.full(xs.shape, others[v])) for v in law_b.variables}
        return law_a.predict(cols_a, va) - law_b.predict(cols_b, vb)

    d = diff(grid)
    out = []
    for i in np.flatnonzero(np.sign(d[:-1]) * np.sign(d[1:]) < 0):
        out.append(float(np.exp(brentq(lambda t: diff(np.exp(t))[0], np.log(grid[i]), np.log(grid[i + 1]), xtol=1e-12))))
    return out


def crossover(
    a: FitResult,
    b: FitResult,
    variable: str,
    lo: float,
    hi: float,
    *,
    boot_a: Bootstrap | None = None,
    boot_b: Bootstrap | None = None,
    others: Mapping[str, float] | None = None,
    names: tuple[str, str] = ("A", "B"),
    level: float = 0.95,
) -> Crossover:
    """First crossing of ``a`` and ``b`` along ``variable`` in [lo, hi] (other variables fixed by ``others``)."""
    others = dict(others or {})
    for law in (a.law, b.law):
        if variable not in law.variables:
            raise WorkbenchError(f"law {law.name!r} has no variable {variable!r}")
        missing = [v for v in law.variables if v != variable and v not in others]
        if missing:
            raise WorkbenchError(f"crossover along {variable!r}: give values for {', '.join(missing)} of law {law.name!r}")
    if not 0 < lo < hi:
        raise WorkbenchError(f"crossover range must satisfy 0 < lo < hi, got {lo} and {hi}")
    grid = np.geomspace(lo, hi, 400)
    found = _crossings(a.law, a.params, b.law, b.params, variable, grid, others)
    at = found[0] if found else None
    lower_before = None
    if at is not None:
        x0 = np.array([grid[0]])
        pa = a.law.predict({v: x0 if v == variable else np.array([others[v]]) for v in a.law.variables}, a.params)[0]
        pb = b.law.predict({v: x0 if v == variable else np.array([others[v]]) for v in b.law.variables}, b.params)[0]
        lower_before = names[0] if pa < pb else names[1]
    ci, share = None, None
    if boot_a is not None and boot_b is not None:
        n = min(len(boot_a.draws), len(boot_b.draws))
        points = []
        for i in range(n):
            va = dict(zip(boot_a.names, boot_a.draws[i]))
            vb = dict(zip(boot_b.names, boot_b.draws[i]))
            c = _crossings(a.law, va, b.law, vb, variable, grid, others)
            if c:
                points.append(c[0])
        share = len(points) / n if n else 0.0
        if points:
            tail = (1 - level) / 2 * 100
            lo_ci, hi_ci = np.percentile(points, [tail, 100 - tail])
            ci = (float(lo_ci), float(hi_ci))
    caveats = tuple(f"{name} fit: {c}" for name, fit in zip(names, (a, b)) for c in fit.caveats())
    return Crossover(variable, lo, hi, at, ci if at is not None else None, share, lower_before, names, caveats)
