"""A fitting problem: a law, its data, the objective, and which parameters move.

The optimiser works on a vector ``u`` of *free* parameters.  Fixed parameters
(``E=1.69``) are constants; tied parameters (``beta=alpha``) follow their
leader, which is what a mapping matrix from free to all parameters expresses:
``values = M @ free + fixed``.  Scale-like parameters (linear coefficients
bounded below by 0, or parameters declared ``log_scale``) are optimised as
their logarithm, which keeps them positive and evens out their magnitudes.

Residuals are ``log(prediction) - log(observed)`` by default (every point
weighs by its relative error, and predictions stay positive), or, with
``space="linear"``, ``prediction - observed`` — the objective of papers that
fit with ``scipy.optimize.curve_fit``, needed to reproduce their constants.
They may be weighted asymmetrically, and everything (residuals and their
Jacobian) is computed for a *batch* of parameter vectors at once, so the
bootstrap can move a thousand fits in lock-step with numpy.

A researcher's table may hold a million rows, so nothing here holds an array
of (batch x rows x parameters) for all rows at once unless it is small: the
sums the optimisers need (objective, gradient, Gauss-Newton matrix) are
accumulated over blocks of rows (:meth:`Problem.row_blocks`), so memory stays
bounded whatever the table's size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import polars as pl

from workbench.errors import WorkbenchError
from workbench.fit.objectives import Objective
from workbench.fit.options import FitOptions, tie_pairs
from workbench.laws.base import Law

CELLS = 1 << 18  # (parameter vectors x rows) evaluated as one array at most: ~100 MB of temporaries
BLOCK_CELLS = 1 << 14  # the block size of a bigger walk over rows: in cache, several times faster than big blocks


@dataclass(frozen=True)
class Problem:
    law: Law
    cols: Mapping[str, np.ndarray]
    y: np.ndarray
    objective: Objective
    fixed: Mapping[str, float] = field(default_factory=dict)
    ties: Mapping[str, str] = field(default_factory=dict)  # follower -> leader
    space: str = "log"  # residuals: "log" (log pred - log y) or "linear" (pred - y)

    # -- which parameters are free ---------------------------------------------
    @cached_property
    def logy(self) -> np.ndarray:
        return np.log(self.y)

    def residuals(self, pred: np.ndarray, rows: slice = slice(None)) -> tuple[np.ndarray, np.ndarray]:
        """Residuals of predictions ``pred`` (..., n) of ``rows`` (all by default) and which rows of the batch
        are valid.

        In log space a prediction must be positive; invalid rows get NaN residuals.
        """
        if self.space == "linear":
            valid = np.all(np.isfinite(pred), axis=-1)
            return pred - self.y[rows], valid
        valid = np.all(pred > 0, axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(pred) - self.logy[rows], valid

    def residual_slope(self, pred: np.ndarray) -> np.ndarray:
        """d residual / d prediction."""
        return np.ones_like(pred) if self.space == "linear" else 1.0 / pred

    @property
    def separable(self) -> bool:
        return self.law.basis is not None

    def _kind(self, linear: bool) -> tuple[str, ...]:
        return tuple(p.name for p in self.law.parameters if p.linear == linear)

    @property
    def lin_names(self) -> tuple[str, ...]:
        return self._kind(True)

    @property
    def nl_names(self) -> tuple[str, ...]:
        return self._kind(False)

    def _free(self, names: Sequence[str]) -> tuple[str, ...]:
        return tuple(n for n in names if n not in self.fixed and n not in self.ties)

    @property
    def free_lin(self) -> tuple[str, ...]:
        return self._free(self.lin_names)

    @property
    def free_nl(self) -> tuple[str, ...]:
        return self._free(self.nl_names)

    @property
    def free_names(self) -> tuple[str, ...]:
        return self.free_lin + self.free_nl

    @property
    def n_free(self) -> int:
        return len(self.free_names)

    @cached_property
    def lin_map(self) -> tuple[np.ndarray, np.ndarray]:
        """``(M, offset)`` of the linear coefficients (computed once: every evaluation needs it)."""
        return self.mapping(self.lin_names, self.free_lin)

    @cached_property
    def nl_map(self) -> tuple[np.ndarray, np.ndarray]:
        """``(M, offset)`` of the non-linear parameters."""
        return self.mapping(self.nl_names, self.free_nl)

    @cached_property
    def plain_lin(self) -> bool:
        """Every linear coefficient is free and untied (its mapping is the identity)."""
        return self.free_lin == self.lin_names

    @cached_property
    def plain_nl(self) -> bool:
        """Every non-linear parameter is free and untied."""
        return self.free_nl == self.nl_names

    @cached_property
    def log_mask(self) -> np.ndarray:
        """Which free parameters are optimised as their logarithm (see :meth:`log_scaled`)."""
        return np.array([self.log_scaled(n) for n in self.free_names], dtype=bool)

    def mapping(self, names: Sequence[str], free: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """``(M, offset)`` with ``all = M @ free + offset`` for one kind of parameter."""
        m = np.zeros((len(names), len(free)))
        offset = np.zeros(len(names))
        for i, name in enumerate(names):
            if name in self.fixed:
                offset[i] = self.fixed[name]
            else:
                m[i, free.index(self.ties.get(name, name))] = 1.0
        return m, offset

    def log_scaled(self, name: str) -> bool:
        p = self.law.parameter(name)
        return (p.linear and p.lower == 0.0) or p.log_scale

    # -- packing ------------------------------------------------------------------
    def pack(self, values: Mapping[str, float]) -> np.ndarray:
        out = []
        for name in self.free_names:
            v = float(values[name])
            out.append(np.log(max(v, 1e-300)) if self.log_scaled(name) else v)
        return np.array(out, dtype=float)

    def unpack_free(self, u: np.ndarray) -> np.ndarray:
        """Free parameter values (natural scale) from ``u``; works on (..., p) batches."""
        u = np.asarray(u, dtype=float)
        mask = self.log_mask
        return np.where(mask, np.exp(np.where(mask, u, 0.0)), u)

    def values(self, u: np.ndarray) -> dict[str, float]:
        free = dict(zip(self.free_names, self.unpack_free(u)))
        out = {}
        for p in self.law.parameters:
            if p.name in self.fixed:
                out[p.name] = float(self.fixed[p.name])
            else:
                out[p.name] = float(free[self.ties.get(p.name, p.name)])
        return out

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = [], []
        for name in self.free_names:
            p = self.law.parameter(name)
            if self.log_scaled(name):
                lo.append(np.log(p.lower) if p.lower > 0 else -np.inf)
                hi.append(np.log(p.upper) if np.isfinite(p.upper) else np.inf)
            else:
                lo.append(p.lower)
                hi.append(p.upper)
        return np.array(lo, dtype=float), np.array(hi, dtype=float)

    # -- residuals ------------------------------------------------------------------
    def row_blocks(self, batch: int = 1) -> list[slice]:
        """Slices of the rows to evaluate ``batch`` parameter vectors on, one slice at a time.

        One slice when ``batch`` x rows is within :data:`CELLS` and the rows
        within :data:`BLOCK_CELLS` (every ordinary table, which then computes
        exactly as one array); otherwise blocks of about :data:`BLOCK_CELLS`
        (vector, row) pairs, small enough to stay in the processor's cache,
        of which only sums over rows are kept.
        """
        n = len(self.y)
        if batch * n <= CELLS and n <= BLOCK_CELLS:
            return [slice(0, n)]
        size = max(64, BLOCK_CELLS // max(1, batch))
        return [slice(i, min(n, i + size)) for i in range(0, n, size)]

    def cols_of(self, rows: slice) -> dict[str, np.ndarray]:
        """The variables of a block of rows (views, no copy)."""
        return {v: a[rows] for v, a in self.cols.items()}

    def batch_predict_jacobian(self, U: np.ndarray, cols: Mapping[str, np.ndarray] | None = None):
        """Predictions (B, n) and their Jacobian in ``u`` (B, n, p) for a batch ``U`` (B, p)."""
        cols = self.cols if cols is None else cols
        U = np.atleast_2d(U)
        if not self.separable:
            return self._general_predict_jacobian(U, cols)
        free = self.unpack_free(U)  # (B, p)
        chain = np.where(self.log_mask, free, 1.0)  # d value / d u
        kf = len(self.free_lin)
        m_lin, off_lin = self.lin_map
        m_nl, off_nl = self.nl_map
        coef = free[:, :kf] @ m_lin.T + off_lin  # (B, k)
        theta = free[:, kf:] @ m_nl.T + off_nl  # (B, m)
        x = {v: a[None, :] for v, a in cols.items()}
        th = [theta[:, j][:, None] for j in range(theta.shape[1])]
        n = next(iter(cols.values())).size
        # Far-out trial points can overflow; callers treat non-finite predictions as infeasible.
        with np.errstate(over="ignore", invalid="ignore"):
            basis = np.broadcast_to(self.law.basis(x, th), (len(U), n, coef.shape[1]))
            pred = np.matmul(basis, coef[:, :, None])[:, :, 0]
            jac = np.empty((len(U), n, U.shape[1]))
            jac[:, :, :kf] = basis if self.plain_lin else basis @ m_lin
            if self.free_nl:
                dbasis = np.broadcast_to(self.law.basis_grad(x, th), basis.shape + (theta.shape[1],))  # (B, n, k, m)
                dpred = np.matmul(coef[:, None, None, :], dbasis)[:, :, 0, :]  # (B, n, m)
                jac[:, :, kf:] = dpred if self.plain_nl else dpred @ m_nl
            jac *= chain[:, None, :]
        return pred, jac

    def _exact_predict_jacobian(self, U: np.ndarray, cols):
        """Predictions and Jacobian of a law that declares ``formula_grad``: its exact derivatives, chained
        through ties, fixes and log scaling."""
        slots = [(p, self.free_names.index(self.ties.get(p, p))) for p in self.law.names if p not in self.fixed]
        chain = np.where(self.log_mask, self.unpack_free(U), 1.0)
        preds, jacs = [], []
        for u, du in zip(U, chain):
            values = self.values(u)
            pred = self.law.predict(cols, values)
            grads = self.law.formula_grad({v: np.atleast_1d(cols[v]) for v in self.law.variables}, values)
            jac = np.zeros((pred.size, u.size))
            for name, j in slots:
                jac[:, j] += grads[name]
            preds.append(pred)
            jacs.append(jac * du)
        return np.array(preds), np.array(jacs)

    def _general_predict_jacobian(self, U: np.ndarray, cols):
        if self.law.formula_grad is not None:
            return self._exact_predict_jacobian(U, cols)
        preds, jacs = [], []
        for u in U:
            pred = self.law.predict(cols, self.values(u))
            jac = np.empty((pred.size, u.size))
            for j in range(u.size):
                h = 1e-6 * max(1.0, abs(u[j]))
                up, dn = u.copy(), u.copy()
                up[j] += h
                dn[j] -= h
                jac[:, j] = (self.law.predict(cols, self.values(up)) - self.law.predict(cols, self.values(dn))) / (
                    2 * h
                )
            preds.append(pred)
            jacs.append(jac)
        return np.array(preds), np.array(jacs)

    def residuals_jacobian(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scaled residuals ``f`` (n,) and ``df/du`` (n, p); NaN residuals if a prediction is invalid."""
        u = np.asarray(u, dtype=float)
        n = len(self.y)
        f, jac = np.empty(n), np.empty((n, u.size))
        for rows in self.row_blocks():
            pred, block_jac = self.batch_predict_jacobian(u[None, :], self.cols_of(rows))
            pred, block_jac = pred[0], block_jac[0]
            r, valid = self.residuals(pred, rows)
            if not valid:
                return np.full(n, np.nan), np.zeros(jac.shape)
            f[rows], s = self.objective.scale(r)
            with np.errstate(over="ignore", invalid="ignore"):
                jac[rows] = block_jac * (s * self.residual_slope(pred))[:, None]
        return f, jac

    def value_and_grad(self, u: np.ndarray) -> tuple[float, np.ndarray]:
        f, jac = self.residuals_jacobian(u)
        if f.size and np.isnan(f[0]):
            return 1e300, np.zeros_like(u)
        return float(np.sum(self.objective.rho(f))), jac.T @ self.objective.drho(f)

    def objective_values(self, U: np.ndarray) -> np.ndarray:
        """The objective at every row of ``U`` (B, p), rows walked in blocks (no Jacobian: the cheapest score)."""
        U = np.atleast_2d(np.asarray(U, dtype=float))
        out = np.zeros(len(U))
        for i, u in enumerate(U):
            values = self.values(u)
            for rows in self.row_blocks():
                r, valid = self.residuals(self.law.predict(self.cols_of(rows), values), rows)
                if not valid:
                    out[i] = np.inf
                    break
                f, _ = self.objective.scale(r)
                out[i] += float(np.sum(self.objective.rho(f)))
        return out

    def normal_equations(
        self, U: np.ndarray, counts: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Objective (B,), gradient (B, p), Hessian (B, p, p) and a damping scale (B, p) at every row of ``U``.

        ``counts`` (B, n) weighs the rows (how often a bootstrap resample drew
        each point; all ones when None).  The Hessian is the Gauss-Newton one,
        ``J^T diag(rho''(f)) J``: for the Huber loss only residuals inside
        ``delta`` curve the objective, which is why a Newton step converges
        in a few iterations where iteratively reweighted least squares
        (weights ``rho'(f) / f``) crawls.  The diagonal of that reweighted
        matrix, which is never zero, is returned as the scale a damped step
        uses when the Newton matrix is singular.  Everything is a sum over
        rows, accumulated block by block (:meth:`row_blocks`): memory does
        not grow with the table.  A vector with an invalid prediction on any
        row gets an infinite objective (its other sums mean nothing).
        """
        U = np.atleast_2d(np.asarray(U, dtype=float))
        b, p = U.shape
        obj, grad, hess, damping = np.zeros(b), np.zeros((b, p)), np.zeros((b, p, p)), np.zeros((b, p))
        valid = np.ones(b, bool)
        loss = self.objective
        for rows in self.row_blocks(b):
            pred, jac = self.batch_predict_jacobian(U, self.cols_of(rows))
            r, ok = self.residuals(pred, rows)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # invalid vectors are marked
                f, s = loss.scale(np.where(ok[:, None], r, 0.0))
                slope = self.residual_slope(pred)
                jac *= (slope if loss.over_weight == 1.0 else s * slope)[:, :, None]
                c = np.ones_like(f) if counts is None else counts[:, rows]
                psi = loss.drho(f)
                irls = c * np.where(np.abs(f) > 0, psi / f, 1.0)
                jt = jac.transpose(0, 2, 1)
                obj += np.sum(c * loss.rho(f), axis=1)
                grad += np.matmul(jt, (c * psi)[:, :, None])[:, :, 0]
                hess += np.matmul(jt * (c * loss.d2rho(f))[:, None, :], jac)
                damping += np.matmul(irls[:, None, :], jac * jac)[:, 0, :]
            valid &= ok
        obj[~valid] = np.inf
        return obj, grad, hess, damping

    def constrained(self, values: Mapping[str, float]) -> dict[str, float]:
        """``values`` with the fixed parameters pinned and every tied one set to its leader.

        A score of given constants under options with ``fixed`` or ``tie``
        must obey them, as every point the optimiser visits does; a fit's own
        parameters already do, so this leaves them unchanged.
        """
        out = {**values, **self.fixed}
        for follower, leader in self.ties.items():
            if leader in out:  # a missing leader is the law's error to report, with every missing name
                out[follower] = out[leader]
        return out

    def value(self, values: Mapping[str, float]) -> float:
        r, valid = self.residuals(self.law.predict(self.cols, values))
        if not valid:
            return np.inf
        f, _ = self.objective.scale(r)
        return float(np.sum(self.objective.rho(f)))

    def subset(self, idx: np.ndarray) -> Problem:
        from dataclasses import replace

        return replace(self, cols={v: a[idx] for v, a in self.cols.items()}, y=self.y[idx])


def parse_ties(law: Law, tie: Mapping[str, str] | Sequence[str] | None) -> dict[str, str]:
    """Ties as follower -> leader, from a mapping or strings like ``"beta=alpha"``, checked against ``law``."""
    out = tie_pairs(tie)
    for follower, leader in out.items():
        f, lead = law.parameter(follower), law.parameter(leader)
        if follower == leader:
            raise WorkbenchError(f"cannot tie {follower} to itself")
        if f.linear != lead.linear:
            raise WorkbenchError(f"cannot tie {follower} to {leader}: one is a linear coefficient and the other is not")
    for follower, leader in out.items():
        if leader in out:
            raise WorkbenchError(f"tie chain {follower}={leader}={out[leader]}: tie every parameter to one leader")
    return out


def make_problem(law: Law, data, options: FitOptions | None = None, **overrides) -> Problem:
    """Check the data against the law and build the optimisation problem.

    ``options`` (a :class:`~workbench.fit.options.FitOptions`, defaults when
    None) says which loss, residual space, fixed and tied parameters; keyword
    ``overrides`` (``loss="squared"``, ``space="linear"``, ...) change single
    fields, so ``make_problem(law, data, loss="squared")`` still works.

    Fewer rows than free parameters are refused.  Enough rows but fewer
    *distinct* points (:func:`distinct_points`: one row repeated, or a few
    design points logged many times) are fitted, and the result says so in
    its warnings (an ``underdetermined`` flag): infinitely many curves pass
    through the points, so the optimiser converges to one of them.  Fitting
    keeps such data explorable (noiseless points are matched exactly); the
    flag keeps the result from looking trustworthy.
    """
    options = FitOptions.of(options, **overrides)
    fixed, ties = _constraints(law, options)
    cols, y = read_columns(law, data, space=options.space)
    problem = Problem(law=law, cols=cols, y=y, objective=options.objective, fixed=fixed, ties=ties, space=options.space)
    if len(y) < problem.n_free:
        raise WorkbenchError(
            f"{len(y)} data points cannot determine the {problem.n_free} free parameters of law {law.name!r}"
        )
    return problem


def distinct_points(cols: Mapping[str, np.ndarray], *, enough: int) -> int:
    """How many distinct points (rows of the law's variables) the data hold, counted exactly below ``enough``.

    Rows that repeat one design point (the same run logged six times) add no
    information about the curve's shape, so a law needs at least as many
    distinct points as free parameters to be determined.  Counting stops early once the first
    1,024 rows already hold ``enough``, so a million-row table costs no sort.
    """
    if not cols:  # a law of no variables: every row is the same point, and rows were counted already
        return enough
    table = np.column_stack(list(cols.values()))
    count = 0
    for stop in dict.fromkeys((min(len(table), 1024), len(table))):
        count = len(np.unique(table[:stop], axis=0))
        if count >= enough:
            break
    return count


def _constraints(law: Law, options: FitOptions) -> tuple[dict[str, float], dict[str, str]]:
    """The fixed values and ties of ``options``, checked against the law's parameters and bounds."""
    fixed = dict(options.fixed)
    for name, value in fixed.items():
        p = law.parameter(name)
        if not (p.lower <= value <= p.upper):
            raise WorkbenchError(f"fixed value {name}={value} is outside its bounds [{p.lower}, {p.upper}]")
    ties = parse_ties(law, options.tie)
    for follower, leader in ties.items():
        if follower in fixed:
            raise WorkbenchError(f"{follower} is both fixed and tied to {leader}")
        if leader in fixed:
            raise WorkbenchError(f"{follower} is tied to {leader}, which is fixed: fix {follower} instead")
    return fixed, ties


def read_columns(law: Law, data, *, space: str = "log") -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The law's variables (as float arrays) and its target from ``data``, each checked against its domain.

    In log space the target must be positive.  Scoring rows with known
    constants (a backtest's held-out rows) needs only this, not a problem,
    which would also ask for more rows than free parameters.
    """
    cols = _columns(law, data)
    y = cols.pop(law.target)
    if space == "log" and np.any(y <= 0):
        row = int(np.flatnonzero(y <= 0)[0])
        raise WorkbenchError(f"column {law.target!r} must be positive (log residuals): row {row + 1} is {y[row]}")
    return cols, y


def _columns(law: Law, data) -> dict[str, np.ndarray]:
    """The law's variables and target from ``data`` as float arrays, each checked against its domain."""
    data = _collect_needed(law, data)
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
        domain = law.domains.get(v, "positive")
        bad = np.flatnonzero(
            ~np.isfinite(arr)
            | ((arr <= 0) if domain == "positive" else (arr < 0) if domain == "nonnegative" else False)
        )
        if bad.size:
            raise WorkbenchError(
                f"column {v!r} has a {'non-positive' if domain == 'positive' else 'negative'} or non-finite value at "
                f"row {bad[0] + 1}: {arr[bad[0]]}"
            )
        cols[v] = arr
    return cols


def _collect_needed(law: Law, data):
    """A polars ``LazyFrame`` collected to the law's variables and target only; any other ``data`` as it is.

    A lazy scan over a curve-scale table (``workbench.corpus.scan``) then reads
    just those columns (and the rows its filters keep), never the whole table.
    """
    if not isinstance(data, pl.LazyFrame):
        return data
    needed = list(dict.fromkeys((*law.variables, law.target)))
    have = set(data.collect_schema().names())
    for v in needed:
        if v not in have:
            raise WorkbenchError(f"data has no column {v!r} needed by law {law.name!r}")
    return data.select(needed).collect()
