"""What a fit returns: values, objective, warnings and the data's domain.

A :class:`FitResult` is frozen and carries its warnings instead of printing
them, so notebooks, the CLI and tests decide how to show them.  Each trust
problem is also a structured :class:`Flag` (a parameter at a bound, one the
bootstrap cannot pin down, an optimiser that did not converge), so a widget
or a caption can say *which* constant to distrust; :meth:`FitResult.caution`
sums them up in one sentence, and every :class:`Prediction` made from the fit
carries them along.  A fit remembers the range of each variable it was fitted
on, so every prediction can say whether it interpolates or extrapolates, and
by how many decades.

A result made by the engine keeps the :class:`~workbench.fit.problem.Problem`
it was fitted on (not compared, not printed), so ``result.bootstrap(...)``
refits resamples with the very loss, residual space, fixed and tied
parameters of the fit, and no caller has to rebuild (and possibly misbuild)
the problem.

Every interval is a percentile interval at a *level*; the default level is
:data:`DEFAULT_LEVEL` and :func:`percentile_bounds` turns a level into the
percentiles, so 95 % and (2.5, 97.5) are written in one place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from workbench.errors import WorkbenchError
from workbench.laws.base import Law

if TYPE_CHECKING:
    from workbench.fit.problem import Problem

FLAG_KINDS = ("at_bound", "poorly_identified", "not_converged", "underdetermined")
DEFAULT_LEVEL = 0.95  # the confidence level of every interval unless a caller asks for another


def percentile_bounds(level: float = DEFAULT_LEVEL) -> tuple[float, float]:
    """The percentiles that bound a central interval at ``level``: ``(2.5, 97.5)`` for 0.95.

    Rounded to 12 decimals so that 0.95 gives exactly 2.5 and 97.5 (not
    2.5000000000000022), the numbers a reader sees in papers and tables.
    """
    if not 0 < level < 1:
        raise WorkbenchError(f"confidence level must be between 0 and 1, got {level}")
    tail = round(50.0 * (1.0 - level), 12)
    return tail, 100.0 - tail


def percentile_interval(values, level: float = DEFAULT_LEVEL, *, axis: int | None = 0):
    """``(low, high)``: the central percentile interval of ``values`` at ``level``, along ``axis``.

    NaNs (a draw where a quantity does not exist, e.g. no crossing) are left
    out; scalars come back as floats, arrays (one per column) as arrays.
    """
    lo, hi = np.nanpercentile(np.asarray(values, dtype=float), percentile_bounds(level), axis=axis)
    return (float(lo), float(hi)) if np.ndim(lo) == 0 else (lo, hi)


def law_curves(law: Law, draws: np.ndarray, x: Mapping[str, np.ndarray]) -> np.ndarray:
    """The law's values at ``x`` for every row of ``draws`` (columns in ``law.names`` order): (rows, points).

    Far-out draws may overflow; they give inf or NaN quietly, for the caller to keep or drop.
    """
    rows = np.atleast_2d(np.asarray(draws, dtype=float))
    n = len(np.atleast_1d(np.asarray(next(iter(x.values())))))
    if rows.size == 0:
        return np.empty((0, n))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return np.array([law.predict(x, dict(zip(law.names, row))) for row in rows], dtype=float).reshape(len(rows), -1)


@dataclass(frozen=True)
class Flag:
    """One reason to trust a fit less than its printed digits suggest.

    ``kind`` is ``"at_bound"``, ``"poorly_identified"``, ``"not_converged"`` or
    ``"underdetermined"`` (fewer distinct points than free parameters);
    ``parameter`` names the constant concerned (``None`` for the whole fit);
    ``label`` is the few words a table or a prediction shows ("at its lower
    bound 0", "poorly identified") and ``message`` the sentence a student
    reads.  ``stage`` says which step found it (``"fit"`` or ``"bootstrap"``),
    so a new bootstrap replaces the flags of an earlier one.
    """

    kind: str
    parameter: str | None
    label: str
    message: str
    stage: str = "fit"

    @property
    def caveat(self) -> str:
        """The label with the parameter's name, e.g. ``"E at its lower bound 0"``."""
        return f"{self.parameter} {self.label}" if self.parameter else self.label

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "parameter": self.parameter,
            "label": self.label,
            "message": self.message,
            "stage": self.stage,
        }


@dataclass(frozen=True)
class Prediction:
    """The law's value at one point, with how far outside the fitted data it lies."""

    inputs: Mapping[str, float]
    value: float
    extrapolation: Mapping[str, float]  # decades beyond the fitted range, per variable (0 inside)
    outside_hull: bool = False  # outside the convex hull of the fitted points (log space)
    interval: tuple[float, float] | None = None  # bootstrap percentile interval of the value, when bootstrapped
    caveats: tuple[str, ...] = ()  # the fit's trust problems ("E at its lower bound 0", "A poorly identified")

    @property
    def extrapolates(self) -> bool:
        return self.outside_hull or any(v > 0 for v in self.extrapolation.values())

    def to_dict(self, target: str) -> dict:
        out = {
            **{k: float(v) for k, v in self.inputs.items()},
            target: float(self.value),
            "extrapolates": self.extrapolates,
            "decades_beyond_data": {k: round(float(v), 6) for k, v in self.extrapolation.items()},
            "outside_hull": self.outside_hull,
        }
        if self.interval is not None:
            out["ci"] = [float(self.interval[0]), float(self.interval[1])]
        out["warnings"] = list(self.caveats)
        return out


@dataclass(frozen=True)
class FitResult:
    law: Law
    params: Mapping[str, float]
    objective: float
    n_points: int
    fit_seconds: float
    loss: str
    domain: Mapping[str, tuple[float, float]]
    converged: bool = True
    warnings: tuple[str, ...] = ()  # every flag's message (and any other note), for people and old callers
    ci: Mapping[str, tuple[float, float]] | None = None
    ci_level: float = DEFAULT_LEVEL
    details: Mapping[str, object] = field(default_factory=dict)
    support: np.ndarray | None = None  # log10 of the fitted points (n, variables), for the hull test
    draws: np.ndarray | None = field(
        default=None, compare=False, repr=False
    )  # converged bootstrap draws (B, parameters)
    flags: tuple[Flag, ...] = ()  # the warnings that concern trust, structured
    problem: Problem | None = field(default=None, compare=False, repr=False)  # what the engine fitted, for bootstrap()

    def bootstrap(
        self,
        *,
        draws: int = 1000,
        seed: int = 0,
        level: float = DEFAULT_LEVEL,
        groups: np.ndarray | Sequence | None = None,
    ) -> FitResult:
        """This fit with percentile intervals (``ci``), its ``draws`` and the bootstrap's flags.

        Resamples are refitted on the fit's own problem (same loss, residual
        space, fixed and tied parameters); ``groups`` (one label per point)
        resamples whole groups.  :func:`workbench.fit.bootstrap.bootstrap`
        does the work and also returns every draw with its convergence mask.
        """
        if self.problem is None:
            raise WorkbenchError(
                "this result does not carry the problem it was fitted on (it was not made by fit, "
                "fit_problem or multistart): use workbench.fit.bootstrap(problem, result)"
            )
        from workbench.fit.bootstrap import bootstrap  # that module builds on this one

        return bootstrap(self.problem, self, draws=draws, seed=seed, level=level, groups=groups)[0]

    def draws_of(self, name: str) -> np.ndarray:
        """The bootstrap draws of parameter ``name`` (one per converged refit), found by name, not position."""
        if self.draws is None:
            raise WorkbenchError(f"the {self.law.name!r} fit has no bootstrap draws: call result.bootstrap(...) first")
        self.law.parameter(name)  # a clear error for an unknown name
        return self.draws[:, self.law.names.index(name)]

    def caveats(self) -> tuple[str, ...]:
        """Each trust problem in a few words, once each: ``("E at its lower bound 0", "A poorly identified")``."""
        return tuple(dict.fromkeys(f.caveat for f in self.flags))

    def caution(self) -> str:
        """One short sentence for a caption or a widget: what not to trust in this fit ("" when nothing).

        e.g. ``"Caution: E at its lower bound 0; A poorly identified."``
        """
        caveats = self.caveats()
        return f"Caution: {'; '.join(caveats)}." if caveats else ""

    def with_flags(self, flags: tuple[Flag, ...] | list[Flag], stage: str) -> FitResult:
        """This result with ``stage``'s flags replaced by ``flags`` (their messages join ``warnings``)."""
        old = {f.message for f in self.flags if f.stage == stage}
        kept = tuple(f for f in self.flags if f.stage != stage)
        warnings = tuple(w for w in self.warnings if w not in old) + tuple(f.message for f in flags)
        return dataclasses.replace(self, flags=kept + tuple(flags), warnings=warnings)

    def predict(self, x: Mapping[str, np.ndarray]) -> np.ndarray:
        return self.law.predict(x, self.params)

    def extrapolation(self, x: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Decades (log10) each point lies outside the fitted range, per variable."""
        out = {}
        for v in self.law.variables:
            lo, hi = self.domain[v]
            xv = np.asarray(x[v], dtype=float)
            if self.law.domains.get(v, "positive") == "positive":  # decades, on a log axis
                below, above = np.log10(lo / xv), np.log10(xv / hi)
            else:  # variables that may be 0 or negative: distance in units of the fitted range
                span = (hi - lo) or 1.0
                below, above = (lo - xv) / span, (xv - hi) / span
            out[v] = np.maximum(0.0, np.maximum(below, above))
        return out

    def outside_hull(self, x: Mapping[str, np.ndarray]) -> np.ndarray:
        """True where a point lies outside the convex hull of the fitted points (in log space).

        A point can sit inside every variable's range and still be an
        extrapolation: large N *and* large D when the data only had one or the
        other.  One-variable laws reduce to the range test.
        """
        positive = [v for v in self.law.variables if self.law.domains.get(v, "positive") == "positive"]
        n = len(np.atleast_1d(np.asarray(x[self.law.variables[0]])))
        if self.support is None or len(positive) < 2:
            return np.zeros(n, bool)
        pts = np.log10(np.column_stack([np.asarray(x[v], dtype=float) for v in positive]))
        from scipy.spatial import Delaunay, QhullError

        try:
            return Delaunay(self.support).find_simplex(pts) < 0
        except (QhullError, ValueError):  # degenerate support (e.g. all points on a line)
            return np.zeros(len(pts), bool)

    def draw_curves(self, x: Mapping[str, np.ndarray]) -> np.ndarray:
        """The law's values at ``x`` for every bootstrap draw: (draws, points); (0, points) without a bootstrap."""
        return law_curves(self.law, np.empty((0, len(self.law.names))) if self.draws is None else self.draws, x)

    def prediction_interval(
        self, x: Mapping[str, np.ndarray], level: float | None = None
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Percentile interval of the law's value at ``x`` over the bootstrap draws, at ``level`` (default
        ``ci_level``).

        It is the uncertainty of the fitted curve (from refitting resampled
        data), not of a single new measurement: the band of every curve the
        workbench draws.  ``None`` without a bootstrap.
        """
        if self.draws is None or len(self.draws) == 0:
            return None
        return percentile_interval(self.draw_curves(x), self.ci_level if level is None else level, axis=0)

    def predictions(self, points: list[Mapping[str, float]]) -> list[Prediction]:
        cols = {v: np.array([p[v] for p in points], dtype=float) for v in self.law.variables}
        values = self.predict(cols)
        beyond = self.extrapolation(cols)
        hull = self.outside_hull(cols)
        band = self.prediction_interval(cols) if points else None
        caveats = self.caveats()
        return [
            Prediction(
                inputs={v: float(cols[v][i]) for v in self.law.variables},
                value=float(values[i]),
                extrapolation={v: float(beyond[v][i]) for v in self.law.variables},
                outside_hull=bool(hull[i]),
                interval=None if band is None else (float(band[0][i]), float(band[1][i])),
                caveats=caveats,
            )
            for i in range(len(points))
        ]

    def with_ci(
        self,
        ci: Mapping[str, tuple[float, float]],
        level: float = DEFAULT_LEVEL,
        draws: np.ndarray | None = None,
        flags: tuple[Flag, ...] | list[Flag] | None = None,
        **details,
    ) -> FitResult:
        """This result with bootstrap intervals; ``flags`` (when given) replace an earlier bootstrap's flags."""
        out = dataclasses.replace(
            self,
            ci=dict(ci),
            ci_level=level,
            details={**self.details, **details},
            draws=draws if draws is not None else self.draws,
        )
        return out if flags is None else out.with_flags(flags, "bootstrap")

    def table(self):
        """The constants as a polars table: value, interval (when bootstrapped) and what is flagged on each.

        For notebooks and reports: a table reads better than a dict, and a flag
        sits next to the constant it concerns.
        """
        import polars as pl

        flagged = {name: "; ".join(f.label for f in self.flags if f.parameter == name) for name in self.params}
        cols = {"constant": list(self.params), "fitted": [float(v) for v in self.params.values()]}
        if self.ci is not None:
            pct = f"{self.ci_level:.0%}"
            cols[f"{pct} low"] = [float(self.ci[k][0]) for k in self.params]
            cols[f"{pct} high"] = [float(self.ci[k][1]) for k in self.params]
        cols["flag"] = [flagged[k] for k in self.params]
        return pl.DataFrame(cols)

    def to_dict(self) -> dict:
        out = {
            "law": self.law.name,
            "params": {k: float(v) for k, v in self.params.items()},
            "objective": float(self.objective),
            "loss": self.loss,
            "fit_seconds": float(self.fit_seconds),
            "n_points": int(self.n_points),
            "converged": bool(self.converged),
            "warnings": list(self.warnings),
            "flags": [f.to_dict() for f in self.flags],
            "domain": {k: [float(a), float(b)] for k, (a, b) in self.domain.items()},
        }
        if self.ci is not None:
            out["ci"] = {k: [float(a), float(b)] for k, (a, b) in self.ci.items()}
            out["ci_level"] = self.ci_level
        return out


def caution_of(fits) -> str:
    """One sentence of what not to trust across several fits ("" when nothing).

    ``fits`` is a mapping of label -> :class:`FitResult` (the label names the fit
    in the sentence, e.g. ``{"CLIP": fa, "MaMMUT": fb}``) or an iterable of
    results; ``None`` entries are skipped.  Widgets append it to their sentence
    and figures to their caption, so a constant at a bound or a poorly
    identified one is never shown without saying so.
    """
    items = fits.items() if hasattr(fits, "items") else ((None, f) for f in fits)
    parts = []
    for label, fit in items:
        if fit is None:
            continue
        for caveat in fit.caveats():
            parts.append(f"{label} fit: {caveat}" if label else caveat)
    parts = list(dict.fromkeys(parts))
    return f"Caution: {'; '.join(parts)}." if parts else ""
