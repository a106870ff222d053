"""Muennighoff et al. 2023 (arXiv:2305.16264): scaling with repeated data.

    L(N, D, U_D) = E + A / N'^alpha + B / D'^beta
    D' = U_D + U_D R_D* (1 - exp(-R_D / R_D*)),   R_D = max(D / U_D - 1, 0)
    N' = U_N + U_N R_N* (1 - exp(-R_N / R_N*)),   U_N = min(N, N_opt(U_D)),  R_N = max(N / U_N - 1, 0)

Chinchilla with *effective* data and parameters: each repeated epoch of the
U_D unique tokens is worth less than the last (the value of repetitions decays
with scale R_D*, about 15 epochs), and parameters beyond the size that is
compute-optimal for U_D decay likewise (R_N*).  N_opt(U_D) = (U_D G)^(beta/alpha) G
with G = (alpha A / (beta B))^(1/(alpha+beta)) depends on A and B, so A and B
do not enter linearly and the law declares a ``formula``.  Unique tokens above
the tokens seen are capped (U_D <- min(U_D, D)), as the authors' allocation code does.

Preset: the authors' repository README's parametric fit (a, b, e are log A, log
B, log E; alpha = beta), whose two example losses are this module's test fixtures.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

from workbench.laws.base import Columns, Law, Parameter, Preset

README_FIT = {
    "E": float(np.exp(0.6254804)),
    "A": float(np.exp(6.255414)),
    "B": float(np.exp(7.3049974)),
    "alpha": 0.3526596,
    "beta": 0.3526596,
    "rd_star": 15.387756,
    "rn_star": 5.309743,
}


def _decayed(unique, repeats, star):
    return unique + unique * star * -np.expm1(-repeats / star)


def effective_data(tokens, unique_tokens, rd_star):
    """D' = U + U R_D* (1 - exp(-R_D / R_D*)) with R_D the repeated epochs beyond the first."""
    d = np.asarray(tokens, float)
    u = np.minimum(np.asarray(unique_tokens, float), d)
    return _decayed(u, np.maximum(d / u - 1.0, 0.0), rd_star)


def _loss(x: Columns, v) -> np.ndarray:
    d = x["tokens"]
    u = np.minimum(x["unique_tokens"], d)
    g = (v["alpha"] * v["A"] / (v["beta"] * v["B"])) ** (1.0 / (v["alpha"] + v["beta"]))
    n_opt = (u * g) ** (v["beta"] / v["alpha"]) * g
    u_n = np.minimum(x["params"], n_opt)
    n_eff = _decayed(u_n, np.maximum(x["params"] / u_n - 1.0, 0.0), v["rn_star"])
    d_eff = _decayed(u, np.maximum(d / u - 1.0, 0.0), v["rd_star"])
    return v["E"] + v["A"] / n_eff ** v["alpha"] + v["B"] / d_eff ** v["beta"]


MUENNIGHOFF_DATA_CONSTRAINED = Law(
    name="data_constrained",
    title="Muennighoff data-constrained law: loss vs N, tokens seen and unique tokens",
    variables=("params", "tokens", "unique_tokens"),
    parameters=(
        Parameter("E", 1e-3, 100.0, "E", "irreducible loss", grid=(1.0, 2.0), log_scale=True),
        Parameter("A", 1e-3, 1e12, "A", "model-size coefficient", grid=(1e2, 1e3, 1e4), log_scale=True),
        Parameter("B", 1e-3, 1e12, "B", "data coefficient", grid=(1e2, 1e3, 1e4), log_scale=True),
        Parameter("alpha", 0.01, 3.0, r"\alpha", "model-size exponent", grid=(0.2, 0.35, 0.5)),
        Parameter("beta", 0.01, 3.0, r"\beta", "data exponent", grid=(0.2, 0.35, 0.5)),
        Parameter(
            "rd_star", 0.01, 1e4, r"R_D^*", "decay scale of repeated epochs", grid=(3.0, 15.0, 60.0), log_scale=True
        ),
        Parameter(
            "rn_star", 0.01, 1e4, r"R_N^*", "decay scale of excess parameters", grid=(1.0, 5.0, 25.0), log_scale=True
        ),
    ),
    latex=(
        r"L = E + \frac{A}{N'^{\alpha}} + \frac{B}{D'^{\beta}},\quad "
        r"D' = U_D + U_D R_D^*\left(1 - e^{-R_D/R_D^*}\right),\ "
        r"N' = U_N + U_N R_N^*\left(1 - e^{-R_N/R_N^*}\right)"
    ),
    formula=_loss,
    presets=(
        Preset(
            "muennighoff2023_readme",
            README_FIT,
            "Muennighoff et al. 2023, Scaling Data-Constrained Language Models, arXiv:2305.16264",
            origin="authors-code",
            locator="huggingface/datablations@0c76502267929830725f1de47a1b7b02bec78af4:README.md "
            "('Parametric Fit': a, b, e, alpha, beta, rd_star, rn_star)",
            note="C4, GPT-2 tokenizer, up to 9B parameters and 900B tokens; alpha = beta. The paper's "
            "appendices print the same digits (C4 scaling coefficients; R_N* = 5.309743, "
            "R_D* = 15.387756), seen here only in a transcription of its LaTeX.",
        ),
    ),
    description="Loss when D training tokens repeat U_D unique ones (Muennighoff et al. 2023).",
    references=("arXiv:2305.16264",),
)


def _one_size_basis(x: Columns, theta) -> np.ndarray:
    beta, rd_star = theta
    d_eff = effective_data(x["tokens"], x["unique_tokens"], rd_star)
    term = d_eff**-beta
    return np.stack([np.ones_like(term), term], axis=-1)


def _one_size_basis_grad(x: Columns, theta) -> np.ndarray:
    beta, rd_star = theta
    d = np.asarray(x["tokens"], float)
    u = np.minimum(np.asarray(x["unique_tokens"], float), d)
    r = np.maximum(d / u - 1.0, 0.0)
    d_eff = effective_data(d, u, rd_star)
    # dD'/dR* = U (1 - e^{-R/R*}) - U (R/R*) e^{-R/R*}
    dd_drs = u * (-np.expm1(-r / rd_star)) - u * (r / rd_star) * np.exp(-r / rd_star)
    out = np.zeros(np.broadcast(d_eff, dd_drs, beta).shape + (2, 2))
    out[..., 1, 0] = -np.log(d_eff) * d_eff**-beta
    out[..., 1, 1] = -beta * d_eff ** (-beta - 1.0) * dd_drs
    return out


MUENNIGHOFF_ONE_SIZE = Law(
    name="data_constrained_one_size",
    title="Muennighoff data-constrained law at one model size: loss vs tokens seen and unique tokens",
    variables=("tokens", "unique_tokens"),
    parameters=(
        Parameter("E", 0.0, 100.0, "E", "loss of this model size with unlimited data", linear=True),
        Parameter("B", 0.0, 1e12, "B", "data coefficient", linear=True),
        Parameter("beta", 0.01, 3.0, r"\beta", "data exponent", grid=(0.1, 0.2, 0.35, 0.5, 0.8)),
        Parameter(
            "rd_star",
            0.01,
            1e4,
            r"R_D^*",
            "decay scale of repeated epochs",
            grid=(0.5, 1.5, 5.0, 15.0, 50.0, 200.0),
            log_scale=True,
        ),
    ),
    latex=r"L = E + \frac{B}{D'^{\beta}},\quad D' = U_D + U_D R_D^*\left(1 - e^{-R_D/R_D^*}\right)",
    basis=_one_size_basis,
    basis_grad=_one_size_basis_grad,
    description=(
        "The data half of Muennighoff et al.'s law, for runs of one model size: the model term A / N'^alpha is "
        "then a constant that E absorbs. Caveat: in the full law N' also shrinks when the unique data are too "
        "few for N (R_N*); at one size that effect cannot be told apart from R_D*, which absorbs it."
    ),
    references=("arXiv:2305.16264",),
)

DATA_CONSTRAINED_LAWS = (MUENNIGHOFF_DATA_CONSTRAINED, MUENNIGHOFF_ONE_SIZE)


def optimal_allocation(flops, unique_tokens, values=README_FIT) -> tuple[float, float]:
    """``(params, tokens)`` minimising the law at compute ``flops = 6 N D`` with ``unique_tokens`` available."""
    c = float(flops) / 6.0

    def loss(log_n):
        n = np.exp(log_n)
        x = {"params": np.array([n]), "tokens": np.array([c / n]), "unique_tokens": np.array([float(unique_tokens)])}
        return float(_loss(x, values)[0])

    lo, hi = np.log(c) / 2 - 8.0, np.log(c) / 2 + 8.0
    grid = np.linspace(lo, hi, 321)
    best = grid[int(np.argmin([loss(g) for g in grid]))]
    res = minimize_scalar(loss, bounds=(best - 0.05, best + 0.05), method="bounded", options={"xatol": 1e-10})
    n = float(np.exp(res.x))
    return n, c / n
