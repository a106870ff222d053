"""``sweep --dry-run`` prices a preset without training, and the cluster-sized ``isoflop_large`` starts as priced."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench.cli import main
from workbench.proxies import pricing
from workbench.proxies.presets import PRESETS, get_preset

KEYS = {
    "preset",
    "runs",
    "workers",
    "toy",
    "total_tokens",
    "total_flops",
    "peak_memory_bytes_per_run",
    "process_base_bytes",
    "wall_seconds_1_worker",
    "wall_seconds_k_workers",
    "calibration",
    "gpu_assumed",
    "per_run",
}


@pytest.fixture
def no_training(monkeypatch):
    """A dry run that trains (or starts a sweep) fails the test."""
    from workbench.proxies import sweep, train

    def refuse(*args, **kwargs):
        raise AssertionError("a dry run trained something")

    monkeypatch.setattr(train, "train", refuse)
    monkeypatch.setattr(sweep, "run_sweep", refuse)


def _dry_run(capsys, *args: str) -> dict:
    assert main(["sweep", *args, "--dry-run", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _flops(name: str) -> float:
    """Total training FLOPs of a preset, counted here independently of the pricing code."""
    from workbench.proxies.models import build, counts

    return sum(counts(build(c.model)).flops_per_token * c.tokens for c in get_preset(name).configs())


@pytest.mark.parametrize("name", ["smoke", "quick", "isoflop_large"])
def test_dry_run_prices_without_training(name, capsys, no_training):
    p = _dry_run(capsys, "--preset", name, "--workers", "2")
    assert KEYS <= set(p) and p["preset"] == name and not p["toy"]
    assert p["runs"] == len(get_preset(name).configs()) == len(p["per_run"])
    assert p["total_flops"] == pytest.approx(_flops(name), rel=1e-12)
    assert 0 < p["wall_seconds_k_workers"] <= p["wall_seconds_1_worker"]
    assert p["wall_seconds_k_workers"] >= max(r["seconds"] for r in p["per_run"])  # no run is split
    assert 0 < p["peak_memory_bytes_per_run"] < 1e9  # a laptop holds any one run
    for gpu in p["gpu_assumed"]["seconds_serial"].values():
        assert 0 < gpu["bf16_seconds"] <= gpu["fp32_seconds"]
    for cal in p["calibration"].values():
        assert 1e8 < cal["achieved_flops"] < 1e13  # a CPU core: between 0.1 and 10,000 GFLOP/s


def test_isoflop_large_is_about_100x_isoflop_and_costs_more_here(capsys, no_training):
    assert 80 < _flops("isoflop_large") / _flops("isoflop") < 125
    large = _dry_run(capsys, "--preset", "isoflop_large", "--workers", "1")
    small = _dry_run(capsys, "--preset", "isoflop", "--workers", "1")
    assert large["wall_seconds_1_worker"] > 10 * small["wall_seconds_1_worker"]
    assert large["wall_seconds_k_workers"] == pytest.approx(large["wall_seconds_1_worker"])  # one worker: the sum


def test_dry_run_text_says_what_is_assumed(capsys, no_training):
    assert main(["sweep", "--preset", "smoke", "--dry-run", "--workers", "3"]) == 0
    out = capsys.readouterr().out
    assert "nothing trained" in out and "3 runs" in out and "3 worker(s)" in out
    assert "ASSUMED" in out and "FLOPs" in out and "MB" in out


def test_threads_per_run_are_calibrated_as_asked_but_never_beyond_this_machine(capsys, no_training):
    from workbench.proxies.sweep import available_cpus

    p = _dry_run(capsys, "--preset", "smoke", "--threads", "64")
    assert p["threads_per_run"] == 64 and p["threads_measured"] == min(64, available_cpus())
    assert main(["sweep", "--preset", "smoke", "--dry-run", "--threads", "64"]) == 0
    out = capsys.readouterr().out
    assert f"{available_cpus()} were measured" in out or available_cpus() >= 64
    assert main(["sweep", "--preset", "smoke", "--dry-run", "--threads", "0"]) == 2
    assert "--threads" in capsys.readouterr().err


def test_dry_run_of_toys_counts_runs_and_says_there_are_no_flops(capsys, no_training):
    p = _dry_run(capsys, "--preset", "pruning")
    assert p["toy"] and p["total_flops"] is None and "no FLOPs" in p["note"]
    assert p["runs"] == len(get_preset("pruning").configs())
    assert main(["sweep", "--preset", "regimes", "--dry-run"]) == 0
    assert "no FLOPs" in capsys.readouterr().out


def test_unknown_preset_and_bad_options_are_one_line_errors(capsys, no_training):
    assert main(["sweep", "--preset", "nope", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "unknown preset 'nope'" in err and "isoflop_large" in err and "Traceback" not in err
    assert main(["sweep", "--preset", "smoke", "--dry-run", "--workers", "-1"]) == 2
    assert "--workers" in capsys.readouterr().err
    assert main(["sweep", "--preset", "smoke", "--dry-run", "--verify", "x.csv"]) == 2
    assert "--verify" in capsys.readouterr().err


@given(st.lists(st.floats(0.01, 1e4), min_size=1, max_size=30), st.integers(1, 40))
def test_more_workers_are_never_slower(costs, k):
    one, many = pricing.makespan(costs, 1), pricing.makespan(costs, k)
    assert many <= pricing.makespan(costs, max(1, k - 1)) + 1e-9 or k > len(costs)
    assert max(costs) - 1e-9 <= many <= one + 1e-9
    assert many >= one / k - 1e-9
    assert one == pytest.approx(sum(costs))


def test_memory_formula_counts_adam_state_and_activations():
    from workbench.proxies.config import RunConfig

    cfg = get_preset("isoflop_large").configs()[-1]  # the widest model
    params = pricing.model_numbers(cfg)["params_total"]
    mem = pricing.peak_memory_bytes(cfg, params)
    assert mem > 4 * pricing.PARAM_COPIES * params  # weights, gradients, AdamW moments, temporaries, in fp32
    # measured here (ru_maxrss of a short run above the loaded corpus, less ~180 MB of torch at work): about 290 MB
    assert 200e6 < mem < 400e6
    tiny, big = RunConfig(width=32, batch=4), RunConfig(width=32, batch=64)
    n = pricing.model_numbers(tiny)["params_total"]
    assert pricing.peak_memory_bytes(big, n) > pricing.peak_memory_bytes(tiny, n)  # training activations dominate


def test_isoflop_large_ships_nothing_and_reuses_the_isoflop_checks():
    from workbench.proxies import results

    p = PRESETS["isoflop_large"]
    assert not p.shipped and p.verify is PRESETS["isoflop"].verify
    assert not (results.datasets_dir() / "isoflop_large.csv").exists()
    budgets = {c.label for c in p.configs()}
    assert len(budgets) == 3 and len(p.configs()) == 15


def test_isoflop_large_first_runs_train_and_give_rows(tmp_path):
    """Its two cheapest runs, shortened to a few steps, go through the sweep and give corpus rows."""
    from workbench.corpus.load import validate
    from workbench.proxies.sweep import run_sweep

    cfgs = sorted(get_preset("isoflop_large").configs(), key=lambda c: c.width)[:2]
    short = [
        dataclasses.replace(c, tokens=20 * c.batch * c.ctx, eval_tokens=4096, curve_points=3, curve_eval_tokens=2048)
        for c in cfgs
    ]
    res = run_sweep(short, tmp_path / "out", preset="isoflop_large", workers=0, progress=False)
    assert not res.failures
    validate(res.frame, "isoflop_large first runs")
    assert set(res.frame["run_id"].unique().to_list()) == {f"isoflop_large/{c.run_id()}" for c in short}
    assert res.frame["value"].is_finite().all() and res.frame.filter(res.frame["final"]).height >= 2
