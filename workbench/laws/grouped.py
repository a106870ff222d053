"""One law fitted to several groups at once: coefficients per group, exponents shared.

Why.  The question a researcher asks of two datasets, tokenizers or training
recipes is often "same exponents, different constants?" (Gadre et al. fit C4,
RedPajama and RefinedWeb separately; Porian et al. compare configurations).
Fitting the groups jointly with shared exponents, then comparing with separate
fits, answers it with one engine and honest uncertainty.

How.  A separable law predicts ``basis(x; theta) @ c``.  :func:`per_group`
declares a new law whose basis has one copy of every column per group, each
copy zero outside its group's rows, so every group gets its own linear
coefficients (``E[c4]``, ``A[c4]``, ...) while the non-linear parameters
(exponents) stay shared.  It is an ordinary :class:`~workbench.laws.base.Law`,
so the one fitting engine, fixed and tied parameters (``A[rp]=A[c4]`` shares a
coefficient too), the bootstrap and the extrapolation checks all apply
unchanged; the engine solves the groups' coefficients block by block.  The
group column holds integer codes 0..G-1; :func:`grouped` builds them from a
text column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import polars as pl

from workbench.errors import WorkbenchError, quote, quote_list
from workbench.laws.base import Columns, Law


def _onehot(codes, n_groups: int) -> np.ndarray:
    codes = np.asarray(codes, dtype=float)
    return (codes[..., None] == np.arange(n_groups)).astype(float)  # (..., n, G)


def per_group(law: Law, groups: Sequence[str], *, column: str = "group") -> Law:
    """``law`` with its linear coefficients separate for each of ``groups`` and its other parameters shared.

    The new law's variables are the old ones plus ``column`` (integer codes: row
    i belongs to ``groups[int(x[column][i])]``); its parameters are
    ``name[group]`` for every linear parameter and group, then the shared
    non-linear ones.  Only separable laws (those declaring a ``basis``) can be
    grouped this way.
    """
    groups = tuple(str(g) for g in groups)
    if law.basis is None:
        raise WorkbenchError(f"law {law.name!r} has no linear coefficients to fit per group (it is not separable)")
    if not groups:
        raise WorkbenchError("per_group needs at least one group")
    if len(set(groups)) != len(groups):
        raise WorkbenchError(f"group names must be distinct: {quote_list(groups)}")
    if column in law.variables or column == law.target:
        raise WorkbenchError(f"the group column {quote(column)} is already a column of law {law.name!r}")
    n_groups, k = len(groups), len(law.linear)
    base_basis, base_grad = law.basis, law.basis_grad

    def basis(x: Columns, theta) -> np.ndarray:
        b = base_basis(x, theta)  # (..., n, k)
        mask = _onehot(x[column], n_groups)  # (..., n, G)
        if not np.all(mask.sum(axis=-1) == 1):
            bad = np.asarray(x[column]).ravel()[~(mask.sum(axis=-1) == 1).ravel()][0]
            raise WorkbenchError(
                f"column {column!r}: {bad!r} is not a group code (0..{n_groups - 1} for {', '.join(groups)})"
            )
        shape = np.broadcast_shapes(b.shape[:-1], mask.shape[:-1])
        out = np.broadcast_to(mask, shape + (n_groups,))[..., :, None] * np.broadcast_to(b, shape + (k,))[..., None, :]
        return out.reshape(shape + (n_groups * k,))  # column g * k + j: coefficient j of group g

    def basis_grad(x: Columns, theta) -> np.ndarray:
        d = base_grad(x, theta)  # (..., n, k, m)
        mask = _onehot(x[column], n_groups)
        shape = np.broadcast_shapes(d.shape[:-2], mask.shape[:-1])
        d = np.broadcast_to(d, shape + d.shape[-2:])
        mask = np.broadcast_to(mask, shape + (n_groups,))
        out = mask[..., :, None, None] * d[..., None, :, :]  # (..., n, G, k, m)
        return out.reshape(shape + (n_groups * k, d.shape[-1]))

    def tex(g: str) -> str:  # a group name as LaTeX text (underscores and the like escaped)
        return "".join(f"\\{c}" if c in "_&%$#{}" else c for c in g)

    linear = [
        replace(
            p,
            name=f"{p.name}[{g}]",
            latex=f"{p.latex}_{{\\mathrm{{{tex(g)}}}}}",
            description=f"{p.description} (group {g})",
        )
        for g in groups
        for p in law.linear
    ]
    group_param_names = {p.name for p in law.linear}
    return Law(
        name=f"{law.name}_per_{column}",
        title=f"{law.title}, coefficients per {column} ({', '.join(groups)}), exponents shared",
        variables=(*law.variables, column),
        parameters=(*linear, *law.nonlinear),
        latex=law.latex,
        basis=basis,
        basis_grad=basis_grad,
        target=law.target,
        domains={**law.domains, column: "nonnegative"},
        presets=(),
        description=f"{law.name} fitted jointly to {n_groups} groups: {', '.join(sorted(group_param_names))} per "
        f"group, the other parameters shared. Group codes: " + ", ".join(f"{i}={g}" for i, g in enumerate(groups)),
        references=law.references,
        canonical=law.canonical,
    )


def grouped(law: Law, data, by: str, *, column: str = "group") -> tuple[Law, dict[str, np.ndarray], tuple[str, ...]]:
    """Group ``data`` (a polars frame or column mapping) by its column ``by``.

    Returns ``(per-group law, data, group names)``: the data (same kind as
    given) gain ``column``, the integer code of each row's group (groups in
    sorted order).
    """
    try:
        labels = np.asarray(data[by])
    except Exception:  # KeyError for mappings, ColumnNotFoundError for polars
        raise WorkbenchError(f"data has no column {quote(by)} to group by") from None
    if labels.ndim != 1 or labels.size == 0:
        raise WorkbenchError(f"column {quote(by)} must be a non-empty one-dimensional column")
    text = np.array(["" if v is None else str(v) for v in labels.tolist()], dtype=object)
    missing = np.flatnonzero(text == "")
    if missing.size:
        raise WorkbenchError(f"column {quote(by)} has no group at row {missing[0] + 1}")
    names = tuple(sorted(set(text.tolist())))
    codes = np.searchsorted(np.array(names, dtype=object), text).astype(float)
    if isinstance(data, pl.DataFrame):
        out = data.with_columns(pl.Series(column, codes))
    else:
        out = {**{k: data[k] for k in data}, column: codes}
    return per_group(law, names, column=column), out, names


def group_code(names: Sequence[str], name: str) -> int:
    """The integer code of group ``name`` (for predictions), with a clear error for an unknown one."""
    try:
        return list(names).index(str(name))
    except ValueError:
        raise WorkbenchError(f"unknown group {quote(name)}; groups: {quote_list(names)}") from None
