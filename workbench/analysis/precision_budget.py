"""What a bit buys: low-precision training as a compute multiplier.

QuEST and Quartet (Panferov et al. 2025; Castro et al. 2025) describe a
low-precision run as a BF16 run with fewer parameters and fewer tokens,
``L(N eff_N, D eff_D)``; Kumar et al. (2024, Eq. 5) charge a run at P bits
``C = (6/16) N D P`` FLOP-equivalents, so halving the bits halves the cost.
Put together, a P-bit run of budget C reaches exactly the loss of a BF16 run of
budget

    C_16 = C * eff_N * eff_D * 16 / P,

because the law only sees ``N eff_N`` and ``D eff_D`` and their product is
``C eff_N eff_D 16 / (6 P)``.  So the compute-optimal frontier at P bits is the
BF16 frontier shifted left by the *multiplier* ``m(P) = eff_N eff_D 16 / P``,
the best precision is the one with the largest ``m`` at *every* budget (Kumar
et al.'s finding that the optimal precision does not depend on compute), and
the optimal model at P bits has ``N = N'_opt / eff_N`` parameters, where
``N'_opt`` is the BF16 optimum at ``C_16``.

The argument needs nothing of the base law but that it sees only ``N eff_N``
and ``D eff_D``, so it holds for Quartet's outer exponent ``gamma != 1`` too;
the BF16 optimum is then found numerically (:func:`bf16_optimal`).  The cost
model is the papers' idealisation (cost linear in bits); real hardware speeds
up only some formats.

:func:`fit_efficiencies` estimates ``eff_N`` (and/or ``eff_D``) per training
scheme with the base law frozen, the procedure of both papers, with bootstrap
intervals over runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

from workbench.analysis.compute_optimal import Allocation
from workbench.errors import WorkbenchError
from workbench.fit import bootstrap, fit
from workbench.laws.efficiency import BASE_PARAMETERS, PRECISION_EFFICIENCY

REFERENCE_BITS = 16.0


def compute_multiplier(eff_n, bits, eff_d=1.0, reference_bits: float = REFERENCE_BITS):
    """``eff_N eff_D * reference_bits / bits``: the BF16 compute a P-bit run is worth, per unit of its own cost."""
    return np.asarray(eff_n, float) * np.asarray(eff_d, float) * reference_bits / np.asarray(bits, float)


def bf16_optimal(base: Mapping[str, float], flops, *, grid: int = 2001, n_range=(1e5, 1e16)) -> Allocation:
    """Compute-optimal N, D and loss of the base law (BF16, C = 6 N D) for budgets ``flops``.

    Works for any base of :data:`~workbench.laws.efficiency.PRECISION_EFFICIENCY`
    (also gamma != 1, where no closed form exists): the loss along each
    iso-FLOP line is evaluated on a log grid of N and the minimum refined by a
    parabola through its neighbours (in log N).  ``a`` and ``b`` are the local
    exponents of N_opt and D_opt over the budgets given.
    """
    values = {**{k: float(base[k]) for k in BASE_PARAMETERS}, "eff_N": 1.0, "eff_D": 1.0}
    c = np.atleast_1d(np.asarray(flops, float))
    if np.any(c <= 0):
        raise WorkbenchError("compute budgets must be positive")
    log_n = np.linspace(np.log(n_range[0]), np.log(n_range[1]), grid)
    n = np.exp(log_n)[None, :]
    d = c[:, None] / (6.0 * n)
    loss = PRECISION_EFFICIENCY.predict({"params": np.broadcast_to(n, d.shape).ravel(), "tokens": d.ravel()}, values)
    loss = loss.reshape(d.shape)
    i = np.clip(np.argmin(loss, axis=1), 1, grid - 2)
    rows = np.arange(c.size)
    y0, y1, y2 = loss[rows, i - 1], loss[rows, i], loss[rows, i + 1]
    denom = y0 - 2 * y1 + y2
    step = log_n[1] - log_n[0]
    shift = np.where(denom > 0, 0.5 * (y0 - y2) / np.where(denom > 0, denom, 1.0), 0.0)
    best_n = np.exp(log_n[i] + np.clip(shift, -1, 1) * step)
    best_d = c / (6.0 * best_n)
    best_loss = PRECISION_EFFICIENCY.predict({"params": best_n, "tokens": best_d}, values)
    if c.size > 1 and np.ptp(np.log(c)) > 0:
        a = float(np.polyfit(np.log(c), np.log(best_n), 1)[0])
    else:
        a = float("nan")
    return Allocation(flops=c, params=best_n, tokens=best_d, loss=best_loss, a=a, b=1.0 - a)


def precision_optimal(
    base: Mapping[str, float],
    flops,
    bits: float,
    eff_n: float = 1.0,
    eff_d: float = 1.0,
    reference_bits: float = REFERENCE_BITS,
) -> Allocation:
    """Compute-optimal N, D and loss at ``bits`` for budgets ``flops`` (cost ``6 N D bits / 16``).

    The BF16 optimum at ``flops * m`` (see :func:`compute_multiplier`), with its
    effective parameters and tokens converted back: ``N = N' / eff_N``,
    ``D = D' / eff_D``.
    """
    if eff_n <= 0 or eff_d <= 0 or bits <= 0:
        raise WorkbenchError("efficiencies and bits must be positive")
    m = float(compute_multiplier(eff_n, bits, eff_d, reference_bits))
    c = np.atleast_1d(np.asarray(flops, float))
    opt = bf16_optimal(base, c * m)
    return Allocation(flops=c, params=opt.params / eff_n, tokens=opt.tokens / eff_d, loss=opt.loss, a=opt.a, b=opt.b)


def fit_efficiencies(
    groups: Sequence[tuple[str, pl.DataFrame, Sequence[str]]],
    base: Mapping[str, float],
    *,
    draws: int = 0,
    seed: int = 0,
) -> pl.DataFrame:
    """Fit the free efficiencies of each group with the base law frozen.

    ``groups`` holds ``(label, runs, free)`` with ``free`` a subset of
    ``("eff_N", "eff_D")``; the other efficiency is fixed at 1.  ``runs`` need
    ``params``, ``tokens`` and ``loss``.  With ``draws > 0`` a bootstrap over
    runs gives 95 % intervals.  Returns one row per group: ``label``, ``runs``,
    ``eff_N``, ``eff_N_lo``, ``eff_N_hi``, ``eff_D``, ``eff_D_lo``,
    ``eff_D_hi`` (intervals null without a bootstrap) and ``corr`` (the
    bootstrap correlation of eff_N and eff_D when both are free) and ``caution``
    (the fit's :meth:`~workbench.fit.FitResult.caution`, "" when nothing).
    """
    frozen = {k: float(base[k]) for k in BASE_PARAMETERS}
    rows = []
    for label, runs, free in groups:
        bad = set(free) - {"eff_N", "eff_D"}
        if bad or not free:
            raise WorkbenchError(f"group {label!r}: free must be a non-empty subset of eff_N, eff_D")
        fixed = {**frozen, **{k: 1.0 for k in ("eff_N", "eff_D") if k not in free}}
        result = fit(PRECISION_EFFICIENCY, runs, fixed=fixed)
        row = {"label": label, "runs": runs.height, "free": "+".join(free), "objective": float(result.objective)}
        ci, corr = {}, None
        if draws:
            result, boot = bootstrap(result.problem, result, draws=draws, seed=seed)  # every draw, for corr
            ci = result.ci or {}
            if len(free) == 2:
                corr = float(np.corrcoef(boot.column("eff_N"), boot.column("eff_D"))[0, 1])
        for k in ("eff_N", "eff_D"):
            row[k] = float(result.params[k])
            lo, hi = ci.get(k, (None, None)) if k in free else (None, None)
            row[f"{k}_lo"], row[f"{k}_hi"] = lo, hi
        row["corr"] = corr
        row["caution"] = result.caution()  # what not to trust in this group's fit ("" when nothing)
        rows.append(row)
    schema = {
        "label": pl.String,
        "runs": pl.Int64,
        "free": pl.String,
        "objective": pl.Float64,
        "eff_N": pl.Float64,
        "eff_N_lo": pl.Float64,
        "eff_N_hi": pl.Float64,
        "eff_D": pl.Float64,
        "eff_D_lo": pl.Float64,
        "eff_D_hi": pl.Float64,
        "corr": pl.Float64,
        "caution": pl.String,
    }
    return pl.DataFrame(rows, schema=schema)
