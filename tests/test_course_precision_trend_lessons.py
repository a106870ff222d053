"""Lessons on precision, trends, crossovers and proxies (notebooks 06-09): the precision-budget algebra,
cached fits behind the sliders, crossing summaries, and the proxy explorer on synthetic rows (no training)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from workbench.analysis.compute_optimal import chinchilla_optimal
from workbench.analysis.precision_budget import bf16_optimal, compute_multiplier, fit_efficiencies, precision_optimal
from workbench.course import crossovers, inverse_scaling, precision, proxies, quantisation
from workbench.laws.efficiency import PRECISION_EFFICIENCY, QUARTET_BASE, QUEST_EFFICIENCIES

CHIN = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28, "gamma": 1.0}


def test_numerical_bf16_optimum_matches_the_chinchilla_closed_form():
    c = np.geomspace(1e18, 1e25, 8)
    num, exact = bf16_optimal(CHIN, c), chinchilla_optimal(CHIN, c)
    np.testing.assert_allclose(num.params, exact.params, rtol=1e-4)
    np.testing.assert_allclose(num.loss, exact.loss, rtol=1e-9)


def test_a_p_bit_run_is_a_bf16_run_with_m_times_the_compute():
    c = np.geomspace(1e19, 1e23, 5)
    eff_n, bits = 0.7, 4.0
    m = float(compute_multiplier(eff_n, bits))
    assert m == pytest.approx(0.7 * 16 / 4)
    p = precision_optimal(QUARTET_BASE, c, bits, eff_n)
    ref = bf16_optimal(QUARTET_BASE, c * m)
    np.testing.assert_allclose(p.loss, ref.loss, rtol=1e-12)
    np.testing.assert_allclose(p.params, ref.params / eff_n, rtol=1e-12)  # lower precision wants a bigger model
    # the loss the law gives the allocation, evaluated directly, with cost 6 N D bits / 16
    direct = PRECISION_EFFICIENCY.predict(
        {"params": p.params, "tokens": p.tokens}, {**QUARTET_BASE, "eff_N": eff_n, "eff_D": 1.0}
    )
    np.testing.assert_allclose(direct, p.loss, rtol=1e-9)
    np.testing.assert_allclose(6 * p.params * p.tokens * bits / 16, c, rtol=1e-9)


def test_fit_efficiencies_recovers_a_known_efficiency():
    rng = np.random.default_rng(0)
    n = np.repeat([3e7, 5e7, 1e8, 2e8], 3)
    d = n * np.tile([25.0, 100.0, 400.0], 4)
    truth = {**QUARTET_BASE, "eff_N": 0.6, "eff_D": 1.0}
    y = PRECISION_EFFICIENCY.predict({"params": n, "tokens": d}, truth) * np.exp(rng.normal(0, 1e-3, n.size))
    runs = pl.DataFrame({"params": n, "tokens": d, "loss": y})
    out = fit_efficiencies([("synthetic", runs, ("eff_N",))], QUARTET_BASE, draws=50)
    row = out.row(0, named=True)
    assert row["eff_N"] == pytest.approx(0.6, rel=0.03)
    assert row["eff_N_lo"] <= row["eff_N"] <= row["eff_N_hi"]
    assert row["eff_D"] == 1.0 and row["eff_D_lo"] is None


def test_quest_efficiencies_are_near_the_authors_and_w4a4_buys_most():
    eff = precision.quest_efficiencies()
    published = {"W2A2": "2", "W3A3": "3", "W4A4": "4", "FP4 (E2M1)": "fp4", "W8A8": "8"}
    for label, key in published.items():
        got = eff.filter(pl.col("label") == label)["eff_N"][0]
        assert abs(got - QUEST_EFFICIENCIES[key]) < 0.05, label
    assert eff.sort("m", descending=True)["label"][0] == "W4A4"
    assert abs(precision.quest_bf16_check() - 1) < 0.03  # the frozen base describes QuEST's BF16 runs


def test_sun_critical_data_sizes_and_splits_match_the_reference_sheet():
    crit = quantisation.sun_tables()["critical"]
    d = dict(zip(crit["format"], crit["tokens"]))
    assert d["E2M1 (FP4)"] == pytest.approx(3.9e11, rel=0.02)
    assert d["E4M3 (FP8)"] == pytest.approx(2.7e13, rel=0.02)
    splits = dict(zip(quantisation.sun_splits()["total bits"], quantisation.sun_splits()["best split"]))
    assert splits[4] == "E2M1" and splits[8] == "E4M3" and splits[16] == "E8M7"


def test_bnsl_fast_fits_agree_with_the_default_engine():
    fast, full = inverse_scaling.addition_fit("bnsl1", 14), inverse_scaling.addition_fit("bnsl1", 14, starts=3)
    assert fast.objective == pytest.approx(full.objective, rel=1e-6)
    t = inverse_scaling.addition_tables("bnsl1", 14)
    assert t["held_out"].height == 3 and t["points"]["fitted"].sum() == 14
    assert (
        inverse_scaling.addition_tables("bnsl2", 8)["curve"].height == 0
    )  # too few points: an empty curve, not an error


def test_crossing_summary_filters_the_cached_draws_by_horizon():
    from workbench.analysis.crossover import crossover

    data = crossovers.clip_mammut_data()
    cut = data.cuts[-1]
    r = crossovers.crossover_fits(data, cut)
    a, b = (r["fits"][n] for n in data.names)
    direct = crossover(a, b, "flops", r["lo"], 1e24, names=data.names)
    s = crossovers.crossing_summary(data, cut, 1e24)
    assert s["at"] == pytest.approx(direct.at)
    assert s["lower_before"] == direct.lower_before == "CLIP"
    assert s["ci"][0] < s["at"] < s["ci"][1]
    below = crossovers.crossing_summary(data, cut, s["at"] / 10)
    assert below["at"] is None and below["share"] <= s["share"]


def _synthetic_quick(h: float) -> pl.DataFrame:
    widths = [32, 48, 64, 96, 128, 192]
    n = np.array([12 * 2 * w * w for w in widths], float)
    loss = h + 40.0 * n**-0.45
    return pl.DataFrame(
        {
            "final": True,
            "metric": "loss",
            "precision_phase": None,
            "eval_set": "zipf-val",
            "value": loss,
            "seed": 0,
            "params": n,
            "width": widths,
            "tokens": 1e6,
        },
        schema_overrides={"precision_phase": pl.String},
    )


def test_proxy_explorer_fits_shipped_rows_and_its_range_slider_refits():
    h = proxies.entropy_rate("zipf")
    ex = proxies.ProxyExplorer(shipped=_synthetic_quick(h), export_dir="unused")
    assert "E = " in " ".join(ex.subtitle())
    res = proxies.proxy_fit(ex.selected())
    assert res.params["E"] == pytest.approx(h, rel=1e-3)
    lo, hi = ex.sizes.value
    ex.sizes.value = (lo + 0.6, hi)
    assert ex.last_update_seconds > 0
    assert ex._tables["points"]["fitted"].sum() < 6
    empty = proxies.ProxyExplorer(use_shipped=False, export_dir="unused")
    assert "train now" in " ".join(empty.subtitle())


def test_notebook_06_finds_each_shape_it_teaches():
    """Notebook 06 shows a case of every verdict; the verdicts must stay what the narrative says."""
    for fam in inverse_scaling.TRUTHFULQA_FAMILIES:
        assert inverse_scaling.truthfulqa_trend(fam)[0].verdict == "inverse scaling", fam
    for verdict, (run, eval_set) in inverse_scaling.TRAINING_TRENDS.items():
        trend, _ = inverse_scaling.pythia_training_trend(run, eval_set)
        assert trend.verdict == verdict, (run, eval_set, trend.sentence)
    assert inverse_scaling.truthfulqa_trend("Qwen1.5")[0].verdict == "no significant trend"  # exercise 3's solution
