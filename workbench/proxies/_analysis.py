"""Stop-gaps for shared analyses the presets need before they land (issue 4).

The LR-annealing law of Tissue et al. (2024) belongs in ``workbench.laws``;
until it is there this private declaration (fitted by the one engine,
``workbench.fit.fit``) lets the ``schedule`` preset check itself.  It reads the
rows' ``lr_area`` (S1) and ``lr_anneal_area`` (S2) columns directly.
"""

from __future__ import annotations

import numpy as np

from workbench.laws.base import Law, Parameter


def _lr_basis(x, theta):
    (alpha,) = theta
    s1, s2 = x["lr_area"], x["lr_anneal_area"]
    term = s1 ** -alpha
    return np.stack([np.ones_like(term), term, -s2 * np.ones_like(term)], axis=-1)


def _lr_basis_grad(x, theta):
    (alpha,) = theta
    s1 = x["lr_area"]
    d = -np.log(s1) * s1 ** -alpha
    out = np.zeros(d.shape + (3, 1))
    out[..., 1, 0] = d
    return out


# TODO(issue 4): replace with the shared LR-annealing law in workbench.laws (Tissue et al. 2024)
LR_ANNEALING = Law(
    name="lr_annealing_proxy",
    title="LR-annealing law (Tissue et al. 2024), proxies' stop-gap",
    variables=("lr_area", "lr_anneal_area"),
    parameters=(
        Parameter("L0", 0.0, 1e3, "L_0", "loss floor", linear=True),
        Parameter("A", 0.0, 1e6, "A", "scale of the forward-area term", linear=True),
        Parameter("C", 0.0, 1e6, "C", "annealing bonus per unit annealing area", linear=True),
        Parameter("alpha", 0.0, 3.0, r"\alpha", "exponent of S1", grid=tuple(np.round(np.geomspace(0.02, 2.5, 40), 5))),
    ),
    latex=r"L(s) = L_0 + A\,S_1^{-\alpha} - C\,S_2",
    basis=_lr_basis,
    basis_grad=_lr_basis_grad,
    domains={"lr_anneal_area": "nonnegative"},
    description="Loss along training as a function of the LR forward area S1 and annealing area S2.",
    references=("arXiv:2408.11029",),
)
