"""How a law is fitted: the loss, the residual space, and which parameters move.

These six settings used to be repeated as keyword arguments by ``fit``,
``make_problem``, ``objective_at`` and every analysis that fits; each copy
could drift (one forgot ``space``, another ``tie``).  They are declared once
here, as a frozen :class:`FitOptions`.  Those functions take
``options: FitOptions | None`` and still accept the same names as keyword
overrides (``fit(law, data, loss="squared")``), checked against these fields,
so a misspelt option is an error that lists the valid ones rather than a
silently ignored keyword.

The options are validated when they are made (an unknown loss or residual
space, a bad Huber delta or over-prediction weight, a tie that is not
``"follower=leader"``); what needs the law (does ``E`` exist, is 1.69 inside
its bounds, may ``beta`` follow ``alpha``) is checked by ``make_problem``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from workbench.errors import WorkbenchError
from workbench.fit.objectives import Objective, make_objective

SPACES = ("log", "linear")


@dataclass(frozen=True, repr=False)
class FitOptions:
    """The fitting objective and constraints, shared by a fit, its problem, its score and its bootstrap.

    ``loss`` is ``"huber"`` (default, with ``delta``), ``"squared"`` or
    ``"asymmetric"`` (over-predictions weighted ``weight`` times).  ``fixed``
    pins parameters (``{"E": 1.69}``) and ``tie`` makes parameters equal
    (``["beta=alpha"]`` or ``{"beta": "alpha"}``, follower to leader).
    ``space`` is ``"log"`` (residuals of log values) or ``"linear"`` (of the
    values, as ``scipy.optimize.curve_fit`` minimises).  ``fixed`` and ``tie``
    are stored as read-only mappings, so options can be compared, hashed and
    used as a cache key.
    """

    loss: str = "huber"
    delta: float = 1e-3
    fixed: Mapping[str, float] = field(default_factory=dict)
    tie: Mapping[str, str] | Sequence[str] = ()
    weight: float = 4.0
    space: str = "log"

    def __post_init__(self) -> None:
        if self.space not in SPACES:
            raise WorkbenchError(f"unknown residual space {self.space!r}; choose 'log' or 'linear'")
        make_objective(self.loss, self.delta, self.weight)  # raises on an unknown loss, delta or weight
        fixed = {str(k): _number(k, v) for k, v in (self.fixed or {}).items()}
        object.__setattr__(self, "fixed", MappingProxyType(fixed))
        object.__setattr__(self, "tie", MappingProxyType(tie_pairs(self.tie)))

    def __repr__(self) -> str:
        fields = ", ".join(f"{f.name}={_plain(getattr(self, f.name))!r}" for f in dataclasses.fields(self))
        return f"FitOptions({fields})"

    def __hash__(self) -> int:
        return hash(
            (self.loss, self.delta, frozenset(self.fixed.items()), frozenset(self.tie.items()), self.weight, self.space)
        )

    @property
    def objective(self) -> Objective:
        """The loss these options describe, as the optimiser uses it."""
        return make_objective(self.loss, self.delta, self.weight)

    def replace(self, **changes) -> FitOptions:
        """These options with some fields changed; an unknown name is an error naming the valid ones."""
        check_names(changes)
        return dataclasses.replace(self, **changes) if changes else self

    @classmethod
    def of(cls, options: FitOptions | None = None, **overrides) -> FitOptions:
        """``options`` (defaults when None) with keyword ``overrides``: how every fitting function reads its
        arguments."""
        if options is not None and not isinstance(options, FitOptions):
            raise WorkbenchError(
                f"options must be a FitOptions, not {type(options).__name__}; "
                f"pass {', '.join(OPTION_NAMES)} as keywords or in FitOptions(...)"
            )
        return (cls() if options is None else options).replace(**overrides)


OPTION_NAMES = tuple(f.name for f in dataclasses.fields(FitOptions))


def check_names(names) -> None:
    """Refuse keywords that are not fields of :class:`FitOptions`, listing the fields."""
    unknown = [n for n in names if n not in OPTION_NAMES]
    if unknown:
        plural = "s" if len(unknown) > 1 else ""
        raise WorkbenchError(
            f"unknown fit option{plural} {', '.join(map(repr, unknown))}; the options are {', '.join(OPTION_NAMES)}"
        )


def tie_pairs(tie: Mapping[str, str] | Sequence[str] | None) -> dict[str, str]:
    """Ties as follower -> leader, from a mapping or strings like ``"beta=alpha"`` (syntax only, no law)."""
    if not tie:
        return {}
    if isinstance(tie, str):
        tie = [tie]
    pairs = tie.items() if isinstance(tie, Mapping) else [_split_tie(t) for t in tie]
    out: dict[str, str] = {}
    for follower, leader in pairs:
        if str(follower) in out:
            raise WorkbenchError(f"{follower} is tied twice (to {out[str(follower)]} and to {leader}): tie it once")
        out[str(follower)] = str(leader)
    return out


def _split_tie(text: str) -> tuple[str, str]:
    parts = [p.strip() for p in str(text).split("=")]
    if len(parts) != 2 or not all(parts):
        raise WorkbenchError(f"tie {text!r} must look like 'beta=alpha'")
    return parts[0], parts[1]


def _plain(value):
    """A read-only mapping shown as the dict it holds (reprs should read like the call that made them)."""
    return dict(value) if isinstance(value, MappingProxyType) else value


def _number(name, value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise WorkbenchError(f"fixed value {name}={value!r} is not a number") from None
