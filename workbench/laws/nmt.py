"""Encoder-decoder NMT scaling (Ghorbani et al. 2021, arXiv:2109.07740).

    L(N_e, N_d) = alpha (Nbar_e / N_e)^p_e (Nbar_d / N_d)^p_d + L_inf

Loss depends on encoder and decoder size *separately*, with different
exponents, which is why total parameters alone do not predict it.  Nbar_e and
Nbar_d are fixed reference sizes (not fitted: only their product with alpha is
identified); the factory takes them, and the registered ``nmt_encdec`` uses
1e8 each, so alpha is the reducible loss of a 100M + 100M model.  alpha and
L_inf enter linearly (basis ``[1, (Nbar_e/N_e)^p_e (Nbar_d/N_d)^p_d]``), so only
the two exponents are searched.

What was checked: the claims (a bivariate law in encoder and decoder size,
different exponents, allocation advice) are in the paper's abstract.  The
exact normalised form above (the paper's Eq. 2) could not be checked against
the paper, and its per-language-pair constants were not retrieved, so there
are no presets; the course fits the law on the ``nmt`` proxy runs instead.

For a fixed budget N_e + N_d the product term is smallest at N_e / N_d =
p_e / p_d (:func:`optimal_encoder_decoder_split`), and scaling both in
proportion gives a power law in total size with exponent p_e + p_d.
"""

from __future__ import annotations

import numpy as np

from workbench.laws.base import Columns, Law, Parameter

_P_GRID = tuple(float(v) for v in np.round(np.geomspace(0.02, 1.5, 24), 6))


def nmt_law(ref_encoder: float = 1e8, ref_decoder: float = 1e8, name: str = "nmt_encdec") -> Law:
    """The bivariate encoder/decoder law with reference sizes ``ref_encoder``, ``ref_decoder``."""

    def basis(x: Columns, theta) -> np.ndarray:
        p_e, p_d = theta
        term = np.exp(p_e * np.log(ref_encoder / x["encoder_params"]) + p_d * np.log(ref_decoder / x["decoder_params"]))
        return np.stack([np.ones_like(term), term], axis=-1)

    def basis_grad(x: Columns, theta) -> np.ndarray:
        p_e, p_d = theta
        le, ld = np.log(ref_encoder / x["encoder_params"]), np.log(ref_decoder / x["decoder_params"])
        term = np.exp(p_e * le + p_d * ld)
        d_e, d_d = np.broadcast_arrays(le * term, ld * term)
        out = np.zeros(d_e.shape + (2, 2))
        out[..., 1, 0] = d_e
        out[..., 1, 1] = d_d
        return out

    return Law(
        name=name,
        title="Encoder-decoder NMT law: loss vs encoder and decoder size",
        variables=("encoder_params", "decoder_params"),
        parameters=(
            Parameter("L_inf", 0.0, 100.0, r"L_\infty", "irreducible loss", linear=True),
            Parameter(
                "alpha",
                0.0,
                1e6,
                r"\alpha",
                f"reducible loss of the reference model ({ref_encoder:.3g} + {ref_decoder:.3g} parameters)",
                linear=True,
            ),
            Parameter("p_e", 0.0, 5.0, "p_e", "encoder exponent", grid=_P_GRID),
            Parameter("p_d", 0.0, 5.0, "p_d", "decoder exponent", grid=_P_GRID),
        ),
        latex=(
            r"L(N_e, N_d) = \alpha \left(\frac{\bar N_e}{N_e}\right)^{p_e}"
            r"\left(\frac{\bar N_d}{N_d}\right)^{p_d} + L_\infty"
        ),
        basis=basis,
        basis_grad=basis_grad,
        description=(
            f"Cross-entropy of an encoder-decoder translation model (Ghorbani et al. 2021); "
            f"reference sizes Nbar_e = {ref_encoder:.3g}, Nbar_d = {ref_decoder:.3g}."
        ),
        references=("arXiv:2109.07740",),
    )


NMT_ENCDEC = nmt_law()
NMT_LAWS = (NMT_ENCDEC,)


def optimal_encoder_decoder_split(total_params, p_e: float, p_d: float):
    """``(N_e, N_d)`` minimising the law's loss for ``N_e + N_d = total_params``.

    Minimising ``N_e^-p_e N_d^-p_d`` on the line gives ``N_e / N_d = p_e / p_d``,
    i.e. the encoder gets the share ``p_e / (p_e + p_d)`` whatever alpha,
    L_inf and the reference sizes are.
    """
    if not (p_e > 0 and p_d > 0):
        raise ValueError("both exponents must be positive for an interior optimum")
    total = np.asarray(total_params, dtype=float)
    share = p_e / (p_e + p_d)
    return total * share, total * (1.0 - share)
