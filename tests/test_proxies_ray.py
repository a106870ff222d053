"""The Ray backend of sweeps, against a real Ray head started here on loopback (no mocks).

What is checked: the ``smoke`` preset run through ``--address`` gives the rows
of the local backend, bit for bit; a sweep resumes across backends; a worker
killed mid-run is retried by Ray and no run is lost or stored twice; and a
missing extra or a dead address is one line and exit 2 within 30 s.

All Ray traffic stays on 127.0.0.1: the head is started with
``--node-ip-address 127.0.0.1`` and ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` (else
Ray resolves 127.0.0.1 to the machine's interface address), with token
authentication and a token made for this test session.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
import pytest

pytest.importorskip("ray", reason="the Ray backend needs the [cluster] extra (CI installs it)")

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
RAY = str(Path(PY).with_name("ray"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ray_env(token: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    return {
        **env,
        "PYTHONPATH": str(ROOT),
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": token,
        "RAY_USAGE_STATS_ENABLED": "0",
    }


@pytest.fixture(scope="module")
def ray_head():
    """A Ray head on 127.0.0.1 with 2 CPUs, in its own process group; yields (address, env); stopped after."""
    port, token = _free_port(), secrets.token_hex(32)
    env = _ray_env(token)
    temp = tempfile.mkdtemp(prefix="rayt", dir="/tmp")  # short: Ray's socket paths must fit 107 characters
    cmd = [RAY, "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--port", str(port)]
    cmd += ["--num-cpus", "2", "--include-dashboard=false", "--disable-usage-stats", "--temp-dir", temp]
    head = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if head.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the Ray head did not start (exit {head.poll()})")
                time.sleep(0.2)
        yield f"127.0.0.1:{port}", env
    finally:
        _stop_group(head)


def _stop_group(proc: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 3), (signal.SIGKILL, 5)):  # `ray start --block` may sit out a SIGTERM
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            time.sleep(0.5)  # let the rest of the group go
        except subprocess.TimeoutExpired:
            continue


def _sweep(out: Path, env: dict, *extra: str, timeout: float = 300) -> subprocess.CompletedProcess:
    cmd = [PY, "-m", "workbench", "sweep", "--preset", "smoke", "--out", str(out), "--json", *extra]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


def _rows(out: Path) -> pl.DataFrame:
    return pl.read_csv(out / "results.csv").sort("run_id", "step", "eval_set")


@pytest.fixture(scope="module")
def local_smoke(tmp_path_factory, ray_head):
    out = tmp_path_factory.mktemp("local") / "smoke"
    run = _sweep(out, ray_head[1])
    assert run.returncode == 0, run.stderr
    return out


def test_smoke_through_address_gives_the_local_rows(tmp_path, ray_head, local_smoke):
    address, env = ray_head
    run = _sweep(tmp_path / "ray", env, "--backend", "ray", "--address", address)
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)["summary"]
    assert summary["trained"] == 3 and summary["backend"]["backend"] == "ray"
    assert summary["backend"]["address"] == address and summary["backend"]["cpus"] == 2
    assert _rows(tmp_path / "ray").equals(_rows(local_smoke))  # seeded CPU runs: bit for bit
    assert {p.name for p in (tmp_path / "ray" / "runs").glob("*.json")} == {
        p.name for p in (local_smoke / "runs").glob("*.json")
    }  # same cache keys


def test_a_local_sweep_finishes_on_ray_and_back(tmp_path, ray_head, local_smoke):
    address, env = ray_head
    out = tmp_path / "mixed"
    shutil.copytree(local_smoke / "runs", out / "runs")  # what a local sweep stopped after one run leaves
    files = sorted((out / "runs").glob("*.json"))
    files[0].unlink()
    files[2].unlink()
    on_ray = _sweep(out, env, "--backend", "ray", "--address", address)
    assert on_ray.returncode == 0, on_ray.stderr
    s = json.loads(on_ray.stdout)["summary"]
    assert (s["trained"], s["cached"]) == (2, 1)
    back = _sweep(out, env)
    s = json.loads(back.stdout)["summary"]
    assert (s["trained"], s["cached"]) == (0, 3)
    assert _rows(out).equals(_rows(local_smoke))


def test_a_worker_killed_mid_run_is_retried_and_nothing_is_lost_or_stored_twice(tmp_path, ray_head, local_smoke):
    address, env = ray_head
    out = tmp_path / "killed"
    cmd = [PY, "-m", "workbench", "sweep", "--preset", "smoke", "--out", str(out), "--json"]
    cmd += ["--backend", "ray", "--address", address]
    sweep = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and sweep.poll() is None and time.monotonic() < deadline:
        found = subprocess.run(["pgrep", "-f", "ray::train_proxy_run"], capture_output=True, text=True).stdout.split()
        if found:
            killed = int(found[0])
            os.kill(killed, signal.SIGKILL)  # the worker dies while it trains a run
        time.sleep(0.05)
    stdout, stderr = sweep.communicate(timeout=300)
    assert killed is not None, "no Ray worker was seen training"
    assert sweep.returncode == 0, stderr
    assert stdout.lstrip().startswith("{"), f"stdout: {stdout[:500]!r}; stderr: {stderr[-1500:]!r}"
    summary = json.loads(stdout)["summary"]
    assert (summary["trained"], summary["runs"], summary["failures"]) == (3, 3, [])
    history = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert len(history) == 1 and history[0]["trained"] == 3  # each run stored once, by the driver
    assert len(list((out / "runs").glob("*.json"))) == 3 and not list((out / "runs").glob(".*.tmp"))
    assert _rows(out).equals(_rows(local_smoke))  # the killed run was trained again, from scratch, identically
    again = _sweep(out, env, "--backend", "ray", "--address", address)
    assert json.loads(again.stdout)["summary"]["trained"] == 0


def test_a_dead_address_is_one_line_and_exit_2_within_30_s(tmp_path, ray_head):
    env = ray_head[1]
    t0 = time.monotonic()
    run = _sweep(tmp_path / "dead", env, "--backend", "ray", "--address", f"127.0.0.1:{_free_port()}", timeout=60)
    assert time.monotonic() - t0 < 30
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "no Ray cluster answers there" in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "dead").exists()  # refused before anything is written


def test_a_port_that_is_not_ray_is_refused_within_30_s(tmp_path, ray_head):
    import http.server
    import threading

    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        t0 = time.monotonic()
        address = f"127.0.0.1:{server.server_address[1]}"
        run = _sweep(tmp_path / "web", ray_head[1], "--backend", "ray", "--address", address, timeout=60)
        assert time.monotonic() - t0 < 30  # ray.init alone would wait on it for minutes
    finally:
        server.shutdown()
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "not a Ray cluster" in run.stderr and len(run.stderr.strip().splitlines()) == 1


def test_without_the_extra_ray_is_refused_with_the_install_line_within_30_s(tmp_path):
    fake = tmp_path / "no_ray" / "ray"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError(\"No module named 'ray'\")\n")  # as if not installed
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(fake.parent), str(ROOT)])}
    t0 = time.monotonic()
    run = _sweep(tmp_path / "out", env, "--backend", "ray", timeout=60)
    assert time.monotonic() - t0 < 30
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "pip install -e '.[cluster]'" in run.stderr and len(run.stderr.strip().splitlines()) == 1


def test_address_without_the_ray_backend_is_refused(tmp_path):
    run = _sweep(tmp_path / "out", dict(os.environ), "--address", "127.0.0.1:6379", timeout=60)
    assert run.returncode == 2 and "--backend ray" in run.stderr and "Traceback" not in run.stderr


DIVERGE_ON_RAY = """
import sys
from workbench.proxies import presets
from workbench.proxies.config import RunConfig

TINY = dict(corpus="zipf", width=16, depth=1, tokens=8192, eval_tokens=4096, curve_points=3, curve_eval_tokens=1024)

def configs():
    return [RunConfig(**TINY), RunConfig(**TINY, lr=1e6, label="blowup")]  # NaN at the second step

presets.PRESETS["diverge"] = presets.Preset("diverge", "one run that diverges", 0.1, configs, presets._smoke_verify)
if __name__ == "__main__":
    from workbench.cli import main
    out, address = sys.argv[1], sys.argv[2]
    sys.exit(main(["sweep", "--preset", "diverge", "--out", out, "--backend", "ray", "--address", address, "--json"]))
"""


def test_a_run_that_diverges_on_a_worker_is_recorded_by_the_driver_and_not_retried(tmp_path, ray_head):
    address, env = ray_head
    script, out = tmp_path / "diverge.py", tmp_path / "out"
    script.write_text(DIVERGE_ON_RAY)
    run = subprocess.run([PY, str(script), str(out), address], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "1 run(s) diverged" in run.stderr and "blowup" in run.stderr and "failed" not in run.stderr
    summary = json.loads(run.stdout)["summary"]
    assert summary["trained"] == 2 and [d["run"] for d in summary["diverged"]] == ["gpt-w16-d1-t8.19k-cosine-s0-blowup"]
    record = json.loads(Path(summary["diverged"][0]["file"]).read_text())
    assert record["diverged"].startswith("loss became nan")  # stored by the driver, from the worker's record
    assert set(pl.read_csv(out / "results.csv")["run_id"]) == {"diverge/gpt-w16-d1-t8.19k-cosine-s0"}


def test_the_local_instance_listens_on_loopback_only(tmp_path):
    import psutil

    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}  # Ray's defaults: no loopback flag
    cmd = [PY, "-m", "workbench", "sweep", "--preset", "smoke", "--out", str(tmp_path / "out"), "--json"]
    sweep = subprocess.Popen([*cmd, "--backend", "ray"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = {}  # (process name, address) of every listening socket of the sweep's processes
    deadline = time.monotonic() + 120
    while sweep.poll() is None and time.monotonic() < deadline:
        try:
            procs = psutil.Process(sweep.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            break
        for proc in procs:
            try:
                for conn in proc.net_connections(kind="inet"):
                    if conn.status == psutil.CONN_LISTEN:
                        seen[(proc.name(), conn.laddr.ip)] = conn.laddr.port
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        time.sleep(0.2)
    stdout, stderr = sweep.communicate(timeout=120)
    assert sweep.returncode == 0, stderr
    names = {name for name, _ in seen}
    assert "gcs_server" in names and "raylet" in names, seen  # the instance was seen running
    outside = {k: v for k, v in seen.items() if k[1] not in ("127.0.0.1", "::ffff:127.0.0.1", "::1")}
    assert not outside, f"listening beyond loopback: {outside}"
    assert json.loads(stdout)["summary"]["backend"]["address"] == "local instance (127.0.0.1)"
