"""Coverage of calibrated extrapolation intervals on real ladders: hold out the largest models, predict them.

Every corpus source with final losses is split into *ladders*: rows of one
evaluation set, training set and condition (a ladder mixes no data sets,
learning rates or number formats).  Every ladder with at least four model
sizes (``params``, sizes within 0.005 decades are one) is used.  The law:
Chinchilla ``E + A/N^alpha + B/D^beta`` where N and D both vary (some size
has several token counts), else a power law in N with an offset
(``power_offset_params``).

Per ladder the largest ``max(1, round(K/4))`` of its K sizes are held out.
The law is fitted on the rest and bootstrapped (the bootstrap-only 95 %
interval of each held-out prediction), and calibrated on the rest alone by
rolling-origin backtests (:mod:`workbench.analysis.calibrate`; origins fit on
at least 3 sizes, 2 when only 3 are left).  Each held-out row then scores
both intervals: covered or not, and the half-width as % of the predicted
loss.  The half-width "at 1 decade" is the calibration's widening at exactly
one decade beyond the fitted data (the bootstrap part, which depends on the
point, can only widen it).

Caveats printed with the figures: the rows of a ladder share one fit, and the
ladders of a source share models (Gadre's 8 evaluation sets score the same
runs), so the number of independent checks is far smaller than the number of
rows.

Run: .venv/bin/python benchmarks/calibration_coverage.py [--draws 200] [--sources a,b] [--ladders]
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from dataclasses import dataclass

import numpy as np
import polars as pl

from workbench import corpus
from workbench.analysis.calibrate import calibrate, calibrated_intervals, rolling_origin, size_levels
from workbench.errors import WorkbenchError
from workbench.fit import fit_problem, make_problem
from workbench.fit.problem import read_columns
from workbench.laws import get_law

LEVEL = 0.95
MIN_SIZES = 4
KEYS = ("eval_set", "train_set", "condition")  # a ladder is one value of each that the source fills
COVERAGE_TARGET = 0.90
WIDTH_TARGET = 3.0  # % of the predicted loss, at one decade


@dataclass
class Ladder:
    source: str
    label: str
    law: str
    sizes: int
    held_sizes: int
    errors: int = 0
    calibrated: bool = False
    covered_boot: int = 0
    covered_cal: int = 0
    rows: int = 0
    half_widths: tuple[float, ...] = ()  # % of the prediction, held-out rows
    decades: tuple[float, ...] = ()
    width_at_decade: float = math.nan  # % at one decade, the conformal widening
    refused: str = ""


def ladders(source_ids):
    """(source, label, rows) for every ladder with at least MIN_SIZES model sizes."""
    for sid in source_ids:
        try:
            frame = corpus.loss_points(sid)
        except WorkbenchError:
            continue  # no final losses
        if "params" not in frame.columns or frame["params"].null_count() == frame.height:
            continue
        frame = frame.drop_nulls(["params"])
        keys = [k for k in KEYS if frame[k].null_count() < frame.height]
        groups = frame.group_by(keys, maintain_order=True) if keys else [((), frame)]
        for key, rows in groups:
            if size_levels(rows["params"].to_numpy())[0].size >= MIN_SIZES:
                yield sid, " / ".join(str(k) for k in key) or "all rows", rows


def law_for(rows: pl.DataFrame):
    """Chinchilla where tokens vary at some model size, else a power law in params with an offset."""
    if rows["tokens"].null_count() == 0:
        _, size = size_levels(rows["params"].to_numpy())
        tokens = np.log10(rows["tokens"].to_numpy())
        if any(np.ptp(tokens[size == i]) > 0.005 for i in np.unique(size)):
            return get_law("chinchilla")
    return get_law("power_offset_params")


def run_ladder(sid: str, label: str, rows: pl.DataFrame, draws: int) -> Ladder:
    law = law_for(rows)
    levels, size = size_levels(rows["params"].to_numpy())
    k = levels.size
    held = max(1, round(k / 4))
    out = Ladder(sid, label, law.name, k, held)
    train, test = rows.filter(pl.Series(size < k - held)), rows.filter(pl.Series(size >= k - held))
    try:
        errors = rolling_origin(law, train, size="params", min_train_sizes=min(3, k - held - 1))
        result = fit_problem(make_problem(law, train)).bootstrap(draws=draws, seed=0, level=LEVEL)
    except WorkbenchError as exc:
        out.refused = str(exc)
        return out
    cal = calibrate(errors, LEVEL)
    cols, y = read_columns(law, test)
    points = [{v: float(cols[v][i]) for v in law.variables} for i in range(y.size)]
    intervals = calibrated_intervals(result, points, cal)
    out.errors, out.calibrated, out.rows = cal.n, cal.calibrated, y.size
    out.covered_boot = sum(pi.bootstrap_covers(v) for pi, v in zip(intervals, y))
    out.covered_cal = sum(pi.covers(v) for pi, v in zip(intervals, y))
    centre = result.predict(cols)
    out.half_widths = tuple(100 * (pi.hi - pi.lo) / 2 / c for pi, c in zip(intervals, centre))
    out.decades = tuple(pi.decades for pi in intervals)
    out.width_at_decade = 100 * math.sinh(float(cal.half_width(1.0)))
    return out


def share(k: int, n: int) -> str:
    return f"{k / n:6.1%} ({k}/{n})" if n else "   n/a"


def median(values) -> float:
    values = [v for v in values if math.isfinite(v)]
    return float(np.median(values)) if values else math.nan


def summary_row(name: str, group: list[Ladder]) -> str:
    used = [g for g in group if not g.refused]
    rows = sum(g.rows for g in used)
    laws = ", ".join(sorted({g.law for g in group}))
    cal = sum(g.calibrated for g in used)
    return (
        f"{name:<22}{len(group):>4}{len(used) - cal:>6}{len(group) - len(used):>5}{rows:>6}  "
        f"{share(sum(g.covered_boot for g in used), rows):>18}  {share(sum(g.covered_cal for g in used), rows):>18}"
        f"{median([d for g in used for d in g.decades]):>7.2f}{median([w for g in used for w in g.half_widths]):>8.1f}"
        f"{median([g.width_at_decade for g in used]):>8.1f}  {laws}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=200, help="bootstrap draws per ladder (default 200)")
    parser.add_argument("--sources", help="comma-separated source ids (default: every corpus source)")
    parser.add_argument("--ladders", action="store_true", help="also print every ladder")
    args = parser.parse_args()
    known = list(corpus.sources())
    ids = args.sources.split(",") if args.sources else known
    unknown = [i for i in ids if i not in known]
    if unknown:
        parser.error(f"unknown source {unknown[0]!r}; the sources are {', '.join(known)}")
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        results = [run_ladder(sid, label, rows, args.draws) for sid, label, rows in ladders(ids)]
    seconds = time.perf_counter() - t0
    print(
        f"nominal level {LEVEL}, {args.draws} bootstrap draws per ladder, Huber fits; {len(results)} ladder(s) "
        f"with >= {MIN_SIZES} model sizes; the largest quarter of each ladder's sizes held out ({seconds:.0f} s)"
    )
    print(
        "law per ladder: chinchilla where N and D both vary, power_offset_params where D is tied to N; "
        "uncal = ladders with too few backtest errors for 95 % (the largest error is used, flagged)"
    )
    head = (
        f"{'source':<22}{'lad':>4}{'uncal':>6}{'ref':>5}{'rows':>6}  {'bootstrap-only cover':>18}  "
        f"{'calibrated cover':>18}{'dec':>7}{'hw %':>8}{'@1dec':>8}  law"
    )
    print(f"\n{head}\n{'-' * len(head)}")
    by_source: dict[str, list[Ladder]] = {}
    for r in results:
        by_source.setdefault(r.source, []).append(r)
    for sid, group in by_source.items():
        print(summary_row(sid, group))
    print(summary_row("all", results))
    calibrated = [r for r in results if r.calibrated]
    if calibrated:
        print(summary_row("all, calibrated only", calibrated))
    print(
        "\ncolumns: ladders, of them uncalibrated and refused; held-out rows; coverage of the bootstrap-only and of "
        "the calibrated 95 % interval; median decades beyond the fitted data; median half-width as % of the "
        "prediction at the held-out rows; median half-width at exactly 1 decade (the conformal widening)"
    )
    if args.ladders:
        print()
        for r in results:
            what = (
                f"refused: {r.refused}"
                if r.refused
                else (
                    f"{r.errors} errors{'' if r.calibrated else ' (uncal)'}, boot {r.covered_boot}/{r.rows}, "
                    f"cal {r.covered_cal}/{r.rows}, hw {median(r.half_widths):.1f} %, @1dec {r.width_at_decade:.1f} %"
                )
            )
            print(f"  {r.source} [{r.label}] {r.law}, {r.sizes} sizes, {r.held_sizes} held out: {what}")
    report_targets(results)


def report_targets(results: list[Ladder]) -> None:
    used = [r for r in results if not r.refused]
    rows = sum(r.rows for r in used)
    coverage = sum(r.covered_cal for r in used) / rows if rows else math.nan
    width = median([r.width_at_decade for r in used])
    met = "met" if coverage >= COVERAGE_TARGET else "NOT met"
    print(f"\ntarget (calibrated coverage >= 90 % at nominal 95 %): {met} ({coverage:.1%} of {rows} held-out rows)")
    met = "met" if width <= WIDTH_TARGET else "NOT met"
    print(f"target (median half-width <= 3 % of the predicted loss at 1 decade): {met} ({width:.1f} %)")
    print(
        "caveat: rows of a ladder share one fit and ladders of a source share models, so these shares rest on far "
        "fewer independent checks than rows"
    )


if __name__ == "__main__":
    main()
