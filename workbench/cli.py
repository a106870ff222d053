"""Command line: ``python -m workbench fit | sources | curate``.

The JSON output of ``fit`` is a stable contract (keys ``law``, ``params``,
``objective``, ``fit_seconds``, ``n_points``, ``predictions``, ``ci`` with
``--bootstrap``; plus ``warnings``, ``flags``, ``loss``, ``converged``,
``domain``, ``data``, ``backtest`` with ``--holdout``).  The text output
says which rows were fitted (a corpus source, or one of its named subsets,
``chinchilla_epoch:besiroglu2024``) and marks every constant the fit cannot
vouch for.  Every user error is one line on stderr and exit code 2; a
traceback means a bug in the workbench.

``fit --formula TEXT`` fits a law typed as a formula and ``--law FILE.toml`` one kept in a
law file (:mod:`workbench.laws.formula`, :mod:`workbench.laws.law_file`); ``--bound`` sets
their parameters' bounds.

Hostile input is refused before it reaches the fit: option values have
ranges (``--bootstrap`` 0..10000 draws and at most 10 million resampled rows,
``--seed`` 0..2**32-1, finite ``--delta``/``--weight``/``--fix`` values, each
parameter fixed once, a non-empty ``--holdout``), argparse's own errors are one
line too, and every value quoted in a message is cut to about 80 characters.
The fit runs with numpy's floating-point errors recorded instead of printed:
if any occurred, the output's ``warnings`` say so, and an exception they caused
becomes a one-line error.  ``--json`` is strict JSON: a value that is not finite
(an overflowing prediction, a failed bootstrap interval) is written as
``null`` and named in ``warnings``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import polars as pl

from workbench.errors import QUOTE_LIMIT, WorkbenchError, one_line, quote

EXIT_USAGE = 2
MAX_BOOTSTRAP = 10_000  # 10,000 draws of 245 points take 60 s and 1 GB; percentile intervals need about 2,000
MAX_RESAMPLED_ROWS = 10_000_000  # draws x rows: memory and time of the bootstrap grow with both
MAX_LABEL = 200  # characters of a --per-group label, which every output and message repeats
MAX_SEED = 2**32 - 1  # numpy's SeedSequence takes non-negative integers; 32 bits is every seed a user types


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (``error: ...``) and exit 2, like every other error."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"error: {one_line(message)} (see {self.prog} --help)\n")


class _Laws(argparse.Action):
    """``--law``, repeatable: ``args.law`` is the first (what a one-law fit uses), ``args.laws`` every one."""

    def __call__(self, parser, namespace, values, option_string=None):
        namespace.laws = [*(getattr(namespace, "laws", None) or []), values]
        namespace.law = namespace.laws[0]


def _whole(name: str, low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number in [low, high]; ``1e3`` is read as 1000."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                raise argparse.ArgumentTypeError(f"{quote(text)} is not a whole number") from None
            if math.isinf(number):
                raise argparse.ArgumentTypeError(f"{quote(text)} is outside {low}..{high:,}") from None
            if not number.is_integer():
                raise argparse.ArgumentTypeError(f"{quote(text)} is not a whole number") from None
            value = int(number)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{quote(text)} is outside {low}..{high:,}")
        return value

    parse.__name__ = name
    return parse


def _finite(text: str) -> float:
    """An argparse type: a finite number (range checks are the fit's)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{quote(text)} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{quote(text)} is not a finite number")
    return value


def _parse_point(text: str, law, groups: tuple[str, ...] = (), group_column: str = "group") -> dict[str, float]:
    variables = law.variables
    parts = text.split(":")
    if len(parts) != len(variables):
        raise WorkbenchError(
            f"--predict {quote(text)}: expected {len(variables)} values separated by ':' ({':'.join(variables)})"
        )
    point = {}
    for name, part in zip(variables, parts):
        if groups and name == group_column:
            from workbench.laws.grouped import group_code

            point[name] = float(group_code(groups, part))
            continue
        try:
            value = float(part)
        except ValueError:
            raise WorkbenchError(f"--predict {quote(text)}: {quote(part)} is not a number for {name}") from None
        domain = law.domains.get(name, "positive")
        if (
            value != value
            or abs(value) == float("inf")
            or (domain == "positive" and value <= 0)
            or (domain == "nonnegative" and value < 0)
        ):
            kind = {"positive": "a positive", "nonnegative": "a non-negative"}.get(domain, "a")
            raise WorkbenchError(f"--predict {quote(text)}: {name} must be {kind} finite number")
        point[name] = value
    return point


def _load_fit_data(spec: str, law, carry: Sequence[str] = ()):
    """``spec`` is a file path, or a corpus source id (``source`` or ``source:subset``) when no such file exists.

    Returns the rows to fit, notes for the output, and the ``data`` object of
    the JSON output (with a one-line ``summary`` of which rows were fitted).
    """
    from workbench import corpus

    path = Path(spec)
    if _exists(path) or any(sep in spec for sep in ("/", "\\")) or path.suffix:
        table = corpus.read_user_table(path, law.variables, law.target, law.domains, carry=carry)
        info = {"file": str(path), "rows_fitted": table.frame.height, "summary": f"{path}: {table.frame.height} points"}
        return table.frame, list(table.notes), info
    source_id, subset = _source_and_subset(spec, corpus.sources())
    src = corpus.get_source(source_id)
    sub = src.subset(subset) if subset else None
    if law.target == "loss":
        frame = corpus.loss_points(source_id)
    else:
        frame = corpus.load(source_id, metric=law.target, final_only=True).with_columns(
            pl.col("value").alias(law.target)
        )
        if frame.height == 0:
            raise WorkbenchError(
                f"corpus source {source_id!r} has no final-checkpoint {law.target!r} rows for law {law.name!r}"
            )
    total = frame.height
    if sub is not None:
        frame = corpus.select_subset(frame, sub, spec)
    unknown = [v for v in (*law.variables, *carry) if v not in frame.columns]
    if unknown:
        raise WorkbenchError(
            f"corpus source {source_id!r} has no column {', '.join(map(repr, unknown))} needed by law {law.name!r}"
        )
    missing = [v for v in law.variables if frame[v].null_count() == frame.height]
    if missing:
        raise WorkbenchError(
            f"corpus source {source_id!r} has no {', '.join(missing)} values needed by law {law.name!r}"
        )
    notes = []
    complete = frame.drop_nulls(list(law.variables))
    if complete.height < frame.height:
        notes.append(
            f"{frame.height - complete.height} of {frame.height} rows of {spec!r} lack {', '.join(law.variables)} "
            "and were not fitted"
        )
    return complete, notes, _source_info(src, sub, complete.height, total, frame if sub is None else None)


def _exists(path: Path) -> bool:
    """``path.exists()``, but a name the OS cannot look up (too long, a NUL byte) just does not exist."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def _source_and_subset(spec: str, known) -> tuple[str, str | None]:
    """``"chinchilla_epoch"`` -> (id, None); ``"chinchilla_epoch:besiroglu2024"`` -> (id, subset name)."""
    if spec in known:
        return spec, None
    source_id, sep, subset = spec.rpartition(":")
    if sep and source_id in known and subset:
        return source_id, subset
    raise WorkbenchError(
        f"--data {quote(spec)}: no such file, and not a corpus source id (known: {', '.join(known)}; "
        "a subset is written source:subset)"
    )


def _source_info(src, sub, fitted: int, total: int, all_rows) -> dict:
    """The ``data`` object for a corpus source: which rows were fitted, and which subsets papers fitted instead."""
    from workbench.corpus import select_subset

    info = {"source": src.id, "subset": sub.name if sub else None, "rows_fitted": fitted, "rows_in_source": total}
    if sub is not None:
        info["subset_rule"] = sub.rule
        info["summary"] = f"{src.id}, subset {sub.name}: {fitted} of {total} points ({sub.rule}, as {sub.used_by})"
        return info
    counted = [(s, select_subset(all_rows, s, src.id).height) for s in src.subsets if s.column in all_rows.columns]
    info["subsets"] = {
        s.name: {"rows": n, "rule": s.rule, "used_by": s.used_by, "reference": s.reference} for s, n in counted
    }
    head = f"{src.id}: all {total} points" if fitted == total else f"{src.id}: {fitted} of {total} points"
    others = "; ".join(f"{s.used_by} fitted {n} (use {src.id}:{s.name})" for s, n in counted)
    info["summary"] = f"{head}; {others}" if others else head
    return info


def _parse_fixed(items: Sequence[str], law) -> dict[str, float]:
    """``--fix NAME=VALUE`` flags: each a parameter of the law, given once, with a finite number."""
    out: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep:
            raise WorkbenchError(f"--fix {quote(item)} must look like 'E=1.69'")
        if name not in law.names:
            raise WorkbenchError(
                f"--fix {quote(item)}: law {law.name!r} has no parameter {quote(name)}; it has {', '.join(law.names)}"
            )
        try:
            number = float(value)
        except ValueError:
            raise WorkbenchError(f"--fix {quote(item)}: {quote(value)} is not a number") from None
        if not math.isfinite(number):
            raise WorkbenchError(f"--fix {quote(item)}: {name} must be a finite number")
        if name in out:
            raise WorkbenchError(f"--fix fixes {name} twice ({name}={out[name]:g} and {name}={number:g}); fix it once")
        out[name] = number
    return out


def _fit_options(args, law):
    """The fit's options from the flags, built once for the fit, its bootstrap and its backtest."""
    from workbench.fit import FitOptions

    return FitOptions(
        loss=args.loss,
        delta=args.delta,
        fixed=_parse_fixed(args.fix, law),
        tie=tuple(args.tie),
        weight=args.weight,
        space=args.residuals,
    )


def cmd_fit(args) -> int:
    _check_fit_request(args)
    if len(args.laws) > 1:
        return _cmd_scoreboard(args)
    law = _fit_law(args)
    groups: tuple[str, ...] = ()
    if args.per_group:
        if law.basis is None:
            raise WorkbenchError(
                f"--per-group: law {law.name!r} is not separable, so it has no coefficients to fit per group"
            )
        frame, notes, data_info = _load_fit_data(args.data, law, carry=(args.per_group,))
        _check_group_labels(frame, args.per_group, args.data)
        from workbench.laws.grouped import grouped

        law, frame, groups = grouped(law, frame, args.per_group)
        data_info["per_group"] = {"column": args.per_group, "groups": list(groups)}
    else:
        frame, notes, data_info = _load_fit_data(args.data, law)
    points = [_parse_point(p, law, groups) for p in args.predict]
    options = _fit_options(args, law)
    _check_bootstrap_size(args.bootstrap, frame.height)
    out, events = _guarded_fit(args, law, frame, groups, points, options)
    out["warnings"] = notes + out["warnings"]
    out["data"] = data_info
    out["data"]["predict_order"] = list(law.variables)  # the order of --predict values
    _check_finite_fit(out, law)
    out["warnings"].extend(_numeric_warnings(out, events, args.json))
    print(_strict_json(out) if args.json else _format_fit(out, law))
    return 0


def _fit_law(args):
    """The law of a one-law fit: ``--formula`` (its variables are the data's columns it names), or ``--law``
    (a registered name or a ``.toml`` law file); ``--bound`` changes the bounds of either of the last two."""
    from workbench.laws import resolve_law
    from workbench.laws.formula import parse_bounds

    bounds = parse_bounds(args.bound)
    if args.formula is None:
        return resolve_law(args.law, bounds=bounds)
    from workbench.corpus.formula_columns import formula_variables
    from workbench.laws import Law
    from workbench.laws.formula import formula_names

    formula_names(args.formula)  # a hostile or malformed formula is refused before any data is read
    return Law.from_formula(args.formula, formula_variables(args.formula, _data_columns(args.data)), bounds=bounds)


def _data_columns(spec: str) -> list[str]:
    """The column names of ``--data`` (a file's header, or a corpus source's numeric columns with values)."""
    from workbench import corpus
    from workbench.corpus.tables import read_text_table

    path = Path(spec)
    if _exists(path) or any(sep in spec for sep in ("/", "\\")) or path.suffix:
        return list(read_text_table(path).columns)
    source_id, _ = _source_and_subset(spec, corpus.sources())
    frame = corpus.loss_points(source_id)
    return [c for c in frame.columns if frame[c].dtype.is_numeric() and frame[c].null_count() < frame.height]


def _guarded_fit(args, law, frame, groups, points, options) -> tuple[dict, list[str]]:
    """:func:`_fit_and_report` with numpy's floating-point errors recorded; returns its output and them.

    An exception raised after such errors is the data's numbers at work (an
    overflow turned into NaN that scipy then refuses) and becomes a one-line
    error; one raised without them is a bug and keeps its traceback.
    """
    events: list[str] = []
    try:
        with _recorded_numerics(events):
            return _fit_and_report(args, law, frame, groups, points, options), events
    except WorkbenchError:
        raise
    except (ValueError, ArithmeticError) as exc:
        if not events:
            raise
        raise WorkbenchError(
            f"law {law.name!r}: the fit failed after floating-point {_kinds(events)} "
            f"({quote(f'{type(exc).__name__}: {exc}', 120)}); the data's values are too extreme for this law, "
            "check their units"
        ) from None


def _numeric_warnings(out: dict, events: list[str], as_json: bool) -> list[str]:
    """Warnings for floating-point errors met on the way and for result values that are not finite."""
    notes = []
    if events:
        notes.append(
            f"numpy met floating-point {_kinds(events)} while fitting, resampling or predicting; results that "
            "depend on them are unreliable (check the data's units and how far --predict extrapolates)"
        )
    bad = list(_nonfinite_paths(out))
    if bad:
        shown = ", ".join(bad[:6]) + (f" and {len(bad) - 6} more" if len(bad) > 6 else "")
        written = "written as null" if as_json else "printed as inf/nan"
        notes.append(f"{len(bad)} result value(s) are not finite and are {written}: {shown}")
    return notes


def _check_fit_request(args) -> None:
    """Refuse option values that need no data to judge, before the data are read."""
    if args.holdout is not None:
        if not args.holdout.strip():
            raise WorkbenchError("--holdout is empty; write terms like 'flops>1e21', joined by '&'")
        from workbench.analysis.backtest import parse_holdout

        parse_holdout(args.holdout)
    if args.per_group is not None and not args.per_group.strip():
        raise WorkbenchError("--per-group is empty; name the column that holds each row's group")
    _check_calibrate_request(args)


def _check_calibrate_request(args) -> None:
    """``--calibrate`` widens bootstrap intervals; several ``--law`` compare laws on one set of options."""
    if args.calibrate and not args.bootstrap:
        raise WorkbenchError("--calibrate needs --bootstrap B: the calibrated interval envelopes the bootstrap one")
    if args.calibrate and args.per_group:
        raise WorkbenchError("--calibrate does not work with --per-group yet; calibrate one group's rows at a time")
    if len(args.laws) > 1:
        flags = {"--per-group": args.per_group, "--fix": args.fix, "--tie": args.tie, "--holdout": args.holdout}
        used = [flag for flag, value in flags.items() if value]
        if used:
            raise WorkbenchError(f"{used[0]} works with one --law at a time; the scoreboard compares laws as they are")


def _check_group_labels(frame: pl.DataFrame, column: str, origin: str) -> None:
    """Group labels are names printed in every output and message: refuse one longer than MAX_LABEL characters."""
    if column not in frame.columns:
        return  # grouped() names the missing column
    labels = frame[column].cast(pl.String, strict=False)
    long = labels.str.len_chars().fill_null(0) > MAX_LABEL
    if long.any():
        row = int(long.arg_max())
        raise WorkbenchError(
            f"{origin}: column {quote(column)} row {row + 1}: the group label {quote(labels[row])} is longer "
            f"than {MAX_LABEL} characters; a group label is a short name"
        )


def _check_bootstrap_size(draws: int, rows: int) -> None:
    """The bootstrap refits ``draws`` resamples of ``rows`` rows: bound their product, not only the draws."""
    if draws * rows > MAX_RESAMPLED_ROWS:
        raise WorkbenchError(
            f"--bootstrap {draws}: {draws:,} draws of {rows:,} rows resample {draws * rows:,} rows, over the limit "
            f"of {MAX_RESAMPLED_ROWS:,} (memory and time grow with both); use at most {MAX_RESAMPLED_ROWS // rows:,} "
            "draws"
        )


def _fit_and_report(args, law, frame, groups, points, options) -> dict:
    """Fit, bootstrap, predict, compare groups and backtest as the flags ask; the JSON object without notes."""
    from workbench.analysis.backtest import backtest
    from workbench.fit import fit_problem, make_problem

    result = fit_problem(make_problem(law, frame, options))
    if args.bootstrap:
        result = result.bootstrap(draws=args.bootstrap, seed=args.seed)
    out = result.to_dict()
    out["predictions"] = [p.to_dict(law.target) for p in result.predictions(points)]
    if args.calibrate:
        from workbench.analysis.calibrate import calibrate, rolling_origin

        errors = rolling_origin(law, frame, options=options)
        _add_intervals(out, result, points, calibrate(errors), errors)
    if groups:
        if args.fix or args.tie:
            out["sharing"] = {"skipped": "--fix/--tie name per-group parameters, which separate fits do not have"}
            out["grouping"] = dict(out["sharing"])
        else:
            from workbench.analysis.groups import pooled_vs_separate, shared_vs_separate

            cmp = shared_vs_separate(_fit_law(args), frame, args.per_group, shared=result)  # squared loss: AIC
            out["sharing"] = cmp.to_dict()
            out["grouping"] = pooled_vs_separate(cmp.law, frame, args.per_group, separate=cmp.separate).to_dict()
    if args.holdout:
        bt = backtest(law, frame, args.holdout, options)
        out["backtest"] = {**bt.to_dict(), "params": dict(bt.fit.params), "warnings": list(bt.fit.warnings)}
    return out


def _add_intervals(out: dict, result, points, calibration, errors) -> None:
    """Each prediction gains ``pi`` (calibrated by ``errors``); ``out`` gains ``calibration`` and its notes."""
    from workbench.analysis.calibrate import calibrated_intervals

    intervals = calibrated_intervals(result, points, calibration)
    for record, pi in zip(out["predictions"], intervals):
        record["pi"] = pi.to_dict()
    out["calibration"] = {**calibration.to_dict(), "backtests": errors.to_dict()}
    notes = [*calibration.notes, *(note for pi in intervals for note in pi.notes)]
    out["warnings"] = [*out["warnings"], *(n for n in dict.fromkeys(notes) if n not in out["warnings"])]


def _pi_text(p: dict) -> str:
    """A prediction's calibrated interval in a few words ("" without ``--calibrate``)."""
    if "pi" not in p:
        return ""
    pi = p["pi"]
    how = f"{pi['n_errors']} backtest errors" + ("" if pi["calibrated"] else ", uncalibrated")
    return f" [{100 * pi['level']:.3g}% PI {pi['lo']:.6g}, {pi['hi']:.6g} from {how}]"


def _cmd_scoreboard(args) -> int:
    """Several ``--law``: each fitted and predicted as alone, then the rolling-origin backtest scoreboard."""
    from types import SimpleNamespace

    from workbench.laws import resolve_law

    laws = [resolve_law(spec) for spec in args.laws]
    if len({law.name for law in laws}) < len(laws):
        raise WorkbenchError(f"--law names a law twice ({', '.join(args.laws)}); give each law once")
    if len({law.target for law in laws}) > 1:
        targets = ", ".join(f"{law.name} predicts {law.target}" for law in laws)
        raise WorkbenchError(f"--law: the laws predict different quantities ({targets}); compare laws of one target")
    domains = {v: d for law in laws for v, d in law.domains.items()}
    variables = tuple(dict.fromkeys(v for law in laws for v in law.variables))
    columns = SimpleNamespace(name=", ".join(args.laws), variables=variables, target=laws[0].target, domains=domains)
    frame, notes, data_info = _load_fit_data(args.data, columns)
    points = [_parse_point(p, columns) for p in args.predict]
    _check_bootstrap_size(args.bootstrap, frame.height)
    events: list[str] = []
    try:
        with _recorded_numerics(events):
            out = _scoreboard_report(args, laws, frame, points, _fit_options(args, laws[0]))
    except (ValueError, ArithmeticError) as exc:
        if isinstance(exc, WorkbenchError) or not events:
            raise
        raise WorkbenchError(
            f"--law {columns.name}: a fit failed after floating-point {_kinds(events)} "
            f"({quote(f'{type(exc).__name__}: {exc}', 120)}); check the data's units"
        ) from None
    out["data"] = data_info
    out["data"]["predict_order"] = list(variables)
    out["warnings"] = notes
    for law, fit in zip(laws, out["laws"]):
        _check_finite_fit(fit, law)
    out["warnings"].extend(_numeric_warnings(out, events, args.json))
    print(_strict_json(out) if args.json else _format_scoreboard(out, laws))
    return 0


def _scoreboard_report(args, laws, frame, points, options) -> dict:
    """The scoreboard and every law's own fit, bootstrap and (calibrated) predictions."""
    from workbench.analysis.calibrate import scoreboard

    board = scoreboard(laws, frame, options=options)
    fits = []
    for entry in board.entries:
        result = entry.fit.bootstrap(draws=args.bootstrap, seed=args.seed) if args.bootstrap else entry.fit
        mine = [{v: p[v] for v in entry.law.variables} for p in points]
        fit = result.to_dict()
        fit["predictions"] = [p.to_dict(entry.law.target) for p in result.predictions(mine)]
        if args.calibrate:
            _add_intervals(fit, result, mine, entry.calibration, entry.errors)
        fits.append(fit)
    return {"favoured": board.favoured, "scoreboard": board.to_dict(), "laws": fits}


def _format_scoreboard(out: dict, laws) -> str:
    """The scoreboard table, its verdict, then each law as a one-law fit prints it (without repeating the data)."""
    board = out["scoreboard"]
    lines = [
        f"data: {out['data']['summary']}",
        f"scoreboard: rolling-origin backtests by {board['size']} (fit up to each size, predict every larger one)",
        f"  {'law':<24}{'mean |log err|':>15}{'median':>9}{'errors':>8}{'coverage':>10}{'AIC':>11}{'BIC':>11}",
    ]
    for row in sorted(board["laws"], key=lambda r: r["mean_abs_log_common"]):
        cov = "n/a" if row["calibrated_coverage"] is None else f"{row['calibrated_coverage']:.0%}"
        lines.append(
            f"  {row['law']:<24}{row['mean_abs_log_common']:>15.4f}{row['median_abs_log']:>9.4f}{row['n_errors']:>8}"
            f"{cov:>10}{row['aic']:>11.1f}{row['bic']:>11.1f}"
        )
    lines.append(f"  (coverage: of {100 * board['level']:.3g}% calibrated intervals in the backtests themselves)")
    lines.append(board["verdict"])
    for law, fit in zip(laws, out["laws"]):
        block = _format_fit({**fit, "data": out["data"]}, law).splitlines()
        lines.extend(["", block[0], *block[2:]])
    lines.extend(f"warning: {w}" for w in out["warnings"])
    return "\n".join(lines)


@contextmanager
def _recorded_numerics(events: list[str]) -> Iterator[None]:
    """Run a block with numpy's floating-point errors and RuntimeWarnings appended to ``events``, not printed.

    The engine silences the errors it expects; what is left (a law
    overflowing at extreme data, a percentile of failed bootstrap draws)
    would reach the user as numpy's multi-line RuntimeWarnings on stderr.
    The caller reports them in one warning.  Other warnings pass unchanged.
    """
    import numpy as np

    def record(kind: str, flag: int) -> None:
        events.append(kind)

    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught, np.errstate(all="call", under="ignore", call=record):
            warnings.simplefilter("always", RuntimeWarning)
            yield
    finally:
        for w in caught:
            if issubclass(w.category, RuntimeWarning):
                events.append(one_line(str(w.message), 120))
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _kinds(events: list[str]) -> str:
    """``["overflow", "overflow", "invalid value"]`` -> ``"errors (overflow, invalid value)"``."""
    kinds = list(dict.fromkeys(events))
    shown = ", ".join(kinds[:4]) + (f" and {len(kinds) - 4} more" if len(kinds) > 4 else "")
    return f"errors ({shown})"


def _check_finite_fit(out: dict, law) -> None:
    """A fit whose parameters or objective are not finite has no result to report."""
    bad = [f"{k} = {v}" for k, v in out["params"].items() if not math.isfinite(v)]
    if not math.isfinite(out["objective"]):
        bad.append(f"objective = {out['objective']}")
    if bad:
        raise WorkbenchError(
            f"law {law.name!r}: the fit ended at values that are not finite ({', '.join(bad[:4])}); "
            "the data's values are too extreme for this law, check their units"
        )


def _nonfinite_paths(obj, path: str = "") -> Iterator[str]:
    """Where ``obj`` (nested dicts and lists) holds a float that is not finite, as ``predictions[0].loss``."""
    if isinstance(obj, float):
        if not math.isfinite(obj):
            yield path or "value"
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from _nonfinite_paths(value, f"{path}.{key}" if path else str(key))
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            yield from _nonfinite_paths(value, f"{path}[{i}]")


def _finite_copy(obj):
    """``obj`` with every non-finite float replaced by ``None`` (JSON ``null``)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {key: _finite_copy(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite_copy(value) for value in obj]
    return obj


def _strict_json(obj) -> str:
    """JSON a strict parser reads: never ``NaN`` or ``Infinity`` (they become ``null``; callers say where)."""
    return json.dumps(_finite_copy(obj), indent=2, allow_nan=False)


def _format_fit(out: dict, law) -> str:
    lines = [f"law: {law.name}  ({law.title})", f"data: {out['data']['summary']}"]
    if "per_group" in out["data"]:
        pg = out["data"]["per_group"]
        lines.append(f"per group of {pg['column']}: {', '.join(pg['groups'])}")
    lines.append(f"objective: {out['objective']:.10g}  [{out['loss']}]  fit time: {out['fit_seconds'] * 1000:.1f} ms")
    marks: dict[str, list[str]] = {}
    for flag in out["flags"]:
        if flag["parameter"]:
            marks.setdefault(flag["parameter"], []).append(flag["label"])
    level = f"{out['ci_level']:.0%}" if "ci_level" in out else ""
    for name, value in out["params"].items():
        ci = out.get("ci", {}).get(name)
        extra = f"   {level} CI [{ci[0]:.6g}, {ci[1]:.6g}]" if ci else ""
        mark = f"   <- {'; '.join(marks[name])}" if name in marks else ""
        lines.append(f"  {name:>8} = {value:.6g}{extra}{mark}")
    for p in out["predictions"]:
        where = "extrapolates" if p["extrapolates"] else "interpolates"
        groups = out["data"].get("per_group", {}).get("groups", [])
        inputs = ", ".join(
            f"{v}={groups[int(p[v])]}" if groups and v == law.variables[-1] else f"{v}={p[v]:.4g}"
            for v in law.variables
        )
        ci = f" [{level} CI {p['ci'][0]:.6g}, {p['ci'][1]:.6g}]" if "ci" in p else ""
        caution = f" (caution: fit has warnings: {'; '.join(p['warnings'])})" if p["warnings"] else ""
        lines.append(f"  predict {inputs}: {law.target} = {p[law.target]:.6g}{ci}{_pi_text(p)} ({where}){caution}")
    if "calibration" in out:
        lines.append(f"calibration: {out['calibration']['method']}")
    if "backtest" in out:
        b = out["backtest"]
        lines.append(
            f"backtest [{b['holdout']}]: fitted on {b['n_train']}, scored on {b['n_test']}: "
            f"mean |log error| {b['mae_log']:.4f} ({b['mean_abs_pct']:.2f} %), bias {b['bias_log']:+.4f}, "
            f"up to {b['max_decades_beyond_data']:.2f} decades beyond the training data"
        )
    if "grouping" in out and "verdict" in out["grouping"]:
        gr = out["grouping"]
        lines.append(f"one law for all vs one per group of {gr['by']} ({gr['loss']} fits): {gr['verdict']}")
    if "sharing" in out and "verdict" in out["sharing"]:
        sh = out["sharing"]
        lines.append(f"shared vs separate exponents across {sh['by']} ({sh['loss']} fits): {sh['verdict']}")
        for row in sh["exponents"]:
            each = ", ".join(f"{g} {row[g]:.4g}" for g in sh["groups"])
            lines.append(f"  {row['parameter']}: shared {row['shared']:.4g}; separately {each}")
    lines.extend(f"warning: {w}" for w in out["warnings"])
    return "\n".join(lines)


def _emit(rows: list[dict], as_json: bool, line) -> int:
    """Print a listing: the rows as JSON, or one ``line(row)`` each."""
    print(_strict_json(rows) if as_json else "\n".join(line(r) for r in rows))
    return 0


def cmd_list_laws(args) -> int:
    from workbench.laws import LAWS

    rows = [
        {
            "name": law.name,
            "title": law.title,
            "variables": list(law.variables),
            "parameters": list(law.names),
            "latex": law.latex,
            "presets": [
                {"name": p.name, "origin": p.origin, "label": p.label, "locator": p.locator, "values": dict(p.values)}
                for p in law.presets
            ],
        }
        for law in LAWS.values()
    ]

    def line(r: dict) -> str:
        head = f"{r['name']:<14} {r['title']}  ({', '.join(r['variables'])} -> {', '.join(r['parameters'])})"
        # "published" only for constants printed in the paper; other origins are named as they are
        return "\n".join([head, *(f"    preset {p['name']} ({p['label']}: {p['locator']})" for p in r["presets"])])

    return _emit(rows, args.json, line)


def cmd_sources(args) -> int:
    from workbench import corpus
    from workbench.corpus.schema import AXES

    def row(src, kind: str, **extra) -> dict:
        df = corpus.load(src.id)
        return {
            "id": src.id,
            "kind": kind,
            "rows": df.height,
            "axes": [a for a in AXES if df[a].null_count() < df.height],
            "metrics": sorted(df["metric"].unique().to_list()),
            "licence": src.licence,
            "citation": src.citation,
            "how_obtained": src.how_obtained,
            **extra,
        }

    rows = [
        row(src, "published", arxiv=list(src.arxiv), subsets=_subset_rows(src)) for src in corpus.sources().values()
    ]
    if args.proxies:
        from workbench.corpus.proxy_sources import proxy_sources

        rows += [row(src, "proxy", arxiv=[], presets=list(src.presets)) for src in proxy_sources().values()]
    return _emit(rows, args.json, _source_line)


def _subset_rows(src) -> list[dict]:
    """Each named subset of a source with the rows it keeps of the source's final losses."""
    from workbench import corpus

    if not src.subsets:
        return []
    points = corpus.loss_points(src.id)
    return [
        {
            "name": s.name,
            "data": f"{src.id}:{s.name}",
            "rows": corpus.select_subset(points, s, src.id).height,
            "of": points.height,
            "rule": s.rule,
            "used_by": s.used_by,
            "reference": s.reference,
            "description": s.description,
        }
        for s in src.subsets
    ]


def _source_line(r: dict) -> str:
    text = (
        f"{r['id']:<28} {r['rows']:>7} rows  axes: {', '.join(r['axes'])}  licence: {r['licence']}\n    {r['citation']}"
    )
    for s in r.get("subsets", []):
        text += (
            f"\n    subset {s['data']}: {s['rows']} of {s['of']} points, {s['rule']}, as {s['used_by']} "
            f"({s['reference']})"
        )
    return text


def cmd_curate(args) -> int:
    from workbench.corpus import curate
    from workbench.corpus.sources import sources

    out_dir = Path(args.out)
    ids = args.source or list(sources())
    from_dir = Path(args.from_dir) if args.from_dir else None
    if from_dir is not None and not from_dir.is_dir():
        what = "not a folder" if from_dir.exists() else "no such folder"
        raise WorkbenchError(f"--from {quote(str(from_dir))}: {what}")
    for source_id in ids:
        report = curate.build_report(source_id, from_dir)
        path = curate.write(report.frame, out_dir / f"{source_id}.csv")
        left = ", ".join(f"{n} {why}" for why, n in report.dropped.items())
        print(f"{source_id}: {report.frame.height} rows -> {path}" + (f" (left out: {left})" if left else ""))
    return 0


def cmd_hub(args) -> int:
    from workbench.corpus import hub

    if args.hub_command == "pull":
        pulled = hub.pull(args.repo, args.revision)
        print(
            json.dumps(
                {"repo": pulled.repo_id, "revision": pulled.revision, "commit": pulled.commit, "path": str(pulled.path)}
            )
        )
    else:
        commit = hub.push_runs(args.file, args.repo, path_in_repo=args.path_in_repo, private=args.private)
        print(json.dumps({"repo": args.repo, "commit": commit}))
    return 0


def cmd_figures(args) -> int:
    import time

    from workbench.course import REQUIRES, load_all
    from workbench.course.inputs import missing_inputs
    from workbench.viz.export import export_figure

    out_dir = Path(args.out)
    registry = load_all()
    names = args.only or list(registry)
    unknown = [n for n in names if n not in registry]
    if unknown:
        listed = ", ".join(n if len(n) <= QUOTE_LIMIT else quote(n) for n in unknown[:12])  # long ones quoted, cut
        raise WorkbenchError(f"unknown figure(s) {listed}; known: {', '.join(registry)}")
    index = ["# Course figures", "", "| figure | notebook | files | caption |", "|---|---|---|---|"]
    skipped = []
    for name in names:
        missing = missing_inputs(REQUIRES.get(name, ()))
        if missing:  # declared inputs not in this checkout: say so, build the others
            skipped.append(name)
            print(f"{name}: skipped, missing {', '.join(missing)}")
            index.append(f"| {name} | — | — | skipped: missing {', '.join(missing)} |")
            continue
        t0 = time.perf_counter()
        fig = registry[name]()
        paths = export_figure(
            fig.chart,
            out_dir,
            name,
            tables=fig.tables,
            bibtex=fig.bibtex,
            formats=args.format,
            caption=fig.full_caption,
        )
        links = " ".join(f"[{p.suffix[1:]}]({p.name})" for p in paths)
        index.append(f"| {name} | {fig.notebook} | {links} | {fig.full_caption} |")
        print(f"{name}: {len(paths)} files in {time.perf_counter() - t0:.1f} s")
    (out_dir / "index.md").write_text("\n".join(index) + "\n", encoding="utf-8")
    print(f"index: {out_dir / 'index.md'}" + (f" ({len(skipped)} skipped for missing inputs)" if skipped else ""))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m workbench", description="Scaling-law workbench")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("fit", help="fit a law to a CSV/parquet file or a corpus source")
    p.add_argument(
        "--law",
        action=_Laws,
        help="law name (see --list-laws); repeat it to compare laws by rolling-origin backtests (a scoreboard)",
    )
    p.add_argument("--list-laws", action="store_true", help="list the laws and exit")
    p.add_argument(
        "--formula",
        metavar="TEXT",
        help="fit your own law, e.g. 'E + A/params**alpha + B/tokens**beta': names that are data columns are "
        "its variables, every other name a parameter; + - * / **, numbers and exp, log, sqrt, tanh, minimum, "
        "maximum (not with --law; a law file is --law FILE.toml)",
    )
    p.add_argument(
        "--bound",
        action="append",
        default=[],
        metavar="NAME=LO:HI",
        help="bounds of a parameter of --formula or a .toml law, e.g. alpha=0.01:2; repeatable",
    )
    p.add_argument(
        "--data", help="CSV/parquet with columns params, tokens, loss (aliases: N, D, L, ...), or a corpus source id"
    )
    p.add_argument(
        "--predict",
        action="append",
        default=[],
        metavar="N:D",
        help="point to predict, values in the law's variable order (for --formula, the order in which its "
        "variables first appear in the formula; the JSON's data.predict_order says it); repeatable",
    )
    p.add_argument(
        "--bootstrap",
        type=_whole("draws", 0, MAX_BOOTSTRAP),
        default=0,
        metavar="B",
        help=f"bootstrap draws for 95%% confidence intervals (0..{MAX_BOOTSTRAP})",
    )
    p.add_argument("--seed", type=_whole("seed", 0, MAX_SEED), default=0, help="bootstrap seed, 0..2**32-1 (default 0)")
    p.add_argument(
        "--loss", default="huber", choices=["huber", "squared", "asymmetric"], help="fitting loss on log residuals"
    )
    p.add_argument("--delta", type=_finite, default=1e-3, help="Huber delta (default 1e-3)")
    p.add_argument(
        "--weight", type=_finite, default=4.0, help="over-prediction weight of --loss asymmetric (default 4)"
    )
    p.add_argument(
        "--fix", action="append", default=[], metavar="NAME=VALUE", help="pin a parameter, e.g. E=1.69; repeatable"
    )
    p.add_argument(
        "--tie",
        action="append",
        default=[],
        metavar="A=B",
        help="make parameter A equal B, e.g. beta=alpha; repeatable",
    )
    p.add_argument(
        "--residuals",
        choices=["log", "linear"],
        default="log",
        help="fit residuals of log values (default) or of the values themselves, as curve_fit does",
    )
    p.add_argument(
        "--per-group",
        metavar="COLUMN",
        help="fit the law's coefficients separately for each value of COLUMN, exponents shared "
        "(parameters become E[group], ...; --predict then ends with a group name); also tests one law for all "
        "groups against one per group, and shared against separate exponents",
    )
    p.add_argument(
        "--holdout",
        metavar="EXPR",
        help="backtest: fit without the rows EXPR selects (e.g. 'flops>1e21') and score on them",
    )
    p.add_argument(
        "--calibrate",
        action="store_true",
        help="with --bootstrap: add to each prediction a 95%% prediction interval that includes model-form error, "
        "calibrated by rolling-origin backtests on the data",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_fit, laws=[])

    s = sub.add_parser("sources", help="list the corpus sources")
    s.add_argument("--json", action="store_true")
    s.add_argument(
        "--proxies",
        action="store_true",
        help="also list the workbench's own proxy runs (proxy:zipf, proxy:pystdlib, proxy:trap)",
    )
    s.set_defaults(func=cmd_sources)

    c = sub.add_parser("curate", help="rebuild curated tables from the original files")
    c.add_argument("--from", dest="from_dir", help="local folder with the raw files (e.g. a reference-data copy)")
    c.add_argument("--out", default="datasets", help="output folder (default datasets/)")
    c.add_argument("--source", action="append", help="only this source id; repeatable")
    c.set_defaults(func=cmd_curate)
    from workbench.proxies.cli import register as register_sweep

    register_sweep(sub)
    h = sub.add_parser("hub", help="pull a corpus or runs from the Hugging Face Hub, or push your runs")
    hs = h.add_subparsers(dest="hub_command", required=True)
    hp = hs.add_parser("pull", help="download a dataset repository at a pinned revision into the local cache")
    hp.add_argument("repo", help="owner/name of a dataset repository")
    hp.add_argument("--revision", required=True, help="commit (recommended), tag or branch")
    hu = hs.add_parser("push", help="validate a runs table against the corpus schema and upload it")
    hu.add_argument("file", help="CSV or parquet in the corpus schema")
    hu.add_argument("repo", help="owner/name of a dataset repository (created if missing)")
    hu.add_argument("--path-in-repo", default=None)
    hu.add_argument("--private", action="store_true")
    h.set_defaults(func=cmd_hub)

    f = sub.add_parser("figures", help="regenerate every course figure without Jupyter, with an index")
    f.add_argument("--out", required=True, help="output folder")
    f.add_argument("--only", action="append", help="only this figure; repeatable")
    f.add_argument("--format", action="append", choices=["png", "svg", "pdf"], help="formats (default all three)")
    f.set_defaults(func=cmd_figures, format=None)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "fit":
            if args.list_laws:
                return cmd_list_laws(args)
            if args.formula is not None and args.law:
                parser.error("--formula and --law are mutually exclusive; give one")
            if args.bound and len(args.laws) > 1:
                parser.error("--bound works with one law (--formula or one --law FILE.toml)")
            if not (args.law or args.formula is not None) or not args.data:
                parser.error("fit needs --law (or --formula) and --data (or --list-laws)")
        if args.command == "figures" and not args.format:
            args.format = ["png", "svg", "pdf"]
        return args.func(args)
    except WorkbenchError as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading: not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush does not fail too
        return 0


if __name__ == "__main__":
    sys.exit(main())
