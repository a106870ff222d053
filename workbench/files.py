"""Opening a user's file safely: is it a regular file at all?

One check shared by every reader (data tables, law files, proxy results), at
the bottom of the house: it needs nothing but the error type, so a law file
reader can use it without reaching up into the corpus.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from workbench.errors import WorkbenchError, one_line, quote


def check_regular_file(path: str | Path) -> Path:
    """``path`` if it is a regular file (or a link to one); otherwise a one-line error saying what it is.

    Checked with ``os.stat`` before anything opens the file: opening a named
    pipe blocks until someone writes to it, so ``x.parquet`` made by ``mkfifo``
    would hang the reader instead of failing.
    """
    path = Path(path)
    name = str(path) if len(str(path)) <= 300 else quote(str(path))  # a name too long for the OS is quoted short
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        raise WorkbenchError(f"{name}: no such file") from None
    except PermissionError:
        raise WorkbenchError(f"{name}: permission denied") from None
    except OSError as exc:
        raise WorkbenchError(f"{name}: cannot read ({one_line(str(exc.strerror or exc), 200)})") from None
    except ValueError:  # a NUL byte in the name
        raise WorkbenchError(f"{quote(str(path))}: not a valid file name") from None
    if stat.S_ISDIR(mode):
        raise WorkbenchError(f"{name}: is a directory, not a data file")
    if not stat.S_ISREG(mode):
        kind = "a named pipe" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
        raise WorkbenchError(f"{name}: is {kind}, not a regular file; save the data to a file first")
    return path
