"""A researcher's own law from a formula (issue 14, part 1): the engine treats it like a registered law.

Exact recovery of noiseless constants (a separable and a non-separable
formula), exact gradients against finite differences, which parameters are
detected as linear, bounds, fixes, ties, the bootstrap, holdout backtests and
``--predict`` from the CLI, TOML law files, and the headline: the Chinchilla
formula typed by hand reaches the registered law's optimum on the Epoch
points (the same constants to 1e-6 relative).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, synthetic_grid

from workbench.analysis.backtest import backtest
from workbench.cli import main
from workbench.corpus.formula_columns import formula_variables
from workbench.errors import WorkbenchError
from workbench.fit import fit
from workbench.laws import CHINCHILLA, Law, resolve_law
from workbench.laws.formula import linear_split, name_latex, parse_formula

CHINCHILLA_TEXT = "E + A/params**alpha + B/tokens**beta"
HOFFMANN = {"E": 1.6934, "A": 406.40, "B": 410.72, "alpha": 0.33917084, "beta": 0.2849083}
LAW_FILE = ROOT / "datasets" / "laws" / "chinchilla_by_hand.toml"


def typed_chinchilla(**kwargs) -> Law:
    return Law.from_formula(CHINCHILLA_TEXT, ["params", "tokens"], **kwargs)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def relative_difference(a, b) -> float:
    return max(abs(a[k] / b[k] - 1.0) for k in b)


# -- the headline: the same optimum as the registered law ----------------------------------------------------


def test_chinchilla_typed_by_hand_reaches_the_registered_optimum_on_the_epoch_points(epoch_points):
    registered = fit(CHINCHILLA, epoch_points)
    typed = fit(typed_chinchilla(), epoch_points)
    assert set(typed.params) == set(registered.params)
    assert relative_difference(typed.params, registered.params) <= 1e-6
    assert typed.objective == pytest.approx(registered.objective, rel=1e-9)
    assert typed.converged and not typed.warnings


def test_the_law_file_reaches_the_registered_optimum_exactly(epoch_points):
    """The example law file declares the registered law's bounds too: the very same search, the same digits."""
    law = resolve_law(str(LAW_FILE))
    assert law.name == "chinchilla_by_hand" and law.variables == ("params", "tokens")
    assert relative_difference(fit(law, epoch_points).params, fit(CHINCHILLA, epoch_points).params) <= 1e-12


def test_the_typed_law_is_separable_like_the_registered_one():
    law = typed_chinchilla()
    assert law.basis is not None and law.formula is None
    assert [p.name for p in law.linear] == ["E", "A", "B"]
    assert [p.name for p in law.nonlinear] == ["alpha", "beta"]
    assert law.names == ("E", "A", "alpha", "B", "beta")  # the formula's own order
    cols = {"params": np.geomspace(1e7, 1e11, 9), "tokens": np.geomspace(1e8, 1e12, 9)}
    np.testing.assert_allclose(law.predict(cols, HOFFMANN), CHINCHILLA.predict(cols, HOFFMANN), rtol=1e-14)


# -- exact recovery on noiseless data --------------------------------------------------------------------------


def test_noiseless_constants_are_recovered_by_a_separable_formula():
    data = synthetic_grid(HOFFMANN)
    result = fit(typed_chinchilla(), data)
    assert relative_difference(result.params, HOFFMANN) <= 1e-6


def test_noiseless_constants_are_recovered_by_a_separable_formula_with_a_scale():
    """``t`` is a scale of tokens (it starts on the tokens' range); E and A are solved exactly for each t."""
    law = Law.from_formula("E + A*exp(-tokens/t)", ["tokens"])
    assert law.basis is not None and law.parameter("t").grid_over == "tokens"
    tokens = np.geomspace(1e8, 1e11, 25)
    truth = {"E": 1.5, "A": 2.0, "t": 3e9}
    result = fit(law, {"tokens": tokens, "loss": law.predict({"tokens": tokens}, truth)})
    assert relative_difference(result.params, truth) <= 1e-6


def test_noiseless_constants_are_recovered_by_a_non_separable_formula():
    law = Law.from_formula("E + (Nc/params)**alpha", ["params"])
    assert law.basis is None and law.formula is not None and law.formula_grad is not None
    params = np.geomspace(1e7, 1e11, 30)
    truth = {"E": 1.7, "Nc": 8.8e9, "alpha": 0.3}
    result = fit(law, {"params": params, "loss": law.predict({"params": params}, truth)})
    assert relative_difference(result.params, truth) <= 1e-6
    assert result.converged


# -- exact gradients ---------------------------------------------------------------------------------------------

GRADIENT_CASES = [
    ("E + A/params**alpha + B/tokens**beta", {"E": 1.7, "A": 400.0, "alpha": 0.34, "B": 410.0, "beta": 0.28}),
    ("E + (Nc/params)**alpha", {"E": 1.7, "Nc": 8.8e9, "alpha": 0.3}),
    ("A*tanh(params/s)**-a + sqrt(tokens)*c", {"A": 2.0, "s": 3e9, "a": 0.5, "c": 1e-6}),
    ("log(E + exp(-k*params/1e9)) + minimum(params/1e9, m)**-b", {"E": 1.2, "k": 0.7, "m": 5.0, "b": 0.4}),
    ("maximum(params, p0)**-a * tokens**-b * L", {"p0": 3e8, "a": 0.2, "b": 0.1, "L": 50.0}),
]


def _finite_difference(f, values: dict, name: str) -> np.ndarray:
    h = 1e-6 * max(abs(values[name]), 1e-12)
    up, down = dict(values), dict(values)
    up[name] += h
    down[name] -= h
    return (f(up) - f(down)) / (2 * h)


@pytest.mark.parametrize("text, values", GRADIENT_CASES)
def test_exact_gradients_match_finite_differences(text, values):
    rng = np.random.default_rng(1)
    x = {"params": np.exp(rng.uniform(np.log(1e7), np.log(1e11), 20)), "tokens": np.exp(rng.uniform(18, 27, 20))}
    variables = [v for v in ("params", "tokens") if v in parse_formula(text).names]
    law = Law.from_formula(text, variables)
    if law.basis is None:
        exact = law.formula_grad(x, values)
        for name in law.names:
            numeric = _finite_difference(lambda v: law.predict(x, v), values, name)
            tolerance = 1e-6 * np.max(np.abs(numeric))  # differences lose digits where a term saturates
            np.testing.assert_allclose(exact[name], numeric, rtol=1e-5, atol=tolerance, err_msg=name)
        return
    nl = [p.name for p in law.nonlinear]
    theta = [values[n] for n in nl]
    grad = law.basis_grad(x, theta)  # (n, k, m)
    for j, name in enumerate(nl):
        numeric = _finite_difference(lambda v: law.basis(x, [v[n] for n in nl]), values, name)
        tolerance = 1e-6 * np.max(np.abs(numeric))
        np.testing.assert_allclose(grad[..., j], numeric, rtol=1e-5, atol=tolerance, err_msg=name)
    np.testing.assert_allclose(law.basis(x, theta) @ law.split(values)[0], law.predict(x, values), rtol=1e-14)


def test_the_engine_uses_the_exact_jacobian_of_a_non_separable_formula():
    from workbench.fit import make_problem

    law = Law.from_formula("E + (Nc/params)**alpha", ["params"])
    params = np.geomspace(1e7, 1e11, 12)
    problem = make_problem(law, {"params": params, "loss": 2.0 + params**-0.1}, fixed={"E": 1.5})
    u = problem.pack({"E": 1.5, "Nc": 1e9, "alpha": 0.3})
    pred, jac = problem.batch_predict_jacobian(u[None, :])
    for j in range(u.size):
        h = 1e-6
        up, down = u.copy(), u.copy()
        up[j] += h
        down[j] -= h
        ahead, behind = (law.predict({"params": params}, problem.values(v)) for v in (up, down))
        numeric = (ahead - behind) / (2 * h)
        np.testing.assert_allclose(jac[0, :, j], numeric, rtol=1e-6)


# -- linear parameters -------------------------------------------------------------------------------------------

LINEAR_CASES = [
    ("E + A/params**alpha + B/tokens**beta", ["params", "tokens"], {"E", "A", "B"}),
    ("A*params**-a", ["params"], {"A"}),
    ("A*exp(-k*params)", ["params"], {"A"}),
    ("E*(1 + params**-a)", ["params"], {"E"}),
    ("(A + B)*params**-a", ["params"], {"A", "B"}),
    ("A*params**-a + A*tokens**-b", ["params", "tokens"], {"A"}),
    ("c0 + c1*log(params) + c2*log(params)**2", ["params"], {"c0", "c1", "c2"}),
    ("A*B*params", ["params"], {"A"}),  # not identifiable as a product; one of them is solved, the other scanned
    ("1 + A*params**-a", ["params"], set()),  # a term with no coefficient: not a sum of coefficients x basis
    ("log(A*params)", ["params"], set()),
    ("minimum(A, params)", ["params"], set()),
    ("A*params + A**2", ["params"], set()),
    ("sqrt(A)*params", ["params"], set()),
    ("(Nc/params)**alpha", ["params"], set()),
    (" + ".join(f"a{i}*params**{i}" for i in range(1, 10)), ["params"], set()),  # more than 8: multi-start
    # a product of 12 sums: verifying the split must not expand it (2^12 terms; 2^20 hung an earlier version)
    (" * ".join(f"(params + d{i}**2)" for i in range(12)) + " * A + A", ["params"], {"A"}),
]


@pytest.mark.parametrize("text, variables, expected", LINEAR_CASES)
def test_linear_parameters_are_detected_exactly(text, variables, expected):
    law = Law.from_formula(text, variables)
    assert {p.name for p in law.linear} == expected
    assert (law.basis is not None) == bool(expected)


def test_a_linear_split_reproduces_the_expression():
    parsed = parse_formula("E + A*exp(-k*tokens) + B/params**a", ["params", "tokens"])
    symbols = {s.name: s for s in parsed.expression.free_symbols}
    split = linear_split(parsed.expression, [symbols[n] for n in ("E", "A", "k", "B", "a")])
    assert {c.name for c in split} == {"E", "A", "B"}
    rebuilt = sum(c * f for c, f in split.items())
    assert (rebuilt - parsed.expression).expand() == 0
    assert all(not (f.free_symbols & set(split)) for f in split.values())


# -- defaults, bounds, fix, tie ------------------------------------------------------------------------------------


def test_default_bounds_and_grids_are_documented_ones():
    law = Law.from_formula("E + A*(params/Nc)**-alpha + maximum(tokens, c)**-b", ["params", "tokens"])
    assert (law.parameter("E").lower, law.parameter("E").upper) == (0.0, 1e30)
    assert (law.parameter("alpha").lower, law.parameter("alpha").upper) == (0.0, 3.0)
    nc = law.parameter("Nc")
    assert nc.log_scale and nc.grid_over == "params" and nc.lower == 0.0
    assert law.parameter("c").grid_over == "tokens"


def test_bounds_override_the_defaults_and_the_grid_follows_them():
    law = typed_chinchilla(bounds={"alpha": (0.5, 0.9), "E": (1.0, 2.0)})
    alpha = law.parameter("alpha")
    assert (alpha.lower, alpha.upper) == (0.5, 0.9)
    assert min(alpha.grid) > 0.5 and max(alpha.grid) < 0.9
    assert (law.parameter("E").lower, law.parameter("E").upper) == (1.0, 2.0)
    wide = typed_chinchilla(bounds={"alpha": (0.01, 2.0)})  # holds the default grid: it keeps it
    assert wide.parameter("alpha").grid == typed_chinchilla().parameter("alpha").grid


def test_a_bound_that_excludes_the_optimum_holds_and_is_flagged():
    data = synthetic_grid(HOFFMANN)
    result = fit(typed_chinchilla(bounds={"alpha": (0.4, 1.0)}), data)
    assert result.params["alpha"] == pytest.approx(0.4, abs=1e-9)
    assert any(f.parameter == "alpha" for f in result.flags)


@pytest.mark.parametrize(
    "bounds, fragment",
    [
        ({"zeta": (0, 1)}, "no parameter 'zeta'"),
        ({"params": (0, 1)}, "is a variable"),
        ({"alpha": (1, 0)}, "low < high"),
        ({"alpha": (0, float("inf"))}, "finite"),
        ({"alpha": "ab"}, "two numbers"),
    ],
)
def test_bad_bounds_are_one_line_errors(bounds, fragment):
    with pytest.raises(WorkbenchError, match=fragment):
        typed_chinchilla(bounds=bounds)


def test_fix_pins_a_parameter_and_the_others_are_recovered():
    data = synthetic_grid(HOFFMANN)
    result = fit(typed_chinchilla(), data, fixed={"E": HOFFMANN["E"]})
    assert result.params["E"] == HOFFMANN["E"]
    assert relative_difference(result.params, HOFFMANN) <= 1e-6


def test_fix_in_a_non_separable_formula():
    law = Law.from_formula("E + (Nc/params)**alpha", ["params"])
    params = np.geomspace(1e7, 1e11, 30)
    truth = {"E": 1.7, "Nc": 8.8e9, "alpha": 0.3}
    result = fit(law, {"params": params, "loss": law.predict({"params": params}, truth)}, fixed={"alpha": 0.3})
    assert result.params["alpha"] == 0.3
    assert relative_difference(result.params, truth) <= 1e-6


def test_tie_makes_two_exponents_one():
    truth = {**HOFFMANN, "beta": HOFFMANN["alpha"]}
    data = synthetic_grid(truth)
    result = fit(typed_chinchilla(), data, tie=["beta=alpha"])
    assert result.params["beta"] == result.params["alpha"]
    assert relative_difference(result.params, truth) <= 1e-6


def test_a_tie_between_a_linear_and_a_nonlinear_parameter_is_refused():
    with pytest.raises(WorkbenchError, match="linear coefficient"):
        fit(typed_chinchilla(), synthetic_grid(HOFFMANN), tie=["alpha=A"])


# -- bootstrap, holdout, predict ------------------------------------------------------------------------------------


def test_the_bootstrap_of_the_typed_law_matches_the_registered_one(epoch_points):
    typed = fit(typed_chinchilla(), epoch_points).bootstrap(draws=40, seed=3)
    registered = fit(CHINCHILLA, epoch_points).bootstrap(draws=40, seed=3)
    for name in registered.ci:
        np.testing.assert_allclose(typed.ci[name], registered.ci[name], rtol=1e-4)


def test_the_bootstrap_of_a_non_separable_formula_brackets_its_estimate():
    law = Law.from_formula("E + (Nc/params)**alpha", ["params"])
    rng = np.random.default_rng(0)
    params = np.geomspace(1e7, 1e11, 24)
    loss = law.predict({"params": params}, {"E": 1.7, "Nc": 8.8e9, "alpha": 0.3}) * np.exp(rng.normal(0, 0.005, 24))
    result = fit(law, {"params": params, "loss": loss}).bootstrap(draws=20, seed=0)
    for name, (lo, hi) in result.ci.items():
        assert lo <= result.params[name] <= hi, name


def test_a_holdout_backtest_of_the_typed_law_matches_the_registered_one(epoch_points):
    typed = backtest(typed_chinchilla(), epoch_points, "params>2e9")
    registered = backtest(CHINCHILLA, epoch_points, "params>2e9")
    assert typed.n_test == registered.n_test > 0
    assert typed.to_dict()["mae_log"] == pytest.approx(registered.to_dict()["mae_log"], rel=1e-5)


def test_cli_formula_json_has_the_registered_keys_and_the_formula_names(capsys):
    argv = ["--data", "chinchilla_epoch", "--predict", "7e10:1.4e12", "--bootstrap", "20", "--json"]
    code, out, err = run(capsys, "fit", "--law", "chinchilla", *argv)
    assert code == 0, err
    registered = json.loads(out)
    code, out, err = run(capsys, "fit", "--formula", CHINCHILLA_TEXT, *argv)
    assert code == 0, err
    typed = json.loads(out)
    assert set(typed) == set(registered)
    assert set(typed["data"]) == set(registered["data"])
    assert list(typed["params"]) == ["E", "A", "alpha", "B", "beta"]
    assert typed["data"]["predict_order"] == ["params", "tokens"]
    assert relative_difference(typed["params"], registered["params"]) <= 1e-6
    (p,) = typed["predictions"]
    assert (p["params"], p["tokens"]) == (7e10, 1.4e12)
    assert p["loss"] == pytest.approx(registered["predictions"][0]["loss"], rel=1e-6)
    assert set(typed["ci"]) == set(typed["params"])


def test_cli_predict_follows_the_formula_order_of_variables(capsys, tmp_path):
    """``tokens`` comes first in this formula, so ``--predict`` takes tokens:params."""
    data = synthetic_grid(HOFFMANN)
    path = tmp_path / "runs.csv"
    rows = [f"{float(n)!r},{float(d)!r},{float(y)!r}" for n, d, y in zip(data["params"], data["tokens"], data["loss"])]
    path.write_text("N,D,loss\n" + "\n".join(rows) + "\n")  # aliases of params and tokens
    text = "E + B/tokens**beta + A/params**alpha"
    code, out, err = run(capsys, "fit", "--formula", text, "--data", str(path), "--predict", "2e10:1e9", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["data"]["predict_order"] == ["tokens", "params"]
    (p,) = res["predictions"]
    assert (p["tokens"], p["params"]) == (2e10, 1e9)
    truth = 1.6934 + 406.40 / 1e9**0.33917084 + 410.72 / 2e10**0.2849083
    assert p["loss"] == pytest.approx(truth, rel=1e-6)


def test_cli_formula_with_fix_tie_bound_and_holdout(capsys):
    code, out, err = run(
        capsys,
        "fit",
        "--formula",
        CHINCHILLA_TEXT,
        "--data",
        "chinchilla_epoch",
        "--fix",
        "E=1.8",
        "--tie",
        "beta=alpha",
        "--bound",
        "alpha=0.1:0.5",
        "--holdout",
        "params>5e9",
        "--json",
    )
    assert code == 0, err
    res = json.loads(out)
    assert res["params"]["E"] == 1.8 and res["params"]["beta"] == res["params"]["alpha"]
    assert 0.1 <= res["params"]["alpha"] <= 0.5
    assert res["backtest"]["n_test"] > 0 and res["backtest"]["params"]["E"] == 1.8


def test_cli_text_output_names_the_formula(capsys):
    code, out, err = run(capsys, "fit", "--formula", "E + A/params**alpha", "--data", "chinchilla_epoch")
    assert code == 0, err
    assert "formula E + A/params**alpha" in out and "alpha =" in out


def test_formula_variables_are_the_data_columns_it_names():
    assert formula_variables(CHINCHILLA_TEXT, ["params", "tokens", "loss"]) == ("params", "tokens")
    assert formula_variables(CHINCHILLA_TEXT, ["N", "D", "loss"]) == ("params", "tokens")  # aliases
    assert formula_variables("E + A/tokens**b", ["params", "tokens", "loss"]) == ("tokens",)
    assert formula_variables("E + A/tokens**b", ["params", "flops", "loss"]) == ("tokens",)  # an axis: a variable
    with pytest.raises(WorkbenchError, match="none of the data's columns"):
        formula_variables("E + A/x**b", ["params", "loss"])
    with pytest.raises(WorkbenchError, match="target column"):
        formula_variables("loss + A/params**b", ["params", "loss"])


def test_python_api_refusals():
    with pytest.raises(WorkbenchError, match="does not use the variable"):
        Law.from_formula("E + A/params**a", ["params", "tokens"])
    with pytest.raises(WorkbenchError, match="at least one variable"):
        Law.from_formula("E + A", [])
    with pytest.raises(WorkbenchError, match="cancel"):
        Law.from_formula("E + params - params", ["params"])
    with pytest.raises(WorkbenchError, match="its own target"):
        Law.from_formula("loss*A + params", ["params"])


def test_latex_is_printed_from_the_formula():
    law = typed_chinchilla()
    n_term, d_term = r"\frac{A}{{\mathrm{params}}^{\alpha}}", r"\frac{B}{{\mathrm{tokens}}^{\beta}}"
    assert law.latex == rf"\mathrm{{loss}} = E + {n_term} + {d_term}"
    assert name_latex("x0") == "x_{0}" and name_latex("N_c") == "N_{c}" and name_latex("beta") == r"\beta"


# -- TOML law files ---------------------------------------------------------------------------------------------------


def test_the_example_law_file_loads_with_its_preset():
    law = resolve_law(str(LAW_FILE))
    preset = law.preset("hoffmann2022")
    assert preset.origin == "printed" and preset.label == "published"
    assert dict(preset.values) == dict(CHINCHILLA.preset("hoffmann2022").values)
    assert law.latex.startswith("L(N, D) = E +")
    cols = {"params": np.array([7e10]), "tokens": np.array([1.4e12])}
    np.testing.assert_allclose(law.predict(cols, preset.values), CHINCHILLA.predict(cols, preset.values))


def test_cli_fits_a_law_file(capsys):
    code, out, err = run(capsys, "fit", "--law", str(LAW_FILE), "--data", "chinchilla_epoch", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["law"] == "chinchilla_by_hand" and list(res["params"]) == ["E", "A", "alpha", "B", "beta"]


def test_cli_bound_overrides_a_law_file(capsys):
    code, out, err = run(
        capsys, "fit", "--law", str(LAW_FILE), "--data", "chinchilla_epoch", "--bound", "alpha=0.4:0.6", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["params"]["alpha"] >= 0.4


def _law_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mine.toml"
    path.write_text(text)
    return path


GOOD = 'formula = "E + A/params**alpha"\nvariables = ["params"]\n'


def test_a_minimal_law_file_and_its_defaults(tmp_path):
    law = resolve_law(str(_law_file(tmp_path, 'formula = "E + A/params**alpha + B/tokens**beta"\n')))
    assert law.name == "mine" and law.variables == ("params", "tokens") and law.target == "loss"


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("formula = ", "not valid TOML"),
        ('variables = ["params"]\n', "key 'formula' is missing"),
        (GOOD + "bound = 1\n", "key 'bound' is not a law-file key"),
        ('formula = 3\nvariables = ["params"]\n', "key 'formula' must be non-empty text"),
        ('formula = "E + A/params**alpha"\nvariables = "params"\n', "key 'variables' must be a non-empty list"),
        (GOOD + "[bounds]\nalpha = [2, 1]\n", "key 'bounds.alpha'"),
        (GOOD + "[bounds]\nalpha = [0, 'x']\n", "key 'bounds.alpha'"),
        (GOOD + "[bounds]\nzeta = [0, 1]\n", "no parameter 'zeta'"),
        (GOOD + "[[presets]]\nname = 'p'\ncitation = 'c'\n", "key 'presets[0].values' is missing"),
        (GOOD + "[[presets]]\nname = 'p'\ncitation = 'c'\nvalues = {E = 1.0, A = 2.0}\n", "lacks alpha"),
        (
            GOOD + "[[presets]]\nname = 'p'\ncitation = 'c'\nvalues = {E = 1.0, A = 2.0, alpha = 0.3, q = 1}\n",
            "presets[0].values.q",
        ),
        (
            GOOD + "[[presets]]\nname = 'p'\ncitation = 'c'\norigin = 'published'\nvalues = {E = 1.0}\n",
            "presets[0].origin",
        ),
        (GOOD + "[[presets]]\nname = 'p'\ncitation = 'c'\nvalues = {E = inf}\n", "presets[0].values.E"),
        ('formula = "E + __import__(1)"\nvariables = ["params"]\n', "unknown function '__import__'"),
        ('formula = "E + A"\n', "key 'variables' is missing"),
    ],
)
def test_a_malformed_law_file_is_a_one_line_error_naming_the_file_and_key(tmp_path, capsys, text, fragment):
    path = _law_file(tmp_path, text)
    with pytest.raises(WorkbenchError, match="mine.toml") as info:
        resolve_law(str(path))
    assert fragment in str(info.value) and "\n" not in str(info.value)
    code, out, err = run(capsys, "fit", "--law", str(path), "--data", "chinchilla_epoch")
    assert code == 2 and out == "" and fragment in err and err.count("\n") == 1


def test_a_missing_or_huge_law_file_is_refused(tmp_path, capsys):
    code, _, err = run(capsys, "fit", "--law", str(tmp_path / "absent.toml"), "--data", "chinchilla_epoch")
    assert code == 2 and "no such file" in err
    huge = _law_file(tmp_path, GOOD + "# " + "x" * 200_000 + "\n")
    code, _, err = run(capsys, "fit", "--law", str(huge), "--data", "chinchilla_epoch")
    assert code == 2 and "too large for a law file" in err


def test_a_law_file_preset_defaults_to_secondhand_and_names_the_file(tmp_path):
    text = GOOD + "[[presets]]\nname = 'mine'\ncitation = 'my notes'\nvalues = {E = 1.0, A = 2.0, alpha = 0.3}\n"
    preset = resolve_law(str(_law_file(tmp_path, text))).preset("mine")
    assert preset.origin == "secondhand" and preset.label != "published" and "mine.toml" in preset.locator


def test_resolve_law_still_finds_registered_laws_and_refuses_their_bounds():
    assert resolve_law("chinchilla") is CHINCHILLA
    with pytest.raises(WorkbenchError, match="registered law"):
        resolve_law("chinchilla", bounds={"alpha": (0, 1)})
    with pytest.raises(WorkbenchError, match="unknown law"):
        resolve_law("no_such_law")


def test_the_readme_example_prints_what_its_comments_say(capsys, monkeypatch):
    import re

    monkeypatch.chdir(ROOT)  # the example names the law file by its path in the checkout
    text = (ROOT / "README.md").read_text()
    (code,) = [b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S) if "from_formula" in b]
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert out == re.findall(r"^# (.+)$", code, flags=re.M)


def test_cli_names_a_missing_axis_column_instead_of_fitting_it_as_a_parameter(capsys, tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("params,loss\n1e8,3.5\n3e8,3.1\n1e9,2.8\n3e9,2.6\n")
    code, out, err = run(capsys, "fit", "--formula", "E + A/params**a + B/tokens**b", "--data", str(path))
    assert code == 2 and "missing column 'tokens'" in err and err.count("\n") == 1
