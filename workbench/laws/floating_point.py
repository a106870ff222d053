"""Sun et al. 2025 (arXiv:2501.02423v3, ICML 2025): floating-point quantised training ("Capybara" law).

    L(N, D, E, M, B) = n N^-alpha + d D^-beta + eps
                       + (D^beta / N^alpha) log2(B) / (gamma (E + 1/2)^delta (M + 1/2)^nu)      (Eq. 26)

E and M are the exponent and mantissa bits of the training format and B the
block size sharing one scale.  The last term is the quantisation penalty: it
grows with the "knowledge intensity" D^beta / N^alpha, so beyond a *critical
data size* more tokens make a low-precision model worse
(:func:`critical_data_size`), and it is smallest when the P - 1 bits are split
as E + 1/2 = delta P / (delta + nu) (:func:`optimal_exponent_mantissa`).  The
+1/2 keeps the penalty finite at E = 0 or M = 0.

n, d, eps and 1/gamma enter linearly (basis ``[1, N^-alpha, D^-beta,
D^beta N^-alpha log2 B (E+1/2)^-delta (M+1/2)^-nu]``), so the law is declared
with ``inv_gamma = 1/gamma`` as its fourth coefficient and only alpha, beta,
delta and nu are searched.  The form is printed as Eq. (1), (18) and (26) of
v3; the constants are App. B.1 Table 2, fitted on the 358 runs of 41M-679M
models the paper says it "adopted" out of its 366 (§4.1, §3.2).

What it teaches, in the paper's own equations:

* the optimal split of P = E + M + 1 bits, ``M_opt = nu P / (delta + nu) - 1/2``
  (Eq. 19; :func:`optimal_mantissa_bits`): E2M1, E4M3 and E8M7 for 4, 8, 16 bits;
* the critical data size (Eq. 21; :func:`critical_data_size`): 1730T, 27T and
  0.4T tokens for a 1B model in BF16, FP8-E4M3 and FP4-E2M1 (§4.3, block size
  128);
* the cost-optimal precision *rises* with compute (Eq. 25; :func:`compute_optimal_precision`):
  under C = k P N D with k = 6/16 and B = 128 it stays between 4 and 8 bits for
  C from 1e21 to 1e31 FLOPs (§4.4, Fig. 7).

Kumar et al. 2024 instead find the optimal precision independent of compute
(see :mod:`workbench.laws.precision`): in their law precision only rescales N,
while here the penalty grows with D^beta / N^alpha, so more compute, spent on
more data, calls for more bits.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from workbench.laws.base import Columns, Law, Parameter, Preset

_CITE = "Sun et al. 2025, Scaling Laws for Floating-Point Quantization Training, arXiv:2501.02423"
TABLE2 = {
    "eps": 1.9061,
    "n": 69.2343,
    "d": 68973.0621,
    "inv_gamma": 1.0 / 11334.5197,
    "alpha": 0.2368,
    "beta": 0.5162,
    "delta": 3.1926,
    "nu": 2.9543,
}


def _logs(x: Columns):
    return (
        np.log(x["params"]),
        np.log(x["tokens"]),
        np.log(x["exponent_bits"] + 0.5),
        np.log(x["mantissa_bits"] + 0.5),
        np.log2(x["block_size"]),
    )


def _penalty(x: Columns, theta):
    alpha, beta, delta, nu = theta
    ln, ld, le, lm, lb = _logs(x)
    return np.exp(beta * ld - alpha * ln - delta * le - nu * lm) * lb


def _basis(x: Columns, theta) -> np.ndarray:
    alpha, beta, _, _ = theta
    ln, ld, *_ = _logs(x)
    cols = np.broadcast_arrays(np.exp(-alpha * ln), np.exp(-beta * ld), _penalty(x, theta))
    return np.stack([np.ones_like(cols[0]), *cols], axis=-1)


def _basis_grad(x: Columns, theta) -> np.ndarray:
    alpha, beta, _, _ = theta
    ln, ld, le, lm, _ = _logs(x)
    k = _penalty(x, theta)
    n_term, d_term = np.exp(-alpha * ln), np.exp(-beta * ld)
    parts = np.broadcast_arrays(-ln * n_term, -ld * d_term, -ln * k, ld * k, -le * k, -lm * k)
    out = np.zeros(parts[0].shape + (4, 4))
    out[..., 1, 0] = parts[0]
    out[..., 2, 1] = parts[1]
    out[..., 3, 0], out[..., 3, 1], out[..., 3, 2], out[..., 3, 3] = parts[2:]
    return out


_EXP_GRID = tuple(float(v) for v in np.round(np.linspace(0.1, 1.0, 10), 6))
_BITS_GRID = (0.5, 1.5, 3.0, 5.0)

SUN_FP = Law(
    name="sun_fp",
    title="Sun floating-point training law: loss vs N, D, exponent/mantissa bits and block size",
    variables=("params", "tokens", "exponent_bits", "mantissa_bits", "block_size"),
    parameters=(
        Parameter("eps", 0.0, 100.0, r"\epsilon", "irreducible loss", linear=True),
        Parameter("n", 0.0, 1e12, "n", "model-size coefficient", linear=True),
        Parameter("d", 0.0, 1e12, "d", "data coefficient", linear=True),
        Parameter(
            "inv_gamma",
            0.0,
            1e6,
            r"\gamma^{-1}",
            "inverse of the paper's gamma (scale of the quantisation penalty)",
            linear=True,
        ),
        Parameter("alpha", 0.0, 3.0, r"\alpha", "model-size exponent", grid=_EXP_GRID),
        Parameter("beta", 0.0, 3.0, r"\beta", "data exponent", grid=_EXP_GRID),
        Parameter("delta", 0.0, 20.0, r"\delta", "exponent-bits exponent", grid=_BITS_GRID),
        Parameter("nu", 0.0, 20.0, r"\nu", "mantissa-bits exponent", grid=_BITS_GRID),
    ),
    latex=(
        r"L = \frac{n}{N^{\alpha}} + \frac{d}{D^{\beta}} + \epsilon + \frac{D^{\beta}}{N^{\alpha}}"
        r"\frac{\log_2 B}{\gamma\,(E + \tfrac12)^{\delta}\,(M + \tfrac12)^{\nu}}"
    ),
    basis=_basis,
    basis_grad=_basis_grad,
    domains={"exponent_bits": "nonnegative", "mantissa_bits": "nonnegative"},
    presets=(
        Preset(
            "sun2025_table2",
            TABLE2,
            _CITE,
            origin="printed",
            locator="arXiv:2501.02423v3 App. B.1 Table 2 (constants of Eq. (26))",
            note="inv_gamma = 1/11334.5197 (the table prints gamma); LLaMA-style 41M-679M models, quantised "
            "GEMM inputs, fitted on 358 of the 366 runs.",
        ),
    ),
    description="Loss of floating-point quantised training (Sun et al. 2025, the unified 'Capybara' law).",
    references=("arXiv:2501.02423",),
)

SUN_LAWS = (SUN_FP,)


def critical_data_size(params, exponent_bits, mantissa_bits, block_size, values=TABLE2):
    """Tokens at which the loss stops falling with more data (fixed N, E, M, B).

    Setting dL/dD = 0 gives ``D_crit = [d gamma N^alpha (E+1/2)^delta (M+1/2)^nu / log2 B]^(1/(2 beta))``;
    infinite for B = 1 (no penalty).
    """
    v = values
    num = (
        (v["d"] / v["inv_gamma"])
        * np.asarray(params, float) ** v["alpha"]
        * (np.asarray(exponent_bits, float) + 0.5) ** v["delta"]
        * (np.asarray(mantissa_bits, float) + 0.5) ** v["nu"]
    )
    with np.errstate(divide="ignore"):
        return (num / np.log2(np.asarray(block_size, float))) ** (1.0 / (2.0 * v["beta"]))


def optimal_exponent_mantissa(total_bits: int, values=TABLE2) -> tuple[int, int]:
    """Integer (E, M) with E + M = total_bits - 1 (one sign bit) that minimise the penalty.

    The continuous optimum is E + 1/2 = delta P / (delta + nu); the integer one
    is found by checking every split.
    """
    if total_bits < 2:
        raise ValueError("a floating-point format needs a sign bit and at least one more bit")
    splits = [(e, total_bits - 1 - e) for e in range(total_bits)]
    score = [values["delta"] * np.log(e + 0.5) + values["nu"] * np.log(m + 0.5) for e, m in splits]
    return splits[int(np.argmax(score))]


def optimal_exponent_bits(total_bits, values=TABLE2):
    """The continuous optimum E = delta P / (delta + nu) - 1/2 of the exponent/mantissa split (App. C, Eq. 31)."""
    return values["delta"] * np.asarray(total_bits, float) / (values["delta"] + values["nu"]) - 0.5


def optimal_mantissa_bits(total_bits, values=TABLE2):
    """Eq. (19): ``M_opt = nu P / (delta + nu) - 1/2`` for P = E + M + 1 total bits."""
    return values["nu"] * np.asarray(total_bits, float) / (values["delta"] + values["nu"]) - 0.5


def loss_at_precision(params, tokens, total_bits, block_size=128.0, values=TABLE2):
    """Eq. (20): the law with the optimal exponent/mantissa split of P bits (continuous E and M).

    ``(E+1/2)^delta (M+1/2)^nu`` at the optimum is ``P^(delta+nu) delta^delta nu^nu / (delta+nu)^(delta+nu)``.
    """
    v = values
    n, d, p = (np.asarray(a, float) for a in (params, tokens, total_bits))
    dn = v["delta"] + v["nu"]
    log_split = v["delta"] * np.log(v["delta"]) + v["nu"] * np.log(v["nu"]) - dn * np.log(dn)
    penalty = np.exp(v["beta"] * np.log(d) - v["alpha"] * np.log(n) - dn * np.log(p) - log_split)
    return (
        v["n"] * n ** -v["alpha"]
        + v["d"] * d ** -v["beta"]
        + v["eps"]
        + penalty * v["inv_gamma"] * np.log2(np.asarray(block_size, float))
    )


def compute_optimal_precision(flops, block_size=128.0, *, k: float = 6.0 / 16.0, values=TABLE2):
    """Eq. (25), solved numerically: ``(P, N, D, loss)`` minimising Eq. (20) under C = k P N D.

    The paper's cost model (§4.4, App. E with its b = 0) charges k P per parameter
    and token; k = 6/16 makes 16 bits cost the usual 6 N D.  Returns arrays over ``flops``.
    """
    out = []
    for c in np.atleast_1d(np.asarray(flops, float)):

        def objective(z, c=c):  # c bound now: the closure is used inside this iteration only
            log_n, p = z
            tokens = c / (k * p * np.exp(log_n))
            return float(loss_at_precision(np.exp(log_n), tokens, p, block_size, values))

        starts = [(np.log(c) / 2 - 3 + 0.5 * i, p) for i in range(13) for p in (3.0, 6.0, 10.0)]
        best = min(starts, key=objective)
        res = minimize(
            objective,
            best,
            method="L-BFGS-B",
            bounds=[(best[0] - 12, best[0] + 12), (1.0, 64.0)],
            options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 2000},
        )
        log_n, p = res.x
        n = float(np.exp(log_n))
        out.append((float(p), n, c / (k * p * n), float(res.fun)))
    p, n, d, loss = (np.array(col) for col in zip(*out))
    return p, n, d, loss
