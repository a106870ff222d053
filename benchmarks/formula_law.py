"""A law typed as a formula against the same law registered in Python: same optimum, at what cost?

Issue 14's target: the Chinchilla formula typed by hand,
``E + A/params**alpha + B/tokens**beta``, must reach the registered
``chinchilla`` law's optimum on the 245 Epoch points (the same constants to
1e-6 relative) in at most 3x the registered law's fit time.  Both are fitted
here, in one process, on the same data and options; each fit is timed
``--repeats`` times (after a warm-up) and the medians are compared.  The
formula is parsed once, outside the timing: building a law is not fitting it.
Also printed: the time to build the law from its text (parsing, sympy
derivatives, linear detection) and the law file's fit (same bounds as the
registered law, so the same constants to the last digit).

Run: .venv/bin/python benchmarks/formula_law.py [--repeats 15]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from workbench import corpus
from workbench.fit import fit_problem, make_problem
from workbench.laws import CHINCHILLA, Law, resolve_law

FORMULA = "E + A/params**alpha + B/tokens**beta"
LAW_FILE = Path(__file__).resolve().parents[1] / "datasets" / "laws" / "chinchilla_by_hand.toml"
MAX_RATIO = 3.0
MAX_DIFFERENCE = 1e-6


def median_fit(law: Law, data, repeats: int):
    """The median fit time of ``law`` on ``data`` over ``repeats`` fits, and the last result."""
    problem = make_problem(law, data)
    result = fit_problem(problem)  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fit_problem(problem)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def largest_difference(a, b) -> float:
    return max(abs(a.params[k] / b.params[k] - 1.0) for k in b.params)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    data = corpus.loss_points("chinchilla_epoch")
    t0 = time.perf_counter()
    typed = Law.from_formula(FORMULA, ["params", "tokens"])
    build_s = time.perf_counter() - t0
    registered_s, registered = median_fit(CHINCHILLA, data, args.repeats)
    typed_s, typed_fit = median_fit(typed, data, args.repeats)
    file_s, file_fit = median_fit(resolve_law(str(LAW_FILE)), data, args.repeats)
    ratio = typed_s / registered_s
    diff = largest_difference(typed_fit, registered)
    print(f"data: chinchilla_epoch, {len(data)} points; median of {args.repeats} fits each")
    print(f"building the law from its text: {build_s * 1e3:.1f} ms (parse, sympy derivatives, linear detection)")
    print(f"{'law':<36}{'fit ms':>10}{'max rel. param diff':>22}")
    print(f"{'chinchilla (registered)':<36}{registered_s * 1e3:>10.1f}{'-':>22}")
    print(f"{'formula typed by hand':<36}{typed_s * 1e3:>10.1f}{diff:>22.2e}")
    file_diff = largest_difference(file_fit, registered)
    print(f"{'law file chinchilla_by_hand.toml':<36}{file_s * 1e3:>10.1f}{file_diff:>22.2e}")
    print(f"time ratio (formula / registered): {ratio:.2f}")
    for name in registered.params:
        print(f"  {name:>6}: registered {registered.params[name]:.10g}  formula {typed_fit.params[name]:.10g}")
    met = ratio <= MAX_RATIO and diff <= MAX_DIFFERENCE
    print(
        f"target (same constants to {MAX_DIFFERENCE:g} relative, fit time <= {MAX_RATIO:g}x the registered law's): "
        f"{'met' if met else 'NOT met'} (ratio {ratio:.2f}, difference {diff:.1e})"
    )


if __name__ == "__main__":
    main()
