"""Backtests and model comparison: would this law have predicted the big runs?

A scaling law earns trust by predicting what it was not fitted on.  A backtest
holds out the rows matching an expression such as ``flops>1e21`` (the
expensive end, the part one wants to predict), fits on the rest, and scores
the held-out rows by their log residuals.  ``compare`` puts several laws side
by side on the same split with their objective and information criteria.

AIC and BIC use the Gaussian likelihood of the log residuals
(``n log(RSS/n) + 2k`` and ``n log(RSS/n) + k log n``, with k the free
parameters): they rank laws fitted to the same rows, they are not absolute.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from workbench.errors import WorkbenchError, quote
from workbench.fit import FitOptions, FitResult, fit_problem, make_problem
from workbench.fit.problem import read_columns
from workbench.laws.base import Law

_OPS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt, "==": operator.eq}
_TERM = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|==|<|>)\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*$")


def parse_holdout(expr: str) -> list[tuple[str, str, float]]:
    """``"flops>1e21 & params>=1e9"`` -> [("flops", ">", 1e21), ("params", ">=", 1e9)]."""
    terms = []
    for part in expr.split("&"):
        m = _TERM.match(part)
        if not m:
            raise WorkbenchError(
                f"--holdout {expr!r}: cannot read {part.strip()!r}; write terms like 'flops>1e21', joined by '&'"
            )
        terms.append((m.group(1), m.group(2), float(m.group(3))))
    return terms


def holdout_mask(data: Mapping[str, np.ndarray] | pl.DataFrame, expr: str) -> np.ndarray:
    """Boolean mask of the rows the expression holds out."""
    mask = None
    for column, op, value in parse_holdout(expr):
        try:
            col = np.asarray(data[column], dtype=float)
        except Exception:
            raise WorkbenchError(f"--holdout {quote(expr)}: the data has no numeric column {quote(column)}") from None
        part = _OPS[op](col, value)
        mask = part if mask is None else mask & part
    return mask


@dataclass(frozen=True)
class Backtest:
    holdout: str
    n_train: int
    n_test: int
    fit: FitResult
    log_residuals: np.ndarray  # on the held-out rows: log(pred) - log(observed)
    max_decades_beyond: float
    outside_hull_share: float  # share of held-out rows outside the training points' hull

    @property
    def mae_log(self) -> float:
        return float(np.mean(np.abs(self.log_residuals)))

    @property
    def rmse_log(self) -> float:
        return float(np.sqrt(np.mean(self.log_residuals**2)))

    @property
    def mean_abs_pct(self) -> float:
        return float(np.mean(np.abs(np.expm1(self.log_residuals))) * 100)

    @property
    def bias_log(self) -> float:
        return float(np.mean(self.log_residuals))

    def to_dict(self) -> dict:
        return {
            "holdout": self.holdout,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "mae_log": self.mae_log,
            "rmse_log": self.rmse_log,
            "max_abs_log": float(np.max(np.abs(self.log_residuals))),
            "mean_abs_pct": self.mean_abs_pct,
            "bias_log": self.bias_log,
            "max_decades_beyond_data": self.max_decades_beyond,
            "outside_hull_share": self.outside_hull_share,
        }


def _subset(data, mask: np.ndarray):
    if isinstance(data, pl.DataFrame):
        return data.filter(pl.Series(mask))
    return {k: np.asarray(v)[mask] for k, v in data.items()}


def backtest(law: Law, data, holdout: str, options: FitOptions | None = None, **overrides) -> Backtest:
    """Fit on the rows ``holdout`` does not select; score the law on the rows it does.

    ``options`` and keyword ``overrides`` are the fit's (:class:`~workbench.fit.FitOptions`).
    The held-out rows are only read and checked (positive, finite), and
    scored by log residuals whatever the fit's loss.
    """
    options = FitOptions.of(options, **overrides)
    mask = holdout_mask(data, holdout)
    n_test, n_train = int(mask.sum()), int((~mask).sum())
    if n_test == 0:
        raise WorkbenchError(f"--holdout {quote(holdout)} selects no rows: nothing to score")
    train, test = _subset(data, ~mask), _subset(data, mask)
    result = fit_problem(make_problem(law, train, options))
    cols, y = read_columns(law, test)  # constants known: any number of held-out rows can be scored
    pred = law.predict(cols, result.params)
    beyond = result.extrapolation(cols)
    decades = float(max((np.max(v) for v in beyond.values()), default=0.0))
    hull = float(np.mean(result.outside_hull(cols)))
    return Backtest(holdout, n_train, n_test, result, np.log(pred) - np.log(y), decades, hull)


def information_criteria(result: FitResult, data) -> dict[str, float]:
    """AIC and BIC of a fit from the Gaussian likelihood of its log residuals."""
    problem = make_problem(result.law, data)
    r = np.log(result.predict(problem.cols)) - problem.logy
    n = r.size
    k = len(
        [
            p
            for p in result.law.names
            if p not in result.details.get("fixed", {}) and p not in result.details.get("ties", {})
        ]
    )
    rss = max(float(np.sum(r**2)), 1e-300)
    return {"aic": n * np.log(rss / n) + 2 * k, "bic": n * np.log(rss / n) + k * np.log(n), "rss_log": rss, "k": k}


def compare(
    laws: Sequence[Law], data, holdout: str | None = None, options: FitOptions | None = None, **overrides
) -> pl.DataFrame:
    """One row per law: free parameters, objective, AIC, BIC, and backtest errors when ``holdout`` is given."""
    options = FitOptions.of(options, **overrides)
    rows = []
    for law in laws:
        result = fit_problem(make_problem(law, data, options))
        ic = information_criteria(result, data)
        row = {
            "law": law.name,
            "free_parameters": ic["k"],
            "objective": result.objective,
            "aic": ic["aic"],
            "bic": ic["bic"],
            "warnings": "; ".join(result.warnings),
        }
        if holdout:
            bt = backtest(law, data, holdout, options)
            row.update(
                {
                    "backtest_mae_log": bt.mae_log,
                    "backtest_mean_abs_pct": bt.mean_abs_pct,
                    "backtest_bias_log": bt.bias_log,
                }
            )
        rows.append(row)
    return pl.DataFrame(rows).sort("aic")
