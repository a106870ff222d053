"""The public fitting API: options declared once, a result that keeps its problem, one interval level."""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np
import pytest
from conftest import synthetic_grid

from workbench.errors import WorkbenchError
from workbench.fit import (
    DEFAULT_LEVEL,
    Bootstrap,
    FitOptions,
    FitResult,
    Problem,
    bootstrap,
    fit,
    fit_problem,
    make_problem,
    objective_at,
    percentile_bounds,
    percentile_interval,
)
from workbench.fit.engine import multistart
from workbench.laws import CHINCHILLA, get_law
from workbench.laws.chinchilla import HOFFMANN_2022

TRUTH = dict(HOFFMANN_2022.values)
FIELDS = ("loss", "delta", "fixed", "tie", "weight", "space")


def noisy_grid(seed: int = 1, noise: float = 0.01) -> dict:
    rng = np.random.default_rng(seed)
    data = synthetic_grid(TRUTH, 6, 6)
    data["loss"] = data["loss"] * np.exp(rng.normal(0, noise, data["loss"].size))
    return data


def power_data(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    x = np.geomspace(1e6, 1e9, 12)
    return {"params": x, "loss": (2.0 + 40.0 * x**-0.3) * np.exp(rng.normal(0, 0.01, x.size))}


# -- FitOptions -----------------------------------------------------------------------------


def test_options_are_the_old_keyword_defaults_declared_once():
    assert tuple(f.name for f in dataclasses.fields(FitOptions)) == FIELDS
    o = FitOptions()
    assert (o.loss, o.delta, dict(o.fixed), dict(o.tie), o.weight, o.space) == ("huber", 1e-3, {}, {}, 4.0, "log")
    for function in (fit, make_problem, objective_at):  # none of them re-declares an option
        assert not set(inspect.signature(function).parameters) & set(FIELDS), function.__name__


@pytest.mark.parametrize(
    "call",
    [
        lambda data: fit(CHINCHILLA, data, lose="squared"),
        lambda data: make_problem(CHINCHILLA, data, lose="squared"),
        lambda data: objective_at(CHINCHILLA, data, TRUTH, lose="squared"),
        lambda data: FitOptions().replace(lose="squared"),
    ],
    ids=["fit", "make_problem", "objective_at", "replace"],
)
def test_an_unknown_option_is_one_error_naming_the_valid_ones(call):
    with pytest.raises(
        WorkbenchError,
        match=r"unknown fit option 'lose'; the options are loss, delta, fixed, tie, "
        r"weight, space",
    ):
        call(synthetic_grid(TRUTH))


def test_options_must_be_fit_options():
    with pytest.raises(WorkbenchError, match="options must be a FitOptions, not dict"):
        fit(CHINCHILLA, synthetic_grid(TRUTH), {"loss": "squared"})


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"loss": "cauchy"}, "unknown loss 'cauchy'"),
        ({"space": "raw"}, "unknown residual space 'raw'"),
        ({"delta": 0.0}, "Huber delta must be positive"),
        ({"loss": "asymmetric", "weight": 0.5}, "over-prediction weight must be at least 1"),
        ({"tie": ["beta"]}, "must look like 'beta=alpha'"),
        ({"tie": ["beta=alpha", "beta=A"]}, "beta is tied twice"),
        ({"fixed": {"E": "high"}}, "fixed value E='high' is not a number"),
    ],
)
def test_bad_options_are_refused_when_made(kwargs, message):
    with pytest.raises(WorkbenchError, match=message):
        FitOptions(**kwargs)


def test_options_are_frozen_hashable_and_equal_whatever_the_spelling():
    a = FitOptions(fixed={"E": 2}, tie=["beta=alpha"])
    b = FitOptions(fixed={"E": 2.0}, tie={"beta": "alpha"})
    assert a == b and hash(a) == hash(b) and {a: 1}[b] == 1
    assert a != FitOptions(fixed={"E": 2.0})
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.loss = "squared"
    with pytest.raises(TypeError):
        a.fixed["E"] = 3.0  # the mapping is read-only too
    assert repr(a) == (
        "FitOptions(loss='huber', delta=0.001, fixed={'E': 2.0}, tie={'beta': 'alpha'}, weight=4.0, space='log')"
    )


def test_keywords_override_the_options_field_by_field():
    base = FitOptions(loss="squared", fixed={"E": 1.69})
    assert FitOptions.of(base, space="linear") == FitOptions(loss="squared", fixed={"E": 1.69}, space="linear")
    assert FitOptions.of(None, loss="squared") == FitOptions(loss="squared")
    assert FitOptions.of(base) is base
    p = make_problem(CHINCHILLA, synthetic_grid(TRUTH), base, loss="huber")
    assert p.objective.name == "huber(delta=0.001)" and p.fixed == {"E": 1.69}


OPTIONS = {
    "default": FitOptions(),
    "fixed and tied": FitOptions(fixed={"E": 1.69}, tie=["beta=alpha"]),
    "squared, linear residuals": FitOptions(loss="squared", space="linear"),
    "asymmetric": FitOptions(loss="asymmetric", weight=2.0, delta=1e-2),
}


@pytest.mark.parametrize("options", OPTIONS.values(), ids=OPTIONS.keys())
def test_fit_make_problem_and_objective_at_agree(options):
    """One set of options means one objective: the fit's, its problem's and the score of its parameters."""
    data = noisy_grid()
    result = fit(CHINCHILLA, data, options)
    problem = make_problem(CHINCHILLA, data, options)
    assert fit_problem(problem).params == result.params
    assert problem.value(result.params) == pytest.approx(result.objective, rel=1e-12)
    assert objective_at(CHINCHILLA, data, result.params, options) == problem.value(result.params)
    as_keywords = {k: getattr(options, k) for k in FIELDS}
    assert fit(CHINCHILLA, data, **as_keywords).params == result.params


def test_objective_at_obeys_fixed_and_tied_parameters():
    data = noisy_grid()
    off = {**TRUTH, "E": 1.0, "beta": 0.5}
    pinned = objective_at(CHINCHILLA, data, off, fixed={"E": 1.69}, tie=["beta=alpha"])
    assert pinned == objective_at(CHINCHILLA, data, {**off, "E": 1.69, "beta": off["alpha"]})
    assert pinned != objective_at(CHINCHILLA, data, off)


# -- a result keeps its problem ------------------------------------------------------------


def test_the_engine_sets_the_problem_and_eq_and_repr_ignore_it():
    data = noisy_grid()
    problem = make_problem(CHINCHILLA, data, fixed={"E": 1.69})
    assert fit_problem(problem).problem is problem
    assert multistart(problem, [TRUTH]).problem is problem
    result = fit(CHINCHILLA, data, fixed={"E": 1.69})
    assert isinstance(result.problem, Problem) and result.problem.fixed == {"E": 1.69}
    field = {f.name: f for f in dataclasses.fields(FitResult)}["problem"]
    assert not field.compare and not field.repr and "problem=" not in repr(result)
    assert dataclasses.replace(result, problem=None) == result


def test_with_ci_with_flags_and_bootstrap_keep_the_problem():
    result = fit(CHINCHILLA, noisy_grid())
    assert result.with_ci({"E": (1.0, 2.0)}).problem is result.problem
    assert result.with_flags([], "bootstrap").problem is result.problem
    assert bootstrap(result.problem, result, draws=20)[0].problem is result.problem
    assert result.bootstrap(draws=20).problem is result.problem


def test_a_result_without_a_problem_says_how_to_bootstrap_it():
    result = dataclasses.replace(fit(CHINCHILLA, noisy_grid()), problem=None)
    with pytest.raises(WorkbenchError, match=r"use workbench\.fit\.bootstrap\(problem, result\)"):
        result.bootstrap(draws=20)
    problem = make_problem(CHINCHILLA, noisy_grid())
    assert bootstrap(problem, result, draws=20)[0].problem is problem  # the module form attaches the one it used


def _same(a: FitResult, b: FitResult) -> None:
    assert a.ci == b.ci and a.ci_level == b.ci_level and a.flags == b.flags and a.warnings == b.warnings
    assert a.details == b.details
    np.testing.assert_array_equal(a.draws, b.draws)


@pytest.mark.parametrize("options", OPTIONS.values(), ids=OPTIONS.keys())
def test_result_bootstrap_is_the_module_bootstrap_on_the_fits_problem(options):
    data = noisy_grid()
    result = fit(CHINCHILLA, data, options)
    method = result.bootstrap(draws=40, seed=5, level=0.9)
    module, boot = bootstrap(make_problem(CHINCHILLA, data, options), result, draws=40, seed=5, level=0.9)
    _same(method, module)
    assert isinstance(boot, Bootstrap) and method.ci_level == 0.9
    np.testing.assert_array_equal(method.draws, boot.draws[boot.converged])


def test_result_bootstrap_passes_groups():
    data = noisy_grid()
    groups = np.repeat(np.arange(6), 6)  # one label per model size
    result = fit(CHINCHILLA, data)
    grouped = result.bootstrap(draws=30, seed=2, groups=groups)
    _same(grouped, bootstrap(result.problem, result, draws=30, seed=2, groups=groups)[0])
    assert grouped.details["bootstrap_groups"] and grouped.ci != result.bootstrap(draws=30, seed=2).ci


def test_result_bootstrap_respects_fixed_and_tied_parameters():
    """The point of keeping the problem: a rebuilt default problem would let E and beta move."""
    data = noisy_grid()
    result = fit(CHINCHILLA, data, fixed={"E": 1.69}, tie=["beta=alpha"]).bootstrap(draws=40, seed=0)
    assert result.ci["E"] == (1.69, 1.69)
    np.testing.assert_array_equal(result.draws_of("beta"), result.draws_of("alpha"))
    free, _ = bootstrap(make_problem(CHINCHILLA, data), result, draws=40, seed=0)
    assert free.ci["E"][0] < free.ci["E"][1]


def test_draws_are_read_by_name():
    result = fit(CHINCHILLA, noisy_grid())
    with pytest.raises(WorkbenchError, match="no bootstrap draws: call result.bootstrap"):
        result.draws_of("alpha")
    booted = result.bootstrap(draws=20)
    np.testing.assert_array_equal(booted.draws_of("alpha"), booted.draws[:, CHINCHILLA.names.index("alpha")])
    with pytest.raises(WorkbenchError, match="has no parameter 'gamma'"):
        booted.draws_of("gamma")


def test_internals_are_not_exported():
    import workbench.fit as api

    for name in ("polish", "multistart"):
        assert not hasattr(api, name) and name not in api.__all__
        with pytest.raises(ImportError):
            exec(f"from workbench.fit import {name}")
    assert callable(api.bootstrap) and api.Bootstrap.__name__ == "Bootstrap"
    assert set(api.__all__) >= {
        "FitOptions",
        "FitResult",
        "bootstrap",
        "Bootstrap",
        "DEFAULT_LEVEL",
        "percentile_bounds",
    }


# -- the interval level --------------------------------------------------------------------


def test_one_level_and_its_percentiles():
    assert DEFAULT_LEVEL == 0.95
    assert percentile_bounds() == (2.5, 97.5)  # exactly, not 2.5000000000000022
    assert percentile_bounds(0.9) == (5.0, 95.0) and percentile_bounds(0.5) == (25.0, 75.0)
    for bad in (0.0, 1.0, 95.0, -0.1):
        with pytest.raises(WorkbenchError, match="confidence level must be between 0 and 1"):
            percentile_bounds(bad)


def test_percentile_interval_is_numpys_percentile_at_those_bounds():
    x = np.random.default_rng(0).normal(size=(200, 3))
    lo, hi = percentile_interval(x, 0.8)
    np.testing.assert_array_equal(np.stack([lo, hi]), np.percentile(x, [10, 90], axis=0))
    assert percentile_interval(x[:, 0]) == tuple(float(v) for v in np.percentile(x[:, 0], [2.5, 97.5]))
    with_nan = np.append(x[:, 0], np.nan)
    assert percentile_interval(with_nan) == percentile_interval(x[:, 0])  # a draw without a value is left out


def test_every_default_level_is_the_constant():
    from workbench.analysis.crossover import crossover
    from workbench.analysis.inverse import scaling_trend
    from workbench.fit.coverage import coverage

    for function, name in [
        (bootstrap, "level"),
        (FitResult.bootstrap, "level"),
        (FitResult.with_ci, "level"),
        (crossover, "level"),
        (scaling_trend, "level"),
        (coverage, "level"),
    ]:
        assert inspect.signature(function).parameters[name].default is DEFAULT_LEVEL, function.__qualname__
    assert {f.name: f.default for f in dataclasses.fields(FitResult)}["ci_level"] is DEFAULT_LEVEL


def test_prediction_interval_is_the_percentiles_of_the_draw_curves():
    law = get_law("power_offset_params")
    result = fit(law, power_data()).bootstrap(draws=80, seed=1)
    x = {"params": np.geomspace(1e5, 1e10, 7)}
    curves = np.array([law.predict(x, dict(zip(law.names, row))) for row in result.draws])
    np.testing.assert_array_equal(result.draw_curves(x), curves)
    np.testing.assert_array_equal(np.stack(result.prediction_interval(x)), np.percentile(curves, [2.5, 97.5], axis=0))
    narrow = result.prediction_interval(x, level=0.5)
    np.testing.assert_array_equal(np.stack(narrow), np.percentile(curves, [25, 75], axis=0))
    wide = result.prediction_interval(x)
    assert np.all(wide[0] <= narrow[0]) and np.all(narrow[1] <= wide[1])
    assert fit(law, power_data()).prediction_interval(x) is None
    (p,) = result.predictions([{"params": 1e10}])
    assert p.interval == (wide[0][-1], wide[1][-1])


# -- FitResult.table ----------------------------------------------------------------------------


def test_table_lists_every_constant_with_its_interval_and_flag():
    law = get_law("power_offset_params")
    plain = fit(law, power_data())
    t = plain.table()
    assert t["constant"].to_list() == list(law.names) and "95% low" not in t.columns
    assert t["fitted"].to_list() == pytest.approx([plain.params[k] for k in law.names])
    boot = plain.bootstrap(draws=40, seed=0)
    t = boot.table()
    assert t["95% low"].to_list() == pytest.approx([boot.ci[k][0] for k in law.names])
    assert t["95% high"].to_list() == pytest.approx([boot.ci[k][1] for k in law.names])
    flagged = {f.parameter: f.label for f in boot.flags if f.parameter}
    for row in t.iter_rows(named=True):
        assert (flagged.get(row["constant"], "") in row["flag"]) and (bool(row["flag"]) == (row["constant"] in flagged))
