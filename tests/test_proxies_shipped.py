"""The shipped proxy results: valid corpus rows, each preset's checks, and a re-run that agrees with them."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from workbench.proxies import results
from workbench.proxies.presets import PRESETS, get_preset

SHIPPED = sorted(p.stem for p in results.datasets_dir().glob("*.csv"))
# Presets whose own checks do not pass on the shipped results, with the reason (reported, not hidden).
KNOWN_FAILURES: dict[str, str] = {}


def test_every_preset_is_shipped():
    assert set(SHIPPED) == set(PRESETS)


def test_shipped_results_are_small():
    total = sum(p.stat().st_size for p in results.datasets_dir().glob("*.csv"))
    assert total < 2_000_000


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_rows_are_valid_and_verified(name):
    from workbench.corpus.load import validate

    df = results.load(name)
    validate(df, f"datasets/proxies/{name}.csv")
    assert df["source_id"].str.starts_with("proxy:").all()
    assert df["run_id"].str.starts_with(f"{name}/").all()
    assert df["params_total"].is_not_null().all() and df["params_non_embedding"].is_not_null().all()
    # every run of the preset is there
    ids = {f"{name}/{c.run_id()}" for c in get_preset(name).configs()}
    assert set(df["run_id"].unique().to_list()) == ids
    verdict = get_preset(name).verify(df)
    if name in KNOWN_FAILURES:
        assert not verdict["passed"], f"{name} now passes: remove it from KNOWN_FAILURES"
    else:
        assert verdict["passed"], [c for c in verdict["checks"] if not c["passed"]]


def test_tiny_quick_rerun_agrees_with_shipped_results():
    """Re-train the cheapest ``quick`` run; it must match the shipped loss within seed noise."""
    import torch

    from workbench.proxies.train import train

    shipped = results.final_losses(results.load("quick"))
    cfg = next(c for c in get_preset("quick").configs() if c.width == 32 and c.seed == 0)
    threads = torch.get_num_threads()
    try:
        got = train(cfg, threads=1)["curve"][-1]["eval_loss"]
    finally:
        torch.set_num_threads(threads)
    w32 = shipped.filter(pl.col("width") == 32)
    want = w32.filter(pl.col("seed") == 0)["loss"].item()
    seed_sd = float(np.std(w32["loss"].to_numpy(), ddof=1))
    assert abs(got - want) <= max(3 * seed_sd, 0.005), (got, want, seed_sd)
