"""Reading tables strictly: every bad cell is reported by file, column and row.

Both the curated corpus and a user's own CSV/parquet go through
:func:`cast_strict`, which reads text cells into the schema's types and, on the
first cell that does not fit, says which file, column and row (1-based data
row, header excluded) and what the cell holds.  Nothing is silently dropped or
coerced to null.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from workbench.errors import WorkbenchError

ALIASES: dict[str, tuple[str, ...]] = {
    "params": ("params", "n", "n_params", "num_params", "parameters", "model_size", "model size"),
    "tokens": ("tokens", "d", "n_tokens", "num_tokens", "training_tokens", "data"),
    "flops": ("flops", "c", "compute", "training_flop", "training_flops", "training flop"),
    "loss": ("loss", "l", "final_loss", "eval_loss", "val_loss", "validation_loss"),
}


def _norm(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def read_text_table(path: str | Path) -> pl.DataFrame:
    """Read a CSV or parquet file with every column as text (parquet keeps its types)."""
    path = Path(path)
    if path.is_dir():
        raise WorkbenchError(f"{path}: is a directory, not a data file")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            df = pl.read_parquet(path)
        else:
            if path.stat().st_size == 0:
                raise WorkbenchError(f"{path}: the file is empty")
            df = pl.read_csv(path, infer_schema=False)
    except WorkbenchError:
        raise
    except FileNotFoundError:
        raise WorkbenchError(f"{path}: no such file") from None
    except PermissionError:
        raise WorkbenchError(f"{path}: permission denied") from None
    except OSError as exc:
        raise WorkbenchError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except pl.exceptions.NoDataError:
        raise WorkbenchError(f"{path}: the file is empty") from None
    except (pl.exceptions.ComputeError, pl.exceptions.PolarsError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WorkbenchError(f"{path}: not a readable CSV/parquet table ({first})") from None
    if df.height == 0:
        raise WorkbenchError(f"{path}: has a header but no data rows")
    return df


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
                    f"{origin}: column {name!r} row {row + 1}: {col[row]!r} is not a valid {_kind(dtype)}"
                )
            cast = cast.set(empty, None)
        else:
            try:
                cast = col.cast(dtype, strict=True)
            except pl.exceptions.PolarsError:
                raise WorkbenchError(
                    f"{origin}: column {name!r} has type {col.dtype}, expected a {_kind(dtype)}"
                ) from None
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
    """Map each wanted column to the file's column, accepting documented aliases."""
    by_norm: dict[str, str] = {}
    for c in df.columns:
        by_norm.setdefault(_norm(c), c)
    found = {}
    for name in wanted:
        for alias in ALIASES.get(name, (name,)):
            if _norm(alias) in by_norm:
                found[name] = by_norm[_norm(alias)]
                break
    return found


def read_user_table(
    path: str | Path,
    variables: Sequence[str],
    target: str = "loss",
    domains: Mapping[str, str] | None = None,
    carry: Sequence[str] = (),
) -> UserTable:
    """Read a user's CSV/parquet holding ``variables`` and ``target`` (aliases allowed).

    ``carry`` names further columns to carry along unconverted (e.g. a group
    label); each must exist under exactly that name.

    Tokens may be omitted when ``flops`` is given: then tokens = flops / (6 params),
    the usual C = 6ND convention, and a note says so.  ``domains`` (the law's)
    says which columns may be zero (``nonnegative``) or any sign (``real``);
    every other column must be positive.
    """
    origin = str(path)
    raw = read_text_table(path)
    wanted = list(dict.fromkeys([*variables, target]))
    found = resolve_columns(raw, [*wanted, "flops"], origin)
    notes = []
    derive_tokens = "tokens" in wanted and "tokens" not in found and "flops" in found and "params" in found
    for name in wanted:
        if name not in found and not (name == "tokens" and derive_tokens):
            accepted = ", ".join(repr(a) for a in ALIASES.get(name, (name,)))
            have = ", ".join(repr(c) for c in raw.columns)
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
    if derive_tokens:
        frame = frame.with_columns((pl.col("flops") / (6.0 * pl.col("params"))).alias("tokens"))
        notes.append("tokens derived as flops / (6 * params)")
    notes.extend(unit_warnings(frame, origin))
    extra = [c for c in carry if c not in frame.columns]
    absent = [c for c in extra if c not in raw.columns]
    if absent:
        have = ", ".join(repr(c) for c in raw.columns)
        raise WorkbenchError(f"{origin}: missing column {absent[0]!r} (the file has {have})")
    frame = frame.with_columns(raw.select(extra)) if extra else frame
    renamed = {src: dst for src, dst in keep.items() if src != dst}
    return UserTable(frame=frame, renamed=renamed, notes=tuple(notes))


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
