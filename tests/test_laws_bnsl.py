"""Broken neural scaling laws: recovery with one and two breaks, and the segment slopes."""

from __future__ import annotations

import numpy as np
import pytest
from test_laws_registry import assert_recovers

from workbench.fit import fit
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


def test_break_search_follows_the_data_whatever_its_units():
    """The same curve in samples (1e2..1e7) and in FLOP-like units (x 1e15) fits the same: breaks are
    searched over the data's own range, not a fixed absolute grid."""
    x = np.geomspace(1e2, 1e7, 30)
    y = BNSL1.predict({"samples": x}, ONE)
    small = fit(BNSL1, {"samples": x, "loss": y})
    big = fit(BNSL1, {"samples": x * 1e15, "loss": y})
    assert small.params["d1"] == pytest.approx(ONE["d1"], rel=1e-6)
    assert big.params["d1"] == pytest.approx(ONE["d1"] * 1e15, rel=1e-6)
    for name in ("a", "c0", "c1", "f1"):
        assert big.params[name] == pytest.approx(small.params[name], rel=1e-6)


def test_two_breaks_are_reported_in_order_of_location():
    """Swapping (c1, d1, f1) with (c2, d2, f2) gives the same curve; results always number breaks by location,
    so segment_slopes reads them in the right order."""
    x = np.geomspace(1e2, 1e9, 40)
    swapped = {
        **TWO,
        "c1": TWO["c2"],
        "d1": TWO["d2"],
        "f1": TWO["f2"],
        "c2": TWO["c1"],
        "d2": TWO["d1"],
        "f2": TWO["f1"],
    }
    np.testing.assert_allclose(BNSL2.predict({"samples": x}, swapped), BNSL2.predict({"samples": x}, TWO), rtol=1e-12)
    assert BNSL2.canonicalize(swapped) == pytest.approx(TWO)
    res = fit(BNSL2, {"samples": x, "loss": BNSL2.predict({"samples": x}, TWO)})
    assert res.params["d1"] < res.params["d2"]
    assert segment_slopes(res.params, 2) == pytest.approx(segment_slopes(TWO, 2), abs=1e-6)


def test_relative_grids_need_a_grid_and_a_positive_variable():
    from workbench.laws.base import Parameter

    with pytest.raises(ValueError, match="grid_over needs a grid"):
        Parameter("d", 1.0, 10.0, "d", grid_over="samples")
    with pytest.raises(ValueError, match="positive variable"):
        bnsl_law = bnsl(1)
        import dataclasses

        params = tuple(dataclasses.replace(p, grid_over="tokens") if p.name == "d1" else p for p in bnsl_law.parameters)
        dataclasses.replace(bnsl_law, parameters=params)
