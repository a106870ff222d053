"""Repeated sampling: coverage vs number of samples (Brown et al. 2024, "Large Language Monkeys").

    c(k) = exp(-a k^-b),  i.e.  -log c(k) = a k^-b

Coverage (the fraction of problems solved by at least one of k samples) is
modelled as an exponentiated power law: the negative log of coverage falls as
a power law in k (Brown et al. 2024, arXiv:2407.21787, Sec. 3.1; Schaeffer et
al. 2025 explain the power law by a heavy left tail of per-problem success
rates).  Brown et al. write log c = a k^b with a, b < 0; here a and b are their
negatives, so both are positive.  Coverage is bounded by 1 as k grows.  The
prediction is exp of a power law, so nothing enters linearly and the law
declares a ``formula``.  Checked against the paper's text: Sec. 3.1 fits
log c = a k^b (Eq. 2) and exponentiates it (Eq. 3).  Its fitted (a, b) appear
only in the panel titles of Fig. 5, read off an image, so there are no presets.  The target column is
``coverage`` (or pass@k), the variable the corpus column ``k``.
"""

from __future__ import annotations

import numpy as np

from workbench.laws.base import Columns, Law, Parameter


def _coverage(x: Columns, v) -> np.ndarray:
    return np.exp(-v["a"] * x["k"] ** -v["b"])


MONKEYS_COVERAGE = Law(
    name="monkeys_coverage",
    title="Large Language Monkeys: coverage vs number of samples",
    variables=("k",),
    target="coverage",
    parameters=(
        Parameter(
            "a",
            1e-8,
            1e4,
            "a",
            "-log coverage at k = 1",
            grid=tuple(float(v) for v in np.geomspace(0.01, 30, 12)),
            log_scale=True,
        ),
        Parameter(
            "b",
            1e-4,
            5.0,
            "b",
            "power-law exponent of -log coverage in k",
            grid=tuple(float(v) for v in np.round(np.geomspace(0.02, 2.0, 12), 6)),
        ),
    ),
    latex=r"c(k) = \exp\left(-a\,k^{-b}\right)",
    formula=_coverage,
    description="Fraction of problems solved by any of k samples (Brown et al. 2024).",
    references=("arXiv:2407.21787", "arXiv:2502.17578"),
)

SAMPLING_LAWS = (MONKEYS_COVERAGE,)
