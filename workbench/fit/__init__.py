"""One fitting engine for every law, plus its uncertainty.

The public API: :func:`fit` (or :func:`make_problem` then :func:`fit_problem`)
returns a :class:`FitResult`; ``result.bootstrap(draws=..., seed=...)`` adds
intervals; :class:`FitOptions` holds the loss, residual space, fixed and tied
parameters that ``fit``, ``make_problem`` and :func:`objective_at` share.
:func:`bootstrap` (with :class:`Bootstrap`) is for code that needs every raw
draw.  :data:`DEFAULT_LEVEL` and :func:`percentile_bounds` are the one place
an interval's level becomes percentiles.  The optimiser's internals
(``polish``, ``multistart``) live in :mod:`workbench.fit.engine`.

Note that ``workbench.fit.bootstrap`` is the function here; its module is
imported as ``from workbench.fit.bootstrap import ...``.
"""

from workbench.fit.bootstrap import Bootstrap, bootstrap
from workbench.fit.engine import fit, fit_problem, objective_at
from workbench.fit.options import FitOptions
from workbench.fit.problem import Problem, make_problem
from workbench.fit.result import (
    DEFAULT_LEVEL,
    FitResult,
    Flag,
    Prediction,
    caution_of,
    percentile_bounds,
    percentile_interval,
)

__all__ = [
    "DEFAULT_LEVEL",
    "Bootstrap",
    "FitOptions",
    "FitResult",
    "Flag",
    "Prediction",
    "Problem",
    "bootstrap",
    "caution_of",
    "fit",
    "fit_problem",
    "make_problem",
    "objective_at",
    "percentile_bounds",
    "percentile_interval",
]
