"""One exception type for every failure a user can cause.

The CLI turns a :class:`WorkbenchError` into a one-line message on stderr and
exit code 2; anything else is a bug and keeps its traceback.  Messages name the
file, column and row so the user can fix the input without reading our code.
"""


class WorkbenchError(ValueError):
    """A problem with the user's input or request, explained in one line."""
