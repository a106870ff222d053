"""Sweeps: determinism, kill-and-resume without loss or repetition, the CLI contract."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import polars as pl
import pytest

from workbench.proxies.config import RunConfig

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


def tiny(**kw) -> RunConfig:
    base = dict(
        corpus="zipf", width=16, depth=1, tokens=32_768, eval_tokens=4096, curve_points=4, curve_eval_tokens=1024
    )
    return RunConfig(**{**base, **kw})


def test_same_seed_same_losses_on_cpu():
    from workbench.proxies.train import train

    threads = __import__("torch").get_num_threads()
    try:
        a = train(tiny(seed=3), threads=1)
        b = train(tiny(seed=3), threads=1)
        c = train(tiny(seed=4), threads=1)
    finally:
        __import__("torch").set_num_threads(threads)
    losses = lambda r: [(p["eval_loss"], p["train_loss"]) for p in r["curve"]]  # noqa: E731
    assert losses(a) == losses(b)  # bit for bit
    assert losses(a) != losses(c)


SCRIPT = textwrap.dedent("""
    import sys
    from workbench.proxies.config import RunConfig
    from workbench.proxies.sweep import run_sweep
    cfgs = [RunConfig(corpus="zipf", width=16, depth=1, tokens=t, eval_tokens=4096, curve_points=3,
                      curve_eval_tokens=1024) for t in (8192, 16384, 24576, 32768, 40960, 49152)]
    if __name__ == "__main__":  # the pool spawns workers that re-import this file
        run_sweep(cfgs, sys.argv[1], preset="resume", workers=int(sys.argv[2]), progress=False)
""")


def test_a_killed_sweep_resumes_without_losing_or_repeating_runs(tmp_path):
    out = tmp_path / "sweep"
    script = tmp_path / "sweep.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [PY, str(script), str(out), "1"],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    runs = out / "runs"
    deadline = time.time() + 120
    try:
        while time.time() < deadline:
            if runs.exists() and len(list(runs.glob("*.json"))) >= 2:
                break
            if proc.poll() is not None:
                pytest.fail(f"sweep ended before it could be killed: {proc.stderr.read().decode()[-500:]}")
            time.sleep(0.05)
        else:
            pytest.fail("no run finished within 120 s")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its worker, mid-run
        proc.wait()
    finished = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in runs.glob("*.json")}
    assert 2 <= len(finished) < 6, "the kill should land mid-sweep"
    assert not (out / "results.csv").exists()
    (runs / ".deadbeef.json.abc.tmp").write_text("{torn")  # what a kill during a write leaves

    from workbench.proxies.sweep import run_sweep

    cfgs = [
        RunConfig(corpus="zipf", width=16, depth=1, tokens=t, eval_tokens=4096, curve_points=3, curve_eval_tokens=1024)
        for t in (8192, 16384, 24576, 32768, 40960, 49152)
    ]
    res = run_sweep(cfgs, out, preset="resume", workers=0, progress=False)
    assert res.summary["cached"] == len(finished)  # nothing finished was lost ...
    assert res.summary["trained"] == 6 - len(finished)  # ... or repeated
    for name, (mtime, data) in finished.items():
        assert (runs / name).stat().st_mtime_ns == mtime and (runs / name).read_bytes() == data
    assert not list(runs.glob(".*.tmp"))
    df = pl.read_csv(out / "results.csv")
    assert df.filter(pl.col("final") & (pl.col("metric") == "loss"))["run_id"].n_unique() == 6
    again = run_sweep(cfgs, out, preset="resume", workers=0, progress=False)
    assert again.summary["trained"] == 0 and again.summary["cached"] == 6


def test_pool_and_inline_agree(tmp_path):
    """A spawned one-thread worker and this process (one thread) give the same numbers."""
    from workbench.proxies.sweep import run_sweep

    cfg = [tiny(seed=5)]
    import torch

    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        inline = run_sweep(cfg, tmp_path / "a", workers=0, progress=False).results[0]
    finally:
        torch.set_num_threads(threads)
    pooled = run_sweep(cfg, tmp_path / "b", workers=1, progress=False).results[0]
    assert [p["eval_loss"] for p in inline["curve"]] == [p["eval_loss"] for p in pooled["curve"]]


def run_cli(*args, timeout=300):
    return subprocess.run([PY, "-m", "workbench", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_cli_sweep_json_and_resume(tmp_path):
    out = tmp_path / "smoke"
    first = run_cli("sweep", "--preset", "smoke", "--out", str(out), "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert set(report) == {"preset", "out", "summary", "verification"}
    s = report["summary"]
    assert s["runs"] == 3 and s["trained"] == 3 and s["tokens_per_second"] > 0 and 0 < s["mfu_6n"] < 1.5
    assert report["verification"]["passed"]
    second = run_cli("sweep", "--preset", "smoke", "--out", str(out))
    assert second.returncode == 0 and "0 trained now, 3 cached" in second.stdout


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--preset", "nope", "--out", "x"], "unknown preset"),
        (["--preset", "smoke", "--out", "x", "--threads", "0"], "--threads"),
    ],
)
def test_cli_sweep_errors_are_one_line(args, needle, tmp_path):
    r = run_cli("sweep", *[a if a != "x" else str(tmp_path / "o") for a in args])
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and needle in r.stderr


def test_cli_out_must_be_a_folder(tmp_path):
    f = tmp_path / "file"
    f.write_text("")
    r = run_cli("sweep", "--preset", "smoke", "--out", str(f))
    assert r.returncode == 2 and "not a folder" in r.stderr
