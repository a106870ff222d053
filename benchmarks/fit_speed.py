"""Fit speed: the engine against the Epoch-style 4,500-start L-BFGS grid.

Both run here, in the same process, on the same data and the same objective
(summed Huber, delta 1e-3, of log residuals).  The reference is the procedure
of Hoffmann et al. (2022) as re-implemented by Besiroglu et al. (2024):
L-BFGS-B at scipy's default tolerances from each of 4,500 initialisations,
keeping the best.  Its best point is then polished at tight tolerances to give
the optimum the engine must match (to 1e-9 relative objective).

Run: .venv/bin/python benchmarks/fit_speed.py [--starts N]  (N < 4500 times a
subset and scales the per-start time to 4,500).
"""

from __future__ import annotations

import argparse
import statistics
import time

from workbench import corpus
from workbench.fit import fit_problem, make_problem
from workbench.fit.engine import multistart
from workbench.laws import CHINCHILLA
from workbench.laws.chinchilla import hoffmann_initial_grid

TIGHT = {"ftol": 1e-15, "gtol": 1e-13, "maxiter": 20000, "maxcor": 30}


def bench(name: str, data, starts: int) -> dict:
    problem = make_problem(CHINCHILLA, data)
    fit_problem(problem)  # warm-up (imports, caches)
    times = []
    for _ in range(7):
        t0 = time.perf_counter()
        engine = fit_problem(problem)
        times.append(time.perf_counter() - t0)
    engine_s = statistics.median(times)
    grid = list(hoffmann_initial_grid())
    step = max(1, len(grid) // starts)
    subset = grid[::step]
    t0 = time.perf_counter()
    reference = multistart(problem, subset)
    ref_s = (time.perf_counter() - t0) * len(grid) / len(subset)
    optimum = multistart(problem, [reference.params, engine.params], options=TIGHT)
    return {
        "data": name,
        "points": problem.y.size,
        "engine_ms": engine_s * 1e3,
        "reference_s": ref_s,
        "reference_starts_run": len(subset),
        "speedup": ref_s / engine_s,
        "engine_objective": engine.objective,
        "reference_objective": reference.objective,
        "optimum_objective": optimum.objective,
        "engine_vs_reference": (engine.objective - reference.objective) / reference.objective,
        "engine_vs_optimum": (engine.objective - optimum.objective) / optimum.objective,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=4500, help="initialisations of the reference actually run")
    args = parser.parse_args()
    points = corpus.loss_points("chinchilla_epoch")
    rows = [
        bench("all 245 Epoch points", points, args.starts),
        bench(
            "240 (Besiroglu: 5 highest-loss dropped)",
            corpus.loss_points("chinchilla_epoch", subset="besiroglu2024"),
            args.starts,
        ),
    ]
    print(
        f"{'data':<42}{'engine ms':>10}{'4500-start s':>14}{'speed-up':>10}{'engine obj':>22}"
        f"{'reference obj':>22}{'rel. diff':>11}{'vs optimum':>12}"
    )
    for r in rows:
        print(
            f"{r['data']:<42}{r['engine_ms']:>10.1f}{r['reference_s']:>14.1f}{r['speedup']:>9.0f}x"
            f"{r['engine_objective']:>22.16g}{r['reference_objective']:>22.16g}"
            f"{r['engine_vs_reference']:>11.1e}{r['engine_vs_optimum']:>12.1e}"
        )
    ok = all(
        r["speedup"] >= 1000 and r["engine_vs_reference"] <= 1e-12 and abs(r["engine_vs_optimum"]) <= 1e-9 for r in rows
    )
    print(
        f"target (>= 1000x faster, objective never worse, equal to the optimum to 1e-9): {'met' if ok else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
