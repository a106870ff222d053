"""Kumar et al. 2024 (arXiv:2411.04330), "Scaling Laws for Precision".

Quantised training acts as a loss of *effective parameters* (Eqs. 3-4):

    N_eff = N prod_x (1 - e^(-P_x/gamma_x + n_x)),   x in {w, a, kv}
    L = A N_eff^-alpha + B D^-beta + E

Each factor saturates to 1 at high precision, so the law reduces to Chinchilla
at 16 bits.  The main text writes the factors without the offsets n_x; App. K
says every exponential "e^(x/gamma_x) in the main text is really computed with
offset e^(x/gamma_x + n)" and prints n_w, n_i (activations) and n_kv in Table 2,
so here the offset is an additive term in the exponent, as that sentence says.
A factor is then zero at P_x = n_x gamma_x (0.81, 3.11 and 2.32 bits with
Table 2), matching App. L's report that runs with activations or KV cache at 3
bits or fewer diverge.  Two checks that this is the authors' placement: it
gives the compute-optimal training precision of 7.0 bits that the paper
reports as "around 7-8 bits" (§4.3.2; :func:`compute_optimal_precision`),
and no other placement does (without offsets: 3.5 bits).  E, A and B enter
linearly (basis ``[1, N_eff^-alpha, D^-beta]``); the exponents, gamma scales
and offsets are searched.  :func:`kumar_law` declares the law for any subset of
the quantised tensors (``kumar_weights``: weights only, Eq. 3;
``kumar_precision``: weights, activations and KV cache, Eq. 4).  The paper
ties beta = alpha (App. K); fit with ``tie=["beta=alpha"]`` to do the same.

Post-training quantisation adds a degradation that *grows* with data (Eq. 2):

    delta_PTQ(N, D, P_post) = C_T D^g_D N^-g_N e^(-P_post/g_post + b)

(target column ``degradation``: loss after PTQ minus loss before; the
post-training precision is read from ``weight_bits``).  The offset b of Table 2
enters the same way; it only rescales C_T (C_T e^b is what the data
determine), so fits report the canonical b = 0 with C_T absorbing e^b, and the
preset keeps the printed pair.  Table 2 prints this exponential's scale as an
unsubscripted gamma (0.5907) in the PTQ block: it is gamma_post of Eq. 2.

Compute-optimal precision.  With cost C proportional to N D P (Eq. 5) the
best loss at fixed C depends on P only through N_eff D / (N D) / P, so the
optimal training precision maximises ``prod_x(factor_x(P)) / P`` whatever the
budget and the exponents (:func:`compute_optimal_precision`): Kumar et al.'s
finding that it is independent of compute (§4.3.2), unless N is held fixed
(§4.3.3), when it grows with log C.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

from workbench.laws.base import Columns, Law, Parameter, Preset

_CITE = "Kumar et al. 2024, Scaling Laws for Precision, arXiv:2411.04330"
_LOCATOR = "arXiv:2411.04330v2 App. K Table 2"
_EXP_GRID = tuple(float(v) for v in np.round(np.linspace(0.1, 1.0, 7), 6))
_GAMMA_GRID = (0.5, 1.0, 2.0, 4.0)
_OFFSET_GRID = (0.0, 0.5, 1.5)
COMPONENTS = {"weight": ("weight_bits", "w"), "activation": ("activation_bits", "a"), "kv": ("kv_bits", "kv")}

#: App. K Table 2, as printed (the table names the activation constants gamma_i, n_i).
TABLE2 = {
    "E": 2.7648,
    "A": 4.299e3,
    "B": 1.806e4,
    "alpha": 0.4965,
    "beta": 0.4965,
    "gamma_w": 2.6745,
    "n_w": 0.3037,
    "gamma_a": 2.2102,
    "n_a": 1.4072,
    "gamma_kv": 0.9578,
    "n_kv": 2.4185,
}
TABLE2_PTQ = {"C_T": 0.0598, "gamma_D": 0.5068, "gamma_N": 0.3439, "gamma_post": 0.5907, "b": 1.1277}


def precision_factor(bits, gamma: float, offset: float = 0.0):
    """``1 - exp(-P / gamma + n)``: the share of parameters a tensor in P bits keeps (<= 0 below P = n gamma)."""
    return -np.expm1(-np.asarray(bits, dtype=float) / gamma + offset)


def effective_params(
    params, bits: dict[str, float | np.ndarray], gammas: dict[str, float], offsets: dict[str, float] | None = None
):
    """``N_eff = N prod_x (1 - exp(-P_x / gamma_x + n_x))`` for the components in ``bits``."""
    out = np.asarray(params, dtype=float)
    for comp, p in bits.items():
        out = out * precision_factor(p, gammas[comp], (offsets or {}).get(comp, 0.0))
    return out


def table2_gammas(values=TABLE2) -> tuple[dict[str, float], dict[str, float]]:
    """``(gammas, offsets)`` by component name from a preset's values."""
    gammas = {c: values[f"gamma_{s}"] for c, (_, s) in COMPONENTS.items() if f"gamma_{s}" in values}
    offsets = {c: values.get(f"n_{s}", 0.0) for c, (_, s) in COMPONENTS.items() if f"gamma_{s}" in values}
    return gammas, offsets


def compute_optimal_precision(values=TABLE2, components=("weight", "activation", "kv"), *, hi: float = 32.0) -> float:
    """Training precision P (the same for every quantised tensor) that minimises loss at fixed compute.

    With C = (6/16) N D P (Eq. 5), minimising ``A (N f(P))^-alpha + B D^-beta``
    over N at fixed C gives a loss that depends on P only through ``f(P) / P``,
    so P* maximises it for any budget and exponents.  Table 2 gives 7.0 bits;
    the paper reports "around 7-8 bits" (§4.3.2, Finding 3).
    """
    gammas, offsets = table2_gammas(values)

    def score(p):
        factors = [precision_factor(p, gammas[c], offsets[c]) for c in components]
        usable = np.all([f > 0 for f in factors], axis=0)  # below P = n gamma a tensor keeps nothing
        return np.where(usable, np.prod(factors, axis=0) / p, 0.0)

    grid = np.linspace(0.5, hi, 4000)
    best = float(grid[int(np.argmax(score(grid)))])
    step = grid[1] - grid[0]
    res = minimize_scalar(
        lambda p: -float(score(p)), bounds=(best - step, best + step), method="bounded", options={"xatol": 1e-9}
    )
    return float(res.x)


def kumar_law(components: tuple[str, ...] = ("weight", "activation", "kv"), name: str | None = None) -> Law:
    """Kumar's effective-parameter law with the given quantised ``components`` and their offsets."""
    cols = [COMPONENTS[c][0] for c in components]
    subs = [COMPONENTS[c][1] for c in components]
    k = len(components)

    def _terms(x, theta):
        alpha = theta[0]
        gammas, offsets = theta[2 : 2 + k], theta[2 + k :]
        log_neff = np.log(x["params"])
        with np.errstate(invalid="ignore", divide="ignore"):  # a factor <= 0 makes the prediction invalid
            for col, g, n in zip(cols, gammas, offsets):
                log_neff = log_neff + np.log(-np.expm1(-x[col] / g + n))
        return log_neff, np.exp(-alpha * log_neff), np.log(x["tokens"])

    def basis(x: Columns, theta) -> np.ndarray:
        beta = theta[1]
        _, n_term, log_d = _terms(x, theta)
        n_term, d_term = np.broadcast_arrays(n_term, np.exp(-beta * log_d))
        return np.stack([np.ones_like(n_term), n_term, d_term], axis=-1)

    def basis_grad(x: Columns, theta) -> np.ndarray:
        alpha, beta = theta[0], theta[1]
        gammas, offsets = theta[2 : 2 + k], theta[2 + k :]
        log_neff, n_term, log_d = _terms(x, theta)
        grads = [-log_neff * n_term, -log_d * np.exp(-beta * log_d)]
        d_gamma, d_offset = [], []
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            for col, g, n in zip(cols, gammas, offsets):
                r = x[col] / g - n  # -(exponent)
                d_gamma.append(alpha * n_term * (x[col] / g**2) / np.expm1(r))
                d_offset.append(alpha * n_term / np.expm1(r))
        grads = np.broadcast_arrays(*grads, *d_gamma, *d_offset)
        out = np.zeros(grads[0].shape + (3, len(grads)))
        out[..., 1, 0] = grads[0]
        out[..., 2, 1] = grads[1]
        for j, gj in enumerate(grads[2:], start=2):
            out[..., 1, j] = gj
        return out

    factors = "".join(rf"\left(1 - e^{{-P_{{{s}}}/\gamma_{{{s}}} + n_{{{s}}}}}\right)" for s in subs)
    full = tuple(components) == ("weight", "activation", "kv")
    presets = ()
    if full:
        presets = (
            Preset(
                "kumar2024_table2",
                dict(TABLE2),
                _CITE,
                origin="printed",
                locator=_LOCATOR + " (beta tied to alpha; activation constants printed as gamma_i, n_i)",
                note="Fitted on 465 OLMo-style runs (30M-220M parameters, 1.5B-26B tokens, Dolma) with "
                "integer forward-pass quantisation. The offsets enter as e^(-P/gamma + n), per App. K's "
                "text; the authors stress the constants are specific to their setup.",
            ),
        )
    return Law(
        name=name or ("kumar_precision" if full else "kumar_" + "_".join(components)),
        title="Kumar precision law: quantised training as effective parameters (" + ", ".join(components) + ")",
        variables=("params", "tokens", *cols),
        parameters=(
            Parameter("E", 0.0, 100.0, "E", "irreducible loss", linear=True),
            Parameter("A", 0.0, 1e12, "A", "model-size coefficient", linear=True),
            Parameter("B", 0.0, 1e12, "B", "data coefficient", linear=True),
            Parameter("alpha", 0.0, 3.0, r"\alpha", "effective-parameter exponent", grid=_EXP_GRID),
            Parameter("beta", 0.0, 3.0, r"\beta", "data exponent (the paper ties it to alpha)", grid=_EXP_GRID),
            *(
                Parameter(
                    f"gamma_{s}",
                    0.05,
                    50.0,
                    rf"\gamma_{{{s}}}",
                    f"bits scale of {c} precision",
                    grid=_GAMMA_GRID,
                    log_scale=True,
                )
                for c, s in zip(components, subs)
            ),
            *(
                Parameter(
                    f"n_{s}",
                    -10.0,
                    10.0,
                    rf"n_{{{s}}}",
                    f"offset in the exponent of {c} precision (the factor vanishes at P = n gamma)",
                    grid=_OFFSET_GRID,
                )
                for c, s in zip(components, subs)
            ),
        ),
        latex=(r"L = A\,N_\mathrm{eff}^{-\alpha} + B\,D^{-\beta} + E,\quad N_\mathrm{eff} = N" + factors),
        basis=basis,
        basis_grad=basis_grad,
        presets=presets,
        description="Loss of quantised training: precision shrinks the effective parameter count "
        "(Kumar et al. 2024, Eqs. 3-4, with App. K's offsets); the paper ties beta = alpha.",
        references=("arXiv:2411.04330",),
    )


KUMAR_PRECISION = kumar_law()
KUMAR_WEIGHTS = kumar_law(("weight",), name="kumar_weights")


def _ptq_term(x: Columns, theta):
    g_d, g_n, g_post, b = theta
    return np.exp(g_d * np.log(x["tokens"]) - g_n * np.log(x["params"]) - x["weight_bits"] / g_post + b)


def _ptq_basis(x: Columns, theta) -> np.ndarray:
    return _ptq_term(x, theta)[..., None]


def _ptq_basis_grad(x: Columns, theta) -> np.ndarray:
    g_post = theta[2]
    term = _ptq_term(x, theta)
    grads = np.broadcast_arrays(
        np.log(x["tokens"]) * term, -np.log(x["params"]) * term, x["weight_bits"] / g_post**2 * term, term
    )
    return np.stack(grads, axis=-1)[..., None, :]


def _ptq_canonical(values) -> dict[str, float]:
    """Only C_T e^b is identified: report b = 0 with C_T absorbing e^b."""
    out = dict(values)
    out["C_T"], out["b"] = float(values["C_T"]) * float(np.exp(values["b"])), 0.0
    return out


KUMAR_PTQ = Law(
    name="kumar_ptq",
    title="Kumar post-training quantisation degradation",
    variables=("params", "tokens", "weight_bits"),
    target="degradation",
    parameters=(
        Parameter("C_T", 0.0, 1e6, "C_T", "scale of the degradation", linear=True),
        Parameter(
            "gamma_D",
            0.0,
            3.0,
            r"\gamma_D",
            "data exponent (degradation grows with tokens)",
            grid=tuple(float(v) for v in np.round(np.linspace(0.05, 1.2, 12), 6)),
        ),
        Parameter(
            "gamma_N",
            0.0,
            3.0,
            r"\gamma_N",
            "model-size exponent",
            grid=tuple(float(v) for v in np.round(np.linspace(0.05, 1.2, 12), 6)),
        ),
        Parameter(
            "gamma_post",
            0.02,
            20.0,
            r"\gamma_\mathrm{post}",
            "bits scale of the post-training precision",
            grid=(0.25, 0.5, 1.0, 2.0, 4.0),
            log_scale=True,
        ),
        Parameter(
            "b", -10.0, 10.0, "b", "offset in the exponent (only C_T e^b is identified; fits report b = 0)", grid=(0.0,)
        ),
    ),
    latex=r"\delta_\mathrm{PTQ}(N, D, P) = C_T\,\frac{D^{\gamma_D}}{N^{\gamma_N}}\,e^{-P/\gamma_\mathrm{post} + b}",
    basis=_ptq_basis,
    basis_grad=_ptq_basis_grad,
    presets=(
        Preset(
            "kumar2024_table2",
            dict(TABLE2_PTQ),
            _CITE,
            origin="printed",
            locator=_LOCATOR + " (C_T, gamma_D, gamma_N, gamma = gamma_post, b)",
            note="GPTQ post-training quantisation of BF16-trained models (Eq. 2); b placed as App. K's offsets are.",
        ),
    ),
    description="Loss increase from post-training quantisation to weight_bits bits (Kumar et al. 2024, Eq. 2, "
    "with App. K's offset).",
    references=("arXiv:2411.04330",),
    canonical=_ptq_canonical,
)

KUMAR_LAWS = (KUMAR_WEIGHTS, KUMAR_PRECISION, KUMAR_PTQ)
