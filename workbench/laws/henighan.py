"""Henighan et al. 2020 (arXiv:2010.14701): power law plus constant, per data domain.

    L(x) = L_inf + (x_0 / x)^alpha_x          (the paper's Eq. 1.1)

for x = N (non-embedding parameters, models trained to near convergence) and
x = C (training compute).  L_inf is the *irreducible* loss, which the paper
reads as the entropy of the data; (x_0 / x)^alpha is the *reducible* loss, read
as the KL divergence between data and model.  Table 1 prints one fit per domain
(language, images at three pixel resolutions, VQ-encoded images, text-to-image
and image-to-text multimodal models, video, math), written as
``L_inf + (x / x_0)^-alpha``, which is the same curve.  Losses are in nats per
token; the language and the multimodal text rows are pure power laws
(L_inf = 0).

Compute is printed in PF-days; the corpus measures ``flops`` in FLOP, so the
compute presets store x_0 * 8.64e19 (1 PF-day = 1e15 FLOP/s * 86400 s) and name
the printed PF-day value in their note.  Like Kaplan's, this parameterisation
has no linear amplitude (x_0 is a scale), so the laws declare a ``formula`` and
are fitted by multi-start.
"""

from __future__ import annotations

import numpy as np

from workbench.laws.base import Columns, Law, Parameter, Preset

#: FLOP in one petaflop/s-day, the compute unit of the paper's tables.
PF_DAY = 1e15 * 86400.0

#: Tokens per image of each image domain (§2.1.2): 3 R^2 for R x R pixels, 256 / 1024 VQ codes.
TOKENS_PER_IMAGE = {"image8": 192, "image16": 768, "image32": 3072, "image_vq16": 256, "image_vq32": 1024}

_CITE = "Henighan et al. 2020, Scaling Laws for Autoregressive Generative Modeling, arXiv:2010.14701"
_LOCATOR = "arXiv:2010.14701 §2.1 Table 1"
_EXPONENT_GRID = tuple(float(v) for v in np.round(np.geomspace(0.02, 1.0, 8), 6))

# Table 1, as printed: domain -> (L_inf, N_0, alpha_N) for L(N) and (L_inf, C_0 in PF-days, alpha_C) for L(C).
# None where the table prints no fit (the multimodal text losses have only an L(N) fit).
_TABLE1 = {
    "language": ((0.0, 1.47e14, 0.070), (0.0, 3.47e8, 0.048)),
    "image8": ((3.12, 8.0e1, 0.24), (3.13, 1.8e-8, 0.19)),
    "image16": ((2.64, 2.8e2, 0.22), (2.64, 1.6e-8, 0.16)),
    "image32": ((2.20, 6.3e1, 0.13), (2.21, 3.6e-9, 0.1)),
    "image_vq16": ((3.99, 2.7e4, 0.13), (4.09, 6.1e-7, 0.11)),
    "image_vq32": ((3.07, 1.9e4, 0.14), (3.17, 2.6e-6, 0.12)),
    "text_to_image_text": ((0.0, 5.6e8, 0.037), None),
    "text_to_image_image": ((2.0, 5.1e3, 0.16), (1.93, 1.5e-6, 0.15)),
    "image_to_text_text": ((0.0, 7.0e8, 0.039), None),
    "image_to_text_image": ((2.0, 5.5e3, 0.15), (1.97, 1.5e-6, 0.16)),
    "video_vq": ((1.01, 3.7e4, 0.24), (0.95, 2.2e-5, 0.14)),
    "math_extrapolate": ((0.28, 1.1e4, 0.16), (0.14, 1.4e-5, 0.17)),
}

_DOMAIN = {
    "language": "Language (GPT-3 runs, from Brown et al. 2020)",
    "image8": "Image 8x8 pixels (YFCC100M)",
    "image16": "Image 16x16 pixels (YFCC100M)",
    "image32": "Image 32x32 pixels (YFCC100M)",
    "image_vq16": "Image 64x64, 16x16 VQ codes",
    "image_vq32": "Image 64x64, 32x32 VQ codes",
    "text_to_image_text": "Text-to-image model, loss on the caption text",
    "text_to_image_image": "Text-to-image model, loss on the image",
    "image_to_text_text": "Image-to-text model, loss on the caption text",
    "image_to_text_image": "Image-to-text model, loss on the image",
    "video_vq": "Video, 16 frames of 16x16 VQ codes",
    "math_extrapolate": "Math problems, extrapolation test set",
}


def _reducible_plus_constant(variable: str):
    def formula(x: Columns, v) -> np.ndarray:
        # (x_0/x)^alpha in log space, so extreme starts cannot overflow
        return v["L_inf"] + np.exp(v["alpha"] * np.log(v["x_0"] / x[variable]))

    return formula


def _parameters(scale_what: str, scale_grid: tuple[float, ...]) -> tuple[Parameter, ...]:
    return (
        Parameter(
            "L_inf",
            0.0,
            100.0,
            r"L_\infty",
            "irreducible loss (nats per token): the estimated entropy of the data",
            grid=(0.0, 0.5, 1.5, 3.0),
        ),
        Parameter("x_0", 1e-30, 1e40, "x_0", scale_what, grid=scale_grid, log_scale=True),
        Parameter("alpha", 1e-4, 5.0, r"\alpha_x", "exponent of the reducible loss", grid=_EXPONENT_GRID),
    )


def _n_presets() -> tuple[Preset, ...]:
    return tuple(
        Preset(
            f"henighan2020_{domain}",
            {"L_inf": n[0], "x_0": n[1], "alpha": n[2]},
            _CITE,
            origin="printed",
            locator=f"{_LOCATOR}, L(N) column",
            note=f"{_DOMAIN[domain]}; non-embedding N, loss in nats per token.",
        )
        for domain, (n, _) in _TABLE1.items()
    )


def _c_presets() -> tuple[Preset, ...]:
    return tuple(
        Preset(
            f"henighan2020_{domain}",
            {"L_inf": c[0], "x_0": c[1] * PF_DAY, "alpha": c[2]},
            _CITE,
            origin="printed",
            locator=f"{_LOCATOR}, L(C) column",
            note=f"{_DOMAIN[domain]}; printed C_0 = {c[1]:.3g} PF-days, stored in FLOP (x 8.64e19).",
        )
        for domain, (_, c) in _TABLE1.items()
        if c is not None
    )


_SHARED = (
    " Table 1 fits each domain separately; the constants depend on the domain's tokenisation"
    " (nats per token), so compare exponents, not losses, across domains."
)

HENIGHAN_N = Law(
    name="henighan_n",
    title="Henighan L(N): irreducible plus reducible loss vs non-embedding parameters",
    variables=("params",),
    parameters=_parameters(
        "scale constant (non-embedding parameters)", tuple(float(v) for v in np.geomspace(1e1, 1e15, 8))
    ),
    latex=r"L(N) = L_\infty + \left(\frac{x_0}{N}\right)^{\alpha_x}",
    formula=_reducible_plus_constant("params"),
    presets=_n_presets(),
    description="Loss of models trained near convergence vs non-embedding parameters (Henighan Eq. 1.1)." + _SHARED,
    references=("arXiv:2010.14701",),
)

HENIGHAN_C = Law(
    name="henighan_c",
    title="Henighan L(C): irreducible plus reducible loss vs training compute",
    variables=("flops",),
    parameters=_parameters(
        "scale constant (FLOP; the paper prints it in PF-days)", tuple(float(v) for v in np.geomspace(1e8, 1e30, 8))
    ),
    latex=r"L(C) = L_\infty + \left(\frac{x_0}{C}\right)^{\alpha_x}",
    formula=_reducible_plus_constant("flops"),
    presets=_c_presets(),
    description=(
        "Compute-frontier loss vs training compute C = 6 N E (Henighan Eq. 1.1 with x = C); C in FLOP here,"
        " PF-days in the paper." + _SHARED
    ),
    references=("arXiv:2010.14701",),
)

HENIGHAN_LAWS = (HENIGHAN_N, HENIGHAN_C)


def per_image_scale(c_0: float, alpha: float, tokens_per_image: int) -> float:
    """The compute scale of the *per-image* reducible loss implied by a per-token L(C) fit.

    ``T (C / C_0)^-alpha = (C / (C_0 T^(1/alpha)))^-alpha`` for T tokens per image: the
    denominator the paper's Table 3 prints (in the unit of ``c_0``).
    """
    return c_0 * tokens_per_image ** (1.0 / alpha)
