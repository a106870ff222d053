"""Broken Neural Scaling Laws (Caballero et al. 2022, arXiv:2210.14891).

    y = a + b x^-c0  prod_{i=1..n} (1 + (x / d_i)^(1/f_i))^(-c_i f_i)

A smoothly broken power law: segment i (between breaks d_i and d_{i+1}) has
log-log slope -(c0 + ... + c_i); d_i places a break, f_i sets its sharpness
(smaller is sharper), a is the limit and b the offset.  The limit and the offset
enter linearly, so the law is separable with basis ``[1, g(x)]`` and only the
slopes, breaks and sharpnesses are searched.  ``g`` is evaluated in log space
(``log(1 + u) = logaddexp(0, log u)``) so sharp breaks (small f) do not overflow.

One factory declares the law for any number of breaks and any x column;
``bnsl1`` and ``bnsl2`` are registered on ``samples`` (training-set size, the
x of the paper's 4-digit-addition example).  Break locations are searched
relative to the data: 22 points spread evenly in log space from a fifth of the
data's log-range below its smallest x to a fifth above its largest, so a curve
in samples (1e2..1e7) and one in FLOPs (1e18..1e24) are searched alike; pass
``break_grid`` (absolute values) to search elsewhere.  The paper publishes no fitted constants for its examples, so
there are no presets.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from workbench.laws.base import Columns, Law, Parameter

RELATIVE_BREAK_GRID = tuple(
    float(v) for v in np.round(np.linspace(-0.2, 1.2, 22), 6)
)  # positions in the data's log-range
_C0_GRID = (0.0, 0.1, 0.3, 0.8)
_C_GRID = (-0.5, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
_F_GRID = (0.05, 0.2, 1.0)


def _parts(x: np.ndarray, theta, n: int):
    """log g and, per break, z_i = log(x/d_i)/f_i (broadcast over theta)."""
    c0 = theta[0]
    log_x = np.log(x)
    log_g = -c0 * log_x
    zs = []
    for i in range(n):
        c, d, f = theta[1 + 3 * i : 4 + 3 * i]
        z = (log_x - np.log(d)) / f
        log_g = log_g - c * f * np.logaddexp(0.0, z)
        zs.append(z)
    return log_x, log_g, zs


def bnsl(
    n_breaks: int,
    variable: str = "samples",
    *,
    target: str = "loss",
    break_grid: tuple[float, ...] | None = None,
    name: str | None = None,
    c0_grid: tuple[float, ...] = _C0_GRID,
) -> Law:
    """A BNSL with ``n_breaks`` breaks in the column ``variable``.

    ``break_grid``: absolute starting locations of the breaks; by default they
    are spread over the fitted data's range (:data:`RELATIVE_BREAK_GRID`).
    ``c0_grid``: starting values of the first slope; include negative values
    for curves that may *rise* from the start (a trend of unknown direction).
    """
    if n_breaks < 1:
        raise ValueError("a broken neural scaling law needs at least one break (n_breaks >= 1)")
    n = n_breaks

    def basis(x: Columns, theta) -> np.ndarray:
        _, log_g, _ = _parts(x[variable], theta, n)
        g = np.exp(log_g)
        return np.stack([np.ones_like(g), g], axis=-1)

    def basis_grad(x: Columns, theta) -> np.ndarray:
        log_x, log_g, zs = _parts(x[variable], theta, n)
        g = np.exp(log_g)
        grads = [-log_x * g]  # d/dc0
        for i, z in enumerate(zs):
            c, d, f = theta[1 + 3 * i : 4 + 3 * i]
            soft = np.logaddexp(0.0, z)  # log(1 + u)
            sig = expit(z)  # u / (1 + u)
            grads.append(-f * soft * g)  # d/dc_i
            grads.append(c * sig / d * g)  # d/dd_i
            grads.append((-c * soft + c * sig * z) * g)  # d/df_i
        grads = np.broadcast_arrays(*grads)
        out = np.zeros(grads[0].shape + (2, len(grads)))
        for j, gj in enumerate(grads):
            out[..., 1, j] = gj
        return out

    params = [
        Parameter("a", 0.0, 1e6, "a", "limit as x grows (unimprovable value)", linear=True),
        Parameter("b", 0.0, 1e30, "b", "offset (scale of the power-law part)", linear=True),
        Parameter("c0", -5.0, 10.0, "c_0", "log-log slope before the first break (negated)", grid=tuple(c0_grid)),
    ]
    factors = []
    for i in range(1, n + 1):
        params += [
            Parameter(f"c{i}", -10.0, 20.0, f"c_{i}", f"change of slope at break {i}", grid=_C_GRID),
            Parameter(
                f"d{i}",
                1e-6,
                1e30,
                f"d_{i}",
                f"location of break {i} (units of {variable})",
                grid=tuple(break_grid) if break_grid is not None else RELATIVE_BREAK_GRID,
                grid_over="" if break_grid is not None else variable,
                log_scale=True,
            ),
            Parameter(
                f"f{i}",
                1e-3,
                50.0,
                f"f_{i}",
                f"sharpness of break {i} (smaller is sharper)",
                grid=_F_GRID,
                log_scale=True,
            ),
        ]
        factors.append(rf"\left(1 + \left(\frac{{x}}{{d_{i}}}\right)^{{1/f_{i}}}\right)^{{-c_{i} f_{i}}}")

    def canonical(values) -> dict[str, float]:
        """Breaks are interchangeable (the product commutes): number them by location."""
        out = dict(values)
        triples = sorted((values[f"d{i}"], values[f"c{i}"], values[f"f{i}"]) for i in range(1, n + 1))
        for i, (d, c, f) in enumerate(triples, start=1):
            out[f"c{i}"], out[f"d{i}"], out[f"f{i}"] = c, d, f
        return out

    return Law(
        name=name or f"bnsl{n}" + ("" if variable == "samples" else f"_{variable}"),
        title=f"Broken neural scaling law with {n} break{'s' if n > 1 else ''} in {variable}",
        variables=(variable,),
        target=target,
        parameters=tuple(params),
        latex=r"y = a + b\,x^{-c_0}" + "".join(factors),
        basis=basis,
        basis_grad=basis_grad,
        description=(
            f"A smoothly broken power law in {variable} with {n} break(s) "
            "(Caballero et al. 2022); fits curves that bend, e.g. sudden drops."
        ),
        references=("arXiv:2210.14891",),
        canonical=canonical,
    )


BNSL1 = bnsl(1)
BNSL2 = bnsl(2)
BNSL_LAWS = (BNSL1, BNSL2)


def segment_slopes(values: dict, n_breaks: int) -> list[float]:
    """Log-log slope of each power-law segment of ``y - a``: -(c0 + ... + c_i)."""
    total, out = 0.0, []
    for i in range(n_breaks + 1):
        total += values[f"c{i}"]
        out.append(-total)
    return out
