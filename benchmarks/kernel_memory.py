"""Kernel memory of every course notebook after Run All (target: at most 250 MB per kernel).

Binder gives a user about 2 GB, shared by the Jupyter server and every open notebook's
kernel, so a notebook's kernel has to stay small for a student to keep several open.
Each notebook is executed headless with nbclient, as ``tests/test_notebooks.py`` does,
in a scratch copy of ``notebooks/`` (its exports land there, not in the checkout), and
the memory of its kernel process (plus any child processes) is read with psutil from
the kernel's PID after every cell.  Printed per notebook: the resident set size (RSS)
after the last cell (the figure checked against the target), its anonymous part (what
the kernel allocated itself, as opposed to shared libraries) and the kernel's peak RSS
(its high-water mark from /proc, Linux only), then the worst notebook.  The corpus's
parquet store is built first, as ``binder/postBuild`` builds it when the image is made,
so no kernel pays for converting the shipped CSV tables (about 10 MB, once).

Run: .venv/bin/python benchmarks/kernel_memory.py [--only index 00_corpus_tour ...] [--timeout 300]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
TARGET_MB = 250.0
MB = 2**20


def memory_mb(pid: int) -> tuple[float, float]:
    """RSS and its anonymous part, of the kernel and its descendants (children count too).

    RSS is the figure checked against the target.  Its anonymous part (RSS less the
    file-backed pages, which are mostly the shared libraries of numpy, scipy, polars and
    friends, mapped once for all kernels) is what the kernel allocated itself: what
    each further open notebook adds on a machine already running one.
    """
    proc = psutil.Process(pid)
    rss = anon = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            info = p.memory_info()
        except psutil.NoSuchProcess:  # a child that ended between listing and reading
            continue
        rss, anon = rss + info.rss, anon + info.rss - info.shared
    return rss / MB, anon / MB


def peak_mb(pid: int) -> float | None:
    """The kernel process's own high-water mark (VmHWM): a cell may peak and then free memory."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / MB
    except OSError:
        pass
    return None


def measure(path: Path, work: Path, timeout: float) -> dict:
    """Run All on the scratch copy of ``path``; memory is sampled after every executed cell."""
    nb = nbformat.read(work / path.name, as_version=4)
    samples: dict = {"rss": None, "anon": None, "peak": None, "error": ""}

    def on_cell_executed(**_):  # nbclient hook: runs while the kernel is still alive
        pid = client.km.provisioner.pid
        (samples["rss"], samples["anon"]), samples["peak"] = memory_mb(pid), peak_mb(pid)

    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        on_cell_executed=on_cell_executed,
        resources={"metadata": {"path": str(work)}},
    )
    t0 = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as exc:
        samples["error"] = str(exc).strip().splitlines()[-1][:80]
    samples["seconds"] = time.perf_counter() - t0
    samples["cells"] = sum(c.cell_type == "code" for c in nb.cells)
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="notebook stems to run (default: all)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per cell")
    args = parser.parse_args(argv)

    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    if args.only:
        notebooks = [p for p in notebooks if p.stem in args.only]
        missing = set(args.only) - {p.stem for p in notebooks}
        if missing:
            parser.error(f"no such notebook: {', '.join(sorted(missing))}")

    from workbench.corpus import build_store

    store = build_store()  # as binder/postBuild does: kernels read the parquet store, they do not build it
    print(f"load average {os.getloadavg()[0]:.2f}; python {sys.version.split()[0]}; parquet store built in {store}")
    print(f"{'notebook':<28}{'code cells':>11}{'seconds':>9}{'RSS MB':>9}{'anon MB':>9}{'peak MB':>9}")
    rows = {}
    with tempfile.TemporaryDirectory(prefix="kernel-memory-") as tmp:
        for path in notebooks:
            work = Path(tmp) / path.stem / "notebooks"  # a fresh copy each: no notebook sees another's exports
            shutil.copytree(path.parent, work, ignore=shutil.ignore_patterns("exports", ".ipynb_checkpoints"))
            r = rows[path.stem] = measure(path, work, args.timeout)
            rss, anon, peak = ("-" if r[k] is None else f"{r[k]:.0f}" for k in ("rss", "anon", "peak"))
            note = f"  ERROR: {r['error']}" if r["error"] else ""
            print(f"{path.stem:<28}{r['cells']:>11}{r['seconds']:>9.1f}{rss:>9}{anon:>9}{peak:>9}{note}", flush=True)

    measured = {k: r["rss"] for k, r in rows.items() if r["rss"] is not None}
    if measured:
        worst = max(measured, key=measured.get)
        over = sorted(k for k, v in measured.items() if v > TARGET_MB)
        print(f"\nworst notebook: {worst} at {measured[worst]:.0f} MB RSS after Run All")
        verdict = "met" if not over else f"NOT met ({len(over)} of {len(measured)} notebooks over)"
        print(f"target (<= {TARGET_MB:.0f} MB RSS per kernel after Run All): {verdict}")
    failed = [k for k, r in rows.items() if r["error"]]
    if failed:
        print(f"notebooks that raised (figures above are up to the failing cell): {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
