"""Lesson 11's repetition section: the explorer over the `repetition` preset's shipped rows.

What it shows must be the numbers of :mod:`workbench.proxies.repetition` (what ``sweep --verify``
checks), recomputed here independently of the course module's cache; its controls must change
what it shows; runs it leaves off the loss axis must be named; its export must write the figure,
the tables, the caption and the BibTeX.
"""

from __future__ import annotations

import re

import polars as pl
import pytest

from workbench.course import repeated_data as rd
from workbench.course.inputs import require_proxy
from workbench.errors import WorkbenchError
from workbench.proxies import repetition


@pytest.fixture(scope="module")
def analysis():
    """The preset's analysis, without its bootstrap (fast), straight from the analysis module."""
    return repetition.analyse(require_proxy("repetition"), bootstrap=False)


@pytest.fixture
def ex(tmp_path):
    return rd.RepeatedDataExplorer(export_dir=tmp_path)


def numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"\d+\.\d+|\d+(?:\.\d+)?e[+-]?\d+", text)]


def test_runs_and_fitted_values_are_the_analysis(ex, analysis):
    ex.axis.value = "all"
    for source in rd.SOURCES:
        ex.source.value = source
        want = analysis[source]["points"].sort("run_id")
        got = ex.shown_tables["runs"].sort("run_id")
        assert got["run_id"].to_list() == want["run_id"].to_list()
        assert got["loss"].to_list() == want["loss"].to_list()
        assert got["fitted"].to_numpy() == pytest.approx(want["fitted"].to_numpy(), rel=1e-9)
        assert (got["domain"] == rd.DOMAIN[False]).to_list() == (~want["in_fit"]).to_list()


def test_sentence_and_shares_are_the_analysis(ex, analysis):
    paper = repetition.paper_shares()
    for source in rd.SOURCES:
        ex.source.value = source
        a = analysis[source]
        for e in repetition.EPOCHS:
            ex.epochs.value = e
            share = a["shares"][e]
            text = ex.sentence()
            assert f"worth {'at most ' if share['upper_bound'] else ''}{share['measured']:.2f} " in text
            assert f"paper's law: {paper[e]:.2f}" in text and f"this fit's: {share['law']:.2f}" in text
            assert f"R_D* = {a['params']['rd_star']:.3g} [" in text
            chosen = ex.shown_tables["chosen"].row(0, named=True)
            assert chosen["epochs"] == e and chosen["worth"] == pytest.approx(share["measured"], rel=1e-12)
            assert chosen["law"] == pytest.approx(share["law"], rel=1e-12)
            assert (e < 40) == (str(repetition.PARAMS) not in text.replace(",", ""))  # only U < N is flagged
        shown = ex.shown_tables["shares"].filter(pl.col("source") == rd.SOURCES[source]).sort("epochs")
        measured = [a["shares"][e]["measured"] for e in repetition.EPOCHS]
        assert shown["worth"].to_list() == pytest.approx(measured, rel=1e-12)
        assert shown["kind"].to_list()[-1] == rd.MEASURED[True]  # 40 epochs: only a bound, and said so


def test_law_curves_pass_through_the_analysis_shares(ex, analysis):
    paper = repetition.paper_shares()
    for source in rd.SOURCES:
        ex.source.value = source
        curves = ex.shown_tables["share_law"]
        for e in repetition.EPOCHS:
            at = curves.filter((pl.col("epochs") - e).abs() < 1e-9)
            fitted = at.filter(pl.col("source") == rd.SOURCES[source])["worth"][0]
            assert fitted == pytest.approx(analysis[source]["shares"][e]["law"], rel=1e-9)
            assert at.filter(pl.col("source") == rd.PAPER)["worth"][0] == pytest.approx(paper[e], rel=1e-9)
        # the worth of a repeat never rises with epochs, by either law
        for name in (rd.SOURCES[source], rd.PAPER):
            w = curves.filter(pl.col("source") == name).sort("epochs")["worth"].to_numpy()
            assert (w[1:] <= w[:-1] + 1e-12).all()


def test_interval_and_checks_are_what_verify_reports():
    checks = rd.repetition_checks()
    assert checks.height == 10
    assert checks["passed"].sum() == 9
    failing = checks.filter(~pl.col("passed"))["check"][0]
    assert failing.startswith("pystdlib: largest |fitted / measured - 1|")
    summary = rd.repeated_tables("zipf", 4)["summary"]
    for source in rd.SOURCES:
        shown = summary.filter(pl.col("source") == rd.SOURCES[source])["R_D* [95 %]"][0]
        verified = checks.filter(pl.col("check").str.starts_with(f"{source}: fitted R_D*"))["value"][0]
        want = numbers(verified)
        if shown.endswith("open]"):  # the interval reaches the engine's bound on R_D*
            assert want[-1] >= 0.99 * rd.rd_star_upper()
            want = want[:-1]
        assert numbers(shown) == pytest.approx(want, rel=5e-3)


def test_moving_the_controls_changes_the_figure(ex):
    spec, text = ex.live.widget.spec, ex.message.value
    ex.epochs.value = 16
    assert ex.live.widget.spec != spec and ex.message.value != text
    assert ex.shown_tables["runs"].filter(pl.col("chosen"))["epochs"].round().unique().to_list() == [16.0]
    zipf_runs = ex.shown_tables["runs"]
    ex.source.value = "pystdlib"
    assert not ex.shown_tables["runs"]["loss"].equals(zipf_runs["loss"])
    assert "Python source" in ex.sentence()
    assert "⚠ Caution: Python source law fit: E at its lower bound 0" in ex.message.value  # shown with its fit
    assert ex.last_update_seconds < 0.5


def test_runs_off_the_loss_axis_are_named_not_dropped(ex, analysis):
    ex.axis.value = "fit"
    shown, off = ex.shown_tables["runs"], ex.shown_tables["off_axis"]
    assert shown.height + off.height == analysis["zipf"]["points"].height
    assert (off["unique_tokens"] < repetition.PARAMS).all() and off.height == 2
    for loss in off["loss"]:
        assert f"{loss:.2f}" in ex.message.value and f"{loss:.2f}" in ex.caption()
    ex.axis.value = "all"
    assert ex.shown_tables["off_axis"].height == 0 and "Off this axis" not in ex.message.value
    assert ex.shown_tables["runs"].height == analysis["zipf"]["points"].height


def test_export_writes_figure_tables_caption_and_bibtex(ex, tmp_path):
    names = {p.name for p in ex.export()}
    stem = "11_repeated_data-001"
    assert {f"{stem}.png", f"{stem}.svg", f"{stem}.pdf", f"{stem}-runs.csv", f"{stem}-shares.csv"} <= names
    assert {f"{stem}.bib", f"{stem}-caption.txt", f"{stem}-summary.csv"} <= names
    svg = (tmp_path / f"{stem}.svg").read_text()
    assert svg.lstrip().startswith("<svg")
    for legend in ("outside the fit domain", "an upper bound", "law (C4)"):  # every legend drawn, none merged away
        assert re.search(rf"<text[^>]*>[^<]*{re.escape(legend)}", svg), legend
    assert "arXiv:2305.16264" in (tmp_path / f"{stem}.bib").read_text()
    assert ex.sentence() in (tmp_path / f"{stem}-caption.txt").read_text()


def test_batch_figure_is_registered_with_its_input():
    from workbench.course import REGISTRY, REQUIRES, load_all

    load_all()
    assert REQUIRES["repeated-data-proxies"] == ("proxies/repetition",)
    fig = REGISTRY["repeated-data-proxies"]()
    assert fig.notebook == "11_data_constraints" and fig.bibtex.lstrip().startswith("@")
    assert set(fig.tables) >= {"runs", "law", "shares", "share_law", "summary"}


def test_missing_preset_rows_are_a_clear_error(tmp_path, monkeypatch):
    from workbench.proxies import results

    monkeypatch.setattr(results, "datasets_dir", lambda: tmp_path)
    rd.repetition_analysis.cache_clear()
    try:
        with pytest.raises(WorkbenchError, match=r"datasets/proxies/repetition\.csv"):
            rd.RepeatedDataExplorer(export_dir=tmp_path)
    finally:
        monkeypatch.undo()
        rd.repetition_analysis.cache_clear()
