"""What a scaling law *is* to the workbench: a declaration, not a fitter.

A :class:`Law` names its input variables (corpus columns), its parameters with
bounds and LaTeX, its formula and its published presets.  The fitting engine
knows nothing about any particular law; it only reads these declarations.

Many scaling laws are *separable*: for fixed exponents the prediction is a
non-negative combination of basis functions, ``pred = basis(x; theta) @ c``
(Chinchilla: ``[1, N^-alpha, D^-beta] @ [E, A, B]``).  A law that declares its
``basis`` lets the engine solve the linear coefficients exactly on a grid of
exponents (variable projection) instead of guessing them from random starts,
which is why the search reaches the global optimum quickly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from workbench.errors import WorkbenchError, quote

Array = np.ndarray
Columns = Mapping[str, Array]


@dataclass(frozen=True)
class Parameter:
    """One fitted constant of a law.

    ``linear`` parameters multiply a basis column and are solved exactly for
    fixed non-linear ones; ``grid`` gives the starting values the engine scans
    for a non-linear parameter.  With ``grid_over`` naming one of the law's
    (positive) variables, the grid is *relative to the data*: a value q starts
    the parameter at ``lo * (hi / lo) ** q`` for that variable's fitted range
    [lo, hi] (q = 0 the smallest x, q = 1 the largest), which is how a break
    location is searched wherever the data happen to lie.
    """

    name: str
    lower: float
    upper: float
    latex: str
    description: str = ""
    linear: bool = False
    grid: tuple[float, ...] = ()
    log_scale: bool = False  # optimise as log(value): for positive scale-like parameters
    grid_over: str = ""  # a variable: grid values are positions in its log-range (see above)

    def starts(self, cols: Mapping[str, Array] | None = None) -> Array:
        """The starting values the engine scans: ``grid``, or for ``grid_over`` the grid mapped onto the data."""
        grid = np.asarray(self.grid, dtype=float)
        if not self.grid_over:
            return grid
        if cols is None or self.grid_over not in cols:
            raise WorkbenchError(f"parameter {self.name}: its starting grid needs the {self.grid_over!r} column")
        x = np.asarray(cols[self.grid_over], dtype=float)
        lo, hi = float(np.min(x)), float(np.max(x))
        return np.clip(lo * (hi / lo) ** grid, self.lower, self.upper)

    def __post_init__(self) -> None:
        if not self.lower < self.upper:
            raise ValueError(f"parameter {self.name}: lower bound must be below upper bound")
        if self.grid_over and not self.grid:
            raise ValueError(f"parameter {self.name}: grid_over needs a grid of relative positions")


#: Where a preset's digits come from, most to least direct.
ORIGINS = {
    "printed": "printed in the paper's text, a table or an equation",
    "authors-code": "obtained by running, or read from, the authors' released code or data",
    "digitised": "read off a figure",
    "secondhand": "transcribed by someone else and not yet checked against the paper",
}


@dataclass(frozen=True)
class Preset:
    """Constants for a law, with exactly where their digits come from.

    ``origin`` is one of :data:`ORIGINS`; only ``"printed"`` constants are
    called *published* anywhere in the workbench (:attr:`label`).  ``locator``
    says where to find them: ``arXiv:2411.04330v2 App. K Table 2`` for a
    paper, ``owner/repo@commit:path`` for code or data.
    """

    name: str
    values: Mapping[str, float]
    citation: str
    origin: str
    locator: str
    note: str = ""

    def __post_init__(self) -> None:
        if self.origin not in ORIGINS:
            raise ValueError(f"preset {self.name}: origin must be one of {', '.join(ORIGINS)}, not {self.origin!r}")
        if not self.locator.strip():
            raise ValueError(f"preset {self.name}: a locator (where exactly the constants are) is required")

    @property
    def label(self) -> str:
        """How the constants are named to users: "published" only for printed ones."""
        return {"printed": "published", "authors-code": "authors' code"}.get(self.origin, self.origin)

    def describe(self) -> str:
        """One line: name, label and locator."""
        return f"{self.name} ({self.label}: {self.locator})"


@dataclass(frozen=True)
class Law:
    """A scaling law as data: variables, parameters, formula, presets.

    A *separable* law declares ``basis(x, theta)``, an ``(..., n, k)`` array whose
    columns multiply the ``k`` linear parameters (in declaration order), and
    ``basis_grad(x, theta)``, ``(..., n, k, m)``: the derivative of each column
    with respect to each of the ``m`` non-linear parameters.  ``theta`` is a
    sequence of the non-linear parameters in declaration order; each entry may
    be an array, and both functions must broadcast over it (the engine
    evaluates a whole grid, or a whole bootstrap, in one call).

    A law that is not separable declares ``formula(x, values)`` instead, with
    ``values`` a name -> value mapping; the engine then fits it by multi-start.
    It may also declare ``formula_grad(x, values)``, a name -> array mapping of
    the prediction's exact derivative in every parameter (laws built from a
    formula derive it symbolically); without it the engine differences.
    ``domains`` says which variables may be zero (``"nonnegative"``) or any sign
    (``"real"``); the default is ``"positive"``.  ``canonical`` maps a parameter
    vector to the canonical one of its exact equivalents (a BNSL's breaks are
    interchangeable, so they are reported sorted by location); the engine
    applies it to results when no parameter is fixed or tied.
    """

    name: str
    title: str
    variables: tuple[str, ...]
    parameters: tuple[Parameter, ...]
    latex: str
    basis: Callable[[Columns, Array], Array] | None = None
    basis_grad: Callable[[Columns, Array], Array] | None = None
    formula: Callable[[Columns, Mapping[str, float]], Array] | None = None
    formula_grad: Callable[[Columns, Mapping[str, float]], Mapping[str, Array]] | None = None
    target: str = "loss"
    domains: Mapping[str, str] = field(default_factory=dict)
    presets: tuple[Preset, ...] = ()
    description: str = ""
    references: tuple[str, ...] = field(default_factory=tuple)
    canonical: Callable[[Mapping[str, float]], dict[str, float]] | None = None

    def __post_init__(self) -> None:
        if (self.basis is None) == (self.formula is None):
            raise ValueError(f"law {self.name}: declare either basis (+ basis_grad) or formula")
        if self.basis is not None and self.basis_grad is None:
            raise ValueError(f"law {self.name}: a separable law needs basis_grad")
        if self.formula is not None and any(p.linear for p in self.parameters):
            raise ValueError(f"law {self.name}: linear parameters need a basis")
        if self.formula_grad is not None and self.formula is None:
            raise ValueError(f"law {self.name}: formula_grad is the gradient of a formula; declare the formula")
        for p in self.parameters:
            if p.grid_over and (
                p.grid_over not in self.variables or self.domains.get(p.grid_over, "positive") != "positive"
            ):
                raise ValueError(f"law {self.name}: parameter {p.name}'s grid_over must be a positive variable")

    @classmethod
    def from_formula(
        cls,
        formula: str,
        variables: Sequence[str],
        target: str = "loss",
        bounds: Mapping[str, Sequence[float]] | None = None,
        name: str | None = None,
        latex: str | None = None,
        description: str = "",
        **more,
    ) -> Law:
        """A law from a formula typed as text: ``Law.from_formula("E + A/params**alpha", ["params"])``.

        ``variables`` are the data's columns the formula uses (``--predict``
        values follow their order); every other name is a parameter.  The text
        is parsed into a whitelisted syntax tree and never run; gradients are
        exact (sympy), parameters that enter linearly are solved exactly, and
        ``bounds`` (name -> ``(low, high)``) override the defaults.  Keyword
        ``domains``, ``presets`` and ``title`` are passed on.  See
        :mod:`workbench.laws.formula` for the syntax, the defaults and the limits.
        """
        from workbench.laws.formula import law_from_formula

        return law_from_formula(formula, variables, target, bounds, name, latex, description, **more)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    @property
    def linear(self) -> tuple[Parameter, ...]:
        return tuple(p for p in self.parameters if p.linear)

    @property
    def nonlinear(self) -> tuple[Parameter, ...]:
        return tuple(p for p in self.parameters if not p.linear)

    def parameter(self, name: str) -> Parameter:
        for p in self.parameters:
            if p.name == name:
                return p
        raise WorkbenchError(f"law {self.name!r} has no parameter {quote(name)}; it has {', '.join(self.names)}")

    def canonicalize(self, values: Mapping[str, float]) -> dict[str, float]:
        """``values`` in the law's canonical form (unchanged for laws without exact symmetries)."""
        return dict(values) if self.canonical is None else dict(self.canonical(values))

    def preset(self, name: str) -> Preset:
        for p in self.presets:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.presets) or "none"
        raise WorkbenchError(f"law {self.name!r} has no preset {quote(name)}; known presets: {known}")

    def split(self, values: Mapping[str, float]) -> tuple[Array, Array]:
        """Return ``(coefficients, theta)`` arrays from a name -> value mapping."""
        missing = [n for n in self.names if n not in values]
        if missing:
            raise WorkbenchError(f"law {self.name!r} needs values for {', '.join(missing)}")
        coef = np.array([float(values[p.name]) for p in self.linear])
        theta = np.array([float(values[p.name]) for p in self.nonlinear])
        return coef, theta

    def predict(self, x: Columns, values: Mapping[str, float]) -> Array:
        """Evaluate the law at the points ``x`` (a mapping of variable -> array)."""
        cols = {v: np.atleast_1d(np.asarray(x[v], dtype=float)) for v in self.variables}
        if self.formula is not None:
            missing = [n for n in self.names if n not in values]
            if missing:
                raise WorkbenchError(f"law {self.name!r} needs values for {', '.join(missing)}")
            return np.asarray(self.formula(cols, {n: float(values[n]) for n in self.names}), dtype=float)
        coef, theta = self.split(values)
        return self.basis(cols, list(theta)) @ coef
