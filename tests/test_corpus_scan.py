"""``corpus.scan``: sources as lazy frames over a parquet cache, and lazy frames into the fitting engine."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import polars as pl
import pytest
from conftest import ROOT

from workbench import corpus
from workbench.corpus.scan import store_dir
from workbench.errors import WorkbenchError
from workbench.fit import fit, make_problem
from workbench.laws import CHINCHILLA


def datasets_status() -> str:
    done = subprocess.run(
        ["git", "status", "--porcelain", "--ignored", "datasets"], cwd=ROOT, capture_output=True, text=True
    )
    return done.stdout


def curves(runs: int = 40, steps: int = 50) -> pl.DataFrame:
    step = np.tile(np.arange(1, steps + 1), runs)
    return pl.DataFrame(
        {
            "source_id": "test-curves",
            "run_id": np.repeat(np.arange(runs), steps),
            "step": step,
            "loss": 2.0 + 3.0 / step**0.3,
        }
    )


@pytest.mark.parametrize("source", ["proxy:zipf", "chinchilla_epoch", ["proxy:trap", "gadre_overtraining"]])
def test_a_scan_collects_to_what_load_returns(tmp_path, source):
    scanned = corpus.scan(source, store=tmp_path).collect()
    assert scanned.equals(corpus.load(source))
    assert scanned.schema == corpus.load(source).schema


def test_the_store_is_a_cache_outside_the_checkout_and_datasets_stay_untouched(tmp_path, monkeypatch):
    before = datasets_status()
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path))
    assert store_dir() == tmp_path / "corpus-parquet"
    corpus.scan("proxy:zipf").collect()
    assert [p.name for p in (tmp_path / "corpus-parquet").iterdir()] == ["source_id=proxy%3Azipf"]
    assert not store_dir().resolve().is_relative_to(ROOT.resolve())
    assert datasets_status() == before


def test_a_second_scan_reuses_the_partition_and_an_edited_table_rebuilds_it(tmp_path, monkeypatch):
    copy = tmp_path / "datasets"
    shutil.copytree(ROOT / "datasets", copy, ignore=shutil.ignore_patterns("proxies", "laws"))
    monkeypatch.setenv("WORKBENCH_DATASETS", str(copy))
    store = tmp_path / "store"
    corpus.scan("chinchilla_epoch", store=store).collect()
    (first,) = (store / "source_id=chinchilla_epoch").glob("*.parquet")
    mtime = first.stat().st_mtime_ns
    corpus.scan("chinchilla_epoch", store=store).collect()
    assert first.stat().st_mtime_ns == mtime  # reused, not rewritten
    table = copy / "chinchilla_epoch.csv"
    lines = table.read_text().splitlines(keepends=True)
    table.write_text("".join(lines[:-1]))  # drop the last row
    rebuilt = corpus.scan("chinchilla_epoch", store=store).collect()
    assert rebuilt.height == corpus.load("chinchilla_epoch").height == len(lines) - 2
    assert [p.name for p in (store / "source_id=chinchilla_epoch").glob("*.parquet")] != [first.name]
    assert not list((store / "source_id=chinchilla_epoch").glob(".tmp-*"))


def test_filters_and_projections_are_pushed_into_the_parquet_scan(tmp_path):
    corpus.write_partition("test-curves", curves(), store=tmp_path)
    query = corpus.scan("test-curves", store=tmp_path).filter(pl.col("run_id") == 7).select("step", "loss")
    plan = query.explain()
    scan_part = plan[plan.index("SCAN") :]
    assert "SELECTION" in scan_part and 'col("run_id")' in scan_part  # the predicate is evaluated by the reader
    assert "PROJECT 3/4 COLUMNS" in scan_part  # run_id to filter, step and loss to return; source_id never read
    assert "FILTER" not in plan  # no separate filter over a loaded table
    out = query.collect()
    assert out.height == 50 and out.columns == ["step", "loss"]


def test_a_group_by_gives_each_runs_final_loss(tmp_path):
    corpus.write_partition("test-curves", curves().lazy(), store=tmp_path)  # lazy rows are streamed to the file
    final = (
        corpus.scan("test-curves", store=tmp_path)
        .group_by("run_id")
        .agg(pl.col("loss").sort_by("step").last())
        .sort("run_id")
        .collect()
    )
    assert final.height == 40
    np.testing.assert_allclose(final["loss"].to_numpy(), 2.0 + 3.0 / 50**0.3)


def test_an_unknown_source_is_one_line_naming_it(tmp_path):
    with pytest.raises(WorkbenchError, match=r"^unknown corpus source 'no_such_source': not registered") as err:
        corpus.scan("no_such_source", store=tmp_path)
    assert "\n" not in str(err.value) and "proxy:zipf" in str(err.value)
    with pytest.raises(WorkbenchError, match=r"source id '\.\./outside' is not allowed"):
        corpus.scan("../outside", store=tmp_path)
    with pytest.raises(WorkbenchError, match="name at least one source"):
        corpus.scan([], store=tmp_path)
    assert not list(tmp_path.iterdir())


def test_a_registered_source_cannot_be_overwritten_by_hand(tmp_path):
    with pytest.raises(WorkbenchError, match="'chinchilla_epoch' is registered"):
        corpus.write_partition("chinchilla_epoch", curves(), store=tmp_path)


def epoch_lazy(store) -> pl.LazyFrame:
    return (
        corpus.scan("chinchilla_epoch", store=store)
        .filter((pl.col("metric") == "loss") & pl.col("final"))
        .with_columns(pl.col("value").alias("loss"))
    )


def test_a_lazy_frame_fits_like_the_collected_frame(tmp_path):
    lazy = epoch_lazy(tmp_path)
    eager = fit(CHINCHILLA, lazy.collect())
    assert eager.n_points == corpus.loss_points("chinchilla_epoch").height
    result = fit(CHINCHILLA, lazy)
    assert result.params == eager.params and result.objective == eager.objective


def test_a_lazy_frame_collects_only_the_laws_columns():
    def boom(_):
        raise AssertionError("a column the law does not use was computed")

    grid = np.meshgrid(np.geomspace(1e7, 1e11, 5), np.geomspace(1e8, 1e12, 5))
    data = pl.LazyFrame({"params": grid[0].ravel(), "tokens": grid[1].ravel()}).with_columns(
        loss=2.0 + 400 / pl.col("params") ** 0.3 + 400 / pl.col("tokens") ** 0.3,
        unused=pl.col("params").map_batches(boom, return_dtype=pl.Float64),
    )
    with pytest.raises(Exception, match="a column the law does not use"):
        data.collect()  # collecting everything would compute it
    problem = make_problem(CHINCHILLA, data)
    assert set(problem.cols) == {"params", "tokens"} and len(problem.y) == 25


def test_a_lazy_frame_missing_a_column_is_one_error():
    with pytest.raises(WorkbenchError, match="data has no column 'tokens' needed by law 'chinchilla'"):
        make_problem(CHINCHILLA, pl.LazyFrame({"params": [1e8, 1e9], "loss": [3.0, 2.5]}))


@pytest.mark.parametrize("preset", ["quick", "schedule", "repetition", "nmt"])
def test_a_presets_scan_collects_to_its_shipped_rows(tmp_path, preset):
    from workbench.corpus.proxy_sources import load_preset, scan_preset

    lazy = scan_preset(preset, store=tmp_path)
    assert isinstance(lazy, pl.LazyFrame)
    key = ["source_id", "run_id", "condition", "seed", "step", "eval_set", "metric"]
    shipped = load_preset(preset).sort(key, nulls_last=True)
    assert lazy.collect().sort(key, nulls_last=True).equals(shipped)


def test_a_preset_not_shipped_is_one_line(tmp_path):
    from workbench.corpus.proxy_sources import scan_preset

    with pytest.raises(WorkbenchError, match="no shipped results for preset 'isoflop_large'"):
        scan_preset("isoflop_large", store=tmp_path)


def test_the_course_reads_shipped_curves_through_the_scan(tmp_path, monkeypatch):
    from workbench.course.power_laws import proxy_quick_losses
    from workbench.course.schedules import schedule_curves

    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path))
    curves, provenance = schedule_curves()
    assert provenance == "proxy" and curves.height > 100
    assert any(p.suffix == ".parquet" for p in tmp_path.rglob("*"))  # read from the store it built
    losses, why = proxy_quick_losses()
    assert losses is not None and losses.height == 6, why
