"""Quantisation degradation laws (Ouyang 2024 QiD, Chen 2025 QAT): recovery, inversion and limits."""

from __future__ import annotations

import numpy as np
import pytest
from test_laws_registry import assert_recovers

from workbench.laws.quantization import CHEN_QAT, OUYANG_QID, tokens_to_reach

QID = OUYANG_QID.preset("ouyang2024_eq8").values
# Chen et al.'s W4A4 constants from a secondary transcription; used only as plausible synthetic truth.
CHEN_LIKE = {"k": 0.1582, "gamma_N": 0.2186, "gamma_D": 0.0745, "gamma_G": 0.7779}


def _grid(**axes):
    mesh = np.meshgrid(*axes.values(), indexing="ij")
    return {k: m.ravel().astype(float) for k, m in zip(axes, mesh)}


def test_recovers_qid_law():
    """Pythia-like sizes (70M-12B), 1B-300B tokens, 2-4 bits; 1e-8 relative."""
    x = _grid(params=np.geomspace(7e7, 1.2e10, 5), tokens=np.geomspace(1e9, 3e11, 5), weight_bits=[2, 3, 4])
    assert_recovers(OUYANG_QID, {**x, "degradation": OUYANG_QID.predict(x, QID)}, QID, rtol=1e-8)


def test_recovers_qat_error_law():
    """The paper's design: 74M-595M parameters, 10B-100B tokens, groups of 32-256; 1e-8 relative."""
    x = _grid(params=np.geomspace(7.4e7, 6e8, 4), tokens=np.geomspace(1e10, 1e11, 4), block_size=[32, 64, 128, 256])
    assert_recovers(CHEN_QAT, {**x, "degradation": CHEN_QAT.predict(x, CHEN_LIKE)}, CHEN_LIKE, rtol=1e-8)


def test_tokens_to_reach_inverts_the_law():
    n, bits = np.array([1e9, 7e9, 7e10]), np.array([4.0, 3.0, 4.0])
    d = tokens_to_reach(0.3, n, bits)
    np.testing.assert_allclose(
        OUYANG_QID.predict({"params": n, "tokens": d, "weight_bits": bits}, QID), 0.3, rtol=1e-12
    )


def test_tokens_to_reach_sanity_value():
    """The sheet's [derived] 3.80T tokens for a nominal 7B model at 4 bits and dL = 0.2 (its Table 1 says 4.51T)."""
    assert tokens_to_reach(0.2, 7e9, 4) / 1e12 == pytest.approx(3.80, abs=0.005)


def test_qat_error_vanishes_as_group_size_goes_to_one():
    g = np.array([1.0 + 1e-9, 2.0, 16.0, 256.0])
    err = CHEN_QAT.predict({"params": np.full(4, 3e8), "tokens": np.full(4, 5e10), "block_size": g}, CHEN_LIKE)
    assert err[0] < 1e-5 and np.all(np.diff(err) > 0)
