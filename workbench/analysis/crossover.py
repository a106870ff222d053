"""Where two fitted curves cross, with a bootstrap interval, or "no crossover in range".

Typical use: two architectures (or methods, or precisions) each fitted with a
law in the same variable; the smaller method wins at small scale and the other
at large scale, and the question is where.  The crossing is found on a log
grid and refined with Brent's method; the interval comes from pairing the two
fits' bootstrap draws, and the share of draws that cross at all is reported,
because "it crosses somewhere" can itself be uncertain.  When either fit has
trust problems (a constant at its bound, one the bootstrap cannot pin down)
the summary says so, so that "100 % of draws cross" is never read alone.

Every draw pair's first crossing is returned (``Crossover.draws``, NaN where
a pair does not cross in range), so a caller that re-reads the crossing up to
another horizon filters those instead of refitting or re-solving each draw.
The draws come from two :class:`~workbench.fit.bootstrap.Bootstrap` objects
(every draw, converged or not) or, with ``use_draws=True``, from the two
bootstrapped results themselves (their converged draws).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq

from workbench.errors import WorkbenchError
from workbench.fit.bootstrap import Bootstrap
from workbench.fit.result import DEFAULT_LEVEL, FitResult, percentile_interval
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
    level: float = DEFAULT_LEVEL  # of ``ci``
    draws: np.ndarray | None = field(default=None, compare=False, repr=False)  # first crossing per draw pair, NaN: none

    @property
    def summary(self) -> str:
        a, b = self.names
        caution = f" (caution: {'; '.join(self.caveats)})" if self.caveats else ""
        if self.at is None:
            return f"no crossover in range: {self.variable} from {self.lo:.3g} to {self.hi:.3g}{caution}"
        other = b if self.lower_before == a else a
        text = f"{self.lower_before} is lower below {self.variable} = {self.at:.3g}, {other} above it"
        if self.ci is not None:
            text += (
                f" ({self.level:.0%} CI {self.ci[0]:.3g} to {self.ci[1]:.3g}; "
                f"{self.share_crossing:.0%} of bootstrap draws cross in range)"
            )
        return text + caution


def _crossings(
    law_a: Law, va, law_b: Law, vb, variable: str, grid: np.ndarray, others: Mapping[str, float], *, first: bool = False
) -> list[float]:
    """Every crossing of the two curves on ``grid`` (only the first with ``first``), refined by Brent's method."""

    def diff(x):
        xs = np.atleast_1d(x)
        cols_a = {v: (xs if v == variable else np.full(xs.shape, others[v])) for v in law_a.variables}
        cols_b = {v: (xs if v == variable else np.full(xs.shape, others[v])) for v in law_b.variables}
        return law_a.predict(cols_a, va) - law_b.predict(cols_b, vb)

    d = diff(grid)
    out = []
    changes = np.flatnonzero(np.sign(d[:-1]) * np.sign(d[1:]) < 0)
    for i in changes[:1] if first else changes:
        out.append(
            float(np.exp(brentq(lambda t: diff(np.exp(t))[0], np.log(grid[i]), np.log(grid[i + 1]), xtol=1e-12)))
        )
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
    use_draws: bool = False,
    others: Mapping[str, float] | None = None,
    names: tuple[str, str] = ("A", "B"),
    level: float = DEFAULT_LEVEL,
) -> Crossover:
    """First crossing of ``a`` and ``b`` along ``variable`` in [lo, hi] (other variables fixed by ``others``).

    With ``boot_a`` and ``boot_b`` (or ``use_draws=True`` and two
    bootstrapped results) the i-th draws of the two fits are paired: each
    pair's first crossing in [lo, hi] is in ``draws`` (NaN where none), the
    share that cross is ``share_crossing`` and their interval at ``level`` is
    ``ci``.  ``use_draws`` is explicit because a caller that loops over draws
    with ``dataclasses.replace(fit, params=...)`` keeps each fit's draws and
    would otherwise solve every pair again inside its loop.
    """
    others = dict(others or {})
    _check(a, b, variable, lo, hi, others)
    grid = np.geomspace(lo, hi, 400)
    found = _crossings(a.law, a.params, b.law, b.params, variable, grid, others, first=True)
    at = found[0] if found else None
    lower_before = None if at is None else _lower_at(a, b, variable, grid[0], others, names)
    pairs = _draw_pairs(a, b, boot_a, boot_b, use_draws, names)
    draws = None if pairs is None else first_crossings(a.law, pairs[0], b.law, pairs[1], variable, grid, others)
    share, ci = None, None
    if draws is not None:
        crossed = draws[np.isfinite(draws)]
        share = crossed.size / draws.size if draws.size else 0.0
        if crossed.size and at is not None:
            ci = percentile_interval(crossed, level)
    caveats = tuple(f"{name} fit: {c}" for name, fit in zip(names, (a, b)) for c in fit.caveats())
    return Crossover(variable, lo, hi, at, ci, share, lower_before, names, caveats, level, draws)


def _check(a: FitResult, b: FitResult, variable: str, lo: float, hi: float, others: Mapping[str, float]) -> None:
    for law in (a.law, b.law):
        if variable not in law.variables:
            raise WorkbenchError(f"law {law.name!r} has no variable {variable!r}")
        missing = [v for v in law.variables if v != variable and v not in others]
        if missing:
            raise WorkbenchError(
                f"crossover along {variable!r}: give values for {', '.join(missing)} of law {law.name!r}"
            )
    if not 0 < lo < hi:
        raise WorkbenchError(f"crossover range must satisfy 0 < lo < hi, got {lo} and {hi}")


def _lower_at(
    a: FitResult, b: FitResult, variable: str, x: float, others: Mapping[str, float], names: tuple[str, str]
) -> str:
    """The name of the fit whose curve is lower at ``x``."""
    pa, pb = (
        f.law.predict({v: np.array([x if v == variable else others[v]]) for v in f.law.variables}, f.params)[0]
        for f in (a, b)
    )
    return names[0] if pa < pb else names[1]


def _draw_pairs(
    a: FitResult,
    b: FitResult,
    boot_a: Bootstrap | None,
    boot_b: Bootstrap | None,
    use_draws: bool,
    names: tuple[str, str],
) -> tuple[list[dict], list[dict]] | None:
    """The two fits' bootstrap draws as parameter dicts (by name), or None when there are none to pair."""
    if (boot_a is None) != (boot_b is None):
        raise WorkbenchError("crossover: give boot_a and boot_b together (one fit's draws cannot be paired alone)")
    if boot_a is not None:
        return _rows(boot_a.names, boot_a.draws), _rows(boot_b.names, boot_b.draws)
    if not use_draws:
        return None
    for name, fit in zip(names, (a, b)):
        if fit.draws is None:
            raise WorkbenchError(
                f"crossover(use_draws=True): the {name} fit has no bootstrap draws; "
                "bootstrap it first (result.bootstrap(draws=...))"
            )
    return _rows(a.law.names, a.draws), _rows(b.law.names, b.draws)


def _rows(names, draws: np.ndarray) -> list[dict]:
    return [dict(zip(names, row)) for row in draws]


def first_crossings(
    law_a: Law,
    draws_a: list[Mapping[str, float]],
    law_b: Law,
    draws_b: list[Mapping[str, float]],
    variable: str,
    grid: np.ndarray,
    others: Mapping[str, float],
) -> np.ndarray:
    """The first crossing on ``grid`` of each pair (draws_a[i], draws_b[i]): one value per pair, NaN where none.

    Pairs are formed up to the shorter list, as the i-th resample of each fit.
    """
    n = min(len(draws_a), len(draws_b))
    out = np.full(n, np.nan)
    for i in range(n):
        found = _crossings(law_a, draws_a[i], law_b, draws_b[i], variable, grid, others, first=True)
        if found:
            out[i] = found[0]
    return out
