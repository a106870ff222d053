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

Coefficients bounded below by zero are optimised in log space (as Besiroglu et
al. do), which keeps predictions positive.  Fitting never plots, prints or
writes; warnings travel inside the :class:`FitResult`.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Iterable, Mapping

import numpy as np
from scipy.optimize import least_squares, minimize

from workbench.errors import WorkbenchError
from workbench.fit.objectives import Objective, make_objective
from workbench.fit.result import FitResult
from workbench.laws.base import Law

_LBFGS_OPTIONS = {"maxiter": 20000, "maxfun": 100000, "ftol": 1e-15, "gtol": 1e-13, "maxcor": 30}
_MAX_RESTARTS = 6


@dataclass(frozen=True)
class Problem:
    """A law, the data it is fitted to, the objective, and which parameters are free."""

    law: Law
    cols: Mapping[str, np.ndarray]
    y: np.ndarray
    objective: Objective
    fixed: Mapping[str, float]

    @property
    def logy(self) -> np.ndarray:
        return np.log(self.y)

    @property
    def free_linear(self) -> tuple[int, ...]:
        return tuple(i for i, p in enumerate(self.law.linear) if p.name not in self.fixed)

    @property
    def free_nonlinear(self) -> tuple[int, ...]:
        return tuple(i for i, p in enumerate(self.law.nonlinear) if p.name not in self.fixed)

    @property
    def n_free(self) -> int:
        return len(self.free_linear) + len(self.free_nonlinear)

    def log_scaled(self, i: int) -> bool:
        """Coefficients bounded below by zero are optimised as their logarithm."""
        return self.law.linear[i].lower == 0.0

    # -- packing between (coef, theta) and the optimiser's vector u ---------
    def full(self, values: Mapping[str, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
        merged = {**(values or {}), **self.fixed}
        coef = np.array([merged.get(p.name, np.nan) for p in self.law.linear], dtype=float)
        theta = np.array([merged.get(p.name, np.nan) for p in self.law.nonlinear], dtype=float)
        return coef, theta

    def pack(self, coef: np.ndarray, theta: np.ndarray) -> np.ndarray:
        lin = []
        for i in self.free_linear:
            if self.log_scaled(i):
                lin.append(np.log(max(coef[i], 1e-300)))
            else:
                lin.append(coef[i])
        return np.array(lin + [theta[j] for j in self.free_nonlinear], dtype=float)

    def unpack(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        coef, theta = self.full()
        k = len(self.free_linear)
        for pos, i in enumerate(self.free_linear):
            coef[i] = np.exp(u[pos]) if self.log_scaled(i) else u[pos]
        for pos, j in enumerate(self.free_nonlinear):
            theta[j] = u[k + pos]
        return coef, theta

    def bounds(self) -> list[tuple[float | None, float | None]]:
        out: list[tuple[float | None, float | None]] = []
        for i in self.free_linear:
            p = self.law.linear[i]
            if self.log_scaled(i):
                out.append((None, float(np.log(p.upper)) if np.isfinite(p.upper) else None))
            else:
                out.append((p.lower if np.isfinite(p.lower) else None, p.upper if np.isfinite(p.upper) else None))
        for j in self.free_nonlinear:
            p = self.law.nonlinear[j]
            out.append((p.lower, p.upper))
        return out

    def values(self, coef: np.ndarray, theta: np.ndarray) -> dict[str, float]:
        vals = {p.name: float(c) for p, c in zip(self.law.linear, coef)}
        vals.update({p.name: float(t) for p, t in zip(self.law.nonlinear, theta)})
        return {name: vals[name] for name in self.law.names}

    # -- objective -----------------------------------------------------------
    def value(self, coef: np.ndarray, theta: np.ndarray) -> float:
        pred = self.law.basis(self.cols, theta) @ coef
        if np.any(~(pred > 0)):
            return np.inf
        return float(np.sum(self.objective.rho(np.log(pred) - self.logy)))

    def residuals_and_jacobian(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Log residuals, their Jacobian in ``u`` (n, p), and the predictions."""
        coef, theta = self.unpack(u)
        basis = self.law.basis(self.cols, theta)
        pred = basis @ coef
        if np.any(~(pred > 0)):
            return np.full(len(self.y), np.nan), np.zeros((len(self.y), len(u))), pred
        cols = [basis[:, i] * coef[i] if self.log_scaled(i) else basis[:, i] for i in self.free_linear]
        if self.free_nonlinear:
            dpred = np.einsum("nkm,k->nm", self.law.basis_grad(self.cols, theta), coef)
            cols.extend(dpred[:, j] for j in self.free_nonlinear)
        jac = np.stack(cols, axis=1) / pred[:, None] if cols else np.zeros((len(self.y), 0))
        return np.log(pred) - self.logy, jac, pred

    def value_and_grad(self, u: np.ndarray) -> tuple[float, np.ndarray]:
        r, jac, _ = self.residuals_and_jacobian(u)
        if r.size and np.isnan(r[0]):  # a non-positive prediction
            return 1e300, np.zeros_like(u)
        return float(np.sum(self.objective.rho(r))), jac.T @ self.objective.drho(r)


def make_problem(
    law: Law,
    data,
    *,
    loss: str = "huber",
    delta: float = 1e-3,
    fixed: Mapping[str, float] | None = None,
) -> Problem:
    """Check the data against the law and build the optimisation problem."""
    fixed = dict(fixed or {})
    for name, value in fixed.items():
        p = law.parameter(name)
        if not (p.lower <= value <= p.upper):
            raise WorkbenchError(f"fixed value {name}={value} is outside its bounds [{p.lower}, {p.upper}]")
    cols = {}
    for v in (*law.variables, law.target):
        try:
            raw = data[v]
        except Exception:  # KeyError for mappings, ColumnNotFoundError for polars
            raise WorkbenchError(f"data has no column {v!r} needed by law {law.name!r}") from None
        try:
            arr = np.asarray(raw, dtype=float)
        except (TypeError, ValueError):
            raise WorkbenchError(f"column {v!r} is not numeric") from None
        if arr.ndim != 1:
            raise WorkbenchError(f"column {v!r} must be one-dimensional")
        bad = np.flatnonzero(~np.isfinite(arr) | (arr <= 0))
        if bad.size:
            raise WorkbenchError(f"column {v!r} has a non-positive or non-finite value at row {bad[0] + 1}: {arr[bad[0]]}")
        cols[v] = arr
    y = cols.pop(law.target)
    problem = Problem(law=law, cols=cols, y=y, objective=make_objective(loss, delta), fixed=fixed)
    if len(y) < problem.n_free:
        raise WorkbenchError(
            f"{len(y)} data points cannot determine the {problem.n_free} free parameters of law {law.name!r}"
        )
    return problem


def _grid_axes(problem: Problem) -> list[np.ndarray]:
    """Starting values of each free non-linear parameter (declared, or 10 interior points)."""
    axes = []
    for j in problem.free_nonlinear:
        p = problem.law.nonlinear[j]
        axes.append(np.asarray(p.grid or np.linspace(p.lower, p.upper, 12)[1:-1], dtype=float))
    return axes


def _grid(problem: Problem) -> np.ndarray:
    """Cartesian grid of the free non-linear parameters, shape (G, m_free)."""
    axes = _grid_axes(problem)
    if not axes:
        return np.zeros((1, 0))
    return np.array(list(itertools.product(*axes)))


def _projected_starts(problem: Problem, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact NNLS coefficients and the objective at every grid point.

    Returns ``(coef (G, k), theta (G, m), objective (G,))``.
    """
    law, y = problem.law, problem.y
    _, theta0 = problem.full()
    theta = np.repeat(theta0[None, :], len(grid), axis=0)
    for pos, j in enumerate(problem.free_nonlinear):
        theta[:, j] = grid[:, pos]
    cols = {v: a[None, :] for v, a in problem.cols.items()}
    basis = law.basis(cols, [theta[:, j][:, None] for j in range(theta.shape[1])])  # (G, n, k)
    basis = np.broadcast_to(basis, (len(grid), len(y), len(law.linear)))
    coef_fixed, _ = problem.full()
    fixed_idx = [i for i in range(len(law.linear)) if i not in problem.free_linear]
    target = y.copy()
    if fixed_idx:
        target = y[None, :] - basis[:, :, fixed_idx] @ coef_fixed[fixed_idx]
    else:
        target = np.broadcast_to(y, (len(grid), len(y)))
    free = list(problem.free_linear)
    weighted = basis[:, :, free] / y[None, :, None]  # relative residuals ~ log residuals
    t = target / y[None, :]
    # Normal equations once for all columns; each active set is a sub-block.
    gram_full = np.einsum("gni,gnj->gij", weighted, weighted)
    rhs_full = np.einsum("gni,gn->gi", weighted, t)
    tt = np.einsum("gn,gn->g", t, t)
    scale = np.sqrt(np.einsum("gii->gi", gram_full))  # column norms, to condition the solves
    scale[scale == 0] = 1.0
    gram_s = gram_full / scale[:, :, None] / scale[:, None, :]
    rhs_s = rhs_full / scale
    constrained = [pos for pos, i in enumerate(free) if problem.log_scaled(i)]
    unconstrained = [pos for pos in range(len(free)) if pos not in constrained]
    best_sse = np.full(len(grid), np.inf)
    best = np.zeros((len(grid), len(free)))
    for r in range(len(constrained) + 1):
        for subset in itertools.combinations(constrained, r):
            active = sorted(unconstrained + list(subset))
            if not active:
                continue
            ix = np.ix_(range(len(grid)), active, active)
            gram = gram_s[ix] + 1e-12 * np.eye(len(active))  # unit-norm columns; guards exact collinearity
            rhs = rhs_s[:, active]
            sol = np.linalg.solve(gram, rhs[..., None])[..., 0]
            c = np.zeros((len(grid), len(free)))
            c[:, active] = sol / scale[:, active]
            feasible = np.all(c[:, constrained] >= 0, axis=1) if constrained else np.ones(len(grid), bool)
            sse = tt - np.einsum("gi,gi->g", sol, rhs)  # residual of an exact least-squares solve
            better = feasible & (sse < best_sse)
            best_sse[better] = sse[better]
            best[better] = c[better]
    coef = np.repeat(coef_fixed[None, :], len(grid), axis=0)
    coef[:, free] = best
    pred = np.einsum("gnk,gk->gn", basis, coef)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.log(pred) - problem.logy[None, :]
        obj = np.sum(problem.objective.rho(r), axis=1)
    obj[~np.all(pred > 0, axis=1) | ~np.isfinite(best_sse)] = np.inf
    return coef, theta, obj


def _basin_representatives(problem: Problem, obj: np.ndarray) -> list[int]:
    """Grid points that are local minima of the projected objective, best first.

    Each local minimum of the profile over the non-linear parameters marks a
    separate basin, so polishing one point per basin (rather than the k best
    points, which crowd into one basin) is what finds the global optimum.
    """
    shape = tuple(len(axis) for axis in _grid_axes(problem))
    if int(np.prod(shape)) != obj.size or obj.size == 1:
        return list(np.argsort(obj))
    surface = obj.reshape(shape)
    padded = np.pad(surface, 1, constant_values=np.inf)
    is_min = np.ones(shape, bool)
    for offset in itertools.product((-1, 0, 1), repeat=len(shape)):
        if any(offset):
            window = tuple(slice(1 + o, 1 + o + n) for o, n in zip(offset, shape))
            is_min &= surface <= padded[window]
    minima = np.flatnonzero(is_min.ravel() & np.isfinite(obj))
    return list(minima[np.argsort(obj[minima])]) or list(np.argsort(obj))


def _trust_region(problem: Problem, u: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Gauss-Newton trust-region polish (``least_squares``, 'trf') on the same objective.

    ``least_squares`` with ``loss='huber'`` and ``f_scale=delta`` minimises exactly
    the sum of ``scipy.special.huber(delta, r)``; its second-order steps finish
    narrow, weakly identified valleys where L-BFGS crawls.
    """
    obj = problem.objective

    def fun(v):
        r = problem.residuals_and_jacobian(v)[0]
        return np.where(np.isnan(r), 1e6, r)

    res = least_squares(
        fun,
        u,
        jac=lambda v: problem.residuals_and_jacobian(v)[1],
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


def polish(
    problem: Problem, coef: np.ndarray, theta: np.ndarray, *, thorough: bool = True
) -> tuple[np.ndarray, np.ndarray, float, bool, str]:
    """Minimise jointly from ``(coef, theta)``.

    A trust-region Gauss-Newton pass (when the loss allows it) followed, if
    ``thorough``, by L-BFGS-B restarted until it stops improving; the best point
    seen is returned.
    """
    u = problem.pack(coef, theta)
    bounds = problem.bounds()
    lo = np.array([b[0] if b[0] is not None else -np.inf for b in bounds])
    hi = np.array([b[1] if b[1] is not None else np.inf for b in bounds])
    u = np.clip(u, lo, hi)
    best_f, _ = problem.value_and_grad(u)
    success, message = True, "no free parameters"
    if u.size == 0:
        c, t = problem.unpack(u)
        return c, t, best_f, True, message
    if problem.objective.lsq_loss is not None:
        v = _trust_region(problem, u, lo, hi)
        f, _ = problem.value_and_grad(v)
        if f <= best_f:
            u, best_f = v, f
        success, message = True, "trust-region polish"
    for _ in range(_MAX_RESTARTS if thorough or problem.objective.lsq_loss is None else 0):
        res = minimize(problem.value_and_grad, u, jac=True, method="L-BFGS-B", bounds=bounds, options=_LBFGS_OPTIONS)
        success, message = bool(res.success) or res.status == 2, str(res.message)
        improved = best_f - res.fun
        if res.fun <= best_f:
            u, best_f = res.x, float(res.fun)
        if improved <= 1e-14 * abs(best_f):
            break
    c, t = problem.unpack(u)
    return c, t, best_f, success, message


def _bound_warnings(problem: Problem, values: Mapping[str, float]) -> list[str]:
    out = []
    for p in problem.law.parameters:
        if p.name in problem.fixed:
            continue
        v = values[p.name]
        span = p.upper - p.lower if np.isfinite(p.upper - p.lower) else max(1.0, abs(v))
        if p.linear and p.lower == 0.0:
            scale = max(abs(values[q.name]) for q in problem.law.linear) or 1.0
            if v <= 1e-9 * scale:
                out.append(f"{p.name} ended at its lower bound 0: the data do not support this term")
            elif np.isfinite(p.upper) and v >= p.upper * (1 - 1e-6):
                out.append(f"{p.name} ended at its upper bound {p.upper:g}")
        elif v - p.lower <= 1e-6 * span:
            out.append(f"{p.name} ended at its lower bound {p.lower:g}")
        elif p.upper - v <= 1e-6 * span:
            out.append(f"{p.name} ended at its upper bound {p.upper:g}")
    return out


def domain_of(problem: Problem) -> dict[str, tuple[float, float]]:
    return {v: (float(a.min()), float(a.max())) for v, a in problem.cols.items()}


def fit_problem(problem: Problem, *, starts: int = 3) -> FitResult:
    """Fit a prepared :class:`Problem`; see :func:`fit`."""
    t0 = time.perf_counter()
    grid = _grid(problem)
    coef, theta, obj = _projected_starts(problem, grid)
    order = [i for i in _basin_representatives(problem, obj)[: max(1, starts)] if np.isfinite(obj[i])]
    if not order:
        raise WorkbenchError(f"law {problem.law.name!r}: no starting point gives a positive prediction for every row")
    best = None
    for i in order:
        c, t, f, ok, msg = polish(problem, coef[i], theta[i])
        if best is None or f < best[2]:
            best = (c, t, f, ok, msg)
    c, t, f, ok, msg = best
    seconds = time.perf_counter() - t0
    values = problem.values(c, t)
    warnings = _bound_warnings(problem, values)
    if not ok:
        warnings.append(f"optimiser did not report convergence: {msg}")
    return FitResult(
        law=problem.law,
        params=values,
        objective=f,
        n_points=len(problem.y),
        fit_seconds=seconds,
        loss=problem.objective.name,
        domain=domain_of(problem),
        converged=ok,
        warnings=tuple(warnings),
        details={"grid_points": len(grid), "basins_polished": len(order)},
    )


def fit(
    law: Law,
    data,
    *,
    loss: str = "huber",
    delta: float = 1e-3,
    fixed: Mapping[str, float] | None = None,
    starts: int = 3,
) -> FitResult:
    """Fit ``law`` to ``data`` (a polars DataFrame or a mapping of column -> array).

    ``data`` must hold the law's variables and its target column (``loss``).
    ``fixed`` pins parameters to given values.  ``starts`` is how many basins (local
    minima of the projected objective on the grid) are polished, best first.
    """
    return fit_problem(make_problem(law, data, loss=loss, delta=delta, fixed=fixed), starts=starts)


def objective_at(law: Law, data, values: Mapping[str, float], *, loss: str = "huber", delta: float = 1e-3) -> float:
    """The fitting objective of ``values`` on ``data`` (e.g. to score a published preset)."""
    problem = make_problem(law, data, loss=loss, delta=delta)
    coef, theta = law.split(values)
    return problem.value(coef, theta)


def multistart(problem: Problem, starts: Iterable[Mapping[str, float]], *, options: Mapping | None = None) -> FitResult:
    """The slow reference: plain L-BFGS-B from every start, keep the best.

    This is the procedure of Hoffmann et al. / Besiroglu et al. (a grid of
    thousands of initialisations), kept to check the engine against.  ``options``
    are passed to L-BFGS-B (scipy defaults when None, as those papers used).
    """
    t0 = time.perf_counter()
    bounds = problem.bounds()
    best = None
    n = 0
    for start in starts:
        n += 1
        coef, theta = problem.full(start)
        u0 = problem.pack(coef, theta)
        res = minimize(problem.value_and_grad, u0, jac=True, method="L-BFGS-B", bounds=bounds, options=dict(options or {}))
        if best is None or res.fun < best.fun:
            best = res
    c, t = problem.unpack(best.x)
    values = problem.values(c, t)
    return FitResult(
        law=problem.law,
        params=values,
        objective=float(best.fun),
        n_points=len(problem.y),
        fit_seconds=time.perf_counter() - t0,
        loss=problem.objective.name,
        domain=domain_of(problem),
        converged=bool(best.success),
        warnings=tuple(_bound_warnings(problem, values)),
        details={"starts": n},
    )
