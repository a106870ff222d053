"""Parallel scaling (ParScale; Chen et al. 2025, arXiv:2505.10475): loss vs N and P streams.

    L(N, P) = (A / (N (k log P + 1)))^alpha + E

A model with N parameters run as P parallel streams (P learnable input
transformations, one shared backbone, a learned aggregation of the P outputs)
behaves like a model with N (k log P + 1) parameters in a Chinchilla-style
parameter law: P streams are "worth" scaling N by O(log P).  E is the
irreducible loss, A a scale constant in parameters, alpha the parameter
exponent and k how much one e-fold of streams is worth.  P = 1 reduces to
L = (A / N)^alpha + E.

What was checked: the form, in this parameterisation, is the one the authors'
fitting code evaluates (``E + (A * 1e9 / (N * (log(P) * k + 1)))^alpha``, a
natural log, A in units of 1e9 parameters, fitted on Stack-V2-Python and Pile
runs with P = 1, 2, 4, 8), in a copy of their released ``parametric_fit.py``;
the authors' visualisation page and a later survey print the same formula.
The paper's own text (its equation, its table of fitted E, A, k, alpha per
corpus) could not be reached here, so the law has no presets.  N counts
non-embedding parameters in the authors' data; the natural log is the code's
choice (another base only rescales k).
"""

from __future__ import annotations

import numpy as np

from workbench.laws.base import Columns, Law, Parameter


def _loss(x: Columns, v) -> np.ndarray:
    gain = v["k"] * np.log(x["parallel_streams"]) + 1.0
    return np.exp(v["alpha"] * np.log(v["A"] / (x["params"] * gain))) + v["E"]


PARSCALE = Law(
    name="parscale",
    title="ParScale: loss vs parameters and parallel streams",
    variables=("params", "parallel_streams"),
    parameters=(
        Parameter("E", 0.0, 100.0, "E", "irreducible loss", grid=(0.0, 0.5, 1.0, 2.0)),
        Parameter(
            "A",
            1.0,
            1e30,
            "A",
            "scale constant (parameters)",
            grid=tuple(float(v) for v in np.geomspace(1e4, 1e14, 6)),
            log_scale=True,
        ),
        Parameter(
            "k",
            0.0,
            50.0,
            "k",
            "worth of parallel streams: P streams act like N (k ln P + 1) parameters",
            grid=(0.1, 0.3, 0.6, 1.0),
        ),
        Parameter(
            "alpha",
            1e-4,
            5.0,
            r"\alpha",
            "parameter exponent",
            grid=tuple(float(v) for v in np.round(np.geomspace(0.05, 1.0, 6), 6)),
        ),
    ),
    latex=r"L(N, P) = \left(\frac{A}{N\,(k \log P + 1)}\right)^{\alpha} + E",
    formula=_loss,
    description=(
        "Loss of a model with N parameters run as P parallel streams (Chen et al. 2025); log is natural, as in "
        "the authors' fitting code. No presets: the paper's fitted constants could not be checked here."
    ),
    references=("arXiv:2505.10475",),
)

PARSCALE_LAWS = (PARSCALE,)


def equivalent_params(params, parallel_streams, k: float):
    """Parameters of the single-stream model with the same loss: ``N (k ln P + 1)``."""
    return np.asarray(params, dtype=float) * (k * np.log(np.asarray(parallel_streams, dtype=float)) + 1.0)
