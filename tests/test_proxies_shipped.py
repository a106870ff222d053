"""The shipped proxy results: valid corpus rows, each preset's checks, and a re-run that agrees with them."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from workbench.proxies import results
from workbench.proxies.presets import PRESETS, get_preset

SHIPPED = sorted(p.stem for p in results.datasets_dir().glob("*.csv"))
# Presets whose own checks do not pass on the shipped results, with the reason (reported, not hidden).
KNOWN_FAILURES: dict[str, str] = {
    "nmt": "pre-registered |L_inf / H - 1| <= 0.15; the seed-0 fit gave L_inf = 0.735 (-16 %), with an interval "
    "reaching 0 (tests/test_proxies_nmt.py pins this to the one check)",
    "repetition": "pre-registered largest |fitted / measured - 1| <= 5 % on the fit domain; on Python source the "
    "seed-0 fit is off by 6.3 % at the 250 k-token fresh run (fresh losses fall faster per decade as tokens grow, "
    "which E + B / D'^beta cannot follow); the other 9 checks pass",
    "sparse": "pre-registered: the joint fit in the average count has the lowest largest error; it ties with the "
    "dense count (2.273 % vs 2.271 %); the other 4 checks pass",
}


def test_every_preset_is_shipped():
    """Every preset ships its results, except those marked ``shipped=False`` (cluster-sized: priced and tested by
    tests/test_proxies_dry_run.py instead), which must ship none."""
    assert set(SHIPPED) == {name for name, p in PRESETS.items() if p.shipped}


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
    finite = df.filter(~pl.col("condition").fill_null("").str.contains("N=inf"))  # regimes: kernel limit, no N
    assert finite["params_total"].is_not_null().all() and finite["params_non_embedding"].is_not_null().all()
    assert df.height - finite.height == df["params"].null_count()
    # every run of the preset is there
    ids = {f"{name}/{c.run_id()}" for c in get_preset(name).configs()}
    assert set(df["run_id"].unique().to_list()) == ids
    verdict = get_preset(name).verify(df)
    if name in KNOWN_FAILURES:
        assert not verdict["passed"], f"{name} now passes: remove it from KNOWN_FAILURES"
    else:
        assert verdict["passed"], [c for c in verdict["checks"] if not c["passed"]]


def test_every_shipped_row_belongs_to_a_registered_proxy_source():
    """datasets/proxies/sources.toml names every proxy source, its licence, and exactly the files holding it."""
    registry = results.proxy_sources()
    seen: dict[str, set[str]] = {}
    for name in SHIPPED:
        for sid in results.load(name)["source_id"].unique().to_list():
            seen.setdefault(sid, set()).add(name)
    assert set(seen) == set(registry)
    for sid, src in registry.items():
        assert set(src.presets) == seen[sid], sid
        assert src.licence and src.citation and src.bibtex.startswith("@") and src.how_obtained


def test_proxy_sources_load_through_the_corpus_and_are_listed(capsys):
    import json

    from workbench import corpus
    from workbench.cli import main
    from workbench.errors import WorkbenchError

    zipf = corpus.load("proxy:zipf")
    presets = results.proxy_sources()["proxy:zipf"].presets
    assert zipf.height == sum(
        results.load(p).filter(pl.col("source_id") == "proxy:zipf").height for p in presets
    )  # repetition.csv also holds proxy:pystdlib rows
    assert (zipf["source_id"] == "proxy:zipf").all()
    assert not corpus.load().filter(pl.col("source_id").str.starts_with("proxy:")).height  # published only
    with pytest.raises(WorkbenchError, match="unknown proxy source 'proxy:nope'"):
        corpus.load("proxy:nope")
    assert main(["sources", "--proxies", "--json"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert {"proxy:zipf", "proxy:pystdlib", "proxy:trap"} <= set(rows)
    assert rows["proxy:zipf"]["kind"] == "proxy" and rows["proxy:zipf"]["licence"] == "CC0-1.0"
    assert rows["chinchilla_epoch"]["kind"] == "published"


def test_shipped_annealing_area_is_the_law_modules_definition():
    """The S2 column the runs recorded is annealing_areas() of each run's own schedule (lambda 0.999)."""
    from workbench.laws.annealing import annealing_areas
    from workbench.proxies.config import lr_schedule

    df = results.load("schedule").filter(pl.col("metric") == "loss")
    for cfg in get_preset("schedule").configs():
        rows = df.filter(pl.col("run_id") == f"schedule/{cfg.run_id()}").unique("step").sort("step")
        s1, s2 = annealing_areas(lr_schedule(cfg), 0.999, int(round(cfg.warmup * cfg.steps)))
        i = rows["step"].to_numpy() - 1
        np.testing.assert_allclose(rows["lr_area"].to_numpy(), s1[i], rtol=1e-6)
        np.testing.assert_allclose(rows["lr_anneal_area"].to_numpy(), np.maximum(s2[i], 0), rtol=1e-6, atol=1e-9)


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


def test_schedule_check_refuses_a_partial_set_instead_of_fitting_it():
    df = results.load("schedule")
    partial = df.filter(~pl.col("run_id").str.ends_with("wsd20_confirm"))
    verdict = get_preset("schedule").verify(partial)
    failing = [c for c in verdict["checks"] if not c["passed"]]
    assert not verdict["passed"] and [c["name"] for c in failing] == ["confirm: all 4 curves were trained"]
    assert failing[0]["value"] == 3
