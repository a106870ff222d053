"""The workbench's own proxy runs as corpus sources: ``proxy:zipf``, ``proxy:pystdlib``, ``proxy:trap``.

Why here, in the corpus layer.  The proxies (``workbench.proxies``) *emit*
rows in the corpus schema; reading shipped rows back needs only the schema.
Keeping the reader and the registry (``datasets/proxies/sources.toml``) here
lets ``corpus.load("proxy:zipf")`` work without the corpus importing the
training code above it.

Preset names become file names (``datasets/proxies/<preset>.csv``), so each
one, from the registry or from a caller, must be a plain name
(:func:`workbench.corpus.paths.check_id`): ``load_preset("../../x")`` is
refused instead of reading a file outside the folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from workbench.corpus import schema
from workbench.corpus.paths import check_id, proxies_dir, within
from workbench.corpus.sources import read_registry
from workbench.errors import WorkbenchError, quote


@dataclass(frozen=True)
class ProxySource:
    """One ``proxy:<corpus>`` source of ``datasets/proxies/sources.toml``: what it is and which files hold it."""

    id: str
    title: str
    citation: str
    backing: str
    presets: tuple[str, ...]
    licence: str
    how_obtained: str
    params_convention: str
    caveats: tuple[str, ...]
    bibtex: str


def read_results_csv(path: Path) -> pl.DataFrame:
    """Read a proxy results CSV (a sweep's ``results.csv`` or a shipped preset), typed to the schema."""
    path = Path(path)
    if not path.exists():
        raise WorkbenchError(f"{path}: no such results file")
    head = pl.read_csv(path, n_rows=0)
    unknown = [c for c in head.columns if c not in schema.BY_NAME]
    if unknown:
        raise WorkbenchError(f"{path}: unknown column(s) {', '.join(unknown)}")
    df = pl.read_csv(path, schema_overrides={c: schema.SCHEMA[c] for c in head.columns if schema.SCHEMA[c] != pl.Date})
    return schema.conform(df)


def load_preset(preset: str) -> pl.DataFrame:
    """The shipped results of a preset (``datasets/proxies/<preset>.csv``) as schema rows."""
    where = str(proxies_dir())
    path = within(proxies_dir(), f"{check_id(preset, where, 'preset')}.csv", where)
    if not path.exists():
        have = sorted(p.stem for p in proxies_dir().glob("*.csv"))
        raise WorkbenchError(f"no shipped results for preset {preset!r}; shipped: {', '.join(have) or 'none'}")
    return read_results_csv(path)


def scan_preset(preset: str, *, store=None):
    """A preset's shipped rows as a ``pl.LazyFrame`` over the parquet store (:func:`workbench.corpus.scan`).

    Only this preset's parquet files are built and scanned (one per source
    that lists it, :func:`workbench.corpus.scan.proxy_part`), and only its
    runs (``run_id`` starting ``<preset>/``) come out: a filter or a
    projection on the result reads just what it needs.  Collects to the rows of
    :func:`load_preset`, in the corpus schema's column order.
    """
    import polars as pl

    from workbench.corpus.scan import proxy_part

    check_id(preset, str(proxies_dir()), "preset")
    ids = [sid for sid, src in proxy_sources().items() if preset in src.presets]
    if not ids:
        have = sorted({p for src in proxy_sources().values() for p in src.presets})
        raise WorkbenchError(f"no shipped results for preset {preset!r}; shipped: {', '.join(have) or 'none'}")
    files = [proxy_part(sid, preset, store) for sid in ids]  # this preset's files only
    return pl.scan_parquet(files, hive_partitioning=False).filter(pl.col("run_id").str.starts_with(f"{preset}/"))


def proxy_sources() -> dict[str, ProxySource]:
    """The registered proxy sources by id (``datasets/proxies/sources.toml``)."""
    path = proxies_dir() / "sources.toml"
    out = {}
    for entry in read_registry(path):
        source_id = entry.get("id") if isinstance(entry, dict) else None
        if not isinstance(source_id, str) or not source_id.startswith("proxy:"):
            raise WorkbenchError(f"{path}: proxy source id {quote(source_id)} should look like 'proxy:<name>'")
        check_id(source_id.removeprefix("proxy:"), str(path), "proxy source name")
        try:
            out[source_id] = ProxySource(
                id=source_id,
                title=entry["title"],
                citation=entry["citation"],
                backing=entry["backing"],
                presets=tuple(check_id(p, f"{path}: source {source_id!r}", "preset") for p in entry["presets"]),
                licence=entry["licence"],
                how_obtained=entry["how_obtained"],
                params_convention=entry["params_convention"],
                caveats=tuple(entry.get("caveats", ())),
                bibtex=entry.get("bibtex", "").strip(),
            )
        except KeyError as exc:
            raise WorkbenchError(f"{path}: source {source_id!r} is missing field {exc}") from None
    return out


def load_proxy_source(source_id: str) -> pl.DataFrame:
    """Every shipped row of one proxy source (e.g. ``proxy:zipf``), from all the presets that hold it."""
    known = proxy_sources()
    if source_id not in known:
        raise WorkbenchError(f"unknown proxy source {source_id!r}; known: {', '.join(known)}")
    parts = []
    for preset in known[source_id].presets:  # a preset may train on several sources (repetition: two)
        rows = load_preset(preset).filter(pl.col("source_id") == source_id)
        if not rows.height:
            raise WorkbenchError(
                f"preset {preset!r} holds no rows of {source_id}: datasets/proxies/sources.toml lists the wrong presets"
            )
        parts.append(rows)
    return pl.concat(parts, how="vertical")
