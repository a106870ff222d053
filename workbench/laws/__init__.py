"""The law registry: every law the workbench knows, by name.

Adding a law means declaring it in its own module and listing it here; the
fitting engine, CLI and notebooks pick it up from this registry.
"""

from __future__ import annotations

from workbench.errors import WorkbenchError
from workbench.laws.base import Law, Parameter, Preset
from workbench.laws.chinchilla import CHINCHILLA
from workbench.laws.power import POWER_LAWS

LAWS: dict[str, Law] = {law.name: law for law in (CHINCHILLA, *POWER_LAWS)}


def get_law(name: str) -> Law:
    """Look a law up by name, with a clear error listing the known ones."""
    try:
        return LAWS[name]
    except KeyError:
        raise WorkbenchError(f"unknown law {name!r}; known laws: {', '.join(sorted(LAWS))}") from None


__all__ = ["LAWS", "Law", "Parameter", "Preset", "get_law", "CHINCHILLA"]
