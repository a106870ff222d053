"""Rebuilding the curated tables from the original public files.

Each curated table in ``datasets/`` is a function of raw files pinned in the
registry by repository, commit and sha256.  ``build(source_id)`` fetches those
files (from a local folder with ``from_dir``, or from the repository at its
pinned commit), checks their hashes and applies the source's recipe
(:mod:`workbench.corpus.recipes`).  A recipe reports every raw value it leaves
out, by reason; the registry declares the same counts, and a rebuild whose
counts differ fails, so nothing is dropped silently or drifts unnoticed.  A
test rebuilds every table from the shared reference copies and requires
byte-identical output, so the committed tables cannot drift from their
provenance.

Every file is written through :func:`workbench.corpus.files.write_atomic`: a
fresh temporary name in the destination folder, then a rename, so a link
planted at a predictable name changes nothing, and a destination ``<id>.csv``
that is itself a symbolic link is refused rather than written through.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import polars as pl

from workbench.corpus import schema
from workbench.corpus.files import sha256, write_atomic, write_bytes_atomic
from workbench.corpus.load import validate
from workbench.corpus.recipes import BUILDERS, Curated
from workbench.corpus.sources import RawFile, Source, get_source, sources
from workbench.errors import WorkbenchError

RAW_URL = "https://raw.githubusercontent.com/{repository}/{commit}/{path}"

__all__ = ["BUILDERS", "Curated", "build", "build_report", "fetch", "rebuild_all", "sha256", "write"]


def _origin(src: Source, raw: RawFile) -> tuple[str, str]:
    return raw.repository or src.repository, raw.commit or src.commit


def _locate(src: Source, raw: RawFile, from_dir: Path | None, cache_dir: Path) -> Path:
    repository, commit = _origin(src, raw)
    if from_dir is not None:
        for candidate in (from_dir / raw.shared, from_dir / Path(raw.shared).name, from_dir / raw.path):
            if candidate.is_file():
                return candidate
        raise WorkbenchError(f"{from_dir}: no copy of {raw.path} (looked for {raw.shared})")
    if raw.derived:
        raise WorkbenchError(
            f"{raw.shared} is not a file of {repository}: it is {raw.derived}. "
            f"Rebuild {src.id} with --from DIR pointing at a reference-data copy that holds it"
        )
    target = cache_dir / src.id / raw.path  # both checked by the registry: no '..', nothing absolute
    if not target.is_file():
        url = RAW_URL.format(repository=repository, commit=commit, path=urllib.parse.quote(raw.path))
        try:
            with urllib.request.urlopen(url, timeout=30) as resp:
                data = resp.read()
        except (urllib.error.URLError, OSError) as exc:
            raise WorkbenchError(f"cannot download {url} ({exc}); pass --from DIR with local copies") from None
        write_bytes_atomic(target, data, "download cache folder")
    return target


def fetch(src: Source, from_dir: Path | None = None, cache_dir: Path | None = None) -> dict[str, Path]:
    """Local paths of a source's raw files, each checked against its pinned sha256."""
    cache_dir = cache_dir or Path.home() / ".cache" / "scaling-workbench" / "raw"
    out = {}
    for raw in src.files:
        path = _locate(src, raw, from_dir, cache_dir)
        digest = sha256(path)
        if digest != raw.sha256:
            repository, commit = _origin(src, raw)
            raise WorkbenchError(
                f"{path}: sha256 {digest} does not match the pinned {raw.sha256} for "
                f"{repository}@{commit[:10]}/{raw.path}"
            )
        out[raw.path] = path
    return out


def build_report(source_id: str, from_dir: Path | None = None, cache_dir: Path | None = None) -> Curated:
    """The curated table of one source (validated) and its left-out raw values by reason.

    Fails if the left-out counts differ from those the registry declares.
    """
    src = get_source(source_id)
    if source_id not in BUILDERS:
        raise WorkbenchError(f"no curation recipe for source {source_id!r}")
    curated = BUILDERS[source_id](src, fetch(src, from_dir, cache_dir))
    frame = validate(curated.frame, f"curation of {source_id}")
    dropped = dict(curated.dropped)
    declared = dict(src.dropped)
    if dropped != declared:
        raise WorkbenchError(
            f"curation of {source_id}: left out {dropped or 'nothing'}, but the registry declares "
            f"{declared or 'nothing'}; "
            f"update the source's 'dropped' table in sources.toml only after checking why"
        )
    return Curated(frame, dropped)


def build(source_id: str, from_dir: Path | None = None, cache_dir: Path | None = None) -> pl.DataFrame:
    """The curated table of one source, validated against the schema."""
    return build_report(source_id, from_dir, cache_dir).frame


def write(df: pl.DataFrame, path: Path) -> Path:
    """Write a curated table atomically, dropping columns that are empty for every row.

    Refuses (one-line :class:`WorkbenchError`) a ``path`` that is a symbolic
    link, a folder that is a file, and a folder it cannot write to.
    """
    keep = [c for c in schema.NAMES if c in df.columns and df[c].null_count() < df.height]
    table = df.select(keep)
    return write_atomic(Path(path), lambda f: table.write_csv(f, float_precision=None))


def rebuild_all(out_dir: Path, from_dir: Path | None = None) -> dict[str, int]:
    """Rebuild every registered table into ``out_dir``; returns rows per source."""
    counts = {}
    for source_id in sources():
        df = build(source_id, from_dir)
        write(df, out_dir / f"{source_id}.csv")
        counts[source_id] = df.height
    return counts
