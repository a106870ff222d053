"""What a fitted optimum can and cannot vouch for: terms the data do not support, parameters at a bound,
the fitted domain, and fewer distinct points than free parameters.

Kept apart from the search (:mod:`workbench.fit.starts`, :mod:`workbench.fit.local_search`) because the same
checks run on a single fit and on every bootstrap draw.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from workbench.fit.problem import Problem, distinct_points
from workbench.fit.result import Flag
from workbench.fit.starts import SCAN_ROWS

_NEGLIGIBLE = 1e-4  # a term that moves no fitted value by more than this (relative) is not supported by the data


def term_shares(problem: Problem, U: np.ndarray) -> np.ndarray:
    """How much each free parameter's term contributes to the fit, relative to the target: (B, p).

    For a coefficient optimised as ``u = log c`` the derivative of the
    prediction in ``u`` is ``c * d pred / d c``, which for a linear coefficient
    is exactly its term's contribution (summed over tied copies).  The largest
    contribution over the data, relative to each observed value (log
    residuals) or to the largest one (linear residuals), is what a term adds
    to the fit.  Comparing coefficients cannot tell: they carry the units of
    their variables, so ``E = 1e-4`` beside ``A = 1e5`` may be most of a small
    loss or nothing of a large one, and ``E = 1.7`` beside ``A = 1e11`` (a law
    in FLOPs) is most of every loss.  Columns of parameters that are not
    coefficients are returned too and mean nothing here.
    """
    U = np.atleast_2d(np.asarray(U, dtype=float))
    out = np.full(U.shape, -np.inf)
    top = np.max(np.abs(problem.y))
    for rows in problem.row_blocks(len(U)):  # a maximum over rows, taken block by block
        _, jac = problem.batch_predict_jacobian(U, problem.cols_of(rows))
        y = problem.y[rows]
        scale = np.abs(y) if problem.space == "log" else np.full(y.shape, top)
        with np.errstate(invalid="ignore", over="ignore"):
            out = np.maximum(out, np.max(np.abs(jac) / scale[None, :, None], axis=1))
    return out


def bound_sides(problem: Problem, U: np.ndarray) -> np.ndarray:
    """Which bound each free parameter sits on, for a batch ``U`` (B, p) in the optimiser's coordinates.

    Returns (B, p) integers: -1 at the lower bound, +1 at the upper, 0 inside.
    Scale-like parameters are judged in log space and others linearly, each
    against a tolerance of 1e-6 of its (finite, capped) range, so a small value
    of a parameter with a huge range is not mistaken for one at its bound.  A
    coefficient bounded below by 0 is at 0 when its term changes no fitted
    value by more than 1e-4 (:func:`term_shares`): the optimiser only ever
    approaches 0 in log space, so "at 0" has to be judged by effect.
    """
    U = np.atleast_2d(np.asarray(U, dtype=float))
    lo, hi = problem.bounds()
    span = np.where(np.isfinite(hi - lo), hi - lo, 10.0)
    tol = 1e-6 * np.minimum(np.maximum(span, 1e-12), 10.0)
    side = np.where(np.isfinite(lo) & (U - lo <= tol), -1, np.where(np.isfinite(hi) & (hi - U <= tol), 1, 0))
    coef = [j for j, n in enumerate(problem.free_names) if _bounded_coefficient(problem, n)]
    if coef:
        negligible = term_shares(problem, U)[:, coef] <= _NEGLIGIBLE
        side[:, coef] = np.where(negligible, -1, side[:, coef])
    return side


def _bounded_coefficient(problem: Problem, name: str) -> bool:
    p = problem.law.parameter(name)
    return p.linear and p.lower == 0.0


def bound_flags(problem: Problem, values: Mapping[str, float]) -> list[Flag]:
    """A flag for every free parameter that ended on a bound (see :func:`bound_sides`)."""
    sides = bound_sides(problem, problem.pack(values))[0]
    out = []
    for name, side in zip(problem.free_names, sides):
        if side == 0:
            continue
        p = problem.law.parameter(name)
        which, bound = ("lower", p.lower) if side < 0 else ("upper", p.upper)
        label = f"at its {which} bound {bound:g}"
        if side < 0 and _bounded_coefficient(problem, name):
            message = (
                f"{name} ended at its lower bound 0: its term changes no fitted value by more than "
                f"{_NEGLIGIBLE:.2%}, so the data do not support it"
            )
        else:
            message = f"{name} ended at its {which} bound {bound:g}"
        out.append(Flag("at_bound", name, label, message))
    return out


def bound_warnings(problem: Problem, values: Mapping[str, float]) -> list[str]:
    """The messages of :func:`bound_flags`."""
    return [f.message for f in bound_flags(problem, values)]


def log_support(problem: Problem) -> np.ndarray | None:
    """log10 of the fitted points over the law's positive variables (for the hull test).

    A big table keeps only the vertices of its convex hull, which bound the
    same hull: the hull test of a million-row fit then costs no more than
    that of a small one.
    """
    positive = [v for v in problem.law.variables if problem.law.domains.get(v, "positive") == "positive"]
    if not positive:
        return None
    points = np.log10(np.column_stack([problem.cols[v] for v in positive]))
    if len(points) <= SCAN_ROWS or len(positive) < 2:
        return points
    from scipy.spatial import ConvexHull, QhullError

    try:
        return points[ConvexHull(points).vertices]
    except (QhullError, ValueError):  # a degenerate cloud (all points on a line): the test is off anyway
        return np.unique(points, axis=0)


def domain_of(problem: Problem) -> dict[str, tuple[float, float]]:
    return {v: (float(a.min()), float(a.max())) for v, a in problem.cols.items()}


def canonical_values(problem: Problem, u: np.ndarray) -> dict[str, float]:
    """The values of ``u``, in the law's canonical form unless the user pinned or tied a parameter."""
    values = problem.values(u)
    return values if problem.fixed or problem.ties else problem.law.canonicalize(values)


def underdetermined_flags(problem: Problem) -> list[Flag]:
    """A flag when the data hold fewer distinct points than the problem has free parameters (see
    :func:`~workbench.fit.problem.distinct_points`): any of infinitely many constants fit them."""
    distinct = distinct_points(problem.cols, enough=problem.n_free)
    if distinct >= problem.n_free:
        return []
    variables = ", ".join(problem.law.variables)
    points = f"{distinct} distinct point{'s' if distinct != 1 else ''}"
    return [
        Flag(
            "underdetermined",
            None,
            f"underdetermined: {points} for {problem.n_free} free parameters",
            f"the data hold only {points} of ({variables}) in {len(problem.y)} rows, fewer than the "
            f"{problem.n_free} free parameters: infinitely many constants fit them as well as these do "
            "(add points at other values, or fix parameters)",
        )
    ]
