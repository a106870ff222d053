"""The one fitting engine: variable projection on a grid, then a tight polish.

Why this shape.  The Chinchilla-style objective (sum of Huber losses of log
residuals) is non-convex in the exponents, and the usual remedy, thousands of
L-BFGS starts (Hoffmann 2022; Besiroglu 2024 use 4,500), is slow and still
stops early at default tolerances.  But for fixed non-linear parameters
(exponents) a separable law is *linear* in its coefficients, so we:

1. scan a grid of non-linear parameters and, at every grid point, solve the
   coefficients exactly by non-negative least squares on relative residuals
   (vectorised over the whole grid; for k <= 4 coefficients every active set
   is enumerated, which is exact NNLS);
2. score each grid point by the real objective at those coefficients;
3. polish one start per basin jointly: a trust-region Gauss-Newton pass
   (``least_squares`` minimises the very same Huber objective) and then
   L-BFGS-B at tight tolerances (default tolerances stop while the objective
   still falls), restarted until the objective stops improving.

Laws that are not separable are fitted by multi-start: the product of their
declared starting grids (or a Sobol sample of it when that is too large) is
scored, and the best few starts are polished the same way.

Coefficients bounded below by zero are optimised in log space (as Besiroglu et
al. do), which keeps predictions positive.  Fitting never plots, prints or
writes; warnings travel inside the :class:`FitResult`.

At researcher scale (a checkpoint-level table of 10^5-10^6 rows) the grid is
not scored on every row: scoring 900 grid points on a million rows is a
billion evaluations of the law, and the grid only chooses where to start.  It
is scored on a seeded sample of :data:`SCAN_ROWS` rows, the sample's basins
are polished, and the best of them is refined on every row by damped Newton
steps whose sums are accumulated over blocks of rows, so time is linear in
rows and memory does not grow with them (benchmarks/fit_scaling.py measures
both).  A table of at most :data:`SCAN_ROWS` rows is scanned whole, as
before.

Every polish has a work limit, counted in objective evaluations rather than
seconds (:func:`polish_limit`): a flat valley (noise without a trend, a term
the data cannot see) can keep L-BFGS taking tiny steps for a minute, and a
fit that stops at its limit says so in its warnings instead.

The steps live in their own modules: :mod:`workbench.fit.starts` (the grid and its exact
coefficients), :mod:`workbench.fit.local_search` (polish, Newton steps, the work limit) and
:mod:`workbench.fit.diagnostics` (bounds, unsupported terms, the fitted domain); this module
puts them together and returns the :class:`FitResult`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

import numpy as np
from scipy.optimize import minimize

from workbench.errors import WorkbenchError
from workbench.fit.diagnostics import bound_flags, canonical_values, domain_of, log_support, underdetermined_flags
from workbench.fit.local_search import Work, damped_newton, polish, polish_limit
from workbench.fit.options import FitOptions
from workbench.fit.problem import Problem, make_problem
from workbench.fit.result import FitResult, Flag
from workbench.fit.starts import (
    SCAN_ROWS,
    basin_representatives,
    grid_axes,
    projected_starts,
    scored_starts,
    start_grid,
)
from workbench.laws.base import Law

_REFINE_ITERATIONS = 100  # Newton passes over a big table, from the optimum of its sample


def _result(problem: Problem, u: np.ndarray, f: float, ok: bool, msg: str, seconds: float, **details) -> FitResult:
    values = canonical_values(problem, u)
    flags = underdetermined_flags(problem) + bound_flags(problem, values)
    if not ok:
        flags.append(
            Flag("not_converged", None, "optimiser did not converge", f"optimiser did not report convergence: {msg}")
        )
    loss = problem.objective.name if problem.space == "log" else f"{problem.objective.name} on linear residuals"
    return FitResult(
        law=problem.law,
        params=values,
        objective=f,
        n_points=len(problem.y),
        fit_seconds=seconds,
        loss=loss,
        domain=domain_of(problem),
        converged=ok,
        warnings=tuple(f.message for f in flags),
        flags=tuple(flags),
        details={**details, "fixed": dict(problem.fixed), "ties": dict(problem.ties)},
        support=log_support(problem),
        problem=problem,
    )


def fit_problem(problem: Problem, *, starts: int = 3, scan_rows: int = SCAN_ROWS) -> FitResult:
    """Fit a prepared :class:`Problem`; see :func:`fit`.

    A table of at most ``scan_rows`` rows is scanned and polished whole.  A
    bigger one (a checkpoint-level table of a million rows) is fitted in two
    stages, so its cost is linear in rows with a small constant: the grid is
    scored and its best basins polished on a seeded sample of ``scan_rows``
    rows, then the sample optimum that is best on all rows is refined on
    every row by damped Newton steps (:func:`damped_newton`), each one pass
    over the rows in blocks.  ``details["evaluations"]`` counts the work:
    one per grid point scored plus every objective evaluation of the
    polishes (each capped by :func:`polish_limit`) and of the refinement.
    """
    t0 = time.perf_counter()
    scan = _sample(problem, scan_rows)
    grid = start_grid(problem)
    product = int(np.prod([len(a) for a in grid_axes(problem)])) == len(grid)
    if not product and problem.separable:  # a Sobol sample of a many-exponent box: more, spread-out starts
        starts = max(starts, 2 * grid.shape[1])
    if problem.separable:
        u_starts, obj = projected_starts(scan, grid)
        order = basin_representatives(problem, obj, product, grid)[: max(1, starts)]
    else:
        u_starts, obj = scored_starts(scan, grid)
        order = basin_representatives(problem, obj, product, grid)[: max(2, 2 * starts)]
    if not order:
        raise WorkbenchError(f"law {problem.law.name!r}: no starting point gives a positive prediction for every row")
    evaluations = len(grid)
    polished = []
    for i in order:
        work = Work(scan, polish_limit(scan))
        polished.append(polish(scan, u_starts[i], work=work))
        evaluations += work.spent
    best = min(polished, key=lambda candidate: candidate[1])
    if scan is not problem:
        best, spent = _refine(problem, polished)
        evaluations += spent
    if not np.isfinite(best[1]):
        raise WorkbenchError(
            f"law {problem.law.name!r}: no finite optimum (the objective overflows at every point the search "
            "reached; check the data's units and magnitudes)"
        )
    return _result(
        problem,
        *best,
        time.perf_counter() - t0,
        grid_points=len(grid),
        starts_polished=len(order),
        evaluations=evaluations,
        rows_scanned=len(scan.y),
    )


def _sample(problem: Problem, rows: int) -> Problem:
    """``problem`` itself, or (when it has more than ``rows`` rows) the same problem on a seeded sample of them."""
    n = len(problem.y)
    if n <= rows:
        return problem
    return problem.subset(np.sort(np.random.default_rng(0).choice(n, size=rows, replace=False)))


def _refine(problem: Problem, polished: list[tuple]) -> tuple[tuple[np.ndarray, float, bool, str], int]:
    """The optima of a sample refined on every row of ``problem``: the best ``(u, f, ok, message)`` and the
    evaluations spent.

    Every distinct optimum of the sample is scored on all rows (one cheap
    pass each: basins that the sample ranked nearly alike may swap); the
    best one, and for a separable law the same non-linear parameters with
    their coefficients projected afresh on all rows (a group the sample
    missed gets its coefficient from its own rows), compete as the start of
    :func:`damped_newton`, which needs only sums over rows.
    """
    optima: list[np.ndarray] = []
    for u, _, _, _ in polished:
        if not any(np.array_equal(u, v) for v in optima):
            optima.append(np.asarray(u, dtype=float))
    candidates = np.array(optima)
    obj = problem.objective_values(candidates)
    spent = len(candidates)
    candidates, obj = candidates[[int(np.argmin(obj))]], obj[[int(np.argmin(obj))]]
    if problem.separable and problem.free_lin:
        theta = problem.unpack_free(candidates)[:, len(problem.free_lin) :]
        projected, projected_obj = projected_starts(problem, theta)
        candidates, obj = np.concatenate([candidates, projected]), np.concatenate([obj, projected_obj])
        spent += len(theta)
    start = candidates[int(np.argmin(obj))]
    work = Work(problem, _REFINE_ITERATIONS + 1)
    U, obj, done = damped_newton(problem, start[None], max_iter=_REFINE_ITERATIONS, work=work)
    spent += work.spent
    rows = len(problem.y)
    if done[0]:
        return (U[0], float(obj[0]), True, f"damped Newton refinement on all {rows} rows"), spent
    message = (
        f"the refinement on all {rows} rows stopped after {work.spent} Newton passes before the optimum was "
        "certified (the constants are the best point found, and may not be the best fit)"
    )
    return (U[0], float(obj[0]), False, message), spent


def fit(law: Law, data, options: FitOptions | None = None, *, starts: int = 3, **overrides) -> FitResult:
    """Fit ``law`` to ``data`` (a polars DataFrame or a mapping of column -> array).

    ``data`` must hold the law's variables and its target column.
    ``options`` (:class:`~workbench.fit.options.FitOptions`) choose the loss
    (Huber on log residuals by default), the residual space, fixed and tied
    parameters; keyword ``overrides`` change single options
    (``fit(law, data, loss="squared", fixed={"E": 1.69}, tie=["beta=alpha"])``).
    ``starts`` is how many basins (local minima of the projected objective on
    the grid) are polished, best first.  The result keeps its problem, so
    ``fit(...).bootstrap(draws=200)`` refits with the same options.
    """
    return fit_problem(make_problem(law, data, options, **overrides), starts=starts)


def objective_at(law: Law, data, values: Mapping[str, float], options: FitOptions | None = None, **overrides) -> float:
    """The fitting objective of ``values`` on ``data`` (e.g. to score a published preset).

    The same ``options`` and keyword ``overrides`` as :func:`fit`, so a fit's
    objective equals ``objective_at`` of its parameters under its options;
    fixed parameters are pinned and tied ones follow their leader, as in the fit.
    """
    problem = make_problem(law, data, options, **overrides)
    return problem.value(problem.constrained(values))


def multistart(problem: Problem, starts: Iterable[Mapping[str, float]], *, options: Mapping | None = None) -> FitResult:
    """The slow reference: plain L-BFGS-B from every start, keep the best.

    This is the procedure of Hoffmann et al. / Besiroglu et al. (a grid of
    thousands of initialisations), kept to check the engine against.  ``options``
    are passed to L-BFGS-B (scipy defaults when None, as those papers used).
    """
    t0 = time.perf_counter()
    lo, hi = problem.bounds()
    bounds = [(None if not np.isfinite(a) else a, None if not np.isfinite(b) else b) for a, b in zip(lo, hi)]
    best = None
    n = 0
    for start in starts:
        n += 1
        u0 = np.clip(problem.pack(start), lo, hi)
        res = minimize(
            problem.value_and_grad, u0, jac=True, method="L-BFGS-B", bounds=bounds, options=dict(options or {})
        )
        if best is None or res.fun < best.fun:
            best = res
    return _result(
        problem,
        best.x,
        float(best.fun),
        bool(best.success) or best.status == 2,
        str(best.message),
        time.perf_counter() - t0,
        starts=n,
    )
