"""Writing files so that nothing is torn, nothing is written through a link, and every failure is one line.

Why this module: ``curate`` used to write ``<id>.csv.part`` and rename it over
``<id>.csv``; a symbolic link planted at that fixed name made it overwrite
whatever the link pointed to.  :func:`write_atomic` instead creates the
temporary file with :func:`tempfile.mkstemp` in the destination folder (a
fresh random name opened with ``O_CREAT | O_EXCL``, so a file or link already
at that name is never opened), fills it, flushes it to disk and renames it over
the destination with :func:`os.replace`, which swaps a directory entry and
never follows a link.  Readers see the old file or the new one, never half.

A destination that *is* a symbolic link is refused, not replaced: writing
through it would change a file somewhere else, and silently swapping the link
for a regular file would undo someone's setup.  The folder itself is the
caller's choice (``--out``) and is used as given.  A folder that is really a
file, a read-only folder or a full disk becomes one :class:`WorkbenchError`
naming the path.

:func:`sha256` is the one content hash used to pin raw files and to check
files pulled from the Hub against their manifest.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from workbench.errors import WorkbenchError

FILE_MODE = 0o644  # mkstemp makes files private; tables are meant to be shared and read by others


def sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def ensure_folder(folder: Path, what: str = "output folder") -> Path:
    """``folder``, created if missing, or a one-line error if it is a file or cannot be created."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise WorkbenchError(f"{folder}: the {what} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise WorkbenchError(f"{folder}: cannot create the {what}: a part of that path is a file") from None
    except OSError as exc:
        raise WorkbenchError(f"{folder}: cannot create the {what} ({exc.strerror or exc})") from None
    return folder


def _refuse_odd_destination(path: Path) -> None:
    if path.is_symlink():
        raise WorkbenchError(
            f"{path} is a symbolic link (to {os.readlink(path)}); refusing to write through it or replace it: "
            "remove the link or choose another output folder"
        )
    if path.is_dir():
        raise WorkbenchError(f"{path} is a folder; cannot write a file there")


def write_atomic(path: Path, fill: Callable[[BinaryIO], object], what: str = "output folder") -> Path:
    """Write ``path`` by calling ``fill(binary_file)`` on a fresh temporary file, then renaming it into place."""
    path = Path(path)
    folder = ensure_folder(path.parent, what)
    _refuse_odd_destination(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:
        raise WorkbenchError(f"cannot write {path}: the {what} {folder} is not writable ({exc.strerror})") from None
    done = False
    try:
        with os.fdopen(fd, "wb") as f:
            fill(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
        done = True
    except OSError as exc:
        raise WorkbenchError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if not done:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
    return path


def write_bytes_atomic(path: Path, data: bytes, what: str = "output folder") -> Path:
    """:func:`write_atomic` for bytes already in memory."""
    return write_atomic(path, lambda f: f.write(data), what)


def write_text_atomic(path: Path, text: str, what: str = "output folder") -> Path:
    """:func:`write_atomic` for text (UTF-8)."""
    return write_bytes_atomic(path, text.encode("utf-8"), what)
