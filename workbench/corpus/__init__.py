"""The curated corpus: published measurements in one tidy schema (polars)."""

from workbench.corpus.load import load, loss_points, read_table, select_subset, validate
from workbench.corpus.scan import build_store, scan, write_partition
from workbench.corpus.schema import COLUMNS, NAMES, SCHEMA
from workbench.corpus.sources import Source, Subset, get_source, sources
from workbench.corpus.tables import UserTable, read_user_table

__all__ = [
    "COLUMNS",
    "NAMES",
    "SCHEMA",
    "Source",
    "Subset",
    "UserTable",
    "build_store",
    "get_source",
    "load",
    "loss_points",
    "read_table",
    "read_user_table",
    "scan",
    "select_subset",
    "sources",
    "validate",
    "write_partition",
]
