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

from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

from workbench.errors import WorkbenchError

Array = np.ndarray
Columns = Mapping[str, Array]


@dataclass(frozen=True)
class Parameter:
    """One fitted constant of a law.

    ``linear`` parameters multiply a basis column and are solved exactly for
    fixed non-linear ones; ``grid`` gives the starting values the engine scans
    for a non-linear parameter.
    """

    name: str
    lower: float
    upper: float
    latex: str
    description: str = ""
    linear: bool = False
    grid: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not self.lower < self.upper:
            raise ValueError(f"parameter {self.name}: lower bound must be below upper bound")


@dataclass(frozen=True)
class Preset:
    """Published constants for a law, with where they come from."""

    name: str
    values: Mapping[str, float]
    citation: str
    note: str = ""


@dataclass(frozen=True)
class Law:
    """A scaling law as data: variables, parameters, formula, presets.

    ``basis(x, theta)`` returns an ``(n, k)`` matrix whose columns multiply the
    ``k`` linear parameters (in declaration order); ``basis_grad(x, theta)``
    returns ``(n, k, m)``: the derivative of each column with respect to each
    of the ``m`` non-linear parameters.  ``theta`` is the vector of non-linear
    parameters in declaration order.
    """

    name: str
    title: str
    variables: tuple[str, ...]
    parameters: tuple[Parameter, ...]
    latex: str
    basis: Callable[[Columns, Array], Array]
    basis_grad: Callable[[Columns, Array], Array]
    target: str = "loss"
    presets: tuple[Preset, ...] = ()
    description: str = ""
    references: tuple[str, ...] = field(default_factory=tuple)

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
        raise WorkbenchError(f"law {self.name!r} has no parameter {name!r}; it has {', '.join(self.names)}")

    def preset(self, name: str) -> Preset:
        for p in self.presets:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.presets) or "none"
        raise WorkbenchError(f"law {self.name!r} has no preset {name!r}; known presets: {known}")

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
        coef, theta = self.split(values)
        return self.basis(cols, theta) @ coef
