"""A law in a small TOML file, so a researcher's law can be kept, shared and cited like a registered one.

Why a file: a formula typed on the command line is gone after the run; a law
file keeps the formula with its bounds, LaTeX, description and the constants
a paper printed for it, and ``fit --law FILE.toml`` fits it like any other
law.  The file is data, never code: its formula goes through the same
whitelisted parser as ``--formula`` (:mod:`workbench.laws.formula`).

The keys (only ``formula`` is required)::

    name = "chinchilla_by_hand"          # default: the file's name without .toml
    title = "Chinchilla, typed by hand"
    formula = "E + A/params**alpha + B/tokens**beta"
    variables = ["params", "tokens"]     # default: the formula's names that are corpus axes
    target = "loss"
    latex = 'L(N, D) = E + \\frac{A}{N^{\\alpha}} + \\frac{B}{D^{\\beta}}'
    description = "..."

    [bounds]
    alpha = [0.0, 3.0]

    [[presets]]
    name = "hoffmann2022"
    values = { E = 1.69, A = 406.4, B = 410.7, alpha = 0.34, beta = 0.28 }
    citation = "Hoffmann et al. 2022, arXiv:2203.15556"
    origin = "printed"                   # default "secondhand"; see workbench.laws.base.ORIGINS
    locator = "arXiv:2203.15556 App. D.2, Eq. (10)"   # default: this file
    note = ""

An unknown key, a value of the wrong type, or a preset that does not give
every parameter is a one-line error naming the file and the key.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from pathlib import Path

from workbench.errors import WorkbenchError, one_line, quote
from workbench.laws.base import ORIGINS, Law, Preset

MAX_BYTES = 100_000  # a law file is a few hundred bytes; refuse to read a large file as one
_KEYS = {"name", "title", "formula", "variables", "target", "latex", "description", "bounds", "presets"}
_PRESET_KEYS = {"name", "values", "citation", "origin", "locator", "note"}


def _read(path: Path) -> dict:
    from workbench.files import check_regular_file

    path = check_regular_file(path)
    if path.stat().st_size > MAX_BYTES:
        raise WorkbenchError(
            f"{path}: {path.stat().st_size:,} bytes is too large for a law file (at most {MAX_BYTES:,})"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise WorkbenchError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise WorkbenchError(f"{path}: cannot read ({one_line(str(exc.strerror or exc), 200)})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise WorkbenchError(f"{path}: not valid TOML ({one_line(str(exc), 200)})") from None


def _text(data: Mapping, key: str, path: Path, default: str | None = None) -> str | None:
    if key not in data:
        return default
    value = data[key]
    if not isinstance(value, str) or not value.strip():
        raise WorkbenchError(f"{path}: key {key!r} must be non-empty text, not {quote(value)}")
    return value


def _variables(data: Mapping, path: Path, formula: str) -> tuple[str, ...]:
    if "variables" not in data:
        from workbench.corpus.schema import AXES
        from workbench.laws.formula import formula_names

        found = tuple(n for n in formula_names(formula) if n in AXES)
        if not found:
            raise WorkbenchError(
                f"{path}: key 'variables' is missing and the formula uses no corpus axis ({AXES[0]}, ...)"
            )
        return found
    value = data["variables"]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise WorkbenchError(f"{path}: key 'variables' must be a non-empty list of column names, not {quote(value)}")
    return tuple(value)


def _bounds(data: Mapping, path: Path) -> dict[str, tuple[float, float]]:
    table = data.get("bounds", {})
    if not isinstance(table, dict):
        raise WorkbenchError(f"{path}: key 'bounds' must be a table of name = [low, high]")
    out = {}
    for name, pair in table.items():
        ok = isinstance(pair, list) and len(pair) == 2 and all(_is_number(v) for v in pair)
        if not ok or not (math.isfinite(pair[0]) and math.isfinite(pair[1]) and pair[0] < pair[1]):
            raise WorkbenchError(f"{path}: key 'bounds.{name}' must be [low, high], finite with low < high")
        out[name] = (float(pair[0]), float(pair[1]))
    return out


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _preset(entry, i: int, path: Path) -> Preset:
    where = f"{path}: key 'presets[{i}]"
    if not isinstance(entry, dict):
        raise WorkbenchError(f"{where}' must be a table")
    unknown = sorted(set(entry) - _PRESET_KEYS)
    if unknown:
        raise WorkbenchError(f"{where}.{unknown[0]}' is not a preset key (known: {', '.join(sorted(_PRESET_KEYS))})")
    for key in ("name", "values", "citation"):
        if key not in entry:
            raise WorkbenchError(f"{where}.{key}' is missing")
    values = entry["values"]
    if not isinstance(values, dict) or not values:
        raise WorkbenchError(f"{where}.values' must be a table of parameter = number")
    for name, value in values.items():
        if not _is_number(value) or not math.isfinite(value):
            raise WorkbenchError(f"{where}.values.{name}' must be a finite number, not {quote(value)}")
    origin = entry.get("origin", "secondhand")
    if origin not in ORIGINS:
        raise WorkbenchError(f"{where}.origin' must be one of {', '.join(ORIGINS)}, not {quote(origin)}")
    texts = {k: entry.get(k, "") for k in ("name", "citation", "locator", "note")}
    for key, value in texts.items():
        if not isinstance(value, str) or (key in ("name", "citation") and not value.strip()):
            raise WorkbenchError(f"{where}.{key}' must be text, not {quote(value)}")
    locator = texts["locator"].strip() or f"{path.name} (as written in this law file; not checked against the source)"
    return Preset(
        name=texts["name"],
        values={k: float(v) for k, v in values.items()},
        citation=texts["citation"],
        origin=origin,
        locator=locator,
        note=texts["note"],
    )


def _check_preset_values(law: Law, path: Path) -> None:
    for i, preset in enumerate(law.presets):
        unknown = [k for k in preset.values if k not in law.names]
        missing = [n for n in law.names if n not in preset.values]
        if unknown:
            raise WorkbenchError(f"{path}: key 'presets[{i}].values.{unknown[0]}' is not a parameter of the formula")
        if missing:
            raise WorkbenchError(f"{path}: key 'presets[{i}].values' lacks {', '.join(missing)}")


def load_law_file(path: str | Path, bounds: Mapping[str, tuple[float, float]] | None = None) -> Law:
    """The :class:`Law` a TOML law file declares (see this module's docstring for the keys).

    ``bounds`` (name -> ``(low, high)``, e.g. from ``--bound``) override the file's.
    """
    path = Path(path)
    data = _read(path)
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise WorkbenchError(f"{path}: key {unknown[0]!r} is not a law-file key (known: {', '.join(sorted(_KEYS))})")
    formula = _text(data, "formula", path)
    if formula is None:
        raise WorkbenchError(f"{path}: key 'formula' is missing")
    presets = data.get("presets", [])
    if not isinstance(presets, list):
        raise WorkbenchError(f"{path}: key 'presets' must be an array of tables ([[presets]])")
    try:
        law = Law.from_formula(
            formula,
            _variables(data, path, formula),
            target=_text(data, "target", path, "loss"),
            bounds={**_bounds(data, path), **dict(bounds or {})},
            name=_text(data, "name", path, path.stem),
            latex=_text(data, "latex", path),
            description=_text(data, "description", path, ""),
            title=_text(data, "title", path),
            presets=tuple(_preset(p, i, path) for i, p in enumerate(presets)),
        )
    except WorkbenchError as exc:
        message = str(exc)
        raise WorkbenchError(message if message.startswith(str(path)) else f"{path}: {message}") from None
    _check_preset_values(law, path)
    return law
