"""Approach-3 closed form against the derived values in published-laws.md."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from workbench.analysis.compute_optimal import chinchilla_optimal
from workbench.errors import WorkbenchError
from workbench.laws import CHINCHILLA

ROUNDED = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}


def test_derived_sanity_values():
    """published-laws.md [derived]: rounded Hoffmann constants at C = 5.76e23 give a = 0.4516,
    N* = 3.22e10, D/N = 92.6; Besiroglu's give N* = 7.22e10, D/N = 18.4."""
    r = chinchilla_optimal(ROUNDED, [5.76e23])
    assert r.a == pytest.approx(0.4516, abs=1e-4)
    assert r.params[0] == pytest.approx(3.22e10, rel=2e-3)
    assert r.tokens_per_param[0] == pytest.approx(92.6, rel=2e-3)
    b = chinchilla_optimal(CHINCHILLA.preset("besiroglu2024").values, [5.76e23])
    assert b.params[0] == pytest.approx(7.22e10, rel=2e-3)
    assert b.tokens_per_param[0] == pytest.approx(18.4, rel=3e-3)


@pytest.mark.parametrize("budget", [1e19, 1e22, 1e25])
def test_closed_form_is_the_minimum_along_the_isoflop_line(budget):
    r = chinchilla_optimal(ROUNDED, [budget])
    f = lambda logn: CHINCHILLA.predict({"params": np.exp(logn), "tokens": budget / (6 * np.exp(logn))}, ROUNDED)[0]  # noqa: E731
    best = minimize_scalar(f, bounds=(np.log(1e5), np.log(1e15)), method="bounded", options={"xatol": 1e-10})
    assert np.exp(best.x) == pytest.approx(r.params[0], rel=1e-4)
    assert r.params[0] * r.tokens[0] * 6 == pytest.approx(budget, rel=1e-12)
    assert r.a + r.b == pytest.approx(1.0)


def test_bad_constants_are_clear_errors():
    with pytest.raises(WorkbenchError, match="positive"):
        chinchilla_optimal({**ROUNDED, "alpha": 0.0}, [1e20])
    with pytest.raises(WorkbenchError, match="budgets must be positive"):
        chinchilla_optimal(ROUNDED, [-1.0])
