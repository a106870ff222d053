"""Rebuilding the curated tables from the original public files.

Each curated table in ``datasets/`` is a function of raw files pinned in the
registry by repository, commit and sha256.  ``build(source_id)`` fetches those
files (from a local folder with ``from_dir``, or from the repository at its
pinned commit), checks their hashes and applies the source's curation
function.  A test rebuilds every table from the shared reference copies and
requires byte-identical output, so the committed tables cannot drift from
their provenance.
"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

import polars as pl

from workbench.corpus import schema
from workbench.corpus.load import validate
from workbench.corpus.sources import RawFile, Source, get_source, sources
from workbench.errors import WorkbenchError

RAW_URL = "https://raw.githubusercontent.com/{repository}/{commit}/{path}"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _locate(src: Source, raw: RawFile, from_dir: Path | None, cache_dir: Path) -> Path:
    if from_dir is not None:
        for candidate in (from_dir / raw.shared, from_dir / Path(raw.shared).name, from_dir / raw.path):
            if candidate.is_file():
                return candidate
        raise WorkbenchError(f"{from_dir}: no copy of {raw.path} (looked for {raw.shared})")
    target = cache_dir / src.id / Path(raw.path).name
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        url = RAW_URL.format(repository=src.repository, commit=src.commit, path=raw.path)
        try:
            with urllib.request.urlopen(url, timeout=30) as resp:
                data = resp.read()
        except (urllib.error.URLError, OSError) as exc:
            raise WorkbenchError(f"cannot download {url} ({exc}); pass --from DIR with local copies") from None
        tmp = target.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(target)
    return target


def fetch(src: Source, from_dir: Path | None = None, cache_dir: Path | None = None) -> dict[str, Path]:
    """Local paths of a source's raw files, each checked against its pinned sha256."""
    cache_dir = cache_dir or Path.home() / ".cache" / "scaling-workbench" / "raw"
    out = {}
    for raw in src.files:
        path = _locate(src, raw, from_dir, cache_dir)
        digest = sha256(path)
        if digest != raw.sha256:
            raise WorkbenchError(f"{path}: sha256 {digest} does not match the pinned {raw.sha256} for {src.repository}@{src.commit[:10]}/{raw.path}")
        out[raw.path] = path
    return out


def _provenance(src: Source, paper: str, backing: str) -> dict[str, pl.Expr]:
    return {
        "source_id": pl.lit(src.id),
        "paper": pl.lit(paper),
        "backing": pl.lit(backing),
        "repository": pl.lit(src.repository),
        "source_commit": pl.lit(src.commit),
        "licence": pl.lit(src.licence),
    }


def _chinchilla_epoch(src: Source, files: dict[str, Path]) -> pl.DataFrame:
    raw = pl.read_csv(files["data/svg_extracted_data.csv"])
    return raw.select(
        run_id=pl.format("fig4-{}", pl.int_range(pl.len()).cast(pl.String).str.zfill(3)),
        params=pl.col("Model Size").cast(pl.Float64),
        params_convention=pl.lit("total"),
        params_total=pl.col("Model Size").cast(pl.Float64),
        tokens=pl.col("Training FLOP") / (6.0 * pl.col("Model Size")),
        flops=pl.col("Training FLOP").cast(pl.Float64),
        final=pl.lit(True),
        eval_set=pl.lit("massivetext"),
        metric=pl.lit("loss"),
        value=pl.col("loss").cast(pl.Float64),
        **_provenance(src, "arXiv:2203.15556", "Figure 4 (digitised by Besiroglu et al. 2024, arXiv:2404.10102)"),
    )


BUILDERS: dict[str, Callable[[Source, dict[str, Path]], pl.DataFrame]] = {
    "chinchilla_epoch": _chinchilla_epoch,
}


def build(source_id: str, from_dir: Path | None = None, cache_dir: Path | None = None) -> pl.DataFrame:
    """The curated table of one source, validated against the schema."""
    src = get_source(source_id)
    if source_id not in BUILDERS:
        raise WorkbenchError(f"no curation recipe for source {source_id!r}")
    df = BUILDERS[source_id](src, fetch(src, from_dir, cache_dir))
    return validate(df, f"curation of {source_id}")


def write(df: pl.DataFrame, path: Path) -> Path:
    """Write a curated table atomically, dropping columns that are empty for every row."""
    keep = [c for c in schema.NAMES if c in df.columns and df[c].null_count() < df.height]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".csv.part")
    df.select(keep).write_csv(tmp, float_precision=None)
    tmp.replace(path)
    return path


def rebuild_all(out_dir: Path, from_dir: Path | None = None) -> dict[str, int]:
    """Rebuild every registered table into ``out_dir``; returns rows per source."""
    counts = {}
    for source_id in sources():
        df = build(source_id, from_dir)
        write(df, out_dir / f"{source_id}.csv")
        counts[source_id] = df.height
    return counts
