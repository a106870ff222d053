"""Every benchmark runs from a fresh clone and prints its figures (tiny settings; the real runs are `make bench`)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT

CASES = {
    "fit_speed.py": (["--starts", "20"], "target (>= 1000x faster"),
    "fit_scaling.py": (["--sizes", "1000,10000", "--draws", "50"], "target (10^6 rows <= 10 s and <= 1 GB peak RSS)"),
    "ci_coverage.py": (["--seeds", "2", "--draws", "50"], "alpha"),
    "law_timing.py": (["--draws", "10"], "not checked (run with --draws 1000)"),
    "slider_latency.py": ([], "target (median <= 50 ms for every explorer)"),
    "proxy_throughput.py": (["--widths", "32", "--seconds", "0.3", "--sweep", "smoke"], "at most"),
    "kernel_memory.py": (["--only", "index"], "target (<= 250 MB RSS per kernel after Run All)"),
    "calibration_coverage.py": (["--sources", "chinchilla_epoch", "--draws", "20"], "target (calibrated coverage"),
    "formula_law.py": (["--repeats", "2"], "target (same constants to 1e-06 relative"),
    "ray_backend.py": (["--presets", "smoke"], "rows identical on both backends: yes"),
    "corpus_scan.py": (["--rows", "200000"], "target (one run's curve <= 1 s, every run's final loss <= 3 s)"),
}


def test_every_benchmark_is_covered():
    assert {p.name for p in (ROOT / "benchmarks").glob("*.py")} == set(CASES)


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(CASES))
def test_benchmark_runs_and_prints_its_figures(script):
    args, expected = CASES[script]
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert expected in proc.stdout, proc.stdout[-2000:]
    assert "Traceback" not in proc.stderr
