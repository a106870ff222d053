"""Lifetime-optimal models: training plus inference compute at a fixed target loss.

Compute-optimal allocation (Hoffmann et al. 2022) minimises the training
compute 6ND needed for a loss.  A model that will then serve T tokens also
costs about 2N FLOPs per served token (one forward pass), so the cheapest model
*over its lifetime* for a target loss minimises

    6 N D(N) + 2 N T

along the iso-loss curve D(N) of the law (Sardana, Portes, Doubov, Frankle
2024, arXiv:2401.00448).  With T = 0 this is the compute-optimal model; as T
grows the optimum moves to smaller N trained on more tokens per parameter.

The law must have the Chinchilla form E + A/N^alpha + B/D^beta (values given as
a mapping with those five names), for which the iso-loss curve is explicit:
D(N) = (B / (L - E - A N^-alpha))^(1/beta).  There is no closed form for the
optimum, so a log-spaced grid of N (vectorised over many T at once, which is
what a slider needs) is refined by a parabola through the three best grid
points in log N; the refinement is exact to well under 0.1 %.

The FLOP model (6 per parameter per training token, 2 per parameter per served
token) ignores attention, the KV cache and differences in hardware utilisation
between training and inference; change ``train_flops`` and ``inference_flops``
to explore other assumptions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from workbench.errors import WorkbenchError

_GRID = 1200  # grid points over five decades of N above the smallest model that can reach the loss


def _constants(values: Mapping[str, float]) -> tuple[float, float, float, float, float]:
    E, A, B, alpha, beta = (float(values[k]) for k in ("E", "A", "B", "alpha", "beta"))
    if min(A, B, alpha, beta) <= 0:
        raise WorkbenchError("lifetime-optimal allocation needs positive A, B, alpha and beta")
    return E, A, B, alpha, beta


def smallest_model(values: Mapping[str, float], loss: float) -> float:
    """The N below which no amount of data reaches ``loss`` (where A/N^alpha = loss - E)."""
    E, A, _, alpha, _ = _constants(values)
    if loss <= E:
        raise WorkbenchError(f"target loss {loss:.4g} is at or below the law's irreducible loss E = {E:.4g}")
    return (A / (loss - E)) ** (1.0 / alpha)


def tokens_for_loss(values: Mapping[str, float], loss: float, params) -> np.ndarray:
    """Training tokens a model of ``params`` needs to reach ``loss`` (NaN where it never can)."""
    E, A, B, alpha, beta = _constants(values)
    n = np.asarray(params, dtype=float)
    gap = loss - E - A * n**-alpha
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(gap > 0, (B / np.where(gap > 0, gap, 1.0)) ** (1.0 / beta), np.nan)


@dataclass(frozen=True)
class LifetimePlan:
    """The cheapest model over its lifetime for each served-token count (arrays over ``served``)."""

    loss: float
    served: np.ndarray
    params: np.ndarray
    tokens: np.ndarray
    train_flops: np.ndarray
    inference_flops: np.ndarray

    @property
    def total_flops(self) -> np.ndarray:
        return self.train_flops + self.inference_flops

    @property
    def tokens_per_param(self) -> np.ndarray:
        return self.tokens / self.params


def lifetime_optimal(
    values: Mapping[str, float], loss: float, served, *, train_flops: float = 6.0, inference_flops: float = 2.0
) -> LifetimePlan:
    """Minimise ``train_flops N D(N) + inference_flops N T`` over N at fixed ``loss``, for every T in ``served``."""
    t = np.atleast_1d(np.asarray(served, dtype=float))
    if np.any(t < 0):
        raise WorkbenchError("served tokens must be zero or positive")
    n_min = smallest_model(values, loss)
    logn = np.linspace(np.log(n_min) + 1e-6, np.log(n_min) + np.log(1e5), _GRID)
    n = np.exp(logn)
    d = tokens_for_loss(values, loss, n)
    cost = train_flops * n * d + inference_flops * n * t[:, None]  # (T, grid)
    i = np.clip(np.argmin(np.log(cost), axis=1), 1, _GRID - 2)
    rows = np.arange(t.size)
    y0, y1, y2 = (np.log(cost[rows, i + j]) for j in (-1, 0, 1))
    curvature = y0 - 2 * y1 + y2
    step = logn[1] - logn[0]
    shift = np.where(curvature > 0, 0.5 * (y0 - y2) / np.where(curvature > 0, curvature, 1.0), 0.0)
    best_n = np.exp(logn[i] + np.clip(shift, -1, 1) * step)
    best_d = tokens_for_loss(values, loss, best_n)
    return LifetimePlan(
        loss=float(loss),
        served=t,
        params=best_n,
        tokens=best_d,
        train_flops=train_flops * best_n * best_d,
        inference_flops=inference_flops * best_n * t,
    )


def plan_at_multiplier(
    values: Mapping[str, float],
    loss: float,
    tokens_per_param,
    served,
    *,
    train_flops: float = 6.0,
    inference_flops: float = 2.0,
) -> LifetimePlan:
    """The model trained at ``tokens_per_param`` = D/N that reaches ``loss``, and its lifetime cost.

    Along D = M N the loss falls monotonically in N, so the size is found by bisection in log N
    (vectorised over M).
    """
    E, A, B, alpha, beta = _constants(values)
    m = np.atleast_1d(np.asarray(tokens_per_param, dtype=float))
    if np.any(m <= 0):
        raise WorkbenchError("tokens per parameter must be positive")
    lo = np.full(m.shape, np.log(smallest_model(values, loss)))
    hi = lo + np.log(1e12)
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        n = np.exp(mid)
        above = E + A * n**-alpha + B * (m * n) ** -beta > loss
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    n = np.exp(0.5 * (lo + hi))
    d = m * n
    t = np.broadcast_to(np.asarray(served, dtype=float), m.shape)
    return LifetimePlan(
        loss=float(loss),
        served=np.asarray(t, dtype=float),
        params=n,
        tokens=d,
        train_flops=train_flops * n * d,
        inference_flops=inference_flops * n * t,
    )
