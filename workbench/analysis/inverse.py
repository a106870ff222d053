"""Inverse, U-shaped and inverted-U scaling: which way does a metric go with scale, and how sure are we?

The words are the literature's, in terms of *performance* (better or worse),
whatever the metric's direction:

* **normal scaling**: better at the largest scale than at the smallest;
* **inverse scaling**: worse at the largest scale (McKenzie et al. 2023,
  arXiv:2306.09479);
* **U-shaped**: worse, then better -- performance falls up to some size and
  recovers beyond it (Wei et al. 2022, arXiv:2211.02011, who named it);
* **inverted-U**: better, then worse (McKenzie et al. 2023 name both turning
  shapes, "U-shaped and inverted-U scaling trends, where an initial trend
  reverses");
* **no significant trend** otherwise.

For a loss (``lower_is_better=True``) a U-shaped verdict is a loss that
*rises* and then falls; for an accuracy it is an accuracy that falls and then
rises.  The verdict never depends on which way the axis points.

How it decides.  A smooth curve (by default a one-break BNSL, which can turn
once: :func:`trend_law`) is fitted, then refitted on bootstrap resamples.
First, an F-test of a quadratic in log x against a constant asks whether there
is any trend at all (:func:`trend_p_value`); if not, the verdict is "no
significant trend".  Then, at the
point fit's best and worst interior points, the two legs of each turning
shape are tested: a turn is reported only when the interval (at ``level``,
over the draws) of *both* legs excludes zero.  Otherwise the change from the
smallest to the largest scale decides between normal and inverse scaling.
The legs are evaluated at the point fit's turning location in every draw (a
smooth statistic), not at each draw's own extreme (a maximum over the grid,
which the bootstrap would make look significant).

The sentence it returns is what the chart shows, so the claim and its
uncertainty travel together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.errors import WorkbenchError
from workbench.fit import FitOptions, fit_problem, make_problem
from workbench.fit.bootstrap import bootstrap
from workbench.fit.result import DEFAULT_LEVEL, FitResult, law_curves, percentile_interval
from workbench.laws.base import Law

VERDICTS = ("normal scaling", "inverse scaling", "U-shaped", "inverted-U", "no significant trend")
SIGNED_SLOPE_STARTS = (-0.8, -0.3, -0.1, 0.0, 0.1, 0.3, 0.8)
_GRID_POINTS = 200


def _stats():
    """scipy.stats, imported on first use: it costs a notebook kernel ~25 MB that most lessons never need."""
    from scipy import stats

    return stats


def trend_law(variable: str, target: str) -> Law:
    """The default curve for a trend: a one-break BNSL in ``variable`` whose first slope may have either sign.

    With b >= 0 the curve is ``a + b g(x)`` and ``g`` can rise, fall, or turn
    once either way (c0 and c0 + c1 of opposite signs), so all four shapes
    are in the family and in its starting grid.
    """
    from workbench.laws.bnsl import bnsl

    return bnsl(1, variable, target=target, c0_grid=SIGNED_SLOPE_STARTS, name=f"bnsl1_{variable}_{target}_signed")


@dataclass(frozen=True)
class Leg:
    """A change of the metric between two points of the curve (later minus earlier), with its interval.

    ``worse`` is +1 when the interval shows the metric got worse, -1 when it
    shows it got better, 0 when the interval includes no change.
    """

    value: float
    ci: tuple[float, float]
    worse: int


@dataclass(frozen=True)
class Trend:
    verdict: str
    sentence: str
    change: Leg  # largest scale minus smallest scale
    first: Leg | None  # smallest scale -> turning point (None without a turn)
    second: Leg | None  # turning point -> largest scale
    turn_at: float | None  # where the curve turns (value of the variable), for U-shaped and inverted-U
    trend_p_value: float  # F-test of a quadratic in log x against a constant
    level: float
    fit: FitResult
    grid: np.ndarray
    curve: np.ndarray
    band: tuple[np.ndarray, np.ndarray]

    @property
    def change_ci(self) -> tuple[float, float]:
        return self.change.ci


def _leg(point: float, draws: np.ndarray, level: float, worse_sign: float, half_width: float = 0.0) -> Leg:
    """The change ``point`` with the hull of its bootstrap interval and ``point +- half_width`` (delta method)."""
    lo, hi = percentile_interval(draws, level)
    lo, hi = min(lo, point - half_width), max(hi, point + half_width)
    badness = (lo * worse_sign, hi * worse_sign)
    worse = 1 if min(badness) > 0 else -1 if max(badness) < 0 else 0
    return Leg(float(point), (lo, hi), worse)


def trend_p_value(x: np.ndarray, y: np.ndarray) -> float:
    """Is there any trend at all?  F-test of a quadratic in log x against a constant.

    The quadratic is the simplest curve that can rise, fall or turn once, so
    the test has power against every shape with only two degrees of freedom
    (a flexible law such as a 6-parameter BNSL on 8 points would spend them
    all).  ``y`` is in the space the law is fitted in (log values by default).
    Exact for Gaussian noise; 1.0 when there are too few points to tell.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = y.size
    if n < 4:
        return 1.0
    u = np.log(x) - np.log(x).mean()
    design = np.column_stack([np.ones(n), u, u**2])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    rss1 = float(np.sum((y - design @ coef) ** 2))
    rss0 = float(np.sum((y - y.mean()) ** 2))
    if rss0 <= 0:
        return 1.0
    if rss1 <= 1e-24 * rss0:
        return 0.0
    f = ((rss0 - rss1) / 2) / (rss1 / (n - 3))
    return float(_stats().f.sf(max(f, 0.0), 2, n - 3))


class DeltaMethod:
    """Linearised intervals of differences of the fitted curve, with the fit's residual degrees of freedom.

    A case bootstrap of a law with nearly as many parameters as points (a
    6-parameter BNSL on 8 model sizes) refits every resample almost exactly,
    so its intervals collapse to a point.  The classical interval of a
    non-linear least-squares fit does not: it scales the residual variance
    by ``n - k`` degrees of freedom and a Student t quantile, so a law that
    spends every point on its parameters cannot call anything significant.
    Each leg's interval is the hull of both.
    """

    def __init__(self, problem, result: FitResult, grid_cols, level: float):
        u = problem.pack(result.params)
        pred, jac = problem.batch_predict_jacobian(u[None])
        resid, valid = problem.residuals(pred)
        jac = jac[0] * problem.residual_slope(pred[0])[:, None]
        n, k = jac.shape
        self.dof = n - k
        self._grid_jac = problem.batch_predict_jacobian(u[None], cols=grid_cols)[1][0]
        if self.dof < 1 or not bool(np.all(valid)):
            self._cov, self._t = None, np.inf
            return
        s2 = float(np.sum(resid[0] ** 2)) / self.dof
        with np.errstate(invalid="ignore", over="ignore"):
            self._cov = s2 * np.linalg.pinv(jac.T @ jac)
        self._t = float(_stats().t.ppf((1 + level) / 2, self.dof))

    def half_width(self, i: int, j: int) -> float:
        """Half-width of the interval of curve[j] - curve[i]."""
        if self._cov is None:
            return np.inf
        g = self._grid_jac[j] - self._grid_jac[i]
        var = float(g @ self._cov @ g)
        return self._t * np.sqrt(var) if np.isfinite(var) and var >= 0 else np.inf


def classify(
    grid: np.ndarray,
    curve: np.ndarray,
    curves: np.ndarray,
    *,
    lower_is_better: bool,
    level: float,
    trend_p_value: float = 0.0,
    half_width=None,
) -> tuple[str, Leg, Leg | None, Leg | None, int | None]:
    """The verdict for a point-fit ``curve`` on ``grid`` and its bootstrap ``curves`` (draws x grid).

    ``half_width(i, j)``, when given, widens the interval of ``curve[j] - curve[i]``
    (see :class:`DeltaMethod`).  Returns ``(verdict, change, first leg, second leg, turning index)``.
    """
    half = half_width or (lambda i, j: 0.0)
    sign = 1.0 if lower_is_better else -1.0  # badness = sign * metric: higher is worse
    bad = sign * curve
    last = grid.size - 1
    change = _leg(curve[-1] - curve[0], curves[:, -1] - curves[:, 0], level, sign, half(0, last))
    if trend_p_value > 1 - level:
        return "no significant trend", change, None, None, None
    candidates = []
    for verdict, idx, pattern in (
        ("inverted-U", int(np.argmin(bad)), (-1, 1)),  # better, then worse
        ("U-shaped", int(np.argmax(bad)), (1, -1)),
    ):  # worse, then better
        if not 0 < idx < last:
            continue
        first = _leg(curve[idx] - curve[0], curves[:, idx] - curves[:, 0], level, sign, half(0, idx))
        second = _leg(curve[-1] - curve[idx], curves[:, -1] - curves[:, idx], level, sign, half(idx, last))
        if (first.worse, second.worse) == pattern:
            size = min(abs(bad[idx] - bad[0]), abs(bad[-1] - bad[idx]))
            candidates.append((size, verdict, first, second, idx))
    if candidates:
        _, verdict, first, second, idx = max(candidates, key=lambda c: c[0])
        return verdict, change, first, second, idx
    if change.worse > 0:
        return "inverse scaling", change, None, None, None
    if change.worse < 0:
        return "normal scaling", change, None, None, None
    return "no significant trend", change, None, None, None


def _sentence(
    verdict: str,
    target: str,
    variable: str,
    change: Leg,
    first: Leg | None,
    second: Leg | None,
    turn_at: float | None,
    level: float,
    p_value: float,
) -> str:
    pct = f"{level:.0%}"
    ci = lambda leg: f"{pct} CI {leg.ci[0]:+.3g} to {leg.ci[1]:+.3g}"  # noqa: E731
    if verdict == "U-shaped":
        return (
            f"U-shaped: {target} gets worse up to {variable} ≈ {turn_at:.3g} ({first.value:+.3g}, {ci(first)}), "
            f"then better to the largest scale ({second.value:+.3g}, {ci(second)})"
        )
    if verdict == "inverted-U":
        return (
            f"inverted-U: {target} gets better up to {variable} ≈ {turn_at:.3g} ({first.value:+.3g}, {ci(first)}), "
            f"then worse to the largest scale ({second.value:+.3g}, {ci(second)})"
        )
    if verdict == "inverse scaling":
        return (
            f"inverse scaling: {target} is worse at the largest {variable} than at the smallest "
            f"({change.value:+.3g}, {ci(change)})"
        )
    if verdict == "normal scaling":
        return f"normal scaling: {target} improves with {variable} ({change.value:+.3g}, {ci(change)})"
    if p_value > 1 - level:
        return (
            f"no significant trend: a curve explains no more than a constant (F-test p = {p_value:.2g}); "
            f"{target} changes by {change.value:+.3g} across the range ({ci(change)})"
        )
    return f"no significant trend: {target} changes by {change.value:+.3g} across the range ({ci(change)})"


def scaling_trend(
    law: Law,
    data,
    variable: str,
    *,
    lower_is_better: bool = True,
    draws: int = 400,
    level: float = DEFAULT_LEVEL,
    seed: int = 0,
    options: FitOptions | None = None,
    **overrides,
) -> Trend:
    """Fit ``law`` (one variable) and classify the trend of its target along ``variable``.

    ``lower_is_better`` is True for losses and errors, False for accuracies.
    The verdict is one of :data:`VERDICTS`; the sentence gives the changes
    with their intervals at ``level`` (bootstrap, ``draws`` resamples).
    ``options`` and keyword ``overrides`` are the fit's (:class:`~workbench.fit.FitOptions`).
    """
    if law.variables != (variable,):
        raise WorkbenchError(
            f"scaling_trend needs a one-variable law in {variable!r}; {law.name!r} has {law.variables}"
        )
    problem = make_problem(law, data, options, **overrides)
    result, boot = bootstrap(problem, fit_problem(problem), draws=draws, seed=seed, level=level)
    x = problem.cols[variable]
    grid = np.geomspace(x.min(), x.max(), _GRID_POINTS)
    curve = law.predict({variable: grid}, result.params)
    rows = result.draws if len(result.draws) else boot.draws  # every refit stalled: use them all (flagged)
    curves = law_curves(law, rows, {variable: grid})
    curves = curves[np.all(np.isfinite(curves), axis=1)]
    if curves.shape[0] < 2:
        raise WorkbenchError(f"scaling_trend: fewer than 2 bootstrap refits of {law.name!r} gave a finite curve")
    p_value = trend_p_value(x, np.log(problem.y) if problem.space == "log" else problem.y)
    delta = DeltaMethod(problem, result, {variable: grid}, level)
    verdict, change, first, second, idx = classify(
        grid,
        curve,
        curves,
        lower_is_better=lower_is_better,
        level=level,
        trend_p_value=p_value,
        half_width=delta.half_width,
    )
    turn_at = None if idx is None else float(grid[idx])
    band = percentile_interval(curves, level, axis=0)  # as FitResult.prediction_interval, over the finite curves
    sentence = _sentence(verdict, law.target, variable, change, first, second, turn_at, level, p_value)
    return Trend(verdict, sentence, change, first, second, turn_at, p_value, level, result, grid, curve, band)
