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
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Mapping

import numpy as np
from scipy.optimize import least_squares, minimize

from workbench.errors import WorkbenchError
from workbench.fit.options import FitOptions
from workbench.fit.problem import Problem, make_problem
from workbench.fit.result import FitResult, Flag
from workbench.laws.base import Law

_LBFGS_OPTIONS = {"maxiter": 3000, "maxfun": 10000, "ftol": 1e-15, "gtol": 1e-13, "maxcor": 30}
_MAX_RESTARTS = 4
_MAX_GRID = 4096
_SOBOL_POINTS = 1024


def _grid_axes(problem: Problem) -> list[np.ndarray]:
    """Starting values of each free non-linear parameter (declared, relative to the data, or 5 spread over its
    bounds)."""
    axes = []
    for name in problem.free_nl:
        p = problem.law.parameter(name)
        if p.grid:
            axes.append(p.starts(problem.cols))
        elif problem.log_scaled(name):
            lo = p.lower if p.lower > 0 else 1e-3
            hi = p.upper if np.isfinite(p.upper) else lo * 1e6
            axes.append(np.geomspace(lo, hi, 7)[1:-1])
        else:
            axes.append(np.linspace(p.lower, p.upper, 7)[1:-1])
    return axes


def _grid(problem: Problem) -> np.ndarray:
    """Starting points of the free non-linear parameters, shape (G, m_free).

    The Cartesian product of the axes when it has at most 4,096 points,
    otherwise 1,024 scrambled Sobol points (seeded) spanning the same box.
    """
    axes = _grid_axes(problem)
    if not axes:
        return np.zeros((1, 0))
    size = int(np.prod([len(a) for a in axes]))
    if size <= _MAX_GRID:
        return np.array(list(itertools.product(*axes)))
    from scipy.stats import qmc  # imported here: scipy.stats costs a notebook kernel ~25 MB, most laws never need it

    sample = qmc.Sobol(d=len(axes), scramble=True, seed=0).random(_SOBOL_POINTS)
    out = np.empty_like(sample)
    for j, (axis, name) in enumerate(zip(axes, problem.free_nl)):
        lo, hi = axis.min(), axis.max()
        if problem.log_scaled(name):
            out[:, j] = np.exp(np.log(lo) + sample[:, j] * (np.log(hi) - np.log(lo)))
        else:
            out[:, j] = lo + sample[:, j] * (hi - lo)
    return out


def _free_u(problem: Problem, coef_free: np.ndarray, theta_free: np.ndarray) -> np.ndarray:
    """The optimiser's vectors (G, p) from free coefficients and free non-linear values."""
    nat = np.concatenate([coef_free, theta_free], axis=1)
    mask = np.array([problem.log_scaled(n) for n in problem.free_names], dtype=bool)
    with np.errstate(divide="ignore"):
        return np.where(mask, np.log(np.maximum(nat, 1e-300)), nat)


def _objective_batch(problem: Problem, pred: np.ndarray) -> np.ndarray:
    r, valid = problem.residuals(pred)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        f, _ = problem.objective.scale(r)
        obj = np.sum(problem.objective.rho(f), axis=1)
    obj[~valid] = np.inf
    return obj


def _projected_starts(problem: Problem, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact NNLS coefficients at every grid point: ``(U (G, p), objective (G,))``.

    Grid points where the law is undefined (a NaN basis, e.g. a precision factor
    below zero) carry NaN through the algebra and score an infinite objective;
    numpy is told not to warn about them.
    """
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return _projected_starts_unchecked(problem, grid)


def _projected_starts_unchecked(problem: Problem, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    law, y = problem.law, problem.y
    g = len(grid)
    m_lin, off_lin = problem.mapping(problem.lin_names, problem.free_lin)
    m_nl, off_nl = problem.mapping(problem.nl_names, problem.free_nl)
    theta = grid @ m_nl.T + off_nl
    x = {v: a[None, :] for v, a in problem.cols.items()}
    basis = np.broadcast_to(
        law.basis(x, [theta[:, j][:, None] for j in range(theta.shape[1])]), (g, len(y), len(off_lin))
    )
    target = y[None, :] - basis @ off_lin  # fixed coefficients' contribution removed
    merged = np.einsum("gnk,kf->gnf", basis, m_lin)  # tied coefficients share one column
    w = 1.0 / y if problem.space == "log" else np.ones_like(y)  # relative residuals ~ log residuals
    weighted = merged * w[None, :, None]
    t = target * w[None, :]
    # Normal equations once for all columns; each active set is a sub-block.
    gram_full = np.einsum("gni,gnj->gij", weighted, weighted)
    rhs_full = np.einsum("gni,gn->gi", weighted, t)
    tt = np.einsum("gn,gn->g", t, t)
    scale = np.sqrt(np.einsum("gii->gi", gram_full))  # column norms, to condition the solves
    scale[scale == 0] = 1.0
    gram_s = gram_full / scale[:, :, None] / scale[:, None, :]
    rhs_s = rhs_full / scale
    kf = len(problem.free_lin)
    is_constrained = [problem.log_scaled(n) for n in problem.free_lin]
    best = np.zeros((g, kf))
    explained = np.zeros(g)  # sum over blocks of sol . rhs: tt - explained is the residual
    feasible_all = np.ones(g, bool)
    for block in _column_blocks(merged):
        constrained = [i for i in block if is_constrained[i]]
        unconstrained = [i for i in block if not is_constrained[i]]
        block_best = np.full(g, -np.inf)  # best explained sum of squares within this block
        for r in range(len(constrained) + 1):
            for subset in itertools.combinations(constrained, r):
                active = sorted(unconstrained + list(subset))
                if not active:
                    continue
                ix = np.ix_(range(g), active, active)
                gram = gram_s[ix] + 1e-12 * np.eye(len(active))  # unit-norm columns; guards exact collinearity
                rhs = rhs_s[:, active]
                sol = np.linalg.solve(gram, rhs[..., None])[..., 0]
                c = np.zeros((g, len(block)))
                c[:, [block.index(i) for i in active]] = sol / scale[:, active]
                ok = (
                    np.all(c[:, [block.index(i) for i in constrained]] >= 0, axis=1)
                    if constrained
                    else np.ones(g, bool)
                )
                gain = np.einsum("gi,gi->g", sol, rhs)  # explained sum of squares of an exact solve
                better = ok & (gain > block_best)
                block_best[better] = gain[better]
                best[np.ix_(better, block)] = c[better]
        feasible_all &= np.isfinite(block_best)
        explained += np.where(np.isfinite(block_best), block_best, 0.0)
    best_sse = np.where(feasible_all, tt - explained, np.inf)
    pred = np.einsum("gnk,gk->gn", basis, best @ m_lin.T + off_lin)
    obj = _objective_batch(problem, pred)
    obj[~np.isfinite(best_sse)] = np.inf
    # A coefficient NNLS put at exactly 0 would enter the log-space polish as
    # log(0) with no gradient to leave it: start it where its term is 1e-4 of
    # the data instead (the polish may still drive it back towards 0).
    col_mean = np.mean(np.abs(merged), axis=1)  # (G, kf)
    floor = 1e-4 * np.mean(y) / np.where(col_mean > 0, col_mean, 1.0)
    for i in constrained:
        zero = best[:, i] <= 0
        best[zero, i] = floor[zero, i]
    return _free_u(problem, best, grid), obj


def _column_blocks(columns: np.ndarray) -> list[list[int]]:
    """Groups of basis columns that share rows (connected through any common nonzero row).

    Columns of different blocks touch disjoint rows, so their normal equations
    decouple and non-negative least squares can be solved block by block: 2^k
    active sets per block instead of 2^(total).  A law whose columns all share
    rows (every ordinary law) is one block; a law fitted per group has one
    block per group.
    """
    kf = columns.shape[-1]
    touches = np.any(columns != 0, axis=0)  # (n, kf): row i reaches column j at some grid point
    overlap = (touches.T.astype(float) @ touches.astype(float)) > 0  # (kf, kf)
    block_of = list(range(kf))

    def root(i: int) -> int:
        while block_of[i] != i:
            i = block_of[i]
        return i

    for i in range(kf):
        for j in range(i + 1, kf):
            if overlap[i, j]:
                block_of[root(j)] = root(i)
    blocks: dict[int, list[int]] = {}
    for i in range(kf):
        blocks.setdefault(root(i), []).append(i)
    return list(blocks.values())


def _scored_starts(problem: Problem, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Objective at every start of a law without a linear part."""
    u = _free_u(problem, np.zeros((len(grid), 0)), grid)
    obj = np.array([problem.value(problem.values(ui)) for ui in u])
    obj[~np.isfinite(obj)] = np.inf
    return u, obj


def _spread_out(problem: Problem, grid: np.ndarray, order: list[int], min_distance: float = 0.2) -> list[int]:
    """``order`` (best first) thinned so that no kept point lies within ``min_distance`` of a better kept one.

    Distances are measured in the grid's box scaled to [0, 1] per parameter
    (log scale for scale-like parameters), so the starts polished first come
    from different regions rather than crowding into the best one's basin.
    The points left out follow, best first, so nothing is lost.
    """
    if not order:
        return order
    coords = np.array(grid, dtype=float)
    for j, name in enumerate(problem.free_nl):
        if problem.log_scaled(name):
            coords[:, j] = np.log(np.maximum(coords[:, j], 1e-300))
    span = coords.max(axis=0) - coords.min(axis=0)
    coords = (coords - coords.min(axis=0)) / np.where(span > 0, span, 1.0)
    kept: list[int] = []
    for i in order:
        if not kept or np.min(np.linalg.norm(coords[kept] - coords[i], axis=1)) >= min_distance:
            kept.append(i)
    chosen = set(kept)
    return kept + [i for i in order if i not in chosen]


def _basin_representatives(
    problem: Problem, obj: np.ndarray, grid_is_product: bool, grid: np.ndarray | None = None
) -> list[int]:
    """Grid points that are local minima of the projected objective, best first.

    Each local minimum of the profile over the non-linear parameters marks a
    separate basin, so polishing one point per basin (rather than the k best
    points, which crowd into one basin) is what finds the global optimum.
    """
    order = [int(i) for i in np.argsort(obj) if np.isfinite(obj[i])]
    if obj.size == 1:
        return order
    if not grid_is_product:  # a Sobol sample has no neighbours: take the best points that lie far apart
        return _spread_out(problem, grid, order)
    shape = tuple(len(axis) for axis in _grid_axes(problem))
    surface = obj.reshape(shape)
    padded = np.pad(surface, 1, constant_values=np.inf)
    is_min = np.ones(shape, bool)
    for offset in itertools.product((-1, 0, 1), repeat=len(shape)):
        if any(offset):
            window = tuple(slice(1 + o, 1 + o + n) for o, n in zip(offset, shape))
            is_min &= surface <= padded[window]
    minima = np.flatnonzero(is_min.ravel() & np.isfinite(obj))
    return [int(i) for i in minima[np.argsort(obj[minima])]] or order


def _trust_region(problem: Problem, u: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Gauss-Newton trust-region polish (``least_squares``, 'trf') on the same objective.

    ``least_squares`` with ``loss='huber'`` and ``f_scale=delta`` minimises exactly
    the sum of ``scipy.special.huber(delta, r)``; its second-order steps finish
    narrow, weakly identified valleys where L-BFGS crawls.
    """
    obj = problem.objective

    def fun(v):
        f = problem.residuals_jacobian(v)[0]
        return np.where(np.isnan(f), 1e6, f)

    res = least_squares(
        fun,
        u,
        jac=lambda v: problem.residuals_jacobian(v)[1],
        bounds=(lo, hi),
        loss=obj.lsq_loss,
        f_scale=obj.lsq_scale,
        method="trf",
        xtol=1e-15,
        ftol=1e-15,
        gtol=1e-15,
        max_nfev=500,
    )
    return res.x


def polish(problem: Problem, u: np.ndarray, *, thorough: bool = True) -> tuple[np.ndarray, float, bool, str]:
    """Minimise jointly from ``u``: a trust-region Gauss-Newton pass, then (if
    ``thorough``) L-BFGS-B restarted until it stops improving.  Returns the best
    point seen, its objective, and the optimiser's status."""
    lo, hi = problem.bounds()
    u = np.clip(np.asarray(u, dtype=float), lo, hi)
    best_f, _ = problem.value_and_grad(u)
    if u.size == 0:
        return u, best_f, True, "no free parameters"
    v = _trust_region(problem, u, lo, hi)
    f, _ = problem.value_and_grad(v)
    if f <= best_f:
        u, best_f = v, f
    success, message = True, "trust-region polish"
    if thorough:
        bounds = [(None if not np.isfinite(a) else a, None if not np.isfinite(b) else b) for a, b in zip(lo, hi)]
        for _ in range(_MAX_RESTARTS):
            res = minimize(
                problem.value_and_grad, u, jac=True, method="L-BFGS-B", bounds=bounds, options=_LBFGS_OPTIONS
            )
            success, message = bool(res.success) or res.status == 2, str(res.message)
            improved = best_f - res.fun
            if res.fun <= best_f:
                u, best_f = res.x, float(res.fun)
            if improved <= 1e-14 * abs(best_f):
                break
    return u, best_f, success, message


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
    _, jac = problem.batch_predict_jacobian(np.atleast_2d(U))
    scale = np.abs(problem.y) if problem.space == "log" else np.full(problem.y.shape, np.max(np.abs(problem.y)))
    with np.errstate(invalid="ignore", over="ignore"):
        return np.max(np.abs(jac) / scale[None, :, None], axis=1)


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


def _log_support(problem: Problem) -> np.ndarray | None:
    """log10 of the fitted points over the law's positive variables (for the hull test)."""
    positive = [v for v in problem.law.variables if problem.law.domains.get(v, "positive") == "positive"]
    if not positive:
        return None
    return np.log10(np.column_stack([problem.cols[v] for v in positive]))


def domain_of(problem: Problem) -> dict[str, tuple[float, float]]:
    return {v: (float(a.min()), float(a.max())) for v, a in problem.cols.items()}


def canonical_values(problem: Problem, u: np.ndarray) -> dict[str, float]:
    """The values of ``u``, in the law's canonical form unless the user pinned or tied a parameter."""
    values = problem.values(u)
    return values if problem.fixed or problem.ties else problem.law.canonicalize(values)


def _result(problem: Problem, u: np.ndarray, f: float, ok: bool, msg: str, seconds: float, **details) -> FitResult:
    values = canonical_values(problem, u)
    flags = bound_flags(problem, values)
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
        support=_log_support(problem),
        problem=problem,
    )


def fit_problem(problem: Problem, *, starts: int = 3) -> FitResult:
    """Fit a prepared :class:`Problem`; see :func:`fit`."""
    t0 = time.perf_counter()
    grid = _grid(problem)
    product = int(np.prod([len(a) for a in _grid_axes(problem)])) == len(grid)
    if not product and problem.separable:  # a Sobol sample of a many-exponent box: more, spread-out starts
        starts = max(starts, 2 * grid.shape[1])
    if problem.separable:
        u_starts, obj = _projected_starts(problem, grid)
        order = _basin_representatives(problem, obj, product, grid)[: max(1, starts)]
    else:
        u_starts, obj = _scored_starts(problem, grid)
        order = _basin_representatives(problem, obj, product, grid)[: max(2, 2 * starts)]
    if not order:
        raise WorkbenchError(f"law {problem.law.name!r}: no starting point gives a positive prediction for every row")
    best = None
    for i in order:
        u, f, ok, msg = polish(problem, u_starts[i])
        if best is None or f < best[1]:
            best = (u, f, ok, msg)
    return _result(problem, *best, time.perf_counter() - t0, grid_points=len(grid), starts_polished=len(order))


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
