"""Compute-optimal allocation: Hoffmann et al.'s three approaches, side by side.

Approach 1 takes the lower envelope of training curves, Approach 2 the minima
of isoFLOP profiles, Approach 3 the closed form of a fitted parametric law.
They disagree in practice (Hoffmann 2022 Table 2; Besiroglu 2024), which is
why they are computed here on the same data and shown together.

Approach 3 closed form:
Minimising E + A/N^alpha + B/D^beta subject to C = 6 N D gives
N_opt(C) = G (C/6)^a and D_opt(C) = (C/6)^b / G, with
G = (alpha A / (beta B))^(1/(alpha+beta)), a = beta/(alpha+beta), b = alpha/(alpha+beta)
(Hoffmann et al. 2022, Eq. 4).  Pure functions of the constants and the budget,
vectorised over budgets, so sliders can call them on every move.

The uncertainty of Approach 3 comes from the fit's bootstrap:
:func:`chinchilla_optimal_draws` evaluates the closed form for every draw of a
bootstrapped :class:`~workbench.fit.result.FitResult` (reading the constants by
name) and gives percentile intervals at the fit's level, so no caller
re-derives ``G`` and ``a`` from draw columns picked by position.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from workbench.errors import WorkbenchError
from workbench.fit.result import FitResult, percentile_interval

if TYPE_CHECKING:
    import polars as pl

CHINCHILLA_NAMES = ("E", "A", "B", "alpha", "beta")


@dataclass(frozen=True)
class Allocation:
    flops: np.ndarray
    params: np.ndarray
    tokens: np.ndarray
    loss: np.ndarray
    a: float  # N_opt ~ C^a
    b: float  # D_opt ~ C^b

    @property
    def tokens_per_param(self) -> np.ndarray:
        return self.tokens / self.params


def chinchilla_optimal(
    values: Mapping[str, float] | FitResult, flops, flops_per_token_param: float = 6.0
) -> Allocation:
    """N_opt, D_opt and the loss there for budgets ``flops`` (C = 6 N D by default).

    ``values`` are the constants E, A, B, alpha, beta, or a fitted result (its ``params``).
    """
    if isinstance(values, FitResult):
        values = values.params
    E, A, B, alpha, beta = (float(values[k]) for k in CHINCHILLA_NAMES)
    if min(A, B, alpha, beta) <= 0:
        raise WorkbenchError("compute-optimal allocation needs positive A, B, alpha and beta")
    c = _budgets(flops)
    n, d, loss, a, b = _closed_form(E, A, B, alpha, beta, c / flops_per_token_param)
    return Allocation(flops=c, params=n, tokens=d, loss=loss, a=a, b=b)


def _budgets(flops) -> np.ndarray:
    c = np.asarray(flops, dtype=float)
    if np.any(c <= 0):
        raise WorkbenchError("compute budgets must be positive")
    return c


def _closed_form(E, A, B, alpha, beta, tokens_params):
    """Hoffmann et al.'s Eq. 4 at ``tokens_params`` = C / 6; the constants may be arrays that broadcast."""
    g = (alpha * A / (beta * B)) ** (1.0 / (alpha + beta))
    a, b = beta / (alpha + beta), alpha / (alpha + beta)
    n = g * tokens_params**a
    d = tokens_params**b / g
    return n, d, E + A / n**alpha + B / d**beta, a, b


@dataclass(frozen=True)
class AllocationDraws:
    """Approach 3 for every bootstrap draw of a fit: N_opt, D_opt, the loss there and the exponents, per draw.

    ``params``, ``tokens`` and ``loss`` are (draws, budgets); ``a`` and ``b``
    are (draws,).  A draw with a non-positive A, B, alpha or beta (a term at
    its bound) has no interior optimum: its row is NaN and ``interval``
    leaves it out (``valid`` says which draws count).  ``fitted`` is the
    allocation at the fit's own constants.
    """

    fitted: Allocation
    params: np.ndarray
    tokens: np.ndarray
    loss: np.ndarray
    a: np.ndarray
    b: np.ndarray
    valid: np.ndarray
    level: float

    @property
    def flops(self) -> np.ndarray:
        return self.fitted.flops

    def interval(self, quantity: str, level: float | None = None):
        """Percentile interval over the draws of ``params``, ``tokens``, ``loss`` (per budget), ``a`` or ``b``.

        At ``level`` (default: the fit's).  Arrays per budget for the first three, floats for the exponents.
        """
        if quantity not in ("params", "tokens", "loss", "a", "b"):
            raise WorkbenchError(f"unknown quantity {quantity!r}; choose params, tokens, loss, a or b")
        if not self.valid.any():
            raise WorkbenchError("no bootstrap draw has positive A, B, alpha and beta: no interval of the optimum")
        return percentile_interval(getattr(self, quantity), self.level if level is None else level, axis=0)


def chinchilla_optimal_draws(
    result: FitResult, flops, *, level: float | None = None, flops_per_token_param: float = 6.0
) -> AllocationDraws:
    """Approach 3's allocation for every bootstrap draw of ``result`` (a bootstrapped Chinchilla-form fit).

    The constants are read from the draws by name (E, A, B, alpha, beta), so
    any law with those parameters works; ``level`` defaults to the fit's
    ``ci_level``.  ``draws.interval("params")`` is the band of N_opt(C).
    """
    missing = [k for k in CHINCHILLA_NAMES if k not in result.law.names]
    if missing:
        raise WorkbenchError(f"law {result.law.name!r} has no {', '.join(missing)}: not a Chinchilla-form law")
    fitted = chinchilla_optimal(result.params, flops, flops_per_token_param)
    E, A, B, alpha, beta = (result.draws_of(k)[:, None] for k in CHINCHILLA_NAMES)
    valid = ((A > 0) & (B > 0) & (alpha > 0) & (beta > 0))[:, 0]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        n, d, loss, a, b = _closed_form(E, A, B, alpha, beta, fitted.flops[None, :] / flops_per_token_param)
    rows = [np.where(valid[:, None], v, np.nan) for v in (n, d, loss)]
    a, b = (np.where(valid, v[:, 0], np.nan) for v in (a, b))
    return AllocationDraws(fitted, *rows, a, b, valid, result.ci_level if level is None else level)


@dataclass(frozen=True)
class ScalingFit:
    """N_opt(C) = 10^intercept * C^a, fitted by least squares in log-log, with D_opt = C / (6 N_opt)."""

    approach: str
    flops: np.ndarray
    params: np.ndarray
    tokens: np.ndarray
    loss: np.ndarray
    a: float
    b: float
    intercept: float
    refused: tuple[str, ...] = ()

    def params_at(self, flops) -> np.ndarray:
        return 10 ** (self.intercept + self.a * np.log10(np.asarray(flops, dtype=float)))


def _exponents(approach: str, flops, params, tokens, loss, refused=()) -> ScalingFit:
    flops, params, tokens, loss = (np.asarray(v, dtype=float) for v in (flops, params, tokens, loss))
    if flops.size < 2 or np.ptp(np.log10(flops)) == 0:
        raise WorkbenchError(
            f"{approach}: need optimal points at two or more budgets to fit N_opt ~ C^a; "
            + (f"refused: {'; '.join(refused)}" if refused else "got fewer")
        )
    a, intercept = np.polyfit(np.log10(flops), np.log10(params), 1)
    b = np.polyfit(np.log10(flops), np.log10(tokens), 1)[0]
    return ScalingFit(approach, flops, params, tokens, loss, float(a), float(b), float(intercept), tuple(refused))


def approach1_envelope(curves, budgets=None, *, min_runs: int = 2) -> ScalingFit:
    """Approach 1: at each budget, the run whose training curve is lowest there.

    ``curves`` has columns ``run_id``, ``params``, ``flops``, ``loss`` (many
    checkpoints per run; ``tokens`` optional, else C / 6N).  Each curve is
    interpolated linearly in log FLOPs; a budget counts only where at least
    ``min_runs`` curves reach it, so the envelope is a real comparison.
    """
    df = curves.sort("run_id", "flops")
    runs = [
        (g["params"][0], np.log10(g["flops"].to_numpy()), g["loss"].to_numpy())
        for _, g in df.group_by("run_id", maintain_order=True)
    ]
    lo = min(r[1].min() for r in runs)
    hi = max(r[1].max() for r in runs)
    grid = np.log10(np.asarray(budgets, dtype=float)) if budgets is not None else np.linspace(lo, hi, 40)
    out = []
    for logc in grid:
        cands = [(np.interp(logc, lf, loss), n) for n, lf, loss in runs if lf.min() <= logc <= lf.max()]
        if len(cands) >= min_runs:
            best_loss, best_n = min(cands)
            out.append((10**logc, best_n, 10**logc / (6 * best_n), best_loss))
    if not out:
        raise WorkbenchError(f"approach 1: no budget is reached by {min_runs} or more training curves")
    f, n, d, loss = map(np.array, zip(*out))
    return _exponents("approach 1 (envelope of training curves)", f, n, d, loss)


def isoflop_budgets(points, column: str = "flops", decimals: float = 0.05):
    """Label each point with its isoFLOP budget: FLOPs rounded to ``decimals`` in log10."""
    import polars as pl

    return points.with_columns((10 ** ((pl.col(column).log10() / decimals).round() * decimals)).alias("budget"))


def approach2_isoflop(points, *, budget_column: str = "budget", min_points: int = 3) -> ScalingFit:
    """Approach 2: a parabola in log N through each isoFLOP profile; its vertex is N_opt(C).

    A budget whose parabola opens downwards, or whose vertex falls outside the
    sizes actually trained at that budget, has no interior minimum: it is
    refused (and named in ``refused``) rather than extrapolated.
    """
    if budget_column not in points.columns:
        points = isoflop_budgets(points)
    accepted, refused = [], []
    for (budget,), g in points.sort(budget_column).group_by(budget_column, maintain_order=True):
        sizes = g["params"].n_unique()
        if sizes < min_points:
            refused.append(f"{budget:.3g} FLOPs: {sizes} distinct model sizes, need {min_points}")
            continue
        x = np.log10(g["params"].to_numpy())
        centre = x.mean()  # centred for a well-conditioned fit
        c2, c1, c0 = np.polyfit(x - centre, g["loss"].to_numpy(), 2)
        if c2 <= 0:
            refused.append(f"{budget:.3g} FLOPs: the profile has no minimum (parabola opens downwards)")
            continue
        vertex = centre - c1 / (2 * c2)
        if not x.min() < vertex < x.max():
            refused.append(
                f"{budget:.3g} FLOPs: the minimum (N = {10**vertex:.3g}) lies outside the sizes trained "
                f"({10 ** x.min():.3g} to {10 ** x.max():.3g})"
            )
            continue
        n_opt = 10**vertex
        v = vertex - centre
        accepted.append((budget, n_opt, budget / (6 * n_opt), c0 + c1 * v + c2 * v**2))
    if len(accepted) < 2:
        raise WorkbenchError(
            "approach 2: fewer than two budgets have an interior minimum; refused: " + "; ".join(refused)
        )
    f, n, d, loss = map(np.array, zip(*accepted))
    return _exponents("approach 2 (isoFLOP parabolas)", f, n, d, loss, refused)


def approach3_parametric(values: Mapping[str, float], flops) -> ScalingFit:
    """Approach 3: the closed form of a fitted Chinchilla law at the given budgets."""
    opt = chinchilla_optimal(values, flops)
    fit = _exponents("approach 3 (parametric fit)", opt.flops, opt.params, opt.tokens, opt.loss)
    return ScalingFit(fit.approach, fit.flops, fit.params, fit.tokens, fit.loss, opt.a, opt.b, fit.intercept)


def side_by_side(fits) -> pl.DataFrame:
    """The approaches' exponents in one table (a: N_opt ~ C^a, b: D_opt ~ C^b)."""
    import polars as pl

    return pl.DataFrame(
        [
            {
                "approach": f.approach,
                "a": f.a,
                "b": f.b,
                "budgets": int(f.flops.size),
                "N_opt at 1e21": float(f.params_at(1e21)),
                "refused budgets": len(f.refused),
            }
            for f in fits
        ]
    )
