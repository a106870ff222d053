"""Where the curated corpus lives, and names that cannot lead out of it.

The corpus ships with the repository in ``datasets/`` (beside the package), so
a clone or a Binder image needs no download.  ``WORKBENCH_DATASETS`` points the
workbench at another copy (e.g. a pinned corpus pulled from the Hub).

A registry (``sources.toml``) may come from someone else's repository, and the
names in it become file names: ``id = "../../../outside"`` would make the
loader read ``outside.csv`` three folders up.  So every name taken from such a
file is checked here before it touches the file system: source ids against a
strict pattern, relative paths for ``..``, absolute paths and empty parts, and
the final path, once links are resolved, must still lie inside its root (or
inside the Hugging Face cache folder of the repository, whose snapshot files
are links into a shared blob store).
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

from workbench.errors import WorkbenchError, quote

SOURCE_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")  # plus: no ".." anywhere


def datasets_dir() -> Path:
    override = os.environ.get("WORKBENCH_DATASETS")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "datasets"


def proxies_dir() -> Path:
    """``datasets/proxies`` of the checkout: the workbench's own shipped proxy results and their registry."""
    return Path(__file__).resolve().parents[2] / "datasets" / "proxies"


def check_id(value: object, where: str, what: str = "source id") -> str:
    """``value`` if it is a safe name (lower-case letters, digits, ``_ . -``, no ``..``), else a one-line error."""
    if not isinstance(value, str) or not SOURCE_ID.match(value) or ".." in value:
        raise WorkbenchError(
            f"{where}: {what} {quote(value)} is not allowed: use 1-64 lower-case letters, digits, '_', '.' or '-', "
            "starting with a letter or digit and without '..'"
        )
    return value


def check_relative(value: object, where: str, what: str = "path") -> str:
    """``value`` if it is a relative POSIX path that stays below its folder (no ``..``, no absolute or empty parts)."""
    parts = PurePosixPath(value).parts if isinstance(value, str) else ()
    if (
        not isinstance(value, str)
        or not value
        or "\\" in value
        or any(ord(c) < 32 for c in value)  # NUL, newlines: a name must fit on one manifest line
        or value.startswith("/")
        or "//" in value
        or any(p in ("..", ".") for p in parts)
        or re.match(r"^[A-Za-z]:", value)
    ):
        raise WorkbenchError(f"{where}: {what} {quote(value)} must be a relative path inside its folder (no '..')")
    return value


def store_of(root: Path) -> Path:
    """The folder that files under ``root`` may link into.

    For a Hugging Face cache snapshot (``<repo>/snapshots/<commit>`` whose files
    link to ``<repo>/blobs``) that is the repository's cache folder; for any
    other folder, the folder itself.
    """
    root = Path(root)
    if root.parent.name == "snapshots" and (root.parent.parent / "blobs").is_dir():
        return root.parent.parent
    return root


def within(root: Path, name: str, where: str, store: Path | None = None) -> Path:
    """``root / name``, refused unless it stays inside ``root`` by name and inside ``store`` once links resolve.

    ``store`` defaults to :func:`store_of` ``(root)``.  A missing file is
    returned as is (the caller reports it); a path that leads elsewhere is a
    one-line :class:`WorkbenchError` naming it.
    """
    root = Path(root)
    check_relative(name, where, "file name")
    path = root / name
    if not Path(os.path.abspath(path)).is_relative_to(os.path.abspath(root)):
        raise WorkbenchError(f"{where}: {quote(name)} leads outside {root}")
    store = Path(store) if store is not None else store_of(root)
    resolved = path.resolve()
    if not resolved.is_relative_to(store.resolve()):
        raise WorkbenchError(f"{where}: {path} leads outside {store} (it resolves to {resolved}); refusing to read it")
    return path
