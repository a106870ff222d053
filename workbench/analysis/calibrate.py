"""Calibrated extrapolation intervals: how wrong can a prediction beyond the data be?

A bootstrap interval (``fit --bootstrap``) is the spread of curves that fit
resampled data equally well.  It covers sampling noise, not *model-form* error:
if the law's shape is slightly wrong, every resampled curve is wrong the same
way, and on real ladders (fit the small models, predict the large ones) the
point error of 0.5-2.3 % often falls outside it.  The only evidence of how
wrong a law is beyond the data is how wrong it *was* beyond the data, so this
module measures that on the data itself.

**Rolling-origin backtests** (:func:`rolling_origin`).  The distinct values of
the law's *size* variable are ordered (``params`` when the law has it, else
``flops``, else ``tokens``, else its first variable; ``size=`` overrides; sizes
within :data:`SIZE_TOLERANCE` decades are one size, so a digitised ladder's
1.0179e9 and 1.0180e9 are one model).  For each *origin* (the k-th size, from
the ``min_train_sizes``-th on) the law is fitted on every row up to that size
and predicts every row of every larger size (at most ``max_origins``, default
12, origins spread evenly over the ladder: one fit each).  Each held-out row gives one
*backtest error*: its log residual ``log(predicted) - log(observed)`` and its
distance in decades beyond the fitted range (the largest of
:meth:`FitResult.extrapolation` over the law's variables, exactly what a
prediction of the full fit reports).

**Widening** (:func:`calibrate`), by split-conformal prediction on those
errors.  Each error is scored ``|r| / scale(d)`` with ``scale(d) = d0 + d``:
errors grow with the distance, and ``d0`` (:data:`DISTANCE_FLOOR`, in decades)
keeps the in-range scatter from vanishing at ``d = 0``.  With ``n`` scores the
interval's multiplier ``q`` is the ``ceil((n + 1) * level)``-th smallest score,
the finite-sample conformal quantile, so a new prediction at distance ``d`` gets
the log half-width ``q * scale(d)``: ``[y exp(-w), y exp(w)]``.  The reported
*prediction interval* (:class:`PredictionInterval`) is the envelope of that
and the full fit's bootstrap interval, so it is never narrower than the
bootstrap one.  It is an interval for the *measured* loss of a new run (the
backtest errors include each held-out run's own noise), not for the curve.

**Assumptions**, stated because they are not guaranteed:

- The law's error at distance ``d`` beyond the full data behaves like its
  errors at distance ``d`` beyond the smaller ladders (errors scale with the
  distance and are otherwise exchangeable).  A law that breaks only beyond the
  largest model you have cannot be caught by any backtest.
- Backtest errors are not independent: one origin's fit makes all its
  predictions, and origins share rows.  The conformal level is exact for
  exchangeable scores; here it is an approximation, and ``n`` overstates the
  evidence.  The benchmark (``benchmarks/calibration_coverage.py``) measures
  the coverage actually reached on real ladders.
- Intervals are symmetric in log space; a law that is biased in one
  direction gets an interval wide enough on both sides.
- A prediction farther out than any backtest (``beyond_backtests``) relies on
  the linear growth of ``scale(d)``; it is flagged.

**Too few sizes.**  Fewer than ``min_train_sizes + 1`` distinct sizes leave
no origin to backtest from: :func:`rolling_origin` refuses with a
:class:`~workbench.errors.WorkbenchError` naming the size column and its
values.  Origins whose fit fails are skipped and listed.  When
``ceil((n + 1) * level)`` exceeds the number of errors ``n`` (``n < 19`` at
95 %) the requested level cannot be reached: the interval uses the largest
error, its ``level`` is the ``n / (n + 1)`` that the largest error
guarantees, and ``calibrated`` is False with a note.  It is never silent.

**Why ``d0 + d`` and not the distance relative to the fitted span.**  A
fit's exponent error shrinks with its lever arm, so ``d / span`` is the
textbook variable, and it gives narrower intervals; but on Epoch's
Chinchilla points it covered only 72-75 % of held-out larger models, where
the plain distance covers at least 90 % on every corpus source (the
benchmark).  Errors of a wrong form need not shrink with the span.

**Scoreboard** (:func:`scoreboard`): several laws, the same ladder, the same
origins.  Per law the mean and median |log error| of the backtests, the
error by distance, the coverage its calibrated intervals reach in the
backtests themselves (each origin calibrated only on the backtests made
inside its own training rows, as if its larger sizes did not exist yet), and
AIC/BIC of the full fit (:func:`workbench.analysis.backtest.information_criteria`).
The backtests favour the law with the lowest mean |log error| on the
errors every law has.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from workbench.analysis.backtest import information_criteria
from workbench.errors import WorkbenchError, quote
from workbench.fit import DEFAULT_LEVEL, FitOptions, FitResult, Prediction, fit_problem, make_problem
from workbench.fit.problem import read_columns
from workbench.laws.base import Law

SIZE_PREFERENCE = ("params", "flops", "tokens")  # the size variable, first one the law has
SIZE_TOLERANCE = 0.005  # decades: sizes closer than this are one model size (digitised ladders)
DEFAULT_MIN_TRAIN_SIZES = 3  # an origin fits on at least this many sizes
DEFAULT_MAX_ORIGINS = 12  # at most this many origins, spread over the ladder (one fit each)
DISTANCE_FLOOR = 0.1  # decades: scale(d) = DISTANCE_FLOOR + d, so errors at d = 0 still count
DISTANCE_BINS = (0.0, 0.25, 0.5, 1.0, math.inf)  # decades, for the error-by-distance table


def size_variable(law: Law, size: str | None = None) -> str:
    """The column that orders a ladder: ``size`` when given, else params, flops or tokens (the first the law has).

    A law with none of them is ordered by its first variable.
    """
    if size is not None:
        return size
    return next((v for v in SIZE_PREFERENCE if v in law.variables), law.variables[0])


def size_levels(values: np.ndarray, tolerance: float = SIZE_TOLERANCE) -> tuple[np.ndarray, np.ndarray]:
    """The distinct sizes (ascending, each its cluster's largest value) and each row's index into them.

    Sorted values less than ``tolerance`` decades apart are one size.
    """
    logs = np.log10(np.asarray(values, dtype=float))
    unique = np.unique(logs)
    starts = np.concatenate([[True], np.diff(unique) >= tolerance])
    label = np.cumsum(starts) - 1
    tops = np.array([unique[label == i].max() for i in range(label[-1] + 1)])
    return 10.0**tops, label[np.searchsorted(unique, logs)]


@dataclass(frozen=True)
class Origin:
    """One backtest: the law fitted on every row up to ``size``; ``error`` says why it was skipped."""

    index: int  # which size (0 = smallest) is the largest fitted
    size: float
    n_train: int
    n_test: int
    fit: FitResult | None = field(default=None, compare=False, repr=False)
    error: str | None = None

    def to_dict(self) -> dict:
        out = {"index": self.index, "size": self.size, "n_train": self.n_train, "n_test": self.n_test}
        return out if self.error is None else {**out, "skipped": self.error}


@dataclass(frozen=True)
class RollingOrigin:
    """Every backtest error of a law on one ladder: one entry per (origin, held-out row)."""

    law: Law
    size: str
    levels: np.ndarray  # the distinct sizes, ascending
    origins: tuple[Origin, ...]
    origin: np.ndarray  # per error: the origin's index (its largest fitted size)
    row: np.ndarray  # per error: the held-out row (index into the data)
    target: np.ndarray  # per error: the held-out row's size index
    log_residuals: np.ndarray  # per error: log(predicted) - log(observed)
    decades: np.ndarray  # per error: decades beyond the origin's fitted range

    @property
    def n(self) -> int:
        return int(self.log_residuals.size)

    @property
    def mae_log(self) -> float:
        return float(np.mean(np.abs(self.log_residuals))) if self.n else math.nan

    @property
    def median_abs_log(self) -> float:
        return float(np.median(np.abs(self.log_residuals))) if self.n else math.nan

    @property
    def skipped(self) -> tuple[Origin, ...]:
        return tuple(o for o in self.origins if o.error is not None)

    def select(self, keep: np.ndarray) -> RollingOrigin:
        """These backtests restricted to the errors ``keep`` (a boolean mask) selects."""
        return RollingOrigin(
            self.law,
            self.size,
            self.levels,
            self.origins,
            self.origin[keep],
            self.row[keep],
            self.target[keep],
            self.log_residuals[keep],
            self.decades[keep],
        )

    def before(self, k: int) -> RollingOrigin:
        """The backtests a fit at origin ``k`` could have seen: earlier origins, scored on rows up to size ``k``."""
        return self.select((self.origin < k) & (self.target <= k))

    def by_distance(self, bins: Sequence[float] = DISTANCE_BINS) -> list[dict]:
        """Mean and median |log error| per band of distance (decades), for bands that hold errors."""
        out = []
        for lo, hi in zip(bins[:-1], bins[1:]):
            inside = (self.decades >= lo) & (self.decades < hi)
            if inside.any():
                err = np.abs(self.log_residuals[inside])
                out.append(
                    {
                        "decades": [lo, None if math.isinf(hi) else hi],
                        "n": int(inside.sum()),
                        "mae_log": float(err.mean()),
                        "median_abs_log": float(np.median(err)),
                    }
                )
        return out

    def to_dict(self) -> dict:
        return {
            "size": self.size,
            "sizes": int(self.levels.size),
            "origins": [o.to_dict() for o in self.origins],
            "n_errors": self.n,
            "mae_log": self.mae_log,
            "median_abs_log": self.median_abs_log,
            "max_decades": float(self.decades.max()) if self.n else 0.0,
            "by_distance": self.by_distance(),
        }


def _ladder(law: Law, data, size: str) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """The law's variables and target (checked) and the size column as positive floats."""
    cols, y = read_columns(law, data)
    if size in cols:
        return cols, y, cols[size]
    try:
        values = np.asarray(data[size], dtype=float)
    except Exception:
        raise WorkbenchError(f"calibration: the data have no numeric size column {quote(size)}") from None
    bad = np.flatnonzero(~np.isfinite(values) | (values <= 0))
    if bad.size:
        raise WorkbenchError(f"calibration: column {quote(size)} row {bad[0] + 1} is not a positive number")
    return cols, y, values


def _origins(first: int, last: int, most: int | None) -> list[int]:
    """Origin indices from ``first`` to ``last`` inclusive, at most ``most`` of them spread evenly (last kept)."""
    every = list(range(first, last + 1))
    if most is None or len(every) <= most:
        return every
    return sorted({int(round(v)) for v in np.linspace(first, last, most)})


def rolling_origin(
    law: Law,
    data,
    *,
    size: str | None = None,
    min_train_sizes: int = DEFAULT_MIN_TRAIN_SIZES,
    max_origins: int | None = DEFAULT_MAX_ORIGINS,
    tolerance: float = SIZE_TOLERANCE,
    options: FitOptions | None = None,
    **overrides,
) -> RollingOrigin:
    """Fit on every size up to each origin, predict every larger size: the law's backtest errors on this ladder.

    ``size`` is the column that orders the ladder (:func:`size_variable`);
    ``options``/``overrides`` are the fits' (:class:`~workbench.fit.FitOptions`).
    Refuses (:class:`WorkbenchError`) when the ladder has fewer than
    ``min_train_sizes + 1`` sizes or when no origin could be fitted.
    """
    if min_train_sizes < 1:
        raise WorkbenchError(f"calibration: min_train_sizes must be at least 1, got {min_train_sizes}")
    options = FitOptions.of(options, **overrides)
    size = size_variable(law, size)
    cols, y, sizes = _ladder(law, data, size)
    levels, level = size_levels(sizes, tolerance)
    if levels.size < min_train_sizes + 1:
        shown = ", ".join(f"{v:.4g}" for v in levels[:8])
        raise WorkbenchError(
            f"calibration needs at least {min_train_sizes + 1} distinct {size!r} values (fit on {min_train_sizes}, "
            f"predict a larger one); the data have {levels.size} ({shown})"
        )
    origins, parts = [], []
    for k in _origins(min_train_sizes - 1, levels.size - 2, max_origins):
        origin, part = _backtest_at(law, cols, y, level, k, levels[k], options)
        origins.append(origin)
        if part is not None:
            parts.append(part)
    if not parts:
        reasons = "; ".join(f"up to {o.size:.4g}: {o.error}" for o in origins[:3])
        raise WorkbenchError(f"calibration: no backtest of law {law.name!r} could be fitted ({reasons})")
    stacked = [np.concatenate(column) for column in zip(*parts)]
    return RollingOrigin(law, size, levels, tuple(origins), *stacked)


def _backtest_at(law, cols, y, level, k, top, options) -> tuple[Origin, tuple | None]:
    """The origin fitted on sizes ``<= k`` and its errors on larger sizes (``None`` when its fit failed)."""
    train, test = level <= k, level > k
    subset = {v: c[train] for v, c in cols.items()} | {law.target: y[train]}
    try:
        result = fit_problem(make_problem(law, subset, options))
    except WorkbenchError as exc:
        return Origin(k, float(top), int(train.sum()), int(test.sum()), error=str(exc)), None
    held = {v: c[test] for v, c in cols.items()}
    with np.errstate(all="ignore"):
        residuals = np.log(result.predict(held)) - np.log(y[test])
    beyond = result.extrapolation(held)
    decades = np.max(np.column_stack([beyond[v] for v in law.variables]), axis=1)
    rows = np.flatnonzero(test)
    origin = Origin(k, float(top), int(train.sum()), int(test.sum()), fit=result)
    return origin, (np.full(rows.size, k), rows, level[test], residuals, decades)


def scale(decades, floor: float = DISTANCE_FLOOR) -> np.ndarray:
    """How an error's size grows with its distance beyond the data: ``floor + d`` (decades)."""
    return floor + np.maximum(np.asarray(decades, dtype=float), 0.0)


@dataclass(frozen=True)
class Calibration:
    """The conformal widening learned from one law's backtests: log half-width ``quantile * scale(d)``.

    ``level`` is what the interval reaches (``n / (n + 1)`` when too few
    errors allow ``requested``); ``calibrated`` says whether it reaches the
    requested level; ``reach`` is the farthest backtest distance (decades).
    """

    law: str
    size: str
    requested: float
    level: float
    quantile: float
    n: int
    reach: float
    floor: float = DISTANCE_FLOOR
    notes: tuple[str, ...] = ()

    @property
    def calibrated(self) -> bool:
        return self.level >= self.requested and math.isfinite(self.quantile)

    @property
    def method(self) -> str:
        return (
            f"split-conformal on {self.n} rolling-origin backtest errors (by {self.size}), "
            f"|log error| / ({self.floor:g} + decades beyond the data), enveloping the bootstrap interval"
        )

    def half_width(self, decades) -> np.ndarray:
        """The log half-width at ``decades`` beyond the fitted data (model-form error, without the bootstrap)."""
        return self.quantile * scale(decades, self.floor)

    def interval(
        self, value: float, decades: float, bootstrap: tuple[float, float] | None = None
    ) -> PredictionInterval:
        """The prediction interval around ``value`` at ``decades`` beyond the data, enveloping ``bootstrap``."""
        w = float(self.half_width(decades))
        lo, hi = value * math.exp(-w), value * math.exp(w)
        if bootstrap is not None and all(math.isfinite(b) for b in bootstrap):
            lo, hi = min(lo, bootstrap[0]), max(hi, bootstrap[1])
        notes = list(self.notes)
        beyond = decades > self.reach
        if beyond:
            notes.append(
                f"{decades:.2f} decades beyond the data is farther than any backtest ({self.reach:.2f}): "
                "the widening is extrapolated"
            )
        return PredictionInterval(
            lo, hi, self.level, self.method, self.n, float(decades), self.calibrated, bootstrap, beyond, tuple(notes)
        )

    def to_dict(self) -> dict:
        return {
            "law": self.law,
            "size": self.size,
            "requested_level": self.requested,
            "level": self.level,
            "calibrated": self.calibrated,
            "quantile": self.quantile,
            "floor_decades": self.floor,
            "n_errors": self.n,
            "max_backtest_decades": self.reach,
            "method": self.method,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class PredictionInterval:
    """A prediction interval that includes model-form error, with where it came from."""

    lo: float
    hi: float
    level: float
    method: str
    n_errors: int
    decades: float  # beyond the full fit's data, the largest over the law's variables
    calibrated: bool
    bootstrap: tuple[float, float] | None = None
    beyond_backtests: bool = False
    notes: tuple[str, ...] = ()

    def covers(self, value: float) -> bool:
        return self.lo <= value <= self.hi

    def bootstrap_covers(self, value: float) -> bool:
        """Whether the bootstrap interval alone covers ``value`` (False without one)."""
        return self.bootstrap is not None and self.bootstrap[0] <= value <= self.bootstrap[1]

    def to_dict(self) -> dict:
        return {
            "lo": float(self.lo),
            "hi": float(self.hi),
            "level": float(self.level),
            "method": self.method,
            "n_errors": int(self.n_errors),
            "decades": round(float(self.decades), 6),
            "calibrated": bool(self.calibrated),
            "bootstrap": None if self.bootstrap is None else [float(self.bootstrap[0]), float(self.bootstrap[1])],
            "beyond_backtests": bool(self.beyond_backtests),
            "notes": list(self.notes),
        }


def conformal_rank(n: int, level: float) -> int:
    """``ceil((n + 1) level)``: which of ``n`` sorted scores bounds a new one with probability ``level``.

    Larger than ``n`` when ``n`` scores are too few for ``level`` (fewer than 19 at 0.95).
    """
    return math.ceil(round((n + 1) * level, 9))


def calibrate(errors: RollingOrigin, level: float = DEFAULT_LEVEL, floor: float = DISTANCE_FLOOR) -> Calibration:
    """The split-conformal multiplier of ``errors`` at ``level``: the ``ceil((n + 1) level)``-th smallest score.

    With too few errors for ``level`` the largest score is used and the
    calibration says which level it reaches (``n / (n + 1)``) and why.
    """
    if not 0 < level < 1:
        raise WorkbenchError(f"calibration level must be between 0 and 1, got {level}")
    n = errors.n
    if n == 0:
        raise WorkbenchError(f"calibration: the backtests of law {errors.law.name!r} made no prediction")
    scores = np.abs(errors.log_residuals) / scale(errors.decades, floor)
    failed = int(np.sum(~np.isfinite(scores)))
    scores = np.sort(np.where(np.isfinite(scores), scores, np.inf))  # a prediction that overflowed is a miss
    rank, reached, notes = conformal_rank(n, level), level, []
    if failed:
        notes.append(f"{failed} of {n} backtest predictions were not finite and count as infinite errors")
    if rank > n:
        rank, reached = n, n / (n + 1)
        notes.append(
            f"uncalibrated: only {n} backtest errors, a {level:.0%} conformal interval needs at least "
            f"{math.ceil(round(level / (1 - level), 9))}; the largest error is used, which reaches {reached:.1%}"
        )
    skipped = errors.skipped
    if skipped:
        notes.append(f"{len(skipped)} of {len(errors.origins)} backtest fits failed and were left out")
    return Calibration(
        law=errors.law.name,
        size=errors.size,
        requested=level,
        level=reached,
        quantile=float(scores[rank - 1]),
        n=n,
        reach=float(errors.decades.max()),
        floor=floor,
        notes=tuple(notes),
    )


def calibrated_intervals(
    result: FitResult, points: Sequence[Mapping[str, float]], calibration: Calibration
) -> list[PredictionInterval]:
    """The prediction interval of ``result`` at each point: the calibration's widening, enveloping the bootstrap."""
    if not points:
        return []
    return [_interval(p, calibration) for p in result.predictions(list(points))]


def _interval(prediction: Prediction, calibration: Calibration) -> PredictionInterval:
    decades = max(prediction.extrapolation.values(), default=0.0)
    return calibration.interval(prediction.value, decades, prediction.interval)


@dataclass(frozen=True)
class CalibratedPredictions:
    """A fit, its backtests, their calibration and the calibrated predictions: one call's worth for a notebook."""

    fit: FitResult
    errors: RollingOrigin
    calibration: Calibration
    predictions: tuple[Prediction, ...]
    intervals: tuple[PredictionInterval, ...]

    def table(self) -> pl.DataFrame:
        """One row per prediction: inputs, value, bootstrap interval, calibrated interval, distance."""
        rows = []
        for p, pi in zip(self.predictions, self.intervals):
            row = dict(p.inputs)
            row[self.fit.law.target] = p.value
            row["ci_lo"], row["ci_hi"] = p.interval if p.interval else (None, None)
            row.update({"pi_lo": pi.lo, "pi_hi": pi.hi, "decades": pi.decades, "calibrated": pi.calibrated})
            rows.append(row)
        return pl.DataFrame(rows)


def calibrated_predictions(
    law: Law,
    data,
    points: Sequence[Mapping[str, float]],
    *,
    draws: int = 1000,
    seed: int = 0,
    level: float = DEFAULT_LEVEL,
    size: str | None = None,
    min_train_sizes: int = DEFAULT_MIN_TRAIN_SIZES,
    options: FitOptions | None = None,
    **overrides,
) -> CalibratedPredictions:
    """Fit ``law`` on ``data``, bootstrap it, backtest it by rolling origin and predict ``points`` with both intervals.

    ``points`` are mappings of the law's variables (``{"params": 7e10, "tokens": 1.4e12}``).
    """
    options = FitOptions.of(options, **overrides)
    result = fit_problem(make_problem(law, data, options))
    if draws:
        result = result.bootstrap(draws=draws, seed=seed, level=level)
    errors = rolling_origin(law, data, size=size, min_train_sizes=min_train_sizes, options=options)
    cal = calibrate(errors, level)
    predictions = tuple(result.predictions(list(points))) if points else ()
    return CalibratedPredictions(result, errors, cal, predictions, tuple(_interval(p, cal) for p in predictions))


def backtest_coverage(
    errors: RollingOrigin, level: float = DEFAULT_LEVEL, floor: float = DISTANCE_FLOOR
) -> dict[str, float | int | None]:
    """How often calibrated intervals covered the backtests' held-out rows, each origin calibrated on its past.

    For origin ``k`` the calibration uses only :meth:`RollingOrigin.before`
    (backtests made inside its training rows); origins with too few such
    errors for ``level`` are not scored.  ``coverage`` is ``None`` when no
    origin could be scored.
    """
    covered = scored = origins = 0
    for k in np.unique(errors.origin):
        past = errors.before(int(k))
        if past.n == 0 or conformal_rank(past.n, level) > past.n:
            continue
        cal = calibrate(past, level, floor)
        mine = errors.origin == k
        inside = np.abs(errors.log_residuals[mine]) <= cal.half_width(errors.decades[mine])
        covered, scored, origins = covered + int(inside.sum()), scored + int(mine.sum()), origins + 1
    return {"coverage": covered / scored if scored else None, "n_scored": scored, "origins_scored": origins}


@dataclass(frozen=True)
class ScoreEntry:
    """One law on the scoreboard: its full fit, backtests, calibration and scores."""

    law: Law
    fit: FitResult
    errors: RollingOrigin
    calibration: Calibration
    coverage: Mapping[str, float | int | None]
    ic: Mapping[str, float]
    common_mae_log: float  # mean |log error| on the errors every law has

    def to_dict(self) -> dict:
        return {
            "law": self.law.name,
            "mean_abs_log": self.errors.mae_log,
            "median_abs_log": self.errors.median_abs_log,
            "mean_abs_log_common": self.common_mae_log,
            "n_errors": self.errors.n,
            "by_distance": self.errors.by_distance(),
            "calibrated_coverage": self.coverage["coverage"],
            "coverage_n_scored": self.coverage["n_scored"],
            "aic": float(self.ic["aic"]),
            "bic": float(self.ic["bic"]),
            "free_parameters": int(self.ic["k"]),
            "calibration": self.calibration.to_dict(),
            "skipped_origins": [o.to_dict() for o in self.errors.skipped],
        }


@dataclass(frozen=True)
class Scoreboard:
    """Several laws backtested on the same ladder; ``favoured`` has the lowest mean |log error| on common errors."""

    size: str
    level: float
    entries: tuple[ScoreEntry, ...]

    @property
    def favoured(self) -> str:
        return min(self.entries, key=lambda e: e.common_mae_log).law.name

    def entry(self, name: str) -> ScoreEntry:
        for e in self.entries:
            if e.law.name == name:
                return e
        raise WorkbenchError(f"the scoreboard has no law {quote(name)}; it has {', '.join(self.names)}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(e.law.name for e in self.entries)

    def verdict(self) -> str:
        """One sentence: which law the backtests favour, and by how much."""
        ranked = sorted(self.entries, key=lambda e: e.common_mae_log)
        best = ranked[0]
        head = (
            f"the backtests favour {best.law.name} (mean |log error| {best.common_mae_log:.4f} "
            f"on {best.errors.n} held-out predictions by {self.size}"
        )
        if len(ranked) == 1:
            return head + ")"
        runner = ranked[1]
        return head + f"; next {runner.law.name} {runner.common_mae_log:.4f})"

    def table(self) -> pl.DataFrame:
        """One row per law, best first: backtest errors, calibrated coverage, AIC and BIC."""
        rows = [
            {
                "law": e.law.name,
                "mean_abs_log": e.common_mae_log,
                "median_abs_log": e.errors.median_abs_log,
                "n_errors": e.errors.n,
                "calibrated_coverage": e.coverage["coverage"],
                "aic": float(e.ic["aic"]),
                "bic": float(e.ic["bic"]),
            }
            for e in self.entries
        ]
        return pl.DataFrame(rows).sort("mean_abs_log")

    def to_dict(self) -> dict:
        return {
            "size": self.size,
            "level": self.level,
            "favoured": self.favoured,
            "verdict": self.verdict(),
            "laws": [e.to_dict() for e in self.entries],
        }


def scoreboard(
    laws: Sequence[Law],
    data,
    *,
    size: str | None = None,
    level: float = DEFAULT_LEVEL,
    min_train_sizes: int = DEFAULT_MIN_TRAIN_SIZES,
    max_origins: int | None = DEFAULT_MAX_ORIGINS,
    options: FitOptions | None = None,
    **overrides,
) -> Scoreboard:
    """Backtest every law on the same ladder (same size column, same origins) and score them side by side.

    ``size`` defaults to ``params`` when the data have it, else the first
    law's size variable.  Each law is also fitted on all rows for AIC/BIC.
    """
    if not laws:
        raise WorkbenchError("the scoreboard needs at least one law")
    names = [law.name for law in laws]
    if len(set(names)) < len(names):
        raise WorkbenchError(f"the scoreboard lists a law twice ({', '.join(names)}); give each law once")
    options = FitOptions.of(options, **overrides)
    size = size or ("params" if _has_column(data, "params") else size_variable(laws[0]))
    runs = []
    for law in laws:
        errors = rolling_origin(
            law, data, size=size, min_train_sizes=min_train_sizes, max_origins=max_origins, options=options
        )
        result = fit_problem(make_problem(law, data, options))
        runs.append((law, result, errors))
    common = _common_keys([errors for _, _, errors in runs])
    entries = tuple(
        ScoreEntry(
            law,
            result,
            errors,
            calibrate(errors, level),
            backtest_coverage(errors, level),
            information_criteria(result, data),
            _mean_on(errors, common),
        )
        for law, result, errors in runs
    )
    return Scoreboard(size, level, entries)


def _has_column(data, name: str) -> bool:
    return name in (data.columns if isinstance(data, pl.DataFrame) else data)


def _common_keys(runs: Sequence[RollingOrigin]) -> set[tuple[int, int]]:
    """The (origin, row) pairs every law's backtests scored."""
    keys = [set(zip(r.origin.tolist(), r.row.tolist())) for r in runs]
    return set.intersection(*keys)


def _mean_on(errors: RollingOrigin, keys: set[tuple[int, int]]) -> float:
    keep = np.array([(o, r) in keys for o, r in zip(errors.origin.tolist(), errors.row.tolist())], dtype=bool)
    return float(np.mean(np.abs(errors.log_residuals[keep]))) if keep.any() else math.nan
