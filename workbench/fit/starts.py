"""Where a fit starts: a grid of the non-linear parameters with the linear ones solved exactly at every point.

For fixed exponents a separable law is linear in its coefficients, so each grid point gets its exact
non-negative least-squares coefficients (from sums over rows, in chunks, so memory does not grow with
grid x rows), is scored by the real objective, and one start is taken per basin (and per plateau).
"""

from __future__ import annotations

import itertools

import numpy as np

from workbench.fit.problem import CELLS, Problem

SCAN_ROWS = 4096  # the starting grid is scored on at most this many rows (a seeded sample of a bigger table)
_MAX_GRID = 4096
_SOBOL_POINTS = 1024
_PLATEAU_STARTS = 4  # further starts offered from a plateau of tied grid points, after one from every basin


def grid_axes(problem: Problem) -> list[np.ndarray]:
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


def start_grid(problem: Problem) -> np.ndarray:
    """Starting points of the free non-linear parameters, shape (G, m_free).

    The Cartesian product of the axes when it has at most 4,096 points,
    otherwise 1,024 scrambled Sobol points (seeded) spanning the same box.
    """
    axes = grid_axes(problem)
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


def projected_starts(problem: Problem, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def column_blocks(columns: np.ndarray) -> list[list[int]]:
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


def scored_starts(problem: Problem, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def basin_representatives(
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
    shape = tuple(len(axis) for axis in grid_axes(problem))
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
