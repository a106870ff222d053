"""The Chinchilla explorer's callbacks, driven without a browser."""

from __future__ import annotations

import pytest

from workbench.laws import CHINCHILLA
from workbench.viz.widgets import ChinchillaExplorer


@pytest.fixture
def explorer(epoch_points, tmp_path):
    return ChinchillaExplorer(epoch_points, export_dir=tmp_path, bibtex="@article{x, title={t}}")


def spec(ex):
    return ex.chart.chart.to_dict()


def test_budget_slider_moves_the_optimum(explorer):
    before, text = spec(explorer), explorer.readout.value
    n_before = explorer.tables["optimum"]["params"][0]
    explorer.budget.value = 1e21
    assert spec(explorer) != before
    assert explorer.readout.value != text and "inside the fitted data range" in explorer.readout.value
    assert explorer.tables["optimum"]["params"][0] < n_before


def test_constants_follow_presets_and_fit(explorer):
    explorer.constants.value = "hoffmann2022"
    assert explorer.values == pytest.approx(dict(CHINCHILLA.preset("hoffmann2022").values), rel=1e-6)
    explorer.constants.value = "fit"
    assert explorer.values == pytest.approx(dict(explorer.fit_result.params), rel=1e-6)


def test_dropping_points_refits(explorer):
    assert explorer.fit_result.n_points == 240
    explorer.drop.value = False
    assert explorer.fit_result.n_points == 245
    assert explorer.values["beta"] == pytest.approx(explorer.fit_result.params["beta"], rel=1e-6)


def test_law_slider_changes_prediction(explorer):
    loss = explorer.tables["optimum"]["loss"][0]
    explorer.sliders["E"].value = explorer.sliders["E"].value + 0.1
    assert explorer.tables["optimum"]["loss"][0] == pytest.approx(loss + 0.1, abs=2e-3)


def test_export_writes_three_formats_data_and_bibtex(explorer, tmp_path):
    names = {p.name for p in explorer.export()}
    assert {"chinchilla.png", "chinchilla.svg", "chinchilla.pdf", "chinchilla.bib", "chinchilla-optimum.csv"} <= names
    assert (tmp_path / "chinchilla.svg").read_text().lstrip().startswith("<svg")
