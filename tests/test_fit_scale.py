"""The engine at researcher scale: same objective, memory bounded by blocks, bounded work, no crash on edge cases.

Timings are measured by benchmarks/fit_scaling.py, not here: these tests
check what must hold whatever the machine (the same optimum, the same sums
whichever way the rows are blocked, a count of objective evaluations under
its limit, memory that does not grow with grid x rows).
"""

from __future__ import annotations

import importlib
import tracemalloc

import numpy as np
import pytest
from conftest import synthetic_grid
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.errors import WorkbenchError
from workbench.fit import fit, fit_problem, make_problem, objective_at
from workbench.fit.problem import Problem
from workbench.laws import CHINCHILLA, LAWS
from workbench.laws.grouped import per_group

engine = importlib.import_module("workbench.fit.engine")  # the module, not the package's ``fit`` re-exports
start_search = importlib.import_module("workbench.fit.starts")
problem_module = importlib.import_module("workbench.fit.problem")

# Recorded with the engine as it was before blocks, sampling and work limits (commit 4feab91):
#   fit(CHINCHILLA, corpus.loss_points("chinchilla_epoch", subset="besiroglu2024"))
# printed these, with repr() of every float.
EPOCH_OBJECTIVE_BEFORE = 0.0010182740178006017
EPOCH_PARAMS_BEFORE = {
    "E": 1.8172180992064022,
    "A": 477.82586370883587,
    "B": 2143.4173864129734,
    "alpha": 0.34731049833606037,
    "beta": 0.36717243318051507,
}
# and result.bootstrap(draws=1000, seed=0).ci for two of the constants:
EPOCH_CI_BEFORE = {"E": (1.7713176069408647, 1.8688152160271416), "beta": (0.3323939597731112, 0.414339157995607)}
TRUTH = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}


def rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


def table(rows: int, seed: int = 0, noise: float = 0.02) -> dict[str, np.ndarray]:
    """A checkpoint-level table: Chinchilla losses with log-normal noise on a random log-uniform design."""
    rng = np.random.default_rng(seed)
    data = {"params": 10 ** rng.uniform(7, 11, rows), "tokens": 10 ** rng.uniform(8, 12, rows)}
    data["loss"] = CHINCHILLA.predict(data, TRUTH) * np.exp(rng.normal(0, noise, rows))
    return data


# -- the same objective and optimum on the Epoch points ----------------------------------------------------------


def test_epoch_objective_and_constants_are_unchanged(besiroglu_points):
    result = fit(CHINCHILLA, besiroglu_points)
    assert rel(result.objective, EPOCH_OBJECTIVE_BEFORE) <= 1e-9
    for name, before in EPOCH_PARAMS_BEFORE.items():
        assert rel(result.params[name], before) <= 1e-6, name
    # the objective function itself is the same: the old optimum scores exactly the old objective
    assert rel(objective_at(CHINCHILLA, besiroglu_points, EPOCH_PARAMS_BEFORE), EPOCH_OBJECTIVE_BEFORE) <= 1e-12
    assert result.converged and result.warnings == ()
    assert result.details["rows_scanned"] == 240  # an ordinary table is scanned whole, as before


def test_epoch_bootstrap_intervals_are_unchanged(besiroglu_points):
    """The draws are refitted by damped Newton steps now (not reweighted least squares): same intervals."""
    boot = fit(CHINCHILLA, besiroglu_points).bootstrap(draws=1000, seed=0)
    assert boot.details["bootstrap_unconverged"] == 0
    for name, (lo, hi) in EPOCH_CI_BEFORE.items():
        assert rel(boot.ci[name][0], lo) <= 1e-5 and rel(boot.ci[name][1], hi) <= 1e-5, (name, boot.ci[name])


# -- big tables: a sample for the search, every row for the optimum ----------------------------------------------


def test_two_stage_fit_reaches_the_whole_table_optimum():
    problem = make_problem(CHINCHILLA, table(3000, seed=1))
    whole = fit_problem(problem, scan_rows=3000)
    two_stage = fit_problem(problem, scan_rows=400)
    assert two_stage.details["rows_scanned"] == 400 and whole.details["rows_scanned"] == 3000
    assert two_stage.converged and whole.converged
    assert rel(two_stage.objective, whole.objective) <= 1e-9
    for name, value in whole.params.items():
        assert rel(two_stage.params[name], value) <= 1e-5, name
    assert two_stage.n_points == 3000


CASES = {  # law, truth, design ranges: a coefficient driven onto its upper bound, a formula law, more exponents
    "power_offset_flops": ({"E": 1.0, "A": 3e30, "alpha": 1.9}, {"flops": (1e17, 1e23)}),
    "kaplan_nd": (None, {"params": (1e7, 1e11), "tokens": (1e8, 1e12)}),
    "data_constrained": (None, {"params": (1e7, 1e11), "tokens": (1e8, 1e12), "unique_tokens": (1e8, 1e11)}),
    "kumar_ptq": (None, {"params": (1e7, 1e11), "tokens": (1e8, 1e12), "weight_bits": (2, 16)}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_two_stage_fit_matches_for_other_laws(name):
    law = LAWS[name]
    truth, ranges = CASES[name]
    truth = truth or dict(law.presets[0].values)
    rng = np.random.default_rng(0)
    data = {v: np.exp(rng.uniform(*np.log(ranges[v]), 600)) for v in law.variables}
    clean = law.predict(data, truth)
    data[law.target] = clean * np.exp(rng.normal(0, 0.01, clean.size))
    problem = make_problem(law, data)
    whole = fit_problem(problem)
    two_stage = fit_problem(problem, scan_rows=150)
    assert two_stage.details["rows_scanned"] == 150
    assert rel(two_stage.objective, whole.objective) <= 1e-9
    assert two_stage.converged
    if name == "power_offset_flops":  # the Newton steps must leave a parameter on its bound, not bounce off it
        assert whole.params["A"] == pytest.approx(1e30) and two_stage.params["A"] == pytest.approx(1e30)


def test_a_group_the_sample_missed_gets_its_coefficients_from_its_own_rows():
    law = per_group(CHINCHILLA, ["big", "tiny"])
    big, tiny = table(4000, seed=2), table(6, seed=3)
    data = {v: np.concatenate([big[v], tiny[v] * (1.3 if v == "loss" else 1.0)]) for v in big}
    data["group"] = np.r_[np.zeros(4000), np.ones(6)]
    problem = make_problem(law, data)
    sample = engine._sample(problem, 300)
    assert not np.any(sample.cols["group"] == 1), "the seeded sample was meant to miss the tiny group"
    whole = fit_problem(problem, scan_rows=len(problem.y))
    two_stage = fit_problem(problem, scan_rows=300)
    assert rel(two_stage.objective, whole.objective) <= 1e-9
    assert rel(two_stage.params["E[tiny]"], whole.params["E[tiny]"]) <= 1e-4


def test_memory_does_not_grow_with_grid_times_rows():
    """Before: 107 KB per row (20,000 rows peaked at 2.3 GB).  Now the grid is scored on a sample and the rows
    are walked in blocks: numpy's allocations stay within tens of MB."""
    data = table(20_000)
    fit(CHINCHILLA, table(300))  # imports and caches outside the measurement
    tracemalloc.start()
    try:
        result = fit(CHINCHILLA, data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 80 * 2**20, f"peak {peak / 2**20:.0f} MB"
    assert result.converged and max(rel(result.params[k], v) for k, v in TRUTH.items()) < 0.1


def blocked(problem: Problem, monkeypatch, cells: int, block: int) -> None:
    monkeypatch.setattr(problem_module, "CELLS", cells)
    monkeypatch.setattr(problem_module, "BLOCK_CELLS", block)


def test_blocked_sums_equal_whole_sums(monkeypatch):
    problem = make_problem(CHINCHILLA, table(3000, seed=4))
    U = np.stack([problem.pack(TRUTH), problem.pack({**TRUTH, "alpha": 0.3, "E": 1.5})])
    whole = problem.normal_equations(U)
    f_whole, jac_whole = problem.residuals_jacobian(U[0])
    starts_whole = start_search.projected_starts(problem, start_search.start_grid(problem)[::7])
    blocked(problem, monkeypatch, cells=1000, block=256)
    assert len(problem.row_blocks(2)) > 10
    for got, want in zip(problem.normal_equations(U), whole):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=0)
    f, jac = problem.residuals_jacobian(U[0])
    np.testing.assert_array_equal(f, f_whole)
    np.testing.assert_allclose(jac, jac_whole, rtol=1e-14)
    blocked_starts = start_search.projected_starts(problem, start_search.start_grid(problem)[::7])
    np.testing.assert_allclose(blocked_starts[1], starts_whole[1], rtol=1e-9)
    np.testing.assert_allclose(blocked_starts[0], starts_whole[0], rtol=1e-7, atol=1e-9)


def test_big_table_hull_test_keeps_only_the_hull():
    result = fit(CHINCHILLA, table(6000, seed=5))
    assert len(result.support) < 100  # hull vertices, not 6,000 points
    rng = np.random.default_rng(0)
    probe = {"params": 10 ** rng.uniform(6.5, 11.5, 400), "tokens": 10 ** rng.uniform(7.5, 12.5, 400)}
    from scipy.spatial import Delaunay

    points = np.log10(np.column_stack([result.problem.cols["params"], result.problem.cols["tokens"]]))
    want = Delaunay(points).find_simplex(np.log10(np.column_stack([probe["params"], probe["tokens"]]))) < 0
    np.testing.assert_array_equal(result.outside_hull(probe), want)


# -- bounded work on small noisy tables --------------------------------------------------------------------------


class Counter:
    """Counts the problem's objective evaluations behind the engine's back: one per parameter vector whose
    residuals, or Newton sums, are computed over the rows."""

    def __init__(self, monkeypatch):
        self.calls = 0
        residuals, newton = Problem.residuals_jacobian, Problem.normal_equations

        def counted_residuals(problem, u):
            self.calls += 1
            return residuals(problem, u)

        def counted_newton(problem, U, counts=None):
            self.calls += len(np.atleast_2d(U))
            return newton(problem, U, counts)

        monkeypatch.setattr(Problem, "residuals_jacobian", counted_residuals)
        monkeypatch.setattr(Problem, "normal_equations", counted_newton)


def certified_or_warned(result) -> bool:
    not_converged = [f for f in result.flags if f.kind == "not_converged"]
    return (result.converged and not not_converged) or (not result.converged and bool(not_converged))


positive = st.floats(1e-3, 1e12, allow_nan=False, allow_infinity=False)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.tuples(positive, positive, st.floats(1e-2, 1e2)), min_size=8, max_size=20),
)
def test_random_small_tables_fit_within_a_bounded_number_of_evaluations(monkeypatch, rows):
    """A tight limit (60 evaluations per free parameter per start, 300 for Chinchilla) so that many draws hit
    it: the fit must stop there and say so, never run on."""
    monkeypatch.setattr(importlib.import_module("workbench.fit.local_search"), "POLISH_EVALUATIONS", 60)
    params, tokens, loss = (np.array(c) for c in zip(*rows))
    data = {"params": params, "tokens": tokens, "loss": loss}
    problem = make_problem(CHINCHILLA, data)
    counter = Counter(monkeypatch)
    result = fit_problem(problem)
    limit = engine.polish_limit(problem)
    assert limit == 300
    assert counter.calls <= result.details["starts_polished"] * limit
    assert result.details["evaluations"] == result.details["grid_points"] + counter.calls
    assert certified_or_warned(result)
    if len(set(zip(params, tokens))) < 5:
        assert any(f.kind == "underdetermined" for f in result.flags)


def test_a_table_that_used_to_take_seconds_stops_at_its_limit(monkeypatch):
    """Eight rows of small integers: the original engine spent ~6,000 evaluations (12 s) chasing a flat valley
    (E + B constant when beta is 0).  The default limit is 1,000 evaluations per free parameter per start."""
    data = {
        "params": [1.0, 1.0, 4.0, 1.0, 1.0, 1.0, 3.0, 1.0],
        "tokens": [2.0, 2.0, 4.0, 1.0, 4.0, 2.0, 4.0, 2.0],
        "loss": [1.964, 1.911, 1.678, 1.761, 1.179, 1.868, 2.0, 1.911],
    }
    problem = make_problem(CHINCHILLA, data)
    counter = Counter(monkeypatch)
    result = fit_problem(problem)
    assert counter.calls <= result.details["starts_polished"] * engine.polish_limit(problem)
    assert certified_or_warned(result)


def test_the_polish_reports_running_out_of_work():
    problem = make_problem(CHINCHILLA, table(60, seed=6))
    work = engine.Work(problem, 5)
    u, f, ok, message = engine.polish(problem, problem.pack({**TRUTH, "alpha": 0.9}), work=work)
    assert not ok and "work limit of 5 objective evaluations" in message
    assert work.spent == 5 and np.isfinite(f) and f == work.best_f


def test_plateau_of_a_dead_term_counts_as_one_basin():
    """Found by hypothesis in test_fit_engine: with A's term small, the projection zeroes A on a plateau of equal
    objectives along alpha; polishing three points of it missed the basin where A lives."""
    truth = {"E": 1.0, "A": 50.0, "B": 988.0, "alpha": 0.5, "beta": 0.15625}
    result = fit(CHINCHILLA, synthetic_grid(truth))
    assert max(rel(result.params[k], v) for k, v in truth.items()) < 1e-6


# -- edge cases of section 2 ---------------------------------------------------------------------------------------


def test_every_linear_parameter_fixed_fits_the_exponents():
    data = synthetic_grid(TRUTH)
    result = fit(CHINCHILLA, data, fixed={"E": TRUTH["E"], "A": TRUTH["A"], "B": TRUTH["B"]})
    assert rel(result.params["alpha"], TRUTH["alpha"]) < 1e-6 and rel(result.params["beta"], TRUTH["beta"]) < 1e-6
    assert result.params["A"] == TRUTH["A"] and result.converged


def test_power_law_with_its_only_coefficient_fixed_fits_its_exponent():
    law = LAWS["power_params"]
    x = np.geomspace(1e7, 1e11, 12)
    data = {"params": x, "loss": 400.0 * x**-0.3}
    result = fit(law, data, fixed={"A": 400.0})
    assert rel(result.params["alpha"], 0.3) < 1e-8 and result.converged


def test_fix_every_coefficient_on_the_command_line(tmp_path, capsys):
    from workbench.cli import main

    path = tmp_path / "f.csv"
    data = synthetic_grid(TRUTH)
    path.write_text("params,tokens,loss\n" + "".join(f"{n},{d},{y}\n" for n, d, y in zip(*data.values())))
    fixes = ["--fix", "E=1", "--fix", "A=400", "--fix", "B=400"]
    assert main(["fit", "--law", "chinchilla", "--data", str(path), *fixes]) == 0
    assert main(["fit", "--law", "power_params", "--data", str(path), "--fix", "A=400"]) == 0
    assert "Traceback" not in capsys.readouterr().err


def test_repeated_rows_are_fitted_with_an_underdetermined_warning():
    """Choice (documented in make_problem): fewer distinct points than free parameters are fitted, never with
    a clean bill of health; an underdetermined flag names the counts.  Fewer rows than parameters stay refused."""
    six = fit(CHINCHILLA, {"params": [1e8] * 6, "tokens": [2e9] * 6, "loss": [3.5] * 6})
    (flag,) = [f for f in six.flags if f.kind == "underdetermined"]
    assert flag.message in six.warnings and six.caution()
    assert "only 1 distinct point of (params, tokens) in 6 rows, fewer than the 5 free parameters" in flag.message
    three = {"params": [1e8, 1e9, 1e10] * 3, "tokens": [2e9, 2e10, 2e11] * 3, "loss": [3.5, 3.0, 2.5] * 3}
    assert any("only 3 distinct points" in w for w in fit(CHINCHILLA, three).warnings)
    # as many free parameters as distinct points: determined, no such flag
    pinned = fit(CHINCHILLA, three, fixed={"E": 1.0, "alpha": 0.3})
    assert not any(f.kind == "underdetermined" for f in pinned.flags)
    with pytest.raises(WorkbenchError, match="4 data points cannot determine the 5 free parameters"):
        fit(CHINCHILLA, {"params": [1e8, 1e9, 1e10, 1e11], "tokens": [2e9] * 4, "loss": [3.0, 2.9, 2.8, 2.7]})
