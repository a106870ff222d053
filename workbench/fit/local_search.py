"""From a start to a certified optimum: trust-region Gauss-Newton, tight L-BFGS-B and damped Newton steps,
under a work limit.

Default optimiser tolerances stop while the objective still falls, so a polish restarts until it stops
improving; a flat valley could keep it stepping for a minute, so each polish has a budget counted in
objective evaluations (:class:`Work`), and a fit that spends it says so instead of running on.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import least_squares, minimize

from workbench.fit.problem import Problem

_LBFGS_OPTIONS = {"maxiter": 3000, "maxfun": 10000, "ftol": 1e-15, "gtol": 1e-13, "maxcor": 30}
_MAX_RESTARTS = 4
_TRUST_REGION_EVALUATIONS = 500
POLISH_EVALUATIONS = 1000  # objective evaluations one polish may spend per free parameter (most need far fewer)
_NEWTON_FINISH = 20  # Newton steps that finish a polish
# Trial points of the optimisers can overflow (scipy's own step computations included); the search rejects a
# point with a non-finite objective, so numpy's warnings about it would only alarm users.
_QUIET_TRIALS = np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore")


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


@_QUIET_TRIALS
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


@_QUIET_TRIALS
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
