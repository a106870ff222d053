"""StepLaw optimal learning rate and batch size: the sheet's fixtures and recovery."""

from __future__ import annotations

import numpy as np
import pytest
from test_laws_registry import assert_recovers

from workbench.laws.hyperparameters import STEPLAW_BATCH, STEPLAW_LR

LR = STEPLAW_LR.preset("li2025_bootstrap_mean").values
BS = STEPLAW_BATCH.preset("li2025_bootstrap_mean").values


@pytest.mark.parametrize(
    "n, d, lr, bs", [(7e9, 1.4e12, 9.35e-4, 4.99e6), (1e9, 1e11, 1.66e-3, 1.11e6), (1e8, 2e9, 2.58e-3, 1.19e5)]
)
def test_sheet_fixtures(n, d, lr, bs):
    """The sheet's [derived] values (three significant figures)."""
    assert float(f"{STEPLAW_LR.predict({'params': n, 'tokens': d}, LR)[0]:.3g}") == lr
    assert float(f"{STEPLAW_BATCH.predict({'tokens': d}, BS)[0]:.3g}") == bs


def test_batch_in_sequences():
    """4.99M tokens at 2048 tokens per sequence is 2437 sequences."""
    assert round(STEPLAW_BATCH.predict({"tokens": 1.4e12}, BS)[0] / 2048) == 2437


def test_recovers_both_laws():
    n, d = np.meshgrid(np.geomspace(6e7, 1e9, 5), np.geomspace(1e9, 1e11, 5))
    x = {"params": n.ravel(), "tokens": d.ravel()}
    assert_recovers(STEPLAW_LR, {**x, "lr": STEPLAW_LR.predict(x, LR)}, LR, rtol=1e-8)
    t = np.geomspace(1e9, 1e11, 8)
    assert_recovers(STEPLAW_BATCH, {"tokens": t, "batch_size": STEPLAW_BATCH.predict({"tokens": t}, BS)}, BS, rtol=1e-8)


def test_learning_rate_falls_with_size_and_rises_with_data():
    base = STEPLAW_LR.predict({"params": 1e9, "tokens": 1e11}, LR)[0]
    assert STEPLAW_LR.predict({"params": 2e9, "tokens": 1e11}, LR)[0] < base
    assert STEPLAW_LR.predict({"params": 1e9, "tokens": 2e11}, LR)[0] > base
