"""The Chinchilla and corpus explorers' callbacks, driven without a browser."""

from __future__ import annotations

import pytest

from workbench.course.chinchilla import ChinchillaExplorer
from workbench.laws import CHINCHILLA


@pytest.fixture
def explorer(epoch_points, tmp_path):
    return ChinchillaExplorer(epoch_points, export_dir=tmp_path, bibtex="@article{x, title={t}}")


def spec(ex):
    return ex.live.widget.spec


def test_budget_slider_moves_the_optimum(explorer):
    before, text = spec(explorer), explorer.message.value
    n_before = explorer._tables["optimum"]["params"][0]
    explorer.budget.value = 1e21
    assert spec(explorer) != before
    assert explorer.message.value != text and "inside the fitted data range" in explorer.message.value
    assert explorer._tables["optimum"]["params"][0] < n_before


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
    loss = explorer._tables["optimum"]["loss"][0]
    explorer.sliders["E"].value = explorer.sliders["E"].value + 0.1
    assert explorer._tables["optimum"]["loss"][0] == pytest.approx(loss + 0.1, abs=2e-3)


def test_export_writes_three_formats_data_and_bibtex(explorer, tmp_path):
    names = {p.name for p in explorer.export()}
    assert {
        "chinchilla-001.png",
        "chinchilla-001.svg",
        "chinchilla-001.pdf",
        "chinchilla-001.bib",
        "chinchilla-001-optimum.csv",
        "chinchilla-001-caption.txt",
    } <= names
    assert (tmp_path / "chinchilla-001.svg").read_text().lstrip().startswith("<svg")
    assert "Wrote 10 files" in explorer.export_log.value or "Wrote" in explorer.export_log.value
    second = {p.name for p in explorer.export()}  # a second export never overwrites the first
    assert "chinchilla-002.png" in second and (tmp_path / "chinchilla-001.png").exists()
    explorer.budget.value = 1e22  # the figure changed: the export message no longer describes it
    assert explorer.export_log.value == ""


def test_corpus_explorer_controls_and_export(tmp_path):
    from workbench.viz.corpus_explorer import CorpusExplorer

    ex = CorpusExplorer(export_dir=tmp_path)
    n_all = ex.rows().height
    before = ex.live.widget.spec
    ex.x_range.value = (ex.x_range.value[0] + 0.5, ex.x_range.value[1])
    assert ex.rows().height < n_all and ex.live.widget.spec != before
    ex.source.value = "quest_qat"
    assert ex.metric.value == "loss" and "weight_bits" in ex.x.options
    ex.x.value = "weight_bits"
    assert ex.rows().height == 104  # range slider re-spans the new axis: nothing silently hidden
    names = {p.name for p in ex.export()}
    assert {
        "quest_qat-loss-vs-weight_bits-001.pdf",
        "quest_qat-loss-vs-weight_bits-001-rows.csv",
        "quest_qat-loss-vs-weight_bits-001.bib",
    } <= names
