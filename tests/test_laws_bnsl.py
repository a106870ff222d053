"""Broken neural scaling laws: recovery with one and two breaks, and the segment slopes."""

from __future__ import annotations

import numpy as np
import pytest

from test_laws_registry import assert_recovers
from workbench.laws.bnsl import BNSL1, BNSL2, bnsl, segment_slopes

ONE = {"a": 0.1, "b": 5.0, "c0": 0.1, "c1": 0.6, "d1": 1e4, "f1": 0.3}
TWO = {"a": 0.05, "b": 5.0, "c0": 0.05, "c1": 0.5, "d1": 1e4, "f1": 0.3, "c2": -0.3, "d2": 1e7, "f2": 0.5}


def test_recovers_one_break():
    """30 points over five decades with the break in the middle; 1e-6 relative (reached: ~1e-15)."""
    x = np.geomspace(1e2, 1e7, 30)
    assert_recovers(BNSL1, {"samples": x, "loss": BNSL1.predict({"samples": x}, ONE)}, ONE, rtol=1e-6)


def test_recovers_two_breaks_one_of_them_an_inflection():
    """Second break with negative c2 (the curve flattens again); seven decades, 40 points."""
    x = np.geomspace(1e2, 1e9, 40)
    assert_recovers(BNSL2, {"samples": x, "loss": BNSL2.predict({"samples": x}, TWO)}, TWO, rtol=1e-6)


def test_segments_are_power_laws_with_the_declared_slopes():
    """Far from the breaks, log(y - a) has log-log slope -(c0 + ... + c_i) on segment i."""
    values = {**TWO, "f1": 0.05, "f2": 0.05}
    want = segment_slopes(values, 2)
    for (lo, hi), slope in zip([(1e1, 1e2), (1e5, 1e6), (1e9, 1e10)], want):
        x = np.array([lo, hi])
        red = BNSL2.predict({"samples": x}, values) - values["a"]
        assert np.diff(np.log(red))[0] / np.log(hi / lo) == pytest.approx(slope, abs=1e-6)


def test_factory_declares_other_variables_and_rejects_zero_breaks():
    law = bnsl(1, "params")
    assert law.name == "bnsl1_params" and law.variables == ("params",)
    x = np.geomspace(1e6, 1e9, 5)
    np.testing.assert_allclose(law.predict({"params": x}, ONE), BNSL1.predict({"samples": x}, ONE))
    with pytest.raises(ValueError):
        bnsl(0)


def test_very_sharp_break_is_a_hard_break_without_overflow():
    """At f1 = 1e-3, (x/d1)^(1/f1) overflows float64; the law must still give the hard-broken power law."""
    v = {**ONE, "f1": 1e-3}
    x = np.array([1e2, 1e3, 1e6, 1e9])
    y = BNSL1.predict({"samples": x}, v)
    hard = v["a"] + v["b"] * x ** -v["c0"] * np.where(x > v["d1"], (x / v["d1"]) ** -v["c1"], 1.0)
    np.testing.assert_allclose(y, hard, rtol=1e-9)
