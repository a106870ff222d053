"""Lesson 14, "Checking a scaling claim before paying for it": the seven steps on the bundled example and on a
user's CSV, driven without a browser.

The properties: the typed Chinchilla formula reaches the registered law's optimum; the big run's calibrated
interval is exactly what workbench.analysis.calibrate gives and envelopes the bootstrap one; bad files and
hostile formulas are one line under their step and change nothing; moving a slider refits nothing; the report
states the claim, the interval and the evidence; exports write numbered files and never overwrite.
"""

from __future__ import annotations

import datetime
import html
import re

import numpy as np
import pytest

from workbench.analysis.calibrate import calibrated_intervals
from workbench.course import claim_check as cc
from workbench.course.claim_widgets import ClaimCheck, ClaimExplorer
from workbench.errors import WorkbenchError
from workbench.fit import fit
from workbench.laws import get_law

DEFAULT_TERMS = "`your law: E + A/params**alpha + B/tokens**beta`"
HOFFMANN = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}


def ladder_csv(path, sizes: int = 6, seed: int = 0, names=("N", "D", "L")):
    """A small ladder from the Chinchilla law with 0.3 % noise, written under the aliases N, D, L."""
    n, d = np.meshgrid(np.geomspace(1e7, 1e10, sizes), np.geomspace(1e9, 1e11, 4))
    cols = {"params": n.ravel(), "tokens": d.ravel()}
    loss = get_law("chinchilla").predict(cols, HOFFMANN) * np.exp(np.random.default_rng(seed).normal(0, 0.003, n.size))
    rows = [",".join(names)] + [f"{a:.17g},{b:.17g},{c:.17g}" for a, b, c in zip(cols["params"], cols["tokens"], loss)]
    path.write_text("\n".join(rows) + "\n")
    return path


def one_red_line(widget) -> str:
    text = widget.value
    assert text.startswith('<span style="color:#b3261e"><b>✖ ') and "\n" not in text and "Traceback" not in text
    return html.unescape(text)


@pytest.fixture(scope="module")
def bundled():
    """Steps 1-5 on the bundled example (the scoreboard against chinchilla and kaplan_nd takes a few seconds)."""
    return cc.compare_claim(cc.bundled_claim(), cc.LIBRARY)


@pytest.fixture
def check(tmp_path):
    """The widgets on a user's CSV (24 runs, 6 sizes), fitted and backtested."""
    c = ClaimCheck(export_dir=tmp_path / "exports")
    assert c.load(str(ladder_csv(tmp_path / "runs.csv")))
    assert c.fit() and c.backtest()
    return c


def test_the_bundled_example_reaches_the_registered_laws_optimum(bundled):
    assert bundled.data.source == "chinchilla_epoch" and bundled.frame.height == 245
    assert bundled.law.name == cc.YOUR_LAW and bundled.law.variables == ("params", "tokens")
    registered = fit(get_law("chinchilla"), bundled.frame)
    for name, value in registered.params.items():
        assert bundled.fit.params[name] == pytest.approx(value, rel=1e-6)
    assert bundled.fit.draws is not None and len(bundled.fit.draws) > 0.9 * cc.DRAWS


def test_the_big_runs_interval_is_the_calibrated_one_and_envelopes_the_bootstrap(bundled):
    point = cc.default_big_run(bundled)
    assert point == cc.BIG_RUN  # Chinchilla's own run is within the sliders' reach
    path, pi = cc.predict_path(bundled, point)
    (expected,) = calibrated_intervals(bundled.fit, [point], bundled.calibration)
    assert (pi.lo, pi.hi, pi.decades) == pytest.approx((expected.lo, expected.hi, expected.decades), rel=1e-9)
    assert pi.bootstrap == pytest.approx(expected.bootstrap, rel=1e-9)
    assert pi.lo < pi.bootstrap[0] < path["value"][-1] < pi.bootstrap[1] < pi.hi
    assert pi.calibrated and not pi.beyond_backtests
    assert pi.decades == pytest.approx(np.log10(1.4e12 / bundled.frame["tokens"].max()))  # tokens: the farther one
    # the path runs from the smallest run (inside the data: no widening beyond the in-range floor) to the big run
    assert path["size"][0] == bundled.frame["params"].min() and path["size"][-1] == pytest.approx(7e10)
    assert path["decades"][0] == 0 and np.all(np.diff(path["size"].to_numpy()) > 0)
    assert (path["pi_lo"] <= path["ci_lo"]).all() and (path["pi_hi"] >= path["ci_hi"]).all()


def test_a_run_farther_than_any_backtest_is_flagged(bundled):
    point = {"params": 1e13, "tokens": 1e14}
    _, pi = cc.predict_path(bundled, point)
    assert pi.beyond_backtests and pi.decades > bundled.calibration.reach
    sentence = cc.interval_sentence(bundled, point, pi)
    assert "Flagged: farther out than any backtest" in sentence


def test_the_scoreboard_compares_with_the_library(bundled):
    board = bundled.board
    assert set(board.names) == {cc.YOUR_LAW, "chinchilla", "kaplan_nd"}
    # the typed formula is the registered law: the same backtest errors, and both beat kaplan_nd
    assert board.entry(cc.YOUR_LAW).common_mae_log == pytest.approx(board.entry("chinchilla").common_mae_log, rel=1e-4)
    assert board.favoured in (cc.YOUR_LAW, "chinchilla")
    assert board.entry("kaplan_nd").common_mae_log > board.entry("chinchilla").common_mae_log


def test_the_report_states_the_claim_the_interval_and_the_evidence(bundled, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    point = cc.BIG_RUN
    text = cc.claim_report(bundled, point)
    _, pi = cc.predict_path(bundled, point)
    assert list(tmp_path.iterdir()) == []  # a pure function: writing happens only on the button
    assert cc.interval_sentence(bundled, point, pi) in text  # the claim
    assert f"{pi.lo:.4g} to {pi.hi:.4g}" in text and f"{pi.bootstrap[0]:.4g} to {pi.bootstrap[1]:.4g}" in text
    assert cc.COVERS in text  # what the interval covers and what it cannot
    for evidence in ("**Data.** chinchilla_epoch", "245 runs", "40 distinct params", DEFAULT_TERMS, "**Backtests.**"):
        assert evidence in text
    assert f"{bundled.errors.n:,} predictions" in text and "| decades beyond the data |" in text
    assert "| kaplan_nd |" in text and "The backtests favour" in text
    assert "## Caveats" in text and "B poorly identified" in text
    assert "arXiv:1604.04173" in text and "Hoffmann et al. 2022" in text
    for name, value in bundled.fit.params.items():
        assert re.search(rf"\| {name} \| {value:.6g} \|", text)
    for table in re.findall(r"(?:^\|.*\|$\n?)+", text, flags=re.M):  # every Markdown table keeps its columns
        widths = {len(re.findall(r"(?<!\\)\|", line)) for line in table.strip().splitlines()}
        assert len(widths) == 1, table


def test_exercise_one_the_bootstrap_misses_held_out_runs_the_calibrated_interval_covers(tmp_path):
    """The notebook's exercise 1 and its solution: fit below 2B parameters, predict the 57 larger runs."""
    import polars as pl

    from workbench import corpus

    runs = corpus.loss_points("chinchilla_epoch").select("params", "tokens", "loss")
    runs.filter(pl.col("params") < 2e9).write_csv(tmp_path / "small.csv")
    data = cc.from_path(str(tmp_path / "small.csv"))
    claim = cc.backtest_claim(cc.fit_claim(data, cc.law_of(cc.DEFAULT_FORMULA, data)))
    held = runs.filter(pl.col("params") >= 2e9)
    intervals = [cc.predict_path(claim, r)[1] for r in held.iter_rows(named=True)]
    boot = sum(pi.bootstrap_covers(y) for pi, y in zip(intervals, held["loss"]))
    calibrated = sum(pi.covers(y) for pi, y in zip(intervals, held["loss"]))
    assert (claim.frame.height, claim.errors.levels.size, held.height) == (188, 30, 57)
    assert (boot, calibrated) == (17, 52)


def test_citations_cite_each_paper_once(bundled):
    keys, missing = cc.references(bundled)
    assert missing == []
    assert keys[0] == "chinchilla_epoch" and "1604.04173" in keys and "2001.08361" in keys
    bib = cc.claim_bibtex(bundled)
    assert bib.count("Training Compute-Optimal") == 1  # chinchilla's arXiv:2203.15556 comes with the data source


def test_every_library_law_offered_has_its_papers_in_the_workbench():
    data = cc.bundled()
    for name in cc.library_options(data):
        law = get_law(name)
        assert set(law.variables) <= {"params", "tokens", "flops"} | set(data.columns), name
    assert set(cc.LIBRARY) <= set(cc.library_options(data))


def test_a_users_csv_goes_through_every_step(check, tmp_path):
    original = (tmp_path / "runs.csv").read_bytes()
    assert check.claim.frame.height == 24 and check.law.variables == ("params", "tokens")  # aliases N, D, L
    assert "runs.csv: 24 rows" in check.messages["data"].value
    assert "fitted to 24 runs" in check.messages["fit"].value
    assert check.claim.calibration.calibrated and check.claim.errors.levels.size == 6
    assert check.compare(["chinchilla", "kaplan_nd"])
    assert check.claim.board.favoured in (cc.YOUR_LAW, "chinchilla")  # the data came from the Chinchilla law
    assert "the backtests favour" in check.messages["compare"].value
    assert check.explorer is not None and check.prediction.children[-1] is check.explorer.live.widget
    assert (tmp_path / "runs.csv").read_bytes() == original  # user files are never modified


def test_a_hostile_or_malformed_formula_is_one_line_and_changes_nothing(check):
    law, claim, ex = check.law, check.claim, check.explorer
    for text in (
        "__import__('os').system('id')",
        "E + A/params**alpha +",
        "lambda: params",
        "params.__class__",
        "[p for p in params]",
        "foo(params)",
        "(" * 200 + "params" + ")" * 200,
        "E + A/params**alpha" * 200,
    ):
        assert not check.use_law(text)
        one_red_line(check.messages["law"])
        assert check.law is law and check.claim is claim and check.explorer is ex
    assert not check.use_law("os.system('id')") and "attribute access" in check.messages["law"].value


@pytest.mark.parametrize(
    "content, expected",
    [
        ("", "the file is empty"),
        ("params,tokens,loss\n", "has a header but no data rows"),
        (None, "no such file"),
        ("dir", "is a directory"),
    ],
)
def test_a_bad_file_is_one_line_and_keeps_the_data(check, tmp_path, content, expected):
    data, claim = check.data, check.claim
    path = tmp_path / "bad.csv"
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_text(content)
    assert not check.load(str(path))
    assert expected in one_red_line(check.messages["data"]) and "bad.csv" in check.messages["data"].value
    assert check.data is data and check.claim is claim


def test_a_bad_cell_is_named_at_the_fit_and_the_last_fit_is_forgotten(check, tmp_path):
    path = tmp_path / "cells.csv"
    path.write_text("params,tokens,loss\n1e8,2e9,3.1\n2e8,4e9,abc\n")
    assert check.load(str(path))
    assert check.claim is None and check.explorer is None  # new data: the old fit no longer applies
    assert not check.fit()
    message = one_red_line(check.messages["fit"])
    assert "cells.csv" in message and "loss" in message and "row 2" in message


def test_too_few_sizes_is_refused_at_the_backtest(tmp_path):
    c = ClaimCheck(export_dir=tmp_path / "exports")
    path = tmp_path / "three.csv"
    path.write_text("params,loss\n1e8,3.0\n2e8,2.9\n4e8,2.8\n1e8,3.01\n")
    assert c.load(str(path)) and c.use_law("E + A/params**alpha") and c.fit()
    assert not c.backtest()
    assert "at least 4 distinct 'params' values" in one_red_line(c.messages["backtest"])
    assert c.explorer is None and "run its backtests" in c.prediction.children[0].value
    assert c.write_report() == [] and "run the backtests first" in one_red_line(c.messages["export"])


def test_steps_out_of_order_say_what_to_do_first(tmp_path):
    c = ClaimCheck(export_dir=tmp_path / "exports")
    assert not c.backtest() and "fit the law first" in one_red_line(c.messages["backtest"])
    assert not c.compare() and "fit the law first" in one_red_line(c.messages["compare"])
    assert c.export_figure() == [] and not (tmp_path / "exports").exists()


def test_an_upload_is_read_and_messages_name_it(tmp_path):
    c = ClaimCheck(export_dir=tmp_path / "exports")
    stamp = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
    good = ladder_csv(tmp_path / "x.csv", names=("params", "tokens", "loss")).read_bytes()
    c.upload.value = ({"name": "my runs.csv", "type": "text/csv", "size": len(good), "content": memoryview(good),
                       "last_modified": stamp},)  # fmt: skip
    assert c.data.label == "my_runs.csv" and "my_runs.csv: 24 rows" in c.messages["data"].value
    assert c.fit() and c.claim.frame.height == 24
    bad = b"params,tokens,loss\n1e8,2e9,oops\n"
    c.upload.value = ({"name": "../../evil.csv", "type": "text/csv", "size": len(bad), "content": memoryview(bad),
                       "last_modified": stamp},)  # fmt: skip
    assert c.data.label == "evil.csv" and not c.fit()
    message = one_red_line(c.messages["fit"])
    assert "evil.csv" in message and "claim-upload" not in message and "/tmp" not in message


def test_a_toml_law_file_is_a_law_too(check):
    from conftest import ROOT

    assert check.use_law(str(ROOT / "datasets" / "laws" / "chinchilla_by_hand.toml"))
    assert check.law.name == "chinchilla_by_hand" and check.claim is None
    assert check.fit() and check.claim.fit.law.name == "chinchilla_by_hand"


def test_moving_a_slider_refits_nothing(check, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("a slider move must not fit or backtest")

    monkeypatch.setattr(cc, "fit", forbidden)
    monkeypatch.setattr(cc, "rolling_origin", forbidden)
    ex, claim = check.explorer, check.claim
    before = ex.message.value
    for value in (1e9, 1e11, 1e12):
        ex.sliders["params"].value = value
        assert ex.last_update_seconds < 1.0
        assert ex.shown_tables["claim"]["size"][0] == pytest.approx(value, rel=1e-6)
    assert ex.message.value != before and check.claim is claim


def test_the_explorer_needs_backtests(bundled):
    from dataclasses import replace

    with pytest.raises(WorkbenchError, match="run the backtests"):
        ClaimExplorer(replace(bundled, errors=None, calibration=None))


def test_export_writes_the_figure_and_the_report_without_overwriting(check, tmp_path):
    out = tmp_path / "exports"
    report = {p.name for p in check.write_report()}
    assert report == {"claim-report-001.md", "claim-report-001.bib"}
    text = (out / "claim-report-001.md").read_text()
    assert text.startswith("# Checking a scaling claim") and "runs.csv: 24 runs" in text
    assert (out / "claim-report-001.bib").read_text().lstrip().startswith("@")
    assert {p.name for p in check.write_report()} == {"claim-report-002.md", "claim-report-002.bib"}
    figure = {p.name for p in check.export_figure()}
    assert {"claim-check-001.png", "claim-check-001.svg", "claim-check-001.pdf", "claim-check-001.bib"} <= figure
    assert (out / "claim-check-001.pdf").read_bytes()[:4] == b"%PDF"
    assert "Wrote" in check.messages["export"].value


def test_a_lazy_frame_gives_the_bundled_fit_and_collects_only_the_laws_columns(tmp_path):
    import polars as pl

    from workbench import corpus

    lazy = (
        corpus.scan("chinchilla_epoch", store=tmp_path)
        .filter(pl.col("metric") == "loss")
        .with_columns(pl.col("value").alias("loss"))
    )
    data = cc.from_frame(lazy, "chinchilla (scanned)")
    assert data.n_rows == 245 and "loss" in data.columns
    formula = "E + A/params**alpha + B/tokens**beta"
    scanned = cc.fit_claim(data, cc.law_of(formula, data), draws=10)
    shipped = cc.fit_claim(cc.bundled(), cc.law_of(formula, cc.bundled()), draws=10)
    assert scanned.fit.params == pytest.approx(shipped.fit.params, rel=1e-9)
    plan = lazy.select(["params", "tokens", "loss"]).explain()
    assert "params" in plan  # the projection reaches the parquet scan
    with pytest.raises(WorkbenchError, match="chinchilla \\(scanned\\): column 'width' row 1: missing value"):
        data.rows(["width"])
    with pytest.raises(WorkbenchError, match="a polars DataFrame or LazyFrame is needed"):
        cc.from_frame([1, 2, 3])
