"""Quick coverage check of the bootstrap intervals (the full one is benchmarks/ci_coverage.py)."""

from __future__ import annotations

import numpy as np

from workbench.fit.coverage import coverage
from workbench.laws import CHINCHILLA
from workbench.laws.chinchilla import BESIROGLU_2024


def test_bootstrap_intervals_cover_the_truth_most_of_the_time():
    """24 fixed seeds, 150 draws each, a 7 x 7 design and 2 % noise.  A calibrated 95 % interval
    would cover ~23 of 24; we require at least 18 (0.75) for every constant, which a 95 % (or
    even 90 %) interval meets with high probability, and a broken bootstrap (e.g. draws not
    refitted, or intervals on the wrong scale) does not."""
    n, d = np.meshgrid(np.geomspace(5e7, 1.6e10, 7), np.geomspace(5e8, 3e11, 7))
    design = {"params": n.ravel(), "tokens": d.ravel()}
    cov = coverage(CHINCHILLA, BESIROGLU_2024.values, design, noise=0.02, seeds=24, draws=150)
    assert all(rate >= 0.75 for rate in cov.rates.values()), cov.rates
    assert all(np.isfinite(w) and w > 0 for w in cov.widths.values())


def test_prediction_intervals_cover_the_true_curve():
    """The bootstrap band of the fitted curve at an interior point and at a 10x extrapolation: it brackets
    the point prediction, is wider where the data are not, and covers the true value in most of 20 seeds."""
    from workbench.fit import fit, make_problem
    from workbench.fit.bootstrap import bootstrap

    n, d = np.meshgrid(np.geomspace(5e7, 1.6e10, 7), np.geomspace(5e8, 3e11, 7))
    design = {"params": n.ravel(), "tokens": d.ravel()}
    points = [{"params": 1e9, "tokens": 2e10}, {"params": 1.6e11, "tokens": 3e12}]
    truth = CHINCHILLA.predict(
        {k: np.array([p[k] for p in points]) for k in ("params", "tokens")}, BESIROGLU_2024.values
    )
    hits, widths = np.zeros(2), []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        data = {**design, "loss": CHINCHILLA.predict(design, BESIROGLU_2024.values) * np.exp(rng.normal(0, 0.01, 49))}
        res, _ = bootstrap(make_problem(CHINCHILLA, data), fit(CHINCHILLA, data), draws=150, seed=seed)
        preds = res.predictions(points)
        for i, p in enumerate(preds):
            lo, hi = p.interval
            assert lo <= p.value <= hi
            hits[i] += lo <= truth[i] <= hi
        widths.append([p.interval[1] - p.interval[0] for p in preds])
    assert (hits >= 15).all(), hits
    assert np.median(np.array(widths)[:, 1] / np.array(widths)[:, 0]) > 2  # extrapolation is less certain
    assert fit(CHINCHILLA, data).predictions(points)[0].interval is None  # no bootstrap, no interval
