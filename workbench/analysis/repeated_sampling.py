"""Repeated sampling with a perfect or an imperfect verifier, from per-problem success rates.

Coverage (pass@k averaged over problems) assumes a *perfect* verifier: a
problem counts as solved if any of its k samples is correct.  In practice a
verifier (unit tests, a reward model, a judge) picks one answer.  Model it by
two rates: it accepts a correct sample with probability ``recall`` and a wrong
one with probability ``fpr`` (false-positive rate), independently per sample.

For a problem whose samples are correct with probability ``p``, a sample is
accepted with probability ``q = recall p + fpr (1 - p)``, and an accepted
sample is correct with probability ``precision = recall p / q``.  Picking one
accepted sample at random (or any sample, if none was accepted) succeeds with

    P(k) = (1 - (1 - q)^k) * recall p / q  +  (1 - q)^k * (1 - recall) p / (1 - q)

which is ``p`` at k = 1 (one sample: the verifier cannot help) and tends to
the problem's precision as k grows: with an imperfect verifier more samples
stop helping, and the ceiling is the mean precision over problems, not 1.
With ``recall = 1, fpr = 0`` it is exactly the coverage ``1 - (1 - p)^k``.

These closed forms treat samples as independent draws with the problem's
pass@1; with a finite pool of n samples the unbiased estimator of pass@k
(Chen et al. 2021) is what the corpus stores, and the two agree for k << n.
"""

from __future__ import annotations

import numpy as np


def _grid(p, k):
    p = np.asarray(p, dtype=float)[None, :]
    k = np.atleast_1d(np.asarray(k, dtype=float))[:, None]
    return p, k


def coverage_from_pass1(p, k) -> np.ndarray:
    """Mean over problems of ``1 - (1 - p_i)^k`` for every k (independent samples)."""
    p, k = _grid(p, k)
    with np.errstate(divide="ignore"):  # p = 1 gives log(0) = -inf and coverage exactly 1
        return (-np.expm1(k * np.log1p(-np.minimum(p, 1.0)))).mean(axis=1)


def verifier_success(p, k, recall: float, fpr: float) -> np.ndarray:
    """Mean over problems of the chance that the verifier's pick among k samples is correct."""
    if not (0.0 <= recall <= 1.0 and 0.0 <= fpr <= 1.0):
        raise ValueError("recall and fpr must be in [0, 1]")
    p, k = _grid(p, k)
    q = recall * p + fpr * (1.0 - p)
    with np.errstate(divide="ignore", invalid="ignore"):
        none = np.exp(k * np.log1p(-np.minimum(q, 1.0)))  # P(no sample accepted)
        hit = np.where(q > 0, recall * p / q, 0.0)
        miss = np.where(q < 1, (1.0 - recall) * p / (1.0 - q), 0.0)
    return ((1.0 - none) * hit + none * miss).mean(axis=1)


def verifier_ceiling(p, recall: float, fpr: float) -> float:
    """The limit of :func:`verifier_success` as k grows: the mean per-problem precision."""
    p = np.asarray(p, dtype=float)
    q = recall * p + fpr * (1.0 - p)
    with np.errstate(divide="ignore", invalid="ignore"):
        prec = np.where(q > 0, recall * p / q, 0.0)
    return float(prec.mean())
