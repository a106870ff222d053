"""Loading the curated corpus as one polars DataFrame, validated on the way in.

Every curated table is read as text and cast strictly to the schema, so a
corrupted or hand-edited file fails loudly with its file, column and row
instead of turning into nulls.  Filters select sources, metrics and rows that
have a given axis.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import polars as pl

from workbench.corpus import schema
from workbench.corpus.sources import Source, Subset, get_source, sources
from workbench.corpus.tables import cast_strict, read_text_table
from workbench.errors import WorkbenchError, quote, quote_list

KNOWN_PARAMS_CONVENTIONS = schema.PARAMS_CONVENTIONS


def validate(df: pl.DataFrame, origin: str) -> pl.DataFrame:
    """Check a table against the schema and return it conformed (typed, all columns)."""
    unknown = [c for c in df.columns if c not in schema.BY_NAME]
    if unknown:
        raise WorkbenchError(f"{origin}: unknown column(s) {quote_list(unknown)}; see workbench.corpus.schema")
    missing = [c.name for c in schema.COLUMNS if c.required and c.name not in df.columns]
    if missing:
        raise WorkbenchError(f"{origin}: missing required column(s) {', '.join(map(repr, missing))}")
    typed = cast_strict(
        df,
        {c: schema.SCHEMA[c] for c in df.columns},
        origin,
        positive=[c.name for c in schema.COLUMNS if c.positive],
        required=[c.name for c in schema.COLUMNS if c.required],
    )
    if "params_convention" in typed.columns:
        bad = typed["params_convention"].is_not_null() & ~typed["params_convention"].is_in(KNOWN_PARAMS_CONVENTIONS)
        if bad.any():
            row = int(bad.arg_max())
            raise WorkbenchError(
                f"{origin}: column 'params_convention' row {row + 1}: {quote(typed['params_convention'][row])} "
                f"is not one of {', '.join(KNOWN_PARAMS_CONVENTIONS)}"
            )
    key = [c for c in schema.KEY if c in typed.columns]
    if typed.select(key).is_duplicated().any():
        groups = (
            typed.select(key)
            .with_row_index("_row")
            .group_by(key, maintain_order=True)
            .agg(pl.col("_row"))
            .filter(pl.col("_row").list.len() > 1)
            .sort(pl.col("_row").list.first())
        )
        rows = [i + 1 for i in groups["_row"][0].to_list()]
        raise WorkbenchError(
            f"{origin}: rows {rows[0]} and {rows[1]} describe the same measurement "
            f"(same {', '.join(key)}); a table holds each measurement once"
        )
    return schema.conform(typed)


def read_table(path: Path, origin: str | None = None) -> pl.DataFrame:
    return validate(read_text_table(path), origin or str(path))


def load_source(src: Source) -> pl.DataFrame:
    df = read_table(src.table)
    wrong = df["source_id"] != src.id
    if wrong.any():
        row = int(wrong.arg_max())
        raise WorkbenchError(
            f"{src.table}: column 'source_id' row {row + 1}: {quote(df['source_id'][row])} should be {src.id!r}"
        )
    return df


def load(
    source: str | Iterable[str] | None = None,
    *,
    metric: str | Iterable[str] | None = None,
    axes: Iterable[str] = (),
    final_only: bool = False,
    corpus: Path | None = None,
) -> pl.DataFrame:
    """The corpus (or the named sources), validated, in the schema's column order.

    ``metric`` keeps rows of those metrics; ``axes`` keeps rows where every named
    axis (e.g. ``"params"``, ``"weight_bits"``) is present; ``final_only`` keeps
    final checkpoints.  ``corpus`` loads another corpus folder (e.g. one
    pulled from the Hub with :func:`workbench.corpus.hub.pull`) instead of
    the bundled ``datasets/``.  Without ``source`` it loads the published
    sources; the workbench's own proxy runs load by their ids (``proxy:zipf``,
    ``proxy:pystdlib``, ``proxy:trap``; see ``datasets/proxies/sources.toml``).
    """
    ids = list(sources(corpus)) if source is None else [source] if isinstance(source, str) else list(source)
    frames = [
        _load_proxy(i) if i.startswith("proxy:") and corpus is None else load_source(get_source(i, corpus)) for i in ids
    ]
    df = pl.concat(frames, how="vertical") if frames else schema.conform(pl.DataFrame())
    if metric is not None:
        metrics = [metric] if isinstance(metric, str) else list(metric)
        df = df.filter(pl.col("metric").is_in(metrics))
    for axis in axes:
        if axis not in schema.BY_NAME:
            raise WorkbenchError(f"unknown axis {quote(axis)}; axes are {', '.join(schema.AXES)}")
        df = df.filter(pl.col(axis).is_not_null())
    if final_only:
        df = df.filter(pl.col("final").fill_null(False))
    return df


def _load_proxy(source_id: str) -> pl.DataFrame:
    from workbench.corpus.proxy_sources import load_proxy_source

    return load_proxy_source(source_id)


def loss_points(source: str, *, metric: str = "loss", subset: str | None = None) -> pl.DataFrame:
    """Final-checkpoint losses of one source with a ``loss`` column, ready for a fit.

    ``metric`` picks another loss-like metric (e.g. ``"loss_as_plotted"`` for a
    digitised figure whose units are uncertain).  ``subset`` names rows a paper
    fitted, declared in ``datasets/sources.toml`` (e.g. ``"besiroglu2024"`` of
    ``chinchilla_epoch``: the 240 points of Besiroglu et al. 2024).
    """
    df = load(source, metric=metric, final_only=True)
    if df.height == 0:
        have = sorted(load(source)["metric"].unique().to_list())
        raise WorkbenchError(
            f"corpus source {source!r} has no final-checkpoint {metric!r} rows (its metrics: {', '.join(have)})"
        )
    df = df.with_columns(pl.col("value").alias("loss"))
    return df if subset is None else select_subset(df, get_source(source).subset(subset), source)


def select_subset(frame: pl.DataFrame, subset: Subset, origin: str) -> pl.DataFrame:
    """The rows of ``frame`` that ``subset`` keeps, in their original order (the one implementation of every rule).

    ``drop_highest`` keeps the rows whose column is below its n-th highest
    value, as Epoch AI's analysis does; ties at that value are dropped too.
    """
    column, n = subset.column, subset.drop_highest
    if column not in frame.columns:
        raise WorkbenchError(f"{origin}: subset {subset.name!r} selects by column {column!r}, which these rows lack")
    values = frame[column]
    if values.null_count():
        raise WorkbenchError(
            f"{origin}: subset {subset.name!r}: column {column!r} row {int(values.is_null().arg_max()) + 1} is empty"
        )
    if frame.height <= n:
        raise WorkbenchError(f"{origin}: subset {subset.name!r} drops the {n} highest of only {frame.height} rows")
    threshold = values.sort(descending=True)[n - 1]
    return frame.filter(pl.col(column) < threshold)
