"""Run a grid of proxy trainings in a process pool, cached, atomic and resumable.

Why a pool of one-thread processes.  At these model sizes a training step is
a chain of small matrix products plus Python overhead that a second thread
cannot share: two single-thread workers finish more work than one process
using two threads (1.17x on the idle ``quick`` sweep, against a ceiling of
1.20x set by the measured 2-thread speed-ups; 1.3-4x when the machine is
shared, where a two-thread process degrades badly).  So the pool has one worker per available core
(``os.sched_getaffinity``; never a hard-coded count) and each worker pins
torch to ``threads`` (default 1) threads.  Workers are *spawned*, not forked:
a forked child inherits torch's thread pools in an undefined state.  Numpy toys
(:mod:`workbench.proxies.toys`) run through the same pool, cache and rows; a
sweep of toys only never imports torch.

Why it survives a kill.  Each run is identified by the hash of its config
(plus code version and corpus content hash) and writes
``<out>/runs/<key>.json`` itself, atomically (temporary file, fsync,
``os.replace``), the moment it finishes.  A sweep re-run on the same folder
loads the finished runs and trains only the missing ones: a kill loses at most
the runs that were in flight and repeats none that finished.  There is no
global state: everything a worker needs travels in its arguments.

Why it survives anything else.

* A cached file is trusted only if it passes :func:`results.run_problem`
  (a run object, its config the one its key was computed from, every field the
  rows need, finite losses).  Anything else (``[]``, a hand edit, a NaN) is
  named in a warning, counted in the summary (``invalid_cached``) and trained
  again, so a bad file never stops a resume.
* A run whose loss goes NaN or infinite is stored as a *divergence record*
  (``"diverged": why``), not as rows: NaN is an error in every corpus table,
  not data.  It is reported in the summary (``diverged``) and in
  ``SweepResult.failures`` (the CLI exits 2), and not trained again on resume
  (training is deterministic; delete the file to retry).
* Workers die with the sweep.  Each worker asks Linux to SIGKILL it when its
  parent dies (``PR_SET_PDEATHSIG``) and, on every system, watches its parent
  pid from a daemon thread: a killed sweep leaves no worker training for
  nobody.  SIGTERM (and Ctrl-C) make the sweep stop its workers and raise
  :class:`SweepInterrupted`; finished runs stay on disk.
* Sweeps share a folder safely.  A worker trains a run only while holding the
  run's lock (``runs/<key>.lock``, an OS file lock via ``filelock``, released
  by the kernel if its holder dies).  A run locked by another sweep is put
  back at the end of the queue and then waited for and loaded, so two sweeps
  on one folder split the work and both end with every run.

Beyond this machine.  ``backend="ray"`` trains each run as a Ray task on a
cluster (:mod:`workbench.proxies.ray_backend`); the task only trains, and this
process stores what comes back with the same files, keys and locks, so a
folder started on one backend resumes on the other.  ``device`` and
``autocast`` put torch runs on a GPU or under bf16
(:mod:`workbench.proxies.device`); they are part of a run's key.

From a script, call :func:`run_sweep` under ``if __name__ == "__main__":``
(spawned workers re-import the main module, as with any multiprocessing
pool); notebooks and ``python -m workbench sweep`` need nothing.
"""

from __future__ import annotations

import ctypes
import json
import multiprocessing as mp
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from workbench.errors import WorkbenchError
from workbench.proxies import results
from workbench.proxies.config import RunConfig
from workbench.proxies.results import atomic_write_text
from workbench.proxies.toys import config_from_dict, is_toy

BACKENDS = ("local", "ray")
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_PARENT_POLL_SECONDS = 0.2


class SweepInterrupted(KeyboardInterrupt):
    """A signal stopped the sweep; the runs that had finished are kept on disk.

    A ``KeyboardInterrupt`` so that ``except Exception`` does not swallow it.
    """

    def __init__(self, signum: int, message: str = "") -> None:
        super().__init__(signum, message)
        self.signum = signum
        self.message = message

    def __str__(self) -> str:
        return self.message or f"stopped by {signal.Signals(self.signum).name}"


def available_cpus() -> int:
    """Cores this process may run on (respects affinity masks and container limits where visible)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    return max(1, n)


def _read_run(path: Path, cfg: RunConfig, key: str, corpus_hash: str) -> tuple[dict | None, str | None]:
    """``(record, None)`` for a usable stored run, ``(None, why)`` for an unusable file, ``(None, None)`` for none."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or exc})"
    try:
        data = json.loads(raw)
    except ValueError as exc:  # torn, truncated or not text
        return None, f"is not JSON ({exc})"
    problem = results.run_problem(data, cfg, key, corpus_hash)
    return (None, problem) if problem else (data, None)


def _lock(path: Path):
    from filelock import FileLock

    return FileLock(str(path.with_suffix(".lock")))


def _remove_torn_writes(runs_dir: Path) -> None:
    """Delete temporary files that a killed writer left; keep those of a run another sweep holds (still in use)."""
    from filelock import Timeout

    for tmp in runs_dir.glob(".*.tmp"):  # .<key>.json.<random>.tmp
        lock = _lock(runs_dir / tmp.name[1:].split(".", 1)[0])
        try:
            lock.acquire(timeout=0)
        except Timeout:
            continue
        try:
            tmp.unlink(missing_ok=True)
        finally:
            lock.release()


def _worker_init(threads: int, parent: int, uses_torch: bool = True) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent stops the workers
    _die_with(parent)
    if not uses_torch:  # a sweep of numpy toys only: no torch to import or pin
        return
    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass


def _die_with(parent: int) -> None:
    """End this process as soon as ``parent`` is gone, however it went (SIGKILL included).

    Linux: the kernel sends SIGKILL when the parent dies (the thread that
    spawned the worker, which is the one waiting in :func:`run_sweep`).
    Everywhere: a daemon thread polls the parent pid, which also covers a
    parent that died before this line ran.
    """
    if sys.platform.startswith("linux"):
        try:
            args = (_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
            ctypes.CDLL(None, use_errno=True).prctl(ctypes.c_int(args[0]), *map(ctypes.c_ulong, args[1:]))
        except (OSError, AttributeError):
            pass
    threading.Thread(target=_watch_parent, args=(parent,), name="watch-parent", daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(_PARENT_POLL_SECONDS)
    os._exit(1)


def _run_one(
    config: dict, key: str, path: str, corpus_hash: str, wait_for_lock: bool = False, measure_peak: bool = True
) -> tuple[str, dict | None]:
    """Claim one run, train it and write its file; runs inside a worker (or inline).

    Returns ``("trained", result)``, ``("diverged", record)``, ``("cached",
    record)`` when another sweep finished it first, or ``("busy", None)`` when
    another sweep holds its lock and ``wait_for_lock`` is false.
    """
    from filelock import Timeout

    cfg, target = config_from_dict(config), Path(path)
    lock = _lock(target)
    try:
        lock.acquire(timeout=-1 if wait_for_lock else 0)  # 0: one try
    except Timeout:
        return "busy", None
    try:
        record, _ = _read_run(target, cfg, key, corpus_hash)
        if record is not None:
            return "cached", record
        return _train_and_store(cfg, key, target, corpus_hash, measure_peak)
    finally:
        lock.release()


def _train(cfg, measure_peak: bool) -> dict:
    """Train one run: a toy trains itself (numpy, no torch); a RunConfig is a torch proxy."""
    if is_toy(cfg):
        return cfg.train()
    from workbench.proxies.train import measure_peak_for, train

    return train(cfg, peak_flops=measure_peak_for(cfg) if measure_peak else None)  # the run's device and dtype


def _train_and_store(cfg: RunConfig, key: str, target: Path, corpus_hash: str, measure_peak: bool):
    status, record = train_record(cfg, key, corpus_hash, measure_peak)
    store_record(target, record)
    return status, record


def train_record(cfg, key: str, corpus_hash: str, measure_peak: bool = True) -> tuple[str, dict]:
    """Train one run and return ``("trained", result)`` or ``("diverged", record)``, writing nothing.

    This is all a remote worker does (:mod:`workbench.proxies.ray_backend`): the
    record travels back and the driver stores it, so no shared filesystem is needed.
    """
    try:
        result = _train(cfg, measure_peak)
        diverged = results.nonfinite_loss(result)
    except FloatingPointError as exc:  # train() stops at the first non-finite training loss
        result, diverged = None, str(exc)
    if diverged is not None:
        return "diverged", {"key": key, "config": cfg.to_dict(), "run_id": cfg.run_id(), "diverged": diverged}
    result["key"] = key
    problem = results.run_problem(result, cfg, key, corpus_hash)
    if problem:  # a bug in training or in the check: never store what a resume would reject
        raise RuntimeError(f"the trained run is not a valid record: {problem}")
    return "trained", result


def store_record(target: Path, record: dict) -> None:
    """Write a run's record atomically (temporary file, fsync, rename): a reader never sees half a file."""
    atomic_write_text(target, json.dumps(record))


@dataclass
class SweepResult:
    out: Path
    results: list[dict]
    frame: pl.DataFrame
    summary: dict
    failures: list[tuple[str, str]] = field(default_factory=list)  # runs with no rows: errors and divergences
    diverged: list[tuple[str, str]] = field(default_factory=list)  # (run id, why): the diverged subset of failures


@dataclass
class _Tally:
    """What the sweep found and did, by cache key."""

    keyed: dict[str, RunConfig]
    done: dict[str, dict] = field(default_factory=dict)  # usable runs
    diverged: dict[str, dict] = field(default_factory=dict)  # divergence records
    fresh: list[dict] = field(default_factory=list)  # runs this sweep trained
    trained: int = 0  # fresh runs plus divergences this sweep trained
    elsewhere: int = 0  # runs another sweep on the folder finished while this one waited
    errors: list[tuple[str, str]] = field(default_factory=list)  # (run id, exception)
    invalid: list[tuple[str, str]] = field(default_factory=list)  # (file, why): cached files not usable

    def add(self, key: str, status: str, data: dict) -> None:
        is_new = status in ("trained", "diverged")
        self.trained += is_new
        self.elsewhere += status == "cached"
        (self.diverged if "diverged" in data else self.done)[key] = data
        if status == "trained":
            self.fresh.append(data)

    def fail(self, key: str, exc: BaseException) -> None:
        self.errors.append((self.keyed[key].run_id(), f"{type(exc).__name__}: {exc}"))


def _warn_stderr(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


def _prepare_out(out: Path) -> Path:
    """``out/runs``, created; a file in the way or a folder that cannot be written is a one-line error."""
    if out.exists() and not out.is_dir():
        raise WorkbenchError(f"output folder {out}: exists and is not a folder")
    runs_dir = out / "runs"
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
        for folder in (out, runs_dir):
            with tempfile.TemporaryFile(dir=folder):
                pass
    except OSError as exc:
        raise WorkbenchError(f"cannot write to output folder {out}: {exc.strerror or exc}") from None
    return runs_dir


@contextmanager
def _signal_raises(signum: int) -> Iterator[None]:
    """While inside, ``signum`` raises :class:`SweepInterrupted` (main thread, and only over the default action)."""

    def handler(num, _frame):
        raise SweepInterrupted(num)

    install = threading.current_thread() is threading.main_thread() and signal.getsignal(signum) == signal.SIG_DFL
    previous = signal.signal(signum, handler) if install else None
    try:
        yield
    finally:
        if install:
            signal.signal(signum, previous)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Cancel the queued runs and end the workers now; their runs in flight are lost, finished ones are on disk."""
    procs = list((getattr(pool, "_processes", None) or {}).values())  # no public handle before Python 3.14
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        if proc.exitcode is None:
            proc.terminate()


def _run_pool(jobs: dict[str, tuple], order: list[str], n_workers: int, threads: int, tally, finished) -> None:
    ctx = mp.get_context("spawn")
    init = (threads, os.getpid(), any(not is_toy(tally.keyed[k]) for k in order))
    with ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx, initializer=_worker_init, initargs=init) as pool:
        try:
            futures = {pool.submit(_run_one, *jobs[k]): k for k in order}
            while futures:
                ready, _ = wait(futures, return_when=FIRST_COMPLETED)
                for fut in ready:
                    key = futures.pop(fut)
                    try:
                        status, data = fut.result()
                    except Exception as exc:
                        tally.fail(key, exc)
                        continue
                    if status == "busy":  # another sweep is training it: wait for it after the rest
                        futures[pool.submit(_run_one, *jobs[key], True)] = key
                    else:
                        finished(key, status, data)
        except BaseException:
            _stop_workers(pool)
            raise


def _run_inline(jobs: dict[str, tuple], order: list[str], tally, finished) -> None:
    queue = [(k, False) for k in order]
    while queue:
        key, wait_for_it = queue.pop(0)
        try:
            status, data = _run_one(*jobs[key], wait_for_it)
        except Exception as exc:  # keep going; report at the end
            tally.fail(key, exc)
            continue
        if status == "busy":
            queue.append((key, True))
        else:
            finished(key, status, data)


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
    warn: Callable[[str], None] | None = None,
    backend: str = "local",
    address: str | None = None,
    device: str | None = None,
    autocast: str | None = None,
) -> SweepResult:
    """Train every config not already cached under ``out``; return all results as rows.

    ``workers``: pool size (default: one per available core; ``0`` trains in
    this process, which is handy for debugging).  ``threads``: torch threads
    per worker.  ``warn``: called with one line per cached file that is not a
    usable run (default: printed on stderr).  Writes ``out/runs/<key>.json``
    per run, then ``out/results.csv`` (corpus rows), ``out/summary.json`` and
    one line per invocation in ``out/history.jsonl`` (so a resume keeps the
    first timing).  Raises :class:`SweepInterrupted` on SIGTERM (when this is
    the main thread and SIGTERM has its default action), after stopping the
    workers; the finished runs are kept.

    ``backend="ray"`` trains each missing run as a Ray task
    (:mod:`workbench.proxies.ray_backend`) on the cluster at ``address`` (or
    ``RAY_ADDRESS``), or on a local Ray instance with ``workers`` CPUs when
    neither is given; the files written are the same, so a sweep can be
    resumed on either backend.

    ``device`` (``"auto"``, ``"cpu"`` or ``"cuda"``) and ``autocast``
    (``"bf16"``) set every torch run's device and mixed precision
    (:func:`workbench.proxies.device.on_device`; ``auto`` is resolved here, on
    the driver); None keeps each config's own.  They are part of a run's
    config and cache key.  Locally, a CUDA sweep defaults to one worker (the
    workers would share one GPU); on Ray each CUDA run reserves one GPU.
    """
    from workbench.proxies import corpora

    if not configs:
        raise WorkbenchError("the sweep has no runs")
    if device is not None or autocast is not None:
        from workbench.proxies.device import on_device

        configs = on_device(configs, device or "cpu", autocast)
        if workers is None and backend == "local" and any(getattr(c, "device", "cpu") == "cuda" for c in configs):
            workers = 1
    if backend not in BACKENDS:
        raise WorkbenchError(f"unknown backend {backend!r}; choose one of: {', '.join(BACKENDS)}")
    if backend == "ray":
        from workbench.proxies.ray_backend import check_reachable, cluster_address, import_ray

        import_ray()  # a missing extra or a dead address is said before anything is written
        if cluster_address(address) is not None:
            check_reachable(cluster_address(address))
    elif address is not None:
        raise WorkbenchError("an address is for the Ray backend (--backend ray)")
    out = Path(out)
    runs_dir = _prepare_out(out)
    hashes: dict[str, str] = {}
    for cfg in configs:
        if cfg.corpus not in hashes:
            hashes[cfg.corpus] = _content_hash(cfg, corpora)
    keyed: dict[str, RunConfig] = {}
    for cfg in configs:
        keyed.setdefault(cfg.key(hashes[cfg.corpus]), cfg)
    ids = [(cfg.corpus, cfg.run_id()) for cfg in keyed.values()]  # rows are keyed by source (corpus) and run id
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise WorkbenchError(f"two different runs on {dup[0]} share the run id {dup[1]!r}; give them distinct labels")
    tally = _Tally(keyed)
    with _signal_raises(signal.SIGTERM):
        try:
            _load_cached(tally, runs_dir, hashes, warn or _warn_stderr)
            where = {"backend": backend, "address": address}
            wall, n_workers = _train_missing(
                tally, runs_dir, hashes, preset, workers, threads, progress, on_result, where
            )
            return _finish(tally, out, runs_dir, wall, n_workers, threads, preset, where)
        except SweepInterrupted as exc:
            kept = len(tally.done) + len(tally.diverged)
            raise SweepInterrupted(
                exc.signum,
                f"sweep stopped by {signal.Signals(exc.signum).name}: {kept} of {len(keyed)} runs are finished and "
                f"kept in {runs_dir}; run it again to resume",
            ) from None


def _content_hash(cfg, corpora) -> str:
    """What a run's cache key depends on besides its config: the corpus content, or a toy's code version."""
    return cfg.content_hash if is_toy(cfg) else corpora.get_corpus(cfg.corpus).info.content_hash


def _cost(cfg) -> float:
    """Relative cost of a run, to schedule the longest first."""
    if is_toy(cfg):
        return cfg.cost()
    from workbench.proxies.models import build, counts

    return counts(build(cfg.model)).flops_per_token * cfg.tokens


def _postfix(data: dict) -> str:
    """The progress bar's note on a run just trained."""
    tps = data["stats"].get("tokens_per_second")
    return f"{data['run_id']}: " + (f"{tps:.0f} tok/s" if tps is not None else f"{data['stats']['wall_seconds']:.1f} s")


def _load_cached(tally: _Tally, runs_dir: Path, hashes: dict[str, str], warn: Callable[[str], None]) -> None:
    """Take every usable cached run; name each unusable file (it is trained again)."""
    _remove_torn_writes(runs_dir)
    for key, cfg in tally.keyed.items():
        path = runs_dir / f"{key}.json"
        data, problem = _read_run(path, cfg, key, hashes[cfg.corpus])
        if data is not None:
            tally.add(key, "loaded", data)
        elif problem is not None:
            tally.invalid.append((str(path), problem))
            warn(f"{path}: not a usable cached run ({problem}); training it again")


def _train_missing(tally: _Tally, runs_dir, hashes, preset, workers, threads, progress, on_result, where):
    """Train the runs not found in the cache; return (wall seconds, workers used).

    ``where`` says the backend and address; for Ray it is completed with what
    the sweep joined (CPUs, GPUs, nodes) and the seconds it took to connect.
    """
    keyed = tally.keyed
    found = set(tally.done) | set(tally.diverged)
    cost = {k: _cost(c) for k, c in keyed.items()}
    pending = sorted((k for k in keyed if k not in found), key=lambda k: -cost[k])  # longest first
    jobs = {k: (keyed[k].to_dict(), k, str(runs_dir / f"{k}.json"), hashes[keyed[k].corpus]) for k in pending}
    n_workers = min(available_cpus() if workers is None else workers, len(pending))
    t0 = time.perf_counter()
    bar = _progress(len(keyed), len(found), f"sweep {preset}", progress)

    def finished(key: str, status: str, data: dict) -> None:
        tally.add(key, status, data)
        bar.update(1)
        if status == "trained":
            bar.set_postfix_str(_postfix(data))
            if on_result is not None:
                on_result(data)

    try:
        if where["backend"] == "ray" and pending:
            n_workers = _run_ray(jobs, pending, tally, finished, runs_dir, hashes, workers, threads, where)
        elif n_workers <= 0 and pending:
            _run_inline(jobs, pending, tally, finished)
        elif pending:
            _run_pool(jobs, pending, n_workers, threads, tally, finished)
    finally:
        bar.close()
    return time.perf_counter() - t0, n_workers


def _run_ray(jobs, pending, tally, finished, runs_dir, hashes, workers, threads, where) -> int:
    """The missing runs as Ray tasks; returns the cluster's run slots (CPUs / threads)."""
    from workbench.proxies import ray_backend

    address = ray_backend.cluster_address(where["address"])
    cpus = available_cpus() if not workers or workers < 0 else workers
    t0 = time.perf_counter()
    with ray_backend.session(address, cpus) as cluster:
        where.update(cluster, connect_seconds=time.perf_counter() - t0)

        def read_cached(key: str) -> dict | None:
            cfg = tally.keyed[key]
            return _read_run(runs_dir / f"{key}.json", cfg, key, hashes[cfg.corpus])[0]

        ray_backend.run_tasks(
            jobs, pending, tally, finished, threads=threads, cluster=cluster, lock_for=_lock, read_cached=read_cached
        )
    return max(1, int(where["cpus"] // threads))


def _finish(tally: _Tally, out: Path, runs_dir: Path, wall: float, n_workers: int, threads: int, preset: str, where):
    """Rows of the usable runs, the summary, and the files that record them."""
    keyed = tally.keyed
    ordered = [tally.done[k] for k in keyed if k in tally.done]
    frame = results.to_frame(r for res in ordered for r in results.rows(res, preset))
    diverged = [(keyed[k].run_id(), tally.diverged[k]["diverged"]) for k in keyed if k in tally.diverged]
    summary = summarise(tally.fresh, ordered, wall, n_workers, threads, preset)
    summary.update(
        backend=where,
        runs=len(keyed),
        trained=tally.trained,
        cached=len(tally.done) + len(tally.diverged) - tally.trained,
        trained_elsewhere=tally.elsewhere,
        invalid_cached=len(tally.invalid),
        invalid_cached_files=[{"file": f, "reason": why} for f, why in tally.invalid],
        diverged=[
            {"run": keyed[k].run_id(), "reason": tally.diverged[k]["diverged"], "file": str(runs_dir / f"{k}.json")}
            for k in keyed
            if k in tally.diverged
        ],
        failures=[{"run": r, "error": e} for r, e in tally.errors],
    )
    try:
        results.write_csv(frame, out / "results.csv")
        atomic_write_text(out / "summary.json", json.dumps(summary, indent=2))
        with open(out / "history.jsonl", "a") as log:  # every invocation, so a resume keeps the first timing
            log.write(json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S"), **summary}) + "\n")
    except OSError as exc:
        raise WorkbenchError(f"cannot write the sweep's results in {out}: {exc.strerror or exc}") from None
    failures = tally.errors + diverged
    return SweepResult(out=out, results=ordered, frame=frame, summary=summary, failures=failures, diverged=diverged)


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
