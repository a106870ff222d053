"""Run a sweep's runs as Ray tasks: ``sweep --backend ray [--address ADDR]``.

Why Ray, and why this shape.  A class with a few machines, or a researcher
with a GPU node, needs an existing distributed scheduler, not a home-made one.
Each run is one Ray task that declares what it uses (``threads`` CPUs, and one
GPU for a CUDA run), is retried by Ray if its worker dies (``max_retries``),
and is *not* retried on an exception raised by training (training is
deterministic, so it would fail again).  The task only trains: it returns the
run's record to the driver, and the driver stores it exactly as the local pool
does (:func:`workbench.proxies.sweep.store_record`: the same atomic per-run
file under the same cache key, written under the same per-run lock).  So

* no shared filesystem is needed: workers need the workbench installed, not
  the output folder;
* resume works across backends: a sweep started with ``--backend local`` and
  finished with ``--backend ray`` (or the other way round) trains only what is
  missing, since both read and write the same ``runs/<key>.json``;
* a killed worker costs its run's time only: Ray runs the task again, and the
  driver writes a run once, when its result arrives.  Runs in flight hold
  their lock in the driver, so two sweeps on one folder still split the work.

The driver checks every record it receives with
:func:`workbench.proxies.results.run_problem` against the corpus hash it
computed itself, so a worker with a different corpus or code cannot slip a
record in under the wrong key.

Where it runs.  ``address`` (or ``RAY_ADDRESS``) joins an existing cluster, used
as given.  Without one, a private local Ray instance is started for the sweep
and shut down after it; it binds to loopback only (``127.0.0.1``, with
``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` so Ray does not pick the machine's
interface address) and has no dashboard.  Ray is an optional extra
(``pip install -e '.[cluster]'``); without it the sweep stops with that hint.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, redirect_stdout
from pathlib import Path

from workbench.errors import WorkbenchError

INSTALL_HINT = "install the cluster extra: pip install -e '.[cluster]' (from a clone) or pip install ray"
MAX_RETRIES = 3  # Ray re-runs a task this many times when its worker or node dies
CONNECT_TIMEOUT_SECONDS = 5.0  # the address must accept a TCP connection within this
_TASK_NAME = "train_proxy_run"  # the worker's process title while it trains (``ray::train_proxy_run``)
# "Token authentication is enabled for this Ray cluster": true, and said by the sweep's report instead
_NOTICES = ("ray._private.authentication.authentication_token_setup",)
_LOOPBACK_ENV = {
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",  # bind the local instance to the address given, 127.0.0.1
    "RAY_USAGE_STATS_ENABLED": "0",  # no usage reports from an offline machine
}


def import_ray():
    """The ``ray`` module, or a one-line error saying how to install the extra."""
    try:
        import ray
    except ImportError:
        raise WorkbenchError(f"--backend ray needs Ray, which is not installed; {INSTALL_HINT}") from None
    return ray


def cluster_address(address: str | None) -> str | None:
    """The cluster to join: ``address``, else ``RAY_ADDRESS``, else None (start a local instance)."""
    address = (address or os.environ.get("RAY_ADDRESS") or "").strip()
    return address or None


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_SECONDS) -> None:
    """Refuse an address where nothing accepts a connection, quickly (Ray itself waits a minute or more)."""
    if address in ("auto", "local"):
        return
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit():
        raise WorkbenchError(f"--address {address}: not HOST:PORT (e.g. 10.0.0.5:6379, the head's `ray start` port)")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as conn:
            speaks_grpc = _answers_http2(conn, timeout)
    except OSError as exc:
        why = "timed out" if isinstance(exc, socket.timeout) else (exc.strerror or str(exc))
        raise WorkbenchError(
            f"--address {address}: no Ray cluster answers there ({why}); start one with "
            f"`ray start --head --port {port}` on that machine, or leave out --address for a local Ray instance"
        ) from None
    if not speaks_grpc:
        raise WorkbenchError(
            f"--address {address}: something answers there, but not a Ray cluster (its head's GCS speaks gRPC); "
            f"check the port (`ray start --head` prints it, 6379 by default)"
        )


def _answers_http2(conn: socket.socket, timeout: float) -> bool:
    """True if the peer replies to an HTTP/2 connection preface with a SETTINGS frame, as every gRPC server does.

    Ray's GCS (and its client server) are gRPC servers; an HTTP/1 server, an
    SSH daemon or a database answers otherwise or not at all.  Without this
    check ``ray.init`` waits on such a port for minutes.
    """
    conn.settimeout(timeout)
    conn.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]))  # preface, empty SETTINGS
    try:
        head = conn.recv(9)
    except OSError:
        return False
    return len(head) >= 4 and head[3] == 0x4  # frame type 4: SETTINGS


@contextmanager
def _env(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables (only those not set already) for the duration; restore them after."""
    added = {k: v for k, v in values.items() if k not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for k in added:
            os.environ.pop(k, None)


@contextmanager
def _quiet(loggers: tuple[str, ...]) -> Iterator[None]:
    """Raise these loggers to ERROR for the duration (Ray's start-up notices are not the sweep's business)."""
    saved = {name: logging.getLogger(name).level for name in loggers}
    for name in loggers:
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


@contextmanager
def session(address: str | None, cpus: int) -> Iterator[dict]:
    """A connected Ray driver for one sweep; yields what it joined (address, CPUs, GPUs); disconnects after.

    ``address`` None starts a private local instance with ``cpus`` CPUs on
    loopback, shut down with the sweep.  Otherwise the cluster is joined as
    given and left running.
    """
    ray = import_ray()
    if ray.is_initialized():
        raise WorkbenchError("Ray is already initialised in this process; call ray.shutdown() first")
    if address is not None:
        check_reachable(address)
    options = {"logging_level": "warning", "log_to_driver": False}
    if address is None:
        options.update(address="local", num_cpus=cpus, include_dashboard=False, _node_ip_address="127.0.0.1")
    else:
        options["address"] = address
    with ExitStack() as stack:
        if address is None:
            stack.enter_context(_loopback_only())
        with _env({} if address is None else {"RAY_USAGE_STATS_ENABLED": "0"}), _quiet(_NOTICES):
            try:
                ray.init(**options)
            except Exception as exc:  # ConnectionError, an auth failure, a version mismatch...
                where = f"the Ray cluster at {address}" if address else "a local Ray instance"
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
                raise WorkbenchError(f"--backend ray: cannot connect to {where}: {first}") from None
        try:
            resources, nodes = ray.cluster_resources(), [n for n in ray.nodes() if n.get("Alive")]
            where = address or f"local instance ({', '.join(n['NodeManagerAddress'] for n in nodes)})"
            # Ray prints what its raylets report (a worker died, a task will be retried) on stdout, from a
            # thread: send it to stderr, where the progress bar is, so `--json` keeps stdout to the report
            with redirect_stdout(sys.stderr):
                yield {
                    "address": where,
                    "cpus": float(resources.get("CPU", 0.0)),
                    "gpus": float(resources.get("GPU", 0.0)),
                    "nodes": len(nodes),
                }
        finally:
            ray.shutdown()


@contextmanager
def _loopback_only() -> Iterator[None]:
    """Make the local instance bind to 127.0.0.1 only, for as long as it runs.

    Ray reads ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER`` once, when it is imported
    (``ray_constants.ENABLE_RAY_CLUSTER``); with it on (Linux's default) the
    node takes the machine's interface address whatever ``_node_ip_address``
    says, and its servers listen on every interface.  So the flag is turned
    off here for the session (and in the environment its processes inherit),
    and restored afterwards: a cluster joined later by this process gets
    Ray's own behaviour.
    """
    from ray._private import ray_constants

    before = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        with _env(_LOOPBACK_ENV):
            yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = before


def _train_task(config: dict, key: str, corpus_hash: str, threads: int, measure_peak: bool) -> tuple[str, dict]:
    """Body of one Ray task: pin torch's threads, train, return the record (the driver writes it)."""
    from workbench.proxies.sweep import train_record
    from workbench.proxies.toys import config_from_dict, is_toy

    cfg = config_from_dict(config)
    if not is_toy(cfg):
        import torch

        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:  # already set in this worker by an earlier task
            pass
    return train_record(cfg, key, corpus_hash, measure_peak)


def run_tasks(
    jobs: dict[str, tuple],
    order: list[str],
    tally,
    finished: Callable[[str, str, dict], None],
    *,
    threads: int,
    cluster: dict,
    lock_for: Callable[[Path], object],
    read_cached: Callable[[str], dict | None],
) -> None:
    """Train ``order``'s runs as Ray tasks, longest first; store each record as it arrives.

    ``jobs[key]`` is ``(config dict, key, path, corpus hash)``, as for the
    local pool.  At most twice the cluster's run slots are in flight, each
    holding its run's lock in this driver; a run another sweep holds is put
    back and waited for after the rest (then loaded, or trained if that sweep
    died first).
    """
    ray = import_ray()
    from filelock import Timeout

    from workbench.proxies import results
    from workbench.proxies.sweep import store_record

    def remote_for(key: str):
        cfg = tally.keyed[key]
        gpus = 1 if getattr(cfg, "device", "cpu") == "cuda" else 0
        return ray.remote(_train_task).options(
            name=_TASK_NAME, num_cpus=threads, num_gpus=gpus, max_retries=MAX_RETRIES, retry_exceptions=False
        )

    slots = max(1, int(cluster["cpus"] // max(1, threads)))
    window = max(2, 2 * slots)
    queue = [(k, False) for k in order]
    inflight: dict = {}  # ObjectRef -> (key, lock)

    def submit(key: str, wait_for_lock: bool) -> None:
        config, _, path, corpus_hash = jobs[key]
        lock = lock_for(Path(path))
        try:
            lock.acquire(timeout=-1 if wait_for_lock else 0)
        except Timeout:  # another sweep on this folder is training it: wait for it after the rest
            queue.append((key, True))
            return
        cached = read_cached(key)
        if cached is not None:  # finished meanwhile by another sweep
            lock.release()
            finished(key, "cached", cached)
            return
        ref = remote_for(key).remote(config, key, corpus_hash, threads, True)
        inflight[ref] = (key, lock)

    def receive(ref) -> None:
        key, lock = inflight.pop(ref)
        try:
            status, record = ray.get(ref)
            config, _, path, corpus_hash = jobs[key]
            problem = results.run_problem(record, tally.keyed[key], key, corpus_hash)  # divergence records too
            if problem:
                raise RuntimeError(f"the worker's record is not a valid run of this sweep: {problem}")
            store_record(Path(path), record)
        except Exception as exc:  # a task error, a worker lost more than MAX_RETRIES times, a bad record
            tally.fail(key, _short(exc))
            return
        finally:
            lock.release()
        finished(key, status, record)

    try:
        while queue or inflight:
            while queue and len(inflight) < window:
                key, wait_for_lock = queue.pop(0)
                if wait_for_lock and inflight:  # wait for our own runs before blocking on another sweep's
                    queue.insert(0, (key, True))
                    break
                submit(key, wait_for_lock)
            if inflight:
                ready, _ = ray.wait(list(inflight), num_returns=1)
                for ref in ready:
                    receive(ref)
    except BaseException:
        for ref, (_, lock) in list(inflight.items()):
            ray.cancel(ref, force=True)
            lock.release()
        raise


class RemoteRunError(RuntimeError):
    """A run that failed on a Ray worker, reduced to its last line."""


def _short(exc: BaseException) -> BaseException:
    """A Ray task error carries the worker's whole traceback; keep the final line (the error itself)."""
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    if not lines or not type(exc).__module__.startswith("ray"):
        return exc
    return RemoteRunError(f"on a Ray worker: {lines[-1][:300]}")
