"""Muennighoff et al. 2023 data-constrained law: README fixtures, allocation, limits and recovery."""

from __future__ import annotations

import numpy as np
import pytest
from test_laws_registry import assert_recovers

from workbench.laws import CHINCHILLA
from workbench.laws.data_constrained import (
    MUENNIGHOFF_DATA_CONSTRAINED as LAW,
)
from workbench.laws.data_constrained import (
    README_FIT,
    effective_data,
    optimal_allocation,
)


def _x(n, d, u):
    return {
        "params": np.atleast_1d(np.asarray(n, float)),
        "tokens": np.atleast_1d(np.asarray(d, float)),
        "unique_tokens": np.atleast_1d(np.asarray(u, float)),
    }


def test_readme_figure1_fixtures():
    """The two losses printed in the datablations README; 1e-12 relative (the same arithmetic)."""
    got = LAW.predict(_x([6.34e9, 8.67e9], [242e9, 178e9], [25e9, 25e9]), README_FIT)
    np.testing.assert_allclose(got, [2.2256440889984477, 2.2269634075087867], rtol=1e-12)


def test_readme_optimal_allocation():
    """README: around (8.67B params, 178B tokens, 25B unique) the optimum is 227B tokens, 9.1 epochs, 6.8B params."""
    n, d = optimal_allocation(6 * 8.67e9 * 178e9, 25e9)
    assert d == pytest.approx(227e9, rel=5e-3) and n == pytest.approx(6.8e9, rel=5e-3)
    assert d / 25e9 == pytest.approx(9.1, abs=0.05)


def test_sheet_allocation_at_1e22_flops():
    n, d = optimal_allocation(1e22, 25e9)
    assert d == pytest.approx(2.373e11, rel=2e-3) and n == pytest.approx(7.02e9, rel=2e-3)


def test_without_repetition_or_excess_parameters_it_is_chinchilla():
    x = _x([1e8, 5e8], [5e10, 2e11], [1e12, 1e12])
    chin = {k: README_FIT[k] for k in CHINCHILLA.names}
    np.testing.assert_allclose(LAW.predict(x, README_FIT), CHINCHILLA.predict(x, chin), rtol=1e-12)


def test_effective_data_saturates_with_repetition():
    u, rd = 1e9, README_FIT["rd_star"]
    assert effective_data(5e8, u, rd) == pytest.approx(5e8)  # fewer tokens than unique: no repetition
    assert effective_data(2e9, u, rd) < 2e9  # a second epoch is worth less than new data
    assert effective_data(1e15, u, rd) == pytest.approx(u * (1 + rd), rel=1e-9)


def test_recovers_readme_constants():
    """Sizes 100M-9B, 10B-900B tokens and 1B-100B unique tokens cover both decays; 1e-6 relative."""
    mesh = np.meshgrid(np.geomspace(1e8, 9e9, 5), np.geomspace(1e10, 9e11, 5), [1e9, 1e10, 1e11], indexing="ij")
    x = {k: m.ravel() for k, m in zip(LAW.variables, mesh)}
    data = {**x, "loss": LAW.predict(x, README_FIT)}
    assert_recovers(LAW, data, README_FIT, rtol=1e-6, tie=["beta=alpha"])
