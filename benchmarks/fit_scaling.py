"""Fit cost against table size: time and peak memory of a Chinchilla fit at 10^3 to 10^6 rows.

A researcher's checkpoint-level table has 10^5-10^6 rows.  Each size is
fitted in a fresh child process (data synthesised from Hoffmann et al.'s
constants with 2 % log-normal noise, a log-uniform design over 10^7-10^11
parameters and 10^8-10^12 tokens), which reports the fit's wall time and its
own peak RSS (``ru_maxrss``: imports and data included, so the honest figure
for "how much memory does this fit need") and CPU time (wall time on a shared
machine also counts other people's work).  A last child times a 1,000-draw
bootstrap of the 240 Besiroglu/Epoch points (``chinchilla_epoch:besiroglu2024``).

Targets on this machine: 10^6 rows in <= 10 s and <= 1 GB peak RSS, 10^5 rows
in <= 2 s, the 1,000-draw bootstrap in <= 2 s.

Run: .venv/bin/python benchmarks/fit_scaling.py [--sizes 1000,10000,100000,1000000] [--draws 1000]
(smaller sizes and fewer draws run quickly; targets whose case was not run are "not checked").
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np

TRUTH = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
NOISE = 0.02


def peak_rss_mb() -> float:
    """This process's peak resident set size in MB (Linux reports ru_maxrss in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic_table(rows: int, seed: int = 0) -> dict[str, np.ndarray]:
    from workbench.laws import CHINCHILLA

    rng = np.random.default_rng(seed)
    data = {"params": 10 ** rng.uniform(7, 11, rows), "tokens": 10 ** rng.uniform(8, 12, rows)}
    data["loss"] = CHINCHILLA.predict(data, TRUTH) * np.exp(rng.normal(0, NOISE, rows))
    return data


def child_fit(rows: int) -> dict:
    from workbench.fit import fit
    from workbench.laws import CHINCHILLA

    data = synthetic_table(rows)
    before = peak_rss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    result = fit(CHINCHILLA, data)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    worst = max(abs(result.params[k] - v) / v for k, v in TRUTH.items())
    return {
        "rows": rows,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_mb": peak_rss_mb(),
        "before_fit_mb": before,
        "converged": result.converged,
        "warnings": len(result.warnings),
        "worst_rel_error": worst,
        "evaluations": result.details.get("evaluations"),
    }


def child_bootstrap(draws: int) -> dict:
    from workbench import corpus
    from workbench.fit import fit
    from workbench.laws import CHINCHILLA

    result = fit(CHINCHILLA, corpus.loss_points("chinchilla_epoch", subset="besiroglu2024"))
    t0, c0 = time.perf_counter(), time.process_time()
    boot = result.bootstrap(draws=draws, seed=0)
    return {
        "draws": draws,
        "seconds": time.perf_counter() - t0,
        "cpu_seconds": time.process_time() - c0,
        "peak_mb": peak_rss_mb(),
        "unconverged": boot.details["bootstrap_unconverged"],
    }


def run_child(*args: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def verdict(ok: bool | None) -> str:
    return "not checked (size not run)" if ok is None else "met" if ok else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000,1000000", help="comma-separated row counts")
    parser.add_argument("--draws", type=int, default=1000, help="bootstrap draws on the 240 Epoch points")
    parser.add_argument("--child-rows", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-draws", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_rows:
        print(json.dumps(child_fit(args.child_rows)))
        return
    if args.child_draws:
        print(json.dumps(child_bootstrap(args.child_draws)))
        return
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    print(
        f"{'rows':>9}{'fit s':>9}{'CPU s':>8}{'peak RSS MB':>13}{'RSS before fit MB':>19}{'evaluations':>13}"
        "  worst rel. error"
    )
    by_size = {}
    for rows in sizes:
        r = run_child("--child-rows", str(rows))
        by_size[rows] = r
        if "error" in r:
            print(f"{rows:>9}  failed: {r['error']}")
            continue
        print(
            f"{rows:>9}{r['seconds']:>9.2f}{r['cpu_seconds']:>8.2f}{r['peak_mb']:>13.0f}{r['before_fit_mb']:>19.0f}"
            f"{str(r['evaluations']):>13}  {r['worst_rel_error']:.2e}"
            + ("" if r["converged"] and not r["warnings"] else f"  ({r['warnings']} warnings)")
        )
    boot = run_child("--child-draws", str(args.draws))
    if "error" in boot:
        print(f"\n{args.draws}-draw bootstrap failed: {boot['error']}")
    else:
        print(
            f"\n{args.draws}-draw bootstrap, 240 Epoch points: {boot['seconds']:.2f} s "
            f"({boot['cpu_seconds']:.2f} s CPU), peak RSS {boot['peak_mb']:.0f} MB, {boot['unconverged']} unconverged"
        )

    def check(rows, seconds, mb=None):
        r = by_size.get(rows)
        if r is None:
            return None
        return "error" not in r and r["seconds"] <= seconds and (mb is None or r["peak_mb"] <= mb)

    print(f"target (10^6 rows <= 10 s and <= 1 GB peak RSS): {verdict(check(1_000_000, 10.0, 1024.0))}")
    print(f"target (10^5 rows <= 2 s): {verdict(check(100_000, 2.0))}")
    boot_ok = None if args.draws < 1000 else "error" not in boot and boot["seconds"] <= 2.0
    print(f"target (1,000-draw bootstrap on the 240 Epoch points <= 2 s): {verdict(boot_ok)}")


if __name__ == "__main__":
    main()
