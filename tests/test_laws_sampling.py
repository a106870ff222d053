"""Large Language Monkeys coverage law: recovery and shape."""

from __future__ import annotations

import numpy as np
import pytest
from test_laws_registry import assert_recovers

from workbench.laws.sampling import MONKEYS_COVERAGE as LAW

TRUTH = {"a": 2.0, "b": 0.3}


def test_recovers_exponentiated_power_law():
    """k from 1 to 10,000 samples (four decades, as in the paper); 1e-8 relative."""
    k = np.geomspace(1, 1e4, 20)
    assert_recovers(LAW, {"k": k, "coverage": LAW.predict({"k": k}, TRUTH)}, TRUTH, rtol=1e-8)


def test_negative_log_coverage_is_a_power_law_in_k():
    k = np.geomspace(1, 1e4, 9)
    nlc = -np.log(LAW.predict({"k": k}, TRUTH))
    np.testing.assert_allclose(np.diff(np.log(nlc)) / np.diff(np.log(k)), -TRUTH["b"], rtol=1e-10)
    assert nlc[0] == pytest.approx(TRUTH["a"])


def test_coverage_rises_towards_one():
    c = LAW.predict({"k": np.geomspace(1, 1e12, 13)}, TRUTH)
    assert np.all(np.diff(c) > 0) and c[-1] > 0.99 and np.all(c <= 1.0)
