"""Which of a formula's names are the data's columns: the formula's variables.

A typed law (``workbench.laws.formula``) does not know the data; this module,
one floor up with the corpus readers, matches its names against a table's
columns and their documented aliases, so that every other name is a parameter.
"""

from __future__ import annotations

from collections.abc import Iterable

from workbench.errors import WorkbenchError, quote
from workbench.laws.formula import formula_names


def formula_variables(formula: str, columns: Iterable[str], target: str = "loss") -> tuple[str, ...]:
    """The formula's names that are data columns (its variables), in order of first appearance.

    Names match the columns exactly, or through the documented aliases of
    the canonical names (a formula's ``params`` finds a column ``N``).  A
    corpus axis (``params``, ``tokens``, ``flops``, ...) is a variable even
    when the data lack it, so that reading the data says which column is
    missing (or derives tokens from flops) instead of the name silently
    becoming a parameter.  A name that is the target column is refused.
    """
    import polars as pl

    from workbench.corpus.schema import AXES
    from workbench.corpus.tables import resolve_columns

    columns = list(dict.fromkeys(columns))
    frame = pl.DataFrame(schema={c: pl.String for c in columns})
    target_column = resolve_columns(frame, [target], "data").get(target)
    out = []
    for n in formula_names(formula):
        column = resolve_columns(frame, [n], "data").get(n)
        if column is None and n in AXES:
            out.append(n)
            continue
        if column is None:
            continue
        if column == target_column:
            raise WorkbenchError(f"formula: {quote(n)} is the data's target column {quote(column)}")
        out.append(n)
    if not out:
        shown = ", ".join(columns[:12]) + (" ..." if len(columns) > 12 else "")
        raise WorkbenchError(f"formula {quote(formula)} uses none of the data's columns ({shown}) as a variable")
    return tuple(out)
