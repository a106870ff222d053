"""Bootstrap confidence intervals for any law, through the same objective.

Each draw resamples the data (points, or whole groups such as every run of one
model size) and refits from the full-data optimum; percentile intervals are
read off the draws.  Draws are seeded, so a bootstrap is reproducible.

Why it is fast: a resample is the same data with integer weights (how often
each point was drawn), and the same problem with other weights.  For separable
laws all draws are refitted *together* by damped Newton steps
(:func:`workbench.fit.local_search.damped_newton`): a step for every draw is a few
batched numpy operations over a (draws x points x parameters) array.  The
Hessian is the Gauss-Newton one with the loss's own curvature (for the Huber
loss, only residuals inside delta curve it), so the draws converge in a few
dozen steps rather than the hundreds that reweighted least squares needs.
Laws without a basis fall back to one trust-region polish per draw.

The draws also say which constants the data cannot pin down, and the result
carries that as flags (see :func:`identification_flags`): an interval that
spans more than a factor of 10, or reaches across 0, means the printed value
is one of many that fit about as well; a parameter that sits on a bound in
most draws is one the data do not support.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from workbench.errors import WorkbenchError
from workbench.fit.diagnostics import bound_sides, canonical_values
from workbench.fit.local_search import damped_newton, polish
from workbench.fit.problem import Problem
from workbench.fit.result import DEFAULT_LEVEL, FitResult, Flag, percentile_interval

POORLY_IDENTIFIED_FACTOR = 10.0  # an interval wider than this factor leaves the constant's size open


@dataclass(frozen=True)
class Bootstrap:
    """The draws behind a confidence interval: one row per resample."""

    names: tuple[str, ...]
    draws: np.ndarray  # (B, n_params), natural scale
    level: float
    converged: np.ndarray  # (B,) bool

    def column(self, name: str) -> np.ndarray:
        """Every draw of parameter ``name`` (converged or not), found by name."""
        if name not in self.names:
            raise WorkbenchError(f"the bootstrap has no parameter {name!r}; it has {', '.join(self.names)}")
        return self.draws[:, self.names.index(name)]

    def interval(self, name: str) -> tuple[float, float]:
        return percentile_interval(self.column(name), self.level)

    def intervals(self) -> dict[str, tuple[float, float]]:
        return {n: self.interval(n) for n in self.names}


def resample_counts(n: int, draws: int, rng: np.random.Generator, groups: np.ndarray | None = None) -> np.ndarray:
    """How often each point is drawn, per resample: (draws, n) integers."""
    if groups is None:
        return rng.multinomial(n, np.full(n, 1.0 / n), size=draws).astype(float)
    labels, inverse = np.unique(np.asarray(groups), return_inverse=True)
    group_counts = rng.multinomial(len(labels), np.full(len(labels), 1.0 / len(labels)), size=draws)
    return group_counts[:, inverse].astype(float)


def batched_refit(problem: Problem, counts: np.ndarray, u0: np.ndarray, *, max_iter: int = 300, tol: float = 1e-12):
    """Minimise the count-weighted objective for every row of ``counts`` from ``u0``.

    Returns ``(U (B, p), objective (B,), converged (B,))``; the steps are
    :func:`workbench.fit.local_search.damped_newton`'s, all draws at once.
    """
    return damped_newton(problem, np.tile(u0, (counts.shape[0], 1)), counts, max_iter=max_iter, tol=tol)


def bootstrap(
    problem: Problem,
    result: FitResult,
    *,
    draws: int = 1000,
    level: float = DEFAULT_LEVEL,
    seed: int = 0,
    groups: np.ndarray | None = None,
) -> tuple[FitResult, Bootstrap]:
    """Percentile bootstrap of ``result`` (fitted on ``problem``): the result with intervals, and every draw.

    ``groups`` (one label per point) resamples whole groups instead of points,
    e.g. every run of a model size, which respects correlated runs.  Most
    callers want :meth:`FitResult.bootstrap`, which uses the fit's own
    problem; this form is for code that needs the raw draws (converged or
    not, in ``Bootstrap.draws`` and ``Bootstrap.converged``) or a problem of
    its own.  The returned result keeps the problem it carries (or ``problem``
    when it carries none).
    """
    if draws < 2:
        raise WorkbenchError(f"a bootstrap needs at least 2 draws, got {draws}")
    if not 0 < level < 1:
        raise WorkbenchError(f"confidence level must be between 0 and 1, got {level}")
    if groups is not None and len(groups) != len(problem.y):
        raise WorkbenchError(f"groups has {len(groups)} labels for {len(problem.y)} points")
    rng = np.random.default_rng(seed)
    counts = resample_counts(len(problem.y), draws, rng, groups)
    u0 = problem.pack(result.params)
    if problem.separable:
        U, _, converged = batched_refit(problem, counts, u0)
    else:
        U, converged = np.empty((draws, u0.size)), np.zeros(draws, bool)
    for i in np.flatnonzero(~converged):  # laws without a basis, and the rare batched straggler
        idx = np.repeat(np.arange(len(problem.y)), counts[i].astype(int))
        U[i], _, ok, _ = polish(problem.subset(idx), u0 if not problem.separable else U[i], thorough=False)
        converged[i] = ok
    names = problem.law.names
    values = [canonical_values(problem, u) for u in U]
    out = np.array([[v[n] for n in names] for v in values])
    boot = Bootstrap(names=names, draws=out, level=level, converged=converged)
    details = {
        "bootstrap_draws": draws,
        "bootstrap_seed": seed,
        "bootstrap_unconverged": int((~converged).sum()),
        "bootstrap_groups": groups is not None,
    }
    flags = identification_flags(problem, result, boot, bound_sides(problem, U))
    if result.problem is None:
        result = dataclasses.replace(result, problem=problem)
    return result.with_ci(boot.intervals(), level=level, draws=out[converged], flags=flags, **details), boot


def identification_flags(problem: Problem, result: FitResult, boot: Bootstrap, sides: np.ndarray) -> list[Flag]:
    """What the draws say about each free parameter: at a bound in most draws, or poorly identified.

    ``sides`` is :func:`workbench.fit.diagnostics.bound_sides` of the draws (B, free
    parameters).  Fixed and tied parameters are not judged (a tied one
    follows its leader, which is).  A parameter at its bound in most draws
    gets that flag (unless the fit itself already ended there); otherwise its
    interval is judged by :func:`spread`.  Refits that did not converge are
    flagged too: their values are in the intervals.
    """
    at_bound_in_fit = {f.parameter for f in result.flags if f.kind == "at_bound"}
    pct = round(100 * boot.level)
    out = []
    for j, name in enumerate(problem.free_names):
        share_low, share_high = float(np.mean(sides[:, j] < 0)), float(np.mean(sides[:, j] > 0))
        if max(share_low, share_high) > 0.5:
            if name not in at_bound_in_fit:
                p = problem.law.parameter(name)
                which, bound, share = (
                    ("lower", p.lower, share_low) if share_low > share_high else ("upper", p.upper, share_high)
                )
                label = f"at its {which} bound {bound:g} in {share:.0%} of bootstrap draws"
                out.append(
                    Flag(
                        "at_bound",
                        name,
                        label,
                        f"{name} is {label}: the data hardly support "
                        f"{'this term' if which == 'lower' and bound == 0 else 'a value inside its range'}",
                        stage="bootstrap",
                    )
                )
            continue
        lo, hi = boot.interval(name)
        why = spread(lo, hi, boot.column(name))
        if why:
            out.append(
                Flag(
                    "poorly_identified",
                    name,
                    "poorly identified",
                    f"{name} is poorly identified: its {pct}% bootstrap interval {_num(lo)} to {_num(hi)} {why}",
                    stage="bootstrap",
                )
            )
    failed = int((~boot.converged).sum())
    if failed:
        out.append(
            Flag(
                "not_converged",
                None,
                f"{failed} of {len(boot.converged)} bootstrap refits did not converge",
                f"{failed} of {len(boot.converged)} bootstrap refits did not converge; their values are in "
                "the intervals",
                stage="bootstrap",
            )
        )
    return out


def spread(lo: float, hi: float, column: np.ndarray) -> str:
    """Why an interval leaves a constant undetermined ("" when it does not).

    Positive intervals are judged by hi / lo and negative ones by lo / hi (the
    ratio of magnitudes): more than a factor of 10 leaves even the order of
    magnitude open.  An interval reaching 0 (or across it) leaves the size
    (or the sign) open, unless the parameter is exactly 0 in every draw.
    """
    if hi <= lo or np.all(column == 0):
        return ""
    if lo > 0 or hi < 0:
        factor = hi / lo if lo > 0 else lo / hi
        return f"spans a factor of {_num(factor)}" if factor > POORLY_IDENTIFIED_FACTOR else ""
    if lo < 0 < hi:
        return "includes 0, so neither its size nor its sign is determined"
    return "reaches 0, so its size is not determined"


def _num(x: float) -> str:
    """A number as a reader takes it in: 12.3, 0.0421, 2.8e6."""
    text = f"{x:.3g}"
    mantissa, e, exponent = text.partition("e")
    return f"{mantissa}e{int(exponent)}" if e else text
