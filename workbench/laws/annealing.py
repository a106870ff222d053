"""Tissue et al. 2024 (arXiv:2408.11029): the loss curve under any learning-rate schedule.

    L(s) = L0 + A S1^-alpha - C S2

S1 ("forward area") is the area under the learning-rate curve up to step s and
S2 the "annealing area", which credits the extra loss drop that decaying the
learning rate brings.  Because both are functionals of the schedule, one or
two fitted training curves predict the loss at every step of any other
schedule.  L0, A and C enter linearly (basis ``[1, S1^-alpha, -S2]``), so only
alpha is searched; the law's variables are the columns ``S1`` and ``S2``
computed by :func:`annealing_areas` from the schedule.  Under a constant
learning rate S2 = 0 and the law is a power law in the cumulative learning
rate (C is then not identified).

What was checked: the form L0 + A S1^-alpha - C S2 is stated in the paper's
abstract.  The momentum definition of S2 below could not be checked against
Sec. 3 of the paper (it agrees with how reviewers of the paper describe it):

    S1(s) = sum_{i<=s} eta_i,   m_i = lambda m_{i-1} + (eta_{i-1} - eta_i),   S2(s) = sum_{i<=s} m_i

with the decay factor lambda typically 0.999 (0.99-0.999 explored).  With
lambda = 0, S2(s) = eta_1 - eta_s.  Learning-rate changes during warm-up are
not counted in S2 (``warmup_steps``).  Fitted constants were not retrieved, so
there are no presets.
"""

from __future__ import annotations

import numpy as np

from workbench.laws.base import Columns, Law, Parameter


def annealing_areas(lr, decay: float = 0.999, warmup_steps: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Forward area S1 and annealing area S2 after every step of the schedule ``lr``.

    ``lr[i]`` is the learning rate used at step i + 1.  Returns two arrays of
    the schedule's length.  ``decay`` is the momentum factor lambda (0 <= lambda < 1).
    S1 counts every step.  S2 counts the learning-rate *changes* from step
    ``max(1, warmup_steps)`` on: the rise of a warm-up would otherwise enter as
    a large negative annealing area that decays only slowly (with lambda =
    0.999 it would cancel most of a later decay).  This is the one definition
    the proxies, the course notebooks and user fits share.
    """
    eta = np.asarray(lr, dtype=float)
    if eta.ndim != 1 or eta.size == 0:
        raise ValueError("lr must be a non-empty one-dimensional array of learning rates")
    if not 0.0 <= decay < 1.0:
        raise ValueError("decay (lambda) must be in [0, 1)")
    if warmup_steps < 0:
        raise ValueError("warmup_steps must be >= 0")
    drops = np.concatenate([[0.0], eta[:-1] - eta[1:]])
    drops[: max(1, int(warmup_steps))] = 0.0
    from scipy.signal import lfilter  # imported here: scipy.signal costs a notebook kernel ~25 MB

    m = lfilter([1.0], [1.0, -decay], drops)  # m_i = decay * m_{i-1} + drop_i
    return np.cumsum(eta), np.cumsum(m)


def _basis(x: Columns, theta) -> np.ndarray:
    (alpha,) = theta
    fwd, ann = np.broadcast_arrays(x["S1"] ** -alpha, -x["S2"])
    return np.stack([np.ones_like(fwd), fwd, ann], axis=-1)


def _basis_grad(x: Columns, theta) -> np.ndarray:
    (alpha,) = theta
    d = -np.log(x["S1"]) * x["S1"] ** -alpha
    shape = np.broadcast_shapes(d.shape, np.shape(x["S2"]))
    out = np.zeros(shape + (3, 1))
    out[..., 1, 0] = d
    return out


TISSUE_ANNEALING = Law(
    name="lr_annealing",
    title="Tissue LR-annealing law: loss vs forward area S1 and annealing area S2",
    variables=("S1", "S2"),
    parameters=(
        Parameter("L0", 0.0, 100.0, "L_0", "loss as S1 grows without bound", linear=True),
        Parameter("A", 0.0, 1e9, "A", "scale of the forward (power-law) term", linear=True),
        Parameter("C", 0.0, 1e9, "C", "loss drop per unit of annealing area", linear=True),
        Parameter(
            "alpha",
            1e-3,
            5.0,
            r"\alpha",
            "exponent of the forward area",
            grid=tuple(float(v) for v in np.round(np.geomspace(0.05, 3.0, 30), 6)),
        ),
    ),
    latex=r"L(s) = L_0 + A\,S_1^{-\alpha} - C\,S_2",
    basis=_basis,
    basis_grad=_basis_grad,
    domains={"S2": "real"},
    description="Validation loss at each step of a training run as a function of the learning-rate schedule "
    "(Tissue et al. 2024); compute S1 and S2 with annealing_areas().",
    references=("arXiv:2408.11029",),
)

ANNEALING_LAWS = (TISSUE_ANNEALING,)
