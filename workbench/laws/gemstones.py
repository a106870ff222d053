"""Gemstones width-depth law (McLeish et al. 2025, arXiv:2502.06857): loss vs width, depth, N and tokens.

    L(w, d, N, D) = E + A_w / w^alpha_w + A_d / d^alpha_d + A_N / N^alpha_N + A_D / D^alpha_D

Why.  Models with the same parameter count but a different shape (width w =
d_model, depth d = layers) reach different losses in the Gemstones suite, so a
law in N and D alone cannot say which shape to train.  The Gemstones law adds
one power-law term in width and one in depth to Chinchilla's form; at fixed N
the width term falls and the depth term rises as a model gets wider and
shallower, so the law has a best shape for every budget.

The law is separable (E and the four amplitudes enter linearly), so the engine
solves them exactly on a grid of the four exponents.

What was checked, and where the constants come from.  The form and its
variables are the ones the authors' fitting code evaluates: their
``depth_width.py`` predicts log L as the log-sum-exp of ``a_i - alpha_i log
x_i`` and ``e`` for x = (width, depth, params, tokens), i.e. the sum above
with A_i = exp(a_i) and E = exp(e), fitted by a Huber loss (delta 1e-4) on log
loss from a grid of starts; ``shells/plotting.sh`` draws the width-depth
prescriptions from this four-variable fit on all data (``--over_100
--width_depth_params``, default folder ``parameters_delta-4``).  The presets are
the JSON outputs the authors ship for those fits, read at a pinned commit, and
are labelled *authors' code*: the paper's own text (its equation and any table
of constants) could not be reached here, so none is called published.  N is
the total parameter count with embeddings (the data's ``params_active_precise``;
the authors' ``--no_embeds`` variant subtracts 50,304 x width), D the training
tokens of the checkpoint, the loss the one the authors' fitting data record per
checkpoint (``final_loss``) of Gemma-style models trained on Dolma with a
constant learning rate (or, for one preset, after a linear cool-down).
"""

from __future__ import annotations

import numpy as np

from workbench.laws.base import Columns, Law, Parameter, Preset

VARIABLES = ("width", "depth", "params", "tokens")
_SUFFIX = ("w", "d", "N", "D")  # parameter names: A_w, alpha_w, ... in variable order
_EXPONENT_GRID = tuple(float(v) for v in np.round(np.geomspace(0.05, 1.2, 7), 6))

#: The Gemstones models' vocabulary (the authors' code), for :func:`params_of_shape`.
VOCAB = 50304

_REPO = "mcleish7/gemstone-scaling-laws@1fb97a26b3a4ee647475ee3b46d67413b1844405"
_CITE = "McLeish et al. 2025, Gemstones: A Model Suite for Multi-Faceted Scaling Laws, arXiv:2502.06857"

# As the authors' JSON files store them: exponents and log amplitudes in the order (width, depth, params, tokens),
# then the log of E.  preset name -> (file suffix, what the runs are, exponents, log amplitudes, log E).
_AUTHORS_FITS = {
    "mcleish2025_all": (
        "hot_100b+",
        "every checkpoint of the constant-learning-rate runs (the fit the authors' plotting script uses)",
        (0.2195783536, 0.4758917337, 0.3636454068, 0.4935127042),
        (1.082043835, -0.2186969889, 6.0902355695, 10.4720427681),
        0.4282048563,
    ),
    "mcleish2025_100b": (
        "hot",
        "checkpoints up to 100B tokens of the constant-learning-rate runs",
        (0.2446914313, 0.3871516764, 0.5000838843, 0.4761055541),
        (1.4520106404, -0.0781020281, 7.9700333376, 10.0594263846),
        0.39245797,
    ),
    "mcleish2025_120b": (
        "hot_120b+_only",
        "only checkpoints beyond 120B tokens of the constant-learning-rate runs",
        (0.1899944664, 0.484213624, 0.3684226988, 0.676977943),
        (1.0315727232, -0.2150470569, 6.1889354036, 14.9741663216),
        0.3717938489,
    ),
    "mcleish2025_cooldown": (
        "cool_end",
        "the ends of the linear learning-rate cool-downs",
        (0.30146699, 0.3655461733, 0.5055007692, 0.4670177667),
        (1.6375654653, -0.0254911443, 7.8653383939, 9.9838221358),
        0.4195179541,
    ),
    "mcleish2025_lr_half": (
        "lr_ablation_hot",
        "the learning-rate ablation (half the main suite's learning rate, constant)",
        (0.2880813791, 0.3433880468, 0.6395016896, 0.5200825759),
        (1.7062208519, 0.0047673312, 10.018526774, 11.3779063054),
        0.4032489291,
    ),
}


def _basis(x: Columns, theta) -> np.ndarray:
    terms = np.broadcast_arrays(*(x[v] ** -p for v, p in zip(VARIABLES, theta)))
    return np.stack([np.ones_like(terms[0]), *terms], axis=-1)


def _basis_grad(x: Columns, theta) -> np.ndarray:
    grads = np.broadcast_arrays(*(-np.log(x[v]) * x[v] ** -p for v, p in zip(VARIABLES, theta)))
    out = np.zeros(grads[0].shape + (5, 4))
    for j, g in enumerate(grads):
        out[..., j + 1, j] = g
    return out


def _preset(name: str) -> Preset:
    suffix, runs, exps, log_amps, log_e = _AUTHORS_FITS[name]
    values = {"E": float(np.exp(log_e))}
    values |= {f"A_{s}": float(np.exp(a)) for s, a in zip(_SUFFIX, log_amps)}
    values |= {f"alpha_{s}": float(e) for s, e in zip(_SUFFIX, exps)}
    return Preset(
        name,
        values,
        _CITE,
        origin="authors-code",
        locator=f"{_REPO}:parameters_delta-4/approach_3_width_depth_parameters_grid_search_0_{suffix}.json",
        note=f"Fitted to {runs}. The file stores log amplitudes and log E; the preset holds their exponentials "
        f"(log E = {log_e:.10g}).",
    )


def _parameters() -> tuple[Parameter, ...]:
    names = {"w": "width (d_model)", "d": "depth (layers)", "N": "parameters", "D": "training tokens"}
    amps = tuple(
        Parameter(f"A_{s}", 0.0, 1e12, f"A_{{{s}}}", f"amplitude of the {names[s]} term", linear=True) for s in _SUFFIX
    )
    exps = tuple(
        Parameter(f"alpha_{s}", 0.0, 3.0, rf"\alpha_{{{s}}}", f"{names[s]} exponent", grid=_EXPONENT_GRID)
        for s in _SUFFIX
    )
    return (Parameter("E", 0.0, 100.0, "E", "irreducible loss (nats/token)", linear=True), *amps, *exps)


GEMSTONES = Law(
    name="gemstones",
    title="Gemstones width-depth law: loss vs width, depth, parameters and tokens",
    variables=VARIABLES,
    parameters=_parameters(),
    latex=r"L(w, d, N, D) = E + \frac{A_w}{w^{\alpha_w}} + \frac{A_d}{d^{\alpha_d}} + \frac{A_N}{N^{\alpha_N}}"
    r" + \frac{A_D}{D^{\alpha_D}}",
    basis=_basis,
    basis_grad=_basis_grad,
    presets=tuple(_preset(n) for n in _AUTHORS_FITS),
    description=(
        "Loss of a transformer of width w (d_model) and depth d (layers) with N total parameters trained on D "
        "tokens (McLeish et al. 2025): Chinchilla's form plus a width and a depth term, so models of one size but "
        "different shapes differ. Presets are the authors' released fits (their code), not printed constants."
    ),
    references=("arXiv:2502.06857",),
)

GEMSTONES_LAWS = (GEMSTONES,)


def params_of_shape(width, depth, vocab: int = VOCAB) -> np.ndarray:
    """Total parameters of a Gemstones-style model of this width and depth (embeddings included).

    The suite's blocks (the authors' parameter counter): attention with 128-wide heads and two query heads
    per key-value head (3 w^2), a gated MLP four times as wide (12 w^2) and two norms (2 w) per layer; untied
    input and output embeddings (2 V w) and a final norm (w).
    """
    w, d = np.asarray(width, dtype=float), np.asarray(depth, dtype=float)
    return d * (15.0 * w**2 + 2.0 * w) + w * (2.0 * vocab + 1.0)


def depth_for(params, width, vocab: int = VOCAB) -> np.ndarray:
    """The (fractional) depth that gives a model of this width ``params`` parameters (:func:`params_of_shape`
    inverted); NaN where the embeddings alone exceed the budget."""
    w = np.asarray(width, dtype=float)
    d = (np.asarray(params, dtype=float) - w * (2.0 * vocab + 1.0)) / (15.0 * w**2 + 2.0 * w)
    return np.where(d > 0, d, np.nan)
