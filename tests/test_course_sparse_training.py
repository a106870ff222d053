"""Lesson 09's sparse-training section: the explorer over the `sparse` preset's shipped rows.

What it shows must be the numbers of :mod:`workbench.proxies.sparse_dense` (what ``sweep --verify``
checks), recomputed here independently of the course module's cache; the pruning schedule it draws
must be the one the runs trained with (:func:`workbench.proxies.sparsity.cubic_sparsity`) and agree
with the counts the runs logged; its controls must change what it shows; its export must write the
figure, the tables, the caption and the BibTeX.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from workbench.course import sparse_training as st
from workbench.course.inputs import require_proxy
from workbench.errors import WorkbenchError
from workbench.proxies import sparse_dense


@pytest.fixture(scope="module")
def analysis():
    """The preset's analysis, straight from the analysis module (not the course module's cache)."""
    return sparse_dense.analyse(require_proxy("sparse"))


@pytest.fixture
def ex(tmp_path):
    return st.SparseTrainingExplorer(export_dir=tmp_path)


def by_key(analysis) -> dict:
    return {(r["width"], st.target_of(r["sparsity"])): r for r in analysis["runs"]}


def test_every_sparse_run_of_the_preset_can_be_highlighted(ex):
    want = {(c.width, c.sparsity) for c in sparse_dense.configs() if c.sparsity}
    assert {v for _, v in ex.run.options} == want
    assert len(want) == len(sparse_dense.SPARSE_WIDTHS) * len(sparse_dense.SPARSITIES)


def test_runs_and_fitted_losses_are_the_analysis(ex, analysis):
    pts = analysis["points"].sort("run_id")
    for count, column in sparse_dense.COUNTS.items():
        ex.count.value = count
        runs = ex.shown_tables["runs"]
        assert runs.height == pts.height == len(sparse_dense.configs())
        got = runs.sort("params_dense", "params_final", "loss")
        want = pts.sort("params", "params_nonzero", "loss")
        assert got["loss"].to_list() == want["loss"].to_list()
        assert got["params"].to_list() == want[column].to_list()  # the x axis is the chosen count
        fitted = analysis["dense_fit"].predict({"params": want[column].to_numpy()})
        assert got["fitted"].to_numpy() == pytest.approx(fitted, rel=1e-12)
        dense = runs.filter(pl.col("kind") == "dense")
        assert dense["params"].to_list() == dense["params_dense"].to_list()  # dense runs never move
    # each sparse run's distance from the line is the analysis's error at that count
    for key, r in by_key(analysis).items():
        for count in sparse_dense.COUNTS:
            ex.count.value = count
            row = ex.shown_tables["runs"].filter(pl.col("run") == st.run_label(*key)).row(0, named=True)
            assert row["fitted"] / row["loss"] - 1 == pytest.approx(r["errors"][count], rel=1e-9, abs=1e-12)


def test_dense_equivalent_lies_on_the_dense_fit(ex, analysis):
    for key, r in by_key(analysis).items():
        ex.run.value = key
        eq = ex.shown_tables["equivalent"]
        assert eq["end"].to_list() == ["run", "dense equivalent"]
        n_eq = eq["params"][1]
        assert n_eq == pytest.approx(r["dense_equivalent"], rel=1e-12)
        assert analysis["dense_fit"].predict({"params": np.array([n_eq])})[0] == pytest.approx(r["loss"], rel=1e-9)
        assert n_eq / r["params_final"] == pytest.approx(r["worth_per_final_param"], rel=1e-12)


def test_sentence_is_the_analysis(ex, analysis):
    for key, r in by_key(analysis).items():
        ex.run.value = key
        for count in sparse_dense.COUNTS:
            ex.count.value = count
            text = ex.sentence()
            assert text.startswith(f"Pruned to {100 * key[1]:.0f} %, width {key[0]} ends with ")
            assert f"{r['params_final']:,.0f} non-zero" in text and f"averaged {r['params_average']:,.0f}" in text
            assert f"dense model of {r['dense_equivalent']:,.0f}" in text
            assert f"worth {r['worth_per_final_param']:.2f} dense ones" in text
            for e in r["errors"].values():
                assert f"{abs(100 * e):.1f} % {'more' if e > 0 else 'less'}" in text
            assert f"at its {st.COUNTS[count]} count predicts" in text
            assert text in ex.message.value.replace("&#x27;", "'")


def test_error_and_joint_tables_are_the_analysis(ex, analysis):
    errors = ex.shown_tables["errors"]
    for key, r in by_key(analysis).items():
        row = errors.filter(pl.col("run") == st.run_label(*key)).row(0, named=True)
        for count, e in r["errors"].items():
            assert row[f"error at {st.COUNTS[count]} count (%)"] == pytest.approx(100 * e, rel=1e-12)
        assert row["dense params per final param"] == pytest.approx(r["worth_per_final_param"], rel=1e-12)
        assert row["chosen"] == (key == ex.run.value)
    joint = ex.shown_tables["joint"]
    for count, label in st.COUNTS.items():
        row = joint.filter(pl.col("count") == label).row(0, named=True)
        assert row["largest |error| (%)"] == pytest.approx(100 * analysis["joint"][count]["max_rel_error"], rel=1e-9)


def test_checks_are_what_verify_reports():
    report = sparse_dense.verify(require_proxy("sparse"))
    shown = st.sparse_checks()
    assert shown["check"].to_list() == [c["name"] for c in report["checks"]]
    assert shown["passed"].to_list() == [c["passed"] for c in report["checks"]]
    assert shown["value"].to_list() == [str(c["value"]) for c in report["checks"]]
    assert shown.height == 5  # every pre-registered check ran (all 14 runs are in the shipped file)


def test_schedule_is_the_one_the_runs_trained_with():
    from workbench.proxies.sparsity import cubic_sparsity

    for cfg in (c for c in sparse_dense.configs() if c.sparsity):
        steps = np.arange(cfg.steps + 1)
        want = [cubic_sparsity(int(s), cfg.steps, cfg.sparsity, cfg.prune_start, cfg.prune_end) for s in steps]
        got = st.cubic(steps / cfg.steps, cfg.sparsity, cfg.prune_start, cfg.prune_end)
        assert got == pytest.approx(want, abs=1e-12)


def test_schedule_agrees_with_what_each_run_logged(analysis):
    """Dense to 25 %, the target by 75 %, never rising; its mean is the run's recorded average; the logged
    counts sit on it, at most one mask update (1 % of the steps) behind."""
    for key, r in by_key(analysis).items():
        cfg = next(c for c in sparse_dense.configs() if (c.width, c.sparsity) == key)
        sched = st.schedule(*key, points=cfg.steps + 1)
        t, n = sched["progress"].to_numpy(), sched["params"].to_numpy()
        assert (np.diff(n) <= 1e-9).all()
        assert n[t <= cfg.prune_start] == pytest.approx(r["params_dense"], rel=1e-12)
        assert n[t >= cfg.prune_end] == pytest.approx(r["params_final"], abs=1.0)
        assert n[1:].mean() == pytest.approx(r["params_average"], rel=0.01)
        logged = st.logged_counts().filter((pl.col("width") == key[0]) & (pl.col("sparsity") == key[1]))
        assert logged.height >= 3 and logged["progress"].max() == 1.0
        lag = max(1, cfg.steps // 100) / cfg.steps
        for p, count in logged.select("progress", "params").iter_rows():
            now = np.interp(p, t, n)
            before = np.interp(max(0.0, p - lag), t, n)
            slack = 1e-3 * r["params_dense"]  # masks are rounded per matrix
            assert now - slack <= count <= before + slack, (key, p, count, now, before)


def test_moving_the_controls_changes_the_figure(ex):
    spec, text = ex.live.widget.spec, ex.message.value
    ex.count.value = "final"
    assert ex.live.widget.spec != spec and ex.message.value != text
    runs = ex.shown_tables["runs"].filter(pl.col("kind") != "dense")
    assert runs["params"].to_list() == runs["params_final"].to_list()
    assert ex.shown_tables["note"]["text"][0] == "sparse runs at their final non-zero count"
    schedule = ex.shown_tables["schedule"]
    other = next(v for _, v in ex.run.options if v != ex.run.value)
    ex.run.value = other
    assert not ex.shown_tables["schedule"].equals(schedule)
    chosen = ex.shown_tables["runs"].filter(pl.col("chosen"))
    assert chosen["run"].to_list() == [st.run_label(*other)]
    assert ex.last_update_seconds < 0.5


def test_export_writes_figure_tables_caption_and_bibtex(ex, tmp_path):
    names = {p.name for p in ex.export()}
    stem = "09_sparse_training-001"
    assert {f"{stem}.png", f"{stem}.svg", f"{stem}.pdf", f"{stem}-runs.csv", f"{stem}-schedule.csv"} <= names
    assert {f"{stem}.bib", f"{stem}-caption.txt", f"{stem}-errors.csv", f"{stem}-joint.csv"} <= names
    assert (tmp_path / f"{stem}.svg").read_text().lstrip().startswith("<svg")
    bibtex = (tmp_path / f"{stem}.bib").read_text()
    assert "arXiv:2501.12486" in bibtex and "arXiv:1710.01878" in bibtex
    assert ex.sentence() in (tmp_path / f"{stem}-caption.txt").read_text()


def test_batch_figure_is_registered_with_its_input():
    from workbench.course import LESSONS, REGISTRY, REQUIRES, load_all

    load_all()
    assert "sparse_training" in LESSONS[9]
    assert REQUIRES["sparse-dense-average-count"] == ("proxies/sparse",)
    fig = REGISTRY["sparse-dense-average-count"]()
    assert fig.notebook == "09_proxies" and fig.bibtex.lstrip().startswith("@")
    assert set(fig.tables) >= {"runs", "fit", "equivalent", "schedule", "logged", "errors", "joint"}


def test_missing_preset_rows_are_a_clear_error(tmp_path, monkeypatch):
    from workbench.proxies import results

    monkeypatch.setattr(results, "datasets_dir", lambda: tmp_path)
    st.clear_caches()
    try:
        with pytest.raises(WorkbenchError, match=r"datasets/proxies/sparse\.csv"):
            st.SparseTrainingExplorer(export_dir=tmp_path)
    finally:
        monkeypatch.undo()
        st.clear_caches()
