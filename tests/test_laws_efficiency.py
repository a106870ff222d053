"""QuEST/Quartet precision-efficiency law: base-then-efficiency recovery and what is identified."""

from __future__ import annotations

import numpy as np
from test_laws_registry import assert_recovers

from workbench.laws.efficiency import BASE_PARAMETERS, QUARTET_BASE, QUEST_BASE
from workbench.laws.efficiency import PRECISION_EFFICIENCY as LAW

N, D = np.meshgrid(np.geomspace(3e7, 7e9, 6), np.geomspace(1e9, 2e11, 6))
X = {"params": N.ravel(), "tokens": D.ravel()}


def _data(values):
    return {**X, "loss": LAW.predict(X, values)}


def test_recovers_base_law_on_bf16_runs():
    """Efficiencies fixed at 1 (BF16); all six base constants free; 1e-8 relative."""
    truth = {**QUARTET_BASE, "eff_N": 1.0, "eff_D": 1.0}
    assert_recovers(LAW, _data(truth), truth, rtol=1e-8, fixed={"eff_N": 1.0, "eff_D": 1.0})


def test_recovers_efficiencies_with_the_base_frozen():
    truth = {**QUARTET_BASE, "eff_N": 0.645, "eff_D": 0.893}
    assert_recovers(LAW, _data(truth), truth, rtol=1e-8, fixed=QUARTET_BASE)


def test_efficiency_is_identified_only_relative_to_the_base():
    """A eff_N^-alpha is one number: rescaling A absorbs any eff_N, so efficiencies need a frozen base."""
    truth = {**QUARTET_BASE, "eff_N": 0.5, "eff_D": 1.0}
    same = {**truth, "eff_N": 1.0, "A": truth["A"] * 0.5 ** -truth["alpha"]}
    np.testing.assert_allclose(LAW.predict(X, same), LAW.predict(X, truth), rtol=1e-12)


def test_quest_form_is_the_gamma_one_special_case():
    v = {**QUEST_BASE, "eff_N": 0.69, "eff_D": 1.0}
    by_hand = v["A"] / (X["params"] * v["eff_N"]) ** v["alpha"] + v["B"] / X["tokens"] ** v["beta"] + v["E"]
    np.testing.assert_allclose(LAW.predict(X, v), by_hand, rtol=1e-12)


def test_lower_efficiency_means_higher_loss():
    base = {**QUARTET_BASE, "eff_N": 1.0, "eff_D": 1.0}
    assert np.all(LAW.predict(X, {**base, "eff_N": 0.6}) > LAW.predict(X, base))
    assert np.all(LAW.predict(X, {**base, "eff_D": 0.6}) > LAW.predict(X, base))
    assert set(BASE_PARAMETERS) | {"eff_N", "eff_D"} == set(LAW.names)
