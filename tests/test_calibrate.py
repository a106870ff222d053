"""Calibrated extrapolation intervals and the backtest scoreboard (workbench.analysis.calibrate, fit --calibrate).

The central property: when the law's form is wrong (a power law fitted to a
ladder whose exponent steepens), the bootstrap interval misses the held-out
larger models, and the interval calibrated by rolling-origin backtests covers
them at close to its nominal rate.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

from workbench.analysis.calibrate import (
    backtest_coverage,
    calibrate,
    calibrated_intervals,
    calibrated_predictions,
    rolling_origin,
    scoreboard,
    size_levels,
)
from workbench.cli import main
from workbench.errors import WorkbenchError
from workbench.fit import fit
from workbench.laws import get_law

POWER = get_law("power_offset_params")
CHINCHILLA = get_law("chinchilla")
KAPLAN_ND = get_law("kaplan_nd")
HOFFMANN = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}


def broken_ladder(seed: int, sigma: float = 0.005) -> dict[str, np.ndarray]:
    """13 sizes, 3 runs each, from a law whose exponent steepens by 0.15 past 3e8: a power law's form error."""
    rng = np.random.default_rng(seed)
    n = np.repeat(np.geomspace(1e7, 1e10, 13), 3)
    truth = 1.7 + 400 * n**-0.34 * (1 + n / 3e8) ** -0.15
    return {"params": n, "loss": truth * np.exp(rng.normal(0, sigma, n.size))}


def split(data: dict[str, np.ndarray], below: float) -> tuple[dict, dict]:
    small = data["params"] < below
    return {k: v[small] for k, v in data.items()}, {k: v[~small] for k, v in data.items()}


def chinchilla_grid(law=CHINCHILLA, values=HOFFMANN, sizes: int = 8, seed: int = 0) -> dict[str, np.ndarray]:
    n, d = np.meshgrid(np.geomspace(1e7, 1e10, sizes), np.geomspace(1e9, 1e11, 4))
    cols = {"params": n.ravel(), "tokens": d.ravel()}
    noise = np.random.default_rng(seed).normal(0, 0.003, n.size)
    return {**cols, "loss": law.predict(cols, values) * np.exp(noise)}


def write_csv(path, data: dict[str, np.ndarray]):
    names = list(data)
    rows = [",".join(names)] + [",".join(repr(float(data[k][i])) for k in names) for i in range(len(data["loss"]))]
    path.write_text("\n".join(rows) + "\n")
    return path


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_calibrated_interval_covers_a_broken_law_where_the_bootstrap_does_not():
    """Fit 10 sizes, predict the 3 larger ones (up to 0.75 decades out), 12 seeds: 108 held-out runs."""
    boot, calibrated = [], []
    for seed in range(12):
        train, test = split(broken_ladder(seed), 2e9)
        result = fit(POWER, train).bootstrap(draws=200, seed=seed)
        cal = calibrate(rolling_origin(POWER, train))
        assert cal.calibrated and cal.level == 0.95
        intervals = calibrated_intervals(result, [{"params": x} for x in test["params"]], cal)
        for pi, y in zip(intervals, test["loss"]):
            assert pi.lo <= pi.bootstrap[0] and pi.hi >= pi.bootstrap[1]  # never narrower than the bootstrap
            boot.append(pi.bootstrap_covers(y))
            calibrated.append(pi.covers(y))
    assert np.mean(boot) < 0.6, np.mean(boot)
    assert np.mean(calibrated) >= 0.88, np.mean(calibrated)


def test_rolling_origin_fits_each_prefix_and_predicts_every_larger_size():
    data = broken_ladder(0)
    errors = rolling_origin(POWER, data)
    levels = np.unique(data["params"])
    assert errors.levels.size == levels.size == 13
    fitted = [o for o in errors.origins if o.error is None]
    assert [o.index for o in fitted] == list(range(2, 12))  # from 3 sizes up to all but the largest
    assert errors.n == sum(o.n_test for o in fitted)
    assert np.all(errors.target > errors.origin)
    assert np.all(errors.decades > 0)
    # decades beyond the fitted range: log10(held-out size / the origin's largest size)
    expected = np.log10(data["params"][errors.row] / errors.levels[errors.origin])
    assert np.allclose(errors.decades, expected)
    assert sum(band["n"] for band in errors.by_distance()) == errors.n
    past = errors.before(6)
    assert np.all(past.origin < 6) and np.all(past.target <= 6)


def test_size_levels_merge_digitised_copies_of_one_size():
    levels, index = size_levels(np.array([2e9, 1.0e9, 1.0001e9, 4e9, 1.00005e9]))
    assert levels.size == 3
    assert list(index) == [1, 0, 0, 2, 0]


def test_the_conformal_multiplier_is_the_finite_sample_rank():
    data = broken_ladder(1)
    errors = rolling_origin(POWER, data)
    scores = np.sort(np.abs(errors.log_residuals) / (0.1 + errors.decades))
    cal = calibrate(errors, 0.9)
    rank = math.ceil((errors.n + 1) * 0.9)
    assert cal.quantile == pytest.approx(scores[rank - 1])
    assert cal.half_width(0.5) == pytest.approx(scores[rank - 1] * 0.6)


def test_too_few_sizes_is_refused_naming_the_size_column():
    data = {"params": np.array([1e8, 1e8, 2e8, 4e8]), "loss": np.array([3.0, 3.01, 2.9, 2.8])}
    with pytest.raises(WorkbenchError, match=r"at least 4 distinct 'params' values .* the data have 3"):
        rolling_origin(POWER, data)


def test_too_few_backtest_errors_give_a_flagged_interval_not_a_silent_one():
    n = np.geomspace(1e7, 1e9, 5)
    data = {"params": n, "loss": 1.7 + 400 * n**-0.34}
    cal = calibrate(rolling_origin(POWER, data))
    assert cal.n == 3  # origin at 3 sizes predicts 2 sizes, origin at 4 predicts 1
    assert not cal.calibrated
    assert cal.level == pytest.approx(3 / 4)
    assert any("uncalibrated" in note for note in cal.notes)
    result = fit(POWER, data).bootstrap(draws=50)
    (pi,) = calibrated_intervals(result, [{"params": 1e10}], cal)
    assert pi.to_dict()["calibrated"] is False and pi.notes


def test_predictions_beyond_every_backtest_are_flagged():
    data = broken_ladder(2)
    out = calibrated_predictions(POWER, data, [{"params": 1e9}, {"params": 1e14}], draws=50)
    near, far = out.intervals
    assert near.decades == 0 and not near.beyond_backtests
    assert far.decades == pytest.approx(4.0) and far.beyond_backtests
    assert far.hi / far.lo > near.hi / near.lo
    assert out.table().height == 2


def test_backtest_coverage_calibrates_each_origin_on_its_past_only():
    errors = rolling_origin(POWER, broken_ladder(3))
    cov = backtest_coverage(errors)
    assert cov["origins_scored"] >= 1 and 0 < cov["n_scored"] < errors.n
    assert 0.5 <= cov["coverage"] <= 1


@pytest.mark.parametrize("truth", [CHINCHILLA, KAPLAN_ND], ids=lambda law: law.name)
def test_the_scoreboard_favours_the_law_that_made_the_data(truth):
    values = HOFFMANN if truth is CHINCHILLA else truth.presets[0].values
    data = chinchilla_grid(truth, values, sizes=6)
    board = scoreboard([CHINCHILLA, KAPLAN_ND], data, max_origins=3)
    assert board.favoured == truth.name
    assert board.verdict().startswith(f"the backtests favour {truth.name}")
    row = board.to_dict()["laws"][0]
    for key in ("mean_abs_log", "median_abs_log", "by_distance", "calibrated_coverage", "aic", "bic"):
        assert key in row
    assert list(board.table()["law"])[0] == truth.name


def test_cli_calibrate_adds_a_prediction_interval(capsys, tmp_path):
    path = write_csv(tmp_path / "runs.csv", chinchilla_grid())
    code, out, err = run(
        capsys, "fit", "--law", "chinchilla", "--data", str(path), "--predict", "7e10:1.4e12",
        "--predict", "1e8:1e10", "--bootstrap", "100", "--calibrate", "--json",
    )  # fmt: skip
    assert code == 0, err
    res = json.loads(out)
    for p in res["predictions"]:
        pi = p["pi"]
        assert set(pi) >= {"lo", "hi", "level", "method", "n_errors", "decades", "calibrated"}
        assert pi["lo"] <= p["ci"][0] <= p["loss"] <= p["ci"][1] <= pi["hi"]
        assert pi["level"] == 0.95 and pi["n_errors"] == res["calibration"]["n_errors"] > 0
    far, near = res["predictions"]
    assert far["pi"]["decades"] == pytest.approx(math.log10(1.4e12 / 1e11))  # the farther variable: tokens
    assert near["pi"]["decades"] == 0
    assert res["calibration"]["size"] == "params" and res["calibration"]["backtests"]["by_distance"]
    code, out, err = run(
        capsys, "fit", "--law", "chinchilla", "--data", str(path), "--predict", "7e10:1.4e12",
        "--bootstrap", "50", "--calibrate",
    )  # fmt: skip
    assert code == 0, err
    assert "95% PI" in out and "calibration: split-conformal" in out


def test_cli_without_calibrate_keeps_the_one_law_contract(capsys, tmp_path):
    path = write_csv(tmp_path / "runs.csv", chinchilla_grid())
    code, out, err = run(capsys, "fit", "--law", "chinchilla", "--data", str(path), "--predict", "7e10:1e12", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert "calibration" not in res and "scoreboard" not in res and "pi" not in res["predictions"][0]


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--calibrate"], "--calibrate needs --bootstrap B"),
        (["--law", "power_offset_params", "--fix", "E=1.7"], "--fix works with one --law at a time"),
        (["--law", "chinchilla"], "names a law twice"),
        (["--calibrate", "--bootstrap", "20", "--per-group", "g"], "--calibrate does not work with --per-group"),
    ],
)
def test_cli_refusals_are_one_line(capsys, tmp_path, extra, message):
    path = write_csv(tmp_path / "runs.csv", chinchilla_grid())
    code, out, err = run(capsys, "fit", "--law", "chinchilla", "--data", str(path), *extra)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err, err


def test_cli_too_few_sizes_is_a_one_line_error(capsys, tmp_path):
    data = chinchilla_grid(sizes=3)
    path = write_csv(tmp_path / "runs.csv", data)
    code, out, err = run(capsys, "fit", "--law", "chinchilla", "--data", str(path), "--bootstrap", "20", "--calibrate")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "at least 4 distinct 'params' values" in err and "the data have 3" in err


def test_cli_scoreboard_of_several_laws(capsys, tmp_path):
    path = write_csv(tmp_path / "runs.csv", chinchilla_grid())
    code, out, err = run(
        capsys, "fit", "--law", "chinchilla", "--law", "power_offset_params", "--data", str(path),
        "--predict", "7e10:1.4e12", "--bootstrap", "50", "--calibrate", "--json",
    )  # fmt: skip
    assert code == 0, err
    res = json.loads(out)
    assert res["favoured"] == "chinchilla" == res["scoreboard"]["favoured"]
    assert [fit["law"] for fit in res["laws"]] == ["chinchilla", "power_offset_params"]
    chin, power = res["laws"]
    assert set(chin["predictions"][0]) >= {"params", "tokens", "loss", "ci", "pi"}
    assert "tokens" not in power["predictions"][0] and "pi" in power["predictions"][0]
    assert res["data"]["predict_order"] == ["params", "tokens"]
    rows = {row["law"]: row for row in res["scoreboard"]["laws"]}
    assert rows["chinchilla"]["mean_abs_log"] < rows["power_offset_params"]["mean_abs_log"]
    code, out, err = run(capsys, "fit", "--law", "chinchilla", "--law", "power_offset_params", "--data", str(path))
    assert code == 0, err
    assert "scoreboard: rolling-origin backtests by params" in out and "the backtests favour chinchilla" in out


def test_the_readme_example_prints_what_it_says(capsys):
    from conftest import ROOT

    text = (ROOT / "README.md").read_text()
    section = text.split("### How wrong can an extrapolation be", 1)[1].split("\n### ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    exec(compile(code, "README.md", "exec"), {})
    expected = re.findall(r"^# (.+)$", code, flags=re.M)
    assert capsys.readouterr().out.splitlines() == expected


def test_cli_scoreboard_takes_a_law_file(capsys, tmp_path):
    path = write_csv(tmp_path / "runs.csv", chinchilla_grid())
    law_file = tmp_path / "mine.toml"
    law_file.write_text('name = "my_chinchilla"\nformula = "E + A/params**alpha + B/tokens**beta"\n')
    code, out, err = run(
        capsys, "fit", "--law", "power_offset_params", "--law", str(law_file), "--data", str(path), "--json",
    )  # fmt: skip
    assert code == 0, err
    res = json.loads(out)
    assert res["favoured"] == "my_chinchilla"
    assert [fit["law"] for fit in res["laws"]] == ["power_offset_params", "my_chinchilla"]
