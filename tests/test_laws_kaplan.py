"""Kaplan et al. 2020 laws: recovery, the sheet's sanity values, and the joint law's limits."""

from __future__ import annotations

import numpy as np
import pytest
from test_laws_registry import assert_recovers

from workbench.laws.kaplan import KAPLAN_D, KAPLAN_N, KAPLAN_ND, critical_batch_size

TABLE5_N = KAPLAN_N.preset("kaplan2020_table5").values
TABLE5_D = KAPLAN_D.preset("kaplan2020_table5").values
TABLE2 = KAPLAN_ND.preset("kaplan2020_table2").values


def test_recovers_single_variable_laws():
    """Noiseless points over 4 (N) and 3 (D) decades; 1e-8 relative (the fit reaches ~1e-15)."""
    n = np.geomspace(1e6, 1e10, 12)
    assert_recovers(KAPLAN_N, {"params": n, "loss": KAPLAN_N.predict({"params": n}, TABLE5_N)}, TABLE5_N, rtol=1e-8)
    d = np.geomspace(1e8, 1e11, 12)
    assert_recovers(KAPLAN_D, {"tokens": d, "loss": KAPLAN_D.predict({"tokens": d}, TABLE5_D)}, TABLE5_D, rtol=1e-8)


def test_recovers_joint_law():
    """A 6 x 7 grid that covers both the data-limited and the model-limited corners."""
    n, d = np.meshgrid(np.geomspace(1e6, 1e10, 6), np.geomspace(1e7, 1e11, 7))
    x = {"params": n.ravel(), "tokens": d.ravel()}
    assert_recovers(KAPLAN_ND, {**x, "loss": KAPLAN_ND.predict(x, TABLE2)}, TABLE2, rtol=1e-8)


@pytest.mark.parametrize("n, want", [(1e8, 2.830), (1e9, 2.376), (1e10, 1.994)])
def test_table5_loss_of_n(n, want):
    assert KAPLAN_N.predict({"params": n}, TABLE5_N)[0] == pytest.approx(want, abs=5e-4)


@pytest.mark.parametrize("d, want", [(1e9, 2.816), (1e10, 2.262), (1e11, 1.818)])
def test_table5_loss_of_d(d, want):
    assert KAPLAN_D.predict({"tokens": d}, TABLE5_D)[0] == pytest.approx(want, abs=5e-4)


def test_table2_joint_sanity_value():
    assert KAPLAN_ND.predict({"params": 1e9, "tokens": 1e10}, TABLE2)[0] == pytest.approx(2.420, abs=5e-4)


def test_joint_law_limits():
    """With unlimited data L(N, D) -> (N_c/N)^alpha_N; with an unlimited model -> (D_c/D)^alpha_D."""
    n = np.geomspace(1e7, 1e11, 5)
    big = np.full_like(n, 1e40)
    np.testing.assert_allclose(
        KAPLAN_ND.predict({"params": n, "tokens": big}, TABLE2), (TABLE2["N_c"] / n) ** TABLE2["alpha_N"], rtol=1e-9
    )
    np.testing.assert_allclose(
        KAPLAN_ND.predict({"params": big, "tokens": n}, TABLE2), (TABLE2["D_c"] / n) ** TABLE2["alpha_D"], rtol=1e-9
    )


def test_doubling_n_multiplies_loss_by_0_95():
    ratio = KAPLAN_N.predict({"params": 2e9}, TABLE5_N)[0] / KAPLAN_N.predict({"params": 1e9}, TABLE5_N)[0]
    assert ratio == pytest.approx(2**-0.076, rel=1e-12) and round(ratio, 2) == 0.95


def test_critical_batch_size_sanity_values():
    np.testing.assert_allclose(critical_batch_size([3.0, 2.5]), [1.07e6, 2.55e6], rtol=5e-3)
