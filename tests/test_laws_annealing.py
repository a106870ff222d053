"""Tissue et al. 2024 LR-annealing law: the S1/S2 function, recovery, and fit-one-schedule-predict-another."""

from __future__ import annotations

import numpy as np
import pytest
from test_laws_registry import assert_recovers

from workbench.laws.annealing import TISSUE_ANNEALING as LAW
from workbench.laws.annealing import annealing_areas

TRUTH = {"L0": 2.5, "A": 0.8, "C": 0.3, "alpha": 0.45}
STEPS = 2000
COSINE = 1e-3 * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * np.arange(STEPS) / STEPS)))
WSD = np.where(np.arange(STEPS) < 1600, 1e-3, 1e-3 * (1 - 0.9 * (np.arange(STEPS) - 1600) / 400))
EVERY = np.arange(49, STEPS, 50)  # evaluate every 50 steps, as a logged loss curve would be


def _curve(lr):
    s1, s2 = annealing_areas(lr)
    x = {"S1": s1[EVERY], "S2": s2[EVERY]}
    return {**x, "loss": LAW.predict(x, TRUTH)}


def test_constant_rate_has_no_annealing_area():
    s1, s2 = annealing_areas(np.full(100, 3e-4))
    np.testing.assert_allclose(s1, 3e-4 * np.arange(1, 101))
    np.testing.assert_array_equal(s2, 0.0)


def test_zero_decay_telescopes_to_the_drop_in_rate():
    lr = np.array([1.0, 0.9, 0.5, 0.5, 0.2])
    _, s2 = annealing_areas(lr, decay=0.0)
    np.testing.assert_allclose(s2, lr[0] - lr)


def test_momentum_by_hand():
    """m_i = lambda m_{i-1} + (eta_{i-1} - eta_i), S2 = cumulative sum; lambda = 0.5."""
    _, s2 = annealing_areas([1.0, 0.8, 0.8, 0.4], decay=0.5)
    m = [0.0, 0.2, 0.1, 0.05 + 0.4]
    np.testing.assert_allclose(s2, np.cumsum(m))


def test_warmup_rise_is_not_counted_as_annealing():
    """A warm-up from 0 to the peak then a decay: S2 only sees the decay, however long the warm-up."""
    warm, peak = 50, 1e-3
    lr = np.concatenate([peak * np.arange(1, warm + 1) / warm, np.linspace(peak, 0.1 * peak, 200)])
    s1, s2 = annealing_areas(lr, decay=0.9, warmup_steps=warm)
    np.testing.assert_allclose(s1, np.cumsum(lr))
    np.testing.assert_array_equal(s2[:warm], 0.0)
    _, tail = annealing_areas(lr[warm - 1 :], decay=0.9)  # the same schedule started at the peak
    np.testing.assert_allclose(s2[warm - 1 :], tail, rtol=1e-12, atol=1e-18)
    _, naive = annealing_areas(lr, decay=0.9)
    assert naive[-1] < s2[-1]  # counting the rise would cancel part of the decay


def test_rejects_bad_input():
    with pytest.raises(ValueError):
        annealing_areas([], decay=0.9)
    with pytest.raises(ValueError):
        annealing_areas([1e-3, 1e-4], decay=1.0)
    with pytest.raises(ValueError):
        annealing_areas([1e-3, 1e-4], warmup_steps=-1)


def test_recovers_from_two_schedules():
    data = {k: np.concatenate([_curve(COSINE)[k], _curve(WSD)[k]]) for k in ("S1", "S2", "loss")}
    assert_recovers(LAW, data, TRUTH, rtol=1e-8)


def test_fit_on_cosine_predicts_the_wsd_curve():
    """The law's point: one fitted curve predicts the loss under another schedule."""
    result = assert_recovers(LAW, _curve(COSINE), TRUTH, rtol=1e-8)
    wsd = _curve(WSD)
    np.testing.assert_allclose(result.predict(wsd), wsd["loss"], rtol=1e-9)
