"""Fits say when they cannot be trusted: constants at a bound, constants the bootstrap cannot pin down.

A student reading ``E = 0.000 (0.000-0.000)`` beside "100 % of draws cross",
or an interval for A that spans six orders of magnitude, must also read why
not to believe it.  These tests hold the engine to that: clean data give no
warnings, a term the data lack is flagged at its bound (judged by what the
term contributes, not by the size of the other coefficients), a constant the
data cannot pin down is flagged after a bootstrap, fixed and tied constants
never are, and every prediction from a flagged fit carries the caveats.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from conftest import synthetic_grid
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from workbench.fit import Flag, fit, make_problem
from workbench.fit.bootstrap import Bootstrap, bootstrap, identification_flags, spread
from workbench.fit.diagnostics import bound_flags
from workbench.laws import CHINCHILLA, get_law

POWER = get_law("power_offset_params")


def power_data(E, A, alpha, *, n=8, noise=0.0, seed=0, lo=1e7, hi=1e10):
    """Losses E + A x^-alpha on a log grid of sizes, with multiplicative noise."""
    rng = np.random.default_rng(seed)
    x = np.geomspace(lo, hi, n)
    y = POWER.predict({"params": x}, {"E": E, "A": A, "alpha": alpha}) * np.exp(rng.normal(0, noise, n))
    return {"params": x, "loss": y}


def small_noisy():
    """Six noisy points over two decades: too few to pin down A (checked: its interval spans > 10x)."""
    return power_data(2.0, 400.0, 0.3, n=6, noise=0.01, seed=1, lo=1e7, hi=1e9)


# -- clean data ------------------------------------------------------------------------------


@settings(max_examples=8, deadline=None)
@given(
    E=st.floats(0.5, 3.0),
    A=st.floats(50.0, 5000.0),
    B=st.floats(50.0, 5000.0),
    alpha=st.floats(0.15, 0.5),
    beta=st.floats(0.15, 0.5),
)
def test_noiseless_data_give_no_warnings_even_after_a_bootstrap(E, A, B, alpha, beta):
    data = synthetic_grid({"E": E, "A": A, "B": B, "alpha": alpha, "beta": beta})
    result = fit(CHINCHILLA, data)
    assert result.flags == () and result.warnings == () and result.caution() == ""
    booted, _ = bootstrap(make_problem(CHINCHILLA, data), result, draws=20, seed=0)
    assert booted.flags == () and booted.warnings == () and booted.caution() == ""
    (p,) = booted.predictions([{"params": 1e9, "tokens": 1e10}])
    assert p.caveats == () and p.to_dict("loss")["warnings"] == []


def test_well_sampled_data_identify_every_constant():
    data = power_data(2.0, 400.0, 0.3, n=40, noise=0.002, seed=1, lo=1e6, hi=1e10)
    booted, _ = bootstrap(make_problem(POWER, data), fit(POWER, data), draws=200, seed=0)
    assert booted.flags == ()
    lo, hi = booted.ci["A"]
    assert hi / lo < 10


# -- at a bound -----------------------------------------------------------------------------


@settings(max_examples=10, deadline=None)
@given(A=st.floats(10.0, 1e4), alpha=st.floats(0.1, 0.6), decades=st.floats(1.5, 4.0))
def test_a_term_the_data_lack_ends_at_its_bound_and_says_so(A, alpha, decades):
    """A pure power law has no offset: E can only end at 0, and the fit must say so."""
    data = power_data(0.0, A, alpha, lo=1e7, hi=1e7 * 10**decades)
    result = fit(POWER, data)
    (flag,) = result.flags
    assert (flag.kind, flag.parameter, flag.label) == ("at_bound", "E", "at its lower bound 0")
    assert flag.message.startswith("E ended at its lower bound 0")
    assert result.warnings == (flag.message,)
    assert result.caution() == "Caution: E at its lower bound 0."
    (p,) = result.predictions([{"params": 1e12}])
    assert p.caveats == ("E at its lower bound 0",)


@settings(max_examples=40, deadline=None)
@given(log_a=st.floats(2.0, 12.0), log_share=st.floats(-8.0, -1.0))
def test_a_coefficient_is_at_zero_by_what_its_term_adds_not_by_the_other_coefficients(log_a, log_share):
    """E is "at 0" exactly when its term is at most 1e-4 of every fitted loss, whatever the size of A.

    The old rule (E <= 1e-9 x the largest coefficient) missed E = 5e-5 beside
    A = 100 and flagged a real E = 1 beside A = 1e12; both are covered here.
    """
    assume(abs(log_share + 4) > 0.01)
    A, y = 10**log_a, np.geomspace(1.0, 10.0, 8)
    problem = make_problem(POWER, {"params": (A / y) ** 2, "loss": y})  # y = A x^-0.5 exactly
    E = 10**log_share * y.min()  # E's share of the smallest loss, hence of every loss at most
    flagged = {f.parameter for f in bound_flags(problem, {"E": E, "A": A, "alpha": 0.5})}
    assert ("E" in flagged) == (log_share < -4)


def test_e_of_1e_4_next_to_a_of_1e5_is_flagged():
    """The case users met: E printed as 0.000 beside A of order 1e5, with no warning."""
    y = np.geomspace(3.0, 30.0, 8)
    problem = make_problem(POWER, {"params": (1e5 / y) ** 2, "loss": y})
    (flag,) = bound_flags(problem, {"E": 2e-4, "A": 1e5, "alpha": 0.5})  # 2e-4 > 1e-9 * 1e5: the old rule missed it
    assert (flag.kind, flag.parameter) == ("at_bound", "E")


def test_a_real_offset_beside_a_huge_coefficient_is_not_flagged():
    """Losses against compute: A ~ 1e11 because C ~ 1e20, and E = 1.7 is most of every loss."""
    law = get_law("power_offset_flops")
    c = np.geomspace(1e18, 1e22, 12)
    result = fit(law, {"flops": c, "loss": 1.7 + 1e11 * c**-0.5})
    assert result.params["E"] == pytest.approx(1.7, rel=1e-6)
    assert result.flags == () and result.warnings == ()


@settings(max_examples=6, deadline=None)
@given(value=st.floats(0.0, 1.9))
def test_fixed_parameters_are_never_flagged(value):
    """Even pinned at its bound (E = 0) on data that cannot pin anything, a fixed constant is the user's choice."""
    data = small_noisy()
    problem = make_problem(POWER, data, fixed={"E": value})
    result = fit(POWER, data, fixed={"E": value})
    booted, _ = bootstrap(problem, result, draws=60, seed=0)
    assert all(f.parameter != "E" for f in (*result.flags, *booted.flags))


def test_tied_parameters_are_flagged_only_through_their_leader():
    """B = A and beta = alpha: A's draws are B's draws, yet only the leader A is named."""
    n, d = np.meshgrid(np.geomspace(1e7, 1e8, 3), np.geomspace(1e8, 1e9, 3))
    rng = np.random.default_rng(2)
    data = {"params": n.ravel(), "tokens": d.ravel()}
    data["loss"] = CHINCHILLA.predict(data, {"E": 1.7, "A": 400, "B": 400, "alpha": 0.3, "beta": 0.3})
    data["loss"] = data["loss"] * np.exp(rng.normal(0, 0.02, data["loss"].size))
    tie = ["beta=alpha", "B=A"]
    booted, _ = bootstrap(make_problem(CHINCHILLA, data, tie=tie), fit(CHINCHILLA, data, tie=tie), draws=60, seed=0)
    named = {f.parameter for f in booted.flags}
    assert "A" in named  # nine noisy points over one decade: A is poorly identified...
    assert booted.ci["B"] == booted.ci["A"] and not named & {"B", "beta"}  # ...and B, its copy, is not named again


# -- after a bootstrap ----------------------------------------------------------------------


def test_too_few_noisy_points_leave_a_poorly_identified():
    data = small_noisy()
    result = fit(POWER, data)
    assert result.flags == ()  # the point fit alone looks fine...
    booted, _ = bootstrap(make_problem(POWER, data), result, draws=200, seed=0)
    flags = {f.parameter: f for f in booted.flags}
    a = flags["A"]
    assert (a.kind, a.label, a.stage) == ("poorly_identified", "poorly identified", "bootstrap")
    lo, hi = booted.ci["A"]
    m = re.fullmatch(
        r"A is poorly identified: its 95% bootstrap interval (\S+) to (\S+) spans a factor of (\S+)", a.message
    )
    assert m, a.message
    assert float(m.group(1)) == pytest.approx(lo, rel=5e-3) and float(m.group(2)) == pytest.approx(hi, rel=5e-3)
    assert float(m.group(3)) == pytest.approx(hi / lo, rel=5e-3) and hi / lo > 10
    assert a.message in booted.warnings
    assert "A poorly identified" in booted.caution()
    (p,) = booted.predictions([{"params": 1e11}])
    assert "A poorly identified" in p.caveats and "A poorly identified" in p.to_dict("loss")["warnings"]


def test_a_second_bootstrap_replaces_the_first_ones_flags():
    data = small_noisy()
    problem, result = make_problem(POWER, data), fit(POWER, data)
    once, _ = bootstrap(problem, result, draws=100, seed=0)
    twice, _ = bootstrap(problem, once, draws=100, seed=0)
    assert twice.flags == once.flags and twice.warnings == once.warnings
    assert len(set(twice.warnings)) == len(twice.warnings)


def test_at_a_bound_in_most_draws_is_flagged_once():
    """Judged on the draws' bound sides: 80 % at E's lower bound gives one flag saying so."""
    data = small_noisy()
    problem, result = make_problem(POWER, data), fit(POWER, data)
    rng = np.random.default_rng(0)
    draws = np.column_stack([rng.uniform(0.1, 0.2, 50), rng.uniform(400, 420, 50), rng.uniform(0.3, 0.31, 50)])
    boot = Bootstrap(names=POWER.names, draws=draws, level=0.95, converged=np.ones(50, bool))
    sides = np.zeros((50, 3), int)
    sides[:40, 0] = -1
    (flag,) = identification_flags(problem, result, boot, sides)
    assert (flag.kind, flag.parameter, flag.label) == (
        "at_bound",
        "E",
        "at its lower bound 0 in 80% of bootstrap draws",
    )
    boot_failed = Bootstrap(names=POWER.names, draws=draws, level=0.95, converged=np.arange(50) < 45)
    kinds = [f.kind for f in identification_flags(problem, result, boot_failed, np.zeros((50, 3), int))]
    assert kinds == ["not_converged"]


finite = st.floats(1e-6, 1e6)


@given(lo=finite, factor=st.floats(1.0, 1e4), negative=st.booleans())
def test_spread_flags_intervals_wider_than_a_factor_of_10(lo, factor, negative):
    assume(abs(factor - 10) > 1e-6)
    hi = lo * factor
    a, b = (-hi, -lo) if negative else (lo, hi)
    why = spread(a, b, np.array([a, b]))
    assert bool(why) == (factor > 10 and b > a)
    if why:
        assert why.startswith("spans a factor of")


@given(lo=st.floats(-1e3, 0.0), hi=st.floats(1e-9, 1e3))
def test_spread_flags_intervals_reaching_zero(lo, hi):
    why = spread(lo, hi, np.array([lo, hi]))
    assert why == (
        "reaches 0, so its size is not determined"
        if lo == 0
        else "includes 0, so neither its size nor its sign is determined"
    )


def test_spread_leaves_a_parameter_that_is_zero_in_every_draw_alone():
    assert spread(0.0, 0.0, np.zeros(10)) == ""
    assert spread(3.0, 3.0, np.full(10, 3.0)) == ""


def test_flag_and_caution_wording():
    flag = Flag("poorly_identified", "A", "poorly identified", "A is poorly identified: ...", "bootstrap")
    assert flag.caveat == "A poorly identified"
    assert Flag("not_converged", None, "optimiser did not converge", "...").caveat == "optimiser did not converge"
    assert flag.to_dict() == {
        "kind": "poorly_identified",
        "parameter": "A",
        "label": "poorly identified",
        "message": "A is poorly identified: ...",
        "stage": "bootstrap",
    }
    data = power_data(0.0, 100.0, 0.3)
    result = fit(POWER, data)
    assert result.to_dict()["flags"] == [f.to_dict() for f in result.flags]
    assert not math.isnan(result.objective)
