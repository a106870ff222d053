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
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Mapping

import numpy as np
from scipy.optimize import least_squares, minimize

from workbench.errors import WorkbenchError
from workbench.fit.options import FitOptions
from workbench.fit.problem import CELLS, Problem, distinct_points, make_problem
from workbench.fit.result import FitResult, Flag
from workbench.laws.base import Law

_LBFGS_OPTIONS = {"maxiter": 3000, "maxfun": 10000, "ftol": 1e-15, "gtol": 1e-13, "maxcor": 30}
_MAX_RESTARTS = 4
_MAX_GRID = 4096
_SOBOL_POINTS = 1024
_TRUST_REGION_EVALUATIONS = 500
POLISH_EVALUATIONS = 1000  # objective evaluations one polish may spend per free parameter (most need far fewer)
SCAN_ROWS = 4096  # the starting grid is scored on at most this many rows (a seeded sample of a bigger table)
_PLATEAU_STARTS = 4  # further starts offered from a plateau of tied grid points, after one from every basin
_NEWTON_FINISH = 20  # Newton steps that finish a polish
_REFINE_ITERATIONS = 100  # Newton passes over a big table, from the optimum of its sample


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
    with np.errstate(divide="ignore"):
        return np.where(problem.log_mask, np.log(np.maximum(nat, 1e-300)), nat)


def _projected_starts(problem: Problem, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact NNLS coefficients at every grid point: ``(U (G, p), objective (G,))``.

    The grid is taken in chunks and the rows in blocks, so at most
    :data:`~workbench.fit.problem.CELLS` (grid point, row) pairs are in
    memory at once: the least-squares projection needs only sums over rows
    (normal equations, its sufficient statistics), and the objective of
    each grid point is a sum over rows too.  An ordinary table (the 240
    Epoch points on a 900-point grid) is one chunk and one block.

    Grid points where the law is undefined (a NaN basis, e.g. a precision factor
    below zero) carry NaN through the algebra and score an infinite objective;
    numpy is told not to warn about them.
    """
    rows = len(problem.y)
    per = len(grid) if len(grid) * rows <= CELLS else max(1, CELLS // rows)
    parts = []
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for i in range(0, len(grid), per):
            parts.append(_project_chunk(problem, grid[i : i + per]))
    return np.concatenate([u for u, _ in parts]), np.concatenate([obj for _, obj in parts])


def _grid_basis(problem: Problem, theta: np.ndarray, rows: slice) -> np.ndarray:
    """The law's basis for every row of ``theta`` (g, m) over a block of rows: (g, rows, k)."""
    x = {v: a[None, :] for v, a in problem.cols_of(rows).items()}
    n = len(problem.y[rows])
    th = [theta[:, j][:, None] for j in range(theta.shape[1])]
    return np.broadcast_to(problem.law.basis(x, th), (len(theta), n, len(problem.lin_names)))


def _project_chunk(problem: Problem, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    m_lin, off_lin = problem.lin_map
    m_nl, off_nl = problem.nl_map
    theta = grid @ m_nl.T + off_nl
    blocks = problem.row_blocks(len(grid))
    stats, cached = _normal_statistics(problem, theta, blocks)
    best, feasible = _nnls(problem, stats)
    coef = best @ m_lin.T + off_lin
    obj = np.zeros(len(grid))
    valid = np.ones(len(grid), bool)
    for rows in blocks:
        basis = cached if cached is not None else _grid_basis(problem, theta, rows)
        r, ok = problem.residuals(np.matmul(basis, coef[:, :, None])[:, :, 0], rows)
        f, _ = problem.objective.scale(r)
        obj += np.sum(problem.objective.rho(f), axis=1)
        valid &= ok
    obj[~valid | ~feasible] = np.inf
    # A coefficient NNLS put at exactly 0 would enter the log-space polish as
    # log(0) with no gradient to leave it: start it where its term is 1e-4 of
    # the data instead (the polish may still drive it back towards 0).
    col_mean = stats["col_abs"] / len(problem.y)  # (G, kf)
    floor = 1e-4 * np.mean(problem.y) / np.where(col_mean > 0, col_mean, 1.0)
    for i, name in enumerate(problem.free_lin):
        if problem.log_scaled(name):
            zero = best[:, i] <= 0
            best[zero, i] = floor[zero, i]
    return _free_u(problem, best, grid), obj


def _normal_statistics(problem: Problem, theta: np.ndarray, blocks: list[slice]) -> tuple[dict, np.ndarray | None]:
    """Sums over rows that the projection needs, accumulated block by block.

    ``gram`` (G, kf, kf) and ``rhs`` (G, kf) are the normal equations of the
    weighted least squares for the free coefficients (relative residuals in
    log space), ``tt`` (G,) the target's sum of squares, ``overlap`` (kf, kf)
    how many rows two columns share (which decouples per-group laws) and
    ``col_abs`` (G, kf) each column's sum of magnitudes.  With one block its
    basis is returned too, for scoring without recomputing it.
    """
    m_lin, off_lin = problem.lin_map
    g, kf = len(theta), m_lin.shape[1]
    stats = {
        "gram": np.zeros((g, kf, kf)),
        "rhs": np.zeros((g, kf)),
        "tt": np.zeros(g),
        "overlap": np.zeros((kf, kf)),
        "col_abs": np.zeros((g, kf)),
    }
    basis = None
    for rows in blocks:
        basis = _grid_basis(problem, theta, rows)
        y = problem.y[rows]
        target = y[None, :] - basis @ off_lin  # fixed coefficients' contribution removed
        merged = basis if problem.plain_lin else basis @ m_lin  # tied coefficients share one column
        w = 1.0 / y if problem.space == "log" else np.ones_like(y)  # relative residuals ~ log residuals
        weighted = merged * w[None, :, None]
        t = target * w[None, :]
        weighted_t = weighted.transpose(0, 2, 1)
        stats["gram"] += np.matmul(weighted_t, weighted)
        stats["rhs"] += np.matmul(weighted_t, t[:, :, None])[:, :, 0]
        stats["tt"] += np.sum(t * t, axis=1)
        touches = np.any(merged != 0, axis=0).astype(float)  # (n, kf): row i reaches column j at some grid point
        stats["overlap"] += touches.T @ touches
        stats["col_abs"] += np.sum(np.abs(merged), axis=1)
    return stats, basis if len(blocks) == 1 else None


def _nnls(problem: Problem, stats: dict) -> tuple[np.ndarray, np.ndarray]:
    """Exact non-negative least squares from the normal equations: coefficients (G, kf) and feasibility (G,).

    Coefficients bounded below by 0 are constrained; for each block of
    coupled columns every active set is solved and the feasible one that
    explains the most wins (exact NNLS for a handful of columns).
    """
    gram_full, rhs_full, tt = stats["gram"], stats["rhs"], stats["tt"]
    g, kf = rhs_full.shape
    scale = np.sqrt(np.einsum("gii->gi", gram_full))  # column norms, to condition the solves
    scale[scale == 0] = 1.0
    gram_s = gram_full / scale[:, :, None] / scale[:, None, :]
    rhs_s = rhs_full / scale
    is_constrained = [problem.log_scaled(n) for n in problem.free_lin]
    best = np.zeros((g, kf))
    explained = np.zeros(g)  # sum over blocks of sol . rhs: tt - explained is the residual
    feasible_all = np.ones(g, bool)
    for block in _overlap_blocks(stats["overlap"] > 0):
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
    return best, feasible_all & np.isfinite(tt - explained)


def _column_blocks(columns: np.ndarray) -> list[list[int]]:
    """Groups of basis columns (..., n, kf) that share rows; see :func:`_overlap_blocks`."""
    touches = np.any(columns != 0, axis=0)  # (n, kf): row i reaches column j at some grid point
    return _overlap_blocks((touches.T.astype(float) @ touches.astype(float)) > 0)


def _overlap_blocks(overlap: np.ndarray) -> list[list[int]]:
    """Groups of basis columns that share rows (connected through any common nonzero row).

    ``overlap`` (kf, kf) says which pairs of columns have a row in common.
    Columns of different blocks touch disjoint rows, so their normal equations
    decouple and non-negative least squares can be solved block by block: 2^k
    active sets per block instead of 2^(total).  A law whose columns all share
    rows (every ordinary law) is one block; a law fitted per group has one
    block per group.
    """
    kf = overlap.shape[0]
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


def _unit_coords(problem: Problem, grid: np.ndarray) -> np.ndarray:
    """Grid points in the grid's box scaled to [0, 1] per parameter (log scale for scale-like parameters)."""
    coords = np.array(grid, dtype=float)
    for j, name in enumerate(problem.free_nl):
        if problem.log_scaled(name):
            coords[:, j] = np.log(np.maximum(coords[:, j], 1e-300))
    span = coords.max(axis=0) - coords.min(axis=0)
    return (coords - coords.min(axis=0)) / np.where(span > 0, span, 1.0)


def _spread_out(problem: Problem, grid: np.ndarray, order: list[int], min_distance: float = 0.2) -> list[int]:
    """``order`` (best first) thinned so that no kept point lies within ``min_distance`` of a better kept one.

    Distances are measured in the grid's box scaled to [0, 1] per parameter
    (log scale for scale-like parameters), so the starts polished first come
    from different regions rather than crowding into the best one's basin.
    The points left out follow, best first, so nothing is lost.
    """
    if not order:
        return order
    coords = _unit_coords(problem, grid)
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
    minima = [int(i) for i in minima[np.argsort(obj[minima], kind="stable")]]
    return _plateaus_once(obj, minima, _unit_coords(problem, grid)) or order


def _plateaus_once(obj: np.ndarray, minima: list[int], coords: np.ndarray) -> list[int]:
    """``minima`` (best first) with every plateau of tied objectives (to 1e-12, relative) first taken once.

    When the projection puts a coefficient at 0, the exponent of its term no
    longer matters, and every grid point along that exponent scores the very
    same objective: a flat plateau that the neighbour test sees as many
    minima.  Taken in grid order, three starts would crowd into one end of
    it, where the exponent is near 0, the dead term copies the constant and
    the polish drifts along that trade-off instead of waking the term up.
    So each plateau is represented by its middle point, every basin before
    any second start; then up to :data:`_PLATEAU_STARTS` other points of
    each plateau follow, farthest from those already taken first, for
    starts that remain.
    """
    plateaus: list[list[int]] = []
    for i in minima:
        for plateau in plateaus:
            if abs(obj[i] - obj[plateau[0]]) <= 1e-12 * abs(obj[plateau[0]]):
                plateau.append(i)
                break
        else:
            plateaus.append([i])
    firsts = [sorted(plateau)[len(plateau) // 2] for plateau in plateaus]
    rest = []
    for plateau, first in zip(plateaus, firsts):
        members = np.array(plateau)
        distance = np.linalg.norm(coords[members] - coords[first], axis=1)  # to the nearest point taken
        for _ in range(min(len(plateau) - 1, _PLATEAU_STARTS)):
            far = int(np.argmax(distance))
            rest.append(int(members[far]))
            distance = np.minimum(distance, np.linalg.norm(coords[members] - coords[members[far]], axis=1))
    return firsts + rest


class _OutOfWork(Exception):
    """Raised inside an optimiser's callback when its evaluation budget is spent."""


class Work:
    """Objective evaluations spent by one polish, against a limit: the work a fit may do, not its wall time.

    One evaluation is the objective (or residuals, or objective and
    gradient, or the Gauss-Newton sums) at one parameter vector over the
    problem's rows.  :meth:`objective` and :meth:`residuals` wrap a
    problem's for the optimisers: they count each evaluation, raise
    :class:`_OutOfWork` past the limit, and remember the best point seen, so
    an interrupted polish still returns its best.
    """

    def __init__(self, problem: Problem, limit: int):
        self.problem, self.limit, self.spent = problem, limit, 0
        self.refused = False  # an evaluation was refused: the limit was reached
        self.best_u: np.ndarray | None = None
        self.best_f = np.inf
        self._last: tuple[bytes, np.ndarray, np.ndarray] | None = None

    @property
    def left(self) -> int:
        return max(0, self.limit - self.spent)

    @property
    def exhausted(self) -> bool:
        return self.refused or self.spent >= self.limit

    def charge(self, evaluations: int = 1) -> None:
        """Count ``evaluations`` about to be made, or raise :class:`_OutOfWork` (counting none) past the limit."""
        if self.spent + evaluations > self.limit:
            self.refused = True
            raise _OutOfWork
        self.spent += evaluations

    def _seen(self, u: np.ndarray, f: float) -> None:
        if f < self.best_f:
            self.best_u, self.best_f = np.array(u, dtype=float), f

    def objective(self, u: np.ndarray) -> tuple[float, np.ndarray]:
        """``problem.value_and_grad``, counted."""
        self.charge()
        f, g = self.problem.value_and_grad(u)
        self._seen(u, f)
        return f, g

    def residuals(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``problem.residuals_jacobian``, counted once per point (``least_squares`` asks for the Jacobian of
        the point whose residuals it just had)."""
        key = np.asarray(u, dtype=float).tobytes()
        if self._last is None or self._last[0] != key:
            self.charge()
            f, jac = self.problem.residuals_jacobian(u)
            value = np.inf if f.size and np.isnan(f[0]) else float(np.sum(self.problem.objective.rho(f)))
            self._seen(u, value)
            self._last = (key, f, jac)
        return self._last[1], self._last[2]


def _trust_region(work: Work, u: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Gauss-Newton trust-region polish (``least_squares``, 'trf') on the same objective.

    ``least_squares`` with ``loss='huber'`` and ``f_scale=delta`` minimises exactly
    the sum of ``scipy.special.huber(delta, r)``; its second-order steps finish
    narrow, weakly identified valleys where L-BFGS crawls.
    """
    obj = work.problem.objective

    def fun(v):
        f = work.residuals(v)[0]
        return np.where(np.isnan(f), 1e6, f)

    res = least_squares(
        fun,
        u,
        jac=lambda v: work.residuals(v)[1],
        bounds=(lo, hi),
        loss=obj.lsq_loss,
        f_scale=obj.lsq_scale,
        method="trf",
        xtol=1e-15,
        ftol=1e-15,
        gtol=1e-15,
        max_nfev=max(1, min(_TRUST_REGION_EVALUATIONS, work.left)),
    )
    return res.x


def polish(
    problem: Problem, u: np.ndarray, *, thorough: bool = True, work: Work | None = None
) -> tuple[np.ndarray, float, bool, str]:
    """Minimise jointly from ``u``: a trust-region Gauss-Newton pass, then (if
    ``thorough``) L-BFGS-B restarted until it stops improving and a few damped
    Newton steps.  Returns the best point seen, its objective, and the
    optimiser's status.

    The polish spends at most ``work.limit`` objective evaluations (a fresh
    :func:`polish_limit` when ``work`` is None); when they run out it returns
    the best point seen, not converged, with a message saying so.
    """
    work = Work(problem, polish_limit(problem)) if work is None else work
    lo, hi = problem.bounds()
    u = np.clip(np.asarray(u, dtype=float), lo, hi)
    try:
        best_f, _ = work.objective(u)
        if u.size == 0:
            return u, best_f, True, "no free parameters"
        v = _trust_region(work, u, lo, hi)
        f, _ = work.objective(v)
        if f <= best_f:
            u, best_f = v, f
        success, message = True, "trust-region polish"
        if thorough:
            bounds = [(None if not np.isfinite(a) else a, None if not np.isfinite(b) else b) for a, b in zip(lo, hi)]
            for _ in range(_MAX_RESTARTS):
                options = {**_LBFGS_OPTIONS, "maxfun": max(1, min(_LBFGS_OPTIONS["maxfun"], work.left))}
                res = minimize(work.objective, u, jac=True, method="L-BFGS-B", bounds=bounds, options=options)
                success, message = bool(res.success) or res.status == 2, str(res.message)
                improved = best_f - res.fun
                if res.fun <= best_f:
                    u, best_f = res.x, float(res.fun)
                if improved <= 1e-14 * abs(best_f) or work.exhausted:
                    break
            # L-BFGS stops on a relative reduction, which on noiseless data leaves a weakly seen term off by 1e-5;
            # a few Newton steps (second order in the residuals) finish it, and cost nothing when it is done.
            v, fv, _ = damped_newton(problem, u[None], max_iter=_NEWTON_FINISH, work=work)
            if fv[0] < best_f:
                u, best_f = v[0], float(fv[0])
        if work.exhausted:
            raise _OutOfWork
    except _OutOfWork:
        if work.best_u is None:  # not even the start was evaluated
            return u, np.inf, False, _out_of_work_message(work)
        return work.best_u, work.best_f, False, _out_of_work_message(work)
    return u, best_f, success, message


def polish_limit(problem: Problem) -> int:
    """The objective evaluations one polish may spend: :data:`POLISH_EVALUATIONS` per free parameter.

    A well-posed fit needs a few dozen to a few hundred; a flat valley (a
    broken power law's break, or noise with no trend in it) can take
    L-BFGS tens of thousands of tiny steps, and is better reported as not
    certified than run for a minute.
    """
    return POLISH_EVALUATIONS * max(1, problem.n_free)


def _out_of_work_message(work: Work) -> str:
    return (
        f"stopped at its work limit of {work.limit} objective evaluations before the optimum was certified "
        "(the constants are the best point found, and may not be the best fit)"
    )


def damped_newton(
    problem: Problem,
    U0: np.ndarray,
    counts: np.ndarray | None = None,
    *,
    max_iter: int = 300,
    tol: float = 1e-12,
    work: Work | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Minimise the (count-weighted) objective from every row of ``U0`` (B, p) together.

    One damped Newton step per vector per iteration on the sums of
    :meth:`Problem.normal_equations` (Gauss-Newton Hessian, Levenberg-
    Marquardt damping scaled by the reweighted-least-squares diagonal, a
    step kept only if it lowers the objective): a few batched numpy
    operations whatever the number of vectors (a bootstrap's draws) or rows
    (a million-row table, walked in blocks).  A vector is done when three
    accepted steps in a row gain at most ``tol`` (relative), or one did and the
    quadratic model forecasts no more than that for the next, or when no step
    gains at all (the damping saturates).  Returns ``(U (B, p), objective
    (B,), done (B,))``; ``work`` (when given) is charged one evaluation per
    vector per iteration, and running out ends the iterations with the
    vectors not done.
    """
    lo, hi = problem.bounds()
    U = np.clip(np.array(np.atleast_2d(U0), dtype=float), lo, hi)
    b, p = U.shape
    if work is not None:
        work.charge(b)
    obj, grad, hess, damping = problem.normal_equations(U, counts)
    lam = np.full(b, 1e-3)
    done = np.zeros(b, bool)
    stall = np.zeros(b, int)
    for _ in range(max_iter):
        act = np.flatnonzero(~done)
        if act.size == 0:
            break
        # A parameter on its bound whose gradient pushes it outward stays there (a projected Newton step);
        # the others take the damped Newton step of the reduced system.
        g = grad[act]
        pinned = ((U[act] <= lo) & (g > 0)) | ((U[act] >= hi) & (g < 0))
        g = np.where(pinned, 0.0, g)
        damp = hess[act] + (lam[act][:, None] * (damping[act] + 1e-300))[:, :, None] * np.eye(p)[None]
        damp = np.where(pinned[:, :, None] | pinned[:, None, :], 0.0, damp) + pinned[:, :, None] * np.eye(p)[None]
        try:
            step = np.linalg.solve(damp, -g[..., None])[..., 0]
        except np.linalg.LinAlgError:
            step = np.stack([np.linalg.lstsq(m, -v, rcond=None)[0] for m, v in zip(damp, g)])
        # The model's own forecast of the next step's gain: once a step has gained nothing and the model
        # expects nothing either, the vector is done without paying for one more evaluation.
        predicted = -np.sum(g * step, axis=1) - 0.5 * np.einsum("bi,bij,bj->b", step, hess[act], step)
        settled = (stall[act] >= 1) & (predicted <= tol * np.abs(obj[act]))
        done[act[settled]] = True
        act, step = act[~settled], step[~settled]
        if act.size == 0:
            break
        trial = np.clip(U[act] + step, lo, hi)
        if work is not None:
            try:
                work.charge(act.size)
            except _OutOfWork:
                break
        t_obj, t_grad, t_hess, t_damping = problem.normal_equations(trial, None if counts is None else counts[act])
        accept = t_obj <= obj[act]
        gain = (obj[act] - t_obj) / np.maximum(np.abs(obj[act]), 1e-300)
        idx = act[accept]
        U[idx], obj[idx], grad[idx] = trial[accept], t_obj[accept], t_grad[accept]
        hess[idx], damping[idx] = t_hess[accept], t_damping[accept]
        lam[act] = np.clip(np.where(accept, lam[act] / 4, lam[act] * 8), 1e-12, 1e12)
        stall[act] = np.where(accept, np.where(gain <= tol, stall[act] + 1, 0), stall[act])
        done[act] = (stall[act] >= 3) | (lam[act] >= 1e12)
    return U, obj, done


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


def _log_support(problem: Problem) -> np.ndarray | None:
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
        support=_log_support(problem),
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
    grid = _grid(problem)
    product = int(np.prod([len(a) for a in _grid_axes(problem)])) == len(grid)
    if not product and problem.separable:  # a Sobol sample of a many-exponent box: more, spread-out starts
        starts = max(starts, 2 * grid.shape[1])
    if problem.separable:
        u_starts, obj = _projected_starts(scan, grid)
        order = _basin_representatives(problem, obj, product, grid)[: max(1, starts)]
    else:
        u_starts, obj = _scored_starts(scan, grid)
        order = _basin_representatives(problem, obj, product, grid)[: max(2, 2 * starts)]
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
        projected, projected_obj = _projected_starts(problem, theta)
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
