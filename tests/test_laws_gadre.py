"""Gadre et al. 2024 laws: recovery, the over-training law's shape, and the code-form conversion."""

from __future__ import annotations

import numpy as np
import pytest
from test_laws_registry import assert_recovers

from workbench.laws.gadre import GADRE_ERROR, GADRE_OVERTRAINING, from_code_form, overtraining_columns

C4 = GADRE_OVERTRAINING.preset("gadre2024_c4").values
C4_ERR = GADRE_ERROR.preset("gadre2024_c4_46tasks").values


def test_recovers_overtraining_law():
    """Compute 1e17-1e22 FLOPs at multipliers 5-640 (the paper's range); 1e-8 relative."""
    c, m = np.meshgrid(np.geomspace(1e17, 1e22, 6), [5.0, 20.0, 80.0, 320.0, 640.0])
    x = {"flops": c.ravel(), "token_multiplier": m.ravel()}
    assert_recovers(GADRE_OVERTRAINING, {**x, "loss": GADRE_OVERTRAINING.predict(x, C4)}, C4, rtol=1e-8)


def test_recovers_error_law():
    loss = np.linspace(2.3, 4.5, 10)
    assert_recovers(
        GADRE_ERROR, {"loss": loss, "error": GADRE_ERROR.predict({"loss": loss}, C4_ERR)}, C4_ERR, rtol=1e-8
    )


@pytest.mark.parametrize("m", [5.0, 20.0, 640.0])
def test_reducible_loss_is_one_power_law_in_compute_at_every_multiplier(m):
    """log(L - E) is linear in log C with slope -eta, the same for every M (the paper's claim)."""
    c = np.geomspace(1e18, 1e24, 7)
    red = GADRE_OVERTRAINING.predict({"flops": c, "token_multiplier": np.full_like(c, m)}, C4) - C4["E"]
    slopes = np.diff(np.log(red)) / np.diff(np.log(c))
    np.testing.assert_allclose(slopes, -C4["eta"], rtol=1e-9)


def test_code_form_equals_paper_form():
    """alpha N^b + beta 6^(b/2) (M N)^b + E == E + (a M^eta + b M^-eta) C^-eta with C = 6 N^2 M."""
    alpha, beta, b, e = 350.0, 190.0, -0.25, 1.6
    n, m = np.meshgrid(np.geomspace(1e7, 7e9, 5), [5.0, 20.0, 320.0])
    n, m = n.ravel(), m.ravel()
    code = alpha * n**b + beta * 6 ** (b / 2) * (m * n) ** b + e
    paper = GADRE_OVERTRAINING.predict(
        {"flops": 6 * n**2 * m, "token_multiplier": m}, from_code_form(alpha, beta, b, e)
    )
    np.testing.assert_allclose(paper, code, rtol=1e-12)


def test_error_rises_to_epsilon_as_loss_grows():
    assert GADRE_ERROR.predict({"loss": 1e3}, C4_ERR)[0] == pytest.approx(C4_ERR["epsilon"], rel=1e-12)
    err = GADRE_ERROR.predict({"loss": np.linspace(2.0, 5.0, 20)}, C4_ERR)
    assert np.all(np.diff(err) > 0)


def test_columns_from_size_and_tokens():
    cols = overtraining_columns([1e8, 4e8], [2e9, 1.28e11])
    np.testing.assert_allclose(cols["token_multiplier"], [20.0, 320.0])
    np.testing.assert_allclose(cols["flops"], [6 * 1e8 * 2e9, 6 * 4e8 * 1.28e11])
