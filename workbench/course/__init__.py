"""The course's figures, one builder per figure, shared by notebooks and batch mode.

Every figure a course notebook shows is built by a function registered here
with :func:`figure`; the notebook calls the same function (then adds widgets),
and ``python -m workbench figures --out DIR`` calls all of them without
Jupyter and writes an index.  So the batch figures and the notebooks cannot
drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import altair as alt
import polars as pl


@dataclass(frozen=True)
class Figure:
    """A chart with the tables behind it, its citations and a caption.

    ``caution`` says what not to trust in the fits the figure shows
    (:func:`workbench.fit.caution_of`); :attr:`full_caption` appends it, and
    batch mode and exports use that, so the warning travels with the picture.
    """

    name: str
    notebook: str
    caption: str
    chart: alt.TopLevelMixin
    tables: Mapping[str, pl.DataFrame] = field(default_factory=dict)
    bibtex: str = ""
    caution: str = ""

    @property
    def full_caption(self) -> str:
        return " ".join(part for part in (self.caption, self.caution) if part)


REGISTRY: dict[str, Callable[[], Figure]] = {}
EXPLORERS: dict[str, Callable[[], object]] = {}  # name -> factory of an explorer (for the latency benchmark)


def figure(name: str) -> Callable[[Callable[[], Figure]], Callable[[], Figure]]:
    """Register a figure builder under ``name`` (unique across the course)."""

    def register(builder: Callable[[], Figure]) -> Callable[[], Figure]:
        if name in REGISTRY:
            raise ValueError(f"figure {name!r} registered twice")
        REGISTRY[name] = builder
        return builder

    return register


def explorer(name: str) -> Callable[[Callable[[], object]], Callable[[], object]]:
    """Register a factory of a notebook's explorer (it must have ``update()`` and
    ``last_update_seconds``), so its slider callbacks can be benchmarked."""

    def register(factory: Callable[[], object]) -> Callable[[], object]:
        if name in EXPLORERS:
            raise ValueError(f"explorer {name!r} registered twice")
        EXPLORERS[name] = factory
        return factory

    return register


def load_all() -> dict[str, Callable[[], Figure]]:
    """Import every course module so its figures register, and return the registry."""
    from workbench.course import figures_core, nb01_04, nb05_08, nb09_12  # noqa: F401

    return REGISTRY
