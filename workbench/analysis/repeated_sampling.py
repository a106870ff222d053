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


# --------------------------------------------------------------------------- when false positives cost something
# Stroebl, Kapoor, Narayanan 2024 (arXiv:2411.17501) model resampling against an imperfect verifier as a
# policy: draw a sample, submit it if the verifier accepts it, otherwise draw again, up to k attempts, and
# abstain if nothing was accepted.  A correct submission is worth +1, a wrong one (a false positive that got
# through) -cost, abstaining 0.  Per attempt a problem with success rate p is accepted-and-correct with
# probability recall p, accepted-and-wrong with fpr (1 - p), rejected otherwise (r = 1 - q), so
#
#     U(k) = (recall p - cost fpr (1 - p)) (1 - r^k) / (1 - r),
#
# a geometric series whose sign is that of one attempt's value.  Averaged over problems of mixed
# difficulty, the easy problems gain quickly while the hard ones (tiny p: accepted samples are mostly
# false positives) keep losing, so the mean utility peaks at a finite k: more samples stop paying and
# then cost.  With cost = 0 the utility only grows (it is the verifier's success rate without fallback).


def resampling_utility(p, k, recall: float, fpr: float, cost: float) -> np.ndarray:
    """Mean utility over problems of resample-until-accepted with at most ``k`` attempts (``k`` array).

    ``cost`` is the loss of submitting a wrong answer relative to the gain of a correct one
    (Stroebl et al.'s cost-benefit ratio); ``k = 0`` means abstaining (utility 0).
    """
    if not (0.0 <= recall <= 1.0 and 0.0 <= fpr <= 1.0) or cost < 0:
        raise ValueError("recall and fpr must be in [0, 1] and cost >= 0")
    p, k = _grid(p, k)
    q = recall * p + fpr * (1.0 - p)  # accepted per attempt
    value = recall * p - cost * fpr * (1.0 - p)  # expected value of one attempt
    with np.errstate(divide="ignore", invalid="ignore"):
        reach = np.where(q > 0, -np.expm1(k * np.log1p(-np.minimum(q, 1.0))) / q, k)  # sum_{j<k} (1-q)^j
    return (value * reach).mean(axis=1)


def optimal_samples(p, recall: float, fpr: float, cost: float, k_max: int = 100_000) -> tuple[int | None, float]:
    """``(k*, utility)``: the budget that maximises :func:`resampling_utility` (0 = abstain) up to ``k_max``.

    With ``cost = 0`` the utility never falls, so there is no best finite budget: ``k*`` is None and the
    utility is its value at ``k_max``.
    """
    k = np.unique(np.concatenate([np.arange(0, 101), np.geomspace(100, k_max, 200).round()])).astype(int)
    u = resampling_utility(p, k, recall, fpr, cost)
    if cost == 0:
        return None, float(u[-1])
    best = int(np.argmax(u))
    return int(k[best]), float(u[best])


def fpr_to_match(p, target: float, recall: float = 1.0) -> float:
    """The false-positive rate at which the verifier's ceiling (k -> infinity) equals ``target``.

    Stroebl et al. find weaker models have *higher* false-positive rates; this says how low a weak model's
    rate would have to be for unlimited resampling to reach a stronger model's single-sample accuracy.
    Returns 0.0 when even a perfect-precision verifier cannot (the target exceeds the share of solvable
    problems).
    """
    from scipy.optimize import brentq

    p = np.asarray(p, dtype=float)
    if verifier_ceiling(p, recall, 0.0) <= target:
        return 0.0
    if verifier_ceiling(p, recall, 1.0) >= target:
        return 1.0
    return float(brentq(lambda f: verifier_ceiling(p, recall, f) - target, 0.0, 1.0, xtol=1e-12))
