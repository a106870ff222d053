"""The course's figures, one builder per figure, shared by notebooks and batch mode.

Every figure a course notebook shows is built by a function registered here
with :func:`figure`; the notebook calls the same function (then adds widgets),
and ``python -m workbench figures --out DIR`` calls all of them without
Jupyter and writes an index.  So the batch figures and the notebooks cannot
drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

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


REQUIRES: dict[str, tuple[str, ...]] = {}  # name -> the inputs the figure needs (see workbench.course.inputs)


def figure(name: str, requires: tuple[str, ...] = ()) -> Callable[[Callable[[], Figure]], Callable[[], Figure]]:
    """Register a figure builder under ``name`` (unique across the course).

    ``requires`` declares the checkout files it needs (``"proxies/<preset>"``,
    ``"corpus/<source id>"``): batch mode skips and reports a figure whose
    inputs are missing, instead of anything deciding at import time.
    """

    def register(builder: Callable[[], Figure]) -> Callable[[], Figure]:
        if name in REGISTRY:
            raise ValueError(f"figure {name!r} registered twice")
        REGISTRY[name] = builder
        REQUIRES[name] = tuple(requires)
        return builder

    return register


def explorer_figure(ex, name: str, notebook: str, caption: str) -> Figure:
    """An explorer's current state as a :class:`Figure` (its spec with data, tables, BibTeX and caution)."""
    return Figure(name, notebook, caption, ex.spec(), ex.shown_tables, ex.bibtex, caution=ex.caution())


def explorer(name: str) -> Callable[[Callable[[], object]], Callable[[], object]]:
    """Register a factory of a notebook's explorer (it must have ``update()`` and
    ``last_update_seconds``), so its slider callbacks can be benchmarked."""

    def register(factory: Callable[[], object]) -> Callable[[], object]:
        if name in EXPLORERS:
            raise ValueError(f"explorer {name!r} registered twice")
        EXPLORERS[name] = factory
        return factory

    return register


#: The course's lessons in teaching order: notebook NN uses the modules of LESSONS[NN], named by topic
#: (a lesson with two topics has two modules, so that no module grows past a few hundred lines).
LESSONS: tuple[tuple[str, ...], ...] = (
    ("corpus_tour",),
    ("power_laws", "regimes", "superposition"),
    ("chinchilla", "multimodal"),
    ("chinchilla_approaches", "width_depth"),
    ("overtraining", "lifetime_cost"),
    ("downstream", "benchmark_noise", "transfer"),
    ("precision", "quantisation"),
    ("inverse_scaling",),
    ("crossovers", "recipe_crossover"),
    ("proxies", "sparse_training"),
    ("schedules",),
    ("data_constraints", "repeated_data", "pruning"),
    ("inference_scaling", "parallel_scaling"),
    ("nmt",),
    ("claim_check", "claim_widgets"),
)


def load_all() -> dict[str, Callable[[], Figure]]:
    """Import every lesson module so its figures register, and return the registry."""
    import importlib

    for modules in LESSONS:
        for module in modules:
            importlib.import_module(f"workbench.course.{module}")
    return REGISTRY
