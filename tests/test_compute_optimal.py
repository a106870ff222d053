"""Approach-3 closed form against values derived by hand from the printed constants."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from workbench.analysis.compute_optimal import chinchilla_optimal, chinchilla_optimal_draws
from workbench.errors import WorkbenchError
from workbench.laws import CHINCHILLA

ROUNDED = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}


def test_derived_sanity_values():
    """Derived by hand from the printed constants: rounded Hoffmann constants at C = 5.76e23 give a = 0.4516,
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


def _with_draws(law, draws, level=0.95):
    """A fitted result carrying ``draws`` (columns in ``law.names`` order), as a bootstrap leaves it."""
    from workbench.fit import FitResult

    params = dict(zip(law.names, np.median(draws, axis=0)))
    return FitResult(
        law=law,
        params=params,
        objective=0.0,
        n_points=1,
        fit_seconds=0.0,
        loss="huber",
        domain={},
        draws=np.asarray(draws, float),
        ci_level=level,
    )


def _hoffmann_like_draws(n=50, seed=0):
    rng = np.random.default_rng(seed)
    scale = np.array([0.02, 0.1, 0.1, 0.03, 0.03])
    return np.array([ROUNDED[k] for k in CHINCHILLA.names]) * np.exp(rng.normal(0, 1, (n, 5)) * scale)


def test_optimum_from_draws_is_the_closed_form_of_every_draw():
    draws = _hoffmann_like_draws()
    c = np.array([1e20, 1e22, 5.76e23])
    opt = chinchilla_optimal_draws(_with_draws(CHINCHILLA, draws), c)
    for i, row in enumerate(draws):
        one = chinchilla_optimal(dict(zip(CHINCHILLA.names, row)), c)
        np.testing.assert_allclose(opt.params[i], one.params, rtol=1e-12)
        np.testing.assert_allclose(opt.tokens[i], one.tokens, rtol=1e-12)
        np.testing.assert_allclose(opt.loss[i], one.loss, rtol=1e-12)
        assert opt.a[i] == pytest.approx(one.a, rel=1e-12) and opt.b[i] == pytest.approx(one.b, rel=1e-12)
    lo, hi = opt.interval("params")
    np.testing.assert_array_equal(np.stack([lo, hi]), np.percentile(opt.params, [2.5, 97.5], axis=0))
    assert opt.interval("a", level=0.5) == tuple(float(v) for v in np.percentile(opt.a, [25, 75]))
    assert np.all((lo <= opt.fitted.params) & (opt.fitted.params <= hi))


def test_optimum_from_draws_reads_the_constants_by_name_not_position():
    """The same draws under a law that lists its parameters in another order give the same optimum."""
    order = [4, 2, 0, 3, 1]
    shuffled = dataclasses.replace(CHINCHILLA, parameters=tuple(CHINCHILLA.parameters[i] for i in order))
    draws = _hoffmann_like_draws()
    a = chinchilla_optimal_draws(_with_draws(CHINCHILLA, draws), [1e22])
    b = chinchilla_optimal_draws(_with_draws(shuffled, draws[:, order]), [1e22])
    np.testing.assert_array_equal(a.params, b.params)
    np.testing.assert_array_equal(a.a, b.a)


def test_a_draw_without_an_interior_optimum_is_left_out_of_the_interval():
    draws = _hoffmann_like_draws()
    draws[0, CHINCHILLA.names.index("B")] = 0.0  # the data term at its bound in one draw
    opt = chinchilla_optimal_draws(_with_draws(CHINCHILLA, draws, level=0.9), [1e22])
    assert not opt.valid[0] and opt.valid[1:].all() and np.isnan(opt.params[0]).all() and np.isnan(opt.a[0])
    assert opt.level == 0.9
    assert opt.interval("params")[0] == pytest.approx(np.percentile(opt.params[1:, 0], 5), rel=1e-12)


def test_optimum_from_draws_needs_draws_and_a_chinchilla_form_law():
    from workbench.laws import get_law

    with pytest.raises(WorkbenchError, match="no bootstrap draws"):
        chinchilla_optimal_draws(
            dataclasses.replace(_with_draws(CHINCHILLA, _hoffmann_like_draws()), draws=None), [1e22]
        )
    power = get_law("power_offset_params")
    with pytest.raises(WorkbenchError, match="has no B, beta: not a Chinchilla-form law"):
        chinchilla_optimal_draws(_with_draws(power, np.ones((4, 3))), [1e22])
    with pytest.raises(WorkbenchError, match="unknown quantity 'N'"):
        chinchilla_optimal_draws(_with_draws(CHINCHILLA, _hoffmann_like_draws()), [1e22]).interval("N")


def test_optimum_of_a_real_bootstrap_and_of_a_fit_result():
    from conftest import synthetic_grid

    from workbench.fit import fit

    rng = np.random.default_rng(0)
    data = synthetic_grid(ROUNDED, 7, 7)
    data["loss"] = data["loss"] * np.exp(rng.normal(0, 0.005, data["loss"].size))
    result = fit(CHINCHILLA, data).bootstrap(draws=60, seed=0)
    assert chinchilla_optimal(result, [1e22]).params == chinchilla_optimal(result.params, [1e22]).params
    opt = chinchilla_optimal_draws(result, [1e22])
    assert opt.params.shape == (len(result.draws), 1) and opt.level == result.ci_level
    lo, hi = opt.interval("a")
    assert lo <= ROUNDED["beta"] / (ROUNDED["alpha"] + ROUNDED["beta"]) <= hi
