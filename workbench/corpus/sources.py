"""The source registry (``datasets/sources.toml``) as frozen records.

Every row of the corpus names its source id; this module answers what that
source is: the paper and figure, the repository and commit, the licence, how
the numbers were obtained, and their caveats, plus a BibTeX entry to cite.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from workbench.corpus.paths import check_id, check_relative, datasets_dir, within
from workbench.errors import WorkbenchError, quote


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


SUBSET_RULES = ("drop_highest",)


@dataclass(frozen=True)
class Subset:
    """A named selection of a source's rows that a paper fitted.

    The rule, ``drop_highest = { column = "loss", n = 5 }``, drops the rows
    whose ``column`` is at or above its ``n``-th highest value: exactly what
    Epoch AI's analysis does (``loss < sorted(loss)[-5]``), so ties at the
    boundary go too and the subset never depends on a sort order.
    """

    name: str
    used_by: str  # who fitted these rows, e.g. "Besiroglu et al. 2024"
    reference: str  # where they say so, e.g. "arXiv:2404.10102"
    description: str  # why this selection, in a sentence
    column: str  # the rule: drop the rows holding the n highest values of column
    drop_highest: int

    @property
    def rule(self) -> str:
        """The rule in words, e.g. "the 5 highest-loss points dropped"."""
        return f"the {self.drop_highest} highest-{self.column} points dropped"


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
    subsets: tuple[Subset, ...] = ()  # named selections that papers fitted

    @property
    def table(self) -> Path:
        """``<root>/<id>.csv``, refused if it leads (by name or through a link) outside the corpus folder."""
        root = self.root or datasets_dir()
        return within(root, f"{check_id(self.id, str(registry_path(root)))}.csv", str(registry_path(root)))

    def subset(self, name: str) -> Subset:
        """The subset called ``name``, or a one-line error listing the known ones."""
        for sub in self.subsets:
            if sub.name == name:
                return sub
        if not self.subsets:
            raise WorkbenchError(f"corpus source {self.id!r} has no subsets, so none called {name!r}")
        known = ", ".join(s.name for s in self.subsets)
        raise WorkbenchError(f"corpus source {self.id!r} has no subset {name!r} (known: {known})")


def _subsets(path: Path, source_id: str, table: dict) -> tuple[Subset, ...]:
    """The ``[source.subsets.<name>]`` tables of one source, checked so a typo fails on load."""
    if not isinstance(table, dict) or not all(isinstance(e, dict) for e in table.values()):
        raise WorkbenchError(f"{path}: source {source_id!r}: write each subset as a [source.subsets.<name>] table")
    out = []
    for name, entry in table.items():
        where = f"{path}: source {source_id!r} subset {name!r}"
        rules = [k for k in entry if k in SUBSET_RULES]
        unknown = [k for k in entry if k not in (*SUBSET_RULES, "used_by", "reference", "description")]
        if unknown or len(rules) != 1:
            raise WorkbenchError(
                f"{where}: needs exactly one rule ({', '.join(SUBSET_RULES)}) and only the fields "
                f"used_by, reference, description" + (f"; unknown: {', '.join(unknown)}" if unknown else "")
            )
        rule = entry["drop_highest"]
        n = rule.get("n") if isinstance(rule, dict) else None
        if not isinstance(n, int) or isinstance(n, bool) or n < 1 or not isinstance(rule.get("column"), str):
            raise WorkbenchError(f'{where}: drop_highest must look like {{ column = "loss", n = 5 }} with n >= 1')
        try:
            out.append(
                Subset(
                    name=name,
                    used_by=entry["used_by"],
                    reference=entry["reference"],
                    description=entry["description"],
                    column=rule["column"],
                    drop_highest=n,
                )
            )
        except KeyError as exc:
            raise WorkbenchError(f"{where}: missing field {exc}") from None
    return tuple(out)


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


def _raw_files(path: Path, source_id: str, entries: object) -> tuple[RawFile, ...]:
    """The ``files`` of one source; their paths become file names, so they must stay inside their folders."""
    if not isinstance(entries, list) or not all(isinstance(f, dict) for f in entries):
        raise WorkbenchError(
            f"{path}: source {source_id!r}: write each raw file as a {{ path = ..., sha256 = ... }} table"
        )
    out = tuple(RawFile(**f) for f in entries)
    for raw in out:
        where = f"{path}: source {source_id!r}"
        check_relative(raw.path, where, "raw file path")
        check_relative(raw.shared, where, "shared copy path")
    return out


def _entry_id(path: Path, entry: object, seen: dict) -> str:
    """The id of one ``[[source]]`` table: present, safe as a file name, and not listed twice."""
    if not isinstance(entry, dict):
        raise WorkbenchError(f"{path}: every [[source]] entry must be a table")
    if "id" not in entry:
        raise WorkbenchError(f"{path}: a source is missing field 'id'")
    source_id = check_id(entry["id"], str(path))
    if source_id in seen:
        raise WorkbenchError(f"{path}: source id {source_id!r} is listed twice")
    return source_id


def sources(root: Path | None = None) -> dict[str, Source]:
    """All registered sources by id, in registry order.

    ``root`` reads another corpus folder with the same layout (``sources.toml``
    beside one ``<id>.csv`` per source), e.g. one pulled from the Hub.  Ids
    become file names, so each must match :data:`~workbench.corpus.paths.SOURCE_ID`
    (a registry naming ``../../outside`` fails here, before any file is read).
    """
    path = registry_path(root)
    out = {}
    for entry in read_registry(path):
        source_id = _entry_id(path, entry, out)
        try:
            out[source_id] = Source(
                id=source_id,
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
                files=_raw_files(path, source_id, entry.get("files", [])),
                bibtex=entry.get("bibtex", "").strip(),
                dropped=tuple((str(k), int(v)) for k, v in entry.get("dropped", {}).items()),
                root=Path(root) if root is not None else None,
                subsets=_subsets(path, source_id, entry.get("subsets", {})),
            )
        except (KeyError, TypeError) as exc:
            raise WorkbenchError(f"{path}: source {source_id!r} is missing field {exc}") from None
    return out


def get_source(source_id: str, root: Path | None = None) -> Source:
    known = sources(root)
    try:
        return known[source_id]
    except KeyError:
        raise WorkbenchError(f"unknown corpus source {quote(source_id)}; known sources: {', '.join(known)}") from None
