"""Sun et al. 2025 floating-point law: recovery, Table 2 sanity values, critical data size and E/M split."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from test_laws_registry import assert_recovers

from workbench.laws.floating_point import (
    SUN_FP,
    TABLE2,
    critical_data_size,
    optimal_exponent_bits,
    optimal_exponent_mantissa,
)


def _x(n, d, e, m, b):
    return {
        "params": np.atleast_1d(float(n)),
        "tokens": np.atleast_1d(float(d)),
        "exponent_bits": np.atleast_1d(float(e)),
        "mantissa_bits": np.atleast_1d(float(m)),
        "block_size": np.atleast_1d(float(b)),
    }


def test_recovers_table2_constants():
    """41M-679M models (the paper's fitting range), 1-5 exponent and 0-7 mantissa bits, three block sizes."""
    mesh = np.meshgrid(
        np.geomspace(4e7, 7e8, 4),
        np.geomspace(1e9, 1e11, 4),
        [1, 2, 4, 5],
        [0, 1, 3, 7],
        [32, 128, 1024],
        indexing="ij",
    )
    x = {k: m.ravel().astype(float) for k, m in zip(SUN_FP.variables, mesh)}
    assert_recovers(SUN_FP, {**x, "loss": SUN_FP.predict(x, TABLE2)}, TABLE2, rtol=1e-8)


@pytest.mark.parametrize("e, m, want", [(4, 3, 2.5631), (2, 1, 2.5979), (8, 7, 2.5626)])
def test_sanity_losses_at_1b_parameters_100b_tokens(e, m, want):
    assert SUN_FP.predict(_x(1e9, 1e11, e, m, 128), TABLE2)[0] == pytest.approx(want, abs=5e-5)


def test_block_size_one_removes_the_penalty():
    no_quant = TABLE2["n"] / 1e9 ** TABLE2["alpha"] + TABLE2["d"] / 1e11 ** TABLE2["beta"] + TABLE2["eps"]
    assert SUN_FP.predict(_x(1e9, 1e11, 4, 3, 1), TABLE2)[0] == pytest.approx(no_quant, rel=1e-12)
    assert no_quant == pytest.approx(2.5626, abs=5e-5)


@pytest.mark.parametrize("e, m, want", [(4, 3, 2.7e13), (5, 2, 1.9e13), (3, 2, 4.8e12), (2, 1, 3.9e11)])
def test_critical_data_size_sanity_values(e, m, want):
    """The sheet quotes two significant figures."""
    assert float(f"{critical_data_size(1e9, e, m, 128):.2g}") == want


def test_critical_data_size_is_the_loss_minimum_in_d():
    d_crit = critical_data_size(3e8, 2, 1, 64)
    res = minimize_scalar(
        lambda ld: SUN_FP.predict(_x(3e8, np.exp(ld), 2, 1, 64), TABLE2)[0],
        bounds=(np.log(d_crit) - 3, np.log(d_crit) + 3),
        method="bounded",
        options={"xatol": 1e-9},
    )
    assert np.exp(res.x) == pytest.approx(d_crit, rel=1e-4)


@pytest.mark.parametrize("bits, split", [(4, (2, 1)), (8, (4, 3)), (16, (8, 7))])
def test_optimal_exponent_mantissa_split(bits, split):
    assert optimal_exponent_mantissa(bits) == split
    losses = {(e, bits - 1 - e): SUN_FP.predict(_x(1e9, 1e11, e, bits - 1 - e, 128), TABLE2)[0] for e in range(bits)}
    assert min(losses, key=losses.get) == split


def test_continuous_optimum_is_0_519_p():
    assert (optimal_exponent_bits(8) + 0.5) / 8 == pytest.approx(0.519, abs=5e-4)
    with pytest.raises(ValueError):
        optimal_exponent_mantissa(1)
