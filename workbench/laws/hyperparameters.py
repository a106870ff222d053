"""StepLaw (Li et al. 2025, arXiv:2503.04715): optimal learning rate and batch size.

    eta_opt(N, D) = c N^a_N D^a_D          B_opt(D) = c D^a_D

Power laws fitted to the best (learning rate, batch size) of ~3,700 training
runs.  **N counts non-embedding parameters: the vocabulary (embedding and
output) matrices are excluded**, as in the paper; plugging in a total parameter
count overstates N, most for small models with large vocabularies.  The
coefficient c enters linearly and the exponents are searched (they
have either sign: the learning rate falls with N and rises with D).  Targets
are the columns ``lr`` and ``batch_size``; **batch size is in tokens** (divide
by the sequence length for sequences).  Presets: the means of the authors'
1,000 bootstrap fits from ``data/1004_fitted_lr_bs_scaling_model_parameters.csv``
as used by their ``fit_tool.py`` (c = exp(mean intercept)), transcribed by an
earlier audit and labelled "secondhand" until re-read.
"""

from __future__ import annotations

import numpy as np

from workbench.laws.base import Columns, Law, Parameter, Preset

_CITE = (
    "Li et al. 2025, Predictable Scale: Part I - Optimal Hyperparameter Scaling Law in Large Language Model "
    "Pretraining, arXiv:2503.04715"
)
_LOCATOR = (
    "step-law/steplaw: data/1004_fitted_lr_bs_scaling_model_parameters.csv (means of the bootstrap "
    "intercepts and slopes read by code/fit_tool.py), as transcribed by an earlier audit; not re-read here, "
    "and the paper's rounded formulas (1.79, -0.713, 0.307; 0.58, 0.571) were seen only in secondary notes"
)
_SLOPE_GRID = tuple(float(v) for v in np.round(np.linspace(-1.5, 1.5, 31), 6))


def _power_product(columns: tuple[str, ...]):
    def basis(x: Columns, theta) -> np.ndarray:
        return np.exp(sum(p * np.log(x[c]) for p, c in zip(theta, columns)))[..., None]

    def basis_grad(x: Columns, theta) -> np.ndarray:
        term = np.exp(sum(p * np.log(x[c]) for p, c in zip(theta, columns)))
        return np.stack(np.broadcast_arrays(*(np.log(x[c]) * term for c in columns)), axis=-1)[..., None, :]

    return basis, basis_grad


_lr_basis, _lr_grad = _power_product(("params", "tokens"))
STEPLAW_LR = Law(
    name="steplaw_lr",
    title="StepLaw optimal learning rate vs N and D",
    variables=("params", "tokens"),
    target="lr",
    parameters=(
        Parameter("c", 0.0, 1e12, "c", "coefficient (exp of the fitted intercept)", linear=True),
        Parameter("a_N", -5.0, 5.0, "a_N", "exponent of N (non-embedding parameters)", grid=_SLOPE_GRID),
        Parameter("a_D", -5.0, 5.0, "a_D", "exponent of D", grid=_SLOPE_GRID),
    ),
    latex=r"\eta_\mathrm{opt}(N, D) = c\,N^{a_N} D^{a_D},\quad N \text{ without vocabulary parameters}",
    basis=_lr_basis,
    basis_grad=_lr_grad,
    presets=(
        Preset(
            "li2025_bootstrap_mean",
            {"c": float(np.exp(0.5863)), "a_N": -0.7129, "a_D": 0.3075},
            _CITE,
            origin="secondhand",
            locator=_LOCATOR,
            note="N is non-embedding parameters (vocabulary excluded). Paper rounding: 1.79 N^-0.713 D^0.307.",
        ),
    ),
    description="Optimal peak learning rate for N non-embedding parameters (vocabulary excluded) trained on "
    "D tokens (StepLaw).",
    references=("arXiv:2503.04715",),
)

_bs_basis, _bs_grad = _power_product(("tokens",))
STEPLAW_BATCH = Law(
    name="steplaw_batch",
    title="StepLaw optimal batch size (tokens) vs D",
    variables=("tokens",),
    target="batch_size",
    parameters=(
        Parameter("c", 0.0, 1e12, "c", "coefficient (exp of the fitted intercept)", linear=True),
        Parameter("a_D", -5.0, 5.0, "a_D", "exponent of D", grid=_SLOPE_GRID),
    ),
    latex=r"B_\mathrm{opt}(D) = c\,D^{a_D}",
    basis=_bs_basis,
    basis_grad=_bs_grad,
    presets=(
        Preset(
            "li2025_bootstrap_mean",
            {"c": float(np.exp(-0.5435)), "a_D": 0.5709},
            _CITE,
            origin="secondhand",
            locator=_LOCATOR,
            note="Batch size in tokens; paper rounding: 0.58 D^0.571.",
        ),
    ),
    description="Optimal batch size in tokens for a run of D tokens (StepLaw).",
    references=("arXiv:2503.04715",),
)

HYPERPARAMETER_LAWS = (STEPLAW_LR, STEPLAW_BATCH)
