"""Shared fixtures: the curated Chinchilla points and synthetic data from a known law."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def epoch_points():
    from workbench import corpus

    return corpus.loss_points("chinchilla_epoch")


@pytest.fixture(scope="session")
def besiroglu_points(epoch_points):
    """The 240 points Besiroglu et al. fit: the named subset (the 5 highest-loss points dropped)."""
    from workbench import corpus

    return corpus.loss_points("chinchilla_epoch", subset="besiroglu2024")


def synthetic_grid(values, n_sizes=6, n_tokens=7):
    """Noiseless Chinchilla losses on a log grid of sizes and token counts."""
    from workbench.laws import CHINCHILLA

    n, d = np.meshgrid(np.geomspace(1e7, 1e11, n_sizes), np.geomspace(1e8, 1e12, n_tokens))
    cols = {"params": n.ravel(), "tokens": d.ravel()}
    cols["loss"] = CHINCHILLA.predict(cols, values)
    return cols
