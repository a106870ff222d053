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

Does the grouping matter at all?  :func:`pooled_vs_separate` asks the
question before that one: one law for every row (the groups ignored) against
the law fitted to each group separately.  The pooled model is nested in the
separate one (every group with the same parameters), so the same AIC, BIC
and F-test apply; rejecting pooling says the groups differ somewhere, and
:func:`shared_vs_separate` then says whether only in their coefficients.
Both reuse one set of separate fits when given it.
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


def _f_sf(f: float, extra: int, dof: int) -> float:
    """P(F > f) for an F(extra, dof) variable: scipy.special's F tail, not scipy.stats (~30 MB in a kernel)."""
    from scipy.special import fdtrc

    return float(fdtrc(extra, dof, f))


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
        return _nested_f_test(self.table, "shared exponents", "separate", self.n_points)

    @property
    def n_points(self) -> int:
        return int(self.shared.n_points)

    @property
    def law(self) -> Law:
        """The law compared (ungrouped), as the separate fits have it."""
        return next(iter(self.separate.values())).law

    @property
    def verdict(self) -> str:
        return _verdict(self.delta_aic, self.f_test[1], "shared exponents", "separate exponents")

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


def _nested_f_test(table: pl.DataFrame, small: str, big: str, n_points: int) -> tuple[float, float]:
    """``(F, p)`` of the nested models ``small`` within ``big`` (rows of ``table``): nan when undefined."""
    rows = {r["model"]: r for r in table.iter_rows(named=True)}
    sm, bg = rows[small], rows[big]
    extra = bg["free_parameters"] - sm["free_parameters"]
    dof = n_points - bg["free_parameters"]
    if extra <= 0 or dof <= 0 or bg["rss_log"] <= 0:
        return float("nan"), float("nan")
    f = max(sm["rss_log"] - bg["rss_log"], 0.0) / extra / (bg["rss_log"] / dof)
    return float(f), _f_sf(f, extra, dof)


def _log_rss(result: FitResult, data) -> tuple[float, int, int]:
    problem = make_problem(result.law, data)
    r = np.log(result.predict(problem.cols)) - problem.logy
    fixed, ties = result.details.get("fixed", {}), result.details.get("ties", {})
    k = len([p for p in result.law.names if p not in fixed and p not in ties])
    return float(np.sum(r**2)), r.size, k


def _verdict(delta_aic: float, p_value: float, smaller: str, separate: str) -> str:
    """Which of two nested models AIC prefers, how strongly, and the F-test's p-value, in one phrase."""
    better = smaller if delta_aic > 0 else separate
    d = abs(delta_aic)
    strength = "strongly " if d > 10 else "" if d > 2 else "barely "
    return f"{strength}prefers {better} (AIC difference {d:.1f}; F-test p = {p_value:.2g})"


def _nested_table(
    name: str, smaller: FitResult, rss_small: float, k_small: int, separate: dict, rss_sep: float, k_sep: int, n: int
) -> pl.DataFrame:
    """The two nested models of one comparison, side by side: free parameters, RSS, AIC, BIC, objective."""
    rows = [
        (name, k_small, rss_small, smaller.objective),
        ("separate", k_sep, rss_sep, float(sum(r.objective for r in separate.values()))),
    ]
    return pl.DataFrame(
        [
            {"model": m, "free_parameters": k, "rss_log": rss, **_criteria(rss, n, k), "objective": obj}
            for m, k, rss, obj in rows
        ]
    )


def _criteria(rss: float, n: int, k: int) -> dict[str, float]:
    rss = max(rss, 1e-300)
    return {"aic": n * np.log(rss / n) + 2 * k, "bic": n * np.log(rss / n) + k * np.log(n)}


def _as_frame(data) -> pl.DataFrame:
    return data if isinstance(data, pl.DataFrame) else pl.DataFrame({k: np.asarray(v) for k, v in data.items()})


def _group_names(frame: pl.DataFrame, by: str) -> tuple[str, ...]:
    """The distinct labels of column ``by`` as text, sorted (as :func:`~workbench.laws.grouped.grouped` names them)."""
    if by not in frame.columns:
        raise WorkbenchError(f"data has no column {quote(by)} to group by")
    if frame.height == 0:
        raise WorkbenchError(f"column {quote(by)} must be a non-empty one-dimensional column")
    labels = frame[by].cast(pl.String, strict=False)
    missing = labels.is_null() | (labels == "")
    if missing.any():
        raise WorkbenchError(f"column {quote(by)} has no group at row {int(missing.arg_max()) + 1}")
    return tuple(sorted(set(labels.to_list())))


def _separate_fits(
    law: Law,
    frame: pl.DataFrame,
    by: str,
    names: tuple[str, ...],
    options: FitOptions,
    given: Mapping[str, FitResult] | None = None,
) -> tuple[dict[str, FitResult], float, int]:
    """``law`` fitted to each group's rows on its own (or ``given`` such fits, checked), with the summed RSS
    of log residuals and the summed count of free parameters."""
    if given is not None and set(given) != set(names):
        raise WorkbenchError(f"the separate fits given are of groups {sorted(given)}, not of {list(names)}")
    separate, rss_sep, k_sep = {}, 0.0, 0
    labels = frame[by].cast(pl.String)
    for g in names:
        rows = frame.filter(labels == g)
        if rows.height <= len(law.names):
            raise WorkbenchError(
                f"group {g!r} of column {by!r} has {rows.height} rows; a separate fit of "
                f"{law.name!r} needs more than {len(law.names)}"
            )
        if given is None:
            separate[g] = fit(law, rows, options)
        elif given[g].law.names != law.names or given[g].loss != options.loss or given[g].n_points != rows.height:
            raise WorkbenchError(
                f"the separate fit given for group {g!r} is not a {options.loss} fit of {law.name!r} "
                f"to its {rows.height} rows"
            )
        else:
            separate[g] = given[g]
        rss, _, k = _log_rss(separate[g], rows)
        rss_sep, k_sep = rss_sep + rss, k_sep + k
    return separate, rss_sep, k_sep


def shared_vs_separate(
    law: Law,
    data,
    by: str,
    *,
    shared: FitResult | None = None,
    separate: Mapping[str, FitResult] | None = None,
    loss: str = "squared",
    options: FitOptions | None = None,
    **overrides,
) -> GroupComparison:
    """Fit ``law`` to ``data`` with exponents shared across the groups of column ``by``, and per group.

    ``loss`` (squared by default, see above; it takes precedence over
    ``options.loss``) with ``options`` and keyword ``overrides`` go to every
    fit.  Every group needs more rows than the law has parameters.  ``shared``
    reuses a joint fit already made with the same loss (of the law
    :func:`~workbench.laws.grouped.grouped` returns), ``separate`` the
    per-group fits of an earlier comparison (``pooled_vs_separate(...).separate``).
    """
    frame = _as_frame(data)
    glaw, gdata, names = grouped(law, frame, by)
    if len(names) < 2:
        raise WorkbenchError(f"column {quote(by)} has one group ({quote(names[0])}): nothing to compare")
    options = FitOptions.of(options, **overrides).replace(loss=loss)
    if shared is None or shared.loss != loss:  # reuse only a least-squares fit of log residuals
        shared = fit(glaw, gdata, options)
    elif shared.law.names != glaw.names:
        raise WorkbenchError(f"the joint fit given is of {shared.law.name!r}, not of {glaw.name!r}")
    separate, rss_sep, k_sep = _separate_fits(law, frame, by, names, options, separate)
    rss_sh, n_sh, k_sh = _log_rss(shared, gdata)
    table = _nested_table("shared exponents", shared, rss_sh, k_sh, separate, rss_sep, k_sep, n_sh)
    exponents = pl.DataFrame(
        [
            {"parameter": p.name, "shared": shared.params[p.name], **{g: separate[g].params[p.name] for g in names}}
            for p in law.nonlinear
        ]
    )
    return GroupComparison(by=by, groups=names, shared=shared, separate=separate, table=table, exponents=exponents)


@dataclass(frozen=True)
class PoolingComparison:
    """One law for every row (groups ignored) against one fit per group: does the grouping matter at all?"""

    by: str
    groups: tuple[str, ...]
    pooled: FitResult  # one law, every parameter shared by all groups
    separate: Mapping[str, FitResult]  # every parameter free, one fit per group
    table: pl.DataFrame  # one row per model: free parameters, RSS of log residuals, AIC, BIC
    params: pl.DataFrame  # every parameter: the pooled value, and each group's own

    @property
    def delta_aic(self) -> float:
        """AIC(separate) - AIC(pooled): positive when one law for all groups is preferred."""
        aic = dict(zip(self.table["model"], self.table["aic"]))
        return float(aic["separate"] - aic["pooled"])

    @property
    def f_test(self) -> tuple[float, float]:
        """``(F, p)`` of the nested comparison: do the per-group parameters reduce the RSS more than noise would?

        Pooling is the separate model with every group's parameters equal, so F =
        ((RSS_pooled - RSS_separate) / extra) / (RSS_separate / (n - k_separate)) with extra = (G - 1) k,
        referred to F(extra, n - k_separate) (exact for linear models, the usual approximation otherwise).
        A small p rejects pooling: the groups differ somewhere.
        """
        return _nested_f_test(self.table, "pooled", "separate", self.n_points)

    @property
    def n_points(self) -> int:
        return int(self.pooled.n_points)

    @property
    def verdict(self) -> str:
        return _verdict(self.delta_aic, self.f_test[1], "one law for all groups (pooled)", "a separate law per group")

    def to_dict(self) -> dict:
        f, p_value = self.f_test
        return {
            "by": self.by,
            "groups": list(self.groups),
            "loss": self.pooled.loss,
            "delta_aic": self.delta_aic,
            "f_statistic": f,
            "p_value": p_value,
            "verdict": self.verdict,
            "models": self.table.to_dicts(),
            "params": self.params.to_dicts(),
        }


def pooled_vs_separate(
    law: Law,
    data,
    by: str,
    *,
    separate: Mapping[str, FitResult] | None = None,
    loss: str = "squared",
    options: FitOptions | None = None,
    **overrides,
) -> PoolingComparison:
    """Fit ``law`` once to all of ``data`` (column ``by`` ignored) and once per group of ``by``; compare.

    The test to run before :func:`shared_vs_separate`: if pooling is not
    rejected, the groups are one population as far as ``law`` can tell.  Any
    law works (separable or not).  ``loss`` (squared by default, so that AIC
    and the F-test hold) with ``options`` and keyword ``overrides`` go to every
    fit; every group needs more rows than the law has parameters.
    ``separate`` reuses per-group fits made with the same loss (e.g.
    ``shared_vs_separate(...).separate``).
    """
    frame = _as_frame(data)
    names = _group_names(frame, by)
    if len(names) < 2:
        raise WorkbenchError(f"column {quote(by)} has one group ({quote(names[0])}): nothing to compare")
    options = FitOptions.of(options, **overrides).replace(loss=loss)
    separate, rss_sep, k_sep = _separate_fits(law, frame, by, names, options, separate)
    pooled = fit(law, frame, options)
    rss_po, n_po, k_po = _log_rss(pooled, frame)
    table = _nested_table("pooled", pooled, rss_po, k_po, separate, rss_sep, k_sep, n_po)
    params = pl.DataFrame(
        [{"parameter": n, "pooled": pooled.params[n], **{g: separate[g].params[n] for g in names}} for n in law.names]
    )
    return PoolingComparison(by=by, groups=names, pooled=pooled, separate=separate, table=table, params=params)
