"""The corpus at curve scale: sources as lazy polars frames over a parquet store.

Why.  Final points fit in memory (36 k rows), but loss curves of every run, every
checkpoint of a ladder or the eval logs of a model family reach 10^7 rows.
:func:`scan` returns a ``pl.LazyFrame`` over parquet, so a filter, a projection
or a group-by reads only the row groups and columns it needs instead of
loading the whole table.

Where the store lives.  Parquet files are a *cache*, never written into the
checkout or next to a user's files: ``$WORKBENCH_CACHE/corpus-parquet``, else
``$XDG_CACHE_HOME/scaling-workbench/corpus-parquet``, else
``~/.cache/scaling-workbench/corpus-parquet`` (``store=`` picks another folder).
Nothing is written at import time.

Layout (hive-style, one folder per source)::

    <store>/source_id=<id>/part-<fingerprint>.parquet             (a published source)
    <store>/source_id=proxy%3A<name>/part-<fingerprint>--<preset>.parquet   (a proxy source: one per preset)

A source registered as a CSV table (``datasets/<id>.csv``, or a proxy source's
preset files) gets its partition built on the first :func:`scan`, from the
validated rows of :func:`workbench.corpus.load` (so a scan collects to exactly
what ``load`` returns).  The fingerprint hashes the backing files and the
schema, so an edited table makes a new partition instead of serving stale
rows; the file is written under a temporary name and renamed into place, so a
reader never sees half a file.  A large source with no CSV (a generated curve
table) is written once with :func:`write_partition` and scanned like any
other.  :func:`build_store` builds the partitions of registered sources ahead
of time.  ``:`` in ``proxy:zipf`` is spelled ``%3A`` in the folder name.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote as url_quote

import polars as pl

from workbench.corpus import schema
from workbench.corpus.paths import check_id, proxies_dir
from workbench.corpus.sources import sources
from workbench.errors import WorkbenchError, quote

FOLDER_PREFIX = "source_id="


def store_dir() -> Path:
    """The default parquet store (a cache folder outside the checkout); see the module docstring."""
    if os.environ.get("WORKBENCH_CACHE"):
        return Path(os.environ["WORKBENCH_CACHE"]) / "corpus-parquet"
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "scaling-workbench" / "corpus-parquet"


def partition_dir(source_id: str, store: Path) -> Path:
    """``<store>/source_id=<id>``, the id checked first (it becomes a folder name)."""
    check_id(source_id.removeprefix("proxy:"), str(store), "source id")
    return Path(store) / f"{FOLDER_PREFIX}{url_quote(source_id, safe='')}"


def scan(source: str | Iterable[str], *, store: str | Path | None = None) -> pl.LazyFrame:
    """The rows of one or more sources as a ``pl.LazyFrame`` over parquet, in the corpus schema.

    Registered sources (``datasets/sources.toml`` and ``proxy:*``) have their
    partition built on first use; any other id must already have one in
    ``store`` (written by :func:`write_partition`), else a one-line error.
    """
    ids = [source] if isinstance(source, str) else list(source)
    if not ids:
        raise WorkbenchError("corpus.scan: name at least one source")
    root = Path(store) if store is not None else store_dir()
    files = [f for i in ids for f in _partition_files(i, root)]
    return pl.scan_parquet(files, hive_partitioning=False)


def build_store(source: str | Iterable[str] | None = None, *, store: str | Path | None = None) -> Path:
    """Build (or refresh) the partitions of registered sources ahead of time; all of them without ``source``."""
    root = Path(store) if store is not None else store_dir()
    ids = registered() if source is None else [source] if isinstance(source, str) else list(source)
    for source_id in ids:
        _partition_files(source_id, root)
    return root


def write_partition(source_id: str, rows: pl.DataFrame | pl.LazyFrame, *, store: str | Path | None = None) -> Path:
    """Write ``rows`` as the partition of a source that has no CSV (e.g. a generated curve table); returns the file.

    The rows are written as they are (streamed when lazy); a registered source
    is refused, since its partition is always derived from its table.
    """
    if source_id in registered():
        raise WorkbenchError(f"corpus source {quote(source_id)} is registered: its partition is built from its table")
    folder = partition_dir(source_id, Path(store) if store is not None else store_dir())
    return _write_atomically(rows, folder, "part-0.parquet")


def registered() -> list[str]:
    """Ids whose partition the store derives from shipped tables: published sources, then proxy sources."""
    from workbench.corpus.proxy_sources import proxy_sources

    return [*sources(), *proxy_sources()]


def _partition_files(source_id: str, root: Path) -> list[Path]:
    """The parquet files of one source, building the partition first if it is registered and missing or stale."""
    if not isinstance(source_id, str):
        raise WorkbenchError(f"corpus.scan: source id {quote(source_id)} is not a string")
    folder = partition_dir(source_id, root)
    presets = _proxy_presets(source_id)
    if presets is not None:  # one file per preset, so a preset's scan builds and reads its own rows only
        return [proxy_part(source_id, preset, root) for preset in presets]
    backing = _backing_files(source_id)
    if backing is None:
        files = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
        if not files:
            raise WorkbenchError(
                f"unknown corpus source {quote(source_id)}: not registered and no parquet partition in {folder}; "
                f"known sources: {', '.join(registered())}"
            )
        return files
    name = f"part-{_fingerprint(backing)}.parquet"
    if not (folder / name).exists():
        from workbench.corpus.load import load

        _write_atomically(load(source_id), folder, name)
        _remove_stale(folder, keep=name)
    return [folder / name]


def _proxy_presets(source_id: str) -> tuple[str, ...] | None:
    """The presets holding a registered proxy source's rows, in the registry's order; None for any other id."""
    if not source_id.startswith("proxy:"):
        return None
    from workbench.corpus.proxy_sources import proxy_sources

    known = proxy_sources()
    return known[source_id].presets if source_id in known else None


def proxy_part(source_id: str, preset: str, store: str | Path | None = None) -> Path:
    """The parquet file of one preset's rows of a proxy source, built from ``datasets/proxies/<preset>.csv`` if needed.

    Named ``part-<fingerprint>--<preset>.parquet``; the fingerprint hashes the
    registry, the preset's table and the schema.  Building it reads that one
    table, so a notebook scanning one preset never loads the others.
    """
    import polars as pl

    from workbench.corpus.proxy_sources import load_preset

    folder = partition_dir(source_id, Path(store) if store is not None else store_dir())
    name = f"part-{_fingerprint([proxies_dir() / 'sources.toml', proxies_dir() / f'{preset}.csv'])}--{preset}.parquet"
    if not (folder / name).exists():
        rows = load_preset(preset).filter(pl.col("source_id") == source_id)
        if not rows.height:
            raise WorkbenchError(
                f"preset {preset!r} holds no rows of {source_id}: datasets/proxies/sources.toml lists the wrong presets"
            )
        _write_atomically(rows, folder, name)
        for path in folder.glob("part-*.parquet"):  # this preset's older files, and any whole-source file
            if path.name != name and (path.name.endswith(f"--{preset}.parquet") or "--" not in path.name):
                path.unlink(missing_ok=True)
    return folder / name


def _backing_files(source_id: str) -> list[Path] | None:
    """The shipped files a registered source's rows come from, or None for an unregistered id."""
    if source_id.startswith("proxy:"):
        from workbench.corpus.proxy_sources import proxy_sources

        known = proxy_sources()
        if source_id not in known:
            return None
        return [proxies_dir() / "sources.toml", *(proxies_dir() / f"{p}.csv" for p in known[source_id].presets)]
    known = sources()
    return [known[source_id].table] if source_id in known else None


def _fingerprint(files: list[Path]) -> str:
    """A short hash of the backing files' bytes and the schema: a new value means a new partition."""
    digest = hashlib.sha256(repr(sorted(schema.SCHEMA.items())).encode())
    for path in files:
        digest.update(str(path.name).encode())
        try:
            digest.update(path.read_bytes())
        except OSError as exc:
            raise WorkbenchError(f"{path}: cannot read it ({exc.strerror})") from None
    return digest.hexdigest()[:16]


def _write_atomically(rows: pl.DataFrame | pl.LazyFrame, folder: Path, name: str) -> Path:
    """Write ``rows`` to ``folder/name`` under a temporary name, then rename it into place."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".parquet")
        os.close(fd)
    except OSError as exc:
        raise WorkbenchError(f"{folder}: cannot write the parquet store there ({exc.strerror})") from None
    try:
        if isinstance(rows, pl.LazyFrame):
            rows.sink_parquet(tmp)
        else:
            rows.write_parquet(tmp)
        os.replace(tmp, folder / name)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return folder / name


def _remove_stale(folder: Path, keep: str) -> None:
    """Delete older partitions of a rebuilt source (a reader holding one open keeps its handle on POSIX)."""
    for path in folder.glob("part-*.parquet"):
        if path.name != keep:
            path.unlink(missing_ok=True)
