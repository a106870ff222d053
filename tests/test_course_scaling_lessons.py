"""Lessons on power laws, compute-optimal training, over-training and downstream error (notebooks 01-05):
the analyses behind their narrative, checked against closed forms and the numbers the notebooks state."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from workbench.analysis.compute_optimal import chinchilla_optimal
from workbench.analysis.inference_cost import lifetime_optimal, plan_at_multiplier, tokens_for_loss
from workbench.course import chinchilla_approaches, downstream, lifetime_cost, overtraining, power_laws
from workbench.errors import WorkbenchError
from workbench.laws import CHINCHILLA

BESIROGLU = CHINCHILLA.preset("besiroglu2024").values


def test_lifetime_optimum_without_inference_is_the_compute_optimum():
    opt = chinchilla_optimal(BESIROGLU, [5.76e23])
    plan = lifetime_optimal(BESIROGLU, float(opt.loss[0]), [0.0])
    assert plan.params[0] == pytest.approx(opt.params[0], rel=1e-3)
    assert plan.tokens[0] == pytest.approx(opt.tokens[0], rel=2e-3)


def test_lifetime_optimum_shrinks_and_lies_on_the_iso_loss_curve():
    target = float(chinchilla_optimal(BESIROGLU, [5.76e23]).loss[0])
    plan = lifetime_optimal(BESIROGLU, target, np.geomspace(1e10, 1e16, 13))
    assert np.all(np.diff(plan.params) < 0)
    loss = CHINCHILLA.predict({"params": plan.params, "tokens": plan.tokens}, BESIROGLU)
    np.testing.assert_allclose(loss, target, rtol=1e-9)
    # brute force: no model on a fine grid is cheaper over its life
    n = np.geomspace(plan.params[6] / 3, plan.params[6] * 3, 20001)
    cost = 6 * n * tokens_for_loss(BESIROGLU, target, n) + 2 * n * plan.served[6]
    assert plan.total_flops[6] <= np.nanmin(cost) * (1 + 1e-6)


def test_plan_at_multiplier_reaches_the_target_at_that_ratio():
    target = 2.1
    plan = plan_at_multiplier(BESIROGLU, target, [5.0, 20.0, 500.0], 0.0)
    np.testing.assert_allclose(plan.tokens / plan.params, [5.0, 20.0, 500.0])
    np.testing.assert_allclose(
        CHINCHILLA.predict({"params": plan.params, "tokens": plan.tokens}, BESIROGLU), target, rtol=1e-9
    )


def test_unreachable_targets_are_clear_errors():
    with pytest.raises(WorkbenchError, match="irreducible"):
        lifetime_optimal(BESIROGLU, 1.5, [0.0])


def test_gadre_law_in_nd_form_matches_the_law():
    v = overtraining.GADRE_OT.preset("gadre2024_c4").values
    n, d = np.array([1e8, 1e9]), np.array([2e9, 3e11])
    direct = overtraining.GADRE_OT.predict({"flops": 6 * n * d, "token_multiplier": d / n}, v)
    np.testing.assert_allclose(
        CHINCHILLA.predict({"params": n, "tokens": d}, lifetime_cost.gadre_as_chinchilla(v)), direct, rtol=1e-12
    )


def test_overtraining_penalty_is_the_compute_ratio_at_equal_loss():
    v = overtraining.GADRE_OT.preset("gadre2024_c4").values
    c20 = 1e21
    loss = overtraining.GADRE_OT.predict({"flops": [c20], "token_multiplier": [20.0]}, v)[0]
    c320 = c20 * overtraining.overtraining_penalty(v, 320)
    assert overtraining.GADRE_OT.predict({"flops": [c320], "token_multiplier": [320.0]}, v)[0] == pytest.approx(
        loss, rel=1e-12
    )


def test_replication_numbers_the_notebook_states():
    table = {r["constants"]: r for r in chinchilla_approaches.replication_table().iter_rows(named=True)}
    rounded = table["Hoffmann 2022, published (App. D.2 Eq. 10, rounded)"]
    assert rounded["a = β/(α+β)"] == pytest.approx(0.4516, abs=1e-4)  # beta/(alpha+beta) = 0.28/0.62
    assert rounded["tokens/param there"] == pytest.approx(92.6, rel=2e-3)
    assert table["Hoffmann 2022, TeX source (unrounded; secondhand)"]["tokens/param there"] == pytest.approx(
        58.9, rel=2e-3
    )
    best = table["workbench fit (summed Huber, global)"]["objective (240 pts)"]
    assert table["L-BFGS-B defaults, summed Huber, 4 grid starts"]["objective (240 pts)"] == pytest.approx(
        best, rel=1e-4
    )
    assert table["L-BFGS-B defaults, averaged Huber, 4 grid starts"]["objective (240 pts)"] > 5 * best


def test_approaches_agree_on_tuned_runs_and_not_on_misfitting():
    tuned = [f.a for f in chinchilla_approaches.approach_set("porian-rw-tuned").fits.values()]
    assert max(tuned) - min(tuned) < 0.05
    misfit = [f.a for f in chinchilla_approaches.approach_set("misfitting").fits.values()]
    assert max(misfit) - min(misfit) > 0.3


def test_error_law_task_metadata_matches_the_corpus():
    tasks = set(downstream.gadre_accuracies()["task"].unique().to_list())
    assert tasks == set(downstream.GADRE_TASKS)
    assert set(downstream.GADRE_SUBSET) <= tasks and len(downstream.GADRE_SUBSET) == 17
    assert downstream.chance_error(46) == pytest.approx(0.75)


def test_extrapolation_error_shrinks_as_more_runs_are_fitted():
    h = power_laws.extrapolation_history("porian-rw-tuned")
    pure = np.abs(h["power law error (%)"].to_numpy())
    assert pure[0] > pure[-1] and np.all(h["power law error (%)"].to_numpy() < 0)


def test_gadre_training_sets_share_the_over_training_exponent():
    """Joint fit (constants per training set, eta shared) vs one fit per set: AIC prefers sharing, and the
    per-set exponents agree to 1 %."""
    sharing = overtraining.exponent_sharing()
    assert sharing.delta_aic > 0 and "prefers shared" in sharing.verdict
    eta = sharing.exponents.row(0, named=True)
    per_set = [eta[g] for g in ("c4", "redpajama", "refinedweb")]
    assert max(per_set) / min(per_set) < 1.01


def test_objective_table_shows_the_authors_objective_gives_the_authors_constants():
    t = overtraining.objective_table()
    for data in t["data"].unique().to_list():
        rows = {r["fit"]: r for r in t.filter(pl.col("data") == data).iter_rows(named=True)}
        ours = rows["least squares on losses (the authors' objective)"]
        code = rows["authors' code (fit_ds)"]
        assert ours["E"] == code["E"] and ours["eta"] == code["eta"]
        assert abs(ours["a"] - code["a"]) < 0.05 and abs(ours["b"] - code["b"]) < 0.05
