"""Sweeps that survive anything: a killed parent, a corrupted cache, a diverged run, a second sweep, a bad --out.

Every scenario ends the way an uninterrupted sweep ends: ``results.csv`` equal
to a plain run's, byte for byte (seeded one-thread CPU runs are deterministic,
which the first test checks with two plain sweeps).  The sweeps are the
``smoke`` preset (three tiny runs) through the real CLI, except where a test
needs a run that diverges, or retrains one file per case inline to stay fast.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import polars as pl
import pytest

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
RUNS = 3  # the smoke preset


def sweep_cmd(out: Path) -> list[str]:
    """One worker: the runs are tiny, each worker costs a torch import, and one worker leaves a queue to abandon."""
    return [PY, "-m", "workbench", "sweep", "--preset", "smoke", "--out", str(out), "--json", "--workers", "1"]


def start(out: Path) -> subprocess.Popen:
    return subprocess.Popen(sweep_cmd(out), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen, timeout: float = 240) -> tuple[int, dict | None, str]:
    """Exit code, the --json report (None if there is none) and stderr of a sweep process."""
    stdout, stderr = proc.communicate(timeout=timeout)
    return proc.returncode, (json.loads(stdout) if stdout.strip() else None), stderr


def run(out: Path) -> tuple[int, dict | None, str]:
    return finish(start(out))


@pytest.fixture(scope="module")
def plain(tmp_path_factory) -> dict:
    """Two uninterrupted sweeps in two folders (at the same time, to save wall time)."""
    outs = [tmp_path_factory.mktemp("plain") / "out" for _ in range(2)]
    procs = [start(o) for o in outs]
    done = [finish(p) for p in procs]
    for rc, _, err in done:
        assert rc == 0, err
    return {"outs": outs, "csv": [(o / "results.csv").read_bytes() for o in outs]}


@pytest.fixture(scope="module")
def baseline(plain) -> bytes:
    return plain["csv"][0]


def test_two_plain_sweeps_write_the_same_results_byte_for_byte(plain):
    a, b = plain["csv"]
    assert a == b and a.count(b"\n") > RUNS


# ---------------------------------------------------------------- processes
def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (psutil if installed, else /proc)."""
    try:
        import psutil
    except ImportError:
        children: dict[int, list[int]] = {}
        for d in Path("/proc").iterdir():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
        out, todo = [], [pid]
        while todo:
            kids = children.get(todo.pop(), [])
            out += kids
            todo += kids
        return out
    try:
        return [c.pid for c in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper has finished)."""
    try:
        import psutil
    except ImportError:
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_for_first_run(proc: subprocess.Popen, runs: Path, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while not (runs.exists() and any(runs.glob("*.json"))):
        if proc.poll() is not None:
            pytest.fail(f"the sweep ended before its first run was written: {proc.stderr.read()[-500:]}")
        if time.time() > deadline:
            proc.kill()
            pytest.fail(f"no run finished within {timeout} s")
        time.sleep(0.02)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_workers_die_with_their_parent_and_the_sweep_resumes(tmp_path, baseline, sig):
    out = tmp_path / "out"
    proc = start(out)
    wait_for_first_run(proc, out / "runs")
    workers = descendants(proc.pid)
    assert workers, "a pool sweep has worker processes"
    os.kill(proc.pid, sig)  # the parent only: its workers are left to notice
    proc.wait(timeout=60)  # not communicate(): a surviving worker holds the pipes open
    deadline = time.time() + 15
    while any(alive(p) for p in workers) and time.time() < deadline:
        time.sleep(0.05)
    survivors = [p for p in workers if alive(p)]
    for p in survivors:  # do not leave them running whatever the outcome
        os.kill(p, signal.SIGKILL)
    assert not survivors, f"processes {survivors} outlived the killed sweep"
    rc, report, stderr = finish(proc, timeout=30)
    kept = sorted(p.name for p in (out / "runs").glob("*.json"))
    assert 1 <= len(kept) < RUNS, "the workers went on training after the parent died"
    if sig == signal.SIGTERM:  # a clean stop: a one-line message, the conventional exit code, no report
        assert rc == 128 + signal.SIGTERM and report is None
        assert "Traceback" not in stderr and stderr.strip().count("\n") == 0
        said = re.search(r"stopped by SIGTERM: (\d+) of 3 runs are finished and kept", stderr)
        assert said and int(said[1]) <= len(kept)  # a run can reach the disk before the parent hears of it
    else:
        assert rc == -signal.SIGKILL
    assert not (out / "results.csv").exists()

    rc, report, stderr = run(out)
    assert rc == 0, stderr
    s = report["summary"]
    assert (s["cached"], s["trained"], s["invalid_cached"]) == (len(kept), RUNS - len(kept), 0)
    assert (out / "results.csv").read_bytes() == baseline
    assert not list((out / "runs").glob(".*.tmp"))


# ---------------------------------------------------------------- cache
def corrupt_nan(d: dict) -> dict:
    d["curve"][-1]["eval_loss"] = math.nan
    return d


def corrupt_no_config(d: dict) -> dict:
    del d["config"]
    return d


CORRUPTIONS = {
    "empty list": lambda d: [],
    "null": lambda d: None,
    "number": lambda d: 42,
    "missing config": corrupt_no_config,
    "NaN eval_loss": corrupt_nan,
}


def copy_runs(src: Path, dst: Path) -> list[Path]:
    shutil.copytree(src / "runs", dst / "runs", ignore=shutil.ignore_patterns("*.lock"))
    return sorted((dst / "runs").glob("*.json"))


@pytest.mark.parametrize("kind", list(CORRUPTIONS))
def test_a_corrupt_cached_run_is_named_counted_and_trained_again(tmp_path, plain, baseline, kind):
    """Inline (one thread, as a pool worker): the same numbers as the pool, without a second process."""
    import torch

    from workbench.proxies.presets import get_preset
    from workbench.proxies.sweep import run_sweep

    out = tmp_path / "out"
    files = copy_runs(plain["outs"][1], out)
    bad = files[1]
    bad.write_text(json.dumps(CORRUPTIONS[kind](json.loads(bad.read_text()))))
    warnings: list[str] = []
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        res = run_sweep(
            get_preset("smoke").configs(), out, preset="smoke", workers=0, progress=False, warn=warnings.append
        )
    finally:
        torch.set_num_threads(threads)
    assert len(warnings) == 1 and str(bad) in warnings[0] and "\n" not in warnings[0]
    s = res.summary
    assert (s["invalid_cached"], s["trained"], s["cached"]) == (1, 1, RUNS - 1)
    assert s["invalid_cached_files"][0]["file"] == str(bad)
    assert (out / "results.csv").read_bytes() == baseline
    assert json.loads(bad.read_text())["config"]  # replaced by a good run


def _other_config(d: dict) -> dict:
    d["config"]["width"] += 1
    return d


def _short_curve(d: dict) -> dict:
    d["curve"].pop()
    return d


def _string_loss(d: dict) -> dict:
    d["curve"][0]["train_loss"] = "4.2"
    return d


def _other_key(d: dict) -> dict:
    d["key"] = "0" * 20
    return d


def _bool_count(d: dict) -> dict:
    d["curve"][0]["eval_tokens"] = True
    return d


def _infinite_train_loss(d: dict) -> dict:
    d["curve"][-1]["train_loss"] = math.inf
    return d


@pytest.mark.parametrize(
    "corrupt,needle",
    [
        (_other_config, "config is not"),
        (_other_key, "is not the file's key"),
        (_short_curve, "not at the run's last step"),
        (_string_loss, 'train_loss is "4.2"'),
        (_bool_count, "eval_tokens is true"),
        (_infinite_train_loss, "train_loss is Infinity"),
        (lambda d: {**d, "stats": []}, "stats is [], not a dict"),
    ],
    ids=["other config", "other key", "short curve", "string loss", "bool count", "inf loss", "stats list"],
)
def test_the_run_schema_names_what_is_wrong(plain, corrupt, needle):
    """No training: the check itself, on a real run file, for faults a sweep must not turn into rows."""
    from workbench.proxies.config import RunConfig
    from workbench.proxies.results import run_problem

    path = sorted((plain["outs"][0] / "runs").glob("*.json"))[0]
    good = json.loads(path.read_text())
    cfg, key, corpus_hash = RunConfig.from_dict(good["config"]), path.stem, good["corpus"]["content_hash"]
    assert run_problem(good, cfg, key, corpus_hash) is None
    problem = run_problem(corrupt(json.loads(path.read_text())), cfg, key, corpus_hash)
    assert problem is not None and needle in problem and "\n" not in problem


def test_the_cli_warns_per_bad_file_and_counts_them_in_json(tmp_path, plain, baseline):
    out = tmp_path / "out"
    files = copy_runs(plain["outs"][0], out)
    files[0].write_text("42")
    files[2].write_text(json.dumps(corrupt_nan(json.loads(files[2].read_text()))))
    rc, report, stderr = run(out)
    assert rc == 0, stderr
    lines = [line for line in stderr.splitlines() if line.startswith("warning:")]
    assert len(lines) == 2 and all(any(str(f) in line for line in lines) for f in (files[0], files[2]))
    assert "eval_loss is NaN" in stderr
    s = report["summary"]
    assert (s["invalid_cached"], s["trained"], s["cached"]) == (2, 2, 1)
    assert (out / "results.csv").read_bytes() == baseline


# ---------------------------------------------------------------- divergence
TINY = dict(corpus="zipf", width=16, depth=1, tokens=8192, eval_tokens=4096, curve_points=3, curve_eval_tokens=1024)
BLOWUP = dict(lr=1e6, label="blowup")  # NaN at the second step
DIVERGE = textwrap.dedent(f"""
    import sys
    from workbench.proxies import presets
    from workbench.proxies.config import RunConfig

    def configs():
        return [RunConfig(**{TINY!r}), RunConfig(**{TINY!r}, **{BLOWUP!r})]

    presets.PRESETS["diverge"] = presets.Preset("diverge", "one run that diverges", 0.1, configs, presets._smoke_verify)
    if __name__ == "__main__":
        from workbench.cli import main
        sys.exit(main(["sweep", "--preset", "diverge", "--out", sys.argv[1], "--workers", "0", "--json"]))
""")


def test_a_diverged_run_is_recorded_left_out_and_fails_the_sweep(tmp_path):
    from workbench.proxies.config import RunConfig
    from workbench.proxies.sweep import run_sweep

    script, out = tmp_path / "diverge.py", tmp_path / "out"
    script.write_text(DIVERGE)
    r = subprocess.run([PY, str(script), str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and "Traceback" not in r.stderr
    assert "1 run(s) diverged" in r.stderr and "blowup" in r.stderr and "loss became nan" in r.stderr
    assert "failed" not in r.stderr  # a divergence is not an error to retry
    report = json.loads(r.stdout)
    s = report["summary"]
    assert [d["run"] for d in s["diverged"]] == ["gpt-w16-d1-t8.19k-cosine-s0-blowup"]
    assert s["trained"] == 2 and report["verification"] is None
    text = (out / "results.csv").read_text()
    rows = pl.read_csv(out / "results.csv")
    assert set(rows["run_id"]) == {"diverge/gpt-w16-d1-t8.19k-cosine-s0"} and rows["value"].is_finite().all()
    assert json.loads(Path(s["diverged"][0]["file"]).read_text())["diverged"].startswith("loss became nan")

    again = run_sweep([RunConfig(**TINY), RunConfig(**TINY, **BLOWUP)], out, preset="diverge", progress=False)
    assert again.summary["trained"] == 0 and again.summary["cached"] == 2  # deterministic: not trained again
    assert [r for r, _ in again.diverged] == ["gpt-w16-d1-t8.19k-cosine-s0-blowup"] and again.failures == again.diverged
    assert (out / "results.csv").read_text() == text


# ---------------------------------------------------------------- two sweeps
def test_two_sweeps_on_one_folder_split_the_work(tmp_path, baseline):
    out = tmp_path / "out"
    procs = [start(out), start(out)]
    done = [finish(p) for p in procs]
    for rc, _, err in done:
        assert rc == 0, err
    summaries = [report["summary"] for _, report, _ in done]
    assert sum(s["trained"] for s in summaries) == RUNS, f"a run was trained twice (or never): {summaries}"
    for s in summaries:  # each ends with every run: its own, the other's, or found cached
        assert s["trained"] + s["cached"] == RUNS and not s["failures"] and not s["invalid_cached"]
    assert (out / "results.csv").read_bytes() == baseline


# ---------------------------------------------------------------- --out
def cli_error(out: Path, *, user: list[str] | None = None) -> subprocess.CompletedProcess:
    cmd = (user or []) + sweep_cmd(out)
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)


def assert_one_line_error(r: subprocess.CompletedProcess, needle: str) -> None:
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().count("\n") == 0 and "Traceback" not in r.stderr and needle in r.stderr


def test_out_inside_a_regular_file_is_a_one_line_error(tmp_path):
    f = tmp_path / "file"
    f.write_text("keep me")
    assert_one_line_error(cli_error(f), "not a folder")
    assert_one_line_error(cli_error(f / "sub"), "Not a directory")
    assert f.read_text() == "keep me"


def as_unprivileged() -> list[str]:
    """A command prefix under which permission bits apply: none needed unless this is root."""
    if os.geteuid() != 0:
        return []
    # a user namespace in which this root is uid 65534 without capabilities (it still owns its files)
    prefix = ["unshare", "--user", "--map-user=65534", "--map-group=65534"]
    try:
        ok = subprocess.run([*prefix, "true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    if not ok:
        pytest.skip("running as root, where chmod does not stop writes, and no user namespace to drop root in")
    return prefix


@pytest.mark.parametrize("with_runs", [False, True], ids=["new", "resume"])
def test_a_read_only_out_is_a_one_line_error(tmp_path, with_runs):
    user = as_unprivileged()
    out = tmp_path / "out"
    (out / "runs").mkdir(parents=True) if with_runs else out.mkdir()
    folders = [out / "runs", out] if with_runs else [out]
    for d in folders:
        d.chmod(0o555)
    try:
        assert_one_line_error(cli_error(out, user=user), "cannot write to output folder")
        assert sorted(p.name for p in out.rglob("*")) == (["runs"] if with_runs else [])
    finally:
        for d in folders:
            d.chmod(0o755)
