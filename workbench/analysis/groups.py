"""Do groups share their exponents?  One joint fit against one fit per group.

Why.  "RedPajama and C4 differ only in their irreducible loss" and "this
recipe changes the exponent" are claims about groups of runs.  The test is a
comparison of two models of the same rows: the law fitted jointly with
per-group coefficients and shared exponents
(:func:`workbench.laws.grouped.per_group`), and the law fitted to each group
separately (every parameter free per group).  Both are scored on the same rows
by AIC and BIC from the Gaussian likelihood of the log residuals, as
:func:`workbench.analysis.backtest.information_criteria` does for laws; the
separate model pays for its extra exponents; an F-test of the nested models
gives the p-value of the extra exponents.  Because AIC needs the fits to
maximise that likelihood, the comparison fits minimise squared log residuals
by default: Huber fits (the workbench's default elsewhere) do not minimise the
residual sum of squares, and comparing their RSS favoured the separate model on
data generated with shared exponents.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from workbench.errors import WorkbenchError, quote
from workbench.fit import FitOptions, FitResult, fit, make_problem
from workbench.laws.base import Law
from workbench.laws.grouped import grouped


def _stats():
    """scipy.stats, imported on first use: it costs a notebook kernel ~25 MB that most lessons never need."""
    from scipy import stats

    return stats


@dataclass(frozen=True)
class GroupComparison:
    by: str
    groups: tuple[str, ...]
    shared: FitResult  # coefficients per group, exponents shared
    separate: Mapping[str, FitResult]  # every parameter free, one fit per group
    table: pl.DataFrame  # one row per model: free parameters, RSS of log residuals, AIC, BIC
    exponents: pl.DataFrame  # the non-linear parameters: shared value, and each group's own

    @property
    def delta_aic(self) -> float:
        """AIC(separate) - AIC(shared): positive when sharing the exponents is preferred."""
        aic = dict(zip(self.table["model"], self.table["aic"]))
        return float(aic["separate"] - aic["shared exponents"])

    @property
    def f_test(self) -> tuple[float, float]:
        """``(F, p)`` of the nested comparison: do the extra exponents reduce the RSS more than noise would?

        F = ((RSS_shared - RSS_separate) / extra) / (RSS_separate / (n - k_separate)), referred to
        F(extra, n - k_separate); exact for linear models, the usual approximation for non-linear ones.
        """
        rows = {r["model"]: r for r in self.table.iter_rows(named=True)}
        sh, sep = rows["shared exponents"], rows["separate"]
        extra = sep["free_parameters"] - sh["free_parameters"]
        dof = self.n_points - sep["free_parameters"]
        if extra <= 0 or dof <= 0 or sep["rss_log"] <= 0:
            return float("nan"), float("nan")
        f = max(sh["rss_log"] - sep["rss_log"], 0.0) / extra / (sep["rss_log"] / dof)
        return float(f), float(_stats().f.sf(f, extra, dof))

    @property
    def n_points(self) -> int:
        return int(self.shared.n_points)

    @property
    def verdict(self) -> str:
        d = self.delta_aic
        better = "shared exponents" if d > 0 else "separate exponents"
        strength = "strongly " if abs(d) > 10 else "" if abs(d) > 2 else "barely "
        return f"{strength}prefers {better} (AIC difference {abs(d):.1f}; F-test p = {self.f_test[1]:.2g})"

    def to_dict(self) -> dict:
        f, p_value = self.f_test
        return {
            "by": self.by,
            "groups": list(self.groups),
            "loss": self.shared.loss,
            "delta_aic": self.delta_aic,
            "f_statistic": f,
            "p_value": p_value,
            "verdict": self.verdict,
            "models": self.table.to_dicts(),
            "exponents": self.exponents.to_dicts(),
        }


def _log_rss(result: FitResult, data) -> tuple[float, int, int]:
    problem = make_problem(result.law, data)
    r = np.log(result.predict(problem.cols)) - problem.logy
    fixed, ties = result.details.get("fixed", {}), result.details.get("ties", {})
    k = len([p for p in result.law.names if p not in fixed and p not in ties])
    return float(np.sum(r**2)), r.size, k


def _criteria(rss: float, n: int, k: int) -> dict[str, float]:
    rss = max(rss, 1e-300)
    return {"aic": n * np.log(rss / n) + 2 * k, "bic": n * np.log(rss / n) + k * np.log(n)}


def shared_vs_separate(
    law: Law,
    data,
    by: str,
    *,
    shared: FitResult | None = None,
    loss: str = "squared",
    options: FitOptions | None = None,
    **overrides,
) -> GroupComparison:
    """Fit ``law`` to ``data`` with exponents shared across the groups of column ``by``, and per group.

    ``loss`` (squared by default, see above; it takes precedence over
    ``options.loss``) with ``options`` and keyword ``overrides`` go to every
    fit.  Every group needs more rows than the law has parameters.  ``shared``
    reuses a joint fit already made with the same loss (of the law
    :func:`~workbench.laws.grouped.grouped` returns).
    """
    frame = data if isinstance(data, pl.DataFrame) else pl.DataFrame({k: np.asarray(v) for k, v in data.items()})
    glaw, gdata, names = grouped(law, frame, by)
    if len(names) < 2:
        raise WorkbenchError(f"column {quote(by)} has one group ({quote(names[0])}): nothing to compare")
    options = FitOptions.of(options, **overrides).replace(loss=loss)
    if shared is None or shared.loss != loss:  # reuse only a least-squares fit of log residuals
        shared = fit(glaw, gdata, options)
    elif shared.law.names != glaw.names:
        raise WorkbenchError(f"the joint fit given is of {shared.law.name!r}, not of {glaw.name!r}")
    separate, rss_sep, n_sep, k_sep = {}, 0.0, 0, 0
    labels = frame[by].cast(pl.String)
    for g in names:
        rows = frame.filter(labels == g)
        if rows.height <= len(law.names):
            raise WorkbenchError(
                f"group {g!r} of column {by!r} has {rows.height} rows; a separate fit of "
                f"{law.name!r} needs more than {len(law.names)}"
            )
        separate[g] = fit(law, rows, options)
        rss, n, k = _log_rss(separate[g], rows)
        rss_sep, n_sep, k_sep = rss_sep + rss, n_sep + n, k_sep + k
    rss_sh, n_sh, k_sh = _log_rss(shared, gdata)
    table = pl.DataFrame(
        [
            {
                "model": "shared exponents",
                "free_parameters": k_sh,
                "rss_log": rss_sh,
                **_criteria(rss_sh, n_sh, k_sh),
                "objective": shared.objective,
            },
            {
                "model": "separate",
                "free_parameters": k_sep,
                "rss_log": rss_sep,
                **_criteria(rss_sep, n_sep, k_sep),
                "objective": float(sum(r.objective for r in separate.values())),
            },
        ]
    )
    exponents = pl.DataFrame(
        [
            {"parameter": p.name, "shared": shared.params[p.name], **{g: separate[g].params[p.name] for g in names}}
            for p in law.nonlinear
        ]
    )
    return GroupComparison(by=by, groups=names, shared=shared, separate=separate, table=table, exponents=exponents)
