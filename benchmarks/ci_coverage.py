"""Coverage of 95 % bootstrap intervals on synthetic truth (>= 200 seeds).

Truth: the Chinchilla law with Besiroglu et al.'s constants.  Designs: the
(N, D) points of Hoffmann's Figure 4 as digitised by Epoch (245 runs), with
log-normal noise of the size the real points show around the fit (robust
sigma of the log residuals), and a small 7 x 7 grid with 2 % noise.  Prints
the share of seeds whose interval contains the true value, per constant, with
its binomial standard error.

Run: .venv/bin/python benchmarks/ci_coverage.py [--seeds 200] [--draws 1000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from workbench import corpus
from workbench.fit import fit
from workbench.fit.coverage import coverage
from workbench.laws import CHINCHILLA
from workbench.laws.chinchilla import BESIROGLU_2024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--draws", type=int, default=1000)
    args = parser.parse_args()
    points = corpus.loss_points("chinchilla_epoch", subset="besiroglu2024")
    real = fit(CHINCHILLA, points)
    resid = np.log(real.predict(points)) - np.log(points["loss"].to_numpy())
    sigma = float(1.4826 * np.median(np.abs(resid - np.median(resid))))
    n, d = np.meshgrid(np.geomspace(5e7, 1.6e10, 7), np.geomspace(5e8, 3e11, 7))
    designs = {
        f"Epoch design, 240 points, noise {sigma:.4f}": (
            {"params": points["params"].to_numpy(), "tokens": points["tokens"].to_numpy()},
            sigma,
        ),
        "7 x 7 grid, 49 points, noise 0.02": ({"params": n.ravel(), "tokens": d.ravel()}, 0.02),
    }
    print(f"nominal level 0.95, {args.seeds} seeds, {args.draws} bootstrap draws per seed, Huber (delta 1e-3) fits")
    for name, (design, noise) in designs.items():
        t0 = time.perf_counter()
        cov = coverage(CHINCHILLA, BESIROGLU_2024.values, design, noise=noise, seeds=args.seeds, draws=args.draws)
        seconds = time.perf_counter() - t0
        print(f"\n{name}  ({seconds:.0f} s)")
        print(f"{'constant':>10}{'coverage':>10}{'± s.e.':>9}{'median width / truth':>24}")
        for k in CHINCHILLA.names:
            print(f"{k:>10}{cov.rates[k]:>10.3f}{cov.stderr(k):>9.3f}{cov.widths[k]:>24.3f}")


if __name__ == "__main__":
    main()
