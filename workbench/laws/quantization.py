"""Loss degradation from low-bit quantisation: Ouyang et al. 2024 and Chen et al. 2025.

Both laws model the *increase* in loss over the 16-bit model (target column
``degradation``) as a product of powers, so a single coefficient enters
linearly and the exponents are searched; in log space each is a plane, which
is why they extrapolate (and fail) the way they do.

Ouyang et al. 2024 (arXiv:2411.17691), quantisation-induced degradation (QiD)
of post-training quantised Pythia checkpoints (GPTQ):

    dL(N, D, P) = k D^beta / (N^alpha P^gamma)

it grows with training tokens: low-bit quantisation favours *under*-trained
models.  N is non-embedding parameters, P the weight bits.  Constants: Eq. (8), printed
in the Fig. 6 caption.  :func:`tokens_to_reach` inverts the law for D.

Chen et al. 2025 (arXiv:2505.14302), quantisation-aware training error at W4A4
with group size G:

    delta(N, D, G) = k D^g_D (log2 G)^g_G / N^g_N

log2 G makes the error vanish at G = 1.  The group size is read from
``block_size``.  Form: the paper's Eq. (5); constants: its Table 1, one fit per
quantised part (W4A4 both, W4A16 weights only, W16A4 activations only), each
on 80 QAT runs of 74M-595M parameters, 10B-100B tokens and G = 32-256.  The
paper's text quotes the W16A4 gamma_G as 0.9821 in §4.3 where Table 1 prints
0.9812; the table is used.  Its 8-bit-FC2 variants are left out (their
gamma_G could not be read unambiguously).
"""

from __future__ import annotations

import numpy as np

from workbench.laws.base import Columns, Law, Parameter, Preset

_EXP_GRID = tuple(float(v) for v in np.round(np.linspace(0.05, 1.2, 12), 6))


def _product_law(columns: tuple[str, ...], signs: tuple[float, ...], transforms=None):
    """Basis and gradient of ``k prod_j t_j(x_j)^(sign_j p_j)`` with one linear coefficient k."""
    transforms = transforms or (np.log,) * len(columns)

    def logs(x):
        return [sign * fn(x[c]) for c, sign, fn in zip(columns, signs, transforms)]

    def basis(x: Columns, theta) -> np.ndarray:
        ls = logs(x)
        return np.exp(sum(p * lg for p, lg in zip(theta, ls)))[..., None]

    def basis_grad(x: Columns, theta) -> np.ndarray:
        ls = logs(x)
        term = np.exp(sum(p * lg for p, lg in zip(theta, ls)))
        return np.stack(np.broadcast_arrays(*(lg * term for lg in ls)), axis=-1)[..., None, :]

    return basis, basis_grad


_ouyang_basis, _ouyang_grad = _product_law(("params", "tokens", "weight_bits"), (-1.0, 1.0, -1.0))
OUYANG_QID = Law(
    name="ouyang_qid",
    title="Ouyang quantisation-induced degradation vs N, D and bits",
    variables=("params", "tokens", "weight_bits"),
    target="degradation",
    parameters=(
        Parameter("k", 0.0, 1e6, "k", "scale of the degradation", linear=True),
        Parameter("alpha", 0.0, 3.0, r"\alpha", "model-size exponent (bigger models degrade less)", grid=_EXP_GRID),
        Parameter("beta", 0.0, 3.0, r"\beta", "data exponent (more-trained models degrade more)", grid=_EXP_GRID),
        Parameter("gamma", 0.0, 20.0, r"\gamma", "bit-width exponent", grid=(1.0, 2.0, 3.0, 4.5, 6.0, 8.0)),
    ),
    latex=r"\Delta_q L(N, D, P) = k\,\frac{D^{\beta}}{N^{\alpha} P^{\gamma}}",
    basis=_ouyang_basis,
    basis_grad=_ouyang_grad,
    presets=(
        Preset(
            "ouyang2024_eq8",
            {"k": 0.017, "alpha": 0.2261, "beta": 0.5251, "gamma": 5.4967},
            "Ouyang et al. 2024, Low-Bit Quantization Favors Undertrained LLMs, arXiv:2411.17691",
            origin="printed",
            locator="arXiv:2411.17691v1 Eq. (8), fitted values printed in the Fig. 6 caption",
            note="Unified fit over >1500 GPTQ-quantised Pythia checkpoints (2-4 bits); N non-embedding. "
            "Plugging nominal sizes does not reproduce the paper's Table 1 exactly.",
        ),
    ),
    description="Loss increase of a post-training-quantised model over its 16-bit loss (Ouyang et al. 2024, Eq. 8).",
    references=("arXiv:2411.17691",),
)


def tokens_to_reach(degradation, params, bits, values=None):
    """Training tokens at which the QiD law reaches ``degradation`` (inverse of the law in D)."""
    v = dict(values or OUYANG_QID.presets[0].values)
    target = (
        np.asarray(degradation, float) * np.asarray(params, float) ** v["alpha"] * np.asarray(bits, float) ** v["gamma"]
    )
    return (target / v["k"]) ** (1.0 / v["beta"])


def _log_log2(g):
    return np.log(np.log2(g))


_chen_basis, _chen_grad = _product_law(
    ("params", "tokens", "block_size"), (-1.0, 1.0, 1.0), (np.log, np.log, _log_log2)
)
CHEN_QAT = Law(
    name="chen_qat",
    title="Chen QAT error vs N, D and quantisation group size",
    variables=("params", "tokens", "block_size"),
    target="degradation",
    parameters=(
        Parameter("k", 0.0, 1e6, "k", "scale of the QAT error", linear=True),
        Parameter("gamma_N", 0.0, 3.0, r"\gamma_N", "model-size exponent", grid=_EXP_GRID),
        Parameter("gamma_D", 0.0, 3.0, r"\gamma_D", "data exponent", grid=_EXP_GRID),
        Parameter("gamma_G", 0.0, 5.0, r"\gamma_G", "group-size exponent (in log2 G)", grid=(0.2, 0.5, 1.0, 2.0)),
    ),
    latex=r"\delta_p(N, D, G) = k\,\frac{D^{\gamma_D}\,(\log_2 G)^{\gamma_G}}{N^{\gamma_N}}",
    basis=_chen_basis,
    basis_grad=_chen_grad,
    presets=tuple(
        Preset(
            f"chen2025_{setting.lower()}",
            values,
            "Chen et al. 2025, Scaling Law for Quantization-Aware Training, arXiv:2505.14302",
            origin="printed",
            locator=f"arXiv:2505.14302 Table 1 (delta_{setting}, fit of Eq. (5))",
            note=note,
        )
        for setting, values, note in (
            (
                "W4A4",
                {"k": 0.1582, "gamma_N": 0.2186, "gamma_D": 0.0745, "gamma_G": 0.7779},
                "4-bit weights and activations.",
            ),
            (
                "W4A16",
                {"k": 0.2522, "gamma_N": 0.3589, "gamma_D": 0.1610, "gamma_G": 0.3533},
                "Weight quantisation error alone (activations in 16 bits).",
            ),
            (
                "W16A4",
                {"k": 0.1004, "gamma_N": 0.1816, "gamma_D": 0.0331, "gamma_G": 0.9812},
                "Activation quantisation error alone (weights in 16 bits); §4.3 quotes gamma_G as 0.9821.",
            ),
        )
    ),
    description="Loss of low-bit quantisation-aware training minus the BF16 loss (Chen et al. 2025); "
    "block_size is the quantisation group size (> 1).",
    references=("arXiv:2505.14302",),
)

QUANTIZATION_LAWS = (OUYANG_QID, CHEN_QAT)
