"""Reading tables strictly: every bad cell is reported by file, column and row.

Both the curated corpus and a user's own CSV/parquet go through
:func:`cast_strict`, which reads text cells into the schema's types and, on the
first cell that does not fit, says which file, column and row (1-based data
row, header excluded) and what the cell holds (quoted to about 80 characters).
Nothing is silently dropped or coerced to null, and nothing is silently chosen:
a column named twice (``params,params``, or ``Params,PARAMS`` where names
match case-insensitively) is refused, and a parquet column whose type is not
a number (a date, a true/false) is not cast into one.  Only regular files are
read: a named pipe would block the reader forever.  Fit data
(:func:`read_user_table`) must lie within ``1e-100 .. 1e100`` in magnitude
(or be 0 where the law allows it): no measured quantity of a training run is
beyond that, and such values overflow the fit's arithmetic.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from workbench.errors import WorkbenchError, one_line, quote, quote_list
from workbench.files import check_regular_file  # noqa: F401  (re-exported: readers import it from here)

MAGNITUDE = (1e-100, 1e100)  # fit data outside this range (in absolute value, 0 aside) is a slip, not a measurement
_POLARS_DUPLICATE = re.compile(r"_duplicated_\d+$")  # how polars renames a repeated CSV header

ALIASES: dict[str, tuple[str, ...]] = {
    "params": ("params", "n", "n_params", "num_params", "parameters", "model_size", "model size"),
    "tokens": ("tokens", "d", "n_tokens", "num_tokens", "training_tokens", "data"),
    "flops": ("flops", "c", "compute", "training_flop", "training_flops", "training flop"),
    "loss": ("loss", "l", "final_loss", "eval_loss", "val_loss", "validation_loss"),
}


def _norm(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def read_text_table(path: str | Path) -> pl.DataFrame:
    """Read a CSV or parquet file with every column as text (parquet keeps its types).

    A column named twice is an error: polars would rename the second copy and
    a reader would silently use the first.
    """
    path = check_regular_file(path)
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            df = pl.read_parquet(path)
        else:
            if path.stat().st_size == 0:
                raise WorkbenchError(f"{path}: the file is empty")
            df = pl.read_csv(path, infer_schema=False)
            _refuse_renamed_duplicates(df, path)
    except WorkbenchError:
        raise
    except FileNotFoundError:
        raise WorkbenchError(f"{path}: no such file") from None
    except PermissionError:
        raise WorkbenchError(f"{path}: permission denied") from None
    except OSError as exc:
        raise WorkbenchError(f"{path}: cannot read ({one_line(str(exc.strerror or exc), 200)})") from None
    except pl.exceptions.NoDataError:
        raise WorkbenchError(f"{path}: the file is empty") from None
    except pl.exceptions.DuplicateError as exc:
        raise WorkbenchError(f"{path}: a column is named twice ({one_line(_first_line(exc), 200)})") from None
    except (pl.exceptions.ComputeError, pl.exceptions.PolarsError, UnicodeDecodeError) as exc:
        raise WorkbenchError(f"{path}: not a readable CSV/parquet table ({one_line(_first_line(exc), 200)})") from None
    if df.height == 0:
        raise WorkbenchError(f"{path}: has a header but no data rows")
    return df


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _refuse_renamed_duplicates(df: pl.DataFrame, path: Path) -> None:
    """Fail if the CSV header repeats a name (polars reads the copy as ``name_duplicated_0``)."""
    if not any(_POLARS_DUPLICATE.search(c) for c in df.columns):
        return
    header = pl.read_csv(path, has_header=False, n_rows=1, infer_schema=False).row(0)
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        name = name or ""
        if name in seen:
            raise WorkbenchError(
                f"{path}: column {quote(name)} appears twice (columns {seen[name] + 1} and {i + 1}); keep one"
            )
        seen[name] = i


def cast_strict(
    df: pl.DataFrame,
    dtypes: Mapping[str, pl.DataType],
    origin: str,
    positive: Sequence[str] = (),
    required: Sequence[str] = (),
    nonnegative: Sequence[str] = (),
) -> pl.DataFrame:
    """Cast the named columns, failing on the first cell that is not a valid value.

    ``positive`` columns must be > 0 where present; ``required`` columns may not
    be empty.  Floats must be finite: NaN and infinity are errors, not data.
    """
    out = []
    for name, dtype in dtypes.items():
        if name not in df.columns:
            continue
        col = df[name]
        if col.dtype == pl.String:
            text = col.str.strip_chars()
            empty = text.is_null() | (text == "")
            if dtype == pl.Boolean:
                lowered = text.str.to_lowercase()
                cast = lowered.replace_strict(
                    {"true": True, "false": False, "1": True, "0": False}, default=None, return_dtype=pl.Boolean
                )
            elif dtype == pl.String:
                cast = text
            elif dtype == pl.Date:
                cast = text.str.to_date("%Y-%m-%d", strict=False)
            else:
                cast = text.cast(dtype, strict=False)
            bad = (~empty) & cast.is_null()
            if bad.any():
                row = int(bad.arg_max())
                raise WorkbenchError(
                    f"{origin}: column {name!r} row {row + 1}: {quote(col[row])} is not a valid {_kind(dtype)}"
                )
            cast = cast.set(empty, None)
        else:
            cast = _cast_typed(col, dtype, origin)
            empty = cast.is_null()
        if name in required and empty.any():
            row = int(empty.arg_max())
            raise WorkbenchError(f"{origin}: column {name!r} row {row + 1}: missing value")
        if dtype in (pl.Float64, pl.Float32):
            nonfinite = cast.is_not_null() & ~cast.is_finite()
            if nonfinite.any():
                row = int(nonfinite.arg_max())
                raise WorkbenchError(f"{origin}: column {name!r} row {row + 1}: {cast[row]} is not a finite number")
        if name in positive and cast.dtype.is_numeric():
            nonpos = cast.is_not_null() & (cast <= 0)
            if nonpos.any():
                row = int(nonpos.arg_max())
                raise WorkbenchError(f"{origin}: column {name!r} row {row + 1}: value {cast[row]} must be positive")
        if name in nonnegative and cast.dtype.is_numeric():
            neg = cast.is_not_null() & (cast < 0)
            if neg.any():
                row = int(neg.arg_max())
                raise WorkbenchError(f"{origin}: column {name!r} row {row + 1}: value {cast[row]} must not be negative")
        out.append(cast.alias(name))
    return df.with_columns(out)


def _cast_typed(col: pl.Series, dtype, origin: str) -> pl.Series:
    """Cast a typed (parquet) column, refusing casts that would invent values.

    Dates and true/false values are not numbers (polars would cast a datetime
    to microseconds and ``True`` to 1); a fractional number is not a whole
    number; a whole number other than 0 and 1 is not a true/false value, nor
    is any number a date.
    """
    source = col.dtype
    if source == pl.Null or source == dtype:
        return col.cast(dtype)
    wrong = f"{origin}: column {col.name!r} has type {source}, expected a {_kind(dtype)}"
    if dtype.is_numeric() and not source.is_numeric():
        raise WorkbenchError(wrong)
    if dtype == pl.Boolean and not (source.is_integer() and col.drop_nulls().is_in([0, 1]).all()):
        raise WorkbenchError(wrong)
    if dtype == pl.Date and source != pl.Datetime:  # an integer is not a day count
        raise WorkbenchError(wrong)
    try:
        cast = col.cast(dtype, strict=True)
    except pl.exceptions.PolarsError:
        raise WorkbenchError(wrong) from None
    if dtype.is_integer() and source.is_float():
        changed = cast.is_not_null() & (cast.cast(pl.Float64) != col.cast(pl.Float64))
        if changed.any():
            row = int(changed.arg_max())
            raise WorkbenchError(
                f"{origin}: column {col.name!r} row {row + 1}: {quote(col[row])} is not a valid {_kind(dtype)}"
            )
    return cast


def _kind(dtype) -> str:
    if dtype in (pl.Float64, pl.Float32):
        return "number"
    if dtype in (pl.Int64, pl.Int32):
        return "whole number"
    if dtype == pl.Boolean:
        return "true/false value"
    if dtype == pl.Date:
        return "date (YYYY-MM-DD)"
    return str(dtype)


@dataclass(frozen=True)
class UserTable:
    """A user's measurements, renamed to the workbench's column names."""

    frame: pl.DataFrame
    renamed: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def resolve_columns(df: pl.DataFrame, wanted: Sequence[str], origin: str) -> dict[str, str]:
    """Map each wanted column to the file's column, accepting documented aliases.

    Names match case-insensitively, ignoring surrounding spaces and ``-``/``_``/space
    differences; two columns that match the same wanted name (``Params`` and
    ``PARAMS``, or ``params`` and its alias ``N``) are an error, not a choice.
    """
    found = {}
    for name in wanted:
        accepted = {_norm(alias) for alias in ALIASES.get(name, (name,))}
        matches = [c for c in df.columns if _norm(c) in accepted]
        if len(matches) > 1:
            raise WorkbenchError(
                f"{origin}: columns {quote_list(matches)} all give {name!r} (names match case-insensitively, "
                "aliases included); keep one or rename the others"
            )
        if matches:
            found[name] = matches[0]
    return found


def read_user_table(
    path: str | Path | pl.DataFrame | pl.LazyFrame,
    variables: Sequence[str],
    target: str = "loss",
    domains: Mapping[str, str] | None = None,
    carry: Sequence[str] = (),
    *,
    label: str | None = None,
) -> UserTable:
    """Read a user's CSV/parquet holding ``variables`` and ``target`` (aliases allowed).

    ``path`` may also be a polars frame; a ``LazyFrame`` (e.g. a
    :func:`workbench.corpus.scan` of a 10^7-row curve table, filtered) is
    collected for the columns needed only.  Messages name it ``label``.

    ``carry`` names further columns to carry along unconverted (e.g. a group
    label); each must exist under exactly that name.

    Tokens may be omitted when ``flops`` is given: then tokens = flops / (6 params),
    the usual C = 6ND convention, and a note says so.  ``domains`` (the law's)
    says which columns may be zero (``nonnegative``) or any sign (``real``);
    every other column must be positive.
    """
    wanted = list(dict.fromkeys([*variables, target]))
    if isinstance(path, (pl.DataFrame, pl.LazyFrame)):
        origin = label or f"the {type(path).__name__}"
        columns = path.lazy().collect_schema().names()
        raw = _needed_columns(path.lazy(), [*wanted, "flops"], carry, origin)
    else:
        origin = str(path)
        raw = read_text_table(path)
        columns = raw.columns
    found = resolve_columns(raw, [*wanted, "flops"], origin)
    notes = []
    derive_tokens = "tokens" in wanted and "tokens" not in found and "flops" in found and "params" in found
    for name in wanted:
        if name not in found and not (name == "tokens" and derive_tokens):
            accepted = ", ".join(repr(a) for a in ALIASES.get(name, (name,)))
            have = quote_list(columns)
            raise WorkbenchError(f"{origin}: missing column {name!r} (accepted names: {accepted}; the file has {have})")
    keep = {found[n]: n for n in [*wanted, "flops"] if n in found}
    frame = raw.select([pl.col(src).alias(dst) for src, dst in keep.items()])
    numeric = {n: pl.Float64 for n in frame.columns}
    domains = domains or {}
    frame = cast_strict(
        frame,
        numeric,
        origin,
        required=list(numeric),
        positive=[n for n in numeric if domains.get(n, "positive") == "positive"],
        nonnegative=[n for n in numeric if domains.get(n) == "nonnegative"],
    )
    check_magnitudes(frame, origin)
    if derive_tokens:
        frame = frame.with_columns((pl.col("flops") / (6.0 * pl.col("params"))).alias("tokens"))
        notes.append("tokens derived as flops / (6 * params)")
        check_magnitudes(frame.select("tokens"), f"{origin} (tokens derived as flops / (6 * params))")
    notes.extend(unit_warnings(frame, origin))
    extra = [c for c in carry if c not in frame.columns]
    absent = [c for c in extra if c not in raw.columns]
    if absent:
        raise WorkbenchError(f"{origin}: missing column {quote(absent[0])} (the file has {quote_list(columns)})")
    frame = frame.with_columns(raw.select(extra)) if extra else frame
    renamed = {src: dst for src, dst in keep.items() if src != dst}
    return UserTable(frame=frame, renamed=renamed, notes=tuple(notes))


def _needed_columns(lazy: pl.LazyFrame, wanted: Sequence[str], carry: Sequence[str], origin: str) -> pl.DataFrame:
    """Collect only the columns that ``wanted`` (by alias) and ``carry`` resolve to; the rest is never read."""
    header = pl.DataFrame(schema=lazy.collect_schema())
    names = [*resolve_columns(header, wanted, origin).values(), *(c for c in carry if c in header.columns)]
    try:
        return lazy.select(list(dict.fromkeys(names))).collect()
    except pl.exceptions.PolarsError as exc:
        raise WorkbenchError(f"{origin}: cannot be read ({str(exc).splitlines()[0][:200]})") from None


def check_magnitudes(frame: pl.DataFrame, origin: str) -> None:
    """Fail on the first number whose magnitude is outside :data:`MAGNITUDE` (0 is left to the domain checks).

    Values like 1e308 or 1e-300 are finite, but a law raises them to powers
    and multiplies them together, which overflows (or underflows to 0) and
    leaves the fit with infinities instead of a clear message.
    """
    low, high = MAGNITUDE
    for name in frame.columns:
        size = frame[name].abs()
        outside = (size > high) | ((size < low) & (size > 0))
        if outside.any():
            row = int(outside.arg_max())
            raise WorkbenchError(
                f"{origin}: column {name!r} row {row + 1}: {frame[name][row]:g} is outside the range a fit can use "
                f"({low:g} to {high:g} in magnitude); check the column's units"
            )


def unit_warnings(frame: pl.DataFrame, origin: str) -> list[str]:
    """Flag axes whose magnitudes suggest a unit slip (e.g. tokens in billions)."""
    out = []
    checks = {"params": 1e4, "tokens": 1e5, "flops": 1e10}
    for name, floor in checks.items():
        if name in frame.columns and frame.height and frame[name].max() < floor:
            out.append(
                f"{origin}: column {name!r} never exceeds {frame[name].max():g}; "
                f"if it is in millions or billions, convert it to plain counts"
            )
    if "loss" in frame.columns and frame.height and frame["loss"].max() > 20:
        out.append(f"{origin}: column 'loss' reaches {frame['loss'].max():g}; losses are expected in nats per token")
    return out
