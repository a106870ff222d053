"""The source registry (``datasets/sources.toml``) as frozen records.

Every row of the corpus names its source id; this module answers what that
source is: the paper and figure, the repository and commit, the licence, how
the numbers were obtained, and their caveats, plus a BibTeX entry to cite.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from workbench.corpus.paths import datasets_dir
from workbench.errors import WorkbenchError


@dataclass(frozen=True)
class RawFile:
    """One input file of a curation, pinned by content hash.

    ``repository``/``commit`` default to the source's own; a source that is
    deduplicated against another source's file names that file's repository.
    ``derived`` is non-empty for files that are a lossless conversion made by
    the reference-data collection (e.g. pickles flattened to CSV): they are not
    in the repository and can only be read from a local folder.
    """

    path: str  # path inside the original repository
    sha256: str
    shared: str  # path of the same file under a local reference-data folder
    repository: str = ""
    commit: str = ""
    derived: str = ""


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    citation: str
    arxiv: tuple[str, ...]
    backing: str
    repository: str
    commit: str
    licence: str
    how_obtained: str
    params_convention: str
    caveats: tuple[str, ...]
    files: tuple[RawFile, ...]
    bibtex: str
    dropped: tuple[tuple[str, int], ...] = ()  # raw values left out, by reason (declared, then checked on rebuild)
    root: Path | None = None  # the corpus folder holding the registry (default: datasets_dir())

    @property
    def table(self) -> Path:
        return (self.root or datasets_dir()) / f"{self.id}.csv"


def registry_path(root: Path | None = None) -> Path:
    return (root or datasets_dir()) / "sources.toml"


def read_registry(path: Path) -> list[dict]:
    """The ``[[source]]`` tables of a registry file, with a one-line error naming the file."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise WorkbenchError(f"cannot read the source registry {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise WorkbenchError(f"{path}: invalid TOML: {exc}") from None
    return list(raw.get("source", []))


def sources(root: Path | None = None) -> dict[str, Source]:
    """All registered sources by id, in registry order.

    ``root`` reads another corpus folder with the same layout (``sources.toml``
    beside one ``<id>.csv`` per source), e.g. one pulled from the Hub.
    """
    path = registry_path(root)
    out = {}
    for entry in read_registry(path):
        try:
            out[entry["id"]] = Source(
                id=entry["id"],
                title=entry["title"],
                citation=entry["citation"],
                arxiv=tuple(entry.get("arxiv", ())),
                backing=entry["backing"],
                repository=entry["repository"],
                commit=entry["commit"],
                licence=entry["licence"],
                how_obtained=entry["how_obtained"],
                params_convention=entry.get("params_convention", "unknown"),
                caveats=tuple(entry.get("caveats", ())),
                files=tuple(RawFile(**f) for f in entry.get("files", ())),
                bibtex=entry.get("bibtex", "").strip(),
                dropped=tuple((str(k), int(v)) for k, v in entry.get("dropped", {}).items()),
                root=Path(root) if root is not None else None,
            )
        except (KeyError, TypeError) as exc:
            raise WorkbenchError(f"{path}: source {entry.get('id', '?')!r} is missing field {exc}") from None
    return out


def get_source(source_id: str, root: Path | None = None) -> Source:
    known = sources(root)
    try:
        return known[source_id]
    except KeyError:
        raise WorkbenchError(f"unknown corpus source {source_id!r}; known sources: {', '.join(known)}") from None
