"""The law registry: every law the workbench knows, by name.

Adding a law means declaring it in its own module and listing it here; the
fitting engine, CLI and notebooks pick it up from this registry.
"""

from __future__ import annotations

from collections.abc import Mapping

from workbench.errors import WorkbenchError, quote
from workbench.laws.annealing import ANNEALING_LAWS
from workbench.laws.base import Law, Parameter, Preset
from workbench.laws.bnsl import BNSL_LAWS
from workbench.laws.chinchilla import CHINCHILLA
from workbench.laws.data_constrained import DATA_CONSTRAINED_LAWS
from workbench.laws.efficiency import EFFICIENCY_LAWS
from workbench.laws.floating_point import SUN_LAWS
from workbench.laws.gadre import GADRE_LAWS
from workbench.laws.gemstones import GEMSTONES_LAWS
from workbench.laws.henighan import HENIGHAN_LAWS
from workbench.laws.hyperparameters import HYPERPARAMETER_LAWS
from workbench.laws.isik import ISIK_LAWS
from workbench.laws.kaplan import KAPLAN_LAWS
from workbench.laws.nmt import NMT_LAWS
from workbench.laws.parscale import PARSCALE_LAWS
from workbench.laws.power import POWER_LAWS
from workbench.laws.precision import KUMAR_LAWS
from workbench.laws.quantization import QUANTIZATION_LAWS
from workbench.laws.sampling import SAMPLING_LAWS

# Order: general forms first, then by topic (data, precision, schedules, inference).
_ALL = (
    *POWER_LAWS,
    *KAPLAN_LAWS,
    *HENIGHAN_LAWS,
    CHINCHILLA,
    *BNSL_LAWS,
    *NMT_LAWS,
    *GADRE_LAWS,
    *ISIK_LAWS,
    *DATA_CONSTRAINED_LAWS,
    *KUMAR_LAWS,
    *SUN_LAWS,
    *QUANTIZATION_LAWS,
    *EFFICIENCY_LAWS,
    *ANNEALING_LAWS,
    *HYPERPARAMETER_LAWS,
    *SAMPLING_LAWS,
    *PARSCALE_LAWS,
    *GEMSTONES_LAWS,
)
LAWS: dict[str, Law] = {law.name: law for law in _ALL}
if len(LAWS) != len(_ALL):
    raise RuntimeError("two laws share a name in the registry")


def get_law(name: str) -> Law:
    """Look a law up by name, with a clear error listing the known ones."""
    try:
        return LAWS[name]
    except KeyError:
        raise WorkbenchError(f"unknown law {name!r}; known laws: {', '.join(sorted(LAWS))}") from None


def resolve_law(spec: str, bounds: Mapping[str, tuple[float, float]] | None = None) -> Law:
    """A law from what a user typed after ``--law``: a registered name, or a path ending in ``.toml``.

    A ``.toml`` path is a law file (:func:`workbench.laws.law_file.load_law_file`); ``bounds``
    (name -> ``(low, high)``) override its bounds.  A registered law's bounds are part of its
    declaration, so ``bounds`` for one are refused.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise WorkbenchError("--law is empty; give a registered law's name or a .toml law file")
    if spec.lower().endswith(".toml"):
        from workbench.laws.law_file import load_law_file

        return load_law_file(spec, bounds=bounds)
    if bounds:
        raise WorkbenchError(
            f"bounds can be set only for a law from a formula or a .toml law file; {quote(spec)} is a registered law"
        )
    return get_law(spec)


__all__ = ["LAWS", "Law", "Parameter", "Preset", "get_law", "resolve_law", "CHINCHILLA"]
