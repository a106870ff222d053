"""Downstream translation scaling (Isik et al. 2024, arXiv:2402.04177): quality vs pre-training data.

Two laws in the size D_p of the pre-training data (tokens, no repetition) of a
model that is then fine-tuned on a translation task:

    f(D_p) = (log(A D_p^alpha))^beta     (BLEU or COMET; the paper's "log-law")
    L(D_p) = E + A / D_p^alpha           (downstream cross-entropy)

The log-law holds when pre-training and translation data are well aligned
(the paper's alignment score near 1); with moderate misalignment BLEU can
fluctuate or fall with more pre-training while cross-entropy keeps improving,
so a failed log-law fit is itself a finding.  A, alpha (and beta, E) are fitted
per task, alignment and fine-tuning set size; the A and alpha of the two laws
are different constants.  The log base only rescales A and alpha
(``(log_b y)^beta = (ln y^(1/ln b))^beta``), so the natural log is used.

What was checked: the two forms, as the paper's Fig. 9 caption prints them
(review copies of the ICLR version; the arXiv HTML's abstract).  The fitted
coefficients are in the paper's App. C.3 tables, which could not be reached
here, so neither law has presets.  ``tokens`` is the pre-training data size;
the fine-tuning set size is a condition of the fit, not a variable.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from workbench.laws.base import Columns, Law, Parameter
from workbench.laws.power import power_law

_ALPHA_GRID = tuple(float(v) for v in np.round(np.geomspace(0.01, 1.0, 7), 6))


def _log_law(x: Columns, v) -> np.ndarray:
    inner = np.log(v["A"]) + v["alpha"] * np.log(x["tokens"])
    with np.errstate(invalid="ignore"):
        return np.where(inner > 0, np.abs(inner) ** v["beta"], np.nan)


ISIK_SCORE = Law(
    name="isik_score",
    title="Isik log-law: translation score (BLEU, COMET) vs pre-training tokens",
    variables=("tokens",),
    target="score",
    parameters=(
        Parameter(
            "A",
            1e-30,
            1e30,
            "A",
            "scale inside the logarithm",
            grid=tuple(float(v) for v in np.geomspace(1e-4, 1e4, 5)),
            log_scale=True,
        ),
        Parameter("alpha", 1e-5, 10.0, r"\alpha", "exponent of D_p inside the logarithm", grid=_ALPHA_GRID),
        Parameter(
            "beta",
            1e-3,
            20.0,
            r"\beta",
            "outer exponent",
            grid=tuple(float(v) for v in np.round(np.geomspace(0.3, 5.0, 6), 6)),
        ),
    ),
    latex=r"f(D_p) = \left(\log\left(A\,D_p^{\alpha}\right)\right)^{\beta}",
    formula=_log_law,
    description=(
        "Translation quality (BLEU or COMET) after fine-tuning vs pre-training tokens (Isik et al., Fig. 9 caption); "
        "meaningful only where log(A D_p^alpha) > 0. No presets: the fitted coefficients could not be checked."
    ),
    references=("arXiv:2402.04177",),
)

# Eq. 3 is the offset power law in tokens (``power_offset_tokens``): the same separable declaration,
# under the paper's name, so E and A are solved exactly for each alpha.
ISIK_CE = replace(
    power_law("tokens", offset=True),
    name="isik_ce",
    title="Isik downstream cross-entropy vs pre-training tokens",
    latex=r"L(D_p) = E + \frac{A}{D_p^{\alpha}}",
    description=(
        "Downstream translation cross-entropy after fine-tuning vs pre-training tokens (Isik et al., Fig. 9 caption); "
        "the same curve as power_offset_tokens. No presets: the fitted coefficients could not be checked."
    ),
    references=("arXiv:2402.04177",),
)

ISIK_LAWS = (ISIK_SCORE, ISIK_CE)
