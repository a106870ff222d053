"""Per-group fits: coefficients per group, exponents shared, through the one engine."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.errors import WorkbenchError
from workbench.fit import fit, make_problem
from workbench.fit.bootstrap import bootstrap
from workbench.fit.starts import column_blocks
from workbench.laws import CHINCHILLA, get_law
from workbench.laws.grouped import group_code, grouped, per_group

ALPHA, BETA = 0.34, 0.28
TRUTH = {"c4": (1.8, 400.0, 2000.0), "rp": (1.6, 500.0, 1500.0), "rw": (1.9, 300.0, 2500.0)}


def _frame(truth=TRUTH, n=30, noise=0.0, seed=0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for g, (e, a, b) in truth.items():
        n_ = 10 ** rng.uniform(7, 10, n)
        d = 10 ** rng.uniform(9, 12, n)
        loss = (e + a / n_**ALPHA + b / d**BETA) * np.exp(rng.normal(0.0, noise, n))
        frames.append(pl.DataFrame({"params": n_, "tokens": d, "loss": loss, "dataset": g}))
    return pl.concat(frames)


def test_noiseless_groups_are_recovered_exactly():
    law, data, names = grouped(CHINCHILLA, _frame(), "dataset")
    assert names == ("c4", "rp", "rw")
    assert law.names == tuple(f"{p}[{g}]" for g in names for p in "EAB") + ("alpha", "beta")
    res = fit(law, data)
    for g, (e, a, b) in TRUTH.items():
        np.testing.assert_allclose(
            [res.params[f"E[{g}]"], res.params[f"A[{g}]"], res.params[f"B[{g}]"]], [e, a, b], rtol=1e-6
        )
    np.testing.assert_allclose([res.params["alpha"], res.params["beta"]], [ALPHA, BETA], rtol=1e-6)
    assert res.warnings == ()


@settings(max_examples=12, deadline=None)
@given(groups=st.integers(1, 4), seed=st.integers(0, 10_000))
def test_recovery_for_any_number_of_groups(groups, seed):
    rng = np.random.default_rng(seed)
    truth = {f"g{i}": (rng.uniform(1.5, 2.5), rng.uniform(100, 800), rng.uniform(500, 3000)) for i in range(groups)}
    law, data, _ = grouped(CHINCHILLA, _frame(truth, n=20, seed=seed), "dataset")
    res = fit(law, data)
    for g, (e, _, _) in truth.items():
        assert res.params[f"E[{g}]"] == pytest.approx(e, rel=1e-5)
    assert res.params["alpha"] == pytest.approx(ALPHA, rel=1e-5)


def test_one_group_is_the_ordinary_fit():
    df = _frame({"only": TRUTH["c4"]}, noise=0.01, seed=3)
    plain = fit(CHINCHILLA, df)
    law, data, _ = grouped(CHINCHILLA, df, "dataset")
    one = fit(law, data)
    assert one.objective == pytest.approx(plain.objective, rel=1e-9)
    for name in ("E", "A", "B"):
        assert one.params[f"{name}[only]"] == pytest.approx(plain.params[name], rel=1e-5)


def test_the_engine_solves_each_group_as_its_own_block():
    law, data, _ = grouped(CHINCHILLA, _frame(), "dataset")
    problem = make_problem(law, data)
    basis = law.basis(problem.cols, [np.array(ALPHA), np.array(BETA)])
    assert column_blocks(basis[None]) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    plain = make_problem(CHINCHILLA, _frame())
    assert column_blocks(CHINCHILLA.basis(plain.cols, [np.array(ALPHA), np.array(BETA)])[None]) == [[0, 1, 2]]


def test_ties_and_fixes_cross_groups():
    truth = {"c4": (1.8, 400.0, 2000.0), "rp": (1.6, 400.0, 1500.0)}  # the same A in both groups
    law, data, _ = grouped(CHINCHILLA, _frame(truth), "dataset")
    res = fit(law, data, tie=["A[rp]=A[c4]"], fixed={"E[c4]": 1.8})
    assert res.params["A[rp]"] == res.params["A[c4]"] == pytest.approx(400.0, rel=1e-6)
    assert res.params["E[rp]"] == pytest.approx(1.6, rel=1e-6)


def test_bootstrap_intervals_cover_the_shared_exponents():
    law, data, _ = grouped(CHINCHILLA, _frame(noise=0.003, seed=5), "dataset")
    problem = make_problem(law, data)
    res, draws = bootstrap(problem, fit(law, data), draws=200, seed=0)
    assert res.ci["alpha"][0] < ALPHA < res.ci["alpha"][1]
    assert res.ci["beta"][0] < BETA < res.ci["beta"][1]


def test_predictions_name_their_group_and_reject_unknown_codes():
    law, data, names = grouped(CHINCHILLA, _frame(), "dataset")
    res = fit(law, data)
    (p,) = res.predictions([{"params": 1e9, "tokens": 1e11, "group": group_code(names, "rp")}])
    e, a, b = TRUTH["rp"]
    assert p.value == pytest.approx(e + a / 1e9**ALPHA + b / 1e11**BETA, rel=1e-6)
    assert not p.extrapolates
    with pytest.raises(WorkbenchError, match="unknown group 'zz'"):
        group_code(names, "zz")
    with pytest.raises(WorkbenchError, match="not a group code"):
        res.predict({"params": np.array([1e9]), "tokens": np.array([1e11]), "group": np.array([7.0])})


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: per_group(get_law("kaplan_nd"), ["a", "b"]), "not separable"),
        (lambda: per_group(CHINCHILLA, ["a", "a"]), "distinct"),
        (lambda: per_group(CHINCHILLA, []), "at least one group"),
        (lambda: per_group(CHINCHILLA, ["a"], column="params"), "already a column"),
        (lambda: grouped(CHINCHILLA, _frame(), "nope"), "no column 'nope'"),
        (
            lambda: grouped(CHINCHILLA, _frame().with_columns(pl.lit(None, pl.String).alias("dataset")), "dataset"),
            "no group at row 1",
        ),
    ],
)
def test_bad_groupings_are_clear_errors(call, message):
    with pytest.raises(WorkbenchError, match=message):
        call()


def test_cli_per_group(tmp_path, capsys):
    from workbench.cli import main

    path = tmp_path / "runs.csv"
    _frame(noise=0.002, seed=1).rename({"params": "N", "tokens": "D"}).write_csv(path)
    before = path.read_bytes()
    assert (
        main(
            [
                "fit",
                "--law",
                "chinchilla",
                "--data",
                str(path),
                "--per-group",
                "dataset",
                "--predict",
                "7e10:1.4e12:rp",
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["data"]["per_group"] == {"column": "dataset", "groups": ["c4", "rp", "rw"]}
    assert set(out["params"]) == {f"{p}[{g}]" for g in TRUTH for p in "EAB"} | {"alpha", "beta"}
    assert out["params"]["alpha"] == pytest.approx(ALPHA, rel=0.05)
    (pred,) = out["predictions"]
    assert pred["group"] == 1.0 and pred["extrapolates"]
    assert path.read_bytes() == before
    assert (
        main(
            ["fit", "--law", "chinchilla", "--data", str(path), "--per-group", "dataset", "--predict", "7e10:1.4e12:rp"]
        )
        == 0
    )
    assert "group=rp" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--per-group", "nope"], "missing column 'nope'"),
        (["--per-group", "dataset", "--predict", "1e9:1e11:zz"], "unknown group 'zz'"),
        (["--per-group", "dataset", "--fix", "E=1.8"], "has no parameter 'E'"),
    ],
)
def test_cli_per_group_errors_are_one_line(tmp_path, capsys, argv, message):
    from workbench.cli import main

    path = tmp_path / "runs.csv"
    _frame().write_csv(path)
    assert main(["fit", "--law", "chinchilla", "--data", str(path), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_cli_refuses_per_group_for_a_law_without_coefficients(tmp_path, capsys):
    from workbench.cli import main

    path = tmp_path / "runs.csv"
    _frame().write_csv(path)
    assert main(["fit", "--law", "kaplan_nd", "--data", str(path), "--per-group", "dataset"]) == 2
    assert "not separable" in capsys.readouterr().err


def _two(seed, alphas=(ALPHA, ALPHA), n=30):
    rng = np.random.default_rng(seed)
    frames = []
    for g, (e, a, b), alpha in zip(("c4", "rp"), (TRUTH["c4"], TRUTH["rp"]), alphas):
        n_ = 10 ** rng.uniform(7, 10, n)
        d = 10 ** rng.uniform(9, 12, n)
        loss = (e + a / n_**alpha + b / d**BETA) * np.exp(rng.normal(0.0, 0.003, n))
        frames.append(pl.DataFrame({"params": n_, "tokens": d, "loss": loss, "dataset": g}))
    return pl.concat(frames)


def test_shared_exponents_are_preferred_when_true_and_rejected_when_not():
    """AIC's rate of preferring the nested (shared) model when it is true is P(chi2_2 < 4) = 86 %."""
    from workbench.analysis.groups import shared_vs_separate

    same = [shared_vs_separate(CHINCHILLA, _two(seed), "dataset") for seed in range(20)]
    assert np.mean([c.delta_aic > 0 for c in same]) >= 0.7, [c.delta_aic for c in same]
    p_null = np.array([c.f_test[1] for c in same])  # calibrated: about uniform when sharing is true
    assert 0.25 < p_null.mean() < 0.75 and np.mean(p_null < 0.05) <= 0.2, p_null
    differ = [shared_vs_separate(CHINCHILLA, _two(seed, (0.30, 0.40)), "dataset") for seed in range(3)]
    assert all(c.delta_aic < -10 and c.f_test[1] < 1e-6 for c in differ), [c.to_dict() for c in differ]
    c = differ[0]
    assert "strongly prefers separate exponents" in c.verdict
    alpha = c.exponents.filter(pl.col("parameter") == "alpha").row(0, named=True)
    assert alpha["c4"] == pytest.approx(0.30, rel=0.1) and alpha["rp"] == pytest.approx(0.40, rel=0.1)
    assert c.table["free_parameters"].to_list() == [8, 10]


def test_sharing_comparison_refuses_what_it_cannot_compare():
    from workbench.analysis.groups import shared_vs_separate

    with pytest.raises(WorkbenchError, match="one group"):
        shared_vs_separate(CHINCHILLA, _two(0).filter(pl.col("dataset") == "c4"), "dataset")
    tiny = pl.concat([_two(0).filter(pl.col("dataset") == "c4"), _two(0).filter(pl.col("dataset") == "rp").head(4)])
    with pytest.raises(WorkbenchError, match="group 'rp' of column 'dataset' has 4 rows"):
        shared_vs_separate(CHINCHILLA, tiny, "dataset")


def test_cli_per_group_reports_whether_sharing_is_supported(tmp_path, capsys):
    from workbench.cli import main

    path = tmp_path / "runs.csv"
    _two(0, (0.30, 0.40)).write_csv(path)
    assert main(["fit", "--law", "chinchilla", "--data", str(path), "--per-group", "dataset", "--json"]) == 0
    sharing = json.loads(capsys.readouterr().out)["sharing"]
    assert sharing["delta_aic"] < -10 and sharing["loss"] == "squared" and sharing["p_value"] < 1e-6
    assert (
        main(
            [
                "fit",
                "--law",
                "chinchilla",
                "--data",
                str(path),
                "--per-group",
                "dataset",
                "--fix",
                "E[c4]=1.8",
                "--json",
            ]
        )
        == 0
    )
    assert "skipped" in json.loads(capsys.readouterr().out)["sharing"]


def test_group_names_become_valid_latex_subscripts():
    law = per_group(CHINCHILLA, ["paloma_c4", "rp"])
    assert law.parameter("E[paloma_c4]").latex == r"E_{\mathrm{paloma\_c4}}"
    assert all(p.latex.count("{") == p.latex.count("}") for p in law.parameters)
