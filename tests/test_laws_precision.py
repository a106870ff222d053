"""Kumar et al. 2024 precision laws: recovery, the 16-bit limit, N_eff sanity values and PTQ trends."""

from __future__ import annotations

import numpy as np
import pytest

from test_laws_registry import assert_recovers
from workbench.laws import CHINCHILLA
from workbench.laws.precision import KUMAR_PRECISION, KUMAR_PTQ, KUMAR_WEIGHTS, effective_params

TABLE2 = KUMAR_PRECISION.preset("kumar2024_table2_no_offsets").values
PTQ = KUMAR_PTQ.preset("kumar2024_table2_no_offsets").values
WEIGHTS = {k: TABLE2[k] for k in KUMAR_WEIGHTS.names}


def _grid(**axes):
    mesh = np.meshgrid(*axes.values(), indexing="ij")
    return {k: m.ravel().astype(float) for k, m in zip(axes, mesh)}


def test_recovers_weight_only_law():
    """The paper's ranges: 30M-300M parameters, 1.5B-30B tokens, 3-16 bits; 1e-8 relative."""
    x = _grid(params=np.geomspace(3e7, 3e8, 4), tokens=np.geomspace(1.5e9, 3e10, 4), weight_bits=[3, 4, 6, 8, 16])
    assert_recovers(KUMAR_WEIGHTS, {**x, "loss": KUMAR_WEIGHTS.predict(x, WEIGHTS)}, WEIGHTS, rtol=1e-8)


def test_recovers_weights_activations_and_kv_cache():
    x = _grid(params=np.geomspace(3e7, 3e8, 3), tokens=np.geomspace(1.5e9, 3e10, 3), weight_bits=[3, 4, 8, 16],
              activation_bits=[3, 4, 8, 16], kv_bits=[2, 4, 16])
    assert_recovers(KUMAR_PRECISION, {**x, "loss": KUMAR_PRECISION.predict(x, TABLE2)}, TABLE2, rtol=1e-8)


def test_recovers_ptq_degradation():
    x = _grid(params=np.geomspace(3e7, 3e8, 4), tokens=np.geomspace(1.5e9, 3e10, 4), weight_bits=[3, 4, 6, 8])
    assert_recovers(KUMAR_PTQ, {**x, "degradation": KUMAR_PTQ.predict(x, PTQ)}, PTQ, rtol=1e-8)


def test_high_precision_is_chinchilla():
    x = _grid(params=np.geomspace(3e7, 3e9, 3), tokens=np.geomspace(1e9, 1e11, 3))
    hi = {**x, "weight_bits": np.full(9, 64.0), "activation_bits": np.full(9, 64.0), "kv_bits": np.full(9, 64.0)}
    chin = {k: TABLE2[k] for k in CHINCHILLA.names}
    np.testing.assert_allclose(KUMAR_PRECISION.predict(hi, TABLE2), CHINCHILLA.predict(x, chin), rtol=1e-9)


@pytest.mark.parametrize("bits, want", [(4, 0.639), (6, 0.833), (8, 0.924), (16, 0.997)])
def test_effective_parameter_fraction_at_common_precision(bits, want):
    """The sheet's [derived] N_eff / N with every component at the same precision (offsets ignored)."""
    gammas = {"weight": TABLE2["gamma_w"], "activation": TABLE2["gamma_a"], "kv": TABLE2["gamma_kv"]}
    frac = effective_params(1.0, {c: bits for c in gammas}, gammas)
    assert frac == pytest.approx(want, abs=5e-4)


def test_ptq_degradation_grows_with_data_and_shrinks_with_size_and_bits():
    base = {"params": 1e8, "tokens": 1e10, "weight_bits": 4.0}
    d0 = KUMAR_PTQ.predict(base, PTQ)[0]
    assert KUMAR_PTQ.predict({**base, "tokens": 2e10}, PTQ)[0] > d0
    assert KUMAR_PTQ.predict({**base, "params": 2e8}, PTQ)[0] < d0
    assert KUMAR_PTQ.predict({**base, "weight_bits": 5.0}, PTQ)[0] < d0
