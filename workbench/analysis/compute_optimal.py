"""Compute-optimal allocation for the Chinchilla form (Approach 3 closed form).

Minimising E + A/N^alpha + B/D^beta subject to C = 6 N D gives
N_opt(C) = G (C/6)^a and D_opt(C) = (C/6)^b / G, with
G = (alpha A / (beta B))^(1/(alpha+beta)), a = beta/(alpha+beta), b = alpha/(alpha+beta)
(Hoffmann et al. 2022, Eq. 4).  Pure functions of the constants and the budget,
vectorised over budgets, so sliders can call them on every move.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from workbench.errors import WorkbenchError


@dataclass(frozen=True)
class Allocation:
    flops: np.ndarray
    params: np.ndarray
    tokens: np.ndarray
    loss: np.ndarray
    a: float  # N_opt ~ C^a
    b: float  # D_opt ~ C^b

    @property
    def tokens_per_param(self) -> np.ndarray:
        return self.tokens / self.params


def chinchilla_optimal(values: Mapping[str, float], flops, flops_per_token_param: float = 6.0) -> Allocation:
    """N_opt, D_opt and the loss there for budgets ``flops`` (C = 6 N D by default)."""
    E, A, B, alpha, beta = (float(values[k]) for k in ("E", "A", "B", "alpha", "beta"))
    if min(A, B, alpha, beta) <= 0:
        raise WorkbenchError("compute-optimal allocation needs positive A, B, alpha and beta")
    c = np.asarray(flops, dtype=float)
    if np.any(c <= 0):
        raise WorkbenchError("compute budgets must be positive")
    g = (alpha * A / (beta * B)) ** (1.0 / (alpha + beta))
    a, b = beta / (alpha + beta), alpha / (alpha + beta)
    n = g * (c / flops_per_token_param) ** a
    d = (c / flops_per_token_param) ** b / g
    loss = E + A / n**alpha + B / d**beta
    return Allocation(flops=c, params=n, tokens=d, loss=loss, a=a, b=b)
