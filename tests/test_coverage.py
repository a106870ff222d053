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
