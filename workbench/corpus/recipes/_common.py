"""Shared pieces of the curation recipes: the result type and strict raw reading.

A recipe turns a source's pinned raw files into rows of the corpus schema.  It
reads every raw file through :func:`read_raw` (all cells as text, then cast
strictly), so a malformed upstream file fails with its file, column and row
rather than turning into nulls, and it returns every raw value it leaves out
in :attr:`Curated.dropped`, by reason, so the count can be checked against
the registry and reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from workbench.corpus.sources import Source
from workbench.corpus.tables import cast_strict
from workbench.errors import WorkbenchError


@dataclass(frozen=True)
class Curated:
    """A curated table and the raw values it leaves out, counted by reason."""

    frame: pl.DataFrame
    dropped: Mapping[str, int] = field(default_factory=dict)


def provenance(src: Source, paper: str | pl.Expr, backing: str | pl.Expr) -> dict[str, pl.Expr]:
    """Columns that tie every row to its paper, figure/table, repository, commit and licence."""
    lit = lambda v: v if isinstance(v, pl.Expr) else pl.lit(v)  # noqa: E731
    return {
        "source_id": pl.lit(src.id),
        "paper": lit(paper),
        "backing": lit(backing),
        "repository": pl.lit(src.repository),
        "source_commit": pl.lit(src.commit),
        "licence": pl.lit(src.licence),
    }


def read_raw(
    path: Path, dtypes: Mapping[str, pl.DataType] | None = None, required: tuple[str, ...] = ()
) -> pl.DataFrame:
    """A raw CSV with every cell as text, the named columns cast strictly."""
    try:
        df = pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise WorkbenchError(f"{path}: cannot read as CSV ({str(exc).splitlines()[0]})") from None
    return cast_columns(df, str(path), dtypes or {}, required)


def cast_columns(
    df: pl.DataFrame, origin: str, dtypes: Mapping[str, pl.DataType], required: tuple[str, ...] = ()
) -> pl.DataFrame:
    missing = [c for c in dtypes if c not in df.columns]
    if missing:
        raise WorkbenchError(f"{origin}: missing column(s) {', '.join(map(repr, missing))}")
    return cast_strict(df, dtypes, origin, required=required)


def count(dropped: dict[str, int], reason: str, n: int) -> None:
    """Add ``n`` left-out raw values under ``reason`` (zero counts are not recorded)."""
    if n:
        dropped[reason] = dropped.get(reason, 0) + int(n)
