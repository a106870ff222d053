"""Lesson 08's recipe-crossover section: the explorer over the `recipe_crossover` preset's shipped rows.

What it shows must be the numbers of :mod:`workbench.proxies.recipes` (what ``sweep --verify``
checks), recomputed here independently of the course module's cache; its controls must change
what it shows and nothing else; the fits' caveats must travel with the figure; its export must
write the figure, the tables, the caption and the BibTeX.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from workbench.course import recipe_crossover as rc
from workbench.course.inputs import require_proxy
from workbench.course.style import short
from workbench.errors import WorkbenchError
from workbench.proxies import recipes


@pytest.fixture(scope="module")
def analysis():
    """The preset's analysis straight from the analysis module (not the course module's cache)."""
    return recipes.analyse(require_proxy("recipe_crossover"))


@pytest.fixture(scope="module")
def verified():
    return recipes.verify(require_proxy("recipe_crossover"))


@pytest.fixture
def ex(tmp_path):
    return rc.RecipeCrossoverExplorer(export_dir=tmp_path)


def test_runs_are_the_analysis_points_with_their_error_bars(ex, analysis):
    want = analysis["points"].sort("run_id")
    assert want.height == len(recipes.RECIPES) * len(recipes.WIDTHS)
    for width in recipes.WIDTHS:
        ex.width.value = width
        got = ex.shown_tables["runs"].sort("run_id")
        assert got["run_id"].to_list() == want["run_id"].to_list()
        assert got["loss"].to_list() == want["loss"].to_list()
        assert got["params"].to_list() == want["params"].to_list()
        se = want["value_stderr"].fill_null(0.0).to_numpy()
        assert got["lo"].to_numpy() == pytest.approx(want["loss"].to_numpy() - 2 * se, rel=1e-12)
        assert got["hi"].to_numpy() == pytest.approx(want["loss"].to_numpy() + 2 * se, rel=1e-12)
        chosen = got.filter(pl.col("chosen"))
        assert chosen["width"].to_list() == [width, width]  # one run of each recipe
        assert ex.shown_tables["chosen"]["params"][0] == chosen["params"][0]


def test_curves_and_bands_are_the_analysis_fits(ex, analysis):
    lo, hi = analysis["range"]
    for factor in rc.HORIZONS:
        ex.horizon.value = factor
        curves = ex.shown_tables["curves"]
        for name, fit in analysis["fits"].items():
            c = curves.filter(pl.col("recipe") == rc.recipe_label(name)).sort("params")
            x = c["params"].to_numpy()
            assert x[0] == pytest.approx(lo, rel=1e-12) and x[-1] == pytest.approx(factor * hi, rel=1e-9)
            assert c["loss"].to_numpy() == pytest.approx(fit.predict({"params": x}), rel=1e-12)
            band = fit.prediction_interval({"params": x})
            assert c["band_lo"].to_numpy() == pytest.approx(band[0], rel=1e-12)
            assert c["band_hi"].to_numpy() == pytest.approx(band[1], rel=1e-12)
            swept = c.filter(pl.col("span") == rc.SPAN[True])["params"]
            beyond = c.filter(pl.col("span") == rc.SPAN[False])["params"]
            assert swept.max() == pytest.approx(hi, rel=1e-12)  # the fitted part ends at the largest run
            if factor == 1:
                assert beyond.len() == 0
            else:  # the extrapolated part starts where the fitted one ends: no gap between them
                assert beyond.min() == pytest.approx(hi, rel=1e-12) and (beyond >= hi).all()


def test_crossing_interval_and_draws_are_the_analysis_crossover(ex, analysis):
    x = analysis["crossover"]
    t = ex.shown_tables
    if x.at is None:
        assert t["crossing"].height == 0 and "do not cross" in ex.sentence()
        return
    assert t["crossing"]["params"][0] == pytest.approx(x.at, rel=1e-12)
    assert (t["crossing_ci"]["lo"][0], t["crossing_ci"]["hi"][0]) == pytest.approx(x.ci, rel=1e-12)
    crossed = x.draws[np.isfinite(x.draws)]
    assert t["draws"]["draws"].sum() == crossed.size  # every draw that crosses is in a bin, none twice
    assert crossed.size / x.draws.size == pytest.approx(x.share_crossing)
    text = ex.sentence()
    assert f"cross at N = {short(x.at)}" in text
    assert f"CI {short(x.ci[0])} to {short(x.ci[1])}" in text and f"{x.share_crossing:.0%} of draws" in text
    after = [n for n in recipes.RECIPES if n != x.lower_before][0]
    assert text.endswith(f"beyond it the {after} recipe wins.")


def test_measured_gaps_are_what_verify_checks(verified):
    small, large = rc.measured_gap(recipes.WIDTHS[0]), rc.measured_gap(recipes.WIDTHS[-1])
    assert verified["checks"][0]["value"] == {"gap": round(small[0], 4), "stderr": round(small[1], 4)}
    assert verified["checks"][1]["value"] == {"gap": round(-large[0], 4), "stderr": round(large[1], 4)}
    shown = rc.recipe_checks()
    assert shown["check"].to_list() == [c["name"] for c in verified["checks"]]
    assert shown["passed"].to_list() == [c["passed"] for c in verified["checks"]]
    assert shown["value"].to_list() == [str(c["value"]) for c in verified["checks"]]


def test_sentence_names_the_measured_winner_at_every_width(ex, analysis):
    pts = analysis["points"]
    small, large = recipes.RECIPES
    for width in recipes.WIDTHS:
        ex.width.value = width
        by = {r["recipe"]: r for r in pts.filter(pl.col("width") == width).iter_rows(named=True)}
        gap = by[large]["loss"] - by[small]["loss"]
        se = float(np.hypot(by[small]["value_stderr"], by[large]["value_stderr"]))
        text = ex.sentence()
        assert text.startswith(f"Compared at width {width} the {small if gap > 0 else large} recipe wins by ")
        assert f"{abs(gap):.3f} nats" in text
        assert ("a tie" in text) == (abs(gap) <= 2 * se)
        assert f"picks the {small if gap > 0 else large} recipe" in ex.message.value


def test_horizon_reads_the_same_fits_beyond_the_data(ex, analysis):
    hi = analysis["range"][1]
    small, large = (analysis["fits"][n] for n in recipes.RECIPES)
    runs = ex.shown_tables["runs"]
    for factor in rc.HORIZONS:
        ex.horizon.value = factor
        n = np.array([factor * hi])
        gap = float(large.predict({"params": n})[0] - small.predict({"params": n})[0])
        r = rc.beyond(factor * hi)
        assert r["gap"] == pytest.approx(gap, rel=1e-12)
        assert r["ci"][0] <= r["ci"][1]
        assert f"lower by {abs(gap):.3f} nats" in ex.message.value
        assert ex.shown_tables["runs"].equals(runs)  # the horizon moves the curves, not the measurements
        if r["again"] is not None:
            assert hi < r["again"] <= factor * hi and "cross again" in ex.message.value


def test_the_fits_caveats_travel_with_the_figure(ex, analysis):
    caveats = analysis["crossover"].caveats
    for c in caveats:
        assert c in ex.caption() and c in ex.message.value and c in " ".join(ex.subtitle())
    assert bool(caveats) == bool(ex.caution())


def test_moving_the_controls_changes_the_figure(ex):
    spec, text = ex.live.widget.spec, ex.message.value
    ex.width.value = recipes.WIDTHS[-1]
    assert ex.live.widget.spec != spec and ex.message.value != text
    assert ex.last_update_seconds < 0.5
    curves = ex.shown_tables["curves"]
    ex.horizon.value = rc.HORIZONS[-1]
    assert ex.shown_tables["curves"].height > curves.height
    assert ex.last_update_seconds < 0.5


def test_export_writes_figure_tables_caption_and_bibtex(ex, tmp_path):
    names = {p.name for p in ex.export()}
    stem = "08_recipe_crossover-001"
    assert {f"{stem}.png", f"{stem}.svg", f"{stem}.pdf", f"{stem}.bib", f"{stem}-caption.txt"} <= names
    assert {f"{stem}-runs.csv", f"{stem}-curves.csv", f"{stem}-draws.csv", f"{stem}-fits.csv"} <= names
    assert (tmp_path / f"{stem}.svg").read_text().lstrip().startswith("<svg")
    assert "arXiv:2409.15156" in (tmp_path / f"{stem}.bib").read_text()
    assert ex.sentence() in (tmp_path / f"{stem}-caption.txt").read_text()


def test_the_exercise_runs_the_preset_analysis_on_fewer_widths(analysis):
    full = rc.forecast_from_smallest(len(recipes.WIDTHS))  # every width: the analysis itself
    n = np.array([float(analysis["points"]["params"].max())])
    for name, fit in analysis["fits"].items():
        row = full.filter(pl.col("recipe") == name).row(0, named=True)
        assert row["forecast"] == pytest.approx(float(fit.predict({"params": n})[0]), rel=1e-9)
        band = fit.prediction_interval({"params": n})
        assert (row["band_lo"], row["band_hi"]) == pytest.approx((band[0][0], band[1][0]), rel=1e-9)
    four = rc.forecast_from_smallest(4)
    assert four["fitted widths"].unique().to_list() == ["32, 48, 64, 96"]
    measured = analysis["points"].filter(pl.col("width") == recipes.WIDTHS[-1]).sort("recipe")
    assert four.sort("recipe")["measured"].to_list() == measured["loss"].to_list()
    assert four["share of draws forecast lower"].sum() == pytest.approx(1.0)
    with pytest.raises(WorkbenchError, match="k must be 3 to 7"):
        rc.forecast_from_smallest(2)


def test_batch_figure_is_registered_with_its_input():
    from workbench.course import EXPLORERS, REGISTRY, REQUIRES, load_all

    load_all()
    assert REQUIRES["recipe-crossover"] == ("proxies/recipe_crossover",)
    assert "08_recipe_crossover" in EXPLORERS
    fig = REGISTRY["recipe-crossover"]()
    assert fig.notebook == "08_crossovers" and fig.bibtex.lstrip().startswith("@")
    assert set(fig.tables) >= {"runs", "curves", "crossing", "crossing_ci", "draws", "fits"}
    for c in recipes.analyse(require_proxy("recipe_crossover"))["crossover"].caveats:
        assert c in fig.full_caption


def test_missing_preset_rows_are_a_clear_error(tmp_path, monkeypatch):
    from workbench.proxies import results

    monkeypatch.setattr(results, "datasets_dir", lambda: tmp_path)
    rc.recipe_analysis.cache_clear()
    try:
        with pytest.raises(WorkbenchError, match=r"datasets/proxies/recipe_crossover\.csv"):
            rc.RecipeCrossoverExplorer(export_dir=tmp_path)
    finally:
        monkeypatch.undo()
        rc.recipe_analysis.cache_clear()
