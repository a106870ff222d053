"""Scaling-law workbench: published measurements, declarative laws, one fitting engine.

The package is layered so data flows one way: ``corpus`` (rows) -> ``laws``
(declarations) -> ``fit`` (one engine, uncertainty) -> ``analysis`` -> ``viz``
(charts, widgets, export) -> ``cli`` / notebooks.  Lower floors never import
higher ones.
"""

from workbench.errors import WorkbenchError

__all__ = ["WorkbenchError"]
__version__ = "0.1.0"
