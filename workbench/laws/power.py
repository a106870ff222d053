"""One-variable power laws, with and without an irreducible offset.

L(x) = A x^-alpha and L(x) = E + A x^-alpha for x = parameters, tokens or compute
(Kaplan 2020 Eqs. 1.1-1.3 without an offset; Henighan 2020 with one).  Both are
separable: A (and E) are solved exactly for each alpha.  One factory declares
the law for each variable, so ``power_offset_flops`` and ``power_params`` are
the same declaration with a different column.
"""

from __future__ import annotations

import numpy as np

from workbench.laws.base import Law, Parameter

_ALPHA_GRID = tuple(float(v) for v in np.round(np.geomspace(0.01, 2.0, 60), 6))
_SYMBOL = {"params": "N", "tokens": "D", "flops": "C"}


def power_law(variable: str, offset: bool) -> Law:
    sym = _SYMBOL[variable]

    def basis(x, theta):
        (alpha,) = theta
        term = x[variable] ** -alpha
        return np.stack([np.ones_like(term), term] if offset else [term], axis=-1)

    def basis_grad(x, theta):
        (alpha,) = theta
        d = -np.log(x[variable]) * x[variable] ** -alpha
        out = np.zeros(d.shape + ((2,) if offset else (1,)) + (1,))
        out[..., -1, 0] = d
        return out

    linear = (Parameter("E", 0.0, 1e3, "E", "irreducible loss", linear=True),) if offset else ()
    return Law(
        name=f"power_offset_{variable}" if offset else f"power_{variable}",
        title=f"power law in {variable}" + (" with offset" if offset else ""),
        variables=(variable,),
        parameters=(
            *linear,
            Parameter("A", 0.0, 1e30, "A", "scale", linear=True),
            Parameter("alpha", 0.0, 5.0, r"\alpha", f"exponent of {sym}", grid=_ALPHA_GRID),
        ),
        latex=(f"L({sym}) = E + A\\,{sym}^{{-\\alpha}}" if offset else f"L({sym}) = A\\,{sym}^{{-\\alpha}}"),
        basis=basis,
        basis_grad=basis_grad,
        description=f"Loss as a power law in {variable}" + (" plus an irreducible term E." if offset else "."),
        references=("arXiv:2001.08361", "arXiv:2010.14701"),
    )


POWER_LAWS = tuple(power_law(v, off) for off in (False, True) for v in ("params", "tokens", "flops"))
