"""The Ray backend against the local pool: same presets, same machine, same run of this script.

For each preset (default ``smoke`` and ``quick``), in fresh folders:

1. ``sweep --backend local`` (a pool of one-thread workers, one per available core);
2. ``sweep --backend ray`` with no address: a private Ray instance on 127.0.0.1 with the
   same number of CPUs, started and stopped by the sweep.

Both are run as ``python -m workbench sweep`` subprocesses, so each wall time includes
start-up (Python, torch, and for Ray connecting to a fresh instance).  Printed: each wall
time, the seconds Ray took to start and connect (from the sweep's summary), Ray's overhead
per run, ``(ray wall - local wall) / runs``, and whether the rows are identical (they
must be: seeded CPU runs).  The order of the two backends alternates between presets, so
a drift in the machine's load does not always favour the same one; the load average is
printed with every figure, since a shared machine inflates them all.

Run: .venv/bin/python benchmarks/ray_backend.py [--presets smoke quick] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def sweep(preset: str, out: Path, backend: str) -> dict:
    cmd = [sys.executable, "-m", "workbench", "sweep", "--preset", preset, "--out", str(out), "--json"]
    cmd += ["--backend", backend]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("RAY_ADDRESS", None)  # the local instance, not a cluster the shell happens to point at
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{preset} on {backend}: exit {proc.returncode}: {proc.stderr.strip()[-500:]}")
    summary = json.loads(proc.stdout)["summary"]
    rows = (out / "results.csv").read_bytes()
    return {
        "wall_seconds": wall,
        "sweep_seconds": summary["wall_seconds"],
        "runs": summary["runs"],
        "connect_seconds": summary["backend"].get("connect_seconds"),
        "loadavg": list(os.getloadavg()),
        "rows": rows,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", nargs="+", default=["smoke", "quick"])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    try:
        import ray  # noqa: F401
    except ImportError:
        sys.exit("benchmarks/ray_backend.py needs the cluster extra: pip install -e '.[cluster]'")
    report = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, preset in enumerate(args.presets):
            order = ("local", "ray") if i % 2 == 0 else ("ray", "local")
            got = {b: sweep(preset, Path(tmp) / f"{preset}-{b}", b) for b in order}
            local, ray_ = got["local"], got["ray"]
            runs = local["runs"]
            report[preset] = {
                "runs": runs,
                "order": list(order),
                "local_wall_seconds": local["wall_seconds"],
                "ray_wall_seconds": ray_["wall_seconds"],
                "ray_connect_seconds": ray_["connect_seconds"],
                "ray_overhead_per_run_seconds": (ray_["wall_seconds"] - local["wall_seconds"]) / runs,
                "ray_overhead_per_run_after_connect_seconds": (
                    ray_["wall_seconds"] - ray_["connect_seconds"] - local["wall_seconds"]
                )
                / runs,
                "rows_identical": local["rows"] == ray_["rows"],
                "loadavg_after": {b: got[b]["loadavg"] for b in order},
            }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(
        f"{'preset':8} {'runs':>4} {'local s':>8} {'ray s':>8} {'connect s':>9} {'overhead/run s':>15} "
        f"{'w/o connect':>11}  rows"
    )
    for preset, r in report.items():
        print(
            f"{preset:8} {r['runs']:4d} {r['local_wall_seconds']:8.1f} {r['ray_wall_seconds']:8.1f} "
            f"{r['ray_connect_seconds']:9.1f} {r['ray_overhead_per_run_seconds']:15.2f} "
            f"{r['ray_overhead_per_run_after_connect_seconds']:11.2f}  "
            f"{'identical' if r['rows_identical'] else 'DIFFER'}   (load after: "
            + ", ".join(f"{b} {v[0]:.1f}" for b, v in r["loadavg_after"].items())
            + ")"
        )
    same = all(r["rows_identical"] for r in report.values())
    print(f"rows identical on both backends: {'yes' if same else 'NO'} (target: yes, seeded CPU runs)")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
