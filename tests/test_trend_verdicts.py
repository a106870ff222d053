"""Trend verdicts in the papers' vocabulary, for every shape and both metric directions.

The words are about *performance*: "U-shaped" is worse, then better (Wei et
al. 2022), "inverted-U" is better, then worse (McKenzie et al. 2023).  A loss
that rises and then falls is therefore U-shaped, and so is an accuracy that
falls and then rises.  The property tests draw noisy curves of each shape in
each orientation and check that ``scaling_trend`` names the shape; the no-trend
case checks that pure noise is called a trend no more often than the test's
level allows.

The curves are exact in a quadratic-in-log-x law declared here (fast to fit,
so hypothesis can try many); the BNSL cases check the default tool of the
course on the same shapes.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.analysis.inverse import VERDICTS, classify, scaling_trend, trend_law, trend_p_value
from workbench.laws.base import Law, Parameter

X_REF = 1e6


def _quad(x, p):
    t = np.log10(x["params"] / X_REF)
    return p["c0"] * np.exp(p["c1"] * t + p["c2"] * t**2)


QUAD = Law(
    name="test_logquad",
    title="quadratic in log x (test only)",
    variables=("params",),
    target="metric",
    parameters=(
        Parameter("c0", 1e-3, 1e3, "c_0", log_scale=True, grid=(0.3, 1.0, 3.0)),
        Parameter("c1", -3.0, 3.0, "c_1", grid=(-0.3, 0.0, 0.3)),
        Parameter("c2", -1.0, 1.0, "c_2", grid=(-0.05, 0.0, 0.05)),
    ),
    latex=r"\log y = \log c_0 + c_1 t + c_2 t^2",
    formula=_quad,
)

SETTINGS = settings(max_examples=4, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
TURNS = {"U-shaped": 1.0, "inverted-U": -1.0}  # sign of the badness at the turning point


def _badness(verdict: str, u: np.ndarray, size: float, curvature: float, vertex: float) -> np.ndarray:
    """Log-badness (higher is worse) of a curve of the given shape on u in [0, 1]."""
    if verdict in ("normal scaling", "inverse scaling"):  # monotone: 1 + 2 c u > 0 on [0, 1] for |c| < 0.5
        sign = 1.0 if verdict == "inverse scaling" else -1.0
        return sign * size * (u + curvature * u**2)
    if verdict in TURNS:
        reach = max(vertex, 1.0 - vertex)
        return TURNS[verdict] * size * (1.0 - ((u - vertex) / reach) ** 2)
    return np.zeros_like(u)


@st.composite
def noisy_curve(draw, verdict: str, lower_is_better: bool):
    n = draw(st.integers(10, 20))
    lo = draw(st.sampled_from([1e6, 1e7, 1e8]))
    decades = draw(st.floats(2.0, 4.0))
    x = np.geomspace(lo, lo * 10**decades, n)
    u = np.log10(x / lo) / decades
    size = draw(st.floats(0.1, 0.4))  # change in log units of the metric
    sigma = draw(st.floats(0.002, 0.008))  # multiplicative noise
    bad = _badness(verdict, u, size, draw(st.floats(-0.4, 0.4)), draw(st.floats(0.35, 0.65)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    level = draw(st.sampled_from([0.5, 2.0]))
    metric = level * np.exp((bad if lower_is_better else -bad) + rng.normal(0.0, sigma, n))
    return {"params": x, "metric": metric}


@pytest.mark.parametrize("lower_is_better", [True, False], ids=["loss", "accuracy"])
@pytest.mark.parametrize("verdict", ["normal scaling", "inverse scaling", "U-shaped", "inverted-U"])
def test_every_shape_is_named_in_both_orientations(verdict, lower_is_better):
    @SETTINGS
    @given(noisy_curve(verdict, lower_is_better))
    def check(data):
        trend = scaling_trend(QUAD, data, "params", lower_is_better=lower_is_better, draws=150, loss="squared")
        assert trend.verdict == verdict, trend.sentence
        assert trend.sentence.startswith(verdict + ":")
        if verdict in TURNS:
            x = data["params"]
            assert x.min() < trend.turn_at < x.max()
            assert trend.first is not None and trend.second is not None
            assert trend.first.worse == (1 if verdict == "U-shaped" else -1)
            assert trend.second.worse == -trend.first.worse
        else:
            assert trend.turn_at is None
            assert trend.change.worse == (1 if verdict == "inverse scaling" else -1)

    check()


@SETTINGS
@given(
    n=st.integers(10, 20), sigma=st.floats(0.002, 0.05), lower_is_better=st.booleans(), seed=st.integers(0, 2**32 - 1)
)
def test_pure_noise_is_rarely_called_a_trend(n, sigma, lower_is_better, seed):
    """At a 95 % level, no more than 2 of 10 flat noisy curves may be given a trend (expected: 0.5)."""
    rng = np.random.default_rng(seed)
    x = np.geomspace(1e7, 1e10, n)
    verdicts = []
    for _ in range(10):
        data = {"params": x, "metric": 0.6 * np.exp(rng.normal(0.0, sigma, n))}
        verdicts.append(
            scaling_trend(QUAD, data, "params", lower_is_better=lower_is_better, draws=100, loss="squared").verdict
        )
    assert set(verdicts) <= set(VERDICTS)
    assert sum(v != "no significant trend" for v in verdicts) <= 2, verdicts


def test_verdict_words_do_not_depend_on_the_axis_direction():
    """Mirroring a curve (loss <-> accuracy) keeps its verdict when lower_is_better flips too."""
    grid = np.geomspace(1e6, 1e9, 50)
    u = np.linspace(0, 1, 50)
    curve = 2.0 + 0.3 * np.sin(np.pi * u)  # rises then falls
    draws = curve + np.random.default_rng(0).normal(0, 1e-3, (200, 50))
    as_loss = classify(grid, curve, draws, lower_is_better=True, level=0.95)[0]
    as_accuracy = classify(grid, -curve, -draws, lower_is_better=False, level=0.95)[0]
    assert as_loss == as_accuracy == "U-shaped"  # a loss that rises then falls: worse, then better
    assert classify(grid, curve, draws, lower_is_better=False, level=0.95)[0] == "inverted-U"


def test_trend_p_value_sees_every_shape_and_not_noise():
    x = np.geomspace(1e7, 1e10, 12)
    u = np.linspace(0, 1, 12)
    noise = np.random.default_rng(1).normal(0, 0.01, 12)
    for shape in (0.3 * u, -0.3 * u, 0.3 * np.sin(np.pi * u), -0.3 * np.sin(np.pi * u)):
        assert trend_p_value(x, shape + noise) < 1e-3
    assert trend_p_value(x, noise) > 0.05
    assert trend_p_value(x[:3], noise[:3]) == 1.0  # too few points to tell


@pytest.mark.parametrize(
    "c0, c1, lower_is_better, verdict",
    [
        (0.25, -0.45, True, "inverted-U"),  # a loss that falls, then rises: better, then worse
        (-0.25, 0.45, True, "U-shaped"),  # a loss that rises, then falls: worse, then better
        (0.25, -0.45, False, "U-shaped"),  # an accuracy that falls, then rises
        (-0.25, 0.45, False, "inverted-U"),  # an accuracy that rises, then falls
    ],
)
def test_the_default_bnsl_names_both_turning_shapes(c0, c1, lower_is_better, verdict):
    law = trend_law("params", "metric")
    truth = {"a": 0.5, "b": 30.0 if c0 > 0 else 0.02, "c0": c0, "c1": c1, "d1": 3e8, "f1": 0.3}
    x = np.geomspace(1e7, 1e10, 18)
    y = law.predict({"params": x}, truth) * np.exp(np.random.default_rng(4).normal(0, 0.005, x.size))
    trend = scaling_trend(law, {"params": x, "metric": y}, "params", lower_is_better=lower_is_better, draws=100)
    assert trend.verdict == verdict, trend.sentence
    assert 5e7 < trend.turn_at < 2e9
