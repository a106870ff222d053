"""Kaplan et al. 2020 (arXiv:2001.08361): L(N), L(D) and L(N, D).

The forms are written with *scale* constants (``L = (N_c / N)^alpha_N``), as
the paper writes them, so the presets are the paper's numbers and not derived
ones.  In that parameterisation nothing enters linearly, so these laws declare
a ``formula`` and the engine fits them by multi-start.  (The same curve with a
linear amplitude, ``A N^-alpha``, is ``power_params``: use it when speed
matters more than Kaplan's constants.)

N counts *non-embedding* parameters; the constants depend on the tokenizer and
data (WebText2, GPT-2 BPE), so they have no meaning outside that setup.  The
single-variable fits (Table 5) and the joint L(N, D) fit (Table 2) are
different fits: the data exponent is 0.095 in one and 0.103 in the other.  Each
preset keeps one fit's constants together; do not mix them.
"""

from __future__ import annotations

import numpy as np

from workbench.laws.base import Columns, Law, Parameter, Preset

_SCALE_GRID = tuple(float(v) for v in np.geomspace(1e8, 1e20, 7))
_EXPONENT_GRID = tuple(float(v) for v in np.round(np.geomspace(0.02, 1.0, 9), 6))
KAPLAN_REFERENCES = ("arXiv:2001.08361",)
_CITE = "Kaplan et al. 2020, Scaling Laws for Neural Language Models, arXiv:2001.08361"


def _scale(name: str, sym: str, what: str) -> Parameter:
    return Parameter(name, 1.0, 1e40, sym, what, grid=_SCALE_GRID, log_scale=True)


def _exponent(name: str, sym: str, what: str) -> Parameter:
    return Parameter(name, 1e-4, 5.0, sym, what, grid=_EXPONENT_GRID)


def _loss_of_n(x: Columns, v) -> np.ndarray:
    return (v["N_c"] / x["params"]) ** v["alpha_N"]


def _loss_of_d(x: Columns, v) -> np.ndarray:
    return (v["D_c"] / x["tokens"]) ** v["alpha_D"]


def _loss_of_nd(x: Columns, v) -> np.ndarray:
    # [(N_c/N)^(a_N/a_D) + D_c/D]^a_D evaluated in log space, so extreme starts cannot overflow
    log_n = (v["alpha_N"] / v["alpha_D"]) * np.log(v["N_c"] / x["params"])
    return np.exp(v["alpha_D"] * np.logaddexp(log_n, np.log(v["D_c"] / x["tokens"])))


KAPLAN_N = Law(
    name="kaplan_n",
    title="Kaplan L(N): converged loss vs non-embedding parameters",
    variables=("params",),
    parameters=(
        _scale("N_c", "N_c", "scale constant (non-embedding parameters)"),
        _exponent("alpha_N", r"\alpha_N", "model-size exponent"),
    ),
    latex=r"L(N) = \left(\frac{N_c}{N}\right)^{\alpha_N}",
    formula=_loss_of_n,
    presets=(
        Preset(
            "kaplan2020_table5",
            {"N_c": 8.8e13, "alpha_N": 0.076},
            _CITE,
            origin="printed",
            locator="arXiv:2001.08361v1 §1.2 Eq. (1.1); App. A Table 5",
            note="Non-embedding N; WebText2, GPT-2 BPE, context 1024.",
        ),
    ),
    description="Loss of models trained to convergence on enough data, vs non-embedding parameters (Kaplan Eq. 1.1).",
    references=KAPLAN_REFERENCES,
)

KAPLAN_D = Law(
    name="kaplan_d",
    title="Kaplan L(D): early-stopped loss vs training tokens",
    variables=("tokens",),
    parameters=(
        _scale("D_c", "D_c", "scale constant (tokens)"),
        _exponent("alpha_D", r"\alpha_D", "data exponent"),
    ),
    latex=r"L(D) = \left(\frac{D_c}{D}\right)^{\alpha_D}",
    formula=_loss_of_d,
    presets=(
        Preset(
            "kaplan2020_table5",
            {"D_c": 5.4e13, "alpha_D": 0.095},
            _CITE,
            origin="printed",
            locator="arXiv:2001.08361v1 §1.2 Eq. (1.2); App. A Table 5",
            note="Single-variable fit; the joint L(N, D) fit (Table 2) has alpha_D = 0.103, D_c = 1.8e13.",
        ),
    ),
    description="Loss of large models early-stopped on D tokens (Kaplan Eq. 1.2).",
    references=KAPLAN_REFERENCES,
)

KAPLAN_ND = Law(
    name="kaplan_nd",
    title="Kaplan L(N, D): joint model-size and data law",
    variables=("params", "tokens"),
    parameters=(
        _scale("N_c", "N_c", "model-size scale constant (non-embedding parameters)"),
        _scale("D_c", "D_c", "data scale constant (tokens)"),
        _exponent("alpha_N", r"\alpha_N", "model-size exponent"),
        _exponent("alpha_D", r"\alpha_D", "data exponent"),
    ),
    latex=r"L(N, D) = \left[\left(\frac{N_c}{N}\right)^{\alpha_N/\alpha_D} + \frac{D_c}{D}\right]^{\alpha_D}",
    formula=_loss_of_nd,
    presets=(
        Preset(
            "kaplan2020_table2",
            {"N_c": 6.4e13, "D_c": 1.8e13, "alpha_N": 0.076, "alpha_D": 0.103},
            _CITE,
            origin="printed",
            locator="arXiv:2001.08361v1 §4.2 Table 2 (fit of Eq. (1.5))",
            note="Joint fit; its alpha_D and D_c differ from the single-variable Table 5 pair.",
        ),
        Preset(
            "ouyang2024_pythia",
            {"N_c": 4.74e19, "D_c": 7.63e10, "alpha_N": 0.045, "alpha_D": 0.399},
            "Ouyang et al. 2024, Low-Bit Quantization Favors Undertrained LLMs, arXiv:2411.17691",
            origin="printed",
            locator="arXiv:2411.17691v1 Eq. (3), printed in the Fig. 7 caption",
            note="Kaplan form fitted to 16-bit Pythia checkpoints (non-embedding N).",
        ),
    ),
    description="Loss of a model with N non-embedding parameters early-stopped after D tokens (Kaplan Eq. 1.5).",
    references=(*KAPLAN_REFERENCES, "arXiv:2411.17691"),
)

KAPLAN_LAWS = (KAPLAN_N, KAPLAN_D, KAPLAN_ND)


def critical_batch_size(loss, b_star: float = 2e8, alpha_b: float = 0.21):
    """Kaplan's critical batch size in tokens, ``B_crit(L) = B_* / L^(1/alpha_B)`` (Eq. 1.4).

    Defaults are printed in arXiv:2001.08361v1 Eq. (1.4): B_* ~ 2e8 tokens and
    alpha_B ~ 0.21 (App. A Table 5 prints the more precise B_* = 2.1e8).
    """
    return b_star / np.asarray(loss, dtype=float) ** (1.0 / alpha_b)
