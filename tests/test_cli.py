"""The CLI contract: JSON keys, predictions, bootstrap, and one-line errors with exit 2."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, synthetic_grid

from workbench.cli import main

# Hoffmann et al.'s unrounded Approach 3 constants, spelled out so the synthetic
# data do not depend on which preset carries them.
HOFFMANN = {"E": 1.6934, "A": 406.40, "B": 410.72, "alpha": 0.33917084, "beta": 0.2849083}


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def good_csv(tmp_path):
    data = synthetic_grid(HOFFMANN)
    path = tmp_path / "runs.csv"
    lines = ["params,tokens,loss"] + [
        f"{float(n)!r},{float(d)!r},{float(y)!r}" for n, d, y in zip(data["params"], data["tokens"], data["loss"])
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_json_contract_on_a_file(capsys, good_csv):
    code, out, err = run(
        capsys,
        "fit",
        "--law",
        "chinchilla",
        "--data",
        str(good_csv),
        "--predict",
        "1e9:2e10",
        "--predict",
        "7e10:1.4e12",
        "--json",
    )
    assert code == 0, err
    res = json.loads(out)
    for key in ("law", "params", "objective", "fit_seconds", "n_points", "predictions", "warnings"):
        assert key in res
    assert res["law"] == "chinchilla"
    assert set(res["params"]) == {"E", "A", "B", "alpha", "beta"}
    assert res["n_points"] == 42
    assert 0 < res["fit_seconds"] < 60
    assert "ci" not in res
    for got, want in zip(res["params"].values(), HOFFMANN.values()):
        assert got == pytest.approx(want, rel=1e-6)
    p0, p1 = res["predictions"]
    assert (p0["params"], p0["tokens"]) == (1e9, 2e10)
    truth = 1.6934 + 406.40 / 1e9**0.33917084 + 410.72 / 2e10**0.2849083
    assert p0["loss"] == pytest.approx(truth, rel=1e-6)
    assert not p0["extrapolates"] and p1["extrapolates"]


def test_corpus_source_and_bootstrap(capsys):
    code, out, err = run(
        capsys, "fit", "--law", "chinchilla", "--data", "chinchilla_epoch", "--bootstrap", "30", "--json"
    )
    assert code == 0, err
    res = json.loads(out)
    assert res["n_points"] == 245
    data = res["data"]
    assert (data["source"], data["subset"], data["rows_fitted"], data["rows_in_source"]) == (
        "chinchilla_epoch",
        None,
        245,
        245,
    )
    assert data["subsets"]["besiroglu2024"]["rows"] == 240
    for name, (lo, hi) in res["ci"].items():
        assert lo <= res["params"][name] <= hi
    assert set(res["warnings"]) >= {f["message"] for f in res["flags"]}  # bootstrap flags reach the warnings


def test_aliases_and_tokens_from_flops(capsys, tmp_path):
    data = synthetic_grid(HOFFMANN)
    path = tmp_path / "aliases.csv"
    rows = [
        f"{float(n)!r},{float(6 * n * d)!r},{float(y)!r}"
        for n, d, y in zip(data["params"], data["tokens"], data["loss"])
    ]
    path.write_text("N,C,L\n" + "\n".join(rows) + "\n")
    code, out, err = run(capsys, "fit", "--law", "chinchilla", "--data", str(path), "--json")
    assert code == 0, err
    res = json.loads(out)
    assert "tokens derived as flops / (6 * params)" in res["warnings"]
    assert res["params"]["alpha"] == pytest.approx(0.33917084, rel=1e-6)


def test_human_readable_output(capsys, good_csv):
    code, out, _ = run(capsys, "fit", "--law", "chinchilla", "--data", str(good_csv), "--predict", "1e9:2e10")
    assert code == 0
    assert "alpha" in out and "interpolates" in out


BAD_INPUTS = {
    "missing column": ("params,loss\n1e9,2.5\n", "missing column 'tokens'"),
    "non-numeric value": (
        "params,tokens,loss\n1e9,2e10,2.5\n1e9,abc,2.4\n",
        "column 'tokens' row 2: 'abc' is not a valid number",
    ),
    "NaN": ("params,tokens,loss\n1e9,2e10,2.5\n1e9,3e10,NaN\n", "column 'loss' row 2: nan is not a finite number"),
    "empty cell": ("params,tokens,loss\n1e9,2e10,2.5\n1e9,,2.4\n", "column 'tokens' row 2: missing value"),
    "zero": ("params,tokens,loss\n1e9,2e10,2.5\n0,3e10,2.4\n", "column 'params' row 2: value 0.0 must be positive"),
    "negative": (
        "params,tokens,loss\n1e9,2e10,2.5\n1e9,3e10,-2.4\n",
        "column 'loss' row 2: value -2.4 must be positive",
    ),
    "too few points": (
        "params,tokens,loss\n1e9,2e10,2.5\n2e9,3e10,2.4\n",
        "2 data points cannot determine the 5 free parameters",
    ),
    "empty file": ("", "the file is empty"),
    "header only": ("params,tokens,loss\n", "has a header but no data rows"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_one_clear_line_and_exit_2(capsys, tmp_path, case):
    text, message = BAD_INPUTS[case]
    path = tmp_path / "bad.csv"
    path.write_text(text)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    code, out, err = run(capsys, "fit", "--law", "chinchilla", "--data", str(path), "--json")
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert message in err
    assert str(path) in err or "data points" in err
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before  # user files are never modified


def test_unreadable_paths(capsys, tmp_path):
    code, _, err = run(capsys, "fit", "--law", "chinchilla", "--data", str(tmp_path / "nope.csv"))
    assert code == 2 and "no such file" in err
    code, _, err = run(capsys, "fit", "--law", "chinchilla", "--data", str(tmp_path))
    assert code == 2 and "is a directory" in err
    code, _, err = run(capsys, "fit", "--law", "chinchilla", "--data", "not_a_source")
    assert code == 2 and "not a corpus source id" in err


def test_bad_requests(capsys, good_csv):
    code, _, err = run(capsys, "fit", "--law", "kaplan9", "--data", str(good_csv))
    assert code == 2 and "unknown law 'kaplan9'" in err
    code, _, err = run(capsys, "fit", "--law", "chinchilla", "--data", str(good_csv), "--predict", "1e9")
    assert code == 2 and "expected 2 values" in err
    code, _, err = run(capsys, "fit", "--law", "chinchilla", "--data", str(good_csv), "--predict", "1e9:-5")
    assert code == 2 and "must be a positive" in err


def test_module_entry_point_has_no_traceback(tmp_path):
    """Through ``python -m workbench`` as a user runs it: exit 2, one line, no traceback."""
    bad = tmp_path / "bad.csv"
    bad.write_text("params,tokens,loss\n1e9,2e10,oops\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "workbench", "fit", "--law", "chinchilla", "--data", str(bad), "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip() == f"error: {bad}: column 'loss' row 1: 'oops' is not a valid number"
    ok = subprocess.run(
        [sys.executable, "-m", "workbench", "fit", "--law", "chinchilla", "--data", "chinchilla_epoch", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["params"]["alpha"] == pytest.approx(0.3493, abs=1e-3)


def test_list_laws(capsys):
    code, out, _ = run(capsys, "fit", "--list-laws", "--json")
    assert code == 0
    names = {row["name"] for row in json.loads(out)}
    assert {"chinchilla", "power_offset_params"} <= names


def test_fix_tie_and_holdout(capsys):
    code, out, err = run(
        capsys,
        "fit",
        "--law",
        "chinchilla",
        "--data",
        "chinchilla_epoch",
        "--fix",
        "E=1.69",
        "--tie",
        "beta=alpha",
        "--holdout",
        "flops>1e21",
        "--json",
    )
    assert code == 0, err
    res = json.loads(out)
    assert res["params"]["E"] == 1.69
    assert res["params"]["alpha"] == res["params"]["beta"]
    bt = res["backtest"]
    assert bt["n_train"] + bt["n_test"] == res["n_points"] and bt["n_test"] > 0
    for key in (
        "mae_log",
        "rmse_log",
        "mean_abs_pct",
        "bias_log",
        "max_decades_beyond_data",
        "outside_hull_share",
        "params",
    ):
        assert key in bt
    assert bt["params"]["E"] == 1.69


def test_one_set_of_options_reaches_the_fit_its_bootstrap_and_its_backtest(capsys):
    """--fix, --tie, --loss and --residuals are built into one FitOptions: the bootstrap and the backtest obey them."""
    from workbench.cli import _fit_options, build_parser
    from workbench.fit import FitOptions
    from workbench.laws import CHINCHILLA

    argv = [
        "fit",
        "--law",
        "chinchilla",
        "--data",
        "chinchilla_epoch",
        "--fix",
        "E=1.69",
        "--tie",
        "beta=alpha",
        "--loss",
        "squared",
        "--holdout",
        "flops>1e21",
        "--bootstrap",
        "20",
    ]
    assert _fit_options(build_parser().parse_args(argv), CHINCHILLA) == FitOptions(
        loss="squared", fixed={"E": 1.69}, tie=["beta=alpha"]
    )
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["loss"] == "squared" and res["ci"]["E"] == [1.69, 1.69] and res["ci"]["beta"] == res["ci"]["alpha"]
    bt = res["backtest"]["params"]
    assert bt["E"] == 1.69 and bt["beta"] == bt["alpha"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--fix", "E"], "must look like 'E=1.69'"),
        (["--fix", "Q=1"], "has no parameter 'Q'"),
        (["--fix", "E=-3"], "outside its bounds"),
        (["--tie", "beta=beta"], "cannot tie beta to itself"),
        (["--tie", "A=alpha"], "one is a linear coefficient"),
        (["--fix", "alpha=0.3", "--tie", "beta=alpha"], "which is fixed"),
        (["--holdout", "flops>1e30"], "selects no rows"),
        (["--holdout", "flops=1"], "cannot read"),
    ],
)
def test_impossible_constraints_are_clear_errors(capsys, argv, message):
    code, out, err = run(capsys, "fit", "--law", "chinchilla", "--data", "chinchilla_epoch", *argv)
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1


def test_sources_json_lists_every_source_with_provenance(capsys):
    code, out, _ = run(capsys, "sources", "--json")
    assert code == 0
    rows = json.loads(out)
    assert len(rows) >= 15
    for r in rows:
        assert r["rows"] > 0 and r["licence"] and r["citation"] and r["how_obtained"]


def test_hub_pull_offline_is_fast_and_says_what_to_do(capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, out, err = run(capsys, "hub", "pull", "someone/runs", "--revision", "main")
    assert code == 2 and out == ""
    assert "HF_HUB_OFFLINE" in err and err.count("\n") == 1


def test_output_piped_into_head_is_not_a_traceback():
    """`python -m workbench sources | head -1`: the reader stops early; the CLI must exit quietly."""
    import subprocess
    import sys

    proc = subprocess.run(
        f"{sys.executable} -m workbench fit --list-laws | head -1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.stdout.count("\n") == 1
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr


def test_bootstrapped_predictions_carry_their_interval(capsys):
    code, out, _ = run(
        capsys,
        "fit",
        "--law",
        "chinchilla",
        "--data",
        "chinchilla_epoch",
        "--predict",
        "7e10:1.4e12",
        "--bootstrap",
        "100",
        "--json",
    )
    (pred,) = json.loads(out)["predictions"]
    assert code == 0 and pred["ci"][0] < pred["loss"] < pred["ci"][1]
    code, out, _ = run(
        capsys, "fit", "--law", "chinchilla", "--data", "chinchilla_epoch", "--predict", "7e10:1.4e12", "--json"
    )
    assert "ci" not in json.loads(out)["predictions"][0]


# -- which points, and how far to trust the fit ------------------------------------------------


def _csv(path, rows: dict) -> str:
    names = list(rows)
    lines = [",".join(names)] + [",".join(repr(float(v)) for v in vals) for vals in zip(*rows.values())]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_a_constant_at_its_bound_is_marked_and_every_prediction_says_so(capsys, tmp_path):
    """No irreducible loss in the data: E ends at 0, the listing marks it, the prediction carries it."""
    n, d = np.meshgrid(np.geomspace(1e7, 1e11, 6), np.geomspace(1e8, 1e12, 7))
    rows = {"params": n.ravel(), "tokens": d.ravel()}
    rows["loss"] = 400.0 * rows["params"] ** -0.34 + 400.0 * rows["tokens"] ** -0.28
    path = _csv(tmp_path / "no_offset.csv", rows)
    code, out, err = run(capsys, "fit", "--law", "chinchilla", "--data", path, "--predict", "7e10:1.4e12")
    assert code == 0, err
    (e_line,) = [line for line in out.splitlines() if line.strip().startswith("E =")]
    assert e_line.endswith("<- at its lower bound 0")
    (pred,) = [line for line in out.splitlines() if "predict" in line]
    assert pred.endswith("(caution: fit has warnings: E at its lower bound 0)")
    assert "warning: E ended at its lower bound 0" in out
    code, out, err = run(capsys, "fit", "--law", "chinchilla", "--data", path, "--predict", "7e10:1.4e12", "--json")
    res = json.loads(out)
    assert [(f["kind"], f["parameter"]) for f in res["flags"]] == [("at_bound", "E")]
    assert res["flags"][0]["message"] in res["warnings"]
    assert res["predictions"][0]["warnings"] == ["E at its lower bound 0"]
    assert res["data"]["file"] == path and res["data"]["rows_fitted"] == 42


def test_bootstrap_warnings_reach_the_text_and_the_json(capsys, tmp_path):
    """Six noisy points over two decades cannot pin down A: the bootstrap says so, in both outputs."""
    rng = np.random.default_rng(1)
    x = np.geomspace(1e7, 1e9, 6)
    path = _csv(tmp_path / "few.csv", {"params": x, "loss": (2.0 + 400.0 * x**-0.3) * np.exp(rng.normal(0, 0.01, 6))})
    args = ["fit", "--law", "power_offset_params", "--data", path, "--predict", "1e11", "--bootstrap", "200"]
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    res = json.loads(out)
    (flag,) = [f for f in res["flags"] if f["parameter"] == "A"]
    assert flag["kind"] == "poorly_identified" and flag["stage"] == "bootstrap"
    assert flag["message"].startswith("A is poorly identified: its 95% bootstrap interval ")
    assert flag["message"] in res["warnings"]
    assert "A poorly identified" in res["predictions"][0]["warnings"]
    lo, hi = res["ci"]["A"]
    assert hi / lo > 10
    code, out, _ = run(capsys, *args)
    (a_line,) = [line for line in out.splitlines() if line.strip().startswith("A =")]
    assert "95% CI" in a_line and a_line.endswith("<- poorly identified")
    assert "A poorly identified" in [line for line in out.splitlines() if "predict" in line][0]


def test_fixed_parameters_are_never_marked(capsys, tmp_path):
    rng = np.random.default_rng(1)
    x = np.geomspace(1e7, 1e9, 6)
    path = _csv(tmp_path / "few.csv", {"params": x, "loss": 400.0 * x**-0.3 * np.exp(rng.normal(0, 0.01, 6))})
    code, out, err = run(
        capsys, "fit", "--law", "power_offset_params", "--data", path, "--fix", "E=0", "--bootstrap", "50", "--json"
    )
    assert code == 0, err
    assert all(f["parameter"] != "E" for f in json.loads(out)["flags"])


def test_a_named_subset_is_fitted_and_reported(capsys):
    code, out, err = run(capsys, "fit", "--law", "chinchilla", "--data", "chinchilla_epoch:besiroglu2024")
    assert code == 0, err
    assert (
        "data: chinchilla_epoch, subset besiroglu2024: 240 of 245 points "
        "(the 5 highest-loss points dropped, as Besiroglu et al. 2024)"
    ) in out.splitlines()
    code, out, err = run(capsys, "fit", "--law", "chinchilla", "--data", "chinchilla_epoch:besiroglu2024", "--json")
    res = json.loads(out)
    assert res["n_points"] == 240
    assert {k: res["data"][k] for k in ("source", "subset", "rows_fitted", "rows_in_source", "subset_rule")} == {
        "source": "chinchilla_epoch",
        "subset": "besiroglu2024",
        "rows_fitted": 240,
        "rows_in_source": 245,
        "subset_rule": "the 5 highest-loss points dropped",
    }
    assert res["params"]["beta"] == pytest.approx(0.3672, abs=1e-3)  # Besiroglu et al.'s fit, not the 245-point one


def test_all_points_of_a_source_with_subsets_says_what_the_paper_fitted(capsys):
    code, out, err = run(capsys, "fit", "--law", "chinchilla", "--data", "chinchilla_epoch")
    assert code == 0, err
    assert (
        "data: chinchilla_epoch: all 245 points; Besiroglu et al. 2024 fitted 240 (use chinchilla_epoch:besiroglu2024)"
    ) in out.splitlines()


@pytest.mark.parametrize(
    "spec, message",
    [
        (
            "chinchilla_epoch:besiroglu",
            "corpus source 'chinchilla_epoch' has no subset 'besiroglu' (known: besiroglu2024)",
        ),
        ("gadre_overtraining:besiroglu2024", "corpus source 'gadre_overtraining' has no subsets"),
        ("nope:besiroglu2024", "not a corpus source id"),
    ],
)
def test_a_bad_subset_is_one_line_and_exit_2(capsys, spec, message):
    code, out, err = run(capsys, "fit", "--law", "chinchilla", "--data", spec)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err


def test_sources_lists_subsets(capsys):
    code, out, _ = run(capsys, "sources")
    assert code == 0
    assert (
        "    subset chinchilla_epoch:besiroglu2024: 240 of 245 points, the 5 highest-loss points dropped, "
        "as Besiroglu et al. 2024 (arXiv:2404.10102"
    ) in out
    code, out, _ = run(capsys, "sources", "--json")
    rows = {r["id"]: r for r in json.loads(out)}
    (sub,) = rows["chinchilla_epoch"]["subsets"]
    assert (sub["data"], sub["rows"], sub["of"]) == ("chinchilla_epoch:besiroglu2024", 240, 245)
    assert rows["gadre_overtraining"]["subsets"] == []
