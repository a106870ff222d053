"""Analyses: backtests, the three compute-optimal approaches, crossovers, inverse scaling."""

from __future__ import annotations

import dataclasses

import numpy as np
import polars as pl
import pytest
from conftest import synthetic_grid

from workbench import corpus
from workbench.analysis.backtest import backtest, compare, holdout_mask, parse_holdout
from workbench.analysis.compute_optimal import (
    approach1_envelope,
    approach2_isoflop,
    approach3_parametric,
    chinchilla_optimal,
    side_by_side,
)
from workbench.analysis.crossover import crossover
from workbench.analysis.inverse import scaling_trend
from workbench.errors import WorkbenchError
from workbench.fit import fit, make_problem
from workbench.fit.bootstrap import bootstrap
from workbench.laws import CHINCHILLA, get_law
from workbench.laws.base import Law, Parameter
from workbench.laws.chinchilla import HOFFMANN_2022

TRUTH = dict(HOFFMANN_2022.values)
A_TRUE = TRUTH["beta"] / (TRUTH["alpha"] + TRUTH["beta"])


# -- backtest -------------------------------------------------------------------------------


def test_holdout_expressions():
    assert parse_holdout("flops>1e21 & params>=1e9") == [("flops", ">", 1e21), ("params", ">=", 1e9)]
    with pytest.raises(WorkbenchError, match="cannot read"):
        parse_holdout("flops >> 3")
    data = {"flops": np.array([1e20, 1e22]), "params": np.array([1e9, 1e9])}
    assert holdout_mask(data, "flops>1e21").tolist() == [False, True]


def test_backtest_of_the_true_law_is_exact_and_flags_extrapolation():
    data = synthetic_grid(TRUTH)
    data["flops"] = 6 * data["params"] * data["tokens"]
    bt = backtest(CHINCHILLA, data, "flops>1e20")
    assert bt.n_test > 0 and bt.n_train + bt.n_test == len(data["loss"])
    assert bt.mae_log < 1e-6
    # the held-out corner is inside each variable's range but outside the data's hull
    assert bt.max_decades_beyond == 0.0
    assert bt.outside_hull_share == 1.0


def test_a_backtest_scores_fewer_held_out_rows_than_the_law_has_parameters():
    data = synthetic_grid(TRUTH)
    data["flops"] = 6 * data["params"] * data["tokens"]
    top = np.sort(data["flops"])[-2]
    bt = backtest(CHINCHILLA, data, f"flops>={top}")
    assert bt.n_test == 2 and bt.mae_log < 1e-6


def test_backtest_fits_with_the_options_given():
    from workbench.fit import FitOptions

    data = synthetic_grid(TRUTH)
    data["flops"] = 6 * data["params"] * data["tokens"]
    options = FitOptions(fixed={"E": 1.5}, tie=["beta=alpha"])
    bt = backtest(CHINCHILLA, data, "flops>1e20", options)
    assert bt.fit.params["E"] == 1.5 and bt.fit.params["beta"] == bt.fit.params["alpha"]
    assert backtest(CHINCHILLA, data, "flops>1e20", fixed={"E": 1.5}, tie=["beta=alpha"]).fit.params == bt.fit.params


def test_compare_ranks_the_right_law_first(besiroglu_points):
    table = compare([CHINCHILLA, get_law("power_offset_params")], besiroglu_points, holdout="flops>1e21")
    assert table["law"][0] == "chinchilla"
    assert table["aic"][0] < table["aic"][1]
    assert table["backtest_mae_log"][0] < table["backtest_mae_log"][1]


# -- compute-optimal ------------------------------------------------------------------------


def isoflop_points(values, budgets=(1e18, 1e19, 1e20, 1e21), per=9, spread=1.0):
    rows = []
    for c in budgets:
        n_opt = chinchilla_optimal(values, [c]).params[0]
        for n in np.geomspace(n_opt / 10**spread, n_opt * 10**spread, per):
            d = c / (6 * n)
            rows.append(
                {
                    "params": n,
                    "tokens": d,
                    "flops": c,
                    "loss": CHINCHILLA.predict({"params": [n], "tokens": [d]}, values)[0],
                }
            )
    return pl.DataFrame(rows)


def test_approach2_recovers_the_exponent_and_refuses_edge_budgets():
    pts = isoflop_points(TRUTH, spread=0.5)
    fit2 = approach2_isoflop(pts)
    assert fit2.a == pytest.approx(A_TRUE, abs=0.01)
    assert fit2.a + fit2.b == pytest.approx(1.0, abs=1e-9)
    # a budget whose sizes all lie on one side of the optimum has no interior minimum
    n_opt = chinchilla_optimal(TRUTH, [1e22]).params[0]
    one_sided = pl.DataFrame(
        [
            {
                "params": n,
                "tokens": 1e22 / (6 * n),
                "flops": 1e22,
                "loss": CHINCHILLA.predict({"params": [n], "tokens": [1e22 / (6 * n)]}, TRUTH)[0],
            }
            for n in np.geomspace(n_opt * 3, n_opt * 30, 5)
        ]
    )
    fit3 = approach2_isoflop(pl.concat([pts, one_sided]))
    assert len(fit3.refused) == 1 and "outside the sizes trained" in fit3.refused[0]
    with pytest.raises(WorkbenchError, match="fewer than two budgets"):
        approach2_isoflop(one_sided)


def test_approach1_envelope_tracks_the_optimum():
    rows = []
    for n in np.geomspace(1e7, 1e11, 25):
        for d in np.geomspace(1e8, 1e12, 40):
            rows.append(
                {
                    "run_id": f"n{n:.3g}",
                    "params": n,
                    "flops": 6 * n * d,
                    "loss": CHINCHILLA.predict({"params": [n], "tokens": [d]}, TRUTH)[0],
                }
            )
    fit1 = approach1_envelope(pl.DataFrame(rows), budgets=np.geomspace(1e18, 1e21, 12))
    assert fit1.a == pytest.approx(A_TRUE, abs=0.04)  # N_opt is quantised to the 25 trained sizes


def test_three_approaches_side_by_side_on_the_misfitting_runs():
    runs = corpus.load("misfitting", metric="loss").with_columns(pl.col("value").alias("loss"))
    final = runs.filter(pl.col("final"))
    law = fit(CHINCHILLA, final)
    table = side_by_side(
        [
            approach1_envelope(runs),
            approach2_isoflop(final),
            approach3_parametric(law.params, np.geomspace(final["flops"].min(), final["flops"].max(), 10)),
        ]
    )
    assert table.height == 3
    assert all(0.2 < a < 0.9 for a in table["a"])


PORIAN_TOLERANCE = 0.09  # our plain parabolas vs the authors' own optima; see the test's docstring


def test_porian_compute_optimal_exponents():
    """Porian et al. 2024: with Kaplan's counting and long warmup the exponent is Kaplan-like
    (~0.83); with standard counting, short warmup and tuned constant-LR it is Chinchilla-like (~0.5).

    We refit each of the 15 settings with plain Approach-2 parabolas on their isoFLOP points and
    compare with the exponent of the authors' own per-budget optima (carried in the corpus as
    metric 'fitted_optimal_loss'). They find the minimum differently (interpolation near the
    minimum with bootstrap), and our parabola refuses edge budgets, so we allow 0.09 per setting
    and require the headline move from ~0.83 to ~0.5 to reproduce within 0.03."""
    p = corpus.load("porian_discrepancies")
    ours = {}
    for cond in p["condition"].unique().to_list():
        g = p.filter(pl.col("condition") == cond)
        pts = g.filter(pl.col("metric") == "loss").with_columns(
            pl.col("value").alias("loss"), pl.col("flops").alias("budget")
        )
        opt = g.filter(pl.col("metric") == "fitted_optimal_loss")
        theirs = np.polyfit(np.log10(opt["flops"].to_numpy()), np.log10(opt["params"].to_numpy()), 1)[0]
        ours[cond] = approach2_isoflop(pts).a
        assert ours[cond] == pytest.approx(theirs, abs=PORIAN_TOLERANCE), cond
    assert ours["refinedweb hparams=base warmup=long decay=kaplan count=kaplan"] == pytest.approx(0.834, abs=0.04)
    assert ours["refinedweb hparams=tuned warmup=short decay=const count=standard"] == pytest.approx(0.50, abs=0.03)


# -- crossover ------------------------------------------------------------------------------


def curve_data(E, A, alpha, seed, n=12, noise=0.005):
    rng = np.random.default_rng(seed)
    x = np.geomspace(1e6, 1e9, n)
    y = (E + A * x**-alpha) * np.exp(rng.normal(0, noise, n))
    return {"params": x, "loss": y}


def test_crossover_with_interval():
    law = get_law("power_offset_params")
    da, db = curve_data(2.0, 40.0, 0.3, 1), curve_data(1.8, 4000.0, 0.45, 2)
    fa, fb = fit(law, da), fit(law, db)
    _, ba = bootstrap(make_problem(law, da), fa, draws=200, seed=1)
    _, bb = bootstrap(make_problem(law, db), fb, draws=200, seed=2)
    c = crossover(fa, fb, "params", 1e6, 1e10, boot_a=ba, boot_b=bb, names=("small-friendly", "large-friendly"))
    x = np.geomspace(1e6, 1e10, 100000)
    true_at = x[np.argmin(np.abs((2.0 + 40 * x**-0.3) - (1.8 + 4000 * x**-0.45)))]
    assert c.at is not None
    assert c.ci[0] <= true_at <= c.ci[1]
    assert c.lower_before == "small-friendly"
    assert "above it" in c.summary and c.share_crossing > 0.5


def bootstrapped_pair(draws=120):
    law = get_law("power_offset_params")
    da, db = curve_data(2.0, 40.0, 0.3, 1), curve_data(1.8, 4000.0, 0.45, 2)
    (fa, ba), (fb, bb) = (
        bootstrap(make_problem(law, d), fit(law, d), draws=draws, seed=s) for d, s in ((da, 1), (db, 2))
    )
    return fa, ba, fb, bb


def test_crossover_returns_each_draw_pairs_first_crossing_as_a_manual_loop_finds_it():
    """The loop callers used to write: refit nothing, re-solve each draw pair with crossover itself."""
    fa, ba, fb, bb = bootstrapped_pair()
    lo, hi = 1e6, 2.5e9  # the true crossing (1.9e9) is near the end: some draw pairs cross, some do not
    c = crossover(fa, fb, "params", lo, hi, boot_a=ba, boot_b=bb)
    manual = []
    for row_a, row_b in zip(ba.draws, bb.draws):
        ra = dataclasses.replace(fa, params=dict(zip(ba.names, row_a)))
        rb = dataclasses.replace(fb, params=dict(zip(bb.names, row_b)))
        at = crossover(ra, rb, "params", lo, hi).at
        manual.append(np.nan if at is None else at)
    np.testing.assert_array_equal(c.draws, manual)
    crossed = c.draws[np.isfinite(c.draws)]
    assert 0 < crossed.size < c.draws.size
    assert np.all((lo <= crossed) & (crossed <= hi))
    assert c.share_crossing == crossed.size / c.draws.size
    assert c.ci == tuple(float(v) for v in np.percentile(crossed, [2.5, 97.5]))
    law = fa.law
    for at, row_a, row_b in zip(c.draws, ba.draws, bb.draws):  # each crossing is where the two draws' curves meet
        if np.isfinite(at):
            ya, yb = (law.predict({"params": np.array([at])}, dict(zip(law.names, r)))[0] for r in (row_a, row_b))
            assert ya == pytest.approx(yb, rel=1e-9)


def test_crossover_pairs_the_draws_of_bootstrapped_results_when_asked():
    fa, ba, fb, bb = bootstrapped_pair()
    direct = crossover(fa, fb, "params", 1e6, 1e10, use_draws=True, level=0.9)
    converged_a, converged_b = (dataclasses.replace(b, draws=b.draws[b.converged]) for b in (ba, bb))
    by_boot = crossover(fa, fb, "params", 1e6, 1e10, boot_a=converged_a, boot_b=converged_b, level=0.9)
    np.testing.assert_array_equal(direct.draws, by_boot.draws)
    assert direct.ci == by_boot.ci and "90% CI" in direct.summary
    assert crossover(fa, fb, "params", 1e6, 1e10).draws is None  # not without asking: no draws solved
    plain = fit(get_law("power_offset_params"), curve_data(2.0, 40.0, 0.3, 1))
    with pytest.raises(WorkbenchError, match="the A fit has no bootstrap draws"):
        crossover(plain, fb, "params", 1e6, 1e10, use_draws=True)
    with pytest.raises(WorkbenchError, match="give boot_a and boot_b together"):
        crossover(fa, fb, "params", 1e6, 1e10, boot_a=ba)


def test_no_crossover_in_range():
    law = get_law("power_offset_params")
    fa, fb = fit(law, curve_data(2.0, 40.0, 0.3, 1)), fit(law, curve_data(2.5, 40.0, 0.3, 2))
    c = crossover(fa, fb, "params", 1e6, 1e9)
    assert c.at is None and c.summary.startswith("no crossover in range")


# -- inverse scaling ------------------------------------------------------------------------

LOGQUAD = Law(
    name="test_logquad",
    title="quadratic in log x (test only)",
    variables=("params",),
    parameters=(
        Parameter("c0", 0.01, 100.0, "c_0", log_scale=True, grid=(0.5, 1.0, 2.0, 4.0)),
        Parameter("c1", -1.0, 1.0, "c_1", grid=(-0.2, 0.0, 0.2)),
        Parameter("c2", -0.1, 0.1, "c_2", grid=(-0.01, 0.0, 0.01)),
    ),
    latex=r"\log L = \log c_0 + c_1 u + c_2 u^2",
    formula=lambda x, p: (
        p["c0"] * np.exp(p["c1"] * np.log10(x["params"] / 1e7) + p["c2"] * np.log10(x["params"] / 1e7) ** 2)
    ),
)


def test_a_trends_band_is_the_fits_prediction_interval():
    """The band is not re-derived: it is the bootstrapped fit's curve interval at the trend's level."""
    rng = np.random.default_rng(3)
    x = np.geomspace(1e7, 1e10, 16)
    data = {"params": x, "loss": 2.0 * np.exp(0.05 * np.log10(x / 1e7)) * np.exp(rng.normal(0, 0.01, x.size))}
    trend = scaling_trend(LOGQUAD, data, "params", draws=60, level=0.9, loss="squared")
    assert trend.fit.ci_level == 0.9 and np.all(np.isfinite(trend.fit.draw_curves({"params": trend.grid})))
    np.testing.assert_array_equal(np.stack(trend.band), np.stack(trend.fit.prediction_interval({"params": trend.grid})))


def test_trend_and_crossover_charts_carry_their_sentences():
    from workbench.viz.charts import crossover_chart, trend_chart, trend_tables

    rng = np.random.default_rng(0)
    x = np.geomspace(1e7, 1e10, 16)
    y = 2.0 * np.exp(0.05 * np.log10(x / 1e7)) * np.exp(rng.normal(0, 0.01, x.size))
    data = {"params": x, "loss": y}
    trend = scaling_trend(LOGQUAD, data, "params", draws=60, loss="squared")
    spec = trend_chart(trend_tables(trend, data), trend.sentence).to_dict()
    assert spec["title"]["subtitle"] == [trend.sentence]
    law = get_law("power_offset_params")
    fa, fb = fit(law, curve_data(2.0, 40.0, 0.3, 1)), fit(law, curve_data(1.8, 4000.0, 0.45, 2))
    c = crossover(fa, fb, "params", 1e6, 1e10)
    grid = np.geomspace(1e6, 1e10, 50)
    curves = {n: pl.DataFrame({"params": grid, "loss": f.predict({"params": grid})}) for n, f in (("A", fa), ("B", fb))}
    assert crossover_chart(curves, c).to_dict()["title"]["subtitle"] == [c.summary]
