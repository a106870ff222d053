"""One exception type for every failure a user can cause, and how to quote input in it.

The CLI turns a :class:`WorkbenchError` into a one-line message on stderr and
exit code 2; anything else is a bug and keeps its traceback.  Messages name the
file, column and row so the user can fix the input without reading our code.

A message quotes what the user gave (a cell, an option value, a column name)
through :func:`quote`, which keeps about 80 characters: a cell can be hundreds
of megabytes, and a message that repeats it whole is no longer a one-line
message.  :func:`one_line` is the last guard the CLI applies to every message.
"""

from __future__ import annotations

from collections.abc import Iterable

QUOTE_LIMIT = 80
MESSAGE_LIMIT = 1000


class WorkbenchError(ValueError):
    """A problem with the user's input or request, explained in one line."""


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """``repr`` of a string (``str`` of anything else) cut to about ``limit`` characters, saying how long it was.

    ``quote("abc") == "'abc'"``; a 200 MB cell becomes its first characters
    and ``... (200,000,000 characters)``.  Only the kept prefix is ever
    escaped, so quoting a huge value costs no more than quoting a short one.
    """
    if isinstance(value, str):
        n = min(len(value), limit)
        while n and len(repr(value[:n])) > limit + 2:  # escapes (\x00, \n) can make repr longer than the text
            n = n * 3 // 4
        shown = repr(value[:n])
        return shown if n == len(value) else f"{shown}... ({len(value):,} characters)"
    text = " ".join(str(value).split())
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def quote_list(values: Iterable[object], most: int = 12, limit: int = QUOTE_LIMIT) -> str:
    """The values quoted and joined by commas, at most ``most`` of them (then how many more there are)."""
    values = list(values)
    shown = ", ".join(quote(v, limit) for v in values[:most])
    return shown if len(values) <= most else f"{shown} and {len(values) - most:,} more"


def one_line(message: str, limit: int = MESSAGE_LIMIT) -> str:
    """``message`` on one line and at most about ``limit`` characters: the CLI's last guard on what it prints."""
    flat = " ".join(message[:limit].splitlines())
    return flat if len(message) <= limit else f"{flat}... (message cut at {limit:,} of {len(message):,} characters)"
