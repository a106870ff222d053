"""Encoder-decoder NMT law: recovery, the optimal split, and proportional scaling."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from test_laws_registry import assert_recovers

from workbench.laws.nmt import NMT_ENCDEC, nmt_law, optimal_encoder_decoder_split

TRUTH = {"L_inf": 0.8, "alpha": 0.5, "p_e": 0.2, "p_d": 0.35}


def test_recovers_encoder_and_decoder_exponents():
    """A 6 x 6 grid of encoder and decoder sizes (20M-2B each); 1e-8 relative."""
    e, d = np.meshgrid(np.geomspace(2e7, 2e9, 6), np.geomspace(2e7, 2e9, 6))
    x = {"encoder_params": e.ravel(), "decoder_params": d.ravel()}
    assert_recovers(NMT_ENCDEC, {**x, "loss": NMT_ENCDEC.predict(x, TRUTH)}, TRUTH, rtol=1e-8)


@pytest.mark.parametrize("total", [1e8, 3e9])
def test_optimal_split_minimises_the_law_on_a_fixed_budget(total):
    def loss(share):
        x = {"encoder_params": np.array([share * total]), "decoder_params": np.array([(1 - share) * total])}
        return NMT_ENCDEC.predict(x, TRUTH)[0]

    best = minimize_scalar(loss, bounds=(0.01, 0.99), method="bounded", options={"xatol": 1e-10}).x
    n_e, n_d = optimal_encoder_decoder_split(total, TRUTH["p_e"], TRUTH["p_d"])
    assert n_e + n_d == pytest.approx(total)
    assert n_e / total == pytest.approx(best, abs=1e-6)
    assert n_e / n_d == pytest.approx(TRUTH["p_e"] / TRUTH["p_d"])


def test_proportional_scaling_is_a_power_law_with_exponent_pe_plus_pd():
    n = np.geomspace(1e8, 1e10, 5)
    red = NMT_ENCDEC.predict({"encoder_params": 0.4 * n, "decoder_params": 0.6 * n}, TRUTH) - TRUTH["L_inf"]
    np.testing.assert_allclose(np.diff(np.log(red)) / np.diff(np.log(n)), -(TRUTH["p_e"] + TRUTH["p_d"]), rtol=1e-10)


def test_reference_sizes_only_rescale_alpha():
    other = nmt_law(ref_encoder=2e8, ref_decoder=5e7, name="nmt_other")
    scaled = {**TRUTH, "alpha": TRUTH["alpha"] * (1e8 / 2e8) ** TRUTH["p_e"] * (1e8 / 5e7) ** TRUTH["p_d"]}
    x = {"encoder_params": np.geomspace(1e7, 1e9, 4), "decoder_params": np.geomspace(3e7, 3e9, 4)}
    np.testing.assert_allclose(other.predict(x, scaled), NMT_ENCDEC.predict(x, TRUTH), rtol=1e-12)
    assert other.name == "nmt_other"


def test_split_needs_positive_exponents():
    with pytest.raises(ValueError):
        optimal_encoder_decoder_split(1e9, 0.0, 0.3)
