"""Run a grid of proxy trainings in a process pool, cached, atomic and resumable.

Why a pool of one-thread processes.  At these model sizes a training step is
a chain of small matrix products plus Python overhead that a second thread
cannot share: two single-thread workers finish more work than one process
using two threads (1.17x on the idle ``quick`` sweep, against a ceiling of
1.20x set by the measured 2-thread speed-ups; 1.3-4x when the machine is
shared, where a two-thread process degrades badly).  So the pool has one worker per available core
(``os.sched_getaffinity``; never a hard-coded count) and each worker pins
torch to ``threads`` (default 1) threads.  Workers are *spawned*, not forked:
a forked child inherits torch's thread pools in an undefined state.

Why it survives a kill.  Each run is identified by the hash of its config
(plus code version and corpus content hash) and writes
``<out>/runs/<key>.json`` itself, atomically (temporary file, fsync,
``os.replace``), the moment it finishes.  A sweep re-run on the same folder
loads the finished runs and trains only the missing ones: a kill loses at most
the runs that were in flight and repeats none that finished.  There is no
global state: everything a worker needs travels in its arguments.

From a script, call :func:`run_sweep` under ``if __name__ == "__main__":``
(spawned workers re-import the main module, as with any multiprocessing
pool); notebooks and ``python -m workbench sweep`` need nothing.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from workbench.errors import WorkbenchError
from workbench.proxies import results
from workbench.proxies.config import RunConfig
from workbench.proxies.results import atomic_write_text


def available_cpus() -> int:
    """Cores this process may run on (respects affinity masks and container limits where visible)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    return max(1, n)


def _load_run(path: Path, key: str) -> dict | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if data.get("key") == key else None


def _worker_init(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass


def _run_one(config: dict, key: str, path: str, measure_peak: bool = True) -> dict:
    """Train one config and write its result file; runs inside a worker."""
    from workbench.proxies.train import measure_peak as peak_fn
    from workbench.proxies.train import train

    cfg = RunConfig.from_dict(config)
    peak = peak_fn(0.3) if measure_peak else None
    result = train(cfg, peak_flops=peak)
    result["key"] = key
    atomic_write_text(Path(path), json.dumps(result))
    return result


@dataclass
class SweepResult:
    out: Path
    results: list[dict]
    frame: pl.DataFrame
    summary: dict
    failures: list[tuple[str, str]] = field(default_factory=list)


def _progress(total: int, initial: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit="run", disable=not enabled, dynamic_ncols=True)


def run_sweep(
    configs: Sequence[RunConfig],
    out: str | Path,
    *,
    preset: str = "custom",
    workers: int | None = None,
    threads: int = 1,
    progress: bool = True,
    on_result: Callable[[dict], None] | None = None,
) -> SweepResult:
    """Train every config not already cached under ``out``; return all results as rows.

    ``workers``: pool size (default: one per available core; ``0`` trains in
    this process, which is handy for debugging).  ``threads``: torch threads
    per worker.  Writes ``out/runs/<key>.json`` per run, then
    ``out/results.csv`` (corpus rows), ``out/summary.json`` and one line per
    invocation in ``out/history.jsonl`` (so a resume keeps the first timing).
    """
    from workbench.proxies import corpora
    from workbench.proxies.models import build, counts

    if not configs:
        raise WorkbenchError("the sweep has no runs")
    out = Path(out)
    runs_dir = out / "runs"
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WorkbenchError(f"cannot create output folder {runs_dir}: {exc}") from None
    for stale in runs_dir.glob(".*.tmp"):  # a write cut short by a kill
        stale.unlink(missing_ok=True)
    hashes = {c: corpora.get_corpus(c).info.content_hash for c in {cfg.corpus for cfg in configs}}
    keyed: dict[str, RunConfig] = {}
    for cfg in configs:
        keyed.setdefault(cfg.key(hashes[cfg.corpus]), cfg)
    ids = [(cfg.corpus, cfg.run_id()) for cfg in keyed.values()]  # rows are keyed by source (corpus) and run id
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise WorkbenchError(f"two different runs on {dup[0]} share the run id {dup[1]!r}; give them distinct labels")
    done: dict[str, dict] = {}
    for key in keyed:
        r = _load_run(runs_dir / f"{key}.json", key)
        if r is not None:
            done[key] = r
    cost = {k: counts(build(c.model)).flops_per_token * c.tokens for k, c in keyed.items()}
    pending = sorted((k for k in keyed if k not in done), key=lambda k: -cost[k])  # longest first
    n_workers = available_cpus() if workers is None else workers
    n_workers = min(n_workers, len(pending))
    failures: list[tuple[str, str]] = []
    fresh: list[dict] = []
    t0 = time.perf_counter()
    bar = _progress(len(keyed), len(done), f"sweep {preset}", progress)

    def finished(r: dict) -> None:
        done[r["key"]] = r
        fresh.append(r)
        bar.update(1)
        bar.set_postfix_str(f"{r['run_id']}: {r['stats']['tokens_per_second']:.0f} tok/s")
        if on_result is not None:
            on_result(r)

    try:
        if n_workers <= 0 and pending:
            for key in pending:
                try:
                    finished(_run_one(keyed[key].to_dict(), key, str(runs_dir / f"{key}.json")))
                except Exception as exc:  # keep going; report at the end
                    failures.append((keyed[key].run_id(), f"{type(exc).__name__}: {exc}"))
        elif pending:
            ctx = mp.get_context("spawn")
            with ProcessPoolExecutor(
                max_workers=n_workers, mp_context=ctx, initializer=_worker_init, initargs=(threads,)
            ) as pool:
                futures = {
                    pool.submit(_run_one, keyed[k].to_dict(), k, str(runs_dir / f"{k}.json")): k for k in pending
                }
                remaining = set(futures)
                try:
                    while remaining:
                        ready, remaining = wait(remaining, return_when=FIRST_COMPLETED)
                        for fut in ready:
                            try:
                                finished(fut.result())
                            except Exception as exc:
                                failures.append((keyed[futures[fut]].run_id(), f"{type(exc).__name__}: {exc}"))
                except BaseException:
                    pool.shutdown(wait=False, cancel_futures=True)
                    raise
    finally:
        bar.close()
    wall = time.perf_counter() - t0
    ordered = [done[k] for k in keyed if k in done]
    frame = results.to_frame(r for res in ordered for r in results.rows(res, preset))
    summary = summarise(fresh, ordered, wall, n_workers, threads, preset)
    summary["failures"] = [{"run": r, "error": e} for r, e in failures]
    results.write_csv(frame, out / "results.csv")
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2))
    with open(out / "history.jsonl", "a") as log:  # every invocation, so a resume keeps the first timing
        log.write(json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S"), **summary}) + "\n")
    return SweepResult(out=out, results=ordered, frame=frame, summary=summary, failures=failures)


def summarise(fresh: list[dict], all_results: list[dict], wall: float, workers: int, threads: int, preset: str) -> dict:
    """Runs, wall time, aggregate tokens/s and model-FLOPs utilisation of the runs trained now."""
    tokens = sum(r["stats"]["train_tokens"] for r in fresh)
    flops = sum(r["stats"]["model_flops_6n"] for r in fresh)
    peaks = [r["stats"]["peak_flops"] for r in fresh if r["stats"].get("peak_flops")]
    busy = sum(r["stats"]["wall_seconds"] for r in fresh)
    every = sum(r["stats"]["wall_seconds"] for r in all_results)
    machine_peak = (sum(peaks) / len(peaks)) * max(1, workers) if peaks else None
    return {
        "preset": preset,
        "runs": len(all_results),
        "trained": len(fresh),
        "cached": len(all_results) - len(fresh),
        "workers": workers,
        "threads_per_worker": threads,
        "wall_seconds": wall,
        "busy_seconds": busy,
        "all_runs_busy_seconds": every,  # the runs' own wall time, cached ones included
        "train_tokens": tokens,
        "tokens_per_second": tokens / wall if fresh and wall > 0 else None,
        "model_flops_6n": flops,
        "mfu_6n": (flops / wall / machine_peak) if fresh and machine_peak and wall > 0 else None,
        "mean_run_mfu_6n": (sum(r["stats"]["mfu_6n"] for r in fresh if r["stats"].get("mfu_6n")) / len(peaks))
        if peaks
        else None,
        "peak_flops_per_worker": (sum(peaks) / len(peaks)) if peaks else None,
        "loadavg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
