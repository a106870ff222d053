"""Kumar et al. 2024 (arXiv:2411.04330), "Scaling Laws for Precision".

Quantised training acts as a loss of *effective parameters*:

    N_eff = N (1 - e^-P_w/g_w)(1 - e^-P_a/g_a)(1 - e^-P_kv/g_kv)
    L = A N_eff^-alpha + B D^-beta + E

Each factor saturates to 1 at high precision and vanishes at zero bits, so the
law reduces to Chinchilla at 16 bits.  E, A and B enter linearly (basis
``[1, N_eff^-alpha, D^-beta]``); the exponents and the three gamma scales are
searched.  :func:`kumar_law` declares it for any subset of the quantised
tensors (``kumar_weights`` quantises weights only, Eq. 3; ``kumar_precision``
weights, activations and KV cache, Eq. 4).

Post-training quantisation adds a degradation that *grows* with data:

    delta_PTQ(N, D, P_post) = C_T D^g_D N^-g_N e^-P_post/g_post      (Eq. 2)

(target column ``degradation``: loss after PTQ minus loss before; the
post-training precision is read from ``weight_bits``).  C_T enters linearly.

Presets: Table 2 of the paper [V-text].  The authors fitted the exponential
terms with per-component bias offsets (n_w = 0.3037, n_a = 1.4072,
n_kv = 2.4185 and b = 1.1277) whose placement in the formula is not spelled
out, so the presets use the printed equations *without* them.  They reproduce
the trends, not the authors' fitted surface; the alpha = beta tie of the paper
is kept.
"""

from __future__ import annotations

import numpy as np

from workbench.laws.base import Columns, Law, Parameter, Preset

_CITE = "Kumar et al. 2024, Scaling Laws for Precision, arXiv:2411.04330, Table 2 (App. K)"
_OFFSET_NOTE = ("Bias offsets of the authors' fit (n_w, n_a, n_kv, b) omitted because their placement is not "
                "documented: trends only, not the fitted surface [V-text constants].")
_EXP_GRID = tuple(float(v) for v in np.round(np.linspace(0.1, 1.0, 7), 6))
_GAMMA_GRID = (0.5, 1.0, 2.0, 4.0)
COMPONENTS = {"weight": ("weight_bits", "w"), "activation": ("activation_bits", "a"), "kv": ("kv_bits", "kv")}


def effective_params(params, bits: dict[str, float | np.ndarray], gammas: dict[str, float]):
    """``N_eff = N prod_x (1 - exp(-P_x / gamma_x))`` for the components in ``bits``."""
    out = np.asarray(params, dtype=float)
    for comp, p in bits.items():
        out = out * -np.expm1(-np.asarray(p, dtype=float) / gammas[comp])
    return out


def kumar_law(components: tuple[str, ...] = ("weight", "activation", "kv"), name: str | None = None) -> Law:
    """Kumar's effective-parameter law with the given quantised ``components``."""
    cols = [COMPONENTS[c][0] for c in components]
    subs = [COMPONENTS[c][1] for c in components]

    def _terms(x, theta):
        alpha, beta, *gammas = theta
        log_neff = np.log(x["params"])
        for col, g in zip(cols, gammas):
            log_neff = log_neff + np.log(-np.expm1(-x[col] / g))
        return log_neff, np.exp(-alpha * log_neff), np.log(x["tokens"])

    def basis(x: Columns, theta) -> np.ndarray:
        beta = theta[1]
        _, n_term, log_d = _terms(x, theta)
        n_term, d_term = np.broadcast_arrays(n_term, np.exp(-beta * log_d))
        return np.stack([np.ones_like(n_term), n_term, d_term], axis=-1)

    def basis_grad(x: Columns, theta) -> np.ndarray:
        alpha, beta, *gammas = theta
        log_neff, n_term, log_d = _terms(x, theta)
        grads = [-log_neff * n_term, -log_d * np.exp(-beta * log_d)]
        for col, g in zip(cols, gammas):
            r = x[col] / g
            grads.append(alpha * n_term * (r / g) / np.expm1(r))
        grads = np.broadcast_arrays(*grads)
        out = np.zeros(grads[0].shape + (3, len(grads)))
        out[..., 1, 0] = grads[0]
        out[..., 2, 1] = grads[1]
        for j, gj in enumerate(grads[2:], start=2):
            out[..., 1, j] = gj
        return out

    factors = "".join(fr"\left(1 - e^{{-P_{{{s}}}/\gamma_{{{s}}}}}\right)" for s in subs)
    full = tuple(components) == ("weight", "activation", "kv")
    presets = ()
    if full:
        presets = (Preset("kumar2024_table2_no_offsets",
                          {"E": 2.7648, "A": 4.299e3, "B": 1.806e4, "alpha": 0.4965, "beta": 0.4965,
                           "gamma_w": 2.6745, "gamma_a": 2.2102, "gamma_kv": 0.9578}, _CITE, _OFFSET_NOTE),)
    return Law(
        name=name or ("kumar_precision" if full else "kumar_" + "_".join(components)),
        title="Kumar precision law: quantised training as effective parameters (" + ", ".join(components) + ")",
        variables=("params", "tokens", *cols),
        parameters=(
            Parameter("E", 0.0, 100.0, "E", "irreducible loss", linear=True),
            Parameter("A", 0.0, 1e12, "A", "model-size coefficient", linear=True),
            Parameter("B", 0.0, 1e12, "B", "data coefficient", linear=True),
            Parameter("alpha", 0.0, 3.0, r"\alpha", "effective-parameter exponent", grid=_EXP_GRID),
            Parameter("beta", 0.0, 3.0, r"\beta", "data exponent", grid=_EXP_GRID),
            *(Parameter(f"gamma_{s}", 0.05, 50.0, fr"\gamma_{{{s}}}", f"bits scale of {c} precision",
                        grid=_GAMMA_GRID, log_scale=True) for c, s in zip(components, subs)),
        ),
        latex=(r"L = A\,N_\mathrm{eff}^{-\alpha} + B\,D^{-\beta} + E,\quad N_\mathrm{eff} = N" + factors),
        basis=basis,
        basis_grad=basis_grad,
        presets=presets,
        description="Loss of quantised training: precision shrinks the effective parameter count "
                    "(Kumar et al. 2024, Eqs. 3-4); the paper ties beta = alpha.",
        references=("arXiv:2411.04330",),
    )


KUMAR_PRECISION = kumar_law()
KUMAR_WEIGHTS = kumar_law(("weight",), name="kumar_weights")


def _ptq_basis(x: Columns, theta) -> np.ndarray:
    g_d, g_n, g_post = theta
    term = np.exp(g_d * np.log(x["tokens"]) - g_n * np.log(x["params"]) - x["weight_bits"] / g_post)
    return term[..., None]


def _ptq_basis_grad(x: Columns, theta) -> np.ndarray:
    g_d, g_n, g_post = theta
    term = np.exp(g_d * np.log(x["tokens"]) - g_n * np.log(x["params"]) - x["weight_bits"] / g_post)
    grads = np.broadcast_arrays(np.log(x["tokens"]) * term, -np.log(x["params"]) * term,
                                x["weight_bits"] / g_post**2 * term)
    return np.stack(grads, axis=-1)[..., None, :]


KUMAR_PTQ = Law(
    name="kumar_ptq",
    title="Kumar post-training quantisation degradation",
    variables=("params", "tokens", "weight_bits"),
    target="degradation",
    parameters=(
        Parameter("C_T", 0.0, 1e6, "C_T", "scale of the degradation", linear=True),
        Parameter("gamma_D", 0.0, 3.0, r"\gamma_D", "data exponent (degradation grows with tokens)",
                  grid=tuple(float(v) for v in np.round(np.linspace(0.05, 1.2, 12), 6))),
        Parameter("gamma_N", 0.0, 3.0, r"\gamma_N", "model-size exponent",
                  grid=tuple(float(v) for v in np.round(np.linspace(0.05, 1.2, 12), 6))),
        Parameter("gamma_post", 0.02, 20.0, r"\gamma_\mathrm{post}", "bits scale of the post-training precision",
                  grid=(0.25, 0.5, 1.0, 2.0, 4.0), log_scale=True),
    ),
    latex=r"\delta_\mathrm{PTQ}(N, D, P) = C_T\,\frac{D^{\gamma_D}}{N^{\gamma_N}}\,e^{-P/\gamma_\mathrm{post}}",
    basis=_ptq_basis,
    basis_grad=_ptq_basis_grad,
    presets=(Preset("kumar2024_table2_no_offsets",
                    {"C_T": 0.0598, "gamma_D": 0.5068, "gamma_N": 0.3439, "gamma_post": 0.5907}, _CITE, _OFFSET_NOTE),),
    description="Loss increase from post-training quantisation to weight_bits bits (Kumar et al. 2024, Eq. 2).",
    references=("arXiv:2411.04330",),
)

KUMAR_LAWS = (KUMAR_WEIGHTS, KUMAR_PRECISION, KUMAR_PTQ)
